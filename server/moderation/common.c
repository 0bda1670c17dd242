/*
 * common.c - the pieces every moderation method shares: who may act
 * (SPEC §4, answered in the order "does it exist for you" -32004, then "may
 * you" -32003, so that ids of circles the caller is not in reveal nothing),
 * how targets are named, the hide bookkeeping and RFC 3339 times.
 */
#include "moderation/internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "circles/circles.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "util/err.h"
#include "util/rfc3339.h"

const char *mod_kind_name(int kind)
{
	return kind == 1 ? "reply" : "annotation";
}

int mod_param_reason(struct rpc_ctx *ctx, json_t *params, bool required,
		     const char **reason)
{
	return rpc_param_str(ctx, params, "reason", required, required ? 1 : 0,
			     MOD_REASON_MAX, reason);
}

int mod_require_admin(struct rpc_ctx *ctx)
{
	if (!rpc_is_admin(ctx))
		return rpc_fail(ctx, RPC_E_FORBIDDEN,
				"only site admins may do this");
	return 0;
}

int mod_list_params(struct rpc_ctx *ctx, json_t *params, int64_t *circle,
		    int64_t *cursor)
{
	static const char *const in_circle[] = {"circle", "cursor", NULL};
	static const char *const site[] = {"cursor", NULL};
	struct vis_viewer v;

	*cursor = 0;
	if (rpc_params_only(ctx, params, circle ? in_circle : site) ||
	    (circle && rpc_param_id(ctx, params, "circle", true, circle)) ||
	    rpc_param_cursor(ctx, params, cursor))
		return RPC_ERR;
	return circle ? mod_require_moderator(ctx, *circle, &v)
		      : mod_require_admin(ctx);
}

json_t *mod_page_json(json_t *items, bool more, int64_t last)
{
	return json_pack("{s:o,s:o}", "items", items, "next",
			 more ? json_sprintf("%lld", (long long)last)
			      : json_null());
}

json_t *mod_target_ref(int kind, int64_t id)
{
	return json_pack("{s:I}", mod_kind_name(kind), (json_int_t)id);
}

void mod_target_text(char *buf, size_t len, const char *kind, int64_t id)
{
	snprintf(buf, len, "%s:%lld", kind, (long long)id);
}

int mod_require_moderator(struct rpc_ctx *ctx, int64_t circle,
			  struct vis_viewer *v)
{
	if (circles_gate_rpc(ctx, circle, v))
		return RPC_ERR;
	if (!vis_is_moderator(v))
		return rpc_fail(ctx, RPC_E_FORBIDDEN,
				"only moderators may do this");
	return 0;
}

/* The caller's viewer in the target's circle, and whether it may see it. */
static int check_target(struct rpc_ctx *ctx, bool moderator,
			const struct threads_target *t, struct vis_viewer *v)
{
	struct store *db = rpc_store(ctx);
	struct vis_item item;
	int rc;

	rc = circles_viewer(db, t->circle, rpc_account(ctx), rpc_is_admin(ctx),
			    v);
	if (rc == SCH_ENOTFOUND)
		return rpc_fail(ctx, RPC_E_NOT_FOUND, "not found");
	if (rc)
		return rpc_fail_store(ctx, rc);
	memset(&item, 0, sizeof(item));
	threads_target_vis(db, t, &item);
	if (vis_check(v, &item) == VIS_NONE)
		return rpc_fail(ctx, RPC_E_NOT_FOUND, "not found");
	if (moderator && !vis_is_moderator(v))
		return rpc_fail(ctx, RPC_E_FORBIDDEN,
				"only moderators may do this");
	return 0;
}

int mod_resolve_target(struct rpc_ctx *ctx, json_t *params, const char *field,
		       bool moderator, struct threads_target *t,
		       struct vis_viewer *v)
{
	json_t *tj;
	int rc;

	if (rpc_param_json(ctx, params, field, true, JSON_OBJECT, &tj))
		return RPC_ERR;
	memset(t, 0, sizeof(*t));
	rc = threads_target_parse(rpc_store(ctx), tj, t);
	if (rc == SCH_EINVAL)
		return rpc_fail_field(ctx, field,
				      "expected {\"annotation\":ID} or "
				      "{\"reply\":ID}");
	if (rc == SCH_ENOTFOUND)
		return rpc_fail(ctx, RPC_E_NOT_FOUND, "not found");
	if (rc)
		return rpc_fail_store(ctx, rc);
	return check_target(ctx, moderator, t, v);
}

int mod_resolve_annotation(struct rpc_ctx *ctx, json_t *params,
			   const char *field, struct threads_target *t,
			   struct vis_viewer *v)
{
	int64_t id;
	int rc;

	if (rpc_param_id(ctx, params, field, true, &id))
		return RPC_ERR;
	memset(t, 0, sizeof(*t));
	rc = threads_target_get(rpc_store(ctx), 0, id, t);
	if (rc == SCH_ENOTFOUND)
		return rpc_fail(ctx, RPC_E_NOT_FOUND, "no such annotation");
	if (rc)
		return rpc_fail_store(ctx, rc);
	return check_target(ctx, true, t, v);
}

static const char SQL_HIDDEN_PUT[] =
	"INSERT INTO mod_hidden(target_kind, target_id, circle, auto, reason,"
	" by, at) VALUES (?, ?, ?, ?, ?, ?, ?)"
	" ON CONFLICT(target_kind, target_id) DO UPDATE SET auto = "
	"excluded.auto,"
	" reason = excluded.reason, by = excluded.by, at = excluded.at";
static const char SQL_HIDDEN_DEL[] =
	"DELETE FROM mod_hidden WHERE target_kind = ? AND target_id = ?";
static const char SQL_HIDDEN_AUTO[] =
	"SELECT auto FROM mod_hidden WHERE target_kind = ? AND target_id = ?";

int mod_do_hide(struct rpc_ctx *ctx, const struct threads_target *t, bool auto_,
		const char *reason)
{
	int rc;

	rc = store_run(rpc_store(ctx), SQL_HIDDEN_PUT, "tiibtIi",
		       mod_kind_name(t->kind), t->id, t->circle, auto_ ? 1 : 0,
		       reason, auto_ ? (int64_t)0 : rpc_account(ctx),
		       rpc_now(ctx));
	if (rc)
		return rc;
	if (t->hidden)
		return 0; /* already hidden: only the record changes */
	return threads_set_hidden(ctx, t, true, reason);
}

int mod_do_unhide(struct rpc_ctx *ctx, const struct threads_target *t)
{
	int rc;

	rc = store_run(rpc_store(ctx), SQL_HIDDEN_DEL, "ti",
		       mod_kind_name(t->kind), t->id);
	if (rc)
		return rc;
	if (!t->hidden)
		return 0;
	return threads_set_hidden(ctx, t, false, NULL);
}

bool mod_is_autohidden(struct rpc_ctx *ctx, const struct threads_target *t)
{
	int64_t a = 0;

	if (store_int_query(rpc_store(ctx), &a, SQL_HIDDEN_AUTO, "ti",
			    mod_kind_name(t->kind), t->id) != 1)
		return false;
	return a != 0;
}

json_t *mod_time_json(int64_t t)
{
	return t == 0 ? json_null() : rfc3339_json(t);
}
