/*
 * internal.h - what the files of the meetings module share: the access
 * check, dates and the method tables. Other modules use meetings.h.
 */
#ifndef SCH_MEETINGS_INTERNAL_H
#define SCH_MEETINGS_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "rpc/rpc.h"
#include "visibility/visibility.h"

/* What a method needs from the caller in the circle (SPEC §4). */
enum mt_need {
	MT_SEE,	      /* member of any role, or a site admin */
	MT_MEMBER,    /* member of any role */
	MT_MODERATOR, /* moderator or owner (a site admin only if one) */
	MT_OWNER      /* owner */
};

/* Loads the caller's viewer in circle and checks need: -32004 for a circle
 * the caller may not see, -32003 when the role is lacking. 0 or RPC_ERR. */
int mt_access(struct rpc_ctx *ctx, int64_t circle, enum mt_need need,
	      struct vis_viewer *v);

/* "YYYY-MM-DD" (UTC) of unix time t into out (11 bytes). */
void mt_date(int64_t t, char *out);
/* Days since 1970-01-01 of a valid "YYYY-MM-DD"; -1 when invalid. */
int64_t mt_days(const char *date);
/* RFC 3339 UTC string of unix time t; new reference. */
json_t *mt_time_json(int64_t t);

/* Calls another module's method for data it owns (book.toc, plan.get,
 * plan.set) in this call; NULL when it failed. Takes params' reference. */
json_t *mt_call(struct rpc_ctx *ctx, const char *method, json_t *params);

extern const struct rpc_method mt_meeting_methods[];
extern const struct rpc_method mt_dashboard_methods[];
extern const struct rpc_method mt_kit_methods[];

/* threads_reply_outcome (meetings.c). */
int64_t mt_reply_outcome(struct store *db, int64_t reply, int64_t annotation);

#endif
