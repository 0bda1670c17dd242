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

/* Site-wide ban (moderation's admin.ban): marks the account banned, ends
 * every session and closes its connections. 0 or negative SCH_E*. */
int auth_set_banned(struct rpc_ctx *ctx, int64_t account, bool banned);
bool auth_is_banned(struct store *db, int64_t account);

#endif
