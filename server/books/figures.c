/*
 * figures.c - the pictures a book shows, copied into the database at
 * import (issue 14, R2-F1).
 *
 * The server never reads a book folder after the import: a figure the
 * chapters reference (<img src="/books/SLUG/PATH">) is read once, only when
 * it is a regular file inside the book folder after every link is resolved,
 * at most BK_MAX_FIGURE bytes, and of an image type told by its first
 * bytes (PNG, JPEG, GIF, WebP, or an SVG made only of an allowlist of
 * drawing elements and attributes: SVG can carry script). What
 * passes is stored in the figures table with the edition; GET /books/...
 * (books.c) serves that copy to signed-in accounts only.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "books/internal.h"
#include "store/store.h"
#include "util/err.h"
#include "util/vec.h"

/* ---- SVG: only drawings made of an allowlist of elements and
 * presentation attributes pass; no script, event handlers, links, styles,
 * foreign objects, entities or url() references. */

static bool in_list(const char *const *list, const char *s)
{
	for (size_t i = 0; list[i]; i++)
		if (!strcmp(list[i], s))
			return true;
	return false;
}

static bool svg_node_ok(const xmlNode *n, int depth)
{
	static const char *const elements[] = {
		"svg",	   "g",	    "path",	"rect",	   "circle",
		"ellipse", "line",  "polyline", "polygon", "text",
		"tspan",   "title", "desc",	NULL};
	static const char *const attrs[] = {"viewBox",
					    "width",
					    "height",
					    "role",
					    "aria-labelledby",
					    "aria-label",
					    "aria-hidden",
					    "id",
					    "x",
					    "y",
					    "x1",
					    "y1",
					    "x2",
					    "y2",
					    "cx",
					    "cy",
					    "r",
					    "rx",
					    "ry",
					    "d",
					    "points",
					    "dx",
					    "dy",
					    "fill",
					    "stroke",
					    "stroke-width",
					    "stroke-linecap",
					    "stroke-linejoin",
					    "stroke-dasharray",
					    "opacity",
					    "fill-opacity",
					    "stroke-opacity",
					    "fill-rule",
					    "font-family",
					    "font-size",
					    "font-weight",
					    "font-style",
					    "text-anchor",
					    "dominant-baseline",
					    "transform",
					    "version",
					    "preserveAspectRatio",
					    NULL};

	if (depth > BK_MAX_DEPTH)
		return false;
	for (; n; n = n->next) {
		if (n->type == XML_TEXT_NODE || n->type == XML_COMMENT_NODE)
			continue;
		if (n->type != XML_ELEMENT_NODE ||
		    !in_list(elements, (const char *)n->name) ||
		    (n->ns && n->ns->href &&
		     strcmp((const char *)n->ns->href,
			    "http://www.w3.org/2000/svg")))
			return false;
		for (const xmlAttr *a = n->properties; a; a = a->next) {
			xmlChar *v;
			bool ok;

			if (a->ns || !in_list(attrs, (const char *)a->name))
				return false;
			v = xmlNodeListGetString(n->doc, a->children, 1);
			ok = !v || (!strstr((const char *)v, "url(") &&
				    !strchr((const char *)v, '&') &&
				    !strstr((const char *)v, "script"));
			xmlFree(v);
			if (!ok)
				return false;
		}
		if (!svg_node_ok(n->children, depth + 1))
			return false;
	}
	return true;
}

/* Whether data is an SVG drawing that passes the allowlist. */
static bool svg_ok(const char *data, size_t len)
{
	xmlDoc *doc;
	xmlNode *root;
	bool ok;

	if (len > INT32_MAX || memchr(data, '\0', len))
		return false;
	/* no DTD (entities), no network */
	if (bk_memmem(data, len, "<!", 2) &&
	    (bk_memmem(data, len, "<!DOCTYPE", 9) ||
	     bk_memmem(data, len, "<!ENTITY", 8) ||
	     bk_memmem(data, len, "<![CDATA[", 9)))
		return false;
	doc = xmlReadMemory(data, (int)len, NULL, NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR |
				    XML_PARSE_NOWARNING);
	if (!doc)
		return false;
	root = xmlDocGetRootElement(doc);
	ok = root && !strcmp((const char *)root->name, "svg") &&
	     !doc->intSubset && svg_node_ok(root, 0);
	xmlFreeDoc(doc);
	return ok;
}

const char *bk_figure_sniff(const char *data, size_t len)
{
	const unsigned char *d = (const unsigned char *)data;
	size_t i = 0;

	if (len >= 8 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8))
		return "image/png";
	if (len >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff)
		return "image/jpeg";
	if (len >= 6 && (!memcmp(d, "GIF87a", 6) || !memcmp(d, "GIF89a", 6)))
		return "image/gif";
	if (len >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4))
		return "image/webp";
	if (len >= 3 && !memcmp(d, "\xef\xbb\xbf", 3))
		i = 3;
	while (i < len &&
	       (d[i] == ' ' || d[i] == '\n' || d[i] == '\r' || d[i] == '\t'))
		i++;
	if (len - i >= 5 &&
	    (!memcmp(d + i, "<?xml", 5) || !memcmp(d + i, "<svg", 4)) &&
	    svg_ok(data, len))
		return "image/svg+xml";
	return NULL;
}

static bool have_figure(const struct bk_book *b, const char *path)
{
	for (size_t i = 0; i < b->nfigs; i++)
		if (!strcmp(b->figs[i].path, path))
			return true;
	return false;
}

bool bk_figure_add(struct bk_book *b, const char *path, const char *data,
		   size_t len)
{
	const char *type;
	struct bk_figure *f;

	if (have_figure(b, path))
		return true;
	if (len > BK_MAX_FIGURE) {
		bk_warn(b, "figure %s left out: over %u bytes", path,
			BK_MAX_FIGURE);
		return false;
	}
	type = bk_figure_sniff(data, len);
	if (!type) {
		bk_warn(b,
			"figure %s left out: not a PNG, JPEG, GIF or WebP "
			"image, nor a plain SVG drawing",
			path);
		return false;
	}
	if (b->nfigs >= BK_MAX_FIGURES ||
	    b->figbytes + len > BK_MAX_FIGURE_TOTAL) {
		bk_warn(b, "figure %s left out: too many figures", path);
		return false;
	}
	f = VEC_PUSH(b->figs, b->nfigs, b->capfigs);
	f->path = xstrdup(path);
	f->type = type;
	f->data = xmalloc(len ? len : 1);
	memcpy(f->data, data, len);
	f->len = len;
	b->figbytes += len;
	return true;
}

/* Reads dir/rel when it is a regular file inside dir (root = realpath of
 * dir) after resolving links; 0 or an error message in why. */
static int read_inside(const char *root, const char *rel, char **data,
		       size_t *len, const char **why)
{
	char want[PATH_MAX], real[PATH_MAX];
	size_t rl = strlen(root);
	struct stat st;
	int n = snprintf(want, sizeof(want), "%s/%s", root, rel);

	*why = "not found";
	if (n < 0 || (size_t)n >= sizeof(want) || !realpath(want, real))
		return -1;
	if (strncmp(real, root, rl) != 0 || real[rl] != '/') {
		*why = "outside the book folder";
		return -1;
	}
	if (stat(real, &st) || !S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		return -1;
	}
	if (st.st_size > (off_t)BK_MAX_FIGURE) {
		*why = "too large";
		return -1;
	}
	if (bk_read_file(real, BK_MAX_FIGURE, data, len)) {
		*why = "cannot be read";
		return -1;
	}
	return 0;
}

void bk_figures_from_dir(struct bk_book *b, const char *dir)
{
	char root[PATH_MAX], prefix[128];
	size_t pl;

	if (!realpath(dir, root))
		return;
	pl = (size_t)snprintf(prefix, sizeof(prefix), "<img src=\"/books/%s/",
			      b->slug);
	for (size_t p = 0; p < b->nparts; p++)
		for (size_t c = 0; c < b->parts[p].n; c++) {
			const char *h = b->parts[p].ch[c]->html;

			while (h && (h = strstr(h, prefix))) {
				const char *s = h + pl, *e = strchr(s, '"');
				char rel[256], *data = NULL;
				const char *why;
				size_t len;

				h = s;
				if (!e || (size_t)(e - s) >= sizeof(rel))
					continue;
				memcpy(rel, s, (size_t)(e - s));
				rel[e - s] = '\0';
				/* the importer only writes safe paths; keep
				 * it true whatever changes there */
				if (!bk_safe_path(rel, strlen(rel)) ||
				    have_figure(b, rel))
					continue;
				if (read_inside(root, rel, &data, &len, &why)) {
					bk_warn(b, "figure %s left out: %s",
						rel, why);
					continue;
				}
				bk_figure_add(b, rel, data, len);
				free(data);
			}
		}
}

int bk_figures_save(struct store *db, int64_t book, const struct bk_book *b)
{
	int rc = store_run(db, "DELETE FROM figures WHERE book = ?", "i", book);

	for (size_t i = 0; i < b->nfigs && !rc; i++)
		rc = store_run(db,
			       "INSERT INTO figures (book, path, type, data) "
			       "VALUES (?, ?, ?, ?)",
			       "ittB", book, b->figs[i].path, b->figs[i].type,
			       (const void *)b->figs[i].data, b->figs[i].len);
	return rc;
}
