/*
 * visibility.c - the visibility rule (see visibility.h for the rule itself).
 *
 * Two choices made here, documented in docs/circles.md:
 *   - the first chapter of the book is always open under the spoiler guard:
 *     a progress_order below 1 counts as 1;
 *   - post first withholds everything that sits in a chapter (threads and
 *     the replies, reactions and moderation events under them), not only
 *     the thread objects: a reply would otherwise reveal a withheld thread.
 *     Items with no chapter (member, plan, circle events) are never
 *     withheld by either option.
 */
#include "visibility/visibility.h"

#include <assert.h>

bool vis_is_moderator(const struct vis_viewer *v)
{
	if (v->role >= VIS_ROLE_MODERATOR)
		return true;
	/* SPEC §4: site admins act as moderators in circles they can see */
	return v->is_admin && v->account != 0;
}

bool vis_sees_circle(const struct vis_viewer *v)
{
	return v->role != VIS_ROLE_NONE || v->is_admin;
}

static bool posted_in(const struct vis_viewer *v, int64_t chapter)
{
	for (int i = 0; i < v->nposted; i++)
		if (v->posted[i] == chapter)
			return true;
	return false;
}

void vis_mark_posted(struct vis_viewer *v, int64_t chapter)
{
	assert(v->nposted >= 0 && v->nposted <= VIS_MAX_POSTED);
	if (chapter == 0 || posted_in(v, chapter))
		return;
	if (v->nposted < VIS_MAX_POSTED)
		v->posted[v->nposted++] = chapter;
}

enum vis_result vis_check(const struct vis_viewer *v,
			  const struct vis_item *item)
{
	bool own = v->account != 0 && item->author == v->account;
	bool mod;

	if (v->account == 0)
		return VIS_NONE;
	if (item->only_account)
		return item->only_account == v->account ? VIS_FULL : VIS_NONE;
	if (v->circle != item->circle)
		return VIS_NONE;
	if (!vis_sees_circle(v))
		return VIS_NONE;
	if (item->private_)
		return own ? VIS_FULL : VIS_NONE;
	mod = vis_is_moderator(v);
	if (!own && !mod && item->chapter != 0) {
		int reached = v->progress_order < 1 ? 1 : v->progress_order;

		if (v->spoiler_guard && !v->show_all &&
		    item->chapter_order > reached)
			return VIS_NONE;
		if (v->post_first && !posted_in(v, item->chapter))
			return VIS_NONE;
	}
	if (item->hidden && !own && !mod)
		return VIS_REDACTED;
	return VIS_FULL;
}
