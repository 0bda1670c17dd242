/*
 * protocol.c - each circle as a W3C Web Annotation Protocol container
 * (https://www.w3.org/TR/annotation-protocol/, SPEC §2):
 *
 *   /api/circles/{id}/annotations/            GET HEAD OPTIONS POST
 *   /api/circles/{id}/annotations/?page=N[&iris=1]   its pages
 *   /api/circles/{id}/annotations/{aid}       a thread: GET HEAD OPTIONS
 *   /api/circles/{id}/annotations/r{rid}      a reply:  PUT DELETE
 *
 * Mapping (docs/protocol.md): a thread is an Annotation with motivation
 * "commenting" whose target is its chapter (source) with the SPEC's two
 * selectors, or the chapter's IRI for a chapter-level thread; a private
 * one carries "visibility": "private". A reply is an Annotation with
 * motivation "replying" whose target is the IRI of what it answers (the
 * thread, or the reply it responds to). The container lists threads in
 * reading order, each followed by its replies.
 *
 * Writes are the WebSocket methods themselves, called through
 * rpc_call_as() in this request's transaction: POST is annotation.create
 * or reply.create, PUT annotation.update or reply.update, DELETE
 * annotation.delete or reply.delete. So permissions, limits, mute, slow
 * mode, validation, events and notifications are theirs, and a refusal is
 * their JSON-RPC error mapped to an HTTP status. What the protocol adds
 * (canonical, via) is kept in w3c_links (migrations/0015_w3c_links.sql).
 *
 * A state-changing request that rides on the session cookie must come from
 * a trusted page (net/ sets origin_trusted); a bearer token needs no such
 * check. ETags are a hash of the exact representation sent, so a PUT or
 * DELETE with a stale If-Match is refused with 412 before anything runs.
 */
#include "export/export.h"

#include <stdlib.h>
#include <string.h>

#include "books/books.h"
#include "circles/circles.h"
#include "http/http.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "threads/threads.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/jsonx.h"

#define ROUTE_PREFIX "/api/circles/"
#define LDP_CONTEXT "http://www.w3.org/ns/ldp.jsonld"
#define CONSTRAINED_BY "http://www.w3.org/TR/annotation-protocol/"
#define LINK_CONTAINER                                                         \
	"<http://www.w3.org/ns/ldp#BasicContainer>; rel=\"type\", "            \
	"<" CONSTRAINED_BY ">; rel=\"http://www.w3.org/ns/ldp#constrainedBy\""
#define LINK_RESOURCE                                                          \
	"<http://www.w3.org/ns/ldp#Resource>; rel=\"type\", "                  \
	"<" CONSTRAINED_BY ">; rel=\"http://www.w3.org/ns/ldp#constrainedBy\""
#define LINK_CONSTRAINED                                                       \
	"<" CONSTRAINED_BY ">; rel=\"http://www.w3.org/ns/ldp#constrainedBy\""
#define ALLOW_CONTAINER "GET, HEAD, OPTIONS, POST"
#define ALLOW_ANNOTATION "GET, HEAD, OPTIONS, PUT, DELETE"
#define ALLOW_PAGE "GET, HEAD, OPTIONS"
#define ACCEPT_POST EXPORT_LD_TYPE ", application/ld+json, application/json"
#define PREFER_MINIMAL "http://www.w3.org/ns/ldp#PreferMinimalContainer"
#define PREFER_IRIS "http://www.w3.org/ns/oa#PreferContainedIRIs"
#define PREFER_DESCRIPTIONS                                                    \
	"http://www.w3.org/ns/oa#PreferContainedDescriptions"

enum { KIND_ANNOTATION = 0, KIND_REPLY = 1 };

static const char SQL_LINK_GET[] =
	"SELECT canonical, via FROM w3c_links WHERE kind = ? AND item = ?";
static const char SQL_LINK_PUT[] =
	"INSERT OR REPLACE INTO w3c_links(kind, item, canonical, via) "
	"VALUES (?, ?, ?, ?)";

/* One request's fixed facts. */
struct proto {
	struct rpc_ctx *ctx;
	const struct http_req *req;
	struct http_resp *resp;
	int64_t circle;
	char *base;	 /* IRI base, no trailing '/' */
	char *container; /* <base>/api/circles/{id}/annotations/ */
	char *chapters;	 /* <base>/#/read/{id}/ */
};

/* ---- responses ---- */

/* FNV-1a of the representation, as a strong ETag. */
static void etag_of(const char *s, size_t n, char out[24])
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	snprintf(out, 24, "\"%016llx\"", (unsigned long long)h);
}

/* Serialises doc (taken) as the response body; sets ETag. */
static void send_ld(struct proto *P, int status, json_t *doc)
{
	char *s = json_dumps(doc, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	char etag[24];

	etag_of(s, strlen(s), etag);
	http_resp_text(P->resp, status, EXPORT_LD_TYPE, s, strlen(s));
	http_resp_header(P->resp, "ETag", etag);
	free(s);
	json_decref(doc);
}

/*
 * An error: JSON-LD naming the constraint that was not met (a short name
 * and the protocol as ldp:constrainedBy), with the JSON-RPC error of the
 * method that refused when there was one (rpc_err taken, may be NULL).
 */
static void send_error(struct proto *P, int status, const char *constraint,
		       const char *message, json_t *rpc_err)
{
	json_t *doc = json_pack("{s:{s:{s:s,s:s},s:s,s:s},s:s,s:s,s:s}",
				"@context", "constrainedBy", "@id",
				"http://www.w3.org/ns/ldp#constrainedBy",
				"@type", "@id", "constraint",
				"https://scholia.invalid/ns#constraint",
				"message", "https://scholia.invalid/ns#message",
				"constrainedBy", CONSTRAINED_BY, "constraint",
				constraint, "message", message);
	char *s;

	if (rpc_err)
		json_object_set_new(doc, "error", rpc_err);
	s = json_dumps(doc, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	http_resp_text(P->resp, status, "application/ld+json", s, strlen(s));
	http_resp_header(P->resp, "Link", LINK_CONSTRAINED);
	free(s);
	json_decref(doc);
}

/* A method's JSON-RPC error code as an HTTP status and the constraint it
 * names; any other code is 500 "internal". */
static const struct {
	int code, status;
	const char *constraint;
} RPC_TO_HTTP[] = {
	{RPC_E_INVALID_PARAMS, 400, "valid-annotation"},
	{RPC_E_UNAUTHENTICATED, 401, "authenticated"},
	{RPC_E_FORBIDDEN, 403, "permitted"},
	{RPC_E_NOT_FOUND, 404, "exists"},
	{RPC_E_CONFLICT, 409, "current"},
	{RPC_E_LOCKED, 403, "not-locked"},
	{RPC_E_TOO_LARGE, 413, "within-limits"},
	{RPC_E_RATE_LIMITED, 429, "within-rate"},
};

/* A method's JSON-RPC error (taken) as an HTTP answer. */
static void send_rpc_error(struct proto *P, json_t *err)
{
	int code = (int)json_integer_value(json_object_get(err, "code"));
	const char *msg = json_string_value(json_object_get(err, "message"));
	json_t *retry =
		json_object_get(json_object_get(err, "data"), "retry_after_ms");
	int status = 500;
	const char *c = "internal";

	for (size_t i = 0; i < sizeof(RPC_TO_HTTP) / sizeof(RPC_TO_HTTP[0]);
	     i++)
		if (RPC_TO_HTTP[i].code == code) {
			status = RPC_TO_HTTP[i].status;
			c = RPC_TO_HTTP[i].constraint;
			break;
		}
	if (json_is_integer(retry)) {
		char v[32];

		snprintf(v, sizeof(v), "%lld",
			 (long long)(json_integer_value(retry) + 999) / 1000);
		http_resp_header(P->resp, "Retry-After", v);
	}
	send_error(P, status, c, msg ? msg : "refused", err);
}

static void common_headers(struct proto *P, bool container, bool page)
{
	http_resp_header(P->resp, "Link",
			 container ? LINK_CONTAINER
			 : page	   ? LINK_CONSTRAINED
				   : LINK_RESOURCE);
	http_resp_header(P->resp, "Allow",
			 container ? ALLOW_CONTAINER
			 : page	   ? ALLOW_PAGE
				   : ALLOW_ANNOTATION);
	http_resp_header(P->resp, "Vary", "Accept, Prefer");
	if (container)
		http_resp_header(P->resp, "Accept-Post", ACCEPT_POST);
}

/* ---- representations ---- */

static json_t *iri_of(const struct proto *P, int kind, int64_t id)
{
	return json_sprintf("%s%s%lld", P->container,
			    kind == KIND_REPLY ? "r" : "", (long long)id);
}

/* Adds canonical and via from w3c_links. */
static void add_links(const struct proto *P, json_t *o, int kind, int64_t id)
{
	struct store_stmt *st = store_query(rpc_store(P->ctx), SQL_LINK_GET,
					    "ii", (int64_t)kind, id);

	if (st && store_row(st) > 0) {
		const char *canonical = store_text(st, 0);
		const char *via = store_text(st, 1);

		if (canonical)
			json_object_set_new(o, "canonical",
					    json_string(canonical));
		if (via) {
			json_t *v = json_loads(via, JSON_DECODE_ANY, NULL);

			if (v)
				json_object_set_new(o, "via", v);
		}
	}
	store_done(st);
}

/* A thread (SPEC object) as a W3C Annotation with @context; NULL for a
 * tombstone. */
static json_t *w3c_thread(const struct proto *P, const json_t *ann)
{
	json_t *o = export_w3c_annotation(ann, P->base, P->circle, true);
	const char *vis;

	if (!o)
		return NULL;
	vis = json_string_value(json_object_get(ann, "visibility"));
	if (vis && !strcmp(vis, "private"))
		json_object_set_new(o, "visibility", json_string("private"));
	add_links(P, o, KIND_ANNOTATION,
		  json_integer_value(json_object_get(ann, "id")));
	return o;
}

/* A reply (SPEC object) as an Annotation motivated by "replying". */
static json_t *w3c_reply(const struct proto *P, json_t *r)
{
	int64_t id = json_integer_value(json_object_get(r, "id"));
	int64_t parent = json_integer_value(json_object_get(r, "parent"));
	int64_t thread = json_integer_value(json_object_get(r, "annotation"));
	json_t *o, *author = json_object_get(r, "author");
	const char *value = json_string_value(json_object_get(r, "body"));

	if (json_is_true(json_object_get(r, "deleted")))
		return NULL;
	o = json_pack("{s:s,s:o,s:s,s:s}", "@context", EXPORT_ANNO_CONTEXT,
		      "id", iri_of(P, KIND_REPLY, id), "type", "Annotation",
		      "motivation", "replying");
	if (json_is_object(author)) {
		json_t *c = json_pack("{s:s}", "type", "Person");

		jsonx_copy_str(c, "name", author, "display_name");
		jsonx_copy_str(c, "nickname", author, "handle");
		json_object_set_new(o, "creator", c);
	}
	jsonx_copy_str(o, "created", r, "created_at");
	jsonx_copy_str(o, "modified", r, "updated_at");
	json_object_set_new(
		o, "body",
		value ? json_pack("{s:s,s:s,s:s}", "type", "TextualBody",
				  "value", value, "format", "text/markdown")
		      : json_pack("{s:s,s:s,s:s}", "type", "TextualBody",
				  "value", "(hidden by a moderator)", "format",
				  "text/plain"));
	json_object_set_new(o, "target",
			    parent ? iri_of(P, KIND_REPLY, parent)
				   : iri_of(P, KIND_ANNOTATION, thread));
	add_links(P, o, KIND_REPLY, id);
	return o;
}

/* Everything the viewer may see, in order: W3C objects. */
struct walk {
	const struct proto *P;
	json_t *items;
};

static int walk_cb(json_t *ann, void *arg)
{
	struct walk *w = arg;
	json_t *o = w3c_thread(w->P, ann), *r;
	size_t i;

	if (o)
		json_array_append_new(w->items, o);
	json_array_foreach(json_object_get(ann, "replies"), i, r)
	{
		o = w3c_reply(w->P, r);
		if (o)
			json_array_append_new(w->items, o);
	}
	return 0;
}

/* ---- the container and its pages ---- */

struct prefer {
	bool minimal, iris, applied;
};

static void parse_prefer(const char *h, struct prefer *p)
{
	memset(p, 0, sizeof(*p));
	if (!h || !strstr(h, "return=representation"))
		return;
	p->applied = true;
	p->minimal = strstr(h, PREFER_MINIMAL) != NULL;
	p->iris = strstr(h, PREFER_IRIS) != NULL &&
		  strstr(h, PREFER_DESCRIPTIONS) == NULL;
}

/* query "a=1&b=2": the value of key as a non-negative integer, or -1. */
static long long query_num(const char *q, const char *key)
{
	size_t k = strlen(key);

	for (const char *p = q ? q : ""; *p;) {
		const char *amp = strchr(p, '&');
		size_t n = amp ? (size_t)(amp - p) : strlen(p);

		if (n > k && !strncmp(p, key, k) && p[k] == '=') {
			long long v = 0;
			size_t i = k + 1;

			if (i == n)
				return -2;
			for (; i < n; i++) {
				if (p[i] < '0' || p[i] > '9' || v > 100000000)
					return -2;
				v = v * 10 + (p[i] - '0');
			}
			return v;
		}
		p += n;
		if (*p == '&')
			p++;
	}
	return -1;
}

/* The container's IRI, with "?iris=1" when the pages list IRIs only. */
static char *coll_iri(const struct proto *P, bool iris)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "%s%s", P->container, iris ? "?iris=1" : "");
	return buf_detach(&b, NULL);
}

static json_t *page_iri(const struct proto *P, bool iris, long long n)
{
	char *coll = coll_iri(P, iris);
	json_t *iri = export_w3c_page_iri(coll, n);

	free(coll);
	return iri;
}

/* Page n (1-based) of items (their IRIs only when iris); standalone pages
 * carry @context and partOf. */
static json_t *make_page(const struct proto *P, json_t *items, bool iris,
			 long long n, long long npages, bool standalone,
			 const char *label)
{
	char *coll = coll_iri(P, iris);
	json_t *list = items, *it, *pg;
	size_t i;

	if (iris) {
		list = json_array();
		json_array_foreach(items, i, it)
			json_array_append(list, json_object_get(it, "id"));
	}
	pg = export_w3c_page(list, coll, label, n, npages, standalone);
	if (iris)
		json_decref(list);
	free(coll);
	return pg;
}

static int get_container(struct proto *P, const struct vis_viewer *v)
{
	struct walk w = {P, json_array()};
	struct prefer pf;
	long long page = query_num(P->req->query, "page");
	long long iris = query_num(P->req->query, "iris");
	long long npages;
	char *label = NULL;
	json_t *doc;
	size_t total;

	if (page == -2 || iris == -2 || iris > 1 || page == 0) {
		send_error(P, 400, "page-exists",
			   "page and iris must be positive integers", NULL);
		goto out;
	}
	if (threads_each_visible(P->ctx, P->circle, 0, v, true, walk_cb, &w)) {
		send_error(P, 500, "internal", "listing failed", NULL);
		goto out;
	}
	total = json_array_size(w.items);
	npages = (long long)((total + EXPORT_PAGE_SIZE - 1) / EXPORT_PAGE_SIZE);
	label = export_circle_name(P->ctx, P->circle);
	if (page > 0) {
		if (page > npages) {
			send_error(P, 404, "page-exists", "no such page", NULL);
			goto out;
		}
		doc = make_page(P, w.items, iris == 1, page, npages, true,
				label);
		common_headers(P, false, true);
		http_resp_header(P->resp, "Content-Location",
				 json_string_value(json_object_get(doc, "id")));
		send_ld(P, 200, doc);
		goto out;
	}
	parse_prefer(P->req->prefer, &pf);
	if (iris == 1)
		pf.iris = true;
	doc = json_pack("{s:[s,s],s:s,s:[s,s]}", "@context",
			EXPORT_ANNO_CONTEXT, LDP_CONTEXT, "id", P->container,
			"type", "BasicContainer", "AnnotationCollection");
	if (label)
		json_object_set_new(doc, "label", json_string(label));
	json_object_set_new(doc, "total", json_integer((json_int_t)total));
	if (total) {
		json_object_set_new(doc, "first",
				    pf.minimal
					    ? page_iri(P, pf.iris, 1)
					    : make_page(P, w.items, pf.iris, 1,
							npages, false, NULL));
		json_object_set_new(doc, "last", page_iri(P, pf.iris, npages));
	}
	common_headers(P, true, false);
	http_resp_header(P->resp, "Content-Location", P->container);
	if (pf.applied)
		http_resp_header(P->resp, "Preference-Applied",
				 "return=representation");
	send_ld(P, 200, doc);
out:
	free(label);
	json_decref(w.items);
	return 0;
}

/* ---- one annotation or reply ---- */

/*
 * Loads what {kind, id} names as the caller may see it (the SPEC object of
 * annotation.get, or the reply inside it) and its W3C representation.
 * 0, or a response was sent (404) and nonzero returned.
 */
static int load_one(struct proto *P, int kind, int64_t id, json_t **spec,
		    json_t **w3c)
{
	struct threads_target t;
	json_t *ann = NULL, *r;
	int64_t thread = id;
	size_t i;

	*spec = *w3c = NULL;
	if (kind == KIND_REPLY) {
		if (threads_target_get(rpc_store(P->ctx), 1, id, &t))
			goto none;
		thread = t.annotation;
	}
	if (threads_annotation_get(P->ctx, thread, &ann) ||
	    json_integer_value(json_object_get(ann, "circle")) != P->circle)
		goto none;
	if (kind == KIND_ANNOTATION) {
		*w3c = w3c_thread(P, ann);
		if (!*w3c)
			goto none;
		*spec = ann;
		return 0;
	}
	json_array_foreach(json_object_get(ann, "replies"), i, r)
	{
		if (json_integer_value(json_object_get(r, "id")) != id)
			continue;
		json_object_set_new(r, "annotation", json_integer(thread));
		*w3c = w3c_reply(P, r);
		if (!*w3c)
			break;
		*spec = json_incref(r);
		json_decref(ann);
		return 0;
	}
none:
	json_decref(ann);
	send_error(P, 404, "exists", "no such annotation", NULL);
	return SCH_ENOTFOUND;
}

/* The ETag the representation of w3c has (as send_ld computes it). */
static void etag_json(json_t *w3c, char out[24])
{
	char *s = json_dumps(w3c, JSON_INDENT(2) | JSON_ENSURE_ASCII);

	etag_of(s, strlen(s), out);
	free(s);
}

/* If-Match: absent or "*" passes; otherwise one of its tags must be ours. */
static bool if_match_ok(const struct proto *P, json_t *w3c)
{
	const char *h = P->req->if_match;
	char etag[24];

	if (!h || !*h || !strcmp(h, "*"))
		return true;
	etag_json(w3c, etag);
	return strstr(h, etag) != NULL;
}

/* ---- reading a client's annotation ---- */

/* What a target names. */
struct ptarget {
	int kind;	/* 0 chapter, 1 thread, 2 reply */
	int64_t id;	/* chapter, annotation or reply */
	json_t *target; /* SPEC target for kind 0 (NULL: chapter-level) */
};

/* Classifies an IRI: our chapter, or an item of this container. */
static int classify(const struct proto *P, const char *iri, struct ptarget *out)
{
	size_t cl = strlen(P->chapters), nl = strlen(P->container);
	const char *p;
	char *end;
	long long v;

	if (!iri)
		return SCH_EINVAL;
	if (!strncmp(iri, P->chapters, cl)) {
		p = iri + cl;
		out->kind = 0;
	} else if (!strncmp(iri, P->container, nl)) {
		p = iri + nl;
		out->kind = 1;
		if (*p == 'r') {
			out->kind = 2;
			p++;
		}
	} else {
		return SCH_EINVAL;
	}
	if (*p < '1' || *p > '9')
		return SCH_EINVAL;
	v = strtoll(p, &end, 10);
	if (*end || v <= 0)
		return SCH_EINVAL;
	out->id = v;
	return 0;
}

/* The chapter is in the circle's book. */
static bool chapter_in_book(const struct proto *P, int64_t chapter)
{
	struct books_chapter_info ci;
	int64_t book = 0;

	return !circles_book(rpc_store(P->ctx), P->circle, &book) &&
	       !books_chapter_info(rpc_store(P->ctx), chapter, &ci) &&
	       ci.book == book;
}

/* The SPEC target for a chapter's [start, end). */
static json_t *position_target(const struct proto *P, int64_t chapter,
			       int64_t start, int64_t end, const char *prefix,
			       const char *suffix)
{
	char *text = NULL, *exact;
	size_t len, a, b;
	json_t *t;

	if (books_chapter_text(rpc_store(P->ctx), chapter, &text, &len))
		return NULL;
	a = 0;
	for (int64_t k = 0; a < len && k < start; k++)
		for (a++; a < len && ((unsigned char)text[a] & 0xc0) == 0x80;)
			a++;
	b = a;
	for (int64_t k = start; b < len && k < end; k++)
		for (b++; b < len && ((unsigned char)text[b] & 0xc0) == 0x80;)
			b++;
	if (b <= a) {
		free(text);
		return NULL;
	}
	exact = xstrndup(text + a, b - a);
	t = json_pack("{s:[{s:s,s:s,s:s,s:s},{s:s,s:I,s:I}]}", "selector",
		      "type", "TextQuoteSelector", "exact", exact, "prefix",
		      prefix ? prefix : "", "suffix", suffix ? suffix : "",
		      "type", "TextPositionSelector", "start",
		      (json_int_t)start, "end", (json_int_t)end);
	free(exact);
	free(text);
	return t;
}

/*
 * Reads a W3C target into *out: an IRI (ours), {id}, {source, selector}
 * or a one-element array of these. 0, or an error response was sent.
 */
static int parse_target(struct proto *P, json_t *t, struct ptarget *out)
{
	json_t *sel, *s, *tq = NULL, *tp = NULL;
	const char *iri;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (json_is_array(t) && json_array_size(t) == 1)
		t = json_array_get(t, 0);
	if (json_is_string(t))
		iri = json_string_value(t);
	else if (json_is_object(t) && json_object_get(t, "source"))
		iri = json_string_value(json_object_get(t, "source"));
	else if (json_is_object(t))
		iri = json_string_value(json_object_get(t, "id"));
	else
		iri = NULL;
	if (!t || classify(P, iri, out) ||
	    (out->kind == 0 && !chapter_in_book(P, out->id))) {
		send_error(P, 400, "target-in-circle-book",
			   "the target must be a chapter of the circle's book "
			   "(or, for a reply, an annotation of this "
			   "container)",
			   NULL);
		return SCH_EINVAL;
	}
	if (out->kind != 0 || !json_is_object(t))
		return 0;
	sel = jsonx_as_array(json_object_get(t, "selector"));
	json_array_foreach(sel, i, s)
	{
		const char *type =
			json_string_value(json_object_get(s, "type"));

		if (type && !strcmp(type, "TextQuoteSelector") && !tq)
			tq = s;
		else if (type && !strcmp(type, "TextPositionSelector") && !tp)
			tp = s;
	}
	if (json_array_size(sel) && !tq && !tp) {
		json_decref(sel);
		send_error(P, 400, "selector-supported",
			   "selectors: TextQuoteSelector and/or "
			   "TextPositionSelector",
			   NULL);
		return SCH_EINVAL;
	}
	if (tq && tp) {
		out->target = json_pack("{s:[O,O]}", "selector", tq, tp);
	} else if (tp) {
		json_t *a = json_object_get(tp, "start");
		json_t *b = json_object_get(tp, "end");

		if (json_is_integer(a) && json_is_integer(b))
			out->target = position_target(
				P, out->id, json_integer_value(a),
				json_integer_value(b), NULL, NULL);
		if (!out->target) {
			json_decref(sel);
			send_error(P, 400, "target-in-circle-book",
				   "the position is not in the chapter", NULL);
			return SCH_EINVAL;
		}
	} else if (tq) {
		/* a quote alone: the server anchors it, never on a guess */
		const char *exact =
			json_string_value(json_object_get(tq, "exact"));
		struct books_finder *f =
			books_finder_new(rpc_store(P->ctx), 0, out->id);
		struct books_found found = {BOOKS_FIND_NOT_FOUND, 0, 0, 0};

		if (f && exact)
			books_finder_find(f, exact,
					  json_string_value(json_object_get(
						  tq, "prefix")),
					  json_string_value(json_object_get(
						  tq, "suffix")),
					  &found);
		books_finder_free(f);
		if (found.status == BOOKS_FIND_PLACED)
			out->target = position_target(P, out->id, found.start,
						      found.end, NULL, NULL);
		if (!out->target) {
			json_decref(sel);
			send_error(P, 400,
				   found.status == BOOKS_FIND_AMBIGUOUS
					   ? "quote-unambiguous"
					   : "quote-in-chapter",
				   found.status == BOOKS_FIND_AMBIGUOUS
					   ? "the quote occurs more than once "
					     "in the chapter; add prefix, "
					     "suffix or a TextPositionSelector"
					   : "the quote is not in the chapter",
				   NULL);
			return SCH_EINVAL;
		}
	}
	json_decref(sel);
	return 0;
}

/* Backslash-escapes Markdown's punctuation so text/plain shows as typed. */
static char *plain_to_markdown(const char *s)
{
	struct buf b = BUF_INIT;

	for (; *s; s++) {
		if (strchr("\\`*_{}[]()<>#+-.!|~", *s))
			buf_add(&b, "\\", 1);
		buf_add(&b, s, 1);
	}
	return buf_detach(&b, NULL);
}

/* The Markdown body of a client's annotation (caller frees), or an error
 * response was sent and NULL returned. */
static char *parse_body(struct proto *P, json_t *a)
{
	json_t *b = json_object_get(a, "body");
	const char *value = NULL, *format = NULL;

	if (json_is_string(json_object_get(a, "bodyValue"))) {
		value = json_string_value(json_object_get(a, "bodyValue"));
		format = "text/plain";
	} else {
		if (json_is_array(b) && json_array_size(b) == 1)
			b = json_array_get(b, 0);
		if (json_is_object(b)) {
			const char *type =
				json_string_value(json_object_get(b, "type"));

			if (!type || !strcmp(type, "TextualBody")) {
				value = json_string_value(
					json_object_get(b, "value"));
				format = json_string_value(
					json_object_get(b, "format"));
			}
		}
	}
	if (!value) {
		send_error(P, 400, "body-textual",
			   "the body must be one TextualBody with a value",
			   NULL);
		return NULL;
	}
	if (!format || !strcmp(format, "text/markdown"))
		return xstrdup(value);
	if (!strcmp(format, "text/plain"))
		return plain_to_markdown(value);
	send_error(P, 400, "body-format",
		   "the body's format must be text/markdown or text/plain",
		   NULL);
	return NULL;
}

/* Parses the request body as a JSON object (new reference), or sends
 * 415/400 and returns NULL. */
static json_t *read_annotation(struct proto *P)
{
	const char *ct = P->req->content_type;
	json_error_t jerr;
	json_t *a, *type;

	if (!ct || (strncmp(ct, "application/ld+json", 19) &&
		    strncmp(ct, "application/json", 16))) {
		send_error(P, 415, "media-type",
			   "send application/ld+json (or application/json)",
			   NULL);
		return NULL;
	}
	a = json_loadb(P->req->body, P->req->body_len, JSON_REJECT_DUPLICATES,
		       &jerr);
	type = json_object_get(a, "type");
	if (!json_is_object(a) ||
	    (type &&
	     !(json_is_string(type) &&
	       !strcmp(json_string_value(type), "Annotation")) &&
	     !(json_is_array(type) && json_array_size(type) == 1 &&
	       json_is_string(json_array_get(type, 0)) &&
	       !strcmp(json_string_value(json_array_get(type, 0)),
		       "Annotation")))) {
		json_decref(a);
		send_error(P, 400, "valid-annotation",
			   "the request body must be a W3C Annotation", NULL);
		return NULL;
	}
	return a;
}

/* Keeps the client's canonical and via. 0 or a store error. */
static int save_links(struct proto *P, int kind, int64_t id, json_t *a,
		      bool replace)
{
	json_t *c = json_object_get(a, "canonical"),
	       *via = json_object_get(a, "via");
	char *vs = NULL;
	int rc;

	if (!json_is_string(c) && !via && !replace)
		return 0;
	if (via && (json_is_string(via) || json_is_array(via)))
		vs = json_dumps(via, JSON_COMPACT | JSON_ENCODE_ANY);
	rc = store_run(rpc_store(P->ctx), SQL_LINK_PUT, "iitt", (int64_t)kind,
		       id, json_string_value(c), vs);
	free(vs);
	return rc;
}

static bool is_replying(json_t *a)
{
	json_t *m = json_object_get(a, "motivation");

	if (json_is_array(m) && json_array_size(m) == 1)
		m = json_array_get(m, 0);
	return json_is_string(m) && !strcmp(json_string_value(m), "replying");
}

/* Refuses writes that ride on the cookie from an untrusted page. */
static bool csrf_ok(struct proto *P)
{
	if (!P->req->by_cookie || P->req->origin_trusted)
		return true;
	send_error(P, 403, "same-origin",
		   "a cookie-authenticated write must come from this site",
		   NULL);
	return false;
}

/* Sends the created or updated item with its headers. */
static int send_item(struct proto *P, int status, int kind, int64_t id)
{
	json_t *spec, *w3c;

	if (load_one(P, kind, id, &spec, &w3c))
		return 0;
	common_headers(P, false, false);
	if (status == 201)
		http_resp_header(P->resp, "Location",
				 json_string_value(json_object_get(w3c, "id")));
	http_resp_header(P->resp, "Content-Location",
			 json_string_value(json_object_get(w3c, "id")));
	send_ld(P, status, w3c);
	json_decref(spec);
	return 0;
}

/*
 * Runs method as the caller (rpc_call_as; params taken). 0 with *result,
 * or its error was sent and RPC_ERR returned.
 */
static int call_as(struct proto *P, const char *method, json_t *params,
		   json_t **result)
{
	json_t *err = NULL;

	if (!rpc_call_as(P->ctx, method, params, result, &err))
		return 0;
	send_rpc_error(P, err);
	return RPC_ERR;
}

/* After a write: keeps a's links and sends the item with status. */
static int write_done(struct proto *P, int status, int kind, int64_t id,
		      json_t *a)
{
	if (save_links(P, kind, id, a, status != 201)) {
		send_error(P, 500, "internal", "could not save", NULL);
		return RPC_ERR;
	}
	return send_item(P, status, kind, id);
}

/*
 * Before a PUT or DELETE: the request may write, {kind, id} exists as the
 * caller sees it (*spec, *w3c, NULL when not) and If-Match holds. false
 * when a response was sent instead.
 */
static bool load_current(struct proto *P, int kind, int64_t id, json_t **spec,
			 json_t **w3c)
{
	*spec = *w3c = NULL;
	if (!csrf_ok(P) || load_one(P, kind, id, spec, w3c))
		return false;
	if (!if_match_ok(P, *w3c)) {
		send_error(P, 412, "current",
			   "the annotation changed since that ETag", NULL);
		return false;
	}
	return true;
}

static int post(struct proto *P)
{
	json_t *a = NULL, *params, *result = NULL;
	struct ptarget t = {0};
	const char *vis;
	char *body = NULL;
	int kind, rc = 0;
	int64_t id;

	if (!csrf_ok(P))
		return 0;
	a = read_annotation(P);
	if (!a)
		return 0;
	body = parse_body(P, a);
	if (!body || parse_target(P, json_object_get(a, "target"), &t))
		goto out;
	vis = json_string_value(json_object_get(a, "visibility"));
	if (vis && strcmp(vis, "private") && strcmp(vis, "circle")) {
		send_error(P, 400, "visibility",
			   "visibility is \"private\" or \"circle\"", NULL);
		goto out;
	}
	if (is_replying(a) != (t.kind != 0)) {
		send_error(P, 400, "target-in-circle-book",
			   is_replying(a)
				   ? "a reply targets an annotation of this "
				     "container"
				   : "an annotation that targets an annotation "
				     "has the motivation \"replying\"",
			   NULL);
		goto out;
	}
	if (t.kind == 0) {
		params = json_pack("{s:I,s:I,s:O,s:s,s:s}", "circle",
				   (json_int_t)P->circle, "chapter",
				   (json_int_t)t.id, "target",
				   t.target ? t.target : json_null(), "body",
				   body, "visibility", vis ? vis : "circle");
		kind = KIND_ANNOTATION;
		rc = call_as(P, "annotation.create", params, &result);
	} else {
		int64_t thread = t.id;
		struct threads_target tt;

		if (vis && !strcmp(vis, "private")) {
			send_error(P, 400, "visibility",
				   "replies cannot be private", NULL);
			goto out;
		}
		if (t.kind == 2) {
			if (threads_target_get(rpc_store(P->ctx), 1, t.id,
					       &tt) ||
			    tt.circle != P->circle) {
				send_error(P, 400, "target-in-circle-book",
					   "no such reply in this container",
					   NULL);
				goto out;
			}
			thread = tt.annotation;
		}
		params = json_pack("{s:I,s:s}", "annotation",
				   (json_int_t)thread, "body", body);
		if (t.kind == 2)
			json_object_set_new(params, "parent",
					    json_integer(t.id));
		kind = KIND_REPLY;
		rc = call_as(P, "reply.create", params, &result);
	}
	if (rc)
		goto out;
	id = json_integer_value(json_object_get(result, "id"));
	rc = write_done(P, 201, kind, id, a);
out:
	json_decref(a);
	json_decref(t.target);
	json_decref(result);
	free(body);
	return rc;
}

/* The SPEC target's (exact, start, end) equal? */
static bool same_target(json_t *a, json_t *b)
{
	json_t *sa = json_object_get(a, "selector"),
	       *sb = json_object_get(b, "selector");

	if (!json_is_object(a) || !json_is_object(b))
		return json_is_null(a) == json_is_null(b) &&
		       (!json_is_object(a) && !json_is_object(b));
	return json_equal(json_object_get(json_array_get(sa, 0), "exact"),
			  json_object_get(json_array_get(sb, 0), "exact")) &&
	       json_equal(json_object_get(json_array_get(sa, 1), "start"),
			  json_object_get(json_array_get(sb, 1), "start")) &&
	       json_equal(json_object_get(json_array_get(sa, 1), "end"),
			  json_object_get(json_array_get(sb, 1), "end"));
}

static int put(struct proto *P, int kind, int64_t id)
{
	json_t *a = NULL, *spec = NULL, *w3c = NULL, *params, *result = NULL;
	struct ptarget t = {0};
	const char *vis;
	char *body = NULL;
	int rc = 0;
	bool same;

	if (!load_current(P, kind, id, &spec, &w3c))
		goto out;
	a = read_annotation(P);
	if (!a)
		goto out;
	body = parse_body(P, a);
	if (!body || parse_target(P, json_object_get(a, "target"), &t))
		goto out;
	if (kind == KIND_ANNOTATION)
		same = t.kind == 0 &&
		       t.id == json_integer_value(
				       json_object_get(spec, "chapter")) &&
		       same_target(t.target ? t.target : json_null(),
				   json_object_get(spec, "target"));
	else
		same = json_equal(json_object_get(w3c, "target"),
				  json_object_get(a, "target")) ||
		       (json_is_array(json_object_get(a, "target")) &&
			json_equal(json_object_get(w3c, "target"),
				   json_array_get(json_object_get(a, "target"),
						  0)));
	if (!same) {
		send_error(P, 400, "target-unchanged",
			   "an annotation's target cannot be changed; create "
			   "a new annotation instead",
			   NULL);
		goto out;
	}
	vis = json_string_value(json_object_get(a, "visibility"));
	if (kind == KIND_ANNOTATION) {
		params = json_pack("{s:I,s:s}", "annotation", (json_int_t)id,
				   "body", body);
		if (vis && !strcmp(vis, "circle"))
			json_object_set_new(params, "visibility",
					    json_string("circle"));
		else if (vis && strcmp(vis, "private")) {
			json_decref(params);
			send_error(P, 400, "visibility",
				   "visibility is \"private\" or \"circle\"",
				   NULL);
			goto out;
		} else if (vis &&
			   !json_equal(json_object_get(spec, "visibility"),
				       json_object_get(a, "visibility"))) {
			json_decref(params);
			send_error(P, 400, "visibility",
				   "a circle annotation cannot become private",
				   NULL);
			goto out;
		}
		rc = call_as(P, "annotation.update", params, &result);
	} else {
		params = json_pack("{s:I,s:s}", "reply", (json_int_t)id, "body",
				   body);
		rc = call_as(P, "reply.update", params, &result);
	}
	if (!rc)
		rc = write_done(P, 200, kind, id, a);
out:
	json_decref(a);
	json_decref(spec);
	json_decref(w3c);
	json_decref(t.target);
	json_decref(result);
	free(body);
	return rc;
}

static int del(struct proto *P, int kind, int64_t id)
{
	json_t *spec = NULL, *w3c = NULL, *result = NULL;
	const char *key = kind == KIND_ANNOTATION ? "annotation" : "reply";
	int rc = 0;

	if (!load_current(P, kind, id, &spec, &w3c))
		goto out;
	rc = call_as(P,
		     kind == KIND_ANNOTATION ? "annotation.delete"
					     : "reply.delete",
		     json_pack("{s:I}", key, (json_int_t)id), &result);
	if (rc)
		goto out;
	http_resp_text(P->resp, 204, EXPORT_LD_TYPE, "", 0);
	common_headers(P, false, false);
out:
	json_decref(spec);
	json_decref(w3c);
	json_decref(result);
	return rc;
}

static int get_one(struct proto *P, int kind, int64_t id)
{
	json_t *spec, *w3c;

	if (load_one(P, kind, id, &spec, &w3c))
		return 0;
	common_headers(P, false, false);
	http_resp_header(P->resp, "Content-Location",
			 json_string_value(json_object_get(w3c, "id")));
	send_ld(P, 200, w3c);
	json_decref(spec);
	return 0;
}

/* ---- routing ---- */

int export_protocol(struct rpc_ctx *ctx, const struct http_req *req,
		    struct http_resp *resp, int64_t circle, const char *rest)
{
	struct proto P = {ctx, req, resp, circle, NULL, NULL, NULL};
	const char *m = req->method;
	struct vis_viewer v;
	int kind = -1, rc = 0;
	int64_t id = 0;

	P.base = export_base_url(req->public_url, req->host, req->tls);
	{
		struct buf b = BUF_INIT;

		buf_addf(&b, "%s/api/circles/%lld/annotations/", P.base,
			 (long long)circle);
		P.container = buf_detach(&b, NULL);
		buf_addf(&b, "%s/#/read/%lld/", P.base, (long long)circle);
		P.chapters = buf_detach(&b, NULL);
	}
	if (*rest) {
		const char *p = rest;
		char *end;
		long long n;

		kind = KIND_ANNOTATION;
		if (*p == 'r') {
			kind = KIND_REPLY;
			p++;
		}
		n = (*p >= '1' && *p <= '9') ? strtoll(p, &end, 10) : 0;
		if (n <= 0 || *end) {
			send_error(&P, 404, "exists", "not found", NULL);
			goto out;
		}
		id = n;
	}
	if (!strcmp(m, "OPTIONS")) {
		/* what may be done here; needs no account and says nothing
		 * about whether the circle exists */
		common_headers(&P, kind < 0, false);
		http_resp_text(resp, 200, "text/plain", "", 0);
		goto out;
	}
	if (rpc_account(ctx) == 0) {
		http_resp_header(resp, "WWW-Authenticate", "Bearer");
		send_error(&P, 401, "authenticated", "not authenticated", NULL);
		goto out;
	}
	if (circles_viewer(rpc_store(ctx), circle, rpc_account(ctx),
			   rpc_is_admin(ctx), &v) ||
	    (v.role == VIS_ROLE_NONE && !v.is_admin)) {
		send_error(&P, 404, "exists", "no such circle", NULL);
		goto out;
	}
	if (kind < 0) {
		if (!strcmp(m, "GET") || !strcmp(m, "HEAD"))
			rc = get_container(&P, &v);
		else if (!strcmp(m, "POST"))
			rc = post(&P);
		else {
			http_resp_header(resp, "Allow", ALLOW_CONTAINER);
			send_error(&P, 405, "method", "method not allowed",
				   NULL);
		}
	} else if (!strcmp(m, "GET") || !strcmp(m, "HEAD")) {
		rc = get_one(&P, kind, id);
	} else if (!strcmp(m, "PUT")) {
		rc = put(&P, kind, id);
	} else if (!strcmp(m, "DELETE")) {
		rc = del(&P, kind, id);
	} else {
		http_resp_header(resp, "Allow", ALLOW_ANNOTATION);
		send_error(&P, 405, "method", "method not allowed", NULL);
	}
out:
	free(P.base);
	free(P.container);
	free(P.chapters);
	return rc;
}
