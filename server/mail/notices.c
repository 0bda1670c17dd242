/*
 * notices.c - notifications by email.
 *
 * notify_add() stores every notification and calls mail_on_notification()
 * in the same transaction. Per member and circle (circle.notify):
 *   - off: nothing;
 *   - instant: the first notification about a thread is mailed at once;
 *     what else happens in that thread within --mail-batch-window waits in
 *     mail_waiting and goes out as one mail when the window closes;
 *   - daily (the default): it waits for the digest (digest.c).
 * Only a verified address is ever used. What a mail shows is read through
 * the owning modules' own methods as the recipient (a local call context
 * for that account), when the mail is composed: a post that is private to
 * someone else, hidden, deleted or withheld by the spoiler guard by then
 * is left out, and a mail with nothing left is not sent.
 *
 * Kinds mailed: reply, mention, new_thread (chapter follows), moderation
 * (actions on one's posts or membership). Each mail has a text and an HTML
 * part, a link to the exact passage, List-Unsubscribe for the circle and,
 * with --reply-to-domain, a per-recipient per-thread reply address.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "books/books.h"
#include "circles/circles.h"
#include "mail/internal.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "threads/threads.h"
#include "util/err.h"
#include "util/html.h"
#include "util/log.h"

#define MAIL_BATCH_ITEMS 50 /* items in one batched mail at most */

static const char SQL_THREAD_LAST[] =
	"SELECT last_sent_at FROM mail_threads WHERE account = ? AND "
	"thread = ?";
static const char SQL_THREAD_SENT[] =
	"INSERT INTO mail_threads(account, thread, last_sent_at)"
	" VALUES (?1, ?2, ?3) ON CONFLICT(account, thread)"
	" DO UPDATE SET last_sent_at = ?3";
static const char SQL_WAIT[] =
	"INSERT INTO mail_waiting(account, circle, thread, kind, data, due_at,"
	" created_at) VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char SQL_DUE_GROUP[] =
	"SELECT account, circle, thread FROM mail_waiting"
	" WHERE due_at IS NOT NULL AND due_at <= ? ORDER BY id LIMIT 1";
static const char SQL_GROUP_ITEMS[] =
	"SELECT id, kind, data FROM mail_waiting WHERE account = ? AND"
	" circle = ? AND thread = ? AND due_at IS NOT NULL ORDER BY id"
	" LIMIT ?";
static const char SQL_WAIT_DEL[] = "DELETE FROM mail_waiting WHERE id = ?";

/* The thread (annotation id) a notification is about, 0 if none. */
static int64_t thread_of(struct store *db, json_t *data)
{
	json_t *a = json_object_get(data, "annotation");
	struct threads_target t;

	if (json_is_integer(a))
		return json_integer_value(a);
	if (threads_target_parse(db, json_object_get(data, "target"), &t) == 0)
		return t.annotation;
	return 0;
}

void mail_reply_address(struct store *db, int64_t account, int64_t thread,
			char *out, size_t len)
{
	char msg[64], mac[21];

	out[0] = '\0';
	if (!mail_config.reply_domain || !*mail_config.reply_domain ||
	    thread <= 0)
		return;
	snprintf(msg, sizeof(msg), "r.%lld.%lld", (long long)account,
		 (long long)thread);
	if (auth_mac_hex(db, msg, mac, 20))
		return;
	snprintf(out, len, "reply+%lld-%lld-%s@%s", (long long)account,
		 (long long)thread, mac, mail_config.reply_domain);
}

int mail_reply_parse(struct store *db, const char *local, int64_t *account,
		     int64_t *thread)
{
	long long a = 0, t = 0;
	char low[MAIL_ADDR_MAX + 1], want[MAIL_ADDR_MAX + 1];
	size_t len;
	int n = 0;

	if (!local || strlen(local) >= sizeof(low) - 1)
		return -1;
	/* some mail systems change the case of the local part */
	for (len = 0; local[len]; len++)
		low[len] = (char)tolower((unsigned char)local[len]);
	low[len++] = '@';
	low[len] = '\0';
	if (sscanf(low, "reply+%lld-%lld-%n", &a, &t, &n) != 2 || n <= 0 ||
	    a <= 0 || t <= 0)
		return -1;
	mail_reply_address(db, a, t, want, sizeof(want));
	if (!want[0] || strncmp(want, low, len) != 0)
		return -1;
	*account = a;
	*thread = t;
	return 0;
}

/* The string field of o (a circle, a chapter: taken, and NULL is fine),
 * or fallback when there is none. Caller frees. */
static char *str_field(json_t *o, const char *field, const char *fallback)
{
	char *v = NULL;

	if (json_is_string(json_object_get(o, field)))
		v = xstrdup(json_string_value(json_object_get(o, field)));
	json_decref(o);
	return v ? v : xstrdup(fallback);
}

/* The circle's name as the recipient sees it (caller frees). */
static char *circle_name(struct rpc_ctx *rctx, int64_t circle)
{
	json_t *c = NULL;

	circles_get_json(rctx, circle, &c);
	return str_field(c, "name", "your circle");
}

/* The link to a post's passage in the web app. */
static void passage_link(struct buf *out, int64_t circle, int64_t chapter,
			 int64_t thread)
{
	buf_addf(out, "%.*s/#/read/%lld/%lld", (int)mail_base_len(),
		 mail_config.base_url, (long long)circle, (long long)chapter);
	if (thread > 0)
		buf_addf(out, "?a=%lld", (long long)thread);
}

static const char *str_or(json_t *o, const char *key, const char *def)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : def;
}

/* Quotes the passage a thread is anchored to, if any. */
static void add_quote(json_t *ann, struct buf *text, struct buf *html)
{
	json_t *t = json_object_get(ann, "target"), *sel, *one;
	const char *exact = NULL;
	size_t i;

	/* a W3C-style target: {selector: [{type: TextQuoteSelector, exact}]} */
	sel = json_object_get(t, "selector");
	if (json_is_object(sel))
		exact = str_or(sel, "exact", NULL);
	json_array_foreach(sel, i, one)
	{
		if (!exact)
			exact = str_or(one, "exact", NULL);
	}
	if (!exact || !*exact)
		return;
	buf_adds(text, "> ");
	for (const char *p = exact; *p; p++) {
		buf_addch(text, *p);
		if (*p == '\n')
			buf_adds(text, "> ");
	}
	buf_adds(text, "\n\n");
	buf_adds(html, "<blockquote style=\"color:#555;border-left:3px solid "
		       "#ccc;margin:0;padding-left:1em\">");
	html_escape(html, exact, strlen(exact));
	buf_adds(html, "</blockquote>\n");
}

int mail_render_item(struct rpc_ctx *rctx, int64_t circle, const char *kind,
		     json_t *data, struct buf *text, struct buf *html,
		     int64_t *thread_out)
{
	struct store *db = rpc_store(rctx);
	struct threads_target t;
	struct buf link = BUF_INIT;
	json_t *post = NULL, *ann = NULL;
	const char *who, *body, *body_html, *what;
	int rc = 0;

	*thread_out = 0;
	if (strcmp(kind, "moderation") == 0) {
		const char *action = str_or(data, "action", "acted on");
		const char *reason = str_or(data, "reason", NULL);
		bool on_post =
			threads_target_parse(
				db, json_object_get(data, "target"), &t) == 0;

		buf_addf(text, "A moderator %s %s.\n", action,
			 on_post ? (t.kind ? "your reply" : "your thread")
				 : "your membership");
		buf_adds(html, "<p>A moderator ");
		html_escape(html, action, strlen(action));
		buf_adds(html,
			 on_post ? (t.kind ? " your reply" : " your thread")
				 : " your membership");
		buf_adds(html, ".</p>\n");
		if (reason && *reason) {
			buf_addf(text, "Reason: %s\n", reason);
			buf_adds(html, "<p>Reason: ");
			html_escape(html, reason, strlen(reason));
			buf_adds(html, "</p>\n");
		}
		if (on_post) {
			*thread_out = t.annotation;
			passage_link(&link, circle, t.chapter, t.annotation);
			buf_addf(text, "%s\n\n", buf_str(&link));
			buf_adds(html, "<p><a href=\"");
			html_escape(html, link.data, link.len);
			buf_adds(html, "\">See it in the book</a></p>\n");
		} else {
			buf_adds(text, "\n");
		}
		buf_free(&link);
		return 1;
	}
	if (threads_target_parse(db, json_object_get(data, "target"), &t))
		return 0; /* gone */
	post = threads_target_json(rctx, &t);
	if (!post || json_is_true(json_object_get(post, "hidden")) ||
	    json_is_true(json_object_get(post, "deleted")) ||
	    !json_is_string(json_object_get(post, "body")))
		goto out; /* withheld, private, hidden or deleted: not shown */
	if (t.kind == 1) {
		struct threads_target ta;

		if (threads_target_get(db, 0, t.annotation, &ta) == 0)
			ann = threads_target_json(rctx, &ta);
		if (!ann || json_is_true(json_object_get(ann, "deleted")))
			goto out;
	} else {
		ann = json_incref(post);
	}
	*thread_out = t.annotation;
	who = str_or(json_object_get(post, "author"), "display_name",
		     "Someone");
	what = strcmp(kind, "reply") == 0	 ? "replied"
	       : strcmp(kind, "mention") == 0	 ? "mentioned you"
	       : strcmp(kind, "new_thread") == 0 ? "started a thread"
						 : "wrote";
	body = json_string_value(json_object_get(post, "body"));
	body_html = str_or(post, "body_html", "");
	passage_link(&link, circle, t.chapter, t.annotation);
	buf_addf(text, "%s %s:\n\n", who, what);
	buf_adds(html, "<p><b>");
	html_escape(html, who, strlen(who));
	buf_addf(html, "</b> %s:</p>\n", what);
	add_quote(ann, text, html);
	buf_addf(text, "%s\n\n%s\n\n", body, buf_str(&link));
	/* body_html is the threads module's safe rendering of the Markdown */
	buf_adds(html, "<div>");
	buf_adds(html, body_html);
	buf_adds(html, "</div>\n<p><a href=\"");
	html_escape(html, link.data, link.len);
	buf_adds(html, "\">Open the passage</a></p>\n<hr>\n");
	rc = 1;
out:
	json_decref(post);
	json_decref(ann);
	buf_free(&link);
	return rc;
}

/* Queues one notification mail made of the rendered items. */
static int queue_notice(struct rpc_ctx *rctx, int64_t account, int64_t circle,
			int64_t thread, int count, const char *addr,
			struct buf *text, struct buf *html, int64_t now)
{
	struct store *db = rpc_store(rctx);
	struct buf subject = BUF_INIT, t2 = BUF_INIT, h2 = BUF_INIT;
	char unsub[512], reply[MAIL_ADDR_MAX + 1];
	char *cname = circle_name(rctx, circle);
	int rc;

	mail_unsubscribe_url(db, account, circle, unsub, sizeof(unsub));
	mail_reply_address(db, account, thread, reply, sizeof(reply));
	if (count > 1)
		buf_addf(&subject, "[%s] %d new in a thread you follow", cname,
			 count);
	else
		buf_addf(&subject, "[%s] New for you", cname);
	buf_add(&t2, text->data, text->len);
	if (reply[0])
		buf_adds(&t2, "Reply to this mail to answer in the thread "
			      "(write above the quoted text).\n");
	buf_addf(&t2,
		 "--\nYou get these mails for the circle \"%s\". To stop "
		 "them: %s\n",
		 cname, unsub);
	buf_add(&h2, html->data, html->len);
	buf_adds(&h2, "<p style=\"color:#777;font-size:smaller\">You get "
		      "these mails for the circle <b>");
	html_escape(&h2, cname, strlen(cname));
	buf_adds(&h2, "</b>. ");
	mail_html_link(&h2, unsub, "Unsubscribe");
	buf_adds(&h2, "</p>");
	rc = mail_queue(db, account, "notify",
			&(struct mail_msg){.to = addr,
					   .subject = buf_str(&subject),
					   .text = buf_str(&t2),
					   .html = buf_str(&h2),
					   .unsubscribe = unsub,
					   .reply_to = reply[0] ? reply : NULL},
			now);
	if (!rc && thread > 0)
		rc = store_run(db, SQL_THREAD_SENT, "iii", account, thread,
			       now);
	free(cname);
	buf_free(&subject);
	buf_free(&t2);
	buf_free(&h2);
	return rc;
}

int mail_on_notification(struct rpc_ctx *ctx, int64_t notification,
			 int64_t account, int64_t circle, const char *kind,
			 json_t *data)
{
	struct store *db = rpc_store(ctx);
	char addr[MAIL_ADDR_MAX + 1], *text = NULL;
	const char *mode;
	int64_t thread, last = 0, now = rpc_now(ctx);
	struct rpc_ctx *rctx;
	struct buf tb = BUF_INIT, hb = BUF_INIT;
	int rc = 0, shown;

	if (!mail_enabled() || circle <= 0)
		return 0;
	if (strcmp(kind, "reply") && strcmp(kind, "mention") &&
	    strcmp(kind, "new_thread") && strcmp(kind, "moderation"))
		return 0;
	mode = mail_pref(db, account, circle);
	if (strcmp(mode, "off") == 0)
		return 0;
	mail_verified_address(db, account, addr, sizeof(addr));
	if (!addr[0])
		return 0;
	thread = thread_of(db, data);
	text = json_dumps(data, JSON_COMPACT);
	if (!text)
		return SCH_ENOMEM;
	if (strcmp(mode, "daily") == 0) {
		rc = store_run(db, SQL_WAIT, "iiittni", account, circle, thread,
			       kind, text, now);
		goto out;
	}
	if (thread > 0 &&
	    store_int_query(db, &last, SQL_THREAD_LAST, "ii", account,
			    thread) == 1 &&
	    last + mail_config.batch_window_s > now) {
		/* within the window: joins the thread's next batch */
		rc = store_run(db, SQL_WAIT, "iiittii", account, circle, thread,
			       kind, text, last + mail_config.batch_window_s,
			       now);
		goto out;
	}
	rctx = rpc_ctx_new_local(db, account, false);
	shown = mail_render_item(rctx, circle, kind, data, &tb, &hb, &thread);
	if (shown > 0)
		rc = queue_notice(rctx, account, circle, thread, 1, addr, &tb,
				  &hb, now);
	rpc_ctx_free_local(rctx);
out:
	free(text);
	buf_free(&tb);
	buf_free(&hb);
	if (rc == SCH_EINVAL) {
		/* a mail that cannot be made never stops the post */
		log_warn("mail", "no mail for notification %lld",
			 (long long)notification);
		rc = 0;
	}
	return rc;
}

/* Sends one due batch; returns 1 when one was handled, 0 when none is
 * due, negative on error. */
static int send_one_batch(struct rpc_ctx *ctx, int64_t now)
{
	struct store *db = rpc_store(ctx);
	struct store_stmt *st;
	int64_t account = 0, circle = 0, thread = 0, ids[MAIL_BATCH_ITEMS];
	char addr[MAIL_ADDR_MAX + 1];
	struct buf tb = BUF_INIT, hb = BUF_INIT;
	struct rpc_ctx *rctx;
	int nids = 0, shown = 0, rc = 0;

	st = store_query(db, SQL_DUE_GROUP, "i", now);
	if (!st)
		return SCH_EDB;
	rc = store_row(st);
	if (rc > 0) {
		account = store_int(st, 0);
		circle = store_int(st, 1);
		thread = store_int(st, 2);
	}
	store_done(st);
	if (rc <= 0)
		return rc;
	mail_verified_address(db, account, addr, sizeof(addr));
	rctx = rpc_ctx_new_local(db, account, false);
	st = store_query(db, SQL_GROUP_ITEMS, "iiii", account, circle, thread,
			 (int64_t)MAIL_BATCH_ITEMS);
	while (st && (rc = store_row(st)) > 0) {
		json_t *data = json_loads(store_text(st, 2), 0, NULL);
		char *kind = store_text_dup(st, 1);
		int64_t th = 0;

		ids[nids++] = store_int(st, 0);
		if (data && addr[0] &&
		    mail_render_item(rctx, circle, kind, data, &tb, &hb, &th) >
			    0)
			shown++;
		json_decref(data);
		free(kind);
	}
	rc = 0;
	if (shown > 0)
		rc = queue_notice(rctx, account, circle, thread, shown, addr,
				  &tb, &hb, now);
	rpc_ctx_free_local(rctx);
	for (int i = 0; !rc && i < nids; i++)
		rc = store_run(db, SQL_WAIT_DEL, "i", ids[i]);
	buf_free(&tb);
	buf_free(&hb);
	return rc ? rc : 1;
}

void mail_notices_tick(struct rpc_ctx *ctx)
{
	int64_t now = rpc_now(ctx);

	for (int i = 0; i < 20; i++) {
		int rc = send_one_batch(ctx, now);

		if (rc < 0)
			log_warn("mail", "batching failed (%d)", rc);
		if (rc <= 0)
			break;
	}
}

/* ---- plan reminders ---- */

static const char SQL_INSTANT[] =
	"SELECT p.account, p.circle, a.email FROM mail_prefs p"
	" JOIN mail_addresses a ON a.account = p.account AND a.verified = 1"
	" WHERE p.mode = 'instant' ORDER BY p.account, p.circle";
static const char SQL_REMINDED[] =
	"SELECT 1 FROM mail_reminders WHERE account = ? AND circle = ? AND"
	" chapter = ? AND due = ?";
static const char SQL_REMIND[] =
	"INSERT OR IGNORE INTO mail_reminders(account, circle, chapter, due)"
	" VALUES (?, ?, ?, ?)";

/* The chapter's title as the member sees it (caller frees). */
static char *chapter_title(struct rpc_ctx *rctx, int64_t chapter)
{
	return str_field(books_chapter_json(rpc_store(rctx), chapter), "title",
			 "the next chapter");
}

/* Mails account a reminder of each plan entry of circle due tomorrow. */
static int remind_one(struct store *db, int64_t account, int64_t circle,
		      const char *addr, const char *tomorrow, int64_t now)
{
	struct rpc_ctx *rctx = rpc_ctx_new_local(db, account, false);
	json_t *plan = NULL, *e;
	size_t i;
	int rc = 0;

	if (circles_plan_json(rctx, circle, &plan))
		goto out;
	json_array_foreach(json_object_get(plan, "entries"), i, e)
	{
		const char *due = json_string_value(json_object_get(e, "due"));
		int64_t ch = json_integer_value(json_object_get(e, "chapter"));
		struct buf t = BUF_INIT, h = BUF_INIT, link = BUF_INIT;
		int64_t one = 0;
		char *title, *cname;

		if (!due || strcmp(due, tomorrow) != 0 ||
		    store_int_query(db, &one, SQL_REMINDED, "iiit", account,
				    circle, ch, due) != 0)
			continue;
		title = chapter_title(rctx, ch);
		cname = circle_name(rctx, circle);
		passage_link(&link, circle, ch, 0);
		buf_addf(&t,
			 "The circle \"%s\" reads \"%s\" by tomorrow, "
			 "%s.\n\n%s\n",
			 cname, title, due, buf_str(&link));
		buf_adds(&h, "<p>The circle <b>");
		html_escape(&h, cname, strlen(cname));
		buf_adds(&h, "</b> reads <a href=\"");
		html_escape(&h, link.data, link.len);
		buf_adds(&h, "\">");
		html_escape(&h, title, strlen(title));
		buf_addf(&h, "</a> by tomorrow, %s.</p>\n", due);
		rc = queue_notice(rctx, account, circle, 0, 1, addr, &t, &h,
				  now);
		if (!rc)
			rc = store_run(db, SQL_REMIND, "iiit", account, circle,
				       ch, due);
		free(title);
		free(cname);
		buf_free(&t);
		buf_free(&h);
		buf_free(&link);
		if (rc)
			break;
	}
out:
	json_decref(plan);
	rpc_ctx_free_local(rctx);
	return rc;
}

/* Reminders of plan entries due tomorrow, for instant members (daily
 * members read the next meeting in their digest). Checked as often as
 * batches close, at least every five minutes. */
static void reminders(struct rpc_ctx *ctx, int64_t now)
{
	struct store *db = rpc_store(ctx);
	struct store_stmt *st;
	struct {
		int64_t account, circle;
		char *addr;
	} *rows = NULL;
	size_t n = 0;
	char tomorrow[16];
	time_t tt = (time_t)(now + 86400);
	struct tm lt;

	localtime_r(&tt, &lt);
	strftime(tomorrow, sizeof(tomorrow), "%Y-%m-%d", &lt);
	st = store_query(db, SQL_INSTANT, "");
	while (st && store_row(st) > 0) {
		rows = xrealloc(rows, (n + 1) * sizeof(*rows));
		rows[n].account = store_int(st, 0);
		rows[n].circle = store_int(st, 1);
		rows[n].addr = store_text_dup(st, 2);
		n++;
	}
	for (size_t i = 0; i < n; i++) {
		if (remind_one(db, rows[i].account, rows[i].circle,
			       rows[i].addr, tomorrow, now))
			log_warn("mail", "plan reminder failed");
		free(rows[i].addr);
	}
	free(rows);
}

void mail_reminders_tick(struct rpc_ctx *ctx)
{
	static int64_t last;
	int64_t every = mail_config.batch_window_s, now = rpc_now(ctx);

	if (every < 1 || every > 300)
		every = 300;
	if (now - last < every)
		return;
	last = now;
	reminders(ctx, now);
}
