/*
 * mta_pool - idle outbound connections kept for the next batch to the
 * same destination (mta_int.h; sessions: mta_session.h, mta_reuse.c).
 *
 * A connection is keyed by destination, host[address]:port and the TLS
 * policy it was opened under (mode and whether TLS is on), so a batch
 * only gets a connection made under the same rules as its own. Limits:
 * an entry waits at most MTA_IDLE_MS, at most MTA_IDLE_PER_DEST per
 * destination and MTA_IDLE_MAX in all; past them it is closed with
 * QUIT. A connection the peer closed while idle is dropped when found.
 *
 * Trust: only our own sessions and keys; nothing from the network is
 * read here. Thread: the delivery engine's loop.
 */
#include <stdlib.h>
#include <string.h>

#include "mta/mta_int.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xmalloc.h"

struct mta_idle {
	char			*dest;
	char			*key;
	struct mta_session	*s;
	struct loop_timer	*timer;
	bool			 closing;	/* QUIT sent, waiting */
	struct mta_idle		*next;
};

static struct mta_idle *pool;

static void
pool_unlink(struct mta_idle *e)
{
	for (struct mta_idle **pp = &pool; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			return;
		}
}

static void
pool_entry_free(struct mta_idle *e)
{
	loop_timer_free(&e->timer);
	free(e->dest);
	free(e->key);
	free(e);
}

/* The QUIT of a closed entry was answered (or the connection ended):
   the session frees itself after this returns. */
static void
pool_closed(struct mta_session *s, int status, const char *text, void *arg)
{
	struct mta_idle *e = arg;

	(void)s, (void)status, (void)text;
	pool_unlink(e);
	pool_entry_free(e);
}

static void
pool_close(struct mta_idle *e)
{
	e->closing = true;
	loop_timer_del(e->timer);
	mta_session_close(e->s, pool_closed, e);
}

static void
pool_expired(void *arg)
{
	pool_close(arg);
}

void
mta_pool_put(const char *dest, const char *key, struct mta_session *s)
{
	struct mta_idle *e;
	int total = 0, same = 0;

	if (mta_stopping()) {		/* the loop may end before a QUIT */
		mta_session_abort(&s);
		return;
	}
	for (struct mta_idle *x = pool; x; x = x->next) {
		if (x->closing)
			continue;
		total++;
		same += strcmp(x->dest, dest) == 0;
	}
	e = xcalloc(1, sizeof(*e));
	e->dest = xstrdup(dest);
	e->key = xstrdup(key);
	e->s = s;
	e->timer = loop_timer_new(mta_loop(), pool_expired, e);
	e->next = pool;
	pool = e;
	if (total >= MTA_IDLE_MAX || same >= MTA_IDLE_PER_DEST) {
		pool_close(e);
		return;
	}
	loop_timer_add(e->timer, MTA_IDLE_MS);
}

struct mta_session *
mta_pool_take(const char *key)
{
	struct mta_idle *e, *next;
	struct mta_session *s;

	for (e = pool; e; e = next) {
		next = e->next;
		if (e->closing || strcmp(e->key, key) != 0)
			continue;
		pool_unlink(e);
		s = e->s;
		pool_entry_free(e);
		if (mta_session_idle(s))
			return s;
		mta_session_abort(&s);	/* closed by the peer meanwhile */
	}
	return NULL;
}

void
mta_pool_close_all(void)
{
	struct mta_idle *e;

	while ((e = pool) != NULL) {
		pool = e->next;
		mta_session_abort(&e->s);
		pool_entry_free(e);
	}
}
