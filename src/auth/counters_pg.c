/*
 * counters_pg - shared abuse counters on PostgreSQL (contract:
 * counters_pg.h). One UPSERT an event; the SET expressions see the old
 * row, so "is the window over" is judged once and used for both columns.
 *
 * Trust: keys are client addresses and user names (from the network):
 * bound as parameters, never spliced, their length checked first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/authfail.h"
#include "auth/counters_pg.h"
#include "pg/pg_conn.h"
#include "util/xmalloc.h"

#define STR_(x)	#x
#define STR(x)	STR_(x)

/* The old row's window is over: a new one starts. $3: window seconds. */
#define RATE_OVER "c.window_start <= now() - make_interval(secs => $3)"

static const char take_sql[] =
    "INSERT INTO counters AS c (key, window_start, count) "
    "VALUES ($1, now(), $2) ON CONFLICT (key) DO UPDATE SET "
    "count = CASE WHEN " RATE_OVER " THEN $2 ELSE c.count + $2 END, "
    "window_start = CASE WHEN " RATE_OVER " THEN now() "
    "ELSE c.window_start END "
    "WHERE " RATE_OVER " OR c.count + $2 <= $4 RETURNING count";

/* An authfail row is over: a window without a lock-out ended, or the
 * lock-out did. */
#define AF_OVER(t) "((" t ".count < " STR(AUTHFAIL_LOCK_COUNT) " AND " \
	t ".window_start < now() - interval '" STR(AUTHFAIL_WINDOW) " s') " \
	"OR (" t ".count >= " STR(AUTHFAIL_LOCK_COUNT) " AND " t \
	".window_start <= now() - interval '" STR(AUTHFAIL_LOCK_SECONDS) " s'))"

static const char fail_sql[] =
    "INSERT INTO counters AS c (key, window_start, count) "
    "VALUES ($1, now(), 1) ON CONFLICT (key) DO UPDATE SET "
    "count = CASE WHEN " AF_OVER("c") " THEN 1 ELSE c.count + 1 END, "
    "window_start = CASE WHEN " AF_OVER("c") " OR c.count + 1 >= "
    STR(AUTHFAIL_LOCK_COUNT) " THEN now() ELSE c.window_start END "
    "RETURNING count";

static const char state_sql[] =
    "SELECT CASE WHEN " AF_OVER("c") " THEN 0 ELSE c.count END, "
    "NOT " AF_OVER("c") " AND c.count >= " STR(AUTHFAIL_LOCK_COUNT)
    " FROM counters c WHERE key = $1";

/* "prefix" + key (malloc'd), or NULL with *error_r when too long. */
static char *
make_key(const char *prefix, const char *key, char **error_r)
{
	if (strlen(key) > COUNTERS_PG_KEY_MAX) {
		*error_r = xasprintf("counter key longer than %d octets",
		    COUNTERS_PG_KEY_MAX);
		return NULL;
	}
	return xasprintf("%s%s", prefix, key);
}

static unsigned
delay_of(long count)
{
	unsigned long d = count > 0 ? (unsigned long)count *
	    AUTHFAIL_DELAY_STEP_MS : 0;

	return d > AUTHFAIL_DELAY_MAX_MS ? AUTHFAIL_DELAY_MAX_MS : (unsigned)d;
}

int
counters_pg_take(const char *key, unsigned n, unsigned max,
    unsigned window, char **error_r)
{
	char *k, *v = NULL, sn[16], sw[16], sm[16];
	enum pg_rc rc;
	bool taken;

	if (max == 0)
		return 1;
	if (n > max)
		return 0;
	if ((k = make_key("rate:", key, error_r)) == NULL)
		return -1;
	snprintf(sn, sizeof(sn), "%u", n);
	snprintf(sw, sizeof(sw), "%u", window);
	snprintf(sm, sizeof(sm), "%u", max);
	rc = pg_query_value(&v, error_r, take_sql, 4, k, sn, sw, sm);
	free(k);
	taken = v != NULL;	/* no row: the WHERE refused the update */
	free(v);
	return rc != PG_OK ? -1 : taken;
}

int
counters_pg_authfail_record(const char *ip, unsigned *delay_r,
    char **error_r)
{
	char *k, *v = NULL;
	enum pg_rc rc;

	if ((k = make_key("authfail:", ip, error_r)) == NULL)
		return -1;
	rc = pg_query_value(&v, error_r, fail_sql, 1, k);
	free(k);
	if (rc != PG_OK)
		return -1;
	*delay_r = delay_of(v != NULL ? strtol(v, NULL, 10) : 0);
	free(v);
	return 0;
}

int
counters_pg_authfail_state(const char *ip, bool *locked_r,
    unsigned *delay_r, char **error_r)
{
	PGresult *res = NULL;
	char *k;
	enum pg_rc rc;

	*locked_r = false;
	*delay_r = 0;
	if ((k = make_key("authfail:", ip, error_r)) == NULL)
		return -1;
	rc = pg_query(&res, error_r, state_sql, 1, k);
	free(k);
	if (rc != PG_OK)
		return -1;
	if (PQntuples(res) > 0) {
		*delay_r = delay_of(strtol(PQgetvalue(res, 0, 0), NULL, 10));
		*locked_r = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	}
	PQclear(res);
	return 0;
}

long
counters_pg_purge(unsigned older_than, unsigned limit, char **error_r)
{
	PGresult *res = NULL;
	char so[16], sl[16];
	long n;

	snprintf(so, sizeof(so), "%u", older_than);
	snprintf(sl, sizeof(sl), "%u", limit);
	/* no index on window_start: the scan stops after limit rows found,
	 * and the table holds only live abusers and senders */
	if (pg_query(&res, error_r, "DELETE FROM counters WHERE ctid = "
	    "ANY(ARRAY(SELECT ctid FROM counters WHERE window_start < now() - "
	    "make_interval(secs => $1) LIMIT $2))", 2, so, sl) != PG_OK)
		return -1;
	n = strtol(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return n;
}
