/*
 * imap_client - the IMAP session core: reading and parsing commands,
 * running them one at a time (on the loop or a worker), writing their
 * responses with the pending mailbox updates, and the commands that
 * manage the session itself: CAPABILITY NOOP LOGOUT STARTTLS LOGIN
 * AUTHENTICATE ENABLE ID IDLE.
 *
 * Trust: untrusted client. Limits: IMAP_PREAUTH_LINE_MAX before login,
 * IMAP_LINE_MAX after; literals IMAP_LITERAL_MAX except APPEND's
 * (message_size_limit, refused before it is read); IMAP_MAX_BAD BAD
 * replies in a row end the session; IMAP_PREAUTH_TIMEOUT to log in, then
 * IMAP_IDLE_TIMEOUT of silence (IDLE included, RFC 9051 5.4).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "auth/auth_verify.h"
#include "auth/authfail.h"
#include "auth/resolve.h"
#include "auth/sasl.h"
#include "conf/conf.h"
#include "imap/imap_client.h"
#include "imap/imap_msgs.h"
#include "store/mailbox.h"
#include "tls/tls.h"
#include "util/io.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/worker.h"
#include "util/xmalloc.h"

static void imap_process(struct imap_client *c);
static void imap_client_free(struct imap_client *c);
static void imap_cmd_run(struct imap_cmd *cmd);

/* ---- output ---- */

static void
imap_send(struct imap_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
imap_send(struct imap_client *c, const char *fmt, ...)
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

static void
imap_close(struct imap_client *c)
{
	c->closing = true;
	io_pause_read(c->io);
}

static void imap_cmd_set(struct imap_cmd *cmd, const char *kind,
    const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

static void
imap_cmd_set(struct imap_cmd *cmd, const char *kind, const char *fmt,
    va_list ap)
{
	struct buf b;

	buf_init(&b, 0);
	buf_puts(&b, kind);
	buf_vprintf(&b, fmt, ap);
	free(cmd->tagged);
	cmd->tagged = buf_steal(&b, NULL);
}

void
imap_cmd_ok(struct imap_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	imap_cmd_set(cmd, "OK ", fmt, ap);
	va_end(ap);
}

void
imap_cmd_no(struct imap_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	imap_cmd_set(cmd, "NO ", fmt, ap);
	va_end(ap);
}

void
imap_cmd_bad(struct imap_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	imap_cmd_set(cmd, "BAD ", fmt, ap);
	va_end(ap);
}

void
imap_cmd_store_error(struct imap_cmd *cmd, int err, bool trycreate,
    const char *text)
{
	const char *code;

	switch (err) {
	case MBOX_ERR_NONEXISTENT:
		code = trycreate ? "[TRYCREATE] " : "[NONEXISTENT] ";
		break;
	case MBOX_ERR_EXISTS: code = "[ALREADYEXISTS] "; break;
	case MBOX_ERR_BADNAME: code = "[CANNOT] "; break;
	case MBOX_ERR_CANNOT: code = "[CANNOT] "; break;
	case MBOX_ERR_LIMIT: code = "[LIMIT] "; break;
	case MBOX_ERR_EXPUNGED: code = "[EXPUNGEISSUED] "; break;
	case MBOX_ERR_NOSPACE: code = "[OVERQUOTA] "; break;
	default: code = "[SERVERBUG] "; break;
	}
	imap_cmd_no(cmd, "%s%s", code, text ? text : "Failed");
}

void
imap_client_capabilities(struct imap_client *c, struct buf *out)
{
	bool plain_ok = c->tls || c->conf->auth_allow_cleartext;

	buf_puts(out, "IMAP4rev1 IMAP4rev2");
	if (c->state == IMAP_STATE_NOAUTH) {
		buf_puts(out, " SASL-IR LITERAL+ ENABLE ID IDLE");
		if (!c->tls && tls_available())
			buf_puts(out, " STARTTLS");
		buf_puts(out, plain_ok ? " AUTH=PLAIN" : " LOGINDISABLED");
		return;
	}
	buf_printf(out, " SASL-IR LITERAL+ ENABLE ID IDLE NAMESPACE UIDPLUS "
	    "MOVE UNSELECT CHILDREN SPECIAL-USE CREATE-SPECIAL-USE "
	    "LIST-EXTENDED LIST-STATUS "
	    "ESEARCH SEARCHRES CONDSTORE QRESYNC STATUS=SIZE "
	    "APPENDLIMIT=%llu SORT THREAD=REFERENCES THREAD=ORDEREDSUBJECT "
	    "BINARY UTF8=ACCEPT", (unsigned long long)
	    c->conf->message_size_limit);
}

/* ---- updates for the selected mailbox ---- */

bool
imap_client_updates(struct imap_client *c, struct buf *out,
    bool allow_expunge)
{
	struct mbox_changes ch;
	char *err = NULL;

	if (c->view == NULL)
		return true;
	if (mbox_view_sync(c->view, &err) < 0)
		free(err);		/* report what we know */
	if (!allow_expunge)
		return true;	/* changes wait: numbering must not move */
	mbox_view_changes(c->view, &ch);
	if (ch.gone) {
		mbox_changes_free(&ch);
		return false;
	}
	if (c->qresync && ch.n_expunged > 0) {
		buf_puts(out, "* VANISHED ");
		for (size_t i = 0; i < ch.n_expunged; i++)
			buf_printf(out, "%s%u", i ? "," : "",
			    ch.expunged_uids[i]);
		buf_puts(out, "\r\n");
	} else
		for (size_t i = 0; i < ch.n_expunged; i++)
			buf_printf(out, "* %u EXPUNGE\r\n",
			    ch.expunged_seqs[i]);
	if (ch.keywords_changed)
		imap_out_flag_lists(out, c->view, c->readonly);
	if (ch.exists_changed) {
		buf_printf(out, "* %u EXISTS\r\n", ch.exists);
		if (!c->rev2)
			buf_printf(out, "* %u RECENT\r\n", ch.recent);
	}
	for (size_t i = 0; i < ch.n_flags; i++) {
		struct mbox_msg_info mi;
		uint32_t seq = ch.flag_seqs[i];
		if (mbox_view_msg(c->view, seq, &mi) < 0 || mi.expunged)
			continue;
		buf_printf(out, "* %u FETCH (", seq);
		if (c->qresync || c->condstore)
			buf_printf(out, "UID %u MODSEQ (%llu) ", mi.uid,
			    (unsigned long long)mi.modseq);
		buf_puts(out, "FLAGS ");
		imap_out_flags(out, c->view, imap_msgs_flags(c, mi.flags),
		    mi.keywords);
		buf_puts(out, ")\r\n");
	}
	mbox_changes_free(&ch);
	return true;
}

/* ---- running commands ---- */

struct imap_run {
	struct imap_cmd		*cmd;
	enum imap_cmd_result	 result;
	bool			 gone;	/* the mailbox went away: BYE */
};

static void
imap_cmd_free(struct imap_cmd *cmd)
{
	if (cmd->free_ctx)
		cmd->free_ctx(cmd);
	buf_free(&cmd->out);
	free(cmd->tagged);
	free((char *)(uintptr_t)cmd->tag);
	free((char *)(uintptr_t)cmd->name);
	free(cmd);
}

static void
imap_append_clear(struct imap_client *c)
{
	c->spool_cmd = false;
	imap_spool_drop(c);
}

/* The command is over: tagged reply, then go on with the input. */
static void
imap_cmd_end(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->c;

	if (cmd->out.len)
		io_write(c->io, cmd->out.data, cmd->out.len);
	if (cmd->tagged == NULL)
		imap_cmd_bad(cmd, "Internal error");
	imap_send(c, "%s %s", cmd->tag, cmd->tagged);
	if (strncmp(cmd->tagged, "BAD", 3) == 0) {
		if (++c->bad_count >= IMAP_MAX_BAD) {
			imap_send(c, "* BYE Too many invalid commands");
			imap_close(c);
		}
	} else
		c->bad_count = 0;
	c->cmd = NULL;
	imap_cmd_free(cmd);
	imap_append_clear(c);
	imap_parser_command_done(c->parser);
	c->busy = false;
	if (c->state == IMAP_STATE_LOGOUT && !c->closing)
		imap_close(c);
	if (c->closing)
		return;
	if (c->tls_pending) {
		/* STARTTLS: the handshake starts once the OK drained */
		c->busy = true;
		return;
	}
	if (c->stopping) {
		imap_send(c, "* BYE Server shutting down");
		imap_close(c);
		return;
	}
	io_resume_read(c->io);
	imap_process(c);
}

void
imap_cmd_finish(struct imap_cmd *cmd)
{
	imap_cmd_end(cmd);
}

static void
imap_run_work(void *arg)
{
	struct imap_run *r = arg;
	struct imap_cmd *cmd = r->cmd;
	struct imap_client *c = cmd->c;

	r->result = cmd->def->fn(cmd);
	if (r->result == IMAP_CMD_DONE && !cmd->no_updates &&
	    c->state == IMAP_STATE_SELECTED)
		r->gone = !imap_client_updates(c, &cmd->out, cmd->uid ||
		    !(cmd->def->flags & IMAP_CMD_F_NO_EXPUNGE));
}

static void
imap_run_done(void *arg)
{
	struct imap_run *r = arg;
	struct imap_cmd *cmd = r->cmd;
	struct imap_client *c = cmd->c;
	enum imap_cmd_result res = r->result;
	bool gone = r->gone;

	free(r);
	if (c->dead) {
		c->cmd = NULL;
		imap_cmd_free(cmd);
		imap_client_free(c);
		return;
	}
	if (res == IMAP_CMD_MORE) {
		/* write this chunk; the next one after it drained */
		io_write(c->io, cmd->out.data, cmd->out.len);
		buf_reset(&cmd->out);
		cmd->more = true;
		return;		/* IO_EV_DRAINED calls imap_cmd_run again */
	}
	if (gone) {
		imap_send(c, "* BYE Mailbox was deleted elsewhere");
		imap_close(c);
	}
	imap_cmd_end(cmd);
}

static void
imap_cmd_run(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->c;
	enum imap_cmd_result res;

	if (cmd->def->flags & IMAP_CMD_F_LOOP) {
		res = cmd->def->fn(cmd);
		if (res == IMAP_CMD_DONE)
			imap_cmd_end(cmd);
		return;		/* ASYNC: the handler finishes it */
	}
	{
		struct imap_run *r = xmalloc(sizeof(*r));
		r->cmd = cmd;
		worker_submit(server_thread_loop(c->base.thread),
		    imap_run_work, imap_run_done, r);
	}
}

static void
imap_dispatch(struct imap_client *c, const struct imap_command *pc)
{
	const struct imap_command_def *def = imap_command_find(pc->name);
	struct imap_cmd *cmd;
	const char *err = NULL;

	c->ncommands++;
	if (def == NULL)
		err = "Unknown command";
	else if (pc->uid && !(def->flags & IMAP_CMD_F_UID))
		err = "This command has no UID form";
	else if (c->state == IMAP_STATE_NOAUTH &&
	    !(def->flags & IMAP_CMD_F_NOAUTH))
		err = "Log in first";
	else if (c->state != IMAP_STATE_NOAUTH &&
	    !(def->flags & IMAP_CMD_F_AUTH))
		err = "Already logged in";
	else if ((def->flags & IMAP_CMD_F_SELECTED) &&
	    c->state != IMAP_STATE_SELECTED)
		err = "No mailbox selected";
	if (err) {
		imap_send(c, "%s BAD %s", pc->tag, err);
		imap_parser_command_done(c->parser);
		imap_append_clear(c);
		if (++c->bad_count >= IMAP_MAX_BAD) {
			imap_send(c, "* BYE Too many invalid commands");
			imap_close(c);
		}
		return;
	}
	cmd = xmalloc(sizeof(*cmd));
	cmd->c = c;
	cmd->def = def;
	cmd->tag = xstrdup(pc->tag);
	cmd->name = xstrdup(pc->name);
	cmd->uid = pc->uid;
	cmd->args = pc->args;
	cmd->count = pc->count;
	buf_init(&cmd->out, 0);
	c->cmd = cmd;
	c->busy = true;
	io_pause_read(c->io);
	imap_cmd_run(cmd);
}

/* ---- input ---- */

static void
imap_parse_error(struct imap_client *c)
{
	const struct imap_parse_error *e = imap_parser_error(c->parser);

	if (e->tag)
		imap_send(c, "%s %s", e->tag, e->reply);
	else
		imap_send(c, "* %s", e->reply);
	if (e->close || ++c->bad_count >= IMAP_MAX_BAD) {
		imap_send(c, "* BYE %s", e->close ? "Input limit exceeded" :
		    "Too many invalid commands");
		imap_close(c);
	}
	imap_append_clear(c);
}

static void imap_line(struct imap_client *c, const char *line, size_t len);

static void
imap_process(struct imap_client *c)
{
	const char *p;
	size_t len, used;
	enum imap_parse_result r;

	while (!c->busy && !c->closing && !c->spool_cmd &&
	    !imap_spool_full(c)) {
		p = io_peek(c->io, &len);
		if (len == 0)
			return;
		r = imap_parser_feed(c->parser, p, len, &used);
		switch (r) {
		case IMAP_PARSE_NEED_MORE:
			io_drain(c->io, used);
			break;
		case IMAP_PARSE_COMMAND:
			io_drain(c->io, used);
			if (!imap_spool_idle(c)) {
				c->spool_cmd = true;	/* see spool_ready */
				return;
			}
			imap_dispatch(c, imap_parser_command(c->parser));
			break;
		case IMAP_PARSE_ERROR:
			io_drain(c->io, used);
			imap_parse_error(c);
			break;
		case IMAP_PARSE_LITERAL_WAIT:
			io_drain(c->io, used);
			imap_send(c, "+ OK");
			break;
		case IMAP_PARSE_LITERAL_STREAM:
			/* the chunk points into p: copy before draining */
			imap_spool_chunk(c, imap_parser_literal(c->parser));
			io_drain(c->io, used);
			break;
		case IMAP_PARSE_LINE: {
			size_t llen;
			const char *line = imap_parser_line(c->parser, &llen);
			char *copy = xmemdup(line, llen + 1);
			copy[llen] = '\0';
			io_drain(c->io, used);
			imap_line(c, copy, llen);
			OPENSSL_cleanse(copy, llen);
			free(copy);
			break;
		}
		}
	}
}

void
imap_client_spool_ready(struct imap_client *c)
{
	if (c->busy || c->closing)
		return;
	if (c->spool_cmd) {
		if (!imap_spool_idle(c))
			return;
		c->spool_cmd = false;
		imap_dispatch(c, imap_parser_command(c->parser));
		return;
	}
	imap_process(c);
}

/* The per-user session counter's key (static buffer: callers use it at
 * once, on one thread at a time per call). */
static const char *
imap_user_key(const char *user, char *unused, size_t n)
{
	static __thread char key[300];

	(void)unused;
	(void)n;
	snprintf(key, sizeof(key), "imap-user/%.280s", user);
	return key;
}

/* ---- session commands ---- */

enum imap_cmd_result
cmd_capability(struct imap_cmd *cmd)
{
	buf_puts(&cmd->out, "* CAPABILITY ");
	imap_client_capabilities(cmd->c, &cmd->out);
	buf_puts(&cmd->out, "\r\n");
	imap_cmd_ok(cmd, "CAPABILITY completed");
	return IMAP_CMD_DONE;
}

enum imap_cmd_result
cmd_noop(struct imap_cmd *cmd)
{
	imap_cmd_ok(cmd, "NOOP completed");
	return IMAP_CMD_DONE;
}

enum imap_cmd_result
cmd_logout(struct imap_cmd *cmd)
{
	buf_puts(&cmd->out, "* BYE Logging out\r\n");
	cmd->c->state = IMAP_STATE_LOGOUT;
	cmd->no_updates = true;
	imap_cmd_ok(cmd, "LOGOUT completed");
	return IMAP_CMD_DONE;
}

enum imap_cmd_result
cmd_id(struct imap_cmd *cmd)
{
	buf_puts(&cmd->out, "* ID (\"name\" \"tem\")\r\n");
	imap_cmd_ok(cmd, "ID completed");
	return IMAP_CMD_DONE;
}

enum imap_cmd_result
cmd_enable(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->c;
	struct buf en;

	buf_init(&en, 0);
	for (unsigned i = 0; i < cmd->count; i++) {
		const char *s = cmd->args[i].str;
		if (cmd->args[i].type != IMAP_ARG_ATOM) {
			buf_free(&en);
			imap_cmd_bad(cmd, "Invalid ENABLE arguments");
			return IMAP_CMD_DONE;
		}
		if (strcasecmp(s, "IMAP4rev2") == 0 && !c->rev2) {
			c->rev2 = c->utf8 = true;
			buf_puts(&en, " IMAP4rev2");
		} else if (strcasecmp(s, "CONDSTORE") == 0 && !c->condstore) {
			c->condstore = true;
			buf_puts(&en, " CONDSTORE");
		} else if (strcasecmp(s, "QRESYNC") == 0 && !c->qresync) {
			c->qresync = c->condstore = true;
			buf_puts(&en, " QRESYNC");
		} else if (strcasecmp(s, "UTF8=ACCEPT") == 0 && !c->utf8) {
			c->utf8 = true;
			buf_puts(&en, " UTF8=ACCEPT");
		}
	}
	buf_printf(&cmd->out, "* ENABLED%s\r\n", buf_cstr(&en));
	buf_free(&en);
	imap_cmd_ok(cmd, "ENABLE completed");
	return IMAP_CMD_DONE;
}

enum imap_cmd_result
cmd_starttls(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->c;

	if (c->tls) {
		imap_cmd_bad(cmd, "TLS is already active");
		return IMAP_CMD_DONE;
	}
	if (!tls_available()) {
		imap_cmd_no(cmd, "TLS not available");
		return IMAP_CMD_DONE;
	}
	/* Anything pipelined after STARTTLS was sent in clear: drop it. */
	io_drain_all(c->io);
	imap_cmd_ok(cmd, "Begin TLS negotiation now");
	c->tls_pending = true;
	return IMAP_CMD_DONE;
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

	if (l->ok && mbox_user_open(l->maildir, &l->mu, &l->error) < 0)
		l->ok = false;
}

static void
imap_login_delay_over(void *arg)
{
	struct imap_cmd *cmd = arg;

	imap_cmd_no(cmd, "[AUTHENTICATIONFAILED] Authentication failed");
	imap_cmd_finish(cmd);
}

static void
imap_login_done(void *arg)
{
	struct imap_login *l = arg;
	struct imap_cmd *cmd = l->cmd;
	struct imap_client *c = cmd->c;

	if (c->dead) {
		c->cmd = NULL;
		imap_cmd_free(cmd);
		imap_login_free(l);
		imap_client_free(c);
		return;
	}
	if (l->ok && !server_slot_acquire(imap_user_key(l->canonical, NULL, 0),
	    c->conf->imap_max_sessions_per_user)) {
		log_warn("%s imap too-many-sessions user=%s addr=%s",
		    c->base.id, l->canonical, c->base.ip);
		imap_cmd_no(cmd, "[LIMIT] Too many sessions for this user");
		imap_login_free(l);
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
		{
			struct imap_parser_limits lim;
			imap_parser_limits_default(&lim);
			lim.line_max = IMAP_LINE_MAX;
			lim.literal_max = IMAP_LITERAL_MAX;
			lim.append_max = c->conf->message_size_limit;
			imap_parser_set_limits(c->parser, &lim);
		}
		io_set_timeout(c->io, IMAP_IDLE_TIMEOUT);
		log_info("%s imap login user=%s addr=%s", c->base.id, c->user,
		    c->base.ip);
		buf_init(&caps, 0);
		imap_client_capabilities(c, &caps);
		imap_cmd_ok(cmd, "[CAPABILITY %s] Logged in", buf_cstr(&caps));
		buf_free(&caps);
		imap_login_free(l);
		imap_cmd_finish(cmd);
		return;
	}
	if (l->error)
		log_error("%s imap mailbox-open-failed user=%s error=\"%s\"",
		    c->base.id, l->canonical ? l->canonical : "?", l->error);
	log_warn("%s imap auth-failed user=\"%.64s\" addr=%s", c->base.id,
	    l->user, c->base.ip);
	if (c->timer == NULL)
		c->timer = loop_timer_new(server_thread_loop(c->base.thread),
		    imap_login_delay_over, cmd);
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
		l->maildir = xasprintf("%s/mail/%s/%.*s", c->conf->data_dir,
		    at + 1, (int)(at - canonical), canonical);
	if (!l->ok || c->dead) {
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

	if (!c->tls && !c->conf->auth_allow_cleartext) {
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
		c->busy = false;	/* read that line */
		io_resume_read(c->io);
		return IMAP_CMD_ASYNC;
	}
	if (sasl_plain_decode(cmd->args[1].str, cmd->args[1].len, &cr) < 0) {
		imap_cmd_bad(cmd, "Invalid SASL PLAIN response");
		return IMAP_CMD_DONE;
	}
	return imap_login_start(cmd, &cr);
}

/* ---- IDLE (RFC 2177) ---- */

struct imap_idle_job {
	struct imap_client	*c;
	struct buf		 out;
	bool			 gone;
};

static void imap_idle_wake(void *arg);

static void
imap_idle_work(void *arg)
{
	struct imap_idle_job *j = arg;

	j->gone = !imap_client_updates(j->c, &j->out, true);
}

static void
imap_idle_job_done(void *arg)
{
	struct imap_idle_job *j = arg;
	struct imap_client *c = j->c;

	c->busy = false;
	if (c->dead) {
		buf_free(&j->out);
		free(j);
		if (c->cmd) {
			imap_cmd_free(c->cmd);
			c->cmd = NULL;
		}
		imap_client_free(c);
		return;
	}
	if (j->out.len)
		io_write(c->io, j->out.data, j->out.len);
	if (j->gone) {
		imap_send(c, "* BYE Mailbox was deleted elsewhere");
		imap_close(c);
	}
	buf_free(&j->out);
	free(j);
	if (!c->idling) {		/* DONE came meanwhile */
		imap_cmd_ok(c->cmd, "IDLE terminated");
		imap_cmd_finish(c->cmd);
		return;
	}
	if (c->changes_pending) {
		c->changes_pending = false;
		imap_idle_wake(c);
		return;
	}
	io_resume_read(c->io);
	imap_process(c);
}

/* The store says the mailbox changed: tell the idling client. */
static void
imap_idle_wake(void *arg)
{
	struct imap_client *c = arg;
	struct imap_idle_job *j;

	if (!c->idling || c->dead)
		return;
	if (c->busy) {
		c->changes_pending = true;
		return;
	}
	j = xmalloc(sizeof(*j));
	j->c = c;
	buf_init(&j->out, 0);
	c->busy = true;
	worker_submit(server_thread_loop(c->base.thread), imap_idle_work,
	    imap_idle_job_done, j);
}

enum imap_cmd_result
cmd_idle(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->c;

	if (cmd->count != 0) {
		imap_cmd_bad(cmd, "Syntax: IDLE");
		return IMAP_CMD_DONE;
	}
	cmd->no_updates = true;
	imap_send(c, "+ idling");
	c->idling = true;
	if (c->view)
		mbox_view_watch(c->view, server_thread_loop(c->base.thread),
		    imap_idle_wake, c);
	imap_parser_read_line(c->parser);
	c->busy = false;		/* wait for DONE */
	io_resume_read(c->io);
	/* anything that happened before IDLE started */
	if (c->view)
		imap_idle_wake(c);
	return IMAP_CMD_ASYNC;
}

/* A raw line: IDLE's DONE or an AUTHENTICATE response. */
static void
imap_line(struct imap_client *c, const char *line, size_t len)
{
	struct imap_cmd *cmd = c->cmd;
	struct sasl_creds cr;

	if (cmd == NULL)
		return;
	if (c->idling) {
		c->idling = false;
		if (c->view)
			mbox_view_watch(c->view, NULL, NULL, NULL);
		if (len != 4 || strncasecmp(line, "DONE", 4) != 0)
			imap_cmd_bad(cmd, "Expected DONE");
		else
			imap_cmd_ok(cmd, "IDLE terminated");
		if (c->busy)
			return;		/* the update job finishes it */
		c->busy = true;
		imap_cmd_finish(cmd);
		return;
	}
	/* AUTHENTICATE PLAIN continuation */
	c->busy = true;
	io_pause_read(c->io);
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

/* ---- the connection ---- */

static void
imap_greet(struct imap_client *c)
{
	struct buf caps;

	buf_init(&caps, 0);
	imap_client_capabilities(c, &caps);
	imap_send(c, "* OK [CAPABILITY %s] tem ready", buf_cstr(&caps));
	buf_free(&caps);
}

static void
imap_io_cb(struct io *io, enum io_event ev, void *arg)
{
	struct imap_client *c = arg;

	(void)io;
	switch (ev) {
	case IO_EV_DATAIN:
		imap_process(c);
		break;
	case IO_EV_DRAINED:
		if (c->closing && !c->busy) {
			imap_client_free(c);
			break;
		}
		if (c->tls_pending) {
			c->tls_pending = false;
			c->busy = true;
			if (tls_io_start(c->io) < 0)
				imap_client_free(c);
			break;
		}
		if (c->cmd && c->cmd->more) {
			c->cmd->more = false;
			imap_cmd_run(c->cmd);	/* the next MORE chunk */
		}
		break;
	case IO_EV_TLS_READY:
		c->tls = true;
		tls_describe(io_ssl(c->io), c->tls_info, sizeof(c->tls_info));
		log_info("%s imap tls %s", c->base.id, c->tls_info);
		c->busy = false;
		if (c->implicit_tls) {
			c->implicit_tls = false;
			imap_greet(c);
		}
		io_resume_read(c->io);
		imap_process(c);
		break;
	case IO_EV_TIMEOUT:
		log_info("%s imap timeout addr=%s", c->base.id, c->base.ip);
		imap_send(c, "* BYE Autologout; idle for too long");
		imap_close(c);
		if (c->busy && c->cmd == NULL)
			c->busy = false;
		break;
	case IO_EV_CONNECTED:
	case IO_EV_EOF:
	case IO_EV_ERROR:
		if (c->busy && (c->cmd != NULL || c->tls_pending)) {
			/* a job holds c; it frees c when it answers */
			if (c->cmd && (c->cmd->def->flags & IMAP_CMD_F_LOOP) &&
			    !c->idling && c->timer == NULL) {
				/* a loop command waiting on a worker (LOGIN) */
				c->dead = true;
				io_pause_read(c->io);
				break;
			}
			if (c->cmd && c->idling && !c->busy) {
				imap_client_free(c);
				break;
			}
			c->dead = true;
			io_pause_read(c->io);
			break;
		}
		imap_client_free(c);
		break;
	}
}

static void
imap_shutdown(struct server_session *base)
{
	struct imap_client *c = (struct imap_client *)base;

	c->stopping = true;
	if (c->busy || c->closing)
		return;
	if (c->idling) {
		c->idling = false;
		if (c->view)
			mbox_view_watch(c->view, NULL, NULL, NULL);
	}
	imap_send(c, "* BYE Server shutting down");
	imap_close(c);
}

void imap_client_start(struct imap_client *c, int fd);
void
imap_client_start(struct imap_client *c, int fd)
{
	struct imap_parser_limits lim;

	c->io = io_new(server_thread_loop(c->base.thread), fd, imap_io_cb, c);
	c->base.shutdown = imap_shutdown;
	c->started = time(NULL);
	imap_parser_limits_default(&lim);
	lim.line_max = IMAP_PREAUTH_LINE_MAX;
	lim.literal_max = IMAP_PREAUTH_LINE_MAX;
	lim.append_max = 0;
	lim.command_max = IMAP_PREAUTH_LINE_MAX * 2;
	c->parser = imap_parser_create(&lim);
	io_set_timeout(c->io, IMAP_PREAUTH_TIMEOUT);
	log_info("%s %s connect addr=%s port=%d", c->base.id,
	    service_name(c->base.svc), c->base.ip, c->base.port);
	if (c->base.svc == SVC_IMAPS) {
		c->implicit_tls = true;
		c->busy = true;
		if (tls_io_start(c->io) < 0) {
			imap_close(c);
			imap_client_free(c);
		}
		return;
	}
	imap_greet(c);
}

/* Closing the view and the user may touch the disk: on a worker. */
struct imap_release {
	struct mbox_view	*view;
	struct mbox_user	*mu;
};

static void
imap_release_work(void *arg)
{
	struct imap_release *r = arg;

	mbox_view_close(&r->view);
	if (r->mu)
		mbox_user_unref(&r->mu);
}

static void
imap_release_done(void *arg)
{
	free(arg);
}

static void
imap_client_free(struct imap_client *c)
{
	log_info("%s imap disconnect addr=%s user=%s commands=%u "
	    "duration=%lds", c->base.id, c->base.ip, c->user ? c->user : "-",
	    c->ncommands, (long)(time(NULL) - c->started));
	if (c->view)
		mbox_view_watch(c->view, NULL, NULL, NULL);
	if (c->view || c->mu) {
		struct imap_release *r = xmalloc(sizeof(*r));
		r->view = c->view;
		r->mu = c->mu;
		c->view = NULL;
		c->mu = NULL;
		worker_submit(server_thread_loop(c->base.thread),
		    imap_release_work, imap_release_done, r);
	}
	if (c->cmd) {
		imap_cmd_free(c->cmd);
		c->cmd = NULL;
	}
	imap_append_clear(c);
	io_free(&c->io);
	server_session_remove(&c->base);
	imap_parser_destroy(&c->parser);
	loop_timer_free(&c->timer);
	if (c->user)
		server_slot_release(imap_user_key(c->user, NULL, 0));
	free(c->searchres);
	free(c->user);
	free(c);
}
