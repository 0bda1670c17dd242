/*
 * dashboard.c - circle.dashboard: who is keeping up with the plan, and how
 * the discussion goes, for the person who runs the circle.
 *
 * Every figure is computed from what the caller may see: the members and
 * their progress (circle.members), the plan (plan.get), the book's table of
 * contents (book.toc) and the threads with their replies as
 * threads_each_visible() yields them for the caller's viewer. So private
 * annotations count for their author alone - a member whose notes are all
 * private shows no activity to anyone else - and a thread the caller may
 * not see (spoiler guard, post first) adds to no figure they get.
 *
 * Owners and moderators get every member's line; a member gets their own
 * line and the circle's totals.
 *
 * Against the plan: a plan entry is "due" once its date has passed (due <
 * today, UTC). A member is behind by the due entries they have not read,
 * ahead by the entries not yet due that they have read, and on track
 * otherwise. A chapter counts as read when the member's progress is past
 * it, or at it without a block (progress.set without block: "read through
 * that chapter").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "books/books.h"
#include "circles/circles.h"
#include "meetings/internal.h"
#include "meetings/meetings.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "threads/threads.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/jsonx.h"
#include "util/rfc3339.h"

#define DB_WEEKS 12 /* participation buckets */
#define DB_WEEK (7 * 86400)
#define DB_MAX_MEMBERS 5000 /* members walked */
#define DB_PASSAGES 3	    /* most discussed passages per chapter */

/* One chapter of the book (from book.toc). */
struct db_chapter {
	int64_t id;
	int order;	/* 1-based reading position */
	json_t *number; /* borrowed from the toc */
	const char *title;
};

/* One member's line while counting. */
struct db_member {
	int64_t account;
	int progress_order; /* 0: none */
	bool progress_block;
	int64_t last_seen;
	int threads, replies, threads_week, replies_week;
	int weeks[DB_WEEKS];
};

/* What the walk over threads fills. */
struct db_walk {
	struct db_member *members;
	size_t nmembers;
	json_t *chapters; /* {chapter id: {threads, replies, unanswered,
			     passages:[...]}} keyed by decimal id */
	int64_t now;
	int threads, replies, threads_week, replies_week;
	int weeks_threads[DB_WEEKS], weeks_replies[DB_WEEKS];
};

static int64_t parse_t(const json_t *o, const char *key)
{
	/* "YYYY-MM-DDTHH:MM:SSZ" as the server writes it */
	const char *s = json_string_value(json_object_get(o, key));
	char d[11];
	int64_t days;

	if (!s || strlen(s) < 20)
		return 0;
	memcpy(d, s, 10);
	d[10] = 0;
	days = mt_days(d);
	if (days < 0)
		return 0;
	return days * 86400 + atoi(s + 11) * 3600 + atoi(s + 14) * 60 +
	       atoi(s + 17);
}

static struct db_member *member_of(struct db_walk *w, int64_t account)
{
	for (size_t i = 0; i < w->nmembers; i++)
		if (w->members[i].account == account)
			return &w->members[i];
	return NULL;
}

/* Bucket of time t among the last DB_WEEKS weeks, or -1. */
static int week_of(int64_t now, int64_t t)
{
	int64_t ago;

	if (t > now)
		t = now;
	ago = (now - t) / DB_WEEK;
	if (ago >= DB_WEEKS)
		return -1;
	return DB_WEEKS - 1 - (int)ago;
}

/* Counts one post by account at time t. */
static void count_post(struct db_walk *w, int64_t account, int64_t t,
		       bool thread)
{
	struct db_member *m = member_of(w, account);
	int wk = week_of(w->now, t);
	bool week = t >= w->now - DB_WEEK;

	if (thread) {
		w->threads++;
		w->threads_week += week;
		if (wk >= 0)
			w->weeks_threads[wk]++;
	} else {
		w->replies++;
		w->replies_week += week;
		if (wk >= 0)
			w->weeks_replies[wk]++;
	}
	if (!m)
		return; /* a former member */
	if (thread) {
		m->threads++;
		m->threads_week += week;
	} else {
		m->replies++;
		m->replies_week += week;
	}
	if (wk >= 0)
		m->weeks[wk]++;
	if (t > m->last_seen)
		m->last_seen = t;
}

static int walk_cb(json_t *ann, void *arg)
{
	struct db_walk *w = arg;
	json_t *replies = json_object_get(ann, "replies"), *r, *ch, *sel, *s;
	int64_t author = json_integer_value(
		json_object_get(json_object_get(ann, "author"), "id"));
	json_int_t nrep = 0;
	char key[24];
	size_t i;

	json_array_foreach(replies, i, r)
	{
		if (json_is_true(json_object_get(r, "deleted")))
			continue;
		nrep++;
		count_post(w,
			   json_integer_value(json_object_get(
				   json_object_get(r, "author"), "id")),
			   parse_t(r, "created_at"), false);
	}
	if (json_is_true(json_object_get(ann, "deleted")))
		return 0;
	count_post(w, author, parse_t(ann, "created_at"), true);
	snprintf(
		key, sizeof(key), "%lld",
		(long long)json_integer_value(json_object_get(ann, "chapter")));
	ch = json_object_get(w->chapters, key);
	if (!ch) {
		ch = json_pack("{s:i,s:i,s:i,s:[]}", "threads", 0, "replies", 0,
			       "unanswered", 0, "passages");
		json_object_set_new(w->chapters, key, ch);
	}
	json_object_set_new(ch, "threads",
			    json_integer(json_integer_value(json_object_get(
						 ch, "threads")) +
					 1));
	json_object_set_new(ch, "replies",
			    json_integer(json_integer_value(json_object_get(
						 ch, "replies")) +
					 nrep));
	if (nrep == 0)
		json_object_set_new(
			ch, "unanswered",
			json_integer(json_integer_value(json_object_get(
					     ch, "unanswered")) +
				     1));
	/* passages: anchored circle threads with a visible body */
	if (json_is_true(json_object_get(ann, "hidden")) ||
	    !json_is_object(json_object_get(ann, "target")) ||
	    strcmp(json_string_value(json_object_get(ann, "visibility")),
		   "circle"))
		return 0;
	sel = json_object_get(json_object_get(ann, "target"), "selector");
	json_array_foreach(sel, i, s)
	{
		const char *type =
			json_string_value(json_object_get(s, "type"));

		if (type && !strcmp(type, "TextQuoteSelector"))
			json_array_append_new(
				json_object_get(ch, "passages"),
				json_pack("{s:O,s:O,s:I,s:I}", "annotation",
					  json_object_get(ann, "id"), "quote",
					  json_object_get(s, "exact"),
					  "replies", nrep, "reactions",
					  jsonx_sum(json_object_get(
						  ann, "reactions"))));
	}
	return 0;
}

static int passage_cmp(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	json_int_t sx = json_integer_value(json_object_get(x, "replies")) +
			json_integer_value(json_object_get(x, "reactions"));
	json_int_t sy = json_integer_value(json_object_get(y, "replies")) +
			json_integer_value(json_object_get(y, "reactions"));

	if (sx != sy)
		return sx > sy ? -1 : 1;
	return json_integer_value(json_object_get(x, "annotation")) >
			       json_integer_value(
				       json_object_get(y, "annotation"))
		       ? 1
		       : -1;
}

/* The most discussed passages (at most DB_PASSAGES); new reference. */
static json_t *top_passages(json_t *all)
{
	size_t n = json_array_size(all), i;
	json_t **arr = xcalloc(n + 1, sizeof(*arr)), *out = json_array();

	for (i = 0; i < n; i++)
		arr[i] = json_array_get(all, i);
	qsort(arr, n, sizeof(*arr), passage_cmp);
	for (i = 0; i < n && i < DB_PASSAGES; i++)
		json_array_append(out, arr[i]);
	free(arr);
	return out;
}

/* The chapter with id among chs, or NULL. */
static const struct db_chapter *chapter_of(const struct db_chapter *chs,
					   size_t n, int64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (chs[i].id == id)
			return &chs[i];
	return NULL;
}

/* Whether a member at (order, block) has read the chapter at corder. */
static bool has_read(const struct db_member *m, int corder)
{
	return m->progress_order > corder ||
	       (m->progress_order == corder && !m->progress_block);
}

/* Every member of the circle (circle.members, page by page); new ref. */
static json_t *all_members(struct rpc_ctx *ctx, int64_t circle)
{
	json_t *out = json_array(), *page, *next;
	int64_t cursor = 0;

	do {
		if (circles_members_json(ctx, circle, cursor, &page))
			break;
		json_array_extend(out, json_object_get(page, "items"));
		/* the next page's cursor: the decimal id circles wrote */
		next = json_object_get(page, "next");
		cursor = json_is_string(next)
				 ? strtoll(json_string_value(next), NULL, 10)
				 : 0;
		json_decref(page);
	} while (cursor > 0 && json_array_size(out) < DB_MAX_MEMBERS);
	return out;
}

static int m_dashboard(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"circle", NULL};
	struct vis_viewer v;
	struct db_walk w;
	struct db_chapter *chs = NULL;
	size_t nchs = 0, i, j;
	json_t *circle_obj = NULL, *toc = NULL, *plan = NULL, *members = NULL,
	       *entries, *part, *c, *e, *mj;
	json_t *plan_out = json_array(), *lines = json_array(),
	       *chapters_out = json_array(), *weeks = json_array(),
	       *activity = json_array();
	int64_t circle, today, me = rpc_account(ctx);
	int on_track = 0, behind = 0, ahead = 0;
	bool mod;
	char day[RFC3339_DATE_LEN];

	memset(&w, 0, sizeof(w));
	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_id(ctx, params, "circle", true, &circle) ||
	    circle_access_id(ctx, circle, CIRCLE_MEMBER, &v))
		goto fail;
	mod = v.role >= VIS_ROLE_MODERATOR;
	w.now = rpc_now(ctx);
	today = w.now / 86400;
	if (!circles_get_json(ctx, circle, &circle_obj))
		books_toc(
			rpc_store(ctx),
			json_integer_value(json_object_get(circle_obj, "book")),
			&toc);
	circles_plan_json(ctx, circle, &plan);
	members = all_members(ctx, circle);
	if (!toc || !plan) {
		rpc_fail(ctx, RPC_E_INTERNAL, "could not read the circle");
		goto fail;
	}
	/* the book's chapters in reading order */
	json_array_foreach(json_object_get(toc, "parts"), i, part)
	{
		json_array_foreach(json_object_get(part, "chapters"), j, c)
		{
			chs = xrealloc(chs, (nchs + 1) * sizeof(*chs));
			chs[nchs].id =
				json_integer_value(json_object_get(c, "id"));
			chs[nchs].order = (int)nchs + 1;
			chs[nchs].number = json_object_get(c, "number");
			chs[nchs].title =
				json_string_value(json_object_get(c, "title"));
			nchs++;
		}
	}
	/* members and their progress */
	w.members = xcalloc(json_array_size(members) + 1, sizeof(*w.members));
	json_array_foreach(members, i, mj)
	{
		struct db_member *m = &w.members[w.nmembers++];
		json_t *p = json_object_get(mj, "progress");
		const struct db_chapter *pc;

		m->account = json_integer_value(
			json_object_get(json_object_get(mj, "account"), "id"));
		if (json_is_object(p)) {
			pc = chapter_of(chs, nchs,
					json_integer_value(
						json_object_get(p, "chapter")));
			m->progress_order = pc ? pc->order : 0;
			m->progress_block =
				!json_is_null(json_object_get(p, "block"));
			m->last_seen = parse_t(p, "updated_at");
		}
	}
	/* the threads the caller may see */
	w.chapters = json_object();
	if (threads_each_visible(ctx, circle, 0, &v, true, walk_cb, &w)) {
		rpc_fail_store(ctx, SCH_EDB);
		goto fail;
	}
	/* the plan, and each of its chapters */
	entries = json_object_get(plan, "entries");
	json_array_foreach(entries, i, e)
	{
		int64_t id = json_integer_value(json_object_get(e, "chapter"));
		const struct db_chapter *pc = chapter_of(chs, nchs, id);
		json_t *readers = json_array(), *ch, *o;
		int read_by = 0;
		char key[24];

		if (!pc)
			continue; /* dropped by a re-import */
		for (j = 0; j < w.nmembers; j++) {
			if (!has_read(&w.members[j], pc->order))
				continue;
			read_by++;
			json_array_append_new(
				readers, json_integer(w.members[j].account));
		}
		json_array_append_new(
			plan_out,
			json_pack("{s:I,s:O,s:s,s:O,s:i}", "chapter",
				  (json_int_t)id, "number", pc->number, "title",
				  pc->title ? pc->title : "", "due",
				  json_object_get(e, "due"), "order",
				  pc->order));
		snprintf(key, sizeof(key), "%lld", (long long)id);
		ch = json_object_get(w.chapters, key);
		o = json_pack(
			"{s:I,s:O,s:s,s:O,s:i,s:I,s:I,s:I,s:o}", "chapter",
			(json_int_t)id, "number", pc->number, "title",
			pc->title ? pc->title : "", "due",
			json_object_get(e, "due"), "read_by", read_by,
			"threads",
			json_integer_value(json_object_get(ch, "threads")),
			"replies",
			json_integer_value(json_object_get(ch, "replies")),
			"unanswered",
			json_integer_value(json_object_get(ch, "unanswered")),
			"passages",
			top_passages(json_object_get(ch, "passages")));
		if (mod)
			json_object_set_new(o, "readers", readers);
		else
			json_decref(readers);
		json_array_append_new(chapters_out, o);
	}
	/* each member's line */
	for (i = 0; i < w.nmembers; i++) {
		struct db_member *m = &w.members[i];
		int behind_by = 0, ahead_by = 0, read = 0;
		const char *status;
		json_t *line, *wk, *prog = json_null();

		json_array_foreach(entries, j, e)
		{
			const struct db_chapter *pc =
				chapter_of(chs, nchs,
					   json_integer_value(json_object_get(
						   e, "chapter")));
			int64_t due = mt_days(
				json_string_value(json_object_get(e, "due")));
			bool r;

			if (!pc)
				continue;
			r = has_read(m, pc->order);
			read += r;
			if (due < today && !r)
				behind_by++;
			else if (due >= today && r)
				ahead_by++;
		}
		status = behind_by ? "behind" : ahead_by ? "ahead" : "on_track";
		behind += behind_by > 0;
		ahead += !behind_by && ahead_by;
		on_track += !behind_by && !ahead_by;
		if (!mod && m->account != me)
			continue;
		wk = json_array();
		for (j = 0; j < DB_WEEKS; j++)
			json_array_append_new(wk, json_integer(m->weeks[j]));
		if (m->progress_order > 0) {
			const struct db_chapter *pc =
				&chs[m->progress_order - 1];

			prog = json_pack("{s:I,s:i,s:O,s:s,s:b}", "chapter",
					 (json_int_t)pc->id, "order", pc->order,
					 "number", pc->number, "title",
					 pc->title ? pc->title : "", "partial",
					 m->progress_block);
		}
		line = json_pack(
			"{s:O,s:O,s:o,s:i,s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:o,s:o}",
			"account",
			json_object_get(json_array_get(members, i), "account"),
			"role",
			json_object_get(json_array_get(members, i), "role"),
			"progress", prog, "chapters_read", read, "status",
			status, "behind_by", behind_by, "ahead_by", ahead_by,
			"threads", m->threads, "replies", m->replies,
			"threads_week", m->threads_week, "replies_week",
			m->replies_week, "last_seen",
			m->last_seen ? rfc3339_json(m->last_seen) : json_null(),
			"activity", wk);
		json_array_append_new(lines, line);
	}
	for (j = 0; j < DB_WEEKS; j++) {
		rfc3339_date(w.now - (int64_t)(DB_WEEKS - j) * DB_WEEK + 86400,
			     day, sizeof(day));
		json_array_append_new(weeks, json_string(day));
		json_array_append_new(activity,
				      json_pack("{s:s,s:i,s:i}", "week", day,
						"threads", w.weeks_threads[j],
						"replies", w.weeks_replies[j]));
	}
	rfc3339_date(w.now, day, sizeof(day));
	*result = json_pack(
		"{s:I,s:s,s:o,s:o,s:o,s:o,s:{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,"
		"s:o}}",
		"circle", (json_int_t)circle, "today", day, "weeks", weeks,
		"plan", plan_out, "members", lines, "chapters", chapters_out,
		"totals", "members", (int)w.nmembers, "threads", w.threads,
		"replies", w.replies, "threads_week", w.threads_week,
		"replies_week", w.replies_week, "on_track", on_track, "behind",
		behind, "ahead", ahead, "activity", activity);
	json_decref(circle_obj);
	json_decref(toc);
	json_decref(plan);
	json_decref(members);
	json_decref(w.chapters);
	free(w.members);
	free(chs);
	return 0;
fail:
	json_decref(circle_obj);
	json_decref(toc);
	json_decref(plan);
	json_decref(members);
	json_decref(w.chapters);
	json_decref(plan_out);
	json_decref(lines);
	json_decref(chapters_out);
	json_decref(weeks);
	json_decref(activity);
	free(w.members);
	free(chs);
	return RPC_ERR;
}

const struct rpc_method mt_dashboard_methods[] = {
	{"circle.dashboard", m_dashboard, RPC_AUTH}, {NULL, NULL, 0}};
