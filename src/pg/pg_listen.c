/*
 * pg_listen - the LISTEN connection of a tem node on a thread of its own,
 * reconnecting by itself; notifications and resyncs are posted to the
 * registering caller's loop (see pg_listen.h).
 *
 * Trust: payloads are passed on as received (callers parse them);
 * channel names are checked to be plain identifiers and quoted anyway.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pg/pg_conn.h"
#include "pg/pg_listen.h"
#include "util/loop.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define CHANNEL_NAME_MAX 63	/* PostgreSQL's NAMEDATALEN - 1 */

struct channel {
	char		*name;
	struct loop	*loop;
	pg_notify_fn	*on_notify;
	pg_resync_fn	*on_resync;
	void		*arg;
	bool		 listening;	/* LISTEN done on the current conn */
};

struct pg_listen {
	char		*dsn;
	pthread_t	 thread;
	int		 wake[2];	/* pipe: add/free wake the thread */
	pthread_mutex_t	 lock;		/* channels, n, stop */
	struct channel	 channels[PG_LISTEN_CHANNELS_MAX];
	int		 n;
	bool		 stop;
	PGconn		*conn;		/* the thread's only */
};

/* What one loop_post carries: a copy, so the listener may go on. */
struct delivery {
	pg_notify_fn	*on_notify;	/* NULL: a resync */
	pg_resync_fn	*on_resync;
	void		*arg;
	char		*channel;
	char		*payload;
};

static void
deliver(void *p)
{
	struct delivery *d = p;

	if (d->on_notify != NULL)
		d->on_notify(d->arg, d->channel, d->payload);
	else
		d->on_resync(d->arg, d->channel);
	free(d->channel);
	free(d->payload);
	free(d);
}

static void
post(const struct channel *c, const char *payload)
{
	struct delivery *d = xcalloc(1, sizeof(*d));

	if (payload != NULL)
		d->on_notify = c->on_notify;
	else
		d->on_resync = c->on_resync;
	d->arg = c->arg;
	d->channel = xstrdup(c->name);
	d->payload = payload != NULL ? xstrdup(payload) : NULL;
	loop_post(c->loop, deliver, d);
}

static void
wake(struct pg_listen *l)
{
	char b = 0;

	while (write(l->wake[1], &b, 1) < 0 && errno == EINTR)
		;
}

static bool
stopping(struct pg_listen *l)
{
	bool s;

	pthread_mutex_lock(&l->lock);
	s = l->stop;
	pthread_mutex_unlock(&l->lock);
	return s;
}

/* Waits up to ms (-1: forever) for the socket (fd >= 0) or a wake-up.
 * True when the socket is readable. */
static bool
wait_for(struct pg_listen *l, int fd, int ms)
{
	struct pollfd p[2] = {
		{ .fd = l->wake[0], .events = POLLIN },
		{ .fd = fd, .events = POLLIN },
	};
	char buf[64];

	if (poll(p, fd >= 0 ? 2 : 1, ms) <= 0)
		return false;
	if (p[0].revents != 0)
		while (read(l->wake[0], buf, sizeof(buf)) > 0)
			;
	return fd >= 0 && p[1].revents != 0;
}

/* One line for the outage, and the connection closed. */
static void
lost(struct pg_listen *l)
{
	char *line = NULL;

	pg_conn_classify(l->conn, NULL, &line);
	log_warn("pg listen lost the database: %s", line);
	free(line);
	PQfinish(l->conn);
	l->conn = NULL;
}

/* LISTENs on every channel not yet listened to on this connection and
 * posts their resyncs. False when the connection failed. */
static bool
listen_new(struct pg_listen *l)
{
	bool ok = true;

	pthread_mutex_lock(&l->lock);
	for (int i = 0; i < l->n && ok; i++) {
		struct channel *c = &l->channels[i];
		char *id, *sql, *err = NULL;
		PGresult *r;

		if (c->listening)
			continue;
		id = PQescapeIdentifier(l->conn, c->name, strlen(c->name));
		sql = xasprintf("LISTEN %s", id != NULL ? id : "\"\"");
		PQfreemem(id);
		r = PQexec(l->conn, sql);
		free(sql);
		if (PQresultStatus(r) == PGRES_COMMAND_OK) {
			c->listening = true;
			if (c->on_resync != NULL)
				post(c, NULL);
		} else {
			pg_conn_classify(l->conn, r, &err);
			log_warn("pg listen channel=%s failed: %s", c->name,
			    err);
			free(err);
			ok = PQstatus(l->conn) == CONNECTION_OK;
		}
		PQclear(r);
	}
	pthread_mutex_unlock(&l->lock);
	return ok;
}

static void
dispatch(struct pg_listen *l)
{
	PGnotify *n;

	pthread_mutex_lock(&l->lock);
	while ((n = PQnotifies(l->conn)) != NULL) {
		for (int i = 0; i < l->n; i++)
			if (strcmp(l->channels[i].name, n->relname) == 0)
				post(&l->channels[i], n->extra);
		PQfreemem(n);
	}
	pthread_mutex_unlock(&l->lock);
}

/* Connects, with a growing pause after each failure; false when asked
 * to stop meanwhile. */
static bool
connect_again(struct pg_listen *l, unsigned *retry_ms, bool *was_down)
{
	char *err = NULL;

	while (!stopping(l)) {
		if ((l->conn = pg_conn_open(l->dsn, &err)) != NULL) {
			if (*was_down)
				log_info("pg listen connected again");
			*was_down = false;
			*retry_ms = PG_LISTEN_RETRY_MIN_MS;
			pthread_mutex_lock(&l->lock);
			for (int i = 0; i < l->n; i++)
				l->channels[i].listening = false;
			pthread_mutex_unlock(&l->lock);
			return true;
		}
		if (!*was_down)		/* one line per outage */
			log_warn("pg listen cannot connect: %s", err);
		*was_down = true;
		free(err);
		err = NULL;
		wait_for(l, -1, (int)*retry_ms);
		*retry_ms = *retry_ms * 2 > PG_LISTEN_RETRY_MAX_MS ?
		    PG_LISTEN_RETRY_MAX_MS : *retry_ms * 2;
	}
	return false;
}

static void *
run(void *arg)
{
	struct pg_listen *l = arg;
	unsigned retry_ms = PG_LISTEN_RETRY_MIN_MS;
	bool was_down = false;

	while (!stopping(l)) {
		if (l->conn == NULL && !connect_again(l, &retry_ms, &was_down))
			break;
		if (!listen_new(l)) {
			lost(l);
			was_down = true;
			continue;
		}
		if (!wait_for(l, PQsocket(l->conn), -1))
			continue;	/* woken: new channel or stop */
		if (PQconsumeInput(l->conn) == 0) {
			lost(l);
			was_down = true;
			continue;
		}
		dispatch(l);
	}
	if (l->conn != NULL)
		PQfinish(l->conn);
	l->conn = NULL;
	return NULL;
}

struct pg_listen *
pg_listen_start(const char *dsn, char **error_r)
{
	struct pg_listen *l = xcalloc(1, sizeof(*l));
	int e;

	if (pipe2(l->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		*error_r = xasprintf("pg listen: pipe: %s", strerror(errno));
		free(l);
		return NULL;
	}
	l->dsn = xstrdup(dsn != NULL ? dsn : "");
	pthread_mutex_init(&l->lock, NULL);
	if ((e = pthread_create(&l->thread, NULL, run, l)) != 0) {
		*error_r = xasprintf("pg listen: thread: %s", strerror(e));
		close(l->wake[0]);
		close(l->wake[1]);
		pthread_mutex_destroy(&l->lock);
		free(l->dsn);
		free(l);
		return NULL;
	}
	return l;
}

static bool
identifier_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CHANNEL_NAME_MAX || (s[0] >= '0' && s[0] <= '9'))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

int
pg_listen_add(struct pg_listen *l, const char *channel, struct loop *loop,
    pg_notify_fn *on_notify, pg_resync_fn *on_resync, void *arg,
    char **error_r)
{
	struct channel *c;

	if (!identifier_ok(channel)) {
		*error_r = xasprintf("pg listen: bad channel name '%s'",
		    channel);
		return -1;
	}
	pthread_mutex_lock(&l->lock);
	if (l->n == PG_LISTEN_CHANNELS_MAX) {
		pthread_mutex_unlock(&l->lock);
		*error_r = xasprintf("pg listen: more than %d channels",
		    PG_LISTEN_CHANNELS_MAX);
		return -1;
	}
	c = &l->channels[l->n++];
	c->name = xstrdup(channel);
	c->loop = loop;
	c->on_notify = on_notify;
	c->on_resync = on_resync;
	c->arg = arg;
	c->listening = false;
	pthread_mutex_unlock(&l->lock);
	wake(l);
	return 0;
}

void
pg_listen_free(struct pg_listen **lp)
{
	struct pg_listen *l = *lp;

	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	l->stop = true;
	pthread_mutex_unlock(&l->lock);
	wake(l);
	pthread_join(l->thread, NULL);
	for (int i = 0; i < l->n; i++)
		free(l->channels[i].name);
	close(l->wake[0]);
	close(l->wake[1]);
	pthread_mutex_destroy(&l->lock);
	free(l->dsn);
	free(l);
	*lp = NULL;
}
