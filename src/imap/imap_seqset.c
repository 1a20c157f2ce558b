/*
 * imap_seqset - IMAP sequence sets (RFC 9051 sequence-set, RFC 5182 "$"):
 * parse, resolve "*", clamp, test, count, format (see imap_args.h).
 *
 * Trust: arguments from an untrusted client, already bounded in size and
 * nesting by imap_parser. Pure functions: no I/O, no globals, no logging.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_args_int.h"
#include "util/buf.h"

/* ------------------------------------------------------------------ */
/* Sequence sets                                                        */

/* seq-number: nz-number (1..4294967295) or "*". */
static int
parse_seq_number(const char *s, size_t len, uint32_t *n_r, bool *star_r)
{
	char tmp[11];

	*n_r = 0;
	*star_r = len == 1 && s[0] == '*';
	if (*star_r)
		return 0;
	if (len == 0 || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return imap_parse_number32(tmp, true, n_r);
}

int
imap_seqset_parse(const char *s, bool dollar_ok, struct imap_seqset *set,
    const char **error_r)
{
	const char *p, *end, *colon;
	unsigned n = 1, i = 0;

	memset(set, 0, sizeof(*set));
	if (strcmp(s, "$") == 0) {
		if (!dollar_ok)
			return err(error_r, "$ not allowed here");
		set->saved = true;
		return 0;
	}
	for (p = s; *p != '\0'; p++)
		n += *p == ',';
	set->ranges = xcalloc(n, sizeof(*set->ranges));
	for (p = s; i < n; p = end + 1, i++) {
		struct imap_seq_range *r = &set->ranges[i];

		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		colon = memchr(p, ':', (size_t)(end - p));
		if (colon == NULL) {
			if (parse_seq_number(p, (size_t)(end - p), &r->lo,
			    &r->lo_star) < 0)
				goto bad;
			r->hi = r->lo;
			r->hi_star = r->lo_star;
		} else if (parse_seq_number(p, (size_t)(colon - p), &r->lo,
		    &r->lo_star) < 0 ||
		    parse_seq_number(colon + 1, (size_t)(end - colon - 1),
		    &r->hi, &r->hi_star) < 0)
			goto bad;
	}
	set->count = n;
	return 0;
bad:
	imap_seqset_free(set);
	return err(error_r, "Invalid sequence set");
}

static int
range_cmp(const void *a, const void *b)
{
	const struct imap_seq_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

void
imap_seqset_resolve(struct imap_seqset *set, uint32_t star)
{
	struct imap_seq_range *r = set->ranges, t;
	unsigned i, out = 0;

	for (i = 0; i < set->count; i++) {
		if (r[i].lo_star)
			r[i].lo = star;
		if (r[i].hi_star)
			r[i].hi = star;
		r[i].lo_star = r[i].hi_star = false;
		if (r[i].lo > r[i].hi) {
			t = r[i];
			r[i].lo = t.hi;
			r[i].hi = t.lo;
		}
	}
	if (set->count == 0)
		return;
	qsort(r, set->count, sizeof(*r), range_cmp);
	for (i = 1; i < set->count; i++) {
		if (r[out].hi == UINT32_MAX || r[i].lo <= r[out].hi + 1) {
			if (r[i].hi > r[out].hi)
				r[out].hi = r[i].hi;
		} else
			r[++out] = r[i];
	}
	set->count = out + 1;
}

void
imap_seqset_clamp(struct imap_seqset *set, uint32_t max)
{
	unsigned i, out = 0;

	for (i = 0; i < set->count; i++) {
		struct imap_seq_range r = set->ranges[i];

		if (r.lo == 0)
			r.lo = 1;
		if (r.hi > max)
			r.hi = max;
		if (r.lo <= r.hi)
			set->ranges[out++] = r;
	}
	set->count = out;
}

bool
imap_seqset_contains(const struct imap_seqset *set, uint32_t n)
{
	unsigned lo = 0, hi = set->count, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (n < set->ranges[mid].lo)
			hi = mid;
		else if (n > set->ranges[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

uint64_t
imap_seqset_count(const struct imap_seqset *set)
{
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < set->count; i++)
		n += (uint64_t)set->ranges[i].hi - set->ranges[i].lo + 1;
	return n;
}

uint32_t
imap_seqset_max(const struct imap_seqset *set)
{
	return set->count == 0 ? 0 : set->ranges[set->count - 1].hi;
}

int
imap_seqset_format(const struct imap_seqset *set, struct buf *out)
{
	unsigned i;
	int r = 0;

	for (i = 0; i < set->count && r == 0; i++) {
		const struct imap_seq_range *g = &set->ranges[i];

		if (g->lo == g->hi)
			r = buf_printf(out, "%s%u", i ? "," : "", g->lo);
		else
			r = buf_printf(out, "%s%u:%u", i ? "," : "", g->lo,
			    g->hi);
	}
	return r;
}

void
imap_seqset_free(struct imap_seqset *set)
{
	free(set->ranges);
	memset(set, 0, sizeof(*set));
}

/* Sequence set from an atom argument. */
int
imap_seqset_from_arg(const struct imap_arg *arg, bool dollar_ok,
    struct imap_seqset *set, const char **error_r)
{
	memset(set, 0, sizeof(*set));
	if (arg->type != IMAP_ARG_ATOM)
		return err(error_r, "Invalid sequence set");
	return imap_seqset_parse(arg->str, dollar_ok, set, error_r);
}

bool
imap_seqset_has_star(const struct imap_seqset *set)
{
	unsigned i;

	for (i = 0; i < set->count; i++)
		if (set->ranges[i].lo_star || set->ranges[i].hi_star)
			return true;
	return false;
}

/* Numbers in an unresolved set without "*" (ranges may be reversed). */
uint64_t
imap_seqset_raw_count(const struct imap_seqset *set)
{
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < set->count; i++) {
		const struct imap_seq_range *r = &set->ranges[i];

		n += (r->lo > r->hi ? r->lo - r->hi : r->hi - r->lo) + 1ull;
	}
	return n;
}
