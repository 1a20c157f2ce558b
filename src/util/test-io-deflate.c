/*
 * test-io-deflate - util/deflate.c alone, and the deflate layer of
 * util/io.c over a socketpair: both directions, the sync flush after a
 * burst, the bound on inflated input waiting unread, the inflate budget
 * and a corrupt stream (each an IO_EV_ERROR with its reason).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/deflate.h"
#include "util/io.h"
#include "util/loop.h"
#include "util/test.h"

static void
sink(void *arg, const void *p, size_t n)
{
	buf_append(arg, p, n);
}

/* Inflates all of in with d into out. */
static int
inflate_buf(struct deflate *d, const struct buf *in, struct buf *out)
{
	char room[1000];
	size_t pos = 0, used, made;

	do {
		if (deflate_in(d, in->data + pos, in->len - pos, &used, room,
		    sizeof(room), &made) < 0)
			return -1;
		buf_append(out, room, made);
		pos += used;
	} while (pos < in->len || made == sizeof(room));
	return 0;
}

static void
test_roundtrip(void)
{
	struct deflate *a = deflate_new(), *b = deflate_new();
	struct buf z, back;
	char big[100000];

	buf_init(&z, 0);
	buf_init(&back, 0);
	memset(big, 'x', sizeof(big));
	deflate_out(a, "hello ", 6, false, sink, &z);
	deflate_out(a, big, sizeof(big), true, sink, &z);
	TEST_ASSERT(z.len > 0 && z.len < 1000);
	TEST_ASSERT(inflate_buf(b, &z, &back) == 0);
	TEST_ASSERT(back.len == 6 + sizeof(big));
	TEST_ASSERT(memcmp(back.data, "hello xxx", 9) == 0);
	/* garbage kills the stream for good */
	buf_reset(&z);
	buf_append(&z, "\xff\xff\xff\xff", 4);
	TEST_ASSERT(inflate_buf(b, &z, &back) < 0);
	buf_reset(&z);
	deflate_out(a, "more", 4, true, sink, &z);
	TEST_ASSERT(inflate_buf(b, &z, &back) < 0);
	deflate_free(&a);
	deflate_free(&b);
	buf_free(&z);
	buf_free(&back);
}

/* ---- through io ---- */

struct rig {
	struct loop	*loop;
	struct io	*io;
	int		 peer;
	struct deflate	*d;		/* the peer's pair */
	struct buf	 line, got;	/* io_getline's, the last line */
	bool		 take;		/* DATAIN reads lines */
	bool		 wrote;		/* a reply is queued */
	int		 datain, drained, errors;
	size_t		 max_inlen;
};

static void
rig_cb(struct io *io, enum io_event ev, void *arg)
{
	struct rig *r = arg;

	switch (ev) {
	case IO_EV_DATAIN:
		r->datain++;
		if (io_inlen(io) > r->max_inlen)
			r->max_inlen = io_inlen(io);
		if (r->take && io_getline(io, 1 << 20, &r->line) > 0) {
			buf_reset(&r->got);
			buf_append(&r->got, r->line.data, r->line.len);
			r->wrote = true;
			io_write(io, "got ", 4);
			io_write(io, r->line.data, r->line.len);
			io_write(io, "\r\n", 2);
		}
		if (!r->take && r->max_inlen >= IO_INPUT_MAX)
			loop_break(r->loop);
		break;
	case IO_EV_DRAINED:	/* also once at the start: nothing queued */
		if (r->wrote) {
			r->drained++;
			loop_break(r->loop);
		}
		break;
	default:
		r->errors++;
		loop_break(r->loop);
		break;
	}
}

static void
rig_init(struct rig *r)
{
	int sv[2];

	memset(r, 0, sizeof(*r));
	TEST_ASSERT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	r->loop = loop_new();
	r->io = io_new(r->loop, sv[0], rig_cb, r);
	r->peer = sv[1];
	r->d = deflate_new();
	buf_init(&r->line, 0);
	buf_init(&r->got, 0);
	io_start_deflate(r->io);
}

static void
rig_free(struct rig *r)
{
	io_free(&r->io);
	loop_free(&r->loop);
	close(r->peer);
	deflate_free(&r->d);
	buf_free(&r->line);
	buf_free(&r->got);
}

/* The peer sends p deflated and sync-flushed (written in a child-free
 * way: the socket buffer takes it, or the test is too big). */
static void
peer_send(struct rig *r, const void *p, size_t n)
{
	struct buf z;

	buf_init(&z, 0);
	deflate_out(r->d, p, n, true, sink, &z);
	TEST_ASSERT(write(r->peer, z.data, z.len) == (ssize_t)z.len);
	buf_free(&z);
}

static void
test_io_both_ways(void)
{
	struct rig r;
	struct buf in, out;
	char raw[4096];
	ssize_t n;

	rig_init(&r);
	r.take = true;
	peer_send(&r, "a NOOP\r\n", 8);
	loop_run(r.loop);		/* until the reply drained */
	TEST_ASSERT(r.errors == 0 && r.drained == 1);
	TEST_ASSERT_STREQ(buf_cstr(&r.got), "a NOOP");
	n = read(r.peer, raw, sizeof(raw));
	TEST_ASSERT(n > 0);
	buf_init(&in, 0);
	buf_init(&out, 0);
	buf_append(&in, raw, (size_t)n);
	TEST_ASSERT(inflate_buf(r.d, &in, &out) == 0);
	/* one flush for the burst of three writes: all of it readable */
	TEST_ASSERT(out.len == 12 && memcmp(out.data, "got a NOOP\r\n", 12)
	    == 0);
	buf_free(&in);
	buf_free(&out);
	rig_free(&r);
}

static void
test_io_bounded_and_budget(void)
{
	struct rig r;
	static char big[1 << 20];

	memset(big, 'x', sizeof(big));
	/* 1 MiB inflating from ~1 KiB: at most IO_INPUT_MAX waits */
	rig_init(&r);
	peer_send(&r, big, sizeof(big));
	loop_run(r.loop);
	TEST_ASSERT(r.errors == 0 && r.max_inlen == IO_INPUT_MAX);
	rig_free(&r);
	/* a budget of 1000 octets: the error, "limit" */
	rig_init(&r);
	io_inflate_budget(r.io, 1000);
	peer_send(&r, big, 4000);
	loop_run(r.loop);
	{
		uint64_t n = 0;
		TEST_ASSERT(r.errors == 1);
		TEST_ASSERT_STREQ(io_inflate_error(r.io, &n), "limit");
		TEST_ASSERT(n > 1000 && n <= 1001);
	}
	rig_free(&r);
	/* not deflate at all: "corrupt" */
	rig_init(&r);
	TEST_ASSERT(write(r.peer, "\xff\xff\xff\xff", 4) == 4);
	loop_run(r.loop);
	{
		uint64_t n = 0;
		TEST_ASSERT(r.errors == 1);
		TEST_ASSERT_STREQ(io_inflate_error(r.io, &n), "corrupt");
	}
	rig_free(&r);
}

int
main(void)
{
	loop_global_init();
	TEST_RUN(test_roundtrip);
	TEST_RUN(test_io_both_ways);
	TEST_RUN(test_io_bounded_and_budget);
	return test_done("test-io-deflate");
}
