/*
 * mailbox_name - folder names: validation, and the on-disk encoding of a
 * name as a Maildir++ directory (see mailbox.h).
 *
 * Trust: names come from authenticated clients (CREATE, SELECT, ...) and
 * from directory entries another tool may have made; both are checked
 * here before any path is built from them. Everything is bounded by
 * MBOX_NAME_MAX on input and NAME_MAX on output.
 *
 * Each level is modified UTF-7 (RFC 3501 5.1.3) with "." shifted too, so
 * "." only separates levels on disk. Decoding accepts only what encoding
 * produces (the result is re-encoded and compared), so one directory has
 * one name and one name one directory.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/mailbox_int.h"
#include "util/buf.h"
#include "util/xmalloc.h"

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* Decodes one UTF-8 sequence at s (n bytes left); 0 if invalid. */
static size_t
utf8_next(const unsigned char *s, size_t n, uint32_t *cp_r)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80) {
		*cp_r = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_r = cp;
	return len;
}

static bool
is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

bool
mbox_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;

	for (size_t i = 0; i < len;) {
		size_t l = utf8_next(p + i, len - i, &cp);
		if (l == 0)
			return false;
		i += l;
	}
	return true;
}

static void
put_utf8(struct buf *b, uint32_t cp)
{
	char o[4];
	size_t n;

	if (cp < 0x80) {
		o[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		o[0] = (char)(0xf0 | (cp >> 18));
		o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buf_append(b, o, n);
}

/* Base64 state of a shift sequence. */
struct shift {
	bool		on;
	uint32_t	bits;
	int		nbits;
};

static void
shift_unit(struct buf *b, struct shift *sh, uint32_t unit)
{
	sh->bits = (sh->bits << 16) | unit;
	sh->nbits += 16;
	while (sh->nbits >= 6) {
		sh->nbits -= 6;
		buf_putc(b, b64chars[(sh->bits >> sh->nbits) & 63]);
	}
	sh->bits &= (1u << sh->nbits) - 1;
}

static void
shift_end(struct buf *b, struct shift *sh)
{
	if (!sh->on)
		return;
	if (sh->nbits > 0)
		buf_putc(b, b64chars[(sh->bits << (6 - sh->nbits)) & 63]);
	buf_putc(b, '-');
	sh->on = false;
	sh->bits = 0;
	sh->nbits = 0;
}

/* Appends the encoding of one level (valid UTF-8 without "/"). */
static void
encode_level(struct buf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	struct shift sh = { false, 0, 0 };
	uint32_t cp;

	for (size_t i = 0; i < len;) {
		i += utf8_next(p + i, len - i, &cp);
		if (cp >= 0x20 && cp <= 0x7e && cp != '.') {
			shift_end(b, &sh);
			if (cp == '&')
				buf_puts(b, "&-");
			else
				buf_putc(b, (char)cp);
			continue;
		}
		if (!sh.on) {
			buf_putc(b, '&');
			sh.on = true;
		}
		if (cp >= 0x10000) {
			cp -= 0x10000;
			shift_unit(b, &sh, 0xd800 | (cp >> 10));
			shift_unit(b, &sh, 0xdc00 | (cp & 0x3ff));
		} else
			shift_unit(b, &sh, cp);
	}
	shift_end(b, &sh);
}

static int
b64val(char c)
{
	const char *p = c ? strchr(b64chars, c) : NULL;

	return p ? (int)(p - b64chars) : -1;
}

/* Decodes a shift sequence body s[0..n) (between "&" and "-"). */
static int
decode_shift(struct buf *out, const char *s, size_t n)
{
	uint32_t bits = 0, high = 0;
	int nbits = 0;

	for (size_t i = 0; i < n; i++) {
		int v = b64val(s[i]);
		if (v < 0)
			return -1;
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		uint32_t unit = (bits >> nbits) & 0xffff;
		bits &= (1u << nbits) - 1;
		if (unit >= 0xd800 && unit <= 0xdbff) {
			if (high)
				return -1;
			high = unit;
		} else if (unit >= 0xdc00 && unit <= 0xdfff) {
			if (!high)
				return -1;
			put_utf8(out, 0x10000 + ((high - 0xd800) << 10) +
			    (unit - 0xdc00));
			high = 0;
		} else {
			if (high)
				return -1;
			put_utf8(out, unit);
		}
	}
	return high || nbits >= 6 || bits != 0 ? -1 : 0;
}

/* Decodes one level s[0..n) into out; -1 if it is not modified UTF-7. */
static int
decode_level(struct buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '&') {
			if (s[i] < 0x20 || s[i] > 0x7e)
				return -1;
			buf_putc(out, s[i]);
			continue;
		}
		const char *end = memchr(s + i + 1, '-', n - i - 1);
		if (end == NULL)
			return -1;
		if (end == s + i + 1)
			buf_putc(out, '&');
		else if (decode_shift(out, s + i + 1,
		    (size_t)(end - (s + i + 1))) < 0)
			return -1;
		i = (size_t)(end - s);
	}
	return 0;
}

int
mbox_name_check(const char *name, bool strict, char **norm_r, char **error_r)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t len = strlen(name);
	unsigned depth = 1;
	uint32_t cp;

	if (len == 0 || len > MBOX_NAME_MAX) {
		mbox_error(error_r, len ? "Folder name too long" :
		    "Empty folder name");
		return MBOX_ERR_BADNAME;
	}
	if (name[0] == '/' || name[len - 1] == '/' || strstr(name, "//")) {
		mbox_error(error_r, "Folder name with an empty level");
		return MBOX_ERR_BADNAME;
	}
	for (size_t i = 0; i < len;) {
		size_t l = utf8_next(p + i, len - i, &cp);
		if (l == 0 || is_control(cp)) {
			mbox_error(error_r, l ? "Control character in folder "
			    "name" : "Folder name is not UTF-8");
			return MBOX_ERR_BADNAME;
		}
		if (cp == '/')
			depth++;
		if (strict && (cp == '*' || cp == '%')) {
			mbox_error(error_r, "Wildcard in folder name");
			return MBOX_ERR_BADNAME;
		}
		i += l;
	}
	if (depth > MBOX_DEPTH_MAX) {
		mbox_error(error_r, "Folder hierarchy too deep");
		return MBOX_ERR_BADNAME;
	}
	*norm_r = xstrdup(name);
	if (strncasecmp(name, "INBOX", 5) == 0 &&
	    (name[5] == '\0' || name[5] == '/'))
		memcpy(*norm_r, "INBOX", 5);
	return 0;
}

int
mbox_name_to_dir(const char *norm, char **dir_r, char **error_r)
{
	struct buf b;
	const char *s = norm, *slash;

	if (strcmp(norm, "INBOX") == 0) {
		*dir_r = xstrdup("");
		return 0;
	}
	buf_init(&b, 0);
	do {
		slash = strchr(s, '/');
		size_t n = slash ? (size_t)(slash - s) : strlen(s);
		buf_putc(&b, '.');
		encode_level(&b, s, n);
		if (slash)
			s = slash + 1;
	} while (slash);
	if (b.len > NAME_MAX) {
		buf_free(&b);
		mbox_error(error_r, "Folder name too long");
		return MBOX_ERR_BADNAME;
	}
	*dir_r = buf_steal(&b, NULL);
	return 0;
}

int
mbox_name_from_dir(const char *dir, char **name_r)
{
	struct buf out;
	const char *s, *dot;
	char *norm = NULL, *again = NULL;
	int ret = -1;

	if (dir[0] != '.' || strlen(dir) > NAME_MAX)
		return -1;
	buf_init(&out, 0);
	for (s = dir + 1;; s = dot + 1) {
		dot = strchr(s, '.');
		size_t n = dot ? (size_t)(dot - s) : strlen(s);
		if (n == 0 || decode_level(&out, s, n) < 0)
			goto done;
		if (dot == NULL)
			break;
		buf_putc(&out, '/');
	}
	/* "/" decoded from base64 would invent a level; also canonical? */
	if (memchr(out.data, '\0', out.len) ||
	    mbox_name_check(buf_cstr(&out), false, &norm, NULL) < 0 ||
	    strcmp(norm, buf_cstr(&out)) != 0 || strcmp(norm, "INBOX") == 0 ||
	    mbox_name_to_dir(norm, &again, NULL) < 0 ||
	    strcmp(again, dir) != 0)
		goto done;
	*name_r = norm;
	norm = NULL;
	ret = 0;
done:
	free(norm);
	free(again);
	buf_free(&out);
	return ret;
}

int
mbox_name_resolve(const char *name, bool strict, char **norm_r, char **dir_r,
    char **error_r)
{
	int r = mbox_name_check(name, strict, norm_r, error_r);

	if (r < 0)
		return r;
	r = mbox_name_to_dir(*norm_r, dir_r, error_r);
	if (r < 0)
		XFREE(norm_r);
	return r;
}
