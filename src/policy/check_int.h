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
	/* sign: the relaxed body hash, the domains to try, the result */
	struct dkim_bodyhash	 bh;
	bool			 bh_open;
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

#endif
