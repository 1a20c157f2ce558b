/*
 * test-mailbox-acl - RFC 4314 rights letters (parse and format, the
 * obsolete c and d) and the ACL table (set, replace, remove, rights of a
 * user with "anyone", folders shared with a user, rename with children,
 * drop, the per-folder limit, the change serial, a reopen).
 *
 * Trust: test code.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/mailbox.h"
#include "store/mailbox_acl.h"
#include "util/test.h"

static char dir[64];

static void
test_parse(void)
{
	unsigned r;
	char bad = 0, out[MBOX_ACL_STR_MAX];

	TEST_ASSERT(mbox_acl_parse("", &r, &bad) == 0 && r == 0);
	TEST_ASSERT(mbox_acl_parse("lrswipkxtea", &r, &bad) == 0);
	TEST_ASSERT(r == MBOX_ACL_ALL);
	TEST_ASSERT(mbox_acl_parse("rl", &r, &bad) == 0);
	TEST_ASSERT(r == (MBOX_ACL_LOOKUP | MBOX_ACL_READ));
	TEST_ASSERT(mbox_acl_parse("c", &r, &bad) == 0);
	TEST_ASSERT(r == (MBOX_ACL_CREATE | MBOX_ACL_DELETE));
	TEST_ASSERT(mbox_acl_parse("d", &r, &bad) == 0);
	TEST_ASSERT(r == (MBOX_ACL_DELMSG | MBOX_ACL_EXPUNGE));
	TEST_ASSERT(mbox_acl_parse("lrZ", &r, &bad) < 0 && bad == 'Z');
	TEST_ASSERT(mbox_acl_parse("L", &r, &bad) < 0 && bad == 'L');
	TEST_ASSERT(mbox_acl_parse("+r", &r, &bad) < 0 && bad == '+');
	TEST_ASSERT(mbox_acl_parse("0", &r, &bad) < 0);
	mbox_acl_format(0, out);
	TEST_ASSERT_STREQ(out, "");
	mbox_acl_format(MBOX_ACL_ALL, out);
	TEST_ASSERT_STREQ(out, "lrswipkxteacd");
	mbox_acl_format(MBOX_ACL_READ | MBOX_ACL_LOOKUP, out);
	TEST_ASSERT_STREQ(out, "lr");
	mbox_acl_format(MBOX_ACL_CREATE, out);
	TEST_ASSERT_STREQ(out, "kc");
	mbox_acl_format(MBOX_ACL_EXPUNGE | MBOX_ACL_ADMIN, out);
	TEST_ASSERT_STREQ(out, "ead");
	/* every letter round-trips through its bit */
	for (const char *p = "lrswipkxtea"; *p; p++) {
		char one[2] = { *p, '\0' };
		TEST_ASSERT(mbox_acl_parse(one, &r, &bad) == 0);
		mbox_acl_format(r, out);
		TEST_ASSERT(out[0] == *p);
	}
}

static unsigned
rights_of(const char *owner, const char *folder, const char *user)
{
	unsigned r = 0xffff;

	if (mbox_acl_rights(dir, owner, folder, user, &r, NULL) < 0)
		return 0xffff;
	return r;
}

static void
test_set_get_rights(void)
{
	struct mbox_acl_entry *e;
	size_t n;
	uint64_t s0 = mbox_acl_serial();

	TEST_ASSERT(rights_of("a@x.test", "F", "b@x.test") == 0);
	TEST_ASSERT(mbox_acl_set(dir, "a@x.test", "F", "b@x.test",
	    MBOX_ACL_LOOKUP | MBOX_ACL_READ, NULL) == 0);
	TEST_ASSERT(mbox_acl_serial() > s0);
	TEST_ASSERT(rights_of("a@x.test", "F", "b@x.test") ==
	    (MBOX_ACL_LOOKUP | MBOX_ACL_READ));
	/* the user's own entry and anyone's add up */
	TEST_ASSERT(mbox_acl_set(dir, "a@x.test", "F", MBOX_ACL_ANYONE,
	    MBOX_ACL_SEEN, NULL) == 0);
	TEST_ASSERT(rights_of("a@x.test", "F", "b@x.test") ==
	    (MBOX_ACL_LOOKUP | MBOX_ACL_READ | MBOX_ACL_SEEN));
	TEST_ASSERT(rights_of("a@x.test", "F", "c@x.test") == MBOX_ACL_SEEN);
	/* other folders and owners are not touched */
	TEST_ASSERT(rights_of("a@x.test", "G", "b@x.test") == 0);
	TEST_ASSERT(rights_of("z@x.test", "F", "b@x.test") == 0);
	/* replace, then list sorted by identifier */
	TEST_ASSERT(mbox_acl_set(dir, "a@x.test", "F", "b@x.test",
	    MBOX_ACL_ADMIN, NULL) == 0);
	TEST_ASSERT(mbox_acl_get(dir, "a@x.test", "F", &e, &n, NULL) == 0);
	TEST_ASSERT(n == 2);
	TEST_ASSERT_STREQ(e[0].ident, "anyone");
	TEST_ASSERT(e[0].rights == MBOX_ACL_SEEN);
	TEST_ASSERT_STREQ(e[1].ident, "b@x.test");
	TEST_ASSERT(e[1].rights == MBOX_ACL_ADMIN);
	mbox_acl_entries_free(e, n);
	/* 0 removes the entry */
	s0 = mbox_acl_serial();
	TEST_ASSERT(mbox_acl_set(dir, "a@x.test", "F", "b@x.test", 0,
	    NULL) == 0);
	TEST_ASSERT(mbox_acl_serial() > s0);
	TEST_ASSERT(mbox_acl_get(dir, "a@x.test", "F", &e, &n, NULL) == 0);
	TEST_ASSERT(n == 1);
	mbox_acl_entries_free(e, n);
	/* removing what is not there changes nothing */
	s0 = mbox_acl_serial();
	TEST_ASSERT(mbox_acl_set(dir, "a@x.test", "F", "q@x.test", 0,
	    NULL) == 0);
	TEST_ASSERT(mbox_acl_serial() == s0);
}

static void
test_shared_with(void)
{
	struct mbox_acl_share *s;
	size_t n;

	TEST_ASSERT(mbox_acl_set(dir, "o1@x.test", "B", "u@x.test",
	    MBOX_ACL_LOOKUP, NULL) == 0);
	TEST_ASSERT(mbox_acl_set(dir, "o1@x.test", "A", "u@x.test",
	    MBOX_ACL_READ, NULL) == 0);
	TEST_ASSERT(mbox_acl_set(dir, "o1@x.test", "A", MBOX_ACL_ANYONE,
	    MBOX_ACL_LOOKUP, NULL) == 0);
	TEST_ASSERT(mbox_acl_set(dir, "o2@x.test", "C", "v@x.test",
	    MBOX_ACL_LOOKUP, NULL) == 0);
	/* the user's own folder shared with anyone is not listed */
	TEST_ASSERT(mbox_acl_set(dir, "u@x.test", "Mine", MBOX_ACL_ANYONE,
	    MBOX_ACL_LOOKUP, NULL) == 0);
	TEST_ASSERT(mbox_acl_shared_with(dir, "u@x.test", &s, &n, NULL) == 0);
	/* o1's A (merged with anyone), o1's B; F of a@x.test via anyone */
	TEST_ASSERT(n == 3);
	TEST_ASSERT_STREQ(s[0].owner, "a@x.test");
	TEST_ASSERT_STREQ(s[0].folder, "F");
	TEST_ASSERT_STREQ(s[1].owner, "o1@x.test");
	TEST_ASSERT_STREQ(s[1].folder, "A");
	TEST_ASSERT(s[1].rights == (MBOX_ACL_LOOKUP | MBOX_ACL_READ));
	TEST_ASSERT_STREQ(s[2].folder, "B");
	mbox_acl_shares_free(s, n);
}

/* RFC 4314 2: "-ident" takes rights away from what ident and anyone
   grant, also in the list of folders shared with a user. */
static void
test_negative_rights(void)
{
	struct mbox_acl_share *s;
	size_t n, i;
	bool listed = false;

	TEST_ASSERT(mbox_acl_set(dir, "n@x.test", "N", MBOX_ACL_ANYONE,
	    MBOX_ACL_LOOKUP | MBOX_ACL_READ | MBOX_ACL_SEEN, NULL) == 0);
	TEST_ASSERT(mbox_acl_set(dir, "n@x.test", "N", "w@x.test",
	    MBOX_ACL_WRITE, NULL) == 0);
	TEST_ASSERT(mbox_acl_set(dir, "n@x.test", "N", "-w@x.test",
	    MBOX_ACL_SEEN | MBOX_ACL_WRITE, NULL) == 0);
	TEST_ASSERT(rights_of("n@x.test", "N", "w@x.test") ==
	    (MBOX_ACL_LOOKUP | MBOX_ACL_READ));
	TEST_ASSERT(rights_of("n@x.test", "N", "y@x.test") ==
	    (MBOX_ACL_LOOKUP | MBOX_ACL_READ | MBOX_ACL_SEEN));
	/* -anyone applies to everyone, even with a positive entry */
	TEST_ASSERT(mbox_acl_set(dir, "n@x.test", "N", "-anyone",
	    MBOX_ACL_READ, NULL) == 0);
	TEST_ASSERT(rights_of("n@x.test", "N", "y@x.test") ==
	    (MBOX_ACL_LOOKUP | MBOX_ACL_SEEN));
	TEST_ASSERT(rights_of("n@x.test", "N", "w@x.test") == MBOX_ACL_LOOKUP);
	/* all taken away: not shared with the user any more */
	TEST_ASSERT(mbox_acl_set(dir, "n@x.test", "N", "-w@x.test",
	    MBOX_ACL_ALL, NULL) == 0);
	TEST_ASSERT(rights_of("n@x.test", "N", "w@x.test") == 0);
	TEST_ASSERT(mbox_acl_shared_with(dir, "w@x.test", &s, &n, NULL) == 0);
	for (i = 0; i < n; i++)
		listed |= strcmp(s[i].owner, "n@x.test") == 0;
	TEST_ASSERT(!listed);
	mbox_acl_shares_free(s, n);
	TEST_ASSERT(mbox_acl_shared_with(dir, "y@x.test", &s, &n, NULL) == 0);
	for (i = 0; i < n; i++)
		if (strcmp(s[i].owner, "n@x.test") == 0)
			TEST_ASSERT(s[i].rights == (MBOX_ACL_LOOKUP |
			    MBOX_ACL_SEEN));
	mbox_acl_shares_free(s, n);
	TEST_ASSERT(mbox_acl_drop(dir, "n@x.test", "N", NULL) == 0);
}

static void
test_rename_and_drop(void)
{
	TEST_ASSERT(mbox_acl_set(dir, "r@x.test", "P", "u@x.test",
	    MBOX_ACL_LOOKUP, NULL) == 0);
	TEST_ASSERT(mbox_acl_set(dir, "r@x.test", "P/k\xc3\xa9", "u@x.test",
	    MBOX_ACL_READ, NULL) == 0);
	TEST_ASSERT(mbox_acl_set(dir, "r@x.test", "PX", "u@x.test",
	    MBOX_ACL_SEEN, NULL) == 0);
	/* a stale row at the new name is replaced */
	TEST_ASSERT(mbox_acl_set(dir, "r@x.test", "Q", "u@x.test",
	    MBOX_ACL_ADMIN, NULL) == 0);
	TEST_ASSERT(mbox_acl_rename(dir, "r@x.test", "P", "Q", NULL) == 0);
	TEST_ASSERT(rights_of("r@x.test", "P", "u@x.test") == 0);
	TEST_ASSERT(rights_of("r@x.test", "Q", "u@x.test") == MBOX_ACL_LOOKUP);
	TEST_ASSERT(rights_of("r@x.test", "Q/k\xc3\xa9", "u@x.test") ==
	    MBOX_ACL_READ);
	/* "PX" is no child of "P" */
	TEST_ASSERT(rights_of("r@x.test", "PX", "u@x.test") == MBOX_ACL_SEEN);
	TEST_ASSERT(mbox_acl_drop(dir, "r@x.test", "Q", NULL) == 0);
	TEST_ASSERT(rights_of("r@x.test", "Q", "u@x.test") == 0);
	TEST_ASSERT(rights_of("r@x.test", "Q/k\xc3\xa9", "u@x.test") ==
	    MBOX_ACL_READ);
}

static void
test_limit_and_reopen(void)
{
	char ident[64], *err = NULL;

	for (int i = 0; i < MBOX_ACL_IDENTS_MAX; i++) {
		snprintf(ident, sizeof(ident), "u%d@x.test", i);
		TEST_ASSERT(mbox_acl_set(dir, "m@x.test", "Big", ident,
		    MBOX_ACL_LOOKUP, NULL) == 0);
	}
	TEST_ASSERT(mbox_acl_set(dir, "m@x.test", "Big", "one@x.test",
	    MBOX_ACL_LOOKUP, &err) == MBOX_ERR_LIMIT);
	TEST_ASSERT(err != NULL);
	free(err);
	/* an identifier already there may still change */
	TEST_ASSERT(mbox_acl_set(dir, "m@x.test", "Big", "u0@x.test",
	    MBOX_ACL_ALL, NULL) == 0);
	/* durable: a closed and reopened database has it */
	mbox_acl_shutdown();
	TEST_ASSERT(rights_of("m@x.test", "Big", "u0@x.test") == MBOX_ACL_ALL);
	/* a bad data_dir is an error, not a crash */
	TEST_ASSERT(mbox_acl_rights("/nonexistent/x", "m@x.test", "Big",
	    "u0@x.test", &(unsigned){ 0 }, &err) == MBOX_ERR_TEMP);
	free(err);
}

int
main(void)
{
	char cmd[128];

	snprintf(dir, sizeof(dir), "/tmp/test-acl-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	TEST_RUN(test_parse);
	TEST_RUN(test_set_get_rights);
	TEST_RUN(test_shared_with);
	TEST_RUN(test_negative_rights);
	TEST_RUN(test_rename_and_drop);
	TEST_RUN(test_limit_and_reopen);
	mbox_acl_shutdown();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		perror("rm");
	return test_done("test-mailbox-acl");
}
