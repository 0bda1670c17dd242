/*
 * bench_import.c - how long the book side takes at scale (not part of ctest;
 * build and run with tests/bench/bench_import.sh).
 *
 * Generates a 150,000-word book (15 chapters of 10,000 words, footnotes, a
 * table), then times each phase: parsing, the first import, creating 10,000
 * anchors, a re-import of an edited edition (a paragraph inserted at the
 * top of every chapter, a word changed in one paragraph in twenty, one
 * paragraph in a hundred deleted) that re-anchors all of them, and
 * chapter.get cold and warm.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth.h"
#include "books/books.h"
#include "books/internal.h"
#include "modules.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "util/utf8.h"

#define CHAPTERS 15
#define WORDS_PER_CHAPTER 10000
#define WORDS_PER_PARA 100
#define ANCHORS 10000

static const char *const VOCAB[] = {
	"the",	      "store",	   "weavers",	"of",	     "Rochdale",
	"opened",     "in",	   "winter",	"with",	     "flour",
	"butter",     "sugar",	   "oatmeal",	"members",   "dividend",
	"capital",    "shares",	   "society",	"pioneers",  "co-operative",
	"principles", "education", "library",	"wholesale", "movement",
	"Toad",	      "Lane",	   "committee", "met",	     "every",
	"Thursday",   "evening",   "and",	"wages",     "were",
	"low",	      "bread",	   "dear",	"hours",     "long",
	"mills",      "flannel",   "Owen",	"Chartists", "petition",
	"strike",     "vote",	   "equal",	"one",	     "pound",
	NULL};

static unsigned long long rng = 88172645463325252ull;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Paragraph p of chapter c (deterministic). */
static void para(struct buf *b, int c, int p, bool edited)
{
	unsigned long long save = rng;
	size_t nv = 0;

	while (VOCAB[nv])
		nv++;
	rng = 0x9e3779b97f4a7c15ull * (unsigned long long)(c * 1000 + p + 1);
	for (int w = 0; w < WORDS_PER_PARA; w++) {
		const char *word = VOCAB[rnd((unsigned)nv)];

		if (edited && w == WORDS_PER_PARA / 2)
			word = "corrected";
		buf_addf(b, "%s%s", w ? " " : "", word);
		if (w % 17 == 16)
			buf_addch(b, ',');
	}
	buf_adds(b, ".");
	rng = save;
}

static void write_book(const char *dir, bool edited)
{
	char path[512];
	struct buf meta = BUF_INIT;

	mkdir(dir, 0700);
	buf_adds(&meta, "{\"slug\":\"bench\",\"title\":\"Bench\",\"parts\":[{"
			"\"title\":\"Part One\",\"chapters\":[");
	for (int c = 0; c < CHAPTERS; c++) {
		struct buf b = BUF_INIT;
		FILE *f;

		buf_addf(&meta, "%s{\"file\":\"%02d.md\",\"number\":%d}",
			 c ? "," : "", c + 1, c + 1);
		buf_addf(&b, "# Chapter title %d\n\n", c + 1);
		if (edited)
			buf_adds(&b, "A new opening paragraph for the second "
				     "edition.\n\n");
		for (int p = 0; p < WORDS_PER_CHAPTER / WORDS_PER_PARA; p++) {
			if (edited && p % 100 == 37)
				continue; /* deleted */
			para(&b, c, p, edited && p % 20 == 3);
			if (p % 25 == 0)
				buf_addf(&b, "[^n%d]", p);
			buf_adds(&b, "\n\n");
		}
		buf_adds(&b,
			 "| Year | Members |\n|---|---|\n| 1844 | 28 |\n\n");
		for (int p = 0; p < WORDS_PER_CHAPTER / WORDS_PER_PARA; p += 25)
			buf_addf(&b, "[^n%d]: A note on paragraph %d.\n", p, p);
		snprintf(path, sizeof(path), "%s/%02d.md", dir, c + 1);
		f = fopen(path, "w");
		fwrite(b.data, 1, b.len, f);
		fclose(f);
		buf_free(&b);
	}
	buf_adds(&meta, "]}]}");
	snprintf(path, sizeof(path), "%s/book.json", dir);
	{
		FILE *f = fopen(path, "w");
		fwrite(meta.data, 1, meta.len, f);
		fclose(f);
	}
	buf_free(&meta);
}

int main(void)
{
	char dir[] = "/tmp/sch-bench-XXXXXX", dbpath[600], err[256] = "";
	char bookdir[600];
	struct store_opts o = STORE_OPTS_INIT;
	struct store *db;
	struct bk_book *b = NULL;
	double t0, t;
	int64_t chapters[CHAPTERS];
	char *text[CHAPTERS];
	FILE *devnull = fopen("/dev/null", "w");
	char *report = NULL;
	size_t replen = 0;
	FILE *rep;
	int made = 0;

	modules_init();
	if (!mkdtemp(dir))
		return 1;
	snprintf(bookdir, sizeof(bookdir), "%s/book", dir);
	snprintf(dbpath, sizeof(dbpath), "%s/bench.db", dir);
	t0 = now();
	write_book(bookdir, false);
	printf("generate %d words:        %8.1f ms\n",
	       CHAPTERS * WORDS_PER_CHAPTER, (now() - t0) * 1e3);

	t0 = now();
	if (bk_import_md_folder(bookdir, NULL, &b, err, sizeof(err))) {
		fprintf(stderr, "parse: %s\n", err);
		return 1;
	}
	t = now() - t0;
	{
		int words = 0;
		for (size_t p = 0; p < b->nparts; p++)
			for (size_t c = 0; c < b->parts[p].n; c++)
				words += b->parts[p].ch[c]->words;
		printf("parse (Markdown, blocks): %8.1f ms  (%d words "
		       "counted)\n",
		       t * 1e3, words);
	}
	bk_book_free(b);

	o.path = dbpath;
	o.migrations_dir = SCHOLIA_SOURCE_DIR "/migrations";
	o.durability = STORE_DURABILITY_NORMAL;
	if (store_open(&o, &db, err, sizeof(err))) {
		fprintf(stderr, "open: %s\n", err);
		return 1;
	}
	t0 = now();
	if (books_cli_import(db, bookdir, NULL, false, devnull, err,
			     sizeof(err))) {
		fprintf(stderr, "import: %s\n", err);
		return 1;
	}
	printf("first import (parse+save):%8.1f ms\n", (now() - t0) * 1e3);

	for (int c = 0; c < CHAPTERS; c++) {
		size_t len;

		store_int_query(db, &chapters[c],
				"SELECT id FROM chapters "
				"WHERE number = ?",
				"i", (int64_t)(c + 1));
		books_chapter_text(db, chapters[c], &text[c], &len);
	}
	struct bk_text tt[CHAPTERS];

	for (int c = 0; c < CHAPTERS; c++)
		bk_text_init(&tt[c], text[c], strlen(text[c]));
	t0 = now();
	store_begin(db);
	for (int a = 0; a < ANCHORS; a++) {
		int c = a % CHAPTERS;
		size_t n = tt[c].n;
		size_t len = 20 + rnd(180), s = rnd((unsigned)(n - len));
		size_t bs = tt[c].off[s];
		size_t be = tt[c].off[s + len];
		char *q = strndup(text[c] + bs, be - bs);
		json_t *tg =
			json_pack("{s:[{s:s,s:s},{s:s,s:I,s:I}]}", "selector",
				  "type", "TextQuoteSelector", "exact", q,
				  "type", "TextPositionSelector", "start",
				  (json_int_t)s, "end", (json_int_t)(s + len));
		json_t *norm = NULL;
		char field[64];

		if (books_anchor_create(db, a + 1, chapters[c], tg, 4000, &norm,
					field,
					sizeof(field)) == BOOKS_ANCHOR_OK)
			made++;
		json_decref(norm);
		json_decref(tg);
		free(q);
	}
	store_commit(db);
	for (int c = 0; c < CHAPTERS; c++)
		bk_text_free(&tt[c]);
	printf("create %d anchors:     %8.1f ms  (%d made)\n", ANCHORS,
	       (now() - t0) * 1e3, made);

	write_book(bookdir, true);
	rep = open_memstream(&report, &replen);
	t0 = now();
	if (books_cli_import(db, bookdir, NULL, false, rep, err, sizeof(err))) {
		fprintf(stderr, "re-import: %s\n", err);
		return 1;
	}
	t = now() - t0;
	fclose(rep);
	printf("re-import + re-anchor:    %8.1f ms\n", t * 1e3);
	{
		const char *r = strstr(report, "Re-anchoring:");
		const char *nl = r ? strchr(r, '\n') : NULL;

		if (r)
			printf("  %.*s\n", (int)(nl - r), r);
	}
	free(report);

	{
		struct rpc_ctx *ctx;
		json_t *res = NULL, *e = NULL;
		int calls = 2000;

		json_t *params =
			json_pack("{s:I}", "chapter", (json_int_t)chapters[0]);

		if (auth_cli_create_account(db, "bench", NULL, false, NULL, "",
					    devnull, err, sizeof(err))) {
			fprintf(stderr, "account: %s\n", err);
			return 1;
		}
		ctx = rpc_ctx_new_local(db, auth_account_by_handle(db, "bench"),
					false);
		books_cache_clear();
		t0 = now();
		rpc_call_local(ctx, "chapter.get", params, &res, &e);
		printf("chapter.get cold (10k words): %6.3f ms\n",
		       (now() - t0) * 1e3);
		json_decref(res);
		json_decref(e);
		t0 = now();
		for (int i = 0; i < calls; i++) {
			res = e = NULL;
			rpc_call_local(ctx, "chapter.get", params, &res, &e);
			json_decref(res);
			json_decref(e);
		}
		printf("chapter.get warm (10k words): %6.3f ms per call\n",
		       (now() - t0) * 1e3 / calls);
		/* what the core then spends turning the reply into bytes */
		res = e = NULL;
		rpc_call_local(ctx, "chapter.get", params, &res, &e);
		t0 = now();
		for (int i = 0; i < 200; i++) {
			char *js = json_dumps(res, JSON_COMPACT);

			if (i == 0)
				printf("reply size:                   %6zu "
				       "bytes\n",
				       strlen(js));
			free(js);
		}
		printf("json_dumps of the reply:      %6.3f ms\n",
		       (now() - t0) * 1e3 / 200);
		json_decref(res);
		json_decref(e);
		rpc_ctx_free_local(ctx);
		json_decref(params);
	}
	for (int c = 0; c < CHAPTERS; c++)
		free(text[c]);
	store_close(db);
	fclose(devnull);
	{
		char cmd[700];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd))
			return 1;
	}
	return 0;
}
