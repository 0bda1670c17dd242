/*
 * fanout.c - applies the executor's outputs on the loop thread: replies,
 * events to subscribers, account events, subscriptions, viewer updates and
 * closes.
 *
 * Visibility is decided per subscriber by vis_check() on the viewer state
 * cached in the subscription: no database query per recipient. Each event
 * arrives already serialised (full, and redacted when it can be hidden);
 * subscribers get references to those same bytes.
 */
#include "net/internal.h"
#include "util/log.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* The subscribers of one circle. */
struct circle_subs {
	struct net_sub **subs;
	size_t n, cap;
};

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

static void sub_add(struct ws_conn *c, int64_t circle,
		    const struct vis_viewer *v)
{
	struct circle_subs *cs = u64map_get(&net.circles, (uint64_t)circle);
	struct net_sub *s;

	for (int i = 0; i < c->nsubs; i++) {
		if (c->subs[i]->circle == circle) {
			sub_set_viewer(c->subs[i],
				       v); /* re-subscribe: refresh */
			return;
		}
	}
	if (!cs) {
		cs = xcalloc(1, sizeof(*cs));
		u64map_put(&net.circles, (uint64_t)circle, cs);
	}
	s = xcalloc(1, sizeof(*s));
	s->conn = c;
	s->circle = circle;
	s->viewer = viewer_copy(v);
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
		free(cs->subs);
		free(cs);
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

static void fan_out(struct rpc_out *o)
{
	struct circle_subs *cs = u64map_get(&net.circles, (uint64_t)o->circle);

	if (!cs)
		return;
	for (size_t i = 0; i < cs->n; i++) {
		struct net_sub *s = cs->subs[i];

		switch (vis_check(s->viewer, &o->item)) {
		case VIS_FULL:
			net_ws_send(s->conn, o->bytes);
			break;
		case VIS_REDACTED:
			net_ws_send(s->conn,
				    o->redacted ? o->redacted : o->bytes);
			break;
		case VIS_NONE:
			break;
		}
	}
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
			sub_add(c, o->circle, &o->viewer);
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
