/*
 * test_util.c - the small helpers of server/util/ that several modules
 * share instead of writing their own copy (issue 16, item 5): the UTF-8
 * encoder, RFC 3339 dates, Markdown text, the Jansson idioms, the vector.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/intern.h"
#include "util/jsonx.h"
#include "util/mdtext.h"
#include "util/rfc3339.h"
#include "util/utf8.h"
#include "util/vec.h"

static void test_utf8_encode(void **state)
{
	static const struct {
		uint32_t cp;
		const char *utf8;
	} cases[] = {
		{0x41, "A"},
		{0x7f, "\x7f"},
		{0x80, "\xc2\x80"},
		{0xe9, "\xc3\xa9"},
		{0x7ff, "\xdf\xbf"},
		{0x800, "\xe0\xa0\x80"},
		{0x2014, "\xe2\x80\x94"},
		{0xfffd, "\xef\xbf\xbd"},
		{0xffff, "\xef\xbf\xbf"},
		{0x10000, "\xf0\x90\x80\x80"},
		{0x1f600, "\xf0\x9f\x98\x80"},
		{0x10ffff, "\xf4\x8f\xbf\xbf"},
	};
	char out[4];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = utf8_encode(cases[i].cp, out);

		assert_int_equal(n, strlen(cases[i].utf8));
		assert_memory_equal(out, cases[i].utf8, n);
		assert_true(utf8_valid(out, n));
		assert_int_equal(utf8_count(out, n), 1);
	}
}

static void test_rfc3339_date(void **state)
{
	char d[RFC3339_DATE_LEN];

	(void)state;
	rfc3339_date(0, d, sizeof(d));
	assert_string_equal(d, "1970-01-01");
	rfc3339_date(1795726316, d, sizeof(d)); /* 2026-11-26T20:51:56Z */
	assert_string_equal(d, "2026-11-26");
	rfc3339_date(1795726316 + 3 * 3600 + 8 * 60 + 3, d, sizeof(d));
	assert_string_equal(d, "2026-11-26"); /* 23:59:59, same day */
	rfc3339_date(1795726316 + 3 * 3600 + 8 * 60 + 4, d, sizeof(d));
	assert_string_equal(d, "2026-11-27");
}

static void test_mdtext_inline(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	mdtext_inline(&b, "a *b*\n_c_ <d> [e](f) #1\t|x|", 0);
	assert_string_equal(
		buf_str(&b),
		"a \\*b\\* \\_c\\_ &lt;d\\> \\[e\\](f) \\#1 \\|x\\|");
	buf_reset(&b);
	mdtext_inline(&b,
		      "\x01"
		      "ok",
		      0); /* control bytes dropped */
	assert_string_equal(buf_str(&b), "ok");
	buf_reset(&b);
	mdtext_inline(&b, "h\xc3\xa9llo", 3); /* code points, not bytes */
	assert_string_equal(buf_str(&b), "h\xc3\xa9l\xe2\x80\xa6");
	buf_reset(&b);
	mdtext_inline(&b, "abc", 3); /* not cut: no ellipsis */
	assert_string_equal(buf_str(&b), "abc");
	buf_reset(&b);
	mdtext_inline(&b, NULL, 0);
	assert_string_equal(buf_str(&b), "");
	buf_free(&b);
}

static void test_mdtext_quote(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	mdtext_quote(&b, "one <b>\r\n\ntwo", "  ");
	assert_string_equal(buf_str(&b), "  > one &lt;b>\n  >\n  > two\n");
	buf_reset(&b);
	mdtext_quote(&b, "last\n", "");
	assert_string_equal(buf_str(&b), "> last\n");
	buf_free(&b);
}

static void test_jsonx(void **state)
{
	json_t *r = json_pack("{s:i,s:i,s:s}", "agree", 2, "question", 3, "odd",
			      "x");
	json_t *src = json_pack("{s:s,s:i}", "name", "Ann", "n", 1);
	json_t *dst = json_object(), *one, *many, *arr;

	(void)state;
	assert_int_equal(jsonx_sum(r), 5);
	assert_int_equal(jsonx_sum(NULL), 0);
	jsonx_copy_str(dst, "nickname", src, "name");
	jsonx_copy_str(dst, "count", src, "n"); /* not a string: left out */
	jsonx_copy_str(dst, "none", src, "missing");
	assert_int_equal(json_object_size(dst), 1);
	assert_string_equal(json_string_value(json_object_get(dst, "nickname")),
			    "Ann");
	one = jsonx_as_array(src);
	assert_true(json_is_array(one));
	assert_int_equal(json_array_size(one), 1);
	assert_ptr_equal(json_array_get(one, 0), src);
	arr = json_pack("[i,i]", 1, 2);
	many = jsonx_as_array(arr);
	assert_ptr_equal(many, arr);
	assert_null(jsonx_as_array(NULL));
	json_decref(many);
	json_decref(arr);
	json_decref(one);
	json_decref(dst);
	json_decref(src);
	json_decref(r);
}

static void test_vec(void **state)
{
	int64_t *v = NULL;
	size_t n = 0, cap = 0;

	(void)state;
	for (int64_t i = 0; i < 1000; i++)
		*VEC_PUSH(v, n, cap) = i * 3;
	assert_int_equal(n, 1000);
	assert_true(cap >= n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(v[i], (int64_t)i * 3);
	free(v);
}

/* Equal strings share one copy while held; each holder's put releases
 * its reference only (ASan reports a copy freed too early). */
static void test_intern(void **state)
{
	const char *a, *b, *c, *e;
	char buf[8];

	(void)state;
	a = intern_get("Mozilla/5.0");
	snprintf(buf, sizeof(buf), "%s", "Mozill");
	b = intern_get("Mozilla/5.0");
	c = intern_get(buf);
	e = intern_get(NULL);
	assert_ptr_equal(a, b);
	assert_ptr_not_equal(a, c);
	assert_string_equal(c, "Mozill");
	assert_string_equal(e, "");
	intern_put(a);
	assert_string_equal(b, "Mozilla/5.0");
	assert_ptr_equal(intern_get("Mozilla/5.0"), b);
	intern_put(b);
	intern_put(b);
	intern_put(c);
	intern_put(e);
	intern_put(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_encode),
		cmocka_unit_test(test_rfc3339_date),
		cmocka_unit_test(test_mdtext_inline),
		cmocka_unit_test(test_mdtext_quote),
		cmocka_unit_test(test_jsonx),
		cmocka_unit_test(test_vec),
		cmocka_unit_test(test_intern),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
