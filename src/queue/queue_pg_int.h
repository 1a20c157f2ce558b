/*
 * queue_pg_int - internals shared by queue_pg.c, queue_pg_report.c and
 * queue_pg_content.c. Not for other modules: use queue_pg.h.
 */
#ifndef TEM_QUEUE_PG_INT_H
#define TEM_QUEUE_PG_INT_H

#include "queue/queue_pg.h"

struct buf;

/* Appends a PostgreSQL array literal of n strings (NULL: SQL NULL). */
void queue_pg_array(struct buf *b, char *const *s, int n);
/* Reads the recipients of the messages msgs[0..n) (any order) from
 * queue_rcpts into them. PG_OK or an error. */
int queue_pg_load_rcpts(struct queue_msg **msgs, int n, char **error_r);
/* The envelope columns of `queue q`; queue_pg_envelope fills m from
 * them in row of res. */
#define QUEUE_PG_ENV_COLS "q.id, q.sender, q.envid, q.ret, q.flags, " \
	"extract(epoch FROM q.received)::bigint, " \
	"(SELECT size FROM blobs WHERE id = q.blob_id)"
void queue_pg_envelope(struct queue_msg *m, const PGresult *res, int row);
/* Deletes message id and drops its blob reference, in the current
 * transaction. PG_OK, QUEUE_PG_GONE or an error. */
int queue_pg_remove(const char *id, char **error_r);

/* Frees a copy (no database work). */
void queue_pg_msg_drop(struct queue_msg **m);
/* Forgets id in the set of leases the renewer extends. */
void queue_pg_held_drop(const char *id);
/* The current retry_base and lifetime. */
void queue_pg_settings(unsigned *retry_base, unsigned *lifetime);
/* Where content is spooled for delivery (queue_pg_init's tmpdir). */
const char *queue_pg_tmpdir(void);

#endif
