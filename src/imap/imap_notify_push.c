/*
 * imap_notify_push - NOTIFY's notifications between commands (RFC 5465
 * 3: once NOTIFY is on the server sends them as events occur, not only
 * during IDLE or with a command's answer).
 *
 * Trust: nothing from the client is read here; what is sent is computed
 * by imap_client_updates / imap_notify_updates as for a command.
 *
 * How: the store's watches (the user watch of imap_notify.c for other
 * mailboxes, and a view watch on the selected mailbox while SELECTED
 * asks for message events) call imap_notify_wake on the
 * session's loop. Idling, IDLE's job reports. Free (no command, no job,
 * no APPEND waiting for its spool), one job on a worker computes the
 * updates and the loop writes them; busy, the wake is kept
 * (notify_later) and a job runs once the command ended, in case the
 * change came after the command's own updates were computed.
 *
 * Expunges: RFC 3501 7.4.1 forbids EXPUNGE with no command in progress;
 * RFC 5465's SELECTED lifts that (SELECTED-DELAYED is the client asking
 * to keep it), so a push under SELECTED-DELAYED sends nothing about the
 * selected mailbox - the store gives expunges and new messages together,
 * and they wait for the next command.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "imap/imap_client.h"
#include "imap/imap_notify.h"
#include "store/mailbox.h"
#include "util/io.h"
#include "util/loop.h"
#include "util/worker.h"
#include "util/xmalloc.h"

static void
push_done(void *arg)
{
	struct imap_updates_job *j = arg;
	struct imap_client *c = j->c;

	if (!imap_updates_deliver(j))
		return;
	session_resume(&c->base);	/* input that waited meanwhile */
	imap_notify_resume(c);
}

/* Whether a push may run now: nothing else owns the session. */
static bool
free_now(const struct imap_client *c)
{
	return !c->base.busy && c->cmd == NULL && !c->spool_cmd &&
	    imap_spool_idle(c);
}

void
imap_notify_wake(void *arg)
{
	struct imap_client *c = arg;
	struct imap_updates_job *j;

	if (c->idling) {
		imap_idle_wake(c);
		return;
	}
	if (c->base.state != SESSION_ACTIVE || c->notify == NULL ||
	    c->state == IMAP_STATE_LOGOUT)
		return;
	if (!free_now(c)) {
		c->notify_later = true;
		return;
	}
	c->notify_later = false;
	j = xcalloc(1, sizeof(*j));
	j->c = c;
	/* SELECTED-DELAYED: the selected mailbox waits for a command */
	j->quiet = c->view == NULL || !imap_notify_expunge_now(c);
	buf_init(&j->out, 0);
	session_busy(&c->base);
	session_ref(&c->base);
	worker_submit(server_thread_loop(c->base.thread),
	    imap_updates_work, push_done, j);
}

void
imap_notify_resume(struct imap_client *c)
{
	bool want;

	if (c->base.state != SESSION_ACTIVE || c->idling ||
	    !free_now(c))
		return;
	want = c->notify != NULL && c->view != NULL &&
	    imap_notify_expunge_now(c);
	if (want) {
		/* again each time: a SELECT or IDLE may have dropped it; a
		   new watch has missed what came before it */
		mbox_view_watch(c->view, server_thread_loop(c->base.thread),
		    imap_notify_wake, c);
		if (c->notify_view != c->view)
			c->notify_later = true;
		c->notify_view = c->view;
	} else if (c->notify_view != NULL) {
		if (c->view != NULL)
			mbox_view_watch(c->view, NULL, NULL, NULL);
		c->notify_view = NULL;
	}
	if (c->notify_later && c->notify != NULL)
		imap_notify_wake(c);
	else
		c->notify_later = false;
}
