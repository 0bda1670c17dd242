/*
 * publish.c - what a handler publishes, bound to its call: rpc_publish()
 * stores the event through the bus (bus/bus.h) in the call's savepoint and
 * queues the bytes for the live fan-out after COMMIT (dropped on rollback).
 */
#include "bus/bus.h"
#include "rpc/internal.h"

int64_t rpc_publish(struct rpc_ctx *ctx, int64_t circle, const char *type,
		    const struct vis_item *item, const char *item_kind,
		    int64_t item_id, json_t *data, json_t *redacted)
{
	struct refbuf *full, *red;
	struct rpc_out *o;
	int64_t seq;

	seq = bus_publish(ctx->db, ctx->now, circle, type, item, item_kind,
			  item_id, data, redacted, &full, &red);
	if (seq <= 0)
		return seq;
	o = xcalloc(1, sizeof(*o));
	o->kind = RPC_OUT_EVENT;
	o->circle = circle;
	o->item = *item;
	o->item.circle = circle;
	o->bytes = full;
	o->redacted = red;
	rpc_ctx_push(ctx, o);
	rpc_metrics_event();
	return seq;
}
