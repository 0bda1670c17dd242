/*
 * test_books_anchor_corpus.c - re-anchoring measured on a generated corpus.
 *
 * A book of 8 chapters (about 20,000 words of generated prose: common
 * English function words mixed with made-up content words) is imported,
 * 400 passages are annotated, and a corrected edition made from it
 * programmatically is re-imported. Each annotation's passage is changed in
 * one of these ways (the kinds of issue 14's corpus):
 *   unchanged      nothing (other paragraphs around it still change)
 *   inserted       1-4 words inserted right before the quote
 *   edited         one word inside the quote replaced (when that changes
 *                  less than a fifth of it), or a typo in it
 *   deleted        its paragraph deleted
 *   lookalike      its paragraph deleted, a near copy (one word inside the
 *                  quote differs) left elsewhere in both editions
 *   moved          its paragraph moved elsewhere in the chapter
 *   repeated       the quote also occurs in another paragraph (both
 *                  editions) and words are inserted right before it
 *   rep-gone       the quote also occurs in another paragraph (both
 *                  editions) and its own paragraph is deleted
 * Quotes start at a paragraph's start, end at its end, or sit inside it.
 * Every outcome is classified:
 *   correct  the expected state at the expected place (exact/moved at the
 *            quote's new offsets, fuzzy within a few code points of the
 *            edited passage, orphaned for deletions, needs_review or
 *            orphaned for look-alikes and rep-gone)
 *   review   needs_review where the passage could have been taken
 *   lost     orphaned although the passage (or its edit) is still there
 *   wrong    taken at another place, or taken although it was deleted
 * The test asserts 0 wrong, 0 lost and at least 95 % correct, and prints
 * the figures (TEST_VERBOSE=1 lists every miss).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/db.h"

#include "books/books.h"
#include "modules.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/utf8.h"

#define NCH 8
#define NBASE 62 /* generated paragraphs per chapter */
#define NANN 400
#define MAXP 128 /* paragraphs per chapter, extras included */

enum kind {
	UNCHANGED,
	INSERTED,
	EDITED,
	DELETED,
	LOOKALIKE,
	MOVED,
	REPEATED,
	REPEAT_GONE,
	NKINDS
};
static const char *const kind_name[NKINDS] = {
	"unchanged", "inserted", "edited",   "deleted",
	"lookalike", "moved",	 "repeated", "rep-gone"};
/* how many annotations of each kind (sums to NANN) */
static const int kind_count[NKINDS] = {60, 60, 60, 40, 40, 60, 50, 30};

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static const char *const FUNC[] = {
	"the",	"of",  "and",  "to",   "in",   "a",	"that", "was",
	"he",	"it",  "for",  "with", "as",   "his",	"on",	"by",
	"they", "had", "were", "from", "this", "which", "but",	"their"};
static const char *const SYL[] = {
	"ka", "lo",   "mi", "ren", "sa", "tor", "vel", "do",  "pan", "que",
	"ri", "ston", "ma", "gel", "fi", "nor", "bu",  "cha", "wes", "ly"};

static void word(struct buf *b, bool cap)
{
	if (rnd(10) < 4) {
		const char *w = FUNC[rnd(sizeof(FUNC) / sizeof(*FUNC))];

		buf_addf(b, "%c%s", cap ? w[0] - 32 : w[0], w + 1);
		return;
	}
	for (uint32_t i = 0, n = 1 + rnd(3); i < n; i++) {
		const char *s = SYL[rnd(sizeof(SYL) / sizeof(*SYL))];

		buf_addf(b, "%c%s", cap && i == 0 ? s[0] - 32 : s[0], s + 1);
	}
}

/* A content word (never a function word), for replacements. */
static char *content_word(void)
{
	struct buf b = BUF_INIT;

	for (uint32_t i = 0, n = 2 + rnd(2); i < n; i++)
		buf_adds(&b, SYL[rnd(sizeof(SYL) / sizeof(*SYL))]);
	return b.data;
}

static char *words(int n)
{
	struct buf b = BUF_INIT;

	for (int i = 0; i < n; i++) {
		if (i)
			buf_adds(&b, " ");
		word(&b, false);
	}
	return b.data;
}

static char *paragraph(void)
{
	struct buf b = BUF_INIT;

	for (uint32_t s = 0, ns = 3 + rnd(4); s < ns; s++) {
		uint32_t nw = 6 + rnd(12);

		if (s)
			buf_adds(&b, " ");
		for (uint32_t w = 0; w < nw; w++) {
			if (w)
				buf_adds(&b, w == nw / 2 && rnd(3) == 0 ? ", "
									: " ");
			word(&b, w == 0);
		}
		buf_adds(&b, ".");
	}
	return b.data;
}

/* Byte offsets of the words of p (starts; ends exclusive, punctuation
 * included). */
static int word_spans(const char *p, size_t *ws, size_t *we, int max)
{
	int n = 0;
	size_t i = 0, len = strlen(p);

	while (i < len && n < max) {
		ws[n] = i;
		while (i < len && p[i] != ' ')
			i++;
		we[n++] = i;
		while (i < len && p[i] == ' ')
			i++;
	}
	return n;
}

/* s with [at, at + cut) replaced by ins. */
static char *splice(const char *s, size_t at, size_t cut, const char *ins)
{
	struct buf b = BUF_INIT;

	buf_add(&b, s, at);
	buf_adds(&b, ins);
	buf_adds(&b, s + at + cut);
	return b.data;
}

struct ann {
	enum kind kind;
	int ch;
	char *para;  /* the paragraph in the new edition (NULL: gone) */
	size_t qoff; /* quote's byte offset in para */
	size_t qlen; /* its length there */
	char *quote; /* the quote as annotated */
	int64_t id;
	char *decoy; /* look-alike or repeat paragraph */
	size_t doff; /* the decoy's quote offset */
};

struct chapter {
	char *old[MAXP], *new[MAXP];
	int nold, nnew;
	bool used[MAXP]; /* base paragraph taken by an annotation */
};

static struct chapter chs[NCH];
static struct ann anns[NANN];

static void insert_at(char **v, int *n, int at, char *p)
{
	memmove(v + at + 1, v + at, (size_t)(*n - at) * sizeof(*v));
	v[at] = p;
	(*n)++;
}

static int index_of(char **v, int n, const char *p)
{
	for (int i = 0; i < n; i++)
		if (v[i] == p)
			return i;
	return -1;
}

/* Chooses a quote in p: at its start, at its end or inside it. */
static void pick_quote(const char *p, size_t *off, size_t *len)
{
	size_t ws[256], we[256];
	int n = word_spans(p, ws, we, 256), w = 3 + (int)rnd(8), a;
	uint32_t where = rnd(3);

	if (w > n - 2)
		w = n - 2;
	if (where == 0)
		a = 0;
	else if (where == 1)
		a = n - w;
	else
		a = 1 + (int)rnd((uint32_t)(n - w - 1));
	*off = ws[a];
	*len = we[a + w - 1] - ws[a];
}

static void build(void)
{
	int order[NCH * NBASE], next = 0, k = 0;

	for (int c = 0; c < NCH; c++) {
		chs[c].nold = NBASE;
		for (int i = 0; i < NBASE; i++)
			chs[c].old[i] = paragraph();
	}
	for (int i = 0; i < NCH * NBASE; i++)
		order[i] = i;
	for (int i = NCH * NBASE - 1; i > 0; i--) {
		int j = (int)rnd((uint32_t)i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (int kd = 0; kd < NKINDS; kd++)
		for (int i = 0; i < kind_count[kd]; i++, k++) {
			struct ann *a = &anns[k];
			int c = order[next] / NBASE, pi = order[next] % NBASE;
			char *p = chs[c].old[pi];

			next++;
			a->kind = (enum kind)kd;
			a->ch = c;
			a->id = k + 1;
			chs[c].used[pi] = true;
			pick_quote(p, &a->qoff, &a->qlen);
			a->quote = strndup(p + a->qoff, a->qlen);
			a->para = p;
		}
	/* decoys join the old edition at random places */
	for (k = 0; k < NANN; k++) {
		struct ann *a = &anns[k];
		struct chapter *ch = &chs[a->ch];

		if (a->kind == LOOKALIKE) {
			/* the same paragraph with one word inside the quote
			 * changed */
			size_t ws[256], we[256], qs = a->qoff;
			int n = word_spans(a->quote, ws, we, 256);
			int w = 1 + (int)rnd((uint32_t)(n - 2));
			char *cw = content_word();

			a->decoy =
				splice(a->para, qs + ws[w], we[w] - ws[w], cw);
			a->doff = a->qoff;
			free(cw);
		} else if (a->kind == REPEATED || a->kind == REPEAT_GONE) {
			char *pre = words(5 + (int)rnd(10));
			char *post = words(5 + (int)rnd(10));
			struct buf b = BUF_INIT;

			buf_addf(&b, "%c%s %s %s.", pre[0] - 32, pre + 1,
				 a->quote, post);
			a->decoy = b.data;
			a->doff = strlen(pre) + 1;
			free(pre);
			free(post);
		} else {
			continue;
		}
		insert_at(ch->old, &ch->nold, (int)rnd((uint32_t)ch->nold + 1),
			  a->decoy);
	}
}

/* The corrected edition. */
static void mutate(void)
{
	for (int c = 0; c < NCH; c++) {
		memcpy(chs[c].new, chs[c].old, sizeof(chs[c].old));
		chs[c].nnew = chs[c].nold;
	}
	for (int k = 0; k < NANN; k++) {
		struct ann *a = &anns[k];
		struct chapter *ch = &chs[a->ch];
		int at = index_of(ch->new, ch->nnew, a->para);
		char *np = NULL;

		assert_true(at >= 0);
		switch (a->kind) {
		case UNCHANGED:
			break;
		case INSERTED:
		case REPEATED: {
			char *w = words(1 + (int)rnd(4));
			char *ins;

			if (a->qoff == 0)
				w[0] = (char)(w[0] - 32);
			ins = malloc(strlen(w) + 2);
			sprintf(ins, "%s ", w);
			np = splice(a->para, a->qoff, 0, ins);
			a->qoff += strlen(ins);
			free(w);
			free(ins);
			break;
		}
		case EDITED: {
			size_t ws[256], we[256];
			int n = word_spans(a->quote, ws, we, 256);
			int w = 1 + (int)rnd((uint32_t)(n - 2));
			size_t wl = we[w] - ws[w];

			char *cw = content_word();

			/* a word replaced by another when the change stays
			 * under a fifth of the quote (the matcher allows a
			 * quarter), else a typo */
			if (rnd(2) == 0 &&
			    5 * (wl > strlen(cw) ? wl : strlen(cw)) <=
				    a->qlen) {

				np = splice(a->para, a->qoff + ws[w], wl, cw);
				a->qlen = a->qlen - wl + strlen(cw);
			} else {
				/* a typo: one letter of the word changed */
				char *t =
					strndup(a->para + a->qoff + ws[w], wl);

				t[wl / 2] = t[wl / 2] == 'x' ? 'z' : 'x';
				np = splice(a->para, a->qoff + ws[w], wl, t);
				free(t);
			}
			free(cw);
			break;
		}
		case DELETED:
		case LOOKALIKE:
		case REPEAT_GONE:
			memmove(ch->new + at, ch->new + at + 1,
				(size_t)(ch->nnew - at - 1) * sizeof(char *));
			ch->nnew--;
			a->para = NULL;
			continue;
		case MOVED: {
			int to;

			memmove(ch->new + at, ch->new + at + 1,
				(size_t)(ch->nnew - at - 1) * sizeof(char *));
			ch->nnew--;
			do
				to = (int)rnd((uint32_t)ch->nnew + 1);
			while (to == at);
			insert_at(ch->new, &ch->nnew, to, a->para);
			continue;
		}
		default:
			break;
		}
		if (np) {
			ch->new[at] = np;
			a->para = np;
		}
	}
	/* new paragraphs here and there shift everything after them */
	for (int c = 0; c < NCH; c++)
		for (int i = 0; i < 5; i++)
			insert_at(chs[c].new, &chs[c].nnew,
				  (int)rnd((uint32_t)chs[c].nnew + 1),
				  paragraph());
}

static void write_edition(const char *dir, bool edited)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/book.json", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "{\"slug\":\"corpus\",\"title\":\"Corpus\",\"parts\":"
		    "[{\"title\":\"Part\",\"chapters\":[");
	for (int c = 0; c < NCH; c++)
		fprintf(fp, "%s{\"file\":\"%02d.md\",\"number\":%d}",
			c ? "," : "", c + 1, c + 1);
	fprintf(fp, "]}]}");
	fclose(fp);
	for (int c = 0; c < NCH; c++) {
		char **v = edited ? chs[c].new : chs[c].old;
		int n = edited ? chs[c].nnew : chs[c].nold;

		snprintf(path, sizeof(path), "%s/%02d.md", dir, c + 1);
		fp = fopen(path, "w");
		assert_non_null(fp);
		fprintf(fp, "# Chapter %d\n\n", c + 1);
		for (int i = 0; i < n; i++)
			fprintf(fp, "%s\n\n", v[i]);
		fclose(fp);
	}
}

static void import(struct store *db, const char *dir)
{
	char err[256] = "";
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	int rc = books_cli_import(db, dir, NULL, false, out, err, sizeof(err));

	fclose(out);
	if (rc)
		fail_msg("import: %s", err);
	free(text);
}

static int64_t chapter_id(struct store *db, int c)
{
	int64_t id = 0;

	assert_int_equal(store_int_query(db, &id,
					 "SELECT id FROM chapters "
					 "WHERE number = ?",
					 "i", (int64_t)c + 1),
			 1);
	return id;
}

/* Code point offset in the chapter's text of byte offset off of paragraph
 * p (which must occur once). */
static int64_t cp_in_chapter(const char *text, const char *p, size_t off)
{
	const char *at = strstr(text, p);

	assert_non_null(at);
	assert_null(strstr(at + 1, p));
	return (int64_t)utf8_count(text, (size_t)(at - text) + off);
}

static void free_all(void)
{
	for (int c = 0; c < NCH; c++) {
		for (int i = 0; i < chs[c].nnew; i++)
			if (index_of(chs[c].old, chs[c].nold, chs[c].new[i]) <
			    0)
				free(chs[c].new[i]);
		for (int i = 0; i < chs[c].nold; i++)
			free(chs[c].old[i]);
	}
	for (int k = 0; k < NANN; k++)
		free(anns[k].quote);
}

static void test_corpus(void **state)
{
	char dbpath[64], dir[64] = "/tmp/sch-corpus-XXXXXX", cmd[128];
	struct store *db;
	char *texts[NCH];
	int64_t ids[NCH];
	int correct = 0, review = 0, lost = 0, wrong = 0;
	int by_kind[NKINDS][4] = {{0}};
	bool verbose = getenv("TEST_VERBOSE") != NULL;

	(void)state;
	if (getenv("ANCHOR_CORPUS_SEED")) /* to try other corpora */
		rng = strtoull(getenv("ANCHOR_CORPUS_SEED"), NULL, 0) | 1;
	modules_init();
	db = fixture_open_db(dbpath, sizeof(dbpath), "corpus");
	assert_non_null(mkdtemp(dir));
	build();
	write_edition(dir, false);
	import(db, dir);
	for (int c = 0; c < NCH; c++) {
		size_t len;

		ids[c] = chapter_id(db, c);
		assert_int_equal(
			books_chapter_text(db, ids[c], &texts[c], &len), 0);
	}
	for (int k = 0; k < NANN; k++) {
		struct ann *a = &anns[k];
		int64_t s = cp_in_chapter(texts[a->ch], a->para, a->qoff);
		json_t *target = json_pack(
			"{s:[{s:s,s:s},{s:s,s:I,s:I}]}", "selector", "type",
			"TextQuoteSelector", "exact", a->quote, "type",
			"TextPositionSelector", "start", (json_int_t)s, "end",
			(json_int_t)(s + (int64_t)strlen(a->quote)));
		json_t *norm = NULL;
		char field[64];

		assert_int_equal(books_anchor_create(db, a->id, ids[a->ch],
						     target, 4000, &norm, field,
						     sizeof(field)),
				 BOOKS_ANCHOR_OK);
		json_decref(norm);
		json_decref(target);
	}
	for (int c = 0; c < NCH; c++)
		free(texts[c]);

	mutate();
	write_edition(dir, true);
	import(db, dir);
	for (int c = 0; c < NCH; c++) {
		size_t len;

		assert_int_equal(
			books_chapter_text(db, ids[c], &texts[c], &len), 0);
	}
	for (int k = 0; k < NANN; k++) {
		struct ann *a = &anns[k];
		json_t *target, *sel;
		const char *st;
		int64_t s, e, xs = -1, xe = -1;
		int verdict; /* 0 correct, 1 review, 2 lost, 3 wrong */
		bool taken;

		assert_int_equal(books_anchor_get(db, a->id, &target, &st), 0);
		sel = json_object_get(target, "selector");
		s = json_integer_value(
			json_object_get(json_array_get(sel, 1), "start"));
		e = json_integer_value(
			json_object_get(json_array_get(sel, 1), "end"));
		json_decref(target);
		taken = !strcmp(st, "exact") || !strcmp(st, "moved") ||
			!strcmp(st, "fuzzy");
		if (a->para) {
			xs = cp_in_chapter(texts[a->ch], a->para, a->qoff);
			xe = xs + (int64_t)a->qlen;
		}
		if (a->kind == DELETED || a->kind == LOOKALIKE ||
		    a->kind == REPEAT_GONE) {
			if (taken)
				verdict = 3;
			else if (!strcmp(st, "orphaned") || a->kind != DELETED)
				verdict = 0;
			else
				verdict = 1;
		} else if (taken) {
			bool at = a->kind == EDITED ? llabs(s - xs) <= 4 &&
							      llabs(e - xe) <= 4
						    : s == xs && e == xe;

			verdict =
				at && (a->kind == EDITED || strcmp(st, "fuzzy"))
					? 0
					: 3;
		} else {
			verdict = !strcmp(st, "needs_review") ? 1 : 2;
		}
		by_kind[a->kind][verdict]++;
		if (verdict == 0)
			correct++;
		else if (verdict == 1)
			review++;
		else if (verdict == 2)
			lost++;
		else
			wrong++;
		if (verbose && verdict)
			print_message("%s #%lld: %s at %lld-%lld, expected "
				      "%lld-%lld: \"%s\"\n",
				      kind_name[a->kind], (long long)a->id, st,
				      (long long)s, (long long)e, (long long)xs,
				      (long long)xe, a->quote);
	}
	print_message("re-anchoring corpus: %d annotations: %d correct, "
		      "%d review, %d lost, %d wrong\n",
		      NANN, correct, review, lost, wrong);
	for (int kd = 0; kd < NKINDS; kd++)
		print_message("  %-10s correct %d, review %d, lost %d, "
			      "wrong %d\n",
			      kind_name[kd], by_kind[kd][0], by_kind[kd][1],
			      by_kind[kd][2], by_kind[kd][3]);
	for (int c = 0; c < NCH; c++)
		free(texts[c]);
	free_all();
	fixture_close_db(db, dbpath);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(wrong, 0);
	assert_int_equal(lost, 0);
	assert_true(correct * 100 >= NANN * 95);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
