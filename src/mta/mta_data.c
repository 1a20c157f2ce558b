/*
 * mta_data - DATA stream encoding for the outbound client (see
 * mta_data.h). Called by mta_session.c, test-mta-data and fuzz-smtp-reply.
 *
 * Trust: input is stored mail, output goes to a remote server; the only
 * property that matters for safety is that the end marker appears once,
 * at the end, which mta_data.h explains.
 */
#include <string.h>

#include "mta/mta_data.h"
#include "util/buf.h"

void
mta_data_init(struct mta_data *d, const char *content, size_t len)
{
	memset(d, 0, sizeof(*d));
	d->content = content ? content : "";
	d->len = content ? len : 0;
	d->bol = true;
}

bool
mta_data_encode(struct mta_data *d, struct buf *out, size_t chunk)
{
	size_t end = d->len - d->off > chunk ? d->off + chunk : d->len;
	size_t start = d->off;	/* run of bytes copied as they are */
	char c;

	if (d->done)
		return true;
	for (; d->off < end; d->off++) {
		c = d->content[d->off];
		if (d->bol && c == '.') {
			buf_append(out, d->content + start, d->off - start);
			buf_putc(out, '.');
			start = d->off;
		}
		d->bol = false;
		if (c == '\n' || (c == '\r' && d->off + 1 < d->len &&
		    d->content[d->off + 1] == '.')) {
			buf_append(out, d->content + start, d->off - start);
			buf_append(out, "\r\n", 2);
			start = d->off + 1;
			d->bol = true;
		}
	}
	buf_append(out, d->content + start, d->off - start);
	if (d->off < d->len)
		return false;
	if (!d->bol)
		buf_append(out, "\r\n", 2);
	buf_append(out, ".\r\n", 3);
	d->done = true;
	return true;
}

size_t
mta_data_wire_size(const char *content, size_t len)
{
	size_t n = len;
	const char *p = content, *e = content + len;

	if (len == 0)
		return 0;
	while ((p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
		n++;
		p++;
	}
	if (content[len - 1] != '\n')
		n += 2;
	return n;
}
