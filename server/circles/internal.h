/*
 * internal.h - what the files of the circles module share with each other
 * and with nobody else: the access check every method starts with, the JSON
 * shapes of a circle and a member, and the presence table's entry points.
 * Other modules use circles.h.
 */
#ifndef SCH_CIRCLES_INTERNAL_H
#define SCH_CIRCLES_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "circles/circles.h"
#include "rpc/rpc.h"
#include "visibility/visibility.h"

struct rpc_ctx;
struct store;

/*
 * Reads the "circle" parameter, loads the caller's viewer into *v and checks
 * need: -32004 for an unknown circle or one the caller may not see, -32003
 * when the caller sees it but lacks the role. Returns 0 or RPC_ERR (error
 * recorded in ctx).
 */
int circle_access(struct rpc_ctx *ctx, json_t *params, enum circle_need need,
		  int64_t *circle, struct vis_viewer *v);
/* circle_access() for a method whose only parameter is "circle" (any
 * other is refused, -32602). */
int circle_access_only(struct rpc_ctx *ctx, json_t *params,
		       enum circle_need need, int64_t *circle,
		       struct vis_viewer *v);

/*
 * The circle object of SPEC §3 as this module shapes it (new reference, NULL
 * when the circle is gone). With v, adds the viewer's own "role" and "me"
 * (progress, show_all); without, it is the form events carry.
 */
json_t *circle_json(struct rpc_ctx *ctx, int64_t circle,
		    const struct vis_viewer *v);
/* {id, handle, display_name} of an account; never NULL (new reference). */
json_t *circle_author_json(struct store *db, int64_t account);
/* A member object {account, role, joined_at, progress}; NULL if the
 * account is not a member (new reference). */
json_t *circle_member_json(struct store *db, int64_t circle, int64_t account);
/* A progress object {chapter, block, updated_at} or json null. */
json_t *circle_progress_json(struct store *db, int64_t circle, int64_t account);
/*
 * The optional "block" parameter of progress.set and presence.set: a block
 * id of chapter.get's blocks (1-64 of A-Z a-z 0-9 _ - . :) or a block index
 * (0 to 10,000,000). Writes its JSON encoding into enc ("" when absent;
 * CIRCLE_BLOCK_ENC bytes). Returns 0 or RPC_ERR (-32602 naming "block").
 */
#define CIRCLE_BLOCK_ENC 80
int circle_param_block(struct rpc_ctx *ctx, json_t *params, char *enc);
/* The block back from its encoding: the string or integer, or json null
 * for NULL or "" (new reference). */
json_t *circle_block_json(const char *enc);
/* RFC 3339 UTC string for unix seconds (new reference). */
json_t *circle_time_json(int64_t t);

/* Role names and the roles of VIS_ROLE_*. */
const char *circle_role_name(enum vis_role role);
/* The words "owner", "moderator", "member" (for rpc_param_enum) and the
 * role each index stands for. */
extern const char *const circle_role_words[];
enum vis_role circle_role_of_word(int index);

/* Loads account's viewer in circle (admin flag read from auth) and hands it
 * to the transport for every subscription of that account. 0 or SCH_E*. */
int circle_push_viewer(struct rpc_ctx *ctx, int64_t circle, int64_t account);
/* Pushes the viewer of every member (after an option change). */
int circle_push_all_viewers(struct rpc_ctx *ctx, int64_t circle);

/* Publishes a member.* event about account in circle with data (reference
 * taken). Returns the seq or a negative SCH_E* code. */
int64_t circle_publish_member(struct rpc_ctx *ctx, int64_t circle,
			      int64_t account, const char *type, json_t *data);

/* The method tables of the files (NULL-terminated). */
extern const struct rpc_method circle_invite_methods[];
/* auth's invite hooks (invites.c): 1 when code is a usable circle
 * invitation, 0 when not; redeem joins account to its circle. */
int circle_invite_check(struct store *db, const char *code);
int circle_invite_redeem(struct rpc_ctx *ctx, int64_t account,
			 const char *code);
extern const struct rpc_method circle_plan_methods[];
extern const struct rpc_method circle_presence_methods[];
extern const struct rpc_method circle_invite_info_methods[]; /* invite_info.c */

/* Presence (presence.c; store thread only). */
/* The circle's present members [{account, chapter, block, at}] (new ref). */
json_t *presence_list(struct store *db, int64_t circle);
/* Drops account's presence in circle (left or removed) and publishes. */
void presence_drop_account(struct rpc_ctx *ctx, int64_t circle,
			   int64_t account);
/* rpc_hooks.conn_closed and rpc_hooks.tick. */
void presence_conn_closed(struct rpc_ctx *ctx);
void presence_tick(struct rpc_ctx *ctx);

#endif
