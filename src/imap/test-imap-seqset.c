/*
 * test-imap-seqset - unit tests for sequence sets (imap_seqset.c).
 * Commands go through imap_parser first (test-imap-args.h).
 *
 * Trust: test code.
 */
#include "imap/test-imap-args.h"

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
		/* 4294967295 is a number, not "*" (issue 12) */
		{ "4294967295", 10, "4294967295" },
		{ "1:4294967295", 5, "1:4294967295" },
		{ "4294967295:*", 7, "7:4294967295" },
		{ "6:4294967295,1:*", 3, "1:3,6:4294967295" },
	};
	static const char *const bad[] = {
		"", "0", "01", "1:", ":1", "1,,2", "1,", ",1", "a", "1:2:3",
		"4294967296", "99999999999", "$", "1 2", "-1", "**", "1:0",
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
	imap_seqset_free(&set);
	TEST_ASSERT(imap_seqset_parse("*:4294967295", false, &set, &error) ==
	    0 && imap_seqset_has_star(&set));
	s = seq_str(&set);
	TEST_ASSERT_STREQ(s, "*:4294967295");
	free(s);
	imap_seqset_free(&set);
	TEST_ASSERT(imap_seqset_parse("4294967295", false, &set, &error) ==
	    0 && !imap_seqset_has_star(&set));
	imap_seqset_resolve(&set, 3);
	TEST_ASSERT(imap_seqset_contains(&set, 4294967295u) &&
	    !imap_seqset_contains(&set, 3));
	imap_seqset_free(&set);
	TEST_ASSERT(imap_seqset_parse("7:*,2,4:5", false, &set, &error) ==
	    0);
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

int
main(void)
{
	TEST_RUN(test_seqset);
	imap_parser_destroy(&parser);
	return test_done("test-imap-seqset");
}
