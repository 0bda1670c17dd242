/*
 * routes.c - the HTTP route table (method + longest path prefix) and the
 * helpers that fill a response. Routes are registered at start-up and only
 * read afterwards, so the table needs no lock.
 */
#include "http/http.h"

#include "util/buf.h"
#include "util/log.h"

#include <stdlib.h>
#include <string.h>

/* One registered route. */
struct http_route {
	const char *method;
	const char *prefix;
	http_handler_fn fn;
};
#define HTTP_MAX_ROUTES 32
static struct http_route routes[HTTP_MAX_ROUTES];
static int nroutes;

void http_route_register(const char *method, const char *prefix,
			 http_handler_fn fn)
{
	if (nroutes == HTTP_MAX_ROUTES)
		die("http: too many routes");
	routes[nroutes].method = method;
	routes[nroutes].prefix = prefix;
	routes[nroutes].fn = fn;
	nroutes++;
}

http_handler_fn http_route_find(const char *method, const char *path)
{
	http_handler_fn best = NULL;
	size_t best_len = 0;

	for (int i = 0; i < nroutes; i++) {
		size_t len = strlen(routes[i].prefix);

		if (strcmp(routes[i].method, method) == 0 &&
		    strncmp(routes[i].prefix, path, len) == 0 &&
		    len >= best_len) {
			best = routes[i].fn;
			best_len = len;
		}
	}
	return best;
}

/* Replaces status, type and body; takes body (malloc'd, len bytes). */
static void resp_set(struct http_resp *resp, int status, const char *type,
		     char *body, size_t len)
{
	free(resp->body);
	free(resp->content_type);
	resp->status = status;
	resp->body = body;
	resp->body_len = len;
	resp->content_type = xstrdup(type);
}

void http_resp_json(struct http_resp *resp, int status, json_t *body)
{
	char *s = json_dumps(body, JSON_COMPACT);

	json_decref(body);
	if (!s)
		s = xstrdup("null");
	resp_set(resp, status, "application/json", s, strlen(s));
}

void http_resp_text(struct http_resp *resp, int status, const char *type,
		    const char *text, size_t len)
{
	resp_set(resp, status, type, xstrndup(text, len), len);
}

void http_resp_header(struct http_resp *resp, const char *name,
		      const char *value)
{
	struct buf b = BUF_INIT;

	if (resp->headers)
		buf_adds(&b, resp->headers);
	buf_addf(&b, "%s: %s\r\n", name, value);
	free(resp->headers);
	resp->headers = buf_detach(&b, NULL);
}

void http_resp_free(struct http_resp *resp)
{
	free(resp->body);
	free(resp->content_type);
	free(resp->set_cookie);
	free(resp->headers);
	memset(resp, 0, sizeof(*resp));
}
