/*
 * spf_record - I/O-free parser of one SPF record into terms (RFC 7208 4.5,
 * 4.6.1, 5, 6 and the ABNF of 12).
 *
 * Trust: the record is untrusted text from DNS; every term is checked
 * against the ABNF before the evaluator (spf.c) sees the record, so a
 * syntax error anywhere is a permerror even when an earlier mechanism
 * would have matched (4.6). Macro syntax is checked by spf_macro.c.
 *
 * Grammar notes. Terms are separated by one or more SP only (a TAB is part
 * of a term, hence an error). Names of mechanisms and modifiers are case-
 * insensitive, as ABNF strings are. For a and mx the dual-cidr-length is
 * taken from the end of the term ("a:%{d}/24//64"), because a domain-spec
 * may itself hold '/'; a suffix that is not a valid prefix length stays in
 * the domain-spec and then fails its top-label check.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/spf_macro.h"
#include "policy/spf_record.h"
#include "util/xmalloc.h"

#define SPF_ERROR_TERM_MAX	64	/* octets of a term quoted in errors */
#define SPF_IP6_TEXT_MAX	45	/* "ffff:...:255.255.255.255" */

struct spf_mech_name {
	const char	*name;
	enum spf_mech	 mech;
};

static const struct spf_mech_name spf_mechs[] = {
	{ "all", SPF_MECH_ALL },
	{ "include", SPF_MECH_INCLUDE },
	{ "a", SPF_MECH_A },
	{ "mx", SPF_MECH_MX },
	{ "ptr", SPF_MECH_PTR },
	{ "ip4", SPF_MECH_IP4 },
	{ "ip6", SPF_MECH_IP6 },
	{ "exists", SPF_MECH_EXISTS },
};

/* The term being parsed, for error messages. */
struct spf_term_text {
	const char	*p;
	size_t		 n;
};

static int
spf_error(char **error_r, const char *why, const struct spf_term_text *t)
{
	size_t n = t->n > SPF_ERROR_TERM_MAX ? SPF_ERROR_TERM_MAX : t->n;

	*error_r = xasprintf("%s: \"%.*s%s\"", why, (int)n, t->p,
	    t->n > n ? "..." : "");
	return -1;
}

bool
spf_record_is_spf(const char *txt, size_t len)
{
	return len >= 6 && strncasecmp(txt, "v=spf1", 6) == 0 &&
	    (len == 6 || txt[6] == ' ');
}

static bool
spf_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A prefix length: "0" or digits without a leading zero, at most max. */
static int
spf_parse_num(const char *p, size_t n, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (n == 0 || (n > 1 && p[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!spf_digit(p[i]))
			return -1;
		v = v * 10 + (unsigned)(p[i] - '0');
		if (v > max)
			return -1;
	}
	*out = v;
	return 0;
}

/* qnum "." qnum "." qnum "." qnum, each 0-255 without leading zeros. */
static int
spf_parse_ip4(const char *p, size_t n, unsigned char out[4])
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		size_t start = i;
		unsigned v;

		while (i < n && spf_digit(p[i]))
			i++;
		if (i - start > 3 ||
		    spf_parse_num(p + start, i - start, 255, &v) < 0)
			return -1;
		out[part] = (unsigned char)v;
		if (part < 3 && (i >= n || p[i++] != '.'))
			return -1;
	}
	return i == n ? 0 : -1;
}

static int
spf_parse_ip6(const char *p, size_t n, unsigned char out[16])
{
	char tmp[SPF_IP6_TEXT_MAX + 1];
	struct in6_addr a;

	if (n == 0 || n > SPF_IP6_TEXT_MAX)
		return -1;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	if (inet_pton(AF_INET6, tmp, &a) != 1)
		return -1;
	memcpy(out, a.s6_addr, 16);
	return 0;
}

static int
spf_domain_spec(const char *p, size_t n, char **out, char **error_r,
    const struct spf_term_text *t)
{
	const char *why;

	if (n == 0)
		return spf_error(error_r, "empty domain-spec", t);
	if (spf_macro_check(p, n, SPF_MACRO_DOMAIN, &why) < 0)
		return spf_error(error_r, why, t);
	*out = xstrndup(p, n);
	return 0;
}

/* Index of the last '/' in p[0..n), or n when there is none. */
static size_t
spf_last_slash(const char *p, size_t n)
{
	for (size_t i = n; i > 0; i--) {
		if (p[i - 1] == '/')
			return i - 1;
	}
	return n;
}

static bool
spf_all_digits(const char *p, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!spf_digit(p[i]))
			return false;
	}
	return true;
}

/*
 * [ ":" domain-spec ] [ dual-cidr-length ], for a and mx. A domain-spec
 * never ends in "/" DIGITS (its domain-end is a macro or a top label), so
 * such a suffix is a prefix length, valid or not.
 */
static int
spf_parse_dual(struct spf_term *term, const char *p, size_t n,
    char **error_r, const struct spf_term_text *t)
{
	size_t s = spf_last_slash(p, n);

	if (s > 0 && s < n && p[s - 1] == '/' &&
	    spf_all_digits(p + s + 1, n - s - 1)) {
		if (spf_parse_num(p + s + 1, n - s - 1, 128, &term->cidr6) < 0)
			return spf_error(error_r, "invalid IPv6 prefix length",
			    t);
		n = s - 1;
	}
	s = spf_last_slash(p, n);
	if (s < n && spf_all_digits(p + s + 1, n - s - 1)) {
		if (spf_parse_num(p + s + 1, n - s - 1, 32, &term->cidr4) < 0)
			return spf_error(error_r, "invalid IPv4 prefix length",
			    t);
		n = s;
	}
	if (n == 0)
		return 0;
	if (p[0] != ':')
		return spf_error(error_r, "unknown mechanism", t);
	return spf_domain_spec(p + 1, n - 1, &term->domain, error_r, t);
}

/* ":" address [ "/" prefix ], for ip4 and ip6. */
static int
spf_parse_ipnet(struct spf_term *term, const char *p, size_t n,
    char **error_r, const struct spf_term_text *t)
{
	bool six = term->mech == SPF_MECH_IP6;
	const char *slash;
	size_t alen;

	if (n == 0 || p[0] != ':')
		return spf_error(error_r, six ? "ip6 needs an address" :
		    "ip4 needs an address", t);
	p++;
	n--;
	slash = memchr(p, '/', n);
	alen = slash ? (size_t)(slash - p) : n;
	if (six ? spf_parse_ip6(p, alen, term->net) < 0 :
	    spf_parse_ip4(p, alen, term->net) < 0)
		return spf_error(error_r, six ? "invalid IPv6 address" :
		    "invalid IPv4 address", t);
	if (slash != NULL && spf_parse_num(slash + 1, n - alen - 1,
	    six ? 128 : 32, six ? &term->cidr6 : &term->cidr4) < 0)
		return spf_error(error_r, "invalid prefix length", t);
	return 0;
}

static int
spf_parse_args(struct spf_term *term, const char *p, size_t n,
    char **error_r, const struct spf_term_text *t)
{
	switch (term->mech) {
	case SPF_MECH_ALL:
		return n == 0 ? 0 : spf_error(error_r, "all takes no argument",
		    t);
	case SPF_MECH_INCLUDE:
	case SPF_MECH_EXISTS:
		if (n == 0 || p[0] != ':')
			return spf_error(error_r, "mechanism needs a "
			    "domain-spec", t);
		return spf_domain_spec(p + 1, n - 1, &term->domain, error_r,
		    t);
	case SPF_MECH_PTR:
		if (n == 0)
			return 0;
		if (p[0] != ':')
			return spf_error(error_r, "unknown mechanism", t);
		return spf_domain_spec(p + 1, n - 1, &term->domain, error_r,
		    t);
	case SPF_MECH_A:
	case SPF_MECH_MX:
		return spf_parse_dual(term, p, n, error_r, t);
	case SPF_MECH_IP4:
	case SPF_MECH_IP6:
		return spf_parse_ipnet(term, p, n, error_r, t);
	}
	return spf_error(error_r, "unknown mechanism", t);
}

static struct spf_term *
spf_term_add(struct spf_record *rec)
{
	struct spf_term *term;

	/* Capacity: 4, then doubled each time a power of two is full. */
	if (rec->nterms == 0 ||
	    (rec->nterms >= 4 && (rec->nterms & (rec->nterms - 1)) == 0)) {
		size_t cap = rec->nterms ? (size_t)rec->nterms * 2 : 4;

		rec->terms = xrealloc(rec->terms, cap * sizeof(*rec->terms));
	}
	term = &rec->terms[rec->nterms++];
	memset(term, 0, sizeof(*term));
	term->cidr4 = 32;
	term->cidr6 = 128;
	return term;
}

static int
spf_parse_directive(struct spf_record *rec, const struct spf_term_text *t,
    char **error_r)
{
	const char *p = t->p, *end = t->p + t->n;
	enum spf_result qual = SPF_PASS;
	struct spf_term *term;
	size_t k = 0;

	switch (*p) {
	case '+': qual = SPF_PASS; p++; break;
	case '-': qual = SPF_FAIL; p++; break;
	case '~': qual = SPF_SOFTFAIL; p++; break;
	case '?': qual = SPF_NEUTRAL; p++; break;
	default: break;
	}
	while (p + k < end && p[k] != ':' && p[k] != '/')
		k++;
	for (size_t i = 0; i < sizeof(spf_mechs) / sizeof(spf_mechs[0]); i++) {
		if (strlen(spf_mechs[i].name) != k ||
		    strncasecmp(p, spf_mechs[i].name, k) != 0)
			continue;
		term = spf_term_add(rec);
		term->mech = spf_mechs[i].mech;
		term->qual = qual;
		if (term->mech == SPF_MECH_ALL)
			rec->has_all = true;
		return spf_parse_args(term, p + k, (size_t)(end - p) - k,
		    error_r, t);
	}
	return spf_error(error_r, "unknown mechanism", t);
}

/* name "=" value, where name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) */
static size_t
spf_modifier_name_len(const char *p, size_t n)
{
	size_t k = 0;

	if (n == 0 || !((p[0] >= 'a' && p[0] <= 'z') ||
	    (p[0] >= 'A' && p[0] <= 'Z')))
		return 0;
	while (k < n && p[k] != '=') {
		char c = p[k];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    spf_digit(c) || c == '-' || c == '_' || c == '.'))
			return 0;
		k++;
	}
	return k < n ? k : 0;
}

static int
spf_parse_modifier(struct spf_record *rec, const struct spf_term_text *t,
    size_t k, char **error_r)
{
	const char *val = t->p + k + 1, *why;
	size_t vn = t->n - k - 1;
	char **slot = NULL;

	if (k == 8 && strncasecmp(t->p, "redirect", 8) == 0)
		slot = &rec->redirect;
	else if (k == 3 && strncasecmp(t->p, "exp", 3) == 0)
		slot = &rec->exp;
	if (slot == NULL) {
		if (spf_macro_check(val, vn, SPF_MACRO_STRING, &why) < 0)
			return spf_error(error_r, why, t);
		return 0;	/* unknown modifier: ignored (6) */
	}
	if (*slot != NULL)
		return spf_error(error_r, "modifier given twice", t);
	return spf_domain_spec(val, vn, slot, error_r, t);
}

static int
spf_parse_term(struct spf_record *rec, const char *p, size_t n,
    char **error_r)
{
	struct spf_term_text t = { p, n };
	size_t k = spf_modifier_name_len(p, n);

	if (k > 0)
		return spf_parse_modifier(rec, &t, k, error_r);
	return spf_parse_directive(rec, &t, error_r);
}

static int
spf_check_chars(const char *txt, size_t len, char **error_r)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)txt[i];

		if (c < 0x20 || c > 0x7e) {
			*error_r = xasprintf("%s at offset %zu",
			    c > 0x7e ? "non-ASCII octet" : "control character",
			    i);
			return -1;
		}
	}
	return 0;
}

struct spf_record *
spf_record_parse(const char *txt, size_t len, char **error_r)
{
	struct spf_record *rec;
	size_t i = 6;

	*error_r = NULL;
	if (len > SPF_RECORD_MAX) {
		*error_r = xasprintf("record longer than %d octets",
		    SPF_RECORD_MAX);
		return NULL;
	}
	if (!spf_record_is_spf(txt, len)) {
		*error_r = xstrdup("not an SPF record (no \"v=spf1\")");
		return NULL;
	}
	if (spf_check_chars(txt, len, error_r) < 0)
		return NULL;
	rec = xmalloc(sizeof(*rec));
	while (i < len) {
		size_t j = i;

		if (txt[i] == ' ') {
			i++;
			continue;
		}
		while (j < len && txt[j] != ' ')
			j++;
		if (spf_parse_term(rec, txt + i, j - i, error_r) < 0) {
			spf_record_free(&rec);
			return NULL;
		}
		i = j;
	}
	return rec;
}

void
spf_record_free(struct spf_record **recp)
{
	struct spf_record *rec = *recp;

	if (rec == NULL)
		return;
	for (int i = 0; i < rec->nterms; i++)
		free(rec->terms[i].domain);
	free(rec->terms);
	free(rec->redirect);
	free(rec->exp);
	free(rec);
	*recp = NULL;
}
