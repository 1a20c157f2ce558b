/*
 * dns_dnssec - DNSSEC validation of a resolver's answers (dns.h): the
 * trust anchor that turns libunbound's validator on, and the names of the
 * security statuses. Which answer is secure, insecure or bogus is
 * libunbound's verdict (ub_result secure/bogus); dns_result.c carries it
 * into results, dns.c makes a bogus answer a DNS_TEMPFAIL.
 *
 * Trust: the anchor file is local configuration (dns_trust_anchor_file),
 * read by libunbound; answers are untrusted and judged by the validator.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unbound.h>

#include "dns/dns_int.h"
#include "util/log.h"
#include "util/xmalloc.h"

const char *
dns_sec_str(enum dns_sec sec)
{
	switch (sec) {
	case DNS_SEC_INSECURE:	return "insecure";
	case DNS_SEC_SECURE:	return "secure";
	case DNS_SEC_BOGUS:	return "bogus";
	}
	return "?";
}

/*
 * The validator runs in front of the iterator; libunbound then sets the
 * DO bit on what it sends to a forwarder. libunbound reads the file only
 * when the first query finalizes the context (then a failure would make
 * every query fail): read it here first to report a bad file at start-up.
 */
int
dns_resolver_set_trust_anchor(struct dns_resolver *r, const char *file,
    char **error_r)
{
	FILE *f = fopen(file, "r");
	int ret;

	*error_r = NULL;
	if (f == NULL) {
		*error_r = xasprintf("dns_trust_anchor_file %s: %s", file,
		    strerror(errno));
		return -1;
	}
	fclose(f);
	ret = ub_ctx_set_option(r->ctx, "module-config:",
	    "validator iterator");
	/* The special-use names left to the server asked (dns_ub_options)
	 * are local, unsigned by nature: a local zone there is insecure, not
	 * bogus against the root's proof that it does not exist. A trust
	 * anchor for such a zone itself still secures it. */
	if (ret == 0)
		ret = ub_ctx_set_option(r->ctx, "domain-insecure:", "test.");
	if (ret == 0)
		ret = ub_ctx_set_option(r->ctx, "domain-insecure:",
		    "home.arpa.");
	if (ret == 0)
		ret = ub_ctx_add_ta_file(r->ctx, file);
	if (ret != 0) {
		*error_r = xasprintf("libunbound: dns_trust_anchor_file %s: %s",
		    file, ub_strerror(ret));
		return -1;
	}
	return 0;
}

struct dns_resolver *
dns_resolver_open(struct loop *l, const char *server, const char *anchor,
    char **error_r)
{
	struct dns_resolver *r = dns_resolver_new(l, server, error_r);

	if (r != NULL && anchor != NULL && strcmp(anchor, "none") != 0 &&
	    dns_resolver_set_trust_anchor(r, anchor, error_r) < 0)
		dns_resolver_free(&r);
	return r;
}

bool
dns_bogus(const struct ub_result *res, const char **why_r)
{
	if (!res->bogus)
		return false;
	log_info("- dns bogus name=%s type=%d why=\"%s\"",
	    res->qname ? res->qname : "?", res->qtype,
	    res->why_bogus ? res->why_bogus : "?");
	*why_r = "DNSSEC bogus";
	return true;
}
