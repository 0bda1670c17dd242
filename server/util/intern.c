/*
 * intern.c - see intern.h. A fixed table of chained buckets under one
 * mutex: a get or put is a hash, a short chain walk and a compare, done
 * once per connection opened or closed.
 */
#include "util/intern.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

#define INTERN_BUCKETS 4096

struct entry {
	struct entry *next;
	uint64_t hash;
	size_t refs;
	char s[];
};

static struct entry *buckets[INTERN_BUCKETS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t hash_of(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

const char *intern_get(const char *s)
{
	uint64_t h;
	struct entry *e, **b;
	size_t len;

	if (!s)
		s = "";
	h = hash_of(s);
	b = &buckets[h % INTERN_BUCKETS];
	pthread_mutex_lock(&lock);
	for (e = *b; e; e = e->next)
		if (e->hash == h && strcmp(e->s, s) == 0)
			break;
	if (!e) {
		len = strlen(s);
		e = xmalloc(sizeof(*e) + len + 1);
		memcpy(e->s, s, len + 1);
		e->hash = h;
		e->refs = 0;
		e->next = *b;
		*b = e;
	}
	e->refs++;
	pthread_mutex_unlock(&lock);
	return e->s;
}

void intern_put(const char *s)
{
	struct entry *e, **pp;

	if (!s)
		return;
	e = (struct entry *)(void *)((char *)(uintptr_t)s -
				     offsetof(struct entry, s));
	pthread_mutex_lock(&lock);
	if (--e->refs == 0) {
		for (pp = &buckets[e->hash % INTERN_BUCKETS]; *pp != e;
		     pp = &(*pp)->next)
			;
		*pp = e->next;
		free(e);
	}
	pthread_mutex_unlock(&lock);
}
