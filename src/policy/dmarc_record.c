/*
 * dmarc_record - the DMARC record parser (RFC 7489 6.3, 6.4; np from
 * RFC 9091).
 *
 * Trust: the text is a TXT record from anyone's DNS. The parser walks
 * txt[0..len) once, copies only report URIs (at most DMARC_URI_MAX per
 * tag, each bounded by the record length), and never fails on garbage:
 * a syntax error in a tag drops that tag in favour of its default (6.3).
 * Callers: dmarc_lookup.c, tests, fuzz/fuzz-dmarc.c.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/dmarc.h"
#include "util/xmalloc.h"

#define DMARC_RI_DEFAULT	86400

/* One piece of the record text. */
struct span {
	const char	*s;
	size_t		 n;
};

/* Tags seen so far (a repeated tag keeps its first value). */
enum {
	TAG_P = 1 << 0, TAG_SP = 1 << 1, TAG_NP = 1 << 2, TAG_ADKIM = 1 << 3,
	TAG_ASPF = 1 << 4, TAG_PCT = 1 << 5, TAG_FO = 1 << 6, TAG_RF = 1 << 7,
	TAG_RI = 1 << 8, TAG_RUA = 1 << 9, TAG_RUF = 1 << 10,
};

struct parse {
	struct dmarc_policy	*pol;
	unsigned		 seen;
	bool			 p_ok;
	bool			 sp_bad;
};

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static struct span
trim(struct span sp)
{
	while (sp.n > 0 && is_wsp(sp.s[0])) {
		sp.s++;
		sp.n--;
	}
	while (sp.n > 0 && is_wsp(sp.s[sp.n - 1]))
		sp.n--;
	return sp;
}

static bool
span_is(struct span sp, const char *lit)
{
	size_t n = strlen(lit);

	return sp.n == n && strncasecmp(sp.s, lit, n) == 0;
}

/* Cuts sp at the first c: *head is what came before, sp what follows;
 * false (head = all of sp) when there is no c. */
static bool
span_cut(struct span *sp, char c, struct span *head)
{
	const char *p = memchr(sp->s, c, sp->n);

	if (p == NULL) {
		*head = *sp;
		sp->s += sp->n;
		sp->n = 0;
		return false;
	}
	head->s = sp->s;
	head->n = (size_t)(p - sp->s);
	sp->n -= head->n + 1;
	sp->s = p + 1;
	return true;
}

/* Unsigned decimal of 1..maxdigits digits, at most max. */
static bool
span_uint(struct span sp, size_t maxdigits, uint64_t max, uint64_t *v_r)
{
	uint64_t v = 0;

	if (sp.n == 0 || sp.n > maxdigits)
		return false;
	for (size_t i = 0; i < sp.n; i++) {
		if (sp.s[i] < '0' || sp.s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(sp.s[i] - '0');
	}
	if (v > max)
		return false;
	*v_r = v;
	return true;
}

static bool
parse_disp(struct span v, enum dmarc_disposition *d)
{
	if (span_is(v, "none"))
		*d = DMARC_DISP_NONE;
	else if (span_is(v, "quarantine"))
		*d = DMARC_DISP_QUARANTINE;
	else if (span_is(v, "reject"))
		*d = DMARC_DISP_REJECT;
	else
		return false;
	return true;
}

/* ------------------------------------------------------------------ */
/* Lists: fo, rf, rua, ruf */

static unsigned
fo_bit(struct span v)
{
	if (v.n != 1)
		return 0;
	switch (v.s[0]) {
	case '0': return DMARC_FO_0;
	case '1': return DMARC_FO_1;
	case 'd': case 'D': return DMARC_FO_D;
	case 's': case 'S': return DMARC_FO_S;
	default: return 0;
	}
}

/* fo = 1*(0/1/d/s) separated by ':'; any bad element voids the tag. */
static bool
parse_fo(struct span v, unsigned *fo_r)
{
	struct span el;
	unsigned fo = 0, bit;
	bool more;

	do {
		more = span_cut(&v, ':', &el);
		if ((bit = fo_bit(trim(el))) == 0)
			return false;
		fo |= bit;
	} while (more);
	*fo_r = fo;
	return true;
}

static bool
is_keyword(struct span v)
{
	if (v.n == 0)
		return false;
	for (size_t i = 0; i < v.n; i++) {
		char c = v.s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (i > 0 && c == '-')))
			return false;
	}
	return true;
}

/* rf = Keyword *(":" Keyword); afrf is the only format defined. */
static bool
parse_rf(struct span v, bool *afrf_r)
{
	struct span el;
	bool more, afrf = false;

	do {
		more = span_cut(&v, ':', &el);
		el = trim(el);
		if (!is_keyword(el))
			return false;
		afrf |= span_is(el, "afrf");
	} while (more);
	*afrf_r = afrf;
	return true;
}

static bool
uri_char_ok(unsigned char c)
{
	return c > ' ' && c < 0x7f && strchr("\"<>\\^`{|}", c) == NULL;
}

/* RFC 3986 absolute URI, loosely: scheme ":" and one or more chars. */
static bool
uri_valid(struct span u)
{
	size_t i = 0;

	if (u.n == 0 || !((u.s[0] | 0x20) >= 'a' && (u.s[0] | 0x20) <= 'z'))
		return false;
	while (i < u.n && u.s[i] != ':') {
		char c = u.s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '-' ||
		    c == '.'))
			return false;
		i++;
	}
	if (i + 1 >= u.n)
		return false;
	for (i++; i < u.n; i++)
		if (!uri_char_ok((unsigned char)u.s[i]))
			return false;
	return true;
}

/* "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] */
static bool
parse_size(struct span sz, uint64_t *size_r)
{
	unsigned shift = 0;
	uint64_t v;

	if (sz.n > 0) {
		switch (sz.s[sz.n - 1] | 0x20) {
		case 'k': shift = 10; break;
		case 'm': shift = 20; break;
		case 'g': shift = 30; break;
		case 't': shift = 40; break;
		default: break;
		}
		if (shift > 0)
			sz.n--;
	}
	if (!span_uint(sz, 19, UINT64_MAX >> shift, &v))
		return false;
	*size_r = v << shift;
	return true;
}

/* One "uri[!size]" list element; appended when valid and room left. */
static void
uri_add(struct span el, struct dmarc_uri *uris, int *n)
{
	struct span uri;
	uint64_t size = 0;

	el = trim(el);
	if (span_cut(&el, '!', &uri) && !parse_size(el, &size))
		return;
	if (!uri_valid(uri) || *n >= DMARC_URI_MAX)
		return;
	uris[*n].uri = xstrndup(uri.s, uri.n);
	uris[*n].max_size = size;
	(*n)++;
}

static void
parse_uris(struct span v, struct dmarc_uri *uris, int *n)
{
	struct span el;
	bool more;

	do {
		more = span_cut(&v, ',', &el);
		uri_add(el, uris, n);
	} while (more);
}

/* ------------------------------------------------------------------ */
/* Tags */

static void
tag_policy(struct parse *ps, struct span name, struct span v)
{
	struct dmarc_policy *pol = ps->pol;

	if (span_is(name, "p")) {
		ps->p_ok = parse_disp(v, &pol->p);
	} else if (span_is(name, "sp")) {
		pol->sp_set = parse_disp(v, &pol->sp);
		ps->sp_bad = !pol->sp_set;
	} else if (span_is(name, "np")) {
		pol->np_set = parse_disp(v, &pol->np);
	}
}

static void
tag_other(struct parse *ps, struct span name, struct span v)
{
	struct dmarc_policy *pol = ps->pol;
	uint64_t n;

	if (span_is(name, "adkim") && (span_is(v, "r") || span_is(v, "s")))
		pol->adkim_strict = span_is(v, "s");
	else if (span_is(name, "aspf") && (span_is(v, "r") || span_is(v, "s")))
		pol->aspf_strict = span_is(v, "s");
	else if (span_is(name, "pct") && span_uint(v, 3, 100, &n))
		pol->pct = (unsigned)n;
	else if (span_is(name, "ri") && span_uint(v, 10, UINT32_MAX, &n))
		pol->ri = (uint32_t)n;
	else if (span_is(name, "fo"))
		parse_fo(v, &pol->fo);
	else if (span_is(name, "rf"))
		parse_rf(v, &pol->rf_afrf);
	else if (span_is(name, "rua"))
		parse_uris(v, pol->rua, &pol->nrua);
	else if (span_is(name, "ruf"))
		parse_uris(v, pol->ruf, &pol->nruf);
}

static unsigned
tag_bit(struct span name)
{
	static const char *const names[] = { "p", "sp", "np", "adkim",
	    "aspf", "pct", "fo", "rf", "ri", "rua", "ruf" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (span_is(name, names[i]))
			return 1u << i;
	return 0;	/* unknown: ignored (6.3) */
}

/* One "name = value" part after the version. */
static void
tag(struct parse *ps, struct span part)
{
	struct span name;
	unsigned bit;

	if (!span_cut(&part, '=', &name))
		return;			/* not a tag: ignored */
	name = trim(name);
	part = trim(part);
	bit = tag_bit(name);
	if (bit == 0 || (ps->seen & bit) != 0)
		return;
	ps->seen |= bit;
	if (bit & (TAG_P | TAG_SP | TAG_NP))
		tag_policy(ps, name, part);
	else
		tag_other(ps, name, part);
}

/* The first part must be exactly "v=DMARC1" (6.3: "MUST match
 * precisely"), white space allowed around the tag and value. */
static bool
version_ok(struct span part)
{
	struct span name;

	if (!span_cut(&part, '=', &name))
		return false;
	name = trim(name);
	part = trim(part);
	return span_is(name, "v") && part.n == 6 &&
	    memcmp(part.s, "DMARC1", 6) == 0;
}

static void
policy_defaults(struct dmarc_policy *pol)
{
	pol->pct = 100;
	pol->fo = DMARC_FO_0;
	pol->rf_afrf = true;
	pol->ri = DMARC_RI_DEFAULT;
}

enum dmarc_parse_status
dmarc_record_parse(const char *txt, size_t len, struct dmarc_policy **pol_r)
{
	struct span rest = { txt, len }, part;
	struct parse ps = { 0 };
	bool more;

	*pol_r = NULL;
	more = span_cut(&rest, ';', &part);
	if (!version_ok(part))
		return DMARC_PARSE_NOT_DMARC;
	if (len > DMARC_RECORD_MAX)
		return DMARC_PARSE_NO_POLICY;
	ps.pol = xmalloc(sizeof(*ps.pol));
	policy_defaults(ps.pol);
	while (more) {
		more = span_cut(&rest, ';', &part);
		tag(&ps, part);
	}
	if (!ps.p_ok || ps.sp_bad) {
		/* 6.6.3 step 6: with a usable rua, as if "p=none". */
		if (ps.pol->nrua == 0) {
			dmarc_policy_free(&ps.pol);
			return DMARC_PARSE_NO_POLICY;
		}
		ps.pol->p = DMARC_DISP_NONE;
		ps.pol->sp_set = ps.pol->np_set = false;
		ps.pol->p_defaulted = true;
	}
	if (!ps.pol->sp_set)
		ps.pol->sp = ps.pol->p;
	if (!ps.pol->np_set)
		ps.pol->np = ps.pol->sp;
	*pol_r = ps.pol;
	return DMARC_PARSE_OK;
}

void
dmarc_policy_free(struct dmarc_policy **pol)
{
	struct dmarc_policy *p = *pol;

	if (p == NULL)
		return;
	for (int i = 0; i < p->nrua; i++)
		free(p->rua[i].uri);
	for (int i = 0; i < p->nruf; i++)
		free(p->ruf[i].uri);
	free(p->domain);
	XFREE(pol);
}

const char *
dmarc_disposition_str(enum dmarc_disposition d)
{
	switch (d) {
	case DMARC_DISP_NONE:		return "none";
	case DMARC_DISP_QUARANTINE:	return "quarantine";
	case DMARC_DISP_REJECT:		return "reject";
	}
	return "?";
}
