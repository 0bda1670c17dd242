/* Placeholder until the threads module lands; the threads helper deletes it. */
#include "threads/threads.h"
#include "util/err.h"
#include "util/buf.h"
void threads_init(void) {}
int threads_target_parse(struct store *db, json_t *target, struct threads_target *out) { (void)db; (void)target; (void)out; return SCH_ENOTFOUND; }
int threads_set_hidden(struct rpc_ctx *ctx, const struct threads_target *t, bool hidden, const char *reason) { (void)ctx; (void)t; (void)hidden; (void)reason; return SCH_ENOTFOUND; }
int threads_set_locked(struct rpc_ctx *ctx, int64_t annotation, bool locked) { (void)ctx; (void)annotation; (void)locked; return SCH_ENOTFOUND; }
int threads_set_pinned(struct rpc_ctx *ctx, int64_t annotation, bool pinned) { (void)ctx; (void)annotation; (void)pinned; return SCH_ENOTFOUND; }
json_t *threads_target_json(struct rpc_ctx *ctx, const struct threads_target *t) { (void)ctx; (void)t; return NULL; }
char *threads_render_markdown(const char *src, size_t len) { (void)src; (void)len; return xstrdup(""); }
int threads_target_get(struct store *db, int kind, int64_t id, struct threads_target *out) { (void)db; (void)kind; (void)id; (void)out; return SCH_ENOTFOUND; }
void threads_target_vis(struct store *db, const struct threads_target *t, struct vis_item *out) { (void)db; (void)t; (void)out; }
int threads_each_visible(struct rpc_ctx *ctx, int64_t circle, int64_t chapter, const struct vis_viewer *v, bool with_replies, int (*fn)(json_t *annotation, void *arg), void *arg)
{ (void)ctx; (void)circle; (void)chapter; (void)v; (void)with_replies; (void)fn; (void)arg; return 0; }
