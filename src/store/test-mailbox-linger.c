/*
 * test-mailbox-linger - unit tests for src/store/mailbox_linger.c: a
 * lingering user stays open (found without a worker) with its folder
 * loaded, a second linger renews rather than doubles, the sweep ends it,
 * and the table's bound closes the oldest.
 *
 * Trust: test code. Maildirs under a fresh /tmp directory.
 */
#include "store/mailbox_int.h"
#include "store/test-mailbox.h"
#include "util/hashmap.h"
#include "util/loop.h"
#include "util/test.h"

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
uopen_at(const char *root)
{
	struct mbox_user *u = NULL;
	char *err = NULL;

	if (mbox_user_open(root, &u, &err) < 0)
		log_fatal("mbox_user_open: %s", err);
	return u;
}

/* Whether u's INBOX is loaded (in its folder map). */
static bool
inbox_loaded(struct mbox_user *pu)
{
	struct mbox_md_user *u = (struct mbox_md_user *)pu;
	bool r;

	mbox_lock(&u->mu, MBOX_LK_USER);
	r = hashmap_get(u->folders, "") != NULL;
	mbox_unlock(&u->mu, MBOX_LK_USER);
	return r;
}

static void
test_linger_keeps_and_sweep_ends(void)
{
	struct mbox_user *u, *found;
	struct mbox_view *v;

	setup();
	deliver_to(NULL, "Subject: kept\n\nbody\n");
	u = uopen();
	v = vopen(u, "INBOX", false);
	TEST_ASSERT(v != NULL);
	mbox_user_linger(&u, v);
	TEST_ASSERT(u == NULL);
	mbox_view_close(&v);
	/* still open, INBOX still loaded, found without blocking */
	found = mbox_user_find(tbox);
	TEST_ASSERT(found != NULL);
	TEST_ASSERT(inbox_loaded(found));
	/* a second linger of the same user renews its one entry */
	mbox_user_linger(&found, NULL);
	mbox_linger_sweep(false);		/* not expired */
	found = mbox_user_find(tbox);
	TEST_ASSERT(found != NULL);
	TEST_ASSERT(((struct mbox_md_user *)found)->refs == 2);		/* the linger's and ours */
	mbox_user_unref(&found);
	mbox_linger_sweep(true);
	TEST_ASSERT(mbox_user_find(tbox) == NULL);	/* closed */
}

static void
test_linger_bound(void)
{
	char *first;
	struct mbox_user *u;

	setup();
	first = box(1);
	u = uopen_at(first);

	mbox_user_linger(&u, NULL);
	for (int i = 2; i < MBOX_LINGER_MAX + 2; i++) {
		char *r = box(i);
		struct mbox_user *o = uopen_at(r);

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
	log_init(LOG_WARN);
	loop_global_init();
	TEST_RUN(test_linger_keeps_and_sweep_ends);
	TEST_RUN(test_linger_bound);
	mbox_linger_sweep(true);
	mbox_shutdown();
	teardown();
	return test_done("test-mailbox-linger");
}
