/*
 * test_circles.c - the circles module on a fresh database with the real
 * migrations and the sample book: the viewer state that the visibility rule
 * reads (role, options, progress as a reading position, post-first marks,
 * show_all), how the methods change it, and what circles.h promises other
 * modules (circles_book, circles_mark_posted, circles_remove_member).
 *
 * Methods are called with rpc_call_local, as a client would call them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth/auth.h"
#include "books/books.h"
#include "circles/circles.h"
#include "modules.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "util/err.h"

struct fixture {
	char path[64];
	struct store *db;
	int64_t alice, bob, carol; /* owner, member, outsider */
	int64_t book;
	int64_t ch[4]; /* the first chapters in reading order */
	int64_t circle;
};

/* Calls method as account; returns the error code (0: ok) and the result
 * in *res (caller frees; may be NULL). */
static int call(struct fixture *f, int64_t account, const char *method,
		json_t *params, json_t **res)
{
	struct rpc_ctx *ctx = rpc_ctx_new_local(f->db, account, false);
	json_t *r = NULL, *e = NULL;
	int code = rpc_call_local(ctx, method, params, &r, &e);

	rpc_ctx_free_local(ctx);
	json_decref(params);
	if (e && getenv("TEST_VERBOSE")) {
		char *d = json_dumps(e, 0);

		print_message("%s: %s\n", method, d);
		free(d);
	}
	json_decref(e);
	if (res)
		*res = r;
	else
		json_decref(r);
	return code;
}

static int64_t new_account(struct fixture *f, const char *handle)
{
	char err[256] = "";
	FILE *out = fopen("/dev/null", "w");

	if (auth_cli_create_account(f->db, handle, NULL, false, NULL, "", out,
				    err, sizeof(err)) != 0)
		fail_msg("create-account %s: %s", handle, err);
	fclose(out);
	return auth_account_by_handle(f->db, handle);
}

static void load_book(struct fixture *f)
{
	char err[256] = "";
	FILE *out = fopen("/dev/null", "w");
	json_t *r, *parts, *part, *chs, *ch;
	size_t i, j;
	int n = 0;

	if (books_cli_import(
		    f->db, SCHOLIA_SOURCE_DIR "/content/the-rochdale-pioneers",
		    NULL, false, out, err, sizeof(err)) != 0)
		fail_msg("import: %s", err);
	fclose(out);
	assert_int_equal(call(f, f->alice, "book.list", json_object(), &r), 0);
	f->book = json_integer_value(json_object_get(
		json_array_get(json_object_get(r, "items"), 0), "id"));
	json_decref(r);
	assert_int_equal(call(f, f->alice, "book.toc",
			      json_pack("{s:I}", "book", (json_int_t)f->book),
			      &r),
			 0);
	parts = json_object_get(r, "parts");
	json_array_foreach(parts, i, part)
	{
		chs = json_object_get(part, "chapters");
		json_array_foreach(chs, j, ch)
		{
			if (n < 4)
				f->ch[n++] = json_integer_value(
					json_object_get(ch, "id"));
		}
	}
	json_decref(r);
	assert_int_equal(n, 4);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct store_opts o = STORE_OPTS_INIT;
	char err[256] = "";
	json_t *r;
	int fd;

	modules_init();
	snprintf(f->path, sizeof(f->path), "/tmp/sch-circles-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	close(fd);
	unlink(f->path);
	o.path = f->path;
	o.migrations_dir = SCHOLIA_SOURCE_DIR "/migrations";
	o.durability = STORE_DURABILITY_NORMAL;
	if (store_open(&o, &f->db, err, sizeof(err)) != 0)
		fail_msg("store_open: %s", err);
	f->alice = new_account(f, "alice");
	f->bob = new_account(f, "bob");
	f->carol = new_account(f, "carol");
	assert_true(f->alice > 0 && f->bob > 0 && f->carol > 0);
	load_book(f);
	assert_int_equal(call(f, f->alice, "circle.create",
			      json_pack("{s:s,s:I}", "name", "Readers", "book",
					(json_int_t)f->book),
			      &r),
			 0);
	f->circle = json_integer_value(json_object_get(r, "id"));
	json_decref(r);
	assert_int_equal(
		call(f, f->alice, "circle.invite",
		     json_pack("{s:I}", "circle", (json_int_t)f->circle), &r),
		0);
	assert_int_equal(
		call(f, f->bob, "circle.join",
		     json_pack("{s:s}", "code",
			       json_string_value(json_object_get(r, "code"))),
		     NULL),
		0);
	json_decref(r);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char p[96];

	store_close(f->db);
	unlink(f->path);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	free(f);
	return 0;
}

static int order_of(struct fixture *f, int64_t chapter)
{
	struct books_chapter_info ci;

	assert_int_equal(books_chapter_info(f->db, chapter, &ci), 0);
	return ci.order;
}

static void test_roles(void **state)
{
	struct fixture *f = *state;
	struct vis_viewer v;

	assert_int_equal(circles_viewer(f->db, f->circle, f->alice, false, &v),
			 0);
	assert_int_equal(v.role, VIS_ROLE_OWNER);
	assert_int_equal(v.circle, f->circle);
	assert_int_equal(v.account, f->alice);
	assert_int_equal(circles_viewer(f->db, f->circle, f->bob, false, &v),
			 0);
	assert_int_equal(v.role, VIS_ROLE_MEMBER);
	assert_int_equal(circles_viewer(f->db, f->circle, f->carol, true, &v),
			 0);
	assert_int_equal(v.role, VIS_ROLE_NONE);
	assert_true(v.is_admin);
	assert_int_equal(
		circles_viewer(f->db, f->circle + 99, f->bob, false, &v),
		SCH_ENOTFOUND);

	assert_int_equal(
		call(f, f->alice, "circle.set_role",
		     json_pack("{s:I,s:I,s:s}", "circle", (json_int_t)f->circle,
			       "account", (json_int_t)f->bob, "role",
			       "moderator"),
		     NULL),
		0);
	circles_viewer(f->db, f->circle, f->bob, false, &v);
	assert_int_equal(v.role, VIS_ROLE_MODERATOR);
	/* the last owner cannot step down */
	assert_int_equal(call(f, f->alice, "circle.set_role",
			      json_pack("{s:I,s:I,s:s}", "circle",
					(json_int_t)f->circle, "account",
					(json_int_t)f->alice, "role", "member"),
			      NULL),
			 RPC_E_CONFLICT);
	/* a moderator is not an owner */
	assert_int_equal(call(f, f->bob, "circle.update",
			      json_pack("{s:I,s:b}", "circle",
					(json_int_t)f->circle, "post_first", 1),
			      NULL),
			 RPC_E_FORBIDDEN);
	/* an outsider learns nothing */
	assert_int_equal(
		call(f, f->carol, "circle.get",
		     json_pack("{s:I}", "circle", (json_int_t)f->circle), NULL),
		RPC_E_NOT_FOUND);
}

static void test_options_and_progress(void **state)
{
	struct fixture *f = *state;
	struct vis_viewer v;
	int64_t book = 0;

	assert_int_equal(circles_book(f->db, f->circle, &book), 0);
	assert_int_equal(book, f->book);
	assert_int_equal(circles_book(f->db, f->circle + 99, &book),
			 SCH_ENOTFOUND);

	circles_viewer(f->db, f->circle, f->bob, false, &v);
	assert_false(v.spoiler_guard);
	assert_false(v.post_first);
	/* no progress: the first chapter is open */
	assert_int_equal(v.progress_order, 1);

	assert_int_equal(
		call(f, f->alice, "circle.update",
		     json_pack("{s:I,s:b,s:b}", "circle", (json_int_t)f->circle,
			       "spoiler_guard", 1, "post_first", 1),
		     NULL),
		0);
	assert_int_equal(
		call(f, f->bob, "progress.set",
		     json_pack("{s:I,s:I,s:i}", "circle", (json_int_t)f->circle,
			       "chapter", (json_int_t)f->ch[2], "block", 5),
		     NULL),
		0);
	circles_viewer(f->db, f->circle, f->bob, false, &v);
	assert_true(v.spoiler_guard);
	assert_true(v.post_first);
	assert_int_equal(v.progress_order, order_of(f, f->ch[2]));
	assert_false(v.show_all);
	assert_int_equal(v.nposted, 0);

	/* going back is allowed: progress is what the member says */
	assert_int_equal(
		call(f, f->bob, "progress.set",
		     json_pack("{s:I,s:I}", "circle", (json_int_t)f->circle,
			       "chapter", (json_int_t)f->ch[1]),
		     NULL),
		0);
	circles_viewer(f->db, f->circle, f->bob, false, &v);
	assert_int_equal(v.progress_order, order_of(f, f->ch[1]));

	/* asking to see everything, and back */
	assert_int_equal(call(f, f->bob, "progress.set",
			      json_pack("{s:I,s:b}", "circle",
					(json_int_t)f->circle, "show_all", 1),
			      NULL),
			 0);
	circles_viewer(f->db, f->circle, f->bob, false, &v);
	assert_true(v.show_all);
	assert_int_equal(v.progress_order, order_of(f, f->ch[1]));
	assert_int_equal(call(f, f->bob, "progress.set",
			      json_pack("{s:I,s:b}", "circle",
					(json_int_t)f->circle, "show_all", 0),
			      NULL),
			 0);
	circles_viewer(f->db, f->circle, f->bob, false, &v);
	assert_false(v.show_all);

	/* outsiders may not set progress */
	assert_int_equal(
		call(f, f->carol, "progress.set",
		     json_pack("{s:I,s:I}", "circle", (json_int_t)f->circle,
			       "chapter", (json_int_t)f->ch[1]),
		     NULL),
		RPC_E_NOT_FOUND);
}

static void test_post_first_marks(void **state)
{
	struct fixture *f = *state;
	struct rpc_ctx *ctx = rpc_ctx_new_local(f->db, f->bob, false);
	struct vis_viewer v;
	struct vis_item it;

	memset(&it, 0, sizeof(it));
	it.circle = f->circle;
	it.author = f->alice;
	it.chapter = f->ch[0];
	it.chapter_order = order_of(f, f->ch[0]);
	it.thread = true;
	call(f, f->alice, "circle.update",
	     json_pack("{s:I,s:b}", "circle", (json_int_t)f->circle,
		       "post_first", 1),
	     NULL);
	circles_viewer(f->db, f->circle, f->bob, false, &v);
	assert_int_equal(vis_check(&v, &it), VIS_NONE);

	/* posting meets post first, once */
	assert_int_equal(circles_mark_posted(ctx, f->circle, f->bob, f->ch[0]),
			 0);
	assert_int_equal(circles_mark_posted(ctx, f->circle, f->bob, f->ch[0]),
			 0);
	circles_viewer(f->db, f->circle, f->bob, false, &v);
	assert_int_equal(v.nposted, 1);
	assert_int_equal(v.posted[0], f->ch[0]);
	assert_int_equal(vis_check(&v, &it), VIS_FULL);

	/* marking read meets it too, and can be taken back */
	assert_int_equal(
		call(f, f->bob, "progress.set",
		     json_pack("{s:I,s:I,s:b}", "circle", (json_int_t)f->circle,
			       "chapter", (json_int_t)f->ch[1], "read", 1),
		     NULL),
		0);
	circles_viewer(f->db, f->circle, f->bob, false, &v);
	assert_int_equal(v.nposted, 2);
	it.chapter = f->ch[1];
	assert_int_equal(vis_check(&v, &it), VIS_FULL);
	assert_int_equal(
		call(f, f->bob, "progress.set",
		     json_pack("{s:I,s:I,s:b}", "circle", (json_int_t)f->circle,
			       "chapter", (json_int_t)f->ch[1], "read", 0),
		     NULL),
		0);
	circles_viewer(f->db, f->circle, f->bob, false, &v);
	assert_int_equal(v.nposted, 1);
	assert_int_equal(vis_check(&v, &it), VIS_NONE);
	/* a post is not taken back by read: false */
	assert_int_equal(
		call(f, f->bob, "progress.set",
		     json_pack("{s:I,s:I,s:b}", "circle", (json_int_t)f->circle,
			       "chapter", (json_int_t)f->ch[0], "read", 0),
		     NULL),
		0);
	circles_viewer(f->db, f->circle, f->bob, false, &v);
	assert_int_equal(v.nposted, 1);
	rpc_ctx_free_local(ctx);
}

/* A long book: only the most recent VIS_MAX_POSTED marks are in the viewer,
 * and meeting post first again in an old chapter brings it back. */
static void test_many_marks(void **state)
{
	struct fixture *f = *state;
	struct rpc_ctx *ctx = rpc_ctx_new_local(f->db, f->bob, false);
	struct vis_viewer v;
	bool has;

	for (int64_t ch = 1000; ch < 1000 + VIS_MAX_POSTED + 6; ch++)
		assert_int_equal(
			circles_mark_posted(ctx, f->circle, f->bob, ch), 0);
	circles_viewer(f->db, f->circle, f->bob, false, &v);
	assert_int_equal(v.nposted, VIS_MAX_POSTED);
	has = false;
	for (int i = 0; i < v.nposted; i++)
		has = has || v.posted[i] == 1000;
	assert_false(has);
	assert_int_equal(circles_mark_posted(ctx, f->circle, f->bob, 1000), 0);
	circles_viewer(f->db, f->circle, f->bob, false, &v);
	has = false;
	for (int i = 0; i < v.nposted; i++)
		has = has || v.posted[i] == 1000;
	assert_true(has);
	rpc_ctx_free_local(ctx);
}

static void test_remove_member(void **state)
{
	struct fixture *f = *state;
	struct rpc_ctx *ctx = rpc_ctx_new_local(f->db, f->alice, false);
	struct vis_viewer v;

	assert_int_equal(circles_remove_member(ctx, f->circle, f->carol, "x"),
			 SCH_ENOTFOUND);
	/* the sole owner stays */
	assert_int_equal(circles_remove_member(ctx, f->circle, f->alice, "x"),
			 SCH_ECONFLICT);
	assert_int_equal(circles_remove_member(ctx, f->circle, f->bob, "spam"),
			 0);
	circles_viewer(f->db, f->circle, f->bob, false, &v);
	assert_int_equal(v.role, VIS_ROLE_NONE);
	assert_int_equal(
		call(f, f->bob, "circle.get",
		     json_pack("{s:I}", "circle", (json_int_t)f->circle), NULL),
		RPC_E_NOT_FOUND);
	rpc_ctx_free_local(ctx);
}

static void test_account_deleted(void **state)
{
	struct fixture *f = *state;
	struct rpc_ctx *ctx = rpc_ctx_new_local(f->db, f->alice, false);
	struct vis_viewer v;
	json_t *r;

	/* carol joins as moderator, after bob the member */
	assert_int_equal(
		call(f, f->alice, "circle.invite",
		     json_pack("{s:I,s:s}", "circle", (json_int_t)f->circle,
			       "role", "moderator"),
		     &r),
		0);
	assert_int_equal(
		call(f, f->carol, "circle.join",
		     json_pack("{s:s}", "code",
			       json_string_value(json_object_get(r, "code"))),
		     NULL),
		0);
	json_decref(r);
	/* the sole owner goes: the moderator takes over */
	assert_int_equal(circles_account_deleted(ctx, f->alice), 0);
	circles_viewer(f->db, f->circle, f->alice, false, &v);
	assert_int_equal(v.role, VIS_ROLE_NONE);
	circles_viewer(f->db, f->circle, f->carol, false, &v);
	assert_int_equal(v.role, VIS_ROLE_OWNER);
	circles_viewer(f->db, f->circle, f->bob, false, &v);
	assert_int_equal(v.role, VIS_ROLE_MEMBER);
	/* then the next owner goes: the member is left in charge */
	assert_int_equal(circles_account_deleted(ctx, f->carol), 0);
	circles_viewer(f->db, f->circle, f->bob, false, &v);
	assert_int_equal(v.role, VIS_ROLE_OWNER);
	/* an account in no circle: nothing to do */
	assert_int_equal(circles_account_deleted(ctx, f->alice), 0);
	rpc_ctx_free_local(ctx);
}

static void test_events_stored(void **state)
{
	struct fixture *f = *state;
	json_t *r;
	int64_t seq0, seq1;

	assert_int_equal(
		call(f, f->bob, "circle.subscribe",
		     json_pack("{s:I}", "circle", (json_int_t)f->circle), &r),
		0);
	seq0 = json_integer_value(json_object_get(r, "seq"));
	json_decref(r);
	assert_true(seq0 >= 1); /* bob's member.joined */
	call(f, f->alice, "plan.set",
	     json_pack("{s:I,s:[{s:I,s:s}]}", "circle", (json_int_t)f->circle,
		       "entries", "chapter", (json_int_t)f->ch[0], "due",
		       "2026-12-01"),
	     NULL);
	assert_int_equal(
		call(f, f->bob, "circle.subscribe",
		     json_pack("{s:I,s:I}", "circle", (json_int_t)f->circle,
			       "since_seq", (json_int_t)seq0),
		     &r),
		0);
	seq1 = json_integer_value(json_object_get(r, "seq"));
	assert_int_equal(seq1, seq0 + 1);
	assert_int_equal(json_array_size(json_object_get(r, "events")), 1);
	assert_string_equal(
		json_string_value(json_object_get(
			json_array_get(json_object_get(r, "events"), 0),
			"type")),
		"plan.changed");
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_options_and_progress,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_post_first_marks, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_many_marks, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_remove_member, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_account_deleted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_events_stored, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
