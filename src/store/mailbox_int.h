/*
 * mailbox_int - what the mailbox*.c files share (see mailbox.h for the
 * design). Not for other modules.
 *
 * LOCKS, in the only order they may be taken:
 *   u->io   (per user) serializes all blocking work: disk, the index, and
 *           every change to a folder's state. Held for long.
 *   reg     (global, mailbox_user.c) the users registry and user refs.
 *   u->mu   (per user) the folders map, folder refs, the POP3 flag.
 *   f->mu   (per folder) the folder's messages and counters, its views.
 *   watch   (global, mailbox_view.c) watch tokens.
 * u->io is never waited for with reg, u->mu or f->mu held; reg may be
 * taken with u->io held (user refs, the last unref).
 * Folder state is written only with u->io AND f->mu held, so a thread
 * holding u->io may read it without f->mu; anyone else takes f->mu.
 * The order is checked: these five are taken with mbox_lock() and
 * released with mbox_unlock() (mailbox_lock.c), which abort on a lock
 * taken after one of its own or a later level.
 */
#ifndef TEM_MAILBOX_INT_H
#define TEM_MAILBOX_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "store/mailbox_backend.h"

struct hashmap;
struct sqlite3;
struct sqlite3_stmt;

/* The store's locks, in their order (see LOCKS above). */
enum mbox_lk {
	MBOX_LK_IO,		/* u->io */
	MBOX_LK_REG,		/* reg_lock */
	MBOX_LK_USER,		/* u->mu */
	MBOX_LK_FOLDER,		/* f->mu */
	MBOX_LK_WATCH,		/* watch_lock */
	MBOX_LK_COUNT
};
/* pthread_mutex_lock/unlock of m, the store lock of level lk, checking
 * the order (log_panic when this thread holds lk or a later level). */
void mbox_lock(pthread_mutex_t *m, enum mbox_lk lk);
void mbox_unlock(pthread_mutex_t *m, enum mbox_lk lk);
/* Whether this thread holds a lock of level lk (for TEM_ASSERT). */
bool mbox_lock_held(enum mbox_lk lk);

#define MBOX_FI_INNEW	0x8000	/* msg flag: the file is still in new/ */
#define MBOX_TRIM_AFTER	10000	/* messages: xmalloc_trim after opening more */
#define MBOX_RECHECK_MS	1000	/* mtime granularity we assume, see sync */

/* One message of a shared folder: 48 bytes plus its name. */
struct mbox_msg {
	uint32_t	 uid;
	uint32_t	 letters;	/* keyword letters a-z in the name */
	uint64_t	 modseq;
	uint64_t	 size;		/* wire size */
	int64_t		 idate;
	uint16_t	 flags;		/* MBOX_F_* | MBOX_FI_INNEW */
	uint16_t	 base_len;
	uint32_t	 savedate;	/* RFC 8514, time_t (until 2106) */
	char		*name;		/* file name in cur/ (or new/) */
};

struct mbox_watch {
	struct loop	*loop;
	void		(*cb)(void *);
	void		*arg;
	bool		 alive;		/* under the watch lock */
	bool		 pending;
	int		 refs;
};

struct mbox_folder {
	struct mbox_md_user	*u;
	int			 refs;		/* under u->mu */
	bool			 in_map;	/* under u->mu */
	pthread_mutex_t		 mu;
	/* identity (renames change dir, path, name) */
	char			*dir;		/* "" (INBOX) or ".A.B" */
	char			*path;		/* root or root/.A.B */
	char			*name;		/* "INBOX" or "A/B" */
	int64_t			 id;		/* folders.id */
	/* state */
	struct mbox_msg		*msgs;		/* ascending uid */
	uint32_t		 count, cap;
	uint32_t		 uidvalidity, uidnext;
	uint32_t		 recent_next;	/* under f->mu only: UIDs below
						 * it were claimed \Recent */
	uint64_t		 recent_saved_ms; /* clock_mono_ms() of the
						   last write of it */
	uint32_t		 recent_saved;	/* recent_next as in the index
						 * (written with u->io + f->mu) */
	uint64_t		 highestmodseq;
	uint64_t		 expunge_gen;
	char			*kw[MBOX_KEYWORDS_MAX];
	uint32_t		 kw_mask;	/* letters with a name */
	unsigned		 n_kw;		/* names in kw[] */
	bool			 gone;
	struct mbox_md_view	*views;		/* under f->mu */
	unsigned		 n_watch;	/* under f->mu */
	/* disk stamps, under u->io */
	struct timespec		 new_mt, cur_mt, kw_mt;
	bool			 stamped;
	int64_t			 recheck_ms;	/* CLOCK_REALTIME ms, 0: none */
	unsigned long long	 looked_job;	/* worker_job_id() of the last
						   stamp */
	bool			 poll_queued;	/* under the poller's lock */
	atomic_bool		 dirty;		/* a delivery was announced */
};

struct mbox_md_user {
	struct mbox_user	 base;		/* first: MBOX_MAILDIR */
	char			*root;
	char			*address;	/* under reg: the first given */
	int			 refs;		/* under reg */
	pthread_mutex_t		 io;
	pthread_mutex_t		 mu;
	struct hashmap		*folders;	/* dir -> folder, under mu */
	bool			 pop3;		/* under mu */
	/* under reg: opening (or reopening) is done; how it went */
	bool			 ready;
	pthread_cond_t		 ready_cond;	/* waited on with reg */
	int			 open_err;
	char			*open_error;
	/* under io */
	struct sqlite3		*db;
	struct sqlite3_stmt	*stmt[16];
	struct sqlite3_stmt	*hc_stmt[2];	/* mailbox_hdrcache.c */
	bool			 unclean_marked;
	bool			 sync_full;	/* synchronous=FULL until tx_end */
	bool			 broken;	/* SQLITE_CORRUPT seen: rebuild at next open */
	uint32_t		 id_salt;	/* MAILBOXID salt (set at open) */
	unsigned		 exp_commits;
	/* NOTIFY's user watches (mailbox_notify.c, under its ev_lock) */
	struct mbox_md_user_watch	*watchers;
};

struct mbox_own {
	uint32_t	uid;
	uint64_t	modseq;
};

struct mbox_md_view {
	struct mbox_view	 base;		/* first: MBOX_MAILDIR */
	struct mbox_md_user	*u;
	struct mbox_folder	*f;
	bool			 readonly;
	uint32_t		*uids;		/* seq - 1 -> uid */
	uint32_t		 count, cap;
	uint32_t		 uidnext;	/* it knows uids below this */
	uint64_t		 modseq;	/* it knows changes up to this */
	uint64_t		 expunge_gen;
	uint32_t		 kw_told;	/* keywords announced (FLAGS) */
	struct mbox_uid_range	*recent;	/* claimed \Recent ranges */
	size_t			 n_recent, cap_recent;
	struct mbox_own		*own;		/* its own STOREs since changes */
	size_t			 n_own, cap_own;
	struct mbox_watch	*watch;
	struct mbox_md_view	*next, *prev;	/* f->views, under f->mu */
};

/* A set of changes to one folder, committed to the index then applied. */
struct mbox_upd {
	uint32_t	 uid;
	char		*name;
	uint16_t	 flags;
	uint32_t	 letters;
	bool		 bump;		/* flags changed: new modseq */
};

struct mbox_delta {
	uint64_t	 modseq;	/* given to every change here */
	struct mbox_msg	*add;		/* new uids, ascending */
	size_t		 n_add, cap_add;
	struct mbox_upd	*upd;
	size_t		 n_upd, cap_upd;
	uint32_t	*exp;
	size_t		 n_exp, cap_exp;
};

/* ---- mailbox_name.c -------------------------------------------------- */
/* Validates an API name; *norm_r gets it with a first level INBOX in
 * upper case. strict (CREATE, RENAME target) also refuses "*" and "%". */
int mbox_name_check(const char *name, bool strict, char **norm_r,
    char **error_r);
/* Directory of a normalized name: "" for INBOX, else ".a.b". */
int mbox_name_to_dir(const char *norm, char **dir_r, char **error_r);
/* Name of a ".a.b" directory; -1 if it is not one we would write. */
int mbox_name_from_dir(const char *dir, char **name_r);
/* Both of the above in one: *norm_r and *dir_r, or an error. */
int mbox_name_resolve(const char *name, bool strict, char **norm_r,
    char **dir_r, char **error_r);

/* ---- mailbox_list.c (LIST's flags, both backends) -------------------- */
/* Adds flags to name in m (a name -> flags map being built). */
void mbox_list_add(struct hashmap *m, const char *name, unsigned flags);
/* Missing parents (NOSELECT) and HASCHILDREN. */
void mbox_list_tree(struct hashmap *m);
/* The special use a top-level name has by default (Drafts ...), or 0. */
unsigned mbox_list_default_use(const char *name);
/* m (freed, *mp NULL) as mbox_list's sorted list, HASNOCHILDREN added. */
void mbox_list_take(struct hashmap **mp, struct mbox_folder_info **list_r,
    size_t *n_r);

/* ---- mailbox_file.c -------------------------------------------------- */
size_t mbox_base_len(const char *name);
void mbox_info_parse(const char *name, unsigned *flags_r, uint32_t *letters_r);
/* name's base with ":2," and info: flags, letters (those in known are
 * replaced by letters; other letters in name's info are kept). */
char *mbox_info_build(const char *name, size_t base_len, unsigned flags,
    uint32_t letters, uint32_t known);
/* ",S=" and ",W=" values in a base name (false if absent). */
bool mbox_base_field(const char *name, size_t base_len, char key,
    uint64_t *v_r);
/* Wire size of LF data, and of a file (-1 with errno). */
uint64_t mbox_wire_size(const char *data, size_t len);
int mbox_file_wire_size(int fd, uint64_t *size_r);
/* A fresh unique base name with S= and W= (S= left out when fsize is
 * UINT64_MAX), X=1 when exact (stored as received: mailbox.h), and
 * E=emailid unless 0 (a copy keeps its original's EMAILID). */
#define MBOX_FIELD_EXACT	'X'
#define MBOX_FIELD_EMAILID	'E'
char *mbox_unique_base(uint64_t fsize, uint64_t wsize, bool exact,
    uint64_t emailid);
/* A file's RFC 8474 EMAILID: its base name's ",E=" (a copy's: the
 * original's id), else a hash of the name up to the first "," or ":"
 * (unique as the name is). Never 0. Lives in the name only, so index
 * rebuilds and outside tools keep it. */
uint64_t mbox_name_emailid(const char *name, size_t base_len);
/* f's RFC 8474 MAILBOXID: the user's salt and f's UIDVALIDITY (kept by
 * RENAME, new for every new folder). */
void mbox_folder_mailboxid(const struct mbox_folder *f,
    char out[MBOX_OBJECTID_MAX + 1]);
/* Whether a file name has X=1. */
bool mbox_name_exact(const char *name, size_t base_len);
/* Atomic replace and directory fsync: util/fsutil.h. */
/* 0 if path is a folder (has cur/), else -1 with errno. */
int mbox_folder_exists(const char *path);
/* mkdir path with cur new tmp (+ maildirfolder unless inbox). */
int mbox_folder_mkdir(const char *path, bool inbox);
/* rm -r path; -1 with errno on the first failure. */
int mbox_rmtree(const char *path);

/* keywords of a folder */
bool mbox_keyword_valid(const char *kw);
/* (Re)reads f's keyword file if its mtime changed (u->io held). */
void mbox_kw_load(struct mbox_folder *f);
/* Resolves names to letter bits; create: add missing ones (writes the
 * keyword file). MBOX_ERR_BADNAME, MBOX_ERR_LIMIT, MBOX_ERR_TEMP. */
int mbox_kw_resolve(struct mbox_folder *f, const char *const *kws,
    bool create, uint32_t *mask_r, char **error_r);
/* Writes names to a new folder's keyword file (best effort). */
void mbox_kw_copy_file(const struct mbox_folder *from, const char *to_path);

/* ---- mailbox_index.c ------------------------------------------------- */
int mbox_index_open(struct mbox_md_user *u, char **error_r);
/* mailbox_index_schema.c, for mbox_index_open on a fresh u->db: the
 * integrity check (false when damaged; *rc_r an SQLite code), and the
 * tables made or migrated to the newest version (SQLITE_CORRUPT for an
 * index that is not ours: rebuild). */
bool mbox_index_check(struct mbox_md_user *u, int *rc_r);
int mbox_index_schema(struct mbox_md_user *u);
void mbox_index_close(struct mbox_md_user *u);
/* Loads f's row (inserting a new one with a new UIDVALIDITY if missing)
 * and its messages. */
int mbox_index_load(struct mbox_md_user *u, struct mbox_folder *f,
    char **error_r);
/* Writes d and f's new uidnext/highestmodseq in one transaction. */
int mbox_index_commit(struct mbox_md_user *u, struct mbox_folder *f,
    const struct mbox_delta *d, uint32_t uidnext, uint64_t hms,
    char **error_r);
/* Stores f's recent_next (RFC 3501 \Recent: claimed below it). */
int mbox_index_recent_save(struct mbox_md_user *u, struct mbox_folder *f,
    uint32_t recent_next);
/* A fresh row for dir (dropping an old one): CREATE. */
int mbox_index_folder_new(struct mbox_md_user *u, const char *dir,
    unsigned special_use, char **error_r);
/* Drops dir's row and messages (children too when children). */
int mbox_index_folder_drop(struct mbox_md_user *u, const char *dir,
    bool children, char **error_r);
/* Renames dir and its children's rows. */
int mbox_index_folder_rename(struct mbox_md_user *u, const char *olddir,
    const char *newdir, char **error_r);
/* dir -> special use of every folder that has one (a new hashmap of
 * (void *)(uintptr_t) values). */
struct hashmap *mbox_index_special_uses(struct mbox_md_user *u);
/* Expunged uids of f above modseq, ascending; *complete_r false when
 * history was pruned above modseq. */
int mbox_index_vanished(struct mbox_md_user *u, struct mbox_folder *f,
    uint64_t modseq, uint32_t **uids_r, size_t *n_r, bool *complete_r,
    char **error_r);

/* ---- mailbox_hdrcache.c (see mailbox_hdrcache.h) --------------------- */
/* The cache's table (a new index's schema, and migration 4 of an older
 * one): fields NULL means "read the file"; the trigger drops a message's
 * row with its messages row (expunge, folder delete). */
#define MBOX_HDRCACHE_SCHEMA \
	"CREATE TABLE IF NOT EXISTS hdrcache(folder INTEGER NOT NULL, " \
	"  uid INTEGER NOT NULL, fields BLOB, PRIMARY KEY(folder, uid)) " \
	"  WITHOUT ROWID;" \
	"CREATE TRIGGER IF NOT EXISTS hdrcache_drop AFTER DELETE ON messages " \
	"  BEGIN DELETE FROM hdrcache WHERE folder = old.folder AND " \
	"  uid = old.uid; END;"
/* At index open, after the migrations: the cache's statements. Returns
 * an SQLite code. */
int mbox_hdrcache_prepare(struct mbox_md_user *u);
void mbox_hdrcache_close(struct mbox_md_user *u);
/* Inside an index transaction: the cache row of new message m of f, from
 * its file. Returns an SQLite code. */
int mbox_hdrcache_add(struct mbox_md_user *u, struct mbox_folder *f,
    const struct mbox_msg *m);

/* ---- mailbox_sync.c -------------------------------------------------- */
/* Index of uid in f->msgs, or -1. */
long mbox_folder_find(const struct mbox_folder *f, uint32_t uid);
/* With u->io: brings f up to date with the disk if it (may have)
 * changed, or always when force. Wakes watchers except actor's. */
int mbox_sync(struct mbox_folder *f, bool force, struct mbox_md_view *actor,
    char **error_r);
/* With u->io, after our own changes to f's directories. */
void mbox_sync_restamp(struct mbox_folder *f);
/* Commits d (index, then memory), frees it, wakes watchers but actor. */
int mbox_delta_commit(struct mbox_folder *f, struct mbox_delta *d,
    struct mbox_md_view *actor, char **error_r);
void mbox_delta_free(struct mbox_delta *d);
struct mbox_upd *mbox_delta_upd(struct mbox_delta *d);
/* A new message for d (zeroed; the caller sets uid, name, ...). */
struct mbox_msg *mbox_delta_add(struct mbox_delta *d);
/* d gets our new file name (taken) in f's cur/ with the next UID. */
uint32_t mbox_delta_add_file(struct mbox_folder *f, struct mbox_delta *d,
    char *name, uint64_t size, int64_t idate);
void mbox_delta_exp(struct mbox_delta *d, uint32_t uid);
bool mbox_delta_empty(const struct mbox_delta *d);

/* ---- mailbox_user.c -------------------------------------------------- */
/* With u->io: f for dir, loaded and synced (a new reference). */
int mbox_folder_get(struct mbox_md_user *u, const char *dir,
    struct mbox_folder **f_r, char **error_r);
/* Drops a reference (frees at zero); *f becomes NULL. */
void mbox_folder_put(struct mbox_folder **f);
/* With u->io: takes f out of the map (deleted or renamed away). */
void mbox_folder_unmap(struct mbox_folder *f);
/* With u->io: puts f back in the map under its (new) dir. */
void mbox_folder_remap(struct mbox_folder *f);
/* Another reference to u (it has one already). */
void mbox_user_ref(struct mbox_md_user *u);
/* Lets the store thread run; starts it the first time. */
void mbox_poller_start(void);
/* Ends the lingers that expired (all: every one); see mailbox_linger.c. */
void mbox_linger_sweep(bool all);
/* Sets *error_r (when not NULL) to a formatted message. */
void mbox_error(char **error_r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- mailbox_notify.c ------------------------------------------------ */
void mbox_events_init(struct mbox_md_user *u);
void mbox_events_fini(struct mbox_md_user *u);
/* Queues an event for u's user watches (cheap when there are none). */
void mbox_user_event(struct mbox_md_user *u, enum mbox_event_kind kind,
    const char *name, const char *oldname);
/* The same on any list of user watches (the PostgreSQL store's user has
 * one too), and a new watch on such a list (base.be = be); the owner
 * of the list outlives its watches (mbox_md_user_watch_free unlinks). */
void mbox_watchers_event(struct mbox_md_user_watch **head,
    enum mbox_event_kind kind, const char *name, const char *oldname);
struct mbox_md_user_watch *mbox_watchers_add(struct mbox_md_user_watch **head,
    enum mbox_backend be, struct loop *loop, void (*cb)(void *), void *arg);
/* mbox_watchers_event but for the watch whose id is skip too (0: none):
 * an event a listener heard of, made by that watch's owner. */
void mbox_watchers_event_skip(struct mbox_md_user_watch **head,
    uint64_t skip, enum mbox_event_kind kind, const char *name,
    const char *oldname);
/* Every watch on the list says overflow at its next take (events were
 * lost: a listener's reconnect), and is woken. */
void mbox_watchers_overflow(struct mbox_md_user_watch **head);
/* A watch's id: unique in the process, never 0, never reused. */
uint64_t mbox_md_user_watch_id(const struct mbox_md_user_watch *w);

/* ---- mailbox_view.c -------------------------------------------------- */
/* A view's watch (both backends): cb(arg) posted to loop, coalesced while
 * one is pending (mbox_watch_post, any thread); mbox_watch_drop ends it
 * (never called after, when dropped on loop's thread) and frees it once
 * no post is pending. */
struct mbox_watch *mbox_watch_new(struct loop *loop, void (*cb)(void *),
    void *arg);
void mbox_watch_post(struct mbox_watch *w);
void mbox_watch_drop(struct mbox_watch *w);
/* Calls the watchers of f's views other than actor (f->mu not held). */
void mbox_folder_wake(struct mbox_folder *f, const struct mbox_md_view *actor);
/* Records a STORE of uid by v at modseq (not reported back to v). */
void mbox_view_own(struct mbox_md_view *v, uint32_t uid, uint64_t modseq);

#endif
