/*
 * smtp_policy - sender authentication of inbound mail (SPF, DKIM, DMARC)
 * and DKIM signing of submitted mail, between the end of DATA and the
 * store.
 *
 * Inbound (port 25, not authenticated):
 *   MAIL FROM   starts SPF for the MAIL FROM domain (the HELO name for the
 *               null sender), in the background;
 *   end of DATA starts DKIM verification and the DMARC look-up of the
 *               From domain, in parallel, then waits for all three;
 *   decision    a local domain in MAIL FROM failing SPF: 550 5.7.1; a
 *               message without a single From domain: 550 5.7.1 (RFC
 *               7489 6.6.1); DMARC p=reject failing: 550 5.7.1;
 *               p=quarantine failing: filed in the recipients' Junk;
 *               anything else is delivered. DNS trouble never rejects:
 *               it shows as temperror in the header;
 *   header      Authentication-Results naming our hostname on top; any
 *               such field from outside that claims our name is removed
 *               first (after DKIM has seen the message as it came).
 * Submission (authenticated): the message is DKIM-signed with the newest
 * keys of its From domain (else its MAIL FROM domain) when that domain has
 * keys, before it is stored or queued.
 *
 * Trust: everything checked here comes from the sender and the sender's
 * DNS; results only steer the decision above and go into our header.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf.h"
#include "policy/authres.h"
#include "policy/dkim.h"
#include "policy/dkim_keys.h"
#include "policy/dkim_verify.h"
#include "policy/dmarc.h"
#include "policy/spf.h"
#include "smtp/smtp_session.h"
#include "util/io.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct smtp_policy {
	struct spf_check	*spf;
	bool			 spf_done;
	enum spf_result		 spf_res;
	char			*spf_domain;
	struct dkim_verify	*dkim;
	struct dkim_results	*dkim_res;
	struct dmarc_check	*dmarc;
	struct dmarc_policy	*dmarc_pol;
	enum dmarc_lookup_status dmarc_st;
	char			*from_domain;
	enum dmarc_from_status	 from_st;
	int			 waiting;	/* checks not answered yet */
	bool			 at_end;	/* DATA is over */
};

static void smtp_policy_decide(struct smtp_session *s);

void
smtp_policy_reset(struct smtp_session *s)
{
	struct smtp_policy *p = s->policy;

	if (p == NULL)
		return;
	spf_check_cancel(&p->spf);
	dkim_verify_cancel(&p->dkim);
	dmarc_check_cancel(&p->dmarc);
	dkim_results_free(&p->dkim_res);
	dmarc_policy_free(&p->dmarc_pol);
	free(p->spf_domain);
	free(p->from_domain);
	free(p);
	s->policy = NULL;
}

static void
smtp_policy_answered(struct smtp_session *s)
{
	struct smtp_policy *p = s->policy;

	/* closing (a timeout while the checks ran): its close cancels them */
	if (--p->waiting == 0 && p->at_end && smtp_open(s))
		smtp_policy_decide(s);
}

static void
spf_done(enum spf_result res, const char *expl, void *arg)
{
	struct smtp_session *s = arg;
	struct smtp_policy *p = s->policy;

	(void)expl;
	p->spf = NULL;
	p->spf_done = true;
	p->spf_res = res;
	log_info("%s smtp spf result=%s domain=%s addr=%s", s->base.id,
	    spf_result_name(res), p->spf_domain, s->base.ip);
	smtp_policy_answered(s);
}

/* MAIL FROM accepted on port 25: SPF starts now. */
void
smtp_policy_mail(struct smtp_session *s)
{
	struct dns_resolver *r;
	struct smtp_policy *p;
	const char *domain;
	char *sender;

	smtp_policy_reset(s);
	if (s->base.svc != SVC_SMTP || s->auth_done)
		return;
	r = server_thread_resolver(s->base.thread);
	if (r == NULL)
		return;
	p = xmalloc(sizeof(*p));
	s->policy = p;
	domain = s->mail.null_path ? (s->helo ? s->helo : "") : s->mail.domain;
	p->spf_domain = xstrdup(domain);
	sender = s->mail.null_path ? xasprintf("postmaster@%s", domain) :
	    smtp_path_to_string(&s->mail);
	p->waiting = 1;
	p->spf = spf_check_start(r, (const struct sockaddr *)&s->peer,
	    domain, sender, s->helo ? s->helo : "", spf_done, s);
	free(sender);
}

static void
dkim_done(struct dkim_results *res, void *arg)
{
	struct smtp_session *s = arg;
	struct smtp_policy *p = s->policy;

	p->dkim = NULL;
	p->dkim_res = res;
	smtp_policy_answered(s);
}

static void
dmarc_done(struct dmarc_policy *pol, enum dmarc_lookup_status st, void *arg)
{
	struct smtp_session *s = arg;
	struct smtp_policy *p = s->policy;

	p->dmarc = NULL;
	p->dmarc_pol = pol;
	p->dmarc_st = st;
	smtp_policy_answered(s);
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

/* Rebuilds the body: Received, our Authentication-Results, then the
 * message without A-R fields that claim our name. */
static void
smtp_policy_header(struct smtp_session *s, const char *ar, size_t arlen)
{
	struct buf out;
	const char *msg = s->body.data + s->body_start;
	size_t len = s->body.len - s->body_start;

	buf_init(&out, 0);
	buf_append(&out, s->body.data, s->body_start);
	buf_append(&out, ar, arlen);
	if (authres_strip(msg, len, s->conf->hostname, &out) < 0)
		buf_append(&out, msg, len);
	s->body_start += arlen;
	buf_free(&s->body);
	s->body = out;
}

static void
smtp_policy_decide(struct smtp_session *s)
{
	struct smtp_policy *p = s->policy;
	struct dmarc_dkim_result *dr = NULL;
	enum dmarc_result dres = DMARC_RESULT_NONE;
	enum dmarc_disposition disp = DMARC_DISP_NONE;
	struct authres ar;
	const char *reply = NULL;
	char *hdr, *from = smtp_path_to_string(&s->mail);
	size_t hlen, nd = p->dkim_res ? p->dkim_res->n : 0;
	bool junk = false;

	authres_init(&ar, s->conf->hostname);
	authres_add(&ar, "spf", spf_result_name(p->spf_res), NULL,
	    s->mail.null_path ? "smtp.helo" : "smtp.mailfrom",
	    s->mail.null_path ? p->spf_domain : from, NULL);
	if (nd == 0)
		authres_add(&ar, "dkim", "none", NULL, NULL);
	dr = xcalloc(nd ? nd : 1, sizeof(*dr));
	for (size_t i = 0; i < nd; i++) {
		struct dkim_sig_result *g = &p->dkim_res->sig[i];
		authres_add(&ar, "dkim", dkim_status_str(g->status), g->reason,
		    "header.d", g->domain, "header.s", g->selector,
		    "header.b", g->b_short, NULL);
		dr[i].domain = g->domain ? g->domain : "";
		dr[i].result = dkim_to_dmarc(g->status);
	}
	if (p->from_st == DMARC_FROM_MULTIPLE || p->from_st == DMARC_FROM_INVALID)
		reply = "550 5.7.1 Error: the message must have exactly one "
		    "author domain (RFC 7489 6.6.1)";
	else if (p->from_domain) {
		if (p->dmarc_st == DMARC_LOOKUP_TEMPERROR)
			dres = DMARC_RESULT_TEMPERROR;
		else if (p->dmarc_pol)
			dres = dmarc_evaluate(p->dmarc_pol, p->from_domain, NULL,
			    spf_to_dmarc(p->spf_res), p->spf_domain, dr,
			    (int)nd, s->base.run->psl, &disp);
		dmarc_authres_add(&ar, dres, p->dmarc_pol, disp,
		    p->from_domain);
		if (disp == DMARC_DISP_REJECT)
			reply = "550 5.7.1 Error: rejected by the sender "
			    "domain's DMARC policy";
		else if (disp == DMARC_DISP_QUARANTINE)
			junk = true;
	}
	if (reply == NULL && p->spf_res == SPF_FAIL && s->acct == NULL)
		;	/* no snapshot: cannot tell whether the domain is ours */
	else if (reply == NULL && p->spf_res == SPF_FAIL &&
	    !s->mail.null_path &&
	    acct_is_local_domain(s->acct, s->mail.domain))
		reply = "550 5.7.1 Error: SPF check failed for a sender in "
		    "our own domain";
	free(dr);
	hdr = authres_finish(&ar, &hlen);
	log_info("%s smtp auth-results msgid=%s spf=%s dkim=%zu dmarc=%s "
	    "disposition=%s from=<%s>", s->base.id, s->msgid,
	    spf_result_name(p->spf_res), nd, dmarc_result_str(dres),
	    dmarc_disposition_str(disp), from);
	free(from);
	if (reply) {
		free(hdr);
		smtp_policy_reset(s);
		smtp_reply(s, "%s", reply);
		smtp_tx_reset(s);
		smtp_session_resume(s);
		return;
	}
	smtp_policy_header(s, hdr, hlen);
	free(hdr);
	smtp_policy_reset(s);
	smtp_message_store(s, junk);
}

/* DKIM signing of submitted mail (see the file comment). */
static void
smtp_policy_sign(struct smtp_session *s)
{
	const struct dkim_keystore *ks = s->base.run->dkim;
	const char *msg = s->body.data + s->body_start;
	size_t len = s->body.len - s->body_start;
	char *from_domain = NULL;
	struct buf sig;
	int n = 0;

	if (ks == NULL || dkim_keystore_count(ks) == 0)
		return;
	buf_init(&sig, 0);
	if (dmarc_from_domain(msg, len, &from_domain) == DMARC_FROM_OK &&
	    acct_is_local_domain(s->acct, from_domain))
		n = dkim_keystore_sign(ks, msg, len, from_domain, &sig);
	if (n == 0 && !s->mail.null_path)
		n = dkim_keystore_sign(ks, msg, len, s->mail.domain, &sig);
	if (n > 0) {
		/* the signatures go right above the message's own header */
		size_t tail = len;
		buf_append(&s->body, sig.data, sig.len);	/* grow */
		memmove(s->body.data + s->body_start + sig.len,
		    s->body.data + s->body_start, tail);
		memcpy(s->body.data + s->body_start, sig.data, sig.len);
		log_info("%s smtp dkim-signed msgid=%s domain=%s signatures=%d",
		    s->base.id, s->msgid, from_domain ? from_domain :
		    s->mail.domain, n);
	} else if (n < 0)
		log_error("%s smtp dkim-sign-failed msgid=%s", s->base.id,
		    s->msgid);
	free(from_domain);
	buf_free(&sig);
}

/* End of DATA: checks (inbound) or signing (submission), then store. */
void
smtp_policy_end(struct smtp_session *s)
{
	struct smtp_policy *p = s->policy;
	struct dns_resolver *r;
	const char *msg = s->body.data + s->body_start;
	size_t len = s->body.len - s->body_start;

	if (s->base.svc != SVC_SMTP || s->auth_done) {
		if (s->auth_done)
			smtp_policy_sign(s);
		smtp_message_store(s, false);
		return;
	}
	r = server_thread_resolver(s->base.thread);
	if (p == NULL || r == NULL) {
		smtp_message_store(s, false);
		return;
	}
	p->from_st = dmarc_from_domain(msg, len, &p->from_domain);
	p->waiting++;
	p->dkim = dkim_verify_start(r, msg, len, dkim_done, s);
	if (p->from_st == DMARC_FROM_OK && s->base.run->psl) {
		p->waiting++;
		p->dmarc = dmarc_check_start(r, s->base.run->psl, p->from_domain,
		    dmarc_done, s);
	}
	p->at_end = true;
	smtp_enter_state(s, SMTP_ST_CHECKS);
	session_busy(&s->base);
	if (p->waiting == 0)
		smtp_policy_decide(s);
}
