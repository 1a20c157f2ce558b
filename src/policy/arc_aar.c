/*
 * arc_aar - reading an ARC-Authentication-Results payload (RFC 8617
 * 4.1.1: an RFC 8601 authres-payload) far enough for the trusted-sealer
 * rule: did the sealer record method=pass (for this From domain)?
 *
 * Trust: the payload is from anyone; only a sealer the operator trusts
 * (arc_trusted_sealers) and whose seal verified is ever asked. Reading is
 * bounded by the payload (a field of at most DKIM_SIG_FIELD_MAX octets)
 * and never fails: what does not parse is no pass.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/arc.h"
#include "util/buf.h"

/* The payload with comments blanked and quoted strings kept, so that
 * ';' and '=' split only where they are syntax. NUL-terminated. */
static void
uncomment(const char *p, struct buf *out)
{
	int depth = 0;
	bool quoted = false;

	for (; *p != '\0'; p++) {
		char c = *p;

		if (quoted) {
			if (c == '\\' && p[1] != '\0') {
				buf_putc(out, '_');	/* the pair stays a word */
				p++;
				c = '_';
			} else if (c == '"')
				quoted = false;
		} else if (depth > 0) {
			if (c == '\\' && p[1] != '\0')
				p++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			c = ' ';
		} else if (c == '(') {
			depth = 1;
			c = ' ';
		} else if (c == '"')
			quoted = true;
		buf_putc(out, c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
	}
	buf_putc(out, '\0');
}

/* The next word of s (up to space, '=' or the end), *s moved past it and
 * past white space; "=" is a word of its own. */
static size_t
word(char **s, char **w)
{
	char *p = *s;
	size_t n = 0;

	while (*p == ' ')
		p++;
	*w = p;
	if (*p == '=')
		n = 1;
	else
		while (p[n] != '\0' && p[n] != ' ' && p[n] != '=')
			n++;
	p += n;
	while (*p == ' ')
		p++;
	*s = p;
	return n;
}

static bool
word_is(const char *w, size_t n, const char *s)
{
	return n == strlen(s) && strncasecmp(w, s, n) == 0;
}

/* "= value" after a property name, quotes and a local part dropped. */
static bool
prop_value_is(char **r, const char *value)
{
	char *w, *at;
	size_t n = word(r, &w);

	if (!word_is(w, n, "="))
		return false;
	n = word(r, &w);
	if (n >= 2 && w[0] == '"' && w[n - 1] == '"') {
		w++;
		n -= 2;
	}
	if ((at = memchr(w, '@', n)) != NULL) {	/* an address */
		n -= (size_t)(at + 1 - w);
		w = at + 1;
	}
	return word_is(w, n, value);
}

/* One resinfo: "method[/v] = result [reason=..] [ptype.prop = value]*". */
static bool
resinfo_pass(char *r, const char *method, const char *prop,
    const char *value)
{
	char *w, *slash;
	size_t n = word(&r, &w);

	if ((slash = memchr(w, '/', n)) != NULL)
		n = (size_t)(slash - w);
	if (!word_is(w, n, method))
		return false;
	n = word(&r, &w);
	if (!word_is(w, n, "="))
		return false;
	n = word(&r, &w);
	if (!word_is(w, n, "pass"))
		return false;
	if (prop == NULL)
		return true;
	while (*r != '\0') {
		n = word(&r, &w);
		if (word_is(w, n, prop) && prop_value_is(&r, value))
			return true;
	}
	return false;
}

bool
arc_aar_has_pass(const char *payload, const char *method,
    const char *ptype_prop, const char *value)
{
	struct buf b;
	char *s, *semi;
	bool quoted = false, found = false, first = true;

	if (payload == NULL)
		return false;
	buf_init(&b, 0);
	uncomment(payload, &b);
	s = b.data;
	/* split at ';' outside quoted strings; the first part is the
	 * authserv-id */
	for (char *p = s; !found; p++) {
		if (*p == '"')
			quoted = !quoted;
		if (*p != '\0' && (*p != ';' || quoted))
			continue;
		semi = p;
		bool end = *p == '\0';
		*semi = '\0';
		if (!first)
			found = resinfo_pass(s, method, ptype_prop, value);
		first = false;
		if (end)
			break;
		s = semi + 1;
	}
	buf_free(&b);
	return found;
}

bool
arc_sealer_vouches(const struct arc_result *r, char *const *trusted,
    size_t ntrusted, const char *from_domain)
{
	bool ours = false;

	if (r->status != ARC_PASS || r->sealer == NULL || from_domain == NULL)
		return false;
	for (size_t i = 0; i < ntrusted && !ours; i++) {
		const char *t = trusted[i];
		size_t tl = strlen(t);

		if (tl > 0 && t[tl - 1] == '.')	/* a final dot */
			tl--;
		ours = strlen(r->sealer) == tl &&
		    strncasecmp(r->sealer, t, tl) == 0;
	}
	return ours && (arc_aar_has_pass(r->aar, "dmarc", NULL, NULL) ||
	    arc_aar_has_pass(r->aar, "dkim", "header.d", from_domain) ||
	    arc_aar_has_pass(r->aar, "spf", "smtp.mailfrom", from_domain));
}
