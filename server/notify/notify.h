/*
 * notify.h - the stored inbox per account. Owns notifications, follows
 * (migrations/0007_notify.sql).
 */
#ifndef SCH_NOTIFY_H
#define SCH_NOTIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rpc_ctx;
struct store;

/* Registers notification.list, notification.read. */
void notify_init(void);
/* Stores a notification for account and pushes notification.created to its
 * connections after commit. kind: "reply", "mention", "moderation",
 * "new_thread", "flag_resolved". data is borrowed. 0 or negative SCH_E*. */
int notify_add(struct rpc_ctx *ctx, int64_t account, int64_t circle,
	       const char *kind, json_t *data);

/* chapter.follow: turns following chapter of circle on or off for account
 * (idempotent). 0 or negative SCH_E*. */
int notify_follow_set(struct store *db, int64_t account, int64_t circle,
		      int64_t chapter, bool on, int64_t now);
/* True if account follows chapter in circle. */
bool notify_follows(struct store *db, int64_t account, int64_t circle,
		    int64_t chapter);
/* The accounts following chapter in circle: *out is a malloc'd array of *n
 * ids the caller frees (NULL when none). 0 or negative SCH_E*. */
int notify_followers(struct store *db, int64_t circle, int64_t chapter,
		     int64_t **out, size_t *n);

#endif
