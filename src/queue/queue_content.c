/*
 * queue_content - a queued message's content, read back for delivery:
 * its CRC checked in one pass through a fixed buffer (with a scan hook
 * for the caller's own pass), then read piece by piece from the open
 * file (see queue.h). Memory never grows with the message.
 *
 * Trust: the file is ours but re-validated: the head by queue_record.c,
 * the content by its CRC; a damaged file goes to corrupt/. Callers: the
 * delivery engine, on worker threads (every call here blocks on disk
 * except queue_content_close).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "queue/queue_int.h"
#include "util/fsutil.h"
#include "util/xmalloc.h"

/* The content is checked through a buffer of this size. */
#define QUEUE_READ_CHUNK	(64 * 1024)

/* Checks the content record's CRC by reading it through a fixed buffer;
 * each piece also goes to scan. 0 or -1 with errno (EBADMSG + *why_r). */
static int
check_content(int fd, const struct queue_file_info *info,
    queue_scan_fn *scan, void *arg, const char **why_r)
{
	uint8_t hdr[QUEUE_REC_HDR], t[QUEUE_REC_TRAILER];
	uint64_t off = info->content_off, left = info->content_len;
	char *b = xmalloc(QUEUE_READ_CHUNK);
	uint32_t crc;
	size_t n;

	queue_rec_header(hdr, QUEUE_REC_CONTENT, (uint32_t)info->content_len);
	crc = queue_crc32(0, hdr, sizeof(hdr));
	for (; left > 0; left -= n, off += n) {
		n = left > QUEUE_READ_CHUNK ? QUEUE_READ_CHUNK : (size_t)left;
		if (fsutil_pread_all(fd, b, n, off) < 0) {
			free(b);
			return -1;
		}
		crc = queue_crc32(crc, b, n);
		if (scan)
			scan(b, n, arg);
	}
	free(b);
	if (fsutil_pread_all(fd, t, sizeof(t), off) < 0)
		return -1;
	if (((uint32_t)t[0] << 24 | (uint32_t)t[1] << 16 |
	    (uint32_t)t[2] << 8 | t[3]) != crc) {
		*why_r = "content checksum mismatch";
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

int
queue_open_content(const char *id, queue_scan_fn *scan, void *arg,
    struct queue_content *c)
{
	struct queue_file_info info;
	const char *why = "";
	struct stat st;
	char *path;
	int fd, e;

	if (queue_on_pg())
		return queue_pgf_open_content(id, scan, arg, c);
	c->fd = -1;
	if (!queue_id_valid(id) || queue_msgdir() == NULL) {
		errno = ENOENT;
		return -1;
	}
	path = xasprintf("%s/%s", queue_msgdir(), id);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	free(path);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 ||
	    queue_read_head(fd, (uint64_t)st.st_size, NULL, &info, &why) < 0 ||
	    check_content(fd, &info, scan, arg, &why) < 0) {
		e = errno;
		close(fd);
		if (e == EBADMSG)
			queue_quarantine(id, why);
		errno = e;
		return -1;
	}
	c->fd = fd;
	c->off = info.content_off;
	c->len = (size_t)info.content_len;
	return 0;
}

int
queue_content_read(const struct queue_content *c, uint64_t from, void *p,
    size_t n)
{
	if (from > c->len || n > c->len - from) {
		errno = EINVAL;
		return -1;
	}
	return fsutil_pread_all(c->fd, p, n, c->off + from);
}

void
queue_content_close(struct queue_content *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

int
queue_read_content(const char *id, char **content_r, size_t *len_r)
{
	struct queue_content qc;
	char *c;
	int e;

	if (queue_open_content(id, NULL, NULL, &qc) < 0)
		return -1;
	c = xmalloc(qc.len + 1);
	if (queue_content_read(&qc, 0, c, qc.len) < 0) {
		e = errno;
		free(c);
		queue_content_close(&qc);
		errno = e;
		return -1;
	}
	c[qc.len] = '\0';
	queue_content_close(&qc);
	*content_r = c;
	*len_r = qc.len;
	return 0;
}
