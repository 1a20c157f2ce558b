/*
 * arc_dns - ARC chain validation with key records from DNS: one TXT
 * look-up per distinct key the chain's signatures name (arc.h bounds
 * them), all in parallel through the check's resolver, then the result.
 *
 * Use (inbound SMTP, on the session's loop, after a worker fed the body
 * to the verifier): a = arc_verify_keys(resolver, v, done, arg); done(res,
 * arg) runs later (never inside this call) and owns res (clear it with
 * arc_result_clear and free it). The handle is valid until done starts.
 */
#ifndef TEM_POLICY_ARC_DNS_H
#define TEM_POLICY_ARC_DNS_H

#include "policy/arc.h"

struct dns_resolver;
struct arc_verify;

/* Takes v (fed: arc_verifier_body_end done). Never NULL. */
struct arc_verify *arc_verify_keys(struct dns_resolver *r,
    struct arc_verifier *v,
    void (*done)(struct arc_result *res, void *arg), void *arg);
/* Stops it: look-ups cancelled, done not called. NULLs *a; NULL ignored.
 * Not once done has started. */
void arc_verify_cancel(struct arc_verify **a);

#endif
