/*
 * fsutil - the file-system basics every module needs once: writing all of
 * a buffer, copying a byte range between files with a fixed buffer,
 * making a directory entry durable, and replacing a small file atomically.
 *
 * Trust: paths come from the caller (built from validated data); nothing
 * here interprets file contents. Every function is blocking: call it from
 * a worker or a committer thread, never from an event loop.
 *
 * Errors: 0, or -1 with errno set (ENOSPC, EIO, ... exactly as the kernel
 * said), so that callers can tell "disk full" (452 4.3.1) from an I/O
 * error (451 4.3.0).
 */
#ifndef TEM_FSUTIL_H
#define TEM_FSUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The one copy buffer size: memory per copy in flight. */
#define FSUTIL_COPY_BUF		(64 * 1024)

/* write(2) until all of p[0..n) is written (EINTR and short writes). */
int fsutil_write_all(int fd, const void *p, size_t n);
/* writev(2) likewise, for n <= FSUTIL_IOV_MAX pieces. */
#define FSUTIL_IOV_MAX		8
struct iovec;
int fsutil_writev_all(int fd, const struct iovec *iov, int n);
/* pwrite(2) likewise, at off. */
int fsutil_pwrite_all(int fd, const void *p, size_t n, uint64_t off);
/* pread(2) of exactly n bytes at off (EINTR, short reads; EIO when the
 * file ends first): 0 or -1 with errno. */
int fsutil_pread_all(int fd, void *p, size_t n, uint64_t off);
/*
 * Appends len bytes of in, from offset off, at out's file position.
 * Without tap: copy_file_range(2) (the kernel moves the bytes, no user
 * copy), falling back to pread/write with one FSUTIL_COPY_BUF buffer
 * where the file system cannot. With tap: always pread/write, and every
 * piece is shown to tap(arg, p, n) in order (checksums). A file shorter
 * than off + len is EIO (the spool was damaged under us).
 */
int fsutil_copy_range(int out, int in, uint64_t off, uint64_t len,
    void (*tap)(void *arg, const void *p, size_t n), void *arg);
/* fsync(2) of the directory path (its entries become durable). */
int fsutil_fsync_dir(const char *path);
/* fsync(2) of the directory holding path (path's own entry). */
int fsutil_fsync_parent(const char *path);
/*
 * Replaces dir/name with data[0..len) (mode 0600): written to a temporary
 * file in dir, fsynced, renamed over name, dir fsynced. Readers see the
 * old or the new file, never a part; on error the old one stays.
 */
int fsutil_atomic_write(const char *dir, const char *name, const void *data,
    size_t len);

#endif
