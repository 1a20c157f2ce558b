/*
 * test-base64 - unit tests of the strict base64 coder: RFC 4648 vectors,
 * round trips of every length and byte, refused input (alphabet, padding,
 * length, line breaks, spaces) and the output buffer's maximum.
 */
#include <stdlib.h>

#include "util/base64.h"
#include "util/buf.h"
#include "util/test.h"

struct vec {
	const char	*plain;
	const char	*b64;
};

/* RFC 4648 section 10. */
static const struct vec vectors[] = {
	{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

static void
test_vectors(void)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		struct buf b;

		buf_init(&b, 0);
		TEST_ASSERT(base64_encode(vectors[i].plain,
		    strlen(vectors[i].plain), &b) == 0);
		TEST_ASSERT_STREQ(buf_cstr(&b), vectors[i].b64);
		buf_reset(&b);
		TEST_ASSERT(base64_decode(vectors[i].b64,
		    strlen(vectors[i].b64), &b) == 0);
		TEST_ASSERT(b.len == strlen(vectors[i].plain));
		TEST_ASSERT(memcmp(buf_cstr(&b), vectors[i].plain, b.len) == 0);
		buf_free(&b);
	}
}

/* Every length 0..300 of bytes 0..255 (NULs included) survives a trip,
 * and decoding appends after what the buffer holds. */
static void
test_round_trip(void)
{
	unsigned char in[300];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 7 + 3);
	for (size_t n = 0; n <= sizeof(in); n++) {
		struct buf enc, dec;

		buf_init(&enc, 0);
		buf_init(&dec, 0);
		TEST_ASSERT(base64_encode(in, n, &enc) == 0);
		TEST_ASSERT(enc.len == (n + 2) / 3 * 4);
		buf_puts(&dec, "pre");
		TEST_ASSERT(base64_decode(enc.data ? enc.data : "", enc.len,
		    &dec) == 0);
		TEST_ASSERT(dec.len == n + 3);
		TEST_ASSERT(memcmp(dec.data, "pre", 3) == 0);
		TEST_ASSERT(n == 0 || memcmp(dec.data + 3, in, n) == 0);
		buf_free(&enc);
		buf_free(&dec);
	}
}

static void
test_bad_input(void)
{
	static const char *const bad[] = {
		"Z", "Zg", "Zg=", "Zm9vY",		/* length not 4k */
		"Zg=a", "Z===", "====", "=Zg=",		/* padding misplaced */
		"Zm9v\r\nYmFy", "Zm9v\nYmFy\n",		/* line breaks */
		" Zm9", "Zm9 ", "Zm 9", "\tZm9",	/* blanks */
		"Zm9-", "Zm9_", "Zm9.", "Zm9\x80",	/* outside the alphabet */
		"Zm9v=", "Zm9vYmFy====",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct buf b;

		buf_init(&b, 0);
		buf_puts(&b, "keep");
		if (base64_decode(bad[i], strlen(bad[i]), &b) != -1)
			fprintf(stderr, "  accepted '%s'\n", bad[i]);
		TEST_ASSERT(base64_decode(bad[i], strlen(bad[i]), &b) == -1);
		TEST_ASSERT_STREQ(buf_cstr(&b), "keep");	/* unchanged */
		buf_free(&b);
	}
	/* a NUL inside the text is not the alphabet either */
	{
		struct buf b;

		buf_init(&b, 0);
		TEST_ASSERT(base64_decode("Zm\0v", 4, &b) == -1);
		TEST_ASSERT(b.len == 0);
		buf_free(&b);
	}
}

static void
test_max(void)
{
	struct buf b;

	/* "foobar" is 6 bytes: fits in 6, not in 5; buffer unchanged */
	buf_init(&b, 6);
	TEST_ASSERT(base64_decode("Zm9vYmFy", 8, &b) == 0);
	TEST_ASSERT(b.len == 6);
	buf_free(&b);
	buf_init(&b, 5);
	TEST_ASSERT(base64_decode("Zm9vYmFy", 8, &b) == -1);
	TEST_ASSERT(b.len == 0);
	/* encoding "foo" needs 4 */
	TEST_ASSERT(base64_encode("foobar", 6, &b) == -1);
	TEST_ASSERT(base64_encode("foo", 3, &b) == 0);
	TEST_ASSERT_STREQ(buf_cstr(&b), "Zm9v");
	buf_free(&b);
}

int
main(void)
{
	TEST_RUN(test_vectors);
	TEST_RUN(test_round_trip);
	TEST_RUN(test_bad_input);
	TEST_RUN(test_max);
	return test_done("test-base64");
}
