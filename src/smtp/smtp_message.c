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
#include <time.h>

#include "conf/conf.h"
#include "smtp/smtp_session.h"
#include "store/maildir.h"
#include "util/io.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* More Received lines than this is a mail loop (RFC 5321 6.3 suggests
 * a limit; Postfix's hopcount_limit is 50). */
#define SMTP_MAX_HOPS	50

struct smtp_store {
	struct maildir_job	 job;
	struct smtp_session	*s;
	char			 msgid[17];
};

static const char *
smtp_protocol(const struct smtp_session *s)
{
	static const char *const names[2][2][2] = {
		{ { "ESMTP", "ESMTPA" }, { "ESMTPS", "ESMTPSA" } },
		{ { "UTF8SMTP", "UTF8SMTPA" }, { "UTF8SMTPS", "UTF8SMTPSA" } },
	};

	if (!s->esmtp)
		return "SMTP";
	return names[s->mail.smtputf8][s->tls][s->auth_done];
}

static void
rfc5322_date(char *out, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;
	static const char *const days[] =
	    { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

	gmtime_r(&now, &tm);
	snprintf(out, len, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Starts the body with our Received line (RFC 5321 4.4). */
static void
smtp_message_begin(struct smtp_session *s)
{
	char date[64];

	buf_reset(&s->body);
	s->body.max = 0;
	rfc5322_date(date, sizeof(date));
	log_new_id(s->msgid);
	buf_printf(&s->body, "Received: from %s ([%s])\n\tby %s (tem) with %s "
	    "id %s", s->helo ? s->helo : "unknown", s->base.ip,
	    s->conf->hostname, smtp_protocol(s), s->msgid);
	if (s->tls)
		buf_printf(&s->body, "\n\t(%s)", s->tls_info);
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
	if (!s->in_tx) {
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
	io_set_timeout(s->io, s->conf->smtp_data_timeout);
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
	}
	s->bdat_left = size;
	s->bdat_last = last;
	s->data_mode = SMTP_DATA_BDAT;
	io_set_timeout(s->io, s->conf->smtp_data_timeout);
}

static void smtp_message_end(struct smtp_session *s);

static bool
smtp_bdat_input(struct smtp_session *s)
{
	const char *p;
	size_t len;

	while (s->bdat_left > 0) {
		p = io_peek(s->io, &len);
		if (len == 0)
			return false;
		if (len > s->bdat_left)
			len = (size_t)s->bdat_left;
		if (s->bdat_error == NULL)
			smtp_bdat_feed(&s->dec, p, len, &s->body);
		io_drain(s->io, len);
		s->bdat_left -= len;
	}
	s->data_mode = SMTP_DATA_NONE;
	io_set_timeout(s->io, s->conf->smtp_command_timeout);
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
	return !s->busy && !s->quitting;
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
		p = io_peek(s->io, &len);
		if (len == 0)
			return false;
		used = smtp_data_feed(&s->dec, p, len, &s->body, &done);
		io_drain(s->io, used);
	}
	s->data_mode = SMTP_DATA_NONE;
	io_set_timeout(s->io, s->conf->smtp_command_timeout);
	smtp_message_end(s);
	return !s->busy && !s->quitting;
}

static void smtp_message_stored(struct maildir_job *job);

/* Adds one maildir copy per distinct local mailbox. */
static void
smtp_store_add(struct smtp_store *st, const struct acct_target *t,
    const char *sender)
{
	struct maildir_job *job = &st->job;
	struct maildir_rcpt *r;
	char *dir = xasprintf("%s/mail/%s/%s", st->s->conf->data_dir,
	    t->domain, t->localpart);

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
	    sender, t->address);
	r->prefix_len = strlen(r->prefix);
	r->label = xstrdup(t->address);
}

static void
smtp_message_end(struct smtp_session *s)
{
	struct smtp_store *st;
	const char *reply = NULL;
	char *sender;

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
	st = xmalloc(sizeof(*st));
	st->s = s;
	memcpy(st->msgid, s->msgid, sizeof(st->msgid));
	sender = smtp_path_to_string(&s->mail);
	for (unsigned i = 0; i < s->nrcpt; i++)
		for (int j = 0; j < s->rcpts[i].res.n; j++)
			if (s->rcpts[i].res.t[j].kind == ACCT_TARGET_LOCAL)
				smtp_store_add(st, &s->rcpts[i].res.t[j],
				    sender);
	free(sender);
	st->job.body = s->body.data;
	st->job.body_len = s->body.len;
	st->job.origin = server_thread_loop(s->base.thread);
	st->job.done = smtp_message_stored;
	st->job.arg = st;
	s->busy = true;
	s->store_pending = true;
	io_pause_read(s->io);
	maildir_submit(&st->job);
}

static void
smtp_message_stored(struct maildir_job *job)
{
	struct smtp_store *st = job->arg;
	struct smtp_session *s = st->s;
	char *from = smtp_path_to_string(&s->mail);
	int failed = 0;

	s->store_pending = false;
	for (int i = 0; i < job->nrcpt; i++) {
		struct maildir_rcpt *r = &job->rcpts[i];
		if (r->result) {
			failed++;
			log_error("%s smtp store-failed msgid=%s from=<%s> "
			    "mailbox=%s error=\"%s\"", s->base.id, st->msgid,
			    from, r->maildir, strerror(r->result));
		} else
			log_info("%s smtp delivered msgid=%s from=<%s> "
			    "to=<%s> size=%zu file=%s", s->base.id, st->msgid,
			    from, r->label, job->body_len, r->filename);
	}
	free(from);
	maildir_job_clear(job);
	if (s->dead) {
		free(st);
		smtp_session_free_dead(s);
		return;
	}
	if (failed)
		smtp_reply(s, "451 4.3.0 Error: cannot store the message, "
		    "try again later");
	else {
		s->nmessages++;
		smtp_reply(s, "250 2.0.0 Ok: queued as %s", st->msgid);
	}
	free(st);
	smtp_tx_reset(s);
	smtp_session_resume(s);
}
