/*
 * html.h - the two things every HTML writer in the server must agree on:
 * how text is escaped and which link schemes may become an href. Books
 * (chapter HTML) and threads (Markdown bodies) both use these.
 */
#ifndef SCH_HTML_H
#define SCH_HTML_H

#include <stdbool.h>
#include <stddef.h>

struct buf;

/* Appends s[0..n) to out with & < > " ' escaped (safe in text and in
 * quoted attribute values); a NUL byte becomes U+FFFD. */
void html_escape(struct buf *out, const char *s, size_t n);

/* True if url[0..n) starts with http://, https:// or mailto: (any case)
 * and has something after it: the only links the server emits. */
bool html_url_scheme_ok(const char *url, size_t n);

#endif
