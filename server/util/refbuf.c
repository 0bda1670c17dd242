/*
 * refbuf.c - reference-counted immutable buffers for fan-out.
 */
#include "util/refbuf.h"
#include "util/buf.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct refbuf *refbuf_alloc(size_t len)
{
	struct refbuf *rb = xmalloc(sizeof(*rb) + REFBUF_HEADROOM + len + 1);

	atomic_init(&rb->refs, 1);
	rb->len = len;
	rb->data[REFBUF_HEADROOM + len] = 0;
	return rb;
}

struct refbuf *refbuf_new(const void *bytes, size_t len)
{
	struct refbuf *rb = refbuf_alloc(len);

	memcpy(rb->data + REFBUF_HEADROOM, bytes, len);
	return rb;
}

struct refbuf *refbuf_ref(struct refbuf *rb)
{
	atomic_fetch_add_explicit(&rb->refs, 1, memory_order_relaxed);
	return rb;
}

void refbuf_unref(struct refbuf *rb)
{
	int was;

	if (!rb)
		return;
	was = atomic_fetch_sub_explicit(&rb->refs, 1, memory_order_acq_rel);
	/* one unref per ref: below 1 would be a use after free */
	assert(was >= 1);
	if (was == 1)
		free(rb);
}
