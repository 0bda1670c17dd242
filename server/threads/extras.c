/*
 * extras.c - two small read-only helpers the browser app needs:
 *
 * markdown.preview {body} -> {body_html}: the body rendered exactly as a
 * post with that body would be (same renderer, same length limit, same
 * empty-body rule), so the composer's preview shows what will be posted.
 *
 * th_withheld_json: what annotation.list adds as `withheld` - how many of
 * the chapter's threads the spoiler guard or post first holds back from the
 * viewer, and why, so the panel can say "3 threads, shown once you post".
 */
#include <stdlib.h>
#include <string.h>

#include "rpc/rpc.h"
#include "store/store.h"
#include "threads/internal.h"
#include "threads/threads.h"
#include "util/err.h"

static int markdown_preview(struct rpc_ctx *ctx, json_t *params,
			    json_t **result)
{
	static const char *const allowed[] = {"body", NULL};
	size_t max = rpc_config.max_body_cp ? rpc_config.max_body_cp : 10000;
	const char *body, *s;
	char *html;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_text(ctx, params, "body", true, max, &body))
		return RPC_ERR;
	for (s = body; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			break;
	if (!*s)
		return rpc_fail_field(ctx, "body", "body is empty");
	html = threads_render_markdown(body, strlen(body));
	if (!html)
		return rpc_fail_store(ctx, SCH_ENOMEM);
	*result = json_pack("{s:s}", "body_html", html);
	free(html);
	return 0;
}

static const char SQL_OTHERS_THREADS[] =
	"SELECT count(*) FROM annotations WHERE circle = ? AND chapter = ?"
	" AND gone = 0 AND deleted = 0 AND visibility = 'circle'"
	" AND author != ?";

json_t *th_withheld_json(struct store *db, const struct vis_viewer *v,
			 int64_t circle, int64_t chapter)
{
	struct vis_item item;
	const char *why;
	int64_t n = 0;

	/* a thread by someone else in this chapter: would the viewer see it? */
	memset(&item, 0, sizeof(item));
	item.circle = circle;
	item.chapter = chapter;
	item.chapter_order = th_chapter_order(db, chapter);
	item.author = -1;
	if (vis_check(v, &item) != VIS_NONE)
		return json_null();
	why = v->spoiler_guard && !v->show_all &&
			      item.chapter_order > (v->progress_order < 1
							    ? 1
							    : v->progress_order)
		      ? "spoiler_guard"
		      : "post_first";
	if (store_int_query(db, &n, SQL_OTHERS_THREADS, "iii", circle, chapter,
			    v->account) < 0)
		return json_null();
	return json_pack("{s:I,s:s}", "count", (json_int_t)n, "reason", why);
}

void threads_extras_init(void)
{
	static const struct rpc_method methods[] = {
		{"markdown.preview", markdown_preview, RPC_AUTH},
		{NULL, NULL, 0}};

	rpc_register(methods);
}
