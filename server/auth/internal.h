/*
 * internal.h - what the files of server/auth/ share: passwords (password.c),
 * tokens and sessions (session.c), login limits (limit.c), the method
 * handlers (methods.c, account.c), HTTP (http.c) and the command line
 * (cli.c). Not for other modules: they use auth.h.
 */
#ifndef SCH_AUTH_INTERNAL_H
#define SCH_AUTH_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "http/http.h"
#include "rpc/rpc.h"

struct store;
struct rpc_ctx;

#define AUTH_TOKEN_BYTES 32 /* random bytes in a session/reset token */
#define AUTH_TOKEN_B64 64   /* room for its base64url text + NUL */
#define AUTH_HASH_HEX 65    /* hex of a 32-byte keyed hash + NUL */
#define AUTH_PWHASH_MAX 128 /* >= crypto_pwhash_STRBYTES */
#define AUTH_PW_MIN 10	    /* SPEC §5: password bytes */
#define AUTH_PW_MAX 1024
#define AUTH_DISPLAY_MAX 100	       /* display_name code points */
#define AUTH_BIO_MAX 2000	       /* bio code points */
#define AUTH_RESET_TTL (24 * 3600)     /* reset-link lifetime */
#define AUTH_SETPW_TTL (7 * 24 * 3600) /* set-password link lifetime */

/* ---- password.c: runs on worker threads unless noted ---- */

/* Fills out (AUTH_PWHASH_MAX) with an Argon2id string of pw using the
 * configured limits. 0, or SCH_ENOMEM when the memory limit cannot be met. */
int auth_pw_hash(const char *pw, size_t len, char *out);
/* 0 when pw matches hash. hash NULL verifies against a dummy hash so that
 * an unknown handle costs what a wrong password costs, and fails. Sets
 * *rehash when the hash was made with other limits than configured. */
int auth_pw_verify(const char *hash, const char *pw, size_t len, bool *rehash);
/* 0 when pw is acceptable; 1 when it is a common or simple password, with
 * the reason in why. Uses cracklib's default dictionary, or a built-in list
 * when the dictionary is missing (warned once). Thread-safe. */
int auth_pw_weak(const char *pw, size_t len, const char *handle, char *why,
		 size_t whylen);
/* Configured limits (auth_config, or libsodium INTERACTIVE when unset). */
unsigned long long auth_pw_ops(void);
size_t auth_pw_mem(void);
/* Wipes and frees a heap copy of a secret (NULL ignored). */
void auth_secret_free(char *s, size_t len);
/* A heap copy of a secret, NUL-terminated; free with auth_secret_free. */
char *auth_secret_dup(const char *s, size_t len);

/* ---- session.c: store thread ---- */

/* Makes a new random token: its base64url text in b64 (AUTH_TOKEN_B64) and
 * the hex of its keyed hash in hash (AUTH_HASH_HEX). 0 or negative SCH_E*. */
int auth_token_new(struct store *db, char *b64, char *hash);
/* Keyed hash of a token given as base64url text: 0, or SCH_EINVAL when the
 * text is not a token. */
int auth_token_hash(struct store *db, const char *b64, char *hash);
/*
 * Creates a session for account (user agent copied) and writes its token in
 * token (AUTH_TOKEN_B64). Sets *session and *expires_at. 0 or negative SCH_E*.
 */
int auth_session_create(struct store *db, int64_t account, int64_t now,
			const char *user_agent, char *token, int64_t *session,
			int64_t *expires_at);
/*
 * Finds the live session of a token and slides its expiry. 0 with the
 * outputs set; SCH_ENOTFOUND for an unknown, expired or revoked token, a
 * banned or deleted account; other negative SCH_E* on database errors.
 */
int auth_session_lookup(struct store *db, const char *token, int64_t now,
			int64_t *account, int64_t *session, bool *is_admin,
			int64_t *expires_at);
/* Revokes one session (0 or negative SCH_E*). */
int auth_session_revoke(struct store *db, int64_t session);
/* The rpc_hooks implementations. */
int auth_hook_authenticate(struct store *db, const char *token,
			   int64_t *account, int64_t *session, bool *is_admin,
			   const char *peer, const char *user_agent);
bool auth_hook_session_alive(struct store *db, int64_t session);
/* Seconds of sliding and absolute lifetime (configured or defaults). */
int64_t auth_session_idle(void);
int64_t auth_session_max(void);
/* Forgets the cached key (tests that open several databases). */
void auth_key_forget(void);

/* ---- limit.c: login failures; store thread only ---- */

/*
 * Before a password check for handle from peer: 0 when it may go ahead
 * (and counts it as in flight), or 1 with *retry_ms when the handle or the
 * address is in back-off. by_peer false limits by handle alone (password
 * confirmation of a signed-in member). ctx: the call (its database holds
 * the counters when store_shared(); NULL: memory only, unit tests).
 */
int auth_limit_begin(struct rpc_ctx *ctx, const char *handle, const char *peer,
		     bool by_peer, int64_t *retry_ms);
/* (handle NULL: a known device; only the address counts, see device.c.) */
/* After the check: a failure counts against both; a success clears the
 * handle's count. On a shared database written through rpc_keep(ctx), so
 * that it stays when the call fails. */
void auth_limit_end(struct rpc_ctx *ctx, const char *handle, const char *peer,
		    bool by_peer, bool ok);
/* Before an auth.register from peer: 0 (counted, in flight), or 1 with
 * *retry_ms when the address registered too much lately. */
int auth_limit_register_begin(struct rpc_ctx *ctx, const char *peer,
			      int64_t *retry_ms);
/* After the registration's hash (success or not). */
void auth_limit_register_end(const char *peer);
/* Forgets every counter (unit tests). */
void auth_limit_reset(void);
/* Replaces the limiter's clock (ms since the epoch; NULL: the real one).
 * For unit tests of the back-off. */
void auth_limit_set_clock(int64_t (*now)(void));

/* ---- methods.c / account.c ---- */

/* Formats unix seconds as RFC 3339 UTC into buf (at least 32 bytes). */
void auth_time_str(int64_t t, char *buf, size_t len);
/* json string of an RFC 3339 time (new reference). */
json_t *auth_time_json(int64_t t);
/* True when handle is 3-32 of a-z 0-9 _. */
bool auth_handle_ok(const char *handle);
/* Reads a password parameter: a string of 10-1024 bytes without NUL.
 * 0, or RPC_ERR with -32602 naming the field. */
int auth_param_password(struct rpc_ctx *ctx, json_t *params, const char *name,
			const char **pw, size_t *len);
/* {token, account, expires_at}: new reference. */
json_t *auth_login_json(struct store *db, int64_t account, const char *token,
			int64_t expires_at);
/*
 * The login used by auth.login and POST /api/session: checks the limits,
 * then defers the password check. Returns RPC_DEFERRED or RPC_ERR. In an
 * HTTP call the continuation answers through rpc_http_resp().
 */
/* ---- device.c: device cookies (R2-F5) ---- */
#define AUTH_DEVICE_COOKIE HTTP_DEVICE_COOKIE /* http/http.h */
#define AUTH_DEVICE_MAX 128 /* bytes of a device value, NUL included */
/* A new signed device value for account into out (AUTH_DEVICE_MAX). */
int auth_device_new(struct store *db, int64_t account, char *out);
/* Whether value is a device value this server signed for account. */
bool auth_device_valid(struct store *db, const char *value, int64_t account);
/* The keyed BLAKE2b of data with the server key (session.c). */
int auth_key_mac(struct store *db, const void *data, size_t len,
		 unsigned char *out, size_t outlen);

/* device: the caller's device value (auth.login's param or the device
 * cookie) or NULL. */
int auth_login_start(struct rpc_ctx *ctx, const char *handle, const char *pw,
		     size_t pwlen, const char *device);
/*
 * Confirms the caller's password on the pool (account.change_password with
 * newpw, account.delete without), then runs cont with the job as arg.
 * Returns RPC_DEFERRED or RPC_ERR.
 */
int auth_confirm_start(struct rpc_ctx *ctx, const char *pw, size_t pwlen,
		       const char *newpw, size_t newlen, rpc_cont_fn cont);
/* In that continuation: 0 when the password was right and the hash is
 * unchanged, else RPC_ERR with -32003 recorded. With want_hash, *newhash
 * gets the new password's hash (borrowed from the job), or -32602 on a
 * weak new password. */
int auth_confirm_check(struct rpc_ctx *ctx, void *arg, bool want_hash,
		       char **newhash);
/* Drops the caller's authentication now and, from a continuation in a
 * later batch, closes the connections of session (or of account when
 * session is 0) with code; answers {}. Returns RPC_DEFERRED. */
int auth_close_later(struct rpc_ctx *ctx, int64_t account, int64_t session,
		     int code, const char *reason);
/* Ends sessions other than keep (0: all) of account, closing their
 * connections with 4001. 0 or negative SCH_E*. */
int auth_end_sessions(struct rpc_ctx *ctx, int64_t account, int64_t keep);
/* Registers account.* methods (account.c). */
void auth_account_init(void);
/* Registers POST and DELETE /api/session (http.c). */
void auth_http_init(void);
/* Runs the registered export hooks into obj (account.c). */
int auth_run_export_hooks(struct rpc_ctx *ctx, int64_t account, json_t *obj);
/* Runs the registered delete hooks (account.c). */
int auth_run_delete_hooks(struct rpc_ctx *ctx, int64_t account);
/* The circle-invite hooks (methods.c), NULL until circles sets them. */
extern auth_invite_check_fn auth_invite_check;
extern auth_invite_redeem_fn auth_invite_redeem;

#endif
