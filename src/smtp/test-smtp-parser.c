/*
 * test-smtp-parser - table-driven tests for command lines, EHLO and BDAT (smtp_parser.c).
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include "smtp/test-smtp-parser.h"

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

int
main(void)
{
	TEST_RUN(test_command_parse);
	TEST_RUN(test_command_no_args);
	TEST_RUN(test_helo);
	TEST_RUN(test_bdat);
	return test_done("test-smtp-parser");
}
