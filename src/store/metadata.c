/*
 * metadata - per-user IMAP METADATA entries in SQLite (see metadata.h),
 * and what the PostgreSQL side (metadata_pg.c) shares with it: a handle
 * without a file sends mdata_get and mdata_set there.
 *
 * Trust: mailbox names and entry names reach here validated by the IMAP
 * layer (imap_metadata_args.c) and are only ever bound as SQL
 * parameters; values are opaque octets of bounded size. The file lives
 * in the user's Maildir root, a path built from account data.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/metadata.h"
#include "store/metadata_int.h"
#include "util/array.h"
#include "util/xmalloc.h"

#define MDATA_FILE	"imap-metadata.sqlite"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS entries(mailbox TEXT NOT NULL,"
    " entry TEXT NOT NULL, value BLOB NOT NULL,"
    " PRIMARY KEY(mailbox, entry));";

static int
db_fail(sqlite3 *db, const char *what, char **error_r)
{
	if (error_r != NULL)
		*error_r = xasprintf("metadata: %s: %s", what,
		    db != NULL ? sqlite3_errmsg(db) : "out of memory");
	return MDATA_ERR_TEMP;
}

static int
exec(struct mdata *m, const char *sql, char **error_r)
{
	if (sqlite3_exec(m->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(m->db, sql, error_r);
	return 0;
}

int
mdata_open(const char *root, bool create, struct mdata **m_r,
    char **error_r)
{
	char *path = xasprintf("%s/" MDATA_FILE, root);
	struct mdata *m;
	struct stat st;
	int r;

	*m_r = NULL;
	if (!create && stat(path, &st) < 0 && errno == ENOENT) {
		free(path);
		return 0;
	}
	m = xcalloc(1, sizeof(*m));
	r = sqlite3_open_v2(path, &m->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	free(path);
	if (r != SQLITE_OK) {
		r = db_fail(m->db, "open", error_r);
		mdata_close(&m);
		return r;
	}
	sqlite3_busy_timeout(m->db, 5000);
	/* A SETMETADATA's OK means the entry is on disk: FULL. */
	if ((r = exec(m, "PRAGMA journal_mode = WAL", error_r)) < 0 ||
	    (r = exec(m, "PRAGMA synchronous = FULL", error_r)) < 0 ||
	    (r = exec(m, schema, error_r)) < 0) {
		mdata_close(&m);
		return r;
	}
	*m_r = m;
	return 0;
}

void
mdata_close(struct mdata **mp)
{
	struct mdata *m = *mp;

	if (m == NULL)
		return;
	*mp = NULL;
	if (m->db != NULL)
		sqlite3_close(m->db);
	free(m);
}

bool
mdata_wanted(const char *name, const char *const *want, size_t n, int depth)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(want[i]);

		if (strncmp(name, want[i], len) != 0)
			continue;
		if (name[len] == '\0')
			return true;
		if (name[len] != '/' || depth == 0)
			continue;
		if (depth < 0 || strchr(name + len + 1, '/') == NULL)
			return true;
	}
	return false;
}

int
mdata_get(struct mdata *m, const char *mailbox, const char *const *want,
    size_t n_want, int depth, struct mdata_entry **list_r, size_t *n_r,
    char **error_r)
{
	size_t cap = 0;
	sqlite3_stmt *st = NULL;
	int rc, r = 0;

	*list_r = NULL;
	*n_r = 0;
	if (m->db == NULL)
		return mdata_pg_get(m, mailbox, want, n_want, depth, list_r,
		    n_r, error_r);
	/* One pass over the mailbox's entries (at most MDATA_ENTRIES_MAX):
	 * each is returned once however many requests name it. */
	if (sqlite3_prepare_v2(m->db, "SELECT entry, value FROM entries "
	    "WHERE mailbox = ?1 ORDER BY entry", -1, &st, NULL) != SQLITE_OK)
		return db_fail(m->db, "select", error_r);
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const void *v = sqlite3_column_blob(st, 1);
		size_t len = (size_t)sqlite3_column_bytes(st, 1);

		if (name != NULL && mdata_wanted(name, want, n_want, depth))
			mdata_entry_push(list_r, n_r, &cap, name, v, len);
	}
	if (rc != SQLITE_DONE)
		r = db_fail(m->db, "select", error_r);
	sqlite3_finalize(st);
	return r;
}

void
mdata_entry_push(struct mdata_entry **list, size_t *n, size_t *cap,
    const char *name, const void *v, size_t len)
{
	struct mdata_entry *e = ARRAY_PUSH(*list, *n, *cap);

	e->entry = xstrdup(name);
	e->value = xmalloc(len + 1);
	if (len > 0)
		memcpy(e->value, v, len);
	e->value[len] = '\0';
	e->len = len;
}

void
mdata_entries_free(struct mdata_entry *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(list[i].entry);
		free(list[i].value);
	}
	free(list);
}

/* The user's entry count and value octets; false on error. */
static bool
totals(struct mdata *m, int64_t *count_r, int64_t *octets_r)
{
	sqlite3_stmt *st;
	bool ok = false;

	if (sqlite3_prepare_v2(m->db, "SELECT count(*), "
	    "coalesce(sum(length(value)), 0) FROM entries", -1, &st,
	    NULL) != SQLITE_OK)
		return false;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*count_r = sqlite3_column_int64(st, 0);
		*octets_r = sqlite3_column_int64(st, 1);
		ok = true;
	}
	sqlite3_finalize(st);
	return ok;
}

static int
apply(struct mdata *m, const char *mailbox, const struct mdata_change *c,
    char **error_r)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(m->db, c->value == NULL ?
	    "DELETE FROM entries WHERE mailbox = ?1 AND entry = ?2" :
	    "INSERT OR REPLACE INTO entries(mailbox, entry, value) "
	    "VALUES(?1, ?2, ?3)", -1, &st, NULL) != SQLITE_OK)
		return db_fail(m->db, "prepare", error_r);
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, c->entry, -1, SQLITE_STATIC);
	if (c->value != NULL)
		sqlite3_bind_blob(st, 3, c->value, (int)c->len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_fail(m->db, "write", error_r);
}

int
mdata_set(struct mdata *m, const char *mailbox,
    const struct mdata_change *changes, size_t n, char **error_r)
{
	int64_t n0, o0, n1, o1;
	int r;

	if (m->db == NULL)
		return mdata_pg_set(m, mailbox, changes, n, error_r);
	if ((r = exec(m, "BEGIN IMMEDIATE", error_r)) < 0)
		return r;
	if (!totals(m, &n0, &o0))
		r = db_fail(m->db, "count", error_r);
	for (size_t i = 0; i < n && r == 0; i++)
		r = apply(m, mailbox, &changes[i], error_r);
	if (r == 0 && !totals(m, &n1, &o1))
		r = db_fail(m->db, "count", error_r);
	if (r == 0 && mdata_too_many(n0, o0, n1, o1, error_r))
		r = MDATA_ERR_TOOMANY;
	if (r < 0) {
		(void)exec(m, "ROLLBACK", NULL);
		return r;
	}
	return exec(m, "COMMIT", error_r);
}

bool
mdata_too_many(int64_t n0, int64_t o0, int64_t n1, int64_t o1,
    char **error_r)
{
	if ((n1 > MDATA_ENTRIES_MAX && n1 > n0) ||
	    (o1 > MDATA_OCTETS_MAX && o1 > o0)) {
		if (error_r != NULL)
			*error_r = xasprintf("Too many entries (at most %d, "
			    "%d octets in all)", MDATA_ENTRIES_MAX,
			    MDATA_OCTETS_MAX);
		return true;
	}
	return false;
}

/* Runs sql with text parameters a, b on root's metadata, if it has any. */
static int
change_mailboxes(const char *root, const char *sql, const char *a,
    const char *b, char **error_r)
{
	struct mdata *m;
	sqlite3_stmt *st;
	int r = mdata_open(root, false, &m, error_r), rc;

	if (r < 0 || m == NULL)
		return r;
	if (sqlite3_prepare_v2(m->db, sql, -1, &st, NULL) != SQLITE_OK) {
		r = db_fail(m->db, "prepare", error_r);
		mdata_close(&m);
		return r;
	}
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b != NULL)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		r = db_fail(m->db, "update", error_r);
	mdata_close(&m);
	return r;
}

int
mdata_mailbox_deleted(const char *root, const char *mailbox, char **error_r)
{
	return change_mailboxes(root, "DELETE FROM entries WHERE mailbox = ?1",
	    mailbox, NULL, error_r);
}

int
mdata_mailbox_renamed(const char *root, const char *from, const char *to,
    char **error_r)
{
	/* Renaming INBOX moves its messages, not INBOX (RFC 9051 6.3.6). */
	if (strcmp(from, "INBOX") == 0)
		return 0;
	return change_mailboxes(root, "UPDATE OR REPLACE entries SET mailbox ="
	    " ?2 || substr(mailbox, length(?1) + 1) WHERE mailbox = ?1 OR "
	    "substr(mailbox, 1, length(?1) + 1) = ?1 || '/'", from, to,
	    error_r);
}
