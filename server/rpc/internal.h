/*
 * internal.h - the call context and the pieces of rpc/ and bus/ that share
 * it. Not for domain modules: they use rpc.h.
 */
#ifndef SCH_RPC_INTERNAL_H
#define SCH_RPC_INTERNAL_H

#include "rpc/rpc.h"
#include "rpc/transport.h"
#include "util/buf.h"

/* A deferred piece of work (rpc_defer). */
struct rpc_deferral {
	rpc_work_fn work;
	rpc_cont_fn cont;
	void *arg;
	void (*free_arg)(void *arg);
};

/* A batch response being assembled (JSON-RPC batch). */
struct rpc_batch {
	json_t *replies; /* array of response objects */
	int pending;	 /* deferred calls not yet answered */
	uint64_t conn;
};

/* One call being handled on the store thread. */
struct rpc_ctx {
	struct store *db;
	uint64_t conn; /* 0: HTTP or local */
	int64_t account, session;
	bool is_admin;
	const char *peer, *user_agent;
	const char *method;
	json_t *id; /* request id (borrowed), NULL: notification */
	int64_t now;
	/* the error recorded by rpc_fail*() */
	int err_code;
	char *err_message;
	json_t *err_data;
	/* what happens after commit, dropped on rollback */
	struct rpc_out *outs, *outs_tail;
	struct rpc_deferral defer;
	bool deferred;
	bool auth_changed; /* rpc_set_auth was called */
	int64_t new_account, new_session;
	bool new_admin;
	/* HTTP */
	const struct http_req *http_req;
	struct http_resp *http_resp;
	uint64_t http_id;
	bool local;		   /* rpc_ctx_new_local */
	struct refbuf *raw_result; /* rpc_result_raw, spliced after commit */
	json_t *prepared;	   /* rpc_prepared (borrowed) */
	struct rpc_kept *kept; /* rpc_keep, run after the call's savepoint */
};

/* Appends an output to the call's pending list. */
void rpc_ctx_push(struct rpc_ctx *ctx, struct rpc_out *out);
/* Drops the call's pending outputs (rollback). */
void rpc_ctx_drop(struct rpc_ctx *ctx);
/* Clears the recorded error. */
void rpc_ctx_clear_error(struct rpc_ctx *ctx);
/* Builds the error object of the recorded error (new reference). */
json_t *rpc_ctx_error_json(struct rpc_ctx *ctx, int code);

/* Serialises a JSON value compactly into a refbuf. */
struct refbuf *rpc_dump(json_t *v);

/* Runs one method call in ctx inside a savepoint: validates, dispatches,
 * and returns the response object (new reference) or NULL when deferred or
 * a notification. */
json_t *rpc_dispatch(struct rpc_ctx *ctx, json_t *request, bool *deferred);

/* The raw result of ctx as a JSON value (for batches and local calls, which
 * need one); clears ctx->raw_result. New reference. */
json_t *rpc_take_raw_json(struct rpc_ctx *ctx);
/* The bytes of {"jsonrpc":"2.0","result":RAW,"id":ID}. */
struct refbuf *rpc_splice_raw(struct refbuf *raw, json_t *id);

/* The route table is http/http.h's; exec/exec.c still looks a route up by
 * this older name. */
static inline http_handler_fn rpc_http_find(const char *method,
					    const char *path)
{
	return http_route_find(method, path);
}

/* metrics */
void rpc_metrics_count(const char *method, int code, double seconds);
void rpc_metrics_event(void);

#endif
