/*
 * test_export.c - unit tests of the export module's pure shaping
 * functions: the base IRI (public URL, Host, a hostile Host), one SPEC
 * annotation as a W3C Annotation (body, target with both selectors,
 * chapter-level target, hidden placeholder, tombstones left out), the
 * AnnotationCollection with its embedded first page and the standalone
 * pages of 100, and the Markdown digest (threads by activity, private never,
 * hidden bodies never, names escaped). The documents are checked against
 * the W3C schemas by the integration test (tests/w3c/validate.mjs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "export/export.h"
#include "util/buf.h"

#define BASE "https://reading.example.org"

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* A SPEC annotation object. */
static json_t *ann(int64_t id, const char *body, bool hidden, bool quoted)
{
	json_t *a = json_pack(
		"{s:I,s:i,s:i,s:{s:i,s:s,s:s},s:s?,s:s,s:s,s:s,s:b,s:b,"
		"s:{},s:i}",
		"id", (json_int_t)id, "circle", 4, "chapter", 9, "author", "id",
		2, "handle", "ada", "display_name", "Ada L.", "body", body,
		"visibility", "circle", "created_at", "2026-11-26T20:51:56Z",
		"updated_at", "2026-11-26T21:00:00Z", "hidden", hidden,
		"deleted", 0, "reactions", "reply_count", 0);

	if (quoted)
		json_object_set_new(
			a, "target",
			json_pack("{s:[{s:s,s:s,s:s,s:s},{s:s,s:i,s:i}]}",
				  "selector", "type", "TextQuoteSelector",
				  "exact", "equitable", "prefix", "the ",
				  "suffix", " pioneers", "type",
				  "TextPositionSelector", "start", 10, "end",
				  19));
	else
		json_object_set_new(a, "target", json_null());
	return a;
}

static void test_base_url(void **state)
{
	char *b;

	(void)state;
	b = export_base_url(BASE "//", "ignored:1", false);
	assert_string_equal(b, BASE);
	free(b);
	b = export_base_url("", "127.0.0.1:8080", false);
	assert_string_equal(b, "http://127.0.0.1:8080");
	free(b);
	b = export_base_url(NULL, "[::1]:443", true);
	assert_string_equal(b, "https://[::1]:443");
	free(b);
	/* a Host that would inject into every IRI is not used */
	b = export_base_url("", "evil.example/\"><x", false);
	assert_string_equal(b, "http://localhost");
	free(b);
	b = export_base_url("", "", false);
	assert_string_equal(b, "http://localhost");
	free(b);
}

static void test_annotation_shape(void **state)
{
	json_t *a = ann(17, "**Equitable** is the key word", false, true);
	json_t *w, *body, *target, *sel, *creator;

	(void)state;
	w = export_w3c_annotation(a, BASE, 4, true);
	assert_non_null(w);
	assert_string_equal(str(w, "@context"), EXPORT_ANNO_CONTEXT);
	assert_string_equal(str(w, "id"), BASE "/api/circles/4/annotations/17");
	assert_string_equal(str(w, "type"), "Annotation");
	assert_string_equal(str(w, "created"), "2026-11-26T20:51:56Z");
	assert_string_equal(str(w, "modified"), "2026-11-26T21:00:00Z");
	body = json_object_get(w, "body");
	assert_string_equal(str(body, "type"), "TextualBody");
	assert_string_equal(str(body, "value"),
			    "**Equitable** is the key word");
	assert_string_equal(str(body, "format"), "text/markdown");
	target = json_object_get(w, "target");
	assert_string_equal(str(target, "source"), BASE "/#/read/4/9");
	sel = json_object_get(target, "selector");
	assert_int_equal(json_array_size(sel), 2);
	assert_string_equal(str(json_array_get(sel, 0), "type"),
			    "TextQuoteSelector");
	assert_string_equal(str(json_array_get(sel, 0), "exact"), "equitable");
	assert_string_equal(str(json_array_get(sel, 0), "prefix"), "the ");
	assert_string_equal(str(json_array_get(sel, 1), "type"),
			    "TextPositionSelector");
	assert_int_equal(json_integer_value(json_object_get(
				 json_array_get(sel, 1), "start")),
			 10);
	assert_int_equal(json_integer_value(json_object_get(
				 json_array_get(sel, 1), "end")),
			 19);
	creator = json_object_get(w, "creator");
	assert_string_equal(str(creator, "type"), "Person");
	assert_string_equal(str(creator, "nickname"), "ada");
	assert_string_equal(str(creator, "name"), "Ada L.");
	json_decref(w);

	/* inside a page the context is the page's */
	w = export_w3c_annotation(a, BASE, 4, false);
	assert_null(json_object_get(w, "@context"));
	json_decref(w);
	json_decref(a);
}

static void test_annotation_chapter_level_and_hidden(void **state)
{
	json_t *a = ann(18, NULL, true, false), *w;
	char *s;

	(void)state;
	w = export_w3c_annotation(a, BASE, 4, false);
	/* chapter-level: the target is the chapter IRI itself */
	assert_true(json_is_string(json_object_get(w, "target")));
	assert_string_equal(str(w, "target"), BASE "/#/read/4/9");
	/* withheld body: a plain-text placeholder */
	assert_string_equal(str(json_object_get(w, "body"), "format"),
			    "text/plain");
	assert_string_equal(str(json_object_get(w, "body"), "value"),
			    "(hidden by a moderator)");
	json_decref(w);
	json_decref(a);

	/* a tombstone is not exported */
	a = ann(19, NULL, false, true);
	json_object_set_new(a, "deleted", json_true());
	assert_null(export_w3c_annotation(a, BASE, 4, false));
	json_decref(a);

	/* a malformed selector is dropped, not copied */
	a = ann(20, "x", false, true);
	json_object_set_new(
		json_array_get(json_object_get(json_object_get(a, "target"),
					       "selector"),
			       1),
		"start", json_string("<script>"));
	w = export_w3c_annotation(a, BASE, 4, false);
	s = json_dumps(w, 0);
	assert_null(strstr(s, "<script>"));
	assert_int_equal(json_array_size(json_object_get(
				 json_object_get(w, "target"), "selector")),
			 1);
	free(s);
	json_decref(w);
	json_decref(a);
}

static json_t *items(int n)
{
	json_t *list = json_array();

	for (int i = 1; i <= n; i++) {
		json_t *a = ann(i, "b", false, true);

		json_array_append_new(list,
				      export_w3c_annotation(a, BASE, 4, false));
		json_decref(a);
	}
	return list;
}

static void test_collection_pages(void **state)
{
	json_t *list = items(250), *c, *first, *p;
	const char *coll = BASE "/api/circles/4/annotations";

	(void)state;
	c = export_w3c_collection(list, BASE, 4, "Tuesday circle", 0);
	assert_string_equal(str(c, "@context"), EXPORT_ANNO_CONTEXT);
	assert_string_equal(str(c, "type"), "AnnotationCollection");
	assert_string_equal(str(c, "id"), coll);
	assert_string_equal(str(c, "label"), "Tuesday circle");
	assert_int_equal(json_integer_value(json_object_get(c, "total")), 250);
	assert_string_equal(str(c, "last"),
			    BASE "/api/circles/4/annotations?page=3");
	first = json_object_get(c, "first");
	assert_string_equal(str(first, "type"), "AnnotationPage");
	assert_string_equal(str(first, "id"),
			    BASE "/api/circles/4/annotations?page=1");
	assert_int_equal(json_array_size(json_object_get(first, "items")),
			 EXPORT_PAGE_SIZE);
	assert_string_equal(str(first, "next"),
			    BASE "/api/circles/4/annotations?page=2");
	assert_null(json_object_get(first, "prev"));
	json_decref(c);

	p = export_w3c_collection(list, BASE, 4, "Tuesday circle", 3);
	assert_string_equal(str(p, "@context"), EXPORT_ANNO_CONTEXT);
	assert_string_equal(str(p, "type"), "AnnotationPage");
	assert_int_equal(json_integer_value(json_object_get(p, "startIndex")),
			 200);
	assert_int_equal(json_array_size(json_object_get(p, "items")), 50);
	assert_null(json_object_get(p, "next"));
	assert_string_equal(str(p, "prev"),
			    BASE "/api/circles/4/annotations?page=2");
	assert_string_equal(str(json_object_get(p, "partOf"), "id"), coll);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(p, "partOf"), "total")),
			 250);
	/* the first item of page 3 is annotation 201 */
	assert_string_equal(
		str(json_array_get(json_object_get(p, "items"), 0), "id"),
		BASE "/api/circles/4/annotations/201");
	json_decref(p);

	assert_null(export_w3c_collection(list, BASE, 4, NULL, 4));
	assert_null(export_w3c_collection(list, BASE, 4, NULL, -5));

	/* the command line's single page holds everything */
	c = export_w3c_collection(list, BASE, 4, NULL, EXPORT_PAGE_ALL);
	assert_int_equal(json_array_size(json_object_get(
				 json_object_get(c, "first"), "items")),
			 250);
	assert_null(json_object_get(c, "label"));
	json_decref(c);
	json_decref(list);

	/* an empty collection has no pages */
	list = json_array();
	c = export_w3c_collection(list, BASE, 4, NULL, 0);
	assert_int_equal(json_integer_value(json_object_get(c, "total")), 0);
	assert_null(json_object_get(c, "first"));
	assert_null(export_w3c_collection(list, BASE, 4, NULL, 1));
	json_decref(c);
	json_decref(list);
}

static void test_digest(void **state)
{
	json_t *list = json_array(), *quiet, *busy, *priv, *hid;
	struct buf md = BUF_INIT;
	const char *s, *pb, *pq;

	(void)state;
	quiet = ann(1, "A quiet *thought*", false, true);
	busy = ann(2, "# Heading in a body\nsecond line <b>x</b>", false,
		   false);
	json_object_set_new(busy, "reply_count", json_integer(1));
	json_object_set_new(busy, "reactions",
			    json_pack("{s:i,s:i}", "agree", 2, "question", 1));
	json_object_set_new(busy, "replies",
			    json_pack("[{s:i,s:{s:s,s:s},s:s,s:n,s:s}]", "id",
				      5, "author", "handle", "bob",
				      "display_name", "Bob_*", "body",
				      "I *agree*", "parent", "created_at",
				      "2026-11-26T22:00:00Z"));
	priv = ann(3, "my private secret", false, true);
	json_object_set_new(priv, "visibility", json_string("private"));
	/* a moderator's view: hidden, body present - still not written */
	hid = ann(4, "the hidden words", true, true);
	json_array_append_new(list, quiet);
	json_array_append_new(list, busy);
	json_array_append_new(list, priv);
	json_array_append_new(list, hid);

	export_digest_chapter(&md, "Chapter 1: Toad Lane",
			      "What made the store *work*?", "2026-12-01",
			      list);
	s = buf_str(&md);
	assert_non_null(strstr(s, "## Chapter 1: Toad Lane\n"));
	assert_non_null(strstr(s, "Due: 2026-12-01"));
	assert_non_null(strstr(s, "> What made the store *work*?"));
	/* most active first */
	pb = strstr(s, "### 1. On the whole chapter");
	pq = strstr(s, "### 2. “equitable”");
	assert_non_null(pb);
	assert_non_null(pq);
	assert_true(pb < pq);
	/* bodies are quoted, so a heading in a body stays inside it */
	assert_non_null(strstr(s, "> # Heading in a body\n> second line "
				  "&lt;b>x&lt;/b>\n"));
	assert_non_null(strstr(s, "agree 2, question 1"));
	assert_non_null(strstr(s, "**Bob\\_\\*** (@bob)"));
	assert_non_null(strstr(s, "  > I *agree*"));
	/* never private, never a hidden body */
	assert_null(strstr(s, "private secret"));
	assert_null(strstr(s, "hidden words"));
	assert_non_null(strstr(s, "*(hidden by a moderator)*"));
	assert_non_null(strstr(s, "3 threads, most active first."));
	buf_free(&md);
	json_decref(list);

	list = json_array();
	export_digest_chapter(&md, "Empty", NULL, NULL, list);
	assert_non_null(strstr(buf_str(&md), "No threads yet."));
	buf_free(&md);
	json_decref(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base_url),
		cmocka_unit_test(test_annotation_shape),
		cmocka_unit_test(test_annotation_chapter_level_and_hidden),
		cmocka_unit_test(test_collection_pages),
		cmocka_unit_test(test_digest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
