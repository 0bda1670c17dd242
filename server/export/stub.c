/* Placeholder until the export module lands; its helper deletes it. */
#include "export/export.h"
#include "util/err.h"
void export_init(void) {}
int export_cli(struct store *db, int64_t circle, const char *format, const char *public_url, FILE *out, char *err, size_t errlen)
{ (void)db; (void)circle; (void)format; (void)public_url; (void)out; (void)err; (void)errlen; return SCH_EINVAL; }
