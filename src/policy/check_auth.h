/*
 * check_auth - sender authentication as checks of the message pipeline
 * (msg/check.h): serve.c registers them; no protocol names them.
 *
 * policy_check_auth: inbound mail (env->inbound, with a resolver).
 *   MAIL        SPF for the MAIL FROM domain (the HELO name for the null
 *               sender) starts in the background;
 *   header end  when it has DKIM-Signature fields, the body is hashed by
 *               the tap as it is spooled (the writer's thread);
 *   end         the DKIM header digests on a worker, then the key
 *               look-ups, and the DMARC look-up of the From domain, in
 *               parallel; the answer when all three are in:
 *               reject 5.7.1: no single From domain (RFC 7489 6.6.1),
 *               DMARC p=reject failing, a local MAIL FROM domain failing
 *               SPF; quarantine: p=quarantine failing; else accept. DNS
 *               trouble never rejects (temperror in the header). Header:
 *               Authentication-Results naming our hostname; the header
 *               section rewritten without fields from outside that claim
 *               our name (after DKIM saw the message as it came).
 *
 * policy_check_sign: mail of a logged-in user (env->authenticated) when
 *   DKIM keys exist: signed with the newest keys of its From domain (if
 *   ours) else its MAIL FROM domain; the body hash is fed by the tap, the
 *   signature made on a worker; answer: accept with DKIM-Signature
 *   headers (none when no key fits). Never refuses.
 *
 * Trust: everything checked comes from the sender and the sender's DNS;
 * results only steer the verdict and go into our header.
 */
#ifndef TEM_POLICY_CHECK_AUTH_H
#define TEM_POLICY_CHECK_AUTH_H

#include "msg/check.h"

extern const struct msg_check_ops policy_check_auth;
extern const struct msg_check_ops policy_check_sign;

#endif
