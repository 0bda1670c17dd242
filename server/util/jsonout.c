/*
 * jsonout.c - compact JSON text of a jansson value (jsonout.h).
 */
#include "util/jsonout.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

/* A string as jansson writes it without JSON_ENSURE_ASCII and
 * JSON_ESCAPE_SLASH: '"', '\\' and the control characters escaped, every
 * other byte (UTF-8 included) as it is. */
static void put_string(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, run = 0;

	buf_addch(b, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_add(b, s + run, i - run);
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			buf_add(b, esc, 2);
			break;
		case '\b':
			buf_add(b, "\\b", 2);
			break;
		case '\f':
			buf_add(b, "\\f", 2);
			break;
		case '\n':
			buf_add(b, "\\n", 2);
			break;
		case '\r':
			buf_add(b, "\\r", 2);
			break;
		case '\t':
			buf_add(b, "\\t", 2);
			break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			buf_add(b, esc, 6);
		}
	}
	buf_add(b, s + run, n - run);
	buf_addch(b, '"');
}

static bool put_value(struct buf *b, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *key;
		json_t *m;
		bool first = true;

		buf_addch(b, '{');
		json_object_foreach((json_t *)v, key, m)
		{
			if (!first)
				buf_addch(b, ',');
			first = false;
			put_string(b, key, strlen(key));
			buf_addch(b, ':');
			if (!put_value(b, m))
				return false;
		}
		buf_addch(b, '}');
		return true;
	}
	case JSON_ARRAY: {
		size_t i, n = json_array_size(v);

		buf_addch(b, '[');
		for (i = 0; i < n; i++) {
			if (i)
				buf_addch(b, ',');
			if (!put_value(b, json_array_get(v, i)))
				return false;
		}
		buf_addch(b, ']');
		return true;
	}
	case JSON_STRING:
		put_string(b, json_string_value(v), json_string_length(v));
		return true;
	case JSON_INTEGER:
		buf_addf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return true;
	case JSON_REAL: {
		/* rare here: jansson's own text for it */
		char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

		if (!s)
			return false;
		buf_adds(b, s);
		free(s);
		return true;
	}
	case JSON_TRUE:
		buf_add(b, "true", 4);
		return true;
	case JSON_FALSE:
		buf_add(b, "false", 5);
		return true;
	case JSON_NULL:
		buf_add(b, "null", 4);
		return true;
	}
	return false;
}

char *jsonout_dump(const json_t *v)
{
	struct buf b = BUF_INIT;

	if (!v)
		return NULL;
	buf_grow(&b, 1024);
	if (!put_value(&b, v)) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}
