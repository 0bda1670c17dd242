/*
 * internal.h - shared by the files of net/: the per-connection structs and
 * the functions that pass between HTTP, WebSocket and the outputs code.
 */
#ifndef SCH_NET_INTERNAL_H
#define SCH_NET_INTERNAL_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <stdint.h>

#include "net/net.h"
#include "net/sendq.h"
#include "rpc/transport.h"
#include "util/buf.h"
#include "util/refbuf.h"
#include "util/u64map.h"
#include "visibility/visibility.h"

_Static_assert(LWS_PRE <= REFBUF_HEADROOM, "refbuf headroom too small");

struct net_sub;

/* One WebSocket connection. */
struct ws_conn {
	struct lws *wsi;
	uint64_t id;		  /* never reused within a process */
	int64_t account, session; /* as told by RPC_OUT_AUTH */
	struct sendq q;		  /* bounded queue of shared buffers */
	/* receive: a message that came in several fragments, being
	 * assembled (empty between messages: one in a single fragment goes
	 * to the executor straight from lws's buffer) */
	struct buf rx;
	/* subscriptions */
	struct net_sub **subs;
	int nsubs, subs_cap;
	/* closing */
	char *close_reason;  /* malloc'd when closing (most never do) */
	uint16_t close_code; /* nonzero: close at next writeable */
	bool rx_oversize;    /* discarding the rest of a big message */
	bool ping_due;	     /* write a PING at the next writeable */
	bool ping_sent;	     /* waiting for any frame since the ping */
	bool in_auth;	     /* on the --auth-timeout list */
	bool dirty;	     /* on net.flush_head: frames to write */
	/* liveness: connections in order of last activity from the peer */
	struct ws_conn *idle_prev, *idle_next;
	double last_seen; /* ev_now() of the last frame received */
	/* the client address's key in the per-address count (addr.c), and
	 * the --auth-timeout list of connections not yet signed in, oldest
	 * first */
	uint64_t addr_key;
	double opened;
	struct ws_conn *auth_prev, *auth_next;
	struct ws_conn *flush_next;
};

/* A connection's subscription to one circle. */
struct net_sub {
	struct ws_conn *conn;
	int64_t circle;
	struct vis_viewer *viewer; /* fanout.c viewer_copy(): posted[] cut */
	size_t index;		   /* position in the circle's array */
	int64_t from; /* the seq its subscribe answered: live events after */
};

/* One HTTP transaction being answered. */
struct http_conn {
	uint64_t id;	 /* for RPC_OUT_HTTP, 0 if not routed */
	struct buf body; /* request body being collected */
	bool body_too_large;
	char *path; /* malloc'd for the request (not kept in
		       every idle WebSocket's session data) */
	char *query;
	char method[8];
	bool head;	   /* HEAD: headers only */
	char *cors_origin; /* malloc'd: a configured Origin to answer CORS
			      for, or NULL */
	/* the answer, once known */
	bool have_resp;
	struct http_resp resp;
	size_t sent;
};

/* Per-session data; lws allocates one per connection. */
union net_pss {
	struct ws_conn ws;
	struct http_conn http;
};

/* Server-wide state, loop thread only. */
struct net_state {
	struct net_opts opts;
	struct lws_context *context;
	struct lws_vhost *vhost;
	struct u64map conns;	/* id -> ws_conn */
	struct u64map http;	/* id -> wsi of a routed HTTP request */
	struct u64map circles;	/* circle -> struct circle_subs */
	struct u64map accounts; /* account -> struct conn_list */
	uint64_t next_id;
	int nconns; /* WebSocket connections */
	bool shutting_down;
	char *allowed;			       /* copy of allowed_origins */
	struct ws_conn *idle_head, *idle_tail; /* least recently heard first */
	double now;	     /* loop time, set by the idle timer */
	struct u64map addrs; /* hash(client address) -> WebSockets */
	struct ws_conn *auth_head, *auth_tail; /* not signed in, oldest first */
	bool direct;		    /* plain TCP: frames written with writev */
	struct ws_conn *flush_head; /* connections with frames to write */
};

extern struct net_state net;

/* http.c */
int net_http_callback(struct lws *wsi, enum lws_callback_reasons reason,
		      void *user, void *in, size_t len);
void net_http_answer(uint64_t http_id, struct http_resp *resp);
/* Adds the security headers every response carries. */
int net_security_headers(struct lws *wsi, unsigned char **p,
			 unsigned char *end);
/* The session token from the Cookie header or Authorization: Bearer; the
 * result is written into out (NUL-terminated), returns its length or 0. */
size_t net_request_token(struct lws *wsi, char *out, size_t outlen);
/* The value of cookie name into out; its length, or 0 when absent. */
size_t net_request_cookie(struct lws *wsi, const char *name, char *out,
			  size_t outlen);

/* ws.c */
/* The Origin is the server's own (scheme + Host, or --public-url's) or a
 * configured --allowed-origin. */
bool net_origin_allowed(struct lws *wsi, const char *origin);
/* The Origin is one of --allowed-origin (CORS is answered for these). */
bool net_origin_configured(const char *origin);
int net_ws_callback(struct lws *wsi, enum lws_callback_reasons reason,
		    void *user, void *in, size_t len);
/* Queues shared bytes to a connection; closes it (1008) past the limit. */
void net_ws_send(struct ws_conn *c, struct refbuf *rb);
void net_ws_close(struct ws_conn *c, int code, const char *reason);
/* Writes what the connections queued since the last call (once per loop
 * iteration, after the outputs are applied). */
void net_ws_flush(void);

/* Called once a second: pings connections idle past --idle-ping and drops
 * those silent past --idle-hangup. Cost: the idle ones only. */
void net_idle_sweep(double now);
/* Once a second: asks for the events a circle's delivery gate still waits
 * for (fanout.c). */
void net_gate_tick(void);

/* addr.c */
/* The client address: the peer's, or from Forwarded / X-Forwarded-For when
 * the peer is a --trusted-proxy. */
void net_client_addr(struct lws *wsi, char *out, size_t outlen);
/* Whether addr holds --max-connections-per-address WebSockets already. */
bool net_addr_full(const char *addr);
/* Counts a WebSocket of addr in (+1) or out (-1). */
void net_addr_add(uint64_t key, int delta);
/* The key of an address in that count (a 64-bit hash, never 0). */
uint64_t net_addr_key(const char *addr);

/* fanout.c */
void net_apply_outputs(void);
void net_sub_remove_all(struct ws_conn *c);
void net_account_unlink(struct ws_conn *c);

#endif
