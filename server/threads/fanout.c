/*
 * fanout.c - who hears about a new or edited post.
 *
 * A new reply notifies the thread's author and the author of the reply it
 * answers; a new circle-visible thread notifies the chapter's followers;
 * an @handle in a body notifies that account. Every recipient is checked
 * with vis_check() against the post as it stands, with the recipient's own
 * viewer state in the circle: a private annotation never reaches anyone
 * else, a non-member never hears about a circle, and spoiler guard and
 * post first withhold notifications as they withhold the posts. Nobody is
 * notified twice about one post, nor about their own.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "circles/circles.h"
#include "notify/notify.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "threads/internal.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/vec.h"

#define TH_MAX_MENTIONS 20 /* handles honoured in one body */
#define TH_HANDLE_MAX 32

static const char SQL_ANN_AUTHOR[] =
	"SELECT author FROM annotations WHERE id = ?";
static const char SQL_REPLY_AUTHOR[] =
	"SELECT author FROM replies WHERE id = ?";

/* Accounts already notified about this post. */
struct th_seen {
	int64_t *ids; /* malloc'd */
	size_t n, cap;
};

static bool th_seen_has(const struct th_seen *s, int64_t id)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->ids[i] == id)
			return true;
	return false;
}

static void th_seen_add(struct th_seen *s, int64_t id)
{
	if (th_seen_has(s, id))
		return;
	s->ids = vec_reserve(s->ids, s->n, &s->cap, sizeof(*s->ids));
	s->ids[s->n++] = id;
}

/* Notifies account if it may see the post in full. */
static int th_tell(struct rpc_ctx *ctx, const struct th_post *p,
		   const struct vis_item *item, struct th_seen *seen,
		   int64_t account, const char *kind)
{
	struct store *db = rpc_store(ctx);
	struct vis_viewer v;
	json_t *data, *actor;
	int rc;

	if (account <= 0 || account == p->author || th_seen_has(seen, account))
		return 0;
	th_seen_add(seen, account);
	if (circles_viewer(db, p->circle, account, false, &v) != 0)
		return 0;
	if (vis_check(&v, item) != VIS_FULL)
		return 0;
	actor = auth_author_json(db, p->author);
	data = json_pack(
		"{s:I, s:I, s:I, s:o, s:o, s:o}", "circle",
		(json_int_t)p->circle, "chapter", (json_int_t)p->chapter,
		"annotation", (json_int_t)p->annotation, "reply",
		p->kind == TH_REPLY ? json_integer(p->id) : json_null(),
		"target", th_target_ref(p->kind, p->id), "actor",
		actor ? actor : json_null());
	rc = notify_add(ctx, account, p->circle, kind, data);
	json_decref(data);
	return rc;
}

/*
 * Finds the @handles of body (lower-cased, 3-32 of a-z 0-9 _, not inside a
 * word or an e-mail address) and calls fn for each. Returns fn's first
 * nonzero result or 0.
 */
static int th_each_mention(const char *body, int (*fn)(const char *h, void *),
			   void *arg)
{
	const char *s = body;
	int count = 0, rc;

	if (!s)
		return 0;
	for (; *s; s++) {
		char h[TH_HANDLE_MAX + 1];
		size_t n = 0;
		const char *q;

		if (*s != '@')
			continue;
		if (s > body && (isalnum((unsigned char)s[-1]) ||
				 s[-1] == '_' || s[-1] == '@'))
			continue;
		for (q = s + 1; isalnum((unsigned char)*q) || *q == '_'; q++) {
			if (n < TH_HANDLE_MAX)
				h[n] = (char)tolower((unsigned char)*q);
			n++;
		}
		if (n < 3 || n > TH_HANDLE_MAX)
			continue;
		h[n] = '\0';
		rc = fn(h, arg);
		if (rc)
			return rc;
		if (++count >= TH_MAX_MENTIONS)
			break;
	}
	return 0;
}

/* Collects handles (old body), or checks one against them. */
struct th_mention_ctx {
	struct rpc_ctx *ctx;
	const struct th_post *p;
	const struct vis_item *item;
	struct th_seen *seen;
	const char *old_body;
	bool found; /* th_mention_in_old: the handle was there */
	const char *want;
};

static int th_mention_match(const char *h, void *arg)
{
	struct th_mention_ctx *m = arg;

	if (strcmp(h, m->want) == 0) {
		m->found = true;
		return 1;
	}
	return 0;
}

static int th_mention_one(const char *h, void *arg)
{
	struct th_mention_ctx *m = arg;
	int64_t account;

	if (m->old_body) {
		struct th_mention_ctx old = *m;

		old.want = h;
		old.found = false;
		th_each_mention(m->old_body, th_mention_match, &old);
		if (old.found)
			return 0; /* already mentioned before the edit */
	}
	account = auth_account_by_handle(rpc_store(m->ctx), h);
	if (account <= 0)
		return 0;
	return th_tell(m->ctx, m->p, m->item, m->seen, account, "mention");
}

int th_notify_post(struct rpc_ctx *ctx, const struct th_post *p,
		   const char *old_body, bool is_new)
{
	struct store *db = rpc_store(ctx);
	struct th_mention_ctx m;
	struct th_seen seen;
	struct vis_item item;
	int64_t who = 0;
	int rc = 0;

	if (p->private_)
		return 0; /* nobody but the author may know of it */
	memset(&seen, 0, sizeof(seen));
	th_post_vis(db, p, &item);
	if (is_new && p->kind == TH_REPLY) {
		if (store_int_query(db, &who, SQL_ANN_AUTHOR, "i",
				    p->annotation) == 1)
			rc = th_tell(ctx, p, &item, &seen, who, "reply");
		if (!rc && p->parent &&
		    store_int_query(db, &who, SQL_REPLY_AUTHOR, "i",
				    p->parent) == 1)
			rc = th_tell(ctx, p, &item, &seen, who, "reply");
		if (rc)
			goto out;
	}
	memset(&m, 0, sizeof(m));
	m.ctx = ctx;
	m.p = p;
	m.item = &item;
	m.seen = &seen;
	m.old_body = old_body;
	rc = th_each_mention(p->body, th_mention_one, &m);
	if (rc)
		goto out;
	if (is_new && p->kind == TH_ANNOTATION) {
		int64_t *ids = NULL;
		size_t n = 0, i;

		rc = notify_followers(db, p->circle, p->chapter, &ids, &n);
		for (i = 0; rc == 0 && i < n; i++)
			rc = th_tell(ctx, p, &item, &seen, ids[i],
				     "new_thread");
		free(ids);
	}
out:
	free(seen.ids);
	return rc;
}
