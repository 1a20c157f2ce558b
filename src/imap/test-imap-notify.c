/*
 * test-imap-notify - the NOTIFY grammar (imap_notify_args.c): NONE, SET
 * [STATUS] with every filter, names, MessageNew's attributes, the BAD
 * rules of RFC 5465 5 and 6.1, BADEVENT for events tem does not send,
 * and the limits.
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include "imap/imap_notify.h"
#include "imap/test-imap-args.h"

/* imap_notify_parse on "a NOTIFY <args>"; the result code. */
static int
parse(const char *args, struct imap_notify *n)
{
	const struct imap_command *c;
	const char *error = NULL;
	char *line = xasprintf("a NOTIFY %s\r\n", args);
	int r;

	c = cmd(line);
	free(line);
	if (c == NULL)
		return -9;	/* the parser refused the line */
	r = imap_notify_parse(c->args, c->count, n, &error);
	if (r < 0 && (error == NULL || n->groups != NULL))
		return -8;
	return r;
}

static void
test_valid(void)
{
	struct imap_notify n;

	TEST_ASSERT(parse("NONE", &n) == 0 && n.none && n.n_groups == 0);
	TEST_ASSERT(parse("SET STATUS (selected (MessageNew (UID FLAGS) "
	    "MessageExpunge FlagChange)) (subtree (Work \"A b\") (MessageNew "
	    "MessageExpunge MailboxName)) (inboxes NONE) (mailboxes x "
	    "(SubscriptionChange))", &n) == 0);
	TEST_ASSERT(n.status && !n.none && n.n_groups == 4);
	TEST_ASSERT(n.groups[0].filter == IMAP_NF_SELECTED &&
	    n.groups[0].events == (IMAP_NE_MESSAGENEW |
	    IMAP_NE_MESSAGEEXPUNGE | IMAP_NE_FLAGCHANGE));
	TEST_ASSERT(n.groups[1].filter == IMAP_NF_SUBTREE &&
	    n.groups[1].n_names == 2);
	TEST_ASSERT_STREQ(n.groups[1].names[1], "A b");
	TEST_ASSERT(n.groups[2].filter == IMAP_NF_INBOXES &&
	    n.groups[2].events == 0);
	TEST_ASSERT(n.groups[3].n_names == 1 &&
	    n.groups[3].events == IMAP_NE_SUBSCRIPTIONCHANGE);
	imap_notify_free(&n);
	TEST_ASSERT(n.groups == NULL);
	/* MessageNew's attributes: FETCH's grammar, sections with SP */
	TEST_ASSERT(parse("SET (selected-delayed (MessageNew (UID "
	    "BODY.PEEK[HEADER.FIELDS (From Subject)] PREVIEW (LAZY)) "
	    "MessageExpunge))", &n) == 0);
	TEST_ASSERT(n.groups[0].fetch != NULL &&
	    n.groups[0].fetch->items == (IMAP_FETCH_UID |
	    IMAP_FETCH_PREVIEW) && n.groups[0].fetch->body_count == 1 &&
	    n.groups[0].fetch->bodies[0].peek &&
	    n.groups[0].fetch->bodies[0].field_count == 2);
	imap_notify_free(&n);
	TEST_ASSERT(parse("set (PERSONAL (messagenew MESSAGEEXPUNGE))", &n)
	    == 0 && n.groups[0].filter == IMAP_NF_PERSONAL);
	imap_notify_free(&n);
}

static void
test_invalid(void)
{
	static const char *const bad[] = {
		"", "NONE NONE", "SET", "SET STATUS", "SET ()",
		"SET (personal)", "SET personal (MessageNew MessageExpunge)",
		"SET (personal ())", "SET (personal (MessageNew))",
		"SET (personal (MessageExpunge FlagChange))",
		"SET (personal (FlagChange))",
		"SET (personal (MailboxName MailboxName))",
		"SET (selected (MailboxName))",
		"SET (selected NONE) (selected-delayed NONE)",
		"SET (subtree (MailboxName))", "SET (subtree () (MailboxName))",
		"SET (personal x (MailboxName))", "SET (elsewhere NONE)",
		"SET (personal (MessageNew () MessageExpunge))",
		"SET (personal (MessageNew (\"UID\") MessageExpunge))",
		"SET (personal (\"MailboxName\"))",
		"SET (personal (MessageNew (UID) MessageExpunge))",
		"SET (selected (MessageNew (ALL) MessageExpunge))",
		"SET (selected (MessageNew (UID NOSUCH) MessageExpunge))",
		"SET (selected (MessageNew (BODY[HEADER.FIELDS ()]) "
		    "MessageExpunge))",
	};
	struct imap_notify n;
	struct buf b;
	size_t i;

	for (i = 0; i < N(bad); i++) {
		int r = parse(bad[i], &n);

		if (r != -1 && r != -9)
			fprintf(stderr, "  %s -> %d\n", bad[i], r);
		TEST_ASSERT(r == -1 || r == -9);
	}
	/* events tem does not send: NO [BADEVENT], not BAD */
	TEST_ASSERT(parse("SET (personal (MessageNew MessageExpunge "
	    "AnnotationChange))", &n) == -2);
	TEST_ASSERT(parse("SET (inboxes (MailboxMetadataChange "
	    "ServerMetadataChange))", &n) == 0);
	imap_notify_free(&n);
	TEST_ASSERT(parse("SET (inboxes (SomethingNew))", &n) == -2);
	/* limits */
	buf_init(&b, 0);
	buf_puts(&b, "SET");
	for (i = 0; i <= IMAP_NOTIFY_GROUPS_MAX; i++)
		buf_puts(&b, " (inboxes NONE)");
	TEST_ASSERT(parse(buf_cstr(&b), &n) == -1);
	buf_reset(&b);
	buf_puts(&b, "SET (mailboxes (");
	for (i = 0; i <= IMAP_NOTIFY_NAMES_MAX; i++)
		buf_printf(&b, "%sm%zu", i ? " " : "", i);
	buf_puts(&b, ") (MailboxName))");
	TEST_ASSERT(parse(buf_cstr(&b), &n) == -1);
	buf_free(&b);
}

int
main(void)
{
	TEST_RUN(test_valid);
	TEST_RUN(test_invalid);
	imap_parser_destroy(&parser);
	return test_done("test-imap-notify");
}
