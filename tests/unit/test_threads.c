/*
 * test_threads.c - the threads module on a fresh database with the real
 * migrations and the sample book: what threads.h promises other modules
 * (targets, their visibility facts, the hide/lock/pin levers, the visible
 * walk export and search use, clone) and the rules the methods enforce
 * through those levers (a locked thread refuses replies with -32010, a
 * hidden post is redacted for members, a private one is seen by its author
 * alone).
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
#include "threads/threads.h"
#include "util/err.h"

#include "support/fixture.h"

/* A chapter-level annotation by account; returns its id. */
static int64_t post(struct fixture *f, int64_t account, int64_t chapter,
		    const char *body, const char *visibility)
{
	json_t *r;
	int64_t id;

	assert_int_equal(
		fixture_call(f, account, "annotation.create",
			     json_pack("{s:I,s:I,s:n,s:s,s:s}", "circle",
				       (json_int_t)f->circle, "chapter",
				       (json_int_t)chapter, "target", "body",
				       body, "visibility", visibility),
			     &r),
		0);
	id = json_integer_value(json_object_get(r, "id"));
	json_decref(r);
	assert_true(id > 0);
	return id;
}

static int reply(struct fixture *f, int64_t account, int64_t annotation,
		 int64_t *id)
{
	json_t *r = NULL;
	int code = fixture_call(f, account, "reply.create",
				json_pack("{s:I,s:s}", "annotation",
					  (json_int_t)annotation, "body",
					  "a reply"),
				&r);

	if (id)
		*id = json_integer_value(json_object_get(r, "id"));
	json_decref(r);
	return code;
}

static void test_target_parse(void **state)
{
	struct fixture *f = *state;
	struct threads_target t;
	int64_t a = post(f, f->bob, f->ch[0], "target me", "circle"), r = 0;
	json_t *j;
	const char *bad[] = {"[]",
			     "{}",
			     "{\"annotation\":\"1\"}",
			     "{\"annotation\":0}",
			     "{\"post\":1}",
			     "{\"annotation\":1,\"reply\":2}",
			     "7",
			     NULL};

	for (int i = 0; bad[i]; i++) {
		j = json_loads(bad[i], JSON_DECODE_ANY, NULL);
		assert_int_equal(threads_target_parse(f->db, j, &t),
				 SCH_EINVAL);
		json_decref(j);
	}
	j = json_pack("{s:I}", "annotation", (json_int_t)999999);
	assert_int_equal(threads_target_parse(f->db, j, &t), SCH_ENOTFOUND);
	json_decref(j);
	j = json_pack("{s:I}", "annotation", (json_int_t)a);
	assert_int_equal(threads_target_parse(f->db, j, &t), 0);
	json_decref(j);
	assert_int_equal(t.kind, 0);
	assert_int_equal(t.id, a);
	assert_int_equal(t.circle, f->circle);
	assert_int_equal(t.chapter, f->ch[0]);
	assert_int_equal(t.annotation, a);
	assert_int_equal(t.author, f->bob);
	assert_false(t.private_ || t.hidden || t.deleted || t.locked);

	assert_int_equal(reply(f, f->alice, a, &r), 0);
	j = json_pack("{s:I}", "reply", (json_int_t)r);
	assert_int_equal(threads_target_parse(f->db, j, &t), 0);
	json_decref(j);
	assert_int_equal(t.kind, 1);
	assert_int_equal(t.annotation, a);
	assert_int_equal(t.author, f->alice);
	assert_int_equal(threads_target_get(f->db, 1, r, &t), 0);
	assert_int_equal(threads_target_get(f->db, 1, a + 1000, &t),
			 SCH_ENOTFOUND);
	assert_int_equal(threads_target_get(f->db, 5, a, &t), SCH_EINVAL);
}

static void test_target_vis(void **state)
{
	struct fixture *f = *state;
	struct threads_target t;
	struct vis_item item;
	struct books_chapter_info ci;
	int64_t p = post(f, f->bob, f->ch[1], "mine alone", "private"), r = 0;

	assert_int_equal(threads_target_get(f->db, 0, p, &t), 0);
	threads_target_vis(f->db, &t, &item);
	assert_int_equal(books_chapter_info(f->db, f->ch[1], &ci), 0);
	assert_int_equal(item.circle, f->circle);
	assert_int_equal(item.author, f->bob);
	assert_int_equal(item.chapter, f->ch[1]);
	assert_int_equal(item.chapter_order, ci.order);
	assert_true(item.private_);
	assert_true(item.thread);
	/* a reply inherits the privacy of its thread */
	assert_int_equal(reply(f, f->bob, p, &r), 0);
	assert_int_equal(threads_target_get(f->db, 1, r, &t), 0);
	assert_true(t.private_);
	/* nobody else may reply to it: it does not exist for them */
	assert_int_equal(reply(f, f->alice, p, NULL), RPC_E_NOT_FOUND);
}

static void test_locked_refuses_replies(void **state)
{
	struct fixture *f = *state;
	struct rpc_ctx *ctx = rpc_ctx_new_local(f->db, f->alice, false);
	struct threads_target t;
	int64_t a = post(f, f->bob, f->ch[0], "lock me", "circle");

	assert_int_equal(threads_set_locked(ctx, a, true), 0);
	assert_int_equal(threads_target_get(f->db, 0, a, &t), 0);
	assert_true(t.locked);
	assert_int_equal(reply(f, f->bob, a, NULL), RPC_E_LOCKED);
	assert_int_equal(
		fixture_call(f, f->bob, "annotation.update",
			     json_pack("{s:I,s:s}", "annotation", (json_int_t)a,
				       "body", "changed"),
			     NULL),
		RPC_E_LOCKED);
	/* the owner moderates: still allowed */
	assert_int_equal(reply(f, f->alice, a, NULL), 0);
	assert_int_equal(threads_set_locked(ctx, a, false), 0);
	assert_int_equal(reply(f, f->bob, a, NULL), 0);
	assert_int_equal(threads_set_locked(ctx, 999999, true), SCH_ENOTFOUND);
	rpc_ctx_free_local(ctx);
}

static void test_hidden_redacted(void **state)
{
	struct fixture *f = *state;
	struct rpc_ctx *mod = rpc_ctx_new_local(f->db, f->alice, false);
	struct rpc_ctx *member = rpc_ctx_new_local(f->db, f->bob, false);
	struct rpc_ctx *out = rpc_ctx_new_local(f->db, f->carol, false);
	struct threads_target t;
	int64_t a = post(f, f->alice, f->ch[0], "rude words", "circle");
	json_t *j;

	assert_int_equal(threads_target_get(f->db, 0, a, &t), 0);
	assert_int_equal(threads_set_hidden(mod, &t, true, "uncivil"), 0);
	assert_int_equal(threads_target_get(f->db, 0, a, &t), 0);
	assert_true(t.hidden);
	j = threads_target_json(member, &t);
	assert_non_null(j);
	assert_true(json_is_true(json_object_get(j, "hidden")));
	assert_true(json_is_null(json_object_get(j, "body")));
	assert_true(json_is_null(json_object_get(j, "body_html")));
	json_decref(j);
	j = threads_target_json(mod, &t);
	assert_string_equal(json_string_value(json_object_get(j, "body")),
			    "rude words");
	json_decref(j);
	assert_null(threads_target_json(out, &t));
	assert_int_equal(threads_set_hidden(mod, &t, false, NULL), 0);
	assert_int_equal(threads_target_get(f->db, 0, a, &t), 0);
	j = threads_target_json(member, &t);
	assert_string_equal(json_string_value(json_object_get(j, "body")),
			    "rude words");
	json_decref(j);
	assert_int_equal(threads_set_pinned(mod, a, true), 0);
	assert_int_equal(threads_target_get(f->db, 0, a, &t), 0);
	rpc_ctx_free_local(mod);
	rpc_ctx_free_local(member);
	rpc_ctx_free_local(out);
}

/* Collects the ids the walk visits. */
struct walk {
	int64_t ids[64];
	int n;
	int bodies; /* visited with a non-null body */
};

static int collect(json_t *a, void *arg)
{
	struct walk *w = arg;

	if (w->n < 64)
		w->ids[w->n++] = json_integer_value(json_object_get(a, "id"));
	if (json_is_string(json_object_get(a, "body")))
		w->bodies++;
	assert_true(json_is_array(json_object_get(a, "replies")));
	return 0;
}

static bool walked(const struct walk *w, int64_t id, int *at)
{
	for (int i = 0; i < w->n; i++)
		if (w->ids[i] == id) {
			*at = i;
			return true;
		}
	return false;
}

static void test_each_visible(void **state)
{
	struct fixture *f = *state;
	struct rpc_ctx *ctx = rpc_ctx_new_local(f->db, f->alice, false);
	struct vis_viewer va, vb, vc;
	struct walk w;
	int64_t late = post(f, f->bob, f->ch[1], "second chapter", "circle");
	int64_t early = post(f, f->bob, f->ch[0], "first chapter", "circle");
	int64_t secret = post(f, f->bob, f->ch[0], "secret", "private");
	int i_late, i_early, i;

	assert_int_equal(circles_viewer(f->db, f->circle, f->alice, false, &va),
			 0);
	assert_int_equal(circles_viewer(f->db, f->circle, f->bob, false, &vb),
			 0);
	assert_int_equal(circles_viewer(f->db, f->circle, f->carol, false, &vc),
			 0);
	memset(&w, 0, sizeof(w));
	assert_int_equal(
		threads_each_visible(ctx, f->circle, 0, &va, true, collect, &w),
		0);
	assert_true(walked(&w, late, &i_late));
	assert_true(walked(&w, early, &i_early));
	assert_true(i_early < i_late); /* reading order, not creation order */
	assert_false(walked(&w, secret, &i)); /* not even for the owner */
	memset(&w, 0, sizeof(w));
	assert_int_equal(threads_each_visible(ctx, f->circle, f->ch[0], &vb,
					      true, collect, &w),
			 0);
	assert_true(walked(&w, secret, &i)); /* the author sees it */
	assert_false(walked(&w, late, &i));  /* other chapter */
	memset(&w, 0, sizeof(w));
	assert_int_equal(
		threads_each_visible(ctx, f->circle, 0, &vc, true, collect, &w),
		0);
	assert_int_equal(w.n, 0); /* not a member */
	rpc_ctx_free_local(ctx);
}

static void test_delete_rules(void **state)
{
	struct fixture *f = *state;
	struct threads_target t;
	int64_t a = post(f, f->bob, f->ch[0], "with a reply", "circle");
	int64_t b = post(f, f->bob, f->ch[0], "alone", "circle");
	json_t *r;

	assert_int_equal(reply(f, f->alice, a, NULL), 0);
	assert_int_equal(
		fixture_call(f, f->alice, "annotation.delete",
			     json_pack("{s:I}", "annotation", (json_int_t)a),
			     NULL),
		RPC_E_FORBIDDEN);
	assert_int_equal(
		fixture_call(f, f->bob, "annotation.delete",
			     json_pack("{s:I}", "annotation", (json_int_t)a),
			     NULL),
		0);
	assert_int_equal(threads_target_get(f->db, 0, a, &t), 0);
	assert_true(t.deleted);
	assert_int_equal(
		fixture_call(f, f->alice, "annotation.get",
			     json_pack("{s:I}", "annotation", (json_int_t)a),
			     &r),
		0);
	assert_true(json_is_null(json_object_get(r, "body")));
	assert_int_equal(json_integer_value(json_object_get(r, "reply_count")),
			 1);
	json_decref(r);
	assert_int_equal(
		fixture_call(f, f->bob, "annotation.delete",
			     json_pack("{s:I}", "annotation", (json_int_t)b),
			     NULL),
		0);
	assert_int_equal(threads_target_get(f->db, 0, b, &t), SCH_ENOTFOUND);
	assert_int_equal(
		fixture_call(f, f->alice, "annotation.get",
			     json_pack("{s:I}", "annotation", (json_int_t)b),
			     NULL),
		RPC_E_NOT_FOUND);
}

static void test_clone(void **state)
{
	struct fixture *f = *state;
	struct rpc_ctx *ctx = rpc_ctx_new_local(f->db, f->alice, false);
	int64_t other, copied_from;
	int copied = -1;
	json_t *r;

	copied_from = post(f, f->alice, f->ch[0], "the owner's note", "circle");
	post(f, f->alice, f->ch[0], "the owner's private note", "private");
	post(f, f->bob, f->ch[0], "a member's note", "circle");
	assert_int_equal(
		fixture_call(f, f->alice, "circle.create",
			     json_pack("{s:s,s:I}", "name", "Next cohort",
				       "book", (json_int_t)f->book),
			     &r),
		0);
	other = json_integer_value(json_object_get(r, "id"));
	json_decref(r);
	assert_int_equal(
		threads_clone(ctx, f->circle, other, f->alice, &copied), 0);
	assert_int_equal(copied, 1);
	assert_int_equal(
		fixture_call(f, f->alice, "annotation.list",
			     json_pack("{s:I,s:I}", "circle", (json_int_t)other,
				       "chapter", (json_int_t)f->ch[0]),
			     &r),
		0);
	assert_int_equal(json_array_size(json_object_get(r, "items")), 1);
	assert_string_equal(
		json_string_value(json_object_get(
			json_array_get(json_object_get(r, "items"), 0),
			"body")),
		"the owner's note");
	assert_true(json_integer_value(json_object_get(
			    json_array_get(json_object_get(r, "items"), 0),
			    "id")) != copied_from);
	json_decref(r);
	rpc_ctx_free_local(ctx);
}

static void test_account_delete_wipes_private(void **state)
{
	struct fixture *f = *state;
	char err[256] = "";
	FILE *out = fopen("/dev/null", "w");
	int64_t dora, priv, pub, gone = 0, has_body = 1, events = 0;
	json_t *r;

	auth_config.pwhash_ops = 1;
	auth_config.pwhash_mem = 8192;
	assert_int_equal(auth_cli_create_account(f->db, "dora", NULL, false,
						 "correct horse battery", "",
						 out, err, sizeof(err)),
			 0);
	fclose(out);
	dora = auth_account_by_handle(f->db, "dora");
	assert_int_equal(fixture_call(f, f->alice, "circle.invite",
				      json_pack("{s:I}", "circle",
						(json_int_t)f->circle),
				      &r),
			 0);
	assert_int_equal(
		fixture_call(f, dora, "circle.join",
			     json_pack("{s:s}", "code",
				       json_string_value(
					       json_object_get(r, "code"))),
			     NULL),
		0);
	json_decref(r);
	priv = post(f, dora, f->ch[0], "dora's secret", "private");
	pub = post(f, dora, f->ch[0], "dora's public note", "circle");
	assert_int_equal(reply(f, dora, priv, NULL), 0);
	assert_int_equal(fixture_call(f, dora, "account.delete",
				      json_pack("{s:s}", "password",
						"correct horse battery"),
				      NULL),
			 0);
	assert_int_equal(store_int_query(f->db, &gone,
					 "SELECT gone FROM annotations"
					 " WHERE id = ?",
					 "i", priv),
			 1);
	assert_int_equal(gone, 1);
	assert_int_equal(store_int_query(f->db, &has_body,
					 "SELECT count(*) FROM annotations"
					 " WHERE id = ? AND body IS NOT NULL",
					 "i", priv),
			 1);
	assert_int_equal(has_body, 0);
	assert_int_equal(store_int_query(f->db, &has_body,
					 "SELECT count(*) FROM replies"
					 " WHERE annotation = ? AND (gone = 0"
					 " OR body IS NOT NULL)",
					 "i", priv),
			 1);
	assert_int_equal(has_body, 0);
	/* the stored event of the private note no longer holds its text */
	assert_int_equal(store_int_query(f->db, &events,
					 "SELECT count(*) FROM events"
					 " WHERE data LIKE '%dora''s secret%'",
					 ""),
			 1);
	assert_int_equal(events, 0);
	/* the public note stays for the circle */
	assert_int_equal(
		fixture_call(f, f->bob, "annotation.get",
			     json_pack("{s:I}", "annotation", (json_int_t)pub),
			     &r),
		0);
	assert_string_equal(json_string_value(json_object_get(r, "body")),
			    "dora's public note");
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_target_parse, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_target_vis, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_locked_refuses_replies,
						fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_hidden_redacted, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_each_visible, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_delete_rules, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_clone, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_account_delete_wipes_private, fixture_setup,
			fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
