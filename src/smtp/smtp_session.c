/*
 * smtp_session - the SMTP command loop and the envelope commands.
 *
 * Trust: everything read here is untrusted. Limits: command lines of
 * SMTP_LINE_MAX octets ("500 5.5.2" beyond, the rest of the line dropped),
 * conf->smtp_max_recipients per message ("452 4.5.3"), conf->smtp_max_errors
 * errors per session ("421" and close), conf->smtp_command_timeout of
 * silence ("421" and close). Input is read in bounded chunks by util/io.
 *
 * PIPELINING: commands are taken from the input buffer one after another
 * and their replies queued; they leave in one write at the end of the
 * loop turn. Only the store (DATA end) and STARTTLS stop the loop.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/ratelimit.h"
#include "conf/conf.h"
#include "smtp/smtp_session.h"
#include "tls/tls.h"
#include "util/io.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xmalloc.h"
#include "util/metrics_list.h"

static bool smtp_rate(struct smtp_session *s, const char *kind, unsigned max);

static const char *const smtp_state_names[] = {
	"greeting", "helo", "ready", "mail", "rcpt", "data", "bdat", "checks",
	"store", "starttls", "quit",
};

void
smtp_enter_state(struct smtp_session *s, enum smtp_state st)
{
	if (s->state == st)
		return;
	TEM_ASSERT(s->state != SMTP_ST_QUIT);
	log_debug("%s smtp enter %s->%s", s->base.id,
	    smtp_state_names[s->state], smtp_state_names[st]);
	s->state = st;
}

bool
smtp_in_tx(const struct smtp_session *s)
{
	return s->state >= SMTP_ST_MAIL && s->state <= SMTP_ST_STORE;
}

bool
smtp_running(const struct smtp_session *s)
{
	return !s->base.busy && s->base.state == SESSION_ACTIVE;
}

bool
smtp_open(const struct smtp_session *s)
{
	return s->base.state == SESSION_ACTIVE;
}

void
smtp_reply(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;
	struct buf b;

	if (session_closed(&s->base))
		return;		/* the client is gone: nobody to tell */
	buf_init(&b, 0);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	buf_append(&b, "\r\n", 2);
	io_write(s->base.io, b.data, b.len);
	if (b.data[0] == '4' || b.data[0] == '5')
		log_info("%s smtp reply code=%.3s text=\"%.*s\"", s->base.id,
		    b.data, (int)(b.len > 202 ? 200 : b.len - 2), b.data);
	buf_free(&b);
}

void
smtp_session_close(struct smtp_session *s)
{
	if (s->state != SMTP_ST_QUIT)
		smtp_enter_state(s, SMTP_ST_QUIT);
	/* The reply just queued drains, then the connection closes. */
	session_close(&s->base);
}

bool
smtp_error(struct smtp_session *s)
{
	if (++s->errors < s->conf->smtp_max_errors)
		return true;
	smtp_reply(s, "421 4.7.0 %s Error: too many errors",
	    s->conf->hostname);
	log_info("%s smtp too-many-errors addr=%s errors=%u", s->base.id,
	    s->base.ip, s->errors);
	smtp_session_close(s);
	return false;
}

void
smtp_tx_reset(struct smtp_session *s)
{
	smtp_checks_reset(s);
	smtp_milter_reset(s);
	smtp_path_free(&s->mail);
	for (unsigned i = 0; i < s->nrcpt; i++) {
		smtp_path_free(&s->rcpts[i].path);
		acct_resolution_free(&s->rcpts[i].res);
	}
	s->nrcpt = 0;
	s->msgid[0] = '\0';
	if (smtp_in_tx(s))
		smtp_enter_state(s, SMTP_ST_READY);
	s->data_mode = SMTP_DATA_NONE;
	s->bdat_started = false;
	s->bdat_error = NULL;
	s->bdat_left = 0;
	smtp_message_reset(s);
	if (s->acct)
		acct_snapshot_unref(&s->acct);
}

static void
smtp_cmd_helo(struct smtp_session *s, const struct smtp_command *cmd)
{
	const char *reply;

	if (smtp_parse_helo(cmd->args, &reply) < 0) {
		smtp_reply(s, "%s", reply);
		smtp_error(s);
		return;
	}
	smtp_tx_reset(s);
	free(s->helo);
	s->helo = xstrdup(cmd->args);
	smtp_enter_state(s, SMTP_ST_READY);
	s->esmtp = cmd->verb == SMTP_VERB_EHLO;
	if (smtp_milter_helo(s))
		return;		/* smtp_helo_reply once they answered */
	smtp_helo_reply(s);
}

void
smtp_helo_reply(struct smtp_session *s)
{
	if (!s->esmtp) {
		smtp_reply(s, "250 %s", s->conf->hostname);
		return;
	}
	smtp_reply(s, "250-%s Hello %s [%s]", s->conf->hostname, s->helo,
	    s->base.ip);
	smtp_reply(s, "250-PIPELINING");
	smtp_reply(s, "250-SIZE %llu",
	    (unsigned long long)s->conf->message_size_limit);
	if (!s->base.tls && tls_available())
		smtp_reply(s, "250-STARTTLS");
	if (smtp_auth_offered(s) && !s->auth_done)
		smtp_reply(s, "250-AUTH PLAIN LOGIN");
	smtp_reply(s, "250-ENHANCEDSTATUSCODES");
	smtp_reply(s, "250-8BITMIME");
	smtp_reply(s, "250-DSN");
	smtp_reply(s, "250-SMTPUTF8");
	/* RFC 8689 2 and 4.2.1: REQUIRETLS is only used over TLS, and a
	   client looks for it in the EHLO after STARTTLS (or on 465) */
	if (s->base.tls)
		smtp_reply(s, "250-REQUIRETLS");
	smtp_reply(s, "250 CHUNKING");
}

static void
smtp_cmd_mail(struct smtp_session *s, const struct smtp_command *cmd)
{
	const char *reply;

	if (s->state < SMTP_ST_READY) {
		smtp_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
		smtp_error(s);
		return;
	}
	if (smtp_in_tx(s)) {
		smtp_reply(s, "503 5.5.1 Error: nested MAIL command");
		smtp_error(s);
		return;
	}
	if (s->base.svc != SVC_SMTP && !s->auth_done) {
		smtp_reply(s, "530 5.7.0 Authentication required");
		smtp_error(s);
		return;
	}
	if (s->auth_done && !smtp_rate(s, "msg",
	    s->conf->submission_max_messages_per_hour)) {
		smtp_reply(s, "450 4.7.1 Error: too many messages sent in the "
		    "last hour, try again later");
		return;
	}
	if (smtp_parse_mail(cmd->args, &s->mail, &reply) < 0) {
		smtp_reply(s, "%s", reply);
		smtp_error(s);
		return;
	}
	reply = NULL;
	if ((s->mail.smtputf8 || s->mail.body || s->mail.size ||
	    s->mail.ret || s->mail.envid || s->mail.requiretls) && !s->esmtp)
		reply = "555 5.5.4 ESMTP parameters need EHLO";
	else if (s->mail.requiretls && !s->base.tls)
		reply = "530 5.7.10 REQUIRETLS needs a TLS session";
	else if (s->mail.body == SMTP_BODY_BINARYMIME)
		reply = "555 5.5.4 BODY=BINARYMIME is not supported";
	else if (s->mail.size > s->conf->message_size_limit) {
		reply = "552 5.3.4 Message size exceeds fixed limit";
		METRIC_INC(M_MSG_REJECTED, MR_SIZE);
	}
	if (reply) {
		smtp_reply(s, "%s", reply);
		smtp_path_free(&s->mail);
		smtp_error(s);
		return;
	}
	s->acct = server_accounts();
	if (s->auth_done && !s->mail.null_path) {
		char *from = smtp_path_to_string(&s->mail);
		bool owned = acct_user_owns_address(s->acct, s->auth_user, from);
		if (!owned) {
			smtp_reply(s, "553 5.7.1 <%s>: Sender address rejected: "
			    "not owned by user %s", from, s->auth_user);
			log_info("%s smtp reject sender from=<%s> user=%s",
			    s->base.id, from, s->auth_user);
			free(from);
			smtp_path_free(&s->mail);
			acct_snapshot_unref(&s->acct);
			smtp_error(s);
			return;
		}
		free(from);
	}
	/* the transaction's id from MAIL on (as Postfix's queue id: the
	 * milters get it as macro i); a refused MAIL drops it */
	log_new_id(s->msgid);
	if (smtp_milter_mail(s))
		return;		/* smtp_mail_accepted once they answered */
	smtp_mail_accepted(s);
}

void
smtp_mail_accepted(struct smtp_session *s)
{
	smtp_enter_state(s, SMTP_ST_MAIL);
	smtp_checks_mail(s);
	smtp_reply(s, "250 2.1.0 Ok");
}

/* One unit of an authenticated user's hourly allowance of kind. */
static bool
smtp_rate(struct smtp_session *s, const char *kind, unsigned max)
{
	char key[300];

	snprintf(key, sizeof(key), "%s/%.280s", kind, s->auth_user);
	if (ratelimit_take(key, 1, max, 3600))
		return true;
	log_warn("%s smtp rate-limited user=%s kind=%s max=%u", s->base.id,
	    s->auth_user, kind, max);
	return false;
}

/* Local parts that route mail onward: "a%b@us", "b!a@us", "\"a@b\"@us". */
static bool
smtp_relay_trick(const struct smtp_path *p)
{
	return strpbrk(p->localpart, "%!@") != NULL;
}

static void
smtp_cmd_rcpt(struct smtp_session *s, const struct smtp_command *cmd)
{
	struct smtp_rcpt *r;
	const char *reply, *domain, *refused = NULL;
	char *addr;
	enum acct_resolve_status st;

	if (!smtp_in_tx(s)) {
		smtp_reply(s, "503 5.5.1 Error: need MAIL command");
		smtp_error(s);
		return;
	}
	/* The newest accounts for every recipient: an address an admin
	 * command added after this transaction's MAIL is ours already. */
	acct_snapshot_unref(&s->acct);
	s->acct = server_accounts();
	if (s->nrcpt >= s->conf->smtp_max_recipients) {
		smtp_reply(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	if (s->auth_done && !smtp_rate(s, "rcpt",
	    s->conf->submission_max_recipients_per_hour)) {
		smtp_reply(s, "452 4.7.1 Error: too many recipients in the last "
		    "hour, try again later");
		return;
	}
	if (s->nrcpt == s->rcpt_cap) {
		s->rcpt_cap = s->rcpt_cap ? s->rcpt_cap * 2 : 8;
		s->rcpts = xrealloc(s->rcpts, s->rcpt_cap * sizeof(*s->rcpts));
	}
	r = &s->rcpts[s->nrcpt];
	memset(r, 0, sizeof(*r));
	if (smtp_parse_rcpt(cmd->args, s->mail.smtputf8, &r->path,
	    &reply) < 0) {
		smtp_reply(s, "%s", reply);
		smtp_error(s);
		return;
	}
	addr = smtp_path_to_string(&r->path);
	domain = r->path.bare_postmaster ? acct_first_domain(s->acct) :
	    r->path.domain;
	if (domain == NULL || (!s->auth_done &&
	    (!acct_is_local_domain(s->acct, domain) ||
	    smtp_relay_trick(&r->path)))) {
		smtp_reply(s, "554 5.7.1 <%s>: Relay access denied", addr);
		log_info("%s smtp reject relay from=<%s> to=<%s> addr=%s",
		    s->base.id, s->mail.localpart, addr, s->base.ip);
		refused = "5.7.1 Relay access denied";
		goto fail;
	}
	if (s->auth_done && !acct_is_local_domain(s->acct, domain)) {
		/* an authenticated user's mail for the world: the queue */
		r->res.t = xcalloc(1, sizeof(*r->res.t));
		r->res.n = 1;
		r->res.t[0].kind = ACCT_TARGET_REMOTE;
		r->res.t[0].address = xstrdup(addr);
	} else {
		st = acct_resolve(s->acct, r->path.bare_postmaster ?
		    "postmaster" : r->path.localpart, domain, &r->res);
		if (st != ACCT_OK) {
			smtp_reply(s, "550 5.1.1 <%s>: Recipient address "
			    "rejected: User unknown", addr);
			refused = "5.1.1 User unknown";
			goto fail;
		}
		if (!smtp_quota_rcpt(s, r, addr)) {
			acct_resolution_free(&r->res);
			smtp_path_free(&r->path);
			free(addr);
			return;		/* 452: not an error of the client */
		}
	}
	if (!smtp_milter_rcpt(s, addr))	/* else they answer */
		smtp_rcpt_accepted(s);
	free(addr);
	return;
fail:
	acct_resolution_free(&r->res);
	smtp_path_free(&r->path);
	if (smtp_error(s))	/* filters that asked hear of it */
		smtp_milter_rcpt_rejected(s, addr, refused);
	free(addr);
}

void
smtp_rcpt_accepted(struct smtp_session *s)
{
	struct smtp_rcpt *r = &s->rcpts[s->nrcpt++];

	smtp_enter_state(s, SMTP_ST_RCPT);
	smtp_checks_rcpt(s, &r->path);
	smtp_reply(s, "250 2.1.5 Ok");
}

static void
smtp_cmd_starttls(struct smtp_session *s, const struct smtp_command *cmd)
{
	const char *reply;

	if (smtp_command_check_no_args(cmd, &reply) < 0) {
		smtp_reply(s, "%s", reply);
		smtp_error(s);
		return;
	}
	if (s->base.tls) {
		smtp_reply(s, "503 5.5.1 Error: TLS already active");
		smtp_error(s);
		return;
	}
	if (!tls_available()) {
		smtp_reply(s, "454 4.7.0 TLS not available");
		return;
	}
	smtp_reply(s, "220 2.0.0 Ready to start TLS");
	/* the handshake starts once 220 is out; what the client pipelined
	 * after STARTTLS is dropped there */
	session_starttls(&s->base);
	smtp_tx_reset(s);
	smtp_enter_state(s, SMTP_ST_STARTTLS);
	s->esmtp = false;
}

static void
smtp_command(struct smtp_session *s, const char *line, size_t len)
{
	struct smtp_command cmd;
	const char *reply;

	s->ncommands++;
	memset(&cmd, 0, sizeof(cmd));
	if (smtp_command_parse(line, len, &cmd, &reply) < 0) {
		smtp_reply(s, "%s", reply);
		smtp_error(s);
		return;
	}
	switch (cmd.verb) {
	case SMTP_VERB_HELO:
	case SMTP_VERB_EHLO:
		smtp_cmd_helo(s, &cmd);
		break;
	case SMTP_VERB_MAIL:
		smtp_cmd_mail(s, &cmd);
		break;
	case SMTP_VERB_RCPT:
		smtp_cmd_rcpt(s, &cmd);
		break;
	case SMTP_VERB_DATA:
		smtp_cmd_data(s, &cmd);
		break;
	case SMTP_VERB_BDAT:
		smtp_cmd_bdat(s, &cmd);
		break;
	case SMTP_VERB_RSET:
		if (smtp_command_check_no_args(&cmd, &reply) < 0) {
			smtp_reply(s, "%s", reply);
			smtp_error(s);
			break;
		}
		smtp_tx_reset(s);
		smtp_reply(s, "250 2.0.0 Ok");
		break;
	case SMTP_VERB_NOOP:
		smtp_reply(s, "250 2.0.0 Ok");
		break;
	case SMTP_VERB_QUIT:
		smtp_reply(s, "221 2.0.0 Bye");
		smtp_session_close(s);
		break;
	case SMTP_VERB_VRFY:
		smtp_reply(s, "252 2.5.2 Cannot VRFY user, but will accept "
		    "message and attempt delivery");
		break;
	case SMTP_VERB_EXPN:
		smtp_reply(s, "502 5.5.1 Error: EXPN not available");
		break;
	case SMTP_VERB_HELP:
		smtp_reply(s, "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA "
		    "BDAT RSET NOOP QUIT VRFY HELP STARTTLS; see RFC 5321");
		break;
	case SMTP_VERB_STARTTLS:
		smtp_cmd_starttls(s, &cmd);
		break;
	case SMTP_VERB_AUTH:
		smtp_cmd_auth(s, &cmd);
		break;
	default:
		smtp_reply(s, "500 5.5.2 Error: command not recognized");
		smtp_error(s);
		break;
	}
	smtp_command_free(&cmd);
}

static void
smtp_deadline_over(void *arg)
{
	struct smtp_session *s = arg;

	s->deadline_on = false;
	if (s->base.state != SESSION_ACTIVE)
		return;
	/* A line left half-read because we stopped reading (the client does
	 * not take its replies) is not the client trickling a command: the
	 * connection's own timeout for unread output ends that session. */
	if (io_output_held(s->base.io))
		return;
	log_info("%s smtp deadline addr=%s state=%s", s->base.id, s->base.ip,
	    s->data_mode != SMTP_DATA_NONE ? "data" : "command");
	smtp_reply(s, "421 4.4.2 %s Error: timeout exceeded",
	    s->conf->hostname);
	smtp_session_close(s);
}

void
smtp_deadline(struct smtp_session *s, unsigned sec)
{
	if (sec == 0) {
		if (s->deadline_on)
			loop_timer_del(s->deadline);
		s->deadline_on = false;
		return;
	}
	if (s->deadline == NULL)
		s->deadline = loop_timer_new(server_thread_loop(s->base.thread),
		    smtp_deadline_over, s);
	loop_timer_add(s->deadline, sec * 1000);
	s->deadline_on = true;
}

/* proto->input: runs the buffered commands while nothing waits. */
static void
smtp_input(struct session *base)
{
	struct smtp_session *s = (struct smtp_session *)base;
	int r;

	if (s->state == SMTP_ST_STARTTLS)	/* the handshake is done */
		smtp_enter_state(s, SMTP_ST_HELO);
	while (smtp_running(s)) {
		if (s->data_mode != SMTP_DATA_NONE) {
			if (!smtp_message_input(s))
				return;
			continue;
		}
		r = smtp_auth_getline(s);
		if (r == 0) {
			/* A command that trickles in byte by byte must still
			 * be complete within the command timeout. */
			if (io_inlen(s->base.io) > 0 && !s->deadline_on)
				smtp_deadline(s, s->conf->smtp_command_timeout);
			return;
		}
		smtp_deadline(s, 0);
		if (r < 0) {		/* answered */
			if (!smtp_error(s))
				return;
			continue;
		}
		if (s->auth_step != SMTP_AUTH_NONE)
			smtp_auth_continue(s, s->line.data, s->line.len);
		else
			smtp_command(s, s->line.data, s->line.len);
	}
}

void
smtp_session_resume(struct smtp_session *s)
{
	s->base.timeout = s->data_mode != SMTP_DATA_NONE ?
	    s->conf->smtp_data_timeout : s->conf->smtp_command_timeout;
	session_resume(&s->base);
}

static void
smtp_timeout(struct session *base)
{
	struct smtp_session *s = (struct smtp_session *)base;

	smtp_reply(s, "421 4.4.2 %s Error: timeout exceeded",
	    s->conf->hostname);
	smtp_enter_state(s, SMTP_ST_QUIT);
}

static void
smtp_shutdown(struct session *base)
{
	struct smtp_session *s = (struct smtp_session *)base;

	smtp_reply(s, "421 4.3.2 %s Service shutting down", s->conf->hostname);
	smtp_enter_state(s, SMTP_ST_QUIT);
}

/* proto->greet: the block lists first (port 25), then 220. */
static void
smtp_proto_greet(struct session *base)
{
	struct smtp_session *s = (struct smtp_session *)base;

	if (smtp_dnsbl_start(s))
		return;		/* smtp_greet once the lists answered */
	smtp_greet(s);
}

void
smtp_greet(struct smtp_session *s)
{
	if (smtp_milter_connect(s))
		return;		/* called again once the filters answered */
	smtp_reply(s, "220 %s ESMTP tem", s->conf->hostname);
	smtp_enter_state(s, SMTP_ST_HELO);
	if (s->base.busy)	/* held while the block lists answered */
		smtp_session_resume(s);
}

/* proto->closed: nothing may call back into a closed session. */
static void
smtp_closed(struct session *base)
{
	struct smtp_session *s = (struct smtp_session *)base;

	smtp_dnsbl_cancel(s);
	smtp_checks_reset(s);
	smtp_milter_free(s);
	smtp_deadline(s, 0);
}

static void
smtp_session_free(struct session *base)
{
	struct smtp_session *s = (struct smtp_session *)base;

	log_info("%s smtp disconnect addr=%s commands=%u messages=%u "
	    "errors=%u duration=%lds", s->base.id, s->base.ip, s->ncommands,
	    s->nmessages, s->errors, (long)(time(NULL) - s->base.started));
	smtp_tx_reset(s);
	smtp_dnsbl_cancel(s);
	smtp_milter_free(s);
	buf_free(&s->line);
	buf_free(&s->trace);
	buf_free(&s->head);
	free(s->rcpts);
	free(s->helo);
	free(s->auth_user);
	free(s->auth_login_user);
	free(s->auth_try_user);
	loop_timer_free(&s->auth_timer);
	loop_timer_free(&s->deadline);
	free(s);
}

static const struct session_proto smtp_proto = {
	.name = "smtp",
	.greet = smtp_proto_greet,
	.input = smtp_input,
	.timeout = smtp_timeout,
	.shutdown = smtp_shutdown,
	.closed = smtp_closed,
	.free = smtp_session_free,
};

void
smtp_session_start(struct smtp_session *s, int fd)
{
	buf_init(&s->line, 0);
	buf_init(&s->trace, 0);
	buf_init(&s->head, 0);
	buf_init(&s->milter_head, 0);
	session_start(&s->base, &smtp_proto, fd,
	    s->base.svc == SVC_SUBMISSIONS, s->conf->smtp_command_timeout);
}
