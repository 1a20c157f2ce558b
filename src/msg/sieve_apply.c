/*
 * sieve_apply - the Sieve stage's results applied on the loop (see
 * sieve_stage.h): each user's copies into the folders the job chose
 * (with flags and its own edited header), redirects as queue messages of
 * their own, discards and rejects as no copy, the reject MDNs, vacation
 * replies and error notices the reply also waits for; after the commit,
 * the durable memory (duplicate ids, vacation replies) on a worker.
 *
 * Redirect's envelope sender is the redirecting user's own address: the
 * message leaves from our domain, so SPF at the target checks our
 * servers, which pass (keeping a foreign sender would fail SPF there
 * without SRS). Only a message submitted by an authenticated local user
 * keeps its own sender (it is already ours), and a message from <>
 * stays from <> (SPF then checks our HELO name), so a redirected bounce
 * is never bounced back into the script that redirected it. Bounces of
 * a redirect thus come back to the user, who chose the target.
 *
 * Trust: the results come from untrusted scripts but were bounded by the
 * interpreter and checked by the job (folders, redirect targets); the
 * reject text reaches the SMTP reply only sanitized to printable ASCII.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/resolve.h"
#include "msg/commit.h"
#include "msg/msg_author.h"
#include "msg/sieve_notice.h"
#include "msg/sieve_stage.h"
#include "sieve/sieve_state.h"
#include "util/log.h"
#include "util/worker.h"
#include "util/xmalloc.h"

/* Reject text in an SMTP reply: one line of printable ASCII. */
#define REJECT_REPLY_MAX	200

static const struct sieve_action *
user_reject(const struct sieve_stage_user *u)
{
	for (size_t i = 0; i < u->r.nactions; i++)
		if (u->r.actions[i].type == SIEVE_REJECT)
			return &u->r.actions[i];
	return NULL;
}

const char *
sieve_apply_reject_all(struct sieve_stage *st,
    const struct acct_resolution *const *res, size_t n)
{
	const struct sieve_action *first = NULL, *a;
	const char *t;
	size_t o = 0;

	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < res[i]->n; j++) {
			const struct acct_target *tg = &res[i]->t[j];
			struct sieve_stage_user *u;
			if (tg->kind != ACCT_TARGET_LOCAL ||
			    (u = sieve_stage_user(st, tg->address)) == NULL ||
			    (a = user_reject(u)) == NULL)
				return NULL;
			if (first == NULL)
				first = a;
		}
	if (first == NULL)
		return NULL;
	t = first->text ? first->text : "";
	for (; *t && o < REJECT_REPLY_MAX; t++) {
		unsigned char ch = (unsigned char)*t;
		st->reason[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : ' ';
	}
	while (o > 0 && st->reason[o - 1] == ' ')
		o--;
	st->reason[o] = '\0';
	if (o == 0)
		snprintf(st->reason, sizeof(st->reason), "rejected by filter");
	return st->reason;
}

static char *
user_root(const struct sieve_stage *st, const char *domain,
    const char *localpart)
{
	return xasprintf("%s/mail/%s/%s", st->data_dir, domain, localpart);
}

/* One user's actions as copies, forwards and log lines. */
static void
apply_user(struct sieve_stage *st, struct msg_commit *c,
    struct sieve_stage_user *u)
{
	const struct sieve_result *r = &u->r;
	char *prefix;
	const char *sender;

	u->applied = true;
	for (size_t i = 0; i < r->nactions; i++) {
		const struct sieve_action *a = &r->actions[i];
		const struct sieve_stage_copy *cp = &u->copies[i];

		switch (a->type) {
		case SIEVE_KEEP:
		case SIEVE_FILEINTO:
			msg_commit_local_copy(c, cp->dir, u->address, r->head,
			    r->head_len, cp->info);
			break;
		case SIEVE_REDIRECT:
			if (u->drop[i]) {	/* refused: implicit keep */
				if (cp->dir != NULL)	/* (a duplicate: none) */
					msg_commit_local_copy(c, cp->dir,
					    u->address, r->head, r->head_len,
					    NULL);
				break;
			}
			/* <> stays <>: a bounce or auto-reply redirected
			 * must not bounce back to the user (whose script
			 * would redirect that too, for ever) */
			sender = st->auth != NULL || *st->env_from == '\0' ?
			    st->env_from : u->address;
			prefix = xasprintf("%sX-Sieve-Redirected-From: %s\n",
			    u->arc_seal ? u->arc_seal : "", u->address);
			msg_commit_forward(c, sender, a->address, prefix,
			    r->head, r->head_len);
			free(prefix);
			break;
		case SIEVE_DISCARD:
			log_info("%s sieve discarded msgid=%s user=%s line=%d",
			    st->logid, st->msgid, u->address, a->line);
			break;
		case SIEVE_REJECT:
			log_info("%s sieve rejected msgid=%s user=%s line=%d",
			    st->logid, st->msgid, u->address, a->line);
			break;
		case SIEVE_VACATION:
			break;		/* sieve_apply_side */
		}
	}
}

void
sieve_apply_local(struct sieve_stage *st, struct msg_commit *c,
    const struct acct_target *t)
{
	struct sieve_stage_user *u = sieve_stage_user(st, t->address);
	char *dir;

	if (u != NULL) {
		if (!u->applied)
			apply_user(st, c, u);
		return;
	}
	dir = user_root(st, t->domain, t->localpart);
	msg_commit_local(c, dir, t->address);
	free(dir);
}

void
sieve_apply_route(struct sieve_stage *st, struct msg_commit *c,
    const struct acct_resolution *res, const char *orcpt, unsigned notify)
{
	for (int j = 0; j < res->n; j++) {
		const struct acct_target *t = &res->t[j];

		if (t->kind != ACCT_TARGET_LOCAL)
			msg_commit_remote(c, t->address, orcpt, notify);
		else
			sieve_apply_local(st, c, t);
	}
}

/* A message tem authors, the reply waiting for it. */
struct side {
	struct msg_commit	*c;
	int			*sent;		/* vacation: set on success */
};

static void
side_done(void *arg, int error)
{
	struct side *sd = arg;

	if (error == 0 && sd->sent != NULL)
		*sd->sent = 1;
	msg_commit_release(sd->c);
	free(sd);
}

static void
side_submit(struct sieve_stage *st, struct msg_commit *c,
    struct loop *origin, const char *rcpt, char *msg, size_t len, int *sent)
{
	struct side *sd = xcalloc(1, sizeof(*sd));

	sd->c = c;
	sd->sent = sent;
	msg_commit_hold(c);
	msg_author_submit(st->logid, "", rcpt, msg, len, origin, side_done,
	    sd);
}

void
sieve_apply_side(struct sieve_stage *st, struct msg_commit *c,
    struct loop *origin)
{
	for (size_t k = 0; k < st->nusers; k++) {
		struct sieve_stage_user *u = &st->users[k];
		char *msg, *root;
		size_t len;

		if (u->error != NULL) {
			/* a broken script never loses mail: kept, and told */
			log_warn("%s sieve script-failed msgid=%s user=%s "
			    "script=\"%s\" error=\"%s\"", st->logid, st->msgid,
			    u->address, u->script ? u->script : "",
			    u->error);
			msg = sieve_notice_error(u->address, u->script,
			    u->error, st->hostname, st->now, &len);
			if (msg != NULL) {
				root = user_root(st, u->domain, u->localpart);
				msg_commit_notice(c, root, u->address, msg,
				    len);
				free(root);
			}
		}
		if (!u->ran || !u->applied)
			continue;
		for (size_t i = 0; i < u->r.nactions; i++) {
			const struct sieve_action *a = &u->r.actions[i];

			if (a->type == SIEVE_REJECT && *st->env_from == '\0')
				/* RFC 5429 2.1: no MDN to <>, just dropped */
				log_info("%s sieve reject-dropped msgid=%s "
				    "user=%s from=<>", st->logid, st->msgid,
				    u->address);
			else if (a->type == SIEVE_REJECT &&
			    (msg = sieve_notice_reject(a, u->address,
			    st->src.head, st->src.head_len, st->env_from,
			    st->hostname, st->now, &len)) != NULL)
				side_submit(st, c, origin, st->env_from, msg,
				    len, NULL);
			else if (a->type == SIEVE_VACATION && !u->drop[i] &&
			    a->address != NULL &&
			    (msg = sieve_notice_vacation(a, u->address,
			    st->hostname, st->now, &len)) != NULL) {
				log_info("%s sieve vacation msgid=%s user=%s "
				    "to=<%s>", st->logid, st->msgid,
				    u->address, a->address);
				side_submit(st, c, origin, a->address, msg,
				    len, &u->sent[i]);
			}
		}
	}
}

/* ---- after the commit ----------------------------------------------- */

/* Whether u's run left something to remember once delivered: duplicate
 * ids, vacation replies sent, redirects made. */
static bool
user_memo(const struct sieve_stage *st, const struct sieve_stage_user *u)
{
	bool want = u->ran && u->r.ndups > 0;

	for (size_t i = 0; u->ran && i < u->r.nactions; i++)
		want |= u->sent[i] != 0 || (st->message_id != NULL &&
		    u->applied && u->r.actions[i].type == SIEVE_REDIRECT &&
		    !u->drop[i]);
	return want;
}

static void
finish_work(void *arg)
{
	struct sieve_stage *st = arg;

	for (size_t k = 0; k < st->nusers; k++) {
		struct sieve_stage_user *u = &st->users[k];
		struct sieve_state *s;

		if (!user_memo(st, u))
			continue;
		if ((s = sieve_state_open(st->data_dir, u->address)) == NULL) {
			log_warn("%s sieve state-failed user=%s", st->logid,
			    u->address);
			continue;
		}
		for (size_t i = 0; i < u->r.ndups; i++)
			sieve_state_dup_record(s, u->r.dups[i].handle,
			    u->r.dups[i].id,
			    st->now + (time_t)u->r.dups[i].seconds);
		for (size_t i = 0; i < u->r.nactions; i++) {
			const struct sieve_action *a = &u->r.actions[i];
			char *id;

			if (u->sent[i] && a->handle)
				sieve_state_vacation_record(s, a->handle,
				    a->address, st->now);
			if (a->type != SIEVE_REDIRECT || u->drop[i] ||
			    !u->applied || (id = sieve_stage_redirect_id(st,
			    a->address)) == NULL)
				continue;
			sieve_state_dup_record(s, SIEVE_STAGE_REDIRECT_HANDLE,
			    id, st->now + SIEVE_STAGE_REDIRECT_DUP_S);
			free(id);
		}
		sieve_state_close(&s);
	}
	/* freed here: no completion goes back to a loop that may be gone
	 * by then (the delivery engine's at a stop) */
	sieve_stage_free(&st);
}

void
sieve_apply_finish(struct sieve_stage **stp, int error)
{
	struct sieve_stage *st = *stp;
	bool want = false;

	*stp = NULL;
	if (st == NULL)
		return;
	for (size_t k = 0; k < st->nusers && error == 0; k++)
		want |= user_memo(st, &st->users[k]);
	if (!want) {
		sieve_stage_free(&st);
		return;
	}
	worker_submit(st->origin, finish_work, NULL, st);
}
