/*
 * migrate_to.c - `scholia migrate-to URL`: copies the SQLite database of
 * --db into an empty PostgreSQL database (SPEC §1, docs/scaling.md).
 *
 * What the SQLite server keeps beside its file moves too: the token key
 * (<db>.key, or --key-file) goes into the target's auth_key table, where
 * nodes on PostgreSQL read it when they run without --key-file (auth/
 * session.c), so every session token and signed link stays valid. Figures
 * and the mail outbox are rows of the database already, and <db>.lock is
 * only the running server's.
 *
 * The source is read in one transaction (a consistent snapshot even if
 * something writes meanwhile; main.c also refuses while a server holds
 * <db>.lock) and the target written in one: a failure leaves it as the
 * migrations made it, with no row copied.
 */
#include "migrate_to.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/vec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_HEX 64

/* The token key in the database (auth/session.c reads it there when no key
 * file is configured); the file's key wins over a row copied with the
 * tables, as it was the one the SQLite server used. */
static const char SQL_KEY_SET[] =
	"INSERT INTO auth_key (id, key) VALUES (1, ?)"
	" ON CONFLICT (id) DO UPDATE SET key = excluded.key";

struct report {
	char **lines;
	size_t n, cap;
	int64_t rows;
};

static void on_table(void *arg, const char *table, int64_t rows)
{
	struct report *r = arg;
	char line[256];

	snprintf(line, sizeof(line), "  %-28s %lld", table, (long long)rows);
	*VEC_PUSH(r->lines, r->n, r->cap) = xstrdup(line);
	r->rows += rows;
}

static void report_free(struct report *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->lines[i]);
	free(r->lines);
}

/* The URL with a password in its user-info hidden, for messages. */
static void masked(const char *url, char *out, size_t len)
{
	const char *sch = strstr(url, "://");
	const char *at = sch ? strchr(sch + 3, '@') : NULL;
	const char *colon = sch ? strchr(sch + 3, ':') : NULL;

	if (at && colon && colon < at)
		snprintf(out, len, "%.*s:****%s", (int)(colon - url), url, at);
	else
		snprintf(out, len, "%s", url);
}

/*
 * Reads the key file into hex (KEY_HEX digits and a NUL): 1 when read, 0
 * when there is none (no session was ever made), or SCH_E* with the reason
 * in err.
 */
static int read_key(const char *path, char *hex, char *err, size_t errlen)
{
	char text[KEY_HEX + 8];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot read the key file %.300s: %s",
			 path, strerror(errno));
		return SCH_EIO;
	}
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' ||
			 text[n - 1] == ' '))
		n--;
	if (n != KEY_HEX ||
	    strspn(text, "0123456789abcdefABCDEF") < (size_t)KEY_HEX) {
		snprintf(err, errlen,
			 "the key file %.300s is not 64 hex digits", path);
		return SCH_EINVAL;
	}
	memcpy(hex, text, KEY_HEX);
	hex[KEY_HEX] = '\0';
	return 1;
}

static int open_store(const char *path, const char *dir, bool migrate,
		      struct store **out, char *err, size_t errlen)
{
	struct store_opts so = STORE_OPTS_INIT;

	so.path = path;
	so.migrations_dir = dir;
	so.migrate = migrate;
	return store_open(&so, out, err, errlen);
}

int migrate_to(const struct migrate_to_opts *o)
{
	struct store *src = NULL, *dst = NULL;
	struct migration_status ss = {0}, ts = {0};
	struct report rep = {0};
	char err[1024] = "", keypath[4200], hex[KEY_HEX + 1], where[1024];
	bool began = false;
	struct stat stt;
	int rc, has_key = 0;

	masked(o->target, where, sizeof(where));
	if (store_is_file(o->target)) {
		snprintf(err, sizeof(err),
			 "the target must be a postgresql:// URL, not %s",
			 o->target);
		rc = SCH_EINVAL;
		goto out;
	}
	if (!store_is_file(o->source)) {
		snprintf(err, sizeof(err),
			 "the source (--db) must be a SQLite database file; "
			 "a PostgreSQL database is copied with pg_dump");
		rc = SCH_EINVAL;
		goto out;
	}
	if (stat(o->source, &stt) != 0 || !S_ISREG(stt.st_mode)) {
		snprintf(err, sizeof(err), "no SQLite database at %s (--db)",
			 o->source);
		rc = SCH_ENOTFOUND;
		goto out;
	}
	if (o->key_file && *o->key_file)
		snprintf(keypath, sizeof(keypath), "%s", o->key_file);
	else
		snprintf(keypath, sizeof(keypath), "%s.key", o->source);
	has_key = read_key(keypath, hex, err, sizeof(err));
	if (has_key < 0) {
		rc = has_key;
		goto out;
	}

	/* the source as it is: never migrated or changed here */
	rc = open_store(o->source, o->migrations_dir, false, &src, err,
			sizeof(err));
	if (!rc)
		rc = store_migration_status(src, o->migrations_dir, &ss);
	if (rc) {
		if (!err[0])
			snprintf(err, sizeof(err), "cannot read %s: %s",
				 o->source, store_errmsg(src));
		goto out;
	}
	if (ss.applied != ss.available) {
		snprintf(err, sizeof(err),
			 "the source is at migration %d and this scholia's "
			 "newest is %d: run `scholia migrate --db %s` first",
			 ss.applied, ss.available, o->source);
		rc = SCH_EINVAL;
		goto out;
	}

	/* the target migrated to the same version, and empty */
	rc = open_store(o->target, o->migrations_dir, true, &dst, err,
			sizeof(err));
	if (!rc)
		rc = store_migration_status(dst, o->migrations_dir, &ts);
	if (!rc && ts.applied != ss.applied) {
		snprintf(err, sizeof(err),
			 "the target is at migration %d, the source at %d",
			 ts.applied, ss.applied);
		rc = SCH_EINVAL;
	}
	if (!rc)
		rc = store_copy_check_empty(dst, err, sizeof(err));
	if (rc)
		goto out;

	/* one snapshot of the source, one transaction on the target */
	rc = store_savepoint(src);
	if (!rc)
		rc = store_begin(dst);
	if (rc) {
		snprintf(err, sizeof(err), "cannot begin: %s",
			 store_errmsg(dst));
		goto out;
	}
	began = true;
	rc = store_copy(src, dst, on_table, &rep, err, sizeof(err));
	if (!rc && has_key) {
		rc = store_run(dst, SQL_KEY_SET, "t", hex);
		if (rc)
			snprintf(err, sizeof(err),
				 "cannot store the token key: %s",
				 store_errmsg(dst));
	}
	if (!rc) {
		rc = store_commit(dst);
		if (rc)
			snprintf(err, sizeof(err), "cannot commit: %s",
				 store_errmsg(dst));
		began = false;
	}
	store_rollback_to(src);
	if (rc)
		goto out;

	fprintf(o->out, "copied %s into %s (migration %d)\n", o->source, where,
		ss.applied);
	for (size_t i = 0; i < rep.n; i++)
		fprintf(o->out, "%s\n", rep.lines[i]);
	fprintf(o->out, "%zu tables, %lld rows\n", rep.n, (long long)rep.rows);
	if (has_key)
		fprintf(o->out,
			"the token key of %s is in the database now: start "
			"the nodes without --key-file\n",
			keypath);
	else
		fprintf(o->out, "no key file at %s: no session to keep\n",
			keypath);
out:
	if (began)
		store_rollback(dst);
	if (rc)
		fprintf(stderr, "scholia migrate-to: %s%s\n", err,
			dst && began ? " (nothing was copied)" : "");
	memset(hex, 0, sizeof(hex));
	report_free(&rep);
	store_close(dst);
	store_close(src);
	return rc;
}
