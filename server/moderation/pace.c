/*
 * pace.c - the gate threads passes before every post (annotation or reply):
 * mutes, the circle's slow mode and the per-member post rate (SPEC §5).
 *
 * Post times live in the post_times table and are written in the post's own
 * savepoint, so a post that fails later does not count, the limits survive a
 * restart, and the whole rule is three indexed queries on the store thread.
 * Times are whole seconds (rpc_now), so retry_after_ms is a multiple of 1000
 * and never less than the real wait.
 */
#include "moderation/moderation.h"

#include "moderation/internal.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "util/err.h"

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
static const char SQL_PRUNE[] =
	"DELETE FROM post_times WHERE circle = ?1 AND account = ?2 AND at <= ?3"
	" AND rowid < (SELECT max(rowid) FROM post_times"
	" WHERE circle = ?1 AND account = ?2)";

int mod_muted(struct rpc_ctx *ctx, int64_t circle, int64_t account,
	      int64_t *until)
{
	int rc;

	rc = store_int_query(rpc_store(ctx), until, SQL_MUTED, "iii", circle,
			     account, rpc_now(ctx));
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

int moderation_check_post(struct rpc_ctx *ctx, const struct vis_viewer *v,
			  int64_t circle)
{
	struct store *db = rpc_store(ctx);
	int64_t account = v->account ? v->account : rpc_account(ctx);
	int64_t until = 0, wait = 0;
	int rc;

	rc = mod_muted(ctx, circle, account, &until);
	if (rc < 0)
		return rpc_fail_store(ctx, rc);
	if (rc == 1)
		return mod_fail_muted(ctx, until);
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
