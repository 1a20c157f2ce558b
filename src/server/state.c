/*
 * state - the running state bundle (see state.h).
 *
 * Trust: administrator data only.
 */
#include <pthread.h>
#include <stdlib.h>

#include "auth/resolve.h"
#include "conf/conf.h"
#include "policy/dkim_keys.h"
#include "policy/psl.h"
#include "server/state.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* One part with its own count: bundles made by a reload that did not
 * touch it share it. */
struct state_part {
	atomic_uint	 refs;
	void		*p;
	void		(*free)(void *p);
	const char	*name;		/* for the log */
	unsigned	 gen;		/* the bundle that brought it */
};

static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static struct server_state *cur;
static unsigned last_gen;

static void
free_conf(void *p)
{
	struct conf *c = p;

	conf_free(&c);
}

static void
free_psl(void *p)
{
	struct psl *x = p;

	psl_free(&x);
}

static void
free_dkim(void *p)
{
	struct dkim_keystore *k = p;

	dkim_keystore_free(&k);
}

static struct state_part *
part_new(void *p, void (*fr)(void *), const char *name, unsigned gen)
{
	struct state_part *pt;

	if (p == NULL)
		return NULL;
	pt = xmalloc(sizeof(*pt));
	atomic_init(&pt->refs, 1);
	pt->p = p;
	pt->free = fr;
	pt->name = name;
	pt->gen = gen;
	return pt;
}

static struct state_part *
part_ref(struct state_part *pt)
{
	if (pt)
		atomic_fetch_add(&pt->refs, 1);
	return pt;
}

static void
part_unref(struct state_part *pt)
{
	if (pt == NULL || atomic_fetch_sub(&pt->refs, 1) != 1)
		return;
	log_debug("- server state-part-freed part=%s gen=%u", pt->name,
	    pt->gen);
	pt->free(pt->p);
	free(pt);
}

struct server_state *
server_state_get(void)
{
	struct server_state *st;

	pthread_mutex_lock(&state_lock);
	st = cur;
	if (st)
		atomic_fetch_add(&st->refs, 1);
	pthread_mutex_unlock(&state_lock);
	return st;
}

void
server_state_ref(struct server_state *st)
{
	TEM_ASSERT(atomic_load(&st->refs) > 0);
	atomic_fetch_add(&st->refs, 1);
}

void
server_state_unref(struct server_state **stp)
{
	struct server_state *st = *stp;

	*stp = NULL;
	if (st == NULL)
		return;
	TEM_ASSERT(atomic_load(&st->refs) > 0);
	if (atomic_fetch_sub(&st->refs, 1) != 1)
		return;
	part_unref(st->part_conf);
	part_unref(st->part_psl);
	part_unref(st->part_dkim);
	if (st->accounts)
		acct_snapshot_unref(&st->accounts);
	free(st);
}

enum which { W_CONF, W_ACCOUNTS, W_PSL, W_DKIM };

/* The current bundle with one part replaced becomes current. */
static void
state_swap(enum which w, void *p)
{
	struct server_state *st = xmalloc(sizeof(*st)), *old;

	atomic_init(&st->refs, 1);		/* the current slot's */
	pthread_mutex_lock(&state_lock);
	st->gen = ++last_gen;
	old = cur;
	if (old) {
		st->part_conf = part_ref(old->part_conf);
		st->part_psl = part_ref(old->part_psl);
		st->part_dkim = part_ref(old->part_dkim);
		st->accounts = old->accounts;
		if (st->accounts && w != W_ACCOUNTS)
			acct_snapshot_ref(st->accounts);
	}
	switch (w) {
	case W_CONF:
		part_unref(st->part_conf);
		st->part_conf = part_new(p, free_conf, "config", st->gen);
		break;
	case W_ACCOUNTS:
		st->accounts = p;	/* old's reference stays with old */
		break;
	case W_PSL:
		part_unref(st->part_psl);
		st->part_psl = part_new(p, free_psl, "psl", st->gen);
		break;
	case W_DKIM:
		part_unref(st->part_dkim);
		st->part_dkim = part_new(p, free_dkim, "dkim", st->gen);
		break;
	}
	st->conf = st->part_conf ? st->part_conf->p : NULL;
	st->psl = st->part_psl ? st->part_psl->p : NULL;
	st->dkim = st->part_dkim ? st->part_dkim->p : NULL;
	cur = st;
	pthread_mutex_unlock(&state_lock);
	server_state_unref(&old);	/* freed here unless someone holds it */
}

void
server_state_set_conf(struct conf *c)
{
	TEM_ASSERT(c != NULL);
	state_swap(W_CONF, c);
}

void
server_state_set_accounts(struct acct_snapshot *a)
{
	state_swap(W_ACCOUNTS, a);
}

void
server_state_set_psl(struct psl *p)
{
	state_swap(W_PSL, p);
}

void
server_state_set_dkim(struct dkim_keystore *k)
{
	state_swap(W_DKIM, k);
}

void
server_state_clear(void)
{
	struct server_state *old;

	pthread_mutex_lock(&state_lock);
	old = cur;
	cur = NULL;
	pthread_mutex_unlock(&state_lock);
	server_state_unref(&old);
}

struct acct_snapshot *
server_accounts(void)
{
	struct acct_snapshot *a = NULL;

	pthread_mutex_lock(&state_lock);
	if (cur && cur->accounts) {
		a = cur->accounts;
		acct_snapshot_ref(a);
	}
	pthread_mutex_unlock(&state_lock);
	return a;
}
