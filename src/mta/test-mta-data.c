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
	TEST_RUN(test_data_round_trip);
	TEST_RUN(test_wire_size);
	TEST_RUN(test_data_large);
	return test_done("test-mta-data");
}
