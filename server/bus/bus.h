/*
 * bus.h - the circle event log: stored events with a per-circle seq, and
 * catch-up (replay) through the visibility rule.
 *
 * The bus works on a store handle inside the caller's transaction and
 * knows nothing of calls or connections. Handlers publish through
 * rpc_publish() (rpc/rpc.h, rpc/publish.c), which also queues the live
 * fan-out after COMMIT, and call bus_mark(), bus_replay() and
 * bus_circle_seq() with rpc_store(ctx); the transport (net/fanout.c) sends
 * the bytes bus_publish() built to every subscriber vis_check() lets see
 * them.
 */
#ifndef SCH_BUS_H
#define SCH_BUS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "visibility/visibility.h"

struct store;
struct refbuf;

/* How many events one catch-up may replay before answering resync. */
#define BUS_REPLAY_MAX 5000

/*
 * Stores an event of circle (next seq, type, data, the visibility facts of
 * item, and item_kind/item_id naming what it is about for bus_mark) at time
 * now. Sets *full and *red (NULL without redacted data) to the serialised
 * JSON-RPC notifications for live fan-out (new references). Takes the
 * references of data and redacted. Returns the seq (>0) or a negative SCH_E*
 * code (then *full and *red are NULL).
 */
int64_t bus_publish(struct store *db, int64_t now, int64_t circle,
		    const char *type, const struct vis_item *item,
		    const char *item_kind, int64_t item_id, json_t *data,
		    json_t *redacted, struct refbuf **full,
		    struct refbuf **red);
/*
 * Updates the stored events about one item so that replay follows its
 * current state: hidden 1/0 sets the hidden fact (-1 leaves it), redact
 * replaces the full data by the redacted data for good. 0 or SCH_E*.
 */
int bus_mark(struct store *db, const char *item_kind, int64_t item_id,
	     int hidden, bool redact);
/*
 * Every stored event of circle after since_seq that vis_check() lets v see,
 * oldest first, as event params {type, circle, seq, data} in *events (new
 * reference); *seq gets the circle's current seq. When since_seq is older
 * than what is kept (or more than BUS_REPLAY_MAX behind), *resync is set
 * and *events is NULL. 0 or a negative SCH_E* code.
 */
int bus_replay(struct store *db, int64_t circle, int64_t since_seq,
	       const struct vis_viewer *v, json_t **events, int64_t *seq,
	       bool *resync);
/* The circle's current seq (0 when it has no events). */
int64_t bus_circle_seq(struct store *db, int64_t circle);

#endif
