/*
 * session - the one lifecycle every protocol session (SMTP, IMAP, POP3)
 * runs on: the connection, its TLS (STARTTLS and implicit), idle
 * timeouts, close, server shutdown and the release of its memory.
 *
 * Trust: carries an untrusted client's connection; knows no protocol.
 * A protocol embeds struct session first in its own session struct and
 * fills a struct session_proto (its vtable).
 *
 * Lifecycle (each transition asserted and logged at debug):
 *
 *   HANDSHAKE --TLS ready--> ACTIVE --session_close--> CLOSING --drained--> CLOSED
 *       |                      |                          |
 *       +------ lost, error, timeout, session_abort ------+---------------> CLOSED
 *
 * HANDSHAKE only for implicit TLS (the greeting follows the handshake).
 * In CLOSING the last replies drain, nothing more is read. In CLOSED the
 * socket is gone (session_closed() is true) and the protocol must say
 * nothing more; what it still holds is freed by proto->free.
 *
 * References: the connection holds one until CLOSED; every job in flight
 * (worker, store, queue, DNS, timer) holds one (session_ref before it
 * starts, session_unref in its completion, on the loop thread). At the
 * last release the free is posted to the loop (never done inside an io
 * or job callback, as Redis' freeClientAsync), so a completion may still
 * touch the session after its own session_unref in the same turn.
 *
 * Busy: while a command or job runs, the protocol calls session_busy()
 * (input is not read nor parsed) and session_resume() when it is over;
 * session_resume() also says goodbye when the server started stopping
 * meanwhile. Everything runs on the session's loop thread.
 */
#ifndef TEM_SESSION_H
#define TEM_SESSION_H

#include <netinet/in.h>
#include <stdbool.h>
#include <time.h>

#include "server/server.h"
#include "server/state.h"

struct io;
struct loop;
struct server_state;
struct server_thread;

enum session_state {
	SESSION_HANDSHAKE,	/* implicit TLS handshake running */
	SESSION_ACTIVE,		/* greeted: commands are read */
	SESSION_CLOSING,	/* last replies draining */
	SESSION_CLOSED,		/* socket gone; memory waits for the refs */
};

struct session;

struct session_proto {
	const char	*name;		/* log module: "smtp", "imap", "pop3" */
	/* The connection is ready (after implicit TLS): say hello. May call
	 * session_busy() (e.g. block-list look-ups before the greeting). */
	void		(*greet)(struct session *s);
	/* Input waits and the session is not busy: parse and run. */
	void		(*input)(struct session *s);
	/* All output written while ACTIVE (optional: streaming commands). */
	void		(*drained)(struct session *s);
	/* The idle timeout struck: queue the reply (the core logs, closes). */
	void		(*timeout)(struct session *s);
	/* The server stops: queue the goodbye (the core closes). */
	void		(*shutdown)(struct session *s);
	/* Entering CLOSED: cancel what can be cancelled (optional). */
	void		(*closed)(struct session *s);
	/* The last reference is gone: free the protocol's state and s. */
	void		(*free)(struct session *s);
};

/* Embedded first in every protocol session; the registry's view too. */
struct session {
	/* registry (server.c) */
	struct session		*prev, *next;
	struct server_thread	*thread;
	enum service		 svc;
	char			 id[17];		/* log id */
	char			 ip[INET6_ADDRSTRLEN];	/* client address */
	int			 port;

	struct server_state	*run;		/* config etc. it started with */

	/* lifecycle (session.c) */
	const struct session_proto *proto;
	struct loop		*loop;		/* the thread's */
	struct io		*io;		/* NULL once CLOSED */
	enum session_state	 state;
	unsigned		 refs;
	bool			 tls;		/* TLS is on */
	bool			 busy;		/* a command or job runs */
	bool			 stopping;	/* server shutdown asked */
	bool			 tls_on_drain;	/* STARTTLS: after the reply */
	bool			 trusted;	/* logged in: never evicted */
	time_t			 last_input;	/* for eviction at the cap */
	unsigned		 timeout;	/* idle seconds */
	time_t			 started;
	char			 tls_info[128];
};

/*
 * Starts s (registered by server_session_add) on fd (taken over): the
 * greeting now, or after the handshake when implicit_tls. timeout is
 * the idle timeout in seconds. s may be freed before this returns (a
 * TLS start that fails): the caller must not touch it afterwards.
 */
void session_start(struct session *s, const struct session_proto *proto,
    int fd, bool implicit_tls, unsigned timeout);

void session_ref(struct session *s);
/* Drops a reference; the last one posts the free to the loop. */
void session_unref(struct session *s);
/* The connection is gone (or going): say nothing more. */
bool session_closed(const struct session *s);

/* A command or job runs: stop reading input until session_resume(). */
void session_busy(struct session *s);
/* It is over: read and parse input again (or close when stopping). */
void session_resume(struct session *s);
/* Changes the idle timeout (seconds, 0: none). */
void session_set_timeout(struct session *s, unsigned sec);

/* Closes once the replies queued so far are written (idempotent). */
void session_close(struct session *s);
/* Closes now, dropping queued output (idempotent). */
void session_abort(struct session *s);

/* STARTTLS: the "go ahead" reply is queued; the input pipelined after it
 * is dropped (never taken as commands: CVE-2011-0411), and the handshake
 * starts once the reply drained. The session stays busy until it is
 * done (then proto->input runs again). */
void session_starttls(struct session *s);

/* server.c: the server stops (loop thread). */
void session_server_stop(struct session *s);
/* server.c, at the global session cap: ends s, a silent session that
 * never logged in, to make room: its protocol's timeout goodbye, then
 * the socket is closed at once (its descriptor is what is wanted). */
bool session_evictable(const struct session *s, time_t now);
void session_evict(struct session *s);

/* I/O-free core for the unit test: is from -> to a legal transition? */
bool session_transition_ok(enum session_state from, enum session_state to);
const char *session_state_name(enum session_state st);

#endif
