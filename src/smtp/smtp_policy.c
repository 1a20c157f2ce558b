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
 * DKIM never runs on the loop: the body hashes are fed as the message
 * passes, on the spool's writer thread (msg/spool.h's tap), and the
 * header digests and the private-key operation of signing run on a
 * worker (util/worker.h) at the end. Only the key look-ups (DNS) and the
 * decision are on the loop. A job whose session went away is freed by
 * whoever holds it.
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
#include "msg/spool.h"
#include "smtp/smtp_session.h"
#include "util/io.h"
#include "util/worker.h"
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

/*
 * DKIM for one message. Created when the header section is complete; the
 * spool then feeds it every body byte on the writer's thread (the tap),
 * so the body hashes are done as the message arrives, off the loop, and
 * nothing is read back. At the end it goes to a worker once more: the
 * header digests and the signature (sign) or the body checks (verify).
 * Owner: the spool while tapped, then the worker job, then the loop.
 */
struct smtp_dkim_job {
	struct smtp_session	*s;		/* NULL: cancelled */
	bool			 sign;
	char			*head;		/* the header section */
	size_t			 hlen;
	char			*body;		/* a message that stayed in memory:
						   its body, fed on the worker */
	size_t			 blen;
	/* verify */
	struct dkim_verifier	*v;
	time_t			 now;
	/* sign: the relaxed body hash, the domains to try, the result */
	struct dkim_bodyhash	 bh;
	bool			 bh_open;
	char			*domain[2];
	struct buf		 sig;
	int			 nsig;
	/* the running state the session started with: its DKIM keys stay
	 * alive while the worker signs, even if the session is gone */
	struct server_state	*run;
};

static void smtp_policy_decide(struct smtp_session *s);

static void
dkim_job_free(void *arg)
{
	struct smtp_dkim_job *j = arg;
	unsigned char md[DKIM_SHA256_LEN];
	struct dkim_results *res;

	if (j->v != NULL) {
		res = dkim_verifier_finish(&j->v);
		dkim_results_free(&res);
	}
	if (j->bh_open)
		dkim_bodyhash_final(&j->bh, md, NULL);	/* frees it */
	free(j->head);
	free(j->body);
	free(j->domain[0]);
	free(j->domain[1]);
	buf_free(&j->sig);
	server_state_unref(&j->run);
	free(j);
}

/* Drops the session's job: whoever holds it (the spool, a worker) frees
 * it. */
static void
dkim_job_cancel(struct smtp_session *s)
{
	if (s->dkim_job != NULL)
		s->dkim_job->s = NULL;
	s->dkim_job = NULL;
}

/* The writer's thread: body bytes as they pass. */
static void
dkim_job_tap(void *arg, const char *p, size_t n)
{
	struct smtp_dkim_job *j = arg;

	if (j->sign) {
		dkim_bodyhash_update(&j->bh, p, n);
		return;
	}
	if (j->v == NULL)	/* the signatures, from the complete head */
		j->v = dkim_verifier_begin(j->head, j->hlen, j->now);
	dkim_verifier_body(j->v, p, n);
}

/* Does s's message get DKIM (signed on submission, verified inbound)? */
static bool
dkim_wanted(struct smtp_session *s, bool *sign_r)
{
	const struct dkim_keystore *ks = s->base.run->dkim;

	const char *head;
	size_t hlen;

	*sign_r = s->auth_done;
	if (s->auth_done)
		return ks != NULL && dkim_keystore_count(ks) > 0;
	head = msg_spool_head(s->spool, &hlen);
	return s->base.svc == SVC_SMTP && s->policy != NULL &&
	    server_thread_resolver(s->base.thread) != NULL &&
	    smtp_header_has(head, hlen, "DKIM-Signature");
}

static struct smtp_dkim_job *
dkim_job_new(struct smtp_session *s, bool sign)
{
	struct smtp_dkim_job *j = xcalloc(1, sizeof(*j));
	size_t hlen;
	const char *head = msg_spool_head(s->spool, &hlen);

	j->s = s;
	j->sign = sign;
	j->now = time(NULL);
	server_state_ref(s->base.run);
	j->run = s->base.run;
	if (sign) {
		dkim_bodyhash_init(&j->bh, DKIM_CANON_RELAXED, UINT64_MAX,
		    NULL);
		j->bh_open = true;
	} else {
		j->head = xmalloc(hlen + 1);
		memcpy(j->head, head, hlen);
		j->hlen = hlen;
	}
	buf_init(&j->sig, 0);
	return j;
}

/* Header complete (smtp_message.c asks after each piece): from now on
 * the spool's writer feeds the body to DKIM. */
void
smtp_policy_tap(struct smtp_session *s)
{
	struct smtp_dkim_job *j;
	bool sign;

	if (s->dkim_job != NULL || !msg_spool_head_done(s->spool) ||
	    !dkim_wanted(s, &sign))
		return;
	j = dkim_job_new(s, sign);
	s->dkim_job = j;
	msg_spool_tap(s->spool, dkim_job_tap, dkim_job_free, j);
}

/* Worker, at the end: the header digests, then sign or decide bodies. */
static void
dkim_job_work(void *arg)
{
	struct smtp_dkim_job *j = arg;
	const struct dkim_keystore *ks = j->run->dkim;
	unsigned char bh[DKIM_SHA256_LEN];

	if (j->blen > 0)	/* the message stayed in memory */
		dkim_job_tap(j, j->body, j->blen);
	if (!j->sign) {
		if (j->v == NULL)	/* no body byte came */
			j->v = dkim_verifier_begin(j->head, j->hlen, j->now);
		dkim_verifier_body_end(j->v);
		return;
	}
	dkim_bodyhash_final(&j->bh, bh, NULL);
	j->bh_open = false;
	if (ks == NULL)
		return;
	for (int i = 0; i < 2 && j->nsig == 0; i++)
		if (j->domain[i] != NULL)
			j->nsig = dkim_keystore_sign_head(ks, j->head, j->hlen,
			    bh, j->domain[i], &j->sig);
}

static void dkim_job_done(void *arg);

/* End of the message: takes the job back from the spool (or makes one
 * when the header never ended: no body) and finishes it on a worker;
 * s waits (busy). Signing covers s->head (Date/Message-ID added). */
static void
dkim_job_start(struct smtp_session *s, bool sign, const char *d0,
    const char *d1)
{
	struct smtp_dkim_job *j = msg_spool_untap(s->spool);
	uint64_t off, len;

	if (j == NULL)
		j = dkim_job_new(s, sign);
	if (smtp_message_body(s, &off, &len) < 0 && len > 0) {
		size_t mlen;
		const char *mem = msg_spool_mem(s->spool, &mlen);

		j->body = xmalloc((size_t)len);
		memcpy(j->body, mem + off, (size_t)len);
		j->blen = (size_t)len;
	}
	if (sign) {
		j->head = xmalloc(s->head.len + 1);
		memcpy(j->head, s->head.data ? s->head.data : "", s->head.len);
		j->hlen = s->head.len;
	}
	j->domain[0] = d0 ? xstrdup(d0) : NULL;
	j->domain[1] = d1 ? xstrdup(d1) : NULL;
	s->dkim_job = j;
	smtp_enter_state(s, SMTP_ST_CHECKS);
	session_busy(&s->base);
	worker_submit(server_thread_loop(s->base.thread), dkim_job_work,
	    dkim_job_done, j);
}

void
smtp_policy_reset(struct smtp_session *s)
{
	struct smtp_policy *p = s->policy;

	dkim_job_cancel(s);
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

/* Our Authentication-Results goes into the trace (under Received); A-R
 * fields from outside that claim our name leave the stored header. */
static void
smtp_policy_header(struct smtp_session *s, const char *ar, size_t arlen)
{
	struct buf out;

	buf_append(&s->trace, ar, arlen);
	buf_init(&out, 0);
	if (authres_strip(s->head.data ? s->head.data : "", s->head.len,
	    s->conf->hostname, &out) > 0) {
		buf_free(&s->head);
		s->head = out;
	} else
		buf_free(&out);
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

/* The submission's signature came back from the worker. */
static void
smtp_policy_signed(struct smtp_session *s, struct smtp_dkim_job *j)
{
	if (j->nsig > 0) {
		/* the signatures go right above the message's own header */
		buf_append(&s->trace, j->sig.data, j->sig.len);
		log_info("%s smtp dkim-signed msgid=%s domain=%s signatures=%d",
		    s->base.id, s->msgid, j->domain[0] ? j->domain[0] :
		    j->domain[1], j->nsig);
	} else if (j->nsig < 0)
		log_error("%s smtp dkim-sign-failed msgid=%s", s->base.id,
		    s->msgid);
	smtp_message_store(s, false);
}

static void
dkim_done(struct dkim_results *res, void *arg);

static void
dkim_job_done(void *arg)
{
	struct smtp_dkim_job *j = arg;
	struct smtp_session *s = j->s;
	struct smtp_policy *p;

	if (s == NULL) {		/* the session went away */
		dkim_job_free(j);
		return;
	}
	s->dkim_job = NULL;
	if (j->sign) {
		smtp_policy_signed(s, j);
		dkim_job_free(j);
		return;
	}
	p = s->policy;
	p->dkim = dkim_verify_keys(server_thread_resolver(s->base.thread),
	    j->v, dkim_done, s);
	j->v = NULL;
	dkim_job_free(j);
}

/* Submission: DKIM-signs with the From domain's keys (if the domain is
 * ours), else the MAIL FROM domain's; false when there is nothing to do. */
static bool
smtp_policy_sign(struct smtp_session *s)
{
	const struct dkim_keystore *ks = s->base.run->dkim;
	char *from_domain = NULL;
	const char *d0 = NULL;

	if (ks == NULL || dkim_keystore_count(ks) == 0)
		return false;
	if (dmarc_from_domain(s->head.data ? s->head.data : "", s->head.len,
	    &from_domain) == DMARC_FROM_OK &&
	    acct_is_local_domain(s->acct, from_domain))
		d0 = from_domain;
	dkim_job_start(s, true, d0, s->mail.null_path ? NULL :
	    s->mail.domain);
	free(from_domain);
	return true;
}

/* End of DATA: checks (inbound) or signing (submission), then store. */
void
smtp_policy_end(struct smtp_session *s)
{
	struct smtp_policy *p = s->policy;
	struct dns_resolver *r;
	const char *msg = s->head.data ? s->head.data : "";
	size_t len = s->head.len;
	bool sign;

	if (s->base.svc != SVC_SMTP || s->auth_done) {
		if (!s->auth_done || !smtp_policy_sign(s))
			smtp_message_store(s, false);
		return;
	}
	r = server_thread_resolver(s->base.thread);
	if (p == NULL || r == NULL) {
		smtp_message_store(s, false);
		return;
	}
	p->from_st = dmarc_from_domain(msg, len, &p->from_domain);
	p->waiting++;		/* DKIM: the worker, then the key look-ups */
	if (dkim_wanted(s, &sign))
		dkim_job_start(s, false, NULL, NULL);
	else {			/* unsigned: "dkim=none", nothing to hash */
		struct dkim_verifier *v = dkim_verifier_begin(msg, len,
		    time(NULL));

		dkim_verifier_body_end(v);
		p->dkim = dkim_verify_keys(r, v, dkim_done, s);
	}
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
