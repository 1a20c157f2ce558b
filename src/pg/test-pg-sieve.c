/*
 * test-pg-sieve - unit tests of Sieve scripts and Sieve state on
 * PostgreSQL (sieve/sieve_store_pg.h behind sieve_store.h and
 * sieve_state.h). They need a live database with the tem schema:
 * TEM_TEST_PG_DSN names it; tests/integration/test_pg_sieve.py starts
 * one and runs this binary (tests/run.sh leaves src/pg/test-pg-* out of
 * its unit pass). Without TEM_TEST_PG_DSN it fails, never skips.
 *
 * Mode for test_pg_sieve.py:
 *   restart  prints "ready", then lists scripts every 20 ms; exits 0
 *            with "recovered" once a call failed with EAGAIN (the
 *            database away) and a later one worked, 1 after 60 s.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "pg/pg_conn.h"
#include "sieve/sieve_state.h"
#include "sieve/sieve_store.h"
#include "util/test.h"
#include "util/xmalloc.h"

#include "pg/test-pg-sql.h"

#define U1	"sieve1@s.test"
#define U2	"sieve2@s.test"
#define U3	"sieve3@s.test"
#define NODIR	"/nonexistent-tem-pg-test"

static const char *dsn;

static int
put(const char *user, const char *name, const char *text)
{
	struct sieve_error err;

	return sieve_store_put(NODIR, user, name, text, strlen(text), &err);
}

static void
setup(void)
{
	TEST_ASSERT(q("INSERT INTO domains(name) VALUES ('s.test') "
	    "ON CONFLICT DO NOTHING") == PG_OK);
	TEST_ASSERT(q("INSERT INTO users(address, domain, hash) VALUES "
	    "('sieve1@s.test', 's.test', 'x'), ('sieve2@s.test', 's.test', "
	    "'x'), ('sieve3@s.test', 's.test', 'x') ON CONFLICT DO NOTHING")
	    == PG_OK);
}

/* ---- scripts ------------------------------------------------------ */

static void
test_store(void)
{
	char **names = NULL, *active = NULL, *text, *aname = NULL;
	size_t n = 0, len = 0;
	struct sieve_error err;

	TEST_ASSERT(put(U1, "b", "keep;") == 0);
	TEST_ASSERT(put(U1, "a", "discard;") == 0);
	TEST_ASSERT(put(U1, "a", "keep;\n") == 0);	/* replaces */
	text = sieve_store_get(NODIR, U1, "a", &len);
	TEST_ASSERT(text != NULL && len == 6 && strcmp(text, "keep;\n") == 0);
	free(text);
	/* the address in another case finds the same account */
	text = sieve_store_get(NODIR, "SIEVE1@S.Test", "b", &len);
	TEST_ASSERT(text != NULL && strcmp(text, "keep;") == 0);
	free(text);
	errno = 0;
	TEST_ASSERT(sieve_store_get(NODIR, U1, "c", &len) == NULL &&
	    errno == ENOENT);

	TEST_ASSERT(sieve_store_list(NODIR, U1, &names, &n, &active) == 0);
	TEST_ASSERT(n == 2 && strcmp(names[0], "a") == 0 &&
	    strcmp(names[1], "b") == 0 && active == NULL);
	sieve_store_names_free(&names, n);

	errno = 0;
	TEST_ASSERT(sieve_store_active(NODIR, U1, &len, NULL) == NULL &&
	    errno == ENOENT);
	TEST_ASSERT(sieve_store_activate(NODIR, U1, "c") < 0 &&
	    errno == ENOENT);
	TEST_ASSERT(sieve_store_activate(NODIR, U1, "a") == 0);
	TEST_ASSERT(sieve_store_activate(NODIR, U1, "b") == 0);
	text = sieve_store_active(NODIR, U1, &len, &aname);
	TEST_ASSERT(text != NULL && strcmp(text, "keep;") == 0 &&
	    aname != NULL && strcmp(aname, "b") == 0);
	free(text);
	free(aname);
	errno = 0;
	TEST_ASSERT(sieve_store_active_path(NODIR, U1) == NULL &&
	    errno == ENOTSUP);

	TEST_ASSERT(sieve_store_delete(NODIR, U1, "b") < 0 && errno == EBUSY);
	TEST_ASSERT(sieve_store_delete(NODIR, U1, "c") < 0 &&
	    errno == ENOENT);
	TEST_ASSERT(sieve_store_rename(NODIR, U1, "a", "b") < 0 &&
	    errno == EEXIST);
	TEST_ASSERT(sieve_store_rename(NODIR, U1, "c", "d") < 0 &&
	    errno == ENOENT);
	/* the active mark follows the script */
	TEST_ASSERT(sieve_store_rename(NODIR, U1, "b", "c") == 0);
	TEST_ASSERT(sieve_store_list(NODIR, U1, &names, &n, &active) == 0);
	TEST_ASSERT(n == 2 && strcmp(names[1], "c") == 0 && active != NULL &&
	    strcmp(active, "c") == 0);
	sieve_store_names_free(&names, n);
	free(active);

	TEST_ASSERT(sieve_store_activate(NODIR, U1, NULL) == 0);
	TEST_ASSERT(sieve_store_activate(NODIR, U1, "") == 0);
	TEST_ASSERT(value_is("SELECT count(*) FROM sieve_scripts s JOIN "
	    "users u ON u.id = s.user_id WHERE u.address = $1 AND active",
	    U1, "0"));
	TEST_ASSERT(sieve_store_delete(NODIR, U1, "c") == 0);
	TEST_ASSERT(sieve_store_delete(NODIR, U1, "a") == 0);
	TEST_ASSERT(sieve_store_list(NODIR, U1, &names, &n, &active) == 0);
	TEST_ASSERT(n == 0 && names == NULL && active == NULL);

	/* not an account: nothing to list, nothing stored */
	TEST_ASSERT(sieve_store_list(NODIR, "nobody@s.test", &names, &n,
	    &active) == 0 && n == 0);
	TEST_ASSERT(put("nobody@s.test", "a", "keep;") < 0 &&
	    errno == EINVAL);
	TEST_ASSERT(sieve_store_activate(NODIR, "nobody@s.test", NULL) == 0);

	/* a script that does not compile is refused with its line */
	TEST_ASSERT(sieve_store_put(NODIR, U1, "bad", "keep;\nfoo;\n", 11,
	    &err) < 0 && errno == EINVAL && err.line == 2 &&
	    err.msg[0] != '\0');
	TEST_ASSERT(sieve_store_get(NODIR, U1, "bad", &len) == NULL);
}

static void
test_limits(void)
{
	char name[16], *big;
	struct sieve_error err;

	for (int i = 0; i < SIEVE_STORE_SCRIPTS_MAX; i++) {
		snprintf(name, sizeof(name), "s%02d", i);
		TEST_ASSERT(put(U2, name, "keep;") == 0);
	}
	TEST_ASSERT(put(U2, "one-more", "keep;") < 0 && errno == EDQUOT);
	TEST_ASSERT(put(U2, "s00", "discard;") == 0);	/* replacing is fine */
	TEST_ASSERT(value_is("SELECT count(*) FROM sieve_scripts s JOIN "
	    "users u ON u.id = s.user_id WHERE u.address = $1", U2, "32"));

	big = xmalloc(SIEVE_STORE_SIZE_MAX + 2);
	memset(big, ' ', SIEVE_STORE_SIZE_MAX + 1);
	big[SIEVE_STORE_SIZE_MAX + 1] = '\0';
	TEST_ASSERT(sieve_store_put(NODIR, U2, "s01", big,
	    SIEVE_STORE_SIZE_MAX + 1, &err) < 0 && errno == EDQUOT);
	free(big);
	TEST_ASSERT(put(U2, "a/b", "keep;") < 0 && errno == EINVAL);
	/* compiles (a comment), but a text column cannot hold it */
	TEST_ASSERT(put(U2, "s01", "keep; # \xff\n") < 0 && errno == EILSEQ);
	TEST_ASSERT(sieve_store_put(NODIR, U2, "s01", "keep; # \0\n", 10,
	    &err) < 0 && errno == EILSEQ);
	TEST_ASSERT(q("DELETE FROM sieve_scripts WHERE user_id = (SELECT id "
	    "FROM users WHERE address = 'sieve2@s.test')") == PG_OK);
}

/* Two threads activating their own script over and over. */
static void *
activator(void *arg)
{
	const char *name = arg;

	for (int i = 0; i < 50; i++)
		if (sieve_store_activate(NODIR, U3, name) < 0)
			return (void *)1;
	pg_conn_close();
	return NULL;
}

static void
test_activate_race(void)
{
	pthread_t t1, t2;
	void *r1, *r2;

	TEST_ASSERT(put(U3, "x", "keep;") == 0);
	TEST_ASSERT(put(U3, "y", "discard;") == 0);
	TEST_ASSERT(pthread_create(&t1, NULL, activator, "x") == 0);
	TEST_ASSERT(pthread_create(&t2, NULL, activator, "y") == 0);
	pthread_join(t1, &r1);
	pthread_join(t2, &r2);
	TEST_ASSERT(r1 == NULL && r2 == NULL);
	TEST_ASSERT(value_is("SELECT count(*) FROM sieve_scripts s JOIN "
	    "users u ON u.id = s.user_id WHERE u.address = $1 AND active",
	    U3, "1"));
}

/* ---- state -------------------------------------------------------- */

static void
test_state(void)
{
	struct sieve_state *st = sieve_state_open(NODIR, U1);
	time_t now = time(NULL);

	TEST_ASSERT(st != NULL);
	if (st == NULL)
		return;
	TEST_ASSERT(!sieve_state_dup_seen(st, "h", "id1", now));
	TEST_ASSERT(sieve_state_dup_record(st, "h", "id1", now + 100) == 0);
	TEST_ASSERT(sieve_state_dup_seen(st, "h", "id1", now));
	TEST_ASSERT(!sieve_state_dup_seen(st, "h", "id1", now + 100));
	/* handle and id are kept apart: ("h", "id1") is not ("hi", "d1") */
	TEST_ASSERT(!sieve_state_dup_seen(st, "hi", "d1", now));
	TEST_ASSERT(!sieve_state_dup_seen(st, "", "hid1", now));

	TEST_ASSERT(sieve_state_vacation_due(st, "", "a@x.test", 86400, now));
	TEST_ASSERT(sieve_state_vacation_record(st, "", "A@X.test", now) ==
	    0);
	TEST_ASSERT(!sieve_state_vacation_due(st, "", "a@x.TEST", 86400,
	    now + 10));
	TEST_ASSERT(sieve_state_vacation_due(st, "", "a@x.test", 86400,
	    now + 86400));
	TEST_ASSERT(sieve_state_vacation_due(st, "other", "a@x.test", 86400,
	    now));
	sieve_state_close(&st);
	TEST_ASSERT(st == NULL);

	errno = 0;
	TEST_ASSERT(sieve_state_open(NODIR, "nobody@s.test") == NULL &&
	    errno == EINVAL);
}

static void
test_state_cap_purge(void)
{
	struct sieve_state *st = sieve_state_open(NODIR, U2);
	time_t now = time(NULL);

	TEST_ASSERT(st != NULL);
	if (st == NULL)
		return;
	/* a full table: the oldest expiry goes for the new row */
	TEST_ASSERT(q("INSERT INTO sieve_duplicates (user_id, id, expiry) "
	    "SELECT u.id, 'fill' || g, now() + g * interval '1 minute' FROM "
	    "users u, generate_series(1, 10000) g WHERE u.address = "
	    "'sieve2@s.test'") == PG_OK);
	TEST_ASSERT(sieve_state_dup_record(st, "h", "new", now + 86400) == 0);
	TEST_ASSERT(value_is("SELECT count(*) FROM sieve_duplicates d JOIN "
	    "users u ON u.id = d.user_id WHERE u.address = $1", U2, "10000"));
	TEST_ASSERT(value_is("SELECT count(*) FROM sieve_duplicates WHERE "
	    "id = 'fill1'", NULL, "0"));
	TEST_ASSERT(sieve_state_dup_seen(st, "h", "new", now));

	/* expired rows of any user go, SIEVE_STATE_PG_PURGE a call */
	TEST_ASSERT(q("INSERT INTO sieve_duplicates (user_id, id, expiry) "
	    "SELECT u.id, 'old' || g, now() - interval '1 day' FROM users u, "
	    "generate_series(1, 250) g WHERE u.address = 'sieve3@s.test'") ==
	    PG_OK);
	TEST_ASSERT(sieve_state_dup_record(st, "h", "n2", now + 60) == 0);
	TEST_ASSERT(value_is("SELECT count(*) FROM sieve_duplicates WHERE "
	    "expiry < now()", NULL, "150"));
	TEST_ASSERT(sieve_state_dup_record(st, "h", "n3", now + 60) == 0);
	TEST_ASSERT(sieve_state_dup_record(st, "h", "n4", now + 60) == 0);
	TEST_ASSERT(value_is("SELECT count(*) FROM sieve_duplicates WHERE "
	    "expiry < now()", NULL, "0"));

	/* vacation: the same cap */
	TEST_ASSERT(q("INSERT INTO sieve_vacation (user_id, address, sent) "
	    "SELECT u.id, 'fill' || g, now() - g * interval '1 second' FROM "
	    "users u, generate_series(1, 10000) g WHERE u.address = "
	    "'sieve2@s.test'") == PG_OK);
	TEST_ASSERT(sieve_state_vacation_record(st, "", "b@x.test", now) == 0);
	TEST_ASSERT(value_is("SELECT count(*) FROM sieve_vacation v JOIN "
	    "users u ON u.id = v.user_id WHERE u.address = $1", U2, "10000"));
	TEST_ASSERT(value_is("SELECT count(*) FROM sieve_vacation WHERE "
	    "address = 'fill10000'", NULL, "0"));
	sieve_state_close(&st);
}

/* ---- a database restart ------------------------------------------- */

static int
mode_restart(void)
{
	char **names = NULL, *active = NULL;
	size_t n = 0;
	bool failed = false;
	struct timespec ts = { 0, 20 * 1000000 };

	printf("ready\n");
	fflush(stdout);
	for (int i = 0; i < 3000; i++) {
		int r = sieve_store_list(NODIR, U3, &names, &n, &active);

		if (r < 0 && errno == EAGAIN) {
			failed = true;
		} else if (r == 0) {
			sieve_store_names_free(&names, n);
			free(active);
			active = NULL;
			if (failed) {
				/* and a change works again too */
				if (sieve_store_activate(NODIR, U3, "y") < 0)
					return 1;
				printf("recovered\n");
				return 0;
			}
		} else {
			fprintf(stderr, "list: %s\n", strerror(errno));
			return 1;
		}
		nanosleep(&ts, NULL);
	}
	return 1;
}

int
main(int argc, char **argv)
{
	struct conf c;
	int rc;

	if ((dsn = getenv("TEM_TEST_PG_DSN")) == NULL || *dsn == '\0') {
		fprintf(stderr, "test-pg-sieve needs TEM_TEST_PG_DSN (a "
		    "database after tem db init); "
		    "tests/integration/test_pg_sieve.py runs it\n");
		test_failed = 1;
		return test_done("test-pg-sieve");
	}
	memset(&c, 0, sizeof(c));
	c.storage = CONF_STORAGE_POSTGRESQL;
	c.postgresql_dsn = xstrdup(dsn);
	sieve_store_setup(&c);
	free(c.postgresql_dsn);
	if (argc > 1 && strcmp(argv[1], "restart") == 0) {
		rc = mode_restart();
	} else {
		TEST_RUN(setup);
		TEST_RUN(test_store);
		TEST_RUN(test_limits);
		TEST_RUN(test_activate_race);
		TEST_RUN(test_state);
		TEST_RUN(test_state_cap_purge);
		rc = test_done("test-pg-sieve");
	}
	pg_conn_cleanup();
	return rc;
}
