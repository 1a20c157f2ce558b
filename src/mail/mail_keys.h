/*
 * mail_keys - what IMAP SORT and SEARCH compare of a header field value:
 * RFC 5256 sort keys (the first address's addr-mailbox, the base
 * subject), RFC 5957 display keys, and the text the SEARCH address keys
 * (FROM, TO, CC, BCC) are matched against.
 *
 * Every function is pure: it reads the raw field value (the bytes after
 * the colon, folding included, as rfc5322_field.value holds them, or as a
 * header cache stores them) and returns a new string; no I/O, no globals,
 * thread-safe. So a caller may compute keys from the message file or
 * from cached field values and get the same answers.
 *
 * Collation: a sort key is a byte string to compare with strcmp(). It is
 * the UTF-8 text with white space runs made one space, non-ASCII letters
 * lowered (charset_fold) and ASCII letters raised: i;ascii-casemap (RFC
 * 4790 9.2) for ASCII, which RFC 5256 requires, so "[" and "_" sort after
 * the letters as in Dovecot; beyond ASCII case-insensitive too.
 *
 * Trust: values are message content from anyone; everything is bounded
 * by the value's length (addresses by RFC5322_ADDR_MAX).
 */
#ifndef TEM_MAIL_KEYS_H
#define TEM_MAIL_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

/* Appends the collation key of UTF-8 text s[0..len) to out. */
void mail_key_collate(const char *s, size_t len, struct buf *out);

/*
 * SORT FROM, TO, CC (RFC 5256 2.2): the key of the addr-mailbox of the
 * first address of an address-list value, as IMAP ENVELOPE gives it: a
 * group's first "address" is its start marker, whose mailbox is the group
 * name (as Dovecot sorts). Comments and display names do not count.
 * "" when the value holds no address. Caller frees.
 */
char *mail_key_addr_mailbox(const char *v, size_t len);

/*
 * SORT DISPLAYFROM, DISPLAYTO (RFC 5957): the key of the first address's
 * display name with RFC 2047 words decoded (a trailing comment counts as
 * a name, as in ENVELOPE); without one, its "mailbox@host" (or the group
 * name). "" when there is no address. Caller frees.
 */
char *mail_key_addr_display(const char *v, size_t len);

/*
 * SORT SUBJECT (RFC 5256 2.1): the key of the base subject of a raw
 * Subject value (mail_base_subject: encoded words decoded first, then
 * "Re:", "Fwd:", "Fw:" in any case and nesting, "[blob]" prefixes,
 * "(fwd)" trailers and "[Fwd: ...]" wrappers removed). *is_reply_r (may
 * be NULL): a reply or forward marker was removed. Caller frees.
 */
char *mail_key_subject(const char *v, size_t len, bool *is_reply_r);

/*
 * SEARCH FROM/TO/CC/BCC: appends the parsed addresses of value v as one
 * UTF-8 text to out: "Name <mailbox@host>" or "mailbox@host" per address
 * (display names and comments-as-names decoded, quoting and other
 * comments gone, white space inside an address gone), group starts as
 * "group: " and ends as ";", addresses separated by ", ". So a key such
 * as "user@domain.org" finds "<user (c)@ (c) domain.org>", and a display
 * name or a substring of either still matches.
 */
void mail_key_addr_text(const char *v, size_t len, struct buf *out);

#endif
