/*
 * test_core.c - unit tests of the foundation: the JSON-RPC layer driven
 * through the real store executor (parse errors, batches, notifications,
 * every standard error code, data.field, depth limit), group commit with
 * per-call savepoints, event seq, the migrations runner (including the
 * refusal of a newer database), the send-queue bound, and utilities.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus/bus.h"
#include "net/sendq.h"
#include "rpc/rpc.h"
#include "rpc/transport.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/jsonout.h"
#include "util/pool.h"
#include "util/u64map.h"
#include "util/utf8.h"

static char tmpdir[256];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/scholia-unit-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
}

static struct store *open_fresh(const char *name, const char *migrations)
{
	struct store_opts so = STORE_OPTS_INIT;
	struct store *s = NULL;
	char path[512], err[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	so.path = path;
	so.migrations_dir = migrations;
	so.durability = STORE_DURABILITY_NORMAL;
	assert_int_equal(store_open(&so, &s, err, sizeof(err)), 0);
	return s;
}

/* ---- a test module registered into the method table ---- */

static const char SQL_T_INSERT[] = "INSERT INTO t(v) VALUES (?1)";
static const char SQL_T_COUNT[] = "SELECT count(*) FROM t WHERE v = ?1";
static const char SQL_T_ALL[] = "SELECT count(*) FROM t";

/* A second connection to the executor's database (test_group_commit_many):
 * it sees committed rows only, so the rows the executor's connection sees
 * beyond it were written earlier in the same, still open, transaction. */
static struct store *observer;

/* rpc_keep's work for test.write: a row of its own; "kept-bad" writes
 * and then fails, which must undo its own row only. */
static int keep_insert(struct store *db, void *arg)
{
	int rc = store_run(db, SQL_T_INSERT, "t", (const char *)arg);

	return rc ? rc : strcmp(arg, "kept-bad") == 0 ? SCH_EDB : 0;
}

static int m_write(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	const char *v;
	struct vis_item item = {0};
	int64_t seq;

	if (rpc_param_str(ctx, params, "v", true, 1, 100, &v))
		return RPC_ERR;
	if (store_run(rpc_store(ctx), SQL_T_INSERT, "t", v))
		return rpc_fail_store(ctx, SCH_EDB);
	item.circle = 7;
	seq = rpc_publish(ctx, 7, "test.written", &item, "t", 1,
			  json_pack("{s:s}", "v", v), NULL);
	if (seq <= 0)
		return rpc_fail_store(ctx, (int)seq);
	if (strcmp(v, "fail-after-keep") == 0) {
		rpc_keep(ctx, keep_insert, (void *)"kept", NULL);
		rpc_keep(ctx, keep_insert, (void *)"kept-bad", NULL);
		rpc_keep(ctx, keep_insert, (void *)"kept-too", NULL);
	}
	if (strcmp(v, "fail-after-write") == 0 ||
	    strcmp(v, "fail-after-keep") == 0)
		return rpc_fail(ctx, RPC_E_CONFLICT, "refused after writing");
	*result = json_pack("{s:s,s:I}", "v", v, "seq", (json_int_t)seq);
	if (observer) {
		int64_t mine = 0, committed = 0;

		store_int_query(rpc_store(ctx), &mine, SQL_T_ALL, "");
		store_int_query(observer, &committed, SQL_T_ALL, "");
		/* 1: this call's row alone; more: earlier calls' rows too */
		json_object_set_new(*result, "uncommitted",
				    json_integer(mine - committed));
	}
	return 0;
}

/* test.block: holds the store thread until the test opens the gate, so
 * that everything submitted meanwhile is queued before the next batch. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_entered, gate_open;

static int m_block(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	(void)ctx;
	(void)params;
	pthread_mutex_lock(&gate_lock);
	gate_entered = true;
	pthread_cond_broadcast(&gate_cond);
	while (!gate_open)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	*result = json_object();
	return 0;
}

static int m_count(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	const char *v;
	int64_t n = 0;

	if (rpc_param_str(ctx, params, "v", true, 1, 100, &v))
		return RPC_ERR;
	store_int_query(rpc_store(ctx), &n, SQL_T_COUNT, "t", v);
	*result = json_pack("{s:I}", "count", (json_int_t)n);
	return 0;
}

static int m_needs_int(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	int64_t n;

	if (rpc_param_int(ctx, params, "n", true, 1, 10, &n))
		return RPC_ERR;
	*result = json_pack("{s:I}", "n", (json_int_t)n);
	return 0;
}

static int m_crash(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	(void)ctx;
	(void)params;
	(void)result;
	return RPC_ERR; /* no error recorded: must become -32603 */
}

/* Deferred work: runs on the pool, continues on the store thread. */
static void slow_work(void *arg)
{
	int *v = arg;

	*v *= 2;
}

static int slow_cont(struct rpc_ctx *ctx, void *arg, json_t **result)
{
	(void)ctx;
	*result = json_pack("{s:i}", "doubled", *(int *)arg);
	return 0;
}

static int m_slow(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	int64_t n = 0;
	int *arg;

	(void)result;
	if (rpc_param_int(ctx, params, "n", true, 0, 1000, &n))
		return RPC_ERR;
	arg = malloc(sizeof(*arg));
	*arg = (int)n;
	return rpc_defer(ctx, slow_work, slow_cont, arg, free);
}

static const struct rpc_method test_methods[] = {
	{"test.write", m_write, RPC_PUBLIC},
	{"test.count", m_count, RPC_PUBLIC},
	{"test.block", m_block, RPC_PUBLIC},
	{"test.int", m_needs_int, RPC_PUBLIC},
	{"test.crash", m_crash, RPC_PUBLIC},
	{"test.slow", m_slow, RPC_PUBLIC},
	{"test.private", m_count, RPC_AUTH},
	{NULL, NULL, 0},
};

/* ---- executor harness ---- */

static pthread_mutex_t wlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wcond = PTHREAD_COND_INITIALIZER;
static int wakes;
static struct pool *pool;
static struct rpc_out *pending_head, *pending_tail;

static void on_wake(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&wlock);
	wakes++;
	pthread_cond_signal(&wcond);
	pthread_mutex_unlock(&wlock);
}

/* Next output of the given kind (others are discarded). */
static struct rpc_out *next_out(enum rpc_out_kind kind)
{
	for (int tries = 0; tries < 500; tries++) {
		struct rpc_out *o;

		if (!pending_head) {
			pending_head = rpc_take_outputs();
			for (pending_tail = pending_head;
			     pending_tail && pending_tail->next;
			     pending_tail = pending_tail->next)
				;
		}
		while (pending_head) {
			o = pending_head;
			pending_head = o->next;
			o->next = NULL;
			if (o->kind == kind)
				return o;
			rpc_out_free(o);
		}
		usleep(10000);
	}
	fail_msg("no output of kind %d", kind);
	return NULL;
}

static json_t *reply_json(void)
{
	struct rpc_out *o = next_out(RPC_OUT_REPLY);
	json_t *j = json_loadb((const char *)refbuf_bytes(o->bytes),
			       o->bytes->len, 0, NULL);

	assert_non_null(j);
	rpc_out_free(o);
	return j;
}

static json_t *call_raw(const char *text)
{
	rpc_submit_message(1, text, strlen(text));
	return reply_json();
}

static int error_code(json_t *r)
{
	json_t *e = json_object_get(r, "error");

	assert_non_null(e);
	return (int)json_integer_value(json_object_get(e, "code"));
}

static int setup_exec(void **state)
{
	struct rpc_exec_opts eo = RPC_EXEC_OPTS_INIT;
	char mig[512];
	struct store *s;

	(void)state;
	make_tmpdir();
	snprintf(mig, sizeof(mig), "%s/migrations", SCHOLIA_SOURCE_DIR);
	s = open_fresh("exec.db", mig);
	assert_int_equal(store_exec(s, "CREATE TABLE t(v TEXT)"), 0);
	rpc_register(test_methods);
	pool = pool_start(1);
	eo.db = s;
	eo.pool = pool;
	eo.wake = on_wake;
	assert_int_equal(rpc_exec_start(&eo), 0);
	rpc_conn_open(1, "127.0.0.1", "unit", NULL);
	return 0;
}

static int teardown_exec(void **state)
{
	(void)state;
	pool_stop(pool);
	rpc_exec_stop();
	return 0;
}

static void test_roundtrip(void **state)
{
	json_t *r = call_raw("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":"
			     "\"test.int\",\"params\":{\"n\":3}}");

	(void)state;
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 5);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(r, "result"), "n")),
			 3);
	assert_string_equal(json_string_value(json_object_get(r, "jsonrpc")),
			    "2.0");
	json_decref(r);
}

static void test_errors(void **state)
{
	json_t *r;

	(void)state;
	r = call_raw("{not json");
	assert_int_equal(error_code(r), RPC_E_PARSE);
	assert_true(json_is_null(json_object_get(r, "id")));
	json_decref(r);

	r = call_raw("{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"test.int\"}");
	assert_int_equal(error_code(r), RPC_E_INVALID_REQUEST);
	json_decref(r);

	r = call_raw("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}");
	assert_int_equal(error_code(r), RPC_E_INVALID_REQUEST);
	json_decref(r);

	r = call_raw("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"no.such\"}");
	assert_int_equal(error_code(r), RPC_E_METHOD_NOT_FOUND);
	json_decref(r);

	r = call_raw("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.int\","
		     "\"params\":{\"n\":\"x\"}}");
	assert_int_equal(error_code(r), RPC_E_INVALID_PARAMS);
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(json_object_get(r, "error"), "data"),
			"field")),
		"n");
	json_decref(r);

	r = call_raw("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.int\","
		     "\"params\":[1]}");
	assert_int_equal(error_code(r), RPC_E_INVALID_PARAMS);
	json_decref(r);

	r = call_raw(
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.crash\"}");
	assert_int_equal(error_code(r), RPC_E_INTERNAL);
	json_decref(r);

	r = call_raw("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
		     "\"test.private\",\"params\":{\"v\":\"a\"}}");
	assert_int_equal(error_code(r), RPC_E_UNAUTHENTICATED);
	json_decref(r);

	r = call_raw("[]");
	assert_int_equal(error_code(r), RPC_E_INVALID_REQUEST);
	json_decref(r);
}

static void test_depth_limit(void **state)
{
	struct buf b = BUF_INIT;
	json_t *r;

	(void)state;
	for (int i = 0; i < 33; i++)
		buf_addch(&b, '[');
	for (int i = 0; i < 33; i++)
		buf_addch(&b, ']');
	r = call_raw(buf_str(&b));
	assert_int_equal(error_code(r), RPC_E_INVALID_REQUEST);
	assert_true(json_is_null(json_object_get(r, "id")));
	json_decref(r);
	/* 32 is allowed: an array of 31 nested arrays in a batch is a batch
	 * of invalid requests, not a depth error */
	assert_int_equal(rpc_json_depth("[[\"[[[[\"]]", 10, 32), 2);
	buf_free(&b);
}

static void test_batch_and_notifications(void **state)
{
	json_t *r;

	(void)state;
	r = call_raw("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.int\","
		     "\"params\":{\"n\":1}},"
		     "{\"jsonrpc\":\"2.0\",\"method\":\"test.int\","
		     "\"params\":{\"n\":2}},"
		     "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"nope\"},"
		     "7]");
	assert_true(json_is_array(r));
	/* the notification gets no reply; the 7 gets Invalid Request */
	assert_int_equal(json_array_size(r), 3);
	assert_int_equal(
		json_integer_value(json_object_get(json_array_get(r, 0), "id")),
		1);
	assert_int_equal(error_code(json_array_get(r, 1)),
			 RPC_E_METHOD_NOT_FOUND);
	assert_int_equal(error_code(json_array_get(r, 2)),
			 RPC_E_INVALID_REQUEST);
	json_decref(r);

	/* a lone notification gets nothing: the next reply is the ping's */
	{
		static const char note[] =
			"{\"jsonrpc\":\"2.0\",\"method\":\"test.int\","
			"\"params\":{\"n\":1}}";

		rpc_submit_message(1, note, strlen(note));
	}
	r = call_raw("{\"jsonrpc\":\"2.0\",\"id\":99,\"method\":\"test.int\","
		     "\"params\":{\"n\":9}}");
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 99);
	json_decref(r);
}

static void test_savepoints_isolate_calls(void **state)
{
	json_t *r;

	(void)state;
	/* three writes in one batch: the middle one fails after writing.
	 * Its write and its event must vanish; the others commit. */
	r = call_raw("["
		     "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.write\","
		     "\"params\":{\"v\":\"keep-a\"}},"
		     "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"test.write\","
		     "\"params\":{\"v\":\"fail-after-write\"}},"
		     "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"test.write\","
		     "\"params\":{\"v\":\"keep-b\"}}]");
	assert_int_equal(error_code(json_array_get(r, 1)), RPC_E_CONFLICT);
	{
		json_int_t s1 = json_integer_value(json_object_get(
			json_object_get(json_array_get(r, 0), "result"),
			"seq"));
		json_int_t s3 = json_integer_value(json_object_get(
			json_object_get(json_array_get(r, 2), "result"),
			"seq"));

		/* the failed call's seq was rolled back with it */
		assert_int_equal(s3, s1 + 1);
	}
	json_decref(r);
	r = call_raw("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"test.count\","
		     "\"params\":{\"v\":\"fail-after-write\"}}");
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(r, "result"), "count")),
			 0);
	json_decref(r);
	r = call_raw("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"test.count\","
		     "\"params\":{\"v\":\"keep-b\"}}");
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(r, "result"), "count")),
			 1);
	json_decref(r);
}

/* The count of rows v in t, through test.count. */
static json_int_t count_of(const char *v)
{
	char text[256];
	json_t *r;
	json_int_t n;

	snprintf(text, sizeof(text),
		 "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"test.count\","
		 "\"params\":{\"v\":\"%s\"}}",
		 v);
	r = call_raw(text);
	n = json_integer_value(
		json_object_get(json_object_get(r, "result"), "count"));
	json_decref(r);
	return n;
}

static void test_keep_outlives_a_failing_call(void **state)
{
	json_t *r;

	(void)state;
	/* the call writes, keeps three pieces of work and fails: its own
	 * write goes, the kept work stays, but for the one that failed */
	r = call_raw("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
		     "\"test.write\",\"params\":{\"v\":\"fail-after-keep\"}}");
	assert_int_equal(error_code(r), RPC_E_CONFLICT);
	json_decref(r);
	assert_int_equal(count_of("fail-after-keep"), 0);
	assert_int_equal(count_of("kept"), 1);
	assert_int_equal(count_of("kept-bad"), 0);
	assert_int_equal(count_of("kept-too"), 1);
}

static void test_events_after_commit(void **state)
{
	struct rpc_out *o;
	json_t *ev, *r;
	json_int_t seq;

	(void)state;
	r = call_raw("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.write\","
		     "\"params\":{\"v\":\"evt\"}}");
	seq = json_integer_value(
		json_object_get(json_object_get(r, "result"), "seq"));
	json_decref(r);
	/* the event comes after the reply, with the same seq, serialised */
	o = next_out(RPC_OUT_EVENT);
	assert_int_equal(o->circle, 7);
	ev = json_loadb((const char *)refbuf_bytes(o->bytes), o->bytes->len, 0,
			NULL);
	assert_string_equal(json_string_value(json_object_get(ev, "method")),
			    "event");
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(ev, "params"), "seq")),
			 seq);
	json_decref(ev);
	rpc_out_free(o);
}

static void test_group_commit_many(void **state)
{
	char msg[160];
	json_int_t last = 0;
	char mig[512];
	int firsts = 0, max_shared = 0;

	(void)state;
	snprintf(mig, sizeof(mig), "%s/migrations", SCHOLIA_SOURCE_DIR);
	observer = open_fresh("exec.db", mig);
	/* hold the store thread, so that all 200 are queued before it runs */
	gate_entered = gate_open = false;
	rpc_submit_message(1,
			   "{\"jsonrpc\":\"2.0\",\"id\":999,"
			   "\"method\":\"test.block\"}",
			   strlen("{\"jsonrpc\":\"2.0\",\"id\":999,"
				  "\"method\":\"test.block\"}"));
	pthread_mutex_lock(&gate_lock);
	while (!gate_entered)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	/* many writes queued at once share transactions; every one is
	 * answered and seqs grow by one each */
	for (int i = 0; i < 200; i++) {
		int n = snprintf(msg, sizeof(msg),
				 "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":"
				 "\"test.write\",\"params\":{\"v\":\"g%d\"}}",
				 i + 1000, i);
		rpc_submit_message(1, msg, (size_t)n);
	}
	pthread_mutex_lock(&gate_lock);
	gate_open = true;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
	json_decref(reply_json()); /* test.block */
	for (int i = 0; i < 200; i++) {
		json_t *r = reply_json();
		json_int_t seq = json_integer_value(
			json_object_get(json_object_get(r, "result"), "seq"));
		json_int_t unc = json_integer_value(json_object_get(
			json_object_get(r, "result"), "uncommitted"));

		assert_int_equal(json_integer_value(json_object_get(r, "id")),
				 i + 1000);
		if (last)
			assert_int_equal(seq, last + 1);
		last = seq;
		/* the first call of a transaction sees its own row alone */
		assert_true(unc >= 1);
		if (unc == 1)
			firsts++;
		if (unc > max_shared)
			max_shared = (int)unc;
		json_decref(r);
	}
	/* shared: far fewer transactions than calls, and one of them held
	 * many calls; RPC_FAIR_SHARE bounds what one connection gets into
	 * one transaction */
	if (getenv("TEST_VERBOSE"))
		print_message("200 calls in %d transactions, up to %d in one\n",
			      firsts, max_shared);
	assert_true(firsts >= 200 / RPC_FAIR_SHARE);
	assert_true(firsts < 100);
	assert_true(max_shared >= 10 && max_shared <= RPC_FAIR_SHARE);
	store_close(observer);
	observer = NULL;
}

static void test_deferred(void **state)
{
	json_t *r;

	(void)state;
	r = call_raw("{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"test.slow\","
		     "\"params\":{\"n\":21}}");
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 8);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(r, "result"), "doubled")),
			 42);
	json_decref(r);
	/* in a batch, the batch waits for the deferred call */
	r = call_raw("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.slow\","
		     "\"params\":{\"n\":2}},"
		     "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"test.int\","
		     "\"params\":{\"n\":5}}]");
	assert_true(json_is_array(r));
	assert_int_equal(json_array_size(r), 2);
	assert_int_equal(
		json_integer_value(json_object_get(
			json_object_get(json_array_get(r, 0), "result"),
			"doubled")),
		4);
	json_decref(r);
}

/* ---- migrations ---- */

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_migrations(void **state)
{
	char dir[300], path[512], err[256];
	struct store_opts so = STORE_OPTS_INIT;
	struct migration_status ms;
	struct store *s = NULL;
	int64_t n = 0;

	(void)state;
	make_tmpdir();
	snprintf(dir, sizeof(dir), "%s/mig", tmpdir);
	assert_int_equal(mkdir(dir, 0755), 0);
	write_file(dir, "0001_a.sql", "CREATE TABLE a(x);");
	write_file(dir, "0002_b.sql",
		   "CREATE TABLE b(y); INSERT INTO b VALUES (1);");
	write_file(dir, "README.md", "not a migration");
	snprintf(path, sizeof(path), "%s/m.db", tmpdir);
	so.path = path;
	so.migrations_dir = dir;
	assert_int_equal(store_open(&so, &s, err, sizeof(err)), 0);
	assert_int_equal(store_migration_status(s, dir, &ms), 0);
	assert_int_equal(ms.applied, 2);
	assert_int_equal(ms.available, 2);
	assert_int_equal(store_int_query(s, &n, "SELECT count(*) FROM b", ""),
			 1);
	assert_int_equal(n, 1);
	store_close(s);

	/* re-open: nothing applied twice */
	assert_int_equal(store_open(&so, &s, err, sizeof(err)), 0);
	assert_int_equal(store_int_query(s, &n, "SELECT count(*) FROM b", ""),
			 1);
	assert_int_equal(n, 1);
	store_close(s);

	/* a broken migration leaves the database at the previous version */
	write_file(dir, "0003_bad.sql", "CREATE TABLE c(z); THIS IS NOT SQL;");
	assert_int_not_equal(store_open(&so, &s, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "0003_bad.sql"));
	{
		char bad[512];

		snprintf(bad, sizeof(bad), "%s/0003_bad.sql", dir);
		unlink(bad);
	}
	assert_int_equal(store_open(&so, &s, err, sizeof(err)), 0);
	assert_int_equal(store_int_query(s, &n,
					 "SELECT count(*) FROM sqlite_master "
					 "WHERE name='c'",
					 ""),
			 1);
	assert_int_equal(n, 0);
	/* a newer scholia migrated this database to version 9 */
	assert_int_equal(store_exec(s, "INSERT INTO schema_migrations "
				       "VALUES (9, '0009_future.sql', 0)"),
			 0);
	store_close(s);
	assert_int_equal(store_open(&so, &s, err, sizeof(err)), SCH_ETOONEW);
	assert_null(s);
	assert_non_null(strstr(err, "newer"));
	/* also when not migrating (migrate --status, read-only tools) */
	so.migrate = false;
	assert_int_equal(store_open(&so, &s, err, sizeof(err)), SCH_ETOONEW);
}

static void test_corrupt_database(void **state)
{
	struct store_opts so = STORE_OPTS_INIT;
	struct store *s = NULL;
	char path[512], err[256];
	FILE *f;

	(void)state;
	make_tmpdir();
	snprintf(path, sizeof(path), "%s/corrupt.db", tmpdir);
	f = fopen(path, "w");
	for (int i = 0; i < 200; i++)
		fputs("this is not an sqlite database file at all. ", f);
	fclose(f);
	so.path = path;
	assert_int_equal(store_open(&so, &s, err, sizeof(err)), SCH_ECORRUPT);
	assert_null(s);
	assert_non_null(strstr(err, "not a usable database"));
}

/* ---- send queue, utilities ---- */

static void test_sendq_bound(void **state)
{
	struct sendq q = SENDQ_INIT(1000);
	struct refbuf *rb = refbuf_new("0123456789", 10);
	struct refbuf *big = refbuf_new("x", 1);

	(void)state;
	for (int i = 0; i < 100; i++)
		assert_int_equal(sendq_push(&q, rb), 0);
	assert_int_equal(q.bytes, 1000);
	/* one byte more is refused and nothing is queued */
	assert_int_equal(sendq_push(&q, big), -1);
	assert_int_equal(q.len, 100);
	/* the shared buffer has one reference per queued copy + ours */
	assert_int_equal(atomic_load(&rb->refs), 101);
	sendq_pop(&q);
	assert_int_equal(q.bytes, 990);
	assert_int_equal(sendq_push(&q, big), 0);
	assert_ptr_equal(sendq_peek(&q), rb);
	sendq_clear(&q);
	assert_int_equal(atomic_load(&rb->refs), 1);
	refbuf_unref(rb);
	refbuf_unref(big);
}

/* The redacted form of a stored event: the overlay's keys laid over the
 * data; a whole redacted copy (what older logs stored) gives the same. */
static void test_bus_redacted(void **state)
{
	static const char data[] = "{\"id\":4,\"body\":\"secret\","
				   "\"body_html\":\"<p>secret</p>\","
				   "\"hidden\":false,\"circle\":2}";
	static const char want[] = "{\"id\":4,\"body\":null,"
				   "\"body_html\":null,\"hidden\":true,"
				   "\"circle\":2}";
	char *a, *b;

	(void)state;
	a = bus_redacted(data, "{\"body\":null,\"body_html\":null,"
			       "\"hidden\":true}");
	assert_string_equal(a, want);
	b = bus_redacted(data, want);
	assert_string_equal(b, want);
	free(a);
	free(b);
}

/* jsonout_dump gives json_dumps(JSON_COMPACT)'s text, byte for byte. */
static void test_jsonout(void **state)
{
	static const char nul[] = "a\0b";
	json_t *v = json_pack(
		"{s:s, s:I, s:I, s:b, s:b, s:n, s:[], s:{}, s:[i,s,{s:[n]}],"
		" s:s, s:s, s:f}",
		"body", "He said \"no\" \\ then\n\tleft\r\b\f\x01\x1f\x7f /",
		"id", (json_int_t)9007199254740993LL, "neg", (json_int_t)-42,
		"t", 1, "f", 0, "nothing", "empty", "obj", "nested", 1, "x",
		"k", "unicode", "a\xc2\xa3\xe2\x80\x94\xf0\x9f\x93\x96",
		"\"odd\" key\n", "v", "real", 2.5);
	char *a, *b;

	(void)state;
	assert_non_null(v);
	json_object_set_new(v, "nul", json_stringn(nul, 3));
	a = jsonout_dump(v);
	b = json_dumps(v, JSON_COMPACT);
	assert_non_null(a);
	assert_non_null(b);
	assert_string_equal(a, b);
	free(a);
	free(b);
	json_decref(v);
	a = jsonout_dump(json_null());
	assert_string_equal(a, "null");
	free(a);
}

static void test_utf8(void **state)
{
	const char *s = "a\xc2\xa3\xe2\x80\x94\xf0\x9f\x93\x96"; /* a£—📖 */

	(void)state;
	assert_true(utf8_valid(s, strlen(s)));
	assert_int_equal(utf8_count(s, strlen(s)), 4);
	assert_int_equal(utf8_offset(s, strlen(s), 2), 3);
	assert_false(utf8_valid("\xc0\xaf", 2));	 /* overlong */
	assert_false(utf8_valid("\xed\xa0\x80", 3));	 /* surrogate */
	assert_false(utf8_valid("\xe2\x80", 2));	 /* truncated */
	assert_false(utf8_valid("\xf5\x80\x80\x80", 4)); /* > U+10FFFF */
}

static void test_u64map(void **state)
{
	struct u64map m = U64MAP_INIT;
	int vals[2000];

	(void)state;
	for (int i = 0; i < 2000; i++)
		u64map_put(&m, (uint64_t)i + 1, &vals[i]);
	for (int i = 0; i < 2000; i += 2)
		assert_ptr_equal(u64map_del(&m, (uint64_t)i + 1), &vals[i]);
	for (int i = 0; i < 2000; i++)
		assert_ptr_equal(u64map_get(&m, (uint64_t)i + 1),
				 i % 2 ? &vals[i] : NULL);
	assert_int_equal(m.used, 1000);
	u64map_free(&m);
}

int main(void)
{
	const struct CMUnitTest exec_tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_batch_and_notifications),
		cmocka_unit_test(test_savepoints_isolate_calls),
		cmocka_unit_test(test_keep_outlives_a_failing_call),
		cmocka_unit_test(test_events_after_commit),
		cmocka_unit_test(test_group_commit_many),
		cmocka_unit_test(test_deferred),
	};
	const struct CMUnitTest other_tests[] = {
		cmocka_unit_test(test_migrations),
		cmocka_unit_test(test_corrupt_database),
		cmocka_unit_test(test_sendq_bound),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_jsonout),
		cmocka_unit_test(test_bus_redacted),
		cmocka_unit_test(test_u64map),
	};
	int rc = cmocka_run_group_tests_name("rpc+executor", exec_tests,
					     setup_exec, teardown_exec);

	rc |= cmocka_run_group_tests_name("store+util", other_tests, NULL,
					  NULL);
	return rc;
}
