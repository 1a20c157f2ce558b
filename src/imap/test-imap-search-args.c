/*
 * test-imap-search-args - unit tests for the SEARCH grammar (imap_search_args.c): the key tree is
 * printed back and compared.
 * Commands go through imap_parser first (test-imap-args.h).
 *
 * Trust: test code.
 */
#include "imap/test-imap-args.h"

/* SEARCH: the tree is printed back and compared. */

static const char *const sk_names[] = {
	"AND", "OR", "NOT", "ALL", "ANSWERED", "DELETED", "DRAFT", "FLAGGED",
	"SEEN", "RECENT", "NEW", "OLD", "UNANSWERED", "UNDELETED", "UNDRAFT",
	"UNFLAGGED", "UNSEEN", "KEYWORD", "UNKEYWORD", "BCC", "BODY", "CC",
	"FROM", "SUBJECT", "TEXT", "TO", "HEADER", "BEFORE", "ON", "SINCE",
	"SENTBEFORE", "SENTON", "SENTSINCE", "LARGER", "SMALLER", "OLDER",
	"YOUNGER", "MODSEQ", "UID", "SEQSET", "SAVEDBEFORE", "SAVEDON",
	"SAVEDSINCE", "SAVEDATESUPPORTED", "EMAILID", "THREADID",
};

static void
dump_key(struct buf *b, const struct imap_search_key *k)
{
	const struct imap_search_key *c;
	char *s;

	switch (k->type) {
	case IMAP_SK_AND:
		buf_putc(b, '(');
		for (c = k->child; c != NULL; c = c->next) {
			dump_key(b, c);
			if (c->next != NULL)
				buf_putc(b, ' ');
		}
		buf_putc(b, ')');
		return;
	case IMAP_SK_OR:
	case IMAP_SK_NOT:
		buf_printf(b, "%s[", sk_names[k->type]);
		for (c = k->child; c != NULL; c = c->next) {
			dump_key(b, c);
			if (c->next != NULL)
				buf_putc(b, ' ');
		}
		buf_putc(b, ']');
		return;
	default:
		break;
	}
	buf_puts(b, sk_names[k->type]);
	if (k->field != NULL)
		buf_printf(b, " %s", k->field);
	if (k->str != NULL)
		buf_printf(b, " '%s'", k->str);
	if (k->date.year != 0)
		buf_printf(b, " %04u-%02u-%02u", k->date.year, k->date.month,
		    k->date.day);
	if (k->entry != NULL)
		buf_printf(b, " %s/%d", k->entry, (int)k->entry_type);
	if (k->type == IMAP_SK_LARGER || k->type == IMAP_SK_SMALLER ||
	    k->type == IMAP_SK_MODSEQ || k->type == IMAP_SK_OLDER ||
	    k->type == IMAP_SK_YOUNGER)
		buf_printf(b, " %llu", (unsigned long long)k->num);
	if (k->type == IMAP_SK_UID || k->type == IMAP_SK_SEQSET) {
		s = seq_str(&k->set);
		buf_printf(b, " %s", s);
		free(s);
	}
}

static const struct {
	const char *line;
	const char *tree;	/* NULL: must fail */
} search_cases[] = {
	{ "ALL", "(ALL)" },
	{ "answered deleted draft flagged seen recent new old", "(ANSWERED "
	  "DELETED DRAFT FLAGGED SEEN RECENT NEW OLD)" },
	{ "UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN",
	  "(UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN)" },
	{ "KEYWORD $Junk UNKEYWORD Work", "(KEYWORD '$Junk' UNKEYWORD 'Work')" },
	{ "BCC a BODY \"b c\" CC {1+}\r\nd FROM e SUBJECT f TEXT g TO h",
	  "(BCC 'a' BODY 'b c' CC 'd' FROM 'e' SUBJECT 'f' TEXT 'g' TO 'h')" },
	{ "HEADER Message-ID \"<x@y>\"", "(HEADER Message-ID '<x@y>')" },
	{ "HEADER X-Spam \"\"", "(HEADER X-Spam '')" },
	{ "BEFORE 1-Feb-1994 ON \"02-Mar-2000\" SINCE 31-dec-1999",
	  "(BEFORE 1994-02-01 ON 2000-03-02 SINCE 1999-12-31)" },
	{ "SENTBEFORE 1-Jan-2001 SENTON 1-Jan-2001 SENTSINCE 1-Jan-2001",
	  "(SENTBEFORE 2001-01-01 SENTON 2001-01-01 SENTSINCE 2001-01-01)" },
	{ "LARGER 100 SMALLER 9223372036854775807",
	  "(LARGER 100 SMALLER 9223372036854775807)" },
	{ "OLDER 3600 YOUNGER 60", "(OLDER 3600 YOUNGER 60)" },
	{ "SAVEDBEFORE 1-Jan-2001 SAVEDON 2-Jan-2001 SAVEDSINCE 3-Jan-2001 "
	  "SAVEDATESUPPORTED", "(SAVEDBEFORE 2001-01-01 SAVEDON 2001-01-02 "
	  "SAVEDSINCE 2001-01-03 SAVEDATESUPPORTED)" },
	{ "EMAILID M0123abc_-Z THREADID T1", "(EMAILID 'M0123abc_-Z' "
	  "THREADID 'T1')" },
	{ "EMAILID \"M1\"", "(EMAILID 'M1')" },
	{ "EMAILID \"\"", NULL },
	{ "EMAILID M.1", NULL },
	{ "THREADID", NULL },
	{ "UID 1:*,5 1:3 * $", "(UID 1:*,5 SEQSET 1:3 SEQSET * SEQSET $)" },
	{ "NOT SEEN", "(NOT[SEEN])" },
	{ "OR SEEN FLAGGED", "(OR[SEEN FLAGGED])" },
	{ "OR (SEEN DRAFT) NOT (FROM x)",
	  "(OR[(SEEN DRAFT) NOT[(FROM 'x')]])" },
	{ "OR OR A1 B1 C1", NULL },
	{ "OR OR SEEN DRAFT DELETED", "(OR[OR[SEEN DRAFT] DELETED])" },
	{ "((ALL))", "(((ALL)))" },
	{ "MODSEQ 5", "(MODSEQ 5)" },
	{ "MODSEQ \"/flags/\\\\draft\" all 620162338",
	  "(MODSEQ /flags/\\draft/3 620162338)" },
	{ "MODSEQ \"/flags/x\" priv 1", "(MODSEQ /flags/x/1 1)" },
	{ "CHARSET UTF-8 TEXT \"caf\xc3\xa9\"",
	  "(TEXT 'caf\xc3\xa9')" },
	/* invalid */
	{ "", NULL },
	{ "FOO", NULL },
	{ "SEEN FOO", NULL },
	{ "NOT", NULL },
	{ "OR SEEN", NULL },
	{ "()", NULL },
	{ "(SEEN", NULL },
	{ "BEFORE 1-Foo-1994", NULL },
	{ "BEFORE", NULL },
	{ "LARGER -1", NULL },
	{ "LARGER 9223372036854775808", NULL },
	{ "LARGER \"5\"", NULL },
	{ "OLDER 0", NULL },
	{ "UID 0", NULL },
	{ "UID (1)", NULL },
	{ "1:0", NULL },
	{ "KEYWORD \\Seen", NULL },
	{ "KEYWORD \"x\"", NULL },
	{ "HEADER \"\" x", NULL },
	{ "HEADER Subject", NULL },
	{ "MODSEQ", NULL },
	{ "MODSEQ \"/flags/x\" 5", NULL },
	{ "MODSEQ \"/flags/x\" bad 5", NULL },
	{ "MODSEQ \"/other\" all 5", NULL },
	{ "MODSEQ x", NULL },
	{ "CHARSET", NULL },
	{ "CHARSET \"\" ALL", NULL },
	{ "CHARSET UTF-8", NULL },
	{ "ALL RETURN (ALL)", NULL },
	{ "RETURN (FOO) ALL", NULL },
	{ "RETURN ALL ALL", NULL },
	{ "RETURN (PARTIAL) ALL", NULL },
	{ "RETURN (PARTIAL 0:5) ALL", NULL },
	{ "RETURN (PARTIAL 1:x) ALL", NULL },
	{ "RETURN (PARTIAL :5) ALL", NULL },
	{ "RETURN (PARTIAL 1:2 ALL) ALL", NULL },
	{ "RETURN (PARTIAL 1:2 PARTIAL 3:4) ALL", NULL },
	{ "SEEN ~{1+}\r\nx", NULL },
	{ "SEEN (NIL)", NULL },
};

static void
test_search(void)
{
	const struct imap_command *c;
	struct imap_search s;
	const char *error;
	struct buf b;
	char *line;
	size_t i;
	int r;

	for (i = 0; i < N(search_cases); i++) {
		line = xasprintf("a SEARCH %s\r\n", search_cases[i].line);
		c = cmd(line);
		free(line);
		if (c == NULL) {
			/* the parser itself refused: fine for invalid ones */
			TEST_ASSERT(search_cases[i].tree == NULL);
			continue;
		}
		error = NULL;
		r = imap_args_parse_search(c->args, c->count, &s, &error);
		if (search_cases[i].tree == NULL) {
			if (r == 0)
				fprintf(stderr, "  accepted: %s\n",
				    search_cases[i].line);
			TEST_ASSERT(r < 0 && error != NULL && s.root == NULL);
			continue;
		}
		if (r < 0)
			fprintf(stderr, "  refused: %s (%s)\n",
			    search_cases[i].line, error);
		TEST_ASSERT(r == 0);
		buf_init(&b, 0);
		dump_key(&b, s.root);
		if (strcmp(buf_cstr(&b), search_cases[i].tree) != 0)
			fprintf(stderr, "  %s\n  -> %s\n", search_cases[i].line,
			    buf_cstr(&b));
		TEST_ASSERT_STREQ(buf_cstr(&b), search_cases[i].tree);
		buf_free(&b);
		imap_search_free(&s);
	}
}

static void
test_search_options(void)
{
	const struct imap_command *c;
	struct imap_search s;
	const char *error;
	struct buf b;
	int i;

	c = cmd("a UID SEARCH RETURN (MIN MAX COUNT SAVE) CHARSET "
	    "us-ascii UID $ MODSEQ 7\r\n");
	TEST_ASSERT(imap_args_parse_search(c->args, c->count, &s, &error) ==
	    0);
	TEST_ASSERT(s.ret_given && s.ret == (IMAP_SEARCH_RET_MIN |
	    IMAP_SEARCH_RET_MAX | IMAP_SEARCH_RET_COUNT |
	    IMAP_SEARCH_RET_SAVE));
	TEST_ASSERT_STREQ(s.charset, "us-ascii");
	TEST_ASSERT(s.uses_saved && s.uses_modseq);
	imap_search_free(&s);
	TEST_ASSERT(s.root == NULL && s.charset == NULL);

	c = cmd("a SEARCH RETURN () ALL\r\n");
	TEST_ASSERT(imap_args_parse_search(c->args, c->count, &s, &error) ==
	    0);
	TEST_ASSERT(s.ret_given && s.ret == IMAP_SEARCH_RET_ALL &&
	    s.charset == NULL && !s.uses_saved && !s.uses_modseq);
	imap_search_free(&s);

	/* RFC 5267: CONTEXT and UPDATE alone still give ALL; PARTIAL's
	   range may come either way round */
	c = cmd("a SEARCH RETURN (CONTEXT UPDATE) ALL\r\n");
	TEST_ASSERT(imap_args_parse_search(c->args, c->count, &s, &error) ==
	    0);
	TEST_ASSERT(s.ret == (IMAP_SEARCH_RET_CONTEXT |
	    IMAP_SEARCH_RET_UPDATE | IMAP_SEARCH_RET_ALL));
	imap_search_free(&s);
	c = cmd("a SEARCH RETURN (COUNT PARTIAL 500:1) ALL\r\n");
	TEST_ASSERT(imap_args_parse_search(c->args, c->count, &s, &error) ==
	    0);
	TEST_ASSERT(s.ret == (IMAP_SEARCH_RET_COUNT |
	    IMAP_SEARCH_RET_PARTIAL) && s.partial_lo == 1 &&
	    s.partial_hi == 500);
	imap_search_free(&s);

	/* nesting beyond IMAP_SEARCH_DEPTH_MAX is refused, not recursed */
	buf_init(&b, 0);
	buf_puts(&b, "a SEARCH");
	for (i = 0; i < 1000; i++)
		buf_puts(&b, " NOT");
	buf_puts(&b, " SEEN\r\n");
	c = cmd(buf_cstr(&b));
	TEST_ASSERT(imap_args_parse_search(c->args, c->count, &s, &error) <
	    0);
	TEST_ASSERT(s.root == NULL);
	buf_reset(&b);
	buf_puts(&b, "a SEARCH");
	for (i = 0; i < IMAP_SEARCH_DEPTH_MAX - 1; i++)
		buf_puts(&b, " NOT");
	buf_puts(&b, " SEEN\r\n");
	c = cmd(buf_cstr(&b));
	TEST_ASSERT(imap_args_parse_search(c->args, c->count, &s, &error) ==
	    0);
	imap_search_free(&s);
	buf_free(&b);
}

int
main(void)
{
	TEST_RUN(test_search);
	TEST_RUN(test_search_options);
	imap_parser_destroy(&parser);
	return test_done("test-imap-search-args");
}
