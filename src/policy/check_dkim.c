/*
 * check_dkim - the DKIM job of one message for the checks in
 * check_auth.c (verification of inbound mail) and check_sign.c (signing
 * of submitted mail).
 *
 * Created when the header section is complete, it is the check's body
 * tap: the spool feeds it every body byte on the writer's thread, so the
 * body hashes are done as the message arrives, off the loop, and nothing
 * is read back. At the end it goes to a worker once more: the header
 * digests and the signature (sign) or the body checks (verify); then
 * back on the loop to its owner. Owner: the spool while tapped, then the
 * worker job, then the loop. A job whose check was freed (owner NULL)
 * frees itself when the worker is done. A body the tap never saw (a
 * milter replaced it) is read from its file range by that worker, in
 * DKIM_READ pieces.
 *
 * Trust: the head and body are the sender's; the keys are ours.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mail/rfc5322.h"
#include "policy/check_int.h"
#include "policy/dkim_keys.h"
#include "server/state.h"
#include "util/log.h"
#include "util/worker.h"
#include "util/xmalloc.h"

/* Octets of a replaced body read at a time on the worker. */
#define DKIM_READ	(64 * 1024)

void
dkim_job_free(void *arg)
{
	struct dkim_job *j = arg;
	unsigned char md[DKIM_SHA256_LEN];
	struct dkim_results *res;
	struct arc_result ares;

	if (j->v != NULL) {
		res = dkim_verifier_finish(&j->v);
		dkim_results_free(&res);
	}
	if (j->arc != NULL) {
		arc_verifier_finish(&j->arc, &ares);
		arc_result_clear(&ares);
	}
	if (j->bh_open)
		dkim_bodyhash_final(&j->bh, md, NULL);	/* frees it */
	free(j->head);
	free(j->body);
	free(j->domain[0]);
	free(j->domain[1]);
	if (j->body_fd >= 0)
		close(j->body_fd);
	buf_free(&j->sig);
	server_state_unref(&j->run);
	free(j);
}

/* The writer's thread (or the worker at the end): body bytes. */
void
dkim_job_tap(void *arg, const char *p, size_t n)
{
	struct dkim_job *j = arg;

	if (j->sign) {
		dkim_bodyhash_update(&j->bh, p, n);
		return;
	}
	if (j->v == NULL) {	/* the signatures, from the complete head */
		j->v = dkim_verifier_begin(j->head, j->hlen, j->now);
		j->arc = arc_verifier_begin(j->head, j->hlen, j->now);
	}
	dkim_verifier_body(j->v, p, n);
	arc_verifier_body(j->arc, p, n);
	if (j->bh_open)
		dkim_bodyhash_update(&j->bh, p, n);
}

void
dkim_job_bodyhash(struct dkim_job *j)
{
	TEM_ASSERT(!j->sign && !j->bh_open);
	dkim_bodyhash_init(&j->bh, DKIM_CANON_RELAXED, UINT64_MAX, NULL);
	j->bh_open = true;
}

bool
dkim_job_wanted(const char *head, size_t hlen)
{
	return rfc5322_header_has(head, hlen, "DKIM-Signature") ||
	    rfc5322_header_has(head, hlen, "ARC-Seal") ||
	    rfc5322_header_has(head, hlen, "ARC-Message-Signature") ||
	    rfc5322_header_has(head, hlen, "ARC-Authentication-Results");
}

struct dkim_job *
dkim_job_new(struct server_state *run, bool sign, const char *head,
    size_t hlen)
{
	struct dkim_job *j = xcalloc(1, sizeof(*j));

	j->sign = sign;
	j->now = time(NULL);
	j->body_fd = -1;
	server_state_ref(run);
	j->run = run;
	if (sign) {
		dkim_bodyhash_init(&j->bh, DKIM_CANON_RELAXED, UINT64_MAX,
		    NULL);
		j->bh_open = true;
	} else {
		j->head = xmalloc(hlen + 1);
		memcpy(j->head, head, hlen);
		j->hlen = hlen;
	}
	buf_init(&j->sig, 0);
	return j;
}

void
dkim_job_rebody(struct dkim_job *j)
{
	unsigned char md[DKIM_SHA256_LEN];

	TEM_ASSERT(j->sign && j->bh_open);
	dkim_bodyhash_final(&j->bh, md, NULL);	/* frees it */
	dkim_bodyhash_init(&j->bh, DKIM_CANON_RELAXED, UINT64_MAX, NULL);
}

void
dkim_job_body_file(struct dkim_job *j, int fd, uint64_t off, uint64_t len)
{
	TEM_ASSERT(j->sign && j->body_fd < 0);
	if (len == 0)
		return;
	j->body_fd = dup(fd);
	if (j->body_fd < 0)
		j->read_err = errno;
	j->body_off = off;
	j->body_len = len;
}

/* Worker: the replaced body from its file into the body hash. */
static int
dkim_job_read_body(struct dkim_job *j)
{
	char *p;
	uint64_t pos = 0;
	ssize_t r;

	if (j->read_err)	/* the dup failed */
		return -1;
	p = xmalloc(DKIM_READ);
	while (pos < j->body_len) {
		size_t want = j->body_len - pos < DKIM_READ ?
		    (size_t)(j->body_len - pos) : DKIM_READ;

		r = pread(j->body_fd, p, want, (off_t)(j->body_off + pos));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			j->read_err = r < 0 ? errno : EIO;  /* short: cut */
			break;
		}
		dkim_bodyhash_update(&j->bh, p, (size_t)r);
		pos += (uint64_t)r;
	}
	free(p);
	return j->read_err ? -1 : 0;
}

/* Worker, at the end: the header digests, then sign or decide bodies. */
static void
dkim_job_work(void *arg)
{
	struct dkim_job *j = arg;
	const struct dkim_keystore *ks = j->run->dkim;
	unsigned char bh[DKIM_SHA256_LEN];

	if (j->blen > 0)	/* the message stayed in memory */
		dkim_job_tap(j, j->body, j->blen);
	if (!j->sign) {
		if (j->v == NULL) {	/* no body byte came */
			j->v = dkim_verifier_begin(j->head, j->hlen, j->now);
			j->arc = arc_verifier_begin(j->head, j->hlen, j->now);
		}
		dkim_verifier_body_end(j->v);
		arc_verifier_body_end(j->arc);
		if (j->bh_open) {
			dkim_bodyhash_final(&j->bh, j->bh_md, NULL);
			j->bh_open = false;
			j->bh_done = true;
		}
		return;
	}
	if (j->body_len > 0 && dkim_job_read_body(j) < 0) {
		j->nsig = -1;
		return;
	}
	dkim_bodyhash_final(&j->bh, bh, NULL);
	j->bh_open = false;
	if (ks == NULL)
		return;
	for (int i = 0; i < 2 && j->nsig == 0; i++)
		if (j->domain[i] != NULL)
			j->nsig = dkim_keystore_sign_head(ks, j->head, j->hlen,
			    bh, j->domain[i], &j->sig);
}

/* The loop: to the owner, or freed when the owner went away. */
static void
dkim_job_done(void *arg)
{
	struct dkim_job *j = arg;

	if (j->owner == NULL) {
		dkim_job_free(j);
		return;
	}
	j->back(j->owner, j);
}

void
dkim_job_start(struct dkim_job *j, const struct msg_check_msg *m,
    struct loop *loop, void (*back)(void *owner, struct dkim_job *j),
    void *owner)
{
	if (m->mem_body != NULL && m->mem_blen > 0) {
		j->body = xmalloc(m->mem_blen);
		memcpy(j->body, m->mem_body, m->mem_blen);
		j->blen = m->mem_blen;
	}
	if (j->sign) {
		j->head = xmalloc(m->hlen + 1);
		memcpy(j->head, m->head, m->hlen);
		j->hlen = m->hlen;
	}
	j->back = back;
	j->owner = owner;
	worker_submit(loop, dkim_job_work, dkim_job_done, j);
}
