/*
 * mutf7 - modified UTF-7 (RFC 3501 section 5.1.3), the one codec shared by
 * IMAP (mailbox names for IMAP4rev1 clients) and the mail store (folder
 * names on disk).
 *
 * Printable US-ASCII stands for itself, "&" is "&-", everything else is
 * UTF-16 in modified base64 (alphabet "A-Za-z0-9+,") between "&" and "-".
 * `also` names printable characters that are shifted too (the store passes
 * "." so that "." only separates levels on disk); NULL for none.
 *
 * Decoding is strict: it accepts only what the encoder could produce for
 * some input, bit for bit within each run (no printable ASCII inside a
 * run unless it is in `also`, no `also` character outside one, no lone
 * surrogate, zero padding bits, no run right after another). Control characters decoded from a run
 * are returned: callers refuse them where names may not hold them.
 * Both functions are bounded by the length given and never read past it.
 */
#ifndef TEM_MUTF7_H
#define TEM_MUTF7_H

#include <stddef.h>

#include "util/buf.h"

/* Appends the encoding of UTF-8 s[0..len) to out. -1 when s is not
 * well-formed UTF-8 or out's max is reached (out then holds a part). */
int mutf7_encode(struct buf *out, const char *s, size_t len,
    const char *also);
/* Appends the UTF-8 of modified UTF-7 s[0..len) to out. -1 when s is not
 * valid modified UTF-7 (see above) or out's max is reached. */
int mutf7_decode(struct buf *out, const char *s, size_t len,
    const char *also);

#endif
