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
 * The front stage and the read pool. Every message of a connection first
 * goes to one of a few front threads (never more than one at a time per
 * connection, so its messages keep their order), which parses it off both
 * the loop and the executor. A message whose calls are all reads (RPC_READ
 * at registration) runs right there, on the thread's own read-only
 * connection (store_open_reader: a WAL snapshot that never waits for a
 * write batch), and its reply is serialised there too; every other message
 * goes to the executor, already parsed. Read-your-writes: a connection
 * counts the jobs it has in the executor's hands (in_exec: messages, the
 * cookie authentication of its upgrade, deferred continuations); while that
 * is not zero, its reads go to the executor too, behind its own writes, so a
 * read always sees every earlier call of its connection and replies leave
 * in the order the calls came. Reads never wait for other connections'
 * writes. Both paths run the same dispatcher (rpc_dispatch) and so the same
 * permission and visibility code.
 *
 * Connection state that calls depend on (which account and session a
 * connection is signed in as) lives in one table under fx.lock; the
 * executor changes it only after a call that signed in or out, and a read
 * of that connection cannot run before that call's batch is delivered.
 *
 * Lock order: fx.lock, then ex.lock, then ex.out_lock.
 */
#include "exec/later.h"
#include "rpc/internal.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/intern.h"
#include "util/log.h"
#include "util/pool.h"
#include "util/queue.h"
#include "util/u64map.h"
#include "util/thread_name.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

json_t *rpc_continue(struct rpc_ctx *ctx, struct rpc_deferral *d,
		     bool *deferred);
static json_t *error_for(json_t *resp, const char *message);

enum job_kind { JOB_OPEN, JOB_CLOSE, JOB_MSG, JOB_HTTP, JOB_CONT };

/* An HTTP request and its answer, kept while the call is in flight. */
struct http_call {
	uint64_t http_id;
	struct http_req req; /* strings below are owned copies */
	char *method, *path, *query, *body, *host, *public_url, *token;
	char *peer, *user_agent;
	char *device; /* the device cookie, or NULL */
	char *accept, *prefer, *if_match, *content_type;
	struct http_resp resp;
};

/* A deferred call waiting for (or back from) the pool. */
struct cont {
	uint64_t conn;
	char *method;
	json_t *id;		 /* owned copy, NULL for notifications */
	struct rpc_batch *batch; /* when part of a JSON-RPC batch */
	size_t batch_slot;
	struct http_call *http; /* when an HTTP call */
	struct rpc_deferral d;
};

/* One queued job. */
struct job {
	enum job_kind kind;
	struct job *next;
	uint64_t conn;
	char *text;	 /* JOB_OPEN: token */
	json_t *msg;	 /* JOB_MSG: the parsed message (NULL: perr) */
	json_t *prep;	 /* JOB_MSG: what rpc_prepare functions made: the
			  * value, or for a batch an array of them (null
			  * entries for calls without one); NULL: nothing */
	int perr;	 /* JOB_MSG: RPC_E_PARSE or RPC_E_INVALID_REQUEST */
	unsigned ncalls; /* JOB_MSG: requests in the message (fair share) */
	struct http_call *http;
	struct cont *cont;
};

/* A message waiting for the front stage. */
struct msg {
	struct msg *next;
	char *text;
	size_t len;
};

/* What the server knows about a connection (fx.lock). */
struct conn_state {
	uint64_t id;
	int64_t account, session;
	bool is_admin;
	bool active;	  /* on the ready list or being fronted */
	bool closing;	  /* rpc_conn_close came: JOB_CLOSE once drained */
	bool paused;	  /* the transport stopped reading from it */
	unsigned waiting; /* messages submitted and not yet started */
	unsigned in_exec; /* jobs of it in the executor's hands */
	const char *peer, *user_agent; /* shared copies (util/intern.h) */
	struct msg *mq_head, *mq_tail; /* not yet fronted */
	struct conn_state *ready_next;
};

/* The result of one job in the batch, held until COMMIT. */
struct pending {
	uint64_t conn;
	json_t *resp;	      /* response object/array, or NULL */
	struct refbuf *raw;   /* pre-serialised result to splice into resp */
	bool final;	      /* resp is already the error to send */
	struct rpc_out *outs; /* events and effects of the calls */
	struct rpc_out *outs_tail;
	struct cont *defer;	/* to submit after commit (list) */
	struct http_call *http; /* HTTP answer to send after commit */
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
	unsigned queued; /* jobs in head..tail */
	/* executor-thread-only state */
	time_t last_tick, last_session_check;
	struct pending *cur_head, *cur_tail; /* pendings of this batch */
	struct job *defer_head;		     /* deferrals of this batch */
	uint64_t *done;			     /* conns of this batch's jobs */
	size_t ndone, done_cap;
} ex = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.out_lock = PTHREAD_MUTEX_INITIALIZER,
};

/* The checkpointer: WAL checkpoints on a connection of its own, so that
 * copying the log into the database (and its fsync) never runs inside a
 * commit on the executor (SQLite's automatic checkpoint, turned off on the
 * executor's connection when this thread runs). */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	struct store *db; /* NULL: not running */
	bool stopping;
	unsigned long commits; /* batches committed since the last one */
} ck = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

/* The front stage: connections, their message queues, the read pool. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct u64map conns; /* conn id -> struct conn_state */
	struct conn_state *ready_head, *ready_tail;
	bool stopping;
	int nthreads;
	pthread_t threads[RPC_READERS_MAX];
	struct store *dbs[RPC_READERS_MAX]; /* NULL: no read pool */
	atomic_ullong pool_calls, exec_calls;
	atomic_ullong batches, busy_ns, commit_ns;
} fx = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

/* ---- queues ---- */

static void enqueue(struct job *j)
{
	pthread_mutex_lock(&ex.lock);
	QUEUE_APPEND(ex.head, ex.tail, j, j, next);
	ex.queued++;
	pthread_cond_signal(&ex.cond);
	pthread_mutex_unlock(&ex.lock);
}

unsigned rpc_exec_queued(void)
{
	unsigned n;

	pthread_mutex_lock(&ex.lock);
	n = ex.queued;
	pthread_mutex_unlock(&ex.lock);
	return n;
}

void rpc_exec_counts(uint64_t *pool_calls, uint64_t *exec_calls)
{
	*pool_calls = atomic_load(&fx.pool_calls);
	*exec_calls = atomic_load(&fx.exec_calls);
}

void rpc_exec_times(struct rpc_exec_times *t)
{
	t->batches = atomic_load(&fx.batches);
	t->busy_ns = atomic_load(&fx.busy_ns);
	t->commit_ns = atomic_load(&fx.commit_ns);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* fx.lock held */
static struct conn_state *conn_find(uint64_t conn)
{
	return conn ? u64map_get(&fx.conns, conn) : NULL;
}

static void conn_free(struct conn_state *cs)
{
	struct msg *m, *next;

	for (m = cs->mq_head; m; m = next) {
		next = m->next;
		explicit_bzero(m->text, m->len);
		free(m->text);
		free(m);
	}
	intern_put(cs->peer);
	intern_put(cs->user_agent);
	free(cs);
}

/* One more (or one fewer) job of conn in the executor's hands. */
static void exec_hold(uint64_t conn)
{
	struct conn_state *cs;

	if (!conn)
		return;
	pthread_mutex_lock(&fx.lock);
	cs = conn_find(conn);
	if (cs)
		cs->in_exec++;
	pthread_mutex_unlock(&fx.lock);
}

/* Remembers that a job of conn ran in this batch: its hold ends after the
 * batch's replies are handed to the loop. */
static void exec_done_later(uint64_t conn)
{
	if (!conn)
		return;
	if (ex.ndone == ex.done_cap) {
		ex.done_cap = ex.done_cap ? ex.done_cap * 2 : 64;
		ex.done = xrealloc(ex.done, ex.done_cap * sizeof(*ex.done));
	}
	ex.done[ex.ndone++] = conn;
}

/* The jobs of these connections are done (their replies handed to the
 * loop): their later reads may run on the pool. */
static void release_done(const uint64_t *done, size_t n)
{
	pthread_mutex_lock(&fx.lock);
	for (size_t i = 0; i < n; i++) {
		struct conn_state *cs = conn_find(done[i]);

		if (cs && cs->in_exec)
			cs->in_exec--;
	}
	pthread_mutex_unlock(&fx.lock);
}

/* Outputs of the batch being delivered (executor thread): handed to the
 * loop all at once, right before the batch's connections are released. */
struct out_chain {
	struct rpc_out *head, *tail;
};
static _Thread_local struct out_chain *stage;

/* Appends the outputs head..tail to the loop's queue. */
static void out_append(struct rpc_out *head, struct rpc_out *tail)
{
	pthread_mutex_lock(&ex.out_lock);
	QUEUE_APPEND(ex.out_head, ex.out_tail, head, tail, next);
	pthread_mutex_unlock(&ex.out_lock);
}

static void emit(struct rpc_out *o)
{
	o->next = NULL;
	if (stage) {
		QUEUE_APPEND(stage->head, stage->tail, o, o, next);
		return;
	}
	out_append(o, o);
}

static void emit_chain(struct out_chain *c)
{
	if (!c->head)
		return;
	out_append(c->head, c->tail);
	c->head = c->tail = NULL;
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

void rpc_emit_output(struct rpc_out *o)
{
	out_append(o, o);
	wake();
}

void rpc_conn_open(uint64_t conn, const char *peer, const char *user_agent,
		   const char *token)
{
	struct job *j = xcalloc(1, sizeof(*j));
	struct conn_state *cs = xcalloc(1, sizeof(*cs));

	cs->id = conn;
	cs->peer = intern_get(peer);
	cs->user_agent = intern_get(user_agent);
	/* the open (cookie authentication) is a job in the executor's hands:
	 * the connection's first calls wait for it */
	cs->in_exec = 1;
	j->kind = JOB_OPEN;
	j->conn = conn;
	j->text = token ? xstrdup(token) : NULL;
	pthread_mutex_lock(&fx.lock);
	u64map_put(&fx.conns, conn, cs);
	enqueue(j);
	pthread_mutex_unlock(&fx.lock);
}

static void enqueue_close(uint64_t conn)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->kind = JOB_CLOSE;
	j->conn = conn;
	enqueue(j);
}

void rpc_conn_close(uint64_t conn)
{
	struct conn_state *cs;

	pthread_mutex_lock(&fx.lock);
	cs = conn_find(conn);
	if (cs)
		cs->closing = true;
	/* messages that came before the close still run first: the front
	 * thread that holds the connection queues the close when done */
	if (!cs || !cs->active)
		enqueue_close(conn);
	pthread_mutex_unlock(&fx.lock);
}

/* fx.lock held */
static void make_ready(struct conn_state *cs)
{
	cs->active = true;
	cs->ready_next = NULL;
	QUEUE_APPEND(fx.ready_head, fx.ready_tail, cs, cs, ready_next);
	pthread_cond_signal(&fx.cond);
}

unsigned rpc_submit_message(uint64_t conn, const char *text, size_t len)
{
	struct msg *m = xcalloc(1, sizeof(*m));
	struct conn_state *cs;
	unsigned n;

	m->text = xstrndup(text, len);
	m->len = len;
	pthread_mutex_lock(&fx.lock);
	cs = conn_find(conn);
	if (!cs) {
		/* a message for a connection never opened (unit tests) */
		cs = xcalloc(1, sizeof(*cs));
		cs->id = conn;
		cs->peer = intern_get("");
		cs->user_agent = intern_get("");
		u64map_put(&fx.conns, conn, cs);
	}
	QUEUE_APPEND(cs->mq_head, cs->mq_tail, m, m, next);
	n = ++cs->waiting;
	if (n >= RPC_PAUSE_AT)
		cs->paused = true;
	if (!cs->active)
		make_ready(cs);
	pthread_mutex_unlock(&fx.lock);
	return n;
}

/* fx.lock held: one message of cs has started (ran as a read or was taken
 * by the executor). */
static void message_started(struct conn_state *cs)
{
	if (cs->waiting)
		cs->waiting--;
	if (cs->paused && cs->waiting <= RPC_RESUME_AT) {
		struct rpc_out *o = xcalloc(1, sizeof(*o));

		cs->paused = false;
		o->kind = RPC_OUT_RESUME;
		o->conn = cs->id;
		emit(o);
		wake();
	}
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
	h->accept = dup_or_empty(req->accept);
	h->prefer = dup_or_empty(req->prefer);
	h->if_match = dup_or_empty(req->if_match);
	h->content_type = dup_or_empty(req->content_type);
	h->req.accept = h->accept;
	h->req.prefer = h->prefer;
	h->req.if_match = h->if_match;
	h->req.content_type = h->content_type;
	h->req.by_cookie = req->by_cookie;
	h->req.origin_trusted = req->origin_trusted;
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
	free(h->accept);
	free(h->prefer);
	free(h->if_match);
	free(h->content_type);
	free(h->resp.body);
	free(h->resp.content_type);
	free(h->resp.set_cookie);
	free(h->resp.headers);
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
	j->conn = j->cont->conn;
	enqueue(j);
}

/* ---- contexts ---- */

static bool conn_known(uint64_t conn)
{
	bool known;

	pthread_mutex_lock(&fx.lock);
	known = conn_find(conn) != NULL;
	pthread_mutex_unlock(&fx.lock);
	return known;
}

/* A call context on db for conn. The peer and user-agent strings are
 * borrowed: a connection's state is freed by its JOB_CLOSE, which runs on
 * the executor after every job of it and after the front stage let go. */
static void ctx_init_db(struct rpc_ctx *ctx, uint64_t conn, time_t now,
			struct store *db)
{
	struct conn_state *cs;

	memset(ctx, 0, sizeof(*ctx));
	ctx->db = db;
	ctx->conn = conn;
	ctx->now = (int64_t)now;
	if (!conn)
		return;
	pthread_mutex_lock(&fx.lock);
	cs = conn_find(conn);
	if (cs) {
		ctx->account = cs->account;
		ctx->session = cs->session;
		ctx->is_admin = cs->is_admin;
		ctx->peer = cs->peer;
		ctx->user_agent = cs->user_agent;
	}
	pthread_mutex_unlock(&fx.lock);
}

static void ctx_init(struct rpc_ctx *ctx, uint64_t conn, time_t now)
{
	ctx_init_db(ctx, conn, now, ex.opts.db);
}

/* ---- work left for the end of the batch (exec/later.h) ---- */

struct later {
	exec_later_fn fn;
	void *arg;
	void (*free_arg)(void *);
};

/* executor thread only */
static struct {
	struct later *v;
	size_t n, cap;
	bool failed; /* a run failed: the batch must not commit */
} lt;
/* set while a lean write runs on the executor */
static _Thread_local bool later_open;
static atomic_ulong rollbacks;
/* the lean run (exec/later.h), executor thread only */
static unsigned long lean_run;

bool exec_lean_run(unsigned long *run)
{
	if (!later_open)
		return false;
	*run = lean_run;
	return true;
}

unsigned long exec_rollbacks(void)
{
	return atomic_load(&rollbacks);
}

bool exec_later(exec_later_fn fn, void *arg, void (*free_arg)(void *))
{
	if (!later_open)
		return false;
	if (lt.n == lt.cap) {
		lt.cap = lt.cap ? lt.cap * 2 : 64;
		lt.v = xrealloc(lt.v, lt.cap * sizeof(*lt.v));
	}
	lt.v[lt.n].fn = fn;
	lt.v[lt.n].arg = arg;
	lt.v[lt.n].free_arg = free_arg;
	lt.n++;
	return true;
}

/* Drops the work queued since mark (the call that queued it failed). */
static void later_drop(size_t mark)
{
	for (size_t i = mark; i < lt.n; i++)
		if (lt.v[i].free_arg)
			lt.v[i].free_arg(lt.v[i].arg);
	if (mark < lt.n)
		lt.n = mark;
}

/* Runs the queued work now, in the batch's transaction. */
static void later_run(time_t now)
{
	struct rpc_ctx ctx;

	if (!lt.n)
		return;
	ctx_init_db(&ctx, 0, now, ex.opts.db);
	ctx.method = "(later)";
	for (size_t i = 0; i < lt.n; i++) {
		int rc = lt.failed ? 0 : lt.v[i].fn(&ctx, lt.v[i].arg);

		if (rc) {
			log_error("exec",
				  "work at the end of a batch failed: "
				  "%s; the batch is rolled back",
				  store_errmsg(ex.opts.db));
			lt.failed = true;
		}
		if (lt.v[i].free_arg)
			lt.v[i].free_arg(lt.v[i].arg);
	}
	lt.n = 0;
	rpc_ctx_drop(&ctx);
	rpc_ctx_clear_error(&ctx);
}

/* The writes whose later work may wait for the end of the batch: every
 * other call first sees it done. */
static bool lean_write(json_t *req)
{
	const char *m = json_string_value(
		json_is_object(req) ? json_object_get(req, "method") : NULL);

	return m && (strcmp(m, "annotation.create") == 0 ||
		     strcmp(m, "reply.create") == 0);
}

/* Runs one request of a message on db (see run_message). */
static json_t *dispatch_one(struct rpc_ctx *ctx, json_t *req, bool on_exec,
			    time_t now, bool *deferred)
{
	bool lean = on_exec && lean_write(req);
	size_t mark;
	json_t *r;

	if (on_exec && !lean) {
		later_run(now);
		lean_run++;
	}
	mark = lt.n;
	later_open = lean;
	r = rpc_dispatch(ctx, req, deferred);
	later_open = false;
	if (lean && ctx->err_code)
		later_drop(mark);
	return r;
}

static struct pending *pending_new(uint64_t conn)
{
	struct pending *p = xcalloc(1, sizeof(*p));

	p->conn = conn;
	QUEUE_APPEND(ex.cur_head, ex.cur_tail, p, p, next);
	return p;
}

/* Moves a finished call's outputs into the pending entry and applies an
 * authentication change to the connection table. */
static void collect(struct pending *p, struct rpc_ctx *ctx)
{
	if (ctx->auth_changed && ctx->conn) {
		struct conn_state *cs;
		struct rpc_out *o = xcalloc(1, sizeof(*o));

		pthread_mutex_lock(&fx.lock);
		cs = conn_find(ctx->conn);
		if (cs) {
			cs->account = ctx->new_account;
			cs->session = ctx->new_session;
			cs->is_admin = ctx->new_admin;
		}
		pthread_mutex_unlock(&fx.lock);
		o->kind = RPC_OUT_AUTH;
		o->conn = ctx->conn;
		o->account = ctx->new_account;
		o->session = ctx->new_session;
		o->is_admin = ctx->new_admin;
		rpc_ctx_push(ctx, o);
	}
	if (ctx->outs) {
		QUEUE_APPEND(p->outs, p->outs_tail, ctx->outs, ctx->outs_tail,
			     next);
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
	/* the continuation is the connection's job until it answers */
	exec_hold(c->conn);
	{
		struct job *j = xcalloc(1, sizeof(*j));

		j->kind = JOB_CONT;
		j->cont = c;
		j->next = ex.defer_head;
		ex.defer_head = j;
	}
}

/* ---- running jobs ---- */

/* Runs a parsed message with the database db (the executor's, in its
 * transaction, or a read connection's) into p. on_exec: deferrals are
 * possible (the executor only; read methods never defer). */
static void run_message(struct pending *p, struct job *j, struct store *db,
			time_t now, bool on_exec)
{
	struct rpc_ctx ctx;
	json_t *msg = j->msg;
	bool deferred;

	ctx_init_db(&ctx, j->conn, now, db);
	if (j->perr) {
		rpc_fail(&ctx, j->perr,
			 j->perr == RPC_E_PARSE ? "Parse error"
						: "JSON nested too deeply");
		p->resp = json_pack("{s:s,s:o,s:n}", "jsonrpc", "2.0", "error",
				    rpc_ctx_error_json(&ctx, 0), "id");
		rpc_metrics_count("(invalid)", j->perr, 0);
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
			return;
		}
		batch = xcalloc(1, sizeof(*batch));
		batch->replies = json_array();
		batch->conn = j->conn;
		for (i = 0; i < n; i++) {
			json_t *r;

			ctx_init_db(&ctx, j->conn, now, db);
			ctx.prepared = json_array_get(j->prep, i);
			if (json_is_null(ctx.prepared))
				ctx.prepared = NULL;
			r = dispatch_one(&ctx, json_array_get(msg, i), on_exec,
					 now, &deferred);
			if (r && ctx.raw_result)
				json_object_set_new(r, "result",
						    rpc_take_raw_json(&ctx));
			if (deferred && on_exec) {
				json_array_append_new(batch->replies,
						      json_null());
				batch->pending++;
				take_deferral(&ctx, batch,
					      json_array_size(batch->replies) -
						      1,
					      NULL);
			} else if (deferred) {
				json_array_append_new(
					batch->replies,
					error_for(json_array_get(msg, i),
						  "a read deferred"));
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
		return;
	}
	ctx.prepared = j->prep;
	p->resp = dispatch_one(&ctx, msg, on_exec, now, &deferred);
	if (ctx.raw_result) {
		p->raw = ctx.raw_result;
		ctx.raw_result = NULL;
	}
	if (deferred && on_exec)
		take_deferral(&ctx, NULL, 0, NULL);
	else if (deferred)
		p->resp = error_for(msg, "a read deferred");
	collect(p, &ctx);
}

static void run_open(struct job *j, time_t now)
{
	struct pending *p;
	struct rpc_ctx ctx;

	if (!j->text || !rpc_hooks.authenticate)
		return;
	ctx_init(&ctx, j->conn, now);
	if (!ctx.peer)
		return; /* closed already */
	p = pending_new(j->conn);
	if (store_savepoint(ctx.db) == 0) {
		int64_t account = 0, session = 0;
		bool admin = false;

		if (rpc_hooks.authenticate(ctx.db, j->text, &account, &session,
					   &admin, ctx.peer,
					   ctx.user_agent) == 0 &&
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
	struct conn_state *cs;
	struct rpc_ctx ctx;
	bool known = conn_known(j->conn);

	if (rpc_hooks.conn_closed && known) {
		struct pending *p = pending_new(0);

		ctx_init(&ctx, j->conn, now);
		if (store_savepoint(ctx.db) == 0) {
			rpc_hooks.conn_closed(&ctx);
			store_release(ctx.db);
		}
		ctx.conn = 0;
		collect(p, &ctx);
	}
	pthread_mutex_lock(&fx.lock);
	cs = u64map_del(&fx.conns, j->conn);
	pthread_mutex_unlock(&fx.lock);
	if (cs)
		conn_free(cs);
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

		if (rpc_hooks.authenticate(ctx.db, h->token, &account, &session,
					   &admin, h->peer,
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
			http_resp_json(
				&h->resp, 500,
				json_pack("{s:s}", "error", "internal error"));
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

		json_array_foreach(b->replies, i, v) if (!json_is_null(v))
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
	if (c->conn && !conn_known(c->conn)) {
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
			http_resp_json(
				&c->http->resp, 500,
				json_pack("{s:s}", "error", "internal error"));
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
		/* a tick may hand work to the pool after commit (mail) */
		if (ctx.deferred)
			take_deferral(&ctx, NULL, 0, NULL);
	}
	collect(p, &ctx);
}

/* Session re-check: an expired, revoked or banned session is cut off.
 * Each second a thirtieth of the connections is re-checked: every session
 * is looked at every 30 s, and 10,000 of them never cost one batch 10,000
 * queries (that showed as a 2 s tail in the benchmark's p99). */
#define SESSION_CHECK_SLOTS 30

struct check_arg {
	uint64_t slot; /* connections whose id % SESSION_CHECK_SLOTS match */
	uint64_t *conns;
	int64_t *sessions;
	size_t n, cap;
};

static void check_conn(uint64_t key, void *val, void *arg)
{
	struct conn_state *cs = val;
	struct check_arg *ca = arg;

	if (key % SESSION_CHECK_SLOTS != ca->slot || !cs->session)
		return;
	if (ca->n == ca->cap) {
		ca->cap = ca->cap ? ca->cap * 2 : 64;
		ca->conns = xrealloc(ca->conns, ca->cap * sizeof(*ca->conns));
		ca->sessions =
			xrealloc(ca->sessions, ca->cap * sizeof(*ca->sessions));
	}
	ca->conns[ca->n] = key;
	ca->sessions[ca->n++] = cs->session;
}

static void run_session_check(time_t now)
{
	struct check_arg ca = {(uint64_t)now % SESSION_CHECK_SLOTS, NULL, NULL,
			       0, 0};
	struct pending *p;

	if (!rpc_hooks.session_alive)
		return;
	/* collect under the lock, query without it */
	pthread_mutex_lock(&fx.lock);
	u64map_each(&fx.conns, check_conn, &ca);
	pthread_mutex_unlock(&fx.lock);
	p = pending_new(0);
	for (size_t i = 0; i < ca.n; i++) {
		struct rpc_out *o;

		if (rpc_hooks.session_alive(ex.opts.db, ca.sessions[i]))
			continue;
		o = xcalloc(1, sizeof(*o));
		o->kind = RPC_OUT_CLOSE;
		o->conn = ca.conns[i];
		o->session = ca.sessions[i];
		o->ws_code = 4001;
		snprintf(o->reason, sizeof(o->reason), "session ended");
		QUEUE_APPEND(p->outs, p->outs_tail, o, o, next);
	}
	free(ca.conns);
	free(ca.sessions);
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

			pthread_mutex_lock(&fx.lock);
			u64map_each(&fx.conns, clear_conn, &ca);
			pthread_mutex_unlock(&fx.lock);
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

			json_array_foreach(p->resp, i, v) json_array_append_new(
				arr, commit_failed_error(v));
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
			free(p->http->resp.headers);
			p->http->resp.headers = NULL;
			http_resp_json(
				&p->http->resp, 503,
				json_pack("{s:s}", "error", "could not save"));
		}
	}
	if (p->resp && p->conn) {
		o = xcalloc(1, sizeof(*o));
		o->kind = RPC_OUT_REPLY;
		o->conn = p->conn;
		if (p->raw && committed && json_object_get(p->resp, "result"))
			o->bytes = rpc_splice_raw(
				p->raw, json_object_get(p->resp, "id"));
		else if (stage) /* a batch's: serialised at its hand-over */
			o->reply = json_incref(p->resp);
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
	/* a token: wipe our copy */
	if (j->text)
		explicit_bzero(j->text, strlen(j->text));
	free(j->text);
	json_decref(j->msg);
	json_decref(j->prep);
	http_call_free(j->http);
	cont_free(j->cont);
	free(j);
}

/* The answer to a message when no transaction could be opened: an error
 * for each request, with its id, so the client knows which calls failed. */
#define UNAVAILABLE "the database is unavailable"

static json_t *unavailable_reply(json_t *msg)
{
	json_t *out = NULL, *v;
	size_t i;

	if (json_is_array(msg)) {
		out = json_array();
		json_array_foreach(msg, i, v) if (json_object_get(v, "id"))
			json_array_append_new(out, error_for(v, UNAVAILABLE));
		if (!json_array_size(out)) {
			json_decref(out);
			out = NULL;
		}
	} else if (json_is_object(msg) && json_object_get(msg, "id")) {
		out = error_for(msg, UNAVAILABLE);
	} else if (!msg) {
		out = error_for(NULL, UNAVAILABLE);
	}
	return out;
}

/*
 * ---- handing a batch over, and the syncer ----
 *
 * What a batch leaves once its COMMIT returned (or failed): its outputs
 * (the replies still to serialise), the connections whose jobs it finished
 * (their later reads may then run on the pool) and its deferred jobs. With
 * --durability full on SQLite the executor commits without the sync
 * (store_defer_sync) and goes on with the next batch while the syncer thread
 * syncs the log and only then hands the batch over: no reply, event or
 * continuation leaves before its commit is on disk, and the sync no longer
 * holds the executor. One sync covers every batch committed before it began, so
 * batches that pile up share one. Batches are handed over in order, committed
 * or not; at most SYNC_QUEUE_MAX wait, then the executor waits (a bounded
 * queue). Without deferral (--durability normal, PostgreSQL, an in-memory
 * database) the executor hands each batch over itself.
 *
 * A read on the pool may see a write of another connection whose batch
 * is committed but not yet synced; its author's reply waits for the sync.
 */
struct tail {
	struct tail *next;
	bool committed; /* sync before handing it over */
	struct out_chain chain;
	uint64_t *done;
	size_t ndone;
	struct job *defer; /* deferred jobs, to the pool */
};

#define SYNC_QUEUE_MAX 4

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond, room;
	pthread_t thread;
	bool running, stopping;
	struct tail *head, *tail;
	unsigned n;
} sy = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.room = PTHREAD_COND_INITIALIZER,
};

static void tail_finish(struct tail *t)
{
	struct job *dj, *dnext;
	struct rpc_out *o;

	/* the replies are serialised here: on the syncer, off the executor */
	for (o = t->chain.head; o; o = o->next)
		if (o->reply) {
			o->bytes = rpc_dump(o->reply);
			json_decref(o->reply);
			o->reply = NULL;
		}
	emit_chain(&t->chain);
	/* replies are out: the connections' later reads may run on the pool */
	release_done(t->done, t->ndone);
	for (dj = t->defer; dj; dj = dnext) {
		dnext = dj->next;
		pool_submit(ex.opts.pool, pool_work, pool_done, dj->cont);
		free(dj);
	}
	free(t->done);
	free(t);
}

static void sync_push(struct tail *t)
{
	pthread_mutex_lock(&sy.lock);
	while (sy.n >= SYNC_QUEUE_MAX)
		pthread_cond_wait(&sy.room, &sy.lock);
	QUEUE_APPEND(sy.head, sy.tail, t, t, next);
	sy.n++;
	pthread_cond_signal(&sy.cond);
	pthread_mutex_unlock(&sy.lock);
}

static void *sync_main(void *arg)
{
	(void)arg;
	thread_name("sch-sync");
	for (;;) {
		struct tail *list, *t, *next;
		bool any = false;

		pthread_mutex_lock(&sy.lock);
		while (!sy.head && !sy.stopping)
			pthread_cond_wait(&sy.cond, &sy.lock);
		list = sy.head;
		sy.head = sy.tail = NULL;
		sy.n = 0;
		pthread_cond_broadcast(&sy.room);
		pthread_mutex_unlock(&sy.lock);
		if (!list)
			break;
		for (t = list; t; t = t->next)
			any |= t->committed;
		/* the commits are visible already: a log that cannot be
		 * synced must not acknowledge them (nor anything later) */
		if (any && store_sync(ex.opts.db))
			die("exec: cannot sync the database's log: %s",
			    strerror(errno));
		for (t = list; t; t = next) {
			next = t->next;
			tail_finish(t);
		}
		wake();
	}
	return NULL;
}

static void sync_start(void)
{
	if (store_defer_sync(ex.opts.db))
		return; /* the engine's COMMIT syncs */
	sy.stopping = false;
	if (pthread_create(&sy.thread, NULL, sync_main, NULL))
		die("exec: cannot start the syncer");
	sy.running = true;
}

/* After the executor stopped: hands over what waits, then ends. */
static void sync_stop(void)
{
	if (!sy.running)
		return;
	pthread_mutex_lock(&sy.lock);
	sy.stopping = true;
	pthread_cond_signal(&sy.cond);
	pthread_mutex_unlock(&sy.lock);
	pthread_join(sy.thread, NULL);
	sy.running = false;
}

static void run_batch(struct job *jobs, time_t now)
{
	struct store *db = ex.opts.db;
	bool committed = false, in_tx = false;
	struct job *j, *next;
	struct pending *p, *pnext;
	struct tail *t;
	uint64_t t0 = mono_ns(), tc = 0;
	int rc = 0;

	/* BEGIN IMMEDIATE waits up to the busy timeout (5 s) for another
	 * process's write lock; past it, this batch is answered with errors
	 * and the next batch tries again */
	lean_run++; /* a new batch: others may have written between */
	rc = store_begin(db);
	if (rc)
		log_error("exec", "cannot begin a transaction: %s (%s)",
			  store_errmsg(db), store_last_error_kind(db));
	else
		in_tx = true;
	for (j = jobs; j; j = next) {
		next = j->next;
		if (j->kind == JOB_MSG || j->kind == JOB_OPEN ||
		    j->kind == JOB_CONT)
			exec_done_later(j->conn);
		if (j->kind == JOB_MSG)
			atomic_fetch_add(&fx.exec_calls, j->ncalls);
		if (!in_tx && j->kind != JOB_OPEN && j->kind != JOB_CLOSE) {
			/* no transaction: answer every call with an error */
			struct pending *pp = pending_new(j->conn);

			if (j->kind == JOB_MSG) {
				pp->resp = unavailable_reply(j->msg);
				pp->final = true;
			} else if (j->kind == JOB_HTTP) {
				pp->http = j->http;
				pp->final = true;
				j->http = NULL;
				http_resp_json(
					&pp->http->resp, 503,
					json_pack("{s:s}", "error",
						  "database unavailable"));
			}
			job_free(j);
			continue;
		}
		if (j->kind != JOB_MSG) {
			later_run(now);
			lean_run++;
		}
		switch (j->kind) {
		case JOB_OPEN:
			if (in_tx)
				run_open(j, now);
			break;
		case JOB_CLOSE:
			run_close(j, now);
			break;
		case JOB_MSG:
			run_message(pending_new(j->conn), j, db, now, true);
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
	later_run(now);
	lean_run++;
	if (in_tx && now - ex.last_tick >= 1) {
		ex.last_tick = now;
		run_tick(now);
	}
	if (in_tx && now != ex.last_session_check) {
		ex.last_session_check = now;
		run_session_check(now);
	}
	if (in_tx && lt.failed) {
		store_rollback(db);
		atomic_fetch_add(&rollbacks, 1);
	} else if (in_tx) {
		tc = mono_ns();
		rc = store_commit(db);
		tc = mono_ns() - tc;
		if (rc) {
			log_error("exec", "commit failed: %s (%s)",
				  store_errmsg(db), store_last_error_kind(db));
			store_rollback(db);
			atomic_fetch_add(&rollbacks, 1);
		} else {
			committed = true;
		}
	}
	if (committed && ck.db) {
		pthread_mutex_lock(&ck.lock);
		if (ck.commits++ == 0)
			pthread_cond_signal(&ck.cond);
		pthread_mutex_unlock(&ck.lock);
	}
	lt.failed = false;
	t = xcalloc(1, sizeof(*t));
	t->committed = committed;
	stage = &t->chain;
	for (p = ex.cur_head; p; p = pnext) {
		pnext = p->next;
		deliver(p, committed);
		free(p);
	}
	stage = NULL;
	ex.cur_head = ex.cur_tail = NULL;
	/* deferred work starts only after its first half is on disk */
	{
		struct job *dj = ex.defer_head, *dnext;

		ex.defer_head = NULL;
		for (; dj; dj = dnext) {
			dnext = dj->next;
			if (committed) {
				dj->next = t->defer;
				t->defer = dj;
				continue;
			}
			exec_done_later(dj->cont->conn);
			cont_free(dj->cont);
			free(dj);
		}
	}
	t->done = ex.done;
	t->ndone = ex.ndone;
	ex.done = NULL;
	ex.ndone = ex.done_cap = 0;
	if (sy.running) {
		sync_push(t);
	} else {
		tail_finish(t);
		wake();
	}
	atomic_fetch_add(&fx.batches, 1);
	atomic_fetch_add(&fx.commit_ns, tc);
	atomic_fetch_add(&fx.busy_ns, mono_ns() - t0);
}

/* Per-connection count of this batch, with a flag once the connection
 * must wait for the next batch (its later jobs keep their order). */
#define TAKE_BLOCKED ((uintptr_t)1 << 62)

/*
 * Takes the next batch from the queue (ex.lock held): about max_batch calls,
 * at most RPC_FAIR_SHARE calls of any one connection (a batch message
 * counts as its calls; one larger than the share goes alone); jobs left
 * behind keep their order.
 */
static struct job *take_jobs(void)
{
	struct job *j, *next, *head = NULL, *tail = NULL, *kh = NULL,
			      *kt = NULL;
	struct u64map taken = U64MAP_INIT;
	unsigned n = 0;

	for (j = ex.head; j; j = next) {
		uintptr_t c = 0;
		unsigned calls = j->kind == JOB_MSG ? j->ncalls : 1;
		bool take = n < (unsigned)ex.opts.max_batch;

		next = j->next;
		j->next = NULL;
		if (take && j->conn && j->kind != JOB_CONT) {
			c = (uintptr_t)u64map_get(&taken, j->conn);
			if ((c & TAKE_BLOCKED) ||
			    (j->kind == JOB_MSG && c > 0 &&
			     c + calls > RPC_FAIR_SHARE)) {
				take = false;
				u64map_put(&taken, j->conn,
					   (void *)(c | TAKE_BLOCKED));
			} else if (j->kind == JOB_MSG) {
				u64map_put(&taken, j->conn,
					   (void *)(c + calls));
			}
		}
		if (!take) {
			QUEUE_APPEND(kh, kt, j, j, next);
			continue;
		}
		QUEUE_APPEND(head, tail, j, j, next);
		n += calls;
		ex.queued--;
	}
	ex.head = kh;
	ex.tail = kt;
	u64map_free(&taken);
	return head;
}

static void *exec_main(void *arg)
{
	(void)arg;
	thread_name("sch-exec");
	for (;;) {
		struct job *jobs, *j;
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
		/* backpressure: the messages taken have started */
		pthread_mutex_lock(&fx.lock);
		for (j = jobs; j; j = j->next) {
			struct conn_state *cs;

			if (j->kind == JOB_MSG && (cs = conn_find(j->conn)))
				message_started(cs);
		}
		pthread_mutex_unlock(&fx.lock);
		run_batch(jobs, time(NULL));
	}
	return NULL;
}

/* ---- the front stage and the read pool ---- */

/* Parses a message (off the loop and the executor) into j. */
static void parse_message(struct job *j, struct msg *m)
{
	json_error_t jerr;

	if (rpc_json_depth(m->text, m->len, rpc_config.max_depth) >
	    rpc_config.max_depth) {
		j->perr = RPC_E_INVALID_REQUEST;
	} else {
		/* any JSON value (a scalar is then -32600, not -32700) and
		 * NUL in strings (then -32602 naming the field, in
		 * rpc_dispatch): issue 14 */
		j->msg = json_loadb(m->text, m->len,
				    JSON_REJECT_DUPLICATES | JSON_DECODE_ANY |
					    JSON_ALLOW_NUL,
				    &jerr);
		if (!j->msg)
			j->perr = RPC_E_PARSE;
	}
	/* a message may carry a password (auth.login): wipe our copy */
	explicit_bzero(m->text, m->len);
	free(m->text);
	free(m);
	j->ncalls = 1;
	if (json_is_array(j->msg) && json_array_size(j->msg) > 1)
		j->ncalls = (unsigned)json_array_size(j->msg);
}

/* Whether one request may run on the read pool: an RPC_READ method, or
 * something answered without the database (invalid, unknown method). */
static bool request_reads(json_t *req)
{
	json_t *jm =
		json_is_object(req) ? json_object_get(req, "method") : NULL;
	const struct rpc_method *m;

	if (!json_is_string(jm))
		return true;
	m = rpc_find(json_string_value(jm));
	return !m || (m->flags & RPC_READ);
}

/* The prepare function's value for one request, or NULL. */
static json_t *prepare_request(json_t *req)
{
	json_t *jm =
		json_is_object(req) ? json_object_get(req, "method") : NULL;
	rpc_prepare_fn fn;

	if (!json_is_string(jm) ||
	    !(fn = rpc_find_prepare(json_string_value(jm))))
		return NULL;
	return fn(json_object_get(req, "params"));
}

/* Runs the prepare functions of a message's calls (rpc.h), here on the
 * front thread instead of on the executor. */
static void prepare_message(struct job *j)
{
	size_t i;
	json_t *v;

	if (j->perr)
		return;
	if (!json_is_array(j->msg)) {
		j->prep = prepare_request(j->msg);
		return;
	}
	json_array_foreach(j->msg, i, v)
	{
		json_t *one = prepare_request(v);

		if (!one)
			continue;
		if (!j->prep) {
			j->prep = json_array();
			for (size_t k = 0; k < json_array_size(j->msg); k++)
				json_array_append_new(j->prep, json_null());
		}
		json_array_set_new(j->prep, i, one);
	}
}

static bool message_reads(const struct job *j)
{
	size_t i;
	json_t *v;

	if (j->perr)
		return true;
	if (!json_is_array(j->msg))
		return request_reads(j->msg);
	json_array_foreach(j->msg, i, v) if (!request_reads(v)) return false;
	return true;
}

/* Runs a read message on a read connection and hands its reply to the
 * loop (serialised here). */
static void run_read(struct job *j, struct store *db)
{
	struct pending p;

	memset(&p, 0, sizeof(p));
	p.conn = j->conn;
	run_message(&p, j, db, time(NULL), false);
	atomic_fetch_add(&fx.pool_calls, j->ncalls);
	deliver(&p, true);
	wake();
}

static void *front_main(void *arg)
{
	struct store *db = arg; /* NULL: no read pool */

	thread_name("sch-front");

	pthread_mutex_lock(&fx.lock);
	for (;;) {
		struct conn_state *cs;
		unsigned budget = RPC_FAIR_SHARE;

		while (!fx.ready_head && !fx.stopping)
			pthread_cond_wait(&fx.cond, &fx.lock);
		if (!fx.ready_head)
			break;
		cs = fx.ready_head;
		fx.ready_head = cs->ready_next;
		if (!fx.ready_head)
			fx.ready_tail = NULL;
		cs->ready_next = NULL;
		while (cs->mq_head && budget > 0) {
			struct msg *m = cs->mq_head;
			struct job *j = xcalloc(1, sizeof(*j));

			cs->mq_head = m->next;
			if (!cs->mq_head)
				cs->mq_tail = NULL;
			j->kind = JOB_MSG;
			j->conn = cs->id;
			pthread_mutex_unlock(&fx.lock);
			parse_message(j, m);
			prepare_message(j);
			pthread_mutex_lock(&fx.lock);
			budget -= j->ncalls < budget ? j->ncalls : budget;
			if (!db || cs->in_exec || !message_reads(j)) {
				/* a write, or a read behind this connection's
				 * own calls in the executor */
				cs->in_exec++;
				enqueue(j);
				continue;
			}
			pthread_mutex_unlock(&fx.lock);
			run_read(j, db);
			job_free(j);
			pthread_mutex_lock(&fx.lock);
			message_started(cs);
		}
		if (cs->mq_head) {
			make_ready(cs); /* its turn is over: to the back */
		} else {
			cs->active = false;
			if (cs->closing)
				enqueue_close(cs->id);
		}
	}
	pthread_mutex_unlock(&fx.lock);
	return NULL;
}

/* A passive checkpoint after commits, at most every CK_EVERY_MS: it
 * never blocks the writer or the readers, and copies what no reader still
 * needs; the log restarts from its beginning once all of it is copied.
 * Not more often: each checkpoint syncs the log and the database, and
 * with one write at a time a checkpoint per commit made every commit's
 * own sync wait for the disk (SQLite's automatic one came every 4,000
 * pages; the log grows about as much in half a second of batches). */
#define CK_EVERY_MS 500

static void *ck_main(void *arg)
{
	(void)arg;
	thread_name("sch-ckpt");
	pthread_mutex_lock(&ck.lock);
	for (;;) {
		struct timespec until;

		while (!ck.commits && !ck.stopping)
			pthread_cond_wait(&ck.cond, &ck.lock);
		if (ck.stopping)
			break;
		ck.commits = 0;
		pthread_mutex_unlock(&ck.lock);
		if (store_checkpoint(ck.db))
			log_warn("exec", "checkpoint: %s", store_errmsg(ck.db));
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += CK_EVERY_MS * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_mutex_lock(&ck.lock);
		while (!ck.stopping &&
		       pthread_cond_timedwait(&ck.cond, &ck.lock, &until) == 0)
			;
		if (ck.stopping)
			break;
	}
	pthread_mutex_unlock(&ck.lock);
	return NULL;
}

static void ck_start(struct store *writer)
{
	ck.db = NULL;
	ck.stopping = false;
	ck.commits = 0;
	if (store_open_reader(writer, &ck.db))
		return; /* in memory: the engine checkpoints on its own */
	/* PostgreSQL keeps no log of ours: SCH_EINVAL, no thread */
	if (store_wal_manual(writer, true) ||
	    pthread_create(&ck.thread, NULL, ck_main, NULL)) {
		store_wal_manual(writer, false);
		store_close(ck.db);
		ck.db = NULL;
	}
}

static void ck_stop(void)
{
	if (!ck.db)
		return;
	pthread_mutex_lock(&ck.lock);
	ck.stopping = true;
	pthread_cond_signal(&ck.cond);
	pthread_mutex_unlock(&ck.lock);
	pthread_join(ck.thread, NULL);
	store_close(ck.db);
	ck.db = NULL;
}

int rpc_exec_start(const struct rpc_exec_opts *opts)
{
	int readers;

	ex.opts = *opts;
	if (ex.opts.max_batch <= 0)
		ex.opts.max_batch = 256;
	ex.stopping = false;
	ex.last_tick = ex.last_session_check = time(NULL);
	readers = opts->readers == 0 ? 2 : opts->readers;
	if (readers > RPC_READERS_MAX)
		readers = RPC_READERS_MAX;
	fx.stopping = false;
	fx.nthreads = readers > 0 ? readers : 1;
	for (int i = 0; i < fx.nthreads; i++) {
		fx.dbs[i] = NULL;
		if (readers > 0 && store_open_reader(opts->db, &fx.dbs[i]))
			fx.dbs[i] = NULL; /* in memory: everything on the
					     executor */
	}
	if (readers > 0) {
		ck_start(opts->db);
		sync_start();
	}
	if (pthread_create(&ex.thread, NULL, exec_main, NULL))
		return SCH_EIO;
	ex.running = true;
	for (int i = 0; i < fx.nthreads; i++)
		if (pthread_create(&fx.threads[i], NULL, front_main, fx.dbs[i]))
			die("exec: cannot start a front thread");
	return 0;
}

static void free_conn(uint64_t key, void *val, void *arg)
{
	(void)key;
	(void)arg;
	conn_free(val);
}

void rpc_exec_stop(void)
{
	struct rpc_out *o, *next;

	if (!ex.running)
		return;
	/* the front stage hands on what it holds, then the executor
	 * finishes everything queued */
	pthread_mutex_lock(&fx.lock);
	fx.stopping = true;
	pthread_cond_broadcast(&fx.cond);
	pthread_mutex_unlock(&fx.lock);
	for (int i = 0; i < fx.nthreads; i++)
		pthread_join(fx.threads[i], NULL);
	pthread_mutex_lock(&ex.lock);
	ex.stopping = true;
	pthread_cond_signal(&ex.cond);
	pthread_mutex_unlock(&ex.lock);
	pthread_join(ex.thread, NULL);
	ex.running = false;
	sync_stop();
	ck_stop();
	for (int i = 0; i < fx.nthreads; i++) {
		store_close(fx.dbs[i]);
		fx.dbs[i] = NULL;
	}
	u64map_each(&fx.conns, free_conn, NULL);
	u64map_free(&fx.conns);
	fx.ready_head = fx.ready_tail = NULL;
	later_drop(0);
	free(lt.v);
	lt.v = NULL;
	lt.cap = 0;
	free(ex.done);
	ex.done = NULL;
	ex.ndone = ex.done_cap = 0;
	for (o = rpc_take_outputs(); o; o = next) {
		next = o->next;
		rpc_out_free(o);
	}
	store_close(ex.opts.db);
	ex.opts.db = NULL;
}
