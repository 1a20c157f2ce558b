/*
 * mta_route_tls - the TLS policy of each MX host of a route
 * (mta_tls_policy.h): no policy for the relay host or a route whose
 * messages all say "TLS-Required: No"; DANE when the MX and address
 * answers are DNSSEC-secure and the host's TLSA look-up (RFC 7672 2.2)
 * finds usable records; else the domain's MTA-STS answer; else
 * opportunistic TLS. Hosts a policy forbids are skipped before any
 * connection, with a 4.7.5 text and a TLS-RPT event.
 *
 * Trust: DNS answers are untrusted; only their DNSSEC status and the
 * parsed TLSA records (tlsa.c) steer the decision.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "conf/conf.h"
#include "dns/dns.h"
#include "mta/mta_int.h"
#include "mta/mta_sts.h"
#include "mta/mta_tls_policy.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* A host the policy forbids before any connection (result r): its error
   (a 4.7.x text) becomes the route's last error, the next host is tried. */
static void
route_host_refused(struct mta_route *r, const char *policy,
    enum tlsrpt_result res, const char *text)
{
	free(r->last_error);
	r->last_error = xstrdup(text);
	log_info("- mta tls-policy-failed dest=%s host=%s policy=%s result=%s "
	    "(%s)", r->key, r->mx->hosts[r->host_i].name, policy,
	    tlsrpt_result_name(res), text);
}

/* MTA-STS (or no policy) for hosts[host_i], once DANE does not apply. */
static enum mta_pol_step
route_sts_policy(struct mta_route *r)
{
	struct conf *c = mta_conf();
	const struct dns_mx_host *h = &r->mx->hosts[r->host_i];
	enum mta_tls_mode mode = MTA_TLS_OPPORTUNISTIC;
	bool listed = false;
	char *t;

	if (r->sts != NULL) {
		listed = mta_sts_policy_mx_ok(&r->sts->policy, h->name);
		mode = r->sts->policy.mode == MTA_STS_ENFORCE ?
		    MTA_TLS_STS_ENFORCE : MTA_TLS_STS_TESTING;
	}
	r->pol = mta_tls_policy_new(mode, r->key, h->name, c->tls_ca_file);
	r->pol->sts = r->sts;
	r->pol->mx_listed = listed;
	if (mode == MTA_TLS_STS_ENFORCE && !listed) {
		/* RFC 8461 4.1: only listed MX hosts, none other. */
		t = xasprintf("4.7.5 MX host %s is not listed in the MTA-STS "
		    "policy of %s", h->name, r->key);
		mta_tls_policy_note(r->pol, TLSRPT_VALIDATION_FAILURE, NULL,
		    NULL, NULL, "mx not listed in the policy");
		route_host_refused(r, "sts", TLSRPT_VALIDATION_FAILURE, t);
		free(t);
		mta_tls_policy_free(&r->pol);
		return MTA_POL_SKIP;
	}
	r->pol_for = r->host_i + 1;
	return MTA_POL_READY;
}

/* The TLSA answer of hosts[host_i] (RFC 7672 2.2). */
static void
route_tlsa_done(enum dns_status st, enum dns_sec sec, int n,
    const unsigned char *const *rr, const size_t *len, void *arg)
{
	struct mta_route *r = arg;
	const struct dns_mx_host *h = &r->mx->hosts[r->host_i];
	struct conf *c = mta_conf();
	char *t;

	r->dns = NULL;
	if (sec == DNS_SEC_BOGUS || st == DNS_TEMPFAIL) {
		/* 2.2: a secure zone whose TLSA answer cannot be had or
		   trusted: the host is unusable, never tried in clear. */
		r->pol = mta_tls_policy_new(MTA_TLS_DANE, r->key, h->name,
		    c->tls_ca_file);
		if (sec == DNS_SEC_BOGUS)
			mta_tls_policy_note(r->pol, TLSRPT_DNSSEC_INVALID,
			    NULL, NULL, NULL, "TLSA answer bogus");
		mta_tls_policy_free(&r->pol);
		t = xasprintf("4.7.5 TLSA look-up for %s %s", h->name,
		    sec == DNS_SEC_BOGUS ? "failed DNSSEC validation "
		    "(dnssec-invalid)" : "failed temporarily");
		route_host_refused(r, "dane", sec == DNS_SEC_BOGUS ?
		    TLSRPT_DNSSEC_INVALID : TLSRPT_TLSA_INVALID, t);
		free(t);
		r->host_i++;
		r->addr_i = 0;
		mta_route_try_next(r);
		return;
	}
	if (st == DNS_OK && sec == DNS_SEC_SECURE) {
		r->pol = mta_tls_policy_new(MTA_TLS_DANE, r->key, h->name,
		    c->tls_ca_file);
		for (int i = 0; i < n; i++)
			mta_tls_policy_add_tlsa(r->pol, rr[i], len[i]);
		if (r->pol->ntlsa > 0) {
			log_info("- mta dane dest=%s host=%s tlsa=%zu", r->key,
			    h->name, r->pol->ntlsa);
			r->pol_for = r->host_i + 1;
			mta_route_try_next(r);
			return;
		}
		mta_tls_policy_free(&r->pol);	/* none usable: 2.2 */
	}
	if (route_sts_policy(r) == MTA_POL_SKIP) {
		r->host_i++;
		r->addr_i = 0;
	}
	mta_route_try_next(r);
}

/* RFC 8689 3: every message of the route said "TLS-Required: No": the
   destination's DANE and MTA-STS policies are not applied, the messages
   go as with opportunistic TLS. (A batch where only some say so keeps the
   policy: the others must not lose it.) */
static bool
route_tls_optional(const struct mta_route *r)
{
	for (int i = 0; i < r->nitems; i++)
		if (!r->items[i].mm.tls_optional)
			return false;
	return r->nitems > 0;
}

/*
 * Sets r->pol for hosts[host_i]: no policy for the relay host, nor for a
 * route whose messages all said "TLS-Required: No"; DANE when
 * the MX and address answers are DNSSEC-secure and the TLSA look-up
 * (started here: MTA_POL_WAIT, route_tlsa_done goes on) finds usable
 * records; else the domain's MTA-STS policy, or opportunistic TLS.
 */
enum mta_pol_step
mta_route_host_policy(struct mta_route *r)
{
	struct conf *c = mta_conf();
	const struct dns_mx_host *h = &r->mx->hosts[r->host_i];
	char *name;

	mta_tls_policy_free(&r->pol);
	r->pol_for = 0;
	if (r->relay_host != NULL) {
		r->pol_for = r->host_i + 1;
		return MTA_POL_READY;
	}
	if (route_tls_optional(r)) {
		log_info("- mta tls-required-no dest=%s host=%s", r->key,
		    h->name);
		r->pol_for = r->host_i + 1;
		return MTA_POL_READY;
	}
	if (c->dane && r->mx->sec == DNS_SEC_SECURE &&
	    h->addr_sec == DNS_SEC_SECURE) {
		name = xasprintf("_25._tcp.%s", h->name);
		r->dns = dns_resolve_tlsa(mta_resolver(), name,
		    route_tlsa_done, r);
		free(name);
		return MTA_POL_WAIT;
	}
	return route_sts_policy(r);
}
