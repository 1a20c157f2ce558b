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
#include "msg/deliver_pg.h"
#include "queue/queue.h"
#include "store/maildir.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xmalloc.h"
#include "util/metrics_list.h"

/* A copy that does not share the main job or queue file (commit.h). */
struct commit_extra {
	struct msg_commit	*c;
	struct maildir_job	 job;		/* a notice */
	char			*msg;
	struct queue_new	 qn;		/* a forward */
	char			*prefix, *head;
	size_t			 hlen;
	bool			 own_head;
	struct buf		 content;
};

struct msg_commit {
	char			 logid[17];
	char			 msgid[17];
	char			*sender;
	const char		*module;	/* of the result lines */
	struct maildir_job	 job;
	struct queue_new	 qn;
	struct buf		 front;
	int			 fd;
	uint64_t		 off, flen;
	int			 pending;	/* sinks not answered yet */
	bool			 started;
	size_t			 head_len;	/* of front: the shared header */
	struct commit_extra	**extras;
	int			 nextra;
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
	c->module = "smtp";
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
	for (int i = 0; i < c->nextra; i++) {
		struct commit_extra *x = c->extras[i];
		maildir_job_clear(&x->job);
		if (x->qn.msg.nrcpt > 0)
			free(x->qn.msg.rcpts[0].address);
		free(x->qn.msg.rcpts);
		free(x->qn.msg.sender);
		free(x->msg);
		free(x->prefix);
		free(x->head);
		buf_free(&x->content);
		free(x);
	}
	free(c->extras);
	free(c->sender);
	buf_free(&c->front);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	*cp = NULL;
}

/* A new rcpt of job into maildir, or NULL when it has one there. */
static struct maildir_rcpt *
job_rcpt(struct maildir_job *job, const char *maildir, const char *address)
{
	struct maildir_rcpt *r;

	for (int i = 0; i < job->nrcpt; i++)
		if (strcmp(job->rcpts[i].maildir, maildir) == 0)
			return NULL;
	job->rcpts = xrealloc(job->rcpts,
	    (size_t)(job->nrcpt + 1) * sizeof(*job->rcpts));
	r = &job->rcpts[job->nrcpt++];
	memset(r, 0, sizeof(*r));
	r->maildir = xstrdup(maildir);
	r->label = xstrdup(address);
	return r;
}

void
msg_commit_local(struct msg_commit *c, const char *maildir,
    const char *address)
{
	msg_commit_local_copy(c, maildir, address, NULL, 0, NULL);
}

void
msg_commit_log_as(struct msg_commit *c, const char *module)
{
	c->module = module;
}

void
msg_commit_head_len(struct msg_commit *c, size_t head_len)
{
	c->head_len = head_len;
}

void
msg_commit_local_copy(struct msg_commit *c, const char *maildir,
    const char *address, const char *head, size_t hlen, const char *info)
{
	struct maildir_rcpt *r = job_rcpt(&c->job, maildir, address);
	struct buf b;

	if (r == NULL)
		return;
	buf_init(&b, 0);
	buf_printf(&b, "Return-Path: <%s>\nDelivered-To: %s\n", c->sender,
	    address);
	if (head != NULL) {
		buf_append(&b, head, hlen);
		r->body_skip = c->head_len;
	}
	r->prefix = buf_steal(&b, &r->prefix_len);
	r->info = info && *info ? xstrdup(info) : NULL;
}

static struct commit_extra *
commit_extra_new(struct msg_commit *c)
{
	struct commit_extra *x = xcalloc(1, sizeof(*x));

	x->c = c;
	buf_init(&x->content, 0);
	c->extras = xrealloc(c->extras,
	    (size_t)(c->nextra + 1) * sizeof(*c->extras));
	c->extras[c->nextra++] = x;
	return x;
}

void
msg_commit_forward(struct msg_commit *c, const char *sender,
    const char *rcpt, const char *prefix, const char *head, size_t hlen)
{
	struct commit_extra *x = commit_extra_new(c);

	x->qn.msg.sender = xstrdup(sender);
	x->qn.msg.rcpts = xcalloc(1, sizeof(*x->qn.msg.rcpts));
	x->qn.msg.rcpts[0].address = xstrdup(rcpt);
	x->qn.msg.nrcpt = 1;
	x->prefix = xstrdup(prefix ? prefix : "");
	if (head != NULL) {
		x->head = xmalloc(hlen + 1);
		memcpy(x->head, head, hlen);
		x->hlen = hlen;
		x->own_head = true;
	}
}

void
msg_commit_notice(struct msg_commit *c, const char *maildir,
    const char *address, char *msg, size_t len)
{
	struct commit_extra *x = commit_extra_new(c);
	struct maildir_rcpt *r = job_rcpt(&x->job, maildir, address);

	r->prefix = xasprintf("Return-Path: <>\nDelivered-To: %s\n",
	    address);
	r->prefix_len = strlen(r->prefix);
	x->msg = msg;
	x->job.body = msg;
	x->job.body_len = len;
	x->job.body_fd = -1;
}

void
msg_commit_hold(struct msg_commit *c)
{
	TEM_ASSERT(!c->started);
	c->pending++;
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

void
msg_commit_tls(struct msg_commit *c, bool requiretls, bool tls_optional)
{
	c->qn.msg.requiretls = requiretls;
	c->qn.msg.tls_optional = tls_optional;
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
			/* the database's own words when it has them */
			commit_error(c, r->result);
			log_error("%s msg store-failed msgid=%s from=<%s> "
			    "mailbox=%s error=\"%s\"", c->logid, c->msgid,
			    c->sender, r->maildir, r->filename ? r->filename :
			    strerror(r->result));
		} else {
			/* a folder other than INBOX: Junk, or Sieve's */
			const char *f = strrchr(r->maildir, '/');
			f = f && f[1] == '.' ? f + 1 : NULL;
			log_info("%s %s delivered msgid=%s from=<%s> "
			    "to=<%s> size=%llu file=%s%s%s%s%s", c->logid,
			    c->module, c->msgid, c->sender, r->label,
			    (unsigned long long)msg_commit_size(c),
			    r->filename, f ? " folder=" : "", f ? f : "",
			    r->info ? " info=" : "", r->info ? r->info : "");
			METRIC_INC(M_MSG_DELIVERED, MD_LOCAL);
		}
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
			log_info("%s %s queued msgid=%s queue=%s from=<%s> "
			    "to=<%s> size=%llu", c->logid, c->module, c->msgid,
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
msg_commit_release(struct msg_commit *c)
{
	if (c->started)
		commit_settle(c);
	else
		c->pending--;
}

static void
extra_stored(struct maildir_job *job)
{
	struct commit_extra *x = job->arg;
	struct maildir_rcpt *r = &job->rcpts[0];

	if (r->result)
		log_error("%s msg notice-failed msgid=%s mailbox=%s "
		    "error=\"%s\"", x->c->logid, x->c->msgid, r->maildir,
		    r->filename ? r->filename : strerror(r->result));
	else
		log_info("%s msg notice-delivered msgid=%s to=<%s> file=%s",
		    x->c->logid, x->c->msgid, r->label, r->filename);
	commit_settle(x->c);
}

static void
extra_queued(struct queue_new *qn, int error, void *arg)
{
	struct commit_extra *x = arg;
	struct msg_commit *c = x->c;

	if (error) {
		commit_error(c, error);
		log_error("%s msg redirect-failed msgid=%s to=<%s> "
		    "error=\"%s\"", c->logid, c->msgid,
		    qn->msg.rcpts[0].address, strerror(error));
	} else
		log_info("%s %s redirected msgid=%s queue=%s from=<%s> "
		    "to=<%s>", c->logid, c->module, c->msgid, qn->msg.id,
		    qn->msg.sender, qn->msg.rcpts[0].address);
	commit_settle(c);
}

/* The mailbox copies go to the Maildir committer, or to PostgreSQL
 * (msg/deliver_pg.h: same contract, same copy paths). */
static void
local_submit(struct maildir_job *job)
{
	if (deliver_pg_on())
		deliver_pg_submit(job);
	else
		maildir_submit(job);
}

/* Starts the extras (each one pending sink). */
static void
extras_start(struct msg_commit *c)
{
	for (int i = 0; i < c->nextra; i++) {
		struct commit_extra *x = c->extras[i];

		if (x->job.nrcpt > 0) {
			x->job.origin = c->origin;
			x->job.done = extra_stored;
			x->job.arg = x;
			local_submit(&x->job);
			continue;
		}
		buf_puts(&x->content, x->prefix);
		if (x->own_head)
			buf_append(&x->content, x->head, x->hlen);
		else
			buf_append(&x->content, c->front.data, c->head_len);
		if (c->front.len > c->head_len)
			buf_append(&x->content, c->front.data + c->head_len,
			    c->front.len - c->head_len);
		x->qn.msg.smtputf8 = c->qn.msg.smtputf8;
		x->qn.msg.eightbit = c->qn.msg.eightbit;
		x->qn.msg.requiretls = c->qn.msg.requiretls;
		x->qn.msg.tls_optional = c->qn.msg.tls_optional;
		x->qn.content = x->content.data ? x->content.data : "";
		x->qn.content_len = x->content.len;
		x->qn.content_fd = c->fd;
		x->qn.content_file_off = c->off;
		x->qn.content_file_len = c->flen;
		queue_submit(&x->qn, c->origin, extra_queued, x);
	}
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
	c->started = true;
	if (c->head_len > c->front.len)
		c->head_len = c->front.len;
	if (c->error != 0) {
		/* no descriptor left: held jobs still answer */
		c->pending++;
		loop_post(origin, commit_nothing, c);
		return;
	}
	c->pending += (c->job.nrcpt > 0) + (c->qn.msg.nrcpt > 0) + c->nextra;
	if (c->pending == 0) {
		/* aliases that lead nowhere, or everything discarded */
		c->pending = 1;
		loop_post(origin, commit_nothing, c);
		return;
	}
	extras_start(c);
	if (c->job.nrcpt > 0) {
		c->job.body = c->front.data;
		c->job.body_len = c->front.len;
		c->job.body_fd = c->fd;
		c->job.body_file_off = off;
		c->job.body_file_len = flen;
		c->job.origin = origin;
		c->job.done = commit_stored;
		c->job.arg = c;
		local_submit(&c->job);
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
