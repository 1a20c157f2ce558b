/*
 * test-pg-backend - unit tests of pg_conn, pg_listen and the accounts
 * backend on PostgreSQL. They need a live database with the tem schema:
 * TEM_TEST_PG_DSN names it. tests/integration/test_pg_backend.py starts
 * one (tests/lib/pgserver.py), runs `tem db init` and then this binary;
 * tests/run.sh leaves it out of its unit pass for that reason. Run
 * without TEM_TEST_PG_DSN it fails (one failure), it never skips.
 *
 * `test-pg-backend listen-restart` is the listener half of the restart
 * test: it prints "ready" once listening, then waits (at most 60 s) for
 * a second resync (the database was restarted meanwhile) and a
 * notification after it, prints "resynced" and exits 0.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/accounts.h"
#include "auth/password.h"
#include "auth/resolve.h"
#include "conf/conf.h"
#include "pg/pg_conn.h"
#include "pg/pg_listen.h"
#include "util/loop.h"
#include "util/test.h"
#include "util/xmalloc.h"

static const char *dsn;
static struct loop *loop;

#include "pg/test-pg-sql.h"
#include "pg/test-pg.h"

/* ---- helpers ------------------------------------------------------ */

/* ---- pg_conn ------------------------------------------------------ */

static void
test_query_params(void)
{
	char *v = NULL, *err = NULL;

	TEST_ASSERT(pg_query_value(&v, &err, "SELECT $1::int + $2::int", 2,
	    "40", "2") == PG_OK);
	TEST_ASSERT_STREQ(v, "42");
	free(v);
	/* a parameter is data, never SQL */
	TEST_ASSERT(pg_query_value(&v, &err, "SELECT $1", 1,
	    "x'; DROP TABLE users; --") == PG_OK);
	TEST_ASSERT_STREQ(v, "x'; DROP TABLE users; --");
	free(v);
	TEST_ASSERT(pg_query_value(&v, &err, "SELECT NULL", 0) == PG_OK);
	TEST_ASSERT(v == NULL);
	TEST_ASSERT(pg_query_value(&v, &err, "SHOW synchronous_commit", 0) ==
	    PG_OK);
	TEST_ASSERT_STREQ(v, "on");
	free(v);
}

/* Bytes go as raw octets (NUL, 0xff, a lone LF kept) and come back so:
 * text and binary parameters mix in one statement. */
static void
test_query_bin(void)
{
	static const char bytes[] = { 'a', '\0', '\n', (char)0xff, '\\', 'x' };
	const char *params[2] = { "6", bytes };
	const int lens[2] = { -1, (int)sizeof(bytes) };
	PGresult *res = NULL;
	char *err = NULL;

	TEST_ASSERT(pg_query_bin(&res, &err, "SELECT $2::bytea FROM "
	    "(SELECT 1) x WHERE octet_length($2::bytea) = $1::int", 2,
	    params, lens, true) == PG_OK);
	TEST_ASSERT(res != NULL && PQntuples(res) == 1);
	TEST_ASSERT(PQgetlength(res, 0, 0) == (int)sizeof(bytes));
	TEST_ASSERT(memcmp(PQgetvalue(res, 0, 0), bytes, sizeof(bytes)) == 0);
	PQclear(res);
	/* the same value in text form: PostgreSQL's hex output */
	TEST_ASSERT(pg_query_bin(&res, &err, "SELECT encode($1::bytea, "
	    "'hex')", 1, params + 1, lens + 1, false) == PG_OK);
	TEST_ASSERT_STREQ(PQgetvalue(res, 0, 0), "61000aff5c78");
	PQclear(res);
	/* an empty value is not NULL */
	TEST_ASSERT(pg_query_bin(&res, &err, "SELECT $1::bytea IS NOT NULL",
	    1, (const char *[]){ "" }, (const int[]){ 0 }, false) == PG_OK);
	TEST_ASSERT_STREQ(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	TEST_ASSERT(pg_query_bin(&res, &err, "SELECT 1", PG_PARAMS_MAX + 1,
	    params, NULL, false) == PG_ERROR);
	TEST_ASSERT(res == NULL && err != NULL);
	free(err);
}

static void
test_error_classes(void)
{
	char *err = NULL;

	TEST_ASSERT(pg_query(NULL, &err, "SELEC 1", 0) == PG_ERROR);
	TEST_ASSERT_STREQ(pg_conn_sqlstate(), "42601");
	TEST_ASSERT(strncmp(err, "database error: ", 16) == 0);
	TEST_ASSERT(strchr(err, '\n') == NULL);
	XFREE(&err);
	/* errors the server raises for "not now" are "unavailable" */
	TEST_ASSERT(pg_query(NULL, &err, "DO $$BEGIN RAISE EXCEPTION 'x' "
	    "USING ERRCODE = 'admin_shutdown'; END$$", 0) == PG_UNAVAILABLE);
	TEST_ASSERT(strncmp(err, "database unavailable: ", 22) == 0);
	XFREE(&err);
	TEST_ASSERT(pg_query(NULL, &err, "DO $$BEGIN RAISE EXCEPTION 'x' "
	    "USING ERRCODE = 'read_only_sql_transaction'; END$$", 0) ==
	    PG_UNAVAILABLE);
	XFREE(&err);
	/* a serialization failure outside a transaction cannot be retried
	 * here: the caller tries later */
	TEST_ASSERT(pg_query(NULL, &err, "DO $$BEGIN RAISE EXCEPTION 'x' "
	    "USING ERRCODE = 'serialization_failure'; END$$", 0) ==
	    PG_UNAVAILABLE);
	XFREE(&err);
	/* the connection survived all that */
	TEST_ASSERT(q("SELECT 1") == PG_OK);
}

struct tx_arg {
	int	runs;
	int	fail_runs;	/* the first N runs hit a serialization error */
	bool	refuse;
};

static enum pg_rc
tx_body(void *arg, char **error_r)
{
	struct tx_arg *t = arg;
	enum pg_rc rc;

	t->runs++;
	rc = pg_query(NULL, error_r, "INSERT INTO t_tx VALUES ($1::int)", 1,
	    t->runs == 1 ? "1" : "2");
	if (rc == PG_OK && t->runs <= t->fail_runs)
		rc = pg_query(NULL, error_r, "DO $$BEGIN RAISE EXCEPTION 'x' "
		    "USING ERRCODE = 'serialization_failure'; END$$", 0);
	if (rc == PG_OK && t->refuse) {
		*error_r = xstrdup("refused");
		rc = PG_ERROR;
	}
	return rc;
}

static void
test_tx(void)
{
	struct tx_arg t = { 0 };
	char *err = NULL, *v = NULL;

	TEST_ASSERT(q("DROP TABLE IF EXISTS t_tx") == PG_OK);
	TEST_ASSERT(q("CREATE TABLE t_tx (n int)") == PG_OK);
	/* retried: the first run's row is rolled back, the second's kept */
	t.fail_runs = 1;
	TEST_ASSERT(pg_tx(tx_body, &t, &err) == PG_OK);
	TEST_ASSERT(t.runs == 2);
	TEST_ASSERT(pg_query_value(&v, &err, "SELECT string_agg(n::text, "
	    "',') FROM t_tx", 0) == PG_OK);
	TEST_ASSERT_STREQ(v, "2");
	XFREE(&v);
	/* the body's own refusal rolls back and comes back as is */
	t = (struct tx_arg){ .refuse = true };
	TEST_ASSERT(pg_tx(tx_body, &t, &err) == PG_ERROR);
	TEST_ASSERT_STREQ(err, "refused");
	XFREE(&err);
	TEST_ASSERT(pg_query_value(&v, &err, "SELECT count(*) FROM t_tx", 0) ==
	    PG_OK);
	TEST_ASSERT_STREQ(v, "1");
	XFREE(&v);
	/* always failing: bounded, then "unavailable" */
	t = (struct tx_arg){ .fail_runs = 100 };
	TEST_ASSERT(pg_tx(tx_body, &t, &err) == PG_UNAVAILABLE);
	TEST_ASSERT(t.runs == PG_TX_ATTEMPTS);
	TEST_ASSERT(strstr(err, "attempts") != NULL);
	XFREE(&err);
	TEST_ASSERT(q("DROP TABLE t_tx") == PG_OK);
}

static enum pg_rc
count_body(void *arg, char **error_r)
{
	char **pid = arg;

	free(*pid);
	return pg_query_value(pid, error_r, "SELECT pg_backend_pid()", 0);
}

/* A connection the server closed is remade without the caller seeing
 * an error: terminate ours from a second connection. */
static void
test_reconnect(void)
{
	char *err = NULL, *pid = NULL, *pid2 = NULL, *left = NULL;
	PGconn *other = pg_conn_open(dsn, &err);
	char sql[160];

	TEST_ASSERT(other != NULL);
	TEST_ASSERT(pg_query_value(&pid, &err, "SELECT pg_backend_pid()", 0) ==
	    PG_OK);
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%s, 10000)",
	    pid);
	PQclear(PQexec(other, sql));
	PQfinish(other);
	TEST_ASSERT(pg_query_value(&pid2, &err, "SELECT pg_backend_pid()",
	    0) == PG_OK);
	TEST_ASSERT(strcmp(pid, pid2) != 0);
	/* and inside a transaction (BEGIN on a dead connection) */
	other = pg_conn_open(dsn, &err);
	TEST_ASSERT(other != NULL);
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%s, 10000)",
	    pid2);
	PQclear(PQexec(other, sql));
	PQfinish(other);
	TEST_ASSERT(pg_tx(count_body, &left, &err) == PG_OK);
	TEST_ASSERT(left != NULL && strcmp(left, pid2) != 0);
	free(pid);
	free(pid2);
	free(left);
}

static void
test_unavailable(void)
{
	char *err = NULL;
	enum pg_rc rc;

	/* port 1: refused at once; the back-off then answers without
	 * trying, still as "unavailable" */
	pg_conn_setup("host=127.0.0.1 port=1 dbname=tem connect_timeout=2");
	rc = pg_query(NULL, &err, "SELECT 1", 0);
	TEST_ASSERT(rc == PG_UNAVAILABLE);
	TEST_ASSERT(strncmp(err, "database unavailable: ", 22) == 0);
	TEST_ASSERT(strchr(err, '\n') == NULL);
	XFREE(&err);
	TEST_ASSERT(pg_query(NULL, &err, "SELECT 1", 0) == PG_UNAVAILABLE);
	XFREE(&err);
	pg_conn_setup(dsn);	/* a new DSN: no back-off wait */
	TEST_ASSERT(q("SELECT 1") == PG_OK);
}

struct thread_result {
	enum pg_rc	 rc;
	char		*pid;
};

static void *
thread_query(void *arg)
{
	struct thread_result *r = arg;
	char *err = NULL;

	r->rc = pg_query_value(&r->pid, &err, "SELECT pg_backend_pid()", 0);
	free(err);
	return NULL;
}

/* A thread gets a connection of its own, closed when the thread ends. */
static void
test_thread_conn(void)
{
	struct thread_result r = { PG_ERROR, NULL };
	char *mine = NULL, *err = NULL, *left = NULL;
	pthread_t t;

	TEST_ASSERT(pg_query_value(&mine, &err, "SELECT pg_backend_pid()",
	    0) == PG_OK);
	TEST_ASSERT(pthread_create(&t, NULL, thread_query, &r) == 0);
	pthread_join(t, NULL);
	TEST_ASSERT(r.rc == PG_OK && r.pid != NULL);
	TEST_ASSERT(strcmp(mine, r.pid) != 0);
	/* the thread's exit closed it (the server notices soon after) */
	for (int i = 0; i < 100; i++) {
		XFREE(&left);
		TEST_ASSERT(pg_query_value(&left, &err, "SELECT count(*) FROM "
		    "pg_stat_activity WHERE pid = $1::int", 1, r.pid) ==
		    PG_OK);
		if (strcmp(left, "0") == 0)
			break;
		usleep(50000);
	}
	TEST_ASSERT_STREQ(left, "0");
	free(left);
	free(mine);
	free(r.pid);
}

/* ---- pg_listen ---------------------------------------------------- */

static void
test_listen(void)
{
	struct heard h = { 0 };
	char *err = NULL, *pid = NULL, sql[160];
	struct pg_listen *l = pg_listen_start(dsn, &err);
	PGconn *other;

	TEST_ASSERT(l != NULL);
	TEST_ASSERT(pg_listen_add(l, "Bad-Name", loop, on_notify, on_resync,
	    &h, &err) < 0);
	XFREE(&err);
	TEST_ASSERT(pg_listen_add(l, "tem_test", loop, on_notify, on_resync,
	    &h, &err) == 0);
	TEST_ASSERT(run_until(&h.resynced, 1, 10000));	/* listening now */
	TEST_ASSERT(q("NOTIFY tem_test, 'hello'") == PG_OK);
	TEST_ASSERT(run_until(&h.notified, 1, 10000));
	TEST_ASSERT_STREQ(h.payload, "hello");
	/* a lost connection: back, with a resync */
	TEST_ASSERT(pg_query_value(&pid, &err, "SELECT pid FROM "
	    "pg_stat_activity WHERE query LIKE 'LISTEN%'", 0) == PG_OK);
	TEST_ASSERT(pid != NULL);
	other = pg_conn_open(dsn, &err);
	TEST_ASSERT(other != NULL);
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%s)", pid);
	PQclear(PQexec(other, sql));
	PQfinish(other);
	free(pid);
	TEST_ASSERT(run_until(&h.resynced, 2, 10000));
	h.notified = 0;
	TEST_ASSERT(q("NOTIFY tem_test, 'again'") == PG_OK);
	TEST_ASSERT(run_until(&h.notified, 1, 10000));
	TEST_ASSERT_STREQ(h.payload, "again");
	pg_listen_free(&l);
	TEST_ASSERT(l == NULL);
	drain();	/* nothing posted is left behind */
}

/* ---- accounts ----------------------------------------------------- */

static struct accounts *
open_pg(void)
{
	struct conf c;
	struct accounts *a = NULL;
	char *err = NULL;

	memset(&c, 0, sizeof(c));
	c.storage = CONF_STORAGE_POSTGRESQL;
	c.postgresql_dsn = xstrdup(dsn);
	c.data_dir = xstrdup("/nonexistent-tem-pg-test");
	if (accounts_open_conf(&c, &a, &err) < 0) {
		fprintf(stderr, "  accounts_open_conf: %s\n", err);
		free(err);
	}
	free(c.postgresql_dsn);
	free(c.data_dir);
	return a;
}

/* The call's error text is want (the embedded backend's words). */
static bool
fails_with(int r, char **errp, const char *want)
{
	char *err = *errp;
	bool ok = r < 0 && err != NULL && strcmp(err, want) == 0;

	if (!ok)
		fprintf(stderr, "  got %d \"%s\", want \"%s\"\n", r,
		    err ? err : "(null)", want);
	free(err);
	*errp = NULL;
	return ok;
}

static void
test_accounts(void)
{
	struct accounts *a;
	struct accounts_list l = { 0 };
	char *err = NULL, *t[] = { "Bob@A.TEST", "x@Remote.test" };
	uint64_t s = 0, m = 0;

	TEST_ASSERT(q("TRUNCATE users, aliases, domains CASCADE") == PG_OK);
	TEST_ASSERT((a = open_pg()) != NULL);
	TEST_ASSERT(accounts_domain_add(a, "A.Test", &err) == 0);
	TEST_ASSERT(fails_with(accounts_domain_add(a, "a.test", &err), &err,
	    "domain a.test already exists"));
	TEST_ASSERT(accounts_domain_exists(a, "A.TEST", &err) == 1);
	TEST_ASSERT(accounts_user_add(a, "Jürgen@A.test", "pw1", &err) == 0);
	TEST_ASSERT(fails_with(accounts_user_add(a, "jürgen@a.test", "pw",
	    &err), &err, "user jürgen@a.test already exists"));
	TEST_ASSERT(fails_with(accounts_user_add(a, "x@b.test", "pw", &err),
	    &err, "domain b.test does not exist"));
	TEST_ASSERT(fails_with(accounts_user_add(a, "y@a.test", "", &err),
	    &err, "empty password refused"));
	TEST_ASSERT(accounts_user_add(a, "BOB@a.test", "pw2", &err) == 0);
	TEST_ASSERT(accounts_user_list(a, NULL, &l, &err) == 0);
	TEST_ASSERT(l.n == 2);
	TEST_ASSERT_STREQ(l.items[0], "Jürgen@a.test");
	TEST_ASSERT_STREQ(l.items[1], "bob@a.test");
	accounts_list_free(&l);
	TEST_ASSERT(accounts_user_list(a, "JüRGEN@a.test", &l, &err) == 0);
	TEST_ASSERT(l.n == 1);
	accounts_list_free(&l);
	TEST_ASSERT(accounts_alias_add(a, "Info@a.test", t, 2, &err) == 0);
	TEST_ASSERT(accounts_alias_add(a, "info@a.test", t, 1, &err) == 0);
	TEST_ASSERT(accounts_alias_list(a, NULL, &l, &err) == 0);
	TEST_ASSERT(l.n == 1);
	TEST_ASSERT_STREQ(l.items[0], "info@a.test bob@a.test,x@remote.test");
	accounts_list_free(&l);
	TEST_ASSERT(accounts_user_quota_get(a, "bob@a.test", &s, &m, &err) ==
	    0);
	TEST_ASSERT(accounts_user_quota_set(a, "bob@a.test", 1000, 10,
	    &err) == 0);
	TEST_ASSERT(accounts_user_quota_get(a, "bob@a.test", &s, &m, &err) ==
	    1);
	TEST_ASSERT(s == 1000 && m == 10);
	TEST_ASSERT(fails_with(accounts_domain_del(a, "a.test", &err), &err,
	    "domain a.test still has 2 users and 1 alias; delete them "
	    "first"));
	TEST_ASSERT(fails_with(accounts_alias_del(a, "nope@a.test", &err),
	    &err, "alias nope@a.test does not exist"));
	TEST_ASSERT(accounts_change_serial(a) > 1);
	accounts_close(&a);
}

static void
test_snapshot(void)
{
	struct acct_snapshot *s;
	struct acct_resolution res;
	struct acct_quota def = { 5, 5 }, qt;
	char *err = NULL, *serial = NULL;
	const char *hash;

	/* test_accounts' state */
	s = acct_snapshot_load_pg(&err);
	TEST_ASSERT(s != NULL);
	TEST_ASSERT(pg_query_value(&serial, &err, "SELECT serial FROM "
	    "accounts_serial", 0) == PG_OK);
	TEST_ASSERT(acct_snapshot_serial(s) == strtoull(serial, NULL, 10));
	free(serial);
	TEST_ASSERT(acct_is_local_domain(s, "A.TEST"));
	TEST_ASSERT_STREQ(acct_first_domain(s), "a.test");
	TEST_ASSERT_STREQ(acct_user_canonical(s, "JüRGEN@a.test"),
	    "Jürgen@a.test");
	TEST_ASSERT((hash = acct_user_hash(s, "bob@a.test")) != NULL);
	TEST_ASSERT(strncmp(hash, "$y$", 3) == 0);
	TEST_ASSERT(password_verify("pw2", hash));
	TEST_ASSERT(acct_user_quota(s, "bob@a.test", &def, &qt));
	TEST_ASSERT(qt.storage == 1000 && qt.messages == 10);
	TEST_ASSERT(acct_user_quota(s, "Jürgen@a.test", &def, &qt));
	TEST_ASSERT(qt.storage == 5);
	TEST_ASSERT(acct_resolve(s, "INFO", "a.test", &res) == ACCT_OK);
	TEST_ASSERT(res.n == 2);
	acct_resolution_free(&res);
	/* postmaster: the first user added to the domain */
	TEST_ASSERT(acct_resolve(s, "postmaster", NULL, &res) == ACCT_OK);
	TEST_ASSERT(res.n == 1);
	TEST_ASSERT_STREQ(res.t[0].address, "Jürgen@a.test");
	TEST_ASSERT_STREQ(res.t[0].localpart, "Jürgen");
	acct_resolution_free(&res);
	acct_snapshot_unref(&s);
}

/* An accounts change reaches a listener of tem_accounts with its serial,
 * and the snapshot loaded then has that serial. */
static void
test_accounts_notify(void)
{
	struct heard h = { 0 };
	struct pg_listen *l;
	struct accounts *a;
	struct acct_snapshot *s;
	char *err = NULL, want[32];

	TEST_ASSERT((l = pg_listen_start(dsn, &err)) != NULL);
	TEST_ASSERT(pg_listen_add(l, "tem_accounts", loop, on_notify,
	    on_resync, &h, &err) == 0);
	TEST_ASSERT(run_until(&h.resynced, 1, 10000));
	TEST_ASSERT((a = open_pg()) != NULL);
	TEST_ASSERT(accounts_user_del(a, "bob@a.test", NULL, &err) == 0);
	snprintf(want, sizeof(want), "%llu",
	    (unsigned long long)accounts_change_serial(a));
	accounts_close(&a);
	TEST_ASSERT(run_until(&h.notified, 1, 10000));
	TEST_ASSERT_STREQ(h.payload, want);
	pg_listen_free(&l);
	drain();
	TEST_ASSERT((s = acct_snapshot_load_pg(&err)) != NULL);
	TEST_ASSERT(acct_snapshot_serial(s) == strtoull(want, NULL, 10));
	TEST_ASSERT(acct_user_hash(s, "bob@a.test") == NULL);
	acct_snapshot_unref(&s);
}

/* ---- the restart half (driven by test_pg_backend.py) ---------------- */

static int
listen_restart(void)
{
	struct heard h = { 0 };
	char *err = NULL;
	struct pg_listen *l = pg_listen_start(dsn, &err);
	bool ok;

	if (l == NULL || pg_listen_add(l, "tem_test", loop, on_notify,
	    on_resync, &h, &err) < 0) {
		fprintf(stderr, "listen: %s\n", err);
		free(err);
		pg_listen_free(&l);
		return 1;
	}
	ok = run_until(&h.resynced, 1, 10000);
	if (ok) {
		printf("ready\n");
		fflush(stdout);
		/* the restart ends in a second resync */
		ok = run_until(&h.resynced, 2, 60000);
	}
	if (ok) {		/* and a NOTIFY gets through again */
		h.notified = 0;
		ok = q("NOTIFY tem_test, 'back'") == PG_OK &&
		    run_until(&h.notified, 1, 10000) &&
		    strcmp(h.payload, "back") == 0;
	}
	pg_listen_free(&l);
	drain();
	printf("%s (resyncs %d)\n", ok ? "resynced" : "FAILED", h.resynced);
	return ok ? 0 : 1;
}

int
main(int argc, char **argv)
{
	int rc;

	if ((dsn = getenv("TEM_TEST_PG_DSN")) == NULL || *dsn == '\0') {
		fprintf(stderr, "test-pg-backend needs TEM_TEST_PG_DSN (a "
		    "database after tem db init); "
		    "tests/integration/test_pg_backend.py runs it\n");
		test_failed = 1;
		return test_done("test-pg-backend");
	}
	loop_global_init();
	loop = loop_new();
	pg_conn_setup(dsn);
	if (argc > 1 && strcmp(argv[1], "listen-restart") == 0) {
		rc = listen_restart();
	} else {
		TEST_RUN(test_query_params);
		TEST_RUN(test_query_bin);
		TEST_RUN(test_error_classes);
		TEST_RUN(test_tx);
		TEST_RUN(test_reconnect);
		TEST_RUN(test_unavailable);
		TEST_RUN(test_thread_conn);
		TEST_RUN(test_listen);
		TEST_RUN(test_accounts);
		TEST_RUN(test_snapshot);
		TEST_RUN(test_accounts_notify);
		rc = test_done("test-pg-backend");
	}
	pg_conn_cleanup();
	loop_free(&loop);
	return rc;
}
