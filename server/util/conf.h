/*
 * conf.h - the config file reader: `key = value` lines, `#` comments.
 *
 * The file names settings like the long flags without their dashes
 * (`port = 8080`, `public-url = https://circles.example.org`). The reader
 * knows nothing of which keys exist: it hands each pair to a callback, which
 * says whether the pair is acceptable; every problem is reported with the
 * file's name and the line number, so that `scholia config check` can list
 * them all at once.
 */
#ifndef SCH_CONF_H
#define SCH_CONF_H

#include <stddef.h>
#include <stdio.h>

/* Called for each `key = value` line. key and value are trimmed, value has
 * one pair of surrounding double quotes removed; both are borrowed and live
 * only for the call (copy what you keep). Return 0 to accept, or non-zero
 * after writing why into msg (msglen bytes). */
typedef int (*conf_fn)(const char *key, const char *value, int line, void *ctx,
		       char *msg, size_t msglen);

/* Reads path and calls fn for each setting. Malformed lines and refused
 * settings are printed to errs (may be NULL) as "PATH:LINE: message".
 * Returns the number of problems found (0: the file is good), or -1 when the
 * file cannot be read (the reason printed to errs too). */
int conf_read(const char *path, conf_fn fn, void *ctx, FILE *errs);

#endif
