/*
 * mime_encode - header fields and bodies tem writes: cleaning, RFC 2047
 * encoded words, folding and quoted-printable (see mime_encode.h).
 *
 * Trust: every input is untrusted text; the output is always a
 * well-formed field or body (no CR, no LF inside a value, lines within
 * the RFC limits). I/O-free.
 */
#include <stdint.h>
#include <string.h>

#include "mail/mime_encode.h"
#include "util/base64.h"
#include "util/utf8.h"

#define FOLD_AT		78	/* RFC 5322 2.1.1 "SHOULD" line length */
#define EW_IN_MAX	45	/* input octets a word: 60 base64 + 12 */
#define EW_IN_MIN	12	/* fewer left on a line: fold first */
#define QP_LINE		76	/* RFC 2045 6.7 (5) */

/* value cleaned: controls to ' ', invalid UTF-8 to '?'. Appended to b. */
static void
enc_clean(struct buf *out, const char *s, size_t len)
{
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80) {
			buf_putc(out, c < 0x20 || c == 0x7f ? ' ' : (char)c);
			i++;
			continue;
		}
		n = utf8_decode(s + i, len - i, &cp);
		if (n == 0 || utf8_is_control(cp)) {
			buf_putc(out, n == 0 ? '?' : ' ');
			i += n == 0 ? 1 : n;
			continue;
		}
		buf_append(out, s + i, n);
		i += n;
	}
}

/* Length of the UTF-8 character starting at s (valid, as cleaned). */
static size_t
enc_charlen(const char *s, size_t left)
{
	uint32_t cp;
	size_t n = utf8_decode(s, left, &cp);

	return n == 0 ? 1 : n;
}

/* Appends s[0..len) as encoded words, each filling what is left of the
 * line (a fold first when that is under EW_IN_MIN octets); *col is the
 * current column. lead: a space (or a fold) before the first word too. */
static void
enc_words(struct buf *b, const char *s, size_t len, size_t *col, bool lead)
{
	size_t i = 0, n, c, room;
	bool sep = lead;

	while (i < len) {
		/* octets that fit: 12 for "=?utf-8?B??=", 4 per 3 octets */
		room = *col + (sep ? 1 : 0) + 12 + 4 < QP_LINE ?
		    (QP_LINE - *col - (sep ? 1 : 0) - 12) / 4 * 3 : 0;
		if (room < EW_IN_MIN && *col > 1) {
			buf_puts(b, "\n ");
			*col = 1;
			sep = false;
			continue;
		}
		if (sep) {
			buf_putc(b, ' ');
			(*col)++;
		}
		if (room > EW_IN_MAX)
			room = EW_IN_MAX;
		for (n = 0; i + n < len; n += c) {
			c = enc_charlen(s + i + n, len - i - n);
			if (n + c > room)
				break;
		}
		if (n == 0)	/* cannot happen: room >= 4 octets */
			n = enc_charlen(s + i, len - i);
		buf_puts(b, "=?utf-8?B?");
		base64_encode(s + i, n, b);
		buf_puts(b, "?=");
		*col += 12 + (n + 2) / 3 * 4;
		i += n;
		sep = true;
	}
}

/* Needs encoded words: non-ASCII, an over-long word, or "=?" text. */
static bool
enc_needs_words(const char *s, size_t len)
{
	size_t run = 0;

	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] >= 0x80)
			return true;
		if (s[i] == '=' && i + 1 < len && s[i + 1] == '?')
			return true;
		run = s[i] == ' ' ? 0 : run + 1;
		if (run > FOLD_AT - 10)
			return true;
	}
	return false;
}

void
mime_fold_field(struct buf *b, const char *name, const char *value,
    size_t len, size_t fold_at)
{
	size_t col = strlen(name) + 1, wlen;
	const char *w = len > 0 ? value : "", *end = w + len;

	buf_printf(b, "%s:", name);
	while (w < end) {
		while (w < end && *w == ' ')
			w++;
		if (w == end)
			break;
		for (wlen = 0; w + wlen < end && w[wlen] != ' '; wlen++)
			;
		if (col + 1 + wlen > fold_at && col > strlen(name) + 1) {
			buf_putc(b, '\n');
			col = 0;
		}
		buf_putc(b, ' ');
		buf_append(b, w, wlen);
		col += 1 + wlen;
		w += wlen;
	}
	buf_putc(b, '\n');
}

void
mime_encode_field(struct buf *b, const char *name, const char *value,
    size_t len)
{
	struct buf v;
	size_t col = strlen(name) + 1;

	buf_init(&v, 0);
	enc_clean(&v, value, len);
	if (enc_needs_words(v.data, v.len)) {
		buf_printf(b, "%s:", name);
		enc_words(b, v.data, v.len, &col, true);
		buf_putc(b, '\n');
	} else
		mime_fold_field(b, name, v.data, v.len, FOLD_AT);
	buf_free(&v);
}

/* RFC 5322 atext, and space between atoms. */
static bool
enc_is_atext(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == ' ' ||
	    (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

void
mime_encode_phrase(struct buf *b, const char *name, size_t len, size_t *col)
{
	struct buf v;
	bool atoms = true;

	buf_init(&v, 0);
	enc_clean(&v, name, len);
	if (enc_needs_words(v.data, v.len)) {
		enc_words(b, v.data, v.len, col, false);
		buf_free(&v);
		return;
	}
	for (size_t i = 0; i < v.len; i++)
		if (!enc_is_atext(v.data[i]))
			atoms = false;
	if (!atoms)
		buf_putc(b, '"');
	for (size_t i = 0; i < v.len; i++) {
		if (!atoms && (v.data[i] == '"' || v.data[i] == '\\'))
			buf_putc(b, '\\');
		buf_putc(b, v.data[i]);
	}
	if (!atoms)
		buf_putc(b, '"');
	*col += v.len + (atoms ? 0 : 2);
	buf_free(&v);
}

bool
mime_needs_qp(const char *text, size_t len)
{
	size_t line = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == '\n') {
			line = 0;
			continue;
		}
		if (c >= 0x80 || c == '\0' || (c == '\r' &&
		    (i + 1 == len || text[i + 1] != '\n')))
			return true;
		if (++line > QP_LINE)
			return true;
	}
	return false;
}

/* Appends one line (no line end) as quoted-printable. */
static void
enc_qp_line(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char q[4];
		size_t ql;
		bool last = i + 1 == n;

		if ((c >= 33 && c <= 126 && c != '=' && !(i == 0 && c == 'F' &&
		    n >= 5 && memcmp(s, "From ", 5) == 0)) ||
		    ((c == ' ' || c == '\t') && !last)) {
			q[0] = (char)c;
			ql = 1;
		} else {
			q[0] = '=';
			q[1] = hex[c >> 4];
			q[2] = hex[c & 15];
			ql = 3;
		}
		/* room for a soft break '=' unless this ends the line */
		if (col + ql > (last ? QP_LINE : QP_LINE - 1)) {
			buf_puts(b, "=\n");
			col = 0;
		}
		buf_append(b, q, ql);
		col += ql;
	}
	buf_putc(b, '\n');
}

void
mime_encode_qp(struct buf *b, const char *text, size_t len)
{
	size_t start = 0;

	while (start < len) {
		const char *nl = memchr(text + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - text) : len, n = end - start;

		if (n > 0 && text[start + n - 1] == '\r')
			n--;
		enc_qp_line(b, text + start, n);
		start = end + 1;
	}
	if (len == 0)
		buf_putc(b, '\n');
}

void
mime_copy_lf(struct buf *b, const char *s, size_t len)
{
	size_t i, start = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n') {
			buf_append(b, s + start, i - start);
			start = i + 1;
		}
	}
	buf_append(b, s + start, len - start);
	if (len > 0 && s[len - 1] != '\n')
		buf_putc(b, '\n');
}

bool
mime_has_8bit(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return true;
	return false;
}
