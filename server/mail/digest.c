/*
 * digest.c - the daily digest, built around where the member is in the
 * book: "You have read to chapter 4; the circle meets Thursday on chapter
 * 5. New in chapter 4: 3 threads, 1 question nobody answered. Waiting for
 * you in chapter 5: 6 threads." and then the mentions and replies that
 * waited for it (notices.c put them in mail_waiting).
 *
 * One digest per member and circle, for members whose choice is daily
 * (the default) and whose address is verified, when something is new
 * (a thread since the last digest, or a waiting notification) and no
 * digest went out in the last 20 hours. `scholia mail digests` (cron) and
 * serve at --digest-hour run the same mail_digests_run().
 *
 * Everything shown is read as the member through the owning modules
 * (circle.get, book.toc, plan.get, threads_each_visible). The counts of
 * the chapter ahead ("waiting for you") count threads the spoiler guard
 * still withholds; they are numbers only, never a title or a body, and
 * private and hidden threads are not counted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "books/books.h"
#include "circles/circles.h"
#include "mail/internal.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "threads/threads.h"
#include "util/err.h"
#include "util/html.h"
#include "util/log.h"
#include "util/rfc3339.h"

#define DIGEST_QUIET_S (20 * 3600) /* no two digests closer than this */
#define DIGEST_MAX_NEW 10	   /* new threads listed by title */

static const char SQL_VERIFIED[] =
	"SELECT account, email FROM mail_addresses WHERE verified = 1"
	" ORDER BY account";
static const char SQL_LAST[] =
	"SELECT last_sent_at FROM mail_digests WHERE account = ? AND "
	"circle = ?";
static const char SQL_SENT[] =
	"INSERT INTO mail_digests(account, circle, last_sent_at)"
	" VALUES (?1, ?2, ?3) ON CONFLICT(account, circle)"
	" DO UPDATE SET last_sent_at = ?3";
static const char SQL_WAITING[] =
	"SELECT id, kind, data FROM mail_waiting WHERE account = ? AND"
	" circle = ? AND due_at IS NULL ORDER BY id LIMIT 100";
static const char SQL_WAITING_DEL[] =
	"DELETE FROM mail_waiting WHERE account = ? AND circle = ? AND"
	" due_at IS NULL";

/* One chapter of the book in reading order. */
struct dg_chapter {
	int64_t id;
	char label[160]; /* "chapter 4" or its title */
};

/* Counting threads of one chapter. */
struct dg_count {
	const char *since; /* RFC 3339: threads created after it are new */
	int threads, unanswered, fresh;
	struct buf *text, *html; /* list of new threads (NULL: count only) */
	int64_t circle, chapter;
};

static int count_one(json_t *a, void *arg)
{
	struct dg_count *c = arg;
	const char *created =
		json_string_value(json_object_get(a, "created_at"));
	const char *body = json_string_value(json_object_get(a, "body"));
	json_t *rc = json_object_get(a, "reply_count");

	if (json_is_true(json_object_get(a, "hidden")) ||
	    json_is_true(json_object_get(a, "deleted")))
		return 0;
	c->threads++;
	if (json_is_integer(rc) && json_integer_value(rc) == 0)
		c->unanswered++;
	if (created && c->since && strcmp(created, c->since) > 0) {
		c->fresh++;
		if (c->text && body && c->fresh <= DIGEST_MAX_NEW) {
			char line[100];
			struct buf link = BUF_INIT;
			size_t n = 0;

			/* the first line, cut at a character boundary */
			while (body[n] && body[n] != '\n' && n < 90)
				n++;
			while (n && ((unsigned char)body[n] & 0xc0) == 0x80)
				n--;
			snprintf(line, sizeof(line), "%.*s%s", (int)n, body,
				 body[n] && body[n] != '\n' ? "..." : "");
			buf_addf(&link, "%.*s/#/read/%lld/%lld?a=%lld",
				 (int)mail_base_len(), mail_config.base_url,
				 (long long)c->circle, (long long)c->chapter,
				 (long long)json_integer_value(
					 json_object_get(a, "id")));
			buf_addf(c->text, "  - %s\n    %s\n", line,
				 buf_str(&link));
			buf_adds(c->html, "<li><a href=\"");
			html_escape(c->html, link.data, link.len);
			buf_adds(c->html, "\">");
			html_escape(c->html, line, strlen(line));
			buf_adds(c->html, "</a></li>\n");
			buf_free(&link);
		}
	}
	return 0;
}

/* The book's chapters in reading order (malloc'd, *n of them). */
static struct dg_chapter *chapters_of(struct rpc_ctx *rctx, int64_t book,
				      size_t *n)
{
	struct dg_chapter *out = NULL;
	json_t *toc = NULL, *part, *ch;
	size_t i, k, len = 0;

	*n = 0;
	if (books_toc(rpc_store(rctx), book, &toc))
		return NULL;
	json_array_foreach(json_object_get(toc, "parts"), i, part)
	{
		json_array_foreach(json_object_get(part, "chapters"), k, ch)
		{
			json_t *num = json_object_get(ch, "number");
			const char *title =
				json_string_value(json_object_get(ch, "title"));

			out = xrealloc(out, (len + 1) * sizeof(*out));
			out[len].id =
				json_integer_value(json_object_get(ch, "id"));
			if (json_is_integer(num))
				snprintf(out[len].label, sizeof(out[len].label),
					 "chapter %lld",
					 (long long)json_integer_value(num));
			else
				snprintf(out[len].label, sizeof(out[len].label),
					 "\"%s\"", title ? title : "?");
			len++;
		}
	}
	json_decref(toc);
	*n = len;
	return out;
}

static int index_of(const struct dg_chapter *chs, size_t n, int64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (chs[i].id == id)
			return (int)i;
	return -1;
}

/* "Thursday" for a YYYY-MM-DD date, or "on <date>" when unparsable. */
static void weekday(const char *date, char *out, size_t len)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (!date || sscanf(date, "%d-%d-%d", &tm.tm_year, &tm.tm_mon,
			    &tm.tm_mday) != 3) {
		snprintf(out, len, "soon");
		return;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_hour = 12;
	tm.tm_isdst = -1;
	mktime(&tm);
	strftime(out, len, "%A %-d %B", &tm);
}

/* Builds and queues the digest of one member and circle. Returns 1 when
 * a digest was queued, 0 when there was nothing to say. */
static int digest_one(struct store *db, int64_t account, const char *addr,
		      int64_t circle, json_t *cj, int64_t since_t, int64_t now)
{
	struct rpc_ctx *rctx = rpc_ctx_new_local(db, account, false);
	struct buf text = BUF_INIT, html = BUF_INIT, subject = BUF_INIT;
	struct buf items_t = BUF_INIT, items_h = BUF_INIT;
	struct buf new_t = BUF_INIT, new_h = BUF_INIT;
	struct dg_chapter *chs = NULL;
	struct dg_count here, ahead;
	struct vis_viewer v, v_ahead;
	struct mail_msg m = MAIL_MSG_INIT;
	struct store_stmt *st;
	json_t *plan = NULL, *e, *prog;
	const char *cname = json_string_value(json_object_get(cj, "name"));
	const char *next_due = NULL;
	int64_t book = json_integer_value(json_object_get(cj, "book"));
	int64_t next_ch = 0, my_ch = 0;
	char since[32], unsub[512], day[64];
	int nitems = 0, at = -1, rc = 0;
	size_t nch = 0, i;

	rfc3339_format(since_t, since, sizeof(since));
	if (circles_viewer(db, circle, account, false, &v) ||
	    v.role == VIS_ROLE_NONE)
		goto out;
	chs = chapters_of(rctx, book, &nch);
	if (!chs || !nch)
		goto out;
	/* where the member is */
	prog = json_object_get(json_object_get(cj, "me"), "progress");
	if (json_is_object(prog))
		my_ch = json_integer_value(json_object_get(prog, "chapter"));
	at = index_of(chs, nch, my_ch);
	/* the next meeting: the first plan entry due today or later */
	if (circles_plan_json(rctx, circle, &plan) == 0) {
		char today[16];
		time_t tt = (time_t)now;
		struct tm lt;

		localtime_r(&tt, &lt);
		strftime(today, sizeof(today), "%Y-%m-%d", &lt);
		json_array_foreach(json_object_get(plan, "entries"), i, e)
		{
			const char *due =
				json_string_value(json_object_get(e, "due"));

			if (due && strcmp(due, today) >= 0 &&
			    (!next_due || strcmp(due, next_due) < 0)) {
				next_due = due;
				next_ch = json_integer_value(
					json_object_get(e, "chapter"));
			}
		}
	}
	/* the chapter read to, and the one after it */
	memset(&here, 0, sizeof(here));
	memset(&ahead, 0, sizeof(ahead));
	here.since = ahead.since = since;
	here.text = &new_t;
	here.html = &new_h;
	here.circle = circle;
	if (at >= 0) {
		here.chapter = chs[at].id;
		rc = threads_each_visible(rctx, circle, chs[at].id, &v, false,
					  count_one, &here);
	}
	if (!rc && at + 1 < (int)nch) {
		/* counts only: the spoiler guard still holds the titles */
		v_ahead = v;
		v_ahead.show_all = true;
		ahead.chapter = chs[at + 1].id;
		rc = threads_each_visible(rctx, circle, chs[at + 1].id,
					  &v_ahead, false, count_one, &ahead);
	}
	if (rc)
		goto out;
	/* the notifications that waited for the digest */
	st = store_query(db, SQL_WAITING, "ii", account, circle);
	while (st && store_row(st) > 0) {
		json_t *data = json_loads(store_text(st, 2), 0, NULL);
		char *kind = store_text_dup(st, 1);
		int64_t th = 0;

		if (data && mail_render_item(rctx, circle, kind, data, &items_t,
					     &items_h, &th) > 0)
			nitems++;
		json_decref(data);
		free(kind);
	}
	store_done(st);
	if (nitems == 0 && here.fresh == 0 && ahead.fresh == 0)
		goto out; /* nothing new: no digest */
	/* the summary */
	if (at >= 0)
		buf_addf(&text, "You have read to %s", chs[at].label);
	else
		buf_adds(&text, "You have not started reading yet");
	if (next_due && index_of(chs, nch, next_ch) >= 0) {
		weekday(next_due, day, sizeof(day));
		buf_addf(&text, "; the circle meets %s on %s", day,
			 chs[index_of(chs, nch, next_ch)].label);
	}
	buf_adds(&text, ".\n");
	if (at >= 0)
		buf_addf(&text,
			 "New in %s: %d thread%s, %d question%s nobody "
			 "answered.\n",
			 chs[at].label, here.fresh, here.fresh == 1 ? "" : "s",
			 here.unanswered, here.unanswered == 1 ? "" : "s");
	if (at + 1 < (int)nch)
		buf_addf(&text, "Waiting for you in %s: %d thread%s.\n",
			 chs[at + 1].label, ahead.threads,
			 ahead.threads == 1 ? "" : "s");
	buf_adds(&html, "<p>");
	html_escape(&html, text.data, text.len);
	buf_adds(&html, "</p>\n");
	if (new_t.len) {
		buf_adds(&text, "\nNew threads:\n");
		buf_add(&text, new_t.data, new_t.len);
		buf_adds(&html, "<h3>New threads</h3>\n<ul>\n");
		buf_add(&html, new_h.data, new_h.len);
		buf_adds(&html, "</ul>\n");
	}
	if (nitems) {
		buf_adds(&text, "\nFor you:\n\n");
		buf_add(&text, items_t.data, items_t.len);
		buf_adds(&html, "<h3>For you</h3>\n");
		buf_add(&html, items_h.data, items_h.len);
	}
	mail_unsubscribe_url(db, account, circle, unsub, sizeof(unsub));
	buf_addf(
		&text,
		"\n--\nThe daily digest of the circle \"%s\". To stop it: %s\n",
		cname ? cname : "", unsub);
	buf_adds(&html, "<p style=\"color:#777;font-size:smaller\">The daily "
			"digest of the circle <b>");
	html_escape(&html, cname ? cname : "", strlen(cname ? cname : ""));
	buf_adds(&html, "</b>. <a href=\"");
	html_escape(&html, unsub, strlen(unsub));
	buf_adds(&html, "\">Unsubscribe</a></p>");
	buf_addf(&subject, "[%s] Your daily digest", cname ? cname : "Scholia");
	m.to = addr;
	m.subject = buf_str(&subject);
	m.text = buf_str(&text);
	m.html = buf_str(&html);
	m.unsubscribe = unsub;
	rc = mail_queue(db, account, "digest", &m, now);
	if (!rc)
		rc = store_run(db, SQL_SENT, "iii", account, circle, now);
	if (!rc)
		rc = store_run(db, SQL_WAITING_DEL, "ii", account, circle);
	rc = rc ? rc : 1;
out:
	json_decref(plan);
	free(chs);
	rpc_ctx_free_local(rctx);
	buf_free(&text);
	buf_free(&html);
	buf_free(&subject);
	buf_free(&items_t);
	buf_free(&items_h);
	buf_free(&new_t);
	buf_free(&new_h);
	return rc;
}

/* Every due digest of one account. */
static int digests_of(struct store *db, int64_t account, const char *addr,
		      int64_t now)
{
	struct rpc_ctx *rctx = rpc_ctx_new_local(db, account, false);
	json_t *list = NULL, *c;
	size_t i;
	int n = 0, rc = 0;

	if (circles_list_json(rctx, 0, &list))
		goto out;
	json_array_foreach(json_object_get(list, "items"), i, c)
	{
		int64_t circle = json_integer_value(json_object_get(c, "id"));
		int64_t last = 0;
		json_t *full = NULL;

		if (circle <= 0 ||
		    strcmp(mail_pref(db, account, circle), "daily") != 0)
			continue;
		if (store_int_query(db, &last, SQL_LAST, "ii", account,
				    circle) == 1 &&
		    last > now - DIGEST_QUIET_S)
			continue;
		if (circles_get_json(rctx, circle, &full))
			continue;
		rc = digest_one(db, account, addr, circle, full,
				last ? last : now - 86400, now);
		json_decref(full);
		if (rc < 0)
			break;
		n += rc;
		rc = 0;
	}
out:
	json_decref(list);
	rpc_ctx_free_local(rctx);
	return rc < 0 ? rc : n;
}

int mail_digests_run(struct rpc_ctx *ctx, int64_t now)
{
	struct store *db = rpc_store(ctx);
	struct store_stmt *st;
	int64_t *ids = NULL;
	char **addrs = NULL;
	size_t n = 0, i;
	int total = 0, rc = 0;

	if (!mail_enabled())
		return 0;
	st = store_query(db, SQL_VERIFIED, "");
	while (st && store_row(st) > 0) {
		ids = xrealloc(ids, (n + 1) * sizeof(*ids));
		addrs = xrealloc(addrs, (n + 1) * sizeof(*addrs));
		ids[n] = store_int(st, 0);
		addrs[n] = store_text_dup(st, 1);
		n++;
	}
	for (i = 0; i < n; i++) {
		if (rc >= 0) {
			rc = digests_of(db, ids[i], addrs[i], now);
			if (rc > 0)
				total += rc;
		}
		free(addrs[i]);
	}
	free(ids);
	free(addrs);
	return rc < 0 ? rc : total;
}

void mail_digest_tick(struct rpc_ctx *ctx)
{
	static int last_yday = -1;
	time_t now = (time_t)rpc_now(ctx);
	struct tm lt;
	int n;

	if (mail_config.digest_hour < 0)
		return;
	localtime_r(&now, &lt);
	if (lt.tm_hour != mail_config.digest_hour || lt.tm_yday == last_yday)
		return;
	last_yday = lt.tm_yday;
	n = mail_digests_run(ctx, rpc_now(ctx));
	log_info("mail", "daily digests: %d queued", n);
}
