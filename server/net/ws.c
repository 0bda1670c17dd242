/*
 * ws.c - the /ws endpoint: upgrade checks (Origin, connection limit),
 * message assembly under the size limit, and the bounded send queue.
 *
 * Each connection's queue is a ring of pointers to shared, reference-counted
 * buffers: an event for a thousand subscribers is one buffer with a thousand
 * references, not a thousand copies.
 *
 * Writing (see docs/architecture.md, "Send queues"). On plain TCP the
 * frames are written by us, not by lws: a connection that got something
 * queued is put on a flush list, and once per loop iteration (after the
 * executor's outputs are applied) each one gets one writev() of all its
 * queued frames (each a 2-10 byte header we make plus the shared payload),
 * with no POLLOUT arming when the socket takes it all. The byte stream
 * stays whole because lws only ever writes to a WebSocket between frames:
 * we write directly only when lws holds no unsent bytes of its own
 * (lws_partial_buffered) and no ping or close of ours is due; if the kernel
 * takes part of a frame, the rest of that frame goes to lws's own output
 * buffer (lws_write LWS_WRITE_RAW), which lws sends before anything else,
 * and the rest of the queue waits for the WRITEABLE callback. Pings and the
 * close frame are written by lws in the WRITEABLE callback, between our
 * frames. Under TLS every frame goes through lws_write in WRITEABLE.
 */
#include "net/internal.h"
#include "util/log.h"
#include "util/queue.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

bool net_origin_configured(const char *origin)
{
	const char *list = net.allowed;

	while (list && *list) {
		const char *comma = strchr(list, ',');
		size_t n = comma ? (size_t)(comma - list) : strlen(list);

		if (n && strlen(origin) == n && strncmp(origin, list, n) == 0)
			return true;
		list = comma ? comma + 1 : NULL;
	}
	return false;
}

bool net_origin_allowed(struct lws *wsi, const char *origin)
{
	char host[256], own[300];

	if (lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) <= 0)
		host[0] = '\0';
	snprintf(own, sizeof(own), "%s://%s",
		 lws_is_ssl(wsi) ? "https" : "http", host);
	if (host[0] && strcmp(origin, own) == 0)
		return true;
	if (net.opts.public_url[0] &&
	    strncmp(origin, net.opts.public_url, strlen(origin)) == 0 &&
	    (net.opts.public_url[strlen(origin)] == '\0' ||
	     net.opts.public_url[strlen(origin)] == '/'))
		return true;
	return net_origin_configured(origin);
}

/* Answers a refused upgrade with a status and closes (returns > 0). The
 * status line is written here: at this point lws would write "HTTP/1.0",
 * which strict clients reject (R2 contract deviation). */
static int refuse(struct lws *wsi, unsigned int status, const char *why)
{
	unsigned char buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start,
					   *end = buf + sizeof(buf) - 1;
	size_t len = strlen(why);
	const char *phrase = status == 403   ? "Forbidden"
			     : status == 429 ? "Too Many Requests"
			     : status == 503 ? "Service Unavailable"
					     : "Refused";
	char clen[24];

	p += snprintf((char *)p, (size_t)(end - p), "HTTP/1.1 %u %s\r\n",
		      status, phrase);
	snprintf(clen, sizeof(clen), "%zu", len);
	if (lws_add_http_header_by_name(
		    wsi, (const unsigned char *)"content-type:",
		    (const unsigned char *)"text/plain", 10, &p, end) ||
	    lws_add_http_header_by_name(
		    wsi, (const unsigned char *)"content-length:",
		    (const unsigned char *)clen, (int)strlen(clen), &p, end) ||
	    lws_add_http_header_by_name(
		    wsi, (const unsigned char *)"connection:",
		    (const unsigned char *)"close", 5, &p, end) ||
	    net_security_headers(wsi, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	lws_write(wsi, (unsigned char *)why, len, LWS_WRITE_HTTP_FINAL);
	return 1;
}

void net_ws_close(struct ws_conn *c, int code, const char *reason)
{
	if (c->close_code)
		return;
	c->close_code = (uint16_t)code;
	free(c->close_reason);
	c->close_reason = xstrdup(reason ? reason : "");
	lws_callback_on_writable(c->wsi);
}

void net_ws_send(struct ws_conn *c, struct refbuf *rb)
{
	if (c->close_code)
		return;
	if (sendq_push(&c->q, rb)) {
		/* SPEC §5: a client that does not read is cut off; nobody
		 * else waits for it */
		log_info("net", "conn %llu: send queue over %u bytes, closing",
			 (unsigned long long)c->id, c->q.limit);
		net_ws_close(c, 1008, "send queue full");
		return;
	}
	if (!net.direct) {
		lws_callback_on_writable(c->wsi);
		return;
	}
	if (!c->dirty) {
		c->dirty = true;
		c->flush_next = net.flush_head;
		net.flush_head = c;
	}
}

/* Frames written by one writev at most. */
#define DIRECT_FRAMES 32

/* The header of an unmasked final text frame of len bytes. */
static size_t frame_header(unsigned char *h, size_t len)
{
	h[0] = 0x81;
	if (len < 126) {
		h[1] = (unsigned char)len;
		return 2;
	}
	if (len < 65536) {
		h[1] = 126;
		h[2] = (unsigned char)(len >> 8);
		h[3] = (unsigned char)len;
		return 4;
	}
	h[1] = 127;
	for (int i = 0; i < 8; i++)
		h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	return 10;
}

/*
 * Writes queued frames with writev until the queue is empty or the socket
 * is full. Only called when lws has no bytes of this connection buffered.
 * Returns 0, or -1 when the connection is broken.
 */
static int write_frames(struct ws_conn *c)
{
	int fd = lws_get_socket_fd(c->wsi);

	while (c->q.len) {
		unsigned char hdr[DIRECT_FRAMES][10];
		struct iovec iov[2 * DIRECT_FRAMES];
		size_t lens[DIRECT_FRAMES], total = 0, done;
		unsigned n =
			c->q.len < DIRECT_FRAMES ? c->q.len : DIRECT_FRAMES;
		struct msghdr mh;
		ssize_t w;

		for (unsigned i = 0; i < n; i++) {
			struct refbuf *rb =
				c->q.ring[(c->q.head + i) % c->q.cap];
			size_t hl = frame_header(hdr[i], rb->len);

			iov[2 * i].iov_base = hdr[i];
			iov[2 * i].iov_len = hl;
			iov[2 * i + 1].iov_base = (void *)refbuf_bytes(rb);
			iov[2 * i + 1].iov_len = rb->len;
			lens[i] = hl + rb->len;
			total += lens[i];
		}
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		mh.msg_iovlen = 2 * n;
		w = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				lws_callback_on_writable(c->wsi);
				return 0;
			}
			return -1;
		}
		done = (size_t)w;
		for (unsigned i = 0; i < n; i++) {
			if (done >= lens[i]) {
				done -= lens[i];
				sendq_pop(&c->q);
				continue;
			}
			if (done) {
				/* a frame cut short: its rest goes to lws's
				 * buffer, sent before any frame of lws's own */
				unsigned char *rest;
				size_t hl = iov[2 * i].iov_len, rl;
				struct refbuf *rb = sendq_peek(&c->q);

				rl = lens[i] - done;
				rest = xmalloc(rl);
				if (done < hl) {
					memcpy(rest, hdr[i] + done, hl - done);
					memcpy(rest + (hl - done),
					       refbuf_bytes(rb), rb->len);
				} else {
					memcpy(rest,
					       refbuf_bytes(rb) + (done - hl),
					       rl);
				}
				sendq_pop(&c->q);
				if (lws_write(c->wsi, rest, rl, LWS_WRITE_RAW) <
				    0) {
					free(rest);
					return -1;
				}
				free(rest);
			}
			/* the socket is full: wait for WRITEABLE */
			lws_callback_on_writable(c->wsi);
			return 0;
		}
		if ((size_t)w < total)
			break; /* not reached: the loop above returns */
	}
	return 0;
}

void net_ws_flush(void)
{
	struct ws_conn *c, *next;

	for (c = net.flush_head; c; c = next) {
		next = c->flush_next;
		c->flush_next = NULL;
		c->dirty = false;
		if (!c->id || !c->q.len)
			continue;
		if (c->close_code || c->ping_due ||
		    lws_partial_buffered(c->wsi)) {
			/* lws writes first (its buffer, our ping or close):
			 * the queue follows from WRITEABLE */
			lws_callback_on_writable(c->wsi);
			continue;
		}
		if (write_frames(c) < 0) {
			/* broken (the peer is gone): nothing more is queued
			 * for it, and lws closes it when it reads the error.
			 * No lws_set_timeout here: each one is a sorted insert
			 * into lws's one timer list, and a client process
			 * that exits drops thousands of sockets at once */
			sendq_clear(&c->q);
			c->close_code = 1001;
			free(c->close_reason);
			c->close_reason = xstrdup("gone");
		}
	}
	net.flush_head = NULL;
}

/* ---- liveness ----
 * lws 4.1 keeps its per-connection ping/hang-up timers in one sorted list
 * whose every insert walks the list: at 10,000 connections the loop
 * stalled for seconds (tests/bench). Instead, connections sit in a list in
 * the order they were last heard from; hearing from one moves it to the
 * tail (O(1)), and a one-second sweep looks only at the idle head. */
static void idle_unlink(struct ws_conn *c)
{
	if (c->idle_prev)
		c->idle_prev->idle_next = c->idle_next;
	else if (net.idle_head == c)
		net.idle_head = c->idle_next;
	if (c->idle_next)
		c->idle_next->idle_prev = c->idle_prev;
	else if (net.idle_tail == c)
		net.idle_tail = c->idle_prev;
	c->idle_prev = c->idle_next = NULL;
}

static void idle_touch(struct ws_conn *c)
{
	c->last_seen = net.now;
	c->ping_sent = false;
	if (net.idle_tail == c)
		return;
	idle_unlink(c);
	c->idle_prev = net.idle_tail;
	QUEUE_APPEND(net.idle_head, net.idle_tail, c, c, idle_next);
}

/* ---- --auth-timeout: connections not signed in, oldest first ---- */
static void auth_unlink(struct ws_conn *c)
{
	if (!c->in_auth)
		return;
	if (c->auth_prev)
		c->auth_prev->auth_next = c->auth_next;
	else
		net.auth_head = c->auth_next;
	if (c->auth_next)
		c->auth_next->auth_prev = c->auth_prev;
	else
		net.auth_tail = c->auth_prev;
	c->auth_prev = c->auth_next = NULL;
	c->in_auth = false;
}

static void auth_append(struct ws_conn *c)
{
	c->in_auth = true;
	c->auth_prev = net.auth_tail;
	c->auth_next = NULL;
	QUEUE_APPEND(net.auth_head, net.auth_tail, c, c, auth_next);
}

/* Closes connections that did not sign in within --auth-timeout (R2-F4);
 * those that did leave the list here, lazily. */
static void auth_sweep(double now)
{
	struct ws_conn *c, *next;

	for (c = net.auth_head; c; c = next) {
		next = c->auth_next;
		if (c->account) {
			auth_unlink(c);
			continue;
		}
		if (now - c->opened < net.opts.auth_timeout_s)
			break;
		auth_unlink(c);
		net_ws_close(c, 1008, "authentication timeout");
	}
}

void net_idle_sweep(double now)
{
	struct ws_conn *c, *next;

	net.now = now;
	if (net.opts.auth_timeout_s > 0)
		auth_sweep(now);
	for (c = net.idle_head; c; c = next) {
		double idle = now - c->last_seen;

		next = c->idle_next;
		if (idle < net.opts.idle_ping_s)
			break; /* the rest were heard from more recently */
		if (idle >= net.opts.idle_hangup_s) {
			/* no answer to our ping: the peer is gone */
			idle_unlink(c);
			lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND,
					LWS_TO_KILL_ASYNC);
			continue;
		}
		if (!c->ping_sent) {
			c->ping_sent = true;
			c->ping_due = true;
			lws_callback_on_writable(c->wsi);
		}
	}
}

static void on_established(struct lws *wsi, struct ws_conn *c)
{
	char peer[64], ua[256], token[256];
	size_t tlen;

	memset(c, 0, sizeof(*c));
	c->wsi = wsi;
	c->id = ++net.next_id;
	c->q.limit = net.opts.max_queue > UINT_MAX
			     ? UINT_MAX
			     : (unsigned)net.opts.max_queue;
	idle_touch(c);
	net.nconns++;
	u64map_put(&net.conns, c->id, c);
	net_client_addr(wsi, peer, sizeof(peer));
	c->addr_key = net_addr_key(peer);
	net_addr_add(c->addr_key, 1);
	c->opened = net.now;
	auth_append(c);
	if (lws_hdr_copy(wsi, ua, sizeof(ua), WSI_TOKEN_HTTP_USER_AGENT) < 0)
		ua[0] = '\0';
	tlen = net_request_token(wsi, token, sizeof(token));
	rpc_conn_open(c->id, peer, ua, tlen ? token : NULL);
	memset(token, 0, sizeof(token));
}

static void on_closed(struct ws_conn *c)
{
	if (!c->id)
		return;
	if (c->dirty) {
		/* unlink from the flush list */
		struct ws_conn **pp = &net.flush_head;

		while (*pp && *pp != c)
			pp = &(*pp)->flush_next;
		if (*pp)
			*pp = c->flush_next;
		c->dirty = false;
	}
	idle_unlink(c);
	auth_unlink(c);
	net_addr_add(c->addr_key, -1);
	net_sub_remove_all(c);
	net_account_unlink(c);
	u64map_del(&net.conns, c->id);
	net.nconns--;
	sendq_clear(&c->q);
	buf_free(&c->rx);
	free(c->close_reason);
	c->close_reason = NULL;
	rpc_conn_close(c->id);
	c->id = 0;
}

/* Hands a whole text message to the executor (which copies it) and wipes
 * the bytes: a message may carry a password (auth.login). */
static void submit(struct lws *wsi, struct ws_conn *c, void *msg, size_t len)
{
	if (rpc_submit_message(c->id, msg, len) >= RPC_PAUSE_AT)
		lws_rx_flow_control(wsi, 0); /* until RPC_OUT_RESUME */
	if (len)
		explicit_bzero(msg, len);
}

static void on_receive(struct lws *wsi, struct ws_conn *c, void *in, size_t len)
{
	bool final = lws_is_final_fragment(wsi) &&
		     !lws_remaining_packet_payload(wsi);

	idle_touch(c);
	if (final && !c->rx.len && !c->rx_oversize &&
	    len <= net.opts.max_message && !lws_frame_is_binary(wsi)) {
		/* the usual message, in one fragment: no copy of ours (a
		 * buffer kept per connection was 128 bytes of every idle
		 * connection's memory) */
		submit(wsi, c, in, len);
		return;
	}
	if (!c->rx_oversize) {
		if (c->rx.len + len > net.opts.max_message) {
			/* never buffered past the limit: drop what we have
			 * and discard the rest of this message */
			c->rx_oversize = true;
			buf_free(&c->rx);
		} else {
			buf_add(&c->rx, in, len);
		}
	}
	if (!final)
		return;
	if (c->rx_oversize) {
		struct refbuf *rb =
			rpc_error_bytes(RPC_E_TOO_LARGE, "message too large");

		net_ws_send(c, rb);
		refbuf_unref(rb);
		c->rx_oversize = false;
		rpc_metrics_count("(invalid)", RPC_E_TOO_LARGE, 0);
		return;
	}
	if (lws_frame_is_binary(wsi)) {
		struct refbuf *rb =
			rpc_error_bytes(RPC_E_INVALID_REQUEST,
					"binary frames are not JSON-RPC");

		net_ws_send(c, rb);
		refbuf_unref(rb);
		buf_reset(&c->rx);
		return;
	}
	{
		static char none[1];

		submit(wsi, c, c->rx.data ? c->rx.data : none, c->rx.len);
	}
	buf_free(&c->rx); /* keep idle connections small */
}

static int on_writeable(struct lws *wsi, struct ws_conn *c)
{
	struct refbuf *rb;
	int n;

	/* What was queued before a close (the reply to the call that closed
	 * the session, say) still goes out first; only an overflowing queue
	 * is cut off at once. */
	if (c->close_code && (c->close_code == 1008 || !c->q.len)) {
		const char *why = c->close_reason ? c->close_reason : "";

		lws_close_reason(wsi, (enum lws_close_status)c->close_code,
				 (unsigned char *)why, strlen(why));
		return -1;
	}
	if (c->ping_due) {
		unsigned char ping[LWS_PRE + 1];

		/* a payload: lws 4.1 passes an empty PONG to no callback,
		 * and the pong echoes this byte */
		c->ping_due = false;
		ping[LWS_PRE] = 's';
		if (lws_write(wsi, ping + LWS_PRE, 1, LWS_WRITE_PING) < 0)
			return -1;
		if (c->q.len || c->close_code)
			lws_callback_on_writable(wsi);
		return 0;
	}
	if (net.direct) {
		/* lws's buffer is empty at WRITEABLE: our frames go now */
		if (write_frames(c) < 0)
			return -1;
		if (!c->q.len && c->close_code)
			lws_callback_on_writable(wsi);
		return 0;
	}
	rb = sendq_peek(&c->q);
	if (!rb)
		return 0;
	n = lws_write(wsi, refbuf_bytes(rb), rb->len, LWS_WRITE_TEXT);
	sendq_pop(&c->q);
	if (n < 0)
		return -1;
	if (c->q.len || c->close_code)
		lws_callback_on_writable(wsi);
	return 0;
}

int net_ws_callback(struct lws *wsi, enum lws_callback_reasons reason,
		    void *user, void *in, size_t len)
{
	struct ws_conn *c = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: {
		char origin[256];

		if (net.shutting_down)
			return refuse(wsi, 503, "shutting down");
		if (net.nconns >= net.opts.max_connections)
			return refuse(wsi, 503, "too many connections");
		{
			char addr[64];

			net_client_addr(wsi, addr, sizeof(addr));
			if (net_addr_full(addr)) {
				log_info("net",
					 "refused upgrade: %s holds %d "
					 "connections",
					 addr, net.opts.max_per_address);
				return refuse(wsi, 429,
					      "too many connections from "
					      "this address");
			}
		}
		if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0) {
			if (lws_hdr_copy(wsi, origin, sizeof(origin),
					 WSI_TOKEN_ORIGIN) < 0 ||
			    !net_origin_allowed(wsi, origin)) {
				log_info("net",
					 "refused upgrade from origin "
					 "%.100s",
					 origin);
				return refuse(wsi, 403, "origin not allowed");
			}
		}
		return 0;
	}
	case LWS_CALLBACK_ESTABLISHED:
		on_established(wsi, c);
		return 0;
	case LWS_CALLBACK_RECEIVE:
		on_receive(wsi, c, in, len);
		net_ws_flush(); /* an error answered here */
		return 0;
	case LWS_CALLBACK_RECEIVE_PONG:
		idle_touch(c);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return on_writeable(wsi, c);
	case LWS_CALLBACK_CLOSED:
		on_closed(c);
		return 0;
	default:
		return 0;
	}
}
