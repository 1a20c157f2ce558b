/*
 * imap_acl - folders shared between users (RFC 4314 ACL, RFC 2342 other
 * users' namespace, RFC 8440 LIST-MYRIGHTS): how a name a client sends
 * becomes a folder of some user's store, and which rights this session
 * holds on it. Internal to src/imap/.
 *
 * THE NAMESPACE: another user's folder F shared with this user is named
 * "shared/<owner address>/F" (NAMESPACE: (("shared/" "/"))). Addresses
 * never hold "/" (auth/accounts_addr.c), so the owner is one level.
 * Names starting with "shared/" (exact case) never reach the user's own
 * store, nor does the name "shared" itself: a personal folder of that
 * name is hidden and cannot be created.
 *
 * Trust: names come from an authenticated, untrusted client. The owner
 * part is looked up in the accounts snapshot and only the canonical
 * address it returns builds the store path (data_dir/mail/DOMAIN/LOCAL,
 * as at login); the folder part is validated by the store like any name.
 * A folder the user holds no right on answers as if it did not exist.
 *
 * Everything here that reads the ACL database is BLOCKING (worker).
 */
#ifndef TEM_IMAP_ACL_H
#define TEM_IMAP_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_client.h"

struct mbox_folder_info;

/* The other users' namespace prefix, without its delimiter. */
#define IMAP_ACL_NS		"shared"

/* A folder as resolved for this session. */
struct imap_acl_ref {
	struct mbox_user	*u;	/* the owner's store */
	bool			 own_u;	/* u is a reference of ours */
	char			*owner;	/* canonical address */
	char			*folder;	/* name in the owner's store */
	unsigned		 rights;	/* MBOX_ACL_*; all: owner */
	bool			 shared;	/* another user's folder */
	uint64_t		 serial;	/* mbox_acl_serial() before the
						   rights were read */
};

/* True for "shared" and "shared/...". */
bool imap_acl_in_ns(const char *name);

/*
 * BLOCKING. Resolves name (decoded UTF-8) and checks that every right of
 * need is held. 0 with *ref filled (free with imap_acl_ref_free), or -1
 * after setting the tagged NO: [NONEXISTENT] (or [TRYCREATE] when
 * trycreate) when the folder is unknown or the user may not even see it
 * (no "l" and not all of need), [NOPERM] when seen but not allowed,
 * [SERVERBUG] when the ACL database fails.
 */
int imap_acl_open(struct imap_cmd *cmd, const char *name, unsigned need,
    bool trycreate, struct imap_acl_ref *ref);
void imap_acl_ref_free(struct imap_acl_ref *ref);

/* True when name is the selected folder of another user (DELETE
 * deselects it first, as for the user's own). */
bool imap_acl_is_selected(struct imap_client *c, const char *name);
/* After SELECT/EXAMINE opened ref's folder (ref NULL: failed or own). */
void imap_acl_select(struct imap_client *c, const struct imap_acl_ref *ref);
/* BLOCKING. This user's rights on the selected folder, read again after
 * any ACL change (MBOX_ACL_ALL for the user's own folders). */
unsigned imap_acl_selected_rights(struct imap_client *c);
/* BLOCKING. True when the selected folder grants every right of need;
 * else sets NO [NOPERM]. */
bool imap_acl_need(struct imap_cmd *cmd, unsigned need);
/* BLOCKING. Run before every command that needs a selected folder:
 * false (with NO [NOPERM]) once "r" was taken away, except for CLOSE and
 * UNSELECT, which always may leave. */
bool imap_acl_gate(struct imap_cmd *cmd);
/* The rights STORE needs for flags (MBOX_F_*) plus n keywords: "s" for
 * \Seen, "t" for \Deleted, "w" for the others. */
unsigned imap_acl_flag_rights(unsigned flags, unsigned n_keywords);
/* The flags of flags that rights allow setting (APPEND, RFC 4314 4). */
unsigned imap_acl_allowed_flags(unsigned rights, unsigned flags);

/*
 * BLOCKING. LIST's folder list for c: the store's list (*list, *n, from
 * mbox_list) without its names in the shared namespace, plus the folders
 * shared with this user (with "l") as "shared/<owner>/<folder>" and their
 * \Noselect parents, subscription marks kept, sorted as the store sorts.
 * The ACL database failing leaves the personal list alone.
 */
void imap_acl_list_merge(struct imap_client *c, struct mbox_folder_info **list,
    size_t *n);
/* BLOCKING. "* MYRIGHTS name rights" for LIST RETURN (MYRIGHTS), when
 * the name is a selectable folder the user may see. */
void imap_acl_list_myrights(struct imap_client *c, struct buf *out,
    const char *name, unsigned flags);

/* BLOCKING. CREATE (with "k" on the parent, which must be a shared
 * folder; the new folder gets the parent's ACL, as Dovecot does), DELETE
 * (with "x") and RENAME ("x" on the folder, "k" on the new parent, both
 * of one owner; the ACL follows) of names in the shared namespace. Set
 * the tagged reply. */
void imap_acl_create_shared(struct imap_cmd *cmd, const char *name,
    unsigned special_use);
void imap_acl_delete_shared(struct imap_cmd *cmd, const char *name);
void imap_acl_rename_shared(struct imap_cmd *cmd, const char *from,
    const char *to);

/* BLOCKING. The owner renamed or deleted (or created) a folder of its
 * own: its ACL follows or goes. Failures are logged. */
void imap_acl_renamed(struct imap_cmd *cmd, const char *oldname,
    const char *newname);
void imap_acl_dropped(struct imap_cmd *cmd, const char *name);

/*
 * BLOCKING (imap_acl_copy.c). COPY or MOVE the n seqs of the selected
 * folder into to's folder, as mbox_copy does (same results, same
 * errors); across two users' stores message by message, keeping only
 * the flags to's rights allow.
 */
int imap_acl_copy(struct imap_cmd *cmd, const uint32_t *seqs, size_t n,
    const struct imap_acl_ref *to, bool move, uint32_t *uidvalidity_r,
    uint32_t **src_r, uint32_t **dst_r, size_t *n_r, char **err_r);

/* cmd-acl.c: SETACL DELETEACL GETACL LISTRIGHTS MYRIGHTS */
imap_cmd_fn cmd_setacl, cmd_deleteacl, cmd_getacl, cmd_listrights,
    cmd_myrights;

#endif
