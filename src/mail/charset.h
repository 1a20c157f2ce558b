/*
 * charset - text in any MIME charset to UTF-8, and case folding for
 * search, for the message parsers in src/mail.
 *
 * Trust: input is message content from anyone. Nothing here fails on bad
 * input: undecodable bytes become U+FFFD (or, for the 8-bit fallback, the
 * Latin-1 character of the byte), so the output is always valid UTF-8.
 * Conversion goes through glibc iconv; charset names are checked
 * (length, characters) before iconv sees them. Thread-safe.
 */
#ifndef TEM_CHARSET_H
#define TEM_CHARSET_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

/* Longest charset name passed to iconv; longer names are unknown. */
#define CHARSET_NAME_MAX	64

/*
 * Appends the UTF-8 form of in[0..len) (in charset) to out. NULL, empty,
 * "us-ascii", "utf-8" and unknown charsets take charset_utf8_fallback().
 * Returns 0, or -1 when the charset is unknown to iconv (the fallback
 * text was still appended), so callers can report [BADCHARSET]-like
 * conditions if they want. Appends stop silently at out's max.
 */
int charset_to_utf8(const char *charset, const char *in, size_t len,
    struct buf *out);

/* Appends in[0..len): valid UTF-8 sequences as they are, any other byte
   as the Latin-1 character of the same value (raw 8-bit header text). */
void charset_utf8_fallback(const char *in, size_t len, struct buf *out);

/* True when charset names one iconv knows (or UTF-8/ASCII). */
bool charset_known(const char *charset);

/*
 * Appends the case-folded form of the UTF-8 text in[0..len) to out: each
 * character lowered (towlower in C.UTF-8, so Latin, Greek, Cyrillic...),
 * runs of white space (SP, HTAB, CR, LF) collapsed to one space. Invalid
 * UTF-8 bytes are folded as Latin-1. Used on both sides of a SEARCH match.
 */
void charset_fold(const char *in, size_t len, struct buf *out);

#endif
