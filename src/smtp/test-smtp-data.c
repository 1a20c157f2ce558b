/*
 * test-smtp-data - DATA and BDAT decoders: end-of-data detection (and the
 * SMTP smuggling shapes that must NOT end data), dot-unstuffing, line-end
 * normalisation, flags, limits, header tracking. Every case is replayed
 * whole, one byte at a time and split at every position, and all replays
 * must agree byte for byte.
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_data.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/test.h"

#define S(lit)	lit, sizeof(lit) - 1

struct result {
	struct buf		out;
	size_t			consumed;
	bool			done;
	struct smtp_data	d;
};

/* Chunking plans: 0 whole, 1 one byte at a time, k >= 2 two chunks split
   at k - 2. */
static size_t
next_chunk(int plan, size_t pos, size_t len)
{
	size_t split;

	if (plan == 0)
		return len - pos;
	if (plan == 1)
		return 1;
	split = (size_t)plan - 2;
	return pos < split ? split - pos : len - pos;
}

static void
run_data(const char *in, size_t len, uint64_t max, size_t outmax, int plan,
    struct result *r)
{
	size_t pos = 0, n, used;

	buf_init(&r->out, outmax);
	smtp_data_init(&r->d, max);
	r->consumed = 0;
	r->done = false;
	/* a zero-length feed changes nothing */
	TEM_ASSERT(smtp_data_feed(&r->d, in, 0, &r->out, &r->done) == 0);
	while (pos < len && !r->done) {
		n = next_chunk(plan, pos, len);
		used = smtp_data_feed(&r->d, in + pos, n, &r->out, &r->done);
		TEM_ASSERT(used <= n);
		TEM_ASSERT(used == n || r->done);
		r->consumed += used;
		pos += n;
	}
	if (r->done)	/* once done, nothing more is taken */
		TEM_ASSERT(smtp_data_feed(&r->d, "x", 1, &r->out,
		    &r->done) == 0 && r->done);
}

static void
run_bdat(const char *in, size_t len, uint64_t max, size_t outmax, int plan,
    struct result *r)
{
	size_t pos = 0, n;

	buf_init(&r->out, outmax);
	smtp_data_init(&r->d, max);
	r->consumed = len;
	r->done = true;
	while (pos < len) {
		n = next_chunk(plan, pos, len);
		smtp_bdat_feed(&r->d, in + pos, n, &r->out);
		pos += n;
	}
	smtp_bdat_finish(&r->d, &r->out);
}

static bool
same_result(const struct result *a, const struct result *b)
{
	return a->out.len == b->out.len &&
	    memcmp(buf_cstr(&a->out), buf_cstr(&b->out), a->out.len) == 0 &&
	    a->consumed == b->consumed && a->done == b->done &&
	    a->d.size == b->d.size && a->d.too_big == b->d.too_big &&
	    a->d.nul == b->d.nul && a->d.bare_lf == b->d.bare_lf &&
	    a->d.bare_cr == b->d.bare_cr && a->d.lines == b->d.lines &&
	    a->d.in_header == b->d.in_header &&
	    a->d.header_size == b->d.header_size &&
	    a->d.received == b->d.received;
}

/* Runs every chunking plan and checks each against the whole-input run,
   which is left in *whole for the caller to check against expectations. */
static bool
replay_all(bool bdat, const char *in, size_t len, uint64_t max,
    size_t outmax, struct result *whole)
{
	struct result r;
	int plan;
	bool ok = true;

	(bdat ? run_bdat : run_data)(in, len, max, outmax, 0, whole);
	for (plan = 1; plan < (int)len + 3 && ok; plan++) {
		(bdat ? run_bdat : run_data)(in, len, max, outmax, plan, &r);
		if (!same_result(whole, &r)) {
			fprintf(stderr, "  chunking plan %d differs\n", plan);
			ok = false;
		}
		buf_free(&r.out);
	}
	return ok;
}

#define ALL	((size_t)-1)	/* consumed everything */
#define F_NUL	0x1
#define F_LF	0x2
#define F_CR	0x4

struct data_case {
	const char	*in;
	size_t		 len;
	const char	*out;
	size_t		 outlen;
	bool		 done;
	size_t		 consumed;
	unsigned	 flags;
};

static const struct data_case data_cases[] = {
	{ S("hello\r\n.\r\n"), S("hello\n"), true, ALL, 0 },
	{ S(".\r\n"), S(""), true, ALL, 0 },
	{ S("\r\n.\r\n"), S("\n"), true, ALL, 0 },
	{ S("a\r\nb\r\n\r\n.\r\n"), S("a\nb\n\n"), true, ALL, 0 },
	/* dot-unstuffing after a real CRLF, and at the start of data */
	{ S("a\r\n..b\r\n.\r\n"), S("a\n.b\n"), true, ALL, 0 },
	{ S("a\r\n.b\r\n.\r\n"), S("a\nb\n"), true, ALL, 0 },
	{ S("..\r\n.\r\n"), S(".\n"), true, ALL, 0 },
	{ S("..x\r\n.\r\n"), S(".x\n"), true, ALL, 0 },
	{ S("...\r\n.\r\n"), S("..\n"), true, ALL, 0 },
	/* pipelined command after the end stays unconsumed */
	{ S("a\r\n.\r\nMAIL FROM:<x@y.test>\r\n"), S("a\n"), true, 6, 0 },
	{ S("a\r\n.\r\n.\r\n"), S("a\n"), true, 6, 0 },
	/* SMTP smuggling shapes: all content, none ends the data */
	{ S("a\n.\nb\r\n.\r\n"), S("a\n.\nb\n"), true, ALL, F_LF },
	{ S("a\n.\r\nb\r\n.\r\n"), S("a\n.\nb\n"), true, ALL, F_LF },
	{ S("a\r.\rb\r\n.\r\n"), S("a\r.\rb\n"), true, ALL, F_CR },
	{ S("a\r\n.\nb\r\n.\r\n"), S("a\n\nb\n"), true, ALL, F_LF },
	{ S("a\r\n.\rb\r\n.\r\n"), S("a\n\rb\n"), true, ALL, F_CR },
	{ S("a\r.\r\nb\r\n.\r\n"), S("a\r.\nb\n"), true, ALL, F_CR },
	{ S("a\n.\n"), S("a\n.\n"), false, ALL, F_LF },
	{ S("a\r\n.\n"), S("a\n\n"), false, ALL, F_LF },
	{ S("a\n.\r\n"), S("a\n.\n"), false, ALL, F_LF },
	{ S("a\r.\r"), S("a\r."), false, ALL, F_CR },
	{ S("\n.\n\r\n.\r\n"), S("\n.\n\n"), true, ALL, F_LF },
	/* bare CR right before a real CRLF: that CRLF still counts */
	{ S("a\r\r\n.\r\n"), S("a\r\n"), true, ALL, F_CR },
	{ S("\r\n.\r\r\n.\r\n"), S("\n\r\n"), true, ALL, F_CR },
	{ S("a\r\n.\r\r\n"), S("a\n\r\n"), false, ALL, F_CR },
	/* incomplete input: pending bytes are held, everything consumed */
	{ S("abc\r\n."), S("abc\n"), false, ALL, 0 },
	{ S("abc\r\n.\r"), S("abc\n"), false, ALL, 0 },
	{ S("abc\r"), S("abc"), false, ALL, 0 },
	{ S(""), S(""), false, ALL, 0 },
	{ S("a\0b\r\n.\r\n"), S("a\0b\n"), true, ALL, F_NUL },
	{ S("\0\r\n.\r\n"), S("\0\n"), true, ALL, F_NUL },
	{ S("x\xff\xfe\r\n.\r\n"), S("x\xff\xfe\n"), true, ALL, 0 },
};

static void
test_data_cases(void)
{
	struct result r;
	size_t i;

	for (i = 0; i < sizeof(data_cases) / sizeof(data_cases[0]); i++) {
		const struct data_case *c = &data_cases[i];
		bool ok = replay_all(false, c->in, c->len, 0, 0, &r);

		size_t want = c->consumed == ALL ? c->len : c->consumed;

		if (!ok || !r.done != !c->done || r.consumed != want ||
		    r.out.len != c->outlen ||
		    memcmp(buf_cstr(&r.out), c->out, c->outlen) != 0)
			fprintf(stderr, "  case %zu: out=%zu consumed=%zu "
			    "done=%d\n", i, r.out.len, r.consumed, r.done);
		TEST_ASSERT(ok);
		TEST_ASSERT(r.done == c->done);
		TEST_ASSERT(r.consumed == want);
		TEST_ASSERT(r.out.len == c->outlen);
		TEST_ASSERT(memcmp(buf_cstr(&r.out), c->out, c->outlen) == 0);
		TEST_ASSERT(r.d.size == c->outlen);
		TEST_ASSERT(r.d.nul == !!(c->flags & F_NUL));
		TEST_ASSERT(r.d.bare_lf == !!(c->flags & F_LF));
		TEST_ASSERT(r.d.bare_cr == !!(c->flags & F_CR));
		TEST_ASSERT(!r.d.too_big);
		buf_free(&r.out);
	}
}

static void
test_data_lines_header(void)
{
	static const char in[] =
	    "Received: a\r\n"
	    "received :b\r\n"
	    "RECEIVED\t:c\r\n"
	    "X-Received: d\r\n"
	    " Received: e\r\n"
	    "ReceivedX: f\r\n"
	    "Receive: g\r\n"
	    "\r\n"
	    "Received: body\r\n"
	    ".\r\n";
	struct result r;

	TEST_ASSERT(replay_all(false, in, sizeof(in) - 1, 0, 0, &r));
	TEST_ASSERT(r.done);
	TEST_ASSERT(r.d.received == 3);
	TEST_ASSERT(!r.d.in_header);
	TEST_ASSERT(r.d.header_size == 12 + 12 + 12 + 14 + 13 + 13 + 11 + 1);
	TEST_ASSERT(r.d.lines == 9);
	TEST_ASSERT(memcmp(r.out.data + r.d.header_size, "Received: body\n",
	    15) == 0);
	buf_free(&r.out);

	/* no empty line: still in the header; a stuffed dot is not a name */
	TEST_ASSERT(replay_all(false, S("..Received: x\r\nReceived: y\r\n.\r\n"),
	    0, 0, &r));
	TEST_ASSERT(r.d.in_header && r.d.received == 1);
	buf_free(&r.out);
	/* the empty line may come first; bare-LF lines count too */
	TEST_ASSERT(replay_all(false, S("\r\nReceived: x\r\n.\r\n"), 0, 0, &r));
	TEST_ASSERT(!r.d.in_header && r.d.header_size == 1 &&
	    r.d.received == 0);
	buf_free(&r.out);
	TEST_ASSERT(replay_all(false, S("Received: x\nReceived: y\n\n.\r\n"),
	    0, 0, &r));
	TEST_ASSERT(!r.done);
	TEST_ASSERT(r.d.received == 2 && !r.d.in_header && r.d.bare_lf);
	buf_free(&r.out);
}

static void
test_data_limits(void)
{
	struct result r;

	/* our own max: output keeps exactly max bytes, input runs to the end */
	TEST_ASSERT(replay_all(false, S("hello world\r\n.\r\nQUIT\r\n"), 5, 0,
	    &r));
	TEST_ASSERT(r.done && r.consumed == 16);
	TEST_ASSERT(r.d.too_big && r.d.size == 12);
	TEST_ASSERT(r.out.len == 5 && memcmp(r.out.data, "hello", 5) == 0);
	buf_free(&r.out);
	/* exactly at max is fine */
	TEST_ASSERT(replay_all(false, S("hello\r\n.\r\n"), 6, 0, &r));
	TEST_ASSERT(!r.d.too_big && r.out.len == 6);
	buf_free(&r.out);
	/* the buffer's max */
	TEST_ASSERT(replay_all(false, S("hello world\r\n.\r\n"), 0, 3, &r));
	TEST_ASSERT(r.done && r.d.too_big && r.out.len == 3);
	TEST_ASSERT(memcmp(r.out.data, "hel", 3) == 0);
	buf_free(&r.out);
	/* header tracking goes on past the limit */
	TEST_ASSERT(replay_all(false, S("Received: a\r\nReceived: b\r\n\r\nx\r\n"
	    ".\r\n"), 4, 0, &r));
	TEST_ASSERT(r.d.too_big && r.d.received == 2 && !r.d.in_header);
	buf_free(&r.out);
}

static void
test_data_big(void)
{
	struct buf in, out1, outn;
	struct smtp_data d1, dn;
	size_t i, used = 0, n;
	bool done1, donen = false;

	/* a long message with every awkward shape, fed in prime-sized
	   chunks, must equal the whole feed */
	buf_init(&in, 0);
	for (i = 0; i < 2000; i++)
		buf_printf(&in, "line %zu\r\n.%s\r\n\n.\n\r.\r\r\n", i,
		    i % 3 ? "stuffed" : ".");
	buf_puts(&in, ".\r\nNEXT");
	buf_init(&out1, 0);
	buf_init(&outn, 0);
	smtp_data_init(&d1, 0);
	smtp_data_init(&dn, 0);
	n = smtp_data_feed(&d1, in.data, in.len, &out1, &done1);
	TEST_ASSERT(done1 && n == in.len - 4);
	while (!donen) {
		size_t chunk = in.len - used < 7 ? in.len - used : 7;
		used += smtp_data_feed(&dn, in.data + used, chunk, &outn,
		    &donen);
	}
	TEST_ASSERT(used == n);
	TEST_ASSERT(out1.len == outn.len &&
	    memcmp(out1.data, outn.data, out1.len) == 0);
	TEST_ASSERT(d1.lines == dn.lines && d1.lines == 2000 * 5);
	buf_free(&in);
	buf_free(&out1);
	buf_free(&outn);
}

struct bdat_case {
	const char	*in;
	size_t		 len;
	const char	*out;
	size_t		 outlen;
	unsigned	 flags;
};

static const struct bdat_case bdat_cases[] = {
	{ S("hello\r\nworld\r\n"), S("hello\nworld\n"), 0 },
	{ S(".\r\n..x\r\n.\r\n"), S(".\n..x\n.\n"), 0 },
	{ S("a\nb\rc\r\r\n"), S("a\nb\rc\r\n"), F_LF | F_CR },
	{ S("ends in CR\r"), S("ends in CR\r"), F_CR },
	{ S("\0\r\n"), S("\0\n"), F_NUL },
	{ S(""), S(""), 0 },
};

static void
test_bdat(void)
{
	struct result r;
	size_t i;

	for (i = 0; i < sizeof(bdat_cases) / sizeof(bdat_cases[0]); i++) {
		const struct bdat_case *c = &bdat_cases[i];

		TEST_ASSERT(replay_all(true, c->in, c->len, 0, 0, &r));
		TEST_ASSERT(r.out.len == c->outlen);
		TEST_ASSERT(memcmp(buf_cstr(&r.out), c->out, c->outlen) == 0);
		TEST_ASSERT(r.d.nul == !!(c->flags & F_NUL));
		TEST_ASSERT(r.d.bare_lf == !!(c->flags & F_LF));
		TEST_ASSERT(r.d.bare_cr == !!(c->flags & F_CR));
		buf_free(&r.out);
	}
	/* header tracking and limits work the same in BDAT */
	TEST_ASSERT(replay_all(true, S("Received: a\r\n\r\nbody"), 3, 0, &r));
	TEST_ASSERT(r.d.received == 1 && r.d.header_size == 13);
	TEST_ASSERT(r.d.too_big && r.out.len == 3 && r.d.size == 17);
	buf_free(&r.out);
}

int
main(void)
{
	TEST_RUN(test_data_cases);
	TEST_RUN(test_data_lines_header);
	TEST_RUN(test_data_limits);
	TEST_RUN(test_data_big);
	TEST_RUN(test_bdat);
	return test_done("test-smtp-data");
}
