/*
 * pace.c - the gate threads passes before every post (annotation or reply):
 * mutes, the circle's slow mode and the per-member post rate (SPEC §5).
 *
 * Post times live in the post_times table, so the limits survive a
 * restart, and a post that fails later does not count. Times are whole
 * seconds (rpc_now), so retry_after_ms is a multiple of 1000 and never less
 * than the real wait.
 *
 * The lean writes (annotation.create, reply.create on the executor) check a
 * copy kept in memory on the executor instead of querying: per member and
 * circle, the times of the last minute and the last post, loaded from the
 * table on first use. Their row is written at the end of the batch
 * (exec/later.h), with the batch; a call that fails takes its time back out
 * of the copy (the later work is dropped), and when a batch is rolled back
 * (exec_rollbacks) the whole copy is dropped and reloaded from the table.
 * Any other post (annotation.import, sharing a private thread) runs on the
 * table as before, after the pending rows are written, and drops the
 * member's copy.
 *
 * When the database is shared with other processes (store_shared: several
 * nodes on one PostgreSQL), another node's posts never reach this copy, so
 * the lean writes check the table too: the limits then hold across nodes,
 * counted over every node's committed posts. Two posts of one member on
 * two nodes in transactions that overlap can both pass (neither sees the
 * other's uncommitted row): the limit may be overshot by the posts of one
 * batch per node, never more (docs/scaling.md).
 */
#include "moderation/moderation.h"

#include "moderation/internal.h"
#include "rpc/rpc.h"
#include "exec/later.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/u64map.h"

#include <stdlib.h>
#include <string.h>

static const char SQL_MUTED[] =
	"SELECT coalesce(until, 0) FROM mutes WHERE circle = ? AND account = ?"
	" AND (until IS NULL OR until > ?)";
static const char SQL_SLOW[] =
	"SELECT slow_mode_s FROM circle_pace WHERE circle = ?";
static const char SQL_LAST_POST[] =
	"SELECT max(at) FROM post_times WHERE circle = ? AND account = ?";
/* The limit-th newest post of the last minute, if there is one: an index
 * walk of at most `limit` rows, however fast the member posts (counting
 * the whole window cost 200x more than anything else in annotation.create
 * at high rates: see SCHOLIA_SQL_PROFILE). */
static const char SQL_NTH_RECENT[] =
	"SELECT at FROM post_times WHERE circle = ?1 AND account = ?2"
	" AND at > ?3 ORDER BY at DESC LIMIT 1 OFFSET ?4";
static const char SQL_ADD_POST[] =
	"INSERT INTO post_times(circle, account, at) VALUES (?, ?, ?)";
static const char SQL_RECENT[] =
	"SELECT at FROM post_times WHERE circle = ?1 AND account = ?2"
	" AND at > ?3 ORDER BY at";
static const char SQL_PRUNE[] =
	"DELETE FROM post_times WHERE circle = ?1 AND account = ?2 AND at <= ?3"
	" AND rowid < (SELECT max(rowid) FROM post_times"
	" WHERE circle = ?1 AND account = ?2)";

/* Mutes and slow modes read in the current lean run (exec/later.h:
 * they change only through other calls, which end the run). */
#define PACE_MEMO 64
static struct {
	unsigned long run;
	unsigned n, next;
	struct {
		int64_t circle, account; /* account 0: the circle's slow mode */
		int64_t value;
		int rc;
	} e[PACE_MEMO];
} pm;

static bool memo_get(int64_t circle, int64_t account, int64_t *value, int *rc)
{
	unsigned long run;

	if (!exec_lean_run(&run))
		return false;
	if (run != pm.run) {
		pm.run = run;
		pm.n = pm.next = 0;
		return false;
	}
	for (unsigned i = 0; i < pm.n; i++)
		if (pm.e[i].circle == circle && pm.e[i].account == account) {
			*value = pm.e[i].value;
			*rc = pm.e[i].rc;
			return true;
		}
	return false;
}

static void memo_put(int64_t circle, int64_t account, int64_t value, int rc)
{
	unsigned long run;
	unsigned i;

	if (rc < 0 || !exec_lean_run(&run) || run != pm.run)
		return;
	i = pm.next;
	pm.next = (pm.next + 1) % PACE_MEMO;
	if (pm.n < PACE_MEMO)
		pm.n++;
	pm.e[i].circle = circle;
	pm.e[i].account = account;
	pm.e[i].value = value;
	pm.e[i].rc = rc;
}

int mod_muted(struct rpc_ctx *ctx, int64_t circle, int64_t account,
	      int64_t *until)
{
	int rc;

	if (account && memo_get(circle, account, until, &rc))
		return rc;
	rc = store_int_query(rpc_store(ctx), until, SQL_MUTED, "iii", circle,
			     account, rpc_now(ctx));
	if (account)
		memo_put(circle, account, *until, rc);
	return rc;
}

int mod_fail_muted(struct rpc_ctx *ctx, int64_t until)
{
	int64_t left;

	if (until == 0) {
		rpc_fail(ctx, RPC_E_LOCKED,
			 "you are muted in this circle until a moderator "
			 "lifts it");
		rpc_fail_data(ctx, "muted", json_true());
		rpc_fail_data(ctx, "until", json_null());
		return RPC_ERR;
	}
	left = (until - rpc_now(ctx)) * 1000;
	if (left < 1)
		left = 1;
	rpc_fail_retry(ctx, RPC_E_LOCKED, "you are muted in this circle", left);
	rpc_fail_data(ctx, "muted", json_true());
	rpc_fail_data(ctx, "until", mod_time_json(until));
	return RPC_ERR;
}

int moderation_check_muted(struct rpc_ctx *ctx, const struct vis_viewer *v,
			   int64_t circle)
{
	int64_t account = v->account ? v->account : rpc_account(ctx);
	int64_t until = 0;
	int rc;

	rc = mod_muted(ctx, circle, account, &until);
	if (rc < 0)
		return rpc_fail_store(ctx, rc);
	if (rc == 1)
		return mod_fail_muted(ctx, until);
	return 0;
}

/* Slow mode: the wait left for v in circle (0: may post). */
static int slow_wait(struct rpc_ctx *ctx, const struct vis_viewer *v,
		     int64_t circle, int64_t *wait_s)
{
	struct store *db = rpc_store(ctx);
	int64_t slow = 0, last = 0;
	int rc;

	*wait_s = 0;
	if (vis_is_moderator(v))
		return 0; /* SPEC §4: moderators and owners are exempt */
	rc = store_int_query(db, &slow, SQL_SLOW, "i", circle);
	if (rc < 0)
		return rc;
	if (rc == 0 || slow <= 0)
		return 0;
	rc = store_int_query(db, &last, SQL_LAST_POST, "ii", circle,
			     v->account);
	if (rc < 0)
		return rc;
	if (rc == 1 && last > 0 && last + slow > rpc_now(ctx))
		*wait_s = last + slow - rpc_now(ctx);
	return 0;
}

/* The per-minute limit: the wait left (0: may post). */
static int rate_wait(struct rpc_ctx *ctx, int64_t account, int64_t circle,
		     int64_t *wait_s)
{
	int64_t now = rpc_now(ctx), nth = 0;
	int rc;

	*wait_s = 0;
	if (rpc_config.posts_per_minute <= 0)
		return 0;
	rc = store_int_query(rpc_store(ctx), &nth, SQL_NTH_RECENT, "iiii",
			     circle, account, now - 60,
			     (int64_t)rpc_config.posts_per_minute - 1);
	if (rc < 0)
		return rc;
	if (rc > 0) {
		/* `limit` posts in the last minute: wait until the oldest of
		 * them leaves the window */
		*wait_s = nth + 60 - now;
		if (*wait_s < 1)
			*wait_s = 1;
	}
	return 0;
}

/* ---- the executor's copy ---- */

/* One member's posts in one circle. */
struct pace_entry {
	struct pace_entry *next; /* the member's other circles */
	int64_t circle;
	int64_t last;	   /* the newest post, 0: none */
	int64_t *times;	   /* the last minute's, oldest first */
	size_t n, cap;	   /* (older ones are dropped when seen) */
	int64_t pruned_at; /* when its old rows were last deleted */
};

/* executor thread only */
static struct {
	struct u64map by_account; /* account -> struct pace_entry list */
	unsigned long rollbacks;  /* exec_rollbacks() when filled */
} pc = {U64MAP_INIT, 0};

static void pace_free_list(uint64_t key, void *val, void *arg)
{
	struct pace_entry *e = val, *next;

	(void)key;
	(void)arg;
	for (; e; e = next) {
		next = e->next;
		free(e->times);
		free(e);
	}
}

static void pace_clear(void)
{
	u64map_each(&pc.by_account, pace_free_list, NULL);
	u64map_free(&pc.by_account);
	pc.by_account = (struct u64map)U64MAP_INIT;
}

/* Drops the copy of account's posts in circle. */
static void pace_forget(int64_t circle, int64_t account)
{
	struct pace_entry *head = u64map_get(&pc.by_account, (uint64_t)account);
	struct pace_entry **pp = &head, *e;

	for (; (e = *pp); pp = &e->next)
		if (e->circle == circle) {
			*pp = e->next;
			free(e->times);
			free(e);
			break;
		}
	if (head)
		u64map_put(&pc.by_account, (uint64_t)account, head);
	else
		u64map_del(&pc.by_account, (uint64_t)account);
}

static void pace_push(struct pace_entry *e, int64_t at)
{
	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 8;
		e->times = xrealloc(e->times, e->cap * sizeof(*e->times));
	}
	e->times[e->n++] = at;
}

/* The copy of account's posts in circle, loaded when missing; NULL on a
 * database error. */
static struct pace_entry *pace_get(struct store *db, int64_t circle,
				   int64_t account, int64_t now)
{
	struct pace_entry *head, *e;
	struct store_stmt *st;
	int rc;

	if (pc.rollbacks != exec_rollbacks()) {
		pace_clear();
		pc.rollbacks = exec_rollbacks();
	}
	head = u64map_get(&pc.by_account, (uint64_t)account);
	for (e = head; e; e = e->next)
		if (e->circle == circle)
			return e;
	e = xcalloc(1, sizeof(*e));
	e->circle = circle;
	rc = store_int_query(db, &e->last, SQL_LAST_POST, "ii", circle,
			     account);
	st = rc < 0 ? NULL
		    : store_query(db, SQL_RECENT, "iii", circle, account,
				  now - 60);
	while (st && (rc = store_row(st)) > 0)
		pace_push(e, store_int(st, 0));
	if (!st || rc < 0) {
		free(e->times);
		free(e);
		return NULL;
	}
	e->pruned_at = now;
	e->next = head;
	u64map_put(&pc.by_account, (uint64_t)account, e);
	return e;
}

/* A lean write's post: its row, written at the end of the batch. */
struct pace_post {
	int64_t circle, account, at;
	int64_t prev_last; /* the entry's last before this post */
	bool prune;	   /* delete the member's old rows too */
	bool written;	   /* ran: the post stays counted */
};

static int pace_write(struct rpc_ctx *ctx, void *arg)
{
	struct pace_post *pp = arg;
	struct store *db = rpc_store(ctx);
	int rc;

	pp->written = true;
	rc = store_run(db, SQL_ADD_POST, "iii", pp->circle, pp->account,
		       pp->at);
	if (rc == 0 && pp->prune)
		rc = store_run(db, SQL_PRUNE, "iii", pp->circle, pp->account,
			       pp->at - 60);
	return rc;
}

/* Frees a pace_post; one dropped (its call failed) is taken back out of
 * the copy: calls run one after another, so it is the newest time. */
static void pace_post_free(void *arg)
{
	struct pace_post *pp = arg;

	if (!pp->written && pc.rollbacks == exec_rollbacks()) {
		struct pace_entry *e =
			u64map_get(&pc.by_account, (uint64_t)pp->account);

		while (e && e->circle != pp->circle)
			e = e->next;
		if (e) {
			for (size_t i = e->n; i-- > 0;)
				if (e->times[i] == pp->at) {
					memmove(e->times + i, e->times + i + 1,
						(e->n - i - 1) *
							sizeof(*e->times));
					e->n--;
					break;
				}
			e->last = pp->prev_last;
		}
	}
	free(pp);
}

/*
 * The slow mode and rate checks of a lean write on the copy, and the
 * post counted: 0 (may post: *handled true), RPC_ERR with the error
 * recorded, or 0 with *handled false when the copy cannot be used here
 * (not a lean write on the executor, or a database other nodes write
 * too: use the table).
 */
static int pace_lean(struct rpc_ctx *ctx, const struct vis_viewer *v,
		     int64_t circle, int64_t account, bool *handled)
{
	struct store *db = rpc_store(ctx);
	int64_t now = rpc_now(ctx), slow = 0;
	struct pace_entry *e;
	struct pace_post *pp;
	size_t old = 0;
	int rc;

	*handled = false;
	if (store_shared(db))
		return 0; /* other nodes post too: the table */
	pp = xcalloc(1, sizeof(*pp));
	/* queued first: exec_later tells whether this is a lean write; the
	 * entry is dropped (pace_post_free) if the checks below refuse */
	if (!exec_later(pace_write, pp, pace_post_free)) {
		free(pp);
		return 0;
	}
	*handled = true;
	pp->written = true; /* nothing to take back yet */
	e = pace_get(db, circle, account, now);
	if (!e)
		return rpc_fail_store(ctx, SCH_EDB);
	while (old < e->n && e->times[old] <= now - 60)
		old++;
	if (old) {
		memmove(e->times, e->times + old,
			(e->n - old) * sizeof(*e->times));
		e->n -= old;
	}
	if (!vis_is_moderator(v)) {
		if (!memo_get(circle, 0, &slow, &rc)) {
			rc = store_int_query(db, &slow, SQL_SLOW, "i", circle);
			memo_put(circle, 0, slow, rc);
		}
		if (rc < 0)
			return rpc_fail_store(ctx, rc);
		if (rc == 1 && slow > 0 && e->last > 0 &&
		    e->last + slow > now) {
			rpc_fail_retry(ctx, RPC_E_LOCKED,
				       "slow mode: wait before posting again",
				       (e->last + slow - now) * 1000);
			rpc_fail_data(ctx, "slow_mode", json_true());
			return RPC_ERR;
		}
	}
	if (rpc_config.posts_per_minute > 0 &&
	    e->n >= (size_t)rpc_config.posts_per_minute) {
		/* `limit` posts in the last minute: wait until the oldest
		 * of them leaves the window */
		int64_t wait =
			e->times[e->n - (size_t)rpc_config.posts_per_minute] +
			60 - now;

		return rpc_fail_retry(ctx, RPC_E_RATE_LIMITED,
				      "too many posts in a minute",
				      (wait < 1 ? 1 : wait) * 1000);
	}
	pp->circle = circle;
	pp->account = account;
	pp->at = now;
	pp->prev_last = e->last;
	if (e->pruned_at <= now - 60) {
		pp->prune = true;
		e->pruned_at = now;
	}
	pace_push(e, now);
	if (now > e->last)
		e->last = now;
	pp->written = false; /* counted: taken back if the call fails */
	return 0;
}

int moderation_check_post(struct rpc_ctx *ctx, const struct vis_viewer *v,
			  int64_t circle)
{
	struct store *db = rpc_store(ctx);
	int64_t account = v->account ? v->account : rpc_account(ctx);
	int64_t wait = 0;
	int rc;

	rc = moderation_check_muted(ctx, v, circle);
	if (rc)
		return rc;
	{
		bool handled;

		rc = pace_lean(ctx, v, circle, account, &handled);
		if (handled || rc)
			return rc;
	}
	/* not a lean write: on the table, and the copy is stale after */
	if (u64map_get(&pc.by_account, (uint64_t)account))
		pace_forget(circle, account);
	rc = slow_wait(ctx, v, circle, &wait);
	if (rc < 0)
		return rpc_fail_store(ctx, rc);
	if (wait > 0) {
		rpc_fail_retry(ctx, RPC_E_LOCKED,
			       "slow mode: wait before posting again",
			       wait * 1000);
		rpc_fail_data(ctx, "slow_mode", json_true());
		return RPC_ERR;
	}
	rc = rate_wait(ctx, account, circle, &wait);
	if (rc < 0)
		return rpc_fail_store(ctx, rc);
	if (wait > 0)
		return rpc_fail_retry(ctx, RPC_E_RATE_LIMITED,
				      "too many posts in a minute",
				      wait * 1000);
	rc = store_run(db, SQL_ADD_POST, "iii", circle, account, rpc_now(ctx));
	if (rc == 0)
		rc = store_run(db, SQL_PRUNE, "iii", circle, account,
			       rpc_now(ctx) - 60);
	if (rc)
		return rpc_fail_store(ctx, rc);
	return 0;
}
