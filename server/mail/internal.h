/*
 * internal.h - what the files of server/mail/ share: composing messages
 * (compose.c), the outbox and its sender (outbox.c, smtp.c), the methods
 * (methods.c), notification mails and digests (notices.c, digest.c) and
 * mail-in (mailin.c). Not for other modules: they use mail.h.
 */
#ifndef SCH_MAIL_INTERNAL_H
#define SCH_MAIL_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mail/mail.h"
#include "util/buf.h"

struct rpc_ctx;
struct store;

#define MAIL_ADDR_MAX 254 /* RFC 5321 path limit */

/* ---- compose.c ---- */

/* A mail before it is serialised. Strings borrowed; start from
 * MAIL_MSG_INIT. */
struct mail_msg {
	const char *to;		 /* address */
	const char *subject;	 /* UTF-8 */
	const char *text;	 /* plain-text part, UTF-8, LF line ends */
	const char *html;	 /* HTML part (a body fragment), or NULL */
	const char *unsubscribe; /* one-click URL, or NULL */
	const char *reply_to;	 /* address, or NULL */
	const char *in_reply_to; /* message id without <>, or NULL */
};
#define MAIL_MSG_INIT                                                          \
	{                                                                      \
		NULL, NULL, NULL, NULL, NULL, NULL, NULL                       \
	}

/* True when addr is a plausible single address (local@domain, no spaces,
 * no angle brackets or control characters, at most 254 bytes). */
bool mail_addr_ok(const char *addr);
/* The address part of "Name <addr>" (or addr itself) into out. */
void mail_addr_of(const char *from, char *out, size_t outlen);
/* Serialises m as an RFC 5322 message with the given Message-ID (without
 * <>) into out (CRLF line ends, 7-bit: base64 parts, RFC 2047 subject). */
void mail_compose(const struct mail_msg *m, const char *message_id,
		  int64_t date, struct buf *out);
/* A new Message-ID (random@domain of the From address) into id (>= 128). */
void mail_new_message_id(char *id, size_t len);
/* Appends <a href="href">label</a> to html, both escaped. */
void mail_html_link(struct buf *html, const char *href, const char *label);
/* Appends a small HTML document around a body fragment. */
void mail_html_page(struct buf *out, const char *title, const char *body);

/* ---- outbox.c ---- */

/* Composes m and writes it to the outbox in the caller's transaction.
 * account may be 0. 0 or negative SCH_E*. */
int mail_queue(struct store *db, int64_t account, const char *kind,
	       const struct mail_msg *m, int64_t now);
/* The sender's tick on the store thread (serve). */
void mail_outbox_tick(struct rpc_ctx *ctx);
/* Command line: delivers every due mail synchronously. Returns how many
 * were sent. */
int mail_outbox_flush(struct store *db);

/* ---- smtp.c: runs on a pool thread, no database ---- */

enum mail_result { MAIL_SENT = 0, MAIL_TEMPFAIL = 1, MAIL_PERMFAIL = 2 };

/* One mail to send. */
struct mail_item {
	int64_t id;
	char *rcpt;    /* owned */
	char *message; /* owned */
	enum mail_result result;
	char error[200];
};
/* Sends each item in turn over one connection where possible, setting
 * result and error. */
void mail_smtp_send(struct mail_item *items, size_t n);
/* Checks the URL: 0, or -1 with a reason (credentials need TLS support). */
int mail_smtp_check(const char *url, char *why, size_t whylen);

/* ---- methods.c ---- */

/* The account's verified address into out ("" when none). */
void mail_verified_address(struct store *db, int64_t account, char *out,
			   size_t len);
/* The member's choice for circle: "off", "instant" or "daily". */
const char *mail_pref(struct store *db, int64_t account, int64_t circle);
/* The one-click unsubscribe URL for account and circle (circle 0: all). */
void mail_unsubscribe_url(struct store *db, int64_t account, int64_t circle,
			  char *out, size_t len);
/* -32003 with data.reason "mail_disabled"; returns RPC_ERR. */
int mail_fail_disabled(struct rpc_ctx *ctx);
/* Strips a trailing slash of the base URL: its length. */
size_t mail_base_len(void);

/* ---- notices.c ---- */

/* Sends the instant batches that are due (tick). */
void mail_notices_tick(struct rpc_ctx *ctx);
/* Plan reminders (a day before a due date) for instant members (tick). */
void mail_reminders_tick(struct rpc_ctx *ctx);
/* Reply address for account and thread, "" when reply-by-email is off. */
void mail_reply_address(struct store *db, int64_t account, int64_t thread,
			char *out, size_t len);
/* Checks a reply address's local part: 0 with account and thread, or -1. */
int mail_reply_parse(struct store *db, const char *local, int64_t *account,
		     int64_t *thread);
/* Renders one waiting notification for account into text and html (both
 * appended). Returns 1 when something was rendered, 0 when the item must
 * not be shown any more (hidden, deleted, withheld), negative on error.
 * thread_out gets the thread it is about (0 if none). */
int mail_render_item(struct rpc_ctx *rctx, int64_t circle, const char *kind,
		     json_t *data, struct buf *text, struct buf *html,
		     int64_t *thread_out);

/* ---- mailin.c ---- */

/* The text of a reply without quoted lines ("> ...") and without what
 * follows an "On ... wrote:" line, a "-- " signature delimiter or a
 * forwarded-message marker, trimmed. Returns a malloc'd string the caller
 * frees. */
char *mail_strip_quotes(const char *text);

/* ---- digest.c ---- */

/* Queues every due digest; returns how many were queued, negative on
 * error. */
int mail_digests_run(struct rpc_ctx *ctx, int64_t now);
/* serve: once a day at --digest-hour. */
void mail_digest_tick(struct rpc_ctx *ctx);

#endif
