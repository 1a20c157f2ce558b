/*
 * test-quota - unit tests for the quota usage counters (quota.c) as the
 * store and deliveries move them.
 *
 * Trust: test code.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/mailbox.h"
#include "store/maildir.h"
#include "store/quota.h"
#include "util/log.h"
#include "util/test.h"
#include "util/xmalloc.h"

#include "store/test-mailbox.h"

static uint64_t
usage(uint64_t *messages_r)
{
	struct quota_usage u;

	if (!quota_usage_get(tbox, &u))
		return UINT64_MAX;
	*messages_r = u.messages;
	return u.bytes;
}

static void
test_usage_moves(void)
{
	struct mbox_user *u = NULL;
	struct mbox_view *v = NULL;
	struct quota_usage qu;
	uint32_t uv, uid, *src, *dst, *exp;
	size_t n, nexp;
	uint64_t m;
	char *slash = NULL;

	setup();
	deliver_to(NULL, "Subject: a\n\n0123456789\n");	/* 23 octets */
	TEST_ASSERT(usage(&m) == UINT64_MAX);	/* not computed yet */
	TEST_ASSERT(quota_peek(tbox, 100, 0, 1, 1) == QUOTA_UNKNOWN);
	TEST_ASSERT(quota_peek(tbox, 0, 0, 1, 1) == QUOTA_FITS);
	TEST_ASSERT(quota_check(tbox, 100, 0, 10, 1, &qu) == QUOTA_FITS);
	TEST_ASSERT(qu.bytes == 23 && qu.messages == 1);
	TEST_ASSERT(quota_peek(tbox, 30, 0, 8, 1) == QUOTA_OVER);
	TEST_ASSERT(quota_peek(tbox, 30, 0, 7, 1) == QUOTA_FITS);
	TEST_ASSERT(quota_peek(tbox, 0, 1, 0, 1) == QUOTA_OVER);
	TEST_ASSERT(quota_peek(tbox, 0, 2, 0, 1) == QUOTA_FITS);
	/* deliveries, also into a folder "R/.X", count for R */
	u = uopen();
	TEST_ASSERT(mbox_create(u, "Junk", 0, NULL) == 0);
	deliver_to(".Junk", "Subject: b\n\n01234\n");	/* 18 */
	TEST_ASSERT(usage(&m) == 41 && m == 2);
	slash = xasprintf("%s/", tbox);
	quota_usage_add(slash, 1, 0);			/* same key */
	TEST_ASSERT(usage(&m) == 42);
	quota_usage_add(tbox, -1, 0);
	/* APPEND adds the file size (LF ends) */
	TEST_ASSERT(mbox_append(u, "INBOX", "Subject: c\r\n\r\nxy\r\n", 18, 0,
	    NULL, 0, &uv, &uid, NULL) == 0);
	TEST_ASSERT(usage(&m) == 41 + 15 && m == 3);
	/* COPY adds, MOVE does not, EXPUNGE takes away */
	TEST_ASSERT((v = vopen(u, "INBOX", false)) != NULL);
	TEST_ASSERT(mbox_view_count(v) == 2);
	uint32_t seqs[] = { 1, 2 };
	TEST_ASSERT(mbox_copy(v, seqs, 2, "Junk", false, &uv, &src, &dst, &n,
	    NULL) == 0 && n == 2);
	free(src);
	free(dst);
	TEST_ASSERT(usage(&m) == 56 + 38 && m == 5);
	TEST_ASSERT(mbox_copy(v, seqs, 1, "Junk", true, &uv, &src, &dst, &n,
	    NULL) == 0);
	free(src);
	free(dst);
	TEST_ASSERT(usage(&m) == 94 && m == 5);
	uint32_t last = 1;
	struct mbox_changes ch;
	mbox_view_changes(v, &ch);
	mbox_changes_free(&ch);
	TEST_ASSERT(mbox_view_count(v) == 1);
	uint32_t *mod;
	size_t nmod;
	TEST_ASSERT(mbox_store(v, &last, 1, MBOX_STORE_ADD, MBOX_F_DELETED,
	    NULL, 0, &mod, &nmod, NULL) == 0);
	free(mod);
	TEST_ASSERT(mbox_expunge(v, NULL, 0, true, &exp, &nexp, NULL) == 0);
	TEST_ASSERT(nexp == 1);
	free(exp);
	TEST_ASSERT(usage(&m) == 94 - 15 && m == 4);
	/* DELETE forgets; the next need computes it from the disk */
	TEST_ASSERT(mbox_delete(u, "Junk", NULL) == 0);
	TEST_ASSERT(usage(&m) == UINT64_MAX);
	TEST_ASSERT(quota_usage_need(tbox, &qu) == 0);
	TEST_ASSERT(qu.bytes == 0 && qu.messages == 0);
	mbox_view_close(&v);
	mbox_user_unref(&u);
	free(slash);
	teardown();
	quota_usage_reset();
}

static void
test_compute_reads_names(void)
{
	struct quota_usage qu;
	char *p;

	setup();
	p = xasprintf("%s/cur/1.M1.h,S=5000:2,S", tbox);
	FILE *f = fopen(p, "w");
	TEST_ASSERT(f != NULL);
	fputs("x", f);
	fclose(f);
	free(p);
	p = xasprintf("%s/new/2.M2.h", tbox);	/* no S=: stat */
	f = fopen(p, "w");
	fputs("abc", f);
	fclose(f);
	free(p);
	p = xasprintf("%s/tmp/3.M3.h,S=100", tbox);	/* not mail yet */
	f = fopen(p, "w");
	fclose(f);
	free(p);
	/* one claimed compute at a time */
	TEST_ASSERT(quota_compute_claim(tbox));
	TEST_ASSERT(!quota_compute_claim(tbox));
	TEST_ASSERT(!quota_usage_get(tbox, &qu));
	TEST_ASSERT(quota_peek(tbox, 10, 0, 0, 1) == QUOTA_UNKNOWN);
	TEST_ASSERT(quota_usage_compute(tbox, &qu) == 0);
	TEST_ASSERT(qu.bytes == 5003 && qu.messages == 2);
	TEST_ASSERT(quota_peek(tbox, 10, 0, 0, 1) == QUOTA_OVER);
	TEST_ASSERT(quota_compute_claim(tbox));
	quota_usage_forget(tbox);
	TEST_ASSERT(!quota_usage_get(tbox, &qu));
	TEST_ASSERT(quota_check(tbox, 10, 0, 0, 1, &qu) == QUOTA_OVER);
	TEST_ASSERT(qu.bytes == 5003);
	p = xasprintf("%s/nosuch", troot);
	TEST_ASSERT(quota_usage_compute(p, &qu) < 0);
	TEST_ASSERT(quota_check(p, 10, 0, 0, 1, NULL) == QUOTA_FITS);
	free(p);
	teardown();
	quota_usage_reset();
}

/* A source (the database, on PostgreSQL) answers instead of the disk,
 * for a root or any of its folders; a failing one leaves it unknown. */
static int
fake_source(const char *root, struct quota_usage *u_r)
{
	if (strcmp(root, "/nonexistent/mail/a.test/bad") == 0) {
		errno = EIO;
		return -1;
	}
	if (strcmp(root, "/nonexistent/mail/a.test/u") != 0) {
		errno = ENOENT;		/* not the root: the test fails */
		return -1;
	}
	u_r->bytes = 1000;
	u_r->messages = 3;
	return 0;
}

static void
test_source(void)
{
	struct quota_usage u;

	quota_usage_reset();
	quota_set_source(fake_source);
	TEST_ASSERT(quota_usage_compute("/nonexistent/mail/a.test/u/.Junk",
	    &u) == 0 && u.bytes == 1000 && u.messages == 3);
	TEST_ASSERT(quota_peek("/nonexistent/mail/a.test/u", 0, 3, 1, 1) ==
	    QUOTA_OVER);
	TEST_ASSERT(quota_usage_compute("/nonexistent/mail/a.test/bad",
	    &u) < 0);
	TEST_ASSERT(!quota_usage_get("/nonexistent/mail/a.test/bad", &u));
	quota_set_source(NULL);
	quota_usage_reset();
}

int
main(void)
{
	TEST_RUN(test_usage_moves);
	TEST_RUN(test_compute_reads_names);
	TEST_RUN(test_source);
	mbox_shutdown();
	return test_done("test-quota");
}
