/*
 * test-pg-queue - unit tests of the shared queue on PostgreSQL
 * (queue/queue_pg.h). They need a live database with the tem schema:
 * TEM_TEST_PG_DSN names it; tests/integration/test_pg_queue.py starts
 * one and runs this binary (tests/run.sh leaves src/pg/test-pg-* out of
 * its unit pass). Without TEM_TEST_PG_DSN it fails, never skips.
 *
 * Modes for the multi-process tests of test_pg_queue.py:
 *   hold N        submits N messages, takes them (lease 3 s), prints
 *                 "held ID..." and waits to be killed (-9).
 *   drain N       takes until N messages were delivered (60 s at most),
 *                 prints "delivered ID..." and "owner-was-free".
 *   restart FILE  submits, takes and delivers in a loop; prints "ready",
 *                 then "recovered" once a database outage was followed
 *                 by a working submit and take; stops on a line on
 *                 stdin, drains the queue and writes "acked ID" and
 *                 "delivered ID" lines to FILE.
 *   submit N      submits N messages of two recipients, prints their ids.
 *   bench N       N submits, then takes of 10 with reports; prints rates.
 */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pg/pg_conn.h"
#include "pg/pg_listen.h"
#include "queue/queue_pg_int.h"
#include "util/loop.h"
#include "util/test.h"
#include "util/xmalloc.h"

static const char *dsn;
static struct loop *loop;

#include "pg/test-pg-sql.h"
#include "pg/test-pg.h"

/* ---- helpers ------------------------------------------------------ */

static void
empty_queue(void)
{
	char *err = NULL;

	if (pg_query(NULL, &err, "DELETE FROM queue", 0) != PG_OK ||
	    pg_query(NULL, &err, "DELETE FROM blobs", 0) != PG_OK)
		fprintf(stderr, "  (empty: %s)\n", err);
	free(err);
}

/* Submits a message with nrcpt recipients; its id into id (17 bytes). */
static int
submit(const char *body, int nrcpt, char *id)
{
	struct queue_rcpt r[4] = { 0 };
	struct queue_new m = { 0 };
	char *err = NULL, addr[4][32];
	int rc;

	for (int i = 0; i < nrcpt && i < 4; i++) {
		snprintf(addr[i], sizeof(addr[i]), "r%d@far.test", i);
		r[i].address = addr[i];
		r[i].notify = QUEUE_NOTIFY_FAILURE;
	}
	r[0].orcpt = (char *)"rfc822;\"Q\\uote\"@far.test";
	m.msg.sender = (char *)"s@a.test";
	m.msg.envid = (char *)"env1";
	m.msg.ret = QUEUE_RET_HDRS;
	m.msg.smtputf8 = true;
	m.msg.nrcpt = nrcpt;
	m.msg.rcpts = r;
	m.content = body;
	m.content_len = strlen(body);
	rc = queue_pg_submit(&m, &err);
	if (rc != PG_OK)
		fprintf(stderr, "  (submit: %s)\n", err);
	free(err);
	memcpy(id, m.msg.id, sizeof(m.msg.id));
	return rc;
}

static int
take(struct queue_msg **msgs, int max)
{
	char *err = NULL;
	int n = queue_pg_take_due(msgs, max, &err);

	if (n < 0)
		fprintf(stderr, "  (take: %s)\n", err);
	free(err);
	return n;
}

/* Reports every recipient of m as res; the pending count left. */
static int
report_all(struct queue_msg *m, int res)
{
	int results[4] = { res, res, res, res };
	char *texts[4] = { (char *)"250 ok", (char *)"451 later",
	    (char *)"250 ok", (char *)"250 ok" }, *err = NULL;
	int left = queue_pg_report(m, results, texts, &err);

	if (left < 0)
		fprintf(stderr, "  (report: %s)\n", err);
	free(err);
	return left;
}

/* ---- the life of a message -------------------------------------------- */

static void
test_deliver(void)
{
	struct queue_msg *m[4];
	struct queue_content c;
	char id[17], buf[64] = "", *err = NULL;

	empty_queue();
	TEST_ASSERT(submit("Subject: hi\n\nbody\n", 2, id) == PG_OK);
	TEST_ASSERT(queue_id_valid(id));
	TEST_ASSERT(take(m, 4) == 1);
	TEST_ASSERT_STREQ(m[0]->id, id);
	TEST_ASSERT_STREQ(m[0]->sender, "s@a.test");
	TEST_ASSERT_STREQ(m[0]->envid, "env1");
	TEST_ASSERT(m[0]->ret == QUEUE_RET_HDRS && m[0]->smtputf8 &&
	    !m[0]->eightbit && m[0]->size == 18 && m[0]->arrival > 0);
	TEST_ASSERT(m[0]->nrcpt == 2);
	TEST_ASSERT_STREQ(m[0]->rcpts[1].address, "r1@far.test");
	TEST_ASSERT_STREQ(m[0]->rcpts[0].orcpt,
	    "rfc822;\"Q\\uote\"@far.test");
	TEST_ASSERT(m[0]->rcpts[0].notify == QUEUE_NOTIFY_FAILURE &&
	    m[0]->rcpts[0].state == QUEUE_STATE_PENDING);
	/* leased: nobody takes it again meanwhile */
	TEST_ASSERT(take(m + 1, 4) == 0);
	TEST_ASSERT(value_is("SELECT lease_owner FROM queue WHERE id = $1",
	    id, queue_pg_node()));
	TEST_ASSERT(queue_pg_open_content(id, NULL, NULL, &c, &err) ==
	    PG_OK);
	TEST_ASSERT(c.len == 18 && queue_content_read(&c, 0, buf, 18) == 0);
	queue_content_close(&c);
	TEST_ASSERT_STREQ(buf, "Subject: hi\n\nbody\n");
	TEST_ASSERT(report_all(m[0], QUEUE_RCPT_DELIVERED) == 0);
	TEST_ASSERT(m[0]->rcpts[0].state == QUEUE_STATE_DELIVERED &&
	    m[0]->rcpts[0].attempts == 1);
	/* no pending left: the lease stays until the free removes it */
	TEST_ASSERT(take(m + 1, 4) == 0);
	queue_pg_msg_free(&m[0]);
	TEST_ASSERT(m[0] == NULL);
	TEST_ASSERT(value_is("SELECT count(*) FROM queue", NULL, "0"));
	TEST_ASSERT(value_is("SELECT count(*) FROM queue_rcpts", NULL, "0"));
	TEST_ASSERT(value_is("SELECT count(*) FROM blobs", NULL, "0"));
	TEST_ASSERT(queue_pg_open_content(id, NULL, NULL, &c, &err) ==
	    QUEUE_PG_GONE && c.fd == -1);
	free(err);
}

/* Deferred: next_attempt moves by the back-off and the message is not
 * taken before; flags stick; flush makes it due; a bad message is
 * refused. */
static void
test_defer(void)
{
	struct queue_msg *m[2];
	struct queue_new bad = { 0 };
	char id[17], *err = NULL;
	int results[2] = { QUEUE_RCPT_DELIVERED, QUEUE_RCPT_DEFERRED };
	int one = 1, left;

	empty_queue();
	TEST_ASSERT(submit("x\n", 2, id) == PG_OK);
	TEST_ASSERT(take(m, 2) == 1);
	left = queue_pg_report(m[0], results, NULL, &err);
	if (left != 1)
		fprintf(stderr, "  (report %d: %s)\n", left, err);
	TEST_ASSERT(left == 1);
	TEST_ASSERT(m[0]->rcpts[1].attempts == 1 &&
	    m[0]->rcpts[1].next_try >= time(NULL) + 59);
	TEST_ASSERT(value_is("SELECT extract(epoch FROM next_attempt - now()) "
	    "BETWEEN 55 AND 61 FROM queue WHERE id = $1", id, "t"));
	TEST_ASSERT(value_is("SELECT lease_owner IS NULL AND attempts = 1 "
	    "FROM queue WHERE id = $1", id, "t"));
	TEST_ASSERT(queue_pg_set_rcpt_flags(m[0], &one, 1, QUEUE_RF_DELAY_DSN,
	    &err) == PG_OK);
	queue_pg_msg_free(&m[0]);
	TEST_ASSERT(take(m, 2) == 0);		/* not due yet */
	TEST_ASSERT(value_is("SELECT count(*) FROM queue", NULL, "1"));
	TEST_ASSERT(queue_pg_admin_flush(&err) == 0);
	TEST_ASSERT(take(m, 2) == 1);
	TEST_ASSERT(m[0]->rcpts[0].state == QUEUE_STATE_DELIVERED);
	TEST_ASSERT(m[0]->rcpts[1].state == QUEUE_STATE_PENDING &&
	    m[0]->rcpts[1].flags == QUEUE_RF_DELAY_DSN &&
	    m[0]->rcpts[1].attempts == 1);
	TEST_ASSERT(m[0]->rcpts[0].last_error == NULL);	/* no text */
	/* abandoned without a report: due again at once */
	queue_pg_msg_free(&m[0]);
	TEST_ASSERT(take(m, 2) == 1);
	queue_pg_msg_free(&m[0]);
	/* past the limits: refused, nothing written */
	bad.msg.sender = (char *)"";
	TEST_ASSERT(queue_pg_submit(&bad, &err) == PG_ERROR);
	free(err);
	err = NULL;
	TEST_ASSERT(value_is("SELECT count(*) FROM blobs", NULL, "1"));
}

/* tem queue list / del on the database. */
static void
test_admin(void)
{
	struct queue_listing *list = NULL;
	struct queue_msg *m[1];
	size_t n = 0;
	char a[17], b[17], *err = NULL;
	int results[3] = { QUEUE_RCPT_DELIVERED, QUEUE_RCPT_DELIVERED,
	    QUEUE_RCPT_DELIVERED }, left;

	empty_queue();
	TEST_ASSERT(submit("a\n", 1, a) == PG_OK);
	TEST_ASSERT(submit("bb\n", 3, b) == PG_OK);
	TEST_ASSERT(queue_pg_admin_list(&list, &n, &err) == 0 && n == 2);
	TEST_ASSERT(list[0].damaged == NULL);
	TEST_ASSERT((strcmp(list[0].msg.id, a) == 0 &&
	    list[1].msg.nrcpt == 3 && list[1].msg.size == 3) ||
	    (strcmp(list[0].msg.id, b) == 0 && list[1].msg.nrcpt == 1));
	queue_listing_free(list, n);
	TEST_ASSERT(queue_pg_admin_del(a, &err) == 0);
	TEST_ASSERT(queue_pg_admin_del(a, &err) == -1);
	TEST_ASSERT(strncmp(err, "no message ", 11) == 0 &&
	    strstr(err, a) != NULL);
	free(err);
	err = NULL;
	TEST_ASSERT(queue_pg_admin_list(&list, &n, &err) == 0 && n == 1);
	TEST_ASSERT_STREQ(list[0].msg.id, b);
	queue_listing_free(list, n);
	TEST_ASSERT(value_is("SELECT count(*) FROM blobs", NULL, "1"));
	/* deleted while a node delivers it: the report says so */
	TEST_ASSERT(take(m, 1) == 1);
	TEST_ASSERT(queue_pg_admin_del(b, &err) == 0);
	left = queue_pg_report(m[0], results, NULL, &err);
	TEST_ASSERT(left == QUEUE_PG_GONE && strstr(err, "gone") != NULL);
	free(err);
	err = NULL;
	TEST_ASSERT(m[0]->rcpts[0].state == QUEUE_STATE_PENDING);
	queue_pg_msg_free(&m[0]);
	TEST_ASSERT(value_is("SELECT count(*) FROM blobs", NULL, "0"));
}

/* Content in several slices, half from memory and half from a file,
 * comes back whole, and scan sees every byte in order. */
static void
scan_sum(const char *p, size_t n, void *arg)
{
	size_t *sum = arg;

	for (size_t i = 0; i < n; i++)
		*sum = *sum * 31 + (unsigned char)p[i];
}

static void
test_big_content(void)
{
	size_t half = QUEUE_PG_SLICE + QUEUE_PG_SLICE / 4, want = 0, got = 0;
	char *mem = xmalloc(half), *file = xmalloc(half), *back, path[] =
	    "/tmp/test-pg-queue-XXXXXX", id[17], *err = NULL;
	struct queue_rcpt r = { .address = (char *)"big@far.test" };
	struct queue_new m = { 0 };
	struct queue_content c;
	int fd = mkstemp(path), rc;

	unlink(path);
	for (size_t i = 0; i < half; i++) {
		mem[i] = (char)('a' + i % 26);
		file[i] = (char)(i % 251);
	}
	scan_sum(mem, half, &want);
	scan_sum(file, half, &want);
	TEST_ASSERT(fd >= 0 && write(fd, "pad", 3) == 3 &&
	    write(fd, file, half) == (ssize_t)half);
	m.msg.sender = (char *)"";
	m.msg.nrcpt = 1;
	m.msg.rcpts = &r;
	m.content = mem;
	m.content_len = half;
	m.content_fd = fd;
	m.content_file_off = 3;
	m.content_file_len = half;
	empty_queue();
	rc = queue_pg_submit(&m, &err);
	close(fd);
	memcpy(id, m.msg.id, sizeof(id));
	TEST_ASSERT(rc == PG_OK);
	TEST_ASSERT(queue_pg_open_content(id, scan_sum, &got, &c, &err) ==
	    PG_OK);
	TEST_ASSERT(c.len == 2 * half && got == want);
	back = xmalloc(half);
	rc = queue_content_read(&c, half, back, half);
	queue_content_close(&c);
	TEST_ASSERT(rc == 0 && memcmp(back, file, half) == 0);
	free(back);
	free(mem);
	free(file);
}

/* ---- three takers ------------------------------------------------------- */

#define DRAIN_N		200
#define TAKERS		3

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static char seen_ids[DRAIN_N][17];
static int seen_count[DRAIN_N], seen_n, taker_errors;

static void
seen(const char *id)
{
	pthread_mutex_lock(&seen_lock);
	for (int i = 0; i < seen_n; i++)
		if (strcmp(seen_ids[i], id) == 0) {
			seen_count[i]++;
			pthread_mutex_unlock(&seen_lock);
			return;
		}
	if (seen_n < DRAIN_N) {
		snprintf(seen_ids[seen_n], 17, "%s", id);
		seen_count[seen_n++] = 1;
	} else
		taker_errors++;
	pthread_mutex_unlock(&seen_lock);
}

static void *
taker(void *arg)
{
	struct queue_msg *m[5];
	int n, empty = 0;

	(void)arg;
	while (empty < 3) {
		if ((n = take(m, 5)) < 0) {
			taker_errors++;
			break;
		}
		empty = n == 0 ? empty + 1 : 0;
		for (int i = 0; i < n; i++) {
			seen(m[i]->id);
			if (report_all(m[i], QUEUE_RCPT_DELIVERED) != 0)
				taker_errors++;
			queue_pg_msg_free(&m[i]);
		}
	}
	pg_conn_close();
	return NULL;
}

static void
test_three_takers(void)
{
	pthread_t t[TAKERS];
	char id[17];

	empty_queue();
	for (int i = 0; i < DRAIN_N; i++)
		TEST_ASSERT(submit("m\n", 1, id) == PG_OK);
	for (int i = 0; i < TAKERS; i++)
		pthread_create(&t[i], NULL, taker, NULL);
	for (int i = 0; i < TAKERS; i++)
		pthread_join(t[i], NULL);
	TEST_ASSERT(taker_errors == 0);
	TEST_ASSERT(seen_n == DRAIN_N);
	for (int i = 0; i < seen_n; i++)
		TEST_ASSERT(seen_count[i] == 1);
	TEST_ASSERT(value_is("SELECT count(*) FROM queue", NULL, "0"));
	TEST_ASSERT(value_is("SELECT count(*) FROM blobs", NULL, "0"));
}

/* The renewer keeps a long delivery's lease: after three lease times it
 * is still this node's and not due. */
static void
test_renew(void)
{
	struct queue_msg *m[2];
	char id[17];

	empty_queue();
	queue_pg_configure(60, 86400, 1);
	TEST_ASSERT(submit("r\n", 1, id) == PG_OK);
	TEST_ASSERT(take(m, 2) == 1);
	usleep(3200 * 1000);
	TEST_ASSERT(value_is("SELECT lease_owner = $1 AND lease_until > "
	    "now() AND next_attempt > now() FROM queue", queue_pg_node(),
	    "t"));
	TEST_ASSERT(take(m + 1, 1) == 0);
	TEST_ASSERT(report_all(m[0], QUEUE_RCPT_DELIVERED) == 0);
	queue_pg_msg_free(&m[0]);
	queue_pg_configure(60, 86400, 3);
}

/* A clean stop hands back what was taken and not freed, due now. */
static void
test_stop_releases(void)
{
	struct queue_msg *m[2];
	char id[17], *err = NULL;

	empty_queue();
	TEST_ASSERT(submit("s\n", 1, id) == PG_OK);
	TEST_ASSERT(take(m, 2) == 1);
	queue_pg_shutdown();
	TEST_ASSERT(value_is("SELECT lease_owner IS NULL AND next_attempt <= "
	    "now() FROM queue WHERE id = $1", id, "t"));
	queue_pg_msg_drop(&m[0]);
	TEST_ASSERT(queue_pg_init(60, 86400, 3, NULL, &err) == 0);
	TEST_ASSERT(take(m, 2) == 1);
	TEST_ASSERT(report_all(m[0], QUEUE_RCPT_DELIVERED) == 0);
	queue_pg_msg_free(&m[0]);
	TEST_ASSERT(value_is("SELECT count(*) FROM queue", NULL, "0"));
}

/* ---- NOTIFY ------------------------------------------------------------- */

static void
test_notify(void)
{
	struct heard h = { 0 };
	char *err = NULL, id[17];
	struct pg_listen *l = pg_listen_start(dsn, &err);

	TEST_ASSERT(l != NULL);
	TEST_ASSERT(pg_listen_add(l, QUEUE_PG_CHANNEL, loop, on_notify,
	    on_resync, &h, &err) == 0);
	TEST_ASSERT(run_until(&h.resynced, 1, 10000));
	TEST_ASSERT(submit("n\n", 1, id) == PG_OK);
	TEST_ASSERT(run_until(&h.notified, 1, 10000));
	TEST_ASSERT_STREQ(h.payload, id);
	TEST_ASSERT(queue_pg_admin_flush(&err) == 0);
	TEST_ASSERT(run_until(&h.notified, 2, 10000));
	TEST_ASSERT_STREQ(h.payload, "flush");
	pg_listen_free(&l);
	drain();
}

/* ---- modes for test_pg_queue.py ------------------------------------------ */

static int
mode_hold(int n)
{
	struct queue_msg **m = xcalloc((size_t)n, sizeof(*m));
	char id[17];
	int got;

	for (int i = 0; i < n; i++)
		if (submit("held\n", 1, id) != PG_OK)
			return 1;
	if ((got = take(m, n)) != n)
		return 1;
	printf("held");
	for (int i = 0; i < n; i++)
		printf(" %s", m[i]->id);
	printf("\n");
	fflush(stdout);
	for (;;)		/* the renewer keeps the leases until -9 */
		pause();
}

static int
mode_submit(int n)
{
	char id[17];

	for (int i = 0; i < n; i++) {
		if (submit("listed\n", 2, id) != PG_OK)
			return 1;
		printf("%s\n", id);
	}
	return 0;
}

static int
mode_drain(int want)
{
	struct queue_msg *m[8];
	time_t end = time(NULL) + 60;
	int done = 0, n;

	printf("node %s\n", queue_pg_node());
	while (done < want && time(NULL) < end) {
		if ((n = take(m, 8)) < 0)
			return 1;
		for (int i = 0; i < n; i++) {
			printf("delivered %s\n", m[i]->id);
			if (report_all(m[i], QUEUE_RCPT_DELIVERED) != 0)
				return 1;
			queue_pg_msg_free(&m[i]);
			done++;
		}
		if (n == 0)
			usleep(100 * 1000);	/* a poll: no listener here */
	}
	fflush(stdout);
	return done == want ? 0 : 1;
}

static bool
stdin_line(void)
{
	struct pollfd p = { .fd = 0, .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

/* One round: submit one message, take up to 5, deliver them. Returns
 * false on PG_UNAVAILABLE anywhere. */
static bool
restart_round(FILE *out, bool *outage)
{
	struct queue_msg *m[5];
	char id[17];
	int n, rc;

	rc = submit("restart\n", 1, id);
	if (rc == PG_OK)
		fprintf(out, "acked %s\n", id);
	else if (rc != PG_UNAVAILABLE)
		exit(2);
	if ((n = take(m, 5)) < 0) {
		if (n != PG_UNAVAILABLE)
			exit(3);
		*outage = true;
		return false;
	}
	for (int i = 0; i < n; i++) {
		char *err = NULL;
		int results[1] = { QUEUE_RCPT_DELIVERED };
		int left = queue_pg_report(m[i], results, NULL, &err);

		if (left == 0)
			fprintf(out, "delivered %s\n", m[i]->id);
		free(err);
		queue_pg_msg_free(&m[i]);
	}
	fflush(out);
	if (rc != PG_OK)
		*outage = true;
	return rc == PG_OK;
}

static int
mode_restart(const char *path)
{
	FILE *out = fopen(path, "w");
	bool outage = false, said = false, ok;
	time_t end;
	char line[16];

	if (out == NULL)
		return 1;
	restart_round(out, &outage);
	printf("ready\n");
	fflush(stdout);
	while (!stdin_line()) {
		ok = restart_round(out, &outage);
		if (ok && outage && !said) {
			printf("recovered\n");
			fflush(stdout);
			said = true;
		}
		usleep(20 * 1000);
	}
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 1;
	/* drain: leases of takes whose answer was lost run out first */
	end = time(NULL) + 60;
	for (;;) {
		size_t count;
		time_t due;
		char *err = NULL;

		if (queue_pg_next_due(&due, &count, &err) == PG_OK &&
		    count == 0)
			break;
		free(err);
		if (time(NULL) > end)
			return 1;
		restart_round(out, &outage);
		usleep(100 * 1000);
	}
	fclose(out);
	printf("drained\n");
	return 0;
}

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int
mode_bench(int n)
{
	char body[1025], id[17];
	struct queue_msg *m[10];
	double t0, t1, t2;
	int done = 0, got;

	memset(body, 'x', sizeof(body) - 2);
	body[sizeof(body) - 2] = '\n';
	body[sizeof(body) - 1] = '\0';
	empty_queue();
	t0 = now_s();
	for (int i = 0; i < n; i++)
		if (submit(body, 1, id) != PG_OK)
			return 1;
	t1 = now_s();
	while (done < n && (got = take(m, 10)) > 0)
		for (int i = 0; i < got; i++, done++) {
			if (report_all(m[i], QUEUE_RCPT_DELIVERED) != 0)
				return 1;
			queue_pg_msg_free(&m[i]);
		}
	t2 = now_s();
	printf("submit %d in %.2f s: %.0f/s\n", n, t1 - t0, n / (t1 - t0));
	printf("take+report+remove %d in %.2f s: %.0f/s\n", done, t2 - t1,
	    done / (t2 - t1));
	return done == n ? 0 : 1;
}

int
main(int argc, char **argv)
{
	char *err = NULL;
	int rc;

	if ((dsn = getenv("TEM_TEST_PG_DSN")) == NULL || *dsn == '\0') {
		fprintf(stderr, "test-pg-queue needs TEM_TEST_PG_DSN (a "
		    "database after tem db init); "
		    "tests/integration/test_pg_queue.py runs it\n");
		test_failed = 1;
		return test_done("test-pg-queue");
	}
	loop_global_init();
	loop = loop_new();
	pg_conn_setup(dsn);
	if (queue_pg_init(60, 86400, 3, NULL, &err) < 0) {
		fprintf(stderr, "%s\n", err);
		free(err);
		return 1;
	}
	if (argc > 2 && strcmp(argv[1], "hold") == 0)
		rc = mode_hold(atoi(argv[2]));
	else if (argc > 2 && strcmp(argv[1], "drain") == 0)
		rc = mode_drain(atoi(argv[2]));
	else if (argc > 2 && strcmp(argv[1], "restart") == 0)
		rc = mode_restart(argv[2]);
	else if (argc > 2 && strcmp(argv[1], "submit") == 0)
		rc = mode_submit(atoi(argv[2]));
	else if (argc > 2 && strcmp(argv[1], "bench") == 0)
		rc = mode_bench(atoi(argv[2]));
	else {
		TEST_RUN(test_deliver);
		TEST_RUN(test_defer);
		TEST_RUN(test_admin);
		TEST_RUN(test_big_content);
		TEST_RUN(test_three_takers);
		TEST_RUN(test_renew);
		TEST_RUN(test_stop_releases);
		TEST_RUN(test_notify);
		rc = test_done("test-pg-queue");
	}
	queue_pg_shutdown();
	pg_conn_cleanup();
	loop_free(&loop);
	return rc;
}
