/*
 * dmarc - the RFC5322.From domain, identifier alignment and the DMARC
 * disposition (RFC 7489 3.1, 6.6.1, 6.6.2, 6.6.4; np from RFC 9091).
 * No I/O: the DNS part is dmarc_lookup.c, the record parser
 * dmarc_record.c.
 *
 * Trust: From fields, MAIL FROM/HELO domains and DKIM d= values are
 * untrusted; every domain goes through psl_domain_to_ascii(), which
 * refuses anything that is not a plain name, before it is compared.
 * Callers: the inbound SMTP session, tests, fuzz/fuzz-dmarc.c.
 */
#include <stdlib.h>
#include <string.h>

#include "dns/dns_rr.h"
#include "mail/rfc5322.h"
#include "policy/authres.h"
#include "policy/dmarc.h"
#include "policy/psl.h"
#include "util/xmalloc.h"

/* ------------------------------------------------------------------ */
/* RFC5322.From */

/* The domain of one address in ASCII form, or NULL when unusable. */
static char *
from_host(const char *host)
{
	char *d = psl_domain_to_ascii(host);

	if (d != NULL && !dns_name_valid(d))
		XFREE(&d);
	return d;
}

/* Folds the addresses of one From field into *domain_r. */
static enum dmarc_from_status
from_addrs(const struct rfc5322_addr *a, char **domain_r)
{
	enum dmarc_from_status st = DMARC_FROM_NONE;

	for (; a != NULL; a = a->next) {
		char *d;

		if (a->host == NULL)
			continue;		/* group start or end */
		if ((d = from_host(a->host)) == NULL)
			return DMARC_FROM_INVALID;
		if (*domain_r != NULL && strcmp(*domain_r, d) != 0) {
			free(d);
			return DMARC_FROM_MULTIPLE;
		}
		free(*domain_r);
		*domain_r = d;
		st = DMARC_FROM_OK;
	}
	return st;
}

enum dmarc_from_status
dmarc_from_domain(const char *hdr, size_t len, char **domain_r)
{
	struct rfc5322_iter it;
	struct rfc5322_field f, from = { 0 };
	struct rfc5322_addr *list;
	enum dmarc_from_status st;
	int nfrom = 0;

	*domain_r = NULL;
	rfc5322_iter_init(&it, hdr, len);
	while (rfc5322_iter_next(&it, &f)) {
		if (rfc5322_field_is(&f, "From") && nfrom++ == 0)
			from = f;
	}
	if (nfrom > 1)
		return DMARC_FROM_MULTIPLE;
	if (nfrom == 0)
		return DMARC_FROM_NONE;
	list = rfc5322_addr_parse(from.value, from.value_len);
	st = from_addrs(list, domain_r);
	rfc5322_addr_free(&list);
	if (st != DMARC_FROM_OK)
		XFREE(domain_r);
	return st;
}

const char *
dmarc_from_status_str(enum dmarc_from_status st)
{
	switch (st) {
	case DMARC_FROM_OK:		return "ok";
	case DMARC_FROM_NONE:		return "none";
	case DMARC_FROM_MULTIPLE:	return "multiple";
	case DMARC_FROM_INVALID:	return "invalid";
	}
	return "?";
}

/* ------------------------------------------------------------------ */
/* Alignment */

bool
dmarc_aligned(const struct psl *psl, const char *from_domain,
    const char *domain, bool strict)
{
	char *a, *b, *oa = NULL, *ob = NULL;
	bool eq = false;

	if (from_domain == NULL || domain == NULL)
		return false;
	a = psl_domain_to_ascii(from_domain);
	b = psl_domain_to_ascii(domain);
	if (a != NULL && b != NULL) {
		if (strict) {
			eq = strcmp(a, b) == 0;
		} else {
			oa = psl_org_domain(psl, a);
			ob = psl_org_domain(psl, b);
			eq = oa != NULL && ob != NULL && strcmp(oa, ob) == 0;
		}
	}
	free(a);
	free(b);
	free(oa);
	free(ob);
	return eq;
}

/* ------------------------------------------------------------------ */
/* Evaluation */

static unsigned (*pct_roll)(void *);
static void *pct_roll_arg;

void
dmarc_set_pct_roll(unsigned (*roll)(void *arg), void *arg)
{
	pct_roll = roll;
	pct_roll_arg = arg;
}

static unsigned
roll_0_99(void)
{
	if (pct_roll != NULL)
		return pct_roll(pct_roll_arg) % 100;
	return arc4random_uniform(100);
}

/* The policy requested for this From domain (6.6.2, RFC 9091 4). */
static enum dmarc_disposition
requested(const struct dmarc_policy *pol)
{
	if (!pol->at_org)
		return pol->p;
	if (pol->from_nonexistent)
		return pol->np;
	return pol->sp;
}

/* pct (6.6.4): a failing message not sampled gets the next milder
 * disposition. */
static enum dmarc_disposition
sampled(const struct dmarc_policy *pol, enum dmarc_disposition d)
{
	if (d == DMARC_DISP_NONE || pol->pct >= 100 || roll_0_99() < pol->pct)
		return d;
	return d == DMARC_DISP_REJECT ? DMARC_DISP_QUARANTINE :
	    DMARC_DISP_NONE;
}

/* Alignment relative to the From domain's Organizational Domain org. */
static bool
aligned_org(const struct psl *psl, const char *from, const char *org,
    const char *domain, bool strict)
{
	char *d, *o;
	bool eq;

	if (strict || org == NULL)
		return dmarc_aligned(psl, from, domain, strict);
	d = psl_domain_to_ascii(domain);
	o = d ? psl_org_domain(psl, d) : NULL;
	eq = o != NULL && dns_name_equal(o, org);
	free(d);
	free(o);
	return eq;
}

enum dmarc_result
dmarc_evaluate(const struct dmarc_policy *pol, const char *from_domain,
    const char *org_from, enum dmarc_auth spf_result, const char *spf_domain,
    const struct dmarc_dkim_result *dkim, int ndkim, const struct psl *psl,
    enum dmarc_disposition *disp_r)
{
	enum dmarc_disposition dummy;
	bool pass, temp;
	char *org_own = NULL, *from_a;
	bool spf_al;

	if (disp_r == NULL)
		disp_r = &dummy;
	*disp_r = DMARC_DISP_NONE;
	if (pol == NULL)
		return DMARC_RESULT_NONE;
	from_a = psl_domain_to_ascii(from_domain);
	if (org_from != NULL)
		org_own = psl_domain_to_ascii(org_from);
	else if (from_a != NULL)
		org_own = psl_org_domain(psl, from_a);
	spf_al = aligned_org(psl, from_a, org_own, spf_domain,
	    pol->aspf_strict);
	pass = spf_al && spf_result == DMARC_AUTH_PASS;
	temp = spf_al && spf_result == DMARC_AUTH_TEMPERROR;
	for (int i = 0; i < ndkim && !pass; i++) {
		if (!aligned_org(psl, from_a, org_own, dkim[i].domain,
		    pol->adkim_strict))
			continue;
		pass = dkim[i].result == DMARC_AUTH_PASS;
		temp |= dkim[i].result == DMARC_AUTH_TEMPERROR;
	}
	free(from_a);
	free(org_own);
	if (pass)
		return DMARC_RESULT_PASS;
	if (temp)
		return DMARC_RESULT_TEMPERROR;
	*disp_r = sampled(pol, requested(pol));
	return DMARC_RESULT_FAIL;
}

const char *
dmarc_override_str(enum dmarc_override o)
{
	switch (o) {
	case DMARC_OVERRIDE_NONE:		return "none";
	case DMARC_OVERRIDE_TRUSTED_FORWARDER:	return "trusted_forwarder";
	case DMARC_OVERRIDE_LOCAL_POLICY:	return "local_policy";
	}
	return "?";
}

const char *
dmarc_result_str(enum dmarc_result r)
{
	switch (r) {
	case DMARC_RESULT_NONE:		return "none";
	case DMARC_RESULT_PASS:		return "pass";
	case DMARC_RESULT_FAIL:		return "fail";
	case DMARC_RESULT_TEMPERROR:	return "temperror";
	case DMARC_RESULT_PERMERROR:	return "permerror";
	}
	return "?";
}

void
dmarc_authres_add(struct authres *ar, enum dmarc_result res,
    const struct dmarc_policy *pol, enum dmarc_disposition disp,
    const char *from_domain)
{
	char *comment = NULL;

	if (pol != NULL)
		comment = xasprintf("p=%s dis=%s",
		    dmarc_disposition_str(requested(pol)),
		    dmarc_disposition_str(disp));
	authres_add(ar, "dmarc", dmarc_result_str(res), comment,
	    "header.from", from_domain, NULL);
	free(comment);
}
