/*
 * dmarc_lookup - DMARC policy discovery over DNS (RFC 7489 6.6.3; the
 * non-existence check of RFC 9091 4).
 *
 * Trust: the From domain is untrusted (converted and checked before it
 * is looked up: an unusable name is answered "none" by the resolver, as
 * NXDOMAIN); TXT answers are untrusted and go through dmarc_record_parse.
 * Runs on one loop thread (the resolver's); the only state is the check
 * itself, freed before its callback runs. Callers: the inbound SMTP
 * session, src/policy/test-dmarc-tool.c.
 *
 * Steps: _dmarc.FROM TXT; when it holds no DMARC record, _dmarc.ORG TXT;
 * when the policy found at ORG has an np different from sp, an MX look-up
 * of FROM (which also tries A/AAAA when there is no MX) decides whether
 * FROM exists. Any DNS_TEMPFAIL ends the check with TEMPERROR.
 */
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"
#include "policy/dmarc.h"
#include "policy/psl.h"
#include "util/xmalloc.h"

struct dmarc_check {
	struct dns_resolver	*r;
	char			*from;		/* ASCII form (or as given) */
	char			*org;		/* NULL: same as from */
	bool			 at_org;	/* asking _dmarc.ORG now */
	struct dns_request	*req;
	struct dmarc_policy	*pol;
	void			(*done)(struct dmarc_policy *,
				    enum dmarc_lookup_status, void *);
	void			*arg;
};

static void check_txt_cb(enum dns_status st, int n, char **txt, void *arg);

/* Frees the check, then answers (the callback may start a new one). */
static void
check_finish(struct dmarc_check *c, enum dmarc_lookup_status st)
{
	void (*done)(struct dmarc_policy *, enum dmarc_lookup_status,
	    void *) = c->done;
	struct dmarc_policy *pol = st == DMARC_LOOKUP_OK ? c->pol : NULL;
	void *arg = c->arg;

	if (pol == NULL)
		dmarc_policy_free(&c->pol);
	free(c->from);
	free(c->org);
	free(c);
	done(pol, st, arg);
}

static void
check_query(struct dmarc_check *c, const char *domain)
{
	char *name = xasprintf("_dmarc.%s", domain);

	c->req = dns_resolve_txt(c->r, name, check_txt_cb, c);
	free(name);
}

static void
check_mx_cb(struct dns_mx_result *res, void *arg)
{
	struct dmarc_check *c = arg;
	bool has_mx = res->nhosts > 0 && !res->implicit;
	enum dns_status st = res->status;

	c->req = NULL;
	dns_mx_result_free(res);
	if (st == DNS_OK || st == DNS_NULL_MX || has_mx) {
		check_finish(c, DMARC_LOOKUP_OK);
	} else if (st == DNS_TEMPFAIL) {
		check_finish(c, DMARC_LOOKUP_TEMPERROR);
	} else {
		c->pol->from_nonexistent = true;	/* NXDOMAIN, NODATA */
		check_finish(c, DMARC_LOOKUP_OK);
	}
}

/* A policy was found: record where, then maybe check FROM exists. */
static void
check_found(struct dmarc_check *c, struct dmarc_policy *pol)
{
	c->pol = pol;
	pol->at_org = c->at_org;
	pol->domain = xstrdup(c->at_org ? c->org : c->from);
	if (c->at_org && pol->np != pol->sp) {
		c->req = dns_resolve_mx(c->r, c->from, check_mx_cb, c);
		return;
	}
	check_finish(c, DMARC_LOOKUP_OK);
}

static void
check_txt_cb(enum dns_status st, int n, char **txt, void *arg)
{
	struct dmarc_check *c = arg;
	struct dmarc_policy *pol = NULL, *p;
	enum dmarc_parse_status one = DMARC_PARSE_NOT_DMARC;
	int nrec = 0;

	c->req = NULL;
	if (st == DNS_TEMPFAIL) {
		check_finish(c, DMARC_LOOKUP_TEMPERROR);
		return;
	}
	for (int i = 0; st == DNS_OK && i < n; i++) {
		enum dmarc_parse_status ps = dmarc_record_parse(txt[i],
		    strlen(txt[i]), &p);

		if (ps == DMARC_PARSE_NOT_DMARC)
			continue;
		nrec++;
		one = ps;
		dmarc_policy_free(&pol);
		pol = p;
	}
	if (nrec == 0 && !c->at_org && c->org != NULL) {
		c->at_org = true;
		check_query(c, c->org);
		return;
	}
	if (nrec != 1 || one != DMARC_PARSE_OK) {
		dmarc_policy_free(&pol);
		check_finish(c, nrec == 0 ? DMARC_LOOKUP_NONE : nrec > 1 ?
		    DMARC_LOOKUP_MULTIPLE : DMARC_LOOKUP_INVALID);
		return;
	}
	check_found(c, pol);
}

struct dmarc_check *
dmarc_check_start(struct dns_resolver *r, const struct psl *psl,
    const char *from_domain,
    void (*done)(struct dmarc_policy *pol, enum dmarc_lookup_status st,
    void *arg), void *arg)
{
	struct dmarc_check *c = xmalloc(sizeof(*c));

	c->r = r;
	c->done = done;
	c->arg = arg;
	c->from = psl_domain_to_ascii(from_domain);
	if (c->from == NULL) {
		/* Not a name: "_dmarc.." is refused by the resolver, which
		 * answers NXDOMAIN later (never from inside this call). */
		c->from = xstrdup(".");
	} else {
		c->org = psl_org_domain(psl, c->from);
		if (c->org != NULL && strcmp(c->org, c->from) == 0)
			XFREE(&c->org);
	}
	check_query(c, c->from);
	return c;
}

void
dmarc_check_cancel(struct dmarc_check **cp)
{
	struct dmarc_check *c = *cp;

	if (c == NULL)
		return;
	dns_cancel(&c->req);
	dmarc_policy_free(&c->pol);
	free(c->from);
	free(c->org);
	XFREE(cp);
}

const char *
dmarc_lookup_status_str(enum dmarc_lookup_status st)
{
	switch (st) {
	case DMARC_LOOKUP_OK:		return "ok";
	case DMARC_LOOKUP_NONE:		return "none";
	case DMARC_LOOKUP_MULTIPLE:	return "multiple";
	case DMARC_LOOKUP_INVALID:	return "invalid";
	case DMARC_LOOKUP_TEMPERROR:	return "temperror";
	}
	return "?";
}
