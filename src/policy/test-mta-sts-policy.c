/*
 * test-mta-sts-policy - the MTA-STS policy parser on RFC 8461's example
 * policy (LF and CRLF, the last line unterminated), required and repeated
 * keys, limits (64 KiB, 100 mx, max_age), the MX match of 4.1, the
 * "_mta-sts" TXT record (3.1) and the TLS-RPT record (RFC 8460 3.3's
 * examples), valid inputs also fed as every prefix.
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/mta_sts_policy.h"
#include "util/buf.h"
#include "util/test.h"

/* RFC 8461 3.2's example. */
#define RFC_POLICY "version: STSv1\nmode: enforce\nmx: mail.example.com\n" \
	"mx: *.example.net\nmx: backupmx.example.com\nmax_age: 604800\n"

static int
parse(const char *s, struct mta_sts_policy *p)
{
	const char *err = NULL;
	int rc = mta_sts_policy_parse(s, strlen(s), p, &err);

	if (rc < 0 && (err == NULL || p->n_mx != 0))
		abort();
	return rc;
}

static void
test_policy_rfc(void)
{
	struct mta_sts_policy p;
	const char *err;

	TEST_ASSERT(parse(RFC_POLICY, &p) == 0);
	TEST_ASSERT(p.mode == MTA_STS_ENFORCE && p.max_age == 604800);
	TEST_ASSERT(p.n_mx == 3);
	TEST_ASSERT_STREQ(p.mx[0], "mail.example.com");
	TEST_ASSERT_STREQ(p.mx[1], "*.example.net");
	TEST_ASSERT(mta_sts_policy_mx_ok(&p, "mail.example.com"));
	TEST_ASSERT(mta_sts_policy_mx_ok(&p, "Mx1.Example.NET."));
	TEST_ASSERT(!mta_sts_policy_mx_ok(&p, "example.net"));
	TEST_ASSERT(!mta_sts_policy_mx_ok(&p, "a.b.example.net"));
	TEST_ASSERT(!mta_sts_policy_mx_ok(&p, "evil.example.org"));
	TEST_ASSERT_STREQ(mta_sts_mode_name(p.mode), "enforce");
	mta_sts_policy_clear(&p);
	/* Every proper prefix lacks max_age or ends inside a value. */
	for (size_t n = 0; n + 1 < strlen(RFC_POLICY); n++) {
		int rc = mta_sts_policy_parse(RFC_POLICY, n, &p, &err);

		if (rc == 0) {
			TEST_ASSERT(n >= strlen(RFC_POLICY) - 7);
			mta_sts_policy_clear(&p);
		}
	}
	/* CRLF, white space after the colon and at line ends, no final
	 * line end, keys in any order, unknown keys ignored, upper case mx. */
	TEST_ASSERT(parse("max_age:86400 \r\nmx:\tMX.Example.COM\r\n"
	    "x-ext: anything at all\r\n\r\nmode: testing\r\n"
	    "version: STSv1", &p) == 0);
	TEST_ASSERT(p.mode == MTA_STS_TESTING && p.max_age == 86400);
	TEST_ASSERT(p.n_mx == 1);
	TEST_ASSERT_STREQ(p.mx[0], "mx.example.com");
	mta_sts_policy_clear(&p);
	/* mode none needs no mx; max_age above a year is cut to a year. */
	TEST_ASSERT(parse("version: STSv1\nmode: none\nmax_age: 9999999999\n",
	    &p) == 0);
	TEST_ASSERT(p.mode == MTA_STS_NONE && p.max_age == 31557600);
	mta_sts_policy_clear(&p);
}

static void
test_policy_bad(void)
{
	static const char *const bad[] = {
		"",
		"version: STSv2\nmode: enforce\nmx: a.b\nmax_age: 1\n",
		"version: STSv1\nmode: Enforce\nmx: a.b\nmax_age: 1\n",
		"Version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmax_age: 1\n",	/* no mx */
		"version: STSv1\nmode: enforce\nmx: a.b\n",	/* no max_age */
		"mode: enforce\nmx: a.b\nmax_age: 1\n",		/* no version */
		"version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 12345678901\n",
		"version: STSv1\nmode: enforce\nmx: a.b\nmax_age: -1\n",
		"version: STSv1\nmode: enforce\nmx: a.b\nmax_age:\n",
		"version: STSv1\nmode: testing\nmode: enforce\nmx: a.b\n"
		    "max_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: a..b\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: *.\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: a.*.b\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: a.b.\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: -a.b\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 1\ngarbage\n",
		"version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 1\n_x: y\n",
		"version: STSv1\rmode: enforce\nmx: a.b\nmax_age: 1\n",
	};
	struct mta_sts_policy p;
	const char *err = NULL;
	char nul[] = "version: STSv1\nmode: none\nmax_age: 1\n\0";

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &p) == 0)
			fprintf(stderr, "  accepted: %s\n", bad[i]);
		TEST_ASSERT(p.n_mx == 0 && p.mx[0] == NULL);
	}
	TEST_ASSERT(mta_sts_policy_parse(nul, sizeof(nul), &p, &err) < 0);
	TEST_ASSERT(parse("version: STSv1\nmode: none\nmax_age: 1\n", &p) == 0);
	mta_sts_policy_clear(&p);
}

static void
test_policy_limits(void)
{
	struct mta_sts_policy p;
	struct buf b;
	const char *err = NULL;

	buf_init(&b, 0);
	buf_printf(&b, "version: STSv1\nmode: enforce\nmax_age: 1\n");
	for (int i = 0; i < MTA_STS_MX_MAX; i++)
		buf_printf(&b, "mx: mx%d.example.com\n", i);
	TEST_ASSERT(mta_sts_policy_parse(b.data, b.len, &p, &err) == 0);
	TEST_ASSERT(p.n_mx == MTA_STS_MX_MAX);
	TEST_ASSERT(mta_sts_policy_mx_ok(&p, "mx99.example.com"));
	mta_sts_policy_clear(&p);
	buf_printf(&b, "mx: one-too-many.example.com\n");
	TEST_ASSERT(mta_sts_policy_parse(b.data, b.len, &p, &err) < 0);
	TEST_ASSERT(p.n_mx == 0);
	/* 64 KiB of body, padding in an ignored key, is the most. */
	buf_reset(&b);
	buf_printf(&b, "version: STSv1\nmode: none\nmax_age: 1\nx: ");
	while (b.len < MTA_STS_BODY_MAX)
		buf_putc(&b, 'x');
	TEST_ASSERT(mta_sts_policy_parse(b.data, b.len, &p, &err) == 0);
	buf_putc(&b, 'x');
	TEST_ASSERT(mta_sts_policy_parse(b.data, b.len, &p, &err) < 0);
	buf_free(&b);
}

static void
test_mx_match(void)
{
	TEST_ASSERT(mta_sts_mx_match("mail.example.com", "mail.example.com"));
	TEST_ASSERT(mta_sts_mx_match("mail.example.com", "MAIL.example.com."));
	TEST_ASSERT(!mta_sts_mx_match("mail.example.com", "mail.example.co"));
	TEST_ASSERT(!mta_sts_mx_match("mail.example.com", "xmail.example.com"));
	TEST_ASSERT(mta_sts_mx_match("*.example.com", "mx1.example.com"));
	TEST_ASSERT(!mta_sts_mx_match("*.example.com", "example.com"));
	TEST_ASSERT(!mta_sts_mx_match("*.example.com", ".example.com"));
	TEST_ASSERT(!mta_sts_mx_match("*.example.com", "a.mx.example.com"));
	TEST_ASSERT(!mta_sts_mx_match("*.example.com", "mx1.example.comx"));
	TEST_ASSERT(!mta_sts_mx_match("*.example.com", "mx1xexample.com"));
	TEST_ASSERT(!mta_sts_mx_match("*.example.com", ""));
}

static void
test_txt(void)
{
	char id[MTA_STS_ID_MAX + 1];
	const char *err = NULL;
	static const char *const good[] = {
		"v=STSv1; id=20160831085700Z;",		/* RFC 8461 3.1 */
		"v=STSv1;id=20160831085700Z",
		"v=STSv1 ;\tid=20160831085700Z ; ext.x-1=val ;",
	};
	static const char *const bad[] = {
		"", "v=STSv1", "v=STSv1;", "v=STSv10; id=1", "V=STSv1; id=1",
		" v=STSv1; id=1", "v=STSv1; id=", "v=STSv1; id=a-b",
		"v=STSv1; id=123456789012345678901234567890123",
		"v=STSv1; id=1; id=2", "v=STSv1; id=1; x", "v=STSv1; id=1; x=",
		"v=STSv1; id=1; x=a b", "v=STSv1; id=1; _x=1",
		"id=1; v=STSv1", "v=STSv1 id=1", "v=STSv1\tid=1;",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		TEST_ASSERT(mta_sts_txt_parse(good[i], strlen(good[i]), id,
		    &err) == 0);
		TEST_ASSERT_STREQ(id, "20160831085700Z");
	}
	TEST_ASSERT(mta_sts_txt_parse("v=STSv1; id=12345678901234567890"
	    "123456789012", 44, id, &err) == 0 && strlen(id) == 32);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		if (mta_sts_txt_parse(bad[i], strlen(bad[i]), id, &err) == 0)
			fprintf(stderr, "  accepted: %s\n", bad[i]);
		TEST_ASSERT(err != NULL);
	}
}

static void
test_tlsrpt(void)
{
	struct tlsrpt_record r;
	const char *err = NULL;
	const char *s;

	s = "v=TLSRPTv1; rua=mailto:reports@example.com";	/* RFC 8460 3.3 */
	TEST_ASSERT(tlsrpt_record_parse(s, strlen(s), &r, &err) == 0);
	TEST_ASSERT(r.n_rua == 1);
	TEST_ASSERT_STREQ(r.rua[0], "mailto:reports@example.com");
	tlsrpt_record_clear(&r);
	s = "v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt";
	TEST_ASSERT(tlsrpt_record_parse(s, strlen(s), &r, &err) == 0);
	TEST_ASSERT_STREQ(r.rua[0], "https://reporting.example.com/v1/tlsrpt");
	tlsrpt_record_clear(&r);
	/* Several, spaced; other schemes skipped; extensions ignored. */
	s = "v=TLSRPTv1;rua=mailto:a@x.org , ftp://x.org/r ,HTTPS://r.x.org/;"
	    " x-ext=1;";
	TEST_ASSERT(tlsrpt_record_parse(s, strlen(s), &r, &err) == 0);
	TEST_ASSERT(r.n_rua == 2);
	TEST_ASSERT_STREQ(r.rua[0], "mailto:a@x.org");
	TEST_ASSERT_STREQ(r.rua[1], "HTTPS://r.x.org/");
	tlsrpt_record_clear(&r);
	static const char *const bad[] = {
		"", "v=TLSRPTv1", "v=TLSRPTv1; rua=", "v=TLSRPTv1; rua=ftp://x",
		"v=TLSRPTv1; rua=mailto:a@b; rua=mailto:c@d",
		"v=TLSRPTv1; rua=mailto:a@b,,mailto:c@d",
		"v=TLSRPTv1; rua=mailto:a b@c", "v=TLSRPTv2; rua=mailto:a@b",
		"rua=mailto:a@b; v=TLSRPTv1", "v=TLSRPTv1 rua=mailto:a@b",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tlsrpt_record_parse(bad[i], strlen(bad[i]), &r, &err) == 0)
			fprintf(stderr, "  accepted: %s\n", bad[i]);
		TEST_ASSERT(r.n_rua == 0 && r.rua[0] == NULL);
	}
}

int
main(void)
{
	TEST_RUN(test_policy_rfc);
	TEST_RUN(test_policy_bad);
	TEST_RUN(test_policy_limits);
	TEST_RUN(test_mx_match);
	TEST_RUN(test_txt);
	TEST_RUN(test_tlsrpt);
	return test_done("test-mta-sts-policy");
}
