/*
 * authres - building tem's Authentication-Results field and finding
 * forged ones (RFC 8601; see authres.h).
 *
 * Trust: values written into the field are untrusted (envelope and header
 * identifiers): control characters are dropped and anything outside the
 * token / address grammar is quoted, so a value can neither end the line
 * nor close the field. The stripper parses untrusted header text with the
 * bounded iterator of mail/rfc5322.c. Callers: the inbound SMTP session
 * (through dmarc_authres_add too), tests, fuzz/fuzz-dmarc.c.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_rr.h"
#include "mail/rfc5322.h"
#include "policy/authres.h"
#include "util/array.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* ------------------------------------------------------------------ */
/* Character classes */

/* RFC 2045 token characters: printable ASCII but tspecials. */
static bool
is_token_char(unsigned char c)
{
	return c > ' ' && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static bool
is_token(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_token_char((unsigned char)s[i]))
			return false;
	return true;
}

/* RFC 5322 atext. */
static bool
is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* dot-atom-text (for local parts) or, with domain, a domain name of
 * letters, digits, '-' and '_'. */
static bool
is_dot_atom(const char *s, size_t n, bool domain)
{
	bool prev_dot = true;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (prev_dot)
				return false;
			prev_dot = true;
			continue;
		}
		prev_dot = false;
		if (domain ? !((c >= 'a' && c <= 'z') || (c >= 'A' &&
		    c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '_') : !is_atext(c))
			return false;
	}
	return !prev_dot;
}

/* [ [ local-part ] "@" ] domain-name, the second pvalue form of 2.2. */
static bool
is_address(const char *s, size_t n)
{
	const char *at = memrchr(s, '@', n);
	size_t local;

	if (at == NULL)
		return is_dot_atom(s, n, true);
	local = (size_t)(at - s);
	return (local == 0 || is_dot_atom(s, local, false)) &&
	    is_dot_atom(at + 1, n - local - 1, true);
}

/* ------------------------------------------------------------------ */
/* Building */

/* Appends s without control characters, escaping the chars in esc. */
static void
put_clean(struct buf *b, const char *s, const char *esc)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < ' ' || c == 0x7f)
			continue;
		if (strchr(esc, c) != NULL)
			buf_putc(b, '\\');
		buf_putc(b, (char)c);
	}
}

/* Appends a pvalue (or the authserv-id): as is when it is a token or an
 * address, else as a quoted string. */
static void
put_value(struct buf *b, const char *v)
{
	struct buf clean;

	buf_init(&clean, 0);
	put_clean(&clean, v, "");
	if (is_token(clean.data, clean.len) ||
	    is_address(buf_cstr(&clean), clean.len)) {
		buf_append(b, clean.data, clean.len);
	} else {
		buf_putc(b, '"');
		put_clean(b, buf_cstr(&clean), "\"\\");
		buf_putc(b, '"');
	}
	buf_free(&clean);
}

/* Appends item (one word of the field) after a space or a fold. */
static void
put_item(struct authres *ar, const struct buf *item)
{
	if (ar->col > 1 && ar->col + 1 + item->len > AUTHRES_LINE_MAX) {
		buf_puts(&ar->out, "\n\t");
		ar->col = 1;
	} else {
		buf_putc(&ar->out, ' ');
		ar->col++;
	}
	buf_append(&ar->out, item->data, item->len);
	ar->col += item->len;
}

void
authres_init(struct authres *ar, const char *authserv_id)
{
	buf_init(&ar->out, 0);
	buf_puts(&ar->out, "Authentication-Results: ");
	put_value(&ar->out, authserv_id);
	ar->col = ar->out.len;
	ar->nresults = 0;
}

static void
put_props(struct authres *ar, va_list ap)
{
	struct buf item;
	const char *name, *value;

	buf_init(&item, 0);
	while ((name = va_arg(ap, const char *)) != NULL) {
		value = va_arg(ap, const char *);
		TEM_ASSERT(is_token(name, strlen(name)));
		if (value == NULL || value[0] == '\0' ||
		    strlen(value) > AUTHRES_VALUE_MAX)
			continue;
		buf_reset(&item);
		buf_printf(&item, "%s=", name);
		put_value(&item, value);
		put_item(ar, &item);
	}
	buf_free(&item);
}

void
authres_add(struct authres *ar, const char *method, const char *result,
    const char *comment, ...)
{
	struct buf item;
	va_list ap;

	TEM_ASSERT(is_token(method, strlen(method)));
	TEM_ASSERT(is_token(result, strlen(result)));
	buf_printf(&ar->out, ";\n\t%s=%s", method, result);
	ar->col = 1 + strlen(method) + 1 + strlen(result);
	ar->nresults++;
	if (comment != NULL) {
		buf_init(&item, 0);
		buf_putc(&item, '(');
		put_clean(&item, comment, "()\\");
		buf_putc(&item, ')');
		put_item(ar, &item);
		buf_free(&item);
	}
	va_start(ap, comment);
	put_props(ar, ap);
	va_end(ap);
}

char *
authres_finish(struct authres *ar, size_t *len_r)
{
	if (ar->nresults == 0)
		buf_puts(&ar->out, "; none");
	buf_putc(&ar->out, '\n');
	ar->col = 0;
	ar->nresults = 0;
	return buf_steal(&ar->out, len_r);
}

void
authres_discard(struct authres *ar)
{
	buf_free(&ar->out);
	ar->col = 0;
	ar->nresults = 0;
}

/* ------------------------------------------------------------------ */
/* Stripping */

/* Skips white space (folding included) and comments from *i. */
static void
skip_cfws(const char *v, size_t len, size_t *i)
{
	while (*i < len) {
		char c = v[*i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			(*i)++;
		} else if (c == '(') {
			int depth = 0;

			do {
				c = v[(*i)++];
				if (c == '\\' && *i < len)
					(*i)++;
				else if (c == '(')
					depth++;
				else if (c == ')')
					depth--;
			} while (*i < len && depth > 0);
		} else {
			break;
		}
	}
}

char *
authres_authserv_id(const char *v, size_t len)
{
	struct buf id;
	size_t i = 0;

	skip_cfws(v, len, &i);
	if (i >= len)
		return NULL;
	buf_init(&id, 0);
	if (v[i] == '"') {
		for (i++; i < len && v[i] != '"'; i++) {
			if (v[i] == '\\' && i + 1 < len)
				i++;
			if (v[i] != '\r' && v[i] != '\n')
				buf_putc(&id, v[i]);
		}
	} else {
		for (; i < len && is_token_char((unsigned char)v[i]); i++)
			buf_putc(&id, v[i]);
	}
	if (id.len == 0) {
		buf_free(&id);
		return NULL;
	}
	return buf_steal(&id, NULL);
}

size_t
authres_find_ours(const char *hdr, size_t len, const char *hostname,
    struct authres_range **ranges_r)
{
	struct rfc5322_iter it;
	struct rfc5322_field f;
	struct authres_range *r = NULL;
	size_t n = 0, cap = 0;

	rfc5322_iter_init(&it, hdr, len);
	while (rfc5322_iter_next(&it, &f)) {
		char *id;
		bool ours;

		if (!rfc5322_field_is(&f, "Authentication-Results"))
			continue;
		id = authres_authserv_id(f.value, f.value_len);
		ours = id != NULL && dns_name_equal(id, hostname);
		free(id);
		if (!ours)
			continue;
		struct authres_range *rg = ARRAY_PUSH(r, n, cap);

		rg->off = f.off;
		rg->len = f.len;
	}
	*ranges_r = r;
	return n;
}

int
authres_strip(const char *msg, size_t len, const char *hostname,
    struct buf *out)
{
	struct authres_range *r;
	size_t n = authres_find_ours(msg, len, hostname, &r), pos = 0;
	int rc = (int)n;

	for (size_t i = 0; i < n && rc >= 0; i++) {
		if (buf_append(out, msg + pos, r[i].off - pos) < 0)
			rc = -1;
		pos = r[i].off + r[i].len;
	}
	if (rc >= 0 && buf_append(out, msg + pos, len - pos) < 0)
		rc = -1;
	free(r);
	return rc;
}
