/*
 * sieve_store_pg - the PostgreSQL side of sieve_store.h and sieve_state.h
 * (storage = postgresql), on the sieve_scripts, sieve_duplicates and
 * sieve_vacation tables of pg/pg_schema.c. sieve_store.c and
 * sieve_state.c hand over here once sieve_store_setup() chose
 * PostgreSQL; every function has the contract of its namesake there
 * (same arguments bar data_dir, same return values and errno), plus:
 * errno EAGAIN when the database is unavailable, EIO on another database
 * error (both logged as one line), EINVAL when user is not an account,
 * and put refuses a text that is not UTF-8 or holds a NUL (EILSEQ: a
 * text column cannot keep it; the embedded store can).
 * Blocking (pg_conn.h): workers and CLI commands only.
 */
#ifndef TEM_SIEVE_STORE_PG_H
#define TEM_SIEVE_STORE_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

char *sieve_store_pg_active(const char *user, size_t *len, char **name_r);
char *sieve_store_pg_get(const char *user, const char *name, size_t *len);
/* text already compiled and within the limits (sieve_store_put) */
int sieve_store_pg_put(const char *user, const char *name, const char *text,
    size_t len);
int sieve_store_pg_list(const char *user, char ***names, size_t *n,
    char **active);
int sieve_store_pg_activate(const char *user, const char *name);
int sieve_store_pg_delete(const char *user, const char *name);
int sieve_store_pg_rename(const char *user, const char *oldname,
    const char *newname);

/*
 * Sieve state: user's id in the users table (malloc'd decimal), or NULL
 * with errno. Keys (handle, id or address) are checked by sieve_state.c.
 * Rows expired (duplicates) or older than SIEVE_STATE_VACATION_KEEP
 * (vacation) are purged on each write, at most SIEVE_STATE_PG_PURGE rows
 * of any user a call (the expiry/sent index), and a user keeps at most
 * SIEVE_STATE_ROWS_MAX rows a table (the oldest expiry goes first).
 */
#define SIEVE_STATE_PG_PURGE	100
char *sieve_state_pg_user(const char *user);
bool sieve_state_pg_dup_seen(const char *uid, const char *handle,
    const char *id, time_t now);
int sieve_state_pg_dup_record(const char *uid, const char *handle,
    const char *id, time_t expiry);
/* 1 with *sent_r when handle replied to address (the last time), 0 when
 * never, -1 on error. */
int sieve_state_pg_vacation_last(const char *uid, const char *handle,
    const char *address, int64_t *sent_r);
int sieve_state_pg_vacation_record(const char *uid, const char *handle,
    const char *address, time_t now);

#endif
