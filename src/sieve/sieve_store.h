/*
 * sieve_store - each user's Sieve scripts on disk, shared by `tem sieve`,
 * the ManageSieve server and delivery. The only file of src/sieve/ that
 * touches the disk: every call here blocks (run it on a worker thread or
 * in a CLI command, never on an event loop).
 *
 * Layout: data_dir/sieve/DOMAIN/LOCALPART/ (the account's address, as the
 * Maildir under data_dir/mail/), 0700, holding NAME.sieve per script and
 * `active`, a file naming the active script (absent: none active).
 * Writes are atomic (tmp file, fsync, rename, directory fsync), so a
 * reader sees the old or the new script, never half of one.
 *
 * Limits: SIEVE_STORE_NAME_MAX octets of UTF-8 per name (no '/', no
 * control characters, not "." or "..", RFC 5804 1.6), at most
 * SIEVE_STORE_SCRIPTS_MAX scripts and SIEVE_STORE_SIZE_MAX octets each.
 */
#ifndef TEM_SIEVE_STORE_H
#define TEM_SIEVE_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "sieve/sieve.h"

#define SIEVE_STORE_NAME_MAX	128
#define SIEVE_STORE_SCRIPTS_MAX	32
#define SIEVE_STORE_SIZE_MAX	(1024 * 1024)

bool sieve_store_name_ok(const char *name);

/*
 * Chooses the backend of this file and of sieve_state.h for the process,
 * from c->storage: embedded (the default: files under data_dir) or
 * postgresql (the sieve_* tables at c->postgresql_dsn, sieve_store_pg.c;
 * the data_dir arguments are then unused). Call it once before any
 * thread uses the store. sieve_store_active_path has no PostgreSQL side
 * (NULL, ENOTSUP): a caller reads the text with sieve_store_active.
 */
struct conf;
void sieve_store_setup(const struct conf *c);
bool sieve_store_on_pg(void);

/*
 * The active script of user (its text, malloc'd, and *name_r its name,
 * malloc'd, when name_r is not NULL), or NULL with errno ENOENT when
 * none is active, else another errno.
 */
char *sieve_store_active(const char *data_dir, const char *user,
    size_t *len, char **name_r);

/* The path of user's active script (data_dir/sieve/DOMAIN/LOCALPART/
 * NAME.sieve, malloc'd), or NULL with errno ENOENT when none is active
 * (EINVAL: not an address of ours). Delivery reads and compiles it
 * through its own cache keyed by the file's identity. */
char *sieve_store_active_path(const char *data_dir, const char *user);

/* The text of script name, malloc'd, or NULL with errno (ENOENT). */
char *sieve_store_get(const char *data_dir, const char *user,
    const char *name, size_t *len);

/*
 * Stores script name for user after compiling it: 0; -1 with errno
 * EINVAL and *err filled when it does not compile, EDQUOT when over the
 * count or size limit, ENAMETOOLONG/EINVAL for a bad name, EILSEQ
 * (PostgreSQL only) when it is not UTF-8 or holds a NUL, else the
 * disk's (or database's, see sieve_store_pg.h) errno.
 */
int sieve_store_put(const char *data_dir, const char *user,
    const char *name, const char *text, size_t len,
    struct sieve_error *err);

/* Names (malloc'd array of malloc'd strings, sorted) and the active one
 * (malloc'd or NULL). 0 or -1 with errno. */
int sieve_store_list(const char *data_dir, const char *user,
    char ***names, size_t *n, char **active);
void sieve_store_names_free(char ***names, size_t n);

/* Makes name active (NULL or "": none). -1 ENOENT: no such script. */
int sieve_store_activate(const char *data_dir, const char *user,
    const char *name);
/* -1 with EBUSY when name is active (RFC 5804 DELETESCRIPT), ENOENT. */
int sieve_store_delete(const char *data_dir, const char *user,
    const char *name);
/* -1 with EEXIST when new exists, ENOENT when old does not; the active
 * mark follows the script. */
int sieve_store_rename(const char *data_dir, const char *user,
    const char *oldname, const char *newname);

#endif
