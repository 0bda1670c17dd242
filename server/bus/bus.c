/*
 * bus.c - the event log and catch-up.
 *
 * bus_publish() stores an event in the caller's savepoint with the circle's
 * next seq and hands back its serialised bytes (full, and redacted when the
 * item is hidden now, each built once); rpc_publish() (rpc/publish.c)
 * queues them as an output that
 * the executor hands to the loop after COMMIT. A rolled-back call drops its
 * queued events, so no event ever leaves for a change that did not happen.
 * bus_replay() reads the log back through the same visibility rule the loop
 * applies to live events.
 *
 * The redacted form of an event is not stored beside the full one: the
 * `redacted` column holds an overlay, the keys whose values a redacted
 * viewer gets instead (a post's {"body":null,"body_html":null,
 * "hidden":true}), and bus_redacted() lays it over the data when one is
 * needed: for a hidden item at publish, replay and another node's listener.
 * Events stored before this held the whole redacted object there, which is
 * an overlay too (same keys, their redacted values), so old logs read the
 * same. Storing the copy was a quarter of the executor's time per post
 * (issue 15).
 */
#include "bus/bus.h"
#include "bus/internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/jsonout.h"
#include "util/refbuf.h"
#include "util/vec.h"

/* How many events one catch-up may replay before answering resync. */
#define BUS_REPLAY_MAX 5000
/* Bytes of event data one replay may carry: past it the subscriber is told
 * to resync, so that one reply never nears the 1 MiB send queue (R2-F2). */
#define BUS_REPLAY_BYTES (512u << 10)

static const char SQL_NEXT_SEQ[] =
	"INSERT INTO circle_seq(circle, seq) VALUES (?1, 1)"
	" ON CONFLICT(circle) DO UPDATE SET seq = circle_seq.seq + 1 RETURNING "
	"seq";
static const char SQL_INSERT[] =
	"INSERT INTO events(circle, seq, type, data, redacted, author,"
	" chapter, chapter_order, only_account, private, hidden, thread,"
	" item_kind, item_id, created_at)"
	" VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)";
static const char SQL_SEQ[] = "SELECT seq FROM circle_seq WHERE circle = ?1";
static const char SQL_MIN_SEQ[] =
	"SELECT coalesce(min(seq), 0) FROM events WHERE circle = ?1";
static const char SQL_REPLAY[] =
	"SELECT seq, type, data, redacted, author, chapter, chapter_order,"
	" only_account, private, hidden, thread FROM events"
	" WHERE circle = ?1 AND seq > ?2 AND seq <= ?4 ORDER BY seq LIMIT ?3";
static const char SQL_MARK_HIDDEN[] =
	"UPDATE events SET hidden = ?3 WHERE item_kind = ?1 AND item_id = ?2";
static const char SQL_TO_REDACT[] =
	"SELECT circle, seq, data, redacted FROM events"
	" WHERE item_kind = ?1 AND item_id = ?2 AND redacted IS NOT NULL";
static const char SQL_REDACT[] =
	"UPDATE events SET data = ?3 WHERE circle = ?1 AND seq = ?2";

char *bus_redacted(const char *data, const char *overlay)
{
	json_t *d = json_loads(data ? data : "null", JSON_DECODE_ANY, NULL);
	json_t *o = json_loads(overlay, 0, NULL);
	char *out = NULL;

	if (json_is_object(d) && json_is_object(o) &&
	    json_object_update(d, o) == 0)
		out = jsonout_dump(d);
	json_decref(d);
	json_decref(o);
	return out ? out : xstrdup(overlay);
}

static json_t *event_params(const char *type, int64_t circle, int64_t seq,
			    json_t *data)
{
	return json_pack("{s:s,s:I,s:I,s:O}", "type", type, "circle",
			 (json_int_t)circle, "seq", (json_int_t)seq, "data",
			 data);
}

/* The notification's bytes around data already serialised for the log:
 * the event is serialised once, not once for the log and again for the
 * wire. type is one of our own event names (no escaping needed). */
struct refbuf *bus_event_bytes(const char *type, int64_t circle, int64_t seq,
			       const char *data)
{
	struct buf b = BUF_INIT;
	struct refbuf *rb;

	buf_grow(&b, strlen(data) + 128);
	buf_addf(&b,
		 "{\"jsonrpc\":\"2.0\",\"method\":\"event\",\"params\":"
		 "{\"type\":\"%s\",\"circle\":%lld,\"seq\":%lld,\"data\":",
		 type, (long long)circle, (long long)seq);
	buf_adds(&b, data);
	buf_adds(&b, "}}");
	rb = refbuf_new(b.data, b.len);
	buf_free(&b);
	return rb;
}

static uint64_t node_id;
static pthread_once_t node_once = PTHREAD_ONCE_INIT;

static void node_init(void)
{
	if (getentropy(&node_id, sizeof(node_id)) != 0)
		node_id = ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL);
	if (!node_id)
		node_id = 1;
}

void bus_item_from_row(struct vis_item *item, struct store_stmt *st, int col,
		       int64_t circle)
{
	item->circle = circle;
	item->author = store_int(st, col);
	item->chapter = store_int(st, col + 1);
	item->chapter_order = (int)store_int(st, col + 2);
	item->only_account = store_int(st, col + 3);
	item->private_ = store_int(st, col + 4) != 0;
	item->hidden = store_int(st, col + 5) != 0;
	item->thread = store_int(st, col + 6) != 0;
}

uint64_t bus_node_id(void)
{
	pthread_once(&node_once, node_init);
	return node_id;
}

int64_t bus_publish(struct store *db, int64_t now, int64_t circle,
		    const char *type, const struct vis_item *item,
		    const char *item_kind, int64_t item_id, json_t *data,
		    json_t *redacted, struct refbuf **full, struct refbuf **red)
{
	char *sdata = NULL, *sover = NULL;
	int64_t seq = 0;
	int rc;

	*full = NULL;
	*red = NULL;
	rc = store_int_query(db, &seq, SQL_NEXT_SEQ, "i", circle);
	if (rc != 1) {
		seq = rc < 0 ? rc : SCH_EDB;
		goto out;
	}
	sdata = jsonout_dump(data);
	if (redacted)
		sover = jsonout_dump(redacted);
	rc = store_run(db, SQL_INSERT, "iitttIIIIbbbtIi", circle, seq, type,
		       sdata, sover, item->author, item->chapter,
		       (int64_t)item->chapter_order, item->only_account,
		       (int)item->private_, (int)item->hidden,
		       (int)item->thread, item_kind, item_id, now);
	if (rc) {
		seq = rc;
		goto out;
	}
	{
		/* other nodes on the same database hear of it once this
		 * transaction commits (bus/listen.c); a no-op on SQLite */
		char note[64];

		snprintf(note, sizeof(note), "%llx:%lld:%lld",
			 (unsigned long long)bus_node_id(), (long long)circle,
			 (long long)seq);
		rc = store_notify(db, BUS_CHANNEL, note);
		if (rc) {
			seq = rc;
			goto out;
		}
	}
	*full = bus_event_bytes(type, circle, seq, sdata);
	/* only a hidden item has redacted viewers (vis_check) */
	if (sover && item->hidden) {
		char *sred = bus_redacted(sdata, sover);

		*red = bus_event_bytes(type, circle, seq, sred);
		free(sred);
	}
out:
	free(sdata);
	free(sover);
	json_decref(data);
	json_decref(redacted);
	return seq;
}

/* Replaces the stored data of the events about an item by their redacted
 * form, for good (a delete). Rows are read first and written after: a
 * handful per item. */
static int redact_stored(struct store *db, const char *item_kind,
			 int64_t item_id)
{
	struct ev {
		int64_t circle, seq;
		char *data;
	} *evs = NULL;
	size_t n = 0, cap = 0;
	struct store_stmt *st;
	int rc;

	st = store_query(db, SQL_TO_REDACT, "ti", item_kind, item_id);
	while ((rc = store_row(st)) > 0) {
		struct ev *e = VEC_PUSH(evs, n, cap);

		e->circle = store_int(st, 0);
		e->seq = store_int(st, 1);
		e->data = bus_redacted(store_text(st, 2), store_text(st, 3));
	}
	store_done(st);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0)
			rc = store_run(db, SQL_REDACT, "iit", evs[i].circle,
				       evs[i].seq, evs[i].data);
		free(evs[i].data);
	}
	free(evs);
	return rc < 0 ? rc : 0;
}

int bus_mark(struct store *db, const char *item_kind, int64_t item_id,
	     int hidden, bool redact)
{
	int rc = 0;

	if (hidden >= 0)
		rc = store_run(db, SQL_MARK_HIDDEN, "tii", item_kind, item_id,
			       (int64_t)hidden);
	if (!rc && redact)
		rc = redact_stored(db, item_kind, item_id);
	return rc;
}

int64_t bus_circle_seq(struct store *db, int64_t circle)
{
	int64_t seq = 0;

	if (store_int_query(db, &seq, SQL_SEQ, "i", circle) != 1)
		return 0;
	return seq;
}

int bus_replay(struct store *db, int64_t circle, int64_t since_seq,
	       const struct vis_viewer *v, json_t **events, int64_t *seq,
	       bool *resync)
{
	struct store_stmt *st;
	int64_t min_seq = 0;
	json_t *list;
	int rc, n = 0;
	size_t bytes = 0;

	*events = NULL;
	*resync = false;
	*seq = bus_circle_seq(db, circle);
	if (since_seq >= *seq) {
		*events = json_array();
		return 0;
	}
	rc = store_int_query(db, &min_seq, SQL_MIN_SEQ, "i", circle);
	if (rc < 0)
		return rc;
	if (since_seq < 0 || (min_seq > 0 && since_seq < min_seq - 1) ||
	    *seq - since_seq > BUS_REPLAY_MAX) {
		*resync = true;
		return 0;
	}
	list = json_array();
	/* up to *seq only: on a shared database another node may commit
	 * between the two statements (each its own snapshot under READ
	 * COMMITTED), and the events after *seq come live to this
	 * subscriber; replayed as well they would arrive twice */
	st = store_query(db, SQL_REPLAY, "iiii", circle, since_seq,
			 (int64_t)BUS_REPLAY_MAX, *seq);
	while ((rc = store_row(st)) > 0) {
		struct vis_item item = {0};
		enum vis_result r;
		const char *text;
		json_t *data;

		bus_item_from_row(&item, st, 4, circle);
		r = vis_check(v, &item);
		if (r == VIS_NONE)
			continue;
		text = store_text(st, 2);
		bytes += text ? strlen(text) : 4;
		if (bytes > BUS_REPLAY_BYTES) {
			store_done(st);
			json_decref(list);
			*resync = true;
			return 0;
		}
		data = json_loads(text ? text : "null", JSON_DECODE_ANY, NULL);
		if (r == VIS_REDACTED && json_is_object(data) &&
		    !store_is_null(st, 3)) {
			json_t *over = json_loads(store_text(st, 3), 0, NULL);

			if (json_is_object(over))
				json_object_update(data, over);
			json_decref(over);
		}
		json_array_append_new(list,
				      event_params(store_text(st, 1), circle,
						   store_int(st, 0),
						   data ? data : json_null()));
		json_decref(data);
		n++;
	}
	if (rc < 0) {
		json_decref(list);
		return rc;
	}
	*events = list;
	return 0;
}
