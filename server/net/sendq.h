/*
 * sendq.h - a connection's bounded send queue: a ring of references to
 * shared buffers, with a byte limit. Pure data structure (no lws), so the
 * bound is unit-tested on its own.
 */
#ifndef SCH_SENDQ_H
#define SCH_SENDQ_H

#include <stddef.h>

#include "util/refbuf.h"

/* The queue; start from SENDQ_INIT. */
struct sendq {
	struct refbuf **ring;
	unsigned cap, head, len;
	unsigned limit; /* bytes allowed before push refuses (< 4 GiB: one
			 * per connection, so kept small) */
	size_t bytes;	/* unsent payload bytes */
};

#define SENDQ_INIT(limit)                                                      \
	{                                                                      \
		NULL, 0, 0, 0, (limit), 0                                      \
	}

/* Queues a reference to rb. Returns 0, or -1 when the queue would pass its
 * limit (nothing is queued: the caller closes the connection). */
int sendq_push(struct sendq *q, struct refbuf *rb);
/* The oldest buffer, still queued (borrowed), or NULL. */
struct refbuf *sendq_peek(const struct sendq *q);
/* Drops the oldest buffer (its reference is released). */
void sendq_pop(struct sendq *q);
/* Drops everything and frees the ring. */
void sendq_clear(struct sendq *q);

#endif
