/*
 * mailbox_acl_int - what the two ACL backends share (mailbox_acl.c: the
 * SQLite file and the dispatch; mailbox_acl_pg.c: PostgreSQL): reading
 * a stored rights string, merging a user's rows into effective rights,
 * and the PostgreSQL side of the mailbox_acl.h calls. Not for callers
 * outside src/store.
 */
#ifndef TEM_MAILBOX_ACL_INT_H
#define TEM_MAILBOX_ACL_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "store/mailbox_acl.h"

/* The stored letters as bits; a damaged value grants nothing. */
unsigned mbox_acl_stored(const char *s);
/* The letters to store (no c/d aliases). out: MBOX_ACL_STR_MAX. */
void mbox_acl_format_stored(unsigned rights, char *out);

/* A user's rows gathered: RFC 4314 2's effective rights are the
 * positive ones minus the negative ones. */
struct mbox_acl_posneg {
	unsigned	 pos, neg;
};
void mbox_acl_posneg_add(struct mbox_acl_posneg *pn, const char *ident,
    const char *rights);

/* mbox_acl_shared_with's rows (owner, folder, ident, rights), ordered by
 * owner then folder, merged into one share per folder. */
struct mbox_acl_shares {
	struct mbox_acl_share	*s;
	struct mbox_acl_posneg	*pn;	/* beside s, while reading */
	size_t			 n, cap, cap_pn;
};
/* Adds one row; false once MBOX_ACL_SHARES_MAX folders are full (stop). */
bool mbox_acl_shares_row(struct mbox_acl_shares *l, const char *owner,
    const char *folder, const char *ident, const char *rights);
/* Hands the shares to the caller (r == 0) or frees them (r < 0). */
void mbox_acl_shares_end(struct mbox_acl_shares *l, int r,
    struct mbox_acl_share **list_r, size_t *n_r);

/* ---- PostgreSQL (mailbox_acl_pg.c; BLOCKING, pg_conn) ------------------ */

/* The same contracts as mailbox_acl.h's without data_dir; the folder is
 * the owner's mailboxes row, so a set on a folder that does not exist
 * is MBOX_ERR_NONEXISTENT, and renames need nothing (rows follow the
 * row's id). */
int mbox_acl_pg_get(const char *owner, const char *folder,
    struct mbox_acl_entry **list_r, size_t *n_r, char **error_r);
int mbox_acl_pg_set(const char *owner, const char *folder,
    const char *ident, unsigned rights, char **error_r);
int mbox_acl_pg_rights(const char *owner, const char *folder,
    const char *user, unsigned *rights_r, char **error_r);
int mbox_acl_pg_shared_with(const char *user, struct mbox_acl_share **list_r,
    size_t *n_r, char **error_r);
int mbox_acl_pg_drop(const char *owner, const char *folder, char **error_r);

#endif
