/*
 * search.h - FTS5 search over visible annotations/replies and book text.
 * Owns the FTS tables (migrations/0008_search.sql).
 *
 * The index holds every post body, whoever may see it; the `search` method
 * asks vis_check() about each hit with the caller's viewer, so private posts
 * reach their author alone and hidden bodies never reach a snippet of someone
 * who may only see the placeholder. Book text is indexed per book edition on
 * the first search of a circle reading it.
 */
#ifndef SCH_SEARCH_H
#define SCH_SEARCH_H

#include <jansson.h>
#include <stdint.h>

struct rpc_ctx;
struct store;

/* Kinds of post, as threads_target.kind. */
#define SEARCH_KIND_ANNOTATION 0
#define SEARCH_KIND_REPLY 1

/* Results per page of `search` (`next` is the cursor of the following). */
#define SEARCH_PAGE_SIZE 20
/* Longest query accepted, in code points. */
#define SEARCH_MAX_QUERY_CP 500
/* Terms of a query beyond this many are ignored. */
#define SEARCH_MAX_TERMS 32

/* The search module's settings (main.c fills them from the flags). */
struct search_config {
	int per_minute; /* searches a minute per member (30); 0: no limit */
};
extern struct search_config search_config;

/* Registers the method "search". */
void search_init(void);
/*
 * Keeps the index in step with posts (threads calls these on create, update
 * and delete). kind is SEARCH_KIND_*; body is the Markdown source (NULL
 * unindexes). Indexing an already indexed post replaces its body. Return 0
 * or a negative SCH_E* code.
 */
int search_index_post(struct store *db, int kind, int64_t id, int64_t circle,
		      const char *body);
int search_unindex_post(struct store *db, int kind, int64_t id);

/*
 * Turns a user's query into a safe FTS5 MATCH expression: every
 * whitespace-separated term becomes a quoted string (quotes doubled, control
 * characters dropped), so no input can be an FTS5 syntax error; a term ending
 * in '*' becomes a prefix query; terms are ANDed; a term without a letter
 * or digit (punctuation alone) is dropped. Returns 0 and sets *out (caller
 * frees), or SCH_EINVAL when q holds no term.
 */
int search_fts_query(const char *q, char **out);

/*
 * Splits an FTS5 snippet made with the markers "\x01" / "\x02" into plain
 * text and the code point ranges the markers enclosed. Returns a new object
 * {snippet: TEXT, highlights: [[start, end], ...]} (caller owns it).
 */
json_t *search_snippet_json(const char *marked);

#endif
