/*
 * resolve_pg - the accounts snapshot (resolve.h) loaded from PostgreSQL
 * (storage = postgresql): what a node's server will call at start and
 * after each tem_accounts notification or listener resync.
 *
 * One REPEATABLE READ, READ ONLY transaction, so the serial and the rows
 * are one consistent picture even while another node changes accounts.
 *
 * Trust: the rows are the administrator's (accounts_pg.c checked them);
 * blocking: a worker or the main thread (pg_conn.h).
 */
#include <stdlib.h>
#include <string.h>

#include "auth/resolve.h"
#include "auth/resolve_int.h"
#include "pg/pg_conn.h"
#include "util/xmalloc.h"

/* Runs sql and hands each row to fn. */
static enum pg_rc
each_row(struct acct_snapshot *s, const char *sql,
    void (*fn)(struct acct_snapshot *, PGresult *, int), char **error_r)
{
	PGresult *res;
	enum pg_rc rc = pg_query(&res, error_r, sql, 0);

	if (rc != PG_OK)
		return rc;
	for (int i = 0; i < PQntuples(res); i++)
		fn(s, res, i);
	PQclear(res);
	return PG_OK;
}

static void
row_serial(struct acct_snapshot *s, PGresult *r, int i)
{
	acct_snapshot_set_serial(s, strtoull(PQgetvalue(r, i, 0), NULL, 10));
}

static void
row_domain(struct acct_snapshot *s, PGresult *r, int i)
{
	acct_snapshot_add_domain(s, PQgetvalue(r, i, 0));
}

/* address, domain, hash, quota_storage, quota_messages */
static void
row_user(struct acct_snapshot *s, PGresult *r, int i)
{
	const char *addr = PQgetvalue(r, i, 0), *at = strrchr(addr, '@');
	char *lp = xstrndup(addr, at != NULL ? (size_t)(at - addr) :
	    strlen(addr));

	acct_snapshot_add_user(s, addr, PQgetvalue(r, i, 1), lp,
	    PQgetvalue(r, i, 2));
	free(lp);
	if (!PQgetisnull(r, i, 3))
		acct_snapshot_set_quota(s, addr,
		    strtoull(PQgetvalue(r, i, 3), NULL, 10),
		    strtoull(PQgetvalue(r, i, 4), NULL, 10));
}

static void
row_alias(struct acct_snapshot *s, PGresult *r, int i)
{
	acct_snapshot_add_alias(s, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
}

static void
row_first_user(struct acct_snapshot *s, PGresult *r, int i)
{
	acct_snapshot_set_first_user_any(s, PQgetvalue(r, i, 0));
}

/* pg_tx body: *(snapshot **)arg gets a new snapshot (a retry starts
 * over). */
static enum pg_rc
load(void *arg, char **error_r)
{
	struct acct_snapshot **sp = arg, *s;
	enum pg_rc rc;

	acct_snapshot_unref(sp);
	s = *sp = acct_snapshot_new();
	rc = pg_query(NULL, error_r, "SET TRANSACTION ISOLATION LEVEL "
	    "REPEATABLE READ, READ ONLY", 0);
	if (rc == PG_OK)
		rc = each_row(s, "SELECT serial FROM accounts_serial",
		    row_serial, error_r);
	if (rc == PG_OK)	/* in added order: the first is the default */
		rc = each_row(s, "SELECT name FROM domains ORDER BY added, "
		    "name", row_domain, error_r);
	if (rc == PG_OK)
		rc = each_row(s, "SELECT address, domain, hash, quota_storage, "
		    "quota_messages FROM users ORDER BY id", row_user,
		    error_r);
	if (rc == PG_OK)
		rc = each_row(s, "SELECT address, array_to_string(targets, "
		    "',') FROM aliases", row_alias, error_r);
	if (rc == PG_OK)
		rc = each_row(s, "SELECT u.address FROM users u JOIN domains d "
		    "ON u.domain = d.name ORDER BY d.added, d.name, u.id "
		    "LIMIT 1", row_first_user, error_r);
	return rc;
}

struct acct_snapshot *
acct_snapshot_load_pg(char **error_r)
{
	struct acct_snapshot *s = NULL;

	if (pg_tx(load, &s, error_r) != PG_OK) {
		acct_snapshot_unref(&s);
		return NULL;
	}
	return s;
}
