/*
 * test-mta-data - the DATA stream encoder: dot-stuffing, CRLF, bare CR,
 * the end marker, any chunking, and a round trip through the inbound
 * decoder (smtp/smtp_data.c), which must give the message back.
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mta/mta_data.h"
#include "smtp/smtp_data.h"
#include "util/buf.h"
#include "util/test.h"

struct data_case {
	const char	*in;
	const char	*wire;
	const char	*back;	/* what a receiver stores; NULL: in */
};

static const struct data_case data_cases[] = {
	{ "", ".\r\n", "" },
	{ "a\n", "a\r\n.\r\n", NULL },
	{ "a", "a\r\n.\r\n", "a\n" },
	{ "\n", "\r\n.\r\n", NULL },
	{ ".\n", "..\r\n.\r\n", NULL },
	{ ".", "..\r\n.\r\n", ".\n" },
	{ "a\n.\nb\n", "a\r\n..\r\n" "b\r\n.\r\n", NULL },
	{ "a\n..x\n", "a\r\n...x\r\n.\r\n", NULL },
	{ "a.b\n", "a.b\r\n.\r\n", NULL },
	{ "x\n\n.\n", "x\r\n\r\n..\r\n.\r\n", NULL },
	/* a bare CR is content... */
	{ "a\rb\n", "a\rb\r\n.\r\n", NULL },
	{ "a\r\n", "a\r\r\n.\r\n", NULL },
	{ "a\r", "a\r\r\n.\r\n", "a\r\n" },
	/* ...except before a dot: no "\r.\r" ever leaves */
	{ "a\r.\rb\n", "a\r\n..\rb\r\n.\r\n", "a\n.\rb\n" },
	{ "\r.\n", "\r\n..\r\n.\r\n", "\n.\n" },
	{ "Subject: x\n\nbody\n.\n..\n", "Subject: x\r\n\r\nbody\r\n..\r\n"
	  "...\r\n.\r\n", NULL },
	{ "8bit \xc3\xa9\n", "8bit \xc3\xa9\r\n.\r\n", NULL },
};

static char *
encode_all(const char *in, size_t len, size_t chunk, size_t *out_len)
{
	struct mta_data d;
	struct buf out;
	int guard = 0;

	buf_init(&out, 0);
	mta_data_init(&d, in, len);
	while (!mta_data_encode(&d, &out, chunk))
		if (++guard > 100000)
			break;
	/* further calls add nothing */
	mta_data_encode(&d, &out, chunk);
	return buf_steal(&out, out_len);
}

static void
test_data_cases(void)
{
	for (size_t i = 0; i < sizeof(data_cases) / sizeof(data_cases[0]);
	    i++) {
		const struct data_case *c = &data_cases[i];
		size_t len = strlen(c->in), olen, chunk;

		for (chunk = 1; chunk <= len + 1; chunk++) {
			char *w = encode_all(c->in, len, chunk, &olen);
			bool same = olen == strlen(c->wire) &&
			    memcmp(w, c->wire, olen) == 0;

			if (!same)
				fprintf(stderr, "  case %zu chunk %zu\n", i,
				    chunk);
			free(w);
			TEST_ASSERT(same);
		}
	}
}

/* The streaming encoder fed in pieces of irregular sizes (empty ones
 * included) gives the same bytes as the whole message at once, and the
 * wire size counted piece by piece matches. */
static char *
stream_all(const char *in, size_t len, unsigned seed, size_t maxpiece,
    size_t *out_len, size_t *wire_r)
{
	struct mta_data d;
	struct mta_wire_count w = { 0, 0, false };
	struct buf out;
	size_t off = 0, n;

	buf_init(&out, 0);
	mta_data_start(&d);
	while (off < len) {
		seed = seed * 1103515245u + 12345u;
		n = (seed >> 8) % (maxpiece + 1);
		if (n > len - off)
			n = len - off;
		mta_data_feed(&d, in + off, n, &out);
		mta_wire_count_feed(&w, in + off, n);
		off += n;
	}
	mta_data_end(&d, &out);
	mta_data_end(&d, &out);		/* adds nothing */
	mta_data_feed(&d, "x", 1, &out);	/* nor does this */
	*wire_r = mta_wire_count_total(&w);
	return buf_steal(&out, out_len);
}

static void
test_data_stream(void)
{
	for (size_t i = 0; i < sizeof(data_cases) / sizeof(data_cases[0]);
	    i++) {
		const struct data_case *c = &data_cases[i];
		size_t len = strlen(c->in), olen, wire;

		for (unsigned seed = 1; seed < 200; seed++) {
			char *w = stream_all(c->in, len, seed, 1 + seed % 4,
			    &olen, &wire);

			TEST_ASSERT(olen == strlen(c->wire) &&
			    memcmp(w, c->wire, olen) == 0);
			TEST_ASSERT(wire == mta_data_wire_size(c->in, len));
			free(w);
		}
	}
}

/* Random bytes rich in CR, LF and dots: every chunking of the stream
 * gives the one-shot encoding. */
static void
test_data_stream_random(void)
{
	static const char alphabet[] = "\r\n.\r.a\n";
	size_t n = 20000, olen1, olen2, wire;
	char *in = malloc(n), *w1, *w2;
	unsigned seed = 7;

	TEST_ASSERT(in != NULL);
	for (int round = 0; round < 20; round++) {
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			in[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		w1 = encode_all(in, n, n, &olen1);
		w2 = stream_all(in, n, seed, (size_t)(1 + round * 37),
		    &olen2, &wire);
		TEST_ASSERT(olen1 == olen2 && memcmp(w1, w2, olen1) == 0);
		TEST_ASSERT(wire == mta_data_wire_size(in, n));
		free(w1);
		free(w2);
	}
	free(in);
}

static void
test_data_round_trip(void)
{
	for (size_t i = 0; i < sizeof(data_cases) / sizeof(data_cases[0]);
	    i++) {
		const struct data_case *c = &data_cases[i];
		const char *want = c->back ? c->back : c->in;
		struct smtp_data d;
		struct buf got;
		size_t olen, used;
		bool done = false;
		char *w = encode_all(c->in, strlen(c->in), 7, &olen);

		buf_init(&got, 0);
		smtp_data_init(&d, 0);
		used = smtp_data_feed(&d, w, olen, &got, &done);
		free(w);
		TEST_ASSERT(done && used == olen);
		if (strcmp(buf_cstr(&got), want) != 0)
			fprintf(stderr, "  round trip case %zu\n", i);
		TEST_ASSERT(got.len == strlen(want) &&
		    memcmp(buf_cstr(&got), want, got.len) == 0);
		buf_free(&got);
	}
}

static void
test_wire_size(void)
{
	TEST_ASSERT(mta_data_wire_size("", 0) == 0);
	TEST_ASSERT(mta_data_wire_size("a\n", 2) == 3);
	TEST_ASSERT(mta_data_wire_size("a", 1) == 3);
	TEST_ASSERT(mta_data_wire_size("a\nb\n\n", 5) == 8);
	TEST_ASSERT(mta_data_wire_size("a\nb", 3) == 6);
}

static void
test_data_large(void)
{
	size_t n = 3 * 1000 * 1000, i, olen, dots = 0;
	char *in = malloc(n), *w;

	TEST_ASSERT(in != NULL);
	for (i = 0; i < n; i++) {
		in[i] = i % 61 == 60 ? '\n' : (i % 61 == 0 ? '.' : 'x');
		if (in[i] == '.')
			dots++;
	}
	in[n - 1] = '\n';
	w = encode_all(in, n, 128 * 1024, &olen);
	TEST_ASSERT(olen == mta_data_wire_size(in, n) + dots + 3);
	TEST_ASSERT(memcmp(w + olen - 5, "\r\n.\r\n", 5) == 0);
	free(w);
	free(in);
}

int
main(void)
{
	TEST_RUN(test_data_cases);
	TEST_RUN(test_data_stream);
	TEST_RUN(test_data_stream_random);
	TEST_RUN(test_data_round_trip);
	TEST_RUN(test_wire_size);
	TEST_RUN(test_data_large);
	return test_done("test-mta-data");
}
