/* Placeholder until the circles module lands; the circles helper deletes it. */
#include "circles/circles.h"
#include "util/err.h"
#include <string.h>
void circles_init(void) {}
int circles_viewer(struct store *db, int64_t circle, int64_t account, bool is_admin, struct vis_viewer *out)
{ (void)db; memset(out, 0, sizeof(*out)); out->circle = circle; out->account = account; out->is_admin = is_admin; return SCH_ENOTFOUND; }
int circles_book(struct store *db, int64_t circle, int64_t *book) { (void)db; (void)circle; (void)book; return SCH_ENOTFOUND; }
int circles_mark_posted(struct rpc_ctx *ctx, int64_t circle, int64_t account, int64_t chapter) { (void)ctx; (void)circle; (void)account; (void)chapter; return 0; }
int circles_remove_member(struct rpc_ctx *ctx, int64_t circle, int64_t account, const char *reason) { (void)ctx; (void)circle; (void)account; (void)reason; return SCH_ENOTFOUND; }
