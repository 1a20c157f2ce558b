/*
 * dsn - delivery status notifications (bounces and delay warnings) as
 * RFC 3464 multipart/report messages, and the status codes they carry.
 *
 * Trust: the texts handed in come partly from remote servers (their reply
 * text) and the original message from anyone; dsn.c only copies them into
 * the report, replacing control characters in header fields and folding
 * long ones, so nothing remote can add a header or break the MIME
 * structure. I/O-free; no logging.
 *
 * Standards: RFC 3464 (message/delivery-status), 6522 (multipart/report),
 * 3463 (enhanced status codes), 3461 (ENVID, ORCPT, RET, NOTIFY), 3834
 * (Auto-Submitted), 6533 (message/global-delivery-status for SMTPUTF8),
 * 5322 (the message itself).
 */
#ifndef TEM_DSN_H
#define TEM_DSN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* RCPT NOTIFY= bits (RFC 3461 4.1); the same values as smtp_parser.h's
   SMTP_NOTIFY_*, so the queue can store either. */
#define DSN_NOTIFY_NEVER	1u
#define DSN_NOTIFY_SUCCESS	2u
#define DSN_NOTIFY_FAILURE	4u
#define DSN_NOTIFY_DELAY	8u

/* MAIL RET= values (RFC 3461 4.3), as smtp_parser.h's SMTP_RET_*. */
#define DSN_RET_FULL		1
#define DSN_RET_HDRS		2

/* The original message is returned whole up to this size, else only its
   header (RFC 3461 4.3 lets an MTA send headers only at any time). */
#define DSN_FULL_MAX		(128 * 1024)

/* Longest diagnostic text copied into a report, in octets. */
#define DSN_DIAG_MAX		900

enum dsn_action {
	DSN_ACTION_FAILED,
	DSN_ACTION_DELAYED,
	DSN_ACTION_DELIVERED,
	DSN_ACTION_RELAYED,
	DSN_ACTION_EXPANDED,
};

struct dsn_rcpt {
	const char	*addr;		/* final recipient, "local@domain" */
	/* ORCPT as given on RCPT ("rfc822;xtext"), or NULL. */
	const char	*orcpt;
	enum dsn_action	 action;
	/* "5.1.1"; NULL: taken from reason/diagnostic by
	   dsn_status_from_reply(), else 5.0.0 (failed) / 4.0.0 (delayed) /
	   2.0.0. */
	const char	*status;
	/*
	 * Why, for people (part 1): mta_session's rcpt_text as is, e.g.
	 * "host mx.b.test[192.0.2.1] said: 550 5.1.1 user unknown (in reply
	 * to RCPT TO command)", or a local text ("5.4.6 mail loop: too many
	 * hops"). NULL: none.
	 */
	const char	*reason;
	/* The remote server's reply for Diagnostic-Code ("550 5.1.1 ...")
	   and its name for Remote-MTA; NULL: taken from reason when it has
	   the "host NAME[ADDR] said: REPLY" form, else left out. */
	const char	*diagnostic;
	const char	*remote_mta;
	time_t		 last_attempt;	/* 0: no Last-Attempt-Date */
	time_t		 retry_until;	/* delayed only; 0: no Will-Retry-Until */
};

struct dsn_params {
	const char	*hostname;	/* the reporting MTA (us) */
	const char	*sender;	/* original envelope sender: To: */
	const char	*envid;		/* MAIL ENVID= (xtext) or NULL */
	int		 ret;		/* DSN_RET_* or 0 */
	time_t		 arrival;	/* 0: no Arrival-Date */
	const char	*queue_id;	/* shown in part 1 when not NULL */
	const struct dsn_rcpt *rcpts;
	int		 nrcpt;
	/* The original message, LF line ends (a CR before LF is dropped):
	   whole, or only its first len bytes when total is larger (a
	   message read from a file: give at least min(total, full_max)
	   bytes, which is all that can be attached). */
	const char	*content;
	size_t		 len;
	size_t		 total;		/* the whole length; 0: len */
	bool		 smtputf8;	/* original needed SMTPUTF8: RFC 6533 types */
	size_t		 full_max;	/* 0: DSN_FULL_MAX */
	/* For reproducible output (tests); 0 / NULL: now, a random id. */
	time_t		 now;
	const char	*message_id;	/* without <>, e.g. "abc@host" */
	const char	*boundary;
};

/*
 * Builds the whole report: header (From "Mail Delivery System"
 * <MAILER-DAEMON@hostname>, To the sender, Subject by the worst action,
 * Date, Message-ID, Auto-Submitted: auto-replied, MIME-Version,
 * Content-Type multipart/report; report-type=delivery-status), a
 * text/plain part naming each recipient with its reason, the
 * message/delivery-status part (message/global-delivery-status when
 * smtputf8) and the original: message/rfc822 (message/global) whole, or
 * text/rfc822-headers (message/global-headers) when ret is DSN_RET_HDRS
 * or the message is larger than full_max.
 *
 * Lines end in LF, as the queue stores messages. The result holds 8-bit
 * octets only where the original did (its copy in the third part, or
 * UTF-8 addresses with smtputf8): send it with BODY=8BITMIME (and
 * SMTPUTF8) exactly when the original needed them. Its envelope sender
 * must be the null sender "" (RFC 5321 4.5.5, no bounce loops).
 *
 * Returns a malloc'd NUL-terminated message and its length in *len_r, or
 * NULL when sender is NULL or "" (the null sender never gets a report) or
 * nrcpt is not positive.
 */
char *dsn_build(const struct dsn_params *p, size_t *len_r);

/*
 * The enhanced status code of a reply text: after an optional
 * "host NAME[ADDR] said: " prefix, either "ddd x.y.z ..." (the reply code
 * and its enhanced code), "ddd ..." (then class.0.0 from the code:
 * "4.0.0", "5.0.0", "2.0.0") or "x.y.z ..." alone (local texts). An
 * enhanced code whose class differs from the reply code's is ignored.
 * Writes it to status and returns its class (2, 4 or 5); returns -1 and
 * status "" when the text has neither.
 */
int dsn_status_from_reply(const char *reply_text, char status[16]);

/* The Action field value of an action ("failed"...). Static. */
const char *dsn_action_name(enum dsn_action a);

#endif
