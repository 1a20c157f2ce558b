/*
 * test-sasl - SASL PLAIN and LOGIN decoding: shapes, the authzid rule,
 * and the size limit (a SASL_LINE_MAX line of base64 decodes; longer
 * does not).
 */
#include <stdlib.h>
#include <string.h>

#include "auth/sasl.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/test.h"

/* base64 of raw[0..n) into a malloc'd string; *len_r its length. */
static char *
b64(const void *raw, size_t n, size_t *len_r)
{
	struct buf b;

	buf_init(&b, 0);
	if (base64_encode(raw, n, &b) < 0)
		abort();
	*len_r = b.len;
	return buf_steal(&b, NULL);
}

static int
plain(const void *raw, size_t n, struct sasl_creds *c)
{
	size_t len;
	char *s = b64(raw, n, &len);
	int r = sasl_plain_decode(s, len, c);

	free(s);
	return r;
}

static void
test_plain_shapes(void)
{
	struct sasl_creds c;

	TEST_ASSERT(plain("\0u@a.test\0pw", 12, &c) == 0);
	TEST_ASSERT_STREQ(c.authzid, "");
	TEST_ASSERT_STREQ(c.user, "u@a.test");
	TEST_ASSERT_STREQ(c.pass, "pw");
	sasl_creds_clear(&c);
	TEST_ASSERT(plain("u@a.test\0u@a.test\0pw", 20, &c) == 0);
	sasl_creds_clear(&c);
	TEST_ASSERT(plain("v@a.test\0u@a.test\0pw", 20, &c) == -2);
	TEST_ASSERT(plain("\0\0pw", 4, &c) == -1);		/* no user */
	TEST_ASSERT(plain("\0u\0", 3, &c) == -1);		/* no password */
	TEST_ASSERT(plain("\0u\0p\0w", 6, &c) == -1);		/* NUL in it */
	TEST_ASSERT(plain("u", 1, &c) == -1);
	TEST_ASSERT(sasl_plain_decode("!!!!", 4, &c) == -1);
}

static void
test_size_limit(void)
{
	size_t n = SASL_LINE_MAX / 4 * 3, len;
	char *raw = malloc(n + 3), *s, *v = NULL;
	struct sasl_creds c;

	memset(raw, 'x', n + 3);
	memcpy(raw, "\0u@a.test\0", 10);
	TEST_ASSERT(SASL_RESPONSE_MAX == n);
	/* exactly a full line: decoded whole */
	s = b64(raw, n, &len);
	TEST_ASSERT(len == SASL_LINE_MAX);
	TEST_ASSERT(sasl_plain_decode(s, len, &c) == 0);
	TEST_ASSERT(strlen(c.pass) == n - 10);
	sasl_creds_clear(&c);
	free(s);
	/* one group of four more: refused, not truncated */
	s = b64(raw, n + 3, &len);
	TEST_ASSERT(sasl_plain_decode(s, len, &c) == -1);
	TEST_ASSERT(sasl_login_decode(s, len, &v) == -1);
	free(s);
	memset(raw, 'y', n);		/* a LOGIN step has no NUL */
	s = b64(raw, n, &len);
	TEST_ASSERT(sasl_login_decode(s, len, &v) == 0 && strlen(v) == n);
	free(v);
	free(s);
	free(raw);
}

int
main(void)
{
	TEST_RUN(test_plain_shapes);
	TEST_RUN(test_size_limit);
	return test_done("test-sasl");
}
