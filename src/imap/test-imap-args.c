/*
 * test-imap-args - unit tests for numbers, flags and the small grammars (STORE, STATUS, LIST,
 * SELECT/EXAMINE, APPEND) of imap_args.c.
 * Commands go through imap_parser first (test-imap-args.h).
 *
 * Trust: test code.
 */
#include "imap/test-imap-args.h"

static void
test_numbers(void)
{
	uint32_t n;
	uint64_t n64;

	TEST_ASSERT(imap_parse_number32("0", false, &n) == 0 && n == 0);
	TEST_ASSERT(imap_parse_number32("007", false, &n) == 0 && n == 7);
	TEST_ASSERT(imap_parse_number32("4294967295", true, &n) == 0 &&
	    n == UINT32_MAX);
	TEST_ASSERT(imap_parse_number32("4294967296", false, &n) < 0);
	TEST_ASSERT(imap_parse_number32("0", true, &n) < 0);
	TEST_ASSERT(imap_parse_number32("01", true, &n) < 0);
	TEST_ASSERT(imap_parse_number32("", false, &n) < 0);
	TEST_ASSERT(imap_parse_number32("1a", false, &n) < 0);
	TEST_ASSERT(imap_parse_number32("-1", false, &n) < 0);
	TEST_ASSERT(imap_parse_number64("9223372036854775807", &n64) == 0 &&
	    n64 == INT64_MAX);
	TEST_ASSERT(imap_parse_number64("9223372036854775808", &n64) < 0);
	TEST_ASSERT(imap_parse_number64("99999999999999999999999", &n64) < 0);
	TEST_ASSERT(imap_parse_number64("0", &n64) == 0 && n64 == 0);
}

/* ------------------------------------------------------------------ */

static void
test_flags(void)
{
	const struct imap_command *c;
	struct imap_flags f;
	const char *error;

	c = cmd("a X \\Seen \\answered \\FLAGGED \\Deleted \\Draft $Junk "
	    "$junk Work\r\n");
	TEST_ASSERT(c != NULL);
	TEST_ASSERT(imap_args_parse_flags(c->args, c->count, &f, &error) ==
	    0);
	TEST_ASSERT(f.system == (IMAP_FLAG_SEEN | IMAP_FLAG_ANSWERED |
	    IMAP_FLAG_FLAGGED | IMAP_FLAG_DELETED | IMAP_FLAG_DRAFT));
	TEST_ASSERT(f.keyword_count == 2);
	TEST_ASSERT_STREQ(f.keywords[0], "$Junk");
	TEST_ASSERT_STREQ(f.keywords[1], "Work");
	imap_flags_free(&f);
	TEST_ASSERT(f.keywords == NULL && f.keyword_count == 0);

	c = cmd("a X \\Recent\r\n");
	TEST_ASSERT(imap_args_parse_flags(c->args, c->count, &f, &error) < 0);
	c = cmd("a X \\Foo\r\n");
	TEST_ASSERT(imap_args_parse_flags(c->args, c->count, &f, &error) < 0);
	c = cmd("a X ok \"quoted\"\r\n");
	TEST_ASSERT(imap_args_parse_flags(c->args, c->count, &f, &error) < 0);
	TEST_ASSERT(f.keywords == NULL);
	c = cmd("a X a]b\r\n");
	TEST_ASSERT(imap_args_parse_flags(c->args, c->count, &f, &error) < 0);
	c = cmd("a X a%b\r\n");
	TEST_ASSERT(imap_args_parse_flags(c->args, c->count, &f, &error) < 0);
	c = cmd("a X (x)\r\n");
	TEST_ASSERT(imap_args_parse_flags(c->args, c->count, &f, &error) < 0);
	TEST_ASSERT(imap_keyword_valid("$Forwarded"));
	TEST_ASSERT(!imap_keyword_valid(""));
	TEST_ASSERT(!imap_keyword_valid("a\\b"));
}

/* ------------------------------------------------------------------ */
/* ------------------------------------------------------------------ */
/* STORE, STATUS, LIST, SELECT, APPEND */

static void
test_store(void)
{
	const struct imap_command *c;
	struct imap_store st;
	const char *error;
	static const char *const bad[] = {
		"1 FLAGS", "1 +FLAGS", "FLAGS (x)", "1 XFLAGS (x)",
		"1 +FLAGS.LOUD (x)", "1 *FLAGS (x)", "1 FLAGS (x) y",
		"1 FLAGS \\Recent", "1 (UNCHANGEDSINCE) FLAGS x",
		"1 (UNCHANGEDSINCE x) FLAGS x", "1 (FOO 1) FLAGS x",
		"1 (UNCHANGEDSINCE 1) FLAGS", "1 \"FLAGS\" x", "1 FLAGS (x",
	};
	char *line;
	size_t i;

	c = cmd("a STORE 1:3 +FLAGS.SILENT (\\Seen $Junk)\r\n");
	TEST_ASSERT(imap_args_parse_store(c->args, c->count, &st, &error) ==
	    0);
	TEST_ASSERT(st.op == IMAP_STORE_ADD && st.silent &&
	    st.flags.system == IMAP_FLAG_SEEN && st.flags.keyword_count == 1);
	TEST_ASSERT(!st.unchangedsince_given && st.set.count == 1);
	imap_store_free(&st);

	c = cmd("a UID STORE 5 (UNCHANGEDSINCE 320162338) -flags \\Deleted "
	    "x\r\n");
	TEST_ASSERT(imap_args_parse_store(c->args, c->count, &st, &error) ==
	    0);
	TEST_ASSERT(st.op == IMAP_STORE_REMOVE && !st.silent &&
	    st.unchangedsince_given && st.unchangedsince == 320162338 &&
	    st.flags.system == IMAP_FLAG_DELETED &&
	    st.flags.keyword_count == 1);
	imap_store_free(&st);

	c = cmd("a STORE $ FLAGS ()\r\n");
	TEST_ASSERT(imap_args_parse_store(c->args, c->count, &st, &error) ==
	    0);
	TEST_ASSERT(st.op == IMAP_STORE_SET && st.set.saved &&
	    st.flags.system == 0 && st.flags.keyword_count == 0);
	imap_store_free(&st);

	for (i = 0; i < N(bad); i++) {
		line = xasprintf("a STORE %s\r\n", bad[i]);
		c = cmd(line);
		free(line);
		if (c == NULL)
			continue;
		error = NULL;
		TEST_ASSERT(imap_args_parse_store(c->args, c->count, &st,
		    &error) < 0);
		TEST_ASSERT(error != NULL && st.set.ranges == NULL &&
		    st.flags.keywords == NULL);
	}
}

static void
test_status(void)
{
	const struct imap_command *c;
	struct imap_status st;
	const char *error;

	c = cmd("a STATUS \"Sent Items\" (MESSAGES UIDNEXT UIDVALIDITY UNSEEN "
	    "deleted SIZE RECENT HIGHESTMODSEQ)\r\n");
	TEST_ASSERT(imap_args_parse_status(c->args, c->count, &st, &error) ==
	    0);
	TEST_ASSERT_STREQ(st.mailbox, "Sent Items");
	TEST_ASSERT(st.items == 0xff);
	imap_status_free(&st);
	TEST_ASSERT(st.mailbox == NULL);

	c = cmd("a STATUS INBOX (MESSAGES)\r\n");
	TEST_ASSERT(imap_args_parse_status(c->args, c->count, &st, &error) ==
	    0 && st.items == IMAP_STATUS_MESSAGES);
	imap_status_free(&st);
	c = cmd("a STATUS INBOX ()\r\n");
	TEST_ASSERT(imap_args_parse_status(c->args, c->count, &st, &error) <
	    0);
	c = cmd("a STATUS INBOX (FOO)\r\n");
	TEST_ASSERT(imap_args_parse_status(c->args, c->count, &st, &error) <
	    0);
	c = cmd("a STATUS INBOX MESSAGES\r\n");
	TEST_ASSERT(imap_args_parse_status(c->args, c->count, &st, &error) <
	    0);
	c = cmd("a STATUS (x) (MESSAGES)\r\n");
	TEST_ASSERT(imap_args_parse_status(c->args, c->count, &st, &error) <
	    0 && st.mailbox == NULL);
}

static char *
list_str(const struct imap_list *l)
{
	struct buf b;
	unsigned i;

	buf_init(&b, 0);
	buf_printf(&b, "%s sel=%x ret=%x st=%x ref='%s'",
	    l->extended ? "ext" : "basic", l->select, l->ret, l->status_items,
	    l->reference);
	for (i = 0; i < l->pattern_count; i++)
		buf_printf(&b, " '%s'", l->patterns[i]);
	return buf_steal(&b, NULL);
}

static void
test_list(void)
{
	static const struct {
		const char *line;
		const char *out;
	} cases[] = {
		{ "\"\" *", "basic sel=0 ret=0 st=0 ref='' '*'" },
		{ "~/Mail/ %", "basic sel=0 ret=0 st=0 ref='~/Mail/' '%'" },
		{ "\"\" \"\"", "basic sel=0 ret=0 st=0 ref='' ''" },
		{ "INBOX {3+}\r\na b", "basic sel=0 ret=0 st=0 ref='INBOX' "
		  "'a b'" },
		{ "(SUBSCRIBED RECURSIVEMATCH) \"\" (INBOX Sent/%)",
		  "ext sel=5 ret=0 st=0 ref='' 'INBOX' 'Sent/%'" },
		{ "(REMOTE special-use) \"\" *", "ext sel=a ret=0 st=0 ref='' "
		  "'*'" },
		{ "() \"\" *", "ext sel=0 ret=0 st=0 ref='' '*'" },
		{ "\"\" % RETURN (CHILDREN SUBSCRIBED SPECIAL-USE STATUS "
		  "(MESSAGES UNSEEN))",
		  "ext sel=0 ret=f st=9 ref='' '%'" },
		{ "\"\" % RETURN ()", "ext sel=0 ret=0 st=0 ref='' '%'" },
		{ "\"\" * RETURN (myrights CHILDREN)",	/* RFC 8440 */
		  "ext sel=0 ret=12 st=0 ref='' '*'" },
		/* invalid */
		{ "\"\"", NULL },
		{ "", NULL },
		{ "(RECURSIVEMATCH) \"\" *", NULL },
		{ "(REMOTE RECURSIVEMATCH) \"\" *", NULL },
		{ "(FOO) \"\" *", NULL },
		{ "\"\" ()", NULL },
		{ "\"\" * RETURN", NULL },
		{ "\"\" * RETURN (FOO)", NULL },
		{ "\"\" * RETURN (STATUS)", NULL },
		{ "\"\" * RETURN (STATUS ())", NULL },
		{ "\"\" * RETURN (STATUS (FOO))", NULL },
		{ "\"\" * x", NULL },
		{ "\"\" * RETURN () x", NULL },
		{ "(\"\") *", NULL },
		{ "\"\" ((a))", NULL },
	};
	const struct imap_command *c;
	struct imap_list l;
	const char *error;
	char *line, *s;
	size_t i;
	int r;

	for (i = 0; i < N(cases); i++) {
		line = xasprintf("a LIST %s\r\n", cases[i].line);
		c = cmd(line);
		free(line);
		TEST_ASSERT(c != NULL);
		error = NULL;
		r = imap_args_parse_list(c->args, c->count, &l, &error);
		if (cases[i].out == NULL) {
			if (r == 0)
				fprintf(stderr, "  accepted: %s\n",
				    cases[i].line);
			TEST_ASSERT(r < 0 && error != NULL &&
			    l.patterns == NULL && l.reference == NULL);
			continue;
		}
		if (r < 0)
			fprintf(stderr, "  refused: %s (%s)\n", cases[i].line,
			    error);
		TEST_ASSERT(r == 0);
		s = list_str(&l);
		if (strcmp(s, cases[i].out) != 0)
			fprintf(stderr, "  %s\n  -> %s\n", cases[i].line, s);
		TEST_ASSERT_STREQ(s, cases[i].out);
		free(s);
		imap_list_free(&l);
	}
}

static void
test_select(void)
{
	static const char *const bad[] = {
		"", "INBOX (FOO)", "INBOX CONDSTORE", "INBOX (CONDSTORE) x",
		"INBOX (CONDSTORE CONDSTORE)", "INBOX (QRESYNC)",
		"INBOX (QRESYNC ())", "INBOX (QRESYNC (1))",
		"INBOX (QRESYNC (0 5))", "INBOX (QRESYNC (1 0))",
		"INBOX (QRESYNC (1 x))", "INBOX (QRESYNC (1 5 1:*))",
		"INBOX (QRESYNC (1 5 $))", "INBOX (QRESYNC (1 5 1:9 (1:3)))",
		"INBOX (QRESYNC (1 5 1:9 (1:3 5:6)))",
		"INBOX (QRESYNC (1 5 1:9 (1:3 4:6) x))",
		"INBOX (QRESYNC 1 5)", "(x)",
	};
	const struct imap_command *c;
	struct imap_select sel;
	const char *error;
	char *line;
	size_t i;

	c = cmd("a SELECT INBOX\r\n");
	TEST_ASSERT(imap_args_parse_select(c->args, c->count, &sel,
	    &error) == 0);
	TEST_ASSERT_STREQ(sel.mailbox, "INBOX");
	TEST_ASSERT(!sel.condstore && !sel.qresync);
	imap_select_free(&sel);

	c = cmd("a EXAMINE \"Sent\" (CONDSTORE)\r\n");
	TEST_ASSERT(imap_args_parse_select(c->args, c->count, &sel,
	    &error) == 0);
	TEST_ASSERT(sel.condstore && !sel.qresync);
	imap_select_free(&sel);

	c = cmd("a SELECT x (QRESYNC (67890007 20050715194045000 "
	    "41,43:211,214:541 (1:3,7 12:14,40)) CONDSTORE)\r\n");
	TEST_ASSERT(imap_args_parse_select(c->args, c->count, &sel,
	    &error) == 0);
	TEST_ASSERT(sel.qresync && sel.condstore);
	TEST_ASSERT(sel.uidvalidity == 67890007);
	TEST_ASSERT(sel.modseq == 20050715194045000ull);
	TEST_ASSERT(sel.known_uids.count == 3);
	TEST_ASSERT(sel.match_seqs.count == 2 && sel.match_uids.count == 2);
	imap_select_free(&sel);

	c = cmd("a SELECT x (QRESYNC (1 5 (3:1 6:8)))\r\n");
	TEST_ASSERT(imap_args_parse_select(c->args, c->count, &sel,
	    &error) == 0);
	TEST_ASSERT(sel.known_uids.count == 0 && sel.match_seqs.count == 1);
	imap_select_free(&sel);

	for (i = 0; i < N(bad); i++) {
		line = xasprintf("a SELECT %s\r\n", bad[i]);
		c = cmd(line);
		free(line);
		TEST_ASSERT(c != NULL);
		error = NULL;
		TEST_ASSERT(imap_args_parse_select(c->args, c->count, &sel,
		    &error) < 0);
		TEST_ASSERT(error != NULL && sel.mailbox == NULL &&
		    sel.known_uids.ranges == NULL);
	}
}

static void
test_append(void)
{
	const struct imap_command *c;
	struct imap_append a;
	const char *error;
	static const char *const bad[] = {
		"a APPEND INBOX\r\n",
		"a APPEND INBOX (\\Seen)\r\n",
		"a APPEND INBOX (\\Recent) {1+}\r\nx\r\n",
		"a APPEND INBOX \"bad date\" {1+}\r\nx\r\n",
		"a APPEND INBOX \"1-Feb-1994 21:52:25 -0800\" (\\Seen) "
		"{1+}\r\nx\r\n",
		"a APPEND INBOX {1+}\r\nx (\\Seen)\r\n",
		"a APPEND INBOX x {1+}\r\nx\r\n",
		"a APPEND (x) {1+}\r\nx\r\n",
	};
	size_t i;

	c = cmd("a APPEND Drafts (\\Draft $x) \" 1-Feb-1994 21:52:25 -0800\" "
	    "{5+}\r\nhello\r\n");
	TEST_ASSERT(c != NULL);
	TEST_ASSERT(imap_args_parse_append(c->args, c->count, &a, &error) ==
	    0);
	TEST_ASSERT_STREQ(a.mailbox, "Drafts");
	TEST_ASSERT(a.count == 1);
	TEST_ASSERT(a.msgs[0].flags.system == IMAP_FLAG_DRAFT &&
	    a.msgs[0].flags.keyword_count == 1);
	TEST_ASSERT(a.msgs[0].date_given && a.msgs[0].date == 760168345 &&
	    a.msgs[0].tz_minutes == -480);
	TEST_ASSERT(a.msgs[0].size == 5 && a.msgs[0].index == 0 &&
	    !a.msgs[0].literal8);
	imap_append_free(&a);

	/* MULTIAPPEND, literal8 */
	c = cmdn("a APPEND x {2+}\r\nab ~{3+}\r\nc\0d (\\Seen) {0+}\r\n\r\n",
	    sizeof("a APPEND x {2+}\r\nab ~{3+}\r\nc\0d (\\Seen) {0+}\r\n\r\n") -
	    1);
	TEST_ASSERT(c != NULL);
	TEST_ASSERT(imap_args_parse_append(c->args, c->count, &a, &error) ==
	    0);
	TEST_ASSERT(a.count == 3);
	TEST_ASSERT(a.msgs[0].size == 2 && a.msgs[0].index == 0 &&
	    !a.msgs[0].date_given && a.msgs[0].flags.system == 0);
	TEST_ASSERT(a.msgs[1].literal8 && a.msgs[1].index == 1);
	TEST_ASSERT(a.msgs[2].size == 0 && a.msgs[2].index == 2 &&
	    a.msgs[2].flags.system == IMAP_FLAG_SEEN);
	imap_append_free(&a);
	TEST_ASSERT(a.msgs == NULL && a.mailbox == NULL);

	for (i = 0; i < N(bad); i++) {
		c = cmd(bad[i]);
		TEST_ASSERT(c != NULL);
		error = NULL;
		TEST_ASSERT(imap_args_parse_append(c->args, c->count, &a,
		    &error) < 0);
		TEST_ASSERT(error != NULL && a.mailbox == NULL &&
		    a.msgs == NULL);
	}
}

int
main(void)
{
	TEST_RUN(test_numbers);
	TEST_RUN(test_flags);
	TEST_RUN(test_store);
	TEST_RUN(test_status);
	TEST_RUN(test_list);
	TEST_RUN(test_select);
	TEST_RUN(test_append);
	imap_parser_destroy(&parser);
	return test_done("test-imap-args");
}
