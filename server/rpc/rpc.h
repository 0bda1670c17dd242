/*
 * rpc.h - JSON-RPC 2.0: the method table, the call context, errors,
 * parameter validation, and what a handler may ask to happen after commit.
 *
 * The RPC layer knows nothing of sockets. A connection is a 64-bit id. The
 * transport (net/) hands whole text messages to rpc_submit_message(); the
 * store executor (exec/exec.c) runs handlers in group-committed batches and
 * hands back replies, events and effects to the transport after COMMIT.
 *
 * A domain module registers its methods once at start-up:
 *
 *	static const struct rpc_method methods[] = {
 *		{ "circle.create", circle_create, RPC_AUTH },
 *		{ NULL, NULL, 0 }
 *	};
 *	rpc_register(methods);
 *
 * A handler runs on the store thread inside its own savepoint:
 *
 *	static int circle_create(struct rpc_ctx *ctx, json_t *params,
 *				 json_t **result)
 *	{
 *		const char *name;
 *		if (rpc_param_str(ctx, params, "name", true, 1, 200, &name))
 *			return RPC_ERR;    // -32602 with data.field = "name"
 *		...
 *		*result = json_pack("{s:I}", "id", id);   // ownership passes
 *		return 0;
 *	}
 *
 * Returning non-zero rolls the savepoint back, drops the events and effects
 * the handler queued, and replies with the error the handler set through
 * rpc_fail*() (or -32603 if it set none). Returning 0 with *result set
 * replies with that result after the batch commits.
 */
#ifndef SCH_RPC_H
#define SCH_RPC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/refbuf.h"
#include "visibility/visibility.h"

struct store;
struct rpc_ctx;
struct http_req;
struct http_resp;

/* The JSON-RPC error codes RPC_E_* are in the project's one enumeration,
 * util/err.h. */

/* Handler return value after rpc_fail*() recorded the error. */
#define RPC_ERR SCH_ERECORDED
/* Handler return value after rpc_defer(): the reply comes later. */
#define RPC_DEFERRED SCH_EDEFERRED

/* Method flags. */
#define RPC_AUTH 0x1   /* needs an authenticated account (else -32001) */
#define RPC_PUBLIC 0x0 /* callable without an account */
/* Only reads: runs on the read pool (a read-only connection, its own WAL
 * snapshot) instead of the executor, unless the caller's connection has
 * earlier calls still in the executor's hands (read-your-writes). A method
 * without it is a write. Its handler must not publish, defer or change the
 * connection's authentication. */
#define RPC_READ 0x2

/* A method handler; see the top of this file. */
typedef int (*rpc_handler_fn)(struct rpc_ctx *ctx, json_t *params,
			      json_t **result);

/* One entry of a module's method table; the table ends with a NULL name. */
struct rpc_method {
	const char *name;
	rpc_handler_fn fn;
	unsigned flags;
};

/* Adds a NULL-terminated table (borrowed: must outlive the server). */
void rpc_register(const struct rpc_method *table);

/*
 * Work a write can have done before it reaches the executor (issue 15: the
 * executor runs SQL, not Markdown): fn runs on the front thread that parsed
 * the message, with the call's params (possibly not valid: check them), and
 * returns a JSON value (or NULL) that the handler finds with rpc_prepared().
 * It must not touch the database or any state: it sees only params. The
 * handler must still work without it (a call from HTTP or the command line
 * is not prepared). Register at start-up, before serving.
 */
typedef json_t *(*rpc_prepare_fn)(json_t *params);
void rpc_set_prepare(const char *method, rpc_prepare_fn fn);
/* The prepare function of a method, or NULL. */
rpc_prepare_fn rpc_find_prepare(const char *method);
/* What the method's prepare function returned for this call (borrowed), or
 * NULL. */
json_t *rpc_prepared(const struct rpc_ctx *ctx);
/* Looks a method up; NULL if unknown. */
const struct rpc_method *rpc_find(const char *name);
/* Calls fn for every registered method (`scholia methods` lists them for
 * the access matrix test). */
void rpc_each_method(void (*fn)(const struct rpc_method *m, void *arg),
		     void *arg);

/* ---- the caller ---- */

/* Account of the caller, 0 when not authenticated. */
int64_t rpc_account(const struct rpc_ctx *ctx);
/* Session id of the caller (auth/ owns sessions), 0 when none. */
int64_t rpc_session(const struct rpc_ctx *ctx);
bool rpc_is_admin(const struct rpc_ctx *ctx);
/* Connection id; 0 for calls that come from HTTP or the command line. */
uint64_t rpc_conn(const struct rpc_ctx *ctx);
/* Peer address and User-Agent of the connection ("" if unknown). */
const char *rpc_peer(const struct rpc_ctx *ctx);
const char *rpc_user_agent(const struct rpc_ctx *ctx);
/* The database, inside this call's savepoint. */
struct store *rpc_store(const struct rpc_ctx *ctx);
/* The method name being called. */
const char *rpc_method_name(const struct rpc_ctx *ctx);
/* Seconds since the epoch, fixed for the whole call. */
int64_t rpc_now(const struct rpc_ctx *ctx);

/* Sets the connection's authentication after commit (auth.login/resume,
 * auth.logout with 0s). Also used for cookie auth of the upgrade. */
void rpc_set_auth(struct rpc_ctx *ctx, int64_t account, int64_t session,
		  bool is_admin);

/*
 * Answers with bytes that already hold the serialised JSON result (a cache
 * of a large, unchanging result such as a rendered chapter), so the store
 * thread does not serialise it again for every reply. The handler returns 0
 * and leaves *result NULL. Takes the caller's reference of rb.
 */
void rpc_result_raw(struct rpc_ctx *ctx, struct refbuf *rb);

/*
 * Runs a handler inside this call (same transaction and caller; what it
 * publishes and asks for is this call's). A module that lets the modules
 * above it run one of its methods exports a function that calls its own
 * handler through this (threads_reply_create, circles_plan_set). Takes the
 * reference of params (NULL: {}). Returns 0 with *result (new reference, a
 * raw result turned back into JSON), or the handler's nonzero code with
 * *result NULL and its error recorded in ctx.
 */
int rpc_call_handler(struct rpc_ctx *ctx, rpc_handler_fn fn, json_t *params,
		     json_t **result);
/*
 * A registered method called by name as a call of its own that an HTTP
 * route makes on the caller's behalf (the Web Annotation Protocol's POST is an
 * annotation.create): the method's RPC_AUTH flag is checked, the call is
 * counted in /metrics under its name, and on failure *error gets the
 * JSON-RPC error object {code, message, data?} (new reference). Takes the
 * reference of params. 0 with *result, or the error code.
 */
int rpc_call_as(struct rpc_ctx *ctx, const char *method, json_t *params,
		json_t **result, json_t **error);

/* ---- errors ---- */

/* Records the error for the reply; returns RPC_ERR for `return rpc_fail()`. */
int rpc_fail(struct rpc_ctx *ctx, int code, const char *message);
/* -32602 with data.field. */
int rpc_fail_field(struct rpc_ctx *ctx, const char *field, const char *message);
/* Code with data.retry_after_ms (-32029, -32010 slow mode and mute). */
int rpc_fail_retry(struct rpc_ctx *ctx, int code, const char *message,
		   int64_t retry_after_ms);
/* Adds a key to the error's data object (takes the reference of value). */
void rpc_fail_data(struct rpc_ctx *ctx, const char *key, json_t *value);
/* Maps a negative SCH_E* store error to -32603 (or -32009 for conflicts),
 * logging it; returns RPC_ERR. */
int rpc_fail_store(struct rpc_ctx *ctx, int sch_err);

/* ---- parameters ---- */
/* Each returns 0 and sets *out, or records -32602 naming the field and
 * returns RPC_ERR. A missing optional parameter leaves *out unchanged and
 * returns 0; `present` variants tell whether it was given. Strings are
 * borrowed from params. Lengths are in Unicode code points; a string over
 * max_cp gives -32013 ("too large") when too_large_code is set, else -32602.
 */
int rpc_param_int(struct rpc_ctx *ctx, json_t *params, const char *name,
		  bool required, int64_t min, int64_t max, int64_t *out);
int rpc_param_id(struct rpc_ctx *ctx, json_t *params, const char *name,
		 bool required, int64_t *out); /* integer >= 1 */
int rpc_param_bool(struct rpc_ctx *ctx, json_t *params, const char *name,
		   bool required, bool *out);
int rpc_param_str(struct rpc_ctx *ctx, json_t *params, const char *name,
		  bool required, size_t min_cp, size_t max_cp,
		  const char **out);
/* Like rpc_param_str but over max_cp answers -32013 (SPEC §5 bodies). */
int rpc_param_text(struct rpc_ctx *ctx, json_t *params, const char *name,
		   bool required, size_t max_cp, const char **out);
/* One of a NULL-terminated list of words; *out gets its index. */
int rpc_param_enum(struct rpc_ctx *ctx, json_t *params, const char *name,
		   bool required, const char *const *words, int *out);
/* An object or array parameter (borrowed). */
int rpc_param_json(struct rpc_ctx *ctx, json_t *params, const char *name,
		   bool required, json_type type, json_t **out);
/* Rejects unknown keys: returns RPC_ERR naming the first unknown one.
 * allowed is NULL-terminated. */
int rpc_params_only(struct rpc_ctx *ctx, json_t *params,
		    const char *const *allowed);
/* Pagination: parses `cursor` (an opaque string the module produced, here
 * simply a decimal id) into *out (0 when absent). */
int rpc_param_cursor(struct rpc_ctx *ctx, json_t *params, int64_t *out);

/* ---- events this call publishes (rpc/publish.c) ---- */
/* Marking stored events (bus_mark) and replay (bus_replay, bus_circle_seq)
 * need no call: a handler uses bus/bus.h with rpc_store(ctx). */

/*
 * Stores an event for the circle in this call's savepoint: the next per-circle
 * seq, its type, the data, and the visibility facts. After COMMIT it is sent
 * to every subscriber that vis_check() lets see it: the full data, or its
 * redacted form, for which the caller supplies, when the item can be
 * hidden, an overlay: the keys whose values a redacted viewer gets instead
 * (NULL: none; bus/bus.h). item_kind/item_id name the thing the event is about
 * ("annotation", "reply", "member", ... and its id) so that a later hide or
 * delete can redact its stored events (bus_mark). Takes the references
 * of data and redacted. Returns the seq (>0) or a negative SCH_E* code.
 */
int64_t rpc_publish(struct rpc_ctx *ctx, int64_t circle, const char *type,
		    const struct vis_item *item, const char *item_kind,
		    int64_t item_id, json_t *data, json_t *redacted);
/* An ephemeral event (no seq, not stored): presence.changed. */
void rpc_publish_ephemeral(struct rpc_ctx *ctx, int64_t circle,
			   const char *type, const struct vis_item *item,
			   json_t *data);
/* An event sent to one account's connections only, after commit
 * (notification.created). Takes the reference of data. */
void rpc_publish_account(struct rpc_ctx *ctx, int64_t account, const char *type,
			 json_t *data);

/* ---- effects on connections, applied by the transport after commit ---- */

/* Subscribes this call's connection to a circle with the viewer state;
 * seq is the circle's seq the reply answers (live events after it). */
void rpc_effect_subscribe(struct rpc_ctx *ctx, int64_t circle, int64_t seq,
			  const struct vis_viewer *viewer);
void rpc_effect_unsubscribe(struct rpc_ctx *ctx, int64_t circle);
/* Replaces the viewer state of every subscription of account to circle
 * (role change, progress, post-first met, removal). */
void rpc_effect_viewer(struct rpc_ctx *ctx, const struct vis_viewer *viewer);
/* Closes every connection of a session (code 4001) or of an account
 * (session 0: all its sessions; used by ban and account.delete). */
void rpc_effect_close(struct rpc_ctx *ctx, int64_t account, int64_t session,
		      int ws_code, const char *reason);

/* ---- deferring slow work to the worker pool ---- */

/* Runs on a pool thread: no database, no ctx. */
typedef void (*rpc_work_fn)(void *arg);
/* Runs on the store thread in a new savepoint to finish the call. */
typedef int (*rpc_cont_fn)(struct rpc_ctx *ctx, void *arg, json_t **result);

/*
 * After this call's batch commits, runs work(arg) on the pool, then cont on
 * the store thread with the same caller and request id; then free_arg(arg).
 * The handler returns RPC_DEFERRED. A cont may itself defer again.
 */
int rpc_defer(struct rpc_ctx *ctx, rpc_work_fn work, rpc_cont_fn cont,
	      void *arg, void (*free_arg)(void *arg));

/* ---- work that outlives a failing call ---- */

/*
 * Some writes must stay even when the call answers with an error, which
 * rolls the call's savepoint back: a login failure's count on a shared
 * database (auth/limit.c). rpc_keep() queues fn(db, arg) to run right after
 * the call's savepoint is released or rolled back (or the handler
 * deferred), in the batch's transaction, in a savepoint of its own: it
 * commits with the batch whatever the call answered (a batch that fails to
 * commit loses it with the rest). A nonzero return from fn rolls back fn's
 * own writes only (logged). free_arg (may be NULL) frees arg afterwards.
 */
typedef int (*rpc_keep_fn)(struct store *db, void *arg);
void rpc_keep(struct rpc_ctx *ctx, rpc_keep_fn fn, void *arg,
	      void (*free_arg)(void *arg));

/* ---- hooks the executor calls ---- */

/*
 * What the executor (exec/exec.c) asks of the modules, outside any method
 * call: authentication (auth/) and the connection's life (circles/
 * presence, mail/'s tick). All optional; they run on the store thread. Set
 * once at start-up.
 */
struct rpc_hooks {
	/* Cookie/bearer token -> account, session, admin; 0 on success. */
	int (*authenticate)(struct store *db, const char *token,
			    int64_t *account, int64_t *session, bool *is_admin,
			    const char *peer, const char *user_agent);
	/* Re-checks a live session (expiry, revocation, ban); true = alive. */
	bool (*session_alive)(struct store *db, int64_t session);
	/* A connection closed: presence clean-up (circles module). Runs in a
	 * call context with no reply. */
	void (*conn_closed)(struct rpc_ctx *ctx);
	/* Called about once a second with a call context (presence idle). */
	void (*tick)(struct rpc_ctx *ctx);
};
/* The installed hooks (zeroed until modules set fields). */
extern struct rpc_hooks rpc_hooks;

/* ---- calls that come from an HTTP route (http/http.h) ---- */

/* In an HTTP call (a route's handler or a deferred continuation): the
 * request and the response to fill. NULL in a WebSocket call. */
const struct http_req *rpc_http_req(const struct rpc_ctx *ctx);
struct http_resp *rpc_http_resp(struct rpc_ctx *ctx);

/* ---- local calls: command line, unit tests, fuzz targets ---- */

/*
 * A call context with no connection, for code that runs outside the server
 * loop. Events are stored (with seq) but go to no live subscriber; effects
 * and deferrals are ignored except that deferred work runs inline. The
 * caller frees it with rpc_ctx_free_local().
 */
struct rpc_ctx *rpc_ctx_new_local(struct store *db, int64_t account,
				  bool is_admin);
void rpc_ctx_free_local(struct rpc_ctx *ctx);
/*
 * Calls a method by name in ctx, inside a savepoint, running any deferred
 * work inline. Returns 0 with *result (caller owns), or the error code with
 * *error set to the JSON-RPC error object (caller owns).
 */
int rpc_call_local(struct rpc_ctx *ctx, const char *method, json_t *params,
		   json_t **result, json_t **error);

/* ---- the limits server.info advertises (set once by main) ---- */
/* A module's own settings are in its own struct (auth_config,
 * circles_config, mail_config, moderation_config, search_config), filled by
 * main.c too; the two limits here that a module enforces (posts_per_minute:
 * moderation/, login_failures: auth/) are read from here because clients
 * are told them. */
struct rpc_config {
	size_t max_message;   /* 65536 */
	int max_depth;	      /* 32 */
	size_t max_body_cp;   /* 10000 */
	size_t max_exact_cp;  /* 4000 */
	int posts_per_minute; /* 20 */
	int login_failures;   /* 5 per minute */
	bool mail;	      /* --smtp-url is set */
};
extern struct rpc_config rpc_config;

#endif
