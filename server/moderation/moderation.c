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
	snprintf(ref, sizeof(ref), "{\"annotation\":%lld}",
		 (long long)a->annotation);
	return moderation_log(ev->ctx, a->circle,
			      a->accepted ? "anchor.accept" : "anchor.reject",
			      ref, NULL);
}

void moderation_init(void)
{
	rpc_register(moderation_methods);
	events_on(EVENTS_POST_CHECK, on_check, NULL);
	events_on(EVENTS_REACT_CHECK, on_check, NULL);
	events_on(EVENTS_ANCHOR_RESOLVED, on_anchor_resolved, NULL);
}
