/*
 * fuzz_match.c - libFuzzer target for the re-anchoring matcher
 * books_match_quote(). The input is split at its first three 0x01 bytes
 * into text, exact, prefix and suffix (missing parts are empty); the first
 * byte of the text also seeds old_start. The result must name one of the
 * five states and, when it found the quote, a range inside the text
 * (code points, so never past the byte length).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "books/books.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy, *part[4] = {NULL, NULL, NULL, NULL};
	struct books_match m;
	int64_t old_start;
	size_t text_len;
	int n = 0;

	if (size > 20000)
		return 0;
	copy = malloc(size + 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	part[n++] = copy;
	for (size_t i = 0; i < size && n < 4; i++)
		if (copy[i] == '\x01') {
			copy[i] = '\0';
			part[n++] = copy + i + 1;
		}
	for (int i = n; i < 4; i++)
		part[i] = copy + size;
	text_len = strlen(part[0]);
	old_start = size ? (int64_t)data[0] * 7 - 100 : 0;
	memset(&m, 0, sizeof(m));
	books_match_quote(part[0], text_len, part[1], part[2], part[3],
			  old_start, &m);
	if (!m.state ||
	    (strcmp(m.state, "exact") && strcmp(m.state, "moved") &&
	     strcmp(m.state, "fuzzy") && strcmp(m.state, "needs_review") &&
	     strcmp(m.state, "orphaned"))) {
		fprintf(stderr, "bad state %s\n", m.state ? m.state : "NULL");
		abort();
	}
	if (strcmp(m.state, "orphaned") &&
	    (m.start < 0 || m.end < m.start || (size_t)m.end > text_len)) {
		fprintf(stderr, "range %lld..%lld outside %zu bytes\n",
			(long long)m.start, (long long)m.end, text_len);
		abort();
	}
	free(copy);
	return 0;
}
