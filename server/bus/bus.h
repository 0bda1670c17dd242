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

/* This process's node id (random, never 0, new at every start): the
 * NOTIFY payloads name it, and circles/presence.c keys its rows by it. */
uint64_t bus_node_id(void);

/*
 * Stores an event of circle (next seq, type, data, the visibility facts of
 * item, and item_kind/item_id naming what it is about for bus_mark) at time
 * now. redacted (NULL: none) is an overlay: the keys whose values viewers
 * who see the item redacted get instead (stored as such; bus_redacted()).
 * Sets *full to the serialised JSON-RPC notification for live fan-out, and
 * *red to the redacted one when the item is hidden now (else NULL: nobody
 * sees it redacted), as new references. Takes the references of data and
 * redacted. Returns the seq (>0) or a negative SCH_E* code (then *full and
 * *red are NULL).
 */
int64_t bus_publish(struct store *db, int64_t now, int64_t circle,
		    const char *type, const struct vis_item *item,
		    const char *item_kind, int64_t item_id, json_t *data,
		    json_t *redacted, struct refbuf **full,
		    struct refbuf **red);
/* The redacted form of stored event data: overlay's keys laid over data
 * (both JSON text). A new string. */
char *bus_redacted(const char *data, const char *overlay);
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

/*
 * Effects on live connections that other nodes must apply too (PostgreSQL;
 * no-ops on SQLite): a member's new viewer state in a circle (removed,
 * role changed, progress...) and the closing of an account's or a
 * session's connections. Sent in the caller's transaction, so they reach
 * the other nodes on commit, in order with the events.
 */
int bus_share_viewer(struct store *db, const struct vis_viewer *v);
int bus_share_close(struct store *db, int64_t account, int64_t session,
		    int ws_code);
/*
 * An ephemeral event (presence.changed, progress.changed: no seq, never
 * stored) for the other nodes' subscribers of circle, as the bytes sent
 * (len of them); author is its item's author, the one visibility fact such
 * an event has. One too long for a signal (BUS_EPHEMERAL_MAX) stays on
 * this node. 0 or negative SCH_E*.
 */
#define BUS_EPHEMERAL_MAX 1800
int bus_share_ephemeral(struct store *db, int64_t circle, int64_t author,
			const void *bytes, size_t len);

/*
 * An event for every connection of one account (notification.created:
 * RPC_OUT_ACCOUNT), for that account's connections on the other nodes, as
 * the bytes sent. One too long for a signal (BUS_ACCOUNT_MAX) stays on
 * this node (the inbox shows it at its next fetch). 0 or negative SCH_E*.
 */
#define BUS_ACCOUNT_MAX 7000
int bus_share_account(struct store *db, int64_t account, const void *bytes,
		      size_t len);

/*
 * Cross-node fan-out (bus/listen.c; PostgreSQL only). On the listener's
 * thread, event gets each event another node stored, with its visibility
 * facts and serialised bytes (new references, as bus_publish gives them);
 * viewer, close, ephemeral and account get the effects, ephemeral and
 * account events other nodes shared.
 */
struct bus_remote {
	void (*event)(int64_t circle, int64_t seq, const struct vis_item *item,
		      struct refbuf *full, struct refbuf *red);
	void (*viewer)(const struct vis_viewer *v);
	void (*close)(int64_t account, int64_t session, int ws_code);
	/* the listening connection came back: events may have been missed */
	void (*catchup)(void);
	void (*ephemeral)(int64_t circle, const struct vis_item *item,
			  struct refbuf *bytes);
	void (*account)(int64_t account, struct refbuf *bytes);
};
/* Starts the listener thread on db (taken: closed by bus_listen_stop, or
 * here on failure). SCH_EINVAL on SQLite, which has one node. */
int bus_listen_start(struct store *db, const struct bus_remote *r);
void bus_listen_stop(void);
/* Asks the listener to read circle's events with seq > after from the log
 * and hand them to event() in seq order (the loop's delivery gate,
 * net/fanout.c, drops what it delivered already). Any thread; a no-op
 * when no listener runs. */
void bus_listen_catch_up(int64_t circle, int64_t after);
/* "ok", "reconnecting", or NULL when no listener runs (SQLite). */
const char *bus_listen_state(void);

#endif
