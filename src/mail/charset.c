/*
 * charset - charset conversion to UTF-8 and search folding (see charset.h).
 *
 * Trust: input is untrusted message text; output is always valid UTF-8.
 * iconv(3) is given only names made of [A-Za-z0-9._:-] up to
 * CHARSET_NAME_MAX, and its errors (EILSEQ, EINVAL) turn into U+FFFD
 * rather than failures. Callers: rfc5322.c (encoded words), mail_search.c
 * (bodies), imap_msgstruct.c through them.
 */
#include <errno.h>
#include <iconv.h>
#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <wctype.h>

#include "mail/charset.h"
#include "util/utf8.h"

static pthread_once_t charset_once = PTHREAD_ONCE_INIT;
static locale_t charset_locale;		/* C.UTF-8 for towlower_l */

static void
charset_locale_init(void)
{
	charset_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

void
charset_utf8_fallback(const char *in, size_t len, struct buf *out)
{
	size_t i = 0, start = 0, n;
	uint32_t cp;

	while (i < len) {
		if ((unsigned char)in[i] < 0x80) {
			i++;
			continue;
		}
		if ((n = utf8_decode(in + i, len - i, &cp)) > 0) {
			i += n;
			continue;
		}
		buf_append(out, in + start, i - start);
		utf8_append(out, (unsigned char)in[i]);
		start = ++i;
	}
	buf_append(out, in + start, i - start);
}

/* True for names safe to hand to iconv_open. */
static bool
charset_name_ok(const char *cs)
{
	size_t i;

	for (i = 0; cs[i] != '\0'; i++) {
		char c = cs[i];
		if (i >= CHARSET_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == ':'))
			return false;
	}
	return i > 0;
}

/* UTF-8 and its subsets: no iconv needed, the fallback is better. */
static bool
charset_is_utf8_name(const char *cs)
{
	static const char *const names[] = {
		"utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968",
		"unknown-8bit", "x-unknown", "default", NULL
	};
	size_t i;

	for (i = 0; names[i] != NULL; i++)
		if (strcasecmp(cs, names[i]) == 0)
			return true;
	return false;
}

/* iconv's name for cs: a few common mislabels mapped to supersets. */
static const char *
charset_iconv_name(const char *cs)
{
	if (strcasecmp(cs, "iso-8859-1") == 0 || strcasecmp(cs, "latin1") == 0)
		return "WINDOWS-1252";	/* as mail clients do (WHATWG) */
	if (strcasecmp(cs, "ks_c_5601-1987") == 0)
		return "CP949";
	if (strcasecmp(cs, "gb2312") == 0)
		return "GB18030";
	return cs;
}

bool
charset_known(const char *charset)
{
	iconv_t cd;

	if (charset == NULL || charset_is_utf8_name(charset))
		return true;
	if (!charset_name_ok(charset))
		return false;
	cd = iconv_open("UTF-8", charset_iconv_name(charset));
	if (cd == (iconv_t)-1)
		return false;
	iconv_close(cd);
	return true;
}

/* Runs in[0..len) through cd into out; bad input becomes U+FFFD. */
static void
charset_iconv(iconv_t cd, const char *in, size_t len, struct buf *out)
{
	/* iconv(3) wants char ** for input it does not modify. */
	char *ip = (char *)(uintptr_t)in;
	size_t ileft = len;
	char tmp[1024];

	while (ileft > 0) {
		char *op = tmp;
		size_t oleft = sizeof(tmp);
		size_t r = iconv(cd, &ip, &ileft, &op, &oleft);
		int err = errno;

		if (buf_append(out, tmp, sizeof(tmp) - oleft) < 0)
			return;
		if (r != (size_t)-1)
			continue;
		if (err == E2BIG)
			continue;
		utf8_append(out, UTF8_REPLACEMENT);
		if (err == EINVAL)	/* incomplete sequence at the end */
			break;
		ip++;			/* EILSEQ: skip one byte */
		ileft--;
		iconv(cd, NULL, NULL, NULL, NULL);
	}
	/* Flush any shift state. */
	{
		char *op = tmp;
		size_t oleft = sizeof(tmp);

		iconv(cd, NULL, NULL, &op, &oleft);
		buf_append(out, tmp, sizeof(tmp) - oleft);
	}
}

int
charset_to_utf8(const char *charset, const char *in, size_t len,
    struct buf *out)
{
	iconv_t cd;

	if (charset == NULL || charset[0] == '\0' ||
	    charset_is_utf8_name(charset)) {
		charset_utf8_fallback(in, len, out);
		return 0;
	}
	if (!charset_name_ok(charset) ||
	    (cd = iconv_open("UTF-8", charset_iconv_name(charset))) ==
	    (iconv_t)-1) {
		charset_utf8_fallback(in, len, out);
		return -1;
	}
	charset_iconv(cd, in, len, out);
	iconv_close(cd);
	return 0;
}

static unsigned
charset_lower(unsigned cp)
{
	if (cp < 0x80)
		return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
	pthread_once(&charset_once, charset_locale_init);
	if (charset_locale != (locale_t)0)
		return (unsigned)towlower_l((wint_t)cp, charset_locale);
	/* No C.UTF-8: Latin-1 letters at least. */
	if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)
		return cp + 32;
	return cp;
}

void
charset_fold(const char *in, size_t len, struct buf *out)
{
	size_t i = 0, n;
	uint32_t cp;
	bool space = false;

	while (i < len) {
		unsigned char c = (unsigned char)in[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			if (!space)
				buf_putc(out, ' ');
			space = true;
			i++;
			continue;
		}
		space = false;
		if (c < 0x80) {
			buf_putc(out, (char)((c >= 'A' && c <= 'Z') ? c + 32 : c));
			i++;
			continue;
		}
		if ((n = utf8_decode(in + i, len - i, &cp)) == 0) {
			cp = c;
			n = 1;
		}
		utf8_append(out, charset_lower(cp));
		i += n;
	}
}
