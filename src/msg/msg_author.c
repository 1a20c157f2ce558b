/*
 * msg_author - queues a message tem wrote (Sieve's vacation reply, reject
 * MDN, redirect copy) as one queue file with one recipient, the way
 * mta_bounce.c queues a DSN; the queue then delivers it locally
 * (mta_local.c) or remotely (the delivery engine). See msg_author.h.
 *
 * Trust: the message was built by tem or already accepted; sender and
 * rcpt were checked by the caller, and queue_submit() enforces its own
 * limits (EINVAL) on what reaches the disk.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/mime_encode.h"
#include "msg/msg_author.h"
#include "queue/queue.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct msg_author {
	struct queue_new	 qn;
	struct queue_rcpt	 rcpt;
	char			*logid;
	char			*sender;
	char			*msg;
	void			(*done)(void *arg, int error);
	void			*arg;
};

static void
author_free(struct msg_author *ma)
{
	free(ma->logid);
	free(ma->sender);
	free(ma->rcpt.address);
	free(ma->msg);
	free(ma);
}

static void
author_queued(struct queue_new *qn, int error, void *arg)
{
	struct msg_author *ma = arg;

	(void)qn;
	if (error)
		log_error("%s author queue-failed from=<%.256s> to=<%.256s> "
		    "error=\"%s\"", ma->logid, ma->sender, ma->rcpt.address,
		    strerror(error));
	else
		log_info("%s author queued=%s from=<%s> to=<%s> size=%zu",
		    ma->logid, ma->qn.msg.id, ma->sender, ma->rcpt.address,
		    ma->qn.content_len);
	if (ma->done != NULL)
		ma->done(ma->arg, error);
	author_free(ma);
}

void
msg_author_submit(const char *logid, const char *sender, const char *rcpt,
    char *msg, size_t len, struct loop *origin,
    void (*done)(void *arg, int error), void *arg)
{
	struct msg_author *ma = xcalloc(1, sizeof(*ma));

	ma->logid = xstrdup(logid);
	ma->sender = xstrdup(sender != NULL ? sender : "");
	ma->rcpt.address = xstrdup(rcpt);
	ma->msg = msg;
	ma->done = done;
	ma->arg = arg;
	ma->qn.msg.sender = ma->sender;
	ma->qn.msg.nrcpt = 1;
	ma->qn.msg.rcpts = &ma->rcpt;
	ma->qn.msg.smtputf8 = mime_has_8bit(ma->sender,
	    strlen(ma->sender)) || mime_has_8bit(rcpt, strlen(rcpt));
	ma->qn.msg.eightbit = ma->qn.msg.smtputf8 ||
	    mime_has_8bit(msg, len);
	ma->qn.content = msg;
	ma->qn.content_len = len;
	ma->qn.content_fd = -1;
	queue_submit(&ma->qn, origin, author_queued, ma);
}
