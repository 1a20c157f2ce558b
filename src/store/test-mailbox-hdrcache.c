/*
 * test-mailbox-hdrcache - unit tests for src/store/mailbox_hdrcache.c:
 * which fields are kept (raw, in file order, folding kept), the limits
 * that send a reader to the file, rows for APPENDed and sync-found
 * messages, rows made by a reader for an index without them, and the
 * row going with its message.
 *
 * Trust: test code. Each test gets a fresh Maildir under /tmp.
 */
#include <sqlite3.h>

#include "store/mailbox_hdrcache.h"
#include "store/test-mailbox.h"
#include "util/buf.h"
#include "util/test.h"

static int
append(struct mbox_user *u, const char *text)
{
	uint32_t uv, uid;

	return mbox_append(u, "INBOX", text, strlen(text), 0, NULL, 0, &uv,
	    &uid, NULL);
}

/* The block of seq through a fresh reader (copied; NULL: read the file). */
static char *
block_of(struct mbox_view *v, uint32_t seq)
{
	struct mbox_hdr_reader *r = mbox_hdr_reader_new(v);
	const char *p;
	size_t len;
	char *out = NULL;

	if ((p = mbox_hdr_reader_get(r, seq, &len)) != NULL)
		out = xstrndup(p, len);
	mbox_hdr_reader_free(&r);
	return out;
}

static int64_t
rows(const char *sql)
{
	char *path = xasprintf("%s/tem-index.sqlite", tbox);
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t n = -1;

	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		int rc = sqlite3_step(st);
		n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) :
		    rc == SQLITE_DONE ? 0 : -1;
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	free(path);
	return n;
}

static void
test_fields(void)
{
	TEST_ASSERT(mbox_hdr_field_cached("subject"));
	TEST_ASSERT(mbox_hdr_field_cached("MESSAGE-ID"));
	TEST_ASSERT(mbox_hdr_field_cached("References"));
	TEST_ASSERT(!mbox_hdr_field_cached("Message"));
	TEST_ASSERT(!mbox_hdr_field_cached("X-Subject"));
	TEST_ASSERT(!mbox_hdr_field_cached(""));
}

static void
test_blocks(void)
{
	struct mbox_user *u;
	struct mbox_view *v = NULL;
	struct buf big;
	char *b;

	setup();
	u = uopen();
	TEST_ASSERT(append(u, "Received: x\r\nFrom: A <a@x.test>\r\n"
	    "X-Other: y\r\nSubject: one\r\n two\r\nsubject: again\r\n"
	    "\r\nbody Subject: no\r\n") == 0);
	TEST_ASSERT(append(u, "X-Only: z\r\n\r\nbody\r\n") == 0);
	buf_init(&big, 0);
	buf_puts(&big, "Subject: ");
	for (int i = 0; i < 2000; i++)
		buf_puts(&big, "long ");
	buf_puts(&big, "\r\n\r\nbody\r\n");
	TEST_ASSERT(append(u, buf_cstr(&big)) == 0);
	buf_reset(&big);
	for (int i = 0; i < 3000; i++)
		buf_puts(&big, "X-Filler: 0123456789012345678901234\r\n");
	buf_puts(&big, "Subject: late\r\n\r\nbody\r\n");
	TEST_ASSERT(append(u, buf_cstr(&big)) == 0);
	buf_free(&big);
	TEST_ASSERT(append(u, "Subject: no body, no empty line") == 0);
	TEST_ASSERT(mbox_view_open(u, "INBOX", true, &v, NULL) == 0);
	/* raw lines of the kept fields, in order, folding kept, LF ends */
	b = block_of(v, 1);
	TEST_ASSERT_STREQ(b, "From: A <a@x.test>\nSubject: one\n two\n"
	    "subject: again\n");
	free(b);
	b = block_of(v, 2);		/* none of the fields: empty, cached */
	TEST_ASSERT_STREQ(b, "");
	free(b);
	b = block_of(v, 3);		/* over MBOX_HDR_CACHE_MAX */
	TEST_ASSERT(b == NULL);
	b = block_of(v, 4);		/* header longer than the scan */
	TEST_ASSERT(b == NULL);
	b = block_of(v, 5);
	TEST_ASSERT_STREQ(b, "Subject: no body, no empty line\n");
	free(b);
	TEST_ASSERT(block_of(v, 6) == NULL);		/* no such seq */
	TEST_ASSERT(rows("SELECT count(*) FROM hdrcache") == 5);
	TEST_ASSERT(rows("SELECT count(*) FROM hdrcache WHERE fields IS NULL")
	    == 2);
	TEST_ASSERT(rows("SELECT value FROM meta WHERE key = 'version'") >= 4);
	mbox_view_close(&v);
	mbox_user_unref(&u);
	teardown();
}

static void
test_made_by_reader_and_dropped(void)
{
	struct mbox_user *u;
	struct mbox_view *v = NULL;
	uint32_t *gone = NULL;
	size_t n_gone = 0;
	char *b, *path;
	FILE *f;

	setup();
	/* a file an outside tool left in cur/: found by the sync */
	path = xasprintf("%s/cur/1700000000.M1P1.test:2,S", tbox);
	TEST_ASSERT((f = fopen(path, "w")) != NULL);
	fputs("Subject: outside\nTo: b@x.test\n\nbody\n", f);
	fclose(f);
	free(path);
	u = uopen();
	TEST_ASSERT(append(u, "Subject: two\r\n\r\nx\r\n") == 0);
	TEST_ASSERT(mbox_view_open(u, "INBOX", false, &v, NULL) == 0);
	b = block_of(v, 1);
	TEST_ASSERT_STREQ(b, "Subject: outside\nTo: b@x.test\n");
	free(b);
	/* rows lost (an index from before the cache): made, then kept */
	TEST_ASSERT(rows("DELETE FROM hdrcache") == 0);
	TEST_ASSERT(rows("SELECT count(*) FROM hdrcache") == 0);
	b = block_of(v, 2);
	TEST_ASSERT_STREQ(b, "Subject: two\n");
	free(b);
	TEST_ASSERT(rows("SELECT count(*) FROM hdrcache") == 1);
	b = block_of(v, 1);
	TEST_ASSERT_STREQ(b, "Subject: outside\nTo: b@x.test\n");
	free(b);
	TEST_ASSERT(rows("SELECT count(*) FROM hdrcache") == 2);
	/* an expunged message's row goes with it */
	TEST_ASSERT(mbox_expunge(v, (uint32_t[]){ 1 }, 1, false, &gone,
	    &n_gone, NULL) == 0);
	TEST_ASSERT(n_gone == 1);
	free(gone);
	TEST_ASSERT(rows("SELECT count(*) FROM hdrcache") == 1);
	TEST_ASSERT(rows("SELECT uid FROM hdrcache") == 2);
	mbox_view_close(&v);
	mbox_user_unref(&u);
	teardown();
}

int
main(void)
{
	log_init(LOG_WARN);
	TEST_RUN(test_fields);
	TEST_RUN(test_blocks);
	TEST_RUN(test_made_by_reader_and_dropped);
	mbox_shutdown();
	teardown();
	return test_done("test-mailbox-hdrcache");
}
