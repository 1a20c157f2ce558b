/*
 * commit - the pipeline's commit stage (see commit.h): Maildir copies and
 * the queue file of one message, from a memory prefix and a spool range.
 *
 * Trust: routed recipients and accepted content from the caller; the
 * only decisions here are which error wins and what gets logged.
 *
 * Why the queue file is a streamed copy and not a rename of the spool:
 * a queue file starts with its envelope record and holds the content as
 * one CRC'd record (queue_record.c), which the delivery engine and `tem
 * queue` read. The spool is written before the headers tem adds are
 * known (Authentication-Results, DKIM-Signature), so renaming it would
 * need a new file format with the content behind a gap; the copy is one
 * sequential pass on the committer thread through a fixed buffer, with
 * the CRC computed on the way, and keeps every reader of the queue as it
 * is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth/resolve.h"
#include "msg/commit.h"
#include "queue/queue.h"
#include "store/maildir.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xmalloc.h"

struct msg_commit {
	char			 logid[17];
	char			 msgid[17];
	char			*sender;
	struct maildir_job	 job;
	struct queue_new	 qn;
	struct buf		 front;
	int			 fd;
	uint64_t		 off, flen;
	int			 pending;	/* sinks not answered yet */
	int			 error;
	struct loop		*origin;
	void			(*done)(struct msg_commit *, int, void *);
	void			*arg;
};

struct msg_commit *
msg_commit_new(const char *logid, const char *msgid, const char *sender)
{
	struct msg_commit *c = xcalloc(1, sizeof(*c));

	snprintf(c->logid, sizeof(c->logid), "%s", logid);
	snprintf(c->msgid, sizeof(c->msgid), "%s", msgid);
	c->sender = xstrdup(sender);
	c->fd = -1;
	buf_init(&c->front, 0);
	return c;
}

void
msg_commit_free(struct msg_commit **cp)
{
	struct msg_commit *c = *cp;

	if (c == NULL)
		return;
	maildir_job_clear(&c->job);
	for (int i = 0; i < c->qn.msg.nrcpt; i++) {
		free(c->qn.msg.rcpts[i].address);
		free(c->qn.msg.rcpts[i].orcpt);
	}
	free(c->qn.msg.rcpts);
	free(c->qn.msg.envid);
	free(c->sender);
	buf_free(&c->front);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	*cp = NULL;
}

void
msg_commit_local(struct msg_commit *c, const char *maildir,
    const char *address)
{
	struct maildir_job *job = &c->job;
	struct maildir_rcpt *r;

	for (int i = 0; i < job->nrcpt; i++)
		if (strcmp(job->rcpts[i].maildir, maildir) == 0)
			return;
	job->rcpts = xrealloc(job->rcpts,
	    (size_t)(job->nrcpt + 1) * sizeof(*job->rcpts));
	r = &job->rcpts[job->nrcpt++];
	memset(r, 0, sizeof(*r));
	r->maildir = xstrdup(maildir);
	r->prefix = xasprintf("Return-Path: <%s>\nDelivered-To: %s\n",
	    c->sender, address);
	r->prefix_len = strlen(r->prefix);
	r->label = xstrdup(address);
}

void
msg_commit_remote(struct msg_commit *c, const char *address,
    const char *orcpt, unsigned notify)
{
	struct queue_msg *m = &c->qn.msg;
	struct queue_rcpt *r;

	for (int i = 0; i < m->nrcpt; i++)
		if (strcasecmp(m->rcpts[i].address, address) == 0)
			return;
	m->rcpts = xrealloc(m->rcpts, (size_t)(m->nrcpt + 1) * sizeof(*r));
	r = &m->rcpts[m->nrcpt++];
	memset(r, 0, sizeof(*r));
	r->address = xstrdup(address);
	r->orcpt = orcpt ? xstrdup(orcpt) : NULL;
	r->notify = notify;
}

void
msg_commit_route(struct msg_commit *c, const char *data_dir,
    const struct acct_resolution *res, const char *orcpt, unsigned notify,
    bool junk)
{
	char *dir;

	for (int j = 0; j < res->n; j++) {
		const struct acct_target *t = &res->t[j];

		if (t->kind != ACCT_TARGET_LOCAL) {
			msg_commit_remote(c, t->address, orcpt, notify);
			continue;
		}
		dir = xasprintf("%s/mail/%s/%s%s", data_dir, t->domain,
		    t->localpart, junk ? "/.Junk" : "");
		msg_commit_local(c, dir, t->address);
		free(dir);
	}
}

void
msg_commit_envelope(struct msg_commit *c, const char *envid, int ret,
    bool smtputf8, bool eightbit)
{
	free(c->qn.msg.envid);
	c->qn.msg.envid = envid ? xstrdup(envid) : NULL;
	c->qn.msg.ret = ret;
	c->qn.msg.smtputf8 = smtputf8;
	c->qn.msg.eightbit = eightbit;
}

int
msg_commit_nlocal(const struct msg_commit *c)
{
	return c->job.nrcpt;
}

int
msg_commit_nremote(const struct msg_commit *c)
{
	return c->qn.msg.nrcpt;
}

uint64_t
msg_commit_size(const struct msg_commit *c)
{
	return c->front.len + c->flen;
}

/* The error the client hears: a full disk wins (452: come back later, the
 * admin has to make room), then any other. */
static void
commit_error(struct msg_commit *c, int error)
{
	if (error == 0)
		return;
	if (c->error == 0 || error == ENOSPC || error == EDQUOT)
		c->error = error;
}

static void
commit_settle(struct msg_commit *c)
{
	if (--c->pending > 0)
		return;
	c->done(c, c->error, c->arg);
}

static void
commit_stored(struct maildir_job *job)
{
	struct msg_commit *c = job->arg;

	for (int i = 0; i < job->nrcpt; i++) {
		struct maildir_rcpt *r = &job->rcpts[i];

		if (r->result) {
			commit_error(c, r->result);
			log_error("%s msg store-failed msgid=%s from=<%s> "
			    "mailbox=%s error=\"%s\"", c->logid, c->msgid,
			    c->sender, r->maildir, strerror(r->result));
		} else
			log_info("%s smtp delivered msgid=%s from=<%s> "
			    "to=<%s> size=%llu file=%s", c->logid, c->msgid,
			    c->sender, r->label,
			    (unsigned long long)msg_commit_size(c),
			    r->filename);
	}
	commit_settle(c);
}

static void
commit_queued(struct queue_new *qn, int error, void *arg)
{
	struct msg_commit *c = arg;

	if (error) {
		commit_error(c, error);
		log_error("%s msg queue-failed msgid=%s from=<%s> error=\"%s\"",
		    c->logid, c->msgid, c->sender, strerror(error));
	} else
		for (int i = 0; i < qn->msg.nrcpt; i++)
			log_info("%s smtp queued msgid=%s queue=%s from=<%s> "
			    "to=<%s> size=%llu", c->logid, c->msgid,
			    qn->msg.id, c->sender, qn->msg.rcpts[i].address,
			    (unsigned long long)msg_commit_size(c));
	commit_settle(c);
}

static void
commit_nothing(void *arg)
{
	commit_settle(arg);
}

void
msg_commit_start(struct msg_commit *c, struct buf *front, int fd,
    uint64_t off, uint64_t flen, struct loop *origin,
    void (*done)(struct msg_commit *c, int error, void *arg), void *arg)
{
	c->front = *front;
	buf_init(front, front->max);
	if (flen > 0 && (c->fd = dup(fd)) < 0) {
		commit_error(c, errno);
		flen = 0;
	}
	c->off = off;
	c->flen = flen;
	c->origin = origin;
	c->done = done;
	c->arg = arg;
	c->pending = (c->job.nrcpt > 0) + (c->qn.msg.nrcpt > 0);
	if (c->pending == 0 || c->error != 0) {
		/* aliases that lead nowhere, or no descriptor left */
		c->pending = 1;
		loop_post(origin, commit_nothing, c);
		return;
	}
	if (c->job.nrcpt > 0) {
		c->job.body = c->front.data;
		c->job.body_len = c->front.len;
		c->job.body_fd = c->fd;
		c->job.body_file_off = off;
		c->job.body_file_len = flen;
		c->job.origin = origin;
		c->job.done = commit_stored;
		c->job.arg = c;
		maildir_submit(&c->job);
	}
	if (c->qn.msg.nrcpt > 0) {
		c->qn.msg.sender = c->sender;
		c->qn.content = c->front.data ? c->front.data : "";
		c->qn.content_len = c->front.len;
		c->qn.content_fd = c->fd;
		c->qn.content_file_off = off;
		c->qn.content_file_len = flen;
		queue_submit(&c->qn, origin, commit_queued, c);
	}
}
