/*
 * test_search.c - unit tests of the search module: the FTS5 query
 * sanitiser (every hostile input becomes a harmless MATCH expression, which
 * FTS5 then really runs without a syntax error), snippet highlighting in
 * code points, keeping the index in step, and the `search` method's
 * visibility: private posts of others never, hidden bodies only for the
 * author and moderators, non-members -32004, an empty query -32602 "q".
 *
 * Circles, memberships and posts are inserted as rows with foreign keys off,
 * so the test does not need accounts or books; search_init() is the only
 * method table registered. With no book the text index is empty, which the
 * method must survive.
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

#include "support/db.h"

#include "rpc/rpc.h"
#include "search/search.h"
#include "store/store.h"
#include "util/err.h"

struct fixture {
	char path[64];
	struct store *db;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->db = fixture_open_db(f->path, sizeof(f->path), "search");
	assert_int_equal(store_exec(f->db, "PRAGMA foreign_keys=OFF;"), 0);
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

/* ---- the sanitiser ---- */

static void expect_query(const char *q, const char *want)
{
	char *out = NULL;

	assert_int_equal(search_fts_query(q, &out), 0);
	assert_string_equal(out, want);
	free(out);
}

static void test_query_quotes_terms(void **state)
{
	(void)state;
	expect_query("pioneers", "\"pioneers\"");
	expect_query("  Rochdale   pioneers\t", "\"Rochdale\" \"pioneers\"");
	expect_query("say \"hi\"", "\"say\" \"\"\"hi\"\"\"");
	expect_query("co-op*", "\"co-op\"*");
	expect_query("a**", "\"a\"*");
	/* FTS5 operators and column filters become plain words */
	expect_query("NEAR(a b) OR body:x NOT ^y",
		     "\"NEAR(a\" \"b)\" \"OR\" \"body:x\" \"NOT\" \"^y\"");
	/* control characters are dropped, not passed to FTS5 */
	expect_query("a\x01\x02"
		     "b",
		     "\"ab\"");
	expect_query("é café", "\"é\" \"café\"");
}

static void test_query_rejects_empty(void **state)
{
	char *out = (char *)"untouched";

	(void)state;
	assert_int_equal(search_fts_query("", &out), SCH_EINVAL);
	assert_null(out);
	assert_int_equal(search_fts_query("   \t\n", &out), SCH_EINVAL);
	assert_int_equal(search_fts_query("*** *", &out), SCH_EINVAL);
	assert_int_equal(search_fts_query("\x01\x02", &out), SCH_EINVAL);
	assert_int_equal(search_fts_query("\"\" ... (-) ^", &out), SCH_EINVAL);
}

static void test_query_caps_terms(void **state)
{
	char q[400] = "", *out = NULL;
	int quotes = 0;

	(void)state;
	for (int i = 0; i < SEARCH_MAX_TERMS + 10; i++)
		strcat(q, "w ");
	assert_int_equal(search_fts_query(q, &out), 0);
	for (char *p = out; *p; p++)
		quotes += *p == '"';
	assert_int_equal(quotes, 2 * SEARCH_MAX_TERMS);
	free(out);
}

/* Every hostile query is either refused by the sanitiser (no term: the
 * method answers -32602) or runs through FTS5 without an error and finds
 * exactly what its words name: nothing for words not in the index, the post
 * for hostile spellings of its words. Each input says which it is, so a
 * sanitiser that refuses everything (or lets syntax through) fails. */
static void test_query_hostile_inputs_run(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *q;
		int hits; /* -1: refused by search_fts_query */
	} cases[] = {{"\"", -1},
		     {"\"\"\"", -1},
		     {"'", -1},
		     {"(", -1},
		     {")", -1},
		     {"*", -1},
		     {"^", -1},
		     {"\\", -1},
		     {"..", -1},
		     {"+", -1},
		     {"%", -1},
		     {"_", -1},
		     {"a AND", 0},
		     {"OR OR OR", 0},
		     {"NEAR(", 0},
		     {"NEAR(a b, 1", 0},
		     {"body:", 0},
		     {"{body}: x", 0},
		     {"-x", 0},
		     {"a:b:c", 0},
		     {"' OR 1=1 --", 0},
		     {"x\" OR \"y", 0},
		     {"\xf0\x9f\x99\x82 emoji", 0},
		     {"\"unterminated", 0},
		     {"a*b*c", 0},
		     {"*prefix", 0},
		     /* hostile spellings of words that are in the post */
		     {"(Rochdale", 1},
		     {"pioneers\"", 1},
		     {"Rochd*", 1},
		     {"{the}: pioneers", 1},
		     {"' rochdale --", 1}};

	assert_int_equal(search_index_post(f->db, SEARCH_KIND_ANNOTATION, 1, 1,
					   "The Rochdale pioneers"),
			 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *m = NULL;
		int64_t n = -1;
		int rc;

		rc = search_fts_query(cases[i].q, &m);
		if (cases[i].hits < 0) {
			if (rc != SCH_EINVAL)
				fail_msg("query %s was not refused",
					 cases[i].q);
			continue;
		}
		if (rc != 0)
			fail_msg("query %s was refused", cases[i].q);
		rc = store_int_query(f->db, &n,
				     "SELECT count(*) FROM search_posts"
				     " WHERE search_posts MATCH ?",
				     "t", m);
		if (rc != 1)
			fail_msg("query %s -> %s failed: %s", cases[i].q, m,
				 store_errmsg(f->db));
		if (n != cases[i].hits)
			fail_msg("query %s -> %s found %lld, expected %d",
				 cases[i].q, m, (long long)n, cases[i].hits);
		free(m);
	}
}

/* ---- snippets ---- */

static void test_snippet_highlights_in_code_points(void **state)
{
	json_t *o, *hl;

	(void)state;
	o = search_snippet_json("Caf\xc3\xa9 \x01pioneers\x02 and \x01"
				"\xc3\xa9t\xc3\xa9\x02…");
	assert_string_equal(json_string_value(json_object_get(o, "snippet")),
			    "Café pioneers and été…");
	hl = json_object_get(o, "highlights");
	assert_int_equal(json_array_size(hl), 2);
	assert_int_equal(
		json_integer_value(json_array_get(json_array_get(hl, 0), 0)),
		5);
	assert_int_equal(
		json_integer_value(json_array_get(json_array_get(hl, 0), 1)),
		13);
	assert_int_equal(
		json_integer_value(json_array_get(json_array_get(hl, 1), 0)),
		18);
	assert_int_equal(
		json_integer_value(json_array_get(json_array_get(hl, 1), 1)),
		21);
	json_decref(o);

	o = search_snippet_json("");
	assert_string_equal(json_string_value(json_object_get(o, "snippet")),
			    "");
	assert_int_equal(json_array_size(json_object_get(o, "highlights")), 0);
	json_decref(o);
}

/* ---- the index ---- */

static int64_t count_matches(struct store *db, const char *q)
{
	char *m = NULL;
	int64_t n = -1;

	assert_int_equal(search_fts_query(q, &m), 0);
	assert_int_equal(store_int_query(db, &n,
					 "SELECT count(*) FROM search_posts"
					 " WHERE search_posts MATCH ?",
					 "t", m),
			 1);
	free(m);
	return n;
}

static void test_index_follows_posts(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(search_index_post(f->db, SEARCH_KIND_ANNOTATION, 7, 1,
					   "weaving in Rochdale"),
			 0);
	assert_int_equal(search_index_post(f->db, SEARCH_KIND_REPLY, 7, 1,
					   "they weave flannel"),
			 0);
	/* annotation 7 and reply 7 are different rows; stemming: weav- */
	assert_int_equal(count_matches(f->db, "weaving"), 2);
	/* an edit replaces the body */
	assert_int_equal(search_index_post(f->db, SEARCH_KIND_ANNOTATION, 7, 1,
					   "the Toad Lane store"),
			 0);
	assert_int_equal(count_matches(f->db, "weaving"), 1);
	assert_int_equal(count_matches(f->db, "toad"), 1);
	/* a prefix query */
	assert_int_equal(count_matches(f->db, "flann*"), 1);
	/* delete */
	assert_int_equal(search_unindex_post(f->db, SEARCH_KIND_REPLY, 7), 0);
	assert_int_equal(count_matches(f->db, "weaving"), 0);
	/* NULL body unindexes too */
	assert_int_equal(
		search_index_post(f->db, SEARCH_KIND_ANNOTATION, 7, 1, NULL),
		0);
	assert_int_equal(count_matches(f->db, "toad"), 0);
	assert_int_equal(search_unindex_post(f->db, 9, 1), SCH_EINVAL);
}

/* ---- the method ---- */

/* Circle 1 (book 1): 5 and 6 members, 7 moderator; 8 belongs to circle 2.
 * Annotations by 6: 1 visible, 2 private, 3 hidden; 4 in circle 2; reply
 * 1 on the private annotation 2, reply 2 on annotation 1. All indexed. */
static void seed(struct store *db)
{
	static const char sql[] =
		"INSERT INTO circles(id, name, book, created_at)"
		" VALUES (1, 'c1', 1, 0), (2, 'c2', 1, 0);"
		"INSERT INTO memberships(circle, account, role, joined_at)"
		" VALUES (1, 5, 'member', 0), (1, 6, 'member', 0),"
		" (1, 7, 'moderator', 0), (2, 8, 'owner', 0);"
		"INSERT INTO annotations(id, circle, chapter, author, body,"
		" body_html, visibility, created_at, updated_at, hidden) VALUES"
		" (1, 1, 3, 6, 'pioneers open', '', 'circle', 0, 0, 0),"
		" (2, 1, 3, 6, 'pioneers secret', '', 'private', 0, 0, 0),"
		" (3, 1, 3, 6, 'pioneers hushed', '', 'circle', 0, 0, 1),"
		" (4, 2, 3, 8, 'pioneers elsewhere', '', 'circle', 0, 0, 0);"
		"INSERT INTO replies(id, annotation, author, body, body_html,"
		" created_at, updated_at) VALUES"
		" (1, 2, 6, 'pioneers under a private note', '', 0, 0),"
		" (2, 1, 5, 'pioneers reply', '', 0, 0);";
	static const struct {
		int kind;
		int64_t id, circle;
		const char *body;
	} posts[] = {
		{0, 1, 1, "pioneers open"},
		{0, 2, 1, "pioneers secret"},
		{0, 3, 1, "pioneers hushed"},
		{0, 4, 2, "pioneers elsewhere"},
		{1, 1, 1, "pioneers under a private note"},
		{1, 2, 1, "pioneers reply"},
	};

	assert_int_equal(store_exec(db, sql), 0);
	for (size_t i = 0; i < sizeof(posts) / sizeof(posts[0]); i++)
		assert_int_equal(search_index_post(db, posts[i].kind,
						   posts[i].id, posts[i].circle,
						   posts[i].body),
				 0);
}

/* Calls search as account; returns the error code (0 ok) and the result
 * or error object in *out (caller frees). */
static int search(struct store *db, int64_t account, json_t *params,
		  json_t **out)
{
	struct rpc_ctx *ctx = rpc_ctx_new_local(db, account, false);
	json_t *res = NULL, *err = NULL;
	int code = rpc_call_local(ctx, "search", params, &res, &err);

	json_decref(params);
	rpc_ctx_free_local(ctx);
	*out = code ? err : res;
	if (code)
		json_decref(res);
	else
		json_decref(err);
	return code;
}

/* "a1 r2 ..." of the items, in order. */
static void hits(json_t *res, char *out, size_t n)
{
	size_t i;
	json_t *it;

	out[0] = '\0';
	json_array_foreach(json_object_get(res, "items"), i, it)
	{
		const char *k = json_string_value(json_object_get(it, "kind"));
		char one[32];

		snprintf(one, sizeof(one), "%s%c%lld", i ? " " : "", k[0],
			 (long long)json_integer_value(
				 json_object_get(it, "id")));
		strncat(out, one, n - strlen(out) - 1);
	}
}

static void test_search_respects_visibility(void **state)
{
	struct fixture *f = *state;
	json_t *res;
	char got[256];
	char *a = NULL;

	seed(f->db);
	/* a member: neither the private note nor its reply, nor the hidden */
	assert_int_equal(
		search(f->db, 5,
		       json_pack("{s:i,s:s}", "circle", 1, "q", "pioneers"),
		       &res),
		0);
	hits(res, got, sizeof(got));
	assert_non_null(strstr(got, "a1"));
	assert_non_null(strstr(got, "r2"));
	assert_null(strstr(got, "a2"));
	assert_null(strstr(got, "a3"));
	assert_null(strstr(got, "a4"));
	assert_null(strstr(got, "r1"));
	a = json_dumps(res, 0);
	assert_null(strstr(a, "secret"));
	assert_null(strstr(a, "hushed"));
	free(a);
	assert_true(json_is_null(json_object_get(res, "next")));
	json_decref(res);

	/* the author sees her own private and hidden posts */
	assert_int_equal(
		search(f->db, 6,
		       json_pack("{s:i,s:s}", "circle", 1, "q", "pioneers"),
		       &res),
		0);
	hits(res, got, sizeof(got));
	assert_non_null(strstr(got, "a2"));
	assert_non_null(strstr(got, "a3"));
	assert_non_null(strstr(got, "r1"));
	json_decref(res);

	/* a moderator sees the hidden one, never the private one */
	assert_int_equal(
		search(f->db, 7,
		       json_pack("{s:i,s:s}", "circle", 1, "q", "pioneers"),
		       &res),
		0);
	hits(res, got, sizeof(got));
	assert_non_null(strstr(got, "a3"));
	assert_null(strstr(got, "a2"));
	assert_null(strstr(got, "r1"));
	json_decref(res);
}

static void test_search_item_shape(void **state)
{
	struct fixture *f = *state;
	json_t *res, *it;

	seed(f->db);
	assert_int_equal(
		search(f->db, 5,
		       json_pack("{s:i,s:s}", "circle", 1, "q", "reply"), &res),
		0);
	assert_int_equal(json_array_size(json_object_get(res, "items")), 1);
	it = json_array_get(json_object_get(res, "items"), 0);
	assert_string_equal(json_string_value(json_object_get(it, "kind")),
			    "reply");
	assert_int_equal(json_integer_value(json_object_get(it, "id")), 2);
	assert_int_equal(json_integer_value(json_object_get(it, "annotation")),
			 1);
	assert_int_equal(json_integer_value(json_object_get(it, "chapter")), 3);
	assert_string_equal(json_string_value(json_object_get(it, "snippet")),
			    "pioneers reply");
	assert_int_equal(json_array_size(json_object_get(it, "highlights")), 1);
	json_decref(res);
}

static void test_search_errors(void **state)
{
	struct fixture *f = *state;
	json_t *res;

	seed(f->db);
	/* not a member of circle 1: as if it did not exist */
	assert_int_equal(
		search(f->db, 8,
		       json_pack("{s:i,s:s}", "circle", 1, "q", "pioneers"),
		       &res),
		RPC_E_NOT_FOUND);
	json_decref(res);
	assert_int_equal(
		search(f->db, 5,
		       json_pack("{s:i,s:s}", "circle", 99, "q", "pioneers"),
		       &res),
		RPC_E_NOT_FOUND);
	json_decref(res);
	/* a query with no word */
	assert_int_equal(
		search(f->db, 5,
		       json_pack("{s:i,s:s}", "circle", 1, "q", " * \" "),
		       &res),
		RPC_E_INVALID_PARAMS);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(res, "data"), "field")),
			    "q");
	json_decref(res);
	assert_int_equal(search(f->db, 5,
				json_pack("{s:i,s:s}", "circle", 1, "q", ""),
				&res),
			 RPC_E_INVALID_PARAMS);
	json_decref(res);
	/* unknown parameters are refused */
	assert_int_equal(search(f->db, 5,
				json_pack("{s:i,s:s,s:i}", "circle", 1, "q",
					  "x", "limit", 5),
				&res),
			 RPC_E_INVALID_PARAMS);
	json_decref(res);
	/* hostile syntax is not an error, just no hit */
	assert_int_equal(
		search(f->db, 5,
		       json_pack("{s:i,s:s}", "circle", 1, "q", "NEAR(\"x OR"),
		       &res),
		0);
	assert_int_equal(json_array_size(json_object_get(res, "items")), 0);
	json_decref(res);
}

static void test_search_pages(void **state)
{
	struct fixture *f = *state;
	json_t *res;
	const char *next;
	int64_t total = 0;
	char sql[256];

	seed(f->db);
	for (int i = 100; i < 100 + SEARCH_PAGE_SIZE + 5; i++) {
		snprintf(sql, sizeof(sql),
			 "INSERT INTO annotations(id, circle, chapter, author,"
			 " body, body_html, visibility, created_at, updated_at)"
			 " VALUES (%d, 1, 3, 5, 'flannel', '', 'circle', 0, 0)",
			 i);
		assert_int_equal(store_exec(f->db, sql), 0);
		assert_int_equal(search_index_post(f->db, 0, i, 1, "flannel"),
				 0);
	}
	assert_int_equal(
		search(f->db, 6,
		       json_pack("{s:i,s:s}", "circle", 1, "q", "flannel"),
		       &res),
		0);
	total += (int64_t)json_array_size(json_object_get(res, "items"));
	assert_int_equal(total, SEARCH_PAGE_SIZE);
	next = json_string_value(json_object_get(res, "next"));
	assert_non_null(next);
	{
		json_t *p2 = json_pack("{s:i,s:s,s:s}", "circle", 1, "q",
				       "flannel", "cursor", next);

		json_decref(res);
		assert_int_equal(search(f->db, 6, p2, &res), 0);
	}
	assert_int_equal(json_array_size(json_object_get(res, "items")), 5);
	assert_true(json_is_null(json_object_get(res, "next")));
	json_decref(res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_quotes_terms),
		cmocka_unit_test(test_query_rejects_empty),
		cmocka_unit_test(test_query_caps_terms),
		cmocka_unit_test(test_snippet_highlights_in_code_points),
		cmocka_unit_test_setup_teardown(test_query_hostile_inputs_run,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_follows_posts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_search_respects_visibility,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_search_item_shape, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_search_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_search_pages, setup,
						teardown),
	};

	search_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
