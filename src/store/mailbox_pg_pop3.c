/*
 * mailbox_pg_pop3 - POP3's exclusive access to a maildrop (RFC 1939: one
 * session per maildrop) across the nodes of a cluster: a lease row in
 * pop3_locks(user_id, owner, until). Taking is one statement (an
 * INSERT that, on conflict, takes the row over only when its lease ran
 * out, or when it is this process's own stale row: mailbox_pg.c's
 * per-process flag says no session here holds it); giving back deletes
 * it. A renewer thread, started at the first take, extends this
 * process's held leases every TTL/3, so a node killed -9 frees its
 * users' maildrops within the TTL (90 s; TEM_TEST_POP3_LOCK_TTL sets
 * it for tests, read once). A give-back that fails (the database away)
 * leaves the row to run out.
 *
 * Blocking: called on worker threads (POP3 login and close) and on the
 * renewer's own thread, never on a loop.
 *
 * Trust: user ids come from opened users; nothing from clients.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pg/pg_conn.h"
#include "store/mailbox.h"
#include "store/mailbox_pg.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define TTL_DEFAULT	90	/* seconds a lease lasts without renewal */
#define TTL_MIN		3

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static char owner[128];		/* host:pid:start, set once */
static char ttl_s[16];		/* the TTL in seconds, as a parameter */
static int ttl = TTL_DEFAULT;
/* Under mu: the users this process holds, and the renewer. */
static int64_t *held;
static size_t n_held, cap_held;
static bool running, stopping, renew_failed;
static pthread_t renewer;

static void
setup(void)
{
	const char *t = getenv("TEM_TEST_POP3_LOCK_TTL");
	char host[64] = "";

	if (t != NULL && atoi(t) >= TTL_MIN && atoi(t) <= TTL_DEFAULT)
		ttl = atoi(t);
	snprintf(ttl_s, sizeof(ttl_s), "%d", ttl);
	if (gethostname(host, sizeof(host) - 1) < 0)
		snprintf(host, sizeof(host), "unknown");
	snprintf(owner, sizeof(owner), "%s:%ld:%lld", host, (long)getpid(),
	    (long long)time(NULL));
}

/* Extends the leases of ids[0..n) that this process still owns. */
static void
renew(const int64_t *ids, size_t n)
{
	struct buf a;
	char *err = NULL;
	enum pg_rc rc;

	buf_init(&a, 0);
	buf_append(&a, "{", 1);
	for (size_t i = 0; i < n; i++)
		buf_printf(&a, "%s%lld", i ? "," : "", (long long)ids[i]);
	buf_append(&a, "}", 1);
	rc = pg_query(NULL, &err, "UPDATE pop3_locks SET until = now() + "
	    "make_interval(secs => $2::int) WHERE owner = $1 AND user_id = "
	    "ANY($3::bigint[])", 3, owner, ttl_s, buf_cstr(&a));
	buf_free(&a);
	/* one line when renewing starts failing and one when it works */
	if (rc != PG_OK && !renew_failed)
		log_warn("- pop3 lock-renew-failed held=%zu error=\"%s\"", n,
		    err ? err : "?");
	else if (rc == PG_OK && renew_failed)
		log_info("- pop3 lock-renewed held=%zu", n);
	renew_failed = rc != PG_OK;
	free(err);
}

static void *
renewer_main(void *arg)
{
	struct timespec until;
	char *err = NULL;

	(void)arg;
	pthread_mutex_lock(&mu);
	while (!stopping) {
		until = clock_real_after((unsigned)ttl * 1000 / 3);
		while (!stopping && pthread_cond_timedwait(&cv, &mu, &until) !=
		    ETIMEDOUT)
			;
		if (stopping || n_held == 0)
			continue;
		size_t n = n_held;
		int64_t *ids = xmemdup(held, n * sizeof(*held));
		pthread_mutex_unlock(&mu);
		renew(ids, n);
		free(ids);
		pthread_mutex_lock(&mu);
	}
	pthread_mutex_unlock(&mu);
	/* what sessions still hold at the stop: free for the other nodes */
	if (pg_query(NULL, &err, "DELETE FROM pop3_locks WHERE owner = $1",
	    1, owner) != PG_OK) {
		log_warn("- pop3 lock-release-failed error=\"%s\"",
		    err ? err : "?");
		free(err);
	}
	return NULL;
}

int
mbox_pg_pop3_take(int64_t user_id, char **error_r)
{
	char id[24], *got = NULL, *err = NULL;
	enum pg_rc rc;

	pthread_once(&once, setup);
	snprintf(id, sizeof(id), "%lld", (long long)user_id);
	rc = pg_query_value(&got, &err, "INSERT INTO pop3_locks(user_id, "
	    "owner, until) VALUES ($1, $2, now() + make_interval(secs => "
	    "$3::int)) ON CONFLICT (user_id) DO UPDATE SET owner = "
	    "EXCLUDED.owner, until = EXCLUDED.until WHERE pop3_locks.until < "
	    "now() OR pop3_locks.owner = EXCLUDED.owner RETURNING user_id", 3,
	    id, owner, ttl_s);
	if (rc != PG_OK)
		return mbox_pg_rc(rc, &err, error_r);
	if (got == NULL)
		return 0;	/* another node's session holds it */
	free(got);
	pthread_mutex_lock(&mu);
	*ARRAY_PUSH(held, n_held, cap_held) = user_id;
	if (!running && !stopping) {
		if ((errno = pthread_create(&renewer, NULL, renewer_main,
		    NULL)) == 0)
			running = true;
		else
			log_error("- pop3 lock-renewer-failed error=\"%s\"",
			    strerror(errno));
	}
	pthread_mutex_unlock(&mu);
	return 1;
}

void
mbox_pg_pop3_give(int64_t user_id)
{
	char id[24], *err = NULL;

	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < n_held; i++)
		if (held[i] == user_id) {
			held[i] = held[--n_held];
			break;
		}
	pthread_mutex_unlock(&mu);
	snprintf(id, sizeof(id), "%lld", (long long)user_id);
	if (pg_query(NULL, &err, "DELETE FROM pop3_locks WHERE user_id = $1 "
	    "AND owner = $2", 2, id, owner) != PG_OK) {
		/* the row runs out within the TTL (the renewer skips it) */
		log_warn("- pop3 lock-release-failed user_id=%s error=\"%s\"",
		    id, err ? err : "?");
		free(err);
	}
}

void
mbox_pg_pop3_shutdown(void)
{
	pthread_mutex_lock(&mu);
	stopping = true;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	if (running)
		pthread_join(renewer, NULL);
	pthread_mutex_lock(&mu);
	running = false;
	stopping = false;
	free(held);
	held = NULL;
	n_held = cap_held = 0;
	pthread_mutex_unlock(&mu);
}
