/*
 * quota - per-user usage counters of the mail store (see quota.h).
 *
 * Trust: paths come from the store and the delivery code, built from
 * validated account data; file names read from the disk are only scanned
 * for ",S=" (a bad or missing one falls back to stat).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/quota.h"
#include "util/clock.h"
#include "util/hashmap.h"
#include "util/xmalloc.h"

struct usage {
	struct quota_usage	u;
	bool			known;		/* u is valid */
	bool			computing;	/* a claimed compute runs */
	uint64_t		computed_ms;	/* clock_mono_ms() */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static quota_source_fn *source;		/* set once at start, or NULL */
static struct hashmap *usages;		/* root -> struct usage */

/* The key of a root or folder path: no trailing "/", and a Maildir++
 * folder "R/.X" is R (a user's root never starts with "."). */
static char *
root_key(const char *path)
{
	char *k = xstrdup(path), *slash;
	size_t len = strlen(k);

	while (len > 1 && k[len - 1] == '/')
		k[--len] = '\0';
	slash = strrchr(k, '/');
	if (slash != NULL && slash > k && slash[1] == '.')
		*slash = '\0';
	return k;
}

bool
quota_usage_get(const char *root, struct quota_usage *u_r)
{
	char *k = root_key(root);
	struct usage *e;

	pthread_mutex_lock(&lock);
	e = usages ? hashmap_get(usages, k) : NULL;
	if (e != NULL && e->known)
		*u_r = e->u;
	pthread_mutex_unlock(&lock);
	free(k);
	return e != NULL && e->known;
}

/* The entry of key k, made (unknown) when missing; lock held. */
static struct usage *
entry_make(const char *k)
{
	struct usage *e;

	if (usages == NULL)
		usages = hashmap_new(0);
	if ((e = hashmap_get(usages, k)) == NULL) {
		e = xcalloc(1, sizeof(*e));
		hashmap_put(usages, k, e);
	}
	return e;
}

bool
quota_compute_claim(const char *root)
{
	char *k = root_key(root);
	struct usage *e;
	bool mine;

	pthread_mutex_lock(&lock);
	e = entry_make(k);
	mine = !e->computing;
	e->computing = true;
	pthread_mutex_unlock(&lock);
	free(k);
	return mine;
}

/* A file's size from its ",S=" (before the ":2," info), else stat. */
static uint64_t
file_size(int dirfd, const char *name)
{
	const char *end = strchr(name, ':'), *p = name;
	size_t len = end ? (size_t)(end - name) : strlen(name);
	struct stat st;

	while ((p = memchr(p, ',', len - (size_t)(p - name))) != NULL) {
		uint64_t v = 0;
		const char *q = p + 3;

		if ((size_t)(p - name) + 3 <= len && p[1] == 'S' &&
		    p[2] == '=') {
			for (; q < name + len && *q >= '0' && *q <= '9'; q++)
				v = v * 10 + (uint64_t)(*q - '0');
			if (q > p + 3 && q - (p + 3) < 20 &&
			    (q == name + len || *q == ','))
				return v;
		}
		p++;
	}
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode))
		return (uint64_t)st.st_size;
	return 0;	/* gone meanwhile */
}

/* Adds the messages of dir (a cur/ or new/) to u; a missing dir is 0. */
static int
count_dir(const char *dir, struct quota_usage *u)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
			continue;
		u->bytes += file_size(dirfd(d), de->d_name);
		u->messages++;
	}
	closedir(d);
	return 0;
}

static int
count_folder(const char *path, struct quota_usage *u)
{
	char *cur = xasprintf("%s/cur", path), *nw = xasprintf("%s/new", path);
	int r = count_dir(cur, u) < 0 || count_dir(nw, u) < 0 ? -1 : 0;

	free(cur);
	free(nw);
	return r;
}

void
quota_set_source(quota_source_fn *fn)
{
	source = fn;
}

int
quota_usage_compute(const char *root, struct quota_usage *u_r)
{
	char *k = root_key(root), *sub;
	struct quota_usage u = { 0, 0 };
	struct usage *e;
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (source != NULL) {
		r = source(k, &u);
		goto done;
	}
	d = opendir(k);
	if (d == NULL) {
		pthread_mutex_lock(&lock);
		if (usages != NULL && (e = hashmap_get(usages, k)) != NULL)
			e->computing = false;
		pthread_mutex_unlock(&lock);
		free(k);
		return -1;
	}
	r = count_folder(k, &u);
	while (r == 0 && (de = readdir(d)) != NULL) {
		/* Maildir++ folders ".A.B"; tem-deleted-* and tmp/ are not */
		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		sub = xasprintf("%s/%s", k, de->d_name);
		r = count_folder(sub, &u);
		free(sub);
	}
	closedir(d);
done:
	pthread_mutex_lock(&lock);
	e = entry_make(k);
	e->computing = false;
	if (r == 0) {
		e->u = u;
		e->known = true;
		e->computed_ms = clock_mono_ms();
	}
	pthread_mutex_unlock(&lock);
	free(k);
	*u_r = u;
	return r;
}

int
quota_usage_need(const char *root, struct quota_usage *u_r)
{
	if (quota_usage_get(root, u_r))
		return 0;
	return quota_usage_compute(root, u_r);
}

/* x + d, clamped at 0 (a message counted before the walk and removed
 * after it must not wrap the counter). */
static uint64_t
move_by(uint64_t x, int64_t d)
{
	if (d < 0 && (uint64_t)-d > x)
		return 0;
	return d < 0 ? x - (uint64_t)-d : x + (uint64_t)d;
}

void
quota_usage_add(const char *folder, int64_t bytes, int64_t messages)
{
	char *k = root_key(folder);
	struct usage *e;

	pthread_mutex_lock(&lock);
	if (usages != NULL && (e = hashmap_get(usages, k)) != NULL &&
	    e->known) {
		e->u.bytes = move_by(e->u.bytes, bytes);
		e->u.messages = move_by(e->u.messages, messages);
	}
	pthread_mutex_unlock(&lock);
	free(k);
}

void
quota_usage_forget(const char *root)
{
	char *k = root_key(root);
	struct usage *e;

	pthread_mutex_lock(&lock);
	if (usages != NULL && (e = hashmap_get(usages, k)) != NULL)
		e->known = false;	/* a compute may be running: keep it */
	pthread_mutex_unlock(&lock);
	free(k);
}

bool
quota_exceeds(const struct quota_usage *u, uint64_t max_bytes, uint64_t max_msgs,
    uint64_t add_bytes, uint64_t add_msgs)
{
	return (max_bytes != 0 && (add_bytes > max_bytes ||
	    u->bytes > max_bytes - add_bytes)) ||
	    (max_msgs != 0 && (add_msgs > max_msgs ||
	    u->messages > max_msgs - add_msgs));
}

enum quota_verdict
quota_peek(const char *root, uint64_t max_bytes, uint64_t max_msgs,
    uint64_t add_bytes, uint64_t add_msgs)
{
	char *k;
	struct usage *e;
	enum quota_verdict v = QUOTA_UNKNOWN;

	if (max_bytes == 0 && max_msgs == 0)
		return QUOTA_FITS;
	k = root_key(root);
	pthread_mutex_lock(&lock);
	if (usages != NULL && (e = hashmap_get(usages, k)) != NULL &&
	    e->known) {
		if (!quota_exceeds(&e->u, max_bytes, max_msgs, add_bytes, add_msgs))
			v = QUOTA_FITS;
		else if (clock_mono_ms() - e->computed_ms < QUOTA_RECHECK_MS)
			v = QUOTA_OVER;
		else
			v = QUOTA_OVER_STALE;
	}
	pthread_mutex_unlock(&lock);
	free(k);
	return v;
}

enum quota_verdict
quota_check(const char *root, uint64_t max_bytes, uint64_t max_msgs,
    uint64_t add_bytes, uint64_t add_msgs, struct quota_usage *u_r)
{
	struct quota_usage u;
	enum quota_verdict v = quota_peek(root, max_bytes, max_msgs,
	    add_bytes, add_msgs);

	if (v == QUOTA_UNKNOWN || v == QUOTA_OVER_STALE) {
		if (quota_usage_compute(root, &u) < 0)
			return QUOTA_FITS;
		v = quota_exceeds(&u, max_bytes, max_msgs, add_bytes, add_msgs) ?
		    QUOTA_OVER : QUOTA_FITS;
	}
	if (u_r != NULL && !quota_usage_get(root, u_r))
		*u_r = (struct quota_usage){ 0, 0 };
	return v;
}

void
quota_usage_reset(void)
{
	pthread_mutex_lock(&lock);
	hashmap_free(&usages, free);
	pthread_mutex_unlock(&lock);
}
