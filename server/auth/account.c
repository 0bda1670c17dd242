/*
 * account.c - the account.* methods (get, update, change_password, export,
 * delete), the account lookups other modules embed (auth_account_json,
 * auth_author_json, auth_account_by_handle), site bans, and the hooks
 * through which other modules add their data to account.export and clean
 * up on account.delete.
 *
 * An account row is never deleted: threads, memberships and audit entries
 * point at it. account.delete wipes what is private (password hash,
 * sessions, reset links, bio) and anonymises the row: handle
 * "deleted-<id>" (a handle no one can register: it has a hyphen) and
 * display name "Deleted member", so that what the member wrote in circles
 * keeps its place in the threads under an anonymous author.
 */
#include "auth/internal.h"

#include <string.h>

#include "rpc/rpc.h"
#include "events/events.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"

#define HOOKS_MAX 16

/* A registered export or delete hook. */
struct hook {
	const char *key;
	auth_export_fn exp;
	auth_delete_fn del;
};

static struct hook export_hooks[HOOKS_MAX];
static int nexport;
static struct hook delete_hooks[HOOKS_MAX];
static int ndelete;

static const char SQL_ACCOUNT_PUBLIC[] =
	"SELECT id, handle, display_name, is_admin FROM accounts WHERE id = ?";
static const char SQL_ACCOUNT_FULL[] =
	"SELECT id, handle, display_name, bio, is_admin, created_at, banned "
	"FROM accounts WHERE id = ? AND deleted = 0";
static const char SQL_ACCOUNT_ID_BY_HANDLE[] =
	"SELECT id FROM accounts WHERE handle = ? AND deleted = 0";
static const char SQL_ANY_ACCOUNT[] = "SELECT 1 FROM accounts LIMIT 1";
static const char SQL_SET_NAME[] =
	"UPDATE accounts SET display_name = ? WHERE id = ?";
static const char SQL_SET_BIO[] = "UPDATE accounts SET bio = ? WHERE id = ?";
static const char SQL_SET_PWHASH2[] =
	"UPDATE accounts SET pwhash = ? WHERE id = ?";
static const char SQL_EXPORT_SESSIONS[] =
	"SELECT id, created_at, last_seen, user_agent, revoked FROM sessions "
	"WHERE account = ? ORDER BY id";
static const char SQL_ANONYMISE[] =
	"UPDATE accounts SET handle = 'deleted-' || id, "
	"display_name = 'Deleted member', bio = '', pwhash = NULL, "
	"is_admin = 0, ban_reason = NULL, deleted = 1 WHERE id = ?";
static const char SQL_DELETE_SESSIONS[] =
	"DELETE FROM sessions WHERE account = ?";
static const char SQL_DELETE_RESETS[] =
	"DELETE FROM reset_tokens WHERE account = ?";
static const char SQL_INVITES_FORGET[] =
	"UPDATE invites_site SET created_by = NULL WHERE created_by = ?";
static const char SQL_BAN[] =
	"UPDATE accounts SET banned = ? WHERE id = ? AND deleted = 0";
static const char SQL_REVOKE_ALL[] =
	"UPDATE sessions SET revoked = 1 WHERE account = ? AND revoked = 0";
static const char SQL_IS_BANNED[] = "SELECT banned FROM accounts WHERE id = ?";

/* ---- lookups for other modules ---- */

json_t *auth_account_json(struct store *db, int64_t account)
{
	struct store_stmt *st =
		store_query(db, SQL_ACCOUNT_PUBLIC, "i", account);
	json_t *j = NULL;

	if (!st)
		return NULL;
	if (store_row(st) > 0)
		j = json_pack(
			"{s:I,s:s,s:s,s:b}", "id", (json_int_t)store_int(st, 0),
			"handle", store_text(st, 1), "display_name",
			store_text(st, 2), "is_admin", store_int(st, 3) != 0);
	store_done(st);
	return j;
}

json_t *auth_author_json(struct store *db, int64_t account)
{
	json_t *j = auth_account_json(db, account);

	if (j)
		json_object_del(j, "is_admin");
	return j;
}

int64_t auth_account_by_handle(struct store *db, const char *handle)
{
	int64_t id = 0;

	if (!handle || !auth_handle_ok(handle))
		return 0;
	if (store_int_query(db, &id, SQL_ACCOUNT_ID_BY_HANDLE, "t", handle) <=
	    0)
		return 0;
	return id;
}

bool auth_no_accounts(struct store *db)
{
	int64_t one;

	return store_int_query(db, &one, SQL_ANY_ACCOUNT, "") == 0;
}

bool auth_is_banned(struct store *db, int64_t account)
{
	int64_t banned = 0;

	if (store_int_query(db, &banned, SQL_IS_BANNED, "i", account) <= 0)
		return false;
	return banned != 0;
}

int auth_set_banned(struct rpc_ctx *ctx, int64_t account, bool banned)
{
	struct store *db = rpc_store(ctx);
	int rc;

	rc = store_run(db, SQL_BAN, "bi", banned ? 1 : 0, account);
	if (rc)
		return rc;
	if (store_changes(db) != 1)
		return SCH_ENOTFOUND;
	if (!banned)
		return 0;
	rc = store_run(db, SQL_REVOKE_ALL, "i", account);
	if (rc)
		return rc;
	rpc_effect_close(ctx, account, 0, 4003, "banned");
	log_info("auth", "account %lld banned", (long long)account);
	return 0;
}

/* ---- hooks ---- */

/* The hooks run as subscribers of the domain events EVENTS_ACCOUNT_EXPORT
 * and EVENTS_ACCOUNT_DELETED (events/events.h), each with its table entry
 * as argument (read at call time, so a replaced hook takes effect). */
static int export_sub(const struct events_event *ev, void *arg)
{
	const struct hook *h = arg;
	json_t *part = NULL;

	if (h->exp(ev->ctx, ev->u.account.account, &part))
		return RPC_ERR;
	json_object_set_new(ev->u.account.out, h->key,
			    part ? part : json_null());
	return 0;
}

static int delete_sub(const struct events_event *ev, void *arg)
{
	const struct hook *h = arg;

	return h->del(ev->ctx, ev->u.account.account) ? RPC_ERR : 0;
}

static void hook_add(struct hook *tab, int *n, const char *key,
		     auth_export_fn exp, auth_delete_fn del)
{
	for (int i = 0; i < *n; i++) {
		if (!strcmp(tab[i].key, key)) {
			tab[i].exp = exp;
			tab[i].del = del;
			return;
		}
	}
	if (*n >= HOOKS_MAX)
		die("too many account hooks (%s)", key);
	tab[*n].key = key;
	tab[*n].exp = exp;
	tab[*n].del = del;
	events_on(exp ? EVENTS_ACCOUNT_EXPORT : EVENTS_ACCOUNT_DELETED,
		  exp ? export_sub : delete_sub, &tab[*n]);
	(*n)++;
}

void auth_add_export_hook(const char *key, auth_export_fn fn)
{
	hook_add(export_hooks, &nexport, key, fn, NULL);
}

void auth_add_delete_hook(const char *name, auth_delete_fn fn)
{
	hook_add(delete_hooks, &ndelete, name, NULL, fn);
}

int auth_run_export_hooks(struct rpc_ctx *ctx, int64_t account, json_t *obj)
{
	struct events_event ev = {.type = EVENTS_ACCOUNT_EXPORT, .ctx = ctx};

	ev.u.account.account = account;
	ev.u.account.out = obj;
	return events_emit(&ev) ? RPC_ERR : 0;
}

int auth_run_delete_hooks(struct rpc_ctx *ctx, int64_t account)
{
	struct events_event ev = {.type = EVENTS_ACCOUNT_DELETED, .ctx = ctx};

	ev.u.account.account = account;
	return events_emit(&ev) ? RPC_ERR : 0;
}

/* ---- account.get / account.update ---- */

/* MAIL HOOK: the mail module owns the address (server/mail/). */
static auth_email_set_fn email_set;
static auth_email_decorate_fn email_decorate;

void auth_set_email_hooks(auth_email_set_fn set,
			  auth_email_decorate_fn decorate)
{
	email_set = set;
	email_decorate = decorate;
}

/* The caller's own account: {id, handle, display_name, bio, is_admin,
 * created_at}; NULL when gone. */
static json_t *account_full(struct store *db, int64_t account)
{
	struct store_stmt *st = store_query(db, SQL_ACCOUNT_FULL, "i", account);
	json_t *j = NULL;

	if (!st)
		return NULL;
	if (store_row(st) > 0)
		j = json_pack("{s:I,s:s,s:s,s:s,s:b,s:o}", "id",
			      (json_int_t)store_int(st, 0), "handle",
			      store_text(st, 1), "display_name",
			      store_text(st, 2), "bio", store_text(st, 3),
			      "is_admin", store_int(st, 4) != 0, "created_at",
			      auth_time_json(store_int(st, 5)));
	store_done(st);
	if (j && email_decorate)
		email_decorate(db, account, j);
	return j;
}

static int account_get(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {NULL};

	if (rpc_params_only(ctx, params, allowed))
		return RPC_ERR;
	*result = account_full(rpc_store(ctx), rpc_account(ctx));
	if (!*result)
		return rpc_fail(ctx, RPC_E_UNAUTHENTICATED, "no such account");
	return 0;
}

static int account_update(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"display_name", "bio", "email",
					      NULL};
	const char *name = NULL, *bio = NULL, *email = NULL;
	struct store *db = rpc_store(ctx);
	int rc = 0;

	if (rpc_params_only(ctx, params, allowed))
		return RPC_ERR;
	if (rpc_param_str(ctx, params, "display_name", false, 1,
			  AUTH_DISPLAY_MAX, &name))
		return RPC_ERR;
	if (rpc_param_str(ctx, params, "bio", false, 0, AUTH_BIO_MAX, &bio))
		return RPC_ERR;
	if (name) {
		bool blank = true;

		for (const unsigned char *p = (const unsigned char *)name; *p;
		     p++) {
			if (*p < 0x20 || *p == 0x7f)
				return rpc_fail_field(ctx, "display_name",
						      "must not contain "
						      "control characters");
			if (*p != ' ')
				blank = false;
		}
		if (blank)
			return rpc_fail_field(ctx, "display_name",
					      "must not be blank");
		rc = store_run(db, SQL_SET_NAME, "ti", name, rpc_account(ctx));
	}
	if (!rc && bio)
		rc = store_run(db, SQL_SET_BIO, "ti", bio, rpc_account(ctx));
	if (rc)
		return rpc_fail_store(ctx, rc);
	if (rpc_param_str(ctx, params, "email", false, 0, 254, &email))
		return RPC_ERR;
	if (email) {
		if (!email_set)
			return rpc_fail_field(ctx, "email",
					      "this server keeps no addresses");
		if (email_set(ctx, rpc_account(ctx), email))
			return RPC_ERR;
	}
	*result = account_full(db, rpc_account(ctx));
	if (!*result)
		return rpc_fail(ctx, RPC_E_UNAUTHENTICATED, "no such account");
	return 0;
}

/* ---- the current password (change_password, delete) ---- */

/* The "password" parameter as the current password's shape: a string of 1
 * to AUTH_PW_MAX bytes without NUL. 0, or RPC_ERR (-32602 naming it). The
 * check against the stored hash follows in auth_confirm_start(). */
static int current_password(struct rpc_ctx *ctx, json_t *params,
			    const char **pw, size_t *pwlen)
{
	json_t *v = json_object_get(params, "password");

	if (!json_is_string(v) || json_string_length(v) < 1 ||
	    json_string_length(v) > AUTH_PW_MAX ||
	    memchr(json_string_value(v), '\0', json_string_length(v)))
		return rpc_fail_field(ctx, "password",
				      "must be the current password");
	*pw = json_string_value(v);
	*pwlen = json_string_length(v);
	return 0;
}

/* ---- account.change_password ---- */

static int change_cont(struct rpc_ctx *ctx, void *arg, json_t **result)
{
	char *newhash = NULL;
	int rc;

	if (auth_confirm_check(ctx, arg, true, &newhash))
		return RPC_ERR;
	rc = store_run(rpc_store(ctx), SQL_SET_PWHASH2, "ti", newhash,
		       rpc_account(ctx));
	if (!rc)
		rc = auth_end_sessions(ctx, rpc_account(ctx), rpc_session(ctx));
	if (rc)
		return rpc_fail_store(ctx, rc);
	log_info("auth", "account %lld changed its password",
		 (long long)rpc_account(ctx));
	*result = json_object();
	return 0;
}

static int account_change_password(struct rpc_ctx *ctx, json_t *params,
				   json_t **result)
{
	static const char *const allowed[] = {"password", "new_password", NULL};
	const char *pw = NULL, *newpw = NULL;
	size_t pwlen = 0, newlen = 0;

	(void)result;
	if (rpc_params_only(ctx, params, allowed) ||
	    current_password(ctx, params, &pw, &pwlen))
		return RPC_ERR;
	if (auth_param_password(ctx, params, "new_password", &newpw, &newlen))
		return RPC_ERR;
	return auth_confirm_start(ctx, pw, pwlen, newpw, newlen, change_cont);
}

/* ---- account.export ---- */

static int account_export(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {NULL};
	struct store *db = rpc_store(ctx);
	struct store_stmt *st;
	json_t *obj, *acc, *sessions;
	int rc;

	if (rpc_params_only(ctx, params, allowed))
		return RPC_ERR;
	acc = account_full(db, rpc_account(ctx));
	if (!acc)
		return rpc_fail(ctx, RPC_E_UNAUTHENTICATED, "no such account");
	sessions = json_array();
	st = store_query(db, SQL_EXPORT_SESSIONS, "i", rpc_account(ctx));
	if (!st) {
		json_decref(acc);
		json_decref(sessions);
		return rpc_fail_store(ctx, SCH_EDB);
	}
	while ((rc = store_row(st)) > 0) {
		const char *ua = store_text(st, 3);

		json_array_append_new(
			sessions,
			json_pack("{s:I,s:o,s:o,s:s,s:b}", "id",
				  (json_int_t)store_int(st, 0), "created_at",
				  auth_time_json(store_int(st, 1)), "last_seen",
				  auth_time_json(store_int(st, 2)),
				  "user_agent", ua ? ua : "", "ended",
				  store_int(st, 4) != 0));
	}
	obj = json_pack("{s:s,s:o,s:o,s:o}", "format",
			"scholia-account-export-1", "exported_at",
			auth_time_json(rpc_now(ctx)), "account", acc,
			"sessions", sessions);
	if (rc < 0) {
		json_decref(obj);
		return rpc_fail_store(ctx, rc);
	}
	/* what other modules hold: annotations, replies, memberships ... */
	if (auth_run_export_hooks(ctx, rpc_account(ctx), obj)) {
		json_decref(obj);
		return RPC_ERR;
	}
	*result = obj;
	return 0;
}

/* ---- account.delete ---- */

static int delete_cont(struct rpc_ctx *ctx, void *arg, json_t **result)
{
	struct store *db = rpc_store(ctx);
	int64_t account = rpc_account(ctx);
	int rc;

	if (auth_confirm_check(ctx, arg, false, NULL))
		return RPC_ERR;
	/* other modules first: they may still want the account's name */
	if (auth_run_delete_hooks(ctx, account))
		return RPC_ERR;
	rc = store_run(db, SQL_ANONYMISE, "i", account);
	if (!rc)
		rc = store_run(db, SQL_DELETE_SESSIONS, "i", account);
	if (!rc)
		rc = store_run(db, SQL_DELETE_RESETS, "i", account);
	if (!rc)
		rc = store_run(db, SQL_INVITES_FORGET, "i", account);
	if (rc)
		return rpc_fail_store(ctx, rc);
	/* every connection of the account closes, the caller's too: the
	 * reply is queued before the close */
	rpc_set_auth(ctx, 0, 0, false);
	rpc_effect_close(ctx, account, 0, 4001, "account deleted");
	log_info("auth", "account %lld deleted", (long long)account);
	*result = json_object();
	return 0;
}

static int account_delete(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"password", NULL};
	const char *pw = NULL;
	size_t pwlen = 0;

	(void)result;
	if (rpc_params_only(ctx, params, allowed) ||
	    current_password(ctx, params, &pw, &pwlen))
		return RPC_ERR;
	return auth_confirm_start(ctx, pw, pwlen, NULL, 0, delete_cont);
}

static const struct rpc_method account_methods[] = {
	{"account.get", account_get, RPC_AUTH},
	{"account.update", account_update, RPC_AUTH},
	{"account.change_password", account_change_password, RPC_AUTH},
	{"account.export", account_export, RPC_AUTH},
	{"account.delete", account_delete, RPC_AUTH},
	{NULL, NULL, 0}};

void auth_account_init(void)
{
	rpc_register(account_methods);
}
