/*
 * test-spf - unit tests of the SPF record parser, macro expansion (every
 * example of RFC 7208 7.4) and the evaluator, the last on a fake resolver
 * (struct spf_dns_ops) that answers from a table, in order, one request
 * per pump step, so no DNS server is needed.
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

/* ------------------------------------------------------------------ */
/* Record parser */

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

/* ------------------------------------------------------------------ */
/* Macros (RFC 7208 7.4) */

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

/* ------------------------------------------------------------------ */
/* Fake resolver */

/* "NAME TYPE VALUE": TXT, A, AAAA, MX ("PREF HOST"), PTR (NAME is the
 * address), SERVFAIL (every query of NAME fails), SERVFAIL-A and
 * SERVFAIL-AAAA (that family's query fails). */
static const char *const zone[] = {
	"pass.test TXT v=spf1 ip4:192.0.2.0/24 -all",
	"fail.test TXT v=spf1 ip4:198.51.100.1 -all",
	"soft.test TXT v=spf1 ~all",
	"neutral.test TXT v=spf1 ?all",
	"empty.test TXT v=spf1",
	"notspf.test TXT hello world",
	"notspf.test TXT v=spf10 -all",
	"two.test TXT v=spf1 -all",
	"two.test TXT v=spf1 +all",
	"syntax.test TXT v=spf1 ip4:192.0.2.3 foo -all",
	"case.test TXT V=SPF1 IP4:192.0.2.3 -ALL",
	"a.test TXT v=spf1 a -all",
	"a.test A 192.0.2.3",
	"a24.test TXT v=spf1 a:h.a24.test/24 -all",
	"h.a24.test A 192.0.2.200",
	"dual.test TXT v=spf1 a:h.dual.test/32//64 -all",
	"h.dual.test A 192.0.2.9",
	"h.dual.test AAAA 2001:db8::1",
	"mx.test TXT v=spf1 mx -all",
	"mx.test MX 10 m1.mx.test",
	"mx.test MX 20 m2.mx.test",
	"m1.mx.test A 198.51.100.7",
	"m2.mx.test A 192.0.2.3",
	"mxnone.test TXT v=spf1 mx -all",
	"mx11.test TXT v=spf1 mx -all",
	"mx11.test MX 1 h1.mx11.test", "mx11.test MX 2 h2.mx11.test",
	"mx11.test MX 3 h3.mx11.test", "mx11.test MX 4 h4.mx11.test",
	"mx11.test MX 5 h5.mx11.test", "mx11.test MX 6 h6.mx11.test",
	"mx11.test MX 7 h7.mx11.test", "mx11.test MX 8 h8.mx11.test",
	"mx11.test MX 9 h9.mx11.test", "mx11.test MX 10 h10.mx11.test",
	"mx11.test MX 11 h11.mx11.test",
	"h1.mx11.test A 192.0.2.3",
	"mxtemp.test TXT v=spf1 mx -all",
	"mxtemp.test MX 10 broken.test",
	"mxtemp.test MX 20 ok.mxtemp.test",
	"ok.mxtemp.test A 192.0.2.3",
	"mxtemp2.test TXT v=spf1 mx -all",
	"mxtemp2.test MX 10 broken.test",
	"mxtemp2.test MX 20 ok.mxtemp.test",
	"incl.test TXT v=spf1 include:pass.test -all",
	"inclfail.test TXT v=spf1 include:fail.test ~all",
	"inclnone.test TXT v=spf1 include:nx.test -all",
	"incltemp.test TXT v=spf1 include:broken.test -all",
	"inclperm.test TXT v=spf1 include:syntax.test +all",
	"incldeep.test TXT v=spf1 -include:incl.test +all",
	"redir.test TXT v=spf1 redirect=pass.test",
	"redirnone.test TXT v=spf1 redirect=nx.test",
	"redirall.test TXT v=spf1 -all redirect=pass.test",
	"exp.test TXT v=spf1 -all exp=e.exp.test",
	"e.exp.test TXT %{i} is not one of %{d}'s designated mail servers.",
	"expredir.test TXT v=spf1 redirect=exp.test exp=e.expredir.test",
	"e.expredir.test TXT not this one",
	"expincl.test TXT v=spf1 include:expinner.test -all",
	"expinner.test TXT v=spf1 -all exp=e.exp.test",
	"expbad.test TXT v=spf1 -all exp=nx.test",
	"exptwo.test TXT v=spf1 -all exp=t.exptwo.test",
	"t.exptwo.test TXT one", "t.exptwo.test TXT two",
	"expsyntax.test TXT v=spf1 -all exp=s.expsyntax.test",
	"s.expsyntax.test TXT bad %{x} macro",
	"expsoft.test TXT v=spf1 ~all exp=e.exp.test",
	"expp.test TXT v=spf1 -all exp=%{p}.e.expp.test",
	"mail.ptr.test.e.expp.test TXT you are %{p}",
	"expp2.test TXT v=spf1 -all exp=e.expp2.test",
	"e.expp2.test TXT %{p} is not %{d}",
	"limit10.test TXT v=spf1 a:h1.l.test a:h2.l.test a:h3.l.test "
	    "a:h4.l.test a:h5.l.test a:h6.l.test a:h7.l.test a:h8.l.test "
	    "a:h9.l.test a:h10.l.test -all",
	"limit11.test TXT v=spf1 a:h1.l.test a:h2.l.test a:h3.l.test "
	    "a:h4.l.test a:h5.l.test a:h6.l.test a:h7.l.test a:h8.l.test "
	    "a:h9.l.test a:h10.l.test a:h11.l.test -all",
	"limitinc.test TXT v=spf1 include:limit10.test -all",
	"h1.l.test A 10.0.0.1", "h2.l.test A 10.0.0.1", "h3.l.test A 10.0.0.1",
	"h4.l.test A 10.0.0.1", "h5.l.test A 10.0.0.1", "h6.l.test A 10.0.0.1",
	"h7.l.test A 10.0.0.1", "h8.l.test A 10.0.0.1", "h9.l.test A 10.0.0.1",
	"h10.l.test A 10.0.0.1", "h11.l.test A 10.0.0.1",
	"loop.test TXT v=spf1 include:loop.test -all",
	"void2.test TXT v=spf1 a:n1.void.test a:n2.void.test -all",
	"void3.test TXT v=spf1 a:n1.void.test a:n2.void.test "
	    "mx:n3.void.test -all",
	"void.test TXT unrelated",
	"exists.test TXT v=spf1 exists:%{ir}.bl.exists.test -all",
	"3.2.0.192.bl.exists.test A 127.0.0.2",
	"exists6.test TXT v=spf1 exists:v6.exists.test -all",
	"v6.exists.test AAAA 2001:db8::2",
	"ptr.test TXT v=spf1 ptr -all",
	"192.0.2.3 PTR mail.ptr.test",
	"192.0.2.3 PTR forged.other.test",
	"mail.ptr.test A 192.0.2.3",
	"forged.other.test A 198.51.100.99",
	"192.0.2.4 PTR mail.ptr.test",
	"ptrother.test TXT v=spf1 ptr:other.test -all",
	"pmacro.test TXT v=spf1 exists:%{p}.allow.pmacro.test -all",
	"mail.ptr.test.allow.pmacro.test A 127.0.0.2",
	"ip6.test TXT v=spf1 ip6:2001:db8::/32 -all",
	"ip6cidr.test TXT v=spf1 ip6:2001:db8:1::/48 ~all",
	"amacro.test TXT v=spf1 a:%{i} -all",
	"helo.test TXT v=spf1 a -all",
	"helo.test A 192.0.2.3",
	"lmacro.test TXT v=spf1 exists:%{l}.u.lmacro.test -all",
	"strong-bad.u.lmacro.test A 127.0.0.2",
	"nullmx.test TXT v=spf1 mx ?all",
	"nullmx.test MX 0 .",
	"aaaa.test TXT v=spf1 a -all",
	"aaaa.test AAAA 2001:db8::cb01",
	"broken.test SERVFAIL",
	"atemp.test TXT v=spf1 a:broken.test -all",
	"ptrtemp.test TXT v=spf1 ptr:ptr.test -all",
	"192.0.2.77 SERVFAIL",
	"192.0.2.78 PTR broken.test",
	"192.0.2.79 PTR mail.brokenptr.test",
	"192.0.2.79 PTR mail.ptr.test",
	"mail.brokenptr.test SERVFAIL",
	"ptrtemp2.test TXT v=spf1 ptr:brokenptr.test -all",
	/* one family fails, the other answers (RFC 7208 5, 2.6.6) */
	"h.half.test SERVFAIL-A",
	"h.half.test AAAA 2001:db8::5",
	"ahalf.test TXT v=spf1 a:h.half.test -all",
	"mxhalf.test TXT v=spf1 mx:mxh.half.test -all",
	"mxh.half.test MX 10 h.half.test",
	"exhalf.test TXT v=spf1 exists:h.half.test -all",
	"h6.half.test A 192.0.2.5",
	"h6.half.test SERVFAIL-AAAA",
	"a6half.test TXT v=spf1 a:h6.half.test -all",
};

enum { Q_TXT, Q_ADDR, Q_MX, Q_PTR };

struct fake_req {
	int			 type;
	char			*name;
	void	(*str_cb)(enum dns_status, int, char **, void *);
	void	(*addr_cb)(const struct dns_addrs *, void *);
	void	(*mx_cb)(struct dns_mx_result *, void *);
	void			*arg;
	bool			 cancelled;
	struct fake_req		*next;
};

static struct fake_req *fq_head, **fq_tail = &fq_head;
static int fake_queries, fake_calls_in_start;
static bool in_start;

static bool
rr_match(const char *rr, const char *name, const char *type,
    const char **value_r)
{
	size_t n = strlen(name), t = strlen(type);

	if (strncasecmp(rr, name, n) != 0 || rr[n] != ' ')
		return false;
	if (strncmp(rr + n + 1, type, t) != 0 ||
	    (rr[n + 1 + t] != ' ' && rr[n + 1 + t] != '\0'))
		return false;
	*value_r = rr[n + 1 + t] == ' ' ? rr + n + 2 + t : "";
	return true;
}

static bool
name_exists(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof(zone) / sizeof(zone[0]); i++) {
		if (strncasecmp(zone[i], name, n) == 0 && zone[i][n] == ' ')
			return true;
	}
	return false;
}

/* Status of name with no record of the type: SERVFAIL, NXDOMAIN, NODATA. */
static enum dns_status
name_status(const char *name)
{
	const char *v;

	for (size_t i = 0; i < sizeof(zone) / sizeof(zone[0]); i++) {
		if (rr_match(zone[i], name, "SERVFAIL", &v))
			return DNS_TEMPFAIL;
	}
	if (!dns_name_valid(name))
		return DNS_NXDOMAIN;
	return name_exists(name) ? DNS_NODATA : DNS_NXDOMAIN;
}

static int
find_all(const char *name, const char *type, const char **out, int max)
{
	int n = 0;
	const char *v;

	for (size_t i = 0; i < sizeof(zone) / sizeof(zone[0]) && n < max; i++)
		if (rr_match(zone[i], name, type, &v))
			out[n++] = v;
	return n;
}

/* A and AAAA of name as dns.h reports them, each family with its status:
 * SERVFAIL fails both, SERVFAIL-A or SERVFAIL-AAAA one of them. */
static void
lookup_addrs(const char *name, struct dns_addr *a, int max,
    struct dns_addrs *res)
{
	static const char *const type[2] = { "A", "AAAA" };
	static const char *const fail[2] = { "SERVFAIL-A", "SERVFAIL-AAAA" };
	const char *v[32];
	enum dns_status st = name_status(name);

	*res = (struct dns_addrs){ .status = st, .addr = a };
	if (dns_addr_literal(name, &a[0])) {
		enum dns_fam f = dns_fam_of(a[0].ss.ss_family);

		res->fam[f] = res->status = DNS_OK;
		res->fam[!f] = DNS_NODATA;
		res->n = 1;
		return;
	}
	for (int f = 0; f < 2; f++) {
		int k, got = 0;

		res->fam[f] = st;
		if (st == DNS_TEMPFAIL || find_all(name, fail[f], v, 1) > 0) {
			res->fam[f] = DNS_TEMPFAIL;
			continue;
		}
		k = find_all(name, type[f], v, 32);
		for (int i = 0; i < k && res->n < max; i++)
			if (dns_addr_literal(v[i], &a[res->n]))
				res->n++, got++;
		if (got > 0)
			res->fam[f] = DNS_OK;
	}
	if (res->n > 0)
		res->status = DNS_OK;
	else if (res->fam[0] == DNS_TEMPFAIL || res->fam[1] == DNS_TEMPFAIL)
		res->status = DNS_TEMPFAIL;
}

static void
answer_str(struct fake_req *r, const char *type)
{
	const char *v[DNS_MAX_TXT];
	char *copy[DNS_MAX_TXT + 1];
	enum dns_status st = name_status(r->name);
	int n = 0;

	if (st != DNS_TEMPFAIL && dns_name_valid(r->name))
		n = find_all(r->name, type, v, DNS_MAX_TXT);
	if (n > 0)
		st = DNS_OK;
	for (int i = 0; i < n; i++)
		copy[i] = xstrdup(v[i]);
	r->str_cb(st, n, copy, r->arg);
	for (int i = 0; i < n; i++)
		free(copy[i]);
}

static void
answer_addr(struct fake_req *r)
{
	struct dns_addr a[DNS_MAX_ADDRS];
	struct dns_addrs res;

	lookup_addrs(r->name, a, DNS_MAX_ADDRS, &res);
	r->addr_cb(&res, r->arg);
}

static struct dns_mx_result *
make_mx(const char *name)
{
	struct dns_mx_result *res = xmalloc(sizeof(*res));
	const char *v[DNS_MAX_MX_HOSTS + 4];
	int n = 0, nnull = 0;
	bool any = false, temp = false;

	res->status = name_status(name);
	if (res->status == DNS_TEMPFAIL || res->status == DNS_NXDOMAIN)
		return res;
	n = find_all(name, "MX", v, DNS_MAX_MX_HOSTS + 4);
	res->hosts = xcalloc((size_t)n + 1, sizeof(*res->hosts));
	if (n == 0) {		/* implicit MX: the domain itself */
		res->implicit = true;
		v[0] = "0 ";
		n = 1;
	}
	for (int i = 0; i < n; i++) {
		struct dns_mx_host *h = &res->hosts[res->nhosts];
		const char *host = strchr(v[i], ' ') + 1;
		struct dns_addrs ar;

		if (strcmp(host, ".") == 0) {
			nnull++;
			continue;
		}
		h->name = xstrdup(res->implicit ? name : host);
		h->pref = (unsigned)atoi(v[i]);
		h->addr = xcalloc(DNS_MAX_ADDRS, sizeof(*h->addr));
		lookup_addrs(h->name, h->addr, DNS_MAX_ADDRS, &ar);
		h->naddr = ar.n;
		h->addr_status = ar.status;
		memcpy(h->addr_fam, ar.fam, sizeof(ar.fam));
		any |= ar.status == DNS_OK;
		temp |= ar.status == DNS_TEMPFAIL;
		res->nhosts++;
	}
	if (res->nhosts == 0 && nnull > 0)
		res->status = DNS_NULL_MX;
	else
		res->status = any ? DNS_OK : temp ? DNS_TEMPFAIL : DNS_NODATA;
	return res;
}

static void
fake_pump(void)
{
	while (fq_head != NULL) {
		struct fake_req *r = fq_head;

		fq_head = r->next;
		if (fq_head == NULL)
			fq_tail = &fq_head;
		if (!r->cancelled) {
			if (r->type == Q_TXT)
				answer_str(r, "TXT");
			else if (r->type == Q_PTR)
				answer_str(r, "PTR");
			else if (r->type == Q_ADDR)
				answer_addr(r);
			else
				r->mx_cb(make_mx(r->name), r->arg);
		}
		free(r->name);
		free(r);
	}
}

static struct fake_req *
fake_add(int type, const char *name, void *arg)
{
	struct fake_req *r = xmalloc(sizeof(*r));

	r->type = type;
	r->name = xstrdup(name);
	r->arg = arg;
	*fq_tail = r;
	fq_tail = &r->next;
	fake_queries++;
	if (in_start)
		fake_calls_in_start++;
	return r;
}

static void *
fake_txt(void *ctx, const char *name,
    void (*cb)(enum dns_status, int, char **, void *), void *arg)
{
	struct fake_req *r = fake_add(Q_TXT, name, arg);

	(void)ctx;
	r->str_cb = cb;
	return r;
}

static void *
fake_addr(void *ctx, const char *host,
    void (*cb)(const struct dns_addrs *, void *), void *arg)
{
	struct fake_req *r = fake_add(Q_ADDR, host, arg);

	(void)ctx;
	r->addr_cb = cb;
	return r;
}

static void *
fake_mx(void *ctx, const char *domain,
    void (*cb)(struct dns_mx_result *, void *), void *arg)
{
	struct fake_req *r = fake_add(Q_MX, domain, arg);

	(void)ctx;
	r->mx_cb = cb;
	return r;
}

static void *
fake_ptr(void *ctx, const struct dns_addr *a,
    void (*cb)(enum dns_status, int, char **, void *), void *arg)
{
	char buf[INET6_ADDRSTRLEN];
	struct fake_req *r = fake_add(Q_PTR, dns_addr_str(a, buf,
	    sizeof(buf)), arg);

	(void)ctx;
	r->str_cb = cb;
	return r;
}

static void
fake_cancel(void *ctx, void *h)
{
	(void)ctx;
	((struct fake_req *)h)->cancelled = true;
}

static const struct spf_dns_ops fake_ops = {
	fake_txt, fake_addr, fake_mx, fake_ptr, fake_cancel,
};

/* ------------------------------------------------------------------ */
/* Evaluator */

struct outcome {
	int		 calls;
	enum spf_result	 res;
	char		*text;
};

static void
done_cb(enum spf_result res, const char *text, void *arg)
{
	struct outcome *o = arg;

	o->calls++;
	o->res = res;
	o->text = text ? xstrdup(text) : NULL;
}

static void
make_addr(const char *ip, struct sockaddr_storage *ss)
{
	struct dns_addr a;

	memset(ss, 0, sizeof(*ss));
	if (!dns_addr_literal(ip, &a))
		abort();	/* a broken test table */
	memcpy(ss, &a.ss, sizeof(a.ss));
}

static struct spf_check *
start(const char *ip, const char *domain, const char *sender,
    struct outcome *o)
{
	struct sockaddr_storage ss;
	struct spf_check *c;

	memset(o, 0, sizeof(*o));
	make_addr(ip, &ss);
	in_start = true;
	c = spf_check_start_ops(&fake_ops, NULL, (struct sockaddr *)&ss,
	    domain, sender, "helo.example", done_cb, o);
	in_start = false;
	return c;
}

struct eval_case {
	const char	*ip;
	const char	*domain;
	enum spf_result	 want;
	const char	*text;		/* explanation, or NULL */
};

static const struct eval_case eval_cases[] = {
	{ "192.0.2.3", "pass.test", SPF_PASS, NULL },
	{ "192.0.2.3", "PASS.TEST.", SPF_PASS, NULL },
	{ "198.51.100.2", "pass.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "fail.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "soft.test", SPF_SOFTFAIL, NULL },
	{ "192.0.2.3", "neutral.test", SPF_NEUTRAL, NULL },
	{ "192.0.2.3", "empty.test", SPF_NEUTRAL, NULL },
	{ "192.0.2.3", "notspf.test", SPF_NONE, NULL },
	{ "192.0.2.3", "nx.test", SPF_NONE, NULL },
	{ "192.0.2.3", "bad..name", SPF_NONE, NULL },
	{ "192.0.2.3", "two.test", SPF_PERMERROR, "two.test has 2 SPF records" },
	{ "192.0.2.3", "syntax.test", SPF_PERMERROR,
	  "syntax.test: unknown mechanism: \"foo\"" },
	{ "192.0.2.3", "case.test", SPF_PASS, NULL },
	{ "192.0.2.3", "a.test", SPF_PASS, NULL },
	{ "192.0.2.4", "a.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "a24.test", SPF_PASS, NULL },
	{ "192.0.3.3", "a24.test", SPF_FAIL, NULL },
	{ "2001:db8::ffff", "dual.test", SPF_PASS, NULL },
	{ "2001:db8:0:1::1", "dual.test", SPF_FAIL, NULL },
	{ "192.0.2.9", "dual.test", SPF_PASS, NULL },
	{ "192.0.2.3", "mx.test", SPF_PASS, NULL },
	{ "198.51.100.7", "mx.test", SPF_PASS, NULL },
	{ "198.51.100.8", "mx.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "mxnone.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "mx11.test", SPF_PERMERROR,
	  "more than 10 MX records for mx11.test" },
	{ "192.0.2.3", "mxtemp.test", SPF_PASS, NULL },
	{ "192.0.2.4", "mxtemp2.test", SPF_TEMPERROR,
	  "DNS error looking up MX of mxtemp2.test" },
	{ "192.0.2.3", "nullmx.test", SPF_NEUTRAL, NULL },
	{ "192.0.2.3", "incl.test", SPF_PASS, NULL },
	{ "198.51.100.1", "incl.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "inclfail.test", SPF_SOFTFAIL, NULL },
	{ "192.0.2.3", "inclnone.test", SPF_PERMERROR,
	  "include=nx.test has no SPF record" },
	{ "192.0.2.3", "incltemp.test", SPF_TEMPERROR,
	  "DNS error looking up TXT of broken.test" },
	{ "192.0.2.3", "inclperm.test", SPF_PERMERROR, NULL },
	{ "192.0.2.3", "incldeep.test", SPF_FAIL, NULL },
	{ "198.51.100.1", "incldeep.test", SPF_PASS, NULL },
	{ "192.0.2.3", "broken.test", SPF_TEMPERROR, NULL },
	{ "192.0.2.3", "redir.test", SPF_PASS, NULL },
	{ "198.51.100.2", "redir.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "redirnone.test", SPF_PERMERROR,
	  "redirect=nx.test has no SPF record" },
	{ "192.0.2.3", "redirall.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "exp.test", SPF_FAIL,
	  "192.0.2.3 is not one of exp.test's designated mail servers." },
	{ "192.0.2.3", "expredir.test", SPF_FAIL,
	  "192.0.2.3 is not one of exp.test's designated mail servers." },
	{ "192.0.2.3", "expincl.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "expbad.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "exptwo.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "expsyntax.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "expsoft.test", SPF_SOFTFAIL, NULL },
	{ "192.0.2.3", "expp.test", SPF_FAIL, "you are mail.ptr.test" },
	{ "192.0.2.3", "expp2.test", SPF_FAIL,
	  "mail.ptr.test is not expp2.test" },
	{ "192.0.2.5", "expp2.test", SPF_FAIL, "unknown is not expp2.test" },
	{ "192.0.2.3", "limit10.test", SPF_FAIL, NULL },
	{ "10.0.0.1", "limit10.test", SPF_PASS, NULL },
	{ "192.0.2.3", "limit11.test", SPF_PERMERROR,
	  "more than 10 DNS look-ups" },
	{ "192.0.2.3", "limitinc.test", SPF_PERMERROR,
	  "more than 10 DNS look-ups" },
	{ "192.0.2.3", "loop.test", SPF_PERMERROR,
	  "more than 10 DNS look-ups" },
	{ "192.0.2.3", "void2.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "void3.test", SPF_PERMERROR,
	  "more than 2 void DNS look-ups" },
	{ "192.0.2.3", "exists.test", SPF_PASS, NULL },
	{ "192.0.2.4", "exists.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "exists6.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "ptr.test", SPF_PASS, NULL },
	{ "192.0.2.4", "ptr.test", SPF_FAIL, NULL },
	{ "192.0.2.5", "ptr.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "ptrother.test", SPF_FAIL, NULL },
	{ "192.0.2.77", "ptrtemp.test", SPF_TEMPERROR,
	  "DNS error validating the client's PTR names" },
	{ "192.0.2.78", "ptr.test", SPF_FAIL, NULL },
	{ "192.0.2.79", "ptrtemp2.test", SPF_TEMPERROR, NULL },
	{ "192.0.2.79", "ptr.test", SPF_FAIL, NULL },
	{ "192.0.2.77", "pmacro.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "pmacro.test", SPF_PASS, NULL },
	{ "192.0.2.4", "pmacro.test", SPF_FAIL, NULL },
	{ "2001:db8::cb01", "ip6.test", SPF_PASS, NULL },
	{ "2001:db9::1", "ip6.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "ip6.test", SPF_FAIL, NULL },
	{ "2001:db8:1:ffff::1", "ip6cidr.test", SPF_PASS, NULL },
	{ "2001:db8:2::1", "ip6cidr.test", SPF_SOFTFAIL, NULL },
	{ "::ffff:192.0.2.3", "pass.test", SPF_PASS, NULL },
	{ "192.0.2.3", "amacro.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "lmacro.test", SPF_PASS, NULL },
	{ "2001:db8::cb01", "aaaa.test", SPF_PASS, NULL },
	{ "192.0.2.3", "aaaa.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "atemp.test", SPF_TEMPERROR,
	  "DNS error looking up broken.test" },
	/* the client's family failed, the other answered: temperror */
	{ "192.0.2.3", "ahalf.test", SPF_TEMPERROR,
	  "DNS error looking up h.half.test" },
	{ "2001:db8::5", "ahalf.test", SPF_PASS, NULL },
	{ "2001:db8::6", "ahalf.test", SPF_FAIL, NULL },
	{ "192.0.2.3", "mxhalf.test", SPF_TEMPERROR,
	  "DNS error looking up MX of mxh.half.test" },
	{ "2001:db8::5", "mxhalf.test", SPF_PASS, NULL },
	{ "192.0.2.3", "exhalf.test", SPF_TEMPERROR,
	  "DNS error looking up h.half.test" },
	{ "192.0.2.5", "a6half.test", SPF_PASS, NULL },
	{ "192.0.2.6", "a6half.test", SPF_FAIL, NULL },
	{ "2001:db8::5", "a6half.test", SPF_TEMPERROR,
	  "DNS error looking up h6.half.test" },
};

static void
test_eval_table(void)
{
	int bad = 0;

	for (size_t i = 0; i < sizeof(eval_cases) / sizeof(eval_cases[0]);
	    i++) {
		const struct eval_case *ec = &eval_cases[i];
		struct outcome o;
		char sender[300];

		snprintf(sender, sizeof(sender), "strong-bad@%s", ec->domain);
		fake_calls_in_start = 0;
		(void)start(ec->ip, ec->domain, sender, &o);
		TEST_ASSERT(o.calls == 0);	/* never from inside start */
		fake_pump();
		if (o.calls != 1 || o.res != ec->want ||
		    (ec->text != NULL && (o.text == NULL ||
		    strcmp(o.text, ec->text) != 0)) ||
		    (ec->text == NULL && ec->want != SPF_PERMERROR &&
		    ec->want != SPF_TEMPERROR && o.text != NULL)) {
			fprintf(stderr, "  %s %s: %d call(s) %s \"%s\", want "
			    "%s \"%s\"\n", ec->ip, ec->domain, o.calls,
			    spf_result_name(o.res), o.text ? o.text : "",
			    spf_result_name(ec->want), ec->text ? ec->text :
			    "");
			bad++;
		}
		free(o.text);
	}
	TEST_ASSERT(bad == 0);
}

static void
test_eval_helo_identity(void)
{
	struct outcome o;

	(void)start("192.0.2.3", "helo.test", "postmaster@helo.test", &o);
	fake_pump();
	TEST_ASSERT(o.calls == 1 && o.res == SPF_PASS);
	free(o.text);
	/* No local part: %{l} is "postmaster". */
	(void)start("192.0.2.3", "lmacro.test", "@lmacro.test", &o);
	fake_pump();
	TEST_ASSERT(o.calls == 1 && o.res == SPF_FAIL);
	free(o.text);
}

static void
test_eval_cancel(void)
{
	struct outcome o;
	struct spf_check *c;

	/* Cancel while the first TXT is pending. */
	c = start("192.0.2.3", "pass.test", "a@pass.test", &o);
	spf_check_cancel(&c);
	TEST_ASSERT(c == NULL);
	spf_check_cancel(&c);		/* NULL is fine */
	fake_pump();
	TEST_ASSERT(o.calls == 0);
	/* Cancel with PTR names being validated in parallel. */
	c = start("192.0.2.3", "ptr.test", "a@ptr.test", &o);
	for (int i = 0; i < 2 && fq_head != NULL; i++) {
		struct fake_req *r = fq_head;

		fq_head = r->next;
		if (fq_head == NULL)
			fq_tail = &fq_head;
		if (r->type == Q_TXT)
			answer_str(r, "TXT");
		else
			answer_str(r, "PTR");
		free(r->name);
		free(r);
	}
	TEST_ASSERT(fq_head != NULL && fq_head->next != NULL);
	spf_check_cancel(&c);
	fake_pump();
	TEST_ASSERT(o.calls == 0);
}

static struct spf_check *self_check;

static void
done_cancel_cb(enum spf_result res, const char *text, void *arg)
{
	struct outcome *o = arg;

	(void)text;
	o->calls++;
	o->res = res;
	spf_check_cancel(&self_check);	/* ignored: freed after done */
}

static void
test_eval_cancel_in_done(void)
{
	struct sockaddr_storage ss;
	struct outcome o = { 0 };

	make_addr("192.0.2.3", &ss);
	self_check = spf_check_start_ops(&fake_ops, NULL,
	    (struct sockaddr *)&ss, "pass.test", "a@pass.test", NULL,
	    done_cancel_cb, &o);
	fake_pump();
	TEST_ASSERT(o.calls == 1 && o.res == SPF_PASS && self_check == NULL);
}

static void
test_eval_query_counts(void)
{
	struct outcome o;

	/* limit10: TXT + 10 address look-ups, nothing more. */
	fake_queries = 0;
	(void)start("192.0.2.3", "limit10.test", "a@limit10.test", &o);
	fake_pump();
	TEST_ASSERT(o.res == SPF_FAIL && fake_queries == 11);
	/* limit11: the 11th is refused before it is asked. */
	fake_queries = 0;
	(void)start("192.0.2.3", "limit11.test", "a@limit11.test", &o);
	fake_pump();
	TEST_ASSERT(o.res == SPF_PERMERROR && fake_queries == 11);
	free(o.text);
	/* ptr then %{p}: the names are validated once. */
	fake_queries = 0;
	(void)start("192.0.2.3", "expp.test", "a@expp.test", &o);
	fake_pump();
	TEST_ASSERT(o.res == SPF_FAIL && fake_queries == 1 + 1 + 2 + 1);
	free(o.text);
}

static void
test_eval_time_limit(void)
{
	struct outcome o;
	struct spf_check *c;

	/* Out of time before the first DNS term: temperror. */
	c = start("192.0.2.3", "a.test", "a@a.test", &o);
	spf_check_set_time_limit(c, 0);
	while (o.calls == 0) {
		struct timespec ts = { 0, 2000000 };

		nanosleep(&ts, NULL);	/* 2 ms: past a 0 ms limit */
		fake_pump();
	}
	TEST_ASSERT(o.calls == 1 && o.res == SPF_TEMPERROR);
	TEST_ASSERT_STREQ(o.text, "no result within 0 ms");
	free(o.text);
	/* ip4 and all need no DNS: still decided. */
	c = start("192.0.2.3", "pass.test", "a@pass.test", &o);
	spf_check_set_time_limit(c, 0);
	fake_pump();
	TEST_ASSERT(o.calls == 1 && o.res == SPF_PASS);
	/* A fail past the limit keeps its result, without exp=. */
	c = start("192.0.2.3", "exp.test", "a@exp.test", &o);
	spf_check_set_time_limit(c, 0);
	{
		struct timespec ts = { 0, 2000000 };

		nanosleep(&ts, NULL);
	}
	fake_pump();
	TEST_ASSERT(o.calls == 1 && o.res == SPF_FAIL && o.text == NULL);
}

int
main(void)
{
	TEST_RUN(test_record_valid);
	TEST_RUN(test_record_invalid);
	TEST_RUN(test_record_terms);
	TEST_RUN(test_macro_rfc_examples);
	TEST_RUN(test_macro_more);
	TEST_RUN(test_eval_table);
	TEST_RUN(test_eval_helo_identity);
	TEST_RUN(test_eval_cancel);
	TEST_RUN(test_eval_cancel_in_done);
	TEST_RUN(test_eval_query_counts);
	TEST_RUN(test_eval_time_limit);
	fake_pump();
	return test_done("test-spf");
}
