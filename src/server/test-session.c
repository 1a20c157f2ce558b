/*
 * test-session - the session core without a socket: its state machine
 * (legal transitions only), the idempotent close, and the reference
 * count that frees once, after the last release, on a later loop turn.
 */
#include <stdbool.h>
#include <string.h>

#include "server/session.h"
#include "util/loop.h"
#include "util/test.h"

static int closed_calls, free_calls;

static void
t_closed(struct session *s)
{
	(void)s;
	closed_calls++;
}

static void
t_free(struct session *s)
{
	free_calls++;
	loop_break(s->loop);
}

static const struct session_proto t_proto = {
	.name = "test",
	.closed = t_closed,
	.free = t_free,
};

static void
test_transitions(void)
{
	TEST_ASSERT(session_transition_ok(SESSION_HANDSHAKE, SESSION_ACTIVE));
	TEST_ASSERT(session_transition_ok(SESSION_HANDSHAKE, SESSION_CLOSED));
	TEST_ASSERT(!session_transition_ok(SESSION_HANDSHAKE,
	    SESSION_CLOSING));
	TEST_ASSERT(session_transition_ok(SESSION_ACTIVE, SESSION_CLOSING));
	TEST_ASSERT(session_transition_ok(SESSION_ACTIVE, SESSION_CLOSED));
	TEST_ASSERT(!session_transition_ok(SESSION_ACTIVE, SESSION_HANDSHAKE));
	TEST_ASSERT(session_transition_ok(SESSION_CLOSING, SESSION_CLOSED));
	TEST_ASSERT(!session_transition_ok(SESSION_CLOSING, SESSION_ACTIVE));
	for (int to = SESSION_HANDSHAKE; to <= SESSION_CLOSED; to++)
		TEST_ASSERT(!session_transition_ok(SESSION_CLOSED, to));
	TEST_ASSERT_STREQ(session_state_name(SESSION_CLOSING), "closing");
}

/* A job holds the session while the client goes: the close runs once,
 * the free only after the job let go, and never inside the caller. */
static void
test_refs(void)
{
	struct session s;

	memset(&s, 0, sizeof(s));
	s.proto = &t_proto;
	s.loop = loop_new();
	s.state = SESSION_ACTIVE;
	s.refs = 1;			/* the connection's */
	strcpy(s.id, "0123456789abcdef");
	closed_calls = free_calls = 0;

	session_ref(&s);		/* a job starts */
	TEST_ASSERT(s.refs == 2);
	session_abort(&s);		/* the client left */
	TEST_ASSERT(session_closed(&s));
	TEST_ASSERT(closed_calls == 1 && s.refs == 1);
	session_abort(&s);		/* idempotent */
	session_close(&s);
	TEST_ASSERT(closed_calls == 1 && s.refs == 1);
	session_unref(&s);		/* the job ends */
	TEST_ASSERT(s.refs == 0);
	TEST_ASSERT(free_calls == 0);	/* posted, not done here */
	loop_run(s.loop);
	TEST_ASSERT(free_calls == 1);
	loop_free(&s.loop);
}

/* A busy session is not asked to say goodbye at shutdown; it is marked
 * and the goodbye comes when the command is over. */
static void
test_stop_busy(void)
{
	struct session s;

	memset(&s, 0, sizeof(s));
	s.proto = &t_proto;
	s.state = SESSION_ACTIVE;
	s.refs = 1;
	s.busy = true;
	session_server_stop(&s);
	TEST_ASSERT(s.stopping && s.state == SESSION_ACTIVE);
}

int
main(void)
{
	loop_global_init();
	TEST_RUN(test_transitions);
	TEST_RUN(test_refs);
	TEST_RUN(test_stop_busy);
	return test_done("test-session");
}
