/*
 * milter_chain - the session's filters in a row (see milter_chain.h):
 * their connections, the macros, the SMTP-stage events (connect, helo,
 * mail, rcpt), refusals and the default action for a broken filter. The
 * message phase is milter_message.c.
 *
 * Trust: replies come checked from milter_conn.c; reply texts a filter
 * sends reach the client only through milter_replycode_parse (a valid
 * 4xx/5xx reply), else the filter counts as broken.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "conf/conf.h"
#include "milter/milter_chain_int.h"
#include "msg/spool.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xmalloc.h"

static void chain_event_step(struct milter_chain *ch);
static bool milter_refusal(struct milter_chain *ch,
    const struct milter_reply *r);

static const char *const action_names[] = { "tempfail", "accept", "reject" };

void
milter_chain_macro(struct milter_chain *ch, enum milter_macro m,
    const char *value)
{
	free(ch->macro[m]);
	ch->macro[m] = value ? xstrdup(value) : NULL;
}

void
milter_send(struct milter_chain *ch, unsigned i, char cmd, struct buf *pkt,
    unsigned timeout)
{
	struct buf out;

	buf_init(&out, 0);
	milter_macros_put(ch, i, cmd, &out);
	buf_append(&out, pkt->data, pkt->len);
	buf_reset(pkt);
	milter_conn_send(ch->f[i].conn, &out, timeout);
	buf_free(&out);
}

static void
answer_clear(struct milter_answer *a)
{
	buf_free(&a->reply);
	buf_free(&a->reason);
	for (unsigned i = 0; i < a->nrcpt_add; i++)
		free(a->rcpt_add[i]);
	for (unsigned i = 0; i < a->nrcpt_del; i++)
		free(a->rcpt_del[i]);
	free(a->rcpt_add);
	free(a->rcpt_del);
	free(a->new_from);
	msg_spool_free(&a->new_body);
	memset(a, 0, sizeof(*a));
	buf_init(&a->reply, 0);
	buf_init(&a->reason, 0);
}

/* Gives the answer, from the loop (never inside the caller's call). */
static void
chain_post(void *arg)
{
	struct milter_chain *ch = arg;
	struct milter_answer a = ch->ans;

	if (ch->op == MOP_MESSAGE)
		milter_message_clear(ch);
	ch->settling = false;
	ch->op = MOP_NONE;
	ch->rcpt_rej = false;
	memset(&ch->ans, 0, sizeof(ch->ans));
	answer_clear(&ch->ans);
	ch->in_done = true;
	ch->done(ch->arg, &a);
	answer_clear(&a);
	buf_free(&a.reply);
	buf_free(&a.reason);
	ch->in_done = false;
	if (ch->freed)
		milter_chain_free(&ch);
}

void
milter_settle(struct milter_chain *ch)
{
	ch->settling = true;
	loop_timer_add(ch->post, 0);
}

bool
milter_default_answer(struct milter_chain *ch)
{
	if (ch->default_action == CONF_MILTER_ACCEPT)
		return false;
	buf_reset(&ch->ans.reply);
	if (ch->default_action == CONF_MILTER_REJECT) {
		ch->ans.action = MSG_REJECT;
		buf_puts(&ch->ans.reply, "550 5.7.1 Command rejected");
	} else {
		ch->ans.action = MSG_TEMPFAIL;
		buf_puts(&ch->ans.reply, "451 4.7.1 Service unavailable - "
		    "try again later");
	}
	return true;
}

void
milter_refuse(struct milter_chain *ch, const struct milter_reply *r)
{
	if (r->code == SMFIR_CONN_FAIL)
		milter_filter_failed(ch, ch->cur, "filter asked to fail");
	else if (!milter_refusal(ch, r))
		milter_filter_failed(ch, ch->cur, "bad reply code");
	else
		milter_settle(ch);
}

static bool
milter_refusal(struct milter_chain *ch, const struct milter_reply *r)
{
	struct buf status, text;
	size_t first;
	int code;

	buf_reset(&ch->ans.reply);
	if (r->code == SMFIR_REJECT) {
		ch->ans.action = MSG_REJECT;
		buf_puts(&ch->ans.reply, "550 5.7.1 Command rejected");
	} else if (r->code == SMFIR_TEMPFAIL) {
		ch->ans.action = MSG_TEMPFAIL;
		buf_puts(&ch->ans.reply, "451 4.7.1 Service unavailable - "
		    "try again later");
	} else {
		buf_init(&status, 0);
		buf_init(&text, 0);
		if (milter_replycode_parse(r->str1, &code, &status,
		    &text) < 0) {
			buf_free(&status);
			buf_free(&text);
			return false;
		}
		buf_free(&status);
		buf_free(&text);
		/* the text as the filter wrote it (its own status codes
		 * and continuation lines), which the parser checked */
		ch->ans.action = code >= 500 ? MSG_REJECT : MSG_TEMPFAIL;
		buf_puts(&ch->ans.reply, r->str1);
	}
	/* one log line: the reply's first line */
	first = strcspn(buf_cstr(&ch->ans.reply), "\r\n");
	log_info("%s milter %s %s stage=%s reply=\"%.*s\"", ch->logid,
	    ch->f[ch->cur].name, ch->ans.action == MSG_REJECT ? "reject" :
	    "tempfail", milter_cmd_name(ch->cmd),
	    (int)(first > 200 ? 200 : first), buf_cstr(&ch->ans.reply));
	return true;
}

void
milter_chain_next(struct milter_chain *ch)
{
	ch->cur++;
	if (ch->op == MOP_EVENT)
		chain_event_step(ch);
	else if (ch->op == MOP_MESSAGE) {
		ch->mstep = MS_DATA;
		milter_message_step(ch);
	}
}

void
milter_filter_failed(struct milter_chain *ch, unsigned i, const char *why)
{
	struct milter_filter *f = &ch->f[i];

	log_warn("%s milter %s error=\"%s\" action=%s", ch->logid, f->name,
	    why, action_names[ch->default_action]);
	milter_conn_free(&f->conn);
	f->st = ch->default_action == CONF_MILTER_ACCEPT ? MF_OFF : MF_FAILED;
	/* not the filter the operation waits for, or one that already
	 * answered its EOM (its replaced body is being finished) */
	if (ch->op == MOP_NONE || ch->settling || ch->cur != i ||
	    ch->eom_final)
		return;
	if (ch->op == MOP_MESSAGE)
		milter_message_clear(ch);
	if (milter_default_answer(ch)) {
		milter_settle(ch);
		return;
	}
	milter_chain_next(ch);
}

/* A final reply to an SMTP-stage event. */
static void
chain_event_reply(struct milter_chain *ch, struct milter_filter *f,
    const struct milter_reply *r)
{
	bool session = ch->cmd == SMFIC_CONNECT || ch->cmd == SMFIC_HELO;

	if (ch->rcpt_rej) {	/* told, not asked */
		milter_chain_next(ch);
		return;
	}
	switch (r->code) {
	case SMFIR_ACCEPT:	/* this filter is done with us */
		if (session)
			f->st = MF_OFF;
		else
			f->tx_off = true;
		break;
	case SMFIR_SHUTDOWN:
		f->st = MF_OFF;
		milter_conn_free(&f->conn);
		break;
	case SMFIR_DISCARD:
		if (session)
			break;	/* only a transaction can be discarded */
		log_info("%s milter %s discard stage=%s", ch->logid, f->name,
		    milter_cmd_name(ch->cmd));
		ch->discard = true;
		milter_settle(ch);
		return;
	case SMFIR_REJECT:
	case SMFIR_TEMPFAIL:
	case SMFIR_REPLYCODE:
	case SMFIR_CONN_FAIL:
		milter_refuse(ch, r);
		return;
	default:		/* continue, skip */
		break;
	}
	milter_chain_next(ch);
}

/* The conn's news for filter f. */
static void
chain_conn_fn(void *arg, const struct milter_reply *r, const char *err)
{
	struct milter_filter *f = arg;
	struct milter_chain *ch = f->ch;
	bool current = ch->op != MOP_NONE && !ch->settling &&
	    ch->cur == f->idx;

	if (r == NULL) {
		milter_filter_failed(ch, f->idx, err);
		return;
	}
	if (r->code == SMFIR_OPTNEG) {
		if (!milter_macros_negotiated(ch, f, r)) {
			milter_filter_failed(ch, f->idx, "bad macro list");
			return;
		}
		f->st = MF_READY;
		f->proto = r->protocol;
		log_debug("%s milter %s ready version=%u actions=0x%x "
		    "protocol=0x%x", ch->logid, f->name, r->version,
		    r->actions, r->protocol);
		if (current && ch->op == MOP_EVENT)
			chain_event_step(ch);
		else if (current)
			milter_message_step(ch);
		return;
	}
	if (!current) {
		milter_filter_failed(ch, f->idx, "reply out of turn");
		return;
	}
	if (ch->op == MOP_MESSAGE)
		milter_message_reply(ch, r);
	else if (milter_reply_final(r->code))
		chain_event_reply(ch, f, r);
	else
		milter_filter_failed(ch, f->idx,
		    "modification before the end of the message");
}

/* The SMFIP_NO* flag that leaves a stage out, and the NR_* one that
 * means it gets no reply. */
static void
stage_flags(char cmd, uint32_t *no, uint32_t *nr)
{
	switch (cmd) {
	case SMFIC_CONNECT: *no = SMFIP_NOCONNECT; *nr = SMFIP_NR_CONN; break;
	case SMFIC_HELO:    *no = SMFIP_NOHELO;    *nr = SMFIP_NR_HELO; break;
	case SMFIC_MAIL:    *no = SMFIP_NOMAIL;    *nr = SMFIP_NR_MAIL; break;
	case SMFIC_DATA:    *no = SMFIP_NODATA;    *nr = SMFIP_NR_DATA; break;
	default:            *no = SMFIP_NORCPT;    *nr = SMFIP_NR_RCPT; break;
	}
}

/* Offers the event to each filter from ch->cur on. */
static void
chain_event_step(struct milter_chain *ch)
{
	struct buf pkt;
	uint32_t no, nr;
	bool session = ch->cmd == SMFIC_CONNECT || ch->cmd == SMFIC_HELO;

	stage_flags(ch->cmd, &no, &nr);
	for (; ch->cur < ch->n; ch->cur++) {
		struct milter_filter *f = &ch->f[ch->cur];

		if (f->st == MF_OFF || (!session && f->tx_off) ||
		    (ch->rcpt_rej && (f->st != MF_READY ||
		    !(f->proto & SMFIP_RCPT_REJ))))
			continue;
		if (f->st == MF_CONNECTING)
			return;		/* resumed by its negotiation */
		if (f->st == MF_FAILED) {
			if (milter_default_answer(ch)) {
				milter_settle(ch);
				return;
			}
			continue;
		}
		if (f->proto & no)
			continue;
		if (ch->cmd == SMFIC_MAIL)
			f->in_tx = true;
		buf_init(&pkt, 0);
		buf_append(&pkt, ch->evpkt.data, ch->evpkt.len);
		milter_send(ch, ch->cur, ch->cmd, &pkt,
		    (f->proto & nr) ? 0 : ch->command_timeout);
		buf_free(&pkt);
		if (!(f->proto & nr))
			return;		/* chain_conn_fn goes on */
	}
	milter_settle(ch);
}

void
milter_chain_event(struct milter_chain *ch, char cmd,
    const char *const *args, size_t nargs, milter_done_fn *done, void *arg)
{
	char host[80];

	TEM_ASSERT(ch->op == MOP_NONE);
	ch->op = MOP_EVENT;
	ch->cmd = cmd;
	ch->cur = 0;
	ch->done = done;
	ch->arg = arg;
	ch->ans.action = MSG_ACCEPT;
	buf_reset(&ch->evpkt);
	switch (cmd) {
	case SMFIC_CONNECT:
		snprintf(host, sizeof(host), "[%s]", ch->client_ip);
		milter_put_connect(&ch->evpkt, host, ch->have_peer ?
		    (const struct sockaddr *)&ch->peer : NULL);
		break;
	case SMFIC_HELO:
		milter_put_helo(&ch->evpkt, ch->macro[MILTER_M_HELO] ?
		    ch->macro[MILTER_M_HELO] : "");
		break;
	case SMFIC_MAIL:
		milter_put_mail(&ch->evpkt, args, nargs);
		break;
	case SMFIC_DATA:	/* the message phase sends no second one */
		milter_put_simple(&ch->evpkt, SMFIC_DATA);
		ch->data_done = true;
		break;
	default:
		milter_put_rcpt(&ch->evpkt, args, nargs);
		break;
	}
	if (ch->discard && (cmd == SMFIC_RCPT || cmd == SMFIC_DATA)) {
		milter_settle(ch);	/* the message goes nowhere anyway */
		return;
	}
	chain_event_step(ch);
}

bool
milter_chain_active(const struct milter_chain *ch)
{
	for (unsigned i = 0; i < ch->n; i++)
		if (ch->f[i].st != MF_OFF)
			return true;
	return false;
}

bool
milter_chain_rcpt_rejected(struct milter_chain *ch, const char *const *args,
    size_t nargs, milter_done_fn *done, void *arg)
{
	unsigned i;

	for (i = 0; i < ch->n; i++)
		if (ch->f[i].st == MF_READY && !ch->f[i].tx_off &&
		    (ch->f[i].proto & SMFIP_RCPT_REJ))
			break;
	if (i == ch->n || ch->op != MOP_NONE)
		return false;
	ch->rcpt_rej = true;
	milter_chain_event(ch, SMFIC_RCPT, args, nargs, done, arg);
	return true;
}

void
milter_chain_abort(struct milter_chain *ch)
{
	struct buf pkt;

	if (ch == NULL || ch->op != MOP_NONE)
		return;
	buf_init(&pkt, 0);
	for (unsigned i = 0; i < ch->n; i++) {
		struct milter_filter *f = &ch->f[i];

		if (f->st != MF_READY || !f->in_tx)
			continue;
		milter_put_simple(&pkt, SMFIC_ABORT);
		milter_conn_send(f->conn, &pkt, 0);
	}
	buf_free(&pkt);
	milter_tx_clear(ch);
}

struct milter_chain *
milter_chain_new(const struct milter_info *info)
{
	struct milter_chain *ch = xcalloc(1, sizeof(*ch));

	ch->loop = info->loop;
	ch->logid = xstrdup(info->logid);
	ch->connect_timeout = info->connect_timeout;
	ch->command_timeout = info->command_timeout;
	ch->content_timeout = info->content_timeout;
	ch->default_action = info->default_action;
	ch->hostname = xstrdup(info->hostname);
	ch->daemon = xstrdup(info->daemon_name);
	ch->client_ip = xstrdup(info->client_ip);
	ch->spool_dir = xstrdup(info->spool_dir);
	ch->size_limit = info->size_limit;
	if (info->peer && (info->peer->sa_family == AF_INET ||
	    info->peer->sa_family == AF_INET6)) {
		const struct sockaddr_in *sin = (const void *)info->peer;
		memcpy(&ch->peer, info->peer, info->peer->sa_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
		ch->have_peer = true;
		/* sin_port and sin6_port sit at the same offset */
		snprintf(ch->client_port, sizeof(ch->client_port), "%u",
		    ntohs(sin->sin_port));
	}
	buf_init(&ch->evpkt, 0);
	buf_init(&ch->repl_wait, 0);
	answer_clear(&ch->ans);
	ch->post = loop_timer_new(ch->loop, chain_post, ch);
	ch->bfd = -1;
	for (unsigned i = 0; i < info->nspecs && i < MILTER_FILTERS_MAX; i++) {
		struct milter_filter *f = &ch->f[ch->n];

		f->ch = ch;
		f->idx = ch->n++;
		f->name = xstrdup(info->specs[i]);
		if (conf_parse_milter(f->name, &f->sa, &f->salen) < 0) {
			f->st = MF_FAILED;	/* conf checked it: never */
			continue;
		}
		f->conn = milter_conn_open(ch->loop,
		    (const struct sockaddr *)&f->sa, f->salen,
		    ch->connect_timeout, ch->command_timeout, chain_conn_fn, f);
	}
	return ch;
}

void
milter_chain_free(struct milter_chain **chp)
{
	struct milter_chain *ch = *chp;
	struct buf pkt;

	if (ch == NULL)
		return;
	*chp = NULL;
	if (ch->in_done) {
		ch->freed = true;	/* chain_post frees it */
		return;
	}
	buf_init(&pkt, 0);
	for (unsigned i = 0; i < ch->n; i++) {
		if (ch->f[i].st == MF_READY && ch->f[i].conn) {
			milter_put_simple(&pkt, SMFIC_QUIT);
			milter_conn_send(ch->f[i].conn, &pkt, 0);
		}
		milter_conn_free(&ch->f[i].conn);
		milter_macros_free(&ch->f[i]);
		free(ch->f[i].name);
	}
	buf_free(&pkt);
	milter_message_clear(ch);
	milter_tx_clear(ch);
	loop_timer_free(&ch->post);
	answer_clear(&ch->ans);
	buf_free(&ch->ans.reply);
	buf_free(&ch->ans.reason);
	buf_free(&ch->evpkt);
	buf_free(&ch->repl_wait);
	for (unsigned i = 0; i < MILTER_M_COUNT; i++)
		free(ch->macro[i]);
	free(ch->logid);
	free(ch->hostname);
	free(ch->daemon);
	free(ch->client_ip);
	free(ch->spool_dir);
	free(ch);
}
