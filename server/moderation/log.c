/*
 * log.c - the audit log: every moderator and admin action appends one row
 * to mod_log (actor, action, target, reason, time). Nothing in the server
 * updates or deletes it, and the schema's triggers refuse it anyway
 * (migrations/0006_moderation.sql). Moderators read their circle's log with
 * mod.log; site admins read the site-wide entries (bans) with admin.log.
 */
#include "moderation/moderation.h"

#include "auth/auth.h"
#include "moderation/internal.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD_LOG_PAGE 50

static const char SQL_APPEND[] =
	"INSERT INTO mod_log(circle, actor, action, target, reason, at)"
	" VALUES (?, ?, ?, ?, ?, ?)";
static const char SQL_PAGE[] =
	"SELECT id, actor, action, target, reason, at FROM mod_log"
	" WHERE circle = ? AND id < ? ORDER BY id DESC LIMIT ?";
static const char SQL_PAGE_SITE[] =
	"SELECT id, actor, action, target, reason, at FROM mod_log"
	" WHERE circle IS NULL AND id < ? ORDER BY id DESC LIMIT ?";

int mod_log_append(struct rpc_ctx *ctx, int64_t circle, int64_t actor,
		   const char *action, const char *target, const char *reason)
{
	return store_run(rpc_store(ctx), SQL_APPEND, "IIttti", circle, actor,
			 action, target, reason && reason[0] ? reason : NULL,
			 rpc_now(ctx));
}

int moderation_log(struct rpc_ctx *ctx, int64_t circle, const char *action,
		   const char *target, const char *reason)
{
	return mod_log_append(ctx, circle, rpc_account(ctx), action, target,
			      reason);
}

/* The stored target text ("annotation:12", "invite:CODE") as the SPEC
 * names content: {"annotation": 12}; a non-numeric id stays a string.
 * New reference; JSON null for none. */
static json_t *target_json(const char *t)
{
	const char *colon = t ? strchr(t, ':') : NULL;
	char kind[32], *end;
	long long id;

	if (!t)
		return json_null();
	if (t[0] == '{') { /* already in the SPEC's form */
		json_t *o = json_loads(t, 0, NULL);

		if (json_is_object(o))
			return o;
		json_decref(o);
		return json_string(t);
	}
	if (!colon || colon == t || (size_t)(colon - t) >= sizeof(kind))
		return json_string(t);
	memcpy(kind, t, (size_t)(colon - t));
	kind[colon - t] = '\0';
	id = strtoll(colon + 1, &end, 10);
	if (colon[1] && !*end)
		return json_pack("{s:I}", kind, (json_int_t)id);
	return json_pack("{s:s}", kind, colon + 1);
}

/* Runs a prepared page query into {items, next}. */
static int page_result(struct rpc_ctx *ctx, struct store_stmt *st,
		       json_t **result)
{
	struct store *db = rpc_store(ctx);
	json_t *items = json_array();
	int64_t last = 0;
	bool more = false;
	int n = 0, rc;

	if (!st) {
		json_decref(items);
		return rpc_fail_store(ctx, SCH_EDB);
	}
	while ((rc = store_row(st)) > 0) {
		json_t *it;

		if (n == MOD_LOG_PAGE) {
			store_done(st);
			more = true;
			rc = 0;
			break;
		}
		last = store_int(st, 0);
		it = json_pack("{s:I,s:I,s:s,s:o,s:s?,s:o}", "id",
			       (json_int_t)last, "actor",
			       (json_int_t)store_int(st, 1), "action",
			       store_text(st, 2), "target",
			       target_json(store_text(st, 3)), "reason",
			       store_text(st, 4), "at",
			       mod_time_json(store_int(st, 5)));
		json_array_append_new(items, it);
		n++;
	}
	if (rc < 0) {
		json_decref(items);
		return rpc_fail_store(ctx, rc);
	}
	/* actors as {id, handle, display_name}, or null for the system */
	for (size_t i = 0; i < json_array_size(items); i++) {
		json_t *it = json_array_get(items, i);
		int64_t a = json_integer_value(json_object_get(it, "actor"));
		json_t *aj = a ? auth_author_json(db, a) : NULL;

		json_object_set_new(it, "actor", aj ? aj : json_null());
	}
	*result = mod_page_json(items, more, last);
	return 0;
}

int mod_log_list(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	int64_t circle, cursor;

	if (mod_list_params(ctx, params, &circle, &cursor))
		return RPC_ERR;
	if (cursor <= 0)
		cursor = INT64_MAX;
	return page_result(ctx,
			   store_query(rpc_store(ctx), SQL_PAGE, "iii", circle,
				       cursor, (int64_t)MOD_LOG_PAGE + 1),
			   result);
}

int mod_admin_log(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	int64_t cursor;

	if (mod_list_params(ctx, params, NULL, &cursor))
		return RPC_ERR;
	if (cursor <= 0)
		cursor = INT64_MAX;
	return page_result(ctx,
			   store_query(rpc_store(ctx), SQL_PAGE_SITE, "ii",
				       cursor, (int64_t)MOD_LOG_PAGE + 1),
			   result);
}
