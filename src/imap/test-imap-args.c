/*
 * test-imap-args - unit tests for imap_args: every argument shape, valid
 * and invalid, table-driven. Commands are run through imap_parser first, so
 * the shapes are the ones a session will really see.
 *
 * Trust: test code.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_args.h"
#include "imap/imap_parser.h"
#include "util/buf.h"
#include "util/test.h"
#include "util/xmalloc.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct imap_parser *parser;

/* Parses one whole command (APPEND messages are consumed); NULL if the
   parser refused it. Valid until the next call. */
static const struct imap_command *
cmdn(const char *line, size_t len)
{
	struct imap_parser_limits lim;
	enum imap_parse_result r;
	size_t used, off = 0;

	if (parser == NULL) {
		imap_parser_limits_default(&lim);
		parser = imap_parser_create(&lim);
	}
	for (;;) {
		r = imap_parser_feed(parser, line + off, len - off, &used);
		off += used;
		if (r == IMAP_PARSE_COMMAND)
			return imap_parser_command(parser);
		if (r == IMAP_PARSE_ERROR || r == IMAP_PARSE_NEED_MORE)
			return NULL;
	}
}

static const struct imap_command *
cmd(const char *line)
{
	return cmdn(line, strlen(line));
}

/* ------------------------------------------------------------------ */

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

static void
test_dates(void)
{
	struct imap_date d;
	time_t t;
	int tz;
	static const char *const bad[] = {
		"", "1", "1-Feb", "1-Feb-94", "1-Feb-19940", "0-Feb-1994",
		"32-Jan-1994", "29-Feb-1900", "1-Fev-1994", "1 Feb 1994",
		"001-Feb-1994", "1-Feb-1994 ",
	};
	size_t i;

	TEST_ASSERT(imap_parse_date("1-Feb-1994", &d) == 0);
	TEST_ASSERT(d.year == 1994 && d.month == 2 && d.day == 1);
	TEST_ASSERT(imap_date_days(&d) == 8797);
	TEST_ASSERT(imap_parse_date("01-feb-1994", &d) == 0 && d.day == 1);
	TEST_ASSERT(imap_parse_date("29-FEB-2000", &d) == 0);
	TEST_ASSERT(imap_parse_date("1-Mar-2000", &d) == 0 &&
	    imap_date_days(&d) == 11017);
	TEST_ASSERT(imap_parse_date("31-Dec-1969", &d) == 0 &&
	    imap_date_days(&d) == -1);
	TEST_ASSERT(imap_parse_date("29-Feb-1600", &d) == 0 &&
	    imap_date_days(&d) == -135081);
	for (i = 0; i < N(bad); i++)
		TEST_ASSERT(imap_parse_date(bad[i], &d) < 0);

	TEST_ASSERT(imap_parse_datetime(" 1-Feb-1994 21:52:25 -0800", &t,
	    &tz) == 0);
	TEST_ASSERT(t == 760168345 && tz == -480);
	TEST_ASSERT(imap_parse_datetime("01-Feb-1994 21:52:25 -0800", &t,
	    &tz) == 0 && t == 760168345);
	TEST_ASSERT(imap_parse_datetime("29-Feb-2024 23:59:59 +0530", &t,
	    &tz) == 0 && t == 1709231399 && tz == 330);
	TEST_ASSERT(imap_parse_datetime("1-Feb-1994 24:00:00 +0000", &t,
	    &tz) < 0);
	TEST_ASSERT(imap_parse_datetime("1-Feb-1994 21:52:25 0800", &t,
	    &tz) < 0);
	TEST_ASSERT(imap_parse_datetime("1-Feb-1994 21:52:25 +08", &t,
	    &tz) < 0);
	TEST_ASSERT(imap_parse_datetime("1-Feb-1994 21:52 +0000", &t,
	    &tz) < 0);
	TEST_ASSERT(imap_parse_datetime("1-Feb-1994 21:52:25 +0000x", &t,
	    &tz) < 0);
	TEST_ASSERT(imap_parse_datetime("1-Feb-1994 21:52:25 +0060", &t,
	    &tz) < 0);
	TEST_ASSERT(imap_parse_datetime("", &t, &tz) < 0);
}

/* ------------------------------------------------------------------ */

static char *
seq_str(const struct imap_seqset *set)
{
	struct buf b;
	unsigned i;

	buf_init(&b, 0);
	if (set->saved)
		buf_puts(&b, "$");
	for (i = 0; i < set->count; i++) {
		const struct imap_seq_range *r = &set->ranges[i];

		if (i > 0)
			buf_putc(&b, ',');
		if (r->lo == IMAP_SEQ_STAR)
			buf_putc(&b, '*');
		else
			buf_printf(&b, "%u", r->lo);
		if (r->hi != r->lo) {
			if (r->hi == IMAP_SEQ_STAR)
				buf_puts(&b, ":*");
			else
				buf_printf(&b, ":%u", r->hi);
		}
	}
	if (b.len == 0)
		buf_puts(&b, "");
	return b.len ? buf_steal(&b, NULL) : xstrdup("");
}

static void
test_seqset(void)
{
	static const struct {
		const char *in;
		uint32_t star;
		const char *resolved;
	} ok[] = {
		{ "1", 10, "1" },
		{ "*", 10, "10" },
		{ "1:*", 10, "1:10" },
		{ "*:3", 10, "3:10" },
		{ "5:2,9,3,8", 10, "2:5,8:9" },
		{ "1,2,3,4", 10, "1:4" },
		{ "4294967294:*", 4294967294u, "4294967294" },
		{ "1:4294967294,2", 5, "1:4294967294" },
		{ "12:*", 5, "5:12" },
		{ "1:*", 0, "0:1" },
	};
	static const char *const bad[] = {
		"", "0", "01", "1:", ":1", "1,,2", "1,", ",1", "a", "1:2:3",
		"4294967295", "4294967296", "$", "1 2", "-1", "**", "1:0",
	};
	struct imap_seqset set;
	struct buf b;
	const char *error;
	char *s;
	size_t i;

	for (i = 0; i < N(ok); i++) {
		TEST_ASSERT(imap_seqset_parse(ok[i].in, false, &set,
		    &error) == 0);
		imap_seqset_resolve(&set, ok[i].star);
		buf_init(&b, 0);
		TEST_ASSERT(imap_seqset_format(&set, &b) == 0);
		if (strcmp(buf_cstr(&b), ok[i].resolved) != 0)
			fprintf(stderr, "  %s -> %s\n", ok[i].in,
			    buf_cstr(&b));
		TEST_ASSERT_STREQ(buf_cstr(&b), ok[i].resolved);
		buf_free(&b);
		imap_seqset_free(&set);
	}
	for (i = 0; i < N(bad); i++) {
		error = NULL;
		TEST_ASSERT(imap_seqset_parse(bad[i], false, &set,
		    &error) < 0);
		TEST_ASSERT(error != NULL && set.ranges == NULL &&
		    set.count == 0);
	}
	TEST_ASSERT(imap_seqset_parse("$", true, &set, &error) == 0 &&
	    set.saved && set.count == 0);
	imap_seqset_free(&set);

	TEST_ASSERT(imap_seqset_parse("7:*,2,4:5", false, &set, &error) ==
	    0);
	s = seq_str(&set);
	TEST_ASSERT_STREQ(s, "7:*,2,4:5");
	free(s);
	imap_seqset_resolve(&set, 9);
	TEST_ASSERT(imap_seqset_count(&set) == 6);
	TEST_ASSERT(imap_seqset_max(&set) == 9);
	TEST_ASSERT(!imap_seqset_contains(&set, 1));
	TEST_ASSERT(imap_seqset_contains(&set, 2));
	TEST_ASSERT(!imap_seqset_contains(&set, 3));
	TEST_ASSERT(imap_seqset_contains(&set, 5));
	TEST_ASSERT(!imap_seqset_contains(&set, 6));
	TEST_ASSERT(imap_seqset_contains(&set, 9));
	TEST_ASSERT(!imap_seqset_contains(&set, 10));
	imap_seqset_clamp(&set, 7);
	TEST_ASSERT(imap_seqset_count(&set) == 4 &&
	    imap_seqset_max(&set) == 7);
	imap_seqset_clamp(&set, 0);
	TEST_ASSERT(set.count == 0 && imap_seqset_max(&set) == 0);
	imap_seqset_free(&set);

	/* empty mailbox: "*" is 0, clamping to 0 empties everything */
	TEST_ASSERT(imap_seqset_parse("1:*", false, &set, &error) == 0);
	imap_seqset_resolve(&set, 0);
	imap_seqset_clamp(&set, 0);
	TEST_ASSERT(set.count == 0);
	imap_seqset_free(&set);
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
/* SEARCH: the tree is printed back and compared. */

static const char *const sk_names[] = {
	"AND", "OR", "NOT", "ALL", "ANSWERED", "DELETED", "DRAFT", "FLAGGED",
	"SEEN", "RECENT", "NEW", "OLD", "UNANSWERED", "UNDELETED", "UNDRAFT",
	"UNFLAGGED", "UNSEEN", "KEYWORD", "UNKEYWORD", "BCC", "BODY", "CC",
	"FROM", "SUBJECT", "TEXT", "TO", "HEADER", "BEFORE", "ON", "SINCE",
	"SENTBEFORE", "SENTON", "SENTSINCE", "LARGER", "SMALLER", "OLDER",
	"YOUNGER", "MODSEQ", "UID", "SEQSET",
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

/* ------------------------------------------------------------------ */
/* FETCH */

static char *
fetch_str(const struct imap_fetch *f)
{
	static const char *const names[] = {
		"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY",
		"BODYSTRUCTURE", "UID", "MODSEQ", "RFC822", "RFC822.HEADER",
		"RFC822.TEXT",
	};
	struct buf b;
	unsigned i;
	char *s;

	buf_init(&b, 0);
	s = seq_str(&f->set);
	buf_puts(&b, s);
	free(s);
	for (i = 0; i < N(names); i++)
		if (f->items & (1u << i))
			buf_printf(&b, " %s", names[i]);
	for (i = 0; i < f->body_count; i++) {
		const struct imap_fetch_body *x = &f->bodies[i];

		buf_printf(&b, " %s%s", x->label, x->peek ? "/peek" : "");
		if (x->partial)
			buf_printf(&b, "/%llu.%llu",
			    (unsigned long long)x->offset,
			    (unsigned long long)x->length);
	}
	if (f->changedsince_given)
		buf_printf(&b, " CHANGEDSINCE %llu",
		    (unsigned long long)f->changedsince);
	if (f->vanished)
		buf_puts(&b, " VANISHED");
	return buf_steal(&b, NULL);
}

static const struct {
	const char *line;	/* after "a [UID ]FETCH " */
	bool uid;
	const char *out;	/* NULL: must fail */
} fetch_cases[] = {
	{ "1 ALL", false, "1 FLAGS INTERNALDATE RFC822.SIZE ENVELOPE" },
	{ "1:* fast", false, "1:* FLAGS INTERNALDATE RFC822.SIZE" },
	{ "2 FULL", false, "2 FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY" },
	{ "$ FLAGS", false, "$ FLAGS" },
	{ "1 (UID BODYSTRUCTURE MODSEQ RFC822 RFC822.HEADER RFC822.TEXT)",
	  false, "1 BODYSTRUCTURE UID MODSEQ RFC822 RFC822.HEADER "
	  "RFC822.TEXT" },
	{ "1 BODY[]", false, "1 BODY[]" },
	{ "1 body.peek[]<0.1024>", false, "1 BODY[]<0>/peek/0.1024" },
	{ "1 (BODY[1.2.3] BODY[1.MIME] BODY[2.HEADER] BODY[TEXT])", false,
	  "1 BODY[1.2.3] BODY[1.MIME] BODY[2.HEADER] BODY[TEXT]" },
	{ "1 BODY.PEEK[HEADER.FIELDS (From to \"X-A\")]", false,
	  "1 BODY[HEADER.FIELDS (FROM TO X-A)]/peek" },
	{ "1 BODY[3.HEADER.FIELDS.NOT (Received)]<10.20>", false,
	  "1 BODY[3.HEADER.FIELDS.NOT (RECEIVED)]<10>/10.20" },
	{ "1 (BINARY[1.2] BINARY.PEEK[]<0.5> BINARY.SIZE[3])", false,
	  "1 BINARY[1.2] BINARY[]<0>/peek/0.5 BINARY.SIZE[3]" },
	{ "1:5 (FLAGS) (CHANGEDSINCE 12345)", false,
	  "1:5 FLAGS MODSEQ CHANGEDSINCE 12345" },
	{ "1:5 (FLAGS) (CHANGEDSINCE 1 VANISHED)", true,
	  "1:5 FLAGS UID MODSEQ CHANGEDSINCE 1 VANISHED" },
	{ "7 FLAGS", true, "7 FLAGS UID" },
	/* invalid */
	{ "1", false, NULL },
	{ "FLAGS", false, NULL },
	{ "x FLAGS", false, NULL },
	{ "1 FOO", false, NULL },
	{ "1 ()", false, NULL },
	{ "1 (ALL)", false, NULL },
	{ "1 (FLAGS FOO)", false, NULL },
	{ "1 \"FLAGS\"", false, NULL },
	{ "1 BODY[MIME]", false, NULL },
	{ "1 BODY[0]", false, NULL },
	{ "1 BODY[01]", false, NULL },
	{ "1 BODY[1.]", false, NULL },
	{ "1 BODY[.1]", false, NULL },
	{ "1 BODY[1..2]", false, NULL },
	{ "1 BODY[FOO]", false, NULL },
	{ "1 BODY[HEADERX]", false, NULL },
	{ "1 BODY[HEADER.FIELDS]", false, NULL },
	{ "1 BODY[HEADER.FIELDS ()]", false, NULL },
	{ "1 BODY[HEADER.FIELDS (a:b)]", false, NULL },
	{ "1 BODY[HEADER.FIELDS (\"a b\")]", false, NULL },
	{ "1 BODY[HEADER.FIELDS  (a)]", false, NULL },
	{ "1 BODY[HEADER.FIELDS (a  b)]", false, NULL },
	{ "1 BODY[HEADER.FIELDS (a)x]", false, NULL },
	{ "1 BODY[]<0.0>", false, NULL },
	{ "1 BODY[]<0>", false, NULL },
	{ "1 BODY[]<.5>", false, NULL },
	{ "1 BODY[]<0.5", false, NULL },
	{ "1 BODY[]<0.5>x", false, NULL },
	{ "1 BODY[]x", false, NULL },
	{ "1 BINARY[TEXT]", false, NULL },
	{ "1 BINARY.SIZE[1]<0.5>", false, NULL },
	{ "1 BINARY[1", false, NULL },
	{ "1 FLAGS (VANISHED)", true, NULL },
	{ "1 FLAGS (CHANGEDSINCE 1 VANISHED)", false, NULL },
	{ "1 FLAGS (CHANGEDSINCE)", false, NULL },
	{ "1 FLAGS (CHANGEDSINCE x)", false, NULL },
	{ "1 FLAGS (CHANGEDSINCE 1 CHANGEDSINCE 2)", false, NULL },
	{ "1 FLAGS ()", false, NULL },
	{ "1 FLAGS (FOO)", false, NULL },
	{ "1 FLAGS (CHANGEDSINCE 1) x", false, NULL },
};

static void
test_fetch(void)
{
	const struct imap_command *c;
	struct imap_fetch f;
	const char *error;
	char *line, *s;
	size_t i;
	int r;

	for (i = 0; i < N(fetch_cases); i++) {
		line = xasprintf("a %sFETCH %s\r\n",
		    fetch_cases[i].uid ? "UID " : "", fetch_cases[i].line);
		c = cmd(line);
		free(line);
		if (c == NULL) {
			TEST_ASSERT(fetch_cases[i].out == NULL);
			continue;
		}
		error = NULL;
		r = imap_args_parse_fetch(c->args, c->count, c->uid, &f,
		    &error);
		if (fetch_cases[i].out == NULL) {
			if (r == 0)
				fprintf(stderr, "  accepted: %s\n",
				    fetch_cases[i].line);
			TEST_ASSERT(r < 0 && error != NULL &&
			    f.bodies == NULL && f.set.ranges == NULL);
			continue;
		}
		if (r < 0)
			fprintf(stderr, "  refused: %s (%s)\n",
			    fetch_cases[i].line, error);
		TEST_ASSERT(r == 0);
		s = fetch_str(&f);
		if (strcmp(s, fetch_cases[i].out) != 0)
			fprintf(stderr, "  %s\n  -> %s\n", fetch_cases[i].line,
			    s);
		TEST_ASSERT_STREQ(s, fetch_cases[i].out);
		free(s);
		imap_fetch_free(&f);
	}
}

static void
test_fetch_section_detail(void)
{
	const struct imap_command *c;
	struct imap_fetch f;
	const char *error;

	c = cmd("a FETCH 1 BODY[4.2.HEADER.FIELDS (A \"B\\\\\")]\r\n");
	TEST_ASSERT(c != NULL);
	TEST_ASSERT(imap_args_parse_fetch(c->args, c->count, false, &f,
	    &error) == 0);
	TEST_ASSERT(f.body_count == 1);
	TEST_ASSERT(f.bodies[0].part_count == 2 && f.bodies[0].part[0] == 4 &&
	    f.bodies[0].part[1] == 2);
	TEST_ASSERT(f.bodies[0].text == IMAP_FETCH_SECTION_HEADER_FIELDS);
	TEST_ASSERT(f.bodies[0].field_count == 2);
	TEST_ASSERT_STREQ(f.bodies[0].fields[1], "B\\");
	TEST_ASSERT_STREQ(f.bodies[0].label,
	    "BODY[4.2.HEADER.FIELDS (A \"B\\\\\")]");
	TEST_ASSERT_STREQ(f.bodies[0].section,
	    "4.2.HEADER.FIELDS (A \"B\\\\\")");
	imap_fetch_free(&f);
}

/* The bounds shared with mail/imap_section.c. */
static void
test_fetch_section_limits(void)
{
	const struct imap_command *c;
	struct imap_fetch f;
	const char *error;
	struct buf b;
	int i;

	buf_init(&b, 0);
	buf_puts(&b, "a FETCH 1 BODY[1");
	for (i = 1; i < IMAP_FETCH_PARTS_MAX; i++)
		buf_puts(&b, ".1");
	buf_puts(&b, "]\r\n");
	c = cmd(buf_cstr(&b));
	TEST_ASSERT(imap_args_parse_fetch(c->args, c->count, false, &f,
	    &error) == 0);
	TEST_ASSERT(f.bodies[0].part_count == IMAP_FETCH_PARTS_MAX);
	imap_fetch_free(&f);
	b.len -= 3;
	buf_puts(&b, ".1]\r\n");
	c = cmd(buf_cstr(&b));
	TEST_ASSERT(imap_args_parse_fetch(c->args, c->count, false, &f,
	    &error) < 0);

	buf_reset(&b);
	buf_puts(&b, "a FETCH 1 BODY[HEADER.FIELDS (");
	for (i = 0; i < IMAP_FETCH_FIELDS_MAX; i++)
		buf_printf(&b, "%sF%d", i ? " " : "", i);
	buf_puts(&b, ")]\r\n");
	c = cmd(buf_cstr(&b));
	TEST_ASSERT(imap_args_parse_fetch(c->args, c->count, false, &f,
	    &error) == 0);
	imap_fetch_free(&f);
	b.len -= 4;
	buf_puts(&b, " X)]\r\n");
	c = cmd(buf_cstr(&b));
	TEST_ASSERT(imap_args_parse_fetch(c->args, c->count, false, &f,
	    &error) < 0);

	buf_reset(&b);
	buf_puts(&b, "a FETCH 1 BODY[HEADER.FIELDS (");
	for (i = 0; i < IMAP_FETCH_FIELD_LEN_MAX; i++)
		buf_putc(&b, 'x');
	buf_puts(&b, ")]\r\n");
	c = cmd(buf_cstr(&b));
	TEST_ASSERT(imap_args_parse_fetch(c->args, c->count, false, &f,
	    &error) == 0);
	imap_fetch_free(&f);
	b.len -= 4;
	buf_puts(&b, "x)]\r\n");
	c = cmd(buf_cstr(&b));
	TEST_ASSERT(imap_args_parse_fetch(c->args, c->count, false, &f,
	    &error) < 0);
	buf_free(&b);
}

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

/* ------------------------------------------------------------------ */
/* Mailbox names */

static void
test_mailbox_names(void)
{
	static const struct {
		const char *mutf7, *utf8;
	} pairs[] = {
		{ "INBOX", "INBOX" },
		{ "&ZeVnLIqe-", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" },
		{ "Entw&APw-rfe", "Entw\xc3\xbcrfe" },
		{ "a&-b", "a&b" },
		{ "&-", "&" },
		{ "&2D3eAA-x", "\xf0\x9f\x98\x80x" },
		{ "~peter/mail/&U,BTFw-/&ZeVnLIqe-",
		  "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
		  "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" },
		{ "&AOkA6QDp-", "\xc3\xa9\xc3\xa9\xc3\xa9" },
		{ "", "" },
	};
	static const char *const bad_mutf7[] = {
		"&", "&Jjo", "&Jjo!-", "&AGE-", "&2D3-", "&3gA-",
		"&2D3YPQ-", "&AOk-&", "a\xc3\xa9", "tab\there", "&AOkA-",
		"&AOl-", "&-&", "&ZeVnLIqe", "&AAA-",
	};
	static const char *const bad_utf8[] = {
		"\xc3", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		"a\xff", "\xe6\x97",
	};
	static const char *const bad_names[] = {	/* valid UTF-8 */
		"a\x01", "a\x7f", "\xc2\x85", "a\r\nb",
	};
	const char *error;
	char *s;
	size_t i;

	for (i = 0; i < N(pairs); i++) {
		s = imap_mailbox_decode(pairs[i].mutf7, strlen(pairs[i].mutf7),
		    false, &error);
		TEST_ASSERT(s != NULL);
		TEST_ASSERT_STREQ(s, pairs[i].utf8);
		free(s);
		s = imap_mailbox_encode_mutf7(pairs[i].utf8);
		TEST_ASSERT(s != NULL);
		TEST_ASSERT_STREQ(s, pairs[i].mutf7);
		free(s);
		s = imap_mailbox_decode(pairs[i].utf8, strlen(pairs[i].utf8),
		    true, &error);
		TEST_ASSERT(s != NULL);
		TEST_ASSERT_STREQ(s, pairs[i].utf8);
		free(s);
	}
	for (i = 0; i < N(bad_mutf7); i++) {
		error = NULL;
		s = imap_mailbox_decode(bad_mutf7[i], strlen(bad_mutf7[i]),
		    false, &error);
		if (s != NULL)
			fprintf(stderr, "  accepted %s as %s\n", bad_mutf7[i],
			    s);
		TEST_ASSERT(s == NULL && error != NULL);
	}
	for (i = 0; i < N(bad_utf8); i++) {
		TEST_ASSERT(imap_mailbox_decode(bad_utf8[i],
		    strlen(bad_utf8[i]), true, &error) == NULL);
		TEST_ASSERT(imap_mailbox_encode_mutf7(bad_utf8[i]) == NULL);
	}
	for (i = 0; i < N(bad_names); i++) {
		TEST_ASSERT(imap_mailbox_decode(bad_names[i],
		    strlen(bad_names[i]), true, &error) == NULL);
		TEST_ASSERT(imap_mailbox_decode(bad_names[i],
		    strlen(bad_names[i]), false, &error) == NULL);
		/* a control encoded in modified UTF-7 is refused too */
		s = imap_mailbox_encode_mutf7(bad_names[i]);
		TEST_ASSERT(s != NULL);
		TEST_ASSERT(imap_mailbox_decode(s, strlen(s), false,
		    &error) == NULL);
		free(s);
	}
	TEST_ASSERT(imap_mailbox_decode("a\0b", 3, true, &error) == NULL);
	TEST_ASSERT(imap_mailbox_decode("a\0b", 3, false, &error) == NULL);
	/* INBOX is case-insensitive; other names are not touched */
	s = imap_mailbox_decode("iNbOx", 5, false, &error);
	TEST_ASSERT_STREQ(s, "INBOX");
	free(s);
	s = imap_mailbox_decode("inbox/Sub", 9, true, &error);
	TEST_ASSERT_STREQ(s, "inbox/Sub");
	free(s);
	/* length */
	s = xmalloc(IMAP_MAILBOX_NAME_MAX + 2);
	memset(s, 'a', IMAP_MAILBOX_NAME_MAX + 1);
	TEST_ASSERT(imap_mailbox_decode(s, IMAP_MAILBOX_NAME_MAX + 1, true,
	    &error) == NULL);
	free(imap_mailbox_decode(s, IMAP_MAILBOX_NAME_MAX, true, &error));
	free(s);
}

/* Every UTF-8 name round-trips through modified UTF-7. */
static void
test_mutf7_round_trip(void)
{
	static const uint32_t cps[] = {
		'a', '&', '-', ' ', '~', 0xa0, 0xe9, 0x7ff, 0x800, 0xfffd,
		0xd7ff, 0xe000, 0x10000, 0x1f600, 0x10ffff,
	};
	uint32_t state = 99;
	struct buf b;
	char *enc, *dec;
	const char *error;
	int round, k, n;
	uint32_t cp;

	for (round = 0; round < 2000; round++) {
		buf_init(&b, 0);
		n = 1 + round % 9;
		for (k = 0; k < n; k++) {
			state = state * 1103515245u + 12345u;
			cp = cps[(state >> 8) % (sizeof(cps) / sizeof(cps[0]))];
			if (cp < 0x80)
				buf_putc(&b, (char)cp);
			else if (cp < 0x800) {
				buf_putc(&b, (char)(0xc0 | (cp >> 6)));
				buf_putc(&b, (char)(0x80 | (cp & 0x3f)));
			} else if (cp < 0x10000) {
				buf_putc(&b, (char)(0xe0 | (cp >> 12)));
				buf_putc(&b, (char)(0x80 | ((cp >> 6) & 0x3f)));
				buf_putc(&b, (char)(0x80 | (cp & 0x3f)));
			} else {
				buf_putc(&b, (char)(0xf0 | (cp >> 18)));
				buf_putc(&b, (char)(0x80 | ((cp >> 12) & 0x3f)));
				buf_putc(&b, (char)(0x80 | ((cp >> 6) & 0x3f)));
				buf_putc(&b, (char)(0x80 | (cp & 0x3f)));
			}
		}
		enc = imap_mailbox_encode_mutf7(buf_cstr(&b));
		TEST_ASSERT(enc != NULL);
		dec = imap_mailbox_decode(enc, strlen(enc), false, &error);
		if (dec == NULL || strcmp(dec, buf_cstr(&b)) != 0)
			fprintf(stderr, "  round trip failed: %s\n", enc);
		TEST_ASSERT(dec != NULL);
		TEST_ASSERT_STREQ(dec, buf_cstr(&b));
		free(enc);
		free(dec);
		buf_free(&b);
	}
}

static void
test_list_match(void)
{
	static const struct {
		const char *pattern, *name;
		char sep;
		bool match;
	} cases[] = {
		{ "*", "anything/at/all", '/', true },
		{ "%", "top", '/', true },
		{ "%", "top/sub", '/', false },
		{ "%/%", "top/sub", '/', true },
		{ "top/*", "top/sub/deeper", '/', true },
		{ "top/%", "top/sub/deeper", '/', false },
		{ "top/%", "top/", '/', true },
		{ "top", "top", '/', true },
		{ "top", "Top", '/', false },
		{ "t*p", "top/a/p", '/', true },
		{ "t%p", "top/a/p", '/', false },
		{ "", "", '/', true },
		{ "", "a", '/', false },
		{ "a", "", '/', false },
		{ "%", "", '/', true },
		{ "inbox", "INBOX", '/', true },
		{ "InBox/%", "INBOX/Sub", '/', true },
		{ "inbox/sub", "INBOX/Sub", '/', false },
		{ "inboxes", "INBOXES", '/', false },
		{ "%", "a.b", '\0', true },
		{ "%.%", "a.b", '.', true },
		{ "*%*%*%*%*%*%*%*%*%*%*%*%*%*%*%*%x",
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaay",
		  '/', false },
		{ "**a", "ba", '/', true },
		{ "%%/%", "ab/c", '/', true },
	};
	size_t i;

	for (i = 0; i < N(cases); i++) {
		if (imap_list_match(cases[i].pattern, cases[i].name,
		    cases[i].sep) != cases[i].match)
			fprintf(stderr, "  %s ~ %s\n", cases[i].pattern,
			    cases[i].name);
		TEST_ASSERT(imap_list_match(cases[i].pattern, cases[i].name,
		    cases[i].sep) == cases[i].match);
	}
}

int
main(void)
{
	TEST_RUN(test_numbers);
	TEST_RUN(test_dates);
	TEST_RUN(test_seqset);
	TEST_RUN(test_flags);
	TEST_RUN(test_search);
	TEST_RUN(test_search_options);
	TEST_RUN(test_fetch);
	TEST_RUN(test_fetch_section_detail);
	TEST_RUN(test_fetch_section_limits);
	TEST_RUN(test_store);
	TEST_RUN(test_status);
	TEST_RUN(test_list);
	TEST_RUN(test_select);
	TEST_RUN(test_append);
	TEST_RUN(test_mailbox_names);
	TEST_RUN(test_mutf7_round_trip);
	TEST_RUN(test_list_match);
	imap_parser_destroy(&parser);
	return test_done("test-imap-args");
}
