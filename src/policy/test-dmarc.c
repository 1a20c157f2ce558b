/*
 * test-dmarc - unit tests of policy/psl.c, dmarc_record.c and dmarc.c:
 * the Public Suffix List (publicsuffix.org's checkPublicSuffix vectors on
 * Debian's list, wildcards, exceptions, the fallback without a file,
 * Punycode), the DMARC record parser (RFC 7489 examples and the syntax
 * rules of 6.3), the RFC5322.From domain, SPF/DKIM alignment (strict and
 * relaxed), and the disposition (p, sp, np, pct, temperror).
 *
 * Needs /usr/share/publicsuffix/public_suffix_list.dat (Debian package
 * publicsuffix). Trust: test code, run under ASan/UBSan.
 */
#include <stdlib.h>
#include <string.h>

#include "policy/dmarc.h"
#include "policy/psl.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/test.h"
#include "util/xmalloc.h"

static struct psl *psl;

/* ------------------------------------------------------------------ */
/* Public Suffix List */

struct psl_case {
	const char	*domain;
	const char	*registrable;	/* NULL: a public suffix or invalid */
};

/* publicsuffix.org tests/test_psl.txt (checkPublicSuffix), as fits the
 * 2023 list Debian 12 ships (*.mm, *.ck with !www.ck). */
static const struct psl_case psl_cases[] = {
	{ NULL, NULL },
	/* Mixed case. */
	{ "COM", NULL },
	{ "example.COM", "example.com" },
	{ "WwW.example.COM", "example.com" },
	/* Leading dot. */
	{ ".com", NULL },
	{ ".example", NULL },
	{ ".example.com", NULL },
	{ ".example.example", NULL },
	/* Unlisted TLD. */
	{ "example", NULL },
	{ "example.example", "example.example" },
	{ "b.example.example", "example.example" },
	{ "a.b.example.example", "example.example" },
	/* TLD with only 1 rule. */
	{ "biz", NULL },
	{ "domain.biz", "domain.biz" },
	{ "b.domain.biz", "domain.biz" },
	{ "a.b.domain.biz", "domain.biz" },
	/* TLD with some 2-level rules. */
	{ "com", NULL },
	{ "example.com", "example.com" },
	{ "b.example.com", "example.com" },
	{ "a.b.example.com", "example.com" },
	{ "uk.com", NULL },
	{ "example.uk.com", "example.uk.com" },
	{ "b.example.uk.com", "example.uk.com" },
	{ "a.b.example.uk.com", "example.uk.com" },
	{ "test.ac", "test.ac" },
	/* TLD with only 1 (wildcard) rule. */
	{ "mm", NULL },
	{ "c.mm", NULL },
	{ "b.c.mm", "b.c.mm" },
	{ "a.b.c.mm", "b.c.mm" },
	/* More complex TLD. */
	{ "jp", NULL },
	{ "test.jp", "test.jp" },
	{ "www.test.jp", "test.jp" },
	{ "ac.jp", NULL },
	{ "test.ac.jp", "test.ac.jp" },
	{ "www.test.ac.jp", "test.ac.jp" },
	{ "kyoto.jp", NULL },
	{ "test.kyoto.jp", "test.kyoto.jp" },
	{ "ide.kyoto.jp", NULL },
	{ "b.ide.kyoto.jp", "b.ide.kyoto.jp" },
	{ "a.b.ide.kyoto.jp", "b.ide.kyoto.jp" },
	{ "c.kobe.jp", NULL },
	{ "b.c.kobe.jp", "b.c.kobe.jp" },
	{ "a.b.c.kobe.jp", "b.c.kobe.jp" },
	{ "city.kobe.jp", "city.kobe.jp" },
	{ "www.city.kobe.jp", "city.kobe.jp" },
	/* TLD with a wildcard rule and exceptions. */
	{ "ck", NULL },
	{ "test.ck", NULL },
	{ "b.test.ck", "b.test.ck" },
	{ "a.b.test.ck", "b.test.ck" },
	{ "www.ck", "www.ck" },
	{ "www.www.ck", "www.ck" },
	/* US K12. */
	{ "us", NULL },
	{ "test.us", "test.us" },
	{ "www.test.us", "test.us" },
	{ "ak.us", NULL },
	{ "test.ak.us", "test.ak.us" },
	{ "www.test.ak.us", "test.ak.us" },
	{ "k12.ak.us", NULL },
	{ "test.k12.ak.us", "test.k12.ak.us" },
	{ "www.test.k12.ak.us", "test.k12.ak.us" },
	/* IDN labels. */
	{ "食狮.com.cn", "食狮.com.cn" },
	{ "食狮.公司.cn", "食狮.公司.cn" },
	{ "www.食狮.公司.cn", "食狮.公司.cn" },
	{ "shishi.公司.cn", "shishi.公司.cn" },
	{ "公司.cn", NULL },
	{ "食狮.中国", "食狮.中国" },
	{ "www.食狮.中国", "食狮.中国" },
	{ "shishi.中国", "shishi.中国" },
	{ "中国", NULL },
	/* Same as above, but punycoded. */
	{ "xn--85x722f.com.cn", "xn--85x722f.com.cn" },
	{ "xn--85x722f.xn--55qx5d.cn", "xn--85x722f.xn--55qx5d.cn" },
	{ "www.xn--85x722f.xn--55qx5d.cn", "xn--85x722f.xn--55qx5d.cn" },
	{ "shishi.xn--55qx5d.cn", "shishi.xn--55qx5d.cn" },
	{ "xn--55qx5d.cn", NULL },
	{ "xn--85x722f.xn--fiqs8s", "xn--85x722f.xn--fiqs8s" },
	{ "www.xn--85x722f.xn--fiqs8s", "xn--85x722f.xn--fiqs8s" },
	{ "shishi.xn--fiqs8s", "shishi.xn--fiqs8s" },
	{ "xn--fiqs8s", NULL },
	/* Ours: private section, a final dot, names that are no names. */
	{ "user.github.io", "user.github.io" },
	{ "a.user.github.io", "user.github.io" },
	{ "Mail.Example.CO.UK.", "example.co.uk" },
	{ "example..com", NULL },
	{ "exa mple.com", NULL },
	{ "[192.0.2.1]", NULL },
	{ "", NULL },
	{ ".", NULL },
};

static void
test_psl_vectors(void)
{
	TEST_ASSERT(psl_rule_count(psl) > 5000);
	for (size_t i = 0; i < sizeof(psl_cases) / sizeof(psl_cases[0]); i++) {
		const struct psl_case *c = &psl_cases[i];
		char *r = psl_registrable_domain(psl, c->domain);

		if ((r == NULL) != (c->registrable == NULL) ||
		    (r != NULL && strcmp(r, c->registrable) != 0)) {
			fprintf(stderr, "  %s: got %s, want %s\n",
			    c->domain ? c->domain : "(null)",
			    r ? r : "(null)",
			    c->registrable ? c->registrable : "(null)");
			free(r);
			TEST_ASSERT(0);
		}
		free(r);
	}
}

static void
test_psl_org_domain(void)
{
	static const char *const cases[][2] = {
		{ "a.b.example.co.uk", "example.co.uk" },
		{ "co.uk", "co.uk" },		/* a public suffix: itself */
		{ "COM.", "com" },
		{ "x.y.z.test", "z.test" },	/* unlisted: two labels */
		{ "mail.user.github.io", "user.github.io" },
		{ "x.www.ck", "www.ck" },
	};
	char *s;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = psl_org_domain(psl, cases[i][0]);
		TEST_ASSERT_STREQ(s, cases[i][1]);
		free(s);
	}
	TEST_ASSERT(psl_org_domain(psl, "a..b") == NULL);
	TEST_ASSERT(psl_org_domain(psl, NULL) == NULL);
	s = psl_public_suffix(psl, "a.b.example.co.uk");
	TEST_ASSERT_STREQ(s, "co.uk");
	free(s);
	s = psl_public_suffix(psl, "www.city.kobe.jp");
	TEST_ASSERT_STREQ(s, "kobe.jp");
	free(s);
	s = psl_public_suffix(psl, "a.b.c.kobe.jp");
	TEST_ASSERT_STREQ(s, "c.kobe.jp");
	free(s);
}

/* A small list of our own: rules, wildcards, exceptions, comments,
 * CRLF, white space after a rule, U-labels. */
static void
test_psl_own_list(void)
{
	static const char list[] =
	    "// ===BEGIN ICANN DOMAINS===\n"
	    "test\n"
	    "co.test   some comment\r\n"
	    "*.wild.test\n"
	    "!keep.wild.test\n"
	    "  indented.test\n"
	    "bücher.test\n"
	    "// ===END ICANN DOMAINS===\n"
	    "// ===BEGIN PRIVATE DOMAINS===\n"
	    "host.example\n"
	    "\n"
	    "..bad\n";
	struct psl *p = psl_parse(list, sizeof(list) - 1);
	static const char *const cases[][2] = {
		{ "a.b.co.test", "b.co.test" },
		{ "x.y.wild.test", "x.y.wild.test" },
		{ "y.wild.test", "y.wild.test" },	/* a suffix */
		{ "a.keep.wild.test", "keep.wild.test" },
		{ "a.b.indented.test", "b.indented.test" },
		{ "a.b.bücher.test", "b.bücher.test" },
		{ "a.b.xn--bcher-kva.test", "b.xn--bcher-kva.test" },
		{ "a.b.host.example", "b.host.example" },
		{ "a.b.other.example", "other.example" },
	};
	char *s;

	TEST_ASSERT(psl_rule_count(p) == 7);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = psl_org_domain(p, cases[i][0]);
		TEST_ASSERT_STREQ(s, cases[i][1]);
		free(s);
	}
	psl_free(&p);
	TEST_ASSERT(p == NULL);
	psl_free(&p);
}

static void
test_psl_fallback(void)
{
	struct psl *p;
	char *s;

	log_set_level(LOG_ERROR);	/* the expected warning */
	p = psl_load("/nonexistent/public_suffix_list.dat");
	log_set_level(LOG_INFO);
	TEST_ASSERT(p != NULL && psl_rule_count(p) == 0);
	s = psl_org_domain(p, "a.b.example.co.uk");
	TEST_ASSERT_STREQ(s, "co.uk");
	free(s);
	psl_free(&p);
	s = psl_org_domain(NULL, "mail.Example.com");	/* NULL: same */
	TEST_ASSERT_STREQ(s, "example.com");
	free(s);
}

static void
test_punycode(void)
{
	static const char *const cases[][2] = {
		{ "公司", "xn--55qx5d" },
		{ "中国", "xn--fiqs8s" },
		{ "食狮.公司.cn", "xn--85x722f.xn--55qx5d.cn" },
		{ "Bücher.Example.", "xn--bcher-kva.example" },
		{ "mañana.com", "xn--maana-pta.com" },
		{ "правительство.рф", "xn--80aealotwbjpid2k.xn--p1ai" },
		{ "plain.test", "plain.test" },
	};
	char *s;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = psl_domain_to_ascii(cases[i][0]);
		TEST_ASSERT_STREQ(s, cases[i][1]);
		free(s);
	}
	TEST_ASSERT(psl_domain_to_ascii("\xc3.test") == NULL);
	TEST_ASSERT(psl_domain_to_ascii("\xc0\x80.test") == NULL);
	TEST_ASSERT(psl_domain_to_ascii("\xed\xa0\x80.test") == NULL);
	TEST_ASSERT(psl_domain_to_ascii("a\tb.test") == NULL);
}

/* ------------------------------------------------------------------ */
/* Record parser */

static void
fmt_uris(struct buf *b, const char *tag, const struct dmarc_uri *u, int n)
{
	for (int i = 0; i < n; i++) {
		buf_printf(b, "%s%s", i ? "," : tag, u[i].uri);
		if (u[i].max_size)
			buf_printf(b, "!%llu",
			    (unsigned long long)u[i].max_size);
	}
}

/* The policy as text: p, sp and np always, the rest when not default. */
static char *
fmt_policy(const struct dmarc_policy *p)
{
	struct buf b;

	buf_init(&b, 0);
	buf_printf(&b, "p=%s sp=%s np=%s", dmarc_disposition_str(p->p),
	    dmarc_disposition_str(p->sp), dmarc_disposition_str(p->np));
	if (p->p_defaulted)
		buf_puts(&b, " defaulted");
	if (p->adkim_strict)
		buf_puts(&b, " adkim=s");
	if (p->aspf_strict)
		buf_puts(&b, " aspf=s");
	if (p->pct != 100)
		buf_printf(&b, " pct=%u", p->pct);
	if (p->fo != DMARC_FO_0)
		buf_printf(&b, " fo=%s%s%s%s", p->fo & DMARC_FO_0 ? "0" : "",
		    p->fo & DMARC_FO_1 ? "1" : "", p->fo & DMARC_FO_D ? "d" :
		    "", p->fo & DMARC_FO_S ? "s" : "");
	if (!p->rf_afrf)
		buf_puts(&b, " rf=-");
	if (p->ri != 86400)
		buf_printf(&b, " ri=%u", (unsigned)p->ri);
	fmt_uris(&b, " rua=", p->rua, p->nrua);
	fmt_uris(&b, " ruf=", p->ruf, p->nruf);
	return buf_steal(&b, NULL);
}

struct rec_case {
	const char		*txt;
	enum dmarc_parse_status	 st;
	const char		*want;	/* fmt_policy() when OK */
};

#define OK	DMARC_PARSE_OK
#define NOT	DMARC_PARSE_NOT_DMARC
#define NOPOL	DMARC_PARSE_NO_POLICY
#define DFL(p)	"p=" p " sp=" p " np=" p

static const struct rec_case rec_cases[] = {
	/* RFC 7489 Appendix B.2 and 6.3. */
	{ "v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com", OK,
	  DFL("none") " rua=mailto:dmarc-feedback@example.com" },
	{ "v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com; "
	  "ruf=mailto:auth-reports@thirdparty.example.net", OK,
	  DFL("none") " rua=mailto:dmarc-feedback@example.com"
	  " ruf=mailto:auth-reports@thirdparty.example.net" },
	{ "v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com,"
	  "mailto:tld-test@thirdparty.example.net!10m; pct=25", OK,
	  DFL("quarantine") " pct=25 rua=mailto:dmarc-feedback@example.com,"
	  "mailto:tld-test@thirdparty.example.net!10485760" },
	{ "v=DMARC1; p=reject; aspf=r; rua=mailto:dmarc-feedback@example.com",
	  OK, DFL("reject") " rua=mailto:dmarc-feedback@example.com" },
	{ "v=DMARC1; p=quarantine; sp=none", OK,
	  "p=quarantine sp=none np=none" },
	{ "v=DMARC1;p=reject", OK, DFL("reject") },
	{ "v=DMARC1; p=reject; sp=none; np=reject", OK,
	  "p=reject sp=none np=reject" },
	{ " v = DMARC1 ;\tP = Reject ; ADKIM = S ; aspf=s;", OK,
	  DFL("reject") " adkim=s aspf=s" },
	/* Version: first, exact. */
	{ "v=dmarc1; p=reject", NOT, NULL },
	{ "v=DMARC2; p=reject", NOT, NULL },
	{ "v=DMARC1p=reject", NOT, NULL },
	{ "p=reject; v=DMARC1", NOT, NULL },
	{ "; v=DMARC1; p=reject", NOT, NULL },
	{ "v=spf1 -all", NOT, NULL },
	{ "", NOT, NULL },
	{ "v", NOT, NULL },
	/* No valid p (or a bad sp): p=none with a valid rua, else none. */
	{ "v=DMARC1", NOPOL, NULL },
	{ "v=DMARC1;", NOPOL, NULL },
	{ "v=DMARC1; p=bogus", NOPOL, NULL },
	{ "v=DMARC1; p=", NOPOL, NULL },
	{ "v=DMARC1; p=reject; sp=bogus", NOPOL, NULL },
	{ "v=DMARC1; p=bogus; rua=notauri", NOPOL, NULL },
	{ "v=DMARC1; rua=mailto:a@b.test", OK,
	  DFL("none") " defaulted rua=mailto:a@b.test" },
	{ "v=DMARC1; p=bogus; sp=reject; rua=mailto:a@b.test", OK,
	  DFL("none") " defaulted rua=mailto:a@b.test" },
	{ "v=DMARC1; p=reject; sp=bogus; rua=mailto:a@b.test", OK,
	  DFL("none") " defaulted rua=mailto:a@b.test" },
	{ "v=DMARC1; p=reject; np=bogus", OK, DFL("reject") },
	/* Other tags: bad values take the default. */
	{ "v=DMARC1; p=reject; pct=0", OK, DFL("reject") " pct=0" },
	{ "v=DMARC1; p=reject; pct=050", OK, DFL("reject") " pct=50" },
	{ "v=DMARC1; p=reject; pct=101", OK, DFL("reject") },
	{ "v=DMARC1; p=reject; pct=1000", OK, DFL("reject") },
	{ "v=DMARC1; p=reject; pct=-1", OK, DFL("reject") },
	{ "v=DMARC1; p=reject; pct=", OK, DFL("reject") },
	{ "v=DMARC1; p=reject; adkim=x; aspf=relaxed", OK, DFL("reject") },
	{ "v=DMARC1; p=reject; fo=1:d : s", OK, DFL("reject") " fo=1ds" },
	{ "v=DMARC1; p=reject; fo=1:x", OK, DFL("reject") },
	{ "v=DMARC1; p=reject; fo=", OK, DFL("reject") },
	{ "v=DMARC1; p=reject; rf=afrf:iodef", OK, DFL("reject") },
	{ "v=DMARC1; p=reject; rf=iodef", OK, DFL("reject") " rf=-" },
	{ "v=DMARC1; p=reject; rf=a f", OK, DFL("reject") },
	{ "v=DMARC1; p=reject; ri=3600", OK, DFL("reject") " ri=3600" },
	{ "v=DMARC1; p=reject; ri=4294967295", OK,
	  DFL("reject") " ri=4294967295" },
	{ "v=DMARC1; p=reject; ri=4294967296", OK, DFL("reject") },
	/* Repeated tags keep the first; unknown and broken tags ignored. */
	{ "v=DMARC1; p=none; p=reject", OK, DFL("none") },
	{ "v=DMARC1; p=bogus; p=reject", NOPOL, NULL },
	{ "v=DMARC1; p=reject; foo=bar; x; =y;; v=DMARC1", OK,
	  DFL("reject") },
	/* Report URIs: sizes, bad ones dropped, at most DMARC_URI_MAX. */
	{ "v=DMARC1; p=reject; rua=mailto:a@b.test!10, mailto:c@d.test!5k,"
	  " bad, mailto:e@f.test!1x, https://r.test/x?a=b!2G", OK,
	  DFL("reject") " rua=mailto:a@b.test!10,mailto:c@d.test!5120,"
	  "https://r.test/x?a=b!2147483648" },
	{ "v=DMARC1; p=reject; rua=mailto:", OK, DFL("reject") },
	{ "v=DMARC1; p=reject; rua=:x, 1a:b, mailto:a b", OK, DFL("reject") },
	{ "v=DMARC1; p=reject; rua=m:1,m:2,m:3,m:4,m:5,m:6,m:7,m:8,m:9", OK,
	  DFL("reject") " rua=m:1,m:2,m:3,m:4,m:5,m:6,m:7,m:8" },
	{ "v=DMARC1; p=reject; rua=mailto:a@b.test!99999999999999999999",
	  OK, DFL("reject") },
};

static void
test_record_table(void)
{
	for (size_t i = 0; i < sizeof(rec_cases) / sizeof(rec_cases[0]); i++) {
		const struct rec_case *c = &rec_cases[i];
		size_t len = strlen(c->txt);
		/* An exact-size copy: ASan sees any read past the end. */
		char *copy = xmemdup(c->txt, len ? len : 1);
		struct dmarc_policy *pol = (void *)1;
		enum dmarc_parse_status st = dmarc_record_parse(copy, len,
		    &pol);
		char *got = pol ? fmt_policy(pol) : NULL;

		free(copy);
		if (st != c->st || (c->want != NULL &&
		    (got == NULL || strcmp(got, c->want) != 0)) ||
		    (c->want == NULL && pol != NULL)) {
			fprintf(stderr, "  record \"%s\": got %d \"%s\", "
			    "want %d \"%s\"\n", c->txt, st, got ? got : "-",
			    c->st, c->want ? c->want : "-");
			free(got);
			dmarc_policy_free(&pol);
			TEST_ASSERT(0);
		}
		free(got);
		dmarc_policy_free(&pol);
		TEST_ASSERT(pol == NULL);
	}
}

static void
test_record_limits(void)
{
	struct dmarc_policy *pol;
	struct buf b;

	buf_init(&b, 0);
	buf_puts(&b, "v=DMARC1; p=reject; x=");
	while (b.len <= DMARC_RECORD_MAX)
		buf_putc(&b, 'x');
	pol = (void *)1;
	TEST_ASSERT(dmarc_record_parse(b.data, b.len, &pol) ==
	    DMARC_PARSE_NO_POLICY && pol == NULL);
	buf_free(&b);
	/* A NUL inside is just a byte. */
	TEST_ASSERT(dmarc_record_parse("v=DMARC1; p=reject\0; sp=none", 28,
	    &pol) == DMARC_PARSE_NO_POLICY);
	TEST_ASSERT(dmarc_record_parse("v=DMARC1; p=reject; x=\0; sp=none",
	    32, &pol) == DMARC_PARSE_OK);
	TEST_ASSERT(pol->p == DMARC_DISP_REJECT && pol->sp == DMARC_DISP_NONE);
	dmarc_policy_free(&pol);
	TEST_ASSERT(dmarc_record_parse("v=DMARC1\0; p=reject", 19, &pol) ==
	    DMARC_PARSE_NOT_DMARC);
}

/* ------------------------------------------------------------------ */
/* RFC5322.From */

struct from_case {
	const char		*hdr;
	enum dmarc_from_status	 st;
	const char		*domain;
};

static const struct from_case from_cases[] = {
	{ "From: a@Example.COM\n\nbody\n", DMARC_FROM_OK, "example.com" },
	{ "Subject: x\nFrom: A <a@b.test>, \"C, D\" <c@B.TEST>\n\n",
	  DMARC_FROM_OK, "b.test" },
	{ "From:\r\n a@b.test (x)\r\n\r\n", DMARC_FROM_OK, "b.test" },
	{ "from: =?utf-8?q?x?= <a@b.test.>\n", DMARC_FROM_OK, "b.test" },
	{ "From: a@bücher.test\n", DMARC_FROM_OK, "xn--bcher-kva.test" },
	{ "From: team: a@b.test, c@b.test;\n", DMARC_FROM_OK, "b.test" },
	{ "From: a@b.test, c@d.test\n", DMARC_FROM_MULTIPLE, NULL },
	{ "From: a@b.test\nFrom: a@b.test\n", DMARC_FROM_MULTIPLE, NULL },
	{ "From: a@b.test\nfrom: c@d.test\n", DMARC_FROM_MULTIPLE, NULL },
	{ "Subject: x\n\nFrom: a@b.test\n", DMARC_FROM_NONE, NULL },
	{ "From: undisclosed:;\n", DMARC_FROM_NONE, NULL },
	{ "From:\n", DMARC_FROM_NONE, NULL },
	{ "", DMARC_FROM_NONE, NULL },
	{ "From: a\n", DMARC_FROM_INVALID, NULL },
	{ "From: a@\n", DMARC_FROM_INVALID, NULL },
	{ "From: a@[192.0.2.1]\n", DMARC_FROM_INVALID, NULL },
	{ "From: a@b..test\n", DMARC_FROM_INVALID, NULL },
	{ "From: a@b.test, c\n", DMARC_FROM_INVALID, NULL },
	{ "From: a@b!c.test\n", DMARC_FROM_INVALID, NULL },
};

static void
test_from_domain(void)
{
	for (size_t i = 0; i < sizeof(from_cases) / sizeof(from_cases[0]);
	    i++) {
		const struct from_case *c = &from_cases[i];
		char *d = (char *)1;
		enum dmarc_from_status st = dmarc_from_domain(c->hdr,
		    strlen(c->hdr), &d);

		if (st != c->st || (c->domain == NULL) != (d == NULL) ||
		    (d != NULL && strcmp(d, c->domain) != 0)) {
			fprintf(stderr, "  from %d: got %s %s\n", (int)i,
			    dmarc_from_status_str(st), d ? d : "-");
			free(d);
			TEST_ASSERT(0);
		}
		free(d);
	}
}

/* ------------------------------------------------------------------ */
/* Alignment and evaluation */

struct align_case {
	const char	*from;
	const char	*domain;
	bool		 strict;
	bool		 want;
};

static const struct align_case align_cases[] = {
	{ "example.com", "example.com", true, true },
	{ "example.com", "example.com", false, true },
	{ "example.com", "EXAMPLE.com.", true, true },
	{ "example.com", "mail.example.com", true, false },
	{ "example.com", "mail.example.com", false, true },
	{ "mail.example.com", "example.com", true, false },
	{ "mail.example.com", "example.com", false, true },
	{ "a.example.com", "b.example.com", false, true },
	{ "a.example.com", "b.example.com", true, false },
	{ "example.com", "example.net", false, false },
	{ "example.com", "com", false, false },
	{ "example.co.uk", "other.co.uk", false, false },
	{ "a.example.co.uk", "b.example.co.uk", false, true },
	{ "x.city.kobe.jp", "y.city.kobe.jp", false, true },
	{ "a.x.b.kobe.jp", "x.b.kobe.jp", false, true },
	{ "x.b.kobe.jp", "y.b.kobe.jp", false, false },
	{ "x.b.kobe.jp", "x.c.kobe.jp", false, false },
	{ "a.user.github.io", "other.github.io", false, false },
	{ "食狮.中国", "xn--85x722f.xn--fiqs8s", true, true },
	{ "www.食狮.中国", "mail.xn--85x722f.xn--fiqs8s", false, true },
	{ "example.com", "", false, false },
	{ "example.com", "[192.0.2.1]", false, false },
	{ "example..com", "example..com", true, false },
	{ "example.com", NULL, false, false },
};

static void
test_alignment(void)
{
	for (size_t i = 0; i < sizeof(align_cases) / sizeof(align_cases[0]);
	    i++) {
		const struct align_case *c = &align_cases[i];

		if (dmarc_aligned(psl, c->from, c->domain, c->strict) !=
		    c->want) {
			fprintf(stderr, "  align %s %s %s: want %d\n", c->from,
			    c->domain ? c->domain : "(null)",
			    c->strict ? "strict" : "relaxed", c->want);
			TEST_ASSERT(0);
		}
	}
}

static struct dmarc_policy *
policy(const char *txt)
{
	struct dmarc_policy *pol;

	if (dmarc_record_parse(txt, strlen(txt), &pol) != DMARC_PARSE_OK)
		abort();
	return pol;
}

/* SPF x DKIM x strict/relaxed for From example.com. */
static void
test_evaluate_matrix(void)
{
	static const struct {
		const char	*rec;
		enum dmarc_auth	 spf;
		const char	*spf_dom;
		enum dmarc_auth	 dkim;
		const char	*d;
		enum dmarc_result want;
	} m[] = {
		{ "v=DMARC1; p=reject", DMARC_AUTH_PASS, "example.com",
		  DMARC_AUTH_NONE, NULL, DMARC_RESULT_PASS },
		{ "v=DMARC1; p=reject", DMARC_AUTH_PASS, "bounce.example.com",
		  DMARC_AUTH_NONE, NULL, DMARC_RESULT_PASS },
		{ "v=DMARC1; p=reject; aspf=s", DMARC_AUTH_PASS,
		  "bounce.example.com", DMARC_AUTH_NONE, NULL,
		  DMARC_RESULT_FAIL },
		{ "v=DMARC1; p=reject; aspf=s", DMARC_AUTH_PASS, "Example.COM",
		  DMARC_AUTH_NONE, NULL, DMARC_RESULT_PASS },
		{ "v=DMARC1; p=reject", DMARC_AUTH_PASS, "example.net",
		  DMARC_AUTH_NONE, NULL, DMARC_RESULT_FAIL },
		{ "v=DMARC1; p=reject", DMARC_AUTH_FAIL, "example.com",
		  DMARC_AUTH_PASS, "s.example.com", DMARC_RESULT_PASS },
		{ "v=DMARC1; p=reject; adkim=s", DMARC_AUTH_FAIL, "example.com",
		  DMARC_AUTH_PASS, "s.example.com", DMARC_RESULT_FAIL },
		{ "v=DMARC1; p=reject; adkim=s", DMARC_AUTH_NONE, NULL,
		  DMARC_AUTH_PASS, "example.com", DMARC_RESULT_PASS },
		{ "v=DMARC1; p=reject", DMARC_AUTH_NONE, NULL,
		  DMARC_AUTH_PASS, "esp.test", DMARC_RESULT_FAIL },
		{ "v=DMARC1; p=reject", DMARC_AUTH_NONE, NULL,
		  DMARC_AUTH_FAIL, "example.com", DMARC_RESULT_FAIL },
		{ "v=DMARC1; p=reject", DMARC_AUTH_PASS,
		  "example.com.evil.test",
		  DMARC_AUTH_PASS, "evil.test", DMARC_RESULT_FAIL },
		/* Temporary failures of aligned checks: temperror. */
		{ "v=DMARC1; p=reject", DMARC_AUTH_TEMPERROR, "example.com",
		  DMARC_AUTH_FAIL, "example.com", DMARC_RESULT_TEMPERROR },
		{ "v=DMARC1; p=reject", DMARC_AUTH_FAIL, "example.com",
		  DMARC_AUTH_TEMPERROR, "example.com", DMARC_RESULT_TEMPERROR },
		{ "v=DMARC1; p=reject", DMARC_AUTH_TEMPERROR, "example.net",
		  DMARC_AUTH_TEMPERROR, "esp.test", DMARC_RESULT_FAIL },
		{ "v=DMARC1; p=reject", DMARC_AUTH_TEMPERROR, "example.com",
		  DMARC_AUTH_PASS, "example.com", DMARC_RESULT_PASS },
	};
	enum dmarc_disposition disp;

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		struct dmarc_policy *pol = policy(m[i].rec);
		struct dmarc_dkim_result dk = { m[i].d, m[i].dkim };
		enum dmarc_result r = dmarc_evaluate(pol, "example.com", NULL,
		    m[i].spf, m[i].spf_dom, &dk, m[i].d ? 1 : 0, psl, &disp);

		dmarc_policy_free(&pol);
		if (r != m[i].want || disp != (r == DMARC_RESULT_FAIL ?
		    DMARC_DISP_REJECT : DMARC_DISP_NONE)) {
			fprintf(stderr, "  matrix %d: got %s/%s\n", (int)i,
			    dmarc_result_str(r), dmarc_disposition_str(disp));
			TEST_ASSERT(0);
		}
	}
}

static void
test_evaluate_dkim_list(void)
{
	struct dmarc_dkim_result dk[] = {
		{ "esp.test", DMARC_AUTH_PASS },
		{ "example.com", DMARC_AUTH_FAIL },
		{ "mail.example.com", DMARC_AUTH_PASS },
	};
	struct dmarc_policy *pol = policy("v=DMARC1; p=quarantine");
	enum dmarc_disposition disp;

	TEST_ASSERT(dmarc_evaluate(pol, "example.com", NULL, DMARC_AUTH_NONE,
	    NULL, dk, 2, psl, &disp) == DMARC_RESULT_FAIL);
	TEST_ASSERT(disp == DMARC_DISP_QUARANTINE);
	TEST_ASSERT(dmarc_evaluate(pol, "example.com", NULL, DMARC_AUTH_NONE,
	    NULL, dk, 3, psl, &disp) == DMARC_RESULT_PASS);
	TEST_ASSERT(disp == DMARC_DISP_NONE);
	/* org_from given by the caller; disp_r may be NULL. */
	TEST_ASSERT(dmarc_evaluate(pol, "a.example.com", "EXAMPLE.com",
	    DMARC_AUTH_NONE, NULL, dk + 2, 1, psl, NULL) ==
	    DMARC_RESULT_PASS);
	TEST_ASSERT(dmarc_evaluate(NULL, "example.com", NULL,
	    DMARC_AUTH_FAIL, NULL, NULL, 0, psl, &disp) == DMARC_RESULT_NONE);
	TEST_ASSERT(disp == DMARC_DISP_NONE);
	/* An unusable From domain never passes. */
	TEST_ASSERT(dmarc_evaluate(pol, "a..b", NULL, DMARC_AUTH_PASS, "a..b",
	    NULL, 0, psl, &disp) == DMARC_RESULT_FAIL);
	dmarc_policy_free(&pol);
}

/* p for the From domain's own record, sp at the org domain, np for a
 * non-existent From domain. */
static void
test_evaluate_sp_np(void)
{
	struct dmarc_policy *pol = policy("v=DMARC1; p=reject; sp=quarantine; "
	    "np=none");
	enum dmarc_disposition disp;

	TEST_ASSERT(dmarc_evaluate(pol, "example.com", NULL, DMARC_AUTH_FAIL,
	    "example.com", NULL, 0, psl, &disp) == DMARC_RESULT_FAIL);
	TEST_ASSERT(disp == DMARC_DISP_REJECT);
	pol->at_org = true;
	dmarc_evaluate(pol, "sub.example.com", NULL, DMARC_AUTH_FAIL,
	    "sub.example.com", NULL, 0, psl, &disp);
	TEST_ASSERT(disp == DMARC_DISP_QUARANTINE);
	pol->from_nonexistent = true;
	dmarc_evaluate(pol, "nx.example.com", NULL, DMARC_AUTH_FAIL,
	    "nx.example.com", NULL, 0, psl, &disp);
	TEST_ASSERT(disp == DMARC_DISP_NONE);
	dmarc_policy_free(&pol);
	/* Without sp, subdomains get p. */
	pol = policy("v=DMARC1; p=reject");
	pol->at_org = true;
	dmarc_evaluate(pol, "sub.example.com", NULL, DMARC_AUTH_NONE, NULL,
	    NULL, 0, psl, &disp);
	TEST_ASSERT(disp == DMARC_DISP_REJECT);
	dmarc_policy_free(&pol);
	pol = policy("v=DMARC1; p=none; sp=reject");
	dmarc_evaluate(pol, "example.com", NULL, DMARC_AUTH_NONE, NULL,
	    NULL, 0, psl, &disp);
	TEST_ASSERT(disp == DMARC_DISP_NONE);
	dmarc_policy_free(&pol);
}

static unsigned roll_value, roll_calls;

static unsigned
fixed_roll(void *arg)
{
	(void)arg;
	roll_calls++;
	return roll_value;
}

static enum dmarc_disposition
disp_for(const char *rec, unsigned roll)
{
	struct dmarc_policy *pol = policy(rec);
	enum dmarc_disposition disp;

	roll_value = roll;
	dmarc_evaluate(pol, "example.com", NULL, DMARC_AUTH_FAIL,
	    "example.com", NULL, 0, psl, &disp);
	dmarc_policy_free(&pol);
	return disp;
}

static void
test_evaluate_pct(void)
{
	dmarc_set_pct_roll(fixed_roll, NULL);
	roll_calls = 0;
	TEST_ASSERT(disp_for("v=DMARC1; p=reject; pct=25", 24) ==
	    DMARC_DISP_REJECT);
	TEST_ASSERT(disp_for("v=DMARC1; p=reject; pct=25", 25) ==
	    DMARC_DISP_QUARANTINE);
	TEST_ASSERT(disp_for("v=DMARC1; p=quarantine; pct=25", 0) ==
	    DMARC_DISP_QUARANTINE);
	TEST_ASSERT(disp_for("v=DMARC1; p=quarantine; pct=25", 99) ==
	    DMARC_DISP_NONE);
	TEST_ASSERT(disp_for("v=DMARC1; p=reject; pct=0", 0) ==
	    DMARC_DISP_QUARANTINE);
	TEST_ASSERT(roll_calls == 5);
	TEST_ASSERT(disp_for("v=DMARC1; p=reject; pct=100", 99) ==
	    DMARC_DISP_REJECT);
	TEST_ASSERT(disp_for("v=DMARC1; p=none; pct=10", 99) ==
	    DMARC_DISP_NONE);
	TEST_ASSERT(roll_calls == 5);		/* no roll needed */
	dmarc_set_pct_roll(NULL, NULL);
	/* The real sampler: pct=50 over many messages. */
	{
		int n = 0;

		for (int i = 0; i < 2000; i++)
			n += disp_for("v=DMARC1; p=reject; pct=50", 0) ==
			    DMARC_DISP_REJECT;
		TEST_ASSERT(n > 800 && n < 1200);
	}
}

static void
test_strings(void)
{
	TEST_ASSERT_STREQ(dmarc_result_str(DMARC_RESULT_TEMPERROR),
	    "temperror");
	TEST_ASSERT_STREQ(dmarc_lookup_status_str(DMARC_LOOKUP_MULTIPLE),
	    "multiple");
	TEST_ASSERT_STREQ(dmarc_disposition_str(DMARC_DISP_QUARANTINE),
	    "quarantine");
	TEST_ASSERT_STREQ(dmarc_from_status_str(DMARC_FROM_INVALID),
	    "invalid");
}

int
main(void)
{
	log_init(LOG_INFO);
	psl = psl_load(NULL);
	TEST_RUN(test_psl_vectors);
	TEST_RUN(test_psl_org_domain);
	TEST_RUN(test_psl_own_list);
	TEST_RUN(test_psl_fallback);
	TEST_RUN(test_punycode);
	TEST_RUN(test_record_table);
	TEST_RUN(test_record_limits);
	TEST_RUN(test_from_domain);
	TEST_RUN(test_alignment);
	TEST_RUN(test_evaluate_matrix);
	TEST_RUN(test_evaluate_dkim_list);
	TEST_RUN(test_evaluate_sp_np);
	TEST_RUN(test_evaluate_pct);
	TEST_RUN(test_strings);
	psl_free(&psl);
	return test_done("test-dmarc");
}
