/*
 * queue_pg - the outbound queue on PostgreSQL (storage = postgresql):
 * the operations of queue.h, shared by every tem node of one cluster.
 *
 * Tables (src/pg/pg_schema.c): queue (one row a message), queue_rcpts
 * (one a recipient, the same state as the embedded queue keeps), blobs
 * (the content, one reference held by the queue row).
 *
 * Leases: a node takes due messages with FOR UPDATE SKIP LOCKED and
 * writes its node id and lease_until = now() + queue_lease_time on them
 * (and the same time into next_attempt, so a message whose node died
 * comes due again by the queue_due index alone when the lease runs out).
 * While the node lives, a renewer thread extends the leases of the
 * messages it holds every third of the lease time; a report with
 * recipients left pending, or queue_pg_msg_free(), hands the lease back.
 * A node killed mid-delivery stops renewing: after at most
 * queue_lease_time another node takes the message and delivers it again
 * (RFC 5321 6.1 allows the duplicate; nothing is lost).
 *
 * Differences from queue.h, all because every call is a database round
 * trip (pg_conn.h: BLOCKING, worker threads only):
 *  - queue_pg_submit is synchronous (queue_submit_sync's shape): run it
 *    on a worker and answer 250 after it returns PG_OK (the COMMIT is
 *    durable: synchronous_commit on).
 *  - queue_pg_msg_free blocks (it deletes a finished message or hands
 *    the lease back).
 *  - Errors: PG_OK, PG_UNAVAILABLE (the database is away: 451 / retry
 *    later; nothing was changed that the caller was told of),
 *    PG_ERROR (refused: bad input, an id taken), or QUEUE_PG_GONE (the
 *    message was deleted by `tem queue del`: drop it without a bounce),
 *    each with one malloc'd line in *error_r.
 *  - Due times are the database's clock (now()), so nodes whose clocks
 *    differ a little still agree on what is due; the back-off of a
 *    report is computed on the node's clock like the embedded queue's.
 *
 * Wake-ups: every submit and `tem queue flush` sends NOTIFY on
 * QUEUE_PG_CHANNEL (payload: the id, or "flush"); a node registers the
 * channel with pg_listen_add() and takes due messages on each
 * notification and each resync, plus a slow poll at queue_pg_next_due()
 * as the safety net (lost notifications, deferred messages coming due).
 *
 * Trust: as queue.h; rows read back are the database's (ours) but
 * checked for range before use (states, indexes, sizes).
 */
#ifndef TEM_QUEUE_PG_H
#define TEM_QUEUE_PG_H

#include <stddef.h>
#include <time.h>

#include "pg/pg_conn.h"
#include "queue/queue.h"

#define QUEUE_PG_CHANNEL	"tem_queue"
/* The message is no longer in the queue (deleted by the admin). */
#define QUEUE_PG_GONE		(-10)
/* Content is fetched in slices of this many bytes (memory per fetch). */
#define QUEUE_PG_SLICE		(1u << 20)
#define QUEUE_PG_NODE_MAX	128
/* queue.h on PostgreSQL (queue_pg_front.c): a node looks for due mail at
 * least this often (seconds), notifications or not. */
#define QUEUE_PG_POLL		5

/*
 * Sets this process's node id (host:pid:start time), the retry settings
 * and the lease time (seconds; conf allows 5..60, tests may use less),
 * tmpdir (where content is spooled for delivery; NULL: $TMPDIR or /tmp)
 * and starts the lease renewer thread. pg_conn_setup() must have run.
 * 0, or -1 with *error_r.
 */
int queue_pg_init(unsigned retry_base, unsigned lifetime,
    unsigned lease_time, const char *tmpdir, char **error_r);
/* Stops the renewer and hands back the leases of messages taken and not
 * freed (stop the delivery threads first), due now. Blocking. */
void queue_pg_shutdown(void);
void queue_pg_configure(unsigned retry_base, unsigned lifetime,
    unsigned lease_time);
/* This node's id, as written into lease_owner. */
const char *queue_pg_node(void);

/* Blob, queue row, recipients and a NOTIFY in one transaction; m->msg.id
 * is filled when empty. PG_OK once committed. */
int queue_pg_submit(struct queue_new *m, char **error_r);

/*
 * Takes up to max due messages, earliest first, leasing them to this
 * node, with envelopes and recipient states. Returns how many (each
 * malloc'd, to queue_pg_msg_free), or PG_UNAVAILABLE / PG_ERROR. A
 * message may come with no PENDING recipient (its node died between its
 * last report and its removal): finish it as after a final report.
 */
int queue_pg_take_due(struct queue_msg **msgs, int max, char **error_r);

/*
 * The content as an unlinked temporary file in tmpdir (fetched in
 * QUEUE_PG_SLICE slices, each also passed to scan): c->fd, off 0, len;
 * read it with queue_content_read(), close with queue_content_close().
 * PG_OK, QUEUE_PG_GONE, PG_UNAVAILABLE or PG_ERROR (a local file error).
 */
int queue_pg_open_content(const char *id, queue_scan_fn *scan, void *arg,
    struct queue_content *c, char **error_r);

/*
 * As queue_report(): results per recipient, the same back-off and expiry
 * (queue_rcpt_apply). Only recipients still PENDING in the database are
 * written. With recipients left pending the lease is handed back and
 * next_attempt becomes their earliest next_try; with none, the lease is
 * kept until queue_pg_msg_free removes the message (queue its bounces
 * first). Returns the number of PENDING recipients left (m is updated
 * only on success), QUEUE_PG_GONE, PG_UNAVAILABLE or PG_ERROR.
 */
int queue_pg_report(struct queue_msg *m, const int *results,
    char *const *texts, char **error_r);
int queue_pg_report_at(struct queue_msg *m, const int *results,
    char *const *texts, time_t now, char **error_r);

/* ORs flags (QUEUE_RF_*) into recipients idx[0..n). PG_OK, QUEUE_PG_GONE,
 * PG_UNAVAILABLE or PG_ERROR (m is updated only on PG_OK). */
int queue_pg_set_rcpt_flags(struct queue_msg *m, const int *idx, int n,
    unsigned flags, char **error_r);

/*
 * Frees *m (sets it NULL). With no PENDING recipient the message is
 * deleted with its blob reference; else, when this node still holds its
 * lease, the lease is handed back and it is due at its earliest pending
 * next_try. Blocking. A database error is logged (one line): the lease
 * then runs out by itself.
 */
void queue_pg_msg_free(struct queue_msg **m);

/* The earliest next_attempt of any message (leased ones: when their lease
 * runs out), 0 when the queue is empty; the message count. PG_OK or an
 * error. */
int queue_pg_next_due(time_t *due_r, size_t *count_r, char **error_r);

/* `tem queue` on the database: as queue_admin_* (0, or -1 with a
 * malloc'd line). del of a message being delivered: the delivering
 * node's report finds it gone. flush: every waiting message and
 * recipient due now, and a NOTIFY. */
int queue_pg_admin_list(struct queue_listing **list_r, size_t *n_r,
    char **error_r);
int queue_pg_admin_del(const char *id, char **error_r);
int queue_pg_admin_flush(char **error_r);

#endif
