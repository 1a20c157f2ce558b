/*
 * check_int - internal to check_auth.c, check_sign.c and check_dkim.c:
 * the DKIM job of one message (see check_dkim.c for its owners over
 * time).
 */
#ifndef TEM_POLICY_CHECK_INT_H
#define TEM_POLICY_CHECK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "msg/check.h"
#include "policy/arc.h"
#include "policy/dkim.h"
#include "util/buf.h"

struct loop;
struct server_state;

struct dkim_job {
	bool			 sign;
	char			*head;		/* the header section */
	size_t			 hlen;
	char			*body;		/* a message that stayed in memory:
						   its body, fed on the worker */
	size_t			 blen;
	/* verify: DKIM signatures and the ARC chain, one body pass */
	struct dkim_verifier	*v;
	struct arc_verifier	*arc;
	time_t			 now;
	/* sign: the relaxed body hash, the domains to try, the result;
	 * verify with an ARC seal to make (dkim_job_bodyhash): the same
	 * body hash, left in bh_md */
	struct dkim_bodyhash	 bh;
	bool			 bh_open;
	bool			 bh_done;
	unsigned char		 bh_md[DKIM_SHA256_LEN];
	char			*domain[2];
	struct buf		 sig;
	int			 nsig;
	/* sign, a body the tap never saw (a filter replaced it): read
	 * [body_off, body_off + body_len) of body_fd (our dup; -1: none)
	 * on the worker; read_err: why it failed (nsig -1) */
	int			 body_fd;
	uint64_t		 body_off, body_len;
	int			 read_err;
	/* the running state the session started with: its DKIM keys stay
	 * alive while the worker signs, even if the session is gone */
	struct server_state	*run;
	/* back on the loop: back(owner, j) takes j; owner NULL: cancelled */
	void			(*back)(void *owner, struct dkim_job *j);
	void			*owner;
};

/* Whether the header section head[0..hlen) needs a verify job: it has
 * DKIM signatures or ARC fields. */
bool dkim_job_wanted(const char *head, size_t hlen);
/* A job (verify: of the header section head[0..hlen), copied). */
struct dkim_job *dkim_job_new(struct server_state *run, bool sign,
    const char *head, size_t hlen);
/* Verify: also the relaxed body hash (for an ARC seal), in bh_md once
 * the worker is done (bh_done). Before any body byte. */
void dkim_job_bodyhash(struct dkim_job *j);
/* Body bytes (the tap; any thread, one at a time). */
void dkim_job_tap(void *arg, const char *p, size_t n);
void dkim_job_free(void *arg);
/* Sign: forgets the body hashed so far (the body was replaced). */
void dkim_job_rebody(struct dkim_job *j);
/* Sign: the body is [off, off + len) of fd (dup'ed), read and hashed
 * on the worker by dkim_job_start. */
void dkim_job_body_file(struct dkim_job *j, int fd, uint64_t off,
    uint64_t len);
/* The end: m's in-memory body (and, to sign, its head) copied, the rest
 * on a worker, then back(owner, j) on loop. */
void dkim_job_start(struct dkim_job *j, const struct msg_check_msg *m,
    struct loop *loop, void (*back)(void *owner, struct dkim_job *j),
    void *owner);

/* ---- the ARC seal of forwarded inbound mail (check_arc.c) ---------- */

/* The domain that seals for recipient addr (local@domain, accepted):
 * its domain when it resolves to at least one remote target (an alias
 * leading out) and the domain has an RSA DKIM key; else NULL (the
 * missing key logged at debug). A fresh string. */
char *arc_seal_domain(struct server_state *run, const char *addr,
    const char *logid);

struct arc_seal_args {
	const char		*head;		/* the header section, stored */
	size_t			 hlen;
	const char		*ar;		/* tem's Authentication-Results */
	size_t			 ar_len;
	const unsigned char	*bh;		/* relaxed body hash */
	const struct arc_result	*chain;		/* NULL: none */
	const char		*hostname;	/* authserv-id */
	const char		*domain;	/* the sealer's d= */
};

struct arc_seal_job;

/* Copies *a and seals on a worker (arc_seal_head with the domain's RSA
 * key), then back(owner, seal, r) on loop: r 0 with the three fields in
 * *seal (the callee may take its buffer), or -1. */
struct arc_seal_job *arc_seal_start(struct server_state *run,
    struct loop *loop, const struct arc_seal_args *a,
    void (*back)(void *owner, struct buf *seal, int r), void *owner);
/* The owner is going: no callback; the job frees itself. NULLs *j. */
void arc_seal_detach(struct arc_seal_job **j);

#endif
