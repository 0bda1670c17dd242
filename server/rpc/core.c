/*
 * core.c - methods of the server itself. server.info needs no account and
 * tells a client the version and the limits it must respect (SPEC §5).
 */
#include "rpc/core.h"
#include "http/http.h"
#include "rpc/rpc.h"
#include "store/store.h"

static int server_info(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	(void)ctx;
	(void)params;
	*result = json_pack(
		"{s:s,s:{s:I,s:I,s:I,s:i,s:i,s:i,s:i,s:i}}", "version",
		SCHOLIA_VERSION, "limits", "message_bytes",
		(json_int_t)rpc_config.max_message, "body_chars",
		(json_int_t)rpc_config.max_body_cp, "exact_chars",
		(json_int_t)rpc_config.max_exact_cp, "json_depth",
		rpc_config.max_depth, "posts_per_minute",
		rpc_config.posts_per_minute, "login_failures_per_minute",
		rpc_config.login_failures, "handle_min", 3, "handle_max", 32);
	json_object_set_new(*result, "mail", json_boolean(rpc_config.mail));
	return 0;
}

/* GET /healthz: answered by the store thread, so a 200 proves that the
 * executor runs and the database answers; 503 otherwise. */
static int healthz(struct rpc_ctx *ctx, const struct http_req *req,
		   struct http_resp *resp)
{
	bool ok = store_ping(rpc_store(ctx)) == 0;

	(void)req;
	http_resp_json(resp, ok ? 200 : 503,
		       json_pack("{s:s,s:s,s:s}", "status",
				 ok ? "ok" : "unavailable", "version",
				 SCHOLIA_VERSION, "db", ok ? "ok" : "error"));
	return 0;
}

static const struct rpc_method core_methods[] = {
	{"server.info", server_info, RPC_PUBLIC | RPC_READ},
	{NULL, NULL, 0},
};

void rpc_core_init(void)
{
	rpc_register(core_methods);
	http_route_register("GET", "/healthz", healthz);
}
