/*
 * counters_shared - the local abuse counters mirrored to and from the
 * cluster's (see counters_shared.h): a bounded queue of events and one
 * thread applying them with counters_pg.
 *
 * Trust: keys are client addresses and user names (from the network):
 * copied, their length bounded, handed to counters_pg as parameters.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/authfail.h"
#include "auth/counters_pg.h"
#include "auth/counters_shared.h"
#include "auth/ratelimit.h"
#include "pg/pg_conn.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* The longest window or lock-out in use (the submission limits' hour):
 * an older row is over and may go. */
#define PURGE_OLDER_THAN	3600
#define PURGE_LIMIT		1000

enum ev_kind { EV_FAIL, EV_CHECK, EV_TAKE };

struct ev {
	enum ev_kind	 kind;
	char		*key;
	unsigned	 n, max, window;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_t thread;
static bool running, stopping;
static struct ev queue[COUNTERS_SHARED_QUEUE];
static size_t head, count;
static bool away;		/* the last call failed (logged once) */

static void
push(enum ev_kind kind, const char *key, unsigned n, unsigned max,
    unsigned window)
{
	struct ev *e;

	if (!__atomic_load_n(&running, __ATOMIC_ACQUIRE) ||
	    strlen(key) > COUNTERS_PG_KEY_MAX)
		return;
	pthread_mutex_lock(&mu);
	if (running && count < COUNTERS_SHARED_QUEUE) {
		e = &queue[(head + count++) % COUNTERS_SHARED_QUEUE];
		e->kind = kind;
		e->key = xstrdup(key);
		e->n = n;
		e->max = max;
		e->window = window;
		pthread_cond_signal(&cond);
	}
	pthread_mutex_unlock(&mu);
}

void
counters_shared_authfail(const char *ip)
{
	push(EV_FAIL, ip, 0, 0, 0);
}

void
counters_shared_authfail_check(const char *ip)
{
	push(EV_CHECK, ip, 0, 0, 0);
}

void
counters_shared_take(const char *key, unsigned n, unsigned max,
    unsigned window)
{
	if (max > 0)
		push(EV_TAKE, key, n, max, window);
}

/* One line when the database goes away and one when it is back. */
static void
outcome(int r, char *err)
{
	if (r < 0 && !away)
		log_warn("- auth counters-shared-unavailable error=\"%s\" "
		    "(local counters only)", err ? err : "");
	else if (r >= 0 && away)
		log_info("- auth counters-shared-available");
	away = r < 0;
	free(err);
}

static void
apply(const struct ev *e)
{
	char *err = NULL;
	unsigned delay;
	bool locked;
	int r;

	switch (e->kind) {
	case EV_FAIL:
		r = counters_pg_authfail_record(e->key, &delay, &err);
		if (r < 0)
			break;
		/* FALLTHROUGH: is it locked out on the cluster now? */
		__attribute__((fallthrough));
	case EV_CHECK:
		r = counters_pg_authfail_state(e->key, &locked, &delay, &err);
		if (r == 0 && locked)
			authfail_lock(e->key);
		break;
	case EV_TAKE:
		r = counters_pg_take(e->key, e->n, e->max, e->window, &err);
		if (r == 0)	/* over on the cluster: full here too */
			ratelimit_fill(e->key, e->max, e->window);
		break;
	default:
		r = 0;
	}
	outcome(r, err);
}

static void *
run(void *arg)
{
	struct timespec next, now;
	struct ev e;
	char *err = NULL;

	(void)arg;
	clock_gettime(CLOCK_REALTIME, &next);
	next.tv_sec += COUNTERS_SHARED_PURGE_S;
	pthread_mutex_lock(&mu);
	for (;;) {
		while (count == 0 && !stopping &&
		    pthread_cond_timedwait(&cond, &mu, &next) != ETIMEDOUT)
			;
		if (count == 0 && stopping)
			break;
		if (count == 0) {	/* the purge's turn */
			pthread_mutex_unlock(&mu);
			outcome(counters_pg_purge(PURGE_OLDER_THAN, PURGE_LIMIT,
			    &err) < 0 ? -1 : 0, err);
			err = NULL;
			clock_gettime(CLOCK_REALTIME, &now);
			next = now;
			next.tv_sec += COUNTERS_SHARED_PURGE_S;
			pthread_mutex_lock(&mu);
			continue;
		}
		e = queue[head];
		head = (head + 1) % COUNTERS_SHARED_QUEUE;
		count--;
		pthread_mutex_unlock(&mu);
		apply(&e);
		free(e.key);
		pthread_mutex_lock(&mu);
	}
	pthread_mutex_unlock(&mu);
	pg_conn_close();
	return NULL;
}

void
counters_shared_start(void)
{
	int e;

	if (running)
		return;
	stopping = false;
	__atomic_store_n(&running, true, __ATOMIC_RELEASE);
	if ((e = pthread_create(&thread, NULL, run, NULL)) != 0) {
		running = false;
		log_error("- auth counters-shared-failed error=\"%s\"",
		    strerror(e));
	}
}

void
counters_shared_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&mu);
	/* what is queued is dropped: the process is going away */
	while (count > 0) {
		free(queue[head].key);
		head = (head + 1) % COUNTERS_SHARED_QUEUE;
		count--;
	}
	stopping = true;
	__atomic_store_n(&running, false, __ATOMIC_RELEASE);
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&mu);
	pthread_join(thread, NULL);
}
