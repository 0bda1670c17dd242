/*
 * methods.c - the RPC methods of threads: annotation.*, reply.*,
 * reaction.toggle, chapter.follow, anchor.review and anchor.resolve.
 *
 * Each handler follows the same order: parameters (rpc_param_*), then the
 * caller's viewer state in the circle (circles_viewer) and the permission
 * table of SPEC §4 - anything the caller may not see answers -32004, the
 * same as an id that does not exist, so another circle's ids reveal
 * nothing - then the moderation gate for posts, then the SQL, then the
 * event (rpc_publish, stored with its seq in this call's savepoint), the
 * search index and notifications.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "books/books.h"
#include "bus/bus.h"
#include "circles/circles.h"
#include "events/events.h"
#include "exec/later.h"
#include "notify/notify.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "threads/internal.h"
#include "threads/threads.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/jsonout.h"
#include "util/log.h"
#include "util/refbuf.h"

#define TH_PAGE 200 /* annotations per page of annotation.list */
/* and at most this many bytes of JSON (at least one item): one reply must
 * never near the 1 MiB send queue (R2-F2) */
#define TH_PAGE_BYTES (512u << 10)

static const char *const th_reactions[] = {"agree", "insightful", "question",
					   "disagree", NULL};
static const char *const th_visibilities[] = {"circle", "private", NULL};

static const char SQL_INSERT_ANN[] =
	"INSERT INTO annotations(circle, chapter, author, body, body_html,"
	" visibility, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_ANN_POSITION[] =
	"UPDATE annotations SET position = ? WHERE id = ?";
static const char SQL_LIST[] =
	"SELECT id FROM annotations WHERE circle = ? AND chapter = ?"
	" AND gone = 0 ORDER BY pinned DESC, position, id LIMIT ? OFFSET ?";
static const char SQL_UPDATE_ANN[] =
	"UPDATE annotations SET body = ?, body_html = ?, updated_at = ?,"
	" edited = 1 WHERE id = ?";
static const char SQL_PUBLISH_ANN[] =
	"UPDATE annotations SET visibility = 'circle', updated_at = ?"
	" WHERE id = ?";
static const char SQL_UPDATE_REPLY[] =
	"UPDATE replies SET body = ?, body_html = ?, updated_at = ?,"
	" edited = 1 WHERE id = ?";
static const char SQL_ADD_VERSION[] =
	"INSERT INTO post_versions(kind, id, body, replaced_at)"
	" VALUES (?, ?, ?, ?)";
static const char SQL_DROP_VERSIONS[] =
	"DELETE FROM post_versions WHERE kind = ? AND id = ?";
static const char SQL_DROP_REACTIONS[] =
	"DELETE FROM reactions WHERE kind = ? AND target = ?";
static const char SQL_DELETE_ANN[] =
	"UPDATE annotations SET deleted = 1, body = NULL, body_html = NULL,"
	" updated_at = ?, gone = ? WHERE id = ?";
static const char SQL_DELETE_REPLY[] =
	"UPDATE replies SET deleted = 1, body = NULL, body_html = NULL,"
	" updated_at = ?, gone = ? WHERE id = ?";
static const char SQL_LIVE_REPLIES[] =
	"SELECT count(*) FROM replies WHERE annotation = ? AND gone = 0";
static const char SQL_LIVE_CHILDREN[] =
	"SELECT count(*) FROM replies WHERE parent = ? AND gone = 0";
static const char SQL_REPLY_DELETED[] =
	"SELECT deleted FROM replies WHERE id = ? AND gone = 0";
static const char SQL_ANN_DELETED[] =
	"SELECT deleted FROM annotations WHERE id = ? AND gone = 0";
static const char SQL_REPLY_PARENT[] =
	"SELECT coalesce(parent, 0) FROM replies WHERE id = ?";
static const char SQL_GONE_REPLY[] = "UPDATE replies SET gone = 1 WHERE id = ?";
static const char SQL_GONE_ANN[] =
	"UPDATE annotations SET gone = 1 WHERE id = ?";
static const char SQL_INSERT_REPLY[] =
	"INSERT INTO replies(annotation, parent, author, body, body_html,"
	" created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char SQL_REACT_DEL[] =
	"DELETE FROM reactions WHERE kind = ? AND target = ? AND account = ?"
	" AND reaction = ?";
static const char SQL_REACT_ADD[] =
	"INSERT INTO reactions(kind, target, account, reaction, created_at)"
	" VALUES (?, ?, ?, ?, ?)";
static const char SQL_CIRCLE_ANNS[] =
	"SELECT id FROM annotations WHERE circle = ? AND gone = 0"
	" ORDER BY chapter, position, id";

/* ---- shared checks ---- */

static size_t th_max_body(void)
{
	return rpc_config.max_body_cp ? rpc_config.max_body_cp : 10000;
}

static size_t th_max_exact(void)
{
	return rpc_config.max_exact_cp ? rpc_config.max_exact_cp : 4000;
}

static int th_not_found(struct rpc_ctx *ctx)
{
	return rpc_fail(ctx, RPC_E_NOT_FOUND, "not found");
}

/*
 * The viewers lean writes loaded in the current lean run (exec/later.h):
 * a member posting several times in one batch loads it once. Executor
 * thread only (exec_lean_run() is false anywhere else). The lean writes
 * change one input of it, the poster's chapter marks: th_viewer_posted()
 * drops an entry the new mark would change.
 */
#define TH_VIEWERS 64
static struct {
	unsigned long run;
	unsigned n, next;
	struct vis_viewer v[TH_VIEWERS];
} thv;

static struct vis_viewer *th_viewer_cached(int64_t circle, int64_t account,
					   bool is_admin, bool *usable)
{
	unsigned long run;

	*usable = exec_lean_run(&run);
	if (!*usable)
		return NULL;
	if (run != thv.run) {
		thv.run = run;
		thv.n = thv.next = 0;
		return NULL;
	}
	for (unsigned i = 0; i < thv.n; i++)
		if (thv.v[i].circle == circle && thv.v[i].account == account &&
		    thv.v[i].is_admin == is_admin)
			return &thv.v[i];
	return NULL;
}

/* account posted in chapter of circle (circles_mark_posted): a kept
 * viewer without that mark is dropped (the mark changes its list). */
static void th_viewer_posted(int64_t circle, int64_t account, int64_t chapter)
{
	unsigned long run;

	if (!exec_lean_run(&run) || run != thv.run)
		return;
	for (unsigned i = 0; i < thv.n; i++) {
		struct vis_viewer *v = &thv.v[i];
		bool met = false;

		if (v->circle != circle || v->account != account)
			continue;
		for (int k = 0; k < v->nposted; k++)
			met = met || v->posted[k] == chapter;
		if (!met)
			v->circle = 0; /* never matches again */
	}
}

/* The caller's viewer in circle; -32004 "not found" unless the caller may
 * see it (the access gate, circles/circles.h: the message names no circle,
 * as the caller may have asked for a post). */
static int th_viewer(struct rpc_ctx *ctx, int64_t circle, struct vis_viewer *v)
{
	bool usable;
	const struct vis_viewer *c = th_viewer_cached(
		circle, rpc_account(ctx), rpc_is_admin(ctx), &usable);
	int rc;

	if (c) {
		*v = *c;
		return 0;
	}
	rc = circles_gate(rpc_store(ctx), circle, rpc_account(ctx),
			  rpc_is_admin(ctx), v);
	if (rc == SCH_ENOTFOUND)
		return th_not_found(ctx);
	if (rc)
		return rpc_fail_store(ctx, rc);
	if (usable) {
		unsigned i = thv.next;

		thv.next = (thv.next + 1) % TH_VIEWERS;
		if (thv.n < TH_VIEWERS)
			thv.n++;
		thv.v[i] = *v;
	}
	return 0;
}

/* Posting, replying, reacting and following need membership: a site admin
 * who is not a member sees the circle but may not write in it. */
static int th_need_member(struct rpc_ctx *ctx, const struct vis_viewer *v)
{
	if (v->role == VIS_ROLE_NONE)
		return rpc_fail(ctx, RPC_E_FORBIDDEN,
				"only members of the circle may post");
	return 0;
}

/* Chapters found in their circle's book in the current lean run
 * (exec/later.h: books and circles do not change within one). */
#define TH_CHAPTERS 16
static struct {
	unsigned long run;
	unsigned n, next;
	struct {
		int64_t circle, chapter;
		int order;
	} e[TH_CHAPTERS];
} thc;

/* The chapter must be in the circle's book: -32602 naming "chapter".
 * *order gets its reading position when order is not NULL. */
static int th_check_chapter(struct rpc_ctx *ctx, int64_t circle,
			    int64_t chapter, int *order)
{
	struct books_chapter_info ci;
	int64_t book = 0;
	unsigned long run;
	bool lean = exec_lean_run(&run);

	if (lean && run != thc.run) {
		thc.run = run;
		thc.n = thc.next = 0;
	}
	for (unsigned i = 0; lean && i < thc.n; i++)
		if (thc.e[i].circle == circle && thc.e[i].chapter == chapter) {
			if (order)
				*order = thc.e[i].order;
			return 0;
		}
	if (circles_book(rpc_store(ctx), circle, &book) != 0)
		return th_not_found(ctx);
	if (books_chapter_info(rpc_store(ctx), chapter, &ci) != 0 ||
	    ci.book != book)
		return rpc_fail_field(ctx, "chapter",
				      "no such chapter in the circle's book");
	if (order)
		*order = ci.order;
	if (lean) {
		unsigned i = thc.next;

		thc.next = (thc.next + 1) % TH_CHAPTERS;
		if (thc.n < TH_CHAPTERS)
			thc.n++;
		thc.e[i].circle = circle;
		thc.e[i].chapter = chapter;
		thc.e[i].order = ci.order;
	}
	return 0;
}

/* The front thread's rendering of a call's body (rpc_set_prepare): the
 * Markdown of params.body rendered before the call reaches the executor,
 * which then only stores it. {"body": the params' own string, "html"}. */
static json_t *th_prepare_body(json_t *params)
{
	json_t *b = json_object_get(params, "body"), *out;
	char *html;

	/* a body the handler will refuse as too long is not worth it */
	if (!json_is_string(b) || json_string_length(b) > 4 * th_max_body())
		return NULL;
	html = threads_render_markdown(json_string_value(b),
				       strlen(json_string_value(b)));
	if (!html)
		return NULL;
	out = json_pack("{s:O,s:s}", "body", b, "html", html);
	free(html);
	return out;
}

/* The HTML of body: the front thread's when body is the string it rendered
 * (the params' own, so a pointer compare), else rendered here. */
static char *th_body_html(struct rpc_ctx *ctx, const char *body)
{
	json_t *pr = rpc_prepared(ctx);

	if (pr && json_string_value(json_object_get(pr, "body")) == body &&
	    json_is_string(json_object_get(pr, "html")))
		return xstrdup(json_string_value(json_object_get(pr, "html")));
	return threads_render_markdown(body, strlen(body));
}

/* A body: 1..max code points (over: -32013), not only white space. */
static int th_param_body(struct rpc_ctx *ctx, json_t *params, const char **body)
{
	const char *s;

	if (rpc_param_text(ctx, params, "body", true, th_max_body(), body))
		return RPC_ERR;
	for (s = *body; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return 0;
	return rpc_fail_field(ctx, "body", "body is empty");
}

/*
 * Loads a post the caller may see: -32004 when it does not exist, is gone,
 * or is invisible to the caller. Sets *v and *r. Free p with th_post_free.
 */
static int th_load_visible(struct rpc_ctx *ctx, int kind, int64_t id,
			   struct th_post *p, struct vis_viewer *v,
			   enum vis_result *r)
{
	struct store *db = rpc_store(ctx);
	struct vis_item item;
	int rc;

	rc = th_post_load(db, kind, id, p);
	if (rc == SCH_ENOTFOUND)
		return th_not_found(ctx);
	if (rc)
		return rpc_fail_store(ctx, rc);
	if (th_viewer(ctx, p->circle, v))
		goto fail;
	th_post_vis(db, p, &item);
	*r = vis_check(v, &item);
	if (*r == VIS_NONE) {
		th_not_found(ctx);
		goto fail;
	}
	return 0;
fail:
	th_post_free(p);
	return RPC_ERR;
}

/* The thread is locked for this viewer (moderators may still write). */
static bool th_locked_for(const struct th_post *p, const struct vis_viewer *v)
{
	return p->locked && !vis_is_moderator(v);
}

/* A new post's index entry, left for the end of the batch. */
static int th_index_later(struct rpc_ctx *ctx, void *arg)
{
	return th_emit_post(ctx, EVENTS_POST_CREATED, arg);
}

static void th_index_free(void *arg)
{
	th_post_free(arg);
	free(arg);
}

/* Tells the subscribers (search) that p was written or edited. A new post
 * of a lean write is indexed at the end of its batch (exec/later.h). */
static int th_index(struct rpc_ctx *ctx, enum events_type type,
		    const struct th_post *p)
{
	/* private posts too: search shows them to their author alone
	 * (vis_check), as the SPEC wants (issue 14 deviation) */
	if (p->deleted || !p->body)
		return 0;
	if (type == EVENTS_POST_CREATED) {
		struct th_post *copy = xcalloc(1, sizeof(*copy));

		*copy = *p;
		copy->body = xstrdup(p->body);
		copy->body_html = NULL;
		if (exec_later(th_index_later, copy, th_index_free))
			return 0;
		th_index_free(copy);
	}
	return th_emit_post(ctx, type, p);
}

/*
 * A new circle thread, created or shared from private, is announced: its
 * chapter marked posted (not for a private one), the search index, the
 * annotation.created event, the notifications; *result gets the caller's
 * copy. Frees p. Returns 0, or RPC_ERR with the error recorded.
 */
static int th_announce_annotation(struct rpc_ctx *ctx, struct th_post *p,
				  int64_t me, json_t **result)
{
	int rc = 0;

	if (!p->private_) {
		rc = circles_mark_posted(ctx, p->circle, me, p->chapter);
		th_viewer_posted(p->circle, me, p->chapter);
	}
	if (!rc)
		rc = th_index(ctx, EVENTS_POST_CREATED, p);
	if (!rc && !result)
		rc = th_publish_post_raw(ctx, "annotation.created", p);
	else if (!rc)
		rc = th_publish_post_reply(ctx, "annotation.created", p, me,
					   result);
	if (!rc)
		rc = th_notify_post(ctx, p, NULL, true);
	th_post_free(p);
	if (rc) {
		if (result) {
			json_decref(*result);
			*result = NULL;
		}
		return rpc_fail_store(ctx, rc);
	}
	return 0;
}

/* The start offset of a normalised target (-1 when it has none). */
static int64_t th_target_start(json_t *target)
{
	json_t *sels = json_object_get(target, "selector"), *s;
	size_t i;

	json_array_foreach(sels, i, s)
	{
		const char *type =
			json_string_value(json_object_get(s, "type"));

		if (type && strcmp(type, "TextPositionSelector") == 0)
			return json_integer_value(json_object_get(s, "start"));
	}
	return -1;
}

/* ---- annotations ---- */

static int annotation_create(struct rpc_ctx *ctx, json_t *params,
			     json_t **result)
{
	static const char *const allowed[] = {"circle", "chapter",    "target",
					      "body",	"visibility", NULL};
	int64_t circle, chapter;
	const char *body;
	json_t *target;
	int visibility = 0, order = 0;
	struct vis_viewer v;

	(void)result; /* the result is raw: th_annotation_insert_raw */

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_id(ctx, params, "circle", true, &circle) ||
	    rpc_param_id(ctx, params, "chapter", true, &chapter))
		return RPC_ERR;
	target = json_object_get(params, "target");
	if (target && json_is_null(target))
		target = NULL;
	if (target && !json_is_object(target))
		return rpc_fail_field(ctx, "target",
				      "target is an object or null");
	if (th_param_body(ctx, params, &body) ||
	    rpc_param_enum(ctx, params, "visibility", false, th_visibilities,
			   &visibility))
		return RPC_ERR;
	if (th_viewer(ctx, circle, &v) || th_need_member(ctx, &v) ||
	    th_check_chapter(ctx, circle, chapter, &order))
		return RPC_ERR;
	if (th_check_write(ctx, EVENTS_POST_CHECK, &v, circle))
		return RPC_ERR;
	return th_annotation_insert_raw(ctx, circle, chapter, order, target,
					body, visibility == 1);
}

/*
 * Inserts and anchors a new annotation and fills p from what was written
 * (no reload: the row is what we just inserted, with no reactions and no
 * replies yet). RPC_ERR with the error recorded.
 */
static int th_annotation_write(struct rpc_ctx *ctx, int64_t circle,
			       int64_t chapter, int order, json_t *target,
			       const char *body, bool private_,
			       struct th_post *p)
{
	struct store *db = rpc_store(ctx);
	int64_t id, me = rpc_account(ctx), now = rpc_now(ctx);
	char *html;
	int rc;

	html = th_body_html(ctx, body);
	rc = store_run(db, SQL_INSERT_ANN, "iiitttii", circle, chapter, me,
		       body, html, th_visibilities[private_ ? 1 : 0], now, now);
	if (rc) {
		free(html);
		return rpc_fail_store(ctx, rc);
	}
	id = store_last_id(db);
	memset(p, 0, sizeof(*p));
	p->kind = TH_ANNOTATION;
	p->id = p->annotation = id;
	p->circle = circle;
	p->chapter = chapter;
	p->author = me;
	p->position = -1;
	p->created_at = p->updated_at = now;
	p->private_ = private_;
	p->body = xstrdup(body);
	p->body_html = html;
	p->order = order;
	p->fresh = true;
	p->no_anchor = target == NULL;
	if (target) {
		json_t *norm = NULL;
		char field[64] = "target";
		enum books_anchor_error e;

		e = books_anchor_create(db, id, chapter, target, th_max_exact(),
					&norm, field, sizeof(field));
		switch (e) {
		case BOOKS_ANCHOR_OK:
			break;
		case BOOKS_ANCHOR_BAD_SHAPE:
			json_decref(norm);
			th_post_free(p);
			return rpc_fail_field(ctx, field[0] ? field : "target",
					      "target is not a W3C target");
		case BOOKS_ANCHOR_TOO_LARGE:
			json_decref(norm);
			th_post_free(p);
			return rpc_fail(ctx, RPC_E_TOO_LARGE,
					"quoted text is too long");
		default:
			json_decref(norm);
			th_post_free(p);
			return rpc_fail_field(
				ctx, "target",
				"the passage is not in the chapter");
		}
		if (norm) {
			p->position = th_target_start(norm);
			rc = store_run(db, SQL_ANN_POSITION, "ii", p->position,
				       id);
			json_decref(norm);
			if (rc) {
				th_post_free(p);
				return rpc_fail_store(ctx, rc);
			}
		}
	}
	return 0;
}

int th_annotation_insert(struct rpc_ctx *ctx, int64_t circle, int64_t chapter,
			 int order, json_t *target, const char *body,
			 bool private_, json_t **result)
{
	struct th_post p;

	if (th_annotation_write(ctx, circle, chapter, order, target, body,
				private_, &p))
		return RPC_ERR;
	return th_announce_annotation(ctx, &p, rpc_account(ctx), result);
}

int th_annotation_insert_raw(struct rpc_ctx *ctx, int64_t circle,
			     int64_t chapter, int order, json_t *target,
			     const char *body, bool private_)
{
	struct th_post p;

	if (th_annotation_write(ctx, circle, chapter, order, target, body,
				private_, &p))
		return RPC_ERR;
	return th_announce_annotation(ctx, &p, rpc_account(ctx), NULL);
}

/* One item of annotation.list, sorted within the page. */
struct th_list_row {
	char *text; /* the item, serialised (util/jsonout) */
	size_t len;
	bool pinned;
	int64_t start; /* current start offset, -1 chapter-level */
	int64_t id;
};

/* Pinned first, then by the passage's current position, then by id. */
static int th_list_cmp(const void *a, const void *b)
{
	const struct th_list_row *x = a, *y = b;

	if (x->pinned != y->pinned)
		return x->pinned ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->id < y->id ? -1 : (x->id > y->id);
}

static int annotation_list(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"circle", "chapter", "cursor",
					      NULL};
	struct store *db = rpc_store(ctx);
	struct store_stmt *st;
	int64_t circle, chapter, offset = 0, ids[TH_PAGE + 1];
	struct th_list_row rows[TH_PAGE];
	struct vis_viewer v;
	static const char head[] = "{\"items\":[",
			  mid[] = "],\"next\":", tail[] = ",\"withheld\":";
	struct refbuf *rb;
	json_t *withheld;
	char *text, *at, next[32];
	int n = 0, m, i, rc;
	size_t bytes = 0;
	bool full = false;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_id(ctx, params, "circle", true, &circle) ||
	    rpc_param_id(ctx, params, "chapter", true, &chapter) ||
	    rpc_param_cursor(ctx, params, &offset))
		return RPC_ERR;
	if (th_viewer(ctx, circle, &v) ||
	    th_check_chapter(ctx, circle, chapter, NULL))
		return RPC_ERR;
	st = store_query(db, SQL_LIST, "iiii", circle, chapter,
			 (int64_t)TH_PAGE + 1, offset);
	if (!st)
		return rpc_fail_store(ctx, SCH_EDB);
	while ((rc = store_row(st)) > 0 && n <= TH_PAGE)
		ids[n++] = store_int(st, 0);
	store_done(st);
	if (rc < 0)
		return rpc_fail_store(ctx, rc);
	m = 0;
	th_authors_call(true);
	for (i = 0; i < n && i < TH_PAGE && !full; i++) {
		struct th_post p;
		struct vis_item item;
		enum vis_result r;
		int64_t start;

		if (th_post_load(db, TH_ANNOTATION, ids[i], &p))
			continue;
		th_post_vis(db, &p, &item);
		r = vis_check(&v, &item);
		if (r != VIS_NONE) {
			json_t *obj = th_post_json(db, &p, v.account, r);

			rows[m].pinned = p.pinned;
			rows[m].id = p.id;
			start = th_target_start(json_object_get(obj, "target"));
			rows[m].start = start;
			/* a new edition may have moved the passage: keep the
			 * ordering column in step for the next page */
			if (start != p.position)
				store_run(db, SQL_ANN_POSITION, "ii", start,
					  p.id);
			/* serialised once: for the page's size and the reply */
			rows[m].text = jsonout_dump(obj);
			rows[m].len = strlen(rows[m].text);
			json_decref(obj);
			bytes += rows[m].len;
			m++;
			full = bytes >= TH_PAGE_BYTES;
		}
		th_post_free(&p);
	}
	th_authors_call(false);
	qsort(rows, (size_t)m, sizeof(rows[0]), th_list_cmp);
	/* the reply is written as bytes (rpc_result_raw): the rows were
	 * serialised above, a tree of them would be serialised again; its
	 * length is known first, so they are copied once, into the reply */
	if ((full && i < n) || n > TH_PAGE)
		snprintf(next, sizeof(next), "\"%lld\"",
			 (long long)(offset + i));
	else
		snprintf(next, sizeof(next), "null");
	withheld = th_withheld_json(db, &v, circle, chapter);
	text = jsonout_dump(withheld);
	json_decref(withheld);
	rb = refbuf_alloc(sizeof(head) - 1 + bytes + (m ? (size_t)m - 1 : 0) +
			  sizeof(mid) - 1 + strlen(next) + sizeof(tail) - 1 +
			  strlen(text) + 1);
	at = (char *)refbuf_bytes(rb);
	at = stpcpy(at, head);
	for (i = 0; i < m; i++) {
		if (i)
			*at++ = ',';
		memcpy(at, rows[i].text, rows[i].len);
		at += rows[i].len;
		free(rows[i].text);
	}
	at = stpcpy(stpcpy(stpcpy(stpcpy(at, mid), next), tail), text);
	*at++ = '}';
	free(text);
	if (at != (char *)refbuf_bytes(rb) + rb->len)
		die("threads: a list reply of the wrong length");
	rpc_result_raw(ctx, rb);
	*result = NULL;
	return 0;
}

static int annotation_get(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"annotation", NULL};
	struct store *db = rpc_store(ctx);
	struct vis_viewer v;
	struct th_post p;
	enum vis_result r;
	int64_t id;
	json_t *o;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_id(ctx, params, "annotation", true, &id))
		return RPC_ERR;
	if (th_load_visible(ctx, TH_ANNOTATION, id, &p, &v, &r))
		return RPC_ERR;
	o = th_post_json(db, &p, v.account, r);
	th_get_replies(db, o, p.id, &v);
	if (r == VIS_FULL && !p.deleted)
		json_object_set_new(o, "versions",
				    th_versions_json(db, TH_ANNOTATION, p.id));
	th_post_free(&p);
	*result = o;
	return 0;
}

int threads_annotation_get(struct rpc_ctx *ctx, int64_t annotation,
			   json_t **out)
{
	return rpc_call_handler(
		ctx, annotation_get,
		json_pack("{s:I}", "annotation", (json_int_t)annotation), out);
}

static int th_update(struct rpc_ctx *ctx, json_t *params, json_t **result,
		     int kind);

/*
 * annotation.update {visibility: "circle"} of a private annotation: it
 * becomes a circle thread as if posted now (the post limits, mute and slow
 * mode apply; search, post-first and chapter follows learn of it) and
 * annotation.created goes to the circle. A body given too is applied
 * first, as an ordinary edit.
 */
static int th_publish(struct rpc_ctx *ctx, json_t *params, json_t **result,
		      int64_t id, const char *body)
{
	struct store *db = rpc_store(ctx);
	int64_t me = rpc_account(ctx);
	struct vis_viewer v;
	struct th_post p;
	json_t *edited = NULL;
	int rc;

	if (body) {
		json_t *pp = json_pack("{s:I,s:s}", "annotation",
				       (json_int_t)id, "body", body);

		rc = th_update(ctx, pp, &edited, TH_ANNOTATION);
		json_decref(pp);
		json_decref(edited);
		if (rc)
			return RPC_ERR;
	}
	(void)params;
	rc = th_post_load(db, TH_ANNOTATION, id, &p);
	if (rc)
		return rpc_fail_store(ctx, rc);
	if (th_viewer(ctx, p.circle, &v) || th_need_member(ctx, &v) ||
	    th_check_write(ctx, EVENTS_POST_CHECK, &v, p.circle)) {
		th_post_free(&p);
		return RPC_ERR;
	}
	rc = store_run(db, SQL_PUBLISH_ANN, "ii", rpc_now(ctx), id);
	th_post_free(&p);
	if (!rc)
		rc = th_post_load(db, TH_ANNOTATION, id, &p);
	if (rc)
		return rpc_fail_store(ctx, rc);
	return th_announce_annotation(ctx, &p, me, result);
}

/* annotation.update and reply.update. */
static int th_update(struct rpc_ctx *ctx, json_t *params, json_t **result,
		     int kind)
{
	static const char *const allowed_a[] = {"annotation", "body",
						"visibility", NULL};
	static const char *const allowed_r[] = {"reply", "body", NULL};
	struct store *db = rpc_store(ctx);
	const char *name = th_kind_name(kind), *body = NULL;
	int64_t id, me = rpc_account(ctx), now = rpc_now(ctx);
	int visibility = -1;
	struct vis_viewer v;
	struct th_post p;
	enum vis_result r;
	char *html, *old = NULL;
	int rc;

	if (rpc_params_only(ctx, params,
			    kind == TH_REPLY ? allowed_r : allowed_a) ||
	    rpc_param_id(ctx, params, name, true, &id) ||
	    (kind == TH_ANNOTATION &&
	     rpc_param_enum(ctx, params, "visibility", false, th_visibilities,
			    &visibility)) ||
	    ((visibility < 0 || json_object_get(params, "body")) &&
	     th_param_body(ctx, params, &body)))
		return RPC_ERR;
	if (th_load_visible(ctx, kind, id, &p, &v, &r))
		return RPC_ERR;
	if (visibility >= 0 && p.author == me && !p.deleted) {
		/* private -> circle only; circle -> private is refused */
		if (visibility == 1 && !p.private_) {
			th_post_free(&p);
			return rpc_fail_field(ctx, "visibility",
					      "a circle annotation cannot "
					      "become private");
		}
		if (visibility == 0 && p.private_) {
			th_post_free(&p);
			return th_publish(ctx, params, result, id, body);
		}
	}
	if (!body) {
		body = p.body ? p.body : "";
		if (!*body) {
			th_post_free(&p);
			return rpc_fail_field(ctx, "body", "body is empty");
		}
	}
	if (p.author != me) {
		rc = rpc_fail(ctx, RPC_E_FORBIDDEN, "only the author may edit");
		goto out;
	}
	if (p.deleted) {
		rc = th_not_found(ctx);
		goto out;
	}
	if (th_locked_for(&p, &v)) {
		rc = rpc_fail(ctx, RPC_E_LOCKED, "the thread is locked");
		goto out;
	}
	if (p.body && strcmp(p.body, body) == 0) {
		*result = th_post_json(db, &p, me, VIS_FULL);
		rc = 0;
		goto out;
	}
	old = p.body;
	p.body = NULL;
	rc = store_run(db, SQL_ADD_VERSION, "iiti", (int64_t)kind, id,
		       old ? old : "", now);
	if (!rc) {
		html = th_body_html(ctx, body);
		rc = store_run(db,
			       kind == TH_REPLY ? SQL_UPDATE_REPLY
						: SQL_UPDATE_ANN,
			       "ttii", body, html, now, id);
		free(html);
	}
	th_post_free(&p);
	if (!rc)
		rc = th_post_load(db, kind, id, &p);
	if (rc) {
		memset(&p, 0, sizeof(p));
		rc = rpc_fail_store(ctx, rc);
		goto out;
	}
	rc = th_index(ctx, EVENTS_POST_EDITED, &p);
	if (!rc)
		rc = th_publish_post(ctx,
				     kind == TH_REPLY ? "reply.updated"
						      : "annotation.updated",
				     &p);
	if (!rc)
		rc = th_notify_post(ctx, &p, old, false);
	if (rc) {
		rc = rpc_fail_store(ctx, rc);
		goto out;
	}
	*result = th_post_json(db, &p, me, VIS_FULL);
out:
	free(old);
	th_post_free(&p);
	return rc ? RPC_ERR : 0;
}

static int annotation_update(struct rpc_ctx *ctx, json_t *params,
			     json_t **result)
{
	return th_update(ctx, params, result, TH_ANNOTATION);
}

static int reply_update(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	return th_update(ctx, params, result, TH_REPLY);
}

/*
 * Marks a post deleted: a tombstone (deleted, no body) when it still has
 * live replies under it, else gone for good. Drops its versions and search
 * entry, redacts its stored events, publishes <kind>.deleted.
 */
static int th_delete_row(struct rpc_ctx *ctx, struct th_post *p, bool gone)
{
	struct store *db = rpc_store(ctx);
	int rc;

	rc = store_run(db,
		       p->kind == TH_REPLY ? SQL_DELETE_REPLY : SQL_DELETE_ANN,
		       "ibi", rpc_now(ctx), gone, p->id);
	if (!rc)
		rc = store_run(db, SQL_DROP_VERSIONS, "ii", (int64_t)p->kind,
			       p->id);
	if (!rc && gone)
		rc = store_run(db, SQL_DROP_REACTIONS, "ii", (int64_t)p->kind,
			       p->id);
	if (rc)
		return rc;
	(void)th_emit_post(ctx, EVENTS_POST_DELETED, p);
	rc = bus_mark(rpc_store(ctx), th_kind_name(p->kind), p->id, -1, true);
	if (rc)
		return rc;
	p->deleted = true;
	free(p->body);
	free(p->body_html);
	p->body = p->body_html = NULL;
	return th_publish_post(ctx,
			       p->kind == TH_REPLY ? "reply.deleted"
						   : "annotation.deleted",
			       p);
}

/* After a reply went away: tombstones left with nothing under them go too
 * (the parent chain, then the thread itself). */
static int th_sweep(struct store *db, int64_t parent, int64_t annotation)
{
	int64_t n, deleted, next;
	int rc;

	while (parent) {
		n = 0;
		deleted = 0;
		store_int_query(db, &deleted, SQL_REPLY_DELETED, "i", parent);
		store_int_query(db, &n, SQL_LIVE_CHILDREN, "i", parent);
		if (!deleted || n > 0)
			break;
		rc = store_run(db, SQL_GONE_REPLY, "i", parent);
		if (rc)
			return rc;
		next = 0;
		store_int_query(db, &next, SQL_REPLY_PARENT, "i", parent);
		parent = next;
	}
	n = 0;
	deleted = 0;
	store_int_query(db, &deleted, SQL_ANN_DELETED, "i", annotation);
	store_int_query(db, &n, SQL_LIVE_REPLIES, "i", annotation);
	if (deleted && n == 0)
		return store_run(db, SQL_GONE_ANN, "i", annotation);
	return 0;
}

/* annotation.delete and reply.delete. */
static int th_delete(struct rpc_ctx *ctx, json_t *params, json_t **result,
		     int kind)
{
	static const char *const allowed_a[] = {"annotation", NULL};
	static const char *const allowed_r[] = {"reply", NULL};
	struct store *db = rpc_store(ctx);
	int64_t id, n = 0, me = rpc_account(ctx);
	struct vis_viewer v;
	struct th_post p;
	enum vis_result r;
	int rc;

	if (rpc_params_only(ctx, params,
			    kind == TH_REPLY ? allowed_r : allowed_a) ||
	    rpc_param_id(ctx, params, th_kind_name(kind), true, &id))
		return RPC_ERR;
	if (th_load_visible(ctx, kind, id, &p, &v, &r))
		return RPC_ERR;
	if (p.author != me) {
		th_post_free(&p);
		return rpc_fail(ctx, RPC_E_FORBIDDEN,
				"only the author may delete");
	}
	if (p.deleted) {
		th_post_free(&p);
		return th_not_found(ctx);
	}
	rc = store_int_query(
		db, &n, kind == TH_REPLY ? SQL_LIVE_CHILDREN : SQL_LIVE_REPLIES,
		"i", id);
	if (rc >= 0)
		rc = th_delete_row(ctx, &p, n == 0);
	if (!rc && kind == TH_REPLY && n == 0)
		rc = th_sweep(db, p.parent, p.annotation);
	if (rc) {
		th_post_free(&p);
		return rpc_fail_store(ctx, rc);
	}
	*result = th_post_json(db, &p, me, VIS_FULL);
	th_post_free(&p);
	return 0;
}

static int annotation_delete(struct rpc_ctx *ctx, json_t *params,
			     json_t **result)
{
	return th_delete(ctx, params, result, TH_ANNOTATION);
}

static int reply_delete(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	return th_delete(ctx, params, result, TH_REPLY);
}

/* ---- replies ---- */

static int reply_create(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"annotation", "body", "parent",
					      NULL};
	struct store *db = rpc_store(ctx);
	int64_t ann, parent = 0, id, me = rpc_account(ctx), now = rpc_now(ctx);
	const char *body;
	struct vis_viewer v;
	struct th_post a, p;
	enum vis_result r;
	char *html;
	int rc;

	(void)result; /* the result is raw: th_publish_post_raw */
	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_id(ctx, params, "annotation", true, &ann) ||
	    th_param_body(ctx, params, &body) ||
	    rpc_param_id(ctx, params, "parent", false, &parent))
		return RPC_ERR;
	if (th_load_visible(ctx, TH_ANNOTATION, ann, &a, &v, &r))
		return RPC_ERR;
	if (th_need_member(ctx, &v))
		goto fail;
	if (th_locked_for(&a, &v)) {
		rpc_fail(ctx, RPC_E_LOCKED, "the thread is locked");
		goto fail;
	}
	if (parent) {
		struct th_post pr;

		if (th_post_load(db, TH_REPLY, parent, &pr) != 0) {
			rpc_fail_field(ctx, "parent", "no such reply");
			goto fail;
		}
		rc = pr.annotation == ann ? 0 : -1;
		th_post_free(&pr);
		if (rc) {
			rpc_fail_field(ctx, "parent",
				       "the reply is in another thread");
			goto fail;
		}
	}
	if (th_check_write(ctx, EVENTS_POST_CHECK, &v, a.circle))
		goto fail;
	html = th_body_html(ctx, body);
	rc = store_run(db, SQL_INSERT_REPLY, "iIittii", ann, parent, me, body,
		       html, now, now);
	if (rc) {
		free(html);
		goto fail_store;
	}
	id = store_last_id(db);
	/* the reply as written (no reload): no reactions yet */
	memset(&p, 0, sizeof(p));
	p.kind = TH_REPLY;
	p.id = id;
	p.circle = a.circle;
	p.chapter = a.chapter;
	p.annotation = ann;
	p.parent = parent;
	p.author = me;
	p.position = -1;
	p.created_at = p.updated_at = now;
	p.private_ = a.private_;
	p.locked = a.locked;
	p.body = xstrdup(body);
	p.body_html = html;
	p.order = th_chapter_order(db, a.chapter);
	p.fresh = true;
	if (!p.private_) {
		rc = circles_mark_posted(ctx, p.circle, me, p.chapter);
		th_viewer_posted(p.circle, me, p.chapter);
	}
	if (!rc)
		rc = th_index(ctx, EVENTS_POST_CREATED, &p);
	/* the result is the event's data (th_publish_post_raw) */
	if (!rc)
		rc = th_publish_post_raw(ctx, "reply.created", &p);
	if (!rc)
		rc = th_notify_post(ctx, &p, NULL, true);
	if (rc) {
		th_post_free(&p);
		goto fail_store;
	}
	th_post_free(&p);
	th_post_free(&a);
	return 0;
fail_store:
	rpc_fail_store(ctx, rc);
fail:
	th_post_free(&a);
	return RPC_ERR;
}

int threads_reply_create(struct rpc_ctx *ctx, int64_t annotation,
			 const char *body, json_t **out)
{
	return rpc_call_handler(ctx, reply_create,
				json_pack("{s:I,s:s}", "annotation",
					  (json_int_t)annotation, "body", body),
				out);
}

/* ---- reactions ---- */

static int reaction_toggle(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"target", "kind", NULL};
	struct store *db = rpc_store(ctx);
	struct threads_target t;
	struct vis_viewer v;
	struct vis_item item;
	enum vis_result r;
	json_t *target, *data;
	int64_t me = rpc_account(ctx), seq;
	int kind, rc;
	bool on;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_json(ctx, params, "target", true, JSON_OBJECT, &target) ||
	    rpc_param_enum(ctx, params, "kind", true, th_reactions, &kind))
		return RPC_ERR;
	rc = threads_target_parse(db, target, &t);
	if (rc == SCH_EINVAL)
		return rpc_fail_field(ctx, "target",
				      "target is {\"annotation\":ID} or "
				      "{\"reply\":ID}");
	if (rc == SCH_ENOTFOUND)
		return th_not_found(ctx);
	if (rc)
		return rpc_fail_store(ctx, rc);
	if (th_viewer(ctx, t.circle, &v))
		return RPC_ERR;
	threads_target_vis(db, &t, &item);
	r = vis_check(&v, &item);
	if (r == VIS_NONE || t.deleted)
		return th_not_found(ctx);
	if (th_need_member(ctx, &v) ||
	    th_check_write(ctx, EVENTS_REACT_CHECK, &v, t.circle))
		return RPC_ERR;
	if (r == VIS_REDACTED)
		return rpc_fail(ctx, RPC_E_FORBIDDEN, "the post is hidden");
	if (t.locked && !vis_is_moderator(&v))
		return rpc_fail(ctx, RPC_E_LOCKED, "the thread is locked");
	rc = store_run(db, SQL_REACT_DEL, "iiit", (int64_t)t.kind, t.id, me,
		       th_reactions[kind]);
	if (rc)
		return rpc_fail_store(ctx, rc);
	on = store_changes(db) == 0;
	if (on) {
		rc = store_run(db, SQL_REACT_ADD, "iiiti", (int64_t)t.kind,
			       t.id, me, th_reactions[kind], rpc_now(ctx));
		if (rc)
			return rpc_fail_store(ctx, rc);
	}
	data = json_pack("{s:o, s:o, s:I, s:s, s:b}", "target",
			 th_target_ref(t.kind, t.id), "reactions",
			 th_reactions_json(db, t.kind, t.id), "account",
			 (json_int_t)me, "kind", th_reactions[kind], "on", on);
	seq = rpc_publish(ctx, t.circle, "reaction.changed", &item,
			  th_kind_name(t.kind), t.id, data, NULL);
	if (seq < 0)
		return rpc_fail_store(ctx, (int)seq);
	*result = json_pack("{s:o, s:o}", "reactions",
			    th_reactions_json(db, t.kind, t.id), "my_reactions",
			    th_my_reactions_json(db, t.kind, t.id, me));
	return 0;
}

/* ---- chapter follows ---- */

static int chapter_follow(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"circle", "chapter", "on", NULL};
	int64_t circle, chapter;
	struct vis_viewer v;
	bool on = true;
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_id(ctx, params, "circle", true, &circle) ||
	    rpc_param_id(ctx, params, "chapter", true, &chapter) ||
	    rpc_param_bool(ctx, params, "on", true, &on))
		return RPC_ERR;
	if (th_viewer(ctx, circle, &v) || th_need_member(ctx, &v) ||
	    th_check_chapter(ctx, circle, chapter, NULL))
		return RPC_ERR;
	rc = notify_follow_set(rpc_store(ctx), rpc_account(ctx), circle,
			       chapter, on, rpc_now(ctx));
	if (rc)
		return rpc_fail_store(ctx, rc);
	*result = json_pack("{s:I, s:I, s:b}", "circle", (json_int_t)circle,
			    "chapter", (json_int_t)chapter, "on", on);
	return 0;
}

/* ---- anchors after a new edition ---- */

static int anchor_review(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"circle", NULL};
	struct store *db = rpc_store(ctx);
	struct vis_viewer v;
	int64_t circle, *ids = NULL;
	size_t n = 0, i;
	json_t *items;
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_id(ctx, params, "circle", true, &circle))
		return RPC_ERR;
	if (th_viewer(ctx, circle, &v))
		return RPC_ERR;
	if (!vis_is_moderator(&v))
		return rpc_fail(ctx, RPC_E_FORBIDDEN,
				"only moderators review anchors");
	rc = store_ids(store_query(db, SQL_CIRCLE_ANNS, "i", circle), &ids, &n);
	if (rc < 0)
		return rpc_fail_store(ctx, rc);
	items = json_array();
	for (i = 0; i < n; i++) {
		struct th_post p;
		struct vis_item item;
		enum vis_result r;
		json_t *target = NULL, *rev, *o;
		const char *state = NULL;

		if (books_anchor_get(db, ids[i], &target, &state) != 0)
			continue;
		json_decref(target);
		if (!state || strcmp(state, "needs_review") != 0)
			continue;
		if (th_post_load(db, TH_ANNOTATION, ids[i], &p))
			continue;
		th_post_vis(db, &p, &item);
		r = vis_check(&v, &item);
		rev = r != VIS_NONE ? books_anchor_review(db, p.id) : NULL;
		if (rev) {
			o = th_post_json(db, &p, v.account, r);
			json_object_set(o, "old", json_object_get(rev, "old"));
			json_object_set(o, "proposed",
					json_object_get(rev, "proposed"));
			json_object_set(o, "score",
					json_object_get(rev, "score"));
			json_decref(rev);
			json_array_append_new(items, o);
		}
		th_post_free(&p);
	}
	free(ids);
	*result = json_pack("{s:o, s:n}", "items", items, "next");
	return 0;
}

static int anchor_resolve(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"annotation", "accept", NULL};
	struct store *db = rpc_store(ctx);
	int64_t id, me = rpc_account(ctx);
	struct vis_viewer v;
	struct th_post p;
	enum vis_result r;
	json_t *target = NULL;
	const char *state = NULL;
	bool accept;
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_id(ctx, params, "annotation", true, &id) ||
	    rpc_param_bool(ctx, params, "accept", true, &accept))
		return RPC_ERR;
	if (th_load_visible(ctx, TH_ANNOTATION, id, &p, &v, &r))
		return RPC_ERR;
	/* a private annotation has no moderator: its author decides */
	if (p.private_ ? p.author != me : !vis_is_moderator(&v)) {
		th_post_free(&p);
		return rpc_fail(ctx, RPC_E_FORBIDDEN,
				"only moderators resolve anchors");
	}
	rc = books_anchor_resolve(db, id, accept);
	if (rc == SCH_ENOTFOUND || rc == SCH_ECONFLICT) {
		th_post_free(&p);
		return rc == SCH_ENOTFOUND
			       ? th_not_found(ctx)
			       : rpc_fail(ctx, RPC_E_CONFLICT,
					  "the anchor is not awaiting review");
	}
	if (!rc && books_anchor_get(db, id, &target, &state) == 0 && target &&
	    !json_is_null(target))
		rc = store_run(db, SQL_ANN_POSITION, "ii",
			       th_target_start(target), id);
	json_decref(target);
	if (!rc) {
		struct events_event ev = {.type = EVENTS_ANCHOR_RESOLVED,
					  .ctx = ctx};

		ev.u.anchor.annotation = id;
		ev.u.anchor.circle = p.circle;
		ev.u.anchor.accepted = accept;
		ev.u.anchor.private_ = p.private_;
		rc = events_emit(&ev);
	}
	if (!rc)
		rc = th_publish_post(ctx, "anchor.changed", &p);
	if (rc) {
		th_post_free(&p);
		return rpc_fail_store(ctx, rc);
	}
	*result = th_post_json(db, &p, me, r);
	th_post_free(&p);
	return 0;
}

/*
 * books' hook, called by an import inside its transaction for every
 * annotation whose anchor changed: keep the ordering position in step with
 * the passage and store anchor.changed so that members catch up on it
 * (the import runs in another process: it reaches live subscribers through
 * catch-up, as circle.subscribe replays since their last seq).
 */
static int threads_anchor_changed(const struct events_event *ev, void *arg)
{
	struct rpc_ctx *ctx = ev->ctx;
	int64_t annotation = ev->u.anchor.annotation;
	struct store *db = rpc_store(ctx);
	const char *state = NULL;
	json_t *target = NULL;
	struct th_post p;
	int rc;

	(void)arg;
	if (th_post_load(db, TH_ANNOTATION, annotation, &p))
		return 0; /* not ours (or gone): nothing to tell */
	rc = books_anchor_get(db, annotation, &target, &state);
	if (!rc && target && !json_is_null(target))
		rc = store_run(db, SQL_ANN_POSITION, "ii",
			       th_target_start(target), annotation);
	json_decref(target);
	if (!rc)
		rc = th_publish_post(ctx, "anchor.changed", &p);
	th_post_free(&p);
	return rc < 0 ? rc : 0;
}

/* circle.clone with annotations (circles publishes, see events.h). */
static int threads_on_clone(const struct events_event *ev, void *arg)
{
	int copied = 0;
	int rc;

	(void)arg;
	rc = threads_clone(ev->ctx, ev->u.clone.from, ev->u.clone.to,
			   ev->u.clone.account, &copied);
	*ev->u.clone.copied += copied;
	return rc;
}

void threads_init(void)
{
	static const struct rpc_method methods[] = {
		{"annotation.create", annotation_create, RPC_AUTH},
		{"annotation.list", annotation_list, RPC_AUTH | RPC_READ},
		{"annotation.get", annotation_get, RPC_AUTH | RPC_READ},
		{"annotation.update", annotation_update, RPC_AUTH},
		{"annotation.delete", annotation_delete, RPC_AUTH},
		{"reply.create", reply_create, RPC_AUTH},
		{"annotation.import", th_annotation_import, RPC_AUTH},
		{"reply.update", reply_update, RPC_AUTH},
		{"reply.delete", reply_delete, RPC_AUTH},
		{"reaction.toggle", reaction_toggle, RPC_AUTH},
		{"chapter.follow", chapter_follow, RPC_AUTH},
		{"anchor.review", anchor_review, RPC_AUTH},
		{"anchor.resolve", anchor_resolve, RPC_AUTH},
		{NULL, NULL, 0}};

	rpc_register(methods);
	rpc_set_prepare("annotation.create", th_prepare_body);
	rpc_set_prepare("annotation.update", th_prepare_body);
	rpc_set_prepare("reply.create", th_prepare_body);
	rpc_set_prepare("reply.update", th_prepare_body);
	threads_account_init();
	events_on(EVENTS_ANCHOR_MOVED, threads_anchor_changed, NULL);
	events_on(EVENTS_CIRCLE_CLONED, threads_on_clone, NULL);
	threads_extras_init();
}
