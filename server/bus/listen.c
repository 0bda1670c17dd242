/*
 * listen.c - cross-node fan-out: the events other nodes on the same
 * PostgreSQL database store reach this node's subscribers.
 *
 * bus_publish() stores each event with its per-circle seq and, in the same
 * transaction, a NOTIFY "node:circle:seq" (delivered only on commit). One
 * thread per node listens on its own connection (store_listen), and for
 * each event another node stored it reads the row back and hands it to the
 * caller's function, which queues it for the loop's fan-out through the
 * same visibility rule as a local event (rpc/publish.c). The node's own
 * events are skipped: its executor delivered them already. Notifications
 * of one circle arrive in seq order (a seq is taken under the circle's row
 * lock, which is held until commit), but they race with this node's own
 * executor: the loop's delivery gate (net/fanout.c) puts every event of a
 * circle in seq order, and when one is missing (an event that reached the
 * loop before its circle had subscribers, or notifications lost with the
 * listening connection) it asks for a catch-up, bus_listen_catch_up(): this
 * thread reads the circle's events after the last one delivered from the
 * log and hands them on the same way. When the listening connection comes
 * back, the loop is told (catchup()) and asks for every subscribed circle.
 *
 * The same channel carries the effects a node applies to its own live
 * connections and shares (bus_share_viewer, bus_share_close): a member
 * removed or a session revoked on one node reaches the others' connections
 * in commit order with the events, and so do the ephemeral events
 * (presence.changed, progress.changed: bus_share_ephemeral) and account
 * events (notification.created: bus_share_account), which are
 * never stored and go to the other nodes' subscribers as they are.
 *
 * SQLite has one node: bus_listen_start() returns SCH_EINVAL there.
 */
#include "bus/bus.h"
#include "bus/internal.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/refbuf.h"
#include "util/thread_name.h"

static const char SQL_EVENT[] =
	"SELECT type, data, redacted, author, chapter, chapter_order,"
	" only_account, private, hidden, thread FROM events"
	" WHERE circle = ?1 AND seq = ?2";
static const char SQL_AFTER[] =
	"SELECT type, data, redacted, author, chapter, chapter_order,"
	" only_account, private, hidden, thread, seq FROM events"
	" WHERE circle = ?1 AND seq > ?2 ORDER BY seq LIMIT 1000";

/* A circle to catch up: its events after seq after. */
struct catch_up {
	int64_t circle, after;
};

static struct {
	pthread_t thread;
	bool running;
	atomic_bool stop;
	atomic_bool up; /* the listening connection is there */
	struct store *db;
	struct store_listener *l;
	const struct bus_remote *r;
	uint64_t remote;      /* events delivered from other nodes */
	pthread_mutex_t lock; /* guards want[] */
	struct catch_up *want;
	size_t nwant, capwant;
	int wake[2]; /* a pipe: a catch-up is wanted */
} lx = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = {-1, -1}};

/* Hands on the event in the current row of st (the columns of SQL_EVENT). */
static void deliver_row(struct store_stmt *st, int64_t circle, int64_t seq)
{
	struct vis_item item = {0};
	struct refbuf *full, *red = NULL;

	bus_item_from_row(&item, st, 3, circle);
	full = bus_event_bytes(store_text(st, 0), circle, seq,
			       store_text(st, 1) ? store_text(st, 1) : "null");
	if (item.hidden && !store_is_null(st, 2)) {
		char *text = bus_redacted(store_text(st, 1), store_text(st, 2));

		red = bus_event_bytes(store_text(st, 0), circle, seq, text);
		free(text);
	}
	lx.remote++;
	lx.r->event(circle, seq, &item, full, red);
}

/* Reads the event (circle, seq) and hands it on. */
static void deliver(int64_t circle, int64_t seq)
{
	struct store_stmt *st =
		store_query(lx.db, SQL_EVENT, "ii", circle, seq);

	if (!st || store_row(st) <= 0) {
		store_done(st);
		log_warn("bus", "event %lld of circle %lld is not in the log",
			 (long long)seq, (long long)circle);
		return;
	}
	deliver_row(st, circle, seq);
	store_done(st);
}

/* Reads the events of circle after seq after and hands them on. */
static void catch_up(int64_t circle, int64_t after)
{
	struct store_stmt *st =
		store_query(lx.db, SQL_AFTER, "ii", circle, after);
	int rc, n = 0;

	while ((rc = store_row(st)) > 0) {
		deliver_row(st, circle, store_int(st, 10));
		n++;
	}
	store_done(st);
	if (rc < 0)
		log_warn("bus", "cannot catch circle %lld up",
			 (long long)circle);
	else if (n)
		log_info("bus", "circle %lld: %d event(s) after %lld caught up",
			 (long long)circle, n, (long long)after);
}

/* Serves the catch-ups the loop asked for. */
static void serve_catch_ups(void)
{
	char drain[64];

	if (lx.wake[0] >= 0)
		while (read(lx.wake[0], drain, sizeof(drain)) > 0)
			;
	for (;;) {
		struct catch_up c;

		pthread_mutex_lock(&lx.lock);
		if (!lx.nwant) {
			pthread_mutex_unlock(&lx.lock);
			return;
		}
		c = lx.want[--lx.nwant];
		pthread_mutex_unlock(&lx.lock);
		catch_up(c.circle, c.after);
	}
}

void bus_listen_catch_up(int64_t circle, int64_t after)
{
	size_t i;

	if (!lx.running)
		return;
	pthread_mutex_lock(&lx.lock);
	for (i = 0; i < lx.nwant; i++)
		if (lx.want[i].circle == circle)
			break;
	if (i < lx.nwant) {
		if (after < lx.want[i].after)
			lx.want[i].after = after;
	} else {
		if (lx.nwant == lx.capwant) {
			lx.capwant = lx.capwant ? lx.capwant * 2 : 8;
			lx.want = xrealloc(lx.want,
					   lx.capwant * sizeof(*lx.want));
		}
		lx.want[lx.nwant].circle = circle;
		lx.want[lx.nwant++].after = after;
	}
	pthread_mutex_unlock(&lx.lock);
	if (lx.wake[1] >= 0 && write(lx.wake[1], "c", 1) < 0) {
		/* full: the thread is woken already */
	}
}

/* "V account circle role admin spoiler post_first show_all progress n
 * posted..." or "C account session code" after "node:". */
static void handle_effect(const char *p)
{
	if (*p == 'V') {
		struct vis_viewer v = {0};
		long long a, c, posted;
		int role, admin, sg, pf, sa, prog, n, used;

		p++;
		if (sscanf(p, "%lld %lld %d %d %d %d %d %d %d%n", &a, &c, &role,
			   &admin, &sg, &pf, &sa, &prog, &n, &used) != 9 ||
		    n < 0 || n > VIS_MAX_POSTED)
			return;
		p += used;
		v.account = a;
		v.circle = c;
		v.role = (enum vis_role)role;
		v.is_admin = admin != 0;
		v.spoiler_guard = sg != 0;
		v.post_first = pf != 0;
		v.show_all = sa != 0;
		v.progress_order = prog;
		for (int i = 0; i < n; i++) {
			if (sscanf(p, "%lld%n", &posted, &used) != 1)
				return;
			p += used;
			v.posted[v.nposted++] = posted;
		}
		lx.r->viewer(&v);
	} else if (*p == 'E') {
		struct vis_item item = {0};
		long long c, a;
		int used = 0;

		if (sscanf(p + 1, "%lld %lld %n", &c, &a, &used) == 2 &&
		    used > 0) {
			item.circle = c;
			item.author = a;
			lx.r->ephemeral(
				c, &item,
				refbuf_new(p + 1 + used, strlen(p + 1 + used)));
		}
	} else if (*p == 'A') {
		long long a;
		int used = 0;

		if (sscanf(p + 1, "%lld %n", &a, &used) == 1 && used > 0)
			lx.r->account(a, refbuf_new(p + 1 + used,
						    strlen(p + 1 + used)));
	} else if (*p == 'C') {
		long long a, s;
		int code;

		if (sscanf(p + 1, "%lld %lld %d", &a, &s, &code) == 3)
			lx.r->close(a, s, code);
	}
}

static void handle(const char *payload)
{
	unsigned long long node;
	long long circle, seq;
	int used = 0;

	if (sscanf(payload, "%llx:%n", &node, &used) == 1 && used > 0 &&
	    (payload[used] == 'V' || payload[used] == 'C' ||
	     payload[used] == 'E' || payload[used] == 'A')) {
		if (node != bus_node_id())
			handle_effect(payload + used);
		return;
	}
	if (sscanf(payload, "%llx:%lld:%lld", &node, &circle, &seq) != 3) {
		log_warn("bus", "a signal that is not ours: %.60s", payload);
		return;
	}
	if (node == bus_node_id())
		return; /* delivered by this node's executor */
	deliver(circle, seq);
}

static void *listen_main(void *arg)
{
	char buf[8192]; /* PostgreSQL's longest payload is 8,000 bytes */

	thread_name("sch-listen");
	(void)arg;
	while (!atomic_load(&lx.stop)) {
		int fd = store_listener_fd(lx.l), rc;

		struct pollfd p[2] = {{lx.wake[0], POLLIN, 0}, {fd, POLLIN, 0}};

		/* fd < 0: reconnecting, try again in 500 ms */
		if (poll(p, fd >= 0 ? 2 : 1, fd >= 0 ? 250 : 500) > 0 &&
		    p[0].revents)
			serve_catch_ups();
		while ((rc = store_listener_next(lx.l, buf, sizeof(buf))) > 0)
			handle(buf);
		atomic_store(&lx.up, rc >= 0 || rc == SCH_EIO);
		if (rc == SCH_EIO) {
			/* notifications sent meanwhile are lost: the loop
			 * asks to catch every subscribed circle up */
			log_warn("bus", "listening again after a lost "
					"connection: catching up");
			lx.r->catchup();
		}
	}
	return NULL;
}

int bus_share_viewer(struct store *db, const struct vis_viewer *v)
{
	char buf[2048];
	int n = snprintf(
		buf, sizeof(buf), "%llx:V%lld %lld %d %d %d %d %d %d %d",
		(unsigned long long)bus_node_id(), (long long)v->account,
		(long long)v->circle, (int)v->role, v->is_admin,
		v->spoiler_guard, v->post_first, v->show_all, v->progress_order,
		v->nposted);

	for (int i = 0; i < v->nposted && n > 0 && n < (int)sizeof(buf) - 24;
	     i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, " %lld",
			      (long long)v->posted[i]);
	return store_notify(db, BUS_CHANNEL, buf);
}

int bus_share_close(struct store *db, int64_t account, int64_t session,
		    int ws_code)
{
	char buf[96];

	snprintf(buf, sizeof(buf), "%llx:C%lld %lld %d",
		 (unsigned long long)bus_node_id(), (long long)account,
		 (long long)session, ws_code);
	return store_notify(db, BUS_CHANNEL, buf);
}

int bus_share_ephemeral(struct store *db, int64_t circle, int64_t author,
			const void *bytes, size_t len)
{
	char buf[BUS_EPHEMERAL_MAX + 64];
	int n;

	if (len > BUS_EPHEMERAL_MAX)
		return 0; /* stays on this node (docs/scaling.md) */
	n = snprintf(buf, sizeof(buf), "%llx:E%lld %lld ",
		     (unsigned long long)bus_node_id(), (long long)circle,
		     (long long)author);
	memcpy(buf + n, bytes, len);
	buf[(size_t)n + len] = '\0';
	return store_notify(db, BUS_CHANNEL, buf);
}

int bus_share_account(struct store *db, int64_t account, const void *bytes,
		      size_t len)
{
	char buf[BUS_ACCOUNT_MAX + 64];
	int n;

	if (len > BUS_ACCOUNT_MAX || memchr(bytes, '\0', len))
		return 0; /* stays on this node (docs/scaling.md) */
	n = snprintf(buf, sizeof(buf), "%llx:A%lld ",
		     (unsigned long long)bus_node_id(), (long long)account);
	memcpy(buf + n, bytes, len);
	buf[(size_t)n + len] = '\0';
	return store_notify(db, BUS_CHANNEL, buf);
}

int bus_listen_start(struct store *db, const struct bus_remote *r)
{
	int rc = store_listen(db, BUS_CHANNEL, &lx.l);

	if (rc) {
		store_close(db);
		return rc;
	}
	lx.db = db;
	lx.r = r;
	if (pipe(lx.wake) == 0) {
		fcntl(lx.wake[0], F_SETFL, O_NONBLOCK);
		fcntl(lx.wake[1], F_SETFL, O_NONBLOCK);
	} else {
		lx.wake[0] = lx.wake[1] = -1;
	}
	atomic_store(&lx.stop, false);
	atomic_store(&lx.up, true);
	if (pthread_create(&lx.thread, NULL, listen_main, NULL)) {
		store_listener_close(lx.l);
		store_close(db);
		lx.l = NULL;
		lx.db = NULL;
		return SCH_EIO;
	}
	lx.running = true;
	log_info("bus", "listening for the events of other nodes");
	return 0;
}

const char *bus_listen_state(void)
{
	if (!lx.running)
		return NULL;
	return atomic_load(&lx.up) ? "ok" : "reconnecting";
}

void bus_listen_stop(void)
{
	if (!lx.running)
		return;
	atomic_store(&lx.stop, true);
	pthread_join(lx.thread, NULL);
	lx.running = false;
	store_listener_close(lx.l);
	store_close(lx.db);
	lx.l = NULL;
	lx.db = NULL;
	for (int i = 0; i < 2; i++) {
		if (lx.wake[i] >= 0)
			close(lx.wake[i]);
		lx.wake[i] = -1;
	}
	free(lx.want);
	lx.want = NULL;
	lx.nwant = lx.capwant = 0;
}
