/*
 * import.c - annotation.import {circle, format, data}: highlights brought in
 * from e-readers (SPEC §3) as the caller's private annotations.
 *
 * Formats, each read from the file's text in `data`:
 *   kindle    "My Clippings.txt": entries separated by "==========" lines,
 *             each a title line, a "- Your Highlight ... | Location A-B"
 *             line, a blank line and the text. A note is attached to the
 *             highlight whose location range holds the note's location.
 *             Entries of other books in the same file are left out when
 *             the title line names the circle's book.
 *   koreader  KOReader's JSON highlight export: {title, entries:[{text,
 *             note, chapter, page, time}]} or an array of such documents.
 *   w3c       an AnnotationCollection (its embedded first page), an
 *             AnnotationPage, one Annotation or an array of them; the
 *             quote is the TextQuoteSelector (prefix and suffix help to
 *             choose between repeats), the note the TextualBody.
 *
 * Each highlight is looked for in the circle's book with books_finder (the
 * re-anchoring matcher and its score floor after normalising ligatures,
 * quotes, white space and hyphenation) and reported placed, ambiguous or
 * not_found; a placed one becomes a private annotation whose body is the
 * note (or a line saying where the highlight came from). Nothing is placed
 * on a guess. The caller is checked once, as for one post (membership,
 * mute, slow mode, rate limit): the annotations are private, so the pace
 * limits that protect the circle's discussion do not count each one.
 */
#include <stdlib.h>
#include <string.h>

#include "books/books.h"
#include "circles/circles.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "threads/internal.h"
#include "threads/threads.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/jsonx.h"
#include "util/utf8.h"
#include "util/vec.h"

/* Highlights in one import at most (more: -32013). */
#define IMPORT_MAX_ITEMS 1000
/* The file's text at most, in code points (the transport's own message
 * limit usually binds first). */
#define IMPORT_MAX_DATA (4 * 1024 * 1024)

static const char *const formats[] = {"kindle", "koreader", "w3c", NULL};

/* One highlight read from the file. */
struct hl {
	char *quote, *prefix, *suffix, *note;
};

struct hl_list {
	struct hl *v;
	size_t n, cap;
};

static struct hl *hl_add(struct hl_list *l)
{
	struct hl *h = VEC_PUSH(l->v, l->n, l->cap);

	memset(h, 0, sizeof(*h));
	return h;
}

static void hl_free(struct hl_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].quote);
		free(l->v[i].prefix);
		free(l->v[i].suffix);
		free(l->v[i].note);
	}
	free(l->v);
}

static char *dup_json_str(json_t *v)
{
	return json_is_string(v) && json_string_length(v)
		       ? xstrdup(json_string_value(v))
		       : NULL;
}

/* ---- kindle ---- */

struct clip {
	char *title;
	int kind;  /* 0 highlight, 1 note, 2 bookmark */
	long a, b; /* location range, -1 unknown */
	char *text;
	bool used;
};

static char *trim_dup(const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
		     s[n - 1] == '\n'))
		n--;
	return xstrndup(s, n);
}

static bool has_word(const char *s, size_t n, const char *w)
{
	size_t k = strlen(w);

	for (size_t i = 0; i + k <= n; i++)
		if (!strncmp(s + i, w, k))
			return true;
	return false;
}

/* "- Your Highlight on page 5 | Location 70-72 | Added on ..." */
static void clip_meta(const char *s, size_t n, struct clip *c)
{
	static const char *const notes[] = {"Note", "Notiz", "Remarque", "Nota",
					    NULL};
	static const char *const marks[] = {"Bookmark", "Lesezeichen", "Signet",
					    "Marcador", NULL};

	c->kind = 0;
	for (int i = 0; notes[i]; i++)
		if (has_word(s, n, notes[i]))
			c->kind = 1;
	for (int i = 0; marks[i]; i++)
		if (has_word(s, n, marks[i]))
			c->kind = 2;
	c->a = c->b = -1;
	for (size_t i = 0; i + 8 <= n; i++) {
		if (strncmp(s + i, "ocation ", 8) &&
		    strncmp(s + i, "osition ", 8))
			continue;
		i += 8;
		if (i < n && s[i] >= '0' && s[i] <= '9') {
			c->a = strtol(s + i, NULL, 10);
			while (i < n && s[i] >= '0' && s[i] <= '9')
				i++;
			c->b = c->a;
			if (i + 1 < n && s[i] == '-' && s[i + 1] >= '0' &&
			    s[i + 1] <= '9')
				c->b = strtol(s + i + 1, NULL, 10);
		}
		break;
	}
}

/* The clipping's title line names the book: it holds the book's main
 * title (up to a ':' subtitle, which e-readers often cut). */
static bool title_matches(const char *entry, const char *book)
{
	const char *colon = strchr(book, ':');
	size_t n = colon ? (size_t)(colon - book) : strlen(book),
	       m = strlen(entry);

	if (!n)
		return false;
	for (size_t i = 0; i + n <= m; i++)
		if (!strncasecmp(entry + i, book, n))
			return true;
	return false;
}

static int parse_kindle(const char *data, const char *book_title,
			struct hl_list *out)
{
	struct clip *cl = NULL;
	size_t n = 0, cap = 0, i;
	const char *p = data;
	bool any_title = false;

	if (!strncmp(p, "\xef\xbb\xbf", 3))
		p += 3;
	while (*p) {
		const char *end = strstr(p, "==========");
		const char *e = end ? end : p + strlen(p);
		const char *l1 = p, *l2, *body;
		struct clip c = {0};

		/* title line, meta line, blank line, text */
		while (l1 < e && (*l1 == '\r' || *l1 == '\n' || *l1 == ' '))
			l1++;
		l2 = memchr(l1, '\n', (size_t)(e - l1));
		if (l2 && l1 < e) {
			const char *l2e;

			c.title = trim_dup(l1, (size_t)(l2 - l1));
			l2++;
			l2e = memchr(l2, '\n', (size_t)(e - l2));
			if (!l2e)
				l2e = e;
			clip_meta(l2, (size_t)(l2e - l2), &c);
			body = l2e;
			c.text = trim_dup(body, (size_t)(e - body));
			*VEC_PUSH(cl, n, cap) = c;
			if (title_matches(c.title, book_title))
				any_title = true;
		}
		if (!end)
			break;
		p = end + 10;
	}
	for (i = 0; i < n; i++) {
		struct hl *h;

		if (cl[i].kind != 0 || !cl[i].text[0] ||
		    (any_title && !title_matches(cl[i].title, book_title)))
			continue;
		h = hl_add(out);
		h->quote = xstrdup(cl[i].text);
		/* its note: the nearest note whose location lies in range */
		for (size_t d = 1; d < n && cl[i].a >= 0; d++) {
			size_t cand[2] = {i + d, i >= d ? i - d : (size_t)-1};

			for (int k = 0; k < 2; k++) {
				struct clip *c =
					cand[k] < n ? &cl[cand[k]] : NULL;

				if (!c || c->kind != 1 || c->used ||
				    strcmp(c->title, cl[i].title) || c->a < 0 ||
				    c->a < cl[i].a || c->a > cl[i].b)
					continue;
				c->used = true;
				h->note = xstrdup(c->text);
				goto next;
			}
		}
	next:;
	}
	/* notes that belong to no highlight carry no passage */
	for (i = 0; i < n; i++)
		if (cl[i].kind == 1 && !cl[i].used &&
		    (!any_title || title_matches(cl[i].title, book_title))) {
			struct hl *h = hl_add(out);

			h->quote = xstrdup("");
			h->note = xstrdup(cl[i].text);
		}
	for (i = 0; i < n; i++) {
		free(cl[i].title);
		free(cl[i].text);
	}
	free(cl);
	return 0;
}

/* ---- koreader ---- */

static void koreader_doc(json_t *doc, struct hl_list *out)
{
	json_t *entries = json_object_get(doc, "entries"), *e;
	size_t i;

	json_array_foreach(entries, i, e)
	{
		struct hl *h;
		char *q = dup_json_str(json_object_get(e, "text"));

		if (!q)
			continue;
		h = hl_add(out);
		h->quote = q;
		h->note = dup_json_str(json_object_get(e, "note"));
	}
}

static int parse_koreader(json_t *doc, struct hl_list *out)
{
	size_t i;
	json_t *d;

	if (json_is_object(doc) &&
	    json_is_array(json_object_get(doc, "entries")))
		koreader_doc(doc, out);
	else if (json_is_object(doc) &&
		 json_is_array(json_object_get(doc, "documents")))
		json_array_foreach(json_object_get(doc, "documents"), i, d)
			koreader_doc(d, out);
	else if (json_is_array(doc))
		json_array_foreach(doc, i, d) koreader_doc(d, out);
	else
		return SCH_EINVAL;
	return 0;
}

/* ---- w3c ---- */

/* The TextQuoteSelector of a target (object, or array of them). */
static json_t *quote_selector(json_t *target)
{
	json_t *sel, *s;
	size_t i;

	if (json_is_array(target)) {
		json_array_foreach(target, i, s)
		{
			json_t *q = quote_selector(s);

			if (q)
				return q;
		}
		return NULL;
	}
	if (!json_is_object(target))
		return NULL;
	sel = jsonx_as_array(json_object_get(target, "selector"));
	json_array_foreach(sel, i, s)
	{
		const char *t = json_string_value(json_object_get(s, "type"));

		if (t && !strcmp(t, "TextQuoteSelector") &&
		    json_is_string(json_object_get(s, "exact"))) {
			json_decref(sel);
			return s; /* borrowed from target */
		}
	}
	json_decref(sel);
	return NULL;
}

static char *body_text(json_t *ann)
{
	json_t *b = json_object_get(ann, "body"), *x;
	size_t i;

	if (json_is_string(json_object_get(ann, "bodyValue")))
		return dup_json_str(json_object_get(ann, "bodyValue"));
	if (json_is_object(b))
		return dup_json_str(json_object_get(b, "value"));
	json_array_foreach(b, i, x)
	{
		char *v = json_is_object(x)
				  ? dup_json_str(json_object_get(x, "value"))
				  : NULL;

		if (v)
			return v;
	}
	return NULL;
}

static void w3c_one(json_t *ann, struct hl_list *out)
{
	json_t *q;
	struct hl *h;

	if (!json_is_object(ann))
		return;
	q = quote_selector(json_object_get(ann, "target"));
	h = hl_add(out);
	h->quote = q ? xstrdup(json_string_value(json_object_get(q, "exact")))
		     : xstrdup("");
	if (q) {
		h->prefix = dup_json_str(json_object_get(q, "prefix"));
		h->suffix = dup_json_str(json_object_get(q, "suffix"));
	}
	h->note = body_text(ann);
}

static void w3c_items(json_t *items, struct hl_list *out)
{
	size_t i;
	json_t *a;

	json_array_foreach(items, i, a) w3c_one(a, out);
}

static bool has_type(json_t *o, const char *type)
{
	json_t *t = json_object_get(o, "type"), *x;
	size_t i;

	if (json_is_string(t))
		return !strcmp(json_string_value(t), type);
	json_array_foreach(
		t, i, x) if (json_is_string(x) &&
			     !strcmp(json_string_value(x), type)) return true;
	return false;
}

static int parse_w3c(json_t *doc, struct hl_list *out)
{
	if (json_is_array(doc)) {
		w3c_items(doc, out);
		return 0;
	}
	if (!json_is_object(doc))
		return SCH_EINVAL;
	if (has_type(doc, "AnnotationCollection")) {
		json_t *first = json_object_get(doc, "first");

		if (json_is_object(first))
			w3c_items(json_object_get(first, "items"), out);
		w3c_items(json_object_get(doc, "items"), out);
		return 0;
	}
	if (has_type(doc, "AnnotationPage")) {
		w3c_items(json_object_get(doc, "items"), out);
		return 0;
	}
	if (has_type(doc, "Annotation")) {
		w3c_one(doc, out);
		return 0;
	}
	return SCH_EINVAL;
}

/* ---- placing ---- */

/* The SPEC target for [start, end) of the chapter's text. */
static json_t *make_target(struct store *db, int64_t chapter, int64_t start,
			   int64_t end)
{
	char *text = NULL, *exact;
	size_t len, a, b;
	json_t *t;

	if (books_chapter_text(db, chapter, &text, &len))
		return NULL;
	a = utf8_offset(text, len, (size_t)start);
	b = utf8_offset(text, len, (size_t)end);
	exact = xstrndup(text + a, b - a);
	t = json_pack("{s:[{s:s,s:s,s:s,s:s},{s:s,s:I,s:I}]}", "selector",
		      "type", "TextQuoteSelector", "exact", exact, "prefix", "",
		      "suffix", "", "type", "TextPositionSelector", "start",
		      (json_int_t)start, "end", (json_int_t)end);
	free(exact);
	free(text);
	return t;
}

static const char *format_name(int f)
{
	return f == 0 ? "Kindle" : f == 1 ? "KOReader" : "a W3C file";
}

int th_annotation_import(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"circle", "format", "data", NULL};
	struct store *db = rpc_store(ctx);
	struct hl_list hls = {0};
	struct books_finder *finder = NULL;
	struct vis_viewer v;
	json_t *items = NULL, *doc = NULL, *toc = NULL;
	const char *data, *title = "";
	int64_t circle, book = 0;
	int format = 0, rc = RPC_ERR;
	size_t max_body =
		rpc_config.max_body_cp ? rpc_config.max_body_cp : 10000;
	size_t max_exact =
		rpc_config.max_exact_cp ? rpc_config.max_exact_cp : 4000;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_id(ctx, params, "circle", true, &circle) ||
	    rpc_param_enum(ctx, params, "format", true, formats, &format) ||
	    rpc_param_text(ctx, params, "data", true, IMPORT_MAX_DATA, &data))
		return RPC_ERR;
	if (circles_viewer(db, circle, rpc_account(ctx), rpc_is_admin(ctx),
			   &v) ||
	    (v.role == VIS_ROLE_NONE && !v.is_admin))
		return rpc_fail(ctx, RPC_E_NOT_FOUND, "not found");
	if (v.role == VIS_ROLE_NONE)
		return rpc_fail(ctx, RPC_E_FORBIDDEN,
				"only members of the circle may post");
	if (circles_book(db, circle, &book))
		return rpc_fail(ctx, RPC_E_NOT_FOUND, "not found");
	if (format != 0) {
		json_error_t jerr;

		doc = json_loads(data, JSON_REJECT_DUPLICATES, &jerr);
		if (!doc || (format == 1 ? parse_koreader(doc, &hls)
					 : parse_w3c(doc, &hls))) {
			rpc_fail_field(ctx, "data",
				       format == 1
					       ? "not a KOReader JSON export"
					       : "not W3C Web Annotation JSON");
			goto out;
		}
	} else {
		books_toc(rpc_store(ctx), book, &toc);
		if (json_is_string(json_object_get(json_object_get(toc, "book"),
						   "title")))
			title = json_string_value(json_object_get(
				json_object_get(toc, "book"), "title"));
		parse_kindle(data, title, &hls);
	}
	if (hls.n > IMPORT_MAX_ITEMS) {
		rpc_fail(ctx, RPC_E_TOO_LARGE, "too many highlights");
		rpc_fail_data(ctx, "max_items", json_integer(IMPORT_MAX_ITEMS));
		goto out;
	}
	/* one post for mute, slow mode and the rate limit */
	if (th_check_write(ctx, EVENTS_POST_CHECK, &v, circle))
		goto out;
	finder = books_finder_new(db, book, 0);
	items = json_array();
	for (size_t i = 0; i < hls.n; i++) {
		struct hl *h = &hls.v[i];
		struct books_found f = {BOOKS_FIND_NOT_FOUND, 0, 0, 0};
		json_t *item = json_pack("{s:s}", "quote", h->quote),
		       *ann = NULL, *target;
		struct buf body = BUF_INIT;

		if (finder && h->quote[0] &&
		    utf8_count(h->quote, strlen(h->quote)) <= max_exact)
			books_finder_find(finder, h->quote, h->prefix,
					  h->suffix, &f);
		if (h->note)
			json_object_set_new(item, "note", json_string(h->note));
		if (f.status != BOOKS_FIND_PLACED) {
			json_object_set_new(
				item, "status",
				json_string(f.status == BOOKS_FIND_AMBIGUOUS
						    ? "ambiguous"
						    : "not_found"));
			json_array_append_new(items, item);
			continue;
		}
		if (h->note && h->note[0] &&
		    utf8_count(h->note, strlen(h->note)) <= max_body)
			buf_adds(&body, h->note);
		else
			buf_addf(&body, "Highlighted in %s.",
				 format_name(format));
		target = make_target(db, f.chapter, f.start, f.end);
		if (!target ||
		    th_annotation_insert(ctx, circle, f.chapter, 0, target,
					 buf_str(&body), true, &ann)) {
			json_decref(target);
			json_decref(item);
			buf_free(&body);
			if (!target)
				rpc_fail_store(ctx, SCH_EDB);
			goto out;
		}
		json_decref(target);
		buf_free(&body);
		json_object_set_new(item, "status", json_string("placed"));
		json_object_set_new(item, "annotation", ann);
		json_array_append_new(items, item);
	}
	*result = json_pack("{s:O}", "items", items);
	rc = 0;
out:
	books_finder_free(finder);
	hl_free(&hls);
	json_decref(items);
	json_decref(doc);
	json_decref(toc);
	return rc;
}
