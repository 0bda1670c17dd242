/*
 * plan.c - the reading plan (which chapter is due when, with an optional
 * discussion prompt) and each member's progress through the book.
 *
 * Progress is the furthest point a member has read (SPEC progress.set):
 * {chapter, block} is a place inside a chapter, {chapter} alone means read
 * through it; a position below the saved one is ignored unless `rewind` is
 * true, so looking back never moves it. It is what the spoiler guard reads:
 * a member sees threads up to their progress chapter (the first chapter of
 * the book is always open). progress.set also carries the two things a member
 * can ask for themselves (documented extensions of SPEC's progress.set): `read:
 * true` marks the chapter read, which meets post first there, and `show_all`
 * asks to see every chapter despite the spoiler guard. Each change is pushed to
 * the member's subscriptions at once.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "books/books.h"
#include "circles/circles.h"
#include "circles/internal.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "util/err.h"
#include "util/utf8.h"
#include "util/vec.h"

#define PLAN_MAX_ENTRIES 2000

/* One plan entry while sorting. */
struct plan_row {
	int64_t chapter;
	int order; /* reading position; large when the chapter is gone */
	char *due;
	char *prompt;
	char *notes; /* facilitator notes (owners and moderators only) */
};

static int plan_row_cmp(const void *a, const void *b)
{
	const struct plan_row *x = a, *y = b;
	int c = strcmp(x->due, y->due);

	if (c)
		return c;
	return (x->order > y->order) - (x->order < y->order);
}

static const char SQL_PLAN_ROWS[] =
	"SELECT chapter, due, prompt, notes FROM plan_entries WHERE circle = ?";

/* The entries [{chapter, due, prompt}] by due date, then reading order;
 * with_notes adds the facilitator notes (owners and moderators). */
static json_t *plan_entries_json(struct store *db, int64_t circle,
				 bool with_notes)
{
	struct store_stmt *st = store_query(db, SQL_PLAN_ROWS, "i", circle);
	struct plan_row *rows = NULL;
	size_t n = 0, cap = 0;
	json_t *out = json_array();

	while (st && store_row(st) > 0) {
		rows = vec_reserve(rows, n, &cap, sizeof(*rows));
		rows[n].chapter = store_int(st, 0);
		rows[n].due = store_text_dup(st, 1);
		rows[n].prompt = store_text_dup(st, 2);
		rows[n].notes = store_text_dup(st, 3);
		n++;
	}
	for (size_t i = 0; i < n; i++) {
		struct books_chapter_info ci;

		rows[i].order = books_chapter_info(db, rows[i].chapter, &ci)
					? 1 << 30
					: ci.order;
	}
	if (n)
		qsort(rows, n, sizeof(*rows), plan_row_cmp);
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(
			out, json_pack("{s:I,s:s,s:s?}", "chapter",
				       (json_int_t)rows[i].chapter, "due",
				       rows[i].due ? rows[i].due : "", "prompt",
				       rows[i].prompt));
		if (with_notes && rows[i].notes)
			json_object_set_new(json_array_get(out, i), "notes",
					    json_string(rows[i].notes));
		free(rows[i].due);
		free(rows[i].prompt);
		free(rows[i].notes);
	}
	free(rows);
	return out;
}

static const char SQL_ALL_PROGRESS[] =
	"SELECT m.account, p.chapter, p.block, p.updated_at"
	" FROM memberships m JOIN progress p"
	" ON p.circle = m.circle AND p.account = m.account"
	" WHERE m.circle = ? ORDER BY m.account";

/* Every member's progress [{account, chapter, block, updated_at}]. */
static json_t *all_progress_json(struct store *db, int64_t circle)
{
	struct store_stmt *st = store_query(db, SQL_ALL_PROGRESS, "i", circle);
	json_t *out = json_array();

	while (st && store_row(st) > 0) {
		json_array_append_new(
			out, json_pack("{s:I,s:I,s:o,s:o}", "account",
				       (json_int_t)store_int(st, 0), "chapter",
				       (json_int_t)store_int(st, 1), "block",
				       circle_block_json(store_text(st, 2)),
				       "updated_at",
				       circle_time_json(store_int(st, 3))));
	}
	/* authors after the walk: auth/ runs its own statements */
	for (size_t i = 0; i < json_array_size(out); i++) {
		json_t *p = json_array_get(out, i);
		int64_t a = json_integer_value(json_object_get(p, "account"));

		json_object_set_new(p, "account", circle_author_json(db, a));
	}
	return out;
}

static json_t *plan_json(struct store *db, int64_t circle, bool with_notes)
{
	return json_pack("{s:I,s:o,s:o}", "circle", (json_int_t)circle,
			 "entries", plan_entries_json(db, circle, with_notes),
			 "progress", all_progress_json(db, circle));
}

int circles_plan_json(struct rpc_ctx *ctx, int64_t circle, json_t **out)
{
	struct vis_viewer v;
	int rc = circles_gate(rpc_store(ctx), circle, rpc_account(ctx),
			      rpc_is_admin(ctx), &v);

	*out = rc ? NULL
		  : plan_json(rpc_store(ctx), circle,
			      v.role >= VIS_ROLE_MODERATOR);
	return rc;
}

static int m_plan_get(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	struct vis_viewer v;
	int64_t circle;

	if (circle_access_only(ctx, params, CIRCLE_SEE, &circle, &v))
		return RPC_ERR;
	*result =
		plan_json(rpc_store(ctx), circle, v.role >= VIS_ROLE_MODERATOR);
	return 0;
}

/* True for a real calendar date written YYYY-MM-DD. */
static bool valid_date(const char *s)
{
	static const int days[] = {31, 29, 31, 30, 31, 30,
				   31, 31, 30, 31, 30, 31};
	int y, m, d;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > days[m - 1])
		return false;
	if (m == 2 && d == 29 &&
	    !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return false;
	return true;
}

/* True for a date YYYY-MM-DD, or an RFC 3339 UTC time on a real date
 * ("2026-12-10T18:00:00Z", fraction allowed; SPEC §3 times are RFC 3339,
 * issue 14). Stored as given: both sort and compare with the day's date. */
static bool valid_due(const char *s)
{
	char day[11];
	const char *t = s + 10;

	if (strlen(s) == 10)
		return valid_date(s);
	if (strlen(s) < 20 || s[10] != 'T')
		return false;
	memcpy(day, s, 10);
	day[10] = '\0';
	if (!valid_date(day))
		return false;
	/* THH:MM:SS */
	for (int i = 1; i <= 8; i++)
		if (i == 3 || i == 6 ? t[i] != ':' : (t[i] < '0' || t[i] > '9'))
			return false;
	if (atoi(t + 1) > 23 || atoi(t + 4) > 59 || atoi(t + 7) > 60)
		return false;
	t += 9;
	if (*t == '.') {
		if (t[1] < '0' || t[1] > '9')
			return false;
		for (t++; *t >= '0' && *t <= '9'; t++)
			;
	}
	return !strcmp(t, "Z");
}

/* -32602 naming entries[i].field. */
static int entry_fail(struct rpc_ctx *ctx, size_t i, const char *field,
		      const char *message)
{
	char name[64];

	snprintf(name, sizeof(name), "entries[%zu]%s%s", i, *field ? "." : "",
		 field);
	return rpc_fail_field(ctx, name, message);
}

static const char SQL_PLAN_CLEAR[] =
	"DELETE FROM plan_entries WHERE circle = ?";
static const char SQL_PLAN_INSERT[] =
	"INSERT INTO plan_entries(circle, chapter, due, prompt, notes)"
	" VALUES (?, ?, ?, ?, ?)";

/* Checks one text field of an entry (prompt, notes): *out borrowed, NULL
 * when absent or empty. */
static int check_text(struct rpc_ctx *ctx, json_t *e, size_t i, const char *key,
		      const char **out)
{
	size_t max_cp = rpc_config.max_body_cp ? rpc_config.max_body_cp : 10000;
	json_t *p = json_object_get(e, key);

	*out = NULL;
	if (!p || json_is_null(p))
		return 0;
	if (!json_is_string(p) ||
	    !utf8_valid(json_string_value(p), json_string_length(p)))
		return entry_fail(ctx, i, key, "must be text");
	if (utf8_count(json_string_value(p), json_string_length(p)) > max_cp) {
		char name[64];

		snprintf(name, sizeof(name), "entries[%zu].%s", i, key);
		rpc_fail(ctx, RPC_E_TOO_LARGE, "text too large");
		rpc_fail_data(ctx, "field", json_string(name));
		return RPC_ERR;
	}
	if (json_string_length(p) > 0)
		*out = json_string_value(p);
	return 0;
}

/* Checks one entry; *chapter, *due, *prompt, *notes borrowed from e. */
static int check_entry(struct rpc_ctx *ctx, json_t *e, size_t i, int64_t book,
		       int64_t *chapter, const char **due, const char **prompt,
		       const char **notes)
{
	size_t max_cp = rpc_config.max_body_cp ? rpc_config.max_body_cp : 10000;
	struct books_chapter_info ci;
	json_t *c, *d, *p;
	const char *key;
	json_t *val;

	if (!json_is_object(e))
		return entry_fail(ctx, i, "", "must be an object");
	json_object_foreach(e, key, val)
	{
		if (strcmp(key, "chapter") && strcmp(key, "due") &&
		    strcmp(key, "prompt") && strcmp(key, "notes"))
			return entry_fail(ctx, i, key, "unknown field");
	}
	c = json_object_get(e, "chapter");
	d = json_object_get(e, "due");
	p = json_object_get(e, "prompt");
	if (!json_is_integer(c) || json_integer_value(c) < 1)
		return entry_fail(ctx, i, "chapter", "must be a chapter id");
	*chapter = json_integer_value(c);
	if (books_chapter_info(rpc_store(ctx), *chapter, &ci) ||
	    ci.book != book)
		return entry_fail(ctx, i, "chapter",
				  "not a chapter of the circle's book");
	if (!json_is_string(d) || !valid_due(json_string_value(d)))
		return entry_fail(ctx, i, "due",
				  "must be a date YYYY-MM-DD or an RFC 3339 "
				  "UTC time");
	*due = json_string_value(d);
	if (check_text(ctx, e, i, "notes", notes))
		return RPC_ERR;
	*prompt = NULL;
	if (p && !json_is_null(p)) {
		if (!json_is_string(p) ||
		    !utf8_valid(json_string_value(p), json_string_length(p)))
			return entry_fail(ctx, i, "prompt", "must be text");
		if (utf8_count(json_string_value(p), json_string_length(p)) >
		    max_cp) {
			char name[64];

			snprintf(name, sizeof(name), "entries[%zu].prompt", i);
			rpc_fail(ctx, RPC_E_TOO_LARGE, "prompt too large");
			rpc_fail_data(ctx, "field", json_string(name));
			return RPC_ERR;
		}
		if (json_string_length(p) > 0)
			*prompt = json_string_value(p);
	}
	return 0;
}

static int m_plan_set(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"circle", "entries", NULL};
	struct store *db = rpc_store(ctx);
	struct vis_viewer v;
	struct vis_item item;
	int64_t circle, book, *seen = NULL;
	json_t *entries, *e;
	size_t i, n;
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    circle_access(ctx, params, CIRCLE_OWNER, &circle, &v) ||
	    rpc_param_json(ctx, params, "entries", true, JSON_ARRAY, &entries))
		return RPC_ERR;
	n = json_array_size(entries);
	if (n > PLAN_MAX_ENTRIES)
		return rpc_fail(ctx, RPC_E_TOO_LARGE, "too many plan entries");
	rc = circles_book(db, circle, &book);
	if (rc)
		return rpc_fail_store(ctx, rc);
	rc = store_run(db, SQL_PLAN_CLEAR, "i", circle);
	if (rc)
		return rpc_fail_store(ctx, rc);
	seen = calloc(n ? n : 1, sizeof(*seen));
	if (!seen)
		abort();
	json_array_foreach(entries, i, e)
	{
		int64_t chapter = 0;
		const char *due = NULL, *prompt = NULL, *notes = NULL;

		if (check_entry(ctx, e, i, book, &chapter, &due, &prompt,
				&notes))
			goto fail;
		for (size_t j = 0; j < i; j++) {
			if (seen[j] == chapter) {
				entry_fail(ctx, i, "chapter",
					   "chapter listed twice");
				goto fail;
			}
		}
		seen[i] = chapter;
		rc = store_run(db, SQL_PLAN_INSERT, "iittt", circle, chapter,
			       due, prompt, notes);
		if (rc) {
			rpc_fail_store(ctx, rc);
			goto fail;
		}
	}
	free(seen);
	memset(&item, 0, sizeof(item));
	item.circle = circle;
	item.author = rpc_account(ctx);
	if (rpc_publish(ctx, circle, "plan.changed", &item, "circle", circle,
			json_pack("{s:I,s:o}", "circle", (json_int_t)circle,
				  "entries",
				  plan_entries_json(db, circle, false)),
			NULL) < 0)
		return rpc_fail_store(ctx, SCH_EDB);
	*result = plan_json(db, circle, true);
	return 0;
fail:
	free(seen);
	return RPC_ERR;
}

int circles_plan_set(struct rpc_ctx *ctx, int64_t circle, json_t *entries,
		     json_t **out)
{
	return rpc_call_handler(ctx, m_plan_set,
				json_pack("{s:I,s:O}", "circle",
					  (json_int_t)circle, "entries",
					  entries),
				out);
}

static const char SQL_PROGRESS_UPSERT[] =
	"INSERT INTO progress(circle, account, chapter, block, updated_at)"
	" VALUES (?, ?, ?, ?, ?)"
	" ON CONFLICT(circle, account) DO UPDATE SET"
	" chapter = excluded.chapter, block = excluded.block,"
	" updated_at = excluded.updated_at";
static const char SQL_MARK_READ[] =
	"INSERT INTO chapter_marks(circle, account, chapter, how, at)"
	" VALUES (?1, ?2, ?3, 'read', max(?4, coalesce((SELECT max(at)"
	" FROM chapter_marks WHERE circle = ?1 AND account = ?2), 0) + 1))"
	" ON CONFLICT(circle, account, chapter) DO UPDATE SET at = excluded.at";
static const char SQL_UNMARK_READ[] =
	"DELETE FROM chapter_marks WHERE circle = ? AND account = ?"
	" AND chapter = ? AND how = 'read'";
static const char SQL_SHOW_ALL[] =
	"UPDATE memberships SET show_all = ? WHERE circle = ? AND account = ?";

static const char SQL_PROGRESS_NOW[] =
	"SELECT chapter, block FROM progress WHERE circle = ? AND account = ?";
static const char SQL_BLOCK_POS[] =
	"SELECT position FROM blocks WHERE chapter = ? AND block = ?"
	" ORDER BY edition DESC LIMIT 1";

/*
 * Where a block lies in its chapter, for comparing two reading positions:
 * an index as given, an id by the blocks table (unknown ids count as the
 * start), no block at all as past the end (the chapter is read through).
 */
static int64_t block_rank(struct store *db, int64_t chapter, const char *enc)
{
	int64_t pos = 0;

	if (!enc || !*enc)
		return INT64_MAX;
	if (enc[0] != '"')
		return strtoll(enc, NULL, 10);
	{
		/* the stored form is JSON: "id" */
		char id[CIRCLE_BLOCK_ENC];
		size_t n = strlen(enc);

		if (n < 2 || n - 2 >= sizeof(id))
			return 0;
		memcpy(id, enc + 1, n - 2);
		id[n - 2] = '\0';
		if (store_int_query(db, &pos, SQL_BLOCK_POS, "it", chapter,
				    id) <= 0)
			return 0;
	}
	return pos;
}

/*
 * SPEC progress.set: progress is the furthest point read, so a position
 * below the saved one is ignored unless the member rewinds on purpose.
 * 1: store the new position, 0: keep the old one, or SCH_E*.
 */
static int progress_moves(struct store *db, int64_t circle, int64_t me,
			  int order, int64_t chapter, const char *block,
			  bool rewind)
{
	struct store_stmt *st;
	struct books_chapter_info old;
	int64_t old_chapter, old_rank, new_rank;
	char *old_block;
	int rc;

	if (rewind)
		return 1;
	st = store_query(db, SQL_PROGRESS_NOW, "ii", circle, me);
	if (!st)
		return SCH_EDB;
	rc = store_row(st);
	if (rc <= 0) {
		store_done(st);
		return rc < 0 ? rc : 1;
	}
	old_chapter = store_int(st, 0);
	old_block = store_text(st, 1) ? strdup(store_text(st, 1)) : NULL;
	store_done(st);
	if (books_chapter_info(db, old_chapter, &old) || old.order < order) {
		free(old_block);
		return 1;
	}
	if (old.order > order) {
		free(old_block);
		return 0;
	}
	old_rank = block_rank(db, old_chapter, old_block);
	free(old_block);
	new_rank = block_rank(db, chapter, block);
	return new_rank >= old_rank;
}

static int m_progress_set(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"circle", "chapter",  "block",
					      "read",	"show_all", "rewind",
					      NULL};
	struct store *db = rpc_store(ctx);
	struct books_chapter_info ci;
	struct vis_viewer v;
	struct vis_item item;
	int64_t circle, chapter = 0, book, me = rpc_account(ctx);
	char block[CIRCLE_BLOCK_ENC];
	bool read = false, show_all = false, rewind = false, has_read, has_show;
	json_t *posted;
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    circle_access(ctx, params, CIRCLE_MEMBER, &circle, &v))
		return RPC_ERR;
	has_read = json_object_get(params, "read") != NULL;
	has_show = json_object_get(params, "show_all") != NULL;
	if (rpc_param_id(ctx, params, "chapter", !has_show, &chapter) ||
	    circle_param_block(ctx, params, block) ||
	    rpc_param_bool(ctx, params, "read", false, &read) ||
	    rpc_param_bool(ctx, params, "show_all", false, &show_all) ||
	    rpc_param_bool(ctx, params, "rewind", false, &rewind))
		return RPC_ERR;
	if (has_read && chapter == 0)
		return rpc_fail_field(ctx, "chapter",
				      "read needs the chapter it marks");
	if (chapter) {
		rc = circles_book(db, circle, &book);
		if (rc)
			return rpc_fail_store(ctx, rc);
		if (books_chapter_info(db, chapter, &ci) || ci.book != book)
			return rpc_fail_field(
				ctx, "chapter",
				"not a chapter of the circle's book");
		rc = progress_moves(db, circle, me, ci.order, chapter, block,
				    rewind);
		if (rc > 0)
			rc = store_run(db, SQL_PROGRESS_UPSERT, "iiiti", circle,
				       me, chapter, *block ? block : NULL,
				       rpc_now(ctx));
		if (rc < 0)
			return rpc_fail_store(ctx, rc);
	}
	if (has_read) {
		rc = store_run(db, read ? SQL_MARK_READ : SQL_UNMARK_READ,
			       read ? "iiii" : "iii", circle, me, chapter,
			       rpc_now(ctx));
		if (rc)
			return rpc_fail_store(ctx, rc);
	}
	if (has_show) {
		rc = store_run(db, SQL_SHOW_ALL, "bii", (int)show_all, circle,
			       me);
		if (rc)
			return rpc_fail_store(ctx, rc);
	}
	rc = circles_viewer(db, circle, me, rpc_is_admin(ctx), &v);
	if (rc)
		return rpc_fail_store(ctx, rc);
	rpc_effect_viewer(ctx, &v);
	if (chapter) {
		memset(&item, 0, sizeof(item));
		item.circle = circle;
		item.author = me;
		rpc_publish_ephemeral(
			ctx, circle, "progress.changed", &item,
			json_pack("{s:I,s:o,s:o}", "circle", (json_int_t)circle,
				  "account", circle_author_json(db, me),
				  "progress",
				  circle_progress_json(db, circle, me)));
	}
	posted = json_array();
	for (int i = 0; i < v.nposted; i++)
		json_array_append_new(posted, json_integer(v.posted[i]));
	*result =
		json_pack("{s:I,s:o,s:b,s:i,s:o}", "circle", (json_int_t)circle,
			  "progress", circle_progress_json(db, circle, me),
			  "show_all", v.show_all, "progress_order",
			  v.progress_order, "post_first_met", posted);
	return 0;
}

const struct rpc_method circle_plan_methods[] = {
	{"plan.get", m_plan_get, RPC_AUTH | RPC_READ},
	{"plan.set", m_plan_set, RPC_AUTH},
	{"progress.set", m_progress_set, RPC_AUTH},
	{NULL, NULL, 0}};
