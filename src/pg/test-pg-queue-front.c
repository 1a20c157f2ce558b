/*
 * test-pg-queue-front - queue.h on PostgreSQL (queue/queue_pg_front.c):
 * the calls the server makes (queue_submit from a loop; the engine's
 * take, read, report, flags and free) reach the shared queue, errors
 * come back as the errno values queue.h promises, NOTIFY tem_queue calls
 * the wake-up function, and queue_shutdown hands the leases back. Needs
 * TEM_TEST_PG_DSN (tests/integration/test_pg_queue_engine.py starts a
 * database and runs it; tests/run.sh leaves src/pg/test-pg-* out).
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
#include "queue/queue_pg.h"
#include "util/loop.h"
#include "util/test.h"
#include "util/worker.h"
#include "util/xmalloc.h"

static const char *dsn;
static struct loop *loop;

#include "pg/test-pg-sql.h"
#include "pg/test-pg.h"

/* ---- helpers ------------------------------------------------------ */

/* sql's value becomes want within ms (what a worker does meanwhile). */
static bool
wait_value(const char *sql, const char *p1, const char *want, unsigned ms)
{
	for (unsigned t = 0; t < ms; t += 10) {
		char *v = value(sql, p1);
		bool ok = strcmp(v, want) == 0;

		free(v);
		if (ok)
			return true;
		usleep(10 * 1000);
	}
	return value_is(sql, p1, want);
}

struct submitted {
	int		 done, error;
	pthread_t	 on;
};

static void
submitted(struct queue_new *m, int error, void *arg)
{
	struct submitted *s = arg;

	(void)m;
	s->error = error;
	s->on = pthread_self();
	s->done++;
	loop_break(loop);
}

static struct queue_rcpt rcpts[2] = {
	{ .address = (char *)"r0@far.test" },
	{ .address = (char *)"r1@far.test" },
};

static void
new_msg(struct queue_new *m)
{
	memset(m, 0, sizeof(*m));
	m->msg.sender = (char *)"s@a.test";
	m->msg.nrcpt = 2;
	m->msg.rcpts = rcpts;
	m->content = "Subject: front\n\nbody\n";
	m->content_len = strlen(m->content);
}

static int wakes;

static void
woken(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&wakes, 1, __ATOMIC_SEQ_CST);
}

/* ---- tests -------------------------------------------------------- */

/* queue_submit from a loop: the id at once, the commit on a worker,
 * done() back on the loop with 0 once the row is there. */
static void
test_submit(void)
{
	struct queue_new m;
	struct submitted s = { 0 };

	TEST_ASSERT(q("DELETE FROM queue") == PG_OK);
	new_msg(&m);
	queue_submit(&m, loop, submitted, &s);
	TEST_ASSERT(queue_id_valid(m.msg.id));
	TEST_ASSERT(run_until(&s.done, 1, 10000));
	TEST_ASSERT(s.error == 0 && pthread_equal(s.on, pthread_self()));
	TEST_ASSERT(value_is("SELECT count(*) FROM queue_rcpts WHERE "
	    "queue_id = $1", m.msg.id, "2"));
}

/* A NOTIFY on tem_queue from anyone wakes the engine. */
static void
test_wakeup(void)
{
	int before;

	drain();	/* test_submit's own NOTIFY */
	before = __atomic_load_n(&wakes, __ATOMIC_SEQ_CST);
	TEST_ASSERT(q("SELECT pg_notify('tem_queue', 'elsewhere')") == PG_OK);
	for (int i = 0; i < 500 && __atomic_load_n(&wakes,
	    __ATOMIC_SEQ_CST) == before; i++) {
		int never = 0;

		run_until(&never, 1, 10);	/* the listener posts here */
	}
	TEST_ASSERT(__atomic_load_n(&wakes, __ATOMIC_SEQ_CST) > before);
}

/* The engine's path: take, read, report one delivered and one deferred,
 * flags, free (on a worker: the lease goes back, due at the retry). */
static void
test_engine_path(void)
{
	struct queue_msg *m[4];
	struct queue_content c;
	int res[2] = { QUEUE_RCPT_DELIVERED, QUEUE_RCPT_DEFERRED }, idx = 1;
	char *texts[2] = { (char *)"250 ok", (char *)"451 later" };
	char buf[32] = "", id[17];
	time_t now = time(NULL);

	TEST_ASSERT(queue_take_due(now, m, 4) == 1);
	memcpy(id, m[0]->id, sizeof(id));
	TEST_ASSERT(queue_take_due(now, m + 1, 4) == 0);	/* leased */
	TEST_ASSERT(queue_open_content(id, NULL, NULL, &c) == 0);
	TEST_ASSERT(c.len == 21 && queue_content_read(&c, 0, buf, 21) == 0);
	TEST_ASSERT_STREQ(buf, "Subject: front\n\nbody\n");
	queue_content_close(&c);
	TEST_ASSERT(queue_report(m[0], res, texts) == 1);
	TEST_ASSERT(m[0]->rcpts[0].state == QUEUE_STATE_DELIVERED);
	TEST_ASSERT(m[0]->rcpts[1].next_try >= now + 60);	/* retry_base */
	TEST_ASSERT(queue_set_rcpt_flags(m[0], &idx, 1,
	    QUEUE_RF_DELAY_DSN) == 0);
	TEST_ASSERT(value_is("SELECT flags FROM queue_rcpts WHERE queue_id "
	    "= $1 AND idx = 1", id, "2"));
	queue_msg_free(&m[0]);
	TEST_ASSERT(m[0] == NULL);
	TEST_ASSERT(wait_value("SELECT count(*) FROM queue WHERE id = $1 "
	    "AND lease_owner IS NULL AND next_attempt > now() + "
	    "interval '50 s'", id, "1", 5000));
	/* nothing due: the engine is told to look again within the poll */
	TEST_ASSERT(queue_take_due(time(NULL), m, 4) == 0);
	TEST_ASSERT(queue_next_due() <= time(NULL) + QUEUE_PG_POLL);
	TEST_ASSERT(queue_count() == 1);
}

/* Deleted by the admin while in delivery: ENOENT, no bounce. */
static void
test_gone(void)
{
	struct queue_msg *m[4];
	struct queue_content c;
	int res[2] = { QUEUE_RCPT_FAILED, QUEUE_RCPT_FAILED };
	char *err = NULL, id[17];

	TEST_ASSERT(q("UPDATE queue SET next_attempt = now()") == PG_OK);
	TEST_ASSERT(queue_take_due(time(NULL), m, 4) == 1);
	memcpy(id, m[0]->id, sizeof(id));
	TEST_ASSERT(queue_pg_admin_del(id, &err) == 0);
	errno = 0;
	TEST_ASSERT(queue_report(m[0], res, NULL) == -1 && errno == ENOENT);
	errno = 0;
	TEST_ASSERT(queue_open_content(id, NULL, NULL, &c) == -1 &&
	    errno == ENOENT && c.fd == -1);
	queue_msg_free(&m[0]);
	free(err);
}

/* A clean stop: leases of messages taken and never freed go back, due
 * now; later submits get ESHUTDOWN. */
static void
test_shutdown(void)
{
	struct queue_new n;
	struct queue_msg *m[4];
	char id[17];

	new_msg(&n);
	TEST_ASSERT(queue_submit_sync(&n) == 0);
	TEST_ASSERT(queue_take_due(time(NULL), m, 4) == 1);
	memcpy(id, m[0]->id, sizeof(id));
	TEST_ASSERT(value_is("SELECT lease_owner IS NOT NULL FROM queue "
	    "WHERE id = $1", id, "t"));
	queue_shutdown();
	TEST_ASSERT(value_is("SELECT lease_owner IS NULL AND next_attempt <= "
	    "now() FROM queue WHERE id = $1", id, "t"));
	new_msg(&n);
	TEST_ASSERT(queue_submit_sync(&n) == ESHUTDOWN);
	queue_msg_clear(m[0]);	/* the copy only: the queue is stopped */
	free(m[0]);
}

int
main(void)
{
	struct conf *c;
	char *err = NULL, *spool, dir[] = "/tmp/test-pg-queue-front.XXXXXX";

	if ((dsn = getenv("TEM_TEST_PG_DSN")) == NULL || *dsn == '\0') {
		fprintf(stderr, "test-pg-queue-front needs TEM_TEST_PG_DSN (a "
		    "database after tem db init); "
		    "tests/integration/test_pg_queue_engine.py runs it\n");
		test_failed = 1;
		return test_done("test-pg-queue-front");
	}
	loop_global_init();
	loop = loop_new();
	worker_pool_start(2);
	pg_conn_setup(dsn);
	c = conf_new_defaults(NULL);
	free(c->data_dir);
	c->data_dir = xstrdup(mkdtemp(dir));
	c->storage = CONF_STORAGE_POSTGRESQL;
	c->postgresql_dsn = xstrdup(dsn);
	c->queue_retry_base = 60;
	c->queue_lease_time = 5;
	if (queue_open(c, &err) < 0 || queue_listen(loop, &err) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	queue_set_wakeup(woken, NULL);
	TEST_RUN(test_submit);
	TEST_RUN(test_wakeup);
	TEST_RUN(test_engine_path);
	TEST_RUN(test_gone);
	TEST_RUN(test_shutdown);
	queue_set_wakeup(NULL, NULL);
	queue_unlisten();
	drain();
	worker_pool_stop();
	conf_free(&c);
	for (int i = 0; i < 3; i++) {	/* what queue_open made */
		static const char *const made[] = { "spool", "queue/lock",
		    "queue" };

		spool = xasprintf("%s/%s", dir, made[i]);
		if (remove(spool) < 0)
			fprintf(stderr, "  (remove %s: %s)\n", spool,
			    strerror(errno));
		free(spool);
	}
	rmdir(dir);
	pg_conn_cleanup();
	loop_free(&loop);
	return test_done("test-pg-queue-front");
}
