/*
 * check_sign - the DKIM signature of submitted mail as a check of the
 * message pipeline (the contract: check_auth.h; the runner: msg/check.h;
 * the hashing and signing job: check_dkim.c).
 *
 * Without filters the signature is made at the end of the data: the body
 * hash was computed by the tap as the message was spooled, the header
 * digest and the signature on a worker. With filters (env->filtered:
 * submission_milters) the signature must cover the message as they leave
 * it, so end() answers nothing and final() signs: the From domain and the
 * header section are the final ones; the tapped body hash is kept when the
 * body is still the one spooled, else the replaced body is hashed on a
 * worker reading its file range (check_dkim.c), never on the loop.
 *
 * Trust: the message is the logged-in user's; the keys are ours. Never
 * refuses: a message that cannot be signed goes unsigned (logged).
 */
#include <stdlib.h>
#include <string.h>

#include "auth/resolve.h"
#include "policy/check_auth.h"
#include "policy/check_int.h"
#include "policy/dkim_keys.h"
#include "policy/dmarc.h"
#include "server/state.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct sign_check {
	struct msg_check	*chk;
	struct msg_check_env	 env;		/* logid, msgid, loop, run */
	char			*sender_domain;	/* NULL for <> */
	bool			 filtered;	/* sign in final(), not end() */
	struct dkim_job		*job;		/* on the worker */
	struct dkim_job		*kept;		/* filtered: the tapped body hash,
						   from end() to final() */
};

static void *
sign_start(const struct msg_check_env *env, struct msg_check *chk)
{
	const struct dkim_keystore *ks = env->run->dkim;
	struct sign_check *g;

	if (!env->authenticated || ks == NULL || dkim_keystore_count(ks) == 0)
		return NULL;
	g = xcalloc(1, sizeof(*g));
	g->chk = chk;
	g->env = *env;
	g->filtered = env->filtered;
	g->sender_domain = env->null_sender ? NULL :
	    xstrdup(env->sender_domain);
	g->env.peer = NULL;
	g->env.helo = g->env.sender = g->env.sender_domain = NULL;
	return g;
}

static void *
sign_tap_begin(void *st, const char *head, size_t hlen)
{
	struct sign_check *g = st;

	return dkim_job_new(g->env.run, true, head, hlen);
}

/* The signatures came back from the worker: they go right above the
 * message's own header (filtered: on top of the message). */
static void
sign_done(void *owner, struct dkim_job *j)
{
	struct sign_check *g = owner;
	struct msg_verdict v;

	g->job = NULL;
	msg_verdict_init(&v);
	if (j->nsig > 0) {
		buf_append(&v.headers, j->sig.data, j->sig.len);
		log_info("%s %s dkim-signed msgid=%s domain=%s signatures=%d%s",
		    g->env.logid, g->env.proto, g->env.msgid, j->domain[0] ?
		    j->domain[0] : j->domain[1], j->nsig,
		    g->filtered ? " after=milters" : "");
	} else if (j->nsig < 0)
		log_error("%s %s dkim-sign-failed msgid=%s%s%s%s",
		    g->env.logid, g->env.proto, g->env.msgid,
		    j->read_err ? " error=\"" : "",
		    j->read_err ? strerror(j->read_err) : "",
		    j->read_err ? "\"" : "");
	dkim_job_free(j);
	msg_check_done(g->chk, &v);
}

/* Signs m with the From domain's keys (if the domain is ours), else the
 * MAIL FROM domain's. */
static void
sign_message(struct sign_check *g, struct dkim_job *j,
    const struct msg_check_msg *m)
{
	char *from_domain = NULL;

	if (j == NULL)		/* the header never ended: no body */
		j = dkim_job_new(g->env.run, true, NULL, 0);
	if (dmarc_from_domain(m->head, m->hlen, &from_domain) ==
	    DMARC_FROM_OK && acct_is_local_domain(m->acct, from_domain))
		j->domain[0] = xstrdup(from_domain);
	j->domain[1] = g->sender_domain ? xstrdup(g->sender_domain) : NULL;
	free(from_domain);
	g->job = j;
	dkim_job_start(j, m, g->env.loop, sign_done, g);
}

static void
sign_end(void *st, void *tap, const struct msg_check_msg *m)
{
	struct sign_check *g = st;
	struct msg_verdict v;

	if (!g->filtered) {
		sign_message(g, tap, m);
		return;
	}
	g->kept = tap;		/* final() signs what the filters leave */
	msg_verdict_init(&v);
	msg_check_done(g->chk, &v);
}

static void
sign_final(void *st, const struct msg_check_msg *m)
{
	struct sign_check *g = st;
	struct dkim_job *j = g->kept;

	g->kept = NULL;
	if (j != NULL && m->body_replaced)
		dkim_job_rebody(j);
	if (j == NULL && m->body_replaced)
		j = dkim_job_new(g->env.run, true, NULL, 0);
	if (m->body_replaced && m->mem_body == NULL)
		dkim_job_body_file(j, m->body_fd, m->body_off, m->body_len);
	sign_message(g, j, m);
}

static void
sign_free(void *st)
{
	struct sign_check *g = st;

	if (g->job != NULL)	/* on the worker: it frees itself */
		g->job->owner = NULL;
	if (g->kept != NULL)
		dkim_job_free(g->kept);
	free(g->sender_domain);
	free(g);
}

const struct msg_check_ops policy_check_sign = {
	.name = "dkim-sign",
	.start = sign_start,
	.tap_begin = sign_tap_begin,
	.tap = dkim_job_tap,
	.tap_free = dkim_job_free,
	.end = sign_end,
	.final = sign_final,
	.free = sign_free,
};
