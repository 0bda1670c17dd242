/*
 * markdown.c - Markdown bodies to safe HTML.
 *
 * Annotation and reply bodies are Markdown written by anyone in a circle, so
 * the HTML we store in body_html must be safe to insert into the page as is.
 * Rather than post-process md4c-html's output (which writes attributes and
 * raw HTML itself), this file renders from md4c's parser callbacks with its
 * own small writer: it emits only a fixed set of tags, escapes every piece
 * of text and every attribute value, turns raw HTML into visible text, keeps
 * only http, https and mailto links, and renders image syntax as a link (or
 * as plain text), never as <img>.
 */
#include <md4c.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "threads/threads.h"
#include "util/buf.h"
#include "util/html.h"
#include "util/utf8.h"

#define MD_LINK_STACK 128 /* nesting depth tracked for links and images */
/* R2-F2: blocks nested deeper than this are rendered as their text only,
 * and a rendering past MD_MAX_HTML bytes falls back to the escaped source
 * (a body of 9,990 ">" made 270 KB of HTML). */
#define MD_MAX_DEPTH 16
#define MD_MAX_HTML (64u << 10)

/* Renderer state passed to the md4c callbacks. */
struct md_out {
	struct buf b;
	int blocks; /* open blocks (not counting the document) */
	int depth;  /* open link/image spans */
	bool opened[MD_LINK_STACK]; /* did that span emit an <a>? */
	int open_links;		    /* <a> elements currently open */
};

/* Appends a code point as UTF-8; escape: HTML-escape ASCII. */
static void md_put_utf8(struct buf *b, uint32_t cp, bool escape)
{
	char u[4];
	size_t n;

	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	n = utf8_encode(cp, u);
	if (n == 1 && escape)
		html_escape(b, u, 1);
	else
		buf_add(b, u, n);
}

/* Named entities we decode; others are shown literally (escaped). */
static const struct {
	const char *name;
	uint32_t cp;
} md_entities[] = {{"amp", '&'},       {"lt", '<'},	  {"gt", '>'},
		   {"quot", '"'},      {"apos", '\''},	  {"nbsp", 0xA0},
		   {"copy", 0xA9},     {"reg", 0xAE},	  {"trade", 0x2122},
		   {"hellip", 0x2026}, {"mdash", 0x2014}, {"ndash", 0x2013},
		   {"lsquo", 0x2018},  {"rsquo", 0x2019}, {"ldquo", 0x201C},
		   {"rdquo", 0x201D},  {"laquo", 0xAB},	  {"raquo", 0xBB},
		   {"times", 0xD7},    {"divide", 0xF7},  {"deg", 0xB0},
		   {"middot", 0xB7},   {"bull", 0x2022},  {"euro", 0x20AC},
		   {"pound", 0xA3},    {"yen", 0xA5},	  {"sect", 0xA7},
		   {"para", 0xB6},     {"shy", 0xAD},	  {"frac12", 0xBD},
		   {NULL, 0}};

/* The code point an entity ("&amp;", "&#39;", "&#x27;") stands for, or 0
 * when we do not know it (then it is shown literally). */
static uint32_t md_entity_cp(const char *s, size_t n)
{
	uint32_t cp = 0;
	size_t i;

	if (n >= 4 && s[0] == '&' && s[1] == '#' && s[n - 1] == ';') {
		bool hex = s[2] == 'x' || s[2] == 'X';
		size_t digits = 0;

		for (i = hex ? 3 : 2; i < n - 1; i++) {
			char c = s[i];
			unsigned d;

			if (c >= '0' && c <= '9')
				d = (unsigned)(c - '0');
			else if (hex && c >= 'a' && c <= 'f')
				d = (unsigned)(c - 'a' + 10);
			else if (hex && c >= 'A' && c <= 'F')
				d = (unsigned)(c - 'A' + 10);
			else
				return 0;
			if (cp <= 0x10FFFF) /* saturate: becomes U+FFFD */
				cp = cp * (hex ? 16 : 10) + d;
			digits++;
		}
		if (digits == 0)
			return 0;
		if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			cp = 0xFFFD;
		return cp;
	}
	if (n >= 3 && s[0] == '&' && s[n - 1] == ';') {
		for (i = 0; md_entities[i].name; i++) {
			if (strlen(md_entities[i].name) == n - 2 &&
			    memcmp(md_entities[i].name, s + 1, n - 2) == 0)
				return md_entities[i].cp;
		}
	}
	return 0;
}

/* Decodes one entity into b, escaped. */
static void md_entity(struct buf *b, const char *s, size_t n)
{
	uint32_t cp = md_entity_cp(s, n);

	if (cp)
		md_put_utf8(b, cp, true);
	else
		html_escape(b, s, n);
}

/* Flattens an attribute (href) into plain text with entities decoded. */
static bool md_attr_text(const MD_ATTRIBUTE *a, struct buf *out)
{
	int k;

	if (!a->text || a->size == 0)
		return true;
	if (!a->substr_offsets || !a->substr_types) {
		buf_add(out, a->text, a->size);
		return true;
	}
	for (k = 0; a->substr_offsets[k] < a->size; k++) {
		MD_OFFSET off = a->substr_offsets[k];
		MD_SIZE len = a->substr_offsets[k + 1] - off;
		uint32_t cp;

		switch (a->substr_types[k]) {
		case MD_TEXT_NORMAL:
			buf_add(out, a->text + off, len);
			break;
		case MD_TEXT_ENTITY:
			/* the URL check works on the decoded characters */
			cp = md_entity_cp(a->text + off, len);
			if (!cp)
				return false;
			md_put_utf8(out, cp, false);
			break;
		default:
			return false;
		}
	}
	return true;
}

/*
 * Turns a link target into a safe href in out (not yet HTML-escaped), or
 * returns false when it must not become a link. Only http:, https: and
 * mailto: survive; "www." autolinks get http://, bare addresses mailto:.
 */
static bool md_safe_href(const MD_ATTRIBUTE *a, struct buf *out)
{
	struct buf raw = BUF_INIT;
	bool ok = false;
	const char *s;
	size_t i, n;

	if (!md_attr_text(a, &raw))
		goto out;
	s = buf_str(&raw);
	n = raw.len;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c == 0x7f || c == '\\')
			goto out;
	}
	if (html_url_scheme_ok(s, n))
		ok = true;
	else if (n > 4 && strncasecmp(s, "www.", 4) == 0 && !strchr(s, ':')) {
		buf_adds(out, "http://");
		ok = true;
	} else if (!strchr(s, ':') && !strchr(s, '/') && strchr(s, '@') &&
		   s[0] != '@') {
		buf_adds(out, "mailto:");
		ok = true;
	}
	if (!ok)
		goto out;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '"' || c == '\'' || c == '<' || c == '>' || c == '`')
			buf_addf(out, "%%%02X", (unsigned)(unsigned char)c);
		else
			buf_addch(out, c);
	}
out:
	buf_free(&raw);
	return ok;
}

/* The HTML a block or span opens and closes with (NULL: nothing); the
 * heading's level and a list's start number are added by the callbacks. */
struct md_tags {
	const char *open, *close;
};

static const struct md_tags BLOCK_TAGS[] = {
	[MD_BLOCK_QUOTE] = {"<blockquote>\n", "</blockquote>\n"},
	[MD_BLOCK_UL] = {"<ul>\n", "</ul>\n"},
	[MD_BLOCK_OL] = {"<ol>\n", "</ol>\n"},
	[MD_BLOCK_LI] = {"<li>", "</li>\n"},
	[MD_BLOCK_HR] = {"<hr>\n", NULL},
	[MD_BLOCK_CODE] = {"<pre><code>", "</code></pre>\n"},
	[MD_BLOCK_P] = {"<p>", "</p>\n"},
	[MD_BLOCK_TABLE] = {"<table>\n", "</table>\n"},
	[MD_BLOCK_THEAD] = {"<thead>\n", "</thead>\n"},
	[MD_BLOCK_TBODY] = {"<tbody>\n", "</tbody>\n"},
	[MD_BLOCK_TR] = {"<tr>", "</tr>\n"},
	[MD_BLOCK_TH] = {"<th>", "</th>"},
	[MD_BLOCK_TD] = {"<td>", "</td>"},
};
#define N_BLOCK_TAGS (sizeof(BLOCK_TAGS) / sizeof(BLOCK_TAGS[0]))

static const struct md_tags SPAN_TAGS[] = {
	[MD_SPAN_EM] = {"<em>", "</em>"},
	[MD_SPAN_STRONG] = {"<strong>", "</strong>"},
	[MD_SPAN_CODE] = {"<code>", "</code>"},
	[MD_SPAN_DEL] = {"<del>", "</del>"},
	[MD_SPAN_U] = {"<u>", "</u>"},
};
#define N_SPAN_TAGS (sizeof(SPAN_TAGS) / sizeof(SPAN_TAGS[0]))

/* Appends the opening (or closing) tag of type from tags, if it has one. */
static void md_tag(struct buf *out, const struct md_tags *tags, size_t n,
		   unsigned type, bool open)
{
	const char *t;

	if (type >= n)
		return;
	t = open ? tags[type].open : tags[type].close;
	if (t)
		buf_adds(out, t);
}

/* A heading's level, 1 to 6 (6 for anything out of range). */
static unsigned md_heading_level(const void *detail)
{
	const MD_BLOCK_H_DETAIL *d = detail;
	unsigned level = d ? d->level : 1;

	return level < 1 || level > 6 ? 6 : level;
}

static int md_enter_block(MD_BLOCKTYPE type, void *detail, void *userdata)
{
	struct md_out *o = userdata;

	if (o->b.len > MD_MAX_HTML)
		return 1; /* abort: threads_render_markdown falls back */
	if (type != MD_BLOCK_DOC && ++o->blocks > MD_MAX_DEPTH) {
		if (type == MD_BLOCK_P || type == MD_BLOCK_LI ||
		    type == MD_BLOCK_H)
			buf_addch(&o->b, ' ');
		return 0;
	}
	if (type == MD_BLOCK_OL && detail &&
	    ((const MD_BLOCK_OL_DETAIL *)detail)->start != 1)
		buf_addf(&o->b, "<ol start=\"%u\">\n",
			 ((const MD_BLOCK_OL_DETAIL *)detail)->start);
	else if (type == MD_BLOCK_H)
		buf_addf(&o->b, "<h%u>", md_heading_level(detail));
	else
		md_tag(&o->b, BLOCK_TAGS, N_BLOCK_TAGS, type, true);
	return 0;
}

static int md_leave_block(MD_BLOCKTYPE type, void *detail, void *userdata)
{
	struct md_out *o = userdata;

	if (type != MD_BLOCK_DOC && o->blocks-- > MD_MAX_DEPTH)
		return 0;
	if (type == MD_BLOCK_H)
		buf_addf(&o->b, "</h%u>\n", md_heading_level(detail));
	else
		md_tag(&o->b, BLOCK_TAGS, N_BLOCK_TAGS, type, false);
	return 0;
}

/* Opens a link (or an image rendered as a link) if its target is safe and
 * we are not inside another link already. */
static void md_open_link(struct md_out *o, const MD_ATTRIBUTE *href)
{
	struct buf h = BUF_INIT;
	bool emit = false;

	if (o->open_links == 0 && md_safe_href(href, &h)) {
		buf_adds(&o->b, "<a href=\"");
		html_escape(&o->b, h.data, h.len);
		buf_adds(&o->b, "\" rel=\"nofollow noopener noreferrer\">");
		emit = true;
		o->open_links++;
	}
	buf_free(&h);
	if (o->depth < MD_LINK_STACK)
		o->opened[o->depth] = emit;
	o->depth++;
}

static void md_close_link(struct md_out *o)
{
	if (o->depth == 0)
		return;
	o->depth--;
	if (o->depth < MD_LINK_STACK && o->opened[o->depth]) {
		buf_adds(&o->b, "</a>");
		o->open_links--;
	}
}

static int md_enter_span(MD_SPANTYPE type, void *detail, void *userdata)
{
	struct md_out *o = userdata;

	if (type == MD_SPAN_A)
		md_open_link(o, &((const MD_SPAN_A_DETAIL *)detail)->href);
	else if (type == MD_SPAN_IMG)
		md_open_link(o, &((const MD_SPAN_IMG_DETAIL *)detail)->src);
	else
		md_tag(&o->b, SPAN_TAGS, N_SPAN_TAGS, type, true);
	return 0;
}

static int md_leave_span(MD_SPANTYPE type, void *detail, void *userdata)
{
	struct md_out *o = userdata;

	(void)detail;
	if (type == MD_SPAN_A || type == MD_SPAN_IMG)
		md_close_link(o);
	else
		md_tag(&o->b, SPAN_TAGS, N_SPAN_TAGS, type, false);
	return 0;
}

static int md_text(MD_TEXTTYPE type, const MD_CHAR *text, MD_SIZE size,
		   void *userdata)
{
	struct md_out *o = userdata;

	if (o->b.len > MD_MAX_HTML)
		return 1; /* abort: threads_render_markdown falls back */
	switch (type) {
	case MD_TEXT_NULLCHAR:
		md_put_utf8(&o->b, 0xFFFD, true);
		break;
	case MD_TEXT_BR:
		buf_adds(&o->b, "<br>\n");
		break;
	case MD_TEXT_SOFTBR:
		buf_addch(&o->b, '\n');
		break;
	case MD_TEXT_ENTITY:
		md_entity(&o->b, text, size);
		break;
	default:
		/* normal text, code, raw HTML shown as text, math */
		html_escape(&o->b, text, size);
		break;
	}
	return 0;
}

char *threads_render_markdown(const char *src, size_t len)
{
	struct md_out o;
	MD_PARSER parser;
	char *copy;

	memset(&o, 0, sizeof(o));
	memset(&parser, 0, sizeof(parser));
	parser.flags = MD_FLAG_NOHTML | MD_FLAG_TABLES | MD_FLAG_STRIKETHROUGH |
		       MD_FLAG_PERMISSIVEURLAUTOLINKS |
		       MD_FLAG_PERMISSIVEWWWAUTOLINKS |
		       MD_FLAG_PERMISSIVEEMAILAUTOLINKS;
	parser.enter_block = md_enter_block;
	parser.leave_block = md_leave_block;
	parser.enter_span = md_enter_span;
	parser.leave_span = md_leave_span;
	parser.text = md_text;
	if (!src)
		len = 0;
	/* md4c 0.4.8 reads one byte past the end of some inputs (a body
	 * ending in "[a](", found by fuzzing): give it a NUL after them */
	copy = xstrndup(src ? src : "", len);
	if (md_parse(copy, (MD_SIZE)len, &parser, &o) != 0) {
		/* too large, or out of memory inside md4c: fall back to
		 * escaped text */
		buf_reset(&o.b);
		buf_adds(&o.b, "<p>");
		html_escape(&o.b, copy, len);
		buf_adds(&o.b, "</p>\n");
	}
	free(copy);
	return buf_detach(&o.b, NULL);
}
