/*
 * sieve_vars - RFC 5229 variables: "${...}" expansion in strings, the
 * `set` modifiers, and variable name syntax.
 *
 * Trust: the strings are script text and variable values (from message
 * text via match variables): untrusted. Expansion is one forward pass
 * (a reference that does not parse is copied as it is and the scan goes
 * on right after its "${", so nothing is read more than twice) and its
 * output is cut at the caller's limit, on a UTF-8 character boundary.
 *
 * As Pigeonhole's sieve-test: "${${a}}" with a = "x" gives "${x}",
 * "$${a}" gives "$x", "${a" and "${1a}" stay literal, "${01}" is ${1},
 * an unset name is "". Pigeonhole keeps more than ${9} after a :matches
 * with many wildcards; RFC 5229 3.2 only asks for ${0}..${9} and so do we
 * (${10} is "").
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sieve/sieve_lib.h"

static bool
id_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static bool
id_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Length of the identifier at s[0..len), 0 when there is none. */
static size_t
ident_len(const char *s, size_t len)
{
	size_t i = 0;

	if (len == 0 || !id_start(s[0]))
		return 0;
	while (i < len && id_char(s[i]))
		i++;
	return i;
}

/* Appends up to what is left of max (counted from base), cutting before
 * a partial UTF-8 character; false once the output is full. */
static bool
put(struct buf *out, size_t base, size_t max, const char *p, size_t n)
{
	size_t room = max - (out->len - base);
	bool cut = n > room;

	if (cut) {
		n = room;
		/* back off over continuation bytes to a character start */
		while (n > 0 && ((unsigned char)p[n] & 0xC0) == 0x80)
			n--;
	}
	buf_append(out, p, n);
	return !cut;
}

/*
 * The reference starting at s[i] == '$' (s[i + 1] == '{'): its length
 * through the '}' and, for a number, *num (else *num = -1 and the name is
 * s[i + 2 .. i + ref - 1]). 0 when it is not a reference.
 */
static size_t
ref_parse(const char *s, size_t len, size_t i, long *num)
{
	size_t p = i + 2, n;

	*num = -1;
	if (p < len && isdigit((unsigned char)s[p])) {
		long v = 0;

		for (; p < len && isdigit((unsigned char)s[p]); p++)
			if (v < 1000)	/* anything bigger is out of range */
				v = v * 10 + (s[p] - '0');
		if (p >= len || s[p] != '}')
			return 0;
		*num = v;
		return p + 1 - i;
	}
	for (;;) {
		if ((n = ident_len(s + p, len - p)) == 0)
			return 0;
		p += n;
		if (p < len && s[p] == '}')
			return p + 1 - i;
		if (p >= len || s[p] != '.')
			return 0;
		p++;
	}
}

void
sieve_expand(const char *s, sieve_var_lookup *lookup, void *arg,
    const struct sieve_captures *cap, size_t max, struct buf *out)
{
	size_t len = strlen(s), base = out->len, i = 0, lit = 0, ref;
	long num;

	while (i < len) {
		const char *v = NULL;
		size_t vlen = 0;

		if (s[i] != '$' || i + 1 >= len || s[i + 1] != '{' ||
		    (ref = ref_parse(s, len, i, &num)) == 0) {
			i++;
			continue;
		}
		if (!put(out, base, max, s + lit, i - lit))
			return;
		if (num >= 0 && cap != NULL && num < (long)cap->n && num < 10) {
			v = cap->v[num];
			vlen = cap->len[num];
		} else if (num < 0 && lookup != NULL)
			v = lookup(arg, s + i + 2, ref - 3, &vlen);
		if (v != NULL && !put(out, base, max, v, vlen))
			return;
		i += ref;
		lit = i;
	}
	put(out, base, max, s + lit, len - lit);
}

/* :encodeurl (RFC 5435 4.2): all but RFC 3986 unreserved characters. */
static void
encode_url(const char *in, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			buf_putc(out, (char)c);
		else
			buf_printf(out, "%%%02X", c);
	}
}

void
sieve_modify(unsigned mods, const char *in, size_t len, struct buf *out)
{
	struct buf a, b;

	buf_init(&a, 0);
	buf_init(&b, 0);
	buf_append(&a, in, len);
	/* precedence 40 */
	for (size_t i = 0; i < a.len; i++)
		if (mods & SIEVE_MOD_LOWER)
			a.data[i] = (char)tolower((unsigned char)a.data[i]);
		else if (mods & SIEVE_MOD_UPPER)
			a.data[i] = (char)toupper((unsigned char)a.data[i]);
	/* 30 */
	if (a.len > 0 && (mods & SIEVE_MOD_LOWERFIRST))
		a.data[0] = (char)tolower((unsigned char)a.data[0]);
	else if (a.len > 0 && (mods & SIEVE_MOD_UPPERFIRST))
		a.data[0] = (char)toupper((unsigned char)a.data[0]);
	/* 20 */
	if (mods & SIEVE_MOD_QUOTEWILDCARD) {
		for (size_t i = 0; i < a.len; i++) {
			if (a.data[i] == '*' || a.data[i] == '?' ||
			    a.data[i] == '\\')
				buf_putc(&b, '\\');
			buf_putc(&b, a.data[i]);
		}
		buf_reset(&a);
		buf_append(&a, b.data, b.len);
		buf_reset(&b);
	}
	/* 10 */
	if (mods & SIEVE_MOD_ENCODEURL) {
		encode_url(a.data, a.len, &b);
		buf_reset(&a);
		buf_append(&a, b.data, b.len);
	}
	if (mods & SIEVE_MOD_LENGTH) {
		size_t chars = 0;

		/* characters, not octets: count what is not a UTF-8
		 * continuation byte */
		for (size_t i = 0; i < a.len; i++)
			if (((unsigned char)a.data[i] & 0xC0) != 0x80)
				chars++;
		buf_printf(out, "%zu", chars);
	} else
		buf_append(out, a.data, a.len);
	buf_free(&a);
	buf_free(&b);
}

bool
sieve_var_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len > 7 && strncasecmp(name, "global.", 7) == 0) {
		name += 7;
		len -= 7;
	}
	return len > 0 && ident_len(name, len) == len;
}
