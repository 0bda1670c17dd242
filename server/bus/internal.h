/*
 * internal.h - what bus.c and listen.c share inside bus/.
 */
#ifndef SCH_BUS_INTERNAL_H
#define SCH_BUS_INTERNAL_H

#include <stdint.h>

struct refbuf;
struct store_stmt;
struct vis_item;

/* The channel that carries "node:circle:seq" for each stored event. */
#define BUS_CHANNEL "scholia_events"

/* The JSON-RPC notification around data already serialised. */
struct refbuf *bus_event_bytes(const char *type, int64_t circle, int64_t seq,
			       const char *data);
/* The visibility of an event read from the store: circle, and from
 * column col on author, chapter, chapter_order, only_account, private,
 * hidden, thread. */
void bus_item_from_row(struct vis_item *item, struct store_stmt *st, int col,
		       int64_t circle);

#endif
