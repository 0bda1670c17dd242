/*
 * search.c - the `search` method: full-text search (SQLite FTS5, or
 * PostgreSQL's tsvector; store.h) over the annotations and replies of one
 * circle and over the text of the circle's book.
 *
 * Two indexes (migrations/0008_search.sql). search_posts is kept in step by
 * the threads module through search_index_post / search_unindex_post; it
 * knows nothing of visibility, so every post hit is re-checked here with
 * vis_check() and the caller's viewer: hits the caller may not see are
 * skipped, and so are hits the caller would only see redacted (hidden by a
 * moderator) - a snippet, or even the fact that a hidden body matched,
 * would reveal what the moderator hid. search_text is filled from the
 * books module the first time a circle on that book searches, one row per
 * block with the block's start offset, and re-filled when the book's
 * current edition changes.
 *
 * A user's query never reaches the engine as syntax: search_fts_query()
 * quotes every term into store.h's match expression, so hostile input can
 * at worst match nothing.
 *
 * Results are posts first (best rank first), then passages of the book; the
 * cursor is the number of results already returned.
 */
#include "search/search.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "books/books.h"
#include "circles/circles.h"
#include "events/events.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "threads/threads.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/utf8.h"

struct search_config search_config = {.per_minute = 30};

/* Snippet markers; stripped from indexed text so they are unambiguous. */
#define MARK_OPEN '\x01'
#define MARK_CLOSE '\x02'

/* ---- the query sanitiser ---- */

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

int search_fts_query(const char *q, char **out)
{
	struct buf b = BUF_INIT;
	struct buf term = BUF_INIT;
	const unsigned char *p = (const unsigned char *)q;
	int nterms = 0;

	*out = NULL;
	while (*p && nterms < SEARCH_MAX_TERMS) {
		bool prefix = false, word = false;

		while (*p && is_space(*p))
			p++;
		if (!*p)
			break;
		buf_reset(&term);
		for (; *p && !is_space(*p); p++) {
			if (*p < 0x20 || *p == 0x7f)
				continue; /* control characters */
			if (*p == '"')
				buf_addch(&term,
					  '"'); /* doubled inside quotes */
			buf_addch(&term, (char)*p);
			if (*p >= 0x80 || (*p >= '0' && *p <= '9') ||
			    ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z'))
				word = true;
		}
		while (term.len && term.data[term.len - 1] == '*') {
			term.data[--term.len] = '\0';
			prefix = true;
		}
		if (!word)
			continue; /* punctuation alone matches nothing */
		if (b.len)
			buf_addch(&b, ' ');
		buf_addch(&b, '"');
		buf_add(&b, term.data, term.len);
		buf_addch(&b, '"');
		if (prefix)
			buf_addch(&b, '*');
		nterms++;
	}
	buf_free(&term);
	if (!nterms) {
		buf_free(&b);
		return SCH_EINVAL;
	}
	*out = buf_detach(&b, NULL);
	return 0;
}

/* ---- snippets ---- */

json_t *search_snippet_json(const char *marked)
{
	struct buf text = BUF_INIT;
	json_t *hl = json_array();
	size_t cp = 0, open_at = 0;
	bool open = false;
	const unsigned char *p = (const unsigned char *)marked;
	char *s;
	json_t *out;

	for (; p && *p; p++) {
		if (*p == MARK_OPEN) {
			open = true;
			open_at = cp;
			continue;
		}
		if (*p == MARK_CLOSE) {
			if (open && cp > open_at)
				json_array_append_new(
					hl,
					json_pack("[I,I]", (json_int_t)open_at,
						  (json_int_t)cp));
			open = false;
			continue;
		}
		if ((*p & 0xc0) != 0x80)
			cp++; /* a lead byte starts a code point */
		buf_addch(&text, (char)((*p < 0x20 && *p != '\n') ? ' ' : *p));
	}
	s = buf_detach(&text, NULL);
	out = json_pack("{s:s,s:o}", "snippet", s, "highlights", hl);
	free(s);
	return out;
}

/* A copy of text with the snippet markers replaced by spaces; caller frees. */
static char *index_copy(const char *text, size_t len)
{
	char *c = xstrndup(text, len);

	for (char *p = c; *p; p++)
		if (*p == MARK_OPEN || *p == MARK_CLOSE)
			*p = ' ';
	return c;
}

/* ---- the posts index ---- */

static const char SQL_POST_DELETE[] =
	"DELETE FROM search_posts WHERE rowid = ?";
static const char SQL_POST_INSERT[] =
	"INSERT INTO search_posts(rowid, kind, id, circle, body)"
	" VALUES (?, ?, ?, ?, ?)";

static int64_t post_rowid(int kind, int64_t id)
{
	return id * 2 + (kind == SEARCH_KIND_REPLY ? 1 : 0);
}

int search_unindex_post(struct store *db, int kind, int64_t id)
{
	if (kind != SEARCH_KIND_ANNOTATION && kind != SEARCH_KIND_REPLY)
		return SCH_EINVAL;
	return store_run(db, SQL_POST_DELETE, "i", post_rowid(kind, id));
}

/* The passage an annotation quotes (its TextQuoteSelector's exact), or
 * NULL; malloc'd. Indexed with the body so that a search for the words of
 * a passage finds the threads on it. */
static char *post_quote(struct store *db, int64_t annotation)
{
	json_t *target = NULL, *sel;
	const char *state = NULL;
	char *out = NULL;
	size_t i;

	if (books_anchor_get(db, annotation, &target, &state))
		return NULL;
	json_array_foreach(json_object_get(target, "selector"), i, sel)
	{
		const char *type =
			json_string_value(json_object_get(sel, "type"));
		const char *exact =
			json_string_value(json_object_get(sel, "exact"));

		if (type && exact && !strcmp(type, "TextQuoteSelector"))
			out = xstrndup(exact, strlen(exact));
	}
	json_decref(target);
	return out;
}

int search_index_post(struct store *db, int kind, int64_t id, int64_t circle,
		      const char *body)
{
	char *clean, *quote = NULL;
	struct buf b = BUF_INIT;
	int rc;

	rc = search_unindex_post(db, kind, id);
	if (rc || !body)
		return rc;
	if (kind == SEARCH_KIND_ANNOTATION)
		quote = post_quote(db, id);
	buf_adds(&b, body);
	if (quote) {
		buf_adds(&b, "\n\n> ");
		buf_adds(&b, quote);
		free(quote);
	}
	clean = index_copy(buf_str(&b), b.len);
	buf_free(&b);
	rc = store_run(db, SQL_POST_INSERT, "iiiit", post_rowid(kind, id),
		       (int64_t)kind, id, circle, clean);
	free(clean);
	return rc;
}

/* ---- the book text index ---- */

static const char SQL_TEXT_BOOK[] =
	"SELECT edition, probe_chapter FROM search_text_books WHERE book = ?";
static const char SQL_TEXT_CLEAR[] = "DELETE FROM search_text WHERE book = ?";
static const char SQL_TEXT_INSERT[] =
	"INSERT INTO search_text(book, chapter, block, start, text)"
	" VALUES (?, ?, ?, ?, ?)";
static const char SQL_BLOCKS_CLEAR[] =
	"DELETE FROM search_blocks WHERE book = ?";
static const char SQL_BLOCK_INSERT[] =
	"INSERT INTO search_blocks(book, chapter, start, block)"
	" VALUES (?, ?, ?, ?) ON CONFLICT(chapter, start) DO UPDATE SET"
	" book = excluded.book, block = excluded.block";
static const char SQL_BLOCK_AT[] =
	"SELECT block FROM search_blocks WHERE chapter = ? AND start <= ?"
	" ORDER BY start DESC LIMIT 1";
static const char SQL_TEXT_BOOK_SET[] =
	"INSERT INTO search_text_books(book, edition, probe_chapter,"
	" indexed_at) VALUES (?, ?, ?, ?) ON CONFLICT(book) DO UPDATE SET"
	" edition = excluded.edition, probe_chapter = excluded.probe_chapter,"
	" indexed_at = excluded.indexed_at";

/* Inserts one block's row (text[from, to) bytes, starting at code point
 * start). Blocks of only white space are skipped. */
static int text_row(struct store *db, int64_t book, int64_t chapter,
		    json_t *block, int64_t start, const char *text, size_t from,
		    size_t to)
{
	char *clean, *blk;
	size_t i;
	int rc;

	for (i = from; i < to && is_space((unsigned char)text[i]); i++)
		;
	if (i == to)
		return 0;
	clean = index_copy(text + from, to - from);
	blk = json_dumps(block, JSON_ENCODE_ANY | JSON_COMPACT);
	rc = store_run(db, SQL_TEXT_INSERT, "iitit", book, chapter, blk, start,
		       clean);
	if (!rc)
		rc = store_run(db, SQL_BLOCK_INSERT, "iiit", book, chapter,
			       start, blk);
	free(blk);
	free(clean);
	return rc;
}

/* Rows from the chapter's block list [{id, start, end}] (code points). */
static int text_rows_from_blocks(struct store *db, int64_t book,
				 int64_t chapter, const char *text, size_t len,
				 json_t *blocks)
{
	size_t i;
	json_t *b;
	size_t ncp = utf8_count(text, len);

	json_array_foreach(blocks, i, b)
	{
		json_t *id = json_object_get(b, "id");
		json_int_t s = json_integer_value(json_object_get(b, "start"));
		json_int_t e = json_integer_value(json_object_get(b, "end"));
		int rc;

		if (!id || s < 0 || e <= s || (size_t)e > ncp)
			continue;
		rc = text_row(db, book, chapter, id, s, text,
			      utf8_offset(text, len, (size_t)s),
			      utf8_offset(text, len, (size_t)e));
		if (rc)
			return rc;
	}
	return 0;
}

/* Rows split at blank lines (no block list): block is the 0-based index. */
static int text_rows_from_blank_lines(struct store *db, int64_t book,
				      int64_t chapter, const char *text,
				      size_t len)
{
	size_t from = 0, cp = 0, from_cp = 0;
	int64_t n = 0;

	for (size_t i = 0; i <= len; i++) {
		bool end = i == len || (text[i] == '\n' && i + 1 < len &&
					text[i + 1] == '\n');

		if (end) {
			json_t *blk = json_integer(n);
			int rc = 0;

			if (i > from)
				rc = text_row(db, book, chapter, blk, from_cp,
					      text, from, i);
			json_decref(blk);
			if (rc)
				return rc;
			n++;
			if (i == len)
				break;
			/* skip the blank line(s) */
			while (i < len && text[i] == '\n') {
				i++;
				cp++;
			}
			from = i;
			from_cp = cp;
		}
		if (i < len && ((unsigned char)text[i] & 0xc0) != 0x80)
			cp++;
	}
	return 0;
}

/* Indexes one chapter's text. */
static int text_index_chapter(struct rpc_ctx *ctx, int64_t book,
			      int64_t chapter)
{
	struct store *db = rpc_store(ctx);
	json_t *ch = NULL, *blocks;
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = books_chapter_text(db, chapter, &text, &len);
	if (rc)
		goto out;
	ch = books_chapter_json(db, chapter);
	blocks = json_object_get(ch, "blocks");
	if (json_is_array(blocks) && json_array_size(blocks))
		rc = text_rows_from_blocks(db, book, chapter, text, len,
					   blocks);
	else
		rc = text_rows_from_blank_lines(db, book, chapter, text, len);
out:
	json_decref(ch);
	free(text);
	return rc;
}

/* Every chapter id of the book's table of contents into *ids (caller frees,
 * *n entries). */
static int toc_chapters(struct rpc_ctx *ctx, int64_t book, int64_t **ids,
			size_t *n)
{
	json_t *toc = NULL, *parts, *part, *chs, *c;
	size_t i, j;
	int rc;

	*ids = NULL;
	*n = 0;
	rc = books_toc(rpc_store(ctx), book, &toc);
	if (rc)
		return rc;
	parts = json_object_get(toc, "parts");
	json_array_foreach(parts, i, part)
	{
		chs = json_object_get(part, "chapters");
		json_array_foreach(chs, j, c)
		{
			json_int_t id =
				json_integer_value(json_object_get(c, "id"));

			if (id <= 0)
				continue;
			*ids = xrealloc(*ids, (*n + 1) * sizeof(**ids));
			(*ids)[(*n)++] = id;
		}
	}
	json_decref(toc);
	return 0;
}

/*
 * Makes search_text hold the current edition of the book. Cheap when it
 * does already: one row and one books_chapter_info.
 */
static int text_ensure(struct rpc_ctx *ctx, int64_t book)
{
	struct store *db = rpc_store(ctx);
	struct store_stmt *st;
	struct books_chapter_info ci;
	int64_t edition = -1, probe = 0, *ids = NULL;
	size_t n = 0;
	int rc;

	st = store_query(db, SQL_TEXT_BOOK, "i", book);
	if (!st)
		return SCH_EDB;
	rc = store_row(st);
	if (rc > 0) {
		edition = store_int(st, 0);
		probe = store_int(st, 1);
	}
	store_done(st);
	if (rc < 0)
		return rc;
	if (rc > 0 && books_chapter_info(db, probe, &ci) == 0 &&
	    ci.book == book && ci.edition == edition)
		return 0;

	rc = toc_chapters(ctx, book, &ids, &n);
	if (rc)
		goto out;
	rc = store_run(db, SQL_TEXT_CLEAR, "i", book);
	if (!rc)
		rc = store_run(db, SQL_BLOCKS_CLEAR, "i", book);
	for (size_t i = 0; !rc && i < n; i++)
		rc = text_index_chapter(ctx, book, ids[i]);
	if (rc)
		goto out;
	if (n && books_chapter_info(db, ids[0], &ci) == 0) {
		rc = store_run(db, SQL_TEXT_BOOK_SET, "iiii", book, ci.edition,
			       ids[0], rpc_now(ctx));
		log_info("search",
			 "indexed the text of book %lld (edition "
			 "%lld, %zu chapters)",
			 (long long)book, (long long)ci.edition, n);
	}
out:
	free(ids);
	return rc;
}

/* ---- the method ---- */

/* At most 2,000 hits of each kind are examined (best first): that bounds
 * the work of one call, and nobody pages past 100 pages of results. */
static const struct store_dialect SQL_SEARCH_POSTS = {
	"SELECT kind, id, snippet(search_posts, 3, char(1), char(2), '…', 16)"
	" FROM search_posts WHERE search_posts MATCH ? AND circle = ?"
	" ORDER BY rank LIMIT 2000",
	"SELECT kind, id, ts_headline('scholia', body, q, 'StartSel=' ||"
	" chr(1) || ', StopSel=' || chr(2) || ', MaxWords=16, MinWords=6,"
	" ShortWord=0, MaxFragments=1, FragmentDelimiter=…')"
	" FROM search_posts, scholia_match(?) AS q"
	" WHERE tsv @@ q AND circle = ?"
	" ORDER BY ts_rank(tsv, q) DESC, rowid LIMIT 2000"};
static const struct store_dialect SQL_SEARCH_TEXT = {
	"SELECT chapter, block, start,"
	" snippet(search_text, 4, char(1), char(2), '…', 16)"
	" FROM search_text WHERE search_text MATCH ? AND book = ?"
	" ORDER BY rank LIMIT 2000",
	"SELECT chapter, block, start, ts_headline('scholia', text, q,"
	" 'StartSel=' || chr(1) || ', StopSel=' || chr(2) || ', MaxWords=16,"
	" MinWords=6, ShortWord=0, MaxFragments=1, FragmentDelimiter=…')"
	" FROM search_text, scholia_match(?) AS q"
	" WHERE tsv @@ q AND book = ?"
	" ORDER BY ts_rank(tsv, q) DESC, chapter, start LIMIT 2000"};

/* A page being filled: results before skip are counted, not kept. */
struct page {
	int64_t skip;  /* results the cursor has passed */
	int64_t seen;  /* results met so far */
	json_t *items; /* this page's items */
	bool more;     /* a result exists past this page */
};

/* Counts a result; true when it belongs on this page. */
static bool page_take(struct page *pg)
{
	int64_t at = pg->seen++;

	if (at < pg->skip)
		return false;
	if ((int64_t)json_array_size(pg->items) >= SEARCH_PAGE_SIZE) {
		pg->more = true;
		return false;
	}
	return true;
}

/* The start offset of a thread's passage (-1 for a chapter-level thread or
 * an unknown anchor), so a post hit can jump to it too. */
static int64_t thread_start(struct store *db, int64_t annotation)
{
	json_t *target = NULL, *sel, *s;
	const char *state;
	int64_t start = -1;
	size_t i;

	if (books_anchor_get(db, annotation, &target, &state))
		return -1;
	sel = json_object_get(target, "selector");
	json_array_foreach(sel, i, s)
	{
		const char *t = json_string_value(json_object_get(s, "type"));

		if (t && !strcmp(t, "TextPositionSelector") &&
		    json_is_integer(json_object_get(s, "start")))
			start = json_integer_value(json_object_get(s, "start"));
	}
	json_decref(target);
	return start;
}

/* The block (new reference) of chapter holding code point start, from the
 * text index; NULL when unknown. */
static json_t *block_at(struct store *db, int64_t chapter, int64_t start)
{
	struct store_stmt *st =
		store_query(db, SQL_BLOCK_AT, "ii", chapter, start);
	json_t *blk = NULL;

	if (st && store_row(st) > 0 && store_text(st, 0))
		blk = json_loads(store_text(st, 0), JSON_DECODE_ANY, NULL);
	store_done(st);
	return blk;
}

/* One post hit row, copied out before other statements run. */
struct post_hit {
	int kind;
	int64_t id;
	char *snippet;
};

static int search_posts(struct rpc_ctx *ctx, const char *match, int64_t circle,
			const struct vis_viewer *v, struct page *pg)
{
	struct store *db = rpc_store(ctx);
	struct store_stmt *st;
	struct post_hit *hits = NULL;
	size_t n = 0;
	int rc;

	/* copy the hits first: threads_target_get runs its own queries */
	st = store_query(db, store_dialect(db, &SQL_SEARCH_POSTS), "ti", match,
			 circle);
	if (!st)
		return SCH_EDB;
	while ((rc = store_row(st)) > 0) {
		hits = xrealloc(hits, (n + 1) * sizeof(*hits));
		hits[n].kind = (int)store_int(st, 0);
		hits[n].id = store_int(st, 1);
		hits[n].snippet = store_text_dup(st, 2);
		n++;
	}
	store_done(st);
	for (size_t i = 0; rc == 0 && i < n && !pg->more; i++) {
		struct threads_target t;
		struct vis_item item;
		int64_t start;
		json_t *o;

		if (threads_target_get(db, hits[i].kind, hits[i].id, &t))
			continue;
		if (t.circle != circle || t.deleted)
			continue;
		threads_target_vis(db, &t, &item);
		if (vis_check(v, &item) != VIS_FULL)
			continue; /* unseen, or hidden from this viewer */
		if (!page_take(pg))
			continue;
		o = search_snippet_json(hits[i].snippet ? hits[i].snippet : "");
		json_object_set_new(o, "kind",
				    json_string(t.kind == SEARCH_KIND_REPLY
							? "reply"
							: "annotation"));
		json_object_set_new(o, "id", json_integer(t.id));
		json_object_set_new(
			o, "annotation",
			json_integer(t.annotation ? t.annotation : t.id));
		json_object_set_new(o, "chapter", json_integer(t.chapter));
		/* (extension) the caller's own private note, marked as such */
		json_object_set_new(o, "private", json_boolean(t.private_));
		start = thread_start(db, t.annotation ? t.annotation : t.id);
		if (start >= 0) {
			json_t *blk = block_at(db, t.chapter, start);

			if (blk)
				json_object_set_new(o, "block", blk);
			json_object_set_new(o, "start", json_integer(start));
		}
		json_array_append_new(pg->items, o);
	}
	for (size_t i = 0; i < n; i++)
		free(hits[i].snippet);
	free(hits);
	return rc < 0 ? rc : 0;
}

static int search_text(struct rpc_ctx *ctx, const char *match, int64_t book,
		       struct page *pg)
{
	struct store_stmt *st;
	int rc;

	st = store_query(rpc_store(ctx),
			 store_dialect(rpc_store(ctx), &SQL_SEARCH_TEXT), "ti",
			 match, book);
	if (!st)
		return SCH_EDB;
	while ((rc = store_row(st)) > 0) {
		json_t *o, *blk;
		const char *bt;

		if (!page_take(pg)) {
			if (pg->more)
				break;
			continue;
		}
		bt = store_text(st, 1);
		blk = bt ? json_loads(bt, JSON_DECODE_ANY, NULL) : NULL;
		o = search_snippet_json(store_text(st, 3));
		json_object_set_new(o, "kind", json_string("text"));
		json_object_set_new(o, "chapter",
				    json_integer(store_int(st, 0)));
		json_object_set_new(o, "block", blk ? blk : json_null());
		json_object_set_new(o, "start", json_integer(store_int(st, 2)));
		json_array_append_new(pg->items, o);
	}
	store_done(st);
	return rc < 0 ? rc : 0;
}

/* ---- the per-member rate limit (SPEC §5: 30 a minute; issue 14 R2-F3) ----
 * A fixed one-minute window per account: on a shared database a row of
 * search_rate (below), else in a small open-addressed table,
 * touched by the store thread only (handlers run one at a time). A full
 * table forgets the windows that have ended; if every slot is live the
 * account shares the slot it hashes to, which can only make the limit
 * stricter for it. */
#define RATE_SLOTS 4096
#define RATE_WINDOW_MS 60000

struct rate_slot {
	int64_t account;
	int64_t window_start; /* ms */
	int count;
};
static struct rate_slot rate[RATE_SLOTS];

/* 0 when account may search now (and counts it), else the wait in ms. */
static int64_t rate_take(int64_t account, int64_t now_ms)
{
	size_t h = (size_t)((uint64_t)account * 0x9E3779B97F4A7C15ull >> 52) %
		   RATE_SLOTS;
	struct rate_slot *s = NULL;
	int limit = search_config.per_minute;

	if (limit <= 0)
		return 0;
	for (size_t i = 0; i < 16 && !s; i++) {
		struct rate_slot *c = &rate[(h + i) % RATE_SLOTS];

		if (c->account == account)
			s = c;
		else if (!c->account ||
			 now_ms - c->window_start >= RATE_WINDOW_MS)
			s = c, s->account = 0;
	}
	if (!s)
		s = &rate[h];
	if (s->account != account ||
	    now_ms - s->window_start >= RATE_WINDOW_MS) {
		s->account = account;
		s->window_start = now_ms;
		s->count = 0;
	}
	if (s->count >= limit)
		return s->window_start + RATE_WINDOW_MS - now_ms;
	s->count++;
	return 0;
}

static int64_t clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 1;
}

/* With several nodes on one database (store_shared(): docs/scaling.md) the
 * window is a row of search_rate, so that a member's searches on every
 * node count against one limit. The row is counted in the call's
 * savepoint: a refused search rolls its count back, as the table in
 * memory does not count it. Wall-clock times: the nodes' clocks must
 * agree. */
static const char SQL_RATE_TAKE[] =
	"INSERT INTO search_rate(account, window_start, count)"
	" VALUES (?1, ?2, 1) ON CONFLICT (account) DO UPDATE SET"
	" window_start = CASE WHEN ?2 - search_rate.window_start >= ?3"
	" THEN ?2 ELSE search_rate.window_start END,"
	" count = CASE WHEN ?2 - search_rate.window_start >= ?3"
	" THEN 1 ELSE search_rate.count + 1 END"
	" RETURNING window_start, count";

/* 0 when account may search now (counted), the wait in ms, or SCH_E*. */
static int64_t rate_take_shared(struct store *db, int64_t account)
{
	struct timespec ts;
	struct store_stmt *st;
	int64_t now, start, count, wait;
	int rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	st = store_query(db, SQL_RATE_TAKE, "iii", account, now,
			 (int64_t)RATE_WINDOW_MS);
	rc = store_row(st);
	if (rc <= 0) {
		store_done(st);
		return rc < 0 ? rc : SCH_EDB;
	}
	start = store_int(st, 0);
	count = store_int(st, 1);
	store_done(st);
	if (count <= search_config.per_minute)
		return 0;
	wait = start + RATE_WINDOW_MS - now;
	return wait > 0 ? wait : 1; /* another node's clock is ahead */
}

static int m_search(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"circle", "q", "cursor", NULL};
	struct store *db = rpc_store(ctx);
	struct vis_viewer v;
	struct page pg = {0, 0, NULL, false};
	int64_t circle, book, cursor = 0;
	const char *q;
	char *match = NULL;
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_id(ctx, params, "circle", true, &circle) ||
	    rpc_param_str(ctx, params, "q", true, 1, SEARCH_MAX_QUERY_CP, &q) ||
	    rpc_param_cursor(ctx, params, &cursor))
		return RPC_ERR;
	if (circles_gate_rpc(ctx, circle, &v))
		return RPC_ERR;
	if (search_fts_query(q, &match))
		return rpc_fail_field(ctx, "q", "the query holds no word");
	{
		int64_t wait =
			search_config.per_minute <= 0 ? 0
			: store_shared(db)
				? rate_take_shared(db, rpc_account(ctx))
				: rate_take(rpc_account(ctx), clock_ms());

		if (wait < 0) {
			free(match);
			return rpc_fail_store(ctx, (int)wait);
		}
		if (wait > 0) {
			free(match);
			return rpc_fail_retry(ctx, RPC_E_RATE_LIMITED,
					      "too many searches: try again "
					      "later",
					      wait);
		}
	}
	rc = circles_book(db, circle, &book);
	if (rc)
		goto fail;
	/* the book's text: a failure to index it must not hide the posts */
	if (text_ensure(ctx, book))
		log_warn("search", "could not index the text of book %lld",
			 (long long)book);

	pg.skip = cursor;
	pg.items = json_array();
	rc = search_posts(ctx, match, circle, &v, &pg);
	if (!rc && !pg.more)
		rc = search_text(ctx, match, book, &pg);
	if (rc)
		goto fail;
	*result = json_pack(
		"{s:o,s:o}", "items", pg.items, "next",
		pg.more ? json_sprintf("%lld",
				       (long long)(pg.skip + SEARCH_PAGE_SIZE))
			: json_null());
	free(match);
	return 0;
fail:
	json_decref(pg.items);
	free(match);
	return rpc_fail_store(ctx, rc);
}

/* threads' posts (events.h): keep the index in step; a body replaces the
 * one indexed before. Private posts are indexed too: every hit is checked
 * with vis_check, which shows them to their author alone (issue 14). */
static int on_post(const struct events_event *ev, void *arg)
{
	const struct events_post *p = &ev->u.post;
	struct store *db = rpc_store(ev->ctx);

	(void)arg;
	if (ev->type == EVENTS_POST_DELETED)
		return search_unindex_post(db, p->kind, p->id);
	if (!p->body)
		return 0;
	/* search_index_post drops the old entry first */
	return search_index_post(db, p->kind, p->id, p->circle, p->body);
}

void search_init(void)
{
	static const struct rpc_method methods[] = {
		{"search", m_search, RPC_AUTH}, {NULL, NULL, 0}};

	rpc_register(methods);
	events_on(EVENTS_POST_CREATED, on_post, NULL);
	events_on(EVENTS_POST_EDITED, on_post, NULL);
	events_on(EVENTS_POST_DELETED, on_post, NULL);
}
