/*
 * dkim_verify - DKIM verification of a received message: each signature's
 * key record fetched through the asynchronous resolver (dns.h), then
 * decided by the I/O-free verifier (dkim.h).
 *
 * Trust: message and DNS answers from anyone; the work per message is
 * bounded as dkim.h describes (at most DKIM_MAX_SIGS look-ups, all in
 * parallel, each under the resolver's deadline).
 *
 * Use (inbound SMTP, at the end of DATA, on the session's loop):
 *   v = dkim_verify_start(resolver, msg, len, done, arg);
 *   ... done(res, arg) runs later on the resolver's loop, with one result
 *   per signature (res->n == 0: the message is unsigned, "dkim=none");
 *   done owns res and frees it with dkim_results_free().
 * The body and header hashes are computed inside dkim_verify_start (one
 * pass over the message, on the calling thread), so msg may be freed or
 * changed as soon as it returns.
 */
#ifndef TEM_DKIM_VERIFY_H
#define TEM_DKIM_VERIFY_H

#include <stddef.h>
#include <time.h>

#include "policy/dkim.h"

struct dns_resolver;
struct dkim_verify;

/*
 * Starts verifying msg[0..len) (LF line ends, as stored). done is always
 * called exactly once, later (never from inside this call), unless
 * dkim_verify_cancel() comes first. The handle is valid until done has
 * started. Never NULL.
 */
struct dkim_verify *dkim_verify_start(struct dns_resolver *r,
    const char *msg, size_t len,
    void (*done)(struct dkim_results *res, void *arg), void *arg);
/* The same with the clock given (x= expiry; tests). */
struct dkim_verify *dkim_verify_start_at(struct dns_resolver *r,
    const char *msg, size_t len, time_t now,
    void (*done)(struct dkim_results *res, void *arg), void *arg);

/* The same for a verifier whose body was already fed (dkim_verifier_begin,
 * _body, _body_end: a message streamed from a spool file, hashed on a
 * worker); takes v. */
struct dkim_verify *dkim_verify_keys(struct dns_resolver *r,
    struct dkim_verifier *v,
    void (*done)(struct dkim_results *res, void *arg), void *arg);

enum dns_status;
/* A key look-up's DNS status as the verifier takes it (also arc_dns.c):
 * OK found, TEMPFAIL temperror, anything else no key. */
enum dkim_key_answer dkim_key_answer_of(enum dns_status st);

/* Stops a verification: its look-ups are cancelled and done is not
 * called. NULLs *v; a NULL *v is ignored. Must not be called once done
 * has started. Cancel every verification before freeing its resolver
 * (dns_resolver_free drops their callbacks, and with them the memory). */
void dkim_verify_cancel(struct dkim_verify **v);

#endif
