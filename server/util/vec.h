/*
 * vec.h - the growable array every module used to write by hand
 * ("if (n == cap) { cap = cap ? cap * 2 : 16; v = xrealloc(...); }").
 *
 *	int64_t *ids = NULL;
 *	size_t n = 0, cap = 0;
 *
 *	*VEC_PUSH(ids, n, cap) = id;   // grows when needed, never fails
 *	...
 *	free(ids);
 */
#ifndef SCH_VEC_H
#define SCH_VEC_H

#include <stddef.h>

/* Returns v (possibly moved) with room for at least n + 1 elements of
 * elem bytes, doubling *cap from 16; aborts when memory runs out. */
void *vec_reserve(void *v, size_t n, size_t *cap, size_t elem);

/* Appends one element to the array v holding n of cap; evaluates to a
 * pointer to the new element (n is incremented). */
#define VEC_PUSH(v, n, cap)                                                    \
	((v) = vec_reserve((v), (n), &(cap), sizeof(*(v))), &(v)[(n)++])

#endif
