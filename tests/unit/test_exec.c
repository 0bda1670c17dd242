/*
 * test_exec.c - the execution core (server/exec/exec.c) driven through its
 * transport interface, as net/ drives it: reads run on the read pool and
 * never wait for a write batch, a connection's reads see its own earlier
 * calls (pipelined or in one JSON-RPC batch), and the executor's fair share
 * counts calls, not messages.
 *
 * The write batch is held open by a test method (x.block) that waits inside
 * its handler, on the executor thread, until the test releases it: what
 * must happen "while a write batch is open" is checked by order of events,
 * never by timing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rpc/rpc.h"
#include "rpc/transport.h"
#include "store/store.h"
#include "util/pool.h"

static struct store *exec_db;
static struct pool *pool;

/* ---- test methods ---- */

static const char SQL_INSERT[] = "INSERT INTO t(v) VALUES (?1)";
static const char SQL_COUNT[] = "SELECT count(*) FROM t WHERE v = ?1";

static pthread_mutex_t block_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t block_cond = PTHREAD_COND_INITIALIZER;
static int blocked;  /* x.block is inside its handler */
static int released; /* the test let it go */

static int m_write(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	const char *v;

	if (rpc_param_str(ctx, params, "v", true, 1, 100, &v))
		return RPC_ERR;
	if (store_run(rpc_store(ctx), SQL_INSERT, "t", v))
		return rpc_fail(ctx, RPC_E_INTERNAL, "insert");
	*result = json_pack("{s:s}", "v", v);
	return 0;
}

static int m_count(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	const char *v;
	int64_t n = 0;

	if (rpc_param_str(ctx, params, "v", true, 1, 100, &v))
		return RPC_ERR;
	store_int_query(rpc_store(ctx), &n, SQL_COUNT, "t", v);
	*result = json_pack("{s:I,s:b}", "count", (json_int_t)n, "pool",
			    rpc_store(ctx) != exec_db);
	return 0;
}

/* A write that holds its batch open until released. */
static int m_block(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	(void)params;
	if (store_run(rpc_store(ctx), SQL_INSERT, "t", "blocked"))
		return rpc_fail(ctx, RPC_E_INTERNAL, "insert");
	pthread_mutex_lock(&block_lock);
	blocked = 1;
	pthread_cond_broadcast(&block_cond);
	while (!released)
		pthread_cond_wait(&block_cond, &block_lock);
	blocked = 0;
	pthread_mutex_unlock(&block_lock);
	*result = json_object();
	return 0;
}

static int m_nop(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	(void)ctx;
	(void)params;
	*result = json_object();
	return 0;
}

/* A read method that tries to write: the read connection refuses. */
static int m_sneaky(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	(void)params;
	if (store_run(rpc_store(ctx), SQL_INSERT, "t", "sneaky"))
		return rpc_fail(ctx, RPC_E_FORBIDDEN, "read-only");
	*result = json_object();
	return 0;
}

/* x.prep: a write whose params were prepared on a front thread. */
static pthread_t prep_thread;
static int prep_runs;

static json_t *prep_upper(json_t *params)
{
	const char *v = json_string_value(json_object_get(params, "v"));
	char up[64];
	size_t i;

	if (!v || strlen(v) >= sizeof(up))
		return NULL;
	for (i = 0; v[i]; i++)
		up[i] = (char)(v[i] >= 'a' && v[i] <= 'z' ? v[i] - 32 : v[i]);
	up[i] = '\0';
	prep_thread = pthread_self();
	__atomic_add_fetch(&prep_runs, 1, __ATOMIC_SEQ_CST);
	return json_pack("{s:s}", "up", up);
}

static int m_prep(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	json_t *p = rpc_prepared(ctx);

	(void)params;
	*result = json_pack(
		"{s:o,s:b}", "up",
		p ? json_incref(json_object_get(p, "up")) : json_null(),
		"same_thread", p && pthread_equal(prep_thread, pthread_self()));
	return 0;
}

static const struct rpc_method methods[] = {
	{"x.prep", m_prep, RPC_PUBLIC},
	{"x.write", m_write, RPC_PUBLIC},
	{"x.count", m_count, RPC_PUBLIC | RPC_READ},
	{"x.block", m_block, RPC_PUBLIC},
	{"x.nop", m_nop, RPC_PUBLIC},
	{"x.sneaky", m_sneaky, RPC_PUBLIC | RPC_READ},
	{NULL, NULL, 0},
};

/* ---- replies, in the order the executor and the pool handed them ---- */

struct got {
	uint64_t conn;
	json_t *reply; /* object or batch array */
};
static struct got log_[4096];
static int nlog;

static void pump(void)
{
	struct rpc_out *o = rpc_take_outputs(), *next;

	for (; o; o = next) {
		next = o->next;
		if (o->kind == RPC_OUT_REPLY && nlog < 4096) {
			log_[nlog].conn = o->conn;
			log_[nlog].reply =
				json_loadb((const char *)refbuf_bytes(o->bytes),
					   o->bytes->len, 0, NULL);
			nlog++;
		}
		rpc_out_free(o);
	}
}

static json_t *reply_id(const json_t *r)
{
	if (json_is_array(r))
		r = json_array_get(r, 0);
	return json_object_get(r, "id");
}

/* Index in the log of the reply of conn whose (first) id is id; waits for
 * it (bounded). */
static int wait_reply(uint64_t conn, int id)
{
	for (int tries = 0; tries < 2000; tries++) {
		pump();
		for (int i = 0; i < nlog; i++)
			if (log_[i].conn == conn &&
			    json_integer_value(reply_id(log_[i].reply)) == id)
				return i;
		usleep(5000);
	}
	fail_msg("no reply %d on connection %llu", id,
		 (unsigned long long)conn);
	return -1;
}

static void send_text(uint64_t conn, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	rpc_submit_message(conn, buf, (size_t)n);
}

static json_t *result_of(int i)
{
	json_t *r = log_[i].reply;

	if (json_is_array(r))
		r = json_array_get(r, json_array_size(r) - 1);
	assert_non_null(json_object_get(r, "result"));
	return json_object_get(r, "result");
}

static void wait_blocked(void)
{
	pthread_mutex_lock(&block_lock);
	while (!blocked)
		pthread_cond_wait(&block_cond, &block_lock);
	pthread_mutex_unlock(&block_lock);
}

static void release_block(void)
{
	pthread_mutex_lock(&block_lock);
	released = 1;
	pthread_cond_broadcast(&block_cond);
	pthread_mutex_unlock(&block_lock);
}

static void no_op_wake(void *arg)
{
	(void)arg;
}

static int setup(void **state)
{
	struct store_opts so = STORE_OPTS_INIT;
	struct rpc_exec_opts eo = RPC_EXEC_OPTS_INIT;
	char dir[] = "/tmp/scholia-exec-XXXXXX", path[256], err[256];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/exec.db", dir);
	so.path = path;
	so.durability = STORE_DURABILITY_NORMAL;
	so.migrations_dir = NULL;
	assert_int_equal(store_open(&so, &exec_db, err, sizeof(err)), 0);
	assert_int_equal(store_exec(exec_db, "CREATE TABLE t(v TEXT)"), 0);
	rpc_register(methods);
	rpc_set_prepare("x.prep", prep_upper);
	pool = pool_start(1);
	eo.db = exec_db;
	eo.pool = pool;
	eo.wake = no_op_wake;
	assert_int_equal(rpc_exec_start(&eo), 0);
	for (uint64_t c = 1; c <= 8; c++)
		rpc_conn_open(c, "127.0.0.1", "unit", NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pool_stop(pool);
	rpc_exec_stop();
	return 0;
}

/* A read sent right behind a write on the same connection (pipelined, or
 * in one JSON-RPC batch) sees the write; a read on a connection with
 * nothing in the executor's hands runs on the pool. */
static void test_read_your_writes(void **state)
{
	int i, k;

	(void)state;
	for (k = 0; k < 50; k++) {
		send_text(
			1,
			"{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"x.write\","
			"\"params\":{\"v\":\"ryw%d\"}}",
			1000 + k, k);
		send_text(
			1,
			"{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"x.count\","
			"\"params\":{\"v\":\"ryw%d\"}}",
			2000 + k, k);
	}
	for (k = 0; k < 50; k++) {
		i = wait_reply(1, 2000 + k);
		assert_int_equal(json_integer_value(json_object_get(
					 result_of(i), "count")),
				 1);
		/* replies leave in the order the calls came */
		assert_true(wait_reply(1, 1000 + k) < i);
	}
	/* the same inside one batch */
	send_text(1, "[{\"jsonrpc\":\"2.0\",\"id\":3000,\"method\":\"x.write\","
		     "\"params\":{\"v\":\"rywb\"}},"
		     "{\"jsonrpc\":\"2.0\",\"id\":3001,\"method\":\"x.count\","
		     "\"params\":{\"v\":\"rywb\"}}]");
	i = wait_reply(1, 3000);
	assert_int_equal(
		json_integer_value(json_object_get(result_of(i), "count")), 1);
	/* nothing of connection 1 is in the executor now: the pool reads */
	send_text(1, "{\"jsonrpc\":\"2.0\",\"id\":3002,\"method\":\"x.count\","
		     "\"params\":{\"v\":\"rywb\"}}");
	i = wait_reply(1, 3002);
	assert_int_equal(
		json_integer_value(json_object_get(result_of(i), "count")), 1);
	assert_true(json_is_true(json_object_get(result_of(i), "pool")));
	/* a read handler cannot write through its read connection */
	send_text(1, "{\"jsonrpc\":\"2.0\",\"id\":3003,\"method\":"
		     "\"x.sneaky\"}");
	i = wait_reply(1, 3003);
	assert_non_null(json_object_get(log_[i].reply, "error"));
}

/* While one connection's write batch is held open on the executor, another
 * connection's read runs and is answered; it sees the state before that
 * batch (not committed), and the held connection's own read waits for it. */
static void test_read_during_write_batch(void **state)
{
	int r2, r3, b, own;

	(void)state;
	released = 0;
	send_text(2, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x.block\"}");
	wait_blocked();
	send_text(2, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"x.count\","
		     "\"params\":{\"v\":\"blocked\"}}");
	send_text(3, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x.count\","
		     "\"params\":{\"v\":\"blocked\"}}");
	r3 = wait_reply(3, 1);
	/* answered while the batch is still open: x.block has not returned */
	pthread_mutex_lock(&block_lock);
	assert_int_equal(blocked, 1);
	pthread_mutex_unlock(&block_lock);
	assert_int_equal(
		json_integer_value(json_object_get(result_of(r3), "count")), 0);
	assert_true(json_is_true(json_object_get(result_of(r3), "pool")));
	release_block();
	b = wait_reply(2, 1);
	own = wait_reply(2, 2);
	assert_true(r3 < b);
	assert_true(b < own);
	/* connection 2's read waited for its own write and sees it */
	assert_int_equal(
		json_integer_value(json_object_get(result_of(own), "count")),
		1);
	send_text(3, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"x.count\","
		     "\"params\":{\"v\":\"blocked\"}}");
	r2 = wait_reply(3, 2);
	assert_int_equal(
		json_integer_value(json_object_get(result_of(r2), "count")), 1);
}

/* One connection floods 100-call batches of writes; a bystander's single
 * call queued behind them is answered after the first flood batch, not
 * after sixteen of them (the fair share counts calls). */
static void test_fair_share_counts_calls(void **state)
{
	static char big[100 * 64 + 16];
	int by, second, k, n;

	(void)state;
	released = 0;
	send_text(4, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x.block\"}");
	wait_blocked();
	for (k = 0; k < 10; k++) {
		n = snprintf(big, sizeof(big), "[");
		for (int c = 0; c < 100; c++)
			n += snprintf(big + n, sizeof(big) - (size_t)n,
				      "%s{\"jsonrpc\":\"2.0\",\"id\":%d,"
				      "\"method\":\"x.nop\"}",
				      c ? "," : "", 100 * (k + 1) + c);
		n += snprintf(big + n, sizeof(big) - (size_t)n, "]");
		rpc_submit_message(5, big, (size_t)n);
	}
	send_text(6, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"x.nop\"}");
	/* everything has reached the executor's queue before it moves on */
	for (k = 0; k < 2000 && rpc_exec_queued() < 11; k++)
		usleep(5000);
	assert_int_equal(rpc_exec_queued(), 11);
	release_block();
	by = wait_reply(6, 7);
	second = wait_reply(5, 200);
	/* (the bystander may even come first: the front threads hand the two
	 * connections' messages on concurrently) */
	assert_true(by < second);
	wait_reply(5, 1000);
	wait_reply(4, 1);
}

/* A method's prepare function runs before the executor, off its thread,
 * and its value reaches the handler: alone and in a batch, each call its
 * own, and a call without one gets NULL. */
static void test_prepare_before_the_executor(void **state)
{
	json_t *r;
	int i;

	(void)state;
	send_text(7, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x.prep\","
		     "\"params\":{\"v\":\"abc\"}}");
	r = result_of(wait_reply(7, 1));
	assert_string_equal(json_string_value(json_object_get(r, "up")), "ABC");
	assert_false(json_is_true(json_object_get(r, "same_thread")));
	send_text(7, "[{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"x.prep\","
		     "\"params\":{\"v\":\"one\"}},"
		     "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"x.prep\","
		     "\"params\":{}},"
		     "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"x.prep\","
		     "\"params\":{\"v\":\"two\"}}]");
	i = wait_reply(7, 2);
	r = log_[i].reply;
	assert_int_equal(json_array_size(r), 3);
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(json_array_get(r, 0), "result"), "up")),
		"ONE");
	assert_true(json_is_null(json_object_get(
		json_object_get(json_array_get(r, 1), "result"), "up")));
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(json_array_get(r, 2), "result"), "up")),
		"TWO");
	assert_int_equal(__atomic_load_n(&prep_runs, __ATOMIC_SEQ_CST), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_your_writes),
		cmocka_unit_test(test_read_during_write_batch),
		cmocka_unit_test(test_fair_share_counts_calls),
		cmocka_unit_test(test_prepare_before_the_executor),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
