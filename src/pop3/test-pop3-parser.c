/*
 * test-pop3-parser - table-driven tests for pop3_parser.c: command lines
 * (verbs, arguments, limits, hostile bytes) and the RETR/TOP encoder (line
 * ends, dot-stuffing, TOP limits), each message also fed one byte at a
 * time and in every two-piece split.
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pop3/pop3_parser.h"
#include "util/buf.h"
#include "util/test.h"

#define OK	POP3_PARSE_OK
#define UNK	POP3_PARSE_UNKNOWN
#define SYN	POP3_PARSE_SYNTAX

struct cmd_case {
	const char	*line;
	size_t		 len;		/* 0: strlen(line) */
	int		 result;
	enum pop3_verb	 verb;
	const char	*arg;		/* NULL: none */
	const char	*arg2;
	bool		 has_msg;
	uint32_t	 msg;
	uint32_t	 lines;
};

static const struct cmd_case cases[] = {
	{ "USER alice@a.test", 0, OK, POP3_VERB_USER, "alice@a.test", NULL,
	  false, 0, 0 },
	{ "user alice  ", 0, OK, POP3_VERB_USER, "alice", NULL, false, 0, 0 },
	{ "USER \xc3\xa9l\xc3\xa8ve@a.test", 0, OK, POP3_VERB_USER,
	  "\xc3\xa9l\xc3\xa8ve@a.test", NULL, false, 0, 0 },
	{ "USER", 0, SYN, POP3_VERB_USER, NULL, NULL, false, 0, 0 },
	{ "USER a b", 0, SYN, POP3_VERB_USER, NULL, NULL, false, 0, 0 },
	{ "USER a\tb", 0, SYN, POP3_VERB_USER, NULL, NULL, false, 0, 0 },
	{ "PASS secret", 0, OK, POP3_VERB_PASS, "secret", NULL, false, 0, 0 },
	{ "pass two words ", 0, OK, POP3_VERB_PASS, "two words ", NULL, false,
	  0, 0 },
	{ "PASS \ttab", 0, OK, POP3_VERB_PASS, "\ttab", NULL, false, 0, 0 },
	{ "PASS", 0, SYN, POP3_VERB_PASS, NULL, NULL, false, 0, 0 },
	{ "PASS ", 0, SYN, POP3_VERB_PASS, NULL, NULL, false, 0, 0 },
	{ "PASS a\0b", 8, SYN, POP3_VERB_PASS, NULL, NULL, false, 0, 0 },
	{ "STAT", 0, OK, POP3_VERB_STAT, NULL, NULL, false, 0, 0 },
	{ "stat ", 0, OK, POP3_VERB_STAT, NULL, NULL, false, 0, 0 },
	{ "STAT 1", 0, SYN, POP3_VERB_STAT, NULL, NULL, false, 0, 0 },
	{ "LIST", 0, OK, POP3_VERB_LIST, NULL, NULL, false, 0, 0 },
	{ "LIST 3", 0, OK, POP3_VERB_LIST, NULL, NULL, true, 3, 0 },
	{ "LIST 0", 0, OK, POP3_VERB_LIST, NULL, NULL, true, 0, 0 },
	{ "LIST 007", 0, OK, POP3_VERB_LIST, NULL, NULL, true, 7, 0 },
	{ "LIST 4294967295", 0, OK, POP3_VERB_LIST, NULL, NULL, true,
	  4294967295u, 0 },
	{ "LIST 4294967296", 0, OK, POP3_VERB_LIST, NULL, NULL, true, 0, 0 },
	{ "LIST 99999999999999999999999999", 0, OK, POP3_VERB_LIST, NULL,
	  NULL, true, 0, 0 },
	{ "LIST -1", 0, SYN, POP3_VERB_LIST, NULL, NULL, false, 0, 0 },
	{ "LIST +1", 0, SYN, POP3_VERB_LIST, NULL, NULL, false, 0, 0 },
	{ "LIST 1 2", 0, SYN, POP3_VERB_LIST, NULL, NULL, false, 0, 0 },
	{ "LIST x", 0, SYN, POP3_VERB_LIST, NULL, NULL, false, 0, 0 },
	{ "RETR 1", 0, OK, POP3_VERB_RETR, NULL, NULL, true, 1, 0 },
	{ "Retr   12", 0, OK, POP3_VERB_RETR, NULL, NULL, true, 12, 0 },
	{ "RETR", 0, SYN, POP3_VERB_RETR, NULL, NULL, false, 0, 0 },
	{ "RETR 1x", 0, SYN, POP3_VERB_RETR, NULL, NULL, false, 0, 0 },
	{ "DELE 2", 0, OK, POP3_VERB_DELE, NULL, NULL, true, 2, 0 },
	{ "DELE", 0, SYN, POP3_VERB_DELE, NULL, NULL, false, 0, 0 },
	{ "NOOP", 0, OK, POP3_VERB_NOOP, NULL, NULL, false, 0, 0 },
	{ "RSET", 0, OK, POP3_VERB_RSET, NULL, NULL, false, 0, 0 },
	{ "QUIT", 0, OK, POP3_VERB_QUIT, NULL, NULL, false, 0, 0 },
	{ "quit", 0, OK, POP3_VERB_QUIT, NULL, NULL, false, 0, 0 },
	{ "TOP 1 0", 0, OK, POP3_VERB_TOP, NULL, NULL, true, 1, 0 },
	{ "TOP 2 10", 0, OK, POP3_VERB_TOP, NULL, NULL, true, 2, 10 },
	{ "TOP 2 99999999999", 0, OK, POP3_VERB_TOP, NULL, NULL, true, 2,
	  UINT32_MAX },
	{ "TOP 2", 0, SYN, POP3_VERB_TOP, NULL, NULL, false, 0, 0 },
	{ "TOP 2 -1", 0, SYN, POP3_VERB_TOP, NULL, NULL, false, 0, 0 },
	{ "TOP 1 2 3", 0, SYN, POP3_VERB_TOP, NULL, NULL, false, 0, 0 },
	{ "UIDL", 0, OK, POP3_VERB_UIDL, NULL, NULL, false, 0, 0 },
	{ "UIDL 5", 0, OK, POP3_VERB_UIDL, NULL, NULL, true, 5, 0 },
	{ "CAPA", 0, OK, POP3_VERB_CAPA, NULL, NULL, false, 0, 0 },
	{ "STLS", 0, OK, POP3_VERB_STLS, NULL, NULL, false, 0, 0 },
	{ "AUTH", 0, OK, POP3_VERB_AUTH, NULL, NULL, false, 0, 0 },
	{ "AUTH PLAIN", 0, OK, POP3_VERB_AUTH, "PLAIN", NULL, false, 0, 0 },
	{ "AUTH PLAIN AGEAYg==", 0, OK, POP3_VERB_AUTH, "PLAIN", "AGEAYg==",
	  false, 0, 0 },
	{ "AUTH PLAIN =", 0, OK, POP3_VERB_AUTH, "PLAIN", "=", false, 0, 0 },
	{ "AUTH PLAIN a b", 0, SYN, POP3_VERB_AUTH, NULL, NULL, false, 0, 0 },
	{ "", 0, UNK, 0, NULL, NULL, false, 0, 0 },
	{ " QUIT", 0, UNK, 0, NULL, NULL, false, 0, 0 },
	{ "QUITX", 0, UNK, 0, NULL, NULL, false, 0, 0 },
	{ "QUI", 0, UNK, 0, NULL, NULL, false, 0, 0 },
	{ "APOP a 0123456789abcdef0123456789abcdef", 0, UNK, 0, NULL, NULL,
	  false, 0, 0 },
	{ "GET / HTTP/1.1", 0, UNK, 0, NULL, NULL, false, 0, 0 },
	{ "QUIT\t", 0, SYN, POP3_VERB_QUIT, NULL, NULL, false, 0, 0 },
	{ "QUIT\0", 5, SYN, POP3_VERB_QUIT, NULL, NULL, false, 0, 0 },
	{ "RETR 1\r", 0, SYN, POP3_VERB_RETR, NULL, NULL, false, 0, 0 },
	{ "NOOP\x7f", 0, UNK, 0, NULL, NULL, false, 0, 0 },
	{ "NOOP \x7f", 0, SYN, POP3_VERB_NOOP, NULL, NULL, false, 0, 0 },
	{ "USER a\x01", 0, SYN, POP3_VERB_USER, NULL, NULL, false, 0, 0 },
	{ "\0", 1, UNK, 0, NULL, NULL, false, 0, 0 },
};

static bool
arg_is(const char *p, size_t len, const char *want)
{
	if (want == NULL)
		return p == NULL && len == 0;
	return p != NULL && len == strlen(want) && memcmp(p, want, len) == 0;
}

static void
test_commands(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct cmd_case *c = &cases[i];
		size_t len = c->len ? c->len : strlen(c->line);
		struct pop3_command cmd;
		const char *err = "unset";
		int r = pop3_parse_command(c->line, len, &cmd, &err);

		if (r != c->result)
			fprintf(stderr, "  case %zu \"%s\": got %d\n", i,
			    c->line, r);
		TEST_ASSERT(r == c->result);
		if (r != OK) {
			TEST_ASSERT(err != NULL && err[0] != '\0');
			TEST_ASSERT(strpbrk(err, "\r\n") == NULL);
			TEST_ASSERT(cmd.arg == NULL && !cmd.has_msg);
			if (r == SYN)
				TEST_ASSERT(cmd.verb == c->verb);
			continue;
		}
		TEST_ASSERT(err == NULL);
		TEST_ASSERT(cmd.verb == c->verb);
		TEST_ASSERT(arg_is(cmd.arg, cmd.arg_len, c->arg));
		TEST_ASSERT(arg_is(cmd.arg2, cmd.arg2_len, c->arg2));
		TEST_ASSERT(cmd.has_msg == c->has_msg);
		TEST_ASSERT(cmd.msg == c->msg);
		TEST_ASSERT(cmd.lines == c->lines);
	}
}

static void
test_verb_names(void)
{
	TEST_ASSERT_STREQ(pop3_verb_name(POP3_VERB_RETR), "RETR");
	TEST_ASSERT_STREQ(pop3_verb_name(POP3_VERB_TOP), "TOP");
	TEST_ASSERT_STREQ(pop3_verb_name(POP3_VERB_AUTH), "AUTH");
}

/* A long line at the limit parses: the parser has no length limit of its
 * own (io_getline enforces POP3_LINE_MAX), and never reads past len. */
static void
test_long_lines(void)
{
	char line[POP3_LINE_MAX];
	struct pop3_command cmd;
	const char *err;

	memcpy(line, "USER ", 5);
	memset(line + 5, 'a', sizeof(line) - 5);
	TEST_ASSERT(pop3_parse_command(line, sizeof(line), &cmd, &err) == OK);
	TEST_ASSERT(cmd.arg_len == sizeof(line) - 5);
	memcpy(line, "RETR ", 5);
	memset(line + 5, '9', sizeof(line) - 5);
	TEST_ASSERT(pop3_parse_command(line, sizeof(line), &cmd, &err) == SYN);
	memcpy(line, "RETR ", 5);
	memset(line + 5, '0', 39);
	line[44] = '1';
	TEST_ASSERT(pop3_parse_command(line, 45, &cmd, &err) == OK);
	TEST_ASSERT(cmd.msg == 1);
}

/* ---- encoder ---- */

struct enc_case {
	const char	*in;
	bool		 top;
	uint32_t	 lines;
	const char	*out;		/* with the final ".\r\n" */
};

static const struct enc_case enc_cases[] = {
	{ "", false, 0, ".\r\n" },
	{ "a\n", false, 0, "a\r\n.\r\n" },
	{ "a\r\n", false, 0, "a\r\n.\r\n" },
	{ "a", false, 0, "a\r\n.\r\n" },
	{ "a\r", false, 0, "a\r\n.\r\n" },
	{ "\n\n", false, 0, "\r\n\r\n.\r\n" },
	{ ".\n", false, 0, "..\r\n.\r\n" },
	{ ".", false, 0, "..\r\n.\r\n" },
	{ "a\n.b\n..\n", false, 0, "a\r\n..b\r\n...\r\n.\r\n" },
	{ "a\r\n.\r\nb", false, 0, "a\r\n..\r\nb\r\n.\r\n" },
	{ "x.\n a.\n", false, 0, "x.\r\n a.\r\n.\r\n" },
	{ "a\rb\n", false, 0, "a\rb\r\n.\r\n" },
	{ "a\r\r\n", false, 0, "a\r\r\n.\r\n" },
	{ "\r.a\n", false, 0, "\r.a\r\n.\r\n" },
	/* TOP */
	{ "H: 1\nH: 2\n\nb1\nb2\n", true, 0, "H: 1\r\nH: 2\r\n\r\n.\r\n" },
	{ "H: 1\nH: 2\n\nb1\nb2\n", true, 1,
	  "H: 1\r\nH: 2\r\n\r\nb1\r\n.\r\n" },
	{ "H: 1\nH: 2\n\nb1\nb2\n", true, 2,
	  "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\n.\r\n" },
	{ "H: 1\nH: 2\n\nb1\nb2\n", true, 99,
	  "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\n.\r\n" },
	{ "H: 1\r\n\r\n.b1\r\nb2", true, 5,
	  "H: 1\r\n\r\n..b1\r\nb2\r\n.\r\n" },
	{ "H: 1\nH: 2\n", true, 0, "H: 1\r\nH: 2\r\n.\r\n" },
	{ "H: 1", true, 0, "H: 1\r\n.\r\n" },
	{ "\nbody\n", true, 0, "\r\n.\r\n" },
	{ "H: 1\n\n\n\nx\n", true, 2, "H: 1\r\n\r\n\r\n\r\n.\r\n" },
};

/* The wire octets of in (the store's count): LFs not after CR doubled. */
static uint64_t
wire_size(const char *in, size_t len)
{
	uint64_t n = len;

	for (size_t i = 0; i < len; i++)
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
			n++;
	return n;
}

static void
encode(const struct enc_case *c, size_t split, size_t step, struct buf *out,
    struct pop3_enc *e)
{
	size_t len = strlen(c->in), pos = 0;

	pop3_enc_init(e, c->top, c->lines);
	buf_reset(out);
	if (split > 0) {
		pop3_enc_feed(e, c->in, split, out);
		pos = split;
	}
	while (pos < len) {
		size_t n = step && step < len - pos ? step : len - pos;
		pop3_enc_feed(e, c->in + pos, n, out);
		pos += n;
	}
	pop3_enc_end(e, out);
}

static void
test_encoder(void)
{
	struct buf out;
	struct pop3_enc e;

	buf_init(&out, 0);
	for (size_t i = 0; i < sizeof(enc_cases) / sizeof(enc_cases[0]); i++) {
		const struct enc_case *c = &enc_cases[i];
		size_t len = strlen(c->in);

		encode(c, 0, 0, &out, &e);
		if (strcmp(buf_cstr(&out), c->out) != 0)
			fprintf(stderr, "  enc case %zu\n", i);
		TEST_ASSERT_STREQ(buf_cstr(&out), c->out);
		if (!c->top && len > 0 && (c->in[len - 1] == '\n'))
			TEST_ASSERT(e.octets == wire_size(c->in, len));
		encode(c, 0, 1, &out, &e);
		TEST_ASSERT_STREQ(buf_cstr(&out), c->out);
		for (size_t s = 1; s < len; s++) {
			encode(c, s, 0, &out, &e);
			TEST_ASSERT_STREQ(buf_cstr(&out), c->out);
		}
	}
	buf_free(&out);
}

/* A large message in uneven chunks: the output is the wire form, and
 * removing the stuffing and the terminator gives exactly wire_size. */
static void
test_encoder_large(void)
{
	size_t len = 300000;
	char *msg = malloc(len);
	struct buf out;
	struct pop3_enc e;
	size_t pos = 0, step = 1;
	uint64_t dots = 0;

	TEST_ASSERT(msg != NULL);
	for (size_t i = 0; i < len; i++)
		msg[i] = "ab.\n\r."[(i * 7919 + i / 13) % 6];
	buf_init(&out, 0);
	pop3_enc_init(&e, false, 0);
	while (pos < len) {
		size_t n = step < len - pos ? step : len - pos;
		TEST_ASSERT(!pop3_enc_feed(&e, msg + pos, n, &out));
		pos += n;
		step = step * 3 % 65521 + 1;
	}
	TEST_ASSERT(e.octets == wire_size(msg, len));
	pop3_enc_end(&e, &out);
	/* every line starting with "." got one more */
	for (size_t i = 0; i + 1 < out.len; i++)
		if ((i == 0 || out.data[i - 1] == '\n') && out.data[i] == '.' &&
		    i + 3 != out.len)
			dots++;
	TEST_ASSERT(out.len >= 3 &&
	    memcmp(out.data + out.len - 3, ".\r\n", 3) == 0);
	/* no bare LF on the wire */
	for (size_t i = 0; i < out.len; i++)
		if (out.data[i] == '\n')
			TEST_ASSERT(i > 0 && out.data[i - 1] == '\r');
	TEST_ASSERT(dots > 0);
	buf_free(&out);
	free(msg);
}

int
main(void)
{
	TEST_RUN(test_commands);
	TEST_RUN(test_verb_names);
	TEST_RUN(test_long_lines);
	TEST_RUN(test_encoder);
	TEST_RUN(test_encoder_large);
	return test_done("test-pop3-parser");
}
