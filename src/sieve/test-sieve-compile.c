/* Unit tests for the Sieve compiler (sieve_lex.c, sieve_parse.c,
 * sieve_validate.c, sieve_vcheck.c): the shapes good scripts compile
 * into, and the line and message of bad ones. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sieve/sieve_ast.h"
#include "util/test.h"

static struct sieve_script *
compile(const char *s)
{
	struct sieve_error err;
	struct sieve_script *sc = sieve_compile(s, strlen(s), NULL, &err);

	if (sc == NULL)
		fprintf(stderr, "  compile: line %d: %s\n", err.line, err.msg);
	return sc;
}

/* Does s fail at line with a message containing msg? */
static int
fails(const char *s, int line, const char *msg)
{
	struct sieve_error err;
	struct sieve_script *sc = sieve_compile(s, strlen(s), NULL, &err);

	if (sc != NULL) {
		fprintf(stderr, "  compiled, expected line %d: %s\n", line,
		    msg);
		sieve_script_free(&sc);
		return 0;
	}
	if (err.line != line || strstr(err.msg, msg) == NULL) {
		fprintf(stderr, "  got line %d: %s\n  expected line %d: %s\n",
		    err.line, err.msg, line, msg);
		return 0;
	}
	return 1;
}

static void
test_base(void)
{
	struct sieve_script *sc = compile(
	    "# comment\r\n"
	    "if header :contains \"subject\" \"hi\" { keep; }\n"
	    "elsif address :domain :is [\"from\", \"to\"] \"x.org\" "
	    "{ discard; stop; }\n"
	    "else { redirect \"a@b.c\"; }\n");
	struct sieve_node *n;

	TEST_ASSERT(sc != NULL);
	TEST_ASSERT(sc->ncmds == 3);
	n = &sc->cmds[0];
	TEST_ASSERT(n->id == SIEVE_CMD_IF && n->line == 2 && n->ntests == 1);
	TEST_ASSERT(n->nblock == 1 && n->block[0].id == SIEVE_CMD_KEEP);
	n = &n->tests[0];
	TEST_ASSERT(n->id == SIEVE_TEST_HEADER && n->npos == 2);
	TEST_ASSERT(n->tags.match == SIEVE_MATCH_CONTAINS);
	TEST_ASSERT(n->tags.cmp == SIEVE_CMP_ASCII_CASEMAP);
	TEST_ASSERT(n->pos[0].type == SIEVE_ARG_STRLIST &&
	    n->pos[0].nstr == 1);
	TEST_ASSERT_STREQ(n->pos[0].strs[0], "subject");
	TEST_ASSERT_STREQ(n->pos[1].strs[0], "hi");
	n = &sc->cmds[1].tests[0];
	TEST_ASSERT(n->id == SIEVE_TEST_ADDRESS && n->tags.addrpart ==
	    SIEVE_AP_DOMAIN && n->tags.match == SIEVE_MATCH_IS);
	TEST_ASSERT(n->pos[0].nstr == 2);
	TEST_ASSERT_STREQ(n->pos[0].strs[1], "to");
	TEST_ASSERT(sc->cmds[1].nblock == 2);
	n = &sc->cmds[2];
	TEST_ASSERT(n->id == SIEVE_CMD_ELSE && n->ntests == 0);
	TEST_ASSERT(n->block[0].id == SIEVE_CMD_REDIRECT &&
	    n->block[0].pos[0].type == SIEVE_ARG_STRING);
	sieve_script_free(&sc);
	TEST_ASSERT(sc == NULL);
}

static void
test_lexical(void)
{
	struct sieve_script *sc = compile(
	    "require [\"fileinto\", \"reject\"]; /* a\n bracket\n comment */\n"
	    "if size :over 2K { fileinto \"a\\\\b\\\"c\\d\"; }\n"
	    "if size :under 1g { reject text: # rest of line\n"
	    "..dot\n.x\nlast\n.\n; }\n"
	    "if size :over 18446744073709551615 { stop; }\n"
	    "IF TRUE { KEEP; }\n");
	struct sieve_node *n;

	TEST_ASSERT(sc != NULL);
	TEST_ASSERT(sc->exts == (SIEVE_EXT_FILEINTO | SIEVE_EXT_REJECT));
	n = &sc->cmds[1];
	TEST_ASSERT(n->line == 4 && n->tests[0].pos[0].number == 2048);
	TEST_ASSERT(n->tests[0].tags.over);
	TEST_ASSERT_STREQ(n->block[0].pos[0].strs[0], "a\\b\"cd");
	n = &sc->cmds[2];
	TEST_ASSERT(n->line == 5 && !n->tests[0].tags.over);
	TEST_ASSERT(n->tests[0].pos[0].number == 1024ull * 1024 * 1024);
	TEST_ASSERT_STREQ(n->block[0].pos[0].strs[0], ".dot\r\nx\r\nlast\r\n");
	TEST_ASSERT(sc->cmds[3].line == 11);
	TEST_ASSERT(sc->cmds[3].tests[0].pos[0].number == UINT64_MAX);
	TEST_ASSERT(sc->cmds[4].id == SIEVE_CMD_IF &&
	    sc->cmds[4].block[0].id == SIEVE_CMD_KEEP);
	sieve_script_free(&sc);

	/* the column of a lexical or syntax error */
	{
		struct sieve_error err;

		TEST_ASSERT(sieve_compile("keep;\n  @", 9, NULL, &err) ==
		    NULL && err.line == 2 && err.column == 3);
		TEST_ASSERT(sieve_compile("if true {\r\n\tkeep }", 18, NULL,
		    &err) == NULL && err.line == 2 && err.column == 7);
	}

	/* an empty script, an empty block */
	sc = compile("");
	TEST_ASSERT(sc != NULL && sc->ncmds == 0);
	sieve_script_free(&sc);
	sc = compile("if true {}");
	TEST_ASSERT(sc != NULL && sc->cmds[0].block != NULL &&
	    sc->cmds[0].nblock == 0);
	sieve_script_free(&sc);
}

static void
test_actions(void)
{
	struct sieve_script *sc = compile(
	    "require [\"fileinto\", \"mailbox\", \"copy\", \"imap4flags\","
	    " \"ereject\", \"variables\"];\n"
	    "fileinto :create :copy :flags [\"\\\\Seen\", \"x\"] \"A/B\";\n"
	    "keep :flags \"\\\\Flagged\";\n"
	    "redirect :copy \"Joe <joe@example.org>\";\n"
	    "setflag \"\\\\Seen\";\n"
	    "addflag \"var\" [\"a\", \"b\"];\n"
	    "ereject \"no\";\n"
	    "if hasflag :contains [\"var\", \"1\"] \"a\" { discard; }\n"
	    "if hasflag \"a\" { discard; }\n"
	    "if mailboxexists \"x\" { stop; }\n");
	struct sieve_node *n;

	TEST_ASSERT(sc != NULL);
	n = &sc->cmds[1];
	TEST_ASSERT(n->id == SIEVE_CMD_FILEINTO && n->tags.create &&
	    n->tags.copy && n->tags.has_flags && n->tags.flags.nstr == 2);
	TEST_ASSERT(n->npos == 1 && n->pos[0].type == SIEVE_ARG_STRING);
	TEST_ASSERT_STREQ(n->tags.flags.strs[0], "\\Seen");
	TEST_ASSERT_STREQ(n->pos[0].strs[0], "A/B");
	n = &sc->cmds[2];
	TEST_ASSERT(n->id == SIEVE_CMD_KEEP && n->tags.has_flags &&
	    n->tags.flags.type == SIEVE_ARG_STRLIST && n->npos == 0);
	TEST_ASSERT(sc->cmds[3].tags.copy);
	n = &sc->cmds[4];
	TEST_ASSERT(n->id == SIEVE_CMD_SETFLAG && n->npos == 1 &&
	    n->pos[0].type == SIEVE_ARG_STRLIST);
	n = &sc->cmds[5];
	TEST_ASSERT(n->id == SIEVE_CMD_ADDFLAG && n->npos == 2 &&
	    n->pos[0].type == SIEVE_ARG_STRING && n->pos[1].nstr == 2);
	TEST_ASSERT(sc->cmds[6].id == SIEVE_CMD_EREJECT);
	n = &sc->cmds[7].tests[0];
	TEST_ASSERT(n->id == SIEVE_TEST_HASFLAG && n->npos == 2 &&
	    n->tags.match == SIEVE_MATCH_CONTAINS);
	TEST_ASSERT(sc->cmds[8].tests[0].npos == 1);
	TEST_ASSERT(sc->cmds[9].tests[0].id == SIEVE_TEST_MAILBOXEXISTS);
	sieve_script_free(&sc);
}

static void
test_variables(void)
{
	struct sieve_script *sc = compile(
	    "require [\"variables\", \"relational\", "
	    "\"comparator-i;ascii-numeric\", \"include\"];\n"
	    "set :lower :upperfirst \"name\" \"${x}\";\n"
	    "set :length :quotewildcard \"global.n\" \"v\";\n"
	    "if string :count \"ge\" :comparator \"i;ascii-numeric\" "
	    "[\"${a}\", \"b\"] \"2\" { keep; }\n"
	    "if header :value \"ne\" :comparator \"i;octet\" \"x\" \"y\" "
	    "{ keep; }\n"
	    "global [\"Counter\", \"b\", \"counter\"];\n");
	struct sieve_node *n;

	TEST_ASSERT(sc != NULL);
	n = &sc->cmds[1];
	TEST_ASSERT(n->id == SIEVE_CMD_SET && n->npos == 2);
	TEST_ASSERT(n->tags.modifiers == (SIEVE_MOD_LOWER |
	    SIEVE_MOD_UPPERFIRST));
	TEST_ASSERT_STREQ(n->pos[1].strs[0], "${x}");
	TEST_ASSERT(sc->cmds[2].tags.modifiers == (SIEVE_MOD_LENGTH |
	    SIEVE_MOD_QUOTEWILDCARD));
	n = &sc->cmds[3].tests[0];
	TEST_ASSERT(n->id == SIEVE_TEST_STRING && n->tags.match ==
	    SIEVE_MATCH_COUNT && n->tags.rel == SIEVE_REL_GE &&
	    n->tags.cmp == SIEVE_CMP_ASCII_NUMERIC);
	n = &sc->cmds[4].tests[0];
	TEST_ASSERT(n->tags.match == SIEVE_MATCH_VALUE &&
	    n->tags.rel == SIEVE_REL_NE && n->tags.cmp == SIEVE_CMP_OCTET);
	TEST_ASSERT(sc->nglobals == 2);
	TEST_ASSERT_STREQ(sc->globals[0], "counter");
	TEST_ASSERT_STREQ(sc->globals[1], "b");
	sieve_script_free(&sc);
}

static void
test_tests(void)
{
	struct sieve_script *sc = compile(
	    "require [\"envelope\", \"subaddress\", \"body\", \"date\", "
	    "\"index\"];\n"
	    "if allof (envelope :user \"to\" \"me\", "
	    "address :detail \"from\" \"x\",\n"
	    "  not exists [\"x\", \"y\"], anyof (true, false)) { keep; }\n"
	    "if body :content [\"text\", \"image/png\"] :contains \"x\" "
	    "{ keep; }\n"
	    "if body :raw \"x\" { keep; }\n"
	    "if date :zone \"+0100\" :index 2 :last \"received\" \"year\" "
	    "\"2026\" { keep; }\n"
	    "if currentdate :zone \"-0500\" :matches \"hour\" \"1*\" "
	    "{ keep; }\n"
	    "if date :originalzone \"date\" \"weekday\" \"0\" { keep; }\n"
	    "if header :index 1 :matches \"subject\" \"*\" { keep; }\n");
	struct sieve_node *n;

	TEST_ASSERT(sc != NULL);
	n = &sc->cmds[1].tests[0];
	TEST_ASSERT(n->id == SIEVE_TEST_ALLOF && n->ntests == 4);
	TEST_ASSERT(n->tests[0].id == SIEVE_TEST_ENVELOPE &&
	    n->tests[0].tags.addrpart == SIEVE_AP_USER);
	TEST_ASSERT(n->tests[1].id == SIEVE_TEST_ADDRESS);
	TEST_ASSERT(n->tests[2].id == SIEVE_TEST_NOT &&
	    n->tests[2].tests[0].id == SIEVE_TEST_EXISTS &&
	    n->tests[2].tests[0].pos[0].nstr == 2);
	TEST_ASSERT(n->tests[3].id == SIEVE_TEST_ANYOF &&
	    n->tests[3].ntests == 2);
	n = &sc->cmds[2].tests[0];
	TEST_ASSERT(n->id == SIEVE_TEST_BODY && n->tags.body ==
	    SIEVE_BODY_CONTENT && n->tags.content.nstr == 2 &&
	    n->tags.match == SIEVE_MATCH_CONTAINS && n->npos == 1);
	TEST_ASSERT(sc->cmds[3].tests[0].tags.body == SIEVE_BODY_RAW);
	n = &sc->cmds[4].tests[0];
	TEST_ASSERT(n->id == SIEVE_TEST_DATE && n->npos == 3 &&
	    n->tags.index == 2 && n->tags.last);
	TEST_ASSERT_STREQ(n->tags.zone, "+0100");
	TEST_ASSERT(n->pos[0].type == SIEVE_ARG_STRING &&
	    n->pos[2].type == SIEVE_ARG_STRLIST);
	n = &sc->cmds[5].tests[0];
	TEST_ASSERT(n->id == SIEVE_TEST_CURRENTDATE && n->npos == 2);
	TEST_ASSERT_STREQ(n->tags.zone, "-0500");
	TEST_ASSERT(sc->cmds[6].tests[0].tags.originalzone &&
	    sc->cmds[6].tests[0].tags.zone == NULL);
	TEST_ASSERT(sc->cmds[7].tests[0].tags.index == 1 &&
	    !sc->cmds[7].tests[0].tags.last);
	sieve_script_free(&sc);
}

static void
test_extensions(void)
{
	struct sieve_script *sc = compile(
	    "require [\"editheader\", \"duplicate\", \"vacation\", "
	    "\"include\", \"encoded-character\", \"fileinto\"];\n"
	    "addheader :last \"X-Tag\" \"yes\";\n"
	    "deleteheader :index 1 :last :contains \"X-Spam\" "
	    "[\"a\", \"b\"];\n"
	    /* protected: compiles, ignored at run time (RFC 5293 6) */
	    "deleteheader \"Received\";\n"
	    "if duplicate :handle \"h\" :header \"message-id\" :seconds 60 "
	    ":last { discard; }\n"
	    "vacation :days 0 :subject \"away\" :from \"me@x.org\" "
	    ":addresses [\"a@x.org\", \"b@x.org\"] :mime :handle \"v\" "
	    "\"reason\";\n"
	    "include :global :once :optional \"common\";\n"
	    "return;\n"
	    "fileinto \"${hex:41 42}${unicode:263a}${x}${hex:4142}\";\n");
	struct sieve_node *n;

	TEST_ASSERT(sc != NULL);
	n = &sc->cmds[1];
	TEST_ASSERT(n->id == SIEVE_CMD_ADDHEADER && n->tags.last &&
	    n->npos == 2);
	n = &sc->cmds[2];
	TEST_ASSERT(n->id == SIEVE_CMD_DELETEHEADER && n->tags.index == 1 &&
	    n->tags.last && n->npos == 2 && n->pos[1].nstr == 2 &&
	    n->tags.match == SIEVE_MATCH_CONTAINS);
	TEST_ASSERT(sc->cmds[3].npos == 1);
	n = &sc->cmds[4].tests[0];
	TEST_ASSERT(n->id == SIEVE_TEST_DUPLICATE && n->tags.last &&
	    n->tags.has_period && n->tags.seconds == 60);
	TEST_ASSERT_STREQ(n->tags.handle, "h");
	TEST_ASSERT_STREQ(n->tags.header, "message-id");
	n = &sc->cmds[5];
	TEST_ASSERT(n->id == SIEVE_CMD_VACATION && n->tags.seconds == 86400 &&
	    n->tags.mime && n->tags.addresses.nstr == 2);
	TEST_ASSERT_STREQ(n->tags.subject, "away");
	TEST_ASSERT_STREQ(n->tags.from, "me@x.org");
	TEST_ASSERT_STREQ(n->pos[0].strs[0], "reason");
	n = &sc->cmds[6];
	TEST_ASSERT(n->id == SIEVE_CMD_INCLUDE && n->tags.global &&
	    n->tags.once && n->tags.optional);
	TEST_ASSERT(sc->cmds[7].id == SIEVE_CMD_RETURN);
	TEST_ASSERT_STREQ(sc->cmds[8].pos[0].strs[0],
	    "AB\xe2\x98\xba${x}${hex:4142}");
	sieve_script_free(&sc);

	/* without the require the references stay as they are */
	sc = compile("require \"fileinto\"; fileinto \"${hex:41}\";");
	TEST_ASSERT(sc != NULL);
	TEST_ASSERT_STREQ(sc->cmds[1].pos[0].strs[0], "${hex:41}");
	sieve_script_free(&sc);
	sc = compile("require \"vacation-seconds\";\n"
	    "vacation :seconds 0 \"r\";\n");
	TEST_ASSERT(sc != NULL && sc->cmds[1].tags.has_period &&
	    sc->cmds[1].tags.seconds == 0);
	TEST_ASSERT(sc->exts & SIEVE_EXT_VACATION);
	sieve_script_free(&sc);
}

static void
test_limits(void)
{
	struct sieve_limits l;
	struct sieve_error err;
	struct sieve_script *sc;
	char deep[400] = "";
	char big[100];

	sieve_limits_default(&l);
	TEST_ASSERT(l.max_nesting == 32 && l.max_commands == 10000);
	for (int i = 0; i < 33; i++)
		strcat(deep, "if true {");
	TEST_ASSERT(fails(deep, 1, "nested deeper than 32"));
	l.max_nesting = 2;
	sc = sieve_compile("if not true {}", 14, &l, &err);
	TEST_ASSERT(sc != NULL);
	sieve_script_free(&sc);
	sc = sieve_compile("if not not true {}", 18, &l, &err);
	TEST_ASSERT(sc == NULL && strstr(err.msg, "nested") != NULL);
	l.max_commands = 3;
	sc = sieve_compile("keep;\nkeep;\nkeep;\nkeep;", 23, &l, &err);
	TEST_ASSERT(sc == NULL && err.line == 4 &&
	    strstr(err.msg, "more than 3 commands") != NULL);
	l.max_string = 5;
	sc = sieve_compile("redirect\n\"a@b.cd\";", 18, &l, &err);
	TEST_ASSERT(sc == NULL && err.line == 2 && strstr(err.msg,
	    "longer than 5") != NULL);
	sc = sieve_compile("redirect \"a@b.c\";", 17, &l, &err);
	TEST_ASSERT(sc != NULL);
	sieve_script_free(&sc);
	sieve_limits_default(&l);
	l.max_variables = 2;
	snprintf(big, sizeof(big), "require [\"include\", \"variables\"];\n"
	    "global [\"a\", \"A\"];\nglobal [\"b\", \"c\"];");
	sc = sieve_compile(big, strlen(big), &l, &err);
	TEST_ASSERT(sc == NULL && err.line == 3 &&
	    strstr(err.msg, "more than 2 variables") != NULL);
	l.max_script_size = 10;
	snprintf(big, sizeof(big), "keep; keep;");
	sc = sieve_compile(big, strlen(big), &l, &err);
	TEST_ASSERT(sc == NULL && strstr(err.msg, "larger than 10") != NULL);
	/* a NUL in a string is refused, one in a comment is not */
	sc = sieve_compile("keep; # \0\n", 10, NULL, &err);
	TEST_ASSERT(sc != NULL);
	sieve_script_free(&sc);
	TEST_ASSERT(sieve_compile("redirect \"a\0@b.c\";", 18, NULL,
	    &err) == NULL && strstr(err.msg, "NUL") != NULL);
}

/* The first error: its line and (part of) its message. */
static const struct {
	const char *script;
	int line;
	const char *msg;
} bad[] = {
	/* lexical */
	{ "keep;\n\nkeep\n", 4, "expected ';' after command 'keep'" },
	{ "keep\nkeep;\n", 1, "expected ';' after command 'keep'" },
	{ "if size :over 99999999999999999999 {}", 1, "exceeds integer" },
	{ "if size :over 17179869184G {}", 1, "exceeds integer" },
	{ "if size :over 10X {}", 1, "after number" },
	{ "keep;\n/* open\ncomment", 2, "unterminated comment" },
	{ "redirect \"a@b.c;\n\n", 1, "unterminated string" },
	{ "require \"reject\";\nreject text:\nline\n", 2,
	    "unterminated multi-line" },
	{ "require \"reject\";\nreject text: x\n.\n;", 2,
	    "end of line after 'text:'" },
	{ "keep;\n: foo;", 2, "tag name after ':'" },
	{ "keep;\n@", 2, "unexpected character '@'" },
	{ "keep \x01;", 1, "unexpected character 0x01" },
	/* generic grammar */
	{ "\"x\";", 1, "expected a command, found string" },
	{ "keep;}", 1, "expected a command, found '}'" },
	{ "if true {\n keep;\n", 3, "expected '}'" },
	{ "if anyof (true false) {}", 1, "test 'true' takes no sub-test" },
	{ "if anyof (true, false {}", 1, "',' or ')'" },
	{ "if anyof () {}", 1, "a test in the test list" },
	{ "if header [\"a\" \"b\"] \"c\" {}", 1, "',' or ']'" },
	{ "if header [] \"c\" {}", 1, "a string in the list" },
	/* commands, tests, their shapes */
	{ "foo;", 1, "unknown command 'foo'" },
	{ "if foo {}", 1, "unknown test 'foo'" },
	{ "keep {}", 1, "command 'keep' takes no block" },
	{ "if true;", 1, "command 'if' needs a block" },
	{ "if {}", 1, "command 'if' needs a test" },
	{ "if (true) {}", 1, "takes one test, not a list" },
	{ "if anyof true {}", 1, "needs a list of tests" },
	{ "if not (true) {}", 1, "takes one test, not a list" },
	{ "if exists \"a\" true {}", 1, "test 'exists' takes no sub-test" },
	{ "keep;\nelsif true {}", 2, "'elsif' without a preceding 'if'" },
	{ "if true {} keep; else {}", 1, "'else' without" },
	{ "if true {} else true {}", 1, "command 'else' takes no test" },
	{ "if true {} else {} elsif true {}", 1, "'elsif' without" },
	{ "keep;\nrequire \"fileinto\";", 2, "require must come before" },
	{ "if true { require \"fileinto\"; }", 1, "require must come" },
	{ "require \"fileinto2\";", 1, "unknown extension \"fileinto2\"" },
	{ "require 5;", 1, "must be a string list, found a number" },
	{ "redirect;", 1, "takes 1 argument, found 0" },
	{ "redirect \"a@b.c\" \"d@e.f\";", 1, "takes 1 argument, found 2" },
	{ "redirect [\"a@b.c\"];", 1, "must be a string, found a string list" },
	{ "redirect \"foo\";", 1, "invalid address \"foo\"" },
	{ "if size 10 {}", 1, "needs :over or :under" },
	{ "if size :over :under 10 {}", 1, "':under' conflicts with ':over'" },
	{ "if size :over \"10\" {}", 1, "must be a number" },
	{ "keep :foo;", 1, "command 'keep' has no tag ':foo'" },
	{ "if header :is :is \"a\" \"b\" {}", 1, "':is' given twice" },
	{ "if header :is :contains \"a\" \"b\" {}", 1,
	    "':contains' conflicts with ':is'" },
	{ "if header \"a\" :is \"b\" {}", 1, "after positional" },
	{ "if header :comparator {}", 1, "':comparator' needs an argument" },
	{ "if header :comparator \"i;foo\" \"a\" \"b\" {}", 1,
	    "unknown comparator \"i;foo\"" },
	{ "if header :comparator \"i;ascii-numeric\" \"a\" \"b\" {}", 1,
	    "require \"comparator-i;ascii-numeric\"" },
	{ "require \"comparator-i;ascii-numeric\";\nif header :matches "
	    ":comparator \"i;ascii-numeric\" \"a\" \"b\" {}", 2,
	    "does not support :matches" },
	{ "if address \"subject\" \"x\" {}", 1, "does not hold addresses" },
	{ "if address \"Return-Path\" \"x\" {}", 1, "does not hold addr" },
	/* extensions not required, their own rules */
	{ "fileinto \"x\";", 1, "missing require \"fileinto\"" },
	{ "require \"fileinto\";\nfileinto :create \"x\";", 2,
	    "':create' needs require \"mailbox\"" },
	{ "redirect :copy \"a@b.c\";", 1, "needs require \"copy\"" },
	{ "if header :count \"ge\" \"a\" \"1\" {}", 1,
	    "needs require \"relational\"" },
	{ "require \"relational\";\nif header :value \"xx\" \"a\" \"b\" {}",
	    2, "invalid relational operator \"xx\"" },
	{ "if address :user \"to\" \"x\" {}", 1,
	    "needs require \"subaddress\"" },
	{ "if header :index 1 \"a\" \"b\" {}", 1, "needs require \"index\"" },
	{ "require \"index\";\nif header :last \"a\" \"b\" {}", 2,
	    "':last' needs ':index'" },
	{ "require \"index\";\nif header :index 0 \"a\" \"b\" {}", 2,
	    ":index 0 is out of range" },
	{ "require \"envelope\";\nif envelope \"x\" \"y\" {}", 2,
	    "unknown envelope part \"x\"" },
	{ "require \"variables\";\nset \"1\" \"x\";", 2,
	    "invalid variable name \"1\"" },
	{ "require \"variables\";\nset :lower :upper \"a\" \"x\";", 2,
	    "':upper' conflicts with ':lower'" },
	{ "require \"variables\";\nset \"a\";", 2, "takes 2 arguments" },
	{ "require \"imap4flags\";\nsetflag \"a\" \"b\";", 2,
	    "needs require \"variables\"" },
	{ "require [\"imap4flags\", \"variables\"];\nsetflag \"a b\" \"b\";",
	    2, "invalid variable name \"a b\"" },
	{ "require \"imap4flags\";\nsetflag \"a\" \"b\" \"c\";", 2,
	    "takes 1 or 2 arguments, found 3" },
	{ "require \"date\";\nif currentdate :originalzone \"year\" \"x\" {}",
	    2, "has no tag ':originalzone'" },
	{ "require \"date\";\nif date :zone \"+0100\" :originalzone \"date\" "
	    "\"year\" \"x\" {}", 2, "conflicts with ':zone'" },
	{ "require \"body\";\nif body :raw :text \"x\" {}", 2,
	    "':text' conflicts with ':raw'" },
	{ "require \"editheader\";\naddheader \"a b\" \"x\";", 2,
	    "invalid header field name \"a b\"" },
	{ "require \"editheader\";\naddheader \"x:\" \"x\";", 2,
	    "invalid header field name" },
	{ "require \"editheader\";\naddheader \"x\" \"a\nBcc: b\";", 2,
	    "line break" },
	{ "require \"editheader\";\ndeleteheader :last \"x\";", 2,
	    "':last' needs ':index'" },
	{ "require \"duplicate\";\nif duplicate :header \"a\" :uniqueid \"b\" "
	    "{}", 2, "':uniqueid' conflicts with ':header'" },
	{ "require \"vacation\";\nvacation :seconds 10 \"r\";", 2,
	    "needs require \"vacation-seconds\"" },
	{ "require \"vacation-seconds\";\nvacation :days 1 :seconds 10 "
	    "\"r\";", 2, "':seconds' conflicts with ':days'" },
	{ "require \"vacation\";\nvacation :days \"1\" \"r\";", 2,
	    "':days' needs a number argument, found a string" },
	{ "require \"vacation\";\nvacation :from \"nobody\" \"r\";", 2,
	    "invalid :from address" },
	{ "require \"include\";\ninclude \"a/b\";", 2,
	    "invalid script name \"a/b\"" },
	{ "require \"include\";\ninclude :personal :global \"a\";", 2,
	    "':global' conflicts with ':personal'" },
	{ "require \"include\";\nglobal \"x\";", 2,
	    "global needs require \"variables\"" },
	{ "require [\"include\", \"variables\"];\nglobal \"a-b\";", 2,
	    "invalid variable name" },
	{ "require [\"include\", \"variables\"];\nglobal \"global.x\";", 2,
	    "invalid variable name" },
	{ "require [\"imap4flags\", \"variables\"];\nsetflag \"1\" \"x\";",
	    2, "invalid variable name \"1\"" },
	{ "require \"encoded-character\";\nkeep;\nif header \"a\" "
	    "\"${unicode:D800}\" {}", 3, "outside Unicode" },
	{ "require [\"encoded-character\", \"fileinto\"];\n"
	    "fileinto \"${hex:00}\";", 2, "NUL" },
	{ "require \"fileinto\";\nfileinto \"\";", 2, "invalid mailbox" },
	{ "require \"fileinto\";\nfileinto \"\xff\";", 2, "invalid mailbox" },
};

static void
test_errors(void)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!fails(bad[i].script, bad[i].line, bad[i].msg)) {
			fprintf(stderr, "  case %zu: %s\n", i, bad[i].script);
			TEST_ASSERT(0);
		}
	}
}

int
main(void)
{
	TEST_RUN(test_base);
	TEST_RUN(test_lexical);
	TEST_RUN(test_actions);
	TEST_RUN(test_variables);
	TEST_RUN(test_tests);
	TEST_RUN(test_extensions);
	TEST_RUN(test_limits);
	TEST_RUN(test_errors);
	return test_done("test-sieve-compile");
}
