/*
 * fsutil - write, copy, directory fsync and atomic replace (fsutil.h).
 *
 * Trust: paths from the caller; blocking calls for worker and committer
 * threads only.
 *
 * Why copy_file_range: a Maildir copy of a spooled message is the spool's
 * bytes behind a small header prefix; letting the kernel move them costs
 * no user-space copy and no memory (on file systems that share extents,
 * no data copy at all). Where it is refused (EXDEV before Linux 5.3,
 * EINVAL or EOPNOTSUPP on some file systems, ENOSYS) the same bytes go
 * through one fixed buffer, so memory stays bounded whatever the size.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/xmalloc.h"

int
fsutil_writev_all(int fd, const struct iovec *iov0, int n)
{
	struct iovec iov[FSUTIL_IOV_MAX];
	struct iovec *v = iov;
	ssize_t r;

	if (n < 0 || n > FSUTIL_IOV_MAX) {
		errno = EINVAL;
		return -1;
	}
	memcpy(iov, iov0, sizeof(*iov) * (size_t)n);
	while (n > 0) {
		if (v->iov_len == 0) {		/* nothing to write here */
			v++;
			n--;
			continue;
		}
		r = writev(fd, v, n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = EIO;
			return -1;
		}
		while (n > 0 && (size_t)r >= v->iov_len) {
			r -= (ssize_t)v->iov_len;
			v++;
			n--;
		}
		if (n > 0) {
			v->iov_base = (char *)v->iov_base + r;
			v->iov_len -= (size_t)r;
		}
	}
	return 0;
}

/* Writes all n bytes, at off (pwrite) or, when off is NULL, at the file
 * position with write(2) itself (the tests' EIO shim hooks write). */
static int
write_all_at(int fd, const void *p, size_t n, uint64_t *off)
{
	const char *c = p;
	ssize_t r;

	while (n > 0) {
		r = off != NULL ? pwrite(fd, c, n, (off_t)*off) :
		    write(fd, c, n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = EIO;
			return -1;
		}
		c += r;
		n -= (size_t)r;
		if (off != NULL)
			*off += (uint64_t)r;
	}
	return 0;
}

int
fsutil_write_all(int fd, const void *p, size_t n)
{
	return write_all_at(fd, p, n, NULL);
}

int
fsutil_pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
	return write_all_at(fd, p, n, &off);
}

int
fsutil_pread_all(int fd, void *p, size_t n, uint64_t off)
{
	ssize_t r;

	while (n > 0) {
		r = pread(fd, p, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			return -1;
		}
		p = (char *)p + r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* The buffered path: pread, show to tap, write. */
static int
copy_buffered(int out, int in, uint64_t off, uint64_t len,
    void (*tap)(void *, const void *, size_t), void *arg)
{
	char *b = xmalloc(FSUTIL_COPY_BUF);
	ssize_t r;
	int ret = 0;

	while (len > 0) {
		size_t want = len < FSUTIL_COPY_BUF ? (size_t)len :
		    FSUTIL_COPY_BUF;

		r = pread(in, b, want, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;	/* shorter than promised */
			ret = -1;
			break;
		}
		if (tap != NULL)
			tap(arg, b, (size_t)r);
		if (fsutil_write_all(out, b, (size_t)r) < 0) {
			ret = -1;
			break;
		}
		off += (uint64_t)r;
		len -= (uint64_t)r;
	}
	free(b);
	return ret;
}

int
fsutil_copy_range(int out, int in, uint64_t off, uint64_t len,
    void (*tap)(void *arg, const void *p, size_t n), void *arg)
{
	loff_t ioff = (loff_t)off;
	ssize_t r;

	if (tap != NULL)
		return copy_buffered(out, in, off, len, tap, arg);
	while (len > 0) {
		r = copy_file_range(in, &ioff, out, NULL,
		    len > (1u << 30) ? (size_t)1 << 30 : (size_t)len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EXDEV || errno == EINVAL ||
		    errno == ENOSYS || errno == EOPNOTSUPP || errno == EBADF))
			return copy_buffered(out, in, (uint64_t)ioff, len,
			    NULL, NULL);
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			return -1;
		}
		len -= (uint64_t)r;
	}
	return 0;
}

int
fsutil_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r, e;

	if (fd < 0)
		return -1;
	r = fsync(fd);
	e = errno;
	close(fd);
	errno = e;
	return r;
}

int
fsutil_fsync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int r, e;

	if (slash == NULL)
		return fsutil_fsync_dir(".");
	if (slash == path)
		return fsutil_fsync_dir("/");
	dir = xasprintf("%.*s", (int)(slash - path), path);
	r = fsutil_fsync_dir(dir);
	e = errno;
	free(dir);
	errno = e;
	return r;
}

int
fsutil_atomic_write(const char *dir, const char *name, const void *data,
    size_t len)
{
	static atomic_uint seq;
	char *tmp = xasprintf("%s/.%s.tmp%d.%u", dir, name, (int)getpid(),
	    atomic_fetch_add(&seq, 1));
	char *path = xasprintf("%s/%s", dir, name);
	int fd, ret = -1, e;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd >= 0 && fsutil_write_all(fd, data, len) == 0 &&
	    fsync(fd) == 0 && close(fd) == 0) {
		fd = -1;
		if (rename(tmp, path) == 0 && fsutil_fsync_dir(dir) == 0)
			ret = 0;
	}
	e = errno;
	if (ret < 0) {
		if (fd >= 0)
			close(fd);
		unlink(tmp);
	}
	free(tmp);
	free(path);
	errno = e;
	return ret;
}
