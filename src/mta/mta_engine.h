/*
 * mta_engine - the delivery engine: takes due messages from the queue,
 * routes each recipient (local mailbox, relay_host, or the domain's MX),
 * delivers over SMTP (mta_session), records the results durably in the
 * queue, and bounces what failed with a DSN to the sender.
 *
 * Trust: handles mail already accepted (250 given): it must never lose a
 * message nor deliver one twice except as RFC 5321 6.1 allows. Remote
 * replies are untrusted text, stored and quoted but never interpreted
 * beyond their codes.
 *
 * Threads: the engine runs on its own loop thread with its own DNS
 * resolver, so the client sessions never share a loop with it. Queue
 * calls that touch the disk go to the worker pool.
 */
#ifndef TEM_MTA_ENGINE_H
#define TEM_MTA_ENGINE_H

/* Starts the engine thread (after queue_init). 0, or -1 + *error_r. */
int mta_engine_start(char **error_r);
/* Stops taking work, aborts sessions in progress (their messages stay
 * queued and are retried at the next start) and joins the thread. */
void mta_engine_stop(void);

/* Concurrency limits (STYLE.md habit 5). */
#define MTA_MAX_MESSAGES	200	/* messages being delivered at once */
#define MTA_TAKE_BATCH		50	/* messages taken from the queue a turn */
#define MTA_MAX_SESSIONS	50	/* outbound connections at once */
#define MTA_MAX_PER_DEST	10	/* connections to one destination */
#define MTA_MAX_HOPS		50	/* Received lines: more is a mail loop */

#endif
