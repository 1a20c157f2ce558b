/*
 * pg_mailstore_int - what pg_mailstore.c (folders, reads) and
 * pg_mailstore_msg.c (changes to messages) share. Not a contract.
 */
#ifndef TEM_PG_MAILSTORE_INT_H
#define TEM_PG_MAILSTORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pg/pg_conn.h"

/* A body's "nothing changed": pg_tx rolls back (so no MODSEQ is spent
 * and nobody is notified) and the call returns PG_OK. */
#define PG_MS_NOTHING		1

/* A number as a query parameter. */
struct pg_ms_num {
	char	s[24];
};
const char *pg_ms_i(struct pg_ms_num *n, int64_t v);

/* "{1,2,3}" for a bigint[] parameter (malloc'd). */
char *pg_ms_uids_param(const uint32_t *uids, size_t n);
/* The words of a NULL-terminated list joined by " " ("" for none or
 * NULL): SQL turns it back with string_to_array($n, ' '). */
char *pg_ms_words_param(const char *const *words);
/* Parses a bigint[] result value "{1,2,3}" into malloc'd UIDs (NULL
 * when empty). */
uint32_t *pg_ms_uids_parse(const char *text, size_t *n_r);

/* Sets *error_r and returns code (PG_MS_*). */
int pg_ms_fail(char **error_r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* pg_notify('tem_mailbox', "ID MODSEQ"), in the current transaction. */
enum pg_rc pg_ms_notify(int64_t mailbox_id, uint64_t modseq,
    char **error_r);

/* pg_ms_notify_user's 'tem_user' payload (malloc'd), for a statement
 * that sends it itself. */
char *pg_ms_user_payload(int64_t user_id, char kind, const char *a,
    const char *b);

/* In a transaction: it's bytes (pg_ms_append_item: memory, file range,
 * crlf) into a new blobs row by COPY (refs 1), in pieces; *id_r the
 * blob, *stored_r its length, *wire_r the wire size (every bare LF as
 * CRLF). pg_mailstore_blob.c. */
struct pg_ms_append_item;
int pg_ms_blob_put(const struct pg_ms_append_item *it, int64_t *id_r,
    uint64_t *stored_r, uint64_t *wire_r, char **error_r);
/* A small message (at most PG_MS_BLOB_INLINE) read whole instead, for
 * one statement without a transaction: *data_r (malloc'd, *stored_r
 * bytes). */
#define PG_MS_BLOB_INLINE	(256 * 1024)
int pg_ms_blob_read(const struct pg_ms_append_item *it, char **data_r,
    uint64_t *stored_r, uint64_t *wire_r, char **error_r);

/* In a transaction: creates folder name (pg_ms_create's body). */
int pg_ms_create_tx(int64_t user_id, const char *name, unsigned special_use,
    int64_t *id_r, uint32_t *uidvalidity_r, char **error_r);

/* In a transaction: COPY/MOVE (pg_ms_copy's body); uids NULL: every
 * message of src. */
struct pg_ms_copy {
	int64_t		 src, dst;
	const uint32_t	*uids;
	size_t		 n;
	bool		 move;
	/* out */
	uint32_t	 uidvalidity;
	uint32_t	*src_uids, *dst_uids;
	size_t		 n_done;
};
int pg_ms_copy_tx(struct pg_ms_copy *c, char **error_r);

#endif
