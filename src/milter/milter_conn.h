/*
 * milter_conn - one connection to one milter (a mail filter speaking the
 * Sendmail/Postfix milter protocol, version 6): the non-blocking connect,
 * the option negotiation, sending packets and handing the decoded
 * replies to the owner, with a timeout per reply.
 *
 * Trust: the filter is configured by the administrator but its bytes are
 * checked as untrusted: every reply goes through the codec's decoder
 * (milter_proto.h, packets <= MILTER_PKT_MAX), a reply nobody waits for or
 * an action the filter did not negotiate is a protocol error. A failure
 * (refused, timeout, closed, garbage) is reported once and the
 * connection is dead from then on: the owner applies
 * milter_default_action and frees it.
 *
 * Threads: everything on the owner's loop (util/io, util/loop).
 *
 * Use:
 *   c = milter_conn_open(loop, sa, salen, name, connect_to, command_to,
 *       fn, arg);    fn(arg, r, NULL) with r->code == SMFIR_OPTNEG once
 *                    negotiated; or fn(arg, NULL, "reason")
 *   milter_conn_send(c, &pkt, timeout)   timeout > 0: a reply is awaited;
 *       fn(arg, r, NULL) for each modification (SMFIR_ADDHEADER ...) and
 *       then once for the final reply (accept, continue, reject ...);
 *       SMFIR_PROGRESS only re-arms the timeout
 *   milter_conn_pause(c, true/false)     holds replies back (the owner's
 *                                        sink is full)
 *   milter_conn_free(&c)                 any time, also inside fn
 */
#ifndef TEM_MILTER_CONN_H
#define TEM_MILTER_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "milter/milter_proto.h"
#include "util/buf.h"

struct loop;
struct milter_conn;

/* r NULL: the connection failed for the static reason err. */
typedef void milter_conn_fn(void *arg, const struct milter_reply *r,
    const char *err);

struct milter_conn *milter_conn_open(struct loop *l, const struct sockaddr *sa,
    unsigned salen, unsigned connect_timeout, unsigned command_timeout,
    milter_conn_fn *fn, void *arg);
/* Sends the packets in pkt (emptied). timeout (seconds) > 0: waits for
 * the final reply; 0: none is expected (an NR_ step, ABORT, QUIT). */
void milter_conn_send(struct milter_conn *c, struct buf *pkt,
    unsigned timeout);
void milter_conn_pause(struct milter_conn *c, bool pause);
/* What the filter negotiated. */
uint32_t milter_conn_actions(const struct milter_conn *c);
uint32_t milter_conn_protocol(const struct milter_conn *c);
/* Closes now (the caller sent QUIT when it wanted to). */
void milter_conn_free(struct milter_conn **c);

/* A final reply (ends the wait), as opposed to a modification. */
bool milter_reply_final(char code);

#endif
