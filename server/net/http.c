/*
 * http.c - plain HTTP: the static web app, /metrics, and the routes that
 * modules registered (/healthz, /api/...), which are answered by the store
 * executor and written back here when their output arrives.
 *
 * Static files are served only from inside --web: the path is checked for
 * "..", NUL and backslashes and then resolved with realpath(), which must
 * stay under the web folder's own realpath. Every response carries the
 * security headers (CSP without inline script or foreign origins,
 * nosniff, no referrer, no framing).
 */
#include "http/http.h"
#include "mail/mail.h"
#include "net/internal.h"
#include "store/store.h"
#include "util/log.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define HTTP_MAX_BODY 65536

static const char CSP[] =
	"default-src 'self'; script-src 'self'; style-src 'self'; "
	"img-src 'self' data:; connect-src 'self'; font-src 'self'; "
	"object-src 'none'; base-uri 'none'; form-action 'self'; "
	"frame-ancestors 'none'";

int net_security_headers(struct lws *wsi, unsigned char **p, unsigned char *end)
{
	static const struct {
		const char *name, *value;
	} hdrs[] = {
		{"content-security-policy:", CSP},
		{"x-content-type-options:", "nosniff"},
		{"referrer-policy:", "no-referrer"},
		{"x-frame-options:", "DENY"},
	};

	for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++)
		if (lws_add_http_header_by_name(
			    wsi, (const unsigned char *)hdrs[i].name,
			    (const unsigned char *)hdrs[i].value,
			    (int)strlen(hdrs[i].value), p, end))
			return 1;
	if (lws_is_ssl(wsi)) {
		static const char hsts[] = "max-age=31536000";

		if (lws_add_http_header_by_name(
			    wsi,
			    (const unsigned char *)"strict-transport-security:",
			    (const unsigned char *)hsts, (int)strlen(hsts), p,
			    end))
			return 1;
	}
	return 0;
}

/* Copies the value at p, up to a byte of stop, into out ("" when it does
 * not fit); returns its length. */
static size_t copy_value(const char *p, const char *stop, char *out,
			 size_t outlen)
{
	size_t n = strcspn(p, stop);

	if (n >= outlen)
		n = 0;
	memcpy(out, p, n);
	out[n] = '\0';
	return n;
}

size_t net_request_token(struct lws *wsi, char *out, size_t outlen)
{
	char hdr[2048];
	const char *p;
	size_t n;

	out[0] = '\0';
	if (lws_hdr_copy(wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_AUTHORIZATION) >
		    0 &&
	    strncasecmp(hdr, "Bearer ", 7) == 0) {
		p = hdr + 7;
		while (*p == ' ')
			p++;
		n = copy_value(p, " \t\r\n", out, outlen);
		memset(hdr, 0, sizeof(hdr));
		return n;
	}
	memset(hdr, 0, sizeof(hdr));
	return net_request_cookie(wsi, HTTP_SESSION_COOKIE, out, outlen);
}

size_t net_request_cookie(struct lws *wsi, const char *name, char *out,
			  size_t outlen)
{
	char hdr[2048];
	size_t nl = strlen(name), n = 0;

	out[0] = '\0';
	if (lws_hdr_copy(wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_COOKIE) <= 0)
		return 0;
	for (const char *p = hdr; p && *p;) {
		while (*p == ' ' || *p == ';')
			p++;
		if (!strncmp(p, name, nl) && p[nl] == '=') {
			n = copy_value(p + nl + 1, "; ", out, outlen);
			break;
		}
		p = strchr(p, ';');
	}
	memset(hdr, 0, sizeof(hdr)); /* it may hold a session token */
	return n;
}

static const char *mime_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{".html", "text/html; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"},
		{".mjs", "text/javascript; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},
		{".json", "application/json"},
		{".svg", "image/svg+xml"},
		{".png", "image/png"},
		{".jpg", "image/jpeg"},
		{".ico", "image/x-icon"},
		{".woff2", "font/woff2"},
		{".txt", "text/plain; charset=utf-8"},
		{".webmanifest", "application/manifest+json"},
	};
	const char *dot = strrchr(path, '.');

	if (dot)
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcmp(dot, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

/* Queues a complete response to be written when the socket is writeable. */
static int respond(struct lws *wsi, struct http_conn *h, int status,
		   const char *type, const char *body, size_t len)
{
	http_resp_free(&h->resp);
	http_resp_text(&h->resp, status, type, body, len);
	h->have_resp = true;
	h->sent = 0;
	lws_callback_on_writable(wsi);
	return 0;
}

static int respond_json_error(struct lws *wsi, struct http_conn *h, int status,
			      const char *msg)
{
	char body[160];
	int n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}", msg);

	return respond(wsi, h, status, "application/json", body, (size_t)n);
}

static int serve_metrics(struct lws *wsi, struct http_conn *h)
{
	struct buf b = BUF_INIT;
	int rc;

	buf_addf(&b,
		 "# HELP scholia_connections Open WebSocket connections.\n"
		 "# TYPE scholia_connections gauge\n"
		 "scholia_connections %d\n",
		 net.nconns);
	rpc_metrics_write(&b);
	buf_addf(&b,
		 "# HELP scholia_db_busy_total Times the database was busy.\n"
		 "# TYPE scholia_db_busy_total counter\n"
		 "scholia_db_busy_total %llu\n",
		 (unsigned long long)store_busy_count());
	mail_metrics_write(&b);
	{
		uint64_t pool_calls, exec_calls;

		rpc_exec_counts(&pool_calls, &exec_calls);
		buf_addf(&b,
			 "# HELP scholia_calls_total JSON-RPC calls run, by "
			 "where: the read pool or the executor.\n"
			 "# TYPE scholia_calls_total counter\n"
			 "scholia_calls_total{path=\"read_pool\"} %llu\n"
			 "scholia_calls_total{path=\"executor\"} %llu\n",
			 (unsigned long long)pool_calls,
			 (unsigned long long)exec_calls);
	}
	{
		struct rpc_exec_times t;

		rpc_exec_times(&t);
		buf_addf(&b,
			 "# HELP scholia_exec_batches_total Transactions the "
			 "executor ran.\n"
			 "# TYPE scholia_exec_batches_total counter\n"
			 "scholia_exec_batches_total %llu\n"
			 "# HELP scholia_exec_busy_seconds_total Time the "
			 "executor spent running batches.\n"
			 "# TYPE scholia_exec_busy_seconds_total counter\n"
			 "scholia_exec_busy_seconds_total %.6f\n"
			 "# HELP scholia_exec_commit_seconds_total Time the "
			 "executor spent in COMMIT (the sync included).\n"
			 "# TYPE scholia_exec_commit_seconds_total counter\n"
			 "scholia_exec_commit_seconds_total %.6f\n",
			 (unsigned long long)t.batches, (double)t.busy_ns / 1e9,
			 (double)t.commit_ns / 1e9);
	}
	rc = respond(wsi, h, 200, "text/plain; version=0.0.4; charset=utf-8",
		     buf_str(&b), b.len);
	buf_free(&b);
	return rc;
}

static bool path_is_safe(const char *path)
{
	if (path[0] != '/' || strstr(path, "..") || strchr(path, '\\'))
		return false;
	for (const char *p = path; *p; p++)
		if ((unsigned char)*p < 0x20)
			return false;
	return true;
}

static int serve_static(struct lws *wsi, struct http_conn *h, const char *path)
{
	char want[PATH_MAX], real[PATH_MAX], root[PATH_MAX];
	unsigned char hdrs[1024], *p = hdrs, *end = hdrs + sizeof(hdrs);
	const char *cache;
	struct stat st;
	int n;

	if (!path_is_safe(path))
		return respond_json_error(wsi, h, 404, "not found");
	if (strcmp(path, "/") == 0)
		path = "/index.html";
	if (!realpath(net.opts.web_dir, root))
		return respond_json_error(wsi, h, 404, "not found");
	n = snprintf(want, sizeof(want), "%s%s", root, path);
	if (n < 0 || (size_t)n >= sizeof(want) || !realpath(want, real) ||
	    strncmp(real, root, strlen(root)) != 0 ||
	    (real[strlen(root)] != '/' && real[strlen(root)] != '\0') ||
	    stat(real, &st) || !S_ISREG(st.st_mode))
		return respond_json_error(wsi, h, 404, "not found");
	cache = strcmp(path, "/index.html") == 0 ? "no-cache"
						 : "public, max-age=300";
	if (lws_add_http_header_by_name(wsi,
					(const unsigned char *)"cache-control:",
					(const unsigned char *)cache,
					(int)strlen(cache), &p, end) ||
	    net_security_headers(wsi, &p, end))
		return -1;
	n = lws_serve_http_file(wsi, real, mime_type(real), (const char *)hdrs,
				(int)(p - hdrs));
	if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi)))
		return -1;
	return 0;
}

/* Login CSRF and its kin (issue 14, R2-F8): a state-changing request that
 * a browser could send with its ambient cookie - POST/DELETE /api/session,
 * and any other POST or DELETE authenticated by the session cookie rather
 * than Authorization: Bearer - must carry a JSON content type (a foreign
 * page cannot send one without a CORS preflight, which we never grant) and,
 * when the browser says where it comes from, come from our own origin
 * (Origin, else Sec-Fetch-Site). Returns 0, or the refusal status. */
static int csrf_check(struct lws *wsi, struct http_conn *h)
{
	char ct[128], origin[256], site[32], auth[16];
	bool session = !strcmp(h->path, "/api/session");
	bool bearer, cookie;

	if (!strcmp(h->method, "GET") || !strcmp(h->method, "HEAD") ||
	    !strcmp(h->method, "OPTIONS"))
		return 0;
	/* one-click unsubscribe (RFC 8058) is a form post authenticated by
	 * its own token, never by the cookie */
	if (!strncmp(h->path, "/api/mail/", 10))
		return 0;
	bearer = lws_hdr_copy(wsi, auth, sizeof(auth),
			      WSI_TOKEN_HTTP_AUTHORIZATION) > 0 &&
		 !strncasecmp(auth, "Bearer ", 7);
	cookie =
		!bearer && lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_COOKIE) > 0;
	if (!session && !cookie)
		return 0;
	if (lws_hdr_copy(wsi, ct, sizeof(ct), WSI_TOKEN_HTTP_CONTENT_TYPE) <= 0)
		ct[0] = '\0';
	ct[strcspn(ct, "; ")] = '\0';
	if (session ? strcasecmp(ct, "application/json") != 0
		    : (strcasecmp(ct, "application/json") != 0 &&
		       strcasecmp(ct, "application/ld+json") != 0))
		return 415;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0) {
		if (lws_hdr_copy(wsi, origin, sizeof(origin),
				 WSI_TOKEN_ORIGIN) <= 0 ||
		    !net_origin_allowed(wsi, origin))
			return 403;
		return 0;
	}
	if (lws_hdr_custom_copy(wsi, site, sizeof(site),
				"sec-fetch-site:", 15) > 0 &&
	    strcasecmp(site, "same-origin") != 0 &&
	    strcasecmp(site, "none") != 0)
		return 403;
	return 0;
}

/* Copies a request header (a known token) into out, "" when absent. */
static void hdr_copy(struct lws *wsi, char *out, size_t len,
		     enum lws_token_indexes tok)
{
	if (lws_hdr_total_length(wsi, tok) <= 0 ||
	    lws_hdr_copy(wsi, out, (int)len, tok) < 0)
		out[0] = '\0';
}

/* Copies a header lws has no token for ("prefer:"), "" when absent. */
static void custom_copy(struct lws *wsi, char *out, size_t len,
			const char *name)
{
	int n = (int)strlen(name);

	if (lws_hdr_custom_length(wsi, name, n) <= 0 ||
	    lws_hdr_custom_copy(wsi, out, (int)len, name, n) < 0)
		out[0] = '\0';
}

/*
 * Whether a state-changing request riding on the session cookie comes from
 * a page we trust: its Origin is ours or configured; without an Origin,
 * Sec-Fetch-Site says same-origin (or none: typed by the user). A request
 * with neither header is from a non-browser client, which holds the
 * cookie itself. Bearer requests never need this: a browser cannot be
 * made to send an Authorization header to another site.
 */
static bool origin_trusted(struct lws *wsi, const char *origin)
{
	char site[64];

	if (origin[0])
		return strcmp(origin, "null") != 0 &&
		       net_origin_allowed(wsi, origin);
	custom_copy(wsi, site, sizeof(site), "sec-fetch-site:");
	return !site[0] || !strcmp(site, "same-origin") ||
	       !strcmp(site, "none");
}

static int route(struct lws *wsi, struct http_conn *h)
{
	struct http_req req = {0};
	char host[256], token[256], device[128], accept[512], prefer[512],
		if_match[256], ctype[256], origin[256];
	size_t tlen;
	int refuse = csrf_check(wsi, h);

	if (refuse) {
		log_info("net", "refused %s %s: %s", h->method, h->path,
			 refuse == 415 ? "not JSON" : "foreign origin");
		if (h->body.len)
			explicit_bzero(h->body.data, h->body.len);
		buf_free(&h->body);
		return respond_json_error(wsi, h, refuse,
					  refuse == 415
						  ? "expected application/json"
						  : "origin not allowed");
	}

	if (lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) < 0)
		host[0] = '\0';
	tlen = net_request_token(wsi, token, sizeof(token));
	req.token = tlen ? token : NULL;
	req.device = net_request_cookie(wsi, HTTP_DEVICE_COOKIE, device,
					sizeof(device))
			     ? device
			     : NULL;
	hdr_copy(wsi, accept, sizeof(accept), WSI_TOKEN_HTTP_ACCEPT);
	hdr_copy(wsi, if_match, sizeof(if_match), WSI_TOKEN_HTTP_IF_MATCH);
	hdr_copy(wsi, ctype, sizeof(ctype), WSI_TOKEN_HTTP_CONTENT_TYPE);
	hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN);
	custom_copy(wsi, prefer, sizeof(prefer), "prefer:");
	req.accept = accept;
	req.prefer = prefer;
	req.if_match = if_match;
	req.content_type = ctype;
	/* the token is the cookie's unless an Authorization header gave it */
	{
		char authz[2048];

		hdr_copy(wsi, authz, sizeof(authz),
			 WSI_TOKEN_HTTP_AUTHORIZATION);
		req.by_cookie = tlen && strncasecmp(authz, "Bearer ", 7) != 0;
		explicit_bzero(authz, sizeof(authz));
	}
	req.origin_trusted = origin_trusted(wsi, origin);
	req.method = h->method;
	req.path = h->path;
	req.query = h->query;
	req.body = buf_str(&h->body);
	req.body_len = h->body.len;
	req.host = host;
	req.tls = lws_is_ssl(wsi);
	req.public_url = net.opts.public_url;
	h->id = ++net.next_id;
	u64map_put(&net.http, h->id, wsi);
	{
		char peer[64], ua[256];

		net_client_addr(wsi, peer, sizeof(peer));
		if (lws_hdr_copy(wsi, ua, sizeof(ua),
				 WSI_TOKEN_HTTP_USER_AGENT) < 0)
			ua[0] = '\0';
		rpc_submit_http(h->id, &req, peer, ua);
	}
	memset(token, 0, sizeof(token));
	/* POST /api/session carries a password */
	if (h->body.len)
		explicit_bzero(h->body.data, h->body.len);
	buf_free(&h->body);
	return 0;
}

void net_http_answer(uint64_t http_id, struct http_resp *resp)
{
	struct lws *wsi = u64map_del(&net.http, http_id);
	struct http_conn *h;

	if (!wsi)
		return; /* the client went away */
	h = lws_wsi_user(wsi);
	http_resp_free(&h->resp);
	h->resp = *resp;
	memset(resp, 0, sizeof(*resp));
	if (!h->resp.content_type)
		h->resp.content_type = xstrdup("application/json");
	if (!h->resp.body)
		h->resp.body = xstrdup("");
	h->have_resp = true;
	h->sent = 0;
	lws_callback_on_writable(wsi);
}

/* The handler's own headers ("Name: value\r\n" lines), then CORS for a
 * configured origin. */
static int add_extra_headers(struct lws *wsi, struct http_conn *h,
			     unsigned char **p, unsigned char *end)
{
	static const struct {
		const char *name, *value;
	} cors[] = {
		{"access-control-allow-credentials:", "true"},
		{"access-control-allow-methods:",
		 "GET, HEAD, OPTIONS, POST, PUT, DELETE"},
		{"access-control-allow-headers:",
		 "Authorization, Content-Type, Accept, Prefer, If-Match"},
		{"access-control-expose-headers:",
		 "ETag, Link, Location, Allow, Accept-Post, Content-Location, "
		 "Preference-Applied, Vary"},
	};
	const char *line = h->resp.headers;

	while (line && *line) {
		const char *colon = strchr(line, ':');
		const char *eol = strstr(line, "\r\n");
		char name[64];
		const char *v;
		size_t n;

		if (!colon || !eol || colon > eol ||
		    (size_t)(colon - line) + 2 > sizeof(name))
			break;
		n = (size_t)(colon - line);
		for (size_t i = 0; i < n; i++)
			name[i] = (char)(line[i] >= 'A' && line[i] <= 'Z'
						 ? line[i] + 32
						 : line[i]);
		name[n] = ':';
		name[n + 1] = '\0';
		v = colon + 1;
		while (*v == ' ')
			v++;
		if (lws_add_http_header_by_name(
			    wsi, (const unsigned char *)name,
			    (const unsigned char *)v, (int)(eol - v), p, end))
			return -1;
		line = eol + 2;
	}
	if (!h->cors_origin)
		return 0;
	if (lws_add_http_header_by_name(
		    wsi, (const unsigned char *)"access-control-allow-origin:",
		    (const unsigned char *)h->cors_origin,
		    (int)strlen(h->cors_origin), p, end))
		return -1;
	for (size_t i = 0; i < sizeof(cors) / sizeof(cors[0]); i++)
		if (lws_add_http_header_by_name(
			    wsi, (const unsigned char *)cors[i].name,
			    (const unsigned char *)cors[i].value,
			    (int)strlen(cors[i].value), p, end))
			return -1;
	return 0;
}

static int write_response(struct lws *wsi, struct http_conn *h)
{
	unsigned char buf[LWS_PRE + 16384];
	unsigned char *start = buf + LWS_PRE, *p = start,
		      *end = buf + sizeof(buf) - 1;
	size_t left, chunk;

	if (!h->have_resp)
		return 0;
	if (h->sent == 0 && h->resp.status) {
		if (lws_add_http_common_headers(
			    wsi, (unsigned int)h->resp.status,
			    h->resp.content_type, h->resp.body_len, &p, end) ||
		    net_security_headers(wsi, &p, end) ||
		    lws_add_http_header_by_name(
			    wsi, (const unsigned char *)"cache-control:",
			    (const unsigned char *)"no-store", 8, &p, end))
			return -1;
		/* set_cookie may hold several cookies, one a line */
		for (const char *c = h->resp.set_cookie; c && *c;) {
			size_t cl = strcspn(c, "\n");

			if (lws_add_http_header_by_name(
				    wsi, (const unsigned char *)"set-cookie:",
				    (const unsigned char *)c, (int)cl, &p, end))
				return -1;
			c += cl + (c[cl] == '\n');
		}
		if (add_extra_headers(wsi, h, &p, end) ||
		    lws_finalize_write_http_header(wsi, start, &p, end))
			return -1;
		h->resp.status = 0; /* headers are out */
		if (h->head || !h->resp.body_len) {
			/* HEAD: the headers GET would send, no body; an
			 * empty body (204, OPTIONS) needs no write at all */
			h->have_resp = false;
			if (lws_http_transaction_completed(wsi))
				return -1;
			return 0;
		}
		if (h->resp.body_len) {
			lws_callback_on_writable(wsi);
			return 0;
		}
	}
	left = h->resp.body_len - h->sent;
	chunk = left < 16384 ? left : 16384;
	memcpy(start, h->resp.body + h->sent, chunk);
	if (lws_write(wsi, start, chunk,
		      chunk == left ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
	    (int)chunk)
		return -1;
	h->sent += chunk;
	if (h->sent < h->resp.body_len) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	h->have_resp = false;
	if (lws_http_transaction_completed(wsi))
		return -1;
	return 0;
}

static void http_reset(struct http_conn *h)
{
	buf_free(&h->body);
	http_resp_free(&h->resp);
	free(h->path);
	free(h->query);
	free(h->cors_origin);
	memset(h, 0, sizeof(*h));
}

/* The name of an lws method index (LWSHUMETH_*) we serve, else NULL. */
static const char *method_name(int meth)
{
	switch (meth) {
	case LWSHUMETH_GET:
		return "GET";
	case LWSHUMETH_HEAD:
		return "HEAD";
	case LWSHUMETH_POST:
		return "POST";
	case LWSHUMETH_DELETE:
		return "DELETE";
	case LWSHUMETH_PUT:
		return "PUT";
	case LWSHUMETH_OPTIONS:
		return "OPTIONS";
	default:
		return NULL;
	}
}

static int on_http(struct lws *wsi, struct http_conn *h, const char *in)
{
	char *uri;
	int ulen, meth = lws_http_get_uri_and_method(wsi, &uri, &ulen);

	(void)uri;
	(void)ulen;
	http_reset(h);
	{
		char path[256], query[512];
		int used = 0;

		snprintf(path, sizeof(path), "%s", in ? in : "/");
		/* each argument is its own fragment: join them with '&' */
		query[0] = '\0';
		for (int i = 0; used < (int)sizeof(query) - 1; i++) {
			int n = lws_hdr_copy_fragment(
				wsi, query + used, (int)sizeof(query) - used,
				WSI_TOKEN_HTTP_URI_ARGS, i);

			if (n <= 0)
				break;
			used += n;
			if (used < (int)sizeof(query) - 1 &&
			    lws_hdr_fragment_length(
				    wsi, WSI_TOKEN_HTTP_URI_ARGS, i + 1) > 0)
				query[used++] = '&';
			query[used] = '\0';
		}
		h->path = xstrdup(path);
		h->query = xstrdup(query);
	}
	if (!method_name(meth))
		return respond_json_error(wsi, h, 405, "method not allowed");
	snprintf(h->method, sizeof(h->method), "%s", method_name(meth));
	h->head = meth == LWSHUMETH_HEAD;
	if (strcmp(h->path, "/metrics") == 0 && meth == LWSHUMETH_GET)
		return serve_metrics(wsi, h);
	if (http_route_find(h->method, h->path)) {
		char origin[256];

		/* CORS only for the annotation endpoints, and only for
		 * origins configured with --allowed-origin */
		hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN);
		if (origin[0] && strstr(h->path, "/annotations") &&
		    net_origin_configured(origin)) {
			free(h->cors_origin);
			h->cors_origin = xstrdup(origin);
		}
		if (meth == LWSHUMETH_POST || meth == LWSHUMETH_PUT)
			return 0; /* wait for the body */
		return route(wsi, h);
	}
	if (strncmp(h->path, "/api/", 5) == 0 ||
	    strcmp(h->path, "/healthz") == 0)
		return respond_json_error(wsi, h, 404, "not found");
	if (meth == LWSHUMETH_GET || meth == LWSHUMETH_HEAD)
		return serve_static(wsi, h, h->path);
	return respond_json_error(wsi, h, 405, "method not allowed");
}

int net_http_callback(struct lws *wsi, enum lws_callback_reasons reason,
		      void *user, void *in, size_t len)
{
	struct http_conn *h = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		if (net.shutting_down)
			return respond_json_error(wsi, h, 503, "shutting down");
		return on_http(wsi, h, in);
	case LWS_CALLBACK_HTTP_BODY:
		if (h->body.len + len > HTTP_MAX_BODY)
			h->body_too_large = true;
		else
			buf_add(&h->body, in, len);
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (h->body_too_large)
			return respond_json_error(wsi, h, 413, "too large");
		return route(wsi, h);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return write_response(wsi, h);
	case LWS_CALLBACK_HTTP_FILE_COMPLETION:
		if (lws_http_transaction_completed(wsi))
			return -1;
		return 0;
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_CLOSED_HTTP:
		if (h) {
			if (h->id)
				u64map_del(&net.http, h->id);
			http_reset(h);
		}
		return 0;
	default:
		return 0;
	}
}
