/*
 * counters_shared - the abuse counters of ratelimit.h and authfail.h
 * across the nodes of a cluster (storage = postgresql), on the shared
 * table of counters_pg.h.
 *
 * The local tables stay what decides, at once, on the loop: they always
 * answer, so a database that is slow or away delays no login and refuses
 * none, and the lock-out after AUTHFAIL_LOCK_COUNT failures keeps working
 * on each node by itself. Each event the local tables count is also
 * queued, fire and forget, for one thread of its own that applies it to
 * the shared table (blocking libpq); what the cluster knows comes back
 * into the local tables: an address locked out on the cluster is locked
 * here too (authfail_lock), a key over its limit on the cluster is full
 * here for the rest of its window (ratelimit_fill). A check that finds
 * an address not locked here asks the cluster as well, for the next
 * attempt. So a limit holds across nodes up to the events in flight: a
 * client gets at most a try or two more per node, not a full count per
 * node.
 *
 * Limits: COUNTERS_SHARED_QUEUE events wait at most; when the queue is
 * full (the database slow or away) new events are left out: the local
 * tables alone count them. Keys over COUNTERS_PG_KEY_MAX are left out.
 * The thread purges ended windows (a bounded delete) every
 * COUNTERS_SHARED_PURGE_S seconds.
 *
 * Threads: start/stop from the main thread (start after pg_conn_setup);
 * the others from any thread, never blocking (a no-op unless started).
 */
#ifndef TEM_COUNTERS_SHARED_H
#define TEM_COUNTERS_SHARED_H

#define COUNTERS_SHARED_QUEUE	4096
#define COUNTERS_SHARED_PURGE_S	60

void counters_shared_start(void);
void counters_shared_stop(void);

/* A failed login from ip, counted locally. */
void counters_shared_authfail(const char *ip);
/* ip is not locked out here: is it on the cluster? (for the next try) */
void counters_shared_authfail_check(const char *ip);
/* n taken locally from key's window (ratelimit_take's arguments). */
void counters_shared_take(const char *key, unsigned n, unsigned max,
    unsigned window);

#endif
