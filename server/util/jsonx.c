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

void jsonx_copy_str(json_t *dst, const char *dkey, const json_t *src,
		    const char *skey)
{
	json_t *v = json_object_get(src, skey);

	if (json_is_string(v))
		json_object_set(dst, dkey, v);
}

json_t *jsonx_as_array(json_t *v)
{
	if (json_is_object(v))
		return json_pack("[O]", v);
	return json_incref(v);
}
