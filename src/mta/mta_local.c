/*
 * mta_local - queued mail for our own domains (bounces to local senders,
 * Sieve's vacation replies, reject MDNs and redirects, ...) goes into the
 * mailboxes through the same stages as mail received over SMTP: the
 * recipients' Sieve scripts (msg/sieve_stage.h) and the commit
 * (msg/commit.h), whose Maildir copies the committer makes straight from
 * the queue file (the message is never read into memory here).
 *
 * Per queued message, on the engine's loop: resolve its local
 * recipients; only when one of them may have a script
 * (sieve_stage_wanted, no I/O) one worker job reads the header section
 * from the queue file and runs the scripts; then the routing
 * (sieve_apply_local: folders, flags, edited header, discards, redirects
 * as new queue messages; no script: INBOX) and the side messages
 * (sieve_apply_side: reject MDNs to the queued sender unless it is <>,
 * vacation replies, error notices), then one commit. Its recipients are
 * delivered only once every copy, redirect and side message is durable;
 * a failure defers them all (a retry may then make again a copy that
 * was made, as a 451 makes an SMTP client send again).
 *
 * Trust: addresses come from the queue, which only holds validated
 * envelopes; they are resolved against the accounts snapshot again here,
 * since accounts may have changed while the message waited. The content
 * was accepted before it was queued; scripts are bounded by the stage.
 */
#include <stdlib.h>
#include <string.h>

#include "auth/resolve.h"
#include "conf/conf.h"
#include "msg/commit.h"
#include "msg/sieve_stage.h"
#include "mta/mta_int.h"
#include "server/server.h"
#include "server/state.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* One queued message's local recipients on their way. */
struct mta_local_job {
	struct mta_route	*r;
	int			 item;
	struct acct_resolution	*res;		/* per item recipient */
	bool			*routed;	/* has a local target */
	struct sieve_stage	*st;
};

static void mta_local_next(struct mta_route *r, int item);

static void
local_set(struct mta_item *it, int j, int result, char *text)
{
	it->mm.rcpt_result[j] = result;
	free(it->mm.rcpt_text[j]);
	it->mm.rcpt_text[j] = text;
}

/* Frees lj and goes on with the route's next message. */
static void
local_next(struct mta_local_job *lj)
{
	struct mta_route *r = lj->r;
	int item = lj->item, n = r->items[item].n;

	for (int j = 0; j < n; j++)
		acct_resolution_free(&lj->res[j]);
	free(lj->res);
	free(lj->routed);
	free(lj);
	mta_local_next(r, item + 1);
}

static void
local_committed(struct msg_commit *c, int error, void *arg)
{
	struct mta_local_job *lj = arg;
	struct mta_item *it = &lj->r->items[lj->item];

	msg_commit_free(&c);
	sieve_apply_finish(&lj->st, error);
	for (int j = 0; j < it->n; j++) {
		if (!lj->routed[j])
			continue;
		if (error == 0)
			local_set(it, j, MTA_RCPT_OK,
			    xstrdup("2.0.0 delivered to mailbox"));
		else
			local_set(it, j, MTA_RCPT_TEMP, xasprintf("4.3.0 "
			    "cannot store in mailbox: %s", strerror(error)));
	}
	local_next(lj);
}

/* The routing (st: with the scripts' results) and the commit. */
static void
local_commit(struct mta_local_job *lj, struct sieve_stage *st)
{
	struct mta_item *it = &lj->r->items[lj->item];
	struct mta_delivery *d = it->d;
	const char *data_dir = mta_conf()->data_dir;
	struct msg_commit *c;
	struct buf front;
	size_t hlen = st != NULL ? st->src.head_len : 0;
	bool any = false;

	c = msg_commit_new(d->qm->id, d->qm->id, d->qm->sender);
	msg_commit_log_as(c, "mta");
	msg_commit_envelope(c, d->qm->envid, d->qm->ret, d->qm->smtputf8,
	    d->qm->eightbit);
	msg_commit_tls(c, d->qm->requiretls, d->qm->tls_optional);
	for (int j = 0; j < it->n; j++) {
		const struct acct_resolution *res = &lj->res[j];

		for (int t = 0; t < res->n; t++) {
			const struct acct_target *tg = &res->t[t];
			char *dir;

			if (tg->kind != ACCT_TARGET_LOCAL) {
				log_warn("%s mta local-alias-remote to=<%s> "
				    "target=<%s> skipped", d->qm->id,
				    it->mm.rcpts[j], tg->address);
				continue;
			}
			lj->routed[j] = any = true;
			if (st != NULL) {
				sieve_apply_local(st, c, tg);
				continue;
			}
			dir = xasprintf("%s/mail/%s/%s", data_dir, tg->domain,
			    tg->localpart);
			msg_commit_local(c, dir, tg->address);
			free(dir);
		}
	}
	if (!any) {
		msg_commit_free(&c);
		sieve_stage_free(&st);
		local_next(lj);
		return;
	}
	/* the header section the job read is the front; the body stays
	 * in the queue file */
	buf_init(&front, 0);
	if (st != NULL) {
		buf_append(&front, st->src.head, hlen);
		sieve_apply_side(st, c, mta_loop());
	}
	msg_commit_head_len(c, hlen);
	lj->st = st;
	msg_commit_start(c, &front, d->qc.fd, d->qc.off + hlen,
	    d->qc.len - hlen, mta_loop(), local_committed, lj);
	buf_free(&front);
}

static void
local_sieved(struct sieve_stage *st, void *arg)
{
	struct mta_local_job *lj = arg;
	struct mta_item *it = &lj->r->items[lj->item];

	if (st->error == 0) {
		local_commit(lj, st);
		return;
	}
	/* the queue file or a script could not be read (logged by the
	 * job): later */
	for (int j = 0; j < it->n; j++)
		if (lj->res[j].n > 0)
			local_set(it, j, MTA_RCPT_TEMP, xasprintf("4.3.0 "
			    "cannot run the Sieve stage: %s",
			    strerror(st->error)));
	sieve_stage_free(&st);
	local_next(lj);
}

/* The Sieve stage of the message, when a local target may have a
 * script. */
static bool
local_sieve(struct mta_local_job *lj)
{
	struct mta_item *it = &lj->r->items[lj->item];
	struct mta_delivery *d = it->d;
	struct conf *cf = mta_conf();
	struct sieve_stage_in in;
	struct sieve_stage *st;
	bool want = false;

	for (int j = 0; j < it->n && !want; j++)
		for (int t = 0; t < lj->res[j].n && !want; t++)
			want = lj->res[j].t[t].kind == ACCT_TARGET_LOCAL &&
			    sieve_stage_wanted(lj->res[j].t[t].address);
	if (!want)
		return false;
	memset(&in, 0, sizeof(in));
	in.logid = d->qm->id;
	in.msgid = d->qm->id;
	in.data_dir = cf->data_dir;
	in.hostname = cf->hostname;
	in.env_from = d->qm->sender;
	in.head = NULL;		/* the job reads it from the queue file */
	in.body_fd = d->qc.fd;
	in.body_off = d->qc.off;
	in.body_len = d->qc.len;
	st = sieve_stage_new(&in);
	for (int j = 0; j < it->n; j++)
		sieve_stage_add(st, it->mm.rcpts[j], &lj->res[j]);
	sieve_stage_run(st, mta_loop(), local_sieved, lj);
	return true;
}

/* The results of the route's messages into their deliveries. */
static void
local_finish(struct mta_route *r)
{
	for (int i = 0; i < r->nitems; i++) {
		struct mta_item *x = &r->items[i];
		struct mta_delivery *d = x->d;
		for (int j = 0; j < x->n; j++) {
			int k = x->idx[j];
			d->results[k] = x->mm.rcpt_result[j] == MTA_RCPT_OK ?
			    QUEUE_RCPT_DELIVERED :
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
}

/* Delivers item number `item` of r, then the next ones, then finishes. */
static void
mta_local_next(struct mta_route *r, int item)
{
	struct acct_snapshot *acct;
	struct mta_local_job *lj;
	struct mta_item *it;

	if (item >= r->nitems) {
		local_finish(r);
		return;
	}
	it = &r->items[item];
	lj = xcalloc(1, sizeof(*lj));
	lj->r = r;
	lj->item = item;
	lj->res = xcalloc((size_t)it->n, sizeof(*lj->res));
	lj->routed = xcalloc((size_t)it->n, sizeof(*lj->routed));
	acct = server_accounts();
	for (int j = 0; j < it->n; j++) {
		const char *addr = it->mm.rcpts[j], *at = strrchr(addr, '@');
		char *lp = at ? xstrndup(addr, (size_t)(at - addr)) : NULL;

		if (acct == NULL || at == NULL ||
		    acct_resolve(acct, lp, at + 1, &lj->res[j]) != ACCT_OK) {
			acct_resolution_free(&lj->res[j]);
			local_set(it, j, MTA_RCPT_PERM, xasprintf("5.1.1 <%s>: "
			    "no such local user", addr));
		} else
			local_set(it, j, MTA_RCPT_PERM, xasprintf("5.1.1 <%s>: "
			    "alias with no local mailbox", addr));
		free(lp);
	}
	if (acct)
		acct_snapshot_unref(&acct);
	if (!local_sieve(lj))
		local_commit(lj, NULL);
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
