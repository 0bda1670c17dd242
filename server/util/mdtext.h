/*
 * mdtext.h - writing untrusted text into a Markdown document so that it
 * stays text: one line of inline text with Markdown's punctuation escaped,
 * or a block quote. The meeting digest (export/) and the meeting record
 * (meetings/) both write names, quotes and bodies this way.
 */
#ifndef SCH_MDTEXT_H
#define SCH_MDTEXT_H

#include <stddef.h>

struct buf;

/*
 * Appends s (may be NULL: nothing) to out as one line of inline Markdown
 * text: line breaks and tabs become spaces, other control bytes are
 * dropped, '<' is written "&lt;" and Markdown punctuation is
 * backslash-escaped. At most max_cp code points (0: no limit), followed by
 * an ellipsis when cut.
 */
void mdtext_inline(struct buf *out, const char *s, size_t max_cp);

/* Appends text as a block quote: each of its lines prefixed by indent and
 * "> " (">" for an empty line), '<' written "&lt;", CRs dropped. */
void mdtext_quote(struct buf *out, const char *text, const char *indent);

#endif
