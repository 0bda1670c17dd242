/*
 * jsonx.h - small Jansson idioms several modules wrote for themselves.
 */
#ifndef SCH_JSONX_H
#define SCH_JSONX_H

#include <jansson.h>

/* The sum of obj's integer members (0 when obj is not an object): the
 * total of a post's "reactions" {"agree": 2, ...}. */
json_int_t jsonx_sum(const json_t *obj);

/* Sets dst's dkey to src's skey when that is a string (shared, not
 * copied); leaves dst as it is otherwise. */
void jsonx_copy_str(json_t *dst, const char *dkey, const json_t *src,
		    const char *skey);

/* v as an array (new reference): an object becomes a one-element array;
 * anything else, NULL included, is v itself (json_array_foreach over a
 * non-array does nothing). For W3C fields that take one or many. */
json_t *jsonx_as_array(json_t *v);

#endif
