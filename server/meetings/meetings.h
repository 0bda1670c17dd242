/*
 * meetings.h - the organiser's tools (issue 20): meetings with their agenda,
 * live mode (current item, raised hands, attendance) and outcomes; the
 * circle dashboard; plan kits. Owns meetings, meeting_items, meeting_hands,
 * meeting_attendance and meeting_outcomes (migrations/0016_meetings.sql).
 *
 * Other modules see a meeting only through its record - date, attendees,
 * agenda, outcomes - which the digest and the export print.
 */
#ifndef SCH_MEETINGS_H
#define SCH_MEETINGS_H

#include <jansson.h>
#include <stdint.h>

#include "visibility/visibility.h"

struct rpc_ctx;
struct buf;

/* Registers meeting.*, circle.dashboard, plan.export, plan.import and the
 * threads_reply_outcome hook. */
void meetings_init(void);

/*
 * The records of the circle's meetings (chapter 0: all, else those about
 * that chapter), oldest first, as v may see them: agenda items v may not see
 * are left out, hidden or deleted outcomes are placeholders.
 * [{id, title, at, chapter, status, attendees:[{id, handle, display_name}],
 *   agenda:[{annotation, quote|null, outcomes:[{body|null, author, at,
 *   reply}]}]}]. New reference (an empty array when there are none).
 */
json_t *meetings_records(struct rpc_ctx *ctx, int64_t circle, int64_t chapter,
			 const struct vis_viewer *v);
/* Appends records (borrowed, as meetings_records gives them) as Markdown:
 * a "## Meetings" section, nothing when records is empty. */
void meetings_records_md(struct buf *out, json_t *records);

#endif
