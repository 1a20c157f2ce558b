/*
 * milter_conn - one filter connection (see milter_conn.h): connect,
 * negotiate, send, decode replies, time them out.
 *
 * Trust: the filter's bytes are untrusted input to the codec's decoder;
 * replies are held to the protocol: one final reply per awaited command,
 * modifications only as negotiated. Input held: at most one reply packet
 * (MILTER_PKT_MAX) plus what util/io buffers (IO_INPUT_MAX).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "milter/milter_conn.h"
#include "util/io.h"
#include "util/loop.h"
#include "util/xmalloc.h"

struct milter_conn {
	struct io		*io;
	struct loop_timer	*timer;
	milter_conn_fn		*fn;
	void			*arg;
	struct buf		 in;		/* undecoded reply bytes */
	unsigned		 command_timeout;
	unsigned		 timeout;	/* of the reply awaited, s */
	const char		*fail_why;	/* reported by the timer */
	uint32_t		 actions, protocol;
	bool			 connecting, negotiated, waiting, paused;
	bool			 dead, in_cb, freed;
};

bool
milter_reply_final(char code)
{
	switch (code) {
	case SMFIR_ACCEPT:
	case SMFIR_CONTINUE:
	case SMFIR_DISCARD:
	case SMFIR_REJECT:
	case SMFIR_TEMPFAIL:
	case SMFIR_REPLYCODE:
	case SMFIR_SKIP:
	case SMFIR_SHUTDOWN:
	case SMFIR_CONN_FAIL:
		return true;
	default:
		return false;
	}
}

/* The action flag a modification needs (libmilter's smfi_* checks). */
static uint32_t
milter_action_needed(char code)
{
	switch (code) {
	case SMFIR_ADDHEADER:	return SMFIF_ADDHDRS;
	case SMFIR_INSHEADER:	return SMFIF_ADDHDRS;
	case SMFIR_CHGHEADER:	return SMFIF_CHGHDRS;
	case SMFIR_REPLBODY:	return SMFIF_CHGBODY;
	case SMFIR_ADDRCPT:	return SMFIF_ADDRCPT;
	case SMFIR_ADDRCPT_PAR:	return SMFIF_ADDRCPT_PAR;
	case SMFIR_DELRCPT:	return SMFIF_DELRCPT;
	case SMFIR_CHGFROM:	return SMFIF_CHGFROM;
	case SMFIR_QUARANTINE:	return SMFIF_QUARANTINE;
	default:		return 0;	/* never allowed */
	}
}

static void
conn_destroy(struct milter_conn *c)
{
	io_free(&c->io);
	loop_timer_free(&c->timer);
	buf_free(&c->in);
	free(c);
}

/* Calls the owner; true when c is still alive afterwards. */
static bool
conn_call(struct milter_conn *c, const struct milter_reply *r,
    const char *err)
{
	c->in_cb = true;
	c->fn(c->arg, r, err);
	c->in_cb = false;
	if (c->freed) {
		conn_destroy(c);
		return false;
	}
	return true;
}

/* The connection is over: one report, then nothing more. */
static void
conn_fail(struct milter_conn *c, const char *why)
{
	if (c->dead)
		return;
	c->dead = true;
	c->waiting = false;
	loop_timer_del(c->timer);
	if (c->io)
		io_pause_read(c->io);
	conn_call(c, NULL, why);
}

static void
conn_timer(void *arg)
{
	struct milter_conn *c = arg;

	if (c->fail_why)
		conn_fail(c, c->fail_why);
	else
		conn_fail(c, c->connecting ? "connect timeout" :
		    "reply timeout");
}

/* One decoded reply: held to the protocol, then to the owner. */
static bool
conn_reply(struct milter_conn *c, const struct milter_reply *r)
{
	if (!c->waiting) {
		conn_fail(c, "reply nobody asked for");
		return false;
	}
	if (!c->negotiated) {
		if (r->code != SMFIR_OPTNEG) {
			conn_fail(c, "no option negotiation reply");
			return false;
		}
		/* version 2..6 filters all speak what we send; flags
		 * beyond what we offered are a broken filter */
		if (r->version < 2 || r->version > MILTER_VERSION ||
		    (r->actions & ~(uint32_t)MILTER_ACTIONS_ALL) ||
		    (r->protocol & ~(uint32_t)MILTER_PROTO_ALL)) {
			conn_fail(c, "bad option negotiation");
			return false;
		}
		c->actions = r->actions;
		c->protocol = r->protocol;
		c->negotiated = true;
		c->waiting = false;
		loop_timer_del(c->timer);
		return conn_call(c, r, NULL);
	}
	if (r->code == SMFIR_PROGRESS) {	/* still working: more time */
		loop_timer_add(c->timer, c->timeout * 1000);
		return true;
	}
	if (milter_reply_final(r->code)) {
		c->waiting = false;
		loop_timer_del(c->timer);
		return conn_call(c, r, NULL);
	}
	if ((milter_action_needed(r->code) & c->actions) == 0) {
		conn_fail(c, "action not negotiated");
		return false;
	}
	return conn_call(c, r, NULL);
}

/* Decodes what came in, reply by reply, while the owner takes them. */
static void
conn_dispatch(struct milter_conn *c)
{
	struct milter_reply r;
	const char *p, *err = NULL;
	size_t len, used;
	int rc;

	while (!c->dead && !c->paused) {
		if (c->in.len < MILTER_PKT_MAX + 5 && io_inlen(c->io) > 0) {
			p = io_peek(c->io, &len);
			buf_append(&c->in, p, len);
			io_drain(c->io, len);
			continue;
		}
		memset(&r, 0, sizeof(r));
		rc = milter_get_reply(c->in.data, c->in.len, &used, &r, &err);
		if (rc == 0)
			return;
		if (rc < 0) {
			conn_fail(c, err ? err : "malformed reply");
			return;
		}
		if (!conn_reply(c, &r))
			return;
		buf_consume(&c->in, used);
	}
}

static void
conn_io(struct io *io, enum io_event ev, void *arg)
{
	struct milter_conn *c = arg;
	struct buf pkt;

	(void)io;
	switch (ev) {
	case IO_EV_CONNECTED:
		c->connecting = false;
		buf_init(&pkt, 0);
		milter_put_optneg(&pkt, MILTER_VERSION, MILTER_ACTIONS_ALL,
		    MILTER_PROTO_ALL);
		milter_conn_send(c, &pkt, c->command_timeout);
		buf_free(&pkt);
		return;
	case IO_EV_DATAIN:
		conn_dispatch(c);
		return;
	case IO_EV_EOF:
		conn_fail(c, "closed by the filter");
		return;
	case IO_EV_ERROR:
	case IO_EV_TIMEOUT:
		conn_fail(c, c->connecting ? (io_error(c->io) == ECONNREFUSED ?
		    "connection refused" : "connect failed") : "read error");
		return;
	default:
		return;
	}
}

struct milter_conn *
milter_conn_open(struct loop *l, const struct sockaddr *sa, unsigned salen,
    unsigned connect_timeout, unsigned command_timeout, milter_conn_fn *fn,
    void *arg)
{
	struct milter_conn *c = xcalloc(1, sizeof(*c));
	int err = 0;

	c->fn = fn;
	c->arg = arg;
	c->command_timeout = command_timeout;
	c->connecting = true;
	c->waiting = true;	/* the negotiation's reply */
	buf_init(&c->in, 0);
	c->timer = loop_timer_new(l, conn_timer, c);
	c->io = io_connect(l, sa, (socklen_t)salen, NULL, 0, conn_io, c, &err);
	if (c->io == NULL) {
		/* reported from the loop, never inside this call */
		c->fail_why = err == ECONNREFUSED || err == ENOENT ?
		    "connection refused" : "connect failed";
		loop_timer_add(c->timer, 0);
		return c;
	}
	loop_timer_add(c->timer, connect_timeout * 1000);
	return c;
}

void
milter_conn_send(struct milter_conn *c, struct buf *pkt, unsigned timeout)
{
	if (c->dead)
		return;
	io_write(c->io, pkt->data, pkt->len);
	buf_reset(pkt);
	if (timeout == 0)
		return;
	c->waiting = true;
	c->timeout = timeout;
	loop_timer_add(c->timer, timeout * 1000);
}

void
milter_conn_pause(struct milter_conn *c, bool pause)
{
	if (c->dead || c->paused == pause)
		return;
	c->paused = pause;
	if (pause) {
		io_pause_read(c->io);
		return;
	}
	io_resume_read(c->io);
	if (!c->in_cb)
		conn_dispatch(c);
}

uint32_t
milter_conn_actions(const struct milter_conn *c)
{
	return c->actions;
}

uint32_t
milter_conn_protocol(const struct milter_conn *c)
{
	return c->protocol;
}

void
milter_conn_free(struct milter_conn **cp)
{
	struct milter_conn *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	if (c->io && !c->connecting)
		io_flush_now(c->io);	/* a QUIT the owner queued */
	if (c->in_cb) {
		c->freed = true;	/* conn_call destroys it */
		c->dead = true;
		return;
	}
	conn_destroy(c);
}
