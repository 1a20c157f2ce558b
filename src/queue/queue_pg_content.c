/*
 * queue_pg_content - a queued message's content for the delivery engine,
 * from its blob in PostgreSQL (see queue_pg_open_content in queue_pg.h).
 *
 * Why a temporary file and not the bytes in memory or a cursor held open:
 * the engine reads the content piece by piece over a whole SMTP
 * transaction with a peer that may be slow (queue_content_read, pread on
 * any thread). A file keeps memory flat whatever the size, frees the
 * worker's database connection after the fetch instead of pinning it
 * (and a transaction) for minutes, and gives the engine the same
 * struct queue_content as the embedded queue, so nothing downstream
 * changes. The blob is fetched in QUEUE_PG_SLICE slices with substring()
 * (no transaction needed: a blob never changes), each written to an
 * O_TMPFILE (or created-and-unlinked) file that vanishes with its fd.
 *
 * Trust: the blob is ours; its size is range-checked and each slice's
 * length must be what was asked for.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue/queue_pg_int.h"
#include "util/fsutil.h"
#include "util/xmalloc.h"

/* An unlinked file in the tmpdir, or -1 with errno. */
static int
tmp_open(void)
{
	char *path;
	int fd;

#ifdef O_TMPFILE
	if ((fd = open(queue_pg_tmpdir(), O_TMPFILE | O_RDWR | O_CLOEXEC,
	    0600)) >= 0)
		return fd;
#endif
	path = xasprintf("%s/tem-queue-XXXXXX", queue_pg_tmpdir());
	if ((fd = mkostemp(path, O_CLOEXEC)) >= 0)
		unlink(path);
	free(path);
	return fd;
}

int
queue_pg_open_content(const char *id, queue_scan_fn *scan, void *arg,
    struct queue_content *c, char **error_r)
{
	char blob[24], from[24], len[24];
	long long size;
	PGresult *res;
	int rc;

	c->fd = -1;
	rc = pg_query(&res, error_r, "SELECT b.id, b.size FROM queue q JOIN "
	    "blobs b ON b.id = q.blob_id WHERE q.id = $1", 1, id);
	if (rc != PG_OK)
		return rc;
	if (PQntuples(res) != 1) {
		PQclear(res);
		*error_r = xasprintf("queue: %s is gone", id);
		return QUEUE_PG_GONE;
	}
	snprintf(blob, sizeof(blob), "%s", PQgetvalue(res, 0, 0));
	size = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	if (size < 0 || (uint64_t)size > QUEUE_CONTENT_MAX) {
		*error_r = xasprintf("queue: %s has a bad size", id);
		return PG_ERROR;
	}
	if ((c->fd = tmp_open()) < 0) {
		*error_r = xasprintf("queue: a temporary file in %s: %s",
		    queue_pg_tmpdir(), strerror(errno));
		return PG_ERROR;
	}
	c->off = 0;
	c->len = (size_t)size;
	/* Slices: memory stays at QUEUE_PG_SLICE however large the
	 * message; the blob never changes, so they need no transaction.
	 * substring() counts from 1. */
	for (long long done = 0; done < size; ) {
		long long n = size - done < QUEUE_PG_SLICE ? size - done :
		    QUEUE_PG_SLICE;
		const char *p;
		size_t got;

		snprintf(from, sizeof(from), "%lld", done + 1);
		snprintf(len, sizeof(len), "%lld", n);
		rc = pg_query_bin(&res, error_r, "SELECT substring(data FROM "
		    "$2::int FOR $3::int) FROM blobs WHERE id = $1", 3,
		    (const char *[]){ blob, from, len }, NULL, true);
		if (rc == PG_OK && PQntuples(res) != 1) {
			PQclear(res);
			*error_r = xasprintf("queue: %s is gone", id);
			rc = QUEUE_PG_GONE;
		}
		if (rc != PG_OK) {
			queue_content_close(c);
			return rc;
		}
		/* binary: the slice's octets as they are (no hex text) */
		p = PQgetvalue(res, 0, 0);
		got = (size_t)PQgetlength(res, 0, 0);
		if (got != (size_t)n || fsutil_write_all(c->fd, p, got) < 0) {
			*error_r = xasprintf("queue: spooling %s: %s", id,
			    got != (size_t)n ? "short blob" : strerror(errno));
			PQclear(res);
			queue_content_close(c);
			return PG_ERROR;
		}
		if (scan != NULL)
			scan(p, got, arg);
		PQclear(res);
		done += n;
	}
	return PG_OK;
}
