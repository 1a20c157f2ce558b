/*
 * pop3_auth - POP3 AUTHORIZATION: USER/PASS and AUTH PLAIN (RFC 1939 7,
 * RFC 5034), the password check and the mailbox open on a worker, and the
 * snapshot of the INBOX the session works on.
 *
 * Trust: user names and passwords are untrusted client input; passwords
 * are wiped after use and never logged. Refused before TLS unless
 * auth_allow_cleartext; refused while the address is locked out. Unknown
 * users cost a yescrypt hash like known ones (a dummy hash), failures are
 * logged with the address and answered after authfail's delay (shared
 * with SMTP AUTH and IMAP LOGIN). A mailbox another POP3 session holds
 * gets -ERR [IN-USE].
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "auth/authfail.h"
#include "auth/auth_verify.h"
#include "auth/resolve.h"
#include "auth/sasl.h"
#include "conf/conf.h"
#include "pop3/pop3_parser.h"
#include "pop3/pop3_session.h"
#include "store/mailbox.h"
#include "util/io.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/worker.h"
#include "util/xmalloc.h"
#include "util/metrics_list.h"

/* How long a login waits for a maildrop held by a session just gone. */
#define POP3_LOCK_WAIT_MS	1000
#define POP3_LOCK_STEP_MS	50

enum pop3_login_result {
	LOGIN_OK, LOGIN_FAILED, LOGIN_IN_USE, LOGIN_TEMP,
};

struct pop3_login {
	struct pop3_session	*c;
	char			*user;		/* as given */
	char			*canonical;
	char			*maildir;
	enum pop3_login_result	 result;
	char			*error;
	struct mbox_user	*mu;
	struct mbox_view	*view;
	struct pop3_msg		*msgs;
	uint32_t		 nmsgs;
	uint64_t		 total;
};

static void
pop3_login_free(struct pop3_login *l)
{
	free(l->user);
	free(l->canonical);
	free(l->maildir);
	free(l->error);
	free(l->msgs);
	free(l);
}

/* The message list as it is now: numbers and sizes for the session. */
static void
pop3_snapshot(struct pop3_login *l)
{
	uint32_t n = mbox_view_count(l->view);

	l->msgs = xcalloc(n ? n : 1, sizeof(*l->msgs));
	l->nmsgs = n;
	for (uint32_t i = 0; i < n; i++) {
		struct mbox_msg_info mi;
		if (mbox_view_msg(l->view, i + 1, &mi) < 0 || mi.expunged) {
			l->msgs[i].uid = mbox_view_uid(l->view, i + 1);
			continue;	/* size 0; RETR will say it is gone */
		}
		l->msgs[i].uid = mi.uid;
		l->msgs[i].size = mi.size;
		l->total += mi.size;
	}
}

static void
pop3_login_work(void *arg)
{
	struct pop3_login *l = arg;
	int r;

	if (l->result == LOGIN_FAILED)
		return;
	if (mbox_user_open_account(l->canonical, l->maildir, &l->mu,
	    &l->error) < 0) {
		l->result = LOGIN_TEMP;
		return;
	}
	/* A client that drops its connection and logs in again at once
	 * finds the old session's lock still held until its release runs
	 * (a worker job; on PostgreSQL a DELETE): wait a little for it, as
	 * Dovecot waits for its POP3 lock, before saying [IN-USE]. This
	 * holds a worker, never a loop. */
	for (unsigned waited = 0;
	    (r = mbox_pop3_lock(l->mu, &l->error)) == 0 &&
	    waited < POP3_LOCK_WAIT_MS; waited += POP3_LOCK_STEP_MS)
		usleep(POP3_LOCK_STEP_MS * 1000);
	if (r != 1) {
		/* the database away: [SYS/TEMP], not [IN-USE] */
		l->result = r == 0 ? LOGIN_IN_USE : LOGIN_TEMP;
		mbox_user_unref(&l->mu);
		return;
	}
	if (mbox_view_open(l->mu, "INBOX", false, &l->view, &l->error) < 0) {
		l->result = LOGIN_TEMP;
		mbox_pop3_unlock(l->mu);
		mbox_user_unref(&l->mu);
		return;
	}
	pop3_snapshot(l);
	l->result = LOGIN_OK;
}

static void
pop3_login_delay_over(void *arg)
{
	struct pop3_session *c = arg;

	pop3_send(c, "-ERR [AUTH] Authentication failed");
	pop3_done(c);
	session_unref(&c->base);	/* the timer's */
}

static void
pop3_login_ok(struct pop3_session *c, struct pop3_login *l)
{
	c->user = l->canonical;
	l->canonical = NULL;
	c->mu = l->mu;
	c->view = l->view;
	l->mu = NULL;
	l->view = NULL;
	c->locked = true;
	c->msgs = l->msgs;
	c->nmsgs = l->nmsgs;
	c->total_size = l->total;
	l->msgs = NULL;
	c->state = POP3_STATE_TRANSACTION;
	c->base.trusted = true;
	log_info("%s pop3 login user=%s addr=%s messages=%u octets=%llu",
	    c->base.id, c->user, c->base.ip, c->nmsgs,
	    (unsigned long long)c->total_size);
	METRIC_INC(M_AUTH_OK, MP_POP3);
	pop3_send(c, "+OK Logged in, %u messages (%llu octets)", c->nmsgs,
	    (unsigned long long)c->total_size);
}

static void
pop3_login_done(void *arg)
{
	struct pop3_login *l = arg;
	struct pop3_session *c = l->c;

	if (!pop3_job_end(c)) {		/* the client left meanwhile */
		pop3_release(c->base.thread, &l->mu, &l->view,
		    l->result == LOGIN_OK);
		pop3_login_free(l);
		return;
	}
	switch (l->result) {
	case LOGIN_OK:
		pop3_login_ok(c, l);
		break;
	case LOGIN_IN_USE:
		log_info("%s pop3 in-use user=%s addr=%s", c->base.id,
		    l->canonical, c->base.ip);
		pop3_send(c, "-ERR [IN-USE] Mailbox is locked by another POP3 "
		    "session");
		break;
	case LOGIN_TEMP:
		log_error("%s pop3 mailbox-open-failed user=%s error=\"%s\"",
		    c->base.id, l->canonical, l->error ? l->error : "?");
		pop3_send(c, "-ERR [SYS/TEMP] Mailbox unavailable, try later");
		break;
	case LOGIN_FAILED:
		log_warn("%s pop3 auth-failed user=\"%.64s\" addr=%s",
		    c->base.id, l->user, c->base.ip);
		METRIC_INC(M_AUTH_FAIL, MP_POP3);
		if (c->timer == NULL)
			c->timer = loop_timer_new(server_thread_loop(
			    c->base.thread), pop3_login_delay_over, c);
		loop_timer_add(c->timer, authfail_record(c->base.ip));
		session_ref(&c->base);		/* the timer's */
		pop3_login_free(l);
		return;		/* busy until the delay is over */
	}
	pop3_login_free(l);
	pop3_done(c);
}

/* The password was checked (auth_verify.c): open the mailbox on a
 * worker, or answer the failure. */
static void
pop3_login_verified(bool ok, char *canonical, void *arg)
{
	struct pop3_login *l = arg;
	struct pop3_session *c = l->c;
	const char *at = canonical ? strrchr(canonical, '@') : NULL;

	l->canonical = canonical;
	if (!ok || at == NULL) {
		l->result = LOGIN_FAILED;
		pop3_login_done(l);
		return;
	}
	l->maildir = xasprintf("%s/mail/%s/%.*s", c->conf->data_dir, at + 1,
	    (int)(at - canonical), canonical);
	worker_submit(server_thread_loop(c->base.thread), pop3_login_work,
	    pop3_login_done, l);
}

/* Takes cr's user and password; the session is busy until the answer. */
static void
pop3_login_start(struct pop3_session *c, struct sasl_creds *cr)
{
	struct pop3_login *l = xmalloc(sizeof(*l));
	struct acct_snapshot *acct = server_accounts();

	l->c = c;
	l->user = xstrdup(cr->user);
	XFREE(&c->user_arg);
	pop3_busy(c);
	pop3_job_start(c);
	auth_verify_start(server_thread_loop(c->base.thread), acct, cr->user,
	    cr->pass, pop3_login_verified, l);
	if (acct)
		acct_snapshot_unref(&acct);
	sasl_creds_clear(cr);
}

/* -ERR before any password check: cleartext refused, or locked out. */
static bool
pop3_login_refused(struct pop3_session *c)
{
	if (!pop3_plaintext_ok(c)) {
		pop3_send(c, "-ERR [AUTH] Plaintext authentication disallowed "
		    "without TLS: use STLS first");
		return true;
	}
	if (authfail_locked(c->base.ip)) {
		log_warn("%s pop3 auth-locked addr=%s", c->base.id, c->base.ip);
		pop3_send(c, "-ERR [SYS/TEMP] Too many failed logins, try "
		    "later");
		return true;
	}
	return false;
}

void
pop3_cmd_user(struct pop3_session *c, const struct pop3_command *cmd)
{
	if (!pop3_plaintext_ok(c)) {
		pop3_send(c, "-ERR [AUTH] Plaintext authentication disallowed "
		    "without TLS: use STLS first");
		return;
	}
	free(c->user_arg);
	c->user_arg = xstrndup(cmd->arg, cmd->arg_len);
	pop3_send(c, "+OK Send PASS");
}

void
pop3_cmd_pass(struct pop3_session *c, const struct pop3_command *cmd)
{
	struct sasl_creds cr;

	if (c->user_arg == NULL) {
		pop3_err_bad(c, "Send USER first");
		return;
	}
	if (pop3_login_refused(c)) {
		XFREE(&c->user_arg);
		return;
	}
	if (memchr(cmd->arg, '\0', cmd->arg_len) != NULL) {
		XFREE(&c->user_arg);
		pop3_err_bad(c, "Invalid password");
		return;
	}
	memset(&cr, 0, sizeof(cr));
	cr.user = c->user_arg;
	c->user_arg = NULL;
	cr.pass = xstrndup(cmd->arg, cmd->arg_len);
	pop3_login_start(c, &cr);
}

/* An AUTH PLAIN response (initial or on its own line). */
static void
pop3_auth_plain(struct pop3_session *c, const char *b64, size_t len)
{
	struct sasl_creds cr;

	if (len == 1 && b64[0] == '=')
		len = 0;	/* RFC 5034: "=" is an empty initial response */
	if (sasl_plain_decode(b64, len, &cr) < 0) {
		pop3_err_bad(c, "[AUTH] Invalid SASL PLAIN response");
		return;
	}
	pop3_login_start(c, &cr);
}

void
pop3_cmd_auth(struct pop3_session *c, const struct pop3_command *cmd)
{
	if (cmd->nargs == 0) {
		/* the mechanism list (pre-RFC 5034 clients ask this way) */
		pop3_send(c, "+OK Mechanisms follow\r\n%s.",
		    pop3_plaintext_ok(c) ? "PLAIN\r\n" : "");
		return;
	}
	if (cmd->arg_len != 5 || strncasecmp(cmd->arg, "PLAIN", 5) != 0) {
		pop3_send(c, "-ERR Unsupported authentication mechanism");
		return;
	}
	if (pop3_login_refused(c))
		return;
	if (cmd->nargs == 2) {
		pop3_auth_plain(c, cmd->arg2, cmd->arg2_len);
		return;
	}
	pop3_send(c, "+ ");
	c->auth_wait = true;
}

/* The line after "+ ": the response, or "*" to cancel. */
void
pop3_auth_response(struct pop3_session *c)
{
	c->auth_wait = false;
	if (c->line.len == 1 && c->line.data[0] == '*') {
		pop3_send(c, "-ERR Authentication cancelled");
		return;
	}
	pop3_auth_plain(c, c->line.data, c->line.len);
}
