/*
 * invites.c - owners and moderators list and revoke a circle's invitations
 * (circle.invites, circle.invite_revoke; issue 14, R2-F6), and the rule
 * that a member removed with mod.remove cannot re-join through an
 * invitation made before the removal (moderation_removed_since, asked by
 * circles/invites.c). Revocations and invitations are in mod.log.
 *
 * Invitation codes stay in clear: they are meant to be shared, and listing
 * them is what lets a moderator find the one to revoke.
 */
#include "moderation/moderation.h"

#include "moderation/internal.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "util/err.h"

#include <stdio.h>

static const char SQL_INVITES[] =
	"SELECT id, code, role, max_uses, uses, expires_at, created_by,"
	" created_at FROM invites WHERE circle = ? AND expires_at > ?"
	" AND (max_uses IS NULL OR uses < max_uses) ORDER BY id DESC LIMIT 501";
static const char SQL_INVITE_DEL[] =
	"DELETE FROM invites WHERE circle = ? AND code = ?";
static const char SQL_REMOVED[] =
	"SELECT 1 FROM mod_log WHERE circle = ? AND action = 'remove'"
	" AND target = ? AND at >= ? LIMIT 1";

int moderation_removed_since(struct store *db, int64_t circle, int64_t account,
			     int64_t since)
{
	char target[48];
	int64_t one = 0;

	mod_target_text(target, sizeof(target), "account", account);
	return store_int_query(db, &one, SQL_REMOVED, "iti", circle, target,
			       since);
}

int mod_invites(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"circle", NULL};
	struct vis_viewer v;
	struct store_stmt *st;
	int64_t circle;
	json_t *items;
	int rc, n = 0;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_id(ctx, params, "circle", true, &circle))
		return RPC_ERR;
	if (mod_require_moderator(ctx, circle, &v))
		return RPC_ERR;
	st = store_query(rpc_store(ctx), SQL_INVITES, "ii", circle,
			 rpc_now(ctx));
	if (!st)
		return rpc_fail_store(ctx, SCH_EDB);
	items = json_array();
	while ((rc = store_row(st)) > 0 && n++ < 500)
		json_array_append_new(
			items,
			json_pack("{s:s,s:s,s:o,s:I,s:o,s:o,s:o}", "code",
				  store_text(st, 1), "role", store_text(st, 2),
				  "max_uses",
				  store_is_null(st, 3)
					  ? json_null()
					  : json_integer(store_int(st, 3)),
				  "uses", (json_int_t)store_int(st, 4),
				  "expires_at", mod_time_json(store_int(st, 5)),
				  "created_by",
				  store_is_null(st, 6)
					  ? json_null()
					  : json_integer(store_int(st, 6)),
				  "created_at",
				  mod_time_json(store_int(st, 7))));
	if (rc > 0)
		store_done(st);
	if (rc < 0) {
		json_decref(items);
		return rpc_fail_store(ctx, rc);
	}
	*result = json_pack("{s:o,s:n}", "items", items, "next");
	return 0;
}

int mod_invite_revoke(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"circle", "code", NULL};
	struct vis_viewer v;
	const char *code;
	int64_t circle;
	char target[96];
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_id(ctx, params, "circle", true, &circle) ||
	    rpc_param_str(ctx, params, "code", true, 1, 64, &code))
		return RPC_ERR;
	if (mod_require_moderator(ctx, circle, &v))
		return RPC_ERR;
	rc = store_run(rpc_store(ctx), SQL_INVITE_DEL, "it", circle, code);
	if (rc)
		return rpc_fail_store(ctx, rc);
	if (store_changes(rpc_store(ctx)) != 1)
		return rpc_fail(ctx, RPC_E_NOT_FOUND, "no such invitation");
	snprintf(target, sizeof(target), "invite:%s", code);
	rc = moderation_log(ctx, circle, "invite_revoke", target, NULL);
	if (rc)
		return rpc_fail_store(ctx, rc);
	*result = json_pack("{s:I,s:s,s:b}", "circle", (json_int_t)circle,
			    "code", code, "revoked", 1);
	return 0;
}
