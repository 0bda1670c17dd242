/*
 * fuzz_rpc.c - libFuzzer target for the JSON-RPC parser and dispatcher with
 * the real database behind it.
 *
 * Once per process: a fresh temporary database with every migration and the
 * sample book, every module registered, an account owning a circle with a
 * second member and posts by both (see seed_content()), the store executor
 * thread and a worker pool, exactly as `scholia serve` wires them (minus the
 * sockets). Each input is submitted as one WebSocket text message with
 * rpc_submit_message() on a fresh connection authenticated by the fuzz
 * account's session token, followed by a sentinel call; the outputs are drained
 * until the sentinel's reply arrives, so every reply, event and effect of the
 * input went through the executor. When an input logged the account out,
 * revoked its session or deleted it, the account is logged in (or re-created)
 * again so later inputs stay authenticated. FUZZ_RPC_VERBOSE=1 prints every
 * reply (to check a seed).
 */
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth.h"
#include "books/books.h"
#include "modules.h"
#include "rpc/rpc.h"
#include "rpc/transport.h"
#include "store/store.h"
#include "util/pool.h"
#include "util/refbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_PASSWORD "correct horse battery"

static char dir[256], dbpath[300], keypath[300], handle[40];
static int accounts_made;
static char *token;
static uint64_t next_conn = 1;
static struct pool *pool;
static pthread_mutex_t wlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wcond = PTHREAD_COND_INITIALIZER;
static unsigned wakes;

static void on_wake(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&wlock);
	wakes++;
	pthread_cond_signal(&wcond);
	pthread_mutex_unlock(&wlock);
}

static void die(const char *what)
{
	fprintf(stderr, "fuzz_rpc: setup failed: %s\n", what);
	abort();
}

static struct store *open_db(bool migrate)
{
	struct store_opts so = STORE_OPTS_INIT;
	struct store *s = NULL;
	char err[256];

	so.path = dbpath;
	so.migrations_dir = SCHOLIA_SOURCE_DIR "/migrations";
	so.durability = STORE_DURABILITY_NORMAL;
	so.migrate = migrate;
	if (store_open(&so, &s, err, sizeof(err)))
		die(err);
	return s;
}

/* A new account with a fresh handle, made through a second connection to
 * the database (WAL lets it write beside the executor's). */
static void make_account(void)
{
	struct store *s = open_db(false);
	char err[256];
	FILE *devnull = fopen("/dev/null", "w");

	snprintf(handle, sizeof(handle), "fuzzer%d", ++accounts_made);
	if (auth_cli_create_account(s, handle, "Fuzz", false, FZ_PASSWORD, "",
				    devnull, err, sizeof(err)))
		die(err);
	if (devnull)
		fclose(devnull);
	store_close(s);
}

/* Waits for the reply whose id is the string want; returns it (caller
 * decrefs) and frees every other output. NULL after ~10 s. */
static json_t *wait_reply(const char *want)
{
	for (int rounds = 0; rounds < 1000; rounds++) {
		struct rpc_out *o = rpc_take_outputs(), *next;
		json_t *found = NULL;

		for (; o; o = next) {
			next = o->next;
			if (o->kind == RPC_OUT_REPLY && !found) {
				json_t *j = json_loadb(
					(const char *)refbuf_bytes(o->bytes),
					o->bytes->len, 0, NULL);
				const char *id = json_string_value(
					json_object_get(j, "id"));

				if (getenv("FUZZ_RPC_VERBOSE"))
					fprintf(stderr, "reply: %.*s\n",
						(int)o->bytes->len,
						(const char *)refbuf_bytes(
							o->bytes));
				if (id && strcmp(id, want) == 0)
					found = j;
				else
					json_decref(j);
			}
			rpc_out_free(o);
		}
		if (found)
			return found;
		pthread_mutex_lock(&wlock);
		if (!wakes) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 10 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&wcond, &wlock, &ts);
		}
		wakes = 0;
		pthread_mutex_unlock(&wlock);
	}
	return NULL;
}

static void submit(uint64_t conn, const char *text)
{
	rpc_submit_message(conn, text, strlen(text));
}

/* Logs the fuzz account in on a throw-away connection; re-creates the
 * account when the login fails (an input deleted it). */
static void login(void)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		uint64_t conn = next_conn++;
		char msg[256];
		json_t *r, *res;

		rpc_conn_open(conn, "127.0.0.1", "fuzz", NULL);
		snprintf(msg, sizeof(msg),
			 "{\"jsonrpc\":\"2.0\",\"id\":\"fz-login\",\"method\":"
			 "\"auth.login\",\"params\":{\"handle\":\"%s\","
			 "\"password\":\"" FZ_PASSWORD "\"}}",
			 handle);
		submit(conn, msg);
		r = wait_reply("fz-login");
		rpc_conn_close(conn);
		res = json_object_get(r, "result");
		if (json_is_string(json_object_get(res, "token"))) {
			free(token);
			token = strdup(json_string_value(
				json_object_get(res, "token")));
			json_decref(r);
			return;
		}
		json_decref(r);
		make_account();
	}
	die("cannot log the fuzz account in");
}

/* Submits text on conn and returns the "result" of the reply with id
 * "fz-seed" (new reference, NULL on an error reply). */
static json_t *seed_call(uint64_t conn, const char *text)
{
	json_t *r, *res;

	submit(conn, text);
	r = wait_reply("fz-seed");
	res = json_incref(json_object_get(r, "result"));
	if (!res)
		fprintf(stderr, "fuzz_rpc: seed call failed: %s\n", text);
	json_decref(r);
	return res;
}

/*
 * The fuzz account's circle (it is the owner, so moderation is in reach), a
 * second account "fuzzpeer" that joins it and posts an annotation and a
 * reply (so that flags, hides, mutes and removals have someone else's
 * content to act on), and one annotation of the fuzz account's own.
 */
static void seed_content(void)
{
	uint64_t conn = next_conn++, peer = next_conn++;
	char msg[512], err[256];
	json_t *res;
	struct store *s;
	FILE *devnull = fopen("/dev/null", "w");

	rpc_conn_open(conn, "127.0.0.1", "fuzz", token);
	json_decref(seed_call(
		conn, "{\"jsonrpc\":\"2.0\",\"id\":\"fz-seed\",\"method\":"
		      "\"circle.create\",\"params\":{\"name\":\"Fuzz circle\","
		      "\"book\":1}}"));
	json_decref(seed_call(
		conn, "{\"jsonrpc\":\"2.0\",\"id\":\"fz-seed\",\"method\":"
		      "\"annotation.create\",\"params\":{\"circle\":1,"
		      "\"chapter\":1,\"target\":null,\"visibility\":\"circle\","
		      "\"body\":\"first\"}}"));
	res = seed_call(conn,
			"{\"jsonrpc\":\"2.0\",\"id\":\"fz-seed\",\"method\":"
			"\"circle.invite\",\"params\":{\"circle\":1}}");
	s = open_db(false);
	if (auth_cli_create_account(s, "fuzzpeer", "Peer", false, FZ_PASSWORD,
				    "", devnull, err, sizeof(err)))
		die(err);
	store_close(s);
	if (devnull)
		fclose(devnull);
	rpc_conn_open(peer, "127.0.0.1", "fuzz", NULL);
	json_decref(seed_call(
		peer, "{\"jsonrpc\":\"2.0\",\"id\":\"fz-seed\",\"method\":"
		      "\"auth.login\",\"params\":{\"handle\":\"fuzzpeer\","
		      "\"password\":\"" FZ_PASSWORD "\"}}"));
	if (json_is_string(json_object_get(res, "code"))) {
		snprintf(msg, sizeof(msg),
			 "{\"jsonrpc\":\"2.0\",\"id\":\"fz-seed\",\"method\":"
			 "\"circle.join\",\"params\":{\"code\":\"%s\"}}",
			 json_string_value(json_object_get(res, "code")));
		json_decref(seed_call(peer, msg));
	}
	json_decref(res);
	json_decref(seed_call(
		peer, "{\"jsonrpc\":\"2.0\",\"id\":\"fz-seed\",\"method\":"
		      "\"annotation.create\",\"params\":{\"circle\":1,"
		      "\"chapter\":1,\"target\":null,\"visibility\":\"circle\","
		      "\"body\":\"the peer's thought\"}}"));
	json_decref(seed_call(
		peer, "{\"jsonrpc\":\"2.0\",\"id\":\"fz-seed\",\"method\":"
		      "\"reply.create\",\"params\":{\"annotation\":1,"
		      "\"body\":\"the peer's reply\"}}"));
	rpc_conn_close(peer);
	json_decref(seed_call(
		conn, "{\"jsonrpc\":\"2.0\",\"id\":\"fz-seed\",\"method\":"
		      "\"circle.subscribe\",\"params\":{\"circle\":1}}"));
	rpc_conn_close(conn);
}

static void teardown(void)
{
	if (pool) {
		pool_stop(pool);
		rpc_exec_stop();
		pool = NULL;
		for (struct rpc_out *o = rpc_take_outputs(), *n; o; o = n) {
			n = o->next;
			rpc_out_free(o);
		}
	}
	free(token);
	token = NULL;
	if (dir[0]) {
		static const char *const suffix[] = {"", "-wal", "-shm", NULL};
		char p[320];

		for (int i = 0; suffix[i]; i++) {
			snprintf(p, sizeof(p), "%s%s", dbpath, suffix[i]);
			unlink(p);
		}
		unlink(keypath);
		rmdir(dir);
	}
}

static void setup(void)
{
	struct rpc_exec_opts eo = RPC_EXEC_OPTS_INIT;
	struct store *s;

	snprintf(dir, sizeof(dir), "/tmp/scholia-fuzz-rpc-XXXXXX");
	if (!mkdtemp(dir))
		die("mkdtemp");
	snprintf(dbpath, sizeof(dbpath), "%s/fuzz.db", dir);
	snprintf(keypath, sizeof(keypath), "%s/fuzz.key", dir);
	auth_config.pwhash_ops = 1;
	auth_config.pwhash_mem = 8192;
	auth_config.server_key_path = keypath;
	/* let the fuzzer reach past the limits, not only into them */
	rpc_config.posts_per_minute = 1000000;
	rpc_config.login_failures = 1000000;
	modules_init();
	s = open_db(true);
	if (books_ensure_content(s, SCHOLIA_SOURCE_DIR "/content"))
		die("sample book");
	store_close(s);
	make_account();

	pool = pool_start(1);
	eo.db = open_db(false);
	eo.pool = pool;
	eo.wake = on_wake;
	if (rpc_exec_start(&eo))
		die("rpc_exec_start");
	atexit(teardown);
	login();
	seed_content();
}

static const char SENTINEL[] =
	"{\"jsonrpc\":\"2.0\",\"id\":\"fz-end\",\"method\":\"account.get\","
	"\"params\":{}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	uint64_t conn;
	json_t *r;

	if (!ready) {
		setup();
		ready = true;
	}
	if (size > 70000)
		return 0;
	conn = next_conn++;
	rpc_conn_open(conn, "127.0.0.1", "fuzz", token);
	rpc_submit_message(conn, (const char *)data, size);
	submit(conn, SENTINEL);
	r = wait_reply("fz-end");
	if (!r) {
		fprintf(stderr, "fuzz_rpc: the executor stopped answering\n");
		abort();
	}
	rpc_conn_close(conn);
	/* the input logged out, revoked the session or deleted the account */
	if (json_object_get(r, "error"))
		login();
	json_decref(r);
	return 0;
}
