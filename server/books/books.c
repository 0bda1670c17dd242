/*
 * books.c - the books module's face: book.list, book.toc and chapter.get,
 * the `scholia import` command and its report, the first-start import of
 * content/, and the facts other modules ask about chapters.
 *
 * chapter.get answers from an in-memory cache of rendered chapters keyed by
 * chapter id and checked against (edition, stamp): one primary-key lookup
 * per call tells whether another process imported a new edition since, so
 * the server picks it up without a restart and a warm chapter costs a copy.
 * chapter.get runs on the read pool (several threads): the cache is behind
 * one mutex, held only to look at or fill a slot, never during SQL.
 */
#include <ctype.h>
#include <pthread.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "books/books.h"
#include "books/internal.h"
#include "events/events.h"
#include "http/http.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"

/* ---- the chapter cache ---- */

#define CACHE_SLOTS 256

struct cache_slot {
	int64_t chapter, edition, stamp;
	json_t *result; /* {id, book, title, html, text, blocks, edition} */
	struct refbuf *bytes; /* result serialised once, for replies */
};
static struct cache_slot cache[CACHE_SLOTS];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

void books_cache_clear(void)
{
	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		json_decref(cache[i].result);
		refbuf_unref(cache[i].bytes);
		memset(&cache[i], 0, sizeof(cache[i]));
	}
	pthread_mutex_unlock(&cache_lock);
}

static const char SQL_CH_STAMP[] =
	"SELECT c.edition, e.stamp FROM chapters c "
	"JOIN editions e ON e.id = c.edition WHERE c.id = ?";
static const char SQL_CH_FULL[] =
	"SELECT id, book, title, html, text, blocks, edition FROM chapters "
	"WHERE id = ?";

/* The rendered chapter or NULL when there is none. The object is shared
 * with the cache (a new reference to it): it is never modified after it is
 * built, and jansson's reference counts are atomic, so the reply can be
 * serialised and released anywhere; callers must not modify it. */
json_t *books_chapter_json(struct store *db, int64_t id)
{
	struct store_stmt *st = store_query(db, SQL_CH_STAMP, "i", id);
	int64_t edition = 0, stamp = 0;
	struct cache_slot *slot = &cache[(uint64_t)id % CACHE_SLOTS];
	json_t *r = NULL, *blocks;

	if (!st)
		return NULL;
	if (store_row(st) > 0) {
		edition = store_int(st, 0);
		stamp = store_int(st, 1);
	}
	store_done(st);
	if (!edition)
		return NULL;
	pthread_mutex_lock(&cache_lock);
	if (slot->result && slot->chapter == id && slot->edition == edition &&
	    slot->stamp == stamp) {
		r = json_incref(slot->result);
		pthread_mutex_unlock(&cache_lock);
		return r;
	}
	pthread_mutex_unlock(&cache_lock);
	st = store_query(db, SQL_CH_FULL, "i", id);
	if (st && store_row(st) > 0) {
		blocks = json_loads(store_text(st, 5), 0, NULL);
		r = json_pack("{s:I,s:I,s:s,s:s,s:s,s:o,s:I}", "id",
			      (json_int_t)store_int(st, 0), "book",
			      (json_int_t)store_int(st, 1), "title",
			      store_text(st, 2), "html", store_text(st, 3),
			      "text", store_text(st, 4), "blocks",
			      blocks ? blocks : json_array(), "edition",
			      (json_int_t)store_int(st, 6));
	}
	store_done(st);
	if (!r)
		return NULL;
	pthread_mutex_lock(&cache_lock);
	json_decref(slot->result);
	refbuf_unref(slot->bytes);
	slot->chapter = id;
	slot->edition = edition;
	slot->stamp = stamp;
	slot->result = r;
	slot->bytes = NULL;
	json_incref(r);
	pthread_mutex_unlock(&cache_lock);
	return r;
}

/* The serialised form of the cached chapter (made on first use; the cache
 * slot keeps it until the chapter or its edition changes). New reference,
 * or NULL if the chapter is not the one cached in its slot. */
static struct refbuf *chapter_bytes(int64_t id, const json_t *r)
{
	struct cache_slot *slot = &cache[(uint64_t)id % CACHE_SLOTS];
	struct refbuf *rb = NULL;
	char *s;

	pthread_mutex_lock(&cache_lock);
	if (slot->result == r && !slot->bytes) {
		s = json_dumps(r, JSON_COMPACT);
		if (s) {
			slot->bytes = refbuf_new(s, strlen(s));
			free(s);
		}
	}
	if (slot->result == r && slot->bytes)
		rb = refbuf_ref(slot->bytes);
	pthread_mutex_unlock(&cache_lock);
	return rb;
}

/* ---- methods ---- */

static const char SQL_BOOK_LIST[] =
	"SELECT id, slug, title, author, language, licence, current_edition "
	"FROM books WHERE id > ? AND current_edition IS NOT NULL "
	"ORDER BY id LIMIT 101";
static const char SQL_BOOK_GET[] =
	"SELECT id, slug, title, author, current_edition, language, licence "
	"FROM books WHERE id = ? AND current_edition IS NOT NULL";
static const char SQL_TOC[] =
	"SELECT p.id, p.title, c.id, c.number, c.title, c.words "
	"FROM parts p LEFT JOIN chapters c ON c.part = p.id AND c.edition = ? "
	"WHERE p.edition = ? ORDER BY p.position, c.position";

static int book_list(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"cursor", NULL};
	int64_t cursor = 0, last = 0;
	struct store_stmt *st;
	json_t *items = json_array();
	int n = 0, rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_cursor(ctx, params, &cursor)) {
		json_decref(items);
		return RPC_ERR;
	}
	st = store_query(rpc_store(ctx), SQL_BOOK_LIST, "i", cursor);
	if (!st) {
		json_decref(items);
		return rpc_fail_store(ctx, SCH_EDB);
	}
	while ((rc = store_row(st)) > 0) {
		if (n == 100) {
			store_done(st);
			break;
		}
		last = store_int(st, 0);
		json_array_append_new(items,
				      json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:I}",
						"id", (json_int_t)last, "slug",
						store_text(st, 1), "title",
						store_text(st, 2), "author",
						store_text(st, 3), "language",
						store_text(st, 4), "licence",
						store_text(st, 5), "edition",
						(json_int_t)store_int(st, 6)));
		n++;
	}
	if (rc < 0) {
		json_decref(items);
		return rpc_fail_store(ctx, rc);
	}
	if (n == 100 && rc > 0) {
		char cur[32];

		snprintf(cur, sizeof(cur), "%lld", (long long)last);
		*result = json_pack("{s:o,s:s}", "items", items, "next", cur);
	} else {
		*result = json_pack("{s:o,s:n}", "items", items, "next");
	}
	return 0;
}

int books_toc(struct store *db, int64_t id, json_t **out)
{
	int64_t edition = 0, part = -1;
	struct store_stmt *st;
	json_t *book = NULL, *parts, *cur = NULL;
	int rc;

	*out = NULL;
	st = store_query(db, SQL_BOOK_GET, "i", id);
	if (!st)
		return SCH_EDB;
	if (store_row(st) > 0) {
		edition = store_int(st, 4);
		book = json_pack(
			"{s:I,s:s,s:s,s:s,s:I,s:s,s:s}", "id", (json_int_t)id,
			"slug", store_text(st, 1), "title", store_text(st, 2),
			"author", store_text(st, 3), "edition",
			(json_int_t)edition, "language", store_text(st, 5),
			"licence", store_text(st, 6));
	}
	store_done(st);
	if (!book)
		return SCH_ENOTFOUND;
	parts = json_array();
	st = store_query(db, SQL_TOC, "ii", edition, edition);
	if (!st) {
		json_decref(book);
		json_decref(parts);
		return SCH_EDB;
	}
	while ((rc = store_row(st)) > 0) {
		if (store_int(st, 0) != part) {
			part = store_int(st, 0);
			cur = json_array();
			json_array_append_new(parts,
					      json_pack("{s:s?,s:o}", "title",
							store_text(st, 1),
							"chapters", cur));
		}
		if (store_is_null(st, 2))
			continue;
		json_array_append_new(
			cur, json_pack("{s:I,s:o,s:s,s:I}", "id",
				       (json_int_t)store_int(st, 2), "number",
				       store_is_null(st, 3)
					       ? json_null()
					       : json_integer(store_int(st, 3)),
				       "title", store_text(st, 4), "words",
				       (json_int_t)store_int(st, 5)));
	}
	if (rc < 0) {
		json_decref(book);
		json_decref(parts);
		return rc;
	}
	*out = json_pack("{s:o,s:o}", "book", book, "parts", parts);
	return 0;
}

static int book_toc(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"book", NULL};
	int64_t id;
	int rc;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_id(ctx, params, "book", true, &id))
		return RPC_ERR;
	rc = books_toc(rpc_store(ctx), id, result);
	if (rc == SCH_ENOTFOUND)
		return rpc_fail(ctx, RPC_E_NOT_FOUND, "no such book");
	return rc ? rpc_fail_store(ctx, rc) : 0;
}

static int chapter_get(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"chapter", NULL};
	int64_t id;
	struct refbuf *raw;
	json_t *r;

	if (rpc_params_only(ctx, params, allowed) ||
	    rpc_param_id(ctx, params, "chapter", true, &id))
		return RPC_ERR;
	r = books_chapter_json(rpc_store(ctx), id);
	if (!r)
		return rpc_fail(ctx, RPC_E_NOT_FOUND, "no such chapter");
	/* a warm chapter is answered with bytes serialised once: the reply
	 * of a 10,000-word chapter is ~150 KB of JSON */
	raw = chapter_bytes(id, r);
	if (raw) {
		json_decref(r);
		rpc_result_raw(ctx, raw);
		return 0;
	}
	*result = r;
	return 0;
}

/* ---- figures: GET /books/SLUG/PATH from the copies made at import ---- */

static const char SQL_FIGURE[] =
	"SELECT f.type, f.data FROM figures f JOIN books b ON b.id = f.book "
	"WHERE b.slug = ? AND f.path = ?";

/* Serves a stored figure to a signed-in account (cookie or Bearer): the
 * import folder is never read here (R2-F1). */
static int figure_get(struct rpc_ctx *ctx, const struct http_req *req,
		      struct http_resp *resp)
{
	const char *p = req->path + strlen("/books/");
	const char *slash = strchr(p, '/');
	char slug[80], type[40] = "";
	struct store_stmt *st;
	const void *data;
	size_t len = 0;

	if (!rpc_account(ctx)) {
		http_resp_text(resp, 401, "text/plain", "sign in first\n", 14);
		return 0;
	}
	if (!slash || (size_t)(slash - p) >= sizeof(slug) || slash == p ||
	    !bk_safe_path(slash + 1, strlen(slash + 1)))
		goto notfound;
	memcpy(slug, p, (size_t)(slash - p));
	slug[slash - p] = '\0';
	st = store_query(rpc_store(ctx), SQL_FIGURE, "tt", slug, slash + 1);
	if (st && store_row(st) > 0) {
		snprintf(type, sizeof(type), "%s", store_text(st, 0));
		data = store_blob(st, 1, &len);
		http_resp_text(resp, 200, type, data ? data : "", len);
	}
	store_done(st);
	if (type[0])
		return 0;
notfound:
	http_resp_text(resp, 404, "text/plain", "not found\n", 10);
	return 0;
}

void books_init(void)
{
	static const struct rpc_method methods[] = {
		{"book.list", book_list, RPC_AUTH | RPC_READ},
		{"book.toc", book_toc, RPC_AUTH | RPC_READ},
		{"chapter.get", chapter_get, RPC_AUTH | RPC_READ},
		{NULL, NULL, 0}};

	rpc_register(methods);
	http_route_register("GET", "/books/", figure_get);
}

/* ---- facts for other modules ---- */

int books_chapter_info(struct store *db, int64_t chapter,
		       struct books_chapter_info *out)
{
	struct store_stmt *st = store_query(
		db,
		"SELECT c.id, c.book, b.current_edition, c.position "
		"FROM chapters c JOIN books b ON b.id = c.book WHERE c.id = ?",
		"i", chapter);
	int rc;

	if (!st)
		return SCH_EDB;
	rc = store_row(st);
	if (rc > 0) {
		out->id = store_int(st, 0);
		out->book = store_int(st, 1);
		out->edition = store_int(st, 2);
		out->order = (int)store_int(st, 3) + 1;
	}
	store_done(st);
	if (rc < 0)
		return rc;
	return rc > 0 ? 0 : SCH_ENOTFOUND;
}

int books_chapter_text(struct store *db, int64_t chapter, char **text,
		       size_t *len)
{
	struct store_stmt *st = store_query(
		db, "SELECT text FROM chapters WHERE id = ?", "i", chapter);
	int rc;

	*text = NULL;
	if (len)
		*len = 0;
	if (!st)
		return SCH_EDB;
	rc = store_row(st);
	if (rc > 0) {
		*text = store_text_dup(st, 0);
		if (len)
			*len = strlen(*text);
	}
	store_done(st);
	if (rc < 0)
		return rc;
	return *text ? 0 : SCH_ENOTFOUND;
}

int books_book_exists(struct store *db, int64_t book)
{
	int64_t x;
	int rc = store_int_query(db, &x,
				 "SELECT id FROM books WHERE id = ? "
				 "AND current_edition IS NOT NULL",
				 "i", book);

	if (rc < 0)
		return rc;
	return rc ? 0 : SCH_ENOTFOUND;
}

/* ---- import ---- */

static bool has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a >= b && !strcasecmp(s + a - b, suf);
}

static bool is_zip(const char *path)
{
	FILE *f = fopen(path, "rb");
	char m[4] = {0};
	bool z;

	if (!f)
		return false;
	z = fread(m, 1, 4, f) == 4 && !memcmp(m, "PK\x03\x04", 4);
	fclose(f);
	return z;
}

/* Reads any supported source into the model. */
static int load(const char *path, const char *slug, struct bk_book **b,
		char *err, size_t errlen)
{
	struct stat sb;
	char tmp[4096];
	int rc;

	if (stat(path, &sb)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return SCH_EIO;
	}
	if (S_ISDIR(sb.st_mode)) {
		snprintf(tmp, sizeof(tmp), "%s/book.json", path);
		if (access(tmp, R_OK)) {
			snprintf(err, errlen,
				 "%s: a book folder needs "
				 "book.json (see content/README.md)",
				 path);
			return SCH_EINVAL;
		}
		rc = bk_import_md_folder(path, slug, b, err, errlen);
		if (!rc)
			bk_figures_from_dir(*b, path);
		return rc;
	}
	if (has_suffix(path, ".epub") || is_zip(path))
		return bk_import_epub(path, slug, b, err, errlen);
	if (has_suffix(path, ".md") || has_suffix(path, ".markdown")) {
		rc = bk_import_md_file(path, slug, b, err, errlen);
		if (!rc) {
			/* figures next to the file */
			const char *sl = strrchr(path, '/');

			snprintf(tmp, sizeof(tmp), "%.*s",
				 sl ? (int)(sl - path) : 1, sl ? path : ".");
			bk_figures_from_dir(*b, tmp[0] ? tmp : "/");
		}
		return rc;
	}
	return bk_import_text(path, slug, b, err, errlen);
}

/* Writes each line of text (the last may lack its newline) to out after
 * prefix. */
static void print_lines(FILE *out, const char *prefix, const char *text)
{
	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t l = nl ? (size_t)(nl - text) : strlen(text);

		fprintf(out, "%s%.*s\n", prefix, (int)l, text);
		text += l + (nl ? 1 : 0);
	}
}

static void report(FILE *out, const struct bk_book *b, bool dry_run,
		   int64_t book_id, int64_t edition_id, bool reimport,
		   const struct bk_reanchor_stats *rs)
{
	int chapters = 0, words = 0, notes = 0;

	fprintf(out, "Book: %s", b->title);
	if (b->author && b->author[0])
		fprintf(out, " by %s", b->author);
	fprintf(out, "\nSlug: %s\nFormat: %s\n", b->slug, b->format);
	if (!dry_run)
		fprintf(out, "Book id: %lld, edition id: %lld (%s)\n",
			(long long)book_id, (long long)edition_id,
			reimport ? "new edition of an existing book"
				 : "new book");
	for (size_t p = 0; p < b->nparts; p++) {
		const struct bk_part *pt = &b->parts[p];

		fprintf(out, "Part: %s\n",
			pt->title ? pt->title : "(front/back matter)");
		for (size_t c = 0; c < pt->n; c++) {
			const struct bk_chapter *ch = pt->ch[c];

			fprintf(out, "  Chapter");
			if (ch->number)
				fprintf(out, " %d", ch->number);
			fprintf(out,
				": %s -- %d words, %d footnote%s, "
				"%zu blocks",
				ch->title, ch->words, ch->nnotes,
				ch->nnotes == 1 ? "" : "s", ch->nblocks);
			if (!dry_run)
				fprintf(out, " [id %lld%s]", (long long)ch->id,
					ch->kept ? ", kept" : "");
			fputc('\n', out);
			chapters++;
			words += ch->words;
			notes += ch->nnotes;
		}
	}
	fprintf(out, "Totals: %zu parts, %d chapters, %d words, %d footnotes\n",
		b->nparts, chapters, words, notes);
	if (b->nwarnings) {
		fprintf(out, "Warnings (%d):\n", b->nwarnings);
		print_lines(out, "  warning: ", buf_str(&b->warnings));
	} else {
		fprintf(out, "Warnings: none\n");
	}
	if (reimport) {
		fprintf(out,
			"Re-anchoring: exact %d, moved %d, fuzzy %d, "
			"needs_review %d, orphaned %d\n",
			rs->exact, rs->moved, rs->fuzzy, rs->needs_review,
			rs->orphaned);
		if (rs->orphans.len) {
			fprintf(out, "Orphans:\n");
			print_lines(out, "  ", buf_str(&rs->orphans));
		}
	}
	if (dry_run)
		fprintf(out, "Dry run: nothing was written.\n");
}

/* Imports a loaded book; dry_run rolls the transaction back. */
static int import_book(struct store *db, struct bk_book *b, const char *path,
		       bool dry_run, FILE *out, char *err, size_t errlen)
{
	struct bk_reanchor_stats rs = {0};
	int64_t book = 0, edition = 0, existing = 0;
	char abspath[4096];
	int rc;

	if (!realpath(path, abspath))
		snprintf(abspath, sizeof(abspath), "%s", path);
	rc = store_begin(db);
	if (rc) {
		snprintf(err, errlen, "cannot begin a transaction: %s",
			 store_errmsg(db));
		return rc;
	}
	rc = store_int_query(db, &existing,
			     "SELECT id FROM books WHERE slug = ?", "t",
			     b->slug);
	if (rc < 0)
		goto fail;
	rc = bk_save(db, b, abspath, &book, &edition, &rs);
	if (rc)
		goto fail;
	if (rs.nchanged) {
		struct events_event ev = {.type = EVENTS_ANCHOR_MOVED};

		ev.ctx = rpc_ctx_new_local(db, 0, false);
		for (size_t i = 0; i < rs.nchanged && !rc; i++) {
			ev.u.anchor.annotation = rs.changed[i];
			rc = events_emit(&ev);
		}
		rpc_ctx_free_local(ev.ctx);
		if (rc < 0)
			goto fail;
		rc = 0;
	}
	if (dry_run)
		rc = store_rollback(db);
	else
		rc = store_commit(db);
	if (rc) {
		snprintf(err, errlen, "cannot commit: %s", store_errmsg(db));
		goto out;
	}
	if (out)
		report(out, b, dry_run, book, edition, existing != 0, &rs);
	goto out;
fail:
	snprintf(err, errlen, "import failed: %s", store_errmsg(db));
	store_rollback(db);
out:
	buf_free(&rs.orphans);
	free(rs.changed);
	return rc;
}

static char *meta_title, *meta_author;

void books_cli_import_meta(const char *title, const char *author)
{
	free(meta_title);
	free(meta_author);
	meta_title = title && title[0] ? xstrdup(title) : NULL;
	meta_author = author && author[0] ? xstrdup(author) : NULL;
}

int books_cli_import(struct store *db, const char *path, const char *slug,
		     bool dry_run, FILE *out, char *err, size_t errlen)
{
	struct bk_book *b = NULL;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	rc = load(path, slug, &b, err, errlen);
	if (rc)
		return rc;
	if (meta_title) {
		free(b->title);
		b->title = xstrdup(meta_title);
	}
	if (meta_author) {
		free(b->author);
		b->author = xstrdup(meta_author);
	}
	if (!bk_slug_valid(b->slug)) {
		snprintf(err, errlen, "slug \"%s\": use 1-64 of a-z 0-9 -",
			 b->slug);
		bk_book_free(b);
		return SCH_EINVAL;
	}
	if (!bk_book_nchapters(b)) {
		snprintf(err, errlen, "%s: no chapters found", path);
		bk_book_free(b);
		return SCH_EINVAL;
	}
	rc = import_book(db, b, path, dry_run, out, err, errlen);
	bk_book_free(b);
	return rc;
}

/* The slug a content folder will get (book.json's, else the folder's). */
static char *folder_slug(const char *dir, const char *name)
{
	char path[4200], *data = NULL, *slug = NULL;
	size_t len;
	json_t *j;

	snprintf(path, sizeof(path), "%s/book.json", dir);
	if (bk_read_file(path, 1u << 20, &data, &len))
		return NULL;
	j = json_loadb(data, len, 0, NULL);
	if (json_is_string(json_object_get(j, "slug")))
		slug = xstrdup(json_string_value(json_object_get(j, "slug")));
	else if (j)
		slug = bk_slugify(name);
	json_decref(j);
	free(data);
	return slug;
}

int books_ensure_content(struct store *db, const char *content_dir)
{
	DIR *d;
	struct dirent *e;
	int failures = 0;

	if (!content_dir || !content_dir[0])
		return 0;
	d = opendir(content_dir);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char dir[4096], err[512] = "";
		char *slug;
		int64_t id = 0;
		int rc;

		if (e->d_name[0] == '.')
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", content_dir, e->d_name);
		slug = folder_slug(dir, e->d_name);
		if (!slug)
			continue; /* not a book folder */
		rc = store_int_query(db, &id,
				     "SELECT id FROM books "
				     "WHERE slug = ?",
				     "t", slug);
		if (rc == 0) {
			struct bk_book *b = NULL;

			rc = bk_import_md_folder(dir, NULL, &b, err,
						 sizeof(err));
			if (!rc)
				bk_figures_from_dir(b, dir);
			if (!rc)
				rc = import_book(db, b, dir, false, NULL, err,
						 sizeof(err));
			if (rc) {
				log_warn("books", "content %s not imported: %s",
					 dir, err);
				failures++;
			} else {
				log_info("books", "imported %s (%zu chapters)",
					 slug, bk_book_nchapters(b));
			}
			bk_book_free(b);
		}
		free(slug);
	}
	closedir(d);
	/* a broken folder is logged, never fatal for the server */
	(void)failures;
	return 0;
}
