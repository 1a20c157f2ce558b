/*
 * deliver_pg - local delivery into PostgreSQL (see deliver_pg.h): the
 * commit's mailbox copies as pg_ms_append on a worker, and the Sieve
 * job's folder look-ups, :create and flags.
 *
 * Memory: a copy goes to the database as one bytea parameter, so the
 * message is held whole (~2x with libpq's copy). Deliveries hold at most
 * DELIVER_PG_INFLIGHT bytes of spooled content at once across the
 * process (one bigger message still goes, alone): sixteen 24 MB
 * messages at once are delivered one after the other, in bounded
 * memory, as the Maildir path streams them; small ones never wait for
 * each other. A waiting delivery holds its worker. libpq keeps a
 * connection's output buffer at the largest query it sent, so after a
 * message over DELIVER_PG_BIG the worker's connection is closed (the
 * next query reconnects, ~ms): otherwise each worker would keep a
 * buffer of the biggest message it ever delivered.
 *
 * Trust: copies are routed by the caller (a path under data_dir/mail and
 * the user's address); folder names and flags from Sieve scripts are
 * checked here with the store's own rules before they reach SQL (as
 * parameters, never spliced).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf/conf.h"
#include "msg/deliver_pg.h"
#include "pg/pg_conn.h"
#include "pg/pg_mailstore.h"
#include "store/mailbox.h"
#include "store/mailbox_int.h"
#include "store/maildir.h"
#include "store/quota.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/worker.h"
#include "util/xmalloc.h"

/* Bytes of the spool file read at a time. */
#define DELIVER_PG_READ	(64 * 1024)

/* Spooled content bytes read into memory by deliveries at once. */
#define DELIVER_PG_INFLIGHT	(8 * 1024 * 1024)
/* A message this big closes its worker's connection after delivery. */
#define DELIVER_PG_BIG		(1024 * 1024)

static pthread_mutex_t inflight_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t inflight_cv = PTHREAD_COND_INITIALIZER;
static uint64_t inflight;	/* under inflight_mu */

/* Set once at start, read by every thread after. */
static bool on_pg;
static char *mail_prefix;	/* "data_dir/mail/" */

static const struct {
	const char	*name;
	unsigned	 bit;
} system_flags[] = {
	{ "\\Answered", MBOX_F_ANSWERED }, { "\\Flagged", MBOX_F_FLAGGED },
	{ "\\Deleted", MBOX_F_DELETED }, { "\\Seen", MBOX_F_SEEN },
	{ "\\Draft", MBOX_F_DRAFT },
};
#define NSYSTEM	(sizeof(system_flags) / sizeof(system_flags[0]))

/* quota_usage_compute's source on PostgreSQL: root is
 * data_dir/mail/DOMAIN/LOCALPART (a copy path's INBOX). */
static int
pg_usage(const char *root, struct quota_usage *u_r)
{
	size_t pl = strlen(mail_prefix);
	const char *slash;
	char *address, *err = NULL;
	int64_t user;
	int r;

	if (strncmp(root, mail_prefix, pl) != 0 ||
	    (slash = strchr(root + pl, '/')) == NULL) {
		errno = EINVAL;
		return -1;
	}
	address = xasprintf("%s@%.*s", slash + 1, (int)(slash - root - pl),
	    root + pl);
	r = pg_ms_user_id(address, &user, &err);
	if (r == 0)
		r = pg_ms_usage(user, &u_r->bytes, &u_r->messages, &err);
	/* debug: with the database away every RCPT would say it, and the
	 * delivery logs its own failure */
	if (r != 0)
		log_debug("- store quota-usage-failed user=%s error=\"%s\"",
		    address, err ? err : "");
	free(err);
	free(address);
	if (r != 0) {
		errno = EIO;
		return -1;
	}
	return 0;
}

void
deliver_pg_setup(const struct conf *c)
{
	on_pg = c->storage == CONF_STORAGE_POSTGRESQL;
	free(mail_prefix);
	mail_prefix = on_pg ? xasprintf("%s/mail/", c->data_dir) : NULL;
	quota_set_source(on_pg ? pg_usage : NULL);
}

bool
deliver_pg_on(void)
{
	return on_pg;
}

/* The system flag bit of name, or 0. */
static unsigned
flag_bit(const char *name)
{
	for (size_t j = 0; j < NSYSTEM; j++)
		if (strcasecmp(name, system_flags[j].name) == 0)
			return system_flags[j].bit;
	return 0;
}

char *
deliver_pg_info(const char *const *flags, size_t n)
{
	struct buf b;
	char *s;

	buf_init(&b, 0);
	for (size_t i = 0; i < n; i++) {
		unsigned bit = flag_bit(flags[i]);

		if (bit == 0 && (flags[i][0] == '\\' ||
		    !mbox_keyword_valid(flags[i])))
			continue;
		if (b.len > 0)
			buf_putc(&b, ' ');
		/* a system flag in its canonical spelling */
		for (size_t j = 0; bit && j < NSYSTEM; j++)
			if (system_flags[j].bit == bit)
				buf_puts(&b, system_flags[j].name);
		if (bit == 0)
			buf_puts(&b, flags[i]);
	}
	s = buf_steal(&b, NULL);
	return s ? s : xstrdup("");
}

int
deliver_pg_folder(const char *address, const char *root, const char *name,
    bool create, char **dir_r, char **error_r)
{
	char *norm = NULL;
	int64_t user, id;
	int r;

	*dir_r = NULL;
	if (name == NULL || *name == '\0' || strcasecmp(name, "INBOX") == 0) {
		*dir_r = xstrdup(root);
		return 0;
	}
	if (mbox_name_check(name, create, &norm, error_r) < 0)
		return PG_ERROR;
	if (strcmp(norm, "INBOX") == 0) {
		free(norm);
		*dir_r = xstrdup(root);
		return 0;
	}
	r = pg_ms_user_id(address, &user, error_r);
	if (r == 0)
		r = pg_ms_folder_id(user, norm, &id, error_r);
	if (r == PG_MS_NONEXISTENT && create) {
		XFREE(error_r);
		r = pg_ms_create(user, norm, 0, NULL, error_r);
		if (r == PG_MS_EXISTS) {	/* a concurrent delivery */
			XFREE(error_r);
			r = 0;
		}
		if (r == 0 && pg_ms_subscribe(user, norm, true, error_r) < 0) {
			/* the folder is there: a missing subscription loses
			 * nothing */
			log_warn("- store subscribe-failed folder=%s "
			    "error=\"%s\"", norm, *error_r ? *error_r : "");
			XFREE(error_r);
		}
	}
	if (r == 0)
		*dir_r = xasprintf("%s/.%s", root, norm);
	free(norm);
	return r;
}

/* ---- the commit's copies -------------------------------------------- */

/* Appends p[0..n) to b with each bare LF made CRLF; *last is the byte
 * before p (carried across pieces). */
static void
crlf_append(struct buf *b, const char *p, size_t n, char *last)
{
	size_t from = 0;

	for (size_t i = 0; i < n; i++)
		if (p[i] == '\n' && (i > 0 ? p[i - 1] : *last) != '\r') {
			buf_append(b, p + from, i - from);
			buf_putc(b, '\r');
			from = i;
		}
	buf_append(b, p + from, n - from);
	if (n > 0)
		*last = p[n - 1];
}

/* The spooled part of the content, in wire form. 0 or an errno. */
static int
read_file_part(const struct maildir_job *job, struct buf *out)
{
	char *chunk = xmalloc(DELIVER_PG_READ), last = '\n';
	uint64_t done = 0;
	int err = 0;

	while (done < job->body_file_len) {
		size_t want = job->body_file_len - done < DELIVER_PG_READ ?
		    (size_t)(job->body_file_len - done) : DELIVER_PG_READ;
		ssize_t n = pread(job->body_fd, chunk, want,
		    (off_t)(job->body_file_off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? errno : EIO;
			break;
		}
		crlf_append(out, chunk, (size_t)n, &last);
		done += (uint64_t)n;
	}
	free(chunk);
	return err;
}

/* The folder a copy path names for address (see deliver_pg.h), or
 * NULL when the path is not under the user's root. */
static const char *
copy_folder(const char *dir, const char *address)
{
	const char *at = strrchr(address, '@'), *p = dir, *rest;
	size_t pl = strlen(mail_prefix), dl, ll;

	if (at == NULL || strncmp(p, mail_prefix, pl) != 0)
		return NULL;
	p += pl;
	dl = strlen(at + 1);
	ll = (size_t)(at - address);
	if (strncasecmp(p, at + 1, dl) != 0 || p[dl] != '/' ||
	    strncasecmp(p + dl + 1, address, ll) != 0)
		return NULL;
	rest = p + dl + 1 + ll;
	if (*rest == '\0')
		return "INBOX";
	if (rest[0] == '/' && rest[1] == '.' && rest[2] != '\0')
		return rest + 2;
	return NULL;
}

/* Flags and keywords of an info string (deliver_pg_info's form);
 * *kws_r: a NULL-terminated list pointing into *copy_r. */
static unsigned
info_flags(const char *info, char **copy_r, const char ***kws_r)
{
	unsigned flags = 0;
	size_t n = 0;
	char *save = NULL, *t;

	*copy_r = xstrdup(info ? info : "");
	*kws_r = xcalloc(strlen(*copy_r) / 2 + 2, sizeof(**kws_r));
	for (t = strtok_r(*copy_r, " ", &save); t != NULL;
	    t = strtok_r(NULL, " ", &save)) {
		unsigned bit = flag_bit(t);

		if (bit != 0)
			flags |= bit;
		else if (t[0] != '\\')
			(*kws_r)[n++] = t;
	}
	return flags;
}

/* Makes the folder an append found missing: the user's INBOX and
 * special folders (a new user), then name itself (Junk is one of them;
 * a Sieve folder deleted since the script ran is made again, as the
 * Maildir committer makes a missing directory). */
static int
make_folder(int64_t user, const char *name, char **error_r)
{
	int r = pg_ms_user_init(user, error_r);

	if (r != 0 || strcmp(name, "INBOX") == 0)
		return r;
	r = pg_ms_create(user, name, 0, NULL, error_r);
	if (r == PG_MS_EXISTS) {
		XFREE(error_r);
		r = 0;
	}
	if (r == 0 && pg_ms_subscribe(user, name, true, error_r) < 0)
		XFREE(error_r);		/* the folder is there */
	return r;
}

/* One copy into its folder; the errno for the commit (0: durable).
 * The copy is built in one buffer sized ahead (no doubling's peak), the
 * spooled part read from the file for each copy (the page cache's), so
 * a message is in memory once besides libpq's copy. */
static int
deliver_one(const struct maildir_job *job, struct maildir_rcpt *r)
{
	const char *folder = copy_folder(r->maildir, r->label), **kws = NULL;
	size_t skip = r->body_skip <= job->body_len ? r->body_skip :
	    job->body_len;
	char *err = NULL, *kwcopy = NULL, last = '\n';
	uint32_t uidvalidity = 0, uid = 0;
	unsigned flags;
	struct buf m;
	size_t size;
	int64_t user;
	int rc;

	if (folder == NULL) {
		r->filename = xasprintf("copy path %s is not the user's",
		    r->maildir);
		return EIO;
	}
	buf_init(&m, 0);
	/* the wire form: the sizes, and room for a few bare LFs (more grow
	 * the buffer) */
	size = r->prefix_len + job->body_len - skip + job->body_file_len;
	(void)buf_reserve(&m, size + size / 64);
	crlf_append(&m, r->prefix, r->prefix_len, &last);
	crlf_append(&m, job->body + skip, job->body_len - skip, &last);
	if (job->body_file_len > 0 && (rc = read_file_part(job, &m)) != 0) {
		buf_free(&m);
		r->filename = xasprintf("spool read: %s", strerror(rc));
		return rc;
	}
	flags = info_flags(r->info, &kwcopy, &kws);
	rc = pg_ms_user_id(r->label, &user, &err);
	for (int tries = 0; rc == 0 && tries < 2; tries++) {
		rc = pg_ms_append(user, folder, m.data ? m.data : "", m.len,
		    flags, kws[0] ? kws : NULL, 0, &uidvalidity, &uid, &err);
		if (rc != PG_MS_NONEXISTENT || tries > 0)
			break;
		XFREE(&err);
		rc = make_folder(user, folder, &err);
	}
	size = m.len;
	buf_free(&m);
	free(kwcopy);
	free(kws);
	if (rc == 0) {
		quota_usage_add(r->maildir, (int64_t)size, 1);
		r->filename = xasprintf("%s;UIDVALIDITY=%u;UID=%u", folder,
		    uidvalidity, uid);
		return 0;
	}
	r->filename = err ? err : xstrdup("database error");
	return rc == PG_UNAVAILABLE ? EAGAIN : EIO;
}

static void
deliver_work(void *arg)
{
	struct maildir_job *job = arg;

	pthread_mutex_lock(&inflight_mu);
	while (inflight > 0 &&
	    inflight + job->body_file_len > DELIVER_PG_INFLIGHT)
		pthread_cond_wait(&inflight_cv, &inflight_mu);
	inflight += job->body_file_len;
	pthread_mutex_unlock(&inflight_mu);
	for (int i = 0; i < job->nrcpt; i++)
		job->rcpts[i].result = deliver_one(job, &job->rcpts[i]);
	if (job->body_file_len > DELIVER_PG_BIG)
		pg_conn_close();
	pthread_mutex_lock(&inflight_mu);
	inflight -= job->body_file_len;
	pthread_cond_broadcast(&inflight_cv);
	pthread_mutex_unlock(&inflight_mu);
}

static void
deliver_done(void *arg)
{
	struct maildir_job *job = arg;

	job->done(job);
}

void
deliver_pg_submit(struct maildir_job *job)
{
	worker_submit(job->origin, deliver_work, deliver_done, job);
}
