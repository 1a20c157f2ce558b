/*
 * check_arc - the ARC seal of inbound mail that tem forwards (RFC 8617
 * 5.1), for check_auth.c: which domain seals (a recipient that is an
 * alias of ours leading to a remote address, whose domain has an RSA
 * DKIM key), and the sealing itself on a worker once the verdict's
 * Authentication-Results is known.
 *
 * Cost: the relaxed body hash rides on the DKIM job's body tap (the same
 * pass over the body as it is spooled, nothing read back); the seal is
 * two header digests and two RSA signatures on a worker. The message is
 * sealed once whatever the number of recipients; the set goes on top of
 * every copy (the local ones carry it too, which harms nobody).
 *
 * Trust: recipients were accepted by the session; the header and chain
 * come from the sender and the path; the keys are ours.
 */
#include <stdlib.h>
#include <string.h>

#include "auth/resolve.h"
#include "policy/check_int.h"
#include "policy/dkim_keys.h"
#include "server/state.h"
#include "util/log.h"
#include "util/worker.h"
#include "util/xmalloc.h"

/* The RSA signing key of domain (ARC verifiers know rsa-sha256; RFC 8617
 * names no other), or NULL. */
static const struct dkim_key *
seal_key(const struct dkim_keystore *ks, const char *domain)
{
	const struct dkim_key *keys[2];
	size_t n;

	if (ks == NULL)
		return NULL;
	n = dkim_keystore_keys(ks, domain, keys, 2);
	for (size_t i = 0; i < n; i++)
		if (keys[i]->type == DKIM_KEY_RSA)
			return keys[i];
	return NULL;
}

char *
arc_seal_domain(struct server_state *run, const char *addr,
    const char *logid)
{
	const char *at = strrchr(addr, '@');
	struct acct_resolution res;
	char *local, *domain = NULL;
	bool remote = false;

	if (at == NULL || run->accounts == NULL)
		return NULL;
	local = xstrndup(addr, (size_t)(at - addr));
	if (acct_resolve(run->accounts, local, at + 1, &res) == ACCT_OK)
		for (int i = 0; i < res.n; i++)
			remote = remote || res.t[i].kind == ACCT_TARGET_REMOTE;
	acct_resolution_free(&res);
	free(local);
	if (!remote)
		return NULL;
	if (seal_key(run->dkim, at + 1) != NULL)
		domain = xstrdup(at + 1);
	else
		log_debug("%s arc no-seal rcpt=<%s> reason=\"no RSA DKIM key "
		    "for the domain\"", logid, addr);
	return domain;
}

struct arc_seal_job {
	struct server_state	*run;	/* keeps the key alive */
	char			*head;
	size_t			 hlen;
	char			*ar;
	size_t			 ar_len;
	unsigned char		 bh[DKIM_SHA256_LEN];
	struct arc_result	 chain;	/* status, n, latest_cv_fail only */
	char			*hostname;
	char			*domain;
	int			 r;
	struct buf		 out;
	void			(*back)(void *owner, struct buf *seal, int r);
	void			*owner;
};

static void
seal_work(void *arg)
{
	struct arc_seal_job *j = arg;
	const struct dkim_key *k = seal_key(j->run->dkim, j->domain);

	j->r = k == NULL ? -1 : arc_seal_head(j->head, j->hlen, j->bh,
	    &j->chain, j->ar, j->ar_len, j->hostname, j->domain, k,
	    time(NULL), &j->out);
}

static void
seal_job_free(struct arc_seal_job *j)
{
	server_state_unref(&j->run);
	free(j->head);
	free(j->ar);
	free(j->hostname);
	free(j->domain);
	buf_free(&j->out);
	free(j);
}

static void
seal_done(void *arg)
{
	struct arc_seal_job *j = arg;

	if (j->owner != NULL)
		j->back(j->owner, &j->out, j->r);
	seal_job_free(j);
}

struct arc_seal_job *
arc_seal_start(struct server_state *run, struct loop *loop,
    const struct arc_seal_args *a,
    void (*back)(void *owner, struct buf *seal, int r), void *owner)
{
	struct arc_seal_job *j = xcalloc(1, sizeof(*j));

	server_state_ref(run);
	j->run = run;
	j->head = xmalloc(a->hlen + 1);
	memcpy(j->head, a->head, a->hlen);
	j->hlen = a->hlen;
	j->ar = xmalloc(a->ar_len + 1);
	memcpy(j->ar, a->ar, a->ar_len);
	j->ar_len = a->ar_len;
	memcpy(j->bh, a->bh, DKIM_SHA256_LEN);
	if (a->chain != NULL) {
		j->chain.status = a->chain->status;
		j->chain.n = a->chain->n;
		j->chain.latest_cv_fail = a->chain->latest_cv_fail;
	}
	j->hostname = xstrdup(a->hostname);
	j->domain = xstrdup(a->domain);
	buf_init(&j->out, 0);
	j->back = back;
	j->owner = owner;
	worker_submit(loop, seal_work, seal_done, j);
	return j;
}

void
arc_seal_detach(struct arc_seal_job **j)
{
	if (*j != NULL)
		(*j)->owner = NULL;	/* seal_done frees it */
	*j = NULL;
}
