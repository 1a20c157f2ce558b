/*
 * accounts_int - what the embedded accounts backend's files share
 * (accounts.c: storage, transactions, domains, users; accounts_alias.c:
 * aliases). Not for callers outside src/auth/accounts*.c.
 *
 * Trust: as accounts.c.
 */
#ifndef TEM_ACCOUNTS_INT_H
#define TEM_ACCOUNTS_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/accounts.h"
#include "auth/accounts_fs.h"

struct accounts {
	sqlite3	*db;
	char	*data_dir;
	int	 lock_fd;
	struct accounts_owner owner;	/* who gets what we create */
	uint64_t serial;		/* meta.serial last read */
	bool	 changed;		/* a change was committed */
	bool	 pg;			/* storage = postgresql: the calls
					   go to accounts_pg.c, db is NULL */
};

/* The SQLite error of a, prefixed with what; malloc'd. */
char *accounts_db_error(struct accounts *a, const char *what);
/* Prepares sql and binds n text arguments (NULL binds SQL NULL); NULL
 * with *error_r. */
sqlite3_stmt *accounts_db_prepare(struct accounts *a, const char *sql,
    char **error_r, int n, ...);
/* Steps st to its end and finalizes it: 0, or -1 with *error_r. */
int accounts_db_done(struct accounts *a, sqlite3_stmt *st, char **error_r);
/* Collects the first column (or "c0 c1" when two) of every row and
 * finalizes st: 0, or -1 with *error_r. */
int accounts_db_list(struct accounts *a, sqlite3_stmt *st,
    struct accounts_list *l, char **error_r);

/* flock + BEGIN IMMEDIATE; commit (bumping the serial, rewriting
 * accounts.serial) or roll back. 0, or -1 with *error_r. */
int accounts_tx_begin(struct accounts *a, char **error_r);
int accounts_tx_commit(struct accounts *a, char **error_r);
void accounts_tx_rollback(struct accounts *a);

/* 1 when domain is ours, 0 when not, -1 with *error_r. */
int accounts_domain_lookup(struct accounts *a, const char *domain,
    char **error_r);
/* A local address parsed into "lp@dom" (local part folded); NULL with
 * *error_r. */
char *accounts_local_address(const char *address, char **error_r);

/* An alias's comma list old (may be NULL) with targets appended, each
 * canonical, duplicates dropped (ASCII case-insensitively), at most
 * ACCOUNTS_ALIAS_TARGETS_MAX; NULL with *error_r. (accounts_alias.c) */
char *accounts_alias_merge(struct accounts *a, const char *old,
    char *const *targets, size_t n, char **error_r);

/*
 * The PostgreSQL backend (accounts_pg.c): the same operations on
 * canonical arguments (parsed, folded and hashed by the callers in
 * accounts*.c), the same messages. open checks the schema version.
 * user_list: addr (one user), dom (a domain), or neither (all).
 */
int accounts_pg_open(struct accounts *a, const char *dsn, char **error_r);
int accounts_pg_domain_lookup(struct accounts *a, const char *d,
    char **error_r);
int accounts_pg_domain_add(struct accounts *a, const char *d,
    char **error_r);
int accounts_pg_domain_del(struct accounts *a, const char *d,
    char **error_r);
int accounts_pg_domain_list(struct accounts *a, struct accounts_list *l,
    char **error_r);
int accounts_pg_user_add(struct accounts *a, const char *lp,
    const char *dom, const char *hash, char **error_r);
int accounts_pg_user_del(struct accounts *a, const char *addr,
    char **error_r);
int accounts_pg_user_passwd(struct accounts *a, const char *addr,
    const char *hash, char **error_r);
int accounts_pg_user_list(struct accounts *a, const char *addr,
    const char *dom, struct accounts_list *l, char **error_r);
int accounts_pg_quota_change(struct accounts *a, const char *addr,
    bool set, uint64_t storage, uint64_t messages, char **error_r);
int accounts_pg_quota_get(struct accounts *a, const char *addr,
    uint64_t *storage_r, uint64_t *messages_r, char **error_r);
int accounts_pg_alias_add(struct accounts *a, const char *lp,
    const char *dom, char *const *targets, size_t n, char **error_r);
int accounts_pg_alias_del(struct accounts *a, const char *addr,
    char **error_r);
int accounts_pg_alias_list(struct accounts *a, const char *addr,
    struct accounts_list *l, char **error_r);

#endif
