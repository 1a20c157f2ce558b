/*
 * mailbox_acl - folder access control lists (RFC 4314) in
 * data_dir/acl.sqlite: the rights letters and the durable table, and
 * what both backends share (mailbox_acl_int.h); with storage =
 * postgresql each call goes to mailbox_acl_pg.c. The contract is in
 * mailbox_acl.h.
 *
 * Trust: values come from the IMAP layer after its checks (owner: the
 * logged-in user's canonical address; folder: a valid store name;
 * identifier: an account address or "anyone"); they are bound as SQLite
 * parameters, never spliced into SQL or paths.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/mailbox.h"
#include "store/mailbox_acl.h"
#include "store/mailbox_acl_int.h"
#include "store/mailbox_int.h"
#include "util/array.h"
#include "util/xmalloc.h"

/* RFC 4314 order of the letters; bit i is letters[i]. */
static const char letters[] = "lrswipkxtea";

int
mbox_acl_parse(const char *s, unsigned *rights_r, char *bad_r)
{
	unsigned r = 0;
	const char *p;

	for (; *s != '\0'; s++) {
		if (*s == 'c')
			r |= MBOX_ACL_CREATE | MBOX_ACL_DELETE;
		else if (*s == 'd')
			r |= MBOX_ACL_DELMSG | MBOX_ACL_EXPUNGE;
		else if ((p = strchr(letters, *s)) != NULL)
			r |= 1u << (p - letters);
		else {
			if (bad_r)
				*bad_r = *s;
			return -1;
		}
	}
	*rights_r = r;
	return 0;
}

/* aliases: add RFC 2086's c and d (for clients, not for the table). */
static void
format_letters(unsigned rights, char *out, bool aliases)
{
	size_t n = 0;

	for (size_t i = 0; letters[i] != '\0'; i++)
		if (rights & (1u << i))
			out[n++] = letters[i];
	if (aliases && (rights & (MBOX_ACL_CREATE | MBOX_ACL_DELETE)))
		out[n++] = 'c';
	if (aliases && (rights & (MBOX_ACL_DELMSG | MBOX_ACL_EXPUNGE)))
		out[n++] = 'd';
	out[n] = '\0';
}

void
mbox_acl_format(unsigned rights, char *out)
{
	format_letters(rights, out, true);
}

void
mbox_acl_format_stored(unsigned rights, char *out)
{
	format_letters(rights, out, false);
}

unsigned
mbox_acl_stored(const char *s)
{
	unsigned r = 0;

	if (s == NULL || mbox_acl_parse(s, &r, NULL) < 0)
		return 0;	/* a damaged row grants nothing */
	return r;
}

void
mbox_acl_posneg_add(struct mbox_acl_posneg *pn, const char *ident,
    const char *rights)
{
	if (ident != NULL && ident[0] == MBOX_ACL_NEGATIVE)
		pn->neg |= mbox_acl_stored(rights);
	else
		pn->pos |= mbox_acl_stored(rights);
}

/* Rows of one folder are adjacent (the user's and anyone's, positive
   and negative): merged. */
bool
mbox_acl_shares_row(struct mbox_acl_shares *l, const char *o, const char *f,
    const char *ident, const char *rights)
{
	struct mbox_acl_share *e;
	struct mbox_acl_posneg *pn;
	size_t n_pn;

	if (l->n > 0 && strcmp(l->s[l->n - 1].owner, o) == 0 &&
	    strcmp(l->s[l->n - 1].folder, f) == 0) {
		mbox_acl_posneg_add(&l->pn[l->n - 1], ident, rights);
		return true;
	}
	if (l->n == MBOX_ACL_SHARES_MAX)
		return false;
	n_pn = l->n;
	pn = ARRAY_PUSH(l->pn, n_pn, l->cap_pn);	/* zeroed */
	mbox_acl_posneg_add(pn, ident, rights);
	e = ARRAY_PUSH(l->s, l->n, l->cap);
	e->owner = xstrdup(o);
	e->folder = xstrdup(f);
	return true;
}

void
mbox_acl_shares_end(struct mbox_acl_shares *l, int r,
    struct mbox_acl_share **list_r, size_t *n_r)
{
	size_t i, kept = 0;

	/* effective rights; a folder whose rights were all taken away is
	   not shared with the user */
	for (i = 0; r == 0 && i < l->n; i++) {
		l->s[i].rights = l->pn[i].pos & ~l->pn[i].neg;
		if (l->s[i].rights == 0) {
			free(l->s[i].owner);
			free(l->s[i].folder);
		} else
			l->s[kept++] = l->s[i];
	}
	if (r == 0)
		l->n = kept;
	free(l->pn);
	if (r < 0) {
		mbox_acl_shares_free(l->s, l->n);
		l->s = NULL;
		l->n = 0;
	}
	*list_r = l->s;
	*n_r = l->n;
}

/* ---- the database ------------------------------------------------------ */

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS acl (owner TEXT NOT NULL, "
    "folder TEXT NOT NULL, ident TEXT NOT NULL, rights TEXT NOT NULL, "
    "PRIMARY KEY (owner, folder, ident)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS acl_ident ON acl (ident, owner, folder);";

static pthread_mutex_t db_lock = PTHREAD_MUTEX_INITIALIZER;
static sqlite3 *db;
static char *db_dir;		/* the data_dir db belongs to */
static atomic_uint_fast64_t serial = 1;

uint64_t
mbox_acl_serial(void)
{
	/* On PostgreSQL another node may have changed any ACL: each call
	   is a new serial, so a session reads the rights of its selected
	   shared folder at every check (one index look-up), never a
	   revoked right from its cache. */
	if (mbox_on_pg())
		return atomic_fetch_add(&serial, 1) + 1;
	return atomic_load(&serial);
}

static void
db_close(void)
{
	sqlite3_close(db);
	db = NULL;
	XFREE(&db_dir);
}

void
mbox_acl_shutdown(void)
{
	pthread_mutex_lock(&db_lock);
	db_close();
	pthread_mutex_unlock(&db_lock);
}

static int
db_fail(char **error_r, const char *what)
{
	mbox_error(error_r, "ACL database: %s: %s", what,
	    db ? sqlite3_errmsg(db) : "not open");
	return MBOX_ERR_TEMP;
}

/* Takes the lock and opens data_dir's database if needed. On error the
 * lock is released. */
static int
db_enter(const char *data_dir, char **error_r)
{
	char *path;
	int rc, fd;

	pthread_mutex_lock(&db_lock);
	if (db != NULL && strcmp(db_dir, data_dir) == 0)
		return 0;
	db_close();
	path = xasprintf("%s/acl.sqlite", data_dir);
	/* who shares what with whom is nobody else's business: 0600 (the
	 * -wal and -shm files take the database's mode) */
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) >= 0)
		close(fd);
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	free(path);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(db, 5000);
		rc = sqlite3_exec(db, "PRAGMA journal_mode = WAL;"
		    "PRAGMA synchronous = FULL;", NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, schema, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		rc = db_fail(error_r, "open");
		db_close();
		pthread_mutex_unlock(&db_lock);
		return rc;
	}
	db_dir = xstrdup(data_dir);
	return 0;
}

static void
db_leave(void)
{
	pthread_mutex_unlock(&db_lock);
}

/* Prepares sql and binds the text parameters (NULL-terminated). */
static sqlite3_stmt *
prepare(const char *sql, const char *const *params)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	for (int i = 0; params[i] != NULL; i++)
		sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_STATIC);
	return st;
}

static const char *
col_text(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

static unsigned
col_rights(sqlite3_stmt *st, int col)
{
	return mbox_acl_stored(col_text(st, col));
}

/* Runs a statement without result rows; changes: one more serial. */
static int
run(const char *sql, const char *const *params, const char *what,
    char **error_r)
{
	sqlite3_stmt *st = prepare(sql, params);
	int rc = st ? sqlite3_step(st) : SQLITE_ERROR;

	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(error_r, what);
	if (sqlite3_changes(db) > 0)
		atomic_fetch_add(&serial, 1);
	return 0;
}

/*
 * Runs sql with params under the lock, calling row(st, arg) for each
 * result row; false from row stops early (a limit). 0 or MBOX_ERR_TEMP.
 */
static int
read_rows(const char *data_dir, const char *sql, const char *const *params,
    bool (*row)(sqlite3_stmt *st, void *arg), void *arg, char **error_r)
{
	sqlite3_stmt *st;
	int rc = SQLITE_ERROR, r;

	if ((r = db_enter(data_dir, error_r)) < 0)
		return r;
	st = prepare(sql, params);
	while (st != NULL && (rc = sqlite3_step(st)) == SQLITE_ROW)
		if (!row(st, arg)) {
			rc = SQLITE_DONE;
			break;
		}
	if (rc != SQLITE_DONE)
		r = db_fail(error_r, "read");
	sqlite3_finalize(st);
	db_leave();
	return r;
}

struct entries {
	struct mbox_acl_entry	*e;
	size_t			 n, cap;
};

static bool
entry_row(sqlite3_stmt *st, void *arg)
{
	struct entries *l = arg;
	struct mbox_acl_entry *e = ARRAY_PUSH(l->e, l->n, l->cap);

	e->ident = xstrdup(col_text(st, 0));
	e->rights = col_rights(st, 1);
	return true;
}

int
mbox_acl_get(const char *data_dir, const char *owner, const char *folder,
    struct mbox_acl_entry **list_r, size_t *n_r, char **error_r)
{
	const char *p[] = { owner, folder, NULL };
	struct entries l = { NULL, 0, 0 };
	int r;

	if (mbox_on_pg())
		return mbox_acl_pg_get(owner, folder, list_r, n_r, error_r);
	r = read_rows(data_dir, "SELECT ident, rights FROM acl WHERE "
	    "owner = ?1 AND folder = ?2 ORDER BY ident", p, entry_row, &l,
	    error_r);

	if (r < 0) {
		mbox_acl_entries_free(l.e, l.n);
		l.e = NULL;
		l.n = 0;
	}
	*list_r = l.e;
	*n_r = l.n;
	return r;
}

void
mbox_acl_entries_free(struct mbox_acl_entry *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i].ident);
	free(list);
}

/* Number of identifiers on the folder other than ident, -1 on error. */
static int
count_others(const char *const *p)
{
	sqlite3_stmt *st = prepare("SELECT count(*) FROM acl WHERE "
	    "owner = ?1 AND folder = ?2 AND ident != ?3", p);
	int n = -1;

	if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

int
mbox_acl_set(const char *data_dir, const char *owner, const char *folder,
    const char *ident, unsigned rights, char **error_r)
{
	char str[MBOX_ACL_STR_MAX];
	const char *p[] = { owner, folder, ident, str, NULL };
	int r, n;

	if (mbox_on_pg())
		return mbox_acl_pg_set(owner, folder, ident, rights, error_r);
	format_letters(rights, str, false);
	if ((r = db_enter(data_dir, error_r)) < 0)
		return r;
	if (rights == 0)
		r = run("DELETE FROM acl WHERE owner = ?1 AND folder = ?2 AND "
		    "ident = ?3", p, "delete", error_r);
	else if ((n = count_others(p)) < 0)
		r = db_fail(error_r, "count");
	else if (n >= MBOX_ACL_IDENTS_MAX) {
		mbox_error(error_r, "At most %d identifiers per folder",
		    MBOX_ACL_IDENTS_MAX);
		r = MBOX_ERR_LIMIT;
	} else
		r = run("INSERT OR REPLACE INTO acl (owner, folder, ident, "
		    "rights) VALUES (?1, ?2, ?3, ?4)", p, "write", error_r);
	db_leave();
	return r;
}

static bool
rights_row(sqlite3_stmt *st, void *arg)
{
	mbox_acl_posneg_add(arg, col_text(st, 0), col_text(st, 1));
	return true;
}

int
mbox_acl_rights(const char *data_dir, const char *owner, const char *folder,
    const char *user, unsigned *rights_r, char **error_r)
{
	const char *p[] = { owner, folder, user, MBOX_ACL_ANYONE, NULL };
	struct mbox_acl_posneg pn = { 0, 0 };
	int r;

	if (mbox_on_pg())
		return mbox_acl_pg_rights(owner, folder, user, rights_r,
		    error_r);
	r = read_rows(data_dir, "SELECT ident, rights FROM acl WHERE "
	    "owner = ?1 AND folder = ?2 AND ident IN (?3, ?4, '-' || ?3, "
	    "'-' || ?4)", p, rights_row, &pn, error_r);

	*rights_r = r < 0 ? 0 : pn.pos & ~pn.neg;
	return r;
}

static bool
share_row(sqlite3_stmt *st, void *arg)
{
	return mbox_acl_shares_row(arg, col_text(st, 0), col_text(st, 1),
	    col_text(st, 2), col_text(st, 3));
}

int
mbox_acl_shared_with(const char *data_dir, const char *user,
    struct mbox_acl_share **list_r, size_t *n_r, char **error_r)
{
	const char *p[] = { user, MBOX_ACL_ANYONE, NULL };
	struct mbox_acl_shares l = { NULL, NULL, 0, 0, 0 };
	int r;

	if (mbox_on_pg())
		return mbox_acl_pg_shared_with(user, list_r, n_r, error_r);
	r = read_rows(data_dir, "SELECT owner, folder, ident, rights "
	    "FROM acl WHERE ident IN (?1, ?2, '-' || ?1, '-' || ?2) AND "
	    "owner != ?1 ORDER BY owner, folder", p, share_row, &l, error_r);
	mbox_acl_shares_end(&l, r, list_r, n_r);
	return r;
}

void
mbox_acl_shares_free(struct mbox_acl_share *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(list[i].owner);
		free(list[i].folder);
	}
	free(list);
}

/*
 * Children are "old/..." ; SQLite's substr and length count characters
 * of TEXT, consistently on both sides, so UTF-8 names work. A row already
 * at the new name (left by a folder removed outside IMAP) is replaced.
 */
int
mbox_acl_rename(const char *data_dir, const char *owner, const char *oldname,
    const char *newname, char **error_r)
{
	const char *p[] = { owner, oldname, newname, NULL };
	int r;

	if (mbox_on_pg())
		return 0;	/* the rows follow the folder's id */
	if ((r = db_enter(data_dir, error_r)) < 0)
		return r;
	r = run("UPDATE OR REPLACE acl SET folder = ?3 || "
	    "substr(folder, length(?2) + 1) WHERE owner = ?1 AND "
	    "(folder = ?2 OR substr(folder, 1, length(?2) + 1) = ?2 || '/')",
	    p, "rename", error_r);
	db_leave();
	return r;
}

int
mbox_acl_drop(const char *data_dir, const char *owner, const char *folder,
    char **error_r)
{
	const char *p[] = { owner, folder, NULL };
	int r;

	if (mbox_on_pg())
		return mbox_acl_pg_drop(owner, folder, error_r);
	if ((r = db_enter(data_dir, error_r)) < 0)
		return r;
	r = run("DELETE FROM acl WHERE owner = ?1 AND folder = ?2", p,
	    "delete", error_r);
	db_leave();
	return r;
}
