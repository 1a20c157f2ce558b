/*
 * mailbox_linger - keeps a user's store (and the folder last shown)
 * open for a while after its last session leaves (see mbox_md_user_linger
 * in mailbox.h).
 *
 * Why: without it a client that logs in every few commands (bench/imap's
 * "login" mix, pollers, clients that check each folder on a new
 * connection) pays at each login an index open (SQLite open, quick_check,
 * statement preparation), the unclean mark's synchronous commit at its
 * first write, a folder load (index rows plus a directory scan) at
 * SELECT, and a WAL checkpoint at the close. Dovecot keeps nothing open
 * between logins, but its indexes are mmapped files that the next process
 * maps again; ours live in memory, so they are kept.
 *
 * Trust: bookkeeping only. An entry holds one reference to its user and
 * at most one to a folder; the table's own lock is never held while a
 * store lock is taken, and references are dropped outside it (dropping
 * the last one closes an index: disk I/O, on the caller's thread, which
 * is a worker or the store thread).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "store/mailbox_int.h"
#include "util/clock.h"

struct linger {
	struct mbox_md_user	*u;
	struct mbox_folder	*f;		/* NULL: the user alone */
	uint32_t		 msgs;		/* f's messages when kept */
	uint64_t		 expires;	/* clock_mono_ms() */
};

static pthread_mutex_t linger_lock = PTHREAD_MUTEX_INITIALIZER;
static struct linger lingers[MBOX_LINGER_MAX];	/* oldest first */
static size_t n_lingers;
static uint64_t linger_msgs;			/* summed msgs */

static void
linger_release(struct linger *l)
{
	if (l->f)
		mbox_folder_put(&l->f);
	mbox_md_user_unref(&l->u);
}

/* Removes entry i (under the lock) into *out. */
static void
linger_take(size_t i, struct linger *out)
{
	*out = lingers[i];
	linger_msgs -= lingers[i].msgs;
	memmove(&lingers[i], &lingers[i + 1],
	    (n_lingers - i - 1) * sizeof(lingers[0]));
	n_lingers--;
}

/* A reference to v's folder if it is still u's live folder, else NULL. */
static struct mbox_folder *
linger_folder(struct mbox_md_user *u, struct mbox_md_view *v, uint32_t *msgs_r)
{
	struct mbox_folder *f = v ? v->f : NULL;
	bool keep = false;

	*msgs_r = 0;
	if (f == NULL || v->u != u)
		return NULL;
	mbox_lock(&u->mu, MBOX_LK_USER);
	if (f->in_map) {
		mbox_lock(&f->mu, MBOX_LK_FOLDER);
		keep = !f->gone;
		*msgs_r = f->count;
		mbox_unlock(&f->mu, MBOX_LK_FOLDER);
	}
	if (keep)
		f->refs++;
	mbox_unlock(&u->mu, MBOX_LK_USER);
	return keep ? f : NULL;
}

void
mbox_md_user_linger(struct mbox_md_user **up, struct mbox_md_view *v)
{
	struct mbox_md_user *u = *up;
	struct linger drop[2], add;
	struct mbox_folder *unkept = NULL;
	size_t n_drop = 0;

	if (u == NULL)
		return;
	*up = NULL;
	mbox_poller_start();	/* its tick ends the linger */
	/* a lingering index keeps its connection, not its page cache (up to
	 * 2 MB; the kernel's page cache serves a reopen as well) */
	mbox_lock(&u->io, MBOX_LK_IO);
	if (u->db)
		sqlite3_db_release_memory(u->db);
	mbox_unlock(&u->io, MBOX_LK_IO);
	add.u = u;
	add.f = linger_folder(u, v, &add.msgs);
	add.expires = clock_mono_ms() + MBOX_LINGER_SEC * 1000;
	pthread_mutex_lock(&linger_lock);
	for (size_t i = 0; i < n_lingers; i++)
		if (lingers[i].u == u) {	/* lingering already: renew */
			linger_take(i, &drop[n_drop++]);
			break;
		}
	if (n_lingers == MBOX_LINGER_MAX)
		linger_take(0, &drop[n_drop++]);
	if (add.f && linger_msgs + add.msgs > MBOX_LINGER_MSGS) {
		unkept = add.f;		/* no room: the user lingers alone */
		add.f = NULL;
		add.msgs = 0;
	}
	lingers[n_lingers++] = add;
	linger_msgs += add.msgs;
	pthread_mutex_unlock(&linger_lock);
	if (unkept)
		mbox_folder_put(&unkept);
	for (size_t i = 0; i < n_drop; i++)
		linger_release(&drop[i]);
}

void
mbox_linger_sweep(bool all)
{
	uint64_t now = clock_mono_ms();

	for (;;) {
		struct linger l;

		pthread_mutex_lock(&linger_lock);
		if (n_lingers == 0 || (!all && lingers[0].expires > now)) {
			pthread_mutex_unlock(&linger_lock);
			return;
		}
		linger_take(0, &l);
		pthread_mutex_unlock(&linger_lock);
		linger_release(&l);
	}
}
