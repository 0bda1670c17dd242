/*
 * test_visibility.c - the one visibility rule (server/visibility): who sees
 * which item, for every role, with the spoiler guard, post first, private
 * and hidden items. Pure C, no database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "visibility/visibility.h"

enum {
	CIRCLE = 7,
	ALICE = 1,
	BOB = 2,
	CAROL = 3,
	CH1 = 101,
	CH2 = 102,
	CH3 = 103
};

static struct vis_viewer viewer(int64_t account, enum vis_role role)
{
	struct vis_viewer v;

	memset(&v, 0, sizeof(v));
	v.account = account;
	v.circle = CIRCLE;
	v.role = role;
	v.progress_order = 1;
	return v;
}

/* A thread by author in chapter ch (reading position order). */
static struct vis_item thread(int64_t author, int64_t ch, int order)
{
	struct vis_item it;

	memset(&it, 0, sizeof(it));
	it.circle = CIRCLE;
	it.author = author;
	it.chapter = ch;
	it.chapter_order = order;
	it.thread = true;
	return it;
}

static void test_non_member_sees_nothing(void **state)
{
	struct vis_viewer v = viewer(BOB, VIS_ROLE_NONE);
	struct vis_item it = thread(ALICE, CH1, 1);

	(void)state;
	assert_int_equal(vis_check(&v, &it), VIS_NONE);
	/* anonymous, even with a role by mistake */
	v = viewer(0, VIS_ROLE_MEMBER);
	assert_int_equal(vis_check(&v, &it), VIS_NONE);
	/* a member of another circle */
	v = viewer(BOB, VIS_ROLE_OWNER);
	v.circle = CIRCLE + 1;
	assert_int_equal(vis_check(&v, &it), VIS_NONE);
}

static void test_member_sees_circle_items(void **state)
{
	struct vis_viewer v = viewer(BOB, VIS_ROLE_MEMBER);
	struct vis_item it = thread(ALICE, CH1, 1);

	(void)state;
	assert_int_equal(vis_check(&v, &it), VIS_FULL);
	it.thread = false; /* a reply */
	assert_int_equal(vis_check(&v, &it), VIS_FULL);
}

static void test_private_only_author(void **state)
{
	struct vis_item it = thread(ALICE, CH1, 1);
	struct vis_viewer v;

	(void)state;
	it.private_ = true;
	v = viewer(ALICE, VIS_ROLE_MEMBER);
	assert_int_equal(vis_check(&v, &it), VIS_FULL);
	v = viewer(BOB, VIS_ROLE_MEMBER);
	assert_int_equal(vis_check(&v, &it), VIS_NONE);
	v = viewer(BOB, VIS_ROLE_MODERATOR);
	assert_int_equal(vis_check(&v, &it), VIS_NONE);
	v = viewer(BOB, VIS_ROLE_OWNER);
	assert_int_equal(vis_check(&v, &it), VIS_NONE);
	v = viewer(BOB, VIS_ROLE_OWNER);
	v.is_admin = true;
	assert_int_equal(vis_check(&v, &it), VIS_NONE);
	v = viewer(BOB, VIS_ROLE_NONE);
	v.is_admin = true;
	assert_int_equal(vis_check(&v, &it), VIS_NONE);
	/* show_all and post first never open a private item */
	v = viewer(BOB, VIS_ROLE_MEMBER);
	v.show_all = true;
	vis_mark_posted(&v, CH1);
	assert_int_equal(vis_check(&v, &it), VIS_NONE);
}

static void test_hidden_redacted_for_members(void **state)
{
	struct vis_item it = thread(ALICE, CH1, 1);
	struct vis_viewer v;

	(void)state;
	it.hidden = true;
	v = viewer(BOB, VIS_ROLE_MEMBER);
	assert_int_equal(vis_check(&v, &it), VIS_REDACTED);
	v = viewer(ALICE, VIS_ROLE_MEMBER); /* the author */
	assert_int_equal(vis_check(&v, &it), VIS_FULL);
	v = viewer(BOB, VIS_ROLE_MODERATOR);
	assert_int_equal(vis_check(&v, &it), VIS_FULL);
	v = viewer(BOB, VIS_ROLE_OWNER);
	assert_int_equal(vis_check(&v, &it), VIS_FULL);
	v = viewer(BOB, VIS_ROLE_NONE);
	v.is_admin = true;
	assert_int_equal(vis_check(&v, &it), VIS_FULL);
	assert_true(vis_is_moderator(&v));
}

static void test_spoiler_guard(void **state)
{
	struct vis_viewer v = viewer(BOB, VIS_ROLE_MEMBER);
	struct vis_item ch1 = thread(ALICE, CH1, 1);
	struct vis_item ch2 = thread(ALICE, CH2, 2);
	struct vis_item ch3 = thread(ALICE, CH3, 3);
	struct vis_item member_event = thread(ALICE, 0, 0);

	(void)state;
	v.spoiler_guard = true;
	v.progress_order = 0; /* no progress: the first chapter is open */
	assert_int_equal(vis_check(&v, &ch1), VIS_FULL);
	assert_int_equal(vis_check(&v, &ch2), VIS_NONE);
	member_event.thread = false;
	assert_int_equal(vis_check(&v, &member_event), VIS_FULL);

	v.progress_order = 2;
	assert_int_equal(vis_check(&v, &ch2), VIS_FULL);
	assert_int_equal(vis_check(&v, &ch3), VIS_NONE);
	ch3.thread = false; /* replies are withheld as well */
	assert_int_equal(vis_check(&v, &ch3), VIS_NONE);

	/* asked to see everything */
	v.show_all = true;
	assert_int_equal(vis_check(&v, &ch3), VIS_FULL);
	v.show_all = false;

	/* own items always, moderators and owners are exempt */
	ch3.author = BOB;
	assert_int_equal(vis_check(&v, &ch3), VIS_FULL);
	ch3.author = ALICE;
	v.role = VIS_ROLE_MODERATOR;
	assert_int_equal(vis_check(&v, &ch3), VIS_FULL);
	v.role = VIS_ROLE_OWNER;
	assert_int_equal(vis_check(&v, &ch3), VIS_FULL);

	/* option off: everything */
	v = viewer(BOB, VIS_ROLE_MEMBER);
	assert_int_equal(vis_check(&v, &ch3), VIS_FULL);
}

static void test_post_first(void **state)
{
	struct vis_viewer v = viewer(BOB, VIS_ROLE_MEMBER);
	struct vis_item t1 = thread(ALICE, CH1, 1);
	struct vis_item t2 = thread(ALICE, CH2, 2);
	struct vis_item reply = thread(CAROL, CH1, 1);
	struct vis_item plan = thread(ALICE, 0, 0);

	(void)state;
	reply.thread = false;
	plan.thread = false;
	v.post_first = true;
	assert_int_equal(vis_check(&v, &t1), VIS_NONE);
	assert_int_equal(vis_check(&v, &reply), VIS_NONE);
	assert_int_equal(vis_check(&v, &plan), VIS_FULL);

	vis_mark_posted(&v, CH1);
	assert_int_equal(vis_check(&v, &t1), VIS_FULL);
	assert_int_equal(vis_check(&v, &reply), VIS_FULL);
	assert_int_equal(vis_check(&v, &t2), VIS_NONE);

	/* own threads always; moderators exempt */
	t2.author = BOB;
	assert_int_equal(vis_check(&v, &t2), VIS_FULL);
	t2.author = ALICE;
	v.role = VIS_ROLE_MODERATOR;
	assert_int_equal(vis_check(&v, &t2), VIS_FULL);
}

static void test_both_options(void **state)
{
	struct vis_viewer v = viewer(BOB, VIS_ROLE_MEMBER);
	struct vis_item t2 = thread(ALICE, CH2, 2);

	(void)state;
	v.post_first = true;
	v.spoiler_guard = true;
	vis_mark_posted(&v, CH2);
	/* posted in chapter 2 but progress still at 1: spoiler guard wins */
	assert_int_equal(vis_check(&v, &t2), VIS_NONE);
	v.progress_order = 2;
	assert_int_equal(vis_check(&v, &t2), VIS_FULL);
}

static void test_mark_posted(void **state)
{
	struct vis_viewer v = viewer(BOB, VIS_ROLE_MEMBER);

	(void)state;
	vis_mark_posted(&v, CH1);
	vis_mark_posted(&v, CH1);
	vis_mark_posted(&v, 0);
	assert_int_equal(v.nposted, 1);
	for (int i = 0; i < VIS_MAX_POSTED + 10; i++)
		vis_mark_posted(&v, 1000 + i);
	assert_int_equal(v.nposted, VIS_MAX_POSTED);
}

static void test_only_account(void **state)
{
	struct vis_viewer v = viewer(BOB, VIS_ROLE_NONE);
	struct vis_item it = thread(ALICE, 0, 0);

	(void)state;
	it.only_account = BOB;
	assert_int_equal(vis_check(&v, &it), VIS_FULL);
	v = viewer(CAROL, VIS_ROLE_OWNER);
	assert_int_equal(vis_check(&v, &it), VIS_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_non_member_sees_nothing),
		cmocka_unit_test(test_member_sees_circle_items),
		cmocka_unit_test(test_private_only_author),
		cmocka_unit_test(test_hidden_redacted_for_members),
		cmocka_unit_test(test_spoiler_guard),
		cmocka_unit_test(test_post_first),
		cmocka_unit_test(test_both_options),
		cmocka_unit_test(test_mark_posted),
		cmocka_unit_test(test_only_account),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
