/*
 * smtp_path - RFC 5321 4.1.2 domains, address literals and paths
 * ("<" [A-d-l ":"] Mailbox ">"), with RFC 6531 UTF-8 (see smtp_parser.h).
 *
 * Addresses follow RFC 5321 strictly: angle brackets required, a source
 * route is parsed and dropped (4.1.1.3), the local part is a Dot-string or
 * a Quoted-string, the domain is LDH labels or an address literal. UTF-8
 * in atoms, quoted strings and labels must be well-formed and sets
 * p->utf8. The only fixed array (an address literal handed to inet_pton)
 * is filled after a length check.
 *
 * Trust: untrusted network input, parsed before authentication. Pure
 * functions: no I/O, no globals, no logging. Allocations are bounded by the
 * caller's line length.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp/smtp_parser_int.h"
#include "util/buf.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

/* Length of the well-formed UTF-8 sequence at NUL-terminated s, or 0 (a
   sequence never holds NUL, so at most 4 octets before one are read). */
static size_t
utf8_seq_len(const unsigned char *s)
{
	uint32_t cp;

	return utf8_decode((const char *)s, strnlen((const char *)s, 4), &cp);
}

/* ------------------------------------------------------------------ */
/* Domains and address literals                                         */

/* One label at *sp: let-dig [ldh-str], UTF-8 counting as a letter. Returns
   its length in octets, or 0 when there is none or it is malformed.
   *utf8_r is set when it held non-ASCII. */
static size_t
parse_label(const char **sp, const struct domain_opts *o, bool *utf8_r)
{
	const unsigned char *s = (const unsigned char *)*sp;
	size_t i = 0, n;
	bool last_hyphen = false;

	for (;;) {
		if (is_alnum(s[i]) || (o->allow_underscore && s[i] == '_')) {
			last_hyphen = false;
			i++;
		} else if (s[i] == '-' && i > 0) {
			last_hyphen = true;
			i++;
		} else if (s[i] >= 0x80 && o->allow_utf8 &&
		    (n = utf8_seq_len(s + i)) > 0) {
			*utf8_r = true;
			last_hyphen = false;
			i += n;
		} else
			break;
	}
	if (i == 0 || last_hyphen || i > SMTP_LABEL_MAX)
		return 0;
	*sp += i;
	return i;
}

/* Domain = sub-domain *("." sub-domain). On success advances *sp past it
   (and past an allowed trailing dot) and returns the length without that
   dot; returns 0 when malformed or longer than SMTP_DOMAIN_MAX. */
size_t
smtp_parse_domain(const char **sp, const struct domain_opts *o, bool *utf8_r)
{
	const char *s = *sp;
	size_t len;

	for (;;) {
		if (parse_label(&s, o, utf8_r) == 0)
			return 0;
		if (*s != '.')
			break;
		s++;
		if (o->allow_trailing_dot && (*s == '\0' || *s == '>' ||
		    *s == ' ')) {
			len = (size_t)(s - 1 - *sp);
			goto done;
		}
	}
	len = (size_t)(s - *sp);
done:
	if (len > SMTP_DOMAIN_MAX)
		return 0;
	*sp = s;
	return len;
}

/* Snum "." Snum "." Snum "." Snum, Snum = 1*3DIGIT with value <= 255. */
static bool
valid_ipv4(const char *s, size_t len)
{
	size_t i = 0, digits;
	int parts, val;

	for (parts = 0; parts < 4; parts++) {
		if (parts > 0) {
			if (i >= len || s[i] != '.')
				return false;
			i++;
		}
		val = 0;
		for (digits = 0; i < len && isdigit((unsigned char)s[i]) &&
		    digits < 3; digits++, i++)
			val = val * 10 + (s[i] - '0');
		if (digits == 0 || val > 255)
			return false;
	}
	return i == len;
}

static bool
valid_ipv6(const char *s, size_t len)
{
	char tmp[INET6_ADDRSTRLEN + 1];
	struct in6_addr a;

	if (len == 0 || len >= sizeof(tmp))
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return inet_pton(AF_INET6, tmp, &a) == 1;
}

/* "[" (IPv4 / "IPv6:" IPv6) "]" at *sp; advances past it. General address
   literals (RFC 5321 4.1.3) have no registered tags and are refused. */
size_t
smtp_parse_address_literal(const char **sp)
{
	const char *s = *sp, *close;
	size_t len;

	if (*s != '[')
		return 0;
	close = strchr(s, ']');
	if (close == NULL)
		return 0;
	len = (size_t)(close - s - 1);
	if (!valid_ipv4(s + 1, len) && !(len > 5 &&
	    strncasecmp(s + 1, "IPv6:", 5) == 0 && valid_ipv6(s + 6, len - 5)))
		return 0;
	*sp = close + 1;
	return len + 2;
}

/* ------------------------------------------------------------------ */
/* Paths                                                                */

static int
parse_quoted(const char **sp, struct buf *lp, bool *utf8_r)
{
	const unsigned char *s = (const unsigned char *)*sp + 1;
	size_t n;

	for (;;) {
		if (*s == '"')
			break;
		if (*s == '\\' && s[1] >= 32 && s[1] <= 126) {
			buf_putc(lp, (char)s[1]);
			s += 2;
		} else if (*s >= 32 && *s <= 126 && *s != '\\') {
			buf_putc(lp, (char)*s++);
		} else if (*s >= 0x80 && (n = utf8_seq_len(s)) > 0) {
			buf_append(lp, s, n);
			*utf8_r = true;
			s += n;
		} else
			return -1;
	}
	*sp = (const char *)s + 1;
	return 0;
}

static int
parse_dot_string(const char **sp, struct buf *lp, bool *utf8_r)
{
	const unsigned char *s = (const unsigned char *)*sp;
	size_t n, atom;

	for (;;) {
		for (atom = 0;; atom++) {
			if (is_atext(*s)) {
				buf_putc(lp, (char)*s++);
			} else if (*s >= 0x80 && (n = utf8_seq_len(s)) > 0) {
				buf_append(lp, s, n);
				*utf8_r = true;
				s += n;
			} else
				break;
		}
		if (atom == 0)
			return -1;
		if (*s != '.')
			break;
		buf_putc(lp, (char)*s++);
	}
	*sp = (const char *)s;
	return 0;
}

/* A-d-l ":" — each At-domain a plain domain, no literal (RFC 5321 4.1.2). */
static int
parse_route(const char **sp)
{
	static const struct domain_opts o = { true, false, false };
	const char *s = *sp;
	bool utf8 = false;

	for (;;) {
		if (*s++ != '@' || smtp_parse_domain(&s, &o, &utf8) == 0)
			return -1;
		if (*s == ':')
			break;
		if (*s++ != ',')
			return -1;
	}
	*sp = s + 1;
	return 0;
}

static enum path_result
parse_mailbox_domain(const char **sp, struct smtp_path *p)
{
	static const struct domain_opts o = { true, false, true };
	const char *start = *sp;
	size_t len;

	if (*start == '[')
		len = smtp_parse_address_literal(sp);
	else
		len = smtp_parse_domain(sp, &o, &p->utf8);
	if (len == 0)
		return PATH_SYNTAX;
	p->domain = xstrndup(start, len);
	if (*start != '[') {
		for (char *c = p->domain; *c != '\0'; c++)
			if (isascii((unsigned char)*c))
				*c = (char)tolower((unsigned char)*c);
	}
	return PATH_OK;
}

static bool
is_bare_postmaster(const char *lp_start, const char *s, bool is_mail,
    bool quoted, bool route)
{
	return !is_mail && !quoted && !route && *s == '>' &&
	    s - lp_start == 10 && strncasecmp(lp_start, "postmaster", 10) == 0;
}

/* "<" [ A-d-l ":" ] Mailbox ">" or "<>" at *sp; advances past the ">". */
enum path_result
smtp_parse_path(const char **sp, struct path_ctx *ctx, struct smtp_path *p)
{
	const char *start = *sp, *s = *sp + 1, *lp_start, *lp_end;
	int r;

	if (*start != '<')
		return PATH_SYNTAX;
	if (*s == '>') {
		p->null_path = true;
		p->localpart = xstrdup("");
		p->domain = xstrdup("");
		*sp = s + 1;
		return PATH_OK;
	}
	if (*s == '@') {
		if (parse_route(&s) < 0)
			return PATH_SYNTAX;
		p->had_route = true;
	}
	lp_start = s;
	p->quoted = *s == '"';
	r = p->quoted ? parse_quoted(&s, &ctx->lp, &p->utf8) :
	    parse_dot_string(&s, &ctx->lp, &p->utf8);
	if (r < 0)
		return PATH_SYNTAX;
	lp_end = s;
	p->localpart = buf_steal(&ctx->lp, NULL);
	if (is_bare_postmaster(lp_start, s, ctx->is_mail, p->quoted,
	    p->had_route)) {
		p->bare_postmaster = true;
		p->domain = xstrdup("");
	} else if (*s++ != '@' || parse_mailbox_domain(&s, p) != PATH_OK)
		return PATH_SYNTAX;
	if (*s++ != '>')
		return PATH_SYNTAX;
	if ((size_t)(s - start) > SMTP_PATH_MAX)
		return PATH_TOO_LONG;
	if (!ctx->is_mail && (size_t)(lp_end - lp_start) > SMTP_LOCALPART_MAX)
		return PATH_TOO_LONG;
	*sp = s;
	return PATH_OK;
}

/* ------------------------------------------------------------------ */
/* Paths back to text                                                   */

static bool
is_dot_string(const char *s)
{
	const char *end = s + strlen(s);
	bool utf8 = false;
	struct buf b;
	int r;

	if (*s == '\0')
		return false;
	buf_init(&b, 0);
	r = parse_dot_string(&s, &b, &utf8);
	buf_free(&b);
	return r == 0 && s == end;
}

char *
smtp_path_to_string(const struct smtp_path *p)
{
	struct buf b;
	const char *c;

	if (p->null_path || p->localpart == NULL)
		return xstrdup("");
	buf_init(&b, 0);
	if (is_dot_string(p->localpart))
		buf_puts(&b, p->localpart);
	else {
		buf_putc(&b, '"');
		for (c = p->localpart; *c != '\0'; c++) {
			if (*c == '"' || *c == '\\')
				buf_putc(&b, '\\');
			buf_putc(&b, *c);
		}
		buf_putc(&b, '"');
	}
	if (!p->bare_postmaster && p->domain != NULL) {
		buf_putc(&b, '@');
		buf_puts(&b, p->domain);
	}
	return buf_steal(&b, NULL);
}
