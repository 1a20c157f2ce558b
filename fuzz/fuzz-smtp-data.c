/*
 * fuzz-smtp-data - libFuzzer target for the DATA and BDAT decoders.
 *
 * Input: byte 0 picks the mode (bit 0: BDAT) and a size limit (bits 1-3),
 * byte 1 seeds the chunk sizes, the rest is the wire stream. The stream is
 * decoded whole, in fuzzer-chosen chunks and one byte at a time, and every
 * run must give identical output, counters and flags. The whole run is
 * also checked against a deliberately naive reference decoder (find the
 * first CRLF "." CRLF, split at real CRLFs, drop a leading dot per line),
 * including the header section and Received: count. The decoded bytes
 * then go into the message sink (msg/spool.h) in fuzzer-chosen pieces,
 * which must keep exactly the header section the decoder found.
 *
 * Trust: test code.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "msg/spool.h"
#include "smtp/smtp_data.h"
#include "util/buf.h"
#include "util/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

struct run {
	struct buf		out;
	size_t			consumed;
	bool			done;
	struct smtp_data	d;
};

/* chunk: 0 whole, 1 byte at a time, else sizes from a PRNG seeded so. */
static void
decode(bool bdat, const char *in, size_t len, uint64_t max, unsigned seed,
    int plan, struct run *r)
{
	uint32_t x = seed * 2654435761u + 1;
	size_t pos = 0, n, used;

	buf_init(&r->out, 0);
	smtp_data_init(&r->d, max);
	r->consumed = 0;
	r->done = false;
	while (pos < len && !r->done) {
		if (plan == 0)
			n = len - pos;
		else if (plan == 1)
			n = 1;
		else {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			n = 1 + x % (seed % 64 + 1);
			if (n > len - pos)
				n = len - pos;
		}
		if (bdat) {
			smtp_bdat_feed(&r->d, in + pos, n, &r->out);
			used = n;
		} else {
			used = smtp_data_feed(&r->d, in + pos, n, &r->out,
			    &r->done);
			CHECK(used == n || r->done);
		}
		r->consumed += used;
		pos += n;
	}
	if (bdat)
		smtp_bdat_finish(&r->d, &r->out);
}

static void
same(const struct run *a, const struct run *b)
{
	CHECK(a->out.len == b->out.len);
	CHECK(memcmp(buf_cstr(&a->out), buf_cstr(&b->out), a->out.len) == 0);
	CHECK(a->consumed == b->consumed && a->done == b->done);
	CHECK(a->d.size == b->d.size && a->d.too_big == b->d.too_big);
	CHECK(a->d.nul == b->d.nul && a->d.bare_lf == b->d.bare_lf &&
	    a->d.bare_cr == b->d.bare_cr && a->d.lines == b->d.lines);
	CHECK(a->d.in_header == b->d.in_header &&
	    a->d.header_size == b->d.header_size &&
	    a->d.received == b->d.received);
}

/* ---- the naive reference -------------------------------------------- */

struct ref {
	struct buf	out;
	bool		done, nul, bare_lf, bare_cr;
	size_t		consumed;
};

/* Decoded content of a complete DATA stream, or done=false. */
static void
ref_data(const char *in, size_t len, struct ref *f)
{
	char *s = xmalloc(len + 2);
	const char *end, *seg, *crlf, *content;
	size_t clen, i;

	memset(f, 0, sizeof(*f));
	buf_init(&f->out, 0);
	memcpy(s, "\r\n", 2);
	memcpy(s + 2, in, len);
	end = memmem(s, len + 2, "\r\n.\r\n", 5);
	if (end == NULL) {
		free(s);
		return;
	}
	f->done = true;
	f->consumed = (size_t)(end - s) + 3;
	content = s + 2;
	clen = (size_t)(end - s);
	for (seg = content; seg <= content + clen; seg = crlf + 2) {
		crlf = memmem(seg, (size_t)(content + clen - seg), "\r\n", 2);
		if (crlf == NULL)
			crlf = content + clen;
		if (seg < crlf && *seg == '.')
			seg++;
		buf_append(&f->out, seg, (size_t)(crlf - seg));
		if (crlf < content + clen)
			buf_putc(&f->out, '\n');
		else
			break;
	}
	for (i = 0; i < clen; i++) {
		if (content[i] == '\0')
			f->nul = true;
		if (content[i] == '\n' && (i == 0 || content[i - 1] != '\r'))
			f->bare_lf = true;
		if (content[i] == '\r' && content[i + 1] != '\n')
			f->bare_cr = true;
	}
	free(s);
}

static void
ref_bdat(const char *in, size_t len, struct ref *f)
{
	size_t i;

	memset(f, 0, sizeof(*f));
	buf_init(&f->out, 0);
	f->done = true;
	f->consumed = len;
	for (i = 0; i < len; i++) {
		if (in[i] == '\0')
			f->nul = true;
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
			f->bare_lf = true;
		if (in[i] == '\r' && (i + 1 == len || in[i + 1] != '\n'))
			f->bare_cr = true;
		if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n')
			continue;
		buf_putc(&f->out, in[i]);
	}
}

/* Header section of decoded text: Received: count and body offset. */
static void
ref_header(const char *s, size_t len, unsigned *received, bool *in_header,
    uint64_t *header_size)
{
	const char *line = s, *nl, *end = s + len;
	size_t n, k;

	*received = 0;
	*in_header = true;
	*header_size = 0;
	while (line < end) {
		nl = memchr(line, '\n', (size_t)(end - line));
		n = nl ? (size_t)(nl - line) : (size_t)(end - line);
		if (nl && n == 0) {
			*in_header = false;
			*header_size = (uint64_t)(nl + 1 - s);
			return;
		}
		if (n >= 9 && strncasecmp(line, "received", 8) == 0) {
			for (k = 8; k < n && (line[k] == ' ' || line[k] == '\t');
			    k++)
				;
			if (k < n && line[k] == ':')
				(*received)++;
		}
		if (nl == NULL)
			break;
		line = nl + 1;
	}
}

static void
check_reference(bool bdat, const char *in, size_t len, const struct run *r)
{
	struct ref f;
	unsigned received;
	bool in_header;
	uint64_t header_size;

	(bdat ? ref_bdat : ref_data)(in, len, &f);
	CHECK(r->done == f.done || bdat);
	if (f.done) {
		CHECK(r->consumed == f.consumed);
		CHECK(r->d.size == f.out.len);
		CHECK(r->d.nul == f.nul && r->d.bare_lf == f.bare_lf &&
		    r->d.bare_cr == f.bare_cr);
		/* clamped output is exactly a prefix of the full one */
		CHECK(r->out.len <= f.out.len);
		CHECK(r->d.too_big == (r->out.len < f.out.len));
		CHECK(memcmp(buf_cstr(&r->out), buf_cstr(&f.out),
		    r->out.len) == 0);
		ref_header(buf_cstr(&f.out), f.out.len, &received, &in_header,
		    &header_size);
		CHECK(r->d.received == received);
		CHECK(r->d.in_header == in_header);
		CHECK(r->d.header_size == header_size);
	}
	buf_free(&f.out);
}

/* The sink's header section agrees with the decoder's (no write happens:
 * at most one buffer is fed and never flushed). */
static void
check_sink(const struct run *r, unsigned seed)
{
	struct msg_spool *sp = msg_spool_new(NULL, "/nonexistent", NULL, NULL);
	size_t fed = 0, n, room, old, hlen, total = r->out.len;
	uint32_t x = seed * 2654435761u + 7;
	const char *head;
	struct buf *b;

	if (total > MSG_SPOOL_BUF - 1)
		total = MSG_SPOOL_BUF - 1;
	while (fed < total) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		n = 1 + x % 97;
		if (n > total - fed)
			n = total - fed;
		b = msg_spool_buf(sp, &room);
		CHECK(room > n);
		old = b->len;
		buf_append(b, r->out.data + fed, n);
		msg_spool_wrote(sp, old);
		fed += n;
	}
	head = msg_spool_head(sp, &hlen);
	CHECK(msg_spool_size(sp) == fed);
	CHECK(hlen <= fed && memcmp(head, buf_cstr(&r->out), hlen) == 0);
	if (!r->d.in_header && r->d.header_size <= fed)
		CHECK(hlen == r->d.header_size && msg_spool_head_done(sp));
	else if (fed < MSG_HEAD_MAX)
		CHECK(hlen == fed && !msg_spool_head_done(sp));
	msg_spool_free(&sp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t maxes[8] = { 0, 0, 0, 0, 1, 7, 64, 1000 };
	struct run whole, chunked, bytes;
	const char *in;
	size_t len;
	bool bdat;
	uint64_t max;

	if (size < 2)
		return 0;
	bdat = data[0] & 1;
	max = maxes[(data[0] >> 1) & 7];
	in = (const char *)data + 2;
	len = size - 2;

	decode(bdat, in, len, max, data[1], 0, &whole);
	decode(bdat, in, len, max, data[1], 1, &bytes);
	decode(bdat, in, len, max, data[1], 2, &chunked);
	same(&whole, &bytes);
	same(&whole, &chunked);
	CHECK(whole.d.too_big == (max != 0 && whole.d.size > max));
	CHECK(whole.out.len == (whole.d.too_big ? max : whole.d.size));
	check_reference(bdat, in, len, &whole);
	if (!whole.d.too_big)
		check_sink(&whole, data[1]);
	buf_free(&whole.out);
	buf_free(&bytes.out);
	buf_free(&chunked.out);
	return 0;
}
