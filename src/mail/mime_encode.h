/*
 * mime_encode - writing header fields and bodies tem composes itself:
 * unstructured header fields as safe, folded text with RFC 2047 encoded
 * words where needed, display names, and quoted-printable bodies.
 *
 * Trust: the text handed in may be anything (a script's :subject, a
 * remote message's Subject): control characters (CR and LF among them)
 * become spaces, invalid UTF-8 octets '?', so a value can never end its
 * field early or add one. I/O-free.
 *
 * Standards: RFC 5322 2.2.3 (folding, 78-column lines), RFC 2047
 * (encoded words: "=?utf-8?B?...?=", at most 75 characters each, split
 * at character boundaries), RFC 2045 6.7 (quoted-printable, 76-column
 * lines). Output lines end in LF, as tem stores messages.
 */
#ifndef TEM_MIME_ENCODE_H
#define TEM_MIME_ENCODE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

/*
 * Appends "Name: value\n" for an unstructured field (Subject, Comments):
 * value[0..len) cleaned as above; all of it as encoded words when it has
 * non-ASCII, a word longer than a line, or something that reads like an
 * encoded word, else as is; folded at spaces to stay within 78 columns.
 */
void mime_encode_field(struct buf *b, const char *name, const char *value,
    size_t len);

/* Appends "Name: value\n" with value[0..len) as is (already clean, no
 * encoding: also for fields MIME must not encode, such as a DSN's),
 * folded at spaces before column fold_at where the words allow. */
void mime_fold_field(struct buf *b, const char *name, const char *value,
    size_t len, size_t fold_at);

/*
 * Appends a display name for a mailbox ("Name <a@b>"): as is when it is
 * only atoms and spaces, a quoted string when printable ASCII, encoded
 * words when it has non-ASCII. Cleaned like a field; folding is the
 * caller's (encoded words are joined by "\n " when one would pass 76
 * columns from *col, which is updated).
 */
void mime_encode_phrase(struct buf *b, const char *name, size_t len,
    size_t *col);

/* True when text[0..len) should not go as 7bit: an octet >= 0x80, a NUL,
 * a bare CR, or a line longer than 76 octets (RFC 5322 allows 998, but
 * a QP soft break keeps every line of what tem writes within 78). */
bool mime_needs_qp(const char *text, size_t len);

/*
 * Appends text[0..len) as quoted-printable (RFC 2045 6.7): LF or CRLF
 * line ends become LF hard breaks, lines are soft-broken to 76 columns,
 * '=' and other non-printables as =XX, white space before a line end
 * encoded, and "From " at a line start as "=46rom " (mbox safety). Ends
 * with a line end.
 */
void mime_encode_qp(struct buf *b, const char *text, size_t len);

/* True when s[0..len) has an octet >= 0x80 (8BITMIME, or an 8bit CTE). */
bool mime_has_8bit(const char *s, size_t len);

/* Appends text[0..len) with CRLF turned into LF and a final LF added
 * when missing (a 7bit body). */
void mime_copy_lf(struct buf *b, const char *text, size_t len);

#endif
