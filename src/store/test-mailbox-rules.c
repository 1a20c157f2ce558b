/*
 * test-mailbox-rules - unit tests for the store's protocol rules:
 * \Recent claimed once and kept in the index (RFC 3501), keywords
 * announced to a view before it shows them, byte-exact (literal8)
 * APPENDs, SAVEDATE (RFC 8514), OBJECTID (RFC 8474), and the index
 * migration from version 1 (and the rebuild of a newer one).
 *
 * Trust: test code. Each test gets a fresh Maildir under /tmp.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/mailbox.h"
#include "store/maildir.h"
#include "store/test-mailbox.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/test.h"
#include "util/xmalloc.h"

static const char body[] = "Subject: hi\nFrom: a@b.test\n\nline\n";

static void
deliver(void)
{
	deliver_to(NULL, body);
}

static uint32_t
status_recent(struct mbox_user *u, const char *name)
{
	struct mbox_status st;

	if (mbox_status(u, name, &st, NULL) < 0)
		return UINT32_MAX;
	return st.recent;
}

static uint32_t
view_recent(struct mbox_view *v)
{
	struct mbox_status st;

	mbox_view_status(v, &st);
	return st.recent;
}

static uint32_t
append(struct mbox_user *u, const char *name, const char *kw)
{
	const char *kws[2] = { kw, NULL };
	uint32_t uv, uid;
	char *err = NULL;

	if (mbox_append(u, name, body, strlen(body), 0, kw ? kws : NULL, 0,
	    &uv, &uid, &err) < 0)
		log_fatal("append: %s", err);
	return uid;
}

/* ---- \Recent ---------------------------------------------------------------- */

static void
test_recent_claimed_once(void)
{
	struct mbox_user *u;
	struct mbox_view *ro, *v1, *v2;
	struct mbox_msg_info mi;

	setup();
	deliver();
	deliver();
	u = uopen();
	/* STATUS and EXAMINE look without claiming */
	TEST_ASSERT(status_recent(u, "INBOX") == 2);
	ro = vopen(u, "INBOX", true);
	TEST_ASSERT(view_recent(ro) == 2);
	mbox_view_close(&ro);
	TEST_ASSERT(status_recent(u, "INBOX") == 2);
	/* the first SELECT gets them, the next one not */
	v1 = vopen(u, "INBOX", false);
	TEST_ASSERT(view_recent(v1) == 2);
	TEST_ASSERT(mbox_view_msg(v1, 2, &mi) == 0 &&
	    (mi.flags & MBOX_F_RECENT));
	v2 = vopen(u, "INBOX", false);
	TEST_ASSERT(view_recent(v2) == 0);
	TEST_ASSERT(status_recent(u, "INBOX") == 0);
	mbox_view_close(&v1);
	mbox_view_close(&v2);
	mbox_user_unref(&u);
	/* the claim outlives the folder in memory and the user */
	u = uopen();
	TEST_ASSERT(status_recent(u, "INBOX") == 0);
	v1 = vopen(u, "INBOX", false);
	TEST_ASSERT(view_recent(v1) == 0);
	mbox_view_close(&v1);
	mbox_user_unref(&u);
	teardown();
}

static void
test_recent_while_closed(void)
{
	struct mbox_user *u;
	struct mbox_view *v;
	struct mbox_changes ch;

	setup();
	u = uopen();
	TEST_ASSERT(mbox_create(u, "Box", 0, NULL) == 0);
	/* APPENDs and a STATUS load and drop the folder: still recent */
	append(u, "Box", NULL);
	TEST_ASSERT(status_recent(u, "Box") == 1);
	append(u, "Box", NULL);
	v = vopen(u, "Box", false);
	TEST_ASSERT(view_recent(v) == 2);
	/* new mail while selected: the view that learns of it first */
	append(u, "Box", NULL);
	TEST_ASSERT(mbox_view_sync(v, NULL) == 0);
	mbox_view_changes(v, &ch);
	TEST_ASSERT(ch.exists_changed && ch.exists == 3 && ch.recent == 3);
	mbox_changes_free(&ch);
	mbox_view_close(&v);
	TEST_ASSERT(status_recent(u, "Box") == 0);
	mbox_user_unref(&u);
	teardown();
}

/* ---- keywords are told before they are shown ------------------------------ */

static void
test_keywords_told(void)
{
	struct mbox_user *u;
	struct mbox_view *v1, *v2;
	struct mbox_changes ch;
	const char *kws[2] = { "$hello", NULL };
	uint32_t seq = 1, *mod = NULL;
	size_t nmod;

	setup();
	u = uopen();
	append(u, "INBOX", "$old");
	v1 = vopen(u, "INBOX", false);
	v2 = vopen(u, "INBOX", false);
	TEST_ASSERT(mbox_view_keywords_told(v1) == 1);	/* SELECT lists it */
	TEST_ASSERT(!mbox_view_keywords_news(v1));
	TEST_ASSERT(mbox_store(v2, &seq, 1, MBOX_STORE_ADD, 0, kws, 0, &mod,
	    &nmod, NULL) == 0);
	free(mod);
	/* v1 has not told $hello: news once, then told */
	TEST_ASSERT(mbox_view_keywords_told(v1) == 1);
	TEST_ASSERT(mbox_view_keywords_news(v1));
	TEST_ASSERT(mbox_view_keywords_told(v1) == 3);
	TEST_ASSERT(!mbox_view_keywords_news(v1));
	mbox_view_changes(v1, &ch);	/* ... so no second FLAGS */
	TEST_ASSERT(!ch.keywords_changed && ch.n_flags == 1);
	mbox_changes_free(&ch);
	/* v2 made it: its changes report it (or news would) */
	mbox_view_changes(v2, &ch);
	TEST_ASSERT(ch.keywords_changed);
	mbox_changes_free(&ch);
	TEST_ASSERT(!mbox_view_keywords_news(v2));
	mbox_view_close(&v1);
	mbox_view_close(&v2);
	mbox_user_unref(&u);
	teardown();
}

/* ---- literal8: stored as received --------------------------------------------- */

static char *
read_msg(struct mbox_view *v, uint32_t seq, size_t *len_r)
{
	char *buf = xmalloc(4096);
	int fd = mbox_view_msg_open(v, seq);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, 4096);

	if (fd >= 0)
		close(fd);
	*len_r = n < 0 ? 0 : (size_t)n;
	return buf;
}

static void
test_exact_append(void)
{
	static const char raw[] = "Subject: b\r\n\r\na\0b\nc\r\n";
	struct mbox_user *u;
	struct mbox_view *v;
	struct mbox_spool *s;
	struct mbox_msg_info mi;
	uint32_t uv, uid, *src, *dst;
	size_t n, len;
	char *data;

	setup();
	u = uopen();
	s = mbox_spool_new(u);
	mbox_spool_exact(s);
	TEST_ASSERT(mbox_spool_write(s, raw, 5) == 0);	/* any chunking */
	TEST_ASSERT(mbox_spool_write(s, raw + 5, sizeof(raw) - 6) == 0);
	TEST_ASSERT(mbox_spool_finish(s) == 0);
	TEST_ASSERT(mbox_append_spool(u, "INBOX", &s, 0, NULL, 0, &uv, &uid,
	    NULL) == 0);
	append(u, "INBOX", NULL);
	TEST_ASSERT(mbox_create(u, "Other", 0, NULL) == 0);
	v = vopen(u, "INBOX", false);
	TEST_ASSERT(mbox_view_msg(v, 1, &mi) == 0 && mi.exact);
	/* the wire size counts the bare LF as CRLF, as any text */
	TEST_ASSERT(mi.size == sizeof(raw) - 1 + 1);
	data = read_msg(v, 1, &len);
	TEST_ASSERT(len == sizeof(raw) - 1 && memcmp(data, raw, len) == 0);
	free(data);
	TEST_ASSERT(mbox_view_msg(v, 2, &mi) == 0 && !mi.exact);
	{
		uint32_t seqs[2] = { 1, 2 };
		TEST_ASSERT(mbox_copy(v, seqs, 2, "Other", false, &uv, &src,
		    &dst, &n, NULL) == 0 && n == 2);
		free(src);
		free(dst);
	}
	mbox_view_close(&v);
	v = vopen(u, "Other", false);
	TEST_ASSERT(mbox_view_msg(v, 1, &mi) == 0 && mi.exact);
	TEST_ASSERT(mbox_view_msg(v, 2, &mi) == 0 && !mi.exact);
	data = read_msg(v, 1, &len);
	TEST_ASSERT(len == sizeof(raw) - 1 && memcmp(data, raw, len) == 0);
	free(data);
	mbox_view_close(&v);
	mbox_user_unref(&u);
	teardown();
}

/* ---- SAVEDATE and OBJECTID ----------------------------------------------- */

static struct mbox_msg_info
info_of(struct mbox_view *v, uint32_t seq)
{
	struct mbox_msg_info mi;

	memset(&mi, 0, sizeof(mi));
	if (mbox_view_msg(v, seq, &mi) < 0)
		mi.uid = 0;		/* the callers' checks then fail */
	return mi;
}

static void
mailboxid_of(struct mbox_user *u, const char *name, char *out)
{
	struct mbox_status st;

	TEST_ASSERT(mbox_status(u, name, &st, NULL) == 0);
	memcpy(out, st.mailboxid, sizeof(st.mailboxid));
}

static void
test_savedate_objectid(void)
{
	char id1[MBOX_OBJECTID_MAX + 1], id2[MBOX_OBJECTID_MAX + 1];
	char id3[MBOX_OBJECTID_MAX + 1];
	struct mbox_user *u;
	struct mbox_view *v;
	struct mbox_msg_info a, b, c;
	uint32_t uv, uid, seqs[2] = { 1, 2 }, *src, *dst;
	time_t t0 = time(NULL);
	size_t n;

	setup();
	u = uopen();
	/* an old INTERNALDATE, saved now */
	TEST_ASSERT(mbox_append(u, "INBOX", body, strlen(body), 0, NULL,
	    1000000000, &uv, &uid, NULL) == 0);
	append(u, "INBOX", NULL);
	TEST_ASSERT(mbox_create(u, "Other", 0, NULL) == 0);
	v = vopen(u, "INBOX", false);
	a = info_of(v, 1);
	b = info_of(v, 2);
	TEST_ASSERT(a.internaldate == 1000000000 && a.savedate >= t0 &&
	    a.savedate <= time(NULL));
	TEST_ASSERT(a.emailid != 0 && b.emailid != 0 && a.emailid != b.emailid);
	/* COPY and MOVE keep EMAILID; the copy has a SAVEDATE of its own */
	TEST_ASSERT(mbox_copy(v, seqs, 1, "Other", false, &uv, &src, &dst, &n,
	    NULL) == 0);
	free(src);
	free(dst);
	TEST_ASSERT(mbox_copy(v, seqs + 1, 1, "Other", true, &uv, &src, &dst,
	    &n, NULL) == 0);
	free(src);
	free(dst);
	mbox_view_close(&v);
	v = vopen(u, "Other", false);
	c = info_of(v, 1);
	TEST_ASSERT(c.emailid == a.emailid && c.savedate >= a.savedate);
	TEST_ASSERT(info_of(v, 2).emailid == b.emailid);
	mbox_view_close(&v);
	/* MAILBOXID: one per folder, kept by RENAME, new for a new folder */
	mailboxid_of(u, "INBOX", id1);
	mailboxid_of(u, "Other", id2);
	TEST_ASSERT(id1[0] == 'F' && strlen(id1) == 17 && strcmp(id1, id2));
	TEST_ASSERT(mbox_rename(u, "Other", "Renamed", NULL) == 0);
	mailboxid_of(u, "Renamed", id3);
	TEST_ASSERT(strcmp(id2, id3) == 0);
	TEST_ASSERT(mbox_delete(u, "Renamed", NULL) == 0);
	TEST_ASSERT(mbox_create(u, "Renamed", 0, NULL) == 0);
	mailboxid_of(u, "Renamed", id3);
	TEST_ASSERT(strcmp(id2, id3) != 0);
	mbox_user_unref(&u);
	teardown();
}

/* An index written by version 1 (no recent_uid) is migrated, not rebuilt:
 * UIDVALIDITY stays and the mail already there is not recent. */
static void
test_migrate_v1(void)
{
	struct mbox_user *u;
	struct mbox_status st;
	uint32_t uv;
	sqlite3 *db;
	char *path;

	setup();
	deliver();
	u = uopen();
	TEST_ASSERT(mbox_status(u, "INBOX", &st, NULL) == 0);
	uv = st.uidvalidity;
	mbox_user_unref(&u);
	path = xasprintf("%s/tem-index.sqlite", tbox);
	TEST_ASSERT(sqlite3_open(path, &db) == SQLITE_OK);
	TEST_ASSERT(sqlite3_exec(db, "ALTER TABLE folders DROP COLUMN "
	    "recent_uid; ALTER TABLE messages DROP COLUMN savedate; "
	    "UPDATE meta SET value = 1 WHERE key = 'version'",
	    NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	free(path);
	deliver();
	u = uopen();
	TEST_ASSERT(mbox_status(u, "INBOX", &st, NULL) == 0);
	TEST_ASSERT(st.uidvalidity == uv && st.messages == 2 && st.recent == 1);
	{
		struct mbox_view *v = vopen(u, "INBOX", true);
		struct mbox_msg_info mi = info_of(v, 1);
		TEST_ASSERT(mi.savedate == mi.internaldate);
		mbox_view_close(&v);
	}
	mbox_user_unref(&u);
	/* a version from a newer tem is not ours: rebuilt (new UIDVALIDITY) */
	path = xasprintf("%s/tem-index.sqlite", tbox);
	TEST_ASSERT(sqlite3_open(path, &db) == SQLITE_OK);
	TEST_ASSERT(sqlite3_exec(db, "UPDATE meta SET value = 99 WHERE key = "
	    "'version'", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	free(path);
	u = uopen();
	TEST_ASSERT(mbox_status(u, "INBOX", &st, NULL) == 0);
	TEST_ASSERT(st.uidvalidity != uv && st.messages == 2);
	mbox_user_unref(&u);
	teardown();
}

int
main(void)
{
	log_init(LOG_WARN);
	loop_global_init();
	TEST_RUN(test_recent_claimed_once);
	TEST_RUN(test_recent_while_closed);
	TEST_RUN(test_keywords_told);
	TEST_RUN(test_exact_append);
	TEST_RUN(test_savedate_objectid);
	TEST_RUN(test_migrate_v1);
	mbox_shutdown();
	teardown();
	return test_done("test-mailbox-rules");
}
