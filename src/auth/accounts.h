/*
 * accounts - domains, users and aliases: the embedded (SQLite) backend and
 * its administration operations; with storage = postgresql the same
 * operations on the cluster's tables (accounts_open_conf, accounts_pg.c).
 *
 * Storage is data_dir/accounts.db (WAL, synchronous=FULL, busy_timeout
 * 5 s). Writers (the `tem domain|user|alias` commands) also take an
 * exclusive flock on data_dir/accounts.lock around each change, and after
 * each successful change rewrite data_dir/accounts.serial (atomically) with
 * the new value of an increasing change counter kept in the database. The
 * admin commands then ask the running server to load the snapshot of
 * that serial (accounts_change_serial(), server/control.h); the server
 * also polls the file with accounts_serial_read() and reloads its
 * in-memory snapshot (resolve.h) when it differs from the snapshot's.
 *
 * Case rules: domains are stored lowercase; an all-ASCII local part is
 * stored lowercase; a UTF-8 local part is stored exactly as given. Every
 * lookup compares ASCII letters case-insensitively (SQLite NOCASE), so
 * "Jürgen@X.test" and "jürgen@x.test" are the same account.
 *
 * Errors: functions returning int give 0 on success, or -1 with a
 * malloc'd one-line message in *error_r (no "tem:" prefix, no newline),
 * e.g. "domain b.test does not exist".
 */
#ifndef TEM_ACCOUNTS_H
#define TEM_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/accounts_addr.h"	/* address syntax and case rules */

/* Targets one alias may list; keeps a single row and its expansion small. */
#define ACCOUNTS_ALIAS_TARGETS_MAX 1000

struct accounts;

/* A list of lines, sorted; free with accounts_list_free. */
struct accounts_list {
	size_t	  n;
	char	**items;
};

/*
 * Opens data_dir/accounts.db for administration, creating data_dir (0750,
 * with parents), the database and its schema when missing. When running
 * as root and run_as names an existing user, every file and directory this
 * handle creates is chowned to that user (run_as NULL or "": never).
 */
int accounts_open(const char *data_dir, const char *run_as,
    struct accounts **a_r, char **error_r);
/*
 * Opens the accounts the config c names: storage = embedded is
 * accounts_open(c->data_dir, c->run_as); storage = postgresql works on
 * the cluster tables at c->postgresql_dsn (accounts_pg.c; the schema
 * must be current: `tem db init|upgrade`), on this thread's pg_conn
 * connection (blocking: command line or a worker thread). Every
 * operation below then behaves as on the embedded backend, with the same
 * messages, except: user add makes no Maildir (the mail store is in the
 * database), user del deletes the user's mail with it (*mailbox_r NULL),
 * and a database failure gives "database unavailable: ..." or "database
 * error: ...". accounts_close closes this thread's connection.
 */
struct conf;
int accounts_open_conf(const struct conf *c, struct accounts **a_r,
    char **error_r);
void accounts_close(struct accounts **a);

/*
 * Domains. add fails if it exists; del fails if it does not, or while any
 * user or alias address is in it (the message counts them).
 */
int accounts_domain_add(struct accounts *a, const char *domain,
    char **error_r);
int accounts_domain_del(struct accounts *a, const char *domain,
    char **error_r);
int accounts_domain_exists(struct accounts *a, const char *domain,
    char **error_r);	/* 1 yes, 0 no, -1 error */
int accounts_domain_list(struct accounts *a, struct accounts_list *list_r,
    char **error_r);

/*
 * Users. add needs an existing domain and a non-empty password; it stores
 * a yescrypt hash and creates the Maildir++ (mail/DOMAIN/LOCALPART with
 * cur new tmp, the special folders and a Dovecot-style `subscriptions`
 * file), keeping whatever is already there. del removes the account only:
 * the Maildir stays; *mailbox_r (may be NULL) gets its malloc'd path.
 * filter for list: NULL (all), a DOMAIN (must exist) or one ADDRESS (must
 * exist).
 */
int accounts_user_add(struct accounts *a, const char *address,
    const char *password, char **error_r);
int accounts_user_del(struct accounts *a, const char *address,
    char **mailbox_r, char **error_r);
int accounts_user_passwd(struct accounts *a, const char *address,
    const char *password, char **error_r);
int accounts_user_list(struct accounts *a, const char *filter,
    struct accounts_list *list_r, char **error_r);

/*
 * Quotas (RFC 9208 STORAGE in octets, MESSAGE in messages; 0: no limit)
 * of user ADDRESS (which must exist). set: stores them; unset: removes
 * the user's own quota so config default_quota applies again. get: 1 with
 * the values when the user has its own, 0 when not, -1 on error.
 */
int accounts_user_quota_set(struct accounts *a, const char *address,
    uint64_t storage, uint64_t messages, char **error_r);
int accounts_user_quota_unset(struct accounts *a, const char *address,
    char **error_r);
int accounts_user_quota_get(struct accounts *a, const char *address,
    uint64_t *storage_r, uint64_t *messages_r, char **error_r);

/*
 * Aliases. The address must be in a local domain; targets are any valid
 * addresses, local or remote (a local target need not exist yet). Adding
 * to an existing alias appends the new targets (duplicates dropped). list
 * prints "address target1,target2"; filter NULL for all or one ADDRESS
 * (must exist).
 */
int accounts_alias_add(struct accounts *a, const char *address,
    char *const *targets, size_t n_targets, char **error_r);
int accounts_alias_del(struct accounts *a, const char *address,
    char **error_r);
int accounts_alias_list(struct accounts *a, const char *filter,
    struct accounts_list *list_r, char **error_r);

void accounts_list_free(struct accounts_list *l);

/* The serial of the last change committed through a (0: none, or it
 * could not be read back): what the running server must reach before
 * the change is visible (server/control.h). */
uint64_t accounts_change_serial(const struct accounts *a);

/* The change counter in data_dir/accounts.serial; 0 if missing or bad.
 * Cheap: one small read, no database access. */
uint64_t accounts_serial_read(const char *data_dir);

#endif
