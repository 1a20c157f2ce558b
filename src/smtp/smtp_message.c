/*
 * smtp_message - DATA and BDAT: receive the message into the spool (the
 * pipeline's receive stage, msg/spool.h), add the trace headers as a
 * prefix, hand it to the commit stage (msg/commit.h), and release the
 * final reply only when every copy is durable.
 *
 * Trust: message bytes are untrusted and bounded by message_size_limit
 * (the decoder stops keeping bytes past it; "552 5.3.4" at the end). The
 * end of DATA is CRLF.CRLF only (smtp_data.c): bare LF or CR never end or
 * split a message. Memory per message is the spool's two buffers and the
 * header section, whatever the message size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <errno.h>

#include "conf/conf.h"
#include "mail/rfc5322.h"
#include "mail/tls_required.h"
#include "msg/check.h"
#include "msg/commit.h"
#include "msg/sieve_stage.h"
#include "msg/spool.h"
#include "smtp/smtp_session.h"
#include "util/io.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "util/metrics_list.h"

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

static void smtp_spool_ready(void *arg);

void
smtp_message_reset(struct smtp_session *s)
{
	msg_spool_free(&s->spool);
	s->spool_ending = false;
	buf_free(&s->trace);
	buf_free(&s->head);
}

int
smtp_message_body(const struct smtp_session *s, uint64_t *off,
    uint64_t *len)
{
	size_t hlen;

	msg_spool_head(s->spool, &hlen);
	*off = hlen;
	*len = msg_spool_size(s->spool) - hlen;
	return msg_spool_fd(s->spool);
}

/* Starts the trace with our Received line (RFC 5321 4.4) and opens the
 * spool. */
static void
smtp_message_begin(struct smtp_session *s)
{
	char date[RFC5322_DATE_MAX], *dir;

	smtp_message_reset(s);
	TEM_ASSERT(s->msgid[0] != '\0');	/* made at MAIL */
	rfc5322_date_format(time(NULL), date);
	buf_printf(&s->trace, "Received: from %s ([%s])\n\tby %s (tem) with %s "
	    "id %s", s->helo ? s->helo : "unknown", s->base.ip,
	    s->conf->hostname, smtp_protocol(s), s->msgid);
	if (s->base.tls)
		buf_printf(&s->trace, "\n\t(%s)", s->base.tls_info);
	if (s->nrcpt == 1) {
		char *to = smtp_path_to_string(&s->rcpts[0].path);
		buf_printf(&s->trace, "\n\tfor <%s>", to);
		free(to);
	}
	buf_printf(&s->trace, ";\n\t%s\n", date);
	dir = xasprintf("%s/spool", s->conf->data_dir);
	s->spool = msg_spool_new(server_thread_loop(s->base.thread), dir,
	    smtp_spool_ready, s);
	free(dir);
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
	if (!smtp_milter_data(s))
		smtp_data_accept(s);
}

void
smtp_data_accept(struct smtp_session *s)
{
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
static void smtp_message_written(struct smtp_session *s);

/* Decodes in[0..len) into the spool: DATA (dot) or BDAT (chunk) mode.
 * Returns the input consumed; *wait when the spool is full (stop
 * reading until smtp_spool_ready). */
static size_t
smtp_spool_feed(struct smtp_session *s, const char *in, size_t len,
    bool *done, bool *wait)
{
	struct buf *b;
	size_t room, old, used;

	*wait = false;
	if (!msg_spool_flush(s->spool)) {	/* a full buffer waits */
		*wait = true;
		return 0;
	}
	b = msg_spool_buf(s->spool, &room);
	/* a decoder writes at most one byte more than it consumes */
	if (len > room - 1)
		len = room - 1;
	old = b->len;
	if (s->data_mode == SMTP_DATA_DOT)
		used = smtp_data_feed(&s->dec, in, len, b, done);
	else {
		smtp_bdat_feed(&s->dec, in, len, b);
		used = len;
	}
	msg_spool_wrote(s->spool, old);
	/* once the header is complete the checks' taps get the body,
	 * from before the flush on: see spool.h */
	msg_checks_tap(s->checks, s->spool);
	*wait = !msg_spool_flush(s->spool);
	return used;
}

/* The spool took a buffer, or finished its last write. */
static void
smtp_spool_ready(void *arg)
{
	struct smtp_session *s = arg;

	if (session_closed(&s->base))
		return;		/* its free drops the spool */
	if (s->spool_ending) {
		if (!msg_spool_finish(s->spool))
			return;		/* the last buffer is being written */
		s->spool_ending = false;
		smtp_message_written(s);
		return;
	}
	smtp_session_resume(s);
}

/* Stops reading until the spool has room. */
static bool
smtp_spool_wait(struct smtp_session *s)
{
	session_busy(&s->base);
	return false;
}

static bool
smtp_bdat_input(struct smtp_session *s)
{
	const char *p;
	size_t len;
	bool wait = false, done;

	while (s->bdat_left > 0) {
		p = io_peek(s->base.io, &len);
		if (len == 0)
			return false;
		if (len > s->bdat_left)
			len = (size_t)s->bdat_left;
		if (s->bdat_error == NULL)
			len = smtp_spool_feed(s, p, len, &done, &wait);
		io_drain(s->base.io, len);
		s->bdat_left -= len;
		if (wait)
			return smtp_spool_wait(s);
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
	{
		size_t room, old;
		struct buf *b = msg_spool_buf(s->spool, &room);

		old = b->len;
		smtp_bdat_finish(&s->dec, b);	/* room >= 1: never full */
		msg_spool_wrote(s->spool, old);
		msg_checks_tap(s->checks, s->spool);
	}
	smtp_message_end(s);
	return smtp_running(s);
}

bool
smtp_message_input(struct smtp_session *s)
{
	const char *p;
	size_t len, used;
	bool done = false, wait = false;

	if (s->data_mode == SMTP_DATA_BDAT)
		return smtp_bdat_input(s);
	while (!done) {
		p = io_peek(s->base.io, &len);
		if (len == 0)
			return false;
		used = smtp_spool_feed(s, p, len, &done, &wait);
		io_drain(s->base.io, used);
		if (wait && !done)
			return smtp_spool_wait(s);
	}
	s->data_mode = SMTP_DATA_NONE;
	session_set_timeout(&s->base, s->conf->smtp_command_timeout);
	smtp_message_end(s);
	return smtp_running(s);
}

/* RFC 6409 8.2/8.3: a submitted message gets Date and Message-ID when it
 * has none, placed on top of its header section (s->head). */
static void
smtp_submission_fixup(struct smtp_session *s)
{
	const char *msg;
	size_t mlen;
	char date[RFC5322_DATE_MAX], id[17];

	msg = msg_spool_head(s->spool, &mlen);
	if (!rfc5322_header_has(msg, mlen, "Date")) {
		rfc5322_date_format(time(NULL), date);
		buf_printf(&s->head, "Date: %s\n", date);
	}
	if (!rfc5322_header_has(msg, mlen, "Message-ID")) {
		log_new_id(id);
		buf_printf(&s->head, "Message-ID: <%s.%s@%s>\n", s->msgid, id,
		    s->conf->hostname);
	}
}

/* The end of the message's bytes: the checks that need no spool, then
 * the spool's last write. */
static void
smtp_message_end(struct smtp_session *s)
{
	const char *reply = NULL;

	smtp_deadline(s, 0);
	if (s->dec.too_big) {
		reply = "552 5.3.4 Error: message file too big";
		METRIC_INC(M_MSG_REJECTED, MR_SIZE);
	}
	else if (s->dec.nul)
		reply = "554 5.6.0 Error: message contains NUL characters";
	else if (s->dec.received > SMTP_MAX_HOPS)
		reply = "554 5.4.6 Error: too many hops (mail loop)";
	if (reply) {
		smtp_reply(s, "%s", reply);
		smtp_tx_reset(s);
		return;
	}
	if (!msg_spool_finish(s->spool)) {
		s->spool_ending = true;		/* smtp_spool_ready goes on */
		session_busy(&s->base);
		return;
	}
	smtp_message_written(s);
}

/* The reply for a disk error (RFC 3463 4.3.1 / 4.3.0). */
static const char *
smtp_disk_reply(int error)
{
	if (error == ENOSPC || error == EDQUOT)
		return "452 4.3.1 Error: insufficient system storage, "
		    "try again later";
	return "451 4.3.0 Error: cannot store the message, try again later";
}

/* Every byte is in the spool (or failed to get there). */
static void
smtp_message_written(struct smtp_session *s)
{
	const char *head;
	size_t hlen;
	int err = msg_spool_error(s->spool);

	if (err != 0) {
		log_error("%s smtp spool-failed msgid=%s size=%llu error=\"%s\"",
		    s->base.id, s->msgid,
		    (unsigned long long)msg_spool_size(s->spool),
		    strerror(err));
		smtp_reply(s, "%s", smtp_disk_reply(err));
		smtp_tx_reset(s);
		if (s->base.busy)	/* called from smtp_spool_ready */
			smtp_session_resume(s);
		return;
	}
	if (!smtp_quota_data(s)) {
		smtp_tx_reset(s);
		if (s->base.busy)	/* called from smtp_spool_ready */
			smtp_session_resume(s);
		return;
	}
	buf_reset(&s->head);
	if (s->auth_done)
		smtp_submission_fixup(s);
	head = msg_spool_head(s->spool, &hlen);
	buf_append(&s->head, head, hlen);
	smtp_checks_end(s);
}

/* The commit stage answered: the final reply. */
static void
smtp_message_committed(struct msg_commit *c, int error, void *arg)
{
	struct smtp_session *s = arg;

	msg_commit_free(&c);
	sieve_apply_finish(&s->sieve, error);
	if (session_closed(&s->base)) {	/* the client left meanwhile */
		session_unref(&s->base);
		return;
	}
	if (error)
		smtp_reply(s, "%s", smtp_disk_reply(error));
	else {
		s->nmessages++;
		smtp_reply(s, "250 2.0.0 Ok: queued as %s", s->msgid);
		METRIC_INC(M_MSG_RECEIVED, 0);
	}
	smtp_tx_reset(s);
	smtp_session_resume(s);
	session_unref(&s->base);	/* the store's */
}

/* The store: Sieve first when a local recipient may have a script (not
 * for quarantined mail, which goes to Junk as it is), then routing and
 * commit. */
void
smtp_message_store(struct smtp_session *s, bool junk)
{
	smtp_enter_state(s, SMTP_ST_STORE);
	session_busy(&s->base);
	session_ref(&s->base);		/* the store's, until committed */
	if (!junk && smtp_sieve_start(s))
		return;
	smtp_message_commit(s, junk, NULL);
}

/*
 * Routing: local copies (one per distinct mailbox, junk: its Junk
 * folder; st: where the users' scripts put them) and remote recipients
 * (authenticated users' mail, aliases pointing outside); then the commit
 * of trace + header + spooled body.
 */
void
smtp_message_commit(struct smtp_session *s, bool junk,
    struct sieve_stage *st)
{
	struct msg_commit *c;
	char *sender = smtp_path_to_string(&s->mail);
	uint64_t off, len;
	int fd;

	c = msg_commit_new(s->base.id, s->msgid, sender);
	free(sender);
	for (unsigned i = 0; i < s->nrcpt; i++)
		if (st != NULL)
			sieve_apply_route(st, c, &s->rcpts[i].res,
			    s->rcpts[i].path.orcpt, s->rcpts[i].path.notify);
		else
			msg_commit_route(c, s->conf->data_dir,
			    &s->rcpts[i].res, s->rcpts[i].path.orcpt,
			    s->rcpts[i].path.notify, junk);
	msg_commit_envelope(c, s->mail.envid, s->mail.ret, s->mail.smtputf8,
	    s->mail.body == SMTP_BODY_8BITMIME || s->mail.smtputf8);
	/* RFC 8689 4.1: with REQUIRETLS the header field is ignored */
	msg_commit_tls(c, s->mail.requiretls, !s->mail.requiretls &&
	    tls_required_no(s->head.data, s->head.len));
	buf_append(&s->trace, s->head.data, s->head.len);
	msg_commit_head_len(c, s->trace.len);
	fd = smtp_message_body(s, &off, &len);
	if (fd < 0 && len > 0) {	/* a small message, all in memory */
		size_t mlen;
		const char *mem = msg_spool_mem(s->spool, &mlen);

		buf_append(&s->trace, mem + off, (size_t)len);
		len = 0;
	}
	if (st != NULL)
		sieve_apply_side(st, c, server_thread_loop(s->base.thread));
	s->sieve = st;
	msg_commit_start(c, &s->trace, fd, off, len,
	    server_thread_loop(s->base.thread), smtp_message_committed, s);
}
