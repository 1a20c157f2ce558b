/*
 * pg_mailstore - a user's folders on PostgreSQL, and the reads: SELECT
 * state, CONDSTORE/QRESYNC changes, message bytes (see pg_mailstore.h;
 * the changes to messages are in pg_mailstore_msg.c).
 *
 * Folder creation is ordered per user by the user's
 * mailbox_uidvalidity row (the UIDVALIDITY counter), so the limit
 * check and the UIDVALIDITY are race-free across nodes; a name taken
 * meanwhile by a RENAME is caught by UNIQUE (user_id, name).
 *
 * Trust: the caller's checked arguments; the database's answers are
 * ours but parsed defensively (strtoll on text). Blocking (pg_conn.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/pg_mailstore.h"
#include "pg/pg_mailstore_int.h"
#include "store/mailbox.h"
#include "util/array.h"
#include "util/xmalloc.h"

/* The SQL here and in pg_mailstore_msg.c tests these bits by value. */
_Static_assert(MBOX_F_SEEN == 8 && MBOX_F_DELETED == 4,
    "flag bits in the SQL");

/* ---- helpers (pg_mailstore_int.h) ---------------------------------- */

const char *
pg_ms_i(struct pg_ms_num *n, int64_t v)
{
	snprintf(n->s, sizeof(n->s), "%lld", (long long)v);
	return n->s;
}

char *
pg_ms_uids_param(const uint32_t *uids, size_t n)
{
	char *s = xmalloc(n * 11 + 3), *p = s;

	*p++ = '{';
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, i ? ",%u" : "%u", uids[i]);
	*p++ = '}';
	*p = '\0';
	return s;
}

char *
pg_ms_words_param(const char *const *words)
{
	size_t len = 1;
	char *s, *p;

	for (size_t i = 0; words != NULL && words[i] != NULL; i++)
		len += strlen(words[i]) + 1;
	p = s = xmalloc(len);
	for (size_t i = 0; words != NULL && words[i] != NULL; i++) {
		if (i > 0)
			*p++ = ' ';
		p = stpcpy(p, words[i]);
	}
	*p = '\0';
	return s;
}

uint32_t *
pg_ms_uids_parse(const char *text, size_t *n_r)
{
	uint32_t *v = NULL;
	size_t n = 0, cap = 0;
	const char *p = text != NULL && *text == '{' ? text + 1 : "";
	char *end;

	while (*p >= '0' && *p <= '9') {
		*ARRAY_PUSH(v, n, cap) = (uint32_t)strtoul(p, &end, 10);
		p = *end == ',' ? end + 1 : end;
	}
	*n_r = n;
	return v;
}

int
pg_ms_fail(char **error_r, int code, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (s == NULL)
		s = xstrdup("out of memory");
	*error_r = s;
	return code;
}

enum pg_rc
pg_ms_notify(int64_t mailbox_id, uint64_t modseq, char **error_r)
{
	char payload[48 + PG_MS_ORIGIN_MAX];
	const char *o = pg_ms_origin();

	snprintf(payload, sizeof(payload), "%lld %llu%s%s",
	    (long long)mailbox_id, (unsigned long long)modseq, o[0] ? " " : "",
	    o);
	return pg_query(NULL, error_r, "SELECT pg_notify('tem_mailbox', $1)",
	    1, payload);
}

/* The first value of res as a number (0 when none). */
static int64_t
val(PGresult *res, int row, int col)
{
	if (row >= PQntuples(res) || PQgetisnull(res, row, col))
		return 0;
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* ---- users ---------------------------------------------------------- */

int
pg_ms_user_id(const char *address, int64_t *user_id_r, char **error_r)
{
	char *v = NULL;
	enum pg_rc rc;

	rc = pg_query_value(&v, error_r, "SELECT id FROM users WHERE "
	    "tem_fold(address) = tem_fold($1)", 1, address);
	if (rc != PG_OK)
		return rc;
	if (v == NULL)
		return pg_ms_fail(error_r, PG_MS_NONEXISTENT,
		    "user %s does not exist", address);
	*user_id_r = strtoll(v, NULL, 10);
	free(v);
	return PG_OK;
}

static const struct {
	const char	*name;
	unsigned	 use;
} specials[] = {
	{ "INBOX", 0 }, { "Drafts", MBOX_DRAFTS }, { "Sent", MBOX_SENT },
	{ "Trash", MBOX_TRASH }, { "Junk", MBOX_JUNK },
	{ "Archive", MBOX_ARCHIVE },
};
#define N_SPECIALS	(sizeof(specials) / sizeof(specials[0]))
/* The same names as an SQL array. */
#define SPECIAL_NAMES	"'{INBOX,Drafts,Sent,Trash,Junk,Archive}'"

struct user_init {
	int64_t	user_id;
};

static enum pg_rc
user_init_body(void *arg, char **error_r)
{
	struct user_init *ui = arg;
	struct pg_ms_num u;
	int64_t id;
	uint32_t uv;

	pg_ms_i(&u, ui->user_id);
	for (size_t i = 0; i < N_SPECIALS; i++) {
		int rc = pg_ms_create_tx(ui->user_id, specials[i].name,
		    specials[i].use, &id, &uv, error_r);

		if (rc == PG_MS_EXISTS) {
			XFREE(error_r);
			continue;
		}
		if (rc == PG_OK)
			rc = pg_query(NULL, error_r, "INSERT INTO subscriptions"
			    "(user_id, name) VALUES ($1, $2) ON CONFLICT DO "
			    "NOTHING", 2, u.s, specials[i].name);
		if (rc != PG_OK)
			return rc;
	}
	return PG_OK;
}

int
pg_ms_user_init(int64_t user_id, char **error_r)
{
	struct user_init ui = { user_id };
	struct pg_ms_num u;
	char *v = NULL;
	enum pg_rc rc;

	/* the common case (every login): all there, one read */
	rc = pg_query_value(&v, error_r, "SELECT count(*) FROM mailboxes "
	    "WHERE user_id = $1 AND name = ANY(" SPECIAL_NAMES ")", 1,
	    pg_ms_i(&u, user_id));
	if (rc != PG_OK)
		return rc;
	if (v != NULL && strtoul(v, NULL, 10) == N_SPECIALS) {
		free(v);
		return PG_OK;
	}
	free(v);
	return pg_tx(user_init_body, &ui, error_r);
}

/* ---- folders -------------------------------------------------------- */

int
pg_ms_create_tx(int64_t user_id, const char *name, unsigned special_use,
    int64_t *id_r, uint32_t *uidvalidity_r, char **error_r)
{
	struct pg_ms_num u, su, uvn;
	PGresult *res = NULL;
	char *v = NULL;
	int64_t uv, count;
	enum pg_rc rc;

	pg_ms_i(&u, user_id);
	/* the per-user counter: its row lock orders this user's creations */
	rc = pg_query_value(&v, error_r, "INSERT INTO mailbox_uidvalidity"
	    "(user_id, last) VALUES ($1, extract(epoch FROM now())::bigint) "
	    "ON CONFLICT (user_id) DO UPDATE SET last = greatest("
	    "mailbox_uidvalidity.last + 1, EXCLUDED.last) RETURNING last",
	    1, u.s);
	if (rc != PG_OK)
		return rc;
	uv = v != NULL ? strtoll(v, NULL, 10) : 0;
	XFREE(&v);
	rc = pg_query_value(&v, error_r, "SELECT count(*) FROM mailboxes "
	    "WHERE user_id = $1", 1, u.s);
	if (rc != PG_OK)
		return rc;
	count = v != NULL ? strtoll(v, NULL, 10) : 0;
	free(v);
	if (count >= PG_MS_FOLDERS_MAX)
		return pg_ms_fail(error_r, PG_MS_LIMIT, "too many folders "
		    "(at most %d)", PG_MS_FOLDERS_MAX);
	rc = pg_query(&res, error_r, "INSERT INTO mailboxes(user_id, name, "
	    "uidvalidity, special_use) VALUES ($1, $2, $3, $4) ON CONFLICT "
	    "(user_id, name) DO NOTHING RETURNING id", 4, u.s, name,
	    pg_ms_i(&uvn, uv), pg_ms_i(&su, special_use));
	if (rc != PG_OK)
		return rc;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return pg_ms_fail(error_r, PG_MS_EXISTS, "folder %s already "
		    "exists", name);
	}
	*id_r = val(res, 0, 0);
	*uidvalidity_r = (uint32_t)uv;
	PQclear(res);
	return PG_OK;
}

struct folder_op {
	int64_t		 user_id;
	const char	*name, *newname;
	unsigned	 special_use;
	uint32_t	 uidvalidity;
};

static enum pg_rc
create_body(void *arg, char **error_r)
{
	struct folder_op *o = arg;
	int64_t id;
	enum pg_rc rc;

	rc = pg_ms_create_tx(o->user_id, o->name, o->special_use, &id,
	    &o->uidvalidity, error_r);
	if (rc == PG_OK)
		rc = pg_ms_notify_user(o->user_id, 'C', o->name, NULL,
		    error_r);
	return rc;
}

int
pg_ms_create(int64_t user_id, const char *name, unsigned special_use,
    uint32_t *uidvalidity_r, char **error_r)
{
	struct folder_op o = { user_id, name, NULL, special_use, 0 };
	int rc = pg_tx(create_body, &o, error_r);

	if (rc == PG_OK && uidvalidity_r != NULL)
		*uidvalidity_r = o.uidvalidity;
	return rc;
}

static enum pg_rc
delete_body(void *arg, char **error_r)
{
	struct folder_op *o = arg;
	struct pg_ms_num u;
	char *id = NULL;
	enum pg_rc rc;

	/* messages, expunged, acl: ON DELETE CASCADE; the blobs: the
	 * messages_unref trigger */
	rc = pg_query_value(&id, error_r, "DELETE FROM mailboxes WHERE "
	    "user_id = $1 AND name = $2 RETURNING id", 2,
	    pg_ms_i(&u, o->user_id), o->name);
	if (rc != PG_OK)
		return rc;
	if (id == NULL)
		return pg_ms_fail(error_r, PG_MS_NONEXISTENT, "folder %s does "
		    "not exist", o->name);
	rc = pg_ms_notify(strtoll(id, NULL, 10), 0, error_r);
	free(id);
	if (rc == PG_OK)
		rc = pg_ms_notify_user(o->user_id, 'D', o->name, NULL,
		    error_r);
	return rc;
}

int
pg_ms_delete(int64_t user_id, const char *name, char **error_r)
{
	struct folder_op o = { user_id, name, NULL, 0, 0 };

	if (strcmp(name, "INBOX") == 0)
		return pg_ms_fail(error_r, PG_MS_CANNOT, "INBOX cannot be "
		    "deleted");
	return pg_tx(delete_body, &o, error_r);
}

int
pg_ms_folder_id(int64_t user_id, const char *name, int64_t *id_r,
    char **error_r)
{
	struct pg_ms_num u;
	char *id = NULL;
	enum pg_rc rc;

	rc = pg_query_value(&id, error_r, "SELECT id FROM mailboxes WHERE "
	    "user_id = $1 AND name = $2", 2, pg_ms_i(&u, user_id), name);
	if (rc != PG_OK)
		return rc;
	if (id == NULL)
		return pg_ms_fail(error_r, PG_MS_NONEXISTENT, "folder %s does "
		    "not exist", name);
	*id_r = strtoll(id, NULL, 10);
	free(id);
	return PG_OK;
}

int
pg_ms_folder_name(int64_t mailbox_id, int64_t *user_id_r, char **name_r,
    char **error_r)
{
	struct pg_ms_num m;
	PGresult *res = NULL;
	enum pg_rc rc;

	rc = pg_query(&res, error_r, "SELECT user_id, name FROM mailboxes "
	    "WHERE id = $1", 1, pg_ms_i(&m, mailbox_id));
	if (rc != PG_OK)
		return rc;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return pg_ms_fail(error_r, PG_MS_NONEXISTENT, "folder %lld "
		    "does not exist", (long long)mailbox_id);
	}
	*user_id_r = val(res, 0, 0);
	*name_r = xstrdup(PQgetvalue(res, 0, 1));
	PQclear(res);
	return PG_OK;
}

/* RENAME INBOX: a new folder takes its messages (RFC 9051 6.3.6). */
static int
rename_inbox(struct folder_op *o, char **error_r)
{
	struct pg_ms_copy c = { .move = true };
	int rc;

	rc = pg_ms_create_tx(o->user_id, o->newname, 0, &c.dst,
	    &c.uidvalidity, error_r);
	if (rc == PG_OK)
		rc = pg_ms_folder_id(o->user_id, "INBOX", &c.src, error_r);
	if (rc == PG_OK) {
		rc = pg_ms_copy_tx(&c, error_r);
		if (rc == PG_MS_NOTHING)	/* an empty INBOX */
			rc = PG_OK;
	}
	free(c.src_uids);
	free(c.dst_uids);
	return rc;
}

static enum pg_rc
rename_body(void *arg, char **error_r)
{
	struct folder_op *o = arg;
	struct pg_ms_num u;
	char *n = NULL;
	enum pg_rc rc;

	/* RENAME INBOX makes a folder (as on Maildir) */
	if (strcmp(o->name, "INBOX") == 0) {
		rc = rename_inbox(o, error_r);
		return rc == PG_OK ? pg_ms_notify_user(o->user_id, 'C',
		    o->newname, NULL, error_r) : rc;
	}
	/* "ID R" for the folder and each child moved with it (an
	 * aggregate evaluates its argument on every row, so each gets its
	 * NOTIFY): a session that has one selected re-reads its name */
	rc = pg_query_value(&n, error_r, "WITH r AS (UPDATE mailboxes SET "
	    "name = $3 || substr(name, length($2) + 1) WHERE user_id = $1 AND "
	    "(name = $2 OR left(name, length($2) + 1) = $2 || '/') "
	    "RETURNING id, name) SELECT count(*) FILTER (WHERE name = $3), "
	    "count(pg_notify('tem_mailbox', id || ' R')) FROM r", 3,
	    pg_ms_i(&u, o->user_id), o->name, o->newname);
	if (rc == PG_ERROR && strcmp(pg_conn_sqlstate(), "23505") == 0) {
		free(*error_r);
		return pg_ms_fail(error_r, PG_MS_EXISTS, "folder %s already "
		    "exists", o->newname);
	}
	if (rc == PG_OK && (n == NULL || strcmp(n, "1") != 0))
		rc = pg_ms_fail(error_r, PG_MS_NONEXISTENT, "folder %s does "
		    "not exist", o->name);
	free(n);
	if (rc == PG_OK)
		rc = pg_ms_notify_user(o->user_id, 'R', o->name, o->newname,
		    error_r);
	return rc;
}

int
pg_ms_rename(int64_t user_id, const char *oldname, const char *newname,
    char **error_r)
{
	struct folder_op o = { user_id, oldname, newname, 0, 0 };
	size_t len = strlen(oldname);

	if (strcmp(oldname, newname) == 0 || (strncmp(newname, oldname,
	    len) == 0 && newname[len] == '/'))
		return pg_ms_fail(error_r, PG_MS_CANNOT, "cannot rename %s "
		    "into itself", oldname);
	if (strcmp(newname, "INBOX") == 0)
		return pg_ms_fail(error_r, PG_MS_EXISTS, "folder INBOX "
		    "already exists");
	return pg_tx(rename_body, &o, error_r);
}

int
pg_ms_subscribe(int64_t user_id, const char *name, bool on, char **error_r)
{
	struct pg_ms_num u;
	char *payload = pg_ms_user_payload(user_id, on ? 'S' : 'U', name,
	    NULL);
	enum pg_rc rc;

	/* notified only when something changed: one statement */
	pg_ms_i(&u, user_id);
	if (on)
		rc = pg_query(NULL, error_r, "WITH s AS (INSERT INTO "
		    "subscriptions(user_id, name) VALUES ($1, $2) ON CONFLICT "
		    "DO NOTHING RETURNING 1) SELECT pg_notify('tem_user', $3) "
		    "FROM s", 3, u.s, name, payload);
	else
		rc = pg_query(NULL, error_r, "WITH s AS (DELETE FROM "
		    "subscriptions WHERE user_id = $1 AND name = $2 RETURNING "
		    "1) SELECT pg_notify('tem_user', $3) FROM s", 3, u.s, name,
		    payload);
	free(payload);
	return rc;
}

int
pg_ms_list(int64_t user_id, struct pg_ms_folder **list_r, size_t *n_r,
    char **error_r)
{
	struct pg_ms_num u;
	PGresult *res = NULL;
	struct pg_ms_folder *l;
	enum pg_rc rc;
	size_t n;

	*list_r = NULL;
	*n_r = 0;
	rc = pg_query(&res, error_r, "SELECT m.id, coalesce(m.name, s.name) "
	    "COLLATE \"C\" AS name, m.uidvalidity, m.special_use, s.name IS "
	    "NOT NULL FROM (SELECT * FROM mailboxes WHERE user_id = $1) m "
	    "FULL JOIN (SELECT name FROM subscriptions WHERE user_id = $1) s "
	    "ON s.name = m.name ORDER BY 2", 1, pg_ms_i(&u, user_id));
	if (rc != PG_OK)
		return rc;
	n = (size_t)PQntuples(res);
	l = xcalloc(n + 1, sizeof(*l));
	for (size_t i = 0; i < n; i++) {
		l[i].exists = !PQgetisnull(res, (int)i, 0);
		l[i].id = val(res, (int)i, 0);
		l[i].name = xstrdup(PQgetvalue(res, (int)i, 1));
		l[i].uidvalidity = (uint32_t)val(res, (int)i, 2);
		l[i].special_use = (unsigned)val(res, (int)i, 3);
		l[i].subscribed = PQgetvalue(res, (int)i, 4)[0] == 't';
	}
	PQclear(res);
	*list_r = l;
	*n_r = n;
	return PG_OK;
}

void
pg_ms_folders_free(struct pg_ms_folder *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i].name);
	free(list);
}

/* ---- reads ---------------------------------------------------------- */

struct read_op {
	int64_t			 user_id, mailbox_id;
	const char		*name;
	uint64_t		 since;
	bool			 changes;
	struct pg_ms_state	*st;
};

/* The messages of res (MSG_COLUMNS). */
static void
msgs_parse(PGresult *res, struct pg_ms_state *st)
{
	size_t n = (size_t)PQntuples(res);

	st->msgs = xcalloc(n + 1, sizeof(*st->msgs));
	for (size_t i = 0; i < n; i++) {
		struct pg_ms_msg *m = &st->msgs[i];
		const char *kw = PQgetvalue(res, (int)i, 3);

		m->uid = (uint32_t)val(res, (int)i, 0);
		m->modseq = (uint64_t)val(res, (int)i, 1);
		m->flags = (unsigned)val(res, (int)i, 2);
		m->keywords = *kw != '\0' ? xstrdup(kw) : NULL;
		m->size = (uint64_t)val(res, (int)i, 4);
		m->internaldate = (time_t)val(res, (int)i, 5);
		m->blob_id = val(res, (int)i, 6);
		m->exact = *PQgetvalue(res, (int)i, 7) == 't';
		m->savedate = (time_t)val(res, (int)i, 8);
	}
	st->n = n;
}

#define MSG_COLUMNS "uid, modseq, flags, array_to_string(keywords, ' '), " \
	"size, extract(epoch FROM internaldate)::bigint, blob_id, exact, " \
	"extract(epoch FROM coalesce(savedate, internaldate))::bigint"

static enum pg_rc
read_body(void *arg, char **error_r)
{
	struct read_op *o = arg;
	struct pg_ms_state *st = o->st;
	struct pg_ms_num a, b;
	PGresult *res = NULL;
	enum pg_rc rc;

	pg_ms_state_free(st);
	/* one snapshot for the counters and the list */
	rc = pg_query(NULL, error_r, "SET TRANSACTION ISOLATION LEVEL "
	    "REPEATABLE READ, READ ONLY", 0);
	if (rc != PG_OK)
		return rc;
	if (o->changes)
		rc = pg_query(&res, error_r, "SELECT id, uidvalidity, uidnext, "
		    "highestmodseq, recent_uid, vanished_floor FROM mailboxes "
		    "WHERE id = $1", 1, pg_ms_i(&a, o->mailbox_id));
	else
		rc = pg_query(&res, error_r, "SELECT id, uidvalidity, uidnext, "
		    "highestmodseq, recent_uid FROM mailboxes WHERE user_id = "
		    "$1 AND name = $2", 2, pg_ms_i(&a, o->user_id), o->name);
	if (rc != PG_OK)
		return rc;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return pg_ms_fail(error_r, PG_MS_NONEXISTENT, "folder %s does "
		    "not exist", o->changes ? "(selected)" : o->name);
	}
	st->mailbox_id = val(res, 0, 0);
	st->uidvalidity = (uint32_t)val(res, 0, 1);
	st->uidnext = (uint32_t)val(res, 0, 2);
	st->highestmodseq = (uint64_t)val(res, 0, 3);
	st->recent_uid = (uint32_t)val(res, 0, 4);
	/* the rows at or below the floor are pruned (pg_ms_prune_expunged),
	 * in the same snapshot as what is read below */
	st->vanished_complete = !o->changes ||
	    (uint64_t)val(res, 0, 5) <= o->since;
	PQclear(res);
	pg_ms_i(&a, st->mailbox_id);
	pg_ms_i(&b, (int64_t)o->since);
	if (o->changes)
		rc = pg_query(&res, error_r, "SELECT " MSG_COLUMNS " FROM "
		    "messages WHERE mailbox_id = $1 AND modseq > $2 ORDER BY "
		    "uid", 2, a.s, b.s);
	else
		rc = pg_query(&res, error_r, "SELECT " MSG_COLUMNS " FROM "
		    "messages WHERE mailbox_id = $1 ORDER BY uid", 1, a.s);
	if (rc != PG_OK)
		return rc;
	msgs_parse(res, st);
	PQclear(res);
	if (o->changes) {
		char *v = NULL;

		rc = pg_query_value(&v, error_r, "SELECT coalesce(array_agg("
		    "uid ORDER BY uid), '{}') FROM expunged WHERE "
		    "mailbox_id = $1 AND modseq > $2", 2, a.s, b.s);
		if (rc == PG_OK)
			st->vanished = pg_ms_uids_parse(v, &st->n_vanished);
		free(v);
	}
	return rc;
}

static int
read_state(struct read_op *o, char **error_r)
{
	int rc;

	memset(o->st, 0, sizeof(*o->st));
	if ((rc = pg_tx(read_body, o, error_r)) != PG_OK)
		pg_ms_state_free(o->st);
	return rc;
}

int
pg_ms_select(int64_t user_id, const char *name, struct pg_ms_state *st,
    char **error_r)
{
	struct read_op o = { .user_id = user_id, .name = name, .st = st };

	return read_state(&o, error_r);
}

int
pg_ms_changes(int64_t mailbox_id, uint64_t modseq, struct pg_ms_state *st,
    char **error_r)
{
	struct read_op o = { .mailbox_id = mailbox_id, .since = modseq,
	    .changes = true, .st = st };

	return read_state(&o, error_r);
}

int
pg_ms_status(int64_t user_id, const char *name, struct pg_ms_status *st,
    char **error_r)
{
	struct pg_ms_num u;
	PGresult *res = NULL;
	enum pg_rc rc;

	memset(st, 0, sizeof(*st));
	/* one statement: one snapshot */
	rc = pg_query(&res, error_r, "SELECT b.id, b.uidvalidity, b.uidnext, "
	    "b.highestmodseq, count(m.uid), count(m.uid) FILTER (WHERE "
	    "m.flags & 8 = 0), count(m.uid) FILTER (WHERE m.flags & 4 <> 0), "
	    "coalesce(sum(m.size), 0), coalesce(sum(m.size) FILTER (WHERE "
	    "m.flags & 4 <> 0), 0), count(m.uid) FILTER (WHERE m.uid >= "
	    "b.recent_uid) FROM mailboxes b LEFT JOIN messages m ON "
	    "m.mailbox_id = b.id WHERE b.user_id = $1 AND b.name = $2 GROUP "
	    "BY b.id", 2, pg_ms_i(&u, user_id), name);
	if (rc != PG_OK)
		return rc;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return pg_ms_fail(error_r, PG_MS_NONEXISTENT, "folder %s does "
		    "not exist", name);
	}
	st->mailbox_id = val(res, 0, 0);
	st->uidvalidity = (uint32_t)val(res, 0, 1);
	st->uidnext = (uint32_t)val(res, 0, 2);
	st->highestmodseq = (uint64_t)val(res, 0, 3);
	st->messages = (uint32_t)val(res, 0, 4);
	st->unseen = (uint32_t)val(res, 0, 5);
	st->deleted = (uint32_t)val(res, 0, 6);
	st->size = (uint64_t)val(res, 0, 7);
	st->deleted_size = (uint64_t)val(res, 0, 8);
	st->recent = (uint32_t)val(res, 0, 9);
	PQclear(res);
	return PG_OK;
}

int
pg_ms_usage(int64_t user_id, uint64_t *bytes_r, uint64_t *messages_r,
    char **error_r)
{
	struct pg_ms_num u;
	PGresult *res = NULL;
	enum pg_rc rc;

	rc = pg_query(&res, error_r, "SELECT coalesce(sum(m.size), 0), "
	    "count(*) FROM mailboxes b JOIN messages m ON m.mailbox_id = b.id "
	    "WHERE b.user_id = $1", 1, pg_ms_i(&u, user_id));
	if (rc != PG_OK)
		return rc;
	*bytes_r = (uint64_t)val(res, 0, 0);
	*messages_r = (uint64_t)val(res, 0, 1);
	PQclear(res);
	return PG_OK;
}

void
pg_ms_state_free(struct pg_ms_state *st)
{
	for (size_t i = 0; i < st->n; i++)
		free(st->msgs[i].keywords);
	free(st->msgs);
	free(st->vanished);
	memset(st, 0, sizeof(*st));
}

int
pg_ms_read(int64_t mailbox_id, uint32_t uid, uint64_t offset, uint64_t len,
    char **data_r, size_t *len_r, char **error_r)
{
	struct pg_ms_num a, b, c, d;
	const char *params[4] = { pg_ms_i(&a, mailbox_id), pg_ms_i(&b, uid),
	    pg_ms_i(&c, (int64_t)offset), pg_ms_i(&d, (int64_t)len) };
	PGresult *res;
	size_t n;
	enum pg_rc rc;

	*data_r = NULL;
	*len_r = 0;
	/* substr on a compressed TOAST value decompresses only the slice's
	 * prefix (PostgreSQL 12+), so a partial FETCH reads little; the
	 * bytes come in binary form, as they are (no hex text) */
	rc = pg_query_bin(&res, error_r, "SELECT CASE WHEN $4::bigint = 0 "
	    "THEN substr(b.data, $3::int + 1) ELSE substr(b.data, "
	    "$3::int + 1, $4::int) END FROM messages m JOIN blobs b ON "
	    "b.id = m.blob_id WHERE m.mailbox_id = $1 AND m.uid = $2", 4,
	    params, NULL, true);
	if (rc != PG_OK)
		return rc;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		PQclear(res);
		return pg_ms_fail(error_r, PG_MS_NONEXISTENT, "message %u does "
		    "not exist", uid);
	}
	n = (size_t)PQgetlength(res, 0, 0);
	*data_r = xmalloc(n + 1);
	memcpy(*data_r, PQgetvalue(res, 0, 0), n);
	PQclear(res);
	*len_r = n;
	return PG_OK;
}
