/*
 * accounts - the embedded accounts backend: SQLite storage of domains,
 * users and aliases, and the administration operations on them.
 *
 * Trust: called by the `tem domain|user|alias` commands, as root or as the
 * server's user. Arguments come from the administrator's command line and
 * are validated here anyway, because address parts become directory names
 * under data_dir/mail (no '/', no leading '.', bounded lengths).
 *
 * Each change runs as: flock(accounts.lock) -> BEGIN IMMEDIATE -> checks and
 * writes -> bump meta.serial -> COMMIT -> rewrite accounts.serial -> unlock.
 * The flock orders the serial file rewrites of concurrent admin commands;
 * SQLite alone would order the commits but not the file writes after them.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "auth/accounts.h"
#include "auth/accounts_fs.h"
#include "auth/accounts_int.h"
#include "auth/password.h"
#include "pg/pg_conn.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/hashmap.h"
#include "util/xmalloc.h"

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY,"
    " value INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO meta(key, value) VALUES('serial', 0);"
    "CREATE TABLE IF NOT EXISTS domains(name TEXT PRIMARY KEY COLLATE NOCASE,"
    " added INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS users(address TEXT PRIMARY KEY COLLATE NOCASE,"
    " domain TEXT NOT NULL COLLATE NOCASE, localpart TEXT NOT NULL,"
    " hash TEXT NOT NULL, added INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS users_by_domain ON users(domain);"
    "CREATE TABLE IF NOT EXISTS aliases(address TEXT PRIMARY KEY"
    " COLLATE NOCASE, domain TEXT NOT NULL COLLATE NOCASE,"
    " targets TEXT NOT NULL, added INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS aliases_by_domain ON aliases(domain);"
    /* per-user quotas (accounts_quota.c); a user's row goes with it */
    "CREATE TABLE IF NOT EXISTS quotas(address TEXT PRIMARY KEY"
    " COLLATE NOCASE, storage INTEGER NOT NULL, messages INTEGER NOT NULL);"
    "CREATE TRIGGER IF NOT EXISTS quotas_user_del AFTER DELETE ON users"
    " BEGIN DELETE FROM quotas WHERE address = old.address; END;"
    "PRAGMA user_version = 1;";

/* ---- database helpers --------------------------------------------- */

char *
accounts_db_error(struct accounts *a, const char *what)
{
	int code = sqlite3_errcode(a->db);

	if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
		return xasprintf("accounts database is busy (%s); try again",
		    what);
	return xasprintf("accounts database: %s: %s", what,
	    sqlite3_errmsg(a->db));
}

static int
db_exec(struct accounts *a, const char *sql, char **error_r)
{
	if (sqlite3_exec(a->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		*error_r = accounts_db_error(a, sql);
		return -1;
	}
	return 0;
}

/* Prepares sql and binds n text arguments (NULL binds SQL NULL). */
sqlite3_stmt *
accounts_db_prepare(struct accounts *a, const char *sql, char **error_r,
    int n, ...)
{
	sqlite3_stmt *st;
	va_list ap;

	if (sqlite3_prepare_v2(a->db, sql, -1, &st, NULL) != SQLITE_OK) {
		*error_r = accounts_db_error(a, "prepare");
		return NULL;
	}
	va_start(ap, n);
	for (int i = 1; i <= n; i++) {
		const char *v = va_arg(ap, const char *);

		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	}
	va_end(ap);
	return st;
}

/* Runs a statement to completion: 0, or -1 + error. Finalizes it.
 * st NULL (a failed db_prepare, error already set) gives -1. */
int
accounts_db_done(struct accounts *a, sqlite3_stmt *st, char **error_r)
{
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		*error_r = accounts_db_error(a, "step");
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	return 0;
}

/* The first column of a one-row integer query with one text argument;
 * -1 + error on failure. */
static int64_t
db_int(struct accounts *a, const char *sql, const char *arg, char **error_r)
{
	sqlite3_stmt *st = accounts_db_prepare(a, sql, error_r, 1, arg);
	int64_t v = -1;
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		*error_r = accounts_db_error(a, "query");
	sqlite3_finalize(st);
	return v;
}

/* Collects the first column (or "c0 c1" when two) of every row. */
int
accounts_db_list(struct accounts *a, sqlite3_stmt *st, struct accounts_list *l,
    char **error_r)
{
	size_t cap = 0;
	int rc;

	memset(l, 0, sizeof(*l));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *c0 = (const char *)sqlite3_column_text(st, 0);

		char **item = ARRAY_PUSH(l->items, l->n, cap);

		if (sqlite3_column_count(st) > 1)
			*item = xasprintf("%s %s", c0,
			    (const char *)sqlite3_column_text(st, 1));
		else
			*item = xstrdup(c0);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		accounts_list_free(l);
		*error_r = accounts_db_error(a, "list");
		return -1;
	}
	return 0;
}

void
accounts_list_free(struct accounts_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

/* ---- serial and transactions -------------------------------------- */

uint64_t
accounts_serial_read(const char *data_dir)
{
	char *path = xasprintf("%s/accounts.serial", data_dir);
	char text[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = -1;
	char *end;
	uint64_t v;

	free(path);
	if (fd >= 0) {
		n = read(fd, text, sizeof(text) - 1);
		close(fd);
	}
	if (n <= 0)
		return 0;
	text[n] = '\0';
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0 || end == text || (*end != '\n' && *end != '\0'))
		return 0;
	return v;
}

static int
serial_file_sync(struct accounts *a, char **error_r)
{
	int64_t v = db_int(a, "SELECT value FROM meta WHERE key = ?",
	    "serial", error_r);
	char text[32];

	if (v < 0)
		return -1;
	a->serial = (uint64_t)v;
	if ((uint64_t)v == accounts_serial_read(a->data_dir))
		return 0;
	snprintf(text, sizeof(text), "%lld\n", (long long)v);
	return accounts_fs_write_atomic(&a->owner, a->data_dir,
	    "accounts.serial", text, error_r);
}

int
accounts_tx_begin(struct accounts *a, char **error_r)
{
	if (flock(a->lock_fd, LOCK_EX) < 0) {
		*error_r = xasprintf("cannot lock accounts: %s",
		    strerror(errno));
		return -1;
	}
	if (db_exec(a, "BEGIN IMMEDIATE", error_r) < 0) {
		flock(a->lock_fd, LOCK_UN);
		return -1;
	}
	return 0;
}

void
accounts_tx_rollback(struct accounts *a)
{
	sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
	flock(a->lock_fd, LOCK_UN);
}

/* Bumps the serial, commits, then publishes the serial file. */
int
accounts_tx_commit(struct accounts *a, char **error_r)
{
	char *err = NULL;
	int ret;

	if (db_exec(a, "UPDATE meta SET value = value + 1 WHERE key = 'serial'",
	    error_r) < 0 || db_exec(a, "COMMIT", error_r) < 0) {
		accounts_tx_rollback(a);
		return -1;
	}
	a->changed = true;
	a->serial = 0;		/* unknown until serial_file_sync reads it */
	ret = serial_file_sync(a, &err);
	if (ret < 0) {
		/* the command still tells a running server (control.h);
		 * only the poll fallback needs the file */
		*error_r = xasprintf("change saved, but accounts.serial was "
		    "not updated: %s", err);
		free(err);
	}
	flock(a->lock_fd, LOCK_UN);
	return ret;
}

uint64_t
accounts_change_serial(const struct accounts *a)
{
	return a->changed ? a->serial : 0;
}

/* ---- open/close --------------------------------------------------- */

static int
open_db(struct accounts *a, char **error_r)
{
	char *path = xasprintf("%s/accounts.db", a->data_dir);
	int ret = -1;

	if (accounts_fs_precreate(&a->owner, path, error_r) < 0)
		goto out;
	if (sqlite3_open_v2(path, &a->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		*error_r = xasprintf("cannot open %s: %s", path,
		    a->db ? sqlite3_errmsg(a->db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(a->db, 5000);
	if (db_exec(a, "PRAGMA journal_mode = WAL", error_r) < 0 ||
	    db_exec(a, "PRAGMA synchronous = FULL", error_r) < 0)
		goto out;
	if (accounts_tx_begin(a, error_r) < 0)
		goto out;
	if (db_exec(a, schema_sql, error_r) < 0) {
		accounts_tx_rollback(a);
		goto out;
	}
	if (db_exec(a, "COMMIT", error_r) < 0) {
		accounts_tx_rollback(a);
		goto out;
	}
	/* Repair a missing or stale serial file while still locked. */
	ret = serial_file_sync(a, error_r);
	flock(a->lock_fd, LOCK_UN);
out:
	free(path);
	return ret;
}

int
accounts_open(const char *data_dir, const char *run_as,
    struct accounts **a_r, char **error_r)
{
	struct accounts *a = xmalloc(sizeof(*a));
	char *lock;

	a->lock_fd = -1;
	a->data_dir = xstrdup(data_dir);
	accounts_owner_init(&a->owner, run_as);
	if (accounts_fs_make_dirs(&a->owner, data_dir, 0750, error_r) < 0)
		goto fail;
	lock = xasprintf("%s/accounts.lock", data_dir);
	a->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (a->lock_fd < 0) {
		*error_r = xasprintf("cannot open %s: %s", lock,
		    strerror(errno));
		free(lock);
		goto fail;
	}
	accounts_fs_own(&a->owner, lock);
	free(lock);
	if (open_db(a, error_r) < 0)
		goto fail;
	*a_r = a;
	return 0;
fail:
	accounts_close(&a);
	return -1;
}

void
accounts_close(struct accounts **ap)
{
	struct accounts *a = *ap;

	if (a == NULL)
		return;
	if (a->db != NULL)
		sqlite3_close(a->db);
	if (a->lock_fd >= 0)
		close(a->lock_fd);
	if (a->pg)
		pg_conn_close();
	free(a->data_dir);
	free(a);
	*ap = NULL;
}

/* ---- domains ------------------------------------------------------ */

/* 1 exists, 0 not, -1 error. Called inside or outside a transaction. */
int
accounts_domain_lookup(struct accounts *a, const char *domain, char **error_r)
{
	int64_t n;

	if (a->pg)
		return accounts_pg_domain_lookup(a, domain, error_r);
	n = db_int(a, "SELECT count(*) FROM domains WHERE name = ?", domain,
	    error_r);
	return n < 0 ? -1 : n > 0;
}

int
accounts_domain_exists(struct accounts *a, const char *domain,
    char **error_r)
{
	char *d = accounts_domain_canon(domain, error_r);
	int r;

	if (d == NULL)
		return -1;
	r = accounts_domain_lookup(a, d, error_r);
	free(d);
	return r;
}

static int
domain_add_locked(struct accounts *a, const char *d, char **error_r)
{
	int r = accounts_domain_lookup(a, d, error_r);

	if (r != 0) {
		if (r > 0)
			*error_r = xasprintf("domain %s already exists", d);
		return -1;
	}
	return accounts_db_done(a, accounts_db_prepare(a, "INSERT INTO domains(name, added) "
	    "VALUES(?, (SELECT coalesce(max(added), 0) + 1 FROM domains))",
	    error_r, 1, d), error_r);
}

int
accounts_domain_add(struct accounts *a, const char *domain, char **error_r)
{
	char *d = accounts_domain_canon(domain, error_r);
	int ret = -1;

	if (d == NULL)
		return -1;
	if (a->pg)
		ret = accounts_pg_domain_add(a, d, error_r);
	else if (accounts_tx_begin(a, error_r) == 0) {
		if (domain_add_locked(a, d, error_r) == 0)
			ret = accounts_tx_commit(a, error_r);
		else
			accounts_tx_rollback(a);
	}
	free(d);
	return ret;
}

static int
domain_del_locked(struct accounts *a, const char *d, char **error_r)
{
	int64_t users, aliases;
	int r = accounts_domain_lookup(a, d, error_r);

	if (r <= 0) {
		if (r == 0)
			*error_r = xasprintf("domain %s does not exist", d);
		return -1;
	}
	users = db_int(a, "SELECT count(*) FROM users WHERE domain = ?", d,
	    error_r);
	if (users < 0)
		return -1;
	aliases = db_int(a, "SELECT count(*) FROM aliases WHERE domain = ?",
	    d, error_r);
	if (aliases < 0)
		return -1;
	if (users > 0 || aliases > 0) {
		*error_r = xasprintf("domain %s still has %lld user%s and "
		    "%lld alias%s; delete them first", d, (long long)users,
		    users == 1 ? "" : "s", (long long)aliases,
		    aliases == 1 ? "" : "es");
		return -1;
	}
	return accounts_db_done(a, accounts_db_prepare(a, "DELETE FROM domains WHERE name = ?",
	    error_r, 1, d), error_r);
}

int
accounts_domain_del(struct accounts *a, const char *domain, char **error_r)
{
	char *d = accounts_domain_canon(domain, error_r);
	int ret = -1;

	if (d == NULL)
		return -1;
	if (a->pg)
		ret = accounts_pg_domain_del(a, d, error_r);
	else if (accounts_tx_begin(a, error_r) == 0) {
		if (domain_del_locked(a, d, error_r) == 0)
			ret = accounts_tx_commit(a, error_r);
		else
			accounts_tx_rollback(a);
	}
	free(d);
	return ret;
}

int
accounts_domain_list(struct accounts *a, struct accounts_list *list_r,
    char **error_r)
{
	sqlite3_stmt *st;

	if (a->pg)
		return accounts_pg_domain_list(a, list_r, error_r);
	st = accounts_db_prepare(a, "SELECT name FROM domains ORDER BY name "
	    "COLLATE BINARY", error_r, 0);
	return st == NULL ? -1 : accounts_db_list(a, st, list_r, error_r);
}

/* ---- users -------------------------------------------------------- */

static int
user_add_locked(struct accounts *a, const char *lp, const char *dom,
    const char *hash, char **error_r)
{
	char *addr = xasprintf("%s@%s", lp, dom);
	int r, ret = -1;

	if ((r = accounts_domain_lookup(a, dom, error_r)) <= 0) {
		if (r == 0)
			*error_r = xasprintf("domain %s does not exist", dom);
		goto out;
	}
	r = (int)db_int(a, "SELECT count(*) FROM users WHERE address = ?",
	    addr, error_r);
	if (r != 0) {
		if (r > 0)
			*error_r = xasprintf("user %s already exists", addr);
		goto out;
	}
	if (accounts_db_done(a, accounts_db_prepare(a, "INSERT INTO users(address, domain, "
	    "localpart, hash, added) VALUES(?, ?, ?, ?, (SELECT "
	    "coalesce(max(added), 0) + 1 FROM users))", error_r, 4, addr, dom,
	    lp, hash), error_r) < 0)
		goto out;
	ret = accounts_fs_create_mailbox(&a->owner, a->data_dir, dom, lp,
	    error_r);
out:
	free(addr);
	return ret;
}

/* Hashes a new password, refusing an empty one. */
static char *
hash_new_password(const char *password, char **error_r)
{
	char *hash;

	if (password == NULL || password[0] == '\0') {
		*error_r = xstrdup("empty password refused");
		return NULL;
	}
	if ((hash = password_hash(password)) == NULL)
		*error_r = xstrdup("cannot hash the password (libcrypt "
		    "failed)");
	return hash;
}

int
accounts_user_add(struct accounts *a, const char *address,
    const char *password, char **error_r)
{
	char *lp, *dom, *hash;
	int ret = -1;

	if (accounts_address_parse(address, true, &lp, &dom, error_r) < 0)
		return -1;
	/* Hash before locking: it is slow on purpose. */
	if ((hash = hash_new_password(password, error_r)) != NULL && a->pg)
		ret = accounts_pg_user_add(a, lp, dom, hash, error_r);
	else if (hash != NULL && accounts_tx_begin(a, error_r) == 0) {
		if (user_add_locked(a, lp, dom, hash, error_r) == 0)
			ret = accounts_tx_commit(a, error_r);
		else
			accounts_tx_rollback(a);
	}
	free(hash);
	free(lp);
	free(dom);
	return ret;
}

static int
user_del_locked(struct accounts *a, const char *addr, char **mailbox_r,
    char **error_r)
{
	sqlite3_stmt *st = accounts_db_prepare(a, "SELECT domain, localpart FROM users "
	    "WHERE address = ?", error_r, 1, addr);
	char *box = NULL;
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		box = accounts_mailbox_path(a->data_dir,
		    (const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1));
	else if (rc == SQLITE_DONE)
		*error_r = xasprintf("user %s does not exist", addr);
	else
		*error_r = accounts_db_error(a, "user lookup");
	sqlite3_finalize(st);
	if (box == NULL || accounts_db_done(a, accounts_db_prepare(a, "DELETE FROM users WHERE "
	    "address = ?", error_r, 1, addr), error_r) < 0) {
		free(box);
		return -1;
	}
	if (mailbox_r != NULL)
		*mailbox_r = box;
	else
		free(box);
	return 0;
}

/* Parses a local address into "lp@dom"; NULL + error. */
char *
accounts_local_address(const char *address, char **error_r)
{
	char *lp, *dom, *addr;

	if (accounts_address_parse(address, true, &lp, &dom, error_r) < 0)
		return NULL;
	addr = xasprintf("%s@%s", lp, dom);
	free(lp);
	free(dom);
	return addr;
}

int
accounts_user_del(struct accounts *a, const char *address, char **mailbox_r,
    char **error_r)
{
	char *addr = accounts_local_address(address, error_r);
	int ret = -1;

	if (addr == NULL)
		return -1;
	if (mailbox_r != NULL)
		*mailbox_r = NULL;	/* PostgreSQL: the mail goes with it */
	if (a->pg)
		ret = accounts_pg_user_del(a, addr, error_r);
	else if (accounts_tx_begin(a, error_r) == 0) {
		if (user_del_locked(a, addr, mailbox_r, error_r) == 0)
			ret = accounts_tx_commit(a, error_r);
		else
			accounts_tx_rollback(a);
	}
	free(addr);
	return ret;
}

int
accounts_user_passwd(struct accounts *a, const char *address,
    const char *password, char **error_r)
{
	char *addr = accounts_local_address(address, error_r);
	char *hash = NULL;
	int ret = -1;

	if (addr == NULL)
		return -1;
	if ((hash = hash_new_password(password, error_r)) != NULL && a->pg)
		ret = accounts_pg_user_passwd(a, addr, hash, error_r);
	else if (hash != NULL && accounts_tx_begin(a, error_r) == 0) {
		if (accounts_db_done(a, accounts_db_prepare(a, "UPDATE users SET hash = ? WHERE "
		    "address = ?", error_r, 2, hash, addr), error_r) < 0) {
			accounts_tx_rollback(a);
		} else if (sqlite3_changes(a->db) == 0) {
			*error_r = xasprintf("user %s does not exist", addr);
			accounts_tx_rollback(a);
		} else {
			ret = accounts_tx_commit(a, error_r);
		}
	}
	free(hash);
	free(addr);
	return ret;
}

int
accounts_user_list(struct accounts *a, const char *filter,
    struct accounts_list *list_r, char **error_r)
{
	char *key = NULL;
	sqlite3_stmt *st;
	int r;

	if (filter == NULL)
		st = a->pg ? NULL : accounts_db_prepare(a, "SELECT address FROM "
		    "users ORDER BY address COLLATE BINARY", error_r, 0);
	else if (strchr(filter, '@') != NULL) {
		if ((key = accounts_local_address(filter, error_r)) == NULL)
			return -1;
		st = a->pg ? NULL : accounts_db_prepare(a, "SELECT address "
		    "FROM users WHERE address = ?", error_r, 1, key);
	} else {
		if ((key = accounts_domain_canon(filter, error_r)) == NULL)
			return -1;
		if ((r = accounts_domain_lookup(a, key, error_r)) <= 0) {
			if (r == 0)
				*error_r = xasprintf("domain %s does not "
				    "exist", key);
			free(key);
			return -1;
		}
		st = a->pg ? NULL : accounts_db_prepare(a, "SELECT address "
		    "FROM users WHERE domain = ? ORDER BY address COLLATE "
		    "BINARY", error_r, 1, key);
	}
	if (a->pg)
		r = accounts_pg_user_list(a, filter != NULL && strchr(filter,
		    '@') != NULL ? key : NULL, filter != NULL && strchr(filter,
		    '@') == NULL ? key : NULL, list_r, error_r);
	else
		r = st == NULL ? -1 : accounts_db_list(a, st, list_r, error_r);
	free(key);
	if (r < 0)
		return -1;
	if (filter != NULL && strchr(filter, '@') != NULL && list_r->n == 0) {
		*error_r = xasprintf("user %s does not exist", filter);
		return -1;
	}
	return 0;
}
