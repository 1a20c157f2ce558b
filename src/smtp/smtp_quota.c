/*
 * smtp_quota - mailbox quotas at SMTP (RFC 9208 limits, store/quota.h
 * usage): "452 4.2.2 Mailbox full" (RFC 3463 4.2.2).
 *
 * What is checked, and when (the behaviour of Postfix with Dovecot's
 * quota-status policy service, which answers at RCPT):
 * - RCPT: a recipient that resolves to one local mailbox gets 452 4.2.2
 *   when its usage plus the message's SIZE= (0 without it) would pass its
 *   limit (or it already holds its MESSAGE limit). The other recipients
 *   of the transaction are not affected. A usage not computed yet is
 *   computed on a worker and the recipient is taken this time.
 * - After the data, when the size is known, each recipient that is one
 *   local mailbox is checked again. When every recipient of the
 *   transaction is such a mailbox and none of them has room, the message
 *   gets 452 4.2.2 (the one reply is true for each). When some have room
 *   and others not, SMTP's one reply cannot refuse only the latter:
 *   the message is delivered to all, and each mailbox without room goes
 *   past its limit by this one message, logged as over-quota-grace.
 *   That is Dovecot's quota_grace (the message that crosses the limit is
 *   still saved; the next one is refused at RCPT). The alternative,
 *   250 then a bounce from tem for that recipient, is what Postfix does
 *   after a per-recipient LMTP refusal - and the backscatter Dovecot's
 *   quota-status service exists to avoid: the sender of mail that
 *   reached the RCPT check under the limit is often forged. Each
 *   mailbox passed its RCPT check under its limit (usage + SIZE=), so it
 *   ends at most one message over it.
 * - An alias expanding to several targets is not checked: one full
 *   mailbox must not hold up everyone else's copy.
 *
 * On PostgreSQL the usage is the database's (pg_ms_usage, through
 * quota.h's source), read again on a worker after every answer.
 *
 * Trust: the recipient was resolved from the administrator's accounts;
 * SIZE= is the client's claim, used only to refuse early.
 */
#include <stdlib.h>

#include "auth/resolve.h"
#include "conf/conf.h"
#include "msg/deliver_pg.h"
#include "msg/spool.h"
#include "server/server.h"
#include "smtp/smtp_session.h"
#include "store/quota.h"
#include "util/log.h"
#include "util/worker.h"
#include "util/xmalloc.h"
#include "util/metrics_list.h"

/* r's one local mailbox root (malloc'd) and its limits; NULL when r is
 * not exactly one local mailbox or has no limit. */
static char *
single_box(struct smtp_session *s, const struct smtp_rcpt *r,
    struct acct_quota *q)
{
	const struct acct_target *t = r->res.t;
	struct acct_quota def = { s->conf->default_quota,
	    s->conf->default_quota_messages };

	if (r->res.n != 1 || t->kind != ACCT_TARGET_LOCAL ||
	    !acct_user_quota(s->acct, t->address, &def, q) ||
	    (q->storage == 0 && q->messages == 0))
		return NULL;
	return xasprintf("%s/mail/%s/%s", s->conf->data_dir, t->domain,
	    t->localpart);
}

static void
compute_work(void *arg)
{
	struct quota_usage u;

	(void)quota_usage_compute(arg, &u);	/* unreadable: counted later */
}

static void
compute_done(void *arg)
{
	free(arg);
}

/* The verdict for root (taken): an unknown usage fits this time, an old
 * one over the limit is still over (452 is temporary); both are computed
 * again on a worker for the next answer. */
static enum quota_verdict
verdict(struct smtp_session *s, char *root, const struct acct_quota *q,
    uint64_t size)
{
	enum quota_verdict v = quota_peek(root, q->storage, q->messages,
	    size, 1);

	/* on PostgreSQL other nodes deliver and expunge too: every answer
	 * reads the usage again for the next one (one read at a time per
	 * mailbox: the claim) */
	if ((v == QUOTA_UNKNOWN || v == QUOTA_OVER_STALE ||
	    deliver_pg_on()) && quota_compute_claim(root)) {
		worker_submit(server_thread_loop(s->base.thread), compute_work,
		    compute_done, root);
		root = NULL;
	}
	free(root);
	/* unknown usage fits this time, unless the message alone does not
	 * (usage is never below 0): on PostgreSQL no IMAP session fills
	 * the usage this process keeps, so the first answer is often one
	 * without it */
	if (v == QUOTA_UNKNOWN && quota_exceeds(&(struct quota_usage){ 0, 0 },
	    q->storage, q->messages, size, 1))
		return QUOTA_OVER;
	return v == QUOTA_UNKNOWN ? QUOTA_FITS : v == QUOTA_OVER_STALE ?
	    QUOTA_OVER : v;
}

bool
smtp_quota_rcpt(struct smtp_session *s, const struct smtp_rcpt *r,
    const char *addr)
{
	struct acct_quota q;
	char *root = single_box(s, r, &q);

	if (root == NULL || verdict(s, root, &q, s->mail.size) != QUOTA_OVER)
		return true;
	log_info("%s smtp reject over-quota to=<%s> size=%llu", s->base.id,
	    addr, (unsigned long long)s->mail.size);
	smtp_reply(s, "452 4.2.2 <%s>: Mailbox full", addr);
	METRIC_INC(M_MSG_REJECTED, MR_QUOTA);
	return false;
}

bool
smtp_quota_data(struct smtp_session *s)
{
	struct acct_quota q;
	uint64_t size = msg_spool_size(s->spool);
	bool *full = xcalloc(s->nrcpt ? s->nrcpt : 1, sizeof(*full));
	unsigned over = 0, i;
	char *root;

	for (i = 0; i < s->nrcpt; i++)
		if ((root = single_box(s, &s->rcpts[i], &q)) != NULL &&
		    verdict(s, root, &q, size) == QUOTA_OVER) {
			full[i] = true;
			over++;
		}
	if (over > 0 && over < s->nrcpt)	/* the grace: see the top */
		for (i = 0; i < s->nrcpt; i++)
			if (full[i])
				log_info("%s smtp over-quota-grace msgid=%s "
				    "to=<%s> size=%llu", s->base.id, s->msgid,
				    s->rcpts[i].res.t->address,
				    (unsigned long long)size);
	free(full);
	if (over == 0 || over < s->nrcpt)
		return true;
	log_info("%s smtp reject over-quota msgid=%s rcpts=%u size=%llu",
	    s->base.id, s->msgid, s->nrcpt, (unsigned long long)size);
	smtp_reply(s, "452 4.2.2 Mailbox full, try again later");
	METRIC_INC(M_MSG_REJECTED, MR_QUOTA);
	return false;
}
