/*
 * sieve_header - header fields and addresses as the header, address and
 * envelope tests see them (RFC 5228 2.7.4, 5.1, 5.7; RFC 5233).
 *
 * Trust: the header section is message text from anyone. Parsing is
 * src/mail/rfc5322's (bounded, never fails); this file only decides what
 * a Sieve test sees, following Pigeonhole's sieve-test:
 *  - header values: unfolded (the white space after a line end kept),
 *    trimmed, RFC 2047 words decoded to UTF-8;
 *  - address lists: each addr-spec with both a local part and a domain,
 *    groups opened (the group name is not an address), display names and
 *    routes dropped, a local part that is not a dot-atom quoted again
 *    ("a b"@c.d); entries without a domain ("joe", "broken@") are
 *    skipped, and a field with no usable address at all ("joe",
 *    "undisclosed-recipients:;", "", junk) gives its whole unfolded value
 *    once, which :all can match but :localpart/:domain cannot.
 * The output sizes are bounded by the input size (RFC5322_ADDR_MAX
 * entries per field).
 */
#include <stdlib.h>
#include <string.h>

#include "mail/rfc5322.h"
#include "sieve/sieve_lib.h"
#include "util/xmalloc.h"

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
addr_special(char c)
{
	return c == '(' || c == ')' || c == '<' || c == '>' || c == ',' ||
	    c == ';' || c == ':' || c == '\\' || c == '"' || c == '[' ||
	    c == ']' || c == '@' || is_wsp(c) || (unsigned char)c < 0x20;
}

/* An RFC 5322 dot-atom text (8-bit allowed, RFC 6532)? */
static bool
dot_atom(const char *s, size_t len)
{
	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++)
		if (addr_special(s[i]) || (s[i] == '.' && s[i + 1] == '.'))
			return false;
	return true;
}

/* A domain as it may stand after '@': a dot-atom or a literal. */
static bool
domain_ok(const char *s, size_t len)
{
	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		for (size_t i = 1; i + 1 < len; i++)
			if (s[i] == '[' || s[i] == ']' || s[i] == '\\' ||
			    is_wsp(s[i]))
				return false;
		return true;
	}
	return dot_atom(s, len);
}

/*
 * Splits addr into its local part (unquoted into local) and domain;
 * false when it is not an addr-spec.
 */
static bool
addr_split(const char *a, size_t len, struct buf *local, const char **dom,
    size_t *dlen)
{
	size_t i = 0;

	if (len > 0 && a[0] == '"') {		/* quoted-string local part */
		for (i = 1; i < len && a[i] != '"'; i++) {
			if (a[i] == '\\' && i + 1 < len)
				i++;
			if (a[i] == '\r' || a[i] == '\n')
				return false;
			buf_putc(local, a[i]);
		}
		if (i >= len)
			return false;
		i++;
	} else {
		while (i < len && a[i] != '@')
			i++;
		if (!dot_atom(a, i))
			return false;
		buf_append(local, a, i);
	}
	if (i >= len || a[i] != '@')
		return false;
	*dom = a + i + 1;
	*dlen = len - i - 1;
	return domain_ok(*dom, *dlen);
}

bool
sieve_addr_part(const char *addr, size_t len, enum sieve_addrpart part,
    const char *sep, struct buf *out)
{
	struct buf local;
	const char *dom = NULL, *cut = NULL;
	size_t dlen = 0;
	bool ok;

	/* the null reverse-path is "" whatever the part (RFC 5228 5.4) */
	if (len == 0)
		return true;
	buf_init(&local, 0);
	ok = addr_split(addr, len, &local, &dom, &dlen);
	if (sep == NULL || *sep == '\0')
		sep = "+";
	/* RFC 5233 4: user and detail split at the first separator (each
	 * character of sep is one, as Dovecot's recipient_delimiter) */
	for (size_t i = 0; ok && i < local.len && cut == NULL; i++)
		if (strchr(sep, local.data[i]) != NULL && local.data[i] != '\0')
			cut = local.data + i;
	switch (part) {
	case SIEVE_AP_ALL:
		/* an address that does not parse is still matched whole */
		buf_append(out, addr, len);
		ok = true;
		break;
	case SIEVE_AP_LOCALPART:
		if (ok)
			buf_append(out, buf_cstr(&local), local.len);
		break;
	case SIEVE_AP_DOMAIN:
		if (ok)
			buf_append(out, dom, dlen);
		break;
	case SIEVE_AP_USER:
		if (ok)
			buf_append(out, buf_cstr(&local), cut != NULL ?
			    (size_t)(cut - local.data) : local.len);
		break;
	case SIEVE_AP_DETAIL:
		ok = ok && cut != NULL;
		if (ok)
			buf_append(out, cut + 1, local.len -
			    (size_t)(cut + 1 - local.data));
		break;
	}
	buf_free(&local);
	return ok;
}

/* Appends s to the growing array (capacity doubles at each power of
 * two, so a header of 100000 addresses is not copied 100000 times). */
static void
vec_add(char ***v, size_t *n, char *s)
{
	if (*n == 0)
		*v = xcalloc(4, sizeof(**v));
	else if (*n >= 4 && (*n & (*n - 1)) == 0)
		*v = xrealloc(*v, *n * 2 * sizeof(**v));	/* n < octets */
	(*v)[(*n)++] = s;
}

/* Removes trailing white space from b. */
static void
trim_end(struct buf *b)
{
	while (b->len > 0 && is_wsp(b->data[b->len - 1]))
		b->data[--b->len] = '\0';
}

char *
sieve_field_value(const char *value, size_t len)
{
	struct buf b;

	buf_init(&b, 0);
	rfc5322_decode(value, len, &b);
	trim_end(&b);
	return buf_steal(&b, NULL);
}

size_t
sieve_header_values(const char *head, size_t len, const char *name,
    char ***vals)
{
	struct rfc5322_iter it;
	struct rfc5322_field f;
	size_t n = 0;

	*vals = NULL;
	rfc5322_iter_init(&it, head, len);
	while (rfc5322_iter_next(&it, &f) == 1)
		if (rfc5322_field_is(&f, name))
			vec_add(vals, &n, sieve_field_value(f.value,
			    f.value_len));
	return n;
}

/* "local@host", the local part quoted when it is not a dot-atom. */
static char *
addr_format(const char *mailbox, const char *host)
{
	struct buf b;
	size_t mlen = strlen(mailbox);

	buf_init(&b, 0);
	if (dot_atom(mailbox, mlen))
		buf_append(&b, mailbox, mlen);
	else {
		buf_putc(&b, '"');
		for (size_t i = 0; i < mlen; i++) {
			if (mailbox[i] == '"' || mailbox[i] == '\\')
				buf_putc(&b, '\\');
			buf_putc(&b, mailbox[i]);
		}
		buf_putc(&b, '"');
	}
	buf_printf(&b, "@%s", host);
	return buf_steal(&b, NULL);
}

void
sieve_field_addresses(const char *value, size_t len, char ***addrs,
    size_t *n)
{
	struct rfc5322_addr *list, *a;
	size_t before = *n;
	struct buf b;

	list = rfc5322_addr_parse(value, len);
	for (a = list; a != NULL; a = a->next)
		/* group markers have no host; entries without a local part
		 * or domain are not addresses */
		if (a->host != NULL && a->host[0] != '\0' &&
		    a->mailbox != NULL && a->mailbox[0] != '\0')
			vec_add(addrs, n, addr_format(a->mailbox, a->host));
	rfc5322_addr_free(&list);
	if (*n > before)
		return;
	buf_init(&b, 0);
	rfc5322_unfold(value, len, &b);
	trim_end(&b);
	vec_add(addrs, n, buf_steal(&b, NULL));
}

size_t
sieve_header_addresses(const char *head, size_t len, const char *name,
    char ***addrs)
{
	struct rfc5322_iter it;
	struct rfc5322_field f;
	size_t n = 0;

	*addrs = NULL;
	rfc5322_iter_init(&it, head, len);
	while (rfc5322_iter_next(&it, &f) == 1)
		if (rfc5322_field_is(&f, name))
			sieve_field_addresses(f.value, f.value_len, addrs, &n);
	return n;
}

void
sieve_strings_free(char ***v, size_t n)
{
	if (*v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free((*v)[i]);
	free(*v);
	*v = NULL;
}
