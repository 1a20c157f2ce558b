/*
 * mailbox_hdrcache - the per-message header-field cache in the index
 * (see mailbox_hdrcache.h): its statements, the extraction of the cached
 * lines from a message file, and the batched reader SEARCH, SORT and
 * THREAD use (its table is index migration 4, mailbox_int.h).
 *
 * Trust: message files are untrusted: at most MBOX_HDR_SCAN_MAX octets
 * are read, at most MBOX_HDR_CACHE_MAX kept, fields are recognised with
 * src/mail's RFC 5322 iterator and copied as they are. The index is ours
 * but disposable: a missing row is made again from the file.
 *
 * Schema (MBOX_HDRCACHE_SCHEMA, mailbox_int.h; index version 4): table
 * hdrcache(folder, uid, fields) keyed like messages; fields NULL means
 * "read the file". A trigger drops a message's row with its messages row
 * (expunge, folder delete), so the other index code needs no change.
 *
 * Locks: the writers run inside mailbox_index.c's transactions (u->io
 * held); the reader takes u->io per batch of READ_BATCH rows and copies
 * them out, and reads a file for a missing row without it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sqlite3.h>

#include "mail/rfc5322.h"
#include "store/mailbox_hdrcache.h"
#include "store/mailbox_int.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define READ_BATCH	2048	/* rows read per u->io hold */
#define SCAN_STEP	8192	/* header read size */

/* ---- schema ------------------------------------------------------------ */

enum { H_PUT, H_BATCH, H_N };

static const char *const hc_sql[H_N] = {
	[H_PUT] = "INSERT OR REPLACE INTO hdrcache(folder, uid, fields) "
	    "VALUES(?1, ?2, ?3)",
	[H_BATCH] = "SELECT uid, fields FROM hdrcache WHERE folder = ?1 AND "
	    "uid >= ?2 AND uid <= ?4 ORDER BY uid LIMIT ?3",
};

int
mbox_hdrcache_prepare(struct mbox_md_user *u)
{
	int rc = SQLITE_OK;

	for (int i = 0; i < H_N && rc == SQLITE_OK; i++)
		rc = sqlite3_prepare_v3(u->db, hc_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &u->hc_stmt[i], NULL);
	return rc;
}

void
mbox_hdrcache_close(struct mbox_md_user *u)
{
	for (size_t i = 0; i < sizeof(u->hc_stmt) / sizeof(u->hc_stmt[0]); i++)
		sqlite3_finalize(u->hc_stmt[i]);
	memset(u->hc_stmt, 0, sizeof(u->hc_stmt));
}

/* ---- extraction --------------------------------------------------------- */

bool
mbox_hdr_field_cached(const char *name)
{
	const char *p = MBOX_HDR_FIELDS;
	size_t n = strlen(name);

	while (*p != '\0') {
		size_t w = strcspn(p, " ");
		if (w == n && strncasecmp(p, name, n) == 0)
			return true;
		p += w;
		p += strspn(p, " ");
	}
	return false;
}

/* True when data[0..len) holds the end of a header (an empty line). */
static bool
header_ended(const char *data, size_t len)
{
	return rfc5322_body_offset(data, len) < len ||
	    (len > 0 && data[len - 1] == '\n' &&
	    (len == 1 || data[len - 2] == '\n' ||
	    (len > 2 && data[len - 2] == '\r' && data[len - 3] == '\n')));
}

/* The header of the file at fd (up to MBOX_HDR_SCAN_MAX) into b; false
   when it does not end within that (or on a read error). */
static bool
read_header(int fd, struct buf *b)
{
	char chunk[SCAN_STEP];
	ssize_t n;

	while (b->len < MBOX_HDR_SCAN_MAX) {
		n = pread(fd, chunk, sizeof(chunk), (off_t)b->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return false;
		if (n == 0)
			return true;		/* all header, no body */
		buf_append(b, chunk, (size_t)n);
		if (header_ended(b->data, b->len))
			return true;
	}
	return false;
}

/*
 * The cached lines of the header in data[0..len) appended to out; false
 * when they would exceed MBOX_HDR_CACHE_MAX (out is then undefined).
 */
static bool
extract(const char *data, size_t len, struct buf *out)
{
	struct rfc5322_iter it;
	struct rfc5322_field f;
	char name[32];

	rfc5322_iter_init(&it, data, len);
	while (rfc5322_iter_next(&it, &f) == 1) {
		if (f.name_len >= sizeof(name))
			continue;
		memcpy(name, f.name, f.name_len);
		name[f.name_len] = '\0';
		if (!mbox_hdr_field_cached(name))
			continue;
		if (out->len + f.len + 1 > MBOX_HDR_CACHE_MAX)
			return false;
		buf_append(out, data + f.off, f.len);
		if (f.len == 0 || data[f.off + f.len - 1] != '\n')
			buf_putc(out, '\n');
	}
	return true;
}

/* The cached block of the file at fd into out; false: not cacheable. */
static bool
extract_fd(int fd, struct buf *out)
{
	struct buf h;
	bool ok;

	buf_init(&h, 0);
	ok = read_header(fd, &h) && extract(h.data != NULL ? h.data : "",
	    h.len, out);
	buf_free(&h);
	return ok;
}

static int
put(struct mbox_md_user *u, int64_t folder, uint32_t uid, const struct buf *b,
    bool ok)
{
	sqlite3_stmt *st = u->hc_stmt[H_PUT];
	int rc;

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	sqlite3_bind_int64(st, 1, folder);
	sqlite3_bind_int64(st, 2, uid);
	if (ok)
		sqlite3_bind_blob(st, 3, b->data != NULL ? b->data : "",
		    (int)b->len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int
mbox_hdrcache_add(struct mbox_md_user *u, struct mbox_folder *f,
    const struct mbox_msg *m)
{
	char *path = xasprintf("%s/%s/%s", f->path,
	    (m->flags & MBOX_FI_INNEW) ? "new" : "cur", m->name);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc;
	struct buf b;
	bool ok;

	free(path);
	if (fd < 0)
		return SQLITE_OK;	/* gone again: the next sync sees it */
	buf_init(&b, 0);
	ok = extract_fd(fd, &b);
	close(fd);
	rc = put(u, f->id, m->uid, &b, ok);
	buf_free(&b);
	return rc;
}

/* ---- the reader --------------------------------------------------------- */

struct hrow {
	uint32_t	uid;
	int32_t		len;		/* -1: NULL (read the file) */
	size_t		off;		/* in rows' arena */
};

/* A block made for a message without a row, written at the next batch. */
struct made {
	uint32_t	uid;
	bool		ok;
	size_t		off, len;	/* in made_arena */
};

struct mbox_hdr_reader {
	struct mbox_md_view	*v;
	struct hrow		*rows;
	size_t			 n, cap, pos;
	struct buf		 arena;
	uint32_t		 next_uid;	/* first uid not yet fetched */
	uint32_t		 last_uid;	/* none above is asked for */
	bool			 eof, failed;
	struct made		*made;
	size_t			 n_made, cap_made;
	struct buf		 made_arena;
	struct buf		 one;		/* the block last made */
};

struct mbox_hdr_reader *
mbox_hdr_reader_new(struct mbox_view *v)
{
	struct mbox_hdr_reader *r = xcalloc(1, sizeof(*r));

	/* PostgreSQL keeps no header cache: v NULL, every get says "read
	 * the message". */
	r->v = v->be == MBOX_MAILDIR ? (struct mbox_md_view *)v : NULL;
	r->next_uid = 1;
	r->last_uid = UINT32_MAX;
	buf_init(&r->arena, 0);
	buf_init(&r->made_arena, 0);
	buf_init(&r->one, 0);
	return r;
}

/* With u->io: writes the blocks made since the last call (best effort:
   a failure only means they are made again next time). */
static void
flush_made(struct mbox_hdr_reader *r)
{
	struct mbox_md_user *u = r->v->u;
	struct buf b;
	int rc;

	if (r->n_made == 0)
		return;
	rc = sqlite3_exec(u->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	for (size_t i = 0; i < r->n_made && rc == SQLITE_OK; i++) {
		const struct made *m = &r->made[i];
		b.data = r->made_arena.data + m->off;
		b.len = m->len;
		rc = put(u, r->v->f->id, m->uid, &b, m->ok);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(u->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_exec(u->db, "ROLLBACK", NULL, NULL, NULL);
		log_warn("- store hdrcache-write-failed root=%s error=\"%s\"",
		    u->root, sqlite3_errmsg(u->db));
	}
	r->n_made = 0;
	buf_reset(&r->made_arena);
}

/* Reads the next batch of rows (uid >= r->next_uid). */
static void
fetch_batch(struct mbox_hdr_reader *r)
{
	struct mbox_md_user *u = r->v->u;
	sqlite3_stmt *st;
	int rc = SQLITE_ERROR;

	r->n = r->pos = 0;
	buf_reset(&r->arena);
	mbox_lock(&u->io, MBOX_LK_IO);
	if (u->db != NULL && !u->broken && u->hc_stmt[H_BATCH] != NULL) {
		flush_made(r);
		st = u->hc_stmt[H_BATCH];
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, r->v->f->id);
		sqlite3_bind_int64(st, 2, r->next_uid);
		sqlite3_bind_int(st, 3, READ_BATCH);
		sqlite3_bind_int64(st, 4, r->last_uid);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			struct hrow *h = ARRAY_PUSH(r->rows, r->n, r->cap);
			const void *p = sqlite3_column_blob(st, 1);
			h->uid = (uint32_t)sqlite3_column_int64(st, 0);
			h->off = r->arena.len;
			h->len = sqlite3_column_type(st, 1) == SQLITE_NULL ?
			    -1 : sqlite3_column_bytes(st, 1);
			if (h->len > 0)
				buf_append(&r->arena, p, (size_t)h->len);
		}
		sqlite3_reset(st);
	}
	mbox_unlock(&u->io, MBOX_LK_IO);
	if (rc != SQLITE_DONE) {
		r->failed = true;
		r->n = 0;
		return;
	}
	r->eof = r->n < READ_BATCH;
	if (r->n > 0)
		r->next_uid = r->rows[r->n - 1].uid + 1;
}

/* No row for seq: make its block from the file (kept for flush_made). */
static const char *
make_block(struct mbox_hdr_reader *r, uint32_t seq, uint32_t uid,
    size_t *len_r)
{
	int fd = mbox_md_view_msg_open(r->v, seq);
	struct made *m;
	bool ok;

	if (fd < 0)
		return NULL;
	buf_reset(&r->one);
	ok = extract_fd(fd, &r->one);
	close(fd);
	m = ARRAY_PUSH(r->made, r->n_made, r->cap_made);
	m->uid = uid;
	m->ok = ok;
	m->off = r->made_arena.len;
	m->len = ok ? r->one.len : 0;
	if (ok)
		buf_append(&r->made_arena, r->one.data, r->one.len);
	if (!ok)
		return NULL;
	*len_r = r->one.len;
	return r->one.data != NULL ? r->one.data : "";
}

const char *
mbox_hdr_reader_get(struct mbox_hdr_reader *r, uint32_t seq, size_t *len_r)
{
	uint32_t uid = r->v != NULL ? mbox_md_view_uid(r->v, seq) : 0;

	*len_r = 0;
	if (uid == 0 || r->failed)
		return NULL;
	for (;;) {
		while (r->pos < r->n && r->rows[r->pos].uid < uid)
			r->pos++;
		if (r->pos < r->n || r->eof || r->failed)
			break;
		if (uid > r->next_uid)
			r->next_uid = uid;
		fetch_batch(r);
	}
	if (r->failed)
		return NULL;
	if (r->pos < r->n && r->rows[r->pos].uid == uid) {
		const struct hrow *h = &r->rows[r->pos];
		if (h->len < 0)
			return NULL;
		*len_r = (size_t)h->len;
		return h->len > 0 ? r->arena.data + h->off : "";
	}
	return make_block(r, seq, uid, len_r);
}

void
mbox_hdr_reader_limit(struct mbox_hdr_reader *r, uint32_t last_seq)
{
	uint32_t uid = r->v != NULL ? mbox_md_view_uid(r->v, last_seq) : 0;

	if (uid != 0)
		r->last_uid = uid;
}

void
mbox_hdr_reader_free(struct mbox_hdr_reader **rp)
{
	struct mbox_hdr_reader *r = *rp;

	if (r == NULL)
		return;
	if (r->n_made > 0) {
		mbox_lock(&r->v->u->io, MBOX_LK_IO);
		if (r->v->u->db != NULL && !r->v->u->broken)
			flush_made(r);
		mbox_unlock(&r->v->u->io, MBOX_LK_IO);
	}
	free(r->rows);
	free(r->made);
	buf_free(&r->arena);
	buf_free(&r->made_arena);
	buf_free(&r->one);
	free(r);
	*rp = NULL;
}
