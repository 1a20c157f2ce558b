/*
 * test-smtp-path - table-driven tests for MAIL/RCPT paths and their text form (smtp_path.c), through
 * smtp_parse_mail and smtp_parse_rcpt.
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include "smtp/test-smtp-parser.h"

#define F_NULL	0x01
#define F_PM	0x02
#define F_ROUTE	0x04
#define F_QUOT	0x08
#define F_UTF8	0x10

struct path_case {
	const char	*args;
	const char	*reply;		/* NULL: success expected */
	const char	*local, *domain, *str;
	unsigned	 flags;
};

#define BAD(a, r) { a, r, NULL, NULL, NULL, 0 }

static const struct path_case mail_cases[] = {
	{ "FROM:<a@b.test>", NULL, "a", "b.test", "a@b.test", 0 },
	{ "from:<A.B@Example.TEST>", NULL, "A.B", "example.test",
	  "A.B@example.test", 0 },
	{ "From: <a@b.test>", NULL, "a", "b.test", "a@b.test", 0 },
	{ "FROM:<>", NULL, "", "", "", F_NULL },
	{ "FROM: <>", NULL, "", "", "", F_NULL },
	{ "FROM:<a@b.test.>", NULL, "a", "b.test", "a@b.test", 0 },
	{ "FROM:<user%other@a.test>", NULL, "user%other", "a.test",
	  "user%other@a.test", 0 },
	{ "FROM:<a!b@c.test>", NULL, "a!b", "c.test", "a!b@c.test", 0 },
	{ "FROM:<@a.test,@b.test:user@c.test>", NULL, "user", "c.test",
	  "user@c.test", F_ROUTE },
	{ "FROM:<@a.test:user@c.test>", NULL, "user", "c.test",
	  "user@c.test", F_ROUTE },
	{ "FROM:<\"user@evil\"@a.test>", NULL, "user@evil", "a.test",
	  "\"user@evil\"@a.test", F_QUOT },
	{ "FROM:<\"a\\\"b\\\\c d\"@a.test>", NULL, "a\"b\\c d", "a.test",
	  "\"a\\\"b\\\\c d\"@a.test", F_QUOT },
	{ "FROM:<\"plain\"@a.test>", NULL, "plain", "a.test",
	  "plain@a.test", F_QUOT },
	{ "FROM:<\"\"@a.test>", NULL, "", "a.test", "\"\"@a.test", F_QUOT },
	{ "FROM:<\"a..b\"@a.test>", NULL, "a..b", "a.test",
	  "\"a..b\"@a.test", F_QUOT },
	{ "FROM:<a@[192.0.2.1]>", NULL, "a", "[192.0.2.1]",
	  "a@[192.0.2.1]", 0 },
	{ "FROM:<a@[IPv6:2001:db8::1]>", NULL, "a", "[IPv6:2001:db8::1]",
	  "a@[IPv6:2001:db8::1]", 0 },
	{ "FROM:<a@[ipv6:::ffff:192.0.2.1]>", NULL, "a",
	  "[ipv6:::ffff:192.0.2.1]", "a@[ipv6:::ffff:192.0.2.1]", 0 },
	{ "FROM:<a@1.2.3.4>", NULL, "a", "1.2.3.4", "a@1.2.3.4", 0 },
	{ "FROM:<x-y_z+tag=1/2{3}~#$&'*?^`|@a-b.c9.test>", NULL,
	  "x-y_z+tag=1/2{3}~#$&'*?^`|", "a-b.c9.test",
	  "x-y_z+tag=1/2{3}~#$&'*?^`|@a-b.c9.test", 0 },
	{ "FROM:<j\xc3\xb6rg@b\xc3\xbc"
	  "cher.test> SMTPUTF8", NULL, "j\xc3\xb6rg",
	  "b\xc3\xbc" "cher.test", "j\xc3\xb6rg@b\xc3\xbc" "cher.test", F_UTF8 },
	{ "FROM:<\"\xe2\x82\xac x\"@B\xc3\xbc.TEST> SMTPUTF8", NULL,
	  "\xe2\x82\xac x", "b\xc3\xbc.test",
	  "\"\xe2\x82\xac x\"@b\xc3\xbc.test", F_UTF8 | F_QUOT },
	/* a sender's local part may pass 64 octets (SRS, VERP) */
	{ "FROM:<SRS0=abcd=ef=example.org=a.very.long.user.name.here.123456"
	  "7890@forwarder.test>", NULL,
	  "SRS0=abcd=ef=example.org=a.very.long.user.name.here.1234567890",
	  "forwarder.test",
	  "SRS0=abcd=ef=example.org=a.very.long.user.name.here.1234567890"
	  "@forwarder.test", 0 },

	BAD("", R_MAIL_SYN), BAD("FROM", R_MAIL_SYN), BAD("FROM <a@b>", R_MAIL_SYN),
	BAD("TO:<a@b.test>", R_MAIL_SYN), BAD("FROMM:<a@b.test>", R_MAIL_SYN),
	BAD("FROM:a@b.test", R_MAIL_ADDR), BAD("FROM:", R_MAIL_ADDR),
	BAD("FROM:  <a@b.test>", R_MAIL_ADDR),
	BAD("FROM:<a@b.test", R_MAIL_ADDR), BAD("FROM:<a@b.test>>", R_MAIL_ADDR),
	BAD("FROM:<a@b.test>x", R_MAIL_ADDR), BAD("FROM:<<a@b.test>>", R_MAIL_ADDR),
	BAD("FROM:<a>", R_MAIL_ADDR), BAD("FROM:<postmaster>", R_MAIL_ADDR),
	BAD("FROM:<a@>", R_MAIL_ADDR), BAD("FROM:<@b.test>", R_MAIL_ADDR),
	BAD("FROM:<a@b@c.test>", R_MAIL_ADDR), BAD("FROM:<.a@b.test>", R_MAIL_ADDR),
	BAD("FROM:<a.@b.test>", R_MAIL_ADDR), BAD("FROM:<a..b@b.test>", R_MAIL_ADDR),
	BAD("FROM:<a b@b.test>", R_MAIL_ADDR), BAD("FROM:<a(c)@b.test>", R_MAIL_ADDR),
	BAD("FROM:<a@b..test>", R_MAIL_ADDR), BAD("FROM:<a@.b.test>", R_MAIL_ADDR),
	BAD("FROM:<a@b.test..>", R_MAIL_ADDR), BAD("FROM:<a@-b.test>", R_MAIL_ADDR),
	BAD("FROM:<a@b-.test>", R_MAIL_ADDR), BAD("FROM:<a@b_c.test>", R_MAIL_ADDR),
	BAD("FROM:<a@b.test >", R_MAIL_ADDR), BAD("FROM:< a@b.test>", R_MAIL_ADDR),
	BAD("FROM:<a@[192.0.2.256]>", R_MAIL_ADDR),
	BAD("FROM:<a@[192.0.2]>", R_MAIL_ADDR),
	BAD("FROM:<a@[192.0.2.1.5]>", R_MAIL_ADDR),
	BAD("FROM:<a@[IPv6:2001:db8::g]>", R_MAIL_ADDR),
	BAD("FROM:<a@[2001:db8::1]>", R_MAIL_ADDR),
	BAD("FROM:<a@[x-tag:stuff]>", R_MAIL_ADDR),
	BAD("FROM:<a@[192.0.2.1>", R_MAIL_ADDR),
	BAD("FROM:<\"a@b.test>", R_MAIL_ADDR),
	BAD("FROM:<\"a\\\x01\"@b.test>", R_MAIL_ADDR),
	BAD("FROM:<\"a\tb\"@b.test>", R_MAIL_ADDR),
	BAD("FROM:<@a.test:@b.test:u@c.test>", R_MAIL_ADDR),
	BAD("FROM:<@a.test,b.test:u@c.test>", R_MAIL_ADDR),
	BAD("FROM:<@[1.2.3.4]:u@c.test>", R_MAIL_ADDR),
	BAD("FROM:<@a.test>", R_MAIL_ADDR),
	BAD("FROM:<a@b.test\x7f>", R_MAIL_ADDR),
	/* ill-formed UTF-8 is a syntax error, SMTPUTF8 or not */
	BAD("FROM:<a\xc3@b.test> SMTPUTF8", R_MAIL_ADDR),
	BAD("FROM:<a\xc0\xaf@b.test> SMTPUTF8", R_MAIL_ADDR),
	BAD("FROM:<a\xed\xa0\x80@b.test> SMTPUTF8", R_MAIL_ADDR),
	BAD("FROM:<a\xf4\x90\x80\x80@b.test> SMTPUTF8", R_MAIL_ADDR),
	BAD("FROM:<a\xff@b.test> SMTPUTF8", R_MAIL_ADDR),
	BAD("FROM:<a@b.\xc3\xa9-.test> SMTPUTF8", R_MAIL_ADDR),
	BAD("FROM:<j\xc3\xb6rg@b.test>", R_UTF8),
	BAD("FROM:<a@b\xc3\xbc.test> BODY=8BITMIME", R_UTF8),
	BAD("FROM:<\"\xc3\xb6\"@b.test>", R_UTF8),
};

static const struct path_case rcpt_cases[] = {
	{ "TO:<a@b.test>", NULL, "a", "b.test", "a@b.test", 0 },
	{ "to: <a@B.Test>", NULL, "a", "b.test", "a@b.test", 0 },
	{ "TO:<postmaster>", NULL, "postmaster", "", "postmaster", F_PM },
	{ "TO:<PostMaster>", NULL, "PostMaster", "", "PostMaster", F_PM },
	{ "TO:<postmaster@a.test>", NULL, "postmaster", "a.test",
	  "postmaster@a.test", 0 },
	{ "TO:<user%other@a.test>", NULL, "user%other", "a.test",
	  "user%other@a.test", 0 },
	{ "TO:<@a.test,@b.test:user@c.test>", NULL, "user", "c.test",
	  "user@c.test", F_ROUTE },
	{ "TO:<\"user@evil\"@a.test>", NULL, "user@evil", "a.test",
	  "\"user@evil\"@a.test", F_QUOT },
	{ "TO:<a!b@c.test>", NULL, "a!b", "c.test", "a!b@c.test", 0 },
	{ "TO:<a@[127.0.0.1]>", NULL, "a", "[127.0.0.1]", "a@[127.0.0.1]", 0 },
	{ "TO:<1234567890123456789012345678901234567890123456789012345678901234"
	  "@a.test>", NULL,
	  "1234567890123456789012345678901234567890123456789012345678901234",
	  "a.test",
	  "1234567890123456789012345678901234567890123456789012345678901234"
	  "@a.test", 0 },

	BAD("", R_RCPT_SYN), BAD("FROM:<a@b.test>", R_RCPT_SYN),
	BAD("TO<a@b.test>", R_RCPT_SYN),
	BAD("TO:<>", R_RCPT_ADDR), BAD("TO:a@b.test", R_RCPT_ADDR),
	BAD("TO:<\"postmaster\">", R_RCPT_ADDR),
	BAD("TO:<@a.test:postmaster>", R_RCPT_ADDR),
	BAD("TO:<postmaster.x>", R_RCPT_ADDR),
	BAD("TO:<a@b.test> <c@d.test>", R_PUNK),
	BAD("TO:<12345678901234567890123456789012345678901234567890123456789012345"
	  "@a.test>", R_RCPT_LONG),
	BAD("TO:<j\xc3\xb6rg@b.test>", R_UTF8),
	BAD("TO:<a@b.test> SMTPUTF8", R_PUNK),
};

static void
check_path(const struct path_case *c, int r, const char *reply,
    struct smtp_path *p)
{
	char *s;

	if (c->reply != NULL) {
		if (r != -1 || reply == NULL || strcmp(reply, c->reply) != 0)
			fprintf(stderr, "  case: %s\n", c->args);
		TEST_ASSERT(r == -1);
		TEST_ASSERT_STREQ(reply, c->reply);
		TEST_ASSERT(p->localpart == NULL && p->domain == NULL);
		return;
	}
	if (r != 0)
		fprintf(stderr, "  case: %s -> %s\n", c->args, reply);
	TEST_ASSERT(r == 0);
	TEST_ASSERT_STREQ(p->localpart, c->local);
	TEST_ASSERT_STREQ(p->domain, c->domain);
	TEST_ASSERT(p->null_path == !!(c->flags & F_NULL));
	TEST_ASSERT(p->bare_postmaster == !!(c->flags & F_PM));
	TEST_ASSERT(p->had_route == !!(c->flags & F_ROUTE));
	TEST_ASSERT(p->quoted == !!(c->flags & F_QUOT));
	TEST_ASSERT(p->utf8 == !!(c->flags & F_UTF8));
	s = smtp_path_to_string(p);
	if (strcmp(s, c->str) != 0)
		fprintf(stderr, "  case: %s -> %s\n", c->args, s);
	TEST_ASSERT(strcmp(s, c->str) == 0);
	free(s);
}

static void
test_mail_paths(void)
{
	struct smtp_path p;
	const char *reply;
	size_t i;
	int r;

	for (i = 0; i < sizeof(mail_cases) / sizeof(mail_cases[0]); i++) {
		reply = NULL;
		r = smtp_parse_mail(mail_cases[i].args, &p, &reply);
		check_path(&mail_cases[i], r, reply, &p);
		smtp_path_free(&p);
		if (test_cur_failed)
			return;
	}
}

static void
test_rcpt_paths(void)
{
	struct smtp_path p;
	const char *reply;
	size_t i;
	int r;

	for (i = 0; i < sizeof(rcpt_cases) / sizeof(rcpt_cases[0]); i++) {
		reply = NULL;
		r = smtp_parse_rcpt(rcpt_cases[i].args, false, &p, &reply);
		check_path(&rcpt_cases[i], r, reply, &p);
		smtp_path_free(&p);
		if (test_cur_failed)
			return;
	}
	/* with SMTPUTF8 on the transaction, UTF-8 recipients pass */
	TEST_ASSERT(smtp_parse_rcpt("TO:<j\xc3\xb6rg@b\xc3\xbc.test>", true,
	    &p, &reply) == 0);
	TEST_ASSERT(p.utf8);
	TEST_ASSERT_STREQ(p.localpart, "j\xc3\xb6rg");
	smtp_path_free(&p);
	TEST_ASSERT(smtp_parse_rcpt("TO:<a\xc3(@b.test>", true, &p,
	    &reply) == -1);
	TEST_ASSERT_STREQ(reply, R_RCPT_ADDR);
}

/* Builds "<" + n-char local part + "@" + domain + ">" paths around the
   256-octet limit. */
static void
test_path_lengths(void)
{
	char args[600], lp[300];
	struct smtp_path p;
	const char *reply;
	size_t n;

	/* MAIL: path = 1 + n + 1 + 6 ("a.test") + 1 = n + 9 */
	for (n = 240; n <= 260; n++) {
		memset(lp, 'x', n);
		lp[n] = '\0';
		snprintf(args, sizeof(args), "FROM:<%s@a.test>", lp);
		reply = NULL;
		if (n + 9 <= 256) {
			TEST_ASSERT(smtp_parse_mail(args, &p, &reply) == 0);
		} else {
			TEST_ASSERT(smtp_parse_mail(args, &p, &reply) == -1);
			TEST_ASSERT_STREQ(reply, R_MAIL_LONG);
		}
		smtp_path_free(&p);
	}
	/* a route counts towards the path length */
	memset(lp, 'x', 240);
	lp[240] = '\0';
	snprintf(args, sizeof(args), "FROM:<@r.test:%s@a.test>", lp);
	TEST_ASSERT(smtp_parse_mail(args, &p, &reply) == -1);
	TEST_ASSERT_STREQ(reply, R_MAIL_LONG);
	/* domain label of 63 ok, 64 refused; domain of 255 ok, 256 not */
	memset(lp, 'd', 64);
	lp[63] = '\0';
	snprintf(args, sizeof(args), "TO:<a@%s.test>", lp);
	TEST_ASSERT(smtp_parse_rcpt(args, false, &p, &reply) == 0);
	smtp_path_free(&p);
	lp[63] = 'd';
	lp[64] = '\0';
	snprintf(args, sizeof(args), "TO:<a@%s.test>", lp);
	TEST_ASSERT(smtp_parse_rcpt(args, false, &p, &reply) == -1);
	TEST_ASSERT_STREQ(reply, R_RCPT_ADDR);
}

int
main(void)
{
	TEST_RUN(test_mail_paths);
	TEST_RUN(test_rcpt_paths);
	TEST_RUN(test_path_lengths);
	return test_done("test-smtp-path");
}
