/*
 * test-sasl - unit tests of SASL PLAIN and LOGIN decoding: the field
 * split, authzid, empty fields, stray NULs, bad base64, the
 * SASL_RESPONSE_MAX limit and a whole SASL_LINE_MAX line. The inputs are written as raw bytes and
 * encoded here, so each case reads as what the client meant.
 */
#include <stdlib.h>
#include <string.h>

#include "auth/sasl.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/test.h"
#include "util/xmalloc.h"

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

struct plain_case {
	const char	*raw;		/* decoded response ... */
	size_t		 len;		/* ... and its length (NULs inside) */
	int		 r;
	const char	*authzid, *user, *pass;
};

#define RAW(s) s, sizeof(s) - 1

static const struct plain_case plain_cases[] = {
	{ RAW("\0alice@a.test\0secret"), 0, "", "alice@a.test", "secret" },
	{ RAW("alice\0alice\0pw"), 0, "alice", "alice", "pw" },
	{ RAW("\0u\0p"), 0, "", "u", "p" },
	{ RAW("\0u\0p\xc3\xa9 \x01\xff"), 0, "", "u", "p\xc3\xa9 \x01\xff" },
	{ RAW("bob\0alice\0pw"), -2, NULL, NULL, NULL },	/* proxy auth */
	{ RAW("Alice\0alice\0pw"), -2, NULL, NULL, NULL },
	{ RAW("alice\0pw"), -1, NULL, NULL, NULL },		/* one NUL */
	{ RAW("alicepw"), -1, NULL, NULL, NULL },
	{ RAW("\0\0pw"), -1, NULL, NULL, NULL },		/* empty user */
	{ RAW("\0alice\0"), -1, NULL, NULL, NULL },		/* empty pass */
	{ RAW("\0\0"), -1, NULL, NULL, NULL },
	{ RAW("\0alice\0p\0w"), -1, NULL, NULL, NULL },		/* third NUL */
	{ RAW("\0alice\0pw\0"), -1, NULL, NULL, NULL },
	{ RAW(""), -1, NULL, NULL, NULL },
};

static void
check_plain(const struct plain_case *c, const char *b64, size_t len)
{
	struct sasl_creds cr;
	int r = sasl_plain_decode(b64, len, &cr);

	if (r != c->r)
		fprintf(stderr, "  PLAIN '%s': %d\n", b64, r);
	TEST_ASSERT(r == c->r);
	if (r != 0) {
		TEST_ASSERT(cr.user == NULL && cr.pass == NULL &&
		    cr.authzid == NULL);
		return;
	}
	TEST_ASSERT_STREQ(cr.authzid, c->authzid);
	TEST_ASSERT_STREQ(cr.user, c->user);
	TEST_ASSERT_STREQ(cr.pass, c->pass);
	sasl_creds_clear(&cr);
	TEST_ASSERT(cr.user == NULL && cr.pass == NULL && cr.authzid == NULL);
	sasl_creds_clear(&cr);			/* twice is safe */
}

static void
test_plain(void)
{
	for (size_t i = 0; i < sizeof(plain_cases) / sizeof(plain_cases[0]);
	    i++) {
		struct buf b;

		buf_init(&b, 0);
		TEST_ASSERT(base64_encode(plain_cases[i].raw,
		    plain_cases[i].len, &b) == 0);
		check_plain(&plain_cases[i], buf_cstr(&b), b.len);
		buf_free(&b);
		if (test_cur_failed)
			return;
	}
}

static void
test_bad_base64(void)
{
	static const char *const bad[] = {
		"AGFsaWNlAHB3", "AGFsaWNlAHB3=", "AGFs aWNlAHB3",
		"AGFsaWNl\r\nAHB3", "AGFsaWNlAHB3!", "*", "=", "====",
	};
	struct sasl_creds cr;
	char *out = NULL;

	/* the first one is good: "\0alice\0pw" */
	TEST_ASSERT(sasl_plain_decode(bad[0], strlen(bad[0]), &cr) == 0);
	sasl_creds_clear(&cr);
	TEST_ASSERT(sasl_login_decode(bad[0], strlen(bad[0]), &out) == -1);
	for (size_t i = 1; i < sizeof(bad) / sizeof(bad[0]); i++) {
		TEST_ASSERT(sasl_plain_decode(bad[i], strlen(bad[i]), &cr) == -1);
		TEST_ASSERT(sasl_login_decode(bad[i], strlen(bad[i]), &out) ==
		    -1);
		TEST_ASSERT(out == NULL);
	}
	/* len is honoured: a good prefix of a longer string */
	TEST_ASSERT(sasl_plain_decode("AGFsaWNlAHB3junk", 12, &cr) == 0);
	TEST_ASSERT_STREQ(cr.user, "alice");
	sasl_creds_clear(&cr);
}

/* SASL_RESPONSE_MAX decoded bytes pass, one more is refused. */
static void
test_limit(void)
{
	char *raw = xmalloc(SASL_RESPONSE_MAX + 4);
	struct sasl_creds cr;
	char *out = NULL;
	struct buf b;

	for (int extra = 0; extra <= 3; extra++) {
		size_t n = SASL_RESPONSE_MAX - 2 + (size_t)extra;
		memset(raw, 'p', n);
		raw[0] = '\0';
		raw[1] = 'u';
		raw[2] = '\0';
		buf_init(&b, 0);
		base64_encode(raw, n, &b);
		TEST_ASSERT(sasl_plain_decode(b.data, b.len, &cr) ==
		    (n <= SASL_RESPONSE_MAX ? 0 : -1));
		if (n <= SASL_RESPONSE_MAX)
			TEST_ASSERT(strlen(cr.pass) == n - 3);
		sasl_creds_clear(&cr);
		buf_free(&b);

		memset(raw, 'x', n);
		buf_init(&b, 0);
		base64_encode(raw, n, &b);
		TEST_ASSERT(sasl_login_decode(b.data, b.len, &out) ==
		    (n <= SASL_RESPONSE_MAX ? 0 : -1));
		if (n <= SASL_RESPONSE_MAX) {
			TEST_ASSERT(strlen(out) == n);
			free(out);
			out = NULL;
		}
		buf_free(&b);
	}
	free(raw);
}

struct login_case {
	const char	*b64;
	const char	*out;	/* NULL: refused */
};

static void
test_login(void)
{
	static const struct login_case cases[] = {
		{ "YWxpY2VAYS50ZXN0", "alice@a.test" },
		{ "cw==", "s" },
		{ "w6k=", "\xc3\xa9" },
		{ "", NULL },			/* empty */
		{ "AA==", NULL },		/* a NUL */
		{ "YQBi", NULL },		/* "a\0b" */
		{ "YWJj\r\n", NULL },
		{ "*", NULL },			/* the client cancels */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = NULL;
		int r = sasl_login_decode(cases[i].b64, strlen(cases[i].b64),
		    &out);

		if ((r == 0) != (cases[i].out != NULL))
			fprintf(stderr, "  LOGIN '%s': %d\n", cases[i].b64, r);
		TEST_ASSERT((r == 0) == (cases[i].out != NULL));
		if (r == 0) {
			TEST_ASSERT_STREQ(out, cases[i].out);
			free(out);
		} else
			TEST_ASSERT(r == -1 && out == NULL);
	}
}

/* A whole SASL_LINE_MAX line decodes; one group of four more does not. */
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
	TEST_RUN(test_plain);
	TEST_RUN(test_bad_base64);
	TEST_RUN(test_limit);
	TEST_RUN(test_login);
	TEST_RUN(test_size_limit);
	return test_done("test-sasl");
}
