/*
 * pg_listen - PostgreSQL LISTEN/NOTIFY for a tem node: how one node learns
 * of another's changes (accounts now; IDLE and the queue later).
 *
 * One listener per process: one connection of its own (not pg_conn's
 * per-thread ones, which run transactions) on a thread of its own, which
 * blocks in poll() on the connection's socket and a wake-up pipe. Each
 * registered channel names the loop its callbacks run on: a notification
 * is copied and handed over with loop_post(), so callbacks run on the
 * caller's loop thread, never on the listener's, and may touch that
 * loop's state.
 *
 * Reconnect: when the connection is lost (restart, failover, network) the
 * listener logs one line and connects again, first after
 * PG_LISTEN_RETRY_MIN_MS, doubling to PG_LISTEN_RETRY_MAX_MS, so it is
 * back within about a second of the database's return. Notifications
 * sent while it was away are lost (PostgreSQL does not queue them for a
 * listener that is gone), so on every successful LISTEN of a channel, the
 * first one included, its on_resync is posted: the caller re-reads what
 * it caches (the first one also says "listening now": anything read
 * before it may already be stale). A dead peer that sends no RST is found
 * by TCP keepalives (pg_conn_open's, or the DSN's keepalives_*).
 *
 * Limits: PG_LISTEN_CHANNELS_MAX channels; a channel name is a plain
 * identifier of at most 63 bytes; payloads are PostgreSQL's (< 8000
 * bytes).
 *
 * Thread safety: pg_listen_add and pg_listen_free from any thread (free
 * once, after the last add). Callbacks already posted when free returns
 * still run on their loops: their arg must outlive the listener by one
 * loop turn (or the loop is freed without running them).
 *
 * Trust: channel names are ours; payloads come from the database (ours,
 * but any client of it may NOTIFY): callers parse them as untrusted.
 */
#ifndef TEM_PG_LISTEN_H
#define TEM_PG_LISTEN_H

struct loop;
struct pg_listen;

#define PG_LISTEN_CHANNELS_MAX	64
#define PG_LISTEN_RETRY_MIN_MS	100
#define PG_LISTEN_RETRY_MAX_MS	1000

/* A NOTIFY on channel with payload ("" when none). */
typedef void pg_notify_fn(void *arg, const char *channel,
    const char *payload);
/* LISTEN on channel took effect (start, or after a reconnect). */
typedef void pg_resync_fn(void *arg, const char *channel);

/* Starts the listener thread on dsn (copied); it connects by itself.
 * NULL with *error_r when the thread cannot start. */
struct pg_listen *pg_listen_start(const char *dsn, char **error_r);

/*
 * Registers channel: notifications call on_notify(arg, ...) and each
 * (re)LISTEN calls on_resync(arg, ...) (may be NULL), posted to loop.
 * 0, or -1 with *error_r (bad name, too many channels).
 */
int pg_listen_add(struct pg_listen *l, const char *channel,
    struct loop *loop, pg_notify_fn *on_notify, pg_resync_fn *on_resync,
    void *arg, char **error_r);

/* Stops the thread, closes the connection, frees; *l = NULL. */
void pg_listen_free(struct pg_listen **l);

#endif
