/*
 * arc_dns - the key look-ups of an ARC chain validation (see arc_dns.h):
 * the verifier (arc_verify.c) names the keys, the resolver fetches them,
 * each answer decides the signatures that use that key.
 *
 * Trust: DNS answers from anyone; they only reach the I/O-free verifier.
 * At most ARC_MAX_SETS + 1 look-ups per message, each under the
 * resolver's deadline.
 */
#include <stdlib.h>

#include "dns/dns.h"
#include "policy/arc_dns.h"
#include "policy/dkim_verify.h"
#include "util/xmalloc.h"

struct arc_key_job {
	struct arc_verify	*av;
	size_t			 idx;
	struct dns_request	*req;
};

struct arc_verify {
	struct arc_verifier	*v;
	struct arc_key_job	 job[ARC_MAX_SETS + 1];
	size_t			 njobs;
	size_t			 pending;
	struct dns_request	*defer;
	void			(*done)(struct arc_result *, void *);
	void			*arg;
};

/* av is gone before done runs: done may free whatever it likes. */
static void
finish(struct arc_verify *av)
{
	struct arc_result *res = xmalloc(sizeof(*res));
	void (*done)(struct arc_result *, void *) = av->done;
	void *arg = av->arg;

	arc_verifier_finish(&av->v, res);
	free(av);
	done(res, arg);
}

static void
txt_cb(enum dns_status st, int n, char **txt, void *arg)
{
	struct arc_key_job *j = arg;
	struct arc_verify *av = j->av;

	j->req = NULL;
	arc_verifier_set_key(av->v, j->idx, dkim_key_answer_of(st), txt,
	    n > 0 ? (size_t)n : 0);
	if (--av->pending == 0)
		finish(av);
}

/* Nothing to look up: the answer still comes on a later loop turn (an
 * IP literal is answered without a query on the next turn, dns.h). */
static void
defer_cb(const struct dns_addrs *res, void *arg)
{
	struct arc_verify *av = arg;

	(void)res;
	av->defer = NULL;
	finish(av);
}

struct arc_verify *
arc_verify_keys(struct dns_resolver *r, struct arc_verifier *v,
    void (*done)(struct arc_result *res, void *arg), void *arg)
{
	struct arc_verify *av = xcalloc(1, sizeof(*av));
	size_t n = arc_verifier_key_count(v);

	av->v = v;
	av->done = done;
	av->arg = arg;
	for (size_t k = 0; k < n && k <= ARC_MAX_SETS; k++) {
		av->job[k].av = av;
		av->job[k].idx = k;
		av->njobs++;
		av->pending++;
	}
	/* started after counting: an answer never finds pending at 0 early */
	for (size_t k = 0; k < av->njobs; k++)
		av->job[k].req = dns_resolve_txt(r, arc_verifier_key_name(v, k),
		    txt_cb, &av->job[k]);
	if (av->pending == 0)
		av->defer = dns_resolve_addr(r, "127.0.0.1", defer_cb, av);
	return av;
}

void
arc_verify_cancel(struct arc_verify **ap)
{
	struct arc_verify *av = *ap;
	struct arc_result res;

	if (av == NULL)
		return;
	for (size_t k = 0; k < av->njobs; k++)
		dns_cancel(&av->job[k].req);
	dns_cancel(&av->defer);
	arc_verifier_finish(&av->v, &res);
	arc_result_clear(&res);
	XFREE(ap);
}
