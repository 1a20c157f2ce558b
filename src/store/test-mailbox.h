/*
 * test-mailbox.h - the fixtures the store's unit tests share: a fresh
 * Maildir under /tmp per test (setup/teardown), deliveries as SMTP makes
 * them, and opening its store and views. Include it once, from a
 * test-*.c (a test need not use them all).
 *
 * Trust: test code.
 */
#ifndef TEM_TEST_MAILBOX_H
#define TEM_TEST_MAILBOX_H

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/mailbox.h"
#include "store/maildir.h"
#include "util/log.h"
#include "util/xmalloc.h"

static char *troot;	/* the temp dir */
static char *tbox;	/* troot/box: the Maildir root */

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static void
teardown(void)
{
	if (troot)
		nftw(troot, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	XFREE(&troot);
	XFREE(&tbox);
}

static void
setup(void)
{
	char tmpl[] = "/tmp/tem-test-mailbox.XXXXXX";

	teardown();
	if (mkdtemp(tmpl) == NULL)
		log_fatal("mkdtemp: %s", strerror(errno));
	troot = xstrdup(tmpl);
	tbox = xasprintf("%s/box", troot);
	if (maildir_make(tbox) < 0)
		log_fatal("maildir_make: %s", strerror(errno));
}

/* Delivers one message into folder dir (NULL: INBOX) as SMTP does. */
__attribute__((unused))
static void
deliver_to(const char *dir, const char *text)
{
	struct maildir_job job;
	struct maildir_rcpt r;

	memset(&job, 0, sizeof(job));
	memset(&r, 0, sizeof(r));
	r.maildir = dir ? xasprintf("%s/%s", tbox, dir) : xstrdup(tbox);
	job.rcpts = &r;
	job.nrcpt = 1;
	job.body = text;
	job.body_len = strlen(text);
	maildir_deliver_now(&job);
	if (r.result != 0)
		log_fatal("delivery failed: %s", strerror(r.result));
	free(r.maildir);
	free(r.filename);
}

__attribute__((unused))
static struct mbox_user *
uopen(void)
{
	struct mbox_user *u = NULL;
	char *err = NULL;

	if (mbox_user_open(tbox, &u, &err) < 0)
		log_fatal("mbox_user_open: %s", err);
	return u;
}

__attribute__((unused))
static struct mbox_view *
vopen(struct mbox_user *u, const char *name, bool ro)
{
	struct mbox_view *v = NULL;
	char *err = NULL;

	if (mbox_view_open(u, name, ro, &v, &err) < 0) {
		fprintf(stderr, "  view open %s: %s\n", name, err);
		free(err);
		return NULL;
	}
	return v;
}

#endif
