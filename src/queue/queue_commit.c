/*
 * queue_commit - the queue's committer thread: group commit of new
 * message files and of removals, the `tem queue flush` marker, and the
 * wake-up callback (queue.h, queue_int.h).
 *
 * Trust: runs with the server's privileges under data_dir/queue; writes
 * only files it names itself from validated ids. Callers: queue_submit()
 * on loop threads, queue_msg_free() on any thread, queue_store.c.
 *
 * On the group-commit engine (util/gcommit.h), like store/maildir.c: the
 * engine's thread takes every job waiting, writes each
 * new file in tmp/, makes them all durable with one sync (fsync for one
 * file, syncfs for more), renames them into msg/ without ever replacing
 * a file, unlinks the finished messages, makes all of those directory
 * changes durable with one fsync of msg/, and only then adds the new
 * messages to the schedule and posts each done() to the loop that
 * submitted it. Between batches it wakes each second to look for the
 * flush marker.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "queue/queue_int.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xmalloc.h"
#include "util/metrics_list.h"

struct removal {
	struct gcommit_job gj;		/* first */
	uint64_t	 key;
	struct removal	*next;
};

/* The engine's job kinds. */
enum { QC_NEW, QC_REMOVE };

static void queue_commit(struct gcommit_job *batch, void *arg);
static void poll_flush(void *arg);
static struct gcommit qengine = GCOMMIT_INITIALIZER("queue", queue_commit,
    poll_flush, MC_QUEUE);

static struct {
	char		*msgdir, *tmpdir, *flushpath;
	pthread_mutex_t	 lock;		/* the fields below */
	void		(*wakeup)(void *);
	void		*wakeup_arg;
	struct timespec	 flush_seen;	/* committer thread only */
	atomic_bool	 flushed;
} c = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

static char *
msg_path(const char *dir, const char *id)
{
	return xasprintf("%s/%s", dir, id);
}

void
queue_wake(void)
{
	void (*fn)(void *);
	void *arg;

	pthread_mutex_lock(&c.lock);
	fn = c.wakeup;
	arg = c.wakeup_arg;
	pthread_mutex_unlock(&c.lock);
	if (fn)
		fn(arg);
}

/* ---- the batch ------------------------------------------------------------ */

/* One new file being committed. */
struct pending {
	struct queue_new	*m;
	int			 fd;
	char			*tmp, *final;
};

/* Checksums the content's file part as it is copied. */
static void
crc_tap(void *arg, const void *p, size_t n)
{
	uint32_t *crc = arg;

	*crc = queue_crc32(*crc, p, n);
}

/* Writes m's file into tmp/: magic, envelope, then the content record
 * streamed (memory part, file part through one buffer) with its CRC
 * after it. 0, or -1 with m->error set. */
static int
write_tmp(struct queue_new *m, struct pending *p)
{
	uint8_t chdr[QUEUE_REC_HDR], trailer[QUEUE_REC_TRAILER];
	uint64_t total = m->content_len + m->content_file_len;
	struct iovec iov[2];
	struct buf head;
	uint32_t crc;
	int r = 0;

	p->m = m;
	p->tmp = msg_path(c.tmpdir, m->msg.id);
	p->final = msg_path(c.msgdir, m->msg.id);
	p->fd = open(p->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (p->fd < 0) {
		m->error = errno;
		return -1;
	}
	buf_init(&head, 0);
	buf_append(&head, QUEUE_MAGIC, QUEUE_MAGIC_LEN);
	queue_envelope_encode(&head, &m->msg);
	queue_rec_header(chdr, QUEUE_REC_CONTENT, (uint32_t)total);
	buf_append(&head, chdr, sizeof(chdr));
	crc = queue_rec_crc(chdr, m->content, m->content_len);
	iov[0] = (struct iovec){ head.data, head.len };
	iov[1] = (struct iovec){ (void *)(uintptr_t)m->content,
	    m->content_len };
	if (fsutil_writev_all(p->fd, iov, 2) < 0 || (m->content_file_len > 0 &&
	    fsutil_copy_range(p->fd, m->content_fd, m->content_file_off,
	    m->content_file_len, crc_tap, &crc) < 0))
		r = -1;
	trailer[0] = (uint8_t)(crc >> 24);
	trailer[1] = (uint8_t)(crc >> 16);
	trailer[2] = (uint8_t)(crc >> 8);
	trailer[3] = (uint8_t)crc;
	iov[0] = (struct iovec){ trailer, sizeof(trailer) };
	if (r < 0 || fsutil_writev_all(p->fd, iov, 1) < 0) {
		m->error = errno;
		close(p->fd);
		unlink(p->tmp);
		p->fd = -1;
		r = -1;
	}
	buf_free(&head);
	return r;
}

/* Renames tmp to final without ever replacing a file (an id collision
 * must not overwrite a queued message). */
static int
rename_new(const char *tmp, const char *final)
{
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (link(tmp, final) < 0)	/* a file system without NOREPLACE */
		return -1;
	unlink(tmp);
	return 0;
}

/* Step 1 of a batch: write and sync the new files, rename them into
 * msg/. Returns how many were renamed. */
static size_t
commit_files(struct pending *p, size_t n)
{
	size_t renamed = 0;
	int sync_err = 0;

	{
		int *fds = xcalloc(n ? n : 1, sizeof(int));
		for (size_t i = 0; i < n; i++)
			fds[i] = p[i].fd;
		sync_err = gcommit_sync_files(fds, n);
		free(fds);
	}
	for (size_t i = 0; i < n; i++) {
		close(p[i].fd);
		if (sync_err == 0 && rename_new(p[i].tmp, p[i].final) < 0)
			p[i].m->error = errno;
		if (sync_err || p[i].m->error) {
			unlink(p[i].tmp);
			if (p[i].m->error == 0)
				p[i].m->error = sync_err;
		} else
			renamed++;
	}
	return renamed;
}

/* Step 2: unlink the finished messages. Returns how many went. */
static size_t
commit_removals(struct removal *rm)
{
	size_t n = 0;
	char id[17], *path;

	for (; rm; rm = rm->next) {
		queue_key_id(rm->key, id);
		path = msg_path(c.msgdir, id);
		if (unlink(path) == 0) {
			log_info("%s queue removed", id);
			n++;
		} else if (errno != ENOENT)
			log_error("%s queue remove error=\"%s\"", id,
			    strerror(errno));
		free(path);
	}
	return n;
}

/* Commits a batch of new messages and removals with two syncs: the
 * files, then the msg/ directory (renames and unlinks together). */
static void
commit_batch(struct queue_new *batch, struct removal *rm)
{
	struct pending *p;
	size_t n = 0, cap = 0, renamed, removed;

	for (struct queue_new *m = batch; m; m = m->next)
		cap++;
	p = xcalloc(cap ? cap : 1, sizeof(*p));
	for (struct queue_new *m = batch; m; m = m->next)
		if (m->error == 0 && write_tmp(m, &p[n]) == 0)
			n++;
		else {
			free(p[n].tmp);
			free(p[n].final);
			p[n].tmp = p[n].final = NULL;
		}
	renamed = commit_files(p, n);
	removed = commit_removals(rm);
	if ((renamed || removed) && fsutil_fsync_dir(c.msgdir) < 0) {
		int e = errno;
		log_error("- queue sync dir=%s error=\"%s\"", c.msgdir,
		    strerror(e));
		for (size_t i = 0; i < n; i++)
			if (p[i].m->error == 0) {
				unlink(p[i].final);	/* no 250: no mail */
				p[i].m->error = e;
			}
	}
	for (size_t i = 0; i < n; i++) {
		if (p[i].m->error == 0)
			queue_sched_add(queue_id_key(p[i].m->msg.id),
			    p[i].m->msg.arrival);
		free(p[i].tmp);
		free(p[i].final);
	}
	free(p);
	if (renamed)
		queue_wake();
}

static void
complete_on_loop(void *arg)
{
	struct queue_new *m = arg;

	m->done(m, m->error, m->arg);
}

static void
complete(struct queue_new *m)
{
	if (m->done == NULL)
		return;
	if (m->origin)
		loop_post(m->origin, complete_on_loop, m);
	else
		m->done(m, m->error, m->arg);
}

/* Looks for the `tem queue flush` marker (each second). */
static void
poll_flush(void *unused)
{
	struct stat st;

	(void)unused;
	if (stat(c.flushpath, &st) < 0)
		return;
	if (st.st_mtim.tv_sec == c.flush_seen.tv_sec &&
	    st.st_mtim.tv_nsec == c.flush_seen.tv_nsec)
		return;		/* seen, and we could not remove it */
	c.flush_seen = st.st_mtim;
	if (unlink(c.flushpath) == 0)
		c.flush_seen = (struct timespec){ 0, 0 };
	log_info("- queue flush messages=%zu", queue_sched_count());
	atomic_store(&c.flushed, true);
	queue_flush();
}

/* The engine's batch: new files and removals, two syncs for all. */
static void
queue_commit(struct gcommit_job *gj, void *unused)
{
	struct queue_new *batch = NULL, **tail = &batch, *next;
	struct removal *rm = NULL, **rtail = &rm, *rnext;

	(void)unused;
	for (; gj != NULL; gj = gj->next)
		if (gj->kind == QC_REMOVE) {
			*rtail = (struct removal *)(void *)gj;
			rtail = &(*rtail)->next;
		} else {
			*tail = (struct queue_new *)(void *)((char *)gj -
			    offsetof(struct queue_new, gj));
			tail = &(*tail)->next;
		}
	*tail = NULL;
	*rtail = NULL;
	commit_batch(batch, rm);
	for (; batch; batch = next) {
		next = batch->next;
		batch->next = NULL;
		complete(batch);
	}
	for (; rm; rm = rnext) {
		rnext = rm->next;
		free(rm);
	}
}

/* ---- submit -------------------------------------------------------------- */

/* Fills in what the caller may leave out and checks the limits. */
static void
prepare(struct queue_new *m)
{
	m->error = 0;
	m->next = NULL;
	if (m->msg.id[0] == '\0')
		log_new_id(m->msg.id);
	if (m->msg.arrival == 0)
		m->msg.arrival = time(NULL);
	m->msg.size = m->content_len + m->content_file_len;
	if (m->content_len + m->content_file_len > QUEUE_CONTENT_MAX ||
	    queue_msg_check(&m->msg, m->msg.size) < 0 ||
	    (m->content == NULL && m->content_len > 0))
		m->error = EINVAL;
}

void
queue_submit(struct queue_new *m, struct loop *origin,
    void (*done)(struct queue_new *m, int error, void *arg), void *arg)
{
	if (queue_on_pg()) {
		queue_pgf_submit(m, origin, done, arg);
		return;
	}
	prepare(m);
	m->origin = origin;
	m->done = done;
	m->arg = arg;
	m->gj.kind = QC_NEW;
	if (gcommit_submit(&qengine, &m->gj))
		return;
	/* a session finishing DATA while the server stops: 4xx */
	m->error = ESHUTDOWN;
	complete(m);
}

int
queue_submit_sync(struct queue_new *m)
{
	if (queue_on_pg())
		return queue_pgf_submit_sync(m);
	TEM_ASSERT(c.msgdir != NULL);
	prepare(m);
	m->origin = NULL;
	m->done = NULL;
	commit_batch(m, NULL);
	return m->error;
}

/* ---- removals ------------------------------------------------------------- */

void
queue_commit_remove(uint64_t key)
{
	struct removal *rm;
	char id[17], *path;

	rm = xmalloc(sizeof(*rm));
	rm->key = key;
	rm->gj.kind = QC_REMOVE;
	if (gcommit_submit(&qengine, &rm->gj))
		return;
	free(rm);
	pthread_mutex_lock(&c.lock);
	if (c.msgdir != NULL) {	/* no committer: do it here */
		queue_key_id(key, id);
		path = msg_path(c.msgdir, id);
		if (unlink(path) == 0)
			fsutil_fsync_dir(c.msgdir);
		free(path);
	}
	pthread_mutex_unlock(&c.lock);
}

/* ---- start and stop ------------------------------------------------------ */

void
queue_commit_start(const char *msgdir, const char *tmpdir,
    const char *flushpath)
{
	pthread_mutex_lock(&c.lock);
	TEM_ASSERT(c.msgdir == NULL);
	c.msgdir = xstrdup(msgdir);
	c.tmpdir = xstrdup(tmpdir);
	c.flushpath = xstrdup(flushpath);
	c.flush_seen = (struct timespec){ 0, 0 };
	atomic_store(&c.flushed, false);
	pthread_mutex_unlock(&c.lock);
	gcommit_start(&qengine, NULL);
}

void
queue_commit_stop(void)
{
	gcommit_stop(&qengine);
	pthread_mutex_lock(&c.lock);
	c.wakeup = NULL;
	XFREE(&c.msgdir);
	XFREE(&c.tmpdir);
	XFREE(&c.flushpath);
	pthread_mutex_unlock(&c.lock);
}

bool
queue_flush_requested(void)
{
	return atomic_exchange(&c.flushed, false);
}

void
queue_set_wakeup(void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&c.lock);
	c.wakeup = fn;
	c.wakeup_arg = arg;
	pthread_mutex_unlock(&c.lock);
}

