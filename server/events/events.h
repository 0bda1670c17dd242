/*
 * events.h - typed domain events: how a lower domain module tells the
 * modules above it that something happened, without knowing them.
 *
 * Not to be confused with the bus (bus/bus.h), which stores and fans out
 * the circle events that clients see. These are in-process calls on the
 * store thread, inside the caller's transaction: a subscriber's write
 * commits or rolls back with the call that published the event.
 *
 * The direction is fixed: the publisher sits lower in the module graph
 * (docs/architecture.md) and never includes its subscribers' headers:
 *
 *   publisher   event                   subscribers
 *   threads     EVENTS_POST_CHECK       moderation (mute, slow mode, rate)
 *   threads     EVENTS_REACT_CHECK      moderation (mute)
 *   threads     EVENTS_POST_CREATED     search (index)
 *   threads     EVENTS_POST_EDITED      search (re-index)
 *   threads     EVENTS_POST_DELETED     search (unindex)
 *   threads     EVENTS_ANCHOR_RESOLVED  moderation (audit log)
 *   books       EVENTS_ANCHOR_MOVED     threads (position, anchor.changed)
 *   circles     EVENTS_CIRCLE_CLONED    threads (copies annotations)
 *   auth        EVENTS_ACCOUNT_EXPORT   threads, notify (their parts)
 *   auth        EVENTS_ACCOUNT_DELETED  circles, threads, notify
 *   circles     EVENTS_MEMBER_LISTED    moderation (mute state)
 *   circles     EVENTS_INVITE_CREATED   moderation (audit log)
 *   circles     EVENTS_JOIN_CHECK       moderation (a removal sticks)
 *   circles     EVENTS_INVITE_MAIL      mail (mails the invitation link)
 *   notify      EVENTS_NOTIFICATION_ADDED  mail (instant, batch or digest)
 *   threads     EVENTS_POST_CHECK       moderation (annotation.import too)
 *
 * Modules subscribe in their *_init() (modules.c fixes the order);
 * subscribers of one type run in that order.
 */
#ifndef SCH_EVENTS_H
#define SCH_EVENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct rpc_ctx;
struct vis_viewer;

enum events_type {
	EVENTS_POST_CHECK,	/* may the caller post? (.post, id 0) */
	EVENTS_REACT_CHECK,	/* may the caller react? (.post) */
	EVENTS_POST_CREATED,	/* a post was written (.post) */
	EVENTS_POST_EDITED,	/* its body changed (.post) */
	EVENTS_POST_DELETED,	/* deleted or wiped (.post: kind, id) */
	EVENTS_ANCHOR_RESOLVED, /* anchor.resolve accepted/rejected (.anchor) */
	EVENTS_ANCHOR_MOVED,	/* a re-import moved an anchor (.anchor) */
	EVENTS_CIRCLE_CLONED,	/* circle.clone with annotations (.clone) */
	EVENTS_ACCOUNT_EXPORT,	/* account.export collects parts (.account) */
	EVENTS_ACCOUNT_DELETED, /* account.delete (.account) */
	EVENTS_MEMBER_LISTED,	/* circle.members lists a member (.member) */
	EVENTS_INVITE_CREATED,	/* circle.invite made a code (.invite) */
	EVENTS_JOIN_CHECK,	/* may account join through it? (.invite) */
	EVENTS_INVITE_MAIL,	/* circle.invite {email} (.invite) */
	EVENTS_NOTIFICATION_ADDED, /* notify stored one (.notification) */
	EVENTS_NTYPES
};

/* Kinds of post (as threads_target.kind). */
#define EVENTS_ANNOTATION 0
#define EVENTS_REPLY 1

struct events_post {
	int kind;   /* EVENTS_ANNOTATION or EVENTS_REPLY */
	int64_t id; /* 0 in the checks when the post is not written */
	int64_t circle;
	int64_t chapter;
	int64_t author;
	bool private_;
	const char *body;		 /* Markdown source; NULL when gone */
	const struct vis_viewer *viewer; /* the caller's; in the checks */
};

struct events_anchor {
	int64_t annotation;
	int64_t circle; /* ANCHOR_RESOLVED */
	bool accepted;	/* ANCHOR_RESOLVED */
	bool private_;	/* ANCHOR_RESOLVED: the annotation is private */
};

struct events_clone {
	int64_t from, to; /* circles */
	int64_t account;  /* whose annotations are copied */
	int *copied;	  /* subscribers add the number they copied */
};

struct events_account {
	int64_t account;
	json_t *out; /* ACCOUNT_EXPORT: the object subscribers add keys to */
};

struct events_member {
	int64_t circle;
	int64_t account;
	json_t *obj; /* the member's object: subscribers add their keys */
};

struct events_invite {
	int64_t circle;
	int64_t account;    /* JOIN_CHECK: who joins */
	int64_t created_at; /* JOIN_CHECK: when the invitation was made */
	const char *role;   /* INVITE_CREATED: the role it grants */
	const char *email;  /* INVITE_MAIL: the address to mail */
	const char *url;    /* INVITE_MAIL: the join link */
};

struct events_notification {
	int64_t id;	 /* the stored notification */
	int64_t account; /* whose inbox */
	int64_t circle;	 /* 0: none */
	const char *kind;
	json_t *data; /* borrowed */
};

struct events_event {
	enum events_type type;
	struct rpc_ctx *ctx; /* the call that publishes (may be a CLI ctx) */
	union {
		struct events_post post;
		struct events_anchor anchor;
		struct events_clone clone;
		struct events_account account;
		struct events_member member;
		struct events_invite invite;
		struct events_notification notification;
	} u;
};

/* A subscriber: 0 to go on; nonzero stops the event and is what
 * events_emit() returns (a negative SCH_E* code, or RPC_ERR with the
 * error recorded in ev->ctx for the checks). */
typedef int (*events_fn)(const struct events_event *ev, void *arg);

/* Subscribes fn to events of type (at start-up, before any call). */
void events_on(enum events_type type, events_fn fn, void *arg);

/* Runs the subscribers of ev->type in order; 0 or the first nonzero. */
int events_emit(const struct events_event *ev);

#endif
