/*
 * mailbox - the mail store behind IMAP and POP3: Maildir++ folders, UIDs,
 * flags, keywords, MODSEQ, and change notification between sessions.
 * With storage = postgresql the same API runs on the database
 * (mbox_setup; store/mailbox_pg*.c on pg_mailstore.h): what follows
 * about files, the index and the store thread is the Maildir backend's.
 *
 * Trust: runs with the server's privileges. Folder names, keywords and
 * message data come from authenticated clients and are validated here
 * (names: mailbox_name.c); paths are built only from the Maildir root the
 * caller got from the accounts data plus encoded names.
 *
 * ON DISK (per user, the Maildir++ root R = data_dir/mail/DOMAIN/LOCAL)
 *   R/cur R/new R/tmp        INBOX
 *   R/.A.B/{cur,new,tmp}     the folder "A/B" (IMAP hierarchy delimiter "/")
 *   R/.A.B/maildirfolder     marks a Maildir++ subfolder (empty)
 *   R/subscriptions          subscribed names, UTF-8 with "/", one a line
 *   R/<folder>/keywords      keyword letter map: lines "a $Forwarded"
 *   R/tem-index.sqlite       tem's index (+ -wal, -shm): disposable
 *   R/tem-deleted-*          a folder being deleted (removed at next open)
 * Each name component is stored in modified UTF-7 (RFC 3501 5.1.3, as
 * Courier and Dovecot do) with "." also shifted ("a.b" -> "a&AC4-b"), so
 * any valid name round-trips and "." only ever separates levels. INBOX's
 * children are ".INBOX.x". A directory whose name is not canonical
 * modified UTF-7 is not listed (logged once).
 *
 * Messages are files "<base>:2,<info>" in cur/ (new/ is emptied into cur/
 * by every sync). info letters: D \Draft, F \Flagged, R \Answered,
 * S \Seen, T \Deleted; a-z are keywords 0-25 named by the folder's
 * `keywords` file (max 26 per folder, as in Dovecot); other letters (P)
 * are kept as they are. Files are stored with LF line ends; the wire form
 * turns every LF not preceded by CR into CRLF, and sizes here (RFC822.SIZE,
 * STATUS SIZE) are of that form. A base name may carry ",S=<file size>"
 * and ",W=<wire size>"; without W= the file is read once to count.
 * ",X=1" marks a file stored exactly as received (a literal8 APPEND):
 * CRLFs kept, so a bare LF in it was a bare LF (BINARY, RFC 3516).
 *
 * The flags and keywords live in the file names, so deleting tem-* loses
 * no message and no flag. The keyword map is deliberately NOT a tem-*
 * file: SPEC makes tem-* disposable, and without the map the letters in
 * the names would mean nothing. (If it is missing, a Dovecot
 * `dovecot-keywords` file is read instead, which eases migrations.)
 *
 * THE INDEX (tem-index.sqlite: WAL; see mailbox_index.c) keeps per folder
 * UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ and per message UID, file name,
 * MODSEQ, wire size and INTERNALDATE (the file's mtime when first seen),
 * plus expunged UIDs with their MODSEQ for QRESYNC. Transactions that
 * hand out UIDs are fsynced before any client can see the UIDs; others
 * use synchronous=NORMAL, and after an unclean stop every HIGHESTMODSEQ
 * jumps by 2^24 so a lost MODSEQ is never handed out twice. A missing or
 * damaged index is rebuilt from the Maildir with new UIDVALIDITYs and UIDs
 * in name order (numeric parts compared as numbers).
 *
 * SHARING: one struct mbox_user per Maildir root per process, and one
 * in-memory folder (message array: ~48 bytes + file name per message) per
 * open folder, shared by every session that has it open. A session's view
 * keeps only its sequence-number map (4 bytes per message) and what it has
 * seen; mbox_view_changes() tells it what other sessions, deliveries and
 * outside tools did since. Disk changes are found by a sync: a readdir of
 * new/ and cur/ (no file is opened except new ones), skipped while both
 * directories' mtimes are unchanged (and more than a second old).
 * A store thread re-checks watched folders every second and syncs at once
 * when mbox_notify_delivery() names an INBOX somebody watches.
 *
 * THREADS: functions marked BLOCKING touch the disk or the index: call them
 * from a worker thread (util/worker.h). Others are in-memory and quick.
 * All are thread-safe across users, folders and views, except that one
 * view must be used by one thread at a time (its session's). Blocking work
 * on one user is serialized (one mutex per user); in-memory queries never
 * wait for it.
 *
 * ERRORS: functions returning int give 0 on success, or a negative
 * enum mbox_err with a malloc'd one-line message in *error_r (the
 * caller frees; error_r may be NULL to ignore the text).
 */
#ifndef TEM_MAILBOX_H
#define TEM_MAILBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct conf;
struct loop;
struct mbox_user;
struct mbox_view;

enum mbox_err {
	MBOX_ERR_TEMP = -1,		/* disk or index trouble: try later */
	MBOX_ERR_NONEXISTENT = -2,	/* [NONEXISTENT]; [TRYCREATE] on APPEND/COPY */
	MBOX_ERR_EXISTS = -3,		/* [ALREADYEXISTS] */
	MBOX_ERR_BADNAME = -4,		/* invalid folder name or keyword: [CANNOT] */
	MBOX_ERR_CANNOT = -5,		/* not allowed (delete INBOX, write a read-only view) */
	MBOX_ERR_LIMIT = -6,		/* a limit, e.g. 26 keywords per folder: [LIMIT] */
	MBOX_ERR_EXPUNGED = -7,		/* a message is gone: [EXPUNGEISSUED] */
	MBOX_ERR_GONE = -8,		/* the open folder was deleted or reset: BYE */
	MBOX_ERR_NOSPACE = -9,		/* disk full or quota: [OVERQUOTA] */
	MBOX_ERR_UNAVAILABLE = -10,	/* the database cannot answer now
					   (PostgreSQL): [UNAVAILABLE] */
};

/* Limits */
#define MBOX_NAME_MAX		255	/* octets of UTF-8 in a folder name */
#define MBOX_DEPTH_MAX		16	/* levels in a folder name */
#define MBOX_KEYWORDS_MAX	26	/* keywords per folder (letters a-z) */
#define MBOX_KEYWORD_LEN_MAX	128	/* octets in a keyword */
#define MBOX_UIDL_MAX		70	/* RFC 1939 */
#define MBOX_FOLDERS_MAX	5000	/* folders per user (CREATE, RENAME INBOX) */
#define MBOX_SUBSCRIPTIONS_MAX	5000	/* subscribed names per user */

/* Message flags (system flags as IMAP knows them). */
#define MBOX_F_ANSWERED		0x01
#define MBOX_F_FLAGGED		0x02
#define MBOX_F_DELETED		0x04
#define MBOX_F_SEEN		0x08
#define MBOX_F_DRAFT		0x10
#define MBOX_F_STORABLE		0x1f	/* what STORE and APPEND may set */
#define MBOX_F_RECENT		0x20	/* output only: \Recent in this view */

/* Folder attributes (mbox_list) and special uses (mbox_create). */
#define MBOX_NOSELECT		0x0001	/* a parent without a folder of its own */
#define MBOX_NONEXISTENT	0x0002	/* only subscribed (implies NOSELECT) */
#define MBOX_HASCHILDREN	0x0004
#define MBOX_HASNOCHILDREN	0x0008
#define MBOX_SUBSCRIBED		0x0010
#define MBOX_DRAFTS		0x0100	/* RFC 6154 \Drafts */
#define MBOX_SENT		0x0200
#define MBOX_TRASH		0x0400
#define MBOX_JUNK		0x0800
#define MBOX_ARCHIVE		0x1000
#define MBOX_SPECIAL_USE	0x1f00	/* all of the above five */

/* ---- the backend (process-wide) ------------------------------------- */

/*
 * Once, before threads (serve, CLI commands that open mailboxes): the
 * store for this process from c's storage: Maildir++ under each
 * account's root (embedded, the default) or PostgreSQL (postgresql:
 * pg_mailstore.h underneath; APPEND spools go to data_dir/tmp). Every
 * mbox_* below then works on that store with the same contract, except
 * where a comment says "Maildir" (delivery filters, outside tools).
 */
void mbox_setup(const struct conf *c);
bool mbox_on_pg(void);

/* ---- users --------------------------------------------------------- */

/*
 * BLOCKING. The store of the account address whose Maildir++ root is
 * maildir_root: mbox_user_open(maildir_root) on Maildir (address kept
 * for mbox_user_address), the user row of address on PostgreSQL (its
 * INBOX and special folders made if missing; maildir_root unused).
 * On PostgreSQL an unknown address is MBOX_ERR_NONEXISTENT, the
 * database unreachable MBOX_ERR_UNAVAILABLE (and so for every call
 * below that needs it: NO [UNAVAILABLE], POP3 -ERR [SYS/TEMP]).
 */
int mbox_user_open_account(const char *address, const char *maildir_root,
    struct mbox_user **u_r, char **error_r);
/* Not blocking: mbox_user_find's twin for either store. */
struct mbox_user *mbox_user_find_account(const char *address,
    const char *maildir_root);
/* The account's address as given at open (NULL when a Maildir store
 * was opened by root alone); lives as long as u. */
const char *mbox_user_address(const struct mbox_user *u);
/* users.id on PostgreSQL, 0 on Maildir. */
int64_t mbox_user_pg_id(const struct mbox_user *u);

/*
 * BLOCKING. The shared store of the Maildir++ at maildir_root (which must
 * exist with cur/ new/ tmp/; a trailing "/" is ignored), opened with one
 * more reference. The first open of a root in this process opens (or
 * rebuilds) its index and removes leftover tem-deleted-* directories.
 * mbox_user_open_account(NULL, maildir_root, ...): on PostgreSQL, which
 * needs the address, it fails (MBOX_ERR_TEMP).
 */
int mbox_user_open(const char *maildir_root, struct mbox_user **u_r,
    char **error_r);
/*
 * Not blocking (a short lock): the store of maildir_root with one more
 * reference when it is open and ready (a session or mbox_user_linger
 * holds it), else NULL: a login then needs no worker to open it.
 */
struct mbox_user *mbox_user_find(const char *maildir_root);
/* BLOCKING when it drops the last reference. Sets *u to NULL; *u may be
 * NULL. Views hold their own reference to their user. */
void mbox_user_unref(struct mbox_user **u);
/*
 * BLOCKING (it may close another user's index). Drops the caller's
 * reference like mbox_user_unref, but keeps the store open for
 * MBOX_LINGER_SEC more seconds, with the folder v shows (v may be NULL;
 * call before closing v) kept loaded: a client that logs in again soon
 * (one that logs in per check, a poller) finds its index open and its
 * folder in memory instead of paying an index open, a folder load and
 * an index close each time. At most MBOX_LINGER_MAX users linger (the
 * oldest goes first), and the folders kept hold at most MBOX_LINGER_MSGS
 * messages in all (beyond, the user lingers without its folder). The
 * store thread ends expired lingers; mbox_shutdown ends them all.
 */
#define MBOX_LINGER_SEC		60
#define MBOX_LINGER_MAX		256
#define MBOX_LINGER_MSGS	500000
void mbox_user_linger(struct mbox_user **up, struct mbox_view *v);

/* The Maildir++ root u was opened with (without a trailing "/"); lives
 * as long as u. NULL on PostgreSQL. */
const char *mbox_user_root(const struct mbox_user *u);

/* BLOCKING (PostgreSQL). POP3's per-user lock (RFC 1939): 1 if taken, 0
 * if another POP3 session holds it ([IN-USE]): in this process on
 * Maildir, on any node on PostgreSQL (a lease in the database, renewed
 * while held, that runs out 90 s after its node died); else an mbox_err
 * with *error_r (MBOX_ERR_UNAVAILABLE: the database away, [SYS/TEMP]).
 * Unlock only what you locked. */
int mbox_pop3_lock(struct mbox_user *u, char **error_r);
void mbox_pop3_unlock(struct mbox_user *u);

/* ---- folders ------------------------------------------------------- */

struct mbox_folder_info {
	char		*name;	/* UTF-8, "/" between levels; "INBOX" first */
	unsigned	 flags;	/* MBOX_NOSELECT ... MBOX_ARCHIVE */
};

/*
 * BLOCKING. Every folder, every missing parent of one (MBOX_NOSELECT) and
 * every subscribed name that does not exist (MBOX_NONEXISTENT), sorted by
 * name with INBOX first; each with HASCHILDREN or HASNOCHILDREN, and
 * SUBSCRIBED and special use as they apply. Special use comes from the
 * names Drafts Sent Trash Junk Archive at the top level, and from CREATE
 * (USE). Free with mbox_list_free().
 */
int mbox_list(struct mbox_user *u, struct mbox_folder_info **list_r,
    size_t *n_r, char **error_r);
void mbox_list_free(struct mbox_folder_info *list, size_t n);
/* mbox_list's order as a qsort comparator: INBOX first, then by name. */
int mbox_folder_info_cmp(const void *a, const void *b);

/*
 * BLOCKING. Creates the folder name (special_use: 0 or MBOX_DRAFTS...;
 * kept in the index only, so lost with it, unlike messages and flags).
 * Parents are not created (Maildir++ has no need; they list as NOSELECT).
 * A name "INBOX" in any case is INBOX; a first level "inbox" is written
 * "INBOX". Names with "*" or "%" are refused.
 */
int mbox_create(struct mbox_user *u, const char *name, unsigned special_use,
    char **error_r);
/* BLOCKING (one stat). 0 when folder name exists, MBOX_ERR_NONEXISTENT
 * when not (or another error for a bad name). */
int mbox_exists(struct mbox_user *u, const char *name, char **error_r);
/* BLOCKING. Deletes the folder and its messages (not its children, which
 * stay; nor its subscription, RFC 9051). Views open on it get gone. */
int mbox_delete(struct mbox_user *u, const char *name, char **error_r);
/*
 * BLOCKING. Renames old (and its children) to new, keeping UIDVALIDITY and
 * UIDs; open views follow. Renaming INBOX moves its messages into a new
 * folder new (with new UIDs) and leaves INBOX empty, its children unmoved
 * (RFC 9051 6.3.6). new must not exist nor be below old.
 */
int mbox_rename(struct mbox_user *u, const char *oldname, const char *newname,
    char **error_r);
/* BLOCKING. Adds name to (on) or removes it from the subscriptions. The
 * name need not exist; it must be valid. */
int mbox_subscribe(struct mbox_user *u, const char *name, bool on,
    char **error_r);

/*
 * For a delivery filter (Sieve fileinto, mailbox_deliver.c), without the
 * store open. BLOCKING. The Maildir folder of name under root (NULL,
 * "" or INBOX: root itself) in *dir_r (malloc'd): 0; when missing,
 * created and subscribed if create, else MBOX_ERR_NONEXISTENT; or
 * another error for a bad name.
 */
int mbox_deliver_folder(const char *root, const char *name, bool create,
    char **dir_r, char **error_r);
/* BLOCKING. The info letters (malloc'd, "" for none) of flags[0..n)
 * (system flags and keywords, the latter added to dir's keyword map;
 * invalid or over-limit ones left out) for a file delivered into dir. */
char *mbox_deliver_info(const char *dir, const char *const *flags,
    size_t n);

/* RFC 8474 object ids as text: MAILBOXID "F" + 16 hex digits (a salt
 * of the user's index and the folder's UIDVALIDITY: kept by RENAME, new
 * for a new folder or a rebuilt index), EMAILID "M" + 16 hex digits
 * (from the file name: a hash of its unique part, or the ",E=<id>" COPY
 * and MOVE give the new file so that it keeps the original's). There
 * are no THREADIDs (RFC 8474 5.2 allows NIL). */
#define MBOX_OBJECTID_MAX	32
void mbox_emailid_format(uint64_t emailid, char out[MBOX_OBJECTID_MAX + 1]);

struct mbox_status {
	char		mailboxid[MBOX_OBJECTID_MAX + 1];
	uint32_t	messages;
	uint32_t	recent;		/* \Recent (IMAP4rev1) */
	uint32_t	uidnext;
	uint32_t	uidvalidity;
	uint32_t	unseen;		/* count without \Seen */
	uint32_t	deleted;	/* count with \Deleted */
	uint64_t	size;		/* sum of wire sizes (STATUS SIZE) */
	uint64_t	deleted_size;	/* of those with \Deleted */
	uint64_t	highestmodseq;
	uint32_t	first_unseen;	/* mbox_view_status only: seq, 0 if none */
};

/* BLOCKING. The folder's status after a sync (the folder need not be
 * open; it is loaded for the call). */
int mbox_status(struct mbox_user *u, const char *name, struct mbox_status *st,
    char **error_r);

/*
 * APPEND through a spool file: the message is written piece by piece as
 * it arrives into the user's Maildir tmp/ (same file system as every
 * folder of the user, so it is renamed into place), CRLF stored as LF,
 * through a 64 KiB buffer; memory does not grow with the message.
 *
 *   s = mbox_spool_new(u)               non-blocking
 *   mbox_spool_write(s, p, n) ...       BLOCKING, any chunking
 *   mbox_spool_finish(s)                BLOCKING: the last bytes, closed
 *   mbox_append_spool(u, name, &s, ...) BLOCKING: durable, indexed
 *   mbox_spool_free(&s)                 BLOCKING (an unlink) when not
 *                                       appended (error, abandoned)
 *
 * A failed write (ENOSPC, EIO...) removes the file at once and fails
 * every later call with the same errno: no partial file stays in tmp/.
 * A spool is used by one thread at a time.
 */
struct mbox_spool;

struct mbox_spool *mbox_spool_new(struct mbox_user *u);
/* Before the first write: store the bytes exactly as given, CRLF and
 * bare LF alike (a literal8 APPEND), and mark the file so (",X=1" in its
 * name; messages.exact on PostgreSQL; kept by COPY/MOVE):
 * mbox_msg_info.exact. Text is served from it
 * as from any file (every bare LF as CRLF); BINARY serves binary parts
 * as they are. */
void mbox_spool_exact(struct mbox_spool *s);
int mbox_spool_write(struct mbox_spool *s, const char *p, size_t n);
int mbox_spool_finish(struct mbox_spool *s);
/* BLOCKING. Writes what fd holds from its offset to its end (a stored
 * message: LF line ends stay LF), failing with EFBIG once s is over max
 * wire octets. -1 with errno: a read error leaves s usable. */
int mbox_spool_write_fd(struct mbox_spool *s, int fd, uint64_t max);
/* BLOCKING. Writes the bytes of the finished spool *src (consumed, its
 * file removed) the same way: CATENATE joins its parts so. */
int mbox_spool_append(struct mbox_spool *s, struct mbox_spool **src,
    uint64_t max);
/* The wire size (CRLF line ends) written so far. */
uint64_t mbox_spool_size(const struct mbox_spool *s);
/* The errno of the first failure, or 0. */
int mbox_spool_error(const struct mbox_spool *s);
void mbox_spool_free(struct mbox_spool **s);

/*
 * BLOCKING. Appends the finished spool *s to folder name: its internal
 * date set (0: now) and fsynced, renamed into cur/ with flags
 * (MBOX_F_STORABLE bits) and keywords (NULL or a NULL-terminated list;
 * new ones are added to the folder), cur/ fsynced, then indexed. *s is
 * consumed (freed, its file gone unless appended) and set to NULL. On
 * success the folder's UIDVALIDITY and the new UID (APPENDUID) are set.
 * A missing folder is MBOX_ERR_NONEXISTENT; a full disk (ENOSPC,
 * EDQUOT), now or while spooling, MBOX_ERR_NOSPACE; nothing is left in
 * tmp/ or cur/ after a failure.
 */
int mbox_append_spool(struct mbox_user *u, const char *name,
    struct mbox_spool **s, unsigned flags, const char *const *keywords,
    time_t internaldate, uint32_t *uidvalidity_r, uint32_t *uid_r,
    char **error_r);

/*
 * BLOCKING. MULTIAPPEND (RFC 3502): n finished spools into folder name,
 * all or nothing: each placed as mbox_append_spool does, then indexed in
 * one transaction with consecutive UIDs (uids_r[i] for item i); when any
 * step fails, the messages already placed are removed and none is
 * indexed. Every spool is consumed (set to NULL); internaldate 0 is set
 * to now.
 */
struct mbox_append_item {
	struct mbox_spool	*spool;
	unsigned		 flags;		/* MBOX_F_STORABLE bits */
	const char *const	*keywords;	/* NULL or NULL-terminated */
	time_t			 internaldate;
};
int mbox_append_spools(struct mbox_user *u, const char *name,
    struct mbox_append_item *items, unsigned n, uint32_t *uidvalidity_r,
    uint32_t *uids_r, char **error_r);

/* BLOCKING. The same from memory: data is the message as received (CRLF
 * line ends; stored with LF). */
int mbox_append(struct mbox_user *u, const char *name, const char *data,
    size_t len, unsigned flags, const char *const *keywords,
    time_t internaldate, uint32_t *uidvalidity_r, uint32_t *uid_r,
    char **error_r);

/* ---- a folder as one session sees it -------------------------------- */

/*
 * BLOCKING. Opens folder name (SELECT; EXAMINE when readonly) after a sync.
 * The view starts with every message. \Recent (RFC 3501): messages no
 * read-write view has claimed yet (mail that came while the folder was
 * closed included) are recent in this view; a read-write view claims
 * them, and the new ones it learns of later, for good (the index keeps
 * the lowest unclaimed UID), a read-only one does not. Close with
 * mbox_view_close().
 */
int mbox_view_open(struct mbox_user *u, const char *name, bool readonly,
    struct mbox_view **v_r, char **error_r);
/*
 * Frees the view (and its watch) and sets *v to NULL; *v may be NULL.
 * BLOCKING when it drops the last reference to the user, or has \Recent
 * claims to write to the index. Call
 * mbox_view_watch(v, NULL, NULL, NULL) on the watch's loop thread first
 * if a callback must not run after this (see mbox_view_watch).
 */
void mbox_view_close(struct mbox_view **v);

/* The name the view was opened with (follows renames) - a copy. */
char *mbox_view_name(struct mbox_view *v);
bool mbox_view_readonly(const struct mbox_view *v);

/* Message count in this view (EXISTS as last reported to the session). */
uint32_t mbox_view_count(const struct mbox_view *v);
/* UID of seq (1-based), 0 if out of range. */
uint32_t mbox_view_uid(const struct mbox_view *v, uint32_t seq);
/* Seq of uid, 0 if the view has no such message. */
uint32_t mbox_view_seq(const struct mbox_view *v, uint32_t uid);
/* For UID ranges: the first seq whose UID >= uid (count+1 if none). */
uint32_t mbox_view_seq_ceil(const struct mbox_view *v, uint32_t uid);

/* SELECT data as this view knows it: messages, recent, uidnext,
 * uidvalidity, unseen, first_unseen, highestmodseq (size, deleted too). */
void mbox_view_status(struct mbox_view *v, struct mbox_status *st);

struct mbox_msg_info {
	uint32_t	uid;
	unsigned	flags;		/* MBOX_F_*, with MBOX_F_RECENT */
	uint32_t	keywords;	/* bit i: mbox_view_keyword(v, i) */
	uint64_t	modseq;
	uint64_t	size;		/* RFC822.SIZE (wire form) */
	time_t		internaldate;
	bool		exact;		/* stored as received (mbox_spool_exact) */
	time_t		savedate;	/* when it came into this folder (RFC
					 * 8514): APPEND, COPY, MOVE, delivery */
	uint64_t	emailid;	/* RFC 8474, see mbox_emailid_format */
	bool		expunged;	/* expunged elsewhere, not yet reported:
					 * only uid is set; the file is gone */
};

/* Message seq of the view; -1 if seq is out of range. */
int mbox_view_msg(struct mbox_view *v, uint32_t seq, struct mbox_msg_info *info_r);
/* The folder's keywords: name of keyword i (< MBOX_KEYWORDS_MAX), or NULL.
 * Names are never removed while the view is open (the pointer stays). */
unsigned mbox_view_n_keywords(struct mbox_view *v);
const char *mbox_view_keyword(struct mbox_view *v, unsigned i);
/*
 * Keywords a session must announce (untagged FLAGS and PERMANENTFLAGS)
 * before a FETCH shows them (RFC 3501 7.2.6, 9051 7.3.5). A view counts
 * the folder's keywords at open as told (SELECT lists them) and
 * mbox_view_changes() reports new ones (keywords_changed).
 * mbox_view_keywords_news: true when the folder has keywords the view
 * has not told yet, which then count as told: send the FLAGS lines now.
 * mbox_view_keywords_told: the keyword bits told so far; show no others.
 */
bool mbox_view_keywords_news(struct mbox_view *v);
uint32_t mbox_view_keywords_told(const struct mbox_view *v);
/* Whether STORE may add a new keyword (PERMANENTFLAGS \*). */
bool mbox_view_can_add_keywords(struct mbox_view *v);
/*
 * BLOCKING. Opens message seq's file read-only (O_CLOEXEC) and returns the
 * fd, retrying if another session renames it meanwhile; -1 with errno
 * (ENOENT: the message was expunged; ERANGE: bad seq). The content is
 * LF-terminated lines (see the header comment for the wire form).
 */
int mbox_view_msg_open(struct mbox_view *v, uint32_t seq);
/* BLOCKING (an open and a close). Asks the kernel to start reading
 * message seq's file (posix_fadvise WILLNEED): a scan over many files
 * (SEARCH BODY) names the next ones ahead so their reads overlap. */
void mbox_view_msg_prefetch(struct mbox_view *v, uint32_t seq);
/* The current path of message seq's file (malloc'd), NULL if bad/expunged.
 * It may be renamed at any time: prefer mbox_view_msg_open(). */
char *mbox_view_msg_path(struct mbox_view *v, uint32_t seq);
/* POP3 UIDL of seq: stable across index rebuilds (from the file name). */
int mbox_view_uidl(struct mbox_view *v, uint32_t seq, char out[MBOX_UIDL_MAX + 1]);

/*
 * BLOCKING. Looks at the disk if it may have changed (or when a delivery
 * was announced) and records what changed in the shared folder. Call it
 * before mbox_view_changes() after each command, on IDLE wake-ups, NOOP.
 * MBOX_ERR_GONE when the folder was deleted.
 */
int mbox_view_sync(struct mbox_view *v, char **error_r);
/*
 * BLOCKING. Before a command reads the view (FETCH, SEARCH, STORE...):
 * makes what the view answers about its messages (flags, keywords,
 * MODSEQ; not the numbering, which moves only at mbox_view_changes)
 * as current as another session's finished command. On Maildir
 * nothing: the folder in memory is shared and current. On PostgreSQL
 * other sessions' changes are only in the database: one read.
 */
int mbox_view_refresh(struct mbox_view *v, char **error_r);

struct mbox_changes {
	/* 1. expunged since last time: send in this order (descending seqs,
	 * each valid as sent); QRESYNC sends VANISHED with the uids. */
	uint32_t	*expunged_seqs;
	uint32_t	*expunged_uids;
	size_t		 n_expunged;
	/* 2. EXISTS/RECENT when exists_changed (new messages arrived). */
	bool		 exists_changed;
	uint32_t	 exists;
	uint32_t	 recent;
	/* 3. FETCH FLAGS (and MODSEQ) for these seqs (new numbering,
	 * ascending): flags changed by others (not by this view's STORE). */
	uint32_t	*flag_seqs;
	size_t		 n_flags;
	/* FLAGS/PERMANENTFLAGS again: a keyword was added. */
	bool		 keywords_changed;
	/* The folder was deleted (or reset): send BYE and close. */
	bool		 gone;
	uint64_t	 highestmodseq;
};

/*
 * In-memory. Fills ch with what happened since this view last asked (or
 * opened) and moves the view to the present: its seq map, count and
 * highestmodseq change accordingly. Free with mbox_changes_free().
 */
void mbox_view_changes(struct mbox_view *v, struct mbox_changes *ch);
void mbox_changes_free(struct mbox_changes *ch);

/*
 * Calls cb(arg) on loop (through loop_post, coalesced while one is
 * pending) whenever the folder changes: another view's STORE, EXPUNGE,
 * COPY/APPEND into it, a delivery, an outside tool (seen within ~1 s).
 * The view's own operations do not wake it. The cb should run
 * mbox_view_sync on a worker then mbox_view_changes. loop NULL unwatches;
 * once unwatched ON loop's THREAD, cb is never called again for it.
 */
void mbox_view_watch(struct mbox_view *v, struct loop *loop,
    void (*cb)(void *arg), void *arg);

/* ---- changing messages (through a view) ----------------------------- */

enum mbox_store_op { MBOX_STORE_ADD, MBOX_STORE_REMOVE, MBOX_STORE_REPLACE };

/*
 * BLOCKING. STORE flags (MBOX_F_STORABLE bits) and keywords (NULL or
 * NULL-terminated; new ones are created for ADD/REPLACE, MBOX_ERR_LIMIT
 * past 26) on the n seqs. unchangedsince > 0: messages whose MODSEQ is
 * above it are left alone and returned in *modified_r (seqs, ascending;
 * malloc'd, NULL when none; RFC 7162 MODIFIED). Messages expunged
 * meanwhile are skipped. Changed messages get one new MODSEQ; read the
 * results with mbox_view_msg(). A readonly view gets MBOX_ERR_CANNOT.
 */
int mbox_store(struct mbox_view *v, const uint32_t *seqs, size_t n,
    enum mbox_store_op op, unsigned flags, const char *const *keywords,
    uint64_t unchangedsince, uint32_t **modified_r, size_t *n_modified_r,
    char **error_r);

/*
 * BLOCKING. Removes messages: uids NULL means every message of the view
 * with \Deleted (EXPUNGE); else those of the n uids the view has, with
 * \Deleted when require_deleted (UID EXPUNGE), or regardless (POP3 QUIT).
 * *expunged_r (may be NULL) gets the UIDs removed (malloc'd). The view's
 * own seq map changes only through mbox_view_changes(), which reports them.
 */
int mbox_expunge(struct mbox_view *v, const uint32_t *uids, size_t n,
    bool require_deleted, uint32_t **expunged_r, size_t *n_expunged_r,
    char **error_r);

/*
 * BLOCKING. COPY (move false) or MOVE the n seqs to folder dest, all or
 * nothing. On success *uidvalidity_r is dest's, and src_uids_r/dst_uids_r
 * (malloc'd, *n_r each, in the order of seqs) are the COPYUID sets. Flags
 * and keywords go along (a keyword dest has no room for is dropped), and
 * INTERNALDATE. A missing dest is MBOX_ERR_NONEXISTENT ([TRYCREATE]), a
 * message expunged meanwhile MBOX_ERR_EXPUNGED. MOVE's expunges reach
 * this view through mbox_view_changes().
 */
int mbox_copy(struct mbox_view *v, const uint32_t *seqs, size_t n,
    const char *dest, bool move, uint32_t *uidvalidity_r,
    uint32_t **src_uids_r, uint32_t **dst_uids_r, size_t *n_r,
    char **error_r);

struct mbox_uid_range {
	uint32_t	first, last;
};

/*
 * BLOCKING. QRESYNC: UIDs expunged with a MODSEQ above modseq, as
 * ascending ranges, restricted to UIDs below the view's UIDNEXT and not in
 * the view. When the history no longer reaches back that far, every such
 * UID not in the view is returned (RFC 7162 3.2.5.2 allows it).
 */
int mbox_vanished_since(struct mbox_view *v, uint64_t modseq,
    struct mbox_uid_range **ranges_r, size_t *n_r, char **error_r);

/* ---- NOTIFY: what happens to any folder of a user ------------------- */

/*
 * A user watch (mailbox_notify.c) hears of every change the store makes
 * or learns of for the user, in any folder, open or not: messages added,
 * expunged or with new flags (MBOX_EV_MESSAGES, once per folder until
 * taken), folders created, deleted or renamed, subscriptions changed.
 * Deliveries to INBOX are heard through mbox_notify_delivery(); outside
 * tools changing a folder nobody has open are not (no folder is polled
 * for this). Each watch queues at most MBOX_EVENTS_MAX events; beyond,
 * they are dropped and the next take says overflow. On PostgreSQL the
 * events are those of every node, heard through LISTEN
 * (mailbox_pg_notify.c); when the listener had to reconnect, what was
 * missed is lost and the next take says overflow too.
 */
#define MBOX_EVENTS_MAX		1000

enum mbox_event_kind {
	MBOX_EV_MESSAGES,	/* name's messages or flags changed */
	MBOX_EV_CREATE,
	MBOX_EV_DELETE,
	MBOX_EV_RENAME,		/* oldname -> name */
	MBOX_EV_SUBSCRIBE,
	MBOX_EV_UNSUBSCRIBE,
	MBOX_EV_METADATA,	/* entry oldname of name ("": the server) */
};

struct mbox_event {
	enum mbox_event_kind	 kind;
	char			*name;		/* UTF-8, "/" between levels */
	char			*oldname;	/* RENAME: the old name;
						   METADATA: the entry */
};

struct mbox_user_watch;

/* Calls cb(arg) on loop (through loop_post, coalesced while one is
 * pending) when events are queued. Once freed ON loop's THREAD, cb is
 * never called again (freed elsewhere, one call may still be running or
 * about to run: arg must outlive it). In-memory. */
struct mbox_user_watch *mbox_user_watch_new(struct mbox_user *u,
    struct loop *loop, void (*cb)(void *arg), void *arg);
void mbox_user_watch_free(struct mbox_user_watch **w);
/* The events queued since the last take (malloc'd, *n_r; free with
 * mbox_events_free) and whether some were dropped. Any thread. */
struct mbox_event *mbox_user_watch_take(struct mbox_user_watch *w,
    size_t *n_r, bool *overflow_r);
void mbox_events_free(struct mbox_event *ev, size_t n);
/* Whether a take would return something. */
bool mbox_user_watch_pending(struct mbox_user_watch *w);
/* METADATA (store/metadata.c keeps it, the IMAP command changes it):
 * entry of mailbox ("" for the server's) was set or removed. */
void mbox_user_metadata_changed(struct mbox_user *u, const char *mailbox,
    const char *entry);
/* Until called again (NULL: nobody), what this thread makes the store do
 * is w's owner's own doing, and not queued for w (RFC 5465 5: a client
 * is not told of its own changes). Thread-local. */
void mbox_user_watch_acting(const struct mbox_user_watch *w);
/* BLOCKING (on PostgreSQL: one query, then at most 1 s for the
 * listener). Returns once every change committed before the call is
 * queued for the watches: on PostgreSQL events come through the
 * database's notifications, asynchronously; on Maildir the change
 * queues them itself, so at once. For a poll (IMAP NOOP). */
void mbox_user_watch_catch_up(void);

/* ---- process-wide --------------------------------------------------- */

/*
 * Called after each successful delivery into the Maildir maildir_root
 * (its INBOX). Cheap: one hash look-up when nobody has it open; else it
 * marks the INBOX for a sync and wakes the store thread, which syncs it
 * and wakes the watchers of its views.
 */
void mbox_notify_delivery(const char *maildir_root);

/* Stops the store thread (if it ran). Users and views still open are the
 * caller's leak; call at exit after closing them. */
void mbox_shutdown(void);

#endif
