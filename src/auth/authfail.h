/*
 * authfail - failed-login throttling per client address, shared by SMTP,
 * IMAP and POP3 (one table for the whole process).
 *
 * Each failure delays the answer to the next one from that address
 * (AUTHFAIL_DELAY_STEP_MS per recent failure, at most AUTHFAIL_DELAY_MAX_MS),
 * and AUTHFAIL_LOCK_COUNT failures within AUTHFAIL_WINDOW seconds lock the
 * address out of authentication for AUTHFAIL_LOCK_SECONDS. Thread-safe.
 * On a cluster (storage = postgresql) failures and checks are mirrored to
 * the nodes' shared counters (auth/counters_shared.h); this table still
 * decides, so it works while the database is away.
 */
#ifndef TEM_AUTHFAIL_H
#define TEM_AUTHFAIL_H

#include <stdbool.h>

#ifdef TEM_FUZZING	/* the session fuzzer cannot wait seconds per input */
#define AUTHFAIL_DELAY_STEP_MS	1
#define AUTHFAIL_DELAY_MAX_MS	5
#else
#define AUTHFAIL_DELAY_STEP_MS	1000
#define AUTHFAIL_DELAY_MAX_MS	5000
#endif
#define AUTHFAIL_LOCK_COUNT	10
#define AUTHFAIL_WINDOW		600
#define AUTHFAIL_LOCK_SECONDS	900

/* Records a failure; returns the delay (ms) to wait before replying. */
unsigned authfail_record(const char *ip);
/* Locks ip out for AUTHFAIL_LOCK_SECONDS from now, as its
 * AUTHFAIL_LOCK_COUNT-th failure would: the cluster says it is locked
 * (counters_shared.h). */
void authfail_lock(const char *ip);
/* True while ip is locked out. */
bool authfail_locked(const char *ip);
/* Delay to apply before even checking (recent failures); 0 when none. */
unsigned authfail_delay(const char *ip);

#endif
