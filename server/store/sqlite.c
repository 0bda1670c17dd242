/*
 * sqlite.c - the SQLite engine behind store/store.h: connection, pragmas,
 * statements, transactions, backup and restore.
 *
 * One struct sq_store wraps one sqlite3 connection and is used by one thread
 * at a time; store/store.c caches its prepared statements by the address of
 * their SQL text.
 */
#include "store/internal.h"
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
#include <fcntl.h>
#include <unistd.h>

/* A prepared statement. */
struct sq_stmt {
	struct store_stmt head;
	sqlite3_stmt *st;
};

struct sq_store {
	struct store head;
	sqlite3 *db;
	bool full;  /* durability full on a WAL file: store_defer_sync can */
	int wal_fd; /* store_defer_sync: the WAL, for store_sync (-1: not open)
		     */
	char *wal_path;
};

#define SQ(s) ((struct sq_store *)(s))
#define ST(x) (((struct sq_stmt *)(x))->st)
#define DB(s) (SQ(s)->db)

static atomic_ullong busy_count;

uint64_t store_busy_count(void)
{
	return atomic_load(&busy_count);
}

static int map_rc_(struct store *s, int rc)
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
			 sqlite3_errmsg(DB(s)));
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

static int map_rc(struct store *s, int rc)
{
	int e = map_rc_(s, rc);

	s->last_sch = e;
	return e;
}

static const char *sq_errmsg(struct store *s)
{
	return sqlite3_errmsg(DB(s));
}

static const char *sq_error_kind(struct store *s)
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

static struct store_stmt *sq_prepare(struct store *s, const char *sql,
				     const char *types)
{
	struct sq_stmt *st;
	sqlite3_stmt *raw = NULL;
	int rc;

	(void)types;
	rc = sqlite3_prepare_v3(DB(s), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw,
				NULL);
	if (rc != SQLITE_OK) {
		map_rc(s, rc);
		log_error("store", "prepare failed: %s: %.200s",
			  sqlite3_errmsg(DB(s)), sql);
		return NULL;
	}
	st = xcalloc(1, sizeof(*st));
	st->st = raw;
	return &st->head;
}

static int sq_bind(struct store_stmt *head, const char *types, va_list ap)
{
	sqlite3_stmt *st = ST(head);
	int idx = 1, rc = SQLITE_OK;

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);

	for (const char *t = types ? types : ""; *t && rc == SQLITE_OK; t++) {
		switch (*t) {
		case 'i':
			rc = sqlite3_bind_int64(st, idx, va_arg(ap, int64_t));
			break;
		case 'I': {
			int64_t v = va_arg(ap, int64_t);

			rc = v ? sqlite3_bind_int64(st, idx, v)
			       : sqlite3_bind_null(st, idx);
			break;
		}
		case 't': {
			const char *v = va_arg(ap, const char *);

			rc = v ? sqlite3_bind_text(st, idx, v, -1,
						   SQLITE_TRANSIENT)
			       : sqlite3_bind_null(st, idx);
			break;
		}
		case 'b':
			rc = sqlite3_bind_int(st, idx, va_arg(ap, int) != 0);
			break;
		case 'd':
			rc = sqlite3_bind_double(st, idx, va_arg(ap, double));
			break;
		case 'n':
			rc = sqlite3_bind_null(st, idx);
			break;
		case 'B': { /* a blob: pointer, then size_t length */
			const void *v = va_arg(ap, const void *);
			size_t n = va_arg(ap, size_t);

			rc = sqlite3_bind_blob64(st, idx, v ? v : "",
						 (sqlite3_uint64)n,
						 SQLITE_TRANSIENT);
			break;
		}
		default:
			die("store: bad bind type '%c'", *t);
		}
		idx++;
	}
	if (rc != SQLITE_OK) {
		rc = map_rc(head->owner, rc);
		log_error("store", "bind failed: %s",
			  sqlite3_errmsg(DB(head->owner)));
		return rc ? rc : SCH_EDB;
	}
	return 0;
}

static int sq_row(struct store_stmt *st)
{
	int rc = sqlite3_step(ST(st));

	if (rc == SQLITE_ROW)
		return 1;
	sqlite3_reset(ST(st));
	if (rc == SQLITE_DONE)
		return 0;
	rc = map_rc(st->owner, rc);
	if (rc != SCH_ECONFLICT)
		log_warn("store", "step failed: %s",
			 sqlite3_errmsg(DB(st->owner)));
	return rc ? rc : SCH_EDB;
}

static void sq_done(struct store_stmt *st)
{
	sqlite3_reset(ST(st));
}

static int64_t sq_int(struct store_stmt *st, int col)
{
	return sqlite3_column_int64(ST(st), col);
}

static double sq_double(struct store_stmt *st, int col)
{
	return sqlite3_column_double(ST(st), col);
}

static const char *sq_text(struct store_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(ST(st), col);
}

static const void *sq_blob(struct store_stmt *st, int col, size_t *len)
{
	const void *p = sqlite3_column_blob(ST(st), col);

	*len = (size_t)sqlite3_column_bytes(ST(st), col);
	return p;
}

static bool sq_null(struct store_stmt *st, int col)
{
	return sqlite3_column_type(ST(st), col) == SQLITE_NULL;
}

static int sq_exec(struct store *s, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(DB(s), sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		log_error("store", "exec failed: %s", msg ? msg : "?");
		sqlite3_free(msg);
		return map_rc(s, rc);
	}
	return 0;
}

static int64_t sq_last_id(struct store *s)
{
	return sqlite3_last_insert_rowid(DB(s));
}

static int sq_changes(struct store *s)
{
	return sqlite3_changes(DB(s));
}

static int sq_begin(struct store *s)
{
	return sq_exec(s, "BEGIN IMMEDIATE");
}

static int sq_commit(struct store *s)
{
	return sq_exec(s, "COMMIT");
}

static int sq_rollback(struct store *s)
{
	if (sqlite3_get_autocommit(DB(s)))
		return 0;
	return sq_exec(s, "ROLLBACK");
}

/* Prepared once and reused: every call of every batch takes a savepoint,
 * and parsing the statement each time showed in the write profile. */
static const char SQL_SAVEPOINT[] = "SAVEPOINT call";
static const char SQL_RELEASE[] = "RELEASE call";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO call";

static int sq_savepoint(struct store *s)
{
	return store_run(s, SQL_SAVEPOINT, "");
}

static int sq_release(struct store *s)
{
	return store_run(s, SQL_RELEASE, "");
}

static int sq_rollback_to(struct store *s)
{
	int rc = store_run(s, SQL_ROLLBACK_TO, "");

	if (rc == 0)
		rc = store_run(s, SQL_RELEASE, "");
	return rc;
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

static int sq_open(const struct store_opts *opts, struct store **out, char *err,
		   size_t errlen);

static int sq_open_reader(const struct store *s, struct store **out)
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
	rc = sq_open(&so, out, err, sizeof(err));
	if (rc)
		log_error("store", "read connection: %s", err);
	return rc;
}

static void sq_close(struct store *s);

/* Before the library's first use: each connection is used by one thread
 * at a time (SQLITE_OPEN_NOMUTEX below), and no memory statistics (they
 * take a global mutex on every allocation). */
static void sq_config(void)
{
	sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int sq_open(const struct store_opts *opts, struct store **out, char *err,
		   size_t errlen)
{
	static pthread_once_t config_once = PTHREAD_ONCE_INIT;
	struct sq_store *sq = xcalloc(1, sizeof(*sq));
	struct store *s = &sq->head;
	int flags, rc;
	bool memory = strcmp(opts->path, ":memory:") == 0;

	*out = NULL;
	s->ops = &store_sqlite_ops;
	s->path = xstrdup(opts->path);
	sq->wal_fd = -1;
	if (!memory && !opts->readonly && make_parent_dir(opts->path)) {
		snprintf(err, errlen, "cannot create the folder of %s",
			 opts->path);
		rc = SCH_EIO;
		goto fail;
	}
	flags = opts->readonly ? SQLITE_OPEN_READONLY
			       : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	flags |= SQLITE_OPEN_NOMUTEX;
	pthread_once(&config_once, sq_config);
	rc = sqlite3_open_v2(opts->path, &sq->db, flags, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", opts->path,
			 DB(s) ? sqlite3_errmsg(DB(s)) : "out of memory");
		rc = map_rc(s, rc);
		goto fail;
	}
	sqlite3_extended_result_codes(DB(s), 1);
	/* the writer: more small allocations served from lookaside */
	if (!opts->readonly && !opts->query_only)
		sqlite3_db_config(DB(s), SQLITE_DBCONFIG_LOOKASIDE, NULL, 1200,
				  1000);
	sqlite3_busy_timeout(DB(s), opts->busy_timeout_ms);
	/* Probe the file: a corrupt or foreign file fails here. */
	rc = sq_exec(s, "SELECT count(*) FROM sqlite_master");
	if (rc) {
		snprintf(err, errlen, "%s is not a usable database: %s",
			 opts->path, sqlite3_errmsg(DB(s)));
		goto fail;
	}
	if (!opts->readonly && !memory) {
		rc = sq_exec(s, "PRAGMA journal_mode=WAL");
		if (rc) {
			snprintf(err, errlen,
				 "cannot enable WAL on %s: %s (%s)", opts->path,
				 sqlite3_errmsg(DB(s)),
				 store_last_error_kind(s));
			goto fail;
		}
	}
	rc = sq_exec(s, opts->durability == STORE_DURABILITY_FULL
				? "PRAGMA synchronous=FULL"
				: "PRAGMA synchronous=NORMAL");
	sq->full = opts->durability == STORE_DURABILITY_FULL && !memory &&
		   !opts->readonly && !opts->query_only;
	if (!rc)
		rc = sq_exec(s, "PRAGMA foreign_keys=ON;"
				"PRAGMA temp_store=MEMORY;"
				"PRAGMA cache_size=-16000;"
				"PRAGMA wal_autocheckpoint=4000");
	if (rc) {
		snprintf(err, errlen, "cannot configure %s: %s", opts->path,
			 sqlite3_errmsg(DB(s)));
		goto fail;
	}
	if (!rc && opts->query_only)
		rc = sq_exec(s, "PRAGMA query_only=1");
	if (rc) {
		snprintf(err, errlen, "cannot configure %s: %s", opts->path,
			 sqlite3_errmsg(DB(s)));
		goto fail;
	}
	rc = store_open_migrations(s, opts, opts->path, err, errlen);
	if (rc)
		goto fail;
	*out = s;
	return 0;
fail:
	sq_close(s);
	return rc ? rc : SCH_EDB;
}

/* SCHOLIA_SQL_PROFILE=1: at close, log how many statements ran and the
 * cached statements that ran most often, with their VM and full-scan
 * steps (a missing index shows here). */
static int cmp_steps(const void *a, const void *b)
{
	const struct store_stmt *x = *(struct store_stmt *const *)a;
	const struct store_stmt *y = *(struct store_stmt *const *)b;
	int sx = sqlite3_stmt_status(ST(x), SQLITE_STMTSTATUS_RUN, 0);
	int sy = sqlite3_stmt_status(ST(y), SQLITE_STMTSTATUS_RUN, 0);

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
			runs += sqlite3_stmt_status(ST(list[i]),
						    SQLITE_STMTSTATUS_RUN, 0);
		log_info("sqlprofile", "statements run: %lld (%zu cached)",
			 runs, n);
	}
	for (size_t i = 0; i < n && i < 40; i++)
		log_info("sqlprofile", "runs %d vm %d scan %d sort %d: %.160s",
			 sqlite3_stmt_status(ST(list[i]), SQLITE_STMTSTATUS_RUN,
					     0),
			 sqlite3_stmt_status(ST(list[i]),
					     SQLITE_STMTSTATUS_VM_STEP, 0),
			 sqlite3_stmt_status(ST(list[i]),
					     SQLITE_STMTSTATUS_FULLSCAN_STEP,
					     0),
			 sqlite3_stmt_status(ST(list[i]),
					     SQLITE_STMTSTATUS_SORT, 0),
			 list[i]->sql);
	free(list);
}

static void sq_free_stmt(struct store_stmt *st)
{
	sqlite3_finalize(ST(st));
	free(st);
}

static void sq_close(struct store *s)
{
	profile_report(s);
	store_cache_free(s, sq_free_stmt);
	if (DB(s)) {
		if (sqlite3_get_autocommit(DB(s)) == 0)
			sqlite3_exec(DB(s), "ROLLBACK", NULL, NULL, NULL);
		sqlite3_wal_checkpoint_v2(
			DB(s), NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
		sqlite3_close_v2(DB(s));
	}
	if (SQ(s)->wal_fd >= 0)
		close(SQ(s)->wal_fd);
	free(SQ(s)->wal_path);
	free(s->path);
	free(s);
}

static int sq_backup(struct store *s, const char *path, char *err,
		     size_t errlen)
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
	b = sqlite3_backup_init(dst, "main", DB(s), "main");
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

static const char SQL_HAS_TABLE[] =
	"SELECT count(*) FROM sqlite_master WHERE type = 'table'"
	" AND name = ?";

/* One node: nobody else to tell, nothing to listen to. */
static int sq_notify(struct store *s, const char *channel, const char *payload)
{
	(void)s;
	(void)channel;
	(void)payload;
	return 0;
}

static int sq_listen(const struct store *s, const char *channel,
		     struct store_listener **out)
{
	(void)s;
	(void)channel;
	*out = NULL;
	return SCH_EINVAL;
}

static int sq_wal_manual(struct store *s, bool manual)
{
	return sq_exec(s, manual ? "PRAGMA wal_autocheckpoint=0"
				 : "PRAGMA wal_autocheckpoint=4000");
}

static int sq_checkpoint(struct store *s)
{
	return sq_exec(s, "PRAGMA wal_checkpoint(PASSIVE)");
}

/*
 * Deferred sync (store.h): in WAL mode with synchronous=NORMAL a commit
 * only writes its frames to the log; syncing the log file then makes every
 * commit written so far durable (a checkpoint syncs the log itself before
 * it copies frames into the database, and a crash before our sync can only
 * lose commits nobody was told about). fdatasync on a descriptor of our
 * own flushes the file's pages whoever wrote them.
 */
static int sq_defer_sync(struct store *s)
{
	const char *main = sqlite3_db_filename(DB(s), "main");
	int rc;

	if (!SQ(s)->full || !main || !main[0])
		return SCH_EINVAL;
	rc = sq_exec(s, "PRAGMA synchronous=NORMAL");
	if (rc)
		return rc;
	SQ(s)->wal_path = xmalloc(strlen(main) + 5);
	sprintf(SQ(s)->wal_path, "%s-wal", main);
	return 0;
}

static int sq_sync(struct store *s)
{
	struct sq_store *sq = SQ(s);
	struct stat path_st, fd_st;

	if (!sq->wal_path)
		return SCH_EINVAL;
	if (stat(sq->wal_path, &path_st) != 0) {
		/* no log (never in WAL mode while serving): the commits
		 * are in the database file */
		int fd = open(s->path, O_RDONLY | O_CLOEXEC), rc;

		if (fd < 0)
			return SCH_EIO;
		rc = fdatasync(fd);
		close(fd);
		return rc ? SCH_EIO : 0;
	}
	/* the log file made anew (a new inode): open that one */
	if (sq->wal_fd >= 0 &&
	    (fstat(sq->wal_fd, &fd_st) != 0 || fd_st.st_ino != path_st.st_ino ||
	     fd_st.st_dev != path_st.st_dev)) {
		close(sq->wal_fd);
		sq->wal_fd = -1;
	}
	if (sq->wal_fd < 0)
		sq->wal_fd = open(sq->wal_path, O_RDONLY | O_CLOEXEC);
	if (sq->wal_fd < 0)
		return SCH_EIO;
	return fdatasync(sq->wal_fd) ? SCH_EIO : 0;
}

static const char *sq_dialect(const struct store_dialect *d)
{
	return d->sqlite;
}

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.migrations_sub = "",
	.open = sq_open,
	.open_reader = sq_open_reader,
	.close = sq_close,
	.prepare = sq_prepare,
	.bind = sq_bind,
	.row = sq_row,
	.done = sq_done,
	.col_int = sq_int,
	.col_double = sq_double,
	.col_text = sq_text,
	.col_null = sq_null,
	.col_blob = sq_blob,
	.exec = sq_exec,
	.last_id = sq_last_id,
	.changes = sq_changes,
	.errmsg = sq_errmsg,
	.error_kind = sq_error_kind,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.savepoint = sq_savepoint,
	.release = sq_release,
	.rollback_to = sq_rollback_to,
	.has_table_sql = SQL_HAS_TABLE,
	.backup = sq_backup,
	.notify = sq_notify,
	.listen = sq_listen,
	.wal_manual = sq_wal_manual,
	.checkpoint = sq_checkpoint,
	.defer_sync = sq_defer_sync,
	.sync = sq_sync,
	.dialect = sq_dialect,
};
