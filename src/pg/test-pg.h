/*
 * test-pg - what the unit tests against a live PostgreSQL share
 * (src/pg/test-pg-*.c): the database they were given, a loop for
 * pg_listen's callbacks, running one SQL statement, and waiting on the
 * loop for notifications. Static, like util/test.h: one test binary
 * includes it once.
 */
#ifndef TEM_TEST_PG_H
#define TEM_TEST_PG_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "pg/pg_conn.h"
#include "util/loop.h"

static const char *dsn;		/* TEM_TEST_PG_DSN */
static struct loop *loop;	/* where pg_listen posts */

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

static inline void
deadline(void *arg)
{
	*(int *)arg = 1;
	loop_break(loop);
}

/* Runs the loop until a callback brings *count to want, or ms pass.
 * True when it got there. */
static inline bool
run_until(const int *count, int want, unsigned ms)
{
	int expired = 0;
	struct loop_timer *t = loop_timer_new(loop, deadline, &expired);

	loop_timer_add(t, ms);
	while (*count < want && !expired)
		loop_run(loop);
	loop_timer_free(&t);
	return *count >= want;
}

/* Lets the loop run what is still posted to it. */
static inline void
drain(void)
{
	int never = 0;

	run_until(&never, 1, 20);
}

/* What a pg_listen registration heard. */
struct heard {
	int	notified, resynced;
	char	payload[64];
};

static inline void
on_notify(void *arg, const char *channel, const char *payload)
{
	struct heard *h = arg;

	(void)channel;
	h->notified++;
	snprintf(h->payload, sizeof(h->payload), "%s", payload);
	loop_break(loop);
}

static inline void
on_resync(void *arg, const char *channel)
{
	struct heard *h = arg;

	(void)channel;
	h->resynced++;
	loop_break(loop);
}

#endif
