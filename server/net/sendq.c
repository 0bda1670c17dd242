/*
 * sendq.c - bounded ring of shared buffers (see sendq.h).
 */
#include "net/sendq.h"
#include "util/buf.h"

#include <stdlib.h>

int sendq_push(struct sendq *q, struct refbuf *rb)
{
	if (q->bytes + rb->len > q->limit)
		return -1;
	if (q->len == q->cap) {
		unsigned ncap = q->cap ? q->cap * 2 : 8;
		struct refbuf **nring = xcalloc(ncap, sizeof(*nring));

		for (unsigned i = 0; i < q->len; i++)
			nring[i] = q->ring[(q->head + i) % q->cap];
		free(q->ring);
		q->ring = nring;
		q->cap = ncap;
		q->head = 0;
	}
	q->ring[(q->head + q->len) % q->cap] = refbuf_ref(rb);
	q->len++;
	q->bytes += rb->len;
	return 0;
}

struct refbuf *sendq_peek(const struct sendq *q)
{
	return q->len ? q->ring[q->head] : NULL;
}

void sendq_pop(struct sendq *q)
{
	struct refbuf *rb;

	if (!q->len)
		return;
	rb = q->ring[q->head];
	q->head = (q->head + 1) % q->cap;
	q->len--;
	q->bytes -= rb->len;
	refbuf_unref(rb);
}

void sendq_clear(struct sendq *q)
{
	while (q->len)
		sendq_pop(q);
	free(q->ring);
	q->ring = NULL;
	q->cap = q->head = 0;
}
