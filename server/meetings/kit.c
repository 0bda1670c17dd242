/*
 * kit.c - plan kits: a reading plan, with its prompts and facilitator
 * notes, that one circle exports and another imports onto its own book.
 *
 * A kit names its book by title, author, edition and a content hash, and
 * each entry's chapter by number and title (never by id: ids belong to one
 * server). Due dates become offsets in days from the first entry, so the
 * importer picks the start date. plan.import matches each entry onto the
 * circle's book: by title and number, then by title alone, then by number
 * alone (a renamed chapter keeps its number); each chapter is used once.
 * Entries that match no chapter are reported, not guessed.
 *
 * The content hash is FNV-1a (64 bits) over every chapter's title and text
 * in reading order, written "fnv1a64:<16 hex digits>": equal hashes mean
 * the same text, so the importer can say whether the kit was made on this
 * very edition. It is an identity check, not a security one.
 *
 * The kit is read and written through the plan methods (plan.get, plan.set)
 * so that the plan's own checks and its plan.changed event apply.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "books/books.h"
#include "circles/circles.h"
#include "meetings/internal.h"
#include "meetings/meetings.h"
#include "rpc/rpc.h"
#include "util/buf.h"
#include "util/jsonx.h"
#include "util/rfc3339.h"
#include "util/utf8.h"

#define KIT_FORMAT 1
#define KIT_MAX_ENTRIES 2000   /* as plan.set */
#define KIT_MAX_TITLE 1000     /* code points of a chapter title */
#define KIT_MAX_OFFSET 3660    /* days: ten years */
#define KIT_MAX_CHAPTERS 10000 /* chapters of a book considered */

/* One chapter of the circle's book. */
struct kit_chapter {
	int64_t id;
	json_t *number; /* borrowed: integer or null */
	const char *title;
	bool used;
};

/* The book's chapters in reading order from toc (borrowed); *n set. */
static struct kit_chapter *toc_chapters(json_t *toc, size_t *n)
{
	struct kit_chapter *chs = NULL;
	json_t *part, *c;
	size_t i, j;

	*n = 0;
	json_array_foreach(json_object_get(toc, "parts"), i, part)
	{
		json_array_foreach(json_object_get(part, "chapters"), j, c)
		{
			if (*n >= KIT_MAX_CHAPTERS)
				break;
			chs = xrealloc(chs, (*n + 1) * sizeof(*chs));
			chs[*n].id =
				json_integer_value(json_object_get(c, "id"));
			chs[*n].number = json_object_get(c, "number");
			chs[*n].title =
				json_string_value(json_object_get(c, "title"));
			chs[*n].used = false;
			(*n)++;
		}
	}
	return chs;
}

/* The circle's book.toc (new reference) or NULL. */
static json_t *circle_toc(struct rpc_ctx *ctx, int64_t circle)
{
	json_t *c, *toc = NULL;

	if (!circles_get_json(ctx, circle, &c))
		books_toc(rpc_store(ctx),
			  json_integer_value(json_object_get(c, "book")), &toc);
	json_decref(c);
	return toc;
}

static void fnv(uint64_t *h, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		*h ^= *p;
		*h *= 0x100000001b3ULL;
	}
}

/* "fnv1a64:..." over the chapters' titles and texts; new reference. */
static json_t *content_hash(struct rpc_ctx *ctx, struct kit_chapter *chs,
			    size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	char out[32];

	for (size_t i = 0; i < n; i++) {
		json_t *ch = books_chapter_json(rpc_store(ctx), chs[i].id);

		fnv(&h, chs[i].title);
		fnv(&h, "\n");
		fnv(&h, json_string_value(json_object_get(ch, "text")));
		fnv(&h, "\n\f\n");
		json_decref(ch);
	}
	snprintf(out, sizeof(out), "fnv1a64:%016llx", (unsigned long long)h);
	return json_string(out);
}

/* Copies a plan entry's texts (prompt, notes) that are strings from e to o:
 * what a kit carries over from a plan and back. */
static void entry_texts(json_t *o, const json_t *e)
{
	jsonx_copy_str(o, "prompt", e, "prompt");
	jsonx_copy_str(o, "notes", e, "notes");
}

static int m_export(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"circle", NULL};
	struct kit_chapter *chs = NULL;
	struct vis_viewer v;
	int64_t circle, first = -1;
	json_t *toc = NULL, *plan = NULL, *entries, *e, *book, *out;
	size_t n = 0, i;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_id(ctx, params, "circle", true, &circle) ||
	    circle_access_id(ctx, circle, CIRCLE_MODERATOR, &v))
		return RPC_ERR;
	toc = circle_toc(ctx, circle);
	circles_plan_json(ctx, circle, &plan);
	if (!toc || !plan) {
		json_decref(toc);
		json_decref(plan);
		return rpc_fail(ctx, RPC_E_INTERNAL, "could not read the plan");
	}
	chs = toc_chapters(toc, &n);
	book = json_object_get(toc, "book");
	json_array_foreach(json_object_get(plan, "entries"), i, e)
	{
		int64_t d =
			mt_days(json_string_value(json_object_get(e, "due")));

		if (d >= 0 && (first < 0 || d < first))
			first = d;
	}
	entries = json_array();
	json_array_foreach(json_object_get(plan, "entries"), i, e)
	{
		int64_t id = json_integer_value(json_object_get(e, "chapter"));
		int64_t d =
			mt_days(json_string_value(json_object_get(e, "due")));
		json_t *ref = NULL, *o;

		for (size_t j = 0; j < n; j++)
			if (chs[j].id == id)
				ref = json_pack("{s:O,s:s}", "number",
						chs[j].number, "title",
						chs[j].title ? chs[j].title
							     : "");
		if (!ref)
			continue; /* a chapter a re-import dropped */
		o = json_pack("{s:o,s:I}", "chapter", ref, "offset_days",
			      (json_int_t)(d - first));
		entry_texts(o, e);
		json_array_append_new(entries, o);
	}
	out = json_pack("{s:i,s:{s:O,s:O,s:O,s:o},s:o}", "scholia_plan_kit",
			KIT_FORMAT, "book", "title",
			json_object_get(book, "title"), "author",
			json_object_get(book, "author"), "edition",
			json_object_get(book, "edition"), "content_hash",
			content_hash(ctx, chs, n), "entries", entries);
	free(chs);
	json_decref(toc);
	json_decref(plan);
	if (!out)
		return rpc_fail(ctx, RPC_E_INTERNAL, "could not build the kit");
	*result = out;
	return 0;
}

/* -32602 naming kit.<path>. */
static int kit_fail(struct rpc_ctx *ctx, const char *path, const char *msg)
{
	char field[80];

	snprintf(field, sizeof(field), "kit%s%s", *path ? "." : "", path);
	return rpc_fail_field(ctx, field, msg);
}

/* A text field of a kit entry: absent/null ok, else a string of at most
 * max code points (-32013 beyond). 0 or RPC_ERR. */
static int kit_text(struct rpc_ctx *ctx, json_t *o, const char *key, size_t i,
		    size_t max)
{
	json_t *s = json_object_get(o, key);
	char path[64];

	snprintf(path, sizeof(path), "entries[%zu].%s", i, key);
	if (!s || json_is_null(s))
		return 0;
	if (!json_is_string(s) ||
	    !utf8_valid(json_string_value(s), json_string_length(s)))
		return kit_fail(ctx, path, "must be text");
	if (utf8_count(json_string_value(s), json_string_length(s)) > max) {
		char field[80];

		snprintf(field, sizeof(field), "kit.%s", path);
		rpc_fail(ctx, RPC_E_TOO_LARGE, "text too large");
		rpc_fail_data(ctx, "field", json_string(field));
		return RPC_ERR;
	}
	return 0;
}

/* Checks the kit's shape and limits. 0 or RPC_ERR. */
static int kit_check(struct rpc_ctx *ctx, json_t *kit)
{
	size_t max = rpc_config.max_body_cp ? rpc_config.max_body_cp : 10000;
	json_t *entries = json_object_get(kit, "entries"), *e, *c, *off;
	size_t i;

	if (json_integer_value(json_object_get(kit, "scholia_plan_kit")) !=
	    KIT_FORMAT)
		return kit_fail(ctx, "scholia_plan_kit",
				"not a Scholia plan kit (format 1)");
	if (!json_is_array(entries))
		return kit_fail(ctx, "entries", "must be an array");
	if (json_array_size(entries) > KIT_MAX_ENTRIES)
		return rpc_fail(ctx, RPC_E_TOO_LARGE, "too many kit entries");
	json_array_foreach(entries, i, e)
	{
		char path[64];
		json_t *num, *title;

		snprintf(path, sizeof(path), "entries[%zu]", i);
		if (!json_is_object(e))
			return kit_fail(ctx, path, "must be an object");
		c = json_object_get(e, "chapter");
		num = json_object_get(c, "number");
		title = json_object_get(c, "title");
		snprintf(path, sizeof(path), "entries[%zu].chapter", i);
		if (!json_is_object(c) ||
		    (num && !json_is_null(num) && !json_is_integer(num)) ||
		    (title && !json_is_string(title)) ||
		    ((!num || json_is_null(num)) && !title))
			return kit_fail(ctx, path,
					"must be {number, title} of a chapter");
		if (title &&
		    (!utf8_valid(json_string_value(title),
				 json_string_length(title)) ||
		     utf8_count(json_string_value(title),
				json_string_length(title)) > KIT_MAX_TITLE))
			return kit_fail(ctx, path, "title too long");
		off = json_object_get(e, "offset_days");
		snprintf(path, sizeof(path), "entries[%zu].offset_days", i);
		if (!json_is_integer(off) || json_integer_value(off) < 0 ||
		    json_integer_value(off) > KIT_MAX_OFFSET)
			return kit_fail(ctx, path,
					"must be a whole number of days, "
					"0 to 3660");
		if (kit_text(ctx, e, "prompt", i, max) ||
		    kit_text(ctx, e, "notes", i, max))
			return RPC_ERR;
	}
	return 0;
}

/* Compares titles ignoring case and surrounding white space. */
static bool same_title(const char *a, const char *b)
{
	size_t la, lb;

	if (!a || !b)
		return false;
	while (isspace((unsigned char)*a))
		a++;
	while (isspace((unsigned char)*b))
		b++;
	la = strlen(a);
	lb = strlen(b);
	while (la && isspace((unsigned char)a[la - 1]))
		la--;
	while (lb && isspace((unsigned char)b[lb - 1]))
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

/* Equal chapter numbers; two unnumbered chapters agree too (pass 0 then
 * matches an unnumbered chapter by its title). */
static bool same_number(json_t *a, json_t *b)
{
	if (!json_is_integer(a) || !json_is_integer(b))
		return !json_is_integer(a) && !json_is_integer(b);
	return json_integer_value(a) == json_integer_value(b);
}

/* The chapter for a kit reference and how it matched ("title+number",
 * "title", "number"), or -1. Marks it used. */
static ssize_t match_chapter(struct kit_chapter *chs, size_t n, json_t *ref,
			     const char **how)
{
	json_t *num = json_object_get(ref, "number");
	const char *title = json_string_value(json_object_get(ref, "title"));
	size_t i;

	for (int pass = 0; pass < 3; pass++) {
		for (i = 0; i < n; i++) {
			bool t = same_title(chs[i].title, title);
			bool nu = same_number(chs[i].number, num);
			bool hit = pass == 0 ? t && nu : pass == 1 ? t : nu;

			if (chs[i].used || !hit)
				continue;
			chs[i].used = true;
			*how = pass == 0   ? "title+number"
			       : pass == 1 ? "title"
					   : "number";
			return (ssize_t)i;
		}
	}
	return -1;
}

static int m_import(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"circle", "kit", "start", NULL};
	struct kit_chapter *chs = NULL;
	struct vis_viewer v;
	const char *start;
	int64_t circle, start_days;
	json_t *kit, *toc = NULL, *book, *kbook, *e, *plan_entries = NULL,
		     *matched = NULL, *unmatched = NULL, *plan = NULL,
		     *hash = NULL;
	size_t n = 0, i;
	int rc = RPC_ERR;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_id(ctx, params, "circle", true, &circle) ||
	    circle_access_id(ctx, circle, CIRCLE_OWNER, &v) ||
	    rpc_param_json(ctx, params, "kit", true, JSON_OBJECT, &kit) ||
	    rpc_param_str(ctx, params, "start", true, 10, 10, &start))
		return RPC_ERR;
	start_days = mt_days(start);
	if (start_days < 0)
		return rpc_fail_field(ctx, "start",
				      "must be a date YYYY-MM-DD");
	if (kit_check(ctx, kit))
		return RPC_ERR;
	toc = circle_toc(ctx, circle);
	if (!toc)
		return rpc_fail(ctx, RPC_E_INTERNAL, "could not read the book");
	chs = toc_chapters(toc, &n);
	plan_entries = json_array();
	matched = json_array();
	unmatched = json_array();
	json_array_foreach(json_object_get(kit, "entries"), i, e)
	{
		const char *how = NULL;
		json_t *ref = json_object_get(e, "chapter"), *o;
		ssize_t k = match_chapter(chs, n, ref, &how);
		char due[RFC3339_DATE_LEN];

		if (k < 0) {
			json_array_append_new(unmatched,
					      json_pack("{s:I,s:O}", "index",
							(json_int_t)i,
							"chapter", ref));
			continue;
		}
		rfc3339_date((start_days + json_integer_value(json_object_get(
						   e, "offset_days"))) *
				     86400,
			     due, sizeof(due));
		o = json_pack("{s:I,s:s}", "chapter", (json_int_t)chs[k].id,
			      "due", due);
		entry_texts(o, e);
		json_array_append_new(plan_entries, o);
		json_array_append_new(
			matched, json_pack("{s:I,s:O,s:I,s:s,s:s,s:s}", "index",
					   (json_int_t)i, "chapter", ref, "to",
					   (json_int_t)chs[k].id, "title",
					   chs[k].title ? chs[k].title : "",
					   "by", how, "due", due));
	}
	if (json_array_size(plan_entries) == 0 &&
	    json_array_size(json_object_get(kit, "entries")) > 0) {
		kit_fail(ctx, "entries",
			 "no chapter of the kit matches this circle's book");
		goto out;
	}
	if (circles_plan_set(ctx, circle, plan_entries, &plan)) {
		rpc_fail(ctx, RPC_E_INVALID_PARAMS,
			 "the kit's plan was refused by plan.set");
		goto out;
	}
	book = json_object_get(toc, "book");
	kbook = json_object_get(kit, "book");
	hash = content_hash(ctx, chs, n);
	*result = json_pack(
		"{s:o,s:O,s:O,s:b,s:b}", "plan", plan, "matched", matched,
		"unmatched", unmatched, "same_book",
		same_title(
			json_string_value(json_object_get(book, "title")),
			json_string_value(json_object_get(kbook, "title"))) &&
			same_title(json_string_value(
					   json_object_get(book, "author")),
				   json_string_value(
					   json_object_get(kbook, "author"))),
		"same_content",
		json_is_string(json_object_get(kbook, "content_hash")) &&
			!strcmp(json_string_value(hash),
				json_string_value(json_object_get(
					kbook, "content_hash"))));
	plan = NULL;
	rc = 0;
out:
	json_decref(hash);
	json_decref(plan);
	json_decref(plan_entries);
	json_decref(matched);
	json_decref(unmatched);
	json_decref(toc);
	free(chs);
	return rc;
}

const struct rpc_method mt_kit_methods[] = {{"plan.export", m_export, RPC_AUTH},
					    {"plan.import", m_import, RPC_AUTH},
					    {NULL, NULL, 0}};
