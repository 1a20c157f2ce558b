/*
 * test-pg - what the PostgreSQL unit tests (src/pg/test-pg-*.c) share:
 * running their loop until a listener callback counted enough, and the
 * callbacks that count. Include once, after util/loop.h, in a test that
 * defines `static struct loop *loop;` before it.
 */
#ifndef TEM_TEST_PG_H
#define TEM_TEST_PG_H

#include <stdbool.h>
#include <stdio.h>

/* What a listener heard: counts and the last payload. */
struct heard {
	int	notified, resynced;
	char	payload[64];
};

/* (unused in a test that only waits: test-pg-queue-front) */
__attribute__((unused)) static void
on_notify(void *arg, const char *channel, const char *payload)
{
	struct heard *h = arg;

	(void)channel;
	h->notified++;
	snprintf(h->payload, sizeof(h->payload), "%s", payload);
	loop_break(loop);
}

__attribute__((unused)) static void
on_resync(void *arg, const char *channel)
{
	struct heard *h = arg;

	(void)channel;
	h->resynced++;
	loop_break(loop);
}

static void
deadline(void *arg)
{
	*(int *)arg = 1;
	loop_break(loop);
}

/* Runs the loop until a callback brings *count to want, or ms pass.
 * True when it got there. */
static bool
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
static void
drain(void)
{
	int never = 0;

	run_until(&never, 1, 20);
}

#endif
