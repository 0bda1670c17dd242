/*
 * internal.h - what the files of the threads module share with each other
 * (posts.c: rows, objects and the levers other modules call; methods.c: the
 * RPC methods; fanout.c: notifications about new posts). Not for other
 * modules: they use threads.h.
 */
#ifndef SCH_THREADS_INTERNAL_H
#define SCH_THREADS_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "events/events.h"
#include "visibility/visibility.h"

struct store;
struct rpc_ctx;

#define TH_ANNOTATION 0
#define TH_REPLY 1

/* One annotation or reply row, with the facts of its thread. */
struct th_post {
	int kind; /* TH_ANNOTATION or TH_REPLY */
	int64_t id;
	int64_t circle;
	int64_t chapter;
	int64_t annotation; /* the thread (own id for an annotation) */
	int64_t parent;	    /* reply answered, 0 for none */
	int64_t author;
	int64_t position; /* annotations: start offset, -1 chapter-level */
	int64_t created_at;
	int64_t updated_at;
	bool private_; /* the thread is private */
	bool edited;
	bool pinned; /* annotations only */
	bool locked; /* the thread is locked */
	bool hidden;
	bool deleted;	 /* tombstone */
	char *body;	 /* malloc'd Markdown, NULL when deleted */
	char *body_html; /* malloc'd HTML, NULL when deleted */
	/* Known without a query (0/false: ask the database). */
	int order;	/* the chapter's reading position */
	bool fresh;	/* just inserted: no reactions, replies */
	bool no_anchor; /* fresh and without a target: no anchor row */
};

/* Loads a live (not gone) post: 0, SCH_ENOTFOUND or another SCH_E*.
 * Free with th_post_free. */
int th_post_load(struct store *db, int kind, int64_t id, struct th_post *p);
void th_post_free(struct th_post *p);
/* Publishes a domain event about p (events/events.h: EVENTS_POST_*);
 * 0 or the first subscriber's nonzero return. */
int th_emit_post(struct rpc_ctx *ctx, enum events_type type,
		 const struct th_post *p);
/* Asks the subscribers of EVENTS_POST_CHECK or EVENTS_REACT_CHECK
 * (moderation) whether the caller may write in circle: 0 or RPC_ERR with
 * the error recorded in ctx. */
int th_check_write(struct rpc_ctx *ctx, enum events_type type,
		   const struct vis_viewer *v, int64_t circle);

/* The reading position of a chapter (0 when unknown). */
int th_chapter_order(struct store *db, int64_t chapter);
/* The visibility facts of a post. */
void th_post_vis(struct store *db, const struct th_post *p,
		 struct vis_item *out);
/*
 * The SPEC object of a post as seen by account me (my_reactions; 0 for
 * event data) at visibility r (VIS_REDACTED: body and body_html null,
 * hidden true). New reference.
 */
/* Starts (on) or ends (off) one listing call on this thread: the authors
 * it loads are kept for the call's later rows (posts.c). */
void th_authors_call(bool on);
json_t *th_post_json(struct store *db, const struct th_post *p, int64_t me,
		     enum vis_result r);
/* The kind name used in events and targets: "annotation" or "reply". */
const char *th_kind_name(int kind);
/* {"annotation":ID} or {"reply":ID}; new reference. */
json_t *th_target_ref(int kind, int64_t id);
/* {KIND:COUNT} for all four kinds; new reference. */
json_t *th_reactions_json(struct store *db, int kind, int64_t id);
/* [KIND] reacted by account; new reference. */
json_t *th_my_reactions_json(struct store *db, int kind, int64_t id,
			     int64_t account);
/* RFC 3339 UTC string; new reference. */
json_t *th_time_json(int64_t t);

/* Adds "replies" to an annotation object: every reply of the thread v may
 * see, in order, each at its visibility. 0 or SCH_E*. */
int th_get_replies(struct store *db, json_t *obj, int64_t annotation,
		   const struct vis_viewer *v);
/* [{body, replaced_at}] previous bodies of an edited post, oldest first;
 * new reference. */
json_t *th_versions_json(struct store *db, int kind, int64_t id);

/*
 * Publishes an event about a post to its circle: the full object and, for
 * those who may only see the placeholder, the redacted one. 0 or SCH_E*.
 */
int th_publish_post(struct rpc_ctx *ctx, const char *type,
		    const struct th_post *p);
/*
 * The same, and the caller's reply (the full object with the caller's
 * my_reactions, a new reference in *reply): the object is built from the
 * database once per write, the redacted form and the reply are copies of
 * it (a write's statements, see docs/benchmarks.md).
 */
int th_publish_post_reply(struct rpc_ctx *ctx, const char *type,
			  const struct th_post *p, int64_t me, json_t **reply);
/*
 * The same for a fresh post (p->fresh: the caller holds no reactions on
 * it, so its copy is the event's data): the call's result is set to the
 * event's serialised data (rpc_result_raw), nothing is copied or dumped
 * again. 0 or SCH_E*.
 */
int th_publish_post_raw(struct rpc_ctx *ctx, const char *type,
			const struct th_post *p);

/*
 * Notifications for a new or edited post: mentions of @handles (skipping
 * those already in old_body, and accounts in skip[]), replies to the
 * thread's and parent's authors, new threads to the chapter's followers.
 * Only accounts that may see the post in full hear about it. 0 or SCH_E*.
 */
int th_notify_post(struct rpc_ctx *ctx, const struct th_post *p,
		   const char *old_body, bool is_new);

/* annotation.list's `withheld`: {count, reason} of the chapter's threads
 * by others that the spoiler guard ("spoiler_guard") or post first
 * ("post_first") holds back from v, or json null (extras.c). */
json_t *th_withheld_json(struct store *db, const struct vis_viewer *v,
			 int64_t circle, int64_t chapter);
/* Registers markdown.preview (extras.c). */
void threads_extras_init(void);

/* Registers the account.export and account.delete hooks (account.c). */
void threads_account_init(void);

/*
 * annotation.create after its checks (membership, chapter, mute, slow mode
 * and rate limit): inserts, anchors, indexes, publishes and notifies, and
 * sets *result to the new annotation. RPC_ERR with the error recorded.
 * annotation.import calls it once per highlight after checking the caller
 * once (an import is one post for the limits).
 */
int th_annotation_insert(struct rpc_ctx *ctx, int64_t circle, int64_t chapter,
			 int order, json_t *target, const char *body,
			 bool private_, json_t **result);
/* The same for annotation.create: the result is the event's own bytes
 * (rpc_result_raw: the object is serialised once, for the log, the
 * fan-out and the reply); *result stays NULL. order: the chapter's
 * reading position, 0 when not known. */
int th_annotation_insert_raw(struct rpc_ctx *ctx, int64_t circle,
			     int64_t chapter, int order, json_t *target,
			     const char *body, bool private_);
/* annotation.import (import.c). */
int th_annotation_import(struct rpc_ctx *ctx, json_t *params, json_t **result);

#endif
