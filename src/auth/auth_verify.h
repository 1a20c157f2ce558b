/*
 * auth_verify - checks a user's password for any protocol (SMTP AUTH,
 * IMAP LOGIN/AUTHENTICATE, POP3 USER/PASS and AUTH), off the event loop.
 *
 * Trust: handles passwords: copied once, wiped after use, never logged.
 * The account is looked up in the current snapshot on the calling loop,
 * and the login cache (authcache.h: one HMAC) checked there too; a miss
 * runs yescrypt on the workers' auth lane (worker_submit_auth), against
 * a dummy hash of the same cost when the user does not exist, so timing
 * does not tell whether an address is an account.
 * Failure throttling (authfail.h) stays with the caller, which knows the
 * client's address and how its protocol answers.
 */
#ifndef TEM_AUTH_VERIFY_H
#define TEM_AUTH_VERIFY_H

#include <stdbool.h>

struct loop;
struct acct_snapshot;

/*
 * Verifies user/pass against the accounts snapshot acct (the caller's
 * reference; only read during this call); done(ok, canonical, arg) runs
 * later on origin.
 * canonical is the account's address ("local@domain") when ok, else NULL;
 * it is malloc'd and the callee's to keep or free. pass is wiped from the
 * copy made here; the caller wipes its own.
 */
void auth_verify_start(struct loop *origin, const struct acct_snapshot *acct,
    const char *user, const char *pass,
    void (*done)(bool ok, char *canonical, void *arg), void *arg);

#endif
