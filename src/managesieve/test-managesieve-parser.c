/*
 * test-managesieve-parser - the ManageSieve command grammar: every verb's
 * arguments, quoted strings and both literal forms, partial input (MORE
 * and its need), limits and the errors' recovery (used, skip), and the
 * quoting of response strings; the SIEVE capability against the compiler.
 */
#include <stdlib.h>
#include <string.h>

#include "managesieve/managesieve_parser.h"
#include "managesieve/managesieve_session.h"
#include "sieve/sieve.h"
#include "util/test.h"
#include "util/xmalloc.h"

static enum ms_parse_result
parse(const char *in, struct ms_command *cmd, struct ms_parse_res *res)
{
	return ms_parse(in, strlen(in), MS_MODE_COMMAND, cmd, res);
}

static void
test_verbs(void)
{
	struct ms_command cmd;
	struct ms_parse_res res;

	TEST_ASSERT(parse("capability\r\n", &cmd, &res) == MS_PARSE_DONE);
	TEST_ASSERT(cmd.verb == MS_CAPABILITY && cmd.nargs == 0);
	TEST_ASSERT(res.used == 12);
	TEST_ASSERT(parse("Logout\n", &cmd, &res) == MS_PARSE_DONE);
	TEST_ASSERT(cmd.verb == MS_LOGOUT && res.used == 7);
	TEST_ASSERT(parse("HAVESPACE \"a b\" 4096\r\n", &cmd, &res) ==
	    MS_PARSE_DONE);
	TEST_ASSERT(cmd.verb == MS_HAVESPACE && cmd.nargs == 2);
	TEST_ASSERT_STREQ(cmd.args[0].s, "a b");
	TEST_ASSERT(cmd.args[1].number && cmd.args[1].num == 4096);
	ms_command_free(&cmd);
	TEST_ASSERT(parse("NOOP\r\n", &cmd, &res) == MS_PARSE_DONE &&
	    cmd.nargs == 0);
	TEST_ASSERT(parse("NOOP \"t\\\"g\\\\\"\r\n", &cmd, &res) ==
	    MS_PARSE_DONE && cmd.nargs == 1);
	TEST_ASSERT_STREQ(cmd.args[0].s, "t\"g\\");
	ms_command_free(&cmd);
	TEST_ASSERT(parse("AUTHENTICATE \"PLAIN\" \"AGEAYg==\"\r\n", &cmd,
	    &res) == MS_PARSE_DONE && cmd.nargs == 2);
	TEST_ASSERT_STREQ(cmd.args[1].s, "AGEAYg==");
	ms_command_free(&cmd);
	TEST_ASSERT(parse("RENAMESCRIPT \"a\" {1+}\r\nb\r\n", &cmd, &res) ==
	    MS_PARSE_DONE);
	TEST_ASSERT_STREQ(cmd.args[1].s, "b");
	ms_command_free(&cmd);
	TEST_ASSERT(ms_parse("\"AGEAYg==\"\r\n", 12, MS_MODE_SASL, &cmd,
	    &res) == MS_PARSE_DONE && cmd.verb == MS_SASL_RESPONSE);
	TEST_ASSERT_STREQ(cmd.args[0].s, "AGEAYg==");
	ms_command_free(&cmd);
}

static void
test_literals(void)
{
	const char *in = "PUTSCRIPT \"s\" {12+}\r\nkeep;\r\nstop;\r\n"
	    "NOOP\r\n";
	struct ms_command cmd;
	struct ms_parse_res res;
	size_t len = strlen(in);

	/* Every cut point asks for more, never fails. */
	for (size_t n = 0; n < len - 6; n++) {
		TEST_ASSERT(ms_parse(in, n, MS_MODE_COMMAND, &cmd, &res) ==
		    MS_PARSE_MORE);
		TEST_ASSERT(res.need > n);
	}
	/* Inside the literal it knows where the literal ends. */
	TEST_ASSERT(ms_parse(in, 24, MS_MODE_COMMAND, &cmd, &res) ==
	    MS_PARSE_MORE && res.need == 21 + 12);
	TEST_ASSERT(ms_parse(in, len, MS_MODE_COMMAND, &cmd, &res) ==
	    MS_PARSE_DONE);
	TEST_ASSERT(cmd.verb == MS_PUTSCRIPT && cmd.args[1].len == 12);
	TEST_ASSERT(memcmp(cmd.args[1].s, "keep;\r\nstop;", 12) == 0);
	TEST_ASSERT(res.used == len - 6);
	ms_command_free(&cmd);
	/* Synchronising literal, NUL inside. */
	TEST_ASSERT(ms_parse("CHECKSCRIPT {3}\r\na\0b\r\n", 22,
	    MS_MODE_COMMAND, &cmd, &res) == MS_PARSE_DONE);
	TEST_ASSERT(cmd.args[0].len == 3 && cmd.args[0].s[1] == '\0');
	ms_command_free(&cmd);
	/* Too big: dropped, not held. */
	TEST_ASSERT(parse("PUTSCRIPT \"s\" {2000000+}\r\nkeep;", &cmd,
	    &res) == MS_PARSE_ERROR);
	TEST_ASSERT(res.error == MS_ERR_TOO_BIG && res.skip == 2000000);
	TEST_ASSERT(res.verb_known && res.verb == MS_PUTSCRIPT);
	TEST_ASSERT(res.used == 26);
	TEST_ASSERT(parse("AUTHENTICATE \"PLAIN\" {20000+}\r\n", &cmd,
	    &res) == MS_PARSE_ERROR && res.error == MS_ERR_TOO_BIG);
	/* Before login no literal is bigger than a SASL response. */
	TEST_ASSERT(ms_parse("PUTSCRIPT \"s\" {20000+}\r\n", 24,
	    MS_MODE_LOGIN, &cmd, &res) == MS_PARSE_ERROR &&
	    res.error == MS_ERR_TOO_BIG && res.skip == 20000);
	TEST_ASSERT(ms_parse("NOOP {5+}\r\nabcde\r\n", 18, MS_MODE_LOGIN,
	    &cmd, &res) == MS_PARSE_DONE && cmd.verb == MS_NOOP);
	ms_command_free(&cmd);
	TEST_ASSERT(parse("GETSCRIPT {99999999999+}\r\n", &cmd, &res) ==
	    MS_PARSE_ERROR && res.error == MS_ERR_SYNTAX);
	TEST_ASSERT(parse("GETSCRIPT {+}\r\n", &cmd, &res) ==
	    MS_PARSE_ERROR);
	TEST_ASSERT(parse("GETSCRIPT {1+}x\r\n", &cmd, &res) ==
	    MS_PARSE_ERROR);
}

static void
test_errors(void)
{
	struct ms_command cmd;
	struct ms_parse_res res;
	char *big;

	TEST_ASSERT(parse("FROB\r\n", &cmd, &res) == MS_PARSE_ERROR);
	TEST_ASSERT(res.error == MS_ERR_UNKNOWN && res.used == 4);
	TEST_ASSERT(parse("GETSCRIPT\r\n", &cmd, &res) == MS_PARSE_ERROR);
	TEST_ASSERT(res.error == MS_ERR_SYNTAX && res.verb == MS_GETSCRIPT);
	TEST_ASSERT(parse("GETSCRIPT a\r\n", &cmd, &res) == MS_PARSE_ERROR);
	TEST_ASSERT(parse("GETSCRIPT \"a\" \"b\"\r\n", &cmd, &res) ==
	    MS_PARSE_ERROR);
	TEST_ASSERT(parse("LOGOUT x\r\n", &cmd, &res) == MS_PARSE_ERROR);
	TEST_ASSERT(parse("HAVESPACE \"a\" 4294967296\r\n", &cmd, &res) ==
	    MS_PARSE_ERROR);
	TEST_ASSERT(parse("HAVESPACE \"a\" 4294967295\r\n", &cmd, &res) ==
	    MS_PARSE_DONE && cmd.args[1].num == 4294967295u);
	ms_command_free(&cmd);
	TEST_ASSERT(parse("GETSCRIPT \"a\nb\"\r\n", &cmd, &res) ==
	    MS_PARSE_ERROR && res.used == 12);
	TEST_ASSERT(parse("GETSCRIPT \"a\\nb\"\r\n", &cmd, &res) ==
	    MS_PARSE_ERROR);
	/* A line without end: more until MS_LINE_MAX, then an error. */
	big = xmalloc(MS_LINE_MAX + 100);
	memcpy(big, "NOOP \"", 6);
	memset(big + 6, 'x', MS_LINE_MAX + 90);
	TEST_ASSERT(ms_parse(big, 1100, MS_MODE_COMMAND, &cmd, &res) ==
	    MS_PARSE_ERROR);	/* quoted over MS_QUOTED_MAX */
	memset(big, 'x', MS_LINE_MAX + 100);
	TEST_ASSERT(ms_parse(big, 40, MS_MODE_COMMAND, &cmd, &res) ==
	    MS_PARSE_ERROR && res.error == MS_ERR_UNKNOWN);
	memcpy(big, "NOOP {1+}\r\nx", 12);
	TEST_ASSERT(ms_parse(big, MS_LINE_MAX + 100, MS_MODE_COMMAND, &cmd,
	    &res) == MS_PARSE_ERROR);
	free(big);
}

static void
test_put_string(void)
{
	struct buf b;

	buf_init(&b, 0);
	ms_put_string(&b, "a\"b\\", 4);
	TEST_ASSERT(b.len == 8 && memcmp(b.data, "\"a\\\"b\\\\\"", 8) == 0);
	buf_reset(&b);
	ms_put_string(&b, "x\r\ny", 4);
	TEST_ASSERT(b.len == 9 && memcmp(b.data, "{4}\r\nx\r\ny", 9) == 0);
	buf_free(&b);
}

/* The SIEVE capability names what the compiler takes in require. */
static void
test_capability_extensions(void)
{
	char *list = xstrdup(MS_SIEVE_EXTENSIONS), *save = NULL, *text;
	struct sieve_error err;
	struct sieve_script *sc;
	unsigned n = 0;

	for (char *e = strtok_r(list, " ", &save); e != NULL;
	    e = strtok_r(NULL, " ", &save), n++) {
		text = xasprintf("require \"%s\";", e);
		sc = sieve_compile(text, strlen(text), NULL, &err);
		free(text);
		if (sc == NULL)
			free(list);
		TEST_ASSERT(sc != NULL);
		sieve_script_free(&sc);
	}
	free(list);
	TEST_ASSERT(n == 22);
	text = xstrdup("require \"enotify\";");	/* NOTIFY: not offered */
	sc = sieve_compile(text, strlen(text), NULL, &err);
	free(text);
	TEST_ASSERT(sc == NULL);
}

int
main(void)
{
	TEST_RUN(test_verbs);
	TEST_RUN(test_literals);
	TEST_RUN(test_errors);
	TEST_RUN(test_put_string);
	TEST_RUN(test_capability_extensions);
	return test_done("test-managesieve-parser");
}
