/*
 * smtp_sieve - the Sieve stage of an SMTP transaction (msg/sieve_stage.h):
 * after the checks and milters, before routing. Asked on the loop
 * whether any local recipient may have a script (no I/O); only then one
 * worker job runs the scripts, and its results go to the routing
 * (smtp_message_commit), or, when every recipient rejected the message,
 * to a 550.
 *
 * Trust: the message and its envelope are untrusted; what the scripts
 * decide is bounded and checked in msg/sieve_*.c.
 */
#include <stdlib.h>
#include <string.h>

#include "auth/resolve.h"
#include "conf/conf.h"
#include "msg/sieve_stage.h"
#include "msg/spool.h"
#include "smtp/smtp_session.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "util/metrics_list.h"

static bool
smtp_sieve_wanted(const struct smtp_session *s)
{
	for (unsigned i = 0; i < s->nrcpt; i++)
		for (int j = 0; j < s->rcpts[i].res.n; j++)
			if (s->rcpts[i].res.t[j].kind == ACCT_TARGET_LOCAL &&
			    sieve_stage_wanted(s->rcpts[i].res.t[j].address))
				return true;
	return false;
}

/* The 550's reason when every recipient rejected, else NULL. */
static const char *
smtp_sieve_rejected(struct smtp_session *s, struct sieve_stage *st)
{
	const struct acct_resolution **res;
	const char *reason;

	res = xcalloc(s->nrcpt + 1, sizeof(*res));
	for (unsigned i = 0; i < s->nrcpt; i++)
		res[i] = &s->rcpts[i].res;
	reason = sieve_apply_reject_all(st, res, s->nrcpt);
	free(res);
	return reason;
}

static void
smtp_sieve_done(struct sieve_stage *st, void *arg)
{
	struct smtp_session *s = arg;
	const char *reason;

	if (session_closed(&s->base)) {
		sieve_stage_free(&st);
		session_unref(&s->base);
		return;
	}
	if (st->error != 0) {	/* a script unreadable now (logged) */
		smtp_reply(s, "451 4.3.0 Error: cannot run the delivery "
		    "filter, try again later");
		sieve_stage_free(&st);
		smtp_tx_reset(s);
		smtp_session_resume(s);
		session_unref(&s->base);	/* the store's */
		return;
	}
	reason = smtp_sieve_rejected(s, st);
	if (reason == NULL) {
		smtp_message_commit(s, false, st);
		return;
	}
	/* every recipient refused it: the sender hears it now (RFC 5429
	 * 2.1: a reject at SMTP time rather than an MDN) */
	log_info("%s smtp sieve-rejected msgid=%s reason=\"%s\"", s->base.id,
	    s->msgid, reason);
	smtp_reply(s, "550 5.7.1 %s", reason);
	METRIC_INC(M_MSG_REJECTED, MR_SIEVE);
	sieve_stage_free(&st);
	smtp_tx_reset(s);
	smtp_session_resume(s);
	session_unref(&s->base);	/* the store's */
}

bool
smtp_sieve_start(struct smtp_session *s)
{
	struct sieve_stage_in in;
	struct sieve_stage *st;
	struct buf head;
	uint64_t off, len;
	char *from;
	int fd;

	if (!smtp_sieve_wanted(s))
		return false;
	/* the header section as it will be stored: trace + head */
	buf_init(&head, 0);
	buf_append(&head, s->trace.data, s->trace.len);
	buf_append(&head, s->head.data, s->head.len);
	memset(&in, 0, sizeof(in));
	in.logid = s->base.id;
	in.msgid = s->msgid;
	in.data_dir = s->conf->data_dir;
	in.hostname = s->conf->hostname;
	from = smtp_path_to_string(&s->mail);
	in.env_from = from;
	in.auth = s->auth_done ? s->auth_user : NULL;
	in.head = head.data ? head.data : "";
	in.head_len = head.len;
	fd = smtp_message_body(s, &off, &len);
	in.body_fd = -1;
	if (fd < 0 && len > 0) {
		size_t mlen;
		in.body_mem = msg_spool_mem(s->spool, &mlen) + off;
		in.body_mem_len = (size_t)len;
	} else if (fd >= 0) {
		in.body_fd = fd;
		in.body_off = off;
		in.body_len = len;
	}
	st = sieve_stage_new(&in);
	buf_free(&head);
	free(from);
	for (unsigned i = 0; i < s->nrcpt; i++) {
		char *to = smtp_path_to_string(&s->rcpts[i].path);
		sieve_stage_add(st, to, &s->rcpts[i].res);
		free(to);
	}
	/* settled on the loop (sieve_fast_run) and delivered: on to the
	 * commit at once, as without a script; a 550 (which resumes the
	 * session) or the job comes back on a later turn */
	if (sieve_fast_run(st) && smtp_sieve_rejected(s, st) == NULL) {
		smtp_message_commit(s, false, st);
		return true;
	}
	sieve_stage_run(st, server_thread_loop(s->base.thread),
	    smtp_sieve_done, s);
	return true;
}
