/*
 * limit.c - login failure limits with growing back-off (SPEC §5).
 *
 * Failures are counted per handle and per peer address. rpc_config's
 * login_failures (5) failures within a minute put the key in back-off:
 * one minute the first time, doubling with each further strike up to an
 * hour, during which every attempt - even with the right password - is
 * refused before any Argon2id runs. A success clears the handle's count and
 * strikes (not the address's: one known password must not buy guesses at
 * other handles). A device that signed in to the account before (R2-F5,
 * device.c) passes handle NULL: only its address's limit binds it, so
 * failures from elsewhere cannot lock its owner out. Checks still in
 * flight on the pool count against a handle
 * too, so that a burst of parallel guesses cannot slip past the limit.
 *
 * Registrations are limited too, per address: 30 in ten minutes, and 4
 * hashing at once, so that nobody can fill the worker pool with Argon2id
 * jobs (or the database with accounts) through auth.register.
 *
 * On SQLite (one server) the counters live in memory, touched by the store
 * thread alone (handlers and continuations); a restart forgets them, which
 * only gives an attacker what restarting the server costs. Idle entries are
 * swept so the table stays bounded.
 *
 * With several nodes on one database (store_shared(): PostgreSQL,
 * docs/scaling.md) the counters of each key (window start, failures,
 * strikes, blocked_until, last) are rows of login_limits instead, so that
 * failures on one node count on every node and a back-off set on one
 * refuses on all. A check reads the rows; a failure or success writes them
 * through rpc_keep(), since a failed login answers with an error and that
 * rolls the call's savepoint back: kept work runs after it, in the batch's
 * transaction, in a savepoint of its own. The write locks the row first
 * (an upsert with RETURNING) and then stores what entry_fail() made of it,
 * so concurrent failures on two nodes both count (should two batches
 * deadlock on two keys' rows, PostgreSQL aborts one statement: that kept
 * write is rolled back and logged, one failure goes uncounted). A
 * registration counts its row in the handler (which defers, so its
 * savepoint is kept). Rows quiet for two hours are swept now and then by
 * the node that writes. Only the checks in flight (pending) stay per node:
 * in memory, as on SQLite, so a parallel burst is bounded per node (N
 * nodes: N bursts). Times are wall clock milliseconds: the nodes' clocks
 * must agree (NTP).
 */
#include "auth/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rpc/rpc.h"
#include "store/store.h"
#include "util/buf.h"

#define LIMIT_BUCKETS 4096
#define LIMIT_SWEEP_AT 20000   /* entries before a sweep */
#define LIMIT_WINDOW_MS 60000  /* the "a minute" of SPEC §5 */
#define LIMIT_BACKOFF_MS 60000 /* first back-off */
#define LIMIT_BACKOFF_MAX_MS 3600000
#define LIMIT_FORGET_MS 7200000 /* strikes forgotten after 2 quiet hours */
#define LIMIT_PEER_PENDING 64	/* checks in flight from one address */
#define LIMIT_REGISTER_MAX 30	/* registrations per address per window */
#define LIMIT_REGISTER_WINDOW_MS 600000
#define LIMIT_REGISTER_PENDING 4 /* registrations hashing at once */

/* Counters of one handle ("h:...") or address ("a:..."). */
struct limit_entry {
	struct limit_entry *next;
	char *key;
	int64_t window_start;  /* ms: start of the current minute */
	int failures;	       /* failures in the current window */
	int strikes;	       /* back-offs so far */
	int pending;	       /* checks in flight */
	int64_t blocked_until; /* ms */
	int64_t last;	       /* ms of the last activity */
};

static struct limit_entry *buckets[LIMIT_BUCKETS];
static size_t nentries;

static int64_t (*clock_override)(void);

void auth_limit_set_clock(int64_t (*now)(void))
{
	clock_override = now;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	if (clock_override)
		return clock_override();
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int limit_max(void)
{
	return rpc_config.login_failures > 0 ? rpc_config.login_failures : 5;
}

static size_t key_hash(const char *s)
{
	size_t h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h % LIMIT_BUCKETS;
}

static bool entry_idle(const struct limit_entry *e, int64_t now)
{
	int64_t keep = e->strikes	  ? LIMIT_FORGET_MS
		       : e->key[0] == 'r' ? LIMIT_REGISTER_WINDOW_MS
					  : LIMIT_WINDOW_MS;

	return e->pending == 0 && e->blocked_until <= now &&
	       now - e->last > keep;
}

static void sweep(int64_t now)
{
	for (size_t i = 0; i < LIMIT_BUCKETS; i++) {
		struct limit_entry **pp = &buckets[i];

		while (*pp) {
			struct limit_entry *e = *pp;

			if (entry_idle(e, now)) {
				*pp = e->next;
				free(e->key);
				free(e);
				nentries--;
			} else {
				pp = &e->next;
			}
		}
	}
}

/* Fills key with prefix + name (name is truncated). */
static void key_of(char key[160], char prefix, const char *name)
{
	key[0] = prefix;
	key[1] = ':';
	snprintf(key + 2, 158, "%s", name ? name : "");
}

/* Finds or creates the entry for prefix + name (name is truncated). */
static struct limit_entry *entry_get(char prefix, const char *name, int64_t now)
{
	char key[160];
	struct limit_entry *e;
	size_t h;

	key_of(key, prefix, name);
	h = key_hash(key);
	for (e = buckets[h]; e; e = e->next)
		if (!strcmp(e->key, key))
			return e;
	if (nentries >= LIMIT_SWEEP_AT)
		sweep(now);
	e = xcalloc(1, sizeof(*e));
	e->key = xstrdup(key);
	e->window_start = now;
	e->last = now;
	e->next = buckets[h];
	buckets[h] = e;
	nentries++;
	return e;
}

/* ---- the shared rows (store_shared) ---- */

static const char SQL_LIMIT_GET[] =
	"SELECT window_start, failures, strikes, blocked_until, last "
	"FROM login_limits WHERE key = ?";
/* takes the row's lock (until commit) and returns it as it is now */
static const char SQL_LIMIT_LOCK[] =
	"INSERT INTO login_limits (key, window_start, failures, strikes, "
	"blocked_until, last) VALUES (?1, ?2, 0, 0, 0, ?2) "
	"ON CONFLICT (key) DO UPDATE SET key = excluded.key "
	"RETURNING window_start, failures, strikes, blocked_until, last";
static const char SQL_LIMIT_PUT[] =
	"UPDATE login_limits SET window_start = ?, failures = ?, strikes = ?, "
	"blocked_until = ?, last = ? WHERE key = ?";
static const char SQL_LIMIT_CLEAR[] =
	"UPDATE login_limits SET failures = 0, strikes = 0, last = ? "
	"WHERE key = ?";
static const char SQL_LIMIT_SWEEP[] =
	"DELETE FROM login_limits WHERE last < ? AND blocked_until < ?";

static bool shared(struct rpc_ctx *ctx)
{
	return ctx && store_shared(rpc_store(ctx));
}

static void entry_fields(struct limit_entry *e, struct store_stmt *st)
{
	e->window_start = store_int(st, 0);
	e->failures = (int)store_int(st, 1);
	e->strikes = (int)store_int(st, 2);
	e->blocked_until = store_int(st, 3);
	e->last = store_int(st, 4);
}

/* Replaces e's counters (not pending) by its row's; a key without a row
 * starts afresh. 0 or SCH_E*. */
static int row_load(struct store *db, struct limit_entry *e, int64_t now)
{
	struct store_stmt *st = store_query(db, SQL_LIMIT_GET, "t", e->key);
	int rc;

	if (!st)
		return SCH_EDB;
	rc = store_row(st);
	if (rc > 0) {
		entry_fields(e, st);
	} else if (rc == 0) {
		e->window_start = e->last = now;
		e->failures = e->strikes = 0;
		e->blocked_until = 0;
	}
	store_done(st);
	return rc < 0 ? rc : 0;
}

/* Locks key's row (made if missing) and reads it into e. */
static int row_lock(struct store *db, struct limit_entry *e, int64_t now)
{
	struct store_stmt *st =
		store_query(db, SQL_LIMIT_LOCK, "ti", e->key, now);
	int rc;

	if (!st)
		return SCH_EDB;
	rc = store_row(st);
	if (rc > 0)
		entry_fields(e, st);
	store_done(st);
	return rc < 0 ? rc : rc == 0 ? SCH_EDB : 0;
}

static int row_put(struct store *db, const struct limit_entry *e)
{
	return store_run(db, SQL_LIMIT_PUT, "iiiiit", e->window_start,
			 (int64_t)e->failures, (int64_t)e->strikes,
			 e->blocked_until, e->last, e->key);
}

/* Refusal time left for e, 0 when it may try. */
static int64_t entry_wait(struct limit_entry *e, int64_t now)
{
	if (now - e->last > LIMIT_FORGET_MS)
		e->strikes = 0;
	if (e->blocked_until > now)
		return e->blocked_until - now;
	return 0;
}

int auth_limit_begin(struct rpc_ctx *ctx, const char *handle, const char *peer,
		     bool by_peer, int64_t *retry_ms)
{
	int64_t now = now_ms(), wait, w;
	struct limit_entry *eh, *ea = NULL;

	eh = handle ? entry_get('h', handle, now) : NULL;
	if (by_peer && peer && *peer)
		ea = entry_get('a', peer, now);
	if (shared(ctx) && ((eh && row_load(rpc_store(ctx), eh, now)) ||
			    (ea && row_load(rpc_store(ctx), ea, now)))) {
		/* the counts cannot be read: refuse rather than guess */
		*retry_ms = 1000;
		return 1;
	}
	wait = eh ? entry_wait(eh, now) : 0;
	if (ea) {
		w = entry_wait(ea, now);
		if (w > wait)
			wait = w;
	}
	if (!wait && eh) {
		int f = now - eh->window_start < LIMIT_WINDOW_MS ? eh->failures
								 : 0;
		/* parallel guesses: the ones in flight may all fail */
		if (f + eh->pending >= limit_max())
			wait = 1000;
	}
	if (!wait && ea) {
		if (ea && ea->pending >= LIMIT_PEER_PENDING)
			wait = 1000;
	}
	if (wait) {
		*retry_ms = wait;
		return 1;
	}
	if (eh) {
		eh->pending++;
		eh->last = now;
	}
	if (ea) {
		ea->pending++;
		ea->last = now;
	}
	return 0;
}

static void entry_fail(struct limit_entry *e, int64_t now)
{
	if (now - e->window_start >= LIMIT_WINDOW_MS) {
		e->window_start = now;
		e->failures = 0;
	}
	e->failures++;
	e->last = now;
	if (e->failures >= limit_max()) {
		int64_t b = LIMIT_BACKOFF_MS;

		for (int i = 0; i < e->strikes && b < LIMIT_BACKOFF_MAX_MS; i++)
			b *= 2;
		if (b > LIMIT_BACKOFF_MAX_MS)
			b = LIMIT_BACKOFF_MAX_MS;
		e->strikes++;
		e->blocked_until = now + b;
		e->failures = 0;
		e->window_start = now;
	}
}

/* A check's outcome for the shared rows (rpc_keep). */
struct limit_outcome {
	char hkey[160], akey[160]; /* "": none */
	bool ok;
	int64_t now;
};

static int64_t last_row_sweep;

/* One failure on key's row, under its lock. */
static int row_fail(struct store *db, const char *key, int64_t now)
{
	struct limit_entry e;
	int rc;

	memset(&e, 0, sizeof(e));
	e.key = (char *)key;
	rc = row_lock(db, &e, now);
	if (rc)
		return rc;
	if (now - e.last > LIMIT_FORGET_MS)
		e.strikes = 0;
	entry_fail(&e, now);
	return row_put(db, &e);
}

static int keep_outcome(struct store *db, void *arg)
{
	struct limit_outcome *o = arg;
	int rc = 0;

	if (o->hkey[0])
		rc = o->ok ? store_run(db, SQL_LIMIT_CLEAR, "it", o->now,
				       o->hkey)
			   : row_fail(db, o->hkey, o->now);
	if (!rc && o->akey[0] && !o->ok)
		rc = row_fail(db, o->akey, o->now);
	if (!rc && o->now - last_row_sweep > LIMIT_WINDOW_MS) {
		last_row_sweep = o->now;
		rc = store_run(db, SQL_LIMIT_SWEEP, "ii",
			       o->now - LIMIT_FORGET_MS, o->now);
	}
	return rc;
}

void auth_limit_end(struct rpc_ctx *ctx, const char *handle, const char *peer,
		    bool by_peer, bool ok)
{
	int64_t now = now_ms();
	struct limit_entry *eh, *ea = NULL;

	eh = handle ? entry_get('h', handle, now) : NULL;
	if (by_peer && peer && *peer)
		ea = entry_get('a', peer, now);
	if (eh && eh->pending > 0)
		eh->pending--;
	if (ea && ea->pending > 0)
		ea->pending--;
	if (shared(ctx)) {
		struct limit_outcome *o = xcalloc(1, sizeof(*o));

		if (eh)
			key_of(o->hkey, 'h', handle);
		if (ea)
			key_of(o->akey, 'a', peer);
		o->ok = ok;
		o->now = now;
		rpc_keep(ctx, keep_outcome, o, free);
		return;
	}
	if (ok) {
		if (eh) {
			eh->failures = 0;
			eh->strikes = 0;
			eh->last = now;
		}
		return;
	}
	if (eh)
		entry_fail(eh, now);
	if (ea)
		entry_fail(ea, now);
}

int auth_limit_register_begin(struct rpc_ctx *ctx, const char *peer,
			      int64_t *retry_ms)
{
	int64_t now = now_ms();
	struct limit_entry *e = entry_get('r', peer, now);

	/* shared: the row, locked; the handler defers next, which keeps the
	 * count (a refusal rolls it back with the call: nothing counted) */
	if (shared(ctx) && row_lock(rpc_store(ctx), e, now)) {
		*retry_ms = 1000;
		return 1;
	}
	if (now - e->window_start >= LIMIT_REGISTER_WINDOW_MS) {
		e->window_start = now;
		e->failures = 0;
	}
	if (e->failures >= LIMIT_REGISTER_MAX) {
		*retry_ms = e->window_start + LIMIT_REGISTER_WINDOW_MS - now;
		return 1;
	}
	if (e->pending >= LIMIT_REGISTER_PENDING) {
		*retry_ms = 1000;
		return 1;
	}
	e->failures++; /* here: registrations started in the window */
	e->pending++;
	e->last = now;
	if (shared(ctx) && row_put(rpc_store(ctx), e)) {
		e->pending--;
		*retry_ms = 1000;
		return 1;
	}
	return 0;
}

void auth_limit_register_end(const char *peer)
{
	struct limit_entry *e = entry_get('r', peer, now_ms());

	if (e->pending > 0)
		e->pending--;
}

void auth_limit_reset(void)
{
	for (size_t i = 0; i < LIMIT_BUCKETS; i++) {
		while (buckets[i]) {
			struct limit_entry *e = buckets[i];

			buckets[i] = e->next;
			free(e->key);
			free(e);
		}
	}
	nentries = 0;
}
