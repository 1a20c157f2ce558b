/*
 * mta_sts_policy - MTA-STS policy, "_mta-sts" and "_smtp._tls" record
 * parsers and the MX match (see mta_sts_policy.h).
 *
 * Trust: all input is untrusted bytes from DNS or HTTPS. Each parser
 * checks every length before it reads and keeps at most the bounded
 * number of strings the header names. Strict where tem acts on a value
 * (version, mode, max_age, mx, id, rua), lenient with extensions, since
 * a refused policy silently downgrades the peer to opportunistic TLS.
 * Callers: the outbound MTA-STS and TLS-RPT code, test-mta-sts-policy.c,
 * fuzz/fuzz-mta-sts.c.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/mta_sts_policy.h"
#include "util/xmalloc.h"

static bool
wsp(char c)
{
	return c == ' ' || c == '\t';
}

static bool
alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

static bool
eq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* RFC 8461 3.1 / 3.2, RFC 8460 3: (ALPHA / DIGIT) *31(ALPHA / DIGIT /
 * "_" / "-" / "."). */
static bool
ext_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 32 || !alnum(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!alnum(s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
			return false;
	return true;
}

/* 1*(%x21-3A / %x3C / %x3E-7E): printable, no ';' nor '='. */
static bool
ext_value_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x21 || c > 0x7e || c == ';' || c == '=')
			return false;
	}
	return true;
}

/* A host name: LDH labels of 1..63, ≤ 253 octets, no final dot. */
static bool
domain_ok(const char *s, size_t n)
{
	size_t label = 0;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
		} else if (alnum(s[i]) || (s[i] == '-' && label > 0)) {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0 && s[n - 1] != '-';
}

/* ---- policy file (RFC 8461 3.2) ------------------------------------ */

static int
policy_mx(struct mta_sts_policy *p, const char *v, size_t n,
    const char **error_r)
{
	size_t skip = n > 2 && v[0] == '*' && v[1] == '.' ? 2 : 0;
	char *mx;

	if (!domain_ok(v + skip, n - skip)) {
		*error_r = "mx is not [*.]domain";
		return -1;
	}
	if (p->n_mx == MTA_STS_MX_MAX) {
		*error_r = "too many mx lines";
		return -1;
	}
	mx = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		mx[i] = (v[i] >= 'A' && v[i] <= 'Z') ? (char)(v[i] + 32) : v[i];
	p->mx[p->n_mx++] = mx;
	return 0;
}

static int
policy_max_age(struct mta_sts_policy *p, const char *v, size_t n,
    const char **error_r)
{
	uint64_t age = 0;

	/* 1*10(DIGIT): ten digits fit in 64 bits with room to spare. */
	if (n == 0 || n > 10) {
		*error_r = "max_age is not 1 to 10 digits";
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9') {
			*error_r = "max_age is not a number";
			return -1;
		}
		age = age * 10 + (uint64_t)(v[i] - '0');
	}
	p->max_age = age > MTA_STS_MAX_AGE_MAX ? MTA_STS_MAX_AGE_MAX :
	    (uint32_t)age;
	return 0;
}

/* One "key: value" line (trimmed, non-empty); seen: bit per known key. */
static int
policy_line(struct mta_sts_policy *p, const char *l, size_t n,
    unsigned *seen, const char **error_r)
{
	const char *colon = memchr(l, ':', n);
	size_t klen, vlen;
	const char *v;

	if (colon == NULL) {
		*error_r = "line without ':'";
		return -1;
	}
	klen = (size_t)(colon - l);
	v = colon + 1;
	vlen = n - klen - 1;
	while (vlen > 0 && wsp(*v))
		v++, vlen--;
	if (eq(l, klen, "mx")) {
		*seen |= 8;
		return policy_mx(p, v, vlen, error_r);
	}
	static const char *const keys[] = { "version", "mode", "max_age" };
	for (unsigned k = 0; k < 3; k++) {
		if (!eq(l, klen, keys[k]))
			continue;
		if (*seen & (1u << k)) {
			*error_r = "version, mode or max_age repeated";
			return -1;
		}
		*seen |= 1u << k;
		if (k == 2)
			return policy_max_age(p, v, vlen, error_r);
		if (k == 0 && eq(v, vlen, "STSv1"))
			return 0;
		if (k == 1 && eq(v, vlen, "enforce"))
			p->mode = MTA_STS_ENFORCE;
		else if (k == 1 && eq(v, vlen, "testing"))
			p->mode = MTA_STS_TESTING;
		else if (k == 1 && eq(v, vlen, "none"))
			p->mode = MTA_STS_NONE;
		else {
			*error_r = k == 0 ? "version is not STSv1" :
			    "mode is not enforce, testing or none";
			return -1;
		}
		return 0;
	}
	if (!ext_name_ok(l, klen)) {
		*error_r = "bad key name";
		return -1;
	}
	return 0;
}

int
mta_sts_policy_parse(const char *s, size_t len, struct mta_sts_policy *p,
    const char **error_r)
{
	unsigned seen = 0;
	size_t pos = 0;

	memset(p, 0, sizeof(*p));
	if (len > MTA_STS_BODY_MAX) {
		*error_r = "policy over 64 KiB";
		return -1;
	}
	if (memchr(s, '\0', len) != NULL) {
		*error_r = "NUL byte in policy";
		return -1;
	}
	while (pos < len) {
		const char *nl = memchr(s + pos, '\n', len - pos);
		size_t end = nl != NULL ? (size_t)(nl - s) : len, b = end;

		if (b > pos && s[b - 1] == '\r')
			b--;
		while (b > pos && wsp(s[b - 1]))
			b--;
		if (b > pos &&
		    policy_line(p, s + pos, b - pos, &seen, error_r) < 0) {
			mta_sts_policy_clear(p);
			return -1;
		}
		pos = end + 1;
	}
	if ((seen & 7) != 7) {
		*error_r = "version, mode or max_age missing";
	} else if (p->n_mx == 0 && p->mode != MTA_STS_NONE) {
		*error_r = "no mx";
	} else {
		return 0;
	}
	mta_sts_policy_clear(p);
	return -1;
}

void
mta_sts_policy_clear(struct mta_sts_policy *p)
{
	for (size_t i = 0; i < p->n_mx; i++)
		free(p->mx[i]);
	memset(p, 0, sizeof(*p));
}

const char *
mta_sts_mode_name(enum mta_sts_mode m)
{
	switch (m) {
	case MTA_STS_NONE:	return "none";
	case MTA_STS_TESTING:	return "testing";
	case MTA_STS_ENFORCE:	return "enforce";
	}
	return "?";
}

/* ---- MX match (RFC 8461 4.1) ---------------------------------------- */

bool
mta_sts_mx_match(const char *pattern, const char *host)
{
	size_t hlen = strlen(host), plen = strlen(pattern);

	if (hlen > 0 && host[hlen - 1] == '.')
		hlen--;
	if (plen > 2 && pattern[0] == '*' && pattern[1] == '.') {
		size_t slen = plen - 1;	/* ".example.com" */

		/* Exactly one non-empty label before the suffix. */
		return hlen > slen &&
		    strncasecmp(host + hlen - slen, pattern + 1, slen) == 0 &&
		    memchr(host, '.', hlen - slen) == NULL;
	}
	return plen == hlen && strncasecmp(host, pattern, hlen) == 0;
}

bool
mta_sts_policy_mx_ok(const struct mta_sts_policy *p, const char *host)
{
	for (size_t i = 0; i < p->n_mx; i++)
		if (mta_sts_mx_match(p->mx[i], host))
			return true;
	return false;
}

/* ---- TXT records (RFC 8461 3.1, RFC 8460 3) ------------------------- */

struct field {
	const char	*name, *value;
	size_t		 nlen, vlen;
};

/*
 * The next "name=value" of a record whose version field v=VERSION
 * (checked by the caller) is at its start: fields are separated by
 * *WSP ";" *WSP and the record may end with one more ";". Returns 1 with
 * *f, 0 at the end, -1 when a field has no '=' or a bad name.
 */
static int
field_next(const char *s, size_t len, size_t *pos, struct field *f,
    const char **error_r)
{
	while (*pos < len) {
		const char *semi = memchr(s + *pos, ';', len - *pos);
		size_t end = semi != NULL ? (size_t)(semi - s) : len;
		size_t a = *pos, b = end;
		const char *eqs;

		*pos = end + 1;
		while (a < b && wsp(s[a]))
			a++;
		while (b > a && wsp(s[b - 1]))
			b--;
		if (a == b)
			continue;	/* the optional final ";" */
		eqs = memchr(s + a, '=', b - a);
		if (eqs == NULL || !ext_name_ok(s + a, (size_t)(eqs - s) - a)) {
			*error_r = "field is not name=value";
			return -1;
		}
		f->name = s + a;
		f->nlen = (size_t)(eqs - s) - a;
		f->value = eqs + 1;
		f->vlen = b - f->nlen - 1 - a;
		return 1;
	}
	return 0;
}

/* Whether s starts with the field "v=VERSION", then *WSP and ';' or the
 * end; *pos goes past it. */
static bool
version_first(const char *s, size_t len, const char *version, size_t *pos)
{
	size_t n = strlen(version);

	if (len < n || memcmp(s, version, n) != 0)
		return false;
	while (n < len && wsp(s[n]))
		n++;
	if (n < len && s[n] != ';')
		return false;
	*pos = n;
	return true;
}

int
mta_sts_txt_parse(const char *s, size_t len,
    char id_r[MTA_STS_ID_MAX + 1], const char **error_r)
{
	struct field f;
	size_t pos;
	bool have_id = false;
	int rc;

	if (!version_first(s, len, "v=STSv1", &pos)) {
		*error_r = "record does not start with v=STSv1";
		return -1;
	}
	while ((rc = field_next(s, len, &pos, &f, error_r)) > 0) {
		if (!eq(f.name, f.nlen, "id")) {
			if (!ext_value_ok(f.value, f.vlen)) {
				*error_r = "bad extension value";
				return -1;
			}
			continue;
		}
		if (have_id || f.vlen == 0 || f.vlen > MTA_STS_ID_MAX) {
			*error_r = have_id ? "id repeated" : "id is not 1..32 long";
			return -1;
		}
		for (size_t i = 0; i < f.vlen; i++)
			if (!alnum(f.value[i])) {
				*error_r = "id is not letters and digits";
				return -1;
			}
		memcpy(id_r, f.value, f.vlen);
		id_r[f.vlen] = '\0';
		have_id = true;
	}
	if (rc == 0 && !have_id)
		*error_r = "no id";
	return rc == 0 && have_id ? 0 : -1;
}

/* Keeps the mailto: and https: URIs of the rua list v[0..n). */
static int
tlsrpt_rua(struct tlsrpt_record *r, const char *v, size_t n,
    const char **error_r)
{
	size_t pos = 0;

	while (pos <= n) {
		const char *c = memchr(v + pos, ',', n - pos);
		size_t end = c != NULL ? (size_t)(c - v) : n, a = pos, b = end;

		pos = end + 1;
		while (a < b && wsp(v[a]))
			a++;
		while (b > a && wsp(v[b - 1]))
			b--;
		if (a == b || b - a > TLSRPT_URI_MAX) {
			*error_r = "rua URI empty or too long";
			return -1;
		}
		for (size_t i = a; i < b; i++)
			if ((unsigned char)v[i] <= 0x20 ||
			    (unsigned char)v[i] >= 0x7f) {
				*error_r = "rua URI with a space or control";
				return -1;
			}
		if ((b - a > 7 && strncasecmp(v + a, "mailto:", 7) == 0) ||
		    (b - a > 6 && strncasecmp(v + a, "https:", 6) == 0)) {
			if (r->n_rua == TLSRPT_RUA_MAX)
				continue;
			r->rua[r->n_rua] = xmalloc(b - a + 1);
			memcpy(r->rua[r->n_rua++], v + a, b - a);
		}
	}
	return 0;
}

int
tlsrpt_record_parse(const char *s, size_t len, struct tlsrpt_record *r,
    const char **error_r)
{
	struct field f;
	size_t pos;
	bool have_rua = false;
	int rc;

	memset(r, 0, sizeof(*r));
	if (!version_first(s, len, "v=TLSRPTv1", &pos)) {
		*error_r = "record does not start with v=TLSRPTv1";
		return -1;
	}
	while ((rc = field_next(s, len, &pos, &f, error_r)) > 0) {
		if (!eq(f.name, f.nlen, "rua")) {
			if (!ext_value_ok(f.value, f.vlen)) {
				*error_r = "bad extension value";
				rc = -1;
				break;
			}
			continue;
		}
		if (have_rua) {
			*error_r = "rua repeated";
			rc = -1;
			break;
		}
		have_rua = true;
		if ((rc = tlsrpt_rua(r, f.value, f.vlen, error_r)) < 0)
			break;
	}
	if (rc == 0 && r->n_rua == 0) {
		*error_r = have_rua ? "no mailto: or https: rua" : "no rua";
		rc = -1;
	}
	if (rc < 0)
		tlsrpt_record_clear(r);
	return rc < 0 ? -1 : 0;
}

void
tlsrpt_record_clear(struct tlsrpt_record *r)
{
	for (size_t i = 0; i < r->n_rua; i++)
		free(r->rua[i]);
	memset(r, 0, sizeof(*r));
}
