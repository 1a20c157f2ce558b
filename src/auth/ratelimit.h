/*
 * ratelimit - fixed-window counters per key (an authenticated user, a
 * client address), shared by every protocol in the process.
 *
 * Used for: messages and recipients per hour per authenticated user
 * (submission_max_messages_per_hour, submission_max_recipients_per_hour)
 * and new connections per minute per address (max_connections_per_minute).
 * A fixed-size table: an attacker cycling keys only evicts old windows.
 * Thread-safe. On a cluster (storage = postgresql) what is taken is
 * mirrored to the nodes' shared counters (auth/counters_shared.h); this
 * table still decides, so it works while the database is away.
 */
#ifndef TEM_RATELIMIT_H
#define TEM_RATELIMIT_H

#include <stdbool.h>

#define RATELIMIT_SLOTS	8192

/* Adds n to key's count in the current window of `window` seconds;
 * false (nothing added) when that would pass max. max 0: no limit. */
bool ratelimit_take(const char *key, unsigned n, unsigned max,
    unsigned window);

/* key's window is full (max taken) until it ends, or for window seconds
 * when it is over: the cluster says so (counters_shared.h). */
void ratelimit_fill(const char *key, unsigned max, unsigned window);

#endif
