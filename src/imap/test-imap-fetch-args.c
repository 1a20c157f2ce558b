/*
 * test-imap-fetch-args - unit tests for the FETCH grammar (imap_fetch_args.c).
 * Commands go through imap_parser first (test-imap-args.h).
 *
 * Trust: test code.
 */
#include "imap/test-imap-args.h"

/* ------------------------------------------------------------------ */
/* FETCH */

static char *
fetch_str(const struct imap_fetch *f)
{
	static const char *const names[] = {
		"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY",
		"BODYSTRUCTURE", "UID", "MODSEQ", "RFC822", "RFC822.HEADER",
		"RFC822.TEXT", "SAVEDATE", "EMAILID", "THREADID",
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
	{ "1 (SAVEDATE EMAILID THREADID)", false,
	  "1 SAVEDATE EMAILID THREADID" },
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

int
main(void)
{
	TEST_RUN(test_fetch);
	TEST_RUN(test_fetch_section_detail);
	TEST_RUN(test_fetch_section_limits);
	imap_parser_destroy(&parser);
	return test_done("test-imap-fetch-args");
}
