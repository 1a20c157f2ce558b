/*
 * rfc5322 - header field iteration, unfolding, RFC 2047 decoding and
 * message-id lists (see rfc5322.h; addresses are in rfc5322_addr.c,
 * dates in rfc5322_date.c).
 *
 * Trust: untrusted message text. Parsing is a forward scan with every
 * index checked against the buffer length; garbage is skipped, nothing
 * fails hard. Memory comes from struct buf and xmalloc, bounded by the
 * input. Callers: mime.c, imap_msgstruct.c, mail_search.c, later DKIM.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/charset.h"
#include "mail/mime_decode.h"
#include "mail/rfc5322.h"
#include "util/array.h"
#include "util/hex.h"
#include "util/xmalloc.h"

#define IS_WSP(c)	((c) == ' ' || (c) == '\t')

/* --- iteration ---------------------------------------------------------- */

void
rfc5322_iter_init(struct rfc5322_iter *it, const char *data, size_t len)
{
	memset(it, 0, sizeof(*it));
	it->data = data;
	it->len = len;
	it->body_off = len;
}

/* Line at pos: *end_r = end of its content (before CR LF), returns the
   start of the next line. */
static size_t
line_next(const char *d, size_t len, size_t pos, size_t *end_r)
{
	const char *nl = memchr(d + pos, '\n', len - pos);
	size_t end = nl != NULL ? (size_t)(nl - d) : len;
	size_t next = nl != NULL ? end + 1 : len;

	if (end > pos && d[end - 1] == '\r')
		end--;
	*end_r = end;
	return next;
}

int
rfc5322_iter_next(struct rfc5322_iter *it, struct rfc5322_field *f)
{
	const char *d = it->data;

	while (!it->done) {
		size_t start = it->pos, end, next, vend;
		const char *colon;

		if (start >= it->len) {
			it->done = true;
			it->body_off = it->len;
			break;
		}
		next = line_next(d, it->len, start, &end);
		if (end == start) {		/* the empty line */
			it->done = true;
			it->body_off = next;
			break;
		}
		it->pos = next;
		if (IS_WSP(d[start]))		/* continuation of nothing */
			continue;
		colon = memchr(d + start, ':', end - start);
		if (colon == NULL || colon == d + start)
			continue;		/* not a field */
		vend = end;
		while (it->pos < it->len && IS_WSP(d[it->pos])) {
			it->pos = line_next(d, it->len, it->pos, &vend);
		}
		f->name = d + start;
		f->name_len = (size_t)(colon - (d + start));
		while (f->name_len > 0 && IS_WSP(f->name[f->name_len - 1]))
			f->name_len--;
		f->value = colon + 1;
		f->value_len = vend - (size_t)(colon + 1 - d);
		f->off = start;
		f->len = it->pos - start;
		return 1;
	}
	return 0;
}

size_t
rfc5322_body_offset(const char *data, size_t len)
{
	struct rfc5322_iter it;
	struct rfc5322_field f;

	rfc5322_iter_init(&it, data, len);
	while (rfc5322_iter_next(&it, &f) == 1)
		;
	return it.body_off;
}

bool
rfc5322_ends_blank(const char *h, size_t n)
{
	if (n == 0 || h[n - 1] != '\n')
		return false;
	n--;
	if (n > 0 && h[n - 1] == '\r')
		n--;
	return n == 0 || h[n - 1] == '\n';
}

bool
rfc5322_field_is(const struct rfc5322_field *f, const char *name)
{
	size_t n = strlen(name);

	return f->name_len == n && strncasecmp(f->name, name, n) == 0;
}

int
rfc5322_find(const char *data, size_t len, const char *name,
    struct rfc5322_field *f)
{
	struct rfc5322_iter it;

	rfc5322_iter_init(&it, data, len);
	while (rfc5322_iter_next(&it, f) == 1)
		if (rfc5322_field_is(f, name))
			return 1;
	return 0;
}

bool
rfc5322_header_has(const char *msg, size_t len, const char *name)
{
	const char *p = msg, *end = msg + len, *nl, *q;
	size_t n = strlen(name);

	while (p < end && *p != '\n') {
		if ((size_t)(end - p) > n && strncasecmp(p, name, n) == 0) {
			for (q = p + n; q < end && (*q == ' ' || *q == '\t');
			    q++)
				;
			if (q < end && *q == ':')
				return true;
		}
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return false;
}

void
rfc5322_unfold(const char *v, size_t len, struct buf *out)
{
	size_t i = 0, start;

	while (i < len && (IS_WSP(v[i]) || v[i] == '\r' || v[i] == '\n'))
		i++;
	start = i;
	for (; i < len; i++) {
		if (v[i] != '\r' && v[i] != '\n' && v[i] != '\0')
			continue;
		buf_append(out, v + start, i - start);
		start = i + 1;
	}
	buf_append(out, v + start, len - start);
}

/* --- RFC 2047 ------------------------------------------------------------- */

struct ew {
	const char	*charset;	/* charset[0..cs_len) */
	size_t		 cs_len;
	char		 enc;		/* 'B' or 'Q' */
	const char	*text;
	size_t		 text_len;
	size_t		 end;		/* offset just past "?=" */
};

/* Recognises "=?charset?X?text?=" at s[i..n). */
static bool
ew_parse(const char *s, size_t n, size_t i, struct ew *w)
{
	size_t p = i + 2, q;

	if (i + 2 > n || s[i] != '=' || s[i + 1] != '?')
		return false;
	w->charset = s + p;
	while (p < n && s[p] != '?' && !IS_WSP(s[p]))
		p++;
	w->cs_len = (size_t)(s + p - w->charset);
	if (p + 3 > n || s[p] != '?' || w->cs_len == 0 ||
	    w->cs_len > CHARSET_NAME_MAX || s[p + 2] != '?')
		return false;
	w->enc = (char)(s[p + 1] & ~0x20);
	if (w->enc != 'B' && w->enc != 'Q')
		return false;
	p += 3;
	w->text = s + p;
	for (q = p; q + 1 < n; q++) {
		if (s[q] == '?' && s[q + 1] == '=')
			break;
		if (IS_WSP(s[q]))
			return false;
	}
	if (q + 1 >= n)
		return false;
	w->text_len = q - p;
	w->end = q + 2;
	return true;
}

/* Appends the raw bytes encoded in w. */
static void
ew_bytes(const struct ew *w, struct buf *out)
{
	size_t i;
	int h, l;

	if (w->enc == 'B') {
		mime_decode_base64(w->text, w->text_len, out);
		return;
	}
	for (i = 0; i < w->text_len; i++) {
		char c = w->text[i];

		if (c == '_')
			c = ' ';
		else if (c == '=' && i + 2 < w->text_len &&
		    (h = hex_value(w->text[i + 1])) >= 0 &&
		    (l = hex_value(w->text[i + 2])) >= 0) {
			c = (char)(h << 4 | l);
			i += 2;
		}
		buf_putc(out, c);
	}
}

/* Decoded bytes of adjacent words with one charset, converted at once so
   a character split across two words survives. */
struct ew_pending {
	char		 charset[CHARSET_NAME_MAX + 1];
	struct buf	 bytes;
};

static void
ew_flush(struct ew_pending *pd, struct buf *out)
{
	if (pd->bytes.len > 0)
		charset_to_utf8(pd->charset, pd->bytes.data, pd->bytes.len,
		    out);
	buf_reset(&pd->bytes);
}

static void
ew_add(struct ew_pending *pd, const struct ew *w, struct buf *out)
{
	char cs[CHARSET_NAME_MAX + 1];
	size_t n = w->cs_len;
	const char *star = memchr(w->charset, '*', n);

	if (star != NULL)			/* RFC 2231 language */
		n = (size_t)(star - w->charset);
	memcpy(cs, w->charset, n);		/* n <= CHARSET_NAME_MAX */
	cs[n] = '\0';
	if (strcasecmp(cs, pd->charset) != 0) {
		ew_flush(pd, out);
		memcpy(pd->charset, cs, n + 1);
	}
	ew_bytes(w, &pd->bytes);
}

static bool
all_wsp(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!IS_WSP(s[i]))
			return false;
	return true;
}

void
rfc5322_decode(const char *v, size_t len, struct buf *out)
{
	struct ew_pending pd;
	struct buf u;
	size_t i = 0, text = 0;
	bool after_ew = false;
	struct ew w;

	buf_init(&u, 0);
	rfc5322_unfold(v, len, &u);
	memset(&pd, 0, sizeof(pd));
	buf_init(&pd.bytes, 0);
	while (i < u.len) {
		if (u.data[i] != '=' || !ew_parse(u.data, u.len, i, &w)) {
			i++;
			continue;
		}
		/* White space between two encoded words is not text. */
		if (!after_ew || !all_wsp(u.data + text, i - text)) {
			ew_flush(&pd, out);
			charset_utf8_fallback(u.data + text, i - text, out);
		}
		ew_add(&pd, &w, out);
		after_ew = true;
		i = text = w.end;
	}
	ew_flush(&pd, out);
	charset_utf8_fallback(u.data + text, u.len - text, out);
	buf_free(&pd.bytes);
	buf_free(&u);
}

/* --- message ids ---------------------------------------------------------- */

size_t
rfc5322_msgids_parse(const char *v, size_t len, size_t max, char ***ids_r)
{
	char **ids = NULL;
	size_t n = 0, cap = 0, i = 0;
	struct buf id;

	buf_init(&id, 0);
	while (i < len && n < max) {
		const char *lt = memchr(v + i, '<', len - i);
		const char *gt;

		if (lt == NULL)
			break;
		i = (size_t)(lt - v) + 1;
		gt = memchr(v + i, '>', len - i);
		if (gt == NULL)
			break;
		buf_reset(&id);
		for (; i < (size_t)(gt - v); i++) {
			char c = v[i];

			if (c == '<') {		/* "<a <b>": restart */
				buf_reset(&id);
				continue;
			}
			if (!IS_WSP(c) && c != '\r' && c != '\n' && c != '\0')
				buf_putc(&id, c);
		}
		i++;
		if (id.len == 0)
			continue;
		*ARRAY_PUSH(ids, n, cap) = xstrndup(id.data, id.len);
	}
	buf_free(&id);
	*ids_r = ids;
	return n;
}

void
rfc5322_msgids_free(char ***ids, size_t n)
{
	if (*ids == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free((*ids)[i]);
	XFREE(ids);
}
