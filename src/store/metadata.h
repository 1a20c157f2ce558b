/*
 * metadata - per-user annotations of mailboxes and of the server (IMAP
 * METADATA and METADATA-SERVER, RFC 5464), stored in
 * <Maildir++ root>/imap-metadata.sqlite (WAL). Not a tem-* file: unlike
 * the index it cannot be rebuilt from the messages, so it is user data.
 *
 * Keys: (mailbox, entry). mailbox is the store's UTF-8 name ("INBOX",
 * "a/b"), "" for the server; entry is "/private/..." or "/shared/...",
 * kept in lower case (entry names compare case-insensitively). With
 * every mailbox its owner's, /shared entries are seen by that user only
 * (until folders are shared with others); both kinds count toward the
 * per-user limit.
 *
 * Limits: a value is at most MDATA_VALUE_MAX octets, an entry name at
 * most MDATA_ENTRY_MAX octets in MDATA_DEPTH_MAX levels; a user has at
 * most MDATA_ENTRIES_MAX entries holding MDATA_OCTETS_MAX octets of
 * values in all, which also bounds what one GET returns (each entry at
 * most once).
 *
 * With storage = postgresql the entries are rows of mailbox_metadata
 * (metadata_pg.c) instead of the file.
 *
 * Threads: BLOCKING (SQLite on disk): call from workers. A handle is used
 * by one thread at a time; several handles on one file are fine.
 */
#ifndef TEM_METADATA_H
#define TEM_METADATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MDATA_VALUE_MAX		(64 * 1024)	/* octets of one value */
#define MDATA_ENTRY_MAX		1024		/* octets of an entry name */
#define MDATA_DEPTH_MAX		32		/* levels of an entry name */
#define MDATA_ENTRIES_MAX	1000		/* entries per user */
#define MDATA_OCTETS_MAX	(1024 * 1024)	/* value octets per user */

enum mdata_err {
	MDATA_ERR_TEMP = -1,		/* disk or database trouble */
	MDATA_ERR_TOOMANY = -2,		/* MDATA_ENTRIES_MAX or _OCTETS_MAX */
	MDATA_ERR_UNAVAILABLE = -3,	/* PostgreSQL away: try later */
};

struct mdata;

struct mdata_entry {
	char	*entry;		/* lower case */
	char	*value;		/* len octets (+ a NUL); may hold NULs */
	size_t	 len;
};

/* Opens root's metadata (creating the file only when create). With
 * !create and no file, *m_r is NULL and 0 is returned (nothing stored). */
int mdata_open(const char *root, bool create, struct mdata **m_r,
    char **error_r);
void mdata_close(struct mdata **m);

/*
 * The entries of mailbox named in want[0..n_want), and those below them
 * to depth (0: none, 1: children, -1: every descendant): each stored
 * entry at most once, ascending by name, in *list_r (*n_r of them).
 */
int mdata_get(struct mdata *m, const char *mailbox, const char *const *want,
    size_t n_want, int depth, struct mdata_entry **list_r, size_t *n_r,
    char **error_r);
void mdata_entries_free(struct mdata_entry *list, size_t n);

/* One change of a SETMETADATA: value NULL removes the entry. */
struct mdata_change {
	const char	*entry;		/* valid (imap_metadata_entry_check) */
	const char	*value;
	size_t		 len;		/* <= MDATA_VALUE_MAX */
};

/* All of changes or none: MDATA_ERR_TOOMANY when the user would then
 * hold more than MDATA_ENTRIES_MAX entries. */
int mdata_set(struct mdata *m, const char *mailbox,
    const struct mdata_change *changes, size_t n, char **error_r);

/* Folder changes (the store's DELETE and RENAME): a deleted mailbox's
 * entries go (not its children's); a renamed one's, and its children's,
 * follow it. Nothing happens when the user has no metadata. */
int mdata_mailbox_deleted(const char *root, const char *mailbox,
    char **error_r);
int mdata_mailbox_renamed(const char *root, const char *from, const char *to,
    char **error_r);

/*
 * The same by the store's user, on the store's backend (mbox_on_pg()):
 * the file in the user's Maildir root, or its rows in PostgreSQL's
 * mailbox_metadata (metadata_pg.c), with the same answers and limits.
 * mdata_get, mdata_set and mdata_close take either handle.
 */
struct mbox_user;
int mdata_open_user(const struct mbox_user *u, bool create,
    struct mdata **m_r, char **error_r);
int mdata_user_mailbox_deleted(const struct mbox_user *u,
    const char *mailbox, char **error_r);
int mdata_user_mailbox_renamed(const struct mbox_user *u, const char *from,
    const char *to, char **error_r);

#endif
