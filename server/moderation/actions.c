/*
 * actions.c - what moderators do to posts and threads: hide and unhide an
 * annotation or reply, lock and unlock a thread, pin it to the top of its
 * chapter. threads owns the rows and publishes the events
 * (annotation.hidden, thread.locked, ...); this file decides who may, keeps
 * the record of what moderation hid, tells the author, and writes the audit
 * log. Nothing here deletes content.
 */
#include "moderation/moderation.h"

#include <string.h>

#include "moderation/internal.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "util/err.h"

/* The target as the caller now sees it, into *result. */
static int target_result(struct rpc_ctx *ctx, int kind, int64_t id,
			 json_t **result)
{
	struct threads_target t;
	json_t *obj = NULL;

	memset(&t, 0, sizeof(t));
	if (threads_target_get(rpc_store(ctx), kind, id, &t) == 0)
		obj = threads_target_json(ctx, &t);
	if (!obj)
		obj = json_pack("{s:I,s:b}", "id", (json_int_t)id, "hidden",
				t.hidden);
	*result = obj;
	return 0;
}

/*
 * The post an action is about: field "target" (an annotation or a reply)
 * or "annotation" (a thread), which the caller must moderate, into *t, and
 * its audit-log text into target. 0 or RPC_ERR.
 */
static int action_target(struct rpc_ctx *ctx, json_t *params, const char *field,
			 struct threads_target *t, char *target, size_t len)
{
	struct vis_viewer v;

	if (strcmp(field, "annotation")
		    ? mod_resolve_target(ctx, params, field, true, t, &v)
		    : mod_resolve_annotation(ctx, params, field, t, &v))
		return RPC_ERR;
	mod_target_text(target, len, mod_kind_name(t->kind), t->id);
	return 0;
}

/* The parameters {field, reason} of an action with a reason (required, or
 * optional and then left as it is), then action_target(). */
static int action_params(struct rpc_ctx *ctx, json_t *params, const char *field,
			 bool reason_required, const char **reason,
			 struct threads_target *t, char *target, size_t len)
{
	const char *const allowed[] = {field, "reason", NULL};

	if (rpc_params_only(ctx, params, allowed) ||
	    mod_param_reason(ctx, params, reason_required, reason))
		return RPC_ERR;
	return action_target(ctx, params, field, t, target, len);
}

/* An action's answer: its steps' rc, then the post as the caller now sees
 * it. */
static int action_done(struct rpc_ctx *ctx, int rc,
		       const struct threads_target *t, json_t **result)
{
	if (rc)
		return rpc_fail_store(ctx, rc);
	return target_result(ctx, t->kind, t->id, result);
}

int mod_hide(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	struct threads_target t;
	const char *reason;
	char target[48];
	int closed, rc;

	if (action_params(ctx, params, "target", true, &reason, &t, target,
			  sizeof(target)))
		return RPC_ERR;
	rc = mod_do_hide(ctx, &t, false, reason);
	if (rc == 0)
		rc = mod_flags_close(ctx, &t, "hidden", &closed);
	if (rc == 0)
		rc = mod_notify_author(ctx, &t, "hidden", false, reason);
	if (rc == 0)
		rc = moderation_log(ctx, t.circle, "hide", target, reason);
	return action_done(ctx, rc, &t, result);
}

int mod_unhide(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	struct threads_target t;
	const char *reason = NULL;
	char target[48];
	int rc;

	if (action_params(ctx, params, "target", false, &reason, &t, target,
			  sizeof(target)))
		return RPC_ERR;
	rc = mod_do_unhide(ctx, &t);
	if (rc == 0 && t.hidden)
		rc = mod_notify_author(ctx, &t, "unhidden", false, reason);
	if (rc == 0)
		rc = moderation_log(ctx, t.circle, "unhide", target, reason);
	return action_done(ctx, rc, &t, result);
}

/* mod.lock and mod.unlock. */
static int lock_common(struct rpc_ctx *ctx, json_t *params, json_t **result,
		       bool lock)
{
	struct threads_target t;
	const char *reason = NULL;
	char target[48];
	int rc;

	if (action_params(ctx, params, "annotation", false, &reason, &t, target,
			  sizeof(target)))
		return RPC_ERR;
	rc = threads_set_locked(ctx, t.id, lock);
	if (rc == 0)
		rc = moderation_log(ctx, t.circle, lock ? "lock" : "unlock",
				    target, reason);
	return action_done(ctx, rc, &t, result);
}

int mod_lock(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	return lock_common(ctx, params, result, true);
}

int mod_unlock(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	return lock_common(ctx, params, result, false);
}

int mod_pin(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"annotation", "on", NULL};
	struct threads_target t;
	char target[48];
	bool on = true;
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_bool(ctx, params, "on", true, &on) ||
	    action_target(ctx, params, "annotation", &t, target,
			  sizeof(target)))
		return RPC_ERR;
	rc = threads_set_pinned(ctx, t.id, on);
	if (rc == 0)
		rc = moderation_log(ctx, t.circle, on ? "pin" : "unpin", target,
				    NULL);
	return action_done(ctx, rc, &t, result);
}
