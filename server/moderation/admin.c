/*
 * admin.c - the site admin's first-hour tasks: list accounts, give or take
 * the site admin role, read the site-wide audit. As JSON-RPC methods for
 * the web app's site screen (admin.accounts, admin.set_admin; admin.log is
 * in log.c) and as `scholia admin list-accounts|set-admin|log` for an
 * operator's shell. Every role change is written to the audit log in the
 * same transaction as the change.
 */
#include "moderation/moderation.h"

#include "auth/auth.h"
#include "moderation/internal.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "util/err.h"
#include "util/rfc3339.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define ADMIN_PAGE 100

static void row_json(const struct auth_account_row *r, void *arg)
{
	json_array_append_new(
		(json_t *)arg,
		json_pack("{s:I,s:s,s:s,s:b,s:b,s:o}", "id", (json_int_t)r->id,
			  "handle", r->handle, "display_name", r->display_name,
			  "is_admin", r->is_admin, "banned", r->banned,
			  "created_at", mod_time_json(r->created_at)));
}

int mod_admin_accounts(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	json_t *items, *last;
	int64_t cursor;
	int n;

	if (mod_list_params(ctx, params, NULL, &cursor))
		return RPC_ERR;
	items = json_array();
	n = auth_accounts_page(rpc_store(ctx), cursor, ADMIN_PAGE, row_json,
			       items);
	if (n < 0) {
		json_decref(items);
		return rpc_fail_store(ctx, n);
	}
	last = json_array_get(items, json_array_size(items) - 1);
	*result =
		mod_page_json(items, n == ADMIN_PAGE,
			      json_integer_value(json_object_get(last, "id")));
	return 0;
}

int mod_admin_set_admin(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"account", "on", NULL};
	int64_t account;
	bool on;
	char target[48];
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_id(ctx, params, "account", true, &account) ||
	    rpc_param_bool(ctx, params, "on", true, &on))
		return RPC_ERR;
	if (mod_require_admin(ctx))
		return RPC_ERR;
	rc = auth_set_admin(rpc_store(ctx), account, on);
	if (rc == SCH_ENOTFOUND)
		return rpc_fail(ctx, RPC_E_NOT_FOUND, "no such account");
	if (rc == SCH_ECONFLICT)
		return rpc_fail(ctx, RPC_E_CONFLICT,
				"the last site admin cannot be removed");
	mod_target_text(target, sizeof(target), "account", account);
	if (rc == 0)
		rc = mod_log_append(ctx, 0, rpc_account(ctx),
				    on ? "admin_grant" : "admin_revoke", target,
				    NULL);
	if (rc)
		return rpc_fail_store(ctx, rc);
	*result = json_pack("{s:I,s:b}", "account", (json_int_t)account,
			    "is_admin", on);
	return 0;
}

/* ---- the operator's shell ---- */

static const char SQL_CLI_LOG[] =
	"INSERT INTO mod_log(circle, actor, action, target, reason, at)"
	" VALUES (NULL, NULL, ?, ?, 'scholia admin (shell)', ?)";
static const char SQL_CLI_SITE_LOG[] =
	"SELECT id, actor, action, target, reason, at FROM mod_log"
	" WHERE circle IS NULL ORDER BY id DESC LIMIT 200";

/* The shell's listing: where to print, and the last id seen for paging. */
struct cli_list {
	FILE *out;
	int64_t last;
};

static void row_print(const struct auth_account_row *r, void *arg)
{
	struct cli_list *l = arg;
	char when[RFC3339_LEN];

	rfc3339_format(r->created_at, when, sizeof(when));
	fprintf(l->out, "%-6lld %-32s %-5s %-6s %s  %s\n", (long long)r->id,
		r->handle, r->is_admin ? "admin" : "-",
		r->banned ? "banned" : "-", when, r->display_name);
	l->last = r->id;
}

static int cli_list(struct store *db, FILE *out)
{
	struct cli_list l = {out, 0};
	int n;

	fprintf(out, "%-6s %-32s %-5s %-6s %-20s  %s\n", "id", "handle", "role",
		"state", "created", "display name");
	do {
		n = auth_accounts_page(db, l.last, ADMIN_PAGE, row_print, &l);
		if (n < 0)
			return n;
	} while (n == ADMIN_PAGE);
	return 0;
}

static int cli_set_admin(struct store *db, const char *handle, bool on,
			 FILE *out, char *err, size_t errlen)
{
	int64_t account = auth_account_by_handle(db, handle);
	char target[48];
	int rc;

	if (account <= 0) {
		snprintf(err, errlen, "no account with handle %s", handle);
		return SCH_ENOTFOUND;
	}
	rc = store_begin(db);
	if (rc)
		return rc;
	rc = auth_set_admin(db, account, on);
	if (rc == SCH_ECONFLICT)
		snprintf(err, errlen, "%s is the last site admin", handle);
	mod_target_text(target, sizeof(target), "account", account);
	if (rc == 0)
		rc = store_run(db, SQL_CLI_LOG, "tti",
			       on ? "admin_grant" : "admin_revoke", target,
			       (int64_t)time(NULL));
	if (rc == 0)
		rc = store_commit(db);
	else
		store_rollback(db);
	if (rc == 0)
		fprintf(out, "%s is %s a site admin\n", handle,
			on ? "now" : "no longer");
	return rc;
}

static int cli_log(struct store *db, FILE *out)
{
	struct store_stmt *st = store_query(db, SQL_CLI_SITE_LOG, "");
	int rc;

	if (!st)
		return SCH_EDB;
	while ((rc = store_row(st)) > 0) {
		char when[RFC3339_LEN];
		const char *target = store_text(st, 3);
		const char *reason = store_text(st, 4);

		rfc3339_format(store_int(st, 5), when, sizeof(when));
		fprintf(out, "%s  %-14s actor %-6s target %s%s%s\n", when,
			store_text(st, 2), store_is_null(st, 1) ? "shell" : "",
			target ? target : "-", reason ? "  reason: " : "",
			reason ? reason : "");
		if (!store_is_null(st, 1))
			fprintf(out, "%*s(actor account %lld)\n", 22, "",
				(long long)store_int(st, 1));
	}
	return rc;
}

int moderation_cli_admin(struct store *db, const char *what, const char *handle,
			 bool remove, FILE *out, char *err, size_t errlen)
{
	if (strcmp(what, "list-accounts") == 0)
		return cli_list(db, out);
	if (strcmp(what, "log") == 0)
		return cli_log(db, out);
	if (strcmp(what, "set-admin") == 0) {
		if (!handle) {
			snprintf(err, errlen, "set-admin needs --handle H");
			return SCH_EINVAL;
		}
		return cli_set_admin(db, handle, !remove, out, err, errlen);
	}
	snprintf(err, errlen, "unknown admin task %s", what);
	return SCH_EINVAL;
}
