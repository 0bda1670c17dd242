/*
 * threads.h - annotations, replies, versions, reactions, Markdown bodies,
 * chapter follows. Owns annotations, replies, post_versions, reactions
 * (migrations/0005_threads.sql).
 */
#ifndef SCH_THREADS_H
#define SCH_THREADS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "visibility/visibility.h"

struct store;
struct rpc_ctx;

/* Registers annotation.*, reply.*, reaction.toggle, chapter.follow,
 * anchor.review, anchor.resolve. */
void threads_init(void);

/* What moderation and notify need to know about a target
 * ({"annotation":ID} or {"reply":ID}). */
struct threads_target {
	int kind; /* 0 annotation, 1 reply */
	int64_t id;
	int64_t circle;
	int64_t chapter;
	int64_t annotation; /* the thread it belongs to */
	int64_t author;
	bool private_;
	bool hidden;
	bool deleted;
	bool locked; /* the thread is locked */
};
/* Parses {"annotation":ID} / {"reply":ID}: 0, SCH_EINVAL (bad shape),
 * SCH_ENOTFOUND. */
int threads_target_parse(struct store *db, json_t *target,
			 struct threads_target *out);

/* Moderation's levers; each updates the row, marks stored events and
 * publishes the event (annotation.hidden, thread.locked, ...). */
int threads_set_hidden(struct rpc_ctx *ctx, const struct threads_target *t,
		       bool hidden, const char *reason);
int threads_set_locked(struct rpc_ctx *ctx, int64_t annotation, bool locked);
int threads_set_pinned(struct rpc_ctx *ctx, int64_t annotation, bool pinned);
/* The object (annotation or reply) as the viewer may see it; new ref or NULL */
json_t *threads_target_json(struct rpc_ctx *ctx,
			    const struct threads_target *t);

/* Loads the facts of an annotation (kind 0) or reply (kind 1) by id:
 * 0 or SCH_ENOTFOUND. */
int threads_target_get(struct store *db, int kind, int64_t id,
		       struct threads_target *out);
/* The visibility facts of a target, for vis_check(). */
void threads_target_vis(struct store *db, const struct threads_target *t,
			struct vis_item *out);

/*
 * Visits, in reading order (chapter order, then position, then id), every
 * annotation of circle (chapter 0: all chapters) that v may see, as the SPEC
 * annotation object as v may see it (redacted when hidden for v), with
 * "replies" when with_replies. fn borrows the object; a nonzero return
 * stops the walk and is returned. Export, digest and search use this.
 */
int threads_each_visible(struct rpc_ctx *ctx, int64_t circle, int64_t chapter,
			 const struct vis_viewer *v, bool with_replies,
			 int (*fn)(json_t *annotation, void *arg), void *arg);

/*
 * circle.clone with_annotations: copies account's own live, circle-visible,
 * not hidden annotations (not their replies) from circle `from` into circle
 * `to`, with their anchors, publishing annotation.created in `to`. *copied
 * gets the count. 0 or a negative SCH_E* code.
 */
int threads_clone(struct rpc_ctx *ctx, int64_t from, int64_t to,
		  int64_t account, int *copied);

/*
 * Set by the meetings module: the meeting whose outcome the reply is (reply
 * id, and the thread it is in), or 0. Reply objects carry a nonzero answer
 * as "meeting_outcome". NULL (the default): no reply carries it.
 */
extern int64_t (*threads_reply_outcome)(struct store *db, int64_t reply,
					int64_t annotation);

/* Markdown body -> safe HTML (no raw HTML, only http/https/mailto links).
 * Returns a malloc'd NUL-terminated string the caller frees. */
char *threads_render_markdown(const char *src, size_t len);

/*
 * annotation.get {annotation} and reply.create {annotation, body} for the
 * caller of ctx, as part of this call: the methods' checks (visibility,
 * locked thread, mute, rate limit), events and notifications apply, and on
 * failure their error is recorded in ctx (*out NULL). 0 with *out (new
 * reference) or nonzero.
 */
int threads_annotation_get(struct rpc_ctx *ctx, int64_t annotation,
			   json_t **out);
int threads_reply_create(struct rpc_ctx *ctx, int64_t annotation,
			 const char *body, json_t **out);

#endif
