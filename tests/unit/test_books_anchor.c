/*
 * test_books_anchor.c - anchors and re-anchoring. The matcher on its own
 * (books_match_quote), then anchors made with books_anchor_create on an
 * imported chapter and carried through re-imports of edited editions:
 * unchanged (exact), text inserted before the passage (moved), a typo
 * fixed inside the passage (fuzzy), the passage repeated elsewhere (the
 * context picks the right one), a look-alike paragraph left after the
 * passage was deleted (needs_review, never silently moved), the passage
 * deleted (orphaned, old selectors kept), a removed chapter (orphaned),
 * review and resolve, copy. Then quotes at paragraph starts and ends with
 * words inserted right before or after them, small edits inside them,
 * repeated quotes told apart by the context left (or sent to review), a
 * moved paragraph, a deleted one with a look-alike, and a repeated quote
 * whose own paragraph was deleted (test_books_anchor_corpus measures the
 * same on 400 generated annotations).
 */
/* gcc 12 at -O2 takes the text that books_chapter_text() returns through
 * &t for a pointer to the local t itself once chapter_text() is inlined
 * (-Wdangling-pointer false positive); the text is heap memory. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/db.h"

#include "books/books.h"
#include "books/internal.h"
#include "events/events.h"
#include "modules.h"
#include "store/store.h"
#include "util/err.h"
#include "util/utf8.h"

/* ---- the matcher alone ---- */

static void test_match_basic(void **state)
{
	static const char t1[] = "One two three. The quick brown fox jumps "
				 "over the lazy dog. Four five six.";
	static const char t2[] = "Zero. One two three. The quick brown fox "
				 "jumps over the lazy dog. Four five six.";
	static const char t3[] = "One two three. The quick brown fox jumped "
				 "over the lazy dog. Four five six.";
	struct books_match m;

	(void)state;
	/* exact at the same offsets */
	books_match_quote(t1, strlen(t1), "quick brown fox jumps",
			  "three. The ", " over the lazy", 19, &m);
	assert_string_equal(m.state, "exact");
	assert_int_equal(m.start, 19);
	assert_int_equal(m.end, 40);
	/* moved by the inserted "Zero. " */
	books_match_quote(t2, strlen(t2), "quick brown fox jumps",
			  "three. The ", " over the lazy", 19, &m);
	assert_string_equal(m.state, "moved");
	assert_int_equal(m.start, 25);
	/* fuzzy: one word changed inside */
	books_match_quote(t3, strlen(t3), "quick brown fox jumps over the lazy",
			  "three. The ", " dog. Four", 19, &m);
	assert_string_equal(m.state, "fuzzy");
	assert_int_equal(m.start, 19);
	assert_int_equal(m.end, 55);
	assert_true(m.score >= BOOKS_ANCHOR_SCORE_FLOOR && m.score < 1.0);
	/* nothing alike: orphaned */
	books_match_quote(t1, strlen(t1), "an entirely different sentence", "",
			  "", 0, &m);
	assert_string_equal(m.state, "orphaned");
	/* code points, not bytes */
	{
		static const char u[] = "Caf\xc3\xa9 \xe2\x80\x94 the \xc3\xa9"
					"l\xc3\xa8ve went home.";
		books_match_quote(u, strlen(u), "the \xc3\xa9l\xc3\xa8ve", "",
				  "", 0, &m);
		assert_string_equal(m.state, "moved");
		assert_int_equal(m.start, 7);
		assert_int_equal(m.end, 16);
	}
	/* a long quote (several 64-bit words) with edits */
	{
		struct buf a = BUF_INIT, b = BUF_INIT, q = BUF_INIT;

		for (int i = 0; i < 40; i++) {
			buf_addf(&a, "Sentence number %d of the long passage. ",
				 i);
			buf_addf(&b, "Sentence number %d of the %s passage. ",
				 i, i == 20 ? "lengthy" : "long");
		}
		for (int i = 10; i < 30; i++)
			buf_addf(&q, "Sentence number %d of the long passage. ",
				 i);
		books_match_quote(b.data, b.len, q.data, "", "", 400, &m);
		assert_string_equal(m.state, "fuzzy");
		assert_int_equal(
			m.start,
			(int64_t)utf8_count(
				b.data, strstr(b.data, "Sentence number 10 ") -
						b.data));
		buf_free(&a);
		buf_free(&b);
		buf_free(&q);
	}
}

/* ---- anchors through re-imports ---- */

struct fixture {
	char path[64];
	char dir[64];
	struct store *db;
	int64_t ch;    /* the chapter under test */
	int64_t other; /* a second chapter, removed later */
};

static const char *P_INTRO =
	"Alpha paragraph about the founding of the society in the winter.";
static const char *P_INSERTED =
	"An inserted paragraph that shifts everything after it by a good "
	"many code points.";
static const char *P_PURE =
	"The weavers agreed that the store would sell only pure goods at "
	"fair prices.";
static const char *P_DIVIDEND_OLD =
	"Members received a dividand in proportion to their purchases each "
	"quarter.";
static const char *P_DIVIDEND_NEW =
	"Members received a dividend in proportion to their purchases each "
	"quarter.";
static const char *P_PHRASE1 =
	"The phrase self-help by the people recurs in this chapter.";
static const char *P_DELETED =
	"Charlie paragraph that will be deleted entirely from the new "
	"edition.";
static const char *P_PHRASE2 =
	"Holyoake wrote of self-help by the people in 1858 and often after.";
static const char *P_THURSDAY =
	"The committee met every Thursday evening in the upstairs room of "
	"the store.";
static const char *P_TUESDAY =
	"The committee met every Tuesday evening in the upstairs room of "
	"the inn.";
static const char *P_LAST =
	"Delta paragraph closes the chapter with unrelated words about "
	"wages.";

static void write_book(struct fixture *f, bool edited, bool drop_other)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/book.json", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp,
		"{\"slug\":\"anchors\",\"title\":\"Anchors\","
		"\"parts\":[{\"title\":\"Part One\",\"chapters\":["
		"{\"file\":\"01.md\",\"number\":1}%s]}]}",
		drop_other ? "" : ",{\"file\":\"02.md\",\"number\":2}");
	fclose(fp);
	snprintf(path, sizeof(path), "%s/01.md", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "# The Chapter\n\n%s\n\n", P_INTRO);
	if (edited)
		fprintf(fp, "%s\n\n", P_INSERTED);
	fprintf(fp, "%s\n\n%s\n\n%s\n\n", P_PURE,
		edited ? P_DIVIDEND_NEW : P_DIVIDEND_OLD, P_PHRASE1);
	if (!edited)
		fprintf(fp, "%s\n\n", P_DELETED);
	fprintf(fp, "%s\n\n", P_PHRASE2);
	if (!edited)
		fprintf(fp, "%s\n\n", P_THURSDAY);
	fprintf(fp, "%s\n\n%s\n", P_TUESDAY, P_LAST);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/02.md", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "# Another\n\nA chapter that a later edition drops.\n");
	fclose(fp);
}

static char *import(struct fixture *f)
{
	char err[256] = "";
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	int rc = books_cli_import(f->db, f->dir, NULL, false, out, err,
				  sizeof(err));

	fclose(out);
	if (rc)
		fail_msg("import: %s", err);
	return text;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	modules_init();
	f->db = fixture_open_db(f->path, sizeof(f->path), "anchor");
	snprintf(f->dir, sizeof(f->dir), "/tmp/sch-anchord-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	write_book(f, false, false);
	free(import(f));
	assert_int_equal(store_int_query(f->db, &f->ch,
					 "SELECT id FROM "
					 "chapters WHERE number = 1",
					 ""),
			 1);
	assert_int_equal(store_int_query(f->db, &f->other,
					 "SELECT id FROM "
					 "chapters WHERE number = 2",
					 ""),
			 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	fixture_close_db(f->db, f->path);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static char *chapter_text(struct fixture *f, int64_t ch)
{
	char *t = NULL;
	size_t len;

	assert_int_equal(books_chapter_text(f->db, ch, &t, &len), 0);
	return t;
}

/* Code point offset of the n-th (0-based) occurrence of needle. */
static int64_t cp_find(const char *text, const char *needle, int n)
{
	size_t off = 0;

	/* offsets rather than a walking pointer: gcc 12 at -O2 mistakes the
	 * latter for a dangling pointer once this is inlined */
	for (;;) {
		const char *q = strstr(text + off, needle);

		assert_non_null(q);
		off = (size_t)(q - text);
		if (n-- == 0)
			break;
		off++;
	}
	return (int64_t)utf8_count(text, off);
}

/* Anchors quote (its n-th occurrence) for annotation id; the client sends
 * rough prefix/suffix, the server computes its own. */
static void anchor(struct fixture *f, int64_t id, int64_t ch, const char *quote,
		   int n)
{
	char *text = chapter_text(f, ch);
	int64_t s = cp_find(text, quote, n);
	int64_t e = s + (int64_t)utf8_count(quote, strlen(quote));
	json_t *target =
		json_pack("{s:[{s:s,s:s,s:s,s:s},{s:s,s:I,s:I}]}", "selector",
			  "type", "TextQuoteSelector", "exact", quote, "prefix",
			  "", "suffix", "", "type", "TextPositionSelector",
			  "start", (json_int_t)s, "end", (json_int_t)e);
	json_t *norm = NULL;
	char field[64];

	assert_int_equal(books_anchor_create(f->db, id, ch, target, 4000, &norm,
					     field, sizeof(field)),
			 BOOKS_ANCHOR_OK);
	assert_int_equal(
		json_integer_value(json_object_get(
			json_array_get(json_object_get(norm, "selector"), 1),
			"start")),
		s);
	assert_true(
		json_string_length(json_object_get(
			json_array_get(json_object_get(norm, "selector"), 0),
			"prefix")) > 0);
	json_decref(norm);
	json_decref(target);
	free(text);
}

/* The anchor's state and, unless orphaned, that its offsets hold its quote
 * in the current text. Returns the start. */
static int64_t check(struct fixture *f, int64_t id, const char *want)
{
	json_t *target;
	const char *state;
	int64_t s, e;
	const char *exact;
	char *text;

	assert_int_equal(books_anchor_get(f->db, id, &target, &state), 0);
	if (strcmp(state, want))
		fail_msg("annotation %lld: %s, expected %s", (long long)id,
			 state, want);
	s = json_integer_value(json_object_get(
		json_array_get(json_object_get(target, "selector"), 1),
		"start"));
	e = json_integer_value(json_object_get(
		json_array_get(json_object_get(target, "selector"), 1), "end"));
	exact = json_string_value(json_object_get(
		json_array_get(json_object_get(target, "selector"), 0),
		"exact"));
	if (strcmp(want, "orphaned") && strcmp(want, "needs_review")) {
		size_t bs, be;

		text = chapter_text(f, id == 7 ? f->other : f->ch);
		bs = utf8_offset(text, strlen(text), (size_t)s);
		be = utf8_offset(text, strlen(text), (size_t)e);
		assert_int_equal(be - bs, strlen(exact));
		assert_memory_equal(text + bs, exact, be - bs);
		free(text);
	}
	json_decref(target);
	return s;
}

/* The ids EVENTS_ANCHOR_MOVED was published with while listening. */
static int64_t changed[64];
static int nchanged;
static bool listening;

static int on_changed(const struct events_event *ev, void *arg)
{
	(void)arg;
	assert_non_null(ev->ctx);
	assert_int_equal(ev->type, EVENTS_ANCHOR_MOVED);
	if (listening && nchanged < 64)
		changed[nchanged++] = ev->u.anchor.annotation;
	return 0;
}

static void test_reanchor(void **state)
{
	static bool subscribed;
	struct fixture *f = *state;
	char *rep, *text;
	json_t *rev, *target;
	const char *st;
	int64_t s;

	/* 1 exact (before the insertion), 2 moved, 3 fuzzy (typo fixed),
	 * 4 the second of two repeats, 5 orphan (deleted), 6 look-alike,
	 * 7 in a chapter that is dropped */
	anchor(f, 1, f->ch, "founding of the society", 0);
	anchor(f, 2, f->ch, "sell only pure goods", 0);
	anchor(f, 3, f->ch, "received a dividand in proportion", 0);
	anchor(f, 4, f->ch, "self-help by the people", 1);
	anchor(f, 5, f->ch, "will be deleted entirely", 0);
	anchor(f, 6, f->ch,
	       "committee met every Thursday evening in the "
	       "upstairs room",
	       0);
	anchor(f, 7, f->other, "a later edition drops", 0);
	/* the quote must be in the chapter; limits and shape */
	{
		json_t *bad = json_pack(
			"{s:[{s:s,s:s},{s:s,s:i,s:i}]}", "selector", "type",
			"TextQuoteSelector", "exact", "not in the chapter",
			"type", "TextPositionSelector", "start", 0, "end", 18);
		json_t *norm = NULL;
		char field[64];

		assert_int_equal(books_anchor_create(f->db, 99, f->ch, bad,
						     4000, &norm, field,
						     sizeof(field)),
				 BOOKS_ANCHOR_NOT_FOUND);
		assert_int_equal(books_anchor_create(f->db, 99, f->ch, bad, 5,
						     &norm, field,
						     sizeof(field)),
				 BOOKS_ANCHOR_TOO_LARGE);
		json_decref(bad);
		bad = json_pack("{s:[{s:s,s:s}]}", "selector", "type",
				"TextQuoteSelector", "exact", "x");
		assert_int_equal(books_anchor_create(f->db, 99, f->ch, bad,
						     4000, &norm, field,
						     sizeof(field)),
				 BOOKS_ANCHOR_BAD_SHAPE);
		assert_string_equal(field, "target.selector");
		json_decref(bad);
		assert_int_equal(books_anchor_get(f->db, 99, &target, &st), 0);
		assert_true(json_is_null(target));
		json_decref(target);
	}
	/* same text again: everything exact */
	rep = import(f);
	assert_non_null(strstr(rep, "exact 7, moved 0, fuzzy 0, "
				    "needs_review 0, orphaned 0"));
	free(rep);
	for (int64_t i = 1; i <= 7; i++)
		check(f, i, "exact");

	/* the edited edition; the owner of annotations hears of each
	 * anchor that changed */
	write_book(f, true, true);
	if (!subscribed)
		events_on(EVENTS_ANCHOR_MOVED, on_changed, NULL);
	subscribed = true;
	listening = true;
	nchanged = 0;
	rep = import(f);
	listening = false;
	assert_int_equal(nchanged, 6);
	for (int i = 0; i < nchanged; i++)
		assert_true(changed[i] >= 2 && changed[i] <= 7);
	if (getenv("TEST_VERBOSE"))
		print_message("%s", rep);
	assert_non_null(strstr(rep, "exact 1, moved 2, fuzzy 1, "
				    "needs_review 1, orphaned 2"));
	/* orphans by id only: no quote in the report (issue 14) */
	assert_non_null(strstr(rep, "annotation 5 in \"The Chapter\"\n"));
	assert_null(strstr(rep, "will be deleted entirely"));
	assert_non_null(strstr(rep, "annotation 7 in \"Another\""));
	free(rep);
	text = chapter_text(f, f->ch);
	check(f, 1, "exact");
	s = check(f, 2, "moved");
	assert_int_equal(s, cp_find(text, "sell only pure goods", 0));
	s = check(f, 3, "fuzzy");
	assert_int_equal(s, cp_find(text, "received a dividend in", 0));
	s = check(f, 4, "moved");
	assert_int_equal(s, cp_find(text, "self-help by the people", 1));
	s = check(f, 5, "orphaned");
	/* orphans keep their old selectors */
	assert_int_equal(books_anchor_get(f->db, 5, &target, &st), 0);
	assert_string_equal(
		json_string_value(json_object_get(
			json_array_get(json_object_get(target, "selector"), 0),
			"exact")),
		"will be deleted entirely");
	json_decref(target);
	check(f, 6, "needs_review");
	check(f, 7, "orphaned");
	/* review: old quote and the proposed look-alike */
	rev = books_anchor_review(f->db, 6);
	assert_non_null(rev);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(rev, "old"), "exact")),
			    "committee met every Thursday evening "
			    "in the upstairs room");
	assert_non_null(
		strstr(json_string_value(json_object_get(
			       json_object_get(rev, "proposed"), "exact")),
		       "Tuesday"));
	assert_true(json_real_value(json_object_get(rev, "score")) <
		    BOOKS_ANCHOR_SCORE_FLOOR);
	assert_true(json_real_value(json_object_get(rev, "score")) >=
		    BOOKS_ANCHOR_SCORE_MIN);
	json_decref(rev);
	assert_null(books_anchor_review(f->db, 2));
	assert_int_equal(books_anchor_resolve(f->db, 2, true), SCH_ECONFLICT);
	assert_int_equal(books_anchor_resolve(f->db, 999, true), SCH_ENOTFOUND);
	/* copy keeps the state (circle.clone) */
	assert_int_equal(books_anchor_copy(f->db, 6, 60), 0);
	check(f, 60, "needs_review");
	/* accept moves to the proposal; reject orphans */
	assert_int_equal(books_anchor_resolve(f->db, 6, true), 0);
	s = check(f, 6, "fuzzy");
	assert_int_equal(s, cp_find(text, "committee met every Tuesday", 0));
	assert_int_equal(books_anchor_resolve(f->db, 60, false), 0);
	check(f, 60, "orphaned");
	free(text);
}

/* ---- paragraph boundaries, insertions, edits, repeats ---- */

/* The chapter of the boundary test, old and new (NULL ends a list). */
static const char *const B_OLD[] = {
	/* 1: quote at the paragraph's start; words inserted before it */
	"Spinning mules were bought in the spring of that year by the mill.",
	/* 2: quote at the paragraph's end; words appended after it */
	"The secretary kept the minutes in a ledger bound in green cloth.",
	/* 3: quote at the start, a typo fixed inside it */
	"Cooperative wholesale socities spread across the northern towns.",
	/* 4: quote at the end, a word changed inside it */
	"Later historians described the whole venture as a modest "
	"beginning for the movement.",
	/* 5: two occurrences; words inserted before the second */
	"The weekly tea party drew the families of the street together.",
	"On Saturdays the weekly tea party drew the families of the street "
	"together again.",
	/* 7: two occurrences; both contexts rewritten in the new edition */
	"Nobody doubted that the ledger was right about the accounts.",
	"Auditors agreed that the ledger was right about the accounts "
	"twice.",
	/* 9: moved to the end of the chapter, quote at its start */
	"Quarterly meetings elected a committee of twelve members each "
	"time.",
	/* 10: deleted; a near copy of its quote stays elsewhere */
	"Dividends were paid on purchases rather than on shares held.",
	"Elsewhere: dividends were paid on purchases rather than on shares "
	"owned, a rule copied by others.",
	/* 12: two occurrences; the annotated one is deleted */
	"In the town a reading room above the store held newspapers from "
	"London.",
	"Members found that a reading room above the store held newspapers "
	"and books.",
	"The chapter ends here with words about nothing in particular.", NULL};

static const char *const B_NEW[] = {
	"It was a busy season. Spinning mules were bought in the spring of "
	"that year by the mill.",
	"The secretary kept the minutes in a ledger bound in green cloth, "
	"as the rules required.",
	"Cooperative wholesale societies spread across the northern towns.",
	"Later historians described the whole venture as a humble "
	"beginning for the movement.",
	"The weekly tea party drew the families of the street together.",
	"On Saturdays and holidays the weekly tea party drew the families "
	"of the street together again.",
	"Everyone knew the ledger was right about the accounts then.",
	"Auditors later said the ledger was right about the accounts, "
	"twice over.",
	"Elsewhere: dividends were paid on purchases rather than on shares "
	"owned, a rule copied by others.",
	"Members found that a reading room above the store held newspapers "
	"and books.",
	"The chapter ends here with words about nothing in particular.",
	"Quarterly meetings elected a committee of twelve members each "
	"time.",
	NULL};

static void write_paras(const char *dir, const char *const *paras)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/book.json", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "{\"slug\":\"bounds\",\"title\":\"Bounds\",\"parts\":"
		    "[{\"title\":\"One\",\"chapters\":[{\"file\":\"01.md\","
		    "\"number\":1}]}]}");
	fclose(fp);
	snprintf(path, sizeof(path), "%s/01.md", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "# Boundaries\n\n");
	for (int i = 0; paras[i]; i++)
		fprintf(fp, "%s\n\n", paras[i]);
	fclose(fp);
}

/* Asserts the anchor's state and, when taken, its quote's first words. */
static void expect(struct fixture *f, int64_t id, const char *state,
		   const char *starts)
{
	char *text = chapter_text(f, f->ch);
	int64_t s = check(f, id, state);

	if (starts)
		assert_int_equal(s, cp_find(text, starts, 0));
	free(text);
}

static void test_reanchor_boundaries(void **state)
{
	struct fixture *f = *state;
	char *rep;

	write_paras(f->dir, B_OLD);
	free(import(f));
	assert_int_equal(store_int_query(f->db, &f->ch,
					 "SELECT c.id FROM chapters c JOIN "
					 "books b ON b.id = c.book WHERE "
					 "b.slug = 'bounds'",
					 ""),
			 1);
	anchor(f, 11, f->ch, "Spinning mules were bought", 0);
	anchor(f, 12, f->ch, "in a ledger bound in green cloth", 0);
	anchor(f, 13, f->ch, "Cooperative wholesale socities spread", 0);
	anchor(f, 14, f->ch, "as a modest beginning for the movement.", 0);
	anchor(f, 15, f->ch, "weekly tea party drew the families", 1);
	anchor(f, 16, f->ch, "the ledger was right about the accounts", 1);
	anchor(f, 17, f->ch, "Quarterly meetings elected a committee", 0);
	anchor(f, 18, f->ch,
	       "Dividends were paid on purchases rather than "
	       "on shares held.",
	       0);
	anchor(f, 19, f->ch, "a reading room above the store held newspapers",
	       0);

	write_paras(f->dir, B_NEW);
	rep = import(f);
	if (getenv("TEST_VERBOSE"))
		print_message("%s", rep);
	free(rep);
	/* an intact quote that occurred once and occurs once: moved, though
	 * its prefix changed (the paragraph's start) */
	expect(f, 11, "moved", "Spinning mules were bought");
	/* ... or its suffix (the paragraph's end) */
	expect(f, 12, "moved", "in a ledger bound in green cloth");
	/* small edits inside, at a paragraph's start and end */
	expect(f, 13, "fuzzy", "Cooperative wholesale societies");
	expect(f, 14, "fuzzy", "as a humble beginning");
	/* a repeated quote told apart by the context that is left (the
	 * suffix; words were inserted right before it) */
	expect(f, 15, "moved",
	       "weekly tea party drew the families of the "
	       "street together again");
	/* a repeated quote whose contexts all changed: review */
	expect(f, 16, "needs_review", NULL);
	/* a moved paragraph */
	expect(f, 17, "moved", "Quarterly meetings elected");
	/* deleted, with a look-alike that existed before: review, never
	 * silently moved */
	expect(f, 18, "needs_review", NULL);
	/* a repeated quote whose own paragraph is gone: the other
	 * occurrence is only proposed */
	expect(f, 19, "needs_review", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_basic),
		cmocka_unit_test_setup_teardown(test_reanchor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reanchor_boundaries, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
