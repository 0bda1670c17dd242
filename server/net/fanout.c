/*
 * fanout.c - applies the executor's outputs on the loop thread: replies,
 * events to subscribers, account events, subscriptions, viewer updates and
 * closes.
 *
 * Visibility is decided per subscriber by vis_check() on the viewer state
 * cached in the subscription: no database query per recipient. Each event
 * arrives already serialised (full, and redacted when it can be hidden);
 * subscribers get references to those same bytes.
 *
 * The delivery gate: per circle with subscribers the loop keeps the last
 * seq it delivered, and local events (from the executor) and other nodes'
 * (from the bus listener, PostgreSQL) pass through it alike. An event at
 * or below it is a duplicate and dropped; the next one is delivered, then
 * any held successors; a later one is held until the missing ones arrive.
 * They are committed already (a seq is taken under the circle's row lock,
 * held until commit), so when GATE_ASK events are held or a hold outlives
 * a tick of the idle timer, the listener is asked to read them from the log
 * (bus_listen_catch_up). On SQLite every event is the next one: one
 * comparison per event. A circle's gate starts at the seq its first
 * subscribe answered; a later subscriber gets live events after the seq
 * its own subscribe answered (net_sub.from), and those the gate passed in
 * between from the ring of recent events.
 */
#include "bus/bus.h"
#include "net/internal.h"
#include "util/log.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Held events past which the gate asks for the missing ones at once. */
#define GATE_ASK 8
/* Delivered events kept per circle (a power of two). */
#define GATE_RING 32

/* One event at the gate: references to its bytes. */
struct gate_ev {
	int64_t seq;
	struct vis_item item;
	struct refbuf *bytes, *red;
};

/* The subscribers of one circle, and its delivery gate. */
struct circle_subs {
	struct net_sub **subs;
	size_t n, cap;
	int64_t last;	      /* the last seq delivered */
	struct gate_ev *held; /* seq > last + 1, ascending */
	size_t nheld, capheld;
	struct gate_ev *ring; /* ring[seq % GATE_RING]: recently delivered */
};

static void gate_ev_unref(struct gate_ev *e)
{
	refbuf_unref(e->bytes);
	refbuf_unref(e->red);
	e->bytes = e->red = NULL;
}

static void circle_free(struct circle_subs *cs)
{
	for (size_t i = 0; i < cs->nheld; i++)
		gate_ev_unref(&cs->held[i]);
	for (size_t i = 0; cs->ring && i < GATE_RING; i++)
		gate_ev_unref(&cs->ring[i]);
	free(cs->held);
	free(cs->ring);
	free(cs->subs);
	free(cs);
}

static void send_to(struct net_sub *s, const struct gate_ev *e)
{
	if (e->seq && e->seq <= s->from)
		return; /* its subscribe answered a later seq */
	switch (vis_check(s->viewer, &e->item)) {
	case VIS_FULL:
		net_ws_send(s->conn, e->bytes);
		break;
	case VIS_REDACTED:
		net_ws_send(s->conn, e->red ? e->red : e->bytes);
		break;
	case VIS_NONE:
		break;
	}
}

/* The connections signed in as one account. */
struct conn_list {
	struct ws_conn **conns;
	size_t n, cap;
};

/*
 * A subscription's copy of its viewer, cut after the chapters of posted[]
 * that are in use: a full struct vis_viewer is 544 bytes, mostly the
 * post-first list that most viewers leave empty, and there is one per
 * subscription (issue 15: memory per idle connection). Only vis_check()
 * reads it, through the pointer, never past posted[nposted - 1].
 */
_Static_assert(offsetof(struct vis_viewer, posted) +
			       sizeof(((struct vis_viewer *)0)->posted) ==
		       sizeof(struct vis_viewer),
	       "posted[] must stay the last member of struct vis_viewer");

static struct vis_viewer *viewer_copy(const struct vis_viewer *v)
{
	size_t n = v->nposted > 0 ? (size_t)v->nposted : 0;
	size_t size =
		offsetof(struct vis_viewer, posted) + n * sizeof(v->posted[0]);
	struct vis_viewer *copy = xmalloc(size);

	memcpy(copy, v, size);
	return copy;
}

static void sub_set_viewer(struct net_sub *s, const struct vis_viewer *v)
{
	free(s->viewer);
	s->viewer = viewer_copy(v);
}

static void sub_free(struct net_sub *s)
{
	free(s->viewer);
	free(s);
}

/* The events the gate passed after from, for a subscriber that comes in
 * with a subscribe answered before the loop delivered them. */
static void sub_catch_up(struct circle_subs *cs, struct net_sub *s)
{
	for (int64_t seq = s->from + 1; seq <= cs->last; seq++) {
		struct gate_ev *e =
			cs->ring ? &cs->ring[seq % GATE_RING] : NULL;

		if (!e || e->seq != seq) {
			log_warn("net",
				 "circle %lld: event %lld passed before a "
				 "subscriber came in",
				 (long long)s->circle, (long long)seq);
			continue;
		}
		send_to(s, e);
	}
}

static void sub_add(struct ws_conn *c, int64_t circle, int64_t seq,
		    const struct vis_viewer *v)
{
	struct circle_subs *cs = u64map_get(&net.circles, (uint64_t)circle);
	struct net_sub *s;

	for (int i = 0; i < c->nsubs; i++) {
		if (c->subs[i]->circle == circle) {
			sub_set_viewer(c->subs[i],
				       v); /* re-subscribe: refresh */
			if (seq > c->subs[i]->from)
				c->subs[i]->from = seq;
			return;
		}
	}
	if (!cs) {
		cs = xcalloc(1, sizeof(*cs));
		cs->last = seq;
		u64map_put(&net.circles, (uint64_t)circle, cs);
	}
	s = xcalloc(1, sizeof(*s));
	s->conn = c;
	s->circle = circle;
	s->from = seq;
	s->viewer = viewer_copy(v);
	if (seq < cs->last)
		sub_catch_up(cs, s);
	if (cs->n == cs->cap) {
		cs->cap = cs->cap ? cs->cap * 2 : 8;
		cs->subs = xrealloc(cs->subs, cs->cap * sizeof(*cs->subs));
	}
	s->index = cs->n;
	cs->subs[cs->n++] = s;
	if (c->nsubs == c->subs_cap) {
		c->subs_cap = c->subs_cap ? c->subs_cap * 2 : 4;
		c->subs = xrealloc(c->subs,
				   (size_t)c->subs_cap * sizeof(*c->subs));
	}
	c->subs[c->nsubs++] = s;
}

static void sub_unlink(struct net_sub *s)
{
	struct circle_subs *cs = u64map_get(&net.circles, (uint64_t)s->circle);

	if (!cs)
		return;
	/* swap-remove keeps removal O(1) */
	cs->subs[s->index] = cs->subs[cs->n - 1];
	cs->subs[s->index]->index = s->index;
	cs->n--;
	if (cs->n == 0) {
		u64map_del(&net.circles, (uint64_t)s->circle);
		circle_free(cs);
	}
}

static void sub_remove(struct ws_conn *c, int64_t circle)
{
	for (int i = 0; i < c->nsubs; i++) {
		if (c->subs[i]->circle == circle) {
			sub_unlink(c->subs[i]);
			sub_free(c->subs[i]);
			c->subs[i] = c->subs[--c->nsubs];
			return;
		}
	}
}

void net_sub_remove_all(struct ws_conn *c)
{
	for (int i = 0; i < c->nsubs; i++) {
		sub_unlink(c->subs[i]);
		sub_free(c->subs[i]);
	}
	free(c->subs);
	c->subs = NULL;
	c->nsubs = c->subs_cap = 0;
}

void net_account_unlink(struct ws_conn *c)
{
	struct conn_list *l;

	if (!c->account)
		return;
	l = u64map_get(&net.accounts, (uint64_t)c->account);
	if (l) {
		for (size_t i = 0; i < l->n; i++) {
			if (l->conns[i] == c) {
				l->conns[i] = l->conns[--l->n];
				break;
			}
		}
		if (l->n == 0) {
			u64map_del(&net.accounts, (uint64_t)c->account);
			free(l->conns);
			free(l);
		}
	}
	c->account = 0;
	c->session = 0;
}

static void account_link(struct ws_conn *c, int64_t account)
{
	struct conn_list *l;

	if (!account)
		return;
	l = u64map_get(&net.accounts, (uint64_t)account);
	if (!l) {
		l = xcalloc(1, sizeof(*l));
		u64map_put(&net.accounts, (uint64_t)account, l);
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 2;
		l->conns = xrealloc(l->conns, l->cap * sizeof(*l->conns));
	}
	l->conns[l->n++] = c;
	c->account = account;
}

/* Delivers e, the circle's next event, and keeps it in the ring. */
static void gate_deliver(struct circle_subs *cs, struct gate_ev *e)
{
	struct gate_ev *slot;

	for (size_t i = 0; i < cs->n; i++)
		send_to(cs->subs[i], e);
	cs->last = e->seq;
	if (!cs->ring)
		cs->ring = xcalloc(GATE_RING, sizeof(*cs->ring));
	slot = &cs->ring[e->seq % GATE_RING];
	gate_ev_unref(slot);
	*slot = *e;
	slot->bytes = refbuf_ref(e->bytes);
	slot->red = e->red ? refbuf_ref(e->red) : NULL;
}

/* Holds e (seq > last + 1) until its predecessors are in. */
static void gate_hold(int64_t circle, struct circle_subs *cs,
		      const struct gate_ev *e)
{
	size_t i = cs->nheld;

	while (i > 0 && cs->held[i - 1].seq >= e->seq)
		i--;
	if (i < cs->nheld && cs->held[i].seq == e->seq)
		return; /* held already */
	if (cs->nheld == cs->capheld) {
		cs->capheld = cs->capheld ? cs->capheld * 2 : 8;
		cs->held = xrealloc(cs->held, cs->capheld * sizeof(*cs->held));
	}
	memmove(&cs->held[i + 1], &cs->held[i],
		(cs->nheld - i) * sizeof(*cs->held));
	cs->held[i] = *e;
	cs->held[i].bytes = refbuf_ref(e->bytes);
	cs->held[i].red = e->red ? refbuf_ref(e->red) : NULL;
	cs->nheld++;
	if (cs->nheld % GATE_ASK == 0)
		bus_listen_catch_up(circle, cs->last);
}

static void fan_out(struct rpc_out *o)
{
	struct circle_subs *cs = u64map_get(&net.circles, (uint64_t)o->circle);
	struct gate_ev e;
	size_t k = 0;

	if (!cs)
		return;
	e.seq = o->seq;
	e.item = o->item;
	e.bytes = o->bytes;
	e.red = o->redacted;
	if (!o->seq) { /* ephemeral (presence): no seq, no gate */
		for (size_t i = 0; i < cs->n; i++)
			send_to(cs->subs[i], &e);
		return;
	}
	if (o->seq != cs->last + 1) {
		if (o->seq <= cs->last)
			return; /* a duplicate */
		if (bus_listen_state()) {
			gate_hold(o->circle, cs, &e);
			return;
		}
		/* no listener to fetch the missing ones: as it comes */
		log_warn("net", "circle %lld: event %lld after %lld",
			 (long long)o->circle, (long long)o->seq,
			 (long long)cs->last);
	}
	gate_deliver(cs, &e);
	/* then the held successors, as far as they follow on */
	while (k < cs->nheld && cs->held[k].seq <= cs->last + 1) {
		if (cs->held[k].seq == cs->last + 1)
			gate_deliver(cs, &cs->held[k]);
		gate_ev_unref(&cs->held[k]);
		k++;
	}
	if (k) {
		cs->nheld -= k;
		memmove(cs->held, cs->held + k, cs->nheld * sizeof(*cs->held));
	}
}

static void gate_ask(uint64_t circle, void *val, void *arg)
{
	struct circle_subs *cs = val;
	bool all = *(bool *)arg;

	if (all || cs->nheld)
		bus_listen_catch_up((int64_t)circle, cs->last);
}

void net_gate_tick(void)
{
	bool all = false;

	u64map_each(&net.circles, gate_ask, &all);
}

static void update_viewers(struct rpc_out *o)
{
	struct circle_subs *cs = u64map_get(&net.circles, (uint64_t)o->circle);

	if (!cs)
		return;
	for (size_t i = 0; i < cs->n; i++)
		if (cs->subs[i]->conn->account == o->account)
			sub_set_viewer(cs->subs[i], &o->viewer);
}

/* Closes the connections of a session, or every one of an account. */
struct close_arg {
	struct rpc_out *o;
};

static void close_matching(uint64_t key, void *val, void *arg)
{
	struct ws_conn *c = val;
	struct rpc_out *o = ((struct close_arg *)arg)->o;

	(void)key;
	if ((o->conn && c->id == o->conn) ||
	    (o->session && c->session == o->session) ||
	    (!o->session && !o->conn && o->account && c->account == o->account))
		net_ws_close(c, o->ws_code, o->reason);
}

static void apply(struct rpc_out *o)
{
	struct ws_conn *c = o->conn ? u64map_get(&net.conns, o->conn) : NULL;

	switch (o->kind) {
	case RPC_OUT_REPLY:
		if (c)
			net_ws_send(c, o->bytes);
		break;
	case RPC_OUT_EVENT:
		fan_out(o);
		break;
	case RPC_OUT_ACCOUNT: {
		struct conn_list *l =
			u64map_get(&net.accounts, (uint64_t)o->account);

		for (size_t i = 0; l && i < l->n; i++)
			net_ws_send(l->conns[i], o->bytes);
		break;
	}
	case RPC_OUT_AUTH:
		if (c) {
			net_account_unlink(c);
			account_link(c, o->account);
			c->session = o->session;
			if (!o->account)
				net_sub_remove_all(c);
		}
		break;
	case RPC_OUT_SUBSCRIBE:
		if (c)
			sub_add(c, o->circle, o->seq, &o->viewer);
		break;
	case RPC_OUT_UNSUBSCRIBE:
		if (c)
			sub_remove(c, o->circle);
		break;
	case RPC_OUT_VIEWER:
		update_viewers(o);
		break;
	case RPC_OUT_CLOSE: {
		struct close_arg ca = {o};

		u64map_each(&net.conns, close_matching, &ca);
		break;
	}
	case RPC_OUT_HTTP:
		net_http_answer(o->http_id, &o->resp);
		break;
	case RPC_OUT_RESUME:
		if (c)
			lws_rx_flow_control(c->wsi, 1);
		break;
	case RPC_OUT_CATCHUP: {
		bool all = true;

		u64map_each(&net.circles, gate_ask, &all);
		break;
	}
	}
}

void net_apply_outputs(void)
{
	struct rpc_out *o = rpc_take_outputs(), *next;

	for (; o; o = next) {
		next = o->next;
		apply(o);
		rpc_out_free(o);
	}
	net_ws_flush();
}
