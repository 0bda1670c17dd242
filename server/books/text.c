/*
 * text.c - plain text as pdftotext extracts it from a PDF, into the model.
 *
 * Pages are separated by form feeds. Per page, a page-number line at the
 * top or bottom is dropped, and so is a running head: a first or last line
 * that recurs (digits ignored) on at least three pages. Footnotes are the
 * numbered lines at the foot of a page whose number also appears as a
 * marker glued to a word in the page's text ("Toad Lane.3"); markers and
 * notes are paired per page. The pages are then joined: a word hyphenated
 * across a line break is rejoined when the next line starts in lower case,
 * and paragraphs are rebuilt from blank lines, indentation and short lines
 * that end a sentence. Headings: "PART ONE", "Chapter 2: Title", letter-
 * spaced small capitals such as "C HAPTE R T WO" (matched with the spaces
 * squeezed out), spelled-out, roman or arabic numbers, a title on the line
 * below, and the usual front and back matter words. Without form feeds the
 * same rules run over the whole text as one page.
 *
 * Also (issue 14): a first page of a few short lines is a title page (the
 * book's title, "by NAME" its author; else the file's name titles it);
 * letter-spaced capitals are joined by the word they spell ("E PI LO GUE"
 * is the matter heading "Epilogue"; "C H A P T E R  T W O" splits at the
 * wider gaps); "1. The Regime" under "Chapter 1" loses the repeated number;
 * a chapter's heading again at the top of a later page is its running
 * head; a run of date lines each followed by one or two short lines, with
 * the column headings repeated per page, becomes one table; numbers glued
 * to words that ascend through a chapter become superscript markers; and a
 * short line under a chapter heading that describes a picture (no final
 * stop, body text after it) becomes a caption.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "books/internal.h"
#include "util/err.h"
#include "util/vec.h"

#define MAX_LINES 2000000

struct line {
	char *s; /* trimmed of trailing blanks; NULL = dropped */
	int page;
	int indent; /* leading blanks */
	int table;  /* > 0: a rebuilt table (doc.tables[table - 1]) starts
		     * here */
};

/* A table rebuilt from a run of short lines (see tables()). */
struct table {
	int ncols, nrows; /* nrows includes the header row, if any */
	bool header;
	char **cell; /* nrows * ncols, NULL = empty */
};

struct doc {
	struct line *v;
	size_t n, cap;
	int npages;
	struct bk_notes notes;
	int width;	      /* typical line length */
	char *title, *author; /* from a title page, or NULL */
	struct table *tables;
	int ntables;
};

static void add_line(struct doc *d, const char *s, size_t n, int page)
{
	struct line *l;
	int ind = 0;

	if (d->n >= MAX_LINES)
		return;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\r' || s[n - 1] == '\t'))
		n--;
	while ((size_t)ind < n && (s[ind] == ' ' || s[ind] == '\t'))
		ind++;
	d->v = vec_reserve(d->v, d->n, &d->cap, sizeof(*d->v));
	l = &d->v[d->n++];
	l->s = xstrndup(s + ind, n - (size_t)ind);
	l->page = page;
	l->indent = ind;
	l->table = 0;
}

static bool blank(const struct line *l)
{
	return !l->s || !l->s[0];
}

static void drop(struct line *l)
{
	free(l->s);
	l->s = NULL;
}

/* "12", "- 12 -", "xiv", "Page 12" */
static bool page_number_line(const char *s)
{
	size_t i = 0, digits = 0, roman = 0, n = strlen(s);

	if (!strncasecmp(s, "page ", 5))
		i = 5;
	for (; i < n; i++) {
		char c = s[i];

		if (isdigit((unsigned char)c))
			digits++;
		else if (strchr("ivxlcIVXLC", c))
			roman++;
		else if (c != '-' && c != ' ' && c != '[' && c != ']')
			return false;
	}
	return (digits && !roman && digits <= 4) ||
	       (roman && !digits && roman <= 7 && n <= 9);
}

/* Lower case, digits and punctuation removed, single spaces. */
static char *norm(const char *s)
{
	struct buf b = BUF_INIT;
	bool sp = false;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalpha(c) || c >= 0x80) {
			if (sp && b.len)
				buf_addch(&b, ' ');
			sp = false;
			buf_addch(&b, (char)tolower(c));
		} else {
			sp = true;
		}
	}
	return buf_detach(&b, NULL);
}

/* First and last non-blank line of each page. */
static void page_edges(struct doc *d, int page, size_t *first, size_t *last,
		       size_t from, size_t to)
{
	*first = *last = (size_t)-1;
	for (size_t i = from; i < to; i++)
		if (d->v[i].page == page && !blank(&d->v[i])) {
			if (*first == (size_t)-1)
				*first = i;
			*last = i;
		}
}

struct count {
	char *key;
	int n;
};

static int count_of(struct count *c, size_t nc, const char *k)
{
	for (size_t i = 0; i < nc; i++)
		if (!strcmp(c[i].key, k))
			return c[i].n;
	return 0;
}

static void strip_heads(struct doc *d, size_t *pstart)
{
	struct count *c = NULL;
	size_t nc = 0;

	/* page numbers at the edges (twice: number under a running head) */
	for (int pass = 0; pass < 2; pass++)
		for (int p = 0; p < d->npages; p++) {
			size_t f, l;

			page_edges(d, p, &f, &l, pstart[p], pstart[p + 1]);
			if (f != (size_t)-1 && page_number_line(d->v[f].s))
				drop(&d->v[f]);
			if (l != (size_t)-1 && l != f &&
			    page_number_line(d->v[l].s))
				drop(&d->v[l]);
		}
	if (d->npages < 3)
		return;
	/* running heads: edge lines that recur on three or more pages */
	for (int p = 0; p < d->npages; p++) {
		size_t e[2];

		page_edges(d, p, &e[0], &e[1], pstart[p], pstart[p + 1]);
		for (int k = 0; k < 2; k++) {
			char *key;
			bool found = false;

			if (e[k] == (size_t)-1 || (k && e[1] == e[0]))
				continue;
			key = norm(d->v[e[k]].s);
			for (size_t i = 0; i < nc; i++)
				if (!strcmp(c[i].key, key)) {
					c[i].n++;
					found = true;
				}
			if (!found && key[0]) {
				c = xrealloc(c, (nc + 1) * sizeof(*c));
				c[nc].key = key;
				c[nc++].n = 1;
			} else {
				free(key);
			}
		}
	}
	for (int p = 0; p < d->npages; p++) {
		size_t e[2];

		page_edges(d, p, &e[0], &e[1], pstart[p], pstart[p + 1]);
		for (int k = 0; k < 2; k++) {
			char *key;

			if (e[k] == (size_t)-1 || !d->v[e[k]].s)
				continue;
			key = norm(d->v[e[k]].s);
			if (count_of(c, nc, key) >= 3 &&
			    strlen(d->v[e[k]].s) < 90)
				drop(&d->v[e[k]]);
			free(key);
		}
	}
	for (size_t i = 0; i < nc; i++)
		free(c[i].key);
	free(c);
}

/* ---- footnotes ---- */

/* A note line: "12 Text" or "12. Text"; returns the number, else 0. */
/* The value of a superscript digit (U+00B9, U+00B2, U+00B3, U+2070,
 * U+2074..U+2079) at s, with its length in *len; -1 if none. */
static int sup_digit(const char *str, size_t *len)
{
	const unsigned char *s = (const unsigned char *)str;

	if (s[0] == 0xc2 && (s[1] == 0xb9 || s[1] == 0xb2 || s[1] == 0xb3)) {
		*len = 2;
		return s[1] == 0xb9 ? 1 : s[1] == 0xb2 ? 2 : 3;
	}
	if (s[0] == 0xe2 && s[1] == 0x81 &&
	    (s[2] == 0xb0 || (s[2] >= 0xb4 && s[2] <= 0xb9))) {
		*len = 3;
		return s[2] == 0xb0 ? 0 : s[2] - 0xb0;
	}
	return -1;
}

/* The number n written in superscript digits into out. */
static void sup_number(int n, char *out, size_t outlen)
{
	static const char *const D[] = {
		"\xe2\x81\xb0", "\xc2\xb9",	"\xc2\xb2",	"\xc2\xb3",
		"\xe2\x81\xb4", "\xe2\x81\xb5", "\xe2\x81\xb6", "\xe2\x81\xb7",
		"\xe2\x81\xb8", "\xe2\x81\xb9"};
	char digits[8];
	size_t k = 0;

	snprintf(digits, sizeof(digits), "%d", n);
	out[0] = '\0';
	for (const char *d = digits; *d && k + 4 < outlen; d++) {
		strcat(out, D[*d - '0']);
		k = strlen(out);
	}
}

/* A note line: "12 Text", "12. Text" or "¹² Text"; returns the number,
 * else 0. */
static int note_line(const char *s, size_t *text_off)
{
	int n = 0, d;
	size_t i = 0, l, digits = 0;

	while (isdigit((unsigned char)s[i]) && i < 3)
		n = n * 10 + (s[i++] - '0');
	if (!i)
		while (digits < 3 && (d = sup_digit(s + i, &l)) >= 0) {
			n = n * 10 + d;
			i += l;
			digits++;
		}
	if (!i || !n)
		return 0;
	if (s[i] == '.')
		i++;
	if (s[i] != ' ')
		return 0;
	while (s[i] == ' ')
		i++;
	if (!s[i])
		return 0;
	*text_off = i;
	return n;
}

/* Position of marker n glued to a word in s ("word.3 "), or -1. */
static long find_marker(const char *s, int n, size_t *mlen)
{
	char num[8], sup[32];
	size_t l = (size_t)snprintf(num, sizeof(num), "%d", n);
	const char *p = s;

	/* superscript digits need no glue, only no further digit */
	sup_number(n, sup, sizeof(sup));
	for (p = s; (p = strstr(p, sup)); p++) {
		size_t sl = strlen(sup), dl;

		if (p > s && sup_digit(p + sl, &dl) < 0 &&
		    !(p - s >= 2 && sup_digit(p - 2, &dl) >= 0 && dl == 2) &&
		    !(p - s >= 3 && sup_digit(p - 3, &dl) >= 0 && dl == 3)) {
			*mlen = sl;
			return (long)(p - s);
		}
	}
	p = s;

	while ((p = strstr(p, num))) {
		size_t at = (size_t)(p - s);
		char before = at ? s[at - 1] : ' ';
		char after = p[l];

		if (at &&
		    (isalpha((unsigned char)before) ||
		     strchr(".,;:!?'\")]", before) ||
		     (unsigned char)before >= 0x80) &&
		    !isdigit((unsigned char)after) &&
		    (after == '\0' || after == ' ' ||
		     strchr(".,;:!?)", after)) &&
		    !(at >= 1 && isdigit((unsigned char)s[at - 1]))) {
			*mlen = l;
			return (long)at;
		}
		p += l;
	}
	return -1;
}

/* Replaces marker n on the page's lines by a sentinel for key; true if
 * one was found. */
static bool mark(struct doc *d, size_t from, size_t to, int n, const char *key,
		 struct bk_chapter *refs_owner, int *refidx)
{
	(void)refs_owner;
	for (size_t i = from; i < to; i++) {
		size_t ml;
		long at;
		struct buf b = BUF_INIT;

		if (blank(&d->v[i]))
			continue;
		at = find_marker(d->v[i].s, n, &ml);
		if (at < 0)
			continue;
		buf_add(&b, d->v[i].s, (size_t)at);
		/* the label travels in the sentinel text until chapters
		 * exist; see build() */
		buf_addf(&b, "\xee\x80\x82%s\xee\x80\x83", key);
		buf_adds(&b, d->v[i].s + at + (long)ml);
		free(d->v[i].s);
		d->v[i].s = buf_detach(&b, NULL);
		(*refidx)++;
		return true;
	}
	return false;
}

static void footnotes(struct doc *d, size_t *pstart)
{
	int refidx = 0;

	for (int p = 0; p < d->npages; p++) {
		size_t from = pstart[p], to = pstart[p + 1];
		size_t end = to;

		/* blocks of numbered lines at the foot, bottom up */
		while (end > from) {
			size_t s = end, k, off;
			int num;

			while (s > from && blank(&d->v[s - 1]))
				s--;
			end = s;
			while (s > from && !blank(&d->v[s - 1]))
				s--;
			if (s == end)
				break;
			/* the block must start with a note line whose marker
			 * is in the body above */
			num = note_line(d->v[s].s, &off);
			if (!num)
				break;
			{
				char key[32];
				size_t ml;
				bool found = false;

				snprintf(key, sizeof(key), "p%d-%d", p, num);
				for (size_t i = from; i < s && !found; i++)
					found = !blank(&d->v[i]) &&
						find_marker(d->v[i].s, num,
							    &ml) >= 0;
				if (!found)
					break;
			}
			/* split the block into notes */
			for (k = s; k < end;) {
				struct buf t = BUF_INIT, h = BUF_INIT;
				char key[32];
				size_t j = k + 1;

				num = note_line(d->v[k].s, &off);
				if (!num) {
					k++;
					continue;
				}
				buf_adds(&t, d->v[k].s + off);
				while (j < end && !note_line(d->v[j].s, &off)) {
					size_t tl = t.len;

					if (tl && t.data[tl - 1] == '-' &&
					    islower((unsigned char)d->v[j]
							    .s[0])) {
						t.data[--t.len] = '\0';
					} else {
						buf_addch(&t, ' ');
					}
					buf_adds(&t, d->v[j].s);
					j++;
				}
				snprintf(key, sizeof(key), "p%d-%d", p, num);
				if (mark(d, from, s, num, key, NULL, &refidx)) {
					html_escape(&h, t.data, t.len);
					bk_notes_add(&d->notes, key,
						     buf_str(&t), buf_str(&h));
				}
				buf_free(&t);
				buf_free(&h);
				for (size_t x = k; x < j; x++)
					drop(&d->v[x]);
				k = j;
			}
			end = s;
		}
	}
}

/* ---- headings ---- */

/* Spaces removed, upper case; for letter-spaced headings. */
static char *squash(const char *s)
{
	struct buf b = BUF_INIT;

	for (; *s; s++)
		if (!isspace((unsigned char)*s))
			buf_addch(&b, (char)toupper((unsigned char)*s));
	return buf_detach(&b, NULL);
}

static bool all_caps(const char *s)
{
	bool letter = false;

	for (; *s; s++) {
		if (islower((unsigned char)*s))
			return false;
		if (isupper((unsigned char)*s))
			letter = true;
	}
	return letter;
}

/* Letter-spacing with wider gaps between words: "C H A P T E R  T W O"
 * (most tokens single letters, words separated by two or more spaces)
 * -> "CHAPTER TWO"; NULL when s is not like that. */
static char *unspace_gaps(const char *s)
{
	struct buf b = BUF_INIT;
	int singles = 0, tokens = 0;
	bool gap = false;

	for (const char *p = s; *p;) {
		const char *q = p;

		while (*q && *q != ' ')
			q++;
		if (q > p) {
			tokens++;
			singles += q - p == 1;
		}
		if (*q == ' ' && q[1] == ' ')
			gap = true;
		p = q;
		while (*p == ' ')
			p++;
	}
	if (!gap || tokens < 4 || singles * 4 < tokens * 3)
		return NULL;
	for (const char *p = s; *p; p++) {
		if (*p != ' ') {
			buf_addch(&b, *p);
		} else if (p[1] == ' ') {
			while (p[1] == ' ')
				p++;
			if (b.len)
				buf_addch(&b, ' ');
		}
	}
	return buf_detach(&b, NULL);
}

/* Undoes letter-spacing of small capitals: "T HE E QUITABLE" -> "THE
 * EQUITABLE": a one-letter token joins the token after it. */
static char *unspace(const char *s)
{
	struct buf b = BUF_INIT;
	char *copy, *save = NULL, *tok, *g = unspace_gaps(s);
	bool glue = false;
	int singles = 0, tokens = 0;

	if (g)
		return g;
	copy = xstrdup(s);

	for (tok = strtok_r(copy, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		tokens++;
		if (strlen(tok) == 1 && isalpha((unsigned char)tok[0]))
			singles++;
	}
	free(copy);
	copy = xstrdup(s);
	if (tokens < 2 || singles * 3 < tokens) {
		free(copy);
		return xstrdup(s);
	}
	save = NULL;
	for (tok = strtok_r(copy, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		if (b.len && !glue)
			buf_addch(&b, ' ');
		buf_adds(&b, tok);
		glue = strlen(tok) == 1 && isalpha((unsigned char)tok[0]);
	}
	free(copy);
	return buf_detach(&b, NULL);
}

enum hkind { H_NONE, H_PART, H_CHAPTER, H_MATTER };

/* Front and back matter headings: the letters a heading spells (spaces
 * removed, upper case) and its title, so that a letter-spaced heading is
 * named by the word it spells ("E PI LO GUE" -> "Epilogue"), not by its
 * pieces. */
static const struct {
	const char *key, *title;
} MATTER[] = {{"PREFACE", "Preface"},
	      {"FOREWORD", "Foreword"},
	      {"INTRODUCTION", "Introduction"},
	      {"EPILOGUE", "Epilogue"},
	      {"AFTERWORD", "Afterword"},
	      {"ACKNOWLEDGEMENTS", "Acknowledgements"},
	      {"ACKNOWLEDGMENTS", "Acknowledgments"},
	      {"PROLOGUE", "Prologue"},
	      {"CONCLUSION", "Conclusion"},
	      {"APPENDIX", "Appendix"},
	      {"BIBLIOGRAPHY", "Bibliography"},
	      {"GLOSSARY", "Glossary"},
	      {"CHRONOLOGY", "Chronology"},
	      {"TIMELINE", "Timeline"},
	      {"NOTES", "Notes"},
	      {"NOTEONSOURCES", "Note on Sources"},
	      {NULL, NULL}};

/* Classifies a line; sets *number and *title (malloc'd, may be NULL when
 * the title is on the next line). */
static enum hkind heading(const char *line, int *number, char **title)
{
	char *sq;
	size_t used, kw = 0;
	enum hkind k = H_NONE;

	*number = 0;
	*title = NULL;
	if (strlen(line) > 100)
		return H_NONE;
	sq = squash(line);
	if (!strncmp(sq, "PART", 4))
		k = H_PART, kw = 4;
	else if (!strncmp(sq, "CHAPTER", 7))
		k = H_CHAPTER, kw = 7;
	else if (!strncmp(sq, "BOOK", 4) && all_caps(line))
		k = H_PART, kw = 4;
	if (k != H_NONE) {
		size_t rest = strlen(sq + kw);
		/* the number, read from the squeezed form */
		int n = bk_parse_number(sq + kw, rest, &used);

		if (!n) {
			k = H_NONE;
		} else if (used == rest) {
			*number = n; /* title on the next line */
		} else {
			/* "Chapter 2: The Store" (not letter-spaced) */
			const char *p = line;
			size_t u2;
			int n2;

			while (*p && !isspace((unsigned char)*p))
				p++;
			while (isspace((unsigned char)*p))
				p++;
			n2 = bk_parse_number(p, strlen(p), &u2);
			if (n2 && (p[u2] == ':' || p[u2] == '.' ||
				   p[u2] == ' ' || p[u2] == '\0')) {
				*number = n2;
				p += u2;
				while (*p == ':' || *p == '.' || *p == ' ' ||
				       *p == '-')
					p++;
				if (*p)
					*title = xstrdup(p);
			} else {
				k = H_NONE;
			}
		}
		free(sq);
		return k;
	}
	if (all_caps(line) || strlen(line) < 40) {
		for (size_t i = 0; MATTER[i].key; i++)
			if (!strcmp(sq, MATTER[i].key)) {
				*title = xstrdup(MATTER[i].title);
				free(sq);
				return H_MATTER;
			}
		if (k == H_NONE && all_caps(line) &&
		    (!strncmp(sq, "NOTESON", 7) || !strncmp(sq, "ANOTEON", 7)))
			k = H_MATTER;
	}
	if (k == H_MATTER) {
		char *u = unspace(line);
		*title = bk_title_case(u);
		free(u);
	}
	free(sq);
	return k;
}

static const char *const ORD[] = {NULL,	  "One",    "Two",   "Three", "Four",
				  "Five", "Six",    "Seven", "Eight", "Nine",
				  "Ten",  "Eleven", "Twelve"};

/* ---- paragraphs ---- */

static int median_width(struct doc *d)
{
	int hist[201] = {0};
	size_t total = 0, half;
	int acc = 0;

	for (size_t i = 0; i < d->n; i++)
		if (!blank(&d->v[i])) {
			size_t l = strlen(d->v[i].s);
			hist[l > 200 ? 200 : l]++;
			total++;
		}
	half = total / 2;
	for (int w = 0; w <= 200; w++) {
		acc += hist[w];
		if ((size_t)acc > half)
			return w;
	}
	return 70;
}

/* Replaces the label sentinels (U+E002 key U+E003) of a paragraph by
 * reference sentinels on ch. */
static char *refs_to_chapter(struct bk_chapter *ch, const char *s)
{
	struct buf b = BUF_INIT;

	while (*s) {
		const char *o = strstr(s, "\xee\x80\x82");
		const char *c;
		char key[64];
		int idx;

		if (!o) {
			buf_adds(&b, s);
			break;
		}
		buf_add(&b, s, (size_t)(o - s));
		c = strstr(o + 3, "\xee\x80\x83");
		if (!c) {
			s = o + 3;
			continue;
		}
		snprintf(key, sizeof(key), "%.*s", (int)(c - o - 3), o + 3);
		idx = bk_chapter_add_ref(ch, key, "");
		if (idx >= 0)
			buf_addf(&b, "\xee\x80\x80%d\xee\x80\x81", idx);
		s = c + 3;
	}
	return buf_detach(&b, NULL);
}

struct builder {
	struct bk_book *b;
	struct bk_chapter *ch;
	struct buf para;
	bool in_part; /* inside a titled part */
	bool numbered_seen;
	int marker, book_marker; /* last glued note marker: chapter, book */
	long caption;		 /* item that may be a caption, or -1 */
};

/* A number glued to the end of a word or its punctuation at s[j]
 * ("advisor.1 ", "power,2", "1906.3 Nothing"): its value and length, else
 * 0. After a digit and a point or comma ("2.1 per cent") only when a new
 * sentence follows. */
static int glued_number(const char *s, size_t j, size_t *len)
{
	size_t k = j;
	int n = 0;
	unsigned char before = j ? (unsigned char)s[j - 1] : ' ';

	if (!j || !(isalpha(before) || before >= 0x80 ||
		    strchr(".,;:!?'\")]", before)))
		return 0;
	while (isdigit((unsigned char)s[k]) && k - j < 3)
		n = n * 10 + (s[k++] - '0');
	if (k == j || isdigit((unsigned char)s[k]) ||
	    isalpha((unsigned char)s[k]) || (unsigned char)s[k] >= 0x80)
		return 0;
	if (s[k] && !strchr(" \n.,;:!?)", s[k]))
		return 0;
	if ((before == '.' || before == ',') && j >= 2 &&
	    isdigit((unsigned char)s[j - 2])) {
		size_t x = k;

		while (s[x] == ' ' || s[x] == '\n')
			x++;
		if (x == k || !isupper((unsigned char)s[x]))
			return 0;
	}
	*len = k - j;
	return n;
}

/* Footnote markers glued to words, recognised when their numbers ascend
 * through the chapter (1, 2, 3 ... or continuing the book's count), are
 * written as superscript digits. */
static void glued_markers(struct builder *B)
{
	struct buf out = BUF_INIT;
	const char *s = buf_str(&B->para);
	size_t i = 0, len;

	while (s[i]) {
		int n = isdigit((unsigned char)s[i]) &&
					(i == 0 ||
					 !isdigit((unsigned char)s[i - 1]))
				? glued_number(s, i, &len)
				: 0;

		if (n && (n == B->marker + 1 ||
			  (!B->marker && n == B->book_marker + 1))) {
			char sup[32];

			sup_number(n, sup, sizeof(sup));
			buf_adds(&out, sup);
			B->marker = B->book_marker = n;
			i += len;
			continue;
		}
		buf_addch(&out, s[i++]);
	}
	buf_reset(&B->para);
	buf_add(&B->para, out.data ? out.data : "", out.len);
	buf_free(&out);
}

/* A caption: one short line that describes a picture, right under the
 * chapter's heading and followed by body text; it does not end a sentence
 * (no final stop) and has no note marker. */
static bool caption_like(const char *s)
{
	size_t n = strlen(s);
	int words = 1;

	if (n < 12 || n > 120 || strchr(s, '\n') ||
	    !isupper((unsigned char)s[0]) || strchr(".:;,!?", s[n - 1]) ||
	    strstr(s, "\xee\x80\x82"))
		return false;
	for (size_t i = 0; i < n; i++)
		words += s[i] == ' ';
	return words >= 3;
}

static void flush_para(struct builder *B)
{
	struct bk_builder bb;
	char *t;

	if (!B->para.len)
		return;
	if (!B->ch) {
		bk_warn(B->b, "text before the first heading was kept as "
			      "\"Opening pages\"");
		B->ch = bk_book_add_chapter(B->b, "Opening pages", 0);
	}
	glued_markers(B);
	/* the caption candidate is one when body text follows it */
	if (B->caption >= 0) {
		if ((size_t)B->caption < B->ch->nitems &&
		    (strchr(buf_str(&B->para), '\n') || B->para.len > 200)) {
			struct bk_item *it = &B->ch->items[B->caption];

			it->type = BK_CAPTION;
			snprintf(it->tag, sizeof(it->tag), "figcaption");
			it->pre = xstrdup("<figure class=\"caption\">");
			it->post = xstrdup("</figure>");
		}
		B->caption = -1;
	}
	t = refs_to_chapter(B->ch, buf_str(&B->para));
	bb_init(&bb, B->ch);
	if (B->ch->nitems == 0) {
		/* the chapter's heading block */
		bb_open(&bb, BK_HEADING, "h1", NULL);
		bb_text(&bb, B->ch->title, strlen(B->ch->title));
		bb_close(&bb);
	}
	if (B->ch->nitems == 1 && caption_like(t))
		B->caption = (long)B->ch->nitems;
	bb_open(&bb, BK_PARAGRAPH, "p", NULL);
	bb_text(&bb, t, strlen(t));
	bb_close(&bb);
	free(t);
	buf_reset(&B->para);
}

static void emit_table(struct builder *B, const struct table *t)
{
	struct bk_builder bb;

	if (!B->ch) {
		bk_warn(B->b, "text before the first heading was kept as "
			      "\"Opening pages\"");
		B->ch = bk_book_add_chapter(B->b, "Opening pages", 0);
	}
	B->caption = -1;
	bb_init(&bb, B->ch);
	if (B->ch->nitems == 0) {
		bb_open(&bb, BK_HEADING, "h1", NULL);
		bb_text(&bb, B->ch->title, strlen(B->ch->title));
		bb_close(&bb);
	}
	bb_markup(&bb, "<div class=\"table-wrap\"><table>");
	for (int r = 0; r < t->nrows; r++) {
		bool th = t->header && r == 0;

		if (r == 0)
			bb_markup(&bb, th ? "<thead>" : "<tbody>");
		bb_markup(&bb, "<tr>");
		for (int c = 0; c < t->ncols; c++) {
			const char *x = t->cell[r * t->ncols + c];

			bb_open(&bb, BK_CELL, th ? "th" : "td", NULL);
			if (x)
				bb_text(&bb, x, strlen(x));
			bb_close(&bb);
		}
		bb_markup(&bb, "</tr>");
		if (th)
			bb_markup(&bb, "</thead><tbody>");
	}
	bb_markup(&bb, "</tbody></table></div>");
}

static void new_chapter(struct builder *B, const char *title, int number)
{
	struct bk_builder bb;

	flush_para(B);
	if (bk_book_nchapters(B->b) >= BK_MAX_CHAPTERS)
		return;
	if (!number && B->in_part && B->numbered_seen) {
		/* unnumbered after numbered chapters: back matter */
		bk_book_add_part(B->b, NULL);
		B->in_part = false;
	}
	if (number)
		B->numbered_seen = true;
	B->marker = 0;
	B->caption = -1;
	B->ch = bk_book_add_chapter(B->b, title, number);
	bb_init(&bb, B->ch);
	bb_open(&bb, BK_HEADING, "h1", NULL);
	bb_text(&bb, title, strlen(title));
	bb_close(&bb);
}

/* A plausible title line (for the line after "CHAPTER TWO"). */
static bool title_like(const char *s)
{
	size_t n = strlen(s);
	int dummy;
	char *t;
	enum hkind k;

	if (!n || n > 90 || s[n - 1] == '.' || s[n - 1] == ',')
		return false;
	k = heading(s, &dummy, &t);
	free(t);
	return k == H_NONE;
}

/* A blank line next to a page break (around a dropped running head or
 * page number) does not end a paragraph. */
static bool page_edge_blank(const struct doc *d, size_t i)
{
	int page = d->v[i].page;
	size_t j;

	for (j = i; j-- > 0;)
		if (d->v[j].s && d->v[j].s[0])
			break;
	if (j == (size_t)-1 || d->v[j].page != page)
		return true;
	for (j = i + 1; j < d->n; j++)
		if (d->v[j].s && d->v[j].s[0])
			break;
	return j == d->n || d->v[j].page != page;
}

/* ---- tables ---- */

/* A date cell: "1905", "1860s", "c. 1480", "1462-1505", "1462–1505". */
static bool date_cell(const char *s)
{
	size_t i = 0, d = 0, n = strlen(s);

	if (n < 3 || n > 16)
		return false;
	if (!strncmp(s, "c. ", 3))
		i = 3;
	while (isdigit((unsigned char)s[i]))
		i++, d++;
	if (d < 3 || d > 4)
		return false;
	if (s[i] == 's')
		i++;
	if (!s[i])
		return true;
	if (s[i] == '-')
		i++;
	else if (!strncmp(s + i, "\xe2\x80\x93", 3) ||
		 !strncmp(s + i, "\xe2\x80\x94", 3))
		i += 3;
	else
		return false;
	d = 0;
	while (isdigit((unsigned char)s[i]))
		i++, d++;
	return d >= 1 && d <= 4 && !s[i];
}

/* A short line that can be a table cell (not a sentence of body text). */
static bool cell_like(const char *s)
{
	size_t n = strlen(s);
	int k, num;
	char *t = NULL;

	if (!n || n > 80)
		return false;
	k = heading(s, &num, &t);
	free(t);
	return k == H_NONE;
}

/*
 * A timeline set in columns comes out of pdftotext as a run of short lines
 * that cycles through the same pattern: a date, then one or two event
 * columns, with the column headings (and the section's heading) repeated at
 * the top of every page. Such a run (four rows or more) is rebuilt as one
 * table: the headings once as its header row, a row per date.
 */
/* Line L[k]'s text, "" once a table took it. */
static const char *at(const struct doc *d, const size_t *L, size_t k)
{
	return d->v[L[k]].s ? d->v[L[k]].s : "";
}

static void tables(struct doc *d)
{
	size_t *L = xmalloc((d->n + 1) * sizeof(size_t)), nl = 0;

	for (size_t i = 0; i < d->n; i++)
		if (!blank(&d->v[i]))
			L[nl++] = i;
	for (size_t p = 0; p < nl; p++) {
		size_t h0 = p, q, start, nrows = 0, cap = 0;
		int ncols, maxev = 0, nh = 0;
		const char *head[4] = {NULL};
		const char *own = NULL; /* the section heading above */
		const char **cells = NULL;

		if (!date_cell(at(d, L, p)))
			continue;
		/* the column headings: short lines right above */
		while (h0 > 0 && p - h0 < 3 && cell_like(at(d, L, h0 - 1)) &&
		       !date_cell(at(d, L, h0 - 1)))
			h0--;
		nh = (int)(p - h0);
		if (nh == 1)
			h0 = p, nh = 0; /* one line is no header row */
		for (int k = 0; k < nh; k++)
			head[k] = at(d, L, h0 + (size_t)k);
		if (h0 > 0 && at(d, L, h0 - 1)[0] &&
		    !cell_like(at(d, L, h0 - 1)) &&
		    strlen(at(d, L, h0 - 1)) < 60)
			own = at(d, L, h0 - 1);
		ncols = nh ? nh : 3;
		/* the rows */
		q = p;
		while (q < nl) {
			const char *s = at(d, L, q);
			int ev = 0;

			if (own && !strcmp(s, own)) {
				q++; /* the heading repeated on a new page */
				continue;
			}
			if (nh && !strcmp(s, head[0])) {
				int k = 0;

				while (k < nh && q + (size_t)k < nl &&
				       !strcmp(at(d, L, q + (size_t)k),
					       head[k]))
					k++;
				if (k == nh) {
					q += (size_t)k;
					continue;
				}
			}
			if (!date_cell(s))
				break;
			while (q + 1 + (size_t)ev < nl && ev < ncols - 1 &&
			       cell_like(at(d, L, q + 1 + (size_t)ev)) &&
			       !date_cell(at(d, L, q + 1 + (size_t)ev)) &&
			       !(own &&
				 !strcmp(at(d, L, q + 1 + (size_t)ev), own)) &&
			       !(nh && !strcmp(at(d, L, q + 1 + (size_t)ev),
					       head[0])))
				ev++;
			if (!ev)
				break;
			cells = vec_reserve(cells, nrows, &cap,
					    3 * sizeof(char *));
			for (int c = 0; c < 3; c++)
				cells[nrows * 3 + (size_t)c] =
					c <= ev ? at(d, L, q + (size_t)c)
						: NULL;
			nrows++;
			if (ev > maxev)
				maxev = ev;
			q += 1 + (size_t)ev;
		}
		if (nrows < 4 || (nh && maxev > nh - 1)) {
			free(cells);
			continue;
		}
		if (!nh)
			ncols = 1 + maxev;
		/* the table replaces the lines from its header to its end */
		{
			struct table *t;

			d->tables =
				xrealloc(d->tables,
					 (size_t)(d->ntables + 1) * sizeof(*t));
			t = &d->tables[d->ntables++];
			t->ncols = ncols;
			t->header = nh > 0;
			t->nrows = (int)nrows + (nh > 0);
			t->cell = xcalloc((size_t)t->nrows * (size_t)ncols,
					  sizeof(char *));
			for (int k = 0; k < nh; k++)
				t->cell[k] = xstrdup(head[k]);
			for (size_t r = 0; r < nrows; r++)
				for (int c = 0; c < ncols && c < 3; c++)
					if (cells[r * 3 + (size_t)c])
						t->cell[(r + (nh > 0)) *
								(size_t)ncols +
							(size_t)c] =
							xstrdup(cells[r * 3 +
								      (size_t)c]);
			free(cells);
			start = h0;
			for (size_t k = start + 1; k < q; k++)
				drop(&d->v[L[k]]);
			d->v[L[start]].table = d->ntables;
			/* the blank lines inside go too */
			for (size_t i = L[start] + 1; i < L[q - 1]; i++)
				if (d->v[i].s && !d->v[i].s[0])
					drop(&d->v[i]);
			p = q - 1;
		}
	}
	free(L);
}

/* No text before line i on its page (a heading there may be a running
 * head). */
static bool first_on_page(const struct doc *d, size_t i)
{
	for (size_t j = i; j-- > 0 && d->v[j].page == d->v[i].page;)
		if (!blank(&d->v[j]))
			return false;
	return true;
}

/* "1. The Regime" under "Chapter 1": the title without the number it
 * repeats (the contents show the number once). */
static void strip_own_number(char **title, int number)
{
	const char *t = *title;
	size_t used;
	int n;

	if (!number || !isdigit((unsigned char)t[0]))
		return;
	n = bk_parse_number(t, strlen(t), &used);
	if (n != number || !t[used] || !strchr(".:)", t[used]) ||
	    t[used + 1] != ' ')
		return;
	t += used + 1;
	while (*t == ' ')
		t++;
	if (*t) {
		char *rest = xstrdup(t);

		free(*title);
		*title = rest;
	}
}

/* A title page: the first of several pages, a few short lines and no
 * heading or running text. Its first line is the title; "by NAME" (or
 * "by" above a line) names the author. The page is dropped. */
static void title_page(struct doc *d, const size_t *pstart)
{
	size_t n = 0, by = (size_t)-1, first = (size_t)-1;

	if (d->npages < 2)
		return;
	for (size_t i = pstart[0]; i < pstart[1]; i++) {
		const char *s = d->v[i].s;
		size_t l;
		int num;
		char *t = NULL;
		enum hkind k;

		if (blank(&d->v[i]))
			continue;
		l = strlen(s);
		k = heading(s, &num, &t);
		free(t);
		if (++n > 8 || l > 80 || k != H_NONE ||
		    (l > 1 && s[l - 1] == '.' && s[l - 2] != '.'))
			return;
		if (first == (size_t)-1)
			first = i;
		if (!strcasecmp(s, "by") || !strncasecmp(s, "by ", 3))
			by = i;
	}
	if (first == (size_t)-1)
		return;
	{
		char *u = unspace(d->v[first].s);

		d->title = all_caps(u) ? bk_title_case(u) : xstrdup(u);
		free(u);
	}
	if (by != (size_t)-1) {
		const char *a = d->v[by].s + 2;

		while (*a == ' ')
			a++;
		if (!*a)
			for (size_t j = by + 1; j < pstart[1] && !*a; j++)
				if (!blank(&d->v[j]))
					a = d->v[j].s;
		if (*a)
			d->author = all_caps(a) ? bk_title_case(a) : xstrdup(a);
	}
	for (size_t i = pstart[0]; i < pstart[1]; i++)
		drop(&d->v[i]);
}

static void build(struct doc *d, struct bk_book *b)
{
	struct builder B = {.b = b, .caption = -1};

	d->width = median_width(d);
	for (size_t i = 0; i < d->n; i++) {
		struct line *l = &d->v[i];
		size_t nx;
		int number;
		char *title;
		enum hkind k;

		if (!l->s)
			continue; /* dropped (page furniture, notes) */
		if (l->table) {
			flush_para(&B);
			emit_table(&B, &d->tables[l->table - 1]);
			continue;
		}
		if (!l->s[0]) {
			if (!page_edge_blank(d, i))
				flush_para(&B);
			continue;
		}
		/* paragraph breaks: indentation after an unindented line,
		 * or a short previous line that ends a sentence */
		if (B.para.len) {
			const char *prev = B.para.data;
			size_t pl = B.para.len;
			size_t last_line = 0;

			for (size_t x = pl; x > 0; x--)
				if (prev[x - 1] == '\n') {
					last_line = x;
					break;
				}
			{
				size_t ll = pl - last_line;
				char end = prev[pl - 1];
				bool sentence =
					strchr(".!?:\"')", end) ||
					(pl >= 3 &&
					 (unsigned char)prev[pl - 3] == 0xe2);

				if ((l->indent >= 2 && d->width > 20) ||
				    (sentence && (int)ll * 4 < d->width * 3))
					flush_para(&B);
			}
		}
		/* a heading starts a paragraph of its own, or a page (a
		 * paragraph does not run on into it) */
		k = B.para.len && !first_on_page(d, i)
			    ? H_NONE
			    : heading(l->s, &number, &title);
		if (k != H_NONE) {
			struct buf full = BUF_INIT;

			/* the title may be on the next non-blank line */
			if (!title && k != H_MATTER) {
				nx = i + 1;
				while (nx < d->n &&
				       (!d->v[nx].s || !d->v[nx].s[0]))
					nx++;
				if (nx < d->n && title_like(d->v[nx].s)) {
					char *u = unspace(d->v[nx].s);
					title = all_caps(u) ? bk_title_case(u)
							    : xstrdup(u);
					free(u);
					drop(&d->v[nx]);
				}
			} else if (title && all_caps(title)) {
				char *u = unspace(title);
				free(title);
				title = bk_title_case(u);
				free(u);
			}
			if (k == H_PART) {
				flush_para(&B);
				if (number > 0 && number <= 12)
					buf_addf(&full, "Part %s", ORD[number]);
				else
					buf_addf(&full, "Part %d", number);
				if (title)
					buf_addf(&full, ": %s", title);
				if (b->nparts < BK_MAX_PARTS)
					bk_book_add_part(b, full.data);
				B.in_part = true;
				B.ch = NULL;
			} else {
				if (title && k == H_CHAPTER)
					strip_own_number(&title, number);
				/* the chapter's heading again at the top of a
				 * later page: its running head */
				if (title && B.ch && B.ch->title &&
				    !strcasecmp(B.ch->title, title) &&
				    first_on_page(d, i) &&
				    bk_book_nchapters(b) > 0) {
					free(title);
					buf_free(&full);
					continue;
				}
				new_chapter(&B,
					    title ? title
						  : (number ? "Untitled"
							    : "Untitled"),
					    number);
				if (!title && number) {
					free(B.ch->title);
					buf_addf(&full, "Chapter %d", number);
					B.ch->title = xstrdup(full.data);
				}
			}
			buf_free(&full);
			free(title);
			continue;
		}
		if (B.para.len) {
			/* rejoin "co-" + "operation" across the break */
			if (B.para.data[B.para.len - 1] == '-' &&
			    B.para.len >= 2 &&
			    isalpha((unsigned char)
					    B.para.data[B.para.len - 2]) &&
			    islower((unsigned char)l->s[0])) {
				B.para.data[--B.para.len] = '\0';
			} else {
				buf_addch(&B.para, '\n');
			}
		}
		buf_adds(&B.para, l->s);
	}
	flush_para(&B);
	buf_free(&B.para);
	/* paragraphs keep '\n' between lines only to find the last line;
	 * bb_text folded them into spaces already */
}

int bk_import_text_mem(const char *data, size_t len, const char *slug,
		       struct bk_book **out, char *err, size_t errlen)
{
	struct doc d;
	struct bk_book *b;
	char *clean;
	size_t cl, i = 0, *pstart;
	int page = 0;

	*out = NULL;
	memset(&d, 0, sizeof(d));
	clean = bk_clean_utf8(data, len, &cl);
	/* U+E002/U+E003 are ours too */
	for (size_t k = 0; k + 2 < cl; k++)
		if ((unsigned char)clean[k] == 0xee &&
		    (unsigned char)clean[k + 1] == 0x80 &&
		    ((unsigned char)clean[k + 2] == 0x82 ||
		     (unsigned char)clean[k + 2] == 0x83))
			memcpy(clean + k, "\xef\xbf\xbd", 3);
	while (i < cl) {
		const char *s = clean + i;
		size_t n = 0;

		while (i + n < cl && s[n] != '\n' && s[n] != '\f')
			n++;
		add_line(&d, s, n, page);
		i += n;
		if (i < cl && clean[i] == '\f')
			page++;
		if (i < cl)
			i++;
	}
	free(clean);
	d.npages = page + 1;
	pstart = xcalloc((size_t)d.npages + 1, sizeof(size_t));
	for (size_t k = 0, p = 0; p <= (size_t)d.npages; p++) {
		while (k < d.n && d.v[k].page < (int)p)
			k++;
		pstart[p] = k;
	}
	title_page(&d, pstart);
	strip_heads(&d, pstart);
	footnotes(&d, pstart);
	tables(&d);
	b = bk_book_new();
	b->format = "text";
	b->slug = xstrdup(slug ? slug : "book");
	b->title = d.title ? d.title : xstrdup("Untitled");
	b->author = d.author ? d.author : xstrdup("");
	b->language = xstrdup("en");
	b->licence = xstrdup("");
	b->edition = xstrdup("1");
	build(&d, b);
	free(pstart);
	for (size_t k = 0; k < d.n; k++)
		free(d.v[k].s);
	free(d.v);
	for (int k = 0; k < d.ntables; k++) {
		for (int c = 0; c < d.tables[k].nrows * d.tables[k].ncols; c++)
			free(d.tables[k].cell[c]);
		free(d.tables[k].cell);
	}
	free(d.tables);
	if (!bk_book_nchapters(b)) {
		snprintf(err, errlen, "no text found");
		bk_notes_free(&d.notes);
		bk_book_free(b);
		return SCH_EINVAL;
	}
	bk_book_finish(b, &d.notes);
	bk_notes_free(&d.notes);
	*out = b;
	return 0;
}

int bk_import_text(const char *path, const char *slug, struct bk_book **out,
		   char *err, size_t errlen)
{
	char *data;
	size_t len;
	int rc = bk_read_file(path, BK_MAX_FILE, &data, &len);
	const char *base = strrchr(path, '/');
	char *stem, *dot, *sl;

	*out = NULL;
	if (rc) {
		snprintf(err, errlen, "%s: cannot read", path);
		return rc;
	}
	stem = xstrdup(base ? base + 1 : path);
	dot = strrchr(stem, '.');
	if (dot && dot != stem)
		*dot = '\0';
	sl = slug ? xstrdup(slug) : bk_slugify(stem);
	rc = bk_import_text_mem(data, len, sl, out, err, errlen);
	/* no title page: the file's name */
	if (!rc && !strcmp((*out)->title, "Untitled")) {
		for (char *p = stem; *p; p++)
			if (*p == '-' || *p == '_')
				*p = ' ';
		free((*out)->title);
		(*out)->title = bk_title_case(stem);
	}
	free(sl);
	free(stem);
	free(data);
	return rc;
}
