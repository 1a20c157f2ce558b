/*
 * deliver_pg - local delivery into PostgreSQL (see deliver_pg.h): the
 * commit's mailbox copies as pg_ms_append_one on a worker, and the Sieve
 * job's folder look-ups, :create and flags.
 *
 * Memory: a copy streams into the database (pg_ms_append_item's file
 * range; over 256 KiB by COPY in 64 KiB pieces, pg_mailstore_blob.c):
 * only the recipient's prefix and the content already in memory are
 * joined in one buffer; the spooled part is read from the file as it is
 * sent, so neither tem nor libpq holds a big message whole.
 *
 * Trust: copies are routed by the caller (a path under data_dir/mail and
 * the user's address); folder names and flags from Sieve scripts are
 * checked here with the store's own rules before they reach SQL (as
 * parameters, never spliced).
 */
#include <errno.h>
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
deliver_folder(const char *address, const char *root, const char *name,
    bool create, char **dir_r, char **error_r)
{
	if (on_pg)
		return deliver_pg_folder(address, root, name, create, dir_r,
		    error_r);
	return mbox_deliver_folder(root, name, create, dir_r, error_r);
}

char *
deliver_info(const char *dir, const char *const *flags, size_t n)
{
	return on_pg ? deliver_pg_info(flags, n) :
	    mbox_deliver_info(dir, flags, n);
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
 * The prefix and the content in memory are joined; the spooled part
 * goes from the file as a range (pg_ms_append_item), read in pieces as
 * it is sent, all of it in wire form (crlf). */
static int
deliver_one(const struct maildir_job *job, struct maildir_rcpt *r)
{
	const char *folder = copy_folder(r->maildir, r->label), **kws = NULL;
	size_t skip = r->body_skip <= job->body_len ? r->body_skip :
	    job->body_len;
	char *err = NULL, *kwcopy = NULL;
	uint32_t uidvalidity = 0, uid = 0;
	struct pg_ms_append_item it = { .crlf = true, .fd = job->body_fd,
	    .file_off = job->body_file_off, .file_len = job->body_file_len };
	struct buf m;
	int64_t user;
	int rc;

	if (folder == NULL) {
		r->filename = xasprintf("copy path %s is not the user's",
		    r->maildir);
		return EIO;
	}
	/* as they are: the source makes the wire form of the whole */
	buf_init(&m, 0);
	(void)buf_reserve(&m, r->prefix_len + job->body_len - skip);
	buf_append(&m, r->prefix, r->prefix_len);
	buf_append(&m, job->body + skip, job->body_len - skip);
	it.data = m.data;
	it.len = m.len;
	it.flags = info_flags(r->info, &kwcopy, &kws);
	it.keywords = kws[0] ? kws : NULL;
	rc = pg_ms_user_id(r->label, &user, &err);
	for (int tries = 0; rc == 0 && tries < 2; tries++) {
		rc = pg_ms_append_one(user, folder, &it, &uidvalidity, &uid,
		    &err);
		if (rc != PG_MS_NONEXISTENT || tries > 0)
			break;
		XFREE(&err);
		rc = make_folder(user, folder, &err);
	}
	buf_free(&m);
	free(kwcopy);
	free(kws);
	if (rc == 0) {
		quota_usage_add(r->maildir, (int64_t)it.size, 1);
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

	for (int i = 0; i < job->nrcpt; i++)
		job->rcpts[i].result = deliver_one(job, &job->rcpts[i]);
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
