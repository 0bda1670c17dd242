/*
 * internal.h - what the two engines behind store/store.h share: the
 * connection and statement heads, the operations table each engine fills
 * (store/sqlite.c, store/pg.c) and the statement cache keyed by the address
 * of the SQL text (store/store.c). Nothing outside store/ includes this.
 */
#ifndef SCH_STORE_INTERNAL_H
#define SCH_STORE_INTERNAL_H

#include "store/store.h"

#include <stdarg.h>

struct store_ops;

/* The head of every connection; an engine's own struct starts with it. */
struct store {
	const struct store_ops *ops;
	char *path;		   /* file path or connection URL */
	struct store_stmt **cache; /* open addressing by sql pointer */
	size_t cache_cap, cache_used;
	int last_rc;  /* the engine's last error code (0: none) */
	int last_sch; /* that error as a negative SCH_E* code */
	char **kept;  /* SQL built at run time (store_keep_sql) */
	size_t nkept, kept_cap;
};

/* The head of every cached statement. */
struct store_stmt {
	const char *sql; /* key: the caller's static SQL text */
	struct store *owner;
};

/* One engine. Every function gets a struct store made by its own open. */
struct store_ops {
	const char *name;	    /* "sqlite", "postgresql" */
	const char *migrations_sub; /* folder under --migrations, or "" */
	int (*open)(const struct store_opts *opts, struct store **out,
		    char *err, size_t errlen);
	int (*open_reader)(const struct store *s, struct store **out);
	void (*close)(struct store *s); /* also frees the cached statements */
	/* prepares sql (not yet cached: the caller caches the result) */
	struct store_stmt *(*prepare)(struct store *s, const char *sql,
				      const char *types);
	/* resets and binds st for a new run; 0 or negative SCH_E* */
	int (*bind)(struct store_stmt *st, const char *types, va_list ap);
	int (*row)(struct store_stmt *st);
	void (*done)(struct store_stmt *st);
	int64_t (*col_int)(struct store_stmt *st, int col);
	double (*col_double)(struct store_stmt *st, int col);
	const char *(*col_text)(struct store_stmt *st, int col);
	bool (*col_null)(struct store_stmt *st, int col);
	const void *(*col_blob)(struct store_stmt *st, int col, size_t *len);
	int (*exec)(struct store *s, const char *sql);
	int64_t (*last_id)(struct store *s);
	int (*changes)(struct store *s);
	const char *(*errmsg)(struct store *s);
	const char *(*error_kind)(struct store *s);
	int (*begin)(struct store *s);
	int (*commit)(struct store *s);
	int (*rollback)(struct store *s);
	int (*savepoint)(struct store *s);
	int (*release)(struct store *s);
	int (*rollback_to)(struct store *s);
	/* counts the tables named ?1: store_has_table gives 1 when a table of
	 * that name exists, 0 when not, or SCH_E* */
	const char *has_table_sql;
	int (*backup)(struct store *s, const char *path, char *err,
		      size_t errlen);
	int (*notify)(struct store *s, const char *channel,
		      const char *payload);
	int (*listen)(const struct store *s, const char *channel,
		      struct store_listener **out);
	/* SQLite's WAL: the automatic checkpoint off (manual) or back on,
	 * and one passive checkpoint; NULL where the engine has none */
	int (*wal_manual)(struct store *s, bool manual);
	int (*checkpoint)(struct store *s);
	/* store_defer_sync / store_sync; NULL where the engine has none */
	int (*defer_sync)(struct store *s);
	int (*sync)(struct store *s);
	/* which spelling of a store_dialect this engine runs */
	const char *(*dialect)(const struct store_dialect *d);
};

/* The listener's functions (pg.c: only PostgreSQL makes listeners). */
int pg_listener_fd(struct store_listener *l);
int pg_listener_next(struct store_listener *l, char *buf, size_t len);
void pg_listener_close(struct store_listener *l);

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_pg_ops;

/* The statement cache (store.c), used by the engines' close. */
void store_cache_free(struct store *s, void (*free_stmt)(struct store_stmt *));

/* For migrate.c: whether a table exists (1, 0 or SCH_E*), and the folder
 * under --migrations that holds this engine's files ("" or "pg"). */
int store_has_table(struct store *s, const char *name);
const char *store_migrations_sub(const struct store *s);

/* For the engines' open (migrate.c): with opts->migrate (and not readonly)
 * apply the migrations; otherwise refuse a database that a newer scholia
 * migrated (SCH_ETOONEW). name is the database's path for the message, or
 * NULL for "the database". */
int store_open_migrations(struct store *s, const struct store_opts *opts,
			  const char *name, char *err, size_t errlen);

#endif
