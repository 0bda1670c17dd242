/*
 * loadgen.c - the load generator of the Scholia benchmark suite.
 *
 * A self-contained WebSocket client (its own RFC 6455 framing, SHA-1 and
 * base64, so that a framing bug in the server's library cannot hide behind
 * the same library on the client side) driven by epoll. One "run" spreads
 * up to tens of thousands of connections over several forked worker
 * processes, each bound to a source address in 127.0.0.2-127.0.0.9, and
 * drives them through phases sent by the parent over a pipe: connect ramp,
 * idle, open-loop Poisson load (latency measured from the intended send
 * time, so a stalled server cannot hide its stall: no coordinated omission),
 * closed-loop write saturation, a login storm, and kill -9 + reconnect
 * storm with since_seq catch-up. Every subscriber checks it sees each event
 * of its circles once, in seq order. The parent reads the server's RSS and
 * CPU time from /proc, prints a table and writes a JSON file.
 *
 * Sub-commands:
 *   loadgen selftest                      SHA-1/base64/accept vectors
 *   loadgen info   --port P               server.info over our framing
 *   loadgen setup  --port P --out FILE ...    accounts, circles, annotations
 *   loadgen run    --port P --state FILE ...  the measured phases
 *   loadgen raw    --conns N --msgs M     loopback write() baseline
 *
 * Two nodes (tests/bench/run with BENCH_PG=2): `run --port2 P2 --pidfile2
 * F2` sends every second connection (and every second writer) to the
 * second node; each post's body names the node it was written on
 * ("bench <ns> n<node>"), so fan-out latency is also kept apart for the
 * events written on the receiver's own node and on the other one, and the
 * server figures (CPU, RSS) are read from both processes.
 *
 * Build: cc -O2 -o loadgen loadgen.c -lm (libc only). Traffic goes to
 * 127.0.0.0/8 only; every loop is bounded in count and in time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* small helpers */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "loadgen: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p && n)
		die("out of memory");
	return p;
}

/* xorshift64*: fast, per process, good enough for load shapes. */
static uint64_t rng_state = 88172645463325252ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static double rnd01(void)
{
	return (double)(rnd() >> 11) / 9007199254740992.0;
}

/* ------------------------------------------------------------------ */
/* SHA-1 (FIPS 180-4) and base64, just enough for Sec-WebSocket-Accept */

static uint32_t rol(uint32_t x, int n)
{
	return (x << n) | (x >> (32 - n));
}

static void sha1_block(uint32_t h[5], const uint8_t *p)
{
	uint32_t w[80], a, b, c, d, e, f, k, t;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (i = 16; i < 80; i++)
		w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
	for (i = 0; i < 80; i++) {
		if (i < 20)
			f = (b & c) | (~b & d), k = 0x5A827999;
		else if (i < 40)
			f = b ^ c ^ d, k = 0x6ED9EBA1;
		else if (i < 60)
			f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
		else
			f = b ^ c ^ d, k = 0xCA62C1D6;
		t = rol(a, 5) + f + e + k + w[i];
		e = d, d = c, c = rol(b, 30), b = a, a = t;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

static void sha1(const void *data, size_t len, uint8_t out[20])
{
	uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476,
			 0xC3D2E1F0};
	const uint8_t *p = data;
	uint8_t tail[128];
	size_t full = len / 64 * 64, rest = len - full, tl;
	uint64_t bits = (uint64_t)len * 8;
	int i;

	for (size_t o = 0; o < full; o += 64)
		sha1_block(h, p + o);
	memset(tail, 0, sizeof(tail));
	memcpy(tail, p + full, rest);
	tail[rest] = 0x80;
	tl = rest + 1 + 8 <= 64 ? 64 : 128;
	for (i = 0; i < 8; i++)
		tail[tl - 1 - i] = (uint8_t)(bits >> (8 * i));
	sha1_block(h, tail);
	if (tl == 128)
		sha1_block(h, tail + 64);
	for (i = 0; i < 5; i++) {
		out[4 * i] = (uint8_t)(h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(h[i] >> 8);
		out[4 * i + 3] = (uint8_t)h[i];
	}
}

static void base64(const uint8_t *in, size_t n, char *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		*out++ = tab[in[i] >> 2];
		*out++ = tab[(in[i] & 3) << 4 | in[i + 1] >> 4];
		*out++ = tab[(in[i + 1] & 15) << 2 | in[i + 2] >> 6];
		*out++ = tab[in[i + 2] & 63];
	}
	if (n - i == 1) {
		*out++ = tab[in[i] >> 2];
		*out++ = tab[(in[i] & 3) << 4];
		*out++ = '=';
		*out++ = '=';
	} else if (n - i == 2) {
		*out++ = tab[in[i] >> 2];
		*out++ = tab[(in[i] & 3) << 4 | in[i + 1] >> 4];
		*out++ = tab[(in[i + 1] & 15) << 2];
		*out++ = '=';
	}
	*out = 0;
}

/* out: 29 bytes. */
static void ws_accept_for(const char *key, char *out)
{
	char buf[128];
	uint8_t d[20];

	snprintf(buf, sizeof(buf), "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11",
		 key);
	sha1(buf, strlen(buf), d);
	base64(d, 20, out);
}

/* ------------------------------------------------------------------ */
/* log-linear histogram of microseconds (HdrHistogram-like, ~3%) */

#define HB 1024
struct hist {
	uint64_t n;
	uint64_t max;
	uint64_t c[HB];
};

static int hidx(uint64_t v)
{
	int e, i;

	if (v < 64)
		return (int)v;
	e = 63 - __builtin_clzll(v);
	i = 64 + (e - 6) * 32 + (int)((v >> (e - 5)) & 31);
	return i < HB ? i : HB - 1;
}

static uint64_t hval(int i)
{
	int e;
	uint64_t m;

	if (i < 64)
		return (uint64_t)i;
	e = (i - 64) / 32 + 6;
	m = 32 + (uint64_t)((i - 64) % 32);
	/* middle of the bucket */
	return (m << (e - 5)) + ((1ull << (e - 5)) >> 1);
}

static void hadd(struct hist *h, uint64_t us)
{
	h->c[hidx(us)]++;
	h->n++;
	if (us > h->max)
		h->max = us;
}

static void hmerge(struct hist *a, const struct hist *b)
{
	for (int i = 0; i < HB; i++)
		a->c[i] += b->c[i];
	a->n += b->n;
	if (b->max > a->max)
		a->max = b->max;
}

/* percentile in microseconds; 0 when empty */
static double hpct(const struct hist *h, double p)
{
	uint64_t want, acc = 0;

	if (!h->n)
		return 0;
	want = (uint64_t)ceil(p / 100.0 * (double)h->n);
	if (want < 1)
		want = 1;
	for (int i = 0; i < HB; i++) {
		acc += h->c[i];
		if (acc >= want) {
			uint64_t v = hval(i);
			return (double)(v > h->max ? h->max : v);
		}
	}
	return (double)h->max;
}

/* ------------------------------------------------------------------ */
/* a minimal JSON walker over [p, e): enough to read our replies/events */

static const char *jws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* returns the end of the value starting at p, or NULL */
static const char *jskip(const char *p, const char *e)
{
	int depth = 0;

	p = jws(p, e);
	if (p >= e)
		return NULL;
	do {
		if (p >= e)
			return NULL;
		if (*p == '"') {
			for (p++; p < e && *p != '"'; p++)
				if (*p == '\\')
					p++;
			if (p >= e)
				return NULL;
			p++;
		} else if (*p == '{' || *p == '[') {
			depth++;
			p++;
		} else if (*p == '}' || *p == ']') {
			depth--;
			p++;
		} else if (depth == 0) {
			/* scalar at top */
			while (p < e && *p != ',' && *p != '}' && *p != ']' &&
			       *p != ' ' && *p != '\n')
				p++;
			return p;
		} else {
			p++;
		}
	} while (depth > 0);
	return p;
}

/* value of key in the object at obj (which starts at '{'), or NULL */
static const char *jget(const char *obj, const char *e, const char *key)
{
	size_t kl = strlen(key);
	const char *p = jws(obj, e), *ks, *ke;

	if (!p || p >= e || *p != '{')
		return NULL;
	p++;
	for (;;) {
		p = jws(p, e);
		if (p >= e || *p == '}' || *p != '"')
			return NULL;
		ks = p + 1;
		p = jskip(p, e);
		if (!p)
			return NULL;
		ke = p - 1;
		p = jws(p, e);
		if (p >= e || *p != ':')
			return NULL;
		p = jws(p + 1, e);
		if ((size_t)(ke - ks) == kl && memcmp(ks, key, kl) == 0)
			return p;
		p = jskip(p, e);
		if (!p)
			return NULL;
		p = jws(p, e);
		if (p < e && *p == ',')
			p++;
	}
}

static int64_t jint(const char *v, const char *e, int64_t dflt)
{
	int64_t x = 0;
	int neg = 0;

	if (!v || v >= e)
		return dflt;
	if (*v == '-')
		neg = 1, v++;
	if (v >= e || *v < '0' || *v > '9')
		return dflt;
	while (v < e && *v >= '0' && *v <= '9')
		x = x * 10 + (*v++ - '0');
	return neg ? -x : x;
}

/* copies a JSON string value (no escapes expected) into out */
static int jstr(const char *v, const char *e, char *out, size_t cap)
{
	size_t n = 0;

	if (!v || v >= e || *v != '"')
		return -1;
	for (v++; v < e && *v != '"' && n + 1 < cap; v++)
		out[n++] = *v;
	out[n] = 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* configuration, state file */

#define MAXCIRC 512
static struct {
	const char *host;
	int port;
	int64_t chapter, c10, c1000, cw;
	int n100;
	int64_t c100[MAXCIRC];
	char owner_tok[128];
	int nacct;
	char (*tok)[128];
	char (*handle)[40];
	char password[64];
} st = {"127.0.0.1",	   8080, 0, 0, 0, 0, 0, {0}, "", 0, NULL, NULL,
	"bench-password-1"};

static void state_load(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512], a[64], b[40], c[128];
	long long x;

	if (!f)
		die("cannot read %s", path);
	while (fgets(line, sizeof(line), f)) {
		char w[16];

		if (sscanf(line, "%15s", w) != 1)
			continue;
		if (!strcmp(w, "chapter") && sscanf(line, "%*s %lld", &x) == 1)
			st.chapter = x;
		else if (!strcmp(w, "c10") && sscanf(line, "%*s %lld", &x) == 1)
			st.c10 = x;
		else if (!strcmp(w, "c1000") &&
			 sscanf(line, "%*s %lld", &x) == 1)
			st.c1000 = x;
		else if (!strcmp(w, "cw") && sscanf(line, "%*s %lld", &x) == 1)
			st.cw = x;
		else if (!strcmp(w, "owner") &&
			 sscanf(line, "%*s %127s", c) == 1)
			snprintf(st.owner_tok, sizeof(st.owner_tok), "%s", c);
		else if (!strcmp(w, "c100") &&
			 sscanf(line, "%*s %63s %lld", a, &x) == 2 &&
			 st.n100 < MAXCIRC)
			st.c100[st.n100++] = x;
		else if (!strcmp(w, "m") &&
			 sscanf(line, "%*s %63s %39s %127s", a, b, c) == 3) {
			int i = atoi(a);

			if (i >= st.nacct) {
				int n = i + 1024;

				st.tok = xrealloc(st.tok, (size_t)n * 128);
				st.handle = xrealloc(st.handle, (size_t)n * 40);
				for (int j = st.nacct; j < n; j++)
					st.tok[j][0] = st.handle[j][0] = 0;
				st.nacct = n;
			}
			snprintf(st.handle[i], 40, "%s", b);
			snprintf(st.tok[i], 128, "%s", c);
		}
	}
	fclose(f);
	while (st.nacct > 0 && !st.tok[st.nacct - 1][0])
		st.nacct--;
}

/* ------------------------------------------------------------------ */
/* connections */

enum cstate { C_FREE, C_TCP, C_HS, C_OPEN, C_DOWN };
enum role { R_MEMBER, R_WRITER, R_LOGIN, R_SETUP, R_BARE };
enum op {
	OP_RESUME,
	OP_SUB,
	OP_CREATE,
	OP_REPLY,
	OP_LIST,
	OP_CHGET,
	OP_LOGIN,
	OP_REGISTER,
	OP_JOIN,
	OP_OTHER,
	OP_CLIST,
	NOP
};
static const char *const op_name[NOP] = {
	"auth.resume",	"circle.subscribe", "annotation.create",
	"reply.create", "annotation.list",  "chapter.get",
	"auth.login",	"auth.register",    "circle.join",
	"other",	"client.list"};

#define NPEND 32
#define NSUB 3
struct pend {
	uint64_t id, t;
	uint8_t op;
	int8_t sub;
};

struct conn {
	int fd;
	int idx;  /* slot */
	int acct; /* account index, -1: owner */
	uint8_t state, role, frag, closing;
	int port;
	char accept[32];
	uint8_t *rx;
	size_t rxn, rxcap;
	uint8_t *tx;
	size_t txn, txoff, txcap;
	uint8_t *msg;
	size_t msgn, msgcap;
	int nsub, subok;
	int64_t circ[NSUB], last[NSUB], ann[NSUB];
	struct pend pend[NPEND];
	int npend;
	uint64_t nextid;
	uint64_t t_retry, t_start;
	int backoff, caught, epout;
	int step;		 /* setup state machine */
	uint32_t src;		 /* source address (host order), 0: spread */
	char reply[256];	 /* setup: last reply's result bits */
	uint64_t list_due[NSUB]; /* naive client: re-fetch at this time */
	uint8_t node;		 /* two nodes: 0 --port, 1 --port2 */
};

/* LOADGEN_CLIENT=naive: each connection behaves as the web app's reader
 * did before it applied events (web/js/reader.js): every annotation,
 * reply or reaction event of a circle schedules a re-fetch of the
 * chapter's annotation.list 60 ms later, the timer restarting with each
 * event (debounce). Counted as the op "client.list". Default ("events"):
 * the client applies the event and sends nothing. */
static int g_naive_client;
#define CLIENT_DEBOUNCE_NS 60000000ull

/* two nodes on one database: the second node's port (0: one node) */
static int port2;

static int node_port(const struct conn *c)
{
	return port2 && c->node ? port2 : st.port;
}

static int ep = -1;
static struct conn *conns;
static int nconns;

/* counters of one phase in one worker */
#define NCSLOT MAXCIRC
struct report {
	uint64_t sent[NOP], acked[NOP], errs[NOP];
	uint64_t deliveries, replayed, lost, dup, closes, timeouts, overflow,
		resync, conn_ok, conn_fail, skipped, late;
	uint64_t cpu_us;	     /* this worker's CPU time in the phase */
	uint64_t t_first, t_last;    /* connect/reconnect: first ok, all done */
	uint64_t posts_circ[NCSLOT]; /* acked posts per circle slot */
	uint64_t nev;		     /* event entries that follow */
	struct hist ack[NOP], fan, login;
	/* two nodes: fan-out of events written on the receiver's node and
	 * on the other node */
	struct hist fan_same, fan_cross;
};
static struct report rep;

/* per-event last-recipient table: key circle<<32|seq -> max latency us */
#define EVT (1u << 19)
static uint64_t *ev_key;
static uint32_t *ev_lat;
static uint64_t ev_n;

static void ev_note(int64_t circle, int64_t seq, uint64_t us)
{
	uint64_t k = ((uint64_t)circle << 32) | (uint64_t)(uint32_t)seq;
	uint64_t h = (k * 0x9E3779B97F4A7C15ull) >> 45;

	if (!ev_key) {
		ev_key = calloc(EVT, sizeof(*ev_key));
		ev_lat = calloc(EVT, sizeof(*ev_lat));
		if (!ev_key || !ev_lat)
			die("out of memory");
	}
	for (uint32_t i = 0; i < 64; i++) {
		uint32_t s = (uint32_t)(h + i) & (EVT - 1);

		if (ev_key[s] == k) {
			if (us > ev_lat[s])
				ev_lat[s] = (uint32_t)us;
			return;
		}
		if (!ev_key[s]) {
			if (ev_n > EVT / 2)
				return;
			ev_key[s] = k;
			ev_lat[s] = (uint32_t)us;
			ev_n++;
			return;
		}
	}
}

static void ev_clear(void)
{
	if (ev_key) {
		memset(ev_key, 0, EVT * sizeof(*ev_key));
		ev_n = 0;
	}
}

static int circ_slot(int64_t c)
{
	if (c == st.c10)
		return 0;
	if (c == st.c1000)
		return 1;
	if (c == st.cw)
		return 2;
	for (int i = 0; i < st.n100; i++)
		if (st.c100[i] == c)
			return 3 + i < NCSLOT ? 3 + i : NCSLOT - 1;
	return NCSLOT - 1;
}

static void buf_put(uint8_t **b, size_t *n, size_t *cap, const void *p,
		    size_t len)
{
	if (*n + len > *cap) {
		size_t nc = *cap ? *cap : 1024;

		while (nc < *n + len)
			nc *= 2;
		*b = xrealloc(*b, nc);
		*cap = nc;
	}
	memcpy(*b + *n, p, len);
	*n += len;
}

static void ep_mod(struct conn *c, int out)
{
	struct epoll_event ev;

	if (c->epout == out)
		return;
	ev.events = EPOLLIN | (out ? EPOLLOUT : 0);
	ev.data.u32 = (uint32_t)c->idx;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	c->epout = out;
}

static void conn_drop(struct conn *c);

static void conn_flush(struct conn *c)
{
	while (c->txoff < c->txn) {
		ssize_t w = write(c->fd, c->tx + c->txoff, c->txn - c->txoff);

		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				if (errno == EAGAIN) {
					ep_mod(c, 1);
					return;
				}
				continue;
			}
			conn_drop(c);
			return;
		}
		c->txoff += (size_t)w;
	}
	c->txn = c->txoff = 0;
	if (c->txcap > 65536) {
		free(c->tx);
		c->tx = NULL;
		c->txcap = 0;
	}
	ep_mod(c, 0);
}

/* one masked frame: op 1 text, 8 close, 10 pong */
static void ws_send(struct conn *c, int op, const void *data, size_t len)
{
	uint8_t h[14], *p;
	size_t hl = 2, start;
	uint32_t m = (uint32_t)rnd();

	h[0] = (uint8_t)(0x80 | op);
	if (len < 126) {
		h[1] = (uint8_t)(0x80 | len);
	} else if (len < 65536) {
		h[1] = 0x80 | 126;
		h[2] = (uint8_t)(len >> 8);
		h[3] = (uint8_t)len;
		hl = 4;
	} else {
		h[1] = 0x80 | 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
		hl = 10;
	}
	memcpy(h + hl, &m, 4);
	hl += 4;
	buf_put(&c->tx, &c->txn, &c->txcap, h, hl);
	start = c->txn;
	buf_put(&c->tx, &c->txn, &c->txcap, data, len);
	p = c->tx + start;
	for (size_t i = 0; i < len; i++)
		p[i] ^= h[hl - 4 + (i & 3)];
	conn_flush(c);
}

/* sends a request; returns its id (0 when the table is full) */
static uint64_t rpc_send(struct conn *c, int op, int sub, uint64_t t_int,
			 const char *method, const char *fmt, ...)
{
	char buf[2048], params[1600];
	va_list ap;
	int n;
	uint64_t id;

	if (c->state != C_OPEN)
		return 0;
	if (c->npend >= NPEND) {
		rep.overflow++;
		return 0;
	}
	va_start(ap, fmt);
	vsnprintf(params, sizeof(params), fmt, ap);
	va_end(ap);
	id = ++c->nextid;
	n = snprintf(buf, sizeof(buf),
		     "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"method\":\"%s\","
		     "\"params\":%s}",
		     (unsigned long long)id, method, params);
	c->pend[c->npend].id = id;
	c->pend[c->npend].t = t_int;
	c->pend[c->npend].op = (uint8_t)op;
	c->pend[c->npend].sub = (int8_t)sub;
	c->npend++;
	rep.sent[op]++;
	ws_send(c, 1, buf, (size_t)n);
	return id;
}

static void conn_free_bufs(struct conn *c)
{
	free(c->rx);
	free(c->tx);
	free(c->msg);
	c->rx = c->tx = c->msg = NULL;
	c->rxn = c->rxcap = c->txn = c->txoff = c->txcap = 0;
	c->msgn = c->msgcap = 0;
}

/* close and mark down (reconnect decides the caller's phase logic) */
static int reconnect_mode;

static void conn_drop(struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	conn_free_bufs(c);
	if (c->state == C_OPEN && !c->closing)
		rep.closes++;
	c->state = c->role == R_MEMBER ? C_DOWN : C_FREE;
	c->npend = 0;
	c->frag = 0;
	c->closing = 0;
	c->epout = 0;
	c->caught = 0;
	c->subok = 0;
	if (reconnect_mode && c->role == R_MEMBER) {
		c->backoff = c->backoff ? c->backoff * 2 : 20;
		if (c->backoff > 500)
			c->backoff = 500;
		c->t_retry =
			now_ns() +
			(uint64_t)(rnd() % (uint64_t)c->backoff) * 1000000ull;
	}
}

static int conn_start(struct conn *c, int port)
{
	struct sockaddr_in a, src;
	struct epoll_event ev;
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		rep.conn_fail++;
		c->state = c->role == R_MEMBER ? C_DOWN : C_FREE;
		return -1;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
#ifdef IP_BIND_ADDRESS_NO_PORT
	setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		   sizeof(one));
#endif
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	src.sin_addr.s_addr =
		htonl(c->src ? c->src : 0x7f000002u + (uint32_t)(c->idx % 8));
	bind(c->fd, (struct sockaddr *)&src, sizeof(src));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, st.host, &a.sin_addr);
	if ((ntohl(a.sin_addr.s_addr) >> 24) != 127)
		die("only 127.0.0.0/8 is allowed");
	c->port = port;
	c->t_start = now_ns();
	if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0 &&
	    errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		rep.conn_fail++;
		c->state = c->role == R_MEMBER ? C_DOWN : C_FREE;
		return -1;
	}
	c->state = C_TCP;
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.u32 = (uint32_t)c->idx;
	c->epout = 1;
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
	return 0;
}

static void send_handshake(struct conn *c)
{
	uint8_t k[16];
	char key[32], req[512];
	int n;

	for (int i = 0; i < 16; i++)
		k[i] = (uint8_t)rnd();
	base64(k, 16, key);
	ws_accept_for(key, c->accept);
	n = snprintf(req, sizeof(req),
		     "GET /ws HTTP/1.1\r\nHost: %s:%d\r\n"
		     "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
		     "Sec-WebSocket-Protocol: scholia.v1\r\n\r\n",
		     st.host, c->port, key);
	c->state = C_HS;
	buf_put(&c->tx, &c->txn, &c->txcap, req, (size_t)n);
	conn_flush(c);
}

static void on_open(struct conn *c);
static void on_message(struct conn *c, const char *p, size_t n);

static uint64_t framing_errors, handshake_errors;

/* the HTTP 101 answer; 1 when complete, 0 need more, -1 bad */
static int parse_handshake(struct conn *c)
{
	char *end, *h, *v;
	size_t hl;

	end = memmem(c->rx, c->rxn, "\r\n\r\n", 4);
	if (!end)
		return c->rxn > 8192 ? -1 : 0;
	hl = (size_t)(end - (char *)c->rx) + 4;
	end[2] = 0;
	if (strncmp((char *)c->rx, "HTTP/1.1 101", 12) != 0)
		return -1;
	h = strcasestr((char *)c->rx, "\r\nSec-WebSocket-Accept:");
	if (!h)
		return -1;
	v = h + 23;
	while (*v == ' ')
		v++;
	if (strncmp(v, c->accept, 28) != 0)
		return -1;
	memmove(c->rx, c->rx + hl, c->rxn - hl);
	c->rxn -= hl;
	return 1;
}

/* frames in rx; fragmentation reassembled in msg */
static void parse_frames(struct conn *c)
{
	size_t off = 0;

	while (c->state == C_OPEN && c->rxn - off >= 2) {
		uint8_t *p = c->rx + off;
		int fin = p[0] & 0x80, op = p[0] & 15;
		uint64_t len = p[1] & 127;
		size_t hl = 2;

		if (p[1] & 0x80) {
			/* a server must not mask */
			framing_errors++;
			conn_drop(c);
			return;
		}
		if (len == 126) {
			if (c->rxn - off < 4)
				break;
			len = (uint64_t)p[2] << 8 | p[3];
			hl = 4;
		} else if (len == 127) {
			if (c->rxn - off < 10)
				break;
			len = 0;
			for (int i = 0; i < 8; i++)
				len = len << 8 | p[2 + i];
			hl = 10;
		}
		if (len > (64u << 20)) {
			framing_errors++;
			conn_drop(c);
			return;
		}
		if (c->rxn - off < hl + len)
			break;
		p += hl;
		switch (op) {
		case 0:
			if (!c->frag) {
				framing_errors++;
				break;
			}
			buf_put(&c->msg, &c->msgn, &c->msgcap, p, len);
			if (fin) {
				c->frag = 0;
				on_message(c, (char *)c->msg, c->msgn);
				c->msgn = 0;
			}
			break;
		case 1:
		case 2:
			if (c->frag)
				framing_errors++;
			if (fin) {
				on_message(c, (char *)p, len);
			} else {
				c->frag = 1;
				c->msgn = 0;
				buf_put(&c->msg, &c->msgn, &c->msgcap, p, len);
			}
			break;
		case 8:
			if (!c->closing) {
				c->closing = 1;
				ws_send(c, 8, p, len >= 2 ? 2 : 0);
			}
			off = c->rxn;
			if (!reconnect_mode || c->role != R_MEMBER)
				rep.closes++;
			conn_drop(c);
			return;
		case 9:
			ws_send(c, 10, p, len);
			break;
		case 10:
			break;
		default:
			framing_errors++;
		}
		if (c->state != C_OPEN)
			return;
		off += hl + len;
	}
	if (off && c->rx) {
		memmove(c->rx, c->rx + off, c->rxn - off);
		c->rxn -= off;
	}
}

static void conn_readable(struct conn *c)
{
	for (int rounds = 0; rounds < 16; rounds++) {
		ssize_t r;

		if (c->rxcap - c->rxn < 4096) {
			c->rxcap = c->rxcap ? c->rxcap * 2 : 8192;
			c->rx = xrealloc(c->rx, c->rxcap);
		}
		r = read(c->fd, c->rx + c->rxn, c->rxcap - c->rxn - 1);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_drop(c);
			return;
		}
		if (r < 0)
			return;
		c->rxn += (size_t)r;
		if (c->state == C_HS) {
			int h = parse_handshake(c);

			if (h < 0) {
				handshake_errors++;
				rep.conn_fail++;
				c->closing = 1;
				conn_drop(c);
				return;
			}
			if (h == 0)
				continue;
			c->state = C_OPEN;
			c->backoff = 0;
			on_open(c);
			if (c->state != C_OPEN)
				return;
		}
		parse_frames(c);
		if (c->state != C_OPEN)
			return;
		if ((size_t)r < 4096)
			return;
	}
}

static void conn_event(struct conn *c, uint32_t evs)
{
	if (c->state == C_TCP) {
		int err = 0;
		socklen_t l = sizeof(err);

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err) {
			rep.conn_fail++;
			c->closing = 1;
			conn_drop(c);
			return;
		}
		if (evs & EPOLLOUT)
			send_handshake(c);
		return;
	}
	if (evs & EPOLLOUT)
		conn_flush(c);
	if (c->state != C_FREE && c->state != C_DOWN &&
	    (evs & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		conn_readable(c);
}

/* one epoll round with a timeout in ns */
static void loop_once(uint64_t timeout_ns)
{
	struct epoll_event evs[256];
	struct timespec ts;
	int n;

	ts.tv_sec = (time_t)(timeout_ns / 1000000000ull);
	ts.tv_nsec = (long)(timeout_ns % 1000000000ull);
	n = epoll_pwait2(ep, evs, 256, &ts, NULL);
	for (int i = 0; i < n; i++) {
		uint32_t k = evs[i].data.u32;

		if (k == UINT32_MAX)
			continue;
		conn_event(&conns[k], evs[i].events);
	}
}

/* ------------------------------------------------------------------ */
/* messages */

static int64_t g_setup_result_id;
static int g_verbose;

static void handle_event(struct conn *c, const char *params, const char *e,
			 int live)
{
	const char *pc = jget(params, e, "circle"),
		   *ps = jget(params, e, "seq");
	int64_t circle = jint(pc, e, -1), seq = jint(ps, e, -1);
	int s;

	if (seq < 0)
		return; /* presence: no seq */
	for (s = 0; s < c->nsub; s++)
		if (c->circ[s] == circle)
			break;
	if (s == c->nsub)
		return;
	if (seq <= c->last[s]) {
		rep.dup++;
		return;
	}
	if (c->last[s] >= 0 && seq > c->last[s] + 1)
		rep.lost += (uint64_t)(seq - c->last[s] - 1);
	c->last[s] = seq;
	if (!live) {
		rep.replayed++;
		return;
	}
	rep.deliveries++;
	if (g_naive_client) {
		const char *ty = jget(params, e, "type");

		if (ty && (memcmp(ty, "\"annotation.", 12) == 0 ||
			   memcmp(ty, "\"reply.", 7) == 0 ||
			   memcmp(ty, "\"reaction.", 10) == 0))
			c->list_due[s] = now_ns() + CLIENT_DEBOUNCE_NS;
	}
	{
		const char *d = jget(params, e, "data");
		const char *b = d ? jget(d, e, "body") : NULL;

		if (b && e - b > 8 && memcmp(b, "\"bench ", 7) == 0) {
			uint64_t t = (uint64_t)jint(b + 7, e, 0),
				 now = now_ns();

			if (t && now > t) {
				uint64_t us = (now - t) / 1000;
				const char *q = b + 7;

				hadd(&rep.fan, us);
				ev_note(circle, seq, us);
				while (q < e && *q >= '0' && *q <= '9')
					q++;
				if (port2 && e - q > 3 && q[0] == ' ' &&
				    q[1] == 'n')
					hadd(q[2] - '0' == c->node
						     ? &rep.fan_same
						     : &rep.fan_cross,
					     us);
			}
		}
	}
}

static void on_reply(struct conn *c, struct pend *pd, const char *res,
		     const char *err, const char *e);
static struct conn *sync_conn;
static void on_message_sync(const char *p, size_t n);

static void on_message(struct conn *c, const char *p, size_t n)
{
	const char *e = p + n, *m, *id;

	if (c == sync_conn)
		on_message_sync(p, n);
	m = jget(p, e, "method");
	if (m && e - m > 7 && memcmp(m, "\"event\"", 7) == 0) {
		const char *params = jget(p, e, "params");

		if (params)
			handle_event(c, params, e, 1);
		return;
	}
	id = jget(p, e, "id");
	if (!id)
		return;
	{
		uint64_t x = (uint64_t)jint(id, e, -1);

		for (int i = 0; i < c->npend; i++) {
			if (c->pend[i].id == x) {
				struct pend pd = c->pend[i];

				c->pend[i] = c->pend[--c->npend];
				on_reply(c, &pd, jget(p, e, "result"),
					 jget(p, e, "error"), e);
				return;
			}
		}
	}
}

/* ------------------------------------------------------------------ */
/* load phase: what a member connection does */

static int body_pad = 120;

/* The naive client's re-fetches that are due (at most every 5 ms). */
static void client_lists(void)
{
	static uint64_t last;
	uint64_t now = now_ns();

	if (!g_naive_client || now - last < 5000000ull)
		return;
	last = now;
	for (int i = 0; i < nconns; i++) {
		struct conn *c = &conns[i];

		for (int s = 0; s < c->nsub; s++) {
			if (!c->list_due[s] || c->list_due[s] > now)
				continue;
			c->list_due[s] = 0;
			if (c->state != C_OPEN || c->npend >= NPEND - 4)
				continue;
			rpc_send(c, OP_CLIST, s, now, "annotation.list",
				 "{\"circle\":%lld,\"chapter\":%lld}",
				 (long long)c->circ[s], (long long)st.chapter);
		}
	}
}

static void make_body(char *out, size_t cap, uint64_t t, int node)
{
	int n = port2 ? snprintf(out, cap, "bench %llu n%d ",
				 (unsigned long long)t, node)
		      : snprintf(out, cap, "bench %llu ",
				 (unsigned long long)t);

	for (int i = 0; i < body_pad && (size_t)n + 2 < cap; i++)
		out[n++] = "Aa bb cc dd, ee. "[i % 17];
	out[n] = 0;
}

static void send_post(struct conn *c, int op, int sub, uint64_t t)
{
	char body[512];

	make_body(body, sizeof(body), t, c->node);
	if (op == OP_REPLY && c->ann[sub] > 0)
		rpc_send(c, OP_REPLY, sub, t, "reply.create",
			 "{\"annotation\":%lld,\"body\":\"%s\"}",
			 (long long)c->ann[sub], body);
	else
		rpc_send(c, OP_CREATE, sub, t, "annotation.create",
			 "{\"circle\":%lld,\"chapter\":%lld,\"target\":null,"
			 "\"body\":\"%s\",\"visibility\":\"circle\"}",
			 (long long)c->circ[sub], (long long)st.chapter, body);
}

static void send_subscribes(struct conn *c)
{
	for (int s = 0; s < c->nsub; s++) {
		if (c->last[s] >= 0)
			rpc_send(c, OP_SUB, s, now_ns(), "circle.subscribe",
				 "{\"circle\":%lld,\"since_seq\":%lld}",
				 (long long)c->circ[s], (long long)c->last[s]);
		else
			rpc_send(c, OP_SUB, s, now_ns(), "circle.subscribe",
				 "{\"circle\":%lld}", (long long)c->circ[s]);
	}
}

/* writer phase parameters */
static struct {
	int64_t circle, chapter;
	int win;
	uint64_t end;
	char token[128];
} wr;

static uint64_t login_t0;
static uint64_t setup_done, setup_fail;

static void setup_next(struct conn *c);

static void on_open(struct conn *c)
{
	switch (c->role) {
	case R_MEMBER:
		rpc_send(c, OP_RESUME, -1, now_ns(), "auth.resume",
			 "{\"token\":\"%s\"}", st.tok[c->acct]);
		send_subscribes(c);
		break;
	case R_WRITER:
		rpc_send(c, OP_RESUME, -1, now_ns(), "auth.resume",
			 "{\"token\":\"%s\"}",
			 c->acct >= 0 ? st.tok[c->acct] : wr.token);
		break;
	case R_LOGIN:
		rpc_send(c, OP_LOGIN, -1, login_t0, "auth.login",
			 "{\"handle\":\"%s\",\"password\":\"%s\"}",
			 st.handle[c->acct], st.password);
		break;
	case R_SETUP:
		setup_next(c);
		break;
	default:
		break;
	}
}

static void writer_send(struct conn *c)
{
	char body[512];
	uint64_t t = now_ns();

	make_body(body, sizeof(body), t, c->node);
	rpc_send(c, OP_CREATE, -1, t, "annotation.create",
		 "{\"circle\":%lld,\"chapter\":%lld,\"target\":null,"
		 "\"body\":\"%s\",\"visibility\":\"circle\"}",
		 (long long)wr.circle, (long long)wr.chapter, body);
}

static void on_reply(struct conn *c, struct pend *pd, const char *res,
		     const char *err, const char *e)
{
	uint64_t now = now_ns(), us = now > pd->t ? (now - pd->t) / 1000 : 0;

	if (err || !res) {
		rep.errs[pd->op]++;
		if (g_verbose && rep.errs[pd->op] < 5)
			fprintf(stderr, "loadgen: %s error: %.*s\n",
				op_name[pd->op],
				err ? (int)(e - err < 200 ? e - err : 200) : 1,
				err ? err : "?");
		if (c->role == R_SETUP) {
			setup_fail++;
			c->reply[0] = 0;
			if (pd->op == OP_REGISTER)
				c->step = 5;
			setup_next(c);
		}
		if (c->role == R_LOGIN) {
			c->closing = 1;
			conn_drop(c);
		}
		if (c->role == R_MEMBER &&
		    (pd->op == OP_RESUME || pd->op == OP_SUB) &&
		    c->state == C_OPEN) {
			/* a member that cannot sign in or subscribe */
			rep.conn_fail++;
			c->closing = 1;
			conn_drop(c);
		}
		return;
	}
	rep.acked[pd->op]++;
	hadd(&rep.ack[pd->op], us);
	switch (pd->op) {
	case OP_SUB: {
		const char *sq = jget(res, e, "seq"), *evs;
		int s = pd->sub;

		if (jget(res, e, "resync"))
			rep.resync++;
		evs = jget(res, e, "events");
		if (evs && *evs == '[') {
			const char *q = evs + 1, *qe;

			for (int k = 0; k < 100000; k++) {
				q = jws(q, e);
				if (q >= e || *q != '{')
					break;
				qe = jskip(q, e);
				if (!qe)
					break;
				handle_event(c, q, qe, 0);
				q = jws(qe, e);
				if (q < e && *q == ',')
					q++;
			}
		}
		if (s >= 0 && s < c->nsub) {
			int64_t seq = jint(sq, e, -1);

			if (c->last[s] < 0 || seq > c->last[s])
				c->last[s] = seq;
		}
		if (++c->subok == c->nsub) {
			c->caught = 1;
			if (!rep.t_first)
				rep.t_first = now;
			rep.t_last = now;
			rep.conn_ok++;
		}
		break;
	}
	case OP_CREATE:
	case OP_REPLY:
		if (pd->op == OP_CREATE && pd->sub >= 0)
			c->ann[pd->sub] = jint(jget(res, e, "id"), e, 0);
		if (pd->sub >= 0)
			rep.posts_circ[circ_slot(c->circ[pd->sub])]++;
		else
			rep.posts_circ[2]++;
		if (c->role == R_WRITER && now < wr.end)
			writer_send(c);
		break;
	case OP_RESUME:
		if (c->role == R_WRITER) {
			rep.conn_ok++;
			for (int i = 0; i < wr.win; i++)
				writer_send(c);
		}
		break;
	case OP_LOGIN:
		hadd(&rep.login, us);
		c->closing = 1;
		conn_drop(c);
		break;
	default:
		if (c->role == R_SETUP) {
			const char *v;

			c->reply[0] = 0;
			v = jget(res, e, "token");
			if (v)
				jstr(v, e, c->reply, sizeof(c->reply));
			v = jget(res, e, "code");
			if (v)
				jstr(v, e, c->reply, sizeof(c->reply));
			v = jget(res, e, "id");
			if (v)
				g_setup_result_id = jint(v, e, 0);
			setup_next(c);
		}
	}
}

/* ------------------------------------------------------------------ */
/* setup: members register and join; the owner's steps are synchronous */

/* members 0..BENCH_WRITER_ACCTS-1 also join the write circle cw */
#define BENCH_WRITER_ACCTS 512

static struct {
	int n;	  /* members to create */
	int next; /* next member index to hand out */
	int conc; /* connections registering at once */
	char (*codes)[128];
	int ncodes; /* code index: 0 c10, 1 c1000, 2.. c100[k] */
	FILE *out;
} su;

/*
 * Each member registers on its own connection from its own source address
 * in 127.1.0.0/16, at most 25 members an address: auth.register is limited
 * per address (30 in ten minutes, 4 at once), and a benchmark's setup is
 * many people.
 */
#define SETUP_PER_ADDR 25

static void setup_start(struct conn *c)
{
	int i;

	if (su.next >= su.n)
		return;
	i = c->acct = su.next++;
	c->step = 0;
	c->role = R_SETUP;
	/* consecutive members on different addresses: a few registrations
	 * hash at once per address */
	{
		int naddr = (su.n + SETUP_PER_ADDR - 1) / SETUP_PER_ADDR;
		int a;

		if (naddr < su.conc)
			naddr = su.conc;
		a = i % naddr;
		c->src = 0x7f010000u + (uint32_t)(a / 250) * 256u + 1u +
			 (uint32_t)(a % 250);
	}
	conn_start(c, st.port);
}

/* member step machine: step 0 register, 1..4 joins, 5 done */
static void setup_next(struct conn *c)
{
	int i = c->acct;

	if (c->step == 1 && c->reply[0] && i >= 0) {
		fprintf(su.out, "m %d mem%d %s\n", i, i, c->reply);
		setup_done++;
	}
	if (c->step == 0 && i >= 0) {
		c->step = 1;
		rpc_send(c, OP_REGISTER, -1, now_ns(), "auth.register",
			 "{\"handle\":\"mem%d\",\"password\":\"%s\","
			 "\"display_name\":\"Member %d\"}",
			 i, st.password, i);
		return;
	}
	if (c->step >= 5 || i < 0) {
		/* this member is done: the next one on a new connection */
		c->closing = 1;
		conn_drop(c);
		setup_start(c);
		return;
	}
	/* joins: step 1 -> its c100, 2 -> c1000, 3 -> c10, 4 -> cw */
	for (;;) {
		int code = -1, s = c->step++;

		if (s == 1)
			code = 3 + i / 100;
		else if (s == 2 && i < 1000)
			code = 1;
		else if (s == 3 && i < 10)
			code = 0;
		else if (s == 4 && i < BENCH_WRITER_ACCTS)
			code = 2;
		if (s >= 5) {
			c->step = 5;
			setup_next(c);
			return;
		}
		if (code >= 0 && code < su.ncodes) {
			rpc_send(c, OP_JOIN, -1, now_ns(), "circle.join",
				 "{\"code\":\"%s\"}", su.codes[code]);
			return;
		}
	}
}

/* one synchronous call on a setup connection; returns 0 on a result */
static char sync_res[1 << 16];

static int sync_call(struct conn *c, const char *method, const char *params)
{
	uint64_t deadline = now_ns() + 30000000000ull;
	uint64_t before = rep.acked[OP_OTHER] + rep.errs[OP_OTHER];

	c->role = R_BARE; /* no setup step machine */
	sync_res[0] = 0;
	rpc_send(c, OP_OTHER, -1, now_ns(), method, "%s", params);
	while (rep.acked[OP_OTHER] + rep.errs[OP_OTHER] == before) {
		if (now_ns() > deadline || c->state != C_OPEN)
			return -1;
		loop_once(10000000);
	}
	return rep.errs[OP_OTHER] ? -1 : 0;
}

static void init_epoll(int n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	conns = calloc((size_t)n, sizeof(*conns));
	if (!conns || ep < 0)
		die("epoll/alloc failed");
	nconns = n;
	for (int i = 0; i < n; i++) {
		conns[i].fd = -1;
		conns[i].idx = i;
		conns[i].acct = -1;
		for (int s = 0; s < NSUB; s++)
			conns[i].last[s] = -1;
	}
}

static int open_sync(struct conn *c, int role)
{
	uint64_t deadline = now_ns() + 10000000000ull;

	c->role = (uint8_t)role;
	if (conn_start(c, st.port) < 0)
		return -1;
	while (c->state != C_OPEN && c->state != C_FREE && c->state != C_DOWN &&
	       now_ns() < deadline)
		loop_once(10000000);
	return c->state == C_OPEN ? 0 : -1;
}

static void on_message_sync(const char *p, size_t n)
{
	const char *e = p + n, *r = jget(p, e, "result");

	if (r) {
		const char *re = jskip(r, e);
		size_t l = re ? (size_t)(re - r) : 0;

		if (l >= sizeof(sync_res))
			l = sizeof(sync_res) - 1;
		memcpy(sync_res, r, l);
		sync_res[l] = 0;
	}
}

static int cmd_setup(int argc, char **argv)
{
	const char *out = NULL, *owner = "owner", *owner_pw = NULL;
	int members = 1000, conc = 48, annots = 2000, sizes_only = 0;
	char params[512], tok[128];
	struct conn *o;
	int64_t book = 0;
	uint64_t t0 = now_ns();

	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--port"))
			st.port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--out"))
			out = argv[i + 1];
		else if (!strcmp(argv[i], "--owner"))
			owner = argv[i + 1];
		else if (!strcmp(argv[i], "--owner-password"))
			owner_pw = argv[i + 1];
		else if (!strcmp(argv[i], "--members"))
			members = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--annotations"))
			annots = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--concurrency"))
			conc = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--writes-only"))
			sizes_only = atoi(argv[i + 1]);
	}
	if (!out || !owner_pw)
		die("setup needs --out and --owner-password");
	su.out = fopen(out, "w");
	if (!su.out)
		die("cannot write %s", out);
	init_epoll(conc + 1);
	o = &conns[conc];
	sync_conn = o;
	if (open_sync(o, R_BARE) < 0)
		die("setup: cannot connect to port %d", st.port);
	snprintf(params, sizeof(params),
		 "{\"handle\":\"%s\",\"password\":\"%s\"}", owner, owner_pw);
	if (sync_call(o, "auth.login", params) < 0)
		die("setup: owner login failed");
	jstr(jget(sync_res, sync_res + strlen(sync_res), "token"),
	     sync_res + strlen(sync_res), tok, sizeof(tok));
	fprintf(su.out, "owner %s\n", tok);
	if (sync_call(o, "book.list", "{}") < 0)
		die("setup: book.list failed");
	{
		const char *e = sync_res + strlen(sync_res);
		const char *it = jget(sync_res, e, "items");

		if (!it || *it != '[')
			die("setup: no books (is content/ imported?)");
		book = jint(jget(it + 1, e, "id"), e, 0);
	}
	snprintf(params, sizeof(params), "{\"book\":%lld}", (long long)book);
	if (sync_call(o, "book.toc", params) < 0)
		die("setup: book.toc failed");
	{
		/* the chapter with the most words */
		const char *e = sync_res + strlen(sync_res), *p = sync_res;
		int64_t best = 0, bw = -1;

		while ((p = strstr(p, "\"words\":")) != NULL) {
			const char *q = p;
			int64_t w = jint(p + 8, e, 0), id;

			while (q > sync_res && *q != '{')
				q--;
			id = jint(jget(q, e, "id"), e, 0);
			if (w > bw && id)
				bw = w, best = id;
			p += 8;
		}
		if (!best)
			die("setup: no chapter");
		st.chapter = best;
		fprintf(su.out, "chapter %lld\n", (long long)best);
	}
	/* circles: c10, c1000, cw (writes, owner alone), c100 x n */
	{
		int n100 = sizes_only ? 0 : (members + 99) / 100;
		int ncirc = 3 + n100;
		const char *names[3] = {"c10", "c1000", "cw"};

		su.codes = calloc((size_t)ncirc, sizeof(*su.codes));
		su.ncodes = 0;
		for (int k = 0; k < ncirc; k++) {
			int64_t id;
			char name[32];

			if (k < 3)
				snprintf(name, sizeof(name), "bench %s",
					 names[k]);
			else
				snprintf(name, sizeof(name), "bench c100-%d",
					 k - 3);
			snprintf(params, sizeof(params),
				 "{\"name\":\"%s\",\"book\":%lld}", name,
				 (long long)book);
			if (sync_call(o, "circle.create", params) < 0)
				die("setup: circle.create failed");
			id = jint(jget(sync_res, sync_res + strlen(sync_res),
				       "id"),
				  sync_res + strlen(sync_res), 0);
			if (k < 3)
				fprintf(su.out, "%s %lld\n", names[k],
					(long long)id);
			else
				fprintf(su.out, "c100 %d %lld\n", k - 3,
					(long long)id);
			if (k == 0)
				st.c10 = id;
			if (k == 1)
				st.c1000 = id;
			snprintf(params, sizeof(params), "{\"circle\":%lld}",
				 (long long)id);
			if (sync_call(o, "circle.invite", params) < 0)
				die("setup: circle.invite failed");
			{
				int slot = k;

				jstr(jget(sync_res, sync_res + strlen(sync_res),
					  "code"),
				     sync_res + strlen(sync_res),
				     su.codes[slot], 128);
				if (slot + 1 > su.ncodes)
					su.ncodes = slot + 1;
			}
		}
	}
	fflush(su.out);
	fprintf(stderr, "loadgen setup: circles ready in %.1f s\n",
		(double)(now_ns() - t0) / 1e9);
	/* 2,000 existing annotations in c1000's chapter (window 32) */
	{
		uint64_t deadline = now_ns() + 300000000000ull;
		int sent = 0;
		char body[512];

		o->role = R_BARE;
		o->nsub = 1;
		o->circ[0] = st.c1000;
		while ((rep.acked[OP_CREATE] + rep.errs[OP_CREATE] <
			(uint64_t)annots) &&
		       now_ns() < deadline && o->state == C_OPEN) {
			while (o->npend < 32 && sent < annots) {
				snprintf(body, sizeof(body),
					 "Existing note %d on this chapter: "
					 "a remark of ordinary length.",
					 sent);
				rpc_send(o, OP_CREATE, -1, now_ns(),
					 "annotation.create",
					 "{\"circle\":%lld,\"chapter\":%lld,"
					 "\"target\":null,\"body\":\"%s\","
					 "\"visibility\":\"circle\"}",
					 (long long)st.c1000,
					 (long long)st.chapter, body);
				sent++;
			}
			loop_once(10000000);
		}
		if (rep.errs[OP_CREATE])
			fprintf(stderr, "loadgen setup: %llu create errors\n",
				(unsigned long long)rep.errs[OP_CREATE]);
	}
	fprintf(stderr, "loadgen setup: %d annotations in %.1f s\n", annots,
		(double)(now_ns() - t0) / 1e9);
	/* members: conc connections, each registers and joins in turn */
	su.n = sizes_only ? 0 : members;
	su.next = 0;
	su.conc = conc;
	{
		uint64_t deadline = now_ns() + 900000000000ull;

		for (int k = 0; k < conc && k < su.n; k++)
			setup_start(&conns[k]);
		while (now_ns() < deadline) {
			int live = 0;

			for (int k = 0; k < conc; k++) {
				/* a connection that failed: next member */
				if (conns[k].state == C_FREE && su.next < su.n)
					setup_start(&conns[k]);
				if (conns[k].state != C_FREE &&
				    conns[k].state != C_DOWN)
					live++;
			}
			if (!live)
				break;
			loop_once(10000000);
		}
	}
	fclose(su.out);
	fprintf(stderr,
		"loadgen setup: %llu members registered (%llu failures) "
		"in %.1f s\n",
		(unsigned long long)setup_done, (unsigned long long)setup_fail,
		(double)(now_ns() - t0) / 1e9);
	return setup_done == (uint64_t)su.n && !setup_fail ? 0 : 1;
}

/* ------------------------------------------------------------------ */
/* run: the parent and its workers */

enum cmdtype { CMD_CONNECT = 1, CMD_LOAD, CMD_WRITERS, CMD_KILLWAIT, CMD_QUIT };
struct cmd {
	int type;
	double rate, dur;
	int mix[4]; /* create, reply, list, chapter.get (percent) */
	int target; /* 0 own c100, 1 c1000 */
	int storm;  /* login connections opened at 0.5 s */
	int nodrain;
	int wconns, wwin, wport;
	int64_t wcircle, wchapter;
	char wtoken[128];
	double timeout;
};

static int nworkers = 2, nconn_total = 1000;
static int wk_id;

/* this worker's member connection slots: [0, nmem); then extras */
static int nmem, nextra = 600;

static void worker_setup(void)
{
	int k = 0;

	init_epoll(nconn_total / nworkers + 1 + nextra);
	for (int i = wk_id; i < nconn_total; i += nworkers) {
		struct conn *c = &conns[k++];
		int a = i % (st.nacct ? st.nacct : 1);

		c->role = R_MEMBER;
		c->acct = a;
		c->state = C_DOWN;
		c->node = port2 ? (uint8_t)(i & 1) : 0;
		c->nsub = 0;
		c->circ[c->nsub++] =
			st.c100[(a / 100) % (st.n100 ? st.n100 : 1)];
		if (a < 1000)
			c->circ[c->nsub++] = st.c1000;
		if (a < 10)
			c->circ[c->nsub++] = st.c10;
	}
	nmem = k;
}

static uint64_t outstanding(void)
{
	uint64_t n = 0;

	for (int i = 0; i < nconns; i++)
		n += (uint64_t)conns[i].npend;
	return n;
}

static void worker_report(int fd)
{
	size_t left;
	const uint8_t *p;

	rep.nev = ev_n;
	p = (const uint8_t *)&rep;
	left = sizeof(rep);
	while (left) {
		ssize_t w = write(fd, p, left);

		if (w <= 0) {
			if (errno == EINTR)
				continue;
			die("report write");
		}
		p += w;
		left -= (size_t)w;
	}
	if (ev_key) {
		for (uint32_t s = 0; s < EVT; s++) {
			if (ev_key[s]) {
				uint64_t rec[2] = {ev_key[s], ev_lat[s]};

				if (write(fd, rec, sizeof(rec)) !=
				    (ssize_t)sizeof(rec))
					die("report write");
			}
		}
	}
	memset(&rep, 0, sizeof(rep));
	ev_clear();
}

static void free_extras(void)
{
	for (int i = nmem; i < nconns; i++) {
		if (conns[i].state != C_FREE) {
			conns[i].closing = 1;
			conn_drop(&conns[i]);
		}
		conns[i].role = R_MEMBER;
		conns[i].state = C_FREE;
		conns[i].acct = -1;
		conns[i].nsub = 0;
		conns[i].node = 0;
	}
}

static struct conn *extra_slot(void)
{
	for (int i = nmem; i < nconns; i++)
		if (conns[i].state == C_FREE)
			return &conns[i];
	return NULL;
}

static void worker_connect(const struct cmd *cm)
{
	uint64_t deadline = now_ns() + (uint64_t)(cm->timeout * 1e9);
	int next = 0, inflight_max = 200;

	reconnect_mode = 0;
	while (now_ns() < deadline) {
		int inflight = 0, done = 0;

		for (int i = 0; i < nmem; i++) {
			struct conn *c = &conns[i];

			if (c->state == C_TCP || c->state == C_HS ||
			    (c->state == C_OPEN && !c->caught))
				inflight++;
			if (c->caught)
				done++;
		}
		if (done + (int)rep.conn_fail >= nmem && next >= nmem)
			break;
		while (inflight < inflight_max && next < nmem) {
			conn_start(&conns[next], node_port(&conns[next]));
			next++;
			inflight++;
		}
		loop_once(2000000);
	}
}

static void worker_load(const struct cmd *cm)
{
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)(cm->dur * 1e9);
	uint64_t next = t0, drain_end, storm_at = t0 + 500000000ull;
	double rate = cm->rate / nworkers;
	int storm_left = wk_id == 0 ? cm->storm : 0;
	int small[1024], nsmall = 0;

	for (int i = 0; i < nmem && nsmall < 1024; i++)
		if (conns[i].acct < 1000)
			small[nsmall++] = i;
	while (rate > 0 && now_ns() < end) {
		uint64_t now = now_ns();

		if (storm_left && now >= storm_at) {
			login_t0 = now;
			for (; storm_left > 0; storm_left--) {
				struct conn *c = extra_slot();

				if (!c)
					break;
				c->role = R_LOGIN;
				c->acct = (int)(rnd() % (uint64_t)st.nacct);
				conn_start(c, st.port);
			}
		}
		for (int k = 0; next <= now && k < 100000; k++) {
			uint64_t r = rnd() % 100;
			int op = r < (uint64_t)cm->mix[0] ? OP_CREATE
				 : r < (uint64_t)(cm->mix[0] + cm->mix[1])
					 ? OP_REPLY
				 : r < (uint64_t)(cm->mix[0] + cm->mix[1] +
						  cm->mix[2])
					 ? OP_LIST
					 : OP_CHGET;
			struct conn *c;
			int sub = 0;

			if (op == OP_LIST || cm->target == 1) {
				if (!nsmall) {
					rep.skipped++;
					goto next;
				}
				c = &conns[small[rnd() % (uint64_t)nsmall]];
				sub = 1;
			} else {
				c = &conns[rnd() % (uint64_t)nmem];
			}
			if (c->state != C_OPEN || !c->caught) {
				rep.skipped++;
				goto next;
			}
			if (op == OP_LIST)
				rpc_send(c, OP_LIST, -1, next,
					 "annotation.list",
					 "{\"circle\":%lld,\"chapter\":%lld}",
					 (long long)st.c1000,
					 (long long)st.chapter);
			else if (op == OP_CHGET)
				rpc_send(c, OP_CHGET, -1, next, "chapter.get",
					 "{\"chapter\":%lld}",
					 (long long)st.chapter);
			else
				send_post(c, op, sub, next);
		next:
			next += (uint64_t)(-log(1.0 - rnd01()) / rate * 1e9);
		}
		now = now_ns();
		loop_once(next > now ? (next - now < 5000000 ? next - now
							     : 5000000)
				     : 0);
		client_lists();
	}
	if (cm->nodrain)
		return;
	/* drain: until nothing is outstanding and 1 s passes quietly */
	drain_end = now_ns() + 8000000000ull;
	{
		uint64_t lastd = rep.deliveries, quiet = now_ns();

		while (now_ns() < drain_end) {
			loop_once(5000000);
			client_lists();
			if (rep.deliveries != lastd) {
				lastd = rep.deliveries;
				quiet = now_ns();
			}
			if (!outstanding() && now_ns() - quiet > 1000000000ull)
				break;
		}
	}
	rep.timeouts += outstanding();
	for (int i = 0; i < nconns; i++)
		conns[i].npend = 0;
	free_extras();
}

static void worker_writers(const struct cmd *cm)
{
	uint64_t t0 = now_ns(), deadline;
	int n = cm->wconns;

	wr.circle = cm->wcircle;
	wr.chapter = cm->wchapter;
	wr.win = cm->wwin;
	snprintf(wr.token, sizeof(wr.token), "%s", cm->wtoken);
	wr.end = t0 + (uint64_t)((cm->dur + 1.0) * 1e9);
	for (int i = 0; i < n; i++) {
		struct conn *c = extra_slot();

		if (!c)
			break;
		c->role = R_WRITER;
		/* two nodes: every second writer on the second (not the
		 * baseline's one writer) */
		c->node = port2 && !cm->wtoken[0] ? (uint8_t)(i & 1) : 0;
		/* main server: a member account each (the post limit is per
		 * member); baseline server: its owner */
		c->acct = cm->wtoken[0]
				  ? -1
				  : (wk_id + i * nworkers) %
					    (st.nacct < BENCH_WRITER_ACCTS
						     ? st.nacct
						     : BENCH_WRITER_ACCTS);
		conn_start(c, c->node ? port2 : cm->wport);
	}
	/* 1 s warm-up, then count: reset counters at t0 + 1 s */
	while (now_ns() < t0 + 1000000000ull)
		loop_once(5000000);
	{
		uint64_t ok = rep.conn_ok;

		memset(&rep, 0, sizeof(rep));
		rep.conn_ok = ok;
		rep.t_first = now_ns();
	}
	while (now_ns() < wr.end)
		loop_once(5000000);
	rep.t_last = now_ns();
	deadline = now_ns() + 5000000000ull;
	while (outstanding() && now_ns() < deadline)
		loop_once(5000000);
	free_extras();
}

static void worker_killwait(const struct cmd *cm)
{
	uint64_t deadline = now_ns() + (uint64_t)(cm->timeout * 1e9);
	uint64_t lastscan = 0;
	int all = 0;

	reconnect_mode = 1;
	for (int i = 0; i < nmem; i++) {
		conns[i].backoff = 0;
		/* dropped before this command was read */
		if (conns[i].state == C_DOWN && !conns[i].t_retry)
			conns[i].t_retry = now_ns() + rnd() % 50000000ull;
	}
	rep.t_first = rep.t_last = 0;
	while (now_ns() < deadline) {
		uint64_t now = now_ns();

		if (now - lastscan > 5000000ull) {
			int caught = 0;

			lastscan = now;
			for (int i = 0; i < nmem; i++) {
				struct conn *c = &conns[i];

				if (c->state == C_DOWN && c->t_retry &&
				    now >= c->t_retry) {
					c->t_retry = 0;
					conn_start(c, node_port(c));
				}
				if (c->state == C_OPEN && c->caught)
					caught++;
			}
			if (caught == nmem && rep.t_last) {
				all = 1;
				break;
			}
		}
		loop_once(2000000);
	}
	(void)all;
	reconnect_mode = 0;
}

static uint64_t self_cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)ru.ru_utime.tv_sec * 1000000u +
	       (uint64_t)ru.ru_utime.tv_usec +
	       (uint64_t)ru.ru_stime.tv_sec * 1000000u +
	       (uint64_t)ru.ru_stime.tv_usec;
}

static void worker_main(int cfd, int rfd)
{
	struct epoll_event ev;
	uint64_t cpu0;

	rng_state ^= (uint64_t)getpid() * 0x9E3779B97F4A7C15ull;
	worker_setup();
	ev.events = EPOLLIN;
	ev.data.u32 = UINT32_MAX;
	epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev);
	for (;;) {
		struct cmd cm;
		ssize_t r;

		/* serve pings while waiting for the next command */
		for (;;) {
			struct epoll_event evs[256];
			struct timespec ts = {0, 50000000};
			int n = epoll_pwait2(ep, evs, 256, &ts, NULL), got = 0;

			for (int i = 0; i < n; i++) {
				if (evs[i].data.u32 == UINT32_MAX)
					got = 1;
				else
					conn_event(&conns[evs[i].data.u32],
						   evs[i].events);
			}
			if (got)
				break;
		}
		r = read(cfd, &cm, sizeof(cm));
		if (r != (ssize_t)sizeof(cm) || cm.type == CMD_QUIT)
			break;
		{
			/* events that came in between phases: late ones */
			uint64_t late = rep.deliveries;

			memset(&rep, 0, sizeof(rep));
			rep.late = late;
		}
		ev_clear();
		cpu0 = self_cpu_us();
		switch (cm.type) {
		case CMD_CONNECT:
			worker_connect(&cm);
			break;
		case CMD_LOAD:
			worker_load(&cm);
			break;
		case CMD_WRITERS:
			worker_writers(&cm);
			break;
		case CMD_KILLWAIT:
			worker_killwait(&cm);
			break;
		}
		rep.cpu_us = self_cpu_us() - cpu0;
		worker_report(rfd);
	}
	_exit(0);
}

/* ---- parent ---- */

static int wcmd[64], wrep[64];
static pid_t wpid[64];
static pid_t server_pid, server_pid2;
static const char *pidfile, *restart_cmd, *pidfile2;

struct agg {
	struct report r;
	struct hist last; /* last-recipient latency per event */
	uint64_t events;
};
static struct agg A;

static void read_full(int fd, void *p, size_t n)
{
	uint8_t *q = p;

	while (n) {
		ssize_t r = read(fd, q, n);

		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			die("a worker died");
		}
		q += r;
		n -= (size_t)r;
	}
}

static void broadcast(const struct cmd *cm)
{
	for (int w = 0; w < nworkers; w++)
		if (write(wcmd[w], cm, sizeof(*cm)) != (ssize_t)sizeof(*cm))
			die("command write");
}

static struct report *wr_reports;

static void collect(void)
{
	static uint64_t *keys;
	static uint32_t *lat;
	uint64_t nk = 0;

	if (!keys) {
		keys = calloc(EVT * 2, sizeof(*keys));
		lat = calloc(EVT * 2, sizeof(*lat));
		wr_reports = calloc(64, sizeof(struct report));
	}
	memset(keys, 0, EVT * 2 * sizeof(*keys));
	memset(&A, 0, sizeof(A));
	for (int w = 0; w < nworkers; w++) {
		struct report *r = &wr_reports[w];

		read_full(wrep[w], r, sizeof(*r));
		for (uint64_t i = 0; i < r->nev; i++) {
			uint64_t rec[2], h;

			read_full(wrep[w], rec, sizeof(rec));
			h = (rec[0] * 0x9E3779B97F4A7C15ull) >> 44;
			for (uint32_t j = 0; j < 1024; j++) {
				uint32_t s = (uint32_t)(h + j) & (EVT * 2 - 1);

				if (keys[s] == rec[0]) {
					if (rec[1] > lat[s])
						lat[s] = (uint32_t)rec[1];
					break;
				}
				if (!keys[s]) {
					keys[s] = rec[0];
					lat[s] = (uint32_t)rec[1];
					nk++;
					break;
				}
			}
		}
		for (int o = 0; o < NOP; o++) {
			A.r.sent[o] += r->sent[o];
			A.r.acked[o] += r->acked[o];
			A.r.errs[o] += r->errs[o];
			hmerge(&A.r.ack[o], &r->ack[o]);
		}
		hmerge(&A.r.fan, &r->fan);
		hmerge(&A.r.login, &r->login);
		hmerge(&A.r.fan_same, &r->fan_same);
		hmerge(&A.r.fan_cross, &r->fan_cross);
		A.r.deliveries += r->deliveries;
		A.r.replayed += r->replayed;
		A.r.lost += r->lost;
		A.r.dup += r->dup;
		A.r.closes += r->closes;
		A.r.timeouts += r->timeouts;
		A.r.overflow += r->overflow;
		A.r.resync += r->resync;
		A.r.conn_ok += r->conn_ok;
		A.r.conn_fail += r->conn_fail;
		A.r.skipped += r->skipped;
		A.r.late += r->late;
		A.r.cpu_us += r->cpu_us;
		for (int s = 0; s < NCSLOT; s++)
			A.r.posts_circ[s] += r->posts_circ[s];
		if (r->t_first && (!A.r.t_first || r->t_first < A.r.t_first))
			A.r.t_first = r->t_first;
		if (r->t_last > A.r.t_last)
			A.r.t_last = r->t_last;
	}
	for (uint64_t s = 0; s < EVT * 2; s++)
		if (keys[s])
			hadd(&A.last, lat[s]);
	A.events = nk;
}

/* subscribers per circle slot in this run's layout */
static uint64_t subs_of_slot(int slot)
{
	uint64_t n = 0;

	for (int i = 0; i < nconn_total; i++) {
		int a = i % (st.nacct ? st.nacct : 1);

		if (slot == 0 && a < 10)
			n++;
		else if (slot == 1 && a < 1000)
			n++;
		else if (slot >= 3 &&
			 3 + (a / 100) % (st.n100 ? st.n100 : 1) == slot)
			n++;
	}
	return n;
}

static uint64_t expected_deliveries(void)
{
	static uint64_t subs[NCSLOT];
	static int have;
	uint64_t x = 0;

	if (!have) {
		for (int s = 0; s < NCSLOT; s++)
			subs[s] = subs_of_slot(s);
		have = 1;
	}
	for (int s = 0; s < NCSLOT; s++)
		x += A.r.posts_circ[s] * subs[s];
	return x;
}

static long proc_rss_kb(pid_t pid)
{
	char path[64], line[256];
	FILE *f;
	long kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* utime + stime in microseconds */
static double proc_cpu_us(pid_t pid)
{
	char path[64], buf[2048], *p;
	unsigned long ut = 0, stt = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	/* fields after ")": state(3) ... utime(14) stime(15) */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
		   &ut, &stt) != 2)
		return -1;
	return (double)(ut + stt) * 1e6 / (double)sysconf(_SC_CLK_TCK);
}

/* JSON output, appended phase by phase */
static FILE *jout;
static int jfirst = 1;

static void jhist(const char *name, const struct hist *h)
{
	fprintf(jout,
		"\"%s\":{\"n\":%llu,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
		"\"p999_ms\":%.3f,\"max_ms\":%.3f}",
		name, (unsigned long long)h->n, hpct(h, 50) / 1e3,
		hpct(h, 99) / 1e3, hpct(h, 99.9) / 1e3, (double)h->max / 1e3);
}

static void phase_json(const char *name, double secs, const char *extra_fmt,
		       ...)
{
	va_list ap;
	uint64_t exp = expected_deliveries();

	fprintf(jout, "%s\n  {\"phase\":\"%s\",\"conns\":%d,\"secs\":%.3f,",
		jfirst ? "" : ",", name, nconn_total, secs);
	jfirst = 0;
	for (int o = 0; o < NOP; o++)
		if (A.r.sent[o] || A.r.acked[o])
			fprintf(jout,
				"\"sent_%s\":%llu,\"acked_%s\":%llu,"
				"\"errors_%s\":%llu,",
				op_name[o], (unsigned long long)A.r.sent[o],
				op_name[o], (unsigned long long)A.r.acked[o],
				op_name[o], (unsigned long long)A.r.errs[o]);
	fprintf(jout,
		"\"deliveries\":%llu,\"expected_deliveries\":%llu,"
		"\"replayed\":%llu,\"lost\":%llu,\"duplicated\":%llu,"
		"\"closes\":%llu,\"timeouts\":%llu,\"overflow\":%llu,"
		"\"resync\":%llu,\"conn_ok\":%llu,\"conn_fail\":%llu,"
		"\"skipped\":%llu,\"events\":%llu,"
		"\"late_before_phase\":%llu,\"loadgen_cpu_us\":%llu,",
		(unsigned long long)A.r.deliveries, (unsigned long long)exp,
		(unsigned long long)A.r.replayed, (unsigned long long)A.r.lost,
		(unsigned long long)A.r.dup, (unsigned long long)A.r.closes,
		(unsigned long long)A.r.timeouts,
		(unsigned long long)A.r.overflow,
		(unsigned long long)A.r.resync, (unsigned long long)A.r.conn_ok,
		(unsigned long long)A.r.conn_fail,
		(unsigned long long)A.r.skipped, (unsigned long long)A.events,
		(unsigned long long)A.r.late, (unsigned long long)A.r.cpu_us);
	for (int o = 0; o < NOP; o++) {
		char nm[64];

		if (!A.r.ack[o].n)
			continue;
		snprintf(nm, sizeof(nm), "ack_%s", op_name[o]);
		jhist(nm, &A.r.ack[o]);
		fputc(',', jout);
	}
	jhist("fanout", &A.r.fan);
	fputc(',', jout);
	jhist("last_recipient", &A.last);
	fputc(',', jout);
	jhist("login", &A.r.login);
	if (port2) {
		fputc(',', jout);
		jhist("fanout_same_node", &A.r.fan_same);
		fputc(',', jout);
		jhist("fanout_cross_node", &A.r.fan_cross);
	}
	va_start(ap, extra_fmt);
	if (extra_fmt && *extra_fmt) {
		fputc(',', jout);
		vfprintf(jout, extra_fmt, ap);
	}
	va_end(ap);
	fputc('}', jout);
	fflush(jout);
}

static void phase_line(const char *name, double secs)
{
	uint64_t posts = A.r.acked[OP_CREATE] + A.r.acked[OP_REPLY];
	uint64_t exp = expected_deliveries();

	fprintf(stderr,
		"  %-14s %6.1fs acks/s %8.0f deliv/s %9.0f ack p50/p99 "
		"%.2f/%.2f ms fan p50/p99/p99.9 %.2f/%.2f/%.2f ms last p99 "
		"%.2f ms lost %llu dup %llu missing %lld err %llu\n",
		name, secs,
		(double)(posts + A.r.acked[OP_LIST] + A.r.acked[OP_CHGET]) /
			secs,
		(double)A.r.deliveries / secs,
		hpct(&A.r.ack[OP_CREATE], 50) / 1e3,
		hpct(&A.r.ack[OP_CREATE], 99) / 1e3, hpct(&A.r.fan, 50) / 1e3,
		hpct(&A.r.fan, 99) / 1e3, hpct(&A.r.fan, 99.9) / 1e3,
		hpct(&A.last, 99) / 1e3, (unsigned long long)A.r.lost,
		(unsigned long long)A.r.dup,
		(long long)exp - (long long)A.r.deliveries,
		(unsigned long long)(A.r.errs[OP_CREATE] + A.r.errs[OP_REPLY] +
				     A.r.errs[OP_LIST] + A.r.errs[OP_CHGET]));
	if (port2)
		fprintf(stderr,
			"  %-14s written on the same node: fan p50/p99 "
			"%.2f/%.2f ms (%llu); on the other node: %.2f/%.2f "
			"ms (%llu)\n",
			"", hpct(&A.r.fan_same, 50) / 1e3,
			hpct(&A.r.fan_same, 99) / 1e3,
			(unsigned long long)A.r.fan_same.n,
			hpct(&A.r.fan_cross, 50) / 1e3,
			hpct(&A.r.fan_cross, 99) / 1e3,
			(unsigned long long)A.r.fan_cross.n);
}

static double envd(const char *name, double dflt)
{
	const char *v = getenv(name);

	return v && *v ? atof(v) : dflt;
}

static void reap_pidfile(void)
{
	FILE *f;
	int p;

	if (pidfile2) {
		f = fopen(pidfile2, "r");
		if (f) {
			if (fscanf(f, "%d", &p) == 1)
				server_pid2 = p;
			fclose(f);
		}
	}
	if (!pidfile)
		return;
	f = fopen(pidfile, "r");
	if (f) {
		if (fscanf(f, "%d", &p) == 1)
			server_pid = p;
		fclose(f);
	}
}

/* the servers' CPU time: both nodes' summed when there are two */
static double servers_cpu_us(void)
{
	double c = proc_cpu_us(server_pid);

	if (server_pid2)
		c += proc_cpu_us(server_pid2);
	return c;
}

static int run_load(const char *name, double rate, double dur, const int mix[4],
		    int target, int storm, int nodrain)
{
	struct cmd cm;
	double cpu0 = servers_cpu_us(), cpu1;
	uint64_t t0 = now_ns();
	double secs;
	uint64_t posts, lost;

	memset(&cm, 0, sizeof(cm));
	cm.type = CMD_LOAD;
	cm.rate = rate;
	cm.dur = dur;
	memcpy(cm.mix, mix, sizeof(cm.mix));
	cm.target = target;
	cm.storm = storm;
	cm.nodrain = nodrain;
	broadcast(&cm);
	collect();
	cpu1 = servers_cpu_us();
	secs = dur;
	(void)t0;
	posts = A.r.acked[OP_CREATE] + A.r.acked[OP_REPLY];
	/* a loss is a gap in seq (or a duplicate); deliveries that had not
	 * arrived when the drain ended are "missing" (late, not lost: the
	 * seq check of later events would show a gap if they never came) */
	lost = A.r.lost + A.r.dup;
	phase_line(name, secs);
	phase_json(name, secs,
		   "\"rate_offered\":%.1f,\"acks_per_s\":%.1f,"
		   "\"posts_per_s\":%.1f,\"deliveries_per_s\":%.1f,"
		   "\"server_cpu_us\":%.0f,\"cpu_us_per_delivery\":%.3f,"
		   "\"lost_total\":%llu",
		   rate,
		   (double)(posts + A.r.acked[OP_LIST] + A.r.acked[OP_CHGET]) /
			   secs,
		   (double)posts / secs, (double)A.r.deliveries / secs,
		   cpu1 - cpu0,
		   A.r.deliveries ? (cpu1 - cpu0) / (double)A.r.deliveries : 0,
		   (unsigned long long)lost);
	return lost || A.r.timeouts || A.r.closes ? 1 : 0;
}

static int cmd_run(int argc, char **argv)
{
	const char *state = NULL, *json = NULL,
		   *phases =
			   "connect,idle,steady,knee,reads,storm,writers,kill";
	const char *base_state = NULL;
	int base_port = 0;
	double idle_s = envd("BENCH_IDLE", 30),
	       steady_s = envd("BENCH_STEADY", 10);
	double rate = envd("BENCH_RATE", 500), step_s = envd("BENCH_STEP", 5);
	int mix[4] = {50, 45, 4, 1}, wmix[4] = {50, 50, 0, 0};
	char *ph, *save = NULL, *list;
	long rss0 = -1, rss0b = -1;

	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--port"))
			st.port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--state"))
			state = argv[i + 1];
		else if (!strcmp(argv[i], "--conns"))
			nconn_total = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--workers"))
			nworkers = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--server-pid"))
			server_pid = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--pidfile"))
			pidfile = argv[i + 1];
		else if (!strcmp(argv[i], "--restart-cmd"))
			restart_cmd = argv[i + 1];
		else if (!strcmp(argv[i], "--json"))
			json = argv[i + 1];
		else if (!strcmp(argv[i], "--phases"))
			phases = argv[i + 1];
		else if (!strcmp(argv[i], "--base-state"))
			base_state = argv[i + 1];
		else if (!strcmp(argv[i], "--base-port"))
			base_port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--rate"))
			rate = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--port2"))
			port2 = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--pidfile2"))
			pidfile2 = argv[i + 1];
	}
	if (!state || !json)
		die("run needs --state and --json");
	if (nworkers < 1 || nworkers > 64)
		die("--workers 1..64");
	state_load(state);
	if (!st.nacct || !st.n100)
		die("state file has no members");
	if (!server_pid || pidfile2)
		reap_pidfile();
	jout = fopen(json, "w");
	if (!jout)
		die("cannot write %s", json);
	fprintf(jout, "{\"conns\":%d,\"workers\":%d,\"phases\":[", nconn_total,
		nworkers);
	signal(SIGPIPE, SIG_IGN);
	fflush(jout); /* the workers must not write the buffer again */
	fflush(stdout);
	fflush(stderr);
	for (int w = 0; w < nworkers; w++) {
		int a[2], b[2];

		if (pipe(a) || pipe(b))
			die("pipe");
		wpid[w] = fork();
		if (wpid[w] == 0) {
			close(a[1]);
			close(b[0]);
			wk_id = w;
			fclose(jout);
			worker_main(a[0], b[1]);
		}
		close(a[0]);
		close(b[1]);
		wcmd[w] = a[1];
		wrep[w] = b[0];
	}
	list = strdup(phases);
	for (ph = strtok_r(list, ",", &save); ph;
	     ph = strtok_r(NULL, ",", &save)) {
		struct cmd cm;
		uint64_t t0 = now_ns();

		memset(&cm, 0, sizeof(cm));
		if (!strcmp(ph, "connect")) {
			double cpu0;

			rss0 = proc_rss_kb(server_pid);
			if (server_pid2)
				rss0b = proc_rss_kb(server_pid2);
			cpu0 = servers_cpu_us();
			cm.type = CMD_CONNECT;
			cm.timeout = envd("BENCH_CONNECT_TIMEOUT", 120);
			broadcast(&cm);
			collect();
			{
				double s = (double)(A.r.t_last - t0) / 1e9;

				fprintf(stderr,
					"  connect        %d connections "
					"(%llu failed) in %.2f s: %.0f/s\n",
					(int)A.r.conn_ok,
					(unsigned long long)A.r.conn_fail, s,
					(double)A.r.conn_ok / s);
				phase_json("connect", s,
					   "\"connect_per_s\":%.1f,"
					   "\"server_rss_kb_before\":%ld,"
					   "\"server_cpu_us\":%.0f",
					   (double)A.r.conn_ok / s, rss0,
					   servers_cpu_us() - cpu0);
			}
		} else if (!strcmp(ph, "idle")) {
			long rss1;
			double per;

			for (int k = 0; k < (int)(idle_s * 10) && k < 36000;
			     k++)
				usleep(100000);
			rss1 = proc_rss_kb(server_pid);
			per = rss0 > 0 && rss1 > 0
				      ? (double)(rss1 - rss0) * 1024.0 /
						nconn_total
				      : -1;
			if (server_pid2) {
				/* two nodes: half the connections each */
				long rss1b = proc_rss_kb(server_pid2);
				int n1 = (nconn_total + 1) / 2,
				    n2 = nconn_total / 2;
				double p1 = rss0 > 0 && rss1 > 0
						    ? (double)(rss1 - rss0) *
							      1024.0 / n1
						    : -1,
				       p2 = rss0b > 0 && rss1b > 0 && n2
						    ? (double)(rss1b - rss0b) *
							      1024.0 / n2
						    : -1;

				fprintf(stderr,
					"  idle           %.0f s: node 1 RSS "
					"%ld -> %ld kB: %.0f B per idle "
					"connection (%d); node 2 RSS %ld -> "
					"%ld kB: %.0f B (%d)\n",
					idle_s, rss0, rss1, p1, n1, rss0b,
					rss1b, p2, n2);
				memset(&A, 0, sizeof(A));
				phase_json("idle", idle_s,
					   "\"server_rss_kb_before\":%ld,"
					   "\"server_rss_kb_after\":%ld,"
					   "\"rss_bytes_per_idle_conn\":%.1f,"
					   "\"node2_rss_kb_before\":%ld,"
					   "\"node2_rss_kb_after\":%ld,"
					   "\"node2_rss_bytes_per_idle_conn\":"
					   "%.1f",
					   rss0, rss1, p1, rss0b, rss1b, p2);
				continue;
			}
			fprintf(stderr,
				"  idle           %.0f s: server RSS %ld -> "
				"%ld "
				"kB: %.0f bytes per idle connection\n",
				idle_s, rss0, rss1, per);
			memset(&A, 0, sizeof(A));
			phase_json("idle", idle_s,
				   "\"server_rss_kb_before\":%ld,"
				   "\"server_rss_kb_after\":%ld,"
				   "\"rss_bytes_per_idle_conn\":%.1f",
				   rss0, rss1, per);
		} else if (!strcmp(ph, "steady")) {
			run_load("steady", rate, steady_s, mix, 0, 0, 0);
		} else if (!strcmp(ph, "big")) {
			run_load("big_circle", envd("BENCH_BIG_RATE", 50),
				 steady_s, wmix, 1, 0, 0);
		} else if (!strcmp(ph, "knee")) {
			/* step up until loss or acks fall behind; the knee is
			 * the last step with p99 fan-out <= 50 ms and nothing
			 * lost, the sustained maximum the last step with
			 * nothing lost whose acks kept up */
			double r = envd("BENCH_KNEE_START", rate);
			double good_r = 0, good_d = 0, good_p99 = 0,
			       good_cpu = 0;
			double max_r = 0, max_d = 0, max_p99 = 0;
			int steps = (int)envd("BENCH_KNEE_STEPS", 10);
			int passed = 0;

			for (int k = 0; k < steps; k++) {
				char nm[32];
				int bad, behind;
				double p99, d, c0 = servers_cpu_us();

				snprintf(nm, sizeof(nm), "knee_%d", k);
				bad = run_load(nm, r, step_s, wmix, 0, 0, 0);
				p99 = hpct(&A.r.fan, 99) / 1e3;
				d = (double)A.r.deliveries / step_s;
				behind = (double)(A.r.acked[OP_CREATE] +
						  A.r.acked[OP_REPLY]) <
					 0.9 * r * step_s;
				if (bad || behind)
					break;
				max_r = r, max_d = d, max_p99 = p99;
				if (p99 > 50)
					passed = 1;
				if (!passed) {
					good_r = r, good_d = d, good_p99 = p99;
					good_cpu =
						A.r.deliveries
							? (servers_cpu_us() -
							   c0) / (double)A.r
									  .deliveries
							: 0;
				}
				r *= envd("BENCH_KNEE_FACTOR", 1.5);
			}
			memset(&A, 0, sizeof(A));
			fprintf(stderr,
				"  knee           %.0f posts/s: %.0f "
				"deliveries/s, p99 fan-out %.2f ms; sustained "
				"max %.0f posts/s: %.0f deliveries/s, p99 "
				"%.2f ms\n",
				good_r, good_d, good_p99, max_r, max_d,
				max_p99);
			phase_json("knee", 0,
				   "\"knee_posts_per_s\":%.1f,"
				   "\"knee_deliveries_per_s\":%.1f,"
				   "\"knee_fanout_p99_ms\":%.3f,"
				   "\"knee_cpu_us_per_delivery\":%.3f,"
				   "\"max_posts_per_s\":%.1f,"
				   "\"max_deliveries_per_s\":%.1f,"
				   "\"max_fanout_p99_ms\":%.3f",
				   good_r, good_d, good_p99, good_cpu, max_r,
				   max_d, max_p99);
		} else if (!strcmp(ph, "reads")) {
			int rmix[4] = {45, 40, 10, 5};

			run_load("reads", rate, steady_s, rmix, 0, 0, 0);
		} else if (!strcmp(ph, "storm")) {
			int n = (int)envd("BENCH_STORM", 50);

			run_load("storm_control", rate, 4, wmix, 0, 0, 0);
			run_load("storm", rate, 4, wmix, 0, n, 0);
		} else if (!strcmp(ph, "writers") || !strcmp(ph, "baseline")) {
			int base = !strcmp(ph, "baseline");
			double cpu0 = servers_cpu_us(), secs;

			cm.type = CMD_WRITERS;
			cm.dur = envd("BENCH_WRITE_SECS", 5);
			cm.wconns = base ? 1 : (int)envd("BENCH_WRITERS", 64);
			cm.wwin = base ? 1 : (int)envd("BENCH_WINDOW", 8);
			cm.wport = st.port;
			cm.wcircle = st.cw;
			cm.wchapter = st.chapter;
			cm.wtoken[0] = 0;
			if (base) {
				FILE *f;
				char line[256], b[128];
				long long x;

				if (!base_state || !base_port)
					die("baseline needs --base-state and "
					    "--base-port");
				f = fopen(base_state, "r");
				if (!f)
					die("cannot read %s", base_state);
				while (fgets(line, sizeof(line), f)) {
					if (!strncmp(line, "cw ", 3) &&
					    sscanf(line, "cw %lld", &x) == 1)
						cm.wcircle = x;
					else if (sscanf(line, "chapter %lld",
							&x) == 1)
						cm.wchapter = x;
					else if (sscanf(line, "owner %127s",
							b) == 1)
						snprintf(cm.wtoken,
							 sizeof(cm.wtoken),
							 "%s", b);
				}
				fclose(f);
				cm.wport = base_port;
				/* one worker alone sends */
				for (int w = 0; w < nworkers; w++) {
					struct cmd c2 = cm;

					if (w)
						c2.wconns = 0;
					if (write(wcmd[w], &c2, sizeof(c2)) !=
					    (ssize_t)sizeof(c2))
						die("command write");
				}
			} else {
				cm.wconns =
					(cm.wconns + nworkers - 1) / nworkers;
				broadcast(&cm);
			}
			collect();
			secs = (double)(A.r.t_last - A.r.t_first) / 1e9;
			if (secs <= 0)
				secs = cm.dur;
			fprintf(stderr,
				"  %-14s %d conns x window %d: %.0f acked "
				"annotation.create/s, ack p50/p99 %.2f/%.2f "
				"ms, errors %llu\n",
				ph, base ? 1 : cm.wconns * nworkers, cm.wwin,
				(double)A.r.acked[OP_CREATE] / secs,
				hpct(&A.r.ack[OP_CREATE], 50) / 1e3,
				hpct(&A.r.ack[OP_CREATE], 99) / 1e3,
				(unsigned long long)A.r.errs[OP_CREATE]);
			phase_json(ph, secs,
				   "\"writer_conns\":%d,\"window\":%d,"
				   "\"creates_per_s\":%.1f,"
				   "\"server_cpu_us\":%.0f",
				   base ? 1 : cm.wconns * nworkers, cm.wwin,
				   (double)A.r.acked[OP_CREATE] / secs,
				   base ? 0 : servers_cpu_us() - cpu0);
		} else if (!strcmp(ph, "kill")) {
			uint64_t tk, tr = 0, tr_end = 0;
			int mixk[4] = {50, 50, 0, 0};

			if (!restart_cmd)
				die("kill needs --restart-cmd");
			/* some load, no drain: events in flight at the kill */
			run_load("pre_kill", rate, 2, mixk, 0, 0, 1);
			cm.type = CMD_KILLWAIT;
			cm.timeout = envd("BENCH_RECONNECT_TIMEOUT", 60);
			broadcast(&cm);
			tk = now_ns();
			kill(server_pid, SIGKILL);
			{
				pid_t p = fork();
				int stt;

				if (p == 0) {
					execl("/bin/sh", "sh", "-c",
					      restart_cmd, (char *)NULL);
					_exit(127);
				}
				tr = now_ns();
				waitpid(p, &stt, 0);
				tr_end = now_ns();
			}
			collect();
			reap_pidfile();
			if (!A.r.t_last)
				A.r.t_last = A.r.t_first =
					tk + (uint64_t)(cm.timeout * 1e9);
			{
				double from_kill =
					(double)(A.r.t_last - tk) / 1e9;
				double from_restart =
					(double)(A.r.t_last - tr) / 1e9;
				double from_first =
					(double)(A.r.t_last - A.r.t_first) /
					1e9;

				fprintf(stderr,
					"  reconnect      %llu of %d caught up "
					"(%llu replayed events, %llu lost, "
					"%llu "
					"dup, %llu resync): %.2f s after kill, "
					"%.2f s after restart, %.2f s after "
					"the "
					"first reconnect\n",
					(unsigned long long)A.r.conn_ok,
					nconn_total,
					(unsigned long long)A.r.replayed,
					(unsigned long long)A.r.lost,
					(unsigned long long)A.r.dup,
					(unsigned long long)A.r.resync,
					from_kill, from_restart, from_first);
				phase_json(
					"reconnect", from_kill,
					"\"caught_up\":%llu,"
					"\"secs_after_kill\":%.3f,"
					"\"secs_after_restart\":%.3f,"
					"\"secs_after_first_reconnect\":%.3f,"
					"\"restart_cmd_secs\":%.3f",
					(unsigned long long)A.r.conn_ok,
					from_kill, from_restart, from_first,
					(double)(tr_end - tr) / 1e9);
			}
		} else {
			fprintf(stderr, "loadgen: unknown phase %s\n", ph);
		}
	}
	free(list);
	{
		struct cmd q;

		memset(&q, 0, sizeof(q));
		q.type = CMD_QUIT;
		broadcast(&q);
		for (int w = 0; w < nworkers; w++)
			waitpid(wpid[w], NULL, 0);
	}
	fprintf(jout, "\n],\"framing_errors\":%llu}\n",
		(unsigned long long)framing_errors);
	fclose(jout);
	return 0;
}

/* ------------------------------------------------------------------ */
/* raw: loopback TCP write() baseline for the CPU cost of one delivery */

static int cmd_raw(int argc, char **argv)
{
	int n = 100, msgs = 2000, size = 700, lfd, one = 1;
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int *srv, *cli;
	char *buf;
	pid_t p;
	double c0, c1;
	struct rusage ru;
	uint64_t t0, t1;

	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--conns"))
			n = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--msgs"))
			msgs = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--size"))
			size = atoi(argv[i + 1]);
	}
	srv = calloc((size_t)n, sizeof(int));
	cli = calloc((size_t)n, sizeof(int));
	buf = calloc(1, (size_t)size);
	memset(buf, 'x', (size_t)size);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(0x7f000001);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 4096))
		die("raw: listen");
	getsockname(lfd, (struct sockaddr *)&a, &al);
	for (int i = 0; i < n; i++) {
		cli[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(cli[i], (struct sockaddr *)&a, sizeof(a)))
			die("raw: connect");
		srv[i] = accept(lfd, NULL, NULL);
		setsockopt(srv[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	p = fork();
	if (p == 0) {
		/* reader: epoll over the client ends until all bytes came */
		uint64_t want = (uint64_t)n * (uint64_t)msgs * (uint64_t)size,
			 got = 0;
		struct epoll_event ev, evs[256];
		char rb[65536];
		int e = epoll_create1(0);

		for (int i = 0; i < n; i++) {
			ev.events = EPOLLIN;
			ev.data.fd = cli[i];
			fcntl(cli[i], F_SETFL, O_NONBLOCK);
			epoll_ctl(e, EPOLL_CTL_ADD, cli[i], &ev);
		}
		while (got < want) {
			int k = epoll_wait(e, evs, 256, 5000);

			if (k <= 0)
				break;
			for (int j = 0; j < k; j++) {
				ssize_t r =
					read(evs[j].data.fd, rb, sizeof(rb));

				if (r > 0)
					got += (uint64_t)r;
			}
		}
		_exit(0);
	}
	for (int i = 0; i < n; i++)
		close(cli[i]);
	getrusage(RUSAGE_SELF, &ru);
	c0 = (double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec +
	     (double)ru.ru_stime.tv_sec * 1e6 + (double)ru.ru_stime.tv_usec;
	t0 = now_ns();
	for (int m = 0; m < msgs; m++)
		for (int i = 0; i < n; i++)
			if (write(srv[i], buf, (size_t)size) != size)
				die("raw: short write");
	t1 = now_ns();
	getrusage(RUSAGE_SELF, &ru);
	c1 = (double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec +
	     (double)ru.ru_stime.tv_sec * 1e6 + (double)ru.ru_stime.tv_usec;
	waitpid(p, NULL, 0);
	printf("{\"raw_conns\":%d,\"raw_msgs\":%d,\"raw_size\":%d,"
	       "\"raw_writes_per_s\":%.0f,\"raw_cpu_us_per_write\":%.3f}\n",
	       n, msgs, size, (double)n * msgs / ((double)(t1 - t0) / 1e9),
	       (c1 - c0) / ((double)n * msgs));
	return 0;
}

/* ------------------------------------------------------------------ */

static int cmd_selftest(void)
{
	uint8_t d[20];
	char hex[41], acc[32];
	int bad = 0;

	sha1("abc", 3, d);
	for (int i = 0; i < 20; i++)
		sprintf(hex + 2 * i, "%02x", d[i]);
	if (strcmp(hex, "a9993e364706816aba3e25717850c26c9cd0d89d"))
		bad = printf("sha1(abc) = %s\n", hex);
	sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, d);
	for (int i = 0; i < 20; i++)
		sprintf(hex + 2 * i, "%02x", d[i]);
	if (strcmp(hex, "84983e441c3bd26ebaae4aa1f95129e5e54670f1"))
		bad = printf("sha1(448 bits) = %s\n", hex);
	ws_accept_for("dGhlIHNhbXBsZSBub25jZQ==", acc);
	if (strcmp(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
		bad = printf("accept = %s\n", acc);
	{
		const char *j = "{\"a\":{\"b\":[1,{\"c\":2}],\"d\":\"x\\\"}\"},"
				"\"id\":42,\"s\":\"q\"}";
		const char *e = j + strlen(j);

		if (jint(jget(j, e, "id"), e, -1) != 42)
			bad = printf("json id\n");
		if (jget(j, e, "c") || !jget(j, e, "s"))
			bad = printf("json nesting\n");
	}
	{
		struct hist h;

		memset(&h, 0, sizeof(h));
		for (uint64_t v = 1; v <= 100000; v++)
			hadd(&h, v);
		if (fabs(hpct(&h, 50) - 50000) > 2000 ||
		    fabs(hpct(&h, 99) - 99000) > 4000)
			bad = printf("hist p50 %.0f p99 %.0f\n", hpct(&h, 50),
				     hpct(&h, 99));
	}
	printf(bad ? "selftest FAILED\n" : "selftest ok\n");
	return bad ? 1 : 0;
}

static int cmd_info(int argc, char **argv)
{
	struct conn *c;

	for (int i = 2; i + 1 < argc; i += 2)
		if (!strcmp(argv[i], "--port"))
			st.port = atoi(argv[i + 1]);
	init_epoll(1);
	c = &conns[0];
	sync_conn = c;
	if (open_sync(c, R_BARE) < 0)
		die("cannot connect");
	if (sync_call(c, "server.info", "{}") < 0)
		die("server.info failed");
	printf("%s\n", sync_res);
	return 0;
}

int main(int argc, char **argv)
{
	const char *v = getenv("BENCH_VERBOSE");

	g_verbose = v && *v == '1';
	v = getenv("LOADGEN_CLIENT");
	g_naive_client = v && strcmp(v, "naive") == 0;
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		die("usage: loadgen selftest|info|setup|run|raw ...");
	if (!strcmp(argv[1], "selftest"))
		return cmd_selftest();
	if (!strcmp(argv[1], "info"))
		return cmd_info(argc, argv);
	if (!strcmp(argv[1], "setup"))
		return cmd_setup(argc, argv);
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc, argv);
	if (!strcmp(argv[1], "raw"))
		return cmd_raw(argc, argv);
	die("unknown sub-command %s", argv[1]);
	return 2;
}
