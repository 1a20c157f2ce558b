/*
 * pg_mailstore_msg - the changes to messages on PostgreSQL: APPEND,
 * STORE, EXPUNGE, COPY and MOVE (see pg_mailstore.h).
 *
 * Each first updates the folder's mailboxes row (UIDNEXT, HIGHESTMODSEQ
 * ... RETURNING): its row lock, held to the commit, makes the changes to
 * one folder serial across nodes, so the numbers it returns are handed
 * out once and committed in order. MOVE locks its two folders in id
 * order; a deadlock left anyway (blobs shared between folders) is a
 * serialization failure that pg_tx runs again.
 *
 * Blob references: APPEND makes the blob with one, COPY and MOVE add
 * one per new row (the source rows are locked first, so an EXPUNGE
 * cannot free the blob between), and every deleted messages row drops
 * its own in the messages_unref trigger (pg_schema.c), which frees a
 * blob at zero.
 *
 * Trust: the caller's checked arguments (keywords are atoms: no
 * spaces); parameters never spliced. Blocking (pg_conn.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/pg_mailstore.h"
#include "pg/pg_mailstore_int.h"
#include "store/mailbox.h"
#include "util/xmalloc.h"

/* ---- APPEND --------------------------------------------------------- */

/* The SQL of one APPEND: $3 and the b CTE make or name the blob. */
#define APPEND_SQL(blob)						\
	"WITH mb AS (UPDATE mailboxes SET uidnext = uidnext + 1, "	\
	"  highestmodseq = highestmodseq + 1 WHERE user_id = $1 AND "	\
	"  name = $2 RETURNING id, uidvalidity, uidnext - 1 AS uid, "	\
	"  highestmodseq),"						\
	blob								\
	" m AS (INSERT INTO messages(mailbox_id, uid, modseq, blob_id, " \
	"  size, internaldate, savedate, flags, keywords, exact) SELECT " \
	"  mb.id, mb.uid, mb.highestmodseq, b.id, $9, CASE WHEN "	\
	"  $5::bigint = 0 THEN now() ELSE to_timestamp($5::bigint) END, " \
	"  now(), $4, ARRAY(SELECT DISTINCT k FROM unnest("		\
	"  string_to_array($6, ' ')) k ORDER BY k), $8 FROM mb, b "	\
	"  RETURNING uid),"						\
	" n AS (SELECT pg_notify('tem_mailbox', mb.id || ' ' || "	\
	"  mb.highestmodseq || $7) FROM mb)"				\
	"SELECT mb.uidvalidity, m.uid FROM mb, m, n"

/* A message small enough to go whole (pg_ms_blob_read). */
static bool
append_inline(const struct pg_ms_append_item *it)
{
	return it->len + it->file_len <= PG_MS_BLOB_INLINE;
}

/* One message into folder name: the UID and MODSEQ from the folder row,
 * the blob, the messages row, the NOTIFY. A small message is one
 * statement (the blob a parameter: alone, its own transaction, one
 * round trip); a big one must be in a transaction: its blob is COPYed
 * first in pieces (pg_mailstore_blob.c), and a missing folder returns
 * PG_MS_NONEXISTENT for pg_tx to roll it back. In pg_tx, the row lock
 * taken by the first holds to the commit, so a MULTIAPPEND's UIDs are
 * consecutive. */
static int
append_item(int64_t user_id, const char *name,
    struct pg_ms_append_item *it, uint32_t *uidvalidity_r,
    uint32_t *uid_r, char **error_r)
{
	struct pg_ms_num u, bl, fl, dt, ws;
	PGresult *res = NULL;
	char *kw, *data = NULL;
	char origin[PG_MS_ORIGIN_MAX + 2] = "";
	uint64_t stored, wire;
	int64_t blob;
	enum pg_rc rc;
	bool small = append_inline(it);

	rc = small ? pg_ms_blob_read(it, &data, &stored, &wire, error_r) :
	    pg_ms_blob_put(it, &blob, &stored, &wire, error_r);
	if (rc != PG_OK)
		return rc;
	if (pg_ms_origin()[0] != '\0')	/* pg_ms_notify's payload */
		snprintf(origin, sizeof(origin), " %s", pg_ms_origin());
	kw = pg_ms_words_param(it->keywords);
	{
		const char *params[10] = { pg_ms_i(&u, user_id), name,
		    pg_ms_i(&bl, small ? (int64_t)stored : blob),
		    pg_ms_i(&fl, it->flags & MBOX_F_STORABLE),
		    pg_ms_i(&dt, (int64_t)it->internaldate), kw, origin,
		    it->exact ? "t" : "f",
		    pg_ms_i(&ws, (int64_t)(it->exact ? wire : stored)), data };
		/* the blob as raw octets: no hex text of twice its size */
		const int lens[10] = { -1, -1, -1, -1, -1, -1, -1, -1, -1,
		    (int)stored };

		/* no folder: no row from mb, so nothing else happens */
		rc = small ? pg_query_bin(&res, error_r, APPEND_SQL(
		    " b AS (INSERT INTO blobs(size, data) SELECT $3, "
		    "  $10::bytea FROM mb RETURNING id),"), 10, params, lens,
		    false) :
		    pg_query_bin(&res, error_r, APPEND_SQL(
		    " b AS (SELECT $3::bigint AS id),"), 9, params, NULL,
		    false);
	}
	free(kw);
	free(data);
	if (rc != PG_OK)
		return rc;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return pg_ms_fail(error_r, PG_MS_NONEXISTENT, "folder %s does "
		    "not exist", name);
	}
	*uidvalidity_r = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
	*uid_r = (uint32_t)strtoul(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	it->size = it->exact ? wire : stored;
	return PG_OK;
}

int
pg_ms_append_one(int64_t user_id, const char *name,
    struct pg_ms_append_item *it, uint32_t *uidvalidity_r,
    uint32_t *uid_r, char **error_r)
{
	/* a small one alone is one statement, as is */
	if (append_inline(it))
		return append_item(user_id, name, it, uidvalidity_r, uid_r,
		    error_r);
	return pg_ms_append_many(user_id, name, it, 1, uidvalidity_r, uid_r,
	    error_r);
}

int
pg_ms_append(int64_t user_id, const char *name, const char *data,
    size_t len, unsigned flags, const char *const *keywords,
    time_t internaldate, uint32_t *uidvalidity_r, uint32_t *uid_r,
    char **error_r)
{
	struct pg_ms_append_item it = { .data = data, .len = len,
	    .flags = flags, .keywords = keywords,
	    .internaldate = internaldate };

	return pg_ms_append_one(user_id, name, &it, uidvalidity_r, uid_r,
	    error_r);
}

struct append_op {
	int64_t				 user_id;
	const char			*name;
	struct pg_ms_append_item	*items;
	size_t				 n;
	uint32_t			 uidvalidity, *uids;
};

static enum pg_rc
append_body(void *arg, char **error_r)
{
	struct append_op *o = arg;
	int rc = PG_OK;

	for (size_t i = 0; rc == PG_OK && i < o->n; i++)
		rc = append_item(o->user_id, o->name, &o->items[i],
		    &o->uidvalidity, &o->uids[i], error_r);
	return rc;
}

int
pg_ms_append_many(int64_t user_id, const char *name,
    struct pg_ms_append_item *items, size_t n,
    uint32_t *uidvalidity_r, uint32_t *uids_r, char **error_r)
{
	struct append_op o = { user_id, name, items, n, 0, uids_r };
	int rc;

	if (n > PG_MS_APPEND_MAX)
		return pg_ms_fail(error_r, PG_MS_LIMIT, "too many messages "
		    "(at most %d)", PG_MS_APPEND_MAX);
	if ((rc = pg_tx(append_body, &o, error_r)) == PG_OK)
		*uidvalidity_r = o.uidvalidity;
	return rc;
}

/* ---- the folder row ------------------------------------------------- */

/* Locks folder id and takes a new MODSEQ (and uids UIDs) from it:
 * *modseq_r, *uid_first_r (may be NULL), *uidvalidity_r (may be NULL). */
static int
folder_take(int64_t id, size_t uids, uint64_t *modseq_r,
    uint32_t *uid_first_r, uint32_t *uidvalidity_r, char **error_r)
{
	struct pg_ms_num a, b;
	PGresult *res = NULL;
	enum pg_rc rc;

	rc = pg_query(&res, error_r, "UPDATE mailboxes SET uidnext = uidnext "
	    "+ $2, highestmodseq = highestmodseq + 1 WHERE id = $1 RETURNING "
	    "highestmodseq, uidnext - $2, uidvalidity", 2, pg_ms_i(&a, id),
	    pg_ms_i(&b, (int64_t)uids));
	if (rc != PG_OK)
		return rc;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return pg_ms_fail(error_r, PG_MS_NONEXISTENT, "the folder was "
		    "deleted");
	}
	*modseq_r = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	if (uid_first_r != NULL)
		*uid_first_r = (uint32_t)strtoul(PQgetvalue(res, 0, 1), NULL,
		    10);
	if (uidvalidity_r != NULL)
		*uidvalidity_r = (uint32_t)strtoul(PQgetvalue(res, 0, 2), NULL,
		    10);
	PQclear(res);
	return PG_OK;
}

/* ---- STORE ---------------------------------------------------------- */

struct store_op {
	int64_t			 id;
	const char		*uids, *kw;	/* parameters */
	enum pg_ms_op		 op;
	unsigned		 flags;
	uint64_t		 unchangedsince;
	/* out */
	uint64_t		 modseq;
	uint32_t		*modified;
	size_t			 n_modified;
};

/* The new flags and keywords of message m per operation ($4 the flags,
 * $5 the keywords joined by " "). */
static const char *const store_set[] = {
	[PG_MS_ADD] = "m.flags | $4::smallint, ARRAY(SELECT DISTINCT k FROM "
	    "unnest(m.keywords || string_to_array($5, ' ')) k ORDER BY k)",
	[PG_MS_REMOVE] = "m.flags & ~$4::smallint, ARRAY(SELECT k FROM "
	    "unnest(m.keywords) k WHERE k <> ALL(string_to_array($5, ' ')) "
	    "ORDER BY k)",
	[PG_MS_REPLACE] = "$4::smallint, ARRAY(SELECT DISTINCT k FROM "
	    "unnest(string_to_array($5, ' ')) k ORDER BY k)",
};

static enum pg_rc
store_body(void *arg, char **error_r)
{
	struct store_op *o = arg;
	struct pg_ms_num a, f, ms, us;
	char *v = NULL, *sql;
	int rc;

	free(o->modified);
	o->modified = NULL;
	o->n_modified = 0;
	if ((rc = folder_take(o->id, 0, &o->modseq, NULL, NULL, error_r)) !=
	    PG_OK)
		return rc;
	pg_ms_i(&a, o->id);
	pg_ms_i(&us, (int64_t)o->unchangedsince);
	if (o->unchangedsince > 0) {
		/* the folder is locked: nothing changes them meanwhile */
		rc = pg_query_value(&v, error_r, "SELECT coalesce(array_agg("
		    "uid ORDER BY uid), '{}') FROM messages WHERE mailbox_id "
		    "= $1 AND uid = ANY($2::bigint[]) AND modseq > $3", 3, a.s,
		    o->uids, us.s);
		if (rc != PG_OK)
			return rc;
		o->modified = pg_ms_uids_parse(v, &o->n_modified);
		XFREE(&v);
	}
	sql = xasprintf("WITH n(uid, flags, kw) AS (SELECT m.uid, %s FROM "
	    "messages m WHERE m.mailbox_id = $1 AND m.uid = ANY($2::bigint[]) "
	    "AND ($3::bigint = 0 OR m.modseq <= $3::bigint)), u AS (UPDATE "
	    "messages m SET flags = n.flags, keywords = n.kw, modseq = $6 "
	    "FROM n WHERE m.mailbox_id = $1 AND m.uid = n.uid AND (m.flags, "
	    "m.keywords) IS DISTINCT FROM (n.flags, n.kw) RETURNING 1) "
	    "SELECT count(*) FROM u", store_set[o->op]);
	rc = pg_query_value(&v, error_r, sql, 6, a.s, o->uids, us.s,
	    pg_ms_i(&f, o->flags & MBOX_F_STORABLE), o->kw,
	    pg_ms_i(&ms, (int64_t)o->modseq));
	free(sql);
	if (rc == PG_OK && (v == NULL || strcmp(v, "0") == 0))
		rc = PG_MS_NOTHING;	/* no MODSEQ spent, nobody told */
	if (rc == PG_OK)
		rc = pg_ms_notify(o->id, o->modseq, error_r);
	free(v);
	return rc;
}

int
pg_ms_store(int64_t mailbox_id, const uint32_t *uids, size_t n,
    enum pg_ms_op op, unsigned flags, const char *const *keywords,
    uint64_t unchangedsince, uint64_t *modseq_r, uint32_t **modified_r,
    size_t *n_modified_r, char **error_r)
{
	struct store_op o = { .id = mailbox_id, .op = op, .flags = flags,
	    .unchangedsince = unchangedsince };
	char *up, *kw;
	int rc;

	*modseq_r = 0;
	*modified_r = NULL;
	*n_modified_r = 0;
	if (n > PG_MS_COPY_MAX)
		return pg_ms_fail(error_r, PG_MS_LIMIT, "too many messages "
		    "(at most %d)", PG_MS_COPY_MAX);
	o.uids = up = pg_ms_uids_param(uids, n);
	o.kw = kw = pg_ms_words_param(keywords);
	rc = pg_tx(store_body, &o, error_r);
	if (rc == PG_MS_NOTHING) {
		/* rolled back: the MODIFIED set still stands */
		rc = PG_OK;
		o.modseq = 0;
	}
	free(up);
	free(kw);
	if (rc != PG_OK) {
		free(o.modified);
		return rc;
	}
	*modseq_r = o.modseq;
	*modified_r = o.modified;
	*n_modified_r = o.n_modified;
	return PG_OK;
}

/* ---- EXPUNGE -------------------------------------------------------- */

/* In the transaction, with the folder locked and modseq taken: removes
 * the messages of id that uids names (NULL: all) and, if
 * require_deleted, have \Deleted, into `expunged` (their blob
 * references go in the messages_unref trigger). */
static int
expunge_rows(int64_t id, const char *uids, bool require_deleted,
    uint64_t modseq, uint32_t **expunged_r, size_t *n_r, char **error_r)
{
	struct pg_ms_num a, ms;
	PGresult *res = NULL;
	enum pg_rc rc;

	rc = pg_query(&res, error_r, "WITH gone AS (DELETE FROM messages "
	    "WHERE mailbox_id = $1 AND ($2::bigint[] IS NULL OR uid = "
	    "ANY($2::bigint[])) AND (NOT $3::boolean OR flags & 4 <> 0) "
	    "RETURNING uid, blob_id), e AS (INSERT INTO expunged(mailbox_id, "
	    "uid, modseq) SELECT $1, uid, $4 FROM gone ON CONFLICT "
	    "(mailbox_id, uid) DO UPDATE SET modseq = EXCLUDED.modseq) "
	    "SELECT coalesce(array_agg(uid ORDER BY uid), '{}') FROM gone", 4,
	    pg_ms_i(&a, id), uids, require_deleted ? "t" : "f",
	    pg_ms_i(&ms, (int64_t)modseq));
	if (rc != PG_OK)
		return rc;
	*expunged_r = pg_ms_uids_parse(PQgetvalue(res, 0, 0), n_r);
	PQclear(res);
	return PG_OK;
}

struct expunge_op {
	int64_t		 id;
	const char	*uids;
	bool		 require_deleted;
	uint32_t	*expunged;
	size_t		 n;
};

static enum pg_rc
expunge_body(void *arg, char **error_r)
{
	struct expunge_op *o = arg;
	uint64_t modseq;
	int rc;

	XFREE(&o->expunged);
	o->n = 0;
	if ((rc = folder_take(o->id, 0, &modseq, NULL, NULL, error_r)) !=
	    PG_OK)
		return rc;
	rc = expunge_rows(o->id, o->uids, o->require_deleted, modseq,
	    &o->expunged, &o->n, error_r);
	if (rc == PG_OK && o->n == 0)
		rc = PG_MS_NOTHING;
	if (rc == PG_OK)
		rc = pg_ms_notify(o->id, modseq, error_r);
	return rc;
}

int
pg_ms_expunge(int64_t mailbox_id, const uint32_t *uids, size_t n,
    bool require_deleted, uint32_t **expunged_r, size_t *n_expunged_r,
    char **error_r)
{
	struct expunge_op o = { .id = mailbox_id,
	    .require_deleted = uids == NULL || require_deleted };
	char *up = NULL;
	int rc;

	if (n > PG_MS_COPY_MAX)
		return pg_ms_fail(error_r, PG_MS_LIMIT, "too many messages "
		    "(at most %d)", PG_MS_COPY_MAX);
	if (uids != NULL)
		o.uids = up = pg_ms_uids_param(uids, n);
	rc = pg_tx(expunge_body, &o, error_r);
	free(up);
	if (rc == PG_MS_NOTHING)
		rc = PG_OK;
	if (rc == PG_OK && expunged_r != NULL) {
		*expunged_r = o.expunged;
		*n_expunged_r = o.n;
	} else
		free(o.expunged);
	return rc;
}

/* ---- COPY and MOVE -------------------------------------------------- */

int
pg_ms_copy_tx(struct pg_ms_copy *c, char **error_r)
{
	struct pg_ms_num s, d, first, ms;
	char *up = c->uids ? pg_ms_uids_param(c->uids, c->n) : NULL;
	char *locked = NULL;
	uint64_t modseq, src_modseq = 0;
	uint32_t uid_first;
	uint32_t *gone = NULL;
	size_t n_gone = 0;
	int rc;

	XFREE(&c->src_uids);
	XFREE(&c->dst_uids);
	c->n_done = 0;
	pg_ms_i(&s, c->src);
	pg_ms_i(&d, c->dst);
	/* MOVE changes both folders: lock them in id order */
	rc = !c->move ? PG_OK : pg_query(NULL, error_r, "SELECT id FROM "
	    "mailboxes WHERE id IN ($1, $2) ORDER BY id FOR UPDATE", 2, s.s,
	    d.s);
	/* the source rows, locked against an EXPUNGE freeing their blobs */
	if (rc == PG_OK)
		rc = pg_query_value(&locked, error_r, c->move ?
		    "SELECT coalesce(array_agg(uid ORDER BY uid), '{}') FROM "
		    "(SELECT uid FROM messages WHERE mailbox_id = $1 AND "
		    "($2::bigint[] IS NULL OR uid = ANY($2::bigint[])) FOR "
		    "UPDATE) s" :
		    "SELECT coalesce(array_agg(uid ORDER BY uid), '{}') FROM "
		    "(SELECT uid FROM messages WHERE mailbox_id = $1 AND "
		    "($2::bigint[] IS NULL OR uid = ANY($2::bigint[])) FOR "
		    "SHARE) s", 2, s.s, up);
	free(up);
	if (rc != PG_OK)
		goto out;
	c->src_uids = pg_ms_uids_parse(locked, &c->n_done);
	if (c->n_done == 0) {
		rc = PG_MS_NOTHING;
		goto out;
	}
	rc = folder_take(c->dst, c->n_done, &modseq, &uid_first,
	    &c->uidvalidity, error_r);
	if (rc == PG_OK && c->move)
		rc = folder_take(c->src, 0, &src_modseq, NULL, NULL, error_r);
	if (rc == PG_OK)	/* new UIDs in source UID order */
		rc = pg_query(NULL, error_r, "INSERT INTO messages("
		    "mailbox_id, uid, modseq, blob_id, size, internaldate, "
		    "savedate, flags, keywords, exact) SELECT $3, $4::bigint + "
		    "row_number() OVER (ORDER BY uid) - 1, $5, blob_id, size, "
		    "internaldate, now(), flags, keywords, exact FROM messages "
		    "WHERE "
		    "mailbox_id = $1 AND uid = ANY($2::bigint[])", 5, s.s,
		    locked, d.s, pg_ms_i(&first, uid_first),
		    pg_ms_i(&ms, (int64_t)modseq));
	if (rc == PG_OK)
		rc = pg_query(NULL, error_r, "UPDATE blobs b SET refs = "
		    "b.refs + g.n FROM (SELECT blob_id, count(*) AS n FROM "
		    "messages WHERE mailbox_id = $1 AND uid = "
		    "ANY($2::bigint[]) GROUP BY blob_id) g WHERE b.id = "
		    "g.blob_id", 2, s.s, locked);
	if (rc == PG_OK && c->move)
		rc = expunge_rows(c->src, locked, false, src_modseq, &gone,
		    &n_gone, error_r);
	if (rc == PG_OK)
		rc = pg_ms_notify(c->dst, modseq, error_r);
	if (rc == PG_OK && c->move)
		rc = pg_ms_notify(c->src, src_modseq, error_r);
	if (rc == PG_OK) {
		c->dst_uids = xcalloc(c->n_done, sizeof(*c->dst_uids));
		for (size_t i = 0; i < c->n_done; i++)
			c->dst_uids[i] = uid_first + (uint32_t)i;
	}
out:
	free(gone);
	free(locked);
	return rc;
}

struct copy_op {
	struct pg_ms_copy	 c;
	int64_t			 user_id;
	const char		*dest;
};

static enum pg_rc
copy_body(void *arg, char **error_r)
{
	struct copy_op *o = arg;
	int rc = pg_ms_folder_id(o->user_id, o->dest, &o->c.dst, error_r);

	return rc == PG_OK ? pg_ms_copy_tx(&o->c, error_r) : rc;
}

int
pg_ms_copy(int64_t src_mailbox_id, const uint32_t *uids, size_t n,
    int64_t user_id, const char *dest_name, bool move,
    uint32_t *uidvalidity_r, uint32_t **src_uids_r, uint32_t **dst_uids_r,
    size_t *n_r, char **error_r)
{
	struct copy_op o = { .c = { .src = src_mailbox_id, .uids = uids,
	    .n = n, .move = move }, .user_id = user_id, .dest = dest_name };
	int rc;

	*src_uids_r = *dst_uids_r = NULL;
	*n_r = 0;
	if (n > PG_MS_COPY_MAX)
		return pg_ms_fail(error_r, PG_MS_LIMIT, "too many messages "
		    "(at most %d)", PG_MS_COPY_MAX);
	if (n == 0)
		return PG_OK;
	rc = pg_tx(copy_body, &o, error_r);
	if (rc == PG_MS_NOTHING)
		rc = PG_OK;
	if (rc == PG_OK && o.c.dst_uids != NULL) {
		*uidvalidity_r = o.c.uidvalidity;
		*src_uids_r = o.c.src_uids;
		*dst_uids_r = o.c.dst_uids;
		*n_r = o.c.n_done;
	} else {
		free(o.c.src_uids);
		free(o.c.dst_uids);
	}
	return rc;
}
