/*
 * sieve_match - comparators (RFC 4790: i;octet, i;ascii-casemap,
 * i;ascii-numeric) and match types (RFC 5228 2.7.1 :is :contains
 * :matches, RFC 5231 :value/:count) with RFC 5229 match variables.
 *
 * Trust: value (message text, up to 1 MiB of body) and key (script text)
 * are both untrusted. Nothing here is worse than linear per call except
 * the search for a '?'-holding segment of a :matches key, which charges
 * every comparison to the run's step budget and gives up (-1) when it is
 * spent. No recursion.
 *
 * :matches works segment by segment (a segment is the key between two
 * '*'): the first is anchored at the start, the last at the end, and
 * each one in between takes its leftmost place after the previous one.
 * Leftmost placement never loses a match (whatever a later segment could
 * use, an earlier place leaves it too), so there is no backtracking at
 * all, and each '*' but the last captures the shortest text, the last
 * the rest: RFC 5229 3.2's example ("[*] *" on "[acme-users] [fwd] ..."
 * gives "acme-users") and Pigeonhole's sieve-test agree ("*x*" on
 * "hello xyz world": "hello " and "yz world"; "*?b*" on "xaybzc": "xa",
 * "y", "zc"). '?' is one octet, as in Pigeonhole. "\c" is c literally; a
 * lone trailing '\' is a literal '\' (Pigeonhole 0.5.19 asserts on it).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "sieve/sieve_lib.h"
#include "util/xmalloc.h"

/* The budget when the caller passes none (unit tests, one-off calls). */
#define DEFAULT_STEPS	1000000

void
sieve_captures_clear(struct sieve_captures *c)
{
	for (unsigned i = 0; i < 10; i++) {
		free(c->v[i]);
		c->v[i] = NULL;
		c->len[i] = 0;
	}
	c->n = 0;
}

/* Charges n steps; false when the budget is spent. */
static bool
charge(struct sieve_match_budget *b, uint64_t n)
{
	b->used += n;
	return b->used <= b->max;
}

/* ---- ordering (RFC 4790 9.2, 9.3, 9.1) ---- */

static int
order_bytes(const char *a, size_t alen, const char *b, size_t blen,
    bool fold)
{
	size_t n = alen < blen ? alen : blen;

	for (size_t i = 0; i < n; i++) {
		/* i;ascii-casemap maps a-z to A-Z before comparing (so '_'
		 * sorts after letters, as RFC 4790 9.2 says) */
		int ca = fold ? toupper((unsigned char)a[i]) : (unsigned char)a[i];
		int cb = fold ? toupper((unsigned char)b[i]) : (unsigned char)b[i];

		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
	return alen == blen ? 0 : alen < blen ? -1 : 1;
}

/* The leading digits of s without leading zeros; false when s does not
 * start with a digit (the value is then positive infinity). */
static bool
numeric_digits(const char *s, size_t len, const char **d, size_t *dlen)
{
	size_t i = 0, start;

	if (len == 0 || !isdigit((unsigned char)s[0]))
		return false;
	while (i + 1 < len && s[i] == '0' && isdigit((unsigned char)s[i + 1]))
		i++;
	start = i;
	while (i < len && isdigit((unsigned char)s[i]))
		i++;
	*d = s + start;
	*dlen = i - start;
	return true;
}

/* Numbers of any length compare as numbers; "abc" = "x" = infinity. */
static int
order_numeric(const char *a, size_t alen, const char *b, size_t blen)
{
	const char *da, *db;
	size_t na, nb;
	bool fa = numeric_digits(a, alen, &da, &na);
	bool fb = numeric_digits(b, blen, &db, &nb);

	if (!fa || !fb)
		return fa == fb ? 0 : fa ? -1 : 1;
	if (na != nb)
		return na < nb ? -1 : 1;
	return order_bytes(da, na, db, nb, false);
}

static bool
rel_holds(enum sieve_rel rel, int c)
{
	switch (rel) {
	case SIEVE_REL_GT: return c > 0;
	case SIEVE_REL_GE: return c >= 0;
	case SIEVE_REL_LT: return c < 0;
	case SIEVE_REL_LE: return c <= 0;
	case SIEVE_REL_EQ: return c == 0;
	case SIEVE_REL_NE: return c != 0;
	}
	return false;
}

/* ---- :matches ---- */

/* A parsed key: items are literal octets, '?' (ANY) or '*' (STAR). */
enum item { LIT, ANY, STAR };

struct pattern {
	char		*lit;		/* the octet of each LIT item */
	unsigned char	*kind;		/* enum item per position */
	size_t		 n;
};

static void
pattern_parse(const char *key, size_t klen, bool fold, struct pattern *p)
{
	p->lit = xmalloc(klen + 1);
	p->kind = xmalloc(klen + 1);
	p->n = 0;
	for (size_t i = 0; i < klen; i++) {
		char c = key[i];
		unsigned char k = LIT;

		if (c == '\\' && i + 1 < klen)
			c = key[++i];
		else if (c == '*')
			k = STAR;
		else if (c == '?')
			k = ANY;
		if (fold)
			c = (char)tolower((unsigned char)c);
		p->lit[p->n] = c;
		p->kind[p->n++] = k;
	}
}

/* Does segment items [s, e) match v at pos? Charges one step per item. */
static int
seg_at(const struct pattern *p, size_t s, size_t e, const char *v,
    size_t pos, struct sieve_match_budget *b)
{
	if (!charge(b, e - s))
		return -1;
	for (size_t i = s; i < e; i++, pos++)
		if (p->kind[i] == LIT && p->lit[i] != v[pos])
			return 0;
	return 1;
}

static bool
seg_has_any(const struct pattern *p, size_t s, size_t e)
{
	for (size_t i = s; i < e; i++)
		if (p->kind[i] == ANY)
			return true;
	return false;
}

/* Leftmost place >= pos where segment [s, e) fits before limit: 1 and
 * *at, 0 when none, -1 when the budget ran out. A segment of literals is
 * one memmem (linear); one with '?' is tried place by place. */
static int
seg_find(const struct pattern *p, size_t s, size_t e, const char *v,
    size_t pos, size_t limit, struct sieve_match_budget *b, size_t *at)
{
	size_t slen = e - s;

	if (pos > limit || limit - pos < slen)
		return 0;
	if (!seg_has_any(p, s, e)) {
		const char *f;

		if (!charge(b, 1))
			return -1;
		f = slen == 0 ? v + pos :
		    memmem(v + pos, limit - pos, p->lit + s, slen);
		if (f == NULL)
			return 0;
		*at = (size_t)(f - v);
		return 1;
	}
	for (size_t q = pos; q + slen <= limit; q++) {
		int r = seg_at(p, s, e, v, q, b);

		if (r != 0) {
			*at = q;
			return r;
		}
	}
	return 0;
}

/* Where each wildcard matched, in key order (only the first 9 kept). */
struct spans {
	size_t		 off[9], len[9];
	unsigned	 n;		/* wildcards seen */
};

static void
span_add(struct spans *sp, size_t off, size_t len)
{
	if (sp->n < 9) {
		sp->off[sp->n] = off;
		sp->len[sp->n] = len;
	}
	sp->n++;
}

/* Records the '?' items of segment [s, e) placed at pos. */
static void
span_anys(struct spans *sp, const struct pattern *p, size_t s, size_t e,
    size_t pos)
{
	for (size_t i = s; i < e; i++)
		if (p->kind[i] == ANY)
			span_add(sp, pos + (i - s), 1);
}

static size_t
next_star(const struct pattern *p, size_t from)
{
	while (from < p->n && p->kind[from] != STAR)
		from++;
	return from;
}

static int
glob(const struct pattern *p, const char *v, size_t vlen,
    struct sieve_match_budget *b, struct spans *sp)
{
	size_t s0e = next_star(p, 0), ls, limit, pos, at = 0;
	int r;

	if (s0e == p->n) {		/* no '*': the whole value */
		if (vlen != p->n)
			return 0;
		if ((r = seg_at(p, 0, p->n, v, 0, b)) == 1)
			span_anys(sp, p, 0, p->n, 0);
		return r;
	}
	ls = p->n;			/* the last segment starts after the
					 * last '*' */
	while (p->kind[ls - 1] != STAR)
		ls--;
	if (s0e + (p->n - ls) > vlen)
		return 0;
	if ((r = seg_at(p, 0, s0e, v, 0, b)) != 1)
		return r;
	span_anys(sp, p, 0, s0e, 0);
	limit = vlen - (p->n - ls);
	pos = s0e;
	for (size_t s = s0e + 1; s < ls; ) {
		size_t e = next_star(p, s);

		if ((r = seg_find(p, s, e, v, pos, limit, b, &at)) != 1)
			return r;
		span_add(sp, pos, at - pos);
		span_anys(sp, p, s, e, at);
		pos = at + (e - s);
		s = e + 1;
	}
	if ((r = seg_at(p, ls, p->n, v, limit, b)) != 1)
		return r;
	span_add(sp, pos, limit - pos);
	span_anys(sp, p, ls, p->n, limit);
	return 1;
}

static void
captures_set(struct sieve_captures *cap, const char *value, size_t vlen,
    const struct spans *sp)
{
	unsigned n = sp->n < 9 ? sp->n : 9;

	sieve_captures_clear(cap);
	cap->v[0] = xstrndup(value, vlen);
	cap->len[0] = vlen;
	for (unsigned i = 0; i < n; i++) {
		cap->v[i + 1] = xstrndup(value + sp->off[i], sp->len[i]);
		cap->len[i + 1] = sp->len[i];
	}
	cap->n = n + 1;
}

static char *
fold_copy(const char *s, size_t len)
{
	char *f = xmalloc(len + 1);

	for (size_t i = 0; i < len; i++)
		f[i] = (char)tolower((unsigned char)s[i]);
	return f;
}

static int
match_glob(bool fold, const char *value, size_t vlen, const char *key,
    size_t klen, struct sieve_match_budget *b, struct sieve_captures *cap)
{
	struct pattern p;
	struct spans sp = { .n = 0 };
	char *fv = fold ? fold_copy(value, vlen) : NULL;
	int r;

	pattern_parse(key, klen, fold, &p);
	r = glob(&p, fv != NULL ? fv : value, vlen, b, &sp);
	if (r == 1 && cap != NULL)
		captures_set(cap, value, vlen, &sp);
	free(p.lit);
	free(p.kind);
	free(fv);
	return r;
}

static int
match_contains(bool fold, const char *value, size_t vlen, const char *key,
    size_t klen)
{
	char *fv, *fk;
	bool found;

	if (klen == 0)
		return 1;
	if (!fold)
		return memmem(value, vlen, key, klen) != NULL;
	fv = fold_copy(value, vlen);
	fk = fold_copy(key, klen);
	found = memmem(fv, vlen, fk, klen) != NULL;
	free(fv);
	free(fk);
	return found;
}

int
sieve_match(enum sieve_match m, enum sieve_rel rel, enum sieve_cmp cmp,
    const char *value, size_t vlen, const char *key, size_t klen,
    struct sieve_match_budget *b, struct sieve_captures *cap)
{
	struct sieve_match_budget local = { 0, DEFAULT_STEPS };
	bool fold = cmp == SIEVE_CMP_ASCII_CASEMAP;

	if (b == NULL)
		b = &local;
	if (!charge(b, 1))
		return -1;
	if (cmp == SIEVE_CMP_ASCII_NUMERIC) {
		/* equality and ordering only (RFC 4790 9.1); the compiler
		 * refuses :contains and :matches with it */
		if (m == SIEVE_MATCH_IS)
			return order_numeric(value, vlen, key, klen) == 0;
		if (m == SIEVE_MATCH_VALUE || m == SIEVE_MATCH_COUNT)
			return rel_holds(rel,
			    order_numeric(value, vlen, key, klen));
		return 0;
	}
	switch (m) {
	case SIEVE_MATCH_IS:
		return vlen == klen &&
		    order_bytes(value, vlen, key, klen, fold) == 0;
	case SIEVE_MATCH_CONTAINS:
		return match_contains(fold, value, vlen, key, klen);
	case SIEVE_MATCH_MATCHES:
		return match_glob(fold, value, vlen, key, klen, b, cap);
	case SIEVE_MATCH_VALUE:
	case SIEVE_MATCH_COUNT:
		return rel_holds(rel, order_bytes(value, vlen, key, klen, fold));
	}
	return 0;
}
