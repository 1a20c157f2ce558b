/*
 * commit - the commit stage of the message pipeline: one accepted message
 * (from an SMTP transaction, or a queued one for local mailboxes:
 * mta/mta_local.c) becomes durable copies, one per distinct local mailbox (Maildir group
 * commit, store/maildir.h) and one queue file for every remote recipient
 * (queue commit, queue/queue.h), and the caller hears once, when all of
 * them are on disk (file, rename and directory synced), or one failed.
 *
 * Trust: recipients are already routed by the caller (addresses resolved
 * against the accounts snapshot); the content is what the checks
 * accepted. Nothing here parses the message.
 *
 * The content is a small prefix in memory (the headers tem adds and the
 * header section) followed by a byte range of a spool file (msg/spool.h),
 * so no copy of the message is ever made in memory: each Maildir copy and
 * the queue file are written as prefix + kernel copy of the range. Each
 * local copy also gets its own Return-Path and Delivered-To on top.
 *
 * Use (on an event loop):
 *   c = msg_commit_new(logid, msgid, sender);
 *   msg_commit_local(c, maildir, address) / msg_commit_remote(...)
 *   msg_commit_start(c, &front, fd, off, len, loop, done, arg);
 *   done(c, error, arg) runs later on loop; msg_commit_free(&c) there.
 * error: 0 (send 250), ENOSPC or EDQUOT (452 4.3.1), else 451 4.3.0.
 * Each copy's result is logged once (delivered / queued / failed).
 */
#ifndef TEM_MSG_COMMIT_H
#define TEM_MSG_COMMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "util/buf.h"

struct loop;
struct msg_commit;

struct msg_commit *msg_commit_new(const char *logid, const char *msgid,
    const char *sender);
void msg_commit_free(struct msg_commit **c);
/* The module its result lines name ("smtp" unless told; the queue's
 * local delivery says "mta"); a static string. */
void msg_commit_log_as(struct msg_commit *c, const char *module);
/* A copy into the Maildir folder maildir (once per folder). */
void msg_commit_local(struct msg_commit *c, const char *maildir,
    const char *address);
/* A queue recipient (once per address, case-insensitive). */
void msg_commit_remote(struct msg_commit *c, const char *address,
    const char *orcpt, unsigned notify);
/*
 * The routing stage, for one recipient: each of its resolved targets
 * becomes a local copy (data_dir/mail/DOMAIN/LOCALPART, or its .Junk
 * folder when junk) or a queue recipient with the recipient's DSN
 * parameters. This is where per-recipient delivery decisions go (Sieve
 * chooses the folder at local delivery), not in protocol code.
 */
struct acct_resolution;
void msg_commit_route(struct msg_commit *c, const char *data_dir,
    const struct acct_resolution *res, const char *orcpt, unsigned notify,
    bool junk);
/*
 * Per-copy decisions of a delivery filter (Sieve, msg/sieve_apply.c).
 * head_len: how much of the content's memory front is the shared header
 * section (trace included), which a copy with its own header replaces.
 */
void msg_commit_head_len(struct msg_commit *c, size_t head_len);
/* A copy into maildir (once per folder) with its own header section
 * head[0..hlen) (NULL: the shared one) and Maildir info letters (NULL
 * or "": none). */
void msg_commit_local_copy(struct msg_commit *c, const char *maildir,
    const char *address, const char *head, size_t hlen, const char *info);
/* A queue message of its own from sender to rcpt (a redirect): prefix
 * lines, then head[0..hlen) (NULL: the shared header), then the body.
 * Its failure fails the commit like any copy. */
void msg_commit_forward(struct msg_commit *c, const char *sender,
    const char *rcpt, const char *prefix, const char *head, size_t hlen);
/* A message of its own, msg[0..len) (taken), into maildir (a notice to
 * the user); its failure is logged, the reply does not change. */
void msg_commit_notice(struct msg_commit *c, const char *maildir,
    const char *address, char *msg, size_t len);
/* Something else the reply waits for (a message queued by msg_author):
 * hold before msg_commit_start, release once when it is durable or
 * failed (its error already logged: the reply does not change). */
void msg_commit_hold(struct msg_commit *c);
void msg_commit_release(struct msg_commit *c);

/* The queue envelope's DSN and body flags (RFC 3461, 6152, 6531). */
void msg_commit_envelope(struct msg_commit *c, const char *envid, int ret,
    bool smtputf8, bool eightbit);
/* The queue envelope's RFC 8689 flags: REQUIRETLS was on MAIL FROM, or
 * the header said "TLS-Required: No" (kept by forwarded copies too). */
void msg_commit_tls(struct msg_commit *c, bool requiretls,
    bool tls_optional);
/* Number of local copies / remote recipients so far. */
int msg_commit_nlocal(const struct msg_commit *c);
int msg_commit_nremote(const struct msg_commit *c);

/*
 * Commits the content front[0..len) (taken: *front is left empty) then
 * flen bytes of fd from off (fd is dup'd: the caller may close its own at
 * once; flen 0: no file part). done runs exactly once, on origin, never
 * from inside this call.
 */
void msg_commit_start(struct msg_commit *c, struct buf *front, int fd,
    uint64_t off, uint64_t flen, struct loop *origin,
    void (*done)(struct msg_commit *c, int error, void *arg), void *arg);

/* The message's size as stored (without the per-copy prefix). */
uint64_t msg_commit_size(const struct msg_commit *c);

#endif
