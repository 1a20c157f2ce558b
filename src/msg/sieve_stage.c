/*
 * sieve_stage - Sieve at delivery: the worker job that runs each local
 * mailbox's scripts on one message, and the two memories that keep it
 * cheap (see sieve_stage.h): which users have no script, and compiled
 * scripts.
 *
 * Trust: scripts and messages are untrusted (sieve.h's limits bound a
 * run); script paths are built from account addresses only; everything
 * a script names on disk goes through mbox_deliver_folder.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "auth/accounts_addr.h"
#include "auth/resolve.h"
#include "msg/sieve_stage.h"
#include "util/buf.h"
#include "sieve/sieve_state.h"
#include "sieve/sieve_store.h"
#include "store/mailbox.h"
#include "util/clock.h"
#include "util/hashmap.h"
#include "util/log.h"
#include "util/worker.h"
#include "util/xmalloc.h"

/* A compiled script, shared by runs on any thread. */
struct cscript {
	struct sieve_script	*sc;
	dev_t			 dev;
	ino_t			 ino;
	off_t			 size;
	struct timespec		 mtime;
	unsigned char		 sha[32];	/* texts: SHA-256 of the text */
	unsigned		 refs;		/* under mu; the cache's is one */
	bool			 cached;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct hashmap *scripts;		/* path -> struct cscript */
static struct hashmap *texts;		/* text key -> struct cscript */
static struct hashmap *users;		/* address -> struct user_seen */
static struct cscript *before;		/* sieve_before */
static char *before_dir;		/* its folder: :global includes */

struct user_seen {
	uint64_t	 at;			/* clock_mono_ms */
	bool		 has;
	struct cscript	*cs;			/* the active script, one
						 * reference; NULL: none or
						 * it did not compile */
};

/* Under mu: drops one reference of cs. */
static void
cs_put_locked(struct cscript *cs)
{
	if (cs != NULL && --cs->refs == 0) {
		sieve_script_free(&cs->sc);
		free(cs);
	}
}

/* Under mu: a user's memory (hashmap value). */
static void
user_drop(void *v)
{
	struct user_seen *u = v;

	cs_put_locked(u->cs);
	free(u);
}

struct sieve_script *
sieve_stage_script_sc(const struct cscript *cs)
{
	return cs->sc;
}

struct cscript *
sieve_stage_before(char **dir_r)
{
	struct cscript *cs;

	pthread_mutex_lock(&mu);
	if ((cs = before) != NULL)
		cs->refs++;
	*dir_r = before_dir ? xstrdup(before_dir) : NULL;
	pthread_mutex_unlock(&mu);
	return cs;
}

void
sieve_stage_script_unref(struct cscript *cs)
{
	bool last;

	if (cs == NULL)
		return;
	pthread_mutex_lock(&mu);
	last = --cs->refs == 0;
	pthread_mutex_unlock(&mu);
	if (last) {
		sieve_script_free(&cs->sc);
		free(cs);
	}
}

char *
sieve_stage_read(const char *path, size_t *len, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char *text = NULL;
	ssize_t n;

	if (fd < 0)
		return NULL;
	if (fstat(fd, st) < 0)
		goto out;
	if (!S_ISREG(st->st_mode) || st->st_size > SIEVE_STORE_SIZE_MAX) {
		errno = EFBIG;
		goto out;
	}
	text = xmalloc((size_t)st->st_size + 1);
	n = pread(fd, text, (size_t)st->st_size, 0);
	if (n < 0) {
		XFREE(&text);
		goto out;
	}
	text[n] = '\0';
	*len = (size_t)n;
out:
	close(fd);
	return text;
}

int
sieve_stage_configure(const char *path, char **error_r)
{
	struct cscript *cs = NULL, *old;
	struct sieve_error err;
	struct stat st;
	char *text, *dir = NULL, *slash;
	size_t len = 0;

	if (path != NULL) {
		if ((text = sieve_stage_read(path, &len, &st)) == NULL) {
			*error_r = xasprintf("%s: %s", path, strerror(errno));
			return -1;
		}
		cs = xcalloc(1, sizeof(*cs));
		cs->refs = 1;
		cs->sc = sieve_compile(text, len, NULL, &err);
		free(text);
		if (cs->sc == NULL) {
			*error_r = xasprintf("%s:%d: %s", path, err.line,
			    err.msg);
			free(cs);
			return -1;
		}
		dir = xstrdup(path);
		if ((slash = strrchr(dir, '/')) != NULL)
			*slash = '\0';
	}
	pthread_mutex_lock(&mu);
	old = before;
	before = cs;
	free(before_dir);
	before_dir = dir;
	pthread_mutex_unlock(&mu);
	sieve_stage_script_unref(old);
	return 0;
}

static void
cached_drop(void *v)
{
	struct cscript *cs = v;

	cs->cached = false;
	cs_put_locked(cs);
}

void
sieve_stage_shutdown(void)
{
	char *e = NULL;

	sieve_stage_configure(NULL, &e);
	pthread_mutex_lock(&mu);
	hashmap_free(&scripts, cached_drop);
	hashmap_free(&texts, cached_drop);
	hashmap_free(&users, user_drop);
	pthread_mutex_unlock(&mu);
	sieve_folder_shutdown();
}

bool
sieve_stage_wanted(const char *address)
{
	struct user_seen *u;
	bool want = true;

	pthread_mutex_lock(&mu);
	if (before == NULL && users != NULL &&
	    (u = hashmap_get(users, address)) != NULL && !u->has &&
	    clock_mono_ms() - u->at < SIEVE_STAGE_FRESH_MS)
		want = false;
	pthread_mutex_unlock(&mu);
	return want;
}

void
sieve_stage_seen(const char *address, bool has, struct cscript *cs)
{
	struct user_seen *u;

	pthread_mutex_lock(&mu);
	if (users == NULL || hashmap_count(users) >= SIEVE_STAGE_USERS_MAX)
		hashmap_free(&users, user_drop);	/* bounded: start over */
	if (users == NULL)
		users = hashmap_new(HASHMAP_ASCII_NOCASE);
	if ((u = hashmap_get(users, address)) == NULL) {
		u = xcalloc(1, sizeof(*u));
		hashmap_put(users, address, u);
	}
	u->at = clock_mono_ms();
	u->has = has;
	if (cs != NULL)
		cs->refs++;
	cs_put_locked(u->cs);
	u->cs = cs;
	pthread_mutex_unlock(&mu);
}

void
sieve_stage_forget(const char *address)
{
	struct user_seen *u;

	pthread_mutex_lock(&mu);
	if (users != NULL && (u = hashmap_remove(users, address)) != NULL)
		user_drop(u);
	pthread_mutex_unlock(&mu);
}

bool
sieve_stage_known(const char *address, struct cscript **cs_r)
{
	struct user_seen *u;
	bool known = false;

	*cs_r = NULL;
	pthread_mutex_lock(&mu);
	if (users != NULL && (u = hashmap_get(users, address)) != NULL &&
	    clock_mono_ms() - u->at < SIEVE_STAGE_FRESH_MS &&
	    (!u->has || u->cs != NULL)) {
		known = true;
		if ((*cs_r = u->cs) != NULL)
			u->cs->refs++;
	}
	pthread_mutex_unlock(&mu);
	return known;
}

/* A fresh compile of text: NULL with errno EINVAL and *err filled. */
static struct cscript *
cs_compile(const char *text, size_t len, struct sieve_error *err)
{
	struct cscript *cs = xcalloc(1, sizeof(*cs));

	if ((cs->sc = sieve_compile(text, len, NULL, err)) == NULL) {
		free(cs);
		errno = EINVAL;
		return NULL;
	}
	return cs;
}

/* Puts the fresh cs under key in *map (one reference for the cache,
 * one for the caller), replacing what was there; the map holds at most
 * SIEVE_STAGE_SCRIPTS_MAX. */
static void
cache_put(struct hashmap **map, const char *key, struct cscript *cs)
{
	struct cscript *old;

	cs->refs = 2;		/* the cache's and the caller's */
	cs->cached = true;
	pthread_mutex_lock(&mu);
	if (*map == NULL)
		*map = hashmap_new(0);
	if (hashmap_count(*map) >= SIEVE_STAGE_SCRIPTS_MAX &&
	    hashmap_get(*map, key) == NULL) {
		/* bounded: drop one (in use ones live on by their refs) */
		struct hashmap_iter it = { 0 };
		const char *k;
		if (hashmap_next(*map, &it, &k, NULL))
			cached_drop(hashmap_remove(*map, k));
	}
	old = hashmap_put(*map, key, cs);
	if (old != NULL)
		cached_drop(old);
	pthread_mutex_unlock(&mu);
}

/* The compiled script at path (one more reference), compiling it when
 * the cache has none for this inode, size and mtime. NULL: none
 * (errno ENOENT), or a compile error in *err (errno EINVAL). */
struct cscript *
sieve_stage_script(const char *path, struct sieve_error *err)
{
	struct cscript *cs;
	struct stat st;
	char *text;
	size_t len = 0;

	if (stat(path, &st) < 0)
		return NULL;
	pthread_mutex_lock(&mu);
	cs = scripts ? hashmap_get(scripts, path) : NULL;
	if (cs != NULL && cs->dev == st.st_dev && cs->ino == st.st_ino &&
	    cs->size == st.st_size &&
	    cs->mtime.tv_sec == st.st_mtim.tv_sec &&
	    cs->mtime.tv_nsec == st.st_mtim.tv_nsec) {
		cs->refs++;
		pthread_mutex_unlock(&mu);
		return cs;
	}
	pthread_mutex_unlock(&mu);
	if ((text = sieve_stage_read(path, &len, &st)) == NULL)
		return NULL;
	cs = cs_compile(text, len, err);
	free(text);
	if (cs == NULL)
		return NULL;
	cs->dev = st.st_dev;
	cs->ino = st.st_ino;
	cs->size = st.st_size;
	cs->mtime = st.st_mtim;
	cache_put(&scripts, path, cs);
	return cs;
}

struct cscript *
sieve_stage_script_text(const char *key, const char *text, size_t len,
    struct sieve_error *err)
{
	unsigned char sha[32];
	struct cscript *cs;

	if (EVP_Digest(text, len, sha, NULL, EVP_sha256(), NULL) != 1) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_lock(&mu);
	cs = texts ? hashmap_get(texts, key) : NULL;
	if (cs != NULL && memcmp(cs->sha, sha, sizeof(sha)) == 0) {
		cs->refs++;
		pthread_mutex_unlock(&mu);
		return cs;
	}
	pthread_mutex_unlock(&mu);
	if ((cs = cs_compile(text, len, err)) == NULL)
		return NULL;
	memcpy(cs->sha, sha, sizeof(sha));
	cache_put(&texts, key, cs);
	return cs;
}

/* ---- one transaction ------------------------------------------------ */

struct sieve_stage *
sieve_stage_new(const struct sieve_stage_in *in)
{
	struct sieve_stage *st = xcalloc(1, sizeof(*st));

	snprintf(st->logid, sizeof(st->logid), "%s", in->logid);
	snprintf(st->msgid, sizeof(st->msgid), "%s", in->msgid);
	st->data_dir = xstrdup(in->data_dir);
	st->hostname = xstrdup(in->hostname);
	st->env_from = xstrdup(in->env_from);
	st->auth = in->auth ? xstrdup(in->auth) : NULL;
	/* the body in memory is copied only if a job needs it */
	msg_source_init(&st->src, in->head, in->head_len, NULL, 0,
	    in->body_fd, in->body_off, in->body_len);
	if (in->body_mem != NULL && in->body_mem_len > 0) {
		st->body_lent = in->body_mem;
		st->body_lent_len = in->body_mem_len;
	}
	st->now = time(NULL);
	return st;
}

void
sieve_stage_add(struct sieve_stage *st, const char *env_to,
    const struct acct_resolution *res)
{
	for (int j = 0; j < res->n; j++) {
		const struct acct_target *t = &res->t[j];
		struct sieve_stage_user *u = NULL;

		if (t->kind != ACCT_TARGET_LOCAL)
			continue;
		for (size_t i = 0; i < st->nusers && u == NULL; i++)
			if (strcasecmp(st->users[i].address, t->address) == 0)
				u = &st->users[i];
		if (u == NULL) {
			st->users = xrealloc(st->users,
			    (st->nusers + 1) * sizeof(*st->users));
			u = &st->users[st->nusers++];
			memset(u, 0, sizeof(*u));
			u->address = xstrdup(t->address);
			u->domain = xstrdup(t->domain);
			u->localpart = xstrdup(t->localpart);
			u->env_to = xstrdup(env_to);
		}
		u->aliases = xrealloc(u->aliases,
		    (u->naliases + 1) * sizeof(*u->aliases));
		u->aliases[u->naliases++] = xstrdup(env_to);
	}
}

char *
sieve_stage_redirect_id(const struct sieve_stage *st, const char *to)
{
	if (st->message_id == NULL || to == NULL)
		return NULL;
	return xasprintf("<%s> %s", st->message_id, to);
}

struct sieve_stage_user *
sieve_stage_user(struct sieve_stage *st, const char *address)
{
	for (size_t i = 0; i < st->nusers; i++)
		if (strcasecmp(st->users[i].address, address) == 0)
			return st->users[i].ran ? &st->users[i] : NULL;
	return NULL;
}

static sieve_sealer_fn *sealer;

void
sieve_stage_set_sealer(sieve_sealer_fn *fn)
{
	sealer = fn;
}

/* The job's worker: u's redirects sealed (when a sealer is set and one
 * of its redirects goes out), with the header the copies carry. */
void
sieve_stage_seal(struct sieve_stage *st, struct sieve_stage_user *u)
{
	const struct sieve_result *r = &u->r;
	bool out = false;
	struct buf b;

	for (size_t i = 0; i < r->nactions; i++)
		out = out || (r->actions[i].type == SIEVE_REDIRECT &&
		    !u->drop[i]);
	if (sealer == NULL || !out)
		return;
	buf_init(&b, 0);
	if (sealer(st->logid, &st->src, r->head ? r->head : st->src.head,
	    r->head ? r->head_len : st->src.head_len, u->domain, st->hostname,
	    &b) == 0)
		u->arc_seal = buf_steal(&b, NULL);
	buf_free(&b);
}

static void
user_clear(struct sieve_stage_user *u)
{
	for (size_t i = 0; i < u->r.nactions && u->copies; i++) {
		free(u->copies[i].dir);
		free(u->copies[i].info);
	}
	free(u->copies);
	free(u->drop);
	free(u->sent);
	if (u->ran)
		sieve_result_free(&u->r);
	for (size_t i = 0; i < u->naliases; i++)
		free(u->aliases[i]);
	free(u->aliases);
	free(u->address);
	free(u->domain);
	free(u->localpart);
	free(u->env_to);
	free(u->script);
	free(u->error);
	free(u->arc_seal);
}

void
sieve_stage_free(struct sieve_stage **stp)
{
	struct sieve_stage *st = *stp;

	if (st == NULL)
		return;
	for (size_t i = 0; i < st->nusers; i++)
		user_clear(&st->users[i]);
	free(st->users);
	free(st->data_dir);
	free(st->hostname);
	free(st->env_from);
	free(st->auth);
	free(st->message_id);
	msg_source_clear(&st->src);
	free(st);
	*stp = NULL;
}

