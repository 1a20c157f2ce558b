/*
 * test-spf-macro - unit tests of SPF macro expansion (spf_macro.c), with every example of
 * RFC 7208 7.4.
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

static const struct spf_macro_vars rfc_vars4 = {
	.s = "strong-bad@email.example.com", .l = "strong-bad",
	.o = "email.example.com", .d = "email.example.com",
	.i = "192.0.2.3", .p = "mx.example.org", .v = "in-addr",
	.h = "mx.example.org", .c = "192.0.2.3", .r = "example.net",
	.t = "1700000000",
};

static char *
expand(const char *s, enum spf_macro_kind kind,
    const struct spf_macro_vars *v)
{
	const char *why = NULL;
	char *out = spf_macro_expand(s, strlen(s), kind, v, &why);

	if (out == NULL)
		fprintf(stderr, "  expand %s: %s\n", s, why);
	return out;
}

#define EXPECT_EXPAND(s, kind, v, want) do { \
	char *_o = expand((s), (kind), (v)); \
	if (_o == NULL || strcmp(_o, (want)) != 0) { \
		fprintf(stderr, "  %s -> %s, want %s\n", (s), \
		    _o ? _o : "(null)", (want)); \
		free(_o); TEST_ASSERT(0); } \
	free(_o); } while (0)

static void
test_macro_rfc_examples(void)
{
	static const struct { const char *in, *out; } ex[] = {
		{ "%{s}", "strong-bad@email.example.com" },
		{ "%{o}", "email.example.com" },
		{ "%{d}", "email.example.com" },
		{ "%{d4}", "email.example.com" },
		{ "%{d3}", "email.example.com" },
		{ "%{d2}", "example.com" },
		{ "%{d1}", "com" },
		{ "%{dr}", "com.example.email" },
		{ "%{d2r}", "example.email" },
		{ "%{l}", "strong-bad" },
		{ "%{l-}", "strong.bad" },
		{ "%{lr}", "strong-bad" },
		{ "%{lr-}", "bad.strong" },
		{ "%{l1r-}", "strong" },
		{ "%{ir}.%{v}._spf.%{d2}",
		  "3.2.0.192.in-addr._spf.example.com" },
		{ "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com" },
		{ "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
		  "bad.strong.lp.3.2.0.192.in-addr._spf.example.com" },
		{ "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
		  "3.2.0.192.in-addr.strong.lp._spf.example.com" },
		{ "%{d2}.trusted-domains.example.net",
		  "example.com.trusted-domains.example.net" },
	};
	struct spf_macro_vars v6 = rfc_vars4;
	char ibuf[64];
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };

	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++)
		EXPECT_EXPAND(ex[i].in, SPF_MACRO_DOMAIN, &rfc_vars4,
		    ex[i].out);
	/* IPv6: 2001:db8::cb01. */
	TEST_ASSERT(inet_pton(AF_INET6, "2001:db8::cb01",
	    &sin6.sin6_addr) == 1);
	TEST_ASSERT(spf_macro_ip((struct sockaddr *)&sin6, ibuf,
	    sizeof(ibuf)) != NULL);
	v6.i = ibuf;
	v6.v = "ip6";
	v6.c = "2001:db8::cb01";
	EXPECT_EXPAND("%{ir}.%{v}._spf.%{d2}", SPF_MACRO_DOMAIN, &v6,
	    "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
	    ".ip6._spf.example.com");
	EXPECT_EXPAND("%{c} %{i}", SPF_MACRO_EXPLAIN, &v6,
	    "2001:db8::cb01 2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.0.0.c.b.0.1");
}

static void
test_macro_more(void)
{
	struct spf_macro_vars v = rfc_vars4;
	const char *why;
	char *out, big[600];

	/* pyspf's doctests and escapes. */
	EXPECT_EXPAND("%{p}", SPF_MACRO_DOMAIN, &v, "mx.example.org");
	EXPECT_EXPAND("%{p2}.trusted-domains.example.net.", SPF_MACRO_DOMAIN,
	    &v, "example.org.trusted-domains.example.net");
	EXPECT_EXPAND("%%%_/.Clara.de", SPF_MACRO_DOMAIN, &v, "% /.Clara.de");
	EXPECT_EXPAND("%{i}.%{s1}.100/86400.rate.%{d}", SPF_MACRO_DOMAIN, &v,
	    "192.0.2.3.com.100/86400.rate.email.example.com");
	EXPECT_EXPAND("a%-b%%c%_d", SPF_MACRO_EXPLAIN, &v, "a%20b%c d");
	EXPECT_EXPAND("%{c} %{r} %{t} %{h}", SPF_MACRO_EXPLAIN, &v,
	    "192.0.2.3 example.net 1700000000 mx.example.org");
	/* Delimiters: split on any of them, join with '.'. */
	EXPECT_EXPAND("%{s-}", SPF_MACRO_EXPLAIN, &v,
	    "strong.bad@email.example.com");
	EXPECT_EXPAND("%{s1-}", SPF_MACRO_EXPLAIN, &v,
	    "bad@email.example.com");
	EXPECT_EXPAND("%{s2r.-}", SPF_MACRO_EXPLAIN, &v, "bad@email.strong");
	EXPECT_EXPAND("%{d+,/_=}", SPF_MACRO_DOMAIN, &v, "email.example.com");
	EXPECT_EXPAND("%{dR}", SPF_MACRO_DOMAIN, &v, "com.example.email");
	EXPECT_EXPAND("%{d99}", SPF_MACRO_DOMAIN, &v, "email.example.com");
	EXPECT_EXPAND("%{d99999999999}", SPF_MACRO_DOMAIN, &v,
	    "email.example.com");
	/* Uppercase: URL-escaped (RFC 3986 unreserved kept). */
	v.l = "strong+bad/x~y";
	EXPECT_EXPAND("%{L}", SPF_MACRO_EXPLAIN, &v, "strong%2Bbad%2Fx~y");
	EXPECT_EXPAND("%{l}", SPF_MACRO_EXPLAIN, &v, "strong+bad/x~y");
	v.s = "a b@c";
	EXPECT_EXPAND("%{S}", SPF_MACRO_EXPLAIN, &v, "a%20b%40c");
	/* p unknown until validated. */
	v.p = NULL;
	EXPECT_EXPAND("%{p}.x.com", SPF_MACRO_DOMAIN, &v, "unknown.x.com");
	/* Empty parts are parts. */
	v.l = "a..b";
	EXPECT_EXPAND("%{l2}", SPF_MACRO_EXPLAIN, &v, ".b");
	EXPECT_EXPAND("%{lr}", SPF_MACRO_EXPLAIN, &v, "b..a");
	/* Truncation to 253 from the left, by whole labels. */
	memset(big, 0, sizeof(big));
	for (int i = 0; i < 100; i++)
		memcpy(big + 5 * i, "abcd.", 5);
	v.l = big;
	out = expand("%{l}.x.com", SPF_MACRO_DOMAIN, &v);
	TEST_ASSERT(out != NULL && strlen(out) <= 253 && strlen(out) > 245);
	TEST_ASSERT(strncmp(out, "abcd.", 5) == 0);
	TEST_ASSERT(strcmp(out + strlen(out) - 6, ".x.com") == 0);
	free(out);
	/* A huge expansion stays bounded and still ends right. */
	{
		size_t n = 0, cap = 40000;
		char *rec = xmalloc(cap + 1);

		while (n + 6 < cap) {
			memcpy(rec + n, "%{l}.", 5);
			n += 5;
		}
		memcpy(rec + n, "x.com", 5);
		out = spf_macro_expand(rec, n + 5, SPF_MACRO_DOMAIN, &v, &why);
		TEST_ASSERT(out != NULL && strlen(out) <= 253);
		TEST_ASSERT(strcmp(out + strlen(out) - 6, ".x.com") == 0);
		free(out);
		out = spf_macro_expand(rec, n, SPF_MACRO_EXPLAIN, &v, &why);
		TEST_ASSERT(out != NULL && strlen(out) == SPF_EXPLAIN_MAX);
		free(out);
		free(rec);
	}
	/* Errors. */
	TEST_ASSERT(spf_macro_expand("%{x}", 4, SPF_MACRO_EXPLAIN, &v, &why)
	    == NULL && why != NULL);
	TEST_ASSERT(spf_macro_expand("a b.com", 7, SPF_MACRO_DOMAIN, &v, &why)
	    == NULL);
	TEST_ASSERT(spf_macro_expand("%", 1, SPF_MACRO_EXPLAIN, &v, &why)
	    == NULL);
	TEST_ASSERT(spf_macro_check("%{d}", 3, SPF_MACRO_STRING, &why) < 0);
	/* uses_p */
	TEST_ASSERT(spf_macro_uses_p("x.%{p2}.com", 11));
	TEST_ASSERT(spf_macro_uses_p("%{P}", 4));
	TEST_ASSERT(!spf_macro_uses_p("%%{p}", 5));
	TEST_ASSERT(!spf_macro_uses_p("%{d}.p", 6));
}

int
main(void)
{
	TEST_RUN(test_macro_rfc_examples);
	TEST_RUN(test_macro_more);
	return test_done("test-spf-macro");
}
