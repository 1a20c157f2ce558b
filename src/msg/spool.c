/*
 * spool - the message sink (see spool.h): decoded message bytes go to an
 * unnamed spool file through two fixed buffers written on the worker
 * pool; the header section is kept in memory as it passes.
 *
 * Trust: untrusted message bytes, counted and stored, never interpreted
 * beyond finding the empty line that ends the header section. Memory is
 * fixed: 2 * MSG_SPOOL_BUF + at most MSG_HEAD_MAX of header.
 *
 * Why O_TMPFILE: the spool is a scratch copy; the durable ones are made
 * from it by the committers. An unnamed file needs no cleanup after a
 * crash and no unlink on the loop. Where the file system refuses it, a
 * named file is made and unlinked at once (same effect).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msg/spool.h"
#include "util/fsutil.h"
#include "util/worker.h"
#include "util/xmalloc.h"

struct msg_spool {
	struct loop	*loop;
	char		*dir;
	void		(*ready)(void *);
	void		*arg;
	struct buf	 fill;		/* loop: being filled */
	struct buf	 head;		/* loop: the header section */
	bool		 in_head;	/* no empty line yet */
	bool		 bol;		/* last head byte was a line end */
	uint64_t	 size;		/* bytes given */
	bool		 writing;	/* a worker owns wbuf, fd, werr */
	bool		 waiting;	/* the caller waits for ready() */
	bool		 freed;		/* free when the write is done */
	bool		 mem;		/* finished without a write: fill is
					   the whole message */
	/* the tap: set on the loop while no write is running; called by
	   the writer */
	void		(*tap)(void *, const char *, size_t);
	void		(*tap_free)(void *);
	void		*tap_arg;
	uint64_t	 tap_from;	/* file offset of the first body byte */
	/* worker side (the loop reads them only while !writing) */
	void		(*wtap)(void *, const char *, size_t);	/* the tap */
	void		*wtap_arg;	/* as it was when the write began */
	uint64_t	 wtap_from;
	struct buf	 wbuf;
	uint64_t	 woff;		/* file offset of wbuf */
	int		 fd;
	int		 werr;
};

struct msg_spool *
msg_spool_new(struct loop *loop, const char *dir, void (*ready)(void *arg),
    void *arg)
{
	struct msg_spool *sp = xcalloc(1, sizeof(*sp));

	sp->loop = loop;
	sp->dir = xstrdup(dir);
	sp->ready = ready;
	sp->arg = arg;
	sp->fd = -1;
	sp->in_head = true;
	sp->bol = true;
	buf_init(&sp->fill, 0);
	buf_init(&sp->wbuf, 0);
	buf_init(&sp->head, 0);
	return sp;
}

static void
spool_destroy(struct msg_spool *sp)
{
	if (sp->tap_free != NULL && sp->tap_arg != NULL)
		sp->tap_free(sp->tap_arg);
	if (sp->fd >= 0)
		close(sp->fd);
	buf_free(&sp->fill);
	buf_free(&sp->wbuf);
	buf_free(&sp->head);
	free(sp->dir);
	free(sp);
}

void
msg_spool_free(struct msg_spool **spp)
{
	struct msg_spool *sp = *spp;

	if (sp == NULL)
		return;
	*spp = NULL;
	if (sp->writing) {
		sp->freed = true;	/* spool_written frees it */
		return;
	}
	spool_destroy(sp);
}

/* The unnamed spool file. -1 with errno. */
static int
spool_open(const char *dir)
{
	char *path;
	int fd;

	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	/* the first messages make the folder; several workers may race to
	 * it, and EEXIST from another one's mkdir is success */
	if (fd < 0 && errno == ENOENT &&
	    (mkdir(dir, 0700) == 0 || errno == EEXIST))
		fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR &&
	    errno != EINVAL))
		return fd;
	path = xasprintf("%s/spool.XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	free(path);
	return fd;
}

/* Worker: writes wbuf at woff. */
static void
spool_write(void *arg)
{
	struct msg_spool *sp = arg;

	if (sp->werr != 0)
		return;
	if (sp->fd < 0 && (sp->fd = spool_open(sp->dir)) < 0) {
		sp->werr = errno;
		return;
	}
	if (fsutil_pwrite_all(sp->fd, sp->wbuf.data, sp->wbuf.len,
	    sp->woff) < 0) {
		sp->werr = errno;
		return;
	}
	if (sp->wtap != NULL && sp->woff + sp->wbuf.len > sp->wtap_from) {
		uint64_t skip = sp->wtap_from > sp->woff ?
		    sp->wtap_from - sp->woff : 0;

		sp->wtap(sp->wtap_arg, sp->wbuf.data + skip,
		    sp->wbuf.len - (size_t)skip);
	}
}

static void spool_start_write(struct msg_spool *sp);

/* Loop: a write ended. */
static void
spool_written(void *arg)
{
	struct msg_spool *sp = arg;

	sp->writing = false;
	sp->woff += sp->wbuf.len;
	buf_reset(&sp->wbuf);
	if (sp->freed) {
		spool_destroy(sp);
		return;
	}
	if (sp->waiting) {
		sp->waiting = false;
		sp->ready(sp->arg);
	}
}

static void
spool_start_write(struct msg_spool *sp)
{
	struct buf t = sp->wbuf;

	sp->wbuf = sp->fill;
	sp->fill = t;
	sp->wtap = sp->tap;
	sp->wtap_arg = sp->tap_arg;
	sp->wtap_from = sp->tap_from;
	sp->writing = true;
	worker_submit(sp->loop, spool_write, spool_written, sp);
}

struct buf *
msg_spool_buf(struct msg_spool *sp, size_t *room_r)
{
	if (sp->fill.cap < MSG_SPOOL_BUF + 1) {
		/* reserve once: appends below the room never reallocate */
		buf_append(&sp->fill, "", 0);
		sp->fill.data = xrealloc(sp->fill.data, MSG_SPOOL_BUF + 1);
		sp->fill.cap = MSG_SPOOL_BUF + 1;
	}
	*room_r = sp->fill.len < MSG_SPOOL_BUF ? MSG_SPOOL_BUF -
	    sp->fill.len : 0;
	return &sp->fill;
}

void
msg_spool_wrote(struct msg_spool *sp, size_t old_len)
{
	const char *p = sp->fill.data + old_len;
	size_t n = sp->fill.len - old_len, i = 0, room;

	sp->size += n;
	if (!sp->in_head)
		return;
	room = MSG_HEAD_MAX - sp->head.len;
	for (; i < n && i < room && sp->in_head; i++) {
		if (sp->bol && p[i] == '\n')
			sp->in_head = false;
		sp->bol = p[i] == '\n';
	}
	buf_append(&sp->head, p, i);
	if (sp->head.len == MSG_HEAD_MAX)
		sp->in_head = false;	/* the rest is "body" to tem */
}

bool
msg_spool_flush(struct msg_spool *sp)
{
	if (sp->fill.len < MSG_SPOOL_BUF - 4096)
		return true;
	if (!sp->writing && sp->werr != 0) {
		buf_reset(&sp->fill);	/* failed: count, do not write */
		return true;
	}
	if (sp->writing) {
		sp->waiting = true;
		return false;
	}
	spool_start_write(sp);
	return true;
}

bool
msg_spool_finish(struct msg_spool *sp)
{
	if (sp->writing) {
		sp->waiting = true;
		return false;
	}
	if (sp->werr != 0)
		buf_reset(&sp->fill);
	if (sp->fill.len == 0)
		return true;
	if (sp->woff == 0 && sp->fd < 0) {	/* all of it in one buffer */
		sp->mem = true;
		return true;
	}
	spool_start_write(sp);
	sp->waiting = true;
	return false;
}

bool
msg_spool_head_done(const struct msg_spool *sp)
{
	return !sp->in_head;
}

void
msg_spool_tap(struct msg_spool *sp,
    void (*tap)(void *arg, const char *p, size_t n),
    void (*free_arg)(void *arg), void *arg)
{
	/* a running write keeps its own copy (wtap): this one applies
	   from the next write on, the first to hold body bytes */
	sp->tap = tap;
	sp->tap_free = free_arg;
	sp->tap_arg = arg;
	sp->tap_from = sp->head.len;
}

void *
msg_spool_untap(struct msg_spool *sp)
{
	void *arg = sp->tap_arg;

	sp->tap = NULL;
	sp->tap_free = NULL;
	sp->tap_arg = NULL;
	return arg;
}

const char *
msg_spool_mem(const struct msg_spool *sp, size_t *len_r)
{
	*len_r = sp->mem ? sp->fill.len : 0;
	return sp->mem ? sp->fill.data : NULL;
}

int
msg_spool_error(const struct msg_spool *sp)
{
	return sp->werr;
}

uint64_t
msg_spool_size(const struct msg_spool *sp)
{
	return sp->size;
}

int
msg_spool_fd(const struct msg_spool *sp)
{
	return sp->fd;
}

const char *
msg_spool_head(const struct msg_spool *sp, size_t *len_r)
{
	*len_r = sp->head.len;
	return sp->head.data ? sp->head.data : "";
}
