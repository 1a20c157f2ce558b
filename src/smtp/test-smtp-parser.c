/*
 * test-smtp-parser - table-driven tests for smtp_parser.c: command lines,
 * MAIL/RCPT paths and parameters, EHLO, BDAT, xtext, UTF-8.
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_parser.h"
#include "util/buf.h"
#include "util/test.h"

#define R_NUL		"500 5.5.2 Syntax error, NUL byte in command"
#define R_UNKNOWN	"500 5.5.2 Syntax error, command unrecognized"
#define R_MAIL_SYN	"501 5.5.4 Syntax: MAIL FROM:<address>"
#define R_RCPT_SYN	"501 5.5.4 Syntax: RCPT TO:<address>"
#define R_MAIL_ADDR	"501 5.1.7 Bad sender address syntax"
#define R_RCPT_ADDR	"501 5.1.3 Bad recipient address syntax"
#define R_MAIL_LONG	"501 5.1.7 Address too long"
#define R_RCPT_LONG	"501 5.1.3 Address too long"
#define R_UTF8		"553 5.6.7 Non-ASCII address requires SMTPUTF8"
#define R_PUNK		"555 5.5.4 Unsupported parameter"
#define R_PVAL		"501 5.5.4 Bad parameter value"
#define R_PDUP		"501 5.5.4 Duplicate parameter"
#define R_HELO		"501 5.5.4 Syntax: EHLO hostname"
#define R_BDAT		"501 5.5.4 Syntax: BDAT size [LAST]"

/* ------------------------------------------------------------------ */

struct cmd_case {
	const char	*line;
	size_t		 len;		/* 0: strlen(line) */
	enum smtp_verb	 verb;		/* UNKNOWN: expect failure */
	const char	*args_or_reply;
};

static const struct cmd_case cmd_cases[] = {
	{ "EHLO a.test", 0, SMTP_VERB_EHLO, "a.test" },
	{ "ehlo a.test", 0, SMTP_VERB_EHLO, "a.test" },
	{ "HeLo   a.test  ", 0, SMTP_VERB_HELO, "a.test" },
	{ "MAIL FROM:<a@b.test> SIZE=10", 0, SMTP_VERB_MAIL,
	  "FROM:<a@b.test> SIZE=10" },
	{ "RCPT TO:<a@b.test>", 0, SMTP_VERB_RCPT, "TO:<a@b.test>" },
	{ "DATA", 0, SMTP_VERB_DATA, "" },
	{ "data ", 0, SMTP_VERB_DATA, "" },
	{ "BDAT 100 LAST", 0, SMTP_VERB_BDAT, "100 LAST" },
	{ "RSET", 0, SMTP_VERB_RSET, "" },
	{ "NOOP whatever", 0, SMTP_VERB_NOOP, "whatever" },
	{ "QUIT", 0, SMTP_VERB_QUIT, "" },
	{ "VRFY x", 0, SMTP_VERB_VRFY, "x" },
	{ "EXPN x", 0, SMTP_VERB_EXPN, "x" },
	{ "HELP", 0, SMTP_VERB_HELP, "" },
	{ "StartTLS", 0, SMTP_VERB_STARTTLS, "" },
	{ "AUTH PLAIN AGFsaWNlAHNlY3JldA==", 0, SMTP_VERB_AUTH,
	  "PLAIN AGFsaWNlAHNlY3JldA==" },
	{ "QUIT\t", 0, SMTP_VERB_QUIT, "" },
	{ "", 0, SMTP_VERB_UNKNOWN, R_UNKNOWN },
	{ " QUIT", 0, SMTP_VERB_UNKNOWN, R_UNKNOWN },
	{ "QUITX", 0, SMTP_VERB_UNKNOWN, R_UNKNOWN },
	{ "QUI", 0, SMTP_VERB_UNKNOWN, R_UNKNOWN },
	{ "MAIL:FROM:<a@b>", 0, SMTP_VERB_UNKNOWN, R_UNKNOWN },
	{ "MAIL\tFROM:<a@b>", 0, SMTP_VERB_UNKNOWN, R_UNKNOWN },
	{ "GET / HTTP/1.1", 0, SMTP_VERB_UNKNOWN, R_UNKNOWN },
	{ "QUIT\0", 5, SMTP_VERB_UNKNOWN, R_NUL },
	{ "MAIL FROM:<a\0@b>", 16, SMTP_VERB_UNKNOWN, R_NUL },
	{ "\0", 1, SMTP_VERB_UNKNOWN, R_NUL },
};

static void
test_command_parse(void)
{
	struct smtp_command cmd;
	const char *reply;
	size_t i;

	for (i = 0; i < sizeof(cmd_cases) / sizeof(cmd_cases[0]); i++) {
		const struct cmd_case *c = &cmd_cases[i];
		size_t len = c->len ? c->len : strlen(c->line);
		/* not NUL-terminated: copy without the terminator */
		char *copy = malloc(len + 1);
		int r;

		memcpy(copy, c->line, len);
		copy[len] = 'X';
		reply = NULL;
		r = smtp_command_parse(copy, len, &cmd, &reply);
		free(copy);
		if (c->verb == SMTP_VERB_UNKNOWN) {
			TEST_ASSERT(r == -1);
			TEST_ASSERT_STREQ(reply, c->args_or_reply);
			TEST_ASSERT(cmd.line == NULL);
			TEST_ASSERT_STREQ(cmd.args, "");
		} else {
			TEST_ASSERT(r == 0);
			TEST_ASSERT(cmd.verb == c->verb);
			TEST_ASSERT_STREQ(cmd.args, c->args_or_reply);
		}
		smtp_command_free(&cmd);
		smtp_command_free(&cmd);
	}
}

static void
test_command_no_args(void)
{
	static const struct {
		const char *line;
		const char *reply;	/* NULL: ok */
	} cases[] = {
		{ "DATA", NULL }, { "DATA x", "501 5.5.4 Syntax: DATA" },
		{ "RSET", NULL }, { "RSET x", "501 5.5.4 Syntax: RSET" },
		{ "QUIT", NULL }, { "QUIT now", "501 5.5.4 Syntax: QUIT" },
		{ "STARTTLS", NULL },
		{ "STARTTLS x", "501 5.5.4 Syntax: STARTTLS" },
		{ "NOOP x", NULL }, { "HELP x", NULL }, { "MAIL x", NULL },
	};
	struct smtp_command cmd;
	const char *reply;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TEST_ASSERT(smtp_command_parse(cases[i].line,
		    strlen(cases[i].line), &cmd, &reply) == 0);
		reply = NULL;
		TEST_ASSERT(smtp_command_check_no_args(&cmd, &reply) ==
		    (cases[i].reply ? -1 : 0));
		if (cases[i].reply)
			TEST_ASSERT_STREQ(reply, cases[i].reply);
		smtp_command_free(&cmd);
	}
	TEST_ASSERT_STREQ(smtp_verb_name(SMTP_VERB_STARTTLS), "STARTTLS");
	TEST_ASSERT_STREQ(smtp_verb_name(SMTP_VERB_UNKNOWN), "UNKNOWN");
}

/* ------------------------------------------------------------------ */

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

/* ------------------------------------------------------------------ */

static void
test_mail_params(void)
{
	struct smtp_path p;
	const char *reply;

	TEST_ASSERT(smtp_parse_mail("FROM:<a@b.test> SIZE=12345 BODY=8bitmime "
	    "SMTPUTF8 RET=hdrs ENVID=QQ+2Bx AUTH=a+2Bb@c.test", &p, &reply) == 0);
	TEST_ASSERT(p.size == 12345);
	TEST_ASSERT(p.body == SMTP_BODY_8BITMIME);
	TEST_ASSERT(p.smtputf8);
	TEST_ASSERT(p.ret == SMTP_RET_HDRS);
	TEST_ASSERT_STREQ(p.envid, "QQ+2Bx");
	TEST_ASSERT_STREQ(p.auth, "a+2Bb@c.test");
	TEST_ASSERT(p.notify == 0 && p.orcpt == NULL);
	smtp_path_free(&p);

	TEST_ASSERT(smtp_parse_mail("FROM:<> size=0   body=7BIT ret=FULL "
	    "auth=<>  ", &p, &reply) == 0);
	TEST_ASSERT(p.null_path && p.size == 0 && p.body == SMTP_BODY_7BIT &&
	    p.ret == SMTP_RET_FULL);
	TEST_ASSERT_STREQ(p.auth, "<>");
	smtp_path_free(&p);

	TEST_ASSERT(smtp_parse_mail("FROM:<a@b.test> BODY=BINARYMIME "
	    "SIZE=18446744073709551615", &p, &reply) == 0);
	TEST_ASSERT(p.body == SMTP_BODY_BINARYMIME);
	TEST_ASSERT(p.size == UINT64_MAX);
	smtp_path_free(&p);
}

struct param_case {
	bool		 rcpt;
	const char	*args;
	const char	*reply;
};

static const struct param_case bad_params[] = {
	{ false, "FROM:<a@b.test> FOO=1", R_PUNK },
	{ false, "FROM:<a@b.test> NOTIFY=NEVER", R_PUNK },
	{ false, "FROM:<a@b.test> ORCPT=rfc822;a@b", R_PUNK },
	{ false, "FROM:<a@b.test> -X", R_PUNK },
	{ false, "FROM:<a@b.test> SI%ZE=1", R_PUNK },
	{ false, "FROM:<a@b.test> SIZE", R_PVAL },
	{ false, "FROM:<a@b.test> SIZE=", R_PVAL },
	{ false, "FROM:<a@b.test> SIZE=-1", R_PVAL },
	{ false, "FROM:<a@b.test> SIZE=1k", R_PVAL },
	{ false, "FROM:<a@b.test> SIZE=18446744073709551616", R_PVAL },
	{ false, "FROM:<a@b.test> SIZE=000000000000000000001", R_PVAL },
	{ false, "FROM:<a@b.test> SIZE=1=2", R_PVAL },
	{ false, "FROM:<a@b.test> BODY=9BIT", R_PVAL },
	{ false, "FROM:<a@b.test> BODY", R_PVAL },
	{ false, "FROM:<a@b.test> SMTPUTF8=yes", R_PVAL },
	{ false, "FROM:<a@b.test> RET=ALL", R_PVAL },
	{ false, "FROM:<a@b.test> ENVID=a+2", R_PVAL },
	{ false, "FROM:<a@b.test> ENVID=a+ZZ", R_PVAL },
	{ false, "FROM:<a@b.test> ENVID=a+0D+0A", R_PVAL },
	{ false, "FROM:<a@b.test> ENVID=\xc3\xa9", R_PVAL },
	{ false, "FROM:<a@b.test> ENVID=12345678901234567890123456789012345678"
	  "901234567890123456789012345678901234567890123456789012345678901",
	  R_PVAL },
	{ false, "FROM:<a@b.test> AUTH=x+00y", R_PVAL },
	{ false, "FROM:<a@b.test> SIZE=1 SIZE=2", R_PDUP },
	{ false, "FROM:<a@b.test> size=1 SIZE=1", R_PDUP },
	{ false, "FROM:<a@b.test> SMTPUTF8 SMTPUTF8", R_PDUP },
	{ true, "TO:<a@b.test> SIZE=1", R_PUNK },
	{ true, "TO:<a@b.test> NOTIFY=NEVER,SUCCESS", R_PVAL },
	{ true, "TO:<a@b.test> NOTIFY=DELAY,NEVER", R_PVAL },
	{ true, "TO:<a@b.test> NOTIFY=", R_PVAL },
	{ true, "TO:<a@b.test> NOTIFY=SUCCESS,", R_PVAL },
	{ true, "TO:<a@b.test> NOTIFY=,SUCCESS", R_PVAL },
	{ true, "TO:<a@b.test> NOTIFY=SOMETIMES", R_PVAL },
	{ true, "TO:<a@b.test> NOTIFY=FAILURE NOTIFY=DELAY", R_PDUP },
	{ true, "TO:<a@b.test> ORCPT=a@b.test", R_PVAL },
	{ true, "TO:<a@b.test> ORCPT=;a@b.test", R_PVAL },
	{ true, "TO:<a@b.test> ORCPT=rfc822;", R_PVAL },
	{ true, "TO:<a@b.test> ORCPT=rfc(822;a", R_PVAL },
	{ true, "TO:<a@b.test> ORCPT=rfc822;a+4", R_PVAL },
	{ true, "TO:<a@b.test> ORCPT=utf-8;\xc3\xb6@b.test", R_PVAL },
	{ true, "TO:<a@b.test> ORCPT=rfc822;a@b ORCPT=rfc822;a@b", R_PDUP },
};

static void
test_bad_params(void)
{
	struct smtp_path p;
	const char *reply;
	size_t i;
	int r;

	for (i = 0; i < sizeof(bad_params) / sizeof(bad_params[0]); i++) {
		const struct param_case *c = &bad_params[i];

		reply = NULL;
		r = c->rcpt ? smtp_parse_rcpt(c->args, false, &p, &reply) :
		    smtp_parse_mail(c->args, &p, &reply);
		if (r != -1 || reply == NULL || strcmp(reply, c->reply) != 0)
			fprintf(stderr, "  case: %s -> %s\n", c->args,
			    reply ? reply : "ok");
		TEST_ASSERT(r == -1);
		TEST_ASSERT_STREQ(reply, c->reply);
		TEST_ASSERT(p.envid == NULL && p.auth == NULL &&
		    p.orcpt == NULL && p.localpart == NULL);
	}
}

static void
test_rcpt_params(void)
{
	struct smtp_path p;
	const char *reply;

	TEST_ASSERT(smtp_parse_rcpt("TO:<a@b.test> NOTIFY=success,Delay,FAILURE "
	    "ORCPT=rfc822;a+2Bb@b.test", false, &p, &reply) == 0);
	TEST_ASSERT(p.notify == (SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_DELAY |
	    SMTP_NOTIFY_FAILURE));
	TEST_ASSERT_STREQ(p.orcpt, "rfc822;a+2Bb@b.test");
	smtp_path_free(&p);
	TEST_ASSERT(smtp_parse_rcpt("TO:<a@b.test> notify=never", false, &p,
	    &reply) == 0);
	TEST_ASSERT(p.notify == SMTP_NOTIFY_NEVER);
	smtp_path_free(&p);
	TEST_ASSERT(smtp_parse_rcpt("TO:<a@b.test> ORCPT=utf-8;\xc3\xb6@b.test",
	    true, &p, &reply) == 0);
	smtp_path_free(&p);
	TEST_ASSERT(smtp_parse_rcpt("TO:<a@b.test> ORCPT=utf-8;\xc3(@b.test",
	    true, &p, &reply) == -1);
	TEST_ASSERT_STREQ(reply, R_PVAL);
}

/* ------------------------------------------------------------------ */

static void
test_helo(void)
{
	static const char *good[] = {
		"a.test", "localhost", "mail.example.com.", "x", "[127.0.0.1]",
		"[IPv6:::1]", "DESKTOP_AB12", "192.168.1.5", "A-B.c0m",
	};
	static const char *bad[] = {
		"", "a..test", ".a", "-a.test", "a-.test", "a test",
		"[127.0.0.1", "[::1]", "a.test extra", "b\xc3\xbc.test",
		"a@b", "[300.1.1.1]", "a.test..",
	};
	const char *reply;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		TEST_ASSERT(smtp_parse_helo(good[i], &reply) == 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		reply = NULL;
		TEST_ASSERT(smtp_parse_helo(bad[i], &reply) == -1);
		TEST_ASSERT_STREQ(reply, R_HELO);
	}
}

static void
test_bdat(void)
{
	static const struct {
		const char *args;
		int r;
		uint64_t size;
		bool last;
	} cases[] = {
		{ "0", 0, 0, false }, { "100", 0, 100, false },
		{ "100 LAST", 0, 100, true }, { "100 last", 0, 100, true },
		{ "0 LAST", 0, 0, true }, { "007  LAST", 0, 7, true },
		{ "18446744073709551615", 0, UINT64_MAX, false },
		{ "18446744073709551616", -1, 0, false },
		{ "", -1, 0, false }, { "LAST", -1, 0, false },
		{ "-1", -1, 0, false }, { "1x", -1, 0, false },
		{ "1 LASTX", -1, 0, false }, { "1 LAST x", -1, 0, false },
		{ " 1", -1, 0, false }, { "1 FIRST", -1, 0, false },
	};
	const char *reply;
	uint64_t size;
	bool last;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		reply = NULL;
		TEST_ASSERT(smtp_parse_bdat(cases[i].args, &size, &last,
		    &reply) == cases[i].r);
		if (cases[i].r == 0) {
			TEST_ASSERT(size == cases[i].size);
			TEST_ASSERT(last == cases[i].last);
		} else
			TEST_ASSERT_STREQ(reply, R_BDAT);
	}
}

static void
test_xtext_utf8(void)
{
	struct buf b;

	TEST_ASSERT(smtp_xtext_valid("abc", 3));
	TEST_ASSERT(smtp_xtext_valid("a+2Bb+3D", 8));
	TEST_ASSERT(!smtp_xtext_valid("", 0));
	TEST_ASSERT(!smtp_xtext_valid("a+2", 3));
	TEST_ASSERT(!smtp_xtext_valid("a=b", 3));
	TEST_ASSERT(!smtp_xtext_valid("a b", 3));
	TEST_ASSERT(!smtp_xtext_valid("a+2B", 3));	/* length bounds */
	buf_init(&b, 0);
	TEST_ASSERT(smtp_xtext_decode("a+2Bb+3D+0d", 11, &b) == 0);
	TEST_ASSERT(b.len == 5 && memcmp(b.data, "a+b=\r", 5) == 0);
	buf_reset(&b);
	TEST_ASSERT(smtp_xtext_decode("a+G0", 4, &b) == -1);
	buf_free(&b);

}

int
main(void)
{
	TEST_RUN(test_command_parse);
	TEST_RUN(test_command_no_args);
	TEST_RUN(test_mail_paths);
	TEST_RUN(test_rcpt_paths);
	TEST_RUN(test_path_lengths);
	TEST_RUN(test_mail_params);
	TEST_RUN(test_bad_params);
	TEST_RUN(test_rcpt_params);
	TEST_RUN(test_helo);
	TEST_RUN(test_bdat);
	TEST_RUN(test_xtext_utf8);
	return test_done("test-smtp-parser");
}
