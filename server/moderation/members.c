/*
 * members.c - what moderators do to people and to a circle's pace: mute
 * (for a time or until lifted), unmute, remove from the circle (their
 * content stays, attributed), slow mode; and what site admins do: ban and
 * unban an account site-wide.
 *
 * Who may act on whom: nobody acts on themselves (-32003), nobody mutes or
 * removes an owner (-32003; a site admin bans instead), and only an owner or
 * a site admin may mute or remove a moderator. The target must be a member
 * of the circle (-32004 otherwise).
 */
#include "moderation/moderation.h"

#include <stdio.h>
#include <string.h>

#include "auth/auth.h"
#include "circles/circles.h"
#include "moderation/internal.h"
#include "notify/notify.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "util/err.h"
#include "util/rfc3339.h"

#define MOD_SLOW_MAX (24 * 3600)

static const char SQL_MUTE_PUT[] =
	"INSERT INTO mutes(circle, account, until, reason, by, created_at)"
	" VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(circle, account) DO UPDATE SET"
	" until = excluded.until, reason = excluded.reason, by = excluded.by,"
	" created_at = excluded.created_at";
static const char SQL_MUTE_DEL[] =
	"DELETE FROM mutes WHERE circle = ? AND account = ?";
static const char SQL_PACE_PUT[] =
	"INSERT INTO circle_pace(circle, slow_mode_s) VALUES (?, ?)"
	" ON CONFLICT(circle) DO UPDATE SET slow_mode_s = excluded.slow_mode_s";
static const char SQL_PACE_DEL[] = "DELETE FROM circle_pace WHERE circle = ?";

/*
 * Checks that the caller (viewer v, a moderator of circle) may mute or
 * remove account. Returns 0 or RPC_ERR with the error recorded.
 */
static int check_member_target(struct rpc_ctx *ctx, int64_t circle,
			       const struct vis_viewer *v, int64_t account)
{
	struct vis_viewer tv;
	int rc;

	if (account == rpc_account(ctx))
		return rpc_fail(ctx, RPC_E_FORBIDDEN,
				"moderators cannot act on themselves");
	rc = circles_viewer(rpc_store(ctx), circle, account, false, &tv);
	if (rc == SCH_ENOTFOUND || (rc == 0 && tv.role == VIS_ROLE_NONE))
		return rpc_fail(ctx, RPC_E_NOT_FOUND,
				"no such member in this circle");
	if (rc)
		return rpc_fail_store(ctx, rc);
	if (tv.role == VIS_ROLE_OWNER)
		return rpc_fail(ctx, RPC_E_FORBIDDEN,
				"an owner cannot be muted or removed");
	if (tv.role == VIS_ROLE_MODERATOR && v->role != VIS_ROLE_OWNER &&
	    !v->is_admin)
		return rpc_fail(ctx, RPC_E_FORBIDDEN,
				"only an owner may act on a moderator");
	return 0;
}

/* Common parameters of mute, unmute and remove, checked; the audit log's
 * target text into target. 0 or RPC_ERR. */
static int member_params(struct rpc_ctx *ctx, json_t *params, int64_t *circle,
			 int64_t *account, char *target, size_t len)
{
	struct vis_viewer v;

	if (rpc_param_id(ctx, params, "circle", true, circle) ||
	    rpc_param_id(ctx, params, "account", true, account))
		return RPC_ERR;
	if (mod_require_moderator(ctx, *circle, &v) ||
	    check_member_target(ctx, *circle, &v, *account))
		return RPC_ERR;
	mod_target_text(target, len, "account", *account);
	return 0;
}

/* The answer of unmute and remove: the steps' rc, then {circle, account,
 * key: value}. */
static int member_done(struct rpc_ctx *ctx, int rc, int64_t circle,
		       int64_t account, const char *key, bool value,
		       json_t **result)
{
	if (rc)
		return rpc_fail_store(ctx, rc);
	*result = json_pack("{s:I,s:I,s:b}", "circle", (json_int_t)circle,
			    "account", (json_int_t)account, key, value);
	return 0;
}

/* Publishes member.muted / member.unmuted to the circle. */
static int publish_member(struct rpc_ctx *ctx, int64_t circle, const char *type,
			  int64_t account, int64_t until)
{
	struct vis_item item;
	json_t *who = auth_author_json(rpc_store(ctx), account);
	json_t *data;
	int64_t seq;

	memset(&item, 0, sizeof(item));
	item.circle = circle;
	item.author = account;
	data = json_pack(
		"{s:I,s:o,s:o}", "circle", (json_int_t)circle, "account",
		who ? who : json_pack("{s:I}", "id", (json_int_t)account),
		"until", mod_time_json(until));
	if (strcmp(type, "member.unmuted") == 0)
		json_object_del(data, "until");
	seq = rpc_publish(ctx, circle, type, &item, "member", account, data,
			  NULL);
	return seq < 0 ? (int)seq : 0;
}

/* Tells account what happened to it in circle. */
static int notify_member(struct rpc_ctx *ctx, int64_t account, int64_t circle,
			 const char *action, int64_t until, const char *reason)
{
	json_t *data;
	int rc;

	data = json_pack("{s:s,s:I,s:s?}", "action", action, "circle",
			 (json_int_t)circle, "reason", reason);
	if (strcmp(action, "muted") == 0)
		json_object_set_new(data, "until", mod_time_json(until));
	json_object_set_new(data, "actor",
			    auth_author_json(rpc_store(ctx), rpc_account(ctx)));
	rc = notify_add(ctx, account, circle, "moderation", data);
	json_decref(data);
	return rc;
}

int mod_mute(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"circle", "account", "until",
					      "reason", NULL};
	int64_t circle, account, until = 0;
	const char *reason, *until_s = NULL;
	json_t *uj;
	char target[48];
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    mod_param_reason(ctx, params, true, &reason))
		return RPC_ERR;
	uj = json_object_get(params, "until");
	if (uj && !json_is_null(uj)) {
		if (rpc_param_str(ctx, params, "until", true, 1, 64, &until_s))
			return RPC_ERR;
		if (rfc3339_parse(until_s, &until))
			return rpc_fail_field(ctx, "until",
					      "expected an RFC 3339 time");
		if (until <= rpc_now(ctx))
			return rpc_fail_field(ctx, "until",
					      "must be in the future");
	}
	if (member_params(ctx, params, &circle, &account, target,
			  sizeof(target)))
		return RPC_ERR;
	rc = store_run(rpc_store(ctx), SQL_MUTE_PUT, "iiItIi", circle, account,
		       until, reason, rpc_account(ctx), rpc_now(ctx));
	if (rc == 0)
		rc = publish_member(ctx, circle, "member.muted", account,
				    until);
	if (rc == 0)
		rc = notify_member(ctx, account, circle, "muted", until,
				   reason);
	if (rc == 0)
		rc = moderation_log(ctx, circle, "mute", target, reason);
	if (rc)
		return rpc_fail_store(ctx, rc);
	*result =
		json_pack("{s:I,s:I,s:b,s:o,s:s}", "circle", (json_int_t)circle,
			  "account", (json_int_t)account, "muted", 1, "until",
			  mod_time_json(until), "reason", reason);
	return 0;
}

int mod_unmute(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"circle", "account", "reason",
					      NULL};
	int64_t circle, account, until = 0;
	const char *reason = NULL;
	char target[48];
	int rc, was;

	if (rpc_params_only(ctx, params, allowed) ||
	    mod_param_reason(ctx, params, false, &reason) ||
	    member_params(ctx, params, &circle, &account, target,
			  sizeof(target)))
		return RPC_ERR;
	was = mod_muted(ctx, circle, account, &until);
	if (was < 0)
		return rpc_fail_store(ctx, was);
	rc = store_run(rpc_store(ctx), SQL_MUTE_DEL, "ii", circle, account);
	if (rc == 0 && was == 1)
		rc = publish_member(ctx, circle, "member.unmuted", account, 0);
	if (rc == 0 && was == 1)
		rc = notify_member(ctx, account, circle, "unmuted", 0, reason);
	if (rc == 0)
		rc = moderation_log(ctx, circle, "unmute", target, reason);
	return member_done(ctx, rc, circle, account, "muted", false, result);
}

int mod_remove(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"circle", "account", "reason",
					      NULL};
	int64_t circle, account;
	const char *reason;
	char target[48];
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    mod_param_reason(ctx, params, true, &reason) ||
	    member_params(ctx, params, &circle, &account, target,
			  sizeof(target)))
		return RPC_ERR;
	rc = circles_remove_member(ctx, circle, account, reason);
	if (rc == SCH_ENOTFOUND)
		return rpc_fail(ctx, RPC_E_NOT_FOUND,
				"no such member in this circle");
	if (rc == 0)
		rc = notify_member(ctx, account, circle, "removed", 0, reason);
	if (rc == 0)
		rc = moderation_log(ctx, circle, "remove", target, reason);
	return member_done(ctx, rc, circle, account, "removed", true, result);
}

int mod_slow(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"circle", "seconds", NULL};
	struct vis_viewer v;
	int64_t circle, seconds;
	char target[48], reason[48];
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_id(ctx, params, "circle", true, &circle) ||
	    rpc_param_int(ctx, params, "seconds", true, 0, MOD_SLOW_MAX,
			  &seconds))
		return RPC_ERR;
	if (mod_require_moderator(ctx, circle, &v))
		return RPC_ERR;
	mod_target_text(target, sizeof(target), "circle", circle);
	if (seconds > 0) {
		snprintf(reason, sizeof(reason), "one post every %lld s",
			 (long long)seconds);
		rc = store_run(rpc_store(ctx), SQL_PACE_PUT, "ii", circle,
			       seconds);
	} else {
		snprintf(reason, sizeof(reason), "off");
		rc = store_run(rpc_store(ctx), SQL_PACE_DEL, "i", circle);
	}
	if (rc == 0)
		rc = moderation_log(ctx, circle, "slow", target, reason);
	if (rc)
		return rpc_fail_store(ctx, rc);
	*result = json_pack("{s:I,s:I}", "circle", (json_int_t)circle,
			    "seconds", (json_int_t)seconds);
	return 0;
}

/* admin.ban and admin.unban. */
static int ban_common(struct rpc_ctx *ctx, json_t *params, json_t **result,
		      bool ban)
{
	static const char *const allowed[] = {"account", "reason", NULL};
	const char *reason = NULL;
	json_t *acct;
	int64_t account;
	char target[48];
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_id(ctx, params, "account", true, &account) ||
	    mod_param_reason(ctx, params, ban, &reason))
		return RPC_ERR;
	if (mod_require_admin(ctx))
		return RPC_ERR;
	if (account == rpc_account(ctx))
		return rpc_fail(ctx, RPC_E_FORBIDDEN,
				"you cannot ban yourself");
	acct = auth_account_json(rpc_store(ctx), account);
	if (!acct)
		return rpc_fail(ctx, RPC_E_NOT_FOUND, "no such account");
	json_decref(acct);
	mod_target_text(target, sizeof(target), "account", account);
	rc = auth_set_banned(ctx, account, ban);
	if (rc == 0)
		rc = mod_log_append(ctx, 0, rpc_account(ctx),
				    ban ? "ban" : "unban", target, reason);
	if (rc)
		return rpc_fail_store(ctx, rc);
	*result = json_pack("{s:I,s:b}", "account", (json_int_t)account,
			    "banned", ban);
	return 0;
}

int mod_admin_ban(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	return ban_common(ctx, params, result, true);
}

int mod_admin_unban(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	return ban_common(ctx, params, result, false);
}

static const char SQL_MUTE_NOW[] =
	"SELECT until FROM mutes WHERE circle = ? AND account = ?"
	" AND (until IS NULL OR until > ?)";

json_t *moderation_mute_json(struct store *db, int64_t circle, int64_t account,
			     int64_t now)
{
	struct store_stmt *st =
		store_query(db, SQL_MUTE_NOW, "iii", circle, account, now);
	json_t *o = NULL;

	if (st && store_row(st) > 0)
		o = json_pack("{s:o}", "until",
			      store_is_null(st, 0)
				      ? json_null()
				      : mod_time_json(store_int(st, 0)));
	store_done(st);
	return o ? o : json_null();
}
