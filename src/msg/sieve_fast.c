/*
 * sieve_fast - the Sieve stage's common case on the loop (sieve_stage.h):
 * when the last job's knowledge of every user (its compiled active
 * script, or none) is fresh, the scripts run here with a small budget
 * and no callback that touches the disk, and results that need no disk
 * (KEEP, DISCARD, REJECT; FILEINTO and flags when a job resolved the
 * same folder and flag set within SIEVE_STAGE_FRESH_MS, sieve_folder.c)
 * are settled here too: the message skips the worker hop. Anything else is thrown away and the
 * job does it all again with the full limits: runs are pure, so starting
 * over is always safe and the result is the job's.
 *
 * Trust: scripts and messages are untrusted; the budget
 * (SIEVE_FAST_STEPS, SIEVE_FAST_MATCH_STEPS, and steps x message octets
 * under SIEVE_FAST_SCAN) bounds the loop's time per
 * run to tens of µs whatever the script does.
 */
#include <stdlib.h>
#include <string.h>

#include "msg/sieve_stage.h"
#include "util/xmalloc.h"

/* One user's run on the loop. */
struct fast_run {
	struct sieve_stage	*st;
	bool			 abort;		/* a callback needed the disk */
};

static int
fast_body(void *arg, const char **data, size_t *len)
{
	struct fast_run *fr = arg;
	struct msg_source *src = &fr->st->src;
	struct sieve_limits lim;

	sieve_limits_default(&lim);
	if (fr->st->body_lent_len > SIEVE_FAST_BODY_MAX) {
		fr->abort = true;
		return -1;
	}
	if (fr->st->body_lent != NULL) {	/* the caller's memory */
		*data = fr->st->body_lent;
		*len = fr->st->body_lent_len < lim.max_body ?
		    fr->st->body_lent_len : lim.max_body;
		return 0;
	}
	if (src->fd >= 0 && src->len > 0) {	/* on disk: the job reads */
		fr->abort = true;
		return -1;
	}
	return msg_source_body(src, lim.max_body, data, len);
}

static char *
fast_include(void *arg, bool global, const char *name, size_t *len)
{
	struct fast_run *fr = arg;

	(void)global, (void)name, (void)len;
	fr->abort = true;
	return NULL;
}

static bool
fast_mailbox_exists(void *arg, const char *name)
{
	struct fast_run *fr = arg;

	(void)name;
	fr->abort = true;
	return false;
}

static bool
fast_dup_seen(void *arg, const char *handle, const char *id)
{
	struct fast_run *fr = arg;

	(void)handle, (void)id;
	fr->abort = true;
	return false;
}

/* Whether every action of r may apply without the disk (FILEINTO and
 * flags still need the job's answers, fast_copies). */
static bool
fast_result_ok(const struct sieve_result *r)
{
	if (r->error != NULL)	/* a limit (maybe only the budget's) */
		return false;
	for (size_t i = 0; i < r->nactions; i++)
		switch (r->actions[i].type) {
		case SIEVE_KEEP:
		case SIEVE_FILEINTO:
		case SIEVE_DISCARD:
		case SIEVE_REJECT:
			break;
		default:
			return false;
		}
	return true;
}

/* What job_settle would decide, from the folder memory (sieve_folder.c)
 * instead of the disk: false when something is not known (the job runs;
 * a fallback into INBOX is never remembered, so it is the job's). */
static bool
fast_copies(struct sieve_stage_user *u, const char *root)
{
	u->copies = xcalloc(u->r.nactions + 1, sizeof(*u->copies));
	u->drop = xcalloc(u->r.nactions + 1, sizeof(*u->drop));
	u->sent = xcalloc(u->r.nactions + 1, sizeof(*u->sent));
	for (size_t i = 0; i < u->r.nactions; i++) {
		struct sieve_action *a = &u->r.actions[i];
		struct sieve_stage_copy *cp = &u->copies[i];

		if (a->type == SIEVE_FILEINTO)
			cp->dir = sieve_folder_known(root, a->mailbox,
			    a->create);
		else if (a->type == SIEVE_KEEP)
			cp->dir = xstrdup(root);
		else
			continue;
		if (cp->dir == NULL)
			return false;
		if (a->nflags > 0 && (cp->info = sieve_info_known(cp->dir,
		    (const char *const *)a->flags, a->nflags)) == NULL)
			return false;
	}
	return true;
}

/* Undoes one user's fast run: st as sieve_stage_add left it. */
static void
fast_undo(struct sieve_stage_user *u)
{
	if (!u->ran)
		return;
	for (size_t i = 0; u->copies != NULL && i < u->r.nactions; i++) {
		free(u->copies[i].dir);
		free(u->copies[i].info);
	}
	XFREE(&u->copies);
	XFREE(&u->drop);
	XFREE(&u->sent);
	sieve_result_free(&u->r);
	memset(&u->r, 0, sizeof(u->r));
	u->ran = false;
}

/* One user: false when the job must run. */
static bool
fast_user(struct sieve_stage *st, struct sieve_stage_user *u,
    struct sieve_script *const *run, size_t n)
{
	struct fast_run fr = { st, false };
	struct sieve_limits lim;
	struct sieve_env cb;
	size_t scan = st->src.head_len + 1;
	char *root;
	bool ok;

	if (st->body_lent_len <= SIEVE_FAST_BODY_MAX)
		scan += st->body_lent_len;
	sieve_limits_default(&lim);
	/* every step may scan the message once: bounded in octets too */
	lim.max_steps = SIEVE_FAST_SCAN / scan < SIEVE_FAST_STEPS ?
	    (unsigned)(SIEVE_FAST_SCAN / scan) : SIEVE_FAST_STEPS;
	lim.max_match_steps = SIEVE_FAST_MATCH_STEPS;
	memset(&cb, 0, sizeof(cb));
	cb.arg = &fr;
	cb.include_load = fast_include;
	cb.mailbox_exists = fast_mailbox_exists;
	cb.duplicate_seen = fast_dup_seen;
	sieve_stage_exec(st, u, run, n, &cb, fast_body, &lim);
	if (fr.abort || !fast_result_ok(&u->r))
		return false;
	root = xasprintf("%s/mail/%s/%s", st->data_dir, u->domain,
	    u->localpart);
	ok = fast_copies(u, root);
	free(root);
	return ok;
}

bool
sieve_fast_run(struct sieve_stage *st)
{
	struct sieve_script *run[2];
	struct cscript *bs, *cs;
	char *before_dir = NULL;
	bool ok = st->src.head != NULL && !st->src.head_pending;

	if (st->fast_tried)
		return st->settled;
	st->fast_tried = true;
	bs = ok ? sieve_stage_before(&before_dir) : NULL;
	free(before_dir);	/* :global includes go to the job */
	for (size_t i = 0; ok && i < st->nusers; i++) {
		struct sieve_stage_user *u = &st->users[i];
		size_t n = 0;

		if (!sieve_stage_known(u->address, &cs)) {
			ok = false;
			break;
		}
		if (bs != NULL)
			run[n++] = sieve_stage_script_sc(bs);
		if (cs != NULL)
			run[n++] = sieve_stage_script_sc(cs);
		if (n > 0)
			ok = fast_user(st, u, run, n);
		sieve_stage_script_unref(cs);
	}
	sieve_stage_script_unref(bs);
	if (!ok)
		for (size_t i = 0; i < st->nusers; i++)
			fast_undo(&st->users[i]);
	st->settled = ok;
	if (ok) {	/* nothing reads the body now: stop borrowing it */
		st->body_lent = NULL;
		st->body_lent_len = 0;
	}
	return ok;
}
