/*
 * pop3_session - the POP3 session core: the command loop and dispatch,
 * STLS and POP3S, CAPA, the TRANSACTION commands that only read the
 * snapshot (STAT LIST UIDL DELE RSET NOOP), QUIT's UPDATE, timeouts and
 * shutdown. AUTHORIZATION is in pop3_auth.c, RETR/TOP in pop3_retr.c;
 * see pop3_session.h for the execution model.
 *
 * Trust: everything read here is untrusted. Limits: command lines of
 * POP3_LINE_MAX octets with CRLF ("-ERR Line too long", the rest of the
 * line dropped), AUTH responses of POP3_SASL_LINE_MAX, POP3_MAX_BAD bad
 * commands per session (then "-ERR" and close), POP3_IDLE_TIMEOUT of
 * silence (then "-ERR" and close, nothing deleted), output: commands are
 * not read while more than POP3_OUT_HIGH octets wait to be sent, LIST and
 * UIDL go out in POP3_LIST_CHUNK pieces as the output drains.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <openssl/crypto.h>

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

/* ---- output ---- */

void
pop3_send(struct pop3_session *c, const char *fmt, ...)
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

/* Stop and start taking input; only when it changes (each io call is
 * an epoll_ctl, and most commands are answered in the same loop turn). */
void
pop3_pause(struct pop3_session *c)
{
	if (!c->paused && c->base.io) {
		c->paused = true;
		io_pause_read(c->base.io);
	}
}

static void
pop3_resume(struct pop3_session *c)
{
	if (c->paused && c->base.io) {
		c->paused = false;
		io_resume_read(c->base.io);
	}
}

/* Closes once the output queued so far has drained. */
void
pop3_close(struct pop3_session *c)
{
	session_close(&c->base);
}

void
pop3_busy(struct pop3_session *c)
{
	c->base.busy = true;
	pop3_pause(c);
}

bool
pop3_open(const struct pop3_session *c)
{
	return c->base.state == SESSION_ACTIVE;
}

void
pop3_job_start(struct pop3_session *c)
{
	TEM_ASSERT(!c->job);
	c->job = true;
	session_ref(&c->base);
}

bool
pop3_job_end(struct pop3_session *c)
{
	c->job = false;
	session_unref(&c->base);	/* the free, if last, comes later */
	return pop3_open(c);
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

void
pop3_err_bad(struct pop3_session *c, const char *text)
{
	pop3_send(c, "-ERR %s", text);
	pop3_bad(c);
}

/* A command that made the session busy is over: take the next one. */
void
pop3_done(struct pop3_session *c)
{
	c->paused = false;	/* session_resume reads again */
	session_resume(&c->base);	/* or says goodbye: server stopping */
}


bool
pop3_plaintext_ok(const struct pop3_session *c)
{
	return c->base.tls || c->conf->auth_allow_cleartext;
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

void
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

static void
cmd_stls(struct pop3_session *c, const struct pop3_command *cmd)
{
	(void)cmd;
	if (c->base.tls) {
		pop3_err_bad(c, "TLS is already active");
		return;
	}
	if (!tls_available()) {
		pop3_send(c, "-ERR TLS not available");
		return;
	}
	pop3_send(c, "+OK Begin TLS negotiation");
	XFREE(&c->user_arg);
	/* pipelined input was sent in clear: it is dropped */
	session_starttls(&c->base);
	c->paused = true;
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
		if (pop3_plaintext_ok(c))
			buf_puts(&b, "USER\r\nSASL PLAIN\r\n");
		if (!c->base.tls && tls_available())
			buf_puts(&b, "STLS\r\n");
	}
	buf_puts(&b, "IMPLEMENTATION tem\r\n.\r\n");
	io_write(c->base.io, b.data, b.len);
	buf_free(&b);
}

/* ---- TRANSACTION: the snapshot ---- */

/* Message n of the snapshot, not deleted; else NULL after an -ERR. */
struct pop3_msg *
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
	io_write(c->base.io, b.data, b.len);
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
			io_write(c->base.io, b.data, b.len);
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
		pop3_busy(c);
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
	bool open = pop3_job_end(c);

	c->locked = false;	/* unlocked before the reply: a client may
				   reconnect at once */
	if (q->seen_error)
		log_warn("%s pop3 seen-failed user=%s error=\"%s\"",
		    c->base.id, c->user, q->seen_error);
	if (q->result < 0) {
		log_error("%s pop3 quit user=%s deleted=%zu of=%zu "
		    "error=\"%s\"", c->base.id, c->user, q->removed, q->n,
		    q->error ? q->error : "?");
		if (open)
			pop3_send(c, "-ERR [SYS/TEMP] Some deleted messages "
			    "not removed");
	} else {
		log_info("%s pop3 quit user=%s deleted=%zu retrieved=%u",
		    c->base.id, c->user, q->removed, c->nretr);
		if (open)
			pop3_send(c, "+OK tem signing off (%zu messages "
			    "deleted)", q->n);
	}
	free(q->uids);
	free(q->seen);
	free(q->error);
	free(q->seen_error);
	free(q);
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
	pop3_busy(c);
	pop3_job_start(c);
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
	{ POP3_VERB_USER, pop3_cmd_user, IN_AUTH },
	{ POP3_VERB_PASS, pop3_cmd_pass, IN_AUTH },
	{ POP3_VERB_AUTH, pop3_cmd_auth, IN_AUTH },
	{ POP3_VERB_STLS, cmd_stls, IN_AUTH },
	{ POP3_VERB_CAPA, cmd_capa, IN_AUTH | IN_TRANS },
	{ POP3_VERB_QUIT, cmd_quit, IN_AUTH | IN_TRANS },
	{ POP3_VERB_STAT, cmd_stat, IN_TRANS },
	{ POP3_VERB_LIST, cmd_list, IN_TRANS },
	{ POP3_VERB_UIDL, cmd_uidl, IN_TRANS },
	{ POP3_VERB_RETR, pop3_cmd_retr, IN_TRANS },
	{ POP3_VERB_TOP, pop3_cmd_top, IN_TRANS },
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

void
pop3_process(struct pop3_session *c)
{
	int r;

	while (!c->base.busy && pop3_open(c) && !c->job) {
		size_t max = c->auth_wait ? POP3_SASL_LINE_MAX : POP3_LINE_MAX;
		if (io_outlen(c->base.io) > POP3_OUT_HIGH) {
			/* a client that pipelines and does not read */
			c->out_wait = true;
			pop3_pause(c);
			return;
		}
		r = io_getline(c->base.io, max - 1, &c->line);
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

/* ---- the connection (session core hooks) ---- */

static void
pop3_greet(struct session *base)
{
	pop3_send((struct pop3_session *)base, "+OK tem ready");
}

static void
pop3_input(struct session *base)
{
	struct pop3_session *c = (struct pop3_session *)base;

	c->paused = false;	/* the core reads again */
	pop3_process(c);
}

static void
pop3_drained(struct session *base)
{
	struct pop3_session *c = (struct pop3_session *)base;

	if (pop3_retr_drained(c))
		return;
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
pop3_timeout(struct session *base)
{
	/* RFC 1939 3: an autologout does not enter UPDATE */
	pop3_send((struct pop3_session *)base,
	    "-ERR Autologout; idle for too long");
}

static void
pop3_shutdown(struct session *base)
{
	pop3_send((struct pop3_session *)base,
	    "-ERR [SYS/TEMP] Server shutting down");
}

static void
pop3_session_free(struct session *base)
{
	struct pop3_session *c = (struct pop3_session *)base;

	log_info("%s pop3 disconnect addr=%s user=%s commands=%u retr=%u "
	    "duration=%lds", c->base.id, c->base.ip, c->user ? c->user : "-",
	    c->ncommands, c->nretr, (long)(time(NULL) - c->base.started));
	pop3_retr_free(&c->retr);
	pop3_retr_free(&c->pre);
	pop3_release(c->base.thread, &c->mu, &c->view, c->locked);
	loop_timer_free(&c->timer);
	if (c->line.data)
		OPENSSL_cleanse(c->line.data, c->line.cap);
	buf_free(&c->line);
	free(c->user_arg);
	free(c->user);
	free(c->msgs);
	free(c);
}

static const struct session_proto pop3_proto = {
	.name = "pop3",
	.greet = pop3_greet,
	.input = pop3_input,
	.drained = pop3_drained,
	.timeout = pop3_timeout,
	.shutdown = pop3_shutdown,
	.free = pop3_session_free,
};

void
pop3_session_start(struct pop3_session *c, int fd)
{
	buf_init(&c->line, 0);
	session_start(&c->base, &pop3_proto, fd, c->base.svc == SVC_POP3S,
	    POP3_IDLE_TIMEOUT);
}
