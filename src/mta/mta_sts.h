/*
 * mta_sts - the MTA-STS policy of a recipient domain for outbound
 * delivery (RFC 8461 3, 5): "_mta-sts" TXT look-up, the policy fetched
 * from https://mta-sts.DOMAIN/.well-known/mta-sts.txt with PKIX
 * verification (system CAs plus tls_ca_file), a cache (memory, and
 * data_dir/mta-sts/ so a restart keeps it) honouring max_age and the
 * TXT id, and a background refresh of cached policies before they expire.
 *
 * Contract between the delivery engine (mta_route.c, caller) and the
 * MTA-STS module (implementation). Nothing here blocks the engine's
 * loop: DNS goes through the engine's resolver, HTTPS and disk elsewhere.
 *
 * Thread: the delivery engine's (mta_loop()).
 *
 * Implementation: mta_sts.c (look-ups, fetch sharing, refresh),
 * mta_sts_cache.c (5.1 decisions, limits, disk form), mta_sts_fetch.c
 * (HTTPS on two threads of its own: connect timeout 10 s, whole fetch
 * 30 s, body ≤ MTA_STS_BODY_MAX, text/plain, HTTP 200, no redirects).
 * A failed fetch is held for 5 minutes per domain and TXT id: look-ups
 * meanwhile get the same answer without a new fetch.
 * Log lines (id "-"): "mta-sts policy domain=D id=I mode=M max_age=S
 * mx=N" for each new policy, "mta-sts fetch-failed domain=D id=I
 * error=..." for each failed fetch.
 *
 * Test only: the environment variable TEM_TEST_MTA_STS_PORT, read at
 * mta_sts_init, makes the policy fetch use that port instead of 443
 * (tests run the policy server on loopback without privileges). Never
 * set it in production.
 */
#ifndef TEM_MTA_MTA_STS_H
#define TEM_MTA_MTA_STS_H

#include <stddef.h>

#include "policy/mta_sts_policy.h"
#include "policy/tlsrpt.h"

struct conf;
struct loop;
struct dns_resolver;
struct mta_sts_request;

struct mta_sts_answer {
	/*
	 * The policy to apply, or NULL: no policy (no TXT record, mta_sts =
	 * no, mode none, or none could be had: RFC 8461 5 "as if there were
	 * no policy" when nothing is cached). A cached policy is used when a
	 * refresh fails.
	 */
	const struct mta_sts_policy *policy;
	/* The policy body's lines, for TLS-RPT's policy-string (n 0 when
	   policy is NULL). */
	const char *const	*lines;
	size_t			 nlines;
	/* When a TXT record announced a policy that could not be had (and
	   none was cached): TLSRPT_STS_POLICY_FETCH_ERROR or
	   TLSRPT_STS_POLICY_INVALID, with a short text for logs and
	   reports; TLSRPT_SUCCESS otherwise. */
	enum tlsrpt_result	 failure;
	const char		*failure_text;
};

/*
 * Called once, on a later loop turn, with the answer; a is valid only
 * during the call (copy what must outlive it, or take a reference).
 */
typedef void mta_sts_cb(const struct mta_sts_answer *a, void *arg);

/*
 * Starts the look-up for domain (lowercase, no final dot) on the engine's
 * loop and resolver. A cached, fresh policy whose id the TXT record still
 * names answers without a fetch. Returns a request to cancel, never NULL.
 */
struct mta_sts_request *mta_sts_lookup(struct loop *loop,
    struct dns_resolver *res, const char *domain, mta_sts_cb *cb, void *arg);
/* Cancels a look-up whose callback has not run; *req set to NULL. */
void mta_sts_cancel(struct mta_sts_request **req);

/* The engine's start and stop (engine thread): load the disk cache,
   start and stop the background refresh. c is the running config. */
void mta_sts_init(const struct conf *c, struct loop *loop,
    struct dns_resolver *res);
void mta_sts_shutdown(void);

#endif
