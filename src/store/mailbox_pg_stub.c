/*
 * mailbox_pg_stub - TEMPORARY: the PostgreSQL mbox_pg_* not written yet
 * answer MBOX_ERR_TEMP.
 */
#include <stdlib.h>

#include "store/mailbox_backend.h"
#include "util/xmalloc.h"

int
mbox_pg_user_open(const char *address, struct mbox_user **u_r,
    char **error_r)
{
	(void)address;
	(void)u_r;
	(void)error_r;
	if (error_r)
		*error_r = xstrdup("PostgreSQL store: not yet");
	return MBOX_ERR_TEMP;
}

struct mbox_user *
mbox_pg_user_find(const char *address)
{
	(void)address;
	return NULL;
}

const char *
mbox_pg_user_address(const struct mbox_user *u)
{
	(void)u;
	return NULL;
}

int64_t
mbox_pg_user_id(const struct mbox_user *u)
{
	(void)u;
	return 0;
}

void
mbox_pg_user_unref(struct mbox_user **u)
{
	(void)u;
}

void
mbox_pg_user_linger(struct mbox_user **up, struct mbox_view *v)
{
	(void)up;
	(void)v;
}

int
mbox_pg_list(struct mbox_user *u, struct mbox_folder_info **list_r,
    size_t *n_r, char **error_r)
{
	(void)u;
	(void)list_r;
	(void)n_r;
	(void)error_r;
	if (error_r)
		*error_r = xstrdup("PostgreSQL store: not yet");
	return MBOX_ERR_TEMP;
}

int
mbox_pg_create(struct mbox_user *u, const char *name, unsigned special_use,
    char **error_r)
{
	(void)u;
	(void)name;
	(void)special_use;
	(void)error_r;
	if (error_r)
		*error_r = xstrdup("PostgreSQL store: not yet");
	return MBOX_ERR_TEMP;
}

int
mbox_pg_exists(struct mbox_user *u, const char *name, char **error_r)
{
	(void)u;
	(void)name;
	(void)error_r;
	if (error_r)
		*error_r = xstrdup("PostgreSQL store: not yet");
	return MBOX_ERR_TEMP;
}

int
mbox_pg_delete(struct mbox_user *u, const char *name, char **error_r)
{
	(void)u;
	(void)name;
	(void)error_r;
	if (error_r)
		*error_r = xstrdup("PostgreSQL store: not yet");
	return MBOX_ERR_TEMP;
}

int
mbox_pg_rename(struct mbox_user *u, const char *oldname, const char *newname,
    char **error_r)
{
	(void)u;
	(void)oldname;
	(void)newname;
	(void)error_r;
	if (error_r)
		*error_r = xstrdup("PostgreSQL store: not yet");
	return MBOX_ERR_TEMP;
}

int
mbox_pg_subscribe(struct mbox_user *u, const char *name, bool on,
    char **error_r)
{
	(void)u;
	(void)name;
	(void)on;
	(void)error_r;
	if (error_r)
		*error_r = xstrdup("PostgreSQL store: not yet");
	return MBOX_ERR_TEMP;
}

int
mbox_pg_status(struct mbox_user *u, const char *name, struct mbox_status *st,
    char **error_r)
{
	(void)u;
	(void)name;
	(void)st;
	(void)error_r;
	if (error_r)
		*error_r = xstrdup("PostgreSQL store: not yet");
	return MBOX_ERR_TEMP;
}

int
mbox_pg_append_spool(struct mbox_user *u, const char *name,
    struct mbox_spool **s, unsigned flags, const char *const *keywords,
    time_t internaldate, uint32_t *uidvalidity_r, uint32_t *uid_r,
    char **error_r)
{
	(void)u;
	(void)name;
	(void)s;
	(void)flags;
	(void)keywords;
	(void)internaldate;
	(void)uidvalidity_r;
	(void)uid_r;
	(void)error_r;
	if (error_r)
		*error_r = xstrdup("PostgreSQL store: not yet");
	return MBOX_ERR_TEMP;
}

int
mbox_pg_append_spools(struct mbox_user *u, const char *name,
    struct mbox_append_item *items, unsigned n, uint32_t *uidvalidity_r,
    uint32_t *uids_r, char **error_r)
{
	(void)u;
	(void)name;
	(void)items;
	(void)n;
	(void)uidvalidity_r;
	(void)uids_r;
	(void)error_r;
	if (error_r)
		*error_r = xstrdup("PostgreSQL store: not yet");
	return MBOX_ERR_TEMP;
}

int
mbox_pg_append(struct mbox_user *u, const char *name, const char *data,
    size_t len, unsigned flags, const char *const *keywords,
    time_t internaldate, uint32_t *uidvalidity_r, uint32_t *uid_r,
    char **error_r)
{
	(void)u;
	(void)name;
	(void)data;
	(void)len;
	(void)flags;
	(void)keywords;
	(void)internaldate;
	(void)uidvalidity_r;
	(void)uid_r;
	(void)error_r;
	if (error_r)
		*error_r = xstrdup("PostgreSQL store: not yet");
	return MBOX_ERR_TEMP;
}

int
mbox_pg_view_open(struct mbox_user *u, const char *name, bool readonly,
    struct mbox_view **v_r, char **error_r)
{
	(void)u;
	(void)name;
	(void)readonly;
	(void)v_r;
	(void)error_r;
	if (error_r)
		*error_r = xstrdup("PostgreSQL store: not yet");
	return MBOX_ERR_TEMP;
}

void
mbox_pg_view_close(struct mbox_view **v)
{
	(void)v;
}

char *
mbox_pg_view_name(struct mbox_view *v)
{
	(void)v;
	return NULL;
}

bool
mbox_pg_view_readonly(const struct mbox_view *v)
{
	(void)v;
	return false;
}

uint32_t
mbox_pg_view_count(const struct mbox_view *v)
{
	(void)v;
	return 0;
}

uint32_t
mbox_pg_view_uid(const struct mbox_view *v, uint32_t seq)
{
	(void)v;
	(void)seq;
	return 0;
}

uint32_t
mbox_pg_view_seq(const struct mbox_view *v, uint32_t uid)
{
	(void)v;
	(void)uid;
	return 0;
}

uint32_t
mbox_pg_view_seq_ceil(const struct mbox_view *v, uint32_t uid)
{
	(void)v;
	(void)uid;
	return 0;
}

void
mbox_pg_view_status(struct mbox_view *v, struct mbox_status *st)
{
	(void)v;
	(void)st;
}

int
mbox_pg_view_msg(struct mbox_view *v, uint32_t seq, struct mbox_msg_info *info_r)
{
	(void)v;
	(void)seq;
	(void)info_r;
	return MBOX_ERR_TEMP;
}

unsigned
mbox_pg_view_n_keywords(struct mbox_view *v)
{
	(void)v;
	return 0;
}

const char *
mbox_pg_view_keyword(struct mbox_view *v, unsigned i)
{
	(void)v;
	(void)i;
	return NULL;
}

bool
mbox_pg_view_keywords_news(struct mbox_view *v)
{
	(void)v;
	return false;
}

uint32_t
mbox_pg_view_keywords_told(const struct mbox_view *v)
{
	(void)v;
	return 0;
}

bool
mbox_pg_view_can_add_keywords(struct mbox_view *v)
{
	(void)v;
	return false;
}

int
mbox_pg_view_msg_open(struct mbox_view *v, uint32_t seq)
{
	(void)v;
	(void)seq;
	return MBOX_ERR_TEMP;
}

void
mbox_pg_view_msg_prefetch(struct mbox_view *v, uint32_t seq)
{
	(void)v;
	(void)seq;
}

char *
mbox_pg_view_msg_path(struct mbox_view *v, uint32_t seq)
{
	(void)v;
	(void)seq;
	return NULL;
}

int
mbox_pg_view_uidl(struct mbox_view *v, uint32_t seq, char out[MBOX_UIDL_MAX + 1])
{
	(void)v;
	(void)seq;
	(void)out;
	return MBOX_ERR_TEMP;
}

int
mbox_pg_view_sync(struct mbox_view *v, char **error_r)
{
	(void)v;
	(void)error_r;
	if (error_r)
		*error_r = xstrdup("PostgreSQL store: not yet");
	return MBOX_ERR_TEMP;
}

void
mbox_pg_view_changes(struct mbox_view *v, struct mbox_changes *ch)
{
	(void)v;
	(void)ch;
}

void
mbox_pg_view_watch(struct mbox_view *v, struct loop *loop,
    void (*cb)(void *arg), void *arg)
{
	(void)v;
	(void)loop;
	(void)cb;
	(void)arg;
}

int
mbox_pg_store(struct mbox_view *v, const uint32_t *seqs, size_t n,
    enum mbox_store_op op, unsigned flags, const char *const *keywords,
    uint64_t unchangedsince, uint32_t **modified_r, size_t *n_modified_r,
    char **error_r)
{
	(void)v;
	(void)seqs;
	(void)n;
	(void)op;
	(void)flags;
	(void)keywords;
	(void)unchangedsince;
	(void)modified_r;
	(void)n_modified_r;
	(void)error_r;
	if (error_r)
		*error_r = xstrdup("PostgreSQL store: not yet");
	return MBOX_ERR_TEMP;
}

int
mbox_pg_expunge(struct mbox_view *v, const uint32_t *uids, size_t n,
    bool require_deleted, uint32_t **expunged_r, size_t *n_expunged_r,
    char **error_r)
{
	(void)v;
	(void)uids;
	(void)n;
	(void)require_deleted;
	(void)expunged_r;
	(void)n_expunged_r;
	(void)error_r;
	if (error_r)
		*error_r = xstrdup("PostgreSQL store: not yet");
	return MBOX_ERR_TEMP;
}

int
mbox_pg_copy(struct mbox_view *v, const uint32_t *seqs, size_t n,
    const char *dest, bool move, uint32_t *uidvalidity_r,
    uint32_t **src_uids_r, uint32_t **dst_uids_r, size_t *n_r,
    char **error_r)
{
	(void)v;
	(void)seqs;
	(void)n;
	(void)dest;
	(void)move;
	(void)uidvalidity_r;
	(void)src_uids_r;
	(void)dst_uids_r;
	(void)n_r;
	(void)error_r;
	if (error_r)
		*error_r = xstrdup("PostgreSQL store: not yet");
	return MBOX_ERR_TEMP;
}

int
mbox_pg_vanished_since(struct mbox_view *v, uint64_t modseq,
    struct mbox_uid_range **ranges_r, size_t *n_r, char **error_r)
{
	(void)v;
	(void)modseq;
	(void)ranges_r;
	(void)n_r;
	(void)error_r;
	if (error_r)
		*error_r = xstrdup("PostgreSQL store: not yet");
	return MBOX_ERR_TEMP;
}

struct mbox_user_watch *
mbox_pg_user_watch_new(struct mbox_user *u,
    struct loop *loop, void (*cb)(void *arg), void *arg)
{
	(void)u;
	(void)loop;
	(void)cb;
	(void)arg;
	return NULL;
}

void
mbox_pg_user_watch_free(struct mbox_user_watch **w)
{
	(void)w;
}

struct mbox_event *
mbox_pg_user_watch_take(struct mbox_user_watch *w,
    size_t *n_r, bool *overflow_r)
{
	(void)w;
	(void)n_r;
	(void)overflow_r;
	return NULL;
}

bool
mbox_pg_user_watch_pending(struct mbox_user_watch *w)
{
	(void)w;
	return false;
}

void
mbox_pg_user_metadata_changed(struct mbox_user *u, const char *mailbox,
    const char *entry)
{
	(void)u;
	(void)mailbox;
	(void)entry;
}

void
mbox_pg_user_watch_acting(const struct mbox_user_watch *w)
{
	(void)w;
}

void
mbox_pg_shutdown(void)
{
}

bool
mbox_pg_pop3_lock(struct mbox_user *u)
{
	(void)u;
	return false;
}

void
mbox_pg_pop3_unlock(struct mbox_user *u)
{
	(void)u;
}
