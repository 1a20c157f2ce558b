/*
 * mailbox_index_schema - the index's tables (tem-index.sqlite), its
 * integrity check and its schema migrations; the rest of the index is
 * mailbox_index.c.
 *
 * Trust: the file is ours but may be damaged or from another version;
 * anything not ours (no version, a newer one, a failed check) is reported
 * as SQLITE_CORRUPT and the caller rebuilds it from the Maildir.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "store/mailbox_int.h"
#include "util/log.h"

#define INDEX_VERSION	4	/* see migrations[] */

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, "
    "  value INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS folders(id INTEGER PRIMARY KEY, "
    "  dir TEXT NOT NULL UNIQUE, uidvalidity INTEGER NOT NULL, "
    "  uidnext INTEGER NOT NULL, highestmodseq INTEGER NOT NULL, "
    "  vanished_floor INTEGER NOT NULL DEFAULT 0, "
    "  special_use INTEGER NOT NULL DEFAULT 0, "
    "  recent_uid INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS messages(folder INTEGER NOT NULL, "
    "  uid INTEGER NOT NULL, name TEXT NOT NULL, modseq INTEGER NOT NULL, "
    "  size INTEGER NOT NULL, idate INTEGER NOT NULL, "
    "  innew INTEGER NOT NULL DEFAULT 0, "
    "  savedate INTEGER, "
    "  PRIMARY KEY(folder, uid)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS expunged(folder INTEGER NOT NULL, "
    "  uid INTEGER NOT NULL, modseq INTEGER NOT NULL, "
    "  PRIMARY KEY(folder, uid)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS expunged_modseq ON expunged(folder, modseq);"
    MBOX_HDRCACHE_SCHEMA;

/*
 * Schema migrations: migrations[v] turns a version-v index into version
 * v+1 (the schema above is already the newest, for a new file). Each runs
 * in one transaction with the version bump; an index newer than
 * INDEX_VERSION is not ours and is rebuilt.
 *   2: folders.recent_uid, the lowest UID no session has claimed as
 *      \Recent (RFC 3501): existing mail counts as already seen.
 *   3: messages.savedate (RFC 8514 SAVEDATE); NULL in old rows: the
 *      INTERNALDATE stands in.
 *   4: hdrcache, the header-field cache (mailbox_hdrcache.c); old
 *      messages get their rows when a reader first needs them.
 */
static const char *const migrations[INDEX_VERSION] = {
	[1] = "ALTER TABLE folders ADD COLUMN "
	    "  recent_uid INTEGER NOT NULL DEFAULT 0;"
	    "UPDATE folders SET recent_uid = uidnext;",
	[2] = "ALTER TABLE messages ADD COLUMN savedate INTEGER;",
	[3] = MBOX_HDRCACHE_SCHEMA,
};

static int
db_exec(struct mbox_md_user *u, const char *sql)
{
	return sqlite3_exec(u->db, sql, NULL, NULL, NULL);
}

bool
mbox_index_check(struct mbox_md_user *u, int *rc_r)
{
	sqlite3_stmt *st = NULL;
	bool ok = false;

	*rc_r = sqlite3_prepare_v2(u->db, "PRAGMA quick_check(1)", -1, &st,
	    NULL);
	if (*rc_r == SQLITE_OK) {
		*rc_r = sqlite3_step(st);
		ok = *rc_r == SQLITE_ROW && strcmp((const char *)
		    sqlite3_column_text(st, 0), "ok") == 0;
		if (*rc_r == SQLITE_ROW)
			*rc_r = ok ? SQLITE_OK : SQLITE_CORRUPT;
	}
	sqlite3_finalize(st);
	return ok;
}

int
mbox_index_schema(struct mbox_md_user *u)
{
	sqlite3_stmt *st;
	int64_t version = 0;
	bool fresh;
	char sql[96];
	int rc = db_exec(u, schema);

	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(u->db, "SELECT value FROM meta "
		    "WHERE key = 'version'", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	fresh = rc == SQLITE_DONE;
	if (rc == SQLITE_ROW)
		version = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return rc;
	if (fresh)
		version = INDEX_VERSION;	/* made by the schema above */
	else if (version < 1 || version > INDEX_VERSION)
		return SQLITE_CORRUPT;		/* not ours: rebuild */
	else if (version == INDEX_VERSION)
		return SQLITE_OK;
	if ((rc = db_exec(u, "BEGIN IMMEDIATE")) != SQLITE_OK)
		return rc;
	for (; version < INDEX_VERSION && rc == SQLITE_OK; version++) {
		log_info("- store index-migrate root=%s from=%lld", u->root,
		    (long long)version);
		rc = db_exec(u, migrations[version]);
	}
	snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO meta(key, value) "
	    "VALUES('version', %d)", INDEX_VERSION);
	if (rc == SQLITE_OK)
		rc = db_exec(u, sql);
	if (rc == SQLITE_OK)
		rc = db_exec(u, "COMMIT");
	if (rc != SQLITE_OK)
		db_exec(u, "ROLLBACK");
	return rc;
}
