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
 * A copy a Sieve script redirects is sealed on the Sieve job's worker
 * (policy_arc_seal_redirect, check_auth.h): there the body is read once
 * more for its hash, as only the job knows a redirect will happen.
 *
 * Trust: recipients were accepted by the session; the header and chain
 * come from the sender and the path; the keys are ours.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/resolve.h"
#include "msg/msg_source.h"
#include "policy/authres.h"
#include "policy/check_auth.h"
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

/* ---- Sieve redirects ----------------------------------------------------- */

/* Octets of the body read at a time for the redirect's body hash. */
#define ARC_READ	(64 * 1024)

/* The relaxed body hash of src's body (memory part, then file range).
 * 0, or -1 with errno. */
static int
src_bodyhash(const struct msg_source *src, unsigned char md[DKIM_SHA256_LEN])
{
	struct dkim_bodyhash h;
	uint64_t pos = 0;
	char *p = NULL;
	int r = 0;

	dkim_bodyhash_init(&h, DKIM_CANON_RELAXED, UINT64_MAX, NULL);
	if (src->body_mem != NULL)
		dkim_bodyhash_update(&h, src->body_mem, src->body_mem_len);
	if (src->fd >= 0 && src->len > 0)
		p = xmalloc(ARC_READ);
	while (p != NULL && pos < src->len) {
		size_t want = src->len - pos < ARC_READ ?
		    (size_t)(src->len - pos) : ARC_READ;
		ssize_t n = pread(src->fd, p, want, (off_t)(src->off + pos));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			r = -1;
			break;
		}
		dkim_bodyhash_update(&h, p, (size_t)n);
		pos += (uint64_t)n;
	}
	free(p);
	dkim_bodyhash_final(&h, md, NULL);
	return r;
}

/* The chain as tem judged it on arrival: arc= in our own newest
 * Authentication-Results of head, the sets from the header. -1: a chain
 * tem did not verify (mail that never passed the inbound check). */
static int
stored_chain(const char *head, size_t hlen, const char *hostname,
    struct arc_result *r)
{
	struct authres_range *ours = NULL;
	struct arc_chain *c = xmalloc(sizeof(*c));
	enum arc_struct st = arc_chain_collect(head, hlen, c);
	size_t n = authres_find_ours(head, hlen, hostname, &ours);
	int ret = 0;

	memset(r, 0, sizeof(*r));
	r->n = c->n;
	r->latest_cv_fail = st == ARC_STRUCT_FAIL && c->n > 0 &&
	    (c->set[c->n - 1].have & (1u << ARC_AS)) &&
	    c->set[c->n - 1].cv == ARC_CV_FAIL;
	if (st == ARC_STRUCT_NONE)
		r->status = ARC_NONE;
	else if (n == 0)
		ret = -1;
	else {
		char *v = xstrndup(head + ours[0].off, ours[0].len);
		char *colon = strchr(v, ':');

		r->status = st == ARC_STRUCT_OK && colon != NULL &&
		    arc_aar_has_pass(colon + 1, "arc", NULL, NULL) ?
		    ARC_PASS : ARC_FAIL;
		free(v);
	}
	free(ours);
	free(c);
	return ret;
}

int
policy_arc_seal_redirect(const char *logid, struct msg_source *src,
    const char *head, size_t hlen, const char *domain, const char *hostname,
    struct buf *out)
{
	struct server_state *run = server_state_get();
	const struct dkim_key *k;
	unsigned char bh[DKIM_SHA256_LEN];
	struct arc_result chain;
	const char *why = NULL;
	int r = -1;

	if (run == NULL)
		return -1;
	if ((k = seal_key(run->dkim, domain)) == NULL)
		why = "no RSA DKIM key for the domain";
	else if (stored_chain(head, hlen, hostname, &chain) < 0)
		why = "a chain tem did not verify";
	else if (src_bodyhash(src, bh) < 0)
		why = "cannot read the body";
	else if ((r = arc_seal_head(head, hlen, bh, &chain, NULL, 0, hostname,
	    domain, k, time(NULL), out)) < 0)
		why = chain.latest_cv_fail ? "the chain ended in cv=fail" :
		    "cannot seal";
	if (why != NULL)
		log_debug("%s sieve arc no-seal domain=%s reason=\"%s\"", logid,
		    domain, why);
	else
		log_info("%s sieve arc sealed domain=%s instance=%u", logid,
		    domain, chain.status == ARC_NONE ? 1 : chain.n + 1);
	server_state_unref(&run);
	return r;
}
