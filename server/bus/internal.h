/*
 * internal.h - what bus.c and listen.c share inside bus/.
 */
#ifndef SCH_BUS_INTERNAL_H
#define SCH_BUS_INTERNAL_H

#include <stdint.h>

struct refbuf;

/* The channel that carries "node:circle:seq" for each stored event. */
#define BUS_CHANNEL "scholia_events"

/* The JSON-RPC notification around data already serialised. */
struct refbuf *bus_event_bytes(const char *type, int64_t circle, int64_t seq,
			       const char *data);
/* This process's node id (random, never 0). */
uint64_t bus_node_id(void);

#endif
