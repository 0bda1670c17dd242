/*
 * save.c - writing an imported book into the database as a new edition.
 *
 * A book is found by its slug. Every import adds an edition; chapters of the
 * previous edition keep their ids when they still exist, matched first by
 * title, then by number, then by reading position (three passes, so a
 * position match never takes a chapter another one matches by title).
 * Chapters that disappear keep their row (annotations point at them) and
 * their anchors become orphans; every other anchor on the book is
 * re-anchored to the new text. The caller owns the transaction.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "books/internal.h"
#include "store/store.h"
#include "util/err.h"
#include "util/vec.h"

static const char SQL_BOOK_BY_SLUG[] =
	"SELECT id, current_edition FROM books WHERE slug = ?";
static const char SQL_BOOK_INSERT[] =
	"INSERT INTO books (slug, title, author, language, licence, "
	"created_at) VALUES (?, ?, ?, ?, ?, ?)";
static const char SQL_BOOK_META[] =
	"UPDATE books SET title = ?, author = ?, language = ?, licence = ? "
	"WHERE id = ?";
static const char SQL_EDITION_NEXT[] =
	"SELECT COALESCE(MAX(number), 0) + 1 FROM editions WHERE book = ?";
static const char SQL_EDITION_INSERT[] =
	"INSERT INTO editions (book, number, label, source, format, stamp, "
	"imported_at) VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char SQL_OLD_CHAPTERS[] =
	"SELECT id, title, number, position, text FROM chapters "
	"WHERE book = ? AND edition = ? ORDER BY position";
static const char SQL_PART_INSERT[] =
	"INSERT INTO parts (edition, position, title) VALUES (?, ?, ?)";
static const char SQL_CHAPTER_INSERT[] =
	"INSERT INTO chapters (book, edition, part, position, number, title, "
	"words, notes, text, html, blocks) "
	"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_CHAPTER_UPDATE[] =
	"UPDATE chapters SET edition = ?, part = ?, position = ?, number = ?, "
	"title = ?, words = ?, notes = ?, text = ?, html = ?, blocks = ? "
	"WHERE id = ?";
static const char SQL_BLOCK_INSERT[] =
	"INSERT INTO blocks (chapter, edition, position, block, type, start, "
	"\"end\") VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char SQL_BOOK_CURRENT[] =
	"UPDATE books SET current_edition = ? WHERE id = ?";

/* A chapter of the previous edition. */
struct old_ch {
	int64_t id;
	char *title;
	char *text; /* re-anchoring compares the quote's occurrences */
	int number;
	int position;
	bool used;
};

static int64_t random_stamp(void)
{
	uint64_t v = 0;
	int fd = open("/dev/urandom", O_RDONLY);

	if (fd >= 0) {
		if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
			v = 0;
		close(fd);
	}
	if (!v)
		v = (uint64_t)time(NULL) * 2654435761u ^ (uint64_t)getpid();
	return (int64_t)(v >> 2);
}

static char *blocks_json(const struct bk_chapter *ch)
{
	struct buf b = BUF_INIT;

	buf_addch(&b, '[');
	for (size_t i = 0; i < ch->nblocks; i++)
		buf_addf(&b,
			 "%s{\"id\":\"%s\",\"type\":\"%s\",\"start\":%zu,"
			 "\"end\":%zu}",
			 i ? "," : "", ch->blocks[i].id,
			 bk_type_name(ch->blocks[i].type), ch->blocks[i].start,
			 ch->blocks[i].end);
	buf_addch(&b, ']');
	return buf_detach(&b, NULL);
}

/* The book row (inserted, or its metadata updated) and a new edition row:
 * *book, *old_edition (0 for a new book) and *edition. 0 or SCH_E*. */
static int save_book_row(struct store *db, struct bk_book *b,
			 const char *source, int64_t now, int64_t *book,
			 int64_t *old_edition, int64_t *edition)
{
	struct store_stmt *st;
	int64_t number = 1;
	int rc;

	*book = *old_edition = 0;
	st = store_query(db, SQL_BOOK_BY_SLUG, "t", b->slug);
	if (!st)
		return SCH_EDB;
	if ((rc = store_row(st)) > 0) {
		*book = store_int(st, 0);
		*old_edition = store_int(st, 1);
	}
	store_done(st);
	if (rc < 0)
		return rc;
	if (!*book) {
		rc = store_run(db, SQL_BOOK_INSERT, "ttttti", b->slug, b->title,
			       b->author, b->language, b->licence, now);
		if (rc)
			return rc;
		*book = store_last_id(db);
	} else {
		rc = store_run(db, SQL_BOOK_META, "tttti", b->title, b->author,
			       b->language, b->licence, *book);
		if (rc)
			return rc;
	}
	rc = store_int_query(db, &number, SQL_EDITION_NEXT, "i", *book);
	if (rc < 0)
		return rc;
	rc = store_run(db, SQL_EDITION_INSERT, "iitttii", *book, number,
		       b->edition ? b->edition : "", source ? source : "",
		       b->format ? b->format : "", random_stamp(), now);
	if (rc)
		return rc;
	*edition = store_last_id(db);
	return 0;
}

/* The previous edition's chapters (*old, *nold; caller frees). */
static int load_old_chapters(struct store *db, int64_t book,
			     int64_t old_edition, struct old_ch **old,
			     size_t *nold)
{
	struct store_stmt *st;
	size_t cap = 0;
	int rc;

	st = store_query(db, SQL_OLD_CHAPTERS, "ii", book, old_edition);
	if (!st)
		return SCH_EDB;
	while ((rc = store_row(st)) > 0) {
		struct old_ch *o = VEC_PUSH(*old, *nold, cap);

		o->id = store_int(st, 0);
		o->title = store_text_dup(st, 1);
		o->text = store_text_dup(st, 4);
		o->number = (int)store_int(st, 2);
		o->position = (int)store_int(st, 3);
		o->used = false;
	}
	return rc < 0 ? rc : 0;
}

/* Which old chapter each new one continues (match[i], 0 for none), in
 * three passes: same title, same number, same position. */
static void match_chapters(struct bk_chapter **flat, size_t nch,
			   struct old_ch *old, size_t nold, int64_t *match)
{
	for (int pass = 0; pass < 3; pass++)
		for (size_t i = 0; i < nch; i++) {
			if (match[i])
				continue;
			for (size_t j = 0; j < nold; j++) {
				bool ok;

				if (old[j].used)
					continue;
				if (pass == 0)
					ok = old[j].title &&
					     !strcasecmp(old[j].title,
							 flat[i]->title);
				else if (pass == 1)
					ok = flat[i]->number &&
					     old[j].number == flat[i]->number;
				else
					ok = old[j].position == (int)i;
				if (ok) {
					old[j].used = true;
					match[i] = old[j].id;
					break;
				}
			}
		}
}

/* One chapter of the new edition (at reading position k, in part): the
 * continued chapter's row updated (match) or a new row, and its blocks.
 * Sets ch->id and ch->kept. 0 or SCH_E*. */
static int save_chapter(struct store *db, int64_t book, int64_t edition,
			int64_t part, size_t k, struct bk_chapter *ch,
			int64_t match)
{
	char *bj = blocks_json(ch);
	int64_t id;
	int rc;

	if (match) {
		id = match;
		rc = store_run(db, SQL_CHAPTER_UPDATE, "iiiItiittti", edition,
			       part, (int64_t)k, (int64_t)ch->number, ch->title,
			       (int64_t)ch->words, (int64_t)ch->nnotes,
			       ch->text, ch->html, bj, id);
	} else {
		rc = store_run(db, SQL_CHAPTER_INSERT, "iiiiItiittt", book,
			       edition, part, (int64_t)k, (int64_t)ch->number,
			       ch->title, (int64_t)ch->words,
			       (int64_t)ch->nnotes, ch->text, ch->html, bj);
		id = store_last_id(db);
	}
	free(bj);
	if (rc)
		return rc;
	ch->id = id;
	ch->kept = match != 0;
	for (size_t i = 0; i < ch->nblocks && !rc; i++)
		rc = store_run(db, SQL_BLOCK_INSERT, "iiittii", id, edition,
			       (int64_t)i, ch->blocks[i].id,
			       bk_type_name(ch->blocks[i].type),
			       (int64_t)ch->blocks[i].start,
			       (int64_t)ch->blocks[i].end);
	return rc;
}

int bk_save(struct store *db, struct bk_book *b, const char *source,
	    int64_t *book_id, int64_t *edition_id,
	    struct bk_reanchor_stats *stats)
{
	int64_t book = 0, old_edition = 0, edition = 0;
	struct old_ch *old = NULL;
	size_t nold = 0, nch = bk_book_nchapters(b), k;
	struct bk_chapter **flat = NULL;
	int64_t *match = NULL;
	int rc;

	rc = save_book_row(db, b, source, (int64_t)time(NULL), &book,
			   &old_edition, &edition);
	if (rc)
		return rc;
	if (old_edition) {
		rc = load_old_chapters(db, book, old_edition, &old, &nold);
		if (rc)
			goto out;
	}
	flat = xcalloc(nch + 1, sizeof(*flat));
	match = xcalloc(nch + 1, sizeof(*match));
	k = 0;
	for (size_t p = 0; p < b->nparts; p++)
		for (size_t c = 0; c < b->parts[p].n; c++)
			flat[k++] = b->parts[p].ch[c];
	match_chapters(flat, nch, old, nold, match);

	/* parts and chapters */
	k = 0;
	for (size_t p = 0; p < b->nparts; p++) {
		int64_t part;

		rc = store_run(db, SQL_PART_INSERT, "iit", edition, (int64_t)p,
			       b->parts[p].title);
		if (rc)
			goto out;
		part = store_last_id(db);
		for (size_t c = 0; c < b->parts[p].n && !rc; c++, k++)
			rc = save_chapter(db, book, edition, part, k,
					  b->parts[p].ch[c], match[k]);
		if (rc)
			goto out;
	}
	rc = store_run(db, SQL_BOOK_CURRENT, "ii", edition, book);
	if (rc == 0)
		rc = bk_figures_save(db, book, b);
	if (rc)
		goto out;

	/* re-anchor what was on the book */
	for (size_t i = 0; i < nch && !rc; i++) {
		const char *otext = NULL;

		if (!match[i])
			continue;
		for (size_t j = 0; j < nold; j++)
			if (old[j].id == match[i])
				otext = old[j].text;
		rc = bk_reanchor_chapter(
			db, flat[i]->id, edition, flat[i]->title, flat[i]->text,
			flat[i]->text_len, otext, old_edition, stats);
	}
	for (size_t j = 0; j < nold && !rc; j++)
		if (!old[j].used)
			rc = bk_orphan_chapter(db, old[j].id,
					       old[j].title ? old[j].title : "",
					       stats);
	if (rc)
		goto out;
	*book_id = book;
	*edition_id = edition;
out:
	for (size_t j = 0; j < nold; j++) {
		free(old[j].title);
		free(old[j].text);
	}
	free(old);
	free(flat);
	free(match);
	return rc;
}
