/*
 * imap_idle - IDLE (RFC 2177): the session waits for DONE while the mail
 * store's watch on the selected mailbox wakes it; a worker computes the
 * untagged updates, one job at a time (a wake during a job is kept).
 *
 * Trust: untrusted client; the only input taken is the DONE line.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_client.h"
#include "imap/imap_notify.h"
#include "store/mailbox.h"
#include "util/io.h"
#include "util/loop.h"
#include "util/worker.h"
#include "util/xmalloc.h"

bool
imap_updates_deliver(struct imap_updates_job *j)
{
	struct imap_client *c = j->c;
	bool open;

	session_unref(&c->base);	/* the job's */
	open = !session_closed(&c->base);
	if (open && j->out.len)
		io_write(c->base.io, j->out.data, j->out.len);
	if (open && j->gone) {
		imap_send(c, "* BYE Mailbox was deleted elsewhere");
		imap_close(c);
	}
	buf_free(&j->out);
	free(j);
	return open;
}

void
imap_updates_work(void *arg)
{
	struct imap_updates_job *j = arg;

	if (j->quiet)
		imap_notify_updates(j->c, &j->out);
	else
		j->gone = !imap_client_updates(j->c, &j->out, true);
}

static void
imap_idle_job_done(void *arg)
{
	struct imap_updates_job *j = arg;
	struct imap_client *c = j->c;

	c->base.busy = false;
	if (!imap_updates_deliver(j))
		return;			/* the free drops c->cmd */
	if (!c->idling) {		/* DONE came meanwhile */
		imap_cmd_ok(c->cmd, "IDLE terminated");
		imap_cmd_finish(c->cmd);
		return;
	}
	if (c->changes_pending) {
		c->changes_pending = false;
		imap_idle_wake(c);
		return;
	}
	imap_read_line(c);
	imap_process(c);
}

/* The store says the mailbox (or, for NOTIFY, another one) changed:
   tell the idling client. */
void
imap_idle_wake(void *arg)
{
	struct imap_client *c = arg;
	struct imap_updates_job *j;

	if (!c->idling || c->base.state != SESSION_ACTIVE)
		return;
	if (c->base.busy) {
		c->changes_pending = true;
		return;
	}
	j = xmalloc(sizeof(*j));
	j->c = c;
	j->gone = false;
	j->quiet = imap_notify_selected_quiet(c);
	buf_init(&j->out, 0);
	c->base.busy = true;
	session_ref(&c->base);
	worker_submit(server_thread_loop(c->base.thread), imap_updates_work,
	    imap_idle_job_done, j);
}

enum imap_cmd_result
cmd_idle(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->c;

	if (cmd->count != 0) {
		imap_cmd_bad(cmd, "Syntax: IDLE");
		return IMAP_CMD_DONE;
	}
	cmd->no_updates = true;
	imap_send(c, "+ idling");
	c->idling = true;
	if (c->view && !imap_notify_selected_quiet(c))
		mbox_view_watch(c->view, server_thread_loop(c->base.thread),
		    imap_idle_wake, c);
	imap_parser_read_line(c->parser);
	imap_read_line(c);		/* wait for DONE */
	/* anything that happened before IDLE started */
	if ((c->view && !imap_notify_selected_quiet(c)) ||
	    imap_notify_pending(c))
		imap_idle_wake(c);
	return IMAP_CMD_ASYNC;
}

/* IDLE's end: the raw line that should be DONE. */
void
imap_idle_line(struct imap_client *c, const char *line, size_t len)
{
	struct imap_cmd *cmd = c->cmd;

	imap_idle_stop(c);
	if (len != 4 || strncasecmp(line, "DONE", 4) != 0)
		imap_cmd_bad(cmd, "Expected DONE");
	else
		imap_cmd_ok(cmd, "IDLE terminated");
	if (c->base.busy)
		return;		/* the update job finishes it */
	session_busy(&c->base);
	imap_cmd_finish(cmd);
}

/* No more IDLE wake-ups: the session is leaving. */
void
imap_idle_stop(struct imap_client *c)
{
	if (c->idling) {
		c->idling = false;
		if (c->view)
			mbox_view_watch(c->view, NULL, NULL, NULL);
		c->notify_view = NULL;	/* NOTIFY watches it again */
	}
}
