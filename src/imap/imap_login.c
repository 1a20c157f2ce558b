/*
 * imap_login - LOGIN and AUTHENTICATE PLAIN (with SASL-IR): the shared
 * password check (auth/auth_verify.c: the login cache on the loop, else
 * yescrypt on the auth lane), then the user's mail store (found open on
 * the loop, else opened on a worker), the per-user session cap, and the
 * delay of a failure's NO (auth/authfail.c).
 *
 * Trust: handles passwords; they never reach a log, and the line that
 * carried one is wiped by the core. Refused before TLS unless
 * auth_allow_cleartext (LOGINDISABLED).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/auth_verify.h"
#include "auth/authfail.h"
#include "auth/resolve.h"
#include "auth/sasl.h"
#include "conf/conf.h"
#include "imap/imap_client.h"
#include "store/mailbox.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/worker.h"
#include "util/xmalloc.h"
#include "util/metrics_list.h"

/* The per-user session counter's key (static buffer: callers use it at
 * once, on one thread at a time per call). */
const char *
imap_user_key(const char *user)
{
	static __thread char key[300];

	snprintf(key, sizeof(key), "imap-user/%.280s", user);
	return key;
}

char *
imap_user_root(const struct conf *conf, const char *addr)
{
	const char *at = strrchr(addr, '@');	/* accounts have one */

	return xasprintf("%s/mail/%s/%.*s", conf->data_dir, at + 1,
	    (int)(at - addr), addr);
}

/* LOGIN and AUTHENTICATE: the password check (auth_verify.c), then the
 * user's mail store opened on a worker. */
struct imap_login {
	struct imap_cmd	*cmd;
	char		*user;		/* as given, for the failure log */
	char		*canonical;
	char		*maildir;
	struct mbox_user *mu;
	bool		 ok;
	int		 open_rc;	/* mbox_user_open_account's */
	char		*error;
};

static void
imap_login_free(struct imap_login *l)
{
	free(l->user);
	free(l->canonical);
	free(l->maildir);
	free(l->error);
	if (l->mu)
		mbox_user_unref(&l->mu);
	free(l);
}

static void
imap_login_work(void *arg)
{
	struct imap_login *l = arg;

	if (l->ok && (l->open_rc = mbox_user_open_account(l->canonical,
	    l->maildir, &l->mu, &l->error)) < 0)
		l->ok = false;
}

/* The failed-login delay is over: answer the login waiting for it. The
 * timer belongs to the client and serves each failed login in turn, so it
 * carries the client, not the first command (a second failure in one
 * session used that freed command). */
static void
imap_login_delay_over(void *arg)
{
	struct imap_client *c = arg;
	struct imap_cmd *cmd = c->cmd;

	if (cmd == NULL) {
		session_unref(&c->base);	/* the timer's */
		return;
	}
	imap_cmd_no(cmd, "[AUTHENTICATIONFAILED] Authentication failed");
	session_unref(&c->base);	/* the timer's */
	imap_cmd_finish(cmd);
}

static void
imap_login_done(void *arg)
{
	struct imap_login *l = arg;
	struct imap_cmd *cmd = l->cmd;
	struct imap_client *c = cmd->c;

	if (session_closed(&c->base)) {	/* the client left meanwhile */
		imap_login_free(l);
		session_unref(&c->base);	/* the free drops c->cmd */
		return;
	}
	if (l->ok && !server_slot_acquire(imap_user_key(l->canonical),
	    c->conf->imap_max_sessions_per_user)) {
		log_warn("%s imap too-many-sessions user=%s addr=%s",
		    c->base.id, l->canonical, c->base.ip);
		imap_cmd_no(cmd, "[LIMIT] Too many sessions for this user");
		imap_login_free(l);
		session_unref(&c->base);
		imap_cmd_finish(cmd);
		return;
	}
	if (l->ok) {
		struct buf caps;
		c->user = l->canonical;
		l->canonical = NULL;
		c->mu = l->mu;
		l->mu = NULL;
		c->state = IMAP_STATE_AUTH;
		c->base.trusted = true;
		{
			struct imap_parser_limits lim;
			imap_parser_limits_default(&lim);
			lim.line_max = IMAP_LINE_MAX;
			lim.literal_max = IMAP_LITERAL_MAX;
			lim.append_max = c->conf->message_size_limit;
			imap_parser_set_limits(c->parser, &lim);
		}
		session_set_timeout(&c->base, IMAP_IDLE_TIMEOUT);
		log_info("%s imap login user=%s addr=%s", c->base.id, c->user,
		    c->base.ip);
		METRIC_INC(M_AUTH_OK, MP_IMAP);
		buf_init(&caps, 0);
		imap_client_capabilities(c, &caps);
		imap_cmd_ok(cmd, "[CAPABILITY %s] Logged in", buf_cstr(&caps));
		buf_free(&caps);
		imap_login_free(l);
		session_unref(&c->base);
		imap_cmd_finish(cmd);
		return;
	}
	if (l->error)
		log_error("%s imap mailbox-open-failed user=%s error=\"%s\"",
		    c->base.id, l->canonical ? l->canonical : "?", l->error);
	if (l->open_rc == MBOX_ERR_UNAVAILABLE) {
		/* the password was right: the store (PostgreSQL) is away,
		 * which is no failed login to count */
		imap_cmd_no(cmd, "[UNAVAILABLE] Mail store unavailable, try "
		    "again later");
		imap_login_free(l);
		session_unref(&c->base);
		imap_cmd_finish(cmd);
		return;
	}
	log_warn("%s imap auth-failed user=\"%.64s\" addr=%s", c->base.id,
	    l->user, c->base.ip);
	METRIC_INC(M_AUTH_FAIL, MP_IMAP);
	if (c->timer == NULL)
		c->timer = loop_timer_new(server_thread_loop(c->base.thread),
		    imap_login_delay_over, c);
	/* the login's reference passes to the timer */
	loop_timer_add(c->timer, authfail_record(c->base.ip));
	imap_login_free(l);
}

static void
imap_login_verified(bool ok, char *canonical, void *arg)
{
	struct imap_login *l = arg;
	struct imap_client *c = l->cmd->c;
	const char *at = canonical ? strrchr(canonical, '@') : NULL;

	l->ok = ok && at != NULL;
	l->canonical = canonical;
	if (l->ok)
		l->maildir = imap_user_root(c->conf, canonical);
	/* an open store (another session's, or a lingering one) needs no
	 * worker: a repeated login is answered from the loop */
	if (l->ok && !session_closed(&c->base))
		l->mu = mbox_user_find_account(canonical, l->maildir);
	if (!l->ok || l->mu || session_closed(&c->base)) {
		imap_login_done(l);
		return;
	}
	worker_submit(server_thread_loop(c->base.thread), imap_login_work,
	    imap_login_done, l);
}

static enum imap_cmd_result
imap_login_start(struct imap_cmd *cmd, struct sasl_creds *cr)
{
	struct imap_client *c = cmd->c;
	struct imap_login *l = xmalloc(sizeof(*l));
	struct acct_snapshot *acct = server_accounts();

	l->cmd = cmd;
	l->user = xstrdup(cr->user);
	session_ref(&c->base);		/* until imap_login_done */
	auth_verify_start(server_thread_loop(c->base.thread), acct, cr->user,
	    cr->pass, imap_login_verified, l);
	if (acct)
		acct_snapshot_unref(&acct);
	sasl_creds_clear(cr);
	return IMAP_CMD_ASYNC;
}

/* NO before any password check: cleartext refused, or locked out. */
static bool
imap_login_refused(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->c;

	if (!c->base.tls && !c->conf->auth_allow_cleartext) {
		imap_cmd_no(cmd, "[PRIVACYREQUIRED] Use STARTTLS first");
		return true;
	}
	if (authfail_locked(c->base.ip)) {
		log_warn("%s imap auth-locked addr=%s", c->base.id, c->base.ip);
		imap_cmd_no(cmd, "[UNAVAILABLE] Too many failed logins, try "
		    "later");
		return true;
	}
	return false;
}

static bool
arg_is_string(const struct imap_arg *a)
{
	return a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_STRING ||
	    a->type == IMAP_ARG_LITERAL;
}

enum imap_cmd_result
cmd_login(struct imap_cmd *cmd)
{
	struct sasl_creds cr;

	if (cmd->count != 2 || !arg_is_string(&cmd->args[0]) ||
	    !arg_is_string(&cmd->args[1]) || cmd->args[0].len == 0 ||
	    memchr(cmd->args[1].str, '\0', cmd->args[1].len)) {
		imap_cmd_bad(cmd, "Syntax: LOGIN user password");
		return IMAP_CMD_DONE;
	}
	if (imap_login_refused(cmd))
		return IMAP_CMD_DONE;
	memset(&cr, 0, sizeof(cr));
	cr.user = xstrndup(cmd->args[0].str, cmd->args[0].len);
	cr.pass = xstrndup(cmd->args[1].str, cmd->args[1].len);
	return imap_login_start(cmd, &cr);
}

/* A SASL response longer than RFC 4954's 12,288 octets (SASL-IR or a
 * continuation line; IMAP_PREAUTH_LINE_MAX leaves room for it). */
static const char reply_sasl_long[] = "[TOOBIG] SASL response too long";

enum imap_cmd_result
cmd_authenticate(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->c;
	struct sasl_creds cr;

	if (cmd->count < 1 || cmd->count > 2 ||
	    cmd->args[0].type != IMAP_ARG_ATOM) {
		imap_cmd_bad(cmd, "Syntax: AUTHENTICATE mechanism [response]");
		return IMAP_CMD_DONE;
	}
	if (strcasecmp(cmd->args[0].str, "PLAIN") != 0) {
		imap_cmd_no(cmd, "Unsupported authentication mechanism");
		return IMAP_CMD_DONE;
	}
	if (imap_login_refused(cmd))
		return IMAP_CMD_DONE;
	if (cmd->count == 2 && cmd->args[1].len > SASL_LINE_MAX) {
		imap_cmd_bad(cmd, "%s", reply_sasl_long);
		return IMAP_CMD_DONE;
	}
	if (cmd->count == 1) {
		/* the response comes as a raw line after "+ " */
		imap_send(c, "+ ");
		imap_parser_read_line(c->parser);
		imap_read_line(c);
		return IMAP_CMD_ASYNC;
	}
	if (sasl_plain_decode(cmd->args[1].str, cmd->args[1].len, &cr) < 0) {
		imap_cmd_bad(cmd, "Invalid SASL PLAIN response");
		return IMAP_CMD_DONE;
	}
	return imap_login_start(cmd, &cr);
}

/* The SASL PLAIN response after AUTHENTICATE's "+ " (a raw line). */
void
imap_auth_line(struct imap_cmd *cmd, const char *line, size_t len)
{
	struct imap_client *c = cmd->c;
	struct sasl_creds cr;

	/* AUTHENTICATE PLAIN continuation */
	session_busy(&c->base);
	if (len == 1 && line[0] == '*') {
		imap_cmd_bad(cmd, "Authentication aborted");
		imap_cmd_finish(cmd);
		return;
	}
	if (len > SASL_LINE_MAX) {
		imap_cmd_bad(cmd, "%s", reply_sasl_long);
		imap_cmd_finish(cmd);
		return;
	}
	if (sasl_plain_decode(line, len, &cr) < 0) {
		imap_cmd_bad(cmd, "Invalid SASL PLAIN response");
		imap_cmd_finish(cmd);
		return;
	}
	imap_login_start(cmd, &cr);
}
