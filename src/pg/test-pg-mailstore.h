/*
 * test-pg-mailstore - what test-pg-mailstore.c (the unit tests) and
 * test-pg-mailload.c (restart and bench runs) share: the database and
 * the user they work as, SQL and result checks, appending from several
 * threads. Static, like util/test.h: one test binary includes it once,
 * before pg/test-pg.h (which uses its loop).
 */
#ifndef TEM_TEST_PG_MAILSTORE_H
#define TEM_TEST_PG_MAILSTORE_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/pg_conn.h"
#include "pg/pg_mailstore.h"
#include "util/clock.h"
#include "util/loop.h"
#include "util/xmalloc.h"

#include "pg/test-pg-sql.h"

static const char *dsn;		/* TEM_TEST_PG_DSN */
static struct loop *loop;	/* where pg_listen posts (test-pg.h) */
static int64_t user;		/* the users.id the tests work as */

/* sql's one value as a number (-1 on failure). */
static inline long long
qn(const char *sql)
{
	char *v = NULL, *err = NULL;
	long long n = -1;

	if (pg_query_value(&v, &err, sql, 0) == PG_OK && v != NULL)
		n = strtoll(v, NULL, 10);
	else
		fprintf(stderr, "  (%s: %s)\n", sql, err ? err : "no row");
	free(v);
	free(err);
	return n;
}

/* The call returned 0; else its error is shown. */
static inline bool
ok(int rc, char **err)
{
	if (rc != PG_OK)
		fprintf(stderr, "  rc %d: %s\n", rc, *err ? *err : "");
	XFREE(err);
	return rc == PG_OK;
}

/* The call failed with want. */
static inline bool
fails(int rc, char **err, int want)
{
	if (rc != want)
		fprintf(stderr, "  rc %d, want %d: %s\n", rc, want,
		    *err ? *err : "");
	XFREE(err);
	return rc == want;
}

/* The id of the user's folder name, -1 when none. */
static inline int64_t
folder_id(const char *name)
{
	int64_t id = -1;
	char *err = NULL;

	if (pg_ms_folder_id(user, name, &id, &err) != PG_OK)
		fprintf(stderr, "  (folder %s: %s)\n", name, err);
	free(err);
	return id;
}

static inline uint32_t
append_text(const char *folder, const char *text)
{
	uint32_t uv, uid = 0;
	char *err = NULL;

	if (!ok(pg_ms_append(user, folder, text, strlen(text), 0, NULL, 0,
	    &uv, &uid, &err), &err))
		return 0;
	return uid;
}

struct appender {
	int		 count;
	const char	*folder;
	uint32_t	*uids;
	int		 failed;
	double		 secs;
};

static inline void *
append_thread(void *arg)
{
	struct appender *a = arg;
	char body[4096];
	uint64_t t0 = clock_mono_ms();

	memset(body, 'x', sizeof(body));
	for (size_t i = 0; i < sizeof(body) / 80; i++)
		memcpy(body + i * 80 + 78, "\r\n", 2);
	a->uids = xcalloc((size_t)a->count, sizeof(*a->uids));
	for (int i = 0; i < a->count; i++) {
		char *err = NULL;
		uint32_t uv;

		if (pg_ms_append(user, a->folder, body, sizeof(body), 0, NULL,
		    0, &uv, &a->uids[i], &err) != PG_OK) {
			fprintf(stderr, "  append: %s\n", err);
			a->failed++;
		}
		free(err);
	}
	a->secs = (double)(clock_mono_ms() - t0) / 1000;
	pg_conn_close();
	return NULL;
}

/* threads x count appends, thread i to folders[i] (one for all when
 * folders[1] is NULL), each thread its connection. */
static inline int
appenders(const char *const *folders, int threads, int count,
    struct appender *a)
{
	pthread_t t[8];
	int failed = 0;

	for (int i = 0; i < threads; i++) {
		a[i] = (struct appender){ .count = count,
		    .folder = folders[1] != NULL ? folders[i] : folders[0] };
		pthread_create(&t[i], NULL, append_thread, &a[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		failed += a[i].failed;
	}
	return failed;
}

#endif
