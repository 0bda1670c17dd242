/*
 * notify.c - the stored inbox per account, and chapter follows.
 *
 * Other modules decide who should hear about what (threads for replies,
 * mentions and new threads; moderation for actions on one's posts) and
 * call notify_add(), which stores the notification and pushes
 * notification.created to the account's own connections after commit. The
 * inbox itself is read with notification.list and marked with
 * notification.read. Notifications carry ids and the actor, never a body,
 * so that a later hide or delete cannot leave a copy of the text behind.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "books/books.h"
#include "events/events.h"
#include "notify/notify.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/rfc3339.h"

#define NOTIFY_PAGE 50	    /* notifications per page of notification.list */
#define NOTIFY_MAX_IDS 1000 /* ids accepted by one notification.read */

static const char SQL_ADD[] =
	"INSERT INTO notifications(account, circle, kind, data, created_at)"
	" VALUES (?, ?, ?, ?, ?)";
static const char SQL_LIST[] =
	"SELECT id, circle, kind, data, created_at, read FROM notifications"
	" WHERE account = ? AND (? = 0 OR read = 0) AND (? = 0 OR id < ?)"
	" ORDER BY id DESC LIMIT ?";
static const char SQL_UNREAD[] =
	"SELECT count(*) FROM notifications WHERE account = ? AND read = 0";
static const char SQL_READ_ALL[] =
	"UPDATE notifications SET read = 1 WHERE account = ? AND read = 0";
static const char SQL_READ_ONE[] =
	"UPDATE notifications SET read = 1 WHERE account = ? AND id = ?";
static const char SQL_FOLLOW_ON[] =
	"INSERT INTO follows(account, circle, chapter, created_at)"
	" VALUES (?, ?, ?, ?) ON CONFLICT(account, circle, chapter) DO NOTHING";
static const char SQL_FOLLOW_OFF[] =
	"DELETE FROM follows WHERE account = ? AND circle = ? AND chapter = ?";
static const char SQL_FOLLOWS[] = "SELECT 1 FROM follows WHERE account = ? AND "
				  "circle = ? AND chapter = ?";
static const char SQL_MY_FOLLOWS[] =
	"SELECT circle, chapter, created_at FROM follows WHERE account = ?"
	" ORDER BY circle, chapter";
static const char SQL_FORGET_NOTES[] =
	"DELETE FROM notifications WHERE account = ?";
static const char SQL_FORGET_FOLLOWS[] =
	"DELETE FROM follows WHERE account = ?";
static const char SQL_FOLLOWERS[] =
	"SELECT account FROM follows WHERE circle = ? AND chapter = ?"
	" ORDER BY account";

/* RFC 3339 UTC time for JSON. */
static json_t *notify_time(int64_t t)
{
	return rfc3339_json(t);
}

/* The notification object clients see; new reference. */
static json_t *notify_json(int64_t id, int64_t circle, const char *kind,
			   json_t *data, int64_t created_at, bool read)
{
	return json_pack("{s:I, s:o, s:s, s:O, s:o, s:b}", "id", (json_int_t)id,
			 "circle", circle ? json_integer(circle) : json_null(),
			 "kind", kind, "data", data, "created_at",
			 notify_time(created_at), "read", read);
}

#define NOTIFY_QUOTE_CP 160

/*
 * What the inbox needs to say what happened without a second request: the
 * passage the thread quotes ("quote", cut to NOTIFY_QUOTE_CP code points).
 * It is the book's text, not a post's body, so no body is ever copied.
 */
static void notify_add_quote(struct store *db, json_t *d)
{
	json_t *ann = json_object_get(d, "annotation"), *target = NULL, *sel;
	const char *state = NULL, *exact = NULL, *p;
	size_t i, n = 0;

	if (!json_is_integer(ann) || json_object_get(d, "quote"))
		return;
	if (books_anchor_get(db, json_integer_value(ann), &target, &state))
		return;
	json_array_foreach(json_object_get(target, "selector"), i, sel)
	{
		const char *type =
			json_string_value(json_object_get(sel, "type"));

		if (type && !strcmp(type, "TextQuoteSelector"))
			exact = json_string_value(
				json_object_get(sel, "exact"));
	}
	if (exact) {
		/* cut at a code point boundary */
		for (p = exact; *p && n < NOTIFY_QUOTE_CP; n++) {
			p++;
			while ((*p & 0xC0) == 0x80)
				p++;
		}
		json_object_set_new(d, "quote",
				    json_stringn(exact, (size_t)(p - exact)));
		if (*p)
			json_object_set_new(d, "quote_cut", json_true());
	}
	json_decref(target);
}

int notify_add(struct rpc_ctx *ctx, int64_t account, int64_t circle,
	       const char *kind, json_t *data)
{
	struct store *db = rpc_store(ctx);
	char *text = NULL;
	json_t *obj, *d;
	int64_t id, now = rpc_now(ctx);
	int rc;

	if (account <= 0 || !kind)
		return SCH_EINVAL;
	d = data && json_is_object(data) ? json_deep_copy(data) : json_object();
	notify_add_quote(db, d);
	text = json_dumps(d, JSON_COMPACT);
	if (!text) {
		json_decref(d);
		return SCH_ENOMEM;
	}
	rc = store_run(db, SQL_ADD, "iItti", account, circle, kind, text, now);
	if (rc)
		goto out;
	id = store_last_id(db);
	/* the mail module mails it per the member's choice */
	{
		struct events_event ev = {.type = EVENTS_NOTIFICATION_ADDED,
					  .ctx = ctx};

		ev.u.notification.id = id;
		ev.u.notification.account = account;
		ev.u.notification.circle = circle;
		ev.u.notification.kind = kind;
		ev.u.notification.data = d;
		rc = events_emit(&ev);
	}
	if (rc)
		goto out;
	obj = notify_json(id, circle, kind, d, now, false);
	rpc_publish_account(ctx, account, "notification.created", obj);
out:
	json_decref(d);
	free(text);
	return rc;
}

static int64_t notify_unread(struct store *db, int64_t account)
{
	int64_t n = 0;

	if (store_int_query(db, &n, SQL_UNREAD, "i", account) < 0)
		return 0;
	return n;
}

/* notification.list {unread?, cursor?} -> {items, next, unread} */
static int notification_list(struct rpc_ctx *ctx, json_t *params,
			     json_t **result)
{
	static const char *const allowed[] = {"unread", "cursor", NULL};
	struct store *db = rpc_store(ctx);
	struct store_stmt *st;
	int64_t me = rpc_account(ctx), cursor = 0, last = 0;
	bool unread = false;
	json_t *items;
	int n = 0, rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_bool(ctx, params, "unread", false, &unread) ||
	    rpc_param_cursor(ctx, params, &cursor))
		return RPC_ERR;
	items = json_array();
	st = store_query(db, SQL_LIST, "ibiii", me, unread, cursor, cursor,
			 (int64_t)NOTIFY_PAGE + 1);
	if (!st) {
		json_decref(items);
		return rpc_fail_store(ctx, SCH_EDB);
	}
	while ((rc = store_row(st)) > 0) {
		json_t *data;

		if (n == NOTIFY_PAGE) {
			store_done(st);
			rc = 1; /* more after this page */
			break;
		}
		data = json_loads(store_text(st, 3), 0, NULL);
		if (!data)
			data = json_object();
		last = store_int(st, 0);
		json_array_append_new(items,
				      notify_json(last, store_int(st, 1),
						  store_text(st, 2), data,
						  store_int(st, 4),
						  store_int(st, 5) != 0));
		json_decref(data);
		n++;
	}
	if (rc < 0) {
		json_decref(items);
		return rpc_fail_store(ctx, rc);
	}
	*result = json_pack("{s:o, s:o, s:I}", "items", items, "next",
			    rc > 0 ? json_sprintf("%lld", (long long)last)
				   : json_null(),
			    "unread", (json_int_t)notify_unread(db, me));
	return 0;
}

/* notification.read {ids?, all?} -> {unread} */
static int notification_read(struct rpc_ctx *ctx, json_t *params,
			     json_t **result)
{
	static const char *const allowed[] = {"ids", "all", NULL};
	struct store *db = rpc_store(ctx);
	int64_t me = rpc_account(ctx);
	json_t *ids = NULL, *v;
	bool all = false;
	size_t i;
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_bool(ctx, params, "all", false, &all) ||
	    rpc_param_json(ctx, params, "ids", false, JSON_ARRAY, &ids))
		return RPC_ERR;
	if (!all && !ids)
		return rpc_fail_field(ctx, "ids", "give ids or all:true");
	if (ids) {
		if (json_array_size(ids) > NOTIFY_MAX_IDS)
			return rpc_fail_field(ctx, "ids", "too many ids");
		json_array_foreach(ids, i, v)
		{
			if (!json_is_integer(v) || json_integer_value(v) < 1)
				return rpc_fail_field(
					ctx, "ids",
					"ids are positive integers");
		}
	}
	if (all) {
		rc = store_run(db, SQL_READ_ALL, "i", me);
		if (rc)
			return rpc_fail_store(ctx, rc);
	} else {
		json_array_foreach(ids, i, v)
		{
			rc = store_run(db, SQL_READ_ONE, "ii", me,
				       (int64_t)json_integer_value(v));
			if (rc)
				return rpc_fail_store(ctx, rc);
		}
	}
	*result =
		json_pack("{s:I}", "unread", (json_int_t)notify_unread(db, me));
	return 0;
}

int notify_follow_set(struct store *db, int64_t account, int64_t circle,
		      int64_t chapter, bool on, int64_t now)
{
	if (on)
		return store_run(db, SQL_FOLLOW_ON, "iiii", account, circle,
				 chapter, now);
	return store_run(db, SQL_FOLLOW_OFF, "iii", account, circle, chapter);
}

bool notify_follows(struct store *db, int64_t account, int64_t circle,
		    int64_t chapter)
{
	int64_t one = 0;

	return store_int_query(db, &one, SQL_FOLLOWS, "iii", account, circle,
			       chapter) == 1;
}

int notify_followers(struct store *db, int64_t circle, int64_t chapter,
		     int64_t **out, size_t *n)
{
	return store_ids(store_query(db, SQL_FOLLOWERS, "ii", circle, chapter),
			 out, n);
}

/* account.export: the chapters the account follows. */
static int notify_export(struct rpc_ctx *ctx, int64_t account, json_t **out)
{
	struct store_stmt *st;
	json_t *arr = json_array();
	int rc;

	st = store_query(rpc_store(ctx), SQL_MY_FOLLOWS, "i", account);
	if (!st) {
		json_decref(arr);
		return rpc_fail_store(ctx, SCH_EDB);
	}
	while ((rc = store_row(st)) > 0)
		json_array_append_new(
			arr,
			json_pack("{s:I, s:I, s:o}", "circle",
				  (json_int_t)store_int(st, 0), "chapter",
				  (json_int_t)store_int(st, 1), "created_at",
				  notify_time(store_int(st, 2))));
	if (rc < 0) {
		json_decref(arr);
		return rpc_fail_store(ctx, rc);
	}
	*out = arr;
	return 0;
}

/* account.delete: the inbox and the follows go. */
static int notify_forget(struct rpc_ctx *ctx, int64_t account)
{
	int rc = store_run(rpc_store(ctx), SQL_FORGET_NOTES, "i", account);

	if (!rc)
		rc = store_run(rpc_store(ctx), SQL_FORGET_FOLLOWS, "i",
			       account);
	return rc ? rpc_fail_store(ctx, rc) : 0;
}

void notify_init(void)
{
	static const struct rpc_method methods[] = {
		{"notification.list", notification_list, RPC_AUTH | RPC_READ},
		{"notification.read", notification_read, RPC_AUTH},
		{NULL, NULL, 0}};

	rpc_register(methods);
	auth_add_export_hook("follows", notify_export);
	auth_add_delete_hook("notify", notify_forget);
}
