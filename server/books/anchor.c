/*
 * anchor.c - pinning annotations to passages and re-anchoring them when a
 * new edition of the book arrives.
 *
 * An anchor stores the W3C TextQuoteSelector (exact, prefix, suffix of up
 * to 32 code points) and TextPositionSelector (start, end in code points of
 * the chapter text), the block holding the start and the edition these
 * refer to. Re-anchoring tries, in order: the exact quote at the old
 * offsets; the exact quote elsewhere (prefix and suffix choose among
 * repeats, then nearness); an approximate match found with Myers'
 * bit-parallel edit-distance search (multi-word, so quotes of any length)
 * allowing at most a quarter of the quote's length in edits. Every
 * candidate gets one score (books.h); the score floor decides between
 * taking a passage and only proposing it for a moderator's review, so a
 * look-alike passage never captures a thread silently.
 *
 * Context (prefix, suffix) is compared twice per side: within the quote's
 * paragraph and across the paragraph boundary, and the better of the two
 * counts, so a passage at a paragraph's start or end is judged by the text
 * around it either way. Three kinds of evidence take a passage although
 * its score stays under the floor (re-imports only, where the previous
 * edition's text is known):
 *  - unique: the intact quote (12 code points or more) occurred exactly
 *    once in the previous edition's chapter and occurs exactly once in the
 *    new one: it moved, whatever happened around it;
 *  - told apart: a quote that occurred several times, and occurs no more
 *    often now, is taken where one side of its context still matches
 *    (similarity >= 0.9 over 12 code points or more) while no other
 *    occurrence comes close (both sides < 0.6); otherwise it goes to review;
 *  - confirmed edit: an approximate match whose context matches on both
 *    sides (>= 0.9 each, one side of 12 code points or more) is the same
 *    passage edited, and is taken as fuzzy.
 * The block rule (bk_reanchor_chapter) still sends a candidate found in a
 * paragraph that existed unchanged before to review.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "books/internal.h"
#include "store/store.h"
#include "util/err.h"
#include "util/utf8.h"
#include "util/vec.h"

/* ---- prepared text ---- */

static size_t decode(const char *str, size_t len, uint32_t *cp, size_t *off)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n = 0;

	while (i < len) {
		uint32_t c = s[i];
		size_t k = 1;

		if (c >= 0xf0 && i + 3 < len) {
			c = ((c & 7u) << 18) | ((s[i + 1] & 63u) << 12) |
			    ((s[i + 2] & 63u) << 6) | (s[i + 3] & 63u);
			k = 4;
		} else if (c >= 0xe0 && i + 2 < len) {
			c = ((c & 15u) << 12) | ((s[i + 1] & 63u) << 6) |
			    (s[i + 2] & 63u);
			k = 3;
		} else if (c >= 0xc0 && i + 1 < len) {
			c = ((c & 31u) << 6) | (s[i + 1] & 63u);
			k = 2;
		}
		if (off)
			off[n] = i;
		if (cp)
			cp[n] = c;
		n++;
		i += k;
	}
	if (off)
		off[n] = len;
	return n;
}

void bk_text_init(struct bk_text *t, const char *s, size_t len)
{
	t->s = s;
	t->len = len;
	t->cp = xmalloc((len + 1) * sizeof(uint32_t));
	t->off = xmalloc((len + 2) * sizeof(size_t));
	t->n = decode(s, len, t->cp, t->off);
}

void bk_text_free(struct bk_text *t)
{
	free(t->cp);
	free(t->off);
	memset(t, 0, sizeof(*t));
}

/* Code point index of a byte offset (which starts a code point). */
static size_t cp_of(const struct bk_text *t, size_t byte)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (t->off[mid] < byte)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* ---- similarity ---- */

/* Levenshtein distance of two short code point strings (<= 64 each). */
static size_t lev(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
	size_t row[65];

	if (na > 64)
		na = 64;
	if (nb > 64)
		nb = 64;
	for (size_t j = 0; j <= nb; j++)
		row[j] = j;
	for (size_t i = 1; i <= na; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= nb; j++) {
			size_t up = row[j];
			size_t v = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < v)
				v = up + 1;
			if (row[j - 1] + 1 < v)
				v = row[j - 1] + 1;
			row[j] = v;
			diag = up;
		}
	}
	return row[nb];
}

static double sim(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
	size_t mx = na > nb ? na : nb;

	if (!mx)
		return 1.0;
	return 1.0 - (double)lev(a, na, b, nb) / (double)mx;
}

/* The quote being matched, decoded. */
struct quote {
	uint32_t *q, *pre, *suf;
	size_t m, npre, nsuf;
	int64_t old_start;
	int old_count; /* occurrences in the previous edition; 0 unknown */
	bool anywhere; /* no old position: nearness does not count */
};

/* Evidence thresholds (see the top of this file). */
#define CTX_STRONG 0.9
#define CTX_WEAK 0.6
#define CTX_MIN_CP 12
#define CTX_NEAR_CP 16
#define CTX_GAP_CP 48
#define UNIQUE_MIN_CP 12

/* Length of the part of a context that lies in the same paragraph as the
 * quote: a prefix is cut after its last blank line, a suffix before its
 * first. from_end: the context precedes the quote. */
static size_t same_para(const uint32_t *c, size_t n, bool from_end,
			size_t *skip)
{
	*skip = 0;
	if (from_end) {
		for (size_t i = n; i >= 2; i--)
			if (c[i - 1] == '\n' && c[i - 2] == '\n') {
				*skip = i;
				return n - i;
			}
		return n;
	}
	for (size_t i = 0; i + 1 < n; i++)
		if (c[i] == '\n' && c[i + 1] == '\n')
			return i;
	return n;
}

/* One side of the context: its similarity (the better of within the
 * paragraph and across the boundary) and its weight in code points. A side
 * where both the old and the new passage sit at the paragraph boundary
 * weighs 0 in the score (the boundary itself matched); its similarity
 * across the boundary (over `across` code points) still counts as evidence
 * that identifies the passage. */
struct side {
	double sim;
	size_t w, across;
	bool near; /* the old context's nearest CTX_MIN_CP code points occur
		    * verbatim within CTX_GAP_CP of the candidate */
};

static struct side side_of(const uint32_t *oc, size_t on, const uint32_t *nc,
			   size_t nn, bool before)
{
	struct side r = {1.0, 0, 0, false};
	size_t so, sn, lo, ln;
	double across;

	if (!on)
		return r;
	lo = same_para(oc, on, before, &so);
	ln = same_para(nc, nn, before, &sn);
	across = sim(oc, on, nc, nn);
	if (!lo && !ln) {
		r.sim = across;
		r.across = on < nn ? on : nn;
		return r;
	}
	r.w = lo > ln ? lo : ln;
	r.sim = sim(oc + so, lo, nc + sn, ln);
	if (across > r.sim)
		r.sim = across;
	return r;
}

/* Whether the CTX_NEAR_CP code points of the old context nearest the
 * quote (the end of a prefix, the start of a suffix) occur verbatim in the
 * new text within CTX_GAP_CP of the candidate: words inserted or removed
 * right next to the passage do not hide the context that is still there. */
static bool near_verbatim(const struct bk_text *t, const uint32_t *oc,
			  size_t on, size_t at, bool before)
{
	size_t L = on < CTX_NEAR_CP ? on : CTX_NEAR_CP, from, to;
	const uint32_t *pat = before ? oc + on - L : oc;

	if (L < CTX_MIN_CP)
		return false;
	if (before) {
		from = at > L + CTX_GAP_CP ? at - L - CTX_GAP_CP : 0;
		to = at;
	} else {
		from = at;
		to = at + L + CTX_GAP_CP < t->n ? at + L + CTX_GAP_CP : t->n;
	}
	for (size_t i = from; i + L <= to; i++)
		if (t->cp[i] == pat[0] &&
		    !memcmp(t->cp + i, pat, L * sizeof(uint32_t)))
			return true;
	return false;
}

/* The position nearest pos, at most 2k away, where the old context's
 * CTX_NEAR_CP code points nearest the quote end (before) or start (after);
 * pos if there is none. */
static size_t snap(const struct bk_text *t, const uint32_t *oc, size_t on,
		   size_t pos, size_t k, bool before)
{
	size_t L = on < CTX_NEAR_CP ? on : CTX_NEAR_CP, best = pos,
	       bd = SIZE_MAX;
	const uint32_t *pat = before ? oc + on - L : oc;
	size_t lo = pos > 2 * k ? pos - 2 * k : 0, hi = pos + 2 * k;

	if (L < CTX_MIN_CP)
		return pos;
	for (size_t x = lo; x <= hi; x++) {
		size_t i = before ? x - L : x, d = x > pos ? x - pos : pos - x;

		if ((before && x < L) || i + L > t->n)
			continue;
		if (d < bd && !memcmp(t->cp + i, pat, L * sizeof(uint32_t))) {
			best = x;
			bd = d;
		}
	}
	return best;
}

static void sides(const struct bk_text *t, const struct quote *Q, size_t s,
		  size_t e, struct side *pre, struct side *suf)
{
	size_t kp = s < Q->npre ? s : Q->npre;
	size_t ks = t->n - e < Q->nsuf ? t->n - e : Q->nsuf;

	*pre = side_of(Q->pre, Q->npre, t->cp + s - kp, kp, true);
	*suf = side_of(Q->suf, Q->nsuf, t->cp + e, ks, false);
}

/* sides() and the near-verbatim test, for the evidence rules. */
static void sides_near(const struct bk_text *t, const struct quote *Q, size_t s,
		       size_t e, struct side *pre, struct side *suf)
{
	sides(t, Q, s, e, pre, suf);
	pre->near = near_verbatim(t, Q->pre, Q->npre, s, true);
	suf->near = near_verbatim(t, Q->suf, Q->nsuf, e, false);
}

/* Context similarity of a candidate [s, e): prefix and suffix weighted by
 * their lengths. */
static double context(const struct bk_text *t, const struct quote *Q, size_t s,
		      size_t e)
{
	struct side a, b;
	double weight;

	sides(t, Q, s, e, &a, &b);
	weight = (double)(a.w + b.w);
	return weight > 0 ? ((a.w ? a.sim * (double)a.w : 0) +
			     (b.w ? b.sim * (double)b.w : 0)) /
				    weight
			  : 1.0;
}

/* One side matches well enough to identify the passage. */
static bool strong(const struct side *x)
{
	return x->near || ((x->w ? x->w : x->across) >= CTX_MIN_CP &&
			   x->sim >= CTX_STRONG);
}

/* A side that matches somewhat (a boundary on both sides does not). */
static bool fair(const struct side *x)
{
	return x->near || (x->w && x->sim >= CTX_WEAK);
}

/* A side that agrees with the passage: strong, or at the boundary both
 * times, or absent. */
static bool agrees(const struct side *x)
{
	return x->w == 0 || x->near || x->sim >= CTX_STRONG;
}

static double score_of(const struct bk_text *t, const struct quote *Q, double q,
		       size_t s, size_t e)
{
	double c = context(t, Q, s, e);
	double d = fabs((double)s - (double)Q->old_start);
	double span = t->n > 1000 ? (double)t->n : 1000.0;
	double p = 1.0 - (d / span > 1.0 ? 1.0 : d / span);

	if (Q->anywhere)
		p = 1.0;
	return q * (0.5 + 0.5 * c) * (0.9 + 0.1 * p);
}

/* ---- Myers' bit-parallel search, multi-word ---- */

struct peq {
	size_t w;	/* words per pattern */
	uint32_t *keys; /* open addressing: code point + 1, 0 = empty */
	uint64_t *bits; /* nslots * w */
	size_t nslots;
	uint64_t *zero; /* w zero words */
};

static size_t slot_of(const struct peq *P, uint32_t c)
{
	size_t h = (c * 2654435761u) & (P->nslots - 1);

	while (P->keys[h] && P->keys[h] != c + 1)
		h = (h + 1) & (P->nslots - 1);
	return h;
}

static void peq_init(struct peq *P, const uint32_t *pat, size_t m)
{
	P->w = (m + 63) / 64;
	P->nslots = 16;
	while (P->nslots < 2 * m + 2)
		P->nslots *= 2;
	P->keys = xcalloc(P->nslots, sizeof(uint32_t));
	P->bits = xcalloc(P->nslots * P->w, sizeof(uint64_t));
	P->zero = xcalloc(P->w, sizeof(uint64_t));
	for (size_t i = 0; i < m; i++) {
		size_t h = slot_of(P, pat[i]);

		P->keys[h] = pat[i] + 1;
		P->bits[h * P->w + i / 64] |= (uint64_t)1 << (i % 64);
	}
}

static void peq_free(struct peq *P)
{
	free(P->keys);
	free(P->bits);
	free(P->zero);
}

static const uint64_t *peq_get(const struct peq *P, uint32_t c)
{
	size_t h = slot_of(P, c);

	return P->keys[h] ? P->bits + h * P->w : P->zero;
}

/* One column step of one 64-row block (after edlib's calculateBlock);
 * hin is the horizontal delta entering at the top, the return value the
 * one leaving at row `high`. */
static int block_step(uint64_t *Pv, uint64_t *Mv, uint64_t Eq, int hin,
		      uint64_t high)
{
	uint64_t Xv = Eq | *Mv, Xh, Ph, Mh;
	int hout = 0;

	if (hin < 0)
		Eq |= 1;
	Xh = (((Eq & *Pv) + *Pv) ^ *Pv) | Eq;
	Ph = *Mv | ~(Xh | *Pv);
	Mh = *Pv & Xh;
	if (Ph & high)
		hout = 1;
	else if (Mh & high)
		hout = -1;
	Ph <<= 1;
	Mh <<= 1;
	if (hin < 0)
		Mh |= 1;
	else if (hin > 0)
		Ph |= 1;
	*Pv = Mh | ~(Xv | Ph);
	*Mv = Ph & Xv;
	return hout;
}

/* A candidate end found by the forward search. */
struct cand {
	size_t end; /* exclusive */
	size_t d;
};

#define MAX_CANDS 16

static void cand_push(struct cand *c, size_t *nc, size_t end, size_t d,
		      size_t want_end)
{
	size_t worst = 0;

	if (*nc < MAX_CANDS) {
		c[(*nc)++] = (struct cand){end, d};
		return;
	}
	for (size_t i = 1; i < *nc; i++) {
		size_t dw = c[worst].end > want_end ? c[worst].end - want_end
						    : want_end - c[worst].end;
		size_t di = c[i].end > want_end ? c[i].end - want_end
						: want_end - c[i].end;
		if (c[i].d > c[worst].d || (c[i].d == c[worst].d && di > dw))
			worst = i;
	}
	if (d < c[worst].d)
		c[worst] = (struct cand){end, d};
}

/* Forward semi-global search: ends of the best matches with <= k edits. */
static size_t myers_search(const struct bk_text *t, const struct quote *Q,
			   size_t k, struct cand *out, size_t from, size_t to)
{
	struct peq P;
	uint64_t *Pv, *Mv, lasthigh;
	size_t score, nc = 0, want_end = (size_t)Q->old_start + Q->m;
	size_t vbest = 0, vend = 0;
	bool in_valley = false;

	peq_init(&P, Q->q, Q->m);
	Pv = xmalloc(P.w * sizeof(uint64_t));
	Mv = xcalloc(P.w, sizeof(uint64_t));
	for (size_t b = 0; b < P.w; b++)
		Pv[b] = ~(uint64_t)0;
	lasthigh = (uint64_t)1 << ((Q->m - 1) % 64);
	score = Q->m;
	for (size_t j = from; j < to; j++) {
		const uint64_t *eq = peq_get(&P, t->cp[j]);
		int h = 0;

		for (size_t b = 0; b < P.w; b++) {
			uint64_t high =
				b + 1 == P.w ? lasthigh : (uint64_t)1 << 63;
			h = block_step(&Pv[b], &Mv[b], eq[b], h, high);
		}
		score = (size_t)((long)score + h);
		if (score <= k) {
			if (!in_valley || score < vbest) {
				vbest = score;
				vend = j + 1;
			}
			in_valley = true;
		} else if (in_valley) {
			cand_push(out, &nc, vend, vbest, want_end);
			in_valley = false;
		}
	}
	if (in_valley)
		cand_push(out, &nc, vend, vbest, want_end);
	free(Pv);
	free(Mv);
	peq_free(&P);
	return nc;
}

/* The start of the best alignment of the quote ending exactly at end:
 * reversed pattern over the reversed text, anchored at end. */
static size_t myers_start(const struct bk_text *t, const struct quote *Q,
			  size_t end, size_t k, size_t *dist)
{
	uint32_t *rev = xmalloc(Q->m * sizeof(uint32_t));
	struct peq P;
	uint64_t *Pv, *Mv, lasthigh;
	size_t score = Q->m, best = Q->m, bestj = 0;
	size_t maxj = Q->m + k;

	for (size_t i = 0; i < Q->m; i++)
		rev[i] = Q->q[Q->m - 1 - i];
	peq_init(&P, rev, Q->m);
	Pv = xmalloc(P.w * sizeof(uint64_t));
	Mv = xcalloc(P.w, sizeof(uint64_t));
	for (size_t b = 0; b < P.w; b++)
		Pv[b] = ~(uint64_t)0;
	lasthigh = (uint64_t)1 << ((Q->m - 1) % 64);
	if (maxj > end)
		maxj = end;
	for (size_t j = 1; j <= maxj; j++) {
		const uint64_t *eq = peq_get(&P, t->cp[end - j]);
		int h = 1; /* anchored: the top row grows by one a column */

		for (size_t b = 0; b < P.w; b++) {
			uint64_t high =
				b + 1 == P.w ? lasthigh : (uint64_t)1 << 63;
			h = block_step(&Pv[b], &Mv[b], eq[b], h, high);
		}
		score = (size_t)((long)score + h);
		if (score < best ||
		    (score == best &&
		     llabs((long long)j - (long long)Q->m) <
			     llabs((long long)bestj - (long long)Q->m))) {
			best = score;
			bestj = j;
		}
	}
	free(rev);
	free(Pv);
	free(Mv);
	peq_free(&P);
	*dist = best;
	return end - bestj;
}

/* ---- the matcher ---- */

static void match_q(const struct bk_text *t, const char *exact,
		    const char *prefix, const char *suffix, int64_t old_start,
		    int old_count, bool exact_only, bool anywhere,
		    struct books_match *out);

static uint32_t *decode_dup(const char *s, size_t *n, size_t keep_last,
			    size_t keep_first)
{
	size_t len = s ? strlen(s) : 0;
	uint32_t *cp = xmalloc((len + 1) * sizeof(uint32_t));
	size_t k = decode(s ? s : "", len, cp, NULL);

	if (keep_last && k > keep_last) {
		memmove(cp, cp + k - keep_last, keep_last * sizeof(uint32_t));
		k = keep_last;
	}
	if (keep_first && k > keep_first)
		k = keep_first;
	*n = k;
	return cp;
}

static void set(struct books_match *out, const char *state, size_t s, size_t e,
		double score)
{
	out->state = state;
	out->start = (int64_t)s;
	out->end = (int64_t)e;
	out->score = score;
}

/* Best exact occurrence of the quote: by score (context, nearness). Counts
 * the occurrences (*count). *apart: the one occurrence told apart by its
 * context (one side strong while every other occurrence is weak on both
 * sides), or SIZE_MAX. */
static bool best_exact(const struct bk_text *t, const struct quote *Q,
		       const char *exact, size_t *bs, double *bscore,
		       int *count, size_t *apart)
{
	size_t elen = strlen(exact), i = 0, seen = 0;
	int nstrong = 0, nfair = 0;
	bool found = false;

	*count = 0;
	*apart = SIZE_MAX;
	while (i + elen <= t->len && seen < 100000) {
		const char *p = bk_memmem(t->s + i, t->len - i, exact, elen);
		size_t s;
		double sc;

		if (!p)
			break;
		seen++;
		i = (size_t)(p - t->s);
		s = cp_of(t, i);
		if (s < t->n && t->off[s] == i) {
			(*count)++;
			if (Q->old_count >= 2 && *count <= Q->old_count) {
				struct side a, b;

				sides_near(t, Q, s, s + Q->m, &a, &b);
				if (strong(&a) || strong(&b)) {
					nstrong++;
					*apart = s;
				}
				if (fair(&a) || fair(&b))
					nfair++;
			}
			sc = score_of(t, Q, 1.0, s, s + Q->m);
			if (!found || sc > *bscore ||
			    (sc == *bscore &&
			     llabs((long long)s - Q->old_start) <
				     llabs((long long)*bs - Q->old_start))) {
				*bs = s;
				*bscore = sc;
				found = true;
			}
		}
		i++;
	}
	/* the strong one is fair too: no other may be */
	if (nstrong != 1 || nfair != 1 || *count > Q->old_count)
		*apart = SIZE_MAX;
	return found;
}

static void match(const struct bk_text *t, const char *exact,
		  const char *prefix, const char *suffix, int64_t old_start,
		  int old_count, bool exact_only, struct books_match *out)
{
	match_q(t, exact, prefix, suffix, old_start, old_count, exact_only,
		false, out);
}

static void match_q(const struct bk_text *t, const char *exact,
		    const char *prefix, const char *suffix, int64_t old_start,
		    int old_count, bool exact_only, bool anywhere,
		    struct books_match *out)
{
	struct quote Q = {0};
	size_t bs = 0, k;
	double bscore = 0;
	bool have = false;
	size_t apart = SIZE_MAX;
	int count = 0;
	const char *bstate = "orphaned";
	size_t be = 0;

	set(out, "orphaned", 0, 0, 0);
	Q.q = decode_dup(exact, &Q.m, 0, 0);
	Q.pre = decode_dup(prefix, &Q.npre, BK_CONTEXT_CP, 0);
	Q.suf = decode_dup(suffix, &Q.nsuf, 0, BK_CONTEXT_CP);
	Q.old_start = old_start < 0 ? 0 : old_start;
	Q.old_count = old_count;
	Q.anywhere = anywhere;
	if (!Q.m || Q.m > t->n)
		goto fuzzy;
	/* 1. the exact quote at the old offsets */
	if ((size_t)Q.old_start + Q.m <= t->n &&
	    !memcmp(t->cp + Q.old_start, Q.q, Q.m * sizeof(uint32_t))) {
		double sc = score_of(t, &Q, 1.0, (size_t)Q.old_start,
				     (size_t)Q.old_start + Q.m);

		if (sc >= BOOKS_ANCHOR_SCORE_FLOOR || exact_only) {
			set(out, "exact", (size_t)Q.old_start,
			    (size_t)Q.old_start + Q.m, sc);
			goto out;
		}
	}
	/* 2. the exact quote elsewhere */
	if (best_exact(t, &Q, exact, &bs, &bscore, &count, &apart)) {
		bool unique =
			Q.old_count == 1 && count == 1 && Q.m >= UNIQUE_MIN_CP;
		bool told = Q.old_count >= 2 && count >= 2 &&
			    count <= Q.old_count && apart != SIZE_MAX;

		if (told && bscore < BOOKS_ANCHOR_SCORE_FLOOR) {
			bs = apart;
			bscore = score_of(t, &Q, 1.0, bs, bs + Q.m);
		}
		if ((unique || told) && bscore < BOOKS_ANCHOR_SCORE_FLOOR)
			bscore = BOOKS_ANCHOR_SCORE_FLOOR;
		if (bscore >= BOOKS_ANCHOR_SCORE_FLOOR || exact_only) {
			set(out, (int64_t)bs == Q.old_start ? "exact" : "moved",
			    bs, bs + Q.m, bscore);
			goto out;
		}
		have = true;
		bstate = "needs_review";
		be = bs + Q.m;
	}
	if (exact_only)
		goto out;
fuzzy:
	/* 3. approximate matches */
	k = (size_t)floor((double)Q.m * BOOKS_ANCHOR_MAX_ERRORS);
	/* near the old position first (edits are usually local), then, if
	 * nothing good enough turned up there, the whole chapter */
	for (int pass = 0; pass < 2 && Q.m && k > 0 && t->n; pass++) {
		struct cand c[MAX_CANDS];
		size_t win = 2 * Q.m + 2000, from = 0, to = t->n, nc;

		if (pass == 0) {
			from = (size_t)Q.old_start > win
				       ? (size_t)Q.old_start - win
				       : 0;
			to = (size_t)Q.old_start + Q.m + win < t->n
				     ? (size_t)Q.old_start + Q.m + win
				     : t->n;
		} else if (have && bscore >= BOOKS_ANCHOR_SCORE_FLOOR &&
			   strcmp(bstate, "needs_review")) {
			break;
		} else if (from == 0 && to == t->n && pass == 1 &&
			   (size_t)Q.old_start <= win &&
			   (size_t)Q.old_start + Q.m + win >= t->n) {
			break; /* the window was the whole text */
		}
		nc = myers_search(t, &Q, k, c, from, to);
		for (size_t i = 0; i < nc; i++) {
			size_t d, s = myers_start(t, &Q, c[i].end, k, &d);
			size_t len = c[i].end - s;
			size_t mx = len > Q.m ? len : Q.m;
			double q = 1.0 - (double)d / (double)mx;
			double sc = score_of(t, &Q, q, s, c[i].end);
			struct side a, b;

			/* the same passage edited: both sides confirm it */
			sides_near(t, &Q, s, c[i].end, &a, &b);
			if (Q.old_count && sc < BOOKS_ANCHOR_SCORE_FLOOR &&
			    (strong(&a) || strong(&b)) && agrees(&a) &&
			    agrees(&b))
				sc = BOOKS_ANCHOR_SCORE_FLOOR;
			if (!have || sc > bscore) {
				have = true;
				bscore = sc;
				bs = s;
				be = c[i].end;
				bstate = "fuzzy";
			}
		}
	}
	if (have && bscore >= BOOKS_ANCHOR_SCORE_FLOOR &&
	    strcmp(bstate, "needs_review")) {
		/* the alignment may stop short of an edited word at the
		 * quote's edge: where the old context is still verbatim right
		 * next to it, the passage runs up to it */
		bs = snap(t, Q.pre, Q.npre, bs, k, true);
		be = snap(t, Q.suf, Q.nsuf, be, k, false);
		if (be <= bs)
			be = bs + 1;
		/* an approximate search can land on the intact quote */
		bool intact = be - bs == Q.m &&
			      !memcmp(t->cp + bs, Q.q, Q.m * sizeof(uint32_t));

		set(out,
		    !intact			 ? "fuzzy"
		    : (int64_t)bs == Q.old_start ? "exact"
						 : "moved",
		    bs, be, bscore);
	} else if (have && bscore >= BOOKS_ANCHOR_SCORE_MIN)
		set(out, "needs_review", bs, be, bscore);
	else
		out->score = have ? bscore : 0;
out:
	free(Q.q);
	free(Q.pre);
	free(Q.suf);
}

void bk_match_anywhere(const struct bk_text *t, const char *exact,
		       const char *prefix, const char *suffix,
		       struct books_match *out)
{
	match_q(t, exact, prefix, suffix, 0, 0, false, true, out);
}

void bk_match(const struct bk_text *t, const char *exact, const char *prefix,
	      const char *suffix, int64_t old_start, int old_count,
	      struct books_match *out)
{
	match(t, exact, prefix, suffix, old_start, old_count, false, out);
}

void books_match_quote(const char *new_text, size_t new_len, const char *exact,
		       const char *prefix, const char *suffix,
		       int64_t old_start, struct books_match *out)
{
	struct bk_text t;

	bk_text_init(&t, new_text, new_len);
	bk_match(&t, exact, prefix, suffix, old_start, 0, out);
	bk_text_free(&t);
}

/* ---- anchors in the database ---- */

static const char SQL_CHAPTER_TEXT[] =
	"SELECT text, edition FROM chapters WHERE id = ?";
static const char SQL_BLOCK_AT[] =
	"SELECT block FROM blocks WHERE chapter = ? AND edition = ? "
	"AND start <= ? ORDER BY position DESC LIMIT 1";
static const char SQL_ANCHOR_PUT[] =
	"INSERT OR REPLACE INTO anchors (annotation, chapter, edition, exact, "
	"prefix, suffix, start, end, block, state, score, updated_at) "
	"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_ANCHOR_GET[] =
	"SELECT exact, prefix, suffix, start, end, state FROM anchors "
	"WHERE annotation = ?";
static const char SQL_ANCHOR_COPY[] =
	"INSERT OR REPLACE INTO anchors (annotation, chapter, edition, exact, "
	"prefix, suffix, start, end, block, state, score, proposed_exact, "
	"proposed_prefix, proposed_suffix, proposed_start, proposed_end, "
	"proposed_edition, old_exact, old_prefix, old_suffix, old_start, "
	"old_end, updated_at) SELECT ?, chapter, edition, exact, prefix, "
	"suffix, start, end, block, state, score, proposed_exact, "
	"proposed_prefix, proposed_suffix, proposed_start, proposed_end, "
	"proposed_edition, old_exact, old_prefix, old_suffix, old_start, "
	"old_end, updated_at FROM anchors WHERE annotation = ?";
static const char SQL_ANCHOR_REVIEW[] =
	"SELECT exact, prefix, suffix, start, end, proposed_exact, "
	"proposed_prefix, proposed_suffix, proposed_start, proposed_end, "
	"score, state FROM anchors WHERE annotation = ?";
static const char SQL_ANCHOR_ACCEPT[] =
	"UPDATE anchors SET old_exact = COALESCE(old_exact, exact), "
	"old_prefix = COALESCE(old_prefix, prefix), "
	"old_suffix = COALESCE(old_suffix, suffix), "
	"old_start = COALESCE(old_start, start), "
	"old_end = COALESCE(old_end, end), exact = proposed_exact, "
	"prefix = proposed_prefix, suffix = proposed_suffix, "
	"start = proposed_start, end = proposed_end, "
	"edition = proposed_edition, block = ?, state = 'fuzzy', "
	"proposed_exact = NULL, proposed_prefix = NULL, "
	"proposed_suffix = NULL, proposed_start = NULL, proposed_end = NULL, "
	"proposed_edition = NULL, updated_at = ? WHERE annotation = ?";
static const char SQL_ANCHOR_REJECT[] =
	"UPDATE anchors SET state = 'orphaned', proposed_exact = NULL, "
	"proposed_prefix = NULL, proposed_suffix = NULL, "
	"proposed_start = NULL, proposed_end = NULL, proposed_edition = NULL, "
	"updated_at = ? WHERE annotation = ?";
static const char SQL_ANCHOR_CHAPTER[] =
	"SELECT annotation, exact, prefix, suffix, start, end, edition, block "
	"FROM anchors WHERE chapter = ? ORDER BY annotation";
static const char SQL_BLOCK_FIND[] =
	"SELECT start FROM blocks WHERE chapter = ? AND edition = ? "
	"AND block = ? LIMIT 1";
static const char SQL_ANCHOR_TAKE[] =
	"UPDATE anchors SET old_exact = CASE WHEN ?1 = 'fuzzy' THEN "
	"COALESCE(old_exact, exact) ELSE old_exact END, "
	"old_prefix = CASE WHEN ?1 = 'fuzzy' THEN COALESCE(old_prefix, prefix) "
	"ELSE old_prefix END, "
	"old_suffix = CASE WHEN ?1 = 'fuzzy' THEN COALESCE(old_suffix, suffix) "
	"ELSE old_suffix END, "
	"old_start = CASE WHEN ?1 = 'fuzzy' THEN COALESCE(old_start, start) "
	"ELSE old_start END, "
	"old_end = CASE WHEN ?1 = 'fuzzy' THEN COALESCE(old_end, end) "
	"ELSE old_end END, "
	"state = ?1, exact = ?2, prefix = ?3, suffix = ?4, start = ?5, "
	"end = ?6, edition = ?7, block = ?8, score = ?9, "
	"proposed_exact = NULL, proposed_prefix = NULL, "
	"proposed_suffix = NULL, proposed_start = NULL, proposed_end = NULL, "
	"proposed_edition = NULL, updated_at = ?10 WHERE annotation = ?11";
static const char SQL_ANCHOR_PROPOSE[] =
	"UPDATE anchors SET state = 'needs_review', proposed_exact = ?, "
	"proposed_prefix = ?, proposed_suffix = ?, proposed_start = ?, "
	"proposed_end = ?, proposed_edition = ?, score = ?, updated_at = ? "
	"WHERE annotation = ?";
static const char SQL_ANCHOR_ORPHAN[] =
	"UPDATE anchors SET state = 'orphaned', score = ?, "
	"proposed_exact = NULL, proposed_prefix = NULL, "
	"proposed_suffix = NULL, proposed_start = NULL, proposed_end = NULL, "
	"proposed_edition = NULL, updated_at = ? WHERE annotation = ?";
static const char SQL_ANCHOR_ORPHAN_CHAPTER[] =
	"UPDATE anchors SET state = 'orphaned', proposed_exact = NULL, "
	"proposed_prefix = NULL, proposed_suffix = NULL, "
	"proposed_start = NULL, proposed_end = NULL, proposed_edition = NULL, "
	"updated_at = ? WHERE chapter = ?";

static const char *state_static(const char *s)
{
	static const char *const states[] = {
		"exact", "moved", "fuzzy", "needs_review", "orphaned", NULL};

	for (size_t i = 0; s && states[i]; i++)
		if (!strcmp(s, states[i]))
			return states[i];
	return "orphaned";
}

/* A slice [s, e) of the prepared text as a new string. */
static char *slice(const struct bk_text *t, size_t s, size_t e)
{
	if (s > t->n)
		s = t->n;
	if (e > t->n)
		e = t->n;
	if (e < s)
		e = s;
	return xstrndup(t->s + t->off[s], t->off[e] - t->off[s]);
}

static char *block_at(struct store *db, int64_t chapter, int64_t edition,
		      size_t cp)
{
	struct store_stmt *st = store_query(db, SQL_BLOCK_AT, "iii", chapter,
					    edition, (int64_t)cp);
	char *b = NULL;

	if (st && store_row(st) > 0)
		b = store_text_dup(st, 0);
	store_done(st);
	return b;
}

static json_t *target_json(const char *exact, const char *prefix,
			   const char *suffix, int64_t start, int64_t end)
{
	return json_pack("{s:[{s:s,s:s,s:s,s:s},{s:s,s:I,s:I}]}", "selector",
			 "type", "TextQuoteSelector", "exact", exact, "prefix",
			 prefix ? prefix : "", "suffix", suffix ? suffix : "",
			 "type", "TextPositionSelector", "start",
			 (json_int_t)start, "end", (json_int_t)end);
}

static enum books_anchor_error shape(char *field, size_t fieldlen,
				     const char *name)
{
	snprintf(field, fieldlen, "%s", name);
	return BOOKS_ANCHOR_BAD_SHAPE;
}

enum books_anchor_error books_anchor_create(struct store *db,
					    int64_t annotation, int64_t chapter,
					    json_t *target, size_t max_exact_cp,
					    json_t **normalized, char *field,
					    size_t fieldlen)
{
	json_t *sel, *tq, *tp, *jexact, *jpre, *jsuf, *jstart, *jend;
	const char *exact, *prefix = "", *suffix = "";
	struct store_stmt *st;
	char *text = NULL, *pre = NULL, *suf = NULL, *block = NULL;
	int64_t edition = 0, start;
	struct bk_text t = {0};
	struct books_match mt;
	enum books_anchor_error rc = BOOKS_ANCHOR_OK;
	size_t s, e, ecp;

	*normalized = NULL;
	if (field && fieldlen)
		field[0] = '\0';
	if (!json_is_object(target))
		return shape(field, fieldlen, "target");
	sel = json_object_get(target, "selector");
	if (!json_is_array(sel) || json_array_size(sel) != 2)
		return shape(field, fieldlen, "target.selector");
	tq = json_array_get(sel, 0);
	tp = json_array_get(sel, 1);
	if (!json_is_object(tq) ||
	    !json_is_string(json_object_get(tq, "type")) ||
	    strcmp(json_string_value(json_object_get(tq, "type")),
		   "TextQuoteSelector"))
		return shape(field, fieldlen, "target.selector[0]");
	if (!json_is_object(tp) ||
	    !json_is_string(json_object_get(tp, "type")) ||
	    strcmp(json_string_value(json_object_get(tp, "type")),
		   "TextPositionSelector"))
		return shape(field, fieldlen, "target.selector[1]");
	jexact = json_object_get(tq, "exact");
	jpre = json_object_get(tq, "prefix");
	jsuf = json_object_get(tq, "suffix");
	jstart = json_object_get(tp, "start");
	jend = json_object_get(tp, "end");
	if (!json_is_string(jexact) || !json_string_length(jexact))
		return shape(field, fieldlen, "target.selector[0].exact");
	if (jpre && !json_is_string(jpre) && !json_is_null(jpre))
		return shape(field, fieldlen, "target.selector[0].prefix");
	if (jsuf && !json_is_string(jsuf) && !json_is_null(jsuf))
		return shape(field, fieldlen, "target.selector[0].suffix");
	if (!json_is_integer(jstart) || json_integer_value(jstart) < 0)
		return shape(field, fieldlen, "target.selector[1].start");
	if (!json_is_integer(jend) ||
	    json_integer_value(jend) <= json_integer_value(jstart))
		return shape(field, fieldlen, "target.selector[1].end");
	exact = json_string_value(jexact);
	if (json_is_string(jpre))
		prefix = json_string_value(jpre);
	if (json_is_string(jsuf))
		suffix = json_string_value(jsuf);
	if (strlen(exact) != json_string_length(jexact))
		return shape(field, fieldlen, "target.selector[0].exact");
	ecp = utf8_count(exact, strlen(exact));
	if (ecp > max_exact_cp) {
		snprintf(field, fieldlen, "target.selector[0].exact");
		return BOOKS_ANCHOR_TOO_LARGE;
	}
	start = json_integer_value(jstart);
	st = store_query(db, SQL_CHAPTER_TEXT, "i", chapter);
	if (st && store_row(st) > 0) {
		text = store_text_dup(st, 0);
		edition = store_int(st, 1);
	}
	store_done(st);
	if (!text) {
		snprintf(field, fieldlen, "chapter");
		return BOOKS_ANCHOR_NOT_FOUND;
	}
	{
		/* fast path: the quote is where the client says */
		size_t tl = strlen(text), el = strlen(exact), k = 0, bs;

		/* byte offset of code point `start` */
		for (bs = 0; bs < tl && k < (size_t)start; bs++)
			if (((unsigned char)text[bs + 1] & 0xc0) != 0x80)
				k++;
		if (k == (size_t)start && bs + el <= tl &&
		    !memcmp(text + bs, exact, el)) {
			size_t a = bs, z = bs + el;

			for (int k = 0; k < BK_CONTEXT_CP && a > 0; k++) {
				a--;
				while (a > 0 &&
				       ((unsigned char)text[a] & 0xc0) == 0x80)
					a--;
			}
			z = bs + el +
			    utf8_offset(text + bs + el, tl - bs - el,
					BK_CONTEXT_CP);
			pre = xstrndup(text + a, bs - a);
			suf = xstrndup(text + bs + el, z - bs - el);
			s = (size_t)start;
			e = s + ecp;
			goto found;
		}
	}
	bk_text_init(&t, text, strlen(text));
	match(&t, exact, prefix, suffix, start, 0, true, &mt);
	if (strcmp(mt.state, "exact") && strcmp(mt.state, "moved")) {
		snprintf(field, fieldlen, "target.selector[0].exact");
		rc = BOOKS_ANCHOR_NOT_FOUND;
		goto out;
	}
	s = (size_t)mt.start;
	e = (size_t)mt.end;
	pre = slice(&t, s > BK_CONTEXT_CP ? s - BK_CONTEXT_CP : 0, s);
	suf = slice(&t, e, e + BK_CONTEXT_CP);
found:
	block = block_at(db, chapter, edition, s);
	if (store_run(db, SQL_ANCHOR_PUT, "iiitttiittdi", annotation, chapter,
		      edition, exact, pre, suf, (int64_t)s, (int64_t)e, block,
		      "exact", 1.0, (int64_t)time(NULL))) {
		snprintf(field, fieldlen, "target");
		rc = BOOKS_ANCHOR_NOT_FOUND;
		goto out;
	}
	*normalized = target_json(exact, pre, suf, (int64_t)s, (int64_t)e);
out:
	bk_text_free(&t);
	free(text);
	free(pre);
	free(suf);
	free(block);
	return rc;
}

int books_anchor_get(struct store *db, int64_t annotation, json_t **target,
		     const char **state)
{
	struct store_stmt *st =
		store_query(db, SQL_ANCHOR_GET, "i", annotation);
	int rc;

	*target = NULL;
	*state = "exact";
	if (!st)
		return SCH_EDB;
	rc = store_row(st);
	if (rc > 0) {
		*target = target_json(store_text(st, 0), store_text(st, 1),
				      store_text(st, 2), store_int(st, 3),
				      store_int(st, 4));
		*state = state_static(store_text(st, 5));
	}
	store_done(st);
	if (rc < 0)
		return rc;
	if (!*target)
		*target = json_null();
	return 0;
}

int books_anchor_copy(struct store *db, int64_t from, int64_t to)
{
	return store_run(db, SQL_ANCHOR_COPY, "ii", to, from);
}

json_t *books_anchor_review(struct store *db, int64_t annotation)
{
	struct store_stmt *st =
		store_query(db, SQL_ANCHOR_REVIEW, "i", annotation);
	json_t *r = NULL;

	if (st && store_row(st) > 0 && store_text(st, 11) &&
	    !strcmp(store_text(st, 11), "needs_review") &&
	    !store_is_null(st, 5)) {
		r = json_pack("{s:{s:s,s:s,s:s,s:I,s:I},s:{s:s,s:s,s:s,s:I,"
			      "s:I},s:f}",
			      "old", "exact", store_text(st, 0), "prefix",
			      store_text(st, 1), "suffix", store_text(st, 2),
			      "start", (json_int_t)store_int(st, 3), "end",
			      (json_int_t)store_int(st, 4), "proposed", "exact",
			      store_text(st, 5), "prefix",
			      store_text(st, 6) ? store_text(st, 6) : "",
			      "suffix",
			      store_text(st, 7) ? store_text(st, 7) : "",
			      "start", (json_int_t)store_int(st, 8), "end",
			      (json_int_t)store_int(st, 9), "score",
			      store_double(st, 10));
	}
	store_done(st);
	return r;
}

int books_anchor_resolve(struct store *db, int64_t annotation, bool accept)
{
	struct store_stmt *st =
		store_query(db, SQL_ANCHOR_REVIEW, "i", annotation);
	int rc = 0;
	int64_t chapter = 0, edition = 0, pstart = 0;
	char *block = NULL;
	bool review = false, found = false;

	if (!st)
		return SCH_EDB;
	if (store_row(st) > 0) {
		found = true;
		review = store_text(st, 11) &&
			 !strcmp(store_text(st, 11), "needs_review") &&
			 !store_is_null(st, 5);
		pstart = store_int(st, 8);
	}
	store_done(st);
	if (!found)
		return SCH_ENOTFOUND;
	if (!review)
		return SCH_ECONFLICT;
	if (!accept)
		return store_run(db, SQL_ANCHOR_REJECT, "ii",
				 (int64_t)time(NULL), annotation);
	rc = store_int_query(db, &chapter,
			     "SELECT chapter FROM anchors WHERE annotation = ?",
			     "i", annotation);
	if (rc < 0)
		return rc;
	rc = store_int_query(db, &edition,
			     "SELECT proposed_edition FROM anchors "
			     "WHERE annotation = ?",
			     "i", annotation);
	if (rc < 0)
		return rc;
	block = block_at(db, chapter, edition, (size_t)pstart);
	rc = store_run(db, SQL_ANCHOR_ACCEPT, "tii", block, (int64_t)time(NULL),
		       annotation);
	free(block);
	return rc;
}

/* ---- re-anchoring ---- */

void bk_stats_changed(struct bk_reanchor_stats *stats, int64_t annotation)
{
	if (!stats)
		return;
	*VEC_PUSH(stats->changed, stats->nchanged, stats->capchanged) =
		annotation;
}

struct old_anchor {
	int64_t id, start, end, edition;
	char *exact, *prefix, *suffix, *block;
};

/* Start of block id in (chapter, edition); false if it is not there. */
static bool block_start(struct store *db, int64_t chapter, int64_t edition,
			const char *block, int64_t *start)
{
	struct store_stmt *st;
	bool found = false;

	if (!block)
		return false;
	st = store_query(db, SQL_BLOCK_FIND, "iit", chapter, edition, block);
	if (st && store_row(st) > 0) {
		*start = store_int(st, 0);
		found = true;
	}
	store_done(st);
	return found;
}

/*
 * The block rule: a paragraph whose text did not change keeps its block id,
 * so when the anchor's block is still there the passage is where it was
 * inside it (exact or moved, no guessing). When it is gone, a candidate
 * found inside another block that already existed, unchanged, when the
 * annotation was made cannot be an edited version of the passage: it is a
 * look-alike, and only ever proposed for review.
 */
static bool block_keep(struct store *db, int64_t chapter, int64_t edition,
		       const struct old_anchor *a, const struct bk_text *t,
		       struct books_match *mt)
{
	int64_t ob, nb;

	if (a->edition != edition &&
	    block_start(db, chapter, a->edition, a->block, &ob) &&
	    block_start(db, chapter, edition, a->block, &nb)) {
		int64_t s = nb + (a->start - ob);
		size_t elen = strlen(a->exact);
		int64_t m = (int64_t)utf8_count(a->exact, elen);

		if (s >= 0 && (size_t)(s + m) <= t->n &&
		    t->off[s + m] - t->off[s] == elen &&
		    !memcmp(t->s + t->off[s], a->exact, elen)) {
			set(mt, s == a->start ? "exact" : "moved", (size_t)s,
			    (size_t)(s + m), 1.0);
			return true;
		}
	}
	return false;
}

static void block_lookalike(struct store *db, int64_t chapter, int64_t edition,
			    const struct old_anchor *a, struct books_match *mt)
{
	int64_t ob;
	char *nbid;

	if (strcmp(mt->state, "moved") && strcmp(mt->state, "fuzzy") &&
	    strcmp(mt->state, "exact"))
		return;
	nbid = block_at(db, chapter, edition, (size_t)mt->start);
	if (nbid && (!a->block || strcmp(nbid, a->block)) &&
	    a->edition != edition &&
	    block_start(db, chapter, a->edition, nbid, &ob)) {
		mt->state = "needs_review";
		if (mt->score >= BOOKS_ANCHOR_SCORE_FLOOR)
			mt->score = BOOKS_ANCHOR_SCORE_FLOOR - 0.01;
	}
	free(nbid);
}

/* The report names orphans by id only: the quote of a private annotation
 * is its author's alone, and the operator running the import need not see
 * anybody's (issue 14). */
static void note_orphan(struct bk_reanchor_stats *stats, int64_t id,
			const char *title, const char *exact)
{
	(void)exact;
	if (!stats)
		return;
	buf_addf(&stats->orphans, "annotation %lld in \"%s\"\n", (long long)id,
		 title);
}

/* Occurrences of exact in old (up to 3); 0 when old is unknown. */
static int count_in(const char *old, const char *exact)
{
	size_t elen = strlen(exact), olen, i = 0;
	int n = 0;

	if (!old || !elen)
		return 0;
	olen = strlen(old);
	while (n < 3 && i + elen <= olen) {
		const char *p = bk_memmem(old + i, olen - i, exact, elen);

		if (!p)
			break;
		n++;
		i = (size_t)(p - old) + 1;
	}
	return n;
}

int bk_reanchor_chapter(struct store *db, int64_t chapter, int64_t edition,
			const char *title, const char *text, size_t len,
			const char *old_text, int64_t old_edition,
			struct bk_reanchor_stats *stats)
{
	struct store_stmt *st;
	struct old_anchor *v = NULL;
	size_t n = 0, cap = 0;
	struct bk_text t;
	int rc = 0;
	int64_t now = (int64_t)time(NULL);

	st = store_query(db, SQL_ANCHOR_CHAPTER, "i", chapter);
	if (!st)
		return SCH_EDB;
	while ((rc = store_row(st)) > 0) {
		v = vec_reserve(v, n, &cap, sizeof(*v));
		v[n].id = store_int(st, 0);
		v[n].exact = store_text_dup(st, 1);
		v[n].prefix = store_text_dup(st, 2);
		v[n].suffix = store_text_dup(st, 3);
		v[n].start = store_int(st, 4);
		v[n].end = store_int(st, 5);
		v[n].edition = store_int(st, 6);
		v[n].block = store_text_dup(st, 7);
		n++;
	}
	if (rc < 0)
		goto out;
	bk_text_init(&t, text, len);
	for (size_t i = 0; i < n && !rc; i++) {
		struct books_match mt;
		char *ex, *pre, *suf, *block;
		size_t s, e;

		if (!v[i].exact)
			v[i].exact = xstrdup("");
		if (!block_keep(db, chapter, edition, &v[i], &t, &mt)) {
			/* how often the quote occurred in the text the anchor
			 * was last placed in, when that text is known */
			int oc = v[i].edition == old_edition
					 ? count_in(old_text, v[i].exact)
					 : 0;

			bk_match(&t, v[i].exact, v[i].prefix ? v[i].prefix : "",
				 v[i].suffix ? v[i].suffix : "", v[i].start, oc,
				 &mt);
			block_lookalike(db, chapter, edition, &v[i], &mt);
		}
		s = (size_t)mt.start;
		e = (size_t)mt.end;
		if (strcmp(mt.state, "exact"))
			bk_stats_changed(stats, v[i].id);
		if (!strcmp(mt.state, "orphaned")) {
			if (stats)
				stats->orphaned++;
			note_orphan(stats, v[i].id, title,
				    v[i].exact ? v[i].exact : "");
			rc = store_run(db, SQL_ANCHOR_ORPHAN, "dii", mt.score,
				       now, v[i].id);
			continue;
		}
		ex = slice(&t, s, e);
		pre = slice(&t, s > BK_CONTEXT_CP ? s - BK_CONTEXT_CP : 0, s);
		suf = slice(&t, e, e + BK_CONTEXT_CP);
		if (!strcmp(mt.state, "needs_review")) {
			if (stats)
				stats->needs_review++;
			rc = store_run(db, SQL_ANCHOR_PROPOSE, "tttiiidii", ex,
				       pre, suf, (int64_t)s, (int64_t)e,
				       edition, mt.score, now, v[i].id);
		} else {
			if (stats) {
				if (!strcmp(mt.state, "exact"))
					stats->exact++;
				else if (!strcmp(mt.state, "moved"))
					stats->moved++;
				else
					stats->fuzzy++;
			}
			block = block_at(db, chapter, edition, s);
			rc = store_run(db, SQL_ANCHOR_TAKE, "ttttiiitdii",
				       mt.state, ex, pre, suf, (int64_t)s,
				       (int64_t)e, edition, block, mt.score,
				       now, v[i].id);
			free(block);
		}
		free(ex);
		free(pre);
		free(suf);
	}
	bk_text_free(&t);
out:
	for (size_t i = 0; i < n; i++) {
		free(v[i].exact);
		free(v[i].prefix);
		free(v[i].suffix);
		free(v[i].block);
	}
	free(v);
	return rc < 0 ? rc : 0;
}

int bk_orphan_chapter(struct store *db, int64_t chapter, const char *title,
		      struct bk_reanchor_stats *stats)
{
	struct store_stmt *st =
		store_query(db, SQL_ANCHOR_CHAPTER, "i", chapter);
	int rc;

	if (!st)
		return SCH_EDB;
	while ((rc = store_row(st)) > 0) {
		bk_stats_changed(stats, store_int(st, 0));
		if (stats)
			stats->orphaned++;
		note_orphan(stats, store_int(st, 0),
			    store_text(st, 1) ? title : title,
			    store_text(st, 1) ? store_text(st, 1) : "");
	}
	if (rc < 0)
		return rc;
	return store_run(db, SQL_ANCHOR_ORPHAN_CHAPTER, "ii",
			 (int64_t)time(NULL), chapter);
}
