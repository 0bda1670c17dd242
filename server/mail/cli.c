/*
 * cli.c - `scholia mail digests` and `scholia mail-in`: the commands run
 * in their own process (cron, an MTA's pipe), possibly while serve runs on
 * the same database, each in its own transaction, and deliver what they
 * queued themselves (serve would pick it up within a second otherwise).
 */
#include <stdio.h>

#include "mail/internal.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "util/err.h"

int mail_cli_digests(struct store *db, FILE *out)
{
	struct rpc_ctx *ctx;
	int n, sent, rc;

	rc = store_begin(db);
	if (rc)
		return rc;
	ctx = rpc_ctx_new_local(db, 0, false);
	n = mail_digests_run(ctx, rpc_now(ctx));
	rpc_ctx_free_local(ctx);
	if (n < 0) {
		store_rollback(db);
		return n;
	}
	rc = store_commit(db);
	if (rc) {
		store_rollback(db);
		return rc;
	}
	sent = mail_outbox_flush(db);
	fprintf(out, "%d digest%s queued, %d mail%s sent\n", n,
		n == 1 ? "" : "s", sent, sent == 1 ? "" : "s");
	return 0;
}
