/*
 * visibility.h - the one rule that decides what a viewer may see.
 *
 * Every path that shows circle content to someone - annotation.list and .get,
 * search, export, digest, event replay and live fan-out - asks vis_check().
 * It is pure C over two small structs, so the loop thread can apply it to a
 * live event for thousands of subscribers without touching the database: the
 * viewer's state is loaded once (circles module, on the store thread) and
 * kept in the subscription, refreshed when it changes.
 *
 * The rule (SPEC §4 and the circles/moderation issues):
 *   - not a member (and not site admin) of the item's circle: nothing;
 *   - only_account set: that account alone (notifications, private acks);
 *   - private: the author alone - not moderators, owners or admins;
 *   - spoiler guard: items on chapters past the viewer's progress are
 *     withheld unless the viewer wrote them or asked to see all;
 *   - post first: other members' threads in a chapter (and their replies)
 *     are withheld until the viewer has posted there or marked it read;
 *   - hidden or deleted: moderators, owners, admins and the author see the
 *     full item (marked hidden); everyone else sees the redacted form.
 * Moderators and owners are exempt from spoiler guard and post first.
 */
#ifndef SCH_VISIBILITY_H
#define SCH_VISIBILITY_H

#include <stdbool.h>
#include <stdint.h>

enum vis_role {
	VIS_ROLE_NONE = 0,
	VIS_ROLE_MEMBER = 1,
	VIS_ROLE_MODERATOR = 2,
	VIS_ROLE_OWNER = 3
};

#define VIS_MAX_POSTED 64 /* chapters remembered for post-first per viewer */

/* What the rule needs to know about a piece of content. */
struct vis_item {
	int64_t circle;	      /* circle it belongs to */
	int64_t author;	      /* account that wrote it; 0 for system items */
	int64_t chapter;      /* chapter it sits in; 0 if none */
	int chapter_order;    /* reading position of that chapter (1-based) */
	int64_t only_account; /* nonzero: nobody else may see it */
	bool private_;	      /* visibility "private" */
	bool hidden;	      /* hidden by a moderator or auto-hide */
	bool thread;	      /* a thread (annotation) rather than a reply;
				 post first withholds both (anything with a
				 chapter), see visibility.c */
};

/* What the rule needs to know about the viewer in that circle. */
struct vis_viewer {
	int64_t account;		/* 0: anonymous */
	int64_t circle;			/* circle this state is for */
	enum vis_role role;		/* membership in that circle */
	bool is_admin;			/* site admin */
	bool spoiler_guard;		/* the circle's option */
	bool post_first;		/* the circle's option */
	bool show_all;			/* the viewer asked to see everything */
	int progress_order;		/* reading position reached (0: none) */
	int nposted;			/* entries used in posted[] */
	int64_t posted[VIS_MAX_POSTED]; /* chapters where post-first is met */
};

enum vis_result {
	VIS_NONE = 0,	  /* may not know it exists */
	VIS_REDACTED = 1, /* sees the placeholder: hidden:true, body null */
	VIS_FULL = 2	  /* sees it all */
};

/* The rule. Both pointers borrowed. */
enum vis_result vis_check(const struct vis_viewer *v,
			  const struct vis_item *item);

/*
 * The access gate's rule: may this viewer see the circle at all (a member
 * of any role, or a site admin)? vis_check() starts from it; circles_gate()
 * (circles/circles.h) is the one place that loads a viewer and asks it.
 */
bool vis_sees_circle(const struct vis_viewer *v);

/* True if the viewer moderates (moderator, owner, or site admin member). */
bool vis_is_moderator(const struct vis_viewer *v);

/* Records that post-first is met for chapter in v (idempotent). */
void vis_mark_posted(struct vis_viewer *v, int64_t chapter);

#endif
