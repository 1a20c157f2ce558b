/*
 * imap_client - the IMAP session core: reading and parsing commands,
 * running them one at a time (on the loop or a worker), writing their
 * responses with the pending mailbox updates, and the session's life on
 * the server's session core (server/session.h). The commands that manage
 * the session are in cmd-session.c, imap_login.c and imap_idle.c.
 *
 * Trust: untrusted client. Limits: command lines IMAP_LINE_MAX (64 KiB,
 * before login too: IMAP_PREAUTH_LINE_MAX); literals
 * IMAP_PREAUTH_LITERAL_MAX before login, IMAP_LITERAL_MAX after, except
 * APPEND's (message_size_limit, refused before it is read); IMAP_MAX_BAD BAD
 * replies in a row end the session; IMAP_PREAUTH_TIMEOUT to log in, then
 * IMAP_IDLE_TIMEOUT of silence (IDLE included, RFC 9051 5.4).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "conf/conf.h"
#include "imap/imap_acl.h"
#include "imap/imap_client.h"
#include "imap/imap_msgs.h"
#include "imap/imap_notify.h"
#include "store/mailbox.h"
#include "store/mailbox_acl.h"
#include "util/io.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/worker.h"
#include "util/xmalloc.h"

static void imap_cmd_run(struct imap_cmd *cmd);

/* ---- output ---- */

void
imap_send(struct imap_client *c, const char *fmt, ...)
{
	va_list ap;
	struct buf b;

	if (session_closed(&c->base))
		return;		/* the client is gone */
	buf_init(&b, 0);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	buf_append(&b, "\r\n", 2);
	io_write(c->base.io, b.data, b.len);
	buf_free(&b);
}

/* Reads input while a command runs (IDLE's DONE, a SASL response). */
void
imap_read_line(struct imap_client *c)
{
	c->base.busy = false;
	io_resume_read(c->base.io);
}

void
imap_close(struct imap_client *c)
{
	session_close(&c->base);
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
	case MBOX_ERR_UNAVAILABLE: code = "[UNAVAILABLE] "; break;
	default: code = "[SERVERBUG] "; break;
	}
	imap_cmd_no(cmd, "%s%s", code, text ? text : "Failed");
}


/* ---- updates for the selected mailbox ---- */

bool
imap_client_updates(struct imap_client *c, struct buf *out,
    bool allow_expunge)
{
	struct mbox_changes ch;
	char *err = NULL;
	uint32_t known, last_uid;

	imap_notify_updates(c, out);	/* other mailboxes (NOTIFY) */
	if (c->view == NULL)
		return true;
	/* another user's folder whose "r" was revoked: nothing more of it */
	if (c->acl_owner != NULL &&
	    !(imap_acl_selected_rights(c) & MBOX_ACL_READ))
		return true;
	if (mbox_view_sync(c->view, &err) < 0)
		free(err);		/* report what we know */
	if (!allow_expunge)
		return true;	/* changes wait: numbering must not move */
	known = mbox_view_count(c->view);
	last_uid = known > 0 ? mbox_view_uid(c->view, known) : 0;
	mbox_view_changes(c->view, &ch);
	if (ch.gone) {
		mbox_changes_free(&ch);
		return false;
	}
	imap_context_expunged(c, out, &ch);
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
		imap_notify_new_messages(c, out, last_uid);
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
	imap_context_refresh(c, out, &ch);
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

	if (session_closed(&c->base)) {	/* the client left meanwhile */
		c->cmd = NULL;
		imap_cmd_free(cmd);
		return;
	}
	if (cmd->out.len)
		io_write(c->base.io, cmd->out.data, cmd->out.len);
	if (cmd->tagged == NULL)
		imap_cmd_bad(cmd, "Internal error");
	imap_send(c, "%s %s", cmd->tag, cmd->tagged);
	imap_compress_command_done(c);
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
	if (c->state == IMAP_STATE_LOGOUT)
		imap_close(c);
	if (c->base.tls_on_drain)
		return;	/* STARTTLS: busy until the handshake after the OK */
	session_resume(&c->base);	/* or BYE when the server stops */
	imap_notify_resume(c);		/* NOTIFY between commands */
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

	imap_spool_write_kept(c);	/* the APPEND's last buffer */
	/* so a FETCH after another session's STORE shows it (the
	 * numbering still moves only at imap_client_updates) */
	if (c->view != NULL) {
		char *err = NULL;
		if (mbox_view_refresh(c->view, &err) < 0)
			free(err);	/* the command reports what we know */
	}
	/* a shared folder whose "r" was revoked answers NO [NOPERM] */
	imap_notify_acting(c, true);
	r->result = imap_acl_gate(cmd) ? cmd->def->fn(cmd) : IMAP_CMD_DONE;
	imap_notify_acting(c, false);
	if (r->result == IMAP_CMD_DONE && !cmd->no_updates &&
	    (c->state == IMAP_STATE_SELECTED || c->notify != NULL))
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
	session_unref(&c->base);	/* the worker's; freed later if last */
	if (session_closed(&c->base))
		return;		/* the free drops c->cmd */
	if (res == IMAP_CMD_MORE) {
		/* write this chunk; the next one after it drained */
		io_write(c->base.io, cmd->out.data, cmd->out.len);
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
		session_ref(&c->base);
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
		imap_compress_command_done(c);
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
	session_busy(&c->base);
	imap_cmd_run(cmd);
}

/* ---- input ---- */

static void imap_line(struct imap_client *c, const char *line, size_t len);

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
	/* A command reading is waiting for a raw line (AUTHENTICATE's
	 * response, IDLE's DONE) and the parser refused it (a NUL byte):
	 * that ends the command like any other wrong line, else it was
	 * never answered and the next command leaked it. */
	if (c->cmd != NULL && c->base.state == SESSION_ACTIVE)
		imap_line(c, "", 0);
}

void
imap_process(struct imap_client *c)
{
	const char *p;
	size_t len, used;
	enum imap_parse_result r;

	while (!c->base.busy && c->base.state == SESSION_ACTIVE &&
	    !c->spool_cmd && !imap_spool_full(c)) {
		p = io_peek(c->base.io, &len);
		if (len == 0)
			return;
		r = imap_parser_feed(c->parser, p, len, &used);
		switch (r) {
		case IMAP_PARSE_NEED_MORE:
			io_drain(c->base.io, used);
			break;
		case IMAP_PARSE_COMMAND:
			io_drain(c->base.io, used);
			if (!imap_spool_idle(c)) {
				c->spool_cmd = true;	/* see spool_ready */
				return;
			}
			imap_dispatch(c, imap_parser_command(c->parser));
			break;
		case IMAP_PARSE_ERROR:
			io_drain(c->base.io, used);
			imap_parse_error(c);
			break;
		case IMAP_PARSE_LITERAL_WAIT:
			io_drain(c->base.io, used);
			imap_send(c, "+ OK");
			break;
		case IMAP_PARSE_LITERAL_STREAM:
			/* the chunk points into p: copy before draining */
			imap_compress_literal(c, imap_parser_literal(c->parser));
			imap_spool_chunk(c, imap_parser_literal(c->parser));
			io_drain(c->base.io, used);
			break;
		case IMAP_PARSE_LINE: {
			size_t llen;
			const char *line = imap_parser_line(c->parser, &llen);
			char *copy = xmemdup(line, llen + 1);
			copy[llen] = '\0';
			io_drain(c->base.io, used);
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
	if (c->base.busy || c->base.state != SESSION_ACTIVE)
		return;		/* a closing session: its free drops the spool */
	if (c->spool_cmd) {
		if (!imap_spool_idle(c))
			return;
		c->spool_cmd = false;
		imap_dispatch(c, imap_parser_command(c->parser));
		return;
	}
	imap_process(c);
}

/* A raw line: IDLE's DONE or an AUTHENTICATE response. */
static void
imap_line(struct imap_client *c, const char *line, size_t len)
{
	if (c->cmd == NULL)
		return;
	if (c->idling)
		imap_idle_line(c, line, len);
	else
		imap_auth_line(c->cmd, line, len);
}

/* ---- the connection (session core hooks) ---- */

static void
imap_greet(struct session *base)
{
	struct imap_client *c = (struct imap_client *)base;
	struct buf caps;

	buf_init(&caps, 0);
	imap_client_capabilities(c, &caps);
	imap_send(c, "* OK [CAPABILITY %s] tem ready", buf_cstr(&caps));
	buf_free(&caps);
}

static void
imap_input(struct session *base)
{
	imap_process((struct imap_client *)base);
}

static void
imap_drained(struct session *base)
{
	struct imap_client *c = (struct imap_client *)base;

	if (c->cmd && c->cmd->more) {
		c->cmd->more = false;
		imap_cmd_run(c->cmd);	/* the next MORE chunk */
	}
}

static void
imap_timeout(struct session *base)
{
	imap_send((struct imap_client *)base,
	    "* BYE Autologout; idle for too long");
}


static void
imap_shutdown(struct session *base)
{
	struct imap_client *c = (struct imap_client *)base;

	imap_idle_stop(c);
	imap_send(c, "* BYE Server shutting down");
}

static void
imap_closed(struct session *base)
{
	imap_idle_stop((struct imap_client *)base);
}

static void imap_client_free(struct session *base);

static const struct session_proto imap_proto = {
	.name = "imap",
	.greet = imap_greet,
	.input = imap_input,
	.drained = imap_drained,
	.timeout = imap_timeout,
	.shutdown = imap_shutdown,
	.closed = imap_closed,
	.free = imap_client_free,
};

void
imap_client_start(struct imap_client *c, int fd)
{
	struct imap_parser_limits lim;

	imap_parser_limits_default(&lim);
	lim.line_max = IMAP_PREAUTH_LINE_MAX;
	lim.literal_max = IMAP_PREAUTH_LITERAL_MAX;
	lim.append_max = 0;
	lim.command_max = IMAP_PREAUTH_LINE_MAX + IMAP_PREAUTH_LITERAL_MAX;
	c->parser = imap_parser_create(&lim);
	session_start(&c->base, &imap_proto, fd, c->base.svc == SVC_IMAPS,
	    IMAP_PREAUTH_TIMEOUT);
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

	/* the store stays open a while: this client may log in again soon */
	if (r->mu)
		mbox_user_linger(&r->mu, r->view);
	mbox_view_close(&r->view);
}

static void
imap_release_done(void *arg)
{
	free(arg);
}

static void
imap_client_free(struct session *base)
{
	struct imap_client *c = (struct imap_client *)base;

	log_info("%s imap disconnect addr=%s user=%s commands=%u "
	    "duration=%lds", c->base.id, c->base.ip, c->user ? c->user : "-",
	    c->ncommands, (long)(time(NULL) - c->base.started));
	if (c->view)
		mbox_view_watch(c->view, NULL, NULL, NULL);
	imap_notify_end(c);		/* before the user goes */
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
	imap_parser_destroy(&c->parser);
	loop_timer_free(&c->timer);
	if (c->user)
		server_slot_release(imap_user_key(c->user));
	free(c->searchres);
	free(c->acl_owner);
	imap_context_clear(c);
	free(c->user);
	free(c);
}
