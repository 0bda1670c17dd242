/*
 * exec.c - the store executor: one thread that owns the writable database
 * connection and runs every call in group-committed batches.
 *
 * The loop thread queues jobs (messages, connection open/close, HTTP
 * requests); pool threads queue continuations of deferred calls. The
 * executor takes everything queued so far, opens one transaction, runs each
 * call in its own savepoint, commits once (one sync for the whole batch with
 * --durability full), and only then hands replies, events and effects to the
 * loop in order. If the commit fails, every call of the batch is answered
 * with an error and its events are dropped: nothing is acknowledged that is
 * not on disk.
 *
 * Connection state that calls depend on (which account and session a
 * connection is signed in as) lives here, on this thread, so that a cookie
 * authentication at upgrade, an auth.login and the calls after it are seen
 * in the order they happened without any locking.
 */
#include "rpc/internal.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/pool.h"
#include "util/u64map.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

json_t *rpc_continue(struct rpc_ctx *ctx, struct rpc_deferral *d,
		     bool *deferred);

enum job_kind { JOB_OPEN, JOB_CLOSE, JOB_MSG, JOB_HTTP, JOB_CONT };

/* An HTTP request and its answer, kept while the call is in flight. */
struct http_call {
	uint64_t http_id;
	struct http_req req; /* strings below are owned copies */
	char *method, *path, *query, *body, *host, *public_url, *token;
	char *peer, *user_agent;
	char *device; /* the device cookie, or NULL */
	struct http_resp resp;
};

/* A deferred call waiting for (or back from) the pool. */
struct cont {
	uint64_t conn;
	char *method;
	json_t *id;               /* owned copy, NULL for notifications */
	struct rpc_batch *batch;  /* when part of a JSON-RPC batch */
	size_t batch_slot;
	struct http_call *http;   /* when an HTTP call */
	struct rpc_deferral d;
};

/* One queued job. */
struct job {
	enum job_kind kind;
	struct job *next;
	uint64_t conn;
	char *text;   /* JOB_MSG: the message; JOB_OPEN: token */
	size_t len;
	char *peer, *user_agent;
	struct http_call *http;
	struct cont *cont;
};

/* What the executor knows about a connection. */
struct conn_state {
	int64_t account, session;
	bool is_admin;
	char *peer, *user_agent;
};

/* The result of one job in the batch, held until COMMIT. */
struct pending {
	uint64_t conn;
	json_t *resp;          /* response object/array, or NULL */
	struct refbuf *raw;    /* pre-serialised result to splice into resp */
	bool final;            /* resp is already the error to send */
	struct rpc_out *outs;  /* events and effects of the calls */
	struct rpc_out *outs_tail;
	struct cont *defer;    /* to submit after commit (list) */
	struct http_call *http;/* HTTP answer to send after commit */
	struct pending *next;
};

static struct {
	struct rpc_exec_opts opts;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job *head, *tail;
	bool stopping, running;
	/* outputs to the loop */
	pthread_mutex_t out_lock;
	struct rpc_out *out_head, *out_tail;
	/* executor-thread-only state */
	struct u64map conns;
	time_t last_tick, last_session_check;
	struct pending *cur_head, *cur_tail; /* pendings of this batch */
	struct job *defer_head;              /* deferrals of this batch */
	struct u64map waiting;               /* conn -> struct waiting, under
						lock: messages queued */
} ex = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.out_lock = PTHREAD_MUTEX_INITIALIZER,
};

/* Messages of one connection waiting in the queue (backpressure). */
struct waiting {
	unsigned count;
	bool paused; /* the transport stopped reading from the connection */
};

/* ---- queues ---- */

static void enqueue(struct job *j)
{
	pthread_mutex_lock(&ex.lock);
	if (ex.tail)
		ex.tail->next = j;
	else
		ex.head = j;
	ex.tail = j;
	pthread_cond_signal(&ex.cond);
	pthread_mutex_unlock(&ex.lock);
}

static void emit(struct rpc_out *o)
{
	pthread_mutex_lock(&ex.out_lock);
	o->next = NULL;
	if (ex.out_tail)
		ex.out_tail->next = o;
	else
		ex.out_head = o;
	ex.out_tail = o;
	pthread_mutex_unlock(&ex.out_lock);
}

struct rpc_out *rpc_take_outputs(void)
{
	struct rpc_out *o;

	pthread_mutex_lock(&ex.out_lock);
	o = ex.out_head;
	ex.out_head = ex.out_tail = NULL;
	pthread_mutex_unlock(&ex.out_lock);
	return o;
}

static void wake(void)
{
	if (ex.opts.wake)
		ex.opts.wake(ex.opts.wake_arg);
}

void rpc_conn_open(uint64_t conn, const char *peer, const char *user_agent,
		   const char *token)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->kind = JOB_OPEN;
	j->conn = conn;
	j->peer = xstrdup(peer ? peer : "");
	j->user_agent = xstrdup(user_agent ? user_agent : "");
	j->text = token ? xstrdup(token) : NULL;
	enqueue(j);
}

void rpc_conn_close(uint64_t conn)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->kind = JOB_CLOSE;
	j->conn = conn;
	enqueue(j);
}

unsigned rpc_submit_message(uint64_t conn, const char *msg, size_t len)
{
	struct job *j = xcalloc(1, sizeof(*j));
	struct waiting *w;
	unsigned n;

	j->kind = JOB_MSG;
	j->conn = conn;
	j->text = xstrndup(msg, len);
	j->len = len;
	pthread_mutex_lock(&ex.lock);
	w = u64map_get(&ex.waiting, conn);
	if (!w) {
		w = xcalloc(1, sizeof(*w));
		u64map_put(&ex.waiting, conn, w);
	}
	n = ++w->count;
	if (n >= RPC_PAUSE_AT)
		w->paused = true;
	if (ex.tail)
		ex.tail->next = j;
	else
		ex.head = j;
	ex.tail = j;
	pthread_cond_signal(&ex.cond);
	pthread_mutex_unlock(&ex.lock);
	return n;
}

static char *dup_or_empty(const char *s)
{
	return xstrdup(s ? s : "");
}

void rpc_submit_http(uint64_t http_id, const struct http_req *req,
		     const char *peer, const char *user_agent)
{
	struct job *j = xcalloc(1, sizeof(*j));
	struct http_call *h = xcalloc(1, sizeof(*h));

	h->http_id = http_id;
	h->method = dup_or_empty(req->method);
	h->path = dup_or_empty(req->path);
	h->query = dup_or_empty(req->query);
	h->body = xstrndup(req->body ? req->body : "", req->body_len);
	h->host = dup_or_empty(req->host);
	h->public_url = dup_or_empty(req->public_url);
	h->token = req->token ? xstrdup(req->token) : NULL;
	h->peer = dup_or_empty(peer);
	h->user_agent = dup_or_empty(user_agent);
	h->req.method = h->method;
	h->req.path = h->path;
	h->req.query = h->query;
	h->req.body = h->body;
	h->req.body_len = req->body_len;
	h->req.host = h->host;
	h->req.tls = req->tls;
	h->req.public_url = h->public_url;
	h->req.token = h->token;
	h->device = req->device ? xstrdup(req->device) : NULL;
	h->req.device = h->device;
	j->kind = JOB_HTTP;
	j->http = h;
	enqueue(j);
}

static void http_call_free(struct http_call *h)
{
	if (!h)
		return;
	free(h->method);
	free(h->path);
	free(h->query);
	free(h->body);
	free(h->host);
	free(h->public_url);
	if (h->token) {
		memset(h->token, 0, strlen(h->token));
		free(h->token);
	}
	free(h->peer);
	free(h->user_agent);
	free(h->device);
	free(h->resp.body);
	free(h->resp.content_type);
	free(h->resp.set_cookie);
	free(h);
}

static void cont_free(struct cont *c)
{
	if (!c)
		return;
	if (c->d.free_arg)
		c->d.free_arg(c->d.arg);
	free(c->method);
	json_decref(c->id);
	free(c);
}

/* ---- pool hand-off ---- */

static void pool_work(void *arg)
{
	struct cont *c = arg;

	if (c->d.work)
		c->d.work(c->d.arg);
}

static void pool_done(void *arg)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->kind = JOB_CONT;
	j->cont = arg;
	enqueue(j);
}

/* ---- contexts ---- */

static struct conn_state *conn_get(uint64_t conn)
{
	return conn ? u64map_get(&ex.conns, conn) : NULL;
}

static void ctx_init(struct rpc_ctx *ctx, uint64_t conn, time_t now)
{
	struct conn_state *cs = conn_get(conn);

	memset(ctx, 0, sizeof(*ctx));
	ctx->db = ex.opts.db;
	ctx->conn = conn;
	ctx->now = (int64_t)now;
	if (cs) {
		ctx->account = cs->account;
		ctx->session = cs->session;
		ctx->is_admin = cs->is_admin;
		ctx->peer = cs->peer;
		ctx->user_agent = cs->user_agent;
	}
}

static struct pending *pending_new(uint64_t conn)
{
	struct pending *p = xcalloc(1, sizeof(*p));

	p->conn = conn;
	if (ex.cur_tail)
		ex.cur_tail->next = p;
	else
		ex.cur_head = p;
	ex.cur_tail = p;
	return p;
}

/* Moves a finished call's outputs into the pending entry and applies an
 * authentication change to the connection table. */
static void collect(struct pending *p, struct rpc_ctx *ctx)
{
	if (ctx->auth_changed && ctx->conn) {
		struct conn_state *cs = conn_get(ctx->conn);
		struct rpc_out *o = xcalloc(1, sizeof(*o));

		if (cs) {
			cs->account = ctx->new_account;
			cs->session = ctx->new_session;
			cs->is_admin = ctx->new_admin;
		}
		o->kind = RPC_OUT_AUTH;
		o->conn = ctx->conn;
		o->account = ctx->new_account;
		o->session = ctx->new_session;
		o->is_admin = ctx->new_admin;
		rpc_ctx_push(ctx, o);
	}
	if (ctx->outs) {
		if (p->outs_tail)
			p->outs_tail->next = ctx->outs;
		else
			p->outs = ctx->outs;
		p->outs_tail = ctx->outs_tail;
	}
	ctx->outs = ctx->outs_tail = NULL;
	rpc_ctx_clear_error(ctx);
}

/* Queues a deferral of the call in ctx for after the commit. */
static void take_deferral(struct rpc_ctx *ctx, struct rpc_batch *batch,
			  size_t slot, struct http_call *http)
{
	struct cont *c = xcalloc(1, sizeof(*c));

	c->conn = ctx->conn;
	c->method = xstrdup(rpc_method_name(ctx));
	c->id = ctx->id ? json_deep_copy(ctx->id) : NULL;
	c->batch = batch;
	c->batch_slot = slot;
	c->http = http;
	c->d = ctx->defer;
	memset(&ctx->defer, 0, sizeof(ctx->defer));
	ctx->deferred = false;
	{
		struct job *j = xcalloc(1, sizeof(*j));

		j->kind = JOB_CONT;
		j->cont = c;
		j->next = ex.defer_head;
		ex.defer_head = j;
	}
}

/* ---- running jobs ---- */

static void run_message(struct job *j, time_t now)
{
	struct pending *p = pending_new(j->conn);
	struct rpc_ctx ctx;
	json_error_t jerr;
	json_t *msg;
	bool deferred;

	ctx_init(&ctx, j->conn, now);
	if (rpc_json_depth(j->text, j->len, rpc_config.max_depth) >
	    rpc_config.max_depth) {
		rpc_fail(&ctx, RPC_E_INVALID_REQUEST, "JSON nested too deeply");
		p->resp = json_pack("{s:s,s:o,s:n}", "jsonrpc", "2.0", "error",
				    rpc_ctx_error_json(&ctx, 0), "id");
		rpc_metrics_count("(invalid)", RPC_E_INVALID_REQUEST, 0);
		rpc_ctx_clear_error(&ctx);
		return;
	}
	/* any JSON value (a scalar is then -32600, not -32700) and NUL in
	 * strings (then -32602 naming the field, rpc_dispatch): issue 14 */
	msg = json_loadb(j->text, j->len,
			 JSON_REJECT_DUPLICATES | JSON_DECODE_ANY |
				 JSON_ALLOW_NUL,
			 &jerr);
	if (!msg) {
		rpc_fail(&ctx, RPC_E_PARSE, "Parse error");
		p->resp = json_pack("{s:s,s:o,s:n}", "jsonrpc", "2.0", "error",
				    rpc_ctx_error_json(&ctx, 0), "id");
		rpc_metrics_count("(invalid)", RPC_E_PARSE, 0);
		rpc_ctx_clear_error(&ctx);
		return;
	}
	if (json_is_array(msg)) {
		size_t n = json_array_size(msg), i;
		struct rpc_batch *batch;

		if (n == 0 || n > RPC_MAX_BATCH) {
			rpc_fail(&ctx, RPC_E_INVALID_REQUEST,
				 n ? "batch too large" : NULL);
			p->resp = json_pack("{s:s,s:o,s:n}", "jsonrpc", "2.0",
					    "error",
					    rpc_ctx_error_json(&ctx, 0), "id");
			rpc_ctx_clear_error(&ctx);
			json_decref(msg);
			return;
		}
		batch = xcalloc(1, sizeof(*batch));
		batch->replies = json_array();
		batch->conn = j->conn;
		for (i = 0; i < n; i++) {
			json_t *r;

			ctx_init(&ctx, j->conn, now);
			r = rpc_dispatch(&ctx, json_array_get(msg, i),
					 &deferred);
			if (r && ctx.raw_result)
				json_object_set_new(r, "result",
						    rpc_take_raw_json(&ctx));
			if (deferred) {
				json_array_append_new(batch->replies,
						      json_null());
				batch->pending++;
				take_deferral(&ctx, batch,
					      json_array_size(batch->replies) -
						      1,
					      NULL);
			} else if (r) {
				json_array_append_new(batch->replies, r);
			}
			collect(p, &ctx);
		}
		if (batch->pending == 0) {
			if (json_array_size(batch->replies))
				p->resp = json_incref(batch->replies);
			json_decref(batch->replies);
			free(batch);
		}
		json_decref(msg);
		return;
	}
	p->resp = rpc_dispatch(&ctx, msg, &deferred);
	if (ctx.raw_result) {
		p->raw = ctx.raw_result;
		ctx.raw_result = NULL;
	}
	if (deferred)
		take_deferral(&ctx, NULL, 0, NULL);
	collect(p, &ctx);
	json_decref(msg);
}

static void run_open(struct job *j, time_t now)
{
	struct conn_state *cs = xcalloc(1, sizeof(*cs));
	struct pending *p;
	struct rpc_ctx ctx;

	cs->peer = j->peer;
	cs->user_agent = j->user_agent;
	j->peer = j->user_agent = NULL;
	u64map_put(&ex.conns, j->conn, cs);
	if (!j->text || !rpc_hooks.authenticate)
		return;
	ctx_init(&ctx, j->conn, now);
	p = pending_new(j->conn);
	if (store_savepoint(ctx.db) == 0) {
		int64_t account = 0, session = 0;
		bool admin = false;

		if (rpc_hooks.authenticate(ctx.db, j->text, &account, &session,
					   &admin, cs->peer,
					   cs->user_agent) == 0 &&
		    account) {
			store_release(ctx.db);
			rpc_set_auth(&ctx, account, session, admin);
		} else {
			store_rollback_to(ctx.db);
		}
	}
	collect(p, &ctx);
}

static void run_close(struct job *j, time_t now)
{
	struct conn_state *cs = u64map_get(&ex.conns, j->conn);
	struct rpc_ctx ctx;

	if (rpc_hooks.conn_closed && cs) {
		struct pending *p = pending_new(0);

		ctx_init(&ctx, j->conn, now);
		if (store_savepoint(ctx.db) == 0) {
			rpc_hooks.conn_closed(&ctx);
			store_release(ctx.db);
		}
		ctx.conn = 0;
		collect(p, &ctx);
	}
	cs = u64map_del(&ex.conns, j->conn);
	if (cs) {
		free(cs->peer);
		free(cs->user_agent);
		free(cs);
	}
}

static void run_http(struct job *j, time_t now)
{
	struct http_call *h = j->http;
	struct pending *p = pending_new(0);
	http_handler_fn fn = rpc_http_find(h->method, h->path);
	struct rpc_ctx ctx;
	int rc;

	j->http = NULL;
	ctx_init(&ctx, 0, now);
	ctx.peer = h->peer;
	ctx.user_agent = h->user_agent;
	ctx.http_req = &h->req;
	ctx.http_resp = &h->resp;
	ctx.http_id = h->http_id;
	ctx.method = h->path;
	h->resp.status = 500;
	if (!fn) {
		http_resp_json(&h->resp, 404,
			       json_pack("{s:s}", "error", "not found"));
		p->http = h;
		return;
	}
	if (store_savepoint(ctx.db)) {
		http_resp_json(&h->resp, 503,
			       json_pack("{s:s}", "error", "database busy"));
		p->http = h;
		return;
	}
	if (h->token && rpc_hooks.authenticate) {
		int64_t account = 0, session = 0;
		bool admin = false;

		if (rpc_hooks.authenticate(ctx.db, h->token, &account,
					   &session, &admin, h->peer,
					   h->user_agent) == 0) {
			ctx.account = account;
			ctx.session = session;
			ctx.is_admin = admin;
		}
	}
	rc = fn(&ctx, &h->req, &h->resp);
	if (rc == RPC_DEFERRED && ctx.deferred) {
		store_release(ctx.db);
		take_deferral(&ctx, NULL, 0, h);
		collect(p, &ctx);
		return;
	}
	if (rc) {
		store_rollback_to(ctx.db);
		rpc_ctx_drop(&ctx);
		if (h->resp.status < 400) {
			free(h->resp.body);
			h->resp.body = NULL;
			http_resp_json(&h->resp, 500,
				       json_pack("{s:s}", "error",
						 "internal error"));
		}
	} else if (store_release(ctx.db)) {
		store_rollback_to(ctx.db);
		rpc_ctx_drop(&ctx);
		http_resp_json(&h->resp, 503,
			       json_pack("{s:s}", "error", "database error"));
	}
	ctx.auth_changed = false;
	collect(p, &ctx);
	p->http = h;
}

static void finish_batch_slot(struct pending *p, struct cont *c, json_t *r)
{
	struct rpc_batch *b = c->batch;

	json_array_set_new(b->replies, c->batch_slot, r ? r : json_null());
	if (--b->pending == 0) {
		/* drop the null slots of notifications */
		json_t *out = json_array();
		size_t i;
		json_t *v;

		json_array_foreach(b->replies, i, v)
			if (!json_is_null(v))
				json_array_append(out, v);
		if (json_array_size(out))
			p->resp = out;
		else
			json_decref(out);
		json_decref(b->replies);
		free(b);
	}
}

static void run_cont(struct job *j, time_t now)
{
	struct cont *c = j->cont;
	struct pending *p = pending_new(c->conn);
	struct rpc_ctx ctx;
	struct rpc_deferral d = c->d;
	bool deferred;
	json_t *r;

	j->cont = NULL;
	if (c->conn && !conn_get(c->conn)) {
		/* the connection went away; still finish the call so that
		 * its effects (a rehash, say) are not half done */
	}
	ctx_init(&ctx, c->conn, now);
	ctx.method = c->method;
	ctx.id = c->id;
	if (c->http) {
		ctx.peer = c->http->peer;
		ctx.user_agent = c->http->user_agent;
		ctx.http_req = &c->http->req;
		ctx.http_resp = &c->http->resp;
		ctx.http_id = c->http->http_id;
	}
	memset(&c->d, 0, sizeof(c->d));
	r = rpc_continue(&ctx, &d, &deferred);
	if (d.free_arg && !(deferred && ctx.defer.arg == d.arg))
		d.free_arg(d.arg);
	if (deferred) {
		take_deferral(&ctx, c->batch, c->batch_slot, c->http);
		collect(p, &ctx);
		c->http = NULL;
		c->batch = NULL;
		cont_free(c);
		return;
	}
	if (c->http) {
		if (ctx.err_code && c->http->resp.status < 400)
			http_resp_json(&c->http->resp, 500,
				       json_pack("{s:s}", "error",
						 "internal error"));
		p->http = c->http;
		c->http = NULL;
		json_decref(r);
	} else if (c->batch) {
		if (r && ctx.raw_result)
			json_object_set_new(r, "result",
					    rpc_take_raw_json(&ctx));
		finish_batch_slot(p, c, r);
	} else {
		p->resp = r;
		p->raw = ctx.raw_result;
		ctx.raw_result = NULL;
	}
	refbuf_unref(ctx.raw_result);
	collect(p, &ctx);
	cont_free(c);
}

static void run_tick(time_t now)
{
	struct pending *p;
	struct rpc_ctx ctx;

	if (!rpc_hooks.tick)
		return;
	p = pending_new(0);
	ctx_init(&ctx, 0, now);
	ctx.method = "(tick)";
	if (store_savepoint(ctx.db) == 0) {
		rpc_hooks.tick(&ctx);
		store_release(ctx.db);
	}
	collect(p, &ctx);
}

/* Session re-check: an expired, revoked or banned session is cut off. */
struct check_arg {
	time_t now;
	struct pending *p;
	uint64_t slot; /* connections whose id % SESSION_CHECK_SLOTS match */
};

/* Each second a thirtieth of the connections is re-checked: every session
 * is looked at every 30 s, and 10,000 of them never cost one batch 10,000
 * queries (that showed as a 2 s tail in the benchmark's p99). */
#define SESSION_CHECK_SLOTS 30

static void check_conn(uint64_t key, void *val, void *arg)
{
	struct conn_state *cs = val;
	struct check_arg *ca = arg;
	struct rpc_out *o;

	if (key % SESSION_CHECK_SLOTS != ca->slot || !cs->session ||
	    rpc_hooks.session_alive(ex.opts.db, cs->session))
		return;
	o = xcalloc(1, sizeof(*o));
	o->kind = RPC_OUT_CLOSE;
	o->conn = key;
	o->session = cs->session;
	o->ws_code = 4001;
	snprintf(o->reason, sizeof(o->reason), "session ended");
	if (ca->p->outs_tail)
		ca->p->outs_tail->next = o;
	else
		ca->p->outs = o;
	ca->p->outs_tail = o;
}

static void run_session_check(time_t now)
{
	struct check_arg ca = {now, NULL,
			       (uint64_t)now % SESSION_CHECK_SLOTS};

	if (!rpc_hooks.session_alive)
		return;
	ca.p = pending_new(0);
	u64map_each(&ex.conns, check_conn, &ca);
}

/* After commit: effects that change this thread's connection table. */
struct clear_arg {
	int64_t account, session;
};

static void clear_conn(uint64_t key, void *val, void *arg)
{
	struct conn_state *cs = val;
	struct clear_arg *ca = arg;

	(void)key;
	if ((ca->session && cs->session == ca->session) ||
	    (!ca->session && ca->account && cs->account == ca->account)) {
		cs->account = cs->session = 0;
		cs->is_admin = false;
	}
}

static void apply_local_effects(struct rpc_out *o)
{
	for (; o; o = o->next) {
		if (o->kind == RPC_OUT_CLOSE) {
			struct clear_arg ca = {o->account, o->session};

			u64map_each(&ex.conns, clear_conn, &ca);
		}
	}
}

static json_t *error_for(json_t *resp, const char *message)
{
	json_t *err = json_pack("{s:i,s:s}", "code", RPC_E_INTERNAL, "message",
				message);
	json_t *id = resp ? json_object_get(resp, "id") : NULL;
	json_t *r = json_pack("{s:s,s:o,s:O}", "jsonrpc", "2.0", "error", err,
			      "id", id ? id : json_null());

	return r;
}

static json_t *commit_failed_error(json_t *resp)
{
	return error_for(resp, "could not save; nothing was changed");
}

static void deliver(struct pending *p, bool committed)
{
	struct rpc_out *o, *next;

	if (!committed && !p->final) {
		/* the calls' effects never happened: answer with errors */
		for (o = p->outs; o; o = next) {
			next = o->next;
			rpc_out_free(o);
		}
		p->outs = NULL;
		if (p->resp && json_is_array(p->resp)) {
			size_t i;
			json_t *v, *arr = json_array();

			json_array_foreach(p->resp, i, v)
				json_array_append_new(arr,
						      commit_failed_error(v));
			json_decref(p->resp);
			p->resp = arr;
		} else if (p->resp) {
			json_t *r = commit_failed_error(p->resp);

			json_decref(p->resp);
			p->resp = r;
		}
		if (p->http) {
			free(p->http->resp.set_cookie);
			p->http->resp.set_cookie = NULL;
			http_resp_json(&p->http->resp, 503,
				       json_pack("{s:s}", "error",
						 "could not save"));
		}
	}
	if (p->resp && p->conn) {
		o = xcalloc(1, sizeof(*o));
		o->kind = RPC_OUT_REPLY;
		o->conn = p->conn;
		if (p->raw && committed &&
		    json_object_get(p->resp, "result"))
			o->bytes = rpc_splice_raw(p->raw,
						  json_object_get(p->resp, "id"));
		else
			o->bytes = rpc_dump(p->resp);
		emit(o);
	}
	refbuf_unref(p->raw);
	json_decref(p->resp);
	apply_local_effects(p->outs);
	for (o = p->outs; o; o = next) {
		next = o->next;
		emit(o);
	}
	if (p->http) {
		o = xcalloc(1, sizeof(*o));
		o->kind = RPC_OUT_HTTP;
		o->http_id = p->http->http_id;
		o->resp = p->http->resp;
		memset(&p->http->resp, 0, sizeof(p->http->resp));
		emit(o);
		http_call_free(p->http);
	}
}

static void job_free(struct job *j)
{
	/* a message may carry a password (auth.login): wipe our copy */
	if (j->text)
		explicit_bzero(j->text, j->len ? j->len : strlen(j->text));
	free(j->text);
	free(j->peer);
	free(j->user_agent);
	http_call_free(j->http);
	cont_free(j->cont);
	free(j);
}

/* The answer to a message when no transaction could be opened: an error
 * for each request, with its id, so the client knows which calls failed. */
#define UNAVAILABLE "the database is unavailable"

static json_t *unavailable_reply(const char *text, size_t len)
{
	json_t *msg = json_loadb(text, len, 0, NULL), *out = NULL, *v;
	size_t i;

	if (json_is_array(msg)) {
		out = json_array();
		json_array_foreach(msg, i, v)
			if (json_object_get(v, "id"))
				json_array_append_new(
					out, error_for(v, UNAVAILABLE));
		if (!json_array_size(out)) {
			json_decref(out);
			out = NULL;
		}
	} else if (json_is_object(msg) && json_object_get(msg, "id")) {
		out = error_for(msg, UNAVAILABLE);
	} else if (!msg) {
		out = error_for(NULL, UNAVAILABLE);
	}
	json_decref(msg);
	return out;
}

static void run_batch(struct job *jobs, time_t now)
{
	struct store *db = ex.opts.db;
	bool committed = false, in_tx = false;
	struct job *j, *next;
	struct pending *p, *pnext;
	int rc = 0;

	/* BEGIN IMMEDIATE waits up to the busy timeout (5 s) for another
	 * process's write lock; past it, this batch is answered with errors
	 * and the next batch tries again */
	rc = store_begin(db);
	if (rc)
		log_error("exec", "cannot begin a transaction: %s (%s)",
			  store_errmsg(db), store_last_error_kind(db));
	else
		in_tx = true;
	for (j = jobs; j; j = next) {
		next = j->next;
		if (!in_tx && j->kind != JOB_OPEN && j->kind != JOB_CLOSE) {
			/* no transaction: answer every call with an error */
			struct pending *pp = pending_new(j->conn);

			if (j->kind == JOB_MSG) {
				pp->resp = unavailable_reply(j->text, j->len);
				pp->final = true;
			} else if (j->kind == JOB_HTTP) {
				pp->http = j->http;
				pp->final = true;
				j->http = NULL;
				http_resp_json(&pp->http->resp, 503,
					       json_pack("{s:s}", "error",
							 "database unavailable"));
			}
			job_free(j);
			continue;
		}
		switch (j->kind) {
		case JOB_OPEN:
			if (in_tx)
				run_open(j, now);
			else
				u64map_put(&ex.conns, j->conn,
					   xcalloc(1, sizeof(struct conn_state)));
			break;
		case JOB_CLOSE:
			run_close(j, now);
			break;
		case JOB_MSG:
			run_message(j, now);
			break;
		case JOB_HTTP:
			run_http(j, now);
			break;
		case JOB_CONT:
			run_cont(j, now);
			break;
		}
		job_free(j);
	}
	if (in_tx && now - ex.last_tick >= 1) {
		ex.last_tick = now;
		run_tick(now);
	}
	if (in_tx && now != ex.last_session_check) {
		ex.last_session_check = now;
		run_session_check(now);
	}
	if (in_tx) {
		rc = store_commit(db);
		if (rc) {
			log_error("exec", "commit failed: %s (%s)",
				  store_errmsg(db), store_last_error_kind(db));
			store_rollback(db);
		} else {
			committed = true;
		}
	}
	for (p = ex.cur_head; p; p = pnext) {
		pnext = p->next;
		deliver(p, committed);
		free(p);
	}
	ex.cur_head = ex.cur_tail = NULL;
	/* deferred work starts only after its first half is on disk */
	{
		struct job *dj = ex.defer_head, *dnext;

		ex.defer_head = NULL;
		for (; dj; dj = dnext) {
			dnext = dj->next;
			if (committed) {
				pool_submit(ex.opts.pool, pool_work, pool_done,
					    dj->cont);
			} else {
				cont_free(dj->cont);
			}
			free(dj);
		}
	}
	wake();
}

/* Per-connection count of this batch, with a flag once the connection
 * must wait for the next batch (its later jobs keep their order). */
#define TAKE_BLOCKED ((uintptr_t)1 << 62)

/*
 * Takes the next batch from the queue (ex.lock held): at most max_batch
 * jobs, at most RPC_FAIR_SHARE messages of any one connection; jobs left
 * behind keep their order. Emits RPC_OUT_RESUME for connections whose
 * waiting messages fell to RPC_RESUME_AT.
 */
static struct job *take_jobs(void)
{
	struct job *j, *next, *head = NULL, *tail = NULL, *kh = NULL,
				*kt = NULL;
	struct u64map taken = U64MAP_INIT;
	int n = 0;

	for (j = ex.head; j; j = next) {
		uintptr_t c = 0;
		bool take = n < ex.opts.max_batch;

		next = j->next;
		j->next = NULL;
		if (take && j->conn && j->kind != JOB_CONT) {
			c = (uintptr_t)u64map_get(&taken, j->conn);
			if ((c & TAKE_BLOCKED) ||
			    (j->kind == JOB_MSG && c >= RPC_FAIR_SHARE)) {
				take = false;
				u64map_put(&taken, j->conn,
					   (void *)(c | TAKE_BLOCKED));
			} else if (j->kind == JOB_MSG) {
				u64map_put(&taken, j->conn, (void *)(c + 1));
			}
		}
		if (!take) {
			if (kt)
				kt->next = j;
			else
				kh = j;
			kt = j;
			continue;
		}
		if (j->kind == JOB_MSG) {
			struct waiting *w = u64map_get(&ex.waiting, j->conn);

			if (w && w->count)
				w->count--;
			if (w && w->paused && w->count <= RPC_RESUME_AT) {
				struct rpc_out *o = xcalloc(1, sizeof(*o));

				w->paused = false;
				o->kind = RPC_OUT_RESUME;
				o->conn = j->conn;
				emit(o);
			}
			if (w && !w->count && !w->paused)
				free(u64map_del(&ex.waiting, j->conn));
		}
		if (tail)
			tail->next = j;
		else
			head = j;
		tail = j;
		n++;
	}
	ex.head = kh;
	ex.tail = kt;
	u64map_free(&taken);
	return head;
}

static void *exec_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct job *jobs;
		struct timespec ts;

		pthread_mutex_lock(&ex.lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		while (!ex.head && !ex.stopping)
			if (pthread_cond_timedwait(&ex.cond, &ex.lock, &ts))
				break;
		if (!ex.head && ex.stopping) {
			pthread_mutex_unlock(&ex.lock);
			break;
		}
		jobs = take_jobs();
		pthread_mutex_unlock(&ex.lock);
		run_batch(jobs, time(NULL));
	}
	return NULL;
}

int rpc_exec_start(const struct rpc_exec_opts *opts)
{
	ex.opts = *opts;
	if (ex.opts.max_batch <= 0)
		ex.opts.max_batch = 256;
	ex.stopping = false;
	ex.last_tick = ex.last_session_check = time(NULL);
	if (pthread_create(&ex.thread, NULL, exec_main, NULL))
		return SCH_EIO;
	ex.running = true;
	return 0;
}

static void free_conn(uint64_t key, void *val, void *arg)
{
	struct conn_state *cs = val;

	(void)key;
	(void)arg;
	free(cs->peer);
	free(cs->user_agent);
	free(cs);
}

static void free_waiting(uint64_t key, void *val, void *arg)
{
	(void)key;
	(void)arg;
	free(val);
}

void rpc_exec_stop(void)
{
	struct rpc_out *o, *next;

	if (!ex.running)
		return;
	pthread_mutex_lock(&ex.lock);
	ex.stopping = true;
	pthread_cond_signal(&ex.cond);
	pthread_mutex_unlock(&ex.lock);
	pthread_join(ex.thread, NULL);
	ex.running = false;
	u64map_each(&ex.conns, free_conn, NULL);
	u64map_free(&ex.conns);
	u64map_each(&ex.waiting, free_waiting, NULL);
	u64map_free(&ex.waiting);
	for (o = rpc_take_outputs(); o; o = next) {
		next = o->next;
		rpc_out_free(o);
	}
	store_close(ex.opts.db);
	ex.opts.db = NULL;
}
