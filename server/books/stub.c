/* Placeholder until the books module lands; the books helper deletes it. */
#include "books/books.h"
#include "util/err.h"
void books_init(void) {}
int books_cli_import(struct store *db, const char *path, const char *slug, bool dry_run, FILE *out, char *err, size_t errlen)
{ (void)db; (void)path; (void)slug; (void)dry_run; (void)out; (void)err; (void)errlen; return SCH_EINVAL; }
int books_ensure_content(struct store *db, const char *content_dir) { (void)db; (void)content_dir; return 0; }
int books_chapter_info(struct store *db, int64_t chapter, struct books_chapter_info *out) { (void)db; (void)chapter; (void)out; return SCH_ENOTFOUND; }
int books_chapter_text(struct store *db, int64_t chapter, char **text, size_t *len) { (void)db; (void)chapter; (void)text; (void)len; return SCH_ENOTFOUND; }
int books_book_exists(struct store *db, int64_t book) { (void)db; (void)book; return SCH_ENOTFOUND; }
enum books_anchor_error books_anchor_create(struct store *db, int64_t annotation, int64_t chapter, json_t *target, size_t max_exact_cp, json_t **normalized, char *field, size_t fieldlen)
{ (void)db; (void)annotation; (void)chapter; (void)target; (void)max_exact_cp; (void)normalized; (void)field; (void)fieldlen; return BOOKS_ANCHOR_NOT_FOUND; }
int books_anchor_get(struct store *db, int64_t annotation, json_t **target, const char **state) { (void)db; (void)annotation; *target = json_null(); *state = "exact"; return 0; }
int books_anchor_copy(struct store *db, int64_t from, int64_t to) { (void)db; (void)from; (void)to; return 0; }
json_t *books_anchor_review(struct store *db, int64_t annotation) { (void)db; (void)annotation; return NULL; }
int books_anchor_resolve(struct store *db, int64_t annotation, bool accept) { (void)db; (void)annotation; (void)accept; return SCH_ENOTFOUND; }
void books_match_quote(const char *new_text, size_t new_len, const char *exact, const char *prefix, const char *suffix, int64_t old_start, struct books_match *out)
{ (void)new_text; (void)new_len; (void)exact; (void)prefix; (void)suffix; (void)old_start; out->state = "orphaned"; out->start = out->end = 0; out->score = 0; }
