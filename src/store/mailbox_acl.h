/*
 * mailbox_acl - access control lists on folders (RFC 4314 rights), kept
 * durably for the whole server in data_dir/acl.sqlite.
 *
 * Trust: runs with the server's privileges. The owner is always an
 * authenticated user's canonical address (never client text); folder
 * names were validated by the store's name rules; identifiers are
 * checked by the caller (an account's address or "anyone"). Nothing here
 * builds a path from them: they are only SQLite values.
 *
 * ON DISK: one SQLite database (WAL, synchronous=FULL: a SETACL is on
 * disk before its OK), table acl(owner, folder, ident, rights) with the
 * rights as the canonical letter string ("lrs..."). It is not a tem-*
 * file: unlike the index it cannot be rebuilt from the Maildirs. One
 * file rather than one per owner, because LIST must find every folder
 * shared WITH a user (a look-up by identifier across owners).
 *
 * The owner of a folder has every right and is never stored; a row with
 * no rights is deleted. Negative rights (RFC 4314 2) are rows whose
 * identifier is "-" + an identifier ("-anyone", "-user@domain"): a
 * user's effective rights are those of its entry and anyone's minus
 * those of "-" + either.
 *
 * With storage = postgresql (mbox_on_pg()) the same calls work on the
 * database's acl(mailbox_id, ident, rights) rows instead
 * (mailbox_acl_pg.c; data_dir unused): the same answers, but rows hang
 * off the folder's id, so they follow a RENAME by themselves and go
 * with the folder or the account, and a right on a folder that does not
 * exist is MBOX_ERR_NONEXISTENT. mbox_acl_serial() then changes at
 * every call: another node may have changed any ACL, so sessions read
 * their rights again at each check.
 *
 * THREADS: functions marked BLOCKING run SQLite: call them from a worker.
 * The database handle is process-wide, opened at first use, serialized
 * by one mutex; mbox_acl_shutdown() closes it.
 */
#ifndef TEM_MAILBOX_ACL_H
#define TEM_MAILBOX_ACL_H

#include <stddef.h>
#include <stdint.h>

/* Rights (RFC 4314 2.1), one bit each. */
#define MBOX_ACL_LOOKUP		0x001u	/* l: LIST, SUBSCRIBE */
#define MBOX_ACL_READ		0x002u	/* r: SELECT, FETCH, SEARCH, COPY */
#define MBOX_ACL_SEEN		0x004u	/* s: keep \Seen */
#define MBOX_ACL_WRITE		0x008u	/* w: other flags and keywords */
#define MBOX_ACL_INSERT		0x010u	/* i: APPEND, COPY into */
#define MBOX_ACL_POST		0x020u	/* p: send to the folder (no effect) */
#define MBOX_ACL_CREATE		0x040u	/* k: CREATE below, RENAME into */
#define MBOX_ACL_DELETE		0x080u	/* x: DELETE, RENAME away */
#define MBOX_ACL_DELMSG		0x100u	/* t: \Deleted */
#define MBOX_ACL_EXPUNGE	0x200u	/* e: EXPUNGE */
#define MBOX_ACL_ADMIN		0x400u	/* a: SETACL, GETACL ... */
#define MBOX_ACL_ALL		0x7ffu

/* "lrswipkxtea" plus "cd" plus NUL. */
#define MBOX_ACL_STR_MAX	14

/* Limits on what a client can make the database hold. */
#define MBOX_ACL_IDENTS_MAX	100	/* identifiers per folder */
#define MBOX_ACL_SHARES_MAX	1000	/* folders LIST shows as shared */
#define MBOX_ACL_IDENT_MAX	255	/* octets in an identifier */

/* The identifier meaning every user. */
#define MBOX_ACL_ANYONE		"anyone"
/* The first character of a negative-rights identifier. */
#define MBOX_ACL_NEGATIVE	'-'

/*
 * Parses an RFC 4314 rights string (no "+"/"-" prefix) into bits. The
 * obsolete "c" means "kx" and "d" means "te" (RFC 4314 2.1.1). Returns
 * 0, or -1 on a letter that is no right (*bad_r gets it).
 */
int mbox_acl_parse(const char *s, unsigned *rights_r, char *bad_r);
/* The rights as letters in RFC order, with "c" when k or x is held and
 * "d" when t or e is (RFC 2086 clients read those). out: MBOX_ACL_STR_MAX. */
void mbox_acl_format(unsigned rights, char *out);

/* ---- the database (BLOCKING) ------------------------------------------ */

struct mbox_acl_entry {
	char		*ident;
	unsigned	 rights;
};

/* The stored entries of owner's folder (the owner not among them),
 * sorted by identifier; free with mbox_acl_entries_free. */
int mbox_acl_get(const char *data_dir, const char *owner, const char *folder,
    struct mbox_acl_entry **list_r, size_t *n_r, char **error_r);
void mbox_acl_entries_free(struct mbox_acl_entry *list, size_t n);

/* Sets ident's rights on owner's folder (0 removes the entry). A new
 * identifier past MBOX_ACL_IDENTS_MAX is MBOX_ERR_LIMIT. */
int mbox_acl_set(const char *data_dir, const char *owner, const char *folder,
    const char *ident, unsigned rights, char **error_r);

/* The rights user holds on owner's folder: its own entry's plus
 * "anyone"'s, minus "-user"'s and "-anyone"'s (0 if none). The owner is
 * not special here. */
int mbox_acl_rights(const char *data_dir, const char *owner,
    const char *folder, const char *user, unsigned *rights_r,
    char **error_r);

struct mbox_acl_share {
	char		*owner;
	char		*folder;
	unsigned	 rights;	/* user's and anyone's, together */
};

/* Every folder of another owner on which user (or anyone) holds a right
 * that no negative right takes away, sorted by owner then folder, at
 * most MBOX_ACL_SHARES_MAX. */
int mbox_acl_shared_with(const char *data_dir, const char *user,
    struct mbox_acl_share **list_r, size_t *n_r, char **error_r);
void mbox_acl_shares_free(struct mbox_acl_share *list, size_t n);

/* The folder was renamed: its entries and its children's follow. */
int mbox_acl_rename(const char *data_dir, const char *owner,
    const char *oldname, const char *newname, char **error_r);
/* The folder was deleted (or created anew): its entries go. */
int mbox_acl_drop(const char *data_dir, const char *owner, const char *folder,
    char **error_r);

/* Bumped by every change: a session compares it with what it saw to
 * know when to read its rights again. In memory, never blocks. On
 * PostgreSQL a new value at each call (see above). */
uint64_t mbox_acl_serial(void);

/* Closes the database (at exit, when no worker uses it any more). */
void mbox_acl_shutdown(void);

#endif
