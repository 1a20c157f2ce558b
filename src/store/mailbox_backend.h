/*
 * mailbox_backend - how the public mbox_* (mailbox.h) reach one of two
 * stores: the Maildir++ store (mailbox_*.c, functions mbox_md_*, the
 * default) or PostgreSQL (mailbox_pg*.c, functions mbox_pg_*, on top of
 * pg_ms_*). Not for other modules.
 *
 * The public handles are small base structs holding the backend; each
 * backend's own struct has one as its first member, so a pointer to it
 * converts to the handle and back (C17 6.7.2.1p15). mailbox_dispatch.c
 * implements every backend-dependent mbox_* as a two-way switch; what
 * does not depend on the backend (names, lists, events, object ids) is
 * shared code. Which backend: process-wide, set once by mbox_setup()
 * (storage = postgresql); every user, view and watch of the process is
 * of that backend, except the Maildir opens that tem migrate and
 * delivery filters make explicitly (mbox_md_*).
 */
#ifndef TEM_MAILBOX_BACKEND_H
#define TEM_MAILBOX_BACKEND_H

#include "store/mailbox.h"

enum mbox_backend { MBOX_MAILDIR, MBOX_PG };

struct mbox_user {
	enum mbox_backend	be;
};
struct mbox_view {
	enum mbox_backend	be;
};
struct mbox_user_watch {
	enum mbox_backend	be;
};

struct mbox_md_user;
struct mbox_md_view;
struct mbox_md_user_watch;

/* The data_dir given to mbox_setup (PostgreSQL spools under it), and
 * the postgresql_dsn (the listener's). */
const char *mbox_data_dir(void);
const char *mbox_pg_dsn(void);

/* ---- Maildir++ (mailbox_user.c, _list.c, _ops.c, _view.c, _notify.c,
 * _linger.c): the contract of the mbox_* of the same name. ---- */
int mbox_md_user_open(const char *maildir_root, struct mbox_md_user **u_r,
    char **error_r);
struct mbox_md_user *mbox_md_user_find(const char *maildir_root);
void mbox_md_user_unref(struct mbox_md_user **u);
void mbox_md_user_linger(struct mbox_md_user **up, struct mbox_md_view *v);
const char *mbox_md_user_root(const struct mbox_md_user *u);
int mbox_md_pop3_lock(struct mbox_md_user *u);
void mbox_md_pop3_unlock(struct mbox_md_user *u);
int mbox_md_list(struct mbox_md_user *u, struct mbox_folder_info **list_r,
    size_t *n_r, char **error_r);
int mbox_md_create(struct mbox_md_user *u, const char *name, unsigned special_use,
    char **error_r);
int mbox_md_exists(struct mbox_md_user *u, const char *name, char **error_r);
int mbox_md_delete(struct mbox_md_user *u, const char *name, char **error_r);
int mbox_md_rename(struct mbox_md_user *u, const char *oldname, const char *newname,
    char **error_r);
int mbox_md_subscribe(struct mbox_md_user *u, const char *name, bool on,
    char **error_r);
int mbox_md_status(struct mbox_md_user *u, const char *name, struct mbox_status *st,
    char **error_r);
int mbox_md_append_spools(struct mbox_md_user *u, const char *name,
    struct mbox_append_item *items, unsigned n, uint32_t *uidvalidity_r,
    uint32_t *uids_r, char **error_r);
int mbox_md_append(struct mbox_md_user *u, const char *name, const char *data,
    size_t len, unsigned flags, const char *const *keywords,
    time_t internaldate, uint32_t *uidvalidity_r, uint32_t *uid_r,
    char **error_r);
int mbox_md_view_open(struct mbox_md_user *u, const char *name, bool readonly,
    struct mbox_md_view **v_r, char **error_r);
void mbox_md_view_close(struct mbox_md_view **v);
char *mbox_md_view_name(struct mbox_md_view *v);
bool mbox_md_view_readonly(const struct mbox_md_view *v);
uint32_t mbox_md_view_count(const struct mbox_md_view *v);
uint32_t mbox_md_view_uid(const struct mbox_md_view *v, uint32_t seq);
uint32_t mbox_md_view_seq(const struct mbox_md_view *v, uint32_t uid);
uint32_t mbox_md_view_seq_ceil(const struct mbox_md_view *v, uint32_t uid);
void mbox_md_view_status(struct mbox_md_view *v, struct mbox_status *st);
int mbox_md_view_msg(struct mbox_md_view *v, uint32_t seq, struct mbox_msg_info *info_r);
unsigned mbox_md_view_n_keywords(struct mbox_md_view *v);
const char *mbox_md_view_keyword(struct mbox_md_view *v, unsigned i);
bool mbox_md_view_keywords_news(struct mbox_md_view *v);
uint32_t mbox_md_view_keywords_told(const struct mbox_md_view *v);
bool mbox_md_view_can_add_keywords(struct mbox_md_view *v);
int mbox_md_view_msg_open(struct mbox_md_view *v, uint32_t seq);
void mbox_md_view_msg_prefetch(struct mbox_md_view *v, uint32_t seq);
char *mbox_md_view_msg_path(struct mbox_md_view *v, uint32_t seq);
int mbox_md_view_uidl(struct mbox_md_view *v, uint32_t seq, char out[MBOX_UIDL_MAX + 1]);
int mbox_md_view_sync(struct mbox_md_view *v, char **error_r);
void mbox_md_view_changes(struct mbox_md_view *v, struct mbox_changes *ch);
void mbox_md_view_watch(struct mbox_md_view *v, struct loop *loop,
    void (*cb)(void *arg), void *arg);
int mbox_md_store(struct mbox_md_view *v, const uint32_t *seqs, size_t n,
    enum mbox_store_op op, unsigned flags, const char *const *keywords,
    uint64_t unchangedsince, uint32_t **modified_r, size_t *n_modified_r,
    char **error_r);
int mbox_md_expunge(struct mbox_md_view *v, const uint32_t *uids, size_t n,
    bool require_deleted, uint32_t **expunged_r, size_t *n_expunged_r,
    char **error_r);
int mbox_md_copy(struct mbox_md_view *v, const uint32_t *seqs, size_t n,
    const char *dest, bool move, uint32_t *uidvalidity_r,
    uint32_t **src_uids_r, uint32_t **dst_uids_r, size_t *n_r,
    char **error_r);
int mbox_md_vanished_since(struct mbox_md_view *v, uint64_t modseq,
    struct mbox_uid_range **ranges_r, size_t *n_r, char **error_r);
struct mbox_md_user_watch *mbox_md_user_watch_new(struct mbox_md_user *u,
    struct loop *loop, void (*cb)(void *arg), void *arg);
void mbox_md_user_watch_free(struct mbox_md_user_watch **w);
struct mbox_event *mbox_md_user_watch_take(struct mbox_md_user_watch *w,
    size_t *n_r, bool *overflow_r);
bool mbox_md_user_watch_pending(struct mbox_md_user_watch *w);
void mbox_md_user_metadata_changed(struct mbox_md_user *u, const char *mailbox,
    const char *entry);
void mbox_md_user_watch_acting(const struct mbox_md_user_watch *w);
void mbox_md_shutdown(void);
/* Remembers u's account address unless it has one (mbox_user_address). */
void mbox_md_user_set_address(struct mbox_md_user *u, const char *address);
const char *mbox_md_user_address(const struct mbox_md_user *u);

/* ---- PostgreSQL (mailbox_pg*.c): the same contract. ---- */
int mbox_pg_user_open(const char *address, struct mbox_user **u_r,
    char **error_r);
struct mbox_user *mbox_pg_user_find(const char *address);
const char *mbox_pg_user_address(const struct mbox_user *u);
int64_t mbox_pg_user_id(const struct mbox_user *u);
void mbox_pg_user_unref(struct mbox_user **u);
void mbox_pg_user_linger(struct mbox_user **up, struct mbox_view *v);
int mbox_pg_pop3_lock(struct mbox_user *u, char **error_r);
void mbox_pg_pop3_unlock(struct mbox_user *u);
int mbox_pg_list(struct mbox_user *u, struct mbox_folder_info **list_r,
    size_t *n_r, char **error_r);
int mbox_pg_create(struct mbox_user *u, const char *name, unsigned special_use,
    char **error_r);
int mbox_pg_exists(struct mbox_user *u, const char *name, char **error_r);
int mbox_pg_delete(struct mbox_user *u, const char *name, char **error_r);
int mbox_pg_rename(struct mbox_user *u, const char *oldname, const char *newname,
    char **error_r);
int mbox_pg_subscribe(struct mbox_user *u, const char *name, bool on,
    char **error_r);
int mbox_pg_status(struct mbox_user *u, const char *name, struct mbox_status *st,
    char **error_r);
int mbox_pg_append_spools(struct mbox_user *u, const char *name,
    struct mbox_append_item *items, unsigned n, uint32_t *uidvalidity_r,
    uint32_t *uids_r, char **error_r);
int mbox_pg_append(struct mbox_user *u, const char *name, const char *data,
    size_t len, unsigned flags, const char *const *keywords,
    time_t internaldate, uint32_t *uidvalidity_r, uint32_t *uid_r,
    char **error_r);
int mbox_pg_view_open(struct mbox_user *u, const char *name, bool readonly,
    struct mbox_view **v_r, char **error_r);
void mbox_pg_view_close(struct mbox_view **v);
char *mbox_pg_view_name(struct mbox_view *v);
bool mbox_pg_view_readonly(const struct mbox_view *v);
uint32_t mbox_pg_view_count(const struct mbox_view *v);
uint32_t mbox_pg_view_uid(const struct mbox_view *v, uint32_t seq);
uint32_t mbox_pg_view_seq(const struct mbox_view *v, uint32_t uid);
uint32_t mbox_pg_view_seq_ceil(const struct mbox_view *v, uint32_t uid);
void mbox_pg_view_status(struct mbox_view *v, struct mbox_status *st);
int mbox_pg_view_msg(struct mbox_view *v, uint32_t seq, struct mbox_msg_info *info_r);
unsigned mbox_pg_view_n_keywords(struct mbox_view *v);
const char *mbox_pg_view_keyword(struct mbox_view *v, unsigned i);
bool mbox_pg_view_keywords_news(struct mbox_view *v);
uint32_t mbox_pg_view_keywords_told(const struct mbox_view *v);
bool mbox_pg_view_can_add_keywords(struct mbox_view *v);
int mbox_pg_view_msg_open(struct mbox_view *v, uint32_t seq);
void mbox_pg_view_msg_prefetch(struct mbox_view *v, uint32_t seq);
char *mbox_pg_view_msg_path(struct mbox_view *v, uint32_t seq);
int mbox_pg_view_uidl(struct mbox_view *v, uint32_t seq, char out[MBOX_UIDL_MAX + 1]);
int mbox_pg_view_sync(struct mbox_view *v, char **error_r);
void mbox_pg_view_changes(struct mbox_view *v, struct mbox_changes *ch);
void mbox_pg_view_watch(struct mbox_view *v, struct loop *loop,
    void (*cb)(void *arg), void *arg);
int mbox_pg_store(struct mbox_view *v, const uint32_t *seqs, size_t n,
    enum mbox_store_op op, unsigned flags, const char *const *keywords,
    uint64_t unchangedsince, uint32_t **modified_r, size_t *n_modified_r,
    char **error_r);
int mbox_pg_expunge(struct mbox_view *v, const uint32_t *uids, size_t n,
    bool require_deleted, uint32_t **expunged_r, size_t *n_expunged_r,
    char **error_r);
int mbox_pg_copy(struct mbox_view *v, const uint32_t *seqs, size_t n,
    const char *dest, bool move, uint32_t *uidvalidity_r,
    uint32_t **src_uids_r, uint32_t **dst_uids_r, size_t *n_r,
    char **error_r);
int mbox_pg_vanished_since(struct mbox_view *v, uint64_t modseq,
    struct mbox_uid_range **ranges_r, size_t *n_r, char **error_r);
struct mbox_user_watch *mbox_pg_user_watch_new(struct mbox_user *u,
    struct loop *loop, void (*cb)(void *arg), void *arg);
void mbox_pg_user_watch_free(struct mbox_user_watch **w);
struct mbox_event *mbox_pg_user_watch_take(struct mbox_user_watch *w,
    size_t *n_r, bool *overflow_r);
bool mbox_pg_user_watch_pending(struct mbox_user_watch *w);
void mbox_pg_user_watch_acting(const struct mbox_user_watch *w);
void mbox_pg_user_metadata_changed(struct mbox_user *u, const char *mailbox,
    const char *entry);
void mbox_pg_shutdown(void);
/* mailbox_pg_pop3.c: stops the POP3 lease renewer (if started) and
 * deletes the leases this process still holds. */
void mbox_pg_pop3_shutdown(void);
/* mailbox_pg_watch.c (mbox_user_watch_catch_up): waits at most ms until every change committed
 * before the call has been handed to the watches (a barrier NOTIFY
 * through the listener; at once when it is not running). BLOCKING. */
void mbox_pg_watch_barrier(unsigned ms);

/* A spool file under dir (mailbox_spool.c; mbox_spool_new's worker). */
struct mbox_spool *mbox_spool_new_in(const char *dir);

#endif
