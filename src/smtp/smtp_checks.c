/*
 * smtp_checks - SMTP's side of the checks stage (msg/check.h): the
 * runner is made at MAIL, told of each recipient and of the message as
 * it is spooled, run at the end of the data, freed at reset and close;
 * its verdict becomes the reply here and only here (reject: 550,
 * tempfail: 451) or goes on to the milters (smtp_milter.c, which see
 * the header section with the checks' Authentication-Results) and then
 * routing and commit.
 *
 * Which checks run (SPF/DKIM/DMARC inbound, the DKIM signature of
 * submitted mail) is their registration's business (serve.c); nothing
 * here names one.
 *
 * Trust: the verdict is our modules'; the reply text is theirs.
 */
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "msg/check.h"
#include "msg/spool.h"
#include "smtp/smtp_session.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* MAIL FROM accepted: the transaction's checks start (SPF now). */
void
smtp_checks_mail(struct smtp_session *s)
{
	struct msg_check_env env;
	char *sender;

	smtp_checks_reset(s);
	sender = smtp_path_to_string(&s->mail);
	memset(&env, 0, sizeof(env));
	env.proto = "smtp";
	env.logid = s->base.id;
	env.msgid = s->msgid;
	env.hostname = s->conf->hostname;
	env.ip = s->base.ip;
	env.peer = (const struct sockaddr *)&s->peer;
	env.helo = s->helo ? s->helo : "";
	env.inbound = s->base.svc == SVC_SMTP && !s->auth_done;
	env.authenticated = s->auth_done;
	env.null_sender = s->mail.null_path;
	env.sender = sender;
	env.sender_domain = s->mail.null_path ? NULL : s->mail.domain;
	env.loop = server_thread_loop(s->base.thread);
	env.resolver = server_thread_resolver(s->base.thread);
	env.run = s->base.run;
	s->checks = msg_checks_new(&env);
	free(sender);
}

void
smtp_checks_rcpt(struct smtp_session *s, const struct smtp_path *rcpt)
{
	char *addr;

	if (s->checks == NULL)
		return;
	addr = smtp_path_to_string(rcpt);
	msg_checks_rcpt(s->checks, addr);
	free(addr);
}

void
smtp_checks_reset(struct smtp_session *s)
{
	msg_checks_free(&s->checks);
}

/* The verdict: the reply (refused), or routing and commit. */
static void
smtp_checks_done(const struct msg_verdict *v, void *arg)
{
	struct smtp_session *s = arg;

	if (!smtp_open(s))
		return;		/* the close frees the checks */
	switch (v->action) {
	case MSG_REJECT:
	case MSG_TEMPFAIL:
		smtp_checks_reset(s);
		smtp_reply(s, "%d %s %s", v->action == MSG_REJECT ? 550 : 451,
		    v->status ? v->status : (v->action == MSG_REJECT ?
		    "5.7.1" : "4.7.1"), v->text ? v->text : "Error: refused");
		smtp_tx_reset(s);
		smtp_session_resume(s);
		return;
	case MSG_DISCARD:
		log_info("%s smtp discarded msgid=%s", s->base.id, s->msgid);
		smtp_checks_reset(s);
		s->nmessages++;
		smtp_reply(s, "250 2.0.0 Ok: queued as %s", s->msgid);
		smtp_tx_reset(s);
		smtp_session_resume(s);
		return;
	case MSG_ACCEPT:
	case MSG_QUARANTINE:
		break;
	}
	buf_append(&s->trace, v->headers.data, v->headers.len);
	if (v->head_set) {
		buf_reset(&s->head);
		buf_append(&s->head, v->head.data, v->head.len);
	}
	smtp_checks_reset(s);
	smtp_milter_message(s, v->action == MSG_QUARANTINE);
}

/* Every byte is spooled: the checks decide, then the store (or not). */
void
smtp_checks_end(struct smtp_session *s)
{
	struct msg_check_msg *m = &s->check_msg;
	uint64_t off, len;

	if (s->checks == NULL) {
		smtp_milter_message(s, false);
		return;
	}
	memset(m, 0, sizeof(*m));
	m->head = s->head.data ? s->head.data : "";
	m->hlen = s->head.len;
	m->spool_head = msg_spool_head(s->spool, &m->spool_hlen);
	if (smtp_message_body(s, &off, &len) < 0 && len > 0) {
		size_t mlen;

		m->mem_body = msg_spool_mem(s->spool, &mlen) + off;
		m->mem_blen = (size_t)len;
	}
	m->acct = s->acct;
	smtp_enter_state(s, SMTP_ST_CHECKS);
	session_busy(&s->base);
	msg_checks_end(s->checks, s->spool, m, smtp_checks_done, s);
}
