/*
 * jsonout.h - compact JSON text of a jansson value, written straight into
 * one growing buffer. The same text json_dumps(v, JSON_COMPACT) gives
 * (members in the object's order, no spaces, strings escaped the same
 * way), at a fraction of its cost: jansson decodes every string code point
 * by code point through a callback, and serialising the event of a new
 * post twice (full and redacted) was 14% of the executor's time
 * (docs/benchmarks.md).
 */
#ifndef SCH_UTIL_JSONOUT_H
#define SCH_UTIL_JSONOUT_H

#include <jansson.h>

/* NUL-terminated malloc'd text, or NULL (a value jansson cannot dump:
 * a real that is not finite). */
char *jsonout_dump(const json_t *v);

#endif
