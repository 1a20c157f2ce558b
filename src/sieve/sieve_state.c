/*
 * sieve_state - Sieve's durable memory per user (duplicate ids, vacation
 * replies) in one small SQLite file; see sieve_state.h for the layout
 * and the limits.
 *
 * Trust: keys come from scripts and messages (untrusted): bound as
 * parameters, length-checked; the user's address parts are checked
 * before they name directories. Blocking: worker threads only.
 *
 * Why SQLite and not a flat file: several deliveries to one user can run
 * at once (worker threads, and `tem` CLI processes reading it), each
 * needs a read-check-write of one row, and SQLite's locking with a busy
 * timeout gives that without a lock of our own; WAL keeps readers off
 * the writers' path. A lost state file costs at most a repeated vacation
 * reply, so synchronous=NORMAL (no fsync per commit in WAL) is enough.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/accounts_addr.h"
#include "sieve/sieve_state.h"
#include "sieve/sieve_store.h"
#include "sieve/sieve_store_pg.h"
#include "util/xmalloc.h"

enum {
	S_DUP_SEEN,
	S_DUP_PRUNE,
	S_DUP_PUT,
	S_DUP_CAP,
	S_VAC_LAST,
	S_VAC_PRUNE,
	S_VAC_PUT,
	S_VAC_CAP,
	S_N
};

/* The caps delete the rows beyond the newest SIEVE_STATE_ROWS_MAX - 1
 * before an insert, so a table never holds more than the maximum. */
static const char *const stmt_sql[S_N] = {
	[S_DUP_SEEN] = "SELECT 1 FROM dup WHERE handle = ?1 AND id = ?2 "
	    "AND expiry > ?3",
	[S_DUP_PRUNE] = "DELETE FROM dup WHERE expiry <= ?1",
	[S_DUP_PUT] = "INSERT OR REPLACE INTO dup (handle, id, expiry) "
	    "VALUES (?1, ?2, ?3)",
	[S_DUP_CAP] = "DELETE FROM dup WHERE rowid IN (SELECT rowid FROM dup "
	    "ORDER BY expiry DESC LIMIT -1 OFFSET ?1)",
	[S_VAC_LAST] = "SELECT sent FROM vacation WHERE handle = ?1 AND "
	    "address = ?2",
	[S_VAC_PRUNE] = "DELETE FROM vacation WHERE sent <= ?1",
	[S_VAC_PUT] = "INSERT OR REPLACE INTO vacation (handle, address, sent) "
	    "VALUES (?1, ?2, ?3)",
	[S_VAC_CAP] = "DELETE FROM vacation WHERE rowid IN (SELECT rowid FROM "
	    "vacation ORDER BY sent DESC LIMIT -1 OFFSET ?1)",
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS dup ("
    " handle TEXT NOT NULL, id TEXT NOT NULL, expiry INTEGER NOT NULL,"
    " PRIMARY KEY (handle, id));"
    "CREATE INDEX IF NOT EXISTS dup_expiry ON dup (expiry);"
    "CREATE TABLE IF NOT EXISTS vacation ("
    " handle TEXT NOT NULL, address TEXT NOT NULL COLLATE NOCASE,"
    " sent INTEGER NOT NULL, PRIMARY KEY (handle, address));"
    "CREATE INDEX IF NOT EXISTS vacation_sent ON vacation (sent);";

struct sieve_state {
	sqlite3		*db;
	sqlite3_stmt	*stmt[S_N];
	char		*pg_uid;	/* storage = postgresql: the user's id */
};

/* data_dir/sieve/DOMAIN/LOCAL as the script store names it (the address
 * canonicalised as for data_dir/mail/), each level made 0700 when
 * missing. */
static char *
sieve_state_dir(const char *data_dir, const char *user)
{
	char *lp, *dom, *err = NULL, *lv[3];

	if (accounts_address_parse(user, true, &lp, &dom, &err) < 0) {
		free(err);
		errno = EINVAL;
		return NULL;
	}
	lv[0] = xasprintf("%s/sieve", data_dir);
	lv[1] = xasprintf("%s/%s", lv[0], dom);
	lv[2] = xasprintf("%s/%s", lv[1], lp);
	free(lp);
	free(dom);
	for (int i = 0; i < 3; i++) {
		if (mkdir(lv[i], 0700) < 0 && errno != EEXIST) {
			int e = errno;
			for (int j = 0; j < 3; j++)
				free(lv[j]);
			errno = e;
			return NULL;
		}
	}
	free(lv[0]);
	free(lv[1]);
	return lv[2];
}

/* An SQLite result code as an errno value. */
static int
sieve_state_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_FULL:	return ENOSPC;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:	return EBUSY;
	case SQLITE_NOMEM:	return ENOMEM;
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:	return EACCES;
	default:		return EIO;
	}
}

/* Opens path (made 0600 first: SQLite would create it by the umask):
 * the handle, or NULL with *rc set. */
static struct sieve_state *
sieve_state_try(const char *path, int *rc)
{
	struct sieve_state *st;
	int fd;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) < 0) {
		*rc = errno == ENOSPC ? SQLITE_FULL : SQLITE_CANTOPEN;
		return NULL;
	}
	close(fd);
	st = xcalloc(1, sizeof(*st));
	*rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL);
	if (*rc == SQLITE_OK) {
		sqlite3_busy_timeout(st->db, 5000);
		*rc = sqlite3_exec(st->db, "PRAGMA journal_mode = WAL;"
		    "PRAGMA synchronous = NORMAL;", NULL, NULL, NULL);
	}
	if (*rc == SQLITE_OK)
		*rc = sqlite3_exec(st->db, schema, NULL, NULL, NULL);
	for (int i = 0; i < S_N && *rc == SQLITE_OK; i++)
		*rc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &st->stmt[i], NULL);
	if (*rc != SQLITE_OK)
		sieve_state_close(&st);
	return st;
}

/* A damaged file is moved aside (state.db.corrupt, for the admin) and
 * started afresh: kept, it would fail every open, and every message
 * would get a vacation reply. */
static void
sieve_state_set_aside(const char *path)
{
	char *to = xasprintf("%s.corrupt", path);
	char *wal = xasprintf("%s-wal", path), *shm = xasprintf("%s-shm", path);

	(void)rename(path, to);
	(void)unlink(wal);
	(void)unlink(shm);
	free(to);
	free(wal);
	free(shm);
}

struct sieve_state *
sieve_state_open(const char *data_dir, const char *user)
{
	struct sieve_state *st;
	char *dir, *path, *uid;
	int rc;

	if (sieve_store_on_pg()) {
		if ((uid = sieve_state_pg_user(user)) == NULL)
			return NULL;
		st = xcalloc(1, sizeof(*st));
		st->pg_uid = uid;
		return st;
	}
	if ((dir = sieve_state_dir(data_dir, user)) == NULL)
		return NULL;
	path = xasprintf("%s/state.db", dir);
	free(dir);
	st = sieve_state_try(path, &rc);
	if (st == NULL && ((rc & 0xff) == SQLITE_CORRUPT ||
	    (rc & 0xff) == SQLITE_NOTADB)) {
		sieve_state_set_aside(path);
		st = sieve_state_try(path, &rc);
	}
	free(path);
	if (st == NULL)
		errno = sieve_state_errno(rc);
	return st;
}

void
sieve_state_close(struct sieve_state **stp)
{
	struct sieve_state *st = *stp;

	if (st == NULL)
		return;
	for (int i = 0; i < S_N; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	free(st->pg_uid);
	free(st);
	*stp = NULL;
}

static bool
sieve_state_key_ok(const char *s)
{
	return s != NULL && strlen(s) <= SIEVE_STATE_KEY_MAX;
}

/* Binds statement which: ?1 a and ?2 b as text (each when not NULL)
 * and ?3 the integer n; or, when a is NULL (prune, cap), ?1 n. */
static sqlite3_stmt *
sieve_state_bind(struct sieve_state *st, int which, const char *a,
    const char *b, int64_t n)
{
	sqlite3_stmt *s = st->stmt[which];

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (a != NULL)
		sqlite3_bind_text(s, 1, a, -1, SQLITE_STATIC);
	if (b != NULL)
		sqlite3_bind_text(s, 2, b, -1, SQLITE_STATIC);
	if (a == NULL)
		sqlite3_bind_int64(s, 1, n);
	else if (sqlite3_bind_parameter_count(s) >= 3)
		sqlite3_bind_int64(s, 3, n);
	return s;
}

/* Runs a statement that returns no rows; SQLITE_DONE or an error. */
static int
sieve_state_step(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc;
}

/* prune, cap, put in one transaction: 0 or -1 with errno. */
static int
sieve_state_write(struct sieve_state *st, int prune, int cap, int put,
    const char *a, const char *b, int64_t put_n, int64_t prune_n)
{
	int rc;

	rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	rc = sieve_state_step(sieve_state_bind(st, prune, NULL, NULL,
	    prune_n));
	if (rc == SQLITE_DONE)
		rc = sieve_state_step(sieve_state_bind(st, cap, NULL, NULL,
		    SIEVE_STATE_ROWS_MAX - 1));
	if (rc == SQLITE_DONE)
		rc = sieve_state_step(sieve_state_bind(st, put, a, b, put_n));
	if (rc == SQLITE_DONE)
		rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
	if (rc == SQLITE_OK || rc == SQLITE_DONE)
		return 0;
	if (!sqlite3_get_autocommit(st->db))
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
fail:
	errno = sieve_state_errno(rc);
	return -1;
}

bool
sieve_state_dup_seen(struct sieve_state *st, const char *handle,
    const char *id, time_t now)
{
	sqlite3_stmt *s;
	int rc;

	if (!sieve_state_key_ok(handle) || !sieve_state_key_ok(id))
		return false;
	if (st->pg_uid != NULL)
		return sieve_state_pg_dup_seen(st->pg_uid, handle, id, now);
	s = sieve_state_bind(st, S_DUP_SEEN, handle, id, (int64_t)now);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_ROW;
}

int
sieve_state_dup_record(struct sieve_state *st, const char *handle,
    const char *id, time_t expiry)
{
	if (!sieve_state_key_ok(handle) || !sieve_state_key_ok(id)) {
		errno = EINVAL;
		return -1;
	}
	if (st->pg_uid != NULL)
		return sieve_state_pg_dup_record(st->pg_uid, handle, id,
		    expiry);
	return sieve_state_write(st, S_DUP_PRUNE, S_DUP_CAP, S_DUP_PUT,
	    handle, id, (int64_t)expiry, (int64_t)time(NULL));
}

bool
sieve_state_vacation_due(struct sieve_state *st, const char *handle,
    const char *address, uint64_t seconds, time_t now)
{
	sqlite3_stmt *s;
	int64_t sent;
	int rc;

	if (!sieve_state_key_ok(handle) || !sieve_state_key_ok(address))
		return true;
	if (st->pg_uid != NULL) {
		if (sieve_state_pg_vacation_last(st->pg_uid, handle, address,
		    &sent) != 1)
			return true;
	} else {
		s = sieve_state_bind(st, S_VAC_LAST, handle, address, 0);
		rc = sqlite3_step(s);
		sent = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
		sqlite3_reset(s);
		if (rc != SQLITE_ROW)
			return true;
	}
	/* a reply recorded in the future (the clock went back) counts as
	 * just sent: the period starts again from it */
	if (seconds > (uint64_t)INT64_MAX / 2)
		return false;
	return (int64_t)now - sent >= (int64_t)seconds;
}

int
sieve_state_vacation_record(struct sieve_state *st, const char *handle,
    const char *address, time_t now)
{
	if (!sieve_state_key_ok(handle) || !sieve_state_key_ok(address)) {
		errno = EINVAL;
		return -1;
	}
	if (st->pg_uid != NULL)
		return sieve_state_pg_vacation_record(st->pg_uid, handle,
		    address, now);
	return sieve_state_write(st, S_VAC_PRUNE, S_VAC_CAP, S_VAC_PUT,
	    handle, address, (int64_t)now,
	    (int64_t)now - SIEVE_STATE_VACATION_KEEP);
}
