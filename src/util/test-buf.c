/*
 * test-buf - unit tests of the growable buffer: growth (also one byte at
 * a time), the hard maximum leaving the buffer unchanged, printf, binary
 * data with NULs, consume, reset and steal.
 */
#include <stdint.h>
#include <stdlib.h>

#include "util/buf.h"
#include "util/test.h"

static void
test_empty(void)
{
	struct buf b;
	char *p;
	size_t n = 99;

	buf_init(&b, 0);
	TEST_ASSERT(b.data == NULL && b.len == 0);
	TEST_ASSERT_STREQ(buf_cstr(&b), "");
	buf_reset(&b);				/* on no memory: fine */
	buf_consume(&b, 10);
	TEST_ASSERT(buf_append(&b, NULL, 0) == 0);
	TEST_ASSERT(b.len == 0 && b.data != NULL && b.data[0] == '\0');
	p = buf_steal(&b, &n);
	TEST_ASSERT(n == 0 && p[0] == '\0');
	free(p);
	p = buf_steal(&b, NULL);		/* nothing held: "" */
	TEST_ASSERT_STREQ(p, "");
	free(p);
	buf_free(&b);
	buf_free(&b);				/* twice is safe */
}

/* The same 10 000 bytes appended whole and one byte at a time. */
static void
test_growth(void)
{
	struct buf whole, bytes;
	char src[10000];

	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (char)(i % 251);	/* NULs included */
	buf_init(&whole, 0);
	buf_init(&bytes, 0);
	TEST_ASSERT(buf_append(&whole, src, sizeof(src)) == 0);
	for (size_t i = 0; i < sizeof(src); i++) {
		TEST_ASSERT(buf_putc(&bytes, src[i]) == 0);
		TEST_ASSERT(bytes.len == i + 1 && bytes.cap > bytes.len);
		TEST_ASSERT(bytes.data[bytes.len] == '\0');
	}
	TEST_ASSERT(whole.len == sizeof(src) && bytes.len == sizeof(src));
	TEST_ASSERT(memcmp(whole.data, src, sizeof(src)) == 0);
	TEST_ASSERT(memcmp(bytes.data, src, sizeof(src)) == 0);
	TEST_ASSERT(whole.data[whole.len] == '\0');
	buf_free(&whole);
	buf_free(&bytes);
	TEST_ASSERT(whole.data == NULL && whole.cap == 0);
}

/* At max an append fails and leaves the buffer as it was. */
static void
test_max(void)
{
	struct buf b;
	char *p;
	size_t n;

	buf_init(&b, 8);
	TEST_ASSERT(buf_puts(&b, "12345") == 0);
	TEST_ASSERT(buf_puts(&b, "6789") == -1);
	TEST_ASSERT(b.len == 5);
	TEST_ASSERT_STREQ(b.data, "12345");
	TEST_ASSERT(buf_puts(&b, "678") == 0);	/* exactly max */
	TEST_ASSERT(buf_putc(&b, 'x') == -1);
	TEST_ASSERT(buf_printf(&b, "%d", 1) == -1);
	TEST_ASSERT(buf_append(&b, "", 0) == 0);
	TEST_ASSERT_STREQ(b.data, "12345678");
	buf_consume(&b, 3);			/* room again */
	TEST_ASSERT(buf_printf(&b, "%s", "abc") == 0);
	TEST_ASSERT_STREQ(b.data, "45678abc");
	/* a huge size cannot overflow the check */
	TEST_ASSERT(buf_append(&b, "x", SIZE_MAX) == -1);
	TEST_ASSERT(buf_append(&b, "x", SIZE_MAX - 4) == -1);
	p = buf_steal(&b, &n);
	TEST_ASSERT(n == 8);
	TEST_ASSERT_STREQ(p, "45678abc");
	free(p);
	TEST_ASSERT(b.max == 8 && b.len == 0);	/* steal keeps max */
	TEST_ASSERT(buf_puts(&b, "123456789") == -1);
	buf_free(&b);
	/* unbounded: SIZE_MAX still refused, not wrapped (a merely huge
	 * size would abort in xmalloc: unbounded buffers hold trusted data) */
	buf_init(&b, 0);
	TEST_ASSERT(buf_append(&b, "x", SIZE_MAX) == -1);
	TEST_ASSERT(buf_append(&b, "x", SIZE_MAX / 2 + 1) == -1);
	buf_free(&b);
}

static void
test_printf(void)
{
	struct buf b;
	char big[5000];

	buf_init(&b, 0);
	TEST_ASSERT(buf_printf(&b, "%s=%d", "a", 42) == 0);
	TEST_ASSERT(buf_printf(&b, "%s", "") == 0);
	TEST_ASSERT(buf_printf(&b, " %05.1f|%-3s|%c", 2.25, "x", 'z') == 0);
	TEST_ASSERT_STREQ(b.data, "a=42 002.2|x  |z");
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	TEST_ASSERT(buf_printf(&b, "<%s>", big) == 0);	/* grows inside */
	TEST_ASSERT(b.len == 16 + 2 + sizeof(big) - 1);
	TEST_ASSERT(b.data[b.len - 1] == '>' && b.data[b.len] == '\0');
	buf_free(&b);
	/* max counts the formatted length */
	buf_init(&b, 4);
	TEST_ASSERT(buf_printf(&b, "%d", 1234) == 0);
	buf_reset(&b);
	TEST_ASSERT(buf_printf(&b, "%d", 12345) == -1);
	TEST_ASSERT(b.len == 0);
	buf_free(&b);
}

static void
test_binary_consume(void)
{
	struct buf b;
	static const char bin[] = { 'a', '\0', 'b', '\0', '\0', 'c' };

	buf_init(&b, 0);
	TEST_ASSERT(buf_append(&b, bin, sizeof(bin)) == 0);
	TEST_ASSERT(b.len == 6 && memcmp(b.data, bin, 6) == 0);
	buf_consume(&b, 1);
	TEST_ASSERT(b.len == 5 && memcmp(b.data, bin + 1, 5) == 0);
	buf_consume(&b, 4);
	TEST_ASSERT(b.len == 1 && b.data[0] == 'c' && b.data[1] == '\0');
	buf_consume(&b, 5);			/* more than held */
	TEST_ASSERT(b.len == 0 && b.data[0] == '\0');
	TEST_ASSERT(buf_puts(&b, "again") == 0);
	buf_reset(&b);
	TEST_ASSERT(b.len == 0 && b.cap > 0 && b.data[0] == '\0');
	buf_free(&b);
}

int
main(void)
{
	TEST_RUN(test_empty);
	TEST_RUN(test_growth);
	TEST_RUN(test_max);
	TEST_RUN(test_printf);
	TEST_RUN(test_binary_consume);
	return test_done("test-buf");
}
