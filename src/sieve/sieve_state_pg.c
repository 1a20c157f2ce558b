/*
 * sieve_state_pg - Sieve's duplicate and vacation memory in PostgreSQL
 * (contract: sieve_store_pg.h, sieve_state.h), tables sieve_duplicates
 * (user_id, id, expiry) and sieve_vacation(user_id, address, sent).
 *
 * The tables key a row by one text column beside the user: tem stores
 * "LEN:HANDLE" followed by the id (or the address, ASCII letters folded
 * as SQLite's NOCASE does), LEN the handle's length in octets, so no two
 * (handle, id) pairs share a key whatever octets they hold.
 *
 * A write is one transaction: purge at most SIEVE_STATE_PG_PURGE
 * outdated rows of any user (through the expiry/sent index, so the
 * tables stay bounded without a periodic job and no call does unbounded
 * work), trim this user's rows to SIEVE_STATE_ROWS_MAX - 1 (the oldest
 * go), then upsert (ON CONFLICT: deliveries on two nodes may record the
 * same pair at once). Readers are one statement.
 *
 * Trust: handle, id and address come from scripts and messages: bound
 * as parameters, their lengths checked by sieve_state.c. Blocking.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/accounts_addr.h"
#include "pg/pg_conn.h"
#include "sieve/sieve_state.h"
#include "sieve/sieve_store_pg.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* One table's statements. */
struct table {
	const char	*purge, *cap, *put;
};

static const struct table dup = {
	"DELETE FROM sieve_duplicates WHERE ctid = ANY(ARRAY(SELECT ctid "
	    "FROM sieve_duplicates WHERE expiry <= to_timestamp($1) LIMIT $2))",
	"DELETE FROM sieve_duplicates WHERE user_id = $1 AND id IN (SELECT "
	    "id FROM sieve_duplicates WHERE user_id = $1 ORDER BY expiry DESC "
	    "OFFSET $2)",
	"INSERT INTO sieve_duplicates (user_id, id, expiry) VALUES ($1, $2, "
	    "to_timestamp($3)) ON CONFLICT (user_id, id) DO UPDATE SET "
	    "expiry = EXCLUDED.expiry",
};

static const struct table vac = {
	"DELETE FROM sieve_vacation WHERE ctid = ANY(ARRAY(SELECT ctid "
	    "FROM sieve_vacation WHERE sent <= to_timestamp($1) LIMIT $2))",
	"DELETE FROM sieve_vacation WHERE user_id = $1 AND address IN (SELECT "
	    "address FROM sieve_vacation WHERE user_id = $1 ORDER BY sent DESC "
	    "OFFSET $2)",
	"INSERT INTO sieve_vacation (user_id, address, sent) VALUES ($1, $2, "
	    "to_timestamp($3)) ON CONFLICT (user_id, address) DO UPDATE SET "
	    "sent = EXCLUDED.sent",
};

/* "LEN:HANDLE" + key (malloc'd), the key's ASCII letters folded when
 * fold. */
static char *
row_key(const char *handle, const char *key, bool fold)
{
	char *k = xasprintf("%zu:%s%s", strlen(handle), handle, key);

	if (fold)
		for (char *p = k + strlen(k) - strlen(key); *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	return k;
}

static void
log_failure(const char *what, const char *uid, char *error)
{
	log_warn("sieve state-db %s user_id=%s error=\"%s\"", what, uid,
	    error != NULL ? error : "?");
	free(error);
}

char *
sieve_state_pg_user(const char *user)
{
	char *lp, *dom, *err = NULL, *canon, *uid = NULL;
	enum pg_rc rc;

	if (accounts_address_parse(user, true, &lp, &dom, &err) < 0) {
		free(err);
		errno = EINVAL;
		return NULL;
	}
	canon = xasprintf("%s@%s", lp, dom);
	free(lp);
	free(dom);
	rc = pg_query_value(&uid, &err, "SELECT id FROM users WHERE "
	    "tem_fold(address) = tem_fold($1)", 1, canon);
	if (rc != PG_OK) {
		log_failure("open", canon, err);
		errno = rc == PG_ERROR ? EIO : EAGAIN;
	} else if (uid == NULL)
		errno = EINVAL;
	free(canon);
	return uid;
}

/* A write's arguments. */
struct write {
	const struct table	*t;
	const char		*uid, *key;
	char			 when[24], purge_before[24];
	char			 purge_n[16], cap_n[16];
};

static enum pg_rc
write_body(void *arg, char **error_r)
{
	struct write *w = arg;
	enum pg_rc rc;

	rc = pg_query(NULL, error_r, w->t->purge, 2, w->purge_before,
	    w->purge_n);
	if (rc == PG_OK)
		rc = pg_query(NULL, error_r, w->t->cap, 2, w->uid, w->cap_n);
	if (rc == PG_OK)
		rc = pg_query(NULL, error_r, w->t->put, 3, w->uid, w->key,
		    w->when);
	return rc;
}

static int
write_row(const struct table *t, const char *uid, const char *key,
    int64_t when, int64_t purge_before)
{
	struct write w = { .t = t, .uid = uid, .key = key };
	char *error = NULL;
	enum pg_rc rc;

	snprintf(w.purge_n, sizeof(w.purge_n), "%d", SIEVE_STATE_PG_PURGE);
	snprintf(w.cap_n, sizeof(w.cap_n), "%d", SIEVE_STATE_ROWS_MAX - 1);
	snprintf(w.when, sizeof(w.when), "%" PRId64, when);
	snprintf(w.purge_before, sizeof(w.purge_before), "%" PRId64,
	    purge_before);
	if ((rc = pg_tx(write_body, &w, &error)) == PG_OK)
		return 0;
	log_failure("write", uid, error);
	errno = rc == PG_ERROR ? EIO : EAGAIN;
	return -1;
}

bool
sieve_state_pg_dup_seen(const char *uid, const char *handle, const char *id,
    time_t now)
{
	char *key = row_key(handle, id, false), *v = NULL, *error = NULL;
	char when[24];
	enum pg_rc rc;

	snprintf(when, sizeof(when), "%" PRId64, (int64_t)now);
	rc = pg_query_value(&v, &error, "SELECT 1 FROM sieve_duplicates "
	    "WHERE user_id = $1 AND id = $2 AND expiry > to_timestamp($3)", 3,
	    uid, key, when);
	free(key);
	if (rc != PG_OK)
		log_failure("read", uid, error);
	free(v);
	return rc == PG_OK && v != NULL;
}

int
sieve_state_pg_dup_record(const char *uid, const char *handle,
    const char *id, time_t expiry)
{
	char *key = row_key(handle, id, false);
	int r = write_row(&dup, uid, key, (int64_t)expiry,
	    (int64_t)time(NULL));

	free(key);
	return r;
}

int
sieve_state_pg_vacation_last(const char *uid, const char *handle,
    const char *address, int64_t *sent_r)
{
	char *key = row_key(handle, address, true), *v = NULL, *error = NULL;
	enum pg_rc rc;

	rc = pg_query_value(&v, &error, "SELECT extract(epoch FROM sent)::"
	    "bigint FROM sieve_vacation WHERE user_id = $1 AND address = $2",
	    2, uid, key);
	free(key);
	if (rc != PG_OK) {
		log_failure("read", uid, error);
		return -1;
	}
	if (v == NULL)
		return 0;
	*sent_r = strtoll(v, NULL, 10);
	free(v);
	return 1;
}

int
sieve_state_pg_vacation_record(const char *uid, const char *handle,
    const char *address, time_t now)
{
	char *key = row_key(handle, address, true);
	int r = write_row(&vac, uid, key, (int64_t)now,
	    (int64_t)now - SIEVE_STATE_VACATION_KEEP);

	free(key);
	return r;
}
