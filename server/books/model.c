/*
 * model.c - the in-memory book model, the block builder every importer
 * feeds, and the finishing step that turns a chapter's items into its plain
 * text, safe HTML and block list with stable ids.
 *
 * Block ids: "b" + 8 hex digits of FNV-1a over the block's type and text,
 * plus "-2", "-3" ... for the 2nd, 3rd block of the same type and text in a
 * chapter. An id therefore depends only on the block's own text and on how
 * many identical blocks precede it, so editing, adding or removing an
 * unrelated block leaves it unchanged, and a re-import keeps it whenever the
 * text still matches.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "books/internal.h"
#include "util/err.h"
#include "util/utf8.h"
#include "util/vec.h"

static const char SENT_OPEN[] = "\xee\x80\x80";	 /* U+E000 */
static const char SENT_CLOSE[] = "\xee\x80\x81"; /* U+E001 */

const char *bk_type_name(enum bk_type t)
{
	switch (t) {
	case BK_PARAGRAPH:
		return "paragraph";
	case BK_HEADING:
		return "heading";
	case BK_QUOTE:
		return "quote";
	case BK_CELL:
		return "cell";
	case BK_CAPTION:
		return "caption";
	case BK_NOTE:
		return "note";
	}
	return "paragraph";
}

struct bk_book *bk_book_new(void)
{
	return xcalloc(1, sizeof(struct bk_book));
}

static void chapter_free(struct bk_chapter *ch)
{
	if (!ch)
		return;
	free(ch->title);
	free(ch->file);
	bk_chapter_clear(ch);
	for (size_t i = 0; i < ch->nrefs; i++) {
		free(ch->refs[i].label);
		free(ch->refs[i].fallback);
	}
	free(ch->refs);
	bk_notes_free(&ch->notes);
	free(ch->text);
	free(ch->html);
	free(ch->blocks);
	free(ch);
}

void bk_book_free(struct bk_book *b)
{
	if (!b)
		return;
	for (size_t p = 0; p < b->nparts; p++) {
		for (size_t c = 0; c < b->parts[p].n; c++)
			chapter_free(b->parts[p].ch[c]);
		free(b->parts[p].ch);
		free(b->parts[p].title);
	}
	free(b->parts);
	free(b->slug);
	free(b->title);
	free(b->author);
	free(b->language);
	free(b->licence);
	free(b->edition);
	for (size_t i = 0; i < b->nfigs; i++) {
		free(b->figs[i].path);
		free(b->figs[i].data);
	}
	free(b->figs);
	buf_free(&b->warnings);
	free(b);
}

void bk_chapter_clear(struct bk_chapter *ch)
{
	for (size_t i = 0; i < ch->nitems; i++) {
		free(ch->items[i].markup);
		free(ch->items[i].pre);
		free(ch->items[i].post);
		buf_free(&ch->items[i].text);
		buf_free(&ch->items[i].html);
	}
	free(ch->items);
	ch->items = NULL;
	ch->nitems = ch->capitems = 0;
}

void bk_book_drop_empty(struct bk_book *b)
{
	size_t np = 0;

	for (size_t p = 0; p < b->nparts; p++) {
		struct bk_part *pt = &b->parts[p];
		size_t n = 0;

		for (size_t c = 0; c < pt->n; c++) {
			if (pt->ch[c]->nitems)
				pt->ch[n++] = pt->ch[c];
			else
				chapter_free(pt->ch[c]);
		}
		pt->n = n;
		if (n || !pt->title) {
			if (!n) {
				free(pt->ch);
				free(pt->title);
				continue;
			}
			b->parts[np++] = *pt;
		} else {
			/* a titled part left without chapters */
			free(pt->ch);
			free(pt->title);
		}
	}
	b->nparts = np;
}

struct bk_part *bk_book_add_part(struct bk_book *b, const char *title)
{
	struct bk_part *p;

	p = VEC_PUSH(b->parts, b->nparts, b->capparts);
	memset(p, 0, sizeof(*p));
	p->title = title ? xstrdup(title) : NULL;
	return p;
}

struct bk_chapter *bk_book_add_chapter(struct bk_book *b, const char *title,
				       int number)
{
	struct bk_part *p;
	struct bk_chapter *ch;

	if (!b->nparts)
		bk_book_add_part(b, NULL);
	p = &b->parts[b->nparts - 1];
	p->ch = vec_reserve(p->ch, p->n, &p->cap, sizeof(*p->ch));
	ch = xcalloc(1, sizeof(*ch));
	ch->title = title ? xstrdup(title) : NULL;
	ch->number = number;
	p->ch[p->n++] = ch;
	return ch;
}

size_t bk_book_nchapters(const struct bk_book *b)
{
	size_t n = 0;

	for (size_t p = 0; p < b->nparts; p++)
		n += b->parts[p].n;
	return n;
}

void bk_warn(struct bk_book *b, const char *fmt, ...)
{
	va_list ap;
	char line[512];

	if (b->nwarnings >= 1000)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	buf_adds(&b->warnings, line);
	buf_addch(&b->warnings, '\n');
	b->nwarnings++;
}

void bk_notes_add(struct bk_notes *ns, const char *label, const char *text,
		  const char *html)
{
	struct bk_note *n;

	if (bk_notes_find(ns, label))
		return; /* first definition wins */
	ns->v = vec_reserve(ns->v, ns->n, &ns->cap, sizeof(*ns->v));
	n = &ns->v[ns->n++];
	n->label = xstrdup(label);
	n->text = xstrdup(text);
	n->html = xstrdup(html);
	n->used = 0;
}

struct bk_note *bk_notes_find(struct bk_notes *ns, const char *label)
{
	if (!ns)
		return NULL;
	for (size_t i = 0; i < ns->n; i++)
		if (!strcmp(ns->v[i].label, label))
			return &ns->v[i];
	return NULL;
}

void bk_notes_free(struct bk_notes *ns)
{
	for (size_t i = 0; i < ns->n; i++) {
		free(ns->v[i].label);
		free(ns->v[i].text);
		free(ns->v[i].html);
	}
	free(ns->v);
	memset(ns, 0, sizeof(*ns));
}

int bk_chapter_add_ref(struct bk_chapter *ch, const char *label,
		       const char *fallback)
{
	if (ch->nrefs >= BK_MAX_REFS)
		return -1;
	ch->refs = vec_reserve(ch->refs, ch->nrefs, &ch->caprefs,
			       sizeof(*ch->refs));
	ch->refs[ch->nrefs].label = xstrdup(label);
	ch->refs[ch->nrefs].fallback = xstrdup(fallback ? fallback : "");
	return (int)ch->nrefs++;
}

const char *bk_memmem(const char *h, size_t hn, const char *n, size_t nn)
{
	if (!nn)
		return h;
	while (hn >= nn) {
		const char *p = memchr(h, n[0], hn - nn + 1);

		if (!p)
			return NULL;
		if (!memcmp(p, n, nn))
			return p;
		hn -= (size_t)(p - h) + 1;
		h = p + 1;
	}
	return NULL;
}

/* ---- escaping and URLs ---- */

bool bk_safe_path(const char *p, size_t n)
{
	if (!n || n > 200 || p[0] == '/' || p[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (!(isalnum(c) || c == '.' || c == '_' || c == '-' ||
		      c == '/'))
			return false;
		if (c == '.' && i + 1 < n && p[i + 1] == '.')
			return false;
		if (c == '/' && i + 1 < n &&
		    (p[i + 1] == '/' || p[i + 1] == '.'))
			return false;
	}
	return true;
}

/* ---- the builder ---- */

void bb_init(struct bk_builder *bb, struct bk_chapter *ch)
{
	memset(bb, 0, sizeof(*bb));
	bb->ch = ch;
}

static struct bk_item *add_item(struct bk_chapter *ch)
{
	struct bk_item *it;

	if (ch->nitems >= BK_MAX_ITEMS)
		return NULL;
	it = VEC_PUSH(ch->items, ch->nitems, ch->capitems);
	memset(it, 0, sizeof(*it));
	return it;
}

void bb_markup(struct bk_builder *bb, const char *html)
{
	struct bk_item *it;

	if (bb->merge)
		return;
	if (bb->cur)
		bb_close(bb);
	it = add_item(bb->ch);
	if (it)
		it->markup = xstrdup(html);
}

struct bk_item *bb_open(struct bk_builder *bb, enum bk_type type,
			const char *tag, const char *cls)
{
	struct bk_item *it;

	if (bb->merge && bb->cur) {
		if (bb->cur->text.len)
			bb->space = true;
		return bb->cur;
	}
	if (bb->cur)
		bb_close(bb);
	it = add_item(bb->ch);
	if (!it)
		return NULL;
	it->is_block = true;
	it->type = type;
	snprintf(it->tag, sizeof(it->tag), "%s", tag);
	it->cls = cls;
	bb->cur = it;
	bb->space = false;
	return it;
}

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

static void flush_space(struct bk_builder *bb)
{
	if (bb->space && bb->cur->text.len) {
		buf_addch(&bb->cur->text, ' ');
		buf_addch(&bb->cur->html, ' ');
	}
	bb->space = false;
}

void bb_text(struct bk_builder *bb, const char *s, size_t n)
{
	size_t i = 0;

	if (!bb->cur) {
		size_t k = 0;

		while (k < n && is_space((unsigned char)s[k]))
			k++;
		if (k == n)
			return;
		if (!bb_open(bb, BK_PARAGRAPH, "p", NULL))
			return;
	}
	if (bb->verbatim) {
		buf_add(&bb->cur->text, s, n);
		html_escape(&bb->cur->html, s, n);
		return;
	}
	while (i < n) {
		size_t j = i;

		if (is_space((unsigned char)s[i])) {
			bb->space = true;
			i++;
			continue;
		}
		while (j < n && !is_space((unsigned char)s[j]))
			j++;
		flush_space(bb);
		buf_add(&bb->cur->text, s + i, j - i);
		html_escape(&bb->cur->html, s + i, j - i);
		i = j;
	}
}

void bb_inline(struct bk_builder *bb, const char *html)
{
	if (!bb->cur)
		return;
	/* an opening tag takes the pending space before it */
	if (html[0] == '<' && html[1] != '/')
		flush_space(bb);
	buf_adds(&bb->cur->html, html);
}

void bb_ref(struct bk_builder *bb, int index)
{
	char s[32];

	if (index < 0)
		return;
	if (!bb->cur && !bb_open(bb, BK_PARAGRAPH, "p", NULL))
		return;
	flush_space(bb);
	snprintf(s, sizeof(s), "%s%d%s", SENT_OPEN, index, SENT_CLOSE);
	buf_adds(&bb->cur->text, s);
	buf_adds(&bb->cur->html, s);
}

void bb_close(struct bk_builder *bb)
{
	if (bb->merge)
		return;
	bb->cur = NULL;
	bb->space = false;
}

/* ---- finishing ---- */

uint32_t bk_hash(enum bk_type t, const char *text, size_t len)
{
	uint32_t h = 2166136261u;
	const char *name = bk_type_name(t);

	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h = (h ^ 0) * 16777619u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)text[i]) * 16777619u;
	return h;
}

int bk_count_words(const char *s, size_t len)
{
	int n = 0;
	bool in = false;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		bool w = isalnum(c) || c >= 0x80 || c == '\'' ||
			 (c == '-' && in);

		if (w && !in)
			n++;
		in = w;
	}
	return n;
}

/* Replaces sentinels in src by the reference texts. */
static void resolve(const struct buf *src, struct buf *out, char *const *repl,
		    size_t nrepl)
{
	const char *s = buf_str(src);
	size_t n = src->len, i = 0;

	while (i < n) {
		const char *o = bk_memmem(s + i, n - i, SENT_OPEN, 3);
		const char *c;
		long idx;

		if (!o) {
			buf_add(out, s + i, n - i);
			break;
		}
		buf_add(out, s + i, (size_t)(o - (s + i)));
		c = bk_memmem(o + 3, n - (size_t)(o + 3 - s), SENT_CLOSE, 3);
		if (!c) {
			i = (size_t)(o - s) + 3;
			continue;
		}
		idx = strtol(o + 3, NULL, 10);
		if (idx >= 0 && (size_t)idx < nrepl && repl[idx])
			buf_adds(out, repl[idx]);
		i = (size_t)(c - s) + 3;
	}
}

/* Per-block hash seen so far, to disambiguate repeated blocks. */
struct seen {
	uint32_t *h;
	size_t n, cap;
};

static int seen_count(struct seen *sn, uint32_t h)
{
	int k = 0;

	for (size_t i = 0; i < sn->n; i++)
		if (sn->h[i] == h)
			k++;
	sn->h = vec_reserve(sn->h, sn->n, &sn->cap, sizeof(*sn->h));
	sn->h[sn->n++] = h;
	return k;
}

struct fin {
	struct bk_chapter *ch;
	struct buf text, html;
	size_t cp;
	struct seen seen;
	size_t capblocks;
};

static void emit_block(struct fin *f, enum bk_type type, const char *tag,
		       const char *cls, const char *extra_attr,
		       const char *text, size_t tlen, const char *html)
{
	struct bk_block *bl;
	uint32_t h = bk_hash(type, text, tlen);
	int k = seen_count(&f->seen, h);
	size_t ncp = utf8_count(text, tlen);

	bl = VEC_PUSH(f->ch->blocks, f->ch->nblocks, f->capblocks);
	if (k)
		snprintf(bl->id, sizeof(bl->id), "b%08x-%d", h, k + 1);
	else
		snprintf(bl->id, sizeof(bl->id), "b%08x", h);
	bl->type = type;
	if (f->ch->nblocks > 1) {
		buf_adds(&f->text, "\n\n");
		f->cp += 2;
	}
	bl->start = f->cp;
	buf_add(&f->text, text, tlen);
	f->cp += ncp;
	bl->end = f->cp;
	buf_addf(&f->html, "<%s data-block=\"%s\"", tag, bl->id);
	if (cls)
		buf_addf(&f->html, " class=\"%s\"", cls);
	if (extra_attr)
		buf_adds(&f->html, extra_attr);
	buf_addf(&f->html, ">%s</%s>", html, tag);
}

void bk_chapter_finish(struct bk_book *b, struct bk_chapter *ch,
		       struct bk_notes *extra)
{
	struct fin f = {.ch = ch};
	char **rt, **rh; /* per reference: text and HTML replacement */
	struct bk_note **order = NULL;
	size_t norder = 0;

	rt = xcalloc(ch->nrefs + 1, sizeof(char *));
	rh = xcalloc(ch->nrefs + 1, sizeof(char *));
	order = xcalloc(ch->nrefs + 1, sizeof(*order));
	/* number the notes in order of first reference */
	for (size_t r = 0; r < ch->nrefs; r++) {
		struct bk_note *n =
			bk_notes_find(&ch->notes, ch->refs[r].label);
		size_t num = 0;
		struct buf t = BUF_INIT, h = BUF_INIT;

		if (!n)
			n = bk_notes_find(extra, ch->refs[r].label);
		if (!n) {
			bk_warn(b,
				"chapter \"%s\": note reference \"%s\" has "
				"no note",
				ch->title ? ch->title : "", ch->refs[r].label);
			rt[r] = xstrdup(ch->refs[r].fallback);
			buf_reset(&h);
			html_escape(&h, rt[r], strlen(rt[r]));
			rh[r] = buf_detach(&h, NULL);
			continue;
		}
		bool first = true;

		for (size_t k = 0; k < norder; k++)
			if (order[k] == n) {
				num = k + 1;
				first = false;
			}
		if (!num) {
			order[norder++] = n;
			num = norder;
		}
		n->used++;
		buf_addf(&t, "[%zu]", num);
		buf_adds(&h, "<sup class=\"noteref\"");
		if (first)
			buf_addf(&h, " id=\"ref-%zu\"", num);
		buf_addf(&h, "><a href=\"#note-%zu\">[%zu]</a></sup>", num,
			 num);
		rt[r] = buf_detach(&t, NULL);
		rh[r] = buf_detach(&h, NULL);
	}
	for (size_t i = 0; i < ch->nitems; i++) {
		struct bk_item *it = &ch->items[i];
		struct buf t = BUF_INIT, h = BUF_INIT;

		if (!it->is_block) {
			buf_adds(&f.html, it->markup);
			continue;
		}
		if (it->pre)
			buf_adds(&f.html, it->pre);
		resolve(&it->text, &t, rt, ch->nrefs);
		resolve(&it->html, &h, rh, ch->nrefs);
		/* trailing blanks (a space before a closing tag) */
		while (t.len && t.data[t.len - 1] == ' ')
			t.data[--t.len] = '\0';
		if (t.len)
			emit_block(&f, it->type, it->tag, it->cls, NULL,
				   buf_str(&t), t.len, buf_str(&h));
		else if (it->type == BK_CELL)
			buf_addf(&f.html, "<%s></%s>", it->tag, it->tag);
		if (it->post)
			buf_adds(&f.html, it->post);
		if (!ch->title && it->type == BK_HEADING && t.len)
			ch->title = xstrndup(buf_str(&t), t.len);
		buf_free(&t);
		buf_free(&h);
	}
	ch->words = bk_count_words(buf_str(&f.text), f.text.len);
	if (norder) {
		buf_adds(&f.html, "<section class=\"notes\">");
		for (size_t k = 0; k < norder; k++) {
			struct buf t = BUF_INIT, h = BUF_INIT;
			char attr[48];

			buf_addf(&t, "[%zu] %s", k + 1, order[k]->text);
			buf_addf(&h,
				 "<a class=\"note-label\" href=\"#ref-%zu\">"
				 "[%zu]</a> %s",
				 k + 1, k + 1, order[k]->html);
			snprintf(attr, sizeof(attr), " id=\"note-%zu\"", k + 1);
			emit_block(&f, BK_NOTE, "p", "note", attr, buf_str(&t),
				   t.len, buf_str(&h));
			buf_free(&t);
			buf_free(&h);
		}
		buf_adds(&f.html, "</section>");
	}
	ch->nnotes = (int)norder;
	if (!ch->title)
		ch->title = xstrdup("Untitled");
	ch->text = buf_detach(&f.text, &ch->text_len);
	ch->html = buf_detach(&f.html, NULL);
	for (size_t r = 0; r < ch->nrefs; r++) {
		free(rt[r]);
		free(rh[r]);
	}
	free(rt);
	free(rh);
	free(order);
	free(f.seen.h);
	/* the build items are no longer needed */
	bk_chapter_clear(ch);
}

void bk_book_finish(struct bk_book *b, struct bk_notes *extra)
{
	for (size_t p = 0; p < b->nparts; p++)
		for (size_t c = 0; c < b->parts[p].n; c++) {
			struct bk_chapter *ch = b->parts[p].ch[c];

			bk_chapter_finish(b, ch, extra);
			for (size_t k = 0; k < ch->notes.n; k++)
				if (!ch->notes.v[k].used)
					bk_warn(b,
						"chapter \"%s\": note \"%s\" "
						"is never referenced",
						ch->title,
						ch->notes.v[k].label);
		}
	if (extra)
		for (size_t k = 0; k < extra->n; k++)
			if (!extra->v[k].used)
				bk_warn(b, "note \"%s\" is never referenced",
					extra->v[k].label);
}

/* ---- small helpers ---- */

char *bk_title_case(const char *s)
{
	static const char *const small[] = {"a",  "an",	 "and", "as",	"at",
					    "by", "for", "in",	"of",	"on",
					    "or", "the", "to",	"with", NULL};
	char *out = xstrdup(s);
	size_t i = 0;
	bool first = true;

	while (out[i]) {
		size_t j = i;
		bool is_small = false;

		while (out[j] && out[j] != ' ')
			j++;
		for (size_t k = i; k < j; k++)
			out[k] = (char)tolower((unsigned char)out[k]);
		for (size_t k = 0; small[k]; k++)
			if (strlen(small[k]) == j - i &&
			    !strncmp(out + i, small[k], j - i))
				is_small = true;
		if (j > i && (first || !is_small))
			out[i] = (char)toupper((unsigned char)out[i]);
		/* capitals after an apostrophe-less hyphen too */
		for (size_t k = i + 1; k + 1 < j; k++)
			if (out[k] == '-')
				out[k + 1] = (char)toupper(
					(unsigned char)out[k + 1]);
		first = (j > i && out[j - 1] == ':');
		i = out[j] ? j + 1 : j;
	}
	return out;
}

int bk_read_file(const char *path, size_t max, char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT;
	char chunk[65536];
	size_t n;
	int rc = 0;

	*data = NULL;
	*len = 0;
	if (!f)
		return SCH_EIO;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (b.len + n > max) {
			rc = SCH_EINVAL;
			goto out;
		}
		buf_add(&b, chunk, n);
	}
	if (ferror(f))
		rc = SCH_EIO;
out:
	fclose(f);
	if (rc) {
		buf_free(&b);
		return rc;
	}
	*data = buf_detach(&b, len);
	return 0;
}

char *bk_clean_utf8(const char *str, size_t len, size_t *outlen)
{
	const unsigned char *s = (const unsigned char *)str;
	struct buf b = BUF_INIT;
	size_t i = 0;

	buf_grow(&b, len + 1);
	while (i < len) {
		size_t n = 1;

		if (s[i] == 0) {
			i++;
			continue;
		}
		if (s[i] < 0x80) {
			buf_addch(&b, (char)s[i++]);
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			n = 2;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			n = 3;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			n = 4;
		else
			n = 0;
		if (n && i + n <= len && utf8_valid(str + i, n) &&
		    !(n == 3 && s[i] == 0xee && s[i + 1] == 0x80 &&
		      (s[i + 2] == 0x80 || s[i + 2] == 0x81))) {
			buf_add(&b, s + i, n);
			i += n;
		} else {
			buf_adds(&b, "\xef\xbf\xbd");
			i++;
		}
	}
	return buf_detach(&b, outlen);
}

char *bk_slugify(const char *s)
{
	struct buf b = BUF_INIT;
	bool dash = false;

	for (; *s && b.len < 60; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c)) {
			if (dash && b.len)
				buf_addch(&b, '-');
			dash = false;
			buf_addch(&b, (char)tolower(c));
		} else {
			dash = true;
		}
	}
	if (!b.len)
		buf_adds(&b, "book");
	return buf_detach(&b, NULL);
}
