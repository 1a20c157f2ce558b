/*
 * mta_data - DATA stream encoding for the outbound client (see
 * mta_data.h). Called by mta_tx.c, mta_engine.c (wire size while the
 * queue file is checked), test-mta-data and fuzz-smtp-reply.
 *
 * Trust: input is stored mail, output goes to a remote server; the only
 * property that matters for safety is that the end marker appears once,
 * at the end, which mta_data.h explains.
 */
#include <string.h>

#include "mta/mta_data.h"
#include "util/buf.h"

void
mta_data_start(struct mta_data *d)
{
	memset(d, 0, sizeof(*d));
	d->bol = true;
}

void
mta_data_feed(struct mta_data *d, const char *in, size_t n, struct buf *out)
{
	size_t i = 0, start;	/* in[start..i): run copied as it is */
	char c;

	if (n == 0 || d->done)
		return;
	if (d->cr) {
		/* the CR held back from the last piece */
		d->cr = false;
		if (in[0] == '.') {
			buf_append(out, "\r\n", 2);
			d->bol = true;
		} else
			buf_putc(out, '\r');
	}
	for (start = 0; i < n; i++) {
		c = in[i];
		if (d->bol && c == '.') {
			buf_append(out, in + start, i - start);
			buf_putc(out, '.');
			start = i;
		}
		d->bol = false;
		if (c == '\n' || (c == '\r' && i + 1 < n && in[i + 1] == '.')) {
			buf_append(out, in + start, i - start);
			buf_append(out, "\r\n", 2);
			start = i + 1;
			d->bol = true;
		} else if (c == '\r' && i + 1 == n) {
			buf_append(out, in + start, i - start);
			start = n;
			d->cr = true;
		}
	}
	buf_append(out, in + start, n - start);
}

void
mta_data_end(struct mta_data *d, struct buf *out)
{
	if (d->done)
		return;
	if (d->cr) {
		buf_putc(out, '\r');
		d->cr = false;
		d->bol = false;
	}
	if (!d->bol)
		buf_append(out, "\r\n", 2);
	buf_append(out, ".\r\n", 3);
	d->done = true;
}

void
mta_data_init(struct mta_data *d, const char *content, size_t len)
{
	mta_data_start(d);
	d->content = content ? content : "";
	d->len = content ? len : 0;
}

bool
mta_data_encode(struct mta_data *d, struct buf *out, size_t chunk)
{
	size_t n = d->len - d->off > chunk ? chunk : d->len - d->off;

	if (d->done)
		return true;
	mta_data_feed(d, d->content + d->off, n, out);
	d->off += n;
	if (d->off < d->len)
		return false;
	mta_data_end(d, out);
	return true;
}

void
mta_wire_count_feed(struct mta_wire_count *w, const char *p, size_t n)
{
	const char *e = p + n;

	if (n == 0)
		return;
	w->len += n;
	w->lf_end = e[-1] == '\n';
	while ((p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
		w->lf++;
		p++;
	}
}

size_t
mta_wire_count_total(const struct mta_wire_count *w)
{
	if (w->len == 0)
		return 0;
	return w->len + w->lf + (w->lf_end ? 0 : 2);
}

size_t
mta_data_wire_size(const char *content, size_t len)
{
	struct mta_wire_count w = { 0, 0, false };

	mta_wire_count_feed(&w, content, len);
	return mta_wire_count_total(&w);
}
