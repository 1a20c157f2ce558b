/* Unit tests for util/utf8.c. */
#include <stdlib.h>

#include "util/test.h"
#include "util/utf8.h"

static void
test_decode(void)
{
	uint32_t cp = 0;

	TEST_ASSERT(utf8_decode("A", 1, &cp) == 1 && cp == 'A');
	TEST_ASSERT(utf8_decode("\0", 1, &cp) == 1 && cp == 0);
	TEST_ASSERT(utf8_decode("\xc3\xa9", 2, &cp) == 2 && cp == 0xe9);
	TEST_ASSERT(utf8_decode("\xe2\x82\xac", 3, &cp) == 3 && cp == 0x20ac);
	TEST_ASSERT(utf8_decode("\xf0\x9f\x98\x80", 4, &cp) == 4 &&
	    cp == 0x1f600);
	TEST_ASSERT(utf8_decode("\xf4\x8f\xbf\xbf", 4, &cp) == 4 &&
	    cp == 0x10ffff);
	/* truncated: the length bounds the read */
	TEST_ASSERT(utf8_decode("\xc3\xa9", 1, &cp) == 0);
	TEST_ASSERT(utf8_decode("\xe2\x82\xac", 2, &cp) == 0);
	/* overlongs, surrogates, beyond Unicode, bad bytes */
	TEST_ASSERT(utf8_decode("\xc0\x80", 2, &cp) == 0);
	TEST_ASSERT(utf8_decode("\xc1\xbf", 2, &cp) == 0);
	TEST_ASSERT(utf8_decode("\xe0\x80\xaf", 3, &cp) == 0);
	TEST_ASSERT(utf8_decode("\xf0\x8f\xbf\xbf", 4, &cp) == 0);
	TEST_ASSERT(utf8_decode("\xed\xa0\x80", 3, &cp) == 0);
	TEST_ASSERT(utf8_decode("\xed\xbf\xbf", 3, &cp) == 0);
	TEST_ASSERT(utf8_decode("\xf4\x90\x80\x80", 4, &cp) == 0);
	TEST_ASSERT(utf8_decode("\xf5\x80\x80\x80", 4, &cp) == 0);
	TEST_ASSERT(utf8_decode("\x80", 1, &cp) == 0);
	TEST_ASSERT(utf8_decode("\xff", 1, &cp) == 0);
	TEST_ASSERT(utf8_decode("\xc3\x41", 2, &cp) == 0);
}

static void
test_valid(void)
{
	TEST_ASSERT(utf8_valid("", 0));
	TEST_ASSERT(utf8_valid("plain\0x", 7));
	TEST_ASSERT(utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
	TEST_ASSERT(!utf8_valid("\xc3", 1));
	TEST_ASSERT(!utf8_valid("ab\xc3\xa9", 3));
	TEST_ASSERT(!utf8_valid("\xed\xa0\x80", 3));
	TEST_ASSERT(!utf8_valid("a\x80z", 3));
}

static void
test_encode(void)
{
	char s[4];
	uint32_t cp, all[] = { 0, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000,
	    0xfffd, 0xffff, 0x10000, 0x10ffff };
	struct buf b;

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		size_t n = utf8_put(s, all[i]);
		TEST_ASSERT(utf8_decode(s, n, &cp) == n && cp == all[i]);
	}
	TEST_ASSERT(utf8_put(s, 0xd800) == 3 && memcmp(s, "\xef\xbf\xbd", 3) == 0);
	TEST_ASSERT(utf8_put(s, 0x110000) == 3 &&
	    memcmp(s, "\xef\xbf\xbd", 3) == 0);
	buf_init(&b, 0);
	TEST_ASSERT(utf8_append(&b, 0xe9) == 0 && utf8_append(&b, 'x') == 0);
	TEST_ASSERT(b.len == 3 && memcmp(b.data, "\xc3\xa9x", 3) == 0);
	buf_free(&b);
}

static void
test_control(void)
{
	TEST_ASSERT(utf8_is_control(0) && utf8_is_control(0x1f));
	TEST_ASSERT(utf8_is_control(0x7f) && utf8_is_control(0x9f));
	TEST_ASSERT(!utf8_is_control(' ') && !utf8_is_control(0xa0));
}

int
main(void)
{
	TEST_RUN(test_decode);
	TEST_RUN(test_valid);
	TEST_RUN(test_encode);
	TEST_RUN(test_control);
	return test_done("test-utf8");
}
