/*
 * u64map.h - a hash map from nonzero 64-bit keys to pointers (open
 * addressing, linear probing, backward-shift deletion). Not thread-safe.
 * Start from U64MAP_INIT; u64map_free releases the table, not the values.
 */
#ifndef SCH_U64MAP_H
#define SCH_U64MAP_H

#include <stddef.h>
#include <stdint.h>

/* One slot. */
struct u64map_slot {
	uint64_t key; /* 0: empty */
	void *val;
};

/* The map. */
struct u64map {
	struct u64map_slot *slots;
	size_t cap; /* power of two, or 0 */
	size_t used;
};

#define U64MAP_INIT                                                            \
	{                                                                      \
		NULL, 0, 0                                                     \
	}

void *u64map_get(const struct u64map *m, uint64_t key);
/* Inserts or replaces; key must be nonzero. */
void u64map_put(struct u64map *m, uint64_t key, void *val);
/* Removes and returns the value (NULL if absent). */
void *u64map_del(struct u64map *m, uint64_t key);
void u64map_free(struct u64map *m);
/* Calls fn for every entry; fn must not modify the map. */
void u64map_each(const struct u64map *m,
		 void (*fn)(uint64_t key, void *val, void *arg), void *arg);

#endif
