/*
 * test-mailbox - unit tests for src/store/mailbox*: name encoding,
 * delivery to UIDs, flags in file names, two views sharing a folder,
 * watches, index loss and damage, expunge and VANISHED, APPEND/COPY/MOVE
 * UIDs, folder create/delete/rename/list/subscribe, outside tools,
 * concurrency, the speed of a 10,000-message sync, and NOTIFY's user
 * watches.
 *
 * Trust: test code. Each test gets a fresh Maildir under /tmp.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/mailbox.h"
#include "store/mailbox_int.h"
#include "store/maildir.h"
#include "store/test-mailbox.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/test.h"
#include "util/xmalloc.h"

static const char body[] = "Subject: hi\nFrom: a@b.test\n\nline one\nline two\n";
#define BODY_WIRE (sizeof(body) - 1 + 5)	/* five LFs become CRLF */

/* ---- fixtures ------------------------------------------------------------ */

static void
deliver(void)
{
	deliver_to(NULL, body);
}

static unsigned
count_files(const char *sub)
{
	char *path = xasprintf("%s/%s", tbox, sub);
	DIR *d = opendir(path);
	struct dirent *de;
	unsigned n = 0;

	free(path);
	while (d && (de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* The info (after ":2,") of the one file in sub whose name has base. */
static char *
info_of_file(const char *sub, uint32_t nth)
{
	char *path = xasprintf("%s/%s", tbox, sub);
	struct dirent **list;
	int n = scandir(path, &list, NULL, versionsort);
	char *info = NULL;
	uint32_t k = 0;

	free(path);
	for (int i = 0; i < n; i++) {
		if (list[i]->d_name[0] != '.' && k++ == nth && !info) {
			char *c = strstr(list[i]->d_name, ":2,");
			info = xstrdup(c ? c + 3 : "?");
		}
		free(list[i]);
	}
	if (n >= 0)
		free(list);
	return info;
}

static void
store(struct mbox_view *v, uint32_t seq, enum mbox_store_op op, unsigned fl,
    const char *kw)
{
	const char *kws[2] = { kw, NULL };
	uint32_t *mod = NULL;
	size_t nmod = 0;
	char *err = NULL;

	if (mbox_store(v, &seq, 1, op, fl, kw ? kws : NULL, 0, &mod, &nmod,
	    &err) < 0)
		log_fatal("store: %s", err);
	free(mod);
}

static void
sync_changes(struct mbox_view *v, struct mbox_changes *ch)
{
	char *err = NULL;

	if (mbox_view_sync(v, &err) < 0) {
		fprintf(stderr, "  sync: %s\n", err);
		free(err);
	}
	mbox_view_changes(v, ch);
}

/* ---- names ---------------------------------------------------------------- */

static void
test_names(void)
{
	static const struct { const char *name, *dir; } ok[] = {
		{ "INBOX", "" }, { "A/B", ".A.B" }, { "a.b", ".a&AC4-b" },
		{ "Entwürfe", ".Entw&APw-rfe" }, { "&", ".&-" },
		{ "日本語", ".&ZeVnLIqe-" }, { "x😀y", ".x&2D3eAA-y" },
		{ "INBOX/sub", ".INBOX.sub" }, { "..", ".&AC4ALg-" },
		{ "a b/~c", ".a b.~c" },
	};
	static const char *const bad[] = {
		"", "/a", "a/", "a//b", "a\x01", "a\x7f", "\xff", "\xc0\xaf",
		"a\xc2\x85", "\xed\xa0\x80",
	};
	static const char *const bad_dirs[] = {
		".a.", "..a", ".&AC8-", ".&Jjo", ".a&AGE-", ".INBOX", ".inbox.x",
		".&AAA-", ".&2D0-", "a", ".&-&-x&", ".&APw", ".&APx-",
	};
	char *norm, *dir, *back, *err = NULL;
	char big[300];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		TEST_ASSERT(mbox_name_resolve(ok[i].name, true, &norm, &dir,
		    NULL) == 0);
		TEST_ASSERT_STREQ(dir, ok[i].dir);
		if (dir[0]) {
			TEST_ASSERT(mbox_name_from_dir(dir, &back) == 0);
			TEST_ASSERT_STREQ(back, ok[i].name);
			free(back);
		}
		free(norm);
		free(dir);
	}
	TEST_ASSERT(mbox_name_resolve("inbox/Sub", false, &norm, &dir,
	    NULL) == 0);
	TEST_ASSERT_STREQ(norm, "INBOX/Sub");
	free(norm);
	free(dir);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		TEST_ASSERT(mbox_name_check(bad[i], false, &norm, &err) ==
		    MBOX_ERR_BADNAME);
		XFREE(&err);
	}
	TEST_ASSERT(mbox_name_check("a*", true, &norm, NULL) < 0);
	TEST_ASSERT(mbox_name_check("a%", true, &norm, NULL) < 0);
	memset(big, 'x', 256);
	big[256] = '\0';
	TEST_ASSERT(mbox_name_check(big, false, &norm, NULL) < 0);
	for (int i = 0; i < 17; i++)
		memcpy(big + 2 * i, "a/", 2);
	big[33] = '\0';
	TEST_ASSERT(mbox_name_check(big, false, &norm, NULL) < 0);
	big[31] = '\0';	/* 16 levels */
	TEST_ASSERT(mbox_name_check(big, false, &norm, NULL) == 0);
	free(norm);
	/* 200 dots fit the name limit but not NAME_MAX once encoded */
	memset(big, '.', 200);
	big[200] = '\0';
	TEST_ASSERT(mbox_name_resolve(big, true, &norm, &dir, NULL) ==
	    MBOX_ERR_BADNAME);
	for (size_t i = 0; i < sizeof(bad_dirs) / sizeof(bad_dirs[0]); i++)
		TEST_ASSERT(mbox_name_from_dir(bad_dirs[i], &back) < 0);
}

/* ---- delivery, UIDs, flags ------------------------------------------------- */

static void
test_delivery_uids(void)
{
	struct mbox_user *u;
	struct mbox_view *v;
	struct mbox_status st;
	struct mbox_msg_info mi;
	char *err = NULL;

	setup();
	for (int i = 0; i < 3; i++)
		deliver();
	u = uopen();
	TEST_ASSERT((v = vopen(u, "INBOX", false)) != NULL);
	TEST_ASSERT(mbox_view_count(v) == 3);
	for (uint32_t s = 1; s <= 3; s++) {
		TEST_ASSERT(mbox_view_uid(v, s) == s);
		TEST_ASSERT(mbox_view_seq(v, s) == s);
		TEST_ASSERT(mbox_view_msg(v, s, &mi) == 0);
		TEST_ASSERT(mi.size == BODY_WIRE);
		TEST_ASSERT(mi.flags == MBOX_F_RECENT);
		TEST_ASSERT(mi.modseq >= 1);
	}
	TEST_ASSERT(mbox_view_uid(v, 4) == 0 && mbox_view_seq(v, 9) == 0);
	TEST_ASSERT(count_files("new") == 0 && count_files("cur") == 3);
	char *info = info_of_file("cur", 0);
	TEST_ASSERT_STREQ(info, "");
	free(info);
	mbox_view_status(v, &st);
	TEST_ASSERT(st.messages == 3 && st.recent == 3 && st.unseen == 3 &&
	    st.uidnext == 4 && st.first_unseen == 1 &&
	    st.size == 3 * BODY_WIRE);
	TEST_ASSERT(mbox_status(u, "inbox", &st, &err) == 0);
	TEST_ASSERT(st.messages == 3 && st.recent == 0 && st.uidnext == 4);
	/* the file reads back as delivered */
	int fd = mbox_view_msg_open(v, 2);
	char buf[256];
	TEST_ASSERT(fd >= 0);
	ssize_t r = read(fd, buf, sizeof(buf));
	close(fd);
	TEST_ASSERT(r == (ssize_t)strlen(body) && memcmp(buf, body, r) == 0);
	char uidl[MBOX_UIDL_MAX + 1];
	TEST_ASSERT(mbox_view_uidl(v, 1, uidl) == 0 && strchr(uidl, ',') == NULL);
	mbox_view_close(&v);
	mbox_user_unref(&u);
	teardown();
}

static void
test_flags_roundtrip(void)
{
	struct mbox_user *u;
	struct mbox_view *v, *ro;
	struct mbox_msg_info mi;
	char *info, *err = NULL;
	uint32_t seq = 1, *mod;
	size_t nmod;

	setup();
	deliver();
	u = uopen();
	TEST_ASSERT((v = vopen(u, "INBOX", false)) != NULL);
	store(v, 1, MBOX_STORE_ADD, MBOX_F_SEEN | MBOX_F_FLAGGED, "$Forwarded");
	info = info_of_file("cur", 0);
	TEST_ASSERT_STREQ(info, "FSa");
	free(info);
	TEST_ASSERT(mbox_view_n_keywords(v) == 1);
	TEST_ASSERT_STREQ(mbox_view_keyword(v, 0), "$Forwarded");
	store(v, 1, MBOX_STORE_ADD, 0, "$forwarded");	/* same keyword */
	store(v, 1, MBOX_STORE_ADD, MBOX_F_DRAFT | MBOX_F_DELETED, "Work");
	info = info_of_file("cur", 0);
	TEST_ASSERT_STREQ(info, "DFSTab");
	free(info);
	store(v, 1, MBOX_STORE_REPLACE, MBOX_F_ANSWERED, NULL);
	info = info_of_file("cur", 0);
	TEST_ASSERT_STREQ(info, "R");
	free(info);
	store(v, 1, MBOX_STORE_ADD, 0, "Work");
	store(v, 1, MBOX_STORE_REMOVE, MBOX_F_ANSWERED, NULL);
	info = info_of_file("cur", 0);
	TEST_ASSERT_STREQ(info, "b");
	free(info);
	TEST_ASSERT(mbox_view_msg(v, 1, &mi) == 0);
	TEST_ASSERT(mi.flags == MBOX_F_RECENT && mi.keywords == 2);
	/* the keyword map is a plain file, not a tem-* one */
	char *kwpath = xasprintf("%s/keywords", tbox);
	struct stat sb;
	TEST_ASSERT(stat(kwpath, &sb) == 0);
	free(kwpath);
	/* bad keywords, 27 keywords, read-only views */
	const char *badkw[] = { "a b", NULL };
	TEST_ASSERT(mbox_store(v, &seq, 1, MBOX_STORE_ADD, 0, badkw, 0, &mod,
	    &nmod, &err) == MBOX_ERR_BADNAME);
	XFREE(&err);
	for (int i = 0; i < 24; i++) {
		char kw[16];
		snprintf(kw, sizeof(kw), "k%d", i);
		store(v, 1, MBOX_STORE_ADD, 0, kw);
	}
	TEST_ASSERT(!mbox_view_can_add_keywords(v));
	const char *one_more[] = { "toomany", NULL };
	TEST_ASSERT(mbox_store(v, &seq, 1, MBOX_STORE_ADD, 0, one_more, 0,
	    &mod, &nmod, &err) == MBOX_ERR_LIMIT);
	XFREE(&err);
	TEST_ASSERT((ro = vopen(u, "INBOX", true)) != NULL);
	TEST_ASSERT(mbox_store(ro, &seq, 1, MBOX_STORE_ADD, MBOX_F_SEEN, NULL,
	    0, &mod, &nmod, &err) == MBOX_ERR_CANNOT);
	XFREE(&err);
	mbox_view_close(&ro);
	mbox_view_close(&v);
	mbox_user_unref(&u);
	teardown();
}

static void
test_unchangedsince(void)
{
	struct mbox_user *u;
	struct mbox_view *v;
	struct mbox_msg_info m1, m2;
	uint32_t seqs[2] = { 1, 2 }, *mod = NULL;
	size_t nmod = 0;
	char *err = NULL;

	setup();
	deliver();
	deliver();
	u = uopen();
	TEST_ASSERT((v = vopen(u, "INBOX", false)) != NULL);
	store(v, 2, MBOX_STORE_ADD, MBOX_F_FLAGGED, NULL);
	TEST_ASSERT(mbox_view_msg(v, 1, &m1) == 0 && mbox_view_msg(v, 2,
	    &m2) == 0);
	TEST_ASSERT(m2.modseq > m1.modseq);
	TEST_ASSERT(mbox_store(v, seqs, 2, MBOX_STORE_ADD, MBOX_F_SEEN, NULL,
	    m1.modseq, &mod, &nmod, &err) == 0);
	TEST_ASSERT(nmod == 1 && mod[0] == 2);
	free(mod);
	TEST_ASSERT(mbox_view_msg(v, 1, &m1) == 0 && mbox_view_msg(v, 2,
	    &m2) == 0);
	TEST_ASSERT((m1.flags & MBOX_F_SEEN) && !(m2.flags & MBOX_F_SEEN));
	mbox_view_close(&v);
	mbox_user_unref(&u);
	teardown();
}

/* ---- sharing ---------------------------------------------------------------- */

static atomic_int woken;

static void
on_wake(void *arg)
{
	(void)arg;
	atomic_fetch_add(&woken, 1);
}

static void *
run_loop(void *l)
{
	loop_run(l);
	return NULL;
}

static bool
wait_woken(int want, int ms)
{
	for (int i = 0; i < ms / 10 && atomic_load(&woken) < want; i++)
		usleep(10000);
	return atomic_load(&woken) >= want;
}

static void
test_two_views(void)
{
	struct mbox_user *u1, *u2;
	struct mbox_view *v1, *v2;
	struct mbox_changes ch;
	struct mbox_msg_info mi;
	uint32_t *exp;
	size_t nexp;
	char *err = NULL;

	setup();
	for (int i = 0; i < 4; i++)
		deliver();
	u1 = uopen();
	u2 = uopen();
	TEST_ASSERT(u1 == u2);	/* one shared store per root */
	TEST_ASSERT((v1 = vopen(u1, "INBOX", false)) != NULL);
	TEST_ASSERT((v2 = vopen(u2, "INBOX", false)) != NULL);
	/* \Recent goes to the first view only */
	TEST_ASSERT(mbox_view_msg(v1, 1, &mi) == 0 && (mi.flags & MBOX_F_RECENT));
	TEST_ASSERT(mbox_view_msg(v2, 1, &mi) == 0 && !(mi.flags & MBOX_F_RECENT));

	store(v1, 2, MBOX_STORE_ADD, MBOX_F_SEEN, NULL);
	sync_changes(v2, &ch);
	TEST_ASSERT(ch.n_flags == 1 && ch.flag_seqs[0] == 2);
	TEST_ASSERT(ch.n_expunged == 0 && !ch.exists_changed && !ch.gone);
	mbox_changes_free(&ch);
	sync_changes(v1, &ch);	/* its own store is not reported back */
	TEST_ASSERT(ch.n_flags == 0);
	mbox_changes_free(&ch);

	store(v2, 1, MBOX_STORE_ADD, MBOX_F_DELETED, NULL);
	store(v2, 3, MBOX_STORE_ADD, MBOX_F_DELETED, NULL);
	TEST_ASSERT(mbox_expunge(v2, NULL, 0, true, &exp, &nexp, &err) == 0);
	TEST_ASSERT(nexp == 2 && exp[0] == 1 && exp[1] == 3);
	free(exp);
	/* v2 still numbers as before until it asks */
	TEST_ASSERT(mbox_view_count(v2) == 4);
	TEST_ASSERT(mbox_view_msg(v2, 1, &mi) == 0 && mi.expunged);
	sync_changes(v1, &ch);
	TEST_ASSERT(ch.n_expunged == 2);
	TEST_ASSERT(ch.expunged_seqs[0] == 3 && ch.expunged_seqs[1] == 1);
	TEST_ASSERT(ch.expunged_uids[0] == 3 && ch.expunged_uids[1] == 1);
	TEST_ASSERT(ch.n_flags == 0);	/* the \Deleted ones are gone */
	mbox_changes_free(&ch);
	TEST_ASSERT(mbox_view_count(v1) == 2 && mbox_view_uid(v1, 1) == 2 &&
	    mbox_view_uid(v1, 2) == 4);
	sync_changes(v2, &ch);
	TEST_ASSERT(ch.n_expunged == 2 && mbox_view_count(v2) == 2);
	mbox_changes_free(&ch);

	/* a delivery: both see it, with a watch on a loop */
	struct loop *l = loop_new();
	pthread_t th;
	pthread_create(&th, NULL, run_loop, l);
	atomic_store(&woken, 0);
	mbox_view_watch(v2, l, on_wake, NULL);
	deliver();
	mbox_notify_delivery(tbox);
	TEST_ASSERT(wait_woken(1, 1000));
	sync_changes(v2, &ch);
	TEST_ASSERT(ch.exists_changed && ch.exists == 3 && ch.recent == 1);
	mbox_changes_free(&ch);
	sync_changes(v1, &ch);
	TEST_ASSERT(ch.exists_changed && ch.exists == 3 && ch.recent == 2);
	mbox_changes_free(&ch);
	/* a file from elsewhere, unannounced: the store thread's tick */
	atomic_store(&woken, 0);
	deliver();
	TEST_ASSERT(wait_woken(1, 2500));
	sync_changes(v2, &ch);
	TEST_ASSERT(ch.exists_changed && ch.exists == 4);
	mbox_changes_free(&ch);
	sync_changes(v1, &ch);
	mbox_changes_free(&ch);
	/* another view's store wakes the watcher; its own does not */
	atomic_store(&woken, 0);
	store(v1, 1, MBOX_STORE_ADD, MBOX_F_FLAGGED, NULL);
	TEST_ASSERT(wait_woken(1, 1000));
	usleep(50000);
	int before = atomic_load(&woken);
	store(v2, 1, MBOX_STORE_ADD, MBOX_F_ANSWERED, NULL);
	usleep(100000);
	TEST_ASSERT(atomic_load(&woken) == before);
	mbox_view_watch(v2, NULL, NULL, NULL);
	loop_break(l);
	pthread_join(th, NULL);
	loop_free(&l);
	mbox_view_close(&v1);
	mbox_view_close(&v2);
	mbox_user_unref(&u1);
	mbox_user_unref(&u2);
	teardown();
}

/* ---- the index ---------------------------------------------------------------- */

static void
rm_index(void)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };

	for (int i = 0; i < 3; i++) {
		char *p = xasprintf("%s/tem-index.sqlite%s", tbox, sfx[i]);
		unlink(p);
		free(p);
	}
}

static void
test_index_kept_and_lost(void)
{
	struct mbox_user *u;
	struct mbox_view *v;
	struct mbox_status st;
	struct mbox_msg_info mi;
	char uidl1[MBOX_UIDL_MAX + 1], uidl2[MBOX_UIDL_MAX + 1];
	uint32_t uv1, *exp = NULL;
	size_t nexp;
	char *err = NULL;

	setup();
	for (int i = 0; i < 5; i++)
		deliver();
	u = uopen();
	TEST_ASSERT((v = vopen(u, "INBOX", false)) != NULL);
	store(v, 1, MBOX_STORE_ADD, MBOX_F_DELETED, NULL);
	TEST_ASSERT(mbox_expunge(v, NULL, 0, true, &exp, &nexp, &err) == 0);
	free(exp);
	struct mbox_changes ch;
	sync_changes(v, &ch);
	mbox_changes_free(&ch);
	store(v, 2, MBOX_STORE_ADD, MBOX_F_SEEN, "$Junk");	/* uid 3 */
	TEST_ASSERT(mbox_view_uidl(v, 4, uidl1) == 0);	/* seq 4: uid 5 */
	mbox_view_status(v, &st);
	uv1 = st.uidvalidity;
	mbox_view_close(&v);
	mbox_user_unref(&u);

	/* kept: same UIDVALIDITY and UIDs */
	u = uopen();
	TEST_ASSERT((v = vopen(u, "INBOX", false)) != NULL);
	mbox_view_status(v, &st);
	TEST_ASSERT(st.uidvalidity == uv1 && st.messages == 4 &&
	    st.uidnext == 6);
	TEST_ASSERT(mbox_view_uid(v, 1) == 2 && mbox_view_uid(v, 4) == 5);
	mbox_view_close(&v);
	mbox_user_unref(&u);

	/* lost: a new UIDVALIDITY, no message nor flag nor keyword lost */
	rm_index();
	u = uopen();
	TEST_ASSERT((v = vopen(u, "INBOX", false)) != NULL);
	mbox_view_status(v, &st);
	TEST_ASSERT(st.uidvalidity != uv1 && st.messages == 4 &&
	    st.uidnext == 5);
	TEST_ASSERT(mbox_view_msg(v, 2, &mi) == 0);
	TEST_ASSERT(mi.flags & MBOX_F_SEEN);
	TEST_ASSERT(mi.keywords == 1 && strcmp(mbox_view_keyword(v, 0),
	    "$Junk") == 0);
	TEST_ASSERT(mbox_view_msg(v, 1, &mi) == 0 && mi.flags ==
	    MBOX_F_RECENT);
	TEST_ASSERT(mbox_view_uidl(v, 4, uidl2) == 0);
	TEST_ASSERT_STREQ(uidl1, uidl2);	/* POP3 UIDL survives */
	mbox_view_close(&v);
	mbox_user_unref(&u);

	/* damaged: garbage in the file is replaced by a rebuild */
	uv1 = st.uidvalidity;
	rm_index();
	char *path = xasprintf("%s/tem-index.sqlite", tbox);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	char junk[8192];
	memset(junk, 'x', sizeof(junk));
	memcpy(junk, "SQLite format 3", 16);
	TEST_ASSERT(fd >= 0 && write(fd, junk, sizeof(junk)) ==
	    (ssize_t)sizeof(junk));
	close(fd);
	free(path);
	u = uopen();
	TEST_ASSERT((v = vopen(u, "INBOX", false)) != NULL);
	mbox_view_status(v, &st);
	TEST_ASSERT(st.uidvalidity != uv1 && st.messages == 4 &&
	    st.unseen == 3);
	mbox_view_close(&v);
	mbox_user_unref(&u);
	teardown();
}

static void
test_expunge_vanished(void)
{
	struct mbox_user *u;
	struct mbox_view *v, *v2;
	struct mbox_status st;
	struct mbox_uid_range *r;
	struct mbox_changes ch;
	size_t nr, nexp;
	uint32_t uids[2] = { 3, 5 }, *exp;
	uint64_t hms0;
	char *err = NULL;

	setup();
	for (int i = 0; i < 6; i++)
		deliver();
	u = uopen();
	TEST_ASSERT((v = vopen(u, "INBOX", false)) != NULL);
	mbox_view_status(v, &st);
	hms0 = st.highestmodseq;
	/* UID EXPUNGE needs \Deleted; POP3's expunge does not */
	TEST_ASSERT(mbox_expunge(v, uids, 2, true, &exp, &nexp, &err) == 0);
	TEST_ASSERT(nexp == 0);
	free(exp);
	store(v, 3, MBOX_STORE_ADD, MBOX_F_DELETED, NULL);
	TEST_ASSERT(mbox_expunge(v, uids, 2, true, &exp, &nexp, &err) == 0);
	TEST_ASSERT(nexp == 1 && exp[0] == 3);
	free(exp);
	TEST_ASSERT(mbox_expunge(v, uids, 2, false, &exp, &nexp, &err) == 0);
	TEST_ASSERT(nexp == 1 && exp[0] == 5);
	free(exp);
	sync_changes(v, &ch);
	TEST_ASSERT(ch.n_expunged == 2 && ch.highestmodseq > hms0);
	mbox_changes_free(&ch);
	TEST_ASSERT(mbox_vanished_since(v, hms0, &r, &nr, &err) == 0);
	TEST_ASSERT(nr == 2 && r[0].first == 3 && r[0].last == 3 &&
	    r[1].first == 5 && r[1].last == 5);
	free(r);
	mbox_view_status(v, &st);
	TEST_ASSERT(mbox_vanished_since(v, st.highestmodseq, &r, &nr, &err) == 0);
	TEST_ASSERT(nr == 0);
	free(r);
	/* a view opened later: the same answer (the history is on disk) */
	mbox_view_close(&v);
	mbox_user_unref(&u);
	u = uopen();
	TEST_ASSERT((v2 = vopen(u, "INBOX", false)) != NULL);
	TEST_ASSERT(mbox_vanished_since(v2, hms0, &r, &nr, &err) == 0);
	TEST_ASSERT(nr == 2 && r[0].first == 3 && r[1].first == 5);
	free(r);
	mbox_view_close(&v2);
	mbox_user_unref(&u);
	teardown();
}

/* ---- APPEND, COPY, MOVE ----------------------------------------------------- */

static void
test_append_copy_move(void)
{
	static const char crlf[] = "Subject: x\r\n\r\nbody\r\nbare\nend";
	struct mbox_user *u;
	struct mbox_view *v, *sent;
	struct mbox_status st;
	struct mbox_msg_info mi;
	struct mbox_changes ch;
	uint32_t uv, uid, *src, *dst, seqs[2] = { 1, 3 };
	size_t n;
	char *err = NULL;
	const char *kws[] = { "$label1", NULL };

	setup();
	for (int i = 0; i < 3; i++)
		deliver();
	u = uopen();
	TEST_ASSERT(mbox_create(u, "Sent", MBOX_SENT, &err) == 0);
	TEST_ASSERT(mbox_create(u, "Archive", 0, &err) == 0);
	TEST_ASSERT(mbox_append(u, "Sent", crlf, strlen(crlf), MBOX_F_SEEN,
	    kws, 1700000000, &uv, &uid, &err) == 0);
	TEST_ASSERT(uid == 1 && uv != 0);
	TEST_ASSERT(mbox_append(u, "Sent", crlf, strlen(crlf), 0, NULL, 0,
	    &uv, &uid, &err) == 0);
	TEST_ASSERT(uid == 2);
	TEST_ASSERT(mbox_append(u, "Nope", crlf, strlen(crlf), 0, NULL, 0,
	    &uv, &uid, &err) == MBOX_ERR_NONEXISTENT);
	XFREE(&err);
	TEST_ASSERT((sent = vopen(u, "Sent", false)) != NULL);
	TEST_ASSERT(mbox_view_msg(sent, 1, &mi) == 0);
	TEST_ASSERT(mi.size == strlen(crlf) + 1);	/* the bare LF */
	TEST_ASSERT(mi.internaldate == 1700000000);
	TEST_ASSERT((mi.flags & MBOX_F_SEEN) && mi.keywords == 1);
	int fd = mbox_view_msg_open(sent, 1);
	char buf[128];
	ssize_t r = read(fd, buf, sizeof(buf));
	close(fd);
	TEST_ASSERT(r == (ssize_t)strlen(crlf) - 3 &&
	    memcmp(buf, "Subject: x\n\nbody\nbare\nend", (size_t)r) == 0);

	TEST_ASSERT((v = vopen(u, "INBOX", false)) != NULL);
	store(v, 3, MBOX_STORE_ADD, MBOX_F_FLAGGED, "Blue");
	TEST_ASSERT(mbox_copy(v, seqs, 2, "Archive", false, &uv, &src, &dst,
	    &n, &err) == 0);
	TEST_ASSERT(n == 2 && src[0] == 1 && src[1] == 3 && dst[0] == 1 &&
	    dst[1] == 2);
	mbox_status(u, "Archive", &st, &err);
	TEST_ASSERT(uv == st.uidvalidity && st.messages == 2);
	free(src);
	free(dst);
	/* MOVE to Sent: gone from INBOX, with flags and keywords in Sent */
	TEST_ASSERT(mbox_copy(v, seqs, 2, "Sent", true, &uv, &src, &dst, &n,
	    &err) == 0);
	TEST_ASSERT(n == 2 && dst[0] == 3 && dst[1] == 4);
	free(src);
	free(dst);
	sync_changes(v, &ch);
	TEST_ASSERT(ch.n_expunged == 2 && mbox_view_count(v) == 1);
	mbox_changes_free(&ch);
	TEST_ASSERT(count_files("cur") == 1);
	sync_changes(sent, &ch);
	TEST_ASSERT(ch.exists_changed && ch.exists == 4);
	mbox_changes_free(&ch);
	TEST_ASSERT(mbox_view_msg(sent, 4, &mi) == 0);
	TEST_ASSERT(mi.flags & MBOX_F_FLAGGED);
	TEST_ASSERT(mi.keywords && strcmp(mbox_view_keyword(sent,
	    (unsigned)__builtin_ctz(mi.keywords)), "Blue") == 0);
	/* to a missing folder; an expunged message */
	TEST_ASSERT(mbox_copy(v, seqs, 1, "Gone", false, &uv, &src, &dst, &n,
	    &err) == MBOX_ERR_NONEXISTENT);
	XFREE(&err);
	mbox_view_close(&v);
	mbox_view_close(&sent);
	mbox_user_unref(&u);
	teardown();
}

/* ---- folders ---------------------------------------------------------------- */

static unsigned
list_flags(struct mbox_user *u, const char *name)
{
	struct mbox_folder_info *l;
	size_t n;
	unsigned fl = 0xffffffff;
	char *err = NULL;

	if (mbox_list(u, &l, &n, &err) < 0)
		return fl;
	for (size_t i = 0; i < n; i++)
		if (strcmp(l[i].name, name) == 0)
			fl = l[i].flags;
	mbox_list_free(l, n);
	return fl;
}

/* Reads message seq of v whole; malloc'd, length in *n. */
static char *
read_msg(struct mbox_view *v, uint32_t seq, size_t *n)
{
	int fd = mbox_view_msg_open(v, seq);
	char *b = xmalloc(65536);
	ssize_t r;

	*n = 0;
	while (fd >= 0 && (r = read(fd, b + *n, 65536 - *n)) > 0)
		*n += (size_t)r;
	if (fd >= 0)
		close(fd);
	return b;
}

/* A message spooled in pieces of any size is stored exactly as the same
 * message appended at once (CRLF to LF, a CR at a piece's end held back,
 * sizes counted); a failed spool leaves no file and fails the append. */
static void
test_append_spool(void)
{
	static const char msg[] = "Subject: s\r\n\r\na\r\r\nb\rc\n\r\n."
	    "\r\nend\r";
	struct mbox_user *u;
	struct mbox_view *v;
	struct mbox_msg_info want, got;
	struct mbox_spool *s;
	uint32_t uv, uid;
	size_t len = strlen(msg), n0, n1;
	char *err = NULL, *b0, *b1, *tmpdir;
	DIR *d;
	struct dirent *e;
	int files = 0;

	setup();
	u = uopen();
	TEST_ASSERT(mbox_append(u, "INBOX", msg, len, 0, NULL, 1700000000, &uv,
	    &uid, &err) == 0);
	for (size_t piece = 1; piece <= 4; piece++) {
		s = mbox_spool_new(u);
		for (size_t off = 0; off < len; off += piece)
			TEST_ASSERT(mbox_spool_write(s, msg + off, off + piece >
			    len ? len - off : piece) == 0);
		TEST_ASSERT(mbox_spool_finish(s) == 0);
		TEST_ASSERT(mbox_append_spool(u, "INBOX", &s, 0, NULL,
		    1700000000, &uv, &uid, &err) == 0 && s == NULL);
	}
	TEST_ASSERT((v = vopen(u, "INBOX", true)) != NULL);
	TEST_ASSERT(mbox_view_count(v) == 5);
	TEST_ASSERT(mbox_view_msg(v, 1, &want) == 0);
	b0 = read_msg(v, 1, &n0);
	TEST_ASSERT(n0 == 26 && memcmp(b0, "Subject: s\n\na\r\nb\rc\n\n.\nend\r",
	    n0) == 0);
	for (uint32_t seq = 2; seq <= 5; seq++) {
		TEST_ASSERT(mbox_view_msg(v, seq, &got) == 0);
		TEST_ASSERT(got.size == want.size);
		b1 = read_msg(v, seq, &n1);
		TEST_ASSERT(n1 == n0 && memcmp(b0, b1, n0) == 0);
		free(b1);
	}
	free(b0);
	mbox_view_close(&v);
	/* a spool abandoned, or appended after its failure, leaves nothing */
	s = mbox_spool_new(u);
	TEST_ASSERT(mbox_spool_write(s, "x\r\n", 3) == 0);
	mbox_spool_free(&s);
	s = mbox_spool_new(u);
	TEST_ASSERT(mbox_spool_write(s, "x", 1) == 0);
	TEST_ASSERT(mbox_append_spool(u, "INBOX", &s, 0, NULL, 0, &uv, &uid,
	    &err) == MBOX_ERR_TEMP && s == NULL);	/* not finished */
	XFREE(&err);
	tmpdir = xasprintf("%s/tmp", tbox);
	TEST_ASSERT((d = opendir(tmpdir)) != NULL);
	while ((e = readdir(d)) != NULL)
		files += e->d_name[0] != '.';
	closedir(d);
	TEST_ASSERT(files == 0);
	/* a spool left by a crash goes when the user is next opened */
	mbox_user_unref(&u);
	b0 = xasprintf("%s/crashed.append", tmpdir);
	TEST_ASSERT(close(open(b0, O_WRONLY | O_CREAT, 0600)) == 0);
	u = uopen();
	TEST_ASSERT(access(b0, F_OK) < 0 && errno == ENOENT);
	free(b0);
	free(tmpdir);
	mbox_user_unref(&u);
	teardown();
}

static void
test_folders(void)
{
	struct mbox_user *u;
	struct mbox_view *v;
	struct mbox_status st, st2;
	struct mbox_changes ch;
	struct mbox_folder_info *l;
	size_t n;
	char *err = NULL, *p;
	struct stat sb;

	setup();
	u = uopen();
	TEST_ASSERT(mbox_create(u, "A/B.c", 0, &err) == 0);
	TEST_ASSERT(mbox_create(u, "Ünï/x", 0, &err) == 0);
	TEST_ASSERT(mbox_create(u, "Trash", 0, &err) == 0);
	TEST_ASSERT(mbox_create(u, "Mine", MBOX_ARCHIVE, &err) == 0);
	TEST_ASSERT(mbox_create(u, "A/B.c", 0, &err) == MBOX_ERR_EXISTS);
	XFREE(&err);
	TEST_ASSERT(mbox_create(u, "inbox", 0, &err) == MBOX_ERR_EXISTS);
	XFREE(&err);
	TEST_ASSERT(mbox_create(u, "bad*", 0, &err) == MBOX_ERR_BADNAME);
	XFREE(&err);
	p = xasprintf("%s/.A.B&AC4-c/maildirfolder", tbox);
	TEST_ASSERT(stat(p, &sb) == 0);
	free(p);
	p = xasprintf("%s/.&ANw-n&AO8-.x/cur", tbox);
	TEST_ASSERT(stat(p, &sb) == 0);
	free(p);
	TEST_ASSERT(mbox_list(u, &l, &n, &err) == 0);
	TEST_ASSERT(n == 7 && strcmp(l[0].name, "INBOX") == 0);
	mbox_list_free(l, n);
	TEST_ASSERT(list_flags(u, "A") == (MBOX_NOSELECT | MBOX_HASCHILDREN));
	TEST_ASSERT(list_flags(u, "A/B.c") == MBOX_HASNOCHILDREN);
	TEST_ASSERT(list_flags(u, "Trash") == (MBOX_HASNOCHILDREN | MBOX_TRASH));
	TEST_ASSERT(list_flags(u, "Mine") == (MBOX_HASNOCHILDREN |
	    MBOX_ARCHIVE));
	TEST_ASSERT(list_flags(u, "INBOX") == MBOX_HASNOCHILDREN);

	/* subscriptions, also of names that do not exist */
	TEST_ASSERT(mbox_subscribe(u, "A/B.c", true, &err) == 0);
	TEST_ASSERT(mbox_subscribe(u, "Later", true, &err) == 0);
	TEST_ASSERT(mbox_subscribe(u, "Later", true, &err) == 0);
	TEST_ASSERT(list_flags(u, "A/B.c") == (MBOX_HASNOCHILDREN |
	    MBOX_SUBSCRIBED));
	TEST_ASSERT(list_flags(u, "Later") == (MBOX_NOSELECT |
	    MBOX_NONEXISTENT | MBOX_SUBSCRIBED | MBOX_HASNOCHILDREN));
	TEST_ASSERT(mbox_subscribe(u, "Later", false, &err) == 0);
	TEST_ASSERT(list_flags(u, "Later") == 0xffffffff);

	/* rename keeps UIDVALIDITY and UIDs; open views follow */
	deliver_to(".A.B&AC4-c", body);
	TEST_ASSERT(mbox_status(u, "A/B.c", &st, &err) == 0);
	TEST_ASSERT((v = vopen(u, "A/B.c", false)) != NULL);
	TEST_ASSERT(mbox_rename(u, "A", "Z/Y", &err) == 0);
	TEST_ASSERT(list_flags(u, "A") == 0xffffffff);
	TEST_ASSERT(mbox_status(u, "Z/Y/B.c", &st2, &err) == 0);
	TEST_ASSERT(st2.uidvalidity == st.uidvalidity && st2.messages == 1);
	char *vn = mbox_view_name(v);
	TEST_ASSERT_STREQ(vn, "Z/Y/B.c");
	free(vn);
	store(v, 1, MBOX_STORE_ADD, MBOX_F_SEEN, NULL);
	TEST_ASSERT(mbox_rename(u, "Z/Y/B.c", "Trash", &err) ==
	    MBOX_ERR_EXISTS);
	XFREE(&err);
	TEST_ASSERT(mbox_rename(u, "Trash", "Trash/Sub", &err) ==
	    MBOX_ERR_CANNOT);
	XFREE(&err);
	TEST_ASSERT(mbox_rename(u, "Nope", "Nope2", &err) ==
	    MBOX_ERR_NONEXISTENT);
	XFREE(&err);

	/* delete: the open view gets gone; a new folder, a new UIDVALIDITY */
	TEST_ASSERT(mbox_delete(u, "Z/Y/B.c", &err) == 0);
	sync_changes(v, &ch);
	TEST_ASSERT(ch.gone);
	mbox_changes_free(&ch);
	mbox_view_close(&v);
	TEST_ASSERT(mbox_status(u, "Z/Y/B.c", &st2, &err) ==
	    MBOX_ERR_NONEXISTENT);
	XFREE(&err);
	TEST_ASSERT(mbox_create(u, "Z/Y/B.c", 0, &err) == 0);
	TEST_ASSERT(mbox_status(u, "Z/Y/B.c", &st2, &err) == 0);
	TEST_ASSERT(st2.uidvalidity != st.uidvalidity && st2.messages == 0);
	TEST_ASSERT(mbox_delete(u, "INBOX", &err) == MBOX_ERR_CANNOT);
	XFREE(&err);
	TEST_ASSERT(mbox_delete(u, "Z", &err) == MBOX_ERR_NONEXISTENT);
	XFREE(&err);
	mbox_user_unref(&u);
	teardown();
}

static void
test_rename_inbox(void)
{
	struct mbox_user *u;
	struct mbox_view *v, *old;
	struct mbox_changes ch;
	struct mbox_msg_info mi;
	struct mbox_status st;
	char *err = NULL;

	setup();
	for (int i = 0; i < 3; i++)
		deliver();
	u = uopen();
	TEST_ASSERT(mbox_create(u, "INBOX/Child", 0, &err) == 0);
	TEST_ASSERT((v = vopen(u, "INBOX", false)) != NULL);
	store(v, 2, MBOX_STORE_ADD, MBOX_F_SEEN, "Kept");
	TEST_ASSERT(mbox_rename(u, "INBOX", "Old", &err) == 0);
	sync_changes(v, &ch);
	TEST_ASSERT(ch.n_expunged == 3 && mbox_view_count(v) == 0);
	mbox_changes_free(&ch);
	TEST_ASSERT(count_files("cur") == 0);
	TEST_ASSERT((old = vopen(u, "Old", false)) != NULL);
	TEST_ASSERT(mbox_view_count(old) == 3);
	TEST_ASSERT(mbox_view_msg(old, 2, &mi) == 0 && (mi.flags & MBOX_F_SEEN));
	TEST_ASSERT(mi.keywords == 1 && strcmp(mbox_view_keyword(old, 0),
	    "Kept") == 0);
	TEST_ASSERT(mbox_status(u, "INBOX/Child", &st, &err) == 0);
	/* INBOX keeps working */
	deliver();
	sync_changes(v, &ch);
	TEST_ASSERT(ch.exists_changed && ch.exists == 1);
	TEST_ASSERT(mbox_view_uid(v, 1) == 4);
	mbox_changes_free(&ch);
	mbox_view_close(&old);
	mbox_view_close(&v);
	mbox_user_unref(&u);
	teardown();
}

/* ---- outside tools ---------------------------------------------------------- */

/* Renames the nth file of cur/ to carry info, as mutt would. */
static void
mutt_flag(uint32_t nth, const char *info)
{
	char *cur = xasprintf("%s/cur", tbox);
	struct dirent **list;
	int n = scandir(cur, &list, NULL, versionsort);
	uint32_t k = 0;

	for (int i = 0; i < n; i++) {
		if (list[i]->d_name[0] != '.' && k++ == nth) {
			char *from = xasprintf("%s/%s", cur, list[i]->d_name);
			char *c = strstr(list[i]->d_name, ":2,");
			if (c)
				*c = '\0';
			char *to = xasprintf("%s/%s%s%s", cur, list[i]->d_name,
			    info ? ":2," : "", info ? info : "");
			if (info)
				rename(from, to);
			else
				unlink(from);
			free(from);
			free(to);
		}
		free(list[i]);
	}
	free(list);
	free(cur);
}

static void
test_outside_tool(void)
{
	struct mbox_user *u;
	struct mbox_view *v;
	struct mbox_changes ch;
	struct mbox_msg_info mi;

	setup();
	for (int i = 0; i < 3; i++)
		deliver();
	u = uopen();
	TEST_ASSERT((v = vopen(u, "INBOX", false)) != NULL);
	mutt_flag(1, "RS");
	sync_changes(v, &ch);
	TEST_ASSERT(ch.n_flags == 1 && ch.flag_seqs[0] == 2);
	mbox_changes_free(&ch);
	TEST_ASSERT(mbox_view_msg(v, 2, &mi) == 0);
	TEST_ASSERT((mi.flags & MBOX_F_STORABLE) == (MBOX_F_SEEN |
	    MBOX_F_ANSWERED));
	/* a file deleted outside: expunged once the change is surely seen */
	mutt_flag(0, NULL);
	sync_changes(v, &ch);
	TEST_ASSERT(ch.n_expunged == 0);
	mbox_changes_free(&ch);
	usleep((MBOX_RECHECK_MS + 100) * 1000);
	sync_changes(v, &ch);
	TEST_ASSERT(ch.n_expunged == 1 && ch.expunged_uids[0] == 1);
	mbox_changes_free(&ch);
	/* a file dropped into new/ by another program */
	char *p = xasprintf("%s/new/1.outside.host", tbox);
	int fd = open(p, O_WRONLY | O_CREAT, 0600);
	TEST_ASSERT(fd >= 0 && write(fd, "a\r\nb\n", 5) == 5);
	close(fd);
	free(p);
	sync_changes(v, &ch);
	TEST_ASSERT(ch.exists_changed && ch.exists == 3);
	mbox_changes_free(&ch);
	TEST_ASSERT(mbox_view_msg(v, 3, &mi) == 0 && mi.size == 6 &&
	    mi.uid == 4);
	mbox_view_close(&v);
	mbox_user_unref(&u);
	teardown();
}

static void
test_pop3_lock(void)
{
	struct mbox_user *u1, *u2;

	setup();
	u1 = uopen();
	u2 = uopen();
	TEST_ASSERT(mbox_pop3_lock(u1, NULL) == 1);
	TEST_ASSERT(mbox_pop3_lock(u2, NULL) == 0);
	mbox_pop3_unlock(u1);
	TEST_ASSERT(mbox_pop3_lock(u2, NULL) == 1);
	mbox_pop3_unlock(u2);
	mbox_user_unref(&u1);
	mbox_user_unref(&u2);
	teardown();
}

/* ---- concurrency and speed ---------------------------------------------------- */

struct storer {
	struct mbox_user	*u;
	unsigned		 flag;
	int			 fails;
};

static void *
storer_main(void *arg)
{
	struct storer *s = arg;
	struct mbox_view *v = vopen(s->u, "INBOX", false);
	struct mbox_changes ch;
	uint32_t seqs[4] = { 1, 2, 3, 4 }, *mod;
	size_t nmod;
	char *err = NULL;

	if (v == NULL) {
		s->fails++;
		return NULL;
	}
	for (int i = 0; i < 200; i++) {
		enum mbox_store_op op = i % 2 ? MBOX_STORE_REMOVE :
		    MBOX_STORE_ADD;
		if (mbox_store(v, seqs, 4, op, s->flag, NULL, 0, &mod, &nmod,
		    &err) < 0) {
			s->fails++;
			XFREE(&err);
		}
		free(mod);
		sync_changes(v, &ch);
		mbox_changes_free(&ch);
	}
	mbox_view_close(&v);
	return NULL;
}

static void
test_concurrency(void)
{
	struct storer a, b;
	pthread_t ta, tb;
	struct mbox_user *u;
	struct mbox_view *v;
	struct mbox_status st;

	setup();
	for (int i = 0; i < 4; i++)
		deliver();
	u = uopen();
	a = (struct storer){ u, MBOX_F_SEEN, 0 };
	b = (struct storer){ u, MBOX_F_FLAGGED, 0 };
	pthread_create(&ta, NULL, storer_main, &a);
	pthread_create(&tb, NULL, storer_main, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	TEST_ASSERT(a.fails == 0 && b.fails == 0);
	TEST_ASSERT(count_files("cur") == 4);
	/* memory and disk agree: after 200 add/remove pairs, no flags */
	TEST_ASSERT((v = vopen(u, "INBOX", false)) != NULL);
	mbox_view_status(v, &st);
	TEST_ASSERT(st.messages == 4 && st.unseen == 4);
	for (uint32_t i = 0; i < 4; i++) {
		char *info = info_of_file("cur", i);
		TEST_ASSERT_STREQ(info, "");
		free(info);
	}
	mbox_view_close(&v);
	mbox_user_unref(&u);
	teardown();
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_speed_10k(void)
{
	struct mbox_user *u;
	struct mbox_view *v;
	struct mbox_changes ch;
	char *err = NULL;
	double t0, t_rebuild, t_open, t_sync;

	setup();
	for (int i = 0; i < 10000; i++) {
		char *p = xasprintf("%s/cur/%d.M%dP1Q%d.host,S=%zu,W=%zu:2,%s",
		    tbox, 1700000000 + i / 100, i % 100, i, strlen(body),
		    BODY_WIRE, i % 3 ? "S" : "");
		int fd = open(p, O_WRONLY | O_CREAT, 0600);
		if (fd < 0 || write(fd, body, strlen(body)) < 0)
			log_fatal("write %s", p);
		close(fd);
		free(p);
	}
	t0 = now_s();
	u = uopen();
	TEST_ASSERT((v = vopen(u, "INBOX", false)) != NULL);
	t_rebuild = now_s() - t0;
	TEST_ASSERT(mbox_view_count(v) == 10000 && mbox_view_uid(v, 10000) ==
	    10000);
	mbox_view_close(&v);
	mbox_user_unref(&u);
	t0 = now_s();
	u = uopen();
	TEST_ASSERT((v = vopen(u, "INBOX", false)) != NULL);
	t_open = now_s() - t0;
	mutt_flag(5000, "F");
	usleep(10000);
	t0 = now_s();
	TEST_ASSERT(mbox_view_sync(v, &err) == 0);
	t_sync = now_s() - t0;
	mbox_view_changes(v, &ch);
	TEST_ASSERT(ch.n_flags == 1);
	mbox_changes_free(&ch);
	printf("  10k messages: rebuild %.3f s, open %.3f s, sync %.3f s, "
	    "%zu bytes per message + name\n", t_rebuild, t_open, t_sync,
	    sizeof(struct mbox_msg));
	TEST_ASSERT(sizeof(struct mbox_msg) <= 48);
	TEST_ASSERT(t_sync < 0.5 && t_open < 2.0);
	mbox_view_close(&v);
	mbox_user_unref(&u);
	teardown();
}

static void
test_unclean_and_missing(void)
{
	struct mbox_user *u;
	struct mbox_view *v;
	struct mbox_status st, st2;
	sqlite3 *db;
	char *err = NULL, *path;

	setup();
	deliver();
	u = uopen();
	TEST_ASSERT(mbox_view_open(u, "Nope", false, &v, &err) ==
	    MBOX_ERR_NONEXISTENT);
	XFREE(&err);
	TEST_ASSERT(mbox_view_open(u, "a//b", false, &v, &err) ==
	    MBOX_ERR_BADNAME);
	XFREE(&err);
	TEST_ASSERT((v = vopen(u, "INBOX", false)) != NULL);
	store(v, 1, MBOX_STORE_ADD, MBOX_F_SEEN, NULL);
	mbox_view_status(v, &st);
	mbox_view_close(&v);
	mbox_user_unref(&u);
	/* as if tem had died: the clean mark is 0 */
	path = xasprintf("%s/tem-index.sqlite", tbox);
	TEST_ASSERT(sqlite3_open(path, &db) == SQLITE_OK);
	TEST_ASSERT(sqlite3_exec(db, "UPDATE meta SET value = 0 WHERE key = "
	    "'clean'", NULL, NULL, NULL) == SQLITE_OK);
	TEST_ASSERT(sqlite3_changes(db) == 1);
	sqlite3_close(db);
	free(path);
	u = uopen();
	TEST_ASSERT(mbox_status(u, "INBOX", &st2, &err) == 0);
	TEST_ASSERT(st2.uidvalidity == st.uidvalidity);
	TEST_ASSERT(st2.highestmodseq >= st.highestmodseq + (1ULL << 24));
	mbox_user_unref(&u);
	teardown();
}

static void *
opener_main(void *arg)
{
	int *fails = arg;

	for (int i = 0; i < 100; i++) {
		struct mbox_user *u = NULL;
		struct mbox_view *v;
		struct mbox_status st;
		char *err = NULL;

		if (mbox_user_open(tbox, &u, &err) < 0) {
			(*fails)++;
			free(err);
			continue;
		}
		if (mbox_view_open(u, "INBOX", i % 2, &v, &err) < 0) {
			(*fails)++;
			XFREE(&err);
		} else {
			mbox_view_status(v, &st);
			if (st.messages != 2)
				(*fails)++;
			mbox_view_close(&v);
		}
		mbox_user_unref(&u);
	}
	return NULL;
}

static void
test_open_close_race(void)
{
	pthread_t th[4];
	int fails[4] = { 0 };

	setup();
	deliver();
	deliver();
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, opener_main, &fails[i]);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 4; i++)
		TEST_ASSERT(fails[i] == 0);
	teardown();
}

/* Whether the events taken are exactly kinds/names (n of them). */
static bool
took(struct mbox_user_watch *w, size_t n, const enum mbox_event_kind *k,
    const char *const *names)
{
	struct mbox_event *ev;
	size_t got, i;
	bool overflow, ok;

	ev = mbox_user_watch_take(w, &got, &overflow);
	ok = got == n && !overflow;
	for (i = 0; ok && i < n; i++)
		ok = ev[i].kind == k[i] && strcmp(ev[i].name, names[i]) == 0;
	if (!ok)
		for (i = 0; i < got; i++)
			fprintf(stderr, "  event %d %s\n", ev[i].kind,
			    ev[i].name);
	mbox_events_free(ev, got);
	return ok;
}

/* NOTIFY's user watches (mailbox_notify.c): the events each folder and
   subscription operation queues, one MESSAGES per folder until taken, a
   delivery to an INBOX nobody has open, the wake-up, the overflow. */
static void
test_user_watch(void)
{
	struct mbox_user *u;
	struct mbox_user_watch *w;
	struct loop *l = loop_new();
	uint32_t uv, uid;
	char *err = NULL;
	pthread_t th;

	setup();
	u = uopen();
	atomic_store(&woken, 0);
	pthread_create(&th, NULL, run_loop, l);
	w = mbox_user_watch_new(u, l, on_wake, NULL);
	TEST_ASSERT(!mbox_user_watch_pending(w));

	TEST_ASSERT(mbox_create(u, "Work", 0, &err) == 0);
	TEST_ASSERT(mbox_append(u, "Work", "Subject: x\r\n\r\nx\r\n", 16, 0,
	    NULL, 0, &uv, &uid, &err) == 0);
	TEST_ASSERT(mbox_append(u, "Work", "Subject: y\r\n\r\ny\r\n", 16, 0,
	    NULL, 0, &uv, &uid, &err) == 0);
	TEST_ASSERT(mbox_subscribe(u, "Work", true, &err) == 0);
	TEST_ASSERT(mbox_rename(u, "Work", "Job", &err) == 0);
	/* subscriptions stay with the old name (RFC 9051 6.3.6) */
	TEST_ASSERT(mbox_subscribe(u, "Job", false, &err) == 0);
	TEST_ASSERT(mbox_subscribe(u, "Work", false, &err) == 0);
	TEST_ASSERT(mbox_delete(u, "Job", &err) == 0);
	for (int i = 0; i < 100 && atomic_load(&woken) == 0; i++)
		usleep(10000);
	TEST_ASSERT(atomic_load(&woken) > 0);	/* once or more */
	TEST_ASSERT(mbox_user_watch_pending(w));
	{
		static const enum mbox_event_kind k[] = {
			MBOX_EV_CREATE, MBOX_EV_MESSAGES, MBOX_EV_SUBSCRIBE,
			MBOX_EV_RENAME, MBOX_EV_UNSUBSCRIBE, MBOX_EV_DELETE,
		};
		static const char *const names[] = {
			"Work", "Work", "Work", "Job", "Work", "Job",
		};
		TEST_ASSERT(took(w, 6, k, names));	/* two appends: one */
	}
	/* a delivery to an INBOX nobody has open is still heard */
	mbox_notify_delivery(tbox);
	{
		static const enum mbox_event_kind k[] = { MBOX_EV_MESSAGES };
		static const char *const names[] = { "INBOX" };
		TEST_ASSERT(took(w, 1, k, names));
	}
	/* past MBOX_EVENTS_MAX: dropped, and said */
	for (int i = 0; i <= MBOX_EVENTS_MAX; i++)
		mbox_user_event((struct mbox_md_user *)u, MBOX_EV_CREATE, "x", NULL);
	{
		struct mbox_event *ev;
		size_t n;
		bool overflow;

		ev = mbox_user_watch_take(w, &n, &overflow);
		TEST_ASSERT(n == MBOX_EVENTS_MAX && overflow);
		mbox_events_free(ev, n);
	}
	mbox_user_watch_free(&w);
	TEST_ASSERT(w == NULL);
	mbox_user_event((struct mbox_md_user *)u, MBOX_EV_CREATE, "nobody hears", NULL);
	loop_break(l);
	pthread_join(th, NULL);
	loop_free(&l);
	mbox_user_unref(&u);
	teardown();
}

int
main(void)
{
	log_init(LOG_WARN);
	loop_global_init();
	TEST_RUN(test_names);
	TEST_RUN(test_delivery_uids);
	TEST_RUN(test_flags_roundtrip);
	TEST_RUN(test_unchangedsince);
	TEST_RUN(test_two_views);
	TEST_RUN(test_index_kept_and_lost);
	TEST_RUN(test_expunge_vanished);
	TEST_RUN(test_append_copy_move);
	TEST_RUN(test_append_spool);
	TEST_RUN(test_folders);
	TEST_RUN(test_rename_inbox);
	TEST_RUN(test_outside_tool);
	TEST_RUN(test_pop3_lock);
	TEST_RUN(test_unclean_and_missing);
	TEST_RUN(test_open_close_race);
	TEST_RUN(test_concurrency);
	TEST_RUN(test_speed_10k);
	TEST_RUN(test_user_watch);
	mbox_shutdown();
	teardown();
	return test_done("test-mailbox");
}
