/*
 * smtp_message - DATA and BDAT: receive the message, add the trace
 * headers, hand it to the store, and release the final reply only when
 * the store says every copy is durable.
 *
 * Trust: message bytes are untrusted and bounded by message_size_limit
 * (the decoder stops keeping bytes past it; "552 5.3.4" at the end). The
 * end of DATA is CRLF.CRLF only (smtp_data.c): bare LF or CR never end or
 * split a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "conf/conf.h"
#include "mail/rfc5322.h"
#include "smtp/smtp_session.h"
#include "queue/queue.h"
#include "store/maildir.h"
#include "util/io.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* More Received lines than this is a mail loop (RFC 5321 6.3 suggests
 * a limit; Postfix's hopcount_limit is 50). */
#define SMTP_MAX_HOPS	50

static const char *
smtp_protocol(const struct smtp_session *s)
{
	static const char *const names[2][2][2] = {
		{ { "ESMTP", "ESMTPA" }, { "ESMTPS", "ESMTPSA" } },
		{ { "UTF8SMTP", "UTF8SMTPA" }, { "UTF8SMTPS", "UTF8SMTPSA" } },
	};

	if (!s->esmtp)
		return "SMTP";
	return names[s->mail.smtputf8][s->base.tls][s->auth_done];
}

/* Starts the body with our Received line (RFC 5321 4.4). */
static void
smtp_message_begin(struct smtp_session *s)
{
	char date[RFC5322_DATE_MAX];

	buf_reset(&s->body);
	s->body.max = 0;
	rfc5322_date_format(time(NULL), date);
	log_new_id(s->msgid);
	buf_printf(&s->body, "Received: from %s ([%s])\n\tby %s (tem) with %s "
	    "id %s", s->helo ? s->helo : "unknown", s->base.ip,
	    s->conf->hostname, smtp_protocol(s), s->msgid);
	if (s->base.tls)
		buf_printf(&s->body, "\n\t(%s)", s->base.tls_info);
	if (s->nrcpt == 1) {
		char *to = smtp_path_to_string(&s->rcpts[0].path);
		buf_printf(&s->body, "\n\tfor <%s>", to);
		free(to);
	}
	buf_printf(&s->body, ";\n\t%s\n", date);
	s->body_start = s->body.len;
	/* Bytes past the limit are not kept; +1 lets the decoder see it. */
	s->body.max = s->body_start + s->conf->message_size_limit + 1;
	smtp_data_init(&s->dec, s->conf->message_size_limit);
}

static bool
smtp_message_ready(struct smtp_session *s, const char **reply_r)
{
	if (!smtp_in_tx(s)) {
		*reply_r = "503 5.5.1 Error: need MAIL command";
		return false;
	}
	if (s->nrcpt == 0) {
		*reply_r = "554 5.5.1 Error: no valid recipients";
		return false;
	}
	return true;
}

void
smtp_cmd_data(struct smtp_session *s, const struct smtp_command *cmd)
{
	const char *reply;

	if (smtp_command_check_no_args(cmd, &reply) < 0 ||
	    (s->bdat_started &&
	    (reply = "503 5.5.1 Error: DATA after BDAT") != NULL) ||
	    !smtp_message_ready(s, &reply)) {
		smtp_reply(s, "%s", reply);
		smtp_error(s);
		return;
	}
	smtp_message_begin(s);
	smtp_deadline(s, SMTP_DATA_DEADLINE);
	s->data_mode = SMTP_DATA_DOT;
	smtp_enter_state(s, SMTP_ST_DATA);
	session_set_timeout(&s->base, s->conf->smtp_data_timeout);
	smtp_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

void
smtp_cmd_bdat(struct smtp_session *s, const struct smtp_command *cmd)
{
	const char *reply = NULL;
	uint64_t size;
	bool last;

	if (smtp_parse_bdat(cmd->args, &size, &last, &reply) < 0) {
		/* The chunk size is unknown: the stream cannot be followed. */
		smtp_reply(s, "%s", reply);
		smtp_session_close(s);
		return;
	}
	s->bdat_error = NULL;
	if (!smtp_message_ready(s, &reply))
		s->bdat_error = reply;
	else if (!s->bdat_started) {
		smtp_message_begin(s);
		smtp_deadline(s, SMTP_DATA_DEADLINE);
		s->bdat_started = true;
		smtp_enter_state(s, SMTP_ST_BDAT);
	}
	s->bdat_left = size;
	s->bdat_last = last;
	s->data_mode = SMTP_DATA_BDAT;
	session_set_timeout(&s->base, s->conf->smtp_data_timeout);
}

static void smtp_message_end(struct smtp_session *s);

static bool
smtp_bdat_input(struct smtp_session *s)
{
	const char *p;
	size_t len;

	while (s->bdat_left > 0) {
		p = io_peek(s->base.io, &len);
		if (len == 0)
			return false;
		if (len > s->bdat_left)
			len = (size_t)s->bdat_left;
		if (s->bdat_error == NULL)
			smtp_bdat_feed(&s->dec, p, len, &s->body);
		io_drain(s->base.io, len);
		s->bdat_left -= len;
	}
	s->data_mode = SMTP_DATA_NONE;
	session_set_timeout(&s->base, s->conf->smtp_command_timeout);
	if (s->bdat_error) {
		smtp_reply(s, "%s", s->bdat_error);
		s->bdat_error = NULL;
		return smtp_error(s);
	}
	if (!s->bdat_last) {
		smtp_reply(s, "250 2.0.0 Ok: %llu octets received",
		    (unsigned long long)s->dec.size);
		return true;
	}
	smtp_bdat_finish(&s->dec, &s->body);
	smtp_message_end(s);
	return smtp_running(s);
}

bool
smtp_message_input(struct smtp_session *s)
{
	const char *p;
	size_t len, used;
	bool done = false;

	if (s->data_mode == SMTP_DATA_BDAT)
		return smtp_bdat_input(s);
	while (!done) {
		p = io_peek(s->base.io, &len);
		if (len == 0)
			return false;
		used = smtp_data_feed(&s->dec, p, len, &s->body, &done);
		io_drain(s->base.io, used);
	}
	s->data_mode = SMTP_DATA_NONE;
	session_set_timeout(&s->base, s->conf->smtp_command_timeout);
	smtp_message_end(s);
	return smtp_running(s);
}

/*
 * The hand-off: local copies go to the Maildir committer, remote
 * recipients (authenticated users' mail, aliases pointing outside) to the
 * queue. The final reply waits for both to be durable.
 */
struct smtp_store {
	struct maildir_job	 job;
	struct queue_new	 qn;
	struct smtp_session	*s;
	char			 msgid[17];
	int			 pending;	/* sinks not answered yet */
	bool			 failed;
	char			*sender;
};

static void smtp_store_settle(struct smtp_store *st);

/* Adds one maildir copy per distinct local mailbox. */
static void
smtp_store_add_local(struct smtp_store *st, const struct acct_target *t,
    bool junk)
{
	struct maildir_job *job = &st->job;
	struct maildir_rcpt *r;
	char *dir = xasprintf("%s/mail/%s/%s%s", st->s->conf->data_dir,
	    t->domain, t->localpart, junk ? "/.Junk" : "");

	for (int i = 0; i < job->nrcpt; i++)
		if (strcmp(job->rcpts[i].maildir, dir) == 0) {
			free(dir);
			return;
		}
	job->rcpts = xrealloc(job->rcpts,
	    (size_t)(job->nrcpt + 1) * sizeof(*job->rcpts));
	r = &job->rcpts[job->nrcpt++];
	memset(r, 0, sizeof(*r));
	r->maildir = dir;
	r->prefix = xasprintf("Return-Path: <%s>\nDelivered-To: %s\n",
	    st->sender, t->address);
	r->prefix_len = strlen(r->prefix);
	r->label = xstrdup(t->address);
}

/* Adds one queue recipient per distinct remote address. */
static void
smtp_store_add_remote(struct smtp_store *st, const struct acct_target *t,
    const struct smtp_path *rcpt)
{
	struct queue_msg *m = &st->qn.msg;
	struct queue_rcpt *r;

	for (int i = 0; i < m->nrcpt; i++)
		if (strcasecmp(m->rcpts[i].address, t->address) == 0)
			return;
	m->rcpts = xrealloc(m->rcpts, (size_t)(m->nrcpt + 1) * sizeof(*r));
	r = &m->rcpts[m->nrcpt++];
	memset(r, 0, sizeof(*r));
	r->address = xstrdup(t->address);
	r->orcpt = rcpt->orcpt ? xstrdup(rcpt->orcpt) : NULL;
	r->notify = rcpt->notify;
}

static void
smtp_store_free(struct smtp_store *st)
{
	maildir_job_clear(&st->job);
	for (int i = 0; i < st->qn.msg.nrcpt; i++) {
		free(st->qn.msg.rcpts[i].address);
		free(st->qn.msg.rcpts[i].orcpt);
	}
	free(st->qn.msg.rcpts);
	free(st->qn.msg.envid);
	free(st->sender);
	free(st);
}

static void
smtp_message_stored(struct maildir_job *job)
{
	struct smtp_store *st = job->arg;
	struct smtp_session *s = st->s;

	for (int i = 0; i < job->nrcpt; i++) {
		struct maildir_rcpt *r = &job->rcpts[i];
		if (r->result) {
			st->failed = true;
			log_error("%s smtp store-failed msgid=%s from=<%s> "
			    "mailbox=%s error=\"%s\"", s->base.id, st->msgid,
			    st->sender, r->maildir, strerror(r->result));
		} else
			log_info("%s smtp delivered msgid=%s from=<%s> "
			    "to=<%s> size=%zu file=%s", s->base.id, st->msgid,
			    st->sender, r->label, job->body_len, r->filename);
	}
	smtp_store_settle(st);
}

static void
smtp_message_queued(struct queue_new *qn, int error, void *arg)
{
	struct smtp_store *st = arg;
	struct smtp_session *s = st->s;

	if (error) {
		st->failed = true;
		log_error("%s smtp queue-failed msgid=%s from=<%s> error=\"%s\"",
		    s->base.id, st->msgid, st->sender, strerror(error));
	} else
		for (int i = 0; i < qn->msg.nrcpt; i++)
			log_info("%s smtp queued msgid=%s queue=%s from=<%s> "
			    "to=<%s> size=%zu", s->base.id, st->msgid,
			    qn->msg.id, st->sender, qn->msg.rcpts[i].address,
			    qn->content_len);
	smtp_store_settle(st);
}

/* One sink answered; the last one releases the reply. */
static void
smtp_store_settle(struct smtp_store *st)
{
	struct smtp_session *s = st->s;

	if (--st->pending > 0)
		return;
	if (session_closed(&s->base)) {	/* the client left meanwhile */
		smtp_store_free(st);
		session_unref(&s->base);
		return;
	}
	if (st->failed)
		smtp_reply(s, "451 4.3.0 Error: cannot store the message, "
		    "try again later");
	else {
		s->nmessages++;
		smtp_reply(s, "250 2.0.0 Ok: queued as %s", st->msgid);
	}
	smtp_store_free(st);
	smtp_tx_reset(s);
	smtp_session_resume(s);
	session_unref(&s->base);	/* the store's */
}

/* True when the header section (up to the first empty line) of msg has
 * a field called name (with its colon, e.g. "Date:"). */
static bool
smtp_header_has(const char *msg, size_t len, const char *name)
{
	const char *p = msg, *end = msg + len, *nl;
	size_t n = strlen(name);

	while (p < end && *p != '\n') {
		if ((size_t)(end - p) >= n && strncasecmp(p, name, n) == 0)
			return true;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return false;
}

/* RFC 6409 8.2/8.3: a submitted message gets Date and Message-ID when it
 * has none, placed right after our Received line. */
static void
smtp_submission_fixup(struct smtp_session *s)
{
	const char *msg = s->body.data + s->body_start;
	size_t mlen = s->body.len - s->body_start;
	struct buf add;
	char date[RFC5322_DATE_MAX], id[17];

	buf_init(&add, 0);
	if (!smtp_header_has(msg, mlen, "Date:")) {
		rfc5322_date_format(time(NULL), date);
		buf_printf(&add, "Date: %s\n", date);
	}
	if (!smtp_header_has(msg, mlen, "Message-ID:")) {
		log_new_id(id);
		buf_printf(&add, "Message-ID: <%s.%s@%s>\n", s->msgid, id,
		    s->conf->hostname);
	}
	if (add.len > 0) {
		size_t tail = s->body.len - s->body_start;
		s->body.max = 0;
		buf_append(&s->body, add.data, add.len);	/* grow */
		memmove(s->body.data + s->body_start + add.len,
		    s->body.data + s->body_start, tail);
		memcpy(s->body.data + s->body_start, add.data, add.len);
	}
	buf_free(&add);
}

static void
smtp_message_end(struct smtp_session *s)
{
	const char *reply = NULL;

	smtp_deadline(s, 0);
	if (s->dec.too_big)
		reply = "552 5.3.4 Error: message file too big";
	else if (s->dec.nul)
		reply = "554 5.6.0 Error: message contains NUL characters";
	else if (s->dec.received > SMTP_MAX_HOPS)
		reply = "554 5.4.6 Error: too many hops (mail loop)";
	if (reply) {
		smtp_reply(s, "%s", reply);
		smtp_tx_reset(s);
		return;
	}
	if (s->auth_done)
		smtp_submission_fixup(s);
	smtp_policy_end(s);
}

void
smtp_message_store(struct smtp_session *s, bool junk)
{
	struct smtp_store *st;

	st = xmalloc(sizeof(*st));
	st->s = s;
	memcpy(st->msgid, s->msgid, sizeof(st->msgid));
	st->sender = smtp_path_to_string(&s->mail);
	for (unsigned i = 0; i < s->nrcpt; i++)
		for (int j = 0; j < s->rcpts[i].res.n; j++) {
			const struct acct_target *t = &s->rcpts[i].res.t[j];
			if (t->kind == ACCT_TARGET_LOCAL)
				smtp_store_add_local(st, t, junk);
			else
				smtp_store_add_remote(st, t, &s->rcpts[i].path);
		}
	smtp_enter_state(s, SMTP_ST_STORE);
	session_busy(&s->base);
	session_ref(&s->base);		/* the store's, until settled */
	st->pending = (st->job.nrcpt > 0) + (st->qn.msg.nrcpt > 0);
	if (st->pending == 0) {		/* aliases that lead nowhere */
		st->pending = 1;
		smtp_store_settle(st);
		return;
	}
	if (st->job.nrcpt > 0) {
		st->job.body = s->body.data;
		st->job.body_len = s->body.len;
		st->job.origin = server_thread_loop(s->base.thread);
		st->job.done = smtp_message_stored;
		st->job.arg = st;
		maildir_submit(&st->job);
	}
	if (st->qn.msg.nrcpt > 0) {
		st->qn.msg.sender = st->sender;
		st->qn.msg.envid = s->mail.envid ? xstrdup(s->mail.envid) : NULL;
		st->qn.msg.ret = s->mail.ret;
		st->qn.msg.smtputf8 = s->mail.smtputf8;
		st->qn.msg.eightbit = s->mail.body == SMTP_BODY_8BITMIME ||
		    s->mail.smtputf8;
		st->qn.content = s->body.data;
		st->qn.content_len = s->body.len;
		queue_submit(&st->qn, server_thread_loop(s->base.thread),
		    smtp_message_queued, st);
	}
}
