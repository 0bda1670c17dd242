/*
 * md.c - the canonical format: Markdown chapters (md4c) into blocks, the
 * book folder (book.json + chapter files) and the single Markdown file.
 *
 * md4c 0.4.8 has no footnote extension, so footnotes are handled around it:
 * bk_md_extract_notes() lifts every "[^label]: text" definition (with its
 * continuation lines) out of the source before parsing, and the chapter
 * builder replaces each "[^label]" reference outside code by a sentinel
 * that bk_chapter_finish() turns into a numbered note reference. Raw HTML in
 * the source is never passed through (MD_FLAG_NOHTML: it shows as text).
 */
#include <ctype.h>
#include <dirent.h>
#include <jansson.h>
#include <md4c.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "books/internal.h"
#include "util/err.h"
#include "util/utf8.h"
#include "util/vec.h"

#define MD_FLAGS                                                               \
	(MD_FLAG_TABLES | MD_FLAG_NOHTML | MD_FLAG_STRIKETHROUGH |             \
	 MD_FLAG_PERMISSIVEAUTOLINKS)

/* ---- footnote definitions and references ---- */

/* Length of "[^label]" at s (label without blanks or brackets), else 0. */
static size_t ref_at(const char *s, size_t n, size_t *lab_len)
{
	size_t i = 2;

	if (n < 4 || s[0] != '[' || s[1] != '^')
		return 0;
	while (i < n && i < 102 && s[i] != ']' && s[i] != '[' &&
	       !isspace((unsigned char)s[i]))
		i++;
	if (i >= n || s[i] != ']' || i == 2)
		return 0;
	*lab_len = i - 2;
	return i + 1;
}

static bool fence_line(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && i < 3 && s[i] == ' ')
		i++;
	return n - i >= 3 &&
	       (!strncmp(s + i, "```", 3) || !strncmp(s + i, "~~~", 3));
}

static bool blank_line(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isspace((unsigned char)s[i]))
			return false;
	return true;
}

/* A definition line: up to 3 spaces, [^label]:, returns the label length
 * and where the text starts. */
static bool def_line(const char *s, size_t n, size_t *lab_off, size_t *lab_len,
		     size_t *text_off)
{
	size_t i = 0, r;

	while (i < n && i < 3 && s[i] == ' ')
		i++;
	r = ref_at(s + i, n - i, lab_len);
	if (!r || i + r >= n || s[i + r] != ':')
		return false;
	*lab_off = i + 2;
	*text_off = i + r + 1;
	return true;
}

char *bk_md_extract_notes(const char *src, size_t len, struct bk_notes *notes,
			  size_t *outlen)
{
	struct buf out = BUF_INIT;
	size_t i = 0;
	bool fence = false;

	while (i < len) {
		const char *line = src + i;
		const char *nl = memchr(line, '\n', len - i);
		size_t ll = nl ? (size_t)(nl - line) : len - i;
		size_t next = i + ll + (nl ? 1 : 0);
		size_t lo, lab, to;

		if (fence_line(line, ll))
			fence = !fence;
		if (fence || !def_line(line, ll, &lo, &lab, &to)) {
			buf_add(&out, line, next - i);
			i = next;
			continue;
		}
		/* a definition: its text and continuation lines */
		struct buf note = BUF_INIT;
		char label[128];
		char *text, *html;

		snprintf(label, sizeof(label), "%.*s", (int)lab, line + lo);
		buf_add(&note, line + to, ll - to);
		i = next;
		while (i < len) {
			const char *l2 = src + i;
			const char *nl2 = memchr(l2, '\n', len - i);
			size_t l2l = nl2 ? (size_t)(nl2 - l2) : len - i;
			size_t nx = i + l2l + (nl2 ? 1 : 0);
			size_t a, b2, c;

			if (blank_line(l2, l2l)) {
				/* continues only if an indented line follows */
				const char *l3 = src + nx;
				if (nx < len && (l3[0] == '\t' ||
						 (len - nx >= 4 &&
						  !strncmp(l3, "    ", 4)))) {
					buf_addch(&note, '\n');
					i = nx;
					continue;
				}
				break;
			}
			if (def_line(l2, l2l, &a, &b2, &c) || l2[0] == '#' ||
			    fence_line(l2, l2l))
				break;
			buf_addch(&note, '\n');
			buf_add(&note, l2, l2l);
			i = nx;
		}
		bk_md_inline(buf_str(&note), note.len, &text, &html);
		bk_notes_add(notes, label, text, html);
		free(text);
		free(html);
		buf_free(&note);
		/* keep the line structure: a blank line where it stood */
		buf_addch(&out, '\n');
	}
	return buf_detach(&out, outlen);
}

/* Replaces references outside code by sentinels registered on ch. */
static char *mark_refs(struct bk_chapter *ch, const char *src, size_t len,
		       size_t *outlen)
{
	struct buf out = BUF_INIT;
	bool fence = false;
	size_t i = 0;

	while (i < len) {
		const char *line = src + i;
		const char *nl = memchr(line, '\n', len - i);
		size_t ll = nl ? (size_t)(nl - line) : len - i;
		size_t next = i + ll + (nl ? 1 : 0);
		size_t ticks = 0;

		if (fence_line(line, ll)) {
			fence = !fence;
			buf_add(&out, line, next - i);
			i = next;
			continue;
		}
		if (fence) {
			buf_add(&out, line, next - i);
			i = next;
			continue;
		}
		for (size_t k = 0; k < ll;) {
			size_t lab, r;

			if (line[k] == '`') {
				size_t run = 0;
				while (k + run < ll && line[k + run] == '`')
					run++;
				if (!ticks)
					ticks = run;
				else if (run == ticks)
					ticks = 0;
				buf_add(&out, line + k, run);
				k += run;
				continue;
			}
			if (!ticks && (k == 0 || line[k - 1] != '\\') &&
			    (r = ref_at(line + k, ll - k, &lab))) {
				char label[128], fb[140];
				int idx;

				snprintf(label, sizeof(label), "%.*s", (int)lab,
					 line + k + 2);
				snprintf(fb, sizeof(fb), "[^%s]", label);
				idx = bk_chapter_add_ref(ch, label, fb);
				if (idx >= 0)
					buf_addf(&out,
						 "\xee\x80\x80%d"
						 "\xee\x80\x81",
						 idx);
				else
					buf_add(&out, line + k, r);
				k += r;
				continue;
			}
			buf_addch(&out, line[k]);
			k++;
		}
		buf_add(&out, line + ll, next - i - ll);
		i = next;
	}
	return buf_detach(&out, outlen);
}

/* ---- md4c into the builder ---- */

struct mdctx {
	struct bk_builder bb;
	const char *img_base;
	int quote; /* blockquote depth */
	int depth;
	int in_p;   /* inside a paragraph */
	int img;    /* inside an image span (depth) */
	int nimg;   /* images in this paragraph */
	bool other; /* non-image content in this paragraph */
	char img_src[512];
	int link_ok[BK_MAX_DEPTH]; /* per open link: did we emit <a> */
	int nlinks;
};

static void attr_copy(const MD_ATTRIBUTE *a, char *out, size_t outlen)
{
	size_t n = a->size < outlen - 1 ? a->size : outlen - 1;

	if (n)
		memcpy(out, a->text, n); /* an empty link has no text at all */
	out[n] = '\0';
}

static int enter_block(MD_BLOCKTYPE type, void *detail, void *ud)
{
	struct mdctx *m = ud;
	struct bk_builder *bb = &m->bb;
	char tag[8];

	if (++m->depth > BK_MAX_DEPTH)
		return 0; /* keep parsing; deeper structure is flattened */
	switch (type) {
	case MD_BLOCK_DOC:
		break;
	case MD_BLOCK_QUOTE:
		m->quote++;
		bb_markup(bb, "<blockquote>");
		break;
	case MD_BLOCK_UL:
		bb_markup(bb, "<ul>");
		break;
	case MD_BLOCK_OL:
		bb_markup(bb, "<ol>");
		break;
	case MD_BLOCK_LI:
		bb_markup(bb, "<li>");
		break;
	case MD_BLOCK_HR:
		bb_markup(bb, "<hr>");
		break;
	case MD_BLOCK_H: {
		unsigned lvl = ((MD_BLOCK_H_DETAIL *)detail)->level;

		snprintf(tag, sizeof(tag), "h%u",
			 lvl < 1   ? 1
			 : lvl > 6 ? 6
				   : lvl);
		bb_open(bb, BK_HEADING, tag, NULL);
		break;
	}
	case MD_BLOCK_CODE:
		bb_open(bb, m->quote ? BK_QUOTE : BK_PARAGRAPH, "pre", NULL);
		bb->verbatim = true;
		break;
	case MD_BLOCK_HTML:
		bb_open(bb, BK_PARAGRAPH, "p", NULL);
		break;
	case MD_BLOCK_P:
		bb_open(bb, m->quote ? BK_QUOTE : BK_PARAGRAPH, "p", NULL);
		m->in_p = 1;
		m->nimg = 0;
		m->other = false;
		break;
	case MD_BLOCK_TABLE:
		bb_markup(bb, "<table>");
		break;
	case MD_BLOCK_THEAD:
		bb_markup(bb, "<thead>");
		break;
	case MD_BLOCK_TBODY:
		bb_markup(bb, "<tbody>");
		break;
	case MD_BLOCK_TR:
		bb_markup(bb, "<tr>");
		break;
	case MD_BLOCK_TH:
		bb_open(bb, BK_CELL, "th", NULL);
		break;
	case MD_BLOCK_TD:
		bb_open(bb, BK_CELL, "td", NULL);
		break;
	}
	return 0;
}

static int leave_block(MD_BLOCKTYPE type, void *detail, void *ud)
{
	struct mdctx *m = ud;
	struct bk_builder *bb = &m->bb;

	(void)detail;
	if (m->depth-- > BK_MAX_DEPTH)
		return 0;
	switch (type) {
	case MD_BLOCK_DOC:
		bb_close(bb);
		break;
	case MD_BLOCK_QUOTE:
		m->quote--;
		bb_markup(bb, "</blockquote>");
		break;
	case MD_BLOCK_UL:
		bb_markup(bb, "</ul>");
		break;
	case MD_BLOCK_OL:
		bb_markup(bb, "</ol>");
		break;
	case MD_BLOCK_LI:
		bb_markup(bb, "</li>");
		break;
	case MD_BLOCK_P:
		if (m->in_p && m->nimg == 1 && !m->other && bb->cur &&
		    !bb->merge) {
			/* a picture alone in its paragraph: a figure whose
			 * caption is the image's text */
			struct bk_item *it = bb->cur;
			struct buf pre = BUF_INIT;

			it->type = BK_CAPTION;
			snprintf(it->tag, sizeof(it->tag), "figcaption");
			buf_adds(&pre, "<figure>");
			if (m->img_src[0]) {
				buf_adds(&pre, "<img src=\"");
				html_escape(&pre, m->img_src,
					    strlen(m->img_src));
				buf_adds(&pre, "\" alt=\"\">");
			}
			it->pre = buf_detach(&pre, NULL);
			it->post = xstrdup("</figure>");
		}
		m->in_p = 0;
		bb_close(bb);
		break;
	case MD_BLOCK_CODE:
		bb->verbatim = false;
		bb_close(bb);
		break;
	case MD_BLOCK_H:
	case MD_BLOCK_HTML:
	case MD_BLOCK_TH:
	case MD_BLOCK_TD:
		bb_close(bb);
		break;
	case MD_BLOCK_TABLE:
		bb_markup(bb, "</table>");
		break;
	case MD_BLOCK_THEAD:
		bb_markup(bb, "</thead>");
		break;
	case MD_BLOCK_TBODY:
		bb_markup(bb, "</tbody>");
		break;
	case MD_BLOCK_TR:
		bb_markup(bb, "</tr>");
		break;
	default:
		break;
	}
	return 0;
}

static int enter_span(MD_SPANTYPE type, void *detail, void *ud)
{
	struct mdctx *m = ud;
	struct bk_builder *bb = &m->bb;

	if (m->img) {
		m->img++;
		return 0; /* inside an image only the text counts */
	}
	switch (type) {
	case MD_SPAN_EM:
		bb_inline(bb, "<em>");
		break;
	case MD_SPAN_STRONG:
		bb_inline(bb, "<strong>");
		break;
	case MD_SPAN_CODE:
		bb_inline(bb, "<code>");
		break;
	case MD_SPAN_DEL:
		bb_inline(bb, "<del>");
		break;
	case MD_SPAN_U:
		bb_inline(bb, "<u>");
		break;
	case MD_SPAN_A: {
		MD_SPAN_A_DETAIL *d = detail;
		int ok = 0;

		if (bb->cur && html_url_scheme_ok(d->href.text, d->href.size)) {
			struct buf a = BUF_INIT;

			buf_adds(&a, "<a href=\"");
			html_escape(&a, d->href.text, d->href.size);
			buf_adds(&a, "\" rel=\"nofollow noopener\">");
			bb_inline(bb, buf_str(&a));
			buf_free(&a);
			ok = 1;
		}
		if (m->nlinks < BK_MAX_DEPTH)
			m->link_ok[m->nlinks] = ok;
		m->nlinks++;
		if (m->in_p)
			m->other = true;
		break;
	}
	case MD_SPAN_IMG: {
		MD_SPAN_IMG_DETAIL *d = detail;
		char src[400];

		m->img = 1;
		m->nimg++;
		m->img_src[0] = '\0';
		attr_copy(&d->src, src, sizeof(src));
		if (html_url_scheme_ok(src, strlen(src)) &&
		    !strncmp(src, "https", 5))
			snprintf(m->img_src, sizeof(m->img_src), "%s", src);
		else if (bk_safe_path(src, strlen(src)))
			snprintf(m->img_src, sizeof(m->img_src), "%s%s",
				 m->img_base ? m->img_base : "", src);
		break;
	}
	default:
		break;
	}
	return 0;
}

static int leave_span(MD_SPANTYPE type, void *detail, void *ud)
{
	struct mdctx *m = ud;
	struct bk_builder *bb = &m->bb;

	(void)detail;
	if (m->img) {
		m->img--;
		return 0;
	}
	switch (type) {
	case MD_SPAN_EM:
		bb_inline(bb, "</em>");
		break;
	case MD_SPAN_STRONG:
		bb_inline(bb, "</strong>");
		break;
	case MD_SPAN_CODE:
		bb_inline(bb, "</code>");
		break;
	case MD_SPAN_DEL:
		bb_inline(bb, "</del>");
		break;
	case MD_SPAN_U:
		bb_inline(bb, "</u>");
		break;
	case MD_SPAN_A:
		if (m->nlinks > 0) {
			m->nlinks--;
			if (m->nlinks < BK_MAX_DEPTH && m->link_ok[m->nlinks])
				bb_inline(bb, "</a>");
		}
		break;
	default:
		break;
	}
	return 0;
}

/* Decodes an entity ("&amp;", "&#8212;") into UTF-8; 0 if unknown. */
static size_t entity(const char *s, size_t n, char out[8])
{
	static const struct {
		const char *name;
		unsigned cp;
	} named[] = {{"amp", '&'},	{"lt", '<'},	   {"gt", '>'},
		     {"quot", '"'},	{"apos", '\''},	   {"nbsp", 0xa0},
		     {"mdash", 0x2014}, {"ndash", 0x2013}, {"hellip", 0x2026},
		     {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"ldquo", 0x201c},
		     {"rdquo", 0x201d}, {"copy", 0xa9},	   {"pound", 0xa3},
		     {"sect", 0xa7},	{"para", 0xb6},	   {"eacute", 0xe9},
		     {"shy", 0xad},	{NULL, 0}};
	unsigned long cp = 0;

	if (n < 3 || s[0] != '&' || s[n - 1] != ';')
		return 0;
	if (s[1] == '#') {
		char tmp[16];
		size_t l = n - 3;

		if (l == 0 || l >= sizeof(tmp))
			return 0;
		memcpy(tmp, s + 2, l);
		tmp[l] = '\0';
		if (tmp[0] == 'x' || tmp[0] == 'X')
			cp = strtoul(tmp + 1, NULL, 16);
		else
			cp = strtoul(tmp, NULL, 10);
	} else {
		for (size_t i = 0; named[i].name; i++)
			if (strlen(named[i].name) == n - 2 &&
			    !strncmp(named[i].name, s + 1, n - 2))
				cp = named[i].cp;
	}
	if (!cp || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
	    (cp >= 0xe000 && cp <= 0xe001))
		return 0;
	return utf8_encode((uint32_t)cp, out);
}

static int on_text(MD_TEXTTYPE type, const MD_CHAR *text, MD_SIZE size,
		   void *ud)
{
	struct mdctx *m = ud;
	struct bk_builder *bb = &m->bb;
	char e[8];
	size_t el;

	if (m->in_p && !m->img) {
		for (MD_SIZE i = 0; i < size; i++)
			if (!isspace((unsigned char)text[i]))
				m->other = true;
	}
	switch (type) {
	case MD_TEXT_NULLCHAR:
		bb_text(bb, "\xef\xbf\xbd", 3);
		break;
	case MD_TEXT_BR:
	case MD_TEXT_SOFTBR:
		bb_text(bb, " ", 1);
		break;
	case MD_TEXT_ENTITY:
		el = entity(text, size, e);
		if (el)
			bb_text(bb, e, el);
		else
			bb_text(bb, text, size);
		break;
	default:
		bb_text(bb, text, size);
		break;
	}
	return 0;
}

static void run_md(struct mdctx *m, const char *src, size_t len)
{
	MD_PARSER p = {0};

	p.flags = MD_FLAGS;
	p.enter_block = enter_block;
	p.leave_block = leave_block;
	p.enter_span = enter_span;
	p.leave_span = leave_span;
	p.text = on_text;
	md_parse(src, (MD_SIZE)len, &p, m);
	bb_close(&m->bb);
}

int bk_md_chapter(struct bk_chapter *ch, const char *src, size_t len,
		  const char *img_base)
{
	struct mdctx m;
	size_t mlen;
	char *marked = mark_refs(ch, src, len, &mlen);

	memset(&m, 0, sizeof(m));
	bb_init(&m.bb, ch);
	m.img_base = img_base;
	run_md(&m, marked, mlen);
	free(marked);
	return 0;
}

void bk_md_inline(const char *src, size_t len, char **text, char **html)
{
	struct bk_chapter ch;
	struct mdctx m;

	memset(&ch, 0, sizeof(ch));
	memset(&m, 0, sizeof(m));
	bb_init(&m.bb, &ch);
	bb_open(&m.bb, BK_NOTE, "p", NULL);
	m.bb.merge = true;
	run_md(&m, src, len);
	if (ch.nitems) {
		struct bk_item *it = &ch.items[0];

		while (it->text.len && it->text.data[it->text.len - 1] == ' ')
			it->text.data[--it->text.len] = '\0';
		*text = xstrdup(buf_str(&it->text));
		*html = xstrdup(buf_str(&it->html));
		buf_free(&it->text);
		buf_free(&it->html);
		free(it->pre);
		free(it->post);
		free(it->markup);
	} else {
		*text = xstrdup("");
		*html = xstrdup("");
	}
	free(ch.items);
}

/* ---- chapter numbers from titles ---- */

static const char *const NUMWORDS[] = {
	"zero",	    "one",	"two",	    "three",   "four",	  "five",
	"six",	    "seven",	"eight",    "nine",    "ten",	  "eleven",
	"twelve",   "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
	"eighteen", "nineteen", NULL};
static const char *const TENS[] = {"",	     "",       "twenty", "thirty",
				   "forty",  "fifty",  "sixty",	 "seventy",
				   "eighty", "ninety", NULL};

/* A number written as digits, roman numerals or English words at s (case
 * insensitive, spaces/hyphens allowed between words when loose). Returns
 * the value and sets *used to the bytes consumed; 0 if none. */
int bk_parse_number(const char *s, size_t n, size_t *used)
{
	size_t i = 0;
	int v = 0;

	*used = 0;
	if (n && isdigit((unsigned char)s[0])) {
		while (i < n && i < 4 && isdigit((unsigned char)s[i]))
			v = v * 10 + (s[i++] - '0');
		*used = i;
		return v;
	}
	/* words: tens first, then units */
	for (int t = 2; TENS[t]; t++) {
		size_t l = strlen(TENS[t]);

		if (n >= l && !strncasecmp(s, TENS[t], l)) {
			v = t * 10;
			i = l;
			if (i < n && (s[i] == '-' || s[i] == ' '))
				i++;
			for (int u = 9; u >= 1; u--) {
				size_t ul = strlen(NUMWORDS[u]);
				if (n - i >= ul &&
				    !strncasecmp(s + i, NUMWORDS[u], ul) &&
				    (n - i == ul ||
				     !isalpha((unsigned char)s[i + ul]))) {
					v += u;
					*used = i + ul;
					return v;
				}
			}
			if (i > l)
				i--; /* the separator was not ours */
			*used = l;
			return v;
		}
	}
	for (int u = 19; u >= 1; u--) {
		size_t ul = strlen(NUMWORDS[u]);

		if (n >= ul && !strncasecmp(s, NUMWORDS[u], ul) &&
		    (n == ul || !isalpha((unsigned char)s[ul]))) {
			*used = ul;
			return u;
		}
	}
	/* roman numerals (upper or lower case), up to 89 */
	{
		static const char *const R[] = {"xc", "l",  "xl", "x", "ix",
						"v",  "iv", "i",  NULL};
		static const int RV[] = {90, 50, 40, 10, 9, 5, 4, 1};
		int val = 0;

		i = 0;
		for (int k = 0; R[k]; k++) {
			size_t l = strlen(R[k]);
			int reps = 0;

			while (n - i >= l && !strncasecmp(s + i, R[k], l) &&
			       reps < 3) {
				val += RV[k];
				i += l;
				reps++;
			}
		}
		if (i && (i == n || !isalpha((unsigned char)s[i]))) {
			*used = i;
			return val;
		}
	}
	return 0;
}

int bk_title_number(const char *t, char **rest)
{
	size_t used = 0, off = 0;
	int n = 0;

	*rest = xstrdup(t);
	if (!strncasecmp(t, "chapter ", 8)) {
		off = 8;
		n = bk_parse_number(t + 8, strlen(t + 8), &used);
		off += used;
		if (t[off] && t[off] != '.' && t[off] != ':' && t[off] != ' ')
			return 0;
	} else if (isdigit((unsigned char)t[0])) {
		n = bk_parse_number(t, strlen(t), &used);
		off = used;
		if (t[off] && t[off] != '.' && t[off] != ':')
			return 0;
	}
	if (!n)
		return 0;
	while (t[off] == '.' || t[off] == ':' || t[off] == ' ' || t[off] == '-')
		off++;
	if (t[off]) {
		free(*rest);
		*rest = xstrdup(t + off);
	}
	return n;
}

bool bk_slug_valid(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) ||
		      isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
	return true;
}

/* ---- the book folder ---- */

static char *jstr(json_t *o, const char *k, const char *dflt)
{
	json_t *v = json_object_get(o, k);

	if (json_is_string(v))
		return bk_clean_utf8(
			json_string_value(v),
			strnlen(json_string_value(v), BK_MAX_TITLE), NULL);
	if (json_is_integer(v)) {
		char s[32];
		snprintf(s, sizeof(s), "%lld",
			 (long long)json_integer_value(v));
		return xstrdup(s);
	}
	return dflt ? xstrdup(dflt) : NULL;
}

int bk_import_md_folder(const char *dir, const char *slug, struct bk_book **out,
			char *err, size_t errlen)
{
	char path[4096];
	char *data = NULL;
	size_t len;
	json_t *meta = NULL, *parts;
	json_error_t jerr;
	struct bk_book *b = NULL;
	char img_base[128];
	int rc;

	*out = NULL;
	snprintf(path, sizeof(path), "%s/book.json", dir);
	rc = bk_read_file(path, 1u << 20, &data, &len);
	if (rc) {
		snprintf(err, errlen, "%s: cannot read book.json", dir);
		goto out;
	}
	meta = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(meta)) {
		snprintf(err, errlen, "%s: book.json line %d: %s", dir,
			 jerr.line, jerr.text);
		rc = SCH_EINVAL;
		goto out;
	}
	b = bk_book_new();
	b->format = "markdown";
	if (slug)
		b->slug = xstrdup(slug);
	else
		b->slug = jstr(meta, "slug", NULL);
	if (!b->slug) {
		const char *base = strrchr(dir, '/');
		char *tmp = xstrdup(base && base[1] ? base + 1 : dir);
		size_t l = strlen(tmp);

		while (l > 1 && tmp[l - 1] == '/')
			tmp[--l] = '\0';
		b->slug = bk_slugify(tmp);
		free(tmp);
	}
	if (!bk_slug_valid(b->slug)) {
		snprintf(err, errlen, "slug \"%s\": use 1-64 of a-z 0-9 -",
			 b->slug);
		rc = SCH_EINVAL;
		goto out;
	}
	b->title = jstr(meta, "title", b->slug);
	b->author = jstr(meta, "author", "");
	b->language = jstr(meta, "language", "en");
	b->licence = jstr(meta, "licence", "");
	if (!b->licence[0]) {
		free(b->licence);
		b->licence = jstr(meta, "license", "");
	}
	b->edition = jstr(meta, "edition", "1");
	snprintf(img_base, sizeof(img_base), "/books/%s/", b->slug);
	parts = json_object_get(meta, "parts");
	if (!json_is_array(parts) || !json_array_size(parts) ||
	    json_array_size(parts) > BK_MAX_PARTS) {
		snprintf(err, errlen,
			 "book.json: \"parts\" must be a "
			 "non-empty array of at most %d parts",
			 BK_MAX_PARTS);
		rc = SCH_EINVAL;
		goto out;
	}
	for (size_t p = 0; p < json_array_size(parts); p++) {
		json_t *jp = json_array_get(parts, p);
		json_t *chs = json_object_get(jp, "chapters");
		char *ptitle = jstr(jp, "title", NULL);

		bk_book_add_part(b, ptitle);
		free(ptitle);
		if (!json_is_array(chs)) {
			bk_warn(b, "part %zu has no chapters array", p + 1);
			continue;
		}
		for (size_t c = 0; c < json_array_size(chs); c++) {
			json_t *jc = json_array_get(chs, c);
			const char *file =
				json_string_value(json_object_get(jc, "file"));
			json_t *num = json_object_get(jc, "number");
			struct bk_chapter *ch;
			struct bk_notes notes = {0};
			char *src, *clean, *stripped;
			size_t sl, cl, stl;
			int number = 0;

			if (bk_book_nchapters(b) >= BK_MAX_CHAPTERS) {
				snprintf(err, errlen, "more than %d chapters",
					 BK_MAX_CHAPTERS);
				rc = SCH_EINVAL;
				goto out;
			}
			if (!file || !bk_safe_path(file, strlen(file))) {
				snprintf(err, errlen,
					 "part %zu chapter %zu: "
					 "\"file\" must be a relative path",
					 p + 1, c + 1);
				rc = SCH_EINVAL;
				goto out;
			}
			if (json_is_integer(num) &&
			    json_integer_value(num) > 0 &&
			    json_integer_value(num) < 100000)
				number = (int)json_integer_value(num);
			snprintf(path, sizeof(path), "%s/%s", dir, file);
			rc = bk_read_file(path, BK_MAX_FILE, &src, &sl);
			if (rc) {
				snprintf(err, errlen, "%s: cannot read (%s)",
					 path,
					 rc == SCH_EINVAL ? "too large"
							  : "missing?");
				goto out;
			}
			clean = bk_clean_utf8(src, sl, &cl);
			free(src);
			ch = bk_book_add_chapter(b, NULL, number);
			ch->file = xstrdup(file);
			stripped = bk_md_extract_notes(clean, cl, &ch->notes,
						       &stl);
			free(clean);
			bk_md_chapter(ch, stripped, stl, img_base);
			free(stripped);
			bk_notes_free(&notes);
			if (!ch->nitems || !ch->items[0].is_block ||
			    strcmp(ch->items[0].tag, "h1"))
				bk_warn(b,
					"%s does not start with a \"# "
					"Title\" heading",
					file);
		}
	}
	bk_book_finish(b, NULL);
	*out = b;
	b = NULL;
	rc = 0;
out:
	if (rc && !err[0])
		snprintf(err, errlen, "import failed");
	bk_book_free(b);
	json_decref(meta);
	free(data);
	return rc;
}

/* ---- the single Markdown file ---- */

/* Level of an ATX heading line ("# x" -> 1), 0 if none. */
static int heading_level(const char *s, size_t n)
{
	int l = 0;

	while ((size_t)l < n && s[l] == '#' && l < 7)
		l++;
	if (l == 0 || l > 6 || (size_t)l >= n || s[l] != ' ')
		return 0;
	return l;
}

static char *heading_text(const char *s, size_t n, int lvl)
{
	size_t i = (size_t)lvl;

	while (i < n && s[i] == ' ')
		i++;
	while (n > i &&
	       (s[n - 1] == ' ' || s[n - 1] == '#' || s[n - 1] == '\r'))
		n--;
	return xstrndup(s + i, n - i);
}

struct section {
	int level; /* 1 or 2 */
	char *title;
	size_t start; /* byte offset of the heading line */
	size_t body;  /* first byte after the heading line */
	size_t end;
};

/* The sections of a single Markdown file: its # and ## headings outside
 * code fences, each up to the next. 0, or SCH_EINVAL (too many, in err). */
static int find_sections(const char *text, size_t tl, struct section **out,
			 size_t *nout, bool *has_h2, char *err, size_t errlen)
{
	struct section *sec = NULL;
	size_t nsec = 0, cap = 0;
	bool fence = false;

	*has_h2 = false;
	for (size_t i = 0; i < tl;) {
		const char *line = text + i;
		const char *nl = memchr(line, '\n', tl - i);
		size_t ll = nl ? (size_t)(nl - line) : tl - i;
		size_t next = i + ll + (nl ? 1 : 0);
		int lvl;

		if (fence_line(line, ll))
			fence = !fence;
		lvl = fence ? 0 : heading_level(line, ll);
		if (lvl == 1 || lvl == 2) {
			sec = vec_reserve(sec, nsec, &cap, sizeof(*sec));
			if (nsec)
				sec[nsec - 1].end = i;
			sec[nsec].level = lvl;
			sec[nsec].title = heading_text(line, ll, lvl);
			sec[nsec].start = i;
			sec[nsec].body = next;
			sec[nsec].end = tl;
			nsec++;
			if (lvl == 2)
				*has_h2 = true;
			if (nsec > BK_MAX_CHAPTERS + BK_MAX_PARTS) {
				snprintf(err, errlen, "too many headings");
				*out = sec;
				*nout = nsec;
				return SCH_EINVAL;
			}
		}
		i = next;
	}
	*out = sec;
	*nout = nsec;
	return 0;
}

/* A new book named after the file (its stem, title-cased; the slug from
 * it unless given). 0, or SCH_EINVAL for a bad slug (*out is set either
 * way and freed by the caller). */
static int file_book(const char *path, const char *slug, struct bk_book **out,
		     char *err, size_t errlen)
{
	struct bk_book *b = bk_book_new();
	const char *base = strrchr(path, '/');
	char *stem = xstrdup(base ? base + 1 : path);
	char *dot = strrchr(stem, '.');

	*out = b;
	b->format = "markdown-file";
	if (dot && dot != stem)
		*dot = '\0';
	b->slug = slug ? xstrdup(slug) : bk_slugify(stem);
	for (char *p = stem; *p; p++)
		if (*p == '-' || *p == '_')
			*p = ' ';
	b->title = bk_title_case(stem);
	free(stem);
	if (!bk_slug_valid(b->slug)) {
		snprintf(err, errlen, "slug \"%s\": use 1-64 of a-z 0-9 -",
			 b->slug);
		return SCH_EINVAL;
	}
	b->author = xstrdup("");
	b->language = xstrdup("en");
	b->licence = xstrdup("");
	b->edition = xstrdup("1");
	return 0;
}

/* Adds a chapter titled title whose Markdown is the section's body. */
static void section_chapter(struct bk_book *b, const char *title, int number,
			    const char *body, size_t len, const char *img_base)
{
	struct bk_chapter *ch = bk_book_add_chapter(b, title, number);
	struct buf md = BUF_INIT;

	buf_addf(&md, "# %s\n", title);
	buf_add(&md, body, len);
	bk_md_chapter(ch, md.data, md.len, img_base);
	buf_free(&md);
}

/* A part heading: a part, or - with its own text and no chapters - a
 * chapter of front or back matter. */
static void part_section(struct bk_book *b, const struct section *x,
			 bool empty_part, const char *text,
			 const char *img_base)
{
	if (empty_part && !blank_line(text + x->body, x->end - x->body)) {
		if (!b->nparts || b->parts[b->nparts - 1].title ||
		    !b->parts[b->nparts - 1].n)
			bk_book_add_part(b, NULL);
		section_chapter(b, x->title, 0, text + x->body,
				x->end - x->body, img_base);
		return;
	}
	if (!blank_line(text + x->body, x->end - x->body))
		bk_warn(b,
			"part \"%s\": text before its first chapter was "
			"ignored",
			x->title);
	bk_book_add_part(b, x->title);
}

/* A chapter heading: numbered from its title ("Chapter 3"), else next in
 * its part; *seq is the last number given. */
static void chapter_section(struct bk_book *b, const struct section *x,
			    int *seq, const char *text, const char *img_base)
{
	char *title;
	int number = bk_title_number(x->title, &title);
	bool in_part = b->nparts && b->parts[b->nparts - 1].title;

	if (!number && in_part)
		number = ++*seq;
	else if (number)
		*seq = number;
	if (!b->nparts)
		bk_book_add_part(b, NULL);
	section_chapter(b, title, number, text + x->body, x->end - x->body,
			img_base);
	free(title);
}

int bk_import_md_file(const char *path, const char *slug, struct bk_book **out,
		      char *err, size_t errlen)
{
	char *src = NULL, *clean = NULL, *text = NULL;
	size_t sl, cl, tl, nsec = 0;
	struct section *sec = NULL;
	struct bk_notes notes = {0};
	struct bk_book *b = NULL;
	bool has_h2 = false;
	int chapter_level, part_level, seq = 0;
	int rc;
	char img_base[128];

	*out = NULL;
	rc = bk_read_file(path, BK_MAX_FILE, &src, &sl);
	if (rc) {
		snprintf(err, errlen, "%s: cannot read", path);
		goto out;
	}
	clean = bk_clean_utf8(src, sl, &cl);
	text = bk_md_extract_notes(clean, cl, &notes, &tl);
	rc = find_sections(text, tl, &sec, &nsec, &has_h2, err, errlen);
	if (rc)
		goto out;
	rc = file_book(path, slug, &b, err, errlen);
	if (rc)
		goto out;
	snprintf(img_base, sizeof(img_base), "/books/%s/", b->slug);
	chapter_level = has_h2 ? 2 : 1;
	part_level = has_h2 ? 1 : 0;
	if (nsec && sec[0].start > 0 && !blank_line(text, sec[0].start))
		bk_warn(b, "text before the first heading was ignored");
	if (!nsec) {
		snprintf(err, errlen, "%s: no headings (# or ##) found", path);
		rc = SCH_EINVAL;
		goto out;
	}
	for (size_t s = 0; s < nsec; s++) {
		if (sec[s].level == part_level)
			part_section(b, &sec[s],
				     s + 1 == nsec ||
					     sec[s + 1].level == part_level,
				     text, img_base);
		else if (sec[s].level == chapter_level)
			chapter_section(b, &sec[s], &seq, text, img_base);
	}
	bk_book_finish(b, &notes);
	*out = b;
	b = NULL;
	rc = 0;
out:
	for (size_t s = 0; s < nsec; s++)
		free(sec[s].title);
	free(sec);
	bk_notes_free(&notes);
	bk_book_free(b);
	free(src);
	free(clean);
	free(text);
	return rc;
}
