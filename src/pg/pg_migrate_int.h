/* pg_migrate's files between themselves (see pg_migrate.h). */
#ifndef TEM_PG_MIGRATE_INT_H
#define TEM_PG_MIGRATE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pg/pg_conn.h"
#include "util/buf.h"

struct pgm {
	const char	*data_dir;
	FILE		*out;
	unsigned	 mismatches;	/* checks that disagreed */
};

/* Appends p[0..n) to b, every LF not preceded by CR as CRLF (the wire
 * form). Returns the bytes appended. */
uint64_t pgm_crlf(struct buf *b, const char *p, size_t n);

/* INSERTs a blobs row of data[0..len) (sent as raw octets, binary
 * bytea) with size size: *id_r its id (malloc'd). */
enum pg_rc pgm_blob(char **id_r, const char *size, const char *data, int len,
    char **error_r);

/* path opened read-only (busy timeout 10 s), or NULL with *error_r. */
struct sqlite3;
struct sqlite3 *pgm_sqlite_open(const char *path, char **error_r);

/* Copies (check false) or compares (check true) the folders and
 * subscriptions of the user with users.id user_id whose Maildir++ root
 * is root. 0, or -1 with *error_r. */
int pgm_mail(struct pgm *m, const char *addr, int64_t user_id,
    const char *root, bool check, char **error_r);

#endif
