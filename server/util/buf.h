/*
 * buf.h - a growable byte buffer (after git's strbuf).
 *
 * Start every buffer from BUF_INIT. The buffer owns its storage; buf_free()
 * releases it and leaves an empty buffer; buf_detach() hands the storage to
 * the caller ("you now own it": free() it). The contents are always
 * NUL-terminated so they can be used as a C string.
 */
#ifndef SCH_BUF_H
#define SCH_BUF_H

#include <stddef.h>

/* A growable byte string. */
struct buf {
	char *data; /* NUL-terminated storage, or NULL while empty */
	size_t len; /* bytes used, not counting the NUL */
	size_t cap; /* bytes allocated */
};

#define BUF_INIT                                                               \
	{                                                                      \
		NULL, 0, 0                                                     \
	}

void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_adds(struct buf *b, const char *s);
void buf_addch(struct buf *b, char c);
void buf_addf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
/* Returns the storage (never NULL; "" when empty); caller frees it. */
char *buf_detach(struct buf *b, size_t *len);
/* The contents as a C string, "" when empty; borrowed. */
const char *buf_str(const struct buf *b);

/* Helpers that allocate or abort. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
