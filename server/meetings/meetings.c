/*
 * meetings.c - meetings of a circle: their agenda, live mode and outcomes.
 *
 * A meeting belongs to a circle and usually to a chapter of its plan. Its
 * agenda is an ordered list of threads (meeting_items with a position);
 * members propose threads (items without a position) and the owner sets the
 * agenda. During the meeting a moderator or owner moves through it
 * (meeting.advance sets `current`); members raise a hand for the item
 * discussed and mark themselves present. Afterwards a moderator writes an
 * outcome on an item: it is posted into the thread as a reply through
 * reply.create itself (so the reply has its events, its search entry and
 * its notifications) and that reply carries `meeting_outcome`.
 *
 * Visibility: an agenda names threads, and a thread the viewer may not see
 * (spoiler guard, post first) must not show up through a meeting. So
 * meeting.get builds the agenda for its caller with vis_check; the
 * meeting.changed event carries only the meeting's own fields (no thread
 * ids), and meeting.current is published with the current thread's own
 * visibility facts, so it reaches exactly those who may see that thread.
 * Private and deleted threads are refused on an agenda.
 *
 * Agenda and outcome changes are moderator/owner actions and are written to
 * the circle's audit log (mod.log).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "books/books.h"
#include "circles/circles.h"
#include "meetings/internal.h"
#include "meetings/meetings.h"
#include "moderation/moderation.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "threads/threads.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mdtext.h"
#include "util/rfc3339.h"
#include "util/vec.h"

#define MT_MAX_MEETINGS 1000 /* per circle */
#define MT_MAX_AGENDA 50     /* items on one agenda */
#define MT_MAX_PROPOSALS 200 /* proposals on one meeting */
#define MT_MAX_TITLE 200     /* code points */
#define MT_LIST_PAGE 100
#define MT_SUGGESTIONS 10
#define MT_WEEK (7 * 86400)

/* ---- shared helpers ---- */

/* Days from the civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int64_t mt_days(const char *s)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};
	int y, m, d;

	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return -1;
	if (m == 2 && d == 29 &&
	    !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -1;
	return days_from_civil(y, m, d);
}

/* Two digits at s; -1 when not digits. */
static int two(const char *s)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return -1;
	return (s[0] - '0') * 10 + (s[1] - '0');
}

/* RFC 3339 date-time ("2026-12-06T19:30:00Z", fractions ignored, offsets
 * +HH:MM) to unix seconds. 0 or -1. */
static int parse_time(const char *s, int64_t *out)
{
	char date[11];
	int64_t days, secs;
	int h, mi, se, sign, oh, om;
	const char *p;

	if (!s || strlen(s) < 20 || strlen(s) > 40)
		return -1;
	memcpy(date, s, 10);
	date[10] = 0;
	days = mt_days(date);
	if (days < 0 || (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
		return -1;
	h = two(s + 11);
	mi = two(s + 14);
	se = two(s + 17);
	if (s[13] != ':' || s[16] != ':' || h < 0 || h > 23 || mi < 0 ||
	    mi > 59 || se < 0 || se > 60)
		return -1;
	p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	secs = days * 86400 + h * 3600 + mi * 60 + se;
	if ((*p == 'Z' || *p == 'z') && p[1] == 0) {
		*out = secs;
		return 0;
	}
	if ((*p != '+' && *p != '-') || strlen(p) != 6 || p[3] != ':')
		return -1;
	sign = *p == '+' ? 1 : -1;
	oh = two(p + 1);
	om = two(p + 4);
	if (oh < 0 || oh > 23 || om < 0 || om > 59)
		return -1;
	*out = secs - sign * (oh * 3600 + om * 60);
	return 0;
}

/* ---- the meeting row ---- */

/* One meetings row. */
struct mt_meeting {
	int64_t id;
	int64_t circle;
	int64_t at;
	int64_t chapter; /* 0: none */
	char title[MT_MAX_TITLE * 4 + 1];
	char status[12];
	int64_t current; /* 0: none */
	int64_t created_at;
	int64_t updated_at;
};

static const char SQL_MEETING[] =
	"SELECT id, circle, at, chapter, title, status, current, created_at,"
	" updated_at FROM meetings WHERE id = ?";

/* 0, SCH_ENOTFOUND or SCH_EDB. */
static int meeting_load(struct store *db, int64_t id, struct mt_meeting *m)
{
	struct store_stmt *st = store_query(db, SQL_MEETING, "i", id);
	int rc;

	if (!st)
		return SCH_EDB;
	rc = store_row(st);
	if (rc <= 0)
		return rc < 0 ? rc : SCH_ENOTFOUND;
	memset(m, 0, sizeof(*m));
	m->id = store_int(st, 0);
	m->circle = store_int(st, 1);
	m->at = store_int(st, 2);
	m->chapter = store_is_null(st, 3) ? 0 : store_int(st, 3);
	snprintf(m->title, sizeof(m->title), "%s",
		 store_text(st, 4) ? store_text(st, 4) : "");
	snprintf(m->status, sizeof(m->status), "%s",
		 store_text(st, 5) ? store_text(st, 5) : "scheduled");
	m->current = store_is_null(st, 6) ? 0 : store_int(st, 6);
	m->created_at = store_int(st, 7);
	m->updated_at = store_int(st, 8);
	store_done(st);
	return 0;
}

/*
 * Reads "meeting", loads it and checks need in its circle. A meeting of a
 * circle the caller may not see is -32004 like one that does not exist.
 */
static int meeting_param(struct rpc_ctx *ctx, json_t *params,
			 enum circle_need need, struct mt_meeting *m,
			 struct vis_viewer *v)
{
	int64_t id;
	int rc;

	if (rpc_param_id(ctx, params, "meeting", true, &id))
		return RPC_ERR;
	rc = meeting_load(rpc_store(ctx), id, m);
	if (rc == SCH_ENOTFOUND)
		return rpc_fail(ctx, RPC_E_NOT_FOUND, "no such meeting");
	if (rc)
		return rpc_fail_store(ctx, rc);
	return circle_access_id(ctx, m->circle, need, v);
}

/* The meeting's own fields (what meeting.changed carries); new ref. */
static json_t *meeting_head(const struct mt_meeting *m)
{
	return json_pack("{s:I,s:I,s:o,s:o,s:s,s:s,s:o,s:o}", "id",
			 (json_int_t)m->id, "circle", (json_int_t)m->circle,
			 "at", rfc3339_json(m->at), "chapter",
			 m->chapter ? json_integer(m->chapter) : json_null(),
			 "title", m->title, "status", m->status, "created_at",
			 rfc3339_json(m->created_at), "updated_at",
			 rfc3339_json(m->updated_at));
}

/* ---- threads on an agenda ---- */

/*
 * Checks that ann is a thread of circle that may stand on an agenda (not
 * private, not deleted) and how v sees it. Returns 0 with *r, or SCH_E*.
 */
static int thread_check(struct store *db, int64_t circle, int64_t ann,
			const struct vis_viewer *v, enum vis_result *r)
{
	struct threads_target t;
	struct vis_item item;

	if (threads_target_get(db, 0, ann, &t) || t.circle != circle ||
	    t.private_ || t.deleted)
		return SCH_ENOTFOUND;
	threads_target_vis(db, &t, &item);
	*r = v ? vis_check(v, &item) : VIS_FULL;
	return 0;
}

/* The exact quote of an annotation's passage (caller frees), or NULL. */
static char *thread_quote(struct store *db, int64_t ann)
{
	json_t *target = NULL, *sel, *s;
	const char *state;
	char *out = NULL;
	size_t i;

	if (books_anchor_get(db, ann, &target, &state) || !target)
		return NULL;
	sel = json_object_get(target, "selector");
	json_array_foreach(sel, i, s)
	{
		const char *type =
			json_string_value(json_object_get(s, "type"));

		if (type && !strcmp(type, "TextQuoteSelector") &&
		    json_is_string(json_object_get(s, "exact"))) {
			out = xstrdup(
				json_string_value(json_object_get(s, "exact")));
			break;
		}
	}
	json_decref(target);
	return out;
}

/* ---- outcomes ---- */

/*
 * The second branch answers for the reply meeting.outcome is posting right
 * now: its row exists (reply NULL) before reply.create renders the reply,
 * so reply.created already carries the mark; the row gets the reply's id
 * before the handler returns, in the same transaction.
 */
static const char SQL_OUTCOME_OF_REPLY[] =
	"SELECT meeting FROM meeting_outcomes WHERE reply = ?1"
	" UNION ALL SELECT meeting FROM meeting_outcomes"
	" WHERE reply IS NULL AND annotation = ?2 LIMIT 1";

int64_t mt_reply_outcome(struct store *db, int64_t reply, int64_t annotation)
{
	int64_t m = 0;

	if (store_int_query(db, &m, SQL_OUTCOME_OF_REPLY, "ii", reply,
			    annotation) <= 0)
		return 0;
	return m;
}

static const char SQL_OUTCOMES[] =
	"SELECT reply, author, body, at FROM meeting_outcomes"
	" WHERE meeting = ? AND annotation = ? AND reply IS NOT NULL"
	" ORDER BY id";

/*
 * The outcomes of one item [{reply, author, body, at}], body null where
 * the reply was hidden or deleted (for everyone: an outcome is read as a
 * record, moderators see the thread itself). New reference.
 */
static json_t *outcomes_json(struct store *db, int64_t meeting, int64_t ann)
{
	struct store_stmt *st =
		store_query(db, SQL_OUTCOMES, "ii", meeting, ann);
	json_t *out = json_array();
	size_t i;
	json_t *o;

	while (st && store_row(st) > 0) {
		json_array_append_new(
			out,
			json_pack("{s:I,s:I,s:s,s:o}", "reply",
				  (json_int_t)store_int(st, 0), "author",
				  (json_int_t)store_int(st, 1), "body",
				  store_text(st, 2) ? store_text(st, 2) : "",
				  "at", rfc3339_json(store_int(st, 3))));
	}
	json_array_foreach(out, i, o)
	{
		struct threads_target t;
		int64_t reply = json_integer_value(json_object_get(o, "reply"));
		int64_t author =
			json_integer_value(json_object_get(o, "author"));
		json_t *a = auth_author_json(db, author);

		if (threads_target_get(db, 1, reply, &t) || t.hidden ||
		    t.deleted)
			json_object_set_new(o, "body", json_null());
		json_object_set_new(o, "author", a ? a : json_null());
	}
	return out;
}

/* ---- the meeting object ---- */

static const char SQL_ITEMS[] =
	"SELECT annotation, position, proposed_by, proposed_at"
	" FROM meeting_items WHERE meeting = ?"
	" ORDER BY position IS NULL, position, proposed_at, annotation";
static const char SQL_HANDS[] =
	"SELECT account, annotation, at FROM meeting_hands WHERE meeting = ?"
	" ORDER BY at, account";
static const char SQL_ATTENDEES[] =
	"SELECT account FROM meeting_attendance WHERE meeting = ?"
	" ORDER BY at, account";

/* One item row while building. */
struct mt_item {
	int64_t annotation;
	int64_t position; /* -1: proposal */
	int64_t proposed_by;
	int64_t proposed_at;
};

/* The rows of meeting_items; caller frees *items. */
static size_t items_load(struct store *db, int64_t meeting,
			 struct mt_item **items)
{
	struct store_stmt *st = store_query(db, SQL_ITEMS, "i", meeting);
	size_t n = 0, cap = 0;

	*items = NULL;
	while (st && store_row(st) > 0) {
		*items = vec_reserve(*items, n, &cap, sizeof(**items));
		(*items)[n].annotation = store_int(st, 0);
		(*items)[n].position =
			store_is_null(st, 1) ? -1 : store_int(st, 1);
		(*items)[n].proposed_by =
			store_is_null(st, 2) ? 0 : store_int(st, 2);
		(*items)[n].proposed_at =
			store_is_null(st, 3) ? 0 : store_int(st, 3);
		n++;
	}
	return n;
}

/* The accounts of SQL_ATTENDEES as author objects; new reference. */
static json_t *attendees_json(struct store *db, int64_t meeting)
{
	struct store_stmt *st = store_query(db, SQL_ATTENDEES, "i", meeting);
	json_t *ids = json_array(), *out = json_array(), *id;
	size_t i;

	while (st && store_row(st) > 0)
		json_array_append_new(ids, json_integer(store_int(st, 0)));
	json_array_foreach(ids, i, id)
	{
		json_t *a = auth_author_json(db, json_integer_value(id));

		if (a)
			json_array_append_new(out, a);
	}
	json_decref(ids);
	return out;
}

/* Suggestion candidates gathered over the visible threads. */
struct suggest_walk {
	json_t *out;   /* [{annotation, reason, ...}] */
	int64_t since; /* a week ago */
	struct mt_item *items;
	size_t nitems;
};

static int64_t rfc3339_of(const json_t *o, const char *key)
{
	int64_t t = 0;

	if (parse_time(json_string_value(json_object_get(o, key)), &t))
		return 0;
	return t;
}

/* The first MT_EXCERPT code points of a body, "…" when cut; new ref. */
#define MT_EXCERPT 160
static json_t *excerpt(const char *body)
{
	size_t cp = 0, i;

	if (!body)
		return json_string("");
	for (i = 0; body[i]; i++) {
		if (((unsigned char)body[i] & 0xc0) != 0x80 &&
		    cp++ == MT_EXCERPT) {
			char *cut = xstrndup(body, i);
			json_t *o = json_sprintf("%s…", cut);

			free(cut);
			return o ? o : json_string("");
		}
	}
	return json_string(body);
}

static int suggest_cb(json_t *ann, void *arg)
{
	struct suggest_walk *w = arg;
	int64_t id = json_integer_value(json_object_get(ann, "id"));
	json_int_t replies =
		json_integer_value(json_object_get(ann, "reply_count"));
	json_int_t week = 0, reactions = 0;
	json_t *r, *v;
	const char *k;
	size_t i;

	if (json_is_true(json_object_get(ann, "deleted")) ||
	    json_is_true(json_object_get(ann, "hidden")))
		return 0;
	if (!json_is_string(json_object_get(ann, "visibility")) ||
	    strcmp(json_string_value(json_object_get(ann, "visibility")),
		   "circle"))
		return 0;
	for (i = 0; i < w->nitems; i++)
		if (w->items[i].annotation == id && w->items[i].position >= 0)
			return 0; /* already on the agenda */
	json_array_foreach(json_object_get(ann, "replies"), i, r)
	{
		if (rfc3339_of(r, "created_at") >= w->since)
			week++;
	}
	json_object_foreach(json_object_get(ann, "reactions"), k, v)
	{
		(void)k;
		reactions += json_integer_value(v);
	}
	if (replies == 0 || week > 0 ||
	    rfc3339_of(ann, "created_at") >= w->since)
		json_array_append_new(
			w->out,
			json_pack("{s:I,s:s,s:I,s:I,s:I,s:I,s:O,s:o}",
				  "annotation", (json_int_t)id, "reason",
				  replies == 0 ? "unanswered" : "discussed",
				  "replies", replies, "replies_week", week,
				  "reactions", reactions, "chapter",
				  json_integer_value(
					  json_object_get(ann, "chapter")),
				  "target", json_object_get(ann, "target"),
				  "excerpt",
				  excerpt(json_string_value(
					  json_object_get(ann, "body")))));
	return 0;
}

static int suggest_cmp(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	json_int_t sx =
		json_integer_value(json_object_get(x, "replies_week")) * 4 +
		json_integer_value(json_object_get(x, "reactions")) +
		json_integer_value(json_object_get(x, "replies"));
	json_int_t sy =
		json_integer_value(json_object_get(y, "replies_week")) * 4 +
		json_integer_value(json_object_get(y, "reactions")) +
		json_integer_value(json_object_get(y, "replies"));
	int ux = !strcmp(json_string_value(json_object_get(x, "reason")),
			 "unanswered");
	int uy = !strcmp(json_string_value(json_object_get(y, "reason")),
			 "unanswered");

	/* the most discussed first, then the unanswered ones */
	if (ux != uy)
		return ux - uy;
	if (sx != sy)
		return sx > sy ? -1 : 1;
	return (json_integer_value(json_object_get(x, "annotation")) >
		json_integer_value(json_object_get(y, "annotation")))
		       ? 1
		       : -1;
}

/*
 * Agenda suggestions for the organiser: the week's most discussed threads
 * (replies this week weigh most), then threads nobody has answered, in the
 * meeting's chapter when it has one; none already on the agenda. At most
 * MT_SUGGESTIONS (and at most half of them unanswered ones when both kinds
 * exist). New reference.
 */
static json_t *suggestions_json(struct rpc_ctx *ctx, const struct mt_meeting *m,
				const struct vis_viewer *v,
				struct mt_item *items, size_t nitems)
{
	struct suggest_walk w = {json_array(), rpc_now(ctx) - MT_WEEK, items,
				 nitems};
	json_t *out = json_array(), **arr;
	size_t n, i, disc = 0, unans = 0;

	threads_each_visible(ctx, m->circle, m->chapter, v, true, suggest_cb,
			     &w);
	n = json_array_size(w.out);
	arr = xcalloc(n + 1, sizeof(*arr));
	for (i = 0; i < n; i++)
		arr[i] = json_array_get(w.out, i);
	qsort(arr, n, sizeof(*arr), suggest_cmp);
	for (i = 0; i < n; i++) {
		bool un = !strcmp(
			json_string_value(json_object_get(arr[i], "reason")),
			"unanswered");

		if (un)
			unans++;
		else
			disc++;
	}
	{
		size_t take_disc = disc, take_un = unans;

		if (take_disc + take_un > MT_SUGGESTIONS) {
			size_t half = MT_SUGGESTIONS / 2;

			take_un = unans < half
					  ? unans
					  : (disc < half ? MT_SUGGESTIONS - disc
							 : half);
			take_disc = MT_SUGGESTIONS - take_un;
			if (take_disc > disc)
				take_disc = disc;
		}
		for (i = 0; i < n; i++) {
			bool un = !strcmp(json_string_value(json_object_get(
						  arr[i], "reason")),
					  "unanswered");

			if (un && take_un) {
				take_un--;
				json_array_append(out, arr[i]);
			} else if (!un && take_disc) {
				take_disc--;
				json_array_append(out, arr[i]);
			}
		}
	}
	free(arr);
	json_decref(w.out);
	return out;
}

/*
 * The meeting as v sees it: its fields, the agenda (items v may see, each
 * with the thread as v sees it, the raised hands and the outcomes), the
 * proposals, the attendees, the caller's own hand and presence, and for
 * moderators and owners the agenda suggestions. New reference.
 */
static json_t *meeting_json(struct rpc_ctx *ctx, const struct mt_meeting *m,
			    const struct vis_viewer *v)
{
	struct store *db = rpc_store(ctx);
	struct store_stmt *st;
	struct mt_item *items;
	size_t n = items_load(db, m->id, &items), i;
	json_t *o = meeting_head(m), *agenda = json_array(),
	       *proposals = json_array(), *hands = json_array(), *my_hand,
	       *hand;
	int64_t me = rpc_account(ctx), current = 0;
	bool present = false;

	st = store_query(db, SQL_HANDS, "i", m->id);
	while (st && store_row(st) > 0)
		json_array_append_new(
			hands,
			json_pack("{s:I,s:I,s:o}", "account",
				  (json_int_t)store_int(st, 0), "item",
				  (json_int_t)(store_is_null(st, 1)
						       ? 0
						       : store_int(st, 1)),
				  "at", rfc3339_json(store_int(st, 2))));
	my_hand = json_null();
	json_array_foreach(hands, i, hand)
	{
		int64_t a =
			json_integer_value(json_object_get(hand, "account"));
		json_t *au = auth_author_json(db, a);

		if (a == me) {
			json_decref(my_hand);
			my_hand = json_pack("{s:O,s:O}", "item",
					    json_object_get(hand, "item"), "at",
					    json_object_get(hand, "at"));
		}
		json_object_set_new(hand, "account", au ? au : json_null());
	}
	for (i = 0; i < n; i++) {
		enum vis_result r;
		json_t *thread, *it, *qh = json_array(), *h;
		struct threads_target t;
		size_t j;

		if (thread_check(db, m->circle, items[i].annotation, v, &r) ||
		    r == VIS_NONE) {
			json_decref(qh);
			continue;
		}
		memset(&t, 0, sizeof(t));
		t.kind = 0;
		t.id = items[i].annotation;
		thread = threads_target_json(ctx, &t);
		if (!thread) {
			json_decref(qh);
			continue;
		}
		json_array_foreach(hands, j, h)
		{
			if (json_integer_value(json_object_get(h, "item")) ==
			    items[i].annotation)
				json_array_append(qh, h);
		}
		it = json_pack(
			"{s:I,s:o,s:o,s:o}", "annotation",
			(json_int_t)items[i].annotation, "thread", thread,
			"proposed_by",
			items[i].proposed_by
				? auth_author_json(db, items[i].proposed_by)
				: json_null(),
			"hands", qh);
		if (items[i].position >= 0) {
			json_object_set_new(it, "position",
					    json_integer(items[i].position));
			json_object_set_new(
				it, "outcomes",
				outcomes_json(db, m->id, items[i].annotation));
			json_array_append_new(agenda, it);
			if (items[i].annotation == m->current)
				current = m->current;
		} else {
			json_array_append_new(proposals, it);
		}
	}
	st = store_query(db,
			 "SELECT 1 FROM meeting_attendance WHERE meeting = ?"
			 " AND account = ?",
			 "ii", m->id, me);
	if (st && store_row(st) > 0) {
		present = true;
		store_done(st);
	}
	json_object_set_new(o, "current",
			    current ? json_integer(current) : json_null());
	json_object_set_new(o, "agenda", agenda);
	json_object_set_new(o, "proposals", proposals);
	json_object_set_new(o, "attendees", attendees_json(db, m->id));
	json_object_set_new(o, "present", json_boolean(present));
	json_object_set_new(o, "my_hand", my_hand);
	if (vis_is_moderator(v))
		json_object_set_new(o, "suggestions",
				    suggestions_json(ctx, m, v, items, n));
	json_decref(hands);
	free(items);
	return o;
}

/* ---- events ---- */

/* meeting.changed to every member: the meeting's own fields and what
 * changed ("created", "updated", "deleted", "agenda", "proposals",
 * "outcome", "hands", "attendance"). 0 or RPC_ERR. */
static int publish_changed(struct rpc_ctx *ctx, const struct mt_meeting *m,
			   const char *what)
{
	struct vis_item item;
	json_t *data = meeting_head(m);

	memset(&item, 0, sizeof(item));
	item.circle = m->circle;
	json_object_set_new(data, "change", json_string(what));
	if (rpc_publish(ctx, m->circle, "meeting.changed", &item, "meeting",
			m->id, data, NULL) < 0)
		return rpc_fail_store(ctx, SCH_EDB);
	return 0;
}

/* meeting.current: to those who may see the current thread (its own
 * visibility facts), or to everyone when the meeting has no current item.
 * 0 or RPC_ERR. */
static int publish_current(struct rpc_ctx *ctx, const struct mt_meeting *m)
{
	struct store *db = rpc_store(ctx);
	struct vis_item item;
	struct threads_target t;
	json_t *data;

	memset(&item, 0, sizeof(item));
	item.circle = m->circle;
	data = json_pack("{s:I,s:I,s:o,s:o}", "meeting", (json_int_t)m->id,
			 "circle", (json_int_t)m->circle, "item",
			 m->current ? json_integer(m->current) : json_null(),
			 "chapter", json_null());
	if (m->current && threads_target_get(db, 0, m->current, &t) == 0) {
		threads_target_vis(db, &t, &item);
		json_object_set_new(data, "chapter", json_integer(t.chapter));
	}
	if (rpc_publish(ctx, m->circle, "meeting.current", &item, "meeting",
			m->id, data, NULL) < 0)
		return rpc_fail_store(ctx, SCH_EDB);
	return 0;
}

static const char SQL_TOUCH[] =
	"UPDATE meetings SET updated_at = ? WHERE id = ?";

/* Stamps updated_at and reloads m. 0 or RPC_ERR. */
static int touch(struct rpc_ctx *ctx, struct mt_meeting *m)
{
	int rc =
		store_run(rpc_store(ctx), SQL_TOUCH, "ii", rpc_now(ctx), m->id);

	if (!rc)
		rc = meeting_load(rpc_store(ctx), m->id, m);
	return rc ? rpc_fail_store(ctx, rc) : 0;
}

/*
 * The end of a change to meeting m: the steps' rc, then its new version
 * (touch) announced as meeting.changed with what and, when it had a
 * current item (had_current) and no longer has, the current item; the
 * meeting as the caller (v) sees it into *result. 0 or RPC_ERR.
 */
static int change_done(struct rpc_ctx *ctx, int rc, struct mt_meeting *m,
		       const struct vis_viewer *v, const char *what,
		       bool had_current, json_t **result)
{
	if (rc)
		return rpc_fail_store(ctx, rc);
	if (touch(ctx, m) || publish_changed(ctx, m, what))
		return RPC_ERR;
	if (had_current && !m->current && publish_current(ctx, m))
		return RPC_ERR;
	*result = meeting_json(ctx, m, v);
	return 0;
}

/* ---- parameters ---- */

/* The optional "chapter" (a chapter of the circle's book, or null for
 * none): *present tells whether it was given. 0 or RPC_ERR. */
static int param_chapter(struct rpc_ctx *ctx, json_t *params, int64_t circle,
			 int64_t *chapter, bool *present)
{
	json_t *c = json_object_get(params, "chapter");
	struct books_chapter_info ci;
	int64_t book;

	*present = c != NULL;
	*chapter = 0;
	if (!c || json_is_null(c))
		return 0;
	if (rpc_param_id(ctx, params, "chapter", true, chapter))
		return RPC_ERR;
	if (circles_book(rpc_store(ctx), circle, &book) ||
	    books_chapter_info(rpc_store(ctx), *chapter, &ci) ||
	    ci.book != book)
		return rpc_fail_field(ctx, "chapter",
				      "not a chapter of the circle's book");
	return 0;
}

/* The "at" parameter (RFC 3339). 0 or RPC_ERR. */
static int param_at(struct rpc_ctx *ctx, json_t *params, bool required,
		    int64_t *at)
{
	const char *s = NULL;

	if (rpc_param_str(ctx, params, "at", required, 20, 40, &s))
		return RPC_ERR;
	if (s && parse_time(s, at))
		return rpc_fail_field(ctx, "at",
				      "must be an RFC 3339 date and time");
	return 0;
}

/* ---- methods ---- */

static const char SQL_COUNT[] =
	"SELECT count(*) FROM meetings WHERE circle = ?";
static const char SQL_INSERT[] =
	"INSERT INTO meetings(circle, at, chapter, title, created_by,"
	" created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)";

static int m_create(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"circle", "at", "chapter",
					      "title", NULL};
	struct store *db = rpc_store(ctx);
	const char *title = "";
	struct vis_viewer v;
	struct mt_meeting m;
	int64_t circle, at = 0, chapter, n = 0, now = rpc_now(ctx);
	bool has_chapter;
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_id(ctx, params, "circle", true, &circle) ||
	    circle_access_id(ctx, circle, CIRCLE_OWNER, &v) ||
	    param_at(ctx, params, true, &at) ||
	    param_chapter(ctx, params, circle, &chapter, &has_chapter) ||
	    rpc_param_str(ctx, params, "title", false, 0, MT_MAX_TITLE, &title))
		return RPC_ERR;
	rc = store_int_query(db, &n, SQL_COUNT, "i", circle);
	if (rc < 0)
		return rpc_fail_store(ctx, rc);
	if (n >= MT_MAX_MEETINGS)
		return rpc_fail(ctx, RPC_E_TOO_LARGE,
				"too many meetings in this circle");
	rc = store_run(db, SQL_INSERT, "iiItiii", circle, at, chapter, title,
		       rpc_account(ctx), now, now);
	if (!rc)
		rc = meeting_load(db, store_last_id(db), &m);
	if (rc)
		return rpc_fail_store(ctx, rc);
	if (publish_changed(ctx, &m, "created"))
		return RPC_ERR;
	*result = meeting_json(ctx, &m, &v);
	return 0;
}

static int m_get(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"meeting", NULL};
	struct vis_viewer v;
	struct mt_meeting m;

	if (rpc_params_only(ctx, params, allowed) ||
	    meeting_param(ctx, params, CIRCLE_SEE, &m, &v))
		return RPC_ERR;
	*result = meeting_json(ctx, &m, &v);
	return 0;
}

static const char SQL_LIST[] =
	"SELECT id FROM meetings WHERE circle = ? AND id > ? ORDER BY id"
	" LIMIT ?";
static const char SQL_AGENDA_COUNT[] =
	"SELECT count(*) FROM meeting_items WHERE meeting = ?"
	" AND position IS NOT NULL";

static int m_list(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"circle", "cursor", NULL};
	struct store *db = rpc_store(ctx);
	struct vis_viewer v;
	struct store_stmt *st;
	int64_t circle, cursor = 0, last = 0;
	json_t *ids = json_array(), *items = json_array(), *id;
	char next[24];
	size_t i;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_id(ctx, params, "circle", true, &circle) ||
	    circle_access_id(ctx, circle, CIRCLE_SEE, &v) ||
	    rpc_param_cursor(ctx, params, &cursor)) {
		json_decref(ids);
		json_decref(items);
		return RPC_ERR;
	}
	st = store_query(db, SQL_LIST, "iii", circle, cursor,
			 (int64_t)MT_LIST_PAGE + 1);
	while (st && store_row(st) > 0)
		json_array_append_new(ids, json_integer(store_int(st, 0)));
	json_array_foreach(ids, i, id)
	{
		struct mt_meeting m;
		int64_t n = 0;
		json_t *o;

		if (i == MT_LIST_PAGE)
			break;
		if (meeting_load(db, json_integer_value(id), &m))
			continue;
		o = meeting_head(&m);
		store_int_query(db, &n, SQL_AGENDA_COUNT, "i", m.id);
		json_object_set_new(o, "agenda_count", json_integer(n));
		json_array_append_new(items, o);
		last = m.id;
	}
	snprintf(next, sizeof(next), "%lld", (long long)last);
	*result = json_pack("{s:o,s:o}", "items", items, "next",
			    json_array_size(ids) > MT_LIST_PAGE
				    ? json_string(next)
				    : json_null());
	json_decref(ids);
	return 0;
}

static const char SQL_UPDATE[] =
	"UPDATE meetings SET at = ?, chapter = ?, title = ?, status = ?,"
	" current = CASE WHEN ? = 'ended' THEN NULL ELSE current END"
	" WHERE id = ?";

static int m_update(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"meeting", "at",	   "chapter",
					      "title",	 "status", NULL};
	static const char *const statuses[] = {"scheduled", "live", "ended",
					       NULL};
	struct vis_viewer v;
	struct mt_meeting m;
	const char *title;
	int64_t at, chapter;
	bool has_chapter, was_current;
	int status = -1, rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    meeting_param(ctx, params, CIRCLE_OWNER, &m, &v))
		return RPC_ERR;
	at = m.at;
	title = m.title;
	if (param_at(ctx, params, false, &at) ||
	    param_chapter(ctx, params, m.circle, &chapter, &has_chapter) ||
	    rpc_param_str(ctx, params, "title", false, 0, MT_MAX_TITLE,
			  &title) ||
	    rpc_param_enum(ctx, params, "status", false, statuses, &status))
		return RPC_ERR;
	if (!has_chapter)
		chapter = m.chapter;
	was_current = m.current != 0;
	{
		char t[sizeof(m.title)];
		const char *st = status >= 0 ? statuses[status] : m.status;

		snprintf(t, sizeof(t), "%s", title);
		rc = store_run(rpc_store(ctx), SQL_UPDATE, "iIttti", at,
			       chapter, t, st, st, m.id);
	}
	return change_done(ctx, rc, &m, &v, "updated", was_current, result);
}

static const char SQL_DELETE[] = "DELETE FROM meetings WHERE id = ?";

static int m_delete(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"meeting", NULL};
	struct vis_viewer v;
	struct mt_meeting m;
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    meeting_param(ctx, params, CIRCLE_OWNER, &m, &v))
		return RPC_ERR;
	rc = store_run(rpc_store(ctx), SQL_DELETE, "i", m.id);
	if (rc)
		return rpc_fail_store(ctx, rc);
	if (publish_changed(ctx, &m, "deleted"))
		return RPC_ERR;
	*result = json_object();
	return 0;
}

static const char SQL_AGENDA_CLEAR[] =
	"UPDATE meeting_items SET position = NULL WHERE meeting = ?";
static const char SQL_AGENDA_PUT[] =
	"INSERT INTO meeting_items(meeting, annotation, position)"
	" VALUES (?, ?, ?) ON CONFLICT(meeting, annotation)"
	" DO UPDATE SET position = excluded.position";
static const char SQL_AGENDA_PRUNE[] =
	"DELETE FROM meeting_items WHERE meeting = ? AND position IS NULL"
	" AND proposed_by IS NULL";
static const char SQL_CURRENT_CHECK[] =
	"UPDATE meetings SET current = NULL WHERE id = ?1 AND current IS NOT"
	" NULL AND NOT EXISTS (SELECT 1 FROM meeting_items WHERE meeting = ?1"
	" AND annotation = meetings.current AND position IS NOT NULL)";

static int m_agenda(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"meeting", "annotations", NULL};
	struct store *db = rpc_store(ctx);
	struct vis_viewer v;
	struct mt_meeting m;
	json_t *list, *a;
	bool had_current;
	char reason[64], field[48];
	size_t i, n;
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    meeting_param(ctx, params, CIRCLE_OWNER, &m, &v) ||
	    rpc_param_json(ctx, params, "annotations", true, JSON_ARRAY, &list))
		return RPC_ERR;
	n = json_array_size(list);
	if (n > MT_MAX_AGENDA)
		return rpc_fail(ctx, RPC_E_TOO_LARGE,
				"too many items on the agenda");
	json_array_foreach(list, i, a)
	{
		enum vis_result r;

		snprintf(field, sizeof(field), "annotations[%zu]", i);
		if (!json_is_integer(a) || json_integer_value(a) < 1)
			return rpc_fail_field(ctx, field,
					      "must be an annotation id");
		for (size_t j = 0; j < i; j++)
			if (json_integer_value(json_array_get(list, j)) ==
			    json_integer_value(a))
				return rpc_fail_field(ctx, field,
						      "listed twice");
		if (thread_check(db, m.circle, json_integer_value(a), &v, &r) ||
		    r == VIS_NONE)
			return rpc_fail_field(
				ctx, field,
				"not a circle thread of this meeting's circle");
	}
	had_current = m.current != 0;
	rc = store_run(db, SQL_AGENDA_CLEAR, "i", m.id);
	json_array_foreach(list, i, a)
	{
		if (!rc)
			rc = store_run(db, SQL_AGENDA_PUT, "iii", m.id,
				       (int64_t)json_integer_value(a),
				       (int64_t)i);
	}
	if (!rc)
		rc = store_run(db, SQL_AGENDA_PRUNE, "i", m.id);
	if (!rc)
		rc = store_run(db, SQL_CURRENT_CHECK, "i", m.id);
	snprintf(field, sizeof(field), "meeting:%lld", (long long)m.id);
	snprintf(reason, sizeof(reason), "%zu item%s", n, n == 1 ? "" : "s");
	if (!rc)
		rc = moderation_log(ctx, m.circle, "meeting.agenda", field,
				    reason);
	return change_done(ctx, rc, &m, &v, "agenda", had_current, result);
}

static const char SQL_ON_AGENDA[] = "SELECT count(*) FROM meeting_items WHERE "
				    "meeting = ? AND annotation = ?"
				    " AND position IS NOT NULL";
static const char SQL_SET_CURRENT[] =
	"UPDATE meetings SET current = ?, status = CASE WHEN status ="
	" 'scheduled' THEN 'live' ELSE status END WHERE id = ?";

/* -32602 naming field unless ann is on m's agenda. 0 or RPC_ERR. */
static int need_on_agenda(struct rpc_ctx *ctx, const struct mt_meeting *m,
			  int64_t ann, const char *field)
{
	int64_t n = 0;
	int rc = store_int_query(rpc_store(ctx), &n, SQL_ON_AGENDA, "ii", m->id,
				 ann);

	if (rc < 0)
		return rpc_fail_store(ctx, rc);
	if (n == 0)
		return rpc_fail_field(ctx, field,
				      "not on the meeting's agenda");
	return 0;
}

static int m_advance(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"meeting", "item", NULL};
	struct vis_viewer v;
	struct mt_meeting m;
	int64_t item = 0;
	json_t *it;
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    meeting_param(ctx, params, CIRCLE_MODERATOR, &m, &v))
		return RPC_ERR;
	it = json_object_get(params, "item");
	if (!it)
		return rpc_fail_field(ctx, "item", "required");
	if (!json_is_null(it) &&
	    (rpc_param_id(ctx, params, "item", true, &item) ||
	     need_on_agenda(ctx, &m, item, "item")))
		return RPC_ERR;
	if (!strcmp(m.status, "ended"))
		return rpc_fail(ctx, RPC_E_CONFLICT, "the meeting has ended");
	rc = store_run(rpc_store(ctx), SQL_SET_CURRENT, "Ii", item, m.id);
	if (!rc) {
		char target[48];

		snprintf(target, sizeof(target), "meeting:%lld",
			 (long long)m.id);
		rc = moderation_log(ctx, m.circle, "meeting.advance", target,
				    NULL);
	}
	if (rc)
		return rpc_fail_store(ctx, rc);
	if (touch(ctx, &m) || publish_current(ctx, &m))
		return RPC_ERR;
	*result = meeting_json(ctx, &m, &v);
	return 0;
}

static const char SQL_OUTCOME_INSERT[] =
	"INSERT INTO meeting_outcomes(meeting, annotation, author, body, at)"
	" VALUES (?, ?, ?, ?, ?)";
static const char SQL_OUTCOME_REPLY[] =
	"UPDATE meeting_outcomes SET reply = ? WHERE id = ?";

static int m_outcome(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"meeting", "annotation", "body",
					      NULL};
	struct store *db = rpc_store(ctx);
	size_t max = rpc_config.max_body_cp ? rpc_config.max_body_cp : 10000;
	struct vis_viewer v;
	struct mt_meeting m;
	const char *body;
	int64_t ann, oid, reply;
	json_t *r;
	char target[48];
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    meeting_param(ctx, params, CIRCLE_MODERATOR, &m, &v) ||
	    rpc_param_id(ctx, params, "annotation", true, &ann) ||
	    rpc_param_text(ctx, params, "body", true, max, &body))
		return RPC_ERR;
	if (!*body)
		return rpc_fail_field(ctx, "body", "must not be empty");
	if (need_on_agenda(ctx, &m, ann, "annotation"))
		return RPC_ERR;
	rc = store_run(db, SQL_OUTCOME_INSERT, "iiiti", m.id, ann,
		       rpc_account(ctx), body, rpc_now(ctx));
	if (rc)
		return rpc_fail_store(ctx, rc);
	oid = store_last_id(db);
	/* the reply goes through reply.create itself: its checks (locked
	 * thread, rate limit), events, search entry and notifications */
	if (threads_reply_create(ctx, ann, body, &r))
		return rpc_fail(ctx, RPC_E_LOCKED,
				"the outcome could not be posted into the "
				"thread (locked, muted or rate limited)");
	reply = json_integer_value(json_object_get(r, "id"));
	json_decref(r);
	rc = store_run(db, SQL_OUTCOME_REPLY, "ii", reply, oid);
	snprintf(target, sizeof(target), "annotation:%lld", (long long)ann);
	if (!rc)
		rc = moderation_log(ctx, m.circle, "meeting.outcome", target,
				    NULL);
	if (change_done(ctx, rc, &m, &v, "outcome", false, result))
		return RPC_ERR;
	json_object_set_new(*result, "reply", json_integer(reply));
	return 0;
}

static const char SQL_PROPOSALS[] =
	"SELECT count(*) FROM meeting_items WHERE meeting = ?";
static const char SQL_PROPOSE[] =
	"INSERT INTO meeting_items(meeting, annotation, proposed_by,"
	" proposed_at) VALUES (?, ?, ?, ?)"
	" ON CONFLICT(meeting, annotation) DO NOTHING";

static int m_propose(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"meeting", "annotation", NULL};
	struct store *db = rpc_store(ctx);
	struct vis_viewer v;
	struct mt_meeting m;
	enum vis_result r;
	int64_t ann, n = 0;
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    meeting_param(ctx, params, CIRCLE_MEMBER, &m, &v) ||
	    rpc_param_id(ctx, params, "annotation", true, &ann))
		return RPC_ERR;
	if (thread_check(db, m.circle, ann, &v, &r) || r != VIS_FULL)
		return rpc_fail_field(ctx, "annotation",
				      "not a circle thread you can see here");
	if (!strcmp(m.status, "ended"))
		return rpc_fail(ctx, RPC_E_CONFLICT, "the meeting has ended");
	rc = store_int_query(db, &n, SQL_PROPOSALS, "i", m.id);
	if (rc < 0)
		return rpc_fail_store(ctx, rc);
	if (n >= MT_MAX_PROPOSALS + MT_MAX_AGENDA)
		return rpc_fail(ctx, RPC_E_TOO_LARGE,
				"too many proposals for this meeting");
	rc = store_run(db, SQL_PROPOSE, "iiii", m.id, ann, rpc_account(ctx),
		       rpc_now(ctx));
	if (rc)
		return rpc_fail_store(ctx, rc);
	if (store_changes(db) > 0 &&
	    (touch(ctx, &m) || publish_changed(ctx, &m, "proposals")))
		return RPC_ERR;
	*result = meeting_json(ctx, &m, &v);
	return 0;
}

static const char SQL_HAND_UP[] =
	"INSERT INTO meeting_hands(meeting, account, annotation, at)"
	" VALUES (?, ?, ?, ?) ON CONFLICT(meeting, account) DO UPDATE SET"
	" annotation = excluded.annotation, at = excluded.at";
static const char SQL_HAND_DOWN[] =
	"DELETE FROM meeting_hands WHERE meeting = ? AND account = ?";

static int m_hand(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"meeting", "up", "account", NULL};
	struct store *db = rpc_store(ctx);
	struct vis_viewer v;
	struct mt_meeting m;
	int64_t who;
	bool up, changed;
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    meeting_param(ctx, params, CIRCLE_MEMBER, &m, &v) ||
	    rpc_param_bool(ctx, params, "up", true, &up))
		return RPC_ERR;
	who = rpc_account(ctx);
	/* a moderator lowers someone else's hand once they have spoken */
	if (json_object_get(params, "account")) {
		if (rpc_param_id(ctx, params, "account", true, &who))
			return RPC_ERR;
		if (who != rpc_account(ctx) &&
		    (up || v.role < VIS_ROLE_MODERATOR))
			return rpc_fail(ctx, RPC_E_FORBIDDEN,
					"only moderators lower others' hands");
	}
	if (up && !strcmp(m.status, "ended"))
		return rpc_fail(ctx, RPC_E_CONFLICT, "the meeting has ended");
	if (up)
		rc = store_run(db, SQL_HAND_UP, "iiIi", m.id, who, m.current,
			       rpc_now(ctx));
	else
		rc = store_run(db, SQL_HAND_DOWN, "ii", m.id, who);
	changed = !rc && store_changes(db) > 0;
	if (changed && who != rpc_account(ctx)) {
		char target[48];

		snprintf(target, sizeof(target), "account:%lld",
			 (long long)who);
		rc = moderation_log(ctx, m.circle, "meeting.lower_hand", target,
				    NULL);
	}
	if (rc)
		return rpc_fail_store(ctx, rc);
	if (changed && publish_changed(ctx, &m, "hands"))
		return RPC_ERR;
	*result = meeting_json(ctx, &m, &v);
	return 0;
}

static const char SQL_ATTEND[] =
	"INSERT INTO meeting_attendance(meeting, account, at) VALUES (?, ?, ?)"
	" ON CONFLICT(meeting, account) DO NOTHING";
static const char SQL_UNATTEND[] =
	"DELETE FROM meeting_attendance WHERE meeting = ? AND account = ?";

static int m_attend(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"meeting", "present", NULL};
	struct store *db = rpc_store(ctx);
	struct vis_viewer v;
	struct mt_meeting m;
	bool present;
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    meeting_param(ctx, params, CIRCLE_MEMBER, &m, &v) ||
	    rpc_param_bool(ctx, params, "present", true, &present))
		return RPC_ERR;
	if (present)
		rc = store_run(db, SQL_ATTEND, "iii", m.id, rpc_account(ctx),
			       rpc_now(ctx));
	else
		rc = store_run(db, SQL_UNATTEND, "ii", m.id, rpc_account(ctx));
	if (rc)
		return rpc_fail_store(ctx, rc);
	if (store_changes(db) > 0 && publish_changed(ctx, &m, "attendance"))
		return RPC_ERR;
	*result = meeting_json(ctx, &m, &v);
	return 0;
}

const struct rpc_method mt_meeting_methods[] = {
	{"meeting.create", m_create, RPC_AUTH},
	{"meeting.get", m_get, RPC_AUTH},
	{"meeting.list", m_list, RPC_AUTH},
	{"meeting.update", m_update, RPC_AUTH},
	{"meeting.delete", m_delete, RPC_AUTH},
	{"meeting.agenda", m_agenda, RPC_AUTH},
	{"meeting.advance", m_advance, RPC_AUTH},
	{"meeting.outcome", m_outcome, RPC_AUTH},
	{"meeting.propose", m_propose, RPC_AUTH},
	{"meeting.hand", m_hand, RPC_AUTH},
	{"meeting.attend", m_attend, RPC_AUTH},
	{NULL, NULL, 0}};

/* ---- the record, for the digest and the export ---- */

static const char SQL_RECORD_IDS[] =
	"SELECT id FROM meetings WHERE circle = ?1 AND (?2 = 0 OR chapter = ?2)"
	" ORDER BY at, id";

json_t *meetings_records(struct rpc_ctx *ctx, int64_t circle, int64_t chapter,
			 const struct vis_viewer *v)
{
	struct store *db = rpc_store(ctx);
	struct store_stmt *st =
		store_query(db, SQL_RECORD_IDS, "ii", circle, chapter);
	json_t *ids = json_array(), *out = json_array(), *id;
	size_t i;

	while (st && store_row(st) > 0)
		json_array_append_new(ids, json_integer(store_int(st, 0)));
	json_array_foreach(ids, i, id)
	{
		struct mt_meeting m;
		struct mt_item *items;
		json_t *rec, *agenda = json_array();
		size_t n, j;

		if (meeting_load(db, json_integer_value(id), &m))
			continue;
		n = items_load(db, m.id, &items);
		for (j = 0; j < n; j++) {
			enum vis_result r;
			char *quote;

			if (items[j].position < 0)
				continue;
			if (thread_check(db, circle, items[j].annotation, v,
					 &r) ||
			    r == VIS_NONE)
				continue;
			quote = thread_quote(db, items[j].annotation);
			json_array_append_new(
				agenda,
				json_pack("{s:I,s:s?,s:o}", "annotation",
					  (json_int_t)items[j].annotation,
					  "quote", quote, "outcomes",
					  outcomes_json(db, m.id,
							items[j].annotation)));
			free(quote);
		}
		free(items);
		rec = meeting_head(&m);
		json_object_del(rec, "created_at");
		json_object_del(rec, "updated_at");
		json_object_set_new(rec, "attendees", attendees_json(db, m.id));
		json_object_set_new(rec, "agenda", agenda);
		json_array_append_new(out, rec);
	}
	json_decref(ids);
	return out;
}

static const char *str_of(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void md_person(struct buf *out, const json_t *a)
{
	const char *name = str_of(a, "display_name");

	mdtext_inline(out, name && *name ? name : str_of(a, "handle"), 0);
	if (str_of(a, "handle")) {
		buf_adds(out, " (@");
		for (const char *p = str_of(a, "handle"); *p; p++)
			if ((*p >= 'a' && *p <= 'z') ||
			    (*p >= '0' && *p <= '9') || *p == '_')
				buf_addch(out, *p);
		buf_addch(out, ')');
	}
}

void meetings_records_md(struct buf *out, json_t *records)
{
	size_t i, j, k;
	json_t *rec, *a, *it, *oc;

	if (!json_array_size(records))
		return;
	buf_adds(out, "## Meetings\n\n");
	json_array_foreach(records, i, rec)
	{
		json_t *att = json_object_get(rec, "attendees");
		json_t *agenda = json_object_get(rec, "agenda");
		const char *title = str_of(rec, "title");

		buf_adds(out, "### ");
		mdtext_inline(out, title && *title ? title : "Meeting", 0);
		buf_adds(out, " · ");
		mdtext_inline(out, str_of(rec, "at"), 0);
		buf_adds(out, "\n\n");
		buf_adds(out, "Present: ");
		if (!json_array_size(att))
			buf_adds(out, "nobody marked themselves present");
		json_array_foreach(att, j, a)
		{
			if (j)
				buf_adds(out, ", ");
			md_person(out, a);
		}
		buf_adds(out, "\n\n");
		if (!json_array_size(agenda)) {
			buf_adds(out, "No agenda.\n\n");
			continue;
		}
		buf_adds(out, "Agenda:\n\n");
		json_array_foreach(agenda, j, it)
		{
			const char *q = str_of(it, "quote");

			buf_addf(out, "%zu. ", j + 1);
			if (q) {
				buf_adds(out, "“");
				mdtext_inline(out, q, 0);
				buf_adds(out, "”");
			} else {
				buf_adds(out, "On the whole chapter");
			}
			buf_addf(out, " (thread %lld)\n",
				 (long long)json_integer_value(
					 json_object_get(it, "annotation")));
			json_array_foreach(json_object_get(it, "outcomes"), k,
					   oc)
			{
				const char *b = str_of(oc, "body");

				buf_adds(out, "\n   Outcome");
				if (json_is_object(
					    json_object_get(oc, "author"))) {
					buf_adds(out, " by ");
					md_person(out, json_object_get(
							       oc, "author"));
				}
				buf_adds(out, ":\n\n");
				mdtext_quote(out,
					     b ? b
					       : "*(hidden by a moderator)*",
					     "   ");
			}
			buf_addch(out, '\n');
		}
		buf_addch(out, '\n');
	}
}

void meetings_init(void)
{
	rpc_register(mt_meeting_methods);
	rpc_register(mt_dashboard_methods);
	rpc_register(mt_kit_methods);
	threads_reply_outcome = mt_reply_outcome;
}
