/*
 * test_moderation.c - unit tests of the moderation module on a fresh
 * database with the real migrations: the audit log refuses UPDATE and DELETE
 * through the store API (the schema enforces it, not only the code), the
 * post gate (mute, slow mode, 20 posts a minute) answers the right codes
 * with retry_after_ms, and RFC 3339 times parse and print.
 *
 * The post gate is reached through a small method this test registers
 * ("test.post"), so that the error objects come out exactly as a client
 * would see them. Mutes are inserted with foreign keys off so that this
 * test does not depend on the auth and circles schemas.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/db.h"

#include "moderation/internal.h"
#include "moderation/moderation.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "util/err.h"
#include "util/rfc3339.h"

struct fixture {
	char path[64];
	struct store *db;
};

/* test.post {circle, role}: the gate threads passes before a post. */
static int test_post(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	struct vis_viewer v;
	int64_t circle = 0, role = 1;

	if (rpc_param_id(ctx, params, "circle", true, &circle) ||
	    rpc_param_int(ctx, params, "role", false, 1, 3, &role))
		return RPC_ERR;
	memset(&v, 0, sizeof(v));
	v.account = rpc_account(ctx);
	v.circle = circle;
	v.role = (enum vis_role)role;
	if (moderation_check_post(ctx, &v, circle))
		return RPC_ERR;
	*result = json_true();
	return 0;
}

static const struct rpc_method test_methods[] = {
	{"test.post", test_post, RPC_AUTH}, {NULL, NULL, 0}};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->db = fixture_open_db(f->path, sizeof(f->path), "mod");
	assert_int_equal(store_exec(f->db, "PRAGMA foreign_keys=OFF;"), 0);
	rpc_config.posts_per_minute = 20;
	moderation_config.autohide_flags = 3;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fixture_close_db(f->db, f->path);
	free(f);
	return 0;
}

/* Calls test.post as account in circle; returns the error code (0: ok)
 * and, when err is not NULL, the error object (caller frees). */
static int post(struct store *db, int64_t account, int64_t circle, int role,
		json_t **err)
{
	struct rpc_ctx *ctx = rpc_ctx_new_local(db, account, false);
	json_t *params = json_pack("{s:I,s:i}", "circle", (json_int_t)circle,
				   "role", role);
	json_t *res = NULL, *e = NULL;
	int code;

	code = rpc_call_local(ctx, "test.post", params, &res, &e);
	json_decref(params);
	json_decref(res);
	if (err)
		*err = e;
	else
		json_decref(e);
	rpc_ctx_free_local(ctx);
	return code;
}

static int64_t retry_ms(json_t *err)
{
	json_t *d = json_object_get(err, "data");
	json_t *r = json_object_get(d, "retry_after_ms");

	return r ? (int64_t)json_integer_value(r) : -1;
}

static void test_log_is_append_only(void **state)
{
	struct fixture *f = *state;
	struct rpc_ctx *ctx = rpc_ctx_new_local(f->db, 7, false);
	struct store_stmt *st;
	int64_t n = 0;

	assert_int_equal(store_begin(f->db), 0);
	assert_int_equal(
		moderation_log(ctx, 3, "hide", "annotation:1", "uncivil"), 0);
	assert_int_equal(moderation_log(ctx, 3, "lock", "annotation:2", NULL),
			 0);
	assert_int_equal(store_commit(f->db), 0);
	rpc_ctx_free_local(ctx);

	/* the schema refuses every change, whatever the caller */
	assert_true(store_run(f->db, "UPDATE mod_log SET reason = 'nothing'",
			      "") < 0);
	assert_true(store_run(f->db,
			      "UPDATE mod_log SET actor = 1 WHERE id = 1",
			      "") < 0);
	assert_true(store_run(f->db, "DELETE FROM mod_log WHERE id = 1", "") <
		    0);
	assert_true(store_run(f->db, "DELETE FROM mod_log", "") < 0);
	assert_non_null(strstr(store_errmsg(f->db), "append-only"));

	assert_int_equal(
		store_int_query(f->db, &n, "SELECT count(*) FROM mod_log", ""),
		1);
	assert_int_equal(n, 2);
	st = store_query(f->db,
			 "SELECT actor, action, target, reason, circle"
			 " FROM mod_log WHERE id = 1",
			 "");
	assert_non_null(st);
	assert_int_equal(store_row(st), 1);
	assert_int_equal(store_int(st, 0), 7);
	assert_string_equal(store_text(st, 1), "hide");
	assert_string_equal(store_text(st, 2), "annotation:1");
	assert_string_equal(store_text(st, 3), "uncivil");
	assert_int_equal(store_int(st, 4), 3);
	store_done(st);
}

static void test_rate_limit(void **state)
{
	struct fixture *f = *state;
	json_t *err = NULL;
	int64_t r;

	for (int i = 0; i < 20; i++)
		assert_int_equal(post(f->db, 11, 5, 1, NULL), 0);
	assert_int_equal(post(f->db, 11, 5, 1, &err), RPC_E_RATE_LIMITED);
	r = retry_ms(err);
	assert_true(r > 0 && r <= 60000);
	json_decref(err);
	/* moderators are limited too (the limit is per member) */
	for (int i = 0; i < 20; i++)
		assert_int_equal(post(f->db, 12, 5, 2, NULL), 0);
	assert_int_equal(post(f->db, 12, 5, 2, NULL), RPC_E_RATE_LIMITED);
	/* per circle and per member: others are not affected */
	assert_int_equal(post(f->db, 11, 6, 1, NULL), 0);
	assert_int_equal(post(f->db, 13, 5, 1, NULL), 0);
}

static void test_mute(void **state)
{
	struct fixture *f = *state;
	json_t *err = NULL;
	int64_t r;
	char sql[200];

	assert_int_equal(post(f->db, 21, 5, 1, NULL), 0);
	/* a timed mute: -32010 with the time left */
	snprintf(sql, sizeof(sql),
		 "INSERT INTO mutes(circle, account, until, reason, by,"
		 " created_at) VALUES (5, 21, %lld, 'heated', 1, 0)",
		 (long long)time(NULL) + 600);
	assert_int_equal(store_exec(f->db, sql), 0);
	assert_int_equal(post(f->db, 21, 5, 1, &err), RPC_E_LOCKED);
	r = retry_ms(err);
	assert_true(r > 590000 && r <= 600000);
	json_decref(err);
	/* muted only in that circle */
	assert_int_equal(post(f->db, 21, 6, 1, NULL), 0);

	/* until lifted: -32010, no retry_after_ms, data.until null */
	assert_int_equal(store_exec(f->db, "INSERT INTO mutes(circle, account,"
					   " until, reason, by, created_at)"
					   " VALUES (5, 22, NULL, 'x', 1, 0)"),
			 0);
	assert_int_equal(post(f->db, 22, 5, 1, &err), RPC_E_LOCKED);
	assert_int_equal(retry_ms(err), -1);
	assert_true(json_is_null(
		json_object_get(json_object_get(err, "data"), "until")));
	json_decref(err);

	/* an expired mute no longer applies */
	assert_int_equal(store_exec(f->db, "INSERT INTO mutes(circle, account,"
					   " until, reason, by, created_at)"
					   " VALUES (5, 23, 1000, 'x', 1, 0)"),
			 0);
	assert_int_equal(post(f->db, 23, 5, 1, NULL), 0);
}

static void test_slow_mode(void **state)
{
	struct fixture *f = *state;
	json_t *err = NULL;
	int64_t r;

	assert_int_equal(store_exec(f->db, "INSERT INTO circle_pace(circle,"
					   " slow_mode_s) VALUES (8, 120)"),
			 0);
	assert_int_equal(post(f->db, 31, 8, 1, NULL), 0);
	assert_int_equal(post(f->db, 31, 8, 1, &err), RPC_E_LOCKED);
	r = retry_ms(err);
	assert_true(r > 110000 && r <= 120000);
	json_decref(err);
	/* moderators and owners are exempt */
	assert_int_equal(post(f->db, 32, 8, 2, NULL), 0);
	assert_int_equal(post(f->db, 32, 8, 2, NULL), 0);
	assert_int_equal(post(f->db, 33, 8, 3, NULL), 0);
	assert_int_equal(post(f->db, 33, 8, 3, NULL), 0);
	/* a first post is never slowed */
	assert_int_equal(post(f->db, 34, 8, 1, NULL), 0);
}

static void test_failed_post_not_counted(void **state)
{
	struct fixture *f = *state;
	int64_t n = -1;

	/* a refused post leaves no post time behind */
	assert_int_equal(store_exec(f->db, "INSERT INTO circle_pace(circle,"
					   " slow_mode_s) VALUES (9, 60)"),
			 0);
	assert_int_equal(post(f->db, 41, 9, 1, NULL), 0);
	assert_int_equal(post(f->db, 41, 9, 1, NULL), RPC_E_LOCKED);
	assert_int_equal(store_int_query(f->db, &n,
					 "SELECT count(*) FROM post_times"
					 " WHERE circle = 9 AND account = 41",
					 ""),
			 1);
	assert_int_equal(n, 1);
}

static void test_times(void **state)
{
	int64_t t = 0;
	char buf[32];

	(void)state;
	assert_int_equal(rfc3339_parse("2026-11-26T20:51:56Z", &t), 0);
	assert_int_equal(t, 1795726316);
	rfc3339_format(t, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-26T20:51:56Z");
	assert_int_equal(rfc3339_parse("2026-11-26T21:51:56.250+01:00", &t), 0);
	assert_int_equal(t, 1795726316);
	assert_int_equal(rfc3339_parse("2026-11-26T20:51:56-00:30", &t), 0);
	assert_int_equal(t, 1795726316 + 1800);
	assert_int_equal(rfc3339_parse("2026-11-26", &t), SCH_EINVAL);
	assert_int_equal(rfc3339_parse("2026-11-26T20:51:56", &t), SCH_EINVAL);
	assert_int_equal(rfc3339_parse("2026-13-26T20:51:56Z", &t), SCH_EINVAL);
	assert_int_equal(rfc3339_parse("2026-11-26T20:51:56Zjunk", &t),
			 SCH_EINVAL);
	assert_int_equal(rfc3339_parse("tomorrow", &t), SCH_EINVAL);
	assert_int_equal(rfc3339_parse("", &t), SCH_EINVAL);
	/* moderation's JSON times: null for "never" (0), else RFC 3339 */
	{
		json_t *j = mod_time_json(0);

		assert_true(json_is_null(j));
		json_decref(j);
		j = mod_time_json(1795726316);
		assert_string_equal(json_string_value(j),
				    "2026-11-26T20:51:56Z");
		json_decref(j);
	}
	/* the one formatter (util/rfc3339.h) every module's JSON uses */
	rfc3339_format(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	{
		json_t *j = rfc3339_json(1795726316);

		assert_string_equal(json_string_value(j),
				    "2026-11-26T20:51:56Z");
		json_decref(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_log_is_append_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_mute, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_mode, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_failed_post_not_counted,
						setup, teardown),
		cmocka_unit_test(test_times),
	};

	rpc_register(test_methods);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
