/*
 * accounts_fs - files and directories made by the accounts commands.
 *
 * Errors: -1 with a malloc'd one-line message in *error_r.
 */
#ifndef TEM_ACCOUNTS_FS_H
#define TEM_ACCOUNTS_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The special folders made with each new user, in subscription order. */
extern const char *const accounts_special_folders[];
extern const size_t accounts_n_special_folders;

/* Who owns what we create: run_as when we run as root and it exists. */
struct accounts_owner {
	bool	do_chown;
	uid_t	uid;
	gid_t	gid;
};

/* Looks run_as up (NULL or "": no chown; unknown user: no chown). */
void accounts_owner_init(struct accounts_owner *o, const char *run_as);
/* Chowns path to the owner (best effort, no-op without one). */
void accounts_fs_own(const struct accounts_owner *o, const char *path);
/* mkdir -p: each missing component made with mode and chowned. */
int accounts_fs_make_dirs(const struct accounts_owner *o, const char *path,
    mode_t mode, char **error_r);
/* Creates path empty with mode 0600 (chowned) unless it exists. */
int accounts_fs_precreate(const struct accounts_owner *o, const char *path,
    char **error_r);
/* Replaces dir/name with content: temp file, fsync, rename, fsync dir.
 * Readers see the old or the new file, never a part. */
int accounts_fs_write_atomic(const struct accounts_owner *o, const char *dir,
    const char *name, const char *content, char **error_r);
/*
 * Makes data_dir/mail/DOMAIN/LOCALPART a Maildir++ (cur new tmp), with the
 * special folders (each with cur new tmp and a `maildirfolder` file) and a
 * Dovecot-style `subscriptions` file naming them. Whatever exists already
 * is kept, including a subscriptions file. New directories are 0700.
 */
int accounts_fs_create_mailbox(const struct accounts_owner *o,
    const char *data_dir, const char *domain, const char *localpart,
    char **error_r);

#endif
