/*
 * spf_macro - SPF macro syntax and expansion (RFC 7208 section 7).
 *
 * Trust: untrusted input (DNS records); see spf_macro.h. Nothing here does
 * I/O. Memory stays bounded whatever the record: a domain expansion keeps
 * a window of its last SPF_WINDOW_KEEP octets once it passes
 * SPF_WINDOW_MAX (only the last 253 characters, cut at a label, can be
 * used), and an explanation stops growing at SPF_EXPLAIN_MAX.
 *
 * Callers: spf_record.c (syntax of domain-specs and modifiers), spf.c
 * (expansion during evaluation and of exp= text).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/spf_macro.h"
#include "util/buf.h"
#include "util/xmalloc.h"

/* The window of a long domain expansion (see above). */
#define SPF_WINDOW_MAX		2048
#define SPF_WINDOW_KEEP		1024
/* A transformer digit above this keeps every part anyway: a value has
 * fewer parts than octets, and no value here is that long in practice. */
#define SPF_DIGITS_CAP		100000

struct spf_macro {
	char		 letter;	/* lowercase */
	bool		 upper;		/* URL-escape the result */
	unsigned	 digits;	/* 0: keep every part */
	bool		 reverse;
	const char	*delims;	/* inside s; ndelims octets */
	size_t		 ndelims;
	size_t		 end;		/* index just past the '}' */
};

static const char SPF_LETTERS[] = "slodiphcrtv";
static const char SPF_DELIMS[] = ".-+,/_=";

static bool
spf_is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
spf_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char
spf_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Parses "%{...}" at s[i] (s[i] == '%', s[i + 1] == '{'). */
static int
spf_macro_parse(const char *s, size_t len, size_t i, struct spf_macro *m,
    const char **error_r)
{
	size_t j = i + 2;

	memset(m, 0, sizeof(*m));
	if (j >= len || s[j] == '\0' ||
	    strchr(SPF_LETTERS, spf_lower(s[j])) == NULL) {
		*error_r = "unknown macro letter";
		return -1;
	}
	m->letter = spf_lower(s[j]);
	m->upper = s[j] != m->letter;
	j++;
	if (j < len && s[j] == '0') {
		*error_r = "macro transformer 0 (must be nonzero)";
		return -1;
	}
	while (j < len && spf_is_digit(s[j])) {
		if (m->digits < SPF_DIGITS_CAP)
			m->digits = m->digits * 10 + (unsigned)(s[j] - '0');
		j++;
	}
	if (j < len && (s[j] == 'r' || s[j] == 'R')) {
		m->reverse = true;
		j++;
	}
	m->delims = s + j;
	while (j < len && s[j] != '\0' && strchr(SPF_DELIMS, s[j]) != NULL)
		j++;
	m->ndelims = (size_t)(s + j - m->delims);
	if (j >= len || s[j] != '}') {
		*error_r = "malformed macro (expected '}')";
		return -1;
	}
	m->end = j + 1;
	return 0;
}

/* toplabel = ( *alphanum ALPHA *alphanum ) /
 *            ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static bool
spf_toplabel_ok(const char *p, size_t n)
{
	bool alpha = false, hyphen = false;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (spf_is_alpha(p[i]))
			alpha = true;
		else if (p[i] == '-')
			hyphen = true;
		else if (!spf_is_digit(p[i]))
			return false;
	}
	if (!hyphen)
		return alpha;
	return p[0] != '-' && p[n - 1] != '-';
}

/* domain-end after the last macro (which ended at tail_start). */
static int
spf_domain_end_ok(const char *s, size_t len, size_t tail_start)
{
	const char *dot;
	size_t n = len;

	if (tail_start == len && len > 0)
		return 0;		/* ends with a macro-expand */
	if (n > tail_start && s[n - 1] == '.')
		n--;
	dot = NULL;
	for (size_t i = n; i > tail_start; i--) {
		if (s[i - 1] == '.') {
			dot = s + i - 1;
			break;
		}
	}
	if (dot == NULL)
		return -1;
	return spf_toplabel_ok(dot + 1, (size_t)(s + n - dot - 1)) ? 0 : -1;
}

int
spf_macro_check(const char *s, size_t len, enum spf_macro_kind kind,
    const char **error_r)
{
	struct spf_macro m;
	size_t i = 0, tail = 0;
	unsigned char lo = kind == SPF_MACRO_EXPLAIN ? 0x20 : 0x21;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];

		if (c < lo || c > 0x7e) {
			*error_r = "character not allowed in a macro-string";
			return -1;
		}
		if (c != '%') {
			i++;
			continue;
		}
		if (i + 1 < len && (s[i + 1] == '%' || s[i + 1] == '_' ||
		    s[i + 1] == '-')) {
			i += 2;
			tail = i;
			continue;
		}
		if (i + 1 >= len || s[i + 1] != '{') {
			*error_r = "'%' not followed by '{', '%', '_' or '-'";
			return -1;
		}
		if (spf_macro_parse(s, len, i, &m, error_r) < 0)
			return -1;
		if (kind == SPF_MACRO_DOMAIN && strchr("crt", m.letter)) {
			*error_r = "macros c, r and t are for exp text only";
			return -1;
		}
		i = tail = m.end;
	}
	if (kind == SPF_MACRO_DOMAIN && spf_domain_end_ok(s, len, tail) < 0) {
		*error_r = "domain-spec does not end with a macro or a valid "
		    "top label";
		return -1;
	}
	return 0;
}

bool
spf_macro_uses_p(const char *s, size_t len)
{
	for (size_t i = 0; i + 2 < len; i++) {
		if (s[i] != '%')
			continue;
		if (s[i + 1] == '{' && spf_lower(s[i + 2]) == 'p')
			return true;
		i++;		/* skip the escaped or macro-opening char */
	}
	return false;
}

/* ------------------------------------------------------------------ */
/* Expansion */

struct spf_out {
	struct buf		 b;
	enum spf_macro_kind	 kind;
};

static void
spf_out_put(struct spf_out *o, const char *p, size_t n)
{
	if (o->kind == SPF_MACRO_EXPLAIN) {
		size_t room = SPF_EXPLAIN_MAX - o->b.len;

		(void)buf_append(&o->b, p, n < room ? n : room);
		return;
	}
	(void)buf_append(&o->b, p, n);
	if (o->b.len > SPF_WINDOW_MAX)
		buf_consume(&o->b, o->b.len - SPF_WINDOW_KEEP);
}

static bool
spf_unreserved(unsigned char c)
{
	return spf_is_alpha((char)c) || spf_is_digit((char)c) || c == '-' ||
	    c == '.' || c == '_' || c == '~';
}

/* Appends one part, URL-escaped when the macro letter was uppercase. */
static void
spf_out_part(struct spf_out *o, const char *p, size_t n, bool escape)
{
	char hex[4];

	if (!escape) {
		spf_out_put(o, p, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (spf_unreserved(c)) {
			spf_out_put(o, p + i, 1);
			continue;
		}
		snprintf(hex, sizeof(hex), "%%%02X", c);
		spf_out_put(o, hex, 3);
	}
}

static const char *
spf_var(const struct spf_macro_vars *v, char letter)
{
	const char *val = NULL;

	switch (letter) {
	case 's': val = v->s; break;
	case 'l': val = v->l; break;
	case 'o': val = v->o; break;
	case 'd': val = v->d; break;
	case 'i': val = v->i; break;
	case 'p': val = v->p ? v->p : "unknown"; break;
	case 'v': val = v->v; break;
	case 'h': val = v->h; break;
	case 'c': val = v->c; break;
	case 'r': val = v->r ? v->r : "unknown"; break;
	case 't': val = v->t; break;
	default: break;
	}
	return val ? val : "";
}

/*
 * Splits val on the macro's delimiters, reverses, keeps the right-most
 * parts and joins them with '.' (RFC 7208 7.3).
 */
static void
spf_expand_one(struct spf_out *o, const struct spf_macro *m, const char *val)
{
	const char *delims = m->ndelims ? m->delims : ".";
	size_t nd = m->ndelims ? m->ndelims : 1, len = strlen(val), n = 1;
	size_t *start, *plen, k = 0, first, count;

	if (m->digits == 0 && !m->reverse && m->ndelims == 0) {
		spf_out_part(o, val, len, m->upper);
		return;
	}
	for (size_t i = 0; i < len; i++)
		n += memchr(delims, val[i], nd) != NULL;
	start = xcalloc(n, sizeof(*start));
	plen = xcalloc(n, sizeof(*plen));
	for (size_t i = 0; i <= len; i++) {
		if (i == len || memchr(delims, val[i], nd) != NULL) {
			plen[k] = i - start[k];
			if (++k < n)
				start[k] = i + 1;
		}
	}
	count = m->digits > 0 && m->digits < n ? m->digits : n;
	first = n - count;	/* index in the (possibly reversed) order */
	for (size_t j = first; j < n; j++) {
		size_t idx = m->reverse ? n - 1 - j : j;

		if (j > first)
			spf_out_put(o, ".", 1);
		spf_out_part(o, val + start[idx], plen[idx], m->upper);
	}
	free(start);
	free(plen);
}

/* One final dot off, then whole labels off the left past 253. */
static void
spf_domain_finish(struct buf *b)
{
	if (b->len > 0 && b->data[b->len - 1] == '.') {
		b->len--;
		b->data[b->len] = '\0';
	}
	while (b->len > SPF_DOMAIN_MAX) {
		char *dot = memchr(b->data, '.', b->len);

		if (dot == NULL)
			break;		/* one huge label: never a valid name */
		buf_consume(b, (size_t)(dot - b->data) + 1);
	}
}

char *
spf_macro_expand(const char *s, size_t len, enum spf_macro_kind kind,
    const struct spf_macro_vars *vars, const char **error_r)
{
	struct spf_out o = { .kind = kind };
	struct spf_macro m;
	size_t i = 0, lit;

	if (spf_macro_check(s, len, kind, error_r) < 0)
		return NULL;
	buf_init(&o.b, 0);
	while (i < len) {
		for (lit = i; lit < len && s[lit] != '%'; lit++)
			;
		spf_out_put(&o, s + i, lit - i);
		if ((i = lit) >= len)
			break;
		if (s[i + 1] == '%' || s[i + 1] == '_' || s[i + 1] == '-') {
			spf_out_put(&o, s[i + 1] == '%' ? "%" :
			    s[i + 1] == '_' ? " " : "%20",
			    s[i + 1] == '-' ? 3 : 1);
			i += 2;
			continue;
		}
		/* Checked above: this is a complete "%{...}". */
		(void)spf_macro_parse(s, len, i, &m, error_r);
		spf_expand_one(&o, &m, spf_var(vars, m.letter));
		i = m.end;
	}
	if (kind == SPF_MACRO_DOMAIN)
		spf_domain_finish(&o.b);
	return buf_steal(&o.b, NULL);
}

char *
spf_macro_ip(const struct sockaddr *sa, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	const struct sockaddr_in6 *sin6;
	size_t k = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)
		    (const void *)sa;

		return inet_ntop(AF_INET, &sin->sin_addr, out,
		    (socklen_t)outlen) ? out : NULL;
	}
	if (sa->sa_family != AF_INET6 || outlen < 64)
		return NULL;
	sin6 = (const struct sockaddr_in6 *)(const void *)sa;
	for (int i = 0; i < 16; i++) {
		uint8_t byte = sin6->sin6_addr.s6_addr[i];

		out[k++] = hex[byte >> 4];
		out[k++] = '.';
		out[k++] = hex[byte & 0xf];
		out[k++] = i < 15 ? '.' : '\0';
	}
	return out;
}
