/*
 * session - the session lifecycle shared by SMTP, IMAP and POP3 (see
 * session.h for the states and the reference rules).
 *
 * Trust: sees only connection events, never protocol bytes.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "server/session.h"
#include "server/state.h"
#include "tls/tls.h"
#include "util/io.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/metrics_list.h"

static const char *const state_names[] = {
	"handshake", "active", "closing", "closed"
};

const char *
session_state_name(enum session_state st)
{
	return st <= SESSION_CLOSED ? state_names[st] : "?";
}

bool
session_transition_ok(enum session_state from, enum session_state to)
{
	switch (from) {
	case SESSION_HANDSHAKE:
		return to == SESSION_ACTIVE || to == SESSION_CLOSED;
	case SESSION_ACTIVE:
		return to == SESSION_CLOSING || to == SESSION_CLOSED;
	case SESSION_CLOSING:
		return to == SESSION_CLOSED;
	case SESSION_CLOSED:
		return false;
	}
	return false;
}

static void
session_free_now(void *arg)
{
	struct session *s = arg;
	struct server_state *run = s->run;

	TEM_ASSERT(s->refs == 0 && s->state == SESSION_CLOSED);
	server_session_remove(s);
	s->proto->free(s);
	server_state_unref(&run);	/* an old config may go with it */
}

void
session_ref(struct session *s)
{
	TEM_ASSERT(s->refs > 0);
	s->refs++;
}

void
session_unref(struct session *s)
{
	TEM_ASSERT(s->refs > 0);
	if (--s->refs > 0)
		return;
	/* not here: a callback of s may still be on the stack */
	loop_post(s->loop, session_free_now, s);
}

bool
session_closed(const struct session *s)
{
	return s->state == SESSION_CLOSED;
}

static void
session_enter(struct session *s, enum session_state to)
{
	TEM_ASSERT(session_transition_ok(s->state, to));
	log_debug("%s %s state %s->%s", s->id, s->proto->name,
	    state_names[s->state], state_names[to]);
	s->state = to;
	if (to != SESSION_CLOSED)
		return;
	io_free(&s->io);	/* io.c defers it when inside its callback */
	if (s->proto->closed)
		s->proto->closed(s);
	session_unref(s);	/* the connection's reference */
}

void
session_abort(struct session *s)
{
	if (s->state != SESSION_CLOSED)
		session_enter(s, SESSION_CLOSED);
}

void
session_close(struct session *s)
{
	if (s->state == SESSION_HANDSHAKE) {
		session_abort(s);
		return;
	}
	if (s->state != SESSION_ACTIVE)
		return;
	session_enter(s, SESSION_CLOSING);
	io_pause_read(s->io);
	if (io_outlen(s->io) == 0)
		session_enter(s, SESSION_CLOSED);
	/* else IO_EV_DRAINED finishes the close */
}

void
session_busy(struct session *s)
{
	s->busy = true;
	if (s->io)
		io_pause_read(s->io);
}

/* Goodbye at shutdown: only between commands (a running one finishes). */
static void
session_goodbye(struct session *s)
{
	s->proto->shutdown(s);
	session_close(s);
}

void
session_resume(struct session *s)
{
	s->busy = false;
	if (s->state != SESSION_ACTIVE)
		return;
	if (s->stopping) {
		session_goodbye(s);
		return;
	}
	io_set_timeout(s->io, s->timeout);
	io_resume_read(s->io);
	s->proto->input(s);
}

void
session_set_timeout(struct session *s, unsigned sec)
{
	s->timeout = sec;
	if (s->io)
		io_set_timeout(s->io, sec);
}

void
session_starttls(struct session *s)
{
	io_drain_all(s->io);
	session_busy(s);
	s->tls_on_drain = true;
}

void
session_server_stop(struct session *s)
{
	s->stopping = true;
	if (s->state == SESSION_HANDSHAKE)
		session_abort(s);
	else if (s->state == SESSION_ACTIVE && !s->busy)
		session_goodbye(s);
	/* busy: session_resume says goodbye; closing: it goes anyway */
}

/* Silent this long before a newcomer at the cap may take the place. */
#define SESSION_EVICT_IDLE	2

bool
session_evictable(const struct session *s, time_t now)
{
	return s->state == SESSION_ACTIVE && !s->busy && !s->trusted &&
	    now - s->last_input >= SESSION_EVICT_IDLE;
}

void
session_evict(struct session *s)
{
	log_info("%s %s evict addr=%s idle=%lds", s->id, s->proto->name,
	    s->ip, (long)(time(NULL) - s->last_input));
	s->proto->timeout(s);
	/* the descriptor is wanted now, not after a drain */
	io_flush_now(s->io);
	session_abort(s);
}

static void
session_tls_ready(struct session *s)
{
	s->tls = true;
	tls_describe(io_ssl(s->io), s->tls_info, sizeof(s->tls_info));
	log_info("%s %s tls %s", s->id, s->proto->name, s->tls_info);
	METRIC_INC(M_TLS_OK, metrics_tls_service(s->svc));
	if (s->state == SESSION_HANDSHAKE) {
		session_enter(s, SESSION_ACTIVE);
		if (s->stopping) {
			session_abort(s);
			return;
		}
		s->busy = false;
		s->proto->greet(s);
		if (s->busy || s->state != SESSION_ACTIVE)
			return;
	}
	session_resume(s);
}

static void
session_drained(struct session *s)
{
	if (s->tls_on_drain) {
		s->tls_on_drain = false;
		if (s->state == SESSION_ACTIVE && tls_io_start(s->io) < 0)
			session_abort(s);
		return;
	}
	if (s->state == SESSION_CLOSING)
		session_enter(s, SESSION_CLOSED);
	else if (s->state == SESSION_ACTIVE && s->proto->drained)
		s->proto->drained(s);
}

/* The compression layer failed (a corrupt stream, or more inflated
 * input than the protocol allows, io.h): one line. */
static void
session_inflate_failed(struct session *s)
{
	uint64_t n = 0;
	const char *why = io_inflate_error(s->io, &n);

	if (why)
		log_info("%s %s compress-error addr=%s reason=%s inflated=%llu",
		    s->id, s->proto->name, s->ip, why, (unsigned long long)n);
}

static void
session_io_cb(struct io *io, enum io_event ev, void *arg)
{
	struct session *s = arg;

	(void)io;
	if (s->state == SESSION_CLOSED)
		return;
	switch (ev) {
	case IO_EV_DATAIN:
		s->last_input = time(NULL);
		if (s->state == SESSION_ACTIVE && !s->busy)
			s->proto->input(s);
		break;
	case IO_EV_DRAINED:
		session_drained(s);
		break;
	case IO_EV_TLS_READY:
		session_tls_ready(s);
		break;
	case IO_EV_TIMEOUT:
		log_info("%s %s timeout addr=%s state=%s", s->id,
		    s->proto->name, s->ip, state_names[s->state]);
		if (s->state != SESSION_ACTIVE) {
			session_abort(s);	/* handshake, or output unread */
			break;
		}
		s->proto->timeout(s);
		session_close(s);
		break;
	case IO_EV_CONNECTED:	/* not for server sessions */
	case IO_EV_EOF:
	case IO_EV_ERROR:
		if (ev == IO_EV_ERROR && !s->tls && (s->state ==
		    SESSION_HANDSHAKE || (s->busy && io_ssl(s->io)))) {
			log_info("%s %s tls-failed addr=%s", s->id,
			    s->proto->name, s->ip);
			METRIC_INC(M_TLS_FAIL, metrics_tls_service(s->svc));
		}
		if (ev == IO_EV_ERROR)
			session_inflate_failed(s);
		session_abort(s);
		break;
	}
}

void
session_start(struct session *s, const struct session_proto *proto,
    int fd, bool implicit_tls, unsigned timeout)
{
	int one = 1;

	/* Every protocol writes whole replies (a reply, a pipelined group,
	 * an IDLE push, a RETR piece): Nagle would only hold a reply's tail
	 * back for the client's delayed ACK, ~40 ms (an IDLE push measured
	 * 43 ms without this). Not a TCP socket (tests' socketpairs): no
	 * matter. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 &&
	    errno != EOPNOTSUPP && errno != ENOTSOCK && errno != ENOPROTOOPT)
		log_debug("%s %s nodelay error=\"%s\"", s->id, proto->name,
		    strerror(errno));
	s->proto = proto;
	s->refs = 1;		/* the connection's */
	s->started = s->last_input = time(NULL);
	s->timeout = timeout;
	s->loop = server_thread_loop(s->thread);
	s->io = io_new(s->loop, fd, session_io_cb, s);
	io_set_timeout(s->io, timeout);
	log_info("%s %s connect addr=%s port=%d", s->id, service_name(s->svc),
	    s->ip, s->port);
	if (implicit_tls) {
		/* RFC 8314: the greeting follows the handshake */
		s->state = SESSION_HANDSHAKE;
		s->busy = true;
		io_pause_read(s->io);
		if (tls_io_start(s->io) < 0)
			session_abort(s);	/* nothing was said */
		return;
	}
	s->state = SESSION_ACTIVE;
	proto->greet(s);
}
