/*
 * managesieve_auth - AUTHENTICATE "PLAIN" (RFC 5804 2.1, RFC 4616) with
 * an initial response or after the server's empty challenge, and
 * UNAUTHENTICATE (RFC 5804 2.14.1).
 *
 * Trust: the credentials are untrusted client input; the password is
 * wiped after use and never logged. Refused before TLS unless
 * auth_allow_cleartext (NO (ENCRYPT-NEEDED)), and while the client's
 * address is locked out (NO (TRYLATER)). The check is auth_verify's
 * (unknown users cost a dummy hash as known ones do); a failure is
 * logged with the address and answered after authfail's delay, the one
 * table SMTP, IMAP and POP3 share.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/auth_verify.h"
#include "auth/authfail.h"
#include "auth/resolve.h"
#include "auth/sasl.h"
#include "managesieve/managesieve_session.h"
#include "server/state.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xmalloc.h"
#include "util/metrics_list.h"

struct ms_login {
	struct ms_session	*c;
	char			*user;		/* as given, for the log */
};

static void
ms_login_delay_over(void *arg)
{
	struct ms_session *c = arg;

	ms_reply(c, "NO", NULL, "Authentication failed.");
	ms_done(c);
	session_unref(&c->base);	/* the timer's */
}

static void
ms_login_verified(bool ok, char *canonical, void *arg)
{
	struct ms_login *l = arg;
	struct ms_session *c = l->c;

	if (!ms_job_end(c)) {		/* the client left meanwhile */
		free(canonical);
		goto out;
	}
	if (!ok || canonical == NULL) {
		free(canonical);
		log_warn("%s managesieve auth-failed user=\"%.64s\" addr=%s",
		    c->base.id, l->user, c->base.ip);
		METRIC_INC(M_AUTH_FAIL, MP_MANAGESIEVE);
		if (c->timer == NULL)
			c->timer = loop_timer_new(server_thread_loop(
			    c->base.thread), ms_login_delay_over, c);
		session_ref(&c->base);		/* the timer's */
		loop_timer_add(c->timer, authfail_record(c->base.ip));
		goto out;	/* busy until the delay is over */
	}
	c->user = canonical;
	c->base.trusted = true;
	log_info("%s managesieve login user=%s addr=%s", c->base.id, c->user,
	    c->base.ip);
	METRIC_INC(M_AUTH_OK, MP_MANAGESIEVE);
	ms_reply(c, "OK", NULL, "Logged in.");
	ms_done(c);
out:
	free(l->user);
	free(l);
}

/* A PLAIN response (base64): checks it, the session busy meanwhile. */
static void
ms_auth_plain(struct ms_session *c, const char *b64, size_t len)
{
	struct sasl_creds cr;
	struct ms_login *l;
	struct acct_snapshot *acct;

	if (memchr(b64, '\0', len) != NULL ||
	    sasl_plain_decode(b64, len, &cr) < 0) {
		ms_bad(c, "Invalid SASL PLAIN response.");
		return;
	}
	l = xmalloc(sizeof(*l));
	l->c = c;
	l->user = xstrdup(cr.user);
	acct = server_accounts();
	ms_job_start(c);
	auth_verify_start(server_thread_loop(c->base.thread), acct, cr.user,
	    cr.pass, ms_login_verified, l);
	if (acct)
		acct_snapshot_unref(&acct);
	sasl_creds_clear(&cr);
}

void
ms_cmd_authenticate(struct ms_session *c, struct ms_command *cmd)
{
	if (strcasecmp(cmd->args[0].s, "PLAIN") != 0) {
		ms_reply(c, "NO", NULL, "Unsupported SASL mechanism.");
		return;
	}
	if (!ms_plaintext_ok(c)) {
		ms_reply(c, "NO", "ENCRYPT-NEEDED", "Authentication needs "
		    "TLS: use STARTTLS first.");
		return;
	}
	if (authfail_locked(c->base.ip)) {
		log_warn("%s managesieve auth-locked addr=%s", c->base.id,
		    c->base.ip);
		ms_reply(c, "NO", "TRYLATER", "Too many failed logins, try "
		    "later.");
		return;
	}
	if (cmd->nargs == 2) {
		ms_auth_plain(c, cmd->args[1].s, cmd->args[1].len);
		return;
	}
	/* PLAIN's challenge is empty; the response is the next line */
	ms_reply(c, "\"\"", NULL, NULL);
	c->sasl = true;
}

void
ms_auth_response(struct ms_session *c, struct ms_command *cmd)
{
	const struct ms_arg *a = &cmd->args[0];

	if (a->len == 1 && a->s[0] == '*') {
		ms_reply(c, "NO", NULL, "Authentication cancelled.");
		return;
	}
	ms_auth_plain(c, a->s, a->len);
}

void
ms_cmd_unauthenticate(struct ms_session *c, struct ms_command *cmd)
{
	(void)cmd;
	log_info("%s managesieve unauthenticate user=%s", c->base.id,
	    c->user);
	free(c->user);
	c->user = NULL;
	c->base.trusted = false;
	ms_reply(c, "OK", NULL, "Unauthenticate completed.");
}
