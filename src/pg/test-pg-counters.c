/*
 * test-pg-counters - unit tests of the shared abuse counters on
 * PostgreSQL (auth/counters_pg.h). They need a live database with the
 * tem schema: TEM_TEST_PG_DSN names it; tests/integration/
 * test_pg_sieve.py starts one and runs this binary (tests/run.sh leaves
 * src/pg/test-pg-* out of its unit pass). Without it it fails. Time
 * passing is simulated by moving window_start back, never by waiting.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/authfail.h"
#include "auth/counters_pg.h"
#include "pg/pg_conn.h"
#include "util/test.h"
#include "util/xmalloc.h"

#include "pg/test-pg-sql.h"

static int
take(const char *key, unsigned n, unsigned max, unsigned window)
{
	char *err = NULL;
	int r = counters_pg_take(key, n, max, window, &err);

	if (r < 0)
		fprintf(stderr, "  take: %s\n", err);
	free(err);
	return r;
}

static void
test_take(void)
{
	TEST_ASSERT(take("u1", 3, 5, 60) == 1);
	TEST_ASSERT(take("u1", 2, 5, 60) == 1);
	TEST_ASSERT(take("u1", 1, 5, 60) == 0);		/* would pass max */
	TEST_ASSERT(take("u2", 1, 5, 60) == 1);		/* keys apart */
	TEST_ASSERT(take("u1", 6, 5, 60) == 0);
	TEST_ASSERT(take("u1", 1, 0, 60) == 1);		/* no limit */
	/* the window is over: a new one */
	TEST_ASSERT(q("UPDATE counters SET window_start = window_start - "
	    "interval '61 s' WHERE key = 'rate:u1'") == PG_OK);
	TEST_ASSERT(take("u1", 5, 5, 60) == 1);
	TEST_ASSERT(take("u1", 1, 5, 60) == 0);
}

/* Two threads taking one at a time from one key with max 100. */
static void *
taker(void *arg)
{
	int *taken = arg;

	for (int i = 0; i < 80; i++) {
		int r = take("shared", 1, 100, 3600);

		if (r < 0)
			return (void *)1;
		*taken += r;
	}
	pg_conn_close();
	return NULL;
}

static void
test_take_concurrent(void)
{
	pthread_t t1, t2;
	int a = 0, b = 0;
	void *r1, *r2;

	TEST_ASSERT(pthread_create(&t1, NULL, taker, &a) == 0);
	TEST_ASSERT(pthread_create(&t2, NULL, taker, &b) == 0);
	pthread_join(t1, &r1);
	pthread_join(t2, &r2);
	TEST_ASSERT(r1 == NULL && r2 == NULL);
	TEST_ASSERT(a + b == 100);
}

static void
test_authfail(void)
{
	char *err = NULL;
	unsigned delay = 0;
	bool locked = true;

	TEST_ASSERT(counters_pg_authfail_state("192.0.2.1", &locked, &delay,
	    &err) == 0 && !locked && delay == 0);
	for (int i = 1; i < AUTHFAIL_LOCK_COUNT; i++) {
		TEST_ASSERT(counters_pg_authfail_record("192.0.2.1", &delay,
		    &err) == 0);
		TEST_ASSERT(delay == (i * AUTHFAIL_DELAY_STEP_MS >
		    AUTHFAIL_DELAY_MAX_MS ? AUTHFAIL_DELAY_MAX_MS :
		    (unsigned)i * AUTHFAIL_DELAY_STEP_MS));
	}
	TEST_ASSERT(counters_pg_authfail_state("192.0.2.1", &locked, &delay,
	    &err) == 0 && !locked);
	TEST_ASSERT(counters_pg_authfail_record("192.0.2.1", &delay, &err) ==
	    0 && delay == AUTHFAIL_DELAY_MAX_MS);
	TEST_ASSERT(counters_pg_authfail_state("192.0.2.1", &locked, &delay,
	    &err) == 0 && locked);
	/* past the window but within the lock-out: still locked */
	TEST_ASSERT(q("UPDATE counters SET window_start = window_start - "
	    "make_interval(secs => " "700) WHERE key = 'authfail:192.0.2.1'")
	    == PG_OK);
	TEST_ASSERT(counters_pg_authfail_state("192.0.2.1", &locked, &delay,
	    &err) == 0 && locked);
	/* the lock-out is over: forgiven */
	TEST_ASSERT(q("UPDATE counters SET window_start = window_start - "
	    "make_interval(secs => 300) WHERE key = 'authfail:192.0.2.1'") ==
	    PG_OK);
	TEST_ASSERT(counters_pg_authfail_state("192.0.2.1", &locked, &delay,
	    &err) == 0 && !locked && delay == 0);
	TEST_ASSERT(counters_pg_authfail_record("192.0.2.1", &delay, &err) ==
	    0 && delay == AUTHFAIL_DELAY_STEP_MS);

	/* a few failures, then a quiet window: forgiven */
	TEST_ASSERT(counters_pg_authfail_record("192.0.2.2", &delay, &err) ==
	    0);
	TEST_ASSERT(q("UPDATE counters SET window_start = window_start - "
	    "make_interval(secs => 601) WHERE key = 'authfail:192.0.2.2'") ==
	    PG_OK);
	TEST_ASSERT(counters_pg_authfail_state("192.0.2.2", &locked, &delay,
	    &err) == 0 && !locked && delay == 0);
	free(err);
}

static void
test_limits_purge(void)
{
	char *err = NULL, key[COUNTERS_PG_KEY_MAX + 2];
	long n;

	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	TEST_ASSERT(counters_pg_take(key, 1, 5, 60, &err) < 0 && err != NULL);
	free(err);
	err = NULL;
	TEST_ASSERT(q("INSERT INTO counters SELECT 'rate:old' || g, now() - "
	    "interval '2 hours', 1 FROM generate_series(1, 30) g") == PG_OK);
	n = counters_pg_purge(3600, 20, &err);
	TEST_ASSERT(n == 20);
	n = counters_pg_purge(3600, 20, &err);
	TEST_ASSERT(n == 10);
	TEST_ASSERT(counters_pg_purge(3600, 20, &err) == 0);
	free(err);
}

int
main(void)
{
	const char *dsn = getenv("TEM_TEST_PG_DSN");

	if (dsn == NULL || *dsn == '\0') {
		fprintf(stderr, "test-pg-counters needs TEM_TEST_PG_DSN (a "
		    "database after tem db init); "
		    "tests/integration/test_pg_sieve.py runs it\n");
		test_failed = 1;
		return test_done("test-pg-counters");
	}
	pg_conn_setup(dsn);
	TEST_RUN(test_take);
	TEST_RUN(test_take_concurrent);
	TEST_RUN(test_authfail);
	TEST_RUN(test_limits_purge);
	pg_conn_cleanup();
	return test_done("test-pg-counters");
}
