/*
 * queue - the durable outbound queue: spool files, per-recipient state,
 * the retry schedule, and the admin operations behind `tem queue`.
 *
 * Trust: holds mail that already got its final 250, so it is written as
 * if the power could fail at any instruction. Envelope strings come from
 * validated SMTP transactions; reply texts stored with recipients come
 * from remote servers and are kept as opaque, bounded bytes (escape them
 * before printing). Files on disk are re-validated when read back.
 *
 * On disk (data_dir/queue/, see queue_record.c for the byte format):
 *   msg/ID     one file per message: a magic, an envelope record, the
 *              content record, then an append-only log of recipient-state
 *              records. Each record is type, length, payload, CRC-32.
 *   tmp/       files being written; emptied at start.
 *   corrupt/   files that failed to parse at start, kept for the admin.
 *   flush      marker written by `tem queue flush`.
 *   lock       flock'd by the running server (one server per queue).
 *
 * Why one append-only file per message and not SQLite: a message is
 * written once (tmp, sync, rename, sync the directory: STYLE.md habit 9)
 * and afterwards only grows by small records that each fit one write().
 * Making a state change durable is then one fdatasync() of one file, the
 * least the disk can do; a torn last record is detected by its CRC and
 * ignored (the attempt it described is simply made again, which RFC 5321
 * 6.1 allows), and removal is one unlink. The content and its state sit
 * in one file, so they can never disagree, and `tem queue del` is an
 * unlink the running server notices when it next opens the file. The
 * in-memory schedule (queue_sched.c) keeps only id, next time and an
 * in-flight mark, about 36 bytes a message; it is rebuilt from
 * the files at start, where "in flight" does not exist: every message
 * starts ready (STYLE.md habit 10).
 *
 * Threads: queue_submit() and the committer thread (queue_commit.c)
 * batch new files and removals so that many share two syncs (like
 * store/maildir.c). Calls
 * marked "blocking" touch the disk: run them on a worker thread, never on
 * an event loop. The rest are non-blocking and safe from any thread.
 *
 * Two backends behind this one contract: these files (storage =
 * embedded, the default) or the cluster's shared queue in PostgreSQL
 * (queue_pg.h), picked once by queue_open(); see there for what differs.
 *
 * Lifecycle of a message, for the delivery engine:
 *   queue_submit()          durable, then done() on the origin loop: send 250
 *   queue_take_due()        (blocking) due messages, each marked in flight
 *   queue_open_content()    (blocking) the content, checked, as a byte
 *                           range of an open file, read piece by piece
 *                           with queue_content_read() (blocking)
 *   queue_report()          (blocking) durable results; reschedules it
 *   queue_set_rcpt_flags()  (blocking, optional) "a DSN for these was queued"
 *   queue_msg_free()        releases the caller's copy; a message with no
 *                           PENDING recipient left is removed from the
 *                           queue at that moment, so queue any bounce it
 *                           needs (queue_submit done) before freeing it.
 */
#ifndef TEM_QUEUE_H
#define TEM_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/gcommit.h"

struct loop;

/* Recipient states. Only PENDING recipients are ever attempted; DELIVERED
 * and FAILED are final (a later record cannot undo them). */
#define QUEUE_STATE_PENDING	0
#define QUEUE_STATE_DELIVERED	1
#define QUEUE_STATE_FAILED	2

/* Results for queue_report(), one per recipient index. */
#define QUEUE_RCPT_NONE		0	/* not attempted this time: unchanged */
#define QUEUE_RCPT_DELIVERED	1	/* accepted by the next hop */
#define QUEUE_RCPT_FAILED	2	/* permanent failure (5xx) */
#define QUEUE_RCPT_DEFERRED	3	/* temporary failure (4xx, no route) */

/* DSN NOTIFY= bits (RFC 3461 4.1); same values as SMTP_NOTIFY_*. 0: the
 * parameter was absent. */
#define QUEUE_NOTIFY_NEVER	1u
#define QUEUE_NOTIFY_SUCCESS	2u
#define QUEUE_NOTIFY_FAILURE	4u
#define QUEUE_NOTIFY_DELAY	8u

/* DSN RET= (RFC 3461 4.3); same values as SMTP_RET_*. 0: absent. */
#define QUEUE_RET_FULL		1
#define QUEUE_RET_HDRS		2

/* Per-recipient flags the caller sets with queue_set_rcpt_flags(), so a
 * notice is not sent twice when the server restarts in between. */
#define QUEUE_RF_FAILURE_DSN	0x01u	/* a failure DSN was queued */
#define QUEUE_RF_DELAY_DSN	0x02u	/* a delay DSN was queued */
#define QUEUE_RF_SUCCESS_DSN	0x04u	/* a success DSN was queued */

/* Limits (the parser enforces the same ones on files read back). */
#define QUEUE_RCPT_MAX		100000	/* recipients a message */
#define QUEUE_STRING_MAX	4096	/* an address, ORCPT or ENVID */
#define QUEUE_TEXT_MAX		1000	/* a stored reply text: longer ones
					 * are cut (multi-line remote replies) */
#define QUEUE_CONTENT_MAX	((size_t)UINT32_MAX - 8)
/* Retry delays double from queue_retry_base up to this (or up to
 * retry_base itself when that is larger). */
#define QUEUE_BACKOFF_MAX	3600

struct queue_rcpt {
	char		*address;	/* without <>; never NULL */
	char		*orcpt;		/* ORCPT= as received, or NULL */
	unsigned	 notify;	/* QUEUE_NOTIFY_* bits, 0 absent */
	int		 state;		/* QUEUE_STATE_* */
	unsigned	 flags;		/* QUEUE_RF_* */
	unsigned	 attempts;	/* results reported so far */
	time_t		 next_try;	/* PENDING: when it is due */
	char		*last_error;	/* last reply text, or NULL */
};

struct queue_msg {
	char		 id[17];	/* 16 lowercase hex digits */
	time_t		 arrival;
	char		*sender;	/* "" = null sender <> */
	char		*envid;		/* ENVID= as received, or NULL */
	int		 ret;		/* QUEUE_RET_*, 0 absent */
	bool		 smtputf8;
	bool		 eightbit;	/* BODY=8BITMIME */
	/* RFC 8689: relayed only over TLS verified by DANE or MTA-STS,
	   with REQUIRETLS (MAIL FROM ... REQUIRETLS) */
	bool		 requiretls;
	/* RFC 8689 3: "TLS-Required: No" in the header (and no
	   REQUIRETLS): the destination's DANE/MTA-STS policy may fall back
	   to opportunistic TLS for it */
	bool		 tls_optional;
	int		 nrcpt;
	struct queue_rcpt *rcpts;
	size_t		 size;		/* content length in bytes */
	/* private: */
	uint32_t	 sched_gen;	/* which take_due handed it out */
	uint64_t	 file_end;	/* end of the last good record */
};

/* A message to submit. Everything it points to is the caller's and must
 * stay valid and unchanged until done() runs. */
struct queue_new {
	struct queue_msg msg;		/* id: "" = queue_submit makes one;
					 * arrival: 0 = now; recipients'
					 * state fields are ignored (all
					 * start PENDING, due now) */
	const char	*content;	/* LF line ends, as tem stores mail */
	size_t		 content_len;
	/* More content after content[]: content_file_len bytes of the file
	 * content_fd from content_file_off (read only when content_file_len
	 * > 0; the fd stays the caller's). The queue file still holds ONE
	 * contiguous content record: memory part, then file part, copied
	 * through a fixed buffer (its CRC is computed on the way). */
	int		 content_fd;
	uint64_t	 content_file_off;
	uint64_t	 content_file_len;
	/* private: */
	struct gcommit_job gj;
	int		 error;
	struct loop	*origin;
	void		(*done)(struct queue_new *m, int error, void *arg);
	void		*arg;
	struct queue_new *next;
};

/*
 * Opens data_dir/queue (creating it), takes its lock, empties tmp/,
 * truncates torn state records, moves unreadable files to corrupt/,
 * rebuilds the schedule (every message ready at its earliest pending
 * next_try; one with none pending is due now so the caller can finish
 * it), and starts the committer thread. Blocking; call once at start
 * after dropping privileges. 0, or -1 with a malloc'd *error_r.
 */
int queue_init(const char *data_dir, unsigned retry_base, unsigned lifetime,
    char **error_r);
/*
 * Starts the queue the config names: storage = embedded is queue_init()
 * on data_dir; storage = postgresql is the shared queue in the database
 * (queue_pg.h; pg_conn_setup() must have run), and from then
 * on every call of this header works on it (queue_pg_front.c): submits
 * and releases run on the worker pool (start it first), due times are
 * the database's, queue_next_due() is at most QUEUE_PG_POLL seconds
 * ahead, and queue_shutdown() hands back the leases still held. The
 * admin calls below stay the files' (`tem queue` picks the backend
 * itself). Blocking; once at start. 0, or -1 with a malloc'd *error_r.
 */
struct conf;
int queue_open(const struct conf *c, char **error_r);
/* storage = postgresql: hears NOTIFY tem_queue (every node's submits,
 * `tem queue flush`) on its own connection, posted to loop, and calls
 * the wake-up function for each and after each (re)LISTEN. A no-op on
 * the files. 0, or -1 with *error_r. */
int queue_listen(struct loop *loop, char **error_r);
/* Stops what queue_listen started (before loop is freed). */
void queue_unlisten(void);
/* Finishes queued submits and removals, stops the committer, frees the
 * schedule. Messages in flight stay on disk and are ready at next start;
 * a report or read still running on another thread completes on disk
 * (better: stop those threads first). Later submits get ESHUTDOWN. */
void queue_shutdown(void);
/* New retry_base / lifetime (seconds) after a config reload; any thread. */
void queue_configure(unsigned retry_base, unsigned lifetime);

/*
 * Queues m for the committer: its file is written, synced, renamed into
 * msg/ and the directory synced (with every other message of the batch),
 * then m joins the schedule, due now, and done(m, error, arg) runs on
 * origin's thread (on the committer thread when origin is NULL). error is
 * 0 (the message is durable: send the 250) or an errno value (EINVAL:
 * bad id, no or too many recipients, a string or the content too long;
 * EEXIST: the id is taken; ESHUTDOWN: the queue is stopping; else the
 * disk's). If m->msg.id was empty it is filled before queue_submit
 * returns. Non-blocking.
 */
void queue_submit(struct queue_new *m, struct loop *origin,
    void (*done)(struct queue_new *m, int error, void *arg), void *arg);
/* The same, committed on the calling thread (blocking). 0 or an errno. */
int queue_submit_sync(struct queue_new *m);

/*
 * Takes up to max messages whose next attempt is due at now, earliest
 * first, marks them in flight (not handed out again until reported or
 * freed) and loads their envelopes and recipient states from disk.
 * Messages deleted by `tem queue del` are dropped here; damaged ones are
 * moved to corrupt/. A message may come back with no PENDING recipient
 * (the server stopped between its last report and its removal): treat it
 * as after a final report. Blocking. Returns how many were stored in
 * msgs[]; each is malloc'd and the caller's, to queue_msg_free().
 */
int queue_take_due(time_t now, struct queue_msg **msgs, int max);

/* A message's content as bytes [off, off + len) of an open file. The
 * content of a committed file never changes (only state records are
 * appended after it), and the descriptor keeps it readable even after
 * `tem queue del` unlinks the file, so it can be read in pieces for as
 * long as the caller likes. */
struct queue_content {
	int		 fd;	/* the caller's: queue_content_close() */
	uint64_t	 off;
	size_t		 len;
};

/* Called with each piece of the content, in order, while it is checked. */
typedef void queue_scan_fn(const char *p, size_t n, void *arg);

/*
 * Opens a message's content and checks its CRC by reading it once
 * through a 64 KiB buffer (memory does not grow with the message);
 * each piece also goes to scan(p, n, arg) when scan is not NULL, so a
 * caller can compute what it needs (a wire size, a header count) in
 * the same pass. Blocking. 0 with *c filled, or -1 with errno: ENOENT
 * (deleted), EBADMSG (damaged: moved to corrupt/), or the disk's; then
 * c->fd is -1.
 */
int queue_open_content(const char *id, queue_scan_fn *scan, void *arg,
    struct queue_content *c);
/* Reads n content bytes starting at content offset from into p (pread:
 * any thread, several at once). Blocking. 0 or -1 with errno (EINVAL:
 * past the end). */
int queue_content_read(const struct queue_content *c, uint64_t from,
    void *p, size_t n);
/* Closes c->fd (if open) and sets it to -1. Any thread. */
void queue_content_close(struct queue_content *c);

/* The whole content in memory (small messages, tests): a malloc'd,
 * NUL-terminated copy in *content_r (len without the NUL). Blocking.
 * 0 or -1 with errno as queue_open_content(). */
int queue_read_content(const char *id, char **content_r, size_t *len_r);

/*
 * Records the results of an attempt: results[i] is a QUEUE_RCPT_* for
 * recipient i (results for recipients not PENDING are ignored), texts[i]
 * the reply text or NULL (stored cut to QUEUE_TEXT_MAX bytes). Each
 * reported recipient's attempts grows by one; DEFERRED ones get next_try
 * = now + retry_base * 2^(attempts-1) (capped, and never past arrival +
 * lifetime), or become FAILED with "delivery time expired; last error:
 * TEXT" once arrival + lifetime has passed. Blocking: the record is
 * fdatasync'd before return, and only then is m updated (it stays the
 * caller's) and the message rescheduled at its earliest pending next_try.
 * With none pending it stays in flight until queue_msg_free() removes it.
 * Returns the number of PENDING recipients left, or -1 with errno
 * (ENOENT: deleted by the admin, drop it without a bounce; else a disk
 * error: nothing was recorded and the message is retried after
 * retry_base; m is unchanged either way).
 */
int queue_report(struct queue_msg *m, const int *results, char *const *texts);
/* queue_report with an explicit clock (tests). */
int queue_report_at(struct queue_msg *m, const int *results,
    char *const *texts, time_t now);

/* ORs flags (QUEUE_RF_*) into recipients idx[0..n) durably. Blocking.
 * 0, or -1 with errno (m unchanged). */
int queue_set_rcpt_flags(struct queue_msg *m, const int *idx, int n,
    unsigned flags);

/*
 * Releases the caller's copy and sets *m to NULL. If no recipient is
 * PENDING (states as queue_take_due/queue_report left them), the message
 * leaves the schedule now and its file is unlinked by the committer
 * shortly after (non-blocking). Otherwise, if it is still in flight from
 * the take that produced *m, it becomes ready again at its earliest
 * pending next_try (an attempt abandoned without a report). Any thread.
 */
void queue_msg_free(struct queue_msg **m);
/* Frees the strings and recipients of m (not m itself, nothing else). */
void queue_msg_clear(struct queue_msg *m);

/* The earliest next attempt time among ready messages, or 0 when none is
 * waiting (in-flight ones do not count). Non-blocking. */
time_t queue_next_due(void);
/* Ready and in-flight messages in the schedule. */
size_t queue_count(void);
/* Makes every ready message due now and calls the wake-up function. */
void queue_flush(void);
/* True once after each `tem queue flush` noticed by the committer thread
 * (it looks for the marker every second and flushes by itself; polling
 * this is only needed by callers that use no wake-up function). */
bool queue_flush_requested(void);
/* fn(arg) is called, on an arbitrary thread, whenever messages become due
 * earlier than before (new submits, a flush): post to your loop from it. */
void queue_set_wakeup(void (*fn)(void *arg), void *arg);

/*
 * Admin operations for `tem queue` (work while the server runs, touch
 * only data_dir/queue, never create it). Each returns 0, or -1 with a
 * malloc'd one-line *error_r.
 */
struct queue_listing {
	struct queue_msg msg;		/* id always; the rest when !damaged */
	char		*damaged;	/* why the file cannot be read, or NULL */
};
/* Every message, sorted by arrival then id; free with
 * queue_listing_free(). An absent queue is an empty one. */
int queue_admin_list(const char *data_dir, struct queue_listing **list_r,
    size_t *n_r, char **error_r);
void queue_listing_free(struct queue_listing *list, size_t n);
/* Removes message ID durably (the server drops it when it next opens it;
 * an attempt already under way finishes). Unknown ID: -1. */
int queue_admin_del(const char *data_dir, const char *id, char **error_r);
/* Asks the running server to make every message due now. */
int queue_admin_flush(const char *data_dir, char **error_r);

/* True when s is 16 lowercase hex digits. */
bool queue_id_valid(const char *s);

/* For metrics: messages in the schedule and the earliest time one of
 * them was added this run (0: none; after a restart, the start). Never
 * blocks: false when the schedule's lock is busy. Any thread. On
 * PostgreSQL: the whole queue's count as the last take read it, oldest
 * 0 (unknown). */
bool queue_sched_stats(size_t *count, time_t *oldest);

#endif
