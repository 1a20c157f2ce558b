/*
 * mta_reuse - keeping an outbound connection for the next batch to the
 * same host (mta_session.h, p.reuse): the idle state after the last
 * message, watching the idle connection, the RSET probe when it is
 * reused, and the polite end of one nobody took.
 *
 * Trust: as mta_session.c. Nothing the peer sends while the connection
 * is idle is read: any byte (a 421 on its own idle timeout), a close or
 * an error ends the connection, so no stale reply can be taken for the
 * next batch's. A reused connection keeps its TLS state and EHLO list.
 *
 * Ownership: in PH_IDLE the session is the caller's (the route hands it
 * to mta_pool.c); the session never frees itself while idle.
 */
#include <stdlib.h>
#include <time.h>

#include "mta/mta_session_int.h"
#include "util/io.h"
#include "util/log.h"
#include "util/loop.h"

void
mta_batch_end(struct mta_session *s)
{
	if (!s->p.reuse || s->io == NULL || s->tx_open || s->in_body ||
	    !s->esmtp || s->nsent >= MTA_REUSE_MAX_MSGS ||
	    time(NULL) - s->started >= MTA_REUSE_MAX_AGE) {
		mta_quit(s, MTA_OK, "");
		return;
	}
	s->phase = PH_IDLE;
	s->idle_reported = false;
	/* what the batch lent the session is given back with done() */
	s->msgs = NULL;
	s->nmsgs = 0;
	s->cur = -1;
	s->p.tls_policy = NULL;
	loop_timer_add(s->timer, 0);	/* done() from a later turn */
}

void
mta_idle_timer(struct mta_session *s)
{
	if (s->idle_reported)
		return;
	if (s->io == NULL) {
		/* closed by the peer before done(): an ordinary end */
		mta_finish(s, MTA_OK, "");
		return;
	}
	s->idle_reported = true;
	/* the caller takes the session (mta_session.h): not freed here */
	s->done(s, MTA_OK, "", s->arg);
}

void
mta_idle_event(struct mta_session *s, enum io_event ev)
{
	if (ev == IO_EV_DRAINED || ev == IO_EV_TIMEOUT || s->io == NULL)
		return;
	log_info("%s mta idle-closed host=%s by=%s", s->id, s->host_label,
	    ev == IO_EV_DATAIN ? "peer-reply" : ev == IO_EV_EOF ? "peer" :
	    "error");
	io_free(&s->io);	/* allowed inside its own callback */
}

bool
mta_session_idle(const struct mta_session *s)
{
	return s->phase == PH_IDLE && s->io != NULL && !s->finished;
}

bool
mta_session_continue(struct mta_session *s, struct mta_msg **msgs,
    int nmsgs, mta_done_fn *done, void *arg)
{
	if (!mta_session_idle(s))
		return false;
	log_info("%s mta reuse host=%s messages=%d sent=%d", s->id,
	    s->host_label, nmsgs, s->nsent);
	s->msgs = msgs;
	s->nmsgs = nmsgs;
	s->cur = -1;
	s->done = done;
	s->arg = arg;
	/* before "ready": a failed probe is the connection's failure and
	   leaves every message untouched (mta_fail) */
	s->phase = PH_GREETING;
	mta_cmd(s, EXP_PROBE, 0, "RSET");
	return true;
}

void
mta_on_probe(struct mta_session *s, const struct smtp_reply *r)
{
	char *t;

	if (r->code / 100 == 2) {
		s->phase = PH_READY;
		mta_next_message(s);
		return;
	}
	t = mta_said(s, r, EXP_PROBE);
	mta_quit(s, r->code >= 500 ? MTA_CONN_PERM : MTA_CONN_TEMP, t);
	free(t);
}

void
mta_session_close(struct mta_session *s, mta_done_fn *done, void *arg)
{
	s->done = done;
	s->arg = arg;
	if (s->io == NULL) {
		mta_finish(s, MTA_OK, "");
		return;
	}
	mta_quit(s, MTA_OK, "");
}
