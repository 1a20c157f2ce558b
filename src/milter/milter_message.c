/*
 * milter_message - the message phase of the chain (milter_chain.h): each
 * filter in turn gets DATA, every header field, EOH, the body in chunks
 * and EOM, and its EOM answer's modifications are applied before the
 * next filter starts, so each sees the message as the ones before left
 * it (Postfix's cleanup does the same).
 *
 * Trust: modifications come from the filter; each is checked (the action
 * negotiated: milter_conn.c; header edits: msg/head_edit.c, bounded by
 * MSG_HEAD_MAX; a replaced body by the chain's size_limit). A broken
 * one makes the filter broken (default action).
 *
 * Timeouts: DATA is an SMTP-stage command (milter_command_timeout);
 * header fields, EOH, body chunks and EOM are content
 * (milter_content_timeout), as in Postfix.
 *
 * Memory: the body is read from the spool file on a worker, one chunk of
 * MILTER_READ octets in flight, and sent with CRLF line ends (<= 65535
 * octets a packet); a replaced body is converted back to LF and written
 * into a new spool (msg/spool.h) as it comes, the filter's socket paused
 * while the spool has no room. So a message of any size costs a chunk,
 * one reply packet and the spool's two buffers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "mail/rfc5322.h"
#include "milter/milter_chain_int.h"
#include "milter/milter_spam.h"
#include "msg/head_edit.h"
#include "msg/spool.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/worker.h"
#include "util/xmalloc.h"

/* LF octets read per chunk: every LF may become CRLF, and a packet's
 * body is at most MILTER_CHUNK (65535) octets. */
#define MILTER_READ	(MILTER_CHUNK / 2)
/* Recipients a message's filters may add (and delete): Postfix has no
 * limit, but an address list must have one; 1000 is ten times
 * smtp_max_recipients' default. */
#define MILTER_RCPT_MAX	1000

/* A read of the spool file on a worker; detached (ch NULL) when the
 * chain goes first. */
struct milter_body_job {
	struct milter_chain	*ch;
	int			 fd;		/* our own dup */
	uint64_t		 off;
	size_t			 want;
	char			 data[MILTER_READ];
	size_t			 got;
	int			 err;
};

static void message_send_chunk(struct milter_chain *ch, const char *p,
    size_t n);

/* Sends the body chunk p[0..n) (LF ends) with CRLF ends. */
static void
message_send_chunk(struct milter_chain *ch, const char *p, size_t n)
{
	struct milter_filter *f = &ch->f[ch->cur];
	struct buf crlf, pkt;

	buf_init(&crlf, 0);
	buf_init(&pkt, 0);
	/* a line at a time (memchr), not a byte at a time: every body
	 * byte passes here once per filter */
	for (const char *q = p, *end = p + n, *nl; q < end; q = nl + 1) {
		nl = memchr(q, '\n', (size_t)(end - q));
		if (nl == NULL) {
			buf_append(&crlf, q, (size_t)(end - q));
			break;
		}
		buf_append(&crlf, q, (size_t)(nl - q));
		buf_append(&crlf, "\r\n", 2);
	}
	milter_put_body(&pkt, crlf.data, crlf.len);
	ch->bpos += n;
	milter_send(ch, ch->cur, SMFIC_BODY, &pkt,
	    (f->proto & SMFIP_NR_BODY) ? 0 : ch->content_timeout);
	buf_free(&crlf);
	buf_free(&pkt);
	if (f->proto & SMFIP_NR_BODY)
		milter_message_step(ch);
}

static void
body_read(void *arg)
{
	struct milter_body_job *j = arg;
	ssize_t r;

	while (j->got < j->want) {
		r = pread(j->fd, j->data + j->got, j->want - j->got,
		    (off_t)(j->off + j->got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			j->err = r < 0 ? errno : EIO;	/* short: truncated */
			return;
		}
		j->got += (size_t)r;
	}
}

static void
body_read_done(void *arg)
{
	struct milter_body_job *j = arg;
	struct milter_chain *ch = j->ch;

	close(j->fd);
	if (ch == NULL) {
		free(j);
		return;
	}
	ch->job = NULL;
	if (j->err) {
		log_error("%s milter spool-read error=\"%s\"", ch->logid,
		    strerror(j->err));
		free(j);
		milter_filter_failed(ch, ch->cur, "spool read failed");
		return;
	}
	message_send_chunk(ch, j->data, j->got);
	free(j);
}

/* The next body chunk of the current filter: from memory at once, from
 * the file through a worker. */
static void
message_body_next(struct milter_chain *ch)
{
	uint64_t left = ch->blen - ch->bpos;
	size_t n = left > MILTER_READ ? MILTER_READ : (size_t)left;
	struct milter_body_job *j;

	if (ch->bfd < 0) {
		message_send_chunk(ch, ch->bmem + ch->bpos, n);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->ch = ch;
	j->fd = dup(ch->bfd);
	if (j->fd < 0) {
		free(j);
		milter_filter_failed(ch, ch->cur, "spool read failed");
		return;
	}
	j->off = ch->boff + ch->bpos;
	j->want = n;
	ch->job = j;
	worker_submit(ch->loop, body_read, body_read_done, j);
}

/* Sends the next header field of the current filter; false at the end
 * of the header section. */
static bool
message_header_next(struct milter_chain *ch, struct milter_filter *f)
{
	struct rfc5322_iter it;
	struct rfc5322_field fl;
	struct buf pkt;
	char *name, *value;
	const char *v;
	size_t vl;

	rfc5322_iter_init(&it, ch->msg->head->data, ch->msg->head->len);
	it.pos = ch->hpos;
	do {		/* tem's own Received field is not shown */
		if (rfc5322_iter_next(&it, &fl) != 1)
			return false;
	} while ((int)ch->hfield++ == ch->own_at);
	ch->hpos = it.pos;
	v = fl.value;
	vl = fl.value_len;
	/* the value as sendmail gives it: without the space after the
	 * colon, unless the filter wants it (HDR_LEADSPC) */
	if (!(f->proto & SMFIP_HDR_LEADSPC) && vl > 0 && v[0] == ' ')
		v++, vl--;
	name = xstrndup(fl.name, fl.name_len);
	value = xstrndup(v, vl);
	buf_init(&pkt, 0);
	milter_put_header(&pkt, name, value);
	milter_send(ch, ch->cur, SMFIC_HEADER, &pkt,
	    (f->proto & SMFIP_NR_HDR) ? 0 : ch->content_timeout);
	buf_free(&pkt);
	free(name);
	free(value);
	return true;
}

/* Every filter had its say: the answer. */
static void
message_finish(struct milter_chain *ch)
{
	/* a spam mark the filters added (rspamd's "X-Spam: Yes" for "add
	 * header") files the message into Junk like a quarantine; one the
	 * sender wrote counts once before and after, so it changes nothing */
	if (!ch->discard && !ch->quarantine && ch->ans.head_changed &&
	    milter_spam_marks(ch->msg->head->data, ch->msg->head->len) >
	    ch->spam_marks) {
		ch->quarantine = true;
		ch->ans.spam_mark = true;
	}
	if (ch->discard)
		ch->ans.action = MSG_DISCARD;
	else if (ch->quarantine)
		ch->ans.action = MSG_QUARANTINE;
	else
		ch->ans.action = MSG_ACCEPT;
	ch->ans.new_body = ch->bodysp;
	ch->bodysp = NULL;
	milter_settle(ch);
}

/* Sends the simple packet cmd to the current filter; true when a reply
 * is awaited. */
static bool
message_simple(struct milter_chain *ch, char cmd, uint32_t nr,
    unsigned timeout)
{
	struct milter_filter *f = &ch->f[ch->cur];
	struct buf pkt;

	buf_init(&pkt, 0);
	milter_put_simple(&pkt, cmd);
	milter_send(ch, ch->cur, cmd, &pkt, (f->proto & nr) ? 0 : timeout);
	buf_free(&pkt);
	return !(f->proto & nr);
}

void
milter_message_step(struct milter_chain *ch)
{
	for (;;) {
		struct milter_filter *f;

		if (ch->cur >= ch->n) {
			message_finish(ch);
			return;
		}
		f = &ch->f[ch->cur];
		if (f->st == MF_CONNECTING)
			return;		/* resumed by its negotiation */
		if (f->st == MF_FAILED && milter_default_answer(ch)) {
			milter_settle(ch);
			return;
		}
		if (f->st != MF_READY || f->tx_off) {
			ch->cur++;
			ch->mstep = MS_DATA;
			continue;
		}
		switch (ch->mstep) {
		case MS_DATA:
			ch->mstep = MS_HEADERS;
			ch->hpos = 0;
			ch->hfield = 0;
			ch->bpos = 0;
			ch->eom_sent = false;
			f->in_tx = true;
			if (!(f->proto & SMFIP_NODATA) && !ch->data_done &&
			    message_simple(ch,
			    SMFIC_DATA, SMFIP_NR_DATA, ch->command_timeout))
				return;
			break;
		case MS_HEADERS:
			if ((f->proto & SMFIP_NOHDRS) ||
			    !message_header_next(ch, f)) {
				ch->mstep = MS_EOH;
				break;
			}
			if (!(f->proto & SMFIP_NR_HDR))
				return;
			break;
		case MS_EOH:
			ch->mstep = MS_BODY;
			if (!(f->proto & SMFIP_NOEOH) && message_simple(ch,
			    SMFIC_EOH, SMFIP_NR_EOH, ch->content_timeout))
				return;
			break;
		case MS_BODY:
			if ((f->proto & SMFIP_NOBODY) || f->skip_body ||
			    ch->bpos >= ch->blen) {
				ch->mstep = MS_EOM;
				break;
			}
			message_body_next(ch);	/* goes on by itself */
			return;
		case MS_EOM:
			ch->eom_sent = true;
			message_simple(ch, SMFIC_BODYEOB, 0,
			    ch->content_timeout);
			return;
		}
	}
}

void
milter_message_clear(struct milter_chain *ch)
{
	if (ch->job) {
		ch->job->ch = NULL;	/* its done() frees it */
		ch->job = NULL;
	}
	msg_spool_free(&ch->newsp);
	buf_reset(&ch->repl_wait);
	ch->repl_cr = false;
	ch->eom_final = false;
}

void
milter_tx_clear(struct milter_chain *ch)
{
	milter_message_clear(ch);
	msg_spool_free(&ch->bodysp);
	ch->discard = false;
	ch->data_done = false;
	ch->quarantine = false;
	ch->msg = NULL;
	for (unsigned i = 0; i < ch->n; i++) {
		ch->f[i].tx_off = false;
		ch->f[i].skip_body = false;
		ch->f[i].in_tx = false;
	}
}

#include "milter/milter_replbody.h"

/* A recipient to add or delete, kept for the protocol (which routes
 * them) and logged. At most MILTER_RCPT_MAX per message. */
static bool
message_rcpt(struct milter_chain *ch, struct milter_filter *f,
    const char *what, char ***v, unsigned *n, const char *addr)
{
	if (*n >= MILTER_RCPT_MAX)
		return false;
	*v = xrealloc(*v, (*n + 1) * sizeof(char *));
	(*v)[(*n)++] = xstrdup(addr);
	log_info("%s milter %s %s rcpt=%.300s", ch->logid, f->name, what,
	    addr);
	return true;
}

/* The index head_edit needs for a CHGHEADER of the index-th field named
 * name (1-based, 0 counting as 1) as the filter counts it: without tem's
 * own Received field, which it never saw (Postfix's SKIP_ONE_HEADER).
 * *above: the field is above ours (deleting it moves ours up). */
static unsigned
message_change_index(struct milter_chain *ch, const char *name,
    unsigned index, bool *above)
{
	struct rfc5322_iter it;
	struct rfc5322_field fl;
	size_t nl = strlen(name);
	unsigned same = 0, seen = 0;

	if (index == 0)
		index = 1;
	if (ch->own_at < 0)
		return index;
	rfc5322_iter_init(&it, ch->msg->head->data, ch->msg->head->len);
	for (int pos = 0; rfc5322_iter_next(&it, &fl) == 1; pos++) {
		if (fl.name_len != nl || strncasecmp(fl.name, name, nl) != 0)
			continue;
		same++;
		if (pos == ch->own_at || ++seen < index)
			continue;
		*above = pos < ch->own_at;
		return same;
	}
	return same + 1;	/* no such field: head_edit appends or not */
}

/* A modification of the current filter's EOM answer; false when it
 * broke the filter. */
static bool
message_modify(struct milter_chain *ch, struct milter_filter *f,
    const struct milter_reply *r)
{
	struct milter_answer *a = &ch->ans;
	bool lead = (f->proto & SMFIP_HDR_LEADSPC) != 0, above = false;
	unsigned index;
	int rc = 0;

	switch (r->code) {
	case SMFIR_ADDHEADER:
		rc = head_edit_apply(ch->msg->head, HEAD_EDIT_ADD, 0, r->str1,
		    r->str2, lead, MSG_HEAD_MAX - 2);
		break;
	case SMFIR_INSHEADER:	/* the index counts our own field */
		rc = head_edit_apply(ch->msg->head, HEAD_EDIT_INSERT, r->index,
		    r->str1, r->str2, lead, MSG_HEAD_MAX - 2);
		if (rc == 0 && (int64_t)r->index <= ch->own_at)
			ch->own_at++;
		break;
	case SMFIR_CHGHEADER:
		index = message_change_index(ch, r->str1, r->index, &above);
		rc = head_edit_apply(ch->msg->head, HEAD_EDIT_CHANGE, index,
		    r->str1, r->str2 ? r->str2 : "", lead, MSG_HEAD_MAX - 2);
		if (rc == 0 && above && (r->str2 == NULL || !r->str2[0]))
			ch->own_at--;	/* a field above ours deleted */
		break;
	case SMFIR_ADDRCPT:
	case SMFIR_ADDRCPT_PAR:
		return message_rcpt(ch, f, "add-rcpt", &a->rcpt_add,
		    &a->nrcpt_add, r->str1);
	case SMFIR_DELRCPT:
		return message_rcpt(ch, f, "del-rcpt", &a->rcpt_del,
		    &a->nrcpt_del, r->str1);
	case SMFIR_CHGFROM:
		free(a->new_from);
		a->new_from = xstrdup(r->str1);
		log_info("%s milter %s change-sender from=%.300s", ch->logid,
		    f->name, r->str1);
		return true;
	case SMFIR_QUARANTINE:
		ch->quarantine = true;
		buf_reset(&a->reason);
		buf_puts(&a->reason, r->str1);
		log_info("%s milter %s quarantine reason=\"%.200s\"",
		    ch->logid, f->name, r->str1);
		return true;
	case SMFIR_REPLBODY:
		return milter_replbody_feed(ch, r->data, r->len);
	default:
		return false;
	}
	if (rc < 0)
		return false;
	a->head_changed = true;
	return true;
}

/* The EOM's final answer of the current filter. */
static void
message_eom_final(struct milter_chain *ch, struct milter_filter *f,
    const struct milter_reply *r)
{
	f->in_tx = false;	/* its transaction ended with EOM */
	switch (r->code) {
	case SMFIR_REJECT:
	case SMFIR_TEMPFAIL:
	case SMFIR_REPLYCODE:
	case SMFIR_CONN_FAIL:
		milter_refuse(ch, r);
		return;
	case SMFIR_DISCARD:
		log_info("%s milter %s discard stage=eom", ch->logid, f->name);
		ch->discard = true;
		message_finish(ch);
		return;
	case SMFIR_SHUTDOWN:
		f->st = MF_OFF;
		break;
	default:		/* accept, continue */
		break;
	}
	if (ch->newsp) {	/* a replaced body: finished, then on */
		milter_replbody_end(ch);
		return;
	}
	milter_chain_next(ch);
}

void
milter_message_reply(struct milter_chain *ch, const struct milter_reply *r)
{
	struct milter_filter *f = &ch->f[ch->cur];

	if (!milter_reply_final(r->code)) {
		if (!ch->eom_sent) {
			milter_filter_failed(ch, f->idx,
			    "modification before the end of the message");
			return;
		}
		if (!message_modify(ch, f, r))
			milter_filter_failed(ch, f->idx,
			    milter_reply_name(r->code));
		return;
	}
	if (ch->eom_sent) {
		message_eom_final(ch, f, r);
		return;
	}
	switch (r->code) {
	case SMFIR_CONTINUE:
		break;
	case SMFIR_SKIP:	/* no more body for this filter */
		if (!(f->proto & SMFIP_SKIP) || ch->mstep != MS_BODY) {
			milter_filter_failed(ch, f->idx, "skip not negotiated");
			return;
		}
		f->skip_body = true;
		break;
	case SMFIR_ACCEPT:	/* this filter lets the message pass */
		f->tx_off = true;
		f->in_tx = false;
		milter_chain_next(ch);
		return;
	case SMFIR_SHUTDOWN:
		f->st = MF_OFF;
		milter_chain_next(ch);
		return;
	case SMFIR_DISCARD:
		log_info("%s milter %s discard stage=%s", ch->logid, f->name,
		    milter_cmd_name(ch->cmd));
		ch->discard = true;
		message_finish(ch);
		return;
	default:		/* reject, tempfail, replycode, conn_fail */
		milter_refuse(ch, r);
		return;
	}
	milter_message_step(ch);
}

void
milter_chain_message(struct milter_chain *ch, struct milter_msg *m,
    milter_done_fn *done, void *arg)
{
	TEM_ASSERT(ch->op == MOP_NONE);
	ch->op = MOP_MESSAGE;
	ch->cmd = SMFIC_BODYEOB;
	ch->cur = 0;
	ch->mstep = MS_DATA;
	ch->done = done;
	ch->arg = arg;
	ch->msg = m;
	ch->own_at = m->own_first ? 0 : -1;
	ch->spam_marks = milter_spam_marks(m->head->data, m->head->len);
	ch->bfd = m->fd;
	ch->boff = m->off;
	ch->blen = m->len;
	ch->bmem = m->mem;
	if (ch->discard) {	/* said at MAIL or RCPT */
		message_finish(ch);
		return;
	}
	milter_message_step(ch);
}
