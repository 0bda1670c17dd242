/*
 * digest.c - the daily digest (built around reading progress and plan).
 */
#include "mail/internal.h"
#include "rpc/rpc.h"

int mail_digests_run(struct rpc_ctx *ctx, int64_t now)
{
	(void)ctx;
	(void)now;
	return 0;
}

void mail_digest_tick(struct rpc_ctx *ctx)
{
	(void)ctx;
}
