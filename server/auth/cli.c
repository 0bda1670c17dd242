/*
 * cli.c - `scholia admin create-account` and `scholia admin reset-link`.
 *
 * These run in their own process, possibly while `serve` runs on the same
 * database, so they use the store directly in one transaction and hash on
 * the calling thread. There is no email: recovery is a one-time link an
 * operator hands to the member, <public-url>/#/reset/<token>, which the web
 * app turns into auth.reset. Only the token's keyed hash is stored; the
 * link is printed once and cannot be shown again.
 */
#include "auth/internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "store/store.h"
#include "util/err.h"
#include "util/utf8.h"

static const char SQL_CLI_TAKEN[] = "SELECT id FROM accounts WHERE handle = ?";
static const char SQL_CLI_NEW[] =
	"INSERT INTO accounts (handle, display_name, pwhash, is_admin, "
	"created_at) VALUES (?, ?, ?, ?, ?)";
static const char SQL_CLI_FIND[] =
	"SELECT id FROM accounts WHERE handle = ? AND deleted = 0";
static const char SQL_RESET_NEW[] =
	"INSERT INTO reset_tokens (hash, account, created_at, expires_at) "
	"VALUES (?, ?, ?, ?)";

/* Makes a reset token for account and writes the link into link (printed
 * by the caller once the transaction has committed). */
static int make_link(struct store *db, int64_t account, int64_t ttl,
		     const char *public_url, char *link, size_t linklen)
{
	char token[AUTH_TOKEN_B64], hash[AUTH_HASH_HEX];
	int64_t now = (int64_t)time(NULL);
	const char *base = public_url && *public_url ? public_url
						     : "http://127.0.0.1:8080";
	size_t blen = strlen(base);
	int rc;

	while (blen && base[blen - 1] == '/')
		blen--;
	rc = auth_token_new(db, token, hash);
	if (rc)
		return rc;
	rc = store_run(db, SQL_RESET_NEW, "tiii", hash, account, now,
		       now + ttl);
	if (!rc)
		snprintf(link, linklen, "%.*s/#/reset/%s", (int)blen, base,
			 token);
	sodium_memzero(token, sizeof(token));
	return rc;
}

int auth_reset_link_new(struct store *db, int64_t account, int64_t ttl,
			const char *base, char *link, size_t linklen)
{
	return make_link(db, account, ttl, base, link, linklen);
}

/* Starts the command's transaction; "database busy" into err when it
 * cannot. 0 or the store's error. */
static int begin(struct store *db, char *err, size_t errlen)
{
	int rc = store_begin(db);

	if (rc)
		snprintf(err, errlen, "database busy");
	return rc;
}

int auth_cli_create_account(struct store *db, const char *handle,
			    const char *display_name, bool admin,
			    const char *password, const char *public_url,
			    FILE *out, char *err, size_t errlen)
{
	char pwhash[AUTH_PWHASH_MAX] = "", why[160], link[1024] = "";
	size_t pwlen = password ? strlen(password) : 0;
	int64_t taken, id;
	bool first;
	int rc;

	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium cannot start");
		return SCH_EIO;
	}
	if (!handle || !auth_handle_ok(handle)) {
		snprintf(err, errlen, "a handle is 3 to 32 of a-z, 0-9 and _");
		return SCH_EINVAL;
	}
	if (!display_name || !*display_name)
		display_name = handle;
	if (!utf8_valid(display_name, strlen(display_name)) ||
	    utf8_count(display_name, strlen(display_name)) > AUTH_DISPLAY_MAX) {
		snprintf(err, errlen, "a display name is 1 to %d characters",
			 AUTH_DISPLAY_MAX);
		return SCH_EINVAL;
	}
	if (password) {
		if (pwlen < AUTH_PW_MIN || pwlen > AUTH_PW_MAX) {
			snprintf(err, errlen, "a password is %d to %d bytes",
				 AUTH_PW_MIN, AUTH_PW_MAX);
			return SCH_EINVAL;
		}
		if (auth_pw_weak(password, pwlen, handle, why, sizeof(why))) {
			snprintf(err, errlen, "password too easy to guess: %s",
				 why);
			return SCH_EINVAL;
		}
		if (auth_pw_hash(password, pwlen, pwhash)) {
			snprintf(err, errlen,
				 "cannot hash the password "
				 "(memory limit?)");
			return SCH_ENOMEM;
		}
	}
	rc = begin(db, err, errlen);
	if (rc)
		return rc;
	first = auth_no_accounts(db);
	rc = store_int_query(db, &taken, SQL_CLI_TAKEN, "t", handle);
	if (rc > 0) {
		snprintf(err, errlen, "handle %s is taken", handle);
		rc = SCH_ECONFLICT;
		goto fail;
	}
	if (rc < 0)
		goto dberr;
	rc = store_run(db, SQL_CLI_NEW, "tttbi", handle, display_name,
		       password ? pwhash : NULL, admin ? 1 : 0,
		       (int64_t)time(NULL));
	if (rc)
		goto dberr;
	id = store_last_id(db);
	if (!password) {
		rc = make_link(db, id, AUTH_SETPW_TTL, public_url, link,
			       sizeof(link));
		if (rc)
			goto dberr;
	}
	rc = store_commit(db);
	if (rc)
		goto dberr;
	fprintf(out, "created account %s (id %lld)%s\n", handle, (long long)id,
		admin ? (first ? ", the site admin" : ", a site admin") : "");
	if (!password)
		fprintf(out, "set its password within 7 days, once, at:\n%s\n",
			link);
	sodium_memzero(pwhash, sizeof(pwhash));
	sodium_memzero(link, sizeof(link));
	return 0;
dberr:
	snprintf(err, errlen, "database error: %s", store_errmsg(db));
fail:
	store_rollback(db);
	sodium_memzero(pwhash, sizeof(pwhash));
	return rc ? rc : SCH_EDB;
}

int auth_cli_reset_link(struct store *db, const char *handle,
			const char *public_url, FILE *out, char *err,
			size_t errlen)
{
	char link[1024] = "";
	int64_t id = 0;
	int rc;

	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium cannot start");
		return SCH_EIO;
	}
	rc = begin(db, err, errlen);
	if (rc)
		return rc;
	rc = handle ? store_int_query(db, &id, SQL_CLI_FIND, "t", handle) : 0;
	if (rc == 0) {
		snprintf(err, errlen, "no account with handle %s",
			 handle ? handle : "(none)");
		store_rollback(db);
		return SCH_ENOTFOUND;
	}
	if (rc < 0)
		goto dberr;
	rc = make_link(db, id, AUTH_RESET_TTL, public_url, link, sizeof(link));
	if (rc)
		goto dberr;
	rc = store_commit(db);
	if (rc)
		goto dberr;
	fprintf(out,
		"one-time password reset link for %s (valid 24 hours):\n"
		"%s\n",
		handle, link);
	sodium_memzero(link, sizeof(link));
	return 0;
dberr:
	snprintf(err, errlen, "database error: %s", store_errmsg(db));
	store_rollback(db);
	return rc ? rc : SCH_EDB;
}
