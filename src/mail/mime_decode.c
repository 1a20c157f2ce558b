/*
 * mime_decode - lenient base64 and quoted-printable body decoders (see
 * mime_decode.h).
 *
 * Trust: untrusted input; every index is checked against len, output goes
 * through struct buf (bounded by its max). Callers: imap_msgstruct.c
 * (BINARY), mail_search.c (SEARCH BODY/TEXT).
 */
#include <string.h>
#include <strings.h>

#include "mail/mime_decode.h"
#include "util/hex.h"

enum mime_cte
mime_cte_from_name(const char *name, size_t len)
{
	static const struct {
		const char	*name;
		enum mime_cte	 cte;
	} names[] = {
		{ "7bit", MIME_CTE_7BIT }, { "8bit", MIME_CTE_8BIT },
		{ "binary", MIME_CTE_BINARY },
		{ "quoted-printable", MIME_CTE_QP },
		{ "base64", MIME_CTE_BASE64 },
	};
	size_t i, n;

	if (name == NULL)
		return MIME_CTE_7BIT;
	while (len > 0 && (*name == ' ' || *name == '\t' || *name == '\r' ||
	    *name == '\n')) {
		name++;
		len--;
	}
	/* The token: up to white space, ';' or a comment. */
	for (n = 0; n < len; n++)
		if (name[n] == ' ' || name[n] == '\t' || name[n] == '\r' ||
		    name[n] == '\n' || name[n] == ';' || name[n] == '(')
			break;
	if (n == 0)
		return MIME_CTE_7BIT;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == n &&
		    strncasecmp(name, names[i].name, n) == 0)
			return names[i].cte;
	return MIME_CTE_UNKNOWN;
}

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static int
b64_is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int
mime_decode_base64(const char *in, size_t len, struct buf *out)
{
	unsigned char grp[3];
	unsigned acc = 0;
	int nbits = 0, dirty = 0, v;
	size_t i, ng = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '=')
			break;
		if ((v = b64_value(c)) < 0) {
			if (!b64_is_space(c))
				dirty = 1;
			continue;
		}
		acc = (acc << 6) | (unsigned)v;
		nbits += 6;
		if (nbits >= 8) {
			nbits -= 8;
			grp[ng++] = (unsigned char)(acc >> nbits);
			acc &= (1u << nbits) - 1;
			if (ng == sizeof(grp)) {
				if (buf_append(out, grp, ng) < 0)
					return -1;
				ng = 0;
			}
		}
	}
	if (ng > 0 && buf_append(out, grp, ng) < 0)
		return -1;
	if (i == len && nbits != 0)
		dirty = 1;		/* unpadded partial group */
	if (nbits >= 6)
		dirty = 1;		/* a lone sextet cannot be a byte */
	/* After the padding only '=' and white space may follow. */
	for (; i < len; i++)
		if (in[i] != '=' && !b64_is_space((unsigned char)in[i]))
			dirty = 1;
	return dirty;
}

/* Decodes one line (without its line end) into out. */
static int
qp_line(const char *s, size_t n, int *soft_r, struct buf *out)
{
	size_t i, start = 0;
	int dirty = 0, h, l;

	/* Transport padding: trailing white space is not data. */
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
	    s[n - 1] == '\r'))
		n--;
	*soft_r = 0;
	for (i = 0; i < n; i++) {
		if (s[i] != '=')
			continue;
		if (buf_append(out, s + start, i - start) < 0)
			return -1;
		if (i + 1 == n) {		/* soft line break */
			*soft_r = 1;
			return dirty;
		}
		if (i + 2 < n && (h = hex_value((unsigned char)s[i + 1])) >= 0 &&
		    (l = hex_value((unsigned char)s[i + 2])) >= 0) {
			if (buf_putc(out, (char)(h << 4 | l)) < 0)
				return -1;
			i += 2;
		} else {
			dirty = 1;
			if (buf_putc(out, '=') < 0)
				return -1;
		}
		start = i + 1;
	}
	if (buf_append(out, s + start, n - start) < 0)
		return -1;
	return dirty;
}

int
mime_decode_qp(const char *in, size_t len, struct buf *out)
{
	size_t pos = 0;
	int dirty = 0;

	while (pos < len) {
		const char *nl = memchr(in + pos, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - (in + pos)) : len - pos;
		int soft, r;

		if ((r = qp_line(in + pos, n, &soft, out)) < 0)
			return -1;
		dirty |= r;
		pos += n;
		if (nl == NULL)
			break;
		pos++;
		if (!soft && buf_append(out, "\r\n", 2) < 0)
			return -1;
	}
	return dirty;
}
