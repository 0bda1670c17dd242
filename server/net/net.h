/*
 * net.h - the transport: one libwebsockets context on a libev loop serving
 * HTTP (static web app, /healthz, /metrics, /api/...) and the WebSocket
 * endpoint /ws. The only code that includes libwebsockets.h.
 */
#ifndef SCH_NET_H
#define SCH_NET_H

#include <stdbool.h>
#include <stddef.h>

struct store;
struct pool;

/* Options of the server; start from NET_OPTS_INIT. */
struct net_opts {
	const char *host; /* listen address */
	int port;
	const char *web_dir;	     /* static files */
	const char *public_url;	     /* "" = from Host */
	const char *allowed_origins; /* comma-separated extra origins */
	const char *tls_cert;	     /* PEM paths; NULL: plain HTTP */
	const char *tls_key;
	bool redirect_http;	     /* with TLS: also answer :80-style
					plain requests with a redirect */
	int max_connections;	     /* 20,000 */
	size_t max_message;	     /* 64 KiB */
	size_t max_queue;	     /* 1 MiB of unsent data */
	int idle_ping_s;	     /* ping an idle WebSocket after this */
	int idle_hangup_s;	     /* and hang up after this */
	int http_timeout_s;	     /* headers/body must arrive within */
	struct store *exec_db;	     /* the executor's connection (taken) */
	struct pool *pool;	     /* worker pool (borrowed) */
	int max_per_address;	     /* WebSockets per client address; 0 none */
	int auth_timeout_s;	     /* unauthenticated WebSocket lifetime */
	const char *trusted_proxies; /* comma-separated proxy addresses */
};

#define NET_OPTS_INIT                                                          \
	{                                                                      \
		"127.0.0.1", 8080, "web", "", "", NULL, NULL, false, 20000,    \
			65536, 1048576, 30, 75, 10, NULL, NULL, 64, 60, ""     \
	}

/* What SIGHUP may change without a restart (systemctl reload). The hook
 * gets the current values and changes those it re-read. */
struct net_reload {
	int max_connections;
};
/* Sets the hook SIGHUP calls on the loop thread before it re-reads the TLS
 * certificate and key (renewed certificates, no connection dropped). */
void net_on_reload(void (*fn)(struct net_reload *r));

/* Serves until SIGTERM/SIGINT, then shuts down gracefully (SPEC §1):
 * stop accepting, close WebSockets with 1001, let the executor commit what
 * is in flight, return 0. Returns nonzero if the server cannot start. */
int net_serve(const struct net_opts *opts);

#endif
