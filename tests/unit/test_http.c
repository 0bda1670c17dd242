/*
 * test_http.c - the HTTP route table and response helpers (server/http):
 * the longest registered prefix of the request's method wins, another
 * method or an unknown path finds nothing, and the helpers replace the
 * body and type and append headers. Pure C, no database, no sockets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/http.h"

static int h_api(struct rpc_ctx *ctx, const struct http_req *req,
		 struct http_resp *resp)
{
	(void)ctx, (void)req, (void)resp;
	return 0;
}

static int h_circles(struct rpc_ctx *ctx, const struct http_req *req,
		     struct http_resp *resp)
{
	(void)ctx, (void)req, (void)resp;
	return 0;
}

static int h_post(struct rpc_ctx *ctx, const struct http_req *req,
		  struct http_resp *resp)
{
	(void)ctx, (void)req, (void)resp;
	return 0;
}

static void test_longest_prefix_of_the_method_wins(void **state)
{
	(void)state;
	/* the shorter prefix, registered first, must not shadow the longer */
	http_route_register("GET", "/api/", h_api);
	http_route_register("GET", "/api/circles/", h_circles);
	http_route_register("POST", "/api/circles/", h_post);

	assert_ptr_equal(http_route_find("GET", "/api/circles/7/annotations"),
			 h_circles);
	assert_ptr_equal(http_route_find("GET", "/api/session"), h_api);
	assert_ptr_equal(http_route_find("POST", "/api/circles/7/annotations"),
			 h_post);
	/* another method, or a path under no prefix: no route */
	assert_null(http_route_find("POST", "/api/session"));
	assert_null(http_route_find("DELETE", "/api/circles/7"));
	assert_null(http_route_find("GET", "/healthz"));
	assert_null(http_route_find("GET", "/ap"));
}

static void test_response_helpers_replace_and_append(void **state)
{
	struct http_resp resp;

	(void)state;
	memset(&resp, 0, sizeof(resp));
	http_resp_text(&resp, 404, "text/plain", "not found\n", 10);
	assert_int_equal(resp.status, 404);
	assert_string_equal(resp.content_type, "text/plain");
	assert_int_equal(resp.body_len, 10);
	assert_memory_equal(resp.body, "not found\n", 10);

	/* a second answer replaces the first */
	http_resp_json(&resp, 200, json_pack("{s:i}", "n", 1));
	assert_int_equal(resp.status, 200);
	assert_string_equal(resp.content_type, "application/json");
	assert_string_equal(resp.body, "{\"n\":1}");
	assert_int_equal(resp.body_len, strlen("{\"n\":1}"));

	http_resp_header(&resp, "ETag", "\"1\"");
	http_resp_header(&resp, "Vary", "Accept");
	assert_string_equal(resp.headers, "ETag: \"1\"\r\nVary: Accept\r\n");

	http_resp_free(&resp);
	assert_null(resp.body);
	assert_null(resp.content_type);
	assert_null(resp.headers);
	assert_int_equal(resp.status, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_longest_prefix_of_the_method_wins),
		cmocka_unit_test(test_response_helpers_replace_and_append),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
