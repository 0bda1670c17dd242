/*
 * publish.c - what a handler publishes, bound to its call: rpc_publish()
 * stores the event through the bus (bus/bus.h) in the call's savepoint and
 * queues the bytes for the live fan-out after COMMIT (dropped on rollback);
 * rpc_bus_remote turns what other nodes published (bus/listen.c) into the
 * same outputs.
 */
#include "bus/bus.h"
#include "rpc/internal.h"
#include "rpc/transport.h"

#include <stdio.h>

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
	o->seq = seq;
	o->item = *item;
	o->item.circle = circle;
	o->bytes = full;
	o->redacted = red;
	rpc_ctx_push(ctx, o);
	rpc_metrics_event();
	return seq;
}

static void remote_event(int64_t circle, int64_t seq,
			 const struct vis_item *item, struct refbuf *full,
			 struct refbuf *red)
{
	struct rpc_out *o = xcalloc(1, sizeof(*o));

	o->kind = RPC_OUT_EVENT;
	o->circle = circle;
	o->seq = seq;
	o->item = *item;
	o->bytes = full;
	o->redacted = red;
	rpc_emit_output(o);
	rpc_metrics_event();
}

static void remote_viewer(const struct vis_viewer *v)
{
	struct rpc_out *o = xcalloc(1, sizeof(*o));

	o->kind = RPC_OUT_VIEWER;
	o->circle = v->circle;
	o->account = v->account;
	o->viewer = *v;
	rpc_emit_output(o);
}

static void remote_close(int64_t account, int64_t session, int ws_code)
{
	struct rpc_out *o = xcalloc(1, sizeof(*o));

	o->kind = RPC_OUT_CLOSE;
	o->account = account;
	o->session = session;
	o->ws_code = ws_code;
	snprintf(o->reason, sizeof(o->reason), "%s",
		 ws_code == 4003 ? "banned" : "session ended");
	rpc_emit_output(o);
}

static void remote_catchup(void)
{
	struct rpc_out *o = xcalloc(1, sizeof(*o));

	o->kind = RPC_OUT_CATCHUP;
	rpc_emit_output(o);
}

static void remote_ephemeral(int64_t circle, const struct vis_item *item,
			     struct refbuf *bytes)
{
	struct rpc_out *o = xcalloc(1, sizeof(*o));

	o->kind = RPC_OUT_EVENT;
	o->circle = circle;
	o->item = *item;
	o->bytes = bytes;
	rpc_emit_output(o);
}

static void remote_account(int64_t account, struct refbuf *bytes)
{
	struct rpc_out *o = xcalloc(1, sizeof(*o));

	o->kind = RPC_OUT_ACCOUNT;
	o->account = account;
	o->bytes = bytes;
	rpc_emit_output(o);
}

const struct bus_remote rpc_bus_remote = {remote_event,	    remote_viewer,
					  remote_close,	    remote_catchup,
					  remote_ephemeral, remote_account};
