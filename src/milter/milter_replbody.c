/*
 * milter_replbody - a replaced body into a new spool (see
 * milter_replbody.h).
 *
 * Trust: the bytes are the filter's; they are bounded by the chain's
 * size_limit (a bigger body breaks the filter: default action) and only
 * their line ends are touched.
 */
#include <string.h>

#include "milter/milter_chain_int.h"
#include "milter/milter_replbody.h"
#include "msg/spool.h"
#include "util/log.h"

static void replbody_ready(void *arg);

/* Moves waiting bytes into the spool while it has room; pauses the
 * filter when it has none. */
static void
replbody_pump(struct milter_chain *ch)
{
	struct milter_conn *c = ch->f[ch->cur].conn;	/* NULL: it broke
							   after its EOM */
	struct buf *b;
	size_t room, n, old;
	bool full;

	while (ch->repl_wait.len > 0) {
		if (!msg_spool_flush(ch->newsp)) {
			if (c)
				milter_conn_pause(c, true);
			return;		/* replbody_ready goes on */
		}
		b = msg_spool_buf(ch->newsp, &room);
		n = ch->repl_wait.len < room ? ch->repl_wait.len : room;
		old = b->len;
		buf_append(b, ch->repl_wait.data, n);
		msg_spool_wrote(ch->newsp, old);
		buf_consume(&ch->repl_wait, n);
	}
	full = !msg_spool_flush(ch->newsp);
	if (c)
		milter_conn_pause(c, full);
}

/* The new spool with the header section as it stands; it ends with its
 * empty line so the spool's own header split falls at the same place. */
static bool
replbody_open(struct milter_chain *ch)
{
	struct buf *head = ch->msg->head;

	if (head->len + 2 >= MSG_HEAD_MAX)
		return false;
	if (head->len == 0 || head->data[head->len - 1] != '\n')
		buf_putc(head, '\n');
	if (head->len < 2 || head->data[head->len - 2] != '\n')
		buf_putc(head, '\n');
	ch->ans.head_changed = true;
	ch->newsp = msg_spool_new(ch->loop, ch->spool_dir, replbody_ready, ch);
	ch->repl_size = 0;
	ch->repl_cr = false;
	buf_reset(&ch->repl_wait);
	buf_append(&ch->repl_wait, head->data, head->len);
	log_info("%s milter %s replace-body", ch->logid, ch->f[ch->cur].name);
	return true;
}

bool
milter_replbody_feed(struct milter_chain *ch, const char *p, size_t n)
{
	if (ch->newsp == NULL && !replbody_open(ch))
		return false;
	ch->repl_size += n;
	if (ch->repl_size > ch->size_limit)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (ch->repl_cr) {
			ch->repl_cr = false;
			if (p[i] != '\n')
				buf_putc(&ch->repl_wait, '\r');
		}
		if (p[i] == '\r')
			ch->repl_cr = true;
		else
			buf_putc(&ch->repl_wait, p[i]);
	}
	replbody_pump(ch);
	return true;
}

/* The new spool is complete: it is the body from now on. */
static void
replbody_done(struct milter_chain *ch)
{
	const char *mem;
	size_t hlen, mlen;
	int err = msg_spool_error(ch->newsp);

	ch->eom_final = false;
	if (err != 0) {
		log_error("%s milter spool-failed error=\"%s\"", ch->logid,
		    strerror(err));
		msg_spool_free(&ch->newsp);
		milter_filter_failed(ch, ch->cur, "replaced body not stored");
		return;
	}
	msg_spool_free(&ch->bodysp);
	ch->bodysp = ch->newsp;
	ch->newsp = NULL;
	msg_spool_head(ch->bodysp, &hlen);
	ch->bfd = msg_spool_fd(ch->bodysp);
	ch->boff = hlen;
	ch->blen = msg_spool_size(ch->bodysp) - hlen;
	mem = msg_spool_mem(ch->bodysp, &mlen);
	ch->bmem = mem ? mem + hlen : NULL;
	if (ch->f[ch->cur].conn)
		milter_conn_pause(ch->f[ch->cur].conn, false);
	milter_chain_next(ch);
}

static void
replbody_ready(void *arg)
{
	struct milter_chain *ch = arg;

	if (ch->eom_final) {
		if (ch->repl_wait.len > 0) {
			replbody_pump(ch);
			if (ch->repl_wait.len > 0)
				return;
		}
		if (msg_spool_finish(ch->newsp))
			replbody_done(ch);
		return;
	}
	replbody_pump(ch);
}

void
milter_replbody_end(struct milter_chain *ch)
{
	if (ch->repl_cr) {
		buf_putc(&ch->repl_wait, '\r');
		ch->repl_cr = false;
	}
	ch->eom_final = true;
	replbody_ready(ch);
}
