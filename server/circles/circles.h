/*
 * circles.h - circles, members, invitations, reading plan, progress,
 * presence, cohorts (clone), subscriptions. Owns circles, memberships,
 * invites, plan_entries, progress (migrations/0004_circles.sql).
 */
#ifndef SCH_CIRCLES_H
#define SCH_CIRCLES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "visibility/visibility.h"

struct store;
struct rpc_ctx;

/* The circles module's settings (main.c fills them from the flags). */
struct circles_config {
	int presence_idle_s;	/* presence timeout */
	const char *public_url; /* --public-url: base of invite links, or "" */
};
extern struct circles_config circles_config;

/* Registers circle.*, plan.*, progress.set, presence.set and the
 * conn_closed / tick hooks. */
void circles_init(void);

/* Loads the caller's viewer state in a circle. Returns 0 (role may be
 * VIS_ROLE_NONE), or SCH_ENOTFOUND when the circle does not exist. */
int circles_viewer(struct store *db, int64_t circle, int64_t account,
		   bool is_admin, struct vis_viewer *out);
/*
 * What circle.get and plan.get answer to the caller of ctx, for modules
 * that present them (mail, export, meetings, search): the gate
 * (circles_gate) first. 0 with *out (new reference); SCH_ENOTFOUND when
 * the caller may not see the circle; another negative SCH_E* code. Nothing
 * is recorded in ctx: the caller decides what a failure means.
 */
int circles_get_json(struct rpc_ctx *ctx, int64_t circle, json_t **out);
int circles_plan_json(struct rpc_ctx *ctx, int64_t circle, json_t **out);
/*
 * plan.set {circle, entries} for the caller of ctx, as part of this call:
 * its checks, its event and its error (recorded in ctx on failure, *out
 * NULL) are the method's. entries is borrowed. 0 with *out (new reference)
 * or RPC_ERR.
 */
int circles_plan_set(struct rpc_ctx *ctx, int64_t circle, json_t *entries,
		     json_t **out);
/* What circle.list answers: a page of the caller's circles after cursor
 * (0: the first), {items, next}. 0 or a negative SCH_E* code. */
int circles_list_json(struct rpc_ctx *ctx, int64_t cursor, json_t **out);
/* What circle.members answers: a page of the circle's members after cursor
 * (0: the first), {items, next}, the gate first. 0, SCH_ENOTFOUND or
 * another negative SCH_E* code. */
int circles_members_json(struct rpc_ctx *ctx, int64_t circle, int64_t cursor,
			 json_t **out);
/*
 * The access gate: may this caller see this circle? Every module asks here
 * (never open-codes it). Loads the caller's viewer into *v and returns 0
 * when the caller is a member of any role or a site admin
 * (vis_sees_circle); SCH_ENOTFOUND when the circle does not exist or the
 * caller may not know that it does; another negative SCH_E* code when the
 * database fails. *v is filled in whenever the circle exists.
 */
int circles_gate(struct store *db, int64_t circle, int64_t account,
		 bool is_admin, struct vis_viewer *v);
/*
 * circles_gate() for the caller of an RPC call: fails the call with -32004
 * "no such circle" (unknown or not visible) or, on a database error, with
 * rpc_fail_store()'s -32603. Returns 0 or RPC_ERR (error recorded in ctx).
 */
int circles_gate_rpc(struct rpc_ctx *ctx, int64_t circle, struct vis_viewer *v);
/* What a method needs from the caller in the circle (SPEC §4). */
enum circle_need {
	CIRCLE_SEE,	  /* member of any role, or a site admin */
	CIRCLE_MEMBER,	  /* member of any role (admins only if members) */
	CIRCLE_MODERATOR, /* moderator or owner */
	CIRCLE_OWNER	  /* owner */
};

/*
 * The caller's access to circle for a method that needs need: loads the
 * viewer into *v; -32004 for a circle the caller may not see (the gate
 * above), -32003 when the caller sees it but lacks the role. Returns 0 or
 * RPC_ERR (error recorded in ctx).
 */
int circle_access_id(struct rpc_ctx *ctx, int64_t circle, enum circle_need need,
		     struct vis_viewer *v);
/* The circle's book; 0 or SCH_ENOTFOUND. */
int circles_book(struct store *db, int64_t circle, int64_t *book);
/* Records that account posted in chapter (post-first is met) and pushes the
 * new viewer state to its subscriptions. */
int circles_mark_posted(struct rpc_ctx *ctx, int64_t circle, int64_t account,
			int64_t chapter);
/* Removes a member (moderation's mod.remove): membership gone, content
 * stays, subscription dropped, member.removed published. */
int circles_remove_member(struct rpc_ctx *ctx, int64_t circle, int64_t account,
			  const char *reason);

/* For account.delete (auth): the account leaves every circle it is in
 * (member.left in each). Where it was the only owner, the longest-standing
 * moderator - or else member - becomes owner first (member.role_changed),
 * so no circle is left without one. 0 or a negative SCH_E* code. */
int circles_account_deleted(struct rpc_ctx *ctx, int64_t account);

/*
 * Presence rows of a shared database (circles/presence.c, docs/scaling.md):
 * deletes this node's rows and those idle past twice the limit (a crashed
 * node's). Called at start and at a clean stop; nothing on SQLite. 0 or
 * SCH_E*.
 */
int circles_presence_reset(struct store *db);

#endif
