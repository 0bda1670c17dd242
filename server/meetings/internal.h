/*
 * internal.h - what the files of the meetings module share: the access
 * check, dates and the method tables. Other modules use meetings.h.
 */
#ifndef SCH_MEETINGS_INTERNAL_H
#define SCH_MEETINGS_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "circles/circles.h"
#include "rpc/rpc.h"
#include "visibility/visibility.h"

/* Access checks are circles.h's circle_access_id() (CIRCLE_SEE, ...). */

/* Days since 1970-01-01 of a valid "YYYY-MM-DD"; -1 when invalid. */
int64_t mt_days(const char *date);

extern const struct rpc_method mt_meeting_methods[];
extern const struct rpc_method mt_dashboard_methods[];
extern const struct rpc_method mt_kit_methods[];

/* threads_reply_outcome (meetings.c). */
int64_t mt_reply_outcome(struct store *db, int64_t reply, int64_t annotation);

#endif
