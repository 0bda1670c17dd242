/*
 * moderation.c - the module's surface: registers flag.create, the mod.*
 * methods and the site admin's admin.ban, admin.unban and admin.log. The
 * work lives in flags.c (flags, queue, resolve), actions.c (hide, lock,
 * pin), members.c (mute, remove, slow mode, bans), pace.c (the gate before
 * every post), log.c (the audit log) and common.c (permission checks).
 */
#include "moderation/moderation.h"

#include <stdio.h>

#include "events/events.h"
#include "moderation/internal.h"
#include "rpc/rpc.h"

struct moderation_config moderation_config = {.autohide_flags = 3};

static const struct rpc_method moderation_methods[] = {
	{"flag.create", mod_flag_create, RPC_AUTH},
	{"mod.queue", mod_queue, RPC_AUTH | RPC_READ},
	{"mod.resolve", mod_resolve, RPC_AUTH},
	{"mod.hide", mod_hide, RPC_AUTH},
	{"mod.unhide", mod_unhide, RPC_AUTH},
	{"mod.lock", mod_lock, RPC_AUTH},
	{"mod.unlock", mod_unlock, RPC_AUTH},
	{"mod.pin", mod_pin, RPC_AUTH},
	{"mod.mute", mod_mute, RPC_AUTH},
	{"mod.unmute", mod_unmute, RPC_AUTH},
	{"mod.remove", mod_remove, RPC_AUTH},
	{"mod.slow", mod_slow, RPC_AUTH},
	{"mod.log", mod_log_list, RPC_AUTH | RPC_READ},
	{"circle.invites", mod_invites, RPC_AUTH | RPC_READ},
	{"circle.invite_revoke", mod_invite_revoke, RPC_AUTH},
	{"admin.ban", mod_admin_ban, RPC_AUTH},
	{"admin.unban", mod_admin_unban, RPC_AUTH},
	{"admin.log", mod_admin_log, RPC_AUTH | RPC_READ},
	{"admin.accounts", mod_admin_accounts, RPC_AUTH | RPC_READ},
	{"admin.set_admin", mod_admin_set_admin, RPC_AUTH},
	{NULL, NULL, 0}};

/* threads asks before a post or a reaction (events.h). */
static int on_check(const struct events_event *ev, void *arg)
{
	const struct events_post *p = &ev->u.post;

	(void)arg;
	if (ev->type == EVENTS_REACT_CHECK)
		return moderation_check_muted(ev->ctx, p->viewer, p->circle);
	return moderation_check_post(ev->ctx, p->viewer, p->circle);
}

/* anchor.resolve goes into the audit log, unless the annotation is private
 * (its author decided: there is no moderator to account for). */
static int on_anchor_resolved(const struct events_event *ev, void *arg)
{
	const struct events_anchor *a = &ev->u.anchor;
	char ref[64];

	(void)arg;
	if (a->private_)
		return 0;
	mod_target_text(ref, sizeof(ref), "annotation", a->annotation);
	return moderation_log(ev->ctx, a->circle,
			      a->accepted ? "anchor.accept" : "anchor.reject",
			      ref, NULL);
}

/* circle.members: a member's mute state, as member.muted announced it. */
static int on_member_listed(const struct events_event *ev, void *arg)
{
	const struct events_member *m = &ev->u.member;

	(void)arg;
	json_object_set_new(m->obj, "muted",
			    moderation_mute_json(rpc_store(ev->ctx), m->circle,
						 m->account, rpc_now(ev->ctx)));
	return 0;
}

/* circle.invite: the audit entry (the code itself stays out of it). */
static int on_invite_created(const struct events_event *ev, void *arg)
{
	const struct events_invite *i = &ev->u.invite;
	char target[48], reason[48];

	(void)arg;
	mod_target_text(target, sizeof(target), "circle", i->circle);
	snprintf(reason, sizeof(reason), "role %s", i->role);
	return moderation_log(ev->ctx, i->circle, "invite", target, reason);
}

/* circle.join: mod.remove sticks, not undone by an invitation older than
 * the removal (R2-F6). */
static int on_join_check(const struct events_event *ev, void *arg)
{
	const struct events_invite *i = &ev->u.invite;
	int rc;

	(void)arg;
	rc = moderation_removed_since(rpc_store(ev->ctx), i->circle, i->account,
				      i->created_at);
	if (rc < 0)
		return rc;
	if (rc > 0)
		return rpc_fail(ev->ctx, RPC_E_FORBIDDEN,
				"you were removed from this circle: ask for a "
				"new invitation");
	return 0;
}

void moderation_init(void)
{
	rpc_register(moderation_methods);
	events_on(EVENTS_POST_CHECK, on_check, NULL);
	events_on(EVENTS_REACT_CHECK, on_check, NULL);
	events_on(EVENTS_ANCHOR_RESOLVED, on_anchor_resolved, NULL);
	events_on(EVENTS_MEMBER_LISTED, on_member_listed, NULL);
	events_on(EVENTS_INVITE_CREATED, on_invite_created, NULL);
	events_on(EVENTS_JOIN_CHECK, on_join_check, NULL);
}
