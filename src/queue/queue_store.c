/*
 * queue_store - the queue's files: recovery at start, loading due
 * messages, durable state reports and releases (see queue.h for the
 * contract and the reasons for the design, queue_record.c for the bytes,
 * queue_content.c for reading a message's content, queue_commit.c for the
 * committer thread that writes new files and removes finished ones).
 *
 * Trust: runs with the server's privileges under data_dir/queue; every
 * file read back is re-validated by queue_record.c. Callers: the SMTP
 * server (queue_submit, on loop threads), the delivery engine (take,
 * read, report: on worker threads), serve.c (init, shutdown).
 *
 * Durability, step by step:
 *   submit   tmp/ID written, synced (fsync, or one syncfs for a batch),
 *            renamed to msg/ID (never replacing), msg/ synced once for the
 *            batch; only then the schedule learns of it and done() runs.
 *   report   one 'S' record appended and fdatasync'd before queue_report
 *            returns; a failed or short write is cut off again, so the
 *            log never holds garbage before a later good record.
 *   remove   unlink of msg/ID, msg/ synced with the next batch. If the
 *            power fails first, the message comes back with no recipient
 *            PENDING and the caller finishes it again (at worst a second
 *            bounce, in a window of milliseconds).
 *   start    tmp/ emptied (submits that never got their 250), torn state
 *            records cut off, damaged files moved to corrupt/.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "queue/queue_int.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* The head of a file is read in one go when it is this small. */
#define HEAD_READ	4096

static struct {
	char		*dir, *msgdir, *tmpdir, *corruptdir, *flushpath;
	int		 lock_fd;
	atomic_uint	 retry_base, lifetime;
	atomic_bool	 running;
} q = {
	.lock_fd = -1,
};

/* ---- small file helpers ---------------------------------------------- */

static char *
msg_path(const char *msgdir, const char *id)
{
	return xasprintf("%s/%s", msgdir, id);
}

/* mkdir; 0 if made or there. data_dir itself is usually made by serve. */
static int
make_dir(const char *path, char **error_r)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	*error_r = xasprintf("cannot create %s: %s", path, strerror(errno));
	return -1;
}

/* ---- loading ------------------------------------------------------------ */

static int
damaged(const char **why_r, const char *why)
{
	*why_r = why;
	errno = EBADMSG;
	return -1;
}

int
queue_read_head(int fd, uint64_t size, struct queue_msg *m,
    struct queue_file_info *info, const char **why_r)
{
	size_t have = size < HEAD_READ ? (size_t)size : HEAD_READ, need = 0;
	uint8_t *b = xmalloc(have + 1);
	int r;

	if (fsutil_pread_all(fd, b, have, 0) < 0) {
		free(b);
		return -1;
	}
	while ((r = queue_parse_head(b, have, m, info, &need, why_r)) == 0) {
		if (need > size) {
			free(b);
			return damaged(why_r, "file truncated");
		}
		b = xrealloc(b, need);
		if (fsutil_pread_all(fd, b + have, need - have, have) < 0) {
			free(b);
			return -1;
		}
		have = need;
	}
	free(b);
	if (r < 0)
		return damaged(why_r, *why_r);
	if (info->tail_off > size) {
		if (m)
			queue_msg_clear(m);
		return damaged(why_r, "content truncated");
	}
	return 0;
}

/* Reads the state log of the file into m. 0 or -1 with errno. */
static int
read_tail(int fd, uint64_t size, struct queue_msg *m,
    struct queue_file_info *info, const char **why_r)
{
	uint64_t len = size - info->tail_off;
	uint8_t *b;

	if (len > QUEUE_STATELOG_MAX)
		return damaged(why_r, "state log too large");
	b = xmalloc((size_t)len + 1);
	if (fsutil_pread_all(fd, b, (size_t)len, info->tail_off) < 0) {
		free(b);
		return -1;
	}
	queue_parse_tail(b, (size_t)len, m, info);
	free(b);
	return 0;
}

int
queue_file_load(const char *msgdir, const char *id, int oflags,
    struct queue_msg *m, struct queue_file_info *info, const char **why_r,
    int *fd_r)
{
	char *path = msg_path(msgdir, id);
	struct stat st;
	int fd = open(path, oflags | O_CLOEXEC | O_NOFOLLOW), e;

	free(path);
	memset(m, 0, sizeof(*m));
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || queue_read_head(fd, (uint64_t)st.st_size, m, info,
	    why_r) < 0)
		goto fail;
	if (strcmp(m->id, id) != 0) {
		queue_msg_clear(m);
		damaged(why_r, "id does not match the file name");
		goto fail;
	}
	if (read_tail(fd, (uint64_t)st.st_size, m, info, why_r) < 0) {
		queue_msg_clear(m);
		goto fail;
	}
	m->size = (size_t)info->content_len;
	m->file_end = info->valid_end;
	if (fd_r)
		*fd_r = fd;
	else
		close(fd);
	return 0;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

void
queue_quarantine(const char *id, const char *why)
{
	char *from = msg_path(q.msgdir, id), *to = msg_path(q.corruptdir, id);

	if (rename(from, to) < 0 && errno != ENOENT)
		log_error("%s queue damaged reason=\"%s\" move_error=\"%s\"",
		    id, why, strerror(errno));
	else
		log_error("%s queue damaged reason=\"%s\" moved_to=%s", id,
		    why, to);
	free(from);
	free(to);
	queue_sched_remove(queue_id_key(id));
}

/* ---- time ------------------------------------------------------------- */

static time_t
earliest_pending(const struct queue_msg *m, time_t none)
{
	time_t t = 0;

	for (int i = 0; i < m->nrcpt; i++)
		if (m->rcpts[i].state == QUEUE_STATE_PENDING &&
		    (t == 0 || m->rcpts[i].next_try < t))
			t = m->rcpts[i].next_try;
	return t == 0 ? none : t;
}

int
queue_msg_pending(const struct queue_msg *m)
{
	int n = 0;

	for (int i = 0; i < m->nrcpt; i++)
		n += m->rcpts[i].state == QUEUE_STATE_PENDING;
	return n;
}

/* retry_base * 2^(attempts-1), at most max(QUEUE_BACKOFF_MAX, base). */
static time_t
backoff(unsigned retry_base, unsigned attempts)
{
	uint64_t base = retry_base, d = base ? base : 1;
	uint64_t cap = base > QUEUE_BACKOFF_MAX ? base : QUEUE_BACKOFF_MAX;

	for (unsigned i = 1; i < attempts && d < cap; i++)
		d *= 2;
	return (time_t)(d < cap ? d : cap);
}

/* ---- start and stop ------------------------------------------------------ */

/* Removes every file in tmp/: submits that never completed. */
static void
clean_tmp(void)
{
	DIR *d = opendir(q.tmpdir);
	struct dirent *e;
	char *path;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		path = msg_path(q.tmpdir, e->d_name);
		if (unlink(path) == 0)
			log_info("- queue removed unfinished file=%s", path);
		free(path);
	}
	closedir(d);
}

/* Loads one file at start: cuts a torn tail, quarantines damage, and
 * schedules it. 0, or -1 with *error_r for an environment problem. */
static int
recover_one(const char *id, time_t now, char **error_r)
{
	struct queue_msg m;
	struct queue_file_info info;
	const char *why = NULL;
	int fd;

	if (queue_file_load(q.msgdir, id, O_RDWR, &m, &info, &why, &fd) < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno == EBADMSG) {
			queue_quarantine(id, why);
			return 0;
		}
		*error_r = xasprintf("cannot read %s/%s: %s", q.msgdir, id,
		    strerror(errno));
		return -1;
	}
	if (info.torn) {
		if (ftruncate(fd, (off_t)info.valid_end) < 0 || fsync(fd) < 0)
			log_error("%s queue truncate error=\"%s\"", id,
			    strerror(errno));
		else
			log_warn("%s queue torn state record cut offset=%llu",
			    id, (unsigned long long)info.valid_end);
	}
	close(fd);
	queue_sched_add(queue_id_key(id), earliest_pending(&m, now));
	queue_msg_clear(&m);
	return 0;
}

static int
recover_all(char **error_r)
{
	DIR *d = opendir(q.msgdir);
	struct dirent *e;
	time_t now = time(NULL);
	int r = 0;

	if (d == NULL) {
		*error_r = xasprintf("cannot open %s: %s", q.msgdir,
		    strerror(errno));
		return -1;
	}
	while (r == 0 && (e = readdir(d)) != NULL) {
		if (queue_id_valid(e->d_name))
			r = recover_one(e->d_name, now, error_r);
		else if (e->d_name[0] != '.')
			log_warn("- queue ignoring file=%s/%s", q.msgdir,
			    e->d_name);
	}
	closedir(d);
	if (r == 0 && unlink(q.flushpath) == 0)
		queue_sched_flush(now);
	return r;
}

/* Paths stay allocated after queue_shutdown() (freed by the next init):
 * a report still finishing on a worker thread then writes its record
 * where it belongs instead of reading freed memory. */
const char *
queue_msgdir(void)
{
	return q.msgdir;
}

static void
free_paths(void)
{
	XFREE(&q.dir);
	XFREE(&q.msgdir);
	XFREE(&q.tmpdir);
	XFREE(&q.corruptdir);
	XFREE(&q.flushpath);
	if (q.lock_fd >= 0)
		close(q.lock_fd);
	q.lock_fd = -1;
}

/* queue/lock, flock'd: one server per data_dir (tem migrate checks it
 * too), whichever backend holds its queue. */
static int
lock_dir(char **error_r)
{
	char *lock = xasprintf("%s/lock", q.dir);

	q.lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (q.lock_fd < 0)
		*error_r = xasprintf("cannot open %s: %s", lock,
		    strerror(errno));
	else if (flock(q.lock_fd, LOCK_EX | LOCK_NB) < 0)
		*error_r = errno == EWOULDBLOCK ?
		    xasprintf("the queue %s is in use by another tem process",
		    q.dir) : xasprintf("cannot lock %s: %s", lock,
		    strerror(errno));
	free(lock);
	return *error_r ? -1 : 0;
}

static int
open_dirs(const char *data_dir, char **error_r)
{
	q.dir = xasprintf("%s/queue", data_dir);
	q.msgdir = xasprintf("%s/msg", q.dir);
	q.tmpdir = xasprintf("%s/tmp", q.dir);
	q.corruptdir = xasprintf("%s/corrupt", q.dir);
	q.flushpath = xasprintf("%s/flush", q.dir);
	if (make_dir(data_dir, error_r) < 0 || make_dir(q.dir, error_r) < 0 ||
	    make_dir(q.msgdir, error_r) < 0 || make_dir(q.tmpdir, error_r) < 0 ||
	    make_dir(q.corruptdir, error_r) < 0)
		return -1;
	return lock_dir(error_r);
}

int
queue_lock_data_dir(const char *data_dir, char **error_r)
{
	*error_r = NULL;
	free_paths();
	q.dir = xasprintf("%s/queue", data_dir);
	if (make_dir(data_dir, error_r) < 0 || make_dir(q.dir, error_r) < 0 ||
	    lock_dir(error_r) < 0) {
		free_paths();
		return -1;
	}
	return 0;
}

int
queue_init(const char *data_dir, unsigned retry_base, unsigned lifetime,
    char **error_r)
{
	*error_r = NULL;
	TEM_ASSERT(!atomic_load(&q.running));
	free_paths();
	queue_configure(retry_base, lifetime);
	if (open_dirs(data_dir, error_r) < 0) {
		free_paths();
		return -1;
	}
	clean_tmp();
	queue_sched_init();
	if (recover_all(error_r) < 0) {
		queue_sched_free();
		free_paths();
		return -1;
	}
	queue_commit_start(q.msgdir, q.tmpdir, q.flushpath);
	atomic_store(&q.running, true);
	log_info("- queue started dir=%s messages=%zu", q.dir,
	    queue_sched_count());
	return 0;
}

void
queue_shutdown(void)
{
	if (queue_on_pg()) {
		queue_pgf_shutdown();
		free_paths();	/* the lock */
		return;
	}
	if (!atomic_exchange(&q.running, false))
		return;
	queue_commit_stop();
	queue_sched_free();
	if (q.lock_fd >= 0)
		close(q.lock_fd);
	q.lock_fd = -1;
}

void
queue_configure(unsigned retry_base, unsigned lifetime)
{
	atomic_store(&q.retry_base, retry_base ? retry_base : 1);
	atomic_store(&q.lifetime, lifetime);
	if (queue_on_pg())
		queue_pgf_configure(retry_base, lifetime);
}

/* ---- taking, reading ---------------------------------------------------- */

/* Loads one taken entry; NULL when it is gone, damaged or unreadable. */
static struct queue_msg *
take_one(uint64_t key, uint32_t gen, time_t now)
{
	struct queue_msg *m = xmalloc(sizeof(*m));
	struct queue_file_info info;
	const char *why = NULL;
	char id[17];

	queue_key_id(key, id);
	if (queue_file_load(q.msgdir, id, O_RDONLY, m, &info, &why,
	    NULL) == 0) {
		m->sched_gen = gen;
		return m;
	}
	if (errno == ENOENT) {
		log_info("%s queue gone (deleted by the admin)", id);
		queue_sched_remove(key);
	} else if (errno == EBADMSG)
		queue_quarantine(id, why);
	else {
		log_error("%s queue read error=\"%s\"", id, strerror(errno));
		queue_sched_release(key, gen,
		    now + (time_t)atomic_load(&q.retry_base));
	}
	free(m);
	return NULL;
}

int
queue_take_due(time_t now, struct queue_msg **msgs, int max)
{
	uint64_t keys[64];
	uint32_t gens[64];
	int n = 0, k;

	if (queue_on_pg())
		return queue_pgf_take_due(msgs, max);
	if (!atomic_load(&q.running))
		return 0;
	while (n < max) {
		k = queue_sched_take(now, keys, gens,
		    max - n < 64 ? max - n : 64);
		if (k == 0)
			break;
		for (int i = 0; i < k; i++)
			if ((msgs[n] = take_one(keys[i], gens[i], now)) != NULL)
				n++;
	}
	return n;
}

/* ---- reports ------------------------------------------------------------ */

/* Appends record b to m's file durably; on any failure the file is cut
 * back to where it was. 0 or -1 with errno. */
static int
append_record(struct queue_msg *m, const struct buf *b)
{
	char *path = msg_path(q.msgdir, m->id);
	struct iovec iov = { b->data, b->len };
	struct stat st;
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW), e;

	free(path);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		goto fail;
	if (m->file_end && (uint64_t)st.st_size != m->file_end &&
	    ftruncate(fd, (off_t)m->file_end) < 0)
		goto fail;	/* garbage from an earlier failed append */
	if (fsutil_writev_all(fd, &iov, 1) < 0 || fdatasync(fd) < 0) {
		e = errno;
		if (m->file_end && ftruncate(fd, (off_t)m->file_end) == 0)
			(void)fdatasync(fd);
		errno = e;
		goto fail;
	}
	close(fd);
	if (m->file_end)
		m->file_end += b->len;
	return 0;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

/* Writes the state of recipients idx[0..n) as given in view->rcpts into
 * m's file. 0 or -1 with errno. */
static int
write_states(struct queue_msg *m, const struct queue_msg *view,
    const int *idx, int n)
{
	struct buf b;
	int r;

	buf_init(&b, 0);
	queue_state_encode(&b, view, idx, n);
	r = append_record(m, &b);
	buf_free(&b);
	return r;
}

void
queue_rcpt_apply(const struct queue_msg *m, struct queue_rcpt *r, int res,
    const char *text, time_t now, unsigned retry_base, unsigned lifetime)
{
	char *t = text ? xstrndup(text, QUEUE_TEXT_MAX) : NULL;
	time_t expiry = m->arrival + (time_t)lifetime;

	r->attempts++;
	r->last_error = t;
	if (res == QUEUE_RCPT_DELIVERED)
		r->state = QUEUE_STATE_DELIVERED;
	else if (res == QUEUE_RCPT_FAILED)
		r->state = QUEUE_STATE_FAILED;
	else if (now >= expiry) {
		r->state = QUEUE_STATE_FAILED;
		r->last_error = t ? xasprintf("delivery time expired; last "
		    "error: %s", t) : xstrdup("delivery time expired");
		free(t);
	} else {
		r->next_try = now + backoff(retry_base, r->attempts);
		if (r->next_try > expiry)
			r->next_try = expiry;
	}
}

/* After a failed write: ENOENT drops the message, else retry later. */
static void
reschedule_failed(struct queue_msg *m, int e, time_t now)
{
	uint64_t key = queue_id_key(m->id);

	if (e == ENOENT) {
		log_info("%s queue gone (deleted by the admin)", m->id);
		queue_sched_remove(key);
		return;
	}
	log_error("%s queue state write error=\"%s\"", m->id, strerror(e));
	if (!queue_sched_release(key, m->sched_gen,
	    now + (time_t)atomic_load(&q.retry_base)) &&
	    atomic_load(&q.running))
		queue_sched_add(key, now + (time_t)atomic_load(&q.retry_base));
}

static int
report_file(struct queue_msg *m, const int *results, char *const *texts,
    time_t now)
{
	struct queue_msg view = *m;
	int *idx = xcalloc((size_t)m->nrcpt, sizeof(*idx)), n = 0, e, left;
	uint64_t key = queue_id_key(m->id);

	view.rcpts = xmemdup(m->rcpts, (size_t)m->nrcpt * sizeof(*m->rcpts));
	for (int i = 0; i < m->nrcpt; i++) {
		if (results[i] < QUEUE_RCPT_DELIVERED ||
		    results[i] > QUEUE_RCPT_DEFERRED ||
		    m->rcpts[i].state != QUEUE_STATE_PENDING)
			continue;
		queue_rcpt_apply(m, &view.rcpts[i], results[i],
		    texts ? texts[i] : NULL, now, atomic_load(&q.retry_base),
		    atomic_load(&q.lifetime));
		idx[n++] = i;
	}
	if (n > 0 && write_states(m, &view, idx, n) < 0) {
		e = errno;
		for (int i = 0; i < n; i++)
			free(view.rcpts[idx[i]].last_error);
		free(view.rcpts);
		free(idx);
		reschedule_failed(m, e, now);
		errno = e;
		return -1;
	}
	for (int i = 0; i < n; i++) {
		free(m->rcpts[idx[i]].last_error);
		m->rcpts[idx[i]] = view.rcpts[idx[i]];
	}
	free(view.rcpts);
	free(idx);
	left = queue_msg_pending(m);
	if (left > 0 && !queue_sched_release(key, m->sched_gen,
	    earliest_pending(m, now)) && atomic_load(&q.running))
		queue_sched_add(key, earliest_pending(m, now));
	return left;
}

int
queue_report_at(struct queue_msg *m, const int *results, char *const *texts,
    time_t now)
{
	if (queue_on_pg())
		return queue_pgf_report(m, results, texts, now);
	return report_file(m, results, texts, now);
}

int
queue_report(struct queue_msg *m, const int *results, char *const *texts)
{
	return queue_report_at(m, results, texts, time(NULL));
}

int
queue_set_rcpt_flags(struct queue_msg *m, const int *idx, int n,
    unsigned flags)
{
	struct queue_msg view = *m;
	int r;

	if (queue_on_pg())
		return queue_pgf_set_rcpt_flags(m, idx, n, flags);
	for (int i = 0; i < n; i++)
		if (idx[i] < 0 || idx[i] >= m->nrcpt) {
			errno = EINVAL;
			return -1;
		}
	if (n <= 0)
		return 0;
	view.rcpts = xmemdup(m->rcpts, (size_t)m->nrcpt * sizeof(*m->rcpts));
	for (int i = 0; i < n; i++)
		view.rcpts[idx[i]].flags |= flags & 7u;
	r = write_states(m, &view, idx, n);
	if (r == 0)
		for (int i = 0; i < n; i++)
			m->rcpts[idx[i]].flags = view.rcpts[idx[i]].flags;
	free(view.rcpts);
	return r;
}

void
queue_msg_free(struct queue_msg **mp)
{
	struct queue_msg *m = *mp;
	uint64_t key;

	if (m == NULL)
		return;
	if (queue_on_pg()) {
		queue_pgf_msg_free(mp);
		return;
	}
	if (queue_id_valid(m->id)) {
		key = queue_id_key(m->id);
		if (queue_msg_pending(m) == 0) {
			queue_sched_remove(key);
			queue_commit_remove(key);
		} else if (m->sched_gen != 0)
			queue_sched_release(key, m->sched_gen,
			    earliest_pending(m, time(NULL)));
	}
	queue_msg_clear(m);
	free(m);
	*mp = NULL;
}

/* ---- schedule wrappers ------------------------------------------------- */

time_t
queue_next_due(void)
{
	if (queue_on_pg())
		return queue_pgf_next_due();
	return queue_sched_next();
}

size_t
queue_count(void)
{
	if (queue_on_pg())
		return queue_pgf_count();
	return queue_sched_count();
}

void
queue_flush(void)
{
	if (queue_on_pg()) {
		queue_pgf_flush();
		return;
	}
	queue_sched_flush(time(NULL));
	queue_wake();
}

