/*
 * serve_pg - what `tem serve` does on top of serve.c for storage =
 * postgresql: wait for the database at start, check its schema, and
 * hear other nodes' account changes (NOTIFY tem_accounts).
 *
 * Threads: serve_pg_open runs on the main thread before any other
 * starts (it blocks, retrying); the listener is a thread of its own
 * (pg/pg_listen.h) whose callbacks are posted to the main loop.
 */
#ifndef TEM_SERVE_PG_H
#define TEM_SERVE_PG_H

#include <stdint.h>

struct conf;
struct loop;

/* Milliseconds between two tries while the database does not answer. */
#define SERVE_PG_RETRY_MS	1000

/*
 * Sets the process's DSN (pg_conn_setup) and waits until the database
 * answers: a failed connect is logged (the first, then once a minute)
 * and tried again every SERVE_PG_RETRY_MS, for as long as it takes.
 * Then the schema must be this binary's: not initialised, older (run
 * `tem db upgrade`) or newer than this tem is refused with one log line
 * (returns -1: serve exits 1). 0 when the database is ready.
 */
int serve_pg_open(const struct conf *c);

/*
 * Starts the listener on tem_accounts: changed(serial) runs on loop for
 * each notification whose payload is a serial (untrusted text: anything
 * else counts as 0, "reload anyway"), and changed(0) after each LISTEN
 * took effect (start and every reconnect: what was notified meanwhile
 * is lost, so the caller re-reads). -1 when the thread cannot start
 * (logged).
 */
int serve_pg_listen(const struct conf *c, struct loop *loop,
    void (*changed)(uint64_t serial));
/* Stops the listener (a no-op when none). */
void serve_pg_stop(void);

#endif
