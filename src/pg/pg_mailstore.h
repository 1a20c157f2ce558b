/*
 * pg_mailstore - the core of the mail store on PostgreSQL (storage =
 * postgresql): a user's folders, messages with UIDs and MODSEQs handed
 * out by the database, flags and keywords, expunge with its QRESYNC log,
 * copy and move sharing message blobs, and a NOTIFY per change. It is
 * the PostgreSQL half of what mailbox.h's mbox_* does on Maildir++;
 * mbox_* is to sit on it (the views, sequence numbers, \Recent and
 * watches stay above it, in memory).
 *
 * Identities: a user is users.id (pg_ms_user_id from the address); a
 * folder is named (user, name) for the folder operations and APPEND,
 * and by its mailboxes.id once selected (RENAME keeps the id, the
 * UIDVALIDITY and the UIDs). Names arrive checked and normalised by the
 * caller (mbox_name_check: UTF-8, "/" between levels, "INBOX" for
 * INBOX in any case); keywords arrive checked (mbox_keyword_valid: IMAP
 * atoms, so never a space).
 *
 * Messages are stored exactly as given (the caller's wire form, CRLF),
 * so size is the byte count and reads give the same bytes back. They
 * travel as raw octets both ways (pg_query_bin: binary bytea), so an
 * APPEND holds about twice the message in memory for the call (the
 * caller's and libpq's copy): the caller's message size limit (below
 * 2 GiB) bounds it. Blobs are shared by COPY and
 * MOVE and freed with their last messages row (the messages_unref
 * trigger, pg_schema.c).
 *
 * Durability: every change is one transaction committed with
 * synchronous_commit on before the call returns 0: the caller may say
 * OK then. A PG_UNAVAILABLE from a change may or may not have
 * committed (pg_conn.h): the caller answers NO [UNAVAILABLE] and
 * acknowledges nothing.
 *
 * Concurrency (across threads, processes, nodes): every change to a
 * folder's messages first updates the folder's mailboxes row (UIDNEXT
 * and/or HIGHESTMODSEQ + 1 ... RETURNING), whose row lock is held to the
 * commit: changes to one folder are serial, so UIDs and MODSEQs are
 * handed out once, increase in commit order, and a reader never sees a
 * MODSEQ below one it saw before appear later.
 *
 * Notification: each change does pg_notify('tem_mailbox', "ID MODSEQ")
 * (the folder's id and new HIGHESTMODSEQ; delivered on commit), for
 * every folder it changed; pg_listen carries it to the other nodes.
 * DELETE notifies "ID 0": the folder is gone. RENAME notifies "ID R"
 * for the folder and each child renamed with it (not a change: the
 * name is new, HIGHESTMODSEQ is not; a listener tells it from "ID
 * MODSEQ" by the letter, and finds the new name by id in pg_ms_list).
 * RENAME INBOX renames nothing: it notifies as its messages' MOVE does.
 * "ID MODSEQ ORIGIN" when the thread has an origin (pg_ms_origin_set).
 * What is not a folder's messages goes on 'tem_user' (below): CREATE,
 * DELETE, RENAME, SUBSCRIBE/UNSUBSCRIBE and METADATA.
 *
 * Return values: PG_OK (0), PG_UNAVAILABLE, PG_ERROR (pg_conn.h: with
 * the one-line *error_r), or one of PG_MS_* below (also with *error_r).
 * mbox_* maps them: PG_UNAVAILABLE and PG_ERROR to MBOX_ERR_TEMP, the
 * others to the MBOX_ERR_* of the same name.
 *
 * Threads: every call BLOCKS (pg_conn.h): from a worker thread only.
 * Trust: arguments are the caller's, already checked; parameters are
 * never spliced into SQL.
 */
#ifndef TEM_PG_MAILSTORE_H
#define TEM_PG_MAILSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define PG_MS_NONEXISTENT	-10	/* no such folder/user: [NONEXISTENT],
					   [TRYCREATE] on APPEND/COPY */
#define PG_MS_EXISTS		-11	/* [ALREADYEXISTS] */
#define PG_MS_CANNOT		-12	/* delete INBOX, rename into itself */
#define PG_MS_LIMIT		-13	/* PG_MS_FOLDERS_MAX folders, or
					   more messages than one call takes */

#define PG_MS_FOLDERS_MAX	5000	/* as MBOX_FOLDERS_MAX */
#define PG_MS_COPY_MAX		100000	/* messages in one COPY/MOVE/STORE */

/* mbox_store's operations. */
enum pg_ms_op { PG_MS_ADD, PG_MS_REMOVE, PG_MS_REPLACE };

/* ---- users and folders --------------------------------------------- */

/* The users.id of address (matched as the accounts are: tem_fold).
 * PG_MS_NONEXISTENT when there is no such user. */
int pg_ms_user_id(const char *address, int64_t *user_id_r, char **error_r);

/* Makes INBOX and Drafts Sent Trash Junk Archive (with their special
 * use), all subscribed, those missing only: for a new user, or at
 * every login (cheap when they exist). */
int pg_ms_user_init(int64_t user_id, char **error_r);

struct pg_ms_folder {
	int64_t		 id;
	char		*name;
	uint32_t	 uidvalidity;
	unsigned	 special_use;	/* MBOX_DRAFTS ... MBOX_ARCHIVE */
	bool		 exists;	/* false: only subscribed */
	bool		 subscribed;
};

/* Every folder and every subscribed name (exists false when it is only
 * that), sorted by name (byte order; INBOX sorts as any name: the
 * caller puts it first). Free with pg_ms_folders_free. */
int pg_ms_list(int64_t user_id, struct pg_ms_folder **list_r, size_t *n_r,
    char **error_r);
void pg_ms_folders_free(struct pg_ms_folder *list, size_t n);

/* The mailboxes.id of folder name (what a selected session keeps:
 * RENAME does not change it). PG_MS_NONEXISTENT. */
int pg_ms_folder_id(int64_t user_id, const char *name, int64_t *id_r,
    char **error_r);

/* The owner and name of folder mailbox_id (a NOTIFY names folders by
 * id: IMAP NOTIFY's events need the name). PG_MS_NONEXISTENT. */
int pg_ms_folder_name(int64_t mailbox_id, int64_t *user_id_r, char **name_r,
    char **error_r);

/* Creates folder name with a fresh UIDVALIDITY (see mailbox_uidvalidity
 * in pg_schema.c: never one this user had before). PG_MS_EXISTS. */
int pg_ms_create(int64_t user_id, const char *name, unsigned special_use,
    uint32_t *uidvalidity_r, char **error_r);
/* Deletes folder name and its messages (blobs freed at their last
 * reference); not its children, nor its subscription. INBOX:
 * PG_MS_CANNOT. */
int pg_ms_delete(int64_t user_id, const char *name, char **error_r);
/* Renames old and its children ("old/...") to new, keeping ids,
 * UIDVALIDITYs and UIDs. new (or a child's new name) existing:
 * PG_MS_EXISTS; new below old: PG_MS_CANNOT. INBOX: its messages move
 * to a new folder new (new UIDs there) and INBOX stays, empty, with its
 * children (RFC 9051 6.3.6). */
int pg_ms_rename(int64_t user_id, const char *oldname, const char *newname,
    char **error_r);
/* Subscribes (on) or unsubscribes name; the folder need not exist. */
int pg_ms_subscribe(int64_t user_id, const char *name, bool on,
    char **error_r);

/* ---- who made a change; user-level events (IMAP NOTIFY) ----------- */

/*
 * Origin: a token the NOTIFYs of this thread's changes carry, so that
 * the process that made a change can tell whose it is (mailbox_pg_notify.c
 * uses "PROCESS.WATCH": the acting IMAP NOTIFY session is not told of
 * its own changes, RFC 5465 5). At most PG_MS_ORIGIN_MAX octets of
 * [0-9a-z.]; NULL, "" or anything else: none. Until set again;
 * thread-local.
 */
#define PG_MS_ORIGIN_MAX	40
#define PG_MS_PAYLOAD_MAX	8000	/* PostgreSQL: a payload is shorter */
void pg_ms_origin_set(const char *origin);
const char *pg_ms_origin(void);		/* "" when none */

/*
 * 'tem_user' NOTIFY payloads, sent in the change's transaction (so at
 * its commit, never for a rollback): "USERID ORIGIN KIND LEN AB", ORIGIN
 * "-" when none, A the first LEN octets after the space, B the rest:
 *   C created A, D deleted A, R renamed A to B (the top folder: its
 *   children follow it, as on Maildir), S subscribed A, U unsubscribed
 *   A, M METADATA entry B of folder A set or removed (A "": the
 *   server's), O events were lost (names too long for a payload).
 * Folder names are ≤ MBOX_NAME_MAX and entries ≤ MDATA_ENTRY_MAX, so a
 * payload fits; a longer one is sent as O.
 */
enum pg_rc pg_ms_notify_user(int64_t user_id, char kind, const char *a,
    const char *b, char **error_r);

struct pg_ms_user_event {
	int64_t		 user_id;
	char		 origin[PG_MS_ORIGIN_MAX + 1];	/* "" none */
	char		 kind;		/* C D R S U M O */
	char		*a, *b;		/* malloc'd, never NULL */
};
/* 0, or -1 when payload is not one (nothing to free then). */
int pg_ms_user_event_parse(const char *payload, struct pg_ms_user_event *ev);
void pg_ms_user_event_free(struct pg_ms_user_event *ev);

/* ---- a folder's state (SELECT, CONDSTORE, QRESYNC) ------------------- */

struct pg_ms_msg {
	uint32_t	 uid;
	uint64_t	 modseq;
	unsigned	 flags;		/* MBOX_F_STORABLE bits */
	char		*keywords;	/* NULL, or names separated by " " */
	uint64_t	 size;
	time_t		 internaldate;
	time_t		 savedate;	/* RFC 8514: came into this folder
					 * (NULL, from tem migrate: internaldate) */
	int64_t		 blob_id;	/* copies share it: RFC 8474 EMAILID */
	bool		 exact;		/* stored as received (literal8) */
};

struct pg_ms_state {
	int64_t		 mailbox_id;
	uint32_t	 uidvalidity;
	uint32_t	 uidnext;
	uint64_t	 highestmodseq;
	uint32_t	 recent_uid;	/* UIDs from it are not claimed
					   (\Recent) yet: EXAMINE shows them */
	struct pg_ms_msg *msgs;		/* by UID, ascending */
	size_t		 n;
	uint32_t	*vanished;	/* pg_ms_changes: expunged UIDs */
	size_t		 n_vanished;
	/* pg_ms_changes: false when the expunge log was pruned above the
	 * MODSEQ asked (vanished_floor > modseq): vanished misses some, so
	 * QRESYNC cannot answer VANISHED exactly and the caller resyncs in
	 * full (every UID: mbox_* as with the embedded store's floor) */
	bool		 vanished_complete;
};

/* STATUS: the folder's counters and sums (state: no message list). */
struct pg_ms_status {
	int64_t		mailbox_id;
	uint32_t	uidvalidity, uidnext;
	uint64_t	highestmodseq;
	uint32_t	messages, unseen, deleted;
	uint64_t	size, deleted_size;
	uint32_t	recent;		/* not claimed yet (\Recent) */
};
int pg_ms_status(int64_t user_id, const char *name, struct pg_ms_status *st,
    char **error_r);

/* Quota use: the sizes and count of all the user's messages (a copy
 * counts again, as in the embedded store). */
int pg_ms_usage(int64_t user_id, uint64_t *bytes_r, uint64_t *messages_r,
    char **error_r);

/* The folder (user, name) with all its messages, read in one snapshot
 * (REPEATABLE READ): the list is exactly the folder at highestmodseq. */
int pg_ms_select(int64_t user_id, const char *name, struct pg_ms_state *st,
    char **error_r);
/* The folder mailbox_id's counters, the messages changed (flags,
 * keywords, or new) since modseq (CHANGEDSINCE) and the UIDs expunged
 * since it (VANISHED), in one snapshot. PG_MS_NONEXISTENT: the folder
 * was deleted (the session says BYE). */
int pg_ms_changes(int64_t mailbox_id, uint64_t modseq,
    struct pg_ms_state *st, char **error_r);
void pg_ms_state_free(struct pg_ms_state *st);

/* ---- bookkeeping (pg_mailstore_keep.c) ------------------------------ */

/*
 * Prunes folder mailbox_id's expunge log: deletes its oldest rows
 * (by MODSEQ) below keep_since, at most limit of them (capped at
 * PG_MS_PRUNE_MAX: one call is a bounded transaction; call again while
 * *n_r == limit), and raises vanished_floor to the highest MODSEQ
 * removed, in one statement. pg_ms_changes since a MODSEQ below the
 * floor then says vanished_complete false. *n_r: rows removed. No
 * NOTIFY (nothing a session sees changes). What to keep is the
 * caller's policy (the embedded store keeps its last 10000 expunges a
 * folder).
 */
#define PG_MS_PRUNE_MAX		10000
int pg_ms_prune_expunged(int64_t mailbox_id, uint64_t keep_since,
    size_t limit, size_t *n_r, char **error_r);

/*
 * The embedded store's policy on top of it: once folder mailbox_id's
 * expunge log holds more than `at` rows, prune it to its newest `keep`
 * MODSEQs (ties at the edge go too; at most PG_MS_PRUNE_MAX rows a call).
 * Below `at`, one index-only look-up and nothing written. *n_r: rows
 * removed.
 */
#define PG_MS_EXPUNGED_KEEP	10000	/* as the embedded store (EXP_KEEP) */
#define PG_MS_EXPUNGED_AT	20000	/* ... once it grows past this */
int pg_ms_trim_expunged(int64_t mailbox_id, size_t keep, size_t at,
    size_t *n_r, char **error_r);

/*
 * \Recent (IMAP4rev1, RFC 3501 2.3.2): the UIDs of folder mailbox_id
 * at or above its recent_uid that are still there (malloc'd,
 * ascending; NULL when none), and recent_uid moved to UIDNEXT, in one
 * transaction under the folder's row lock: across sessions and nodes
 * each message is claimed once, by the first session to SELECT (or
 * poll) after it came. EXAMINE must not claim. PG_MS_NONEXISTENT.
 */
int pg_ms_claim_recent(int64_t mailbox_id, uint32_t **uids_r, size_t *n_r,
    char **error_r);

/* ---- changes -------------------------------------------------------- */

/*
 * APPEND: the message data[0..len) (stored as is) into folder name,
 * with flags (MBOX_F_STORABLE), keywords (NULL or NULL-terminated) and
 * internaldate (0: now). One transaction: the blob, the folder's next
 * UID and a new MODSEQ, the messages row, the NOTIFY. On 0, durable,
 * *uidvalidity_r and *uid_r set (APPENDUID). No folder:
 * PG_MS_NONEXISTENT.
 */
int pg_ms_append(int64_t user_id, const char *name, const char *data,
    size_t len, unsigned flags, const char *const *keywords,
    time_t internaldate, uint32_t *uidvalidity_r, uint32_t *uid_r,
    char **error_r);

/* MULTIAPPEND (RFC 3502): the n items into folder name, all or none,
 * in one transaction, with consecutive UIDs (uids_r[i] for item i).
 * One NOTIFY per message, delivered at the commit (the last carries the
 * final HIGHESTMODSEQ). */
#define PG_MS_APPEND_MAX	1000
struct pg_ms_append_item {
	const char		*data;
	size_t			 len;
	unsigned		 flags;
	const char *const	*keywords;
	time_t			 internaldate;
	bool			 exact;	/* data is a literal8 APPEND as sent
					   (bare LFs too): messages.exact,
					   size the wire size */
	/* The message is data[0..len) then, when file_len > 0, the
	 * file_len bytes of fd from file_off (pread, fd's offset
	 * untouched). Up to 256 KiB in all it goes whole as one
	 * parameter; bigger, it is streamed into the blob by COPY in
	 * 64 KiB pieces, never held whole (read again when a transaction
	 * is retried). crlf: each bare LF stored as CRLF (the wire form). */
	bool			 crlf;
	int			 fd;
	uint64_t		 file_off, file_len;
	uint64_t		 size;	/* out: messages.size (RFC822.SIZE) */
};
/* One item, as pg_ms_append (its own transaction), exact kept. */
int pg_ms_append_one(int64_t user_id, const char *name,
    struct pg_ms_append_item *it, uint32_t *uidvalidity_r,
    uint32_t *uid_r, char **error_r);
int pg_ms_append_many(int64_t user_id, const char *name,
    struct pg_ms_append_item *items, size_t n,
    uint32_t *uidvalidity_r, uint32_t *uids_r, char **error_r);

/*
 * STORE on the n uids of mailbox_id. Messages whose flags/keywords
 * change get one new MODSEQ (*modseq_r; 0 and no transaction committed
 * when none changed). unchangedsince > 0: messages with a MODSEQ above
 * it are left alone and returned in *modified_r (malloc'd UIDs,
 * ascending; NULL when none). Missing UIDs are skipped.
 */
int pg_ms_store(int64_t mailbox_id, const uint32_t *uids, size_t n,
    enum pg_ms_op op, unsigned flags, const char *const *keywords,
    uint64_t unchangedsince, uint64_t *modseq_r, uint32_t **modified_r,
    size_t *n_modified_r, char **error_r);

/*
 * EXPUNGE: uids NULL: every message with \Deleted; else those of the n
 * uids present (with \Deleted when require_deleted). Rows go to
 * `expunged` with the new MODSEQ, their blobs lose a reference (freed
 * at zero). *expunged_r (may be NULL) gets the UIDs removed (malloc'd,
 * ascending).
 */
int pg_ms_expunge(int64_t mailbox_id, const uint32_t *uids, size_t n,
    bool require_deleted, uint32_t **expunged_r, size_t *n_expunged_r,
    char **error_r);

/*
 * COPY (move false) or MOVE the n uids of src to folder dest_name of
 * user_id, all in one transaction, sharing the blobs (no bytes copied:
 * a reference more each, which MOVE's expunge of the source drops).
 * Flags, keywords and INTERNALDATE go along. On 0: dest's UIDVALIDITY
 * and the COPYUID sets (malloc'd, *n_r each, ascending source UIDs);
 * *n_r 0 when none of the uids was there.
 */
int pg_ms_copy(int64_t src_mailbox_id, const uint32_t *uids, size_t n,
    int64_t user_id, const char *dest_name, bool move,
    uint32_t *uidvalidity_r, uint32_t **src_uids_r, uint32_t **dst_uids_r,
    size_t *n_r, char **error_r);

/* Message uid's bytes from offset, at most len of them (0: to the end),
 * malloc'd in *data_r (NUL-terminated past *len_r). PG_MS_NONEXISTENT:
 * no such message (expunged). */
int pg_ms_read(int64_t mailbox_id, uint32_t uid, uint64_t offset,
    uint64_t len, char **data_r, size_t *len_r, char **error_r);

#endif
