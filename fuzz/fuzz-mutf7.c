/*
 * fuzz-mutf7 - the modified UTF-7 codec (util/mutf7.c) and the UTF-8
 * decoder (util/utf8.c) on arbitrary bytes. Beyond "no crash, no leak, no
 * UB" it checks the contracts: what decodes is well-formed UTF-8 and
 * encodes back to the very input (one name, one encoding), with and
 * without "." shifted; what is well-formed UTF-8 encodes to printable
 * ASCII that decodes back to it; utf8_valid agrees with utf8_decode.
 *
 * Trust: test code.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/mutf7.h"
#include "util/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static void
check(const char *s, size_t n, const char *also)
{
	struct buf a, b;

	buf_init(&a, 0);
	buf_init(&b, 0);
	if (mutf7_decode(&a, s, n, also) == 0) {
		CHECK(utf8_valid(a.data ? a.data : "", a.len));
		CHECK(mutf7_encode(&b, buf_cstr(&a), a.len, also) == 0);
		CHECK(b.len == n && memcmp(buf_cstr(&b), s, n) == 0);
	}
	buf_reset(&a);
	buf_reset(&b);
	if (mutf7_encode(&a, s, n, also) == 0) {
		CHECK(utf8_valid(s, n));
		for (size_t i = 0; i < a.len; i++)
			CHECK(a.data[i] >= 0x20 && a.data[i] <= 0x7e);
		CHECK(mutf7_decode(&b, buf_cstr(&a), a.len, also) == 0);
		CHECK(b.len == n && memcmp(buf_cstr(&b), s, n) == 0);
	} else
		CHECK(!utf8_valid(s, n));
	buf_free(&a);
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	uint32_t cp;
	bool valid = true;

	for (size_t i = 0, n; i < size; i += n ? n : 1) {
		n = utf8_decode(s + i, size - i, &cp);
		if (n == 0)
			valid = false;
		else
			CHECK(cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff));
	}
	CHECK(valid == utf8_valid(s, size));
	check(s, size, NULL);
	check(s, size, ".");
	return 0;
}
