/*
 * test-arc-header - ARC field parsing (RFC 8617 4.1: AAR prefix with
 * CFWS, AMS and AS tag lists, instances 1..50, cv values, h= refused in
 * an AS) and the structural chain checks of 5.1.1 steps 1-3 on header
 * sections shaped like RFC 8617 Appendix B's (a two-hop chain, folded,
 * with the newest set on top), on a real two-hop chain sealed by
 * dkimpy's arcsign, and on broken chains: a gap, a missing or
 * repeated field, wrong cv values, the latest cv=fail, instance 51.
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/arc_header.h"
#include "util/buf.h"
#include "util/test.h"

#define AAR(i, rest) "ARC-Authentication-Results: i=" #i "; " rest "\n"
#define AMS(i) "ARC-Message-Signature: i=" #i "; a=rsa-sha256;\n" \
	"\tc=relaxed/relaxed; d=example.org; s=dummy; t=12345;\n" \
	"\th=from:to:date:subject:mime-version:arc-authentication-results;\n" \
	"\tbh=KWSe46TZKCcDbH4klJPo+tjk5LWJnVRlP5pvjXFZYLQ=;\n\tb=QsRzR/UqwR\n"
#define AS(i, cv) "ARC-Seal: i=" #i "; a=rsa-sha256; t=12346; cv=" cv ";\n" \
	"\td=example.org; s=dummy; b=A8ZhV6rbmlYz3S7dEHrY/pb9\n"

/* Appendix B.2-like: a list at example.org re-sent what example.com
 * sent it, each hop adding its set on top. */
#define SET1 AAR(1, "example.com; dkim=pass header.d=example.com;\n" \
	"\tspf=pass smtp.mfrom=jqd@d1.example") AMS(1) AS(1, "none")
#define SET2 AAR(2, "example.org; dkim=fail;\n" \
	"\tarc=pass (as.1.example.com=pass)") \
	AMS(2) AS(2, "pass")
#define BODYHDR "Received: from example.com\nFrom: jqd@d1.example\n" \
	"Subject: hello\n\n"

/* Two hops sealed by dkimpy 1.1.4's arcsign (Debian python3-dkim), the
 * second on top of the first, as a receiver sees them. */
#define DKIMPY_CHAIN \
	"ARC-Seal: i=2; cv=pass; a=rsa-sha256; d=example.net; s=dummy;\n" \
	" t=1796604479;\n" \
	" b=sWyzDc/JcwWfVlLs6NHug9xtsFqwv354S94Ck7pwFYEOHjrQ0We7E7LYM9DLoiFtU8UpX\n" \
	" 9rvSU3XZl3hjYytdqYUAN9I8BcDxuQXnQJDgV0d8odwGl7RKVVSvTmacIVsnvcU97hKtCoL\n" \
	" Wo/uYJb/RgyyWsHoWEP9VR+Gf3Qsf2I=\n" \
	"ARC-Message-Signature: i=2; a=rsa-sha256; c=relaxed/relaxed;\n" \
	" d=example.net; s=dummy; t=1796604479; h=from : to : subject : date :\n" \
	" from; bh=UrA8rmgY3eNBotmDWtzAmHyn5RyZv8Gea45sNGsP0zw=;\n" \
	" b=VCX7ZeGn4iti228uoHaYOZi3w9dA/WEM6tfsqpD9cVSrVTzwRlEBz8AMIdfA1SMoe2yOS\n" \
	" w8YHbfgCNwri5Jafofj/QHTpeC85WfAQbC4/cK4aQJHC/c+AcTKxyzfI47w8/SDfFYMY06k\n" \
	" pbPXB1kA9F4evGVoJygavhz8auUMUK4=\n" \
	"ARC-Authentication-Results: i=2; mx.example.net; arc=pass (i=1);\n" \
	"  dkim=pass header.d=lists.example.org\n" \
	"ARC-Seal: i=1; cv=none; a=rsa-sha256; d=lists.example.org; s=dummy;\n" \
	" t=1796604476;\n" \
	" b=L7q+nz9LLodUbgq+LGcjqp6icvzop72t1u1Rzj7oaypBISF93RQNdHVpfdeHBCK3fgKfV\n" \
	" U7uPOx8DDytUPIE13saeHO98buRIC2f7ZgMR2Pg8JQe5fIiHQuzi+KZUSBZ+9cK+rO+/tIA\n" \
	" IZsjcNNeBz1ZNeCRsOFEypKVaMaZ/08=\n" \
	"ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed;\n" \
	" d=lists.example.org; s=dummy; t=1796604476; h=from : to : subject :\n" \
	" date : from; bh=UrA8rmgY3eNBotmDWtzAmHyn5RyZv8Gea45sNGsP0zw=;\n" \
	" b=ZxvTjr7+iSs3MGT3i6SFJRhJmIXUByl5AOf8u+BQYYo7nqqg8rKI2LhS0zcPTXxwGkZlx\n" \
	" Ol0RGNPLVdiF7lWe44STzxSuZnZHvTV0io1Ykr8gl7DLh52Y7wnK/80flWpqlpyx2f5mdbg\n" \
	" OC/fZoLarhq5XtgKBQkfGxDohNBu8mI=\n" \
	"ARC-Authentication-Results: i=1; lists.example.org; " \
	"spf=pass smtp.mfrom=jqd@d1.example;\n" \
	"  dkim=pass header.d=d1.example\n" \
	"From: jqd@d1.example\n" \
	"To: list@lists.example.org\n" \
	"Subject: hello\n" \
	"Date: Sun, 06 Dec 2026 10:00:00 +0000\n" \
	"\n"

static struct arc_chain chain;	/* 7 KiB: not on the stack */

static enum arc_struct
collect(const char *h, struct arc_chain *c)
{
	return arc_chain_collect(h, strlen(h), c);
}

static void
test_fields(void)
{
	struct arc_field f;
	struct dkim_tags t;
	const char *err = NULL, *v;

	v = " (first) i =\r\n 7 (seven) ;example.com; spf=pass";
	TEST_ASSERT(arc_field_parse(ARC_AAR, v, strlen(v), &f, &t, &err) == 0);
	TEST_ASSERT(f.instance == 7 && f.kind == ARC_AAR);
	TEST_ASSERT(f.payload_len == 21 && strncmp(f.payload, "example.com",
	    11) == 0);
	v = "i=50; a=rsa-sha256; b=x; d=example.org; s=s; cv=Pass";
	TEST_ASSERT(arc_field_parse(ARC_AS, v, strlen(v), &f, &t, &err) == 0);
	TEST_ASSERT(f.instance == 50 && f.cv == ARC_CV_PASS);
	TEST_ASSERT(dkim_tags_get(&t, "d") != NULL);
	v = "i=3; a=rsa-sha256; b=x; bh=y; d=example.org; s=s; h=from";
	TEST_ASSERT(arc_field_parse(ARC_AMS, v, strlen(v), &f, &t, &err) == 0);
	TEST_ASSERT(f.instance == 3);
	TEST_ASSERT(arc_kind_of("arc-seal", 8) == ARC_AS);
	TEST_ASSERT(arc_kind_of("ARC-Sealx", 9) == -1);
	TEST_ASSERT_STREQ(arc_kind_name(ARC_AMS), "ARC-Message-Signature");
	TEST_ASSERT_STREQ(arc_cv_name(ARC_CV_FAIL), "fail");

	static const struct { enum arc_kind k; const char *v; } bad[] = {
		{ ARC_AAR, "i=1" }, { ARC_AAR, "i=1;" }, { ARC_AAR, "i=1; " },
		{ ARC_AAR, "i=0; x" }, { ARC_AAR, "i=51; x" },
		{ ARC_AAR, "i=001; x" }, { ARC_AAR, "i=; x" },
		{ ARC_AAR, "x=1; y" }, { ARC_AAR, "(unclosed i=1; x" },
		{ ARC_AAR, "((((((((((deep)))))))))) i=1; x" },
		{ ARC_AS, "i=1; a=rsa-sha256; b=x; d=e; s=s" },	/* no cv */
		{ ARC_AS, "i=1; a=rsa-sha256; b=x; d=e; s=s; cv=maybe" },
		{ ARC_AS, "i=1; a=rsa-sha256; b=x; d=e; s=s; cv=none; h=from" },
		{ ARC_AS, "a=rsa-sha256; b=x; d=e; s=s; cv=none" },
		{ ARC_AS, "i=1; i=2; a=rsa-sha256; b=x; d=e; s=s; cv=none" },
		{ ARC_AS, "i=x; a=rsa-sha256; b=x; d=e; s=s; cv=none" },
		{ ARC_AMS, "i=1; a=rsa-sha256; b=x; d=e; s=s; h=from" },
		{ ARC_AMS, "i=1; a=rsa-sha256; bh=x; d=e; s=s; h=from" },
		{ ARC_AMS, "i=1 a=rsa-sha256; b=x; bh=y; d=e; s=s; h=from" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		if (arc_field_parse(bad[i].k, bad[i].v, strlen(bad[i].v), &f,
		    &t, &err) == 0)
			fprintf(stderr, "  accepted: %s\n", bad[i].v);
		TEST_ASSERT(err != NULL);
	}
	char nul[] = "i=1; x\0y";
	TEST_ASSERT(arc_field_parse(ARC_AAR, nul, sizeof(nul) - 1, &f, &t,
	    &err) < 0);
}

static void
test_chain_good(void)
{
	struct arc_chain *c = &chain;

	TEST_ASSERT(collect("From: a@b\nSubject: x\n\n", c) ==
	    ARC_STRUCT_NONE);
	TEST_ASSERT(collect(DKIMPY_CHAIN, c) == ARC_STRUCT_OK);
	TEST_ASSERT(c->n == 2 && c->set[1].cv == ARC_CV_PASS);
	TEST_ASSERT(strncmp(c->set[1].field[ARC_AAR].value,
	    " i=2; mx.example.net;", 21) == 0);
	TEST_ASSERT(collect(SET1 BODYHDR, c) == ARC_STRUCT_OK);
	TEST_ASSERT(c->n == 1 && c->set[0].cv == ARC_CV_NONE);
	TEST_ASSERT(collect(SET2 SET1 BODYHDR, c) == ARC_STRUCT_OK);
	TEST_ASSERT(c->n == 2 && c->set[1].cv == ARC_CV_PASS);
	TEST_ASSERT(strncmp(c->set[1].field[ARC_AS].value, " i=2;", 5) == 0);
	TEST_ASSERT(strncmp(c->set[0].field[ARC_AAR].name,
	    "ARC-Authentication-Results", 26) == 0);
	/* Order in the header does not matter; CRLF line ends are fine. */
	TEST_ASSERT(collect(AS(1, "none") "From: a@b\n" AMS(1) AAR(1, "x.org"),
	    c) == ARC_STRUCT_OK);
	TEST_ASSERT(collect("ARC-Seal: i=1; a=rsa-sha256; cv=none; d=e;\r\n"
	    " s=s; b=x\r\nARC-Message-Signature: i=1; a=rsa-sha256; b=x;\r\n"
	    " bh=y; d=e; s=s; h=from\r\nARC-Authentication-Results: i=1; e;"
	    " spf=pass\r\n\r\nbody i=2\r\n", c) == ARC_STRUCT_OK);
}

static void
expect_fail(const char *h, const char *reason, unsigned instance)
{
	struct arc_chain *c = &chain;
	enum arc_struct r = collect(h, c);

	if (r != ARC_STRUCT_FAIL || strcmp(c->reason, reason) != 0 ||
	    c->bad_instance != instance) {
		fprintf(stderr, "  got %d %s i=%u, want %s i=%u\n", r,
		    c->reason ? c->reason : "-", c->bad_instance, reason,
		    instance);
		test_cur_failed = 1;
	}
}

static void
test_chain_broken(void)
{
	/* A gap: instance 2 missing below 3. */
	expect_fail(AAR(3, "x") AMS(3) AS(3, "pass") SET1, "instance missing",
	    2);
	/* A set without its AMS; a set with two AARs. */
	expect_fail(AAR(2, "x") AS(2, "pass") SET1, "ARC set incomplete", 2);
	expect_fail(SET2 AAR(1, "again") SET1,
	    "an ARC field repeated in its set", 1);
	/* cv: first must be none, later ones pass; the latest fail ends it. */
	expect_fail(AAR(1, "x") AMS(1) AS(1, "pass"),
	    "cv of instance 1 is not none", 1);
	expect_fail(AAR(2, "x") AMS(2) AS(2, "none") SET1,
	    "cv after instance 1 is not pass", 2);
	expect_fail(AAR(2, "x") AMS(2) AS(2, "fail") SET1, "latest cv=fail",
	    2);
	expect_fail(AAR(3, "x") AMS(3) AS(3, "pass") AAR(2, "x") AMS(2)
	    AS(2, "fail") SET1, "cv after instance 1 is not pass", 2);
	/* A malformed field anywhere fails the chain. */
	expect_fail(SET2 "ARC-Seal: i=3; cv=pass\n" SET1,
	    "AS lacks a required tag", 0);
	expect_fail("ARC-Authentication-Results: i=51; x\n",
	    "instance is not 1..50", 0);
	expect_fail("ARC-Seal: i=1; a=x; b=y; d=e; s=s; cv=none; h=from\n",
	    "AS with h=", 0);
}

static void
test_chain_50(void)
{
	struct arc_chain *c = &chain;
	struct buf b;

	buf_init(&b, 0);
	for (int i = 50; i >= 1; i--)
		buf_printf(&b, "ARC-Authentication-Results: i=%d; x\n"
		    "ARC-Message-Signature: i=%d; a=r; b=x; bh=y; d=e; s=s; "
		    "h=from\nARC-Seal: i=%d; a=r; b=x; d=e; s=s; cv=%s\n",
		    i, i, i, i == 1 ? "none" : "pass");
	enum arc_struct r = arc_chain_collect(b.data, b.len, c);
	buf_free(&b);
	TEST_ASSERT(r == ARC_STRUCT_OK && c->n == 50);
}

int
main(void)
{
	TEST_RUN(test_fields);
	TEST_RUN(test_chain_good);
	TEST_RUN(test_chain_broken);
	TEST_RUN(test_chain_50);
	return test_done("test-arc-header");
}
