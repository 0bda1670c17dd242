/*
 * invites.c - invitations into a circle: circle.invite makes a random code
 * (with a role, a use count and an expiry) and circle.join spends it.
 *
 * Who may invite (SPEC §4): owners always, moderators always but never into
 * the owner role, plain members only when the circle's members_can_invite is
 * on and only as members. An unknown, expired or used-up code is -32004
 * (the message says which); a member who joins again gets -32009 and the
 * code is not spent.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>

#include "circles/circles.h"
#include "circles/internal.h"
#include "events/events.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"

#define INVITE_CODE_LEN 26	     /* 130 random bits in base32 */
#define INVITE_DEFAULT_S (7 * 86400) /* SPEC: 7 days */
#define INVITE_MAX_S (366 * 86400)
#define INVITE_MAX_USES 1000000

/* Fills code with INVITE_CODE_LEN base32 characters and a NUL. */
static void invite_code(char *code)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	unsigned char raw[INVITE_CODE_LEN];
	size_t got = 0;

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);

		if (n < 0)
			die("circles: getrandom failed");
		got += (size_t)n;
	}
	for (int i = 0; i < INVITE_CODE_LEN; i++)
		code[i] = alphabet[raw[i] & 31];
	code[INVITE_CODE_LEN] = '\0';
}

static const char SQL_INSERT_INVITE[] =
	"INSERT INTO invites(code, circle, role, max_uses, expires_at,"
	" created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char SQL_CAN_INVITE[] =
	"SELECT members_can_invite FROM circles WHERE id = ?";

static int m_invite(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {
		"circle", "role", "max_uses", "expires_in_s", "email", NULL};
	struct store *db = rpc_store(ctx);
	struct vis_viewer v;
	int64_t circle, max_uses = 0, expires_in = INVITE_DEFAULT_S, mci = 0;
	int64_t expires_at;
	int idx = 2, rc;
	enum vis_role role;
	const char *base, *email = NULL;
	char code[INVITE_CODE_LEN + 1];
	size_t blen;

	if (rpc_params_only(ctx, params, allowed) ||
	    circle_access(ctx, params, CIRCLE_MEMBER, &circle, &v) ||
	    rpc_param_enum(ctx, params, "role", false, circle_role_words,
			   &idx) ||
	    rpc_param_int(ctx, params, "max_uses", false, 1, INVITE_MAX_USES,
			  &max_uses) ||
	    rpc_param_int(ctx, params, "expires_in_s", false, 1, INVITE_MAX_S,
			  &expires_in) ||
	    rpc_param_str(ctx, params, "email", false, 3, 254, &email))
		return RPC_ERR;
	role = circle_role_of_word(idx);
	if (v.role == VIS_ROLE_MEMBER) {
		store_int_query(db, &mci, SQL_CAN_INVITE, "i", circle);
		if (!mci)
			return rpc_fail(ctx, RPC_E_FORBIDDEN,
					"members may not invite here");
		if (role != VIS_ROLE_MEMBER)
			return rpc_fail(ctx, RPC_E_FORBIDDEN,
					"members may invite members only");
	} else if (v.role == VIS_ROLE_MODERATOR && role != VIS_ROLE_MEMBER) {
		/* only owners set roles (R2-F10) */
		return rpc_fail(ctx, RPC_E_FORBIDDEN,
				"only owners may invite moderators or owners");
	}
	invite_code(code);
	expires_at = rpc_now(ctx) + expires_in;
	rc = store_run(db, SQL_INSERT_INVITE, "titIiii", code, circle,
		       circle_role_name(role), max_uses, expires_at,
		       rpc_account(ctx), rpc_now(ctx));
	if (rc == 0) { /* audited by moderation (R2-F10) */
		struct events_event ev = {.type = EVENTS_INVITE_CREATED,
					  .ctx = ctx};

		ev.u.invite.circle = circle;
		ev.u.invite.role = circle_role_name(role);
		rc = events_emit(&ev);
	}
	if (rc)
		return rpc_fail_store(ctx, rc);
	base = circles_config.public_url ? circles_config.public_url : "";
	blen = strlen(base);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	*result = json_pack(
		"{s:s,s:o,s:I,s:s,s:o,s:i,s:o}", "code", code, "url",
		json_sprintf("%.*s/#/join/%s", (int)blen, base, code), "circle",
		(json_int_t)circle, "role", circle_role_name(role), "max_uses",
		max_uses ? json_integer(max_uses) : json_null(), "uses", 0,
		"expires_at", circle_time_json(expires_at));
	/* circle.invite {email}: the mail module mails the link */
	if (email) {
		struct events_event ev = {.type = EVENTS_INVITE_MAIL,
					  .ctx = ctx};

		ev.u.invite.circle = circle;
		ev.u.invite.email = email;
		ev.u.invite.url =
			json_string_value(json_object_get(*result, "url"));
		if (events_emit(&ev)) {
			json_decref(*result);
			*result = NULL;
			return RPC_ERR;
		}
	}
	return 0;
}

static const char SQL_FIND_INVITE[] =
	"SELECT id, circle, role, max_uses, uses, expires_at, created_at"
	" FROM invites WHERE code = ?";
static const char SQL_USE_INVITE[] =
	"UPDATE invites SET uses = uses + 1 WHERE id = ?";
static const char SQL_JOIN[] =
	"INSERT INTO memberships(circle, account, role, joined_at)"
	" VALUES (?, ?, ?, ?)";

/* A usable invitation: found, not expired, not used up. */
struct invite {
	int64_t id, circle, max_uses, uses, expires_at, created_at;
	char role[16];
};

/* Looks a code up: 0 when usable, else RPC_ERR with -32004 in ctx (when
 * ctx is NULL, just a negative value). */
static int find_invite(struct rpc_ctx *ctx, struct store *db, const char *code,
		       int64_t now, struct invite *out)
{
	struct store_stmt *st;
	bool found = false;

	memset(out, 0, sizeof(*out));
	st = store_query(db, SQL_FIND_INVITE, "t", code);
	if (!st)
		return ctx ? rpc_fail_store(ctx, SCH_EDB) : SCH_EDB;
	if (store_row(st) > 0) {
		found = true;
		out->id = store_int(st, 0);
		out->circle = store_int(st, 1);
		snprintf(out->role, sizeof(out->role), "%s",
			 store_text(st, 2) ? store_text(st, 2) : "member");
		out->max_uses = store_is_null(st, 3) ? 0 : store_int(st, 3);
		out->uses = store_int(st, 4);
		out->expires_at = store_int(st, 5);
		out->created_at = store_int(st, 6);
	}
	store_done(st);
	if (!found)
		return ctx ? rpc_fail(ctx, RPC_E_NOT_FOUND,
				      "no such invitation")
			   : SCH_ENOTFOUND;
	if (now >= out->expires_at)
		return ctx ? rpc_fail(ctx, RPC_E_NOT_FOUND,
				      "invitation expired")
			   : SCH_ENOTFOUND;
	if (out->max_uses > 0 && out->uses >= out->max_uses)
		return ctx ? rpc_fail(ctx, RPC_E_NOT_FOUND,
				      "invitation used up")
			   : SCH_ENOTFOUND;
	return 0;
}

/* Joins account to the invitation's circle (circle.join, and registration
 * with a circle invite, where the caller is not signed in yet). */
static int join_with_code(struct rpc_ctx *ctx, int64_t account, bool is_admin,
			  const char *code, int64_t *circle)
{
	struct store *db = rpc_store(ctx);
	struct invite inv;
	struct vis_viewer v;
	int rc;

	if (find_invite(ctx, db, code, rpc_now(ctx), &inv))
		return RPC_ERR;
	rc = circles_viewer(db, inv.circle, account, is_admin, &v);
	if (rc)
		return rpc_fail(ctx, RPC_E_NOT_FOUND, "no such invitation");
	if (v.role != VIS_ROLE_NONE)
		return rpc_fail(ctx, RPC_E_CONFLICT,
				"already a member of this circle");
	/* mod.remove sticks: moderation refuses an invitation older than
	 * the removal (the error is recorded in ctx) */
	{
		struct events_event ev = {.type = EVENTS_JOIN_CHECK,
					  .ctx = ctx};

		ev.u.invite.circle = inv.circle;
		ev.u.invite.account = account;
		ev.u.invite.created_at = inv.created_at;
		rc = events_emit(&ev);
		if (rc == RPC_ERR)
			return RPC_ERR;
		if (rc)
			return rpc_fail_store(ctx, rc);
	}
	rc = store_run(db, SQL_JOIN, "iiti", inv.circle, account, inv.role,
		       rpc_now(ctx));
	if (rc == 0)
		rc = store_run(db, SQL_USE_INVITE, "i", inv.id);
	if (rc)
		return rpc_fail_store(ctx, rc);
	if (circle_publish_member(ctx, inv.circle, account, "member.joined",
				  circle_member_json(db, inv.circle, account)) <
	    0)
		return rpc_fail_store(ctx, SCH_EDB);
	rc = circle_push_viewer(ctx, inv.circle, account);
	if (rc)
		return rpc_fail_store(ctx, rc);
	*circle = inv.circle;
	return 0;
}

static int m_join(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"code", NULL};
	struct vis_viewer v;
	const char *code;
	int64_t circle = 0;
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_str(ctx, params, "code", true, 1, 64, &code))
		return RPC_ERR;
	if (join_with_code(ctx, rpc_account(ctx), rpc_is_admin(ctx), code,
			   &circle))
		return RPC_ERR;
	rc = circles_viewer(rpc_store(ctx), circle, rpc_account(ctx),
			    rpc_is_admin(ctx), &v);
	if (rc)
		return rpc_fail_store(ctx, rc);
	*result = circle_json(ctx, circle, &v);
	return 0;
}

/* auth's hooks for --registration invite: a circle invitation both admits
 * a new account and makes it a member. */
int circle_invite_check(struct store *db, const char *code)
{
	struct invite inv;

	return find_invite(NULL, db, code, (int64_t)time(NULL), &inv) == 0;
}

int circle_invite_redeem(struct rpc_ctx *ctx, int64_t account, const char *code)
{
	int64_t circle;

	return join_with_code(ctx, account, false, code, &circle);
}

const struct rpc_method circle_invite_methods[] = {
	{"circle.invite", m_invite, RPC_AUTH},
	{"circle.join", m_join, RPC_AUTH},
	{NULL, NULL, 0}};
