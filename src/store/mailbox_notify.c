/*
 * mailbox_notify - user watches for IMAP NOTIFY (see mailbox.h): the
 * store's changes to any folder of a user, queued per watch and announced
 * on the watcher's loop. The same watches serve the PostgreSQL store
 * (mailbox_pg_notify.c: mbox_watchers_*, on its user's list).
 *
 * Trust: internal; events carry folder names the store already checked.
 * Bounded: MBOX_EVENTS_MAX queued events a watch (then overflow), and a
 * folder's MBOX_EV_MESSAGES is queued once until taken, so a busy folder
 * costs one entry however many messages arrive.
 *
 * Locking: one process-wide ev_lock, a leaf: it is taken with any store
 * lock held (the events come from inside commits, renames, deliveries)
 * and nothing is taken under it but the loop's post queue. It is global,
 * not per user, so that a post still queued when its watch and user are
 * gone touches only the watch. Events are rare next to the work that
 * makes them, so one lock does not contend. Where the events come from:
 * mbox_folder_wake (every commit or sync that changed a folder),
 * mbox_notify_delivery (INBOX when nobody has it watched), and the folder
 * and subscription operations of mailbox_list.c.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "store/mailbox_int.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xmalloc.h"

struct mbox_md_user_watch {
	struct mbox_user_watch	 base;		/* first: its backend */
	struct mbox_md_user_watch	**head;	/* the list it is on (its
						   user's watchers) */
	struct mbox_md_user_watch	*next;
	struct loop		*loop;
	void			(*cb)(void *);
	void			*arg;
	uint64_t		 id;		/* mbox_md_user_watch_id */
	/* under ev_lock */
	struct mbox_event	*ev;
	size_t			 n, cap;
	bool			 overflow;
	bool			 alive;
	bool			 pending;	/* a loop_post is queued */
	int			 refs;		/* the owner's + a post's */
};

static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t last_id;
/* The watch whose owner this thread works for (its events are its own). */
static _Thread_local const struct mbox_md_user_watch *acting;

void
mbox_md_user_watch_acting(const struct mbox_md_user_watch *w)
{
	acting = w;
}

void
mbox_events_init(struct mbox_md_user *u)
{
	u->watchers = NULL;
}

void
mbox_events_fini(struct mbox_md_user *u)
{
	TEM_ASSERT(u->watchers == NULL);
}

void
mbox_events_free(struct mbox_event *ev, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(ev[i].name);
		free(ev[i].oldname);
	}
	free(ev);
}

static void
watch_fire(void *arg)
{
	struct mbox_md_user_watch *w = arg;
	void (*cb)(void *);
	void *cb_arg;
	bool alive, last;

	pthread_mutex_lock(&ev_lock);
	w->pending = false;
	alive = w->alive;
	cb = w->cb;
	cb_arg = w->arg;
	last = --w->refs == 0;
	pthread_mutex_unlock(&ev_lock);
	if (last) {
		mbox_events_free(w->ev, w->n);
		free(w);
	}
	if (alive)
		cb(cb_arg);
}

/* Under ev_lock: w's owner hears of it (one post while pending). */
static void
watch_post(struct mbox_md_user_watch *w)
{
	if (!w->pending) {
		w->pending = true;
		w->refs++;
		loop_post(w->loop, watch_fire, w);
	}
}

/* Under ev_lock: queues one event on w. */
static void
watch_queue(struct mbox_md_user_watch *w, enum mbox_event_kind kind,
    const char *name, const char *oldname)
{
	struct mbox_event *e;
	size_t i;

	if (kind == MBOX_EV_MESSAGES)
		for (i = 0; i < w->n; i++)
			if (w->ev[i].kind == kind &&
			    strcmp(w->ev[i].name, name) == 0)
				return;		/* already said */
	if (w->n >= MBOX_EVENTS_MAX) {
		w->overflow = true;
		return;
	}
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 8;
		w->ev = xrealloc(w->ev, w->cap * sizeof(*w->ev));
	}
	e = &w->ev[w->n++];
	e->kind = kind;
	e->name = xstrdup(name);
	e->oldname = oldname ? xstrdup(oldname) : NULL;
	watch_post(w);
}

void
mbox_user_event(struct mbox_md_user *u, enum mbox_event_kind kind,
    const char *name, const char *oldname)
{
	mbox_watchers_event(&u->watchers, kind, name, oldname);
}

void
mbox_watchers_event(struct mbox_md_user_watch **head,
    enum mbox_event_kind kind, const char *name, const char *oldname)
{
	mbox_watchers_event_skip(head, 0, kind, name, oldname);
}

void
mbox_watchers_event_skip(struct mbox_md_user_watch **head, uint64_t skip,
    enum mbox_event_kind kind, const char *name, const char *oldname)
{
	struct mbox_md_user_watch *w;

	pthread_mutex_lock(&ev_lock);
	for (w = *head; w != NULL; w = w->next)
		if (w != acting && w->id != skip)
			watch_queue(w, kind, name, oldname);
	pthread_mutex_unlock(&ev_lock);
}

void
mbox_watchers_overflow(struct mbox_md_user_watch **head)
{
	struct mbox_md_user_watch *w;

	pthread_mutex_lock(&ev_lock);
	for (w = *head; w != NULL; w = w->next) {
		w->overflow = true;
		watch_post(w);
	}
	pthread_mutex_unlock(&ev_lock);
}

uint64_t
mbox_md_user_watch_id(const struct mbox_md_user_watch *w)
{
	return w->id;
}

struct mbox_md_user_watch *
mbox_md_user_watch_new(struct mbox_md_user *u, struct loop *loop,
    void (*cb)(void *), void *arg)
{
	return mbox_watchers_add(&u->watchers, MBOX_MAILDIR, loop, cb, arg);
}

struct mbox_md_user_watch *
mbox_watchers_add(struct mbox_md_user_watch **head, enum mbox_backend be,
    struct loop *loop, void (*cb)(void *), void *arg)
{
	struct mbox_md_user_watch *w = xcalloc(1, sizeof(*w));

	w->base.be = be;
	w->head = head;
	w->loop = loop;
	w->cb = cb;
	w->arg = arg;
	w->alive = true;
	w->refs = 1;
	w->id = atomic_fetch_add(&last_id, 1) + 1;
	pthread_mutex_lock(&ev_lock);
	w->next = *head;
	*head = w;
	pthread_mutex_unlock(&ev_lock);
	return w;
}

void
mbox_md_user_watch_free(struct mbox_md_user_watch **wp)
{
	struct mbox_md_user_watch *w = *wp, **p;
	bool last;

	if (w == NULL)
		return;
	*wp = NULL;
	pthread_mutex_lock(&ev_lock);
	for (p = w->head; *p != NULL; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	w->alive = false;
	last = --w->refs == 0;
	pthread_mutex_unlock(&ev_lock);
	if (last) {
		mbox_events_free(w->ev, w->n);
		free(w);
	}
}

struct mbox_event *
mbox_md_user_watch_take(struct mbox_md_user_watch *w, size_t *n_r,
    bool *overflow_r)
{
	struct mbox_event *ev;

	pthread_mutex_lock(&ev_lock);
	ev = w->ev;
	*n_r = w->n;
	*overflow_r = w->overflow;
	w->ev = NULL;
	w->n = w->cap = 0;
	w->overflow = false;
	pthread_mutex_unlock(&ev_lock);
	return ev;
}

bool
mbox_md_user_watch_pending(struct mbox_md_user_watch *w)
{
	bool r;

	pthread_mutex_lock(&ev_lock);
	r = w->n > 0 || w->overflow;
	pthread_mutex_unlock(&ev_lock);
	return r;
}

void
mbox_md_user_metadata_changed(struct mbox_md_user *u, const char *mailbox,
    const char *entry)
{
	mbox_user_event(u, MBOX_EV_METADATA, mailbox, entry);
}
