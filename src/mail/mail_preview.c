/*
 * mail_preview - RFC 8970 PREVIEW text from the first text part of a
 * message (see mail_preview.h).
 *
 * Trust: message content from anyone. Work is bounded by
 * MAIL_PREVIEW_INPUT_MAX encoded octets per message, whatever its size;
 * every loop walks its input once; the output is valid UTF-8 because the
 * charset layer produces only that and the cut falls between characters.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/charset.h"
#include "mail/mail_preview.h"
#include "util/utf8.h"

/* The part to preview: the first text/plain or text/html leaf that is
   not an attachment and not inside an attached message. */
static const struct mime_part *
preview_part(const struct mime_msg *m)
{
	const struct mime_part *p, *q;
	size_t i;
	bool inside;

	for (i = 0; i < m->nparts; i++) {
		p = m->parts[i];
		if (mime_part_is_multipart(p) || mime_part_is_message(p) ||
		    !mime_part_is_text(p))
			continue;
		if (strcmp(p->subtype, "plain") != 0 &&
		    strcmp(p->subtype, "html") != 0)
			continue;
		if (p->disposition != NULL &&
		    strcasecmp(p->disposition, "attachment") == 0)
			continue;
		for (inside = false, q = p; q->parent != NULL; q = q->parent)
			if (q->parent->message == q)
				inside = true;
		if (!inside)
			return p;
	}
	return NULL;
}

/* The part's body prefix, transfer encoding undone, as UTF-8. */
static void
part_utf8(const struct mime_msg *m, const struct mime_part *p,
    struct buf *out)
{
	const char *body = m->data + p->body_off;
	size_t len = p->end - p->body_off;
	struct buf raw;

	if (len > MAIL_PREVIEW_INPUT_MAX)
		len = MAIL_PREVIEW_INPUT_MAX;
	buf_init(&raw, 0);
	if (p->cte == MIME_CTE_BASE64 || p->cte == MIME_CTE_QP) {
		if (p->cte == MIME_CTE_BASE64)
			(void)mime_decode_base64(body, len, &raw);
		else
			(void)mime_decode_qp(body, len, &raw);
		body = buf_cstr(&raw);
		len = raw.len;
	}
	(void)charset_to_utf8(mime_param_get(p->params, p->nparams,
	    "charset"), body, len, out);
	buf_free(&raw);
}

/* An entity at s[0] == '&': appends its text and returns its length, or
   0 when it is not one we know (the '&' is then copied). */
static size_t
html_entity(const char *s, size_t len, struct buf *out)
{
	static const struct {
		const char *name;
		const char *text;
	} names[] = {
		{ "amp;", "&" }, { "lt;", "<" }, { "gt;", ">" },
		{ "quot;", "\"" }, { "apos;", "'" }, { "nbsp;", " " },
	};
	unsigned long c = 0;
	size_t i, n;
	int base = 10;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		n = strlen(names[i].name);
		if (len > n && strncasecmp(s + 1, names[i].name, n) == 0) {
			buf_puts(out, names[i].text);
			return n + 1;
		}
	}
	if (len < 4 || s[1] != '#')
		return 0;
	i = 2;
	if (s[i] == 'x' || s[i] == 'X') {
		base = 16;
		i++;
	}
	for (n = i; i < len && i < n + 8 && isxdigit((unsigned char)s[i]) &&
	    (base == 16 || isdigit((unsigned char)s[i])); i++)
		c = c * (unsigned long)base + (unsigned long)(isdigit(
		    (unsigned char)s[i]) ? s[i] - '0' :
		    (tolower((unsigned char)s[i]) - 'a' + 10));
	if (i == n || i >= len || s[i] != ';')
		return 0;
	if (c == 0 || c > 0x10ffff)
		c = 0xfffd;	/* utf8_append handles surrogates */
	utf8_append(out, c == 0xa0 ? ' ' : (uint32_t)c);
	return i + 1;
}

/* Whether the tag at s ("<name...") is name (then a non-name char). */
static bool
tag_is(const char *s, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len > n && strncasecmp(s, name, n) == 0 &&
	    !isalnum((unsigned char)s[n]);
}

/* Where the first of needle (case-insensitive) starts in s, or len. */
static size_t
find_ci(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = 0; i + n <= len; i++)
		if (strncasecmp(s + i, needle, n) == 0)
			return i;
	return len;
}

/* Tags that break words (others, like <b> or <span>, do not). */
static bool
tag_inline(const char *s, size_t len)
{
	static const char *const inl[] = {
		"a", "b", "i", "u", "em", "strong", "span", "font", "small",
		"big", "sub", "sup", "code", "s", "strike", "abbr", NULL,
	};
	size_t i;

	if (len > 0 && *s == '/') {
		s++;
		len--;
	}
	for (i = 0; inl[i] != NULL; i++)
		if (tag_is(s, len, inl[i]))
			return true;
	return false;
}

/* Length of the tag, comment or <style>/<script> element at s[0] == '<'
   (to the end of the text when unterminated). */
static size_t
html_skip(const char *s, size_t len)
{
	size_t i;

	if (len >= 4 && memcmp(s, "<!--", 4) == 0) {
		i = find_ci(s + 4, len - 4, "-->");
		return i + 4 + (i < len - 4 ? 3 : 0);
	}
	if (tag_is(s + 1, len - 1, "style") ||
	    tag_is(s + 1, len - 1, "script")) {
		i = find_ci(s, len, tag_is(s + 1, len - 1, "style") ?
		    "</style" : "</script");
		s += i;
		len -= i;
		if (len == 0)
			return i;
		return i + html_skip(s, len);
	}
	for (i = 1; i < len && s[i] != '>'; i++)
		;
	return i < len ? i + 1 : len;
}

/* The text of HTML in[0..len): tags dropped, entities decoded. */
static void
html_text(const char *in, size_t len, struct buf *out)
{
	size_t i = 0, n;

	while (i < len) {
		if (in[i] == '<') {
			n = html_skip(in + i, len - i);
			if (!tag_inline(in + i + 1, len - i - 1))
				buf_putc(out, ' ');
			i += n;
		} else if (in[i] == '&' &&
		    (n = html_entity(in + i, len - i, out)) > 0) {
			i += n;
		} else {
			buf_putc(out, in[i++]);
		}
	}
}

/* Appends in with white space runs made one space, trimmed, cut after
   MAIL_PREVIEW_CHARS characters (never inside one). */
static void
collapse(const char *in, size_t len, struct buf *out)
{
	size_t i, chars = 0;
	bool space = false, any = false;
	unsigned char ch;

	for (i = 0; i < len; i++) {
		ch = (unsigned char)in[i];
		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' ||
		    ch == '\f' || ch == '\v') {
			space = any;
			continue;
		}
		if ((ch & 0xc0) != 0x80) {	/* a character starts */
			if (chars + (space ? 1 : 0) >= MAIL_PREVIEW_CHARS)
				break;
			if (space) {
				buf_putc(out, ' ');
				chars++;
			}
			chars++;
			space = false;
		}
		buf_putc(out, (char)ch);
		any = true;
	}
}

void
mail_preview(const struct mime_msg *m, struct buf *out)
{
	const struct mime_part *p = preview_part(m);
	struct buf text, plain;

	if (p == NULL)
		return;
	buf_init(&text, 0);
	part_utf8(m, p, &text);
	if (strcmp(p->subtype, "html") == 0) {
		buf_init(&plain, 0);
		html_text(buf_cstr(&text), text.len, &plain);
		collapse(buf_cstr(&plain), plain.len, out);
		buf_free(&plain);
	} else {
		collapse(buf_cstr(&text), text.len, out);
	}
	buf_free(&text);
}
