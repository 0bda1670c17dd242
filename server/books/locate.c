/*
 * locate.c - finding a quote that comes without a position (books.h,
 * books_finder_*): highlights imported from Kindle or KOReader, and W3C
 * targets that carry a TextQuoteSelector alone.
 *
 * E-readers copy what they display, not the source: "ﬁ" for "fi", curly
 * quotes for straight ones, a word hyphenated across a line ("co-\n
 * operative"), runs of white space. Both the chapter and the quote are
 * therefore normalised to one comparable form, with each normalised code
 * point remembering the span of the original it came from, so a hit maps
 * back to real offsets. A verbatim hit (in the normalised form) counts
 * every occurrence in the book: more than one is ambiguous unless the
 * prefix/suffix context singles one out. No verbatim hit: the re-anchoring
 * matcher (anchor.c) runs on the normalised texts with its own scores and
 * floor, without the nearness term (there is no old position), and only a
 * passage at or above the floor is placed. Nothing is placed on a guess.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "books/internal.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/utf8.h"
#include "util/vec.h"

static const char SQL_CHAPTERS[] =
	"SELECT id, text FROM chapters WHERE book = ?1 AND edition = "
	"(SELECT MAX(edition) FROM chapters WHERE book = ?1) "
	"ORDER BY position";
static const char SQL_ONE[] = "SELECT id, text FROM chapters WHERE id = ?";

/* A normalised text: code points and, for each, its original span. */
struct ntext {
	uint32_t *cp;
	size_t *os, *oe; /* original code point span [os, oe) */
	size_t n, cap;
	char *utf8; /* cp as UTF-8, for the matcher */
};

struct fchapter {
	int64_t id;
	struct ntext t;
};

/*
 * The approximate search costs about (quote length / 64) x (book length)
 * machine words, and much more for short quotes that match loosely in many
 * places; an import of a thousand quotes the book does not hold must not
 * hold the store thread (every circle's writes) for minutes. Past either
 * budget per finder, a quote not found verbatim is simply not found. The
 * time budget is what binds in practice (measured: a 40-character quote
 * of words not in the book took about 0.4 s on the sample book).
 */
#define FINDER_FUZZY_BUDGET 200000000ULL
#define FINDER_FUZZY_SECONDS 2.0
/* Quotes shorter than this are never searched approximately: a quarter of
 * their length in edits would match almost anywhere. */
#define FINDER_FUZZY_MIN_CP 16

struct books_finder {
	struct fchapter *ch;
	size_t n;
	size_t total;		   /* code points of every chapter */
	unsigned long long budget; /* word operations left for step 2 */
	double seconds;		   /* time spent in step 2 so far */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nt_push(struct ntext *t, uint32_t c, size_t os, size_t oe)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		t->cp = xrealloc(t->cp, t->cap * sizeof(*t->cp));
		t->os = xrealloc(t->os, t->cap * sizeof(*t->os));
		t->oe = xrealloc(t->oe, t->cap * sizeof(*t->oe));
	}
	t->cp[t->n] = c;
	t->os[t->n] = os;
	t->oe[t->n] = oe;
	t->n++;
}

static void nt_free(struct ntext *t)
{
	free(t->cp);
	free(t->os);
	free(t->oe);
	free(t->utf8);
	memset(t, 0, sizeof(*t));
}

static bool is_space(uint32_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0xa0 ||
	       (c >= 0x2000 && c <= 0x200b) || c == 0x202f || c == 0x3000 ||
	       c == 0x0c || c == 0x0b;
}

static bool is_letter(uint32_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= 0xc0 && c < 0x2000 && c != 0xd7 && c != 0xf7);
}

static size_t decode1(const unsigned char *s, size_t len, uint32_t *c)
{
	*c = s[0];
	if (*c >= 0xf0 && len >= 4) {
		*c = ((*c & 7u) << 18) | ((s[1] & 63u) << 12) |
		     ((s[2] & 63u) << 6) | (s[3] & 63u);
		return 4;
	}
	if (*c >= 0xe0 && len >= 3) {
		*c = ((*c & 15u) << 12) | ((s[1] & 63u) << 6) | (s[2] & 63u);
		return 3;
	}
	if (*c >= 0xc0 && len >= 2) {
		*c = ((*c & 31u) << 6) | (s[1] & 63u);
		return 2;
	}
	return 1;
}

static void put_utf8(struct buf *b, uint32_t c)
{
	char o[4];

	buf_add(b, o, utf8_encode(c, o));
}

/* Adds one normalised code point, applying the white space and
 * hyphenation rules against what is already there. */
static void nt_add(struct ntext *t, uint32_t c, size_t os, size_t oe)
{
	if (is_space(c)) {
		if (t->n == 0)
			return; /* leading white space */
		if (t->cp[t->n - 1] == ' ') {
			t->oe[t->n - 1] = oe;
			return;
		}
		nt_push(t, ' ', os, oe);
		return;
	}
	if (is_letter(c) && t->n >= 2) {
		/* letter '-' [' '] letter: a word broken across a line, or a
		 * compound: the hyphen (and the break) go on both sides */
		size_t k = t->n;

		if (t->cp[k - 1] == ' ' && k >= 3 && t->cp[k - 2] == '-' &&
		    is_letter(t->cp[k - 3]))
			t->n -= 2;
		else if (t->cp[k - 1] == '-' && is_letter(t->cp[k - 2]))
			t->n -= 1;
	}
	nt_push(t, c, os, oe);
}

/* Normalises UTF-8 text into t (original offsets in code points). */
static void normalise(const char *s, size_t len, struct ntext *t)
{
	const unsigned char *u = (const unsigned char *)s;
	struct buf b = BUF_INIT;
	size_t i = 0, k = 0;

	memset(t, 0, sizeof(*t));
	while (i < len) {
		uint32_t c;
		size_t step = decode1(u + i, len - i, &c);
		const char *lig = NULL;

		switch (c) {
		case 0xfb00:
			lig = "ff";
			break;
		case 0xfb01:
			lig = "fi";
			break;
		case 0xfb02:
			lig = "fl";
			break;
		case 0xfb03:
			lig = "ffi";
			break;
		case 0xfb04:
			lig = "ffl";
			break;
		case 0xfb05:
		case 0xfb06:
			lig = "st";
			break;
		case 0x2018:
		case 0x2019:
		case 0x201a:
		case 0x201b:
		case 0x2032:
		case 0x60:
		case 0xb4:
			c = '\'';
			break;
		case 0x201c:
		case 0x201d:
		case 0x201e:
		case 0x201f:
		case 0x2033:
		case 0xab:
		case 0xbb:
			c = '"';
			break;
		case 0x2010:
		case 0x2011:
		case 0x2012:
		case 0x2013:
		case 0x2014:
		case 0x2015:
		case 0x2212:
			c = '-';
			break;
		case 0x2026:
			lig = "...";
			break;
		default:
			break;
		}
		if (c == 0xad || c == 0xfeff || c == 0x200c || c == 0x200d) {
			/* soft hyphen, BOM, joiners: invisible */
		} else if (lig) {
			for (const char *l = lig; *l; l++)
				nt_add(t, (uint32_t)*l, k, k + 1);
		} else {
			nt_add(t, c, k, k + 1);
		}
		i += step;
		k++;
	}
	while (t->n && t->cp[t->n - 1] == ' ')
		t->n--;
	for (size_t j = 0; j < t->n; j++)
		put_utf8(&b, t->cp[j]);
	t->utf8 = buf_detach(&b, NULL);
}

struct books_finder *books_finder_new(struct store *db, int64_t book,
				      int64_t chapter)
{
	struct books_finder *f = xcalloc(1, sizeof(*f));
	struct store_stmt *st;
	size_t cap = 0;

	f->budget = FINDER_FUZZY_BUDGET;
	st = chapter ? store_query(db, SQL_ONE, "i", chapter)
		     : store_query(db, SQL_CHAPTERS, "i", book);
	while (st && store_row(st) > 0) {
		const char *text = store_text(st, 1);

		f->ch = vec_reserve(f->ch, f->n, &cap, sizeof(*f->ch));
		f->ch[f->n].id = store_int(st, 0);
		normalise(text ? text : "", text ? strlen(text) : 0,
			  &f->ch[f->n].t);
		f->total += f->ch[f->n].t.n;
		f->n++;
	}
	store_done(st);
	if (!f->n) {
		books_finder_free(f);
		return NULL;
	}
	return f;
}

void books_finder_free(struct books_finder *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		nt_free(&f->ch[i].t);
	free(f->ch);
	free(f);
}

/* How well the context around [s, e) of t agrees with the quote's
 * (normalised) prefix and suffix: matching code points next to it. */
static size_t context_len(const struct ntext *t, size_t s, size_t e,
			  const struct ntext *pre, const struct ntext *suf)
{
	size_t n = 0;

	/* normalising trimmed the prefix's trailing and the suffix's leading
	 * white space: skip the text's too */
	if (s > 0 && t->cp[s - 1] == ' ')
		s--;
	if (e < t->n && t->cp[e] == ' ')
		e++;
	for (size_t i = 0; pre && i < pre->n && i < s; i++) {
		if (pre->cp[pre->n - 1 - i] != t->cp[s - 1 - i])
			break;
		n++;
	}
	for (size_t i = 0; suf && i < suf->n && e + i < t->n; i++) {
		if (suf->cp[i] != t->cp[e + i])
			break;
		n++;
	}
	return n;
}

/* Maps [s, e) of normalised chapter c to original offsets. */
static void place(const struct fchapter *c, size_t s, size_t e,
		  struct books_found *out)
{
	out->status = BOOKS_FIND_PLACED;
	out->chapter = c->id;
	out->start = (int64_t)c->t.os[s];
	out->end = (int64_t)c->t.oe[e - 1];
}

void books_finder_find(struct books_finder *f, const char *exact,
		       const char *prefix, const char *suffix,
		       struct books_found *out)
{
	struct ntext q, pre, suf;
	size_t hits = 0, best = 0, nbest = 0, bs = 0, bc = 0;
	double bscore = 0;
	bool fuzzy = false;

	memset(out, 0, sizeof(*out));
	out->status = BOOKS_FIND_NOT_FOUND;
	normalise(exact ? exact : "", exact ? strlen(exact) : 0, &q);
	normalise(prefix ? prefix : "", prefix ? strlen(prefix) : 0, &pre);
	normalise(suffix ? suffix : "", suffix ? strlen(suffix) : 0, &suf);
	if (!q.n)
		goto out;
	/* 1. verbatim, after normalisation: every occurrence counts */
	for (size_t c = 0; c < f->n; c++) {
		const struct ntext *t = &f->ch[c].t;

		for (size_t i = 0; i + q.n <= t->n; i++) {
			size_t ctx;

			if (t->cp[i] != q.cp[0] ||
			    memcmp(t->cp + i, q.cp, q.n * sizeof(uint32_t)))
				continue;
			hits++;
			ctx = context_len(t, i, i + q.n, &pre, &suf);
			if (hits == 1 || ctx > best) {
				best = ctx;
				nbest = 1;
				bs = i;
				bc = c;
			} else if (ctx == best) {
				nbest++;
			}
		}
	}
	if (hits == 1 || (hits > 1 && nbest == 1 && best > 0)) {
		place(&f->ch[bc], bs, bs + q.n, out);
		goto out;
	}
	if (hits > 1) {
		out->status = BOOKS_FIND_AMBIGUOUS;
		goto out;
	}
	/* 2. the re-anchoring matcher, at its score floor, within budget */
	{
		unsigned long long cost = (unsigned long long)(q.n / 64 + 1) *
					  (unsigned long long)(f->total + 1);

		if (cost > f->budget || q.n < FINDER_FUZZY_MIN_CP ||
		    f->seconds >= FINDER_FUZZY_SECONDS)
			goto out;
		f->budget -= cost;
	}
	for (size_t c = 0; c < f->n; c++) {
		struct bk_text t;
		struct books_match m;
		double t0 = now_s();

		bk_text_init(&t, f->ch[c].t.utf8, strlen(f->ch[c].t.utf8));
		bk_match_anywhere(&t, q.utf8, pre.utf8, suf.utf8, &m);
		bk_text_free(&t);
		f->seconds += now_s() - t0;
		if (strcmp(m.state, "orphaned") &&
		    strcmp(m.state, "needs_review") &&
		    m.score >= BOOKS_ANCHOR_SCORE_FLOOR && m.end > m.start &&
		    (!fuzzy || m.score > bscore)) {
			fuzzy = true;
			bscore = m.score;
			bs = (size_t)m.start;
			best = (size_t)m.end;
			bc = c;
		}
	}
	if (fuzzy)
		place(&f->ch[bc], bs, best, out);
out:
	nt_free(&q);
	nt_free(&pre);
	nt_free(&suf);
}
