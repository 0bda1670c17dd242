/*
 * methods.c - the mail module's methods and hooks: addresses and their
 * verification (account.update {email}, auth.verify_email), self-service
 * password reset (auth.forgot), invitations by mail, per-circle choices
 * (circle.notify), one-click unsubscribe (RFC 8058), export and delete.
 *
 * An address is used only once verified: account.update stores it with a
 * fresh one-time token (its keyed hash only) and mails the link
 * <base>/#/verify/<token>; auth.verify_email marks it verified. Addresses
 * are shown to their own account only (account.get) and never to other
 * members. auth.forgot answers {} whether or not the account exists or has
 * an address, and past its limit (three reset mails an hour per account)
 * too; then nothing is sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "books/books.h"
#include "circles/circles.h"
#include "events/events.h"
#include "http/http.h"
#include "mail/internal.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "util/err.h"
#include "util/html.h"
#include "util/log.h"

#define MAIL_VERIFY_TTL (3 * 86400) /* a verification link's lifetime */
#define MAIL_RESET_TTL (3600)	    /* a mailed reset link's lifetime */
#define MAIL_FORGOT_PER_HOUR 3	    /* reset mails an hour per account */

struct mail_config mail_config = {NULL, NULL, NULL,	 NULL,
				  600,	7,    3 * 86400, 10};

static const char SQL_ADDR_GET[] =
	"SELECT email, verified FROM mail_addresses WHERE account = ?";
static const char SQL_ADDR_SET[] =
	"INSERT INTO mail_addresses(account, email, verified, token_hash,"
	" token_expires, updated_at) VALUES (?1, ?2, 0, ?3, ?4, ?5)"
	" ON CONFLICT(account) DO UPDATE SET email = ?2, verified = 0,"
	" token_hash = ?3, token_expires = ?4, updated_at = ?5";
static const char SQL_ADDR_DEL[] =
	"DELETE FROM mail_addresses WHERE account = ?";
static const char SQL_ADDR_BY_TOKEN[] =
	"SELECT account, token_expires FROM mail_addresses"
	" WHERE token_hash = ?";
static const char SQL_ADDR_VERIFY[] =
	"UPDATE mail_addresses SET verified = 1, token_hash = NULL,"
	" token_expires = NULL, updated_at = ? WHERE account = ?";
static const char SQL_PREF_GET[] =
	"SELECT mode FROM mail_prefs WHERE account = ? AND circle = ?";
static const char SQL_PREF_SET[] =
	"INSERT INTO mail_prefs(account, circle, mode) VALUES (?1, ?2, ?3)"
	" ON CONFLICT(account, circle) DO UPDATE SET mode = ?3";
static const char SQL_PREFS_OF[] =
	"SELECT circle, mode FROM mail_prefs WHERE account = ? ORDER BY circle";
static const char SQL_RESETS_LATELY[] =
	"SELECT count(*) FROM mail_outbox WHERE account = ? AND kind = 'reset'"
	" AND created_at > ?";
static const char SQL_HANDLE_NAME[] =
	"SELECT display_name FROM accounts WHERE id = ?";
static const char SQL_WAITING_DROP[] =
	"DELETE FROM mail_waiting WHERE account = ? AND circle = ?";
static const char *const SQL_FORGET[] = {
	"DELETE FROM mail_addresses WHERE account = ?",
	"DELETE FROM mail_prefs WHERE account = ?",
	"DELETE FROM mail_waiting WHERE account = ?",
	"DELETE FROM mail_threads WHERE account = ?",
	"DELETE FROM mail_digests WHERE account = ?",
	"DELETE FROM mail_reminders WHERE account = ?",
	"DELETE FROM mail_outbox WHERE account = ?",
	NULL};

static const char *const pref_words[] = {"off", "instant", "daily", NULL};

bool mail_enabled(void)
{
	return mail_config.smtp_url && *mail_config.smtp_url;
}

int mail_fail_disabled(struct rpc_ctx *ctx)
{
	rpc_fail(ctx, RPC_E_FORBIDDEN, "this server sends no mail");
	rpc_fail_data(ctx, "reason", json_string("mail_disabled"));
	return RPC_ERR;
}

int mail_check_config(char *why, size_t whylen)
{
	char addr[MAIL_ADDR_MAX + 1];

	if (!mail_enabled())
		return 0;
	if (mail_smtp_check(mail_config.smtp_url, why, whylen))
		return -1;
	mail_addr_of(mail_config.from, addr, sizeof(addr));
	if (!mail_addr_ok(addr)) {
		snprintf(why, whylen, "--mail-from has no usable address");
		return -1;
	}
	if (mail_config.reply_domain && *mail_config.reply_domain &&
	    strpbrk(mail_config.reply_domain, " <>@\"\r\n")) {
		snprintf(why, whylen, "--reply-to-domain is not a domain");
		return -1;
	}
	return 0;
}

size_t mail_base_len(void)
{
	const char *b = mail_config.base_url ? mail_config.base_url : "";
	size_t n = strlen(b);

	while (n && b[n - 1] == '/')
		n--;
	return n;
}

#define BASE (int)mail_base_len(), mail_config.base_url

void mail_verified_address(struct store *db, int64_t account, char *out,
			   size_t len)
{
	struct store_stmt *st = store_query(db, SQL_ADDR_GET, "i", account);

	out[0] = '\0';
	if (st && store_row(st) > 0 && store_int(st, 1))
		snprintf(out, len, "%s", store_text(st, 0));
	store_done(st);
}

const char *mail_pref(struct store *db, int64_t account, int64_t circle)
{
	struct store_stmt *st =
		store_query(db, SQL_PREF_GET, "ii", account, circle);
	const char *mode = "daily";

	if (st && store_row(st) > 0) {
		const char *m = store_text(st, 0);

		for (int i = 0; pref_words[i]; i++)
			if (m && strcmp(m, pref_words[i]) == 0)
				mode = pref_words[i];
	}
	store_done(st);
	return mode;
}

/* "u.<account>.<circle>" signed: the token of an unsubscribe link. */
static int unsub_token(struct store *db, int64_t account, int64_t circle,
		       char *out, size_t len)
{
	char msg[64], mac[33];
	int rc;

	snprintf(msg, sizeof(msg), "u.%lld.%lld", (long long)account,
		 (long long)circle);
	rc = auth_mac_hex(db, msg, mac, 32);
	if (!rc)
		snprintf(out, len, "%lld.%lld.%s", (long long)account,
			 (long long)circle, mac);
	return rc;
}

void mail_unsubscribe_url(struct store *db, int64_t account, int64_t circle,
			  char *out, size_t len)
{
	char t[128];

	out[0] = '\0';
	if (unsub_token(db, account, circle, t, sizeof(t)) == 0)
		snprintf(out, len, "%.*s/api/mail/unsubscribe?t=%s", BASE, t);
}

/* Checks an unsubscribe token: 0 with account and circle, or -1. */
static int unsub_parse(struct store *db, const char *t, int64_t *account,
		       int64_t *circle)
{
	long long a = 0, c = 0;
	char want[128];
	int n = 0;

	if (!t || sscanf(t, "%lld.%lld.%n", &a, &c, &n) != 2 || n <= 0 ||
	    a <= 0 || c < 0)
		return -1;
	if (unsub_token(db, a, c, want, sizeof(want)))
		return -1;
	if (strlen(t) != strlen(want) ||
	    strcmp(t, want) != 0) /* public data; timing leaks nothing */
		return -1;
	*account = a;
	*circle = c;
	return 0;
}

/* ---- account.update {email}, account.get ---- */

/* Writes the address with a new token and queues the verification mail. */
static int email_set(struct rpc_ctx *ctx, int64_t account, const char *email)
{
	struct store *db = rpc_store(ctx);
	char token[AUTH_TOKEN_TEXT], digest[AUTH_TOKEN_DIGEST];
	struct buf text = BUF_INIT, html = BUF_INIT, link = BUF_INIT;
	int rc;

	if (!*email) {
		rc = store_run(db, SQL_ADDR_DEL, "i", account);
		return rc ? rpc_fail_store(ctx, rc) : 0;
	}
	if (!mail_enabled())
		return mail_fail_disabled(ctx);
	if (!mail_addr_ok(email))
		return rpc_fail_field(ctx, "email", "not an email address");
	mail_verified_address(db, account, token, sizeof(token));
	if (strcmp(token, email) == 0)
		return 0; /* the same verified address: nothing to confirm */
	rc = auth_token_make(db, token, digest);
	if (!rc)
		rc = store_run(db, SQL_ADDR_SET, "ittii", account, email,
			       digest, rpc_now(ctx) + MAIL_VERIFY_TTL,
			       rpc_now(ctx));
	if (rc)
		return rpc_fail_store(ctx, rc);
	buf_addf(&link, "%.*s/#/verify/%s", BASE, token);
	buf_addf(&text,
		 "Someone (we hope you) gave this address to a Scholia "
		 "account.\n\nTo confirm it, open this link within 3 days:\n"
		 "%s\n\nIf it was not you, ignore this mail: the address will "
		 "not be used.\n",
		 buf_str(&link));
	buf_adds(&html, "<p>Someone (we hope you) gave this address to a "
			"Scholia account.</p>\n<p>");
	mail_html_link(&html, buf_str(&link), "Confirm this address");
	buf_adds(&html, " (within 3 days).</p>\n"
			"<p>If it was not you, ignore this mail: the address "
			"will not be used.</p>");
	rc = mail_queue(
		db, account, "verify",
		&(struct mail_msg){
			.to = email,
			.subject = "Confirm your email address for Scholia",
			.text = buf_str(&text),
			.html = buf_str(&html)},
		rpc_now(ctx));
	memset(token, 0, sizeof(token));
	buf_free(&text);
	buf_free(&html);
	buf_free(&link);
	return rc ? rpc_fail_store(ctx, rc) : 0;
}

static void email_decorate(struct store *db, int64_t account, json_t *obj)
{
	struct store_stmt *st = store_query(db, SQL_ADDR_GET, "i", account);

	if (st && store_row(st) > 0) {
		json_object_set_new(obj, "email",
				    json_string(store_text(st, 0)));
		json_object_set_new(obj, "email_verified",
				    json_boolean(store_int(st, 1) != 0));
	} else {
		json_object_set_new(obj, "email", json_null());
		json_object_set_new(obj, "email_verified", json_false());
	}
	store_done(st);
}

/* auth.verify_email {token} -> {email_verified: true} */
static int verify_email(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"token", NULL};
	struct store *db = rpc_store(ctx);
	char digest[AUTH_TOKEN_DIGEST];
	struct store_stmt *st;
	int64_t account = 0, expires = 0;
	const char *token;
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_str(ctx, params, "token", true, 1, 200, &token))
		return RPC_ERR;
	rc = auth_token_digest(db, token, digest);
	if (rc == 0) {
		st = store_query(db, SQL_ADDR_BY_TOKEN, "t", digest);
		if (st && store_row(st) > 0) {
			account = store_int(st, 0);
			expires = store_int(st, 1);
		}
		store_done(st);
	}
	if (!account || expires <= rpc_now(ctx))
		return rpc_fail(ctx, RPC_E_NOT_FOUND,
				"this link is invalid, used or expired");
	rc = store_run(db, SQL_ADDR_VERIFY, "ii", rpc_now(ctx), account);
	if (rc)
		return rpc_fail_store(ctx, rc);
	log_info("mail", "account %lld verified its address",
		 (long long)account);
	*result = json_pack("{s:b}", "email_verified", 1);
	return 0;
}

/* ---- auth.forgot ---- */

static int forgot(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"handle", NULL};
	struct store *db = rpc_store(ctx);
	char addr[MAIL_ADDR_MAX + 1], link[1024];
	struct buf text = BUF_INIT, html = BUF_INIT;
	int64_t account, recent = 0;
	const char *handle;
	int rc = 0;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_str(ctx, params, "handle", true, 1, 64, &handle))
		return RPC_ERR;
	if (!mail_enabled())
		return mail_fail_disabled(ctx);
	*result = json_object();
	account = auth_account_by_handle(db, handle);
	if (account <= 0 || auth_is_banned(db, account))
		return 0;
	mail_verified_address(db, account, addr, sizeof(addr));
	if (!addr[0])
		return 0;
	store_int_query(db, &recent, SQL_RESETS_LATELY, "ii", account,
			rpc_now(ctx) - 3600);
	if (recent >= MAIL_FORGOT_PER_HOUR) {
		log_info("mail", "auth.forgot for account %lld: over its limit",
			 (long long)account);
		return 0;
	}
	rc = auth_reset_link_new(db, account, MAIL_RESET_TTL,
				 mail_config.base_url, link, sizeof(link));
	if (rc)
		goto out;
	buf_addf(&text,
		 "Someone asked to reset the password of the Scholia account "
		 "@%s.\n\nTo choose a new password, open this link within an "
		 "hour (it works once):\n%s\n\nIf it was not you, ignore this "
		 "mail: your password stays as it is.\n",
		 handle, link);
	buf_adds(&html, "<p>Someone asked to reset the password of the Scholia "
			"account <b>@");
	html_escape(&html, handle, strlen(handle));
	buf_adds(&html, "</b>.</p>\n<p>");
	mail_html_link(&html, link, "Choose a new password");
	buf_adds(&html, " (within an hour; the "
			"link works once).</p>\n<p>If it was not you, ignore "
			"this mail: your password stays as it is.</p>");
	rc = mail_queue(
		db, account, "reset",
		&(struct mail_msg){.to = addr,
				   .subject = "Reset your Scholia password",
				   .text = buf_str(&text),
				   .html = buf_str(&html)},
		rpc_now(ctx));
out:
	memset(link, 0, sizeof(link));
	buf_free(&text);
	buf_free(&html);
	if (rc) {
		json_decref(*result);
		*result = NULL;
		return rpc_fail_store(ctx, rc);
	}
	return 0;
}

/* ---- circle.invite {email} ---- */

int mail_invite(struct rpc_ctx *ctx, int64_t circle, const char *email,
		const char *url)
{
	struct rpc_ctx *me;
	struct buf text = BUF_INIT, html = BUF_INIT, subject = BUF_INIT;
	json_t *c = NULL, *toc = NULL;
	const char *cname = "", *btitle = "", *inviter = "";
	char *inv = NULL;
	struct store_stmt *st;
	int rc;

	if (!mail_enabled())
		return mail_fail_disabled(ctx);
	if (!mail_addr_ok(email))
		return rpc_fail_field(ctx, "email", "not an email address");
	me = rpc_ctx_new_local(rpc_store(ctx), rpc_account(ctx),
			       rpc_is_admin(ctx));
	if (circles_get_json(me, circle, &c) == 0) {
		cname = json_string_value(json_object_get(c, "name"));
		if (json_is_object(json_object_get(c, "book")))
			btitle = json_string_value(json_object_get(
				json_object_get(c, "book"), "title"));
		else if (json_is_integer(json_object_get(c, "book")) &&
			 books_toc(
				 rpc_store(me),
				 json_integer_value(json_object_get(c, "book")),
				 &toc) == 0)
			btitle = json_string_value(json_object_get(
				json_object_get(toc, "book"), "title"));
	}
	rpc_ctx_free_local(me);
	st = store_query(rpc_store(ctx), SQL_HANDLE_NAME, "i",
			 rpc_account(ctx));
	if (st && store_row(st) > 0)
		inv = store_text_dup(st, 0);
	store_done(st);
	inviter = inv ? inv : "A member";
	cname = cname ? cname : "";
	btitle = btitle ? btitle : "";
	buf_addf(&subject, "%s invites you to read %s with %s", inviter,
		 *btitle ? btitle : "a book", *cname ? cname : "a circle");
	buf_addf(&text,
		 "%s invites you to the reading circle \"%s\" on Scholia, "
		 "reading %s together.\n\nTo join, open this link:\n%s\n",
		 inviter, cname, *btitle ? btitle : "a book", url);
	buf_adds(&html, "<p>");
	html_escape(&html, inviter, strlen(inviter));
	buf_adds(&html, " invites you to the reading circle <b>");
	html_escape(&html, cname, strlen(cname));
	buf_adds(&html, "</b> on Scholia, reading <i>");
	html_escape(&html, *btitle ? btitle : "a book",
		    strlen(*btitle ? btitle : "a book"));
	buf_adds(&html, "</i> together.</p>\n<p>");
	mail_html_link(&html, url, "Join the circle");
	buf_adds(&html, "</p>");
	rc = mail_queue(rpc_store(ctx), 0, "invite",
			&(struct mail_msg){.to = email,
					   .subject = buf_str(&subject),
					   .text = buf_str(&text),
					   .html = buf_str(&html)},
			rpc_now(ctx));
	json_decref(c);
	json_decref(toc);
	free(inv);
	buf_free(&text);
	buf_free(&html);
	buf_free(&subject);
	return rc ? rpc_fail_store(ctx, rc) : 0;
}

/* ---- circle.notify ---- */

/* circle.notify {circle, email?} -> {circle, email} */
static int circle_notify(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"circle", "email", NULL};
	struct store *db = rpc_store(ctx);
	struct vis_viewer v;
	int64_t circle, me = rpc_account(ctx);
	int idx = -1, rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_id(ctx, params, "circle", true, &circle) ||
	    rpc_param_enum(ctx, params, "email", false, pref_words, &idx))
		return RPC_ERR;
	if (circles_viewer(db, circle, me, false, &v) != 0 ||
	    v.role == VIS_ROLE_NONE)
		return rpc_fail(ctx, RPC_E_NOT_FOUND, "no such circle");
	if (idx >= 0) {
		rc = store_run(db, SQL_PREF_SET, "iit", me, circle,
			       pref_words[idx]);
		if (!rc && strcmp(pref_words[idx], "off") == 0)
			rc = store_run(db, SQL_WAITING_DROP, "ii", me, circle);
		if (rc)
			return rpc_fail_store(ctx, rc);
	}
	*result = json_pack("{s:I,s:s}", "circle", (json_int_t)circle, "email",
			    mail_pref(db, me, circle));
	return 0;
}

/* ---- unsubscribe (RFC 8058) ---- */

static const char *query_param(const char *q, const char *name, char *out,
			       size_t len)
{
	size_t n = strlen(name);

	for (const char *p = q; p && *p;) {
		if (strncmp(p, name, n) == 0 && p[n] == '=') {
			size_t k = 0;

			for (p += n + 1; *p && *p != '&' && k + 1 < len; p++)
				out[k++] = *p;
			out[k] = '\0';
			return out;
		}
		p = strchr(p, '&');
		if (p)
			p++;
	}
	return NULL;
}

/* POST /api/mail/unsubscribe?t=TOKEN: one click, no session needed. */
static int unsubscribe_post(struct rpc_ctx *ctx, const struct http_req *req,
			    struct http_resp *resp)
{
	struct store *db = rpc_store(ctx);
	int64_t account, circle;
	char t[160];
	int rc;

	if (!query_param(req->query, "t", t, sizeof(t)) ||
	    unsub_parse(db, t, &account, &circle)) {
		http_resp_text(resp, 404, "text/plain; charset=utf-8",
			       "unknown or altered link\n", 24);
		return 0;
	}
	if (circle > 0) {
		rc = store_run(db, SQL_PREF_SET, "iit", account, circle, "off");
		if (!rc)
			rc = store_run(db, SQL_WAITING_DROP, "ii", account,
				       circle);
	} else {
		rc = store_run(db, SQL_ADDR_DEL, "i", account);
	}
	if (rc) {
		http_resp_text(resp, 503, "text/plain; charset=utf-8",
			       "try again later\n", 16);
		return 0;
	}
	log_info("mail", "account %lld unsubscribed from circle %lld",
		 (long long)account, (long long)circle);
	http_resp_text(resp, 200, "text/plain; charset=utf-8",
		       "You will get no more mail from this circle.\n", 45);
	return 0;
}

/* GET of the same link (a person clicking it): a page with the button;
 * a GET never unsubscribes (mail scanners follow links). */
static int unsubscribe_get(struct rpc_ctx *ctx, const struct http_req *req,
			   struct http_resp *resp)
{
	struct buf b = BUF_INIT, body = BUF_INIT;
	char t[160];

	(void)ctx;
	if (!query_param(req->query, "t", t, sizeof(t))) {
		http_resp_text(resp, 404, "text/plain; charset=utf-8",
			       "unknown link\n", 13);
		return 0;
	}
	buf_adds(&body, "<p>Stop the email notifications of this circle?</p>"
			"<form method=\"post\" action=\"/api/mail/"
			"unsubscribe?t=");
	html_escape(&body, t, strlen(t));
	buf_adds(&body, "\"><input type=\"hidden\" name=\"List-Unsubscribe\" "
			"value=\"One-Click\"><button>Unsubscribe</button>"
			"</form>");
	mail_html_page(&b, "Unsubscribe", buf_str(&body));
	http_resp_text(resp, 200, "text/html; charset=utf-8", buf_str(&b),
		       b.len);
	buf_free(&b);
	buf_free(&body);
	return 0;
}

/* ---- export and delete ---- */

static int mail_export(struct rpc_ctx *ctx, int64_t account, json_t **out)
{
	struct store *db = rpc_store(ctx);
	struct store_stmt *st;
	json_t *o = json_object(), *prefs = json_array();

	email_decorate(db, account, o);
	st = store_query(db, SQL_PREFS_OF, "i", account);
	while (st && store_row(st) > 0)
		json_array_append_new(prefs,
				      json_pack("{s:I,s:s}", "circle",
						(json_int_t)store_int(st, 0),
						"email", store_text(st, 1)));
	json_object_set_new(o, "circle_notify", prefs);
	*out = o;
	return 0;
}

static int mail_forget(struct rpc_ctx *ctx, int64_t account)
{
	for (int i = 0; SQL_FORGET[i]; i++) {
		int rc = store_run(rpc_store(ctx), SQL_FORGET[i], "i", account);

		if (rc)
			return rpc_fail_store(ctx, rc);
	}
	return 0;
}

/* ---- start-up ---- */

static void (*prev_tick)(struct rpc_ctx *ctx);

/* MAIL HOOK (rpc tick): chained after the tick installed before ours. */
static void mail_tick(struct rpc_ctx *ctx)
{
	if (prev_tick)
		prev_tick(ctx);
	if (!mail_enabled())
		return;
	mail_notices_tick(ctx);
	mail_reminders_tick(ctx);
	mail_digest_tick(ctx);
	mail_outbox_tick(ctx);
}

/* Domain events of lower modules (events/events.h). */
static int on_notification(const struct events_event *ev, void *arg)
{
	const struct events_notification *n = &ev->u.notification;

	(void)arg;
	return mail_on_notification(ev->ctx, n->id, n->account, n->circle,
				    n->kind, n->data);
}

static int on_invite_mail(const struct events_event *ev, void *arg)
{
	(void)arg;
	return mail_invite(ev->ctx, ev->u.invite.circle, ev->u.invite.email,
			   ev->u.invite.url);
}

void mail_init(void)
{
	static const struct rpc_method methods[] = {
		{"auth.forgot", forgot, RPC_PUBLIC},
		{"auth.verify_email", verify_email, RPC_PUBLIC},
		{"circle.notify", circle_notify, RPC_AUTH},
		{NULL, NULL, 0}};

	rpc_register(methods);
	auth_set_email_hooks(email_set, email_decorate);
	auth_add_export_hook("email", mail_export);
	auth_add_delete_hook("mail", mail_forget);
	http_route_register("POST", "/api/mail/unsubscribe", unsubscribe_post);
	http_route_register("GET", "/api/mail/unsubscribe", unsubscribe_get);
	prev_tick = rpc_hooks.tick;
	rpc_hooks.tick = mail_tick;
	events_on(EVENTS_NOTIFICATION_ADDED, on_notification, NULL);
	events_on(EVENTS_INVITE_MAIL, on_invite_mail, NULL);
}
