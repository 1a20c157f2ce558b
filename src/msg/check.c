/*
 * check - the runner of the checks stage (msg/check.h): the registered
 * checks of one transaction, the body tap that fans out to them on the
 * spool writer's thread, their answers merged into one verdict.
 *
 * Trust: the runner only routes calls and merges answers; the checks
 * judge the client's data. Everything runs on the session's loop except
 * the fan-out tap (the spool's writer thread), which touches only the
 * tap objects it owns.
 */
#include <stdlib.h>
#include <string.h>

#include "msg/check.h"
#include "msg/spool.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* The registered checks, in order (written before the loops start). */
static const struct msg_check_ops *registered[MSG_CHECKS_MAX];
static int nregistered;

struct msg_check {
	const struct msg_check_ops *ops;
	void			*st;
	struct msg_checks	*cs;
	bool			 answered;
	struct msg_verdict	 v;
};

struct msg_checks {
	struct msg_check	 chk[MSG_CHECKS_MAX];
	int			 n;
	bool			 tapped;
	bool			 filtered;	/* env->filtered */
	bool			 final;		/* in the final phase */
	bool			 ending;	/* inside msg_checks_end/_final */
	int			 waiting;	/* end() not answered yet */
	msg_checks_done_fn	*done;
	void			*arg;
};

/* What the spool holds while tapped: each check's tap object, by index
 * (NULL: that check wants no body). */
struct check_tapset {
	int			 n;
	const struct msg_check_ops *ops[MSG_CHECKS_MAX];
	void			*tap[MSG_CHECKS_MAX];
};

static const char *const action_names[] = {
	[MSG_ACCEPT] = "accept", [MSG_QUARANTINE] = "quarantine",
	[MSG_DISCARD] = "discard", [MSG_TEMPFAIL] = "tempfail",
	[MSG_REJECT] = "reject",
};

const char *
msg_action_name(enum msg_action a)
{
	return action_names[a];
}

void
msg_verdict_init(struct msg_verdict *v)
{
	memset(v, 0, sizeof(*v));
	buf_init(&v->headers, 0);
	buf_init(&v->head, 0);
}

void
msg_verdict_clear(struct msg_verdict *v)
{
	buf_free(&v->headers);
	buf_free(&v->head);
	msg_verdict_init(v);
}

void
msg_verdict_merge(struct msg_verdict *dst, struct msg_verdict *src)
{
	struct buf tmp;

	if (src->action > dst->action) {	/* the first strongest wins */
		dst->action = src->action;
		dst->status = src->status;
		dst->text = src->text;
	}
	buf_append(&dst->headers, src->headers.data, src->headers.len);
	if (src->head_set && !dst->head_set) {
		tmp = dst->head;
		dst->head = src->head;
		src->head = tmp;
		dst->head_set = true;
	}
	msg_verdict_clear(src);
}

void
msg_check_register(const struct msg_check_ops *ops)
{
	TEM_ASSERT(nregistered < MSG_CHECKS_MAX);
	registered[nregistered++] = ops;
}

void
msg_check_unregister_all(void)
{
	nregistered = 0;
}

struct msg_checks *
msg_checks_new(const struct msg_check_env *env)
{
	struct msg_checks *cs = xcalloc(1, sizeof(*cs));

	cs->filtered = env->filtered;
	for (int i = 0; i < nregistered; i++) {
		struct msg_check *c = &cs->chk[cs->n];

		c->ops = registered[i];
		c->cs = cs;
		msg_verdict_init(&c->v);
		c->st = c->ops->start(env, c);
		if (c->st != NULL)
			cs->n++;
	}
	if (cs->n == 0) {
		free(cs);
		return NULL;
	}
	return cs;
}

void
msg_checks_free(struct msg_checks **csp)
{
	struct msg_checks *cs = *csp;

	if (cs == NULL)
		return;
	*csp = NULL;
	for (int i = 0; i < cs->n; i++) {
		cs->chk[i].ops->free(cs->chk[i].st);
		msg_verdict_clear(&cs->chk[i].v);
	}
	free(cs);
}

void
msg_checks_rcpt(struct msg_checks *cs, const char *addr)
{
	if (cs == NULL)
		return;
	for (int i = 0; i < cs->n; i++)
		if (cs->chk[i].ops->rcpt != NULL)
			cs->chk[i].ops->rcpt(cs->chk[i].st, addr);
}

/* The spool writer's thread: every body byte to every tap. */
static void
tapset_tap(void *arg, const char *p, size_t n)
{
	struct check_tapset *t = arg;

	for (int i = 0; i < t->n; i++)
		if (t->tap[i] != NULL)
			t->ops[i]->tap(t->tap[i], p, n);
}

static void
tapset_free(void *arg)
{
	struct check_tapset *t = arg;

	for (int i = 0; i < t->n; i++)
		if (t->tap[i] != NULL)
			t->ops[i]->tap_free(t->tap[i]);
	free(t);
}

void
msg_checks_tap(struct msg_checks *cs, struct msg_spool *sp)
{
	struct check_tapset *t;
	const char *head;
	size_t hlen;
	bool any = false;

	if (cs == NULL || cs->tapped || !msg_spool_head_done(sp))
		return;
	cs->tapped = true;
	head = msg_spool_head(sp, &hlen);
	t = xcalloc(1, sizeof(*t));
	t->n = cs->n;
	for (int i = 0; i < cs->n; i++) {
		const struct msg_check_ops *ops = cs->chk[i].ops;

		t->ops[i] = ops;
		if (ops->tap_begin != NULL)
			t->tap[i] = ops->tap_begin(cs->chk[i].st, head, hlen);
		any |= t->tap[i] != NULL;
	}
	if (any)
		msg_spool_tap(sp, tapset_tap, tapset_free, t);
	else
		free(t);
}

/* Every check answered: merge in registration order and tell. */
static void
checks_finish(struct msg_checks *cs)
{
	struct msg_verdict v;

	msg_verdict_init(&v);
	for (int i = 0; i < cs->n; i++)
		msg_verdict_merge(&v, &cs->chk[i].v);
	cs->done(&v, cs->arg);		/* may free cs */
	msg_verdict_clear(&v);
}

void
msg_checks_end(struct msg_checks *cs, struct msg_spool *sp,
    const struct msg_check_msg *m, msg_checks_done_fn *done, void *arg)
{
	struct check_tapset *t = sp != NULL ? msg_spool_untap(sp) : NULL;

	TEM_ASSERT(cs->done == NULL);
	cs->done = done;
	cs->arg = arg;
	cs->waiting = cs->n;
	cs->ending = true;
	for (int i = 0; i < cs->n; i++)
		cs->chk[i].ops->end(cs->chk[i].st, t ? t->tap[i] : NULL, m);
	free(t);
	cs->ending = false;
	if (cs->waiting == 0)
		checks_finish(cs);
}

bool
msg_checks_final_wanted(const struct msg_checks *cs)
{
	if (cs == NULL || !cs->filtered || cs->final)
		return false;
	for (int i = 0; i < cs->n; i++)
		if (cs->chk[i].ops->final != NULL)
			return true;
	return false;
}

void
msg_checks_final(struct msg_checks *cs, const struct msg_check_msg *m,
    msg_checks_done_fn *done, void *arg)
{
	TEM_ASSERT(msg_checks_final_wanted(cs) && cs->waiting == 0);
	cs->final = true;
	cs->done = done;
	cs->arg = arg;
	cs->ending = true;
	for (int i = 0; i < cs->n; i++)	/* their end() answers are merged */
		if (cs->chk[i].ops->final != NULL) {
			cs->chk[i].answered = false;
			cs->waiting++;
		}
	for (int i = 0; i < cs->n; i++)
		if (cs->chk[i].ops->final != NULL)
			cs->chk[i].ops->final(cs->chk[i].st, m);
	cs->ending = false;
	if (cs->waiting == 0)
		checks_finish(cs);
}

void
msg_check_done(struct msg_check *chk, struct msg_verdict *v)
{
	struct msg_checks *cs = chk->cs;

	TEM_ASSERT(!chk->answered && cs->done != NULL);
	chk->answered = true;
	chk->v = *v;		/* takes the buffers */
	msg_verdict_init(v);
	if (--cs->waiting == 0 && !cs->ending)
		checks_finish(cs);
}
