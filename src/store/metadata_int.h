/*
 * metadata_int - what the two METADATA backends share (metadata.c: the
 * SQLite file per user; metadata_pg.c: PostgreSQL's mailbox_metadata
 * rows): the handle, the entry filter of a GET and the limit check of a
 * SET, so both answer alike. Not for callers outside src/store.
 */
#ifndef TEM_METADATA_INT_H
#define TEM_METADATA_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/metadata.h"

struct sqlite3;

struct mdata {
	struct sqlite3	*db;		/* the file; NULL on PostgreSQL */
	int64_t		 pg_user;	/* users.id on PostgreSQL */
};

/* Whether stored entry name is wanted: one of want, or below one of
 * them within depth levels (0: itself, 1: children, -1: all). */
bool mdata_wanted(const char *name, const char *const *want, size_t n,
    int depth);
/* Appends one entry (name, len octets of v) to *list. */
void mdata_entry_push(struct mdata_entry **list, size_t *n, size_t *cap,
    const char *name, const void *v, size_t len);
/* Whether a SET that took the user from (n0 entries, o0 octets) to (n1,
 * o1) is refused: past a limit only what does not grow is allowed (a
 * user at the limit can still replace or remove). Sets *error_r then. */
bool mdata_too_many(int64_t n0, int64_t o0, int64_t n1, int64_t o1,
    char **error_r);

/* ---- PostgreSQL (metadata_pg.c; BLOCKING, pg_conn) --------------------- */

/* A handle on user_id's rows (never NULL: nothing to create). */
struct mdata *mdata_pg_open(int64_t user_id);
int mdata_pg_get(struct mdata *m, const char *mailbox,
    const char *const *want, size_t n_want, int depth,
    struct mdata_entry **list_r, size_t *n_r, char **error_r);
int mdata_pg_set(struct mdata *m, const char *mailbox,
    const struct mdata_change *changes, size_t n, char **error_r);
int mdata_pg_mailbox_deleted(int64_t user_id, const char *mailbox,
    char **error_r);
int mdata_pg_mailbox_renamed(int64_t user_id, const char *from,
    const char *to, char **error_r);

#endif
