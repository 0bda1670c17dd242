/*
 * outbox.c - the durable outbox and its sender.
 *
 * A mail is a row of mail_outbox written in the same transaction as what
 * causes it, with its whole message already composed (so its Message-ID and
 * bytes are the same on every attempt). Once a second the store thread's
 * tick claims up to MAIL_BATCH due rows (claim_until: a lease, so a crashed
 * sender's rows come back) and defers their delivery to the worker pool; the
 * pool thread talks SMTP (smtp.c) and the continuation, back on the store
 * thread, records each result. The event loop never waits on SMTP, and at
 * most one pool thread is ever busy with mail so that password hashing is
 * never starved by a slow mail server.
 *
 * Delivery is at least once: a crash after the SMTP server accepted a mail
 * and before the result is committed sends it again, with the same
 * Message-ID. A temporary failure (4xx, connection refused) is retried after
 * 5 s, then 10, 20, ... up to an hour between tries, until --mail-give-up
 * seconds after the mail was queued; a permanent one (5xx) is logged and
 * given up at once. At start-up every pending mail is tried again at once.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mail/internal.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"

#define MAIL_BATCH 20		/* mails per pool job */
#define MAIL_LEASE_S 300	/* a claim lasts this long */
#define MAIL_FIRST_RETRY_S 5	/* first retry after a temporary failure */
#define MAIL_MAX_RETRY_S 3600	/* longest wait between tries */
#define MAIL_KEEP_S (7 * 86400) /* sent and failed mails kept this long */

static const char SQL_QUEUE[] =
	"INSERT INTO mail_outbox(message_id, account, rcpt, kind, message,"
	" created_at, next_at) VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char SQL_DUE[] =
	"SELECT id, rcpt, message FROM mail_outbox WHERE state = 'pending'"
	" AND next_at <= ? AND claim_until <= ? ORDER BY id LIMIT ?";
static const char SQL_CLAIM[] =
	"UPDATE mail_outbox SET claim_until = ? WHERE id = ?";
static const char SQL_SENT[] =
	"UPDATE mail_outbox SET state = 'sent', attempts = attempts + 1,"
	" done_at = ?, claim_until = 0, last_error = NULL WHERE id = ?";
static const char SQL_FAILED[] =
	"UPDATE mail_outbox SET state = 'failed', attempts = attempts + 1,"
	" done_at = ?, claim_until = 0, last_error = ? WHERE id = ?";
static const char SQL_DEFER[] =
	"UPDATE mail_outbox SET attempts = attempts + 1, next_at = ?,"
	" claim_until = 0, last_error = ? WHERE id = ?";
static const char SQL_ROW[] =
	"SELECT attempts, created_at, rcpt, kind FROM mail_outbox WHERE id = ?";
static const char SQL_RESTART[] =
	"UPDATE mail_outbox SET claim_until = 0, next_at = min(next_at, ?)"
	" WHERE state = 'pending'";
static const char SQL_PURGE[] =
	"DELETE FROM mail_outbox WHERE state <> 'pending' AND done_at < ?";
static const char SQL_PENDING[] =
	"SELECT count(*) FROM mail_outbox WHERE state = 'pending'";

static atomic_ullong n_queued, n_sent, n_deferred, n_failed;
static atomic_llong n_pending = -1;

/* A batch on its way through the pool. */
struct mail_job {
	struct mail_item *items;
	size_t n;
};

static bool job_in_flight; /* store thread only */
static bool restarted;	   /* store thread only: start-up done */
static int64_t last_purge; /* store thread only: last purge */

int mail_queue(struct store *db, int64_t account, const char *kind,
	       const struct mail_msg *m, int64_t now)
{
	struct buf msg = BUF_INIT;
	char id[160];
	int rc;

	if (!mail_enabled())
		return 0;
	if (!mail_addr_ok(m->to))
		return SCH_EINVAL;
	mail_new_message_id(id, sizeof(id));
	mail_compose(m, id, now, &msg);
	rc = store_run(db, SQL_QUEUE, "tItttii", id, account, m->to, kind,
		       buf_str(&msg), now, now);
	buf_free(&msg);
	if (!rc)
		atomic_fetch_add(&n_queued, 1);
	return rc;
}

static void job_free(void *arg)
{
	struct mail_job *j = arg;

	for (size_t i = 0; i < j->n; i++) {
		free(j->items[i].rcpt);
		free(j->items[i].message);
	}
	free(j->items);
	free(j);
	job_in_flight = false;
}

static void job_work(void *arg)
{
	struct mail_job *j = arg;

	mail_smtp_send(j->items, j->n);
}

/* Seconds to wait after the attempts-th failure. */
static int64_t backoff(int64_t attempts)
{
	int64_t s = MAIL_FIRST_RETRY_S;

	while (attempts-- > 1 && s < MAIL_MAX_RETRY_S)
		s *= 2;
	return s < MAIL_MAX_RETRY_S ? s : MAIL_MAX_RETRY_S;
}

/* Records the results of one batch. */
static int record(struct store *db, struct mail_job *j, int64_t now)
{
	int rc = 0;

	for (size_t i = 0; i < j->n && !rc; i++) {
		struct mail_item *it = &j->items[i];
		struct store_stmt *st;
		int64_t attempts = 0, created = now;

		if (it->result == MAIL_SENT) {
			rc = store_run(db, SQL_SENT, "ii", now, it->id);
			atomic_fetch_add(&n_sent, 1);
			log_info("mail", "mail %lld sent to %s",
				 (long long)it->id, it->rcpt);
			continue;
		}
		st = store_query(db, SQL_ROW, "i", it->id);
		if (st && store_row(st) > 0) {
			attempts = store_int(st, 0);
			created = store_int(st, 1);
		}
		store_done(st);
		if (it->result == MAIL_PERMFAIL ||
		    now - created >= mail_config.give_up_s) {
			rc = store_run(db, SQL_FAILED, "iti", now, it->error,
				       it->id);
			atomic_fetch_add(&n_failed, 1);
			log_warn("mail", "mail %lld to %s failed for good: %s",
				 (long long)it->id, it->rcpt, it->error);
		} else {
			rc = store_run(db, SQL_DEFER, "iti",
				       now + backoff(attempts + 1), it->error,
				       it->id);
			atomic_fetch_add(&n_deferred, 1);
			log_info("mail", "mail %lld to %s deferred: %s",
				 (long long)it->id, it->rcpt, it->error);
		}
	}
	return rc;
}

static int job_cont(struct rpc_ctx *ctx, void *arg, json_t **result)
{
	int rc = record(rpc_store(ctx), arg, rpc_now(ctx));

	if (rc)
		return rpc_fail_store(ctx, rc);
	*result = json_object();
	return 0;
}

/* Claims up to MAIL_BATCH due mails into a new job (NULL when none). */
static struct mail_job *claim(struct store *db, int64_t now)
{
	struct mail_job *j = NULL;
	struct store_stmt *st;
	int rc;

	st = store_query(db, SQL_DUE, "iii", now, now, (int64_t)MAIL_BATCH);
	if (!st)
		return NULL;
	while ((rc = store_row(st)) > 0) {
		struct mail_item *it;

		if (!j) {
			j = xcalloc(1, sizeof(*j));
			j->items = xcalloc(MAIL_BATCH, sizeof(*j->items));
		}
		it = &j->items[j->n++];
		it->id = store_int(st, 0);
		it->rcpt = store_text_dup(st, 1);
		it->message = store_text_dup(st, 2);
	}
	for (size_t i = 0; j && i < j->n; i++)
		store_run(db, SQL_CLAIM, "ii", now + MAIL_LEASE_S,
			  j->items[i].id);
	return j;
}

static void refresh_pending(struct store *db)
{
	int64_t n = 0;

	if (store_int_query(db, &n, SQL_PENDING, "") == 1)
		atomic_store(&n_pending, n);
}

void mail_outbox_tick(struct rpc_ctx *ctx)
{
	struct store *db = rpc_store(ctx);
	int64_t now = rpc_now(ctx);
	struct mail_job *j;

	if (!mail_enabled())
		return;
	if (!restarted) {
		/* whatever a previous process had claimed is ours now */
		restarted = true;
		store_run(db, SQL_RESTART, "i", now);
	}
	refresh_pending(db);
	if (now - last_purge >= 3600) {
		/* a mail holds what a post said: keep it no longer than needed
		 */
		last_purge = now;
		store_run(db, SQL_PURGE, "i", now - MAIL_KEEP_S);
	}
	if (job_in_flight)
		return;
	j = claim(db, now);
	if (!j)
		return;
	job_in_flight = true;
	/* the pool gets the batch only after this tick's claims commit */
	rpc_defer(ctx, job_work, job_cont, j, job_free);
}

int mail_outbox_flush(struct store *db)
{
	int sent = 0;

	if (!mail_enabled())
		return 0;
	for (;;) {
		int64_t now = (int64_t)time(NULL);
		struct mail_job *j;
		size_t n;

		if (store_begin(db))
			return sent;
		j = claim(db, now);
		if (!j || store_commit(db)) {
			store_rollback(db);
			if (j)
				job_free(j);
			return sent;
		}
		mail_smtp_send(j->items, j->n);
		for (size_t i = 0; i < j->n; i++)
			sent += j->items[i].result == MAIL_SENT;
		n = j->n;
		if (store_begin(db) == 0) {
			if (record(db, j, (int64_t)time(NULL)) ||
			    store_commit(db))
				store_rollback(db);
		}
		job_free(j);
		if (n < MAIL_BATCH)
			return sent;
	}
}

void mail_metrics_write(struct buf *b)
{
	buf_addf(b,
		 "# HELP scholia_mail_queued_total Mails written to the "
		 "outbox.\n"
		 "# TYPE scholia_mail_queued_total counter\n"
		 "scholia_mail_queued_total %llu\n"
		 "# HELP scholia_mail_sent_total Mails the SMTP server "
		 "accepted.\n"
		 "# TYPE scholia_mail_sent_total counter\n"
		 "scholia_mail_sent_total %llu\n"
		 "# HELP scholia_mail_deferred_total Temporary delivery "
		 "failures (retried).\n"
		 "# TYPE scholia_mail_deferred_total counter\n"
		 "scholia_mail_deferred_total %llu\n"
		 "# HELP scholia_mail_failed_total Mails given up.\n"
		 "# TYPE scholia_mail_failed_total counter\n"
		 "scholia_mail_failed_total %llu\n",
		 (unsigned long long)atomic_load(&n_queued),
		 (unsigned long long)atomic_load(&n_sent),
		 (unsigned long long)atomic_load(&n_deferred),
		 (unsigned long long)atomic_load(&n_failed));
	if (atomic_load(&n_pending) >= 0)
		buf_addf(b,
			 "# HELP scholia_mail_pending Mails in the outbox not "
			 "yet sent.\n"
			 "# TYPE scholia_mail_pending gauge\n"
			 "scholia_mail_pending %lld\n",
			 (long long)atomic_load(&n_pending));
}
