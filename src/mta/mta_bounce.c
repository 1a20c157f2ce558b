/*
 * mta_bounce - the failure and delay DSNs (RFC 3464) of a delivery: built
 * on the worker pool from the queue file, queued from <> to the sender,
 * and recorded as sent (QUEUE_RF_FAILURE_DSN, QUEUE_RF_DELAY_DSN) before
 * the delivery is freed. Failed recipients and those still pending after
 * delay_warning_time go into one report (Subject by the worst action).
 *
 * Delay notices (RFC 3461 4.1): sent when NOTIFY has DELAY or when there
 * was no NOTIFY at all (the RFC leaves that to the MTA; we warn, like
 * sendmail, and delay_warning_time = 0 turns warnings off for everyone).
 * They are checked after each attempt, so one arrives at the first retry
 * after delay_warning_time. Their flag is written BEFORE the report is
 * queued (on the building worker, right after queue_report released the
 * message): a crash in between loses the warning rather than sending it
 * twice when the message is retried. Failure DSNs keep the other order
 * (a failure notice must not be lost).
 *
 * Memory: the original is attached whole up to DSN_FULL_MAX (128 KiB),
 * else its header: either way only its first DSN_FULL_MAX bytes are
 * read from the file, so a bounce of a message of any size costs that
 * buffer and the report. The read and the building (which scans the
 * copy) run on a worker, never on the engine's loop.
 *
 * Trust: the original came from anyone; mail/dsn.c sanitises what it
 * copies into header fields. A message from <> is never bounced.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "mail/dsn.h"
#include "mta/mta_int.h"
#include "server/server.h"
#include "util/log.h"
#include "util/worker.h"
#include "util/xmalloc.h"
#include "util/metrics_list.h"

struct mta_bounce {
	struct queue_new	 qn;
	struct queue_rcpt	 rcpt;
	char			*content;	/* the report */
	size_t			 len;
	char			*hostname;	/* conf's, copied on the loop */
	struct mta_delivery	*d;
	int			*idx;		/* recipients reported */
	int			 n;
	bool			*delayed;	/* per idx: delay, not failure */
	time_t			 retry_until;	/* arrival + queue_lifetime */
};

static void
mta_bounce_free(struct mta_bounce *b)
{
	struct mta_delivery *d = b->d;

	free(b->content);
	free(b->hostname);
	free(b->idx);
	free(b->delayed);
	free(b);
	mta_delivery_free(d);
}

static void
mta_flags_work(void *arg)
{
	struct mta_bounce *b = arg;
	int *fi = xcalloc((size_t)b->n, sizeof(int)), nf = 0;

	for (int i = 0; i < b->n; i++)
		if (!b->delayed[i])
			fi[nf++] = b->idx[i];
	if (nf > 0 && queue_set_rcpt_flags(b->d->qm, fi, nf,
	    QUEUE_RF_FAILURE_DSN) < 0 && errno != ENOENT)
		log_error("%s mta flag-failed error=\"%s\"", b->d->qm->id,
		    strerror(errno));
	free(fi);
}

/* Worker: records the delay notices as sent before they are queued
 * (see the top). On failure they are left out of the report. */
static void
mta_delay_flags(struct mta_bounce *b)
{
	int *di = xcalloc((size_t)b->n, sizeof(int)), nd = 0, n = 0;

	for (int i = 0; i < b->n; i++)
		if (b->delayed[i])
			di[nd++] = b->idx[i];
	if (nd > 0 && queue_set_rcpt_flags(b->d->qm, di, nd,
	    QUEUE_RF_DELAY_DSN) < 0) {
		if (errno != ENOENT)
			log_error("%s mta flag-failed error=\"%s\"",
			    b->d->qm->id, strerror(errno));
		for (int i = 0; i < b->n; i++)
			if (!b->delayed[i]) {
				b->idx[n] = b->idx[i];
				b->delayed[n++] = false;
			}
		b->n = n;
	}
	free(di);
}

static void
mta_flags_done(void *arg)
{
	mta_bounce_free(arg);
}

static void
mta_bounce_queued(struct queue_new *qn, int error, void *arg)
{
	struct mta_bounce *b = arg;
	int nd = 0;

	(void)qn;
	if (error) {
		/* Not recorded as sent: the bounce is made again when the
		 * message comes back (at the next start at the latest). */
		log_error("%s mta bounce-queue-failed error=\"%s\"",
		    b->d->qm->id, strerror(error));
		mta_bounce_free(b);
		return;
	}
	for (int i = 0; i < b->n; i++)
		nd += b->delayed[i];
	log_info("%s mta bounce queued=%s to=<%s> failed=%d delayed=%d",
	    b->d->qm->id, b->qn.msg.id, b->d->qm->sender, b->n - nd, nd);
	METRIC_INC(M_MSG_BOUNCED, 0);
	worker_submit(mta_loop(), mta_flags_work, mta_flags_done, b);
}

/* A pending recipient that is owed its one delay notice now. */
static bool
mta_wants_delay(const struct queue_msg *qm, const struct queue_rcpt *qr,
    unsigned warn_after, time_t now)
{
	if (warn_after == 0 || qr->state != QUEUE_STATE_PENDING ||
	    (qr->flags & (QUEUE_RF_DELAY_DSN | QUEUE_RF_FAILURE_DSN)))
		return false;
	if (qr->notify && !(qr->notify & QUEUE_NOTIFY_DELAY))
		return false;
	return now - qm->arrival >= (time_t)warn_after;
}

/* Failed recipients that still need a failure DSN, and pending ones
 * owed a delay notice (delayed[n] true). */
static int
mta_bounce_rcpts(struct mta_delivery *d, int *idx, bool *delayed)
{
	unsigned warn_after = mta_conf()->delay_warning_time;
	time_t now = time(NULL);
	int n = 0;

	for (int i = 0; i < d->qm->nrcpt; i++) {
		struct queue_rcpt *qr = &d->qm->rcpts[i];
		if (mta_wants_delay(d->qm, qr, warn_after, now)) {
			delayed[n] = true;
			idx[n++] = i;
			continue;
		}
		if (qr->state != QUEUE_STATE_FAILED ||
		    (qr->flags & QUEUE_RF_FAILURE_DSN))
			continue;
		if (qr->notify && !(qr->notify & QUEUE_NOTIFY_FAILURE))
			continue;
		delayed[n] = false;
		idx[n++] = i;
	}
	return n;
}

/* Worker: reads what can be attached and builds the report. */
static void
mta_bounce_build(void *arg)
{
	struct mta_bounce *b = arg;
	struct mta_delivery *d = b->d;
	size_t have = d->qc.len < DSN_FULL_MAX ? d->qc.len : DSN_FULL_MAX;
	char *orig;
	struct dsn_rcpt *dr;
	struct dsn_params p;

	mta_delay_flags(b);
	if (b->n == 0)
		return;
	orig = xmalloc(have + 1);
	dr = xcalloc((size_t)b->n, sizeof(*dr));
	if (queue_content_read(&d->qc, 0, orig, have) < 0) {
		log_error("%s mta bounce read-failed error=\"%s\"", d->qm->id,
		    strerror(errno));
		free(orig);
		free(dr);
		return;		/* made again when the message comes back */
	}
	for (int i = 0; i < b->n; i++) {
		struct queue_rcpt *qr = &d->qm->rcpts[b->idx[i]];
		dr[i].addr = qr->address;
		dr[i].orcpt = qr->orcpt;
		dr[i].action = b->delayed[i] ? DSN_ACTION_DELAYED :
		    DSN_ACTION_FAILED;
		dr[i].reason = qr->last_error;
		dr[i].last_attempt = time(NULL);
		if (b->delayed[i])
			dr[i].retry_until = b->retry_until;
	}
	memset(&p, 0, sizeof(p));
	p.hostname = b->hostname;
	p.sender = d->qm->sender;
	p.envid = d->qm->envid;
	/* RFC 8689 5: the report of a REQUIRETLS message may travel
	   without TLS: its header only, whatever RET= asked */
	p.ret = d->qm->requiretls ? DSN_RET_HDRS : d->qm->ret;
	p.arrival = d->qm->arrival;
	p.queue_id = d->qm->id;
	p.rcpts = dr;
	p.nrcpt = b->n;
	p.content = orig;
	p.len = have;
	p.total = d->qc.len;
	p.full_max = DSN_FULL_MAX;
	p.smtputf8 = d->qm->smtputf8;
	b->content = dsn_build(&p, &b->len);
	free(dr);
	free(orig);
}

/* Loop: queue the report that was built. */
static void
mta_bounce_built(void *arg)
{
	struct mta_bounce *b = arg;
	struct mta_delivery *d = b->d;

	if (b->content == NULL) {
		mta_bounce_free(b);
		return;
	}
	b->rcpt.address = d->qm->sender;
	b->qn.msg.sender = (char *)(uintptr_t)"";
	b->qn.msg.nrcpt = 1;
	b->qn.msg.rcpts = &b->rcpt;
	b->qn.msg.smtputf8 = d->qm->smtputf8;
	b->qn.msg.eightbit = d->qm->eightbit || d->qm->smtputf8;
	b->qn.content = b->content;
	b->qn.content_len = b->len;
	queue_submit(&b->qn, mta_loop(), mta_bounce_queued, b);
}

void
mta_bounce(struct mta_delivery *d)
{
	struct mta_bounce *b;
	int *idx, n;
	bool *delayed;

	if (d->qc.fd < 0 || d->qm->sender[0] == '\0') {
		/* never bounce to the null sender: no bounce loops */
		mta_delivery_free(d);
		return;
	}
	idx = xcalloc((size_t)d->qm->nrcpt, sizeof(int));
	delayed = xcalloc((size_t)d->qm->nrcpt, sizeof(bool));
	n = mta_bounce_rcpts(d, idx, delayed);
	if (n == 0) {
		free(idx);
		free(delayed);
		mta_delivery_free(d);
		return;
	}
	b = xcalloc(1, sizeof(*b));
	b->d = d;
	b->idx = idx;
	b->n = n;
	b->delayed = delayed;
	b->retry_until = d->qm->arrival + (time_t)mta_conf()->queue_lifetime;
	b->hostname = xstrdup(mta_conf()->hostname);
	worker_submit(mta_loop(), mta_bounce_build, mta_bounce_built, b);
}
