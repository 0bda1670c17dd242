/*
 * export.c - the export endpoints of SPEC §2 and `scholia export`.
 *
 *   GET /api/circles/{id}/annotations[?page=N]   W3C AnnotationCollection,
 *                                                or its page N (100 each)
 *   /api/circles/{id}/annotations/...            the Web Annotation Protocol
 *                                                container (protocol.c)
 *   GET /api/circles/{id}/digest.md?chapter=ID   Markdown meeting digest
 *   GET /api/circles/{id}/export.md              Markdown of the whole circle
 *
 * The caller was authenticated by the transport from the session cookie or
 * an Authorization: Bearer token; without an account the answer is 401, and
 * a circle the caller may not see is 404 whether or not it exists (ids of
 * other circles must not be probeable). What is shown is what
 * threads_each_visible() yields for the caller's viewer: the WebSocket API's
 * rule, with private annotations for their author alone and hidden bodies
 * only for moderators and the author.
 *
 * The command line exports "what any member sees": a viewer that is a
 * plain member and author of nothing, so private annotations never appear
 * and hidden ones appear as placeholders.
 *
 * Names and prompts come from the methods the SPEC defines (circle.get,
 * chapter.get, plan.get), called in this request's context; when one is not
 * available the export still works with a generic label.
 */
#include "export/export.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "books/books.h"
#include "circles/circles.h"
#include "http/http.h"
#include "meetings/meetings.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "threads/threads.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mdtext.h"

#define ROUTE_PREFIX "/api/circles/"
#define MD_TYPE "text/markdown; charset=utf-8"

/* The circle's name (caller frees), or NULL. */
char *export_circle_name(struct rpc_ctx *ctx, int64_t circle)
{
	json_t *c;
	const char *n;
	char *out;

	circles_get_json(ctx, circle, &c);
	n = json_string_value(json_object_get(c, "name"));
	out = n ? xstrdup(n) : NULL;
	json_decref(c);
	return out;
}

/* The chapter's title (caller frees); "Chapter ID" when unknown. */
static char *chapter_title(struct rpc_ctx *ctx, int64_t chapter)
{
	json_t *c = books_chapter_json(rpc_store(ctx), chapter);
	const char *t = json_string_value(json_object_get(c, "title"));
	struct buf b = BUF_INIT;

	if (t)
		buf_adds(&b, t);
	else
		buf_addf(&b, "Chapter %lld", (long long)chapter);
	json_decref(c);
	return buf_detach(&b, NULL);
}

/* The circle's reading plan entries (new reference, maybe an empty array). */
static json_t *plan_entries(struct rpc_ctx *ctx, int64_t circle)
{
	json_t *p, *e;

	circles_plan_json(ctx, circle, &p);
	e = json_object_get(p, "entries");
	e = json_is_array(e) ? json_incref(e) : json_array();
	json_decref(p);
	return e;
}

/* The plan entry of chapter in entries (borrowed), or NULL. */
static json_t *plan_entry(json_t *entries, int64_t chapter)
{
	size_t i;
	json_t *e;

	json_array_foreach(
		entries, i,
		e) if (json_integer_value(json_object_get(e, "chapter")) ==
		       chapter) return e;
	return NULL;
}

/* ---- gathering what the viewer may see ---- */

static int each_visible(struct rpc_ctx *ctx, int64_t circle, int64_t chapter,
			const struct vis_viewer *v, bool with_replies,
			int (*fn)(json_t *annotation, void *arg), void *arg)
{
	return threads_each_visible(ctx, circle, chapter, v, with_replies, fn,
				    arg);
}

/* For collecting W3C annotations. */
struct w3c_walk {
	json_t *items;
	const char *base;
	int64_t circle;
	int64_t only; /* nonzero: keep only this annotation */
};

static int w3c_cb(json_t *ann, void *arg)
{
	struct w3c_walk *w = arg;
	json_t *o;

	if (w->only &&
	    json_integer_value(json_object_get(ann, "id")) != w->only)
		return 0;
	o = export_w3c_annotation(ann, w->base, w->circle, w->only != 0);
	if (o)
		json_array_append_new(w->items, o);
	return 0;
}

static int copy_cb(json_t *ann, void *arg)
{
	json_array_append_new(arg, json_deep_copy(ann));
	return 0;
}

/* ---- HTTP ---- */

static void resp_error(struct http_resp *resp, int status, const char *msg)
{
	http_resp_json(resp, status, json_pack("{s:s}", "error", msg));
}

/* Parses a positive decimal id at *p (up to the next '/' or the end). */
static int parse_id(const char **p, int64_t *out)
{
	int64_t v = 0;
	const char *s = *p;

	if (*s < '1' || *s > '9')
		return SCH_EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (INT64_MAX - 9) / 10)
			return SCH_EINVAL;
		v = v * 10 + (*s - '0');
	}
	*p = s;
	*out = v;
	return 0;
}

/*
 * The value of key in a query string "a=1&b=2" as a positive id: 1 found
 * (*out set), 0 absent, SCH_EINVAL malformed.
 */
static int query_id(const char *query, const char *key, int64_t *out)
{
	size_t klen = strlen(key);
	const char *p = query ? query : "";

	while (*p) {
		const char *amp = strchr(p, '&');
		size_t n = amp ? (size_t)(amp - p) : strlen(p);

		if (n > klen && !strncmp(p, key, klen) && p[klen] == '=') {
			const char *v = p + klen + 1;

			if (parse_id(&v, out) || v != p + n)
				return SCH_EINVAL;
			return 1;
		}
		p += n;
		if (*p == '&')
			p++;
	}
	return 0;
}

/* The circle's meeting records (docs/export.md) as the extension property
 * "scholia:meetings" of a collection, when there are any. */
static void add_meetings(struct rpc_ctx *ctx, int64_t circle,
			 const struct vis_viewer *v, json_t *doc)
{
	json_t *recs = meetings_records(ctx, circle, 0, v);

	if (json_array_size(recs))
		json_object_set(doc, "scholia:meetings", recs);
	json_decref(recs);
}

static void resp_ld(struct http_resp *resp, json_t *doc)
{
	char *s = json_dumps(doc, JSON_INDENT(2) | JSON_ENSURE_ASCII);

	http_resp_text(resp, 200, EXPORT_LD_TYPE, s, strlen(s));
	free(s);
}

static int h_annotations(struct rpc_ctx *ctx, const struct http_req *req,
			 struct http_resp *resp, int64_t circle,
			 const struct vis_viewer *v, int64_t one)
{
	char *base = export_base_url(req->public_url, req->host, req->tls);
	struct w3c_walk w = {json_array(), base, circle, one};
	json_t *doc = NULL;
	char *label = NULL;
	int64_t page = 0;
	int rc;

	rc = query_id(req->query, "page", &page);
	if (rc < 0) {
		resp_error(resp, 400, "page must be a positive integer");
		goto out;
	}
	rc = each_visible(ctx, circle, 0, v, false, w3c_cb, &w);
	if (rc) {
		resp_error(resp, 500, "export failed");
		goto out;
	}
	if (one) {
		if (json_array_size(w.items) == 1)
			doc = json_incref(json_array_get(w.items, 0));
	} else {
		label = export_circle_name(ctx, circle);
		doc = export_w3c_collection(w.items, base, circle, label, page);
		if (doc && page == 0)
			add_meetings(ctx, circle, v, doc);
	}
	if (!doc)
		resp_error(resp, 404,
			   one ? "no such annotation" : "no such page");
	else
		resp_ld(resp, doc);
out:
	json_decref(doc);
	json_decref(w.items);
	free(label);
	free(base);
	return 0;
}

/* Appends the meeting records of the chapter (0: every chapter) the
 * viewer may see to md and sends md as the Markdown answer. */
static void send_md(struct rpc_ctx *ctx, struct http_resp *resp, int64_t circle,
		    int64_t chapter, const struct vis_viewer *v, struct buf *md)
{
	json_t *recs = meetings_records(ctx, circle, chapter, v);
	char *body;
	size_t len;

	meetings_records_md(md, recs);
	json_decref(recs);
	body = buf_detach(md, &len);
	http_resp_text(resp, 200, MD_TYPE, body, len);
	free(body);
}

static int h_digest(struct rpc_ctx *ctx, const struct http_req *req,
		    struct http_resp *resp, int64_t circle,
		    const struct vis_viewer *v)
{
	struct books_chapter_info ci;
	struct buf md = BUF_INIT;
	json_t *anns = json_array(), *entries = NULL, *e;
	char *name = NULL, *title = NULL;
	int64_t chapter = 0, book = 0;
	int rc;

	rc = query_id(req->query, "chapter", &chapter);
	if (rc <= 0) {
		resp_error(resp, 400, "chapter=ID is required");
		goto out;
	}
	if (circles_book(rpc_store(ctx), circle, &book) ||
	    books_chapter_info(rpc_store(ctx), chapter, &ci) ||
	    ci.book != book) {
		resp_error(resp, 404, "no such chapter in this circle");
		goto out;
	}
	if (each_visible(ctx, circle, chapter, v, true, copy_cb, anns)) {
		resp_error(resp, 500, "digest failed");
		goto out;
	}
	name = export_circle_name(ctx, circle);
	title = chapter_title(ctx, chapter);
	entries = plan_entries(ctx, circle);
	e = plan_entry(entries, chapter);
	buf_adds(&md, "# Meeting digest");
	if (name) {
		buf_adds(&md, ": ");
		mdtext_inline(&md, name, 0);
	}
	buf_adds(&md, "\n\n");
	export_digest_chapter(
		&md, title, json_string_value(json_object_get(e, "prompt")),
		json_string_value(json_object_get(e, "due")), anns);
	send_md(ctx, resp, circle, chapter, v, &md);
out:
	buf_free(&md);
	json_decref(anns);
	json_decref(entries);
	free(name);
	free(title);
	return 0;
}

static void cli_markdown(struct rpc_ctx *ctx, struct rpc_ctx *meta,
			 int64_t circle, json_t *anns, struct buf *md);

/* GET /api/circles/{id}/export.md: what `scholia export --format
 * markdown` writes, as the caller may see it (their private notes too). */
static int h_export_md(struct rpc_ctx *ctx, struct http_resp *resp,
		       int64_t circle, const struct vis_viewer *v)
{
	struct buf md = BUF_INIT;
	json_t *anns = json_array();
	char *name = NULL;

	if (each_visible(ctx, circle, 0, v, true, copy_cb, anns)) {
		resp_error(resp, 500, "export failed");
		goto out;
	}
	name = export_circle_name(ctx, circle);
	buf_adds(&md, "# ");
	mdtext_inline(&md, name ? name : "Circle", 0);
	buf_adds(&md, ": annotations\n\n");
	cli_markdown(ctx, ctx, circle, anns, &md);
	send_md(ctx, resp, circle, 0, v, &md);
out:
	buf_free(&md);
	json_decref(anns);
	free(name);
	return 0;
}

/* GET /api/circles/{id}/... */
static int h_circles(struct rpc_ctx *ctx, const struct http_req *req,
		     struct http_resp *resp)
{
	const char *p = req->path + strlen(ROUTE_PREFIX);
	struct vis_viewer v;
	int64_t circle, one = 0;
	enum { ANNOTATIONS, ONE, DIGEST, EXPORT_MD } what;
	int rc;

	if (strncmp(req->path, ROUTE_PREFIX, strlen(ROUTE_PREFIX)) ||
	    parse_id(&p, &circle)) {
		resp_error(resp, 404, "not found");
		return 0;
	}
	if (!strncmp(p, "/annotations/", 13))
		return export_protocol(ctx, req, resp, circle, p + 13);
	if (strcmp(req->method, "GET")) {
		resp_error(resp, 404, "not found");
		return 0;
	}
	if (!strcmp(p, "/annotations")) {
		what = ANNOTATIONS;
	} else if (!strcmp(p, "/digest.md")) {
		what = DIGEST;
	} else if (!strcmp(p, "/export.md")) {
		what = EXPORT_MD;
	} else {
		resp_error(resp, 404, "not found");
		return 0;
	}
	if (rpc_account(ctx) == 0) {
		resp_error(resp, 401, "not authenticated");
		return 0;
	}
	rc = circles_gate(rpc_store(ctx), circle, rpc_account(ctx),
			  rpc_is_admin(ctx), &v);
	if (rc == SCH_ENOTFOUND) {
		resp_error(resp, 404, "no such circle");
		return 0;
	}
	if (rc) {
		resp_error(resp, 500, "database error");
		return 0;
	}
	if (what == DIGEST)
		return h_digest(ctx, req, resp, circle, &v);
	if (what == EXPORT_MD)
		return h_export_md(ctx, resp, circle, &v);
	return h_annotations(ctx, req, resp, circle, &v, one);
}

void export_init(void)
{
	static const char *const methods[] = {"GET",  "HEAD", "OPTIONS",
					      "POST", "PUT",  "DELETE"};

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		http_route_register(methods[i], ROUTE_PREFIX, h_circles);
}

/* ---- the command line ---- */

/* Groups annotations (reading order) by chapter and writes each section. */
static void cli_markdown(struct rpc_ctx *ctx, struct rpc_ctx *meta,
			 int64_t circle, json_t *anns, struct buf *md)
{
	json_t *entries = plan_entries(meta, circle);
	size_t i = 0, n = json_array_size(anns);

	while (i < n) {
		int64_t chapter = json_integer_value(
			json_object_get(json_array_get(anns, i), "chapter"));
		json_t *group = json_array(), *e = plan_entry(entries, chapter);
		char *title = chapter_title(ctx, chapter);

		for (; i < n; i++) {
			json_t *a = json_array_get(anns, i);

			if (json_integer_value(json_object_get(a, "chapter")) !=
			    chapter)
				break;
			json_array_append(group, a);
		}
		export_digest_chapter(
			md, title,
			json_string_value(json_object_get(e, "prompt")),
			json_string_value(json_object_get(e, "due")), group);
		json_decref(group);
		free(title);
	}
	json_decref(entries);
}

int export_cli(struct store *db, int64_t circle, const char *format,
	       const char *public_url, FILE *out, char *err, size_t errlen)
{
	struct rpc_ctx *ctx = NULL, *meta = NULL;
	struct vis_viewer v;
	struct buf md = BUF_INIT;
	json_t *anns = json_array(), *items = json_array(), *doc = NULL;
	char *base = NULL, *name = NULL;
	int64_t book;
	bool w3c;
	int rc;

	if (!format || (strcmp(format, "w3c") && strcmp(format, "markdown"))) {
		snprintf(err, errlen, "--format must be w3c or markdown");
		rc = SCH_EINVAL;
		goto out;
	}
	w3c = !strcmp(format, "w3c");
	rc = circles_book(db, circle, &book);
	if (rc) {
		snprintf(err, errlen, "no circle %lld", (long long)circle);
		goto out;
	}
	/* "any member": private never, hidden as placeholders */
	memset(&v, 0, sizeof(v));
	v.account = -1;
	v.circle = circle;
	v.role = VIS_ROLE_MEMBER;
	ctx = rpc_ctx_new_local(db, 0, false);
	/* names and the plan are read as a site admin who is no member (an
	 * account id no row has: rpc_is_admin needs a nonzero one) */
	meta = rpc_ctx_new_local(db, -1, true);
	rc = each_visible(ctx, circle, 0, &v, !w3c, copy_cb, anns);
	if (rc) {
		snprintf(err, errlen, "could not read the annotations");
		goto out;
	}
	name = export_circle_name(meta, circle);
	if (w3c) {
		struct w3c_walk w = {items, NULL, circle, 0};
		size_t i;
		json_t *a;
		char *s;

		base = export_base_url(public_url && *public_url
					       ? public_url
					       : "http://127.0.0.1:8080",
				       NULL, false);
		w.base = base;
		json_array_foreach(anns, i, a) w3c_cb(a, &w);
		doc = export_w3c_collection(items, base, circle, name,
					    EXPORT_PAGE_ALL);
		add_meetings(ctx, circle, &v, doc);
		s = json_dumps(doc, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		fputs(s, out);
		fputc('\n', out);
		free(s);
	} else {
		buf_adds(&md, "# ");
		mdtext_inline(&md, name ? name : "Circle", 0);
		buf_adds(&md, ": annotations\n\n");
		cli_markdown(ctx, meta, circle, anns, &md);
		{
			json_t *recs = meetings_records(ctx, circle, 0, &v);

			meetings_records_md(&md, recs);
			json_decref(recs);
		}
		fputs(buf_str(&md), out);
	}
	if (fflush(out)) {
		snprintf(err, errlen, "could not write the export");
		rc = SCH_EIO;
	}
out:
	if (ctx)
		rpc_ctx_free_local(ctx);
	if (meta)
		rpc_ctx_free_local(meta);
	buf_free(&md);
	json_decref(doc);
	json_decref(items);
	json_decref(anns);
	free(base);
	free(name);
	return rc;
}
