/*
 * mutf7 - modified UTF-7 encoder and strict decoder (see mutf7.h).
 *
 * Trust: decode input is what a client sent as a mailbox name, or a
 * directory name another tool may have made: every byte is checked and
 * nothing is read past the given length.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "util/mutf7.h"
#include "util/utf8.h"

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* Printable ASCII that stands for itself (not in `also`). */
static bool
is_direct(uint32_t c, const char *also)
{
	return c >= 0x20 && c <= 0x7e &&
	    (also == NULL || c == '\0' || strchr(also, (int)c) == NULL);
}

/* Base64 state of a shift sequence being written. */
struct shift {
	bool		on;
	uint32_t	bits;
	unsigned	nbits;
};

static int
shift_unit(struct buf *b, struct shift *sh, uint32_t unit)
{
	int r = 0;

	sh->bits = (sh->bits << 16) | unit;
	sh->nbits += 16;
	while (sh->nbits >= 6) {
		sh->nbits -= 6;
		r |= buf_putc(b, b64chars[(sh->bits >> sh->nbits) & 63]);
	}
	sh->bits &= (1u << sh->nbits) - 1;
	return r;
}

static int
shift_end(struct buf *b, struct shift *sh)
{
	int r = 0;

	if (!sh->on)
		return 0;
	if (sh->nbits > 0)
		r |= buf_putc(b, b64chars[(sh->bits << (6 - sh->nbits)) & 63]);
	r |= buf_putc(b, '-');
	*sh = (struct shift){ false, 0, 0 };
	return r;
}

int
mutf7_encode(struct buf *out, const char *s, size_t len, const char *also)
{
	struct shift sh = { false, 0, 0 };
	uint32_t cp;
	size_t n;
	int r = 0;

	for (size_t i = 0; i < len; i += n) {
		if ((n = utf8_decode(s + i, len - i, &cp)) == 0)
			return -1;
		if (is_direct(cp, also)) {
			r |= shift_end(out, &sh);
			r |= cp == '&' ? buf_puts(out, "&-") :
			    buf_putc(out, (char)cp);
			continue;
		}
		if (!sh.on) {
			r |= buf_putc(out, '&');
			sh.on = true;
		}
		if (cp >= 0x10000) {
			cp -= 0x10000;
			r |= shift_unit(out, &sh, 0xd800 | (cp >> 10));
			r |= shift_unit(out, &sh, 0xdc00 | (cp & 0x3ff));
		} else
			r |= shift_unit(out, &sh, cp);
	}
	r |= shift_end(out, &sh);
	return r < 0 ? -1 : 0;
}

static int
b64val(char c)
{
	const char *p = c != '\0' ? strchr(b64chars, c) : NULL;

	return p != NULL ? (int)(p - b64chars) : -1;
}

/* Decodes the body s[0..n) of one shift sequence (between "&" and "-"). */
static int
decode_run(struct buf *out, const char *s, size_t n, const char *also)
{
	uint32_t bits = 0, high = 0, unit;
	unsigned nbits = 0;
	int v, r = 0;

	for (size_t i = 0; i < n; i++) {
		if ((v = b64val(s[i])) < 0)
			return -1;
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		unit = (bits >> nbits) & 0xffff;
		bits &= (1u << nbits) - 1;
		if (unit >= 0xd800 && unit <= 0xdbff) {
			if (high != 0)
				return -1;
			high = unit;
			continue;
		}
		if (unit >= 0xdc00 && unit <= 0xdfff) {
			if (high == 0)
				return -1;
			unit = 0x10000 + ((high - 0xd800) << 10) +
			    (unit - 0xdc00);
			high = 0;
		} else if (high != 0 || is_direct(unit, also) || unit == '&')
			return -1;	/* lone surrogate, or ASCII that
					   stands for itself */
		r |= utf8_append(out, unit);
	}
	/* leftover bits must be fewer than a character, and zero */
	if (high != 0 || nbits >= 6 || bits != 0 || r < 0)
		return -1;
	return 0;
}

int
mutf7_decode(struct buf *out, const char *s, size_t len, const char *also)
{
	const char *end, *after_run = NULL;

	for (size_t i = 0; i < len; i++) {
		if (s[i] != '&') {
			if (!is_direct((unsigned char)s[i], also) ||
			    buf_putc(out, s[i]) < 0)
				return -1;
			continue;
		}
		end = memchr(s + i + 1, '-', len - i - 1);
		if (end == NULL)
			return -1;
		if (end == s + i + 1) {
			if (buf_putc(out, '&') < 0)
				return -1;
		} else if (s + i == after_run || decode_run(out, s + i + 1,
		    (size_t)(end - (s + i + 1)), also) < 0)
			return -1;	/* two runs in a row are one */
		else
			after_run = end + 1;
		i = (size_t)(end - s);
	}
	return 0;
}
