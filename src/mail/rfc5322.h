/*
 * rfc5322 - Internet Message Format header fields: iteration with exact
 * byte offsets, unfolding, RFC 2047 encoded words, address lists (with
 * groups and obs- syntax), dates, message-id lists.
 *
 * Trust: everything parsed here is message content from anyone. The
 * parsers work on a memory buffer (no I/O), never read outside
 * [data, data + len), never fail on garbage (they skip it or return what
 * they could make of it) and bound what they allocate by the input size
 * and the limits below. Line ends may be LF (tem's storage) or CRLF.
 *
 * Standards: RFC 5322 (and its obs- syntax), 2047 (encoded words), 2231
 * (language in encoded words), 6532 (UTF-8 in headers).
 */
#ifndef TEM_RFC5322_H
#define TEM_RFC5322_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util/buf.h"

/* At most this many addresses (group markers included) from one field. */
#define RFC5322_ADDR_MAX	1000
/* At most this many message ids from one References field. */
#define RFC5322_MSGID_MAX	1000

/*
 * One header field as it sits in the buffer. name is the field name with
 * white space before the colon trimmed (obs-optional); value is the raw
 * text after the colon up to (excluding) the field's final line end, with
 * its folding kept; off/len cover the whole field as sent, from the first
 * byte of the name through its final line end (what DKIM canonicalises).
 * Pointers point into the parsed buffer.
 */
struct rfc5322_field {
	const char	*name;
	size_t		 name_len;
	const char	*value;
	size_t		 value_len;
	size_t		 off;
	size_t		 len;
};

/*
 * Iterator over a header block. Lines without a colon (and continuation
 * lines before any field) are skipped. The header ends at the first empty
 * line (LF or CRLF) or at the end of the buffer; body_off then tells where
 * the body starts (after the empty line; len when there is none).
 */
struct rfc5322_iter {
	const char	*data;
	size_t		 len;
	size_t		 pos;
	size_t		 body_off;
	bool		 done;
};

void rfc5322_iter_init(struct rfc5322_iter *it, const char *data,
    size_t len);
/* 1: *f holds the next field; 0: end of the header (it->body_off set). */
int rfc5322_iter_next(struct rfc5322_iter *it, struct rfc5322_field *f);

/* Offset where the body of the message in data[0..len) starts (just past
   the empty line; len when the header never ends). */
size_t rfc5322_body_offset(const char *data, size_t len);

/* True when the header block h[0..n) ends with its empty line ("\n\n",
   "\r\n\r\n", or is that line alone). */
bool rfc5322_ends_blank(const char *h, size_t n);

/* True when field f is named name (ASCII case-insensitive). */
bool rfc5322_field_is(const struct rfc5322_field *f, const char *name);

/*
 * Finds the first field called name in the header block data[0..len).
 * Returns 1 and fills *f, or 0 when there is none.
 */
int rfc5322_find(const char *data, size_t len, const char *name,
    struct rfc5322_field *f);
/* True when the header section (up to the first empty line) of msg has
 * a field called name (any case; white space allowed before the colon). */
bool rfc5322_header_has(const char *msg, size_t len, const char *name);

/*
 * Appends value v[0..len) unfolded to out: CR and LF removed (the white
 * space after them kept, as IMAP ENVELOPE does), leading white space
 * removed, NUL bytes dropped. Trailing white space is kept.
 */
void rfc5322_unfold(const char *v, size_t len, struct buf *out);

/*
 * Appends the UTF-8 reading of the unstructured value v[0..len) to out:
 * unfolded, RFC 2047 encoded words decoded through their charset (white
 * space between adjacent encoded words dropped), malformed words left as
 * they are, other 8-bit bytes read as UTF-8 or else Latin-1.
 */
void rfc5322_decode(const char *v, size_t len, struct buf *out);

/*
 * An address list entry in the shape of an IMAP ENVELOPE address:
 * a mailbox has mailbox and host (either may be "" when the field was
 * broken), name (the display name or comment, unquoted, encoded words
 * left as they are; NULL when none) and route (obs-route "@a,@b"; NULL);
 * a group start has mailbox = the group name and host NULL; a group end
 * has mailbox and host NULL.
 */
struct rfc5322_addr {
	char			*name;
	char			*route;
	char			*mailbox;
	char			*host;
	struct rfc5322_addr	*next;
};

/*
 * Parses the address-list (or mailbox-list) value v[0..len). Returns the
 * list (caller frees with rfc5322_addr_free), or NULL when the value holds
 * no address. Leniency: missing '@' or domain, unbalanced quotes, brackets
 * and comments, unterminated groups (closed at the end), stray commas.
 * At most RFC5322_ADDR_MAX entries.
 */
struct rfc5322_addr *rfc5322_addr_parse(const char *v, size_t len);
void rfc5322_addr_free(struct rfc5322_addr **list);

/* ---- rfc5322_date.c: dates ------------------------------------------ */

/* "Www, dd Mmm yyyy hh:mm:ss +zzzz" (31), with room for any int in a
 * struct tm */
#define RFC5322_DATE_MAX	160

/* English names, whatever the locale: "Sun".."Sat", "Jan".."Dec". */
extern const char rfc5322_days[7][4];
extern const char rfc5322_months[12][4];

/* t as an RFC 5322 date-time in UTC ("Sun, 6 Dec 2026 14:43:38 +0000");
 * returns out. */
char *rfc5322_date_format(time_t t, char out[RFC5322_DATE_MAX]);
/* Month 0-11 of s[0..n) when its first three letters name one (any case,
 * n >= 3: "Dec", "december"), else -1. */
int rfc5322_month(const char *s, size_t n);

/*
 * Parses an RFC 5322 date-time (leniently: day of week optional, seconds
 * optional, 2- and 3-digit years, obsolete and alphabetic zones, comments,
 * extra white space). On success returns 0, *t_r is the instant (UTC) and
 * *tz_r the zone offset in minutes east of UTC (either may be NULL).
 * Returns -1 when no date can be made of it.
 */
int rfc5322_date_parse(const char *v, size_t len, time_t *t_r, int *tz_r);

/*
 * Extracts the msg-ids ("<left@right>") of a Message-ID, In-Reply-To or
 * References value, in order, without their angle brackets, white space
 * removed from inside. Text outside angle brackets is skipped, and so is
 * an empty id; "<a <b@c>" gives "b@c". Returns the number
 * found (at most max); *ids_r is an array of that many strings (NULL when
 * 0), freed with rfc5322_msgids_free.
 */
size_t rfc5322_msgids_parse(const char *v, size_t len, size_t max,
    char ***ids_r);
void rfc5322_msgids_free(char ***ids, size_t n);

#endif
