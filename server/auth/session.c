/*
 * session.c - session tokens, the server key that hashes them, session
 * rows, and the authenticate / session_alive hooks the core calls.
 *
 * A token is 32 random bytes, given to the client once as base64url. The
 * database keeps only BLAKE2b(token) keyed with the server key (hex), so a
 * copy of the database yields no token that works. A lookup hashes the
 * presented token and finds the row by the indexed hash: no scan, and the
 * comparison that matters happens on keyed hashes whose timing reveals
 * nothing an attacker can steer.
 *
 * The key lives in the file auth_config.server_key_path (created with mode
 * 0600 on first use, 64 hex digits) or, when no path is configured, in the
 * auth_key table. The file is preferred: with the table, a copy of the
 * database carries the key too. A key from the file is cached; a key from
 * the table is read each time, so a key inserted by a call that later rolls
 * back never outlives it.
 *
 * Sessions expire after session_idle_s without use (sliding) and in any
 * case session_max_s after creation (absolute). Every function here runs
 * on the store thread (or in a command-line process).
 */
#include "auth/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "rpc/rpc.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

#define KEY_BYTES 32
#define SLIDE_EVERY_S 60 /* write last_seen at most this often */

static pthread_mutex_t key_lock = PTHREAD_MUTEX_INITIALIZER;
static char *key_path_cached; /* path the cached key came from */
static unsigned char key_cached[KEY_BYTES];

static const char SQL_KEY_GET[] = "SELECT key FROM auth_key WHERE id = 1";
static const char SQL_KEY_PUT[] = "INSERT INTO auth_key (id, key) VALUES (1, ?)"
				  " ON CONFLICT(id) DO NOTHING";

static const char SQL_SESSION_NEW[] =
	"INSERT INTO sessions (account, token_hash, created_at, last_seen, "
	"expires_at, max_expires_at, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char SQL_SESSION_PRUNE[] =
	"DELETE FROM sessions WHERE account = ? AND "
	"(revoked = 1 OR expires_at <= ? OR max_expires_at <= ?)";
static const char SQL_SESSIONS_SWEEP[] =
	"DELETE FROM sessions WHERE revoked = 1 OR expires_at <= ? OR "
	"max_expires_at <= ?";
static const char SQL_RESETS_SWEEP[] =
	"DELETE FROM reset_tokens WHERE used = 1 OR expires_at <= ?";
static const char SQL_SESSION_FIND[] =
	"SELECT s.id, s.account, s.expires_at, s.max_expires_at, s.revoked, "
	"s.last_seen, a.is_admin, a.banned, a.deleted FROM sessions s "
	"JOIN accounts a ON a.id = s.account WHERE s.token_hash = ?";
static const char SQL_SESSION_BY_ID[] =
	"SELECT s.id, s.account, s.expires_at, s.max_expires_at, s.revoked, "
	"s.last_seen, a.is_admin, a.banned, a.deleted FROM sessions s "
	"JOIN accounts a ON a.id = s.account WHERE s.id = ?";
static const char SQL_SESSION_SLIDE[] =
	"UPDATE sessions SET last_seen = ?, expires_at = ? WHERE id = ?";
static const char SQL_SESSION_REVOKE[] =
	"UPDATE sessions SET revoked = 1 WHERE id = ?";

int64_t auth_session_idle(void)
{
	return auth_config.session_idle_s > 0 ? auth_config.session_idle_s
					      : 30 * 24 * 3600;
}

int64_t auth_session_max(void)
{
	return auth_config.session_max_s > 0 ? auth_config.session_max_s
					     : 90 * 24 * 3600;
}

/* Parses 64 hex digits (trailing white space allowed) into key. */
static int key_parse(const char *text, size_t len, unsigned char *key)
{
	size_t binlen = 0;

	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' ||
		       text[len - 1] == ' '))
		len--;
	if (len != KEY_BYTES * 2)
		return SCH_EINVAL;
	if (sodium_hex2bin(key, KEY_BYTES, text, len, NULL, &binlen, NULL) ||
	    binlen != KEY_BYTES)
		return SCH_EINVAL;
	return 0;
}

/*
 * Writes a new key to a private temporary file and links it into place, so
 * that a process reading the key never sees a half-written file and two
 * processes creating it at once agree on one key. 0, SCH_ECONFLICT when
 * the file appeared meanwhile (read it), or SCH_EIO.
 */
static int key_create(const char *path)
{
	unsigned char key[KEY_BYTES];
	char text[KEY_BYTES * 2 + 2], tmp[PATH_MAX];
	int fd, rc = 0;
	size_t len;

	if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return SCH_EIO;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_error("auth", "cannot create key file %s: %s", tmp,
			  strerror(errno));
		return SCH_EIO;
	}
	randombytes_buf(key, sizeof(key));
	sodium_bin2hex(text, sizeof(text) - 1, key, sizeof(key));
	strcat(text, "\n");
	len = strlen(text);
	if (write(fd, text, len) != (ssize_t)len || fsync(fd)) {
		log_error("auth", "cannot write key file %s", tmp);
		rc = SCH_EIO;
	}
	close(fd);
	if (!rc && link(tmp, path)) {
		if (errno == EEXIST) {
			rc = SCH_ECONFLICT;
		} else {
			log_error("auth", "cannot create key file %s: %s", path,
				  strerror(errno));
			rc = SCH_EIO;
		}
	}
	unlink(tmp);
	if (!rc)
		log_info("auth", "created the session key file %s", path);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(text, sizeof(text));
	return rc;
}

/* Reads the key file, creating it (0600) when it does not exist. */
static int key_from_file(const char *path, unsigned char *key)
{
	char text[KEY_BYTES * 2 + 2];
	struct stat stt;
	ssize_t n;
	int fd = -1, rc = 0;

	for (int tries = 0; tries < 3 && fd < 0; tries++) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			break;
		if (errno != ENOENT) {
			log_error("auth", "cannot read key file %s: %s", path,
				  strerror(errno));
			return SCH_EIO;
		}
		rc = key_create(path);
		if (rc && rc != SCH_ECONFLICT)
			return rc;
		rc = 0;
	}
	if (fd < 0)
		return SCH_EIO;
	if (!fstat(fd, &stt) && (stt.st_mode & 077))
		log_warn("auth",
			 "key file %s is readable by others: chmod 600 it",
			 path);
	n = read(fd, text, sizeof(text));
	close(fd);
	if (n < 0 || key_parse(text, (size_t)n, key)) {
		log_error("auth", "key file %s is not 64 hex digits", path);
		rc = SCH_EINVAL;
	}
	sodium_memzero(text, sizeof(text));
	return rc;
}

/* Reads the key from the auth_key table, inserting a new one if none. */
static int key_from_db(struct store *db, unsigned char *key)
{
	char hex[KEY_BYTES * 2 + 1];
	struct store_stmt *st;
	int rc, found = 0;

	for (int round = 0; round < 2 && !found; round++) {
		st = store_query(db, SQL_KEY_GET, "");
		if (!st)
			return SCH_EDB;
		rc = store_row(st);
		if (rc > 0) {
			const char *t = store_text(st, 0);

			if (t && !key_parse(t, strlen(t), key))
				found = 1;
			else
				rc = SCH_EINVAL;
		}
		store_done(st);
		if (rc < 0)
			return rc;
		if (found)
			break;
		randombytes_buf(key, KEY_BYTES);
		sodium_bin2hex(hex, sizeof(hex), key, KEY_BYTES);
		rc = store_run(db, SQL_KEY_PUT, "t", hex);
		sodium_memzero(hex, sizeof(hex));
		if (rc)
			return rc;
	}
	return found ? 0 : SCH_EDB;
}

/* The server key (KEY_BYTES) into key. */
static int key_get(struct store *db, unsigned char *key)
{
	const char *path = auth_config.server_key_path;
	int rc;

	if (sodium_init() < 0)
		die("libsodium cannot start");
	if (!path || !*path)
		return key_from_db(db, key);
	pthread_mutex_lock(&key_lock);
	if (key_path_cached && !strcmp(key_path_cached, path)) {
		memcpy(key, key_cached, KEY_BYTES);
		rc = 0;
	} else {
		rc = key_from_file(path, key);
		if (!rc) {
			free(key_path_cached);
			key_path_cached = xstrdup(path);
			memcpy(key_cached, key, KEY_BYTES);
		}
	}
	pthread_mutex_unlock(&key_lock);
	return rc;
}

void auth_key_forget(void)
{
	pthread_mutex_lock(&key_lock);
	free(key_path_cached);
	key_path_cached = NULL;
	sodium_memzero(key_cached, sizeof(key_cached));
	pthread_mutex_unlock(&key_lock);
}

/* hex of BLAKE2b(raw) keyed with the server key. */
static int hash_raw(struct store *db, const unsigned char *raw, char *hash)
{
	unsigned char key[KEY_BYTES], out[32];
	int rc;

	rc = key_get(db, key);
	if (rc)
		goto out;
	crypto_generichash(out, sizeof(out), raw, AUTH_TOKEN_BYTES, key,
			   sizeof(key));
	sodium_bin2hex(hash, AUTH_HASH_HEX, out, sizeof(out));
out:
	sodium_memzero(key, sizeof(key));
	return rc;
}

int auth_key_mac(struct store *db, const void *data, size_t len,
		 unsigned char *out, size_t outlen)
{
	unsigned char key[KEY_BYTES];
	int rc = key_get(db, key);

	if (!rc)
		crypto_generichash(out, outlen, data, len, key, sizeof(key));
	sodium_memzero(key, sizeof(key));
	return rc;
}

int auth_token_new(struct store *db, char *b64, char *hash)
{
	unsigned char raw[AUTH_TOKEN_BYTES];
	int rc;

	if (sodium_init() < 0)
		die("libsodium cannot start");
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(b64, AUTH_TOKEN_B64, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	rc = hash_raw(db, raw, hash);
	sodium_memzero(raw, sizeof(raw));
	return rc;
}

int auth_token_hash(struct store *db, const char *b64, char *hash)
{
	unsigned char raw[AUTH_TOKEN_BYTES];
	size_t len, binlen = 0;
	const char *end = NULL;
	int rc;

	if (!b64)
		return SCH_EINVAL;
	len = strnlen(b64, AUTH_TOKEN_B64);
	if (len == 0 || len >= AUTH_TOKEN_B64)
		return SCH_EINVAL;
	if (sodium_init() < 0)
		die("libsodium cannot start");
	if (sodium_base642bin(raw, sizeof(raw), b64, len, NULL, &binlen, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) ||
	    binlen != sizeof(raw) || end != b64 + len) {
		sodium_memzero(raw, sizeof(raw));
		return SCH_EINVAL;
	}
	rc = hash_raw(db, raw, hash);
	sodium_memzero(raw, sizeof(raw));
	return rc;
}

int auth_token_make(struct store *db, char *token, char *digest)
{
	return auth_token_new(db, token, digest);
}

int auth_token_digest(struct store *db, const char *token, char *digest)
{
	return auth_token_hash(db, token, digest);
}

int auth_mac_hex(struct store *db, const char *msg, char *out, size_t nhex)
{
	static const char domain[] = "scholia-mac-v1:";
	unsigned char key[KEY_BYTES], mac[32];
	crypto_generichash_state st;
	char hex[65];
	int rc;

	if (nhex > 64)
		nhex = 64;
	rc = key_get(db, key);
	if (rc)
		goto out;
	crypto_generichash_init(&st, key, sizeof(key), sizeof(mac));
	crypto_generichash_update(&st, (const unsigned char *)domain,
				  sizeof(domain) - 1);
	crypto_generichash_update(&st, (const unsigned char *)msg, strlen(msg));
	crypto_generichash_final(&st, mac, sizeof(mac));
	sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
	memcpy(out, hex, nhex);
	out[nhex] = '\0';
out:
	sodium_memzero(key, sizeof(key));
	return rc;
}

/* About once an hour, every dead session and reset link goes (a scan of
 * two small tables, in the transaction of a login). */
static int sweep_dead(struct store *db, int64_t now)
{
	static int64_t last;
	int rc;

	if (now - last < 3600)
		return 0;
	last = now;
	rc = store_run(db, SQL_SESSIONS_SWEEP, "ii", now, now);
	if (!rc)
		rc = store_run(db, SQL_RESETS_SWEEP, "i", now);
	return rc;
}

int auth_session_create(struct store *db, int64_t account, int64_t now,
			const char *user_agent, char *token, int64_t *session,
			int64_t *expires_at)
{
	char hash[AUTH_HASH_HEX];
	int64_t max = now + auth_session_max();
	int64_t exp = now + auth_session_idle();
	char ua[256];
	int rc;

	if (exp > max)
		exp = max;
	/* keep the account's list short: dead sessions go at each login */
	rc = store_run(db, SQL_SESSION_PRUNE, "iii", account, now, now);
	if (rc)
		return rc;
	rc = sweep_dead(db, now);
	if (rc)
		return rc;
	rc = auth_token_new(db, token, hash);
	if (rc)
		return rc;
	snprintf(ua, sizeof(ua), "%s", user_agent ? user_agent : "");
	rc = store_run(db, SQL_SESSION_NEW, "itiiiit", account, hash, now, now,
		       exp, max, ua);
	if (rc)
		return rc;
	*session = store_last_id(db);
	*expires_at = exp;
	return 0;
}

/* The row of SQL_SESSION_FIND / SQL_SESSION_BY_ID. */
struct session_row {
	int64_t id, account, expires_at, max_expires_at, last_seen;
	bool revoked, is_admin, banned, deleted;
};

static int session_read(struct store_stmt *st, struct session_row *r)
{
	int rc = store_row(st);

	if (rc <= 0) {
		store_done(st);
		return rc < 0 ? rc : SCH_ENOTFOUND;
	}
	r->id = store_int(st, 0);
	r->account = store_int(st, 1);
	r->expires_at = store_int(st, 2);
	r->max_expires_at = store_int(st, 3);
	r->revoked = store_int(st, 4) != 0;
	r->last_seen = store_int(st, 5);
	r->is_admin = store_int(st, 6) != 0;
	r->banned = store_int(st, 7) != 0;
	r->deleted = store_int(st, 8) != 0;
	store_done(st);
	return 0;
}

static bool session_live(const struct session_row *r, int64_t now)
{
	return !r->revoked && !r->banned && !r->deleted &&
	       now < r->expires_at && now < r->max_expires_at;
}

/* Slides the idle expiry of a session in use (at most once a minute). */
static int session_slide(struct store *db, struct session_row *r, int64_t now)
{
	int64_t exp = now + auth_session_idle();
	int rc;

	if (exp > r->max_expires_at)
		exp = r->max_expires_at;
	if (now - r->last_seen < SLIDE_EVERY_S &&
	    exp - r->expires_at < SLIDE_EVERY_S)
		return 0;
	rc = store_run(db, SQL_SESSION_SLIDE, "iii", now, exp, r->id);
	if (rc)
		return rc;
	r->last_seen = now;
	r->expires_at = exp;
	return 0;
}

int auth_session_lookup(struct store *db, const char *token, int64_t now,
			int64_t *account, int64_t *session, bool *is_admin,
			int64_t *expires_at)
{
	char hash[AUTH_HASH_HEX];
	struct session_row r;
	struct store_stmt *st;
	int rc;

	rc = auth_token_hash(db, token, hash);
	if (rc == SCH_EINVAL)
		return SCH_ENOTFOUND;
	if (rc)
		return rc;
	st = store_query(db, SQL_SESSION_FIND, "t", hash);
	if (!st)
		return SCH_EDB;
	rc = session_read(st, &r);
	if (rc)
		return rc;
	if (!session_live(&r, now))
		return SCH_ENOTFOUND;
	rc = session_slide(db, &r, now);
	if (rc)
		return rc;
	*account = r.account;
	*session = r.id;
	*is_admin = r.is_admin;
	*expires_at = r.expires_at;
	return 0;
}

int auth_session_revoke(struct store *db, int64_t session)
{
	return store_run(db, SQL_SESSION_REVOKE, "i", session);
}

int auth_hook_authenticate(struct store *db, const char *token,
			   int64_t *account, int64_t *session, bool *is_admin,
			   const char *peer, const char *user_agent)
{
	int64_t exp;

	(void)peer;
	(void)user_agent;
	return auth_session_lookup(db, token, (int64_t)time(NULL), account,
				   session, is_admin, &exp);
}

bool auth_hook_session_alive(struct store *db, int64_t session)
{
	struct session_row r;
	struct store_stmt *st;
	int64_t now = (int64_t)time(NULL);
	int rc;

	st = store_query(db, SQL_SESSION_BY_ID, "i", session);
	if (!st)
		return true; /* a database hiccup must not log everyone out */
	rc = session_read(st, &r);
	if (rc == SCH_ENOTFOUND)
		return false;
	if (rc)
		return true;
	if (!session_live(&r, now))
		return false;
	(void)session_slide(db, &r, now);
	return true;
}
