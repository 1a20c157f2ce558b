/*
 * test-spf-record - unit tests of the SPF record parser (spf_record.c).
 *
 * Trust: test code, run under ASan/UBSan.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dns/dns.h"
#include "dns/dns_rr.h"
#include "policy/spf.h"
#include "policy/spf_macro.h"
#include "policy/spf_record.h"
#include "util/test.h"
#include "util/xmalloc.h"

static struct spf_record *
parse(const char *txt, char **err)
{
	return spf_record_parse(txt, strlen(txt), err);
}

static void
test_record_valid(void)
{
	static const char *const ok[] = {
		"v=spf1",
		"v=spf1 ",
		"V=SPF1 -ALL",
		"v=spf1   a   mx  -all  ",
		"v=spf1 +all ~all ?all -all",
		"v=spf1 a a:example.com a/24 a//64 a/24//64 a:e.com/0//0",
		"v=spf1 mx mx:%{d} mx:%{d}/27 mx:%%%_/.Clara.de/27",
		"v=spf1 ptr ptr:example.com ptr:%{d2}",
		"v=spf1 ip4:192.0.2.0/24 ip4:0.0.0.0/0 ip4:255.255.255.255",
		"v=spf1 ip6:::1 ip6:2001:db8::/32 ip6:::ffff:1.2.3.4/128",
		"v=spf1 include:_spf.example.com exists:%{i}._spf.%{d}",
		"v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all",
		"v=spf1 redirect=_spf.example.com",
		"v=spf1 -all exp=explain._spf.%{d}",
		"v=spf1 moo= foo.bar-baz_2=%{t}%{c}%{r} x=%%%_%-",
		"v=spf1 a:example.com. a:e-x.1-2 a:foo.c0m a:%{d}.%-",
		"v=spf1 exists:%{i}.%{s1}.100/86400.rate.%{d}",
		"v=spf1 a:foo.com//bar.com",
	};
	struct spf_record *rec;
	char *err = NULL;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		rec = parse(ok[i], &err);
		if (rec == NULL)
			fprintf(stderr, "  %s: %s\n", ok[i], err);
		TEST_ASSERT(rec != NULL && err == NULL);
		spf_record_free(&rec);
		TEST_ASSERT(rec == NULL);
	}
}

static void
test_record_invalid(void)
{
	static const char *const bad[] = {
		"v=spf1 foo",			/* unknown mechanism */
		"v=spf1 ip4:192.0.2.3 ?all moo",
		"v=spf1 =a",			/* unknown qualifier */
		"v=spf1 -all:3030",
		"v=spf1 all/24",
		"v=spf1 a:example.com:8080",
		"v=spf1 a:example.com,",
		"v=spf1 a:example",		/* no top label */
		"v=spf1 a:example.123",		/* numeric top label */
		"v=spf1 a:example.-com",
		"v=spf1 a:example.com-",
		"v=spf1 a:%{d}.",
		"v=spf1 a/33",
		"v=spf1 a//129",
		"v=spf1 a/024",
		"v=spf1 a:e.com/",
		"v=spf1 mx:",
		"v=spf1 ip4:192.0.0.n",
		"v=spf1 ip4:1.2.3.444/24",
		"v=spf1 ip4:1.2.03.4/24",
		"v=spf1 ip4:1.2.3.4/33",
		"v=spf1 ip4:1.2.3.4//24",
		"v=spf1 ip4:1.2.3",
		"v=spf1 ip4",
		"v=spf1 ip6:2001:db8:ZZZZ::",
		"v=spf1 ip6:::1/129",
		"v=spf1 ip6:1.2.3.4",
		"v=spf1 include",
		"v=spf1 include:",
		"v=spf1 exists",
		"v=spf1 ptr/24",
		"v=spf1 redirect=",
		"v=spf1 redirect=a.com redirect=b.com",
		"v=spf1 exp=a.com exp=b.com",
		"v=spf1 -redirect=a.com",
		"v=spf1 a:%{x}.com",		/* unknown macro letter */
		"v=spf1 a:%{d0}.com",		/* transformer 0 */
		"v=spf1 a:%{d}%.com",
		"v=spf1 a:%(ir).com",
		"v=spf1 a:%{d",
		"v=spf1 exists:%{c}.example.com",	/* c r t: exp only */
		"v=spf1 exists:%{t}.example.com",
		"v=spf1 redirect=%{r}.example.com",
		"v=spf1 moo=%",
		"v=spf1 a\tmx",
		"v=spf1 a:ex\x7f" "ample.com",
		"v=spf1 a:\xc3\xa9.example.com",
		"v=spf1 1.2.3.4",
	};
	struct spf_record *rec;
	char *err = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rec = parse(bad[i], &err);
		if (rec != NULL)
			fprintf(stderr, "  accepted: %s\n", bad[i]);
		TEST_ASSERT(rec == NULL && err != NULL && err[0] != '\0');
		TEST_ASSERT(strpbrk(err, "\r\n") == NULL);
		XFREE(&err);
	}
	/* Not an SPF record at all. */
	TEST_ASSERT(!spf_record_is_spf("v=spf10", 7));
	TEST_ASSERT(!spf_record_is_spf("v=spf", 5));
	TEST_ASSERT(!spf_record_is_spf(" v=spf1", 7));
	TEST_ASSERT(spf_record_is_spf("v=spf1", 6));
	TEST_ASSERT(spf_record_is_spf("V=Spf1 -all", 11));
	rec = parse("spf2.0/pra", &err);
	TEST_ASSERT(rec == NULL && err != NULL);
	XFREE(&err);
}

static void
test_record_terms(void)
{
	struct spf_record *rec;
	const struct spf_term *t;
	char *err = NULL;

	rec = parse("v=spf1 ~a:%{d}/24//64 -mx//48 ?ip4:192.0.2.1/16 "
	    "ip6:2001:db8::/32 +include:i.example ptr exists:%{i}.x.example "
	    "all redirect=r.example exp=e.%{d} unknown=x", &err);
	TEST_ASSERT(rec != NULL);
	TEST_ASSERT(rec->nterms == 8 && rec->has_all);
	TEST_ASSERT_STREQ(rec->redirect, "r.example");
	TEST_ASSERT_STREQ(rec->exp, "e.%{d}");
	t = &rec->terms[0];
	TEST_ASSERT(t->mech == SPF_MECH_A && t->qual == SPF_SOFTFAIL);
	TEST_ASSERT_STREQ(t->domain, "%{d}");
	TEST_ASSERT(t->cidr4 == 24 && t->cidr6 == 64);
	t = &rec->terms[1];
	TEST_ASSERT(t->mech == SPF_MECH_MX && t->qual == SPF_FAIL);
	TEST_ASSERT(t->domain == NULL && t->cidr4 == 32 && t->cidr6 == 48);
	t = &rec->terms[2];
	TEST_ASSERT(t->mech == SPF_MECH_IP4 && t->qual == SPF_NEUTRAL);
	TEST_ASSERT(t->cidr4 == 16 && memcmp(t->net, "\xc0\x00\x02\x01", 4)
	    == 0);
	t = &rec->terms[3];
	TEST_ASSERT(t->mech == SPF_MECH_IP6 && t->cidr6 == 32);
	TEST_ASSERT(memcmp(t->net, "\x20\x01\x0d\xb8", 4) == 0);
	TEST_ASSERT(rec->terms[4].mech == SPF_MECH_INCLUDE &&
	    rec->terms[4].qual == SPF_PASS);
	TEST_ASSERT(rec->terms[5].mech == SPF_MECH_PTR &&
	    rec->terms[5].domain == NULL);
	TEST_ASSERT(rec->terms[6].mech == SPF_MECH_EXISTS);
	TEST_ASSERT(rec->terms[7].mech == SPF_MECH_ALL &&
	    rec->terms[7].qual == SPF_PASS);
	spf_record_free(&rec);

	/* Many terms (the array grows). */
	{
		char big[8192];
		size_t off = 0;

		off += (size_t)snprintf(big, sizeof(big), "v=spf1");
		for (int i = 0; i < 300; i++)
			off += (size_t)snprintf(big + off, sizeof(big) - off,
			    " ip4:10.0.%d.%d", i / 256, i % 256);
		rec = parse(big, &err);
		TEST_ASSERT(rec != NULL && rec->nterms == 300);
		TEST_ASSERT(rec->terms[299].net[3] == 299 % 256);
		spf_record_free(&rec);
	}
}

int
main(void)
{
	TEST_RUN(test_record_valid);
	TEST_RUN(test_record_invalid);
	TEST_RUN(test_record_terms);
	return test_done("test-spf-record");
}
