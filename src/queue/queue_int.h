/*
 * queue_int - internals shared by queue_record.c (I/O-free codec),
 * queue_sched.c (in-memory schedule) and queue_store.c (files), and used
 * by the unit test and the fuzzer. Not for other modules: use queue.h.
 */
#ifndef TEM_QUEUE_INT_H
#define TEM_QUEUE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "queue/queue.h"

struct buf;
struct iovec;

/* ---- queue_record.c: the file format -------------------------------- */

#define QUEUE_MAGIC		"TEMQ0001"
#define QUEUE_MAGIC_LEN		8
#define QUEUE_REC_HDR		5	/* type (1) + payload length (4) */
#define QUEUE_REC_TRAILER	4	/* CRC-32 */

#define QUEUE_REC_ENVELOPE	'E'
#define QUEUE_REC_CONTENT	'C'
#define QUEUE_REC_STATE		'S'

/* Largest envelope and state record payloads, and the largest state log
 * (all state records of a file) read back into memory. */
#define QUEUE_ENVELOPE_MAX	(16u << 20)
#define QUEUE_STATE_REC_MAX	(16u << 20)
#define QUEUE_STATELOG_MAX	(64u << 20)

/* CRC-32 (IEEE, as zlib): start with crc 0, feed pieces in order. */
uint32_t queue_crc32(uint32_t crc, const void *p, size_t n);

/* The 5-byte header of a record of type with a payload of len. */
void queue_rec_header(uint8_t hdr[QUEUE_REC_HDR], int type, uint32_t len);
/* The CRC trailer of a record: over the header, then the payload. */
uint32_t queue_rec_crc(const uint8_t hdr[QUEUE_REC_HDR], const void *payload,
    size_t len);
/* Appends a whole record (header, payload, CRC) to b. */
void queue_rec_append(struct buf *b, int type, const void *payload,
    size_t len);

/* Appends the envelope record of m (id, arrival, sender, ENVID, RET,
 * flags, recipients' address/ORCPT/NOTIFY; not their state). The caller
 * has checked the limits (queue_msg_check). */
void queue_envelope_encode(struct buf *b, const struct queue_msg *m);
/* 0 when m fits the limits the parser enforces, else -1. */
int queue_msg_check(const struct queue_msg *m, size_t content_len);
/* Appends one state record holding the full state of recipients
 * idx[0..n) of m. */
void queue_state_encode(struct buf *b, const struct queue_msg *m,
    const int *idx, int n);

/* Where the parts of a file are, as found by the parser. */
struct queue_file_info {
	uint64_t	content_off;	/* first content byte */
	uint64_t	content_len;
	uint64_t	tail_off;	/* first byte after the content record */
	uint64_t	valid_end;	/* end of the last good state record */
	unsigned	nstate;		/* state records applied */
	bool		torn;		/* bytes after valid_end were ignored */
};

/*
 * Parses the head of a file: magic, envelope record, content record
 * header. p holds the first len bytes of the file. Returns 1 when done
 * (info->content_off/len/tail_off set; m filled with every recipient
 * PENDING, due at arrival, when m is not NULL), 0 when more bytes are
 * needed (*need_r: how many from the start of the file), -1 when damaged
 * (*error_r: a static reason). On -1 and 0, m is left empty.
 */
int queue_parse_head(const uint8_t *p, size_t len, struct queue_msg *m,
    struct queue_file_info *info, size_t *need_r, const char **error_r);
/*
 * Applies the state records in p[0..len), the bytes of the file from
 * info->tail_off to its end, to m. Stops at the first record that is
 * incomplete or fails its CRC (a torn write) and sets info->torn; a
 * record that frames but does not make sense for m is skipped. Sets
 * info->valid_end and info->nstate. Never fails.
 */
void queue_parse_tail(const uint8_t *p, size_t len, struct queue_msg *m,
    struct queue_file_info *info);
/* Parses a whole file image (head, content with its CRC, tail): 0, or -1
 * with *error_r. On success m is filled; the caller clears it. */
int queue_file_parse(const uint8_t *p, size_t len, struct queue_msg *m,
    struct queue_file_info *info, const char **error_r);

/* 16 hex digits <-> 64-bit schedule key. */
uint64_t queue_id_key(const char *id);
void queue_key_id(uint64_t key, char id[17]);

/* ---- queue_store.c: reading files ------------------------------------ */

/*
 * Opens msgdir/id with oflags (O_RDONLY or O_RDWR), reads its head and
 * state log and fills m (the caller clears it) and info; m->size and
 * m->file_end are set. Returns 0, or -1 with errno: ENOENT (gone),
 * EBADMSG (damaged: *why_r says how), or the system's. With fd_r, the
 * open descriptor is handed over on success (else closed). Blocking.
 */
int queue_file_load(const char *msgdir, const char *id, int oflags,
    struct queue_msg *m, struct queue_file_info *info, const char **why_r,
    int *fd_r);
/* Reads the head of the file (size bytes) and parses it into m (may be
 * NULL) and info. 0 or -1 with errno (EBADMSG + *why_r). */
int queue_read_head(int fd, uint64_t size, struct queue_msg *m,
    struct queue_file_info *info, const char **why_r);
/* Moves a damaged file out of msg/ so it is never attempted again, and
 * drops it from the schedule. */
void queue_quarantine(const char *id, const char *why);
/* data_dir/queue/msg while the queue runs (kept after a shutdown), or
 * NULL before the first queue_init(). */
const char *queue_msgdir(void);
/* (Directory fsync and whole writes: util/fsutil.h.) */

/* How many recipients of m are PENDING. */
int queue_msg_pending(const struct queue_msg *m);
/* The new state of a PENDING recipient r of m after result res
 * (QUEUE_RCPT_*) at now: attempts + 1, DELIVERED/FAILED, or a next_try
 * backed off from retry_base, FAILED once arrival + lifetime passed; r's
 * last_error becomes a fresh string (or NULL; the old one is the
 * caller's). Shared by both backends so they retry alike. */
void queue_rcpt_apply(const struct queue_msg *m, struct queue_rcpt *r,
    int res, const char *text, time_t now, unsigned retry_base,
    unsigned lifetime);

/* ---- queue_commit.c: the committer thread --------------------------- */

/* Starts the thread for the given folders (copied); stop finishes what
 * is queued, then joins it and forgets the wake-up function. */
void queue_commit_start(const char *msgdir, const char *tmpdir,
    const char *flushpath);
void queue_commit_stop(void);
/* Unlinks msg/ID of key with the next batch (now, on this thread, when
 * the committer is not running). */
void queue_commit_remove(uint64_t key);
/* Calls the wake-up function set with queue_set_wakeup(), if any. */
void queue_wake(void);

/* ---- queue_pg_front.c: queue.h on PostgreSQL ---------------------- */
/* Each public queue.h call of queue_store.c, queue_commit.c and
 * queue_content.c hands over to its twin here when queue_on_pg(). */

bool queue_on_pg(void);
/* Takes data_dir/queue/lock (made if missing) as queue_init does, for a
 * server whose queue is elsewhere; queue_shutdown lets it go. 0, or -1
 * with *error_r ("in use by another tem process"). */
int queue_lock_data_dir(const char *data_dir, char **error_r);
void queue_pgf_shutdown(void);
void queue_pgf_configure(unsigned retry_base, unsigned lifetime);
void queue_pgf_submit(struct queue_new *m, struct loop *origin,
    void (*done)(struct queue_new *m, int error, void *arg), void *arg);
int queue_pgf_submit_sync(struct queue_new *m);
int queue_pgf_take_due(struct queue_msg **msgs, int max);
int queue_pgf_open_content(const char *id, queue_scan_fn *scan, void *arg,
    struct queue_content *c);
int queue_pgf_report(struct queue_msg *m, const int *results,
    char *const *texts, time_t now);
int queue_pgf_set_rcpt_flags(struct queue_msg *m, const int *idx, int n,
    unsigned flags);
void queue_pgf_msg_free(struct queue_msg **m);
time_t queue_pgf_next_due(void);
size_t queue_pgf_count(void);
void queue_pgf_flush(void);

/* ---- queue_sched.c: ids, next times, in-flight marks ---------------- */
/* All thread-safe (one mutex). Times are >= 1; gens are never 0. */

void queue_sched_init(void);
void queue_sched_free(void);
/* Adds key ready at next; an existing entry (ready or in flight) is
 * left alone except that a ready one becomes due no later than next. */
void queue_sched_add(uint64_t key, time_t next);
/* Pops up to max ready entries with next <= now, earliest first, marks
 * them in flight; their keys and take generations go to the arrays. */
int queue_sched_take(time_t now, uint64_t *keys, uint32_t *gens, int max);
/* If key is in flight from take gen, makes it ready at next. Else no-op.
 * Returns true when it did. */
bool queue_sched_release(uint64_t key, uint32_t gen, time_t next);
void queue_sched_remove(uint64_t key);
/* Every ready entry becomes due no later than now. */
void queue_sched_flush(time_t now);
/* Earliest ready next, 0 if none. */
time_t queue_sched_next(void);
size_t queue_sched_count(void);

#endif
