/*
 * mailbox_pg_notify - IMAP NOTIFY's user watches (mbox_user_watch_*) on
 * PostgreSQL. The watches and their event queues are mailbox_notify.c's
 * (mbox_watchers_*), on a list in the PostgreSQL user struct; what feeds
 * them differs:
 *
 *  - messages added, expunged or with new flags in any folder of the
 *    user, on any node: the NOTIFY 'tem_mailbox' "ID MODSEQ" every
 *    pg_ms_* change sends (mailbox_pg_watch.c hands it here while a
 *    user watch exists); the folder's owner and name are looked up once
 *    by id (pg_ms_folder_name) and kept in a small cache (a rename or
 *    delete drops the entry). These include the watching session's own
 *    changes (a NOTIFY does not say who made it): a client may get a
 *    STATUS for a folder it changed itself;
 *  - CREATE, DELETE, RENAME, SUBSCRIBE/UNSUBSCRIBE, METADATA: queued
 *    by this process's own operations (mailbox_pg.c), not the acting
 *    session's (mbox_user_watch_acting). Those made on another node are
 *    not heard (they send no NOTIFY, or only by id).
 *
 * Trust: names come from the database (checked when they were made).
 * Bounded: the cache holds at most CACHE_MAX folders (emptied beyond).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "pg/pg_conn.h"
#include "pg/pg_mailstore.h"
#include "store/mailbox_int.h"
#include "store/mailbox_pg.h"
#include "util/hashmap.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define CACHE_MAX	10000

#define PU(u)	((struct mbox_pg_user *)(u))
#define MW(w)	((struct mbox_md_user_watch *)(w))

struct folder_of {
	int64_t	 user_id;
	char	*name;
};

static atomic_int n_watches;
static struct hashmap *cache;	/* "ID" -> folder_of, on the listener's loop */

static void
folder_of_free(void *p)
{
	struct folder_of *f = p;

	free(f->name);
	free(f);
}

struct ev {
	enum mbox_event_kind	 kind;
	const char		*name, *oldname;
};

static void
user_event(struct mbox_pg_user *u, void *arg)
{
	const struct ev *e = arg;

	mbox_watchers_event(&u->watchers, e->kind, e->name, e->oldname);
}

void
mbox_pg_notify_folder(int64_t id, char kind)
{
	struct folder_of *f;
	struct ev e = { MBOX_EV_MESSAGES, NULL, NULL };
	char key[24], *err = NULL;

	if (atomic_load(&n_watches) == 0)
		return;
	snprintf(key, sizeof(key), "%" PRId64, id);
	if (cache == NULL)
		cache = hashmap_new(0);
	if (kind != 'M') {	/* renamed or deleted: look it up again */
		if ((f = hashmap_remove(cache, key)) != NULL)
			folder_of_free(f);
		return;
	}
	if ((f = hashmap_get(cache, key)) == NULL) {
		f = xcalloc(1, sizeof(*f));
		if (pg_ms_folder_name(id, &f->user_id, &f->name, &err) !=
		    PG_OK) {
			free(err);	/* gone meanwhile, or database away */
			free(f);
			return;
		}
		if (hashmap_count(cache) >= CACHE_MAX)
			hashmap_free(&cache, folder_of_free);
		if (cache == NULL)
			cache = hashmap_new(0);
		hashmap_put(cache, key, f);
	}
	e.name = f->name;
	mbox_pg_user_each_id(f->user_id, user_event, &e);
}

void
mbox_pg_user_event(struct mbox_pg_user *u, enum mbox_event_kind kind,
    const char *name, const char *oldname)
{
	mbox_watchers_event(&u->watchers, kind, name, oldname);
}

struct mbox_user_watch *
mbox_pg_user_watch_new(struct mbox_user *u, struct loop *loop,
    void (*cb)(void *arg), void *arg)
{
	atomic_fetch_add(&n_watches, 1);
	mbox_pg_watch_start();
	return (struct mbox_user_watch *)mbox_watchers_add(&PU(u)->watchers,
	    MBOX_PG, loop, cb, arg);
}

void
mbox_pg_user_watch_free(struct mbox_user_watch **w)
{
	struct mbox_md_user_watch *mw = MW(*w);

	*w = NULL;
	if (mw == NULL)
		return;
	atomic_fetch_sub(&n_watches, 1);
	mbox_md_user_watch_free(&mw);
}

struct mbox_event *
mbox_pg_user_watch_take(struct mbox_user_watch *w, size_t *n_r,
    bool *overflow_r)
{
	return mbox_md_user_watch_take(MW(w), n_r, overflow_r);
}

bool
mbox_pg_user_watch_pending(struct mbox_user_watch *w)
{
	return mbox_md_user_watch_pending(MW(w));
}

void
mbox_pg_user_metadata_changed(struct mbox_user *u, const char *mailbox,
    const char *entry)
{
	mbox_watchers_event(&PU(u)->watchers, MBOX_EV_METADATA, mailbox,
	    entry);
}

void
mbox_pg_shutdown_notify(void)
{
	hashmap_free(&cache, folder_of_free);
}
