/*
 * mailbox_index - tem's per-user index, MAILDIR/tem-index.sqlite: what a
 * Maildir cannot hold (UIDVALIDITY, UIDs, MODSEQs, wire sizes, expunge
 * history); see mailbox.h. The tables and their migrations are in
 * mailbox_index_schema.c.
 *
 * Trust: the file is ours but may be damaged or deleted at any time while
 * tem is stopped; everything in it can be rebuilt from the Maildir. Only
 * called with u->io held: one connection per user, one thread at a time.
 *
 * Durability: WAL with synchronous=NORMAL, except that a transaction
 * handing out UIDs or a UIDVALIDITY (or the first write after an open,
 * which marks the index unclean) runs with synchronous=FULL: a UID must
 * be on disk before a client sees it, or a power loss could hand it out
 * again for another message. A lost NORMAL commit only loses flag MODSEQs
 * (the flags are in the file names; the next sync finds them), and the
 * unclean mark makes the next open raise every HIGHESTMODSEQ by 2^24 so
 * no MODSEQ a client saw is given to a different change.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/mailbox_int.h"
#include "util/array.h"
#include "util/hashmap.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define INDEX_FILE	"tem-index.sqlite"
#define MODSEQ_JUMP	(1ULL << 24)
#define EXP_KEEP	10000	/* expunge history kept per folder ... */
#define EXP_PRUNE_AT	20000	/* ... once it grows past this */

enum {
	S_FOLDER_GET, S_FOLDER_INS, S_FOLDER_UPD, S_MSGS, S_MSG_INS,
	S_MSG_UPD, S_MSG_DEL, S_EXP_INS, S_META_GET, S_META_PUT, S_RECENT_PUT,
	S_BEGIN, S_COMMIT, S_ROLLBACK,
	S_N
};

static const char *const stmt_sql[S_N] = {
	[S_FOLDER_GET] = "SELECT id, uidvalidity, uidnext, highestmodseq, "
	    "recent_uid FROM folders WHERE dir = ?1",
	[S_FOLDER_INS] = "INSERT INTO folders(dir, uidvalidity, uidnext, "
	    "highestmodseq, special_use) VALUES(?1, ?2, 1, 1, ?3)",
	[S_FOLDER_UPD] = "UPDATE folders SET uidnext = ?2, highestmodseq = ?3 "
	    "WHERE id = ?1",
	[S_MSGS] = "SELECT uid, name, modseq, size, idate, innew, savedate "
	    "FROM messages WHERE folder = ?1 ORDER BY uid",
	[S_MSG_INS] = "INSERT OR REPLACE INTO messages(folder, uid, name, "
	    "modseq, size, idate, innew, savedate) "
	    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[S_MSG_UPD] = "UPDATE messages SET name = ?3, "
	    "modseq = coalesce(?4, modseq), innew = ?5 "
	    "WHERE folder = ?1 AND uid = ?2",
	[S_MSG_DEL] = "DELETE FROM messages WHERE folder = ?1 AND uid = ?2",
	[S_EXP_INS] = "INSERT OR REPLACE INTO expunged(folder, uid, modseq) "
	    "VALUES(?1, ?2, ?3)",
	[S_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[S_META_PUT] = "INSERT OR REPLACE INTO meta(key, value) "
	    "VALUES(?1, ?2)",
	[S_RECENT_PUT] = "UPDATE folders SET recent_uid = ?2 WHERE id = ?1",
	/* prepared once: sqlite3_exec() parsed them anew for every
	   transaction (3.5% of the server's CPU in bench/imap). Not the
	   PRAGMAs: SQLite applies "synchronous" when it prepares one. */
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
};

_Static_assert(S_N <= sizeof(((struct mbox_md_user *)0)->stmt) /
    sizeof(((struct mbox_md_user *)0)->stmt[0]), "mbox_user.stmt is too small");

/* Children of a dir: ".A" -> ".A.x" (never "" here). */
#define CHILD_SQL "(dir = ?1 OR (?2 AND substr(dir, 1, length(?1) + 1) = ?1 || '.'))"

static pthread_mutex_t uv_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t uv_last;	/* last UIDVALIDITY handed out here */

static bool
is_corrupt(int rc)
{
	return (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB;
}

/* Logs and records an SQLite failure; returns MBOX_ERR_TEMP. */
static int
db_fail(struct mbox_md_user *u, int rc, const char *what, char **error_r)
{
	if (is_corrupt(rc) && !u->broken) {
		u->broken = true;
		log_error("- store index-corrupt root=%s error=\"%s\"", u->root,
		    sqlite3_errmsg(u->db));
	} else
		log_error("- store index-error root=%s op=%s error=\"%s\"",
		    u->root, what, sqlite3_errmsg(u->db));
	mbox_error(error_r, "Mail index error; try again later");
	return MBOX_ERR_TEMP;
}

static int
db_exec(struct mbox_md_user *u, const char *sql)
{
	return sqlite3_exec(u->db, sql, NULL, NULL, NULL);
}

static sqlite3_stmt *
stmt(struct mbox_md_user *u, int which)
{
	sqlite3_stmt *st = u->stmt[which];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

static int
step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

static int
meta_get(struct mbox_md_user *u, const char *key, int64_t *v_r)
{
	sqlite3_stmt *st = stmt(u, S_META_GET);
	int rc;

	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v_r = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? rc : -1;
}

static int
meta_put(struct mbox_md_user *u, const char *key, int64_t v)
{
	sqlite3_stmt *st = stmt(u, S_META_PUT);

	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, v);
	return step_done(st);
}

/* Starts a write transaction; full: fsync at commit. */
static int
tx_begin(struct mbox_md_user *u, bool full)
{
	int rc;

	if (u->broken || u->db == NULL)
		return SQLITE_CORRUPT;
	if (full || !u->unclean_marked) {
		u->sync_full = true;	/* tx_end puts NORMAL back */
		if ((rc = db_exec(u, "PRAGMA synchronous = FULL")) !=
		    SQLITE_OK)
			return rc;
	}
	if ((rc = step_done(stmt(u, S_BEGIN))) != SQLITE_OK)
		return rc;
	if (!u->unclean_marked && (rc = meta_put(u, "clean", 0)) != SQLITE_OK)
		return rc;
	return SQLITE_OK;
}

static int
tx_end(struct mbox_md_user *u, int rc)
{
	if (rc == SQLITE_OK)
		rc = step_done(stmt(u, S_COMMIT));
	if (rc != SQLITE_OK && !sqlite3_get_autocommit(u->db))
		(void)step_done(stmt(u, S_ROLLBACK));
	else if (rc == SQLITE_OK)
		u->unclean_marked = true;
	if (u->sync_full) {
		u->sync_full = false;
		db_exec(u, "PRAGMA synchronous = NORMAL");
	}
	return rc;
}

/* ---- open, check, rebuild --------------------------------------------- */

static void
db_close(struct mbox_md_user *u)
{
	for (int i = 0; i < S_N; i++)
		sqlite3_finalize(u->stmt[i]);
	memset(u->stmt, 0, sizeof(u->stmt));
	mbox_hdrcache_close(u);
	sqlite3_close(u->db);
	u->db = NULL;
}

/* Opens path and checks it: 0, 1 if it is damaged (rebuild), -1. */
static int
try_open(struct mbox_md_user *u, const char *path, char **error_r)
{
	int rc, fd;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) >= 0)
		close(fd);
	rc = sqlite3_open_v2(path, &u->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(u->db, 5000);
		rc = db_exec(u, "PRAGMA journal_mode = WAL");
	}
	if (rc == SQLITE_OK)
		rc = db_exec(u, "PRAGMA synchronous = NORMAL");
	if (rc == SQLITE_OK && !mbox_index_check(u, &rc) && rc == SQLITE_OK)
		rc = SQLITE_CORRUPT;
	if (rc == SQLITE_OK)
		rc = mbox_index_schema(u);
	for (int i = 0; i < S_N && rc == SQLITE_OK; i++)
		rc = sqlite3_prepare_v3(u->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &u->stmt[i], NULL);
	if (rc == SQLITE_OK)
		rc = mbox_hdrcache_prepare(u);
	if (rc == SQLITE_OK)
		return 0;
	mbox_error(error_r, "Cannot open the mail index: %s",
	    u->db ? sqlite3_errmsg(u->db) : sqlite3_errstr(rc));
	db_close(u);
	return is_corrupt(rc) ? 1 : -1;
}

/* The last open did not close: raise every HIGHESTMODSEQ (see top). */
static int
after_unclean(struct mbox_md_user *u)
{
	int64_t clean = 1;
	char sql[128];

	if (meta_get(u, "clean", &clean) < 0)
		return -1;
	if (clean)
		return 0;
	snprintf(sql, sizeof(sql), "UPDATE folders SET highestmodseq = "
	    "highestmodseq + %llu", (unsigned long long)MODSEQ_JUMP);
	if (db_exec(u, sql) != SQLITE_OK)
		return -1;
	u->unclean_marked = true;	/* still 0 on disk */
	return 0;
}

/* The index's random salt for MAILBOXIDs (RFC 8474), made once: ids
 * of different users' folders differ, and a rebuilt index (new
 * UIDVALIDITYs) gives new ones. */
static int
id_salt_load(struct mbox_md_user *u)
{
	int64_t salt = 0;
	int r = meta_get(u, "objectid_salt", &salt);

	if (r < 0)
		return -1;
	if (r == SQLITE_DONE) {
		salt = (int64_t)(hashmap_random_seed() & 0xffffffffu);
		if (meta_put(u, "objectid_salt", salt) != SQLITE_OK)
			return -1;
	}
	u->id_salt = (uint32_t)salt;
	return 0;
}

int
mbox_index_open(struct mbox_md_user *u, char **error_r)
{
	char *path = xasprintf("%s/%s", u->root, INDEX_FILE);
	char *err = NULL;
	int r = try_open(u, path, &err);

	if (r == 1) {
		char *broken = xasprintf("%s.broken", path);
		char *wal = xasprintf("%s-wal", path);
		char *shm = xasprintf("%s-shm", path);
		log_warn("- store index-rebuild root=%s reason=\"%s\"", u->root,
		    err);
		XFREE(&err);
		if (rename(path, broken) < 0)
			unlink(path);
		unlink(wal);
		unlink(shm);
		free(broken);
		free(wal);
		free(shm);
		r = try_open(u, path, &err);
	}
	if (r == 0 && after_unclean(u) < 0) {
		err = xasprintf("Cannot open the mail index: %s",
		    sqlite3_errmsg(u->db));
		db_close(u);
		r = -1;
	}
	if (r == 0 && id_salt_load(u) < 0) {
		err = xasprintf("Cannot open the mail index: %s",
		    sqlite3_errmsg(u->db));
		db_close(u);
		r = -1;
	}
	free(path);
	if (r != 0) {
		log_error("- store index-open-failed root=%s error=\"%s\"",
		    u->root, err);
		if (error_r)
			*error_r = err;
		else
			free(err);
		return MBOX_ERR_TEMP;
	}
	return 0;
}

void
mbox_index_close(struct mbox_md_user *u)
{
	if (u->db) {
		if (u->unclean_marked && !u->broken)
			meta_put(u, "clean", 1);
		db_close(u);
	}
	u->unclean_marked = false;
	u->broken = false;
	u->exp_commits = 0;
}

/* ---- folders ---------------------------------------------------------- */

/* A UIDVALIDITY above every earlier one of this index and process. */
static uint32_t
new_uidvalidity(struct mbox_md_user *u)
{
	int64_t last = 0;
	uint32_t uv = (uint32_t)time(NULL);

	meta_get(u, "last_uidvalidity", &last);
	pthread_mutex_lock(&uv_lock);
	if ((int64_t)uv <= last)
		uv = (uint32_t)last + 1;
	if (uv <= uv_last)
		uv = uv_last + 1;
	if (uv == 0)
		uv = 1;
	uv_last = uv;
	pthread_mutex_unlock(&uv_lock);
	return uv;
}

/* Inside a transaction: a new row for dir. */
static int
folder_insert(struct mbox_md_user *u, const char *dir, unsigned special_use,
    uint32_t *uv_r)
{
	sqlite3_stmt *st = stmt(u, S_FOLDER_INS);
	uint32_t uv = new_uidvalidity(u);
	int rc;

	sqlite3_bind_text(st, 1, dir, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, uv);
	sqlite3_bind_int64(st, 3, special_use);
	if ((rc = step_done(st)) == SQLITE_OK)
		rc = meta_put(u, "last_uidvalidity", uv);
	if (uv_r)
		*uv_r = uv;
	return rc;
}

/* f->msgs made room for the folder's rows at once: grown by doubling
   while names are allocated between the steps, a big folder's array
   left megabytes of holes in the heap. */
static void
reserve_messages(struct mbox_md_user *u, struct mbox_folder *f)
{
	sqlite3_stmt *st;
	int64_t n = 0;

	if (sqlite3_prepare_v2(u->db, "SELECT count(*) FROM messages "
	    "WHERE folder = ?1", -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, f->id);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (n > (int64_t)f->cap && n < (int64_t)UINT32_MAX - 16) {
		f->cap = (uint32_t)n + 16;
		f->msgs = xrealloc(f->msgs, f->cap * sizeof(*f->msgs));
	}
}

static int
load_messages(struct mbox_md_user *u, struct mbox_folder *f)
{
	sqlite3_stmt *st;
	int rc;

	reserve_messages(u, f);
	st = stmt(u, S_MSGS);
	sqlite3_bind_int64(st, 1, f->id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 1);
		struct mbox_msg *m;
		unsigned flags;
		uint32_t letters;

		/* damaged rows are dropped: the next sync finds the file */
		if (name == NULL || name[0] == '\0' || name[0] == '.' ||
		    strchr(name, '/') || strlen(name) > 255)
			continue;
		m = ARRAY_PUSH(f->msgs, f->count, f->cap);
		m->uid = (uint32_t)sqlite3_column_int64(st, 0);
		m->name = xstrdup(name);
		m->base_len = (uint16_t)mbox_base_len(name);
		m->modseq = (uint64_t)sqlite3_column_int64(st, 2);
		m->size = (uint64_t)sqlite3_column_int64(st, 3);
		m->idate = sqlite3_column_int64(st, 4);
		mbox_info_parse(name, &flags, &letters);
		m->flags = (uint16_t)flags;
		if (sqlite3_column_int(st, 5))
			m->flags |= MBOX_FI_INNEW;
		m->letters = letters;
		m->savedate = sqlite3_column_type(st, 6) == SQLITE_NULL ?
		    (uint32_t)m->idate : (uint32_t)sqlite3_column_int64(st, 6);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int
mbox_index_load(struct mbox_md_user *u, struct mbox_folder *f, char **error_r)
{
	sqlite3_stmt *st;
	int rc;

	if (u->broken || u->db == NULL)
		return db_fail(u, SQLITE_CORRUPT, "load", error_r);
	st = stmt(u, S_FOLDER_GET);
	sqlite3_bind_text(st, 1, f->dir, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		f->id = sqlite3_column_int64(st, 0);
		f->uidvalidity = (uint32_t)sqlite3_column_int64(st, 1);
		f->uidnext = (uint32_t)sqlite3_column_int64(st, 2);
		f->highestmodseq = (uint64_t)sqlite3_column_int64(st, 3);
		f->recent_next = (uint32_t)sqlite3_column_int64(st, 4);
		sqlite3_reset(st);
	} else {
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return db_fail(u, rc, "load", error_r);
		rc = tx_begin(u, true);
		if (rc == SQLITE_OK)
			rc = folder_insert(u, f->dir, 0, &f->uidvalidity);
		f->id = sqlite3_last_insert_rowid(u->db);
		if ((rc = tx_end(u, rc)) != SQLITE_OK)
			return db_fail(u, rc, "new-folder", error_r);
		f->uidnext = 1;
		f->highestmodseq = 1;
		f->recent_next = 0;
	}
	f->recent_saved = f->recent_next;
	if ((rc = load_messages(u, f)) != SQLITE_OK)
		return db_fail(u, rc, "load", error_r);
	return 0;
}

static int
write_delta(struct mbox_md_user *u, struct mbox_folder *f,
    const struct mbox_delta *d)
{
	sqlite3_stmt *st;
	int rc = SQLITE_OK;

	for (size_t i = 0; i < d->n_add && rc == SQLITE_OK; i++) {
		const struct mbox_msg *m = &d->add[i];
		st = stmt(u, S_MSG_INS);
		sqlite3_bind_int64(st, 1, f->id);
		sqlite3_bind_int64(st, 2, m->uid);
		sqlite3_bind_text(st, 3, m->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (int64_t)m->modseq);
		sqlite3_bind_int64(st, 5, (int64_t)m->size);
		sqlite3_bind_int64(st, 6, m->idate);
		sqlite3_bind_int(st, 7, (m->flags & MBOX_FI_INNEW) != 0);
		sqlite3_bind_int64(st, 8, m->savedate);
		rc = step_done(st);
		if (rc == SQLITE_OK)
			rc = mbox_hdrcache_add(u, f, m);
	}
	for (size_t i = 0; i < d->n_upd && rc == SQLITE_OK; i++) {
		const struct mbox_upd *p = &d->upd[i];
		st = stmt(u, S_MSG_UPD);
		sqlite3_bind_int64(st, 1, f->id);
		sqlite3_bind_int64(st, 2, p->uid);
		sqlite3_bind_text(st, 3, p->name, -1, SQLITE_STATIC);
		if (p->bump)
			sqlite3_bind_int64(st, 4, (int64_t)d->modseq);
		sqlite3_bind_int(st, 5, (p->flags & MBOX_FI_INNEW) != 0);
		rc = step_done(st);
	}
	for (size_t i = 0; i < d->n_exp && rc == SQLITE_OK; i++) {
		st = stmt(u, S_MSG_DEL);
		sqlite3_bind_int64(st, 1, f->id);
		sqlite3_bind_int64(st, 2, d->exp[i]);
		if ((rc = step_done(st)) != SQLITE_OK)
			break;
		st = stmt(u, S_EXP_INS);
		sqlite3_bind_int64(st, 1, f->id);
		sqlite3_bind_int64(st, 2, d->exp[i]);
		sqlite3_bind_int64(st, 3, (int64_t)d->modseq);
		rc = step_done(st);
	}
	return rc;
}

/* Keeps the expunge history bounded (checked now and then). */
static void
prune_expunged(struct mbox_md_user *u, struct mbox_folder *f)
{
	char sql[512];

	if (++u->exp_commits % 64 != 0)
		return;
	snprintf(sql, sizeof(sql),
	    "WITH cut AS (SELECT modseq FROM expunged WHERE folder = %lld "
	    "  ORDER BY modseq DESC LIMIT 1 OFFSET %d) "
	    "UPDATE folders SET vanished_floor = max(vanished_floor, "
	    "  (SELECT modseq FROM cut)) WHERE id = %lld AND "
	    "  (SELECT count(*) FROM expunged WHERE folder = %lld) > %d;"
	    "DELETE FROM expunged WHERE folder = %lld AND modseq <= "
	    "  (SELECT vanished_floor FROM folders WHERE id = %lld);",
	    (long long)f->id, EXP_KEEP, (long long)f->id, (long long)f->id,
	    EXP_PRUNE_AT, (long long)f->id, (long long)f->id);
	if (db_exec(u, sql) != SQLITE_OK)
		log_warn("- store expunge-prune-failed root=%s error=\"%s\"",
		    u->root, sqlite3_errmsg(u->db));
}

int
mbox_index_commit(struct mbox_md_user *u, struct mbox_folder *f,
    const struct mbox_delta *d, uint32_t uidnext, uint64_t hms,
    char **error_r)
{
	sqlite3_stmt *st;
	int rc = tx_begin(u, d->n_add > 0);

	if (rc == SQLITE_OK)
		rc = write_delta(u, f, d);
	if (rc == SQLITE_OK) {
		st = stmt(u, S_FOLDER_UPD);
		sqlite3_bind_int64(st, 1, f->id);
		sqlite3_bind_int64(st, 2, uidnext);
		sqlite3_bind_int64(st, 3, (int64_t)hms);
		rc = step_done(st);
	}
	if ((rc = tx_end(u, rc)) != SQLITE_OK)
		return db_fail(u, rc, "commit", error_r);
	if (d->n_exp)
		prune_expunged(u, f);
	return 0;
}

int
mbox_index_recent_save(struct mbox_md_user *u, struct mbox_folder *f,
    uint32_t recent_next)
{
	sqlite3_stmt *st;
	int rc = tx_begin(u, false);

	if (rc == SQLITE_OK) {
		st = stmt(u, S_RECENT_PUT);
		sqlite3_bind_int64(st, 1, f->id);
		sqlite3_bind_int64(st, 2, recent_next);
		rc = step_done(st);
	}
	if ((rc = tx_end(u, rc)) != SQLITE_OK)
		return db_fail(u, rc, "recent", NULL);
	return 0;
}

/* Runs sql (binding ?1 dir, ?2 children, ?3 text) in the open tx. */
static int
exec_dir(struct mbox_md_user *u, const char *sql, const char *dir, bool children,
    const char *text)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(u->db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_text(st, 1, dir, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, children);
	if (text)
		sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int
drop_rows(struct mbox_md_user *u, const char *dir, bool children)
{
	int rc = exec_dir(u, "DELETE FROM messages WHERE folder IN "
	    "(SELECT id FROM folders WHERE " CHILD_SQL ")", dir, children,
	    NULL);

	if (rc == SQLITE_OK)
		rc = exec_dir(u, "DELETE FROM expunged WHERE folder IN "
		    "(SELECT id FROM folders WHERE " CHILD_SQL ")", dir,
		    children, NULL);
	if (rc == SQLITE_OK)
		rc = exec_dir(u, "DELETE FROM folders WHERE " CHILD_SQL, dir,
		    children, NULL);
	return rc;
}

int
mbox_index_folder_new(struct mbox_md_user *u, const char *dir,
    unsigned special_use, char **error_r)
{
	int rc = tx_begin(u, true);

	if (rc == SQLITE_OK)
		rc = drop_rows(u, dir, false);
	if (rc == SQLITE_OK)
		rc = folder_insert(u, dir, special_use, NULL);
	if ((rc = tx_end(u, rc)) != SQLITE_OK)
		return db_fail(u, rc, "create", error_r);
	return 0;
}

int
mbox_index_folder_drop(struct mbox_md_user *u, const char *dir, bool children,
    char **error_r)
{
	int rc = tx_begin(u, false);

	if (rc == SQLITE_OK)
		rc = drop_rows(u, dir, children);
	if ((rc = tx_end(u, rc)) != SQLITE_OK)
		return db_fail(u, rc, "delete", error_r);
	return 0;
}

int
mbox_index_folder_rename(struct mbox_md_user *u, const char *olddir,
    const char *newdir, char **error_r)
{
	int rc = tx_begin(u, true);

	if (rc == SQLITE_OK)
		rc = drop_rows(u, newdir, true);
	if (rc == SQLITE_OK)
		rc = exec_dir(u, "UPDATE folders SET dir = ?3 || "
		    "substr(dir, length(?1) + 1) WHERE " CHILD_SQL, olddir,
		    true, newdir);
	if ((rc = tx_end(u, rc)) != SQLITE_OK)
		return db_fail(u, rc, "rename", error_r);
	return 0;
}

struct hashmap *
mbox_index_special_uses(struct mbox_md_user *u)
{
	struct hashmap *m = hashmap_new(0);
	sqlite3_stmt *st;

	if (u->broken || u->db == NULL ||
	    sqlite3_prepare_v2(u->db, "SELECT dir, special_use "
	    "FROM folders WHERE special_use != 0", -1, &st, NULL) != SQLITE_OK)
		return m;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *dir = (const char *)sqlite3_column_text(st, 0);
		if (dir)
			hashmap_put(m, dir, (void *)(uintptr_t)
			    sqlite3_column_int64(st, 1));
	}
	sqlite3_finalize(st);
	return m;
}

int
mbox_index_vanished(struct mbox_md_user *u, struct mbox_folder *f,
    uint64_t modseq, uint32_t **uids_r, size_t *n_r, bool *complete_r,
    char **error_r)
{
	sqlite3_stmt *st;
	size_t n = 0, cap = 0;
	uint32_t *uids = NULL;
	int rc;

	*complete_r = false;
	if (u->broken || u->db == NULL)
		return db_fail(u, SQLITE_CORRUPT, "vanished", error_r);
	rc = sqlite3_prepare_v2(u->db, "SELECT vanished_floor FROM folders "
	    "WHERE id = ?1", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_fail(u, rc, "vanished", error_r);
	sqlite3_bind_int64(st, 1, f->id);
	if (sqlite3_step(st) == SQLITE_ROW)
		*complete_r = (uint64_t)sqlite3_column_int64(st, 0) <= modseq;
	sqlite3_finalize(st);
	rc = sqlite3_prepare_v2(u->db, "SELECT uid FROM expunged WHERE "
	    "folder = ?1 AND modseq > ?2 ORDER BY uid", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_fail(u, rc, "vanished", error_r);
	sqlite3_bind_int64(st, 1, f->id);
	sqlite3_bind_int64(st, 2, (int64_t)modseq);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*ARRAY_PUSH(uids, n, cap) = (uint32_t)sqlite3_column_int64(st,
		    0);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(uids);
		return db_fail(u, rc, "vanished", error_r);
	}
	*uids_r = uids;
	*n_r = n;
	return 0;
}
