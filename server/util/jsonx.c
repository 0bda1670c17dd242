/*
 * jsonx.c - small Jansson idioms (see jsonx.h).
 */
#include "util/jsonx.h"

json_int_t jsonx_sum(const json_t *obj)
{
	const char *k;
	json_t *v;
	json_int_t n = 0;

	json_object_foreach((json_t *)obj, k, v)
	{
		(void)k;
		n += json_integer_value(v);
	}
	return n;
}

json_t *jsonx_as_array(json_t *v)
{
	if (json_is_object(v))
		return json_pack("[O]", v);
	return json_incref(v);
}
