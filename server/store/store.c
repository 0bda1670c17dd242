/*
 * store.c - the engine-neutral half of store/store.h: choosing the engine
 * from --db, the statement cache and the calls that dispatch to the engine's
 * operations table (store/internal.h).
 *
 * Statements are cached in a small open-addressing table keyed by the
 * address of their SQL text, so a module's static SQL strings are prepared
 * once per connection and reused for the life of the process, on either
 * engine.
 */
#include "store/internal.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/vec.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define STORE_CACHE_MIN 64

bool store_is_file(const char *path)
{
	return !(strncmp(path, "postgresql://", 13) == 0 ||
		 strncmp(path, "postgres://", 11) == 0);
}

int store_open(const struct store_opts *opts, struct store **out, char *err,
	       size_t errlen)
{
	const struct store_ops *ops =
		store_is_file(opts->path) ? &store_sqlite_ops : &store_pg_ops;

	return ops->open(opts, out, err, errlen);
}

int store_open_reader(const struct store *s, struct store **out)
{
	return s->ops->open_reader(s, out);
}

void store_close(struct store *s)
{
	if (s)
		s->ops->close(s);
}

const char *store_path(const struct store *s)
{
	return s->path;
}

const char *store_errmsg(struct store *s)
{
	return s->ops->errmsg(s);
}

const char *store_last_error_kind(struct store *s)
{
	return s->ops->error_kind(s);
}

bool store_shared(const struct store *s)
{
	return s->ops == &store_pg_ops;
}

const char *store_dialect(const struct store *s, const struct store_dialect *d)
{
	return s->ops->dialect(d);
}

/* ---- the statement cache ---- */

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

void store_cache_free(struct store *s, void (*free_stmt)(struct store_stmt *))
{
	for (size_t i = 0; i < s->cache_cap; i++)
		if (s->cache[i])
			free_stmt(s->cache[i]);
	free(s->cache);
	s->cache = NULL;
	s->cache_cap = s->cache_used = 0;
	/* the statements keyed by these texts are gone: the texts may go */
	for (size_t i = 0; i < s->nkept; i++)
		free(s->kept[i]);
	free(s->kept);
	s->kept = NULL;
	s->nkept = s->kept_cap = 0;
}

const char *store_keep_sql(struct store *s, char *sql)
{
	for (size_t i = 0; i < s->nkept; i++)
		if (strcmp(s->kept[i], sql) == 0) {
			free(sql);
			return s->kept[i];
		}
	*VEC_PUSH(s->kept, s->nkept, s->kept_cap) = sql;
	return sql;
}

/* ---- statements ---- */

static struct store_stmt *query_va(struct store *s, const char *sql,
				   const char *types, va_list ap)
{
	struct store_stmt *st = cache_find(s, sql);

	if (!st) {
		st = s->ops->prepare(s, sql, types);
		if (!st)
			return NULL;
		st->sql = sql;
		st->owner = s;
		cache_insert(s, st);
	}
	if (s->ops->bind(st, types ? types : "", ap))
		return NULL;
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

/* Calls store_query with the STORE_MAX_TEXTS arguments of v: a variadic
 * call may pass more arguments than the callee reads, so one call covers
 * every n up to the limit (types has n letters). */
#define V8(o)                                                                  \
	v[o], v[o + 1], v[o + 2], v[o + 3], v[o + 4], v[o + 5], v[o + 6],      \
		v[o + 7]

struct store_stmt *store_query_texts(struct store *s, const char *sql, size_t n,
				     const char *const *vals)
{
	const char *v[STORE_MAX_TEXTS] = {0};
	char types[STORE_MAX_TEXTS + 1];

	if (n > STORE_MAX_TEXTS) {
		log_error("store", "%zu parameters, more than %d: %.200s", n,
			  STORE_MAX_TEXTS, sql);
		s->last_sch = SCH_EINVAL;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		v[i] = vals[i];
		types[i] = 't';
	}
	types[n] = '\0';
	_Static_assert(STORE_MAX_TEXTS == 64, "V8 below covers 64 arguments");
	return store_query(s, sql, types, V8(0), V8(8), V8(16), V8(24), V8(32),
			   V8(40), V8(48), V8(56));
}

int store_row(struct store_stmt *st)
{
	if (!st)
		return SCH_EDB;
	return st->owner->ops->row(st);
}

void store_done(struct store_stmt *st)
{
	if (st)
		st->owner->ops->done(st);
}

int64_t store_int(struct store_stmt *st, int col)
{
	return st->owner->ops->col_int(st, col);
}

double store_double(struct store_stmt *st, int col)
{
	return st->owner->ops->col_double(st, col);
}

const char *store_text(struct store_stmt *st, int col)
{
	return st->owner->ops->col_text(st, col);
}

const void *store_blob(struct store_stmt *st, int col, size_t *len)
{
	return st->owner->ops->col_blob(st, col, len);
}

bool store_is_null(struct store_stmt *st, int col)
{
	return st->owner->ops->col_null(st, col);
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
		return s->last_sch ? s->last_sch : SCH_EDB;
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

int store_exec(struct store *s, const char *sql)
{
	return s->ops->exec(s, sql);
}

int64_t store_last_id(struct store *s)
{
	return s->ops->last_id(s);
}

/* ---- transactions ---- */

/* store_changes, store_begin, ...: each hands on to its engine's op. */
#define STORE_OP(name)                                                         \
	int store_##name(struct store *s)                                      \
	{                                                                      \
		return s->ops->name(s);                                        \
	}

STORE_OP(changes)
STORE_OP(begin)
STORE_OP(commit)
STORE_OP(rollback)
STORE_OP(savepoint)
STORE_OP(release)
STORE_OP(rollback_to)

int store_ping(struct store *s)
{
	int64_t v = 0;

	return store_int_query(s, &v, "SELECT 1", "") == 1 ? 0 : SCH_EDB;
}

int store_backup(struct store *s, const char *path, char *err, size_t errlen)
{
	return s->ops->backup(s, path, err, errlen);
}

int store_has_table(struct store *s, const char *name)
{
	int64_t n = 0;
	int rc = store_int_query(s, &n, s->ops->has_table_sql, "t", name);

	return rc < 0 ? rc : n > 0;
}

int store_wal_manual(struct store *s, bool manual)
{
	return s->ops->wal_manual ? s->ops->wal_manual(s, manual) : SCH_EINVAL;
}

int store_checkpoint(struct store *s)
{
	return s->ops->checkpoint ? s->ops->checkpoint(s) : 0;
}

int store_defer_sync(struct store *s)
{
	return s->ops->defer_sync ? s->ops->defer_sync(s) : SCH_EINVAL;
}

int store_sync(struct store *s)
{
	return s->ops->sync ? s->ops->sync(s) : SCH_EINVAL;
}

const char *store_migrations_sub(const struct store *s)
{
	return s->ops->migrations_sub;
}

int store_notify(struct store *s, const char *channel, const char *payload)
{
	return s->ops->notify(s, channel, payload);
}

int store_listen(const struct store *s, const char *channel,
		 struct store_listener **out)
{
	*out = NULL;
	return s->ops->listen(s, channel, out);
}

int store_listener_fd(struct store_listener *l)
{
	return pg_listener_fd(l);
}

int store_listener_next(struct store_listener *l, char *buf, size_t len)
{
	return pg_listener_next(l, buf, len);
}

void store_listener_close(struct store_listener *l)
{
	if (l)
		pg_listener_close(l);
}
