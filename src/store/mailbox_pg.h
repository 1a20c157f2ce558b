/*
 * mailbox_pg - the inside of the mail store on PostgreSQL (the mbox_pg_*
 * of mailbox_backend.h), shared by mailbox_pg.c (users, folders,
 * APPEND), mailbox_pg_view.c (views and message changes) and
 * mailbox_pg_watch.c (NOTIFY to watching views). Not for other modules.
 *
 * The database (pg_mailstore.h) hands out UIDs and MODSEQs and keeps
 * every message and flag; what lives here is per session: a view's
 * sequence map with the flags it showed, the newest state a sync read,
 * its keyword names. Nothing is shared between views but the users
 * registry and the watch list.
 */
#ifndef TEM_MAILBOX_PG_H
#define TEM_MAILBOX_PG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/mailbox_backend.h"

struct loop;

struct mbox_pg_user {
	struct mbox_user	 base;		/* first: MBOX_PG */
	char			*address;	/* as logged in */
	int64_t			 id;		/* users.id */
	int			 refs;		/* under the registry lock */
	bool			 pop3;		/* under the registry lock */
	struct mbox_md_user_watch *watchers;	/* NOTIFY's (mailbox_notify.c) */
};

/* One message as a view knows it. */
struct mbox_pg_msg {
	uint32_t	uid;
	uint32_t	kw;		/* bit i: the view's keyword i */
	uint16_t	flags;		/* MBOX_F_*, RECENT included */
	uint64_t	modseq;
	uint64_t	size;
	int64_t		idate;
	int64_t		sdate;		/* savedate (RFC 8514) */
	int64_t		blob;		/* EMAILID: copies share the blob */
	bool		exact;		/* stored as received (literal8) */
};

struct mbox_pg_list {
	struct mbox_pg_msg	*m;		/* ascending uid */
	size_t			 n, cap;
};

struct mbox_watch;

struct mbox_pg_view {
	struct mbox_view	 base;		/* first: MBOX_PG */
	struct mbox_pg_user	*u;		/* a reference */
	int64_t			 mailbox_id;
	char			*name;
	bool			 readonly;
	uint32_t		 uidvalidity;
	/* what the session was told: the sequence map */
	struct mbox_pg_list	 cur;
	uint64_t		 cur_modseq;
	uint32_t		 cur_uidnext;
	/* the newest state a sync read (reported by mbox_view_changes) */
	struct mbox_pg_list	 next;
	uint32_t		 uidnext;
	_Atomic uint64_t	 modseq;	/* next's; read by the listener */
	bool			 gone;
	/* keyword names: never removed while the view is open */
	char			*kw[MBOX_KEYWORDS_MAX];
	unsigned		 n_kw;
	uint32_t		 kw_told;
	atomic_bool		 renamed;	/* "ID R" heard: read the name */
	/* mailbox_pg_watch.c, under its lock (name too: renames) */
	struct mbox_watch	*watch;
	struct mbox_pg_view	*wnext, *wprev;
};

/* mailbox_pg.c: another reference to u. */
void mbox_pg_user_ref(struct mbox_pg_user *u);
/* mailbox_pg.c: a pg_ms_* result (with its text *errp, taken: *errp
 * becomes NULL) as an mbox_err, *error_r set; database trouble is
 * logged once here. Pass &err, so that the call's argument order does
 * not matter. */
int mbox_pg_rc(int rc, char **errp, char **error_r);

/* mailbox_pg.c: RFC 8474 MAILBOXID of a folder (from its id). */
void mbox_pg_mailboxid(int64_t mailbox_id, char out[MBOX_OBJECTID_MAX + 1]);

/* mailbox_pg.c: RFC 8474 MAILBOXID of a folder (from its id). */
void mbox_pg_mailboxid(int64_t mailbox_id, char out[MBOX_OBJECTID_MAX + 1]);

/* mailbox_pg_view.c: the index of uid in l, or -1. */
long mbox_pg_list_find(const struct mbox_pg_list *l, uint32_t uid);
/* mailbox_pg_view.c: the bit of keyword name[0..len) in v (any case;
 * added when add and there is room), or -1. */
int mbox_pg_kw_bit(struct mbox_pg_view *v, const char *name, size_t len,
    bool add);

/* mailbox_pg_watch.c: v joins (or leaves) the views woken by NOTIFYs of
 * its folder. */
void mbox_pg_watch_set(struct mbox_pg_view *v, struct loop *loop,
    void (*cb)(void *), void *arg);

/* mailbox_pg_watch.c: the list of open views (at open, at close: the
 * watch goes too), the name replaced (taken), and this process's
 * RENAME of from (and its children) to to applied to the views. */
void mbox_pg_views_add(struct mbox_pg_view *v);
void mbox_pg_views_remove(struct mbox_pg_view *v);
void mbox_pg_view_set_name(struct mbox_pg_view *v, char *name);
void mbox_pg_views_renamed(int64_t user_id, const char *from,
    const char *to);
/* mailbox_pg_watch.c: the listener, started if it is not yet. */
void mbox_pg_watch_start(void);
/* mailbox_pg_watch.c: waits at most ms until the listener has LISTENed
 * on its channels once (at once when it has). BLOCKING: a worker. */
void mbox_pg_watch_wait_listening(unsigned ms);

/* mailbox_pg_notify.c: what a NOTIFY of folder id means for IMAP
 * NOTIFY's user watches (kind 'M' messages, '0' deleted, 'R' renamed;
 * origin the payload's, NULL when none); BLOCKING (a look-up of the
 * folder's name), on the listener's loop. */
void mbox_pg_notify_folder(int64_t id, char kind, const char *origin);
/* mailbox_pg_notify.c: a 'tem_user' payload (pg_ms_notify_user: a
 * folder created, deleted, renamed, (un)subscribed, METADATA) for the
 * user's watches in this process but the one that made it. On the
 * listener's loop. */
void mbox_pg_notify_user(const char *payload);
/* mailbox_pg_notify.c: notifications were lost (a reconnect): every
 * user watch says overflow. */
void mbox_pg_notify_lost(void);
/* mailbox_pg_notify.c: frees the name cache (at shutdown, the
 * listener stopped). */
void mbox_pg_shutdown_notify(void);
/* mailbox_pg_pop3.c: POP3's maildrop lease across nodes. take: 1
 * taken, 0 held by a session of another node, else an mbox_err
 * (MBOX_ERR_UNAVAILABLE: the database away). give: deletes this
 * process's row (a failure leaves it to run out). */
int mbox_pg_pop3_take(int64_t user_id, char **error_r);
void mbox_pg_pop3_give(int64_t user_id);
/* mailbox_pg.c: calls fn(u, arg) for the open user with users.id id
 * (if any; id 0: every open user), under the registry lock. */
void mbox_pg_user_each_id(int64_t id, void (*fn)(struct mbox_pg_user *u,
    void *arg), void *arg);

#endif
