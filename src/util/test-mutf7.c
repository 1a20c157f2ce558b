/* Unit tests for util/mutf7.c. */
#include <stdlib.h>

#include "util/mutf7.h"
#include "util/test.h"

static const char *
enc(struct buf *b, const char *s, const char *also)
{
	buf_reset(b);
	if (mutf7_encode(b, s, strlen(s), also) < 0)
		return NULL;
	return buf_cstr(b);
}

static const char *
dec(struct buf *b, const char *s, const char *also)
{
	buf_reset(b);
	if (mutf7_decode(b, s, strlen(s), also) < 0)
		return NULL;
	return buf_cstr(b);
}

static void
test_rfc3501_examples(void)
{
	struct buf b;

	buf_init(&b, 0);
	/* RFC 3501 5.1.3's example: "~peter/mail/台北/日本語" */
	TEST_ASSERT_STREQ(enc(&b, "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", NULL),
	    "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
	TEST_ASSERT_STREQ(dec(&b, "~peter/mail/&U,BTFw-/&ZeVnLIqe-", NULL),
	    "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
	TEST_ASSERT_STREQ(enc(&b, "A&B", NULL), "A&-B");
	TEST_ASSERT_STREQ(dec(&b, "A&-B", NULL), "A&B");
	TEST_ASSERT_STREQ(enc(&b, "", NULL), "");
	TEST_ASSERT_STREQ(enc(&b, "caf\xc3\xa9", NULL), "caf&AOk-");
	/* beyond the BMP: a surrogate pair */
	TEST_ASSERT_STREQ(enc(&b, "\xf0\x9f\x98\x80", NULL), "&2D3eAA-");
	TEST_ASSERT_STREQ(dec(&b, "&2D3eAA-", NULL), "\xf0\x9f\x98\x80");
	buf_free(&b);
}

static void
test_also(void)
{
	struct buf b;

	buf_init(&b, 0);
	TEST_ASSERT_STREQ(enc(&b, "a.b", "."), "a&AC4-b");
	TEST_ASSERT_STREQ(dec(&b, "a&AC4-b", "."), "a.b");
	TEST_ASSERT(dec(&b, "a&AC4-b", NULL) == NULL);	/* "." shifted */
	TEST_ASSERT(dec(&b, "a.b", ".") == NULL);	/* "." not shifted */
	TEST_ASSERT_STREQ(enc(&b, "a.b", NULL), "a.b");
	buf_free(&b);
}

static void
test_decode_strict(void)
{
	struct buf b;

	buf_init(&b, 0);
	TEST_ASSERT(dec(&b, "&", NULL) == NULL);		/* unterminated */
	TEST_ASSERT(dec(&b, "&AOk", NULL) == NULL);
	TEST_ASSERT(dec(&b, "&AO!-", NULL) == NULL);	/* not base64 */
	TEST_ASSERT(dec(&b, "&AOl-", NULL) == NULL);	/* padding bits */
	TEST_ASSERT(dec(&b, "&AEE-", NULL) == NULL);	/* "A" shifted */
	TEST_ASSERT(dec(&b, "&ACY-", NULL) == NULL);	/* "&" shifted */
	TEST_ASSERT(dec(&b, "&2D0-", NULL) == NULL);	/* lone high */
	TEST_ASSERT(dec(&b, "&3gA-", NULL) == NULL);	/* lone low */
	TEST_ASSERT(dec(&b, "caf\xc3\xa9", NULL) == NULL);	/* 8-bit */
	TEST_ASSERT(dec(&b, "a\tb", NULL) == NULL);	/* raw control */
	TEST_ASSERT(dec(&b, "&AOkA6Q-", NULL) != NULL);
	TEST_ASSERT(dec(&b, "&AOk-&AOk-", NULL) == NULL);	/* one run */
	TEST_ASSERT_STREQ(dec(&b, "&AOk-&-&AOk-", NULL), "\xc3\xa9&\xc3\xa9");
	/* a control decoded from a run is returned for the caller */
	TEST_ASSERT_STREQ(dec(&b, "&AAk-", NULL), "\t");
	/* the length bounds the input */
	buf_reset(&b);
	TEST_ASSERT(mutf7_decode(&b, "&AOk-", 4, NULL) < 0);
	buf_free(&b);
}

static void
test_encode_invalid(void)
{
	struct buf b;

	buf_init(&b, 0);
	TEST_ASSERT(enc(&b, "\xc3", NULL) == NULL);
	TEST_ASSERT(enc(&b, "\xed\xa0\x80", NULL) == NULL);
	buf_free(&b);
}

static void
test_round_trip(void)
{
	const char *names[] = { "Entw\xc3\xbcrfe", "a&b&&c", "\xe2\x82\xac.x",
	    "\x01\x7f\xc2\x80", "&", "x\xf4\x8f\xbf\xbfy" };
	struct buf b, c;

	buf_init(&b, 0);
	buf_init(&c, 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		for (int k = 0; k < 2; k++) {
			const char *also = k ? "." : NULL;
			buf_reset(&b);
			buf_reset(&c);
			TEST_ASSERT(mutf7_encode(&b, names[i], strlen(names[i]),
			    also) == 0);
			TEST_ASSERT(mutf7_decode(&c, b.data, b.len, also) == 0);
			TEST_ASSERT_STREQ(buf_cstr(&c), names[i]);
		}
	}
	buf_free(&b);
	buf_free(&c);
}

int
main(void)
{
	TEST_RUN(test_rfc3501_examples);
	TEST_RUN(test_also);
	TEST_RUN(test_decode_strict);
	TEST_RUN(test_encode_invalid);
	TEST_RUN(test_round_trip);
	return test_done("test-mutf7");
}
