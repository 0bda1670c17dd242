/*
 * posts.c - annotation and reply rows, the SPEC objects built from them, and
 * the functions threads.h promises to other modules (targets, moderation's
 * levers, the visible walk that export, digest and search use).
 *
 * Every path that shows a post asks vis_check() with the post's facts
 * (th_post_vis) and then builds the object at that level (th_post_json):
 * VIS_NONE is never shown, VIS_REDACTED keeps the object with hidden true
 * and no body. A reply carries the privacy of its thread, so a private
 * annotation's replies are as private as the annotation. Replies also count
 * as part of their thread for post-first (vis_item.thread), so a withheld
 * thread does not leak through its replies.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "books/books.h"
#include "bus/bus.h"
#include "circles/circles.h"
#include "events/events.h"
#include "exec/later.h"
#include "rpc/internal.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "threads/internal.h"
#include "threads/threads.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/rfc3339.h"
#include "util/vec.h"

static const char *const th_reaction_kinds[] = {"agree", "insightful",
						"question", "disagree", NULL};

static const char SQL_ANN[] =
	"SELECT id, circle, chapter, author, body, body_html,"
	" visibility = 'private', position, created_at, updated_at, edited,"
	" pinned, locked, hidden, deleted"
	" FROM annotations WHERE id = ? AND gone = 0";
static const char SQL_REPLY[] =
	"SELECT r.id, a.circle, a.chapter, r.author, r.body, r.body_html,"
	" a.visibility = 'private', r.annotation, r.parent, r.created_at,"
	" r.updated_at, r.edited, a.locked, r.hidden, r.deleted"
	" FROM replies r JOIN annotations a ON a.id = r.annotation"
	" WHERE r.id = ? AND r.gone = 0 AND a.gone = 0";
static const char SQL_REACTIONS[] =
	"SELECT reaction, count(*) FROM reactions WHERE kind = ? AND target = ?"
	" GROUP BY reaction";
static const char SQL_MY_REACTIONS[] =
	"SELECT reaction FROM reactions WHERE kind = ? AND target = ?"
	" AND account = ?";
static const char SQL_REPLY_COUNT[] =
	"SELECT count(*) FROM replies WHERE annotation = ? AND gone = 0";
static const char SQL_HIDE_ANN[] =
	"UPDATE annotations SET hidden = ?, hidden_reason = ? WHERE id = ?";
static const char SQL_HIDE_REPLY[] =
	"UPDATE replies SET hidden = ?, hidden_reason = ? WHERE id = ?";
static const char SQL_LOCK[] =
	"UPDATE annotations SET locked = ? WHERE id = ? AND gone = 0";
static const char SQL_PIN[] =
	"UPDATE annotations SET pinned = ? WHERE id = ? AND gone = 0";
static const char SQL_WALK_ALL[] =
	"SELECT id, chapter, position FROM annotations"
	" WHERE circle = ? AND gone = 0";
static const char SQL_WALK_CHAPTER[] =
	"SELECT id, chapter, position FROM annotations"
	" WHERE circle = ? AND chapter = ? AND gone = 0";
static const char SQL_CLONE_SRC[] =
	"SELECT id FROM annotations WHERE circle = ? AND author = ?"
	" AND visibility = 'circle' AND gone = 0 AND deleted = 0 AND hidden = 0"
	" ORDER BY id";
static const char SQL_CLONE_COPY[] =
	"INSERT INTO annotations(circle, chapter, author, body, body_html,"
	" visibility, position, created_at, updated_at)"
	" SELECT ?, chapter, author, body, body_html, 'circle', position, ?, ?"
	" FROM annotations WHERE id = ?";
static const char SQL_VERSIONS[] =
	"SELECT body, replaced_at FROM post_versions WHERE kind = ? AND id = ?"
	" ORDER BY rowid";
static const char SQL_THREAD_REPLIES[] =
	"SELECT id FROM replies WHERE annotation = ? AND gone = 0 ORDER BY id";

const char *th_kind_name(int kind)
{
	return kind == TH_REPLY ? "reply" : "annotation";
}

json_t *th_time_json(int64_t t)
{
	return rfc3339_json(t);
}

json_t *th_target_ref(int kind, int64_t id)
{
	return json_pack("{s:I}", th_kind_name(kind), (json_int_t)id);
}

int th_post_load(struct store *db, int kind, int64_t id, struct th_post *p)
{
	struct store_stmt *st;
	int rc;

	memset(p, 0, sizeof(*p));
	p->kind = kind;
	st = store_query(db, kind == TH_REPLY ? SQL_REPLY : SQL_ANN, "i", id);
	if (!st)
		return SCH_EDB;
	rc = store_row(st);
	if (rc <= 0)
		return rc < 0 ? rc : SCH_ENOTFOUND;
	p->id = store_int(st, 0);
	p->circle = store_int(st, 1);
	p->chapter = store_int(st, 2);
	p->author = store_int(st, 3);
	p->body = store_text_dup(st, 4);
	p->body_html = store_text_dup(st, 5);
	p->private_ = store_int(st, 6) != 0;
	if (kind == TH_REPLY) {
		p->annotation = store_int(st, 7);
		p->parent = store_int(st, 8);
		p->position = -1;
	} else {
		p->annotation = p->id;
		p->position = store_int(st, 7);
	}
	p->created_at = store_int(st, kind == TH_REPLY ? 9 : 8);
	p->updated_at = store_int(st, kind == TH_REPLY ? 10 : 9);
	p->edited = store_int(st, kind == TH_REPLY ? 11 : 10) != 0;
	if (kind == TH_REPLY) {
		p->locked = store_int(st, 12) != 0;
	} else {
		p->pinned = store_int(st, 11) != 0;
		p->locked = store_int(st, 12) != 0;
	}
	p->hidden = store_int(st, 13) != 0;
	p->deleted = store_int(st, 14) != 0;
	store_done(st);
	return 0;
}

int th_emit_post(struct rpc_ctx *ctx, enum events_type type,
		 const struct th_post *p)
{
	struct events_event ev = {.type = type, .ctx = ctx};

	ev.u.post.kind = p->kind;
	ev.u.post.id = p->id;
	ev.u.post.circle = p->circle;
	ev.u.post.chapter = p->chapter;
	ev.u.post.author = p->author;
	ev.u.post.private_ = p->private_;
	ev.u.post.body = p->deleted ? NULL : p->body;
	return events_emit(&ev);
}

int th_check_write(struct rpc_ctx *ctx, enum events_type type,
		   const struct vis_viewer *v, int64_t circle)
{
	struct events_event ev = {.type = type, .ctx = ctx};

	ev.u.post.circle = circle;
	ev.u.post.author = rpc_account(ctx);
	ev.u.post.viewer = v;
	return events_emit(&ev);
}

void th_post_free(struct th_post *p)
{
	free(p->body);
	free(p->body_html);
	p->body = p->body_html = NULL;
}

int th_chapter_order(struct store *db, int64_t chapter)
{
	struct books_chapter_info ci;

	if (books_chapter_info(db, chapter, &ci) != 0)
		return 0;
	return ci.order;
}

void th_post_vis(struct store *db, const struct th_post *p,
		 struct vis_item *out)
{
	memset(out, 0, sizeof(*out));
	out->circle = p->circle;
	out->author = p->author;
	out->chapter = p->chapter;
	out->chapter_order =
		p->order > 0 ? p->order : th_chapter_order(db, p->chapter);
	out->private_ = p->private_;
	out->hidden = p->hidden;
	out->thread = true; /* replies are part of their thread */
}

/* {KIND:0} for all four kinds. */
static json_t *th_no_reactions(void)
{
	json_t *o = json_object();

	for (int i = 0; th_reaction_kinds[i]; i++)
		json_object_set_new(o, th_reaction_kinds[i], json_integer(0));
	return o;
}

json_t *th_reactions_json(struct store *db, int kind, int64_t id)
{
	struct store_stmt *st;
	json_t *o = th_no_reactions();

	st = store_query(db, SQL_REACTIONS, "ii", (int64_t)kind, id);
	while (st && store_row(st) > 0)
		json_object_set_new(o, store_text(st, 0),
				    json_integer(store_int(st, 1)));
	return o;
}

json_t *th_my_reactions_json(struct store *db, int kind, int64_t id,
			     int64_t account)
{
	struct store_stmt *st;
	json_t *a = json_array();
	bool mine[4] = {false, false, false, false};
	int i;

	if (!account)
		return a;
	st = store_query(db, SQL_MY_REACTIONS, "iii", (int64_t)kind, id,
			 account);
	while (st && store_row(st) > 0) {
		const char *r = store_text(st, 0);

		for (i = 0; th_reaction_kinds[i]; i++)
			if (r && strcmp(r, th_reaction_kinds[i]) == 0)
				mine[i] = true;
	}
	/* a stable order: the order of SPEC's list */
	for (i = 0; th_reaction_kinds[i]; i++)
		if (mine[i])
			json_array_append_new(
				a, json_string(th_reaction_kinds[i]));
	return a;
}

/* Authors loaded in the current lean run (exec/later.h: an account's
 * handle and name do not change within one); shared, never modified. */
#define TH_AUTHORS 64
static struct {
	unsigned long run;
	unsigned n, next;
	int64_t account[TH_AUTHORS];
	json_t *obj[TH_AUTHORS];
} tha;

static void th_authors_clear(void)
{
	for (unsigned i = 0; i < tha.n; i++)
		json_decref(tha.obj[i]);
	tha.n = tha.next = 0;
}

static json_t *th_author(struct store *db, int64_t account)
{
	static bool registered;
	unsigned long run;
	bool lean = exec_lean_run(&run);
	json_t *a;

	if (lean && !registered) {
		registered = true;
		atexit(th_authors_clear);
	}
	if (lean && run != tha.run) {
		th_authors_clear();
		tha.run = run;
	}
	for (unsigned i = 0; lean && i < tha.n; i++)
		if (tha.account[i] == account)
			return json_incref(tha.obj[i]);
	a = auth_author_json(db, account);
	if (!a)
		a = json_pack("{s:I, s:n, s:n}", "id", (json_int_t)account,
			      "handle", "display_name");
	if (lean) {
		unsigned i = tha.next;

		tha.next = (tha.next + 1) % TH_AUTHORS;
		if (tha.n < TH_AUTHORS)
			tha.n++;
		else
			json_decref(tha.obj[i]);
		tha.account[i] = account;
		tha.obj[i] = json_incref(a);
	}
	return a;
}

static json_t *th_str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

int64_t (*threads_reply_outcome)(struct store *db, int64_t reply,
				 int64_t annotation);

json_t *th_post_json(struct store *db, const struct th_post *p, int64_t me,
		     enum vis_result r)
{
	bool redact = r == VIS_REDACTED || p->deleted;
	json_t *o;

	o = json_pack(
		"{s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:b, s:o, s:o,"
		" s:b, s:b}",
		"id", (json_int_t)p->id, "circle", (json_int_t)p->circle,
		"chapter", (json_int_t)p->chapter, "author",
		th_author(db, p->author), "body",
		redact ? json_null() : th_str_or_null(p->body), "body_html",
		redact ? json_null() : th_str_or_null(p->body_html),
		"created_at", th_time_json(p->created_at), "updated_at",
		th_time_json(p->updated_at), "edited", p->edited, "reactions",
		p->fresh ? th_no_reactions()
			 : th_reactions_json(db, p->kind, p->id),
		"my_reactions",
		p->fresh ? json_array()
			 : th_my_reactions_json(db, p->kind, p->id, me),
		"hidden", p->hidden || r == VIS_REDACTED, "deleted",
		p->deleted);
	if (!o)
		die("threads: json_pack failed");
	if (p->kind == TH_REPLY) {
		json_object_set_new(o, "annotation",
				    json_integer(p->annotation));
		json_object_set_new(o, "parent",
				    p->parent ? json_integer(p->parent)
					      : json_null());
		if (threads_reply_outcome) {
			int64_t m =
				threads_reply_outcome(db, p->id, p->annotation);

			if (m > 0)
				json_object_set_new(o, "meeting_outcome",
						    json_integer(m));
		}
	} else {
		json_t *target = NULL;
		const char *state = "exact";
		int64_t n = 0;

		if (p->no_anchor ||
		    books_anchor_get(db, p->id, &target, &state) != 0 ||
		    !target) {
			target = json_null();
			state = "exact";
		}
		if (!p->fresh)
			store_int_query(db, &n, SQL_REPLY_COUNT, "i", p->id);
		json_object_set_new(o, "target", target);
		json_object_set_new(
			o, "visibility",
			json_string(p->private_ ? "private" : "circle"));
		json_object_set_new(o, "reply_count", json_integer(n));
		json_object_set_new(o, "pinned", json_boolean(p->pinned));
		json_object_set_new(o, "locked", json_boolean(p->locked));
		json_object_set_new(o, "anchor", json_string(state));
	}
	return o;
}

/* The visibility of p and its event data in full, and the overlay that
 * makes it what th_post_json(VIS_REDACTED) gives: no body, hidden
 * (rpc_publish). */
static void post_event(struct store *db, const struct th_post *p,
		       struct vis_item *item, json_t **full, json_t **redacted)
{
	th_post_vis(db, p, item);
	*full = th_post_json(db, p, 0, VIS_FULL);
	*redacted =
		json_pack("{s:n,s:n,s:b}", "body", "body_html", "hidden", 1);
}

int th_publish_post_reply(struct rpc_ctx *ctx, const char *type,
			  const struct th_post *p, int64_t me, json_t **reply)
{
	struct store *db = rpc_store(ctx);
	struct vis_item item;
	json_t *full, *redacted;
	int64_t seq;

	post_event(db, p, &item, &full, &redacted);
	if (reply) {
		*reply = json_deep_copy(full);
		if (me)
			json_object_set_new(
				*reply, "my_reactions",
				th_my_reactions_json(db, p->kind, p->id, me));
	}
	seq = rpc_publish(ctx, p->circle, type, &item, th_kind_name(p->kind),
			  p->id, full, redacted);
	if (seq < 0 && reply) {
		json_decref(*reply);
		*reply = NULL;
	}
	return seq < 0 ? (int)seq : 0;
}

int th_publish_post_raw(struct rpc_ctx *ctx, const char *type,
			const struct th_post *p)
{
	static const char key[] = "\"data\":";
	struct store *db = rpc_store(ctx);
	struct rpc_out *o;
	struct vis_item item;
	json_t *full, *redacted;
	const char *bytes, *data;
	size_t len;
	int64_t seq;

	post_event(db, p, &item, &full, &redacted);
	seq = rpc_publish(ctx, p->circle, type, &item, th_kind_name(p->kind),
			  p->id, full, redacted);
	if (seq < 0)
		return (int)seq;
	/* the event rpc_publish queued: {"jsonrpc":...,"params":{"type":..,
	 * "circle":N,"seq":N,"data":DATA}} with DATA the object (bus.c) */
	o = ctx->outs_tail;
	if (!o || o->kind != RPC_OUT_EVENT || !o->bytes)
		return SCH_EDB;
	bytes = (const char *)refbuf_bytes(o->bytes);
	len = o->bytes->len;
	data = NULL;
	for (size_t i = 0; i + sizeof(key) - 1 + 2 <= len && i < 256; i++)
		if (memcmp(bytes + i, key, sizeof(key) - 1) == 0) {
			data = bytes + i + sizeof(key) - 1;
			break;
		}
	if (!data)
		return SCH_EDB;
	rpc_result_raw(ctx, refbuf_new(data, len - (size_t)(data - bytes) - 2));
	return 0;
}

int th_publish_post(struct rpc_ctx *ctx, const char *type,
		    const struct th_post *p)
{
	return th_publish_post_reply(ctx, type, p, 0, NULL);
}

/* ---- threads.h ---- */

int threads_target_get(struct store *db, int kind, int64_t id,
		       struct threads_target *out)
{
	struct th_post p;
	int rc;

	memset(out, 0, sizeof(*out));
	if (kind != TH_ANNOTATION && kind != TH_REPLY)
		return SCH_EINVAL;
	rc = th_post_load(db, kind, id, &p);
	if (rc)
		return rc;
	out->kind = kind;
	out->id = p.id;
	out->circle = p.circle;
	out->chapter = p.chapter;
	out->annotation = p.annotation;
	out->author = p.author;
	out->private_ = p.private_;
	out->hidden = p.hidden;
	out->deleted = p.deleted;
	out->locked = p.locked;
	th_post_free(&p);
	return 0;
}

int threads_target_parse(struct store *db, json_t *target,
			 struct threads_target *out)
{
	const char *key;
	json_t *v;
	int kind;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(target) || json_object_size(target) != 1)
		return SCH_EINVAL;
	json_object_foreach(target, key, v)
	{
		if (strcmp(key, "annotation") == 0)
			kind = TH_ANNOTATION;
		else if (strcmp(key, "reply") == 0)
			kind = TH_REPLY;
		else
			return SCH_EINVAL;
		if (!json_is_integer(v) || json_integer_value(v) < 1)
			return SCH_EINVAL;
		return threads_target_get(db, kind, json_integer_value(v), out);
	}
	return SCH_EINVAL;
}

void threads_target_vis(struct store *db, const struct threads_target *t,
			struct vis_item *out)
{
	memset(out, 0, sizeof(*out));
	out->circle = t->circle;
	out->author = t->author;
	out->chapter = t->chapter;
	out->chapter_order = th_chapter_order(db, t->chapter);
	out->private_ = t->private_;
	out->hidden = t->hidden;
	out->thread = true;
}

int threads_set_hidden(struct rpc_ctx *ctx, const struct threads_target *t,
		       bool hidden, const char *reason)
{
	struct store *db = rpc_store(ctx);
	struct th_post p;
	int rc;

	rc = th_post_load(db, t->kind, t->id, &p);
	if (rc)
		return rc;
	rc = store_run(db, t->kind == TH_REPLY ? SQL_HIDE_REPLY : SQL_HIDE_ANN,
		       "bti", hidden, hidden ? reason : NULL, t->id);
	if (rc)
		goto out;
	p.hidden = hidden;
	rc = bus_mark(rpc_store(ctx), th_kind_name(t->kind), t->id,
		      hidden ? 1 : 0, false);
	if (rc)
		goto out;
	rc = th_publish_post(
		ctx,
		t->kind == TH_REPLY
			? (hidden ? "reply.hidden" : "reply.unhidden")
			: (hidden ? "annotation.hidden"
				  : "annotation.unhidden"),
		&p);
out:
	th_post_free(&p);
	return rc;
}

/* Shared by lock and pin: updates the flag and publishes the thread event. */
static int th_set_flag(struct rpc_ctx *ctx, int64_t annotation, const char *sql,
		       bool on, const char *type)
{
	struct store *db = rpc_store(ctx);
	struct th_post p;
	int rc;

	rc = store_run(db, sql, "bi", on, annotation);
	if (rc)
		return rc;
	rc = th_post_load(db, TH_ANNOTATION, annotation, &p);
	if (rc)
		return rc;
	rc = th_publish_post(ctx, type, &p);
	th_post_free(&p);
	return rc;
}

int threads_set_locked(struct rpc_ctx *ctx, int64_t annotation, bool locked)
{
	return th_set_flag(ctx, annotation, SQL_LOCK, locked,
			   locked ? "thread.locked" : "thread.unlocked");
}

int threads_set_pinned(struct rpc_ctx *ctx, int64_t annotation, bool pinned)
{
	return th_set_flag(ctx, annotation, SQL_PIN, pinned,
			   pinned ? "thread.pinned" : "thread.unpinned");
}

json_t *threads_target_json(struct rpc_ctx *ctx, const struct threads_target *t)
{
	struct store *db = rpc_store(ctx);
	struct vis_viewer v;
	struct vis_item item;
	struct th_post p;
	enum vis_result r;
	json_t *o = NULL;

	if (th_post_load(db, t->kind, t->id, &p))
		return NULL;
	if (circles_viewer(db, p.circle, rpc_account(ctx), rpc_is_admin(ctx),
			   &v) == 0) {
		th_post_vis(db, &p, &item);
		r = vis_check(&v, &item);
		if (r != VIS_NONE)
			o = th_post_json(db, &p, rpc_account(ctx), r);
	}
	th_post_free(&p);
	return o;
}

/* One annotation of the walk, sorted in reading order. */
struct th_walk_row {
	int64_t id;
	int64_t chapter;
	int64_t position;
	int order;
};

static int th_walk_cmp(const void *a, const void *b)
{
	const struct th_walk_row *x = a, *y = b;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	if (x->chapter != y->chapter)
		return x->chapter < y->chapter ? -1 : 1;
	if (x->position != y->position)
		return x->position < y->position ? -1 : 1;
	return x->id < y->id ? -1 : (x->id > y->id);
}

/* Adds "replies": every reply of the thread v may see, in order. */
static int th_add_replies(struct store *db, json_t *obj, int64_t annotation,
			  const struct vis_viewer *v)
{
	int64_t *ids = NULL;
	size_t n = 0, i;
	json_t *arr = json_array();
	int rc;

	rc = store_ids(store_query(db, SQL_THREAD_REPLIES, "i", annotation),
		       &ids, &n);
	if (rc < 0)
		goto out;
	for (i = 0; i < n; i++) {
		struct th_post r;
		struct vis_item item;
		enum vis_result vr;

		if (th_post_load(db, TH_REPLY, ids[i], &r))
			continue;
		th_post_vis(db, &r, &item);
		vr = vis_check(v, &item);
		if (vr != VIS_NONE) {
			json_t *o = th_post_json(db, &r, v->account, vr);

			if (vr == VIS_FULL && r.edited && !r.deleted)
				json_object_set_new(
					o, "versions",
					th_versions_json(db, TH_REPLY, r.id));
			json_array_append_new(arr, o);
		}
		th_post_free(&r);
	}
	rc = 0;
out:
	json_object_set_new(obj, "replies", arr);
	free(ids);
	return rc;
}

int threads_each_visible(struct rpc_ctx *ctx, int64_t circle, int64_t chapter,
			 const struct vis_viewer *v, bool with_replies,
			 int (*fn)(json_t *annotation, void *arg), void *arg)
{
	struct store *db = rpc_store(ctx);
	struct store_stmt *st;
	struct th_walk_row *rows = NULL;
	size_t n = 0, cap = 0, i;
	int rc;

	if (chapter)
		st = store_query(db, SQL_WALK_CHAPTER, "ii", circle, chapter);
	else
		st = store_query(db, SQL_WALK_ALL, "i", circle);
	if (!st)
		return SCH_EDB;
	while ((rc = store_row(st)) > 0) {
		rows = vec_reserve(rows, n, &cap, sizeof(*rows));
		rows[n].id = store_int(st, 0);
		rows[n].chapter = store_int(st, 1);
		rows[n].position = store_int(st, 2);
		rows[n].order = 0;
		n++;
	}
	if (rc < 0)
		goto out;
	/* chapter order: one lookup per distinct chapter */
	for (i = 0; i < n; i++) {
		if (i > 0 && rows[i].chapter == rows[i - 1].chapter)
			rows[i].order = rows[i - 1].order;
		else
			rows[i].order = th_chapter_order(db, rows[i].chapter);
	}
	if (n)
		qsort(rows, n, sizeof(*rows), th_walk_cmp);
	rc = 0;
	for (i = 0; i < n && rc == 0; i++) {
		struct th_post p;
		struct vis_item item;
		enum vis_result r;
		json_t *o;

		if (th_post_load(db, TH_ANNOTATION, rows[i].id, &p))
			continue;
		th_post_vis(db, &p, &item);
		item.chapter_order = rows[i].order;
		r = vis_check(v, &item);
		if (r != VIS_NONE) {
			o = th_post_json(db, &p, v->account, r);
			if (with_replies)
				th_add_replies(db, o, p.id, v);
			rc = fn(o, arg);
			json_decref(o);
		}
		th_post_free(&p);
	}
out:
	free(rows);
	return rc;
}

int th_get_replies(struct store *db, json_t *obj, int64_t annotation,
		   const struct vis_viewer *v)
{
	return th_add_replies(db, obj, annotation, v);
}

json_t *th_versions_json(struct store *db, int kind, int64_t id)
{
	struct store_stmt *st;
	json_t *a = json_array();

	st = store_query(db, SQL_VERSIONS, "ii", (int64_t)kind, id);
	while (st && store_row(st) > 0)
		json_array_append_new(
			a, json_pack("{s:s, s:o}", "body", store_text(st, 0),
				     "replaced_at",
				     th_time_json(store_int(st, 1))));
	return a;
}

int threads_clone(struct rpc_ctx *ctx, int64_t from, int64_t to,
		  int64_t account, int *copied)
{
	struct store *db = rpc_store(ctx);
	int64_t *ids = NULL, now = rpc_now(ctx);
	size_t n = 0, i;
	int rc;

	*copied = 0;
	rc = store_ids(store_query(db, SQL_CLONE_SRC, "ii", from, account),
		       &ids, &n);
	for (i = 0; rc == 0 && i < n; i++) {
		struct th_post p;
		int64_t id;

		rc = store_run(db, SQL_CLONE_COPY, "iiii", to, now, now,
			       ids[i]);
		if (rc)
			break;
		id = store_last_id(db);
		rc = books_anchor_copy(db, ids[i], id);
		if (rc == SCH_ENOTFOUND)
			rc = 0; /* a chapter-level thread has no anchor */
		if (rc)
			break;
		rc = th_post_load(db, TH_ANNOTATION, id, &p);
		if (rc)
			break;
		/* as before the split: an index failure does not stop it */
		(void)th_emit_post(ctx, EVENTS_POST_CREATED, &p);
		rc = th_publish_post(ctx, "annotation.created", &p);
		th_post_free(&p);
		if (!rc)
			(*copied)++;
	}
	free(ids);
	return rc;
}
