/*
 * counters_pg - the abuse counters of ratelimit.h and authfail.h shared
 * by every node of a cluster (storage = postgresql), on the UNLOGGED
 * counters(key, window_start, count) table of pg/pg_schema.c. Not wired
 * into the server yet (serve refuses postgresql): the per-process slot
 * tables of ratelimit.c and authfail.c stay what runs; this is the same
 * arithmetic, one statement an event, for when they are switched over.
 *
 * Each event is ONE autocommitted UPSERT (INSERT ... ON CONFLICT DO
 * UPDATE ... RETURNING): the row lock makes concurrent events on
 * several nodes add up exactly, and the window is judged by the
 * database's clock (now()), so nodes with skewed clocks agree. Keys:
 * "rate:" + the ratelimit key, "authfail:" + the client address.
 * An authfail row keeps the lock-out in the same two columns: once count
 * reaches AUTHFAIL_LOCK_COUNT, window_start is the last failure and the
 * address is locked until it + AUTHFAIL_LOCK_SECONDS (each further
 * failure extends it, as authfail.c does).
 *
 * Limits: keys longer than COUNTERS_PG_KEY_MAX octets are refused
 * (EINVAL-like: -1 with an error; callers treat them as the embedded
 * code does a full table). Rows whose window is over are deleted by
 * counters_pg_purge, a bounded number a call.
 *
 * Blocking (pg_conn.h): worker threads or tools only, never a loop.
 * Every function returns -1 with *error_r ("database unavailable: ...")
 * when the database cannot answer: a caller should then fall back to
 * the local table rather than refuse everyone.
 */
#ifndef TEM_COUNTERS_PG_H
#define TEM_COUNTERS_PG_H

#include <stdbool.h>

#define COUNTERS_PG_KEY_MAX	512

/* ratelimit_take on the shared table: adds n to key's count in its
 * current window of window seconds unless that would pass max. 1 taken,
 * 0 refused (nothing added), -1 error. max 0: no limit (1, no query). */
int counters_pg_take(const char *key, unsigned n, unsigned max,
    unsigned window, char **error_r);

/* authfail_record: counts a failure from ip; *delay_r the delay (ms)
 * before replying. 0 or -1. */
int counters_pg_authfail_record(const char *ip, unsigned *delay_r,
    char **error_r);
/* authfail_locked and authfail_delay in one read: 0 or -1. */
int counters_pg_authfail_state(const char *ip, bool *locked_r,
    unsigned *delay_r, char **error_r);

/* Deletes at most limit rows whose window began more than older_than
 * seconds ago (older_than >= the longest window or lock-out in use):
 * the number deleted, or -1. */
long counters_pg_purge(unsigned older_than, unsigned limit,
    char **error_r);

#endif
