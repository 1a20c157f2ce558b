/*
 * pop3_retr - RETR and TOP: the message streamed from its file by worker
 * jobs, and the read-ahead of the messages that follow a RETR.
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
 *
 * Trust: the message numbers were checked against the session's snapshot;
 * file contents are the user's own mail (any bytes: pop3_enc copes).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pop3/pop3_parser.h"
#include "pop3/pop3_session.h"
#include "store/mailbox.h"
#include "util/io.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/worker.h"
#include "util/xmalloc.h"

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
void
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
	pop3_job_start(c);
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

	if (!pop3_job_end(c))
		return;		/* closed meanwhile: the free drops the list */
	pop3_process(c);	/* commands waited for it */
}

/* After RETR of message n: read the messages after it ahead. */
static void
pop3_read_ahead(struct pop3_session *c, uint32_t n)
{
	struct pop3_retr **tail = &c->pre;
	uint64_t octets = 0;
	unsigned count = 0;

	if (c->pre != NULL || c->base.stopping || !pop3_open(c))
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
	pop3_job_start(c);
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
	io_write(c->base.io, r->out.data, r->out.len);
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
	now = io_outlen(c->base.io) == 0;
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

	if (!pop3_job_end(c))
		return;		/* closed meanwhile: the free drops r */
	pop3_retr_ready(c, r);
}

static void
pop3_retr_start(struct pop3_session *c, uint32_t n, bool top,
    uint32_t lines)
{
	if (pop3_msg_get(c, n) == NULL)
		return;
	c->retr = pop3_retr_new(c, n, top, lines);
	pop3_busy(c);
	pop3_retr_submit(c, c->retr);
}

void
pop3_cmd_retr(struct pop3_session *c, const struct pop3_command *cmd)
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
	c->base.busy = true;	/* input paused only if it has to wait */
	pop3_retr_ready(c, r);
}

void
pop3_cmd_top(struct pop3_session *c, const struct pop3_command *cmd)
{
	pop3_retr_start(c, cmd->msg, true, cmd->lines);
}

bool
pop3_retr_drained(struct pop3_session *c)
{
	if (c->retr == NULL || !c->retr->ready)
		return false;
	pop3_retr_write(c);
	return true;
}
