/*
 * queue_pg_report - the shared queue on PostgreSQL after a take: results
 * per recipient, DSN flags, removal with the blob reference, handing a
 * lease back, and `tem queue` list/del/flush (see queue_pg.h).
 *
 * Trust: reply texts are remote servers' bytes, cut to QUEUE_TEXT_MAX
 * and sent as parameters; rows read back are range-checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/queue_int.h"
#include "queue/queue_pg_int.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* ---- report ------------------------------------------------------------- */

struct report {
	const struct queue_msg *m;
	const char	*idx, *state, *attempts, *next, *texts;
	int		 left;		/* pending after the attempt */
};

/* Locks the row and says whether it exists and who holds it. */
static int
lock_row(const char *id, bool *mine_r, char **error_r)
{
	char *owner = NULL;
	PGresult *res;
	int rc;

	rc = pg_query(&res, error_r, "SELECT lease_owner FROM queue WHERE "
	    "id = $1 FOR UPDATE", 1, id);
	if (rc != PG_OK)
		return rc;
	if (PQntuples(res) != 1) {
		PQclear(res);
		*error_r = xasprintf("queue: %s is gone", id);
		return QUEUE_PG_GONE;
	}
	owner = PQgetvalue(res, 0, 0);
	*mine_r = strcmp(owner, queue_pg_node()) == 0;
	PQclear(res);
	return PG_OK;
}

static enum pg_rc
report_body(void *arg, char **error_r)
{
	struct report *r = arg;
	bool mine;
	int rc;

	if ((rc = lock_row(r->m->id, &mine, error_r)) != PG_OK)
		return rc;
	/* only recipients still pending here: another node that took the
	 * message after our lease ran out may have finished some */
	rc = pg_query(NULL, error_r, "UPDATE queue_rcpts r SET state = "
	    "u.s, attempts = u.a, next_try = to_timestamp(u.t), "
	    "last_text = u.x FROM unnest($2::int[], $3::smallint[], "
	    "$4::int[], $5::bigint[], $6::text[]) AS u(i, s, a, t, x) "
	    "WHERE r.queue_id = $1 AND r.idx = u.i AND r.state = 0", 6,
	    r->m->id, r->idx, r->state, r->attempts, r->next, r->texts);
	if (rc != PG_OK)
		return rc;
	if (!mine)		/* the lease is another node's now: its own */
		return PG_OK;
	/* recipients left: hand the lease back, due at the earliest one;
	 * none: keep it until queue_pg_msg_free removes the message, so no
	 * other node finishes it (and bounces it) meanwhile */
	return r->left == 0 ? pg_query(NULL, error_r, "UPDATE queue SET "
	    "attempts = attempts + 1 WHERE id = $1", 1, r->m->id) :
	    pg_query(NULL, error_r, "UPDATE queue SET attempts = attempts + 1, "
	    "lease_owner = NULL, lease_until = NULL, next_attempt = "
	    "coalesce((SELECT min(next_try) FROM queue_rcpts WHERE queue_id "
	    "= $1 AND state = 0), now()) WHERE id = $1", 1, r->m->id);
}

int
queue_pg_report_at(struct queue_msg *m, const int *results,
    char *const *texts, time_t now, char **error_r)
{
	struct queue_rcpt *view = xmemdup(m->rcpts,
	    (size_t)m->nrcpt * sizeof(*m->rcpts));
	struct buf idx, state, att, next, tx;
	char **t = xcalloc((size_t)m->nrcpt, sizeof(*t));
	bool *did = xcalloc((size_t)m->nrcpt, sizeof(*did));
	unsigned base, life;
	struct report r = { .m = m };
	int n = 0, rc;

	queue_pg_settings(&base, &life);
	buf_init(&idx, 0);
	buf_init(&state, 0);
	buf_init(&att, 0);
	buf_init(&next, 0);
	buf_init(&tx, 0);
	for (int i = 0; i < m->nrcpt; i++) {
		if (results[i] < QUEUE_RCPT_DELIVERED ||
		    results[i] > QUEUE_RCPT_DEFERRED ||
		    m->rcpts[i].state != QUEUE_STATE_PENDING)
			continue;
		queue_rcpt_apply(m, &view[i], results[i],
		    texts ? texts[i] : NULL, now, base, life);
		buf_printf(&idx, "%s%d", n ? "," : "{", i);
		buf_printf(&state, "%s%d", n ? "," : "{", view[i].state);
		buf_printf(&att, "%s%u", n ? "," : "{", view[i].attempts);
		buf_printf(&next, "%s%lld", n ? "," : "{",
		    (long long)view[i].next_try);
		t[n++] = view[i].last_error;
		did[i] = true;
	}
	for (struct buf *b = &idx; b != NULL; b = b == &idx ? &state :
	    b == &state ? &att : b == &att ? &next : NULL)
		buf_puts(b, n ? "}" : "{}");
	queue_pg_array(&tx, t, n);
	r.idx = buf_cstr(&idx);
	r.state = buf_cstr(&state);
	r.attempts = buf_cstr(&att);
	r.next = buf_cstr(&next);
	r.texts = buf_cstr(&tx);
	/* the pending count as it will be: m's view after this attempt */
	for (int i = 0; i < m->nrcpt; i++)
		r.left += view[i].state == QUEUE_STATE_PENDING;
	rc = pg_tx(report_body, &r, error_r);
	for (int i = 0; i < m->nrcpt; i++) {
		if (!did[i])
			continue;	/* not reported this time */
		if (rc == PG_OK) {
			free(m->rcpts[i].last_error);
			m->rcpts[i] = view[i];
		} else
			free(view[i].last_error);
	}
	free(view);
	free(did);
	free(t);
	buf_free(&idx);
	buf_free(&state);
	buf_free(&att);
	buf_free(&next);
	buf_free(&tx);
	return rc == PG_OK ? queue_msg_pending(m) : rc;
}

int
queue_pg_report(struct queue_msg *m, const int *results, char *const *texts,
    char **error_r)
{
	return queue_pg_report_at(m, results, texts, time(NULL), error_r);
}

int
queue_pg_set_rcpt_flags(struct queue_msg *m, const int *idx, int n,
    unsigned flags, char **error_r)
{
	struct buf arr;
	char f[16], *count = NULL;
	int rc;

	buf_init(&arr, 0);
	buf_putc(&arr, '{');
	for (int i = 0; i < n; i++)
		buf_printf(&arr, "%s%d", i ? "," : "", idx[i]);
	buf_putc(&arr, '}');
	snprintf(f, sizeof(f), "%u", flags & 0x7fffu);
	rc = pg_query_value(&count, error_r, "WITH u AS (UPDATE queue_rcpts "
	    "SET flags = flags | $3::smallint WHERE queue_id = $1 AND "
	    "idx = ANY($2::int[]) RETURNING 1) SELECT count(*) FROM u", 3,
	    m->id, buf_cstr(&arr), f);
	buf_free(&arr);
	if (rc == PG_OK && n > 0 && count != NULL && strcmp(count, "0") == 0) {
		*error_r = xasprintf("queue: %s is gone", m->id);
		rc = QUEUE_PG_GONE;
	}
	free(count);
	if (rc == PG_OK)
		for (int i = 0; i < n; i++)
			if (idx[i] >= 0 && idx[i] < m->nrcpt)
				m->rcpts[idx[i]].flags |= flags;
	return rc;
}

/* ---- removal and hand-back ---------------------------------------------- */

int
queue_pg_remove(const char *id, char **error_r)
{
	char *blob = NULL, *gone = NULL;
	int rc;

	rc = pg_query_value(&blob, error_r, "DELETE FROM queue WHERE id = $1 "
	    "RETURNING blob_id", 1, id);
	if (rc == PG_OK && blob == NULL) {
		*error_r = xasprintf("queue: %s is gone", id);
		return QUEUE_PG_GONE;
	}
	/* the last reference deletes the blob, others count down */
	if (rc == PG_OK)
		rc = pg_query_value(&gone, error_r, "DELETE FROM blobs WHERE "
		    "id = $1 AND refs <= 1 RETURNING id", 1, blob);
	if (rc == PG_OK && gone == NULL)
		rc = pg_query(NULL, error_r, "UPDATE blobs SET refs = refs - 1 "
		    "WHERE id = $1", 1, blob);
	free(blob);
	free(gone);
	return rc;
}

static enum pg_rc
remove_body(void *arg, char **error_r)
{
	return queue_pg_remove(arg, error_r);
}

void
queue_pg_msg_free(struct queue_msg **mp)
{
	struct queue_msg *m = *mp;
	char *err = NULL;
	int rc;

	if (m == NULL)
		return;
	queue_pg_held_drop(m->id);
	if (queue_msg_pending(m) == 0) {
		rc = pg_tx(remove_body, m->id, &err);
		if (rc == PG_OK)	/* the file queue's line */
			log_info("%s queue removed", m->id);
		if (rc == QUEUE_PG_GONE)
			rc = PG_OK;
	} else
		rc = pg_query(NULL, &err, "UPDATE queue SET lease_owner = NULL, "
		    "lease_until = NULL, next_attempt = coalesce((SELECT "
		    "min(next_try) FROM queue_rcpts WHERE queue_id = $1 AND "
		    "state = 0), now()) WHERE id = $1 AND lease_owner = $2",
		    2, m->id, queue_pg_node());
	if (rc != PG_OK)
		log_warn("%s queue pg release failed (the lease runs out) "
		    "error=\"%s\"", m->id, err);
	free(err);
	queue_pg_msg_drop(mp);
}

int
queue_pg_next_due(time_t *due_r, size_t *count_r, char **error_r)
{
	PGresult *res;
	int rc;

	*due_r = 0;
	*count_r = 0;
	rc = pg_query(&res, error_r, "SELECT extract(epoch FROM "
	    "min(next_attempt))::bigint, count(*) FROM queue", 0);
	if (rc != PG_OK)
		return rc;
	if (!PQgetisnull(res, 0, 0))
		*due_r = (time_t)strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	*count_r = (size_t)strtoull(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	return PG_OK;
}

/* ---- tem queue ---------------------------------------------------------- */

/* PG_UNAVAILABLE / PG_ERROR lines are already one line; others too. */
static int
admin_rc(int rc)
{
	return rc == PG_OK ? 0 : -1;
}

int
queue_pg_admin_list(struct queue_listing **list_r, size_t *n_r,
    char **error_r)
{
	struct queue_listing *list;
	struct queue_msg **msgs;
	PGresult *res;
	int rc, n;

	*list_r = NULL;
	*n_r = 0;
	/* The file queue's order: arrival in whole seconds, then id */
	rc = pg_query(&res, error_r, "SELECT " QUEUE_PG_ENV_COLS " FROM queue "
	    "q ORDER BY date_trunc('second', q.received), q.id", 0);
	if (rc != PG_OK)
		return -1;
	n = PQntuples(res);
	list = xcalloc((size_t)n + 1, sizeof(*list));
	msgs = xcalloc((size_t)n + 1, sizeof(*msgs));
	for (int i = 0; i < n; i++) {
		queue_pg_envelope(&list[i].msg, res, i);
		msgs[i] = &list[i].msg;
	}
	PQclear(res);
	/* ids in batches, so one array parameter stays small */
	for (int i = 0; i < n && rc == PG_OK; i += 1000)
		rc = queue_pg_load_rcpts(msgs + i, n - i < 1000 ? n - i : 1000,
		    error_r);
	free(msgs);
	if (rc != PG_OK) {
		queue_listing_free(list, (size_t)n);
		return -1;
	}
	*list_r = list;
	*n_r = (size_t)n;
	return 0;
}

int
queue_pg_admin_del(const char *id, char **error_r)
{
	char copy[17] = "";
	size_t len = strlen(id);
	int rc;

	/* the same rules and words as queue_admin_del */
	for (size_t i = 0; i < 16 && i < len; i++)
		copy[i] = (id[i] >= 'A' && id[i] <= 'F') ?
		    (char)(id[i] - 'A' + 'a') : id[i];
	if (len != 16 || !queue_id_valid(copy)) {
		*error_r = xstrdup("a queue id is 16 hex digits (see tem "
		    "queue list)");
		return -1;
	}
	rc = pg_tx(remove_body, copy, error_r);
	if (rc == QUEUE_PG_GONE) {
		free(*error_r);
		*error_r = xasprintf("no message %s in the queue", copy);
	}
	return admin_rc(rc);
}

static enum pg_rc
flush_body(void *arg, char **error_r)
{
	int rc;

	(void)arg;
	rc = pg_query(NULL, error_r, "UPDATE queue_rcpts SET next_try = now() "
	    "WHERE state = 0 AND next_try > now()", 0);
	/* leased messages keep their lease: their report makes them due at
	 * the recipients' next_try, now now */
	if (rc == PG_OK)
		rc = pg_query(NULL, error_r, "UPDATE queue SET next_attempt = "
		    "now() WHERE next_attempt > now() AND lease_owner IS NULL",
		    0);
	if (rc == PG_OK)
		rc = pg_query(NULL, error_r, "SELECT pg_notify($1, 'flush')",
		    1, QUEUE_PG_CHANNEL);
	return rc;
}

int
queue_pg_admin_flush(char **error_r)
{
	return admin_rc(pg_tx(flush_body, NULL, error_r));
}
