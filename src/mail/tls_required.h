/*
 * tls_required - the "TLS-Required: No" header field of RFC 8689 3: the
 * sender asks that the recipient domain's DANE or MTA-STS policy not stop
 * the message (it may then go with opportunistic TLS, or in clear).
 *
 * Trust: message content from anyone; a forward scan of the header
 * section, bounded by its length, no allocation.
 */
#ifndef TEM_TLS_REQUIRED_H
#define TEM_TLS_REQUIRED_H

#include <stdbool.h>
#include <stddef.h>

/* True when the header section of msg[0..len) (up to its empty line) has
 * a TLS-Required field whose value, white space and folding aside, is
 * "No" (any case: the only value RFC 8689 defines). */
bool tls_required_no(const char *msg, size_t len);

#endif
