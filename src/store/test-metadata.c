/*
 * test-metadata - unit tests for the per-user METADATA entries
 * (metadata.c): get with depth, set and remove, rename and delete of
 * mailboxes, the per-user limits.
 *
 * Trust: test code.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/metadata.h"
#include "util/log.h"
#include "util/test.h"
#include "util/xmalloc.h"

#include "store/test-mailbox.h"

static void
test_metadata(void)
{
	struct mdata *m = NULL;
	struct mdata_entry *l = NULL;
	size_t n = 0;
	const char *want[] = { "/private/a" };
	const char *top[] = { "/private", "/shared" };

	setup();
	TEST_ASSERT(mdata_open(tbox, false, &m, NULL) == 0 && m == NULL);
	TEST_ASSERT(mdata_mailbox_deleted(tbox, "X", NULL) == 0);
	TEST_ASSERT(mdata_open(tbox, true, &m, NULL) == 0 && m != NULL);
	struct mdata_change c[] = {
		{ "/private/a", "1", 1 }, { "/private/a/b", "22", 2 },
		{ "/private/a/b/c", "333", 3 }, { "/private/ab", "4", 1 },
		{ "/shared/a", "s\0t", 3 },
	};
	TEST_ASSERT(mdata_set(m, "Work", c, 5, NULL) == 0);
	TEST_ASSERT(mdata_set(m, "Work/Sub", c, 1, NULL) == 0);
	TEST_ASSERT(mdata_get(m, "Work", want, 1, 0, &l, &n, NULL) == 0);
	TEST_ASSERT(n == 1 && strcmp(l[0].value, "1") == 0);
	mdata_entries_free(l, n);
	TEST_ASSERT(mdata_get(m, "Work", want, 1, 1, &l, &n, NULL) == 0);
	TEST_ASSERT(n == 2 && strcmp(l[1].entry, "/private/a/b") == 0);
	mdata_entries_free(l, n);
	TEST_ASSERT(mdata_get(m, "Work", top, 2, -1, &l, &n, NULL) == 0);
	TEST_ASSERT(n == 5 && l[4].len == 3 && memcmp(l[4].value, "s\0t",
	    3) == 0);
	mdata_entries_free(l, n);
	/* NIL removes */
	struct mdata_change del = { "/private/ab", NULL, 0 };
	TEST_ASSERT(mdata_set(m, "Work", &del, 1, NULL) == 0);
	mdata_close(&m);
	/* rename moves children; delete takes only the mailbox's own */
	TEST_ASSERT(mdata_mailbox_renamed(tbox, "Work", "Job", NULL) == 0);
	TEST_ASSERT(mdata_mailbox_renamed(tbox, "INBOX", "Old", NULL) == 0);
	TEST_ASSERT(mdata_open(tbox, false, &m, NULL) == 0 && m != NULL);
	TEST_ASSERT(mdata_get(m, "Job/Sub", want, 1, 0, &l, &n, NULL) == 0);
	TEST_ASSERT(n == 1);
	mdata_entries_free(l, n);
	TEST_ASSERT(mdata_get(m, "Work", top, 2, -1, &l, &n, NULL) == 0);
	TEST_ASSERT(n == 0);
	mdata_entries_free(l, n);
	mdata_close(&m);
	TEST_ASSERT(mdata_mailbox_deleted(tbox, "Job", NULL) == 0);
	TEST_ASSERT(mdata_open(tbox, false, &m, NULL) == 0);
	TEST_ASSERT(mdata_get(m, "Job", top, 2, -1, &l, &n, NULL) == 0);
	TEST_ASSERT(n == 0);
	mdata_entries_free(l, n);
	TEST_ASSERT(mdata_get(m, "Job/Sub", top, 2, -1, &l, &n, NULL) == 0);
	TEST_ASSERT(n == 1);
	mdata_entries_free(l, n);
	mdata_close(&m);
	teardown();
}

static void
test_metadata_limits(void)
{
	struct mdata *m = NULL;
	struct mdata_change *c = xcalloc(MDATA_ENTRIES_MAX, sizeof(*c));
	char **names = xcalloc(MDATA_ENTRIES_MAX, sizeof(*names));
	char *big = xmalloc(MDATA_VALUE_MAX);
	char *err = NULL;

	setup();
	memset(big, 'v', MDATA_VALUE_MAX);
	TEST_ASSERT(mdata_open(tbox, true, &m, NULL) == 0);
	for (int i = 0; i < MDATA_ENTRIES_MAX; i++) {
		names[i] = xasprintf("/private/e%d", i);
		c[i].entry = names[i];
		c[i].value = "v";
		c[i].len = 1;
	}
	TEST_ASSERT(mdata_set(m, "", c, MDATA_ENTRIES_MAX, NULL) == 0);
	struct mdata_change one = { "/private/more", "v", 1 };
	TEST_ASSERT(mdata_set(m, "INBOX", &one, 1, &err) ==
	    MDATA_ERR_TOOMANY);
	free(err);
	/* at the limit: replacing is fine, growing the octets is bounded */
	struct mdata_change rep = { "/private/e0", big, MDATA_VALUE_MAX };
	for (int i = 0; i < 15; i++) {
		rep.entry = names[i];
		TEST_ASSERT(mdata_set(m, "", &rep, 1, NULL) == 0);
	}
	rep.entry = names[16];
	err = NULL;
	TEST_ASSERT(mdata_set(m, "", &rep, 1, &err) == MDATA_ERR_TOOMANY);
	free(err);
	mdata_close(&m);
	for (int i = 0; i < MDATA_ENTRIES_MAX; i++)
		free(names[i]);
	free(names);
	free(c);
	free(big);
	teardown();
}

int
main(void)
{
	TEST_RUN(test_metadata);
	TEST_RUN(test_metadata_limits);
	return test_done("test-metadata");
}
