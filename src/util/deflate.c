/*
 * deflate - raw deflate streams in both directions over zlib (see
 * deflate.h).
 *
 * Trust: inflates untrusted bytes into bounded room; zlib checks the
 * stream. Out-of-memory inside zlib is fatal like any allocation here.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <zlib.h>

#include "util/deflate.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct deflate {
	z_stream	 in;
	z_stream	 out;
	bool		 dead;		/* the inflate side failed */
};

/* Raw deflate: negative window bits, no zlib header or checksum. */
#define DEFLATE_WBITS	(-15)
#define DEFLATE_CHUNK	16384

struct deflate *
deflate_new(void)
{
	struct deflate *d = xcalloc(1, sizeof(*d));

	if (inflateInit2(&d->in, DEFLATE_WBITS) != Z_OK ||
	    deflateInit2(&d->out, DEFLATE_LEVEL, Z_DEFLATED, DEFLATE_WBITS, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		log_panic("zlib: cannot set up a deflate stream");
	return d;
}

void
deflate_free(struct deflate **dp)
{
	struct deflate *d = *dp;

	if (d == NULL)
		return;
	*dp = NULL;
	inflateEnd(&d->in);
	deflateEnd(&d->out);
	free(d);
}

int
deflate_in(struct deflate *d, const void *in, size_t len, size_t *used_r,
    void *out, size_t room, size_t *made_r)
{
	int r;

	*used_r = *made_r = 0;
	if (d->dead)
		return -1;
	if (room == 0)
		return 0;	/* len 0 may still give what zlib holds */
	/* zlib counts in uInt: take at most that much per call */
	d->in.next_in = (Bytef *)(uintptr_t)in;
	d->in.avail_in = len > UINT_MAX ? UINT_MAX : (uInt)len;
	d->in.next_out = out;
	d->in.avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
	r = inflate(&d->in, Z_SYNC_FLUSH);
	*used_r = (size_t)(d->in.next_in - (const Bytef *)in);
	*made_r = (size_t)(d->in.next_out - (Bytef *)out);
	if (r == Z_OK || r == Z_BUF_ERROR)
		return 0;
	/* Z_STREAM_END (the peer may not end it), Z_DATA_ERROR, ... */
	d->dead = true;
	return -1;
}

void
deflate_out(struct deflate *d, const void *p, size_t len, bool flush,
    deflate_sink *sink, void *arg)
{
	unsigned char chunk[DEFLATE_CHUNK];
	const unsigned char *s = p;

	do {
		size_t take = len > UINT_MAX ? UINT_MAX : len;
		int mode = flush && take == len ? Z_SYNC_FLUSH : Z_NO_FLUSH;

		d->out.next_in = (Bytef *)(uintptr_t)s;
		d->out.avail_in = (uInt)take;
		do {
			d->out.next_out = chunk;
			d->out.avail_out = sizeof(chunk);
			/* only Z_OK or Z_BUF_ERROR (no progress) here */
			(void)deflate(&d->out, mode);
			if (d->out.avail_out < sizeof(chunk))
				sink(arg, chunk, sizeof(chunk) -
				    d->out.avail_out);
		} while (d->out.avail_out == 0);
		if (take > 0) {		/* p may be NULL for a bare flush */
			s += take;
			len -= take;
		}
	} while (len > 0);
}
