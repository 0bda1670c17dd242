/*
 * flags.c - members report posts (flag.create), moderators work through
 * the queue (mod.queue) and decide (mod.resolve).
 *
 * Auto-hide: when members flag a post and moderation_config.autohide_flags
 * distinct members have an open flag on it, the post is hidden until a
 * moderator decides, the author is told why (a "moderation" notification with
 * the reasons), and the system's action is logged with a null actor. Once a
 * moderator has dismissed flags on a post, further flags go to the queue but
 * no longer hide it automatically: a moderator has already judged it.
 */
#include "moderation/moderation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "moderation/internal.h"
#include "notify/notify.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"

#define MOD_QUEUE_PAGE 50
#define MOD_NOTE_MAX 1000

static const char *const flag_reasons[] = {"off_topic", "uncivil", "spam",
					   "other", NULL};

static const char SQL_OPEN_BY[] =
	"SELECT id FROM flags WHERE flagger = ? AND target_kind = ?"
	" AND target_id = ? AND status = 'open'";
static const char SQL_FLAG_ADD[] =
	"INSERT INTO flags(circle, target_kind, target_id, flagger, reason,"
	" note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char SQL_OPEN_COUNT[] =
	"SELECT count(DISTINCT flagger) FROM flags WHERE target_kind = ?"
	" AND target_id = ? AND status = 'open'";
static const char SQL_DISMISSED_ANY[] =
	"SELECT count(*) FROM flags WHERE target_kind = ? AND target_id = ?"
	" AND status = 'dismissed'";
static const char SQL_OPEN_REASONS[] =
	"SELECT DISTINCT reason FROM flags WHERE target_kind = ?"
	" AND target_id = ? AND status = 'open' ORDER BY reason";
static const char SQL_QUEUE[] =
	"SELECT target_kind, target_id, min(id) AS first, count(*),"
	" min(created_at) FROM flags WHERE circle = ? AND status = 'open'"
	" GROUP BY target_kind, target_id HAVING min(id) > ?"
	" ORDER BY first LIMIT ?";
static const char SQL_TARGET_FLAGS[] =
	"SELECT id, flagger, reason, note, created_at FROM flags"
	" WHERE target_kind = ? AND target_id = ? AND status = 'open'"
	" ORDER BY id";
static const char SQL_FLAG_GET[] =
	"SELECT circle, target_kind, target_id, status, reason FROM flags"
	" WHERE id = ?";
static const char SQL_FLAG_CLOSE[] =
	"UPDATE flags SET status = ?, resolved_by = ?, resolved_at = ?"
	" WHERE target_kind = ? AND target_id = ? AND status = 'open'";

static int kind_of(const char *name)
{
	return strcmp(name, "reply") == 0 ? 1 : 0;
}

/* "uncivil, spam": the distinct reasons of the open flags (caller frees). */
static char *open_reasons(struct store *db, const struct threads_target *t)
{
	struct buf b = BUF_INIT;
	struct store_stmt *st;

	st = store_query(db, SQL_OPEN_REASONS, "ti", mod_kind_name(t->kind),
			 t->id);
	while (st && store_row(st) > 0) {
		if (b.len)
			buf_adds(&b, ", ");
		buf_adds(&b, store_text(st, 0));
	}
	return buf_detach(&b, NULL);
}

static const char SQL_CIRCLE_MODS[] =
	"SELECT account FROM memberships WHERE circle = ?"
	" AND role IN ('owner', 'moderator') AND account != ? AND account != ?"
	" LIMIT 64";

/* A new flag puts a badge on the inbox of the circle's moderators and
 * owners (not the flagger's or the author's): a `moderation` notification
 * with action "flagged". */
static int notify_moderators(struct rpc_ctx *ctx,
			     const struct threads_target *t, const char *reason)
{
	struct store *db = rpc_store(ctx);
	int64_t *mods;
	size_t n;
	int rc;
	json_t *data;

	rc = store_ids(store_query(db, SQL_CIRCLE_MODS, "iii", t->circle,
				   rpc_account(ctx), t->author),
		       &mods, &n);
	if (rc)
		return rc;
	data = json_pack("{s:s,s:o,s:I,s:s,s:I,s:I,s:o}", "action", "flagged",
			 "target", mod_target_ref(t->kind, t->id), "circle",
			 (json_int_t)t->circle, "reason", reason, "annotation",
			 (json_int_t)t->annotation, "chapter",
			 (json_int_t)t->chapter, "actor",
			 auth_author_json(db, rpc_account(ctx)));
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = notify_add(ctx, mods[i], t->circle, "moderation", data);
	json_decref(data);
	free(mods);
	return rc;
}

/* Tells the author of t what moderation did to their post. */
int mod_notify_author(struct rpc_ctx *ctx, const struct threads_target *t,
		      const char *action, bool auto_, const char *reason)
{
	json_t *data;
	int rc;

	if (t->author == 0 || t->author == rpc_account(ctx))
		return 0;
	data = json_pack("{s:s,s:o,s:I,s:b,s:s?,s:I,s:I}", "action", action,
			 "target", mod_target_ref(t->kind, t->id), "circle",
			 (json_int_t)t->circle, "auto", auto_, "reason", reason,
			 "annotation", (json_int_t)t->annotation, "chapter",
			 (json_int_t)t->chapter);
	/* who acted; an automatic hide has no actor (never the flaggers) */
	if (!auto_)
		json_object_set_new(
			data, "actor",
			auth_author_json(rpc_store(ctx), rpc_account(ctx)));
	rc = notify_add(ctx, t->author, t->circle, "moderation", data);
	json_decref(data);
	return rc;
}

/* Hides t automatically when enough distinct members flagged it. */
static int maybe_autohide(struct rpc_ctx *ctx, const struct threads_target *t,
			  bool *hidden)
{
	struct store *db = rpc_store(ctx);
	int64_t n = 0, dismissed = 0;
	char target[48], *reasons = NULL, *why = NULL;
	struct buf b = BUF_INIT;
	int rc;

	*hidden = t->hidden;
	if (t->hidden || moderation_config.autohide_flags <= 0)
		return 0;
	rc = store_int_query(db, &dismissed, SQL_DISMISSED_ANY, "ti",
			     mod_kind_name(t->kind), t->id);
	if (rc < 0)
		return rc;
	if (dismissed > 0)
		return 0;
	rc = store_int_query(db, &n, SQL_OPEN_COUNT, "ti",
			     mod_kind_name(t->kind), t->id);
	if (rc < 0)
		return rc;
	if (n < moderation_config.autohide_flags)
		return 0;
	reasons = open_reasons(db, t);
	buf_addf(&b,
		 "hidden after flags from %lld members (%s) until a "
		 "moderator decides",
		 (long long)n, reasons);
	why = buf_detach(&b, NULL);
	rc = mod_do_hide(ctx, t, true, why);
	if (rc == 0) {
		mod_target_text(target, sizeof(target), mod_kind_name(t->kind),
				t->id);
		rc = mod_log_append(ctx, t->circle, 0, "auto_hide", target,
				    why);
	}
	if (rc == 0)
		rc = mod_notify_author(ctx, t, "hidden", true, why);
	if (rc == 0)
		*hidden = true;
	free(reasons);
	free(why);
	return rc;
}

int mod_flag_create(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"target", "reason", "note", NULL};
	struct store *db = rpc_store(ctx);
	struct threads_target t;
	struct vis_viewer v;
	const char *note = NULL;
	int64_t me = rpc_account(ctx), existing = 0, until = 0, id;
	bool hidden = false;
	int reason, rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_enum(ctx, params, "reason", true, flag_reasons,
			   &reason) ||
	    rpc_param_text(ctx, params, "note", false, MOD_NOTE_MAX, &note))
		return RPC_ERR;
	if (mod_resolve_target(ctx, params, "target", false, &t, &v))
		return RPC_ERR;
	if (t.deleted)
		return rpc_fail(ctx, RPC_E_NOT_FOUND, "not found");
	if (v.role == VIS_ROLE_NONE)
		return rpc_fail(ctx, RPC_E_FORBIDDEN,
				"only members of the circle may flag");
	if (t.author == me)
		return rpc_fail(ctx, RPC_E_FORBIDDEN,
				"you cannot flag your own post");
	rc = mod_muted(ctx, t.circle, me, &until);
	if (rc < 0)
		return rpc_fail_store(ctx, rc);
	if (rc == 1)
		return mod_fail_muted(ctx, until);
	if (t.locked && !vis_is_moderator(&v))
		return rpc_fail(ctx, RPC_E_LOCKED, "the thread is locked");
	rc = store_int_query(db, &existing, SQL_OPEN_BY, "iti", me,
			     mod_kind_name(t.kind), t.id);
	if (rc < 0)
		return rpc_fail_store(ctx, rc);
	if (rc == 1)
		return rpc_fail(ctx, RPC_E_CONFLICT,
				"you already have an open flag on this");
	rc = store_run(db, SQL_FLAG_ADD, "itiitti", t.circle,
		       mod_kind_name(t.kind), t.id, me, flag_reasons[reason],
		       note && note[0] ? note : NULL, rpc_now(ctx));
	if (rc)
		return rpc_fail_store(ctx, rc);
	id = store_last_id(db);
	rc = maybe_autohide(ctx, &t, &hidden);
	if (rc == 0)
		rc = notify_moderators(ctx, &t, flag_reasons[reason]);
	if (rc)
		return rpc_fail_store(ctx, rc);
	*result = json_pack(
		"{s:I,s:I,s:o,s:s,s:s?,s:s,s:o,s:b}", "id", (json_int_t)id,
		"circle", (json_int_t)t.circle, "target",
		mod_target_ref(t.kind, t.id), "reason", flag_reasons[reason],
		"note", note && note[0] ? note : NULL, "status", "open",
		"created_at", mod_time_json(rpc_now(ctx)), "hidden", hidden);
	return 0;
}

/* One queue entry's open flags, oldest first. */
static json_t *target_flags(struct store *db, const char *kind, int64_t id)
{
	json_t *arr = json_array();
	struct store_stmt *st;
	size_t n;

	st = store_query(db, SQL_TARGET_FLAGS, "ti", kind, id);
	while (st && store_row(st) > 0) {
		json_array_append_new(
			arr, json_pack("{s:I,s:I,s:s,s:s?,s:o}", "id",
				       (json_int_t)store_int(st, 0), "flagger",
				       (json_int_t)store_int(st, 1), "reason",
				       store_text(st, 2), "note",
				       store_text(st, 3), "created_at",
				       mod_time_json(store_int(st, 4))));
	}
	n = json_array_size(arr);
	for (size_t i = 0; i < n; i++) {
		json_t *f = json_array_get(arr, i);
		int64_t a = json_integer_value(json_object_get(f, "flagger"));
		json_t *aj = auth_author_json(db, a);

		json_object_set_new(f, "flagger", aj ? aj : json_null());
	}
	return arr;
}

/* A group of the queue, read before the content is loaded. */
struct queue_group {
	char kind[12];
	int64_t id;
	int64_t first;
	int64_t count;
	int64_t since;
};

int mod_queue(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	struct queue_group groups[MOD_QUEUE_PAGE + 1];
	struct store *db = rpc_store(ctx);
	struct store_stmt *st;
	int64_t circle, cursor;
	json_t *items;
	int n = 0, rc = 0;

	if (mod_list_params(ctx, params, &circle, &cursor))
		return RPC_ERR;
	st = store_query(db, SQL_QUEUE, "iii", circle, cursor,
			 (int64_t)MOD_QUEUE_PAGE + 1);
	if (!st)
		return rpc_fail_store(ctx, SCH_EDB);
	while (n <= MOD_QUEUE_PAGE && (rc = store_row(st)) > 0) {
		struct queue_group *g = &groups[n++];

		snprintf(g->kind, sizeof(g->kind), "%s", store_text(st, 0));
		g->id = store_int(st, 1);
		g->first = store_int(st, 2);
		g->count = store_int(st, 3);
		g->since = store_int(st, 4);
	}
	store_done(st);
	if (rc < 0)
		return rpc_fail_store(ctx, rc);
	items = json_array();
	for (int i = 0; i < n && i < MOD_QUEUE_PAGE; i++) {
		struct queue_group *g = &groups[i];
		struct threads_target t;
		json_t *content = NULL;

		memset(&t, 0, sizeof(t));
		if (threads_target_get(db, kind_of(g->kind), g->id, &t) == 0)
			content = threads_target_json(ctx, &t);
		json_array_append_new(
			items,
			json_pack("{s:o,s:o,s:o,s:I,s:o,s:b}", "target",
				  mod_target_ref(kind_of(g->kind), g->id),
				  "content", content ? content : json_null(),
				  "flags", target_flags(db, g->kind, g->id),
				  "count", (json_int_t)g->count,
				  "first_flagged_at", mod_time_json(g->since),
				  "auto_hidden",
				  content && mod_is_autohidden(ctx, &t)));
	}
	*result = mod_page_json(
		items, n > MOD_QUEUE_PAGE,
		n > MOD_QUEUE_PAGE ? groups[MOD_QUEUE_PAGE - 1].first : 0);
	return 0;
}

/* Notifies every flagger of the target's open flags of the outcome. Runs
 * before the flags are closed. */
static int notify_flaggers(struct rpc_ctx *ctx, const struct threads_target *t,
			   const char *outcome)
{
	struct store *db = rpc_store(ctx);
	json_t *flags = target_flags(db, mod_kind_name(t->kind), t->id);
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < json_array_size(flags); i++) {
		json_t *f = json_array_get(flags, i);
		json_t *who = json_object_get(f, "flagger");
		int64_t a = json_integer_value(json_object_get(who, "id"));
		json_t *data;

		if (a == 0 || a == rpc_account(ctx))
			continue;
		data = json_pack("{s:O,s:o,s:I,s:s,s:O,s:I,s:I}", "flag",
				 json_object_get(f, "id"), "target",
				 mod_target_ref(t->kind, t->id), "circle",
				 (json_int_t)t->circle, "outcome", outcome,
				 "reason", json_object_get(f, "reason"),
				 "annotation", (json_int_t)t->annotation,
				 "chapter", (json_int_t)t->chapter);
		rc = notify_add(ctx, a, t->circle, "flag_resolved", data);
		json_decref(data);
	}
	json_decref(flags);
	return rc;
}

int mod_flags_close(struct rpc_ctx *ctx, const struct threads_target *t,
		    const char *outcome, int *closed)
{
	struct store *db = rpc_store(ctx);
	int rc;

	*closed = 0;
	rc = notify_flaggers(ctx, t, outcome);
	if (rc == 0)
		rc = store_run(db, SQL_FLAG_CLOSE, "tIiti", outcome,
			       rpc_account(ctx), rpc_now(ctx),
			       mod_kind_name(t->kind), t->id);
	if (rc == 0)
		*closed = store_changes(db);
	return rc;
}

int mod_resolve(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"flag", "action", NULL};
	static const char *const actions[] = {"dismiss", "hide", NULL};
	struct store *db = rpc_store(ctx);
	struct threads_target t;
	struct vis_viewer v;
	struct store_stmt *st;
	int64_t flag, circle = 0, tid = 0;
	char kind[12] = "", status[12] = "", target[48];
	char *reasons = NULL;
	int action, rc, closed;
	bool hidden;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_id(ctx, params, "flag", true, &flag) ||
	    rpc_param_enum(ctx, params, "action", true, actions, &action))
		return RPC_ERR;
	st = store_query(db, SQL_FLAG_GET, "i", flag);
	if (!st)
		return rpc_fail_store(ctx, SCH_EDB);
	rc = store_row(st);
	if (rc > 0) {
		circle = store_int(st, 0);
		snprintf(kind, sizeof(kind), "%s", store_text(st, 1));
		tid = store_int(st, 2);
		snprintf(status, sizeof(status), "%s", store_text(st, 3));
	}
	store_done(st);
	if (rc < 0)
		return rpc_fail_store(ctx, rc);
	if (rc == 0)
		return rpc_fail(ctx, RPC_E_NOT_FOUND, "no such flag");
	if (mod_require_moderator(ctx, circle, &v))
		return RPC_ERR;
	if (strcmp(status, "open") != 0)
		return rpc_fail(ctx, RPC_E_CONFLICT,
				"this flag was already resolved");
	memset(&t, 0, sizeof(t));
	rc = threads_target_get(db, kind_of(kind), tid, &t);
	if (rc == SCH_ENOTFOUND)
		return rpc_fail(ctx, RPC_E_NOT_FOUND, "the post is gone");
	if (rc)
		return rpc_fail_store(ctx, rc);
	mod_target_text(target, sizeof(target), kind, tid);
	reasons = open_reasons(db, &t);
	rc = mod_flags_close(ctx, &t, action == 0 ? "dismissed" : "hidden",
			     &closed);
	hidden = t.hidden;
	if (rc == 0 && action == 0 && t.hidden && mod_is_autohidden(ctx, &t)) {
		rc = mod_do_unhide(ctx, &t);
		if (rc == 0)
			rc = mod_notify_author(
				ctx, &t, "unhidden", false,
				"a moderator reviewed the flags");
		hidden = false;
	} else if (rc == 0 && action == 1) {
		bool was_auto = t.hidden && mod_is_autohidden(ctx, &t);
		char *why = NULL;
		struct buf b = BUF_INIT;

		buf_addf(&b, "flagged: %s", reasons);
		why = buf_detach(&b, NULL);
		rc = mod_do_hide(ctx, &t, false, why);
		if (rc == 0 && (!t.hidden || was_auto))
			rc = mod_notify_author(ctx, &t, "hidden", false, why);
		free(why);
		hidden = true;
	}
	if (rc == 0)
		rc = moderation_log(ctx, circle,
				    action == 0 ? "dismiss_flags" : "hide",
				    target, reasons);
	free(reasons);
	if (rc)
		return rpc_fail_store(ctx, rc);
	*result = json_pack("{s:I,s:o,s:s,s:i,s:b}", "flag", (json_int_t)flag,
			    "target", mod_target_ref(t.kind, t.id), "action",
			    actions[action], "resolved", closed, "hidden",
			    hidden);
	return 0;
}
