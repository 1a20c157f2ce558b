/*
 * quota - how much of the mail store each user uses (RFC 9208 STORAGE
 * and MESSAGE), kept cheaply for the quota checks of IMAP (APPEND, COPY,
 * MOVE: [OVERQUOTA]) and SMTP (RCPT and end of data: 452 4.2.2).
 *
 * One counter per Maildir++ root in this process: octets (the files'
 * sizes, the ",S=" of their names, else stat) and messages, over every
 * folder's cur/ and new/ (tmp/ and the index are not counted). It is
 * computed once by a readdir of each folder when first needed (no file is
 * opened), then moved by the store itself: deliveries (maildir.c),
 * APPEND, COPY and EXPUNGE (mailbox_ops.c); DELETE of a folder forgets it
 * (computed again at the next need). Changes made by outside tools are
 * not seen; a value older than QUOTA_RECHECK_MS is computed again before
 * it refuses anything, so such drift never locks a user out for long.
 * The limits are the caller's (auth/resolve.h acct_user_quota).
 *
 * Threads: every function is thread-safe; those marked BLOCKING walk the
 * disk (workers only), the others are in-memory and quick (any thread).
 */
#ifndef TEM_QUOTA_H
#define TEM_QUOTA_H

#include <stdbool.h>
#include <stdint.h>

/* An over-quota verdict older than this is computed again first. */
#define QUOTA_RECHECK_MS	(60 * 1000)

struct quota_usage {
	uint64_t	bytes;
	uint64_t	messages;
};

enum quota_verdict {
	QUOTA_FITS,
	QUOTA_OVER,
	QUOTA_OVER_STALE,	/* over on a value older than
				   QUOTA_RECHECK_MS: compute it again */
	QUOTA_UNKNOWN,		/* not computed yet */
};

/* In-memory. The usage of root (a Maildir++ root, or one of its folders
 * "R/.X", which counts for R) if known: false when not computed yet. */
bool quota_usage_get(const char *root, struct quota_usage *u_r);
/* BLOCKING. Computes root's usage by walking its folders, keeps and
 * returns it; -1 with errno when root cannot be read. Ends a claim. */
int quota_usage_compute(const char *root, struct quota_usage *u_r);
/* BLOCKING. The known usage of root, else quota_usage_compute. */
int quota_usage_need(const char *root, struct quota_usage *u_r);
/* In-memory. Moves a known usage of folder's root by the deltas (nothing
 * when it is not known: the next compute counts the change). */
void quota_usage_add(const char *folder, int64_t bytes, int64_t messages);
/* In-memory. Forgets root's usage (computed again at the next need). */
void quota_usage_forget(const char *root);

/*
 * In-memory. Whether adding add_bytes in add_msgs messages keeps root
 * within max_bytes and max_msgs (0: no limit): FITS, OVER, OVER_STALE
 * (over, on an old value), or UNKNOWN; for the last two a
 * quota_usage_compute on a worker (claimed with quota_compute_claim)
 * makes the next answer exact.
 */
enum quota_verdict quota_peek(const char *root, uint64_t max_bytes,
    uint64_t max_msgs, uint64_t add_bytes, uint64_t add_msgs);
/* BLOCKING. The same, computing the usage first when quota_peek would say
 * UNKNOWN; *u_r (may be NULL) gets the usage it judged by. An unreadable
 * root fits (the store reports its own errors). */
enum quota_verdict quota_check(const char *root, uint64_t max_bytes,
    uint64_t max_msgs, uint64_t add_bytes, uint64_t add_msgs,
    struct quota_usage *u_r);

/* In-memory. True when the caller is to run quota_usage_compute(root)
 * (on a worker): false while another claimed compute runs, so a flood of
 * RCPTs walks a mailbox once. */
bool quota_compute_claim(const char *root);

/* Where quota_usage_compute gets a root's usage instead of walking the
 * disk (storage = postgresql: the database, msg/deliver_pg.c); BLOCKING,
 * 0 or -1. Set once at start, before threads. */
typedef int quota_source_fn(const char *root, struct quota_usage *u_r);
void quota_set_source(quota_source_fn *fn);

/* Whether usage u plus add_bytes in add_msgs messages passes max_bytes or
 * max_msgs (0: no limit). */
bool quota_exceeds(const struct quota_usage *u, uint64_t max_bytes,
    uint64_t max_msgs, uint64_t add_bytes, uint64_t add_msgs);

/*
 * By the store's user, on its backend (mbox_on_pg(); quota_pg.c): on
 * Maildir quota_usage_need / quota_check of its root as above; on
 * PostgreSQL the usage is pg_ms_usage's sum over the user's messages,
 * read from the database at each call (exact across nodes, nothing
 * kept in memory; the verdict is FITS or OVER). BLOCKING.
 * quota_user_usage: -1 when it cannot be read. quota_user_check: an
 * unreadable usage fits (the store reports its own errors).
 */
struct mbox_user;
int quota_user_usage(const struct mbox_user *u, struct quota_usage *u_r);
enum quota_verdict quota_user_check(const struct mbox_user *u,
    uint64_t max_bytes, uint64_t max_msgs, uint64_t add_bytes,
    uint64_t add_msgs, struct quota_usage *u_r);

/* Forgets every usage (tests; the process's exit). */
void quota_usage_reset(void);

#endif
