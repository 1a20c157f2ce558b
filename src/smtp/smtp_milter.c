/*
 * smtp_milter - SMTP's side of the milters (milter/milter_chain.h): the
 * session's chain opens at connect (port 25: smtp_milters; submission:
 * submission_milters), gets CONNECT before the 220, HELO, MAIL and each
 * RCPT after tem's own checks of that command passed, DATA before the
 * 354 (BDAT: with the message, below), and the message
 * after the checks stage's verdict (so tem's Authentication-Results is
 * among the header fields the filters see) and before routing and
 * commit. A refusal answers the command it came at, as Postfix does: at
 * RCPT only that recipient; at connect or HELO every later MAIL. A
 * message a filter marked as spam (rspamd's "X-Spam: Yes" for "add
 * header") comes back from the chain as a quarantine: Junk.
 *
 * Trust: a filter's reply texts were checked by the chain; addresses a
 * filter adds or sets as sender are parsed like the client's (RCPT/MAIL
 * grammar) and routed like RCPT; a bad one is logged and left out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf.h"
#include "milter/milter_chain.h"
#include "milter/milter_proto.h"
#include "msg/spool.h"
#include "smtp/smtp_session.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "util/metrics_list.h"

/* Starts the chain and its CONNECT event; false when there are no
 * milters for this service (then the 220 goes at once). */
bool
smtp_milter_connect(struct smtp_session *s)
{
	const struct conf_strlist *l = s->base.svc == SVC_SMTP ?
	    &s->conf->smtp_milters : &s->conf->submission_milters;
	struct milter_info info;
	char *dir;

	if (l->n == 0 || s->milter_started)
		return false;
	s->milter_started = true;
	dir = xasprintf("%s/spool", s->conf->data_dir);
	memset(&info, 0, sizeof(info));
	info.logid = s->base.id;
	info.loop = server_thread_loop(s->base.thread);
	info.specs = (const char *const *)l->v;
	info.nspecs = (unsigned)l->n;
	info.connect_timeout = s->conf->milter_connect_timeout;
	info.command_timeout = s->conf->milter_command_timeout;
	info.content_timeout = s->conf->milter_content_timeout;
	info.default_action = s->conf->milter_default_action;
	info.hostname = s->conf->hostname;
	info.daemon_name = s->base.svc == SVC_SMTP ? "smtp" : "submission";
	info.client_ip = s->base.ip;
	info.peer = (const struct sockaddr *)&s->peer;
	info.spool_dir = dir;
	/* a filter may add a footer or re-encode: twice the limit */
	info.size_limit = s->conf->message_size_limit * 2;
	s->milter = milter_chain_new(&info);
	free(dir);
	session_busy(&s->base);
	milter_chain_event(s->milter, SMFIC_CONNECT, NULL, 0,
	    smtp_milter_connected, s);
	return true;
}

/* A filter's reply, one smtp_reply (and one log line) per line of a
 * multi-line one ("550-5.7.1 a\r\n550 5.7.1 b", checked by the codec). */
static void
smtp_milter_say(struct smtp_session *s, const char *text)
{
	const char *nl;

	while ((nl = strstr(text, "\r\n")) != NULL) {
		smtp_reply(s, "%.*s", (int)(nl - text), text);
		text = nl + 2;
	}
	smtp_reply(s, "%s", text);
}

/* A refusal at connect or HELO: every MAIL of the session gets it. */
static void
smtp_milter_deny(struct smtp_session *s, const struct milter_answer *a)
{
	free(s->milter_deny);
	s->milter_deny = xstrdup(buf_cstr(&a->reply));
}

void
smtp_milter_connected(void *arg, struct milter_answer *a)
{
	struct smtp_session *s = arg;

	if (a->action == MSG_REJECT || a->action == MSG_TEMPFAIL)
		smtp_milter_deny(s, a);
	smtp_greet(s);		/* resumes the session */
}

static void
smtp_milter_helo_done(void *arg, struct milter_answer *a)
{
	struct smtp_session *s = arg;

	if (a->action == MSG_REJECT || a->action == MSG_TEMPFAIL) {
		smtp_milter_deny(s, a);
		smtp_milter_say(s, buf_cstr(&a->reply));
	} else
		smtp_helo_reply(s);
	smtp_session_resume(s);
}

/* {tls_version} and {cipher} from the session's "TLSv1.3 cipher
 * TLS_AES_256_GCM_SHA384 (256 bits)" (server/session.c). */
static void
smtp_milter_tls_macros(struct smtp_session *s)
{
	char version[32], cipher[96];

	if (!s->base.tls || sscanf(s->base.tls_info, "%31s cipher %95s",
	    version, cipher) != 2) {
		milter_chain_macro(s->milter, MILTER_M_TLS_VERSION, NULL);
		milter_chain_macro(s->milter, MILTER_M_CIPHER, NULL);
		return;
	}
	milter_chain_macro(s->milter, MILTER_M_TLS_VERSION, version);
	milter_chain_macro(s->milter, MILTER_M_CIPHER, cipher);
}

bool
smtp_milter_helo(struct smtp_session *s)
{
	if (s->milter == NULL || s->milter_deny ||
	    !milter_chain_active(s->milter))
		return false;
	milter_chain_macro(s->milter, MILTER_M_HELO, s->helo);
	smtp_milter_tls_macros(s);
	session_busy(&s->base);
	milter_chain_event(s->milter, SMFIC_HELO, NULL, 0,
	    smtp_milter_helo_done, s);
	return true;
}

static void
smtp_milter_mail_done(void *arg, struct milter_answer *a)
{
	struct smtp_session *s = arg;

	if (a->action == MSG_REJECT || a->action == MSG_TEMPFAIL) {
		smtp_milter_say(s, buf_cstr(&a->reply));
		smtp_path_free(&s->mail);
		acct_snapshot_unref(&s->acct);
		milter_chain_abort(s->milter);
	} else
		smtp_mail_accepted(s);
	smtp_session_resume(s);
}

/* The ESMTP parameters of p, spelt canonically, into args[1..]: Postfix
 * passes a filter the client's own MAIL/RCPT parameters. Returns how
 * many; each is malloc'd (smtp_milter_args_free). */
#define SMTP_MILTER_ARGS	9	/* "<addr>" + at most 8 parameters */
static size_t
smtp_milter_args(const struct smtp_path *p, char **args)
{
	static const char *const body[] = { [SMTP_BODY_7BIT] = "7BIT",
	    [SMTP_BODY_8BITMIME] = "8BITMIME",
	    [SMTP_BODY_BINARYMIME] = "BINARYMIME" };
	size_t n = 1;

	if (p->size)
		args[n++] = xasprintf("SIZE=%llu",
		    (unsigned long long)p->size);
	if (p->body)
		args[n++] = xasprintf("BODY=%s", body[p->body]);
	if (p->smtputf8)
		args[n++] = xstrdup("SMTPUTF8");
	if (p->requiretls)
		args[n++] = xstrdup("REQUIRETLS");
	if (p->ret)
		args[n++] = xstrdup(p->ret == SMTP_RET_FULL ? "RET=FULL" :
		    "RET=HDRS");
	if (p->envid)
		args[n++] = xasprintf("ENVID=%s", p->envid);
	if (p->auth)
		args[n++] = xasprintf("AUTH=%s", p->auth);
	if (p->notify) {
		char v[32] = "";

		if (p->notify & SMTP_NOTIFY_NEVER)
			strcat(v, ",NEVER");
		if (p->notify & SMTP_NOTIFY_SUCCESS)
			strcat(v, ",SUCCESS");
		if (p->notify & SMTP_NOTIFY_FAILURE)
			strcat(v, ",FAILURE");
		if (p->notify & SMTP_NOTIFY_DELAY)
			strcat(v, ",DELAY");
		args[n++] = xasprintf("NOTIFY=%s", v + 1);
	}
	if (p->orcpt)
		args[n++] = xasprintf("ORCPT=%s", p->orcpt);
	return n;
}

static void
smtp_milter_args_free(char **args, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(args[i]);
}

bool
smtp_milter_mail(struct smtp_session *s)
{
	char *from, *args[SMTP_MILTER_ARGS];
	size_t n;

	if (s->milter_deny) {
		smtp_milter_say(s, s->milter_deny);
		smtp_path_free(&s->mail);
		acct_snapshot_unref(&s->acct);
		return true;
	}
	if (s->milter == NULL || !milter_chain_active(s->milter))
		return false;
	from = smtp_path_to_string(&s->mail);
	args[0] = xasprintf("<%s>", from);
	n = smtp_milter_args(&s->mail, args);
	milter_chain_macro(s->milter, MILTER_M_MAIL_ADDR, from);
	milter_chain_macro(s->milter, MILTER_M_AUTH_TYPE,
	    s->auth_done ? s->auth_mech : NULL);
	milter_chain_macro(s->milter, MILTER_M_AUTH_AUTHEN,
	    s->auth_done ? s->auth_user : NULL);
	milter_chain_macro(s->milter, MILTER_M_QUEUE_ID, s->msgid);
	session_busy(&s->base);
	milter_chain_event(s->milter, SMFIC_MAIL, (const char *const *)args,
	    n, smtp_milter_mail_done, s);
	smtp_milter_args_free(args, n);
	free(from);
	return true;
}

static void
smtp_milter_rcpt_done(void *arg, struct milter_answer *a)
{
	struct smtp_session *s = arg;

	if (a->action == MSG_REJECT || a->action == MSG_TEMPFAIL) {
		struct smtp_rcpt *r = &s->rcpts[s->nrcpt];

		smtp_milter_say(s, buf_cstr(&a->reply));
		acct_resolution_free(&r->res);
		smtp_path_free(&r->path);
	} else
		smtp_rcpt_accepted(s);
	smtp_session_resume(s);
}

bool
smtp_milter_rcpt(struct smtp_session *s, const char *addr)
{
	char *args[SMTP_MILTER_ARGS];
	size_t n;

	if (s->milter == NULL || !milter_chain_active(s->milter))
		return false;
	args[0] = xasprintf("<%s>", addr);
	n = smtp_milter_args(&s->rcpts[s->nrcpt].path, args);
	milter_chain_macro(s->milter, MILTER_M_RCPT_ADDR, addr);
	milter_chain_macro(s->milter, MILTER_M_RCPT_HOST,
	    s->rcpts[s->nrcpt].path.domain);
	milter_chain_macro(s->milter, MILTER_M_RCPT_MAILER,
	    acct_is_local_domain(s->acct, s->rcpts[s->nrcpt].path.domain) ?
	    "local" : "smtp");
	session_busy(&s->base);
	milter_chain_event(s->milter, SMFIC_RCPT, (const char *const *)args,
	    n, smtp_milter_rcpt_done, s);
	smtp_milter_args_free(args, n);
	return true;
}

static void
smtp_milter_data_done(void *arg, struct milter_answer *a)
{
	struct smtp_session *s = arg;

	if (a->action == MSG_REJECT || a->action == MSG_TEMPFAIL) {
		smtp_milter_say(s, buf_cstr(&a->reply));
		smtp_tx_reset(s);
	} else
		smtp_data_accept(s);
	smtp_session_resume(s);
}

bool
smtp_milter_data(struct smtp_session *s)
{
	if (s->milter == NULL || !milter_chain_active(s->milter))
		return false;
	session_busy(&s->base);
	milter_chain_event(s->milter, SMFIC_DATA, NULL, 0,
	    smtp_milter_data_done, s);
	return true;
}

static void
smtp_milter_rcpt_rejected_done(void *arg, struct milter_answer *a)
{
	(void)a;	/* the refusal stands whatever they say */
	smtp_session_resume(arg);
}

void
smtp_milter_rcpt_rejected(struct smtp_session *s, const char *addr,
    const char *status)
{
	char *arg0, code[8];
	const char *args[1];

	if (s->milter == NULL || status == NULL)
		return;
	arg0 = xasprintf("<%s>", addr);
	args[0] = arg0;
	/* Postfix's way: mailer "error", host the enhanced status code,
	 * addr the text ("5.1.1 User unknown") */
	snprintf(code, sizeof(code), "%.5s", status);
	milter_chain_macro(s->milter, MILTER_M_RCPT_MAILER, "error");
	milter_chain_macro(s->milter, MILTER_M_RCPT_HOST, code);
	milter_chain_macro(s->milter, MILTER_M_RCPT_ADDR, status + 6);
	if (milter_chain_rcpt_rejected(s->milter, args, 1,
	    smtp_milter_rcpt_rejected_done, s))
		session_busy(&s->base);
	free(arg0);
}

void
smtp_milter_reset(struct smtp_session *s)
{
	milter_chain_abort(s->milter);
}

void
smtp_milter_free(struct smtp_session *s)
{
	milter_chain_free(&s->milter);
	free(s->milter_deny);
	s->milter_deny = NULL;
	buf_free(&s->milter_head);
}

/* "<a@b>" or "a@b" as a filter sends it, parsed as RCPT TO would. */
static int
smtp_milter_path(const char *what, const char *a, bool rcpt,
    struct smtp_path *p)
{
	const char *reply;
	char *args;
	int rc;

	args = a[0] == '<' ? xasprintf("%s%s", what, a) :
	    xasprintf("%s<%s>", what, a);
	rc = rcpt ? smtp_parse_rcpt(args, true, p, &reply) :
	    smtp_parse_mail(args, p, &reply);
	free(args);
	return rc;
}

/* SMFIR_DELRCPT: drops the recipients with that address. */
static void
smtp_milter_del_rcpt(struct smtp_session *s, const char *a)
{
	struct smtp_path p;

	if (smtp_milter_path("TO:", a, true, &p) < 0)
		return;
	for (unsigned i = 0; i < s->nrcpt; i++) {
		struct smtp_rcpt *r = &s->rcpts[i];

		if (strcasecmp(r->path.localpart, p.localpart) != 0 ||
		    strcasecmp(r->path.domain, p.domain) != 0)
			continue;
		smtp_path_free(&r->path);
		acct_resolution_free(&r->res);
		memmove(r, r + 1, (s->nrcpt - i - 1) * sizeof(*r));
		s->nrcpt--;
		i--;
	}
	smtp_path_free(&p);
}

/* SMFIR_ADDRCPT: routed like RCPT (a local mailbox or alias, else the
 * queue: the filter is the administrator's). */
static void
smtp_milter_add_rcpt(struct smtp_session *s, const char *a)
{
	struct smtp_rcpt *r;
	char *addr;

	if (s->nrcpt == s->rcpt_cap) {
		s->rcpt_cap = s->rcpt_cap ? s->rcpt_cap * 2 : 8;
		s->rcpts = xrealloc(s->rcpts, s->rcpt_cap * sizeof(*s->rcpts));
	}
	r = &s->rcpts[s->nrcpt];
	memset(r, 0, sizeof(*r));
	if (smtp_milter_path("TO:", a, true, &r->path) < 0 ||
	    r->path.bare_postmaster) {
		log_warn("%s milter add-rcpt-bad rcpt=%.300s", s->base.id, a);
		smtp_path_free(&r->path);
		return;
	}
	addr = smtp_path_to_string(&r->path);
	if (!acct_is_local_domain(s->acct, r->path.domain)) {
		r->res.t = xcalloc(1, sizeof(*r->res.t));
		r->res.n = 1;
		r->res.t[0].kind = ACCT_TARGET_REMOTE;
		r->res.t[0].address = xstrdup(addr);
	} else if (acct_resolve(s->acct, r->path.localpart, r->path.domain,
	    &r->res) != ACCT_OK) {
		log_warn("%s milter add-rcpt-unknown rcpt=%s", s->base.id,
		    addr);
		acct_resolution_free(&r->res);
		smtp_path_free(&r->path);
		free(addr);
		return;
	}
	free(addr);
	s->nrcpt++;
}

/* SMFIR_CHGFROM: the new envelope sender. */
static void
smtp_milter_chgfrom(struct smtp_session *s, const char *a)
{
	struct smtp_path p;

	if (smtp_milter_path("FROM:", a, false, &p) < 0) {
		log_warn("%s milter change-sender-bad from=%.300s", s->base.id,
		    a);
		return;
	}
	/* the transaction's parameters (SIZE, RET, ENVID) stay */
	free(s->mail.localpart);
	free(s->mail.domain);
	s->mail.localpart = p.localpart;
	s->mail.domain = p.domain;
	s->mail.null_path = p.null_path;
	p.localpart = p.domain = NULL;
	smtp_path_free(&p);
}

static void
smtp_milter_message_done(void *arg, struct milter_answer *a)
{
	struct smtp_session *s = arg;
	bool replaced;

	if (!smtp_open(s))
		return;
	if (a->action == MSG_REJECT || a->action == MSG_TEMPFAIL) {
		METRIC_INC(M_MSG_REJECTED, MR_SPAM);
		smtp_milter_say(s, buf_cstr(&a->reply));
		smtp_tx_reset(s);
		smtp_session_resume(s);
		return;
	}
	for (unsigned i = 0; i < a->nrcpt_del; i++)
		smtp_milter_del_rcpt(s, a->rcpt_del[i]);
	for (unsigned i = 0; i < a->nrcpt_add; i++)
		smtp_milter_add_rcpt(s, a->rcpt_add[i]);
	if (a->new_from)
		smtp_milter_chgfrom(s, a->new_from);
	if (a->action == MSG_DISCARD || s->nrcpt == 0) {
		log_info("%s smtp discarded msgid=%s by=milter", s->base.id,
		    s->msgid);
		s->nmessages++;
		smtp_reply(s, "250 2.0.0 Ok: queued as %s", s->msgid);
		smtp_tx_reset(s);
		smtp_session_resume(s);
		return;
	}
	log_info("%s milter done msgid=%s action=%s head=%s body=%s "
	    "rcpt-added=%u rcpt-deleted=%u sender=%s%s", s->base.id, s->msgid,
	    msg_action_name(a->action), a->head_changed ? "changed" : "same",
	    a->new_body ? "replaced" : "same", a->nrcpt_add, a->nrcpt_del,
	    a->new_from ? "changed" : "same",
	    a->spam_mark ? " spam-mark=yes folder=Junk" : "");
	/* the header section as the filters left it is the whole front */
	buf_reset(&s->trace);
	buf_append(&s->trace, s->milter_head.data, s->milter_head.len);
	buf_reset(&s->head);
	buf_free(&s->milter_head);
	replaced = a->new_body != NULL;
	if (replaced) {
		msg_spool_free(&s->spool);
		s->spool = a->new_body;
		a->new_body = NULL;
	}
	smtp_checks_final(s, s->milter_junk || a->action == MSG_QUARANTINE,
	    replaced);
}

void
smtp_milter_message(struct smtp_session *s, bool junk)
{
	uint64_t off, len;
	int fd;

	if (s->milter == NULL || !milter_chain_active(s->milter)) {
		smtp_checks_final(s, junk, false);
		return;
	}
	s->milter_junk = junk;
	buf_reset(&s->milter_head);
	buf_append(&s->milter_head, s->trace.data, s->trace.len);
	buf_append(&s->milter_head, s->head.data, s->head.len);
	fd = smtp_message_body(s, &off, &len);
	memset(&s->milter_msg, 0, sizeof(s->milter_msg));
	s->milter_msg.head = &s->milter_head;
	s->milter_msg.own_first = true;	/* the trace opens with it */
	s->milter_msg.fd = fd;
	s->milter_msg.off = off;
	s->milter_msg.len = len;
	if (fd < 0 && len > 0) {
		size_t mlen;

		s->milter_msg.mem = msg_spool_mem(s->spool, &mlen) + off;
	}
	session_busy(&s->base);
	milter_chain_message(s->milter, &s->milter_msg,
	    smtp_milter_message_done, s);
}
