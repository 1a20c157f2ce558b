/*
 * test-sieve-lib - the Sieve interpreter's library (sieve_lib.h):
 * comparators and match types with captures and the step budget,
 * variable expansion and modifiers, header values and addresses, date
 * parts, body texts. Expected values marked "sieve-test" were taken from
 * Pigeonhole's sieve-test (Debian dovecot-sieve 0.5.19) on the same
 * input, through `debug_log "${1}"` after the same test.
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sieve/sieve_lib.h"
#include "util/buf.h"
#include "util/test.h"

/* ---- match ---- */

static int
m(enum sieve_match mt, enum sieve_cmp cmp, const char *v, const char *k)
{
	return sieve_match(mt, SIEVE_REL_EQ, cmp, v, strlen(v), k, strlen(k),
	    NULL, NULL);
}

static int
rel(enum sieve_rel r, enum sieve_cmp cmp, const char *v, const char *k)
{
	return sieve_match(SIEVE_MATCH_VALUE, r, cmp, v, strlen(v), k,
	    strlen(k), NULL, NULL);
}

static void
test_is_contains(void)
{
	TEST_ASSERT(m(SIEVE_MATCH_IS, SIEVE_CMP_ASCII_CASEMAP, "xAbA", "xaba"));
	TEST_ASSERT(!m(SIEVE_MATCH_IS, SIEVE_CMP_OCTET, "xAbA", "xaba"));
	TEST_ASSERT(m(SIEVE_MATCH_IS, SIEVE_CMP_OCTET, "xAbA", "xAbA"));
	TEST_ASSERT(!m(SIEVE_MATCH_IS, SIEVE_CMP_ASCII_CASEMAP, "ab", "abc"));
	TEST_ASSERT(m(SIEVE_MATCH_IS, SIEVE_CMP_ASCII_CASEMAP, "", ""));
	TEST_ASSERT(m(SIEVE_MATCH_CONTAINS, SIEVE_CMP_ASCII_CASEMAP,
	    "Hello XYZ world", "xyz"));
	TEST_ASSERT(!m(SIEVE_MATCH_CONTAINS, SIEVE_CMP_OCTET,
	    "Hello XYZ world", "xyz"));
	TEST_ASSERT(m(SIEVE_MATCH_CONTAINS, SIEVE_CMP_OCTET, "abc", ""));
	TEST_ASSERT(m(SIEVE_MATCH_CONTAINS, SIEVE_CMP_OCTET, "", ""));
	TEST_ASSERT(!m(SIEVE_MATCH_CONTAINS, SIEVE_CMP_OCTET, "", "a"));
	/* non-ASCII octets are compared as they are */
	TEST_ASSERT(!m(SIEVE_MATCH_IS, SIEVE_CMP_ASCII_CASEMAP, "\xc3\xa9",
	    "\xc3\x89"));
}

/* :matches with captures; expected values from sieve-test. */
static void
test_matches_captures(void)
{
	static const struct {
		const char *v, *k;
		int r;
		const char *cap[5];	/* ${0}.. (NULL: not set) */
	} t[] = {
		{ "banana", "*a*", 1, { "banana", "b", "nana" } },
		{ "a1b2b3c", "a*b*c", 1, { "a1b2b3c", "1", "2b3" } },
		{ "[acme-users] [fwd] version 1.0 is out", "[*] *", 1,
		    { NULL, "acme-users", "[fwd] version 1.0 is out" } },
		{ "abc", "*?", 1, { "abc", "ab", "c" } },
		{ "abcabd", "*ab?", 1, { NULL, "abc", "d" } },
		{ "xaybzc", "*?b*", 1, { NULL, "xa", "y", "zc" } },
		{ "abc", "???", 1, { "abc", "a", "b", "c" } },
		{ "a", "a**", 1, { "a", "", "" } },
		{ "ab", "?*?", 1, { "ab", "a", "", "b" } },
		{ "a", "?*?", 0, { NULL } },
		{ "", "*", 1, { "", "" } },
		{ "", "", 1, { "" } },
		{ "a", "", 0, { NULL } },
		{ "x.y.z", "*.*", 1, { NULL, "x", "y.z" } },
		{ "hello xyz world", "*x*", 1, { NULL, "hello ", "yz world" } },
		{ "hello xyz world", "HELLO*WORLD", 1, { NULL, " xyz " } },
		{ "hello xyz world", "*X?Z*", 1,
		    { NULL, "hello ", "y", " world" } },
		{ "banana", "*a", 1, { NULL, "banan" } },
		{ "banana", "b*n", 0, { NULL } },
		{ "abc", "abcd*", 0, { NULL } },
		{ "abcd", "ab*cd", 1, { NULL, "" } },
		{ "abc", "ab*bc", 0, { NULL } },	/* overlap */
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct sieve_captures c = { .n = 0 };
		int r = sieve_match(SIEVE_MATCH_MATCHES, SIEVE_REL_EQ,
		    SIEVE_CMP_ASCII_CASEMAP, t[i].v, strlen(t[i].v), t[i].k,
		    strlen(t[i].k), NULL, &c);

		if (r != t[i].r)
			fprintf(stderr, "  case %zu: %s / %s\n", i, t[i].v,
			    t[i].k);
		TEST_ASSERT(r == t[i].r);
		if (r == 1)
			TEST_ASSERT_STREQ(c.v[0], t[i].v);
		for (unsigned j = 1; j < 5 && t[i].cap[j] != NULL; j++) {
			TEST_ASSERT(j < c.n);
			TEST_ASSERT_STREQ(c.v[j], t[i].cap[j]);
		}
		sieve_captures_clear(&c);
	}
}

static void
test_matches_escapes(void)
{
	struct sieve_captures c = { .n = 0 };

	TEST_ASSERT(m(SIEVE_MATCH_MATCHES, SIEVE_CMP_OCTET, "a*b", "a\\*b"));
	TEST_ASSERT(!m(SIEVE_MATCH_MATCHES, SIEVE_CMP_OCTET, "axb", "a\\*b"));
	TEST_ASSERT(m(SIEVE_MATCH_MATCHES, SIEVE_CMP_OCTET, "a?c", "a\\?c"));
	TEST_ASSERT(!m(SIEVE_MATCH_MATCHES, SIEVE_CMP_OCTET, "abc", "a\\?c"));
	TEST_ASSERT(m(SIEVE_MATCH_MATCHES, SIEVE_CMP_OCTET, "a\\b",
	    "a\\\\b"));
	TEST_ASSERT(m(SIEVE_MATCH_MATCHES, SIEVE_CMP_OCTET, "axb", "a\\xb"));
	/* a lone trailing backslash is literal (sieve-test 0.5.19 panics) */
	TEST_ASSERT(m(SIEVE_MATCH_MATCHES, SIEVE_CMP_OCTET, "ab\\", "ab\\"));
	TEST_ASSERT(!m(SIEVE_MATCH_MATCHES, SIEVE_CMP_OCTET, "ab", "ab\\"));
	/* an escaped wildcard captures nothing (sieve-test: "[]") */
	TEST_ASSERT(sieve_match(SIEVE_MATCH_MATCHES, SIEVE_REL_EQ,
	    SIEVE_CMP_OCTET, "a*b", 3, "a\\*b", 4, NULL, &c) == 1);
	TEST_ASSERT(c.n == 1);
	TEST_ASSERT_STREQ(c.v[0], "a*b");
	sieve_captures_clear(&c);
	/* octet is case-sensitive, casemap not */
	TEST_ASSERT(!m(SIEVE_MATCH_MATCHES, SIEVE_CMP_OCTET, "AbA", "a?a"));
	TEST_ASSERT(m(SIEVE_MATCH_MATCHES, SIEVE_CMP_ASCII_CASEMAP, "AbA",
	    "a?a"));
}

static void
test_matches_many_wildcards(void)
{
	struct sieve_captures c = { .n = 0 };
	const char *v = "abcdefghijkl";

	/* 13 '?' on 12 octets: no */
	TEST_ASSERT(!m(SIEVE_MATCH_MATCHES, SIEVE_CMP_OCTET, v,
	    "?????????????"));
	/* ${9} is the 9th wildcard, nothing beyond */
	TEST_ASSERT(sieve_match(SIEVE_MATCH_MATCHES, SIEVE_REL_EQ,
	    SIEVE_CMP_OCTET, v, strlen(v), "???????????*", 12, NULL, &c) == 1);
	TEST_ASSERT(c.n == 10);
	TEST_ASSERT_STREQ(c.v[1], "a");
	TEST_ASSERT_STREQ(c.v[9], "i");
	/* a failed match leaves the captures as they were */
	TEST_ASSERT(sieve_match(SIEVE_MATCH_MATCHES, SIEVE_REL_EQ,
	    SIEVE_CMP_OCTET, "zz", 2, "a*", 2, NULL, &c) == 0);
	TEST_ASSERT_STREQ(c.v[1], "a");
	/* :is and :contains set none */
	TEST_ASSERT(sieve_match(SIEVE_MATCH_IS, SIEVE_REL_EQ,
	    SIEVE_CMP_OCTET, "zz", 2, "zz", 2, NULL, &c) == 1);
	TEST_ASSERT_STREQ(c.v[0], v);
	sieve_captures_clear(&c);
	TEST_ASSERT(c.n == 0 && c.v[0] == NULL);
}

static void
test_numeric(void)
{
	enum sieve_cmp n = SIEVE_CMP_ASCII_NUMERIC;

	TEST_ASSERT(m(SIEVE_MATCH_IS, n, "007", "7"));
	TEST_ASSERT(m(SIEVE_MATCH_IS, n, "7abc", "7"));
	TEST_ASSERT(!m(SIEVE_MATCH_IS, n, "70", "7"));
	/* not starting with a digit: positive infinity, equal to itself */
	TEST_ASSERT(m(SIEVE_MATCH_IS, n, "abc", "def"));
	TEST_ASSERT(m(SIEVE_MATCH_IS, n, "", "x"));
	TEST_ASSERT(!m(SIEVE_MATCH_IS, n, "abc", "1"));
	TEST_ASSERT(rel(SIEVE_REL_GT, n, "abc",
	    "99999999999999999999999999999"));
	TEST_ASSERT(rel(SIEVE_REL_LT, n, "5", "abc"));
	TEST_ASSERT(!rel(SIEVE_REL_LT, n, "abc", "abc"));
	TEST_ASSERT(rel(SIEVE_REL_GE, n, "abc", "abc"));
	/* bigger than any machine integer still compares */
	TEST_ASSERT(rel(SIEVE_REL_GT, n, "100000000000000000000000",
	    "99999999999999999999999"));
	TEST_ASSERT(rel(SIEVE_REL_GT, n, "10", "9"));
	TEST_ASSERT(rel(SIEVE_REL_NE, n, "10", "9"));
	TEST_ASSERT(rel(SIEVE_REL_LE, n, "09", "9"));
	/* substring matching is not defined for i;ascii-numeric */
	TEST_ASSERT(!m(SIEVE_MATCH_CONTAINS, n, "123", "2"));
	TEST_ASSERT(!m(SIEVE_MATCH_MATCHES, n, "123", "*"));
}

static void
test_relational(void)
{
	/* :count passes the count as the value (RFC 5231 4.2) */
	TEST_ASSERT(sieve_match(SIEVE_MATCH_COUNT, SIEVE_REL_GE,
	    SIEVE_CMP_ASCII_NUMERIC, "3", 1, "2", 1, NULL, NULL) == 1);
	TEST_ASSERT(sieve_match(SIEVE_MATCH_COUNT, SIEVE_REL_EQ,
	    SIEVE_CMP_ASCII_NUMERIC, "0", 1, "0", 1, NULL, NULL) == 1);
	/* with i;octet the count compares as text: "10" < "9" */
	TEST_ASSERT(!rel(SIEVE_REL_GT, SIEVE_CMP_OCTET, "10", "9"));
	TEST_ASSERT(rel(SIEVE_REL_LT, SIEVE_CMP_OCTET, "10", "9"));
	TEST_ASSERT(rel(SIEVE_REL_LT, SIEVE_CMP_OCTET, "ab", "abc"));
	/* i;ascii-casemap orders upper-cased (RFC 4790 9.2): "_" > "A" */
	TEST_ASSERT(rel(SIEVE_REL_GT, SIEVE_CMP_ASCII_CASEMAP, "_", "a"));
	TEST_ASSERT(!rel(SIEVE_REL_GT, SIEVE_CMP_OCTET, "_", "a"));
	TEST_ASSERT(rel(SIEVE_REL_EQ, SIEVE_CMP_ASCII_CASEMAP, "ABC", "abc"));
	TEST_ASSERT(rel(SIEVE_REL_NE, SIEVE_CMP_OCTET, "ABC", "abc"));
}

static void
test_budget(void)
{
	size_t n = 200000, kl = 5000;
	char *v = malloc(n + 1), *k = malloc(kl + 4);
	struct sieve_match_budget b = { 0, 1000000 };
	clock_t t0;
	int r;

	memset(v, 'a', n);
	v[n] = '\0';
	/* leftmost segments make this linear: no blow-up, no budget */
	r = sieve_match(SIEVE_MATCH_MATCHES, SIEVE_REL_EQ, SIEVE_CMP_OCTET,
	    v, n, "*a*a*a*a*b", 10, &b, NULL);
	TEST_ASSERT(r == 0);
	TEST_ASSERT(b.used < 100);
	TEST_ASSERT(m(SIEVE_MATCH_MATCHES, SIEVE_CMP_ASCII_CASEMAP, v,
	    "*a*a*a*a*a"));
	/* a long segment with '?' tried at every place: quadratic, so the
	 * budget stops it */
	k[0] = '*';
	memset(k + 1, 'a', kl);
	memcpy(k + 1 + kl, "?b*", 3);
	t0 = clock();
	r = sieve_match(SIEVE_MATCH_MATCHES, SIEVE_REL_EQ, SIEVE_CMP_OCTET,
	    v, n, k, kl + 4, &b, NULL);
	TEST_ASSERT(r == -1);
	TEST_ASSERT(b.used > b.max);
	/* well under a second even under ASan (the budget, not the data,
	 * bounds the work) */
	TEST_ASSERT((double)(clock() - t0) / CLOCKS_PER_SEC < 5.0);
	/* the budget is for the whole run: once spent, every call fails */
	TEST_ASSERT(sieve_match(SIEVE_MATCH_IS, SIEVE_REL_EQ,
	    SIEVE_CMP_OCTET, "a", 1, "a", 1, &b, NULL) == -1);
	free(v);
	free(k);
}

/* ---- variables ---- */

static const char *
lookup(void *arg, const char *name, size_t nlen, size_t *len)
{
	static const struct { const char *n, *v; } vars[] = {
		{ "a", "x" }, { "abc", "val" }, { "global.g", "G" },
		{ "long", "h\xc3\xa9llo" },
	};

	(void)arg;
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (strlen(vars[i].n) == nlen &&
		    strncasecmp(vars[i].n, name, nlen) == 0) {
			*len = strlen(vars[i].v);
			return vars[i].v;
		}
	return NULL;
}

static void
test_expand(void)
{
	static const struct { const char *in, *out; } t[] = {
		/* sieve-test */
		{ "${${a}}", "${x}" }, { "${a", "${a" }, { "${abc}", "val" },
		{ "${ABC}", "val" }, { "${ }", "${ }" }, { "$${a}", "$x" },
		{ "${1a}", "${1a}" }, { "${_x}", "" },
		{ "${global.g}", "G" }, { "${GLOBAL.G}", "G" },
		{ "a${a}b${a}c", "axbxc" }, { "${1}-${2}", "one-two" },
		{ "${01}", "one" }, { "${0}", "all" }, { "${3}", "" },
		{ "${10}", "" }, { "${99999999999999999999}", "" },
		{ "${a.}", "${a.}" }, { "${.a}", "${.a}" },
		{ "no refs", "no refs" }, { "", "" }, { "$", "$" },
		{ "${", "${" }, { "}${a}{", "}x{" },
	};
	struct sieve_captures c = { .n = 0 };
	struct buf b;

	c.v[0] = strdup("all");
	c.v[1] = strdup("one");
	c.v[2] = strdup("two");
	c.len[0] = c.len[1] = c.len[2] = 3;
	c.n = 3;
	buf_init(&b, 0);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		buf_reset(&b);
		sieve_expand(t[i].in, lookup, NULL, &c, 1000, &b);
		TEST_ASSERT_STREQ(buf_cstr(&b), t[i].out);
	}
	/* no captures at all: numbers expand to "" */
	buf_reset(&b);
	sieve_expand("[${1}]", lookup, NULL, NULL, 100, &b);
	TEST_ASSERT_STREQ(buf_cstr(&b), "[]");
	/* cut at max, never inside a UTF-8 character */
	buf_reset(&b);
	sieve_expand("${long}", lookup, NULL, &c, 2, &b);
	TEST_ASSERT_STREQ(buf_cstr(&b), "h");
	buf_reset(&b);
	sieve_expand("abcdef${a}", lookup, NULL, &c, 4, &b);
	TEST_ASSERT_STREQ(buf_cstr(&b), "abcd");
	buf_reset(&b);
	sieve_expand("ab${a}cdef", lookup, NULL, &c, 4, &b);
	TEST_ASSERT_STREQ(buf_cstr(&b), "abxc");
	buf_free(&b);
	sieve_captures_clear(&c);
}

static void
test_modify(void)
{
	/* sieve-test */
	static const struct { unsigned mods; const char *in, *out; } t[] = {
		{ SIEVE_MOD_LENGTH, "h\xc3\xa9llo", "5" },
		{ SIEVE_MOD_UPPER | SIEVE_MOD_LOWERFIRST, "hello World",
		    "hELLO WORLD" },
		{ SIEVE_MOD_LOWER | SIEVE_MOD_UPPERFIRST, "hELLO wORLD",
		    "Hello world" },
		{ SIEVE_MOD_QUOTEWILDCARD, "a*b?c\\d", "a\\*b\\?c\\\\d" },
		{ SIEVE_MOD_ENCODEURL, "a b/c~d-e.f_g+h&\xc3\xa9",
		    "a%20b%2Fc~d-e.f_g%2Bh%26%C3%A9" },
		{ SIEVE_MOD_LENGTH | SIEVE_MOD_QUOTEWILDCARD, "**", "4" },
		{ SIEVE_MOD_UPPER, "h\xc3\xa9llo", "H\xc3\xa9LLO" },
		{ SIEVE_MOD_UPPERFIRST, "\xc3\xa9lan", "\xc3\xa9lan" },
		{ SIEVE_MOD_LENGTH, "", "0" },
		{ SIEVE_MOD_UPPERFIRST, "", "" },
		{ 0, "As Is", "As Is" },
	};
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		buf_reset(&b);
		sieve_modify(t[i].mods, t[i].in, strlen(t[i].in), &b);
		TEST_ASSERT_STREQ(buf_cstr(&b), t[i].out);
	}
	buf_free(&b);
}

static void
test_var_names(void)
{
	TEST_ASSERT(sieve_var_name_ok("a"));
	TEST_ASSERT(sieve_var_name_ok("_x1"));
	TEST_ASSERT(sieve_var_name_ok("global.x"));
	TEST_ASSERT(sieve_var_name_ok("GLOBAL.Name_2"));
	TEST_ASSERT(!sieve_var_name_ok("1a"));
	TEST_ASSERT(!sieve_var_name_ok("1"));
	TEST_ASSERT(!sieve_var_name_ok("a.b"));
	TEST_ASSERT(!sieve_var_name_ok(""));
	TEST_ASSERT(!sieve_var_name_ok("global."));
	TEST_ASSERT(!sieve_var_name_ok("a-b"));
	TEST_ASSERT(!sieve_var_name_ok("global.global.x"));
}

/* ---- headers and addresses ---- */

static const char head1[] =
    "From: \"Joe Q\" <joe+tag+x@Example.COM>\r\n"
    "To: undisclosed-recipients:;\r\n"
    "Cc: joe\r\n"
    "Bcc: Friends: a@b.c, \"B\" <b@c.d>;, e@f.g\r\n"
    "Reply-To: garbage <<>> @@ foo\r\n"
    "Sender: a@b.c, broken@\r\n"
    "X-A: =?utf-8?q?caf=C3=A9?= =?utf-8?b?w6k=?=   \r\n"
    "x-a:    second\r\n"
    "  folded   \r\n"
    "Resent-From: <@route.x:r@s.t>\r\n"
    "Resent-To:\r\n"
    "Resent-Cc: \"x@y\"@z.w, \"a b\"@c.d, joe, =?utf-8?q?J=C3=B6rg?= "
    "<j@k.l>\r\n"
    "\r\n"
    "X-Body: not a header\r\n";

static void
test_header_values(void)
{
	char **v;
	size_t n;

	n = sieve_header_values(head1, sizeof(head1) - 1, "X-a", &v);
	TEST_ASSERT(n == 2);
	TEST_ASSERT_STREQ(v[0], "caf\xc3\xa9\xc3\xa9");	/* sieve-test */
	TEST_ASSERT_STREQ(v[1], "second  folded");		/* sieve-test */
	sieve_strings_free(&v, n);
	TEST_ASSERT(v == NULL);
	n = sieve_header_values(head1, sizeof(head1) - 1, "resent-to", &v);
	TEST_ASSERT(n == 1);
	TEST_ASSERT_STREQ(v[0], "");
	sieve_strings_free(&v, n);
	TEST_ASSERT(sieve_header_values(head1, sizeof(head1) - 1, "x-body",
	    &v) == 0);
	TEST_ASSERT(v == NULL);
	TEST_ASSERT(sieve_header_values("", 0, "x-a", &v) == 0);
}

static void
test_header_addresses(void)
{
	/* sieve-test: what address :all sees, field by field */
	static const struct { const char *name; const char *a[5]; } t[] = {
		{ "from", { "joe+tag+x@Example.COM" } },
		{ "to", { "undisclosed-recipients:;" } },
		{ "cc", { "joe" } },
		{ "bcc", { "a@b.c", "b@c.d", "e@f.g" } },
		{ "reply-to", { "garbage <<>> @@ foo" } },
		{ "sender", { "a@b.c" } },
		{ "resent-from", { "r@s.t" } },
		{ "resent-to", { "" } },
		{ "resent-cc", { "\"x@y\"@z.w", "\"a b\"@c.d", "j@k.l" } },
		{ "x-none", { NULL } },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char **v;
		size_t n = sieve_header_addresses(head1, sizeof(head1) - 1,
		    t[i].name, &v), j;

		for (j = 0; j < 5 && t[i].a[j] != NULL; j++) {
			TEST_ASSERT(j < n);
			TEST_ASSERT_STREQ(v[j], t[i].a[j]);
		}
		TEST_ASSERT(n == j);
		sieve_strings_free(&v, n);
	}
}

/* many fields of many addresses: linear, every one kept (at most
 * RFC5322_ADDR_MAX per field) */
static void
test_header_addresses_many(void)
{
	struct buf h;
	char **v;
	size_t n;

	buf_init(&h, 0);
	for (int f = 0; f < 60; f++) {
		buf_puts(&h, "To: ");
		for (int i = 0; i < 1200; i++)
			buf_printf(&h, "u%d@d%d.example, ", i, f);
		buf_puts(&h, "\r\n");
	}
	n = sieve_header_addresses(h.data, h.len, "to", &v);
	TEST_ASSERT(n == 60 * 1000);
	TEST_ASSERT_STREQ(v[0], "u0@d0.example");
	TEST_ASSERT_STREQ(v[n - 1], "u999@d59.example");
	sieve_strings_free(&v, n);
	n = sieve_header_values(h.data, h.len, "TO", &v);
	TEST_ASSERT(n == 60);
	sieve_strings_free(&v, n);
	buf_free(&h);
}

static void
test_addr_part(void)
{
	static const struct {
		const char *a;
		enum sieve_addrpart p;
		const char *sep, *out;	/* out NULL: the part does not exist */
	} t[] = {
		{ "joe+tag+x@Example.COM", SIEVE_AP_ALL, NULL,
		    "joe+tag+x@Example.COM" },
		{ "joe+tag+x@Example.COM", SIEVE_AP_LOCALPART, NULL,
		    "joe+tag+x" },
		{ "joe+tag+x@Example.COM", SIEVE_AP_DOMAIN, NULL,
		    "Example.COM" },
		{ "joe+tag+x@Example.COM", SIEVE_AP_USER, "+", "joe" },
		{ "joe+tag+x@Example.COM", SIEVE_AP_DETAIL, "+", "tag+x" },
		{ "joe@x.y", SIEVE_AP_USER, "+", "joe" },
		{ "joe@x.y", SIEVE_AP_DETAIL, "+", NULL },
		{ "joe+@x.y", SIEVE_AP_DETAIL, "+", "" },
		{ "+d@x.y", SIEVE_AP_USER, "+", "" },
		{ "joe-list@x.y", SIEVE_AP_DETAIL, "-+", "list" },
		{ "joe-list@x.y", SIEVE_AP_DETAIL, NULL, NULL },
		{ "\"x@y\"@z.w", SIEVE_AP_LOCALPART, NULL, "x@y" },
		{ "\"a b\"@c.d", SIEVE_AP_LOCALPART, NULL, "a b" },
		{ "\"a\\\"b\"@c.d", SIEVE_AP_LOCALPART, NULL, "a\"b" },
		{ "u@[1.2.3.4]", SIEVE_AP_DOMAIN, NULL, "[1.2.3.4]" },
		/* not an addr-spec: only :all sees it (sieve-test) */
		{ "joe", SIEVE_AP_ALL, NULL, "joe" },
		{ "joe", SIEVE_AP_LOCALPART, NULL, NULL },
		{ "garbage <<>> @@ foo", SIEVE_AP_DOMAIN, NULL, NULL },
		{ "broken@", SIEVE_AP_LOCALPART, NULL, NULL },
		{ "a b@c", SIEVE_AP_USER, NULL, NULL },
		{ "a..b@c", SIEVE_AP_LOCALPART, NULL, NULL },
		/* the null reverse-path: "" for every part (RFC 5228 5.4) */
		{ "", SIEVE_AP_DOMAIN, NULL, "" },
		{ "", SIEVE_AP_DETAIL, NULL, "" },
	};
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bool ok;

		buf_reset(&b);
		ok = sieve_addr_part(t[i].a, strlen(t[i].a), t[i].p, t[i].sep,
		    &b);
		TEST_ASSERT(ok == (t[i].out != NULL));
		if (ok)
			TEST_ASSERT_STREQ(buf_cstr(&b), t[i].out);
	}
	buf_free(&b);
}

/* ---- dates ---- */

static void
test_zone(void)
{
	int z = 7;

	TEST_ASSERT(sieve_zone_parse("+0100", &z) && z == 60);
	TEST_ASSERT(sieve_zone_parse("-0830", &z) && z == -510);
	TEST_ASSERT(sieve_zone_parse("+0000", &z) && z == 0);
	TEST_ASSERT(sieve_zone_parse("+1400", &z) && z == 840);
	TEST_ASSERT(!sieve_zone_parse("0100", &z));
	TEST_ASSERT(!sieve_zone_parse("+01", &z));
	TEST_ASSERT(!sieve_zone_parse("+01000", &z));
	TEST_ASSERT(!sieve_zone_parse("+2500", &z));
	TEST_ASSERT(!sieve_zone_parse("+0160", &z));
	TEST_ASSERT(!sieve_zone_parse("+01a0", &z));
	TEST_ASSERT(!sieve_zone_parse("", &z));
}

static void
test_date_parts(void)
{
	/* Sun, 06 Dec 2026 14:43:38 +0100, seen in four zones; every value
	 * from sieve-test's `date :zone Z :matches "date" PART "*"` */
	static const char *const parts[] = { "year", "month", "day", "date",
	    "julian", "hour", "minute", "second", "time", "iso8601", "std11",
	    "zone", "weekday" };
	static const struct { int zone; const char *v[13]; } t[] = {
		{ 60, { "2026", "12", "06", "2026-12-06", "61380", "14", "43",
		    "38", "14:43:38", "2026-12-06T14:43:38+01:00",
		    "Sun, 06 Dec 2026 14:43:38 +0100", "+0100", "0" } },
		{ 0, { "2026", "12", "06", "2026-12-06", "61380", "13", "43",
		    "38", "13:43:38", "2026-12-06T13:43:38Z",
		    "Sun, 06 Dec 2026 13:43:38 +0000", "+0000", "0" } },
		{ -510, { "2026", "12", "06", "2026-12-06", "61380", "05",
		    "13", "38", "05:13:38", "2026-12-06T05:13:38-08:30",
		    "Sun, 06 Dec 2026 05:13:38 -0830", "-0830", "0" } },
		{ 840, { "2026", "12", "07", "2026-12-07", "61381", "03", "43",
		    "38", "03:43:38", "2026-12-07T03:43:38+14:00",
		    "Mon, 07 Dec 2026 03:43:38 +1400", "+1400", "1" } },
	};
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		for (size_t j = 0; j < 13; j++) {
			buf_reset(&b);
			TEST_ASSERT(sieve_date_part(1796564618, t[i].zone,
			    parts[j], &b));
			TEST_ASSERT_STREQ(buf_cstr(&b), t[i].v[j]);
		}
	/* Fri, 1 Jan 1999 00:00:59 -0000 (sieve-test) */
	buf_reset(&b);
	TEST_ASSERT(sieve_date_part(915148859, 0, "julian", &b));
	TEST_ASSERT_STREQ(buf_cstr(&b), "51179");
	buf_reset(&b);
	TEST_ASSERT(sieve_date_part(915148859, 0, "weekday", &b));
	TEST_ASSERT_STREQ(buf_cstr(&b), "5");
	/* before the epoch, and a leap day */
	buf_reset(&b);
	TEST_ASSERT(sieve_date_part(-86400 * 365 + 3600, 0, "iso8601", &b));
	TEST_ASSERT_STREQ(buf_cstr(&b), "1969-01-01T01:00:00Z");
	buf_reset(&b);
	TEST_ASSERT(sieve_date_part(951782400, 0, "date", &b));
	TEST_ASSERT_STREQ(buf_cstr(&b), "2000-02-29");
	buf_reset(&b);
	TEST_ASSERT(sieve_date_part(0, 0, "julian", &b));
	TEST_ASSERT_STREQ(buf_cstr(&b), "40587");
	/* part names are case-insensitive; unknown ones refused */
	buf_reset(&b);
	TEST_ASSERT(sieve_date_part(0, 0, "YEAR", &b));
	TEST_ASSERT_STREQ(buf_cstr(&b), "1970");
	TEST_ASSERT(!sieve_date_part(0, 0, "fortnight", &b));
	/* absurd instants and zones do not overflow */
	buf_reset(&b);
	TEST_ASSERT(sieve_date_part((time_t)INT64_MAX, 0, "year", &b));
	TEST_ASSERT_STREQ(buf_cstr(&b), "9999");
	buf_reset(&b);
	TEST_ASSERT(sieve_date_part((time_t)INT64_MIN, -2147483647 - 1,
	    "zone", &b));
	TEST_ASSERT_STREQ(buf_cstr(&b), "+0000");
	buf_free(&b);
}

/* ---- body ---- */

struct texts {
	struct buf	 all;		/* each text followed by "|" */
	size_t		 n;
	size_t		 total;
};

static void
collect(void *arg, const char *text, size_t len)
{
	struct texts *t = arg;

	buf_append(&t->all, text, len);
	buf_putc(&t->all, '|');
	t->n++;
	t->total += len;
}

static const char mp_head[] =
    "From: a@b.c\n"
    "To: d@e.f\n"
    "Subject: body\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"OUT\"\n";

static const char mp_body[] =
    "prologue-text here\n"
    "--OUT\n"
    "Content-Type: multipart/alternative; boundary=\"IN\"\n"
    "\n"
    "inner-prologue\n"
    "--IN\n"
    "Content-Type: text/plain; charset=iso-8859-1\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "caf=E9 plain=\n"
    "joined\n"
    "--IN\n"
    "Content-Type: text/html; charset=utf-8\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    /* <html><head><style>p {x}</style></head><body><p>Hello <b>html</b>
     * world &amp; caf&#233;</p><!-- hidden --><script>s()</script>
     * </body></html> */
    "PGh0bWw+PGhlYWQ+PHN0eWxlPnAge3h9PC9zdHlsZT48L2hlYWQ+PGJvZHk+PHA+SGVs\n"
    "bG8gPGI+aHRtbDwvYj4gd29ybGQgJmFtcDsgY2FmJiMyMzM7PC9wPjwhLS0gaGlkZGVu\n"
    "IC0tPjxzY3JpcHQ+cygpPC9zY3JpcHQ+PC9ib2R5PjwvaHRtbD4=\n"
    "--IN--\n"
    "inner-epilogue\n"
    "--OUT\n"
    "Content-Type: application/octet-stream\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "YmluYXJ5LWF0dGFjaC1kYXRh\n"
    "--OUT\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Subject: inner\n"
    "Content-Type: text/plain\n"
    "\n"
    "inner message text\n"
    "--OUT--\n"
    "epilogue-text\n";

static struct texts
body_run(enum sieve_body_xform x, const char *t0, const char *t1,
    size_t max)
{
	char *types[2] = { (char *)(uintptr_t)t0, (char *)(uintptr_t)t1 };
	struct texts t = { .n = 0 };

	buf_init(&t.all, 0);
	sieve_body_texts(mp_head, sizeof(mp_head) - 1, mp_body,
	    sizeof(mp_body) - 1, x, types, t1 != NULL ? 2 : 1, max, collect,
	    &t);
	buf_putc(&t.all, '\0');
	return t;
}

static bool
has(const struct texts *t, const char *s)
{
	return strstr(t->all.data, s) != NULL;
}

static void
test_body_raw(void)
{
	struct texts t = body_run(SIEVE_BODY_RAW, "", NULL, 1 << 20);

	TEST_ASSERT(t.n == 1);
	TEST_ASSERT(t.total == sizeof(mp_body) - 1);
	TEST_ASSERT(has(&t, "prologue-text"));
	TEST_ASSERT(has(&t, "YmluYXJ5LWF0dGFjaC1kYXRh"));	/* undecoded */
	buf_free(&t.all);
	t = body_run(SIEVE_BODY_RAW, "", NULL, 10);
	TEST_ASSERT(t.total == 10);
	buf_free(&t.all);
}

/* Pigeonhole: a multipart part is its prologue and epilogue only. */
static void
test_body_multipart(void)
{
	struct texts t = body_run(SIEVE_BODY_CONTENT, "multipart", NULL,
	    1 << 20);

	TEST_ASSERT(has(&t, "prologue-text here|"));	/* sieve-test */
	TEST_ASSERT(has(&t, "inner-prologue|"));
	TEST_ASSERT(has(&t, "inner-epilogue|"));
	TEST_ASSERT(has(&t, "epilogue-text\n|"));
	TEST_ASSERT(!has(&t, "Content-Type"));
	TEST_ASSERT(!has(&t, "plain"));
	TEST_ASSERT(!has(&t, "--"));
	buf_free(&t.all);
	t = body_run(SIEVE_BODY_CONTENT, "multipart/alternative", NULL,
	    1 << 20);
	TEST_ASSERT(has(&t, "inner-prologue"));
	TEST_ASSERT(!has(&t, "prologue-text"));
	buf_free(&t.all);
}

static void
test_body_content(void)
{
	struct texts t = body_run(SIEVE_BODY_CONTENT, "text", NULL, 1 << 20);

	/* QP decoded (soft break joined), Latin-1 to UTF-8 */
	TEST_ASSERT(has(&t, "caf\xc3\xa9 plainjoined"));
	/* :content "text" gives HTML as HTML (sieve-test) */
	TEST_ASSERT(has(&t, "<b>html</b>"));
	/* the embedded message's body is a text/plain part */
	TEST_ASSERT(has(&t, "inner message text"));
	TEST_ASSERT(!has(&t, "binary-attach"));
	TEST_ASSERT(!has(&t, "prologue"));
	buf_free(&t.all);

	t = body_run(SIEVE_BODY_CONTENT, "application", NULL, 1 << 20);
	TEST_ASSERT_STREQ(t.all.data, "binary-attach-data|");	/* decoded */
	buf_free(&t.all);

	/* message/rfc822: the embedded header only (sieve-test) */
	t = body_run(SIEVE_BODY_CONTENT, "message/rfc822", NULL, 1 << 20);
	TEST_ASSERT_STREQ(t.all.data,
	    "Subject: inner\nContent-Type: text/plain\n|");
	buf_free(&t.all);

	t = body_run(SIEVE_BODY_CONTENT, "TEXT/HTML", NULL, 1 << 20);
	TEST_ASSERT(t.n == 1);
	TEST_ASSERT(has(&t, "<p>Hello"));
	buf_free(&t.all);

	/* "text/" and a bare subtype match nothing (sieve-test) */
	t = body_run(SIEVE_BODY_CONTENT, "text/", "plain", 1 << 20);
	TEST_ASSERT(t.n == 0);
	buf_free(&t.all);

	/* "" is every part: 4 multipart texts, 2 text, 1 attachment, the
	 * embedded header and body */
	t = body_run(SIEVE_BODY_CONTENT, "", NULL, 1 << 20);
	TEST_ASSERT(t.n == 9);
	TEST_ASSERT(has(&t, "binary-attach-data"));
	buf_free(&t.all);

	/* a list: either type */
	t = body_run(SIEVE_BODY_CONTENT, "application/octet-stream",
	    "text/html", 1 << 20);
	TEST_ASSERT(t.n == 2);
	buf_free(&t.all);
}

static void
test_body_text(void)
{
	struct texts t = body_run(SIEVE_BODY_TEXT, NULL, NULL, 1 << 20);

	TEST_ASSERT(has(&t, "caf\xc3\xa9 plainjoined"));
	/* HTML as text, as Dovecot renders it: a tag is a space unless one
	 * was just written (sieve-test: "html  world" matches, "html world"
	 * does not); comments, script and style dropped */
	TEST_ASSERT(has(&t, "Hello html  world & caf\xc3\xa9 |"));
	TEST_ASSERT(!has(&t, "<"));
	TEST_ASSERT(!has(&t, "hidden"));
	TEST_ASSERT(!has(&t, "s()"));
	TEST_ASSERT(!has(&t, "{x}"));
	TEST_ASSERT(has(&t, "inner message text"));
	TEST_ASSERT(!has(&t, "binary"));
	TEST_ASSERT(!has(&t, "Subject: inner"));	/* sieve-test */
	TEST_ASSERT(!has(&t, "prologue"));
	buf_free(&t.all);
	/* the total is bounded */
	t = body_run(SIEVE_BODY_TEXT, NULL, NULL, 7);
	TEST_ASSERT(t.total == 7);
	TEST_ASSERT(t.n == 1);
	buf_free(&t.all);
}

/* text/html under :text, case by case (Dovecot's html2text rules) */
static void
test_body_html(void)
{
	static const char h[] = "Content-Type: text/html\n";
	static const struct { const char *in, *out; } t[] = {
		{ "<a href=\"x>y\">link</a> end", "link  end" },
		{ "a &bogus; b", "a  b" },
		{ "a & b", "a  b" },
		{ "x<![CDATA[<y>]]>z", "x<y>z" },
		{ "p<!-- c -- >q", "pq" },
		{ "&#x41;&#66;&AMP;&amp;", "AB&" },	/* sieve-test */
		{ "1&nbsp;2", "1\xc2\xa0" "2" },
		{ "<STYLE type=x>a{}</style>b<Script>c</SCRIPT>d", "b d" },
		{ "<p>unclosed <b", "unclosed " },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct texts r = { .n = 0 };

		buf_init(&r.all, 0);
		sieve_body_texts(h, sizeof(h) - 1, t[i].in, strlen(t[i].in),
		    SIEVE_BODY_TEXT, NULL, 0, 1000, collect, &r);
		buf_putc(&r.all, '\0');
		r.all.data[r.all.len - 2] = '\0';	/* the '|' */
		if (strcmp(r.all.data, t[i].out) != 0) {
			fprintf(stderr, "  html %zu: [%s]\n", i, r.all.data);
			buf_free(&r.all);
		}
		TEST_ASSERT(r.all.data != NULL);
		TEST_ASSERT_STREQ(r.all.data, t[i].out);
		buf_free(&r.all);
	}
}

static void
test_body_plain(void)
{
	static const char h1[] = "Subject: x\r\n\r\n";
	static const char h2[] =
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: base64";		/* no EOL */
	static const char h3[] = "Content-Type: text/plain\n\n";
	char *types[] = { "text/plain" };
	struct texts t = { .n = 0 };

	buf_init(&t.all, 0);
	sieve_body_texts(h1, sizeof(h1) - 1, "plain body\r\n", 12,
	    SIEVE_BODY_TEXT, NULL, 0, 100, collect, &t);
	buf_putc(&t.all, '\0');
	TEST_ASSERT_STREQ(t.all.data, "plain body\r\n|");
	buf_free(&t.all);
	t.n = 0;
	sieve_body_texts(h2, sizeof(h2) - 1, "w6l0w6kK\n", 9,
	    SIEVE_BODY_CONTENT, types, 1, 100, collect, &t);
	buf_putc(&t.all, '\0');
	TEST_ASSERT_STREQ(t.all.data, "\xc3\xa9t\xc3\xa9\n|");
	buf_free(&t.all);
	/* no body at all: nothing to search; an empty body is "" */
	t.n = 0;
	sieve_body_texts(h3, sizeof(h3) - 1, "", 0, SIEVE_BODY_TEXT, NULL,
	    0, 100, collect, &t);
	TEST_ASSERT(t.n == 0);
	sieve_body_texts(h3, sizeof(h3) - 1, "", 0, SIEVE_BODY_RAW, NULL,
	    0, 100, collect, &t);
	TEST_ASSERT(t.n == 0);
	buf_free(&t.all);
}

int
main(void)
{
	TEST_RUN(test_is_contains);
	TEST_RUN(test_matches_captures);
	TEST_RUN(test_matches_escapes);
	TEST_RUN(test_matches_many_wildcards);
	TEST_RUN(test_numeric);
	TEST_RUN(test_relational);
	TEST_RUN(test_budget);
	TEST_RUN(test_expand);
	TEST_RUN(test_modify);
	TEST_RUN(test_var_names);
	TEST_RUN(test_header_values);
	TEST_RUN(test_header_addresses);
	TEST_RUN(test_header_addresses_many);
	TEST_RUN(test_addr_part);
	TEST_RUN(test_zone);
	TEST_RUN(test_date_parts);
	TEST_RUN(test_body_raw);
	TEST_RUN(test_body_multipart);
	TEST_RUN(test_body_content);
	TEST_RUN(test_body_text);
	TEST_RUN(test_body_html);
	TEST_RUN(test_body_plain);
	return test_done("test-sieve-lib");
}
