/*
 * base64 - RFC 4648 base64 over OpenSSL's block coder, strict on input.
 */
#ifndef TEM_BASE64_H
#define TEM_BASE64_H

#include <stddef.h>

#include "util/buf.h"

/* Appends the decoding of in to out. -1 on bad input (characters outside
 * the alphabet, wrong padding, length not a multiple of 4) or when out's
 * max would be exceeded. */
int base64_decode(const char *in, size_t len, struct buf *out);
/* Appends the encoding of in to out (-1 only when over out's max). */
int base64_encode(const void *in, size_t len, struct buf *out);

#endif
