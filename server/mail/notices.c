/*
 * notices.c - notification mails.
 */
#include "mail/internal.h"
#include "rpc/rpc.h"

int mail_on_notification(struct rpc_ctx *ctx, int64_t notification,
			 int64_t account, int64_t circle, const char *kind,
			 json_t *data)
{
	(void)ctx;
	(void)notification;
	(void)account;
	(void)circle;
	(void)kind;
	(void)data;
	return 0;
}

void mail_notices_tick(struct rpc_ctx *ctx)
{
	(void)ctx;
}
