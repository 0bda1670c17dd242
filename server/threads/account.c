/*
 * account.c - what threads adds to account.export and account.delete.
 *
 * account.export carries everything the account wrote here: its live
 * annotations (private ones included, each with its previous versions), its
 * replies and its reactions. account.delete removes what only the account
 * could see - its private annotations and the replies in them - as if it
 * had deleted them itself (rows gone, stored events redacted); its
 * circle-visible posts stay in their threads under the anonymised author
 * that auth leaves behind, so that other members' replies keep their
 * context.
 */
#include <stdlib.h>

#include "auth/auth.h"
#include "bus/bus.h"
#include "rpc/rpc.h"
#include "events/events.h"
#include "store/store.h"
#include "threads/internal.h"
#include "threads/threads.h"
#include "util/buf.h"
#include "util/err.h"

static const char SQL_MY_ANNS[] =
	"SELECT id FROM annotations WHERE author = ? AND gone = 0"
	" AND deleted = 0 ORDER BY id";
static const char SQL_MY_REPLIES[] =
	"SELECT id FROM replies WHERE author = ? AND gone = 0 AND deleted = 0"
	" ORDER BY id";
static const char SQL_MY_REACTIONS[] =
	"SELECT kind, target, reaction, created_at FROM reactions"
	" WHERE account = ? ORDER BY created_at, kind, target";
static const char SQL_MY_PRIVATE[] =
	"SELECT id FROM annotations WHERE author = ? AND visibility = 'private'"
	" AND gone = 0";
static const char SQL_THREAD_ALL_REPLIES[] =
	"SELECT id FROM replies WHERE annotation = ? AND gone = 0";
static const char SQL_WIPE_ANN[] =
	"UPDATE annotations SET deleted = 1, gone = 1, body = NULL,"
	" body_html = NULL WHERE id = ?";
static const char SQL_WIPE_REPLY[] =
	"UPDATE replies SET deleted = 1, gone = 1, body = NULL,"
	" body_html = NULL WHERE id = ?";
static const char SQL_WIPE_VERSIONS[] =
	"DELETE FROM post_versions WHERE kind = ? AND id = ?";
static const char SQL_WIPE_REACTIONS[] =
	"DELETE FROM reactions WHERE kind = ? AND target = ?";

/* The ids a one-integer-parameter query yields; caller frees *ids. */
static int th_ids(struct store *db, const char *sql, int64_t arg, int64_t **ids,
		  size_t *n)
{
	return store_ids(store_query(db, sql, "i", arg), ids, n);
}

/* Every live post of one kind by account, as its author sees it. */
static int th_export_posts(struct rpc_ctx *ctx, int64_t account, int kind,
			   json_t **out)
{
	struct store *db = rpc_store(ctx);
	int64_t *ids;
	size_t n, i;
	json_t *arr;
	int rc;

	rc = th_ids(db, kind == TH_REPLY ? SQL_MY_REPLIES : SQL_MY_ANNS,
		    account, &ids, &n);
	if (rc) {
		free(ids);
		return rpc_fail_store(ctx, rc);
	}
	arr = json_array();
	for (i = 0; i < n; i++) {
		struct th_post p;
		json_t *o;

		if (th_post_load(db, kind, ids[i], &p))
			continue;
		o = th_post_json(db, &p, account, VIS_FULL);
		json_object_set_new(o, "versions",
				    th_versions_json(db, kind, p.id));
		json_array_append_new(arr, o);
		th_post_free(&p);
	}
	free(ids);
	*out = arr;
	return 0;
}

static int th_export_annotations(struct rpc_ctx *ctx, int64_t account,
				 json_t **out)
{
	return th_export_posts(ctx, account, TH_ANNOTATION, out);
}

static int th_export_replies(struct rpc_ctx *ctx, int64_t account, json_t **out)
{
	return th_export_posts(ctx, account, TH_REPLY, out);
}

static int th_export_reactions(struct rpc_ctx *ctx, int64_t account,
			       json_t **out)
{
	struct store_stmt *st;
	json_t *arr = json_array();
	int rc;

	st = store_query(rpc_store(ctx), SQL_MY_REACTIONS, "i", account);
	if (!st) {
		json_decref(arr);
		return rpc_fail_store(ctx, SCH_EDB);
	}
	while ((rc = store_row(st)) > 0)
		json_array_append_new(
			arr, json_pack("{s:o, s:s, s:o}", "target",
				       th_target_ref((int)store_int(st, 0),
						     store_int(st, 1)),
				       "kind", store_text(st, 2), "created_at",
				       th_time_json(store_int(st, 3))));
	if (rc < 0) {
		json_decref(arr);
		return rpc_fail_store(ctx, rc);
	}
	*out = arr;
	return 0;
}

/* Removes one post for good: row gone, versions, reactions, search entry,
 * stored events redacted. */
static int th_wipe(struct rpc_ctx *ctx, int kind, int64_t id)
{
	struct store *db = rpc_store(ctx);
	int rc;

	rc = store_run(db, kind == TH_REPLY ? SQL_WIPE_REPLY : SQL_WIPE_ANN,
		       "i", id);
	if (!rc)
		rc = store_run(db, SQL_WIPE_VERSIONS, "ii", (int64_t)kind, id);
	if (!rc)
		rc = store_run(db, SQL_WIPE_REACTIONS, "ii", (int64_t)kind, id);
	if (rc)
		return rc;
	(void)th_emit_post(
		ctx, EVENTS_POST_DELETED,
		&(struct th_post){.kind = kind, .id = id, .deleted = true});
	return bus_mark(rpc_store(ctx), th_kind_name(kind), id, -1, true);
}

static int th_delete_account(struct rpc_ctx *ctx, int64_t account)
{
	struct store *db = rpc_store(ctx);
	int64_t *anns = NULL, *reps = NULL;
	size_t na, nr, i, j;
	int rc;

	rc = th_ids(db, SQL_MY_PRIVATE, account, &anns, &na);
	for (i = 0; rc == 0 && i < na; i++) {
		rc = th_ids(db, SQL_THREAD_ALL_REPLIES, anns[i], &reps, &nr);
		for (j = 0; rc == 0 && j < nr; j++)
			rc = th_wipe(ctx, TH_REPLY, reps[j]);
		free(reps);
		reps = NULL;
		if (!rc)
			rc = th_wipe(ctx, TH_ANNOTATION, anns[i]);
	}
	free(anns);
	return rc ? rpc_fail_store(ctx, rc) : 0;
}

void threads_account_init(void)
{
	auth_add_export_hook("annotations", th_export_annotations);
	auth_add_export_hook("replies", th_export_replies);
	auth_add_export_hook("reactions", th_export_reactions);
	auth_add_delete_hook("threads", th_delete_account);
}
