/*
 * mailbox_lock - the store's lock order, checked where locks are taken
 * (see the LOCKS comment in mailbox_int.h).
 *
 * Each thread keeps a count of the store locks it holds per level; taking
 * a lock while one of the same or a later level is held is a bug (a
 * deadlock waiting for the right interleaving) and aborts at once with
 * both levels named. The counts are thread-local: no lock, no sharing.
 *
 * Trust: internal invariant only.
 */
#include <pthread.h>

#include "store/mailbox_int.h"
#include "util/log.h"

static _Thread_local unsigned held[MBOX_LK_COUNT];

static const char *const lk_names[MBOX_LK_COUNT] = {
	"u->io", "reg", "u->mu", "f->mu", "watch",
};

/* The latest level this thread holds, or -1. */
static int
latest_held(void)
{
	for (int l = MBOX_LK_COUNT - 1; l >= 0; l--)
		if (held[l] > 0)
			return l;
	return -1;
}

void
mbox_lock(pthread_mutex_t *m, enum mbox_lk lk)
{
	int latest = latest_held();

	if (latest >= (int)lk)
		log_panic("store lock order: %s taken while %s is held",
		    lk_names[lk], lk_names[latest]);
	pthread_mutex_lock(m);
	held[lk]++;
}

void
mbox_unlock(pthread_mutex_t *m, enum mbox_lk lk)
{
	TEM_ASSERT(held[lk] > 0);
	held[lk]--;
	pthread_mutex_unlock(m);
}

bool
mbox_lock_held(enum mbox_lk lk)
{
	return held[lk] > 0;
}
