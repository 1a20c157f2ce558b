/*
 * test-pg-mbox - the public mail store API (store/mailbox.h, mbox_*)
 * with storage = postgresql: the dispatch to the PostgreSQL backend
 * (store/mailbox_pg*.c) against a live database with the tem schema,
 * named by TEM_TEST_PG_DSN (tests/integration/test_pg_imap.py runs it;
 * without it this fails, it never skips): users and folders as LIST
 * shows them on Maildir, APPEND in the wire form with RFC822.SIZE
 * equal to the bytes read back, two views seeing each other's STORE
 * and EXPUNGE (not their own), \Recent claimed once, COPY's UIDs,
 * VANISHED, a watch woken by another view's APPEND through NOTIFY, views
 * following RENAME, a message larger than a read slice, and a database
 * that cannot be reached as MBOX_ERR_UNAVAILABLE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "pg/pg_conn.h"
#include "pg/pg_mailstore.h"
#include "store/mailbox.h"
#include "util/loop.h"
#include "util/test.h"
#include "util/xmalloc.h"

#include "pg/test-pg-sql.h"

static const char *dsn;
static struct loop *loop;

#include "pg/test-pg.h"

#define ADDR	"mb@a.test"

/* a pg_ms_* call returned 0 */
static bool
ok(int r, char **err)
{
	if (r != PG_OK)
		fprintf(stderr, "  rc %d: %s\n", r, *err ? *err : "");
	XFREE(err);
	return r == PG_OK;
}

static bool
okm(int r, char **err)
{
	if (r != 0)
		fprintf(stderr, "  r %d: %s\n", r, *err ? *err : "");
	XFREE(err);
	return r == 0;
}

static const struct mbox_folder_info *
find(const struct mbox_folder_info *l, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(l[i].name, name) == 0)
			return &l[i];
	return NULL;
}

static void
setup(void)
{
	TEST_ASSERT(q("TRUNCATE users, domains, blobs CASCADE") == PG_OK);
	TEST_ASSERT(q("INSERT INTO domains VALUES ('a.test')") == PG_OK);
	TEST_ASSERT(q("INSERT INTO users(address, domain, hash) VALUES "
	    "('mb@a.test', 'a.test', 'x')") == PG_OK);
}

static void
test_users_folders(void)
{
	struct mbox_user *u = NULL, *u2, *none = NULL;
	struct mbox_folder_info *l = NULL;
	const struct mbox_folder_info *f;
	struct mbox_status st;
	char *err = NULL;
	size_t n = 0;

	TEST_ASSERT(mbox_on_pg());
	TEST_ASSERT(mbox_user_open_account("nobody@a.test", NULL, &none,
	    &err) == MBOX_ERR_NONEXISTENT && none == NULL);
	XFREE(&err);
	TEST_ASSERT(okm(mbox_user_open_account(ADDR, "/nowhere", &u, &err),
	    &err));
	TEST_ASSERT(mbox_user_pg_id(u) > 0);
	TEST_ASSERT(mbox_user_root(u) == NULL);
	TEST_ASSERT(strcmp(mbox_user_address(u), ADDR) == 0);
	u2 = mbox_user_find_account(ADDR, NULL);
	TEST_ASSERT(u2 == u);
	mbox_user_unref(&u2);
	TEST_ASSERT(mbox_pop3_lock(u, NULL) == 1 &&
	    mbox_pop3_lock(u, NULL) == 0);
	mbox_pop3_unlock(u);

	TEST_ASSERT(okm(mbox_create(u, "A/B", 0, &err), &err));
	TEST_ASSERT(mbox_create(u, "A/B", 0, &err) == MBOX_ERR_EXISTS);
	XFREE(&err);
	TEST_ASSERT(mbox_create(u, "bad*", 0, &err) == MBOX_ERR_BADNAME);
	XFREE(&err);
	TEST_ASSERT(okm(mbox_subscribe(u, "Gone", true, &err), &err));
	TEST_ASSERT(okm(mbox_list(u, &l, &n, &err), &err));
	TEST_ASSERT(n == 9 && strcmp(l[0].name, "INBOX") == 0);
	TEST_ASSERT((f = find(l, n, "Trash")) && (f->flags & MBOX_TRASH) &&
	    (f->flags & MBOX_SUBSCRIBED) && (f->flags & MBOX_HASNOCHILDREN));
	TEST_ASSERT((f = find(l, n, "A")) && f->flags == (MBOX_NOSELECT |
	    MBOX_HASCHILDREN));
	TEST_ASSERT((f = find(l, n, "A/B")) && f->flags == MBOX_HASNOCHILDREN);
	TEST_ASSERT((f = find(l, n, "Gone")) && f->flags == (MBOX_SUBSCRIBED |
	    MBOX_NONEXISTENT | MBOX_NOSELECT | MBOX_HASNOCHILDREN));
	mbox_list_free(l, n);
	TEST_ASSERT(okm(mbox_rename(u, "A/B", "C/B", &err), &err));
	TEST_ASSERT(okm(mbox_exists(u, "C/B", &err), &err));
	TEST_ASSERT(mbox_exists(u, "A/B", &err) == MBOX_ERR_NONEXISTENT);
	XFREE(&err);
	TEST_ASSERT(okm(mbox_status(u, "C/B", &st, &err), &err));
	TEST_ASSERT(st.messages == 0 && st.uidnext == 1 &&
	    st.mailboxid[0] == 'F');
	TEST_ASSERT(okm(mbox_delete(u, "C/B", &err), &err));
	TEST_ASSERT(mbox_delete(u, "INBOX", &err) == MBOX_ERR_CANNOT);
	XFREE(&err);
	mbox_user_unref(&u);
}

static void
woke(void *arg)
{
	(*(int *)arg)++;
	loop_break(loop);
}

static void
test_views(void)
{
	static const char raw[] = "Subject: x\r\nbare\nend\r\n";
	static const char wire[] = "Subject: x\r\nbare\r\nend\r\n";
	struct mbox_user *u = NULL;
	struct mbox_view *v1 = NULL, *v2 = NULL;
	struct mbox_spool *s;
	struct mbox_msg_info mi;
	struct mbox_changes ch;
	struct mbox_status st;
	struct mbox_uid_range *rg = NULL;
	const char *const kw[] = { "$Work", NULL };
	uint32_t uv, uid, seq = 1, *src = NULL, *dst = NULL, *exp = NULL;
	size_t n = 0, nexp = 0;
	char *err = NULL, buf[128];
	int fd, wakes = 0;
	ssize_t got;

	TEST_ASSERT(okm(mbox_user_open_account(ADDR, NULL, &u, &err), &err));
	s = mbox_spool_new(u);
	TEST_ASSERT(mbox_spool_write(s, raw, sizeof(raw) - 1) == 0);
	TEST_ASSERT(mbox_spool_finish(s) == 0);
	TEST_ASSERT(okm(mbox_append_spool(u, "INBOX", &s, MBOX_F_SEEN, kw, 0,
	    &uv, &uid, &err), &err));
	TEST_ASSERT(s == NULL && uid == 1);
	TEST_ASSERT(okm(mbox_status(u, "INBOX", &st, &err), &err));
	TEST_ASSERT(st.messages == 1 && st.recent == 1);
	/* EXAMINE shows it \Recent and leaves it so */
	TEST_ASSERT(okm(mbox_view_open(u, "INBOX", true, &v1, &err), &err));
	TEST_ASSERT(mbox_view_msg(v1, 1, &mi) == 0 &&
	    (mi.flags & MBOX_F_RECENT));
	mbox_view_close(&v1);
	/* read-write: claims \Recent; the second view gets none */
	TEST_ASSERT(okm(mbox_view_open(u, "INBOX", false, &v1, &err), &err));
	TEST_ASSERT(okm(mbox_view_open(u, "INBOX", false, &v2, &err), &err));
	TEST_ASSERT(mbox_view_count(v1) == 1 && mbox_view_uid(v1, 1) == 1);
	TEST_ASSERT(mbox_view_msg(v1, 1, &mi) == 0);
	TEST_ASSERT(mi.flags == (MBOX_F_SEEN | MBOX_F_RECENT));
	TEST_ASSERT(mi.size == sizeof(wire) - 1);
	TEST_ASSERT(mbox_view_n_keywords(v1) == 1 && mi.keywords == 1 &&
	    strcmp(mbox_view_keyword(v1, 0), "$Work") == 0);
	TEST_ASSERT(mbox_view_msg(v2, 1, &mi) == 0 && mi.flags == MBOX_F_SEEN);
	fd = mbox_view_msg_open(v1, 1);
	TEST_ASSERT(fd >= 0);
	got = read(fd, buf, sizeof(buf));
	close(fd);
	TEST_ASSERT(got == (ssize_t)sizeof(wire) - 1 &&
	    memcmp(buf, wire, sizeof(wire) - 1) == 0);

	/* v1's STORE: reported to v2, not back to v1 */
	mbox_view_watch(v2, loop, woke, &wakes);
	TEST_ASSERT(okm(mbox_store(v1, &seq, 1, MBOX_STORE_ADD,
	    MBOX_F_FLAGGED | MBOX_F_DELETED, NULL, 0, NULL, NULL, &err),
	    &err));
	TEST_ASSERT(mbox_view_msg(v1, 1, &mi) == 0 &&
	    (mi.flags & MBOX_F_FLAGGED));
	TEST_ASSERT(okm(mbox_view_sync(v1, &err), &err));
	mbox_view_changes(v1, &ch);
	TEST_ASSERT(ch.n_flags == 0 && ch.n_expunged == 0 &&
	    !ch.exists_changed);
	mbox_changes_free(&ch);
	TEST_ASSERT(run_until(&wakes, 1, 2000));
	TEST_ASSERT(okm(mbox_view_sync(v2, &err), &err));
	mbox_view_changes(v2, &ch);
	TEST_ASSERT(ch.n_flags == 1 && ch.flag_seqs[0] == 1);
	mbox_changes_free(&ch);

	/* an APPEND elsewhere wakes v2 (NOTIFY), and shows as EXISTS */
	wakes = 0;
	TEST_ASSERT(okm(mbox_append(u, "INBOX", "a: b\r\n\r\nx\r\n", 11, 0,
	    NULL, 0, &uv, &uid, &err), &err) && uid == 2);
	TEST_ASSERT(run_until(&wakes, 1, 2000));
	TEST_ASSERT(okm(mbox_view_sync(v2, &err), &err));
	mbox_view_changes(v2, &ch);
	TEST_ASSERT(ch.exists_changed && ch.exists == 2 && ch.recent == 1);
	mbox_changes_free(&ch);

	/* COPY, then EXPUNGE of the \Deleted one: v2 hears seq 1 go */
	seq = 1;
	TEST_ASSERT(okm(mbox_copy(v1, &seq, 1, "Trash", false, &uv, &src,
	    &dst, &n, &err), &err));
	TEST_ASSERT(n == 1 && src[0] == 1 && dst[0] == 1);
	free(src);
	free(dst);
	TEST_ASSERT(okm(mbox_expunge(v1, NULL, 0, false, &exp, &nexp, &err),
	    &err));
	TEST_ASSERT(nexp == 1 && exp[0] == 1);
	free(exp);
	TEST_ASSERT(okm(mbox_view_sync(v2, &err), &err));
	mbox_view_changes(v2, &ch);
	TEST_ASSERT(ch.n_expunged == 1 && ch.expunged_seqs[0] == 1 &&
	    ch.expunged_uids[0] == 1 && ch.exists == 1);
	mbox_changes_free(&ch);
	TEST_ASSERT(okm(mbox_vanished_since(v1, 1, &rg, &n, &err), &err));
	/* v1 has not taken its changes yet: UID 1 is still in it */
	TEST_ASSERT(n == 0);
	free(rg);
	mbox_view_status(v2, &st);
	TEST_ASSERT(st.messages == 1 && st.uidnext == 3 && st.recent == 1);

	mbox_view_watch(v2, NULL, NULL, NULL);
	drain();
	mbox_view_close(&v1);
	mbox_view_close(&v2);
	TEST_ASSERT(okm(mbox_view_open(u, "Nowhere", true, &v1, &err),
	    &err) == false && v1 == NULL);
	mbox_user_unref(&u);
}

/* A message over several read slices comes back whole, in its size. */
static void
test_big_message(void)
{
	size_t len = 2 * 1024 * 1024 + 4321, got = 0;
	char *msg = xmalloc(len), buf[65536];
	struct mbox_user *u = NULL;
	struct mbox_view *v = NULL;
	struct mbox_msg_info mi;
	uint32_t uv, uid;
	char *err = NULL;
	bool same = true;
	ssize_t k;
	int fd;

	for (size_t i = 0; i < len; i++)
		msg[i] = i % 80 == 78 ? '\r' : i % 80 == 79 ? '\n' :
		    (char)('a' + i % 26);
	TEST_ASSERT(okm(mbox_user_open_account(ADDR, NULL, &u, &err), &err));
	TEST_ASSERT(okm(mbox_create(u, "Big", 0, &err), &err));
	TEST_ASSERT(okm(mbox_append(u, "Big", msg, len, 0, NULL, 0, &uv,
	    &uid, &err), &err));
	TEST_ASSERT(okm(mbox_view_open(u, "Big", true, &v, &err), &err));
	TEST_ASSERT(mbox_view_msg(v, 1, &mi) == 0 && mi.size == len);
	TEST_ASSERT((fd = mbox_view_msg_open(v, 1)) >= 0);
	while ((k = read(fd, buf, sizeof(buf))) > 0) {
		same = same && got + (size_t)k <= len &&
		    memcmp(buf, msg + got, (size_t)k) == 0;
		got += (size_t)k;
	}
	close(fd);
	TEST_ASSERT(same && got == len);
	mbox_view_close(&v);
	mbox_user_unref(&u);
	free(msg);
}

/* A view follows RENAME: this process's at once, another's ("ID R"
 * heard by the listener) at its next sync. */
static void
test_view_renamed(void)
{
	struct mbox_user *u = NULL;
	struct mbox_view *v = NULL;
	char *err = NULL, *name;
	int wakes = 0;

	TEST_ASSERT(okm(mbox_user_open_account(ADDR, NULL, &u, &err), &err));
	TEST_ASSERT(okm(mbox_create(u, "R1/c", 0, &err), &err));
	TEST_ASSERT(okm(mbox_view_open(u, "R1/c", true, &v, &err), &err));
	TEST_ASSERT(okm(mbox_rename(u, "R1/c", "R2/c", &err), &err));
	name = mbox_view_name(v);
	TEST_ASSERT(strcmp(name, "R2/c") == 0);
	free(name);
	mbox_view_watch(v, loop, woke, &wakes);
	TEST_ASSERT(ok(pg_ms_rename(mbox_user_pg_id(u), "R2/c", "R3", &err),
	    &err));
	TEST_ASSERT(run_until(&wakes, 1, 2000));
	TEST_ASSERT(okm(mbox_view_sync(v, &err), &err));
	name = mbox_view_name(v);
	TEST_ASSERT(strcmp(name, "R3") == 0);
	free(name);
	mbox_view_watch(v, NULL, NULL, NULL);
	drain();
	mbox_view_close(&v);
	mbox_user_unref(&u);
}

/* Last: the database unreachable is MBOX_ERR_UNAVAILABLE. */
static void
test_unavailable(void)
{
	struct mbox_user *u = NULL;
	struct mbox_status st;
	char *err = NULL;

	TEST_ASSERT(okm(mbox_user_open_account(ADDR, NULL, &u, &err), &err));
	pg_conn_setup("host=127.0.0.1 port=1 dbname=x connect_timeout=2");
	TEST_ASSERT(mbox_status(u, "INBOX", &st, &err) ==
	    MBOX_ERR_UNAVAILABLE);
	TEST_ASSERT(err && strstr(err, "unavailable") != NULL);
	XFREE(&err);
	pg_conn_setup(dsn);
	mbox_user_unref(&u);
}

int
main(void)
{
	struct conf c;
	char tmpl[] = "/tmp/tem-test-pg-mbox.XXXXXX";
	int rc;

	if ((dsn = getenv("TEM_TEST_PG_DSN")) == NULL || *dsn == '\0') {
		fprintf(stderr, "test-pg-mbox needs TEM_TEST_PG_DSN (a "
		    "database after tem db init); "
		    "tests/integration/test_pg_imap.py runs it\n");
		test_failed = 1;
		return test_done("test-pg-mbox");
	}
	(void)on_notify;	/* test-pg.h's listener callbacks: not */
	(void)on_resync;	/* used here (no listener of its own) */
	loop_global_init();
	loop = loop_new();
	memset(&c, 0, sizeof(c));
	c.storage = CONF_STORAGE_POSTGRESQL;
	c.postgresql_dsn = xstrdup(dsn);
	c.data_dir = mkdtemp(tmpl);
	mbox_setup(&c);
	free(c.postgresql_dsn);
	TEST_RUN(setup);
	TEST_RUN(test_users_folders);
	TEST_RUN(test_views);
	TEST_RUN(test_view_renamed);
	TEST_RUN(test_big_message);
	TEST_RUN(test_unavailable);
	rc = test_done("test-pg-mbox");
	mbox_shutdown();
	pg_conn_cleanup();
	loop_free(&loop);
	{
		char *t = xasprintf("%s/tmp", tmpl);
		rmdir(t);
		free(t);
		rmdir(tmpl);
	}
	return rc;
}
