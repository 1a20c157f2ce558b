/*
 * smtp_reply - I/O-free parser for SMTP server replies, as the outbound
 * client (mta_session) reads them, and for the EHLO capability list.
 *
 * Trust: every byte comes from a remote SMTP server we chose to connect
 * to, which is no more trustworthy than a client. Limits: a reply line of
 * at most SMTP_REPLY_LINE_MAX octets (RFC 5321 4.5.3.1.5 says 512; real
 * servers send longer), at most SMTP_REPLY_LINES_MAX lines per reply.
 * Nothing goes into a fixed buffer without a bound; no function logs.
 *
 * The parser is fed one line at a time, without its CRLF (util/io's
 * io_getline gives lines that way), and answers "need more", "one reply"
 * or "error". It resets itself after a reply or an error, so the next
 * line starts a new reply.
 *
 * Standards: RFC 5321 4.2 (reply syntax, multiline replies), 2034/3463
 * (enhanced status codes), 5321 4.1.1.1 (EHLO keywords), 1870 (SIZE),
 * 2920 (PIPELINING), 3207 (STARTTLS), 6152 (8BITMIME), 6531 (SMTPUTF8),
 * 3030 (CHUNKING), 3461 (DSN), 8689 (REQUIRETLS).
 */
#ifndef TEM_SMTP_REPLY_H
#define TEM_SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define SMTP_REPLY_LINE_MAX	4096	/* octets per line, CRLF excluded */
#define SMTP_REPLY_LINES_MAX	100	/* lines per reply */
#define SMTP_STATUS_MAX		16	/* "x.yyy.zzz" and its NUL fit */

/* One complete reply. */
struct smtp_reply {
	int	 code;		/* 200..559: the 3-digit reply code */
	/* The enhanced status code of the first line ("5.1.1"), or "" when
	   that line has none or one whose class differs from the code's. */
	char	 status[SMTP_STATUS_MAX];
	/* The text of every line after "ddd" and its separator, as sent
	   (enhanced codes included), joined with "\n"; malloc'd, never NULL
	   after a successful feed. Holds no NUL and no LF of its own. */
	char	*text;
	int	 nlines;
};

struct smtp_reply_parser {
	struct buf	 text;
	int		 code;
	int		 nlines;
	char		 status[SMTP_STATUS_MAX];
};

void smtp_reply_parser_init(struct smtp_reply_parser *p);
void smtp_reply_parser_free(struct smtp_reply_parser *p);

/*
 * Feeds one reply line of len bytes (no CRLF; need not be NUL-terminated).
 * Returns
 *   1  the line ended a reply: *r is filled (release with smtp_reply_free);
 *   0  a continuation line ("250-..."): feed the next one;
 *  -1  malformed (no 3-digit code 2xx-5xx, a bad separator, a code that
 *      changes inside a multiline reply, a NUL, a line over
 *      SMTP_REPLY_LINE_MAX, more than SMTP_REPLY_LINES_MAX lines):
 *      *error_r is a static description; *r is left zeroed.
 * A line of exactly "ddd" (no separator) is taken as a last line with an
 * empty text, as most clients do.
 */
int smtp_reply_feed(struct smtp_reply_parser *p, const char *line,
    size_t len, struct smtp_reply *r, const char **error_r);

/* Releases r->text; r becomes zeroed. Safe on a zeroed reply. */
void smtp_reply_free(struct smtp_reply *r);

/*
 * The reply on one line for logs and bounces: "550 5.1.1 text text", the
 * lines joined with a space, the enhanced code repeated at the start of
 * continuation lines dropped, control characters (and DEL) replaced by
 * '?'. At most max octets (0: no limit); a longer result is cut and ends
 * in "...". Returns a malloc'd string.
 */
char *smtp_reply_oneline(const struct smtp_reply *r, size_t max);

/* EHLO capabilities (bits of smtp_caps.flags). */
#define SMTP_CAP_PIPELINING	0x0001u
#define SMTP_CAP_SIZE		0x0002u
#define SMTP_CAP_STARTTLS	0x0004u
#define SMTP_CAP_8BITMIME	0x0008u
#define SMTP_CAP_SMTPUTF8	0x0010u
#define SMTP_CAP_ENHANCEDSTATUSCODES 0x0020u
#define SMTP_CAP_CHUNKING	0x0040u
#define SMTP_CAP_DSN		0x0080u
#define SMTP_CAP_AUTH		0x0100u
#define SMTP_CAP_BINARYMIME	0x0200u
#define SMTP_CAP_REQUIRETLS	0x0400u	/* RFC 8689 */

struct smtp_caps {
	unsigned	 flags;		/* SMTP_CAP_* */
	/* SIZE's value: the largest message the server takes; 0 when it
	   gave none, gave 0 (no fixed limit, RFC 1870 4) or a bad value. */
	uint64_t	 size;
};

/*
 * Reads the capabilities from the text of a 250 EHLO reply (the text of
 * struct smtp_reply: lines joined with "\n"; the first line, the server's
 * name and greeting, is skipped). Keywords are matched case-insensitively;
 * unknown ones are ignored. Never fails.
 */
void smtp_reply_ehlo_caps(const char *text, struct smtp_caps *caps_r);

#endif
