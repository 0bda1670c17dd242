/*
 * internal.h - what the files of the moderation module share: the permission
 * checks of SPEC §4, target naming, RFC 3339 times, the audit log writer and
 * the method handlers that moderation.c registers. Nothing outside
 * server/moderation/ includes this header.
 */
#ifndef SCH_MODERATION_INTERNAL_H
#define SCH_MODERATION_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "threads/threads.h"
#include "visibility/visibility.h"

struct rpc_ctx;

/* Longest reason a moderator may give, in code points. */
#define MOD_REASON_MAX 1000

/* Reads the optional or required "reason" parameter (1 to MOD_REASON_MAX
 * code points when required; *reason left as it is when absent). 0 or
 * RPC_ERR. */
int mod_param_reason(struct rpc_ctx *ctx, json_t *params, bool required,
		     const char **reason);

/* -32003 unless the caller is a site admin. 0 or RPC_ERR. */
int mod_require_admin(struct rpc_ctx *ctx);
/*
 * The parameters of a moderation list: {circle, cursor} for a moderator of
 * circle, or, with circle NULL, {cursor} for a site admin. *cursor is 0
 * when absent. 0 or RPC_ERR.
 */
int mod_list_params(struct rpc_ctx *ctx, json_t *params, int64_t *circle,
		    int64_t *cursor);
/* A page of a list: {items (taken), next}, next being the cursor "last"
 * when there are more, else null. New reference. */
json_t *mod_page_json(json_t *items, bool more, int64_t last);

/* "annotation" or "reply" for a threads_target kind (0 or 1). */
const char *mod_kind_name(int kind);
/* {"annotation":ID} or {"reply":ID}; new reference. */
json_t *mod_target_ref(int kind, int64_t id);
/* "annotation:12" into buf (the audit log's target text). */
void mod_target_text(char *buf, size_t len, const char *kind, int64_t id);

/*
 * Loads the caller's viewer in circle and checks that the caller may act as
 * a moderator there (moderator, owner, or site admin): -32004 when the
 * circle does not exist or the caller is not a member (nothing leaks about
 * other circles), -32003 for a plain member. Returns 0 or RPC_ERR with the
 * error recorded in ctx.
 */
int mod_require_moderator(struct rpc_ctx *ctx, int64_t circle,
			  struct vis_viewer *v);
/*
 * Resolves the target parameter named field ({"annotation":ID} or
 * {"reply":ID}) and loads the caller's viewer in its circle. -32602 for a
 * bad shape, -32004 when it does not exist or the caller may not see it
 * (another circle, someone else's private annotation). When moderator is
 * set, also -32003 unless the caller moderates that circle.
 */
int mod_resolve_target(struct rpc_ctx *ctx, json_t *params, const char *field,
		       bool moderator, struct threads_target *t,
		       struct vis_viewer *v);
/* As mod_resolve_target for an annotation id parameter (lock, pin). */
int mod_resolve_annotation(struct rpc_ctx *ctx, json_t *params,
			   const char *field, struct threads_target *t,
			   struct vis_viewer *v);

/* Appends to mod_log with an explicit actor (0: the system, stored NULL)
 * and circle (0: site-wide, stored NULL). 0 or negative SCH_E*. */
int mod_log_append(struct rpc_ctx *ctx, int64_t circle, int64_t actor,
		   const char *action, const char *target, const char *reason);

/* Records a hide in mod_hidden and hides through threads (event, marks).
 * auto_ marks an automatic hide after flags. 0 or negative SCH_E*. */
int mod_do_hide(struct rpc_ctx *ctx, const struct threads_target *t, bool auto_,
		const char *reason);
/* Undoes a hide (threads unhides, mod_hidden row gone). */
int mod_do_unhide(struct rpc_ctx *ctx, const struct threads_target *t);
/* True when moderation hid the target automatically and no moderator has
 * confirmed it yet. */
bool mod_is_autohidden(struct rpc_ctx *ctx, const struct threads_target *t);

/*
 * Whether account is muted in circle now: 1 (and *until: the end, 0 for
 * until lifted), 0 not muted, or a negative SCH_E* code.
 */
int mod_muted(struct rpc_ctx *ctx, int64_t circle, int64_t account,
	      int64_t *until);
/* Records -32010 for a muted caller: data.retry_after_ms is the time left,
 * absent for a mute until lifted (data.until is null then). RPC_ERR. */
int mod_fail_muted(struct rpc_ctx *ctx, int64_t until);

/* rfc3339_json() of the time, or JSON null for 0; new reference. */
json_t *mod_time_json(int64_t t);

/* Closes every open flag on t with outcome ("dismissed" or "hidden") and
 * notifies their flaggers ("flag_resolved"); *closed gets how many. */
int mod_flags_close(struct rpc_ctx *ctx, const struct threads_target *t,
		    const char *outcome, int *closed);
/* Tells the author of t what moderation did ("moderation" notification). */
int mod_notify_author(struct rpc_ctx *ctx, const struct threads_target *t,
		      const char *action, bool auto_, const char *reason);

/* Method handlers (flags.c). */
int mod_flag_create(struct rpc_ctx *ctx, json_t *params, json_t **result);
int mod_queue(struct rpc_ctx *ctx, json_t *params, json_t **result);
int mod_resolve(struct rpc_ctx *ctx, json_t *params, json_t **result);
/* Method handlers (actions.c). */
int mod_hide(struct rpc_ctx *ctx, json_t *params, json_t **result);
int mod_unhide(struct rpc_ctx *ctx, json_t *params, json_t **result);
int mod_lock(struct rpc_ctx *ctx, json_t *params, json_t **result);
int mod_unlock(struct rpc_ctx *ctx, json_t *params, json_t **result);
int mod_pin(struct rpc_ctx *ctx, json_t *params, json_t **result);
/* Method handlers (members.c). */
int mod_mute(struct rpc_ctx *ctx, json_t *params, json_t **result);
int mod_unmute(struct rpc_ctx *ctx, json_t *params, json_t **result);
int mod_remove(struct rpc_ctx *ctx, json_t *params, json_t **result);
int mod_slow(struct rpc_ctx *ctx, json_t *params, json_t **result);
int mod_admin_ban(struct rpc_ctx *ctx, json_t *params, json_t **result);
int mod_admin_unban(struct rpc_ctx *ctx, json_t *params, json_t **result);
/* Method handlers (invites.c). */
int mod_invites(struct rpc_ctx *ctx, json_t *params, json_t **result);
int mod_invite_revoke(struct rpc_ctx *ctx, json_t *params, json_t **result);
/* Method handlers (log.c). */
int mod_log_list(struct rpc_ctx *ctx, json_t *params, json_t **result);
int mod_admin_log(struct rpc_ctx *ctx, json_t *params, json_t **result);
int mod_admin_accounts(struct rpc_ctx *ctx, json_t *params, json_t **result);
int mod_admin_set_admin(struct rpc_ctx *ctx, json_t *params, json_t **result);

#endif
