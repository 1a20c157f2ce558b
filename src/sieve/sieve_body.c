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
 * plain text as Dovecot renders it for Pigeonhole (below); :raw is the
 * body undecoded.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/charset.h"
#include "mail/mime.h"
#include "mail/rfc5322.h"
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
	return rfc5322_ends_blank(d + p->hdr_off, p->body_off - p->hdr_off);
}

/* ---- HTML to text (for :text) ---- */

/*
 * Rendered as Dovecot's mail-html2text does (what Pigeonhole's :text
 * searches): text is copied as it is (white space not collapsed), every
 * tag becomes one space unless a space was just written ("Hello <b>html
 * </b> world" gives "Hello html  world"), comments, <script> and <style>
 * vanish, CDATA is text, entities are decoded (names case-sensitively,
 * as sieve-test: "&AMP;" is not "&"; a name not known here gives
 * nothing; a broken one loses its '&').
 */
enum hstate { H_TEXT, H_TAG, H_DQ, H_SQ, H_COMMENT, H_COMMENT_END,
	H_SCRIPT, H_STYLE, H_CDATA };

static const struct { const char *name; uint32_t cp; } entities[] = {
	{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' },
	{ "apos", '\'' }, { "nbsp", 0xA0 }, { "copy", 0xA9 },
	{ "reg", 0xAE }, { "laquo", 0xAB }, { "raquo", 0xBB },
	{ "euro", 0x20AC }, { "hellip", 0x2026 }, { "ndash", 0x2013 },
	{ "mdash", 0x2014 }, { "lsquo", 0x2018 }, { "rsquo", 0x2019 },
	{ "ldquo", 0x201C }, { "rdquo", 0x201D }, { "bull", 0x2022 },
	{ "trade", 0x2122 }, { "shy", 0xAD }, { "deg", 0xB0 },
	{ "eacute", 0xE9 }, { "egrave", 0xE8 }, { "agrave", 0xE0 },
	{ "auml", 0xE4 }, { "ouml", 0xF6 }, { "uuml", 0xFC },
	{ "Auml", 0xC4 }, { "Ouml", 0xD6 }, { "Uuml", 0xDC },
	{ "szlig", 0xDF }, { "ccedil", 0xE7 },
};

/* The entity after '&' at s[0..len): octets used after the '&' (0: a
 * broken one, only the '&' is dropped). */
static size_t
entity(const char *s, size_t len, struct buf *out)
{
	char name[10];
	size_t i;
	uint32_t cp = 0;
	char *end;

	for (i = 0; i < len && s[i] != ';'; i++)
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' ||
		    s[i] == '\n' || i + 1 >= sizeof(name))
			return 0;
	if (i == len)
		return 0;
	memcpy(name, s, i);
	name[i] = '\0';
	for (size_t k = 0; k < sizeof(entities) / sizeof(entities[0]) &&
	    cp == 0; k++)
		if (strcmp(entities[k].name, name) == 0)	/* "&AMP;": "" */
			cp = entities[k].cp;
	if (cp == 0 && name[0] == '#' && isxdigit((unsigned char)name[
	    name[1] == 'x' ? 2 : 1])) {
		unsigned long v = name[1] == 'x' ? strtoul(name + 2, &end, 16) :
		    strtoul(name + 1, &end, 10);

		if (*end == '\0' && v <= 0x10FFFF && (v < 0xD800 || v > 0xDFFF))
			cp = (uint32_t)v;
	}
	if (cp != 0)
		utf8_append(out, cp);
	return i + 1;
}

static void
add_space(struct buf *out)
{
	if (out->len > 0 && out->data[out->len - 1] != ' ')
		buf_putc(out, ' ');
}

/* Does s[0..len) start with lit (case-insensitively)? */
static bool
starts(const char *s, size_t len, const char *lit)
{
	size_t n = strlen(lit);

	return len >= n && strncasecmp(s, lit, n) == 0;
}

/* A tag name is followed by white space or '>'. */
static bool
tag_named(const char *s, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len > n && strncasecmp(s, name, n) == 0 && (s[n] == '>' ||
	    s[n] == ' ' || s[n] == '\t' || s[n] == '\r' || s[n] == '\n');
}

/* What '<' at s[i] opens; returns where scanning goes on. */
static size_t
tag_open(const char *s, size_t len, size_t i, enum hstate *st)
{
	const char *t = s + i + 1;
	size_t tl = len - i - 1;

	if (starts(t, tl, "!--")) {
		*st = H_COMMENT;
		return i + 4;
	}
	if (tag_named(t, tl, "script")) {
		*st = H_SCRIPT;
		return i + 8;
	}
	if (tag_named(t, tl, "style")) {
		*st = H_STYLE;
		return i + 7;
	}
	if (starts(t, tl, "![CDATA[")) {
		*st = H_CDATA;
		return i + 9;
	}
	*st = H_TAG;
	return i + 1;
}

static void
html_text(const char *s, size_t len, struct buf *out)
{
	enum hstate st = H_TEXT;
	size_t i = 0;

	while (i < len) {
		char c = s[i];

		switch (st) {
		case H_TEXT:
			if (c == '<') {
				i = tag_open(s, len, i, &st);
				continue;
			}
			if (c == '&') {
				i += 1 + entity(s + i + 1, len - i - 1, out);
				continue;
			}
			buf_putc(out, c);
			break;
		case H_TAG:
			if (c == '"')
				st = H_DQ;
			else if (c == '\'')
				st = H_SQ;
			else if (c == '>') {
				st = H_TEXT;
				add_space(out);
			}
			break;
		case H_DQ:
		case H_SQ:
			if (c == '\\')
				i++;
			else if (c == (st == H_DQ ? '"' : '\''))
				st = H_TAG;
			break;
		case H_COMMENT:
			if (c == '-' && i + 1 < len && s[i + 1] == '-') {
				st = H_COMMENT_END;
				i++;
			}
			break;
		case H_COMMENT_END:
			if (c == '>')
				st = H_TEXT;
			else if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
				st = H_COMMENT;
			break;
		case H_SCRIPT:
		case H_STYLE:
			if (c == '<' && starts(s + i, len - i, st == H_SCRIPT ?
			    "</script>" : "</style>")) {
				i += st == H_SCRIPT ? 9 : 8;
				add_space(out);
				st = H_TEXT;
				continue;
			}
			break;
		case H_CDATA:
			if (c == ']' && starts(s + i, len - i, "]]>")) {
				i += 3;
				st = H_TEXT;
				continue;
			}
			buf_putc(out, c);
			break;
		}
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
	if (!rfc5322_ends_blank(b.data, b.len))
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
