/*
 * rpc.c - JSON-RPC 2.0 envelope checks, the method table, errors,
 * parameter validation, metrics and local calls.
 *
 * Everything here runs on the store thread except registration (start-up)
 * and rpc_json_depth / rpc_error_bytes (any thread; they touch no state).
 */
#include "bus/bus.h"
#include "rpc/internal.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/utf8.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct rpc_hooks rpc_hooks;
struct rpc_config rpc_config = {
	.max_message = 65536,
	.max_depth = 32,
	.max_body_cp = 10000,
	.max_exact_cp = 4000,
	.posts_per_minute = 20,
	.login_failures = 5,
};

/* ---- method table ---- */

#define RPC_MAX_TABLES 32
static const struct rpc_method *tables[RPC_MAX_TABLES];
static int ntables;

void rpc_register(const struct rpc_method *table)
{
	if (ntables == RPC_MAX_TABLES)
		die("rpc: too many method tables");
	for (const struct rpc_method *m = table; m->name; m++)
		if (rpc_find(m->name))
			die("rpc: method %s registered twice", m->name);
	tables[ntables++] = table;
}

const struct rpc_method *rpc_find(const char *name)
{
	for (int t = 0; t < ntables; t++)
		for (const struct rpc_method *m = tables[t]; m->name; m++)
			if (strcmp(m->name, name) == 0)
				return m;
	return NULL;
}

#define RPC_MAX_PREPARE 8
static struct {
	const char *method;
	rpc_prepare_fn fn;
} prepares[RPC_MAX_PREPARE];
static int nprepares;

void rpc_set_prepare(const char *method, rpc_prepare_fn fn)
{
	if (nprepares == RPC_MAX_PREPARE)
		die("rpc: too many prepare functions");
	prepares[nprepares].method = method;
	prepares[nprepares].fn = fn;
	nprepares++;
}

rpc_prepare_fn rpc_find_prepare(const char *method)
{
	for (int i = 0; i < nprepares; i++)
		if (strcmp(prepares[i].method, method) == 0)
			return prepares[i].fn;
	return NULL;
}

json_t *rpc_prepared(const struct rpc_ctx *ctx)
{
	return ctx->prepared;
}

void rpc_each_method(void (*fn)(const struct rpc_method *m, void *arg),
		     void *arg)
{
	for (int t = 0; t < ntables; t++)
		for (const struct rpc_method *m = tables[t]; m->name; m++)
			fn(m, arg);
}

/* ---- calls from an HTTP route ---- */

const struct http_req *rpc_http_req(const struct rpc_ctx *ctx)
{
	return ctx->http_req;
}

struct http_resp *rpc_http_resp(struct rpc_ctx *ctx)
{
	return ctx->http_resp;
}

/* ---- the caller ---- */

int64_t rpc_account(const struct rpc_ctx *ctx)
{
	return ctx->account;
}

int64_t rpc_session(const struct rpc_ctx *ctx)
{
	return ctx->session;
}

bool rpc_is_admin(const struct rpc_ctx *ctx)
{
	return ctx->account != 0 && ctx->is_admin;
}

uint64_t rpc_conn(const struct rpc_ctx *ctx)
{
	return ctx->conn;
}

const char *rpc_peer(const struct rpc_ctx *ctx)
{
	return ctx->peer ? ctx->peer : "";
}

const char *rpc_user_agent(const struct rpc_ctx *ctx)
{
	return ctx->user_agent ? ctx->user_agent : "";
}

struct store *rpc_store(const struct rpc_ctx *ctx)
{
	return ctx->db;
}

const char *rpc_method_name(const struct rpc_ctx *ctx)
{
	return ctx->method ? ctx->method : "";
}

int64_t rpc_now(const struct rpc_ctx *ctx)
{
	return ctx->now;
}

void rpc_set_auth(struct rpc_ctx *ctx, int64_t account, int64_t session,
		  bool is_admin)
{
	ctx->auth_changed = true;
	ctx->new_account = account;
	ctx->new_session = session;
	ctx->new_admin = is_admin;
}

/* Drops the call's raw result (rpc_result_raw), if any. */
static void raw_drop(struct rpc_ctx *ctx)
{
	refbuf_unref(ctx->raw_result);
	ctx->raw_result = NULL;
}

void rpc_result_raw(struct rpc_ctx *ctx, struct refbuf *rb)
{
	refbuf_unref(ctx->raw_result);
	ctx->raw_result = rb;
}

json_t *rpc_take_raw_json(struct rpc_ctx *ctx)
{
	json_t *v = json_loadb((const char *)refbuf_bytes(ctx->raw_result),
			       ctx->raw_result->len, JSON_DECODE_ANY, NULL);

	raw_drop(ctx);
	return v ? v : json_null();
}

struct refbuf *rpc_splice_raw(struct refbuf *raw, json_t *id)
{
	static const char head[] = "{\"jsonrpc\":\"2.0\",\"result\":";
	char *sid = json_dumps(id ? id : json_null(), JSON_ENCODE_ANY);
	struct buf b = BUF_INIT;
	struct refbuf *rb;

	buf_grow(&b, sizeof(head) + raw->len + 16 + (sid ? strlen(sid) : 4));
	buf_add(&b, head, sizeof(head) - 1);
	buf_add(&b, refbuf_bytes(raw), raw->len);
	buf_adds(&b, ",\"id\":");
	buf_adds(&b, sid ? sid : "null");
	buf_addch(&b, '}');
	free(sid);
	rb = refbuf_new(b.data, b.len);
	buf_free(&b);
	return rb;
}

int rpc_call_handler(struct rpc_ctx *ctx, rpc_handler_fn fn, json_t *params,
		     json_t **result)
{
	struct refbuf *saved = ctx->raw_result;
	int rc;

	*result = NULL;
	if (!params)
		params = json_object();
	ctx->raw_result = NULL;
	rc = fn(ctx, params, result);
	if (rc == 0 && !*result && ctx->raw_result)
		*result = rpc_take_raw_json(ctx);
	refbuf_unref(ctx->raw_result);
	ctx->raw_result = saved;
	if (rc) {
		json_decref(*result);
		*result = NULL;
	}
	json_decref(params);
	return rc;
}

/* ---- errors ---- */

void rpc_ctx_clear_error(struct rpc_ctx *ctx)
{
	ctx->err_code = 0;
	free(ctx->err_message);
	ctx->err_message = NULL;
	json_decref(ctx->err_data);
	ctx->err_data = NULL;
}

static const char *default_message(int code)
{
	switch (code) {
	case RPC_E_PARSE:
		return "Parse error";
	case RPC_E_INVALID_REQUEST:
		return "Invalid Request";
	case RPC_E_METHOD_NOT_FOUND:
		return "Method not found";
	case RPC_E_INVALID_PARAMS:
		return "Invalid params";
	case RPC_E_UNAUTHENTICATED:
		return "Not authenticated";
	case RPC_E_FORBIDDEN:
		return "Forbidden";
	case RPC_E_NOT_FOUND:
		return "Not found";
	case RPC_E_CONFLICT:
		return "Conflict";
	case RPC_E_LOCKED:
		return "Locked";
	case RPC_E_TOO_LARGE:
		return "Too large";
	case RPC_E_RATE_LIMITED:
		return "Rate limited";
	default:
		return "Internal error";
	}
}

int rpc_fail(struct rpc_ctx *ctx, int code, const char *message)
{
	/* a JSON-RPC code (RPC_E_*), never an SCH_E* one: clients see it */
	assert(code <= -32000 && code >= -32768);
	rpc_ctx_clear_error(ctx);
	ctx->err_code = code;
	ctx->err_message = xstrdup(message ? message : default_message(code));
	return RPC_ERR;
}

int rpc_fail_field(struct rpc_ctx *ctx, const char *field, const char *message)
{
	rpc_fail(ctx, RPC_E_INVALID_PARAMS, message);
	rpc_fail_data(ctx, "field", json_string(field));
	return RPC_ERR;
}

int rpc_fail_retry(struct rpc_ctx *ctx, int code, const char *message,
		   int64_t retry_after_ms)
{
	rpc_fail(ctx, code, message);
	rpc_fail_data(ctx, "retry_after_ms",
		      json_integer(retry_after_ms > 0 ? retry_after_ms : 1));
	return RPC_ERR;
}

void rpc_fail_data(struct rpc_ctx *ctx, const char *key, json_t *value)
{
	if (!ctx->err_data)
		ctx->err_data = json_object();
	json_object_set_new(ctx->err_data, key, value);
}

int rpc_fail_store(struct rpc_ctx *ctx, int sch_err)
{
	if (sch_err == SCH_ECONFLICT)
		return rpc_fail(ctx, RPC_E_CONFLICT, "conflict");
	if (sch_err == SCH_ENOTFOUND)
		return rpc_fail(ctx, RPC_E_NOT_FOUND, "not found");
	log_error("rpc", "%s: store error %d: %s", rpc_method_name(ctx),
		  sch_err, store_errmsg(ctx->db));
	if (sch_err == SCH_EFULL)
		return rpc_fail(ctx, RPC_E_INTERNAL,
				"the server's disk is full");
	if (sch_err == SCH_EBUSY)
		return rpc_fail(ctx, RPC_E_INTERNAL,
				"the database is busy; try again");
	return rpc_fail(ctx, RPC_E_INTERNAL, "database error");
}

json_t *rpc_ctx_error_json(struct rpc_ctx *ctx, int code)
{
	json_t *e;

	if (!ctx->err_code) {
		ctx->err_code = code ? code : RPC_E_INTERNAL;
		ctx->err_message = xstrdup(default_message(ctx->err_code));
	}
	e = json_pack("{s:i,s:s}", "code", ctx->err_code, "message",
		      ctx->err_message ? ctx->err_message
				       : default_message(ctx->err_code));
	if (ctx->err_data)
		json_object_set(e, "data", ctx->err_data);
	return e;
}

/* ---- parameters ---- */

/*
 * Sets *v to the parameter's value, or to NULL when it is absent (or null
 * and optional). Returns 0, or RPC_ERR (recorded naming the field) when a
 * required one is absent or the value is not of type (JSON_TRUE stands for
 * either boolean); must says what it must be.
 */
static int param_get(struct rpc_ctx *ctx, json_t *params, const char *name,
		     bool required, json_type type, const char *must,
		     json_t **v)
{
	*v = json_is_object(params) ? json_object_get(params, name) : NULL;
	if (!*v || (json_is_null(*v) && !required)) {
		*v = NULL;
		return required ? rpc_fail_field(ctx, name, "missing parameter")
				: 0;
	}
	if (type == JSON_TRUE ? !json_is_boolean(*v) : json_typeof(*v) != type)
		return rpc_fail_field(ctx, name, must);
	return 0;
}

int rpc_param_int(struct rpc_ctx *ctx, json_t *params, const char *name,
		  bool required, int64_t min, int64_t max, int64_t *out)
{
	json_t *v;
	json_int_t x;
	int rc = param_get(ctx, params, name, required, JSON_INTEGER,
			   "must be an integer", &v);

	if (rc || !v)
		return rc;
	x = json_integer_value(v);
	if (x < min || x > max)
		return rpc_fail_field(ctx, name, "out of range");
	*out = x;
	return 0;
}

int rpc_param_id(struct rpc_ctx *ctx, json_t *params, const char *name,
		 bool required, int64_t *out)
{
	return rpc_param_int(ctx, params, name, required, 1, INT64_MAX, out);
}

int rpc_param_bool(struct rpc_ctx *ctx, json_t *params, const char *name,
		   bool required, bool *out)
{
	json_t *v;
	int rc = param_get(ctx, params, name, required, JSON_TRUE,
			   "must be true or false", &v);

	if (rc || !v)
		return rc;
	*out = json_is_true(v);
	return 0;
}

static int param_string(struct rpc_ctx *ctx, json_t *params, const char *name,
			bool required, size_t min_cp, size_t max_cp,
			bool too_large, const char **out)
{
	json_t *v;
	const char *s;
	size_t len, cp;
	int rc = param_get(ctx, params, name, required, JSON_STRING,
			   "must be a string", &v);

	if (rc || !v)
		return rc;
	s = json_string_value(v);
	len = json_string_length(v);
	if (memchr(s, '\0', len))
		return rpc_fail_field(ctx, name, "must not contain NUL");
	cp = utf8_count(s, len);
	if (cp > max_cp) {
		if (too_large) {
			rpc_fail(ctx, RPC_E_TOO_LARGE, "text too long");
			rpc_fail_data(ctx, "field", json_string(name));
			rpc_fail_data(ctx, "max",
				      json_integer((json_int_t)max_cp));
			return RPC_ERR;
		}
		return rpc_fail_field(ctx, name, "too long");
	}
	if (cp < min_cp)
		return rpc_fail_field(ctx, name,
				      min_cp == 1 ? "must not be empty"
						  : "too short");
	*out = s;
	return 0;
}

int rpc_param_str(struct rpc_ctx *ctx, json_t *params, const char *name,
		  bool required, size_t min_cp, size_t max_cp, const char **out)
{
	return param_string(ctx, params, name, required, min_cp, max_cp, false,
			    out);
}

int rpc_param_text(struct rpc_ctx *ctx, json_t *params, const char *name,
		   bool required, size_t max_cp, const char **out)
{
	return param_string(ctx, params, name, required, 1, max_cp, true, out);
}

int rpc_param_enum(struct rpc_ctx *ctx, json_t *params, const char *name,
		   bool required, const char *const *words, int *out)
{
	const char *s = NULL;

	if (rpc_param_str(ctx, params, name, required, 1, 64, &s))
		return RPC_ERR;
	if (!s)
		return 0;
	for (int i = 0; words[i]; i++) {
		if (strcmp(words[i], s) == 0) {
			*out = i;
			return 0;
		}
	}
	return rpc_fail_field(ctx, name, "not one of the allowed values");
}

int rpc_param_json(struct rpc_ctx *ctx, json_t *params, const char *name,
		   bool required, json_type type, json_t **out)
{
	json_t *v;
	int rc = param_get(ctx, params, name, required, type,
			   type == JSON_OBJECT ? "must be an object"
					       : "must be an array",
			   &v);

	if (rc || !v)
		return rc;
	*out = v;
	return 0;
}

int rpc_params_only(struct rpc_ctx *ctx, json_t *params,
		    const char *const *allowed)
{
	const char *key;
	json_t *v;

	if (!json_is_object(params))
		return 0;
	json_object_foreach(params, key, v)
	{
		bool ok = false;

		for (int i = 0; allowed[i]; i++)
			if (strcmp(allowed[i], key) == 0)
				ok = true;
		if (!ok)
			return rpc_fail_field(ctx, key, "unknown parameter");
	}
	return 0;
}

int rpc_param_cursor(struct rpc_ctx *ctx, json_t *params, int64_t *out)
{
	json_t *v;
	const char *s;
	char *end;
	long long x;

	*out = 0;
	v = json_object_get(params, "cursor"); /* NULL unless an object */
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return rpc_fail_field(ctx, "cursor", "must be a cursor");
	s = json_string_value(v);
	x = strtoll(s, &end, 10);
	if (end == s || *end || x < 0)
		return rpc_fail_field(ctx, "cursor", "must be a cursor");
	*out = x;
	return 0;
}

/* ---- outputs ---- */

void rpc_ctx_push(struct rpc_ctx *ctx, struct rpc_out *out)
{
	out->next = NULL;
	if (ctx->outs_tail)
		ctx->outs_tail->next = out;
	else
		ctx->outs = out;
	ctx->outs_tail = out;
}

void rpc_out_free(struct rpc_out *out)
{
	if (!out)
		return;
	refbuf_unref(out->bytes);
	refbuf_unref(out->redacted);
	json_decref(out->reply);
	http_resp_free(&out->resp);
	free(out);
}

void rpc_ctx_drop(struct rpc_ctx *ctx)
{
	struct rpc_out *o = ctx->outs, *next;

	for (; o; o = next) {
		next = o->next;
		rpc_out_free(o);
	}
	ctx->outs = ctx->outs_tail = NULL;
}

struct refbuf *rpc_dump(json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	struct refbuf *rb;

	if (!s)
		die("rpc: cannot serialise JSON");
	rb = refbuf_new(s, strlen(s));
	free(s);
	return rb;
}

struct refbuf *rpc_error_bytes(int code, const char *message)
{
	json_t *r = json_pack("{s:s,s:n,s:{s:i,s:s}}", "jsonrpc", "2.0", "id",
			      "error", "code", code, "message",
			      message ? message : default_message(code));
	struct refbuf *rb = rpc_dump(r);

	json_decref(r);
	return rb;
}

static struct rpc_out *new_out(struct rpc_ctx *ctx, enum rpc_out_kind kind)
{
	struct rpc_out *o = xcalloc(1, sizeof(*o));

	o->kind = kind;
	o->conn = ctx->conn;
	return o;
}

void rpc_effect_subscribe(struct rpc_ctx *ctx, int64_t circle, int64_t seq,
			  const struct vis_viewer *viewer)
{
	struct rpc_out *o;

	if (!ctx->conn)
		return;
	o = new_out(ctx, RPC_OUT_SUBSCRIBE);
	o->circle = circle;
	o->seq = seq;
	o->viewer = *viewer;
	rpc_ctx_push(ctx, o);
}

void rpc_effect_unsubscribe(struct rpc_ctx *ctx, int64_t circle)
{
	struct rpc_out *o;

	if (!ctx->conn)
		return;
	o = new_out(ctx, RPC_OUT_UNSUBSCRIBE);
	o->circle = circle;
	rpc_ctx_push(ctx, o);
}

void rpc_effect_viewer(struct rpc_ctx *ctx, const struct vis_viewer *viewer)
{
	struct rpc_out *o = new_out(ctx, RPC_OUT_VIEWER);

	o->circle = viewer->circle;
	o->account = viewer->account;
	o->viewer = *viewer;
	rpc_ctx_push(ctx, o);
	/* other nodes' connections of this member too (PostgreSQL) */
	if (bus_share_viewer(ctx->db, viewer))
		log_warn("rpc", "cannot tell other nodes of a viewer change");
}

void rpc_effect_close(struct rpc_ctx *ctx, int64_t account, int64_t session,
		      int ws_code, const char *reason)
{
	struct rpc_out *o = new_out(ctx, RPC_OUT_CLOSE);

	/* Closing by account or session must not also close the caller's
	 * own connection (an admin banning someone); with neither given,
	 * the caller's connection is the target. */
	if (account || session)
		o->conn = 0;
	o->account = account;
	o->session = session;
	o->ws_code = ws_code;
	snprintf(o->reason, sizeof(o->reason), "%s", reason ? reason : "");
	rpc_ctx_push(ctx, o);
	if ((account || session) &&
	    bus_share_close(ctx->db, account, session, ws_code))
		log_warn("rpc", "cannot tell other nodes of a close");
}

void rpc_publish_account(struct rpc_ctx *ctx, int64_t account, const char *type,
			 json_t *data)
{
	json_t *ev =
		json_pack("{s:s,s:s,s:{s:s,s:o}}", "jsonrpc", "2.0", "method",
			  "event", "params", "type", type, "data", data);
	struct rpc_out *o = new_out(ctx, RPC_OUT_ACCOUNT);

	o->account = account;
	o->bytes = rpc_dump(ev);
	json_decref(ev);
	/* the account's connections on other nodes too (PostgreSQL) */
	if (bus_share_account(ctx->db, account, refbuf_bytes(o->bytes),
			      o->bytes->len))
		log_warn("rpc", "cannot tell other nodes of an account event");
	rpc_ctx_push(ctx, o);
}

void rpc_publish_ephemeral(struct rpc_ctx *ctx, int64_t circle,
			   const char *type, const struct vis_item *item,
			   json_t *data)
{
	json_t *ev =
		json_pack("{s:s,s:s,s:{s:s,s:I,s:n,s:o}}", "jsonrpc", "2.0",
			  "method", "event", "params", "type", type, "circle",
			  (json_int_t)circle, "seq", "data", data);
	struct rpc_out *o = new_out(ctx, RPC_OUT_EVENT);

	/* SPEC: presence.changed has no seq */
	json_object_del(json_object_get(ev, "params"), "seq");
	o->circle = circle;
	o->item = *item;
	o->item.circle = circle;
	o->bytes = rpc_dump(ev);
	json_decref(ev);
	/* other nodes' subscribers too (PostgreSQL; nothing on SQLite) */
	bus_share_ephemeral(ctx->db, circle, item->author,
			    refbuf_bytes(o->bytes), o->bytes->len);
	rpc_ctx_push(ctx, o);
}

int rpc_defer(struct rpc_ctx *ctx, rpc_work_fn work, rpc_cont_fn cont,
	      void *arg, void (*free_arg)(void *arg))
{
	ctx->deferred = true;
	ctx->defer.work = work;
	ctx->defer.cont = cont;
	ctx->defer.arg = arg;
	ctx->defer.free_arg = free_arg;
	return RPC_DEFERRED;
}

/* ---- dispatch ---- */

static json_t *response(json_t *id, json_t *result, json_t *error)
{
	json_t *r = json_object();

	json_object_set_new(r, "jsonrpc", json_string("2.0"));
	if (error)
		json_object_set_new(r, "error", error);
	else
		json_object_set_new(r, "result", result ? result : json_null());
	json_object_set(r, "id", id ? id : json_null());
	return r;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Work queued by rpc_keep, in the order it was queued. */
struct rpc_kept {
	struct rpc_kept *next;
	rpc_keep_fn fn;
	void *arg;
	void (*free_arg)(void *arg);
};

void rpc_keep(struct rpc_ctx *ctx, rpc_keep_fn fn, void *arg,
	      void (*free_arg)(void *arg))
{
	struct rpc_kept *k = xcalloc(1, sizeof(*k)), **pp = &ctx->kept;

	k->fn = fn;
	k->arg = arg;
	k->free_arg = free_arg;
	while (*pp)
		pp = &(*pp)->next;
	*pp = k;
}

/* Runs what the call kept, each in a savepoint of its own. */
static void run_kept(struct rpc_ctx *ctx)
{
	while (ctx->kept) {
		struct rpc_kept *k = ctx->kept;
		int rc = store_savepoint(ctx->db);

		ctx->kept = k->next;
		if (!rc) {
			rc = k->fn(ctx->db, k->arg);
			if (rc || store_release(ctx->db)) {
				store_rollback_to(ctx->db);
				rc = rc ? rc : SCH_EDB;
			}
		}
		if (rc)
			log_warn("rpc",
				 "%s: work kept past the call failed: %s",
				 ctx->method ? ctx->method : "?",
				 store_errmsg(ctx->db));
		if (k->free_arg)
			k->free_arg(k->arg);
		free(k);
	}
}

/* Runs the handler (or continuation) inside a savepoint. Returns 0, an
 * error code, or RPC_DEFERRED; sets *result on success. */
static int run_call_in_savepoint(struct rpc_ctx *ctx,
				 const struct rpc_method *m, json_t *params,
				 rpc_cont_fn cont, void *cont_arg,
				 json_t **result)
{
	int rc, src;

	*result = NULL;
	src = store_savepoint(ctx->db);
	if (src) {
		rpc_fail_store(ctx, src);
		return ctx->err_code;
	}
	if (cont)
		rc = cont(ctx, cont_arg, result);
	else
		rc = m->fn(ctx, params, result);
	if (rc == RPC_DEFERRED && ctx->deferred) {
		store_release(ctx->db);
		return RPC_DEFERRED;
	}
	if (rc == 0 && !*result && !ctx->http_req && !ctx->raw_result) {
		log_error("rpc", "%s returned no result", m ? m->name : "?");
		rc = RPC_ERR;
	}
	if (rc == 0) {
		src = store_release(ctx->db);
		if (!src)
			return 0;
	}
	/* undo the call: its writes, outputs, result and what it asked for */
	store_rollback_to(ctx->db);
	rpc_ctx_drop(ctx);
	raw_drop(ctx);
	json_decref(*result);
	*result = NULL;
	ctx->auth_changed = false;
	ctx->deferred = false;
	if (src)
		rpc_fail_store(ctx, src);
	else if (!ctx->err_code)
		rpc_fail(ctx, RPC_E_INTERNAL, NULL);
	return ctx->err_code;
}

static int run_in_savepoint(struct rpc_ctx *ctx, const struct rpc_method *m,
			    json_t *params, rpc_cont_fn cont, void *cont_arg,
			    json_t **result)
{
	int rc = run_call_in_savepoint(ctx, m, params, cont, cont_arg, result);

	run_kept(ctx);
	return rc;
}

/* Whether a string holds a NUL (the parser allows them, handlers do not). */
static bool has_nul(const json_t *s)
{
	return json_is_string(s) &&
	       strlen(json_string_value(s)) != json_string_length(s);
}

/* The first string (or key) under v holding a NUL, else false. */
static bool nul_inside(json_t *v, int depth)
{
	const char *k;
	json_t *x;
	size_t i;

	if (depth > 64)
		return false;
	if (has_nul(v))
		return true;
	if (json_is_object(v)) {
		void *it = json_object_iter(v);

		for (; it; it = json_object_iter_next(v, it)) {
			k = json_object_iter_key(it);
			/* jansson keys are C strings: an embedded NUL makes
			 * the key shorter than its stored length */
			if (strlen(k) != json_object_iter_key_len(it) ||
			    nul_inside(json_object_iter_value(it), depth + 1))
				return true;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i,
				   x) if (nul_inside(x, depth + 1)) return true;
	}
	return false;
}

json_t *rpc_dispatch(struct rpc_ctx *ctx, json_t *req, bool *deferred)
{
	json_t *id = NULL, *jv, *jm, *params, *result = NULL;
	const struct rpc_method *m;
	const char *method;
	double t0 = now_seconds();
	int rc;

	*deferred = false;
	rpc_ctx_clear_error(ctx);
	if (!json_is_object(req))
		goto invalid;
	id = json_object_get(req, "id");
	if (id && ((!json_is_integer(id) && !json_is_string(id) &&
		    !json_is_null(id)) ||
		   has_nul(id))) {
		id = NULL;
		goto invalid;
	}
	jv = json_object_get(req, "jsonrpc");
	jm = json_object_get(req, "method");
	if (!json_is_string(jv) || strcmp(json_string_value(jv), "2.0") ||
	    has_nul(jv) || !json_is_string(jm) || has_nul(jm))
		goto invalid;
	params = json_object_get(req, "params");
	if (params && !json_is_object(params) && !json_is_array(params))
		goto invalid;
	method = json_string_value(jm);
	ctx->method = method;
	ctx->id = id;
	m = rpc_find(method);
	if (!m) {
		rpc_fail(ctx, RPC_E_METHOD_NOT_FOUND, NULL);
		rpc_fail_data(ctx, "method", json_string(method));
		rc = RPC_E_METHOD_NOT_FOUND;
		goto error;
	}
	if (params && json_is_array(params)) {
		/* SPEC: parameters are named */
		rc = rpc_fail(ctx, RPC_E_INVALID_PARAMS,
			      "parameters must be named (an object)");
		rc = RPC_E_INVALID_PARAMS;
		goto error;
	}
	if ((m->flags & RPC_AUTH) && !ctx->account) {
		rpc_fail(ctx, RPC_E_UNAUTHENTICATED, "sign in first");
		rc = RPC_E_UNAUTHENTICATED;
		goto error;
	}
	if (params) {
		/* a NUL in a string: -32602 naming the parameter */
		void *it = json_object_iter(params);

		for (; it; it = json_object_iter_next(params, it)) {
			const char *k = json_object_iter_key(it);

			if (strlen(k) != json_object_iter_key_len(it) ||
			    nul_inside(json_object_iter_value(it), 0)) {
				rpc_fail_field(ctx, k,
					       "NUL (\\u0000) is not allowed "
					       "in text");
				rc = RPC_E_INVALID_PARAMS;
				goto error;
			}
		}
	}
	{
		json_t *p = params ? json_incref(params) : json_object();

		rc = run_in_savepoint(ctx, m, p, NULL, NULL, &result);
		json_decref(p);
	}
	if (rc == RPC_DEFERRED) {
		*deferred = true;
		return NULL;
	}
	if (rc)
		goto error;
	rpc_metrics_count(method, 0, now_seconds() - t0);
	if (!id) {
		/* notification */
		raw_drop(ctx);
		return (json_decref(result), NULL);
	}
	/* with a raw result, the caller splices ctx->raw_result in */
	return response(id, result ? result : json_null(), NULL);
invalid:
	rpc_fail(ctx, RPC_E_INVALID_REQUEST, NULL);
	rc = RPC_E_INVALID_REQUEST;
	ctx->method = "(invalid)";
	rpc_metrics_count(ctx->method, rc, now_seconds() - t0);
	return response(NULL, NULL, rpc_ctx_error_json(ctx, rc));
error:
	rpc_metrics_count(rpc_method_name(ctx),
			  ctx->err_code ? ctx->err_code : rc,
			  now_seconds() - t0);
	if (!id)
		return NULL; /* notifications get no reply, even errors */
	return response(id, NULL, rpc_ctx_error_json(ctx, rc));
}

int rpc_call_as(struct rpc_ctx *ctx, const char *method, json_t *params,
		json_t **result, json_t **error)
{
	const struct rpc_method *m = rpc_find(method);
	const char *saved_method = ctx->method;
	double t0 = now_seconds();
	int rc;

	*result = NULL;
	*error = NULL;
	rpc_ctx_clear_error(ctx);
	if (!m) {
		json_decref(params);
		*error = rpc_ctx_error_json(ctx, RPC_E_METHOD_NOT_FOUND);
		rpc_ctx_clear_error(ctx);
		return RPC_E_METHOD_NOT_FOUND;
	}
	ctx->method = m->name;
	if ((m->flags & RPC_AUTH) && ctx->account == 0) {
		json_decref(params);
		rc = rpc_fail(ctx, RPC_E_UNAUTHENTICATED, "not authenticated");
	} else {
		rc = rpc_call_handler(ctx, m->fn, params, result);
	}
	if (rc) {
		*error = rpc_ctx_error_json(ctx, rc);
		rc = ctx->err_code;
		rpc_ctx_clear_error(ctx);
	}
	rpc_metrics_count(m->name, rc, now_seconds() - t0);
	ctx->method = saved_method;
	return rc;
}

/* Finishes a deferred call: runs the continuation in a savepoint and
 * returns the response (or NULL if deferred again / notification). */
json_t *rpc_continue(struct rpc_ctx *ctx, struct rpc_deferral *d,
		     bool *deferred);
json_t *rpc_continue(struct rpc_ctx *ctx, struct rpc_deferral *d,
		     bool *deferred)
{
	const struct rpc_method *m = rpc_find(rpc_method_name(ctx));
	json_t *result = NULL;
	int rc;

	*deferred = false;
	rpc_ctx_clear_error(ctx);
	rc = run_in_savepoint(ctx, m, NULL, d->cont, d->arg, &result);
	if (rc == RPC_DEFERRED) {
		*deferred = true;
		return NULL;
	}
	rpc_metrics_count(rpc_method_name(ctx), rc, 0);
	if (!ctx->id) {
		raw_drop(ctx);
		return (json_decref(result), NULL);
	}
	if (!rc && !result && ctx->raw_result)
		result = json_null(); /* the caller splices the raw bytes */
	if (rc)
		return response(ctx->id, NULL, rpc_ctx_error_json(ctx, rc));
	return response(ctx->id, result, NULL);
}

int rpc_json_depth(const char *s, size_t len, int max_depth)
{
	int depth = 0, max = 0;
	bool in_str = false;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '[' || c == '{') {
			if (++depth > max) {
				max = depth;
				if (max > max_depth)
					return max_depth + 1;
			}
		} else if (c == ']' || c == '}') {
			depth--;
		}
	}
	return max;
}

/* ---- local calls ---- */

struct rpc_ctx *rpc_ctx_new_local(struct store *db, int64_t account,
				  bool is_admin)
{
	struct rpc_ctx *ctx = xcalloc(1, sizeof(*ctx));

	ctx->db = db;
	ctx->account = account;
	ctx->is_admin = is_admin;
	ctx->peer = "local";
	ctx->user_agent = "scholia";
	ctx->now = (int64_t)time(NULL);
	ctx->local = true;
	return ctx;
}

void rpc_ctx_free_local(struct rpc_ctx *ctx)
{
	if (!ctx)
		return;
	rpc_ctx_drop(ctx);
	rpc_ctx_clear_error(ctx);
	free(ctx);
}

int rpc_call_local(struct rpc_ctx *ctx, const char *method, json_t *params,
		   json_t **result, json_t **error)
{
	json_t *req = json_pack("{s:s,s:i,s:s,s:O}", "jsonrpc", "2.0", "id", 1,
				"method", method, "params",
				params ? params : json_object());
	json_t *resp;
	bool deferred;
	int code = 0;

	*result = NULL;
	if (error)
		*error = NULL;
	ctx->now = (int64_t)time(NULL);
	resp = rpc_dispatch(ctx, req, &deferred);
	while (deferred) {
		struct rpc_deferral d = ctx->defer;

		ctx->deferred = false;
		memset(&ctx->defer, 0, sizeof(ctx->defer));
		if (d.work)
			d.work(d.arg);
		resp = rpc_continue(ctx, &d, &deferred);
		if (d.free_arg)
			d.free_arg(d.arg);
	}
	if (ctx->auth_changed) {
		ctx->account = ctx->new_account;
		ctx->session = ctx->new_session;
		ctx->is_admin = ctx->new_admin;
		ctx->auth_changed = false;
	}
	rpc_ctx_drop(ctx);
	json_decref(req);
	if (!resp)
		return RPC_E_INTERNAL;
	if (ctx->raw_result)
		json_object_set_new(resp, "result", rpc_take_raw_json(ctx));
	if (json_object_get(resp, "error")) {
		json_t *e = json_object_get(resp, "error");

		code = (int)json_integer_value(json_object_get(e, "code"));
		if (error)
			*error = json_incref(e);
	} else {
		*result = json_incref(json_object_get(resp, "result"));
	}
	json_decref(resp);
	return code;
}

/* ---- metrics ---- */

#define METRIC_BUCKETS 12
static const double bucket_le[METRIC_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005,
						 0.01,	 0.025, 0.05,	0.1,
						 0.25,	 0.5,	1.0,	2.5};

/* Counters of one method. */
struct method_metrics {
	char name[48];
	uint64_t calls;
	uint64_t buckets[METRIC_BUCKETS + 1];
	double sum;
	int ncodes;
	int codes[12];
	uint64_t code_counts[12];
};

#define METRIC_METHODS 128
static struct method_metrics metrics[METRIC_METHODS];
static int nmetrics;
static uint64_t events_total;
static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;

static struct method_metrics *metrics_for(const char *method)
{
	/* Unknown method names are folded so a client cannot grow the
	 * table (or the /metrics output) without bound. */
	if (!rpc_find(method) && strcmp(method, "(invalid)"))
		method = "(unknown)";
	for (int i = 0; i < nmetrics; i++)
		if (strcmp(metrics[i].name, method) == 0)
			return &metrics[i];
	if (nmetrics == METRIC_METHODS)
		return &metrics[METRIC_METHODS - 1];
	snprintf(metrics[nmetrics].name, sizeof(metrics[0].name), "%s", method);
	return &metrics[nmetrics++];
}

void rpc_metrics_count(const char *method, int code, double seconds)
{
	struct method_metrics *mm;
	int b;

	pthread_mutex_lock(&metrics_lock);
	mm = metrics_for(method);
	mm->calls++;
	mm->sum += seconds;
	for (b = 0; b < METRIC_BUCKETS && seconds > bucket_le[b]; b++)
		;
	mm->buckets[b]++;
	if (code) {
		int i;

		for (i = 0; i < mm->ncodes && mm->codes[i] != code; i++)
			;
		if (i < 12) {
			if (i == mm->ncodes) {
				mm->codes[i] = code;
				mm->ncodes++;
			}
			mm->code_counts[i]++;
		}
	}
	pthread_mutex_unlock(&metrics_lock);
}

void rpc_metrics_event(void)
{
	pthread_mutex_lock(&metrics_lock);
	events_total++;
	pthread_mutex_unlock(&metrics_lock);
}

uint64_t rpc_events_total(void)
{
	uint64_t n;

	pthread_mutex_lock(&metrics_lock);
	n = events_total;
	pthread_mutex_unlock(&metrics_lock);
	return n;
}

void rpc_metrics_write(struct buf *out)
{
	pthread_mutex_lock(&metrics_lock);
	buf_adds(out,
		 "# HELP scholia_rpc_calls_total JSON-RPC calls by method.\n"
		 "# TYPE scholia_rpc_calls_total counter\n");
	for (int i = 0; i < nmetrics; i++)
		buf_addf(out, "scholia_rpc_calls_total{method=\"%s\"} %llu\n",
			 metrics[i].name, (unsigned long long)metrics[i].calls);
	buf_adds(out, "# HELP scholia_rpc_errors_total JSON-RPC errors by "
		      "method and code.\n"
		      "# TYPE scholia_rpc_errors_total counter\n");
	for (int i = 0; i < nmetrics; i++)
		for (int c = 0; c < metrics[i].ncodes; c++)
			buf_addf(out,
				 "scholia_rpc_errors_total{method=\"%s\","
				 "code=\"%d\"} %llu\n",
				 metrics[i].name, metrics[i].codes[c],
				 (unsigned long long)metrics[i].code_counts[c]);
	buf_adds(out, "# HELP scholia_rpc_duration_seconds Time in the "
		      "handler, per method.\n"
		      "# TYPE scholia_rpc_duration_seconds histogram\n");
	for (int i = 0; i < nmetrics; i++) {
		uint64_t cum = 0;

		for (int b = 0; b < METRIC_BUCKETS; b++) {
			cum += metrics[i].buckets[b];
			buf_addf(out,
				 "scholia_rpc_duration_seconds_bucket{method="
				 "\"%s\",le=\"%g\"} %llu\n",
				 metrics[i].name, bucket_le[b],
				 (unsigned long long)cum);
		}
		cum += metrics[i].buckets[METRIC_BUCKETS];
		buf_addf(out,
			 "scholia_rpc_duration_seconds_bucket{method=\"%s\","
			 "le=\"+Inf\"} %llu\n",
			 metrics[i].name, (unsigned long long)cum);
		buf_addf(out,
			 "scholia_rpc_duration_seconds_sum{method=\"%s\"} "
			 "%.6f\n",
			 metrics[i].name, metrics[i].sum);
		buf_addf(out,
			 "scholia_rpc_duration_seconds_count{method=\"%s\"} "
			 "%llu\n",
			 metrics[i].name, (unsigned long long)cum);
	}
	buf_addf(out,
		 "# HELP scholia_events_total Events stored and sent.\n"
		 "# TYPE scholia_events_total counter\n"
		 "scholia_events_total %llu\n",
		 (unsigned long long)events_total);
	pthread_mutex_unlock(&metrics_lock);
}
