/*
 * imap_msgstruct - the IMAP views of a parsed message: ENVELOPE, BODY and
 * BODYSTRUCTURE (RFC 9051 7.5.2, RFC 3501 7.4.2), and the IMAP string
 * encodings they use. Sections (BODY[...], BINARY[...]) are in
 * imap_section.h.
 *
 * Output follows Dovecot 2.3 byte for byte where we checked (golden files
 * tests/data/mime/ *.ref hold Dovecot's answers): type, subtype and
 * parameter names as written in the message, "charset" "us-ascii" added
 * to text parts without one, a multipart without parts shown with one
 * empty text/plain part, Subject and display names through
 * imap_append_human(), unknown mailbox/host as MISSING_MAILBOX /
 * MISSING_DOMAIN, the last Subject/Date/Message-ID/In-Reply-To field and
 * every address field of a name counted.
 *
 * Trust: input is a struct mime_msg over untrusted data; every value is
 * written as NIL, a quoted string or a literal {n}CRLF (8-bit, CR, LF or
 * many quote characters), so nothing in a message can break the IMAP
 * response syntax. Output sizes are bounded by the message size.
 */
#ifndef TEM_IMAP_MSGSTRUCT_H
#define TEM_IMAP_MSGSTRUCT_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/mime.h"
#include "util/buf.h"

/* Appends s as an IMAP nstring: NIL for NULL, a quoted string when it has
   no CR, LF, NUL or 8-bit octet and at most 4 '"' or '\\', else a
   literal. CR and LF are dropped first when nolf. */
void imap_append_nstring(struct buf *out, const char *s, bool nolf);

/* Appends s[0..len) for human readers (Subject, display names): white
   space runs collapsed, CR/LF removed, trimmed; as a quoted string when
   nothing needed changing, else as a literal (as Dovecot does). */
void imap_append_human(struct buf *out, const char *s, size_t len);

/*
 * Appends the ENVELOPE list (with its parentheses) of message msg: the
 * root of m, or an embedded message (part->message). Returns 0, or -1
 * when out's max was hit.
 */
int imap_envelope(const struct mime_msg *m, const struct mime_part *msg,
    struct buf *out);

/*
 * Appends the BODY (extended false) or BODYSTRUCTURE (extended true) of
 * part p (m->root for the message) with its parentheses. Returns 0, or -1
 * when out's max was hit.
 */
int imap_bodystructure(const struct mime_msg *m, const struct mime_part *p,
    bool extended, struct buf *out);

/* RFC822.SIZE: the message's size with bare LFs counted as CRLF. */
size_t imap_rfc822_size(const struct mime_msg *m);

#endif
