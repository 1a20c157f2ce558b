/*
 * sieve_folder - what the Sieve job learnt from the disk about a user's
 * folders, kept for SIEVE_STAGE_FRESH_MS so the loop's fast path
 * (sieve_fast.c) can file and flag without the worker hop: the folder
 * mbox_deliver_folder gave for (root, mailbox name, :create), and the
 * info letters mbox_deliver_info gave for (folder, flag set). Only
 * answers a job got are remembered, so every name was checked by the
 * store and every keyword is already in the folder's map (the job added
 * it): the loop never needs to add one. A folder deleted within that
 * time makes the Maildir write fail: 451, and the client's retry goes
 * through the job again (the entry has expired or failed).
 *
 * Trust: keys come from scripts (untrusted) but only after the store
 * accepted them; SIEVE_FOLDER_MAX entries (then all are forgotten).
 * Any thread: one mutex.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "msg/sieve_stage.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/hashmap.h"
#include "util/xmalloc.h"

#define SIEVE_FOLDER_MAX	10000

struct known {
	uint64_t	 at;		/* clock_mono_ms */
	char		*val;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct hashmap *known;		/* key -> struct known */

static void
known_drop(void *v)
{
	struct known *k = v;

	free(k->val);
	free(k);
}

/* "F" root \1 create \1 name; NULL when a part holds the separator. */
static char *
folder_key(const char *root, const char *name, bool create)
{
	if (strchr(root, '\1') != NULL || (name && strchr(name, '\1')))
		return NULL;
	return xasprintf("F%s\1%d\1%s", root, create, name ? name : "");
}

/* "I" dir then \1 flag for each flag. */
static char *
info_key(const char *dir, const char *const *flags, size_t n)
{
	struct buf b;

	if (strchr(dir, '\1') != NULL)
		return NULL;
	buf_init(&b, 0);
	buf_printf(&b, "I%s", dir);
	for (size_t i = 0; i < n; i++) {
		if (strchr(flags[i], '\1') != NULL) {
			buf_free(&b);
			return NULL;
		}
		buf_printf(&b, "\1%s", flags[i]);
	}
	return buf_steal(&b, NULL);
}

static void
put(char *key, const char *val)
{
	struct known *k;

	if (key == NULL)
		return;
	pthread_mutex_lock(&mu);
	if (known == NULL || hashmap_count(known) >= SIEVE_FOLDER_MAX)
		hashmap_free(&known, known_drop);	/* bounded */
	if (known == NULL)
		known = hashmap_new(0);
	k = xcalloc(1, sizeof(*k));
	k->at = clock_mono_ms();
	k->val = xstrdup(val);
	if ((k = hashmap_put(known, key, k)) != NULL)
		known_drop(k);
	pthread_mutex_unlock(&mu);
	free(key);
}

/* The fresh value of key (malloc'd), or NULL. */
static char *
get(char *key)
{
	struct known *k;
	char *val = NULL;

	if (key == NULL)
		return NULL;
	pthread_mutex_lock(&mu);
	if (known != NULL && (k = hashmap_get(known, key)) != NULL &&
	    clock_mono_ms() - k->at < SIEVE_STAGE_FRESH_MS)
		val = xstrdup(k->val);
	pthread_mutex_unlock(&mu);
	free(key);
	return val;
}

void
sieve_folder_remember(const char *root, const char *name, bool create,
    const char *dir)
{
	put(folder_key(root, name, create), dir);
}

char *
sieve_folder_known(const char *root, const char *name, bool create)
{
	return get(folder_key(root, name, create));
}

void
sieve_info_remember(const char *dir, const char *const *flags, size_t n,
    const char *info)
{
	put(info_key(dir, flags, n), info);
}

char *
sieve_info_known(const char *dir, const char *const *flags, size_t n)
{
	return get(info_key(dir, flags, n));
}

void
sieve_folder_shutdown(void)
{
	pthread_mutex_lock(&mu);
	hashmap_free(&known, known_drop);
	pthread_mutex_unlock(&mu);
}
