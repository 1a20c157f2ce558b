/*
 * pg_migrate - `tem migrate` (see pg_migrate.h): the run, the accounts,
 * the Sieve scripts, the queue and the closing checks; the folders are
 * pg_migrate_mail.c's.
 *
 * A running server is refused by taking data_dir/queue/lock (the flock
 * `tem serve` holds for its whole life) and holding it to the end, so
 * no server can start on the data_dir while it is being copied.
 *
 * Trust: the data_dir and the database are the administrator's; queue
 * files are parsed by the queue's own checked reader.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "conf/conf.h"
#include "pg/pg_conn.h"
#include "pg/pg_migrate.h"
#include "pg/pg_migrate_int.h"
#include "queue/queue.h"
#include "queue/queue_int.h"
#include "sieve/sieve_store.h"
#include "store/mailbox.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

/* as queue_pg.c's flags column */
#define QF_8BIT		1
#define QF_SMTPUTF8	2
#define QF_REQUIRETLS	4
#define QF_TLSOPT	8

/* ---- accounts ------------------------------------------------------ */

struct acct {
	sqlite3		*db;
	unsigned	 n[4];		/* domains, users, aliases, quotas */
};

/* Runs sql over accounts.db's rows, one pg statement per row with the
 * row's columns as parameters. */
static enum pg_rc
rows(struct acct *a, const char *lite, const char *pg, int ncol,
    unsigned *count, char **error_r)
{
	sqlite3_stmt *st;
	enum pg_rc rc = PG_OK;
	int step = SQLITE_DONE;

	*count = 0;
	if (sqlite3_prepare_v2(a->db, lite, -1, &st, NULL) != SQLITE_OK) {
		*error_r = xasprintf("accounts.db: %s",
		    sqlite3_errmsg(a->db));
		return PG_ERROR;
	}
	while (rc == PG_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *p[4];
		for (int i = 0; i < ncol; i++)
			p[i] = (const char *)sqlite3_column_text(st, i);
		rc = pg_queryv(NULL, error_r, pg, ncol, p);
		(*count)++;
	}
	if (rc == PG_OK && step != SQLITE_DONE) {
		*error_r = xasprintf("accounts.db: %s",
		    sqlite3_errmsg(a->db));
		rc = PG_ERROR;
	}
	sqlite3_finalize(st);
	return rc;
}

/* An address as the users/aliases CHECK wants it: ASCII lowercase. */
#define PG_ADDR(n) "CASE WHEN octet_length($" #n ") = char_length($" #n \
	") THEN tem_fold($" #n ") ELSE $" #n " END"

static enum pg_rc
accounts_body(void *arg, char **error_r)
{
	struct acct *a = arg;
	enum pg_rc rc;

	rc = rows(a, "SELECT name FROM domains", "INSERT INTO domains(name) "
	    "VALUES (lower($1)) ON CONFLICT DO NOTHING", 1, &a->n[0],
	    error_r);
	/* the yescrypt hash as it is: passwords keep working */
	if (rc == PG_OK)
		rc = rows(a, "SELECT address, domain, hash FROM users",
		    "INSERT INTO users(address, domain, hash) VALUES ("
		    PG_ADDR(1) ", lower($2), $3) ON CONFLICT DO NOTHING", 3,
		    &a->n[1], error_r);
	if (rc == PG_OK)
		rc = rows(a, "SELECT address, domain, targets FROM aliases",
		    "INSERT INTO aliases(address, domain, targets) VALUES ("
		    PG_ADDR(1) ", lower($2), string_to_array($3, ',')) ON "
		    "CONFLICT DO NOTHING", 3, &a->n[2], error_r);
	if (rc == PG_OK)
		rc = rows(a, "SELECT address, storage, messages FROM quotas",
		    "UPDATE users SET quota_storage = $2, quota_messages = $3 "
		    "WHERE tem_fold(address) = tem_fold($1)", 3, &a->n[3],
		    error_r);
	/* every node reloads its snapshot */
	if (rc == PG_OK)
		rc = pg_query(NULL, error_r, "WITH s AS (UPDATE "
		    "accounts_serial SET serial = serial + 1 RETURNING serial) "
		    "SELECT "
		    "pg_notify('tem_accounts', serial::text) FROM s", 0);
	return rc;
}

static sqlite3 *
accounts_db(const char *data_dir, char **error_r)
{
	char *path = xasprintf("%s/accounts.db", data_dir);
	sqlite3 *db = pgm_sqlite_open(path, error_r);

	free(path);
	return db;
}

static int
accounts_copy(struct pgm *m, sqlite3 *db, char **error_r)
{
	struct acct a = { .db = db };

	if (pg_tx(accounts_body, &a, error_r) != PG_OK)
		return -1;
	fprintf(m->out, "accounts domains=%u users=%u aliases=%u quotas=%u\n",
	    a.n[0], a.n[1], a.n[2], a.n[3]);
	return 0;
}

/* Rows of accounts.db's table against the database's with the same
 * names (a database may hold more: those are not ours to judge). */
static int
accounts_check(struct pgm *m, sqlite3 *db, char **error_r)
{
	static const struct {
		const char *what, *lite, *pg;
	} t[] = {
		{ "domains", "SELECT name FROM domains",
		  "SELECT count(*) FROM domains WHERE name = lower($1)" },
		{ "users", "SELECT address || ' ' || hash FROM users",
		  "SELECT count(*) FROM users WHERE tem_fold(address) || "
		  "' ' || hash = tem_fold(split_part($1, ' ', 1)) || ' ' || "
		  "split_part($1, ' ', 2)" },
		{ "aliases", "SELECT address || ' ' || targets FROM aliases",
		  "SELECT count(*) FROM aliases WHERE tem_fold(address) || ' ' "
		  "|| array_to_string(targets, ',') = tem_fold(split_part($1, "
		  "' ', 1)) || ' ' || split_part($1, ' ', 2)" },
		{ "quotas", "SELECT address || ' ' || storage || ' ' || "
		  "messages FROM quotas",
		  "SELECT count(*) FROM users WHERE tem_fold(address) || "
		  "' ' || quota_storage || ' ' || quota_messages = "
		  "tem_fold($1)" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		sqlite3_stmt *st;
		unsigned have = 0, found = 0;
		char *v = NULL;

		if (sqlite3_prepare_v2(db, t[i].lite, -1, &st, NULL) !=
		    SQLITE_OK)
			return *error_r = xasprintf("accounts.db: %s",
			    sqlite3_errmsg(db)), -1;
		while (sqlite3_step(st) == SQLITE_ROW) {
			have++;
			if (pg_query_value(&v, error_r, t[i].pg, 1,
			    (const char *)sqlite3_column_text(st, 0)) !=
			    PG_OK) {
				sqlite3_finalize(st);
				return -1;
			}
			found += v && strcmp(v, "1") == 0;
			free(v);
		}
		sqlite3_finalize(st);
		fprintf(m->out, "check %s %u/%u %s\n", t[i].what, have, found,
		    have == found ? "ok" : "MISMATCH");
		m->mismatches += have != found;
	}
	return 0;
}

/* ---- Sieve scripts -------------------------------------------------- */

struct sieve {
	FILE		*out;
	const char	*data_dir, *addr;
	int64_t		 user_id;
	char		**names;
	size_t		 n;
	char		*active;
};

static enum pg_rc
sieve_body(void *arg, char **error_r)
{
	struct sieve *s = arg;
	char u[24];
	enum pg_rc rc = PG_OK;

	snprintf(u, sizeof(u), "%" PRId64, s->user_id);
	for (size_t i = 0; i < s->n && rc == PG_OK; i++) {
		size_t len;
		char *text = sieve_store_get(s->data_dir, s->addr, s->names[i],
		    &len);

		if (text == NULL) {
			*error_r = xasprintf("sieve %s %s: cannot read: %s",
			    s->addr, s->names[i], strerror(errno));
			return PG_ERROR;
		}
		/* a text column cannot keep it (sieve_store_pg.h) */
		if (memchr(text, '\0', len) || !utf8_valid(text, len)) {
			fprintf(s->out, "warning sieve %s %s: not UTF-8 text, "
			    "left out\n", s->addr, s->names[i]);
			free(text);
			continue;
		}
		rc = pg_query(NULL, error_r, "INSERT INTO sieve_scripts("
		    "user_id, name, script, active) VALUES ($1, $2, $3, $4)",
		    4, u, s->names[i], text, s->active && strcmp(s->active,
		    s->names[i]) == 0 ? "true" : "false");
		free(text);
	}
	return rc;
}

static int
sieve_copy(struct pgm *m, const char *addr, int64_t user_id, char **error_r)
{
	struct sieve s = { .out = m->out, .data_dir = m->data_dir,
	    .addr = addr, .user_id = user_id };
	char u[24], *have = NULL;
	int ret = 0;

	if (sieve_store_list(m->data_dir, addr, &s.names, &s.n,
	    &s.active) < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = xasprintf("sieve %s: %s", addr, strerror(errno));
		return -1;
	}
	snprintf(u, sizeof(u), "%" PRId64, user_id);
	if (s.n == 0)
		;
	else if (pg_query_value(&have, error_r, "SELECT count(*) FROM "
	    "sieve_scripts WHERE user_id = $1", 1, u) != PG_OK)
		ret = -1;
	else if (strcmp(have, "0") != 0)
		fprintf(m->out, "sieve %s already there\n", addr);
	else if (pg_tx(sieve_body, &s, error_r) != PG_OK)
		ret = -1;
	else
		fprintf(m->out, "sieve %s scripts=%zu active=%s\n", addr, s.n,
		    s.active ? s.active : "-");
	free(have);
	sieve_store_names_free(&s.names, s.n);
	free(s.active);
	return ret;
}

/* ---- users ------------------------------------------------------- */

static int
users_each(struct pgm *m, sqlite3 *db, bool check, char **error_r)
{
	sqlite3_stmt *st;
	int ret = 0, step = SQLITE_DONE;

	if (sqlite3_prepare_v2(db, "SELECT address, domain, localpart FROM "
	    "users ORDER BY address", -1, &st, NULL) != SQLITE_OK)
		return *error_r = xasprintf("accounts.db: %s",
		    sqlite3_errmsg(db)), -1;
	while (ret == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *addr = (const char *)sqlite3_column_text(st, 0);
		const char *dom = (const char *)sqlite3_column_text(st, 1);
		const char *lp = (const char *)sqlite3_column_text(st, 2);
		char *id = NULL, *root;

		if (pg_query_value(&id, error_r, "SELECT id FROM users WHERE "
		    "tem_fold(address) = tem_fold($1)", 1, addr) != PG_OK)
			ret = -1;
		else if (id == NULL) {
			*error_r = xasprintf("user %s is not in the database",
			    addr);
			ret = -1;
		} else {
			int64_t uid = strtoll(id, NULL, 10);
			root = xasprintf("%s/mail/%s/%s", m->data_dir, dom, lp);
			ret = pgm_mail(m, addr, uid, root, check, error_r);
			if (ret == 0 && !check)
				ret = sieve_copy(m, addr, uid, error_r);
			free(root);
		}
		free(id);
	}
	if (ret == 0 && step != SQLITE_DONE) {
		*error_r = xasprintf("accounts.db: %s", sqlite3_errmsg(db));
		ret = -1;
	}
	sqlite3_finalize(st);
	return ret;
}

/* ---- ACLs ------------------------------------------------------------ */

struct acl {
	sqlite3		*db;
	unsigned	 rows, copied;
};

/* Every row of acl.sqlite onto its folder's mailboxes row; rows of
 * folders gone (the embedded store leaves them behind) have none. */
static enum pg_rc
acl_body(void *arg, char **error_r)
{
	struct acl *a = arg;
	sqlite3_stmt *st;
	enum pg_rc rc = PG_OK;
	PGresult *res;

	a->rows = a->copied = 0;
	if (sqlite3_prepare_v2(a->db, "SELECT owner, folder, ident, rights "
	    "FROM acl", -1, &st, NULL) != SQLITE_OK)
		return *error_r = xasprintf("acl.sqlite: %s",
		    sqlite3_errmsg(a->db)), PG_ERROR;
	while (rc == PG_OK && sqlite3_step(st) == SQLITE_ROW) {
		const char *p[4];
		for (int i = 0; i < 4; i++)
			p[i] = (const char *)sqlite3_column_text(st, i);
		rc = pg_queryv(&res, error_r, "INSERT INTO acl(mailbox_id, "
		    "ident, rights) SELECT b.id, $3, $4 FROM mailboxes b JOIN "
		    "users u ON u.id = b.user_id WHERE tem_fold(u.address) = "
		    "tem_fold($1) AND b.name = $2 ON CONFLICT DO NOTHING", 4,
		    p);
		if (rc == PG_OK) {
			a->rows++;
			a->copied += (unsigned)atoi(PQcmdTuples(res));
			PQclear(res);
		}
	}
	sqlite3_finalize(st);
	return rc;
}

static int
acl_copy(struct pgm *m, char **error_r)
{
	char *path = xasprintf("%s/acl.sqlite", m->data_dir);
	struct acl a = { NULL, 0, 0 };
	int ret = 0;

	if (access(path, F_OK) == 0) {
		if ((a.db = pgm_sqlite_open(path, error_r)) == NULL)
			ret = -1;
		else if (pg_tx(acl_body, &a, error_r) != PG_OK)
			ret = -1;
		else
			fprintf(m->out, "acl rows=%u copied=%u\n", a.rows,
			    a.copied);
		sqlite3_close(a.db);
	}
	free(path);
	return ret;
}

/* ---- the queue -------------------------------------------------------- */

struct qmsg {
	struct queue_msg	 m;
	const char		*content; /* LF as queued, len bytes */
	int			 len;
	char			*id;
};

static enum pg_rc
queue_body(void *arg, char **error_r)
{
	struct qmsg *q = arg;
	struct queue_msg *m = &q->m;
	char size[24], ret[8], flags[8], arrival[24], idx[12], notify[12],
	    state[12], rf[12], att[12], next[24];
	char *blob = NULL;
	enum pg_rc rc;

	snprintf(size, sizeof(size), "%zu", m->size);
	snprintf(ret, sizeof(ret), "%d", m->ret);
	snprintf(flags, sizeof(flags), "%d", (m->eightbit ? QF_8BIT : 0) |
	    (m->smtputf8 ? QF_SMTPUTF8 : 0) | (m->requiretls ?
	    QF_REQUIRETLS : 0) | (m->tls_optional ? QF_TLSOPT : 0));
	snprintf(arrival, sizeof(arrival), "%lld", (long long)m->arrival);
	rc = pgm_blob(&blob, size, q->content, q->len, error_r);
	/* next_attempt: the earliest pending recipient's (fixed below) */
	if (rc == PG_OK)
		rc = pg_query(NULL, error_r, "INSERT INTO queue(id, sender, "
		    "envid, ret, flags, received, blob_id) VALUES ($1, $2, $3, "
		    "$4, $5, to_timestamp($6::bigint), $7)", 7, m->id,
		    m->sender, m->envid, ret, flags, arrival, blob);
	free(blob);
	for (int i = 0; rc == PG_OK && i < m->nrcpt; i++) {
		struct queue_rcpt *r = &m->rcpts[i];
		snprintf(idx, sizeof(idx), "%d", i);
		snprintf(notify, sizeof(notify), "%u", r->notify);
		snprintf(state, sizeof(state), "%d", r->state);
		snprintf(rf, sizeof(rf), "%u", r->flags);
		snprintf(att, sizeof(att), "%u", r->attempts);
		snprintf(next, sizeof(next), "%lld", (long long)r->next_try);
		rc = pg_query(NULL, error_r, "INSERT INTO queue_rcpts("
		    "queue_id, idx, address, orcpt, notify, state, flags, "
		    "attempts, next_try, last_text) VALUES ($1, $2, $3, $4, "
		    "$5, $6, $7, $8, to_timestamp($9::bigint), $10)", 10,
		    m->id, idx, r->address, r->orcpt, notify, state, rf, att,
		    next, r->last_error);
	}
	if (rc == PG_OK)
		rc = pg_query(NULL, error_r, "UPDATE queue SET attempts = "
		    "(SELECT coalesce(max(attempts), 0) FROM queue_rcpts WHERE "
		    "queue_id = $1), next_attempt = coalesce((SELECT "
		    "min(next_try) FROM queue_rcpts WHERE queue_id = $1 AND "
		    "state = $2), now()) WHERE id = $1", 2, m->id, "0");
	return rc;
}

/* One queue file: copied (check false) or looked for (check true). */
static int
queue_one(struct pgm *m, const char *id, bool check, char **error_r)
{
	char *path = xasprintf("%s/queue/msg/%s", m->data_dir, id);
	struct qmsg q = { .id = NULL };
	struct queue_file_info info;
	const char *why = NULL;
	char *have = NULL, *data = NULL;
	struct stat st;
	int fd, ret = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 ||
	    fstat(fd, &st) < 0 || (uint64_t)st.st_size > QUEUE_CONTENT_MAX +
	    (64u << 20)) {
		*error_r = xasprintf("%s: %s", path, fd < 0 ? strerror(errno) :
		    "too big");
		goto out;
	}
	data = xmalloc((size_t)st.st_size + 1);
	if (read(fd, data, (size_t)st.st_size) != st.st_size) {
		*error_r = xasprintf("%s: short read", path);
		goto out;
	}
	if (queue_file_parse((const uint8_t *)data, (size_t)st.st_size,
	    &q.m, &info, &why) < 0) {
		fprintf(m->out, "warning queue %s: %s, left out\n", id, why);
		ret = 0;
		goto out;
	}
	q.m.size = (size_t)info.content_len;
	if (pg_query_value(&have, error_r, "SELECT (SELECT count(*) FROM "
	    "queue_rcpts WHERE queue_id = q.id) || ' ' || b.size FROM queue "
	    "q JOIN blobs b ON b.id = q.blob_id WHERE q.id = $1", 1, id) !=
	    PG_OK)
		goto out;
	if (check) {
		char want[48];
		snprintf(want, sizeof(want), "%d %zu", q.m.nrcpt, q.m.size);
		bool ok = have && strcmp(have, want) == 0;
		fprintf(m->out, "check queue %s rcpts+octets=%s/%s %s\n", id,
		    want, have ? have : "-", ok ? "ok" : "MISMATCH");
		m->mismatches += !ok;
		ret = 0;
	} else if (have) {
		fprintf(m->out, "queue %s already there\n", id);
		ret = 0;
	} else {
		q.content = data + info.content_off;
		q.len = (int)info.content_len;
		if (info.content_len > PG_BYTEA_MAX)
			*error_r = xasprintf("queue %s: %" PRIu64 " octets are "
			    "more than a bytea holds", id,
			    (uint64_t)info.content_len);
		else if (pg_tx(queue_body, &q, error_r) == PG_OK) {
			fprintf(m->out, "queue %s rcpts=%d octets=%zu\n", id,
			    q.m.nrcpt, q.m.size);
			ret = 0;
		}
	}
out:
	queue_msg_clear(&q.m);
	if (fd >= 0)
		close(fd);
	free(have);
	free(data);
	free(path);
	return ret;
}

static int
queue_each(struct pgm *m, bool check, char **error_r)
{
	char *dir = xasprintf("%s/queue/msg", m->data_dir);
	DIR *d = opendir(dir);
	struct dirent *e;
	int ret = 0;

	free(dir);
	if (d == NULL)
		return 0;	/* never queued anything */
	while (ret == 0 && (e = readdir(d)) != NULL)
		if (queue_id_valid(e->d_name))
			ret = queue_one(m, e->d_name, check, error_r);
	closedir(d);
	return ret;
}

/* ---- the run ------------------------------------------------------- */

/* Takes data_dir/queue/lock as `tem serve` does: refused while a server
 * runs. The descriptor, or -1 with *error_r. */
static int
server_lock(const char *data_dir, char **error_r)
{
	char *path = xasprintf("%s/queue/lock", data_dir);
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0 && errno != ENOENT)
		*error_r = xasprintf("cannot open %s: %s", path,
		    strerror(errno));
	else if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
		*error_r = errno == EWOULDBLOCK ? xasprintf("a tem server "
		    "(or another migrate) is running on %s: stop it first",
		    data_dir) :
		    xasprintf("cannot lock %s: %s", path, strerror(errno));
		close(fd);
		fd = -1;
	} else if (fd < 0)
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC); /* no queue */
	free(path);
	return fd;
}

int
pg_migrate(const struct conf *c, FILE *out, char **error_r)
{
	struct pgm m = { .data_dir = c->data_dir, .out = out };
	char *version = NULL;
	sqlite3 *db;
	int lock, ret = -1;

	if ((lock = server_lock(c->data_dir, error_r)) < 0)
		return -1;
	if (c->postgresql_dsn == NULL || *c->postgresql_dsn == '\0') {
		*error_r = xstrdup("postgresql_dsn is not set");
		goto out;
	}
	pg_conn_setup(c->postgresql_dsn);
	if (pg_query_value(&version, error_r, "SELECT max(version) FROM "
	    "tem_schema", 0) != PG_OK) {
		if (strcmp(pg_conn_sqlstate(), "42P01") == 0) { /* no table */
			free(*error_r);
			*error_r = xstrdup("the database has no tem schema: "
			    "run tem db init first");
		}
		goto out;
	}
	if ((db = accounts_db(c->data_dir, error_r)) == NULL)
		goto out;
	if (accounts_copy(&m, db, error_r) == 0 &&
	    users_each(&m, db, false, error_r) == 0 &&
	    acl_copy(&m, error_r) == 0 &&
	    queue_each(&m, false, error_r) == 0 &&
	    accounts_check(&m, db, error_r) == 0 &&
	    users_each(&m, db, true, error_r) == 0 &&
	    queue_each(&m, true, error_r) == 0) {
		fprintf(out, "%s: %u mismatches\n", m.mismatches ?
		    "migration checked" : "migration done", m.mismatches);
		ret = m.mismatches ? 1 : 0;
	}
	sqlite3_close(db);
out:
	free(version);
	pg_conn_close();
	mbox_shutdown();	/* the stores index_sync opened */
	close(lock);
	return ret;
}
