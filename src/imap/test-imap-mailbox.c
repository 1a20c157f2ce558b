/*
 * test-imap-mailbox - unit tests for mailbox names and the LIST wildcard matcher (imap_mailbox.c).
 * Commands go through imap_parser first (test-imap-args.h).
 *
 * Trust: test code.
 */
#include "imap/test-imap-args.h"

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
	TEST_RUN(test_mailbox_names);
	TEST_RUN(test_mutf7_round_trip);
	TEST_RUN(test_list_match);
	imap_parser_destroy(&parser);
	return test_done("test-imap-mailbox");
}
