/*
 * refbuf.h - an immutable, reference-counted byte buffer.
 *
 * An event is serialised once into a refbuf and the same bytes are queued to
 * every subscriber; each queue holds one reference. The refcount is atomic
 * because the store thread creates the buffer and the loop thread releases it.
 * The bytes are preceded by LWS_PRE bytes of headroom so that the transport
 * can write them without copying.
 */
#ifndef SCH_REFBUF_H
#define SCH_REFBUF_H

#include <stdatomic.h>
#include <stddef.h>

#define REFBUF_HEADROOM 16 /* >= LWS_PRE, checked in net/ */

/* Shared bytes; never modified after creation. */
struct refbuf {
	atomic_int refs;      /* owners; freed when it drops to 0 */
	size_t len;	      /* payload bytes */
	unsigned char data[]; /* REFBUF_HEADROOM bytes, then the payload */
};

/* Copies len bytes into a new refbuf holding one reference (the caller's). */
struct refbuf *refbuf_new(const void *bytes, size_t len);
/* A new refbuf of len payload bytes for its maker to fill (refbuf_bytes)
 * before anyone else sees it: bytes written straight into it need no copy. */
struct refbuf *refbuf_alloc(size_t len);
/* Takes a further reference and returns rb. */
struct refbuf *refbuf_ref(struct refbuf *rb);
/* Drops a reference; frees at zero. NULL is ignored. */
void refbuf_unref(struct refbuf *rb);
/* The payload (after the headroom). */
static inline unsigned char *refbuf_bytes(struct refbuf *rb)
{
	return rb->data + REFBUF_HEADROOM;
}

#endif
