/*
 * fuzz_markdown.c - libFuzzer target for the annotation/reply body renderer
 * threads_render_markdown(): any bytes in, and the HTML out must be a
 * NUL-terminated string with no raw "<script" or "javascript:" link in it
 * (the renderer allows no raw HTML and only http/https/mailto links).
 *
 * The input is passed NUL-terminated, as the server does (bodies are jansson
 * strings): md4c 0.4.8 reads the byte after its input when the text ends in
 * an unfinished link destination ("[a]("), which the terminator makes
 * harmless. See docs/security.md, finding F5; the seed unterminated-link.md
 * keeps that case covered.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "threads/threads.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int has_ci(const char *h, const char *n)
{
	size_t nl = strlen(n);

	for (; *h; h++)
		if (strncasecmp(h, n, nl) == 0)
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *html, *src;

	if (size > 100000)
		return 0;
	src = malloc(size + 1);
	if (!src)
		return 0;
	memcpy(src, data, size);
	src[size] = '\0';
	html = threads_render_markdown(src, size);
	free(src);
	if (!html)
		return 0;
	if (has_ci(html, "<script") || has_ci(html, "href=\"javascript:") ||
	    has_ci(html, "<iframe")) {
		fprintf(stderr, "unsafe HTML rendered: %s\n", html);
		abort();
	}
	free(html);
	return 0;
}
