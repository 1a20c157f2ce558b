/*
 * msg_author - queues a message tem wrote itself (a vacation reply, a
 * reject MDN, a Sieve redirect's copy) through the durable queue, the
 * same way mta_bounce.c queues a DSN: one queue file, one recipient.
 * Local recipients are then delivered from the queue by mta_local.c
 * (through their own Sieve scripts, then the Maildir group commit),
 * remote ones by the delivery engine, with the queue's retries and
 * bounces.
 *
 * Trust: the message was built by tem (msg/sieve_notice.h) or is a copy
 * of a message already accepted; sender and rcpt are addresses tem
 * chose or a script named (checked by the caller to be a valid mailbox:
 * queue_submit refuses over-long strings with EINVAL).
 *
 * One log line per submission: "LOGID author queued=QID from=<S>
 * to=<R> size=N", or "LOGID author queue-failed error=..." on failure.
 */
#ifndef TEM_MSG_AUTHOR_H
#define TEM_MSG_AUTHOR_H

#include <stddef.h>

struct loop;

/*
 * Queues msg[0..len) (LF line ends, as the queue keeps messages; taken:
 * freed by msg_author_submit whatever happens) from sender ("" = the null
 * sender <>) to rcpt. BODY=8BITMIME is set on the queue envelope when the
 * message has 8-bit octets, SMTPUTF8 when sender or rcpt do. When the
 * queue file is durable (file, rename and directory fsynced) or the
 * submit failed, done(arg, error) runs on origin's thread: error 0 or an
 * errno value (see queue_submit). done may be NULL. Non-blocking; call on
 * origin's thread. origin must not be NULL.
 */
void msg_author_submit(const char *logid, const char *sender,
    const char *rcpt, char *msg, size_t len, struct loop *origin,
    void (*done)(void *arg, int error), void *arg);

#endif
