/*
 * imap_catenate - CATENATE part lists and the IMAP URLs of their URL
 * parts (see imap_catenate.h; RFC 4469, RFC 5092).
 *
 * Trust: untrusted client text; every scan is bounded by the argument's
 * length (IMAP_URL_MAX for a URL), numbers are checked for overflow, and
 * a decoded mailbox must be UTF-8 without control characters.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_args_int.h"
#include "imap/imap_catenate.h"
#include "mail/imap_section.h"
#include "util/buf.h"
#include "util/hex.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

int
imap_catenate_parse(const struct imap_arg *list, unsigned count,
    struct imap_cat_part **parts_r, unsigned *n_r, const char **error_r)
{
	struct imap_cat_part *parts;
	unsigned n = 0;

	*parts_r = NULL;
	*n_r = 0;
	if (count == 0 || count % 2 != 0)
		return err(error_r, "CATENATE needs TEXT or URL parts");
	if (count / 2 > IMAP_CATENATE_PARTS_MAX)
		return err(error_r, "Too many CATENATE parts");
	parts = xcalloc(count / 2, sizeof(*parts));
	for (unsigned i = 0; i < count; i += 2, n++) {
		const char *kw = atom_of(&list[i]), *s;
		size_t len;

		if (kw != NULL && strcasecmp(kw, "TEXT") == 0 &&
		    list[i + 1].type == IMAP_ARG_STREAM) {
			parts[n].size = list[i + 1].size;
			parts[n].index = list[i + 1].index;
			parts[n].literal8 = list[i + 1].literal8;
		} else if (kw != NULL && strcasecmp(kw, "URL") == 0 &&
		    get_astr(&list[i + 1], &s, &len) && len <= IMAP_URL_MAX)
			parts[n].url = xstrndup(s, len);
		else {
			imap_catenate_free(parts, n);
			return err(error_r, "Invalid CATENATE part (TEXT "
			    "literal or URL url)");
		}
	}
	*parts_r = parts;
	*n_r = n;
	return 0;
}

void
imap_catenate_free(struct imap_cat_part *parts, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		free(parts[i].url);
	free(parts);
}

/* ---- URLs ---- */

/* Where word (any case) starts in [p, end), or NULL. */
static const char *
find_ci(const char *p, const char *end, const char *word)
{
	size_t wl = strlen(word);

	for (; (size_t)(end - p) >= wl; p++)
		if (strncasecmp(p, word, wl) == 0)
			return p;
	return NULL;
}

static bool
starts_ci(const char *p, const char *end, const char *word)
{
	size_t wl = strlen(word);

	return (size_t)(end - p) >= wl && strncasecmp(p, word, wl) == 0;
}

/* [p, end) with %XX decoded: a string without NUL or controls, or NULL.
 * Raw octets must be printable ASCII other than the URL delimiters. */
static char *
pct_decode(const char *p, const char *end)
{
	struct buf b;

	buf_init(&b, 0);
	while (p < end) {
		unsigned char c = (unsigned char)*p++;
		if (c == '%') {
			int hi = p < end ? hex_value(p[0]) : -1;
			int lo = p + 1 < end ? hex_value(p[1]) : -1;
			if (hi < 0 || lo < 0)
				goto bad;
			c = (unsigned char)(hi * 16 + lo);
			p += 2;
			if (c < 0x20 || c == 0x7f)
				goto bad;
		} else if (c <= 0x20 || c >= 0x7f || strchr(";?#\"<>\\^`{|}",
		    c) != NULL)
			goto bad;
		buf_putc(&b, (char)c);
	}
	if (!utf8_valid(b.data ? b.data : "", b.len))
		goto bad;
	return buf_steal(&b, NULL);
bad:
	buf_free(&b);
	return NULL;
}

/* Decimal digits [*pp, end) up to a non-digit: at least one, at most max.
 * Advances *pp. */
static bool
number(const char **pp, const char *end, uint64_t max, uint64_t *n_r)
{
	const char *p = *pp;
	uint64_t n = 0;

	if (p == end || !is_digit(*p))
		return false;
	for (; p < end && is_digit(*p); p++) {
		if (n > (max - (uint64_t)(*p - '0')) / 10)
			return false;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	*pp = p;
	*n_r = n;
	return true;
}

/* imap://[user[;AUTH=x]@]host[:port]: sets u->user; *pp at the "/". */
static int
url_server(const char **pp, const char *end, struct imap_url *u,
    const char **error_r)
{
	const char *p = *pp + 7, *slash = memchr(p, '/', (size_t)(end - p));
	const char *at = NULL, *semi;

	if (slash == NULL)
		return err(error_r, "URL names no mailbox");
	for (const char *q = p; q < slash; q++)
		if (*q == '@')
			at = q;
	if (at != NULL) {
		semi = memchr(p, ';', (size_t)(at - p));
		if (semi != NULL && !starts_ci(semi, at, ";AUTH="))
			return err(error_r, "Unknown URL user parameter");
		u->user = pct_decode(p, semi ? semi : at);
		if (u->user == NULL || u->user[0] == '\0')
			return err(error_r, "Invalid URL user");
		p = at + 1;
	}
	if (p == slash)
		return err(error_r, "URL names no server");
	*pp = slash;
	return 0;
}

static int
url_parse(const char *url, size_t len, struct imap_url *u,
    const char **error_r)
{
	const char *p = url, *end = url + len, *uidp, *mb_end, *v, *sec_end;
	uint64_t n;

	memset(u, 0, sizeof(*u));
	u->length = UINT64_MAX;
	if (len == 0 || len > IMAP_URL_MAX || memchr(url, '\0', len) != NULL)
		return err(error_r, "Invalid URL");
	if (starts_ci(p, end, "imap://") && url_server(&p, end, u,
	    error_r) < 0)
		return -1;
	if (p == end || *p != '/')
		return err(error_r, "Only absolute IMAP URLs are supported");
	p++;
	if ((uidp = find_ci(p, end, "/;UID=")) == NULL)
		return err(error_r, "URL names no message (;UID=)");
	mb_end = uidp;
	if ((v = find_ci(p, uidp, ";UIDVALIDITY=")) != NULL) {
		const char *q = v + 13;
		if (!number(&q, uidp, UINT32_MAX, &n) || n == 0 || q != uidp)
			return err(error_r, "Invalid URL UIDVALIDITY");
		u->uidvalidity = (uint32_t)n;
		mb_end = v;
	}
	if (mb_end == p || (u->mailbox = pct_decode(p, mb_end)) == NULL)
		return err(error_r, "Invalid URL mailbox");
	p = uidp + 6;
	if (!number(&p, end, UINT32_MAX, &n) || n == 0)
		return err(error_r, "Invalid URL UID");
	u->uid = (uint32_t)n;
	if (starts_ci(p, end, "/;SECTION=")) {
		struct imap_section sec;
		const char *serr;
		int r;

		p += 10;
		sec_end = find_ci(p, end, "/;PARTIAL=");
		if (sec_end == NULL)
			sec_end = end;
		if (sec_end == p || (u->section = pct_decode(p, sec_end)) ==
		    NULL)
			return err(error_r, "Invalid URL section");
		r = imap_section_parse(u->section, strlen(u->section), &sec,
		    &serr);
		imap_section_free(&sec);
		if (r < 0)
			return err(error_r, "Invalid URL section");
		p = sec_end;
	}
	if (starts_ci(p, end, "/;PARTIAL=")) {
		p += 10;
		if (!number(&p, end, UINT64_MAX, &u->offset))
			return err(error_r, "Invalid URL PARTIAL");
		if (p < end && *p == '.') {
			p++;
			if (!number(&p, end, UINT64_MAX, &u->length) ||
			    u->length == 0)
				return err(error_r, "Invalid URL PARTIAL");
		}
		u->partial = true;
	}
	if (p != end)
		return err(error_r, "Unsupported URL component");
	return 0;
}

int
imap_url_parse(const char *url, size_t len, struct imap_url *u,
    const char **error_r)
{
	if (url_parse(url, len, u, error_r) == 0)
		return 0;
	imap_url_free(u);
	return -1;
}

void
imap_url_free(struct imap_url *u)
{
	free(u->user);
	free(u->mailbox);
	free(u->section);
	memset(u, 0, sizeof(*u));
}
