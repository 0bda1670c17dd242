/*
 * server.c - the lws context on a libev loop we own, signals, wake-ups from
 * the executor, and graceful shutdown.
 *
 * We create the libev loop ourselves and hand it to lws as a foreign loop:
 * lws 4.1 has no call to leave a loop it owns, and owning it lets SIGTERM
 * and SIGINT arrive as ordinary ev_signal watchers on the loop thread.
 * Shutdown (SPEC §1): stop accepting (new HTTP and upgrades get 503), close
 * every WebSocket with 1001, give the clients a moment to finish the close
 * handshake, then leave the loop; the caller stops the executor, which
 * commits the transaction in flight, and the store checkpoints the WAL.
 */
#include "net/internal.h"
#include "util/log.h"

#include <ev.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct net_state net;

static struct ev_loop *loop;
static ev_signal sig_term, sig_int, sig_hup;
static void (*reload_hook)(struct net_reload *r);
static ev_timer shutdown_timer, idle_timer;
static double shutdown_started;

static int callback(struct lws *wsi, enum lws_callback_reasons reason,
		    void *user, void *in, size_t len)
{
	switch (reason) {
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		net_apply_outputs();
		return 0;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
	case LWS_CALLBACK_ESTABLISHED:
	case LWS_CALLBACK_RECEIVE:
	case LWS_CALLBACK_RECEIVE_PONG:
	case LWS_CALLBACK_SERVER_WRITEABLE:
	case LWS_CALLBACK_CLOSED:
		return net_ws_callback(wsi, reason, user, in, len);
	default:
		return net_http_callback(wsi, reason, user, in, len);
	}
}

/* One callback for both so that an upgrade naming no sub-protocol (bound
 * to the first protocol) is served like one naming scholia.v1. The rx
 * buffer (allocated by lws per connection) is small: net/ws.c assembles
 * messages from pieces of any size, and an idle connection should cost
 * little (docs/benchmarks.md). */
#define NET_RX_BUFFER 256
static const struct lws_protocols protocols[] = {
	{"http", callback, sizeof(union net_pss), NET_RX_BUFFER, 0, NULL, 0},
	{"scholia.v1", callback, sizeof(union net_pss), NET_RX_BUFFER, 0, NULL,
	 0},
	{NULL, NULL, 0, 0, 0, NULL, 0}};

static void wake_loop(void *arg)
{
	(void)arg;
	if (net.context)
		lws_cancel_service(net.context);
}

static void close_all(uint64_t key, void *val, void *arg)
{
	(void)key;
	(void)arg;
	net_ws_close(val, 1001, "server shutting down");
}

static void idle_tick(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	net_idle_sweep(ev_now(l));
	net_gate_tick();
}

static void shutdown_check(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	/* leave when every WebSocket is gone, or after 3 s at most */
	if (net.nconns == 0 || ev_now(l) - shutdown_started > 3.0)
		ev_break(l, EVBREAK_ALL);
}

static void on_signal(struct ev_loop *l, ev_signal *w, int revents)
{
	(void)revents;
	if (net.shutting_down)
		return;
	log_info("net", "signal %d: shutting down", w->signum);
	net.shutting_down = true;
	u64map_each(&net.conns, close_all, NULL);
	shutdown_started = ev_now(l);
	ev_timer_init(&shutdown_timer, shutdown_check, 0.05, 0.05);
	ev_timer_start(l, &shutdown_timer);
}

void net_on_reload(void (*fn)(struct net_reload *r))
{
	reload_hook = fn;
}

/* A whole file into a new buffer (caller frees); NULL on failure. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 &&
	    n < 1024 * 1024 && fseek(f, 0, SEEK_SET) == 0) {
		data = malloc((size_t)n + 1);
		if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
			free(data);
			data = NULL;
		} else if (data) {
			data[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return data;
}

/* Re-reads the certificate and key into every vhost that uses them; open
 * connections keep the session they have, new ones get the new pair. */
static void tls_reload(void)
{
	size_t clen = 0, klen = 0;
	char *cert = slurp(net.opts.tls_cert, &clen);
	char *key = slurp(net.opts.tls_key, &klen);

	if (!cert || !key)
		log_warn("net",
			 "cannot read %s or %s: keeping the old "
			 "certificate",
			 net.opts.tls_cert, net.opts.tls_key);
	else if (lws_tls_cert_updated(net.context, net.opts.tls_cert,
				      net.opts.tls_key, cert, clen, key, klen))
		log_warn("net", "the new certificate was refused: keeping "
				"the old one");
	else
		log_info("net", "reloaded the TLS certificate %s",
			 net.opts.tls_cert);
	if (key)
		explicit_bzero(key, klen);
	free(key);
	free(cert);
}

static void on_reload(struct ev_loop *l, ev_signal *w, int revents)
{
	struct net_reload r = {net.opts.max_connections};

	(void)l;
	(void)w;
	(void)revents;
	log_info("net", "SIGHUP: reloading the settings that can change "
			"without a restart");
	if (reload_hook)
		reload_hook(&r);
	if (r.max_connections > 0)
		net.opts.max_connections = r.max_connections;
	if (net.opts.tls_cert && net.opts.tls_key)
		tls_reload();
}

/* lws's own signal hook (it watches SIGINT on event loops) */
static void lws_signal(void *handle, int signum)
{
	(void)handle;
	(void)signum;
	if (!net.shutting_down) {
		sig_int.signum = SIGINT;
		on_signal(loop, &sig_int, 0);
	}
}

int net_serve(const struct net_opts *opts)
{
	static const uint32_t backoff[] = {1000};
	struct lws_context_creation_info info;
	lws_retry_bo_t retry = {0};
	void *foreign[1];
	struct rpc_exec_opts eo = RPC_EXEC_OPTS_INIT;
	int rc;

	memset(&net, 0, sizeof(net));
	net.opts = *opts;
	/* two malloc arenas: the loop, the executor and the front threads
	 * each allocating in an arena of their own kept megabytes mostly
	 * empty (RSS per idle connection) */
	mallopt(M_ARENA_MAX, 2);
	/* plain TCP: frames are written by net/ws.c directly (writev);
	 * SCHOLIA_DIRECT_WRITE=0 keeps lws's writeable path (benchmarks) */
	net.direct = !(opts->tls_cert && opts->tls_cert[0]) &&
		     !(getenv("SCHOLIA_DIRECT_WRITE") &&
		       strcmp(getenv("SCHOLIA_DIRECT_WRITE"), "0") == 0);
	net.allowed =
		xstrdup(opts->allowed_origins ? opts->allowed_origins : "");
	lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
	signal(SIGPIPE, SIG_IGN);

	loop = ev_loop_new(EVFLAG_AUTO);
	if (!loop) {
		log_error("net", "cannot create the event loop");
		return 1;
	}
	foreign[0] = loop;
	/* no per-connection idle timers in lws (see net_idle_sweep) */
	retry.retry_ms_table = backoff;
	retry.retry_ms_table_count = 1;
	retry.secs_since_valid_ping = 0;
	retry.secs_since_valid_hangup = 0;

	memset(&info, 0, sizeof(info));
	info.port = opts->port;
	info.iface = opts->host;
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_LIBEV |
		       LWS_SERVER_OPTION_VALIDATE_UTF8 |
		       LWS_SERVER_OPTION_DISABLE_IPV6;
	info.foreign_loops = foreign;
	info.signal_cb = lws_signal;
	info.timeout_secs = (unsigned int)opts->http_timeout_s;
	/* the header phase too: a client dribbling headers is cut off */
	info.timeout_secs_ah_idle = (unsigned int)opts->http_timeout_s;
	info.retry_and_idle_policy = &retry;
	/* no fd_limit_per_thread: with it, lws 4.1 finds the connection of
	 * every ready fd by a linear scan of its table (wsi_from_fd), 19 % of
	 * the server's CPU at 10,000 connections; without it the table is
	 * indexed by fd (sized from the fd limit). --max-connections is
	 * enforced at the upgrade (net/ws.c). */
	info.max_http_header_data = 4096;
	info.keepalive_timeout = 5;
	if (opts->tls_cert && opts->tls_key) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = opts->tls_cert;
		info.ssl_private_key_filepath = opts->tls_key;
		if (opts->redirect_http)
			info.options |=
				LWS_SERVER_OPTION_REDIRECT_HTTP_TO_HTTPS |
				LWS_SERVER_OPTION_ALLOW_NON_SSL_ON_SSL_PORT;
	}

	/* After a crash the port can stay taken for a while by the old
	 * process's orphaned sockets (clients that never closed their end):
	 * keep trying for up to 30 s rather than give up at once. */
	for (int tries = 0; tries < 60; tries++) {
		net.context = lws_create_context(&info);
		if (net.context || net.shutting_down)
			break;
		if (tries == 0)
			log_warn("net",
				 "cannot listen on %s:%d yet (port in "
				 "use?); retrying for up to 30 s",
				 opts->host, opts->port);
		usleep(500000);
	}
	if (!net.context) {
		log_error("net", "cannot listen on %s:%d", opts->host,
			  opts->port);
		ev_loop_destroy(loop);
		free(net.allowed);
		return 1;
	}

	eo.db = opts->exec_db;
	eo.pool = opts->pool;
	eo.wake = wake_loop;
	rc = rpc_exec_start(&eo);
	if (rc) {
		log_error("net", "cannot start the store executor");
		lws_context_destroy(net.context);
		ev_loop_destroy(loop);
		free(net.allowed);
		return 1;
	}

	net.now = ev_now(loop);
	ev_timer_init(&idle_timer, idle_tick, 1.0, 1.0);
	ev_timer_start(loop, &idle_timer);
	ev_signal_init(&sig_term, on_signal, SIGTERM);
	ev_signal_start(loop, &sig_term);
	ev_signal_init(&sig_int, on_signal, SIGINT);
	ev_signal_start(loop, &sig_int);
	ev_signal_init(&sig_hup, on_reload, SIGHUP);
	ev_signal_start(loop, &sig_hup);
	log_info("net", "listening on %s://%s:%d",
		 opts->tls_cert ? "https" : "http", opts->host, opts->port);

	ev_run(loop, 0);

	ev_signal_stop(loop, &sig_term);
	ev_signal_stop(loop, &sig_int);
	ev_signal_stop(loop, &sig_hup);
	ev_timer_stop(loop, &shutdown_timer);
	ev_timer_stop(loop, &idle_timer);
	/* the executor finishes what is queued and commits */
	rpc_exec_stop();
	lws_context_destroy(net.context);
	net.context = NULL;
	ev_loop_destroy(loop);
	u64map_free(&net.conns);
	u64map_free(&net.http);
	u64map_free(&net.circles);
	u64map_free(&net.accounts);
	u64map_free(&net.addrs);
	free(net.allowed);
	log_info("net", "stopped");
	return 0;
}
