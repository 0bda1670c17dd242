/*
 * moderation.h - flags, the queue, hide/unhide, lock, pin, mute, remove,
 * slow mode, post rate limits, bans, and the append-only audit log. Owns
 * flags, mod_log, mutes, circle_pace (migrations/0006_moderation.sql).
 */
#ifndef SCH_MODERATION_H
#define SCH_MODERATION_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct rpc_ctx;

/* The moderation module's settings (main.c fills them from the flags). */
struct moderation_config {
	int autohide_flags; /* open flags that hide a post (3) */
};
extern struct moderation_config moderation_config;
struct store;
struct vis_viewer;

/* Registers flag.create, mod.*, admin.ban, admin.unban. */
void moderation_init(void);

/*
 * Called by threads before any post (annotation or reply) in circle: muted
 * (-32010 with retry_after_ms), slow mode (-32010 with retry_after_ms),
 * rate limit (-32029 with retry_after_ms). Returns 0 when the post may go
 * ahead (and counts it), or RPC_ERR with the error recorded in ctx.
 */
int moderation_check_post(struct rpc_ctx *ctx, const struct vis_viewer *v,
			  int64_t circle);
/*
 * For actions that are not posts but that a muted member may not take either
 * (reaction.toggle; SPEC §4 "post, reply, react, flag ... unless muted"):
 * -32010 with retry_after_ms when the caller is muted in circle, else 0.
 * Counts nothing. Returns 0 or RPC_ERR with the error recorded in ctx.
 */
int moderation_check_muted(struct rpc_ctx *ctx, const struct vis_viewer *v,
			   int64_t circle);
/* Whether account was removed from circle (mod.remove) at or after since:
 * 1 yes, 0 no, or a negative SCH_E* code. An invitation made before a
 * removal does not let the removed member back in (R2-F6). */
struct store;
int moderation_removed_since(struct store *db, int64_t circle, int64_t account,
			     int64_t since);
/*
 * circle.members' `muted`: {until} (RFC 3339, or null until lifted) while
 * account is muted in circle at time now, else json null. New reference.
 */
json_t *moderation_mute_json(struct store *db, int64_t circle, int64_t account,
			     int64_t now);
/* Appends an audit entry (actor = caller). 0 or negative SCH_E*. */
int moderation_log(struct rpc_ctx *ctx, int64_t circle, const char *action,
		   const char *target, const char *reason);

/*
 * `scholia admin list-accounts|set-admin|log` (what), in the operator's own
 * process: handle and remove for set-admin. Writes to out; on failure a
 * negative SCH_E* code with the reason in err.
 */
int moderation_cli_admin(struct store *db, const char *what, const char *handle,
			 bool remove, FILE *out, char *err, size_t errlen);

#endif
