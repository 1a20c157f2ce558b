/*
 * test-rfc5322 - header iteration (exact offsets), unfolding, RFC 2047
 * decoding, address lists, message ids, charset conversion and the
 * CTE decoders: table-driven, valid and broken input alike.
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include <stdlib.h>
#include <string.h>

#include "mail/charset.h"
#include "mail/mime_decode.h"
#include "mail/rfc5322.h"
#include "util/buf.h"
#include "util/test.h"
#include "util/utf8.h"

static void
test_iter(void)
{
	static const char hdr[] =
	    "From: a@b\r\n"
	    "Subject: folded\n\tline\n"
	    "no colon here\n"
	    " stray continuation\n"
	    "X-Empty:\n"
	    "Name With Space : v\n"
	    "\n"
	    "Body: not a field\n";
	static const struct {
		const char	*name;
		const char	*value;
		size_t		 off;
		size_t		 len;
	} exp[] = {
		{ "From", " a@b", 0, 11 },
		{ "Subject", " folded\n\tline", 11, 22 },
		{ "X-Empty", "", 67, 9 },
		{ "Name With Space", " v", 76, 20 },
	};
	struct rfc5322_iter it;
	struct rfc5322_field f;
	size_t i = 0;

	rfc5322_iter_init(&it, hdr, sizeof(hdr) - 1);
	while (rfc5322_iter_next(&it, &f) == 1) {
		TEST_ASSERT(i < sizeof(exp) / sizeof(exp[0]));
		TEST_ASSERT(f.name_len == strlen(exp[i].name) &&
		    memcmp(f.name, exp[i].name, f.name_len) == 0);
		TEST_ASSERT(f.value_len == strlen(exp[i].value) &&
		    memcmp(f.value, exp[i].value, f.value_len) == 0);
		TEST_ASSERT(f.off == exp[i].off);
		TEST_ASSERT(f.len == exp[i].len);
		i++;
	}
	TEST_ASSERT(i == sizeof(exp) / sizeof(exp[0]));
	TEST_ASSERT(it.body_off == 97);
	TEST_ASSERT(strncmp(hdr + it.body_off, "Body:", 5) == 0);
	TEST_ASSERT(rfc5322_body_offset("A: b", 4) == 4);
	TEST_ASSERT(rfc5322_body_offset("\r\nx", 3) == 2);
	TEST_ASSERT(rfc5322_find(hdr, sizeof(hdr) - 1, "subject", &f) == 1);
	TEST_ASSERT(rfc5322_find(hdr, sizeof(hdr) - 1, "Body", &f) == 0);
}

/* The header section only, any case, white space before the colon. */
static void
test_header_has(void)
{
	static const char m[] = "Date: x\nDKIM-Signature : v=1\n\tcont\n"
	    "\nMessage-ID: <in-body>\n";

	TEST_ASSERT(rfc5322_header_has(m, sizeof(m) - 1, "date"));
	TEST_ASSERT(rfc5322_header_has(m, sizeof(m) - 1, "DKIM-Signature"));
	TEST_ASSERT(!rfc5322_header_has(m, sizeof(m) - 1, "DKIM"));
	TEST_ASSERT(!rfc5322_header_has(m, sizeof(m) - 1, "Message-ID"));
	TEST_ASSERT(!rfc5322_header_has(m, 4, "Date"));	/* no colon */
	TEST_ASSERT(!rfc5322_header_has("", 0, "Date"));
}

static void
test_decode(void)
{
	static const struct {
		const char	*in;
		const char	*out;
	} cases[] = {
		{ "plain text", "plain text" },
		{ "  lead\n trail ", "lead trail " },
		{ "=?utf-8?q?J=C3=B6rg?=", "J\xc3\xb6rg" },
		{ "=?UTF-8?B?SW5uZXIgc3ViamVjdCDinJM=?=",
		  "Inner subject \xe2\x9c\x93" },
		{ "=?iso-8859-1?q?caf=E9?= au lait", "caf\xc3\xa9 au lait" },
		/* white space between encoded words goes */
		{ "=?utf-8?q?a?= \n =?utf-8?q?b?=", "ab" },
		/* but not between a word and text */
		{ "=?utf-8?q?a?= b", "a b" },
		/* one character split over two words */
		{ "=?utf-8?q?=C3?= =?utf-8?q?=A9?=", "\xc3\xa9" },
		{ "=?utf-8*en?q?lang?=", "lang" },
		{ "=?utf-8?x?bad?=", "=?utf-8?x?bad?=" },
		{ "=?utf-8?q?unterminated", "=?utf-8?q?unterminated" },
		{ "=?utf-8?q?with space?=", "=?utf-8?q?with space?=" },
		{ "=?x-no-such?q?ok?=", "ok" },
		/* undecodable UTF-8 is read as Latin-1, the usual mislabel */
		{ "=?utf-8?q?bad_=FF?=", "bad \xc3\xbf" },
		{ "raw \xe9t\xe9", "raw \xc3\xa9t\xc3\xa9" },
		{ "raw \xc3\xa9", "raw \xc3\xa9" },
		{ "", "" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b;

		buf_init(&b, 0);
		rfc5322_decode(cases[i].in, strlen(cases[i].in), &b);
		TEST_ASSERT_STREQ(buf_cstr(&b), cases[i].out);
		buf_free(&b);
	}
}

/* Renders a list as "name|route|mailbox|host;" entries, "-" for NULL. */
static void
addr_str(const struct rfc5322_addr *a, struct buf *b)
{
	for (; a != NULL; a = a->next)
		buf_printf(b, "%s|%s|%s|%s;", a->name ? a->name : "-",
		    a->route ? a->route : "-", a->mailbox ? a->mailbox : "-",
		    a->host ? a->host : "-");
}

static void
test_addr(void)
{
	static const struct {
		const char	*in;
		const char	*out;
	} cases[] = {
		{ "a@b", "-|-|a|b;" },
		{ "Alice <alice@a.test>", "Alice|-|alice|a.test;" },
		{ "\"Doe, John\" <j@x>, k@y", "Doe, John|-|j|x;-|-|k|y;" },
		{ "a@b (Comment Name)", "Comment Name|-|a|b;" },
		{ "John  Q.  Public <j@x>", "John Q. Public|-|j|x;" },
		{ "=?utf-8?q?J=C3=B6rg?= <j@x>", "=?utf-8?q?J=C3=B6rg?=|-|j|x;" },
		{ "undisclosed-recipients:;",
		  "-|-|undisclosed-recipients|-;-|-|-|-;" },
		{ "g: a@b, c@d; e@f", "-|-|g|-;-|-|a|b;-|-|c|d;-|-|-|-;-|-|e|f;" },
		{ "g: a@b", "-|-|g|-;-|-|a|b;-|-|-|-;" },
		{ "<@r1,@r2:bob@x>", "-|@r1,@r2|bob|x;" },
		{ "alice", "-|-|alice|;" },
		{ "@bar", "-|-||bar;" },
		{ "<>", "-|-||;" },
		{ "\"john doe\"@x", "-|-|john doe|x;" },
		{ "\"q\\\"x\" <a@b>", "q\"x|-|a|b;" },
		{ " , ,a@b,, ", "-|-|a|b;" },
		{ "a @ b . c", "-|-|a|b.c;" },
		{ "x <a@[1.2.3.4]>", "x|-|a|[1.2.3.4];" },
		{ "\"unterminated <a@b>", "-|-|unterminated <a@b>|;" },
		{ "(unterminated comment a@b", NULL },
		{ "Name <a@b", "Name|-|a|b;" },
		{ "a@b>", "-|-|a|b;" },
		{ "", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rfc5322_addr *a = rfc5322_addr_parse(cases[i].in,
		    strlen(cases[i].in));
		struct buf b;

		buf_init(&b, 0);
		addr_str(a, &b);
		if (cases[i].out == NULL)
			TEST_ASSERT(a == NULL);
		else
			TEST_ASSERT_STREQ(buf_cstr(&b), cases[i].out);
		buf_free(&b);
		rfc5322_addr_free(&a);
	}
}

static void
test_addr_limit(void)
{
	struct buf in;
	struct rfc5322_addr *a, *p;
	size_t n = 0;

	buf_init(&in, 0);
	for (int i = 0; i < RFC5322_ADDR_MAX + 50; i++)
		buf_puts(&in, "x@y,");
	a = rfc5322_addr_parse(in.data, in.len);
	for (p = a; p != NULL; p = p->next)
		n++;
	TEST_ASSERT(n == RFC5322_ADDR_MAX);
	rfc5322_addr_free(&a);
	buf_free(&in);
}

static void
test_msgids(void)
{
	static const char v[] = " <a@b> junk <c\n @d> <> <e@f";
	char **ids;
	size_t n = rfc5322_msgids_parse(v, sizeof(v) - 1, 10, &ids);

	TEST_ASSERT(n == 2);
	TEST_ASSERT_STREQ(ids[0], "a@b");
	TEST_ASSERT_STREQ(ids[1], "c@d");
	rfc5322_msgids_free(&ids, n);
	TEST_ASSERT(ids == NULL);
	n = rfc5322_msgids_parse(v, sizeof(v) - 1, 1, &ids);
	TEST_ASSERT(n == 1);
	rfc5322_msgids_free(&ids, n);
	n = rfc5322_msgids_parse("none", 4, 10, &ids);
	TEST_ASSERT(n == 0 && ids == NULL);
}

static void
test_charset(void)
{
	struct buf b;

	buf_init(&b, 0);
	TEST_ASSERT(charset_to_utf8("iso-8859-15", "\xa4", 1, &b) == 0);
	TEST_ASSERT_STREQ(buf_cstr(&b), "\xe2\x82\xac");
	buf_reset(&b);
	TEST_ASSERT(charset_to_utf8("../../etc", "a\xff", 2, &b) == -1);
	TEST_ASSERT_STREQ(buf_cstr(&b), "a\xc3\xbf");
	buf_reset(&b);
	TEST_ASSERT(charset_to_utf8("utf-8", "\xed\xa0\x80", 3, &b) == 0);
	TEST_ASSERT(utf8_valid(b.data, b.len));
	buf_reset(&b);
	charset_to_utf8("shift_jis", "\x82\xa0\x82", 3, &b);
	TEST_ASSERT(utf8_valid(b.data, b.len));
	TEST_ASSERT(charset_known("windows-1252"));
	TEST_ASSERT(!charset_known("x-no-such-charset"));
	buf_reset(&b);
	charset_fold("\xc3\x84pfel  \t\nUND \xce\xa3", 17, &b);
	TEST_ASSERT_STREQ(buf_cstr(&b), "\xc3\xa4pfel und \xcf\x83");
	buf_free(&b);
}

static void
test_cte(void)
{
	static const struct {
		bool		 qp;
		const char	*in;
		const char	*out;
		int		 r;
	} cases[] = {
		{ false, "aGVsbG8=", "hello", 0 },
		{ false, "aGVs\nbG8=\n", "hello", 0 },
		{ false, "aGVsbG8", "hello", 1 },
		{ false, "aGV*sbG8=", "hello", 1 },
		{ false, "aGVsbG8=x", "hello", 1 },
		{ false, "", "", 0 },
		{ true, "caf=C3=A9", "caf\xc3\xa9", 0 },
		{ true, "soft=\nbreak\n", "softbreak\r\n", 0 },
		{ true, "soft=\r\nbreak", "softbreak", 0 },
		{ true, "trail   \nx", "trail\r\nx", 0 },
		{ true, "bad=ZZ=4", "bad=ZZ=4", 1 },
		{ true, "lower=c3=a9", "lower\xc3\xa9", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b;
		int r;

		buf_init(&b, 0);
		r = cases[i].qp ? mime_decode_qp(cases[i].in,
		    strlen(cases[i].in), &b) : mime_decode_base64(cases[i].in,
		    strlen(cases[i].in), &b);
		TEST_ASSERT_STREQ(buf_cstr(&b), cases[i].out);
		TEST_ASSERT(r == cases[i].r);
		buf_free(&b);
	}
	TEST_ASSERT(mime_cte_from_name(" Base64 (x)", 11) == MIME_CTE_BASE64);
	TEST_ASSERT(mime_cte_from_name("QUOTED-PRINTABLE", 16) == MIME_CTE_QP);
	TEST_ASSERT(mime_cte_from_name("", 0) == MIME_CTE_7BIT);
	TEST_ASSERT(mime_cte_from_name("x-uuencode", 10) == MIME_CTE_UNKNOWN);
}

int
main(void)
{
	TEST_RUN(test_iter);
	TEST_RUN(test_header_has);
	TEST_RUN(test_decode);
	TEST_RUN(test_addr);
	TEST_RUN(test_addr_limit);
	TEST_RUN(test_msgids);
	TEST_RUN(test_charset);
	TEST_RUN(test_cte);
	return test_done("test-rfc5322");
}
