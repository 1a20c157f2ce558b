/*
 * test-mailbox-linger - unit tests for src/store/mailbox_linger.c: a
 * lingering user stays open (found without a worker) with its folder
 * loaded, a second linger renews rather than doubles, the sweep ends it,
 * and the table's bound closes the oldest.
 *
 * Trust: test code. Maildirs under a fresh /tmp directory.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/mailbox.h"
#include "store/mailbox_int.h"
#include "store/maildir.h"
#include "util/hashmap.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/test.h"
#include "util/xmalloc.h"

static char *troot;

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

/* The Maildir root troot/box<i>, made if missing (a new string). */
static char *
box(int i)
{
	char *p = xasprintf("%s/box%d", troot, i);

	if (mbox_folder_exists(p) < 0 && maildir_make(p) < 0)
		log_fatal("maildir_make: %s", strerror(errno));
	return p;
}

static struct mbox_user *
uopen(const char *root)
{
	struct mbox_user *u = NULL;
	char *err = NULL;

	if (mbox_user_open(root, &u, &err) < 0)
		log_fatal("mbox_user_open: %s", err);
	return u;
}

/* Whether u's INBOX is loaded (in its folder map). */
static bool
inbox_loaded(struct mbox_user *u)
{
	bool r;

	mbox_lock(&u->mu, MBOX_LK_USER);
	r = hashmap_get(u->folders, "") != NULL;
	mbox_unlock(&u->mu, MBOX_LK_USER);
	return r;
}

static void
test_linger_keeps_and_sweep_ends(void)
{
	char *root = box(0);
	struct mbox_user *u = uopen(root), *found;
	struct mbox_view *v = NULL;
	char *err = NULL;

	TEST_ASSERT(mbox_view_open(u, "INBOX", false, &v, &err) == 0);
	mbox_user_linger(&u, v);
	TEST_ASSERT(u == NULL);
	mbox_view_close(&v);
	/* still open, INBOX still loaded, found without blocking */
	found = mbox_user_find(root);
	TEST_ASSERT(found != NULL);
	TEST_ASSERT(inbox_loaded(found));
	/* a second linger of the same user renews its one entry */
	mbox_user_linger(&found, NULL);
	mbox_linger_sweep(false);		/* not expired */
	found = mbox_user_find(root);
	TEST_ASSERT(found != NULL);
	TEST_ASSERT(found->refs == 2);		/* the linger's and ours */
	mbox_user_unref(&found);
	mbox_linger_sweep(true);
	TEST_ASSERT(mbox_user_find(root) == NULL);	/* closed */
	free(root);
}

static void
test_linger_bound(void)
{
	char *first = box(1);
	struct mbox_user *u = uopen(first);

	mbox_user_linger(&u, NULL);
	for (int i = 2; i < MBOX_LINGER_MAX + 2; i++) {
		char *r = box(i);
		struct mbox_user *o = uopen(r);

		mbox_user_linger(&o, NULL);
		free(r);
	}
	/* MBOX_LINGER_MAX newer ones pushed the first out, not the second */
	TEST_ASSERT(mbox_user_find(first) == NULL);
	free(first);
	first = box(2);
	u = mbox_user_find(first);
	TEST_ASSERT(u != NULL);
	mbox_user_unref(&u);
	mbox_linger_sweep(true);
	TEST_ASSERT(mbox_user_find(first) == NULL);
	free(first);
}

int
main(void)
{
	char tmpl[] = "/tmp/tem-test-linger.XXXXXX";

	log_init(LOG_WARN);
	loop_global_init();
	if (mkdtemp(tmpl) == NULL)
		log_fatal("mkdtemp: %s", strerror(errno));
	troot = xstrdup(tmpl);
	TEST_RUN(test_linger_keeps_and_sweep_ends);
	TEST_RUN(test_linger_bound);
	mbox_linger_sweep(true);
	mbox_shutdown();
	nftw(troot, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(troot);
	return test_done("test-mailbox-linger");
}
