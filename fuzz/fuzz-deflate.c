/*
 * fuzz-deflate - the inflate side of util/deflate.c (COMPRESS=DEFLATE's
 * input) on arbitrary bytes, fed in pieces of varying size into output
 * room of varying size as util/io.c does. Beyond "no crash, no leak, no
 * UB" it checks the contracts: never more output than room, never more
 * input taken than given, a failed stream stays failed; and that the
 * same bytes deflated (with sync flushes at arbitrary points) inflate
 * back to themselves exactly.
 *
 * Trust: test code.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/deflate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

/* Inflates in (len bytes) in pieces; returns -1 once the stream fails.
 * out gets what came out. */
static int
inflate_all(struct deflate *d, const uint8_t *in, size_t len, unsigned seed,
    struct buf *out)
{
	unsigned char room[4096];
	size_t pos = 0;

	for (unsigned round = 0;; round++) {
		size_t piece = len - pos, cap = 1 + (seed + round * 7) % sizeof(room);
		size_t used, made;
		int r;

		if (piece > 1 + (seed * 13 + round) % 512)
			piece = 1 + (seed * 13 + round) % 512;
		r = deflate_in(d, in + pos, piece, &used, room, cap, &made);
		CHECK(used <= piece && made <= cap);
		buf_append(out, room, made);
		pos += used;
		if (r < 0) {
			/* dead from now on */
			CHECK(deflate_in(d, in, len, &used, room, cap, &made) < 0);
			return -1;
		}
		if (pos == len && made < cap)
			return 0;	/* all taken, nothing held back */
		if (used == 0 && made == 0 && pos < len)
			return 0;	/* cannot happen with room; stop anyway */
		if (out->len > 64u << 20)
			return 0;	/* a bomb: enough seen */
	}
}

static void
sink(void *arg, const void *p, size_t n)
{
	buf_append(arg, p, n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct deflate *d = deflate_new(), *e = deflate_new();
	struct buf out, z, back;
	unsigned seed = size ? data[0] : 0;

	buf_init(&out, 0);
	buf_init(&z, 0);
	buf_init(&back, 0);
	/* arbitrary bytes as a compressed stream */
	(void)inflate_all(d, data, size, seed, &out);
	/* the bytes as plain text: deflate in pieces, sync-flushed at
	 * arbitrary points, then inflate back */
	for (size_t pos = 0, i = 0; pos < size; i++) {
		size_t n = 1 + (seed * 31 + i * 17) % 700;
		if (n > size - pos)
			n = size - pos;
		deflate_out(e, data + pos, n, (i + seed) % 3 == 0, sink, &z);
		pos += n;
	}
	deflate_out(e, NULL, 0, true, sink, &z);
	deflate_free(&d);
	d = deflate_new();
	CHECK(inflate_all(d, (const uint8_t *)z.data, z.len, seed, &back) == 0);
	CHECK(back.len == size && (size == 0 || memcmp(back.data, data,
	    size) == 0));
	buf_free(&out);
	buf_free(&z);
	buf_free(&back);
	deflate_free(&d);
	deflate_free(&e);
	return 0;
}
