/*
 * test-pg-mailload - the mail store on PostgreSQL (pg_mailstore.h) under
 * load, on the live database TEM_TEST_PG_DSN names (after tem db init);
 * tests/integration/test_pg_mailstore.py runs it. Modes (argv[1]):
 *
 *   append-restart  two threads append to one folder and keep going
 *                   while the driver restarts the database: prints
 *                   "ready" after the first acknowledged appends, then
 *                   runs until each thread saw the database go (only
 *                   PG_UNAVAILABLE allowed) and come back (20 appends
 *                   acknowledged after), checks every acknowledged
 *                   message is there byte for byte, prints "survived".
 *   bench           appends per second (1 thread, 4 into one folder, 4
 *                   into a folder each), append to NOTIFY at a listener,
 *                   a 10,000-message SELECT state read, EXPLAIN ANALYZE
 *                   of the hot queries (measurements only, nothing
 *                   asserted).
 *   bench-big       a 10 MB message: APPEND and whole read, best of 5,
 *                   and the process's peak RSS (measurements only).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pg/pg_conn.h"
#include "pg/pg_listen.h"
#include "pg/pg_mailstore.h"
#include "pg/test-pg-mailstore.h"
#include "pg/test-pg.h"
#include "util/clock.h"
#include "util/xmalloc.h"

/* ---- append-restart ------------------------------------------------ */

#define RESTART_THREADS	2
#define RESTART_AFTER	20	/* appends acknowledged after the return */

struct restarter {
	int		 id;
	uint32_t	*uids;
	char		**bodies;
	size_t		 n, cap;
	int		 unavailable, other, after;
	volatile int	*stop;
};

static void *
restart_thread(void *arg)
{
	struct restarter *r = arg;
	uint64_t end = clock_mono_ms() + 60000;

	for (int i = 0; !*r->stop && clock_mono_ms() < end &&
	    !(r->unavailable > 0 && r->after >= RESTART_AFTER); i++) {
		char *body = xasprintf("Subject: t%d-%d\r\n\r\nbody\r\n",
		    r->id, i), *err = NULL;
		uint32_t uv, uid;
		int rc = pg_ms_append(user, "Restart", body, strlen(body), 0,
		    NULL, 0, &uv, &uid, &err);

		if (rc == PG_OK) {
			if (r->n == r->cap) {
				r->cap = r->cap ? 2 * r->cap : 64;
				r->uids = xrealloc(r->uids, r->cap *
				    sizeof(*r->uids));
				r->bodies = xrealloc(r->bodies, r->cap *
				    sizeof(*r->bodies));
			}
			r->uids[r->n] = uid;
			r->bodies[r->n++] = body;
			body = NULL;
			if (r->unavailable > 0)
				r->after++;
		} else if (rc == PG_UNAVAILABLE) {
			r->unavailable++;
			usleep(20000);	/* pg_conn backs off anyway */
		} else {
			fprintf(stderr, "append %d: %s\n", rc, err);
			r->other++;
		}
		free(err);
		free(body);
	}
	pg_conn_close();
	return NULL;
}

static int
append_restart(void)
{
	struct restarter r[RESTART_THREADS];
	pthread_t t[RESTART_THREADS];
	volatile int stop = 0;
	struct pg_ms_state st;
	char *err = NULL;
	int bad = 0, unavailable = 0, other = 0;
	size_t acked = 0;
	bool ready = false;

	/* a user of its own, whatever ran before */
	if (q("INSERT INTO domains VALUES ('r.test') ON CONFLICT DO NOTHING") !=
	    PG_OK || q("INSERT INTO users(address, domain, hash) VALUES "
	    "('restart@r.test', 'r.test', 'x') ON CONFLICT DO NOTHING") !=
	    PG_OK || pg_ms_user_id("restart@r.test", &user, &err) != PG_OK ||
	    pg_ms_create(user, "Restart", 0, NULL, &err) != PG_OK) {
		fprintf(stderr, "setup: %s\n", err ? err : "");
		free(err);
		return 1;
	}
	for (int i = 0; i < RESTART_THREADS; i++) {
		r[i] = (struct restarter){ .id = i, .stop = &stop };
		pthread_create(&t[i], NULL, restart_thread, &r[i]);
	}
	for (int w = 0; w < 1000 && !ready; w++) {	/* 10 s */
		ready = r[0].n >= 5 && r[1].n >= 5;
		usleep(10000);
	}
	if (!ready)
		stop = 1;
	printf("%s\n", ready ? "ready" : "not ready");
	fflush(stdout);
	for (int i = 0; i < RESTART_THREADS; i++) {
		pthread_join(t[i], NULL);
		unavailable += r[i].unavailable;
		other += r[i].other;
		acked += r[i].n;
		if (r[i].unavailable == 0 || r[i].after < RESTART_AFTER)
			bad++;
	}
	/* every acknowledged message is there, byte for byte */
	if (pg_ms_select(user, "Restart", &st, &err) != PG_OK) {
		fprintf(stderr, "select: %s\n", err);
		XFREE(&err);
		bad++;
	}
	for (int i = 0; i < RESTART_THREADS; i++) {
		for (size_t j = 0; j < r[i].n; j++) {
			char *data = NULL;
			size_t len = 0;

			if (pg_ms_read(st.mailbox_id, r[i].uids[j], 0, 0,
			    &data, &len, &err) != PG_OK || len !=
			    strlen(r[i].bodies[j]) || memcmp(data,
			    r[i].bodies[j], len) != 0) {
				fprintf(stderr, "lost uid %u: %s\n",
				    r[i].uids[j], err ? err : "differs");
				bad++;
			}
			XFREE(&err);
			free(data);
			free(r[i].bodies[j]);
		}
		free(r[i].bodies);
		free(r[i].uids);
	}
	printf("%s (acked %zu, in folder %zu, unavailable %d, other %d)\n",
	    bad == 0 && other == 0 ? "survived" : "FAILED", acked, st.n,
	    unavailable, other);
	pg_ms_state_free(&st);
	return bad == 0 && other == 0 ? 0 : 1;
}

/* ---- bench (measurements, nothing asserted) ------------------------ */

static void
explain(const char *sql)
{
	PGresult *res = NULL;
	char *err = NULL;

	if (pg_query(&res, &err, sql, 0) != PG_OK) {
		printf("  %s\n", err);
		free(err);
		return;
	}
	for (int i = 0; i < PQntuples(res); i++)
		printf("    %s\n", PQgetvalue(res, i, 0));
	PQclear(res);
}

static void
bench_appends(const char *const *folders, int threads, int count)
{
	struct appender a[8];
	char *err = NULL;
	uint64_t t0;
	double secs;
	int failed;

	for (int i = 0; i < threads && folders[i] != NULL; i++) {
		pg_ms_create(user, folders[i], 0, NULL, &err);
		XFREE(&err);
	}
	t0 = clock_mono_ms();
	failed = appenders(folders, threads, count, a);
	secs = (double)(clock_mono_ms() - t0) / 1000;
	for (int i = 0; i < threads; i++)
		free(a[i].uids);
	printf("append 4 KiB, %d thread(s) x %d into %s: %.2f s, %.0f "
	    "appends/s (%d failed)\n", threads, count, folders[1] != NULL ?
	    "a folder each" : "one folder", secs, threads * count / secs,
	    failed);
}

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* From an append's return to its NOTIFY on a listener's loop: what a
 * session on another node waits at most, less its own re-read. */
static void
bench_notify(void)
{
	struct heard h = { 0 };
	struct pg_listen *l;
	char *err = NULL;
	uint64_t t0, sum = 0, worst = 0;
	int n = 0;

	if ((l = pg_listen_start(dsn, &err)) == NULL ||
	    pg_listen_add(l, "tem_mailbox", loop, on_notify, on_resync, &h,
	    &err) < 0 || !run_until(&h.resynced, 1, 10000)) {
		fprintf(stderr, "listen: %s\n", err ? err : "no resync");
		free(err);
		pg_listen_free(&l);
		return;
	}
	for (int i = 0; i < 200; i++) {
		int want = h.notified + 1;

		t0 = now_us();
		if (append_text("One", "n\r\n") == 0 ||
		    !run_until(&h.notified, want, 5000))
			break;
		t0 = now_us() - t0;
		sum += t0;
		worst = t0 > worst ? t0 : worst;
		n++;
	}
	printf("append until its NOTIFY reached a listener, %d appends: "
	    "mean %.2f ms, worst %.2f ms\n", n,
	    n ? (double)sum / n / 1000 : 0.0, (double)worst / 1000);
	pg_listen_free(&l);
	drain();
}

/* The bench's user (user), made when missing, its folders set up. */
static int
bench_user(char **err)
{
	if (q("INSERT INTO domains VALUES ('b.test') ON CONFLICT DO NOTHING") !=
	    PG_OK || q("INSERT INTO users(address, domain, hash) VALUES "
	    "('bench@b.test', 'b.test', 'x') ON CONFLICT DO NOTHING") != PG_OK)
		return PG_ERROR;
	if (pg_ms_user_id("bench@b.test", &user, err) != PG_OK)
		return PG_ERROR;
	return pg_ms_user_init(user, err);
}

static int
bench(void)
{
	char *err = NULL, sql[1024];
	struct pg_ms_state st;
	long long id;
	uint64_t best = UINT64_MAX, t0;

	if (bench_user(&err) != PG_OK) {
		fprintf(stderr, "setup: %s\n", err ? err : "");
		free(err);
		return 1;
	}
	bench_appends((const char *[]){ "One", NULL }, 1, 1000);
	bench_appends((const char *[]){ "Four", NULL }, 4, 500);
	bench_appends((const char *[]){ "F1", "F2", "F3", "F4" }, 4, 500);
	bench_notify();
	/* a 10,000-message folder, filled in SQL (one shared blob) */
	pg_ms_create(user, "Big", 0, NULL, &err);
	XFREE(&err);
	id = folder_id("Big");
	snprintf(sql, sizeof(sql), "WITH b AS (INSERT INTO blobs(size, refs, "
	    "data) VALUES (3, 10000, decode('780d0a', 'hex')) RETURNING id) "
	    "INSERT INTO messages(mailbox_id, uid, modseq, blob_id, size, "
	    "internaldate, flags, keywords) SELECT %lld, g, g + 1, b.id, 3, "
	    "now(), g %% 32, CASE WHEN g %% 7 = 0 THEN '{$Label1}'::text[] "
	    "ELSE '{}' END FROM b, generate_series(1, 10000) g", id);
	if (q(sql) != PG_OK)
		return 1;
	snprintf(sql, sizeof(sql), "UPDATE mailboxes SET uidnext = 10001, "
	    "highestmodseq = 10001 WHERE id = %lld", id);
	if (q(sql) != PG_OK)
		return 1;
	/* tables of some size, so the plans are those of a used system:
	 * 3,000 more folders, 2,000 expunged UIDs of Big */
	snprintf(sql, sizeof(sql), "INSERT INTO mailboxes(user_id, name, "
	    "uidvalidity) SELECT %lld, 'f' || g, g FROM generate_series(1, "
	    "3000) g", (long long)user);
	if (q(sql) != PG_OK)
		return 1;
	snprintf(sql, sizeof(sql), "INSERT INTO expunged SELECT %lld, "
	    "20000 + g, g * 5 FROM generate_series(1, 2000) g", id);
	if (q(sql) != PG_OK || q("ANALYZE") != PG_OK)
		return 1;
	for (int i = 0; i < 5; i++) {
		t0 = clock_mono_ms();
		if (pg_ms_select(user, "Big", &st, &err) != PG_OK) {
			fprintf(stderr, "select: %s\n", err);
			free(err);
			return 1;
		}
		if (clock_mono_ms() - t0 < best)
			best = clock_mono_ms() - t0;
		if (i == 4)
			printf("SELECT state of %zu messages: best of 5 "
			    "%llu ms\n", st.n, (unsigned long long)best);
		pg_ms_state_free(&st);
	}
	t0 = clock_mono_ms();
	for (int i = 0; i < 100; i++) {
		if (pg_ms_changes(id, 9990, &st, &err) != PG_OK) {
			fprintf(stderr, "changes: %s\n", err);
			free(err);
			return 1;
		}
		pg_ms_state_free(&st);
	}
	printf("CHANGEDSINCE/VANISHED read (10 changed of 10,000): %.2f ms "
	    "each\n", (double)(clock_mono_ms() - t0) / 100);
	printf("\nthe SELECT list:\n");
	snprintf(sql, sizeof(sql), "EXPLAIN ANALYZE SELECT uid, modseq, flags, "
	    "array_to_string(keywords, ' '), size, extract(epoch FROM "
	    "internaldate)::bigint FROM messages WHERE mailbox_id = %lld "
	    "ORDER BY uid", id);
	explain(sql);
	printf("CHANGEDSINCE:\n");
	snprintf(sql, sizeof(sql), "EXPLAIN ANALYZE SELECT uid FROM messages "
	    "WHERE mailbox_id = %lld AND modseq > 9990 ORDER BY uid", id);
	explain(sql);
	printf("VANISHED:\n");
	snprintf(sql, sizeof(sql), "EXPLAIN ANALYZE SELECT coalesce(array_agg("
	    "uid ORDER BY uid), '{}') FROM expunged WHERE mailbox_id = %lld "
	    "AND modseq > 9990", id);
	explain(sql);
	printf("the folder row of APPEND (EXPLAIN only):\n");
	snprintf(sql, sizeof(sql), "EXPLAIN UPDATE mailboxes SET uidnext = "
	    "uidnext + 1 WHERE user_id = %lld AND name = 'Big'",
	    (long long)user);
	explain(sql);
	printf("STORE's rows:\n");
	snprintf(sql, sizeof(sql), "EXPLAIN ANALYZE SELECT uid FROM messages "
	    "WHERE mailbox_id = %lld AND uid = ANY('{5,500,5000}'::bigint[])",
	    id);
	explain(sql);
	printf("the foreign key check when a blob is deleted:\n");
	explain("EXPLAIN ANALYZE SELECT count(*) FROM messages WHERE blob_id = "
	    "1");
	return 0;
}

/* The process's peak resident set (VmHWM), in KiB. */
static long
peak_rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmHWM:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	if (f != NULL)
		fclose(f);
	return kb;
}

static int
bench_big(void)
{
	enum { BIG = 10 * 1024 * 1024 };
	char *err = NULL, *msg = xmalloc(BIG), *back;
	uint64_t best_w = UINT64_MAX, best_r = UINT64_MAX, t0;
	long rss0;
	uint32_t uv, uid;
	size_t n;
	int rc = 1;

	for (size_t i = 0; i < BIG; i++)
		msg[i] = (i % 78 == 76) ? '\r' : (i % 78 == 77) ? '\n' :
		    (char)('a' + i % 26);
	if (bench_user(&err) != PG_OK ||
	    pg_ms_create(user, "Large", 0, NULL, &err) != PG_OK)
		goto out;
	rss0 = peak_rss_kb();
	for (int i = 0; i < 5; i++) {
		t0 = now_us();
		if (pg_ms_append(user, "Large", msg, BIG, 0, NULL, 0, &uv,
		    &uid, &err) != PG_OK)
			goto out;
		best_w = now_us() - t0 < best_w ? now_us() - t0 : best_w;
		t0 = now_us();
		if (pg_ms_read(folder_id("Large"), uid, 0, 0, &back, &n,
		    &err) != PG_OK)
			goto out;
		best_r = now_us() - t0 < best_r ? now_us() - t0 : best_r;
		if (n != BIG || memcmp(back, msg, BIG) != 0)
			fprintf(stderr, "read back differs\n");
		free(back);
	}
	printf("10 MB message: APPEND best of 5 %.1f ms, read %.1f ms; peak "
	    "RSS %ld KiB, %ld KiB above the set-up\n", (double)best_w / 1000,
	    (double)best_r / 1000, peak_rss_kb(), peak_rss_kb() - rss0);
	rc = 0;
out:
	if (err != NULL)
		fprintf(stderr, "bench-big: %s\n", err);
	free(err);
	free(msg);
	return rc;
}

int
main(int argc, char **argv)
{
	int rc = 2;

	if ((dsn = getenv("TEM_TEST_PG_DSN")) == NULL || *dsn == '\0' ||
	    argc != 2) {
		fprintf(stderr, "usage: TEM_TEST_PG_DSN=... test-pg-mailload "
		    "append-restart|bench|bench-big\n");
		return 2;
	}
	loop_global_init();
	loop = loop_new();
	pg_conn_setup(dsn);
	if (strcmp(argv[1], "append-restart") == 0)
		rc = append_restart();
	else if (strcmp(argv[1], "bench") == 0)
		rc = bench();
	else if (strcmp(argv[1], "bench-big") == 0)
		rc = bench_big();
	pg_conn_cleanup();
	loop_free(&loop);
	return rc;
}
