/*
 * test-mailbox-deliver - unit tests for what a delivery filter gets from
 * the store (mailbox_deliver.c) and for Maildir copies with their own
 * flags and header (maildir.c info / body_skip), read back through the
 * store as IMAP sees them.
 *
 * Trust: test code.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/mailbox.h"
#include "store/maildir.h"
#include "util/log.h"
#include "util/test.h"
#include "util/xmalloc.h"

#include "store/test-mailbox.h"

static char *
slurp(const char *path)
{
	char *data = xmalloc(4096);
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, data, 4095);

	if (fd >= 0)
		close(fd);
	data[n < 0 ? 0 : n] = '\0';
	return data;
}

static void
test_folders(void)
{
	char *dir = NULL, *err = NULL, *want, *subs;

	setup();
	TEST_ASSERT(mbox_deliver_folder(tbox, "INBOX", false, &dir, &err) == 0);
	TEST_ASSERT_STREQ(dir, tbox);
	XFREE(&dir);
	TEST_ASSERT(mbox_deliver_folder(tbox, NULL, true, &dir, &err) == 0);
	XFREE(&dir);
	TEST_ASSERT(mbox_deliver_folder(tbox, "Lists", false, &dir, &err) ==
	    MBOX_ERR_NONEXISTENT);
	TEST_ASSERT(dir == NULL);
	XFREE(&err);
	/* :create makes it (Maildir++ ".New.Sub") and subscribes it */
	TEST_ASSERT(mbox_deliver_folder(tbox, "New/Sub", true, &dir, &err) ==
	    0);
	want = xasprintf("%s/.New.Sub", tbox);
	TEST_ASSERT_STREQ(dir, want);
	XFREE(&dir);
	TEST_ASSERT(mbox_deliver_folder(tbox, "New/Sub", false, &dir, &err) ==
	    0);
	TEST_ASSERT_STREQ(dir, want);
	XFREE(&dir);
	free(want);
	want = xasprintf("%s/subscriptions", tbox);
	subs = slurp(want);
	TEST_ASSERT(strstr(subs, "New/Sub\n") != NULL);
	free(subs);
	free(want);
	/* a name the store would not write is refused, nothing made */
	TEST_ASSERT(mbox_deliver_folder(tbox, "a/../b", true, &dir, &err) < 0 ||
	    strstr(dir, "..") == NULL);
	XFREE(&dir);
	XFREE(&err);
	teardown();
}

static void
test_info_and_copies(void)
{
	const char *f1[] = { "\\Seen", "\\Flagged", "$Boss", "bad(kw",
	    "\\Unknown" };
	const char *f2[] = { "$Other", "$boss" };
	struct maildir_job job;
	struct maildir_rcpt r;
	struct mbox_user *u = NULL;
	struct mbox_view *v = NULL;
	struct mbox_msg_info mi;
	char *info, *err = NULL, *path, *kw, *data;

	setup();
	info = mbox_deliver_info(tbox, f1, 5);
	TEST_ASSERT_STREQ(info, "FSa");
	free(info);
	info = mbox_deliver_info(tbox, f2, 2);	/* keywords: any case */
	TEST_ASSERT_STREQ(info, "ab");
	free(info);
	info = mbox_deliver_info(tbox, f1, 2);
	TEST_ASSERT_STREQ(info, "FS");
	path = xasprintf("%s/keywords", tbox);
	kw = slurp(path);
	TEST_ASSERT_STREQ(kw, "a $Boss\nb $Other\n");
	free(kw);
	free(path);

	/* a copy with flags (into cur/) and its own header (skip the
	 * shared one) */
	memset(&job, 0, sizeof(job));
	memset(&r, 0, sizeof(r));
	r.maildir = xstrdup(tbox);
	r.prefix = xstrdup("Subject: new\n");
	r.prefix_len = strlen(r.prefix);
	r.body_skip = strlen("Subject: old\n");
	r.info = xstrdup("Fa");
	job.rcpts = &r;
	job.nrcpt = 1;
	job.body = "Subject: old\n\nbody\n";
	job.body_len = strlen(job.body);
	job.body_fd = -1;
	maildir_deliver_now(&job);
	TEST_ASSERT(r.result == 0);
	path = xasprintf("%s/cur/%s:2,Fa", tbox, r.filename);
	data = slurp(path);
	TEST_ASSERT_STREQ(data, "Subject: new\n\nbody\n");
	free(data);
	free(path);
	TEST_ASSERT(mbox_user_open(tbox, &u, &err) == 0);
	TEST_ASSERT(mbox_view_open(u, "INBOX", true, &v, &err) == 0);
	TEST_ASSERT(mbox_view_msg(v, 1, &mi) == 0);
	TEST_ASSERT(mi.flags & MBOX_F_FLAGGED);
	TEST_ASSERT(!(mi.flags & MBOX_F_SEEN));
	TEST_ASSERT(mi.keywords != 0);
	mbox_view_close(&v);
	mbox_user_unref(&u);
	free(info);
	free(r.maildir);
	free(r.prefix);
	free(r.info);
	free(r.filename);
	teardown();
}

int
main(void)
{
	TEST_RUN(test_folders);
	TEST_RUN(test_info_and_copies);
	mbox_shutdown();
	return test_done("test-mailbox-deliver");
}
