/*
 * mta_local - queued mail for our own domains (bounces to local senders,
 * mostly) goes straight into the mailboxes, with the same group commit
 * as inbound mail (store/maildir.c), copied by the committer straight
 * from the queue file (the message is never read into memory here).
 *
 * Trust: addresses come from the queue, which only holds validated
 * envelopes; they are resolved against the accounts snapshot again here,
 * since accounts may have changed while the message waited.
 */
#include <stdlib.h>
#include <string.h>

#include "auth/resolve.h"
#include "conf/conf.h"
#include "mta/mta_int.h"
#include "server/server.h"
#include "store/maildir.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct mta_local_job {
	struct maildir_job	 job;
	struct mta_route	*r;
	struct mta_item		*it;
	int			*owner;		/* job rcpt -> item recipient */
};

static void mta_local_next(struct mta_route *r, int item);

static void
mta_local_stored(struct maildir_job *job)
{
	struct mta_local_job *lj = job->arg;
	struct mta_item *it = lj->it;
	struct mta_route *r = lj->r;
	int item = (int)(it - r->items);

	for (int i = 0; i < job->nrcpt; i++) {
		int j = lj->owner[i];
		if (job->rcpts[i].result == 0) {
			it->mm.rcpt_result[j] = MTA_RCPT_OK;
			free(it->mm.rcpt_text[j]);
			it->mm.rcpt_text[j] = xasprintf("2.0.0 delivered to "
			    "mailbox as %s", job->rcpts[i].filename);
		} else if (it->mm.rcpt_result[j] != MTA_RCPT_OK) {
			it->mm.rcpt_result[j] = MTA_RCPT_TEMP;
			free(it->mm.rcpt_text[j]);
			it->mm.rcpt_text[j] = xasprintf("4.3.0 cannot store in "
			    "mailbox: %s", strerror(job->rcpts[i].result));
		}
	}
	maildir_job_clear(job);
	free(lj->owner);
	free(lj);
	mta_local_next(r, item + 1);
}

/* Delivers item number `item` of r, then the next ones, then finishes. */
static void
mta_local_next(struct mta_route *r, int item)
{
	struct conf *c = server_conf();
	struct acct_snapshot *acct;
	struct mta_local_job *lj;
	struct mta_item *it;

	if (item >= r->nitems) {
		/* untouched recipients were set by now: settle and finish */
		for (int i = 0; i < r->nitems; i++) {
			struct mta_item *x = &r->items[i];
			struct mta_delivery *d = x->d;
			for (int j = 0; j < x->n; j++) {
				int k = x->idx[j];
				d->results[k] = x->mm.rcpt_result[j] ==
				    MTA_RCPT_OK ? QUEUE_RCPT_DELIVERED :
				    x->mm.rcpt_result[j] == MTA_RCPT_PERM ?
				    QUEUE_RCPT_FAILED : QUEUE_RCPT_DEFERRED;
				free(d->texts[k]);
				d->texts[k] = xstrdup(x->mm.rcpt_text[j] ?
				    x->mm.rcpt_text[j] : "");
				free(d->relays[k]);
				d->relays[k] = xstrdup("local");
			}
		}
		mta_route_finished(r);
		return;
	}
	it = &r->items[item];
	lj = xmalloc(sizeof(*lj));
	lj->r = r;
	lj->it = it;
	acct = server_accounts();
	for (int j = 0; j < it->n; j++) {
		const char *addr = it->mm.rcpts[j], *at = strrchr(addr, '@');
		struct acct_resolution res;
		char *lp;

		memset(&res, 0, sizeof(res));
		lp = at ? xstrndup(addr, (size_t)(at - addr)) : xstrdup(addr);
		if (acct == NULL || at == NULL ||
		    acct_resolve(acct, lp, at + 1, &res) != ACCT_OK) {
			it->mm.rcpt_result[j] = MTA_RCPT_PERM;
			it->mm.rcpt_text[j] = xasprintf("5.1.1 <%s>: no such "
			    "local user", addr);
			free(lp);
			acct_resolution_free(&res);
			continue;
		}
		free(lp);
		it->mm.rcpt_result[j] = MTA_RCPT_PERM;
		it->mm.rcpt_text[j] = xasprintf("5.1.1 <%s>: alias with no "
		    "local mailbox", addr);
		for (int t = 0; t < res.n; t++) {
			struct maildir_rcpt *mr;
			if (res.t[t].kind != ACCT_TARGET_LOCAL) {
				log_warn("%s mta local-alias-remote to=<%s> "
				    "target=<%s> skipped", it->d->qm->id, addr,
				    res.t[t].address);
				continue;
			}
			lj->job.rcpts = xrealloc(lj->job.rcpts,
			    (size_t)(lj->job.nrcpt + 1) * sizeof(*mr));
			lj->owner = xrealloc(lj->owner,
			    (size_t)(lj->job.nrcpt + 1) * sizeof(int));
			mr = &lj->job.rcpts[lj->job.nrcpt];
			memset(mr, 0, sizeof(*mr));
			lj->owner[lj->job.nrcpt++] = j;
			mr->maildir = xasprintf("%s/mail/%s/%s", c->data_dir,
			    res.t[t].domain, res.t[t].localpart);
			mr->prefix = xasprintf("Return-Path: <%s>\n"
			    "Delivered-To: %s\n", it->mm.sender,
			    res.t[t].address);
			mr->prefix_len = strlen(mr->prefix);
			mr->label = xstrdup(res.t[t].address);
		}
		acct_resolution_free(&res);
	}
	if (acct)
		acct_snapshot_unref(&acct);
	if (lj->job.nrcpt == 0) {
		free(lj->owner);
		free(lj);
		mta_local_next(r, item + 1);
		return;
	}
	/* the committer copies the content from the queue file */
	lj->job.body_fd = it->d->qc.fd;
	lj->job.body_file_off = it->d->qc.off;
	lj->job.body_file_len = it->d->qc.len;
	lj->job.origin = mta_loop();
	lj->job.done = mta_local_stored;
	lj->job.arg = lj;
	maildir_submit(&lj->job);
}

void
mta_local_deliver(struct mta_route *r)
{
	/* mm.rcpts etc. are filled as for remote routes */
	for (int i = 0; i < r->nitems; i++) {
		struct mta_item *it = &r->items[i];
		struct queue_msg *qm = it->d->qm;

		it->mm.sender = qm->sender;
		it->mm.nrcpt = it->n;
		it->mm.rcpts = xcalloc((size_t)it->n, sizeof(char *));
		for (int j = 0; j < it->n; j++)
			it->mm.rcpts[j] = qm->rcpts[it->idx[j]].address;
		it->mm.rcpt_result = xcalloc((size_t)it->n, sizeof(int));
		it->mm.rcpt_text = xcalloc((size_t)it->n, sizeof(char *));
	}
	mta_local_next(r, 0);
}
