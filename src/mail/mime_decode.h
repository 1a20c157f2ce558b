/*
 * mime_decode - Content-Transfer-Encoding decoders for message bodies
 * (base64, quoted-printable) that survive broken mail.
 *
 * Trust: input is untrusted message content. Both decoders always finish
 * and report whether the input was clean, so a caller can be lenient
 * (SEARCH decodes what it can) or strict (IMAP BINARY refuses corrupt
 * input). Output is bounded by out's max; input size bounds the rest.
 */
#ifndef TEM_MIME_DECODE_H
#define TEM_MIME_DECODE_H

#include <stddef.h>

#include "util/buf.h"

enum mime_cte {
	MIME_CTE_7BIT,		/* also the default, and 8bit/binary below */
	MIME_CTE_8BIT,
	MIME_CTE_BINARY,
	MIME_CTE_QP,
	MIME_CTE_BASE64,
	MIME_CTE_UNKNOWN,	/* x-uuencode and anything else */
};

/* The encoding named by a Content-Transfer-Encoding value (case and
   surrounding white space ignored; NULL or empty: 7bit). */
enum mime_cte mime_cte_from_name(const char *name, size_t len);

/*
 * Appends the decoding of base64 text in[0..len). White space and line
 * ends are skipped; decoding stops at the first '='. Returns 0 when the
 * input was clean, 1 when characters outside the alphabet were skipped
 * or data followed the padding or a partial group was dropped at the end
 * (what could be decoded is still appended), -1 when out's max was hit.
 */
int mime_decode_base64(const char *in, size_t len, struct buf *out);

/*
 * Appends the decoding of quoted-printable text in[0..len) (RFC 2045
 * 6.7): "=XX" escapes, soft line breaks ("=" at a line end), trailing
 * white space on lines removed, hard line breaks written as CRLF whether
 * the input has LF or CRLF. A bad escape is copied as it is. Returns 0
 * when clean, 1 when a bad escape was seen, -1 when out's max was hit.
 */
int mime_decode_qp(const char *in, size_t len, struct buf *out);

#endif
