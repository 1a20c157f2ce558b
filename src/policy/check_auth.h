/*
 * check_auth - sender authentication as checks of the message pipeline
 * (msg/check.h): serve.c registers them; no protocol names them.
 *
 * policy_check_auth: inbound mail (env->inbound, with a resolver).
 *   MAIL        SPF for the MAIL FROM domain (the HELO name for the null
 *               sender) starts in the background;
 *   RCPT        a recipient that is an alias of ours leading to a remote
 *               address makes the check seal (ARC, RFC 8617) for the
 *               alias's domain when that has an RSA DKIM key;
 *   header end  when it has DKIM-Signature or ARC fields, or we seal,
 *               the body is hashed by the tap as it is spooled (the
 *               writer's thread);
 *   end         the DKIM header digests on a worker, then the key
 *               look-ups, and the DMARC look-up of the From domain, in
 *               parallel; the answer when all three are in:
 *               reject 5.7.1: no single From domain (RFC 7489 6.6.1),
 *               DMARC p=reject failing (unless a sealer in
 *               arc_trusted_sealers vouches: RFC 8617 chain passed, its
 *               AAR says DMARC or aligned SPF/DKIM passed), a local MAIL
 *               FROM domain failing SPF; quarantine: p=quarantine
 *               failing; else accept. arc=none|pass|fail joins the
 *               results; when we seal, the ARC set is made on a worker
 *               and goes on top of Authentication-Results. DNS
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

struct buf;
struct msg_source;

/*
 * The ARC seal of a copy a Sieve script redirects (msg/sieve_stage.h's
 * sealer hook; worker thread): head[0..hlen) the copy's header section
 * (tem's Authentication-Results in it says whether the chain passed),
 * the body read from src (a second pass over it: its relaxed hash),
 * sealed for domain (the user's) with its RSA DKIM key, authserv-id
 * hostname. Appends the three fields to out: 0 (logged "LOGID sieve arc
 * sealed"), or -1 (logged at debug: no key, a chain tem did not verify,
 * cv=fail on top, the body unreadable).
 */
int policy_arc_seal_redirect(const char *logid, struct msg_source *src,
    const char *head, size_t hlen, const char *domain, const char *hostname,
    struct buf *out);

#endif
