/*
 * metadata_pg - IMAP METADATA entries (RFC 5464) on PostgreSQL (storage
 * = postgresql): the rows mailbox_metadata(user_id, mailbox, entry,
 * value) of the schema (pg/pg_schema.c) behind metadata.h, and the
 * calls by mbox_user that pick the backend for the IMAP layer.
 *
 * The same answers and limits as the SQLite file (metadata.c): a GET
 * reads the mailbox's entries in byte order (COLLATE "C", as SQLite)
 * and filters them with the same mdata_wanted; a SET is one transaction
 * that first locks the user's row (FOR NO KEY UPDATE: SETs of one user
 * are serial across nodes, deliveries' key-share locks not blocked),
 * counts, writes, counts again and rolls back past a limit
 * (mdata_too_many). Server entries are mailbox "". Values go and come as
 * binary bytea (no hex text). Deleting an account takes its rows along.
 * Each entry SET sends a 'tem_user' "M" NOTIFY in the transaction
 * (pg_ms_notify_user): IMAP NOTIFY on every node hears it.
 *
 * Trust: mailbox and entry names were validated by the IMAP layer, the
 * user id is the store's; all are query parameters. BLOCKING: workers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/pg_conn.h"
#include "pg/pg_mailstore.h"
#include "store/mailbox.h"
#include "store/metadata_int.h"
#include "util/xmalloc.h"

/* A users.id as a query parameter. */
struct num {
	char	s[24];
};

static const char *
num(struct num *n, int64_t v)
{
	snprintf(n->s, sizeof(n->s), "%lld", (long long)v);
	return n->s;
}

static int
fail(enum pg_rc rc, char *err, char **error_r)
{
	if (error_r != NULL)
		*error_r = xasprintf("metadata: %s", err ? err : "?");
	free(err);
	return rc == PG_UNAVAILABLE ? MDATA_ERR_UNAVAILABLE : MDATA_ERR_TEMP;
}

struct mdata *
mdata_pg_open(int64_t user_id)
{
	struct mdata *m = xcalloc(1, sizeof(*m));

	m->pg_user = user_id;
	return m;
}

int
mdata_pg_get(struct mdata *m, const char *mailbox, const char *const *want,
    size_t n_want, int depth, struct mdata_entry **list_r, size_t *n_r,
    char **error_r)
{
	struct num u;
	const char *p[] = { num(&u, m->pg_user), mailbox };
	PGresult *res = NULL;
	char *err = NULL, *name;
	size_t cap = 0;
	enum pg_rc rc;

	/* binary results (both columns bytea): the values as they are */
	rc = pg_query_bin(&res, &err, "SELECT convert_to(entry, 'UTF8'), "
	    "value FROM mailbox_metadata WHERE user_id = $1 AND mailbox = $2 "
	    "ORDER BY entry COLLATE \"C\"", 2, p, NULL, true);
	if (rc != PG_OK)
		return fail(rc, err, error_r);
	for (int i = 0; i < PQntuples(res); i++) {
		name = xstrndup(PQgetvalue(res, i, 0),
		    (size_t)PQgetlength(res, i, 0));
		if (mdata_wanted(name, want, n_want, depth))
			mdata_entry_push(list_r, n_r, &cap, name,
			    PQgetvalue(res, i, 1),
			    (size_t)PQgetlength(res, i, 1));
		free(name);
	}
	PQclear(res);
	return 0;
}

struct set {
	int64_t				 user_id;
	const char			*user, *mailbox;
	const struct mdata_change	*changes;
	size_t				 n;
	bool				 too_many;
	char				*too_many_err;
};

/* The user's entry count and value octets. */
static enum pg_rc
totals(const char *user, int64_t *count_r, int64_t *octets_r,
    char **error_r)
{
	PGresult *res = NULL;
	enum pg_rc rc = pg_query(&res, error_r, "SELECT count(*), "
	    "coalesce(sum(octet_length(value)), 0) FROM mailbox_metadata "
	    "WHERE user_id = $1", 1, user);

	if (rc != PG_OK)
		return rc;
	*count_r = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	*octets_r = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	return PG_OK;
}

static enum pg_rc
apply(const struct set *s, const struct mdata_change *c, char **error_r)
{
	const char *p[] = { s->user, s->mailbox, c->entry, c->value };
	const int lens[] = { -1, -1, -1, (int)c->len };

	if (c->value == NULL)
		return pg_query(NULL, error_r, "DELETE FROM mailbox_metadata "
		    "WHERE user_id = $1 AND mailbox = $2 AND entry = $3", 3,
		    s->user, s->mailbox, c->entry);
	return pg_query_bin(NULL, error_r, "INSERT INTO mailbox_metadata "
	    "(user_id, mailbox, entry, value) VALUES ($1, $2, $3, $4::bytea) "
	    "ON CONFLICT (user_id, mailbox, entry) DO UPDATE SET value = "
	    "excluded.value", 4, p, lens, false);
}

static enum pg_rc
set_tx(void *arg, char **error_r)
{
	struct set *s = arg;
	int64_t n0, o0, n1, o1;
	enum pg_rc rc;

	rc = pg_query(NULL, error_r, "SELECT 1 FROM users WHERE id = $1 "
	    "FOR NO KEY UPDATE", 1, s->user);
	if (rc == PG_OK)
		rc = totals(s->user, &n0, &o0, error_r);
	for (size_t i = 0; rc == PG_OK && i < s->n; i++) {
		rc = apply(s, &s->changes[i], error_r);
		if (rc == PG_OK)	/* IMAP NOTIFY, at the commit */
			rc = pg_ms_notify_user(s->user_id, 'M', s->mailbox,
			    s->changes[i].entry, error_r);
	}
	if (rc == PG_OK)
		rc = totals(s->user, &n1, &o1, error_r);
	XFREE(&s->too_many_err);
	if (rc == PG_OK && (s->too_many = mdata_too_many(n0, o0, n1, o1,
	    &s->too_many_err)))
		rc = PG_ERROR;	/* rolled back */
	return rc;
}

int
mdata_pg_set(struct mdata *m, const char *mailbox,
    const struct mdata_change *changes, size_t n, char **error_r)
{
	struct num u;
	struct set s = { m->pg_user, num(&u, m->pg_user), mailbox, changes,
	    n, false, NULL };
	char *err = NULL;
	enum pg_rc rc = pg_tx(set_tx, &s, &err);

	if (s.too_many) {
		free(err);
		if (error_r != NULL)
			*error_r = s.too_many_err;
		else
			free(s.too_many_err);
		return MDATA_ERR_TOOMANY;
	}
	free(s.too_many_err);
	return rc == PG_OK ? 0 : fail(rc, err, error_r);
}

int
mdata_pg_mailbox_deleted(int64_t user_id, const char *mailbox,
    char **error_r)
{
	struct num u;
	char *err = NULL;
	enum pg_rc rc = pg_query(NULL, &err, "DELETE FROM mailbox_metadata "
	    "WHERE user_id = $1 AND mailbox = $2", 2, num(&u, user_id),
	    mailbox);

	return rc == PG_OK ? 0 : fail(rc, err, error_r);
}

struct rename {
	const char	*user, *from, *to;
};

/* The folder and its children ("from/...") move; an entry already at a
 * new name is replaced, as SQLite's UPDATE OR REPLACE does. */
static enum pg_rc
rename_tx(void *arg, char **error_r)
{
	struct rename *r = arg;
	enum pg_rc rc;

	rc = pg_query(NULL, error_r, "DELETE FROM mailbox_metadata d USING "
	    "mailbox_metadata s WHERE s.user_id = $1 AND d.user_id = $1 AND "
	    "(s.mailbox = $2 OR left(s.mailbox, length($2) + 1) = $2 || '/') "
	    "AND d.mailbox = $3 || substr(s.mailbox, length($2) + 1) AND "
	    "d.entry = s.entry", 3, r->user, r->from, r->to);
	if (rc == PG_OK)
		rc = pg_query(NULL, error_r, "UPDATE mailbox_metadata SET "
		    "mailbox = $3 || substr(mailbox, length($2) + 1) WHERE "
		    "user_id = $1 AND (mailbox = $2 OR left(mailbox, "
		    "length($2) + 1) = $2 || '/')", 3, r->user, r->from,
		    r->to);
	return rc;
}

int
mdata_pg_mailbox_renamed(int64_t user_id, const char *from, const char *to,
    char **error_r)
{
	struct num u;
	struct rename r = { num(&u, user_id), from, to };
	char *err = NULL;
	enum pg_rc rc;

	/* Renaming INBOX moves its messages, not INBOX (RFC 9051 6.3.6). */
	if (strcmp(from, "INBOX") == 0)
		return 0;
	rc = pg_tx(rename_tx, &r, &err);
	return rc == PG_OK ? 0 : fail(rc, err, error_r);
}

/* ---- by user: the backend of the store ---------------------------------- */

int
mdata_open_user(const struct mbox_user *u, bool create, struct mdata **m_r,
    char **error_r)
{
	if (!mbox_on_pg())
		return mdata_open(mbox_user_root(u), create, m_r, error_r);
	*m_r = mdata_pg_open(mbox_user_pg_id(u));
	return 0;
}

int
mdata_user_mailbox_deleted(const struct mbox_user *u, const char *mailbox,
    char **error_r)
{
	if (!mbox_on_pg())
		return mdata_mailbox_deleted(mbox_user_root(u), mailbox,
		    error_r);
	return mdata_pg_mailbox_deleted(mbox_user_pg_id(u), mailbox, error_r);
}

int
mdata_user_mailbox_renamed(const struct mbox_user *u, const char *from,
    const char *to, char **error_r)
{
	if (!mbox_on_pg())
		return mdata_mailbox_renamed(mbox_user_root(u), from, to,
		    error_r);
	return mdata_pg_mailbox_renamed(mbox_user_pg_id(u), from, to,
	    error_r);
}
