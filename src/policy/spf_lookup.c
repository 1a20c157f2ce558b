/*
 * spf_lookup - the SPF mechanisms that query DNS: a, mx, ptr and exists
 * (RFC 7208 5.3-5.7), and the validation of the client's PTR names for
 * ptr and %{p} (5.5), on the evaluator's state (spf_int.h, spf.c).
 *
 * Trust: DNS answers are untrusted; only addresses and names parsed by
 * dns.h reach here. What counts as void, and why a DNS error is temperror
 * wherever a match could hide behind it (also when only the client's
 * address family failed), is told at the top of spf.c.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_rr.h"
#include "policy/spf_int.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* ------------------------------------------------------------------ */
/* PTR validation (RFC 7208 5.5), for ptr and %{p} */

static void
spf_ptr_finish(struct spf_check *c)
{
	spf_step_fn *then = c->ptr_then;

	c->ptr_state = SPF_PTR_DONE;
	c->ptr_then = NULL;
	then(c);
}

static void
spf_ptr_addr_cb(const struct dns_addrs *res, void *arg)
{
	struct spf_slot *s = arg;
	struct spf_check *c = spf_slot_done(s);
	int i = s->idx - 1;

	for (int k = 0; k < res->n && !c->ptr_ok[i]; k++)
		c->ptr_ok[i] = spf_addr_match(c, &res->addr[k],
		    c->fam == AF_INET ? 32 : 128);
	if (spf_fam_status(c, res->fam) == DNS_TEMPFAIL && !c->ptr_ok[i])
		c->ptr_fail[i] = true;
	else if (spf_count_family(c, res->n, res->addr) == 0)
		c->ptr_voids++;		/* no address: void */
	if (c->pending == 0)
		spf_ptr_finish(c);
}

static void
spf_ptr_cb(enum dns_status st, int n, char **names, void *arg)
{
	struct spf_check *c = spf_slot_done(arg);
	struct dns_addr lit;

	if (st == DNS_NXDOMAIN || st == DNS_NODATA || (st == DNS_OK && n == 0))
		c->ptr_voids++;
	c->ptr_temp = st == DNS_TEMPFAIL;
	for (int i = 0; st == DNS_OK && i < n && c->nptr < SPF_MAX_PTR; i++) {
		struct spf_slot *s;
		int k = c->nptr++;

		c->ptr_name[k] = xstrdup(names[i]);
		if (dns_addr_literal(names[i], &lit)) {
			c->ptr_voids++;		/* a name, not an address */
			continue;
		}
		s = spf_slot(c, k + 1);
		spf_slot_started(c, s, c->ops->addr(c->ctx, names[i],
		    spf_ptr_addr_cb, s));
	}
	if (c->pending == 0)
		spf_ptr_finish(c);
}

/* Runs then(c) once the client's names are validated (maybe at once). */
static void
spf_ptr_validate(struct spf_check *c, spf_step_fn *then)
{
	struct spf_slot *s;

	if (c->ptr_state == SPF_PTR_DONE) {
		then(c);
		return;
	}
	TEM_ASSERT(c->ptr_state == SPF_PTR_NONE);
	c->ptr_state = SPF_PTR_RUNNING;
	c->ptr_then = then;
	s = spf_slot(c, 0);
	spf_slot_started(c, s, c->ops->ptr(c->ctx, &c->ip, spf_ptr_cb, s));
}

/* Runs then(c) once spec can be expanded (%{p} known). */
void
spf_with_macros(struct spf_check *c, const char *spec, spf_step_fn *then)
{
	if (spec != NULL && spf_macro_uses_p(spec, strlen(spec)))
		spf_ptr_validate(c, then);
	else
		then(c);
}

/* ------------------------------------------------------------------ */
/* Mechanisms that query DNS */

static void
spf_term_end(struct spf_check *c, bool match)
{
	if (match)
		spf_frame_result(c, spf_cur_term(c)->qual);
	else
		spf_run(c);
}

static void
spf_a_cb(const struct dns_addrs *res, void *arg)
{
	struct spf_check *c = spf_slot_done(arg);
	const struct spf_term *t = spf_cur_term(c);
	unsigned bits = c->fam == AF_INET ? t->cidr4 : t->cidr6;
	bool match = false;

	for (int i = 0; i < res->n && !match; i++)
		match = spf_addr_match(c, &res->addr[i], bits);
	if (!match && spf_fam_status(c, res->fam) == DNS_TEMPFAIL) {
		spf_error(c, SPF_TEMPERROR, "DNS error looking up %s",
		    c->target);
		return;
	}
	if (!match && spf_count_family(c, res->n, res->addr) == 0 &&
	    spf_count_void(c, 1) < 0)
		return;
	spf_term_end(c, match);
}

static void
spf_exists_cb(const struct dns_addrs *res, void *arg)
{
	struct spf_check *c = spf_slot_done(arg);
	bool match = false;

	for (int i = 0; i < res->n; i++)
		match |= res->addr[i].ss.ss_family == AF_INET;	/* A (5.7) */
	if (!match && res->fam[DNS_FAM_A] == DNS_TEMPFAIL) {
		spf_error(c, SPF_TEMPERROR, "DNS error looking up %s",
		    c->target);
		return;
	}
	if (!match && spf_count_void(c, 1) < 0)
		return;
	spf_term_end(c, match);
}

/* Matches, or counts void hosts and temporary failures. */
static bool
spf_mx_hosts(struct spf_check *c, const struct dns_mx_result *res,
    bool *temp_r, int *void_r)
{
	const struct spf_term *t = spf_cur_term(c);
	unsigned bits = c->fam == AF_INET ? t->cidr4 : t->cidr6;

	for (int i = 0; i < res->nhosts; i++) {
		const struct dns_mx_host *h = &res->hosts[i];

		for (int k = 0; k < h->naddr; k++) {
			if (spf_addr_match(c, &h->addr[k], bits))
				return true;
		}
		if (spf_fam_status(c, h->addr_fam) == DNS_TEMPFAIL)
			*temp_r = true;		/* it might have matched */
		else if (spf_count_family(c, h->naddr, h->addr) == 0)
			(*void_r)++;
	}
	return false;
}

static void
spf_mx_cb(struct dns_mx_result *res, void *arg)
{
	struct spf_check *c = spf_slot_done(arg);
	bool temp = false, match = false;
	int voids = 0;

	if (res->implicit || res->status == DNS_NXDOMAIN) {
		voids = 1;		/* no MX record at all */
	} else if (res->status == DNS_NULL_MX) {
		;			/* "MX 0 .": no host, not void */
	} else if (res->nhosts > SPF_MAX_MX) {
		dns_mx_result_free(res);
		spf_error(c, SPF_PERMERROR, "more than %d MX records for %s",
		    SPF_MAX_MX, c->target);
		return;
	} else if (res->nhosts == 0) {
		temp = res->status == DNS_TEMPFAIL;
	} else {
		match = spf_mx_hosts(c, res, &temp, &voids);
	}
	dns_mx_result_free(res);
	if (!match && temp) {
		spf_error(c, SPF_TEMPERROR, "DNS error looking up MX of %s",
		    c->target);
		return;
	}
	if (!match && voids > 0 && spf_count_void(c, voids) < 0)
		return;
	spf_term_end(c, match);
}

static void
spf_ptr_term(struct spf_check *c)
{
	bool match = false, temp = c->ptr_temp;

	if (spf_count_void(c, c->ptr_voids) < 0)
		return;
	for (int i = 0; i < c->nptr && !match; i++) {
		if (!spf_name_within(c->ptr_name[i], c->target))
			continue;
		match = c->ptr_ok[i];
		temp |= c->ptr_fail[i];	/* it might have matched */
	}
	if (!match && temp) {
		spf_error(c, SPF_TEMPERROR, "DNS error validating the client's "
		    "PTR names");
		return;
	}
	spf_term_end(c, match);
}

static void
spf_include(struct spf_check *c)
{
	struct spf_frame *f = xmalloc(sizeof(*f));

	f->domain = c->target;
	c->target = NULL;
	f->up = c->frame;
	c->frame = f;
	spf_fetch(c);
}

/* The term's domain is known (%{p} validated if used): look it up. */
void
spf_term_start(struct spf_check *c)
{
	const struct spf_term *t = spf_cur_term(c);
	struct spf_slot *s;
	struct dns_addr lit;

	XFREE(&c->target);
	c->target = t->domain ? spf_expand(c, t->domain, SPF_MACRO_DOMAIN) :
	    xstrdup(c->frame->domain);
	if (c->target == NULL)
		return;
	if (t->mech == SPF_MECH_INCLUDE) {
		spf_include(c);
		return;
	}
	if (t->mech == SPF_MECH_PTR) {
		spf_ptr_validate(c, spf_ptr_term);
		return;
	}
	if (t->mech != SPF_MECH_MX && dns_addr_literal(c->target, &lit)) {
		if (spf_count_void(c, 1) == 0)
			spf_run(c);	/* an address is no host name */
		return;
	}
	s = spf_slot(c, 0);
	if (t->mech == SPF_MECH_MX)
		spf_slot_started(c, s, c->ops->mx(c->ctx, c->target,
		    spf_mx_cb, s));
	else
		spf_slot_started(c, s, c->ops->addr(c->ctx, c->target,
		    t->mech == SPF_MECH_A ? spf_a_cb : spf_exists_cb, s));
}
