/*
 * test-imap-catenate - the IMAP URLs of CATENATE's URL parts (RFC 5092
 * as imap_catenate.h limits it) and the part list behind the parser.
 */
#include <stdint.h>
#include <string.h>

#include "imap/imap_args.h"
#include "imap/imap_catenate.h"
#include "imap/imap_parser.h"
#include "util/test.h"

static int
parse(const char *s, struct imap_url *u, const char **error)
{
	return imap_url_parse(s, strlen(s), u, error);
}

static void
test_url_forms(void)
{
	struct imap_url u;
	const char *e = NULL;

	TEST_ASSERT(parse("/INBOX;UIDVALIDITY=385759045/;UID=20/;section="
	    "HEADER", &u, &e) == 0);
	TEST_ASSERT_STREQ(u.mailbox, "INBOX");
	TEST_ASSERT(u.uidvalidity == 385759045 && u.uid == 20);
	TEST_ASSERT_STREQ(u.section, "HEADER");
	TEST_ASSERT(u.user == NULL && !u.partial);
	imap_url_free(&u);

	TEST_ASSERT(parse("IMAP://fred%40a.test;AUTH=*@mail.a.test:143/"
	    "Caf%C3%A9/2024/;UID=7/;SECTION=1.2.MIME/;PARTIAL=10.20", &u,
	    &e) == 0);
	TEST_ASSERT_STREQ(u.user, "fred@a.test");
	TEST_ASSERT_STREQ(u.mailbox, "Caf\xc3\xa9/2024");
	TEST_ASSERT(u.uidvalidity == 0 && u.uid == 7);
	TEST_ASSERT_STREQ(u.section, "1.2.MIME");
	TEST_ASSERT(u.partial && u.offset == 10 && u.length == 20);
	imap_url_free(&u);

	TEST_ASSERT(parse("/Sent/;UID=4294967295/;PARTIAL=5", &u, &e) == 0);
	TEST_ASSERT(u.uid == UINT32_MAX && u.offset == 5 &&
	    u.length == UINT64_MAX && u.section == NULL);
	imap_url_free(&u);
}

static void
test_url_refused(void)
{
	static const char *const bad[] = {
		"", ";UID=1", "INBOX/;UID=1", "/INBOX", "/INBOX/;UID=0",
		"/INBOX/;UID=4294967296", "/;UID=1", "/INBOX;UIDVALIDITY=0/;UID=1",
		"/INBOX;UIDVALIDITY=x/;UID=1", "/INBOX/;UID=1/;URLAUTH=anon",
		"/INBOX/;UID=1/;SECTION=", "/INBOX/;UID=1/;SECTION=1.FOO",
		"/INBOX/;UID=1/;PARTIAL=1.0", "/INBOX/;UID=1/;PARTIAL=",
		"/IN%0ABOX/;UID=1", "/IN%zzBOX/;UID=1", "/IN BOX/;UID=1",
		"/%FF/;UID=1", "imap://host", "imap:///INBOX/;UID=1",
		"imap://u;X=y@h/INBOX/;UID=1", "imap://@h/INBOX/;UID=1",
		"/INBOX/;UID=1x", "/INBOX/;UID=1/", NULL,
	};
	struct imap_url u;

	for (int i = 0; bad[i] != NULL; i++) {
		const char *e = NULL;
		if (parse(bad[i], &u, &e) == 0) {
			fprintf(stderr, "  accepted: %s\n", bad[i]);
			TEST_ASSERT(0);
		}
		TEST_ASSERT(e != NULL && u.mailbox == NULL && u.user == NULL);
		imap_url_free(&u);
	}
}

/* TEXT literals inside CATENATE stream like messages, with indexes in
 * order; URL strings stay arguments. */
static void
test_parts_through_parser(void)
{
	static const char in[] = "t APPEND Drafts (\\Seen) CATENATE (URL "
	    "\"/INBOX/;UID=1\" TEXT {3+}\r\nabc TEXT ~{2+}\r\nde) {1+}\r\nx"
	    "\r\n";
	struct imap_parser_limits lim;
	struct imap_parser *p;
	struct imap_append a;
	const char *e = NULL;
	size_t pos = 0, used;
	unsigned chunks = 0;
	enum imap_parse_result r;

	imap_parser_limits_default(&lim);
	p = imap_parser_create(&lim);
	for (;;) {
		r = imap_parser_feed(p, in + pos, sizeof(in) - 1 - pos, &used);
		pos += used;
		if (r == IMAP_PARSE_LITERAL_STREAM) {
			chunks++;
			continue;
		}
		break;
	}
	TEST_ASSERT(r == IMAP_PARSE_COMMAND && chunks >= 3);
	{
		const struct imap_command *c = imap_parser_command(p);
		TEST_ASSERT(imap_args_parse_append(c->args, c->count, &a,
		    &e) == 0);
	}
	TEST_ASSERT(a.count == 2);
	TEST_ASSERT(a.msgs[0].n_parts == 3 && a.msgs[1].n_parts == 0);
	TEST_ASSERT_STREQ(a.msgs[0].parts[0].url, "/INBOX/;UID=1");
	TEST_ASSERT(a.msgs[0].parts[1].url == NULL &&
	    a.msgs[0].parts[1].size == 3 && a.msgs[0].parts[1].index == 0);
	TEST_ASSERT(a.msgs[0].parts[2].literal8 &&
	    a.msgs[0].parts[2].index == 1);
	TEST_ASSERT(a.msgs[1].index == 2 && a.msgs[1].size == 1);
	imap_append_free(&a);
	imap_parser_destroy(&p);
}

int
main(void)
{
	TEST_RUN(test_url_forms);
	TEST_RUN(test_url_refused);
	TEST_RUN(test_parts_through_parser);
	return test_done("test-imap-catenate");
}
