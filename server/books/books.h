/*
 * books.h - books, editions, chapters, blocks, importers, anchors.
 * Owns the tables books, editions, parts, chapters, blocks and anchors
 * (migrations/0003_books.sql). An annotation's passage (its W3C target and
 * how it sits on the current edition) lives here, in anchors, so that a
 * re-import can re-anchor without reaching into another module's tables.
 */
#ifndef SCH_BOOKS_H
#define SCH_BOOKS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct store;

/* Registers book.list, book.toc, chapter.get. */
void books_init(void);

/* scholia import PATH [--book SLUG] [--dry-run]: prints the report to out. */
int books_cli_import(struct store *db, const char *path, const char *slug,
		     bool dry_run, FILE *out, char *err, size_t errlen);
/* --title / --author of scholia import: the title and author the next
 * books_cli_import gives the book instead of what its source says (NULL or
 * "": keep the source's). Copied; each call replaces the last. */
void books_cli_import_meta(const char *title, const char *author);
/* Imports every book folder under content_dir that is not in the database
 * yet (serve's first start). */
int books_ensure_content(struct store *db, const char *content_dir);

/*
 * What book.toc answers, for any caller: {book, parts: [{title, chapters:
 * [{id, number, title, words}]}]} of the book's current edition, in *out
 * (new reference). 0, SCH_ENOTFOUND or another negative SCH_E* code.
 */
int books_toc(struct store *db, int64_t book, json_t **out);
/*
 * What chapter.get answers: the rendered chapter {id, book, title, html,
 * text, blocks, edition}, or NULL when there is none. A new reference to
 * an object shared with the chapter cache: callers must not modify it.
 */
json_t *books_chapter_json(struct store *db, int64_t chapter);

/* Facts about a chapter other modules need (current edition). */
struct books_chapter_info {
	int64_t id;	 /* chapter id */
	int64_t book;	 /* book id */
	int64_t edition; /* current edition id of the book */
	int order;	 /* 1-based reading position in the book */
};
/* 0, or SCH_ENOTFOUND. */
int books_chapter_info(struct store *db, int64_t chapter,
		       struct books_chapter_info *out);
/* The chapter's plain text (SPEC: blocks in reading order, blank line
 * between); caller frees *text. 0 or SCH_ENOTFOUND. */
int books_chapter_text(struct store *db, int64_t chapter, char **text,
		       size_t *len);
/* 0 if the book exists, else SCH_ENOTFOUND. */
int books_book_exists(struct store *db, int64_t book);

/* Why books_anchor_create refused a target. */
enum books_anchor_error {
	BOOKS_ANCHOR_OK = 0,
	BOOKS_ANCHOR_BAD_SHAPE, /* not the SPEC's two selectors: -32602 */
	BOOKS_ANCHOR_TOO_LARGE, /* exact over the limit: -32013 */
	BOOKS_ANCHOR_NOT_FOUND	/* the quote is not in the chapter: -32602 */
};
/*
 * Checks target (SPEC §3 shape) against the chapter's current text: exact at
 * the given offsets, or re-located from the quote (prefix/suffix decide
 * between repeats). On success stores the anchor for the annotation and sets
 * *normalized to the target as it now stands (new reference). max_exact_cp
 * is the SPEC §5 limit. On failure returns the reason and, for BAD_SHAPE,
 * the offending field name in field ("target.selector" ...).
 */
enum books_anchor_error books_anchor_create(struct store *db,
					    int64_t annotation, int64_t chapter,
					    json_t *target, size_t max_exact_cp,
					    json_t **normalized, char *field,
					    size_t fieldlen);
/* The stored target (new reference) and anchor state ("exact", "moved",
 * "fuzzy", "needs_review", "orphaned"; static string). For an annotation
 * without an anchor (chapter-level) *target is json_null() and the state
 * "exact". */
int books_anchor_get(struct store *db, int64_t annotation, json_t **target,
		     const char **state);
/* Copies an anchor to another annotation (circle.clone). */
int books_anchor_copy(struct store *db, int64_t from, int64_t to);
/* For anchor.review: {old:{exact,prefix,suffix,start,end}, proposed:{...},
 * score} of an annotation in needs_review; NULL if it is not. */
json_t *books_anchor_review(struct store *db, int64_t annotation);
/* anchor.resolve: accept moves it to the proposed passage (state fuzzy);
 * reject makes it orphaned. 0, SCH_ENOTFOUND, or SCH_ECONFLICT when not in
 * review. */
int books_anchor_resolve(struct store *db, int64_t annotation, bool accept);

/*
 * Re-anchoring scores (docs/books.md). A candidate passage scores
 *	q * (0.5 + 0.5 * c) * (0.9 + 0.1 * p)
 * where q is the quote's similarity (1 - edits / length), c the context's
 * (the worse of prefix and suffix similarity) and p the nearness to the old
 * position. At or above the floor a passage is taken (exact, moved or
 * fuzzy); between the minimum and the floor it is only proposed
 * (needs_review); below the minimum the annotation is orphaned. Approximate
 * matches allow at most BOOKS_ANCHOR_MAX_ERRORS edits per code point.
 */
#define BOOKS_ANCHOR_SCORE_FLOOR 0.85
#define BOOKS_ANCHOR_SCORE_MIN 0.50
#define BOOKS_ANCHOR_MAX_ERRORS 0.25

/*
 * Re-anchoring is told to the module that owns annotations (threads/)
 * through the domain event EVENTS_ANCHOR_MOVED (events/events.h): an import
 * publishes it, inside the import's transaction, once for every annotation
 * whose anchor changed (state or offsets), with a local call context
 * (rpc_ctx_new_local: events are stored with their seq for replay). A
 * negative return of a subscriber aborts the import.
 */

/* Drops every cached rendered chapter (tests that reopen databases). */
void books_cache_clear(void);

/* The re-anchoring matcher, exposed for tests and fuzzing.
 * Finds where a quote now sits in new_text (all offsets in code points). */
struct books_match {
	const char
		*state; /* "exact","moved","fuzzy","needs_review","orphaned" */
	int64_t start, end;
	double score; /* 0..1 */
};
void books_match_quote(const char *new_text, size_t new_len, const char *exact,
		       const char *prefix, const char *suffix,
		       int64_t old_start, struct books_match *out);

/*
 * Finding a quote that comes without a position (highlights imported from
 * e-readers, a W3C target with a TextQuoteSelector alone) in a book's
 * current chapters. Both sides are normalised first (white space runs,
 * ligatures such as U+FB01, curly quotes, dashes, soft hyphens and words
 * hyphenated across a line break), offsets are mapped back to the real
 * text; a quote found once is placed, one found more than once is
 * ambiguous unless its prefix/suffix single out one occurrence; a quote not
 * found verbatim goes through the re-anchoring matcher (same score floor)
 * and is placed only at or above BOOKS_ANCHOR_SCORE_FLOOR.
 */
enum books_find_status {
	BOOKS_FIND_PLACED = 0,
	BOOKS_FIND_AMBIGUOUS,
	BOOKS_FIND_NOT_FOUND
};
struct books_found {
	enum books_find_status status;
	int64_t chapter;    /* when placed */
	int64_t start, end; /* code points of the chapter's text */
};
struct books_finder;
/* Prepares the current chapters of book (chapter 0) or one chapter. NULL
 * when there is no such book or chapter. Free with books_finder_free. */
struct books_finder *books_finder_new(struct store *db, int64_t book,
				      int64_t chapter);
void books_finder_free(struct books_finder *f);
/* Finds exact (prefix/suffix may be NULL) and fills *out. */
void books_finder_find(struct books_finder *f, const char *exact,
		       const char *prefix, const char *suffix,
		       struct books_found *out);

#endif
