/*
 * pg_mailstore_blob - a message's bytes into the blobs table by
 * COPY FROM STDIN (FORMAT binary), read from its source in pieces (see
 * pg_ms_append_item): memory, then a file range, each bare LF made CRLF
 * when asked. Neither tem nor libpq holds the message whole: a piece of
 * PG_MS_BLOB_PIECE read, at most twice that converted, and libpq's few
 * KB of send buffer.
 *
 * The source is read twice per append (the LF count first: COPY's field
 * length comes before the bytes; a file's second read is the page
 * cache's), and again when pg_tx runs the body once more.
 *
 * Trust: the caller's item (a file range it opened); the bytes are
 * opaque and never parsed. Blocking (pg_conn.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pg/pg_mailstore.h"
#include "pg/pg_mailstore_int.h"
#include "util/buf.h"
#include "util/xmalloc.h"

/* Bytes of the source read (and sent) at a time. */
#define PG_MS_BLOB_PIECE	(64 * 1024)

/* Calls fn on the raw bytes of it's source in order, in pieces of at
 * most PG_MS_BLOB_PIECE: 0, an errno of a read, or fn's nonzero. */
static int
src_each(const struct pg_ms_append_item *it,
    int (*fn)(void *a, const char *p, size_t n), void *a, char *chunk)
{
	uint64_t done = 0;
	int r = 0;

	for (size_t off = 0; r == 0 && off < it->len;
	    off += PG_MS_BLOB_PIECE)
		r = fn(a, it->data + off, it->len - off < PG_MS_BLOB_PIECE ?
		    it->len - off : PG_MS_BLOB_PIECE);
	while (r == 0 && done < it->file_len) {
		size_t want = it->file_len - done < PG_MS_BLOB_PIECE ?
		    (size_t)(it->file_len - done) : PG_MS_BLOB_PIECE;
		ssize_t n = pread(it->fd, chunk, want,
		    (off_t)(it->file_off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EIO;
		r = fn(a, chunk, (size_t)n);
		done += (uint64_t)n;
	}
	return r;
}

struct blob_walk {
	char		 last;		/* the byte before the piece */
	uint64_t	 raw, bare_lf;	/* the counting pass */
	bool		 crlf;
	char		*out;		/* the sending pass: 2 pieces */
	struct pg_copy	*copy;		/* to the COPY, or else */
	struct buf	*mem;		/* into memory */
};

static int
put_out(struct blob_walk *w, const char *p, size_t n)
{
	if (w->mem != NULL)
		return buf_append(w->mem, p, n) < 0 ? -1 : 0;
	return pg_copy_put(w->copy, p, n) < 0 ? -1 : 0;
}

static int
count_piece(void *a, const char *p, size_t n)
{
	struct blob_walk *w = a;

	for (size_t i = 0; i < n; i++)
		w->bare_lf += p[i] == '\n' && (i > 0 ? p[i - 1] : w->last) !=
		    '\r';
	w->raw += n;
	w->last = p[n - 1];
	return 0;
}

static int
send_piece(void *a, const char *p, size_t n)
{
	struct blob_walk *w = a;
	size_t o = 0;

	if (!w->crlf) {
		w->last = p[n - 1];
		return put_out(w, p, n);
	}
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n' && (i > 0 ? p[i - 1] : w->last) != '\r')
			w->out[o++] = '\r';
		w->out[o++] = p[i];
	}
	w->last = p[n - 1];
	return put_out(w, w->out, o);
}

/* Big-endian integers of the binary COPY format. */
static void
be(unsigned char *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

struct blob_copy {
	const struct pg_ms_append_item	*it;
	int64_t				 id;
	uint64_t			 stored;
	char				*chunk, *out;
};

/* The binary COPY stream: header, one tuple (id int8, size int8, data
 * bytea), trailer. */
static char *
blob_feed(void *arg, struct pg_copy *c)
{
	struct blob_copy *b = arg;
	struct blob_walk w = { .last = '\n', .crlf = b->it->crlf,
	    .out = b->out, .copy = c };
	unsigned char head[19 + 2 + 4 + 8 + 4 + 8 + 4], *p = head;
	static const unsigned char sig[11] = "PGCOPY\n\377\r\n";
	unsigned char trailer[2] = { 0xff, 0xff };
	int r;

	memcpy(p, sig, 11);
	memset(p + 11, 0, 8);		/* flags, header extension */
	p += 19;
	be(p, 3, 2);			/* fields */
	be(p + 2, 8, 4);
	be(p + 6, (uint64_t)b->id, 8);
	be(p + 14, 8, 4);
	be(p + 18, b->stored, 8);
	be(p + 26, b->stored, 4);
	if (pg_copy_put(c, head, sizeof(head)) < 0)
		return NULL;
	r = src_each(b->it, send_piece, &w, b->chunk);
	if (r > 0)
		return xasprintf("message read: %s", strerror(r));
	if (r == 0)
		(void)pg_copy_put(c, trailer, sizeof(trailer));
	return NULL;	/* a failed put: the connection's error */
}

/* The counting pass: *stored_r (converted or as it is), *wire_r (every
 * bare LF as CRLF); 0 or PG_ERROR. */
static int
blob_count(const struct pg_ms_append_item *it, char *chunk,
    uint64_t *stored_r, uint64_t *wire_r, char **error_r)
{
	struct blob_walk w = { .last = '\n' };
	int r = src_each(it, count_piece, &w, chunk);

	if (r != 0)
		return pg_ms_fail(error_r, PG_ERROR, "message read: %s",
		    strerror(r));
	*stored_r = it->crlf ? w.raw + w.bare_lf : w.raw;
	*wire_r = w.raw + w.bare_lf;
	if (*stored_r > PG_BYTEA_MAX)
		return pg_ms_fail(error_r, PG_ERROR, "database error: %llu "
		    "bytes are more than a bytea holds",
		    (unsigned long long)*stored_r);
	return 0;
}

int
pg_ms_blob_read(const struct pg_ms_append_item *it, char **data_r,
    uint64_t *stored_r, uint64_t *wire_r, char **error_r)
{
	char *chunk = xmalloc(PG_MS_BLOB_PIECE);
	struct buf m;
	struct blob_walk w = { .last = '\n', .crlf = it->crlf, .mem = &m };
	int r;

	*data_r = NULL;
	buf_init(&m, 0);
	if ((r = blob_count(it, chunk, stored_r, wire_r, error_r)) == 0) {
		(void)buf_reserve(&m, (size_t)*stored_r + 1);
		w.out = it->crlf ? xmalloc(2 * PG_MS_BLOB_PIECE) : NULL;
		r = src_each(it, send_piece, &w, chunk);
		free(w.out);
		if (r != 0)
			r = pg_ms_fail(error_r, PG_ERROR, "message read: %s",
			    r > 0 ? strerror(r) : "out of memory");
	}
	free(chunk);
	if (r == 0 && m.len != *stored_r)	/* the file changed */
		r = pg_ms_fail(error_r, PG_ERROR, "message read: the "
		    "message changed while read");
	if (r == 0)
		*data_r = buf_steal(&m, NULL);
	buf_free(&m);
	if (r == 0 && *data_r == NULL)
		*data_r = xstrdup("");
	return r;
}

int
pg_ms_blob_put(const struct pg_ms_append_item *it, int64_t *id_r,
    uint64_t *stored_r, uint64_t *wire_r, char **error_r)
{
	struct blob_copy b = { .it = it };
	char *v = NULL;
	int r;

	*id_r = 0;
	b.chunk = xmalloc(PG_MS_BLOB_PIECE);
	r = blob_count(it, b.chunk, stored_r, wire_r, error_r);
	b.stored = *stored_r;
	if (r == 0)
		r = pg_query_value(&v, error_r, "SELECT nextval("
		    "pg_get_serial_sequence('blobs', 'id'))", 0);
	if (r == PG_OK) {
		b.id = strtoll(v ? v : "0", NULL, 10);
		free(v);
		b.out = it->crlf ? xmalloc(2 * PG_MS_BLOB_PIECE) : NULL;
		r = pg_copy_in(error_r, "COPY blobs (id, size, data) FROM "
		    "STDIN (FORMAT binary)", blob_feed, &b);
		free(b.out);
	}
	free(b.chunk);
	*id_r = b.id;
	return r;
}
