/*
 * mta_tx - the mail transactions of an outbound session: local checks,
 * MAIL FROM, RCPT TO, DATA and the body, RSET, one message after another
 * (see mta_session.h for the contract, mta_session.c for the rest).
 *
 * Trust: the addresses and parameters come from our queue but end up in
 * command lines: mta_addr_ok() and mta_xtext_ok() keep control characters
 * and spaces out, so stored data cannot inject a command. Reply texts are
 * untrusted and only copied into results through mta_said().
 *
 * Replies and results: RCPT accepted (2xx) is not final; the recipient
 * waits in rcpt_ok for the reply to the end of data, which settles every
 * such recipient at once (RFC 5321 3.3). Anything refused earlier gets
 * its own reply as result.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mta/mta_session_int.h"
#include "util/buf.h"
#include "util/io.h"
#include "util/xmalloc.h"

static void mta_send_rcpt_or_data(struct mta_session *s);

/* No control characters, nothing that could end a command line. */
static bool
mta_addr_ok(const char *a)
{
	if (a == NULL || strlen(a) > 512)
		return false;
	for (; *a; a++)
		if ((unsigned char)*a < 0x20 || *a == 0x7f)
			return false;
	return true;
}

/* An ESMTP parameter value: printable ASCII, no space, no "=" issue. */
static bool
mta_xtext_ok(const char *v)
{
	if (v == NULL || *v == '\0' || strlen(v) > 500)
		return false;
	for (; *v; v++)
		if ((unsigned char)*v <= 0x20 || (unsigned char)*v >= 0x7f)
			return false;
	return true;
}

/* All recipients of m get a local permanent refusal. */
static void
mta_refuse_msg(struct mta_msg *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
mta_refuse_msg(struct mta_msg *m, const char *fmt, ...)
{
	va_list ap;
	struct buf b;

	buf_init(&b, 0);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	for (int i = 0; i < m->nrcpt; i++)
		mta_set_result(m, i, MTA_RCPT_PERM, buf_cstr(&b));
	buf_free(&b);
}

/* Local checks before anything is sent; false when m was refused. */
static bool
mta_msg_ok(struct mta_session *s, struct mta_msg *m, size_t wire)
{
	/* RFC 8689 4.2.1: only over TLS that DANE or MTA-STS verified, to
	   a peer that offers REQUIRETLS after STARTTLS; the failure is
	   permanent (the sender gets a DSN), never a retry in clear */
	if (m->requiretls && !mta_session_tls_verified(s)) {
		mta_refuse_msg(m, "5.7.10 REQUIRETLS: no TLS verified by DANE "
		    "or MTA-STS with host %s", s->host_label);
		return false;
	}
	if (m->requiretls && !(s->caps.flags & SMTP_CAP_REQUIRETLS)) {
		mta_refuse_msg(m, "5.7.30 host %s does not support REQUIRETLS, "
		    "which this message needs", s->host_label);
		return false;
	}
	if (m->smtputf8 && !(s->caps.flags & SMTP_CAP_SMTPUTF8)) {
		mta_refuse_msg(m, "5.6.7 host %s does not support SMTPUTF8, "
		    "which this message needs", s->host_label);
		return false;
	}
	if ((s->caps.flags & SMTP_CAP_SIZE) && s->caps.size > 0 &&
	    wire > s->caps.size) {
		mta_refuse_msg(m, "5.3.4 message size %zu exceeds size "
		    "limit %llu of host %s", wire,
		    (unsigned long long)s->caps.size, s->host_label);
		return false;
	}
	if (!mta_addr_ok(m->sender)) {
		mta_refuse_msg(m, "5.1.7 bad sender address syntax");
		return false;
	}
	return true;
}

static void
mta_format_notify(struct buf *b, unsigned n)
{
	if (n & DSN_NOTIFY_NEVER) {
		buf_puts(b, " NOTIFY=NEVER");
		return;
	}
	buf_puts(b, " NOTIFY=");
	if (n & DSN_NOTIFY_SUCCESS)
		buf_puts(b, "SUCCESS,");
	if (n & DSN_NOTIFY_FAILURE)
		buf_puts(b, "FAILURE,");
	if (n & DSN_NOTIFY_DELAY)
		buf_puts(b, "DELAY,");
	b->len--;	/* the last comma */
	b->data[b->len] = '\0';
}

static void
mta_send_mail(struct mta_session *s, struct mta_msg *m, size_t wire)
{
	struct buf b;
	/* 8-bit to a peer without 8BITMIME goes converted (mta_7bit.h):
	   no BODY=, and no SIZE= (the converted size is not known ahead) */
	bool down = m->eightbit && !(s->caps.flags & SMTP_CAP_8BITMIME);

	buf_init(&b, 0);
	buf_printf(&b, "MAIL FROM:<%s>", m->sender);
	if ((s->caps.flags & SMTP_CAP_SIZE) && !down)
		buf_printf(&b, " SIZE=%zu", wire);
	if (m->eightbit && !down)
		buf_puts(&b, " BODY=8BITMIME");
	if (m->smtputf8)
		buf_puts(&b, " SMTPUTF8");
	if (m->requiretls)
		buf_puts(&b, " REQUIRETLS");
	if (s->caps.flags & SMTP_CAP_DSN) {
		if (m->ret == DSN_RET_FULL || m->ret == DSN_RET_HDRS)
			buf_printf(&b, " RET=%s", m->ret == DSN_RET_FULL ?
			    "FULL" : "HDRS");
		if (mta_xtext_ok(m->envid))
			buf_printf(&b, " ENVID=%s", m->envid);
	}
	mta_cmd(s, EXP_MAIL, 0, "%s", buf_cstr(&b));
	buf_free(&b);
}

static void
mta_send_one_rcpt(struct mta_session *s, struct mta_msg *m, int i)
{
	struct buf b;

	buf_init(&b, 0);
	buf_printf(&b, "RCPT TO:<%s>", m->rcpts[i]);
	if (s->caps.flags & SMTP_CAP_DSN) {
		if (m->notify && m->notify[i])
			mta_format_notify(&b, m->notify[i]);
		if (m->orcpt && mta_xtext_ok(m->orcpt[i]))
			buf_printf(&b, " ORCPT=%s", m->orcpt[i]);
	}
	mta_cmd(s, EXP_RCPT, i, "%s", buf_cstr(&b));
	buf_free(&b);
}

/* Starts message s->cur: MAIL (+ RCPTs + DATA with PIPELINING). */
static void
mta_start_message(struct mta_session *s)
{
	struct mta_msg *m = mta_cur(s);
	size_t wire = m->content ? mta_data_wire_size(m->content, m->len) :
	    m->wire;
	int i, nvalid = 0;

	free(s->rcpt_ok);
	free(s->rcpt_skip);
	s->rcpt_ok = xcalloc((size_t)m->nrcpt + 1, sizeof(bool));
	s->rcpt_skip = xcalloc((size_t)m->nrcpt + 1, sizeof(bool));
	s->naccepted = 0;
	s->mail_ok = false;
	s->next_rcpt = 0;
	if (!mta_msg_ok(s, m, wire)) {
		mta_next_message(s);
		return;
	}
	for (i = 0; i < m->nrcpt; i++) {
		if (mta_addr_ok(m->rcpts[i])) {
			nvalid++;
			continue;
		}
		s->rcpt_skip[i] = true;
		mta_set_result(m, i, MTA_RCPT_PERM,
		    "5.1.3 bad recipient address syntax");
	}
	if (nvalid == 0) {
		mta_next_message(s);
		return;
	}
	s->nsent++;
	mta_send_mail(s, m, wire);
	if (!(s->caps.flags & SMTP_CAP_PIPELINING))
		return;
	for (i = 0; i < m->nrcpt; i++)
		if (!s->rcpt_skip[i])
			mta_send_one_rcpt(s, m, i);
	mta_cmd(s, EXP_DATA, 0, "DATA");
}

/* The next message to try, RSET first when a transaction is open; QUIT
   (or idle, mta_batch_end) after the last. */
void
mta_next_message(struct mta_session *s)
{
	struct mta_msg *m;

	if (s->tx_open) {
		s->tx_open = false;
		mta_cmd(s, EXP_RSET, 0, "RSET");
		return;
	}
	while (++s->cur < s->nmsgs) {
		m = s->msgs[s->cur];
		if (m->nrcpt > 0)
			break;
	}
	if (s->cur >= s->nmsgs) {
		mta_batch_end(s);
		return;
	}
	mta_start_message(s);
}

void
mta_on_mail(struct mta_session *s, const struct smtp_reply *r)
{
	struct mta_msg *m = mta_cur(s);
	char *t;

	if (r->code / 100 == 2) {
		s->mail_ok = true;
		s->tx_open = true;
		if (!(s->caps.flags & SMTP_CAP_PIPELINING))
			mta_send_rcpt_or_data(s);
		return;
	}
	t = mta_said(s, r, EXP_MAIL);
	for (int i = 0; i < m->nrcpt; i++)
		if (!s->rcpt_skip[i])
			mta_set_result(m, i, mta_class(r->code), t);
	free(t);
	/* With PIPELINING the RCPT and DATA replies still come; they are
	   read and ignored (mail_ok is false). */
	if (!(s->caps.flags & SMTP_CAP_PIPELINING))
		mta_next_message(s);
}

void
mta_on_rcpt(struct mta_session *s, const struct smtp_reply *r, int i)
{
	struct mta_msg *m = mta_cur(s);
	char *t;

	if (s->mail_ok) {
		if (r->code / 100 == 2) {
			s->rcpt_ok[i] = true;
			s->naccepted++;
		} else {
			t = mta_said(s, r, EXP_RCPT);
			mta_set_result(m, i, mta_class(r->code), t);
			free(t);
		}
	}
	if (!(s->caps.flags & SMTP_CAP_PIPELINING))
		mta_send_rcpt_or_data(s);
}

/* Without PIPELINING: the next RCPT, or DATA after the last one. */
static void
mta_send_rcpt_or_data(struct mta_session *s)
{
	struct mta_msg *m = mta_cur(s);

	while (s->next_rcpt < m->nrcpt && s->rcpt_skip[s->next_rcpt])
		s->next_rcpt++;
	if (s->next_rcpt < m->nrcpt) {
		mta_send_one_rcpt(s, m, s->next_rcpt++);
		return;
	}
	if (s->naccepted > 0)
		mta_cmd(s, EXP_DATA, 0, "DATA");
	else
		mta_next_message(s);	/* RSET: MAIL was accepted */
}

void
mta_on_data(struct mta_session *s, const struct smtp_reply *r)
{
	struct mta_msg *m = mta_cur(s);
	char *t;

	if (r->code == 354 && s->mail_ok && s->naccepted > 0) {
		if (!mta_body_start(s, m)) {
			t = xasprintf("local error before the message body: "
			    "%s", strerror(errno));
			for (int i = 0; i < m->nrcpt; i++)
				if (s->rcpt_ok[i])
					mta_set_result(m, i, MTA_RCPT_TEMP, t);
			free(t);
			s->naccepted = 0;
			mta_finish(s, MTA_OK, "local error");
			return;
		}
		s->in_body = true;
		mta_expect(s, EXP_DATA_END, 0);
		mta_send_body(s);
		return;
	}
	if (r->code == 354) {
		/* RFC 2920 3.1: no recipient, but the server wants data. */
		mta_cmd(s, EXP_DOT_IGNORED, 0, ".");
		return;
	}
	if (s->mail_ok && s->naccepted > 0) {
		/* anything but 354 is a failure, even a (bogus) 2xx */
		t = mta_said(s, r, EXP_DATA);
		for (int i = 0; i < m->nrcpt; i++)
			if (s->rcpt_ok[i])
				mta_set_result(m, i, r->code >= 500 ?
				    MTA_RCPT_PERM : MTA_RCPT_TEMP, t);
		free(t);
		s->naccepted = 0;
	}
	mta_next_message(s);
}

void
mta_on_data_end(struct mta_session *s, const struct smtp_reply *r)
{
	struct mta_msg *m = mta_cur(s);
	char *t = mta_said(s, r, EXP_DATA_END);

	for (int i = 0; i < m->nrcpt; i++)
		if (s->rcpt_ok[i])
			mta_set_result(m, i, mta_class(r->code), t);
	free(t);
	s->naccepted = 0;
	s->tx_open = false;
	if (s->in_body) {
		/* Answered before our end marker: the stream is out of
		   step; nothing more can be sent on it. */
		s->in_body = false;
		mta_body_stop(s);
		mta_finish(s, MTA_OK, "reply before the end of data");
		return;
	}
	mta_next_message(s);
}

void
mta_on_rset(struct mta_session *s, const struct smtp_reply *r)
{
	char *t;

	if (r->code / 100 == 2) {
		mta_next_message(s);
		return;
	}
	t = mta_said(s, r, EXP_RSET);
	s->cur = s->nmsgs;
	mta_finish(s, MTA_OK, t);
	free(t);
}
