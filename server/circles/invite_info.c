/*
 * invite_info.c - circle.invite_info {code}: what an invite link leads to,
 * for the page a visitor sees before registering or joining: the circle's
 * name, its book, who made the invitation, the role and when it expires.
 * Needs no account (SPEC §2's invite page comes before registration). Only
 * a live code answers (known, not expired, uses left); anything else is
 * -32004, the same for every kind of dead code. Codes are 26 random
 * characters, so answering them reveals nothing to a guesser. Read-only.
 */
#include <string.h>

#include "circles/internal.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "util/err.h"

static const char SQL_INVITE_INFO[] =
	"SELECT i.circle, i.role, i.expires_at, i.created_by, c.name,"
	" b.title, b.author"
	" FROM invites i JOIN circles c ON c.id = i.circle"
	" LEFT JOIN books b ON b.id = c.book"
	" WHERE i.code = ? AND i.expires_at > ?"
	" AND (i.max_uses IS NULL OR i.uses < i.max_uses)";

static int m_invite_info(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"code", NULL};
	struct store *db = rpc_store(ctx);
	struct store_stmt *st;
	const char *code;
	int64_t by;
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_str(ctx, params, "code", true, 1, 64, &code))
		return RPC_ERR;
	st = store_query(db, SQL_INVITE_INFO, "ti", code, rpc_now(ctx));
	if (!st)
		return rpc_fail_store(ctx, SCH_EDB);
	rc = store_row(st);
	if (rc <= 0) {
		store_done(st);
		return rc < 0 ? rpc_fail_store(ctx, rc)
			      : rpc_fail(ctx, RPC_E_NOT_FOUND,
					 "no such invitation, or it has "
					 "expired");
	}
	by = store_is_null(st, 3) ? 0 : store_int(st, 3);
	*result = json_pack("{s:{s:I,s:s?},s:{s:s?,s:s?},s:s?,s:o}", "circle",
			    "id", (json_int_t)store_int(st, 0), "name",
			    store_text(st, 4), "book", "title",
			    store_text(st, 5), "author", store_text(st, 6),
			    "role", store_text(st, 1), "expires_at",
			    circle_time_json(store_int(st, 2)));
	store_done(st);
	json_object_set_new(*result, "inviter",
			    by ? circle_author_json(db, by) : json_null());
	return 0;
}

const struct rpc_method circle_invite_info_methods[] = {
	{"circle.invite_info", m_invite_info, RPC_PUBLIC | RPC_READ},
	{NULL, NULL, 0}};
