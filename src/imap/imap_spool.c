/*
 * imap_spool - APPEND message literals streamed to disk as they arrive
 * (RFC 3501/9051 APPEND, RFC 3502 MULTIAPPEND): the core copies each
 * chunk the parser hands out into a buffer of SPOOL_WRITE bytes, and a
 * full buffer (or a message's last one) is written by a worker into that
 * message's spool file in the user's Maildir tmp/ (store/mailbox_spool.c:
 * CRLF to LF, sizes counted). One write runs at a time, in order; while
 * SPOOL_WAITING buffers wait for the disk the session stops taking input
 * (the socket's own 64 KiB limit then stops the client), so memory per
 * session is bounded by a few buffers whatever the message's size. The
 * command itself runs once every chunk is on disk, and only renames the
 * finished files into place (mbox_append_spool). A message's last buffer,
 * when no write is running or waiting, is kept back and written by the
 * command's own worker job (imap_spool_write_kept): a small APPEND then
 * costs one loop -> worker -> loop round trip, not two.
 *
 * Trust: the bytes come from an authenticated, untrusted client and are
 * stored unread, byte for byte except CRLF -> LF (a literal8 ~{n} is
 * stored exactly as sent, so that BINARY gives binary parts back as
 * they were: RFC 3516);
 * their size was checked by the parser against APPEND's limit before a
 * byte was read. A write error (a full disk, EIO) is logged once, the
 * file removed at once, and the rest of that message discarded: APPEND
 * then answers NO ([OVERQUOTA] for a full disk).
 *
 * Threads: the spool belongs to the session's loop; the worker touches
 * only the buffer it was given and that buffer's message. A session that
 * ends while a write runs leaves the spool to the write's completion,
 * which removes the files on a worker (never unlinks on the loop).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_client.h"
#include "imap/imap_parser.h"
#include "server/server.h"
#include "store/mailbox.h"
#include "util/array.h"
#include "util/log.h"
#include "util/worker.h"
#include "util/xmalloc.h"

#define SPOOL_WRITE	(256 * 1024)	/* bytes per write job */
#define SPOOL_WAITING	2		/* buffers queued: stop input */

struct spool_msg {
	struct mbox_spool	*ms;	/* NULL once taken by APPEND */
	uint64_t		 got;	/* bytes the client sent */
	int			 err;	/* first write error */
};

struct spool_buf {
	struct spool_msg	*m;
	char			*data;
	size_t			 len, cap;
	bool			 last;	/* the message's final bytes */
	struct spool_buf	*next;
};

struct imap_spool {
	struct imap_client	*c;	/* NULL: dropped while writing */
	struct loop		*loop;
	char			 id[17];
	struct spool_msg	**msgs;
	unsigned		 nmsgs, capmsgs;
	struct spool_buf	*fill;	/* being filled */
	struct spool_buf	*head, *tail;	/* waiting for the disk */
	unsigned		 nwait;
	struct spool_buf	*writing;	/* on a worker */
	struct spool_buf	*kept;		/* a last buffer kept back for
						   the command's job */
};

static void
spool_buf_free(struct spool_buf *b)
{
	if (b) {
		free(b->data);
		free(b);
	}
}

/* Worker: removes every file not taken and frees the spool. */
static void
spool_destroy_work(void *arg)
{
	struct imap_spool *sp = arg;

	for (unsigned i = 0; i < sp->nmsgs; i++) {
		mbox_spool_free(&sp->msgs[i]->ms);
		free(sp->msgs[i]);
	}
	free(sp->msgs);
	free(sp);
}

/* Loop: frees what waits in memory; the files go on a worker. */
static void
spool_destroy(struct imap_spool *sp)
{
	struct spool_buf *b, *next;
	bool files = false;

	spool_buf_free(sp->fill);
	spool_buf_free(sp->kept);
	sp->kept = NULL;
	for (b = sp->head; b; b = next) {
		next = b->next;
		spool_buf_free(b);
	}
	sp->fill = sp->head = sp->tail = NULL;
	for (unsigned i = 0; i < sp->nmsgs; i++)
		files = files || sp->msgs[i]->ms != NULL;
	if (files)
		worker_submit(sp->loop, spool_destroy_work, NULL, sp);
	else
		spool_destroy_work(sp);
}

static void spool_kick(struct imap_spool *sp);

/* Worker: one buffer into its message's file. */
static void
spool_write(struct imap_spool *sp, struct spool_buf *b)
{
	struct spool_msg *m = b->m;

	if (m->err)
		return;		/* the rest of a failed message */
	if (mbox_spool_write(m->ms, b->data, b->len) < 0 ||
	    (b->last && mbox_spool_finish(m->ms) < 0)) {
		m->err = errno;
		if (m->err == ENOSPC || m->err == EDQUOT)
			log_warn("%s imap append-spool-failed disk full "
			    "error=\"%s\"", sp->id, strerror(m->err));
		else
			log_error("%s imap append-spool-failed error=\"%s\"",
			    sp->id, strerror(m->err));
	}
}

static void
spool_write_work(void *arg)
{
	struct imap_spool *sp = arg;

	spool_write(sp, sp->writing);
}

void
imap_spool_write_kept(struct imap_client *c)
{
	struct imap_spool *sp = c->spool;

	if (sp == NULL || sp->kept == NULL)
		return;
	spool_write(sp, sp->kept);
	spool_buf_free(sp->kept);
	sp->kept = NULL;
}

/* Loop: the write is done; the next one, and the session may go on. */
static void
spool_write_done(void *arg)
{
	struct imap_spool *sp = arg;

	spool_buf_free(sp->writing);
	sp->writing = NULL;
	if (sp->c == NULL) {
		spool_destroy(sp);
		return;
	}
	spool_kick(sp);
	imap_client_spool_ready(sp->c);
}

static void
spool_kick(struct imap_spool *sp)
{
	struct spool_buf *b = sp->head;

	if (sp->writing || b == NULL)
		return;
	sp->head = b->next;
	if (sp->head == NULL)
		sp->tail = NULL;
	sp->nwait--;
	b->next = NULL;
	sp->writing = b;
	worker_submit(sp->loop, spool_write_work, spool_write_done, sp);
}

static void
spool_queue(struct imap_spool *sp, struct spool_buf *b)
{
	if (sp->tail)
		sp->tail->next = b;
	else
		sp->head = b;
	sp->tail = b;
	sp->nwait++;
}

static void
spool_seal(struct imap_spool *sp)
{
	struct spool_buf *b = sp->fill;

	if (b == NULL)
		return;
	sp->fill = NULL;
	if (sp->kept != NULL) {		/* more came (MULTIAPPEND): in order */
		spool_queue(sp, sp->kept);
		sp->kept = NULL;
	}
	if (b->last && sp->writing == NULL && sp->head == NULL) {
		sp->kept = b;		/* for the command's own job */
		return;
	}
	spool_queue(sp, b);
	spool_kick(sp);
}

static struct spool_msg *
spool_msg(struct imap_client *c, struct imap_spool *sp, unsigned index)
{
	while (sp->nmsgs <= index) {
		struct spool_msg *m = xcalloc(1, sizeof(*m));
		m->ms = mbox_spool_new(c->mu);
		*ARRAY_PUSH(sp->msgs, sp->nmsgs, sp->capmsgs) = m;
	}
	return sp->msgs[index];
}

void
imap_spool_chunk(struct imap_client *c, const struct imap_literal *lit)
{
	struct imap_spool *sp = c->spool;
	struct spool_msg *m;
	struct spool_buf *b;

	if (c->mu == NULL)
		return;		/* not logged in: APPEND will be refused */
	if (sp == NULL) {
		sp = c->spool = xcalloc(1, sizeof(*sp));
		sp->c = c;
		sp->loop = server_thread_loop(c->base.thread);
		memcpy(sp->id, c->base.id, sizeof(sp->id));
	}
	m = spool_msg(c, sp, lit->index);
	if (lit->literal8 && lit->offset == 0)
		mbox_spool_exact(m->ms);	/* before its first write */
	m->got += lit->len;
	if (sp->fill && (sp->fill->m != m ||
	    sp->fill->len + lit->len > sp->fill->cap))
		spool_seal(sp);
	if (sp->fill == NULL) {
		b = sp->fill = xcalloc(1, sizeof(*b));
		b->m = m;
		/* no more than the rest of the message: a 256 KiB block is
		   mapped on its own (xmalloc.h), and its munmap after every
		   small APPEND cost a TLB shoot-down on the other CPUs */
		uint64_t rest = lit->size - lit->offset;
		b->cap = rest < SPOOL_WRITE ? (size_t)rest : SPOOL_WRITE;
		if (b->cap < lit->len)
			b->cap = lit->len;
		b->data = xmalloc(b->cap);
	}
	memcpy(sp->fill->data + sp->fill->len, lit->data, lit->len);
	sp->fill->len += lit->len;
	if (lit->last) {
		sp->fill->last = true;
		spool_seal(sp);
	} else if (sp->fill->len == sp->fill->cap)
		spool_seal(sp);
}

bool
imap_spool_full(const struct imap_client *c)
{
	return c->spool && c->spool->nwait >= SPOOL_WAITING;
}

bool
imap_spool_idle(const struct imap_client *c)
{
	const struct imap_spool *sp = c->spool;

	return sp == NULL || (sp->writing == NULL && sp->head == NULL &&
	    sp->fill == NULL);
}

struct mbox_spool *
imap_spool_take(struct imap_client *c, unsigned index)
{
	struct mbox_spool *ms;

	if (c->spool == NULL || index >= c->spool->nmsgs)
		return NULL;
	ms = c->spool->msgs[index]->ms;
	c->spool->msgs[index]->ms = NULL;
	return ms;
}

uint64_t
imap_spool_size(const struct imap_client *c, unsigned index)
{
	if (c->spool == NULL || index >= c->spool->nmsgs)
		return UINT64_MAX;
	return c->spool->msgs[index]->got;
}

void
imap_spool_drop(struct imap_client *c)
{
	struct imap_spool *sp = c->spool;

	if (sp == NULL)
		return;
	c->spool = NULL;
	if (sp->writing) {
		sp->c = NULL;	/* spool_write_done finishes the job */
		spool_buf_free(sp->fill);
		sp->fill = NULL;
		return;
	}
	spool_destroy(sp);
}
