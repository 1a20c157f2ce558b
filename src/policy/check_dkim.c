/*
 * check_dkim - the DKIM job of one message for the checks in
 * check_auth.c: verification of inbound mail, signing of submitted mail.
 *
 * Created when the header section is complete, it is the check's body
 * tap: the spool feeds it every body byte on the writer's thread, so the
 * body hashes are done as the message arrives, off the loop, and nothing
 * is read back. At the end it goes to a worker once more: the header
 * digests and the signature (sign) or the body checks (verify); then
 * back on the loop to its owner. Owner: the spool while tapped, then the
 * worker job, then the loop. A job whose check was freed (owner NULL)
 * frees itself when the worker is done.
 *
 * Trust: the head and body are the sender's; the keys are ours.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/check_int.h"
#include "policy/dkim_keys.h"
#include "server/state.h"
#include "util/worker.h"
#include "util/xmalloc.h"

void
dkim_job_free(void *arg)
{
	struct dkim_job *j = arg;
	unsigned char md[DKIM_SHA256_LEN];
	struct dkim_results *res;

	if (j->v != NULL) {
		res = dkim_verifier_finish(&j->v);
		dkim_results_free(&res);
	}
	if (j->bh_open)
		dkim_bodyhash_final(&j->bh, md, NULL);	/* frees it */
	free(j->head);
	free(j->body);
	free(j->domain[0]);
	free(j->domain[1]);
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
	if (j->v == NULL)	/* the signatures, from the complete head */
		j->v = dkim_verifier_begin(j->head, j->hlen, j->now);
	dkim_verifier_body(j->v, p, n);
}

struct dkim_job *
dkim_job_new(struct server_state *run, bool sign, const char *head,
    size_t hlen)
{
	struct dkim_job *j = xcalloc(1, sizeof(*j));

	j->sign = sign;
	j->now = time(NULL);
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
		if (j->v == NULL)	/* no body byte came */
			j->v = dkim_verifier_begin(j->head, j->hlen, j->now);
		dkim_verifier_body_end(j->v);
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
