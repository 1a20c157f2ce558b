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
 * The view list is a plain list under one lock: a NOTIFY walks the
 * open views of this process (hundreds; a map by folder id is the next
 * step if that ever shows). The list also keeps view names current: a
 * RENAME in this process renames its views at once, one elsewhere ("ID
 * R") marks them so their next sync reads the new name.
 *
 * The same notifications feed IMAP NOTIFY's user watches
 * (mailbox_pg_notify.c) while there are any, with those of a second
 * channel on the same listener, 'tem_user' (folders created, deleted,
 * renamed, subscriptions, METADATA: pg_ms_notify_user). Its first
 * resync says "listening" (mbox_pg_watch_wait_listening); a later one
 * follows a reconnect: what IMAP NOTIFY missed is lost, its watches
 * say overflow.
 *
 * Catching up (mbox_pg_watch_barrier, for IMAP NOOP under NOTIFY): a
 * session NOTIFYs "B TOKEN N" on 'tem_mailbox' and waits until the
 * listener's loop has handled it. PostgreSQL delivers notifications in
 * commit order and the loop runs its posts in order, so every change
 * committed before has been handed to the watches by then.
 *
 * Trust: payloads are parsed as untrusted (any client of the database
 * may NOTIFY); a bad one is ignored.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/pg_conn.h"
#include "pg/pg_listen.h"
#include "store/mailbox_int.h"
#include "store/mailbox_pg.h"
#include "util/clock.h"
#include "util/hashmap.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xmalloc.h"

#define CHANNEL		"tem_mailbox"
#define CHANNEL_USER	"tem_user"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct mbox_pg_view *views;	/* every open view, under lock */
static bool started;			/* under lock */
static struct loop *wloop;
static pthread_t wthread;
static struct pg_listen *listener;
/* resyncs heard per channel (tem_mailbox, tem_user), under lock; the
 * condition is signalled when both listen */
static unsigned resyncs[2];
static pthread_cond_t listening = PTHREAD_COND_INITIALIZER;
/* barriers: sent by this process, the highest heard back (under lock) */
static _Atomic uint64_t barrier_sent;
static uint64_t barrier_heard;
static pthread_cond_t barrier_cv = PTHREAD_COND_INITIALIZER;
static pthread_once_t token_once = PTHREAD_ONCE_INIT;
static char token[17];		/* this process's, in barrier payloads */

/* Under lock: both channels have LISTENed once. */
static bool
is_listening(void)
{
	return resyncs[0] > 0 && resyncs[1] > 0;
}

/* On wloop: a channel's LISTEN took effect. */
static void
resynced(int i)
{
	pthread_mutex_lock(&lock);
	resyncs[i]++;
	if (is_listening())
		pthread_cond_broadcast(&listening);
	pthread_mutex_unlock(&lock);
}

static void
token_init(void)
{
	snprintf(token, sizeof(token), "%016" PRIx64, hashmap_random_seed());
}

/* On wloop: "TOKEN N", a barrier; ours wakes the waiters up to N. */
static void
barrier_heard_at(const char *p)
{
	size_t tl = strlen(token);
	char *end;
	uint64_t n;

	if (tl == 0 || strncmp(p, token, tl) != 0 || p[tl] != ' ')
		return;		/* another process's, or not one */
	n = strtoull(p + tl + 1, &end, 10);
	if (end == p + tl + 1 || *end != '\0')
		return;
	pthread_mutex_lock(&lock);
	if (n > barrier_heard) {
		barrier_heard = n;
		pthread_cond_broadcast(&barrier_cv);
	}
	pthread_mutex_unlock(&lock);
}

/* On wloop: "ID MODSEQ [ORIGIN]", "ID 0 [ORIGIN]", "ID R" or "B ...". */
static void
on_notify(void *arg, const char *channel, const char *payload)
{
	char *end;
	const char *origin = NULL;
	long long id;
	uint64_t modseq = 0;

	(void)arg;
	(void)channel;
	if (payload[0] == 'B' && payload[1] == ' ') {
		barrier_heard_at(payload + 2);
		return;
	}
	id = strtoll(payload, &end, 10);
	if (end == payload || *end != ' ' || id <= 0)
		return;
	if (end[1] != 'R') {
		char *e2;
		modseq = strtoull(end + 1, &e2, 10);
		if (e2 == end + 1 || (*e2 != '\0' && *e2 != ' '))
			return;
		if (*e2 == ' ')		/* who made it (pg_ms_origin_set) */
			origin = e2 + 1;
	}
	mbox_pg_notify_folder(id, end[1] == 'R' ? 'R' : modseq ? 'M' : '0',
	    origin);
	pthread_mutex_lock(&lock);
	for (struct mbox_pg_view *v = views; v; v = v->wnext) {
		if (v->mailbox_id != id)
			continue;
		if (end[1] == 'R')	/* its sync reads the new name */
			atomic_store(&v->renamed, true);
		if (v->watch && (modseq == 0 ||
		    atomic_load(&v->modseq) < modseq))
			mbox_watch_post(v->watch);
	}
	pthread_mutex_unlock(&lock);
}

/* Notifications may have been lost: every watcher looks. */
static void
on_resync(void *arg, const char *channel)
{
	(void)arg;
	(void)channel;
	resynced(0);
	pthread_mutex_lock(&lock);
	for (struct mbox_pg_view *v = views; v; v = v->wnext) {
		atomic_store(&v->renamed, true);	/* maybe */
		if (v->watch)
			mbox_watch_post(v->watch);
	}
	pthread_mutex_unlock(&lock);
}

/* On wloop: a 'tem_user' payload, for IMAP NOTIFY. */
static void
on_user_notify(void *arg, const char *channel, const char *payload)
{
	(void)arg;
	(void)channel;
	mbox_pg_notify_user(payload);
}

/* The first: listening now. Later: a reconnect lost what was sent
 * meanwhile, and the user events cannot be read again. */
static void
on_user_resync(void *arg, const char *channel)
{
	bool again;

	(void)arg;
	(void)channel;
	pthread_mutex_lock(&lock);
	again = resyncs[1] > 0;
	pthread_mutex_unlock(&lock);
	resynced(1);
	if (again)
		mbox_pg_notify_lost();
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
	    NULL, &err) < 0 || pg_listen_add(listener, CHANNEL_USER, wloop,
	    on_user_notify, on_user_resync, NULL, &err) < 0) {
		log_error("- store pg-listen-failed error=\"%s\"",
		    err ? err : "?");
		free(err);
	}
}

void
mbox_pg_watch_start(void)
{
	pthread_mutex_lock(&lock);
	if (!started)
		start();
	pthread_mutex_unlock(&lock);
}

void
mbox_pg_watch_wait_listening(unsigned ms)
{
	struct timespec until = clock_real_after(ms);

	pthread_mutex_lock(&lock);
	while (started && !is_listening())
		if (pthread_cond_timedwait(&listening, &lock, &until) != 0)
			break;
	pthread_mutex_unlock(&lock);
}

void
mbox_pg_views_add(struct mbox_pg_view *v)
{
	pthread_mutex_lock(&lock);
	v->wprev = NULL;
	v->wnext = views;
	if (views)
		views->wprev = v;
	views = v;
	pthread_mutex_unlock(&lock);
}

void
mbox_pg_views_remove(struct mbox_pg_view *v)
{
	struct mbox_watch *old;

	pthread_mutex_lock(&lock);
	if (v->wprev)
		v->wprev->wnext = v->wnext;
	else
		views = v->wnext;
	if (v->wnext)
		v->wnext->wprev = v->wprev;
	v->wnext = v->wprev = NULL;
	old = v->watch;
	v->watch = NULL;
	pthread_mutex_unlock(&lock);
	if (old)
		mbox_watch_drop(old);
}

void
mbox_pg_watch_set(struct mbox_pg_view *v, struct loop *loop,
    void (*cb)(void *), void *arg)
{
	struct mbox_watch *w = loop ? mbox_watch_new(loop, cb, arg) : NULL;
	struct mbox_watch *old;

	pthread_mutex_lock(&lock);
	old = v->watch;
	v->watch = w;
	if (w && !started)
		start();
	pthread_mutex_unlock(&lock);
	if (old)
		mbox_watch_drop(old);
}

char *
mbox_pg_view_name(struct mbox_view *vv)
{
	struct mbox_pg_view *v = (struct mbox_pg_view *)vv;
	char *name;

	pthread_mutex_lock(&lock);
	name = xstrdup(v->name);
	pthread_mutex_unlock(&lock);
	return name;
}

void
mbox_pg_view_set_name(struct mbox_pg_view *v, char *name)
{
	char *old;

	pthread_mutex_lock(&lock);
	old = v->name;
	v->name = name;
	pthread_mutex_unlock(&lock);
	free(old);
}

void
mbox_pg_views_renamed(int64_t user_id, const char *from, const char *to)
{
	size_t fl = strlen(from);

	pthread_mutex_lock(&lock);
	for (struct mbox_pg_view *v = views; v; v = v->wnext) {
		if (v->u->id != user_id || strncmp(v->name, from, fl) != 0 ||
		    (v->name[fl] != '\0' && v->name[fl] != '/'))
			continue;
		char *n = xasprintf("%s%s", to, v->name + fl);
		free(v->name);
		v->name = n;
	}
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
	resyncs[0] = resyncs[1] = 0;
	pthread_mutex_unlock(&lock);
	pg_listen_free(&listener);
	loop_post(wloop, stop_loop, wloop);
	pthread_join(wthread, NULL);
	loop_free(&wloop);
	mbox_pg_shutdown_notify();
}

void
mbox_pg_watch_barrier(unsigned ms)
{
	char payload[64], *err = NULL;
	struct timespec until;
	uint64_t n;
	bool on;

	pthread_mutex_lock(&lock);
	on = started && is_listening();
	pthread_mutex_unlock(&lock);
	if (!on)
		return;		/* nobody listens: nothing to catch up on */
	pthread_once(&token_once, token_init);
	n = atomic_fetch_add(&barrier_sent, 1) + 1;
	snprintf(payload, sizeof(payload), "B %s %" PRIu64, token, n);
	if (pg_query(NULL, &err, "SELECT pg_notify('" CHANNEL "', $1)", 1,
	    payload) != PG_OK) {
		free(err);	/* the database away: what we heard is it */
		return;
	}
	until = clock_real_after(ms);
	pthread_mutex_lock(&lock);
	while (barrier_heard < n)
		if (pthread_cond_timedwait(&barrier_cv, &lock, &until) != 0)
			break;
	pthread_mutex_unlock(&lock);
}
