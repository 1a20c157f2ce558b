/*
 * test-pg-sql - SQL one-liners for the PostgreSQL unit tests
 * (src/pg/test-pg-*.c): run a statement, read one value, compare it.
 * Failures are shown on stderr with the statement. Include once, after
 * pg/pg_conn.h and util/xmalloc.h.
 */
#ifndef TEM_TEST_PG_SQL_H
#define TEM_TEST_PG_SQL_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs sql; a failure is shown. */
static inline enum pg_rc
q(const char *sql)
{
	char *err = NULL;
	enum pg_rc rc = pg_query(NULL, &err, sql, 0);

	if (rc != PG_OK)
		fprintf(stderr, "  (%s: %s)\n", sql, err);
	free(err);
	return rc;
}

/* The one value of sql ($1 = p1 unless NULL), malloc'd: "" for no row,
 * "?" on failure. */
static inline char *
value(const char *sql, const char *p1)
{
	char *v = NULL, *err = NULL;

	if (pg_query_value(&v, &err, sql, p1 ? 1 : 0, p1) != PG_OK) {
		fprintf(stderr, "  (%s: %s)\n", sql, err);
		free(err);
		return xstrdup("?");
	}
	return v != NULL ? v : xstrdup("");
}

/* sql's one value is want. */
static inline bool
value_is(const char *sql, const char *p1, const char *want)
{
	char *v = value(sql, p1);
	bool ok = strcmp(v, want) == 0;

	if (!ok)
		fprintf(stderr, "  %s: got '%s', want '%s'\n", sql, v, want);
	free(v);
	return ok;
}

#endif
