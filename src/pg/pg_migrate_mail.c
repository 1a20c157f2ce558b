/*
 * pg_migrate_mail - `tem migrate`'s mail part (see pg_migrate.h): one
 * user's folders from tem-index.sqlite and the Maildir++ files into
 * mailboxes/messages/blobs/expunged, each folder one transaction with the
 * UIDs, MODSEQs and counters it had; the subscriptions; and the per-folder
 * checks (messages, octets, UIDNEXT, UIDVALIDITY, HIGHESTMODSEQ).
 *
 * The index says where each message is (cur/ or new/, its file name with
 * the flags and keyword letters), its UID, MODSEQ, wire size and
 * INTERNALDATE; the folder's `keywords` file names the letters. A
 * message goes in the wire form (CRLF), except a byte-exact file (",X=1",
 * a literal8 APPEND), which keeps its bytes with messages.exact.
 *
 * Trust: the data_dir is ours but read with limits (a message file is
 * read whole: at most PGM_MSG_MAX; the keywords file at most 64 KiB).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "pg/pg_conn.h"
#include "pg/pg_migrate_int.h"
#include "store/mailbox.h"
#include "store/mailbox_int.h"
#include "util/xmalloc.h"

/* One message file, read whole (and copied once in wire form). */
#define PGM_MSG_MAX	(256ull * 1024 * 1024)
#define PGM_KW_MAX	(64 * 1024)
#define PGM_SUBS_MAX	(1024 * 1024)

uint64_t
pgm_crlf(struct buf *b, const char *p, size_t n)
{
	size_t from = 0;
	uint64_t out = n;

	for (size_t i = 0; i < n; i++)
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r')) {
			buf_append(b, p + from, i - from);
			buf_append(b, "\r", 1);
			from = i;
			out++;
		}
	buf_append(b, p + from, n - from);
	return out;
}

enum pg_rc
pgm_blob(char **id_r, const char *size, const char *data, int len,
    char **error_r)
{
	const char *params[2] = { size, data != NULL ? data : "" };
	const int lens[2] = { -1, len };
	PGresult *res;
	enum pg_rc rc;

	*id_r = NULL;
	rc = pg_query_bin(&res, error_r, "INSERT INTO blobs(size, data) "
	    "VALUES ($1, $2::bytea) RETURNING id", 2, params, lens, false);
	if (rc != PG_OK)
		return rc;
	*id_r = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return PG_OK;
}

sqlite3 *
pgm_sqlite_open(const char *path, char **error_r)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK || sqlite3_busy_timeout(db, 10000) != SQLITE_OK) {
		*error_r = xasprintf("%s: %s", path, db ?
		    sqlite3_errmsg(db) : "cannot open");
		sqlite3_close(db);
		db = NULL;
	}
	return db;
}

/* A whole small file (NUL-terminated), or NULL (missing, too big). */
static char *
read_file(const char *path, uint64_t max, size_t *len_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	char *data = NULL;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && (uint64_t)st.st_size > max)
		errno = EFBIG;
	else if (fstat(fd, &st) == 0) {
		data = xmalloc((size_t)st.st_size + 1);
		if (read(fd, data, (size_t)st.st_size) != st.st_size) {
			free(data);
			data = NULL;
			errno = EIO;
		} else {
			data[st.st_size] = '\0';
			*len_r = (size_t)st.st_size;
		}
	}
	close(fd);
	return data;
}

struct folder {
	struct pgm	*m;
	sqlite3		*db;
	int64_t		 user_id, index_id;
	const char	*addr;
	char		*name, *path;
	char		*kw[26];
	uint32_t	 uidvalidity;
	int64_t		 uidnext, highestmodseq, vanished_floor, recent_uid;
	int		 special_use;
	uint64_t	 messages, octets;	/* copied */
};

static void
kw_load(struct folder *f)
{
	char *path = xasprintf("%s/keywords", f->path), *save = NULL, *l;
	size_t len;
	char *data = read_file(path, PGM_KW_MAX, &len);

	free(path);
	for (l = data ? strtok_r(data, "\n", &save) : NULL; l;
	    l = strtok_r(NULL, "\n", &save)) {
		/* "a NAME": mailbox_file.c's kw_line (letters only: digits
		   name keywords no file name can carry) */
		if (l[0] >= 'a' && l[0] <= 'z' && l[1] == ' ' && l[2] &&
		    !f->kw[l[0] - 'a'] && mbox_keyword_valid(l + 2))
			f->kw[l[0] - 'a'] = xstrdup(l + 2);
	}
	free(data);
}

static sqlite3_stmt *
prep(sqlite3 *db, const char *sql, int64_t folder)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_int64(st, 1, folder);
	return st;
}

/* Column i of st's row as decimal text (a query parameter). */
static void
col_text(char *out, size_t n, sqlite3_stmt *st, int i)
{
	snprintf(out, n, "%lld", (long long)sqlite3_column_int64(st, i));
}

static enum pg_rc
sqlite_fail(sqlite3 *db, const char *what, char **error_r)
{
	*error_r = xasprintf("%s: %s", what, sqlite3_errmsg(db));
	return PG_ERROR;
}

/* One message row into the open transaction. */
static enum pg_rc
copy_msg(struct folder *f, const char *mbid, sqlite3_stmt *st,
    char **error_r)
{
	const char *name = (const char *)sqlite3_column_text(st, 1);
	int64_t size = sqlite3_column_int64(st, 3);
	bool innew = sqlite3_column_int(st, 5) != 0;
	char *path, *data, *blob = NULL;
	char uid[24], modseq[24], sz[24], idate[24], sdate[24], fl[8];
	unsigned flags;
	uint32_t letters;
	size_t len = 0;
	uint64_t wire;
	struct buf wbuf, kws;
	bool exact;
	char bsz[24];
	enum pg_rc rc;

	if (name == NULL || strchr(name, '/') || name[0] == '.')
		return *error_r = xasprintf("bad file name in %s's index",
		    f->path), PG_ERROR;
	path = xasprintf("%s/%s/%s", f->path, innew ? "new" : "cur", name);
	data = read_file(path, PGM_MSG_MAX, &len);
	if (data == NULL) {
		*error_r = xasprintf("cannot read %s: %s", path,
		    strerror(errno));
		free(path);
		return PG_ERROR;
	}
	free(path);
	buf_init(&wbuf, 0);
	/* a byte-exact file (",X=1": a literal8 APPEND) keeps its bytes,
	 * with messages.exact; the others go in the wire form (CRLF) */
	exact = mbox_name_exact(name, mbox_base_len(name));
	if (exact) {
		wire = mbox_wire_size(data, len);
		buf_append(&wbuf, data, len);
	} else
		wire = pgm_crlf(&wbuf, data, len);
	free(data);
	snprintf(bsz, sizeof(bsz), "%zu", wbuf.len);
	mbox_info_parse(name, &flags, &letters);
	buf_init(&kws, 0);
	for (int i = 0; i < 26; i++)
		if ((letters & (1u << i)) && f->kw[i])
			buf_printf(&kws, "%s%s", kws.len ? " " : "", f->kw[i]);
	col_text(uid, sizeof(uid), st, 0);
	col_text(modseq, sizeof(modseq), st, 2);
	snprintf(sz, sizeof(sz), "%" PRIu64, wire);
	col_text(idate, sizeof(idate), st, 4);
	col_text(sdate, sizeof(sdate), st, 6);
	snprintf(fl, sizeof(fl), "%u", flags & MBOX_F_STORABLE);
	if ((uint64_t)size != wire)
		fprintf(f->m->out, "warning %s %s uid=%s size: index %" PRId64
		    ", file %" PRIu64 " (the file's is kept)\n", f->addr,
		    f->name, uid, size, wire);
	rc = pgm_blob(&blob, bsz, wbuf.data, (int)wbuf.len, error_r);
	buf_free(&wbuf);
	if (rc == PG_OK)
		rc = pg_query(NULL, error_r, "INSERT INTO messages(mailbox_id, "
		    "uid, modseq, blob_id, size, internaldate, savedate, "
		    "flags, keywords, exact) VALUES ($1, $2, $3, $4, $5, "
		    "to_timestamp($6::bigint), to_timestamp($7::bigint), $8, "
		    "string_to_array($9, ' '), $10)", 10, mbid, uid, modseq,
		    blob, sz, idate, sqlite3_column_type(st, 6) == SQLITE_NULL ?
		    NULL : sdate, fl, buf_cstr(&kws), exact ? "t" : "f");
	free(blob);
	buf_free(&kws);
	if (rc == PG_OK) {
		f->messages++;
		f->octets += wire;
	}
	return rc;
}

static enum pg_rc
folder_body(void *arg, char **error_r)
{
	struct folder *f = arg;
	char u[24], v[24], n[24], h[24], vf[24], r[24], s[8];
	char *mbid = NULL;
	sqlite3_stmt *st;
	enum pg_rc rc;
	int step = SQLITE_DONE;

	f->messages = f->octets = 0;
	snprintf(u, sizeof(u), "%" PRId64, f->user_id);
	snprintf(v, sizeof(v), "%" PRIu32, f->uidvalidity);
	snprintf(n, sizeof(n), "%" PRId64, f->uidnext);
	snprintf(h, sizeof(h), "%" PRId64, f->highestmodseq);
	snprintf(vf, sizeof(vf), "%" PRId64, f->vanished_floor);
	snprintf(r, sizeof(r), "%" PRId64, f->recent_uid);
	snprintf(s, sizeof(s), "%d", f->special_use);
	rc = pg_query_value(&mbid, error_r, "INSERT INTO mailboxes(user_id, "
	    "name, uidvalidity, uidnext, highestmodseq, vanished_floor, "
	    "recent_uid, special_use) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
	    "RETURNING id", 8, u, f->name, v, n, h, vf, r, s);
	/* a folder made later never reuses this UIDVALIDITY */
	if (rc == PG_OK)
		rc = pg_query(NULL, error_r, "INSERT INTO mailbox_uidvalidity("
		    "user_id, last) VALUES ($1, $2) ON CONFLICT (user_id) DO "
		    "UPDATE SET last = greatest(mailbox_uidvalidity.last, $2)",
		    2, u, v);
	if (rc != PG_OK) {
		free(mbid);
		return rc;
	}
	st = prep(f->db, "SELECT uid, name, modseq, size, idate, innew, "
	    "savedate FROM messages WHERE folder = ?1 ORDER BY uid",
	    f->index_id);
	if (st == NULL)
		rc = sqlite_fail(f->db, f->path, error_r);
	while (rc == PG_OK && (step = sqlite3_step(st)) == SQLITE_ROW)
		rc = copy_msg(f, mbid, st, error_r);
	if (rc == PG_OK && step != SQLITE_DONE)
		rc = sqlite_fail(f->db, f->path, error_r);
	sqlite3_finalize(st);
	/* the expunge log, for QRESYNC's VANISHED */
	if (rc == PG_OK && (st = prep(f->db, "SELECT uid, modseq FROM "
	    "expunged WHERE folder = ?1", f->index_id)) == NULL)
		rc = sqlite_fail(f->db, f->path, error_r);
	while (rc == PG_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		col_text(u, sizeof(u), st, 0);
		col_text(h, sizeof(h), st, 1);
		rc = pg_query(NULL, error_r, "INSERT INTO expunged(mailbox_id, "
		    "uid, modseq) VALUES ($1, $2, $3)", 3, mbid, u, h);
	}
	if (rc == PG_OK && step != SQLITE_DONE)
		rc = sqlite_fail(f->db, f->path, error_r);
	sqlite3_finalize(st);
	free(mbid);
	return rc;
}

/* The embedded folder's counts against the database's. */
static int
folder_check(struct folder *f, char **error_r)
{
	char u[24];
	PGresult *res = NULL;
	sqlite3_stmt *st;
	int64_t e_n = 0, e_oct = 0;
	bool ok;

	if ((st = prep(f->db, "SELECT count(*), coalesce(sum(size), 0) FROM "
	    "messages WHERE folder = ?1", f->index_id)) == NULL ||
	    sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return sqlite_fail(f->db, f->path, error_r), -1;
	}
	e_n = sqlite3_column_int64(st, 0);
	e_oct = sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	snprintf(u, sizeof(u), "%" PRId64, f->user_id);
	/* octets as stored; an exact blob holds fewer than its wire size
	 * (its bare LFs count as CRLF), so its size counts instead unless
	 * the blob is larger than that */
	if (pg_query(&res, error_r, "SELECT b.uidvalidity, b.uidnext, "
	    "b.highestmodseq, (SELECT count(*) FROM messages WHERE "
	    "mailbox_id = b.id), (SELECT coalesce(sum(CASE WHEN m.exact AND "
	    "octet_length(l.data) <= m.size THEN m.size ELSE "
	    "octet_length(l.data) END), 0) FROM messages m JOIN blobs l ON "
	    "l.id = m.blob_id WHERE "
	    "m.mailbox_id = b.id) FROM mailboxes b WHERE user_id = $1 AND "
	    "name = $2", 2, u, f->name) != PG_OK)
		return -1;
	if (PQntuples(res) != 1) {
		fprintf(f->m->out, "check %s %s MISMATCH: not in the "
		    "database\n", f->addr, f->name);
		f->m->mismatches++;
		PQclear(res);
		return 0;
	}
#define COL(i) strtoll(PQgetvalue(res, 0, i), NULL, 10)
	ok = COL(0) == (int64_t)f->uidvalidity && COL(1) == f->uidnext &&
	    COL(2) == f->highestmodseq && COL(3) == e_n && COL(4) == e_oct;
	fprintf(f->m->out, "check %s %s uidvalidity=%" PRIu32 "/%lld "
	    "uidnext=%" PRId64 "/%lld highestmodseq=%" PRId64 "/%lld "
	    "messages=%" PRId64 "/%lld octets=%" PRId64 "/%lld %s\n", f->addr,
	    f->name, f->uidvalidity, COL(0), f->uidnext, COL(1),
	    f->highestmodseq, COL(2), e_n, COL(3), e_oct, COL(4),
	    ok ? "ok" : "MISMATCH");
#undef COL
	PQclear(res);
	if (!ok)
		f->m->mismatches++;
	return 0;
}

static int
folder_copy(struct folder *f, char **error_r)
{
	char u[24], *have = NULL;

	snprintf(u, sizeof(u), "%" PRId64, f->user_id);
	if (pg_query_value(&have, error_r, "SELECT id FROM mailboxes WHERE "
	    "user_id = $1 AND name = $2", 2, u, f->name) != PG_OK)
		return -1;
	if (have) {
		fprintf(f->m->out, "folder %s %s already there\n", f->addr,
		    f->name);
		free(have);
		return 0;
	}
	kw_load(f);
	if (pg_tx(folder_body, f, error_r) != PG_OK)
		return -1;
	fprintf(f->m->out, "folder %s %s uidvalidity=%" PRIu32 " uidnext=%"
	    PRId64 " highestmodseq=%" PRId64 " messages=%" PRIu64 " octets=%"
	    PRIu64 "\n", f->addr, f->name, f->uidvalidity, f->uidnext,
	    f->highestmodseq, f->messages, f->octets);
	fflush(f->m->out);
	return 0;
}

struct subs {
	int64_t		 user_id;
	char		*data;
	unsigned	 n;
};

static enum pg_rc
subs_body(void *arg, char **error_r)
{
	struct subs *s = arg;
	char u[24], *save = NULL;
	enum pg_rc rc = PG_OK;
	char *copy = xstrdup(s->data);

	s->n = 0;
	snprintf(u, sizeof(u), "%" PRId64, s->user_id);
	for (char *l = strtok_r(copy, "\n", &save); l && rc == PG_OK;
	    l = strtok_r(NULL, "\n", &save), s->n++)
		rc = pg_query(NULL, error_r, "INSERT INTO subscriptions("
		    "user_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING", 2,
		    u, l);
	free(copy);
	return rc;
}

static int
subs_copy(struct pgm *m, const char *addr, int64_t user_id,
    const char *root, char **error_r)
{
	char *path = xasprintf("%s/subscriptions", root);
	size_t len;
	struct subs s = { .user_id = user_id };
	int ret = 0;

	s.data = read_file(path, PGM_SUBS_MAX, &len);
	free(path);
	if (s.data == NULL)
		return 0;
	if (pg_tx(subs_body, &s, error_r) != PG_OK)
		ret = -1;
	else
		fprintf(m->out, "subscriptions %s names=%u\n", addr, s.n);
	free(s.data);
	return ret;
}

/* Run as root, a rebuilt index would be root's: give the index files
 * the Maildir's owner (run_as), so the embedded server can still open
 * them should the administrator go back to it. */
static void
index_owner(const char *root)
{
	static const char *const names[] = { "tem-index.sqlite",
	    "tem-index.sqlite-wal", "tem-index.sqlite-shm" };
	struct stat st;

	if (geteuid() != 0 || stat(root, &st) < 0)
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *p = xasprintf("%s/%s", root, names[i]);
		if (lchown(p, st.st_uid, st.st_gid) < 0 && errno != ENOENT)
			fprintf(stderr, "tem: cannot chown %s: %s\n", p,
			    strerror(errno));
		free(p);
	}
}

/*
 * Brings the index up to date the way the server would at the next
 * login: opens the store (rebuilding a missing or damaged index from
 * the Maildir) and syncs every folder (mail delivered into new/ since
 * the last session gets its UID now), so the index read below lists
 * every message. No Maildir at all: nothing to copy.
 */
static int
index_sync(const char *root, char **error_r)
{
	struct mbox_md_user *u = NULL;	/* Maildir whatever the storage */
	struct mbox_folder_info *list = NULL;
	struct mbox_status st;
	size_t n = 0;
	int ret;
	char *cur = xasprintf("%s/cur", root);

	ret = access(cur, F_OK);
	free(cur);
	if (ret < 0)
		return 1;
	if (mbox_md_user_open(root, &u, error_r) < 0 ||
	    mbox_md_list(u, &list, &n, error_r) < 0)
		ret = -1;
	for (size_t i = 0; ret == 0 && i < n; i++)
		if (!(list[i].flags & (MBOX_NOSELECT | MBOX_NONEXISTENT)) &&
		    mbox_md_status(u, list[i].name, &st, error_r) < 0)
			ret = -1;
	mbox_list_free(list, n);
	mbox_md_user_unref(&u);
	index_owner(root);
	return ret;
}

struct mdata {
	sqlite3		*db;
	int64_t		 user_id;
	unsigned	 n;
};

static enum pg_rc
mdata_body(void *arg, char **error_r)
{
	struct mdata *md = arg;
	sqlite3_stmt *st;
	enum pg_rc rc = PG_OK;
	char u[24];

	md->n = 0;
	snprintf(u, sizeof(u), "%" PRId64, md->user_id);
	if (sqlite3_prepare_v2(md->db, "SELECT mailbox, entry, value FROM "
	    "entries", -1, &st, NULL) != SQLITE_OK)
		return sqlite_fail(md->db, "imap-metadata.sqlite", error_r);
	while (rc == PG_OK && sqlite3_step(st) == SQLITE_ROW) {
		const void *v = sqlite3_column_blob(st, 2);
		const char *params[4] = { u,
		    (const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1),
		    v != NULL ? v : "" };
		const int lens[4] = { -1, -1, -1, sqlite3_column_bytes(st, 2) };

		rc = pg_query_bin(NULL, error_r, "INSERT INTO "
		    "mailbox_metadata(user_id, mailbox, entry, value) VALUES "
		    "($1, $2, $3, $4::bytea) ON CONFLICT DO NOTHING", 4,
		    params, lens, false);
		md->n++;
	}
	sqlite3_finalize(st);
	return rc;
}

/* The user's METADATA entries (server '' and per folder), one unit. */
static int
mdata_copy(struct pgm *m, const char *addr, int64_t user_id,
    const char *root, char **error_r)
{
	char *path = xasprintf("%s/imap-metadata.sqlite", root);
	struct mdata md = { NULL, user_id, 0 };
	int ret = 0;

	if (access(path, F_OK) == 0) {
		if ((md.db = pgm_sqlite_open(path, error_r)) == NULL)
			ret = -1;
		else if (pg_tx(mdata_body, &md, error_r) != PG_OK)
			ret = -1;
		else
			fprintf(m->out, "metadata %s entries=%u\n", addr, md.n);
		sqlite3_close(md.db);
	}
	free(path);
	return ret;
}

int
pgm_mail(struct pgm *m, const char *addr, int64_t user_id, const char *root,
    bool check, char **error_r)
{
	char *path = xasprintf("%s/tem-index.sqlite", root);
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int ret = 0, step = SQLITE_DONE;

	if (!check && (ret = index_sync(root, error_r)) != 0) {
		free(path);
		return ret < 0 ? -1 : 0;	/* 1: no Maildir */
	}
	if (access(path, F_OK) < 0) {
		free(path);
		return 0;
	}
	if ((db = pgm_sqlite_open(path, error_r)) == NULL)
		ret = -1;
	else if (sqlite3_prepare_v2(db, "SELECT id, dir, uidvalidity, uidnext, "
	    "highestmodseq, vanished_floor, special_use, recent_uid FROM "
	    "folders ORDER BY dir", -1, &st, NULL) != SQLITE_OK) {
		sqlite_fail(db, path, error_r);
		ret = -1;
	}
	while (ret == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *dir = (const char *)sqlite3_column_text(st, 1);
		struct folder f = { .m = m, .db = db, .user_id = user_id,
		    .addr = addr };

		if (dir == NULL)
			continue;
		if (dir[0] == '\0')
			f.name = xstrdup("INBOX");
		else if (mbox_name_from_dir(dir, &f.name) < 0) {
			fprintf(m->out, "warning %s folder %s: not a folder "
			    "name, left out\n", addr, dir);
			continue;
		}
		f.path = dir[0] ? xasprintf("%s/%s", root, dir) :
		    xstrdup(root);
		f.index_id = sqlite3_column_int64(st, 0);
		f.uidvalidity = (uint32_t)sqlite3_column_int64(st, 2);
		f.uidnext = sqlite3_column_int64(st, 3);
		f.highestmodseq = sqlite3_column_int64(st, 4);
		f.vanished_floor = sqlite3_column_int64(st, 5);
		f.special_use = sqlite3_column_int(st, 6);
		f.recent_uid = sqlite3_column_int64(st, 7);
		ret = check ? folder_check(&f, error_r) :
		    folder_copy(&f, error_r);
		for (int i = 0; i < 26; i++)
			free(f.kw[i]);
		free(f.name);
		free(f.path);
	}
	if (ret == 0 && step != SQLITE_DONE) {
		sqlite_fail(db, path, error_r);
		ret = -1;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(path);
	if (ret == 0 && !check)
		ret = subs_copy(m, addr, user_id, root, error_r);
	if (ret == 0 && !check)
		ret = mdata_copy(m, addr, user_id, root, error_r);
	return ret;
}
