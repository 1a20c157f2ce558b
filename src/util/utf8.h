/*
 * utf8 - the one UTF-8 decoder, validator and encoder (RFC 3629).
 *
 * Well-formed means what RFC 3629 section 4 allows: no overlong forms, no
 * surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated
 * sequence. Every function is bounded by the length it is given and never
 * reads past it; NUL is an ordinary character here (callers that refuse
 * it check for it themselves).
 */
#ifndef TEM_UTF8_H
#define TEM_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define UTF8_REPLACEMENT	0xFFFDu

/* Decodes the sequence at s[0..len), len > 0. Returns its length (1-4)
 * with the code point in *cp_r, or 0 when it is malformed or cut short
 * (*cp_r untouched). */
size_t utf8_decode(const char *s, size_t len, uint32_t *cp_r);
/* True when all of s[0..len) is well-formed UTF-8. */
bool utf8_valid(const char *s, size_t len);
/* True for C0 controls, DEL and C1 controls (U+0080..U+009F). */
static inline bool
utf8_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}
/* Writes cp's UTF-8 to out[0..4) and returns its length; a surrogate or
 * a value above U+10FFFF is written as U+FFFD. */
size_t utf8_put(char out[4], uint32_t cp);
/* Appends cp's UTF-8 to b (as utf8_put); -1 only when over b's max. */
int utf8_append(struct buf *b, uint32_t cp);

#endif
