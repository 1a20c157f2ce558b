/*
 * check_auth - SPF, DKIM and DMARC of inbound mail as a check of the
 * message pipeline (the contract: check_auth.h; the runner: msg/check.h;
 * the DKIM signature of submitted mail: check_sign.c).
 *
 * DKIM never runs on the loop (check_dkim.c: the body tap and a worker);
 * only the look-ups (DNS) and the verdict are on the loop. Freeing a
 * check cancels its look-ups and detaches its DKIM job.
 *
 * Trust: everything checked here comes from the sender and the sender's
 * DNS; results only steer the verdict and go into our header.
 */
#include <stdlib.h>
#include <string.h>

#include "auth/resolve.h"
#include "mail/rfc5322.h"
#include "policy/authres.h"
#include "policy/check_auth.h"
#include "policy/check_int.h"
#include "policy/dkim_verify.h"
#include "policy/dmarc.h"
#include "policy/spf.h"
#include "report/report.h"
#include "server/state.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "util/metrics_list.h"

/* ---- inbound: SPF, DKIM, DMARC ------------------------------------------ */

struct auth_check {
	struct msg_check	*chk;
	struct msg_check_env	 env;		/* logid, msgid, hostname,
						   resolver, run stay valid */
	struct msg_check_msg	 m;		/* at the end */
	bool			 null_sender;
	char			*sender;	/* "" for <> */
	char			*sender_domain;	/* NULL for <> */
	struct spf_check	*spf;
	enum spf_result		 spf_res;
	char			*spf_domain;
	struct dkim_job		*job;		/* on the worker */
	struct dkim_verify	*dkim;
	struct dkim_results	*dkim_res;
	struct dmarc_check	*dmarc;
	struct dmarc_policy	*dmarc_pol;
	enum dmarc_lookup_status dmarc_st;
	char			*from_domain;
	enum dmarc_from_status	 from_st;
	int			 waiting;	/* checks not answered yet */
	bool			 at_end;	/* the message is over */
};

static void auth_decide(struct auth_check *p);

static void
auth_answered(struct auth_check *p)
{
	if (--p->waiting == 0 && p->at_end)
		auth_decide(p);
}

static void
spf_done(enum spf_result res, const char *expl, void *arg)
{
	struct auth_check *p = arg;

	(void)expl;
	p->spf = NULL;
	p->spf_res = res;
	log_info("%s %s spf result=%s domain=%s addr=%s", p->env.logid,
	    p->env.proto, spf_result_name(res), p->spf_domain, p->env.ip);
	auth_answered(p);
}

/* MAIL FROM accepted on the MX port: SPF starts now. */
static void *
auth_start(const struct msg_check_env *env, struct msg_check *chk)
{
	struct auth_check *p;
	const char *domain;
	char *sender;

	if (!env->inbound || env->resolver == NULL)
		return NULL;
	p = xcalloc(1, sizeof(*p));
	p->chk = chk;
	p->env = *env;
	p->null_sender = env->null_sender;
	p->sender = xstrdup(env->sender);
	p->sender_domain = env->null_sender ? NULL :
	    xstrdup(env->sender_domain);
	domain = env->null_sender ? env->helo : env->sender_domain;
	p->spf_domain = xstrdup(domain);
	sender = env->null_sender ? xasprintf("postmaster@%s", domain) :
	    xstrdup(env->sender);
	p->waiting = 1;
	p->spf = spf_check_start(env->resolver, env->peer, domain, sender,
	    env->helo, spf_done, p);
	free(sender);
	/* only what start() may read stays pointing into the session */
	p->env.peer = NULL;
	p->env.helo = p->env.sender = p->env.sender_domain = NULL;
	return p;
}

/* The header is complete: the body goes to DKIM when it is signed. */
static void *
auth_tap_begin(void *st, const char *head, size_t hlen)
{
	struct auth_check *p = st;

	if (!rfc5322_header_has(head, hlen, "DKIM-Signature"))
		return NULL;
	return dkim_job_new(p->env.run, false, head, hlen);
}

static void
dkim_done(struct dkim_results *res, void *arg)
{
	struct auth_check *p = arg;

	p->dkim = NULL;
	p->dkim_res = res;
	auth_answered(p);
}

/* The worker hashed the body and the header fields: the key look-ups. */
static void
auth_dkim_hashed(void *owner, struct dkim_job *j)
{
	struct auth_check *p = owner;

	p->job = NULL;
	p->dkim = dkim_verify_keys(p->env.resolver, j->v, dkim_done, p);
	j->v = NULL;
	dkim_job_free(j);
}

static void
dmarc_done(struct dmarc_policy *pol, enum dmarc_lookup_status st, void *arg)
{
	struct auth_check *p = arg;

	p->dmarc = NULL;
	p->dmarc_pol = pol;
	p->dmarc_st = st;
	auth_answered(p);
}

/* The end of the message: DKIM and DMARC join SPF. */
static void
auth_end(void *st, void *tap, const struct msg_check_msg *m)
{
	struct auth_check *p = st;
	struct dkim_job *j = tap;

	p->m = *m;
	p->from_st = dmarc_from_domain(m->head, m->hlen, &p->from_domain);
	p->waiting++;		/* DKIM: the worker, then the key look-ups */
	if (j == NULL && rfc5322_header_has(m->spool_head, m->spool_hlen,
	    "DKIM-Signature"))	/* the header never ended: no body */
		j = dkim_job_new(p->env.run, false, m->spool_head,
		    m->spool_hlen);
	if (j != NULL) {
		p->job = j;
		dkim_job_start(j, m, p->env.loop, auth_dkim_hashed, p);
	} else {		/* unsigned: "dkim=none", nothing to hash */
		struct dkim_verifier *v = dkim_verifier_begin(m->head, m->hlen,
		    time(NULL));

		dkim_verifier_body_end(v);
		p->dkim = dkim_verify_keys(p->env.resolver, v, dkim_done, p);
	}
	if (p->from_st == DMARC_FROM_OK && p->env.run->psl) {
		p->waiting++;
		p->dmarc = dmarc_check_start(p->env.resolver, p->env.run->psl,
		    p->from_domain, dmarc_done, p);
	}
	p->at_end = true;
	if (p->waiting == 0)
		auth_decide(p);
}

static enum dmarc_auth
spf_to_dmarc(enum spf_result r)
{
	switch (r) {
	case SPF_PASS: return DMARC_AUTH_PASS;
	case SPF_FAIL: case SPF_SOFTFAIL: return DMARC_AUTH_FAIL;
	case SPF_TEMPERROR: return DMARC_AUTH_TEMPERROR;
	case SPF_PERMERROR: return DMARC_AUTH_PERMERROR;
	default: return DMARC_AUTH_NONE;
	}
}

static enum dmarc_auth
dkim_to_dmarc(enum dkim_status st)
{
	switch (st) {
	case DKIM_PASS: return DMARC_AUTH_PASS;
	case DKIM_FAIL: return DMARC_AUTH_FAIL;
	case DKIM_TEMPERROR: return DMARC_AUTH_TEMPERROR;
	case DKIM_PERMERROR: return DMARC_AUTH_PERMERROR;
	default: return DMARC_AUTH_NONE;
	}
}

/* The A-R field's spf and dkim results; the DKIM results for DMARC. */
static struct dmarc_dkim_result *
auth_results_add(struct auth_check *p, struct authres *ar, size_t nd)
{
	struct dmarc_dkim_result *dr;

	authres_add(ar, "spf", spf_result_name(p->spf_res), NULL,
	    p->null_sender ? "smtp.helo" : "smtp.mailfrom",
	    p->null_sender ? p->spf_domain : p->sender, NULL);
	METRIC_INC(M_SPF, metrics_result_index(spf_result_name(p->spf_res)));
	if (nd == 0) {
		authres_add(ar, "dkim", "none", NULL, NULL);
		METRIC_INC(M_DKIM, MX_NONE);
	}
	dr = xcalloc(nd ? nd : 1, sizeof(*dr));
	for (size_t i = 0; i < nd; i++) {
		struct dkim_sig_result *g = &p->dkim_res->sig[i];
		authres_add(ar, "dkim", dkim_status_str(g->status), g->reason,
		    "header.d", g->domain, "header.s", g->selector,
		    "header.b", g->b_short, NULL);
		METRIC_INC(M_DKIM, metrics_result_index(dkim_status_str(
		    g->status)));
		dr[i].domain = g->domain ? g->domain : "";
		dr[i].result = dkim_to_dmarc(g->status);
	}
	return dr;
}

/* Counts this evaluation for the DMARC aggregate report (report.h). */
static void
auth_report(struct auth_check *p, enum dmarc_disposition disp)
{
	const struct dmarc_policy *pol = p->dmarc_pol;
	const struct psl *psl = p->env.run->psl;
	struct report_dmarc_event ev = {
		.source_ip = p->env.ip, .header_from = p->from_domain,
		.envelope_from = p->spf_domain, .pol = pol,
		.disposition = dmarc_disposition_str(disp),
		.spf_domain = p->spf_domain,
		.spf_scope = p->null_sender ? "helo" : "mfrom",
		.spf_result = spf_result_name(p->spf_res),
	};

	if (pol == NULL || pol->nrua == 0)
		return;
	ev.spf_aligned_pass = p->spf_res == SPF_PASS && dmarc_aligned(psl,
	    p->from_domain, p->spf_domain, pol->aspf_strict);
	if (p->dkim_res != NULL) {
		ev.dkim = p->dkim_res->sig;
		ev.ndkim = p->dkim_res->n;
		for (size_t i = 0; i < ev.ndkim; i++)
			if (ev.dkim[i].status == DKIM_PASS &&
			    ev.dkim[i].domain != NULL && dmarc_aligned(psl,
			    p->from_domain, ev.dkim[i].domain,
			    pol->adkim_strict))
				ev.dkim_aligned_pass = true;
	}
	report_note_dmarc(&ev);
}

/* All three answered: the verdict. Our Authentication-Results goes on
 * top; A-R fields from outside that claim our name leave the stored
 * header. */
static void
auth_decide(struct auth_check *p)
{
	struct dmarc_dkim_result *dr;
	enum dmarc_result dres = DMARC_RESULT_NONE;
	enum dmarc_disposition disp = DMARC_DISP_NONE;
	struct msg_verdict v;
	struct authres ar;
	char *hdr;
	size_t hlen, nd = p->dkim_res ? p->dkim_res->n : 0;

	msg_verdict_init(&v);
	authres_init(&ar, p->env.hostname);
	dr = auth_results_add(p, &ar, nd);
	if (p->from_st == DMARC_FROM_MULTIPLE ||
	    p->from_st == DMARC_FROM_INVALID) {
		v.action = MSG_REJECT;
		v.text = "Error: the message must have exactly one author "
		    "domain (RFC 7489 6.6.1)";
	} else if (p->from_domain) {
		if (p->dmarc_st == DMARC_LOOKUP_TEMPERROR)
			dres = DMARC_RESULT_TEMPERROR;
		else if (p->dmarc_pol)
			dres = dmarc_evaluate(p->dmarc_pol, p->from_domain, NULL,
			    spf_to_dmarc(p->spf_res), p->spf_domain, dr,
			    (int)nd, p->env.run->psl, &disp);
		dmarc_authres_add(&ar, dres, p->dmarc_pol, disp,
		    p->from_domain);
		if (dres == DMARC_RESULT_PASS || dres == DMARC_RESULT_FAIL)
			auth_report(p, disp);
		if (disp == DMARC_DISP_REJECT) {
			v.action = MSG_REJECT;
			v.text = "Error: rejected by the sender domain's DMARC "
			    "policy";
		} else if (disp == DMARC_DISP_QUARANTINE)
			v.action = MSG_QUARANTINE;
	}
	if (v.action == MSG_REJECT || p->spf_res != SPF_FAIL ||
	    p->m.acct == NULL)
		;	/* no snapshot: cannot tell whether the domain is ours */
	else if (!p->null_sender &&
	    acct_is_local_domain(p->m.acct, p->sender_domain)) {
		v.action = MSG_REJECT;
		v.text = "Error: SPF check failed for a sender in our own "
		    "domain";
	}
	if (v.action == MSG_REJECT)
		v.status = "5.7.1";
	free(dr);
	hdr = authres_finish(&ar, &hlen);
	log_info("%s %s auth-results msgid=%s spf=%s dkim=%zu dmarc=%s "
	    "disposition=%s from=<%s>", p->env.logid, p->env.proto,
	    p->env.msgid, spf_result_name(p->spf_res), nd,
	    dmarc_result_str(dres), dmarc_disposition_str(disp), p->sender);
	METRIC_INC(M_DMARC, metrics_result_index(dmarc_result_str(dres)));
	if (v.action != MSG_REJECT) {
		buf_append(&v.headers, hdr, hlen);
		if (authres_strip(p->m.head, p->m.hlen, p->env.hostname,
		    &v.head) > 0)
			v.head_set = true;
		else
			buf_free(&v.head);
	}
	free(hdr);
	msg_check_done(p->chk, &v);
}

static void
auth_free(void *st)
{
	struct auth_check *p = st;

	if (p->job != NULL)	/* on the worker: it frees itself */
		p->job->owner = NULL;
	spf_check_cancel(&p->spf);
	dkim_verify_cancel(&p->dkim);
	dmarc_check_cancel(&p->dmarc);
	dkim_results_free(&p->dkim_res);
	dmarc_policy_free(&p->dmarc_pol);
	free(p->spf_domain);
	free(p->from_domain);
	free(p->sender);
	free(p->sender_domain);
	free(p);
}

const struct msg_check_ops policy_check_auth = {
	.name = "auth",
	.start = auth_start,
	.tap_begin = auth_tap_begin,
	.tap = dkim_job_tap,
	.tap_free = dkim_job_free,
	.end = auth_end,
	.free = auth_free,
};
