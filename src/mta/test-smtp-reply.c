/*
 * test-smtp-reply - table-driven tests for smtp_reply.c: reply lines,
 * multiline replies, enhanced status codes, limits, the one-line form and
 * EHLO capabilities.
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mta/smtp_reply.h"
#include "util/buf.h"
#include "util/test.h"

struct reply_case {
	const char	*lines;		/* LF-separated lines to feed */
	int		 code;		/* 0: expect an error */
	const char	*status;
	const char	*text;
	int		 nlines;
};

static const struct reply_case reply_cases[] = {
	{ "250 OK", 250, "", "OK", 1 },
	{ "220 mx.b.test ESMTP", 220, "", "mx.b.test ESMTP", 1 },
	{ "250", 250, "", "", 1 },
	{ "250 ", 250, "", "", 1 },
	{ "354 End data with <CR><LF>.<CR><LF>", 354, "",
	  "End data with <CR><LF>.<CR><LF>", 1 },
	{ "250-mx.b.test Hello\n250-PIPELINING\n250 SIZE 1000", 250, "",
	  "mx.b.test Hello\nPIPELINING\nSIZE 1000", 3 },
	{ "250-\n250 x", 250, "", "\nx", 2 },
	{ "550 5.1.1 <x@b.test>: User unknown", 550, "5.1.1",
	  "5.1.1 <x@b.test>: User unknown", 1 },
	{ "550-5.7.1 first\n550 5.7.1 second", 550, "5.7.1",
	  "5.7.1 first\n5.7.1 second", 2 },
	{ "250 2.0.0", 250, "2.0.0", "2.0.0", 1 },
	{ "550 5.1.10 x", 550, "5.1.10", "5.1.10 x", 1 },
	{ "550 5.123.456 x", 550, "5.123.456", "5.123.456 x", 1 },
	{ "550 4.1.1 class differs", 550, "", "4.1.1 class differs", 1 },
	{ "550 5.1234.1 x", 550, "", "5.1234.1 x", 1 },
	{ "550 5.1.1234 x", 550, "", "5.1.1234 x", 1 },
	{ "550 5..1 x", 550, "", "5..1 x", 1 },
	{ "550 5.1.1x", 550, "", "5.1.1x", 1 },
	{ "550 5.1 x", 550, "", "5.1 x", 1 },
	{ "421 4.3.2 shutting down", 421, "4.3.2", "4.3.2 shutting down", 1 },
	{ "559 x", 559, "", "x", 1 },
	{ "200 x", 200, "", "x", 1 },
	/* errors */
	{ "", 0, NULL, NULL, 0 },
	{ "25", 0, NULL, NULL, 0 },
	{ "2500 x", 0, NULL, NULL, 0 },
	{ "250x", 0, NULL, NULL, 0 },
	{ "abc", 0, NULL, NULL, 0 },
	{ "199 x", 0, NULL, NULL, 0 },
	{ "600 x", 0, NULL, NULL, 0 },
	{ "160 x", 0, NULL, NULL, 0 },
	{ "260 x", 0, NULL, NULL, 0 },
	{ "25a x", 0, NULL, NULL, 0 },
	{ " 250 x", 0, NULL, NULL, 0 },
	{ "250-first\n251 second", 0, NULL, NULL, 0 },
	{ "250-first\n550 second", 0, NULL, NULL, 0 },
	{ "250-first\nxyz", 0, NULL, NULL, 0 },
};

/* Feeds the LF-separated lines; returns the last feed's result. */
static int
feed_lines(struct smtp_reply_parser *p, const char *lines,
    struct smtp_reply *r, const char **err, int *calls)
{
	const char *s = lines, *nl;
	int n = -2;

	*calls = 0;
	for (;;) {
		nl = strchr(s, '\n');
		n = smtp_reply_feed(p, s, nl ? (size_t)(nl - s) : strlen(s),
		    r, err);
		(*calls)++;
		if (n != 0 || nl == NULL)
			return n;
		s = nl + 1;
	}
}

static void
test_reply_cases(void)
{
	struct smtp_reply_parser p;
	struct smtp_reply r;
	const char *err;
	size_t i;
	int n, calls;

	smtp_reply_parser_init(&p);
	for (i = 0; i < sizeof(reply_cases) / sizeof(reply_cases[0]); i++) {
		const struct reply_case *c = &reply_cases[i];

		err = NULL;
		n = feed_lines(&p, c->lines, &r, &err, &calls);
		if (c->code == 0) {
			if (n != -1)
				fprintf(stderr, "  case %zu: %s\n", i, c->lines);
			TEST_ASSERT(n == -1);
			TEST_ASSERT(err != NULL);
			TEST_ASSERT(r.text == NULL && r.code == 0);
		} else {
			if (n != 1)
				fprintf(stderr, "  case %zu: %s (%s)\n", i,
				    c->lines, err ? err : "");
			TEST_ASSERT(n == 1);
			TEST_ASSERT(r.code == c->code);
			TEST_ASSERT_STREQ(r.status, c->status);
			TEST_ASSERT_STREQ(r.text, c->text);
			TEST_ASSERT(r.nlines == c->nlines);
			TEST_ASSERT(calls == c->nlines);
			smtp_reply_free(&r);
			TEST_ASSERT(r.text == NULL);
		}
		/* the parser is ready for a new reply after either */
		n = smtp_reply_feed(&p, "250 again", 9, &r, &err);
		TEST_ASSERT(n == 1 && r.code == 250);
		TEST_ASSERT_STREQ(r.text, "again");
		smtp_reply_free(&r);
	}
	smtp_reply_parser_free(&p);
}

static void
test_reply_binary(void)
{
	struct smtp_reply_parser p;
	struct smtp_reply r;
	const char *err;

	smtp_reply_parser_init(&p);
	TEST_ASSERT(smtp_reply_feed(&p, "250 a\0b", 7, &r, &err) == -1);
	TEST_ASSERT(smtp_reply_feed(&p, "250 a\nb", 7, &r, &err) == -1);
	/* not NUL-terminated input: only len bytes are read */
	TEST_ASSERT(smtp_reply_feed(&p, "250 okXXXX", 6, &r, &err) == 1);
	TEST_ASSERT_STREQ(r.text, "ok");
	smtp_reply_free(&r);
	/* 8-bit and CR are kept as data */
	TEST_ASSERT(smtp_reply_feed(&p, "250 \xc3\xa9\r", 7, &r, &err) == 1);
	TEST_ASSERT_STREQ(r.text, "\xc3\xa9\r");
	smtp_reply_free(&r);
	smtp_reply_parser_free(&p);
}

static void
test_reply_limits(void)
{
	struct smtp_reply_parser p;
	struct smtp_reply r;
	const char *err;
	char *line = malloc(SMTP_REPLY_LINE_MAX + 2);
	int i, n = 0;

	TEST_ASSERT(line != NULL);
	smtp_reply_parser_init(&p);
	memset(line, 'x', SMTP_REPLY_LINE_MAX + 1);
	memcpy(line, "250 ", 4);
	n = smtp_reply_feed(&p, line, SMTP_REPLY_LINE_MAX, &r, &err);
	if (n == 1)
		TEST_ASSERT(strlen(r.text) == SMTP_REPLY_LINE_MAX - 4);
	smtp_reply_free(&r);
	TEST_ASSERT(n == 1);
	n = smtp_reply_feed(&p, line, SMTP_REPLY_LINE_MAX + 1, &r, &err);
	free(line);
	TEST_ASSERT(n == -1);
	TEST_ASSERT_STREQ(err, "reply line too long");

	/* SMTP_REPLY_LINES_MAX lines are fine, one more is not */
	for (i = 0; i < SMTP_REPLY_LINES_MAX - 1; i++)
		TEST_ASSERT(smtp_reply_feed(&p, "250-x", 5, &r, &err) == 0);
	TEST_ASSERT(smtp_reply_feed(&p, "250 x", 5, &r, &err) == 1);
	TEST_ASSERT(r.nlines == SMTP_REPLY_LINES_MAX);
	smtp_reply_free(&r);
	for (i = 0; i < SMTP_REPLY_LINES_MAX; i++)
		TEST_ASSERT(smtp_reply_feed(&p, "250-x", 5, &r, &err) == 0);
	TEST_ASSERT(smtp_reply_feed(&p, "250 x", 5, &r, &err) == -1);
	TEST_ASSERT_STREQ(err, "too many reply lines");
	smtp_reply_parser_free(&p);
}

static char *
oneline_of(const char *lines, size_t max)
{
	struct smtp_reply_parser p;
	struct smtp_reply r;
	const char *err;
	char *s = NULL;
	int calls;

	smtp_reply_parser_init(&p);
	if (feed_lines(&p, lines, &r, &err, &calls) == 1)
		s = smtp_reply_oneline(&r, max);
	smtp_reply_free(&r);
	smtp_reply_parser_free(&p);
	return s;
}

static void
check_oneline(const char *lines, size_t max, const char *want, int *ok)
{
	char *s = oneline_of(lines, max);

	*ok = s != NULL && strcmp(s, want) == 0;
	if (!*ok)
		fprintf(stderr, "  oneline(%s) = \"%s\", want \"%s\"\n", lines,
		    s ? s : "(null)", want);
	free(s);
}

static void
test_reply_oneline(void)
{
	static const struct {
		const char	*lines;
		size_t		 max;
		const char	*want;
	} cases[] = {
		{ "250 OK", 0, "250 OK" },
		{ "250", 0, "250" },
		{ "550 5.1.1 User unknown", 0, "550 5.1.1 User unknown" },
		{ "550-5.1.1 first\n550 5.1.1 second", 0,
		  "550 5.1.1 first second" },
		{ "550-first\n550-\n550 second", 0, "550 first second" },
		{ "550 5.1.1", 0, "550 5.1.1" },
		{ "550 bad\ttab\x7f" "del\x01", 0, "550 bad?tab?del?" },
		{ "550 5.1.1 0123456789", 16, "550 5.1.1 012..." },
		{ "451 4.3.0 4.3.0x", 0, "451 4.3.0 4.3.0x" },
	};
	int ok;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		check_oneline(cases[i].lines, cases[i].max, cases[i].want, &ok);
		TEST_ASSERT(ok);
	}
}

static void
test_ehlo_caps(void)
{
	struct smtp_caps c;

	smtp_reply_ehlo_caps("mx.b.test Hello\nPIPELINING\nSIZE 10240000\n"
	    "STARTTLS\n8BITMIME\nSMTPUTF8\nENHANCEDSTATUSCODES\nCHUNKING\nDSN\n"
	    "AUTH PLAIN LOGIN\nBINARYMIME\nREQUIRETLS", &c);
	TEST_ASSERT(c.flags == (SMTP_CAP_PIPELINING | SMTP_CAP_SIZE |
	    SMTP_CAP_STARTTLS | SMTP_CAP_8BITMIME | SMTP_CAP_SMTPUTF8 |
	    SMTP_CAP_ENHANCEDSTATUSCODES | SMTP_CAP_CHUNKING | SMTP_CAP_DSN |
	    SMTP_CAP_AUTH | SMTP_CAP_BINARYMIME | SMTP_CAP_REQUIRETLS));
	TEST_ASSERT(c.size == 10240000);

	smtp_reply_ehlo_caps("x\npipelining\nsize\nStartTLS", &c);
	TEST_ASSERT(c.flags == (SMTP_CAP_PIPELINING | SMTP_CAP_SIZE |
	    SMTP_CAP_STARTTLS));
	TEST_ASSERT(c.size == 0);

	/* the first line is the greeting, even when it looks like a keyword */
	smtp_reply_ehlo_caps("PIPELINING", &c);
	TEST_ASSERT(c.flags == 0);
	smtp_reply_ehlo_caps("", &c);
	TEST_ASSERT(c.flags == 0);
	smtp_reply_ehlo_caps(NULL, &c);
	TEST_ASSERT(c.flags == 0);

	smtp_reply_ehlo_caps("x\n8BITMIMEX\nXPIPELINING\nSTART TLS\n"
	    "X-EXPS GSSAPI\n", &c);
	TEST_ASSERT(c.flags == 0);

	smtp_reply_ehlo_caps("x\nSIZE abc", &c);
	TEST_ASSERT(c.flags == SMTP_CAP_SIZE && c.size == 0);
	smtp_reply_ehlo_caps("x\nSIZE 12x", &c);
	TEST_ASSERT(c.size == 0);
	smtp_reply_ehlo_caps("x\nSIZE 18446744073709551615", &c);
	TEST_ASSERT(c.size == 0);	/* too large to trust */
	smtp_reply_ehlo_caps("x\nSIZE 99999999999", &c);
	TEST_ASSERT(c.size == 99999999999ull);
	smtp_reply_ehlo_caps("x\nSIZE 0", &c);
	TEST_ASSERT(c.flags == SMTP_CAP_SIZE && c.size == 0);
	smtp_reply_ehlo_caps("x\nSIZE  512 extra", &c);
	TEST_ASSERT(c.size == 512);
}

int
main(void)
{
	TEST_RUN(test_reply_cases);
	TEST_RUN(test_reply_binary);
	TEST_RUN(test_reply_limits);
	TEST_RUN(test_reply_oneline);
	TEST_RUN(test_ehlo_caps);
	return test_done("test-smtp-reply");
}
