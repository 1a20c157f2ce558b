/*
 * eio_shim - an LD_PRELOAD library for tests: makes writes and syncs of
 * regular files under a directory fail with EIO while a flag file exists,
 * so that a test can inject an I/O error into a running tem and take it
 * away again.
 *
 * Trust: test-only, never linked into tem. Environment:
 *   TEM_EIO_FLAG  path of the flag file: errors only while it exists
 *   TEM_EIO_DIR   only files under this directory fail (not the log)
 *   TEM_EIO_OPS   "write" (write, pwrite, writev, copy_file_range and the
 *                 syncs) or "sync" (fsync, fdatasync, syncfs only)
 *
 * Why a shim and not a hook in tem: the error then comes from exactly
 * where the kernel would report it, for every code path (the spool, the
 * Maildir copy, the queue file, SQLite), and tem carries no test code.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static bool
failing(int fd, bool is_sync)
{
	const char *flag = getenv("TEM_EIO_FLAG");
	const char *dir = getenv("TEM_EIO_DIR");
	const char *ops = getenv("TEM_EIO_OPS");
	char link[64], path[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (flag == NULL || dir == NULL || access(flag, F_OK) != 0)
		return false;
	if (!is_sync && ops != NULL && strcmp(ops, "sync") == 0)
		return false;
	if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) ||
	    (is_sync && S_ISDIR(st.st_mode))))
		return false;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return false;
	path[n] = '\0';
	return strncmp(path, dir, strlen(dir)) == 0;
}

#define NEXT(name) \
	static __typeof__(name) *next_##name; \
	if (next_##name == NULL) \
		next_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

ssize_t
write(int fd, const void *p, size_t n)
{
	NEXT(write);
	if (failing(fd, false)) {
		errno = EIO;
		return -1;
	}
	return next_write(fd, p, n);
}

ssize_t
pwrite(int fd, const void *p, size_t n, off_t off)
{
	NEXT(pwrite);
	if (failing(fd, false)) {
		errno = EIO;
		return -1;
	}
	return next_pwrite(fd, p, n, off);
}

ssize_t
pwrite64(int fd, const void *p, size_t n, off_t off)
{
	NEXT(pwrite64);
	if (failing(fd, false)) {
		errno = EIO;
		return -1;
	}
	return next_pwrite64(fd, p, n, off);
}

ssize_t
writev(int fd, const struct iovec *iov, int n)
{
	NEXT(writev);
	if (failing(fd, false)) {
		errno = EIO;
		return -1;
	}
	return next_writev(fd, iov, n);
}

ssize_t
copy_file_range(int in, off_t *inoff, int out, off_t *outoff, size_t n,
    unsigned flags)
{
	NEXT(copy_file_range);
	if (failing(out, false)) {
		errno = EIO;
		return -1;
	}
	return next_copy_file_range(in, inoff, out, outoff, n, flags);
}

int
fsync(int fd)
{
	NEXT(fsync);
	if (failing(fd, true)) {
		errno = EIO;
		return -1;
	}
	return next_fsync(fd);
}

int
fdatasync(int fd)
{
	NEXT(fdatasync);
	if (failing(fd, true)) {
		errno = EIO;
		return -1;
	}
	return next_fdatasync(fd);
}

int
syncfs(int fd)
{
	NEXT(syncfs);
	if (failing(fd, true)) {
		errno = EIO;
		return -1;
	}
	return next_syncfs(fd);
}
