/*
 * sieve_notice - the messages tem writes on behalf of a Sieve run: the
 * vacation reply (RFC 5230 5, RFC 3834), the reject MDN (RFC 5429 2.1,
 * RFC 8098) and the "your script failed" notice filed into the user's
 * own INBOX (as Pigeonhole does). Each builder returns one complete RFC
 * 5322 message ready for msg_author_submit() or a Maildir store.
 *
 * I/O-free, no logging, no clock (now is handed in); any thread.
 *
 * Trust: every text handed in may come from a script or a message
 * (untrusted): :subject, :from, the reason, the addresses, the script's
 * error text and the original header section. What goes into a header
 * field has CR, LF and other control characters replaced by spaces, is
 * RFC 2047-encoded when it holds non-ASCII, and is folded at 78
 * columns, so nothing can add a header or break the MIME structure;
 * body text is carried as quoted-printable when it has 8-bit octets or
 * long lines, and MIME boundaries are chosen not to occur in it.
 *
 * Output: lines end in LF, as the queue and the Maildir store keep
 * messages (queue_new.content, msg/commit.c); 7-bit ASCII only except
 * inside the copied original header section of a reject (sent with
 * BODY=8BITMIME when it has 8-bit octets). Returns a malloc'd
 * NUL-terminated message with its length in *len, or NULL on an
 * argument that cannot make a message (NULL where a value is needed, an
 * action of the wrong type).
 */
#ifndef TEM_MSG_SIEVE_NOTICE_H
#define TEM_MSG_SIEVE_NOTICE_H

#include <stddef.h>
#include <time.h>

struct sieve_action;

/* Longest reason, error or vacation text copied into a notice, in
 * octets (longer ones are cut at a UTF-8 boundary). */
#define SIEVE_NOTICE_TEXT_MAX	(64 * 1024)
/* Longest original header section attached to a reject MDN. */
#define SIEVE_NOTICE_HEAD_MAX	(64 * 1024)

/*
 * The vacation reply of action a (SIEVE_VACATION) for user ("local@domain"):
 * From a->from when it is one mailbox in user's own domain (display name
 * kept), else user (RFC 5230 4.4 lets a site refuse a :from that is not
 * the user's: the exact check against the user's aliases belongs where
 * they are known, with sieve_notice_from_addr() below; the domain check
 * here is the backstop); To a->address;
 * Subject a->subject (encoded words for non-ASCII, folded);
 * In-Reply-To a->in_reply_to and References a->references when set;
 * Auto-Submitted: auto-replied (RFC 3834 5); Date (UTC) from now;
 * Message-ID <random@hostname>; MIME-Version 1.0 and a text/plain;
 * charset=utf-8 body from a->text (quoted-printable when 8-bit), or,
 * when a->mime, a->text as the MIME entity (its own header fields, then
 * its body: checked to have a header section, else sent as text/plain).
 * Send it from the null sender <> (RFC 5230 5).
 */
char *sieve_notice_vacation(const struct sieve_action *a, const char *user,
    const char *hostname, time_t now, size_t *len);

/*
 * The address ("local@domain", malloc'd) that sieve_notice_vacation()
 * would put in From for a :from of from (a bare address or "Name
 * <address>", parsed as RFC 5322 reads it, comments and all), or NULL
 * when it would use the user instead (not exactly one mailbox). Compare
 * this, not a reading of one's own, with the user's addresses.
 */
char *sieve_notice_from_addr(const char *from);

/*
 * The reject MDN (RFC 5429 2.1, RFC 8098) of action a (SIEVE_REJECT) for
 * user, to env_from (the original envelope sender, never ""): From
 * "Mail Delivery Subsystem" <MAILER-DAEMON@hostname>, To env_from,
 * Subject "Rejected: <original subject>", Auto-Submitted: auto-replied,
 * multipart/report; report-type=disposition-notification with a
 * text/plain part holding a->text, a message/disposition-notification
 * part (Reporting-UA: hostname; tem, Final-Recipient: rfc822; user,
 * Original-Message-ID when the original had one, Disposition:
 * automatic-action/MDN-sent-automatically; deleted) and the original
 * header section orig_head[0..hlen) as text/rfc822-headers (cut to
 * SIEVE_NOTICE_HEAD_MAX at a line end). Send it from <>.
 */
char *sieve_notice_reject(const struct sieve_action *a, const char *user,
    const char *orig_head, size_t hlen, const char *env_from,
    const char *hostname, time_t now, size_t *len);

/*
 * The notice filed into user's INBOX when their script failed to compile
 * or run: From "Sieve" <MAILER-DAEMON@hostname>, To user, Subject "Sieve
 * script failed: NAME", Auto-Submitted: auto-generated, and a text/plain
 * body naming the script, the error as given (error is "line N: what",
 * as sieve_error / sieve_result.error put it) and saying the message
 * that triggered it was kept in INBOX. script NULL: "the active script".
 */
char *sieve_notice_error(const char *user, const char *script,
    const char *error, const char *hostname, time_t now, size_t *len);

#endif
