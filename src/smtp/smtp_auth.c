/*
 * smtp_auth - SMTP AUTH (RFC 4954) for the submission services: SASL
 * PLAIN (with initial response) and LOGIN.
 *
 * Trust: handles passwords. They never reach a log; the verification
 * (yescrypt, tens of ms) runs on a worker thread. Each failure is logged
 * with the client address, delays the 535 (auth/authfail.h), and enough
 * of them lock the address out for a while. An unknown user costs the
 * same hashing time as a wrong password, so timing tells nothing.
 *
 * Line lengths: a command line has SMTP_LINE_MAX octets, but while AUTH
 * is possible the AUTH command with an initial response and the answers
 * to a 334 may carry SASL_LINE_MAX octets of base64 (RFC 4954 section 4);
 * longer ones get "500 5.5.6" and end the exchange (RFC 4954 section 6).
 *
 * SCRAM-SHA-256 is not offered: it needs PBKDF2-derived keys stored
 * beside the yescrypt hash, which would be the weaker of the two.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth/auth_verify.h"
#include "auth/authfail.h"
#include "auth/sasl.h"
#include "conf/conf.h"
#include "smtp/smtp_session.h"
#include "util/io.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xmalloc.h"
#include "util/metrics_list.h"

bool
smtp_auth_offered(const struct smtp_session *s)
{
	return (s->base.svc == SVC_SUBMISSION ||
	    s->base.svc == SVC_SUBMISSIONS) &&
	    (s->base.tls || s->conf->auth_allow_cleartext);
}

/* "AUTH " and a mechanism name (at most 20 characters, RFC 4422 3.1) in
 * front of an initial response. */
#define SMTP_AUTH_PREFIX_MAX	32

static const char reply_sasl_long[] =
    "500 5.5.6 Authentication Exchange line is too long";

/* True when line is an AUTH command (verb, then a space). */
static bool
is_auth_line(const char *line, size_t len)
{
	return len >= 5 && strncasecmp(line, "AUTH ", 5) == 0;
}

/* Ends an AUTH exchange in progress (no 334 outstanding any more). */
static void
smtp_auth_end(struct smtp_session *s)
{
	s->auth_step = SMTP_AUTH_NONE;
	free(s->auth_login_user);
	s->auth_login_user = NULL;
}

int
smtp_auth_getline(struct smtp_session *s)
{
	bool sasl = s->auth_step != SMTP_AUTH_NONE ||
	    (smtp_auth_offered(s) && !s->auth_done && !smtp_in_tx(s));
	size_t max = sasl ? SASL_LINE_MAX + SMTP_AUTH_PREFIX_MAX :
	    SMTP_LINE_MAX, n = 0;
	/* an over-long line is gone once refused: look at its start first */
	const char *p = sasl ? io_peek(s->base.io, &n) : NULL;
	bool auth_cmd = p != NULL && is_auth_line(p, n);
	int r = io_getline(s->base.io, max + 1, &s->line);	/* + its CR */

	if (r < 0 && (s->auth_step != SMTP_AUTH_NONE || auth_cmd)) {
		smtp_auth_end(s);
		smtp_reply(s, "%s", reply_sasl_long);
		return -1;
	}
	if (r < 0 || (r > 0 && s->auth_step == SMTP_AUTH_NONE &&
	    s->line.len > SMTP_LINE_MAX &&
	    !is_auth_line(s->line.data, s->line.len))) {
		smtp_reply(s, "500 5.5.2 Error: line too long");
		return -1;
	}
	return r;
}

static void
smtp_auth_delay_over(void *arg)
{
	struct smtp_session *s = arg;

	smtp_reply(s, "535 5.7.8 Error: authentication failed");
	smtp_session_resume(s);
	session_unref(&s->base);	/* the timer's */
}

static void
smtp_auth_verified(bool ok, char *canonical, void *arg)
{
	struct smtp_session *s = arg;
	unsigned delay;

	if (session_closed(&s->base)) {	/* the client left meanwhile */
		free(canonical);
		session_unref(&s->base);
		return;
	}
	if (ok) {
		s->auth_done = true;
		s->base.trusted = true;
		s->auth_user = canonical;
		log_info("%s smtp auth user=%s addr=%s", s->base.id,
		    s->auth_user, s->base.ip);
		METRIC_INC(M_AUTH_OK, metrics_proto(s->base.svc));
		smtp_reply(s, "235 2.7.0 Authentication successful");
		smtp_session_resume(s);
		session_unref(&s->base);
		return;
	}
	delay = authfail_record(s->base.ip);
	log_warn("%s smtp auth-failed user=\"%.64s\" addr=%s", s->base.id,
	    s->auth_try_user ? s->auth_try_user : "", s->base.ip);
	METRIC_INC(M_AUTH_FAIL, metrics_proto(s->base.svc));
	s->errors++;
	if (s->auth_timer == NULL)
		s->auth_timer = loop_timer_new(server_thread_loop(s->base.thread),
		    smtp_auth_delay_over, s);
	/* the worker's reference passes to the timer */
	loop_timer_add(s->auth_timer, delay);
}

/* Checks the credentials on a worker; the reply comes from there. */
static void
smtp_auth_verify(struct smtp_session *s, struct sasl_creds *c)
{
	struct acct_snapshot *acct = server_accounts();

	free(s->auth_try_user);
	s->auth_try_user = xstrdup(c->user);
	session_busy(&s->base);
	session_ref(&s->base);		/* the worker's */
	auth_verify_start(server_thread_loop(s->base.thread), acct, c->user,
	    c->pass, smtp_auth_verified, s);
	if (acct)
		acct_snapshot_unref(&acct);
	sasl_creds_clear(c);
}

static void
smtp_auth_fail_syntax(struct smtp_session *s, const char *why)
{
	smtp_auth_end(s);
	smtp_reply(s, "%s", why);
	smtp_error(s);
}

void
smtp_cmd_auth(struct smtp_session *s, const struct smtp_command *cmd)
{
	const char *mech = cmd->args, *sp, *ir = NULL;
	size_t mlen;
	struct sasl_creds c;
	int r;

	if (!smtp_auth_offered(s)) {
		smtp_reply(s, s->base.svc == SVC_SMTP ?
		    "503 5.5.1 Error: authentication not enabled" :
		    "538 5.7.11 Encryption required for requested "
		    "authentication mechanism");
		smtp_error(s);
		return;
	}
	if (s->auth_done || smtp_in_tx(s)) {
		smtp_reply(s, s->auth_done ? "503 5.5.1 Error: already "
		    "authenticated" : "503 5.5.1 Error: MAIL transaction in "
		    "progress");
		smtp_error(s);
		return;
	}
	if (authfail_locked(s->base.ip)) {
		log_warn("%s smtp auth-locked addr=%s", s->base.id, s->base.ip);
		smtp_reply(s, "421 4.7.0 %s Error: too many failed "
		    "authentications, try later", s->conf->hostname);
		smtp_session_close(s);
		return;
	}
	sp = strchr(mech, ' ');
	mlen = sp ? (size_t)(sp - mech) : strlen(mech);
	if (sp)
		ir = sp + 1;
	if (ir && strlen(ir) > SASL_LINE_MAX) {
		smtp_auth_fail_syntax(s, reply_sasl_long);
		return;
	}
	/* the mechanism, for the milters' {auth_type} */
	s->auth_mech = mlen == 5 && strncasecmp(mech, "LOGIN", 5) == 0 ?
	    "LOGIN" : "PLAIN";
	if (mlen == 5 && strncasecmp(mech, "PLAIN", 5) == 0) {
		if (ir == NULL) {
			s->auth_step = SMTP_AUTH_PLAIN;
			smtp_reply(s, "334 ");
			return;
		}
		r = sasl_plain_decode(ir, strlen(ir), &c);
		if (r < 0) {
			smtp_auth_fail_syntax(s, "501 5.5.2 Error: invalid "
			    "SASL PLAIN response");
			return;
		}
		smtp_auth_verify(s, &c);
	} else if (mlen == 5 && strncasecmp(mech, "LOGIN", 5) == 0) {
		if (ir && strcmp(ir, "=") != 0) {
			if (sasl_login_decode(ir, strlen(ir),
			    &s->auth_login_user) < 0) {
				smtp_auth_fail_syntax(s, "501 5.5.2 Error: "
				    "invalid base64");
				return;
			}
			s->auth_step = SMTP_AUTH_LOGIN_PASS;
			smtp_reply(s, "334 UGFzc3dvcmQ6");	/* Password: */
			return;
		}
		s->auth_step = SMTP_AUTH_LOGIN_USER;
		smtp_reply(s, "334 VXNlcm5hbWU6");		/* Username: */
	} else {
		smtp_reply(s, "504 5.5.4 Error: unsupported authentication "
		    "mechanism");
		smtp_error(s);
	}
}

/* A line sent in answer to a 334 challenge. */
void
smtp_auth_continue(struct smtp_session *s, const char *line, size_t len)
{
	struct sasl_creds c;
	char *v = NULL;
	enum smtp_auth_step step = s->auth_step;

	if (len == 1 && line[0] == '*') {
		smtp_auth_fail_syntax(s, "501 5.7.0 Error: authentication "
		    "aborted");
		return;
	}
	if (len > SASL_LINE_MAX) {
		smtp_auth_fail_syntax(s, reply_sasl_long);
		return;
	}
	if (step == SMTP_AUTH_PLAIN) {
		s->auth_step = SMTP_AUTH_NONE;
		if (sasl_plain_decode(line, len, &c) < 0) {
			smtp_auth_fail_syntax(s, "501 5.5.2 Error: invalid "
			    "SASL PLAIN response");
			return;
		}
		smtp_auth_verify(s, &c);
		return;
	}
	if (sasl_login_decode(line, len, &v) < 0) {
		smtp_auth_fail_syntax(s, "501 5.5.2 Error: invalid base64");
		return;
	}
	if (step == SMTP_AUTH_LOGIN_USER) {
		s->auth_login_user = v;
		s->auth_step = SMTP_AUTH_LOGIN_PASS;
		smtp_reply(s, "334 UGFzc3dvcmQ6");
		return;
	}
	s->auth_step = SMTP_AUTH_NONE;
	memset(&c, 0, sizeof(c));
	c.authzid = xstrdup("");
	c.user = s->auth_login_user;
	c.pass = v;
	s->auth_login_user = NULL;
	smtp_auth_verify(s, &c);
}
