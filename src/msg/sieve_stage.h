/*
 * sieve_stage - Sieve at delivery: the routing stage's filter. For one
 * accepted message, ONE worker job loads the active script of each local
 * mailbox the recipients resolve to (plus the global sieve_before
 * script), runs it (src/sieve/sieve.h), and settles what needs the disk
 * (the folder of each fileinto, :create, flags to Maildir info letters,
 * the vacation memory); the routing then applies the results on the
 * loop (sieve_apply.c) and the commit makes every copy, redirect and
 * notice durable before the reply.
 *
 * Two callers, one stage: an SMTP transaction (smtp/smtp_sieve.c, after
 * the checks and milters; the header section in memory) and the queue's
 * local delivery (mta/mta_local.c: bounces, vacation replies, reject
 * MDNs, redirects and aliases queued for a local mailbox; the job reads
 * the header section from the queue file, msg/msg_source.h). Only SMTP
 * can refuse (sieve_apply_reject_all → 550); for queued mail a reject
 * is an MDN to the queued sender, or, from <>, a log line.
 *
 * Trust: scripts are users' (untrusted, bounded by sieve's limits); the
 * message is anyone's. A script can only name folders of its own user's
 * Maildir (mbox_deliver_folder checks the name), send redirects and
 * replies through the queue, and never read another user's mail.
 *
 * Cost: a message whose recipients have no active script pays no worker
 * hop: sieve_stage_wanted() answers on the loop from a per-user memory of
 * "has an active script" (refreshed by every job, trusted for
 * SIEVE_STAGE_FRESH_MS; unknown or stale: the job runs and finds out).
 * Compiled scripts are cached by path, inode, size and mtime, or, with
 * scripts in PostgreSQL, by user, name and the text's SHA-256
 * (SIEVE_STAGE_SCRIPTS_MAX of each, shared by all threads).
 *
 * Use (on a loop):
 *   if (sieve_stage_wanted(address) for some local target)
 *     st = sieve_stage_new(&in); sieve_stage_add(st, env_to, res) ...;
 *     sieve_stage_run(st, loop, done, arg);
 *   in done: st->error (the queue file, or a script in PostgreSQL,
 *     unreadable: defer, 451 at SMTP), SMTP only:
 *     sieve_apply_reject_all (every recipient rejected: 550 with it);
 *     else sieve_apply_route (or sieve_apply_local per local target),
 *     then sieve_apply_side, msg_commit_start with st->src's header
 *     section as the content's head, and sieve_apply_finish after.
 */
#ifndef TEM_MSG_SIEVE_STAGE_H
#define TEM_MSG_SIEVE_STAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "msg/msg_source.h"
#include "sieve/sieve.h"

struct loop;
struct acct_resolution;
struct sieve_state;

#define SIEVE_STAGE_FRESH_MS	1000	/* "no script" trusted this long */
#define SIEVE_STAGE_USERS_MAX	10000	/* users remembered (then reset) */
#define SIEVE_STAGE_SCRIPTS_MAX	256	/* compiled scripts cached */
/* A user redirects one message (by Message-ID) to one address at most
 * once this long (Pigeonhole's redirect_duplicate_period): a message
 * coming back by another path is neither sent again nor kept, so
 * scripts redirecting to each other cannot multiply it. */
#define SIEVE_STAGE_REDIRECT_DUP_S	(12 * 3600)

/*
 * The global script (config key sieve_before), compiled at start and at
 * every reload; path NULL: none. 0, or -1 and *error_r (malloc'd)
 * "PATH:LINE: what" for a script that does not compile, "PATH: error"
 * for one that cannot be read. Any thread.
 */
int sieve_stage_configure(const char *path, char **error_r);
/* At exit: drops the global script and the caches. */
void sieve_stage_shutdown(void);

/*
 * The ARC sealer of redirected copies (RFC 8617 5.1), set once at start
 * (serve.c: policy_arc_seal_redirect); NULL: copies go unsealed. The
 * job calls it on its worker for each user whose run redirects: head the
 * copy's header section, src the message (its body read for the hash),
 * domain the user's, logid the transaction's; it appends the three ARC
 * fields to out, 0 or -1.
 */
struct buf;
typedef int sieve_sealer_fn(const char *logid, struct msg_source *src,
    const char *head, size_t hlen, const char *domain, const char *hostname,
    struct buf *out);
void sieve_stage_set_sealer(sieve_sealer_fn *fn);

/* On the loop, no I/O: whether a message for address (a local account)
 * needs the Sieve job. */
bool sieve_stage_wanted(const char *address);
/* Forgets what was remembered of address (its scripts changed). */
void sieve_stage_forget(const char *address);

/* What one transaction gives the stage (copied by sieve_stage_new). */
struct sieve_stage_in {
	const char	*logid;		/* session id, for the log */
	const char	*msgid;		/* transaction id */
	const char	*data_dir;
	const char	*hostname;
	const char	*env_from;	/* "" for <> */
	const char	*auth;		/* authenticated submitter, or NULL */
	const char	*head;		/* header section as stored (trace
					 * included); NULL: the start of the
					 * file range (the job reads it) */
	size_t		 head_len;
	const char	*body_mem;	/* the body in memory, or NULL: */
	size_t		 body_mem_len;
	int		 body_fd;	/* ...in this file (dup'd), -1: none */
	uint64_t	 body_off, body_len;	/* head NULL: the message's */
};

/* What the job decided for one copy of a user's (KEEP / FILEINTO). */
struct sieve_stage_copy {
	char		*dir;		/* the Maildir folder */
	char		*info;		/* Maildir info letters, or NULL */
};

/* One distinct local mailbox of the transaction and its run. */
struct sieve_stage_user {
	char		*address;	/* the account's canonical address */
	char		*domain, *localpart;
	char		*env_to;	/* the first RCPT naming it */
	char		**aliases;	/* RCPT addresses leading to it */
	size_t		 naliases;
	bool		 ran;		/* a script ran: r is valid */
	struct sieve_result r;
	char		*script;	/* the active script's name */
	char		*error;		/* a compile or run error to file */
	/* per action of r (same index): */
	struct sieve_stage_copy *copies;	/* KEEP / FILEINTO */
	bool		*drop;		/* REDIRECT refused (loop, bad
					 * address: kept, copies[i].dir set)
					 * or a duplicate (dir NULL: not
					 * kept), VACATION not due */
	int		*sent;		/* VACATION: the submit's error */
	bool		 redirect_loop;	/* saw Delivered-To: itself */
	char		*arc_seal;	/* the redirects' ARC set, or NULL */
	bool		 applied;	/* routed (once per transaction) */
};

struct sieve_stage {
	char		 logid[17], msgid[17];
	char		*data_dir, *hostname, *env_from, *auth;
	struct msg_source src;		/* the message (header read by the
					 * job when the caller had none) */
	int		 error;		/* the job could not read the header
					 * section (no script ran) or a
					 * user's script: defer (errno) */
	char		*message_id;	/* the job's reading, or NULL */
	time_t		 now;
	struct sieve_stage_user *users;
	size_t		 nusers;
	char		 reason[256];	/* sieve_apply_reject_all's */
	bool		 settled;	/* sieve_fast_run did it all */
	bool		 fast_tried;	/* ...or could not: not again */
	/* The caller's body in memory (sieve_stage_in's body_mem), lent
	 * until sieve_stage_run returns, not copied: the loop's run reads
	 * it there; only a job gets a copy (into src). */
	const char	*body_lent;
	size_t		 body_lent_len;
	/* private */
	struct loop	*origin;
	void		(*done)(struct sieve_stage *, void *);
	void		*arg;
};

struct sieve_stage *sieve_stage_new(const struct sieve_stage_in *in);
/* One recipient: its local targets join the users (once each). */
void sieve_stage_add(struct sieve_stage *st, const char *env_to,
    const struct acct_resolution *res);
/* Runs the job; done(st, arg) on origin, never inside this call. */
void sieve_stage_run(struct sieve_stage *st, struct loop *origin,
    void (*done)(struct sieve_stage *, void *), void *arg);
void sieve_stage_free(struct sieve_stage **st);
/* The user of address in st, or NULL (no such target, or no script). */
struct sieve_stage_user *sieve_stage_user(struct sieve_stage *st,
    const char *address);

/* ---- sieve_apply.c: the results, on the loop ------------------------ */
struct msg_commit;
/* When every target of every recipient is a local user whose run
 * rejected (rcpts: their resolutions), the reason of the first as one
 * sanitized line (static storage of st), else NULL. */
const char *sieve_apply_reject_all(struct sieve_stage *st,
    const struct acct_resolution *const *res, size_t n);
/* One local target t (ACCT_TARGET_LOCAL): the copies, redirects and
 * drops of its user's run (applied once per stage), or a plain copy
 * into its INBOX when no script ran for it. */
struct acct_target;
void sieve_apply_local(struct sieve_stage *st, struct msg_commit *c,
    const struct acct_target *t);
/* The routing of one recipient with the stage's results (the Sieve
 * counterpart of msg_commit_route): remote targets become queue
 * recipients, local ones go through sieve_apply_local. */
void sieve_apply_route(struct sieve_stage *st, struct msg_commit *c,
    const struct acct_resolution *res, const char *orcpt, unsigned notify);
/* Once, after the routing and before msg_commit_start: the messages
 * tem writes (vacation replies and reject MDNs through msg_author, the
 * error notices into INBOX), each one held by c. */
void sieve_apply_side(struct sieve_stage *st, struct msg_commit *c,
    struct loop *origin);
/* After the commit answered (error 0: every copy durable): records the
 * duplicate ids, vacation replies and redirects on a worker, which then
 * frees st (nothing comes back to the loop); or frees st at once. */
void sieve_apply_finish(struct sieve_stage **st, int error);

/* ---- private to src/msg/sieve_*.c ---------------------------------- */
struct cscript;
/* The compiled script at path, one reference (compiled once per inode,
 * size and mtime): NULL with errno ENOENT, or EINVAL and *err filled. */
struct cscript *sieve_stage_script(const char *path, struct sieve_error *err);
/* The same from a script's text (storage = postgresql: scripts are
 * rows, sieve_store_active), cached under key (the job's: "ADDRESS/NAME")
 * with the text's SHA-256: the same text compiles once, a changed one
 * replaces the entry. NULL with errno EINVAL and *err filled. */
struct cscript *sieve_stage_script_text(const char *key, const char *text,
    size_t len, struct sieve_error *err);
/* The sieve_before script with a reference (NULL: none) and its folder
 * (malloc'd, for :global includes). */
struct cscript *sieve_stage_before(char **dir_r);
struct sieve_script *sieve_stage_script_sc(const struct cscript *cs);
void sieve_stage_script_unref(struct cscript *cs);
/* A script file whole (at most SIEVE_STORE_SIZE_MAX octets, a regular
 * file, no symlink), malloc'd; *st its stat. NULL with errno. */
struct stat;
char *sieve_stage_read(const char *path, size_t *len, struct stat *st);
/* What the job found: address has an active script or not; cs (NULL:
 * none, or it did not compile) is remembered with a reference of its
 * own, for the loop's fast path. */
void sieve_stage_seen(const char *address, bool has, struct cscript *cs);
/* Whether what the last job found for address is fresh (checked less
 * than SIEVE_STAGE_FRESH_MS ago) and usable on the loop: then *cs_r is
 * its compiled active script with a reference, or NULL: it has none. */
bool sieve_stage_known(const char *address, struct cscript **cs_r);

/* sieve_folder.c: the job's answers from the disk, for the fast path
 * (fresh SIEVE_STAGE_FRESH_MS; any thread). The folder of mailbox name
 * under root as mbox_deliver_folder gave it (only successes are
 * remembered), and the info letters mbox_deliver_info gave for flags
 * delivered into dir (their keywords are then in dir's map). *_known:
 * malloc'd, or NULL when not known or stale. */
void sieve_folder_remember(const char *root, const char *name, bool create,
    const char *dir);
char *sieve_folder_known(const char *root, const char *name, bool create);
void sieve_info_remember(const char *dir, const char *const *flags,
    size_t n, const char *info);
char *sieve_info_known(const char *dir, const char *const *flags, size_t n);
void sieve_folder_shutdown(void);
/* Runs run[0..n) for u on st's message (u->r filled, u->ran set) with
 * cb's callbacks and arg, body the body loader; lim NULL: defaults. */
void sieve_stage_exec(struct sieve_stage *st, struct sieve_stage_user *u,
    struct sieve_script *const *run, size_t n, const struct sieve_env *cb,
    int (*body)(void *, const char **, size_t *),
    const struct sieve_limits *lim);
/* After u's run is settled (drops known): its redirects' ARC set into
 * u->arc_seal through the sealer (sieve_stage_set_sealer), if any. */
void sieve_stage_seal(struct sieve_stage *st, struct sieve_stage_user *u);

/* ---- sieve_fast.c: the common case on the loop ----------------------- */
/* A run on the loop with a small budget (SIEVE_FAST_STEPS, ...) when
 * every user's script is fresh in memory, the header section in memory,
 * and every result applies without the disk (KEEP into INBOX without
 * flags, DISCARD, REJECT): true, st settled as the job would have (and
 * st->settled: sieve_stage_run then runs nothing again). Else false and
 * st as it was: the job runs (a callback that would need the disk, a
 * limit hit, a redirect, vacation, fileinto or flags). sieve_stage_run
 * calls it; a caller may too, to go on at once without done. */
#define SIEVE_FAST_STEPS	2000
#define SIEVE_FAST_MATCH_STEPS	20000
/* A test may scan the whole header (and body) section: the steps are
 * also bounded so that steps x octets stays under this, and a body
 * longer than SIEVE_FAST_BODY_MAX is left to the job. */
#define SIEVE_FAST_SCAN		(512 * 1024)
#define SIEVE_FAST_BODY_MAX	(16 * 1024)
bool sieve_fast_run(struct sieve_stage *st);
/* The duplicate memory's handle and id (malloc'd) of a redirect of st's
 * message to `to`, or NULL when the message has no Message-ID. */
#define SIEVE_STAGE_REDIRECT_HANDLE	"tem:redirect"
char *sieve_stage_redirect_id(const struct sieve_stage *st, const char *to);

#endif
