/*
 * sieve_editheader - addheader and deleteheader (RFC 5293) at run time:
 * edits go to a private copy of the header section (struct sieve_run's
 * ehead), which the later tests see and the result hands back as
 * r->head. Received and Auto-Submitted are protected (RFC 5293 7, as
 * Pigeonhole's default): edits of them are ignored.
 *
 * Trust: untrusted script and message; at most max_header_edits edits,
 * field names checked, 8-bit or multi-line values sent as one RFC 2047
 * word so no edit can inject a line.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/rfc5322.h"
#include "sieve/sieve_run_int.h"
#include "util/base64.h"

/* Fields no script may add or delete (RFC 5293 7, Pigeonhole's
 * default editheader_protected). */
static bool
protected_field(const char *name)
{
	return strcasecmp(name, "received") == 0 ||
	    strcasecmp(name, "auto-submitted") == 0;
}

static bool
field_name_ok(const char *n)
{
	if (*n == '\0')
		return false;
	for (; *n != '\0'; n++)
		if ((unsigned char)*n <= 32 || (unsigned char)*n >= 127 ||
		    *n == ':')
			return false;
	return true;
}

/* Counts an edit and makes the private copy; false: over the limit. */
static bool
edit_begin(struct sieve_run *s, int line)
{
	if (++s->nedits > s->lim.max_header_edits) {
		sr_fail(s, line, "too many header edits (limit %u)",
		    s->lim.max_header_edits);
		return false;
	}
	sr_hindex_drop(s);	/* its ranges point into the old section */
	if (!s->edited) {
		buf_reset(&s->ehead);
		buf_append(&s->ehead, s->head, s->head_len);
		s->edited = true;
	}
	return true;
}

static void
edit_end(struct sieve_run *s)
{
	s->head = buf_cstr(&s->ehead);
	s->head_len = s->ehead.len;
	sr_hindex_drop(s);
}

/* The new field: line breaks in the value become folding; an 8-bit
 * value goes as RFC 2047 words of at most 45 octets each (60 encoded,
 * under the 75 of RFC 2047 2), cut between UTF-8 characters. */
static void
field_format(const char *name, const char *v, size_t len, const char *eol,
    struct buf *out)
{
	size_t i, n;
	bool eight = false;

	while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n'))
		len--;
	for (i = 0; i < len; i++)
		if ((unsigned char)v[i] >= 0x80)
			eight = true;
	buf_printf(out, "%s: ", name);
	for (i = 0; eight && i < len; i += n) {
		n = len - i > 45 ? 45 : len - i;
		while (i + n < len && n > 1 &&
		    ((unsigned char)v[i + n] & 0xC0) == 0x80)
			n--;
		if (i > 0) {
			buf_puts(out, eol);
			buf_putc(out, ' ');
		}
		buf_puts(out, "=?UTF-8?B?");
		base64_encode(v + i, n, out);
		buf_puts(out, "?=");
	}
	for (i = 0; !eight && i < len; i++) {
		if (v[i] == '\r')
			continue;
		if (v[i] != '\n') {
			buf_putc(out, v[i]);
			continue;
		}
		buf_puts(out, eol);
		if (i + 1 >= len || (v[i + 1] != ' ' && v[i + 1] != '\t'))
			buf_putc(out, ' ');
	}
	buf_puts(out, eol);
}

/* Where a field added :last goes: before the empty line ending the
 * header section, if any, else at the end (a line end added first if the
 * last line lacks one). */
static size_t
head_end(struct buf *h, const char *eol)
{
	const char *d = h->data;
	size_t bo = rfc5322_body_offset(h->data, h->len);

	if (bo == 1 && d[0] == '\n')
		return 0;
	if (bo == 2 && memcmp(d, "\r\n", 2) == 0)
		return 0;
	if (bo >= 2 && d[bo - 1] == '\n' && d[bo - 2] == '\n')
		return bo - 1;
	if (bo >= 4 && memcmp(d + bo - 4, "\r\n\r\n", 4) == 0)
		return bo - 2;
	if (h->len > 0 && d[h->len - 1] != '\n')
		buf_puts(h, eol);
	return h->len;
}

void
sr_addheader(struct sieve_run *s, const struct sieve_node *c)
{
	struct buf tn, tv, f;
	const char *name, *v, *eol;
	size_t len, at;

	buf_init(&tn, 0);
	buf_init(&tv, 0);
	buf_init(&f, 0);
	name = sr_str(s, c->pos[0].strs[0], &tn, NULL);
	v = sr_str(s, c->pos[1].strs[0], &tv, &len);
	if (!field_name_ok(name))
		sr_fail(s, c->line, "addheader: invalid field name '%.100s'",
		    name);
	else if (!protected_field(name) && edit_begin(s, c->line)) {
		eol = memmem(s->ehead.data, s->ehead.len, "\r\n", 2) ?
		    "\r\n" : "\n";
		field_format(name, v, len, eol, &f);
		at = c->tags.last ? head_end(&s->ehead, eol) : 0;
		buf_append(&s->ehead, f.data, f.len);	/* room */
		memmove(s->ehead.data + at + f.len, s->ehead.data + at,
		    s->ehead.len - f.len - at);
		memcpy(s->ehead.data + at, f.data, f.len);
		edit_end(s);
	}
	buf_free(&tn);
	buf_free(&tv);
	buf_free(&f);
}

/* Does field f's value match one of the patterns (none: every field)? */
static int
field_matches(struct sieve_run *s, const struct sieve_node *c,
    const struct rfc5322_field *f, const struct sieve_strs *pat)
{
	struct buf v;
	size_t k;
	int r = 0;

	if (pat->n == 0)
		return 1;
	buf_init(&v, 0);
	rfc5322_decode(f->value, f->value_len, &v);
	while (v.len > 0 && (v.data[v.len - 1] == ' ' ||
	    v.data[v.len - 1] == '\t'))
		v.len--;
	for (k = 0; k < pat->n && r == 0; k++)
		r = sieve_match(c->tags.match, c->tags.rel, c->tags.cmp,
		    buf_cstr(&v), v.len, pat->v[k], pat->len[k], &s->budget,
		    NULL);
	buf_free(&v);
	if (r < 0)
		sr_fail(s, c->line, ":matches budget exhausted");
	return r;
}

void
sr_deleteheader(struct sieve_run *s, const struct sieve_node *c)
{
	struct rfc5322_iter it;
	struct rfc5322_field f;
	struct sieve_strs pat = { 0 };
	struct buf tn;
	const char *name;
	size_t n = 0, k = 0, want = 0;
	int r;

	buf_init(&tn, 0);
	name = sr_str(s, c->pos[0].strs[0], &tn, NULL);
	if (!field_name_ok(name)) {
		sr_fail(s, c->line, "deleteheader: invalid field name "
		    "'%.100s'", name);
		goto out;
	}
	if (protected_field(name) || !edit_begin(s, c->line))
		goto out;
	if (c->npos == 2)
		sr_strs(s, &c->pos[1], &pat);
	rfc5322_iter_init(&it, s->ehead.data, s->ehead.len);
	while (rfc5322_iter_next(&it, &f) == 1)
		n += rfc5322_field_is(&f, name);
	if (c->tags.index > n)		/* no such occurrence */
		n = 0;
	else if (c->tags.index != 0)
		want = c->tags.last ? n + 1 - c->tags.index : c->tags.index;
	rfc5322_iter_init(&it, s->ehead.data, s->ehead.len);
	while (n > 0 && rfc5322_iter_next(&it, &f) == 1) {
		if (!rfc5322_field_is(&f, name) ||
		    (want != 0 && ++k != want) ||
		    (r = field_matches(s, c, &f, &pat)) == 0)
			continue;
		if (r < 0)
			break;
		/* the iterator reads on past the cut: move its position */
		memmove(s->ehead.data + f.off, s->ehead.data + f.off + f.len,
		    s->ehead.len - f.off - f.len);
		s->ehead.len -= f.len;
		s->ehead.data[s->ehead.len] = '\0';
		it.data = s->ehead.data;
		it.len = s->ehead.len;
		it.pos -= f.len;
	}
	sr_strs_free(&pat);
	edit_end(s);
out:
	buf_free(&tn);
}

