/*
 * utf8.h - code point counting and validation. SPEC: text lengths and
 * selector offsets are counted in Unicode code points.
 */
#ifndef SCH_UTF8_H
#define SCH_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True if s[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
bool utf8_valid(const char *s, size_t len);
/* Number of code points in a valid UTF-8 string of len bytes. */
size_t utf8_count(const char *s, size_t len);
/* Byte offset of code point number cp (clamped to len). */
size_t utf8_offset(const char *s, size_t len, size_t cp);
/* Writes code point cp (a scalar value: the caller has checked it) as
 * UTF-8 into out; returns the number of bytes, 1 to 4. */
size_t utf8_encode(uint32_t cp, char out[4]);

#endif
