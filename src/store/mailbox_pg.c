/*
 * mailbox_pg - the mail store on PostgreSQL (storage = postgresql), part
 * one: users, folders and APPEND, as mbox_pg_* (mailbox_backend.h) on
 * top of pg_mailstore.h. Views are mailbox_pg_view.c's, watches
 * mailbox_pg_watch.c's.
 *
 * Users: one struct per address per process (a registry, like the
 * Maildir store's per root); POP3's lock is its flag in this process
 * and a lease in the database across nodes (mailbox_pg_pop3.c). Opening runs
 * pg_ms_user_init (INBOX and the special folders made if missing).
 *
 * APPEND spools under data_dir/tmp as on Maildir (CRLF stored as LF,
 * mailbox_spool.c), then the file is handed to pg_ms_append(_many) as a
 * range streamed in the wire form (every LF not preceded by CR becomes
 * CRLF; never whole in memory), which commits before it returns: OK
 * after that. A byte-exact literal8
 * spool goes as it is, with messages.exact (mbox_msg_info.exact, the
 * Maildir ",X=1"): text readers still send every bare LF as CRLF, and
 * its size is counted so, so RFC822.SIZE is always what FETCH sends.
 *
 * Trust: names and keywords come from authenticated clients and are
 * checked here (mbox_name_check, mbox_keyword_valid) before pg_ms_*,
 * which expects them checked. Errors of the database are logged (one
 * line) and reach the client as NO [UNAVAILABLE] without their text.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pg/pg_conn.h"
#include "pg/pg_mailstore.h"
#include "store/mailbox_int.h"
#include "store/mailbox_pg.h"
#include "store/mailbox_spool.h"
#include "util/hashmap.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define PU(u)	((struct mbox_pg_user *)(u))
#define CPU(u)	((const struct mbox_pg_user *)(u))

int
mbox_pg_rc(int rc, char **errp, char **error_r)
{
	char *err = *errp;
	int r;

	*errp = NULL;
	switch (rc) {
	case PG_OK:
		free(err);
		return 0;
	case PG_MS_NONEXISTENT: r = MBOX_ERR_NONEXISTENT; break;
	case PG_MS_EXISTS: r = MBOX_ERR_EXISTS; break;
	case PG_MS_CANNOT: r = MBOX_ERR_CANNOT; break;
	case PG_MS_LIMIT: r = MBOX_ERR_LIMIT; break;
	case PG_UNAVAILABLE:
		log_warn("- store pg-unavailable error=\"%s\"",
		    err ? err : "?");
		free(err);
		mbox_error(error_r, "Mail store unavailable, try again later");
		return MBOX_ERR_UNAVAILABLE;
	default:
		log_error("- store pg-failed error=\"%s\"", err ? err : "?");
		free(err);
		mbox_error(error_r, "Mail store error");
		return MBOX_ERR_TEMP;
	}
	mbox_error(error_r, "%s", err ? err : "Failed");
	free(err);
	return r;
}

/* ---- users ---------------------------------------------------------- */

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hashmap *reg;		/* address -> struct mbox_pg_user */

/* data_dir/tmp for APPEND spools and message reads, made at the first
 * login (after serve dropped its privileges: the run_as user's). */
static void
spool_dir(void)
{
	static atomic_bool made;
	char *tmp;

	if (atomic_load(&made) || mbox_data_dir() == NULL)
		return;
	tmp = xasprintf("%s/tmp", mbox_data_dir());
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		log_error("- store spool-dir path=%s error=\"%s\"", tmp,
		    strerror(errno));
	else
		atomic_store(&made, true);
	free(tmp);
}

int
mbox_pg_user_open(const char *address, struct mbox_user **u_r,
    char **error_r)
{
	struct mbox_pg_user *u;
	char *err = NULL;
	int64_t id = 0;
	int rc;

	*u_r = NULL;
	if (address == NULL) {
		mbox_error(error_r, "No account address for the mail store");
		return MBOX_ERR_TEMP;
	}
	spool_dir();
	if ((rc = pg_ms_user_id(address, &id, &err)) == PG_OK)
		rc = pg_ms_user_init(id, &err);
	if (rc != PG_OK)
		return mbox_pg_rc(rc, &err, error_r);
	pthread_mutex_lock(&reg_lock);
	if (reg == NULL)
		reg = hashmap_new(0);
	if ((u = hashmap_get(reg, address)) != NULL && u->id == id)
		u->refs++;
	else {
		/* a user re-created under the same address: the old
		 * struct lives on with its sessions, out of the map */
		u = xcalloc(1, sizeof(*u));
		u->base.be = MBOX_PG;
		u->address = xstrdup(address);
		u->id = id;
		u->refs = 1;
		hashmap_put(reg, address, u);
	}
	pthread_mutex_unlock(&reg_lock);
	*u_r = &u->base;
	return 0;
}

struct mbox_user *
mbox_pg_user_find(const char *address)
{
	struct mbox_pg_user *u = NULL;

	if (address == NULL)
		return NULL;
	pthread_mutex_lock(&reg_lock);
	if (reg != NULL && (u = hashmap_get(reg, address)) != NULL)
		u->refs++;
	pthread_mutex_unlock(&reg_lock);
	return u ? &u->base : NULL;
}

void
mbox_pg_user_ref(struct mbox_pg_user *u)
{
	pthread_mutex_lock(&reg_lock);
	u->refs++;
	pthread_mutex_unlock(&reg_lock);
}

void
mbox_pg_user_unref(struct mbox_user **up)
{
	struct mbox_pg_user *u = PU(*up);
	bool last;

	*up = NULL;
	if (u == NULL)
		return;
	pthread_mutex_lock(&reg_lock);
	last = --u->refs == 0;
	if (last && reg != NULL && hashmap_get(reg, u->address) == u)
		hashmap_remove(reg, u->address);
	pthread_mutex_unlock(&reg_lock);
	if (!last)
		return;
	free(u->address);
	free(u);
}

/* Nothing to keep warm: the database holds the folders. */
void
mbox_pg_user_linger(struct mbox_user **up, struct mbox_view *v)
{
	(void)v;
	mbox_pg_user_unref(up);
}

const char *
mbox_pg_user_address(const struct mbox_user *u)
{
	return CPU(u)->address;
}

int64_t
mbox_pg_user_id(const struct mbox_user *u)
{
	return CPU(u)->id;
}

void
mbox_pg_user_each_id(int64_t id, void (*fn)(struct mbox_pg_user *u,
    void *arg), void *arg)
{
	struct hashmap_iter it = { 0 };
	const char *key;
	void *val;

	pthread_mutex_lock(&reg_lock);
	while (reg != NULL && hashmap_next(reg, &it, &key, &val))
		if (id == 0 || ((struct mbox_pg_user *)val)->id == id)
			fn(val, arg);
	pthread_mutex_unlock(&reg_lock);
}

/* The flag orders this process's sessions; the lease in the database
 * (mailbox_pg_pop3.c) the nodes'. */
int
mbox_pg_pop3_lock(struct mbox_user *u, char **error_r)
{
	bool ok;
	int r;

	pthread_mutex_lock(&reg_lock);
	ok = !PU(u)->pop3;
	PU(u)->pop3 = true;
	pthread_mutex_unlock(&reg_lock);
	if (!ok)
		return 0;
	if ((r = mbox_pg_pop3_take(PU(u)->id, error_r)) != 1) {
		pthread_mutex_lock(&reg_lock);
		PU(u)->pop3 = false;
		pthread_mutex_unlock(&reg_lock);
	}
	return r;
}

void
mbox_pg_pop3_unlock(struct mbox_user *u)
{
	/* the row first: once the flag is down, a session of this process
	   may take the lease again, which this DELETE must not undo */
	mbox_pg_pop3_give(PU(u)->id);
	pthread_mutex_lock(&reg_lock);
	PU(u)->pop3 = false;
	pthread_mutex_unlock(&reg_lock);
}

/* ---- folders -------------------------------------------------------- */

int
mbox_pg_list(struct mbox_user *u, struct mbox_folder_info **list_r,
    size_t *n_r, char **error_r)
{
	struct pg_ms_folder *l = NULL;
	struct hashmap *m;
	char *err = NULL;
	size_t n = 0;
	int rc = pg_ms_list(PU(u)->id, &l, &n, &err);

	if (rc != PG_OK)
		return mbox_pg_rc(rc, &err, error_r);
	m = hashmap_new(0);
	mbox_list_add(m, "INBOX", 0);
	for (size_t i = 0; i < n; i++)
		if (l[i].exists)
			mbox_list_add(m, l[i].name, (l[i].special_use |
			    mbox_list_default_use(l[i].name)) &
			    MBOX_SPECIAL_USE);
	mbox_list_tree(m);
	for (size_t i = 0; i < n; i++)
		if (l[i].subscribed)
			mbox_list_add(m, l[i].name, hashmap_get(m, l[i].name) ?
			    MBOX_SUBSCRIBED : MBOX_SUBSCRIBED |
			    MBOX_NONEXISTENT | MBOX_NOSELECT);
	pg_ms_folders_free(l, n);
	mbox_list_take(&m, list_r, n_r);
	return 0;
}

int
mbox_pg_create(struct mbox_user *u, const char *name, unsigned special_use,
    char **error_r)
{
	char *norm, *err = NULL;
	uint32_t uidvalidity;
	int r = mbox_name_check(name, true, &norm, error_r);

	if (r < 0)
		return r;
	/* IMAP NOTIFY hears it from its NOTIFY (mailbox_pg_notify.c), as
	 * the other folder operations' below */
	r = mbox_pg_rc(pg_ms_create(PU(u)->id, norm, special_use &
	    MBOX_SPECIAL_USE, &uidvalidity, &err), &err, error_r);
	free(norm);
	return r;
}

int
mbox_pg_exists(struct mbox_user *u, const char *name, char **error_r)
{
	char *norm, *err = NULL;
	int64_t id;
	int r = mbox_name_check(name, false, &norm, error_r);

	if (r < 0)
		return r;
	r = mbox_pg_rc(pg_ms_folder_id(PU(u)->id, norm, &id, &err), &err,
	    error_r);
	free(norm);
	return r;
}

int
mbox_pg_delete(struct mbox_user *u, const char *name, char **error_r)
{
	char *norm, *err = NULL;
	int r = mbox_name_check(name, false, &norm, error_r);

	if (r < 0)
		return r;
	r = mbox_pg_rc(pg_ms_delete(PU(u)->id, norm, &err), &err, error_r);
	free(norm);
	return r;
}

int
mbox_pg_rename(struct mbox_user *u, const char *oldname, const char *newname,
    char **error_r)
{
	char *on = NULL, *nn = NULL, *err = NULL;
	int r = mbox_name_check(oldname, false, &on, error_r);

	if (r == 0)
		r = mbox_name_check(newname, true, &nn, error_r);
	if (r == 0 && (strcmp(nn, "INBOX") == 0 || strcmp(on, nn) == 0)) {
		mbox_error(error_r, "Folder already exists");
		r = MBOX_ERR_EXISTS;
	}
	if (r == 0)
		r = mbox_pg_rc(pg_ms_rename(PU(u)->id, on, nn, &err), &err,
		    error_r);
	if (r == 0 && strcmp(on, "INBOX") != 0)
		mbox_pg_views_renamed(PU(u)->id, on, nn);
	free(on);
	free(nn);
	return r;
}

int
mbox_pg_subscribe(struct mbox_user *u, const char *name, bool on,
    char **error_r)
{
	char *norm, *err = NULL;
	int r = mbox_name_check(name, false, &norm, error_r);

	if (r < 0)
		return r;
	r = mbox_pg_rc(pg_ms_subscribe(PU(u)->id, norm, on, &err), &err,
	    error_r);
	free(norm);
	return r;
}

void
mbox_pg_mailboxid(int64_t mailbox_id, char out[MBOX_OBJECTID_MAX + 1])
{
	/* mailboxes.id: never reused, kept by RENAME (RFC 8474 2.1) */
	snprintf(out, MBOX_OBJECTID_MAX + 1, "F%016llx",
	    (unsigned long long)mailbox_id);
}

int
mbox_pg_status(struct mbox_user *u, const char *name, struct mbox_status *st,
    char **error_r)
{
	struct pg_ms_status ps;
	char *norm, *err = NULL;
	int r = mbox_name_check(name, false, &norm, error_r);

	if (r < 0)
		return r;
	memset(st, 0, sizeof(*st));
	r = mbox_pg_rc(pg_ms_status(PU(u)->id, norm, &ps, &err), &err, error_r);
	free(norm);
	if (r < 0)
		return r;
	mbox_pg_mailboxid(ps.mailbox_id, st->mailboxid);
	st->messages = ps.messages;
	st->uidnext = ps.uidnext;
	st->uidvalidity = ps.uidvalidity;
	st->unseen = ps.unseen;
	st->deleted = ps.deleted;
	st->size = ps.size;
	st->deleted_size = ps.deleted_size;
	st->highestmodseq = ps.highestmodseq;
	st->recent = ps.recent;
	return 0;
}

/* ---- APPEND --------------------------------------------------------- */

/* The finished spool s as it: the file opened (*fd_r, the caller's to
 * close) and given as a range, streamed in the wire form, or as it is
 * when s is exact (a literal8 APPEND); 0 or an mbox_err. */
static int
spool_item(struct mbox_spool *s, struct pg_ms_append_item *it, int *fd_r,
    char **error_r)
{
	int e = s->err;

	if (e == 0 && !s->finished)
		e = EINVAL;
	if (e == 0 && s->fsize > 0 &&
	    (*fd_r = open(s->path, O_RDONLY | O_CLOEXEC)) < 0)
		e = errno;
	if (e != 0) {
		if (e == ENOSPC || e == EDQUOT) {
			mbox_error(error_r, "Not enough disk space");
			return MBOX_ERR_NOSPACE;
		}
		log_error("- store append-spool-failed error=\"%s\"",
		    strerror(e));
		mbox_error(error_r, "Cannot save the message: %s",
		    strerror(e));
		return MBOX_ERR_TEMP;
	}
	it->fd = *fd_r;
	it->file_len = s->fsize;
	it->exact = s->exact;
	it->crlf = !s->exact;
	return 0;
}

static int
check_keywords(const char *const *keywords, char **error_r)
{
	for (size_t i = 0; keywords && keywords[i]; i++)
		if (!mbox_keyword_valid(keywords[i])) {
			mbox_error(error_r, "Invalid keyword");
			return MBOX_ERR_BADNAME;
		}
	return 0;
}

int
mbox_pg_append_spools(struct mbox_user *u, const char *name,
    struct mbox_append_item *items, unsigned n, uint32_t *uidvalidity_r,
    uint32_t *uids_r, char **error_r)
{
	struct pg_ms_append_item *pi = xcalloc(n ? n : 1, sizeof(*pi));
	int *fd = xcalloc(n ? n : 1, sizeof(*fd));
	char *norm = NULL, *err = NULL;
	int r = mbox_name_check(name, false, &norm, error_r);

	for (unsigned i = 0; i < n; i++)
		fd[i] = -1;
	for (unsigned i = 0; r == 0 && i < n; i++) {
		if ((r = check_keywords(items[i].keywords, error_r)) == 0 &&
		    (r = spool_item(items[i].spool, &pi[i], &fd[i],
		    error_r)) == 0) {
			pi[i].flags = items[i].flags & MBOX_F_STORABLE;
			pi[i].keywords = items[i].keywords;
			pi[i].internaldate = items[i].internaldate;
		}
	}
	if (r == 0 && n > PG_MS_APPEND_MAX) {
		mbox_error(error_r, "Too many messages in one APPEND (%d)",
		    PG_MS_APPEND_MAX);
		r = MBOX_ERR_LIMIT;
	}
	if (r == 0)
		r = mbox_pg_rc(n == 1 ? pg_ms_append_one(PU(u)->id, norm,
		    &pi[0], uidvalidity_r, uids_r, &err) :
		    pg_ms_append_many(PU(u)->id, norm, pi, n, uidvalidity_r,
		    uids_r, &err), &err, error_r);
	for (unsigned i = 0; i < n; i++) {
		if (fd[i] >= 0)
			close(fd[i]);
		mbox_spool_free(&items[i].spool);
	}
	free(fd);
	free(pi);
	free(norm);
	return r;
}

int
mbox_pg_append(struct mbox_user *u, const char *name, const char *data,
    size_t len, unsigned flags, const char *const *keywords,
    time_t internaldate, uint32_t *uidvalidity_r, uint32_t *uid_r,
    char **error_r)
{
	/* the source's crlf gives the wire form on the way in: no copy */
	struct pg_ms_append_item it = {
		.data = data, .len = len, .flags = flags & MBOX_F_STORABLE,
		.keywords = keywords, .internaldate = internaldate,
		.crlf = true, .fd = -1,
	};
	char *norm = NULL, *err = NULL;
	int r = mbox_name_check(name, false, &norm, error_r);

	if (r == 0 && (r = check_keywords(keywords, error_r)) == 0)
		r = mbox_pg_rc(pg_ms_append_one(PU(u)->id, norm, &it,
		    uidvalidity_r, uid_r, &err), &err, error_r);
	free(norm);
	return r;
}
