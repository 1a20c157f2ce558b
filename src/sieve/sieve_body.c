/*
 * sieve_body - the texts the body test (RFC 5173) searches.
 *
 * Trust: the message is from anyone. The MIME tree is mime_parse()'s
 * (no recursion, bounded depth and part count); decoding stops at the
 * caller's limit (every buffer here has a max), so a 1 GiB base64 part
 * costs at most max octets of output and one pass over its input.
 *
 * What each part gives, as Pigeonhole's sieve-test does (checked case by
 * case on a multipart/mixed holding a multipart/alternative, an
 * attachment and a message/rfc822):
 *  - a leaf part: its body with the transfer encoding undone (base64,
 *    quoted-printable), text/ parts converted from their charset to UTF-8;
 *    non-text parts stay bytes;
 *  - a multipart part: only its prologue and its epilogue (the text
 *    before the first and after the closing boundary), each a text of its
 *    own; its children are parts of their own;
 *  - a message/rfc822 part: the header of the embedded message (its body
 *    is the next part);
 *  - a part without a body (no empty line after its header): nothing.
 * :content type lists match as Pigeonhole: "" any part, "text" any
 * text/ part, "text/html" that type only, case-insensitively; "text/"
 * matches nothing. :text is :content "text" with text/html turned into
 * plain text (tags, comments, script and style dropped, entities
 * decoded), as Pigeonhole's :text does; :raw is the body undecoded.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/charset.h"
#include "mail/mime.h"
#include "sieve/sieve_lib.h"
#include "util/buf.h"
#include "util/utf8.h"

struct bctx {
	const char	*d;		/* the whole message */
	size_t		 left;		/* octets still to give */
	void		(*cb)(void *, const char *, size_t);
	void		*arg;
	enum sieve_body_xform x;
};

/* Gives one text to the callback, cut to what is left. */
static void
give(struct bctx *c, const char *s, size_t len)
{
	if (len == 0 || c->left == 0)
		return;
	if (len > c->left)
		len = c->left;
	c->left -= len;
	c->cb(c->arg, s, len);
}

/* Does "type/subtype" match one of the wanted types? */
static bool
type_wanted(const struct mime_part *p, char * const *types, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *t = types[i], *slash = strchr(t, '/');

		if (*t == '\0')
			return true;
		if (slash == NULL) {
			if (strcasecmp(t, p->type) == 0)
				return true;
		} else if ((size_t)(slash - t) == strlen(p->type) &&
		    strncasecmp(t, p->type, (size_t)(slash - t)) == 0 &&
		    strcasecmp(slash + 1, p->subtype) == 0)
			return true;
	}
	return false;
}

/* Did p's header end with an empty line (RFC 5173: a part without a
 * body matches nothing)? */
static bool
has_body(const char *d, const struct mime_part *p)
{
	size_t q = p->body_off;

	if (q <= p->hdr_off || d[q - 1] != '\n')
		return false;
	q--;
	if (q > p->hdr_off && d[q - 1] == '\r')
		q--;
	return q == p->hdr_off || d[q - 1] == '\n';
}

/* ---- HTML to text (for :text) ---- */

static bool
tag_is(const char *s, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len >= n && strncasecmp(s, name, n) == 0 &&
	    (len == n || !isalnum((unsigned char)s[n]));
}

/* A tag that starts a new line when rendered. */
static bool
tag_breaks(const char *s, size_t len)
{
	static const char *const blocks[] = { "br", "p", "div", "tr", "li",
	    "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol",
	    "blockquote", "pre", "hr", "title", NULL };

	if (len > 0 && s[0] == '/') {
		s++;
		len--;
	}
	for (size_t i = 0; blocks[i] != NULL; i++)
		if (tag_is(s, len, blocks[i]))
			return true;
	return false;
}

/* Decodes the entity at s[0] == '&'; returns its length (0: not one). */
static size_t
entity(const char *s, size_t len, struct buf *out)
{
	static const struct { const char *n; const char *v; } named[] = {
		{ "amp;", "&" }, { "lt;", "<" }, { "gt;", ">" },
		{ "quot;", "\"" }, { "apos;", "'" }, { "nbsp;", " " },
	};
	size_t i = 1;
	uint32_t cp = 0;

	for (size_t k = 0; k < sizeof(named) / sizeof(named[0]); k++) {
		size_t n = strlen(named[k].n);

		if (len > n && strncasecmp(s + 1, named[k].n, n) == 0) {
			buf_puts(out, named[k].v);
			return n + 1;
		}
	}
	if (len < 4 || s[1] != '#')
		return 0;
	i = 2;
	if (s[i] == 'x' || s[i] == 'X') {
		for (i++; i < len && i < 12 && isxdigit((unsigned char)s[i]); i++)
			cp = cp * 16 + (uint32_t)(isdigit((unsigned char)s[i]) ?
			    s[i] - '0' : (tolower((unsigned char)s[i]) - 'a' + 10));
	} else {
		for (; i < len && i < 12 && isdigit((unsigned char)s[i]); i++)
			cp = cp * 10 + (uint32_t)(s[i] - '0');
	}
	if (i >= len || s[i] != ';' || cp == 0 || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	utf8_append(out, cp);
	return i + 1;
}

/* Where the element's content ends: past "</name ...>", or len. */
static size_t
skip_element(const char *s, size_t len, size_t i, const char *name)
{
	size_t n = strlen(name);

	for (; i + n + 2 <= len; i++)
		if (s[i] == '<' && s[i + 1] == '/' &&
		    tag_is(s + i + 2, len - i - 2, name)) {
			const char *gt = memchr(s + i, '>', len - i);

			return gt != NULL ? (size_t)(gt - s) + 1 : len;
		}
	return len;
}

/* Renders HTML as plain text: white space runs collapse to one space,
 * block tags break lines. One pass; script/style/comments skipped. */
static void
html_text(const char *s, size_t len, struct buf *out)
{
	size_t i = 0, n;
	bool space = false;

	while (i < len) {
		char c = s[i];

		if (c == '<') {
			const char *gt;
			size_t tl;

			if (len - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
				const char *e = memmem(s + i + 4, len - i - 4,
				    "-->", 3);

				i = e != NULL ? (size_t)(e - s) + 3 : len;
				continue;
			}
			gt = memchr(s + i, '>', len - i);
			tl = (gt != NULL ? (size_t)(gt - s) : len) - i - 1;
			if (tag_breaks(s + i + 1, tl)) {
				buf_putc(out, '\n');
				space = false;
			}
			if (tag_is(s + i + 1, tl, "script") ||
			    tag_is(s + i + 1, tl, "style"))
				i = skip_element(s, len, i + 1 + tl,
				    tag_is(s + i + 1, tl, "script") ?
				    "script" : "style");
			else
				i += tl + 2;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			if (!space && out->len > 0 &&
			    out->data[out->len - 1] != '\n')
				buf_putc(out, ' ');
			space = true;
			i++;
			continue;
		}
		space = false;
		if (c == '&' && (n = entity(s + i, len - i, out)) > 0) {
			i += n;
			continue;
		}
		if (buf_putc(out, c) < 0)
			return;
		i++;
	}
}

/* ---- parts ---- */

/* A leaf part's body: transfer encoding undone, text to UTF-8, HTML to
 * text for :text. */
static void
leaf_text(struct bctx *c, const struct mime_part *p)
{
	const char *body = c->d + p->body_off;
	size_t blen = p->end - p->body_off;
	bool html = c->x == SIEVE_BODY_TEXT && mime_part_is_text(p) &&
	    strcmp(p->subtype, "html") == 0;
	/* Decoding stops once it has given enough for `left` octets of
	 * output (a charset may take 4 octets for one; HTML loses its tags,
	 * so it is decoded whole: never more than the part itself). */
	size_t want = html || c->left > SIZE_MAX / 8 ? 0 : c->left * 4 + 64;
	struct buf dec, u, txt;

	buf_init(&dec, want);
	buf_init(&u, want);
	buf_init(&txt, want);
	if (p->cte == MIME_CTE_BASE64 || p->cte == MIME_CTE_QP) {
		if (p->cte == MIME_CTE_BASE64)
			(void)mime_decode_base64(body, blen, &dec);
		else
			(void)mime_decode_qp(body, blen, &dec);
		body = buf_cstr(&dec);
		blen = dec.len;
	}
	if (!mime_part_is_text(p)) {
		give(c, body, blen);
		goto out;
	}
	(void)charset_to_utf8(mime_param_get(p->params, p->nparams,
	    "charset"), body, blen, &u);
	if (html) {
		html_text(buf_cstr(&u), u.len, &txt);
		give(c, buf_cstr(&txt), txt.len);
	} else
		give(c, buf_cstr(&u), u.len);
out:
	buf_free(&dec);
	buf_free(&u);
	buf_free(&txt);
}

/* The prologue and epilogue of a multipart (boundary lines and the line
 * ends that belong to them left out). */
static void
multipart_text(struct bctx *c, const struct mime_part *p)
{
	const char *d = c->d;
	const struct mime_part *last = p->children;
	size_t q, e;

	if (p->children == NULL) {		/* no boundary seen */
		give(c, d + p->body_off, p->end - p->body_off);
		return;
	}
	q = p->children->hdr_off;		/* after "--b" EOL */
	if (q > p->body_off && d[q - 1] == '\n')
		q--;
	while (q > p->body_off && d[q - 1] != '\n')
		q--;				/* the boundary line */
	if (q > p->body_off && d[q - 1] == '\n')
		q--;
	if (q > p->body_off && d[q - 1] == '\r')
		q--;
	give(c, d + p->body_off, q - p->body_off);
	while (last->next != NULL)
		last = last->next;
	e = last->end;
	if (e < p->end && d[e] == '\r')
		e++;
	if (e < p->end && d[e] == '\n')
		e++;
	if (p->end - e < 2 || d[e] != '-' || d[e + 1] != '-')
		return;				/* no close delimiter */
	while (e < p->end && d[e] != '\n')
		e++;
	if (e < p->end)
		e++;
	give(c, d + e, p->end - e);
}

/* The embedded message's header, without its closing empty line. */
static void
message_text(struct bctx *c, const struct mime_part *p)
{
	const struct mime_part *m = p->message;
	size_t e = m->body_off;

	if (has_body(c->d, m)) {
		e--;
		if (e > m->hdr_off && c->d[e - 1] == '\r')
			e--;
	}
	give(c, c->d + m->hdr_off, e - m->hdr_off);
}

/* Does h[0..n) end with an empty line? */
static bool
ends_blank(const char *h, size_t n)
{
	if (n == 0 || h[n - 1] != '\n')
		return false;
	n--;
	if (n > 0 && h[n - 1] == '\r')
		n--;
	return n == 0 || h[n - 1] == '\n';
}

/* The message as one buffer for mime_parse: head, the empty line (when
 * head does not end with it), body. */
static char *
join(const char *head, size_t hlen, const char *body, size_t blen,
    size_t *len)
{
	struct buf b;

	buf_init(&b, 0);
	buf_append(&b, head, hlen);
	if (hlen > 0 && head[hlen - 1] != '\n')
		buf_putc(&b, '\n');
	if (!ends_blank(b.data, b.len))
		buf_putc(&b, '\n');
	buf_append(&b, body, blen);
	return buf_steal(&b, len);
}

void
sieve_body_texts(const char *head, size_t hlen, const char *body,
    size_t blen, enum sieve_body_xform x, char * const *types,
    size_t ntypes, size_t max,
    void (*cb)(void *arg, const char *text, size_t len), void *arg)
{
	static char *const text_only[] = { "text" };
	struct bctx c = { .left = max, .cb = cb, .arg = arg, .x = x };
	struct mime_msg *m;
	size_t len;
	char *msg;

	if (x == SIEVE_BODY_RAW) {
		give(&c, body, blen);
		return;
	}
	if (x == SIEVE_BODY_TEXT) {
		types = text_only;
		ntypes = 1;
	}
	msg = join(head, hlen, body, blen, &len);
	c.d = msg;
	m = mime_parse(msg, len);
	for (size_t i = 0; i < m->nparts && c.left > 0; i++) {
		const struct mime_part *p = m->parts[i];

		if (!has_body(msg, p) || !type_wanted(p, types, ntypes))
			continue;
		if (mime_part_is_multipart(p))
			multipart_text(&c, p);
		else if (mime_part_is_message(p) && p->message != NULL)
			message_text(&c, p);
		else
			leaf_text(&c, p);
	}
	mime_free(&m);
	free(msg);
}
