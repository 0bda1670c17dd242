/*
 * transport.h - what the transport (net/) and the RPC executor say to each
 * other. The RPC side sees connection ids and bytes, never sockets; the
 * transport sees outputs to deliver, never SQL.
 *
 * Direction loop -> executor: rpc_conn_open/close, rpc_submit_message,
 * rpc_submit_http. Each copies what it needs and returns at once.
 * Direction executor -> loop: after each COMMIT the executor appends outputs
 * to one FIFO and calls the wake function (net/ passes one that calls
 * lws_cancel_service); the loop takes them with rpc_take_outputs() and
 * applies them in order.
 */
#ifndef SCH_RPC_TRANSPORT_H
#define SCH_RPC_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http.h"
#include "rpc/rpc.h"
#include "util/refbuf.h"
#include "visibility/visibility.h"

struct store;
struct pool;
struct bus_remote;

/* What one output asks the transport to do. */
enum rpc_out_kind {
	RPC_OUT_REPLY,	     /* send bytes to conn */
	RPC_OUT_EVENT,	     /* circle event: fan out with vis_check */
	RPC_OUT_ACCOUNT,     /* event to every connection of account */
	RPC_OUT_AUTH,	     /* conn is now account/session (0: none) */
	RPC_OUT_SUBSCRIBE,   /* conn subscribes to circle with viewer */
	RPC_OUT_UNSUBSCRIBE, /* conn leaves circle */
	RPC_OUT_VIEWER,	     /* new viewer for account's subs in circle */
	RPC_OUT_CLOSE,	     /* close conns of session (or of account) */
	RPC_OUT_HTTP,	     /* answer HTTP request http_id */
	RPC_OUT_RESUME,	     /* conn's queue drained: read from it again */
	RPC_OUT_CATCHUP	     /* the listener reconnected: catch every
				subscribed circle up from its last seq */
};

/* One output; the transport frees it with rpc_out_free. */
struct rpc_out {
	enum rpc_out_kind kind;
	struct rpc_out *next;
	uint64_t conn;
	struct refbuf *bytes; /* reply / full event / account event */
	json_t *reply; /* a REPLY the hand-over of its batch serialises into
			* bytes (exec.c), or NULL */
	struct refbuf *redacted; /* event for VIS_REDACTED viewers, or NULL */
	struct vis_item item;	 /* event visibility facts */
	int64_t circle;
	int64_t seq; /* EVENT: its seq; SUBSCRIBE: the seq answered */
	int64_t account;
	int64_t session;
	bool is_admin;
	struct vis_viewer viewer;
	int ws_code; /* RPC_OUT_CLOSE */
	char reason[64];
	uint64_t http_id; /* RPC_OUT_HTTP */
	struct http_resp resp;
};

/* Requests in one JSON-RPC batch at most (more: -32600 for the batch). */
#define RPC_MAX_BATCH 100
/* Fairness and backpressure: one transaction takes at most RPC_FAIR_SHARE
 * calls of one connection (a batch counts as its number of calls; a lone
 * batch larger than the share is taken alone), and a read-pool thread runs
 * at most that many of one connection's calls before serving the next
 * connection; when RPC_PAUSE_AT of its messages wait, the
 * transport stops reading from it until RPC_OUT_RESUME (sent when no more
 * than RPC_RESUME_AT wait). A flooding client thus fills its own socket
 * buffers, not the server's memory or everyone's latency. */
#define RPC_FAIR_SHARE 16
#define RPC_PAUSE_AT 64
#define RPC_RESUME_AT 16

/* Options of the executor; start from RPC_EXEC_OPTS_INIT. */
struct rpc_exec_opts {
	struct store *db;	 /* the executor's own connection (taken) */
	struct pool *pool;	 /* worker pool for rpc_defer (borrowed) */
	void (*wake)(void *arg); /* called from other threads after outputs */
	void *wake_arg;
	int max_batch; /* calls per transaction at most */
	int readers;   /* read-pool threads (0: 2; -1: none, every
			  call runs on the executor) */
};
#define RPC_EXEC_OPTS_INIT                                                     \
	{                                                                      \
		NULL, NULL, NULL, NULL, 256, 0                                 \
	}
/* Read-pool threads at most. */
#define RPC_READERS_MAX 8

/* Starts the executor thread. 0 or negative SCH_E*. */
int rpc_exec_start(const struct rpc_exec_opts *opts);
/* Finishes queued calls (the transaction in flight commits), stops the
 * thread and closes its database. */
void rpc_exec_stop(void);

/* A connection opened (token from the cookie, or NULL); ids are unique and
 * never reused within a process. Strings are copied. */
void rpc_conn_open(uint64_t conn, const char *peer, const char *user_agent,
		   const char *token);
void rpc_conn_close(uint64_t conn);
/* A complete text message from conn (copied). Returns how many messages
 * of conn now wait: at RPC_PAUSE_AT or more, stop reading from conn until
 * RPC_OUT_RESUME. */
unsigned rpc_submit_message(uint64_t conn, const char *msg, size_t len);
/* An HTTP request routed to a module (all strings copied). */
void rpc_submit_http(uint64_t http_id, const struct http_req *req,
		     const char *peer, const char *user_agent);

/* Jobs waiting in the executor's queue (tests use it to know that what
 * they sent has reached the executor). */
unsigned rpc_exec_queued(void);
/* Calls answered on the read pool and on the executor since start. */
void rpc_exec_counts(uint64_t *pool_calls, uint64_t *exec_calls);
/* The executor's batches since start and the nanoseconds it spent running
 * them (busy) and in their COMMITs (the sync included): busy over wall time
 * says whether the executor bounds the write rate, commit over busy how
 * much of it is the sync (tests/bench/writers prints both). */
struct rpc_exec_times {
	uint64_t batches, busy_ns, commit_ns;
};
void rpc_exec_times(struct rpc_exec_times *t);

/* Queues one output made outside a call (an event another node stored,
 * bus/listen.c) and wakes the loop. Any thread. */
void rpc_emit_output(struct rpc_out *o);
/* What the bus's listener hands other nodes' events and effects to
 * (bus/bus.h): outputs for the fan-out, through the same visibility rule
 * as local ones. */
extern const struct bus_remote rpc_bus_remote;

/* Takes every output queued so far, oldest first (caller frees each). */
struct rpc_out *rpc_take_outputs(void);
void rpc_out_free(struct rpc_out *out);

/* A ready-made error reply (id null) for messages the transport refuses
 * itself, e.g. over the size limit: caller frees with refbuf_unref. */
struct refbuf *rpc_error_bytes(int code, const char *message);

/* JSON nesting depth of a text, counting [ and { outside strings; returns
 * max_depth + 1 as soon as it is exceeded. */
int rpc_json_depth(const char *s, size_t len, int max_depth);

/* Per-method counters for /metrics, appended in Prometheus text format. */
struct buf;
void rpc_metrics_write(struct buf *out);
/* Counts one call (code 0 = success) for /metrics. */
void rpc_metrics_count(const char *method, int code, double seconds);
/* Number of events stored since start. */
uint64_t rpc_events_total(void);

#endif
