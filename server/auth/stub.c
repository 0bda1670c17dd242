/* Placeholder until the auth module lands; the auth helper deletes it. */
#include "auth/auth.h"
#include "util/err.h"
void auth_init(void) {}
int auth_cli_create_account(struct store *db, const char *handle, const char *display_name, bool admin, const char *password, const char *public_url, FILE *out, char *err, size_t errlen)
{ (void)db; (void)handle; (void)display_name; (void)admin; (void)password; (void)public_url; (void)out; (void)err; (void)errlen; return SCH_EINVAL; }
int auth_cli_reset_link(struct store *db, const char *handle, const char *public_url, FILE *out, char *err, size_t errlen)
{ (void)db; (void)handle; (void)public_url; (void)out; (void)err; (void)errlen; return SCH_EINVAL; }
bool auth_no_accounts(struct store *db) { (void)db; return false; }
json_t *auth_account_json(struct store *db, int64_t account) { (void)db; (void)account; return NULL; }
json_t *auth_author_json(struct store *db, int64_t account) { (void)db; return json_pack("{s:I,s:s,s:s}", "id", (json_int_t)account, "handle", "?", "display_name", "?"); }
int64_t auth_account_by_handle(struct store *db, const char *handle) { (void)db; (void)handle; return 0; }
int auth_set_banned(struct rpc_ctx *ctx, int64_t account, bool banned) { (void)ctx; (void)account; (void)banned; return SCH_EINVAL; }
bool auth_is_banned(struct store *db, int64_t account) { (void)db; (void)account; return false; }
