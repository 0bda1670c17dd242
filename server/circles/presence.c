/*
 * presence.c - who in a circle is connected and where they are reading.
 *
 * Presence is ephemeral: an in-memory table on the store thread (handlers,
 * rpc_hooks.conn_closed and rpc_hooks.tick all run there, so it needs no
 * lock), never stored, published as presence.changed without a seq. One
 * entry per (connection, circle); a member with two tabs open is present
 * while either is. An entry that is not refreshed by presence.set within
 * circles_config.presence_idle_s (default 60 s) is dropped by the tick, and a
 * closed connection drops its entries at once.
 *
 * A connection that moves more than once a second is not echoed to the
 * whole circle each time: its moves are published at most once a second
 * (the latest one; the tick sends what was held back), so one client cannot
 * make the server fan out an unbounded stream to every subscriber.
 *
 * With several nodes on one database (store_shared(): PostgreSQL,
 * docs/scaling.md) each node still keeps its own connections' entries here
 * (the throttle, what a closed connection drops), and presence.changed
 * reaches the other nodes' subscribers (rpc_publish_ephemeral shares it).
 * Each entry is also a row of the presence table, keyed by node
 * (bus_node_id()), connection and circle: written by every presence.set,
 * deleted when the entry goes. presence_list reads the rows (those not
 * refreshed within the idle limit are ignored), so a subscriber on any node
 * sees the members on every node; and before announcing a member offline
 * a node looks for a fresh row of theirs on another node and announces
 * that one instead. A node deletes its rows at a clean stop
 * (circles_presence_reset); a crashed node's rows are ignored once idle,
 * and the tick of a live node deletes them after twice the idle limit and
 * announces those members (offline, unless present elsewhere). On SQLite
 * (one node) nothing of this runs: no table, no extra statement.
 *
 * presence.changed data: {circle, account:{id, handle, display_name},
 * online, chapter, block, at}; online false when the member's last entry in
 * the circle went away (chapter and block null then).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "books/books.h"
#include "bus/bus.h"
#include "circles/circles.h"
#include "circles/internal.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "util/err.h"
#include "util/vec.h"

#define PRESENCE_IDLE_DEFAULT_S 60

/* One connection's presence in one circle. */
struct presence {
	uint64_t conn;
	int64_t circle;
	int64_t account;
	int64_t chapter;
	char block[CIRCLE_BLOCK_ENC]; /* JSON encoding; "": none */
	int64_t last_seen; /* unix seconds of the last presence.set */
	int64_t last_pub;  /* when presence.changed last went out for it */
	bool dirty;	   /* a move not yet published (throttled) */
};

static struct presence *table;
static size_t count, cap;
static int64_t last_sweep; /* unix seconds of the last sweep of the rows */

/* The rows of a shared database (store_shared). */
static const char SQL_ROW_PUT[] =
	"INSERT INTO presence (node, conn, circle, account, chapter, block, "
	"last_seen, stamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
	"ON CONFLICT (node, conn, circle) DO UPDATE SET "
	"account = excluded.account, chapter = excluded.chapter, "
	"block = excluded.block, last_seen = excluded.last_seen, "
	"stamp = excluded.stamp";
static const char SQL_ROW_DEL[] =
	"DELETE FROM presence WHERE node = ? AND conn = ? AND circle = ?";
static const char SQL_ROWS_OF_CIRCLE[] =
	"SELECT account, chapter, block, last_seen FROM presence "
	"WHERE circle = ? AND last_seen >= ? "
	"ORDER BY account, last_seen DESC, stamp DESC";
static const char SQL_ROW_ELSEWHERE[] =
	"SELECT account, chapter, block, last_seen FROM presence "
	"WHERE circle = ? AND account = ? AND node <> ? AND last_seen >= ? "
	"ORDER BY last_seen DESC, stamp DESC LIMIT 1";
static const char SQL_ROWS_SWEEP[] =
	"DELETE FROM presence WHERE node <> ? AND last_seen < ? "
	"RETURNING circle, account";
static const char SQL_ROWS_OF_ACCOUNT_DEL[] =
	"DELETE FROM presence WHERE circle = ? AND account = ?";
static const char SQL_ROWS_RESET[] =
	"DELETE FROM presence WHERE node = ? OR last_seen < ?";

static int idle_limit(void)
{
	return circles_config.presence_idle_s > 0
		       ? circles_config.presence_idle_s
		       : PRESENCE_IDLE_DEFAULT_S;
}

/* Wall clock milliseconds: orders the rows written within one second. */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t node_key(void)
{
	return (int64_t)bus_node_id();
}

/* An entry read from a row (account, chapter, block, last_seen). */
static void entry_from_row(struct presence *p, struct store_stmt *st,
			   int64_t circle)
{
	const char *block = store_text(st, 2);

	memset(p, 0, sizeof(*p));
	p->circle = circle;
	p->account = store_int(st, 0);
	p->chapter = store_int(st, 1);
	snprintf(p->block, sizeof(p->block), "%s", block ? block : "");
	p->last_seen = store_int(st, 3);
}

static json_t *entry_json(struct store *db, const struct presence *p)
{
	return json_pack("{s:I,s:o,s:b,s:I,s:o,s:o}", "circle",
			 (json_int_t)p->circle, "account",
			 circle_author_json(db, p->account), "online", 1,
			 "chapter", (json_int_t)p->chapter, "block",
			 circle_block_json(p->block), "at",
			 circle_time_json(p->last_seen));
}

static void publish(struct rpc_ctx *ctx, int64_t circle, int64_t account,
		    json_t *data)
{
	struct vis_item item;

	memset(&item, 0, sizeof(item));
	item.circle = circle;
	item.author = account;
	rpc_publish_ephemeral(ctx, circle, "presence.changed", &item, data);
}

/* The freshest remaining entry of account in circle, or NULL. */
static struct presence *latest_of(int64_t circle, int64_t account)
{
	struct presence *best = NULL;

	for (size_t i = 0; i < count; i++) {
		struct presence *p = &table[i];

		if (p->circle == circle && p->account == account &&
		    (!best || p->last_seen >= best->last_seen))
			best = p;
	}
	return best;
}

/* After an entry of (circle, account) went away: tells the circle where the
 * member now is, or that they are gone. */
static void announce_after_drop(struct rpc_ctx *ctx, int64_t circle,
				int64_t account)
{
	struct store *db = rpc_store(ctx);
	struct presence *rest = latest_of(circle, account), other;
	struct store_stmt *st;

	if (rest) {
		publish(ctx, circle, account, entry_json(db, rest));
		return;
	}
	/* still reading on another node: say where, not that they left */
	if (store_shared(db) &&
	    (st = store_query(db, SQL_ROW_ELSEWHERE, "iiii", circle, account,
			      node_key(), rpc_now(ctx) - idle_limit()))) {
		bool found = store_row(st) > 0;

		if (found)
			entry_from_row(&other, st, circle);
		store_done(st);
		if (found) {
			publish(ctx, circle, account, entry_json(db, &other));
			return;
		}
	}
	publish(ctx, circle, account,
		json_pack("{s:I,s:o,s:b,s:n,s:n,s:o}", "circle",
			  (json_int_t)circle, "account",
			  circle_author_json(db, account), "online", 0,
			  "chapter", "block", "at",
			  circle_time_json(rpc_now(ctx))));
}

/* Removes entries matching the predicate and announces each member whose
 * presence changed. */
static void drop_where(struct rpc_ctx *ctx,
		       bool (*match)(const struct presence *p, void *arg),
		       void *arg)
{
	struct presence *gone = NULL;
	size_t ngone = 0, j = 0;

	for (size_t i = 0; i < count; i++) {
		if (match(&table[i], arg)) {
			gone = realloc(gone, (ngone + 1) * sizeof(*gone));
			if (!gone)
				abort();
			gone[ngone++] = table[i];
		} else {
			table[j++] = table[i];
		}
	}
	count = j;
	if (store_shared(rpc_store(ctx)))
		for (size_t i = 0; i < ngone; i++)
			store_run(rpc_store(ctx), SQL_ROW_DEL, "iii",
				  node_key(), (int64_t)gone[i].conn,
				  gone[i].circle);
	for (size_t i = 0; i < ngone; i++) {
		bool seen = false;

		/* announce each (circle, account) once */
		for (size_t k = 0; k < i; k++)
			if (gone[k].circle == gone[i].circle &&
			    gone[k].account == gone[i].account)
				seen = true;
		if (!seen)
			announce_after_drop(ctx, gone[i].circle,
					    gone[i].account);
	}
	free(gone);
}

static int m_presence_set(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"circle", "chapter", "block",
					      NULL};
	struct vis_viewer v;
	int64_t circle, chapter, book;
	char block[CIRCLE_BLOCK_ENC];
	struct books_chapter_info ci;
	struct presence *p = NULL;
	uint64_t conn = rpc_conn(ctx);
	bool changed;
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    circle_access(ctx, params, CIRCLE_MEMBER, &circle, &v) ||
	    rpc_param_id(ctx, params, "chapter", true, &chapter) ||
	    circle_param_block(ctx, params, block))
		return RPC_ERR;
	rc = circles_book(rpc_store(ctx), circle, &book);
	if (rc)
		return rpc_fail_store(ctx, rc);
	if (books_chapter_info(rpc_store(ctx), chapter, &ci) || ci.book != book)
		return rpc_fail_field(ctx, "chapter",
				      "not a chapter of the circle's book");
	for (size_t i = 0; i < count; i++)
		if (table[i].conn == conn && table[i].circle == circle)
			p = &table[i];
	if (!p) {
		table = vec_reserve(table, count, &cap, sizeof(*table));
		p = &table[count++];
		memset(p, 0, sizeof(*p));
		p->conn = conn;
		p->circle = circle;
		p->chapter = -1;
	}
	changed = p->account != rpc_account(ctx) || p->chapter != chapter ||
		  strcmp(p->block, block) != 0;
	p->account = rpc_account(ctx);
	p->chapter = chapter;
	snprintf(p->block, sizeof(p->block), "%s", block);
	p->last_seen = rpc_now(ctx);
	if (store_shared(rpc_store(ctx))) {
		rc = store_run(rpc_store(ctx), SQL_ROW_PUT, "iiiiitii",
			       node_key(), (int64_t)p->conn, circle, p->account,
			       chapter, p->block, p->last_seen, now_ms());
		if (rc)
			return rpc_fail_store(ctx, rc);
	}
	/* a refresh that moves nothing keeps the entry alive quietly */
	if (changed && p->last_seen - p->last_pub >= 1) {
		p->last_pub = p->last_seen;
		p->dirty = false;
		publish(ctx, circle, p->account, entry_json(rpc_store(ctx), p));
	} else if (changed) {
		p->dirty = true;
	}
	*result = entry_json(rpc_store(ctx), p);
	json_object_set_new(*result, "idle_timeout_s",
			    json_integer(idle_limit()));
	return 0;
}

/* presence_list on a shared database: every node's fresh rows. */
static json_t *list_rows(struct store *db, int64_t circle)
{
	json_t *out = json_array();
	struct store_stmt *st;
	int64_t prev = 0;
	struct presence p;

	st = store_query(db, SQL_ROWS_OF_CIRCLE, "ii", circle,
			 (int64_t)time(NULL) - idle_limit());
	while (st && store_row(st) > 0) {
		entry_from_row(&p, st, circle);
		if (p.account == prev)
			continue; /* one line per member: their freshest */
		prev = p.account;
		json_array_append_new(out, entry_json(db, &p));
	}
	store_done(st);
	return out;
}

json_t *presence_list(struct store *db, int64_t circle)
{
	json_t *out;

	if (store_shared(db))
		return list_rows(db, circle);
	out = json_array();

	for (size_t i = 0; i < count; i++) {
		struct presence *p = &table[i];

		/* one line per member: their freshest entry */
		if (p->circle != circle || latest_of(circle, p->account) != p)
			continue;
		json_array_append_new(out, entry_json(db, p));
	}
	return out;
}

/* Predicates for drop_where. */
struct drop_key {
	int64_t circle;
	int64_t account;
	uint64_t conn;
	int64_t before;
};

static bool match_account(const struct presence *p, void *arg)
{
	const struct drop_key *k = arg;

	return p->circle == k->circle && p->account == k->account;
}

static bool match_conn(const struct presence *p, void *arg)
{
	const struct drop_key *k = arg;

	return p->conn == k->conn;
}

static bool match_idle(const struct presence *p, void *arg)
{
	const struct drop_key *k = arg;

	return p->last_seen < k->before;
}

void presence_drop_account(struct rpc_ctx *ctx, int64_t circle, int64_t account)
{
	struct drop_key k = {circle, account, 0, 0};

	/* their rows on every node: removed is gone everywhere */
	if (store_shared(rpc_store(ctx)))
		store_run(rpc_store(ctx), SQL_ROWS_OF_ACCOUNT_DEL, "ii", circle,
			  account);
	drop_where(ctx, match_account, &k);
}

void presence_conn_closed(struct rpc_ctx *ctx)
{
	struct drop_key k = {0, 0, rpc_conn(ctx), 0};

	if (k.conn != 0)
		drop_where(ctx, match_conn, &k);
}

/* Deletes the rows other nodes left behind (a crashed node's: twice the
 * idle limit without a refresh) and announces those members. */
static void sweep_rows(struct rpc_ctx *ctx)
{
	struct store *db = rpc_store(ctx);
	struct store_stmt *st;
	int64_t *pairs = NULL;
	size_t n = 0, pcap = 0;

	last_sweep = rpc_now(ctx);
	st = store_query(db, SQL_ROWS_SWEEP, "ii", node_key(),
			 rpc_now(ctx) - 2 * idle_limit());
	while (st && store_row(st) > 0) {
		pairs = vec_reserve(pairs, n, &pcap, 2 * sizeof(*pairs));
		pairs[2 * n] = store_int(st, 0);
		pairs[2 * n + 1] = store_int(st, 1);
		n++;
	}
	store_done(st);
	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		for (size_t k = 0; k < i; k++)
			if (pairs[2 * k] == pairs[2 * i] &&
			    pairs[2 * k + 1] == pairs[2 * i + 1])
				seen = true;
		if (!seen)
			announce_after_drop(ctx, pairs[2 * i],
					    pairs[2 * i + 1]);
	}
	free(pairs);
}

int circles_presence_reset(struct store *db)
{
	if (!store_shared(db))
		return 0;
	return store_run(db, SQL_ROWS_RESET, "ii", node_key(),
			 (int64_t)time(NULL) - 2 * idle_limit());
}

void presence_tick(struct rpc_ctx *ctx)
{
	struct drop_key k = {0, 0, 0, rpc_now(ctx) - idle_limit()};

	if (store_shared(rpc_store(ctx)) &&
	    rpc_now(ctx) - last_sweep >= idle_limit())
		sweep_rows(ctx);
	if (!count)
		return;
	drop_where(ctx, match_idle, &k);
	/* moves held back by the once-a-second throttle */
	for (size_t i = 0; i < count; i++) {
		struct presence *p = &table[i];

		if (p->dirty && rpc_now(ctx) - p->last_pub >= 1) {
			p->dirty = false;
			p->last_pub = rpc_now(ctx);
			publish(ctx, p->circle, p->account,
				entry_json(rpc_store(ctx), p));
		}
	}
}

const struct rpc_method circle_presence_methods[] = {
	{"presence.set", m_presence_set, RPC_AUTH}, {NULL, NULL, 0}};
