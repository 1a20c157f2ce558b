/*
 * sieve_job - the Sieve stage's worker job (see sieve_stage.h): for each
 * local mailbox of the message, find its active script, run it (after
 * sieve_before), and settle on this thread what needs the disk: the
 * folder and flag letters of each copy, redirects refused by the loop
 * check, vacation replies not due.
 *
 * Trust: runs untrusted scripts under sieve.h's limits; the only paths
 * it builds come from account addresses (sieve_store_active_path; with
 * storage = postgresql the script is a row, sieve_store_active) and
 * names checked by the store (sieve_store_name_ok, mbox_deliver_folder).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "mail/rfc5322.h"
#include "msg/deliver_pg.h"
#include "msg/sieve_notice.h"
#include "msg/sieve_stage.h"
#include "sieve/sieve_state.h"
#include "sieve/sieve_store.h"
#include "store/mailbox.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/worker.h"
#include "util/xmalloc.h"

/* A longer Message-ID is not remembered (RFC 5322 lines: 998). */
#define SIEVE_STAGE_MSGID_MAX	998

/* What the callbacks of one user's run need. */
struct job_user {
	struct sieve_stage	*st;
	struct sieve_stage_user	*u;
	char			*root;		/* the user's Maildir */
	char			*before_dir;
	struct sieve_state	*state;		/* opened on first use */
	bool			 state_failed;
};

static struct sieve_state *
job_state(struct job_user *ju)
{
	if (ju->state == NULL && !ju->state_failed &&
	    (ju->state = sieve_state_open(ju->st->data_dir,
	    ju->u->address)) == NULL) {
		ju->state_failed = true;
		log_warn("%s sieve state-failed user=%s error=\"%s\"",
		    ju->st->logid, ju->u->address, strerror(errno));
	}
	return ju->state;
}

/* The body, read once per message (the job's thread only), at most
 * limits.max_body octets. */
static int
job_body(void *arg, const char **data, size_t *len)
{
	struct job_user *ju = arg;
	struct sieve_stage *st = ju->st;
	struct sieve_limits lim;
	bool first = !st->src.body_read;

	sieve_limits_default(&lim);
	if (msg_source_body(&st->src, lim.max_body, data, len) == 0)
		return 0;
	if (first)
		log_warn("%s sieve body-failed msgid=%s error=\"%s\"",
		    st->logid, st->msgid, strerror(errno));
	return -1;
}

static char *
job_include(void *arg, bool global, const char *name, size_t *len)
{
	struct job_user *ju = arg;
	struct stat sb;
	char *path, *text;

	if (!sieve_store_name_ok(name))
		return NULL;
	if (!global)
		return sieve_store_get(ju->st->data_dir, ju->u->address, name,
		    len);
	if (ju->before_dir == NULL)
		return NULL;
	/* :global scripts live beside sieve_before */
	path = xasprintf("%s/%s.sieve", ju->before_dir, name);
	text = sieve_stage_read(path, len, &sb);
	free(path);
	return text;
}

static bool
job_mailbox_exists(void *arg, const char *name)
{
	struct job_user *ju = arg;
	char *dir = NULL, *err = NULL;
	int r = deliver_folder(ju->u->address, ju->root, name, false, &dir,
	    &err);

	free(dir);
	free(err);
	return r == 0;
}

static bool
job_dup_seen(void *arg, const char *handle, const char *id)
{
	struct job_user *ju = arg;
	struct sieve_state *s = job_state(ju);

	return s != NULL && sieve_state_dup_seen(s, handle, id, ju->st->now);
}

/* Whether the header section has a Delivered-To or
 * X-Sieve-Redirected-From field naming address: the message already
 * went through this mailbox, so redirecting it again would loop. */
static bool
head_names(const char *head, size_t len, const char *address)
{
	static const char *const fields[] = { "Delivered-To:",
	    "X-Sieve-Redirected-From:" };
	size_t alen = strlen(address);

	for (size_t i = 0; i < len; ) {
		const char *line = head + i, *eol = memchr(line, '\n', len - i);
		size_t ll = eol ? (size_t)(eol - line) : len - i;

		for (size_t f = 0; f < 2; f++) {
			size_t fl = strlen(fields[f]);
			const char *v = line + fl;
			size_t vl;
			if (ll < fl || strncasecmp(line, fields[f], fl) != 0)
				continue;
			vl = ll - fl;
			while (vl > 0 && (*v == ' ' || *v == '\t' || *v == '<'))
				v++, vl--;
			while (vl > 0 && (v[vl - 1] == '\r' ||
			    v[vl - 1] == ' ' || v[vl - 1] == '>'))
				vl--;
			if (vl == alen && strncasecmp(v, address, alen) == 0)
				return true;
		}
		i += ll + 1;
	}
	return false;
}

/* A redirect target the queue can take: one address, printable, no
 * spaces or brackets, with a domain. */
static bool
redirect_ok(const char *a)
{
	const char *at = a ? strrchr(a, '@') : NULL;

	if (at == NULL || at == a || at[1] == '\0' || strlen(a) > 254)
		return false;
	for (; *a; a++)
		if ((unsigned char)*a <= 0x20 || *a == 0x7f ||
		    strchr("<>()[],;\\\"", *a))
			return false;
	return true;
}

/* Whether vacation's :from (a bare address or "Name <address>") is one
 * of the user's own addresses: a script must not send as anyone else. */
static bool
from_is_own(const struct sieve_stage_user *u, const char *from)
{
	/* the address the reply would carry, read as the builder reads it
	 * (comments, display names), never a reading of our own */
	char *a = sieve_notice_from_addr(from);
	bool own = false;

	if (a == NULL)
		return false;
	own = strcasecmp(u->address, a) == 0;
	for (size_t i = 0; !own && i < u->naliases; i++)
		own = strcasecmp(u->aliases[i], a) == 0;
	free(a);
	return own;
}

/* Whether this user already redirected this message to `to` (the
 * duplicate memory, SIEVE_STAGE_REDIRECT_DUP_S). */
static bool
redirect_done(struct job_user *ju, const char *to)
{
	char *id = sieve_stage_redirect_id(ju->st, to);
	struct sieve_state *s = id != NULL ? job_state(ju) : NULL;
	bool seen = s != NULL && sieve_state_dup_seen(s,
	    SIEVE_STAGE_REDIRECT_HANDLE, id, ju->st->now);

	free(id);
	return seen;
}

/* The Message-ID of the message (redirect duplicates), or NULL. */
static char *
job_message_id(const struct sieve_stage *st)
{
	struct rfc5322_field f;
	char **ids = NULL, *id = NULL;
	size_t n;

	if (!rfc5322_find(st->src.head, st->src.head_len, "message-id", &f))
		return NULL;
	n = rfc5322_msgids_parse(f.value, f.value_len, 1, &ids);
	if (n > 0 && strlen(ids[0]) <= SIEVE_STAGE_MSGID_MAX)
		id = xstrdup(ids[0]);
	rfc5322_msgids_free(&ids, n);
	return id;
}

/* What a run's actions need from the disk. */
static void
job_settle(struct job_user *ju)
{
	struct sieve_stage_user *u = ju->u;
	struct sieve_result *r = &u->r;
	char *err = NULL;

	u->copies = xcalloc(r->nactions + 1, sizeof(*u->copies));
	u->drop = xcalloc(r->nactions + 1, sizeof(*u->drop));
	u->sent = xcalloc(r->nactions + 1, sizeof(*u->sent));
	for (size_t i = 0; i < r->nactions; i++) {
		struct sieve_action *a = &r->actions[i];
		struct sieve_stage_copy *cp = &u->copies[i];

		switch (a->type) {
		case SIEVE_FILEINTO:
			if (deliver_folder(u->address, ju->root, a->mailbox,
			    a->create, &cp->dir, &err) == 0)
				sieve_folder_remember(ju->root, a->mailbox,
				    a->create, cp->dir);
			else {
				/* RFC 5490 / 5228 4.1: keep it in INBOX */
				log_info("%s sieve fileinto-fallback user=%s "
				    "mailbox=\"%s\" error=\"%s\"",
				    ju->st->logid, u->address, a->mailbox,
				    err ? err : "no such mailbox");
				XFREE(&err);
				cp->dir = xstrdup(ju->root);
			}
			__attribute__((fallthrough));	/* into INBOX */
		case SIEVE_KEEP:
			if (cp->dir == NULL)
				cp->dir = xstrdup(ju->root);
			if (a->nflags > 0) {
				cp->info = deliver_info(cp->dir,
				    (const char *const *)a->flags, a->nflags);
				sieve_info_remember(cp->dir,
				    (const char *const *)a->flags, a->nflags,
				    cp->info);
			}
			break;
		case SIEVE_REDIRECT:
			if (u->redirect_loop || !redirect_ok(a->address)) {
				log_info("%s sieve redirect-refused user=%s "
				    "to=<%s> reason=%s", ju->st->logid,
				    u->address, a->address ? a->address : "",
				    u->redirect_loop ? "loop" : "address");
				u->drop[i] = true;
				cp->dir = xstrdup(ju->root);	/* keep */
			} else if (redirect_done(ju, a->address)) {
				log_info("%s sieve redirect-duplicate msgid=%s "
				    "user=%s to=<%s>", ju->st->logid,
				    ju->st->msgid, u->address, a->address);
				u->drop[i] = true;	/* sent before: no keep */
			}
			break;
		case SIEVE_VACATION: {
			struct sieve_state *s = job_state(ju);
			if (a->from != NULL && !from_is_own(u, a->from)) {
				log_info("%s sieve vacation-from-refused "
				    "user=%s", ju->st->logid, u->address);
				XFREE(&a->from);	/* From: the user */
			}
			if (s != NULL && a->handle && a->address &&
			    !sieve_state_vacation_due(s, a->handle, a->address,
			    a->seconds, ju->st->now))
				u->drop[i] = true;
			break;
		}
		default:
			break;
		}
	}
}

void
sieve_stage_exec(struct sieve_stage *st, struct sieve_stage_user *u,
    struct sieve_script *const *run, size_t n, const struct sieve_env *cb,
    int (*body)(void *, const char **, size_t *),
    const struct sieve_limits *lim)
{
	const char **addrs = xcalloc(u->naliases + 1, sizeof(*addrs));
	struct sieve_env env = *cb;
	struct sieve_msg m;
	struct tm tm;

	memset(&m, 0, sizeof(m));
	m.head = st->src.head;
	m.head_len = st->src.head_len;
	if (msg_source_has_body(&st->src) || st->body_lent_len > 0) {
		m.body = body;
		m.body_arg = cb->arg;
	}
	m.size = msg_source_size(&st->src) + st->body_lent_len;
	m.env_from = st->env_from;
	m.env_to = u->env_to;
	m.auth = st->auth;
	m.now = st->now;
	localtime_r(&st->now, &tm);
	m.now_zone = (int)(tm.tm_gmtoff / 60);
	env.user = u->address;
	addrs[0] = u->address;
	env.naddresses = 1;
	for (size_t i = 0; i < u->naliases; i++)
		if (strcasecmp(u->aliases[i], u->address) != 0)
			addrs[env.naddresses++] = u->aliases[i];
	env.addresses = addrs;
	env.subaddress_sep = "+";
	sieve_run(run, n, &m, &env, lim, &u->r);
	free(addrs);
	u->ran = true;
}

/* storage = postgresql: u's active script from its row (u->script its
 * name, u->error a compile error), compiled through the text cache.
 * 0 (*cs_r NULL: none, or it did not compile), or -1: the database did
 * not answer (logged; the message gets the implicit keep). */
static int
job_pg_script(struct sieve_stage *st, struct sieve_stage_user *u,
    struct cscript **cs_r)
{
	struct sieve_error err;
	size_t len = 0;
	char *name = NULL, *key;
	char *text = sieve_store_active(st->data_dir, u->address, &len, &name);

	*cs_r = NULL;
	if (text == NULL) {
		if (errno == ENOENT)
			return 0;
		/* the database could not say: the message waits (451, or
		 * the queue's retry) rather than be kept unfiltered */
		st->error = errno != 0 ? errno : EIO;
		log_warn("%s sieve script-failed user=%s error=\"%s\"",
		    st->logid, u->address, strerror(st->error));
		return -1;
	}
	memset(&err, 0, sizeof(err));
	key = xasprintf("%s/%s", u->address, name);
	if ((*cs_r = sieve_stage_script_text(key, text, len, &err)) == NULL &&
	    errno == EINVAL)
		u->error = xasprintf("line %d: %s", err.line, err.msg);
	u->script = name;
	free(key);
	free(text);
	return 0;
}

static void
job_user(struct sieve_stage *st, struct sieve_stage_user *u,
    struct cscript *bs, char *before_dir)
{
	struct job_user ju = { st, u, NULL, before_dir, NULL, false };
	struct sieve_script *run[2];
	struct cscript *cs = NULL;
	struct sieve_error err;
	char *path = sieve_store_on_pg() ? NULL :
	    sieve_store_active_path(st->data_dir, u->address);
	char *slash;
	size_t n = 0;
	bool known = true;
	struct sieve_env cb;

	memset(&err, 0, sizeof(err));
	if (sieve_store_on_pg())
		known = job_pg_script(st, u, &cs) == 0;
	else if (path != NULL) {
		slash = strrchr(path, '/');
		u->script = xstrndup(slash + 1, strlen(slash + 1) - 6);
		if ((cs = sieve_stage_script(path, &err)) == NULL &&
		    errno == EINVAL)
			u->error = xasprintf("line %d: %s", err.line, err.msg);
	}
	if (known)	/* a database error: remember nothing */
		sieve_stage_seen(u->address, cs != NULL || u->error != NULL,
		    cs);
	free(path);
	if (bs != NULL)
		run[n++] = sieve_stage_script_sc(bs);
	if (cs != NULL)
		run[n++] = sieve_stage_script_sc(cs);
	if (n == 0)
		return;
	ju.root = xasprintf("%s/mail/%s/%s", st->data_dir, u->domain,
	    u->localpart);
	memset(&cb, 0, sizeof(cb));
	cb.arg = &ju;
	cb.include_load = job_include;
	cb.mailbox_exists = job_mailbox_exists;
	cb.duplicate_seen = job_dup_seen;
	u->redirect_loop = head_names(st->src.head, st->src.head_len,
	    u->address);
	sieve_stage_exec(st, u, run, n, &cb, job_body, NULL);
	if (u->r.error != NULL && u->error == NULL)
		u->error = xstrdup(u->r.error);
	job_settle(&ju);
	sieve_stage_seal(st, u);
	sieve_state_close(&ju.state);
	sieve_stage_script_unref(cs);
	free(ju.root);
}

static void
job_work(void *arg)
{
	struct sieve_stage *st = arg;
	char *before_dir = NULL;
	struct cscript *bs;

	/* queued mail: the header section is read here, off the loop */
	if (msg_source_load_head(&st->src) < 0) {
		st->error = errno;
		log_error("%s sieve read-failed msgid=%s error=\"%s\"",
		    st->logid, st->msgid, strerror(errno));
		return;
	}
	st->message_id = job_message_id(st);
	bs = sieve_stage_before(&before_dir);
	for (size_t i = 0; i < st->nusers; i++)
		job_user(st, &st->users[i], bs, before_dir);
	sieve_stage_script_unref(bs);
	free(before_dir);
}

static void
job_done(void *arg)
{
	struct sieve_stage *st = arg;

	st->done(st, st->arg);
}

void
sieve_stage_run(struct sieve_stage *st, struct loop *origin,
    void (*done)(struct sieve_stage *, void *), void *arg)
{
	st->origin = origin;
	st->done = done;
	st->arg = arg;
	if (sieve_fast_run(st)) {	/* no hop: done on a later turn */
		loop_post(origin, job_done, st);
		return;
	}
	if (st->body_lent != NULL) {	/* the job's own copy */
		st->src.body_mem = xmemdup(st->body_lent, st->body_lent_len);
		st->src.body_mem_len = st->body_lent_len;
		st->body_lent = NULL;
		st->body_lent_len = 0;
	}
	worker_submit(origin, job_work, job_done, st);
}
