/*
 * search.h - FTS5 search over visible annotations/replies and book text.
 * Owns the FTS tables (migrations/0008_search.sql).
 */
#ifndef SCH_SEARCH_H
#define SCH_SEARCH_H

#include <stdint.h>

struct rpc_ctx;
struct store;

/* Registers the method "search". */
void search_init(void);
/* Keeps the index in step with posts (threads calls these). */
int search_index_post(struct store *db, int kind, int64_t id, int64_t circle,
		      const char *body);
int search_unindex_post(struct store *db, int kind, int64_t id);

#endif
