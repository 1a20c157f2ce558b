/*
 * mailbox_pg_notify - IMAP NOTIFY's user watches (mbox_user_watch_*) on
 * PostgreSQL. The watches and their event queues are mailbox_notify.c's
 * (mbox_watchers_*), on a list in the PostgreSQL user struct; what feeds
 * them differs:
 *
 *  - messages added, expunged or with new flags in any folder of the
 *    user, on any node: the NOTIFY 'tem_mailbox' "ID MODSEQ [ORIGIN]"
 *    every pg_ms_* change sends (mailbox_pg_watch.c hands it here while
 *    a user watch exists); the folder's owner and name are looked up
 *    once by id (pg_ms_folder_name) and kept in a small cache (a rename
 *    or delete drops the entry);
 *  - CREATE, DELETE, RENAME, SUBSCRIBE/UNSUBSCRIBE, METADATA, on any
 *    node (this one too): the NOTIFY 'tem_user' the change sends in its
 *    transaction (pg_ms_notify_user's payload, names included), handed
 *    here by the same listener. Nothing is queued by the operation
 *    itself, so a change is told once, in commit order, whichever node
 *    made it.
 *
 * Own changes (RFC 5465 5: a client is not told of its own): while a
 * session acts (mbox_user_watch_acting), the thread's pg_ms origin is
 * "PROC.WATCH": this process's random token and the watch's id; an event
 * whose origin is ours skips that watch, and only that one.
 *
 * Lost events: after the listener reconnects (the second and later
 * resyncs of 'tem_user'), every watch of the process says overflow
 * (mbox_pg_notify_lost), so IMAP does what RFC 5465 5.8 asks rather
 * than pretend nothing happened. An 'O' payload does the same for one
 * user. A new watch waits (at most 2 s) until the listener listens, so
 * that NOTIFY's OK means changes from then on are heard.
 *
 * Trust: payloads are parsed as untrusted (pg_ms_user_event_parse; any
 * client of the database may NOTIFY); names reach the client only
 * through IMAP's encoders. Bounded: the cache holds at most CACHE_MAX
 * folders (emptied beyond).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
static pthread_once_t proc_once = PTHREAD_ONCE_INIT;
static char proc[17];		/* this process's origin token */

static void
proc_init(void)
{
	snprintf(proc, sizeof(proc), "%016" PRIx64, hashmap_random_seed());
}

/* The id of this process's watch that made a change of origin (0: none,
 * or another process's). */
static uint64_t
skip_of(const char *origin)
{
	size_t n;
	char *end;
	uint64_t id;

	pthread_once(&proc_once, proc_init);
	n = strlen(proc);
	if (origin == NULL || strncmp(origin, proc, n) != 0 ||
	    origin[n] != '.')
		return 0;
	id = strtoull(origin + n + 1, &end, 10);
	return *end == '\0' ? id : 0;
}

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
	uint64_t		 skip;
	bool			 lost;
};

static void
user_event(struct mbox_pg_user *u, void *arg)
{
	const struct ev *e = arg;

	if (e->lost)
		mbox_watchers_overflow(&u->watchers);
	else
		mbox_watchers_event_skip(&u->watchers, e->skip, e->kind,
		    e->name, e->oldname);
}

void
mbox_pg_notify_folder(int64_t id, char kind, const char *origin)
{
	struct folder_of *f;
	struct ev e = { MBOX_EV_MESSAGES, NULL, NULL, skip_of(origin),
	    false };
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

/* The event a 'tem_user' payload says (false: none worth telling). */
static bool
user_ev(const struct pg_ms_user_event *pe, struct ev *e)
{
	memset(e, 0, sizeof(*e));
	e->skip = skip_of(pe->origin);
	e->name = pe->a;
	switch (pe->kind) {
	case 'C': e->kind = MBOX_EV_CREATE; break;
	case 'D': e->kind = MBOX_EV_DELETE; break;
	case 'S': e->kind = MBOX_EV_SUBSCRIBE; break;
	case 'U': e->kind = MBOX_EV_UNSUBSCRIBE; break;
	case 'R':
		e->kind = MBOX_EV_RENAME;
		e->name = pe->b;
		e->oldname = pe->a;
		return pe->a[0] != '\0' && pe->b[0] != '\0';
	case 'M':	/* folder "" is the server; the entry is named */
		e->kind = MBOX_EV_METADATA;
		e->oldname = pe->b;
		return pe->b[0] != '\0';
	default:
		e->lost = true;
		return true;
	}
	return pe->a[0] != '\0';
}

void
mbox_pg_notify_user(const char *payload)
{
	struct pg_ms_user_event pe;
	struct ev e;

	if (atomic_load(&n_watches) == 0 ||
	    pg_ms_user_event_parse(payload, &pe) < 0)
		return;
	if (user_ev(&pe, &e))
		mbox_pg_user_each_id(pe.user_id, user_event, &e);
	pg_ms_user_event_free(&pe);
}

static void
lost_one(struct mbox_pg_user *u, void *arg)
{
	(void)arg;
	mbox_watchers_overflow(&u->watchers);
}

void
mbox_pg_notify_lost(void)
{
	if (atomic_load(&n_watches) > 0)
		mbox_pg_user_each_id(0, lost_one, NULL);
}

struct mbox_user_watch *
mbox_pg_user_watch_new(struct mbox_user *u, struct loop *loop,
    void (*cb)(void *arg), void *arg)
{
	atomic_fetch_add(&n_watches, 1);
	mbox_pg_watch_start();
	mbox_pg_watch_wait_listening(2000);
	return (struct mbox_user_watch *)mbox_watchers_add(&PU(u)->watchers,
	    MBOX_PG, loop, cb, arg);
}

void
mbox_pg_user_watch_acting(const struct mbox_user_watch *w)
{
	char o[PG_MS_ORIGIN_MAX + 1];

	if (w == NULL) {
		pg_ms_origin_set(NULL);
		return;
	}
	pthread_once(&proc_once, proc_init);
	snprintf(o, sizeof(o), "%s.%" PRIu64, proc,
	    mbox_md_user_watch_id((const struct mbox_md_user_watch *)w));
	pg_ms_origin_set(o);
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
	/* heard from 'tem_user' (metadata_pg.c's NOTIFY), on every node */
	(void)u;
	(void)mailbox;
	(void)entry;
}

void
mbox_pg_shutdown_notify(void)
{
	hashmap_free(&cache, folder_of_free);
}
