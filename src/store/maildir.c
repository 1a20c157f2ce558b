/*
 * maildir - Maildir delivery with group commit (see maildir.h).
 *
 * The thread and its batching are the shared group-commit engine
 * (util/gcommit.h); this file is what one batch does.
 *
 * Why syncfs(): with many files, fsync() on each costs one journal commit
 * each on ext4; syncfs() on the file system holding them costs one for the
 * whole batch. A batch of one file uses fsync() on the file and on new/,
 * which is the same durability with less work on a quiet server. Either
 * way the directory entry is durable before the job completes: the step
 * Postfix's and Dovecot's Maildir writers leave to the file system.
 *
 * Why O_TMPFILE in new/: the file is written and synced without a name,
 * then linked into new/ whole, which is what tmp/ + rename() promise
 * (a reader never sees a partial file) with one directory change instead
 * of three, and nothing left in tmp/ by a crash. Where the file system
 * refuses unnamed files, tmp/ + rename() as the Maildir spec describes.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "store/mailbox.h"
#include "store/maildir.h"
#include "store/quota.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xmalloc.h"
#include "util/metrics_list.h"

static void maildir_commit(struct gcommit_job *batch, void *arg);
static struct gcommit mengine = GCOMMIT_INITIALIZER("maildir",
    maildir_commit, NULL, MC_MAILDIR);
static char *mhostname;
static atomic_ulong mseq;
static int mpid;		/* getpid() once: the names' P part */

int
maildir_make(const char *dir)
{
	static const char *const subs[] = { "cur", "new", "tmp" };
	char path[4096];
	struct stat st;

	if (stat(dir, &st) < 0) {
		/* create parents: data_dir/mail/DOMAIN */
		char *p = xstrdup(dir);
		for (char *s = p + 1; *s; s++) {
			if (*s != '/')
				continue;
			*s = '\0';
			if (mkdir(p, 0700) < 0 && errno != EEXIST) {
				free(p);
				return -1;
			}
			*s = '/';
		}
		free(p);
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -1;
	}
	for (int i = 0; i < 3; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    subs[i]) >= sizeof(path)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}

/* One file being committed. */
struct pending {
	struct maildir_rcpt	*r;
	int			 fd;
	bool			 anon;		/* O_TMPFILE: link, not rename */
	char			 tmp[4096];
	char			 new[4096];
};

/* An unnamed file in DIR (new/), or -1 with errno. */
static int
open_anon(const char *path_in_new)
{
	char dir[4096];
	const char *slash = strrchr(path_in_new, '/');
	size_t n = (size_t)(slash - path_in_new);

	if (n >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, path_in_new, n);
	dir[n] = '\0';
	return open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
}

/* Gives the unnamed file FD the name PATH. AT_EMPTY_PATH needs
 * CAP_DAC_READ_SEARCH (or a recent kernel); /proc/self/fd works for
 * anyone, at the price of a path walk through /proc. */
static int
link_anon(int fd, const char *path)
{
	static atomic_bool no_empty_path;
	char proc[64];

	if (!atomic_load(&no_empty_path)) {
		if (linkat(fd, "", AT_FDCWD, path, AT_EMPTY_PATH) == 0)
			return 0;
		if (errno != ENOENT && errno != EPERM)
			return -1;
		atomic_store(&no_empty_path, true);
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
}

/* Writes r's file (unnamed in new/, else into tmp/); fills p. 0 or -1
 * with r->result set. */
static int
write_tmp(struct maildir_job *job, struct maildir_rcpt *r, struct pending *p)
{
	struct timeval tv;
	struct iovec iov[2];
	size_t skip = r->body_skip <= job->body_len ? r->body_skip :
	    job->body_len;
	uint64_t size = r->prefix_len + job->body_len - skip +
	    job->body_file_len;
	char base[512];
	int n;

	gettimeofday(&tv, NULL);
	if (mpid == 0)
		mpid = (int)getpid();
	n = snprintf(base, sizeof(base), "%lld.M%ldP%dQ%lu.%s,S=%llu",
	    (long long)tv.tv_sec, (long)tv.tv_usec, mpid,
	    atomic_fetch_add(&mseq, 1), mhostname, (unsigned long long)size);
	if (n < 0 || (size_t)n >= sizeof(base) ||
	    (size_t)snprintf(p->tmp, sizeof(p->tmp), "%s/tmp/%s", r->maildir,
	    base) >= sizeof(p->tmp) ||
	    (size_t)(r->info ? snprintf(p->new, sizeof(p->new),
	    "%s/cur/%s:2,%s", r->maildir, base, r->info) :
	    snprintf(p->new, sizeof(p->new), "%s/new/%s", r->maildir,
	    base)) >= sizeof(p->new)) {
		r->result = ENAMETOOLONG;
		return -1;
	}
	p->r = r;
	p->anon = true;
	p->fd = open_anon(p->new);
	if (p->fd < 0 && errno == ENOENT && maildir_make(r->maildir) == 0)
		p->fd = open_anon(p->new);
	if (p->fd < 0 && errno != ENOENT && errno != ENOSPC &&
	    errno != EDQUOT && errno != EIO) {
		/* no O_TMPFILE here: the spec's tmp/ + rename() */
		p->anon = false;
		p->fd = open(p->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0600);
		if (p->fd < 0 && errno == ENOENT &&
		    maildir_make(r->maildir) == 0)
			p->fd = open(p->tmp, O_WRONLY | O_CREAT | O_EXCL |
			    O_CLOEXEC, 0600);
	}
	if (p->fd < 0) {
		r->result = errno;
		return -1;
	}
	iov[0].iov_base = r->prefix;
	iov[0].iov_len = r->prefix_len;
	iov[1].iov_base = (void *)(uintptr_t)(job->body ? job->body + skip :
	    NULL);
	iov[1].iov_len = job->body_len - skip;
	if (fsutil_writev_all(p->fd, iov, 2) < 0 || (job->body_file_len > 0 &&
	    fsutil_copy_range(p->fd, job->body_fd, job->body_file_off,
	    job->body_file_len, NULL, NULL) < 0)) {
		r->result = errno;
		close(p->fd);
		if (!p->anon)
			unlink(p->tmp);
		p->fd = -1;
		return -1;
	}
	r->filename = xstrdup(base);
	return 0;
}

/* Delivers a batch of jobs with two syncs in all. */
static void
commit_batch(struct maildir_job *batch)
{
	struct pending *p;
	size_t n = 0, cap = 0, ok = 0;
	int sync_err = 0;

	for (struct maildir_job *j = batch; j; j = j->next)
		cap += (size_t)j->nrcpt;
	p = xcalloc(cap ? cap : 1, sizeof(*p));
	for (struct maildir_job *j = batch; j; j = j->next)
		for (int i = 0; i < j->nrcpt; i++) {
			j->rcpts[i].result = 0;
			if (write_tmp(j, &j->rcpts[i], &p[n]) == 0)
				n++;
		}
	/* 1. the file contents */
	{
		int *fds = xcalloc(n ? n : 1, sizeof(int));
		for (size_t i = 0; i < n; i++)
			fds[i] = p[i].fd;
		sync_err = gcommit_sync_files(fds, n);
		free(fds);
	}
	for (size_t i = 0; i < n; i++) {
		if (sync_err == 0 && (p[i].anon ? link_anon(p[i].fd, p[i].new) :
		    rename(p[i].tmp, p[i].new)) < 0)
			p[i].r->result = errno;
		close(p[i].fd);
		if (sync_err || p[i].r->result) {
			if (!p[i].anon)
				unlink(p[i].tmp);
			if (p[i].r->result == 0)
				p[i].r->result = sync_err;
		} else
			ok++;
	}
	/* 2. the directory entries in new/ */
	if (ok == 1) {
		for (size_t i = 0; i < n; i++)
			if (p[i].r->result == 0 && fsutil_fsync_parent(p[i].new) < 0)
				p[i].r->result = errno;
	} else if (ok > 1) {
		int fd = -1;
		for (size_t i = 0; i < n && fd < 0; i++)
			if (p[i].r->result == 0)
				fd = open(p[i].new, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || syncfs(fd) < 0) {
			int e = errno;
			for (size_t i = 0; i < n; i++)
				if (p[i].r->result == 0)
					p[i].r->result = e;
		}
		if (fd >= 0)
			close(fd);
	}
	free(p);
}

static void
complete(struct maildir_job *j)
{
	if (j->origin)
		loop_post(j->origin, (void (*)(void *))j->done, j);
	else if (j->done)
		j->done(j);
}

/* The users' quota usage (store/quota.h) grows by what was delivered. */
static void
count_delivered(struct maildir_job *batch)
{
	for (struct maildir_job *j = batch; j; j = j->next)
		for (int i = 0; i < j->nrcpt; i++)
			if (j->rcpts[i].result == 0)
				quota_usage_add(j->rcpts[i].maildir,
				    (int64_t)(j->rcpts[i].prefix_len +
				    j->body_len - j->rcpts[i].body_skip +
				    j->body_file_len), 1);
}

/* The engine's batch: commit, tell open sessions, complete each job. */
static void
maildir_commit(struct gcommit_job *gj, void *unused)
{
	struct maildir_job *batch = NULL, **tail = &batch, *next;

	(void)unused;
	for (; gj != NULL; gj = gj->next) {
		*tail = (struct maildir_job *)(void *)((char *)gj -
		    offsetof(struct maildir_job, gj));
		tail = &(*tail)->next;
	}
	*tail = NULL;
	commit_batch(batch);
	count_delivered(batch);
	for (struct maildir_job *j = batch; j; j = j->next)
		for (int i = 0; i < j->nrcpt; i++)
			if (j->rcpts[i].result == 0)
				/* open IMAP sessions learn of it now */
				mbox_notify_delivery(j->rcpts[i].maildir);
	for (; batch; batch = next) {
		next = batch->next;
		batch->next = NULL;
		complete(batch);
	}
}

void
maildir_committer_start(const char *hostname)
{
	free(mhostname);
	/* '/' and ':' cannot be in a Maildir name (Maildir++ uses ':2,'). */
	mhostname = xstrdup(hostname);
	for (char *s = mhostname; *s; s++)
		if (*s == '/' || *s == ':')
			*s = '_';
	gcommit_start(&mengine, NULL);
}

void
maildir_committer_stop(void)
{
	gcommit_stop(&mengine);
}

void
maildir_submit(struct maildir_job *job)
{
	job->next = NULL;
	if (gcommit_submit(&mengine, &job->gj))
		return;
	/* stopped: a session finishing DATA while the server stops, 4xx */
	for (int i = 0; i < job->nrcpt; i++)
		job->rcpts[i].result = ESHUTDOWN;
	complete(job);
}

void
maildir_deliver_now(struct maildir_job *job)
{
	if (mhostname == NULL)
		mhostname = xstrdup("localhost");
	job->next = NULL;
	commit_batch(job);
	count_delivered(job);
}

void
maildir_job_clear(struct maildir_job *job)
{
	for (int i = 0; i < job->nrcpt; i++) {
		free(job->rcpts[i].maildir);
		free(job->rcpts[i].prefix);
		free(job->rcpts[i].filename);
		free(job->rcpts[i].label);
		free(job->rcpts[i].info);
	}
	free(job->rcpts);
	job->rcpts = NULL;
	job->nrcpt = 0;
}
