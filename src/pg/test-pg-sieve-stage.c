/*
 * test-pg-sieve-stage - the Sieve stage's job with scripts in PostgreSQL
 * (storage = postgresql): it reads the user's active script row
 * (sieve_store_active), runs it, names it, and compiles a text once
 * (the same text: the same compiled object; an edited one: a new one);
 * no active script: nothing runs. Needs TEM_TEST_PG_DSN (a database
 * after tem db init); tests/integration/test_pg_sieve.py runs it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/resolve.h"
#include "conf/conf.h"
#include "msg/sieve_stage.h"
#include "pg/pg_conn.h"
#include "sieve/sieve_store.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/test.h"
#include "util/worker.h"
#include "util/xmalloc.h"

#include "pg/test-pg-sql.h"

#define U	"stage@st.test"
#define NODIR	"/nonexistent-tem-pg-test"

static struct loop *tloop;
static const char head[] = "From: a@b.test\r\nTo: " U "\r\n"
    "Subject: hello\r\nMessage-ID: <1@b.test>\r\n\r\n";

static void
done(struct sieve_stage *st, void *arg)
{
	(void)st;
	(void)arg;
	loop_break(tloop);
}

/* Runs the stage's job for one message to U (what it knew of U
 * forgotten first, so that the job, not the loop, runs). */
static struct sieve_stage *
run_job(void)
{
	char *a = xstrdup(U), *dom = xstrdup("st.test"), *lp = xstrdup("stage");
	struct acct_target t = { ACCT_TARGET_LOCAL, a, dom, lp };
	struct acct_resolution res = { 1, &t };
	struct sieve_stage_in in;
	struct sieve_stage *st;

	memset(&in, 0, sizeof(in));
	in.logid = "test";
	in.msgid = "m1";
	in.data_dir = NODIR;
	in.hostname = "mx.st.test";
	in.env_from = "a@b.test";
	in.head = head;
	in.head_len = sizeof(head) - 1;
	in.body_fd = -1;
	in.body_mem = "hello\n";
	in.body_mem_len = 6;
	st = sieve_stage_new(&in);
	sieve_stage_add(st, U, &res);
	free(a);
	free(dom);
	free(lp);
	sieve_stage_forget(U);
	sieve_stage_run(st, tloop, done, NULL);
	loop_run(tloop);
	return st;
}

/* The compiled script the job remembered for U (a reference), or NULL. */
static struct cscript *
remembered(void)
{
	struct cscript *cs = NULL;

	return sieve_stage_known(U, &cs) ? cs : NULL;
}

static int
put(const char *name, const char *text)
{
	struct sieve_error err;

	return sieve_store_put(NODIR, U, name, text, strlen(text), &err);
}

static void
test_job(void)
{
	struct sieve_stage *st;
	struct sieve_stage_user *u;
	struct cscript *c1, *c2, *c3;

	TEST_ASSERT(q("INSERT INTO domains(name) VALUES ('st.test') "
	    "ON CONFLICT DO NOTHING") == PG_OK);
	TEST_ASSERT(q("INSERT INTO users(address, domain, hash) VALUES "
	    "('" U "', 'st.test', 'x') ON CONFLICT DO NOTHING") == PG_OK);
	TEST_ASSERT(put("main", "discard;\n") == 0);
	TEST_ASSERT(sieve_store_activate(NODIR, U, "main") == 0);

	st = run_job();
	u = sieve_stage_user(st, U);
	TEST_ASSERT(st->error == 0 && u != NULL && u->error == NULL);
	TEST_ASSERT_STREQ(u->script, "main");
	TEST_ASSERT(u->r.nactions == 1 &&
	    u->r.actions[0].type == SIEVE_DISCARD);
	sieve_stage_free(&st);
	TEST_ASSERT((c1 = remembered()) != NULL);

	/* the same text: the cache's compiled object again */
	st = run_job();
	sieve_stage_free(&st);
	c2 = remembered();
	TEST_ASSERT(c2 == c1);
	sieve_stage_script_unref(c2);

	/* edited: compiled again */
	TEST_ASSERT(put("main", "# edited\ndiscard;\n") == 0);
	st = run_job();
	sieve_stage_free(&st);
	c3 = remembered();
	TEST_ASSERT(c3 != NULL && c3 != c1);
	sieve_stage_script_unref(c1);
	sieve_stage_script_unref(c3);

	/* none active: no run, and the loop knows it has none */
	TEST_ASSERT(sieve_store_activate(NODIR, U, NULL) == 0);
	st = run_job();
	TEST_ASSERT(sieve_stage_user(st, U) == NULL);
	sieve_stage_free(&st);
	TEST_ASSERT(!sieve_stage_wanted(U));
}

int
main(void)
{
	const char *dsn = getenv("TEM_TEST_PG_DSN");
	struct conf c;

	if (dsn == NULL || *dsn == '\0') {
		fprintf(stderr, "test-pg-sieve-stage needs TEM_TEST_PG_DSN; "
		    "tests/integration/test_pg_sieve.py runs it\n");
		test_failed = 1;
		return test_done("test-pg-sieve-stage");
	}
	log_init(LOG_ERROR);
	loop_global_init();
	tloop = loop_new();
	worker_pool_start(1);
	memset(&c, 0, sizeof(c));
	c.storage = CONF_STORAGE_POSTGRESQL;
	c.postgresql_dsn = xstrdup(dsn);
	sieve_store_setup(&c);
	free(c.postgresql_dsn);
	TEST_RUN(test_job);
	worker_pool_stop();
	sieve_stage_shutdown();
	loop_free(&tloop);
	pg_conn_cleanup();
	return test_done("test-pg-sieve-stage");
}
