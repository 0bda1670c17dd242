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

#include "support/fixture.h"

static int order_of(struct fixture *f, int64_t chapter)
{
	struct books_chapter_info ci;

	assert_int_equal(books_chapter_info(f->db, chapter, &ci), 0);
	return ci.order;
}

/* The access gate: members and site admins pass, outsiders and unknown
 * circles both read as "not found", with the viewer filled in. */
static void test_gate(void **state)
{
	struct fixture *f = *state;
	struct vis_viewer v;

	assert_int_equal(circles_gate(f->db, f->circle, f->alice, false, &v),
			 0);
	assert_int_equal(v.role, VIS_ROLE_OWNER);
	assert_int_equal(circles_gate(f->db, f->circle, f->bob, false, &v), 0);
	assert_int_equal(circles_gate(f->db, f->circle, f->carol, false, &v),
			 SCH_ENOTFOUND);
	assert_int_equal(v.role, VIS_ROLE_NONE);
	assert_int_equal(circles_gate(f->db, f->circle, f->carol, true, &v), 0);
	assert_true(v.is_admin);
	assert_int_equal(circles_gate(f->db, f->circle, 0, false, &v),
			 SCH_ENOTFOUND);
	assert_int_equal(
		circles_gate(f->db, f->circle + 99, f->alice, false, &v),
		SCH_ENOTFOUND);
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
		fixture_call(f, f->alice, "circle.set_role",
			     json_pack("{s:I,s:I,s:s}", "circle",
				       (json_int_t)f->circle, "account",
				       (json_int_t)f->bob, "role", "moderator"),
			     NULL),
		0);
	circles_viewer(f->db, f->circle, f->bob, false, &v);
	assert_int_equal(v.role, VIS_ROLE_MODERATOR);
	/* the last owner cannot step down */
	assert_int_equal(
		fixture_call(f, f->alice, "circle.set_role",
			     json_pack("{s:I,s:I,s:s}", "circle",
				       (json_int_t)f->circle, "account",
				       (json_int_t)f->alice, "role", "member"),
			     NULL),
		RPC_E_CONFLICT);
	/* a moderator is not an owner */
	assert_int_equal(
		fixture_call(f, f->bob, "circle.update",
			     json_pack("{s:I,s:b}", "circle",
				       (json_int_t)f->circle, "post_first", 1),
			     NULL),
		RPC_E_FORBIDDEN);
	/* an outsider learns nothing */
	assert_int_equal(fixture_call(f, f->carol, "circle.get",
				      json_pack("{s:I}", "circle",
						(json_int_t)f->circle),
				      NULL),
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
		fixture_call(f, f->alice, "circle.update",
			     json_pack("{s:I,s:b,s:b}", "circle",
				       (json_int_t)f->circle, "spoiler_guard",
				       1, "post_first", 1),
			     NULL),
		0);
	assert_int_equal(
		fixture_call(f, f->bob, "progress.set",
			     json_pack("{s:I,s:I,s:i}", "circle",
				       (json_int_t)f->circle, "chapter",
				       (json_int_t)f->ch[2], "block", 5),
			     NULL),
		0);
	circles_viewer(f->db, f->circle, f->bob, false, &v);
	assert_true(v.spoiler_guard);
	assert_true(v.post_first);
	assert_int_equal(v.progress_order, order_of(f, f->ch[2]));
	assert_false(v.show_all);
	assert_int_equal(v.nposted, 0);

	/* progress is the furthest point read: a lower position is ignored
	 * (re-opening chapter 1 does not fall back) ... */
	assert_int_equal(
		fixture_call(f, f->bob, "progress.set",
			     json_pack("{s:I,s:I}", "circle",
				       (json_int_t)f->circle, "chapter",
				       (json_int_t)f->ch[1]),
			     NULL),
		0);
	circles_viewer(f->db, f->circle, f->bob, false, &v);
	assert_int_equal(v.progress_order, order_of(f, f->ch[2]));
	/* ... unless the member moves it back deliberately */
	assert_int_equal(
		fixture_call(f, f->bob, "progress.set",
			     json_pack("{s:I,s:I,s:b}", "circle",
				       (json_int_t)f->circle, "chapter",
				       (json_int_t)f->ch[1], "rewind", 1),
			     NULL),
		0);
	circles_viewer(f->db, f->circle, f->bob, false, &v);
	assert_int_equal(v.progress_order, order_of(f, f->ch[1]));

	/* asking to see everything, and back */
	assert_int_equal(
		fixture_call(f, f->bob, "progress.set",
			     json_pack("{s:I,s:b}", "circle",
				       (json_int_t)f->circle, "show_all", 1),
			     NULL),
		0);
	circles_viewer(f->db, f->circle, f->bob, false, &v);
	assert_true(v.show_all);
	assert_int_equal(v.progress_order, order_of(f, f->ch[1]));
	assert_int_equal(
		fixture_call(f, f->bob, "progress.set",
			     json_pack("{s:I,s:b}", "circle",
				       (json_int_t)f->circle, "show_all", 0),
			     NULL),
		0);
	circles_viewer(f->db, f->circle, f->bob, false, &v);
	assert_false(v.show_all);

	/* outsiders may not set progress */
	assert_int_equal(
		fixture_call(f, f->carol, "progress.set",
			     json_pack("{s:I,s:I}", "circle",
				       (json_int_t)f->circle, "chapter",
				       (json_int_t)f->ch[1]),
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
	fixture_call(f, f->alice, "circle.update",
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
		fixture_call(f, f->bob, "progress.set",
			     json_pack("{s:I,s:I,s:b}", "circle",
				       (json_int_t)f->circle, "chapter",
				       (json_int_t)f->ch[1], "read", 1),
			     NULL),
		0);
	circles_viewer(f->db, f->circle, f->bob, false, &v);
	assert_int_equal(v.nposted, 2);
	it.chapter = f->ch[1];
	assert_int_equal(vis_check(&v, &it), VIS_FULL);
	assert_int_equal(
		fixture_call(f, f->bob, "progress.set",
			     json_pack("{s:I,s:I,s:b}", "circle",
				       (json_int_t)f->circle, "chapter",
				       (json_int_t)f->ch[1], "read", 0),
			     NULL),
		0);
	circles_viewer(f->db, f->circle, f->bob, false, &v);
	assert_int_equal(v.nposted, 1);
	assert_int_equal(vis_check(&v, &it), VIS_NONE);
	/* a post is not taken back by read: false */
	assert_int_equal(
		fixture_call(f, f->bob, "progress.set",
			     json_pack("{s:I,s:I,s:b}", "circle",
				       (json_int_t)f->circle, "chapter",
				       (json_int_t)f->ch[0], "read", 0),
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
	assert_int_equal(fixture_call(f, f->bob, "circle.get",
				      json_pack("{s:I}", "circle",
						(json_int_t)f->circle),
				      NULL),
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
	assert_int_equal(fixture_call(f, f->alice, "circle.invite",
				      json_pack("{s:I,s:s}", "circle",
						(json_int_t)f->circle, "role",
						"moderator"),
				      &r),
			 0);
	assert_int_equal(
		fixture_call(f, f->carol, "circle.join",
			     json_pack("{s:s}", "code",
				       json_string_value(
					       json_object_get(r, "code"))),
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

	assert_int_equal(fixture_call(f, f->bob, "circle.subscribe",
				      json_pack("{s:I}", "circle",
						(json_int_t)f->circle),
				      &r),
			 0);
	seq0 = json_integer_value(json_object_get(r, "seq"));
	json_decref(r);
	assert_true(seq0 >= 1); /* bob's member.joined */
	fixture_call(f, f->alice, "plan.set",
		     json_pack("{s:I,s:[{s:I,s:s}]}", "circle",
			       (json_int_t)f->circle, "entries", "chapter",
			       (json_int_t)f->ch[0], "due", "2026-12-01"),
		     NULL);
	assert_int_equal(fixture_call(f, f->bob, "circle.subscribe",
				      json_pack("{s:I,s:I}", "circle",
						(json_int_t)f->circle,
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
		cmocka_unit_test_setup_teardown(test_roles, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_options_and_progress,
						fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_post_first_marks, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_many_marks, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_gate, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_remove_member, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_account_deleted, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_events_stored, fixture_setup, fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
