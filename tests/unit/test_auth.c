/*
 * test_auth.c - unit tests of the auth module on a fresh database with the
 * real migrations, calling the methods through rpc_call_local (deferred
 * Argon2id work runs inline there): registration rules, login and its
 * failure limits, tokens stored only as keyed hashes, sessions, reset links,
 * password change and account deletion, bans, invite-only registration,
 * rehash on login, and the key file's creation with mode 0600.
 *
 * Argon2id runs with the cheapest limits (ops 1, 8 KiB) to stay fast.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/db.h"

#include "auth/auth.h"
#include "auth/internal.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "util/err.h"

#define PW "correct horse battery"

struct fixture {
	char path[64];
	char key[80];
	struct store *db;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->db = fixture_open_db(f->path, sizeof(f->path), "auth");
	auth_config.pwhash_ops = 1;
	auth_config.pwhash_mem = 8192;
	auth_config.registration = 0;
	rpc_config.login_failures = 5;
	auth_config.session_idle_s = 0;
	auth_config.session_max_s = 0;
	auth_config.server_key_path = NULL;
	auth_key_forget();
	auth_limit_reset();
	auth_init();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fixture_close_db(f->db, f->path);
	if (f->key[0])
		unlink(f->key);
	auth_config.server_key_path = NULL;
	auth_key_forget();
	free(f);
	return 0;
}

/* Calls method; returns the error code (0 on success). *out gets the
 * result or the error object (caller frees; may be NULL). */
static int call(struct rpc_ctx *ctx, const char *method, json_t *params,
		json_t **out)
{
	json_t *res = NULL, *err = NULL;
	int code = rpc_call_local(ctx, method, params, &res, &err);

	json_decref(params);
	if (out)
		*out = code ? err : res;
	else {
		json_decref(res);
		json_decref(err);
	}
	return code;
}

static const char *field_of(json_t *err)
{
	return json_string_value(
		json_object_get(json_object_get(err, "data"), "field"));
}

/* Registers handle and returns a ctx logged in as it (caller frees). */
static struct rpc_ctx *registered(struct fixture *f, const char *handle,
				  char *token, size_t toklen)
{
	struct rpc_ctx *ctx = rpc_ctx_new_local(f->db, 0, false);
	json_t *r = NULL;

	assert_int_equal(
		call(ctx, "auth.register",
		     json_pack("{s:s,s:s}", "handle", handle, "password", PW),
		     &r),
		0);
	if (token)
		snprintf(token, toklen, "%s",
			 json_string_value(json_object_get(r, "token")));
	assert_true(rpc_account(ctx) > 0);
	json_decref(r);
	return ctx;
}

static int64_t count(struct store *db, const char *sql, const char *arg)
{
	int64_t n = -1;

	assert_true(store_int_query(db, &n, sql, "t", arg) >= 0);
	return n;
}

static void test_register_rules(void **state)
{
	struct fixture *f = *state;
	struct rpc_ctx *ctx = rpc_ctx_new_local(f->db, 0, false);
	json_t *e = NULL, *r = NULL;

	/* bad handles */
	assert_int_equal(
		call(ctx, "auth.register",
		     json_pack("{s:s,s:s}", "handle", "Alice", "password", PW),
		     &e),
		RPC_E_INVALID_PARAMS);
	assert_string_equal(field_of(e), "handle");
	json_decref(e);
	assert_int_equal(
		call(ctx, "auth.register",
		     json_pack("{s:s,s:s}", "handle", "ab", "password", PW),
		     &e),
		RPC_E_INVALID_PARAMS);
	assert_string_equal(field_of(e), "handle");
	json_decref(e);
	assert_int_equal(
		call(ctx, "auth.register",
		     json_pack("{s:s,s:s}", "handle", "a-b-c", "password", PW),
		     NULL),
		RPC_E_INVALID_PARAMS);
	/* short, common and simple passwords */
	assert_int_equal(call(ctx, "auth.register",
			      json_pack("{s:s,s:s}", "handle", "alice",
					"password", "short"),
			      &e),
			 RPC_E_INVALID_PARAMS);
	assert_string_equal(field_of(e), "password");
	json_decref(e);
	assert_int_equal(call(ctx, "auth.register",
			      json_pack("{s:s,s:s}", "handle", "alice",
					"password", "password1234"),
			      &e),
			 RPC_E_INVALID_PARAMS);
	assert_string_equal(field_of(e), "password");
	json_decref(e);
	assert_int_equal(call(ctx, "auth.register",
			      json_pack("{s:s,s:s}", "handle", "alice",
					"password", "sunshine12"),
			      &e),
			 RPC_E_INVALID_PARAMS);
	assert_string_equal(field_of(e), "password");
	json_decref(e);
	/* display name limits */
	assert_int_equal(call(ctx, "auth.register",
			      json_pack("{s:s,s:s,s:s}", "handle", "alice",
					"password", PW, "display_name", ""),
			      NULL),
			 RPC_E_INVALID_PARAMS);
	/* success: display name defaults to the handle */
	assert_int_equal(
		call(ctx, "auth.register",
		     json_pack("{s:s,s:s}", "handle", "alice", "password", PW),
		     &r),
		0);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(r, "account"),
						  "display_name")),
		"alice");
	assert_false(json_is_true(
		json_object_get(json_object_get(r, "account"), "is_admin")));
	assert_non_null(json_string_value(json_object_get(r, "expires_at")));
	assert_int_equal(strlen(json_string_value(json_object_get(r, "token"))),
			 43);
	json_decref(r);
	/* taken */
	assert_int_equal(
		call(ctx, "auth.register",
		     json_pack("{s:s,s:s}", "handle", "alice", "password", PW),
		     NULL),
		RPC_E_CONFLICT);
	rpc_ctx_free_local(ctx);
}

static void test_tokens_hashed(void **state)
{
	struct fixture *f = *state;
	char token[64];
	struct rpc_ctx *ctx = registered(f, "bob", token, sizeof(token));
	struct rpc_ctx *other = rpc_ctx_new_local(f->db, 0, false);
	json_t *r = NULL;

	/* the token is not in the table, its hash is */
	assert_int_equal(count(f->db,
			       "SELECT count(*) FROM sessions WHERE "
			       "token_hash = ?",
			       token),
			 0);
	assert_int_equal(count(f->db,
			       "SELECT count(*) FROM accounts WHERE pwhash "
			       "LIKE '$argon2id$%' AND handle = ?",
			       "bob"),
			 1);
	/* resume in another context */
	assert_int_equal(call(other, "auth.resume",
			      json_pack("{s:s}", "token", token), &r),
			 0);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(r, "account"), "handle")),
			    "bob");
	json_decref(r);
	assert_int_equal(rpc_account(other), rpc_account(ctx));
	/* a garbled token */
	token[3] = token[3] == 'A' ? 'B' : 'A';
	assert_int_equal(call(other, "auth.resume",
			      json_pack("{s:s}", "token", token), NULL),
			 RPC_E_UNAUTHENTICATED);
	assert_int_equal(call(other, "auth.resume",
			      json_pack("{s:s}", "token", "not a token!"),
			      NULL),
			 RPC_E_UNAUTHENTICATED);
	rpc_ctx_free_local(ctx);
	rpc_ctx_free_local(other);
}

static void test_login_and_limits(void **state)
{
	struct fixture *f = *state;
	struct rpc_ctx *ctx = registered(f, "carol", NULL, 0);
	struct rpc_ctx *c = rpc_ctx_new_local(f->db, 0, false);
	json_t *e = NULL, *e2 = NULL, *r = NULL;

	assert_int_equal(
		call(c, "auth.login",
		     json_pack("{s:s,s:s}", "handle", "carol", "password", PW),
		     &r),
		0);
	json_decref(r);
	/* wrong password and unknown handle answer alike */
	assert_int_equal(call(c, "auth.login",
			      json_pack("{s:s,s:s}", "handle", "carol",
					"password", "wrong password!"),
			      &e),
			 RPC_E_UNAUTHENTICATED);
	assert_int_equal(call(c, "auth.login",
			      json_pack("{s:s,s:s}", "handle", "nobody",
					"password", "wrong password!"),
			      &e2),
			 RPC_E_UNAUTHENTICATED);
	assert_string_equal(json_string_value(json_object_get(e, "message")),
			    json_string_value(json_object_get(e2, "message")));
	json_decref(e);
	json_decref(e2);
	/* four more failures for carol: the fifth starts the back-off */
	auth_limit_reset();
	for (int i = 0; i < 5; i++)
		assert_int_equal(call(c, "auth.login",
				      json_pack("{s:s,s:s}", "handle", "carol",
						"password", "wrong password!"),
				      NULL),
				 RPC_E_UNAUTHENTICATED);
	/* even the right password is refused now */
	assert_int_equal(
		call(c, "auth.login",
		     json_pack("{s:s,s:s}", "handle", "carol", "password", PW),
		     &e),
		RPC_E_RATE_LIMITED);
	assert_true(
		json_integer_value(json_object_get(json_object_get(e, "data"),
						   "retry_after_ms")) > 1000);
	json_decref(e);
	auth_limit_reset();
	rpc_ctx_free_local(ctx);
	rpc_ctx_free_local(c);
}

static void test_sessions_and_revoke(void **state)
{
	struct fixture *f = *state;
	char t1[64], t2[64];
	struct rpc_ctx *a = registered(f, "dave", t1, sizeof(t1));
	struct rpc_ctx *b = rpc_ctx_new_local(f->db, 0, false);
	struct rpc_ctx *eve = registered(f, "eve", NULL, 0);
	json_t *r = NULL, *items;
	int64_t other = 0;

	assert_int_equal(
		call(b, "auth.login",
		     json_pack("{s:s,s:s}", "handle", "dave", "password", PW),
		     &r),
		0);
	snprintf(t2, sizeof(t2), "%s",
		 json_string_value(json_object_get(r, "token")));
	json_decref(r);
	assert_int_equal(call(a, "auth.sessions", json_object(), &r), 0);
	items = json_object_get(r, "items");
	assert_int_equal(json_array_size(items), 2);
	for (size_t i = 0; i < 2; i++) {
		json_t *it = json_array_get(items, i);

		if (!json_is_true(json_object_get(it, "current")))
			other = json_integer_value(json_object_get(it, "id"));
		assert_non_null(json_object_get(it, "last_seen"));
		assert_non_null(json_object_get(it, "user_agent"));
	}
	assert_true(json_is_null(json_object_get(r, "next")));
	json_decref(r);
	assert_int_equal(other, rpc_session(b));
	/* eve cannot revoke dave's session */
	assert_int_equal(call(eve, "auth.revoke",
			      json_pack("{s:I}", "session", (json_int_t)other),
			      NULL),
			 RPC_E_NOT_FOUND);
	assert_int_equal(call(a, "auth.revoke",
			      json_pack("{s:I}", "session", (json_int_t)other),
			      NULL),
			 0);
	assert_int_equal(
		call(b, "auth.resume", json_pack("{s:s}", "token", t2), NULL),
		RPC_E_UNAUTHENTICATED);
	/* logout ends the caller's own session */
	assert_int_equal(call(a, "auth.logout", json_object(), NULL), 0);
	assert_int_equal(rpc_account(a), 0);
	assert_int_equal(
		call(b, "auth.resume", json_pack("{s:s}", "token", t1), NULL),
		RPC_E_UNAUTHENTICATED);
	assert_int_equal(call(a, "account.get", json_object(), NULL),
			 RPC_E_UNAUTHENTICATED);
	rpc_ctx_free_local(a);
	rpc_ctx_free_local(b);
	rpc_ctx_free_local(eve);
}

static void test_expiry(void **state)
{
	struct fixture *f = *state;
	char t[64];
	struct rpc_ctx *a = registered(f, "frank", t, sizeof(t));
	struct rpc_ctx *b = rpc_ctx_new_local(f->db, 0, false);

	assert_int_equal(
		call(b, "auth.resume", json_pack("{s:s}", "token", t), NULL),
		0);
	/* age the session past its idle expiry */
	assert_int_equal(store_run(f->db,
				   "UPDATE sessions SET expires_at = ? "
				   "WHERE account = ?",
				   "ii", (int64_t)time(NULL) - 1,
				   rpc_account(a)),
			 0);
	assert_int_equal(
		call(b, "auth.resume", json_pack("{s:s}", "token", t), NULL),
		RPC_E_UNAUTHENTICATED);
	assert_false(auth_hook_session_alive(f->db, rpc_session(a)));
	rpc_ctx_free_local(a);
	rpc_ctx_free_local(b);
}

/* Runs the reset-link command and returns the token from its link. */
static void reset_token(struct fixture *f, const char *handle, char *tok,
			size_t len)
{
	char *out = NULL, err[256] = "";
	size_t outlen = 0;
	FILE *fp = open_memstream(&out, &outlen);
	const char *p;

	assert_int_equal(auth_cli_reset_link(f->db, handle, "https://ex.org/",
					     fp, err, sizeof(err)),
			 0);
	fclose(fp);
	p = strstr(out, "https://ex.org/#/reset/");
	assert_non_null(p);
	p += strlen("https://ex.org/#/reset/");
	snprintf(tok, len, "%.*s", (int)strcspn(p, "\n"), p);
	free(out);
}

static void test_reset(void **state)
{
	struct fixture *f = *state;
	char old[64], tok[64];
	struct rpc_ctx *a = registered(f, "gina", old, sizeof(old));
	struct rpc_ctx *b = rpc_ctx_new_local(f->db, 0, false);
	char err[256];
	json_t *r = NULL;

	reset_token(f, "gina", tok, sizeof(tok));
	assert_int_equal(strlen(tok), 43);
	assert_int_equal(auth_cli_reset_link(f->db, "nobody", NULL, stderr, err,
					     sizeof(err)),
			 SCH_ENOTFOUND);
	/* weak password: the token survives */
	assert_int_equal(call(b, "auth.reset",
			      json_pack("{s:s,s:s}", "reset_token", tok,
					"password", "1234567890"),
			      NULL),
			 RPC_E_INVALID_PARAMS);
	assert_int_equal(call(b, "auth.reset",
			      json_pack("{s:s,s:s}", "reset_token", tok,
					"password", "a brand new secret"),
			      &r),
			 0);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(r, "account"), "handle")),
			    "gina");
	json_decref(r);
	/* used once only */
	assert_int_equal(call(b, "auth.reset",
			      json_pack("{s:s,s:s}", "reset_token", tok,
					"password", "another new secret"),
			      NULL),
			 RPC_E_UNAUTHENTICATED);
	/* old sessions ended; the new password works */
	assert_int_equal(
		call(b, "auth.resume", json_pack("{s:s}", "token", old), NULL),
		RPC_E_UNAUTHENTICATED);
	assert_int_equal(call(b, "auth.login",
			      json_pack("{s:s,s:s}", "handle", "gina",
					"password", "a brand new secret"),
			      NULL),
			 0);
	rpc_ctx_free_local(a);
	rpc_ctx_free_local(b);
}

static void test_change_password(void **state)
{
	struct fixture *f = *state;
	char t1[64];
	struct rpc_ctx *a = registered(f, "hank", t1, sizeof(t1));
	struct rpc_ctx *b = rpc_ctx_new_local(f->db, 0, false);
	json_t *e = NULL;

	assert_int_equal(
		call(b, "auth.login",
		     json_pack("{s:s,s:s}", "handle", "hank", "password", PW),
		     NULL),
		0);
	assert_int_equal(
		call(b, "account.change_password",
		     json_pack("{s:s,s:s}", "password", "not it at all",
			       "new_password", "fresh password 22"),
		     NULL),
		RPC_E_FORBIDDEN);
	assert_int_equal(call(b, "account.change_password",
			      json_pack("{s:s,s:s}", "password", PW,
					"new_password", "short"),
			      &e),
			 RPC_E_INVALID_PARAMS);
	assert_string_equal(field_of(e), "new_password");
	json_decref(e);
	assert_int_equal(call(b, "account.change_password",
			      json_pack("{s:s,s:s}", "password", PW,
					"new_password", "fresh password 22"),
			      NULL),
			 0);
	/* the other session (a's) ended, b's lives on */
	assert_int_equal(
		call(b, "auth.resume", json_pack("{s:s}", "token", t1), NULL),
		RPC_E_UNAUTHENTICATED);
	assert_true(auth_hook_session_alive(f->db, rpc_session(b)));
	assert_false(auth_hook_session_alive(f->db, rpc_session(a)));
	rpc_ctx_free_local(a);
	rpc_ctx_free_local(b);
}

static void test_update_export_delete(void **state)
{
	struct fixture *f = *state;
	struct rpc_ctx *a = registered(f, "iris", NULL, 0);
	int64_t id = rpc_account(a);
	json_t *r = NULL, *j;

	assert_int_equal(call(a, "account.update",
			      json_pack("{s:s,s:s}", "display_name",
					"Iris Murdoch", "bio", "reads a lot"),
			      &r),
			 0);
	assert_string_equal(
		json_string_value(json_object_get(r, "display_name")),
		"Iris Murdoch");
	json_decref(r);
	assert_int_equal(call(a, "account.export", json_object(), &r), 0);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(r, "account"), "bio")),
			    "reads a lot");
	assert_true(json_array_size(json_object_get(r, "sessions")) >= 1);
	json_decref(r);
	assert_int_equal(call(a, "account.delete",
			      json_pack("{s:s}", "password", "not my password"),
			      NULL),
			 RPC_E_FORBIDDEN);
	assert_int_equal(call(a, "account.delete",
			      json_pack("{s:s}", "password", PW), NULL),
			 0);
	j = auth_author_json(f->db, id);
	assert_non_null(j);
	assert_string_equal(
		json_string_value(json_object_get(j, "display_name")),
		"Deleted member");
	assert_true(strncmp(json_string_value(json_object_get(j, "handle")),
			    "deleted-", 8) == 0);
	json_decref(j);
	assert_int_equal(auth_account_by_handle(f->db, "iris"), 0);
	assert_int_equal(count(f->db,
			       "SELECT count(*) FROM sessions s JOIN accounts "
			       "a ON a.id = s.account WHERE a.display_name = ?",
			       "Deleted member"),
			 0);
	/* the handle is free again, the old password opens nothing */
	rpc_ctx_free_local(registered(f, "iris", NULL, 0));
	rpc_ctx_free_local(a);
}

static void test_ban(void **state)
{
	struct fixture *f = *state;
	char t[64];
	struct rpc_ctx *a = registered(f, "jack", t, sizeof(t));
	struct rpc_ctx *adm = rpc_ctx_new_local(f->db, 0, true);
	struct rpc_ctx *c = rpc_ctx_new_local(f->db, 0, false);
	int64_t id = rpc_account(a);

	assert_int_equal(auth_set_banned(adm, id, true), 0);
	assert_true(auth_is_banned(f->db, id));
	assert_false(auth_hook_session_alive(f->db, rpc_session(a)));
	assert_int_equal(
		call(c, "auth.login",
		     json_pack("{s:s,s:s}", "handle", "jack", "password", PW),
		     NULL),
		RPC_E_LOCKED);
	assert_int_equal(
		call(c, "auth.resume", json_pack("{s:s}", "token", t), NULL),
		RPC_E_UNAUTHENTICATED);
	assert_int_equal(auth_set_banned(adm, id, false), 0);
	assert_int_equal(
		call(c, "auth.login",
		     json_pack("{s:s,s:s}", "handle", "jack", "password", PW),
		     NULL),
		0);
	assert_int_equal(auth_set_banned(adm, 99999, true), SCH_ENOTFOUND);
	rpc_ctx_free_local(a);
	rpc_ctx_free_local(adm);
	rpc_ctx_free_local(c);
}

static void test_registration_modes(void **state)
{
	struct fixture *f = *state;
	struct rpc_ctx *c = rpc_ctx_new_local(f->db, 0, false);
	char code[64];
	json_t *e = NULL;

	auth_config.registration = 2;
	assert_int_equal(
		call(c, "auth.register",
		     json_pack("{s:s,s:s}", "handle", "kate", "password", PW),
		     NULL),
		RPC_E_FORBIDDEN);
	auth_config.registration = 1;
	assert_int_equal(
		call(c, "auth.register",
		     json_pack("{s:s,s:s}", "handle", "kate", "password", PW),
		     NULL),
		RPC_E_FORBIDDEN);
	assert_int_equal(call(c, "auth.register",
			      json_pack("{s:s,s:s,s:s}", "handle", "kate",
					"password", PW, "invite", "bogus"),
			      &e),
			 RPC_E_INVALID_PARAMS);
	assert_string_equal(field_of(e), "invite");
	json_decref(e);
	assert_int_equal(
		auth_site_invite_create(f->db, 0, 1, 3600, code, sizeof(code)),
		0);
	assert_int_equal(
		count(f->db, "SELECT count(*) FROM invites_site WHERE hash = ?",
		      code),
		0);
	assert_int_equal(call(c, "auth.register",
			      json_pack("{s:s,s:s,s:s}", "handle", "kate",
					"password", PW, "invite", code),
			      NULL),
			 0);
	/* one use only */
	assert_int_equal(call(c, "auth.register",
			      json_pack("{s:s,s:s,s:s}", "handle", "kate2",
					"password", PW, "invite", code),
			      NULL),
			 RPC_E_INVALID_PARAMS);
	auth_config.registration = 0;
	rpc_ctx_free_local(c);
}

static void test_cli_and_rehash(void **state)
{
	struct fixture *f = *state;
	struct rpc_ctx *c = rpc_ctx_new_local(f->db, 0, false);
	char err[256] = "", *out = NULL, *h1, *h2;
	size_t outlen = 0;
	FILE *fp;
	json_t *r = NULL;
	struct store_stmt *st;

	assert_true(auth_no_accounts(f->db));
	fp = open_memstream(&out, &outlen);
	assert_int_equal(auth_cli_create_account(f->db, "root_admin", NULL,
						 true, PW, NULL, fp, err,
						 sizeof(err)),
			 0);
	fclose(fp);
	assert_non_null(strstr(out, "site admin"));
	free(out);
	assert_false(auth_no_accounts(f->db));
	assert_int_equal(auth_cli_create_account(f->db, "root_admin", NULL,
						 false, PW, NULL, stderr, err,
						 sizeof(err)),
			 SCH_ECONFLICT);
	assert_int_equal(auth_cli_create_account(f->db, "weakling", NULL, false,
						 "qwertyuiop", NULL, stderr,
						 err, sizeof(err)),
			 SCH_EINVAL);
	/* no password: a set-password link */
	fp = open_memstream(&out, &outlen);
	assert_int_equal(auth_cli_create_account(f->db, "linked", "Linked One",
						 false, NULL, "http://h:1", fp,
						 err, sizeof(err)),
			 0);
	fclose(fp);
	assert_non_null(strstr(out, "http://h:1/#/reset/"));
	free(out);
	assert_int_equal(
		call(c, "auth.login",
		     json_pack("{s:s,s:s}", "handle", "linked", "password", PW),
		     NULL),
		RPC_E_UNAUTHENTICATED);
	assert_int_equal(call(c, "auth.login",
			      json_pack("{s:s,s:s}", "handle", "root_admin",
					"password", PW),
			      &r),
			 0);
	assert_true(json_is_true(
		json_object_get(json_object_get(r, "account"), "is_admin")));
	json_decref(r);
	/* stronger limits: the next login rehashes */
	st = store_query(f->db, "SELECT pwhash FROM accounts WHERE handle = ?",
			 "t", "root_admin");
	assert_int_equal(store_row(st), 1);
	h1 = store_text_dup(st, 0);
	store_done(st);
	auth_config.pwhash_ops = 2;
	assert_int_equal(call(c, "auth.login",
			      json_pack("{s:s,s:s}", "handle", "root_admin",
					"password", PW),
			      NULL),
			 0);
	st = store_query(f->db, "SELECT pwhash FROM accounts WHERE handle = ?",
			 "t", "root_admin");
	assert_int_equal(store_row(st), 1);
	h2 = store_text_dup(st, 0);
	store_done(st);
	assert_string_not_equal(h1, h2);
	assert_non_null(strstr(h2, "t=2"));
	free(h1);
	free(h2);
	auth_config.pwhash_ops = 1;
	rpc_ctx_free_local(c);
}

static void test_key_file(void **state)
{
	struct fixture *f = *state;
	char t[64], hash1[AUTH_HASH_HEX], hash2[AUTH_HASH_HEX];
	struct rpc_ctx *a;
	struct stat stt;

	snprintf(f->key, sizeof(f->key), "%s.key", f->path);
	auth_config.server_key_path = f->key;
	auth_key_forget();
	a = registered(f, "lena", t, sizeof(t));
	assert_int_equal(stat(f->key, &stt), 0);
	assert_int_equal(stt.st_mode & 0777, 0600);
	assert_int_equal(stt.st_size, 65);
	assert_int_equal(auth_token_hash(f->db, t, hash1), 0);
	/* same key after the cache is dropped (read back from the file) */
	auth_key_forget();
	assert_int_equal(auth_token_hash(f->db, t, hash2), 0);
	assert_string_equal(hash1, hash2);
	/* no key in the database when the file is used */
	assert_int_equal(count(f->db,
			       "SELECT count(*) FROM auth_key WHERE ? <> ''",
			       "x"),
			 0);
	rpc_ctx_free_local(a);
}

static int64_t fake_ms;

static int64_t fake_clock(void)
{
	return fake_ms;
}

static void test_backoff_grows(void **state)
{
	int64_t retry = 0;

	(void)state;
	auth_limit_reset();
	auth_limit_set_clock(fake_clock);
	fake_ms = 1000000000;
	/* five failures within a minute: refused for a minute */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(auth_limit_begin(NULL, "mallory", "10.0.0.1",
						  true, &retry),
				 0);
		auth_limit_end(NULL, "mallory", "10.0.0.1", true, false);
		fake_ms += 1000;
	}
	assert_int_equal(
		auth_limit_begin(NULL, "mallory", "10.0.0.2", true, &retry), 1);
	assert_true(retry > 50000 && retry <= 60000);
	/* the address is limited on its own, for any handle */
	assert_int_equal(
		auth_limit_begin(NULL, "someone", "10.0.0.1", true, &retry), 1);
	assert_int_equal(
		auth_limit_begin(NULL, "someone", "10.0.0.3", true, &retry), 0);
	auth_limit_end(NULL, "someone", "10.0.0.3", true, true);
	/* after the back-off, five more failures: two minutes */
	fake_ms += 61000;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(auth_limit_begin(NULL, "mallory", "10.0.0.4",
						  true, &retry),
				 0);
		auth_limit_end(NULL, "mallory", "10.0.0.4", true, false);
	}
	assert_int_equal(
		auth_limit_begin(NULL, "mallory", "10.0.0.5", true, &retry), 1);
	assert_true(retry > 110000 && retry <= 120000);
	/* four failures spread over more than a minute never trip it */
	for (int i = 0; i < 12; i++) {
		assert_int_equal(
			auth_limit_begin(NULL, "slowpoke", NULL, false, &retry),
			0);
		auth_limit_end(NULL, "slowpoke", NULL, false, false);
		fake_ms += 16000;
	}
	/* guesses in flight count: the sixth parallel one waits */
	for (int i = 0; i < 5; i++)
		assert_int_equal(auth_limit_begin(NULL, "burst", "10.0.0.9",
						  true, &retry),
				 0);
	assert_int_equal(
		auth_limit_begin(NULL, "burst", "10.0.0.9", true, &retry), 1);
	auth_limit_set_clock(NULL);
	auth_limit_reset();
}

static void test_register_limit(void **state)
{
	int64_t retry = 0;
	int i;

	(void)state;
	auth_limit_reset();
	auth_limit_set_clock(fake_clock);
	fake_ms = 2000000000;
	/* four hashing at once, not five */
	for (i = 0; i < 4; i++)
		assert_int_equal(
			auth_limit_register_begin(NULL, "10.1.1.1", &retry), 0);
	assert_int_equal(auth_limit_register_begin(NULL, "10.1.1.1", &retry),
			 1);
	assert_int_equal(retry, 1000);
	for (i = 0; i < 4; i++)
		auth_limit_register_end("10.1.1.1");
	/* thirty in ten minutes, then wait for the window */
	for (i = 4; i < 30; i++) {
		assert_int_equal(
			auth_limit_register_begin(NULL, "10.1.1.1", &retry), 0);
		auth_limit_register_end("10.1.1.1");
		fake_ms += 1000;
	}
	assert_int_equal(auth_limit_register_begin(NULL, "10.1.1.1", &retry),
			 1);
	assert_true(retry > 500000 && retry <= 600000);
	assert_int_equal(auth_limit_register_begin(NULL, "10.1.1.2", &retry),
			 0);
	fake_ms += retry;
	assert_int_equal(auth_limit_register_begin(NULL, "10.1.1.1", &retry),
			 0);
	auth_limit_set_clock(NULL);
	auth_limit_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_register_rules, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_tokens_hashed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_login_and_limits, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sessions_and_revoke, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_password, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_update_export_delete,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_ban, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registration_modes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_cli_and_rehash, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_key_file, setup, teardown),
		cmocka_unit_test(test_backoff_grows),
		cmocka_unit_test(test_register_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
