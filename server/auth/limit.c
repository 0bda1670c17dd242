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
 * The counters live in memory, touched by the store thread alone (handlers
 * and continuations); a restart forgets them, which only gives an attacker
 * what restarting the server costs. Idle entries are swept so the table
 * stays bounded.
 */
#include "auth/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rpc/rpc.h"
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

/* Finds or creates the entry for prefix + name (name is truncated). */
static struct limit_entry *entry_get(char prefix, const char *name, int64_t now)
{
	char key[160];
	struct limit_entry *e;
	size_t h;

	key[0] = prefix;
	key[1] = ':';
	snprintf(key + 2, sizeof(key) - 2, "%s", name ? name : "");
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

/* Refusal time left for e, 0 when it may try. */
static int64_t entry_wait(struct limit_entry *e, int64_t now)
{
	if (now - e->last > LIMIT_FORGET_MS)
		e->strikes = 0;
	if (e->blocked_until > now)
		return e->blocked_until - now;
	return 0;
}

int auth_limit_begin(const char *handle, const char *peer, bool by_peer,
		     int64_t *retry_ms)
{
	int64_t now = now_ms(), wait, w;
	struct limit_entry *eh, *ea = NULL;

	eh = handle ? entry_get('h', handle, now) : NULL;
	if (by_peer && peer && *peer)
		ea = entry_get('a', peer, now);
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

void auth_limit_end(const char *handle, const char *peer, bool by_peer, bool ok)
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

int auth_limit_register_begin(const char *peer, int64_t *retry_ms)
{
	int64_t now = now_ms();
	struct limit_entry *e = entry_get('r', peer, now);

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
