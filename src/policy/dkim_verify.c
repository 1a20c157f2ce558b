/*
 * dkim_verify - DKIM verification with key records from DNS (see
 * dkim_verify.h): one TXT look-up per signature that needs a key, all in
 * parallel on the resolver's loop, then the results in one callback.
 *
 * Trust: DNS answers and the message come from anyone; they only reach
 * the I/O-free verifier (dkim_check.c), which bounds the work.
 * Callers: inbound SMTP (end of DATA), test-dkim-tool.
 */
#include <stdlib.h>

#include "dns/dns.h"
#include "policy/dkim.h"
#include "policy/dkim_verify.h"
#include "util/xmalloc.h"

struct dkim_verify_job {
	struct dkim_verify	*dv;
	size_t			 idx;
	struct dns_request	*req;
};

struct dkim_verify {
	struct dkim_verifier	*v;
	struct dkim_verify_job	 job[DKIM_MAX_SIGS];
	size_t			 pending;
	struct dns_request	*defer;
	void			(*done)(struct dkim_results *, void *);
	void			*arg;
};

/* Hands the results over; dv is gone before done runs, so done may do
 * anything (free the session, start another verification). */
static void
finish(struct dkim_verify *dv)
{
	struct dkim_results *res = dkim_verifier_finish(&dv->v);
	void (*done)(struct dkim_results *, void *) = dv->done;
	void *arg = dv->arg;

	free(dv);
	done(res, arg);
}

enum dkim_key_answer
dkim_key_answer_of(enum dns_status st)
{
	if (st == DNS_OK)
		return DKIM_KEY_FOUND;
	return st == DNS_TEMPFAIL ? DKIM_KEY_TEMPFAIL : DKIM_KEY_NONE;
}

static void
txt_cb(enum dns_status st, int n, char **txt, void *arg)
{
	struct dkim_verify_job *j = arg;
	struct dkim_verify *dv = j->dv;

	j->req = NULL;
	dkim_verifier_set_key(dv->v, j->idx, dkim_key_answer_of(st), txt,
	    n > 0 ? (size_t)n : 0);
	if (--dv->pending == 0)
		finish(dv);
}

/* Nothing to look up: the answer still comes on a later loop turn. */
static void
defer_cb(const struct dns_addrs *res, void *arg)
{
	struct dkim_verify *dv = arg;

	(void)res;
	dv->defer = NULL;
	finish(dv);
}

struct dkim_verify *
dkim_verify_start_at(struct dns_resolver *r, const char *msg, size_t len,
    time_t now, void (*done)(struct dkim_results *res, void *arg), void *arg)
{
	return dkim_verify_keys(r, dkim_verifier_new(msg, len, now), done,
	    arg);
}

struct dkim_verify *
dkim_verify_keys(struct dns_resolver *r, struct dkim_verifier *v,
    void (*done)(struct dkim_results *res, void *arg), void *arg)
{
	struct dkim_verify *dv = xcalloc(1, sizeof(*dv));
	size_t n;

	dv->v = v;
	dv->done = done;
	dv->arg = arg;
	n = dkim_verifier_count(dv->v);
	for (size_t i = 0; i < n; i++) {
		const char *name = dkim_verifier_key_name(dv->v, i);

		if (name == NULL)
			continue;
		dv->job[i].dv = dv;
		dv->job[i].idx = i;
		dv->job[i].req = dns_resolve_txt(r, name, txt_cb, &dv->job[i]);
		dv->pending++;
	}
	/* An IP literal is answered without a query, on the next turn
	 * (dns.h): the one way to defer on the resolver's loop. */
	if (dv->pending == 0)
		dv->defer = dns_resolve_addr(r, "127.0.0.1", defer_cb, dv);
	return dv;
}

struct dkim_verify *
dkim_verify_start(struct dns_resolver *r, const char *msg, size_t len,
    void (*done)(struct dkim_results *res, void *arg), void *arg)
{
	return dkim_verify_start_at(r, msg, len, time(NULL), done, arg);
}

void
dkim_verify_cancel(struct dkim_verify **dvp)
{
	struct dkim_verify *dv = *dvp;
	struct dkim_results *res;

	if (dv == NULL)
		return;
	for (size_t i = 0; i < DKIM_MAX_SIGS; i++)
		dns_cancel(&dv->job[i].req);
	dns_cancel(&dv->defer);
	res = dkim_verifier_finish(&dv->v);
	dkim_results_free(&res);
	XFREE(dvp);
}
