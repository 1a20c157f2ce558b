/*
 * pop3_session - the POP3 session: command loop, AUTHORIZATION (USER/PASS,
 * AUTH PLAIN, STLS), TRANSACTION on a snapshot of the INBOX, and UPDATE
 * (QUIT's expunge). See pop3_session.h for the execution model.
 *
 * Trust: everything read here is untrusted. Limits: command lines of
 * POP3_LINE_MAX octets with CRLF ("-ERR Line too long", the rest of the
 * line dropped), AUTH responses of POP3_SASL_LINE_MAX, POP3_MAX_BAD bad
 * commands per session (then "-ERR" and close), POP3_IDLE_TIMEOUT of
 * silence (then "-ERR" and close, nothing deleted), output: commands are
 * not read while more than POP3_OUT_HIGH octets wait to be sent. Failed
 * logins are logged with the address, answered after authfail's delay,
 * and locked out after too many (auth/authfail.h, shared with SMTP and
 * IMAP); unknown users cost a password hash like known ones.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <openssl/crypto.h>

#include "auth/authfail.h"
#include "auth/password.h"
#include "auth/resolve.h"
#include "auth/sasl.h"
#include "conf/conf.h"
#include "pop3/pop3_parser.h"
#include "pop3/pop3_session.h"
#include "store/mailbox.h"
#include "tls/tls.h"
#include "util/io.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/worker.h"
#include "util/xmalloc.h"

static void pop3_process(struct pop3_session *c);
static void pop3_session_free(struct pop3_session *c);
static void pop3_retr_free(struct pop3_retr **rp);

/* ---- output ---- */

static void
pop3_send(struct pop3_session *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
pop3_send(struct pop3_session *c, const char *fmt, ...)
{
	va_list ap;
	struct buf b;

	buf_init(&b, 0);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	buf_append(&b, "\r\n", 2);
	io_write(c->io, b.data, b.len);
	buf_free(&b);
}

/* Stop and start taking input; only when it changes (each io call is
 * an epoll_ctl, and most commands are answered in the same loop turn). */
static void
pop3_pause(struct pop3_session *c)
{
	if (!c->paused) {
		c->paused = true;
		io_pause_read(c->io);
	}
}

static void
pop3_resume(struct pop3_session *c)
{
	if (c->paused) {
		c->paused = false;
		io_resume_read(c->io);
	}
}

/* Closes once the output queued so far has drained. */
static void
pop3_close(struct pop3_session *c)
{
	c->closing = true;
	pop3_pause(c);
}

/* Counts a bad command; false when that was one too many (closing). */
static bool
pop3_bad(struct pop3_session *c)
{
	if (++c->bad_count < POP3_MAX_BAD)
		return true;
	pop3_send(c, "-ERR Too many bad commands, closing");
	log_info("%s pop3 too-many-errors addr=%s errors=%u", c->base.id,
	    c->base.ip, c->bad_count);
	pop3_close(c);
	return false;
}

static void
pop3_err_bad(struct pop3_session *c, const char *text)
{
	pop3_send(c, "-ERR %s", text);
	pop3_bad(c);
}

/* A command that made the session busy is over: take the next one. */
static void
pop3_done(struct pop3_session *c)
{
	c->busy = false;
	if (c->closing)
		return;
	if (c->stopping) {
		pop3_send(c, "-ERR [SYS/TEMP] Server shutting down");
		pop3_close(c);
		return;
	}
	pop3_resume(c);
	pop3_process(c);
}

static bool
tls_available(void)
{
	struct tls_server *t = tls_current();

	if (t == NULL)
		return false;
	tls_server_unref(&t);
	return true;
}

static bool
plaintext_ok(const struct pop3_session *c)
{
	return c->tls || c->conf->auth_allow_cleartext;
}

/* ---- releasing the mailbox (may touch the disk: on a worker) ---- */

struct pop3_release {
	struct mbox_user	*mu;
	struct mbox_view	*view;
	bool			 unlock;
};

static void
pop3_release_work(void *arg)
{
	struct pop3_release *r = arg;

	if (r->unlock)
		mbox_pop3_unlock(r->mu);
	mbox_view_close(&r->view);
	mbox_user_unref(&r->mu);
}

static void
pop3_release_done(void *arg)
{
	free(arg);
}

static void
pop3_release(struct server_thread *t, struct mbox_user **mu,
    struct mbox_view **view, bool unlock)
{
	struct pop3_release *r;

	if (*mu == NULL && *view == NULL)
		return;
	r = xmalloc(sizeof(*r));
	r->mu = *mu;
	r->view = *view;
	r->unlock = unlock && *mu != NULL;
	*mu = NULL;
	*view = NULL;
	worker_submit(server_thread_loop(t), pop3_release_work,
	    pop3_release_done, r);
}

/* ---- AUTHORIZATION: USER/PASS, AUTH PLAIN ---- */

enum pop3_login_result {
	LOGIN_OK, LOGIN_FAILED, LOGIN_IN_USE, LOGIN_TEMP,
};

struct pop3_login {
	struct pop3_session	*c;
	char			*user;		/* as given */
	char			*pass;
	char			*hash;
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

/* A real yescrypt hash: unknown users cost the same time as known ones. */
static const char pop3_dummy_hash[] =
    "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$t68WlbzAjvyMwlmuaRAxHjB5U3DEBHlrkCo8BWZr9M2";

static void
pop3_login_free(struct pop3_login *l)
{
	if (l->pass) {
		OPENSSL_cleanse(l->pass, strlen(l->pass));
		free(l->pass);
	}
	free(l->user);
	free(l->hash);
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

	if (!password_verify(l->pass, l->hash ? l->hash : pop3_dummy_hash) ||
	    l->canonical == NULL) {
		l->result = LOGIN_FAILED;
		return;
	}
	if (mbox_user_open(l->maildir, &l->mu, &l->error) < 0) {
		l->result = LOGIN_TEMP;
		return;
	}
	if (!mbox_pop3_lock(l->mu)) {
		l->result = LOGIN_IN_USE;
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
	log_info("%s pop3 login user=%s addr=%s messages=%u octets=%llu",
	    c->base.id, c->user, c->base.ip, c->nmsgs,
	    (unsigned long long)c->total_size);
	pop3_send(c, "+OK Logged in, %u messages (%llu octets)", c->nmsgs,
	    (unsigned long long)c->total_size);
}

static void
pop3_login_done(void *arg)
{
	struct pop3_login *l = arg;
	struct pop3_session *c = l->c;

	c->job = false;
	if (c->dead) {
		pop3_release(c->base.thread, &l->mu, &l->view,
		    l->result == LOGIN_OK);
		pop3_login_free(l);
		pop3_session_free(c);
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
		if (c->timer == NULL)
			c->timer = loop_timer_new(server_thread_loop(
			    c->base.thread), pop3_login_delay_over, c);
		loop_timer_add(c->timer, authfail_record(c->base.ip));
		pop3_login_free(l);
		return;		/* busy until the delay is over */
	}
	pop3_login_free(l);
	pop3_done(c);
}

/* Takes cr's user and password; the session is busy until the answer. */
static void
pop3_login_start(struct pop3_session *c, struct sasl_creds *cr)
{
	struct pop3_login *l = xmalloc(sizeof(*l));
	struct acct_snapshot *acct = server_accounts();
	const char *hash = acct ? acct_user_hash(acct, cr->user) : NULL;
	const char *canon = acct ? acct_user_canonical(acct, cr->user) : NULL;

	l->c = c;
	l->user = cr->user;
	l->pass = cr->pass;
	cr->user = cr->pass = NULL;
	sasl_creds_clear(cr);
	l->hash = hash ? xstrdup(hash) : NULL;
	if (canon) {
		const char *at = strrchr(canon, '@');
		if (at) {
			l->canonical = xstrdup(canon);
			l->maildir = xasprintf("%s/mail/%s/%.*s",
			    c->conf->data_dir, at + 1, (int)(at - canon), canon);
		}
	}
	if (acct)
		acct_snapshot_unref(&acct);
	XFREE(&c->user_arg);
	c->busy = true;
	c->job = true;
	pop3_pause(c);
	worker_submit(server_thread_loop(c->base.thread), pop3_login_work,
	    pop3_login_done, l);
}

/* -ERR before any password check: cleartext refused, or locked out. */
static bool
pop3_login_refused(struct pop3_session *c)
{
	if (!plaintext_ok(c)) {
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

static void
cmd_user(struct pop3_session *c, const struct pop3_command *cmd)
{
	if (!plaintext_ok(c)) {
		pop3_send(c, "-ERR [AUTH] Plaintext authentication disallowed "
		    "without TLS: use STLS first");
		return;
	}
	free(c->user_arg);
	c->user_arg = xstrndup(cmd->arg, cmd->arg_len);
	pop3_send(c, "+OK Send PASS");
}

static void
cmd_pass(struct pop3_session *c, const struct pop3_command *cmd)
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

static void
cmd_auth(struct pop3_session *c, const struct pop3_command *cmd)
{
	if (cmd->nargs == 0) {
		/* the mechanism list (pre-RFC 5034 clients ask this way) */
		pop3_send(c, "+OK Mechanisms follow\r\n%s.",
		    plaintext_ok(c) ? "PLAIN\r\n" : "");
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
static void
pop3_auth_response(struct pop3_session *c)
{
	c->auth_wait = false;
	if (c->line.len == 1 && c->line.data[0] == '*') {
		pop3_send(c, "-ERR Authentication cancelled");
		return;
	}
	pop3_auth_plain(c, c->line.data, c->line.len);
}

static void
cmd_stls(struct pop3_session *c, const struct pop3_command *cmd)
{
	(void)cmd;
	if (c->tls) {
		pop3_err_bad(c, "TLS is already active");
		return;
	}
	if (!tls_available()) {
		pop3_send(c, "-ERR TLS not available");
		return;
	}
	pop3_send(c, "+OK Begin TLS negotiation");
	XFREE(&c->user_arg);
	c->tls_pending = true;
	c->busy = true;
	pop3_pause(c);
	/* pipelined input was sent in clear: io_start_tls drops it */
}

static void
cmd_capa(struct pop3_session *c, const struct pop3_command *cmd)
{
	struct buf b;

	(void)cmd;
	buf_init(&b, 0);
	buf_puts(&b, "+OK Capability list follows\r\nTOP\r\nUIDL\r\n"
	    "RESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n");
	if (c->state == POP3_STATE_AUTHORIZATION) {
		if (plaintext_ok(c))
			buf_puts(&b, "USER\r\nSASL PLAIN\r\n");
		if (!c->tls && tls_available())
			buf_puts(&b, "STLS\r\n");
	}
	buf_puts(&b, "IMPLEMENTATION tem\r\n.\r\n");
	io_write(c->io, b.data, b.len);
	buf_free(&b);
}

/* ---- TRANSACTION: the snapshot ---- */

/* Message n of the snapshot, not deleted; else NULL after an -ERR. */
static struct pop3_msg *
pop3_msg_get(struct pop3_session *c, uint32_t n)
{
	if (n == 0 || n > c->nmsgs) {
		pop3_send(c, "-ERR No such message");
		return NULL;
	}
	if (c->msgs[n - 1].deleted) {
		pop3_send(c, "-ERR Message %u is deleted", n);
		return NULL;
	}
	return &c->msgs[n - 1];
}

static void
cmd_stat(struct pop3_session *c, const struct pop3_command *cmd)
{
	(void)cmd;
	pop3_send(c, "+OK %u %llu", c->nmsgs - c->ndeleted,
	    (unsigned long long)(c->total_size - c->deleted_size));
}

static void
cmd_noop(struct pop3_session *c, const struct pop3_command *cmd)
{
	(void)cmd;
	pop3_send(c, "+OK");
}

static void
cmd_dele(struct pop3_session *c, const struct pop3_command *cmd)
{
	struct pop3_msg *m = pop3_msg_get(c, cmd->msg);

	if (m == NULL)
		return;
	m->deleted = true;
	c->ndeleted++;
	c->deleted_size += m->size;
	pop3_send(c, "+OK Message %u deleted", cmd->msg);
}

static void
cmd_rset(struct pop3_session *c, const struct pop3_command *cmd)
{
	(void)cmd;
	for (uint32_t i = 0; i < c->nmsgs; i++)
		c->msgs[i].deleted = false;
	c->ndeleted = 0;
	c->deleted_size = 0;
	pop3_send(c, "+OK Maildrop has %u messages (%llu octets)", c->nmsgs,
	    (unsigned long long)c->total_size);
}

/* One LIST or UIDL line for message i (0-based); false if it has no UIDL
 * (expunged meanwhile by another session). */
static bool
pop3_list_line(struct pop3_session *c, uint32_t i, bool uidl, struct buf *out)
{
	char id[MBOX_UIDL_MAX + 1];

	if (!uidl) {
		buf_printf(out, "%u %llu\r\n", i + 1,
		    (unsigned long long)c->msgs[i].size);
		return true;
	}
	if (mbox_view_uidl(c->view, i + 1, id) < 0)
		return false;
	buf_printf(out, "%u %s\r\n", i + 1, id);
	return true;
}

/* Writes the next part of a LIST/UIDL listing; the session stays busy
 * until the last part (IO_EV_DRAINED calls it again). */
static void
pop3_list_continue(struct pop3_session *c)
{
	struct buf b;

	buf_init(&b, 0);
	while (c->list_next <= c->nmsgs && b.len < POP3_LIST_CHUNK) {
		uint32_t i = c->list_next++ - 1;
		if (!c->msgs[i].deleted)
			pop3_list_line(c, i, c->list_uidl, &b);
	}
	if (c->list_next > c->nmsgs)
		buf_puts(&b, ".\r\n");
	io_write(c->io, b.data, b.len);
	buf_free(&b);
	if (c->list_next <= c->nmsgs)
		return;
	if (c->listing) {
		c->listing = false;
		pop3_done(c);
	}
}

static void
pop3_list(struct pop3_session *c, const struct pop3_command *cmd, bool uidl)
{
	if (cmd->has_msg) {
		struct buf b;
		if (pop3_msg_get(c, cmd->msg) == NULL)
			return;
		buf_init(&b, 0);
		buf_puts(&b, "+OK ");
		if (pop3_list_line(c, cmd->msg - 1, uidl, &b))
			io_write(c->io, b.data, b.len);
		else
			pop3_send(c, "-ERR Message %u was removed by another "
			    "session", cmd->msg);
		buf_free(&b);
		return;
	}
	if (uidl)
		pop3_send(c, "+OK Unique-ID listing follows");
	else
		pop3_send(c, "+OK %u messages (%llu octets)",
		    c->nmsgs - c->ndeleted,
		    (unsigned long long)(c->total_size - c->deleted_size));
	c->list_uidl = uidl;
	c->list_next = 1;
	pop3_list_continue(c);
	if (c->list_next <= c->nmsgs) {
		c->listing = true;
		c->busy = true;
		pop3_pause(c);
	}
}

static void
cmd_list(struct pop3_session *c, const struct pop3_command *cmd)
{
	pop3_list(c, cmd, false);
}

static void
cmd_uidl(struct pop3_session *c, const struct pop3_command *cmd)
{
	pop3_list(c, cmd, true);
}

/* ---- RETR and TOP: streamed from the file by worker jobs ----
 *
 * A job reads up to POP3_CHUNK octets of the file and encodes them; the
 * loop writes that piece and, for a large message, starts the job for the
 * next piece at once, writing it only after the output drained (so at most
 * two pieces are in memory). Clients fetch messages in order, one after the
 * other: after a RETR the following messages (up to POP3_AHEAD_MAX octets,
 * the first one at least in part) are read ahead by one job into the list
 * c->pre while the client takes in this one, so their RETRs are answered
 * from memory without a trip through the worker pool each. Commands are
 * not read while the read-ahead job runs (one job per session at a time).
 */

struct pop3_retr {
	struct pop3_session	*c;
	uint32_t		 n;		/* message number */
	bool			 top;
	bool			 ahead;		/* read ahead: not asked for yet */
	struct pop3_retr	*next;		/* read-ahead list */
	int			 fd;
	struct pop3_enc		 enc;
	struct buf		 out;		/* the next piece, wire form */
	bool			 started;	/* "+OK" sent */
	bool			 eof;		/* out holds the last piece */
	bool			 ready;		/* out waits for a drain */
	int			 err;		/* errno of open/read */
};

static struct pop3_retr *
pop3_retr_new(struct pop3_session *c, uint32_t n, bool top, uint32_t lines)
{
	struct pop3_retr *r = xmalloc(sizeof(*r));

	r->c = c;
	r->n = n;
	r->top = top;
	r->fd = -1;
	pop3_enc_init(&r->enc, top, lines);
	buf_init(&r->out, 0);
	return r;
}

/* Frees *rp and every read-ahead entry after it. */
static void
pop3_retr_free(struct pop3_retr **rp)
{
	struct pop3_retr *r = *rp, *next;

	for (; r != NULL; r = next) {
		next = r->next;
		if (r->fd >= 0)
			close(r->fd);
		buf_free(&r->out);
		free(r);
	}
	*rp = NULL;
}

/* Worker: the next piece of the message into r->out. */
static void
pop3_retr_work(void *arg)
{
	struct pop3_retr *r = arg;
	char tmp[16384];
	size_t total = 0;

	if (r->fd < 0 && (r->fd = mbox_view_msg_open(r->c->view, r->n)) < 0) {
		r->err = errno;
		return;
	}
	while (total < POP3_CHUNK) {
		ssize_t k = read(r->fd, tmp, sizeof(tmp));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r->err = errno;
			return;
		}
		if (k == 0 || pop3_enc_feed(&r->enc, tmp, (size_t)k, &r->out)) {
			r->eof = true;
			break;
		}
		total += (size_t)k;
	}
	if (r->eof) {
		pop3_enc_end(&r->enc, &r->out);
		close(r->fd);
		r->fd = -1;
	}
}

static void pop3_retr_done(void *arg);

static void
pop3_retr_submit(struct pop3_session *c, struct pop3_retr *r)
{
	c->job = true;
	worker_submit(server_thread_loop(c->base.thread), pop3_retr_work,
	    pop3_retr_done, r);
}

/* Worker: every message of a read-ahead list (the first piece each). */
static void
pop3_ahead_work(void *arg)
{
	for (struct pop3_retr *r = arg; r != NULL; r = r->next)
		pop3_retr_work(r);
}

static void
pop3_ahead_done(void *arg)
{
	struct pop3_retr *r = arg;
	struct pop3_session *c = r->c;

	c->job = false;
	if (c->dead) {
		pop3_session_free(c);	/* frees the list */
		return;
	}
	if (c->closing) {
		/* a timeout or shutdown while it ran */
		pop3_retr_free(&c->pre);
		if (io_outlen(c->io) == 0)
			pop3_session_free(c);
		return;
	}
	pop3_process(c);	/* commands waited for it */
}

/* After RETR of message n: read the messages after it ahead. */
static void
pop3_read_ahead(struct pop3_session *c, uint32_t n)
{
	struct pop3_retr **tail = &c->pre;
	uint64_t octets = 0;
	unsigned count = 0;

	if (c->pre != NULL || c->stopping || c->closing)
		return;
	while (++n <= c->nmsgs && count < POP3_AHEAD_MSGS) {
		const struct pop3_msg *m = &c->msgs[n - 1];
		if (m->deleted)
			continue;
		if (count > 0 && octets + m->size > POP3_AHEAD_MAX)
			break;
		*tail = pop3_retr_new(c, n, false, 0);
		(*tail)->ahead = true;
		tail = &(*tail)->next;
		octets += m->size;
		count++;
	}
	if (c->pre == NULL)
		return;
	c->job = true;
	worker_submit(server_thread_loop(c->base.thread), pop3_ahead_work,
	    pop3_ahead_done, c->pre);
}

/* Sends the piece in r->out; then reads the next one or ends. */
static void
pop3_retr_write(struct pop3_session *c)
{
	struct pop3_retr *r = c->retr;
	uint32_t n = r->n;
	bool top = r->top;

	r->ready = false;
	io_write(c->io, r->out.data, r->out.len);
	buf_reset(&r->out);
	if (!r->eof) {
		pop3_retr_submit(c, r);	/* read while this one is sent */
		pop3_pause(c);
		return;
	}
	pop3_retr_free(&c->retr);
	if (!top)
		pop3_read_ahead(c, n);
	pop3_done(c);
}

static void
pop3_retr_first(struct pop3_session *c, struct pop3_retr *r)
{
	struct pop3_msg *m = &c->msgs[r->n - 1];

	r->started = true;
	if (r->top) {
		pop3_send(c, "+OK Top of message follows");
		log_info("%s pop3 top msg=%u uid=%u", c->base.id, r->n, m->uid);
		return;
	}
	pop3_send(c, "+OK %llu octets", (unsigned long long)m->size);
	m->retrieved = true;
	c->nretr++;
	log_info("%s pop3 retr msg=%u uid=%u size=%llu", c->base.id, r->n,
	    m->uid, (unsigned long long)m->size);
}

/* A piece of c->retr is in memory (or its read failed): reply. */
static void
pop3_retr_ready(struct pop3_session *c, struct pop3_retr *r)
{
	bool now;

	if (r->err != 0) {
		if (!r->started) {
			if (r->err == ENOENT || r->err == ERANGE)
				pop3_send(c, "-ERR Message %u was removed by "
				    "another session", r->n);
			else {
				log_error("%s pop3 read-failed msg=%u "
				    "error=\"%s\"", c->base.id, r->n,
				    strerror(r->err));
				pop3_send(c, "-ERR [SYS/TEMP] Cannot read "
				    "message %u", r->n);
			}
			pop3_retr_free(&c->retr);
			pop3_done(c);
			return;
		}
		/* half sent: the response cannot be ended cleanly */
		log_error("%s pop3 read-failed msg=%u error=\"%s\"",
		    c->base.id, r->n, strerror(r->err));
		pop3_retr_free(&c->retr);
		pop3_close(c);
		return;
	}
	/* Earlier replies still queued: wait for them to drain (memory
	 * stays bounded); else "+OK" and the piece leave together. */
	now = io_outlen(c->io) == 0;
	if (!r->started)
		pop3_retr_first(c, r);
	if (now)
		pop3_retr_write(c);
	else {
		r->ready = true;	/* IO_EV_DRAINED writes it */
		pop3_pause(c);
	}
}

static void
pop3_retr_done(void *arg)
{
	struct pop3_retr *r = arg;
	struct pop3_session *c = r->c;

	c->job = false;
	if (c->dead) {
		pop3_session_free(c);	/* frees r */
		return;
	}
	pop3_retr_ready(c, r);
}

static void
pop3_retr_start(struct pop3_session *c, uint32_t n, bool top,
    uint32_t lines)
{
	if (pop3_msg_get(c, n) == NULL)
		return;
	c->retr = pop3_retr_new(c, n, top, lines);
	c->busy = true;
	pop3_pause(c);
	pop3_retr_submit(c, c->retr);
}

static void
cmd_retr(struct pop3_session *c, const struct pop3_command *cmd)
{
	struct pop3_retr *r;

	if (pop3_msg_get(c, cmd->msg) == NULL)
		return;
	/* read-ahead entries before it were skipped (DELE'd, or the client
	 * has them already): drop them */
	while (c->pre != NULL && c->pre->n < cmd->msg) {
		r = c->pre;
		c->pre = r->next;
		r->next = NULL;
		pop3_retr_free(&r);
	}
	r = c->pre;
	if (r == NULL || r->n != cmd->msg || r->err != 0) {
		if (r != NULL && r->n == cmd->msg) {
			c->pre = r->next;	/* failed: a fresh read says why */
			r->next = NULL;
			pop3_retr_free(&r);
		}
		pop3_retr_start(c, cmd->msg, false, 0);
		return;
	}
	/* read ahead: answered from memory */
	c->pre = r->next;
	r->next = NULL;
	r->ahead = false;
	c->retr = r;
	c->busy = true;		/* input paused only if it has to wait */
	pop3_retr_ready(c, r);
}

static void
cmd_top(struct pop3_session *c, const struct pop3_command *cmd)
{
	pop3_retr_start(c, cmd->msg, true, cmd->lines);
}

/* ---- QUIT: UPDATE ---- */

struct pop3_quit {
	struct pop3_session	*c;
	struct mbox_user	*mu;
	struct mbox_view	*view;
	uint32_t		*uids;		/* DELE'd */
	size_t			 n;
	uint32_t		*seen;		/* RETR'd and kept: seqs */
	size_t			 nseen;
	size_t			 removed;
	int			 result;
	char			*error;
	char			*seen_error;
};

static void
pop3_quit_work(void *arg)
{
	struct pop3_quit *q = arg;
	uint32_t *gone = NULL, *modified = NULL;
	size_t nmodified = 0;

	if (q->nseen > 0 && mbox_store(q->view, q->seen, q->nseen,
	    MBOX_STORE_ADD, MBOX_F_SEEN, NULL, 0, &modified, &nmodified,
	    &q->seen_error) < 0 && q->seen_error == NULL)
		q->seen_error = xstrdup("?");
	free(modified);
	if (q->n > 0)
		q->result = mbox_expunge(q->view, q->uids, q->n, false, &gone,
		    &q->removed, &q->error);
	free(gone);
	mbox_pop3_unlock(q->mu);
}

static void
pop3_quit_done(void *arg)
{
	struct pop3_quit *q = arg;
	struct pop3_session *c = q->c;

	c->job = false;
	c->locked = false;	/* unlocked before the reply: a client may
				   reconnect at once */
	if (q->seen_error)
		log_warn("%s pop3 seen-failed user=%s error=\"%s\"",
		    c->base.id, c->user, q->seen_error);
	if (q->result < 0) {
		log_error("%s pop3 quit user=%s deleted=%zu of=%zu "
		    "error=\"%s\"", c->base.id, c->user, q->removed, q->n,
		    q->error ? q->error : "?");
		if (!c->dead)
			pop3_send(c, "-ERR [SYS/TEMP] Some deleted messages "
			    "not removed");
	} else {
		log_info("%s pop3 quit user=%s deleted=%zu retrieved=%u",
		    c->base.id, c->user, q->removed, c->nretr);
		if (!c->dead)
			pop3_send(c, "+OK tem signing off (%zu messages "
			    "deleted)", q->n);
	}
	free(q->uids);
	free(q->seen);
	free(q->error);
	free(q->seen_error);
	free(q);
	if (c->dead) {
		pop3_session_free(c);
		return;
	}
	pop3_close(c);
}

static void
cmd_quit(struct pop3_session *c, const struct pop3_command *cmd)
{
	struct pop3_quit *q;

	(void)cmd;
	pop3_retr_free(&c->pre);
	if (c->state == POP3_STATE_AUTHORIZATION) {
		pop3_send(c, "+OK tem signing off");
		pop3_close(c);
		return;
	}
	c->state = POP3_STATE_UPDATE;
	q = xmalloc(sizeof(*q));
	q->c = c;
	q->mu = c->mu;
	q->view = c->view;
	q->uids = xcalloc(c->ndeleted ? c->ndeleted : 1, sizeof(*q->uids));
	q->seen = xcalloc(c->nretr ? c->nretr : 1, sizeof(*q->seen));
	for (uint32_t i = 0; i < c->nmsgs; i++) {
		if (c->msgs[i].deleted)
			q->uids[q->n++] = c->msgs[i].uid;
		else if (c->msgs[i].retrieved && q->nseen < c->nretr)
			q->seen[q->nseen++] = i + 1;
	}
	c->busy = true;
	c->job = true;
	pop3_pause(c);
	worker_submit(server_thread_loop(c->base.thread), pop3_quit_work,
	    pop3_quit_done, q);
}

/* ---- dispatch ---- */

#define IN_AUTH		0x1
#define IN_TRANS	0x2

static const struct {
	enum pop3_verb	 verb;
	void		(*fn)(struct pop3_session *c,
			    const struct pop3_command *cmd);
	unsigned	 states;
} pop3_commands[] = {
	{ POP3_VERB_USER, cmd_user, IN_AUTH },
	{ POP3_VERB_PASS, cmd_pass, IN_AUTH },
	{ POP3_VERB_AUTH, cmd_auth, IN_AUTH },
	{ POP3_VERB_STLS, cmd_stls, IN_AUTH },
	{ POP3_VERB_CAPA, cmd_capa, IN_AUTH | IN_TRANS },
	{ POP3_VERB_QUIT, cmd_quit, IN_AUTH | IN_TRANS },
	{ POP3_VERB_STAT, cmd_stat, IN_TRANS },
	{ POP3_VERB_LIST, cmd_list, IN_TRANS },
	{ POP3_VERB_UIDL, cmd_uidl, IN_TRANS },
	{ POP3_VERB_RETR, cmd_retr, IN_TRANS },
	{ POP3_VERB_TOP, cmd_top, IN_TRANS },
	{ POP3_VERB_DELE, cmd_dele, IN_TRANS },
	{ POP3_VERB_RSET, cmd_rset, IN_TRANS },
	{ POP3_VERB_NOOP, cmd_noop, IN_TRANS },
};

static void
pop3_command(struct pop3_session *c)
{
	struct pop3_command cmd;
	const char *err;
	unsigned state = c->state == POP3_STATE_AUTHORIZATION ? IN_AUTH :
	    IN_TRANS;

	c->ncommands++;
	if (pop3_parse_command(c->line.data, c->line.len, &cmd, &err) < 0) {
		pop3_err_bad(c, err);
		return;
	}
	for (size_t i = 0; i < sizeof(pop3_commands) /
	    sizeof(pop3_commands[0]); i++) {
		if (pop3_commands[i].verb != cmd.verb)
			continue;
		if (!(pop3_commands[i].states & state)) {
			pop3_err_bad(c, state == IN_AUTH ? "Log in first" :
			    "Already logged in");
			return;
		}
		pop3_commands[i].fn(c, &cmd);
		return;
	}
	pop3_err_bad(c, "Unknown command");
}

static void
pop3_process(struct pop3_session *c)
{
	int r;

	while (!c->busy && !c->closing && !c->job) {
		size_t max = c->auth_wait ? POP3_SASL_LINE_MAX : POP3_LINE_MAX;
		if (io_outlen(c->io) > POP3_OUT_HIGH) {
			/* a client that pipelines and does not read */
			c->out_wait = true;
			pop3_pause(c);
			return;
		}
		r = io_getline(c->io, max - 1, &c->line);
		if (r == 0)
			return;
		if (r < 0) {
			c->auth_wait = false;
			pop3_err_bad(c, "Line too long");
			continue;
		}
		if (c->auth_wait)
			pop3_auth_response(c);
		else
			pop3_command(c);
		/* the line may have held a password */
		if (c->line.data)
			OPENSSL_cleanse(c->line.data, c->line.len);
		buf_reset(&c->line);
	}
}

/* ---- the connection ---- */

static void
pop3_tls_ready(struct pop3_session *c)
{
	c->tls = true;
	c->handshake = false;
	tls_describe(io_ssl(c->io), c->tls_info, sizeof(c->tls_info));
	log_info("%s pop3 tls %s", c->base.id, c->tls_info);
	if (c->implicit_tls) {
		c->implicit_tls = false;
		if (!c->stopping)
			pop3_send(c, "+OK tem ready");
	}
	pop3_done(c);	/* says goodbye instead when the server stops */
}

static void
pop3_drained(struct pop3_session *c)
{
	/* The event is delivered later than the write that caused it: more
	 * output may have been queued since (a reply, "+OK" before STLS's
	 * handshake). Act only when nothing is waiting; the next drain
	 * comes otherwise. */
	if (io_outlen(c->io) > 0)
		return;
	if (c->closing) {
		if (!c->job)
			pop3_session_free(c);
		return;
	}
	if (c->tls_pending) {
		struct tls_server *t = tls_current();
		c->tls_pending = false;
		if (t == NULL) {
			pop3_session_free(c);
			return;
		}
		c->handshake = true;
		io_start_tls(c->io, tls_ssl_new(t));
		tls_server_unref(&t);
		return;
	}
	if (c->retr && c->retr->ready) {
		pop3_retr_write(c);
		return;
	}
	if (c->listing) {
		pop3_list_continue(c);
		return;
	}
	if (c->out_wait) {
		c->out_wait = false;
		pop3_resume(c);
		pop3_process(c);
	}
}

static void
pop3_io_cb(struct io *io, enum io_event ev, void *arg)
{
	struct pop3_session *c = arg;

	(void)io;
	switch (ev) {
	case IO_EV_DATAIN:
		pop3_process(c);
		break;
	case IO_EV_DRAINED:
		pop3_drained(c);
		break;
	case IO_EV_TLS_READY:
		pop3_tls_ready(c);
		break;
	case IO_EV_TIMEOUT:
		/* RFC 1939 3: an autologout does not enter UPDATE */
		log_info("%s pop3 timeout addr=%s", c->base.id, c->base.ip);
		pop3_send(c, "-ERR Autologout; idle for too long");
		pop3_close(c);
		break;
	case IO_EV_CONNECTED:	/* not for server sessions */
	case IO_EV_EOF:
	case IO_EV_ERROR:
		if (ev == IO_EV_ERROR && c->handshake)
			log_info("%s pop3 tls-failed addr=%s", c->base.id,
			    c->base.ip);
		if (c->job) {
			/* a job holds c: free it when the job answers */
			c->dead = true;
			pop3_pause(c);
			break;
		}
		pop3_session_free(c);
		break;
	}
}

static void
pop3_shutdown(struct server_session *base)
{
	struct pop3_session *c = (struct pop3_session *)base;

	c->stopping = true;
	if (c->busy || c->closing)
		return;		/* pop3_done says goodbye */
	pop3_send(c, "-ERR [SYS/TEMP] Server shutting down");
	pop3_close(c);
}

void
pop3_session_start(struct pop3_session *c, int fd)
{
	int one = 1;

	c->io = io_new(server_thread_loop(c->base.thread), fd, pop3_io_cb, c);
	c->base.shutdown = pop3_shutdown;
	c->started = time(NULL);
	buf_init(&c->line, 0);
	io_set_timeout(c->io, POP3_IDLE_TIMEOUT);
	/* Replies leave whole (one write per reply or RETR piece): Nagle
	 * would only hold a reply's tail back for the client's delayed ACK. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		log_debug("%s pop3 nodelay error=\"%s\"", c->base.id,
		    strerror(errno));
	log_info("%s %s connect addr=%s port=%d", c->base.id,
	    service_name(c->base.svc), c->base.ip, c->base.port);
	if (c->base.svc == SVC_POP3S) {
		struct tls_server *t = tls_current();
		if (t == NULL) {
			pop3_session_free(c);
			return;
		}
		c->implicit_tls = true;
		c->handshake = true;
		c->busy = true;
		io_start_tls(c->io, tls_ssl_new(t));
		tls_server_unref(&t);
		return;
	}
	pop3_send(c, "+OK tem ready");
}

static void
pop3_session_free(struct pop3_session *c)
{
	log_info("%s pop3 disconnect addr=%s user=%s commands=%u retr=%u "
	    "duration=%lds", c->base.id, c->base.ip, c->user ? c->user : "-",
	    c->ncommands, c->nretr, (long)(time(NULL) - c->started));
	pop3_retr_free(&c->retr);
	pop3_retr_free(&c->pre);
	pop3_release(c->base.thread, &c->mu, &c->view, c->locked);
	io_free(&c->io);
	server_session_remove(&c->base);
	loop_timer_free(&c->timer);
	if (c->line.data)
		OPENSSL_cleanse(c->line.data, c->line.cap);
	buf_free(&c->line);
	free(c->user_arg);
	free(c->user);
	free(c->msgs);
	free(c);
}
