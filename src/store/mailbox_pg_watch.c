/*
 * mailbox_pg_watch - change notification between sessions on PostgreSQL,
 * across nodes: every pg_ms_* change NOTIFYs 'tem_mailbox' "ID MODSEQ"
 * (or "ID 0": deleted, "ID R": renamed). One listener per process
 * (pg_listen.h) on that channel, started at the first watch, hands the
 * notifications to a loop thread of this file, which wakes each watching
 * view of folder ID (loop_post to the view's loop, coalesced while one
 * is pending) unless the view already knows that MODSEQ (its own
 * change, synced before the NOTIFY came). After a reconnect (on_resync:
 * notifications may have been lost) every watcher is woken.
 *
 * The watch list is a plain list under one lock: a NOTIFY walks the
 * watching views of this process (hundreds; a map by folder id is the
 * next step if that ever shows).
 *
 * NOTIFY user watches (mbox_user_watch_*) on PostgreSQL are not fed yet:
 * they exist and stay empty (IMAP NOTIFY then reports only the selected
 * folder, through its view).
 *
 * Trust: payloads are parsed as untrusted (any client of the database
 * may NOTIFY); a bad one is ignored.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pg/pg_listen.h"
#include "store/mailbox_int.h"
#include "store/mailbox_pg.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xmalloc.h"

#define CHANNEL	"tem_mailbox"

struct mbox_pg_watch {
	struct loop	*loop;
	void		(*cb)(void *);
	void		*arg;
	bool		 alive;		/* under lock */
	bool		 pending;
	int		 refs;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct mbox_pg_view *watched;	/* views with a watch, under lock */
static bool started;			/* under lock */
static struct loop *wloop;
static pthread_t wthread;
static struct pg_listen *listener;

static void
watch_fire(void *arg)
{
	struct mbox_pg_watch *w = arg;
	void (*cb)(void *);
	void *cb_arg;
	bool alive, last;

	pthread_mutex_lock(&lock);
	w->pending = false;
	alive = w->alive;
	cb = w->cb;
	cb_arg = w->arg;
	last = --w->refs == 0;
	pthread_mutex_unlock(&lock);
	if (last)
		free(w);
	if (alive)
		cb(cb_arg);
}

/* Under lock. */
static void
watch_post(struct mbox_pg_watch *w)
{
	if (w->alive && !w->pending) {
		w->pending = true;
		w->refs++;
		loop_post(w->loop, watch_fire, w);
	}
}

/* On wloop: "ID MODSEQ", "ID 0" or "ID R". */
static void
on_notify(void *arg, const char *channel, const char *payload)
{
	char *end;
	long long id;
	uint64_t modseq = 0;

	(void)arg;
	(void)channel;
	id = strtoll(payload, &end, 10);
	if (end == payload || *end != ' ' || id <= 0)
		return;
	if (end[1] != 'R') {
		char *e2;
		modseq = strtoull(end + 1, &e2, 10);
		if (e2 == end + 1 || *e2 != '\0')
			return;
	}
	pthread_mutex_lock(&lock);
	for (struct mbox_pg_view *v = watched; v; v = v->wnext)
		if (v->mailbox_id == id && (modseq == 0 ||
		    atomic_load(&v->modseq) < modseq))
			watch_post(v->watch);
	pthread_mutex_unlock(&lock);
}

/* Notifications may have been lost: every watcher looks. */
static void
on_resync(void *arg, const char *channel)
{
	(void)arg;
	(void)channel;
	pthread_mutex_lock(&lock);
	for (struct mbox_pg_view *v = watched; v; v = v->wnext)
		watch_post(v->watch);
	pthread_mutex_unlock(&lock);
}

static void *
wthread_main(void *arg)
{
	loop_run(arg);
	return NULL;
}

/* Under lock: the listener and its loop, once. */
static void
start(void)
{
	char *err = NULL;

	started = true;
	wloop = loop_new();
	if (pthread_create(&wthread, NULL, wthread_main, wloop) != 0)
		log_fatal("store: cannot start the watch thread");
	if ((listener = pg_listen_start(mbox_pg_dsn(), &err)) == NULL ||
	    pg_listen_add(listener, CHANNEL, wloop, on_notify, on_resync,
	    NULL, &err) < 0) {
		log_error("- store pg-listen-failed error=\"%s\"",
		    err ? err : "?");
		free(err);
	}
}

void
mbox_pg_watch_set(struct mbox_pg_view *v, struct loop *loop,
    void (*cb)(void *), void *arg)
{
	struct mbox_pg_watch *w = NULL, *old;

	if (loop) {
		w = xcalloc(1, sizeof(*w));
		w->loop = loop;
		w->cb = cb;
		w->arg = arg;
		w->alive = true;
		w->refs = 1;
	}
	pthread_mutex_lock(&lock);
	old = v->watch;
	v->watch = w;
	if (w && !old) {
		v->wprev = NULL;
		v->wnext = watched;
		if (watched)
			watched->wprev = v;
		watched = v;
	} else if (!w && old) {
		if (v->wprev)
			v->wprev->wnext = v->wnext;
		else
			watched = v->wnext;
		if (v->wnext)
			v->wnext->wprev = v->wprev;
		v->wnext = v->wprev = NULL;
	}
	if (old) {
		old->alive = false;
		if (--old->refs == 0)
			free(old);
	}
	if (w && !started)
		start();
	pthread_mutex_unlock(&lock);
}

static void
stop_loop(void *arg)
{
	loop_break(arg);
}

void
mbox_pg_shutdown(void)
{
	pthread_mutex_lock(&lock);
	if (!started) {
		pthread_mutex_unlock(&lock);
		return;
	}
	started = false;
	pthread_mutex_unlock(&lock);
	pg_listen_free(&listener);
	loop_post(wloop, stop_loop, wloop);
	pthread_join(wthread, NULL);
	loop_free(&wloop);
}

/* ---- NOTIFY user watches: present, not fed yet ---------------------- */

struct mbox_pg_user_watch {
	struct mbox_user_watch	 base;		/* first: MBOX_PG */
};

struct mbox_user_watch *
mbox_pg_user_watch_new(struct mbox_user *u, struct loop *loop,
    void (*cb)(void *arg), void *arg)
{
	struct mbox_pg_user_watch *w = xcalloc(1, sizeof(*w));

	(void)u;
	(void)loop;
	(void)cb;
	(void)arg;
	w->base.be = MBOX_PG;
	return &w->base;
}

void
mbox_pg_user_watch_free(struct mbox_user_watch **w)
{
	free(*w);
	*w = NULL;
}

struct mbox_event *
mbox_pg_user_watch_take(struct mbox_user_watch *w, size_t *n_r,
    bool *overflow_r)
{
	(void)w;
	*n_r = 0;
	*overflow_r = false;
	return NULL;
}

bool
mbox_pg_user_watch_pending(struct mbox_user_watch *w)
{
	(void)w;
	return false;
}

void
mbox_pg_user_metadata_changed(struct mbox_user *u, const char *mailbox,
    const char *entry)
{
	(void)u;
	(void)mailbox;
	(void)entry;
}

void
mbox_pg_user_watch_acting(const struct mbox_user_watch *w)
{
	(void)w;
}
