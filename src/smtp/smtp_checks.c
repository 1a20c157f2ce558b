/*
 * smtp_checks - SMTP's side of the checks stage (msg/check.h): the
 * runner is made at MAIL, told of each recipient and of the message as
 * it is spooled, run at the end of the data, freed at reset and close;
 * its verdict becomes the reply here and only here (reject: 550,
 * tempfail: 451) or goes on to the milters (smtp_milter.c, which see
 * the header section with the checks' Authentication-Results), then the
 * checks' final phase when the session has milters (msg_checks_final:
 * e.g. the DKIM signature of the message as the filters left it), then
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
#include "util/metrics_list.h"

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
	env.filtered = s->milter != NULL && milter_chain_active(s->milter);
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

/* A refusal or a discard ends the transaction here (true); accept and
 * quarantine go on. */
static bool
smtp_checks_refused(struct smtp_session *s, const struct msg_verdict *v)
{
	switch (v->action) {
	case MSG_REJECT:
	case MSG_TEMPFAIL:
		METRIC_INC(M_MSG_REJECTED, MR_POLICY);
		smtp_checks_reset(s);
		smtp_reply(s, "%d %s %s", v->action == MSG_REJECT ? 550 : 451,
		    v->status ? v->status : (v->action == MSG_REJECT ?
		    "5.7.1" : "4.7.1"), v->text ? v->text : "Error: refused");
		smtp_tx_reset(s);
		smtp_session_resume(s);
		return true;
	case MSG_DISCARD:
		log_info("%s smtp discarded msgid=%s", s->base.id, s->msgid);
		smtp_checks_reset(s);
		s->nmessages++;
		smtp_reply(s, "250 2.0.0 Ok: queued as %s", s->msgid);
		smtp_tx_reset(s);
		smtp_session_resume(s);
		return true;
	case MSG_ACCEPT:
	case MSG_QUARANTINE:
		break;
	}
	return false;
}

/* The verdict: the reply (refused), or the milters, routing and commit;
 * the runner stays when it has a final phase (smtp_checks_final). */
static void
smtp_checks_done(const struct msg_verdict *v, void *arg)
{
	struct smtp_session *s = arg;

	if (!smtp_open(s))
		return;		/* the close frees the checks */
	if (smtp_checks_refused(s, v))
		return;
	buf_append(&s->trace, v->headers.data, v->headers.len);
	if (v->head_set) {
		buf_reset(&s->head);
		buf_append(&s->head, v->head.data, v->head.len);
	}
	if (!msg_checks_final_wanted(s->checks))
		smtp_checks_reset(s);
	smtp_milter_message(s, v->action == MSG_QUARANTINE);
}

/* What the checks see of the message: head[0..hlen) and the spool's
 * body (in memory, or its file range). */
static void
smtp_checks_msg(struct smtp_session *s, const char *head, size_t hlen)
{
	struct msg_check_msg *m = &s->check_msg;
	uint64_t off, len;
	int fd;

	memset(m, 0, sizeof(*m));
	m->head = head ? head : "";
	m->hlen = hlen;
	m->spool_head = msg_spool_head(s->spool, &m->spool_hlen);
	fd = smtp_message_body(s, &off, &len);
	if (fd < 0 && len > 0) {
		size_t mlen;

		m->mem_body = msg_spool_mem(s->spool, &mlen) + off;
		m->mem_blen = (size_t)len;
	}
	m->body_fd = fd;
	m->body_off = off;
	m->body_len = len;
	m->acct = s->acct;
}

/* Every byte is spooled: the checks decide, then the store (or not). */
void
smtp_checks_end(struct smtp_session *s)
{
	if (s->checks == NULL) {
		smtp_milter_message(s, false);
		return;
	}
	smtp_checks_msg(s, s->head.data, s->head.len);
	smtp_enter_state(s, SMTP_ST_CHECKS);
	session_busy(&s->base);
	msg_checks_end(s->checks, s->spool, &s->check_msg, smtp_checks_done,
	    s);
}

/* The final answers: their headers on top of the message, then the
 * store. */
static void
smtp_checks_final_done(const struct msg_verdict *v, void *arg)
{
	struct smtp_session *s = arg;
	struct buf front;

	if (!smtp_open(s))
		return;		/* the close frees the checks */
	if (smtp_checks_refused(s, v))
		return;
	buf_init(&front, 0);
	buf_append(&front, v->headers.data, v->headers.len);
	buf_append(&front, s->trace.data, s->trace.len);
	buf_free(&s->trace);
	s->trace = front;
	smtp_checks_reset(s);
	smtp_message_store(s, s->final_junk || v->action == MSG_QUARANTINE);
}

void
smtp_checks_final(struct smtp_session *s, bool junk, bool body_replaced)
{
	if (!msg_checks_final_wanted(s->checks)) {
		smtp_message_store(s, junk);
		return;
	}
	/* the header section as it leaves is one piece: trace + head */
	buf_append(&s->trace, s->head.data, s->head.len);
	buf_reset(&s->head);
	smtp_checks_msg(s, s->trace.data, s->trace.len);
	s->check_msg.body_replaced = body_replaced;
	s->final_junk = junk;
	msg_checks_final(s->checks, &s->check_msg, smtp_checks_final_done, s);
}
