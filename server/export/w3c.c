/*
 * w3c.c - shapes Scholia's annotations as W3C Web Annotation JSON-LD
 * (https://www.w3.org/TR/annotation-model/): one Annotation, and the
 * AnnotationCollection / AnnotationPage documents of the export endpoint.
 *
 * Pure functions over jansson values, no database: the HTTP handler and the
 * command line (export.c) gather what the viewer may see and hand it here,
 * and the unit tests check the shapes directly. The output must pass the
 * W3C conformance schemas (tests/w3c/validate.mjs runs them), which is why,
 * for example, a standalone page carries its collection as an object in
 * partOf and only string fields of a selector are copied.
 */
#include "export/export.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

/* Characters a Host header may hold for us to build IRIs from it. */
static bool host_ok(const char *host)
{
	size_t n = host ? strlen(host) : 0;

	if (n == 0 || n > 255)
		return false;
	for (const char *p = host; *p; p++) {
		char c = *p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		      c == ':' || c == '[' || c == ']'))
			return false;
	}
	return true;
}

char *export_base_url(const char *public_url, const char *host, bool tls)
{
	struct buf b = BUF_INIT;

	if (public_url && *public_url) {
		size_t n = strlen(public_url);

		while (n && public_url[n - 1] == '/')
			n--;
		buf_add(&b, public_url, n);
		return buf_detach(&b, NULL);
	}
	buf_adds(&b, tls ? "https://" : "http://");
	buf_adds(&b, host_ok(host) ? host : "localhost");
	return buf_detach(&b, NULL);
}

/* The chapter as the web app opens it in this circle's reader. */
static json_t *chapter_iri(const char *base, int64_t circle, int64_t chapter)
{
	return json_sprintf("%s/#/read/%lld/%lld", base, (long long)circle,
			    (long long)chapter);
}

/* Copies key from src to dst when it is a string. */
static void copy_str(json_t *dst, const json_t *src, const char *key)
{
	json_t *v = json_object_get(src, key);

	if (json_is_string(v))
		json_object_set_new(dst, key,
				    json_string(json_string_value(v)));
}

/* The two SPEC selectors, keeping only fields of the right type. */
static json_t *selectors(const json_t *target)
{
	json_t *out = json_array(), *sel = json_object_get(target, "selector");
	size_t i;
	json_t *s;

	json_array_foreach(sel, i, s)
	{
		const char *type =
			json_string_value(json_object_get(s, "type"));
		json_t *o;

		if (type && !strcmp(type, "TextQuoteSelector") &&
		    json_is_string(json_object_get(s, "exact"))) {
			o = json_pack("{s:s}", "type", "TextQuoteSelector");
			copy_str(o, s, "exact");
			copy_str(o, s, "prefix");
			copy_str(o, s, "suffix");
			json_array_append_new(out, o);
		} else if (type && !strcmp(type, "TextPositionSelector")) {
			json_t *a = json_object_get(s, "start");
			json_t *b = json_object_get(s, "end");

			if (!json_is_integer(a) || !json_is_integer(b) ||
			    json_integer_value(a) < 0 ||
			    json_integer_value(b) < json_integer_value(a))
				continue;
			json_array_append_new(
				out, json_pack("{s:s,s:I,s:I}", "type",
					       "TextPositionSelector", "start",
					       json_integer_value(a), "end",
					       json_integer_value(b)));
		}
	}
	return out;
}

json_t *export_w3c_annotation(const json_t *ann, const char *base,
			      int64_t circle, bool with_context)
{
	json_t *o, *author, *body, *target, *sel;
	int64_t id = json_integer_value(json_object_get(ann, "id"));
	int64_t chapter = json_integer_value(json_object_get(ann, "chapter"));
	const char *value;

	if (!json_is_object(ann) || id <= 0 ||
	    json_is_true(json_object_get(ann, "deleted")))
		return NULL;
	o = json_object();
	if (with_context)
		json_object_set_new(o, "@context",
				    json_string(EXPORT_ANNO_CONTEXT));
	json_object_set_new(o, "id",
			    json_sprintf("%s/api/circles/%lld/annotations/%lld",
					 base, (long long)circle,
					 (long long)id));
	json_object_set_new(o, "type", json_string("Annotation"));
	json_object_set_new(o, "motivation", json_string("commenting"));

	author = json_object_get(ann, "author");
	if (json_is_object(author)) {
		json_t *c = json_pack("{s:s}", "type", "Person");

		if (json_is_string(json_object_get(author, "display_name")))
			json_object_set_new(
				c, "name",
				json_string(json_string_value(json_object_get(
					author, "display_name"))));
		if (json_is_string(json_object_get(author, "handle")))
			json_object_set_new(
				c, "nickname",
				json_string(json_string_value(
					json_object_get(author, "handle"))));
		json_object_set_new(o, "creator", c);
	}
	if (json_is_string(json_object_get(ann, "created_at")))
		json_object_set_new(
			o, "created",
			json_string(json_string_value(
				json_object_get(ann, "created_at"))));
	if (json_is_string(json_object_get(ann, "updated_at")))
		json_object_set_new(
			o, "modified",
			json_string(json_string_value(
				json_object_get(ann, "updated_at"))));

	value = json_string_value(json_object_get(ann, "body"));
	if (value)
		body = json_pack("{s:s,s:s,s:s}", "type", "TextualBody",
				 "value", value, "format", "text/markdown");
	else
		/* withheld from this viewer (hidden by a moderator) */
		body = json_pack("{s:s,s:s,s:s}", "type", "TextualBody",
				 "value", "(hidden by a moderator)", "format",
				 "text/plain");
	json_object_set_new(o, "body", body);

	target = json_object_get(ann, "target");
	sel = json_is_object(target) ? selectors(target) : NULL;
	if (sel && json_array_size(sel))
		json_object_set_new(
			o, "target",
			json_pack("{s:o,s:o}", "source",
				  chapter_iri(base, circle, chapter),
				  "selector", sel));
	else {
		json_decref(sel);
		json_object_set_new(o, "target",
				    chapter_iri(base, circle, chapter));
	}
	return o;
}

json_t *export_w3c_page_iri(const char *coll, int64_t page)
{
	return json_sprintf("%s%cpage=%lld", coll,
			    strchr(coll, '?') ? '&' : '?', (long long)page);
}

json_t *export_w3c_page(json_t *items, const char *coll, const char *label,
			int64_t n, int64_t npages, bool standalone)
{
	size_t total = json_array_size(items);
	size_t from = (size_t)(n - 1) * EXPORT_PAGE_SIZE;
	json_t *pg = json_object(), *list = json_array();

	for (size_t i = from; i < total && i < from + EXPORT_PAGE_SIZE; i++)
		json_array_append(list, json_array_get(items, i));
	if (standalone)
		json_object_set_new(pg, "@context",
				    json_string(EXPORT_ANNO_CONTEXT));
	json_object_set_new(pg, "id", export_w3c_page_iri(coll, n));
	json_object_set_new(pg, "type", json_string("AnnotationPage"));
	if (standalone) {
		json_t *part = json_pack("{s:s,s:s,s:I}", "id", coll, "type",
					 "AnnotationCollection", "total",
					 (json_int_t)total);

		if (label)
			json_object_set_new(part, "label", json_string(label));
		json_object_set_new(pg, "partOf", part);
	}
	json_object_set_new(pg, "startIndex", json_integer((json_int_t)from));
	if (n > 1)
		json_object_set_new(pg, "prev",
				    export_w3c_page_iri(coll, n - 1));
	if (n < npages)
		json_object_set_new(pg, "next",
				    export_w3c_page_iri(coll, n + 1));
	json_object_set_new(pg, "items", list);
	return pg;
}

json_t *export_w3c_collection(json_t *items, const char *base, int64_t circle,
			      const char *label, int64_t page)
{
	size_t total = json_array_size(items);
	int64_t npages =
		(int64_t)((total + EXPORT_PAGE_SIZE - 1) / EXPORT_PAGE_SIZE);
	json_t *c;
	char *coll;
	struct buf b = BUF_INIT;

	buf_addf(&b, "%s/api/circles/%lld/annotations", base,
		 (long long)circle);
	coll = buf_detach(&b, NULL);
	if (page > 0) {
		c = page <= npages ? export_w3c_page(items, coll, label, page,
						     npages, true)
				   : NULL;
		free(coll);
		return c;
	}
	if (page != 0 && page != EXPORT_PAGE_ALL) {
		free(coll);
		return NULL;
	}
	c = json_pack("{s:s,s:s,s:s}", "@context", EXPORT_ANNO_CONTEXT, "id",
		      coll, "type", "AnnotationCollection");
	if (label)
		json_object_set_new(c, "label", json_string(label));
	json_object_set_new(c, "total", json_integer((json_int_t)total));
	if (total && page == 0) {
		json_object_set_new(
			c, "first",
			export_w3c_page(items, coll, NULL, 1, npages, false));
		json_object_set_new(c, "last",
				    export_w3c_page_iri(coll, npages));
	} else if (total) {
		/* every item in one page, for a file that stands alone */
		json_t *all = json_pack("{s:s+,s:s,s:i,s:O}", "id", coll,
					"#all", "type", "AnnotationPage",
					"startIndex", 0, "items", items);

		json_object_set_new(c, "first", all);
		json_object_set_new(c, "last", json_sprintf("%s#all", coll));
	}
	free(coll);
	return c;
}
