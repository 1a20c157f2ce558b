/*
 * mta_sts_stub - placeholder for the MTA-STS module (mta/mta_sts.h) until
 * it lands: every domain answers "no policy" on the next loop turn.
 */
#include <stdlib.h>

#include "mta/mta_sts.h"
#include "util/loop.h"
#include "util/xmalloc.h"

struct mta_sts_request {
	mta_sts_cb	*cb;
	void		*arg;
	bool		 cancelled;
};

static void
stub_answer(void *arg)
{
	struct mta_sts_request *req = arg;
	struct mta_sts_answer a = { .policy = NULL };

	if (!req->cancelled)
		req->cb(&a, req->arg);
	free(req);
}

struct mta_sts_request *
mta_sts_lookup(struct loop *loop, struct dns_resolver *res,
    const char *domain, mta_sts_cb *cb, void *arg)
{
	struct mta_sts_request *req = xcalloc(1, sizeof(*req));

	(void)res;
	(void)domain;
	req->cb = cb;
	req->arg = arg;
	loop_post(loop, stub_answer, req);
	return req;
}

void
mta_sts_cancel(struct mta_sts_request **req)
{
	if (*req)
		(*req)->cancelled = true;	/* freed by stub_answer */
	*req = NULL;
}

void
mta_sts_init(const struct conf *c, struct loop *loop, struct dns_resolver *res)
{
	(void)c;
	(void)loop;
	(void)res;
}

void
mta_sts_shutdown(void)
{
}
