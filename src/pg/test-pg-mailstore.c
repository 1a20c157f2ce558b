/*
 * test-pg-mailstore - unit tests of the mail store on PostgreSQL
 * (pg_mailstore.h) against a live database with the tem schema, named
 * by TEM_TEST_PG_DSN: tests/integration/test_pg_mailstore.py starts one
 * (tests/lib/pgserver.py), runs `tem db init` and then this binary
 * (tests/run.sh leaves src/pg/test-pg-* out of its unit pass). Without
 * TEM_TEST_PG_DSN it fails (one failure), it never skips.
 *
 * test-pg-mailload.c has the runs that are not unit tests: appends
 * across a database restart, and the measurements.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pg/pg_conn.h"
#include "pg/pg_listen.h"
#include "pg/pg_mailstore.h"
#include "pg/test-pg-mailstore.h"
#include "pg/test-pg.h"
#include "store/mailbox.h"
#include "util/array.h"
#include "util/clock.h"
#include "util/loop.h"
#include "util/test.h"
#include "util/xmalloc.h"

/* ---- folders ------------------------------------------------------ */

static const struct pg_ms_folder *
find(const struct pg_ms_folder *l, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(l[i].name, name) == 0)
			return &l[i];
	return NULL;
}

static void
test_user(void)
{
	struct pg_ms_folder *l = NULL;
	const struct pg_ms_folder *f;
	char *err = NULL;
	size_t n = 0;
	int64_t id = 0;

	TEST_ASSERT(q("TRUNCATE users, domains, blobs CASCADE") == PG_OK);
	TEST_ASSERT(q("INSERT INTO domains VALUES ('a.test')") == PG_OK);
	TEST_ASSERT(q("INSERT INTO users(address, domain, hash) VALUES "
	    "('ms@a.test', 'a.test', 'x'), ('other@a.test', 'a.test', 'x')") ==
	    PG_OK);
	TEST_ASSERT(ok(pg_ms_user_id("MS@a.test", &user, &err), &err));
	TEST_ASSERT(fails(pg_ms_user_id("nobody@a.test", &id, &err), &err,
	    PG_MS_NONEXISTENT));
	TEST_ASSERT(ok(pg_ms_user_init(user, &err), &err));
	TEST_ASSERT(ok(pg_ms_user_init(user, &err), &err));	/* again */
	TEST_ASSERT(ok(pg_ms_list(user, &l, &n, &err), &err));
	TEST_ASSERT(n == 6);
	for (size_t i = 0; i < n; i++)
		TEST_ASSERT(l[i].exists && l[i].subscribed);
	TEST_ASSERT((f = find(l, n, "INBOX")) != NULL && f->special_use == 0);
	TEST_ASSERT((f = find(l, n, "Trash")) && f->special_use == MBOX_TRASH);
	TEST_ASSERT((f = find(l, n, "Sent")) && f->special_use == MBOX_SENT);
	TEST_ASSERT(f->uidvalidity > 1700000000);
	/* UIDVALIDITYs of one user never repeat, even in the same second */
	TEST_ASSERT(qn("SELECT count(DISTINCT uidvalidity) FROM mailboxes") ==
	    6);
	pg_ms_folders_free(l, n);
}

static void
test_folders(void)
{
	struct pg_ms_folder *l = NULL;
	const struct pg_ms_folder *f;
	struct pg_ms_state st;
	char *err = NULL;
	size_t n = 0;
	uint32_t uv1 = 0, uv2 = 0, uv3 = 0, uid;
	int64_t id;

	TEST_ASSERT(ok(pg_ms_create(user, "Work", 0, &uv1, &err), &err));
	TEST_ASSERT(ok(pg_ms_create(user, "Work/2026", 0, NULL, &err), &err));
	TEST_ASSERT(fails(pg_ms_create(user, "Work", 0, NULL, &err), &err,
	    PG_MS_EXISTS));
	TEST_ASSERT((uid = append_text("Work", "Subject: w\r\n\r\nw\r\n")) ==
	    1);
	id = folder_id("Work");
	/* RENAME keeps the id, UIDVALIDITY and UIDs, and takes children */
	TEST_ASSERT(ok(pg_ms_rename(user, "Work", "Jobs", &err), &err));
	TEST_ASSERT(ok(pg_ms_select(user, "Jobs", &st, &err), &err));
	TEST_ASSERT(st.mailbox_id == id && st.uidvalidity == uv1);
	TEST_ASSERT(st.n == 1 && st.msgs[0].uid == 1 && st.uidnext == 2);
	pg_ms_state_free(&st);
	TEST_ASSERT(folder_id("Jobs/2026") > 0);
	TEST_ASSERT(fails(pg_ms_select(user, "Work", &st, &err), &err,
	    PG_MS_NONEXISTENT));
	TEST_ASSERT(fails(pg_ms_rename(user, "Jobs", "Jobs/x", &err), &err,
	    PG_MS_CANNOT));
	TEST_ASSERT(fails(pg_ms_rename(user, "Jobs", "Trash", &err), &err,
	    PG_MS_EXISTS));
	TEST_ASSERT(fails(pg_ms_rename(user, "Nope", "Nope2", &err), &err,
	    PG_MS_NONEXISTENT));
	/* DELETE and CREATE again: a new UIDVALIDITY, UIDs from 1 */
	TEST_ASSERT(ok(pg_ms_subscribe(user, "Jobs", true, &err), &err));
	TEST_ASSERT(ok(pg_ms_delete(user, "Jobs", &err), &err));
	TEST_ASSERT(fails(pg_ms_delete(user, "Jobs", &err), &err,
	    PG_MS_NONEXISTENT));
	TEST_ASSERT(fails(pg_ms_delete(user, "INBOX", &err), &err,
	    PG_MS_CANNOT));
	TEST_ASSERT(qn("SELECT count(*) FROM blobs") == 0);
	TEST_ASSERT(ok(pg_ms_create(user, "Jobs", 0, &uv2, &err), &err));
	TEST_ASSERT(uv2 != uv1 && uv2 > uv1);
	TEST_ASSERT(ok(pg_ms_delete(user, "Jobs", &err), &err));
	TEST_ASSERT(ok(pg_ms_create(user, "Jobs", 0, &uv3, &err), &err));
	TEST_ASSERT(uv3 != uv2 && uv3 != uv1);
	TEST_ASSERT(append_text("Jobs", "x\r\n") == 1);
	TEST_ASSERT(ok(pg_ms_delete(user, "Jobs", &err), &err));
	/* a subscription outlives its folder, and may name nothing */
	TEST_ASSERT(ok(pg_ms_subscribe(user, "Ghost", true, &err), &err));
	TEST_ASSERT(ok(pg_ms_subscribe(user, "Trash", false, &err), &err));
	TEST_ASSERT(ok(pg_ms_list(user, &l, &n, &err), &err));
	TEST_ASSERT((f = find(l, n, "Jobs")) && !f->exists && f->subscribed);
	TEST_ASSERT((f = find(l, n, "Ghost")) && !f->exists && f->subscribed);
	TEST_ASSERT((f = find(l, n, "Trash")) && f->exists && !f->subscribed);
	TEST_ASSERT((f = find(l, n, "Jobs/2026")) && f->exists);
	for (size_t i = 1; i < n; i++)		/* sorted by bytes */
		TEST_ASSERT(strcmp(l[i - 1].name, l[i].name) < 0);
	pg_ms_folders_free(l, n);
	TEST_ASSERT(ok(pg_ms_subscribe(user, "Ghost", false, &err), &err));
}

/* RENAME INBOX: its messages go to a new folder; INBOX stays, empty. */
static void
test_rename_inbox(void)
{
	struct pg_ms_state st;
	char *err = NULL;

	TEST_ASSERT(append_text("INBOX", "a\r\n") == 1);
	TEST_ASSERT(append_text("INBOX", "b\r\n") == 2);
	TEST_ASSERT(ok(pg_ms_rename(user, "INBOX", "Old", &err), &err));
	TEST_ASSERT(ok(pg_ms_select(user, "INBOX", &st, &err), &err));
	TEST_ASSERT(st.n == 0 && st.uidnext == 3);
	pg_ms_state_free(&st);
	TEST_ASSERT(ok(pg_ms_select(user, "Old", &st, &err), &err));
	TEST_ASSERT(st.n == 2 && st.msgs[0].uid == 1 && st.msgs[1].uid == 2);
	pg_ms_state_free(&st);
	TEST_ASSERT(qn("SELECT count(*) FROM blobs") == 2);
	TEST_ASSERT(ok(pg_ms_delete(user, "Old", &err), &err));
	TEST_ASSERT(qn("SELECT count(*) FROM blobs") == 0);
}

/* ---- messages ----------------------------------------------------- */

static void
test_append_read(void)
{
	static const char msg[] = "From: a@b\r\nSubject: bin\r\n\r\n\x01\x00"
	    "\xff\xfe bare\n lf\r\n";
	const char *kw[] = { "$Forwarded", "$Junk", NULL };
	struct pg_ms_state st;
	char *err = NULL, *data = NULL;
	size_t len = 0;
	uint32_t uv = 0, uid = 0;
	int64_t id = folder_id("Drafts");

	TEST_ASSERT(ok(pg_ms_append(user, "Drafts", msg, sizeof(msg) - 1,
	    MBOX_F_SEEN | MBOX_F_DRAFT | MBOX_F_RECENT, kw, 1700000000, &uv,
	    &uid, &err), &err));
	TEST_ASSERT(uid == 1 && uv > 0);
	TEST_ASSERT(fails(pg_ms_append(user, "Nope", msg, 3, 0, NULL, 0, &uv,
	    &uid, &err), &err, PG_MS_NONEXISTENT));
	TEST_ASSERT(ok(pg_ms_read(id, 1, 0, 0, &data, &len, &err), &err));
	TEST_ASSERT(len == sizeof(msg) - 1 && memcmp(data, msg, len) == 0);
	XFREE(&data);
	TEST_ASSERT(ok(pg_ms_read(id, 1, 6, 3, &data, &len, &err), &err));
	TEST_ASSERT(len == 3 && memcmp(data, "a@b", 3) == 0);
	XFREE(&data);
	TEST_ASSERT(ok(pg_ms_read(id, 1, 1000, 0, &data, &len, &err), &err));
	TEST_ASSERT(len == 0);
	XFREE(&data);
	TEST_ASSERT(fails(pg_ms_read(id, 2, 0, 0, &data, &len, &err), &err,
	    PG_MS_NONEXISTENT));
	TEST_ASSERT(ok(pg_ms_select(user, "Drafts", &st, &err), &err));
	TEST_ASSERT(st.n == 1 && st.uidnext == 2 && st.highestmodseq == 2);
	TEST_ASSERT(st.msgs[0].flags == (MBOX_F_SEEN | MBOX_F_DRAFT));
	TEST_ASSERT_STREQ(st.msgs[0].keywords, "$Forwarded $Junk");
	TEST_ASSERT(st.msgs[0].size == sizeof(msg) - 1);
	TEST_ASSERT(st.msgs[0].internaldate == 1700000000);
	TEST_ASSERT(st.msgs[0].modseq == 2);
	pg_ms_state_free(&st);
}

/* A message bigger than the inline limit (256 KiB: COPY, several
 * pieces) from a memory prefix and a file range, bare LFs made CRLF
 * (also across the two), read back byte-exact; the same range exact
 * keeps its bytes; a small file range goes inline, converted too. */
static void
test_append_stream(void)
{
	static const char prefix[] = "Return-Path: <a@b>\n";
	size_t body = 300 * 1024 + 7, want_len = 0;
	char *raw = xmalloc(body), *want = xmalloc(2 * body + 64);
	char path[] = "/tmp/test-pg-ms-XXXXXX", *err = NULL, *data = NULL;
	struct pg_ms_append_item it = { .data = prefix,
	    .len = sizeof(prefix) - 1, .crlf = true, .file_off = 3,
	    .file_len = body - 3 };
	struct pg_ms_state st;
	uint32_t uv = 0, uid = 0;
	size_t len = 0;
	int64_t id;
	char last = '\n';
	const uint32_t both[] = { 1, 2, 3 };
	long long blobs = qn("SELECT count(*) FROM blobs");
	int fd = mkstemp(path);

	TEST_ASSERT(fd >= 0);
	unlink(path);
	for (size_t i = 0; i < body; i++)	/* lines, some CRLF */
		raw[i] = i % 61 == 60 ? '\n' : i % 122 == 59 ? '\r' :
		    (char)('a' + i % 26);
	TEST_ASSERT(write(fd, raw, body) == (ssize_t)body);
	for (size_t i = 0; i < sizeof(prefix) - 1 + body - 3; i++) {
		char c = i < sizeof(prefix) - 1 ? prefix[i] :
		    raw[i - (sizeof(prefix) - 1) + 3];

		if (c == '\n' && last != '\r')
			want[want_len++] = '\r';
		want[want_len++] = last = c;
	}
	it.fd = fd;
	TEST_ASSERT(ok(pg_ms_create(user, "Stream", 0, NULL, &err), &err));
	id = folder_id("Stream");
	TEST_ASSERT(ok(pg_ms_append_one(user, "Stream", &it, &uv, &uid,
	    &err), &err));
	TEST_ASSERT(ok(pg_ms_read(id, uid, 0, 0, &data, &len, &err), &err));
	TEST_ASSERT(len == want_len && memcmp(data, want, len) == 0);
	XFREE(&data);
	/* exact: stored as it is, sized as sent */
	it.crlf = false;
	it.exact = true;
	it.len = 0;
	TEST_ASSERT(ok(pg_ms_append_one(user, "Stream", &it, &uv, &uid,
	    &err), &err));
	TEST_ASSERT(ok(pg_ms_read(id, uid, 0, 0, &data, &len, &err), &err));
	TEST_ASSERT(len == body - 3 && memcmp(data, raw + 3, len) == 0);
	XFREE(&data);
	/* a missing folder: nothing (the blob rolled back with it) */
	TEST_ASSERT(fails(pg_ms_append_one(user, "Nope", &it, &uv, &uid,
	    &err), &err, PG_MS_NONEXISTENT));
	TEST_ASSERT(ok(pg_ms_select(user, "Stream", &st, &err), &err));
	TEST_ASSERT(st.n == 2 && st.msgs[0].size == want_len);
	TEST_ASSERT(st.msgs[1].exact &&
	    st.msgs[1].size == want_len - (sizeof(prefix) - 1) - 1);
	pg_ms_state_free(&st);
	it.crlf = true;
	it.exact = false;
	it.file_len = 1000;
	TEST_ASSERT(ok(pg_ms_append_one(user, "Stream", &it, &uv, &uid,
	    &err), &err));
	TEST_ASSERT(uid == 3 && it.size > 1000 && it.size < 1100);
	TEST_ASSERT(ok(pg_ms_read(id, uid, 0, 0, &data, &len, &err), &err));
	TEST_ASSERT(len == it.size && memcmp(data, want + sizeof(prefix),
	    len) == 0);
	XFREE(&data);
	TEST_ASSERT(ok(pg_ms_expunge(id, both, 3, false, NULL, NULL, &err),
	    &err));
	TEST_ASSERT(qn("SELECT count(*) FROM blobs") == blobs);
	close(fd);
	free(raw);
	free(want);
}

static void
test_multiappend_status(void)
{
	const char *kw[] = { "$Label1", NULL };
	struct pg_ms_append_item it[3] = {
		{ .data = "one\r\n", .len = 5, .flags = MBOX_F_SEEN },
		{ .data = "two!\r\n", .len = 6, .flags = MBOX_F_DELETED,
		    .keywords = kw },
		/* byte-exact: 6 octets kept, its size the wire size 7 */
		{ .data = "three\n", .len = 6, .exact = true },
	};
	struct pg_ms_state sel;
	struct pg_ms_status st;
	char *err = NULL;
	uint32_t uv = 0, uids[3] = { 0 };
	uint64_t bytes = 0, msgs = 0;

	TEST_ASSERT(ok(pg_ms_create(user, "Multi", 0, NULL, &err), &err));
	TEST_ASSERT(append_text("Multi", "first\r\n") == 1);
	TEST_ASSERT(ok(pg_ms_append_many(user, "Multi", it, 3, &uv, uids,
	    &err), &err));
	TEST_ASSERT(uids[0] == 2 && uids[1] == 3 && uids[2] == 4);
	TEST_ASSERT(qn("SELECT octet_length(l.data) FROM messages m JOIN "
	    "blobs l ON l.id = m.blob_id JOIN mailboxes b ON b.id = "
	    "m.mailbox_id WHERE b.name = 'Multi' AND m.exact") == 6);
	TEST_ASSERT(ok(pg_ms_select(user, "Multi", &sel, &err), &err));
	TEST_ASSERT(sel.n == 4 && sel.msgs[3].exact && !sel.msgs[2].exact);
	TEST_ASSERT(sel.msgs[3].size == 7 && sel.msgs[3].blob_id > 0 &&
	    sel.msgs[3].blob_id != sel.msgs[2].blob_id);
	pg_ms_state_free(&sel);
	TEST_ASSERT(fails(pg_ms_append_many(user, "Nope", it, 3, &uv, uids,
	    &err), &err, PG_MS_NONEXISTENT));
	TEST_ASSERT(ok(pg_ms_status(user, "Multi", &st, &err), &err));
	TEST_ASSERT(st.uidvalidity == uv && st.uidnext == 5);
	TEST_ASSERT(st.highestmodseq == 5 && st.messages == 4);
	TEST_ASSERT(st.unseen == 3 && st.deleted == 1);
	TEST_ASSERT(st.size == 7 + 5 + 6 + 7 && st.deleted_size == 6);
	/* Drafts holds test_append_read's message */
	TEST_ASSERT(ok(pg_ms_usage(user, &bytes, &msgs, &err), &err));
	TEST_ASSERT(msgs == 5 && bytes == st.size + (uint64_t)qn("SELECT "
	    "size FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id "
	    "WHERE b.name = 'Drafts'"));
	TEST_ASSERT(fails(pg_ms_status(user, "Nope", &st, &err), &err,
	    PG_MS_NONEXISTENT));
	TEST_ASSERT(ok(pg_ms_create(user, "Empty", 0, NULL, &err), &err));
	TEST_ASSERT(ok(pg_ms_status(user, "Empty", &st, &err), &err));
	TEST_ASSERT(st.messages == 0 && st.size == 0 && st.uidnext == 1);
	TEST_ASSERT(ok(pg_ms_delete(user, "Empty", &err), &err));
	TEST_ASSERT(ok(pg_ms_delete(user, "Multi", &err), &err));
}

static void
test_concurrent_append(void)
{
	struct appender a[4];
	struct pg_ms_state st;
	char *err = NULL;
	bool seen[1001] = { false }, increasing = true;

	TEST_ASSERT(ok(pg_ms_create(user, "Conc", 0, NULL, &err), &err));
	TEST_ASSERT(appenders((const char *[]){ "Conc", NULL }, 4, 250, a) ==
	    0);
	for (int i = 0; i < 4; i++) {
		for (int j = 0; j < 250; j++) {
			uint32_t u = a[i].uids[j];

			TEST_ASSERT(u >= 1 && u <= 1000 && !seen[u]);
			seen[u] = true;
			if (j > 0 && u <= a[i].uids[j - 1])
				increasing = false;
		}
		free(a[i].uids);
	}
	TEST_ASSERT(increasing);
	TEST_ASSERT(ok(pg_ms_select(user, "Conc", &st, &err), &err));
	TEST_ASSERT(st.n == 1000 && st.uidnext == 1001);
	TEST_ASSERT(st.highestmodseq == 1001);	/* 1, then one per append */
	for (size_t i = 0; i < st.n; i++)
		TEST_ASSERT(st.msgs[i].uid == i + 1 && st.msgs[i].size == 4096);
	pg_ms_state_free(&st);
	TEST_ASSERT(ok(pg_ms_delete(user, "Conc", &err), &err));
}

static void
test_store_condstore(void)
{
	const uint32_t all[] = { 1, 2, 3, 4 }, one[] = { 2 };
	const char *kw[] = { "$Label1", NULL }, *kw2[] = { "$Label2", NULL };
	struct pg_ms_state st;
	char *err = NULL;
	uint32_t *mod = NULL;
	size_t nmod = 0;
	uint64_t m1 = 0, m2 = 0, m3 = 0, m4 = 0;
	int64_t id;

	TEST_ASSERT(ok(pg_ms_create(user, "Flags", 0, NULL, &err), &err));
	id = folder_id("Flags");
	for (int i = 0; i < 4; i++)
		TEST_ASSERT(append_text("Flags", "m\r\n") == (uint32_t)i + 1);
	/* 1..4 appended with MODSEQ 2..5 */
	TEST_ASSERT(ok(pg_ms_store(id, all, 3, PG_MS_ADD, MBOX_F_SEEN, kw, 0,
	    &m1, &mod, &nmod, &err), &err));
	TEST_ASSERT(m1 == 6 && mod == NULL);
	/* the same again changes nothing: no MODSEQ spent */
	TEST_ASSERT(ok(pg_ms_store(id, all, 3, PG_MS_ADD, MBOX_F_SEEN, kw, 0,
	    &m2, &mod, &nmod, &err), &err));
	TEST_ASSERT(m2 == 0);
	/* another session changes 2, then ours with UNCHANGEDSINCE m1 */
	TEST_ASSERT(ok(pg_ms_store(id, one, 1, PG_MS_ADD, MBOX_F_FLAGGED,
	    NULL, 0, &m2, &mod, &nmod, &err), &err));
	TEST_ASSERT(m2 == 7);
	TEST_ASSERT(ok(pg_ms_store(id, all, 4, PG_MS_REPLACE, MBOX_F_ANSWERED,
	    kw2, m1, &m3, &mod, &nmod, &err), &err));
	TEST_ASSERT(m3 == 8 && nmod == 1 && mod[0] == 2);
	XFREE(&mod);
	TEST_ASSERT(ok(pg_ms_store(id, one, 1, PG_MS_REMOVE, MBOX_F_SEEN, kw,
	    0, &m4, &mod, &nmod, &err), &err));
	TEST_ASSERT(m4 == 9);
	/* CHANGEDSINCE m2: 1, 3, 4 (m3) and 2 (m4) */
	TEST_ASSERT(ok(pg_ms_changes(id, m2, &st, &err), &err));
	TEST_ASSERT(st.highestmodseq == 9 && st.n == 4 && st.n_vanished == 0);
	TEST_ASSERT(st.msgs[0].uid == 1 && st.msgs[0].modseq == 8);
	TEST_ASSERT(st.msgs[0].flags == MBOX_F_ANSWERED);
	TEST_ASSERT_STREQ(st.msgs[0].keywords, "$Label2");
	TEST_ASSERT(st.msgs[1].uid == 2 && st.msgs[1].modseq == 9);
	TEST_ASSERT(st.msgs[1].flags == MBOX_F_FLAGGED);
	TEST_ASSERT(st.msgs[1].keywords == NULL);
	pg_ms_state_free(&st);
	TEST_ASSERT(ok(pg_ms_changes(id, m4, &st, &err), &err));
	TEST_ASSERT(st.n == 0);
	pg_ms_state_free(&st);
}

static void
test_expunge_vanished(void)
{
	const uint32_t del[] = { 1, 3 }, two[] = { 2 };
	struct pg_ms_state st;
	char *err = NULL;
	uint32_t *gone = NULL, *mod = NULL;
	size_t ngone = 0, nmod = 0;
	uint64_t m, before;
	int64_t id = folder_id("Flags");

	TEST_ASSERT(ok(pg_ms_store(id, del, 2, PG_MS_ADD, MBOX_F_DELETED,
	    NULL, 0, &m, &mod, &nmod, &err), &err));
	before = m;
	TEST_ASSERT(qn("SELECT count(*) FROM blobs") == 5);	/* + Drafts */
	TEST_ASSERT(ok(pg_ms_expunge(id, NULL, 0, true, &gone, &ngone, &err),
	    &err));
	TEST_ASSERT(ngone == 2 && gone[0] == 1 && gone[1] == 3);
	XFREE(&gone);
	TEST_ASSERT(qn("SELECT count(*) FROM blobs") == 3);
	/* UID EXPUNGE of one without \Deleted: nothing; POP3's: gone */
	TEST_ASSERT(ok(pg_ms_expunge(id, two, 1, true, &gone, &ngone, &err),
	    &err));
	TEST_ASSERT(ngone == 0 && gone == NULL);
	TEST_ASSERT(ok(pg_ms_expunge(id, two, 1, false, &gone, &ngone, &err),
	    &err));
	TEST_ASSERT(ngone == 1 && gone[0] == 2);
	XFREE(&gone);
	TEST_ASSERT(ok(pg_ms_changes(id, before, &st, &err), &err));
	TEST_ASSERT(st.n == 0 && st.n_vanished == 3);
	TEST_ASSERT(st.vanished[0] == 1 && st.vanished[1] == 2 &&
	    st.vanished[2] == 3);
	TEST_ASSERT(st.highestmodseq == before + 2);
	pg_ms_state_free(&st);
	TEST_ASSERT(ok(pg_ms_changes(id, before + 1, &st, &err), &err));
	TEST_ASSERT(st.n_vanished == 1 && st.vanished[0] == 2);
	pg_ms_state_free(&st);
	TEST_ASSERT(ok(pg_ms_select(user, "Flags", &st, &err), &err));
	TEST_ASSERT(st.n == 1 && st.msgs[0].uid == 4);
	pg_ms_state_free(&st);
}

static void
test_copy_move(void)
{
	const uint32_t u4[] = { 4, 99 };
	struct pg_ms_state st;
	char *err = NULL, *data = NULL, sql[200];
	uint32_t uv = 0, *su = NULL, *du = NULL, *gone = NULL;
	size_t n = 0, len = 0;
	int64_t src = folder_id("Flags"), a, b;
	long long blob;

	TEST_ASSERT(ok(pg_ms_create(user, "A", 0, NULL, &err), &err));
	TEST_ASSERT(ok(pg_ms_create(user, "B", 0, NULL, &err), &err));
	a = folder_id("A");
	b = folder_id("B");
	TEST_ASSERT(append_text("A", "pre\r\n") == 1);
	snprintf(sql, sizeof(sql), "SELECT blob_id FROM messages WHERE "
	    "mailbox_id = %lld AND uid = 4", (long long)src);
	blob = qn(sql);
	/* COPY: a row more, the same blob with two references */
	TEST_ASSERT(ok(pg_ms_copy(src, u4, 2, user, "A", false, &uv, &su, &du,
	    &n, &err), &err));
	TEST_ASSERT(n == 1 && su[0] == 4 && du[0] == 2);
	XFREE(&su);
	XFREE(&du);
	snprintf(sql, sizeof(sql), "SELECT refs FROM blobs WHERE id = %lld",
	    blob);
	TEST_ASSERT(qn(sql) == 2);
	TEST_ASSERT(fails(pg_ms_copy(src, u4, 1, user, "Nope", false, &uv, &su,
	    &du, &n, &err), &err, PG_MS_NONEXISTENT));
	/* the original goes: the copy keeps the blob */
	TEST_ASSERT(ok(pg_ms_expunge(src, u4, 1, false, NULL, NULL, &err),
	    &err));
	TEST_ASSERT(qn(sql) == 1);
	/* MOVE A:2 to B: the same blob, A's row to `expunged` */
	TEST_ASSERT(ok(pg_ms_copy(a, (const uint32_t[]){ 2 }, 1, user, "B",
	    true, &uv, &su, &du, &n, &err), &err));
	TEST_ASSERT(n == 1 && su[0] == 2 && du[0] == 1);
	XFREE(&su);
	XFREE(&du);
	TEST_ASSERT(qn(sql) == 1);
	TEST_ASSERT(ok(pg_ms_read(b, 1, 0, 0, &data, &len, &err), &err));
	TEST_ASSERT(len == 3 && memcmp(data, "m\r\n", 3) == 0);
	XFREE(&data);
	TEST_ASSERT(ok(pg_ms_changes(a, 1, &st, &err), &err));
	TEST_ASSERT(st.n == 1 && st.msgs[0].uid == 1);
	TEST_ASSERT(st.n_vanished == 1 && st.vanished[0] == 2);
	pg_ms_state_free(&st);
	/* its last message goes: the blob with it */
	TEST_ASSERT(ok(pg_ms_expunge(b, (const uint32_t[]){ 1 }, 1, false,
	    &gone, &n, &err), &err));
	TEST_ASSERT(n == 1);
	free(gone);
	TEST_ASSERT(qn(sql) == -1);	/* no row */
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM blobs WHERE refs < 1 "
	    "OR refs <> (SELECT count(*) FROM messages m WHERE m.blob_id = "
	    "blobs.id)");
	TEST_ASSERT(qn(sql) == 0);
}

/*
 * The locks under contention: MOVEs between X and Y both ways, COPYs
 * from X to Z and EXPUNGEs in Z, all at once on four connections, over
 * messages sharing blobs. Nothing may fail (deadlocks are retried by
 * pg_tx), no message is lost or doubled, and every blob's refs is the
 * number of rows holding it.
 */
#define STRESS_MSGS	40
#define STRESS_ROUNDS	40

struct stresser {
	int64_t		 from;
	const char	*to;
	bool		 move, expunge;
	int		 failed;
};

static void *
stress_thread(void *arg)
{
	struct stresser *t = arg;

	for (int r = 0; r < STRESS_ROUNDS; r++) {
		uint32_t uids[STRESS_MSGS * 2], uv, *su = NULL, *du = NULL;
		char *err = NULL;
		size_t n = 0;
		struct pg_ms_state st;
		int rc;

		/* the folder as it is now, then act on (part of) it */
		rc = pg_ms_changes(t->from, 0, &st, &err);
		for (size_t i = 0; rc == PG_OK && i < st.n && n < STRESS_MSGS;
		    i += 2)
			uids[n++] = st.msgs[i].uid;
		pg_ms_state_free(&st);
		if (rc == PG_OK && t->expunge)
			rc = pg_ms_expunge(t->from, uids, n, false, NULL, NULL,
			    &err);
		else if (rc == PG_OK && n > 0)
			rc = pg_ms_copy(t->from, uids, n, user, t->to, t->move,
			    &uv, &su, &du, &n, &err);
		if (rc != PG_OK) {
			fprintf(stderr, "  stress: %s\n", err);
			t->failed++;
		}
		free(err);
		free(su);
		free(du);
	}
	pg_conn_close();
	return NULL;
}

static void
test_lock_stress(void)
{
	struct stresser t[4];
	pthread_t th[4];
	char *err = NULL, sql[256];
	int64_t x, y, z;
	long long before;
	uint32_t all[20], uv, *su = NULL, *du = NULL;
	size_t n = 0;

	for (int i = 0; i < 3; i++)
		TEST_ASSERT(ok(pg_ms_create(user, (const char *[]){ "X", "Y",
		    "Z" }[i], 0, NULL, &err), &err));
	x = folder_id("X");
	y = folder_id("Y");
	z = folder_id("Z");
	for (int i = 0; i < STRESS_MSGS; i++)
		TEST_ASSERT(append_text(i % 2 ? "X" : "Y", "s\r\n") > 0);
	/* every X message also in Z: their blobs shared from the start */
	for (uint32_t i = 0; i < 20; i++)
		all[i] = i + 1;
	TEST_ASSERT(ok(pg_ms_copy(x, all, 20, user, "Z", false, &uv, &su, &du,
	    &n, &err), &err));
	free(su);
	free(du);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM messages WHERE "
	    "mailbox_id IN (%lld, %lld)", (long long)x, (long long)y);
	before = qn(sql);
	t[0] = (struct stresser){ .from = x, .to = "Y", .move = true };
	t[1] = (struct stresser){ .from = y, .to = "X", .move = true };
	t[2] = (struct stresser){ .from = x, .to = "Z" };
	t[3] = (struct stresser){ .from = z, .expunge = true };
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, stress_thread, &t[i]);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		TEST_ASSERT(t[i].failed == 0);
	}
	/* MOVEs neither lose nor double */
	TEST_ASSERT(qn(sql) == before);
	TEST_ASSERT(qn("SELECT count(*) FROM blobs WHERE refs <> (SELECT "
	    "count(*) FROM messages m WHERE m.blob_id = blobs.id)") == 0);
	TEST_ASSERT(qn("SELECT count(*) FROM mailboxes b WHERE uidnext <= "
	    "(SELECT max(uid) FROM messages m WHERE m.mailbox_id = b.id)") ==
	    0);
	for (int i = 0; i < 3; i++)
		TEST_ASSERT(ok(pg_ms_delete(user, (const char *[]){ "X", "Y",
		    "Z" }[i], &err), &err));
	TEST_ASSERT(qn("SELECT count(*) FROM blobs WHERE refs <> (SELECT "
	    "count(*) FROM messages m WHERE m.blob_id = blobs.id)") == 0);
	(void)z;
}

/* An account's deletion cascades to its folders and messages; the
 * trigger frees the blobs only they held, and keeps a shared one. */
static void
test_user_delete(void)
{
	int64_t other = 0;
	char *err = NULL;
	uint32_t uv, uid, *su = NULL, *du = NULL;
	size_t n = 0;
	long long before = qn("SELECT count(*) FROM blobs");

	TEST_ASSERT(ok(pg_ms_user_id("other@a.test", &other, &err), &err));
	TEST_ASSERT(ok(pg_ms_user_init(other, &err), &err));
	for (int i = 0; i < 3; i++)
		TEST_ASSERT(ok(pg_ms_append(other, "INBOX", "o\r\n", 3, 0,
		    NULL, 0, &uv, &uid, &err), &err));
	/* this user's Drafts:1 into the other's Trash: a shared blob */
	TEST_ASSERT(ok(pg_ms_copy(folder_id("Drafts"), (const uint32_t[]){
	    1 }, 1, other, "Trash", false, &uv, &su, &du, &n, &err), &err));
	TEST_ASSERT(n == 1);
	free(su);
	free(du);
	TEST_ASSERT(qn("SELECT count(*) FROM blobs") == before + 3);
	TEST_ASSERT(q("DELETE FROM users WHERE address = 'other@a.test'") ==
	    PG_OK);
	TEST_ASSERT(qn("SELECT count(*) FROM blobs") == before);
	TEST_ASSERT(qn("SELECT count(*) FROM blobs WHERE refs <> (SELECT "
	    "count(*) FROM messages m WHERE m.blob_id = blobs.id)") == 0);
}

/* ---- bookkeeping: the expunge log's floor, \Recent ---------------- */

static void
test_prune_expunged(void)
{
	struct pg_ms_state st;
	char *err = NULL;
	int64_t id;
	long long m7, m8;
	size_t n = 0;

	TEST_ASSERT(ok(pg_ms_create(user, "P", 0, NULL, &err), &err));
	id = folder_id("P");
	for (int i = 0; i < 5; i++)
		TEST_ASSERT(append_text("P", "p\r\n") == (uint32_t)i + 1);
	/* 1 and 2 at one MODSEQ, then 3, then 4 */
	TEST_ASSERT(ok(pg_ms_expunge(id, (const uint32_t[]){ 1, 2 }, 2, false,
	    NULL, NULL, &err), &err));
	for (uint32_t u = 3; u <= 4; u++)
		TEST_ASSERT(ok(pg_ms_expunge(id, &u, 1, false, NULL, NULL,
		    &err), &err));
	m7 = qn("SELECT modseq FROM expunged WHERE uid = 1 AND mailbox_id = "
	    "(SELECT id FROM mailboxes WHERE name = 'P')");
	m8 = qn("SELECT modseq FROM expunged WHERE uid = 3 AND mailbox_id = "
	    "(SELECT id FROM mailboxes WHERE name = 'P')");
	TEST_ASSERT(m7 > 0 && m8 == m7 + 1);
	TEST_ASSERT(ok(pg_ms_changes(id, 1, &st, &err), &err));
	TEST_ASSERT(st.vanished_complete && st.n_vanished == 4);
	pg_ms_state_free(&st);
	/* bounded: one row of the oldest MODSEQ; the floor is that MODSEQ */
	TEST_ASSERT(ok(pg_ms_prune_expunged(id, (uint64_t)m8 + 1, 1, &n,
	    &err), &err) && n == 1);
	TEST_ASSERT(qn("SELECT vanished_floor FROM mailboxes WHERE name = "
	    "'P'") == m7);
	TEST_ASSERT(ok(pg_ms_prune_expunged(id, (uint64_t)m8 + 1, 100, &n,
	    &err), &err) && n == 2);
	TEST_ASSERT(qn("SELECT vanished_floor FROM mailboxes WHERE name = "
	    "'P'") == m8);
	TEST_ASSERT(ok(pg_ms_prune_expunged(id, (uint64_t)m8 + 1, 100, &n,
	    &err), &err) && n == 0);
	TEST_ASSERT(qn("SELECT count(*) FROM expunged WHERE mailbox_id = "
	    "(SELECT id FROM mailboxes WHERE name = 'P')") == 1);
	/* since the floor: exact (uid 4 only); below it: not answerable */
	TEST_ASSERT(ok(pg_ms_changes(id, (uint64_t)m8, &st, &err), &err));
	TEST_ASSERT(st.vanished_complete && st.n_vanished == 1 &&
	    st.vanished[0] == 4);
	pg_ms_state_free(&st);
	TEST_ASSERT(ok(pg_ms_changes(id, (uint64_t)m7, &st, &err), &err));
	TEST_ASSERT(!st.vanished_complete && st.n_vanished == 1);
	pg_ms_state_free(&st);
	/* the policy: past `at` rows, down to the newest `keep` */
	for (uint32_t u = 6; u <= 11; u++) {
		TEST_ASSERT(append_text("P", "p\r\n") == u);
		TEST_ASSERT(ok(pg_ms_expunge(id, &u, 1, false, NULL, NULL,
		    &err), &err));
	}
	TEST_ASSERT(ok(pg_ms_trim_expunged(id, 3, 7, &n, &err), &err) &&
	    n == 0);			/* 7 rows: not past 7 */
	TEST_ASSERT(ok(pg_ms_trim_expunged(id, 3, 5, &n, &err), &err) &&
	    n == 4);
	TEST_ASSERT(qn("SELECT min(uid) FROM expunged WHERE mailbox_id = "
	    "(SELECT id FROM mailboxes WHERE name = 'P')") == 9);
	/* the floor: uid 8's expunge, before uid 9's APPEND and expunge */
	TEST_ASSERT(qn("SELECT vanished_floor FROM mailboxes WHERE name = "
	    "'P'") == qn("SELECT modseq FROM expunged WHERE uid = 9 AND "
	    "mailbox_id = (SELECT id FROM mailboxes WHERE name = 'P')") - 2);
	TEST_ASSERT(ok(pg_ms_trim_expunged(id, 3, 5, &n, &err), &err) &&
	    n == 0);
	TEST_ASSERT(ok(pg_ms_delete(user, "P", &err), &err));
}

struct claimer {
	int64_t		 id;
	atomic_int	*done;
	uint32_t	*uids;
	size_t		 n, cap;
	int		 failed;
};

static void *
claim_thread(void *arg)
{
	struct claimer *c = arg;

	for (bool last = false; !last;) {
		uint32_t *u = NULL;
		size_t n = 0;
		char *err = NULL;

		last = atomic_load(c->done);	/* one claim after the end */
		if (pg_ms_claim_recent(c->id, &u, &n, &err) != PG_OK) {
			fprintf(stderr, "  claim: %s\n", err);
			c->failed++;
		}
		free(err);
		for (size_t i = 0; i < n; i++)
			*ARRAY_PUSH(c->uids, c->n, c->cap) = u[i];
		free(u);
	}
	pg_conn_close();
	return NULL;
}

/* Two sessions claiming while messages arrive: each UID is \Recent in
 * exactly one of them. */
static void
test_claim_recent(void)
{
	struct claimer c[2];
	struct appender a[1];
	pthread_t t[2];
	atomic_int done = 0;
	char *err = NULL;
	uint32_t *u = NULL;
	size_t n = 9;
	int seen[61] = { 0 };

	TEST_ASSERT(fails(pg_ms_claim_recent(-1, &u, &n, &err), &err,
	    PG_MS_NONEXISTENT));
	TEST_ASSERT(ok(pg_ms_create(user, "R", 0, NULL, &err), &err));
	for (int i = 0; i < 2; i++) {
		c[i] = (struct claimer){ .id = folder_id("R"), .done = &done };
		pthread_create(&t[i], NULL, claim_thread, &c[i]);
	}
	TEST_ASSERT(appenders((const char *[]){ "R", NULL }, 1, 60, a) == 0);
	free(a[0].uids);
	atomic_store(&done, 1);
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		TEST_ASSERT(c[i].failed == 0);
		for (size_t j = 0; j < c[i].n; j++)
			if (c[i].uids[j] >= 1 && c[i].uids[j] <= 60)
				seen[c[i].uids[j]]++;
		free(c[i].uids);
	}
	for (int i = 1; i <= 60; i++)
		TEST_ASSERT(seen[i] == 1);
	TEST_ASSERT(ok(pg_ms_claim_recent(folder_id("R"), &u, &n, &err),
	    &err) && n == 0 && u == NULL);
	TEST_ASSERT(ok(pg_ms_delete(user, "R", &err), &err));
}

/* ---- notifications ------------------------------------------------ */

/* Waits for the next notification; true when its payload is want. */
static bool
heard_next(struct heard *h, const char *want)
{
	int n = h->notified + 1;

	if (!run_until(&h->notified, n, 10000))
		return false;
	if (strcmp(h->payload, want) != 0)
		fprintf(stderr, "  payload \"%s\", want \"%s\"\n", h->payload,
		    want);
	return strcmp(h->payload, want) == 0;
}

static void
test_notify(void)
{
	struct heard h = { 0 };
	struct pg_listen *l;
	struct pg_ms_state st;
	char *err = NULL, want[64], want2[64];
	uint32_t *mod = NULL;
	size_t nmod = 0;
	uint64_t m = 0;
	int64_t id, child;

	TEST_ASSERT((l = pg_listen_start(dsn, &err)) != NULL);
	TEST_ASSERT(pg_listen_add(l, "tem_mailbox", loop, on_notify,
	    on_resync, &h, &err) == 0);
	TEST_ASSERT(run_until(&h.resynced, 1, 10000));
	TEST_ASSERT(ok(pg_ms_create(user, "N", 0, NULL, &err), &err));
	id = folder_id("N");
	TEST_ASSERT(append_text("N", "n\r\n") == 1);
	snprintf(want, sizeof(want), "%lld 2", (long long)id);
	TEST_ASSERT(heard_next(&h, want));
	TEST_ASSERT(ok(pg_ms_store(id, (const uint32_t[]){ 1 }, 1, PG_MS_ADD,
	    MBOX_F_SEEN, NULL, 0, &m, &mod, &nmod, &err), &err));
	snprintf(want, sizeof(want), "%lld 3", (long long)id);
	TEST_ASSERT(heard_next(&h, want));
	TEST_ASSERT(ok(pg_ms_expunge(id, (const uint32_t[]){ 1 }, 1, false,
	    NULL, NULL, &err), &err));
	snprintf(want, sizeof(want), "%lld 4", (long long)id);
	TEST_ASSERT(heard_next(&h, want));
	/* the listener's news: what a selected session re-reads */
	TEST_ASSERT(ok(pg_ms_changes(id, 3, &st, &err), &err));
	TEST_ASSERT(st.highestmodseq == 4 && st.n_vanished == 1);
	pg_ms_state_free(&st);
	/* RENAME: "ID R" for the folder and its child, no MODSEQ spent */
	TEST_ASSERT(ok(pg_ms_create(user, "N/c", 0, NULL, &err), &err));
	child = folder_id("N/c");
	TEST_ASSERT(ok(pg_ms_rename(user, "N", "M", &err), &err));
	TEST_ASSERT(run_until(&h.notified, h.notified + 2, 10000));
	snprintf(want, sizeof(want), "%lld R", (long long)id);
	snprintf(want2, sizeof(want2), "%lld R", (long long)child);
	TEST_ASSERT(strcmp(h.payload, want) == 0 ||
	    strcmp(h.payload, want2) == 0);
	TEST_ASSERT(folder_id("M/c") == child);
	TEST_ASSERT(qn("SELECT highestmodseq FROM mailboxes WHERE name = "
	    "'M'") == 4);
	TEST_ASSERT(ok(pg_ms_delete(user, "M/c", &err), &err));
	snprintf(want, sizeof(want), "%lld 0", (long long)child);
	TEST_ASSERT(heard_next(&h, want));
	TEST_ASSERT(ok(pg_ms_delete(user, "M", &err), &err));
	snprintf(want, sizeof(want), "%lld 0", (long long)id);
	TEST_ASSERT(heard_next(&h, want));
	pg_listen_free(&l);
	drain();
}

int
main(void)
{
	int rc;

	if ((dsn = getenv("TEM_TEST_PG_DSN")) == NULL || *dsn == '\0') {
		fprintf(stderr, "test-pg-mailstore needs TEM_TEST_PG_DSN (a "
		    "database after tem db init); "
		    "tests/integration/test_pg_mailstore.py runs it\n");
		test_failed = 1;
		return test_done("test-pg-mailstore");
	}
	loop_global_init();
	loop = loop_new();
	pg_conn_setup(dsn);
	{
		TEST_RUN(test_user);
		TEST_RUN(test_folders);
		TEST_RUN(test_rename_inbox);
		TEST_RUN(test_append_read);
		TEST_RUN(test_multiappend_status);
		TEST_RUN(test_append_stream);
		TEST_RUN(test_concurrent_append);
		TEST_RUN(test_store_condstore);
		TEST_RUN(test_expunge_vanished);
		TEST_RUN(test_copy_move);
		TEST_RUN(test_lock_stress);
		TEST_RUN(test_user_delete);
		TEST_RUN(test_prune_expunged);
		TEST_RUN(test_claim_recent);
		TEST_RUN(test_notify);
		rc = test_done("test-pg-mailstore");
	}
	pg_conn_cleanup();
	loop_free(&loop);
	return rc;
}
