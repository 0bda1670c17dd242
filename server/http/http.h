/*
 * http.h - the HTTP routes that need the database: the route table, the
 * request and response a handler sees, and helpers to fill the response.
 *
 * A module registers its routes once at start-up:
 *
 *	http_route_register("GET", "/api/mail/unsubscribe", unsubscribe_get);
 *
 * The transport (net/http.c) parses the request on the loop thread and
 * asks http_route_find() whether a route takes it; the executor
 * (exec/exec.c) runs the handler on the store thread with a call context
 * (rpc/rpc.h) whose caller was authenticated from the cookie or bearer
 * token, and hands the filled response back to the transport after COMMIT.
 * This module knows nothing of sockets, calls or SQL.
 */
#ifndef SCH_HTTP_H
#define SCH_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct rpc_ctx;

/* The browser's session cookie and device cookie (auth/device.c): auth/
 * sets them, net/ reads them on the upgrade and on route requests. */
#define HTTP_SESSION_COOKIE "scholia_session"
#define HTTP_DEVICE_COOKIE "scholia_device"

/* A request, borrowed for the handler's duration. */
struct http_req {
	const char *token;  /* from the cookie or Authorization: Bearer, or
			       NULL; the caller is already authenticated
			       from it when valid */
	const char *method; /* "GET", "POST", "DELETE" */
	const char *path;   /* "/api/circles/7/annotations" */
	const char *query;  /* "page=2" or "" */
	const char *body;   /* request body ("" if none) */
	size_t body_len;
	const char *host;	/* Host header */
	bool tls;		/* served over TLS */
	const char *public_url; /* --public-url, or "" */
	const char *device;	/* the device cookie (auth/device.c), or NULL */
	/* headers the Web Annotation Protocol reads ("" when absent) */
	const char *accept;
	const char *prefer;
	const char *if_match;
	const char *content_type;
	bool by_cookie;	     /* token came from the session cookie */
	bool origin_trusted; /* Origin is ours or --allowed-origin, or,
				without Origin, Sec-Fetch-Site is
				same-origin or none */
};

/* The answer; the handler fills it. Buffers are owned by the response and
 * freed by the transport (http_resp_free). */
struct http_resp {
	int status;
	char *content_type; /* malloc'd */
	char *body;	    /* malloc'd */
	size_t body_len;
	char *set_cookie; /* malloc'd full Set-Cookie value, or NULL;
			     several cookies are separated by '\n' */
	char *headers;	  /* malloc'd extra "Name: value\r\n" lines, or
			     NULL */
};

/* An HTTP handler; runs on the store thread with a call context whose
 * caller was authenticated from the cookie or bearer token. Returns 0 (the
 * response is filled) or nonzero (the call's changes roll back). */
typedef int (*http_handler_fn)(struct rpc_ctx *ctx, const struct http_req *req,
			       struct http_resp *resp);

/* Registers a handler for method + path prefix (longest prefix wins). At
 * start-up only. */
void http_route_register(const char *method, const char *prefix,
			 http_handler_fn fn);
/* Finds a handler; NULL if none. Any thread once start-up is over. */
http_handler_fn http_route_find(const char *method, const char *path);

/* Sets status, a JSON body and application/json. Takes the reference of
 * body. */
void http_resp_json(struct http_resp *resp, int status, json_t *body);
/* Sets status, type and a copy of text. */
void http_resp_text(struct http_resp *resp, int status, const char *type,
		    const char *text, size_t len);
/* Appends one "name: value" header line to the response. */
void http_resp_header(struct http_resp *resp, const char *name,
		      const char *value);
/* Frees what the response holds and zeroes it. */
void http_resp_free(struct http_resp *resp);

#endif
