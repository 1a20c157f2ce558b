/*
 * smtp_data - DATA and BDAT body decoders (see smtp_data.h).
 *
 * Trust: untrusted bytes from the client. No I/O, no allocation of our own:
 * output goes to the caller's buf, clamped to its max and to d->max.
 *
 * Why CRLF "." CRLF and nothing else ends DATA: in 2023 "SMTP smuggling"
 * showed that when a receiver accepts "\n.\n" (or "\n.\r\n", "\r.\r") as
 * the end of data while the sender's MTA passes it through as content, a
 * second, forged message can ride inside the first. RFC 5321 4.1.1.4 only
 * defines CRLF "." CRLF, so we treat everything else as content, and only a
 * line that began after a real CRLF gets a leading dot removed (the sender
 * stuffed by the same definition of a line). The state machine holds every
 * byte whose meaning depends on the next one (CR, a line-start dot), so a
 * chunk boundary anywhere changes nothing.
 */
#include <ctype.h>
#include <string.h>

#include "smtp/smtp_data.h"
#include "util/buf.h"

enum data_state {
	DS_BOL_CRLF,	/* line start after a real CRLF, or start of data */
	DS_MID,		/* inside a line (or after a bare LF) */
	DS_CR,		/* a CR is pending */
	DS_DOT,		/* DS_BOL_CRLF then "."; the dot is pending */
	DS_DOT_CR,	/* DS_BOL_CRLF then "." CR; both pending */
	DS_DONE,	/* "." CRLF consumed */
};

/* hdr_match: how much of "received" this line's name has matched so far;
   HDR_NO once it cannot be a Received field. */
#define HDR_NO		(-1)
static const char received_name[] = "received";
#define RECEIVED_LEN	(sizeof(received_name) - 1)

void
smtp_data_init(struct smtp_data *d, uint64_t max)
{
	memset(d, 0, sizeof(*d));
	d->state = DS_BOL_CRLF;
	d->max = max;
	d->in_header = true;
	d->hdr_bol = true;
}

/* Follows the header section of the decoded stream; offset is the decoded
   position of p[0]. */
static void
header_scan(struct smtp_data *d, const char *p, size_t n, uint64_t offset)
{
	size_t i;
	int c;

	for (i = 0; i < n && d->in_header; i++) {
		c = tolower((unsigned char)p[i]);
		if (d->hdr_bol) {
			if (c == '\n') {
				d->in_header = false;
				d->header_size = offset + i + 1;
				break;
			}
			d->hdr_bol = false;
			d->hdr_match = 0;
		}
		if (c == '\n') {
			d->hdr_bol = true;
		} else if (d->hdr_match == HDR_NO) {
			continue;
		} else if ((size_t)d->hdr_match < RECEIVED_LEN) {
			d->hdr_match = c == received_name[d->hdr_match] ?
			    d->hdr_match + 1 : HDR_NO;
		} else if (c == ':') {
			d->received++;
			d->hdr_match = HDR_NO;
		} else if (c != ' ' && c != '\t') {
			d->hdr_match = HDR_NO;
		}
	}
}

/* Writes n decoded bytes: counts, flags, and stores what still fits. */
static void
emit(struct smtp_data *d, const char *p, size_t n, struct buf *out)
{
	const char *nl;
	size_t fit = n;

	if (d->in_header)
		header_scan(d, p, n, d->size);
	if (memchr(p, '\0', n) != NULL)
		d->nul = true;
	for (nl = p; (nl = memchr(nl, '\n', n - (size_t)(nl - p))) != NULL;
	    nl++)
		d->lines++;
	if (!d->too_big) {
		if (d->max != 0 && n > d->max - d->size) {
			fit = (size_t)(d->max - d->size);
			d->too_big = true;
		}
		if (out->max != 0 && fit > out->max - out->len) {
			fit = out->max - out->len;
			d->too_big = true;
		}
		if (fit > 0 && buf_append(out, p, fit) < 0)
			d->too_big = true;
	}
	d->size += n;
}

/* Length of the leading run of in[0..len) that holds no CR or LF. */
static size_t
plain_run(const char *in, size_t len)
{
	size_t i;

	for (i = 0; i < len && in[i] != '\r' && in[i] != '\n'; i++)
		;
	return i;
}

/*
 * The body's common case, many lines at once: from DS_MID, every
 * "text CRLF" whose next byte is known and is not a line-start dot (DATA)
 * becomes "text LF" in a stack buffer that is emitted whole. One emit per
 * 16 KiB instead of two per line; what it stops at (a CR without its LF
 * or lookahead, a dot line, no CR) the byte machine handles. The header
 * section is left to the machine: header_scan follows it line by line.
 * Returns the bytes consumed (0: nothing for the fast path).
 */
static size_t
body_lines(struct smtp_data *d, const char *in, size_t len, struct buf *out,
    bool data_mode)
{
	char tmp[16384];
	const char *p = in, *end = in + len, *cr;
	size_t t = 0;
	unsigned long crlf = 0, lines;

	while ((cr = memchr(p, '\r', (size_t)(end - p))) != NULL &&
	    end - cr >= 3 && cr[1] == '\n' && !(data_mode && cr[2] == '.') &&
	    t + (size_t)(cr - p) + 1 <= sizeof(tmp)) {
		memcpy(tmp + t, p, (size_t)(cr - p));
		t += (size_t)(cr - p);
		tmp[t++] = '\n';
		crlf++;
		p = cr + 2;
	}
	if (t == 0)
		return 0;
	lines = d->lines;
	emit(d, tmp, t, out);
	if (d->lines - lines != crlf)
		d->bare_lf = true;	/* an LF inside the text */
	return (size_t)(p - in);
}

/* One step of the machine on in[0..len), len > 0. Returns the bytes
   consumed (0 when only the state changed and in[0] must be seen again). */
static size_t
step(struct smtp_data *d, const char *in, size_t len, struct buf *out,
    bool data_mode)
{
	size_t n;

	switch (d->state) {
	case DS_BOL_CRLF:
		d->state = DS_MID;
		if (data_mode && in[0] == '.') {
			d->state = DS_DOT;
			return 1;
		}
		return 0;
	case DS_MID:
		if (!d->in_header &&
		    (n = body_lines(d, in, len, out, data_mode)) > 0)
			return n;
		if ((n = plain_run(in, len)) > 0) {
			emit(d, in, n, out);
			return n;
		}
		if (in[0] == '\r') {
			d->state = DS_CR;
		} else {
			d->bare_lf = true;
			emit(d, "\n", 1, out);
		}
		return 1;
	case DS_CR:
		if (in[0] == '\n') {
			emit(d, "\n", 1, out);
			d->state = data_mode ? DS_BOL_CRLF : DS_MID;
			return 1;
		}
		break;
	case DS_DOT:
		/* not the end: the stuffed dot is dropped */
		d->state = in[0] == '\r' ? DS_DOT_CR : DS_MID;
		return d->state == DS_DOT_CR ? 1 : 0;
	case DS_DOT_CR:
		if (in[0] == '\n') {
			d->state = DS_DONE;
			return 1;
		}
		break;
	default:
		return len;
	}
	/* a pending CR followed by something other than LF */
	d->bare_cr = true;
	emit(d, "\r", 1, out);
	d->state = DS_MID;
	return 0;
}

size_t
smtp_data_feed(struct smtp_data *d, const char *in, size_t len,
    struct buf *out, bool *done)
{
	size_t i = 0;

	while (i < len && d->state != DS_DONE)
		i += step(d, in + i, len - i, out, true);
	*done = d->state == DS_DONE;
	return i;
}

bool
smtp_data_done(const struct smtp_data *d)
{
	return d->state == DS_DONE;
}

void
smtp_bdat_feed(struct smtp_data *d, const char *in, size_t len,
    struct buf *out)
{
	size_t i = 0;

	while (i < len)
		i += step(d, in + i, len - i, out, false);
}

void
smtp_bdat_finish(struct smtp_data *d, struct buf *out)
{
	if (d->state == DS_CR) {
		d->bare_cr = true;
		emit(d, "\r", 1, out);
	}
	d->state = DS_MID;
}
