/*
 * test-imap-metadata - unit tests for the METADATA grammars and entry
 * names (imap_metadata_args.c). Commands go through imap_parser first
 * (test-imap-args.h).
 *
 * Trust: test code.
 */
#include "imap/imap_metadata.h"
#include "imap/test-imap-args.h"
#include "store/metadata.h"

static void
test_entries(void)
{
	static const char *const good[] = {
		"/private", "/shared", "/private/comment", "/Shared/Vendor/x-y",
		"/private/a b", "/shared/a/b/c",
	};
	static const char *const bad[] = {
		"", "/", "private", "/priv", "/privatex", "/other/x",
		"/private/", "/private//x", "/private/a*", "/private/a%b",
		"/private/\x01", "/private/\xc3\xa9",
	};
	const char *error;
	char *e, *deep, *lng;

	for (size_t i = 0; i < N(good); i++) {
		e = imap_metadata_entry(good[i], strlen(good[i]), false, &error);
		TEST_ASSERT(e != NULL);
		free(e);
	}
	for (size_t i = 0; i < N(bad); i++) {
		error = NULL;
		TEST_ASSERT(imap_metadata_entry(bad[i], strlen(bad[i]), false,
		    &error) == NULL && error != NULL);
	}
	e = imap_metadata_entry("/Shared/Vendor/X", 16, true, &error);
	TEST_ASSERT_STREQ(e, "/shared/vendor/x");
	free(e);
	TEST_ASSERT(imap_metadata_entry("/shared", 7, true, &error) == NULL);
	TEST_ASSERT(imap_metadata_entry("/private/a\0b", 12, false,
	    &error) == NULL);
	/* MDATA_DEPTH_MAX levels, MDATA_ENTRY_MAX octets */
	deep = xstrdup("/private");
	for (int i = 1; i < MDATA_DEPTH_MAX; i++) {
		char *d = xasprintf("%s/x", deep);
		free(deep);
		deep = d;
	}
	e = imap_metadata_entry(deep, strlen(deep), true, &error);
	TEST_ASSERT(e != NULL);
	free(e);
	lng = xasprintf("%s/x", deep);
	TEST_ASSERT(imap_metadata_entry(lng, strlen(lng), true,
	    &error) == NULL);
	free(lng);
	free(deep);
	lng = xmalloc(MDATA_ENTRY_MAX + 2);
	memcpy(lng, "/private/", 9);
	memset(lng + 9, 'a', MDATA_ENTRY_MAX + 1 - 9);
	lng[MDATA_ENTRY_MAX + 1] = '\0';
	e = imap_metadata_entry(lng, MDATA_ENTRY_MAX, true, &error);
	TEST_ASSERT(e != NULL);
	free(e);
	TEST_ASSERT(imap_metadata_entry(lng, MDATA_ENTRY_MAX + 1, true,
	    &error) == NULL);
	free(lng);
}

/* The getmetadata result of "a GETMETADATA " + args, or -1. */
static int
get(const char *args, struct imap_getmetadata *g)
{
	char *line = xasprintf("a GETMETADATA %s\r\n", args);
	const struct imap_command *c = cmd(line);
	const char *error;
	int r = c ? imap_args_parse_getmetadata(c->args, c->count, g,
	    &error) : -1;

	free(line);
	return r;
}

static void
test_getmetadata(void)
{
	struct imap_getmetadata g;
	static const char *const bad[] = {
		"INBOX", "INBOX ()", "INBOX /other", "(DEPTH 2) INBOX /private",
		"(DEPTH) INBOX /private", "(MAXSIZE x) INBOX /private",
		"(MAXSIZE 1 MAXSIZE 2) INBOX /private",
		"(FOO 1) INBOX /private", "INBOX (DEPTH 1) (MAXSIZE 1) /private",
		"(DEPTH 1) INBOX (MAXSIZE 1) /private", "INBOX NIL",
		"INBOX (/private NIL)", "(INBOX) /private",
	};

	TEST_ASSERT(get("INBOX /private/comment", &g) == 0);
	TEST_ASSERT_STREQ(g.mailbox, "INBOX");
	TEST_ASSERT(g.depth == 0 && !g.has_maxsize && g.n_entries == 1);
	TEST_ASSERT_STREQ(g.entries[0], "/private/comment");
	imap_getmetadata_free(&g);
	TEST_ASSERT(get("(MAXSIZE 1024 DEPTH infinity) \"\" "
	    "(/Shared/comment /private)", &g) == 0);
	TEST_ASSERT(g.mailbox_len == 0 && g.depth == -1 && g.has_maxsize &&
	    g.maxsize == 1024 && g.n_entries == 2);
	TEST_ASSERT_STREQ(g.entries[0], "/shared/comment");
	imap_getmetadata_free(&g);
	/* RFC 5464's examples put the options after the mailbox */
	TEST_ASSERT(get("\"INBOX\" (DEPTH 1) (/shared/a \"/private/b\")",
	    &g) == 0);
	TEST_ASSERT(g.depth == 1 && g.n_entries == 2);
	imap_getmetadata_free(&g);
	for (size_t i = 0; i < N(bad); i++) {
		TEST_ASSERT(get(bad[i], &g) < 0);
		TEST_ASSERT(g.mailbox == NULL && g.entries == NULL);
	}
}

static int
set(const char *text, size_t len, struct imap_setmetadata *sm)
{
	const struct imap_command *c = cmdn(text, len);
	const char *error;

	return c ? imap_args_parse_setmetadata(c->args, c->count, sm,
	    &error) : -1;
}

#define SET(s, sm) set(s, sizeof(s) - 1, sm)

static void
test_setmetadata(void)
{
	struct imap_setmetadata sm;

	TEST_ASSERT(SET("a SETMETADATA INBOX (/private/A \"x\" /shared/b NIL "
	    "/shared/c {3+}\r\nabc /shared/d ~{3+}\r\na\0b)\r\n", &sm) == 0);
	TEST_ASSERT(sm.n_values == 4 && sm.longest == 3);
	TEST_ASSERT_STREQ(sm.values[0].entry, "/private/a");
	TEST_ASSERT(sm.values[0].len == 1 && sm.values[1].value == NULL);
	TEST_ASSERT(sm.values[3].len == 3 &&
	    memcmp(sm.values[3].value, "a\0b", 3) == 0);
	imap_setmetadata_free(&sm);
	TEST_ASSERT(SET("a SETMETADATA INBOX ()\r\n", &sm) < 0);
	TEST_ASSERT(SET("a SETMETADATA INBOX (/private/a)\r\n", &sm) < 0);
	TEST_ASSERT(SET("a SETMETADATA INBOX (/private \"x\")\r\n", &sm) < 0);
	TEST_ASSERT(SET("a SETMETADATA INBOX (/private/a (x))\r\n", &sm) < 0);
	TEST_ASSERT(SET("a SETMETADATA INBOX /private/a \"x\"\r\n", &sm) < 0);
	TEST_ASSERT(SET("a SETMETADATA INBOX (/private/a \"x\" NIL \"y\")\r\n",
	    &sm) < 0);
	TEST_ASSERT(sm.values == NULL && sm.mailbox == NULL);
}

/* The parser refuses a SETMETADATA literal over its limit with RFC
 * 5464's NO, not the generic BAD [TOOBIG]. */
static void
test_parser_maxsize(void)
{
	struct imap_parser_limits lim;
	struct imap_parser *p;
	const char *in = "a SETMETADATA INBOX (/private/x {70000}\r\n";
	size_t used;

	imap_parser_limits_default(&lim);
	p = imap_parser_create(&lim);
	TEST_ASSERT(imap_parser_feed(p, in, strlen(in), &used) ==
	    IMAP_PARSE_ERROR);
	TEST_ASSERT(strncmp(imap_parser_error(p)->reply,
	    "NO [METADATA MAXSIZE 65536]", 27) == 0);
	imap_parser_destroy(&p);
}

int
main(void)
{
	TEST_RUN(test_entries);
	TEST_RUN(test_getmetadata);
	TEST_RUN(test_setmetadata);
	TEST_RUN(test_parser_maxsize);
	imap_parser_destroy(&parser);
	return test_done("test-imap-metadata");
}
