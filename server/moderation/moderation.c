/*
 * moderation.c - the module's surface: registers flag.create, the mod.*
 * methods and the site admin's admin.ban, admin.unban and admin.log. The
 * work lives in flags.c (flags, queue, resolve), actions.c (hide, lock,
 * pin), members.c (mute, remove, slow mode, bans), pace.c (the gate before
 * every post), log.c (the audit log) and common.c (permission checks).
 */
#include "moderation/moderation.h"

#include "moderation/internal.h"
#include "rpc/rpc.h"

static const struct rpc_method moderation_methods[] = {
	{"flag.create", mod_flag_create, RPC_AUTH},
	{"mod.queue", mod_queue, RPC_AUTH},
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
	{"mod.log", mod_log_list, RPC_AUTH},
	{"admin.ban", mod_admin_ban, RPC_AUTH},
	{"admin.unban", mod_admin_unban, RPC_AUTH},
	{"admin.log", mod_admin_log, RPC_AUTH},
	{"admin.accounts", mod_admin_accounts, RPC_AUTH},
	{"admin.set_admin", mod_admin_set_admin, RPC_AUTH},
	{NULL, NULL, 0}};

void moderation_init(void)
{
	rpc_register(moderation_methods);
}
