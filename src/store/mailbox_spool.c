/*
 * mailbox_spool - an APPEND message written into the user's Maildir tmp/
 * piece by piece as it arrives (see mailbox.h), so IMAP never holds a
 * message in memory: CRLF becomes LF on the way (a CR at the end of a
 * piece is held until the next byte is known, so the result does not
 * depend on the chunking), and the sizes the Maildir name needs (S= and
 * W=) are counted as the bytes pass.
 *
 * Trust: the bytes come from an authenticated but untrusted client and
 * are stored unread; the size is bounded by the caller (APPEND's limit).
 * A write error removes the file at once (nothing partial stays in tmp/)
 * and sticks, so the caller can keep feeding and answer at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/mailbox_int.h"
#include "store/mailbox_spool.h"
#include "util/fsutil.h"
#include "util/xmalloc.h"

#define SPOOL_OUT	(64 * 1024)	/* converted bytes per write() */

struct mbox_spool *
mbox_spool_new_in(const char *dir)
{
	struct mbox_spool *s = xcalloc(1, sizeof(*s));
	char *base = mbox_unique_base(UINT64_MAX, 0, false, 0);

	s->path = xasprintf("%s/%s.append", dir, base);
	free(base);
	s->fd = -1;
	return s;
}

/* Records the first failure: the file goes, errno stays. -1. */
static int
spool_fail(struct mbox_spool *s, int e)
{
	if (s->err == 0)
		s->err = e;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->opened)
		unlink(s->path);
	s->opened = false;
	free(s->out);
	s->out = NULL;
	errno = s->err;
	return -1;
}

static int
spool_open(struct mbox_spool *s)
{
	if (s->opened)
		return 0;
	s->fd = open(s->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (s->fd < 0)
		return spool_fail(s, errno);
	s->opened = true;
	return 0;
}

static int
spool_flush(struct mbox_spool *s)
{
	if (s->nout > 0 && fsutil_write_all(s->fd, s->out, s->nout) < 0)
		return spool_fail(s, errno);
	s->nout = 0;
	return 0;
}

/* One converted byte out; wire size counts a CR for every bare LF. */
static int
spool_put(struct mbox_spool *s, char c)
{
	if (s->nout == SPOOL_OUT && spool_flush(s) < 0)
		return -1;
	s->out[s->nout++] = c;
	s->fsize++;
	s->wsize += c == '\n' && s->last != '\r' ? 2 : 1;
	s->last = c;
	return 0;
}

void
mbox_spool_exact(struct mbox_spool *s)
{
	s->exact = true;
}

int
mbox_spool_write(struct mbox_spool *s, const char *p, size_t n)
{
	if (s->err || s->finished) {
		errno = s->err ? s->err : EINVAL;
		return -1;
	}
	if (spool_open(s) < 0)
		return -1;
	if (s->out == NULL)
		s->out = xmalloc(SPOOL_OUT);
	for (size_t i = 0; i < n && s->exact; i++)
		if (spool_put(s, p[i]) < 0)
			return -1;
	for (size_t i = 0; i < n && !s->exact; i++) {
		if (s->cr) {
			s->cr = false;
			if (p[i] == '\n') {
				if (spool_put(s, '\n') < 0)
					return -1;
				continue;
			}
			if (spool_put(s, '\r') < 0)
				return -1;
		}
		if (p[i] == '\r')
			s->cr = true;
		else if (spool_put(s, p[i]) < 0)
			return -1;
	}
	return spool_flush(s);
}

int
mbox_spool_finish(struct mbox_spool *s)
{
	if (s->err) {
		errno = s->err;
		return -1;
	}
	if (s->finished)
		return 0;
	if (spool_open(s) < 0)
		return -1;
	if (s->out == NULL)
		s->out = xmalloc(SPOOL_OUT);
	if (s->cr) {
		s->cr = false;
		if (spool_put(s, '\r') < 0)
			return -1;
	}
	if (spool_flush(s) < 0)
		return -1;
	free(s->out);
	s->out = NULL;
	if (close(s->fd) < 0) {
		s->fd = -1;
		return spool_fail(s, errno);
	}
	s->fd = -1;
	s->finished = true;
	return 0;
}

int
mbox_spool_write_fd(struct mbox_spool *s, int fd, uint64_t max)
{
	char buf[SPOOL_OUT];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;	/* the source's error, s unharmed */
		}
		if (mbox_spool_write(s, buf, (size_t)n) < 0)
			return -1;
		if (s->wsize > max) {
			errno = EFBIG;
			return -1;
		}
	}
	return 0;
}

int
mbox_spool_append(struct mbox_spool *s, struct mbox_spool **srcp,
    uint64_t max)
{
	struct mbox_spool *src = *srcp;
	int fd, r, e;

	if (src->err || !src->finished) {
		errno = src->err ? src->err : EINVAL;
		mbox_spool_free(srcp);
		return -1;
	}
	fd = open(src->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	r = fd < 0 ? -1 : mbox_spool_write_fd(s, fd, max);
	e = errno;
	if (fd >= 0)
		close(fd);
	mbox_spool_free(srcp);
	errno = e;
	return r;
}

uint64_t
mbox_spool_size(const struct mbox_spool *s)
{
	return s->wsize;
}

int
mbox_spool_error(const struct mbox_spool *s)
{
	return s->err;
}

void
mbox_spool_free(struct mbox_spool **sp)
{
	struct mbox_spool *s = *sp;

	if (s == NULL)
		return;
	*sp = NULL;
	if (s->fd >= 0)
		close(s->fd);
	if (s->opened)
		unlink(s->path);
	free(s->out);
	free(s->path);
	free(s);
}
