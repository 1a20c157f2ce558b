/*
 * mailbox_dispatch - the public mbox_* that depend on the store: each
 * sends its call to the Maildir++ store (mbox_md_*) or to PostgreSQL
 * (mbox_pg_*) by the handle's backend (mailbox_backend.h). Also the
 * process-wide choice (mbox_setup) and the account-aware opens.
 *
 * Trust: none of its own; arguments go through unchanged.
 */
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "pg/pg_conn.h"
#include "store/mailbox_backend.h"
#include "util/xmalloc.h"

#define MU(u)	((struct mbox_md_user *)(u))
#define MV(v)	((struct mbox_md_view *)(v))
#define MW(w)	((struct mbox_md_user_watch *)(w))
#define CMU(u)	((const struct mbox_md_user *)(u))
#define CMV(v)	((const struct mbox_md_view *)(v))

/* Set once by mbox_setup, before threads; read by all after. */
static bool on_pg;
static char *data_dir;
static char *pg_dsn;

void
mbox_setup(const struct conf *c)
{
	on_pg = c->storage == CONF_STORAGE_POSTGRESQL;
	free(data_dir);
	data_dir = c->data_dir ? xstrdup(c->data_dir) : NULL;
	if (!on_pg)
		return;
	free(pg_dsn);
	pg_dsn = c->postgresql_dsn ? xstrdup(c->postgresql_dsn) : NULL;
	pg_conn_setup(c->postgresql_dsn);
}

bool
mbox_on_pg(void)
{
	return on_pg;
}

const char *
mbox_data_dir(void)
{
	return data_dir;
}

const char *
mbox_pg_dsn(void)
{
	return pg_dsn;
}

/* ---- users ---------------------------------------------------------- */

int
mbox_user_open_account(const char *address, const char *maildir_root,
    struct mbox_user **u_r, char **error_r)
{
	struct mbox_md_user *mu = NULL;
	int r;

	*u_r = NULL;
	if (on_pg)
		return mbox_pg_user_open(address, u_r, error_r);
	if ((r = mbox_md_user_open(maildir_root, &mu, error_r)) < 0)
		return r;
	mbox_md_user_set_address(mu, address);
	*u_r = (struct mbox_user *)mu;
	return 0;
}

int
mbox_user_open(const char *maildir_root, struct mbox_user **u_r,
    char **error_r)
{
	return mbox_user_open_account(NULL, maildir_root, u_r, error_r);
}

struct mbox_user *
mbox_user_find_account(const char *address, const char *maildir_root)
{
	if (on_pg)
		return mbox_pg_user_find(address);
	return (struct mbox_user *)mbox_md_user_find(maildir_root);
}

struct mbox_user *
mbox_user_find(const char *maildir_root)
{
	return mbox_user_find_account(NULL, maildir_root);
}

void
mbox_user_unref(struct mbox_user **up)
{
	struct mbox_md_user *mu;

	if (*up == NULL)
		return;
	if ((*up)->be == MBOX_PG) {
		mbox_pg_user_unref(up);
		return;
	}
	mu = MU(*up);
	*up = NULL;
	mbox_md_user_unref(&mu);
}

void
mbox_user_linger(struct mbox_user **up, struct mbox_view *v)
{
	struct mbox_md_user *mu;

	if (*up == NULL)
		return;
	if ((*up)->be == MBOX_PG) {
		mbox_pg_user_linger(up, v);
		return;
	}
	mu = MU(*up);
	*up = NULL;
	mbox_md_user_linger(&mu, MV(v));
}

const char *
mbox_user_root(const struct mbox_user *u)
{
	if (u->be == MBOX_PG)
		return NULL;
	return mbox_md_user_root(CMU(u));
}

const char *
mbox_user_address(const struct mbox_user *u)
{
	if (u->be == MBOX_PG)
		return mbox_pg_user_address(u);
	return mbox_md_user_address(CMU(u));
}

int64_t
mbox_user_pg_id(const struct mbox_user *u)
{
	if (u->be == MBOX_PG)
		return mbox_pg_user_id(u);
	return 0;
}

int
mbox_pop3_lock(struct mbox_user *u, char **error_r)
{
	if (u->be == MBOX_PG)
		return mbox_pg_pop3_lock(u, error_r);
	return mbox_md_pop3_lock(MU(u));
}

void
mbox_pop3_unlock(struct mbox_user *u)
{
	if (u->be == MBOX_PG)
		mbox_pg_pop3_unlock(u);
	else
		mbox_md_pop3_unlock(MU(u));
}

/* ---- folders -------------------------------------------------------- */

int
mbox_list(struct mbox_user *u, struct mbox_folder_info **list_r,
    size_t *n_r, char **error_r)
{
	if (u->be == MBOX_PG)
		return mbox_pg_list(u, list_r, n_r, error_r);
	return mbox_md_list(MU(u), list_r, n_r, error_r);
}

int
mbox_create(struct mbox_user *u, const char *name, unsigned special_use,
    char **error_r)
{
	if (u->be == MBOX_PG)
		return mbox_pg_create(u, name, special_use, error_r);
	return mbox_md_create(MU(u), name, special_use, error_r);
}

int
mbox_exists(struct mbox_user *u, const char *name, char **error_r)
{
	if (u->be == MBOX_PG)
		return mbox_pg_exists(u, name, error_r);
	return mbox_md_exists(MU(u), name, error_r);
}

int
mbox_delete(struct mbox_user *u, const char *name, char **error_r)
{
	if (u->be == MBOX_PG)
		return mbox_pg_delete(u, name, error_r);
	return mbox_md_delete(MU(u), name, error_r);
}

int
mbox_rename(struct mbox_user *u, const char *oldname, const char *newname,
    char **error_r)
{
	if (u->be == MBOX_PG)
		return mbox_pg_rename(u, oldname, newname, error_r);
	return mbox_md_rename(MU(u), oldname, newname, error_r);
}

int
mbox_subscribe(struct mbox_user *u, const char *name, bool on,
    char **error_r)
{
	if (u->be == MBOX_PG)
		return mbox_pg_subscribe(u, name, on, error_r);
	return mbox_md_subscribe(MU(u), name, on, error_r);
}

int
mbox_status(struct mbox_user *u, const char *name, struct mbox_status *st,
    char **error_r)
{
	if (u->be == MBOX_PG)
		return mbox_pg_status(u, name, st, error_r);
	return mbox_md_status(MU(u), name, st, error_r);
}

/* ---- APPEND --------------------------------------------------------- */

struct mbox_spool *
mbox_spool_new(struct mbox_user *u)
{
	struct mbox_spool *s;
	char *dir;

	if (u->be == MBOX_PG)
		dir = xasprintf("%s/tmp", data_dir ? data_dir : ".");
	else
		dir = xasprintf("%s/tmp", mbox_md_user_root(MU(u)));
	s = mbox_spool_new_in(dir);
	free(dir);
	return s;
}

int
mbox_append_spool(struct mbox_user *u, const char *name,
    struct mbox_spool **s, unsigned flags, const char *const *keywords,
    time_t internaldate, uint32_t *uidvalidity_r, uint32_t *uid_r,
    char **error_r)
{
	/* one message is a MULTIAPPEND of one, on both backends */
	struct mbox_append_item it = { *s, flags, keywords, internaldate };

	*s = NULL;
	return mbox_append_spools(u, name, &it, 1, uidvalidity_r, uid_r,
	    error_r);
}

int
mbox_append_spools(struct mbox_user *u, const char *name,
    struct mbox_append_item *items, unsigned n, uint32_t *uidvalidity_r,
    uint32_t *uids_r, char **error_r)
{
	if (u->be == MBOX_PG)
		return mbox_pg_append_spools(u, name, items, n,
		    uidvalidity_r, uids_r, error_r);
	return mbox_md_append_spools(MU(u), name, items, n, uidvalidity_r,
	    uids_r, error_r);
}

int
mbox_append(struct mbox_user *u, const char *name, const char *data,
    size_t len, unsigned flags, const char *const *keywords,
    time_t internaldate, uint32_t *uidvalidity_r, uint32_t *uid_r,
    char **error_r)
{
	if (u->be == MBOX_PG)
		return mbox_pg_append(u, name, data, len, flags, keywords,
		    internaldate, uidvalidity_r, uid_r, error_r);
	return mbox_md_append(MU(u), name, data, len, flags, keywords,
	    internaldate, uidvalidity_r, uid_r, error_r);
}

/* ---- NOTIFY --------------------------------------------------------- */

struct mbox_user_watch *
mbox_user_watch_new(struct mbox_user *u, struct loop *loop,
    void (*cb)(void *arg), void *arg)
{
	if (u->be == MBOX_PG)
		return mbox_pg_user_watch_new(u, loop, cb, arg);
	return (struct mbox_user_watch *)mbox_md_user_watch_new(MU(u), loop,
	    cb, arg);
}

void
mbox_user_watch_free(struct mbox_user_watch **w)
{
	struct mbox_md_user_watch *mw;

	if (*w == NULL)
		return;
	if ((*w)->be == MBOX_PG) {
		mbox_pg_user_watch_free(w);
		return;
	}
	mw = MW(*w);
	*w = NULL;
	mbox_md_user_watch_free(&mw);
}

struct mbox_event *
mbox_user_watch_take(struct mbox_user_watch *w, size_t *n_r,
    bool *overflow_r)
{
	if (w->be == MBOX_PG)
		return mbox_pg_user_watch_take(w, n_r, overflow_r);
	return mbox_md_user_watch_take(MW(w), n_r, overflow_r);
}

bool
mbox_user_watch_pending(struct mbox_user_watch *w)
{
	if (w->be == MBOX_PG)
		return mbox_pg_user_watch_pending(w);
	return mbox_md_user_watch_pending(MW(w));
}

void
mbox_user_metadata_changed(struct mbox_user *u, const char *mailbox,
    const char *entry)
{
	if (u->be == MBOX_PG)
		mbox_pg_user_metadata_changed(u, mailbox, entry);
	else
		mbox_md_user_metadata_changed(MU(u), mailbox, entry);
}

void
mbox_user_watch_acting(const struct mbox_user_watch *w)
{
	/* both backends' user watches are mailbox_notify.c's; on
	 * PostgreSQL the changes' NOTIFYs name the watch too */
	mbox_md_user_watch_acting((const struct mbox_md_user_watch *)w);
	if (mbox_on_pg())
		mbox_pg_user_watch_acting(w);
}

void
mbox_user_watch_catch_up(void)
{
	if (mbox_on_pg())
		mbox_pg_watch_barrier(1000);
}

void
mbox_shutdown(void)
{
	mbox_pg_shutdown();
	mbox_pg_pop3_shutdown();
	mbox_md_shutdown();
}
