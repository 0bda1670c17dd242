/* Placeholder until the moderation module lands; its helper deletes it. */
#include "moderation/moderation.h"
void moderation_init(void) {}
int moderation_check_post(struct rpc_ctx *ctx, const struct vis_viewer *v, int64_t circle) { (void)ctx; (void)v; (void)circle; return 0; }
int moderation_log(struct rpc_ctx *ctx, int64_t circle, const char *action, const char *target, const char *reason) { (void)ctx; (void)circle; (void)action; (void)target; (void)reason; return 0; }
