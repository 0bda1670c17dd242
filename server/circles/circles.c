/*
 * circles.c - circles and their members: create, list, get, update, members,
 * roles, leaving, cohorts (clone), and live subscriptions; plus what other
 * modules ask of a circle through circles.h (the viewer state that the one
 * visibility rule reads, the book, post-first marks, removal).
 *
 * Roles live in memberships; a circle may have several owners and always
 * keeps at least one. Everything a member sees through a subscription is
 * decided by vis_check() on the viewer state loaded here, and every change
 * of that state (role, options, progress, marks, removal) is pushed to the
 * member's subscriptions with rpc_effect_viewer() so that the rule reacts
 * live.
 */
#include "circles/circles.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "books/books.h"
#include "bus/bus.h"
#include "circles/internal.h"
#include "events/events.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "util/err.h"
#include "util/rfc3339.h"

#define CIRCLE_NAME_MAX 100
#define CIRCLE_DESC_MAX 2000
#define CIRCLE_PAGE 50
#define MEMBER_PAGE 100

const char *const circle_role_words[] = {"owner", "moderator", "member", NULL};

enum vis_role circle_role_of_word(int index)
{
	switch (index) {
	case 0:
		return VIS_ROLE_OWNER;
	case 1:
		return VIS_ROLE_MODERATOR;
	case 2:
		return VIS_ROLE_MEMBER;
	default:
		return VIS_ROLE_NONE;
	}
}

const char *circle_role_name(enum vis_role role)
{
	switch (role) {
	case VIS_ROLE_OWNER:
		return "owner";
	case VIS_ROLE_MODERATOR:
		return "moderator";
	case VIS_ROLE_MEMBER:
		return "member";
	default:
		return NULL;
	}
}

static enum vis_role role_from_text(const char *s)
{
	if (!s)
		return VIS_ROLE_NONE;
	if (strcmp(s, "owner") == 0)
		return VIS_ROLE_OWNER;
	if (strcmp(s, "moderator") == 0)
		return VIS_ROLE_MODERATOR;
	if (strcmp(s, "member") == 0)
		return VIS_ROLE_MEMBER;
	return VIS_ROLE_NONE;
}

json_t *circle_time_json(int64_t t)
{
	return rfc3339_json(t);
}

int circle_param_block(struct rpc_ctx *ctx, json_t *params, char *enc)
{
	json_t *b = json_object_get(params, "block");

	enc[0] = '\0';
	if (!b || json_is_null(b))
		return 0;
	if (json_is_integer(b)) {
		if (json_integer_value(b) < 0 ||
		    json_integer_value(b) > 10000000)
			return rpc_fail_field(ctx, "block",
					      "must be a block id or index");
		snprintf(enc, CIRCLE_BLOCK_ENC, "%lld",
			 (long long)json_integer_value(b));
		return 0;
	}
	if (json_is_string(b)) {
		const char *s = json_string_value(b);
		size_t n = json_string_length(b);

		if (n < 1 || n > 64)
			return rpc_fail_field(ctx, "block",
					      "must be a block id or index");
		for (size_t i = 0; i < n; i++) {
			char c = s[i];

			if (!((c >= 'a' && c <= 'z') ||
			      (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '_' || c == '-' ||
			      c == '.' || c == ':'))
				return rpc_fail_field(
					ctx, "block",
					"must be a block id or index");
		}
		snprintf(enc, CIRCLE_BLOCK_ENC, "\"%s\"", s);
		return 0;
	}
	return rpc_fail_field(ctx, "block", "must be a block id or index");
}

json_t *circle_block_json(const char *enc)
{
	json_t *b;

	if (!enc || !*enc)
		return json_null();
	b = json_loads(enc, JSON_DECODE_ANY, NULL);
	return b ? b : json_null();
}

json_t *circle_author_json(struct store *db, int64_t account)
{
	json_t *a = auth_author_json(db, account);

	if (!a)
		a = json_pack("{s:I,s:n,s:n}", "id", (json_int_t)account,
			      "handle", "display_name");
	return a;
}

/* ---- the viewer state (circles.h) ---- */

static const char SQL_VIEWER_CIRCLE[] =
	"SELECT spoiler_guard, post_first FROM circles WHERE id = ?";
static const char SQL_VIEWER_MEMBER[] =
	"SELECT role, show_all FROM memberships WHERE circle = ? AND account = "
	"?";
static const char SQL_VIEWER_PROGRESS[] =
	"SELECT chapter FROM progress WHERE circle = ? AND account = ?";
/* The most recent marks win when a member has more than VIS_MAX_POSTED. */
static const char SQL_VIEWER_MARKS[] =
	"SELECT chapter FROM chapter_marks WHERE circle = ? AND account = ?"
	" ORDER BY at DESC, chapter DESC LIMIT 64";

int circles_viewer(struct store *db, int64_t circle, int64_t account,
		   bool is_admin, struct vis_viewer *out)
{
	struct store_stmt *st;
	struct books_chapter_info ci;
	int64_t chapter = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	out->circle = circle;
	out->account = account;
	out->is_admin = is_admin;
	/* progress 0 still opens the first chapter of the book */
	out->progress_order = 1;

	st = store_query(db, SQL_VIEWER_CIRCLE, "i", circle);
	if (!st)
		return SCH_EDB;
	rc = store_row(st);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return SCH_ENOTFOUND;
	out->spoiler_guard = store_int(st, 0) != 0;
	out->post_first = store_int(st, 1) != 0;
	store_done(st);
	if (account == 0)
		return 0;

	st = store_query(db, SQL_VIEWER_MEMBER, "ii", circle, account);
	if (!st)
		return SCH_EDB;
	rc = store_row(st);
	if (rc < 0)
		return rc;
	if (rc > 0) {
		out->role = role_from_text(store_text(st, 0));
		out->show_all = store_int(st, 1) != 0;
	}
	store_done(st);
	if (out->role == VIS_ROLE_NONE)
		return 0;

	rc = store_int_query(db, &chapter, SQL_VIEWER_PROGRESS, "ii", circle,
			     account);
	if (rc < 0)
		return rc;
	if (rc > 0 && books_chapter_info(db, chapter, &ci) == 0 &&
	    ci.order > out->progress_order)
		out->progress_order = ci.order;

	st = store_query(db, SQL_VIEWER_MARKS, "ii", circle, account);
	if (!st)
		return SCH_EDB;
	while ((rc = store_row(st)) > 0)
		vis_mark_posted(out, store_int(st, 0));
	return rc < 0 ? rc : 0;
}

struct circles_config circles_config = {.presence_idle_s = 60,
					.public_url = ""};

int circles_gate(struct store *db, int64_t circle, int64_t account,
		 bool is_admin, struct vis_viewer *v)
{
	int rc = circles_viewer(db, circle, account, is_admin, v);

	if (rc)
		return rc;
	return vis_sees_circle(v) ? 0 : SCH_ENOTFOUND;
}

int circles_gate_rpc(struct rpc_ctx *ctx, int64_t circle, struct vis_viewer *v)
{
	int rc = circles_gate(rpc_store(ctx), circle, rpc_account(ctx),
			      rpc_is_admin(ctx), v);

	if (rc == SCH_ENOTFOUND)
		return rpc_fail(ctx, RPC_E_NOT_FOUND, "no such circle");
	if (rc)
		return rpc_fail_store(ctx, rc);
	return 0;
}

static const char SQL_BOOK[] = "SELECT book FROM circles WHERE id = ?";

int circles_book(struct store *db, int64_t circle, int64_t *book)
{
	int rc = store_int_query(db, book, SQL_BOOK, "i", circle);

	if (rc < 0)
		return rc;
	return rc == 0 ? SCH_ENOTFOUND : 0;
}

static bool account_is_admin(struct store *db, int64_t account)
{
	json_t *a = auth_account_json(db, account);
	bool admin = a && json_is_true(json_object_get(a, "is_admin"));

	json_decref(a);
	return admin;
}

int circle_push_viewer(struct rpc_ctx *ctx, int64_t circle, int64_t account)
{
	struct store *db = rpc_store(ctx);
	struct vis_viewer v;
	bool admin;
	int rc;

	if (account == rpc_account(ctx))
		admin = rpc_is_admin(ctx);
	else
		admin = account_is_admin(db, account);
	rc = circles_viewer(db, circle, account, admin, &v);
	if (rc)
		return rc;
	rpc_effect_viewer(ctx, &v);
	return 0;
}

static const char SQL_MEMBER_IDS[] =
	"SELECT account FROM memberships WHERE circle = ? ORDER BY account";

/* Every member's account id; *n gets the count; caller frees. */
static int64_t *member_ids(struct store *db, int64_t circle, size_t *n)
{
	int64_t *ids;

	store_ids(store_query(db, SQL_MEMBER_IDS, "i", circle), &ids, n);
	return ids;
}

int circle_push_all_viewers(struct rpc_ctx *ctx, int64_t circle)
{
	size_t n;
	int64_t *ids = member_ids(rpc_store(ctx), circle, &n);
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++)
		rc = circle_push_viewer(ctx, circle, ids[i]);
	free(ids);
	return rc;
}

/* A mark's `at` only orders marks: the time, bumped to stay strictly
 * increasing per member so that the most recent VIS_MAX_POSTED are exact. */
static const char SQL_MARK_POSTED[] =
	"INSERT INTO chapter_marks(circle, account, chapter, how, at)"
	" VALUES (?1, ?2, ?3, 'posted', max(?4, coalesce((SELECT max(at)"
	" FROM chapter_marks WHERE circle = ?1 AND account = ?2), 0) + 1))"
	" ON CONFLICT(circle, account, chapter) DO NOTHING";
static const char SQL_MARK_NEWER[] =
	"SELECT count(*) FROM chapter_marks WHERE circle = ?1 AND account = ?2"
	" AND at > (SELECT at FROM chapter_marks WHERE circle = ?1"
	" AND account = ?2 AND chapter = ?3)";
static const char SQL_MARK_TOUCH[] =
	"UPDATE chapter_marks SET how = 'posted', at = max(?4, (SELECT max(at)"
	" FROM chapter_marks WHERE circle = ?1 AND account = ?2) + 1)"
	" WHERE circle = ?1 AND account = ?2 AND chapter = ?3";

int circles_mark_posted(struct rpc_ctx *ctx, int64_t circle, int64_t account,
			int64_t chapter)
{
	struct store *db = rpc_store(ctx);
	int64_t newer = 0;
	int rc;

	if (chapter == 0 || account == 0)
		return 0;
	rc = store_run(db, SQL_MARK_POSTED, "iiii", circle, account, chapter,
		       rpc_now(ctx));
	if (rc)
		return rc;
	if (store_changes(db) == 0) {
		/* already met: only a mark about to fall out of the
		 * viewer's most recent ones needs refreshing */
		rc = store_int_query(db, &newer, SQL_MARK_NEWER, "iii", circle,
				     account, chapter);
		if (rc < 0)
			return rc;
		if (newer < VIS_MAX_POSTED / 2)
			return 0;
		rc = store_run(db, SQL_MARK_TOUCH, "iiii", circle, account,
			       chapter, rpc_now(ctx));
		if (rc)
			return rc;
	}
	return circle_push_viewer(ctx, circle, account);
}

/* ---- access ---- */

/* The role each need asks for, and the refusal when the caller lacks it. */
static const struct {
	enum vis_role min;
	const char *refusal;
} NEEDS[] = {
	[CIRCLE_SEE] = {VIS_ROLE_NONE, NULL},
	[CIRCLE_MEMBER] = {VIS_ROLE_MEMBER,
			   "only members of the circle may do this"},
	[CIRCLE_MODERATOR] = {VIS_ROLE_MODERATOR,
			      "only moderators and owners may do this"},
	[CIRCLE_OWNER] = {VIS_ROLE_OWNER,
			  "only owners of the circle may do this"},
};

int circle_access_id(struct rpc_ctx *ctx, int64_t circle, enum circle_need need,
		     struct vis_viewer *v)
{
	if (circles_gate_rpc(ctx, circle, v))
		return RPC_ERR;
	if ((size_t)need >= sizeof(NEEDS) / sizeof(NEEDS[0]))
		return rpc_fail(ctx, RPC_E_INTERNAL, "bad access check");
	if (v->role >= NEEDS[need].min)
		return 0;
	return rpc_fail(ctx, RPC_E_FORBIDDEN, NEEDS[need].refusal);
}

int circle_access(struct rpc_ctx *ctx, json_t *params, enum circle_need need,
		  int64_t *circle, struct vis_viewer *v)
{
	if (rpc_param_id(ctx, params, "circle", true, circle))
		return RPC_ERR;
	return circle_access_id(ctx, *circle, need, v);
}

int circle_access_only(struct rpc_ctx *ctx, json_t *params,
		       enum circle_need need, int64_t *circle,
		       struct vis_viewer *v)
{
	static const char *const allowed[] = {"circle", NULL};

	if (rpc_params_only(ctx, params, allowed))
		return RPC_ERR;
	return circle_access(ctx, params, need, circle, v);
}

/* ---- JSON shapes ---- */

static const char SQL_CIRCLE_ROW[] =
	"SELECT name, description, book, spoiler_guard, post_first,"
	" members_can_invite, created_at, cloned_from FROM circles"
	" WHERE id = ?";
static const char SQL_MEMBER_COUNT[] =
	"SELECT count(*) FROM memberships WHERE circle = ?";
static const char SQL_CURRENT_DUE[] =
	"SELECT chapter, due, prompt FROM plan_entries WHERE circle = ?"
	" AND due >= ? ORDER BY due, chapter LIMIT 1";
static const char SQL_LAST_DUE[] =
	"SELECT chapter, due, prompt FROM plan_entries WHERE circle = ?"
	" ORDER BY due DESC, chapter DESC LIMIT 1";
static const char SQL_PROGRESS_ROW[] =
	"SELECT chapter, block, updated_at FROM progress"
	" WHERE circle = ? AND account = ?";

json_t *circle_progress_json(struct store *db, int64_t circle, int64_t account)
{
	struct store_stmt *st;
	json_t *p = NULL;

	st = store_query(db, SQL_PROGRESS_ROW, "ii", circle, account);
	if (st && store_row(st) > 0) {
		p = json_pack("{s:I,s:o,s:o}", "chapter",
			      (json_int_t)store_int(st, 0), "block",
			      circle_block_json(store_text(st, 1)),
			      "updated_at", circle_time_json(store_int(st, 2)));
	}
	store_done(st);
	return p ? p : json_null();
}

/* The plan entry a member reads now: the first one not yet past due,
 * else the last one; json null without a plan. */
static json_t *current_due(struct rpc_ctx *ctx, int64_t circle)
{
	struct store *db = rpc_store(ctx);
	struct store_stmt *st;
	char today[RFC3339_DATE_LEN];
	json_t *cur = NULL;

	rfc3339_date(rpc_now(ctx), today, sizeof(today));
	st = store_query(db, SQL_CURRENT_DUE, "it", circle, today);
	if (st && store_row(st) > 0)
		cur = json_pack("{s:I,s:s,s:s?}", "chapter",
				(json_int_t)store_int(st, 0), "due",
				store_text(st, 1), "prompt", store_text(st, 2));
	store_done(st);
	if (cur)
		return cur;
	st = store_query(db, SQL_LAST_DUE, "i", circle);
	if (st && store_row(st) > 0)
		cur = json_pack("{s:I,s:s,s:s?}", "chapter",
				(json_int_t)store_int(st, 0), "due",
				store_text(st, 1), "prompt", store_text(st, 2));
	store_done(st);
	return cur ? cur : json_null();
}

json_t *circle_json(struct rpc_ctx *ctx, int64_t circle,
		    const struct vis_viewer *v)
{
	struct store *db = rpc_store(ctx);
	struct store_stmt *st;
	json_t *c = NULL;
	int64_t count = 0;

	st = store_query(db, SQL_CIRCLE_ROW, "i", circle);
	if (!st)
		return NULL;
	if (store_row(st) > 0) {
		c = json_pack("{s:I,s:s,s:s,s:I,s:b,s:b,s:b,s:o,s:o}", "id",
			      (json_int_t)circle, "name", store_text(st, 0),
			      "description", store_text(st, 1), "book",
			      (json_int_t)store_int(st, 2), "spoiler_guard",
			      store_int(st, 3) != 0, "post_first",
			      store_int(st, 4) != 0, "members_can_invite",
			      store_int(st, 5) != 0, "created_at",
			      circle_time_json(store_int(st, 6)), "cloned_from",
			      store_is_null(st, 7)
				      ? json_null()
				      : json_integer(store_int(st, 7)));
	}
	store_done(st);
	if (!c)
		return NULL;
	store_int_query(db, &count, SQL_MEMBER_COUNT, "i", circle);
	json_object_set_new(c, "member_count", json_integer(count));
	json_object_set_new(c, "current", current_due(ctx, circle));
	if (v) {
		const char *role = circle_role_name(v->role);

		json_object_set_new(c, "role",
				    role ? json_string(role) : json_null());
		json_object_set_new(
			c, "me",
			json_pack("{s:o,s:b,s:i}", "progress",
				  circle_progress_json(db, circle, v->account),
				  "show_all", v->show_all, "progress_order",
				  v->progress_order));
	}
	return c;
}

static const char SQL_MEMBER_ROW[] =
	"SELECT role, joined_at FROM memberships WHERE circle = ?"
	" AND account = ?";

json_t *circle_member_json(struct store *db, int64_t circle, int64_t account)
{
	struct store_stmt *st;
	char role[16] = "";
	int64_t joined = 0;
	bool found = false;

	st = store_query(db, SQL_MEMBER_ROW, "ii", circle, account);
	if (!st)
		return NULL;
	if (store_row(st) > 0) {
		const char *r = store_text(st, 0);

		snprintf(role, sizeof(role), "%s", r ? r : "");
		joined = store_int(st, 1);
		found = true;
	}
	store_done(st);
	if (!found)
		return NULL;
	return json_pack("{s:o,s:s,s:o,s:o}", "account",
			 circle_author_json(db, account), "role", role,
			 "joined_at", circle_time_json(joined), "progress",
			 circle_progress_json(db, circle, account));
}

int64_t circle_publish_member(struct rpc_ctx *ctx, int64_t circle,
			      int64_t account, const char *type, json_t *data)
{
	struct vis_item item;

	memset(&item, 0, sizeof(item));
	item.circle = circle;
	item.author = account;
	return rpc_publish(ctx, circle, type, &item, "member", account, data,
			   NULL);
}

static int64_t publish_circle(struct rpc_ctx *ctx, int64_t circle,
			      const char *type, json_t *data)
{
	struct vis_item item;

	memset(&item, 0, sizeof(item));
	item.circle = circle;
	item.author = rpc_account(ctx);
	return rpc_publish(ctx, circle, type, &item, "circle", circle, data,
			   NULL);
}

/* The circle as the caller sees it (with "role" and "me") as a method's
 * result. 0, or RPC_ERR with the error recorded. */
static int circle_result(struct rpc_ctx *ctx, int64_t circle, json_t **result)
{
	struct vis_viewer v;
	int rc = circles_viewer(rpc_store(ctx), circle, rpc_account(ctx),
				rpc_is_admin(ctx), &v);

	if (rc)
		return rpc_fail_store(ctx, rc);
	*result = circle_json(ctx, circle, &v);
	return 0;
}

/* ---- circle.create ---- */

static const char SQL_INSERT_CIRCLE[] =
	"INSERT INTO circles(name, description, book, owner, spoiler_guard,"
	" post_first, members_can_invite, cloned_from, created_at)"
	" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_INSERT_MEMBER[] =
	"INSERT INTO memberships(circle, account, role, joined_at)"
	" VALUES (?, ?, ?, ?)";

/* Inserts a circle with the caller as owner; *id gets it. */
static int insert_circle(struct rpc_ctx *ctx, const char *name,
			 const char *desc, int64_t book, bool sg, bool pf,
			 bool mci, int64_t cloned_from, int64_t *id)
{
	struct store *db = rpc_store(ctx);
	int rc;

	rc = store_run(db, SQL_INSERT_CIRCLE, "ttiibbbIi", name, desc, book,
		       rpc_account(ctx), (int)sg, (int)pf, (int)mci,
		       cloned_from, rpc_now(ctx));
	if (rc)
		return rc;
	*id = store_last_id(db);
	return store_run(db, SQL_INSERT_MEMBER, "iiti", *id, rpc_account(ctx),
			 "owner", rpc_now(ctx));
}

static int m_create(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"name", "book", "description",
					      NULL};
	const char *name, *desc = "";
	int64_t book, id;
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_str(ctx, params, "name", true, 1, CIRCLE_NAME_MAX,
			  &name) ||
	    rpc_param_id(ctx, params, "book", true, &book) ||
	    rpc_param_str(ctx, params, "description", false, 0, CIRCLE_DESC_MAX,
			  &desc))
		return RPC_ERR;
	rc = books_book_exists(rpc_store(ctx), book);
	if (rc == SCH_ENOTFOUND)
		return rpc_fail(ctx, RPC_E_NOT_FOUND, "no such book");
	if (rc)
		return rpc_fail_store(ctx, rc);
	rc = insert_circle(ctx, name, desc, book, false, false, false, 0, &id);
	if (rc)
		return rpc_fail_store(ctx, rc);
	return circle_result(ctx, id, result);
}

/* ---- circle.list ---- */

/*
 * A page of a list (SPEC §3): {items (taken), next}, next being the cursor
 * after ids[page - 1] when the query (LIMIT page + 1) found n > page ids,
 * else null. New reference.
 */
static json_t *page_json(json_t *items, const int64_t *ids, size_t n,
			 size_t page)
{
	return json_pack(
		"{s:o,s:o}", "items", items, "next",
		n > page ? json_sprintf("%lld", (long long)ids[page - 1])
			 : json_null());
}

static const char SQL_MY_CIRCLES[] =
	"SELECT circle FROM memberships WHERE account = ? AND circle > ?"
	" ORDER BY circle LIMIT ?";

int circles_list_json(struct rpc_ctx *ctx, int64_t cursor, json_t **out)
{
	struct store *db = rpc_store(ctx);
	int64_t *ids;
	size_t n;
	int rc;
	json_t *items;

	*out = NULL;
	rc = store_ids(store_query(db, SQL_MY_CIRCLES, "iii", rpc_account(ctx),
				   cursor, (int64_t)CIRCLE_PAGE + 1),
		       &ids, &n);
	if (rc)
		return rc;
	items = json_array();
	for (size_t i = 0; i < n && i < CIRCLE_PAGE; i++) {
		struct vis_viewer v;
		json_t *c;

		rc = circles_viewer(db, ids[i], rpc_account(ctx),
				    rpc_is_admin(ctx), &v);
		if (rc) {
			json_decref(items);
			free(ids);
			return rc;
		}
		c = circle_json(ctx, ids[i], &v);
		if (c)
			json_array_append_new(items, c);
	}
	*out = page_json(items, ids, n, CIRCLE_PAGE);
	free(ids);
	return 0;
}

static int m_list(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"cursor", NULL};
	int64_t cursor = 0;
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_cursor(ctx, params, &cursor))
		return RPC_ERR;
	rc = circles_list_json(ctx, cursor, result);
	return rc ? rpc_fail_store(ctx, rc) : 0;
}

/* ---- circle.get ---- */

int circles_get_json(struct rpc_ctx *ctx, int64_t circle, json_t **out)
{
	struct vis_viewer v;
	int rc = circles_gate(rpc_store(ctx), circle, rpc_account(ctx),
			      rpc_is_admin(ctx), &v);

	*out = rc ? NULL : circle_json(ctx, circle, &v);
	return rc ? rc : *out ? 0 : SCH_EDB;
}

static int m_get(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	struct vis_viewer v;
	int64_t circle;

	if (circle_access_only(ctx, params, CIRCLE_SEE, &circle, &v))
		return RPC_ERR;
	*result = circle_json(ctx, circle, &v);
	return *result ? 0 : rpc_fail_store(ctx, SCH_EDB);
}

/* ---- circle.update ---- */

/* -1 in an option leaves it as it is (numbered parameters: ?3 twice). */
static const char SQL_UPDATE_CIRCLE[] =
	"UPDATE circles SET name = coalesce(?1, name),"
	" description = coalesce(?2, description),"
	" spoiler_guard = CASE WHEN ?3 < 0 THEN spoiler_guard ELSE ?3 END,"
	" post_first = CASE WHEN ?4 < 0 THEN post_first ELSE ?4 END,"
	" members_can_invite = CASE WHEN ?5 < 0 THEN members_can_invite"
	" ELSE ?5 END WHERE id = ?6";

/* Reads an optional boolean into -1 (absent), 0 or 1. */
static int opt_bool(struct rpc_ctx *ctx, json_t *params, const char *name,
		    int64_t *out)
{
	bool b = false;

	*out = -1;
	if (!json_object_get(params, name))
		return 0;
	if (rpc_param_bool(ctx, params, name, true, &b))
		return RPC_ERR;
	*out = b;
	return 0;
}

static int m_update(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {
		"circle",      "name",
		"description", "spoiler_guard",
		"post_first",  "members_can_invite",
		NULL};
	const char *name = NULL, *desc = NULL;
	int64_t circle, sg, pf, mci;
	struct vis_viewer v;
	bool guards_changed;
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    circle_access(ctx, params, CIRCLE_OWNER, &circle, &v) ||
	    rpc_param_str(ctx, params, "name", false, 1, CIRCLE_NAME_MAX,
			  &name) ||
	    rpc_param_str(ctx, params, "description", false, 0, CIRCLE_DESC_MAX,
			  &desc) ||
	    opt_bool(ctx, params, "spoiler_guard", &sg) ||
	    opt_bool(ctx, params, "post_first", &pf) ||
	    opt_bool(ctx, params, "members_can_invite", &mci))
		return RPC_ERR;
	if (!name && !desc && sg < 0 && pf < 0 && mci < 0) {
		*result = circle_json(ctx, circle, &v);
		return 0;
	}
	guards_changed = (sg >= 0 && (sg != 0) != v.spoiler_guard) ||
			 (pf >= 0 && (pf != 0) != v.post_first);
	rc = store_run(rpc_store(ctx), SQL_UPDATE_CIRCLE, "ttiiii", name, desc,
		       sg, pf, mci, circle);
	if (rc)
		return rpc_fail_store(ctx, rc);
	if (publish_circle(ctx, circle, "circle.updated",
			   circle_json(ctx, circle, NULL)) < 0)
		return rpc_fail_store(ctx, SCH_EDB);
	if (guards_changed) {
		rc = circle_push_all_viewers(ctx, circle);
		if (rc)
			return rpc_fail_store(ctx, rc);
	}
	return circle_result(ctx, circle, result);
}

/* ---- circle.members ---- */

static const char SQL_MEMBERS_PAGE[] =
	"SELECT account FROM memberships WHERE circle = ? AND account > ?"
	" ORDER BY account LIMIT ?";

/* A page of circle.members after cursor for a caller who may see the
 * circle. 0 or a negative SCH_E* code. */
static int members_page(struct rpc_ctx *ctx, int64_t circle, int64_t cursor,
			json_t **out)
{
	struct store *db = rpc_store(ctx);
	int64_t *ids;
	size_t n;
	int rc;
	json_t *items;

	*out = NULL;
	rc = store_ids(store_query(db, SQL_MEMBERS_PAGE, "iii", circle, cursor,
				   (int64_t)MEMBER_PAGE + 1),
		       &ids, &n);
	if (rc)
		return rc;
	items = json_array();
	for (size_t i = 0; i < n && i < MEMBER_PAGE; i++) {
		json_t *m = circle_member_json(db, circle, ids[i]);

		if (m) {
			/* (extension) others add what they know of a member:
			 * moderation its mute state, as member.muted said */
			struct events_event ev = {.type = EVENTS_MEMBER_LISTED,
						  .ctx = ctx};

			ev.u.member.circle = circle;
			ev.u.member.account = ids[i];
			ev.u.member.obj = m;
			(void)events_emit(&ev);
			json_array_append_new(items, m);
		}
	}
	*out = page_json(items, ids, n, MEMBER_PAGE);
	free(ids);
	return 0;
}

int circles_members_json(struct rpc_ctx *ctx, int64_t circle, int64_t cursor,
			 json_t **out)
{
	struct vis_viewer v;
	int rc = circles_gate(rpc_store(ctx), circle, rpc_account(ctx),
			      rpc_is_admin(ctx), &v);

	*out = NULL;
	return rc ? rc : members_page(ctx, circle, cursor, out);
}

static int m_members(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"circle", "cursor", NULL};
	struct vis_viewer v;
	int64_t circle, cursor = 0;
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    circle_access(ctx, params, CIRCLE_SEE, &circle, &v) ||
	    rpc_param_cursor(ctx, params, &cursor))
		return RPC_ERR;
	rc = members_page(ctx, circle, cursor, result);
	return rc ? rpc_fail_store(ctx, rc) : 0;
}

/* ---- circle.set_role, circle.leave, removal ---- */

static const char SQL_OWNER_COUNT[] =
	"SELECT count(*) FROM memberships WHERE circle = ? AND role = 'owner'";
static const char SQL_SET_ROLE[] =
	"UPDATE memberships SET role = ? WHERE circle = ? AND account = ?";
static const char SQL_DELETE_MEMBER[] =
	"DELETE FROM memberships WHERE circle = ? AND account = ?";

/* The role of account in circle (VIS_ROLE_NONE if not a member). */
static enum vis_role member_role(struct store *db, int64_t circle,
				 int64_t account)
{
	struct store_stmt *st;
	enum vis_role r = VIS_ROLE_NONE;

	st = store_query(db, SQL_VIEWER_MEMBER, "ii", circle, account);
	if (st && store_row(st) > 0)
		r = role_from_text(store_text(st, 0));
	store_done(st);
	return r;
}

/* True when account is the circle's only owner. */
static bool sole_owner(struct store *db, int64_t circle, int64_t account)
{
	int64_t owners = 0;

	if (member_role(db, circle, account) != VIS_ROLE_OWNER)
		return false;
	store_int_query(db, &owners, SQL_OWNER_COUNT, "i", circle);
	return owners <= 1;
}

static int m_set_role(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"circle", "account", "role",
					      NULL};
	struct store *db = rpc_store(ctx);
	struct vis_viewer v;
	int64_t circle, account;
	enum vis_role old, role;
	int idx, rc;
	json_t *m;

	if (rpc_params_only(ctx, params, allowed) ||
	    circle_access(ctx, params, CIRCLE_OWNER, &circle, &v) ||
	    rpc_param_id(ctx, params, "account", true, &account) ||
	    rpc_param_enum(ctx, params, "role", true, circle_role_words, &idx))
		return RPC_ERR;
	role = circle_role_of_word(idx);
	old = member_role(db, circle, account);
	if (old == VIS_ROLE_NONE)
		return rpc_fail(ctx, RPC_E_NOT_FOUND, "not a member");
	if (old != role) {
		if (old == VIS_ROLE_OWNER && sole_owner(db, circle, account))
			return rpc_fail(ctx, RPC_E_CONFLICT,
					"the circle needs another owner first");
		rc = store_run(db, SQL_SET_ROLE, "tii", circle_role_name(role),
			       circle, account);
		if (rc)
			return rpc_fail_store(ctx, rc);
		m = circle_member_json(db, circle, account);
		json_object_set_new(m, "previous_role",
				    json_string(circle_role_name(old)));
		if (circle_publish_member(ctx, circle, account,
					  "member.role_changed", m) < 0)
			return rpc_fail_store(ctx, SCH_EDB);
		rc = circle_push_viewer(ctx, circle, account);
		if (rc)
			return rpc_fail_store(ctx, rc);
	}
	*result = circle_member_json(db, circle, account);
	return 0;
}

/* Removes a membership and tells everyone: the common part of leave and
 * removal. type is member.left or member.removed. */
static int drop_member(struct rpc_ctx *ctx, int64_t circle, int64_t account,
		       const char *type, const char *reason)
{
	struct store *db = rpc_store(ctx);
	struct vis_viewer gone;
	json_t *data;
	int rc;

	rc = store_run(db, SQL_DELETE_MEMBER, "ii", circle, account);
	if (rc)
		return rc;
	data = json_pack("{s:I,s:o}", "circle", (json_int_t)circle, "account",
			 circle_author_json(db, account));
	if (reason)
		json_object_set_new(data, "reason", json_string(reason));
	if (circle_publish_member(ctx, circle, account, type, data) < 0)
		return SCH_EDB;
	presence_drop_account(ctx, circle, account);
	/* role NONE: the rule shows their subscriptions nothing more */
	memset(&gone, 0, sizeof(gone));
	gone.circle = circle;
	gone.account = account;
	rpc_effect_viewer(ctx, &gone);
	return 0;
}

static int m_leave(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	struct vis_viewer v;
	int64_t circle;
	int rc;

	if (circle_access_only(ctx, params, CIRCLE_MEMBER, &circle, &v))
		return RPC_ERR;
	if (sole_owner(rpc_store(ctx), circle, rpc_account(ctx)))
		return rpc_fail(ctx, RPC_E_CONFLICT,
				"hand ownership to another member first");
	rc = drop_member(ctx, circle, rpc_account(ctx), "member.left", NULL);
	if (rc)
		return rpc_fail_store(ctx, rc);
	rpc_effect_unsubscribe(ctx, circle);
	*result = json_pack("{s:I,s:b}", "circle", (json_int_t)circle, "member",
			    0);
	return 0;
}

int circles_remove_member(struct rpc_ctx *ctx, int64_t circle, int64_t account,
			  const char *reason)
{
	struct store *db = rpc_store(ctx);

	if (member_role(db, circle, account) == VIS_ROLE_NONE)
		return SCH_ENOTFOUND;
	if (sole_owner(db, circle, account))
		return SCH_ECONFLICT;
	return drop_member(ctx, circle, account, "member.removed", reason);
}

static const char SQL_MY_MEMBERSHIPS[] =
	"SELECT circle FROM memberships WHERE account = ? ORDER BY circle";
static const char SQL_SUCCESSOR[] =
	"SELECT account FROM memberships WHERE circle = ? AND account != ?"
	" ORDER BY CASE role WHEN 'moderator' THEN 0 ELSE 1 END, joined_at,"
	" account LIMIT 1";

int circles_account_deleted(struct rpc_ctx *ctx, int64_t account)
{
	struct store *db = rpc_store(ctx);
	int64_t *ids = NULL;
	size_t n = 0;
	int rc;

	rc = store_ids(store_query(db, SQL_MY_MEMBERSHIPS, "i", account), &ids,
		       &n);
	for (size_t i = 0; i < n && rc == 0; i++) {
		int64_t heir = 0;

		if (sole_owner(db, ids[i], account) &&
		    store_int_query(db, &heir, SQL_SUCCESSOR, "ii", ids[i],
				    account) > 0) {
			enum vis_role was = member_role(db, ids[i], heir);
			json_t *m;

			rc = store_run(db, SQL_SET_ROLE, "tii", "owner", ids[i],
				       heir);
			if (rc)
				break;
			m = circle_member_json(db, ids[i], heir);
			json_object_set_new(m, "previous_role",
					    json_string(circle_role_name(was)));
			if (circle_publish_member(ctx, ids[i], heir,
						  "member.role_changed",
						  m) < 0) {
				rc = SCH_EDB;
				break;
			}
			rc = circle_push_viewer(ctx, ids[i], heir);
			if (rc)
				break;
		}
		rc = drop_member(ctx, ids[i], account, "member.left", NULL);
	}
	free(ids);
	return rc;
}

/* ---- circle.clone ---- */

static const char SQL_CLONE_SOURCE[] =
	"SELECT book, description, spoiler_guard, post_first,"
	" members_can_invite FROM circles WHERE id = ?";
static const char SQL_CLONE_PLAN[] =
	"INSERT INTO plan_entries(circle, chapter, due, prompt, notes)"
	" SELECT ?, chapter, due, prompt, notes FROM plan_entries WHERE circle "
	"= ?";

static int m_clone(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"circle", "name",
					      "with_annotations", NULL};
	struct store *db = rpc_store(ctx);
	struct store_stmt *st;
	struct vis_viewer v;
	const char *name;
	char *desc = NULL;
	bool with_ann = false, sg = false, pf = false, mci = false;
	int64_t circle, book = 0, id = 0;
	int rc, copied = 0;

	if (rpc_params_only(ctx, params, allowed) ||
	    circle_access(ctx, params, CIRCLE_OWNER, &circle, &v) ||
	    rpc_param_str(ctx, params, "name", true, 1, CIRCLE_NAME_MAX,
			  &name) ||
	    rpc_param_bool(ctx, params, "with_annotations", false, &with_ann))
		return RPC_ERR;
	st = store_query(db, SQL_CLONE_SOURCE, "i", circle);
	if (!st)
		return rpc_fail_store(ctx, SCH_EDB);
	if (store_row(st) > 0) {
		book = store_int(st, 0);
		desc = store_text_dup(st, 1);
		sg = store_int(st, 2) != 0;
		pf = store_int(st, 3) != 0;
		mci = store_int(st, 4) != 0;
	}
	store_done(st);
	rc = insert_circle(ctx, name, desc ? desc : "", book, sg, pf, mci,
			   circle, &id);
	free(desc);
	if (rc == 0)
		rc = store_run(db, SQL_CLONE_PLAN, "ii", id, circle);
	if (rc)
		return rpc_fail_store(ctx, rc);
	if (with_ann) {
		struct events_event ev = {.type = EVENTS_CIRCLE_CLONED,
					  .ctx = ctx};

		ev.u.clone.from = circle;
		ev.u.clone.to = id;
		ev.u.clone.account = rpc_account(ctx);
		ev.u.clone.copied = &copied;
		rc = events_emit(&ev);
		if (rc)
			return rpc_fail_store(ctx, rc);
	}
	if (circle_result(ctx, id, result))
		return RPC_ERR;
	json_object_set_new(*result, "annotations_copied",
			    json_integer(copied));
	return 0;
}

/* ---- circle.subscribe, circle.unsubscribe ---- */

static int m_subscribe(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"circle", "since_seq", NULL};
	struct vis_viewer v;
	int64_t circle, since = -1, seq = 0;
	json_t *events = NULL;
	bool resync = false;
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    circle_access(ctx, params, CIRCLE_SEE, &circle, &v) ||
	    rpc_param_int(ctx, params, "since_seq", false, 0, INT64_MAX,
			  &since))
		return RPC_ERR;
	if (since >= 0) {
		rc = bus_replay(rpc_store(ctx), circle, since, &v, &events,
				&seq, &resync);
		if (rc)
			return rpc_fail_store(ctx, rc);
	} else {
		seq = bus_circle_seq(rpc_store(ctx), circle);
	}
	/* installed in the same FIFO as the reply: no event falls between */
	rpc_effect_subscribe(ctx, circle, seq, &v);
	if (resync) {
		json_decref(events);
		*result = json_pack("{s:I,s:b}", "seq", (json_int_t)seq,
				    "resync", 1);
	} else {
		*result = json_pack("{s:I,s:o}", "seq", (json_int_t)seq,
				    "events", events ? events : json_array());
	}
	json_object_set_new(*result, "circle", json_integer(circle));
	json_object_set_new(*result, "presence",
			    presence_list(rpc_store(ctx), circle));
	return 0;
}

static int m_unsubscribe(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	struct vis_viewer v;
	int64_t circle;

	/* SPEC §4: a circle the caller may not see is not found, here too */
	if (circle_access_only(ctx, params, CIRCLE_SEE, &circle, &v))
		return RPC_ERR;
	rpc_effect_unsubscribe(ctx, circle);
	*result = json_pack("{s:I,s:b}", "circle", (json_int_t)circle,
			    "subscribed", 0);
	return 0;
}

/* ---- registration ---- */

static const struct rpc_method methods[] = {
	{"circle.create", m_create, RPC_AUTH},
	{"circle.list", m_list, RPC_AUTH | RPC_READ},
	{"circle.get", m_get, RPC_AUTH | RPC_READ},
	{"circle.update", m_update, RPC_AUTH},
	{"circle.members", m_members, RPC_AUTH | RPC_READ},
	{"circle.set_role", m_set_role, RPC_AUTH},
	{"circle.leave", m_leave, RPC_AUTH},
	{"circle.clone", m_clone, RPC_AUTH},
	{"circle.subscribe", m_subscribe, RPC_AUTH},
	{"circle.unsubscribe", m_unsubscribe, RPC_AUTH},
	{NULL, NULL, 0}};

void circles_init(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	rpc_register(methods);
	rpc_register(circle_invite_methods);
	rpc_register(circle_plan_methods);
	rpc_register(circle_presence_methods);
	rpc_register(circle_invite_info_methods);
	rpc_hooks.conn_closed = presence_conn_closed;
	rpc_hooks.tick = presence_tick;
	/* a circle invitation admits a new account on an invite-only server
	 * and makes it a member; a deleted account leaves its circles */
	auth_set_invite_hooks(circle_invite_check, circle_invite_redeem);
	auth_add_delete_hook("circles", circles_account_deleted);
}
