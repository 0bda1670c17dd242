/*
 * mail.h - email in and out: a durable outbox delivered by a sender on the
 * worker pool (libcurl's SMTP), verified addresses, password reset and
 * invitations by mail, notification mails (instant with a batching window,
 * or a daily digest built around reading progress), one-click unsubscribe,
 * and reply by email (`scholia mail-in`, GMime). Owns the mail_* tables
 * (migrations/0014_mail.sql). See docs/email.md.
 */
#ifndef SCH_MAIL_H
#define SCH_MAIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct buf;
struct rpc_ctx;
struct store;

/* Configuration, set once by main before mail_init(); strings borrowed. */
struct mail_config {
	const char *smtp_url;	  /* NULL or "": mail disabled */
	const char *from;	  /* "Name <address>" */
	const char *reply_domain; /* reply-by-email domain, or NULL */
	const char *base_url;	  /* absolute base of links */
	int batch_window_s;	  /* --mail-batch-window (600) */
	int digest_hour;	  /* --digest-hour (7), local time */
	int give_up_s;		  /* --mail-give-up: stop retrying after */
	int timeout_s;		  /* SMTP connect/transfer timeout */
};
extern struct mail_config mail_config;

/* Registers auth.forgot, auth.verify_email, circle.notify, the email hooks
 * of account.update/get, export and delete hooks, the unsubscribe endpoint
 * and the sender's tick. */
void mail_init(void);
/* Checks the configuration: 0, or -1 with the reason in why. */
int mail_check_config(char *why, size_t whylen);
/* True when --smtp-url is set. */
bool mail_enabled(void);

/*
 * A notification was stored for account (notify publishes
 * EVENTS_NOTIFICATION_ADDED). Queues an instant mail, a batched one or a digest
 * item per the member's circle.notify choice. data borrowed. 0 or negative
 * SCH_E*.
 */
int mail_on_notification(struct rpc_ctx *ctx, int64_t notification,
			 int64_t account, int64_t circle, const char *kind,
			 json_t *data);
/*
 * MAIL HOOK (circles): circle.invite {email}: mails the invitation link to
 * email. 0, or RPC_ERR with the error in ctx (-32003 mail_disabled,
 * -32602 a bad address).
 */
int mail_invite(struct rpc_ctx *ctx, int64_t circle, const char *email,
		const char *url);

/* /metrics lines (queued, sent, deferred, failed). */
void mail_metrics_write(struct buf *b);

/* `scholia mail digests`: queues every due digest and delivers. Writes a
 * summary to out. 0 or negative SCH_E*. */
int mail_cli_digests(struct store *db, FILE *out);
/* `scholia mail-in`: reads one message from in. Returns the exit code
 * (0 posted, 65 refused, 75 temporary). */
int mail_cli_in(struct store *db, FILE *in);

#endif
