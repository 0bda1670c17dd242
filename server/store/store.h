/*
 * store.h - the database: open, migrations, transactions and a thin
 * statement API for the domain modules.
 *
 * Two engines sit behind it: SQLite (store/sqlite.c, a file path in --db)
 * and PostgreSQL (store/pg.c, a postgresql:// or postgres:// URL). store/
 * is the only code that includes sqlite3.h or libpq-fe.h, and nothing
 * outside store/ asks which engine runs. A domain module keeps its SQL as
 * static strings next to the code that uses them, written so that both
 * engines accept it: `?` or `?N` parameters, upserts as INSERT ... ON
 * CONFLICT (columns) DO UPDATE / DO NOTHING (never INSERT OR IGNORE/REPLACE),
 * RETURNING, two-argument max()/min() (migrations/pg/0001 defines them), no
 * SQLite-only functions, and the reserved word "end" quoted. The schema is
 * migrations/NNNN_*.sql for SQLite and migrations/pg/NNNN_*.sql for
 * PostgreSQL, with the same version numbers. Where a statement cannot be
 * written once (full-text search), store_dialect() picks its spelling.
 *
 * store_query() prepares each string once per connection (cached by the
 * string's address, so pass string literals or static arrays) and binds the
 * arguments described by a small type string:
 *
 *	i  int64_t          I  int64_t, bound as NULL when 0
 *	t  const char *     (NULL binds NULL)
 *	b  int (0/1)        d  double
 *	n  nothing: binds NULL
 *	B  const void *, size_t   (a blob)
 *
 * For example:
 *	st = store_query(db, SQL_GET_ACCOUNT, "t", handle);
 *	while ((rc = store_row(st)) > 0)
 *		id = store_int(st, 0);
 *	store_done(st);
 *
 * A statement is busy from store_query() until store_done() (or until
 * store_row() returns 0); do not start the same SQL twice at once.
 *
 * Threads: one struct store is used by one thread at a time. The server gives
 * the executor thread its own connection and each read-pool thread one from
 * store_open_reader() (exec/exec.c); commands use one directly.
 */
#ifndef SCH_STORE_H
#define SCH_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct store;
struct store_stmt;

/* How a commit reaches the disk (SPEC §5 --durability). */
enum store_durability {
	STORE_DURABILITY_FULL,	/* synchronous=FULL: survives a power cut */
	STORE_DURABILITY_NORMAL /* synchronous=NORMAL: survives kill -9 */
};

/* Options for store_open; start from STORE_OPTS_INIT. */
struct store_opts {
	const char *path; /* database file (":memory:" works) or URL */
	const char *migrations_dir; /* folder of NNNN_name.sql files */
	enum store_durability durability;
	int busy_timeout_ms; /* sqlite busy_timeout */
	bool migrate;	     /* apply pending migrations on open */
	bool readonly;	     /* open read-only, never migrate */
	bool query_only;     /* PRAGMA query_only: reads only */
};

#define STORE_OPTS_INIT                                                        \
	{                                                                      \
		"./data/scholia.db", NULL, STORE_DURABILITY_FULL, 5000, true,  \
			false, false                                           \
	}

/* True when --db names a database file (SQLite), false for a server's URL
 * (postgresql://...): what is kept beside a file (<db>.key, <db>.lock)
 * has no place beside a URL. */
bool store_is_file(const char *path);

/*
 * Opens (creating the file and its folder if needed) and, when opts->migrate,
 * migrates. Returns 0 and sets *out (caller frees with store_close), or a
 * negative SCH_E* code with a message in err: SCH_ETOONEW when the database
 * was migrated by a newer scholia, SCH_ECORRUPT when it is not a database.
 */
int store_open(const struct store_opts *opts, struct store **out, char *err,
	       size_t errlen);
/*
 * Opens a second connection to the database of s for reads only (the read
 * pool): no migrations, PRAGMA query_only, so a handler that tries to write
 * gets an error instead of writing outside the executor's transaction. Each
 * read transaction (a savepoint) sees one WAL snapshot: every transaction
 * committed before it began. Returns 0 or a negative SCH_E* code
 * (SCH_EINVAL for an in-memory database, which cannot be shared).
 */
int store_open_reader(const struct store *s, struct store **out);
/* Finalises statements, checkpoints the WAL (truncate) and closes. */
void store_close(struct store *s);

/* Prepares (once), resets and binds; returns NULL on error (logged). */
struct store_stmt *store_query(struct store *s, const char *sql,
			       const char *types, ...);
/* Steps: 1 a row is ready, 0 done (statement reset), negative SCH_E* error. */
int store_row(struct store_stmt *st);
/* Resets a statement whose rows are no longer wanted. NULL is ignored. */
void store_done(struct store_stmt *st);

/* Column accessors for the current row; text is borrowed until next step. */
int64_t store_int(struct store_stmt *st, int col);
double store_double(struct store_stmt *st, int col);
const char *store_text(struct store_stmt *st, int col); /* NULL for NULL */
bool store_is_null(struct store_stmt *st, int col);
/* A blob column (borrowed until the next step) and its length. */
const void *store_blob(struct store_stmt *st, int col, size_t *len);
/* Copies of a text column (NULL stays NULL); caller frees. */
char *store_text_dup(struct store_stmt *st, int col);

/*
 * SQL built at run time (table and column names that only the schema
 * knows, as in store/copy.c). The cache keys statements by the address of
 * their text, so such a text must live as long as the connection:
 * store_keep_sql() takes sql (malloc'd) and returns the connection's copy
 * of that text (the same pointer for the same text), freed at close.
 */
const char *store_keep_sql(struct store *s, char *sql);
/* store_query() for a statement whose n parameters (at most
 * STORE_MAX_TEXTS) are all text, from an array (a NULL binds NULL); the
 * engine converts each to its column's type as it would a literal. */
#define STORE_MAX_TEXTS 64
struct store_stmt *store_query_texts(struct store *s, const char *sql, size_t n,
				     const char *const *vals);

/* Runs a statement to completion. Returns 0 or negative SCH_E*. */
int store_run(struct store *s, const char *sql, const char *types, ...);
/* Runs one that yields at most one row with an integer in column 0:
 * returns 1 and sets *out, 0 when there is no row, or negative SCH_E*. */
int store_int_query(struct store *s, int64_t *out, const char *sql,
		    const char *types, ...);
/* Runs st (from store_query; NULL gives SCH_EDB) to its end, collecting the
 * integer of column 0 of every row: 0 with *ids (malloc'd, caller frees;
 * NULL when none) and *n, or a negative SCH_E* code with nothing kept. */
int store_ids(struct store_stmt *st, int64_t **ids, size_t *n);
/* Executes one or more statements without parameters (DDL, pragmas). */
int store_exec(struct store *s, const char *sql);

/* The id the last INSERT into a table with an INTEGER PRIMARY KEY gave
 * its row (SQLite's last_insert_rowid, PostgreSQL's lastval()); an INSERT
 * that names its own key leaves it as it was on PostgreSQL. */
int64_t store_last_id(struct store *s);
/* Rows changed by the last INSERT, UPDATE or DELETE. */
int store_changes(struct store *s);
/* The last error message from the database on this connection (borrowed). */
const char *store_errmsg(struct store *s);
/* What kind of failure the last one was: "disk full", "database locked"... */
const char *store_last_error_kind(struct store *s);

/*
 * A statement that must be spelled differently for each engine (full-text
 * search). Both spellings are static strings; store_dialect() returns the
 * one this connection runs, to pass to store_query() as usual.
 *
 * Full-text search: the index tables (search_posts, search_text) have the
 * same names and columns on both engines, so they are written with plain
 * SQL. A search binds a match expression: one or more double-quoted
 * phrases separated by spaces ("" stands for a quote inside one), each
 * optionally followed by * to match its last word as a prefix; all phrases
 * must match. SQLite hands it to FTS5's MATCH; PostgreSQL turns it into a
 * tsquery with scholia_match() (migrations/pg/0008_search.sql).
 */
struct store_dialect {
	const char *sqlite;
	const char *postgresql;
};
const char *store_dialect(const struct store *s, const struct store_dialect *d);

/* Transactions. begin_immediate takes the write lock at once. */
int store_begin(struct store *s);
int store_commit(struct store *s);
int store_rollback(struct store *s);
/* Savepoints for one request inside a group-committed batch. */
int store_savepoint(struct store *s);
int store_release(struct store *s);
int store_rollback_to(struct store *s);

/* Migrations (store/migrate.c). */
struct migration_status {
	int applied;   /* highest version recorded in the database */
	int available; /* highest version in the migrations folder */
};
int store_migrate(struct store *s, const char *dir, char *err, size_t errlen);
/* Reads the applied and available versions. */
int store_migration_status(struct store *s, const char *dir,
			   struct migration_status *st);
/* Prints "applied"/"pending" and the file name for each migration. */
int store_migration_print(struct store *s, const char *dir, FILE *out);

/* A consistent copy of the whole database into path: SQLite's online
 * backup (a database file), or pg_dump's custom format for PostgreSQL. */
int store_backup(struct store *s, const char *path, char *err, size_t errlen);

/* Copies the database file in (checked with quick_check first: a file that
 * is not a sound database is SCH_ECORRUPT) into a new file out. Used by
 * `scholia restore`, which moves the result into place. */
int store_restore(const char *in, const char *out, char *err, size_t errlen);

/*
 * scholia migrate-to (store/copy.c): copies every row of the SQLite
 * database src into the PostgreSQL database dst, both migrated to the same
 * version, inside dst's transaction (the caller begins it and commits or
 * rolls back): every table of dst's schema but schema_migrations, parents
 * before the tables that refer to them, generated columns (search's
 * tsvector) computed again, then each identity sequence set past the
 * largest id so new rows get new ids. report (may be NULL) hears each
 * table and its row count. 0, or a negative SCH_E* code with the reason in
 * err (SCH_EINVAL: not SQLite into PostgreSQL, or the schemas differ).
 */
int store_copy(struct store *src, struct store *dst,
	       void (*report)(void *arg, const char *table, int64_t rows),
	       void *arg, char *err, size_t errlen);
/* 0 when no table of dst (schema_migrations aside) holds a row;
 * SCH_ECONFLICT naming one that does in err, or another SCH_E* code. */
int store_copy_check_empty(struct store *dst, char *err, size_t errlen);

/*
 * Cross-node signals (PostgreSQL's NOTIFY/LISTEN; SQLite has one node and
 * neither). store_notify() queues payload on channel in the current
 * transaction: listeners get it only once that transaction commits, and
 * not at all if it rolls back. 0 or negative SCH_E* (0 and nothing on
 * SQLite).
 */
int store_notify(struct store *s, const char *channel, const char *payload);
/* A connection of its own that listens on channel. SCH_EINVAL on SQLite
 * (nothing to listen to), or SCH_EDB when the database cannot be reached. */
struct store_listener;
int store_listen(const struct store *s, const char *channel,
		 struct store_listener **out);
/* Its socket, for poll() (-1 while it is reconnecting). */
int store_listener_fd(struct store_listener *l);
/*
 * The next payload received (copied into buf, at most len - 1 bytes): 1
 * with a payload, 0 when none waits, SCH_EIO when the connection was lost
 * and has just been made again (signals may have been missed meanwhile:
 * catch up from the table), SCH_EDB while it cannot be made again.
 */
int store_listener_next(struct store_listener *l, char *buf, size_t len);
void store_listener_close(struct store_listener *l);

/*
 * Checkpoints, for an engine that keeps a write-ahead log beside the
 * database (SQLite): store_wal_manual(s, true) stops the engine's own
 * checkpoints on s, whose commits would otherwise wait for them, so that
 * another connection can run store_checkpoint() (passive: never blocks a
 * writer or a reader) on a thread of its own; false gives them back.
 * store_wal_manual answers SCH_EINVAL where there is no such log
 * (PostgreSQL, an in-memory database), and store_checkpoint then does
 * nothing.
 */
int store_wal_manual(struct store *s, bool manual);
int store_checkpoint(struct store *s);

/*
 * Durability full with the sync taken out of COMMIT, for an engine whose
 * commits one file's sync makes durable (SQLite's WAL): after
 * store_defer_sync(s), s's commits return once written but not yet synced,
 * and store_sync(s) makes every commit made on s so far durable. store_sync
 * may run on another thread while s runs its next transaction (it touches
 * nothing else of s); whoever defers must not acknowledge a commit before a
 * store_sync that began after it returned 0. SCH_EINVAL where the engine
 * cannot (PostgreSQL, whose COMMIT waits for synchronous_commit; an
 * in-memory database) or s's durability is not full.
 */
int store_defer_sync(struct store *s);
int store_sync(struct store *s);

/* Quick health probe: 0 when a trivial query runs. */
int store_ping(struct store *s);

/* How many times the database was busy (SQLITE_BUSY; for /metrics). */
uint64_t store_busy_count(void);

/* True when other processes may write this database at the same time
 * (PostgreSQL: several nodes share it), so that what one process keeps in
 * memory about the rows can be stale; false for SQLite (one server holds
 * the file's lock). */
bool store_shared(const struct store *s);

/* The path or URL this store was opened with (borrowed). */
const char *store_path(const struct store *s);

#endif
