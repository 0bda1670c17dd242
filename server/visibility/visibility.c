/*
 * visibility.c - the visibility rule (see visibility.h for the rule itself).
 */
#include "visibility/visibility.h"

bool vis_is_moderator(const struct vis_viewer *v)
{
	if (v->role >= VIS_ROLE_MODERATOR)
		return true;
	/* SPEC §4: site admins act as moderators in circles they can see */
	return v->is_admin && v->account != 0;
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
	if (v->role == VIS_ROLE_NONE && !v->is_admin)
		return VIS_NONE;
	if (item->private_)
		return own ? VIS_FULL : VIS_NONE;
	mod = vis_is_moderator(v);
	if (!own && !mod && item->chapter != 0) {
		if (v->spoiler_guard && !v->show_all &&
		    item->chapter_order > v->progress_order)
			return VIS_NONE;
		if (v->post_first && item->thread &&
		    !posted_in(v, item->chapter))
			return VIS_NONE;
	}
	if (item->hidden && !own && !mod)
		return VIS_REDACTED;
	return VIS_FULL;
}
