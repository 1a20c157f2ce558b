/*
 * mailbox_acl_pg - folder ACLs (RFC 4314) on PostgreSQL (storage =
 * postgresql): the table acl(mailbox_id, ident, rights) of the schema
 * (pg/pg_schema.c), behind mailbox_acl.h's calls (mailbox_acl.c
 * dispatches here when mbox_on_pg()). Same answers as the SQLite file:
 * entries sorted by identifier, effective rights positive minus
 * negative, shares by owner then folder, at most MBOX_ACL_SHARES_MAX.
 *
 * Differences that follow from keying by the folder's id instead of its
 * name: a RENAME needs nothing (pg_ms_rename keeps the ids of the folder
 * and its children), DELETE drops the rows by ON DELETE CASCADE (drop
 * is still honoured), and a right on a folder that does not exist
 * cannot be stored (MBOX_ERR_NONEXISTENT; SETACL checks existence
 * first anyway). Deleting an account takes its ACL rows along.
 *
 * Across nodes there is no in-memory serial to keep: mbox_acl_serial()
 * changes at every call on PostgreSQL, so a session re-reads its rights
 * at each check (mailbox_acl.c).
 *
 * Trust: the owner is a canonical address from the accounts snapshot,
 * the folder a valid store name, the identifier checked by the IMAP
 * layer; all are query parameters. Rights strings read back are parsed
 * (a damaged one grants nothing). BLOCKING: workers only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/pg_conn.h"
#include "store/mailbox.h"
#include "store/mailbox_acl_int.h"
#include "store/mailbox_int.h"
#include "util/xmalloc.h"

/* The owner's folder by name: its mailboxes row. */
#define FOLDER_JOIN \
    "acl a JOIN mailboxes m ON m.id = a.mailbox_id " \
    "JOIN users u ON u.id = m.user_id "
#define FOLDER_IS \
    "tem_fold(u.address) = tem_fold($1) AND m.name = $2"

static int
fail(enum pg_rc rc, char **pg_err, char **error_r)
{
	mbox_error(error_r, "ACL database: %s", *pg_err ? *pg_err : "?");
	XFREE(pg_err);
	return rc == PG_UNAVAILABLE ? MBOX_ERR_UNAVAILABLE : MBOX_ERR_TEMP;
}

int
mbox_acl_pg_get(const char *owner, const char *folder,
    struct mbox_acl_entry **list_r, size_t *n_r, char **error_r)
{
	PGresult *res = NULL;
	char *err = NULL;
	enum pg_rc rc;
	int n;

	*list_r = NULL;
	*n_r = 0;
	/* COLLATE "C": byte order, as SQLite's */
	rc = pg_query(&res, &err, "SELECT a.ident, a.rights FROM "
	    FOLDER_JOIN "WHERE " FOLDER_IS " ORDER BY a.ident COLLATE \"C\"",
	    2, owner, folder);
	if (rc != PG_OK)
		return fail(rc, &err, error_r);
	n = PQntuples(res);
	if (n > 0)
		*list_r = xcalloc((size_t)n, sizeof(**list_r));
	for (int i = 0; i < n; i++) {
		(*list_r)[i].ident = xstrdup(PQgetvalue(res, i, 0));
		(*list_r)[i].rights = mbox_acl_stored(PQgetvalue(res, i, 1));
	}
	*n_r = (size_t)n;
	PQclear(res);
	return 0;
}

struct set {
	const char	*owner, *folder, *ident;
	unsigned	 rights;
	int		 r;		/* MBOX_ERR_* of the body's refusal */
};

static enum pg_rc
set_tx(void *arg, char **error_r)
{
	struct set *s = arg;
	char str[MBOX_ACL_STR_MAX], *id = NULL, *others = NULL;
	enum pg_rc rc;

	/* the folder row locked: SETACLs of one folder count in turn */
	rc = pg_query_value(&id, error_r, "SELECT m.id FROM mailboxes m "
	    "JOIN users u ON u.id = m.user_id WHERE tem_fold(u.address) = "
	    "tem_fold($1) AND m.name = $2 FOR NO KEY UPDATE OF m", 2,
	    s->owner, s->folder);
	if (rc != PG_OK)
		return rc;
	if (id == NULL) {
		if (s->rights == 0)
			return PG_OK;	/* nothing stored, nothing to remove */
		s->r = MBOX_ERR_NONEXISTENT;
		return PG_ERROR;
	}
	if (s->rights == 0) {
		rc = pg_query(NULL, error_r, "DELETE FROM acl WHERE "
		    "mailbox_id = $1 AND ident = $2", 2, id, s->ident);
		free(id);
		return rc;
	}
	rc = pg_query_value(&others, error_r, "SELECT count(*) FROM acl "
	    "WHERE mailbox_id = $1 AND ident <> $2", 2, id, s->ident);
	if (rc == PG_OK && others != NULL &&
	    atoi(others) >= MBOX_ACL_IDENTS_MAX) {
		s->r = MBOX_ERR_LIMIT;
		rc = PG_ERROR;
	} else if (rc == PG_OK) {
		mbox_acl_format_stored(s->rights, str);
		rc = pg_query(NULL, error_r, "INSERT INTO acl (mailbox_id, "
		    "ident, rights) VALUES ($1, $2, $3) ON CONFLICT "
		    "(mailbox_id, ident) DO UPDATE SET rights = "
		    "excluded.rights", 3, id, s->ident, str);
	}
	free(others);
	free(id);
	return rc;
}

int
mbox_acl_pg_set(const char *owner, const char *folder, const char *ident,
    unsigned rights, char **error_r)
{
	struct set s = { owner, folder, ident, rights, 0 };
	char *err = NULL;
	enum pg_rc rc = pg_tx(set_tx, &s, &err);

	if (rc == PG_OK)
		return 0;
	if (s.r == MBOX_ERR_LIMIT) {
		free(err);
		mbox_error(error_r, "At most %d identifiers per folder",
		    MBOX_ACL_IDENTS_MAX);
		return s.r;
	}
	if (s.r == MBOX_ERR_NONEXISTENT) {
		free(err);
		mbox_error(error_r, "Mailbox does not exist");
		return s.r;
	}
	return fail(rc, &err, error_r);
}

int
mbox_acl_pg_rights(const char *owner, const char *folder, const char *user,
    unsigned *rights_r, char **error_r)
{
	struct mbox_acl_posneg pn = { 0, 0 };
	PGresult *res = NULL;
	char *err = NULL;
	enum pg_rc rc;

	*rights_r = 0;
	rc = pg_query(&res, &err, "SELECT a.ident, a.rights FROM "
	    FOLDER_JOIN "WHERE " FOLDER_IS " AND a.ident IN ($3, $4, "
	    "'-' || $3, '-' || $4)", 4, owner, folder, user,
	    MBOX_ACL_ANYONE);
	if (rc != PG_OK)
		return fail(rc, &err, error_r);
	for (int i = 0; i < PQntuples(res); i++)
		mbox_acl_posneg_add(&pn, PQgetvalue(res, i, 0),
		    PQgetvalue(res, i, 1));
	PQclear(res);
	*rights_r = pn.pos & ~pn.neg;
	return 0;
}

int
mbox_acl_pg_shared_with(const char *user, struct mbox_acl_share **list_r,
    size_t *n_r, char **error_r)
{
	struct mbox_acl_shares l = { NULL, NULL, 0, 0, 0 };
	PGresult *res = NULL;
	char *err = NULL, limit[16];
	enum pg_rc rc;

	/* a folder has at most 4 such rows (user, anyone, and their "-"):
	   the first MBOX_ACL_SHARES_MAX folders are within 4 times that */
	snprintf(limit, sizeof(limit), "%d", 4 * MBOX_ACL_SHARES_MAX + 4);
	rc = pg_query(&res, &err, "SELECT u.address, m.name, a.ident, "
	    "a.rights FROM " FOLDER_JOIN "WHERE a.ident IN ($1, $2, "
	    "'-' || $1, '-' || $2) AND u.address <> $1 ORDER BY u.address "
	    "COLLATE \"C\", m.name COLLATE \"C\" LIMIT $3", 3, user,
	    MBOX_ACL_ANYONE, limit);
	if (rc != PG_OK) {
		*list_r = NULL;
		*n_r = 0;
		return fail(rc, &err, error_r);
	}
	for (int i = 0; i < PQntuples(res); i++)
		if (!mbox_acl_shares_row(&l, PQgetvalue(res, i, 0),
		    PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
		    PQgetvalue(res, i, 3)))
			break;
	PQclear(res);
	mbox_acl_shares_end(&l, 0, list_r, n_r);
	return 0;
}

int
mbox_acl_pg_drop(const char *owner, const char *folder, char **error_r)
{
	char *err = NULL;
	enum pg_rc rc = pg_query(NULL, &err, "DELETE FROM acl a USING "
	    "mailboxes m, users u WHERE m.id = a.mailbox_id AND u.id = "
	    "m.user_id AND " FOLDER_IS, 2, owner, folder);

	return rc == PG_OK ? 0 : fail(rc, &err, error_r);
}
