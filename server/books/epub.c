/*
 * epub.c - EPUB 2 and 3 into the book model, with libzip and libxml2.
 *
 * META-INF/container.xml names the package (OPF); its manifest and spine
 * give the reading order; chapter titles come from the EPUB 3 navigation
 * document (nav epub:type="toc") or else the EPUB 2 NCX, and a top-level
 * navigation entry with children is a part. A spine document that the
 * table of contents does not name continues the previous chapter (books
 * split long chapters into several files). Footnotes are kept where the
 * book marks them: references are epub:type="noteref" (or role
 * doc-noteref) links, notes are elements marked footnote/endnote/rearnote
 * (or role doc-footnote/doc-endnote, or list items of an endnotes section);
 * notes are collected from every document first, so endnotes in a separate
 * file work. Input is hostile: sizes are capped before reading, the XML
 * parsers never touch the network or load DTDs, and recursion is bounded.
 */
#include <ctype.h>
#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zip.h>

#include "books/internal.h"
#include "util/err.h"
#include "util/vec.h"

#define XMLFLAGS                                                               \
	(XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |           \
	 XML_PARSE_RECOVER)
#define HTMLFLAGS                                                              \
	(HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |        \
	 HTML_PARSE_RECOVER)
#define MAX_SPINE 5000
#define MAX_TOC 10000
/* Memory bounds (issue 14, R2-F7: a 164 KB EPUB whose spine named one
 * 50 MB entry four times took 1.5 GB): one entry, all entries read
 * together (uncompressed), and how many reads. Past any, the import fails
 * with the reason and nothing is written. */
#define EPUB_MAX_ENTRY (16u << 20)
#define EPUB_MAX_TOTAL (64u << 20)
#define EPUB_MAX_READS 10000

struct epub {
	zip_t *zip;
	char *opf_dir; /* "OEBPS/" or "" */
	struct manifest {
		char *id, *href, *type, *props;
	} * man;
	size_t nman;
	char **spine; /* full paths in reading order */
	bool *aux;    /* spine item is linear="no" */
	size_t nspine;
	struct tocent {
		char *file; /* full path, no fragment */
		char *frag; /* fragment or NULL */
		char *title;
		int depth; /* 0 = top level */
		int children;
		int parent; /* index or -1 */
	} * toc;
	size_t ntoc, captoc;
	struct bk_notes notes; /* key "file#id" */
	int budget;	       /* elements left to visit (all documents) */
	size_t total;	       /* uncompressed bytes read so far */
	int reads;	       /* entries read so far */
	const char *over;      /* the limit that was passed, or NULL */
	struct bk_book *b;     /* the book being made (figures, slug) */
};

/* ---- zip ---- */

static int read_entry(struct epub *E, const char *name, char **data,
		      size_t *len)
{
	zip_int64_t idx = zip_name_locate(E->zip, name, 0);
	zip_stat_t zs;
	zip_file_t *f;
	struct buf b = BUF_INIT;
	char chunk[65536];
	zip_int64_t n;

	*data = NULL;
	*len = 0;
	if (E->over)
		return SCH_EINVAL;
	if (idx < 0)
		return SCH_ENOTFOUND;
	if (++E->reads > EPUB_MAX_READS) {
		E->over = "more than 10,000 entries read";
		return SCH_EINVAL;
	}
	zip_stat_init(&zs);
	if (zip_stat_index(E->zip, (zip_uint64_t)idx, 0, &zs))
		return SCH_EINVAL;
	if ((zs.valid & ZIP_STAT_SIZE) && zs.size > EPUB_MAX_ENTRY) {
		E->over = "an entry is over 16 MiB uncompressed";
		return SCH_EINVAL;
	}
	f = zip_fopen_index(E->zip, (zip_uint64_t)idx, 0);
	if (!f)
		return SCH_EIO;
	while ((n = zip_fread(f, chunk, sizeof(chunk))) > 0) {
		/* the sizes in the zip may lie: count what comes out */
		if (b.len + (size_t)n > EPUB_MAX_ENTRY ||
		    E->total + (size_t)n > EPUB_MAX_TOTAL) {
			E->over = b.len + (size_t)n > EPUB_MAX_ENTRY
					  ? "an entry is over 16 MiB "
					    "uncompressed"
					  : "over 64 MiB uncompressed in all";
			zip_fclose(f);
			buf_free(&b);
			return SCH_EINVAL;
		}
		E->total += (size_t)n;
		buf_add(&b, chunk, (size_t)n);
	}
	zip_fclose(f);
	if (n < 0) {
		buf_free(&b);
		return SCH_EIO;
	}
	*data = buf_detach(&b, len);
	return 0;
}

/* ---- paths ---- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* dir + rel, fragment and query removed, %xx decoded, "." and ".."
 * resolved; malloc'd. *frag (optional) gets the fragment (malloc'd). */
static char *resolve_path(const char *dir, const char *rel, char **frag)
{
	struct buf in = BUF_INIT, out = BUF_INIT;
	const char *hash = strchr(rel, '#');
	size_t rl = hash ? (size_t)(hash - rel) : strlen(rel);
	char *s, *save = NULL, *seg;
	char *segs[256];
	int nseg = 0;

	if (frag)
		*frag = hash ? xstrdup(hash + 1) : NULL;
	if (rel[0] != '/')
		buf_adds(&in, dir);
	for (size_t i = 0; i < rl; i++) {
		if (rel[i] == '?')
			break;
		if (rel[i] == '%' && i + 2 < rl && hexval(rel[i + 1]) >= 0 &&
		    hexval(rel[i + 2]) >= 0) {
			buf_addch(&in, (char)(hexval(rel[i + 1]) * 16 +
					      hexval(rel[i + 2])));
			i += 2;
		} else {
			buf_addch(&in, rel[i]);
		}
	}
	s = buf_detach(&in, NULL);
	for (seg = strtok_r(s, "/", &save); seg;
	     seg = strtok_r(NULL, "/", &save)) {
		if (!strcmp(seg, "."))
			continue;
		if (!strcmp(seg, "..")) {
			if (nseg)
				nseg--;
			continue;
		}
		if (nseg < 256)
			segs[nseg++] = seg;
	}
	for (int i = 0; i < nseg; i++) {
		if (i)
			buf_addch(&out, '/');
		buf_adds(&out, segs[i]);
	}
	free(s);
	return buf_detach(&out, NULL);
}

static char *dir_of(const char *path)
{
	const char *sl = strrchr(path, '/');

	return sl ? xstrndup(path, (size_t)(sl - path) + 1) : xstrdup("");
}

/* ---- XML helpers ---- */

static bool name_is(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE &&
	       !strcasecmp((const char *)n->name, name);
}

/* Attribute value (any namespace; "epub:type" also as written by the HTML
 * parser); malloc'd via libxml, free with xmlFree. */
static char *attr(const xmlNode *n, const char *name)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);

	if (!v)
		for (xmlAttr *a = n->properties; a; a = a->next) {
			const char *an = (const char *)a->name;
			const char *colon = strchr(an, ':');

			if (!strcasecmp(an, name) ||
			    (colon && !strcasecmp(colon + 1, name) &&
			     !strchr(name, ':')) ||
			    (strchr(name, ':') && a->ns &&
			     !strcasecmp(strchr(name, ':') + 1, an))) {
				v = xmlNodeGetContent((const xmlNode *)a);
				break;
			}
		}
	return (char *)v;
}

/* epub:type or role contains one of the words. */
static bool typed(const xmlNode *n, const char *const *words)
{
	char *t = attr(n, "epub:type"), *r = attr(n, "role");
	bool hit = false;

	for (size_t i = 0; words[i] && !hit; i++) {
		if (t && strstr(t, words[i]))
			hit = true;
		if (r && strstr(r, words[i]))
			hit = true;
	}
	xmlFree(t);
	xmlFree(r);
	return hit;
}

static const char *const NOTE_WORDS[] = {"footnote", "endnote", "rearnote",
					 NULL};
static const char *const NOTEREF_WORDS[] = {"noteref", NULL};
static const char *const NOTES_WORDS[] = {"endnotes", "footnotes", "rearnotes",
					  NULL};

static bool is_noteref(const xmlNode *n)
{
	return name_is(n, "a") && typed(n, NOTEREF_WORDS);
}

static bool is_note(const xmlNode *n, bool in_notes_list)
{
	if (n->type != XML_ELEMENT_NODE || name_is(n, "a"))
		return false;
	if (typed(n, NOTE_WORDS) && !typed(n, NOTES_WORDS) &&
	    !typed(n, NOTEREF_WORDS))
		return true;
	return in_notes_list && name_is(n, "li");
}

/* Text content, whitespace collapsed, malloc'd. */
static char *text_of(const xmlNode *n)
{
	xmlChar *c = xmlNodeGetContent(n);
	struct buf b = BUF_INIT;
	bool sp = false;

	for (const xmlChar *p = c; p && *p; p++) {
		if (isspace(*p)) {
			sp = b.len > 0;
			continue;
		}
		if (sp)
			buf_addch(&b, ' ');
		sp = false;
		buf_addch(&b, (char)*p);
	}
	xmlFree(c);
	return buf_detach(&b, NULL);
}

/* ---- package ---- */

/* The package path that META-INF/container.xml names (malloc'd, *opf).
 * 0, or a negative SCH_E* code with err set. */
static int container_rootfile(struct epub *E, char **opf, char *err,
			      size_t errlen)
{
	char *data = NULL, *found = NULL;
	size_t len;
	xmlDoc *doc;
	xmlNode *root, *n;
	int rc;

	*opf = NULL;
	rc = read_entry(E, "META-INF/container.xml", &data, &len);
	if (rc) {
		snprintf(err, errlen, "EPUB: no META-INF/container.xml");
		return rc;
	}
	doc = xmlReadMemory(data, (int)len, NULL, NULL, XMLFLAGS);
	free(data);
	root = doc ? xmlDocGetRootElement(doc) : NULL;
	for (n = root; n;) {
		if (name_is(n, "rootfile")) {
			found = attr(n, "full-path");
			if (found)
				break;
		}
		if (n->children && n->type == XML_ELEMENT_NODE)
			n = n->children;
		else {
			while (n && !n->next)
				n = n->parent;
			if (n)
				n = n->next;
		}
	}
	xmlFreeDoc(doc);
	if (!found) {
		snprintf(err, errlen, "EPUB: container.xml names no rootfile");
		return SCH_EINVAL;
	}
	*opf = xstrdup(found);
	xmlFree(found);
	return 0;
}

/* <metadata>: title, creator, language, rights (the first of each). */
static void opf_metadata(xmlNode *sec, struct bk_book *b)
{
	for (xmlNode *n = sec->children; n; n = n->next) {
		char **dst = NULL;

		if (name_is(n, "title") && !b->title)
			dst = &b->title;
		else if (name_is(n, "creator") && !b->author)
			dst = &b->author;
		else if (name_is(n, "language") && !b->language)
			dst = &b->language;
		else if (name_is(n, "rights") && !b->licence)
			dst = &b->licence;
		if (dst) {
			char *t = text_of(n);

			*dst = bk_clean_utf8(t, strnlen(t, BK_MAX_TITLE), NULL);
			free(t);
		}
	}
}

/* <manifest>: every item with an id and an href, paths resolved. */
static void opf_manifest(struct epub *E, xmlNode *sec)
{
	for (xmlNode *n = sec->children; n; n = n->next) {
		char *id, *href;

		if (!name_is(n, "item") || E->nman >= MAX_TOC)
			continue;
		id = attr(n, "id");
		href = attr(n, "href");
		if (id && href) {
			struct manifest *m;
			char *t = attr(n, "media-type");
			char *p = attr(n, "properties");

			E->man = xrealloc(E->man,
					  (E->nman + 1) * sizeof(*E->man));
			m = &E->man[E->nman++];
			m->id = xstrdup(id);
			m->href = resolve_path(E->opf_dir, href, NULL);
			m->type = xstrdup(t ? t : "");
			m->props = xstrdup(p ? p : "");
			xmlFree(t);
			xmlFree(p);
		}
		xmlFree(id);
		xmlFree(href);
	}
}

/* <spine>: the reading order (linear="no" marks auxiliary content) and
 * the id of the NCX table of contents (*ncx_id, malloc'd, or unchanged). */
static void opf_spine(struct epub *E, xmlNode *sec, char **ncx_id)
{
	char *toc = attr(sec, "toc");

	if (toc) {
		free(*ncx_id);
		*ncx_id = xstrdup(toc);
		xmlFree(toc);
	}
	for (xmlNode *n = sec->children; n; n = n->next) {
		char *idref;

		if (!name_is(n, "itemref") || E->nspine >= MAX_SPINE)
			continue;
		idref = attr(n, "idref");
		for (size_t i = 0; idref && i < E->nman; i++) {
			char *lin;

			if (strcmp(E->man[i].id, idref))
				continue;
			lin = attr(n, "linear");
			E->spine = xrealloc(E->spine,
					    (E->nspine + 1) * sizeof(char *));
			E->aux = xrealloc(E->aux,
					  (E->nspine + 1) * sizeof(bool));
			E->aux[E->nspine] = lin && !strcmp(lin, "no");
			xmlFree(lin);
			E->spine[E->nspine++] = xstrdup(E->man[i].href);
			break;
		}
		xmlFree(idref);
	}
}

static int load_opf(struct epub *E, char *err, size_t errlen, struct bk_book *b)
{
	char *data = NULL, *opf = NULL, *ncx_id = NULL;
	size_t len;
	xmlDoc *doc = NULL;
	xmlNode *root;
	int rc;

	rc = container_rootfile(E, &opf, err, errlen);
	if (rc)
		goto out;
	rc = read_entry(E, opf, &data, &len);
	if (rc) {
		snprintf(err, errlen, "EPUB: cannot read package %s", opf);
		goto out;
	}
	E->opf_dir = dir_of(opf);
	doc = xmlReadMemory(data, (int)len, NULL, NULL, XMLFLAGS);
	root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!root) {
		snprintf(err, errlen, "EPUB: package is not XML");
		rc = SCH_EINVAL;
		goto out;
	}
	for (xmlNode *sec = root->children; sec; sec = sec->next) {
		if (name_is(sec, "metadata"))
			opf_metadata(sec, b);
		else if (name_is(sec, "manifest"))
			opf_manifest(E, sec);
		else if (name_is(sec, "spine"))
			opf_spine(E, sec, &ncx_id);
	}
	if (!E->nspine) {
		snprintf(err, errlen, "EPUB: the spine is empty");
		rc = SCH_EINVAL;
		goto out;
	}
	/* remember the NCX path in the (unused) props of a fake entry */
	if (ncx_id)
		for (size_t i = 0; i < E->nman; i++)
			if (!strcmp(E->man[i].id, ncx_id)) {
				free(E->man[i].props);
				E->man[i].props = xstrdup("ncx");
			}
	rc = 0;
out:
	xmlFreeDoc(doc);
	free(data);
	free(opf);
	free(ncx_id);
	return rc;
}

/* ---- table of contents ---- */

static void toc_add(struct epub *E, const char *file, const char *frag,
		    const char *title, int depth, int parent)
{
	struct tocent *t;

	if (E->ntoc >= MAX_TOC)
		return;
	E->toc = vec_reserve(E->toc, E->ntoc, &E->captoc, sizeof(*E->toc));
	t = &E->toc[E->ntoc++];
	t->file = xstrdup(file);
	t->frag = frag && frag[0] ? xstrdup(frag) : NULL;
	t->title = bk_clean_utf8(title, strnlen(title, BK_MAX_TITLE), NULL);
	t->depth = depth;
	t->children = 0;
	t->parent = parent;
	if (parent >= 0)
		E->toc[parent].children++;
}

/* EPUB 3 nav: <ol><li><a href>title</a><ol>...</ol></li></ol> */
static void nav_list(struct epub *E, const char *dir, xmlNode *ol, int depth,
		     int parent)
{
	if (depth > 8)
		return;
	for (xmlNode *li = ol->children; li; li = li->next) {
		int me = -1;

		if (!name_is(li, "li"))
			continue;
		for (xmlNode *c = li->children; c; c = c->next) {
			if ((name_is(c, "a") || name_is(c, "span")) && me < 0) {
				char *href = attr(c, "href");
				char *t = text_of(c);
				char *frag = NULL;
				char *file = resolve_path(dir, href ? href : "",
							  &frag);

				toc_add(E, href ? file : "", frag, t, depth,
					parent);
				me = (int)E->ntoc - 1;
				free(frag);
				free(file);
				free(t);
				xmlFree(href);
			} else if (name_is(c, "ol")) {
				nav_list(E, dir, c, depth + 1, me);
			}
		}
	}
}

static void find_nav(struct epub *E, const char *dir, xmlNode *n, int depth)
{
	static const char *const toc_words[] = {"toc", NULL};

	for (; n && depth < BK_MAX_DEPTH; n = n->next) {
		if (name_is(n, "nav") && typed(n, toc_words)) {
			for (xmlNode *c = n->children; c; c = c->next)
				if (name_is(c, "ol"))
					nav_list(E, dir, c, 0, -1);
			return;
		}
		if (n->type == XML_ELEMENT_NODE)
			find_nav(E, dir, n->children, depth + 1);
	}
}

static void ncx_points(struct epub *E, const char *dir, xmlNode *n, int depth,
		       int parent)
{
	if (depth > 8)
		return;
	for (; n; n = n->next) {
		char *title = NULL, *src = NULL;
		int me;

		if (!name_is(n, "navPoint"))
			continue;
		for (xmlNode *c = n->children; c; c = c->next) {
			if (name_is(c, "navLabel") && !title)
				title = text_of(c);
			else if (name_is(c, "content") && !src)
				src = attr(c, "src");
		}
		{
			char *frag = NULL;
			char *file = resolve_path(dir, src ? src : "", &frag);

			toc_add(E, file, frag, title ? title : "", depth,
				parent);
			free(frag);
			free(file);
		}
		me = (int)E->ntoc - 1;
		free(title);
		xmlFree(src);
		ncx_points(E, dir, n->children, depth + 1, me);
	}
}

static void load_toc(struct epub *E)
{
	for (size_t i = 0; i < E->nman && !E->ntoc; i++) {
		char *data, *dir;
		size_t len;
		htmlDocPtr doc;

		if (!strstr(E->man[i].props, "nav") ||
		    !strcmp(E->man[i].props, "ncx"))
			continue;
		if (read_entry(E, E->man[i].href, &data, &len))
			continue;
		doc = htmlReadMemory(data, (int)len, NULL, "UTF-8", HTMLFLAGS);
		dir = dir_of(E->man[i].href);
		if (doc)
			find_nav(E, dir, xmlDocGetRootElement(doc), 0);
		xmlFreeDoc(doc);
		free(dir);
		free(data);
	}
	for (size_t i = 0; i < E->nman && !E->ntoc; i++) {
		char *data, *dir;
		size_t len;
		xmlDoc *doc;
		xmlNode *root;

		if (strcmp(E->man[i].props, "ncx") &&
		    strcmp(E->man[i].type, "application/x-dtbncx+xml"))
			continue;
		if (read_entry(E, E->man[i].href, &data, &len))
			continue;
		doc = xmlReadMemory(data, (int)len, NULL, NULL, XMLFLAGS);
		root = doc ? xmlDocGetRootElement(doc) : NULL;
		dir = dir_of(E->man[i].href);
		for (xmlNode *c = root ? root->children : NULL; c; c = c->next)
			if (name_is(c, "navMap"))
				ncx_points(E, dir, c->children, 0, -1);
		xmlFreeDoc(doc);
		free(dir);
		free(data);
	}
}

/* ---- content documents ---- */

struct walk {
	struct epub *E;
	const char *file;
	struct bk_builder *bb; /* NULL in the note-collecting pass */
	int quote;
	int open; /* markup containers open (table, list...) */
	/* further chapters of the table of contents in this file: */
	const int *splits; /* toc indexes, in order */
	size_t nsplits, next;
	void (*split)(struct walk *w, int toc); /* starts that chapter */
	void *arg;
};

/* Whether n, or the first element inside it and so on down, has id (or
 * name) frag. */
static bool has_id(const xmlNode *n, const char *frag, int depth, int *budget);

static bool skip_element(const xmlNode *n)
{
	static const char *const skip[] = {
		"script",   "style",  "head",	  "title",  "nav",
		"svg",	    "math",   "noscript", "iframe", "object",
		"template", "button", "input",	  "select", "textarea",
		"img",	    NULL};

	for (size_t i = 0; skip[i]; i++)
		if (name_is(n, skip[i]))
			return true;
	return false;
}

static bool is_block_name(const xmlNode *n)
{
	static const char *const blocks[] = {
		"p",	 "div",	   "section", "article", "aside",  "blockquote",
		"ul",	 "ol",	   "li",      "h1",	 "h2",	   "h3",
		"h4",	 "h5",	   "h6",      "table",	 "thead",  "tbody",
		"tfoot", "tr",	   "td",      "th",	 "figure", "figcaption",
		"pre",	 "header", "footer",  "main",	 "dl",	   "dt",
		"dd",	 "hr",	   "body",    "caption", NULL};

	for (size_t i = 0; blocks[i]; i++)
		if (name_is(n, blocks[i]))
			return true;
	return false;
}

static bool has_block_child(const xmlNode *n)
{
	for (const xmlNode *c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && is_block_name(c))
			return true;
	return false;
}

static char *note_key(const char *file, const char *id)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "%s#%s", file, id);
	return buf_detach(&b, NULL);
}

static bool has_id(const xmlNode *n, const char *frag, int depth, int *budget)
{
	/* n, or the first element inside it, and so on down: an element
	 * that starts with the anchor starts the chapter */
	while (n && depth++ < 5 && (*budget)-- > 0) {
		char *id = attr(n, "id");
		char *nm = name_is(n, "a") ? attr(n, "name") : NULL;
		bool hit =
			(id && !strcmp(id, frag)) || (nm && !strcmp(nm, frag));

		xmlFree(id);
		xmlFree(nm);
		if (hit)
			return true;
		for (n = n->children; n && n->type != XML_ELEMENT_NODE;
		     n = n->next)
			if (n->type == XML_TEXT_NODE && n->content &&
			    bk_count_words((const char *)n->content,
					   strlen((const char *)n->content)))
				return false; /* text comes first */
	}
	return false;
}

static void inline_walk(struct walk *w, xmlNode *n, int depth);

/* A note reference: the sentinel instead of its text. */
static void noteref(struct walk *w, xmlNode *n)
{
	char *href = attr(n, "href");
	char *frag = NULL, *file, *key, *t;
	int idx;

	if (!href) {
		inline_walk(w, n->children, BK_MAX_DEPTH);
		return;
	}
	if (href[0] == '#') {
		file = xstrdup(w->file);
		frag = xstrdup(href + 1);
	} else {
		char *d = dir_of(w->file);

		file = resolve_path(d, href, &frag);
		free(d);
	}
	key = note_key(file, frag ? frag : "");
	t = text_of(n);
	idx = bk_chapter_add_ref(w->bb->ch, key, t);
	bb_ref(w->bb, idx);
	free(t);
	free(key);
	free(file);
	free(frag);
	xmlFree(href);
}

static void inline_walk(struct walk *w, xmlNode *n, int depth)
{
	for (; n; n = n->next) {
		if (--w->E->budget < 0)
			return;
		if (n->type == XML_TEXT_NODE ||
		    n->type == XML_CDATA_SECTION_NODE) {
			const char *s = (const char *)n->content;
			if (s)
				bb_text(w->bb, s, strlen(s));
			continue;
		}
		if (n->type != XML_ELEMENT_NODE || skip_element(n))
			continue;
		if (is_note(n, false))
			continue;
		if (is_noteref(n) && !w->bb->merge) {
			noteref(w, n);
			continue;
		}
		if (depth >= BK_MAX_DEPTH)
			continue;
		if (name_is(n, "br")) {
			bb_text(w->bb, " ", 1);
			continue;
		}
		if (is_block_name(n))
			bb_text(w->bb, " ", 1);
		if (name_is(n, "em") || name_is(n, "i") || name_is(n, "cite")) {
			bb_inline(w->bb, "<em>");
			inline_walk(w, n->children, depth + 1);
			bb_inline(w->bb, "</em>");
		} else if (name_is(n, "strong") || name_is(n, "b")) {
			bb_inline(w->bb, "<strong>");
			inline_walk(w, n->children, depth + 1);
			bb_inline(w->bb, "</strong>");
		} else if (name_is(n, "code")) {
			bb_inline(w->bb, "<code>");
			inline_walk(w, n->children, depth + 1);
			bb_inline(w->bb, "</code>");
		} else if (name_is(n, "a")) {
			char *href = attr(n, "href");
			bool ok = href && w->bb->cur &&
				  html_url_scheme_ok(href, strlen(href));

			if (ok) {
				struct buf a = BUF_INIT;

				buf_adds(&a, "<a href=\"");
				html_escape(&a, href, strlen(href));
				buf_adds(&a, "\" rel=\"nofollow noopener\">");
				bb_inline(w->bb, buf_str(&a));
				buf_free(&a);
			}
			inline_walk(w, n->children, depth + 1);
			if (ok)
				bb_inline(w->bb, "</a>");
			xmlFree(href);
		} else {
			inline_walk(w, n->children, depth + 1);
		}
		if (is_block_name(n))
			bb_text(w->bb, " ", 1);
	}
}

static void leaf(struct walk *w, xmlNode *n, enum bk_type type, const char *tag)
{
	bb_open(w->bb, type, tag, NULL);
	inline_walk(w, n->children, 0);
	bb_close(w->bb);
}

/* The <img> alone in a paragraph (no text beside it), or NULL. */
static xmlNode *lone_img(xmlNode *p)
{
	xmlNode *img = NULL;

	for (xmlNode *c = p->children; c; c = c->next) {
		if (c->type == XML_TEXT_NODE) {
			for (const xmlChar *t = c->content; t && *t; t++)
				if (!isspace(*t))
					return NULL;
		} else if (c->type == XML_ELEMENT_NODE) {
			if (img || !name_is(c, "img"))
				return NULL;
			img = c;
		}
	}
	return img;
}

/* An EPUB picture (R2-F1): the image entry is copied into the book's
 * figures (type sniffed, size-limited, counted against the EPUB's read
 * limits) and shown from /books/SLUG/PATH like a Markdown book's. */
static void epub_figure(struct walk *w, xmlNode *img, bool in_figure)
{
	char *src = attr(img, "src"), *alt = attr(img, "alt"), *full = NULL;
	char *dir = xstrdup(w->file), *slash = strrchr(dir, '/');
	char *data = NULL;
	size_t len;

	if (slash)
		slash[1] = '\0';
	else
		dir[0] = '\0';
	if (!src || strchr(src, ':'))
		goto out; /* none, or another site's */
	full = resolve_path(dir, src, NULL);
	if (!bk_safe_path(full, strlen(full))) {
		bk_warn(w->E->b, "figure %s left out: unusual path", full);
		goto out;
	}
	if (read_entry(w->E, full, &data, &len)) {
		if (!w->E->over)
			bk_warn(w->E->b, "figure %s left out: missing", full);
		goto out;
	}
	if (bk_figure_add(w->E->b, full, data, len)) {
		struct buf h = BUF_INIT;

		bb_close(w->bb);
		buf_addf(&h, "%s<img src=\"/books/%s/",
			 in_figure ? "" : "<figure>", w->E->b->slug);
		html_escape(&h, full, strlen(full));
		buf_adds(&h, "\" alt=\"");
		if (alt)
			html_escape(&h, alt, strlen(alt));
		buf_addf(&h, "\">%s", in_figure ? "" : "</figure>");
		bb_markup(w->bb, buf_str(&h));
		buf_free(&h);
	}
out:
	free(data);
	free(full);
	free(dir);
	xmlFree(src);
	xmlFree(alt);
}

/* Collecting pass: a footnote's text becomes one note (key: file#id),
 * its leading back-link and "1." label dropped. */
static void collect_note(struct walk *w, xmlNode *n, const char *id)
{
	struct bk_chapter tmp;
	struct bk_builder bb;
	struct walk w2 = *w;
	char *key = note_key(w->file, id);

	memset(&tmp, 0, sizeof(tmp));
	bb_init(&bb, &tmp);
	bb_open(&bb, BK_NOTE, "p", NULL);
	bb.merge = true;
	w2.bb = &bb;
	for (xmlNode *c = n->children; c; c = c->next) {
		/* a leading back-link */
		if (name_is(c, "a") && c == n->children)
			continue;
		if (c->type == XML_ELEMENT_NODE && is_block_name(c))
			inline_walk(&w2, c->children, 1);
		else {
			xmlNode *next = c->next;
			c->next = NULL;
			inline_walk(&w2, c, 1);
			c->next = next;
		}
		bb_text(&bb, " ", 1);
	}
	if (tmp.nitems) {
		struct bk_item *it = &tmp.items[0];
		char *t = xstrdup(buf_str(&it->text));
		size_t tl = strlen(t), k = 0;

		while (tl && t[tl - 1] == ' ')
			t[--tl] = '\0';
		/* a leading "1." or "1" label */
		while (k < tl && k < 4 && isdigit((unsigned char)t[k]))
			k++;
		if (k && k < tl &&
		    (t[k] == '.' || t[k] == ' ' || t[k] == ')')) {
			struct buf h = BUF_INIT;

			k++;
			while (t[k] == ' ')
				k++;
			html_escape(&h, t + k, tl - k);
			bk_notes_add(&w->E->notes, key, t + k, buf_str(&h));
			buf_free(&h);
		} else {
			bk_notes_add(&w->E->notes, key, t, buf_str(&it->html));
		}
		free(t);
		buf_free(&it->text);
		buf_free(&it->html);
	}
	free(tmp.items);
	free(key);
}

static void block_walk(struct walk *w, xmlNode *n, int depth, bool notes_list);

/* A structural element kept as markup around its blocks (table, rows,
 * lists, blockquote, figure); tfoot is written as tbody. */
static void container(struct walk *w, xmlNode *n, int depth, bool notes_list)
{
	const char *nm = (const char *)n->name;
	char open[24], close[24];

	if (!strcasecmp(nm, "tfoot"))
		nm = "tbody";
	snprintf(open, sizeof(open), "<%s>", nm);
	snprintf(close, sizeof(close), "</%s>", nm);
	for (char *c = open; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	for (char *c = close; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	bb_markup(w->bb, open);
	w->open++;
	if (name_is(n, "blockquote"))
		w->quote++;
	block_walk(w, n->children, depth + 1, notes_list);
	if (name_is(n, "blockquote"))
		w->quote--;
	w->open--;
	bb_markup(w->bb, close);
}

static void block_walk(struct walk *w, xmlNode *n, int depth, bool notes_list)
{
	for (; n; n = n->next) {
		if (--w->E->budget < 0)
			return;
		if (n->type == XML_TEXT_NODE) {
			if (w->bb && n->content)
				bb_text(w->bb, (const char *)n->content,
					strlen((const char *)n->content));
			continue;
		}
		if (w->bb && n->type == XML_ELEMENT_NODE &&
		    (name_is(n, "img") ||
		     ((name_is(n, "p") || name_is(n, "div")) && lone_img(n)))) {
			xmlNode *img = name_is(n, "img") ? n : lone_img(n);

			epub_figure(w, img,
				    n->parent && name_is(n->parent, "figure"));
			continue;
		}
		if (n->type != XML_ELEMENT_NODE || skip_element(n))
			continue;
		if (depth >= BK_MAX_DEPTH)
			continue;
		if (w->bb && w->next < w->nsplits && !w->open && !w->quote) {
			int budget = 8;

			if (has_id(n, w->E->toc[w->splits[w->next]].frag, 0,
				   &budget))
				w->split(w, w->splits[w->next++]);
		}
		if (is_note(n, notes_list)) {
			char *id = attr(n, "id");

			if (!w->bb && id)
				collect_note(w, n, id);
			xmlFree(id);
			continue;
		}
		if (!w->bb) {
			block_walk(w, n->children, depth + 1,
				   notes_list || typed(n, NOTES_WORDS));
			continue;
		}
		if (typed(n, NOTES_WORDS)) {
			block_walk(w, n->children, depth + 1, true);
			continue;
		}
		if (name_is(n, "h1") || name_is(n, "h2") || name_is(n, "h3") ||
		    name_is(n, "h4") || name_is(n, "h5") || name_is(n, "h6")) {
			leaf(w, n, BK_HEADING, (const char *)n->name);
		} else if (name_is(n, "td") || name_is(n, "th")) {
			leaf(w, n, BK_CELL, name_is(n, "th") ? "th" : "td");
		} else if (name_is(n, "figcaption") || name_is(n, "caption")) {
			leaf(w, n, BK_CAPTION,
			     name_is(n, "caption") ? "caption" : "figcaption");
		} else if (name_is(n, "table") || name_is(n, "thead") ||
			   name_is(n, "tbody") || name_is(n, "tfoot") ||
			   name_is(n, "tr") || name_is(n, "blockquote") ||
			   name_is(n, "figure") || name_is(n, "ul") ||
			   name_is(n, "ol")) {
			container(w, n, depth, notes_list);
		} else if (name_is(n, "hr")) {
			bb_markup(w->bb, "<hr>");
		} else if (name_is(n, "pre")) {
			leaf(w, n, w->quote ? BK_QUOTE : BK_PARAGRAPH, "pre");
		} else if (is_block_name(n) && has_block_child(n)) {
			bool li = name_is(n, "li");

			if (li)
				bb_markup(w->bb, "<li>");
			w->open += li;
			block_walk(w, n->children, depth + 1, notes_list);
			w->open -= li;
			bb_close(w->bb);
			if (li)
				bb_markup(w->bb, "</li>");
		} else if (is_block_name(n)) {
			bool li = name_is(n, "li");

			if (li)
				bb_markup(w->bb, "<li>");
			leaf(w, n, w->quote ? BK_QUOTE : BK_PARAGRAPH, "p");
			if (li)
				bb_markup(w->bb, "</li>");
		} else {
			/* inline content directly in a container */
			if (!w->bb->cur)
				bb_open(w->bb,
					w->quote ? BK_QUOTE : BK_PARAGRAPH, "p",
					NULL);
			xmlNode *next = n->next;
			n->next = NULL;
			inline_walk(w, n, depth + 1);
			n->next = next;
		}
	}
}

static xmlNode *body_of(xmlDoc *doc)
{
	xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;

	for (xmlNode *c = root ? root->children : NULL; c; c = c->next)
		if (name_is(c, "body"))
			return c;
	return root;
}

static void epub_free(struct epub *E)
{
	if (E->zip)
		zip_discard(E->zip);
	free(E->opf_dir);
	for (size_t i = 0; i < E->nman; i++) {
		free(E->man[i].id);
		free(E->man[i].href);
		free(E->man[i].type);
		free(E->man[i].props);
	}
	free(E->man);
	for (size_t i = 0; i < E->nspine; i++)
		free(E->spine[i]);
	free(E->spine);
	free(E->aux);
	for (size_t i = 0; i < E->ntoc; i++) {
		free(E->toc[i].file);
		free(E->toc[i].frag);
		free(E->toc[i].title);
	}
	free(E->toc);
	bk_notes_free(&E->notes);
}

/* What starting a chapter needs to know in the second pass. */
struct pass2 {
	struct bk_book *b;
	struct epub *E;
	struct bk_chapter **cur;
	int *cur_part; /* toc index of the current part */
	struct bk_builder *bb;
	const char *file;
};

/* Starts the chapter for toc entry t (-1: untitled), opening the part it
 * belongs to when that changes. */
static void begin(struct pass2 *P, int t)
{
	struct epub *E = P->E;
	char *title = NULL;
	int num = 0;

	if (t >= 0 && !E->toc[t].children && E->toc[t].depth == 0 &&
	    *P->cur_part >= 0) {
		/* back matter after the parts */
		bk_book_add_part(P->b, NULL);
		*P->cur_part = -1;
	}
	if (t >= 0 && E->toc[t].children && E->toc[t].depth == 0 &&
	    *P->cur_part != t) {
		/* a part starting inside a file */
		bk_book_add_part(P->b, E->toc[t].title);
		*P->cur_part = t;
	}
	if (t >= 0 && E->toc[t].depth > 0 && E->toc[t].parent >= 0 &&
	    E->toc[t].parent != *P->cur_part &&
	    E->toc[E->toc[t].parent].depth == 0) {
		/* a chapter of a part whose page is not in the spine */
		bk_book_add_part(P->b, E->toc[E->toc[t].parent].title);
		*P->cur_part = E->toc[t].parent;
	}
	if (t >= 0)
		num = bk_title_number(E->toc[t].title, &title);
	*P->cur = bk_book_add_chapter(P->b, title, num);
	free(title);
	if ((*P->cur)->title && !(*P->cur)->title[0]) {
		free((*P->cur)->title);
		(*P->cur)->title = NULL;
	}
	(*P->cur)->file = xstrdup(P->file);
}

/* The walk reached the start of toc entry t inside the same file. */
static void split_here(struct walk *w, int t)
{
	struct pass2 *P = w->arg;

	bb_close(P->bb);
	if (bk_book_nchapters(P->b) >= BK_MAX_CHAPTERS)
		return;
	/* a part heading alone: its chapter holds nothing else */
	if (*P->cur && *P->cur_part >= 0 && (*P->cur)->nitems <= 1 &&
	    (*P->cur)->title &&
	    !strcmp((*P->cur)->title, w->E->toc[*P->cur_part].title))
		bk_chapter_clear(*P->cur);
	begin(P, t);
	bb_init(P->bb, *P->cur);
}

/*
 * Pass 1: parses every spine document into docs[i] (NULL when missing or
 * repeated) and collects the notes they hold. 0, or SCH_EINVAL when the
 * EPUB went over a limit (E->over says which).
 */
static int parse_spine(struct epub *E, xmlDoc **docs)
{
	for (size_t i = 0; i < E->nspine; i++) {
		char *data;
		size_t len;
		struct walk w = {.E = E, .file = E->spine[i]};
		bool again = false;

		for (size_t k = 0; k < i && !again; k++)
			again = !strcmp(E->spine[k], E->spine[i]);
		if (again) { /* read (and shown) once */
			bk_warn(E->b, "spine item %s repeated; used once",
				E->spine[i]);
			continue;
		}
		if (read_entry(E, E->spine[i], &data, &len)) {
			if (E->over)
				return SCH_EINVAL;
			bk_warn(E->b, "spine item %s is missing", E->spine[i]);
			continue;
		}
		docs[i] = htmlReadMemory(data, (int)len, NULL, "UTF-8",
					 HTMLFLAGS);
		free(data);
		if (docs[i])
			block_walk(&w, body_of(docs[i]), 0, false);
	}
	return 0;
}

/* Whether file is the navigation document (the table of contents). */
static bool is_nav_doc(const struct epub *E, const char *file)
{
	for (size_t k = 0; k < E->nman; k++)
		if (!strcmp(E->man[k].href, file) &&
		    strstr(E->man[k].props, "nav") &&
		    strcmp(E->man[k].props, "ncx"))
			return true;
	return false;
}

/* The first toc entry in file (-1: none), and in *splits (caller frees)
 * the further entries that start another chapter inside it. */
static int toc_in_file(const struct epub *E, const char *file, int **splits,
		       size_t *nsplits)
{
	size_t cap = 0;
	int t = -1;

	*splits = NULL;
	*nsplits = 0;
	for (size_t k = 0; k < E->ntoc; k++) {
		if (strcmp(E->toc[k].file, file))
			continue;
		if (t < 0)
			t = (int)k;
		else if (E->toc[k].frag &&
			 (!E->toc[t].frag ||
			  strcmp(E->toc[k].frag, E->toc[t].frag)))
			/* another chapter further in this file */
			*VEC_PUSH(*splits, *nsplits, cap) = (int)k;
	}
	return t;
}

/*
 * Pass 2 for spine document i: starts the chapters (and parts) it opens,
 * or continues the current one, and fills them. false when the book holds
 * as many chapters as it may.
 */
static bool chapters_of(struct pass2 *P, size_t i, xmlDoc *doc)
{
	struct epub *E = P->E;
	struct walk w = {.E = E, .file = E->spine[i]};
	int *splits;
	size_t nsplits;
	int t = toc_in_file(E, E->spine[i], &splits, &nsplits);
	char *text = text_of(body_of(doc));
	size_t words = bk_count_words(text, strlen(text));

	free(text);
	if (t >= 0 && E->toc[t].children && E->toc[t].depth == 0 && !nsplits) {
		/* a part: its own page starts it */
		bk_book_add_part(P->b, E->toc[t].title);
		*P->cur_part = t;
		*P->cur = NULL;
		/* a part page with real text is also a chapter */
		if (words < 60)
			goto done;
	}
	if (t < 0 && (*P->cur || words == 0)) {
		/* continues the previous chapter, or a blank page */
		if (!*P->cur)
			goto done;
	} else {
		if (bk_book_nchapters(P->b) >= BK_MAX_CHAPTERS) {
			free(splits);
			return false;
		}
		begin(P, t);
	}
	bb_init(P->bb, *P->cur);
	w.bb = P->bb;
	w.splits = splits;
	w.nsplits = nsplits;
	w.split = split_here;
	w.arg = P;
	block_walk(&w, body_of(doc), 0, false);
	bb_close(P->bb);
done:
	free(splits);
	return true;
}

/* What the package did not say: no author, English, no licence. */
static void book_defaults(struct bk_book *b)
{
	if (!b->author)
		b->author = xstrdup("");
	if (!b->language)
		b->language = xstrdup("en");
	if (!b->licence)
		b->licence = xstrdup("");
	b->edition = xstrdup("1");
}

int bk_import_epub(const char *path, const char *slug, struct bk_book **out,
		   char *err, size_t errlen)
{
	struct epub E;
	struct bk_book *b = bk_book_new();
	struct bk_chapter *cur = NULL;
	struct bk_builder bb;
	int zerr = 0, rc;
	xmlDoc **docs = NULL;
	int cur_part = -2; /* toc index of the current part */

	*out = NULL;
	memset(&E, 0, sizeof(E));
	E.budget = 5000000;
	E.b = b;
	b->format = "epub";
	E.zip = zip_open(path, ZIP_RDONLY, &zerr);
	if (!E.zip) {
		snprintf(err, errlen, "%s: not a readable EPUB (zip error %d)",
			 path, zerr);
		rc = SCH_EINVAL;
		goto out;
	}
	rc = load_opf(&E, err, errlen, b);
	if (rc || E.over)
		goto too_much;
	load_toc(&E);
	/* figures name the slug in their URLs: settle it first */
	if (!b->title)
		b->title = xstrdup("Untitled");
	b->slug = slug ? xstrdup(slug) : bk_slugify(b->title);
	docs = xcalloc(E.nspine, sizeof(*docs));
	if (parse_spine(&E, docs))
		goto too_much;
	for (size_t i = 0; i < E.nspine; i++) {
		struct pass2 P = {b, &E, &cur, &cur_part, &bb, E.spine[i]};

		if (!docs[i] || E.aux[i])
			continue; /* auxiliary (notes): collected above */
		if (is_nav_doc(&E, E.spine[i]))
			continue; /* the table of contents itself */
		if (!chapters_of(&P, i, docs[i]))
			break;
	}
	book_defaults(b);
	bk_book_drop_empty(b);
	if (E.budget < 0)
		bk_warn(b, "the EPUB is too large; the rest was skipped");
	bk_book_finish(b, &E.notes);
	if (E.over)
		goto too_much;
	*out = b;
	b = NULL;
	rc = 0;
	goto out;
too_much:
	if (E.over) {
		snprintf(err, errlen,
			 "%s: EPUB refused, %s (nothing was imported)", path,
			 E.over);
		rc = SCH_EINVAL;
	}
out:
	for (size_t i = 0; docs && i < E.nspine; i++)
		xmlFreeDoc(docs[i]);
	free(docs);
	epub_free(&E);
	bk_book_free(b);
	return rc;
}
