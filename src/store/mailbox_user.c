/*
 * mailbox_user - the process-wide registry of open Maildir roots, the
 * shared folders inside each, the POP3 lock, delivery notices, and the
 * store thread that syncs watched folders (see mailbox.h).
 *
 * Trust: roots come from account data (never from a client); the rest is
 * bookkeeping. See mailbox_int.h for the lock order.
 *
 * The store thread wakes once a second, and at once when a delivery is
 * announced for a watched INBOX. Announced folders are synced first; on
 * the one-second tick every watched folder is checked (two stat()s each)
 * and synced if its directories changed, so outside tools are noticed
 * within about a second. A sync that finds something wakes the watchers.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/mailbox_int.h"
#include "store/maildir.h"
#include "util/array.h"
#include "util/hashmap.h"
#include "util/log.h"
#include "util/xmalloc.h"

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hashmap *reg_users;	/* root -> struct mbox_md_user */

void
mbox_error(char **error_r, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (error_r == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		log_panic("out of memory");
	va_end(ap);
	*error_r = s;
}

/* root without trailing slashes (a new string). */
static char *
norm_root(const char *root)
{
	size_t n = strlen(root);

	while (n > 1 && root[n - 1] == '/')
		n--;
	return xstrndup(root, n);
}

/* ---- users ------------------------------------------------------------ */

static void
user_free(struct mbox_md_user *u)
{
	TEM_ASSERT(hashmap_count(u->folders) == 0);
	hashmap_free(&u->folders, NULL);
	mbox_events_fini(u);
	pthread_mutex_destroy(&u->io);
	pthread_mutex_destroy(&u->mu);
	pthread_cond_destroy(&u->ready_cond);
	free(u->open_error);
	free(u->root);
	free(u->address);
	free(u);
}

/* Removes APPEND spools (tmp/ *.append) left by a crash: when a user is
 * opened no session of this process holds it, so none is being written. */
static void
clean_spools(struct mbox_md_user *u)
{
	char *tmp = xasprintf("%s/tmp", u->root), *path;
	DIR *d = opendir(tmp);
	struct dirent *de;
	size_t n;

	while (d && (de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n <= 7 || strcmp(de->d_name + n - 7, ".append") != 0)
			continue;
		path = xasprintf("%s/%s", tmp, de->d_name);
		if (unlink(path) == 0)
			log_info("- store removed unfinished append=%s", path);
		free(path);
	}
	if (d)
		closedir(d);
	free(tmp);
}

/* Removes tem-deleted-* left by a delete that did not finish. */
static void
clean_leftovers(struct mbox_md_user *u)
{
	DIR *d = opendir(u->root);
	struct dirent *de;

	clean_spools(u);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "tem-deleted-", 12) != 0)
			continue;
		char *path = xasprintf("%s/%s", u->root, de->d_name);
		if (mbox_rmtree(path) < 0)
			log_warn("- store cleanup-failed path=%s error=%s",
			    path, strerror(errno));
		free(path);
	}
	closedir(d);
}

static int
user_init(struct mbox_md_user *u, char **error_r)
{
	if (mbox_folder_exists(u->root) < 0 && maildir_make(u->root) < 0) {
		mbox_error(error_r, "Cannot create the Maildir: %s",
		    strerror(errno));
		log_error("- store maildir-failed root=%s error=%s", u->root,
		    strerror(errno));
		return MBOX_ERR_TEMP;
	}
	if (mbox_index_open(u, error_r) < 0)
		return MBOX_ERR_TEMP;
	clean_leftovers(u);
	return 0;
}

/*
 * Opening and closing a root never overlap: an open that finds the user
 * being opened or closed waits (on ready_cond) until that is done; the
 * last unref closes the index, and reopens it instead of freeing when an
 * open came in meanwhile. Two connections would fight over the clean mark.
 */
int
mbox_md_user_open(const char *maildir_root, struct mbox_md_user **u_r,
    char **error_r)
{
	char *root = norm_root(maildir_root);
	struct mbox_md_user *u;
	int r;

	mbox_lock(&reg_lock, MBOX_LK_REG);
	if (reg_users == NULL)
		reg_users = hashmap_new(0);
	u = hashmap_get(reg_users, root);
	if (u) {
		free(root);
		u->refs++;
	} else {
		u = xmalloc(sizeof(*u));
		u->base.be = MBOX_MAILDIR;
		u->root = root;
		u->address = NULL;
		u->refs = 1;
		u->folders = hashmap_new(0);
		mbox_events_init(u);
		pthread_mutex_init(&u->io, NULL);
		pthread_mutex_init(&u->mu, NULL);
		pthread_cond_init(&u->ready_cond, NULL);
		hashmap_put(reg_users, root, u);
		mbox_unlock(&reg_lock, MBOX_LK_REG);
		char *err = NULL;
		mbox_lock(&u->io, MBOX_LK_IO);
		r = user_init(u, &err);
		mbox_unlock(&u->io, MBOX_LK_IO);
		mbox_lock(&reg_lock, MBOX_LK_REG);
		u->open_err = r;
		u->open_error = err;
		u->ready = true;
		pthread_cond_broadcast(&u->ready_cond);
	}
	while (!u->ready)
		pthread_cond_wait(&u->ready_cond, &reg_lock);
	r = u->open_err;
	if (r < 0)
		mbox_error(error_r, "%s", u->open_error);
	mbox_unlock(&reg_lock, MBOX_LK_REG);
	if (r < 0) {
		mbox_md_user_unref(&u);
		return r;
	}
	*u_r = u;
	return 0;
}

struct mbox_md_user *
mbox_md_user_find(const char *maildir_root)
{
	char *root = norm_root(maildir_root);
	struct mbox_md_user *u;

	mbox_lock(&reg_lock, MBOX_LK_REG);
	u = reg_users ? hashmap_get(reg_users, root) : NULL;
	if (u && u->ready && u->open_err == 0 && u->refs > 0)
		u->refs++;
	else
		u = NULL;
	mbox_unlock(&reg_lock, MBOX_LK_REG);
	free(root);
	return u;
}

void
mbox_md_user_set_address(struct mbox_md_user *u, const char *address)
{
	mbox_lock(&reg_lock, MBOX_LK_REG);
	if (u->address == NULL && address != NULL)
		u->address = xstrdup(address);
	mbox_unlock(&reg_lock, MBOX_LK_REG);
}

const char *
mbox_md_user_address(const struct mbox_md_user *u)
{
	return u->address;
}

void
mbox_user_ref(struct mbox_md_user *u)
{
	mbox_lock(&reg_lock, MBOX_LK_REG);
	u->refs++;
	mbox_unlock(&reg_lock, MBOX_LK_REG);
}

void
mbox_md_user_unref(struct mbox_md_user **up)
{
	struct mbox_md_user *u = *up;
	bool last, revived;
	char *err = NULL;
	int r = 0;

	if (u == NULL)
		return;
	*up = NULL;
	mbox_lock(&reg_lock, MBOX_LK_REG);
	last = --u->refs == 0;
	if (last)
		u->ready = false;
	mbox_unlock(&reg_lock, MBOX_LK_REG);
	if (!last)
		return;
	mbox_lock(&u->io, MBOX_LK_IO);
	mbox_index_close(u);
	mbox_lock(&reg_lock, MBOX_LK_REG);
	revived = u->refs > 0;
	if (!revived && hashmap_get(reg_users, u->root) == u)
		hashmap_remove(reg_users, u->root);
	mbox_unlock(&reg_lock, MBOX_LK_REG);
	if (revived)
		r = user_init(u, &err);
	mbox_unlock(&u->io, MBOX_LK_IO);
	if (!revived) {
		user_free(u);
		return;
	}
	mbox_lock(&reg_lock, MBOX_LK_REG);
	free(u->open_error);
	u->open_err = r;
	u->open_error = err;
	u->ready = true;
	pthread_cond_broadcast(&u->ready_cond);
	mbox_unlock(&reg_lock, MBOX_LK_REG);
}

const char *
mbox_md_user_root(const struct mbox_md_user *u)
{
	return u->root;
}

int
mbox_md_pop3_lock(struct mbox_md_user *u)
{
	bool ok;

	mbox_lock(&u->mu, MBOX_LK_USER);
	ok = !u->pop3;
	u->pop3 = true;
	mbox_unlock(&u->mu, MBOX_LK_USER);
	return ok;
}

void
mbox_md_pop3_unlock(struct mbox_md_user *u)
{
	mbox_lock(&u->mu, MBOX_LK_USER);
	u->pop3 = false;
	mbox_unlock(&u->mu, MBOX_LK_USER);
}

/* ---- folders ------------------------------------------------------------ */

static void
folder_free(struct mbox_folder *f)
{
	for (uint32_t i = 0; i < f->count; i++)
		free(f->msgs[i].name);
	for (int i = 0; i < MBOX_KEYWORDS_MAX; i++)
		free(f->kw[i]);
	free(f->msgs);
	free(f->dir);
	free(f->path);
	free(f->name);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

static struct mbox_folder *
folder_new(struct mbox_md_user *u, const char *dir)
{
	struct mbox_folder *f = xmalloc(sizeof(*f));

	f->u = u;
	f->refs = 1;
	f->dir = xstrdup(dir);
	f->path = dir[0] ? xasprintf("%s/%s", u->root, dir) : xstrdup(u->root);
	if (dir[0] == '\0')
		f->name = xstrdup("INBOX");
	else if (mbox_name_from_dir(dir, &f->name) < 0)
		f->name = xstrdup(dir + 1);	/* not reached: dirs are ours */
	pthread_mutex_init(&f->mu, NULL);
	atomic_init(&f->dirty, false);
	return f;
}

int
mbox_folder_get(struct mbox_md_user *u, const char *dir, struct mbox_folder **f_r,
    char **error_r)
{
	struct mbox_folder *f;
	int r;

	mbox_lock(&u->mu, MBOX_LK_USER);
	f = hashmap_get(u->folders, dir);
	if (f)
		f->refs++;
	mbox_unlock(&u->mu, MBOX_LK_USER);
	if (f) {
		r = mbox_sync(f, false, NULL, error_r);
	} else {
		char *path = dir[0] ? xasprintf("%s/%s", u->root, dir) :
		    xstrdup(u->root);
		r = mbox_folder_exists(path);
		free(path);
		if (r < 0) {
			mbox_error(error_r, "No such folder");
			return MBOX_ERR_NONEXISTENT;
		}
		f = folder_new(u, dir);
		mbox_kw_load(f);
		r = mbox_index_load(u, f, error_r);
		if (r == 0)
			r = mbox_sync(f, true, NULL, error_r);
		if (r == 0) {
			mbox_lock(&u->mu, MBOX_LK_USER);
			hashmap_put(u->folders, dir, f);
			f->in_map = true;
			mbox_unlock(&u->mu, MBOX_LK_USER);
		}
	}
	if (r < 0) {
		mbox_folder_put(&f);
		return r == MBOX_ERR_GONE ? MBOX_ERR_NONEXISTENT : r;
	}
	*f_r = f;
	return 0;
}

void
mbox_folder_put(struct mbox_folder **fp)
{
	struct mbox_folder *f = *fp;
	struct mbox_md_user *u;
	bool last;

	if (f == NULL)
		return;
	*fp = NULL;
	u = f->u;
	mbox_lock(&u->mu, MBOX_LK_USER);
	last = --f->refs == 0;
	if (last && f->in_map && hashmap_get(u->folders, f->dir) == f)
		hashmap_remove(u->folders, f->dir);
	mbox_unlock(&u->mu, MBOX_LK_USER);
	if (last)
		folder_free(f);
}

void
mbox_folder_unmap(struct mbox_folder *f)
{
	struct mbox_md_user *u = f->u;

	mbox_lock(&u->mu, MBOX_LK_USER);
	if (f->in_map && hashmap_get(u->folders, f->dir) == f)
		hashmap_remove(u->folders, f->dir);
	f->in_map = false;
	mbox_unlock(&u->mu, MBOX_LK_USER);
}

void
mbox_folder_remap(struct mbox_folder *f)
{
	struct mbox_md_user *u = f->u;
	struct mbox_folder *old;

	mbox_lock(&u->mu, MBOX_LK_USER);
	old = hashmap_put(u->folders, f->dir, f);
	f->in_map = true;
	if (old && old != f)
		old->in_map = false;	/* a stale one: its dir is gone */
	mbox_unlock(&u->mu, MBOX_LK_USER);
	if (old && old != f) {
		mbox_lock(&old->mu, MBOX_LK_FOLDER);
		old->gone = true;
		mbox_unlock(&old->mu, MBOX_LK_FOLDER);
		mbox_folder_wake(old, NULL);
	}
}

/* ---- the store thread ----------------------------------------------------- */

static pthread_mutex_t poll_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t poll_cond;
static pthread_t poll_thread;
static bool poll_running, poll_stop, poll_kicked;
static struct mbox_folder **poll_queue;
static size_t poll_n, poll_cap;

/* Drops the references a queued or collected folder holds. */
static void
release(struct mbox_folder *f)
{
	struct mbox_md_user *u = f->u;

	mbox_folder_put(&f);
	mbox_md_user_unref(&u);
}

static void
poll_one(struct mbox_folder *f)
{
	struct mbox_md_user *u = f->u;

	mbox_lock(&u->io, MBOX_LK_IO);
	if (u->db && !f->gone)
		(void)mbox_sync(f, false, NULL, NULL);
	mbox_unlock(&u->io, MBOX_LK_IO);
}

/* Every folder someone watches, with references. */
static struct mbox_folder **
collect_watched(size_t *n_r)
{
	struct mbox_folder **v = NULL;
	size_t n = 0, cap = 0;
	struct hashmap_iter ui = { 0 }, fi;
	void *uv, *fv;

	mbox_lock(&reg_lock, MBOX_LK_REG);
	while (reg_users && hashmap_next(reg_users, &ui, NULL, &uv)) {
		struct mbox_md_user *u = uv;
		mbox_lock(&u->mu, MBOX_LK_USER);
		fi.pos = 0;
		while (hashmap_next(u->folders, &fi, NULL, &fv)) {
			struct mbox_folder *f = fv;
			mbox_lock(&f->mu, MBOX_LK_FOLDER);
			bool watched = f->n_watch > 0;
			mbox_unlock(&f->mu, MBOX_LK_FOLDER);
			if (!watched)
				continue;
			f->refs++;
			u->refs++;
			*ARRAY_PUSH(v, n, cap) = f;
		}
		mbox_unlock(&u->mu, MBOX_LK_USER);
	}
	mbox_unlock(&reg_lock, MBOX_LK_REG);
	*n_r = n;
	return v;
}

static void *
poller_main(void *unused)
{
	struct timespec next;
	struct mbox_folder **q, **w;
	size_t nq, nw;

	(void)unused;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		struct timespec now;
		bool tick;

		pthread_mutex_lock(&poll_lock);
		while (!poll_stop && !poll_kicked &&
		    pthread_cond_timedwait(&poll_cond, &poll_lock, &next) == 0)
			;
		if (poll_stop) {
			pthread_mutex_unlock(&poll_lock);
			return NULL;
		}
		q = poll_queue;
		nq = poll_n;
		poll_queue = NULL;
		poll_n = poll_cap = 0;
		poll_kicked = false;
		for (size_t i = 0; i < nq; i++)
			q[i]->poll_queued = false;
		pthread_mutex_unlock(&poll_lock);
		for (size_t i = 0; i < nq; i++) {
			poll_one(q[i]);
			release(q[i]);
		}
		free(q);
		clock_gettime(CLOCK_MONOTONIC, &now);
		tick = now.tv_sec > next.tv_sec || (now.tv_sec == next.tv_sec &&
		    now.tv_nsec >= next.tv_nsec);
		if (!tick)
			continue;
		next = now;
		next.tv_sec += 1;
		w = collect_watched(&nw);
		for (size_t i = 0; i < nw; i++) {
			poll_one(w[i]);
			release(w[i]);
		}
		free(w);
		mbox_linger_sweep(false);
	}
}

void
mbox_poller_start(void)
{
	pthread_condattr_t ca;

	pthread_mutex_lock(&poll_lock);
	if (!poll_running) {
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&poll_cond, &ca);
		pthread_condattr_destroy(&ca);
		poll_stop = false;
		if (pthread_create(&poll_thread, NULL, poller_main, NULL) != 0)
			log_fatal("cannot start the mail store thread");
		poll_running = true;
	}
	pthread_mutex_unlock(&poll_lock);
}

/* Queues f (whose references the caller passes on) for the thread. */
static void
poll_enqueue(struct mbox_folder *f)
{
	bool dup;

	pthread_mutex_lock(&poll_lock);
	dup = f->poll_queued || !poll_running;
	if (!dup) {
		if (poll_n == poll_cap) {
			poll_cap = poll_cap ? poll_cap * 2 : 16;
			poll_queue = xrealloc(poll_queue,
			    poll_cap * sizeof(*poll_queue));
		}
		poll_queue[poll_n++] = f;
		f->poll_queued = true;
		poll_kicked = true;
		pthread_cond_signal(&poll_cond);
	}
	pthread_mutex_unlock(&poll_lock);
	if (dup)
		release(f);
}

void
mbox_notify_delivery(const char *maildir_root)
{
	char *root = norm_root(maildir_root);
	struct mbox_md_user *u;
	struct mbox_folder *f = NULL;

	mbox_lock(&reg_lock, MBOX_LK_REG);
	u = reg_users ? hashmap_get(reg_users, root) : NULL;
	if (u) {
		mbox_lock(&u->mu, MBOX_LK_USER);
		f = hashmap_get(u->folders, "");
		if (f) {
			atomic_store(&f->dirty, true);
			mbox_lock(&f->mu, MBOX_LK_FOLDER);
			bool watched = f->n_watch > 0;
			mbox_unlock(&f->mu, MBOX_LK_FOLDER);
			if (watched) {
				f->refs++;
				u->refs++;
			} else
				f = NULL;
		}
		if (f == NULL)	/* no sync will tell NOTIFY: say it now */
			mbox_user_event(u, MBOX_EV_MESSAGES, "INBOX", NULL);
		mbox_unlock(&u->mu, MBOX_LK_USER);
	}
	mbox_unlock(&reg_lock, MBOX_LK_REG);
	free(root);
	if (f)
		poll_enqueue(f);
}

void
mbox_md_shutdown(void)
{
	struct mbox_folder **q;
	size_t n;

	pthread_mutex_lock(&poll_lock);
	if (!poll_running) {
		pthread_mutex_unlock(&poll_lock);
		mbox_linger_sweep(true);
		return;
	}
	poll_stop = true;
	pthread_cond_signal(&poll_cond);
	pthread_mutex_unlock(&poll_lock);
	pthread_join(poll_thread, NULL);
	pthread_mutex_lock(&poll_lock);
	poll_running = false;
	q = poll_queue;
	n = poll_n;
	poll_queue = NULL;
	poll_n = poll_cap = 0;
	for (size_t i = 0; i < n; i++)
		q[i]->poll_queued = false;
	pthread_cond_destroy(&poll_cond);
	pthread_mutex_unlock(&poll_lock);
	for (size_t i = 0; i < n; i++)
		release(q[i]);
	free(q);
	mbox_linger_sweep(true);
}
