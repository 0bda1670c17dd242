/*
 * notify.h - the stored inbox per account. Owns notifications, follows
 * (migrations/0007_notify.sql).
 */
#ifndef SCH_NOTIFY_H
#define SCH_NOTIFY_H

#include <jansson.h>
#include <stdint.h>

struct rpc_ctx;

/* Registers notification.list, notification.read. */
void notify_init(void);
/* Stores a notification for account and pushes notification.created to its
 * connections after commit. kind: "reply", "mention", "moderation",
 * "new_thread", "flag_resolved". data is borrowed. 0 or negative SCH_E*. */
int notify_add(struct rpc_ctx *ctx, int64_t account, int64_t circle,
	       const char *kind, json_t *data);

#endif
