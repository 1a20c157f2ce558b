/*
 * loop - libevent-backed event loops (see loop.h).
 *
 * Cross-thread posts go through a mutex-protected list and one write to
 * the loop's own eventfd (only when the list was empty): a worker
 * finishing a job wakes the loop without a pipe per job. Not
 * event_active(): that holds libevent's base lock while it writes
 * libevent's notification fd, so the woken loop thread found the lock
 * still taken and slept once more on it (a futex wait and wake and two
 * more context switches per IMAP command, measured with strace -f).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/eventfd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include "util/log.h"
#include "util/loop.h"
#include "util/xmalloc.h"

struct loop_post_item {
	void			(*fn)(void *);
	void			*arg;
	struct loop_post_item	*next;
};

struct loop {
	struct event_base	*base;
	struct event		*wake;
	int			 wake_fd;	/* eventfd: a post is waiting */
	pthread_mutex_t		 lock;
	struct loop_post_item	*head, *tail;
};

struct loop_timer {
	struct event	*ev;
	void		(*fn)(void *);
	void		*arg;
};

struct loop_listener {
	struct evconnlistener	*el;
	loop_accept_fn		*fn;
	void			*arg;
	bool			 enabled;	/* as the owner wants it */
	struct loop_timer	*pause;		/* out of descriptors */
};

/* Out of descriptors: accepting stops this long (nginx waits 500 ms too)
 * instead of failing again every loop turn, and the log says it at most
 * once per LOOP_ACCEPT_LOG_SEC, with the count of pauses meanwhile. */
#define LOOP_ACCEPT_PAUSE_MS	500
#define LOOP_ACCEPT_LOG_SEC	60
static pthread_mutex_t accept_log_lock = PTHREAD_MUTEX_INITIALIZER;
static time_t accept_log_last;
static unsigned long accept_pauses;

struct loop_signal {
	struct event	*ev;
	void		(*fn)(int, void *);
	void		*arg;
};

void
loop_global_init(void)
{
	if (evthread_use_pthreads() < 0)
		log_fatal("libevent: cannot enable threads");
}

static void
loop_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loop *l = arg;
	struct loop_post_item *it, *next;
	uint64_t n;

	(void)what;
	/* Read before taking the list: a post after the take finds the list
	 * empty and writes again, so none is left without a wake-up. */
	if (fd >= 0 && read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("- loop wake-read-failed error=\"%s\"",
		    strerror(errno));
	pthread_mutex_lock(&l->lock);
	it = l->head;
	l->head = l->tail = NULL;
	pthread_mutex_unlock(&l->lock);
	for (; it; it = next) {
		next = it->next;
		it->fn(it->arg);
		free(it);
	}
}

struct loop *
loop_new(void)
{
	struct loop *l = xmalloc(sizeof(*l));
	struct event_config *cfg = event_config_new();

	/* Each loop is used by one thread; locks are only for posts. */
	l->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (l->base == NULL)
		log_fatal("libevent: cannot create an event base");
	pthread_mutex_init(&l->lock, NULL);
	l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->wake_fd < 0)
		log_fatal("cannot create an eventfd: %s", strerror(errno));
	/* A persistent read event stays pending forever, keeping the loop
	 * alive until loop_break(). */
	l->wake = event_new(l->base, l->wake_fd, EV_READ | EV_PERSIST,
	    loop_wake_cb, l);
	event_add(l->wake, NULL);
	return l;
}

void
loop_free(struct loop **lp)
{
	struct loop *l = *lp;

	if (l == NULL)
		return;
	loop_wake_cb(-1, 0, l);	/* run what is left */
	event_free(l->wake);
	close(l->wake_fd);
	event_base_free(l->base);
	pthread_mutex_destroy(&l->lock);
	free(l);
	*lp = NULL;
}

void
loop_run(struct loop *l)
{
	event_base_dispatch(l->base);
}

void
loop_break(struct loop *l)
{
	event_base_loopbreak(l->base);
}

void
loop_post(struct loop *l, void (*fn)(void *), void *arg)
{
	struct loop_post_item *it = xmalloc(sizeof(*it));
	bool first;

	it->fn = fn;
	it->arg = arg;
	pthread_mutex_lock(&l->lock);
	first = l->head == NULL;
	if (l->tail)
		l->tail->next = it;
	else
		l->head = it;
	l->tail = it;
	pthread_mutex_unlock(&l->lock);
	if (first) {
		uint64_t one = 1;
		/* EAGAIN: the counter is full, so a wake-up is pending */
		if (write(l->wake_fd, &one, sizeof(one)) < 0 &&
		    errno != EAGAIN)
			log_fatal("cannot wake a loop: %s", strerror(errno));
	}
}

void *
loop_base(struct loop *l)
{
	return l->base;
}

static void
loop_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loop_timer *t = arg;

	(void)fd;
	(void)what;
	t->fn(t->arg);
}

struct loop_timer *
loop_timer_new(struct loop *l, void (*fn)(void *), void *arg)
{
	struct loop_timer *t = xmalloc(sizeof(*t));

	t->fn = fn;
	t->arg = arg;
	t->ev = evtimer_new(l->base, loop_timer_cb, t);
	return t;
}

void
loop_timer_add(struct loop_timer *t, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(t->ev, &tv);
}

void
loop_timer_del(struct loop_timer *t)
{
	evtimer_del(t->ev);
}

void
loop_timer_free(struct loop_timer **tp)
{
	if (*tp == NULL)
		return;
	event_free((*tp)->ev);
	free(*tp);
	*tp = NULL;
}

static void
loop_accept_cb(struct evconnlistener *el, evutil_socket_t fd,
    struct sockaddr *sa, int len, void *arg)
{
	struct loop_listener *ll = arg;

	(void)el;
	ll->fn(fd, sa, (socklen_t)len, ll->arg);
}

static void
loop_accept_resume(void *arg)
{
	struct loop_listener *ll = arg;

	if (ll->enabled)
		evconnlistener_enable(ll->el);
}

static void
loop_accept_error_cb(struct evconnlistener *el, void *arg)
{
	struct loop_listener *ll = arg;
	int err = EVUTIL_SOCKET_ERROR();
	unsigned long pauses = 0;
	time_t now = time(NULL);

	(void)el;
	/* EMFILE, ENFILE, ENOBUFS, ENOMEM: the socket waits in the backlog;
	 * trying again at once would spin (and log) every loop turn. */
	evconnlistener_disable(ll->el);
	loop_timer_add(ll->pause, LOOP_ACCEPT_PAUSE_MS);
	pthread_mutex_lock(&accept_log_lock);
	accept_pauses++;
	if (now - accept_log_last >= LOOP_ACCEPT_LOG_SEC) {
		accept_log_last = now;
		pauses = accept_pauses;
		accept_pauses = 0;
	}
	pthread_mutex_unlock(&accept_log_lock);
	if (pauses > 0)
		log_warn("- server accept-paused error=\"%s\" pauses=%lu "
		    "pause_ms=%d", evutil_socket_error_to_string(err), pauses,
		    LOOP_ACCEPT_PAUSE_MS);
}

struct loop_listener *
loop_listener_new(struct loop *l, int fd, loop_accept_fn *fn, void *arg)
{
	struct loop_listener *ll = xmalloc(sizeof(*ll));

	ll->fn = fn;
	ll->arg = arg;
	ll->enabled = true;
	ll->el = evconnlistener_new(l->base, loop_accept_cb, ll,
	    LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (ll->el == NULL)
		log_fatal("libevent: cannot listen on fd %d", fd);
	evconnlistener_set_error_cb(ll->el, loop_accept_error_cb);
	ll->pause = loop_timer_new(l, loop_accept_resume, ll);
	return ll;
}

void
loop_listener_enable(struct loop_listener *ll, bool on)
{
	ll->enabled = on;
	if (on)
		evconnlistener_enable(ll->el);
	else
		evconnlistener_disable(ll->el);
}

void
loop_listener_free(struct loop_listener **llp)
{
	if (*llp == NULL)
		return;
	evconnlistener_free((*llp)->el);
	loop_timer_free(&(*llp)->pause);
	free(*llp);
	*llp = NULL;
}

struct loop_fd {
	struct event	*ev;
	void		(*fn)(void *);
	void		*arg;
};

static void
loop_fd_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loop_fd *f = arg;

	(void)fd;
	(void)what;
	f->fn(f->arg);
}

struct loop_fd *
loop_fd_new(struct loop *l, int fd, void (*fn)(void *), void *arg)
{
	struct loop_fd *f = xmalloc(sizeof(*f));

	f->fn = fn;
	f->arg = arg;
	f->ev = event_new(l->base, fd, EV_READ | EV_PERSIST, loop_fd_cb, f);
	event_add(f->ev, NULL);
	return f;
}

void
loop_fd_free(struct loop_fd **fp)
{
	if (*fp == NULL)
		return;
	event_free((*fp)->ev);
	free(*fp);
	*fp = NULL;
}

static void
loop_signal_cb(evutil_socket_t signo, short what, void *arg)
{
	struct loop_signal *s = arg;

	(void)what;
	s->fn((int)signo, s->arg);
}

struct loop_signal *
loop_signal_new(struct loop *l, int signo, void (*fn)(int, void *), void *arg)
{
	struct loop_signal *s = xmalloc(sizeof(*s));

	s->fn = fn;
	s->arg = arg;
	s->ev = evsignal_new(l->base, signo, loop_signal_cb, s);
	evsignal_add(s->ev, NULL);
	return s;
}

void
loop_signal_free(struct loop_signal **sp)
{
	if (*sp == NULL)
		return;
	event_free((*sp)->ev);
	free(*sp);
	*sp = NULL;
}
