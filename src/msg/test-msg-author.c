/*
 * test-msg-author - unit tests for msg/msg_author.c on a real loop and
 * queue in a temp dir: a submitted message is in the queue once done
 * runs, with the null sender, its one recipient, the content as given
 * and the 8BITMIME / SMTPUTF8 flags by what it holds; a refused submit
 * (an over-long address) reports EINVAL and still frees the message.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg/msg_author.h"
#include "queue/queue.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/test.h"
#include "util/xmalloc.h"

static struct loop *tloop;
static char *tdir;

struct result {
	int	 error;
	int	 calls;
};

static void
author_done(void *arg, int error)
{
	struct result *r = arg;

	r->error = error;
	r->calls++;
	loop_break(tloop);
}

/* The one queued message (listing), or NULL. */
static struct queue_listing *
the_listing(size_t *n)
{
	struct queue_listing *l = NULL;
	char *err = NULL;

	if (queue_admin_list(tdir, &l, n, &err) < 0) {
		free(err);
		return NULL;
	}
	return l;
}

static void
test_submit(void)
{
	const char *text = "From: <bob@a.test>\nSubject: x\n\nhello\n";
	struct result r = { -1, 0 };
	struct queue_listing *l;
	char *content;
	size_t n, clen;

	msg_author_submit("0123456789abcdef", "", "s@b.test", xstrdup(text),
	    strlen(text), tloop, author_done, &r);
	loop_run(tloop);
	TEST_ASSERT(r.calls == 1 && r.error == 0);
	l = the_listing(&n);
	TEST_ASSERT(l != NULL && n == 1);
	TEST_ASSERT_STREQ(l[0].msg.sender, "");
	TEST_ASSERT(l[0].msg.nrcpt == 1);
	TEST_ASSERT_STREQ(l[0].msg.rcpts[0].address, "s@b.test");
	TEST_ASSERT(!l[0].msg.eightbit && !l[0].msg.smtputf8);
	TEST_ASSERT(queue_read_content(l[0].msg.id, &content, &clen) == 0);
	TEST_ASSERT(clen == strlen(text) && memcmp(content, text, clen) == 0);
	free(content);
	{
		char *err = NULL;
		TEST_ASSERT(queue_admin_del(tdir, l[0].msg.id, &err) == 0);
	}
	queue_listing_free(l, n);
}

static void
test_eightbit(void)
{
	const char *text = "Subject: x\n\ncaf\xc3\xa9\n";
	struct result r = { -1, 0 };
	struct queue_listing *l;
	size_t n;

	msg_author_submit("0123456789abcdef", "bob@a.test",
	    "j\xc3\xb6rg@b.test", xstrdup(text), strlen(text), tloop,
	    author_done, &r);
	loop_run(tloop);
	TEST_ASSERT(r.calls == 1 && r.error == 0);
	l = the_listing(&n);
	TEST_ASSERT(l != NULL && n == 1);
	TEST_ASSERT_STREQ(l[0].msg.sender, "bob@a.test");
	TEST_ASSERT(l[0].msg.eightbit && l[0].msg.smtputf8);
	{
		char *err = NULL;
		TEST_ASSERT(queue_admin_del(tdir, l[0].msg.id, &err) == 0);
	}
	queue_listing_free(l, n);
}

static void
test_refused(void)
{
	struct result r = { -1, 0 };
	char *rcpt = xmalloc(QUEUE_STRING_MAX + 10);

	memset(rcpt, 'a', QUEUE_STRING_MAX + 9);
	rcpt[QUEUE_STRING_MAX + 9] = '\0';
	msg_author_submit("0123456789abcdef", "", rcpt, xstrdup("x\n"), 2,
	    tloop, author_done, &r);
	free(rcpt);
	if (r.calls == 0)
		loop_run(tloop);
	TEST_ASSERT(r.calls == 1 && r.error == EINVAL);
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int
main(void)
{
	char tmpl[] = "/tmp/tem-test-author.XXXXXX";
	char *err = NULL;

	log_init(LOG_ERROR);
	loop_global_init();
	tloop = loop_new();
	if (mkdtemp(tmpl) == NULL)
		log_fatal("mkdtemp: %s", strerror(errno));
	tdir = xstrdup(tmpl);
	if (queue_init(tdir, 60, 86400, &err) < 0)
		log_fatal("queue_init: %s", err);
	TEST_RUN(test_submit);
	TEST_RUN(test_eightbit);
	TEST_RUN(test_refused);
	queue_shutdown();
	loop_free(&tloop);
	nftw(tdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(tdir);
	return test_done("test-msg-author");
}
