/*
 * test_books.c - the books module's importers and chapter view on the
 * fixtures in tests/fixtures/books/: the Markdown folder and single file,
 * EPUB 3 (navigation document) and EPUB 2 (NCX) zipped here from the
 * fixture's XHTML, and pdftotext-style plain text (letter-spaced headings,
 * spelled-out numbers, running heads, page numbers, hyphenated line breaks,
 * footnotes). Also: the block id stability rule, book.list / book.toc /
 * chapter.get through rpc_call_local, a new edition picked up by
 * chapter.get, and hostile input that must fail cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include <cmocka.h>

#include "support/db.h"

#include "auth/auth.h"
#include "books/books.h"
#include "books/internal.h"
#include "modules.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "util/err.h"
#include "util/utf8.h"

#define FIX SCHOLIA_SOURCE_DIR "/tests/fixtures/books"

struct fixture {
	char path[64];
	char dir[64]; /* scratch folder */
	struct store *db;
	int64_t alice;
};

static int call(struct fixture *f, int64_t account, const char *method,
		json_t *params, json_t **res)
{
	struct rpc_ctx *ctx = rpc_ctx_new_local(f->db, account, false);
	json_t *r = NULL, *e = NULL;
	int code = rpc_call_local(ctx, method, params, &r, &e);

	rpc_ctx_free_local(ctx);
	json_decref(params);
	json_decref(e);
	if (res)
		*res = r;
	else
		json_decref(r);
	return code;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256] = "";
	FILE *out;

	modules_init();
	f->db = fixture_open_db(f->path, sizeof(f->path), "books");
	snprintf(f->dir, sizeof(f->dir), "/tmp/sch-booksd-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	out = fopen("/dev/null", "w");
	if (auth_cli_create_account(f->db, "alice", NULL, false, NULL, "", out,
				    err, sizeof(err)) != 0)
		fail_msg("create-account: %s", err);
	fclose(out);
	f->alice = auth_account_by_handle(f->db, "alice");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	fixture_close_db(f->db, f->path);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* The chapter of b in reading order n (0-based). */
static struct bk_chapter *nth(struct bk_book *b, size_t n)
{
	for (size_t p = 0; p < b->nparts; p++) {
		if (n < b->parts[p].n)
			return b->parts[p].ch[n];
		n -= b->parts[p].n;
	}
	return NULL;
}

/* The text of the block of ch with the given type, k-th of that type. */
static char *block_text(struct bk_chapter *ch, enum bk_type t, int k)
{
	for (size_t i = 0; i < ch->nblocks; i++)
		if (ch->blocks[i].type == t && k-- == 0) {
			size_t s = utf8_offset(ch->text, ch->text_len,
					       ch->blocks[i].start);
			size_t e = utf8_offset(ch->text, ch->text_len,
					       ch->blocks[i].end);
			return strndup(ch->text + s, e - s);
		}
	return NULL;
}

/* ---- Markdown ---- */

static void test_md_folder(void **state)
{
	struct bk_book *b = NULL;
	struct bk_chapter *ch;
	char err[256] = "";
	char *t;

	(void)state;
	assert_int_equal(
		bk_import_md_folder(FIX "/md-book", NULL, &b, err, sizeof(err)),
		0);
	assert_string_equal(b->slug, "fixture-md");
	assert_string_equal(b->title, "A Small Test Book");
	assert_int_equal(b->nparts, 3);
	assert_null(b->parts[0].title);
	assert_string_equal(b->parts[1].title, "Part One: Beginnings");
	assert_null(b->parts[2].title);
	assert_int_equal(bk_book_nchapters(b), 4);
	ch = nth(b, 1);
	assert_string_equal(ch->title, "The Store on Toad Lane");
	assert_int_equal(ch->number, 1);
	assert_int_equal(nth(b, 0)->number, 0);
	/* footnotes: numbered by first reference, the repeat reuses 1 */
	assert_int_equal(ch->nnotes, 2);
	assert_non_null(strstr(ch->text, "December 1844.[1] It sold"));
	assert_non_null(strstr(ch->text, "again.[2] And the opening once "
					 "more.[1]"));
	t = block_text(ch, BK_NOTE, 1);
	assert_string_equal(t, "[2] Twenty-eight in all, by the usual count; "
			       "some lists give twenty-seven.");
	free(t);
	t = block_text(ch, BK_NOTE, 0);
	assert_string_equal(t, "[1] Holyoake, Self-Help by the People (1858), "
			       "p. 12.");
	free(t);
	assert_non_null(strstr(ch->html, "<em>Self-Help by the People</em>"));
	/* quote, sub-heading, table cells, caption */
	t = block_text(ch, BK_QUOTE, 1);
	assert_string_equal(t, "Every member shall have one vote.");
	free(t);
	t = block_text(ch, BK_HEADING, 1);
	assert_string_equal(t, "The first evening");
	free(t);
	t = block_text(ch, BK_CELL, 0);
	assert_string_equal(t, "Year");
	free(t);
	t = block_text(ch, BK_CELL, 8);
	assert_string_equal(t, "First growth");
	free(t);
	t = block_text(ch, BK_CAPTION, 0);
	assert_string_equal(t, "The store front on Toad Lane, as drawn for "
			       "this book");
	free(t);
	assert_non_null(strstr(ch->html, "<figure><img src=\"/books/fixture-md/"
					 "figures/store.svg\" alt=\"\">"
					 "<figcaption data-block="));
	assert_non_null(strstr(ch->html, "<th data-block="));
	assert_non_null(strstr(ch->html, "<blockquote><p data-block="));
	/* raw HTML is text */
	assert_non_null(strstr(nth(b, 0)->html, "Raw &lt;b&gt;HTML&lt;/b&gt;"));
	assert_null(strstr(nth(b, 0)->html, "<b>"));
	assert_non_null(strstr(nth(b, 0)->text, "Raw <b>HTML</b> is shown"));
	/* repeated identical paragraphs get distinct ids */
	{
		const char *a = NULL, *c = NULL;

		for (size_t i = 0; i < ch->nblocks; i++) {
			size_t s = utf8_offset(ch->text, ch->text_len,
					       ch->blocks[i].start);

			if (!strncmp(ch->text + s, "The same sentence", 17)) {
				if (!a)
					a = ch->blocks[i].id;
				else
					c = ch->blocks[i].id;
			}
		}
		assert_non_null(a);
		assert_non_null(c);
		assert_string_not_equal(a, c);
		assert_non_null(strstr(c, "-2"));
	}
	bk_book_free(b);
}

static void test_md_single_file(void **state)
{
	struct bk_book *b = NULL;
	char err[256] = "";

	(void)state;
	assert_int_equal(bk_import_md_file(FIX "/single.md", "single", &b, err,
					   sizeof(err)),
			 0);
	assert_int_equal(b->nparts, 3);
	assert_null(b->parts[0].title);
	assert_string_equal(b->parts[0].ch[0]->title, "Preface");
	assert_string_equal(b->parts[1].title, "Part One: The Weavers");
	assert_string_equal(b->parts[1].ch[0]->title, "Flannel");
	assert_int_equal(b->parts[1].ch[0]->number, 1);
	assert_string_equal(b->parts[1].ch[1]->title, "The Hungry Forties");
	assert_int_equal(b->parts[1].ch[1]->number, 2);
	assert_string_equal(b->parts[2].title, "Part Two: The Store");
	assert_int_equal(b->parts[2].ch[0]->number, 3);
	/* the definition at the end of the file serves chapter 1 */
	assert_int_equal(b->parts[1].ch[0]->nnotes, 1);
	assert_non_null(strstr(b->parts[1].ch[0]->text,
			       "[1] Flannel was a woollen cloth."));
	assert_non_null(strstr(b->parts[2].ch[0]->html, "<td data-block="));
	bk_book_free(b);

	/* no "## " headings: "# " are chapters */
	assert_int_equal(bk_import_md_file(FIX "/headings-only.md", NULL, &b,
					   err, sizeof(err)),
			 0);
	assert_int_equal(bk_book_nchapters(b), 2);
	assert_string_equal(nth(b, 1)->title, "Two");
	assert_string_equal(nth(b, 1)->text, "Two\n\nSecond chapter text.");
	bk_book_free(b);
}

/* ---- plain text ---- */

static void test_text_pdftotext(void **state)
{
	struct bk_book *b = NULL;
	struct bk_chapter *ch;
	char err[256] = "";

	(void)state;
	assert_int_equal(bk_import_text(FIX "/text/pdftotext.txt", "t", &b, err,
					sizeof(err)),
			 0);
	/* letter-spaced "P ART O NE" + "T HE W EAVERS" */
	assert_string_equal(b->parts[0].title, "Part One: The Weavers");
	ch = nth(b, 0);
	/* "C HAPTE R T WO" + "T HE E QUITABLE P IONEERS" */
	assert_int_equal(ch->number, 2);
	assert_string_equal(ch->title, "The Equitable Pioneers");
	/* "Chapter Three: Rules for a Store" on one line */
	assert_int_equal(nth(b, 1)->number, 3);
	assert_string_equal(nth(b, 1)->title, "Rules for a Store");
	/* back matter after the numbered chapters */
	assert_string_equal(nth(b, 2)->title, "Epilogue");
	assert_null(b->parts[b->nparts - 1].title);
	/* hyphenated line break rejoined; real hyphen kept */
	assert_non_null(strstr(ch->text, "raised a capital of twenty-eight"));
	assert_non_null(strstr(ch->text, "the co-operative idea"));
	/* running heads and page numbers gone */
	assert_null(strstr(ch->text, "ROCHDALE PIONEERS"));
	assert_null(strstr(ch->text, "  "));
	assert_null(strstr(ch->text, "\n\n8\n"));
	/* a paragraph across a page break is one paragraph */
	assert_non_null(strstr(ch->text, "public houses of the town, where"));
	/* the footnote: marker and note */
	assert_int_equal(ch->nnotes, 1);
	assert_non_null(strstr(ch->text, "proposed a store.[1]\n\n"));
	assert_non_null(strstr(ch->text, "\n\n[1] See Holyoake, Self-Help by "
					 "the People, p. 12."));
	assert_null(strstr(ch->text, "3 See Holyoake"));
	/* paragraphs rebuilt: the short last line ends one */
	assert_non_null(strstr(ch->text, "takings were small.\n\nWithin a"));
	bk_book_free(b);
}

static void test_text_without_pages(void **state)
{
	static const char src[] =
		"CHAPTER TWENTY-ONE\n\nThe last chapter\n\n"
		"Some text that was hyphen-\nated at the end of a line.\n\n"
		"42\n\nMore text.\n";
	struct bk_book *b = NULL;
	char err[128] = "";

	(void)state;
	assert_int_equal(bk_import_text_mem(src, sizeof(src) - 1, "x", &b, err,
					    sizeof(err)),
			 0);
	assert_int_equal(nth(b, 0)->number, 21);
	assert_string_equal(nth(b, 0)->title, "The last chapter");
	assert_non_null(strstr(nth(b, 0)->text, "hyphenated at the end"));
	bk_book_free(b);
}

static void test_text_superscript_notes(void **state)
{
	static const char src[] =
		"CHAPTER IV\n\nThe Store\n\n"
		"The pioneers met in a room\xc2\xb9 above the store, and "
		"later in a hall\xc2\xb9\xc2\xb2 of their own.\n\n"
		"\xc2\xb9 A room rented for two shillings a week.\n"
		"\xc2\xb9\xc2\xb2 Opened in 1849.\n";
	struct bk_book *b = NULL;
	char err[128] = "";

	(void)state;
	assert_int_equal(bk_import_text_mem(src, sizeof(src) - 1, "x", &b, err,
					    sizeof(err)),
			 0);
	assert_int_equal(nth(b, 0)->number, 4);
	assert_string_equal(nth(b, 0)->title, "The Store");
	assert_int_equal(nth(b, 0)->nnotes, 2);
	assert_non_null(strstr(nth(b, 0)->text, "in a room[1] above the store, "
						"and later in a hall[2] of"));
	assert_non_null(strstr(nth(b, 0)->text, "[1] A room rented for two "
						"shillings a week.\n\n[2] "
						"Opened in 1849."));
	bk_book_free(b);
}

/* ---- EPUB ---- */

static void add_file(zip_t *z, const char *name, const char *path)
{
	zip_source_t *s = zip_source_file(z, path, 0, -1);

	assert_non_null(s);
	assert_true(zip_file_add(z, name, s, ZIP_FL_OVERWRITE) >= 0);
}

/* Zips the fixture EPUB; ncx_only drops the nav document (EPUB 2). */
static void make_epub(const char *out, bool ncx_only)
{
	static const char *const files[] = {"OEBPS/toc.ncx",
					    "OEBPS/text/cover.xhtml",
					    "OEBPS/text/preface.xhtml",
					    "OEBPS/text/part1.xhtml",
					    "OEBPS/text/chapter1.xhtml",
					    "OEBPS/text/chapter1b.xhtml",
					    "OEBPS/text/chapter2.xhtml",
					    "OEBPS/text/notes.xhtml",
					    "META-INF/container.xml",
					    NULL};
	int err = 0;
	zip_t *z = zip_open(out, ZIP_CREATE | ZIP_TRUNCATE, &err);
	char path[512];

	assert_non_null(z);
	add_file(z, "mimetype", FIX "/epub/mimetype");
	for (size_t i = 0; files[i]; i++) {
		snprintf(path, sizeof(path), "%s/epub/%s", FIX, files[i]);
		add_file(z, files[i], path);
	}
	if (ncx_only) {
		/* the same package without the nav item: titles from NCX */
		char *opf;
		size_t len;
		char *p;

		assert_int_equal(bk_read_file(FIX "/epub/OEBPS/content.opf",
					      1 << 20, &opf, &len),
				 0);
		p = strstr(opf, "properties=\"nav\"");
		assert_non_null(p);
		memcpy(p, "              =\"\"", 16);
		zip_source_t *s = zip_source_buffer(z, opf, len, 1);
		assert_true(zip_file_add(z, "OEBPS/content.opf", s,
					 ZIP_FL_OVERWRITE) >= 0);
	} else {
		add_file(z, "OEBPS/nav.xhtml", FIX "/epub/OEBPS/nav.xhtml");
		add_file(z, "OEBPS/content.opf", FIX "/epub/OEBPS/content.opf");
	}
	assert_int_equal(zip_close(z), 0);
}

static void check_epub(struct bk_book *b)
{
	struct bk_chapter *ch;
	char *t;

	assert_string_equal(b->title, "The Fixture Pioneers");
	assert_string_equal(b->author, "Scholia Tests");
	assert_int_equal(bk_book_nchapters(b), 3);
	assert_null(b->parts[0].title);
	assert_string_equal(nth(b, 0)->title, "Preface");
	assert_string_equal(b->parts[1].title, "Part One: The Weavers");
	ch = nth(b, 1);
	assert_string_equal(ch->title, "Flannel and Bread");
	assert_int_equal(ch->number, 1);
	/* footnote in the same file, endnote in another */
	assert_non_null(
		strstr(ch->text, "Rochdale made flannel[1] and little"));
	assert_non_null(strstr(ch->text, "[1] Flannel is a soft woollen "
					 "cloth."));
	assert_non_null(strstr(nth(b, 2)->text, "[1] Holyoake, Self-Help by "
						"the People, 1858."));
	/* the note's own text is not also a paragraph */
	assert_null(strstr(ch->text, "cloth.\n\n[1]"));
	/* table, quote, caption; the continuation file joins chapter 1 */
	t = block_text(ch, BK_CELL, 1);
	assert_string_equal(t, "Price of bread");
	free(t);
	t = block_text(ch, BK_QUOTE, 0);
	assert_string_equal(t, "Bread is dear, and work is scarce.");
	free(t);
	t = block_text(ch, BK_CAPTION, 0);
	assert_string_equal(t, "A flannel mill beside the Roch");
	free(t);
	assert_non_null(strstr(ch->text, "The second file of the first "
					 "chapter"));
	/* no script, no style, no notes document as a chapter */
	assert_null(strstr(nth(b, 0)->text, "alert"));
	assert_null(strstr(nth(b, 0)->text, "color"));
	assert_non_null(strstr(nth(b, 0)->html, "<em>tiny</em> book &amp; "));
	assert_non_null(strstr(nth(b, 2)->text, "Loose text in a div"));
}

static void test_epub3_and_epub2(void **state)
{
	struct fixture *f = *state;
	struct bk_book *b = NULL;
	char path[128], err[256] = "";

	snprintf(path, sizeof(path), "%s/f3.epub", f->dir);
	make_epub(path, false);
	assert_int_equal(bk_import_epub(path, NULL, &b, err, sizeof(err)), 0);
	check_epub(b);
	bk_book_free(b);
	snprintf(path, sizeof(path), "%s/f2.epub", f->dir);
	make_epub(path, true);
	assert_int_equal(bk_import_epub(path, NULL, &b, err, sizeof(err)), 0);
	check_epub(b);
	bk_book_free(b);
}

/* Project Gutenberg style: one XHTML file, chapters at fragments. */
static void test_epub_chapters_in_one_file(void **state)
{
	static const char *const files[] = {
		"mimetype",	 "META-INF/container.xml", "OEBPS/content.opf",
		"OEBPS/toc.ncx", "OEBPS/book.xhtml",	   NULL};
	struct fixture *f = *state;
	struct bk_book *b = NULL;
	char path[128], src[512], err[256] = "";
	int zerr = 0;
	zip_t *z;

	snprintf(path, sizeof(path), "%s/one.epub", f->dir);
	z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
	assert_non_null(z);
	for (size_t i = 0; files[i]; i++) {
		snprintf(src, sizeof(src), "%s/epub-onefile/%s", FIX, files[i]);
		add_file(z, files[i], src);
	}
	assert_int_equal(zip_close(z), 0);
	if (bk_import_epub(path, NULL, &b, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(bk_book_nchapters(b), 3);
	assert_int_equal(b->nparts, 2);
	assert_string_equal(b->parts[0].title, "PART I");
	assert_string_equal(b->parts[0].ch[0]->title, "The Loom");
	assert_int_equal(b->parts[0].ch[0]->number, 1);
	assert_string_equal(b->parts[0].ch[1]->title, "The Shop");
	assert_int_equal(b->parts[0].ch[1]->number, 2);
	assert_null(b->parts[1].title);
	assert_string_equal(b->parts[1].ch[0]->title, "Epilogue");
	assert_string_equal(b->parts[0].ch[0]->text,
			    "CHAPTER I. The Loom\n\nThe loom stood by the "
			    "window of the cellar.\n\nQuoted words that must "
			    "stay in chapter one.");
	assert_string_equal(b->parts[0].ch[1]->text,
			    "CHAPTER II. The Shop\n\nThe shop opened on a "
			    "winter evening.");
	assert_string_equal(b->parts[1].ch[0]->text,
			    "Epilogue\n\nThe museum keeps the loom today.");
	bk_book_free(b);
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	fclose(fp);
}

static void test_hostile_input(void **state)
{
	struct fixture *f = *state;
	struct bk_book *b = NULL;
	char path[128], err[256];
	struct buf deep = BUF_INIT;
	int err2 = 0;
	zip_t *z;

	/* junk with a zip signature */
	snprintf(path, sizeof(path), "%s/junk.epub", f->dir);
	write_file(path, "PK\003\004garbage garbage", 19);
	assert_int_not_equal(bk_import_epub(path, NULL, &b, err, sizeof(err)),
			     0);
	assert_null(b);
	/* a zip without a container, then a container naming nothing */
	snprintf(path, sizeof(path), "%s/empty.epub", f->dir);
	z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err2);
	zip_file_add(z, "mimetype", zip_source_buffer(z, "x", 1, 0), 0);
	assert_int_equal(zip_close(z), 0);
	assert_int_not_equal(bk_import_epub(path, NULL, &b, err, sizeof(err)),
			     0);
	z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err2);
	zip_file_add(z, "META-INF/container.xml",
		     zip_source_buffer(z,
				       "<container><rootfiles><rootfile "
				       "full-path=\"../../etc/passwd\"/>"
				       "</rootfiles></container>",
				       86, 0),
		     0);
	assert_int_equal(zip_close(z), 0);
	assert_int_not_equal(bk_import_epub(path, NULL, &b, err, sizeof(err)),
			     0);
	/* deeply nested XHTML and a billion-laughs OPF */
	for (int i = 0; i < 20000; i++)
		buf_adds(&deep, "<div><blockquote>");
	buf_adds(&deep, "deep text");
	z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err2);
	zip_file_add(z, "META-INF/container.xml",
		     zip_source_buffer(z,
				       "<container><rootfiles><rootfile "
				       "full-path=\"p.opf\"/></rootfiles>"
				       "</container>",
				       75, 0),
		     0);
	{
		static const char opf[] =
			"<?xml version=\"1.0\"?><!DOCTYPE p [<!ENTITY a "
			"\"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;"
			"&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"
			"\">]><package><metadata><title>&c;</title>"
			"</metadata><manifest><item id=\"x\" href=\"d.xhtml\""
			"/></manifest><spine><itemref idref=\"x\"/>"
			"</spine></package>";
		zip_file_add(z, "p.opf",
			     zip_source_buffer(z, opf, sizeof(opf) - 1, 0), 0);
	}
	zip_file_add(z, "d.xhtml", zip_source_buffer(z, deep.data, deep.len, 0),
		     0);
	assert_int_equal(zip_close(z), 0);
	/* libxml2 refuses the entity expansion: a clean failure */
	if (bk_import_epub(path, NULL, &b, err, sizeof(err)) == 0)
		assert_true(strlen(b->title) <= BK_MAX_TITLE);
	bk_book_free(b);
	b = NULL;
	/* the same deep document under a plain package: nesting beyond
	 * the limit is dropped, nothing crashes */
	z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err2);
	zip_file_add(z, "META-INF/container.xml",
		     zip_source_buffer(z,
				       "<container><rootfiles><rootfile "
				       "full-path=\"p.opf\"/></rootfiles>"
				       "</container>",
				       75, 0),
		     0);
	{
		static const char opf[] =
			"<package><metadata><title>Deep</title></metadata>"
			"<manifest><item id=\"x\" href=\"d.xhtml\"/>"
			"</manifest><spine><itemref idref=\"x\"/></spine>"
			"</package>";
		zip_file_add(z, "p.opf",
			     zip_source_buffer(z, opf, sizeof(opf) - 1, 0), 0);
	}
	buf_adds(&deep, "<p>shallow text</p>");
	zip_file_add(z, "d.xhtml", zip_source_buffer(z, deep.data, deep.len, 0),
		     0);
	assert_int_equal(zip_close(z), 0);
	if (bk_import_epub(path, NULL, &b, err, sizeof(err)))
		fail_msg("deep epub: %s", err);
	assert_string_equal(b->title, "Deep");
	assert_true(bk_book_nchapters(b) <= 1);
	bk_book_free(b);
	b = NULL;
	buf_free(&deep);
	/* Markdown: deep quotes and lists, a NUL, broken UTF-8 */
	for (int i = 0; i < 5000; i++)
		buf_adds(&deep, "> - ");
	{
		static const char tail[] = "x\n\n# T\n\n\xff\xfe text \0 and "
					   "[^ref] [^]\n";
		buf_add(&deep, tail, sizeof(tail) - 1);
	}
	snprintf(path, sizeof(path), "%s/deep.md", f->dir);
	write_file(path, deep.data, deep.len);
	assert_int_equal(bk_import_md_file(path, "deep", &b, err, sizeof(err)),
			 0);
	bk_book_free(b);
	b = NULL;
	buf_free(&deep);
	/* plain text of binary junk */
	{
		char junk[4096];

		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (char)((i * 7919u) & 0xff);
		if (bk_import_text_mem(junk, sizeof(junk), "j", &b, err,
				       sizeof(err)) == 0)
			bk_book_free(b);
	}
	/* a folder with a path escaping it */
	snprintf(path, sizeof(path), "%s/bad", f->dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/bad/book.json", f->dir);
	{
		static const char bj[] =
			"{\"title\":\"x\",\"parts\":[{\"title\":null,"
			"\"chapters\":[{\"file\":\"../../etc/passwd\"}]}]}";
		write_file(path, bj, sizeof(bj) - 1);
	}
	snprintf(path, sizeof(path), "%s/bad", f->dir);
	b = NULL;
	assert_int_not_equal(
		bk_import_md_folder(path, NULL, &b, err, sizeof(err)), 0);
	assert_null(b);
	assert_non_null(strstr(err, "relative path"));
}

static void test_md_warnings(void **state)
{
	struct fixture *f = *state;
	struct bk_book *b = NULL;
	char path[128], err[256] = "";
	static const char meta[] =
		"{\"title\":\"W\",\"parts\":[{\"title\":null,"
		"\"chapters\":[{\"file\":\"a.md\"}]}]}";
	static const char ch[] = "No heading here.[^missing] And a defined "
				 "note.[^ok]\n\n[^ok]: Fine.\n[^unused]: "
				 "Never referenced.\n";

	snprintf(path, sizeof(path), "%s/book.json", f->dir);
	write_file(path, meta, sizeof(meta) - 1);
	snprintf(path, sizeof(path), "%s/a.md", f->dir);
	write_file(path, ch, sizeof(ch) - 1);
	assert_int_equal(bk_import_md_folder(f->dir, "w", &b, err, sizeof(err)),
			 0);
	assert_int_equal(b->nwarnings, 3);
	assert_non_null(strstr(buf_str(&b->warnings),
			       "a.md does not start with a \"# Title\""));
	assert_non_null(strstr(buf_str(&b->warnings),
			       "note reference \"missing\" has no note"));
	assert_non_null(strstr(buf_str(&b->warnings),
			       "note \"unused\" is never referenced"));
	/* the unresolved reference stays as written; the other is [1] */
	assert_non_null(strstr(nth(b, 0)->text, "here.[^missing] And a "
						"defined note.[1]"));
	bk_book_free(b);
}

/* ---- database, methods, editions ---- */

/* Copies the md-book fixture into the scratch folder. */
static void copy_book(struct fixture *f, const char *name)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd),
		 "rm -rf '%s/%s' && mkdir -p '%s/%s' && "
		 "cp -r '%s/md-book/.' '%s/%s'",
		 f->dir, name, f->dir, name, FIX, f->dir, name);
	assert_int_equal(system(cmd), 0);
}

static char *import(struct fixture *f, const char *path, bool dry)
{
	char err[256] = "";
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	int rc =
		books_cli_import(f->db, path, NULL, dry, out, err, sizeof(err));

	fclose(out);
	if (rc)
		fail_msg("import %s: %s", path, err);
	return text;
}

static void test_methods_and_editions(void **state)
{
	struct fixture *f = *state;
	json_t *r, *toc, *c1, *c2, *blocks;
	char path[128], *rep;
	int64_t book, ch1, ed1;
	const char *text;

	copy_book(f, "book");
	snprintf(path, sizeof(path), "%s/book", f->dir);
	/* a dry run writes nothing but reports everything */
	rep = import(f, path, true);
	assert_non_null(strstr(rep, "Part: Part One: Beginnings"));
	assert_non_null(strstr(rep, "Chapter 1: The Store on Toad Lane -- "));
	assert_non_null(strstr(rep, "2 footnotes"));
	assert_non_null(strstr(rep, "Dry run: nothing was written."));
	free(rep);
	assert_int_equal(call(f, f->alice, "book.list", json_object(), &r), 0);
	assert_int_equal(json_array_size(json_object_get(r, "items")), 0);
	json_decref(r);

	rep = import(f, path, false);
	assert_non_null(strstr(rep, "new book"));
	free(rep);
	/* book.list and book.toc */
	assert_int_equal(call(f, 0, "book.list", json_object(), NULL),
			 RPC_E_UNAUTHENTICATED);
	assert_int_equal(call(f, f->alice, "book.list", json_object(), &r), 0);
	assert_int_equal(json_array_size(json_object_get(r, "items")), 1);
	assert_true(json_is_null(json_object_get(r, "next")));
	book = json_integer_value(json_object_get(
		json_array_get(json_object_get(r, "items"), 0), "id"));
	json_decref(r);
	assert_int_equal(call(f, f->alice, "book.toc",
			      json_pack("{s:I}", "book", (json_int_t)book),
			      &toc),
			 0);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(toc, "book"), "slug")),
			    "fixture-md");
	assert_int_equal(json_array_size(json_object_get(toc, "parts")), 3);
	assert_true(json_is_null(json_object_get(
		json_array_get(json_object_get(toc, "parts"), 0), "title")));
	c1 = json_array_get(
		json_object_get(
			json_array_get(json_object_get(toc, "parts"), 1),
			"chapters"),
		0);
	assert_int_equal(json_integer_value(json_object_get(c1, "number")), 1);
	assert_string_equal(json_string_value(json_object_get(c1, "title")),
			    "The Store on Toad Lane");
	assert_true(json_integer_value(json_object_get(c1, "words")) > 90);
	assert_true(json_is_null(json_object_get(
		json_array_get(
			json_object_get(
				json_array_get(json_object_get(toc, "parts"),
					       0),
				"chapters"),
			0),
		"number")));
	ch1 = json_integer_value(json_object_get(c1, "id"));
	ed1 = json_integer_value(
		json_object_get(json_object_get(toc, "book"), "edition"));
	json_decref(toc);
	assert_int_equal(call(f, f->alice, "book.toc",
			      json_pack("{s:I}", "book", (json_int_t)999),
			      NULL),
			 RPC_E_NOT_FOUND);
	assert_int_equal(call(f, f->alice, "book.toc",
			      json_pack("{s:s}", "book", "x"), NULL),
			 RPC_E_INVALID_PARAMS);

	/* chapter.get: blocks index the text; cached copy is identical */
	assert_int_equal(call(f, f->alice, "chapter.get",
			      json_pack("{s:I}", "chapter", (json_int_t)ch1),
			      &c1),
			 0);
	assert_int_equal(json_integer_value(json_object_get(c1, "edition")),
			 ed1);
	assert_int_equal(json_integer_value(json_object_get(c1, "book")), book);
	text = json_string_value(json_object_get(c1, "text"));
	blocks = json_object_get(c1, "blocks");
	assert_true(json_array_size(blocks) > 10);
	{
		size_t i;
		json_t *bl;
		size_t ncp = utf8_count(text, strlen(text)), prev_end = 0;

		json_array_foreach(blocks, i, bl)
		{
			size_t s = (size_t)json_integer_value(
				json_object_get(bl, "start"));
			size_t e = (size_t)json_integer_value(
				json_object_get(bl, "end"));
			char attr[64];

			assert_true(s < e && e <= ncp);
			assert_true(i == 0 || s == prev_end + 2);
			prev_end = e;
			snprintf(attr, sizeof(attr), "data-block=\"%s\"",
				 json_string_value(json_object_get(bl, "id")));
			assert_non_null(strstr(
				json_string_value(json_object_get(c1, "html")),
				attr));
		}
		assert_int_equal(prev_end, ncp);
	}
	assert_int_equal(call(f, f->alice, "chapter.get",
			      json_pack("{s:I}", "chapter", (json_int_t)ch1),
			      &c2),
			 0);
	assert_true(json_equal(c1, c2));
	json_decref(c2);
	assert_int_equal(call(f, f->alice, "chapter.get",
			      json_pack("{s:I}", "chapter", (json_int_t)9999),
			      NULL),
			 RPC_E_NOT_FOUND);
	assert_int_equal(
		call(f, f->alice, "chapter.get",
		     json_pack("{s:I,s:i}", "chapter", (json_int_t)ch1, "x", 1),
		     NULL),
		RPC_E_INVALID_PARAMS);

	/* a new edition: one paragraph edited, one chapter removed, one
	 * renamed but same number */
	{
		char cmd[1024];

		snprintf(cmd, sizeof(cmd),
			 "cd '%s/book' && sed -i 's/little else at first/"
			 "not much else at first/' 01-store.md && "
			 "sed -i 's/^# Rules and Principles/# The Rules/' "
			 "02-rules.md && sed -i "
			 "'s/,{\"file\":\"99-epilogue.md\"}"
			 "//; s/{\"file\":\"99-epilogue.md\"}//' book.json",
			 f->dir);
		assert_int_equal(system(cmd), 0);
	}
	rep = import(f, path, false);
	assert_non_null(strstr(rep, "new edition of an existing book"));
	assert_non_null(strstr(rep, "Re-anchoring: exact 0, moved 0, fuzzy 0, "
				    "needs_review 0, orphaned 0"));
	assert_non_null(strstr(rep, "The Rules -- "));
	free(rep);
	assert_int_equal(call(f, f->alice, "chapter.get",
			      json_pack("{s:I}", "chapter", (json_int_t)ch1),
			      &c2),
			 0);
	assert_true(json_integer_value(json_object_get(c2, "edition")) > ed1);
	assert_non_null(strstr(json_string_value(json_object_get(c2, "text")),
			       "not much else at first"));
	/* block ids: the edited paragraph's changed, the others kept */
	{
		json_t *b1 = json_object_get(c1, "blocks");
		json_t *b2 = json_object_get(c2, "blocks");
		size_t same = 0;

		assert_int_equal(json_array_size(b1), json_array_size(b2));
		for (size_t i = 0; i < json_array_size(b1); i++) {
			const char *x = json_string_value(
				json_object_get(json_array_get(b1, i), "id"));
			const char *y = json_string_value(
				json_object_get(json_array_get(b2, i), "id"));
			if (!strcmp(x, y))
				same++;
		}
		assert_int_equal(same, json_array_size(b1) - 1);
		assert_string_not_equal(json_string_value(json_object_get(
						json_array_get(b1, 1), "id")),
					json_string_value(json_object_get(
						json_array_get(b2, 1), "id")));
	}
	json_decref(c1);
	json_decref(c2);
	/* ids kept by title and by number; the removed chapter is gone from
	 * the toc */
	assert_int_equal(call(f, f->alice, "book.toc",
			      json_pack("{s:I}", "book", (json_int_t)book),
			      &toc),
			 0);
	assert_int_equal(json_array_size(json_object_get(toc, "parts")), 3);
	c1 = json_array_get(
		json_object_get(
			json_array_get(json_object_get(toc, "parts"), 1),
			"chapters"),
		1);
	assert_string_equal(json_string_value(json_object_get(c1, "title")),
			    "The Rules");
	assert_int_equal(
		json_array_size(json_object_get(
			json_array_get(json_object_get(toc, "parts"), 2),
			"chapters")),
		0);
	{
		struct books_chapter_info ci;

		assert_int_equal(books_chapter_info(f->db, ch1, &ci), 0);
		assert_int_equal(ci.book, book);
		assert_int_equal(ci.order, 2);
		assert_int_equal(
			ci.edition,
			json_integer_value(json_object_get(
				json_object_get(toc, "book"), "edition")));
	}
	json_decref(toc);
	assert_int_equal(books_book_exists(f->db, book), 0);
	assert_int_equal(books_book_exists(f->db, book + 1), SCH_ENOTFOUND);

	/* a bad --book slug is refused before anything is written */
	{
		char err[256] = "";
		FILE *out = fopen("/dev/null", "w");

		assert_int_equal(books_cli_import(f->db, FIX "/single.md",
						  "Bad Slug!", false, out, err,
						  sizeof(err)),
				 SCH_EINVAL);
		assert_non_null(strstr(err, "slug"));
		assert_int_equal(
			books_cli_import(f->db, FIX "/text/pdftotext.txt",
					 "../x", false, out, err, sizeof(err)),
			SCH_EINVAL);
		fclose(out);
	}
	/* ensure_content: existing slugs are skipped, new folders imported */
	assert_int_equal(books_ensure_content(f->db, f->dir), 0);
	assert_int_equal(call(f, f->alice, "book.list", json_object(), &r), 0);
	assert_int_equal(json_array_size(json_object_get(r, "items")), 1);
	json_decref(r);
}

static void test_ensure_content(void **state)
{
	struct fixture *f = *state;
	json_t *r;
	int64_t n1 = 0, n2 = 0;

	copy_book(f, "content/one");
	assert_int_equal(books_ensure_content(f->db, "/nonexistent"), 0);
	{
		char p[128];

		snprintf(p, sizeof(p), "%s/content", f->dir);
		assert_int_equal(books_ensure_content(f->db, p), 0);
		store_int_query(f->db, &n1, "SELECT COUNT(*) FROM editions",
				"");
		assert_int_equal(books_ensure_content(f->db, p), 0);
		store_int_query(f->db, &n2, "SELECT COUNT(*) FROM editions",
				"");
	}
	assert_int_equal(n1, 1);
	assert_int_equal(n2, 1);
	assert_int_equal(call(f, f->alice, "book.list", json_object(), &r), 0);
	assert_int_equal(json_array_size(json_object_get(r, "items")), 1);
	json_decref(r);
}

/* One reading of "Chapter N" titles for the EPUB and Markdown importers. */
static void expect_title(const char *t, int number, const char *rest)
{
	char *r = NULL;

	assert_int_equal(bk_title_number(t, &r), number);
	assert_string_equal(r, rest);
	free(r);
}

static void test_title_number(void **state)
{
	(void)state;
	expect_title("Chapter 3: The Store", 3, "The Store");
	expect_title("Chapter Three. The Store", 3, "The Store");
	expect_title("chapter iv - Toad Lane", 4, "Toad Lane");
	expect_title("Chapter 12", 12, "Chapter 12");
	expect_title("3. The Store", 3, "The Store");
	expect_title("3: The Store", 3, "The Store");
	expect_title("12", 12, "12");
	/* bare digits then a space: a title that starts with a number */
	expect_title("3 Men in a Boat", 0, "3 Men in a Boat");
	expect_title("Chapters of Life", 0, "Chapters of Life");
	expect_title("Chapter Seventy", 70, "Chapter Seventy");
	expect_title("Preface", 0, "Preface");
	assert_true(bk_slug_valid("rochdale-1844"));
	assert_false(bk_slug_valid(""));
	assert_false(bk_slug_valid("Rochdale"));
	assert_false(bk_slug_valid("a_b"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_title_number),
		cmocka_unit_test(test_md_folder),
		cmocka_unit_test(test_md_single_file),
		cmocka_unit_test(test_text_pdftotext),
		cmocka_unit_test(test_text_without_pages),
		cmocka_unit_test(test_text_superscript_notes),
		cmocka_unit_test_setup_teardown(test_epub3_and_epub2, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_epub_chapters_in_one_file,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_input, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_md_warnings, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_methods_and_editions,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_content, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
