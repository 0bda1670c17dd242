/*
 * vec.c - the growable array (see vec.h).
 */
#include "util/vec.h"

#include <assert.h>

#include "util/buf.h"

void *vec_reserve(void *v, size_t n, size_t *cap, size_t elem)
{
	assert(n <= *cap);
	if (n < *cap)
		return v;
	*cap = *cap ? *cap * 2 : 16;
	return xrealloc(v, *cap * elem);
}
