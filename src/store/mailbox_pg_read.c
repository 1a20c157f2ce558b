/*
 * mailbox_pg_read - a message's content on PostgreSQL (mbox_pg_view_
 * msg_open and what goes with it, mailbox_backend.h): pg_ms_read in
 * SLICE pieces into an unlinked temporary file (data_dir/tmp, O_TMPFILE
 * where the file system has it), as the queue does with its blobs
 * (queue_pg_content.c), so the readers of the fd are those of Maildir
 * and memory stays at a slice whatever the message's size. The bytes
 * are the wire form (CRLF), which the LF->CRLF readers leave as they
 * are: what FETCH sends is RFC822.SIZE octets.
 *
 * Trust: message bytes are untrusted and only copied.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "pg/pg_conn.h"
#include "pg/pg_mailstore.h"
#include "store/mailbox_int.h"
#include "store/mailbox_pg.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define SLICE	(1024 * 1024)	/* octets read per query */

#define PV(v)	((struct mbox_pg_view *)(v))

/* An unlinked read-write file under data_dir/tmp, or -1. */
static int
tmpfile_open(void)
{
	const char *dd = mbox_data_dir();
	char *dir = xasprintf("%s/tmp", dd ? dd : ".");
	char *path;
	int fd;

#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR &&
	    errno != EINVAL)) {
		free(dir);
		return fd;
	}
#endif
	path = xasprintf("%s/msg.XXXXXX", dir);
	free(dir);
	if ((fd = mkostemp(path, O_CLOEXEC)) >= 0)
		unlink(path);
	free(path);
	return fd;
}

int
mbox_pg_view_msg_open(struct mbox_view *vv, uint32_t seq)
{
	struct mbox_pg_view *v = PV(vv);
	uint32_t uid = mbox_pg_view_uid(vv, seq);
	char *data = NULL, *err = NULL;
	size_t len = 0;
	int rc, fd, e;

	if (uid == 0) {
		errno = ERANGE;
		return -1;
	}
	if ((fd = tmpfile_open()) < 0)
		return -1;
	for (uint64_t off = 0;; off += len) {
		rc = pg_ms_read(v->mailbox_id, uid, off, SLICE, &data, &len,
		    &err);
		if (rc != PG_OK) {
			e = rc == PG_MS_NONEXISTENT ? ENOENT : EIO;
			if (rc != PG_MS_NONEXISTENT)
				log_warn("- store pg-read-failed uid=%u "
				    "error=\"%s\"", uid, err ? err : "?");
			free(err);
			close(fd);
			errno = e;
			return -1;
		}
		if (fsutil_write_all(fd, data, len) < 0) {
			e = errno;
			free(data);
			close(fd);
			errno = e;
			return -1;
		}
		free(data);
		data = NULL;
		if (len < SLICE)
			break;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

void
mbox_pg_view_msg_prefetch(struct mbox_view *v, uint32_t seq)
{
	(void)v;
	(void)seq;
}

char *
mbox_pg_view_msg_path(struct mbox_view *v, uint32_t seq)
{
	(void)v;
	(void)seq;
	return NULL;	/* no file: mbox_view_msg_open */
}

int
mbox_pg_view_uidl(struct mbox_view *vv, uint32_t seq,
    char out[MBOX_UIDL_MAX + 1])
{
	uint32_t uid = mbox_pg_view_uid(vv, seq);

	if (uid == 0)
		return -1;
	/* UIDVALIDITY never repeats for a user, UIDs never in a folder */
	snprintf(out, MBOX_UIDL_MAX + 1, "%08x%08x", PV(vv)->uidvalidity,
	    uid);
	return 0;
}
