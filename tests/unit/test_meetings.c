/*
 * test_meetings.c - the meetings module (issue 20) on a fresh database with
 * the real migrations and the sample book: meeting times, outcomes marking
 * their reply (and losing the mark with the meeting), the Markdown record's
 * escaping (a title or an outcome cannot break the digest's structure), and
 * plan kit matching (title and number, title alone, number alone, each
 * chapter once).
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

#include <cmocka.h>

#include "meetings/meetings.h"
#include "util/buf.h"

#include "support/fixture.h"

/* A new meeting of the fixture's circle at `at`; its id, or the error
 * code negated. */
static int64_t meeting_at(struct fixture *f, const char *at, json_t **res)
{
	json_t *r = NULL;
	int code = fixture_call(f, f->alice, "meeting.create",
				json_pack("{s:I,s:s}", "circle",
					  (json_int_t)f->circle, "at", at),
				&r);
	int64_t id = code ? code : json_integer_value(json_object_get(r, "id"));

	if (res)
		*res = r;
	else
		json_decref(r);
	return id;
}

static void test_times(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"2026-02-30T10:00:00Z", "2026-12-10T24:00:00Z",
		"2026-12-10 19:00",	"2026-12-10T19:00:00+25:00",
		"tomorrow evening!!!!", "2026-12-10T19:00:00Zjunk"};
	json_t *r = NULL;

	assert_true(meeting_at(f, "2026-12-10T19:30:00.123-05:30", &r) > 0);
	assert_string_equal(json_string_value(json_object_get(r, "at")),
			    "2026-12-11T01:00:00Z");
	json_decref(r);
	assert_true(meeting_at(f, "2028-02-29t08:00:00z", NULL) > 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(meeting_at(f, bad[i], NULL), -32602);
}

/* The reply of a thread with id reply in annotation.get (borrowed from
 * *thread, which the caller frees). */
static json_t *reply_in(struct fixture *f, int64_t ann, int64_t reply,
			json_t **thread)
{
	size_t i;
	json_t *r;

	assert_int_equal(
		fixture_call(f, f->bob, "annotation.get",
			     json_pack("{s:I}", "annotation", (json_int_t)ann),
			     thread),
		0);
	json_array_foreach(json_object_get(*thread, "replies"), i, r)
	{
		if (json_integer_value(json_object_get(r, "id")) == reply)
			return r;
	}
	fail_msg("reply %lld not in the thread", (long long)reply);
	return NULL;
}

static void test_outcome_marks_its_reply(void **state)
{
	struct fixture *f = *state;
	json_t *r = NULL, *thread = NULL;
	int64_t ann, m, reply, plain;

	assert_int_equal(
		fixture_call(f, f->bob, "annotation.create",
			     json_pack("{s:I,s:I,s:n,s:s,s:s}", "circle",
				       (json_int_t)f->circle, "chapter",
				       (json_int_t)f->ch[0], "target", "body",
				       "what next?", "visibility", "circle"),
			     &r),
		0);
	ann = json_integer_value(json_object_get(r, "id"));
	json_decref(r);
	assert_int_equal(fixture_call(f, f->bob, "reply.create",
				      json_pack("{s:I,s:s}", "annotation",
						(json_int_t)ann, "body", "hm"),
				      &r),
			 0);
	plain = json_integer_value(json_object_get(r, "id"));
	json_decref(r);
	m = meeting_at(f, "2026-12-10T19:00:00Z", NULL);
	assert_true(m > 0);
	/* not on the agenda yet: no outcome */
	assert_int_equal(fixture_call(f, f->alice, "meeting.outcome",
				      json_pack("{s:I,s:I,s:s}", "meeting",
						(json_int_t)m, "annotation",
						(json_int_t)ann, "body", "x"),
				      NULL),
			 -32602);
	assert_int_equal(
		fixture_call(f, f->alice, "meeting.agenda",
			     json_pack("{s:I,s:[I]}", "meeting", (json_int_t)m,
				       "annotations", (json_int_t)ann),
			     NULL),
		0);
	assert_int_equal(fixture_call(f, f->alice, "meeting.outcome",
				      json_pack("{s:I,s:I,s:s}", "meeting",
						(json_int_t)m, "annotation",
						(json_int_t)ann, "body",
						"We *decided*."),
				      &r),
			 0);
	reply = json_integer_value(json_object_get(r, "reply"));
	json_decref(r);
	assert_true(reply > plain);
	r = reply_in(f, ann, reply, &thread);
	assert_int_equal(
		json_integer_value(json_object_get(r, "meeting_outcome")), m);
	assert_string_equal(json_string_value(json_object_get(r, "body")),
			    "We *decided*.");
	json_decref(thread);
	assert_null(json_object_get(reply_in(f, ann, plain, &thread),
				    "meeting_outcome"));
	json_decref(thread);
	/* the mark goes with the meeting; the reply stays */
	assert_int_equal(
		fixture_call(f, f->alice, "meeting.delete",
			     json_pack("{s:I}", "meeting", (json_int_t)m),
			     NULL),
		0);
	r = reply_in(f, ann, reply, &thread);
	assert_null(json_object_get(r, "meeting_outcome"));
	json_decref(thread);
}

static void test_record_markdown_is_escaped(void **state)
{
	struct buf md = BUF_INIT;
	json_t *recs = json_pack(
		"[{s:s,s:s,s:[{s:s,s:s}],s:[{s:I,s:s,s:[{s:s,s:o},{s:n}]}]}]",
		"title", "# Evil <script> *title*", "at",
		"2026-12-10T19:00:00Z", "attendees", "display_name", "A_b",
		"handle", "a_b<", "agenda", "annotation", (json_int_t)7,
		"quote", "line\nbreak", "outcomes", "body",
		"## Not a heading\n<b>x</b>", "author", json_null(), "body");

	(void)state;
	assert_non_null(recs);
	meetings_records_md(&md, recs);
	if (getenv("TEST_VERBOSE"))
		fputs(buf_str(&md), stderr);
	assert_non_null(strstr(buf_str(&md), "## Meetings\n\n### \\# Evil "
					     "&lt;script\\> \\*title\\*"));
	assert_non_null(strstr(buf_str(&md), "A\\_b (@a_b)"));
	assert_non_null(strstr(buf_str(&md), "1. “line break” (thread 7)"));
	assert_non_null(strstr(buf_str(&md), "   > ## Not a heading\n"
					     "   > &lt;b>x&lt;/b>\n"));
	assert_non_null(strstr(buf_str(&md), "*(hidden by a moderator)*"));
	assert_null(strstr(buf_str(&md), "\n## Not"));
	buf_reset(&md);
	json_decref(recs);
	recs = json_array();
	meetings_records_md(&md, recs);
	assert_string_equal(buf_str(&md), "");
	json_decref(recs);
	buf_free(&md);
}

/* plan.import of a kit with these chapter refs; the answer (caller frees). */
static json_t *import(struct fixture *f, json_t *refs)
{
	json_t *entries = json_array(), *ref, *r = NULL;
	size_t i;

	json_array_foreach(refs, i, ref)
	{
		json_array_append_new(entries,
				      json_pack("{s:O,s:I}", "chapter", ref,
						"offset_days", (json_int_t)i));
	}
	assert_int_equal(
		fixture_call(f, f->alice, "plan.import",
			     json_pack("{s:I,s:{s:i,s:{},s:o},s:s}", "circle",
				       (json_int_t)f->circle, "kit",
				       "scholia_plan_kit", 1, "book", "entries",
				       entries, "start", "2027-01-01"),
			     &r),
		0);
	return r;
}

static void test_kit_matching(void **state)
{
	struct fixture *f = *state;
	json_t *toc = NULL, *chs = json_array(), *part, *c, *r, *refs;
	json_t *numbered[2] = {NULL, NULL};
	size_t i, j, k = 0;

	assert_int_equal(
		fixture_call(f, f->alice, "book.toc",
			     json_pack("{s:I}", "book", (json_int_t)f->book),
			     &toc),
		0);
	json_array_foreach(json_object_get(toc, "parts"), i, part)
	{
		json_array_foreach(json_object_get(part, "chapters"), j, c)
		{
			json_array_append(chs, c);
			if (k < 2 &&
			    json_is_integer(json_object_get(c, "number")))
				numbered[k++] = c;
		}
	}
	assert_int_equal(k, 2);
	/* 0: title and number; 1: a renamed chapter by its number; 2: the
	 * same title again (used: falls to nothing); 3: title in another
	 * case with a wrong number; 4: nothing like it */
	refs = json_pack(
		"[{s:O,s:O},{s:O,s:s},{s:O,s:O},{s:n,s:s},{s:i,s:s}]", "number",
		json_object_get(numbered[0], "number"), "title",
		json_object_get(numbered[0], "title"), "number",
		json_object_get(numbered[1], "number"), "title", "Renamed",
		"number", json_object_get(numbered[0], "number"), "title",
		json_object_get(numbered[0], "title"), "number", "title",
		"  SERIES PREFACE ", "number", 999, "title", "Lost");
	assert_non_null(refs);
	r = import(f, refs);
	json_t *m = json_object_get(r, "matched");

	assert_int_equal(json_array_size(m), 3);
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(m, 0), "by")),
		"title+number");
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(m, 1), "by")),
		"number");
	assert_int_equal(
		json_integer_value(json_object_get(json_array_get(m, 1), "to")),
		json_integer_value(json_object_get(numbered[1], "id")));
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(m, 2), "by")),
		"title+number");
	assert_int_equal(json_array_size(json_object_get(r, "unmatched")), 2);
	assert_int_equal(
		json_integer_value(json_object_get(
			json_array_get(json_object_get(r, "unmatched"), 0),
			"index")),
		2);
	assert_false(json_is_true(json_object_get(r, "same_book")));
	json_decref(r);
	json_decref(refs);
	json_decref(chs);
	json_decref(toc);
}

/* Beyond what one WebSocket message carries, the kit's own limits hold
 * for any caller: 2,000 entries. */
static void test_kit_limits(void **state)
{
	struct fixture *f = *state;
	json_t *entries = json_array();

	for (int i = 0; i < 2001; i++)
		json_array_append_new(entries,
				      json_pack("{s:{s:i},s:i}", "chapter",
						"number", 1, "offset_days", 0));
	assert_int_equal(
		fixture_call(f, f->alice, "plan.import",
			     json_pack("{s:I,s:{s:i,s:o},s:s}", "circle",
				       (json_int_t)f->circle, "kit",
				       "scholia_plan_kit", 1, "entries",
				       entries, "start", "2027-01-01"),
			     NULL),
		-32013);
	/* members may neither import nor export */
	assert_int_equal(fixture_call(f, f->bob, "plan.export",
				      json_pack("{s:I}", "circle",
						(json_int_t)f->circle),
				      NULL),
			 -32003);
	assert_int_equal(fixture_call(f, f->carol, "plan.export",
				      json_pack("{s:I}", "circle",
						(json_int_t)f->circle),
				      NULL),
			 -32004);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_times, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_outcome_marks_its_reply,
						fixture_setup,
						fixture_teardown),
		cmocka_unit_test(test_record_markdown_is_escaped),
		cmocka_unit_test_setup_teardown(test_kit_limits, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_kit_matching, fixture_setup, fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
