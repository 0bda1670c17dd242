/*
 * internal.h - the in-memory book model shared by the books module's files.
 *
 * Every importer (Markdown folder, single Markdown file, EPUB, plain text)
 * fills the same model: a book of parts of chapters; a chapter is built as a
 * list of items, each either safe markup between blocks (<table>, <ul> ...)
 * or a leaf block (paragraph, heading, quote, table cell, caption) whose
 * plain text and inline HTML are accumulated by a bk_builder. Footnote
 * references are written as sentinels (U+E000 index U+E001) while building
 * and resolved by bk_chapter_finish(), which numbers the notes, appends the
 * note blocks, gives every block its stable id and produces the chapter's
 * text, HTML and block list. Nothing here touches the database (save.c
 * does); nothing here is visible outside server/books/.
 */
#ifndef SCH_BOOKS_INTERNAL_H
#define SCH_BOOKS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "books/books.h"
#include "util/buf.h"
#include "util/html.h"

struct store;

/* Hard limits that keep hostile input from exhausting the server. */
#define BK_MAX_FILE (64u << 20) /* one input file or zip entry */
#define BK_MAX_CHAPTERS 2000
#define BK_MAX_PARTS 200
#define BK_MAX_DEPTH 64	    /* nesting of HTML / Markdown */
#define BK_MAX_ITEMS 200000 /* items in one chapter */
#define BK_MAX_REFS 20000   /* footnote references per chapter */
#define BK_MAX_TITLE 500    /* bytes of a title */

/* Block kinds (SPEC: paragraphs, headings, quotes, table cells, captions,
 * notes). */
enum bk_type {
	BK_PARAGRAPH,
	BK_HEADING,
	BK_QUOTE,
	BK_CELL,
	BK_CAPTION,
	BK_NOTE
};
/* "paragraph", "heading", ... (static string). */
const char *bk_type_name(enum bk_type t);

/* One item of a chapter under construction. */
struct bk_item {
	bool is_block;
	char *markup;	   /* !is_block: safe HTML between blocks */
	enum bk_type type; /* is_block: */
	char tag[12];	   /* element name ("p", "h2", "td", "figcaption") */
	const char *cls;   /* static class attribute or NULL */
	char *pre, *post;  /* safe HTML around the element (figure) */
	struct buf text;   /* plain text, sentinels for note references */
	struct buf html;   /* inline HTML, same sentinels */
};

/* A footnote reference made while building: sentinel index -> label. */
struct bk_ref {
	char *label;	/* note key (Markdown label, EPUB "file#id", ...) */
	char *fallback; /* plain text to show when no note has this label */
};

/* A note (footnote text) that references may point at. */
struct bk_note {
	char *label;
	char *text; /* plain text */
	char *html; /* safe inline HTML */
	int used;   /* times referenced */
};
struct bk_notes {
	struct bk_note *v;
	size_t n, cap;
};

/* A finished block. */
struct bk_block {
	char id[24];
	enum bk_type type;
	size_t start, end; /* code points into the chapter text */
};

struct bk_chapter {
	char *title; /* never NULL once finished */
	int number;  /* 0: unnumbered */
	char *file;  /* source file name, for the report (may be NULL) */
	/* while building */
	struct bk_item *items;
	size_t nitems, capitems;
	struct bk_ref *refs;
	size_t nrefs, caprefs;
	struct bk_notes notes; /* notes defined in this chapter */
	/* finished (bk_chapter_finish) */
	char *text;
	size_t text_len; /* bytes */
	char *html;
	struct bk_block *blocks;
	size_t nblocks;
	int words;
	int nnotes; /* notes attached to this chapter */
	int64_t id; /* after bk_save: the chapter's id */
	bool kept;  /* after bk_save: id kept from the previous edition */
};

struct bk_part {
	char *title; /* NULL: front or back matter */
	struct bk_chapter **ch;
	size_t n, cap;
};

/* A figure copied at import (figures.c). */
struct bk_figure {
	char *path;	  /* as referenced, relative: "figures/map.png" */
	const char *type; /* static: "image/png", ... */
	char *data;
	size_t len;
};

struct bk_book {
	char *slug, *title, *author, *language, *licence, *edition;
	struct bk_figure *figs; /* figures to store with the edition */
	size_t nfigs, capfigs, figbytes;
	const char *format; /* static: "markdown", "markdown-file", "epub",
			       "text" */
	struct bk_part *parts;
	size_t nparts, capparts;
	struct buf warnings; /* one warning per line */
	int nwarnings;
};

/* ---- model.c ---- */
struct bk_book *bk_book_new(void);
/* Frees the book and everything in it; NULL is ignored. */
void bk_book_free(struct bk_book *b);
/* Appends a part (title copied, NULL for front/back matter). */
struct bk_part *bk_book_add_part(struct bk_book *b, const char *title);
/* Appends a chapter to the last part (creating an untitled part if none). */
struct bk_chapter *bk_book_add_chapter(struct bk_book *b, const char *title,
				       int number);
size_t bk_book_nchapters(const struct bk_book *b);
/* Removes chapters that got no content (before finishing) and parts left
 * empty. */
void bk_book_drop_empty(struct bk_book *b);
/* Drops what a chapter holds so far (it then counts as empty). */
void bk_chapter_clear(struct bk_chapter *ch);
void bk_warn(struct bk_book *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void bk_notes_add(struct bk_notes *ns, const char *label, const char *text,
		  const char *html);
struct bk_note *bk_notes_find(struct bk_notes *ns, const char *label);
void bk_notes_free(struct bk_notes *ns);
/* Adds a reference and returns its sentinel index (or -1 over the limit). */
int bk_chapter_add_ref(struct bk_chapter *ch, const char *label,
		       const char *fallback);
/* Resolves references against the chapter's notes, then extra (may be
 * NULL), assigns block ids, builds text/HTML/blocks. Warns into b. */
void bk_chapter_finish(struct bk_book *b, struct bk_chapter *ch,
		       struct bk_notes *extra);
/* Finishes every chapter (extra notes as above) and warns about unused
 * notes of extra. */
void bk_book_finish(struct bk_book *b, struct bk_notes *extra);
/* Words in a UTF-8 string (runs of letters/digits). */
int bk_count_words(const char *s, size_t len);
/* The stable id of a block's text: "b" + 8 hex digits of FNV-1a. */
uint32_t bk_hash(enum bk_type t, const char *text, size_t len);
/* Title Case for an ALL CAPS heading; returns a malloc'd string. */
char *bk_title_case(const char *s);
/* Reads a whole file, at most max bytes; caller frees *data. 0, SCH_EIO or
 * SCH_EINVAL (too large). */
int bk_read_file(const char *path, size_t max, char **data, size_t *len);
/* Replaces invalid UTF-8 and our sentinel code points by U+FFFD and drops
 * NUL; returns a malloc'd NUL-terminated string. */
char *bk_clean_utf8(const char *s, size_t len, size_t *outlen);
/* memmem without the GNU feature macro; NULL when not found. */
const char *bk_memmem(const char *h, size_t hn, const char *n, size_t nn);
/* Lower-case ASCII slug of s ("the-rochdale-pioneers"); malloc'd. */
char *bk_slugify(const char *s);

/* The builder: importers feed it leaf blocks and markup. */
struct bk_builder {
	struct bk_chapter *ch;
	struct bk_item *cur; /* open leaf, or NULL */
	bool space;	     /* a space is pending in the open leaf */
	bool verbatim;	     /* keep whitespace (code blocks) */
	bool merge;	     /* every leaf goes into one block (notes) */
	int depth;
};
void bb_init(struct bk_builder *bb, struct bk_chapter *ch);
/* Safe markup between blocks (closes nothing; ignored inside a leaf). */
void bb_markup(struct bk_builder *bb, const char *html);
/* Opens a leaf block; closes the open one first. */
struct bk_item *bb_open(struct bk_builder *bb, enum bk_type type,
			const char *tag, const char *cls);
/* Text (escaped into HTML, whitespace collapsed unless verbatim); opens a
 * paragraph when no leaf is open and the text is not blank. */
void bb_text(struct bk_builder *bb, const char *s, size_t n);
/* Inline safe HTML (tags only) into the open leaf's HTML. */
void bb_inline(struct bk_builder *bb, const char *html);
/* A note reference sentinel. */
void bb_ref(struct bk_builder *bb, int index);
void bb_close(struct bk_builder *bb);
/* A safe relative resource path (figures/x.svg): no scheme, no "..". */
bool bk_safe_path(const char *p, size_t n);

/* ---- figures.c ---- */
#define BK_MAX_FIGURE (8u << 20)	 /* bytes of one figure */
#define BK_MAX_FIGURES 2000		 /* figures per book */
#define BK_MAX_FIGURE_TOTAL (256u << 20) /* bytes of a book's figures */
/* The image type of data by its first bytes (PNG, JPEG, GIF, WebP), an
 * SVG that passes a strict allowlist (drawing elements and presentation
 * attributes only: no script, handlers, links, styles), or NULL. */
const char *bk_figure_sniff(const char *data, size_t len);
/* Adds a figure read from memory (EPUB); false (with a warning) when it is
 * refused. The data is copied. */
bool bk_figure_add(struct bk_book *b, const char *path, const char *data,
		   size_t len);
/* Copies every figure the chapters reference under /books/SLUG/ from dir:
 * regular files inside dir after resolving links, at most BK_MAX_FIGURE
 * bytes, of a sniffed image type. Others are warned about and left out. */
void bk_figures_from_dir(struct bk_book *b, const char *dir);
/* Replaces the book's stored figures with b's (inside the caller's
 * transaction). 0 or negative SCH_E*. */
int bk_figures_save(struct store *db, int64_t book, const struct bk_book *b);

/* ---- md.c ---- */
/* Removes footnote definitions ([^x]: text, with indented continuation
 * lines) from src into notes; returns the rest (malloc'd). */
char *bk_md_extract_notes(const char *src, size_t len, struct bk_notes *notes,
			  size_t *outlen);
/* Builds chapter ch from Markdown (notes already extracted). The first
 * level-1 heading names the chapter when ch->title is NULL. img_base
 * prefixes relative image paths ("/books/slug/"). */
int bk_md_chapter(struct bk_chapter *ch, const char *src, size_t len,
		  const char *img_base);
/* Markdown inline text -> plain text and safe HTML (malloc'd). */
void bk_md_inline(const char *src, size_t len, char **text, char **html);
int bk_import_md_folder(const char *dir, const char *slug, struct bk_book **out,
			char *err, size_t errlen);
int bk_import_md_file(const char *path, const char *slug, struct bk_book **out,
		      char *err, size_t errlen);

/* A number as digits, roman numerals or English words ("twenty-one") at s;
 * *used gets the bytes read; 0 when there is none. */
int bk_parse_number(const char *s, size_t n, size_t *used);
/*
 * The chapter number a title states, for every importer: "Chapter 3: The
 * Store", "Chapter Three. The Store", "chapter iii - The Store" (digits,
 * words or roman numerals after "Chapter "), and bare digits followed by
 * '.' or ':' or nothing ("3. The Store", "12"). Bare digits followed by a
 * space are a title, not a number ("3 Men in a Boat"). Returns the number
 * (0: none) and sets *rest to the title after it (malloc'd; the whole title
 * when nothing follows the number or there is none).
 */
int bk_title_number(const char *t, char **rest);
/* A book slug: 1-64 of a-z 0-9 '-'. */
bool bk_slug_valid(const char *s);

/* ---- epub.c ---- */
int bk_import_epub(const char *path, const char *slug, struct bk_book **out,
		   char *err, size_t errlen);

/* ---- text.c ---- */
int bk_import_text(const char *path, const char *slug, struct bk_book **out,
		   char *err, size_t errlen);
/* The same from memory (tests, fuzzing). */
int bk_import_text_mem(const char *data, size_t len, const char *slug,
		       struct bk_book **out, char *err, size_t errlen);

/* ---- save.c ---- */
/* Counts of a re-anchoring pass. */
struct bk_reanchor_stats {
	int exact, moved, fuzzy, needs_review, orphaned;
	struct buf orphans; /* one line per orphan */
	int64_t *changed;   /* annotations whose anchor changed */
	size_t nchanged, capchanged;
};
/* Records an annotation whose anchor changed (stats may be NULL). */
void bk_stats_changed(struct bk_reanchor_stats *stats, int64_t annotation);
/* Writes the book as a new edition (or a new book) and re-anchors every
 * anchor on it. The caller holds a transaction. *book_id, *edition_id get
 * the ids. */
int bk_save(struct store *db, struct bk_book *b, const char *source,
	    int64_t *book_id, int64_t *edition_id,
	    struct bk_reanchor_stats *stats);

/* ---- anchor.c ---- */
/* Text prepared for matching: code points and their byte offsets. */
struct bk_text {
	const char *s;
	size_t len;   /* bytes */
	uint32_t *cp; /* n code points */
	size_t *off;  /* n + 1 byte offsets */
	size_t n;
};
void bk_text_init(struct bk_text *t, const char *s, size_t len);
void bk_text_free(struct bk_text *t);
/* bk_match for a quote with no known position (imported highlights):
 * the same scores and floor, without the nearness term. */
void bk_match_anywhere(const struct bk_text *t, const char *exact,
		       const char *prefix, const char *suffix,
		       struct books_match *out);
/* The matcher on a prepared text (books_match_quote wraps it). old_count:
 * how often the quote occurred in the text it was anchored in (0 unknown);
 * see anchor.c for the evidence it enables. */
void bk_match(const struct bk_text *t, const char *exact, const char *prefix,
	      const char *suffix, int64_t old_start, int old_count,
	      struct books_match *out);
/* Re-anchors every anchor of chapter to its current text. old_text (NULL
 * if unknown) is the chapter's text in old_edition, the edition it
 * replaces. */
int bk_reanchor_chapter(struct store *db, int64_t chapter, int64_t edition,
			const char *title, const char *text, size_t len,
			const char *old_text, int64_t old_edition,
			struct bk_reanchor_stats *stats);
/* Marks every anchor of a chapter that is no longer in the book orphaned. */
int bk_orphan_chapter(struct store *db, int64_t chapter, const char *title,
		      struct bk_reanchor_stats *stats);
/* Prefix/suffix context size in code points. */
#define BK_CONTEXT_CP 32

#endif
