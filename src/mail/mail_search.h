/*
 * mail_search - what IMAP SEARCH, SORT and THREAD need from a message:
 * decoded, case-insensitive substring matching on header fields and body
 * text, the sent date, the RFC 5256 base subject and the message ids.
 *
 * Matching: both sides are folded by charset_fold() (UTF-8, lowercased
 * per character, white space runs made one space); header values are
 * unfolded and their RFC 2047 words decoded; bodies of text/ parts are
 * decoded (base64, quoted-printable) and converted from their charset to
 * UTF-8; the headers of attached message/rfc822 parts count as body text.
 * Non-text leaves (images, application/...) are not searched.
 *
 * Trust: messages are untrusted; decoding is lenient and bounded by the
 * message size (each part is decoded on its own, then dropped). Keys come
 * from the IMAP client, already converted to UTF-8 by the caller.
 */
#ifndef TEM_MAIL_SEARCH_H
#define TEM_MAIL_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "mail/mime.h"

/* The folded form of a UTF-8 search key (caller frees); *len_r its
   length. Fold each key once, then match many messages. */
char *mail_search_fold(const char *key, size_t len, size_t *len_r);

/*
 * SEARCH HEADER/SUBJECT/FROM/TO/CC/BCC: true when a field called name in
 * the message's (top-level) header has a decoded value containing the
 * folded key. An empty key matches when the field exists.
 */
bool mail_search_header(const struct mime_msg *m, const char *name,
    const char *fkey, size_t fkey_len);

/* SEARCH FROM/TO/CC/BCC: the same on the parsed addresses of the fields
   (mail_key_addr_text), not their raw text: comments inside an address
   and quoting do not hide it. */
bool mail_search_addr(const struct mime_msg *m, const char *name,
    const char *fkey, size_t fkey_len);

/* Both without a MIME parse: data[0..len) starts with the message's
   header, which ends at its first empty line (as the root part's does);
   addr: as mail_search_addr. A header-only key needs no more. */
bool mail_search_fields(const char *data, size_t len, const char *name,
    bool addr, const char *fkey, size_t fkey_len);

/* What both do for one field: true when the raw value v[0..len) (from
   the message or a header cache), decoded (addr: as mail_key_addr_text),
   contains the folded key; an empty key always matches. Pure. */
bool mail_search_value(const char *v, size_t len, bool addr,
    const char *fkey, size_t fkey_len);

/* SEARCH BODY: the decoded text of the body contains the folded key (an
   empty key always matches). */
bool mail_search_body(const struct mime_msg *m, const char *fkey,
    size_t fkey_len);

/* SEARCH TEXT: the decoded header (every field as "Name: value") or the
   body contains the folded key. */
bool mail_search_text(const struct mime_msg *m, const char *fkey,
    size_t fkey_len);

/*
 * SENTBEFORE/SENTON/SENTSINCE and SORT DATE: the Date: field of the
 * top-level header. Returns 0 and sets *t_r (the instant, may be NULL)
 * and *day_r (may be NULL: midnight UTC of the calendar day as written,
 * in the sender's zone, which RFC 9051 compares against); -1 when there
 * is no Date field or it cannot be parsed.
 */
int mail_search_sent_date(const struct mime_msg *m, time_t *t_r,
    time_t *day_r);

/*
 * The RFC 5256 2.1 base subject of a raw Subject value (RFC 2047 decoded
 * to UTF-8, white space collapsed, "Re:", "Fwd:", "[blob]" leaders and
 * "(fwd)" trailers and "[fwd: ...]" wrappers removed). Not case-folded:
 * compare with charset_fold() applied. *is_reply_r (may be NULL): true
 * when a reply/forward marker was removed (THREAD=ORDEREDSUBJECT).
 * Caller frees.
 */
char *mail_base_subject(const char *raw, size_t len, bool *is_reply_r);

/* The message's base subject (of its first Subject field, as SORT and
   THREAD take it and Dovecot does; "" without). */
char *mail_search_base_subject(const struct mime_msg *m, bool *is_reply_r);

/*
 * THREAD=REFERENCES (RFC 5256 REFERENCES step 1): the message's
 * Message-ID (first id of the field, without angle brackets; NULL when
 * none; caller frees) and its parent chain: the ids of References, or
 * when that has none the first id of In-Reply-To. Returns the number of
 * ids in *ids_r (free with rfc5322_msgids_free).
 */
char *mail_thread_message_id(const struct mime_msg *m);
size_t mail_thread_references(const struct mime_msg *m, char ***ids_r);

#endif
