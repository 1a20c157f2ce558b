/*
 * mta_session - the outbound SMTP client conversation (see mta_session.h).
 *
 * Trust: replies are untrusted and go through smtp_reply.c (bounded lines
 * and line counts). Outgoing command lines are built from queue data that
 * is checked for control characters first (mta_addr_ok).
 *
 * Shape: every command sent pushes what its reply means onto a FIFO
 * ("expect"); each complete reply pops one entry and goes to its handler.
 * Without PIPELINING one command is outstanding at a time; with it,
 * MAIL + RCPT... + DATA go out as one group (RFC 2920 3.1) and their
 * replies are matched in order. The same handlers serve both.
 *
 * Ending: mta_finish() records the status, closes the connection and arms
 * the session timer at 0 ms; done() runs from that timer, in a later loop
 * turn and never inside an io callback, and then the session is freed
 * (STYLE.md habit 7).
 *
 * The mail transactions themselves (MAIL, RCPT, DATA, RSET) are in
 * mta_tx.c, keeping a connection for the next batch in mta_reuse.c, the
 * TLS policy's part (the check after the handshake, what a missing
 * STARTTLS or a failed handshake means) in mta_session_tls.c; this file
 * holds the connection, greeting, EHLO, STARTTLS, reply reading and the
 * end.
 *
 * Callers: the delivery engine. Tests: src/mta/test-mta-session.c.
 */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mta/mta_session_int.h"
#include "tls/tls.h"
#include "util/buf.h"
#include "util/io.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xmalloc.h"

/* ------------------------------------------------------------------ */
/* Small helpers */

void
mta_timeout(struct mta_session *s, unsigned sec)
{
	if (s->finished)
		return;
	if (sec == 0)
		loop_timer_del(s->timer);
	else
		loop_timer_add(s->timer, sec * 1000);
}

void
mta_expect(struct mta_session *s, enum mta_expect kind, int idx)
{
	if (s->exp_tail == s->exp_cap) {
		s->exp_cap = s->exp_cap ? s->exp_cap * 2 : 16;
		s->exp = xrealloc(s->exp, s->exp_cap * sizeof(*s->exp));
	}
	s->exp[s->exp_tail].kind = kind;
	s->exp[s->exp_tail].idx = idx;
	s->exp_tail++;
}

static bool
mta_expect_pop(struct mta_session *s, struct mta_exp *e)
{
	if (s->exp_head == s->exp_tail)
		return false;
	*e = s->exp[s->exp_head++];
	if (s->exp_head == s->exp_tail)
		s->exp_head = s->exp_tail = 0;
	return true;
}

/* Queues one command line and what its reply will mean. */
void
mta_cmd(struct mta_session *s, enum mta_expect kind, int idx,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

void
mta_cmd(struct mta_session *s, enum mta_expect kind, int idx,
    const char *fmt, ...)
{
	va_list ap;

	if (s->io == NULL)
		return;
	buf_reset(&s->out);
	va_start(ap, fmt);
	buf_vprintf(&s->out, fmt, ap);
	va_end(ap);
	buf_append(&s->out, "\r\n", 2);
	io_write(s->io, s->out.data, s->out.len);
	mta_expect(s, kind, idx);
	mta_timeout(s, kind == EXP_QUIT && s->p.command_timeout >
	    MTA_QUIT_TIMEOUT ? MTA_QUIT_TIMEOUT : s->p.command_timeout);
}

/* What we wait for, in words, for texts about timeouts and lost
   connections. */
static const char *
mta_waiting_for(const struct mta_session *s)
{
	static const char *const names[] = {
		[EXP_GREETING] = "receiving the initial server greeting",
		[EXP_EHLO] = "sending EHLO",
		[EXP_HELO] = "sending HELO",
		[EXP_STARTTLS] = "sending STARTTLS",
		[EXP_MAIL] = "sending MAIL FROM",
		[EXP_RCPT] = "sending RCPT TO",
		[EXP_DATA] = "sending DATA command",
		[EXP_DATA_END] = ("sending end of data -- message may be "
		    "sent more than once"),
		[EXP_DOT_IGNORED] = "sending end of data",
		[EXP_RSET] = "sending RSET",
		[EXP_QUIT] = "sending QUIT",
		[EXP_PROBE] = "sending RSET on a reused connection",
	};

	if (s->phase == PH_CONNECTING)
		return "connecting";
	if (s->phase == PH_TLS)
		return "performing the TLS handshake";
	if (s->in_body)
		return "sending message body";
	if (s->exp_head == s->exp_tail)
		return "waiting";
	return names[s->exp[s->exp_head].kind];
}

static const char *
mta_in_reply_to(enum mta_expect kind)
{
	switch (kind) {
	case EXP_MAIL:
		return "MAIL FROM";
	case EXP_RCPT:
		return "RCPT TO";
	case EXP_DATA:
		return "DATA";
	case EXP_DATA_END:
	case EXP_DOT_IGNORED:
		return "end of DATA";
	case EXP_RSET:
	case EXP_PROBE:
		return "RSET";
	case EXP_EHLO:
		return "EHLO";
	case EXP_HELO:
		return "HELO";
	case EXP_STARTTLS:
		return "STARTTLS";
	case EXP_QUIT:
		return "QUIT";
	case EXP_GREETING:
		break;
	}
	return NULL;
}

/* "host NAME[ADDR] said: 550 5.1.1 text (in reply to RCPT TO command)" */
char *
mta_said(const struct mta_session *s, const struct smtp_reply *r,
    enum mta_expect kind)
{
	char *one = smtp_reply_oneline(r, MTA_TEXT_MAX), *t;
	const char *cmd = mta_in_reply_to(kind);

	if (cmd)
		t = xasprintf("host %s said: %s (in reply to %s command)",
		    s->host_label, one, cmd);
	else
		t = xasprintf("host %s said: %s", s->host_label, one);
	free(one);
	return t;
}

int
mta_class(int code)
{
	return code >= 500 ? MTA_RCPT_PERM : code >= 400 ? MTA_RCPT_TEMP :
	    code >= 200 && code < 300 ? MTA_RCPT_OK : MTA_RCPT_TEMP;
}

struct mta_msg *
mta_cur(const struct mta_session *s)
{
	return s->cur >= 0 && s->cur < s->nmsgs ? s->msgs[s->cur] : NULL;
}

void
mta_set_result(struct mta_msg *m, int i, int result, const char *text)
{
	m->rcpt_result[i] = result;
	free(m->rcpt_text[i]);
	m->rcpt_text[i] = xstrdup(text);
}

/* Every recipient of the message in progress without a final result
   (pending or accepted at RCPT) gets result and text. */
static void
mta_fail_pending(struct mta_session *s, int result, const char *text)
{
	struct mta_msg *m = mta_cur(s);

	if (m == NULL)
		return;
	for (int i = 0; i < m->nrcpt; i++)
		if (m->rcpt_result[i] == MTA_RCPT_UNTOUCHED && !s->rcpt_skip[i])
			mta_set_result(m, i, result, text);
	s->naccepted = 0;
	s->cur = s->nmsgs;	/* nothing more on this connection */
}

/* ------------------------------------------------------------------ */
/* The end */

static const char *
mta_status_event(int status)
{
	switch (status) {
	case MTA_CONN_FAILED:
		return "connect-failed";
	case MTA_CONN_TEMP:
		return "session-failed";
	case MTA_CONN_PERM:
		return "session-refused";
	}
	return "session-cut";	/* MTA_OK, ended early */
}

void
mta_finish(struct mta_session *s, int status, const char *text)
{
	if (s->finished)
		return;
	s->finished = true;
	s->status = status;
	s->text = xstrdup(text ? text : "");
	if (status != MTA_OK || s->text[0])
		log_info("%s mta %s host=%s text=\"%s\"", s->id,
		    mta_status_event(status), s->host_label, s->text);
	io_free(&s->io);	/* allowed inside its own callback */
	loop_timer_add(s->timer, 0);
}

/* A failure that ends the connection: before "ready" it is the
   connection's (status), after it the message in progress gets a
   temporary result and the session itself counts as done. */
static void
mta_fail(struct mta_session *s, int status, const char *text)
{
	if (s->phase == PH_QUIT) {
		mta_finish(s, s->end_status, s->end_text);
		return;
	}
	if (s->phase < PH_READY) {
		mta_finish(s, status, text);
		return;
	}
	mta_fail_pending(s, MTA_RCPT_TEMP, text);
	mta_finish(s, MTA_OK, text);
}

static void
mta_session_free(struct mta_session *s)
{
	mta_body_stop(s);
	io_free(&s->io);
	loop_timer_free(&s->timer);
	smtp_reply_parser_free(&s->parser);
	buf_free(&s->line);
	buf_free(&s->out);
	free(s->exp);
	free(s->rcpt_ok);
	free(s->rcpt_skip);
	free(s->helo_name);
	free(s->host_name);
	free(s->host_label);
	free(s->text);
	free(s->end_text);
	free(s);
}

static void
mta_timer_cb(void *arg)
{
	struct mta_session *s = arg;
	char *text;

	if (s->finished) {
		log_info("%s mta disconnect host=%s messages=%d tls=%s "
		    "duration=%lds", s->id, s->host_label, s->nsent,
		    s->tls ? "yes" : "no", (long)(time(NULL) - s->started));
		s->done(s, s->status, s->text, s->arg);
		mta_session_free(s);
		return;
	}
	if (s->phase == PH_IDLE) {	/* mta_reuse.c */
		mta_idle_timer(s);
		return;
	}
	if (s->phase == PH_QUIT) {
		mta_finish(s, s->end_status, s->end_text);
		return;
	}
	text = xasprintf("conversation with host %s timed out while %s",
	    s->host_label, mta_waiting_for(s));
	if (s->phase == PH_CONNECTING) {
		free(text);
		text = xasprintf("connect to host %s: timed out",
		    s->host_label);
		mta_finish(s, MTA_CONN_FAILED, text);
	} else
		mta_fail(s, MTA_CONN_TEMP, text);
	free(text);
}

/* Sends QUIT; its reply, EOF or a short timeout end the session with
   status and text. */
void
mta_quit(struct mta_session *s, int status, const char *text)
{
	s->end_status = status;
	free(s->end_text);
	s->end_text = xstrdup(text);
	s->phase = PH_QUIT;
	mta_cmd(s, EXP_QUIT, 0, "QUIT");
}

/* ------------------------------------------------------------------ */
/* Greeting, EHLO, STARTTLS */

static void
mta_send_ehlo(struct mta_session *s)
{
	mta_cmd(s, EXP_EHLO, 0, "EHLO %s", s->helo_name);
}

/* EHLO or HELO went through: STARTTLS, or the first message. */
static void
mta_greeted(struct mta_session *s)
{
	bool want_tls = !s->p.no_tls || s->p.tls_required;

	if (!s->tls && want_tls && (s->caps.flags & SMTP_CAP_STARTTLS)) {
		mta_cmd(s, EXP_STARTTLS, 0, "STARTTLS");
		return;
	}
	if (!s->tls && want_tls && mta_tls_not_offered(s))
		return;
	if (!s->tls && s->p.tls_required) {
		char *t = xasprintf("4.7.5 TLS is required, but host %s does "
		    "not offer STARTTLS", s->host_label);
		mta_quit(s, MTA_CONN_TEMP, t);
		free(t);
		return;
	}
	s->phase = PH_READY;
	mta_next_message(s);
}

/* A connection-level refusal: QUIT politely, then report it. */
static void
mta_refused(struct mta_session *s, const struct smtp_reply *r,
    enum mta_expect kind)
{
	char *t = mta_said(s, r, kind);

	mta_quit(s, r->code >= 500 ? MTA_CONN_PERM : MTA_CONN_TEMP, t);
	free(t);
}

static void
mta_on_greeting(struct mta_session *s, const struct smtp_reply *r)
{
	if (r->code == 220) {
		mta_send_ehlo(s);
		return;
	}
	mta_refused(s, r, EXP_GREETING);
}

static void
mta_on_ehlo(struct mta_session *s, const struct smtp_reply *r)
{
	if (r->code == 250) {
		s->esmtp = true;
		mta_note_helo(s, r);
		smtp_reply_ehlo_caps(r->text, &s->caps);
		mta_greeted(s);
		return;
	}
	if (r->code >= 500) {
		/* RFC 5321 3.2: a server without ESMTP. */
		mta_cmd(s, EXP_HELO, 0, "HELO %s", s->helo_name);
		return;
	}
	mta_refused(s, r, EXP_EHLO);
}

static void
mta_on_helo(struct mta_session *s, const struct smtp_reply *r)
{
	if (r->code == 250) {
		s->esmtp = false;
		mta_note_helo(s, r);
		memset(&s->caps, 0, sizeof(s->caps));
		mta_greeted(s);
		return;
	}
	mta_refused(s, r, EXP_HELO);
}

static void
mta_on_starttls(struct mta_session *s, const struct smtp_reply *r)
{
	char *t;

	if (r->code == 220) {
		s->phase = PH_TLS;
		io_start_tls_client(s->io, tls_client_ssl_new(s->host_name));
		mta_timeout(s, s->p.command_timeout);
		return;
	}
	if (s->p.tls_required) {
		t = mta_said(s, r, EXP_STARTTLS);
		if (!mta_tls_refuse(s, TLSRPT_STARTTLS_NOT_SUPPORTED, t))
			mta_quit(s, MTA_CONN_TEMP, t);
		free(t);
		return;
	}
	/* Opportunistic: go on in the clear with the first EHLO's list. */
	s->caps.flags &= ~SMTP_CAP_STARTTLS;
	mta_greeted(s);
}

static void
mta_on_tls_ready(struct mta_session *s)
{
	s->tls = true;
	s->phase = PH_GREETING;
	if (!mta_tls_checked(s))
		return;
	/* RFC 3207 4.2: forget what was learned before TLS. */
	memset(&s->caps, 0, sizeof(s->caps));
	mta_send_ehlo(s);
}

/* ------------------------------------------------------------------ */
/* Reading replies */

static void
mta_dispatch(struct mta_session *s, const struct smtp_reply *r)
{
	struct mta_exp e;
	char *t;

	if (!mta_expect_pop(s, &e)) {
		t = xasprintf("unexpected reply from host %s",
		    s->host_label);
		mta_fail(s, MTA_CONN_TEMP, t);
		free(t);
		return;
	}
	if (s->exp_head != s->exp_tail || s->in_body)
		mta_timeout(s, s->p.command_timeout);
	else
		mta_timeout(s, 0);
	if (r->code == 421 && e.kind >= EXP_MAIL && e.kind <= EXP_RSET) {
		/* RFC 5321 3.8: the server is closing the channel; what
		   was not answered for good is tried again later. */
		t = mta_said(s, r, e.kind);
		mta_fail(s, MTA_CONN_TEMP, t);
		free(t);
		return;
	}
	switch (e.kind) {
	case EXP_GREETING:
		mta_on_greeting(s, r);
		break;
	case EXP_EHLO:
		mta_on_ehlo(s, r);
		break;
	case EXP_HELO:
		mta_on_helo(s, r);
		break;
	case EXP_STARTTLS:
		mta_on_starttls(s, r);
		break;
	case EXP_MAIL:
		mta_on_mail(s, r);
		break;
	case EXP_RCPT:
		mta_on_rcpt(s, r, e.idx);
		break;
	case EXP_DATA:
		mta_on_data(s, r);
		break;
	case EXP_DATA_END:
		mta_on_data_end(s, r);
		break;
	case EXP_DOT_IGNORED:
		s->tx_open = false;
		mta_next_message(s);
		break;
	case EXP_RSET:
		mta_on_rset(s, r);
		break;
	case EXP_QUIT:
		mta_finish(s, s->end_status, s->end_text);
		break;
	case EXP_PROBE:
		mta_on_probe(s, r);
		break;
	}
}

static void
mta_read(struct mta_session *s)
{
	struct smtp_reply r;
	const char *err;
	char *t;
	int n;

	while (!s->finished && s->io != NULL && s->phase != PH_TLS) {
		n = io_getline(s->io, SMTP_REPLY_LINE_MAX + 1, &s->line);
		if (n == 0)
			return;
		if (n > 0)
			n = smtp_reply_feed(&s->parser, s->line.data,
			    s->line.len, &r, &err);
		else
			err = "reply line too long";
		if (n == 0)
			continue;
		if (n < 0) {
			t = xasprintf("protocol error from host %s: %s",
			    s->host_label, err);
			mta_fail(s, MTA_CONN_TEMP, t);
			free(t);
			return;
		}
		mta_dispatch(s, &r);
		smtp_reply_free(&r);
	}
}

static void
mta_lost(struct mta_session *s, enum io_event ev)
{
	char *t;
	int err = io_error(s->io);

	if (s->phase == PH_TLS) {
		mta_tls_failed(s);
		return;
	}
	if (s->phase == PH_QUIT) {
		mta_finish(s, s->end_status, s->end_text);
		return;
	}
	if (s->phase == PH_CONNECTING) {
		t = xasprintf("connect to host %s: %s", s->host_label,
		    strerror(err ? err : ECONNREFUSED));
		mta_finish(s, MTA_CONN_FAILED, t);
	} else {
		t = xasprintf("lost connection with host %s while %s%s%s",
		    s->host_label, mta_waiting_for(s),
		    ev == IO_EV_ERROR && err ? ": " : "",
		    ev == IO_EV_ERROR && err ? strerror(err) : "");
		mta_fail(s, MTA_CONN_TEMP, t);
	}
	free(t);
}

static void
mta_io_cb(struct io *io, enum io_event ev, void *arg)
{
	struct mta_session *s = arg;

	(void)io;
	if (s->finished)
		return;
	if (s->phase == PH_IDLE) {	/* mta_reuse.c */
		mta_idle_event(s, ev);
		return;
	}
	switch (ev) {
	case IO_EV_CONNECTED:
		s->phase = PH_GREETING;
		log_info("%s mta connect host=%s addr=%s port=%u", s->id,
		    s->host_name, s->addr_str, s->port);
		mta_expect(s, EXP_GREETING, 0);
		mta_timeout(s, s->p.command_timeout);
		break;
	case IO_EV_DATAIN:
		mta_read(s);
		break;
	case IO_EV_DRAINED:
		mta_send_body(s);
		break;
	case IO_EV_TLS_READY:
		mta_on_tls_ready(s);
		mta_read(s);
		break;
	case IO_EV_TIMEOUT:	/* io's own timer is not used */
		break;
	case IO_EV_EOF:
	case IO_EV_ERROR:
		/* Replies that came with the close are read first. */
		if (s->phase != PH_CONNECTING && s->phase != PH_TLS)
			mta_read(s);
		if (!s->finished)
			mta_lost(s, ev);
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Public */

static void
mta_format_addr(struct mta_session *s)
{
	char host[64], port[16];

	if (getnameinfo((const struct sockaddr *)&s->p.addr, s->p.addrlen,
	    host, sizeof(host), port, sizeof(port),
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(host, sizeof(host), "?");
	snprintf(s->addr_str, sizeof(s->addr_str), "%s", host);
	s->port = (unsigned)strtoul(port, NULL, 10);
	if (s->host_name == NULL)
		s->host_name = xstrdup(host);
	s->host_label = xasprintf("%s[%s]", s->host_name, host);
}

struct mta_session *
mta_session_start(const struct mta_session_params *p, struct mta_msg **msgs,
    int nmsgs, mta_done_fn *done, void *arg)
{
	struct mta_session *s = xmalloc(sizeof(*s));
	const struct sockaddr *bind = NULL;
	char *t;
	int err = 0;

	s->p = *p;
	if (s->p.connect_timeout == 0)
		s->p.connect_timeout = 30;
	if (s->p.command_timeout == 0)
		s->p.command_timeout = 300;	/* RFC 5321 4.5.3.2 */
	if (s->p.data_timeout == 0)
		s->p.data_timeout = 600;
	if (p->log_id)
		snprintf(s->id, sizeof(s->id), "%s", p->log_id);
	else
		log_new_id(s->id);
	s->loop = p->loop;
	s->helo_name = xstrdup(p->helo_name ? p->helo_name : "localhost");
	s->host_name = p->host_name ? xstrdup(p->host_name) : NULL;
	s->p.helo_name = s->helo_name;
	s->p.host_name = NULL;
	if (p->bind_addr && p->bind_len <= sizeof(s->bind_ss)) {
		memcpy(&s->bind_ss, p->bind_addr, p->bind_len);
		bind = (const struct sockaddr *)&s->bind_ss;
	}
	s->p.bind_addr = bind;
	s->msgs = msgs;
	s->nmsgs = nmsgs;
	s->cur = -1;
	s->done = done;
	s->arg = arg;
	s->started = time(NULL);
	smtp_reply_parser_init(&s->parser);
	buf_init(&s->line, 0);
	buf_init(&s->out, 0);
	mta_format_addr(s);
	s->timer = loop_timer_new(s->loop, mta_timer_cb, s);
	s->phase = PH_CONNECTING;
	s->io = io_connect(s->loop, (const struct sockaddr *)&s->p.addr,
	    s->p.addrlen, bind, bind ? p->bind_len : 0, mta_io_cb, s, &err);
	if (s->io == NULL) {
		t = xasprintf("connect to host %s: %s", s->host_label,
		    strerror(err));
		mta_finish(s, MTA_CONN_FAILED, t);
		free(t);
		return s;
	}
	mta_timeout(s, s->p.connect_timeout);
	return s;
}

void
mta_session_abort(struct mta_session **sp)
{
	struct mta_session *s = *sp;

	if (s == NULL)
		return;
	*sp = NULL;
	mta_session_free(s);
}

const char *
mta_session_id(const struct mta_session *s)
{
	return s->id;
}

unsigned
mta_session_caps(const struct mta_session *s)
{
	return s->caps.flags;
}

bool
mta_session_tls(const struct mta_session *s)
{
	return s->tls;
}

bool
mta_session_tls_verified(const struct mta_session *s)
{
	return s->tls_verified;
}
