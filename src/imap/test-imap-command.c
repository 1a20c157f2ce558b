/*
 * test-imap-command - unit tests of imap_command.c: the argument tree a
 * parsed command gets (nested lists contiguous, in order) and the
 * imap_arg accessors, each refusing the types it does not take. The line
 * grammar and error skipping are tested by test-imap-parser.c.
 *
 * Trust: test code.
 */
#include "imap/test-imap-args.h"

static void
test_tree(void)
{
	const struct imap_command *c;
	const struct imap_arg *l, *l2;
	unsigned n, n2;
	const char *s;
	size_t len;

	c = cmd("a1 X (a (b \"c d\") {1+}\r\ne) NIL ((x))\r\n");
	TEST_ASSERT(c != NULL && c->count == 3);
	TEST_ASSERT(imap_arg_get_list(&c->args[0], &l, &n) && n == 3);
	TEST_ASSERT(imap_arg_atom_equals(&l[0], "A"));
	TEST_ASSERT(imap_arg_get_list(&l[1], &l2, &n2) && n2 == 2);
	TEST_ASSERT(imap_arg_get_atom(&l2[0], &s) && strcmp(s, "b") == 0);
	TEST_ASSERT(imap_arg_get_string(&l2[1], &s, &len) && len == 3 &&
	    strcmp(s, "c d") == 0);
	TEST_ASSERT(imap_arg_get_string(&l[2], &s, &len) && len == 1 &&
	    s[0] == 'e');
	TEST_ASSERT(c->args[1].type == IMAP_ARG_NIL);
	TEST_ASSERT(imap_arg_get_list(&c->args[2], &l, &n) && n == 1);
	TEST_ASSERT(imap_arg_get_list(&l[0], &l2, &n2) && n2 == 1);
	TEST_ASSERT(imap_arg_atom_equals(&l2[0], "x"));
}

static void
test_accessors(void)
{
	const struct imap_command *c;
	const char *s;
	size_t len;

	c = cmd("a2 X atom NIL \"q\" {2+}\r\nli ()\r\n");
	TEST_ASSERT(c != NULL && c->count == 5);
	/* atom */
	TEST_ASSERT(imap_arg_get_atom(&c->args[0], &s) &&
	    strcmp(s, "atom") == 0);
	TEST_ASSERT(!imap_arg_get_atom(&c->args[1], &s));	/* NIL */
	TEST_ASSERT(!imap_arg_get_atom(&c->args[2], &s));	/* quoted */
	/* astring takes atoms, NIL as "NIL", strings and literals */
	TEST_ASSERT(imap_arg_get_astring(&c->args[1], &s, &len) &&
	    strcmp(s, "NIL") == 0 && len == 3);
	TEST_ASSERT(imap_arg_get_astring(&c->args[3], &s, &len) && len == 2);
	TEST_ASSERT(!imap_arg_get_astring(&c->args[4], &s, &len));
	/* string: quoted or literal only */
	TEST_ASSERT(!imap_arg_get_string(&c->args[0], &s, &len));
	TEST_ASSERT(imap_arg_get_string(&c->args[2], &s, &len) && len == 1);
	/* nstring: NIL gives NULL */
	TEST_ASSERT(imap_arg_get_nstring(&c->args[1], &s, &len) && s == NULL);
	TEST_ASSERT(imap_arg_get_nstring(&c->args[3], &s, &len) &&
	    strcmp(s, "li") == 0);
	TEST_ASSERT(!imap_arg_get_nstring(&c->args[0], &s, &len));
	/* atom_equals ignores case, atoms only */
	TEST_ASSERT(imap_arg_atom_equals(&c->args[0], "ATOM"));
	TEST_ASSERT(!imap_arg_atom_equals(&c->args[2], "q"));
}

int
main(void)
{
	TEST_RUN(test_tree);
	TEST_RUN(test_accessors);
	imap_parser_destroy(&parser);
	return test_done("test-imap-command");
}
