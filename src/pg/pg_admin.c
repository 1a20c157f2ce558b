/*
 * pg_admin - `tem db status|init|upgrade` against PostgreSQL (see
 * pg_admin.h).
 *
 * Concurrency: every step that reads or changes the schema version runs
 * in a transaction begun after taking the session advisory lock
 * (pg_advisory_lock) and released after its end, so nodes upgrading
 * together apply each migration once; the version is re-read under the
 * lock before a migration runs. The lock is taken before BEGIN, not
 * inside the transaction: a transaction that waited for it inside could
 * look the catalog up through a snapshot from before the other node's
 * commit (advisory locks do not process catalog invalidations) and try
 * to create tem_schema a second time.
 *
 * Trust: run by the administrator; errors come back as text.
 */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "pg/pg_admin.h"
#include "pg/pg_schema.h"
#include "util/xmalloc.h"

/* The server's message without its trailing newline. */
static char *
conn_error(PGconn *pg, const char *what)
{
	const char *m = PQerrorMessage(pg);
	size_t n = strlen(m);

	while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' '))
		n--;
	return xasprintf("postgresql: %s: %.*s", what, (int)n, m);
}

static PGconn *
connect_dsn(const char *dsn, char **error_r)
{
	PGconn *pg;
	PGresult *r;

	if (dsn == NULL || *dsn == '\0') {
		*error_r = xstrdup("postgresql_dsn is not set in the config");
		return NULL;
	}
	pg = PQconnectdb(dsn);
	if (pg == NULL) {
		*error_r = xstrdup("postgresql: out of memory");
		return NULL;
	}
	if (PQstatus(pg) != CONNECTION_OK) {
		*error_r = conn_error(pg, "connect");
		PQfinish(pg);
		return NULL;
	}
	/* NOTICEs ("relation already exists, skipping") are not news. */
	r = PQexec(pg, "SET client_min_messages = warning");
	PQclear(r);
	return pg;
}

/* Runs sql (no result rows wanted). */
static int
exec_ok(PGconn *pg, const char *sql, const char *what, char **error_r)
{
	PGresult *r = PQexec(pg, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK;

	PQclear(r);
	if (!ok)
		*error_r = conn_error(pg, what);
	return ok ? 0 : -1;
}

/* Takes the schema lock, then begins a transaction (see the top). */
static int
begin_locked(PGconn *pg, char **error_r)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT pg_advisory_lock(%lld)",
	    (long long)PG_SCHEMA_LOCK_KEY);
	if (exec_ok(pg, sql, "schema lock", error_r) < 0)
		return -1;
	return exec_ok(pg, "BEGIN", "begin", error_r);
}

/* Ends the transaction with end ("COMMIT" or "ROLLBACK") and lets the
 * schema lock go (also after a failed COMMIT). */
static int
end_locked(PGconn *pg, const char *end, char **error_r)
{
	char sql[128];
	int rc = exec_ok(pg, end, "commit", error_r);

	snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%lld)",
	    (long long)PG_SCHEMA_LOCK_KEY);
	PQclear(PQexec(pg, sql));
	return rc;
}

/* Inside a begin_locked transaction: makes sure tem_schema exists when
 * create, and reads the version (0: none). *existed_r says whether
 * tem_schema was there before. */
static int
locked_version(PGconn *pg, int create, int *existed_r, int *version_r,
    char **error_r)
{
	PGresult *r;

	r = PQexec(pg, "SELECT to_regclass('tem_schema') IS NOT NULL");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		PQclear(r);
		*error_r = conn_error(pg, "reading the schema");
		return -1;
	}
	*existed_r = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	if (!*existed_r) {
		*version_r = 0;
		if (!create)
			return 0;
		return exec_ok(pg, "CREATE TABLE tem_schema ("
		    " version integer PRIMARY KEY,"
		    " what text NOT NULL,"
		    " applied timestamptz NOT NULL DEFAULT now())",
		    "creating tem_schema", error_r);
	}
	r = PQexec(pg, "SELECT coalesce(max(version), 0) FROM tem_schema");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		PQclear(r);
		*error_r = conn_error(pg, "reading the schema version");
		return -1;
	}
	*version_r = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

int
pg_admin_status(const char *dsn, struct pg_admin_status *st, char **error_r)
{
	PGconn *pg = connect_dsn(dsn, error_r);
	int existed, v, rc;

	memset(st, 0, sizeof(*st));
	if (pg == NULL)
		return -1;
	v = PQserverVersion(pg);
	st->server = xasprintf("%d.%d", v / 10000, v % 10000);
	st->latest = pg_schema_latest();
	rc = begin_locked(pg, error_r);
	if (rc == 0)
		rc = locked_version(pg, 0, &existed, &st->version, error_r);
	if (rc == 0)
		rc = end_locked(pg, "COMMIT", error_r);
	PQfinish(pg);
	if (rc < 0) {
		free(st->server);
		st->server = NULL;
	}
	return rc;
}

/* Applies migration m if the version under the lock says it is due.
 * 1 applied, 0 already there, -1 error (rolled back). */
static int
apply_one(PGconn *pg, const struct pg_migration *m, char **error_r)
{
	const char *vals[2];
	char vbuf[16];
	PGresult *r;
	int existed, v;

	if (begin_locked(pg, error_r) < 0)
		return -1;
	if (locked_version(pg, 1, &existed, &v, error_r) < 0)
		goto fail;
	if (v >= m->version)
		return end_locked(pg, "COMMIT", error_r) < 0 ? -1 : 0;
	if (v != m->version - 1) {
		*error_r = xasprintf("schema version %d cannot take migration "
		    "%d", v, m->version);
		goto fail;
	}
	if (exec_ok(pg, m->sql, "migration", error_r) < 0) {
		char *e = xasprintf("%s (migration %d)", *error_r, m->version);
		free(*error_r);
		*error_r = e;
		goto fail;
	}
	snprintf(vbuf, sizeof(vbuf), "%d", m->version);
	vals[0] = vbuf;
	vals[1] = m->what;
	r = PQexecParams(pg, "INSERT INTO tem_schema(version, what) "
	    "VALUES ($1::integer, $2)", 2, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		PQclear(r);
		*error_r = conn_error(pg, "recording the version");
		goto fail;
	}
	PQclear(r);
	if (end_locked(pg, "COMMIT", error_r) < 0)
		return -1;
	return 1;
fail: {
	char *ignored = NULL;	/* the first error is the one to report */

	end_locked(pg, "ROLLBACK", &ignored);
	free(ignored);
	return -1;
}
}

int
pg_admin_migrate(const char *dsn, int init, FILE *out, char **error_r)
{
	PGconn *pg = connect_dsn(dsn, error_r);
	int existed, v, applied = 0, latest = pg_schema_latest();
	/* Tests only: stop at an older version, so that a test can make
	   the database an older tem made and prove the upgrade from it. */
	const char *to = getenv("TEM_TEST_PG_SCHEMA_TO");
	int stop = to != NULL && atoi(to) > 0 ? atoi(to) : latest;

	if (pg == NULL)
		return -1;
	/* The first look, under the lock: init and upgrade disagree on
	   what they may start from. */
	if (begin_locked(pg, error_r) < 0 ||
	    locked_version(pg, 0, &existed, &v, error_r) < 0 ||
	    end_locked(pg, "COMMIT", error_r) < 0)
		goto fail;
	if (init && existed && v > 0) {
		*error_r = xasprintf("the database already holds a tem schema "
		    "(version %d); use tem db upgrade", v);
		goto fail;
	}
	if (!init && (!existed || v == 0)) {
		*error_r = xstrdup("the database holds no tem schema; run tem "
		    "db init first");
		goto fail;
	}
	if (v > latest) {
		*error_r = xasprintf("the database schema (version %d) is "
		    "newer than this tem knows (%d): upgrade tem", v, latest);
		goto fail;
	}
	for (const struct pg_migration *m = pg_migrations; m->sql; m++) {
		int rc;
		if (m->version <= v || m->version > stop)
			continue;
		rc = apply_one(pg, m, error_r);
		if (rc < 0)
			goto fail;
		if (rc > 0) {
			applied++;
			if (out)
				fprintf(out, "applied migration %d: %s\n",
				    m->version, m->what);
		}
	}
	PQfinish(pg);
	return applied;
fail:
	PQfinish(pg);
	return -1;
}
