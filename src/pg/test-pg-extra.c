/*
 * test-pg-extra - unit tests of IMAP ACL, METADATA and QUOTA usage on
 * PostgreSQL (store/mailbox_acl_pg.c, metadata_pg.c, quota_pg.c)
 * against a live database with the tem schema named by
 * TEM_TEST_PG_DSN (tests/integration/test_pg_imap_extra.py starts one
 * and runs this; tests/run.sh leaves src/pg/test-pg-* out of its unit
 * pass). Without TEM_TEST_PG_DSN it fails (one failure), never skips.
 *
 * The ACL and METADATA runs play one script on both backends (the
 * SQLite files in a temporary data_dir, then the database) and compare
 * the transcripts of their answers: the PostgreSQL side must answer as
 * the embedded one does. The quota checks of IMAP (quota_user_*) are
 * run on a store user opened on the database. `test-pg-extra bench`
 * then measures the hot calls (nothing asserted).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "pg/pg_conn.h"
#include "pg/pg_mailstore.h"
#include "store/mailbox.h"
#include "store/mailbox_acl.h"
#include "store/metadata.h"
#include "store/metadata_int.h"
#include "store/quota.h"
#include "store/test-mailbox.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/test.h"
#include "util/xmalloc.h"

#include "pg/test-pg-sql.h"

static char *dsn;		/* TEM_TEST_PG_DSN */
static int64_t owner_id, other_id;

#define OWNER	"owner@x.test"
#define USER_B	"b@x.test"
#define USER_C	"c@x.test"

/* Which backend the store answers from now. */
static void
use_pg(bool on)
{
	struct conf c;

	memset(&c, 0, sizeof(c));
	c.storage = on ? CONF_STORAGE_POSTGRESQL : CONF_STORAGE_EMBEDDED;
	c.postgresql_dsn = on ? dsn : NULL;
	mbox_setup(&c);
}

/* troot (test-mailbox.h) is the embedded data_dir, tbox a Maildir root. */
static void
db_setup(void)
{
	char *err = NULL;

	setup();
	TEST_ASSERT(q("TRUNCATE users, domains, blobs CASCADE") == PG_OK);
	TEST_ASSERT(q("INSERT INTO domains VALUES ('x.test')") == PG_OK);
	TEST_ASSERT(q("INSERT INTO users(address, domain, hash) VALUES "
	    "('" OWNER "', 'x.test', 'x'), ('" USER_B "', 'x.test', 'x'), "
	    "('" USER_C "', 'x.test', 'x')") == PG_OK);
	TEST_ASSERT(pg_ms_user_id(OWNER, &owner_id, &err) == 0);
	TEST_ASSERT(pg_ms_user_id(USER_B, &other_id, &err) == 0);
	TEST_ASSERT(pg_ms_user_init(owner_id, &err) == 0);
	TEST_ASSERT(pg_ms_user_init(other_id, &err) == 0);
	TEST_ASSERT(pg_ms_create(owner_id, "Work", 0, NULL, &err) == 0);
	TEST_ASSERT(pg_ms_create(owner_id, "Work/Sub", 0, NULL, &err) == 0);
	TEST_ASSERT(pg_ms_create(owner_id, "Big", 0, NULL, &err) == 0);
	TEST_ASSERT(pg_ms_create(other_id, "Mine", 0, NULL, &err) == 0);
	free(err);
}

/* ---- ACL: one script, both backends ------------------------------------- */

static void
say(struct buf *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(t, fmt, ap);
	va_end(ap);
	buf_putc(t, '\n');
}

/* The two transcripts are the same: both shown when not (the
 * database's alone with TEST_PG_EXTRA_SHOW set). */
static bool
same(const struct buf *file, const struct buf *pg)
{
	bool eq = strcmp(buf_cstr(file), buf_cstr(pg)) == 0;

	if (!eq)
		fprintf(stderr, "--- file:\n%s--- postgresql:\n%s",
		    buf_cstr(file), buf_cstr(pg));
	else if (getenv("TEST_PG_EXTRA_SHOW"))
		fputs(buf_cstr(pg), stderr);
	return eq;
}

static void
acl_get(struct buf *t, const char *owner, const char *folder)
{
	struct mbox_acl_entry *l;
	char s[MBOX_ACL_STR_MAX], *err = NULL;
	size_t n;
	int r = mbox_acl_get(troot, owner, folder, &l, &n, &err);

	buf_printf(t, "get %s %s: %d", owner, folder, r);
	for (size_t i = 0; i < n; i++) {
		mbox_acl_format(l[i].rights, s);
		buf_printf(t, " %s=%s", l[i].ident, s);
	}
	buf_putc(t, '\n');
	mbox_acl_entries_free(l, n);
	free(err);
}

static void
acl_set(struct buf *t, const char *owner, const char *folder,
    const char *ident, const char *rights)
{
	unsigned bits = 0;
	char *err = NULL;

	int r;

	(void)mbox_acl_parse(rights, &bits, NULL);
	r = mbox_acl_set(troot, owner, folder, ident, bits, &err);
	say(t, "set %s %s %s %s: %d %s", owner, folder, ident, rights, r,
	    err ? err : "");
	free(err);
}

static void
acl_rights(struct buf *t, const char *owner, const char *folder,
    const char *user)
{
	unsigned bits = 0;
	char s[MBOX_ACL_STR_MAX], *err = NULL;
	int r = mbox_acl_rights(troot, owner, folder, user, &bits, &err);

	mbox_acl_format(bits, s);
	say(t, "rights %s %s %s: %d %s", owner, folder, user, r, s);
	free(err);
}

static void
acl_shares(struct buf *t, const char *user)
{
	struct mbox_acl_share *l;
	char s[MBOX_ACL_STR_MAX], *err = NULL;
	size_t n;
	int r = mbox_acl_shared_with(troot, user, &l, &n, &err);

	buf_printf(t, "shared with %s: %d", user, r);
	for (size_t i = 0; i < n; i++) {
		mbox_acl_format(l[i].rights, s);
		buf_printf(t, " %s:%s=%s", l[i].owner, l[i].folder, s);
	}
	buf_putc(t, '\n');
	mbox_acl_shares_free(l, n);
	free(err);
}

/* The script; pg: the folders change in the database too (on the file
 * backend the names are only keys). */
static void
acl_script(struct buf *t, bool pg)
{
	char id[32], *err = NULL;

	acl_get(t, OWNER, "Work");
	acl_set(t, OWNER, "Work", USER_B, "lrs");
	acl_set(t, OWNER, "Work", "anyone", "l");
	acl_set(t, OWNER, "Work", "-" USER_C, "l");
	acl_set(t, OWNER, "Work/Sub", USER_C, "lrwi");
	acl_set(t, OWNER, "INBOX", USER_B, "lrswipkxtea");
	acl_set(t, USER_B, "Mine", "anyone", "lr");
	acl_get(t, OWNER, "Work");
	acl_rights(t, OWNER, "Work", USER_B);
	acl_rights(t, OWNER, "Work", USER_C);	/* anyone's l taken away */
	acl_rights(t, OWNER, "Work", "d@x.test");	/* anyone's */
	acl_rights(t, OWNER, "Trash", USER_B);
	acl_shares(t, USER_B);
	acl_shares(t, USER_C);
	acl_shares(t, "d@x.test");
	/* + and - are the caller's: a full replace, then a removal */
	acl_set(t, OWNER, "Work", USER_B, "lr");
	acl_set(t, OWNER, "Work", "anyone", "");
	acl_set(t, OWNER, "Work", "nobody@x.test", "");
	acl_get(t, OWNER, "Work");
	/* the limit: MBOX_ACL_IDENTS_MAX identifiers, replacing still works */
	for (int i = 0; i < MBOX_ACL_IDENTS_MAX; i++) {
		snprintf(id, sizeof(id), "u%03d@x.test", i);
		if (mbox_acl_set(troot, OWNER, "Big", id, MBOX_ACL_LOOKUP,
		    &err) < 0)
			say(t, "big %d failed: %s", i, err);
		XFREE(&err);
	}
	acl_set(t, OWNER, "Big", "u999@x.test", "l");
	acl_set(t, OWNER, "Big", "u007@x.test", "lr");
	acl_rights(t, OWNER, "Big", "u007@x.test");
	/* RENAME takes the children's entries along */
	if (pg)
		(void)pg_ms_rename(owner_id, "Work", "Jobs", &err);
	say(t, "rename: %d", mbox_acl_rename(troot, OWNER, "Work", "Jobs",
	    &err));
	XFREE(&err);
	acl_get(t, OWNER, "Work");
	acl_get(t, OWNER, "Jobs");
	acl_get(t, OWNER, "Jobs/Sub");
	acl_shares(t, USER_C);
	/* DELETE drops the folder's entries, not its children's */
	if (pg)
		(void)pg_ms_delete(owner_id, "Jobs", &err);
	say(t, "drop: %d", mbox_acl_drop(troot, OWNER, "Jobs", &err));
	XFREE(&err);
	acl_get(t, OWNER, "Jobs");
	acl_get(t, OWNER, "Jobs/Sub");
	acl_shares(t, USER_B);
}

static void
test_acl_same(void)
{
	struct buf file, pg;
	uint64_t s1, s2;

	buf_init(&file, 0);
	buf_init(&pg, 0);
	use_pg(false);
	acl_script(&file, false);
	mbox_acl_shutdown();
	use_pg(true);
	acl_script(&pg, true);
	s1 = mbox_acl_serial();
	s2 = mbox_acl_serial();
	use_pg(false);
	TEST_ASSERT(same(&file, &pg));
	/* spot checks that the script said something */
	TEST_ASSERT(strstr(buf_cstr(&pg), "rights " OWNER " Work " USER_C
	    ": 0 \n") != NULL);
	TEST_ASSERT(strstr(buf_cstr(&pg), "set " OWNER " Big u999@x.test l: "
	    "-6 At most 100") != NULL);
	TEST_ASSERT(strstr(buf_cstr(&pg), "get " OWNER " Jobs/Sub: 0 "
	    USER_C "=lrwi\n") != NULL);
	/* across nodes: every look at the serial is a new one */
	TEST_ASSERT(s2 != s1);
	buf_free(&file);
	buf_free(&pg);
}

static void
test_acl_pg_only(void)
{
	char *err = NULL;
	int64_t e;

	use_pg(true);
	/* a right on a folder that does not exist cannot be stored */
	TEST_ASSERT(mbox_acl_set(troot, OWNER, "Nope", USER_B, MBOX_ACL_LOOKUP,
	    &err) == MBOX_ERR_NONEXISTENT);
	XFREE(&err);
	/* an account's deletion takes its rows along */
	TEST_ASSERT(q("INSERT INTO users(address, domain, hash) VALUES "
	    "('e@x.test', 'x.test', 'x')") == PG_OK);
	TEST_ASSERT(pg_ms_user_id("e@x.test", &e, &err) == 0);
	TEST_ASSERT(pg_ms_create(e, "Gone", 0, NULL, &err) == 0);
	TEST_ASSERT(mbox_acl_set(troot, "e@x.test", "Gone", "zz@x.test",
	    MBOX_ACL_READ, &err) == 0);
	TEST_ASSERT(value_is("SELECT count(*) FROM acl WHERE ident = $1",
	    "zz@x.test", "1"));
	TEST_ASSERT(q("DELETE FROM users WHERE address = 'e@x.test'") ==
	    PG_OK);
	TEST_ASSERT(value_is("SELECT count(*) FROM acl WHERE ident = $1",
	    "zz@x.test", "0"));
	use_pg(false);
}

/* ---- METADATA: one script, both backends -------------------------------- */

static void
md_get(struct buf *t, struct mdata *m, const char *mailbox,
    const char *want, int depth)
{
	struct mdata_entry *l = NULL;
	const char *w[] = { want };
	char *err = NULL;
	size_t n = 0;
	int r = mdata_get(m, mailbox, w, 1, depth, &l, &n, &err);

	buf_printf(t, "get \"%s\" %s %d: %d", mailbox, want, depth, r);
	for (size_t i = 0; i < n; i++) {
		buf_printf(t, " %s=", l[i].entry);
		for (size_t k = 0; k < l[i].len; k++)
			buf_printf(t, l[i].value[k] >= ' ' ? "%c" : "\\%o",
			    (unsigned char)l[i].value[k]);
	}
	buf_putc(t, '\n');
	mdata_entries_free(l, n);
	free(err);
}

static void
md_set(struct buf *t, struct mdata *m, const char *mailbox,
    const char *entry, const char *value, size_t len)
{
	struct mdata_change c = { entry, value, len };
	char *err = NULL;

	int r = mdata_set(m, mailbox, &c, 1, &err);

	say(t, "set \"%s\" %s: %d %s", mailbox, entry, r, err ? err : "");
	free(err);
}

static void
md_script(struct buf *t, struct mdata *m, const char *root)
{
	struct mdata_change *many;
	char (*names)[32], *err = NULL, *big;
	int r;

	md_get(t, m, "INBOX", "/private", -1);
	md_set(t, m, "INBOX", "/private/comment", "hello", 5);
	md_set(t, m, "INBOX", "/private/comment/deep", "a\0b", 3);
	md_set(t, m, "INBOX", "/private/comment/deep/er", "", 0);
	md_set(t, m, "INBOX", "/shared/comment", "shared", 6);
	md_set(t, m, "", "/private/vendor/x", "server", 6);
	md_set(t, m, "Work", "/private/a", "w", 1);
	md_set(t, m, "Work/Sub", "/private/a", "ws", 2);
	md_set(t, m, "Jobs", "/private/a", "replaced by the rename", 22);
	md_set(t, m, "Jobs", "/private/b", "kept", 4);
	md_get(t, m, "INBOX", "/private/comment", 0);
	md_get(t, m, "INBOX", "/private/comment", 1);
	md_get(t, m, "INBOX", "/private/comment", -1);
	md_get(t, m, "INBOX", "/private", -1);
	md_get(t, m, "", "/private", -1);
	md_get(t, m, "Nope", "/private", -1);
	md_set(t, m, "INBOX", "/private/comment", NULL, 0);
	md_get(t, m, "INBOX", "/private", -1);
	/* the limits: entries (all or nothing), then octets */
	many = xcalloc(MDATA_ENTRIES_MAX, sizeof(*many));
	names = xcalloc(MDATA_ENTRIES_MAX, sizeof(*names));
	for (int i = 0; i < MDATA_ENTRIES_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "/private/n%04d", i);
		many[i] = (struct mdata_change){ names[i], "v", 1 };
	}
	r = mdata_set(m, "Many", many, MDATA_ENTRIES_MAX, &err);
	say(t, "many: %d %s", r, err ? err : "");
	XFREE(&err);
	md_get(t, m, "Many", "/private/n0999", 0);
	r = mdata_set(m, "Many", many, MDATA_ENTRIES_MAX - 10, &err);
	say(t, "fewer: %d %s", r, err ? err : "");
	XFREE(&err);
	md_set(t, m, "Many", "/private/n0000", "replace at the limit", 20);
	md_set(t, m, "Many", "/private/n0001", NULL, 0);
	big = xmalloc(MDATA_VALUE_MAX);
	memset(big, 'b', MDATA_VALUE_MAX);
	for (int i = 0; i < 20; i++) {
		snprintf(names[i], sizeof(names[i]), "/private/big%02d", i);
		many[i] = (struct mdata_change){ names[i], big,
		    MDATA_VALUE_MAX };
	}
	r = mdata_set(m, "Big", many, 20, &err);	/* 20 x 64 KiB */
	say(t, "octets: %d %s", r, err ? err : "");
	XFREE(&err);
	free(big);
	free(many);
	free(names);
	/* folder changes: children follow a RENAME; DELETE leaves them */
	say(t, "rename: %d", root ? mdata_mailbox_renamed(root, "Work",
	    "Jobs", &err) : mdata_pg_mailbox_renamed(owner_id, "Work",
	    "Jobs", &err));
	XFREE(&err);
	say(t, "inbox: %d", root ? mdata_mailbox_renamed(root, "INBOX",
	    "Old", &err) : mdata_pg_mailbox_renamed(owner_id, "INBOX",
	    "Old", &err));
	XFREE(&err);
	md_get(t, m, "Work", "/private", -1);
	md_get(t, m, "Jobs", "/private", -1);
	md_get(t, m, "Jobs/Sub", "/private", -1);
	md_get(t, m, "INBOX", "/shared", -1);
	say(t, "delete: %d", root ? mdata_mailbox_deleted(root, "Jobs",
	    &err) : mdata_pg_mailbox_deleted(owner_id, "Jobs", &err));
	XFREE(&err);
	md_get(t, m, "Jobs", "/private", -1);
	md_get(t, m, "Jobs/Sub", "/private", -1);
}

static void
test_metadata_same(void)
{
	struct buf file, pg;
	struct mdata *m = NULL;
	char *err = NULL;

	buf_init(&file, 0);
	buf_init(&pg, 0);
	TEST_ASSERT(mdata_open(tbox, true, &m, &err) == 0 && m != NULL);
	md_script(&file, m, tbox);
	mdata_close(&m);
	m = mdata_pg_open(owner_id);
	md_script(&pg, m, NULL);
	mdata_close(&m);
	TEST_ASSERT(same(&file, &pg));
	TEST_ASSERT(strstr(buf_cstr(&pg), "/private/comment/deep=a\\0b") !=
	    NULL);
	TEST_ASSERT(strstr(buf_cstr(&pg), "many: -2 Too many") != NULL);
	TEST_ASSERT(strstr(buf_cstr(&pg), "octets: -2 Too many") != NULL);
	TEST_ASSERT(strstr(buf_cstr(&pg), "get \"Jobs/Sub\" /private -1: 0 "
	    "/private/a=ws\n") != NULL);
	/* another user sees none of it */
	m = mdata_pg_open(other_id);
	buf_reset(&pg);
	md_get(&pg, m, "INBOX", "/private", -1);
	mdata_close(&m);
	TEST_ASSERT_STREQ(buf_cstr(&pg), "get \"INBOX\" /private -1: 0\n");
	buf_free(&file);
	buf_free(&pg);
}

/* ---- QUOTA usage --------------------------------------------------------- */

static void
test_usage(void)
{
	static const char msg[] = "Subject: q\r\n\r\nbody\r\n";
	uint64_t bytes = 1, msgs = 1;
	uint32_t uid, uv;
	struct mbox_user *u = NULL;
	struct quota_usage qu;
	char *err = NULL;

	TEST_ASSERT(pg_ms_usage(other_id, &bytes, &msgs, &err) == 0);
	TEST_ASSERT(bytes == 0 && msgs == 0);
	for (int i = 0; i < 3; i++)
		TEST_ASSERT(pg_ms_append(other_id, i ? "Mine" : "INBOX", msg,
		    sizeof(msg) - 1, 0, NULL, 0, &uv, &uid, &err) == 0);
	TEST_ASSERT(pg_ms_usage(other_id, &bytes, &msgs, &err) == 0);
	TEST_ASSERT(bytes == 3 * (sizeof(msg) - 1) && msgs == 3);
	/* the IMAP checks by the store's user */
	use_pg(true);
	TEST_ASSERT(mbox_user_open_account(USER_B, NULL, &u, &err) == 0);
	TEST_ASSERT(quota_user_usage(u, &qu) == 0 && qu.messages == 3 &&
	    qu.bytes == bytes);
	TEST_ASSERT(quota_user_check(u, 0, 0, 1000, 1, &qu) == QUOTA_FITS);
	TEST_ASSERT(quota_user_check(u, 0, 4, 1000, 1, &qu) == QUOTA_FITS);
	TEST_ASSERT(quota_user_check(u, 0, 3, 1000, 1, &qu) == QUOTA_OVER &&
	    qu.messages == 3);
	TEST_ASSERT(quota_user_check(u, bytes + 10, 0, 10, 1, NULL) ==
	    QUOTA_FITS);
	TEST_ASSERT(quota_user_check(u, bytes + 10, 0, 11, 1, NULL) ==
	    QUOTA_OVER);
	mbox_user_unref(&u);
	use_pg(false);
}

/* ---- bench (measurements, nothing asserted) ------------------------------ */

static void
timed(const char *what, int n, uint64_t t0)
{
	uint64_t ms = clock_mono_ms() - t0;

	printf("%-44s %6d in %5llu ms: %8.3f ms each\n", what, n,
	    (unsigned long long)ms, n ? (double)ms / n : 0.0);
}

/* After the tests: rights look-ups (a shared folder's every command),
 * shares for LIST, a SETMETADATA and a GETMETADATA, and the quota sum
 * over 1,000 and 20,000 messages (every APPEND and COPY with a limit). */
static int
bench(void)
{
	static const char msg[] = "Subject: b\r\n\r\nbody\r\n";
	struct mbox_acl_share *sh;
	struct mdata_entry *l;
	struct mdata *m;
	const char *w[] = { "/private" };
	struct mdata_change c = { "/private/x", "value", 5 };
	uint64_t t0, bytes, msgs;
	unsigned rights;
	uint32_t uid, uv;
	size_t n;
	char *err = NULL;
	int k, fill = 0;

	use_pg(true);
	t0 = clock_mono_ms();
	for (k = 0; k < 2000; k++)
		(void)mbox_acl_rights(troot, OWNER, "Big", "u007@x.test",
		    &rights, &err);
	timed("mbox_acl_rights (a folder with 100 entries)", k, t0);
	t0 = clock_mono_ms();
	for (k = 0; k < 500; k++) {
		(void)mbox_acl_shared_with(troot, "u007@x.test", &sh, &n, &err);
		mbox_acl_shares_free(sh, n);
	}
	timed("mbox_acl_shared_with", k, t0);
	m = mdata_pg_open(owner_id);
	t0 = clock_mono_ms();
	for (k = 0; k < 500; k++)
		(void)mdata_set(m, "INBOX", &c, 1, &err);
	timed("mdata_set (one entry, 1,000 held)", k, t0);
	t0 = clock_mono_ms();
	for (k = 0; k < 500; k++) {
		(void)mdata_get(m, "INBOX", w, 1, -1, &l, &n, &err);
		mdata_entries_free(l, n);
	}
	timed("mdata_get (/private, depth infinity)", k, t0);
	mdata_close(&m);
	for (int target = 1000; target <= 20000; target *= 20) {
		for (; fill < target; fill++)
			if (pg_ms_append(other_id, "Mine", msg, sizeof(msg) - 1,
			    0, NULL, 0, &uv, &uid, &err) != 0) {
				fprintf(stderr, "append: %s\n", err);
				return 1;
			}
		t0 = clock_mono_ms();
		for (k = 0; k < 200; k++)
			(void)pg_ms_usage(other_id, &bytes, &msgs, &err);
		timed(target == 1000 ? "pg_ms_usage (1,000 messages)" :
		    "pg_ms_usage (20,000 messages)", k, t0);
	}
	use_pg(false);
	return 0;
}

int
main(int argc, char **argv)
{
	int rc;

	if ((dsn = getenv("TEM_TEST_PG_DSN")) == NULL || *dsn == '\0') {
		fprintf(stderr, "test-pg-extra needs TEM_TEST_PG_DSN (a "
		    "database after tem db init); "
		    "tests/integration/test_pg_imap_extra.py runs it\n");
		test_failed = 1;
		return test_done("test-pg-extra");
	}
	pg_conn_setup(dsn);
	TEST_RUN(db_setup);
	TEST_RUN(test_acl_same);
	TEST_RUN(test_acl_pg_only);
	TEST_RUN(test_metadata_same);
	TEST_RUN(test_usage);
	rc = test_done("test-pg-extra");
	if (rc == 0 && argc > 1 && strcmp(argv[1], "bench") == 0)
		rc = bench();
	mbox_acl_shutdown();
	pg_conn_cleanup();
	teardown();
	return rc;
}
