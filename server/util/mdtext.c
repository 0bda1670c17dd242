/*
 * mdtext.c - untrusted text into Markdown (see mdtext.h).
 */
#include "util/mdtext.h"

#include <string.h>

#include "util/buf.h"

void mdtext_inline(struct buf *out, const char *s, size_t max_cp)
{
	size_t cp = 0;

	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		if ((*p & 0xc0) != 0x80) {
			if (max_cp && cp == max_cp) {
				buf_adds(out, "…");
				return;
			}
			cp++;
		}
		if (*p == '\n' || *p == '\r' || *p == '\t') {
			buf_addch(out, ' ');
			continue;
		}
		if (*p < 0x20)
			continue;
		if (*p == '<') {
			buf_adds(out, "&lt;");
			continue;
		}
		if (strchr("\\`*_[]#!|~>&", *p))
			buf_addch(out, '\\');
		buf_addch(out, (char)*p);
	}
}

void mdtext_quote(struct buf *out, const char *text, const char *indent)
{
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		buf_adds(out, indent);
		buf_adds(out, n ? "> " : ">");
		for (size_t i = 0; i < n; i++) {
			if (p[i] == '<')
				buf_adds(out, "&lt;");
			else if (p[i] != '\r')
				buf_addch(out, p[i]);
		}
		buf_addch(out, '\n');
		if (!nl)
			break;
		p = nl + 1;
	}
}
