/*
 * mta_body - the message body of an outbound transaction: encoded with
 * mta_data.c piece by piece, from memory or from the queue file read
 * MTA_CHUNK bytes at a time on the worker pool (the delivery engine's
 * loop never waits for the disk), one piece in flight and the next read
 * only when the socket has taken the last one. Memory per session is
 * the read buffer and one encoded piece, whatever the message's size.
 *
 * Trust: the bytes are stored mail (from anyone) going to a remote
 * server; mta_data.c keeps the end marker unique. A read error or a
 * file cut short ends the connection without the end marker, so the
 * peer never takes part of a message for the whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mta/mta_7bit.h"
#include "mta/mta_session_int.h"
#include "queue/queue.h"
#include "util/buf.h"
#include "util/io.h"
#include "util/log.h"
#include "util/worker.h"
#include "util/xmalloc.h"

/* The body read from a file: one read at a time on a worker, into a
   buffer of MTA_CHUNK bytes that lives as long as the body is sent. The
   reader owns a duplicate of the caller's descriptor, so a read still
   running after the session is gone (s == NULL: orphaned) touches
   nothing but the reader, which it then frees. */
struct mta_reader {
	struct mta_session	*s;
	struct queue_content	 qc;	/* the message's, with our own fd */
	uint64_t		 pos;	/* content offset of the next read */
	size_t			 left;	/* content bytes not yet read */
	char			*buf;
	size_t			 n;	/* bytes of the read in progress */
	int			 err;	/* its errno, 0 */
	bool			 busy;	/* a read is on a worker */
};

static void
mta_reader_free(struct mta_reader *r)
{
	queue_content_close(&r->qc);
	free(r->buf);
	free(r);
}

void
mta_body_stop(struct mta_session *s)
{
	struct mta_reader *r = s->reader;

	if (s->down != NULL) {
		mta_7bit_free(s->down);
		free(s->down);
		s->down = NULL;
		buf_free(&s->down_out);
	}
	if (r == NULL)
		return;
	s->reader = NULL;
	if (r->busy)
		r->s = NULL;
	else
		mta_reader_free(r);
}

/* Worker thread: the next piece (a file cut short is EIO). */
static void
mta_read_work(void *arg)
{
	struct mta_reader *r = arg;

	r->err = queue_content_read(&r->qc, r->pos, r->buf, r->n) < 0 ?
	    errno : 0;
}

static void mta_body_write(struct mta_session *s, const char *p, size_t n,
    bool last);

/* The body cannot be sent whole: the accepted recipients get result
   and text, and the connection ends without the end marker, so the peer
   never takes the part already sent for the whole. */
static void
mta_body_abort(struct mta_session *s, int result, const char *text,
    const char *why)
{
	struct mta_msg *m = mta_cur(s);

	for (int i = 0; i < m->nrcpt; i++)
		if (s->rcpt_ok[i])
			mta_set_result(m, i, result, text);
	s->naccepted = 0;
	mta_body_stop(s);
	s->in_body = false;
	mta_finish(s, MTA_OK, why);
}

/* Loop: the piece is read; encode and send it. */
static void
mta_read_done(void *arg)
{
	struct mta_reader *r = arg;
	struct mta_session *s = r->s;
	char *t;

	r->busy = false;
	if (s == NULL) {
		mta_reader_free(r);
		return;
	}
	if (r->err) {
		/* The peer has part of the message and must not take it as
		   whole: close without the end marker (RFC 5321 6.1: the
		   recipients are tried again). */
		t = xasprintf("local read error while sending the message "
		    "body: %s", strerror(r->err));
		log_error("%s mta read-failed error=\"%s\"", s->id,
		    strerror(r->err));
		mta_body_abort(s, MTA_RCPT_TEMP, t, "local read error");
		free(t);
		return;
	}
	r->pos += r->n;
	r->left -= r->n;
	mta_body_write(s, r->buf, r->n, r->left == 0);
}

/* A message that cannot be converted to 7-bit fails (5.6.3). */
static void
mta_body_unconvertible(struct mta_session *s, const char *why)
{
	char *t = xasprintf("%s (host %s offers no 8BITMIME)", why,
	    s->host_label);

	log_info("%s mta downgrade-failed host=%s", s->id, s->host_label);
	mta_body_abort(s, MTA_RCPT_PERM, t, "8-bit message not convertible");
	free(t);
}

/* Encodes and writes one piece of the body; after the last, the end
   marker too, then waits for the final reply under data_timeout. */
static void
mta_body_write(struct mta_session *s, const char *p, size_t n, bool last)
{
	if (s->io == NULL)
		return;
	buf_reset(&s->out);
	if (s->down != NULL) {
		buf_reset(&s->down_out);
		if (mta_7bit_feed(s->down, p, n, &s->down_out) < 0 ||
		    (last && mta_7bit_end(s->down, &s->down_out) < 0)) {
			mta_body_unconvertible(s, s->down->error);
			return;
		}
		p = s->down_out.data;
		n = s->down_out.len;
	}
	mta_data_feed(&s->data, p, n, &s->out);
	if (last)
		mta_data_end(&s->data, &s->out);
	io_write(s->io, s->out.data, s->out.len);
	if (s->out.cap > 4 * MTA_CHUNK)
		buf_free(&s->out);
	if (last) {
		s->in_body = false;
		mta_body_stop(s);
		mta_timeout(s, s->p.data_timeout);
	} else
		mta_timeout(s, s->p.command_timeout);
}

/* Writes the next chunk of content (called at the start of the body and
   whenever the output has drained). */
void
mta_send_body(struct mta_session *s)
{
	struct mta_msg *m = mta_cur(s);
	struct mta_reader *r = s->reader;
	size_t n;

	if (!s->in_body || s->io == NULL)
		return;
	if (m->content) {
		n = m->len - s->data.off > MTA_CHUNK ? MTA_CHUNK :
		    m->len - s->data.off;
		mta_body_write(s, m->content + s->data.off, n,
		    s->data.off + n == m->len);
		s->data.off += n;
		return;
	}
	if (r == NULL || r->busy)
		return;
	if (r->left == 0) {
		mta_body_write(s, "", 0, true);
		return;
	}
	r->n = r->left > MTA_CHUNK ? MTA_CHUNK : r->left;
	r->busy = true;
	worker_submit(s->loop, mta_read_work, mta_read_done, r);
	mta_timeout(s, s->p.command_timeout);
}

/* Starts the body of message m: from memory, or from its file through a
   reader. false when the file cannot be used (the message is then
   refused for now). */
bool
mta_body_start(struct mta_session *s, struct mta_msg *m)
{
	struct mta_reader *r;
	int fd;

	mta_data_start(&s->data);
	if (m->eightbit && !(s->caps.flags & SMTP_CAP_8BITMIME)) {
		s->down = xmalloc(sizeof(*s->down));
		mta_7bit_start(s->down);
		buf_init(&s->down_out, 0);
	}
	if (m->content)
		return true;
	fd = fcntl(m->file->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return false;
	r = xcalloc(1, sizeof(*r));
	r->s = s;
	r->qc = *m->file;
	r->qc.fd = fd;
	r->left = m->file->len;
	r->buf = xmalloc(MTA_CHUNK);
	s->reader = r;
	return true;
}
