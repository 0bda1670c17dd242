/*
 * auth.h - accounts, passwords, sessions, registration, recovery, bans.
 * The only module that includes sodium.h. Owns the tables accounts,
 * sessions, reset_tokens, invites_site (migrations/0002_auth.sql).
 */
#ifndef SCH_AUTH_H
#define SCH_AUTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct store;
struct rpc_ctx;

/* The auth module's settings (main.c fills them from the flags). */
struct auth_config {
	int registration;	       /* 0 open, 1 invite, 2 closed */
	unsigned long long pwhash_ops; /* crypto_pwhash opslimit */
	size_t pwhash_mem;	       /* crypto_pwhash memlimit */
	int session_idle_s;	       /* sliding expiry */
	int session_max_s;	       /* absolute expiry */
	const char *server_key_path;   /* file holding the token-hash key */
};
extern struct auth_config auth_config;

/* Registers auth.* and account.* methods, POST/DELETE /api/session, and the
 * authenticate / session_alive hooks. Call once before serving. */
void auth_init(void);

/* scholia admin create-account: password NULL prints a set-password link.
 * Writes what it did to out. Returns 0 or a negative SCH_E* code with a
 * message in err. */
int auth_cli_create_account(struct store *db, const char *handle,
			    const char *display_name, bool admin,
			    const char *password, const char *public_url,
			    FILE *out, char *err, size_t errlen);
/* scholia admin reset-link: prints a one-time link to out. */
int auth_cli_reset_link(struct store *db, const char *handle,
			const char *public_url, FILE *out, char *err,
			size_t errlen);
/* True when the database has no account (serve prints how to create one). */
bool auth_no_accounts(struct store *db);

/* The public part of an account as SPEC's {id, handle, display_name,
 * is_admin}; new reference, NULL if no such account. */
json_t *auth_account_json(struct store *db, int64_t account);
/* {id, handle, display_name} for embedding as an author. */
json_t *auth_author_json(struct store *db, int64_t account);
/* Account id by handle (for @mentions); 0 if none. */
int64_t auth_account_by_handle(struct store *db, const char *handle);

/* One row of the site admin's account list (borrowed for the callback). */
struct auth_account_row {
	int64_t id;
	const char *handle;
	const char *display_name;
	bool is_admin;
	bool banned;
	int64_t created_at;
};
typedef void (*auth_account_fn)(const struct auth_account_row *row, void *arg);
/* Calls fn for up to limit accounts with id > after, in id order. Returns
 * how many rows it passed, or a negative SCH_E* code. */
int auth_accounts_page(struct store *db, int64_t after, int limit,
		       auth_account_fn fn, void *arg);
/* Gives (on) or takes away the site admin role. SCH_ENOTFOUND for no such
 * account, SCH_ECONFLICT when it would remove the last site admin. */
int auth_set_admin(struct store *db, int64_t account, bool on);

/* Site-wide ban (moderation's admin.ban): marks the account banned, ends
 * every session and closes its connections. 0 or negative SCH_E*. */
int auth_set_banned(struct rpc_ctx *ctx, int64_t account, bool banned);
bool auth_is_banned(struct store *db, int64_t account);

/* ---- registration with an invitation ---- */

/*
 * A circle invitation, as the circles module knows it. check returns 1 when
 * code is a live circle invite (without using it), 0 when it is not, or a
 * negative SCH_E* code. redeem runs in the auth.register call, after the
 * account row exists, and joins account to the invite's circle (counting
 * the use); it returns 0, or RPC_ERR with the error recorded in ctx (the
 * registration then rolls back).
 */
typedef int (*auth_invite_check_fn)(struct store *db, const char *code);
typedef int (*auth_invite_redeem_fn)(struct rpc_ctx *ctx, int64_t account,
				     const char *code);
/* Installs the circle-invite hooks (circles_init calls it once). Until then
 * only site invites (below) open an invite-only server. */
void auth_set_invite_hooks(auth_invite_check_fn check,
			   auth_invite_redeem_fn redeem);

/*
 * Creates a site invitation (for --registration invite) and writes its code
 * (base64url, about 43 characters) into code (at least 64 bytes). created_by
 * may be 0; max_uses 0 means unlimited; ttl_s is its lifetime in seconds.
 * Only a keyed hash of the code is stored. 0 or negative SCH_E*.
 */
int auth_site_invite_create(struct store *db, int64_t created_by, int max_uses,
			    int64_t ttl_s, char *code, size_t codelen);

/* ---- what other modules add to account.export and account.delete ---- */

/*
 * An export hook returns, in *out (new reference, the caller owns it), the
 * JSON of what account wrote in the hook's module; it is stored under key
 * in the account.export object. 0, or RPC_ERR with the error in ctx.
 */
typedef int (*auth_export_fn)(struct rpc_ctx *ctx, int64_t account,
			      json_t **out);
/* A delete hook removes the account's private data in its module and
 * anonymises the rest (the account row itself is anonymised by auth).
 * 0, or RPC_ERR with the error in ctx (account.delete then rolls back). */
typedef int (*auth_delete_fn)(struct rpc_ctx *ctx, int64_t account);
/* Registers hooks at start-up (key is borrowed: a string literal). Up to 16
 * of each. Calling twice with the same key replaces the earlier one. */
void auth_add_export_hook(const char *key, auth_export_fn fn);
void auth_add_delete_hook(const char *name, auth_delete_fn fn);

/* ---- tokens and links for the mail module (server/mail/) ---- */

#define AUTH_TOKEN_TEXT 64   /* room for a token's base64url text + NUL */
#define AUTH_TOKEN_DIGEST 65 /* room for the hex of its keyed hash + NUL */

/* A new random token (base64url text into token, AUTH_TOKEN_TEXT bytes) and
 * the hex of its keyed hash (into digest, AUTH_TOKEN_DIGEST bytes), for a
 * module that stores only the hash. 0 or negative SCH_E*. */
int auth_token_make(struct store *db, char *token, char *digest);
/* The keyed hash of a token text: 0, or SCH_EINVAL when it is no token. */
int auth_token_digest(struct store *db, const char *token, char *digest);
/* A keyed MAC of msg with the server key, as nhex lower-case hex digits
 * (at most 64) into out (nhex + 1 bytes). Domain-separated from token
 * hashes. 0 or negative SCH_E*. */
int auth_mac_hex(struct store *db, const char *msg, char *out, size_t nhex);
/* Makes a one-time password-reset link for account valid ttl seconds:
 * <base>/#/reset/<token> into link. 0 or negative SCH_E*. */
int auth_reset_link_new(struct store *db, int64_t account, int64_t ttl,
			const char *base, char *link, size_t linklen);

/*
 * account.update {email} and account.get's email fields belong to the mail
 * module. set runs inside account.update with the new address ("" removes
 * it) and returns 0 or RPC_ERR with the error in ctx; decorate adds the
 * account's own email fields to its account.get / account.update result.
 */
typedef int (*auth_email_set_fn)(struct rpc_ctx *ctx, int64_t account,
				 const char *email);
typedef void (*auth_email_decorate_fn)(struct store *db, int64_t account,
				       json_t *obj);
void auth_set_email_hooks(auth_email_set_fn set,
			  auth_email_decorate_fn decorate);

#endif
