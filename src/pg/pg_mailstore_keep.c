/*
 * pg_mailstore_keep - the folder bookkeeping beside the messages (see
 * pg_mailstore.h): pruning the QRESYNC expunge log under a floor, and
 * handing out \Recent once across sessions and nodes.
 *
 * Trust: the caller's checked arguments; the database's answers are
 * parsed defensively (strtoll on text). Blocking (pg_conn.h).
 */
#include <stdlib.h>
#include <string.h>

#include "pg/pg_mailstore.h"
#include "pg/pg_mailstore_int.h"

/* ---- the expunge log ------------------------------------------------ */

struct prune_op {
	int64_t		 mailbox_id;
	uint64_t	 keep_since;
	size_t		 limit;
	size_t		 n;
};

static enum pg_rc
prune_body(void *arg, char **error_r)
{
	struct prune_op *o = arg;
	struct pg_ms_num a, b, c;
	char *v = NULL;
	enum pg_rc rc;

	/* the oldest rows first, so what stays is every expunge above the
	 * floor; the floor only rises (greatest), whatever another prune
	 * did meanwhile. One statement: a reader's snapshot sees the rows
	 * and the floor both before or both after. */
	rc = pg_query_value(&v, error_r, "WITH d AS (DELETE FROM expunged "
	    "WHERE mailbox_id = $1 AND uid IN (SELECT uid FROM expunged "
	    "WHERE mailbox_id = $1 AND modseq < $2 ORDER BY modseq LIMIT $3) "
	    "RETURNING modseq), u AS (UPDATE mailboxes SET vanished_floor = "
	    "greatest(vanished_floor, (SELECT max(modseq) FROM d)) WHERE "
	    "id = $1 AND EXISTS (SELECT 1 FROM d) RETURNING id) "
	    "SELECT count(*) FROM d, (SELECT count(*) FROM u) x", 3,
	    pg_ms_i(&a, o->mailbox_id), pg_ms_i(&b, (int64_t)o->keep_since),
	    pg_ms_i(&c, (int64_t)o->limit));
	if (rc == PG_OK)
		o->n = v != NULL ? (size_t)strtoll(v, NULL, 10) : 0;
	free(v);
	return rc;
}

int
pg_ms_prune_expunged(int64_t mailbox_id, uint64_t keep_since, size_t limit,
    size_t *n_r, char **error_r)
{
	struct prune_op o = { mailbox_id, keep_since, limit, 0 };
	int rc;

	*n_r = 0;
	if (limit == 0)
		return PG_OK;
	if (limit > PG_MS_PRUNE_MAX)
		o.limit = PG_MS_PRUNE_MAX;
	if ((rc = pg_tx(prune_body, &o, error_r)) == PG_OK)
		*n_r = o.n;
	return rc;
}

/* The MODSEQ of folder mailbox_id's expunge row `off` from the newest
 * in *modseq_r, 0 when the log is not that long. */
static int
nth_newest(int64_t mailbox_id, size_t off, uint64_t *modseq_r,
    char **error_r)
{
	struct pg_ms_num a, b;
	char *v = NULL;
	int rc;

	rc = pg_query_value(&v, error_r, "SELECT modseq FROM expunged WHERE "
	    "mailbox_id = $1 ORDER BY modseq DESC OFFSET $2 LIMIT 1", 2,
	    pg_ms_i(&a, mailbox_id), pg_ms_i(&b, (int64_t)off));
	*modseq_r = rc == PG_OK && v != NULL ?
	    (uint64_t)strtoull(v, NULL, 10) : 0;
	free(v);
	return rc;
}

int
pg_ms_trim_expunged(int64_t mailbox_id, size_t keep, size_t at,
    size_t *n_r, char **error_r)
{
	uint64_t over, edge;
	int rc;

	*n_r = 0;
	if ((rc = nth_newest(mailbox_id, at, &over, error_r)) != PG_OK ||
	    over == 0)
		return rc;
	if ((rc = nth_newest(mailbox_id, keep, &edge, error_r)) != PG_OK ||
	    edge == 0)
		return rc;
	return pg_ms_prune_expunged(mailbox_id, edge + 1, PG_MS_PRUNE_MAX,
	    n_r, error_r);
}

/* ---- \Recent -------------------------------------------------------- */

struct recent_op {
	int64_t		 mailbox_id;
	uint32_t	*uids;
	size_t		 n;
};

static enum pg_rc
recent_body(void *arg, char **error_r)
{
	struct recent_op *o = arg;
	struct pg_ms_num a;
	PGresult *res = NULL;
	char *v = NULL;
	enum pg_rc rc;

	pg_ms_i(&a, o->mailbox_id);
	/* the row lock to the commit makes the claims serial: the next
	 * claimer reads the recent_uid this one wrote. An APPEND holds the
	 * same lock from its UIDNEXT to its commit, so every UID below the
	 * uidnext read here is committed when the next statement (a new
	 * snapshot) lists them. */
	rc = pg_query(&res, error_r, "SELECT recent_uid, uidnext FROM "
	    "mailboxes WHERE id = $1 FOR UPDATE", 1, a.s);
	if (rc != PG_OK)
		return rc;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return pg_ms_fail(error_r, PG_MS_NONEXISTENT, "folder %lld "
		    "does not exist", (long long)o->mailbox_id);
	}
	if (strcmp(PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1)) == 0) {
		PQclear(res);
		return PG_MS_NOTHING;	/* nothing new: no write */
	}
	PQclear(res);
	rc = pg_query_value(&v, error_r, "WITH c AS (SELECT recent_uid AS lo, "
	    "uidnext AS hi FROM mailboxes WHERE id = $1), u AS (UPDATE "
	    "mailboxes SET recent_uid = uidnext WHERE id = $1 RETURNING id) "
	    "SELECT coalesce((SELECT array_agg(m.uid ORDER BY m.uid) FROM "
	    "messages m, c WHERE m.mailbox_id = $1 AND m.uid >= c.lo AND "
	    "m.uid < c.hi), '{}') FROM u", 1, a.s);
	if (rc == PG_OK)
		o->uids = pg_ms_uids_parse(v, &o->n);
	free(v);
	return rc;
}

int
pg_ms_claim_recent(int64_t mailbox_id, uint32_t **uids_r, size_t *n_r,
    char **error_r)
{
	struct recent_op o = { mailbox_id, NULL, 0 };
	int rc;

	*uids_r = NULL;
	*n_r = 0;
	rc = pg_tx(recent_body, &o, error_r);
	if (rc == PG_MS_NOTHING)
		rc = PG_OK;
	if (rc != PG_OK) {
		free(o.uids);
		return rc;
	}
	*uids_r = o.uids;
	*n_r = o.n;
	return PG_OK;
}
