/*
 * fuzz_markdown.c - libFuzzer target for the annotation/reply body renderer
 * threads_render_markdown(): any bytes in, and the HTML out must be a
 * NUL-terminated string with no raw "<script" or "javascript:" link in it
 * (the renderer allows no raw HTML and only http/https/mailto links).
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
	char *html;

	if (size > 100000)
		return 0;
	html = threads_render_markdown((const char *)data, size);
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
