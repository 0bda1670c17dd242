/*
 * html.c - HTML escaping and the link-scheme allowlist (see html.h).
 */
#include "util/html.h"
#include "util/buf.h"

#include <string.h>
#include <strings.h>

void html_escape(struct buf *out, const char *s, size_t n)
{
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		const char *rep;

		switch (s[i]) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		case '\0':
			rep = "\xEF\xBF\xBD";
			break;
		default:
			continue;
		}
		buf_add(out, s + run, i - run);
		buf_adds(out, rep);
		run = i + 1;
	}
	buf_add(out, s + run, n - run);
}

bool html_url_scheme_ok(const char *url, size_t n)
{
	static const char *const ok[] = {"http://", "https://", "mailto:"};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		size_t l = strlen(ok[i]);

		if (n > l && strncasecmp(url, ok[i], l) == 0)
			return true;
	}
	return false;
}
