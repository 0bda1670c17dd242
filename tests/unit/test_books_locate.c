/*
 * test_books_locate.c - books_finder (books/locate.c): quotes without a
 * position, as e-readers copy them, found in the sample book. A ligature,
 * curly quotes, a word hyphenated across a line break and CRLF white space
 * are found at the book's own offsets; a passage that occurs twice is
 * ambiguous unless its prefix singles one out; a quote the book does not
 * hold, or one too far from any passage for the matcher's floor, is not
 * found; a small slip is placed by the re-anchoring matcher.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/fixture.h"

#include "books/books.h"
#include "util/utf8.h"

static const char FLANNEL[] =
	"The characteristic product of the district was flannel \xe2\x80\x94 "
	"a light, soft woollen cloth \xe2\x80\x94 and by the eighteenth "
	"century Rochdale flannel was sold across the country and abroad.";
static const char TWICE[] = "the largest businesses in the country";

/* The text of [start, end) of the chapter (caller frees). */
static char *slice(struct fixture *f, const struct books_found *r)
{
	char *text = NULL, *out;
	size_t len, a, b;

	assert_int_equal(books_chapter_text(f->db, r->chapter, &text, &len), 0);
	a = utf8_offset(text, len, (size_t)r->start);
	b = utf8_offset(text, len, (size_t)r->end);
	out = malloc(b - a + 1);
	assert_non_null(out);
	memcpy(out, text + a, b - a);
	out[b - a] = '\0';
	free(text);
	return out;
}

static void find(struct fixture *f, const char *q, const char *pre,
		 const char *suf, struct books_found *r)
{
	struct books_finder *fd = books_finder_new(f->db, f->book, 0);

	assert_non_null(fd);
	books_finder_find(fd, q, pre, suf, r);
	books_finder_free(fd);
}

static void test_ereader_text_is_found(void **state)
{
	struct fixture *f = *state;
	struct books_found r;
	char *s;

	find(f,
	     "The characteristic product of the district was \xef\xac\x82"
	     "annel - a light, soft woollen cloth \xe2\x80\x93 and by the "
	     "eigh-\r\n"
	     "teenth century  Rochdale \xef\xac\x82"
	     "annel was sold across the country and abroad.",
	     NULL, NULL, &r);
	assert_int_equal(r.status, BOOKS_FIND_PLACED);
	s = slice(f, &r);
	assert_string_equal(s, FLANNEL);
	free(s);
	assert_int_equal(r.end - r.start,
			 (int64_t)utf8_count(FLANNEL, strlen(FLANNEL)));

	find(f,
	     "gathered outside to jeer at the \xe2\x80\x9c"
	     "owd weavers\xe2\x80\x99 shop\xe2\x80\x9d",
	     NULL, NULL, &r);
	assert_int_equal(r.status, BOOKS_FIND_PLACED);
	s = slice(f, &r);
	assert_string_equal(
		s, "gathered outside to jeer at the \"owd weavers' shop\"");
	free(s);
}

static void test_repeats_are_ambiguous_unless_context_decides(void **state)
{
	struct fixture *f = *state;
	struct books_found r, a, b;
	char *s;

	find(f, TWICE, NULL, NULL, &r);
	assert_int_equal(r.status, BOOKS_FIND_AMBIGUOUS);
	find(f, TWICE, "Manchester was one of ", NULL, &a);
	find(f, TWICE, "the Scottish Wholesale were among ", NULL, &b);
	assert_int_equal(a.status, BOOKS_FIND_PLACED);
	assert_int_equal(b.status, BOOKS_FIND_PLACED);
	assert_true(a.chapter != b.chapter);
	s = slice(f, &b);
	assert_string_equal(s, TWICE);
	free(s);
	/* a context that fits both equally decides nothing */
	find(f, TWICE, "xyz ", NULL, &r);
	assert_int_equal(r.status, BOOKS_FIND_AMBIGUOUS);
}

static void test_missing_and_far_quotes_are_not_found(void **state)
{
	struct fixture *f = *state;
	struct books_found r;

	find(f, "It was the best of times, it was the worst of times.", NULL,
	     NULL, &r);
	assert_int_equal(r.status, BOOKS_FIND_NOT_FOUND);
	find(f, "", NULL, NULL, &r);
	assert_int_equal(r.status, BOOKS_FIND_NOT_FOUND);
	/* half the words changed: below the floor, never placed */
	find(f,
	     "The typical export of the county was wool, a heavy, hard "
	     "cotton cloth, and in the nineteenth century Oldham",
	     NULL, NULL, &r);
	assert_int_equal(r.status, BOOKS_FIND_NOT_FOUND);
}

static void test_a_slip_is_placed_by_the_matcher(void **state)
{
	struct fixture *f = *state;
	struct books_found r;
	char *s;

	find(f,
	     "Owen was born in 1771 in Newtown in mid Wales, the son of a "
	     "saddler and ironmonger.",
	     NULL, NULL, &r);
	assert_int_equal(r.status, BOOKS_FIND_PLACED);
	s = slice(f, &r);
	assert_non_null(strstr(s, "Newtown, in mid-Wales, the son of a"));
	free(s);
}

static void test_one_chapter(void **state)
{
	struct fixture *f = *state;
	struct books_finder *fd;
	struct books_found r, all;

	find(f, FLANNEL, NULL, NULL, &all);
	assert_int_equal(all.status, BOOKS_FIND_PLACED);
	fd = books_finder_new(f->db, 0, all.chapter);
	books_finder_find(fd, FLANNEL, NULL, NULL, &r);
	books_finder_free(fd);
	assert_int_equal(r.status, BOOKS_FIND_PLACED);
	assert_int_equal(r.start, all.start);
	/* the same quote in another chapter's finder is not there */
	fd = books_finder_new(f->db, 0,
			      all.chapter == f->ch[0] ? f->ch[1] : f->ch[0]);
	books_finder_find(fd, FLANNEL, NULL, NULL, &r);
	books_finder_free(fd);
	assert_int_equal(r.status, BOOKS_FIND_NOT_FOUND);
	assert_null(books_finder_new(f->db, 0, 987654));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ereader_text_is_found,
						fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_repeats_are_ambiguous_unless_context_decides,
			fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_missing_and_far_quotes_are_not_found,
			fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
			test_a_slip_is_placed_by_the_matcher, fixture_setup,
			fixture_teardown),
		cmocka_unit_test_setup_teardown(test_one_chapter, fixture_setup,
						fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
