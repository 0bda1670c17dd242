/*
 * store.c - SQLite connection, pragmas, statement cache and transactions.
 *
 * One struct store wraps one sqlite3 connection and is used by one thread at
 * a time. Statements are cached in a small open-addressing table keyed by the
 * address of their SQL text, so a module's static SQL strings are prepared
 * once per connection and reused for the life of the process.
 */
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/vec.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define STORE_CACHE_MIN 64

/* A cached prepared statement. */
struct store_stmt {
	sqlite3_stmt *st; /* the prepared statement */
	const char *sql;  /* key: the caller's static SQL text */
	struct store *owner;
};

struct store {
	sqlite3 *db;
	char *path;
	struct store_stmt **cache; /* open addressing by sql pointer */
	size_t cache_cap, cache_used;
	int last_rc; /* last error code seen */
};

static atomic_ullong busy_count;

uint64_t store_busy_count(void)
{
	return atomic_load(&busy_count);
}

static int map_rc(struct store *s, int rc)
{
	s->last_rc = rc;
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		atomic_fetch_add(&busy_count, 1);
		return SCH_EBUSY;
	case SQLITE_CONSTRAINT:
		return SCH_ECONFLICT;
	case SQLITE_READONLY:
		/* a method registered RPC_READ tried to write (read pool) */
		log_warn("store", "write refused on a read connection: %s",
			 sqlite3_errmsg(s->db));
		return SCH_EDB;
	case SQLITE_FULL:
		return SCH_EFULL;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return SCH_ECORRUPT;
	case SQLITE_NOMEM:
		die("sqlite: out of memory");
	default:
		return SCH_EDB;
	}
}

const char *store_errmsg(struct store *s)
{
	return sqlite3_errmsg(s->db);
}

const char *store_last_error_kind(struct store *s)
{
	switch (s->last_rc & 0xff) {
	case SQLITE_FULL:
		return "disk full";
	case SQLITE_READONLY:
		return "read-only database";
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return "database locked";
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return "database corrupt";
	case SQLITE_IOERR:
		return "I/O error";
	case SQLITE_CONSTRAINT:
		return "constraint";
	default:
		return "database error";
	}
}

const char *store_path(const struct store *s)
{
	return s->path;
}

static size_t hash_ptr(const void *p, size_t cap)
{
	uintptr_t x = (uintptr_t)p;

	x ^= x >> 17;
	x *= 0x9e3779b97f4a7c15ull;
	return (size_t)(x >> 7) & (cap - 1);
}

static void cache_insert(struct store *s, struct store_stmt *st);

static void cache_grow(struct store *s)
{
	struct store_stmt **old = s->cache;
	size_t oldcap = s->cache_cap;

	s->cache_cap = oldcap ? oldcap * 2 : STORE_CACHE_MIN;
	s->cache = xcalloc(s->cache_cap, sizeof(*s->cache));
	s->cache_used = 0;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i])
			cache_insert(s, old[i]);
	free(old);
}

static void cache_insert(struct store *s, struct store_stmt *st)
{
	size_t i;

	if ((s->cache_used + 1) * 2 > s->cache_cap)
		cache_grow(s);
	i = hash_ptr(st->sql, s->cache_cap);
	while (s->cache[i])
		i = (i + 1) & (s->cache_cap - 1);
	s->cache[i] = st;
	s->cache_used++;
}

static struct store_stmt *cache_find(struct store *s, const char *sql)
{
	size_t i;

	if (!s->cache_cap)
		return NULL;
	i = hash_ptr(sql, s->cache_cap);
	while (s->cache[i]) {
		if (s->cache[i]->sql == sql)
			return s->cache[i];
		i = (i + 1) & (s->cache_cap - 1);
	}
	return NULL;
}

static struct store_stmt *prepare(struct store *s, const char *sql)
{
	struct store_stmt *st = cache_find(s, sql);
	sqlite3_stmt *raw = NULL;
	int rc;

	if (st)
		return st;
	rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &raw,
				NULL);
	if (rc != SQLITE_OK) {
		map_rc(s, rc);
		log_error("store", "prepare failed: %s: %.200s",
			  sqlite3_errmsg(s->db), sql);
		return NULL;
	}
	st = xcalloc(1, sizeof(*st));
	st->st = raw;
	st->sql = sql;
	st->owner = s;
	cache_insert(s, st);
	return st;
}

static int bind_va(struct store_stmt *st, const char *types, va_list ap)
{
	int idx = 1, rc = SQLITE_OK;

	for (const char *t = types ? types : ""; *t && rc == SQLITE_OK; t++) {
		switch (*t) {
		case 'i':
			rc = sqlite3_bind_int64(st->st, idx,
						va_arg(ap, int64_t));
			break;
		case 'I': {
			int64_t v = va_arg(ap, int64_t);

			rc = v ? sqlite3_bind_int64(st->st, idx, v)
			       : sqlite3_bind_null(st->st, idx);
			break;
		}
		case 't': {
			const char *v = va_arg(ap, const char *);

			rc = v ? sqlite3_bind_text(st->st, idx, v, -1,
						   SQLITE_TRANSIENT)
			       : sqlite3_bind_null(st->st, idx);
			break;
		}
		case 'b':
			rc = sqlite3_bind_int(st->st, idx,
					      va_arg(ap, int) != 0);
			break;
		case 'd':
			rc = sqlite3_bind_double(st->st, idx,
						 va_arg(ap, double));
			break;
		case 'n':
			rc = sqlite3_bind_null(st->st, idx);
			break;
		case 'B': { /* a blob: pointer, then size_t length */
			const void *v = va_arg(ap, const void *);
			size_t n = va_arg(ap, size_t);

			rc = sqlite3_bind_blob64(st->st, idx, v ? v : "",
						 (sqlite3_uint64)n,
						 SQLITE_TRANSIENT);
			break;
		}
		default:
			die("store: bad bind type '%c'", *t);
		}
		idx++;
	}
	return rc;
}

static struct store_stmt *query_va(struct store *s, const char *sql,
				   const char *types, va_list ap)
{
	struct store_stmt *st = prepare(s, sql);
	int rc;

	if (!st)
		return NULL;
	sqlite3_reset(st->st);
	sqlite3_clear_bindings(st->st);
	rc = bind_va(st, types, ap);
	if (rc != SQLITE_OK) {
		map_rc(s, rc);
		log_error("store", "bind failed: %s", sqlite3_errmsg(s->db));
		return NULL;
	}
	return st;
}

struct store_stmt *store_query(struct store *s, const char *sql,
			       const char *types, ...)
{
	struct store_stmt *st;
	va_list ap;

	va_start(ap, types);
	st = query_va(s, sql, types, ap);
	va_end(ap);
	return st;
}

int store_row(struct store_stmt *st)
{
	int rc;

	if (!st)
		return SCH_EDB;
	rc = sqlite3_step(st->st);
	if (rc == SQLITE_ROW)
		return 1;
	sqlite3_reset(st->st);
	if (rc == SQLITE_DONE)
		return 0;
	rc = map_rc(st->owner, rc);
	if (rc != SCH_ECONFLICT)
		log_warn("store", "step failed: %s",
			 sqlite3_errmsg(st->owner->db));
	return rc ? rc : SCH_EDB;
}

void store_done(struct store_stmt *st)
{
	if (st)
		sqlite3_reset(st->st);
}

int64_t store_int(struct store_stmt *st, int col)
{
	return sqlite3_column_int64(st->st, col);
}

double store_double(struct store_stmt *st, int col)
{
	return sqlite3_column_double(st->st, col);
}

const char *store_text(struct store_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st->st, col);
}

const void *store_blob(struct store_stmt *st, int col, size_t *len)
{
	const void *p = sqlite3_column_blob(st->st, col);

	*len = (size_t)sqlite3_column_bytes(st->st, col);
	return p;
}

bool store_is_null(struct store_stmt *st, int col)
{
	return sqlite3_column_type(st->st, col) == SQLITE_NULL;
}

char *store_text_dup(struct store_stmt *st, int col)
{
	const char *t = store_text(st, col);

	return t ? xstrdup(t) : NULL;
}

int store_run(struct store *s, const char *sql, const char *types, ...)
{
	struct store_stmt *st;
	va_list ap;
	int rc;

	va_start(ap, types);
	st = query_va(s, sql, types, ap);
	va_end(ap);
	if (!st)
		return s->last_rc ? map_rc(s, s->last_rc) : SCH_EDB;
	while ((rc = store_row(st)) > 0)
		;
	return rc;
}

int store_int_query(struct store *s, int64_t *out, const char *sql,
		    const char *types, ...)
{
	struct store_stmt *st;
	va_list ap;
	int rc;

	va_start(ap, types);
	st = query_va(s, sql, types, ap);
	va_end(ap);
	if (!st)
		return SCH_EDB;
	rc = store_row(st);
	if (rc > 0) {
		*out = store_int(st, 0);
		store_done(st);
		return 1;
	}
	return rc;
}

int store_exec(struct store *s, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		log_error("store", "exec failed: %s", msg ? msg : "?");
		sqlite3_free(msg);
		return map_rc(s, rc);
	}
	return 0;
}

int64_t store_last_id(struct store *s)
{
	return sqlite3_last_insert_rowid(s->db);
}

int store_changes(struct store *s)
{
	return sqlite3_changes(s->db);
}

int store_begin(struct store *s)
{
	return store_exec(s, "BEGIN IMMEDIATE");
}

int store_commit(struct store *s)
{
	return store_exec(s, "COMMIT");
}

int store_rollback(struct store *s)
{
	if (sqlite3_get_autocommit(s->db))
		return 0;
	return store_exec(s, "ROLLBACK");
}

/* Prepared once and reused: every call of every batch takes a savepoint,
 * and parsing the statement each time showed in the write profile. */
static const char SQL_SAVEPOINT[] = "SAVEPOINT call";
static const char SQL_RELEASE[] = "RELEASE call";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO call";

int store_savepoint(struct store *s)
{
	return store_run(s, SQL_SAVEPOINT, "");
}

int store_release(struct store *s)
{
	return store_run(s, SQL_RELEASE, "");
}

int store_rollback_to(struct store *s)
{
	int rc = store_run(s, SQL_ROLLBACK_TO, "");

	if (rc == 0)
		rc = store_run(s, SQL_RELEASE, "");
	return rc;
}

int store_ping(struct store *s)
{
	int64_t v = 0;

	return store_int_query(s, &v, "SELECT 1", "") == 1 ? 0 : SCH_EDB;
}

static int make_parent_dir(const char *path)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	int rc = 0;

	if (slash && slash != dir) {
		*slash = '\0';
		for (char *p = dir + 1; *p; p++) {
			if (*p == '/') {
				*p = '\0';
				if (mkdir(dir, 0755) && errno != EEXIST)
					rc = SCH_EIO;
				*p = '/';
			}
		}
		if (mkdir(dir, 0755) && errno != EEXIST)
			rc = SCH_EIO;
	}
	free(dir);
	return rc;
}

int store_open_reader(const struct store *s, struct store **out)
{
	struct store_opts so = STORE_OPTS_INIT;
	char err[256];
	int rc;

	*out = NULL;
	if (strcmp(s->path, ":memory:") == 0 || s->path[0] == '\0')
		return SCH_EINVAL;
	so.path = s->path;
	so.migrations_dir = NULL;
	so.migrate = false;
	so.query_only = true;
	so.durability = STORE_DURABILITY_NORMAL;
	rc = store_open(&so, out, err, sizeof(err));
	if (rc)
		log_error("store", "read connection: %s", err);
	return rc;
}

/* Before the library's first use: each connection is used by one thread
 * at a time (SQLITE_OPEN_NOMUTEX below), and no memory statistics (they
 * take a global mutex on every allocation). */
static void store_config(void)
{
	sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int store_open(const struct store_opts *opts, struct store **out, char *err,
	       size_t errlen)
{
	static pthread_once_t config_once = PTHREAD_ONCE_INIT;
	struct store *s = xcalloc(1, sizeof(*s));
	int flags, rc;
	bool memory = strcmp(opts->path, ":memory:") == 0;

	*out = NULL;
	s->path = xstrdup(opts->path);
	if (!memory && !opts->readonly && make_parent_dir(opts->path)) {
		snprintf(err, errlen, "cannot create the folder of %s",
			 opts->path);
		rc = SCH_EIO;
		goto fail;
	}
	flags = opts->readonly ? SQLITE_OPEN_READONLY
			       : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	flags |= SQLITE_OPEN_NOMUTEX;
	pthread_once(&config_once, store_config);
	rc = sqlite3_open_v2(opts->path, &s->db, flags, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", opts->path,
			 s->db ? sqlite3_errmsg(s->db) : "out of memory");
		rc = map_rc(s, rc);
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	/* the writer: more small allocations served from lookaside */
	if (!opts->readonly && !opts->query_only)
		sqlite3_db_config(s->db, SQLITE_DBCONFIG_LOOKASIDE, NULL, 1200,
				  1000);
	sqlite3_busy_timeout(s->db, opts->busy_timeout_ms);
	/* Probe the file: a corrupt or foreign file fails here. */
	rc = store_exec(s, "SELECT count(*) FROM sqlite_master");
	if (rc) {
		snprintf(err, errlen, "%s is not a usable database: %s",
			 opts->path, sqlite3_errmsg(s->db));
		goto fail;
	}
	if (!opts->readonly && !memory) {
		rc = store_exec(s, "PRAGMA journal_mode=WAL");
		if (rc) {
			snprintf(err, errlen,
				 "cannot enable WAL on %s: %s (%s)", opts->path,
				 sqlite3_errmsg(s->db),
				 store_last_error_kind(s));
			goto fail;
		}
	}
	rc = store_exec(s, opts->durability == STORE_DURABILITY_FULL
				   ? "PRAGMA synchronous=FULL"
				   : "PRAGMA synchronous=NORMAL");
	if (!rc)
		rc = store_exec(s, "PRAGMA foreign_keys=ON;"
				   "PRAGMA temp_store=MEMORY;"
				   "PRAGMA cache_size=-16000;"
				   "PRAGMA wal_autocheckpoint=4000");
	if (rc) {
		snprintf(err, errlen, "cannot configure %s: %s", opts->path,
			 sqlite3_errmsg(s->db));
		goto fail;
	}
	if (!rc && opts->query_only)
		rc = store_exec(s, "PRAGMA query_only=1");
	if (rc) {
		snprintf(err, errlen, "cannot configure %s: %s", opts->path,
			 sqlite3_errmsg(s->db));
		goto fail;
	}
	if (opts->migrate && !opts->readonly && opts->migrations_dir) {
		rc = store_migrate(s, opts->migrations_dir, err, errlen);
		if (rc)
			goto fail;
	} else if (opts->migrations_dir) {
		struct migration_status ms;

		rc = store_migration_status(s, opts->migrations_dir, &ms);
		if (rc == 0 && ms.applied > ms.available) {
			snprintf(err, errlen,
				 "database %s was migrated to version %d by a "
				 "newer scholia (this one knows up to %d)",
				 opts->path, ms.applied, ms.available);
			rc = SCH_ETOONEW;
			goto fail;
		}
		rc = 0;
	}
	*out = s;
	return 0;
fail:
	store_close(s);
	return rc ? rc : SCH_EDB;
}

/* SCHOLIA_SQL_PROFILE=1: at close, log how many statements ran and the
 * cached statements that ran most often, with their VM and full-scan
 * steps (a missing index shows here). */
static int cmp_steps(const void *a, const void *b)
{
	const struct store_stmt *x = *(struct store_stmt *const *)a;
	const struct store_stmt *y = *(struct store_stmt *const *)b;
	int sx = sqlite3_stmt_status(x->st, SQLITE_STMTSTATUS_RUN, 0);
	int sy = sqlite3_stmt_status(y->st, SQLITE_STMTSTATUS_RUN, 0);

	return (sy > sx) - (sy < sx);
}

static void profile_report(struct store *s)
{
	struct store_stmt **list;
	size_t n = 0;

	if (!getenv("SCHOLIA_SQL_PROFILE") || !s->cache_used)
		return;
	list = xcalloc(s->cache_used, sizeof(*list));
	for (size_t i = 0; i < s->cache_cap; i++)
		if (s->cache[i])
			list[n++] = s->cache[i];
	qsort(list, n, sizeof(*list), cmp_steps);
	{
		long long runs = 0;

		for (size_t i = 0; i < n; i++)
			runs += sqlite3_stmt_status(list[i]->st,
						    SQLITE_STMTSTATUS_RUN, 0);
		log_info("sqlprofile", "statements run: %lld (%zu cached)",
			 runs, n);
	}
	for (size_t i = 0; i < n && i < 40; i++)
		log_info("sqlprofile", "runs %d vm %d scan %d sort %d: %.160s",
			 sqlite3_stmt_status(list[i]->st, SQLITE_STMTSTATUS_RUN,
					     0),
			 sqlite3_stmt_status(list[i]->st,
					     SQLITE_STMTSTATUS_VM_STEP, 0),
			 sqlite3_stmt_status(list[i]->st,
					     SQLITE_STMTSTATUS_FULLSCAN_STEP,
					     0),
			 sqlite3_stmt_status(list[i]->st,
					     SQLITE_STMTSTATUS_SORT, 0),
			 list[i]->sql);
	free(list);
}

void store_close(struct store *s)
{
	if (!s)
		return;
	profile_report(s);
	for (size_t i = 0; i < s->cache_cap; i++) {
		if (s->cache[i]) {
			sqlite3_finalize(s->cache[i]->st);
			free(s->cache[i]);
		}
	}
	free(s->cache);
	if (s->db) {
		if (sqlite3_get_autocommit(s->db) == 0)
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_wal_checkpoint_v2(
			s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
		sqlite3_close_v2(s->db);
	}
	free(s->path);
	free(s);
}

int store_backup(struct store *s, const char *path, char *err, size_t errlen)
{
	sqlite3 *dst = NULL;
	sqlite3_backup *b;
	int rc;

	rc = sqlite3_open(path, &dst);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot create %s: %s", path,
			 dst ? sqlite3_errmsg(dst) : "out of memory");
		sqlite3_close(dst);
		return SCH_EIO;
	}
	b = sqlite3_backup_init(dst, "main", s->db, "main");
	if (!b) {
		snprintf(err, errlen, "backup failed: %s", sqlite3_errmsg(dst));
		sqlite3_close(dst);
		return SCH_EDB;
	}
	/* Copy in steps so that a running server's writers are not held up
	 * for the whole copy; a write in between restarts the copy, which
	 * keeps the result consistent. */
	do {
		rc = sqlite3_backup_step(b, 256);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			sqlite3_sleep(20);
	} while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "backup failed: %s", sqlite3_errmsg(dst));
		sqlite3_close(dst);
		return SCH_EDB;
	}
	rc = sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL);
	sqlite3_close(dst);
	return rc == SQLITE_OK ? 0 : SCH_EDB;
}

int store_ids(struct store_stmt *st, int64_t **ids, size_t *n)
{
	size_t cap = 0;
	int rc;

	*ids = NULL;
	*n = 0;
	if (!st)
		return SCH_EDB;
	while ((rc = store_row(st)) > 0)
		*VEC_PUSH(*ids, *n, cap) = store_int(st, 0);
	if (rc < 0) {
		free(*ids);
		*ids = NULL;
		*n = 0;
	}
	return rc < 0 ? rc : 0;
}

int store_restore(const char *in, const char *out, char *err, size_t errlen)
{
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_stmt *st = NULL;
	sqlite3_backup *b;
	int rc = SCH_EDB;

	if (sqlite3_open_v2(in, &src, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", in,
			 src ? sqlite3_errmsg(src) : "out of memory");
		rc = SCH_EIO;
		goto out;
	}
	/* a backup that is not a sound database is refused before anything
	 * of the current one is touched */
	if (sqlite3_prepare_v2(src, "PRAGMA quick_check", -1, &st, NULL) !=
		    SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
		snprintf(err, errlen, "%s is not a sound database: %s", in,
			 sqlite3_errmsg(src));
		rc = SCH_ECORRUPT;
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_open(out, &dst) != SQLITE_OK) {
		snprintf(err, errlen, "cannot create %s: %s", out,
			 dst ? sqlite3_errmsg(dst) : "out of memory");
		rc = SCH_EIO;
		goto out;
	}
	b = sqlite3_backup_init(dst, "main", src, "main");
	if (!b) {
		snprintf(err, errlen, "restore failed: %s",
			 sqlite3_errmsg(dst));
		goto out;
	}
	rc = sqlite3_backup_step(b, -1);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "restore failed: %s",
			 sqlite3_errmsg(dst));
		rc = SCH_EDB;
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close(dst);
	sqlite3_close(src);
	return rc;
}
