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
		fprintf(stderr, "  compiled, expected line %d: %s\n", line, msg);
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
test_errors(void)
{
	TEST_ASSERT(fails("keep;\n\nkeep\n", 4, "expected ';' after command "
	    "'keep'"));
	TEST_ASSERT(fails("keep\nkeep;\n", 1, "expected ';' after command "
	    "'keep'"));
	TEST_ASSERT(fails("fileinto \"x\";", 1, "missing require "
	    "\"fileinto\""));
	TEST_ASSERT(fails("foo;", 1, "unknown command 'foo'"));
}

int
main(void)
{
	TEST_RUN(test_base);
	TEST_RUN(test_errors);
	return test_done("test-sieve-compile");
}
