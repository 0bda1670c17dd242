/*
 * fuzz_import.c - libFuzzer targets for the book importers, one executable
 * per importer chosen at compile time with FUZZ_IMPORTER:
 *
 *   1 plain text   bk_import_text_mem() on the bytes
 *   2 Markdown     bk_import_md_file() on the bytes written to a temp file
 *   3 folder       bk_import_md_folder() on a temp folder: when the input
 *                  holds a NUL byte, what precedes it is book.json and what
 *                  follows is the chapter file ch1.md; otherwise book.json
 *                  is fixed and the whole input is ch1.md
 *   4 EPUB         bk_import_epub() on the bytes written as a .epub file
 *
 * Every importer only builds the in-memory book (the same thing
 * `scholia import --dry-run` reports from); nothing touches a database.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "books/internal.h"

#ifndef FUZZ_IMPORTER
#error "define FUZZ_IMPORTER"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[256];

#if FUZZ_IMPORTER != 1
static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (!f) {
		perror(path);
		abort();
	}
	if (n && fwrite(p, 1, n, f) != n) {
		perror(path);
		abort();
	}
	fclose(f);
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bk_book *b = NULL;
	char err[512] = "", path[512];
	int rc;

	if (size > 1000000)
		return 0;
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/scholia-fuzz-imp-XXXXXX");
		if (!mkdtemp(dir))
			abort();
	}
#if FUZZ_IMPORTER == 1
	(void)path;
	rc = bk_import_text_mem((const char *)data, size, "fuzz", &b, err,
				sizeof(err));
#elif FUZZ_IMPORTER == 2
	snprintf(path, sizeof(path), "%s/book.md", dir);
	write_file(path, data, size);
	rc = bk_import_md_file(path, NULL, &b, err, sizeof(err));
#elif FUZZ_IMPORTER == 3
	{
		static const char meta[] =
			"{\"slug\":\"fuzz\",\"title\":\"Fuzz\",\"parts\":"
			"[{\"title\":\"One\",\"chapters\":[{\"file\":"
			"\"ch1.md\",\"number\":1}]}]}";
		const uint8_t *nul = memchr(data, 0, size);
		char chpath[512];

		snprintf(path, sizeof(path), "%s/book.json", dir);
		snprintf(chpath, sizeof(chpath), "%s/ch1.md", dir);
		if (nul) {
			write_file(path, data, (size_t)(nul - data));
			write_file(chpath, nul + 1,
				   size - (size_t)(nul - data) - 1);
		} else {
			write_file(path, meta, strlen(meta));
			write_file(chpath, data, size);
		}
		rc = bk_import_md_folder(dir, NULL, &b, err, sizeof(err));
	}
#elif FUZZ_IMPORTER == 4
	snprintf(path, sizeof(path), "%s/book.epub", dir);
	write_file(path, data, size);
	rc = bk_import_epub(path, "fuzz", &b, err, sizeof(err));
#else
#error "unknown FUZZ_IMPORTER"
#endif
	if (rc == 0 && !b) {
		fprintf(stderr, "importer succeeded without a book\n");
		abort();
	}
	if (rc != 0 && b) {
		fprintf(stderr, "importer failed (%s) but returned a book\n",
			err);
		abort();
	}
	bk_book_free(b);
	return 0;
}
