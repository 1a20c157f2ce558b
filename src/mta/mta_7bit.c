/*
 * mta_7bit - streaming 8-bit to 7-bit downgrade for a peer without
 * 8BITMIME (see mta_7bit.h for what is converted and what is refused).
 * Called by mta_body.c; tested by test-mta-7bit.
 *
 * Trust: input is stored mail from anyone; every buffer is bounded by the
 * limits in mta_7bit.h and every field value is parsed within its line.
 */
#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "mta/mta_7bit.h"

#define ERR_HEADER	"5.6.3 message has 8-bit octets in a header, " \
			"which a peer without 8BITMIME cannot take"
#define ERR_PART	"5.6.3 message has 8-bit octets in a part that " \
			"cannot be converted to 7-bit"
#define ERR_LIMIT	"5.6.3 message structure too large to convert " \
			"to 7-bit (line, header or nesting limit)"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void
mta_7bit_start(struct mta_7bit *e)
{
	memset(e, 0, sizeof(*e));
	buf_init(&e->line, MTA7_LINE_MAX + 1);
	buf_init(&e->hdr, MTA7_HEADER_MAX);
	e->in_header = true;
	e->top = true;
}

void
mta_7bit_free(struct mta_7bit *e)
{
	buf_free(&e->line);
	buf_free(&e->hdr);
}

static bool
has_8bit(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] & 0x80)
			return true;
	return false;
}

static int
fail(struct mta_7bit *e, const char *why)
{
	if (e->error == NULL)
		e->error = why;
	return -1;
}

/* ---- base64 ---- */

static void
b64_byte(struct mta_7bit *e, unsigned char c, struct buf *out)
{
	unsigned v;
	char q[4];

	e->rem[e->nrem++] = c;
	if (e->nrem < 3)
		return;
	v = (unsigned)e->rem[0] << 16 | (unsigned)e->rem[1] << 8 | e->rem[2];
	q[0] = b64[v >> 18 & 63];
	q[1] = b64[v >> 12 & 63];
	q[2] = b64[v >> 6 & 63];
	q[3] = b64[v & 63];
	buf_append(out, q, 4);
	e->nrem = 0;
	e->col += 4;
	if (e->col >= 76) {
		buf_putc(out, '\n');
		e->col = 0;
	}
}

/* The last group with its padding; keep_lf: the held line end is the
 * part's own (end of message), not the delimiter's. */
static void
b64_flush(struct mta_7bit *e, bool keep_lf, struct buf *out)
{
	if (keep_lf && e->lf_pending) {
		b64_byte(e, '\r', out);
		b64_byte(e, '\n', out);
	}
	e->lf_pending = false;
	if (e->nrem > 0) {
		unsigned v = (unsigned)e->rem[0] << 16 |
		    (e->nrem > 1 ? (unsigned)e->rem[1] << 8 : 0);
		char q[4] = { b64[v >> 18 & 63], b64[v >> 12 & 63],
		    e->nrem > 1 ? b64[v >> 6 & 63] : '=', '=' };
		buf_append(out, q, 4);
		e->col += 4;
		e->nrem = 0;
	}
	if (e->col > 0)
		buf_putc(out, '\n');
	e->col = 0;
}

static void
b64_line(struct mta_7bit *e, const char *p, size_t n, bool lf,
    struct buf *out)
{
	if (e->lf_pending) {
		b64_byte(e, '\r', out);
		b64_byte(e, '\n', out);
		e->lf_pending = false;
	}
	for (size_t i = 0; i < n; i++)
		b64_byte(e, (unsigned char)p[i], out);
	e->lf_pending = lf;
}

/* ---- quoted-printable (RFC 2045 6.7) ---- */

static void
qp_line(const char *p, size_t n, bool lf, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		bool lit = (c >= 33 && c <= 126 && c != '=') ||
		    ((c == ' ' || c == '\t') && i + 1 < n);
		size_t w = lit ? 1 : 3;

		if (col + w > 75) {	/* soft break: "=" ends at column 76 */
			buf_append(out, "=\n", 2);
			col = 0;
		}
		if (lit)
			buf_putc(out, (char)c);
		else {
			char q[3] = { '=', hex[c >> 4], hex[c & 15] };
			buf_append(out, q, 3);
		}
		col += w;
	}
	if (lf)
		buf_putc(out, '\n');
}

/* ---- header sections ---- */

/* The value of field name in header h (unfolded into v, lowercased when
 * lower), or false. Only the first occurrence counts. */
static bool
field_value(const struct buf *h, const char *name, char *v, size_t vmax)
{
	size_t nl = strlen(name), i = 0, o = 0;
	const char *p = h->data;

	while (i < h->len) {
		size_t e = i;
		while (e < h->len && p[e] != '\n')
			e++;
		if (e - i > nl && strncasecmp(p + i, name, nl) == 0 &&
		    p[i + nl] == ':') {
			size_t j = i + nl + 1;
			for (;;) {
				for (; j < e && o + 1 < vmax; j++)
					if (p[j] != '\r')
						v[o++] = p[j];
				if (e + 1 >= h->len || (p[e + 1] != ' ' &&
				    p[e + 1] != '\t'))
					break;
				j = e + 1;	/* a continuation line */
				e = j;
				while (e < h->len && p[e] != '\n')
					e++;
			}
			v[o] = '\0';
			return true;
		}
		i = e + 1;
	}
	return false;
}

/* The first token of a value ("text/plain; ..." → "text/plain"),
 * lowercased into t. */
static void
first_token(const char *v, char *t, size_t tmax)
{
	size_t o = 0;

	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v && *v != ';' && *v != ' ' && *v != '\t' && *v != '(' &&
	    o + 1 < tmax; v++)
		t[o++] = (char)tolower((unsigned char)*v);
	t[o] = '\0';
}

/* The boundary parameter of a Content-Type value, or false. */
static bool
boundary_param(const char *v, char *b)
{
	const char *p = v;
	size_t o = 0;

	while ((p = strchr(p, ';')) != NULL) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, "boundary", 8) != 0)
			continue;
		p += 8;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p++ != '=')
			continue;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '"') {
			for (p++; *p && *p != '"' && o < MTA7_BOUNDARY_MAX;)
				b[o++] = *p++;
		} else {
			for (; *p && *p != ';' && *p != ' ' && *p != '\t' &&
			    o < MTA7_BOUNDARY_MAX;)
				b[o++] = *p++;
		}
		b[o] = '\0';
		return o > 0;
	}
	return false;
}

/* Copies header h to out without its Content-Transfer-Encoding fields,
 * then adds the new one (and MIME-Version at the top when missing). */
static void
rewrite_header(struct mta_7bit *e, const char *cte, struct buf *out)
{
	const char *p = e->hdr.data;
	size_t i = 0;
	bool skip = false;
	char dummy[4];

	while (i < e->hdr.len) {
		size_t n = i;
		while (n < e->hdr.len && p[n] != '\n')
			n++;
		if (n < e->hdr.len)
			n++;
		if (p[i] != ' ' && p[i] != '\t')
			skip = n - i > 26 && strncasecmp(p + i,
			    "Content-Transfer-Encoding:", 26) == 0;
		if (!skip)
			buf_append(out, p + i, n - i);
		i = n;
	}
	if (e->top && !field_value(&e->hdr, "MIME-Version", dummy,
	    sizeof(dummy)))
		buf_puts(out, "MIME-Version: 1.0\n");
	buf_printf(out, "Content-Transfer-Encoding: %s\n", cte);
}

/* The header section is complete (without its empty line): decide how
 * the part is sent, write the header and the empty line. */
static int
end_header(struct mta_7bit *e, struct buf *out)
{
	char ct[1024], ctev[256], type[128], cte[64];
	char b[MTA7_BOUNDARY_MAX + 1];
	const char *newcte = NULL;
	bool eight;

	if (has_8bit(e->hdr.data, e->hdr.len))
		return fail(e, ERR_HEADER);
	if (!field_value(&e->hdr, "Content-Type", ct, sizeof(ct)))
		strcpy(ct, "text/plain");
	first_token(ct, type, sizeof(type));
	cte[0] = '\0';
	if (field_value(&e->hdr, "Content-Transfer-Encoding", ctev,
	    sizeof(ctev)))
		first_token(ctev, cte, sizeof(cte));
	eight = strcmp(cte, "8bit") == 0 || strcmp(cte, "binary") == 0;
	e->in_header = false;
	e->enc = MTA7_COPY;
	if (strncmp(type, "multipart/", 10) == 0 && boundary_param(ct, b)) {
		if (e->depth == MTA7_DEPTH)
			return fail(e, ERR_LIMIT);
		strcpy(e->bnd[e->depth++], b);
		newcte = eight ? "7bit" : NULL;
	} else if (strcmp(type, "message/rfc822") == 0) {
		newcte = eight ? "7bit" : NULL;
		e->in_header = true;	/* the enclosed message's header */
	} else if (strcmp(cte, "base64") == 0 ||
	    strcmp(cte, "quoted-printable") == 0) {
		/* copied */
	} else if (strncmp(type, "text/", 5) == 0 ||
	    strncmp(type, "multipart/", 10) == 0) {
		e->enc = MTA7_QP;
		newcte = "quoted-printable";
	} else {
		e->enc = MTA7_B64;
		newcte = "base64";
	}
	if (newcte != NULL)
		rewrite_header(e, newcte, out);
	else
		buf_append(out, e->hdr.data, e->hdr.len);
	buf_putc(out, '\n');
	e->top = false;
	buf_reset(&e->hdr);
	return 0;
}

/* ---- lines ---- */

/* The open multipart whose delimiter line l is (-1: none); *close when
 * it is the close delimiter. */
static int
delimiter_of(const struct mta_7bit *e, const char *l, size_t n, bool *close)
{
	while (n > 0 && (l[n - 1] == ' ' || l[n - 1] == '\t' ||
	    l[n - 1] == '\r'))
		n--;
	if (n < 3 || l[0] != '-' || l[1] != '-')
		return -1;
	for (int k = e->depth - 1; k >= 0; k--) {
		size_t bl = strlen(e->bnd[k]);
		if (n - 2 < bl || memcmp(l + 2, e->bnd[k], bl) != 0)
			continue;
		if (n - 2 == bl) {
			*close = false;
			return k;
		}
		if (n - 2 == bl + 2 && l[bl + 2] == '-' && l[bl + 3] == '-') {
			*close = true;
			return k;
		}
	}
	return -1;
}

static void
flush_part(struct mta_7bit *e, bool end, struct buf *out)
{
	if (e->enc == MTA7_B64)
		b64_flush(e, end, out);
}

/* One line, lf: it ended in LF (only the message's last may not). */
static int
do_line(struct mta_7bit *e, const char *l, size_t n, bool lf,
    struct buf *out)
{
	bool close = false;
	int k = delimiter_of(e, l, n, &close);

	if (k >= 0) {
		flush_part(e, false, out);
		if (e->in_header && e->hdr.len > 0 && end_header(e, out) < 0)
			return -1;
		e->depth = close ? k : k + 1;
		e->in_header = !close;
		e->enc = MTA7_COPY;
		buf_reset(&e->hdr);
		buf_append(out, l, n);
		if (lf)
			buf_putc(out, '\n');
		return 0;
	}
	if (e->in_header) {
		if (n == 0 || (n == 1 && l[0] == '\r'))
			return end_header(e, out);
		if (buf_append(&e->hdr, l, n) < 0 ||
		    buf_putc(&e->hdr, '\n') < 0)
			return fail(e, ERR_LIMIT);
		return 0;
	}
	switch (e->enc) {
	case MTA7_QP:
		qp_line(l, n, lf, out);
		break;
	case MTA7_B64:
		b64_line(e, l, n, lf, out);
		break;
	case MTA7_COPY:
		if (has_8bit(l, n))
			return fail(e, ERR_PART);
		buf_append(out, l, n);
		if (lf)
			buf_putc(out, '\n');
		break;
	}
	return 0;
}

int
mta_7bit_feed(struct mta_7bit *e, const char *in, size_t n, struct buf *out)
{
	const char *p = in, *end = in + n, *nl;

	if (e->error)
		return -1;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL) {
			if (buf_append(&e->line, p, (size_t)(end - p)) < 0 ||
			    e->line.len > MTA7_LINE_MAX)
				return fail(e, ERR_LIMIT);
			return 0;
		}
		if (e->line.len > 0) {
			if (buf_append(&e->line, p, (size_t)(nl - p)) < 0 ||
			    e->line.len > MTA7_LINE_MAX)
				return fail(e, ERR_LIMIT);
			if (do_line(e, e->line.data, e->line.len, true,
			    out) < 0)
				return -1;
			buf_reset(&e->line);
		} else if ((size_t)(nl - p) > MTA7_LINE_MAX)
			return fail(e, ERR_LIMIT);
		else if (do_line(e, p, (size_t)(nl - p), true, out) < 0)
			return -1;
		p = nl + 1;
	}
	return 0;
}

int
mta_7bit_end(struct mta_7bit *e, struct buf *out)
{
	if (e->error)
		return -1;
	if (e->line.len > 0 && do_line(e, e->line.data, e->line.len, false,
	    out) < 0)
		return -1;
	buf_reset(&e->line);
	if (e->in_header && e->hdr.len > 0) {
		/* a message that is all header */
		if (has_8bit(e->hdr.data, e->hdr.len))
			return fail(e, ERR_HEADER);
		buf_append(out, e->hdr.data, e->hdr.len);
		buf_reset(&e->hdr);
	}
	flush_part(e, true, out);
	return 0;
}
