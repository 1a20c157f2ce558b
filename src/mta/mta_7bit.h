/*
 * mta_7bit - the 8-bit to 7-bit downgrade (RFC 6152 section 3 / RFC 1652)
 * of a stored message (LF line ends) for a peer that does not offer
 * 8BITMIME, streaming: fed in pieces of any size, it keeps only the
 * current line, the current part's header section and the stack of open
 * multipart boundaries, so memory is bounded (MTA7_LINE_MAX,
 * MTA7_HEADER_MAX, MTA7_DEPTH) whatever the message size. Its output
 * (LF line ends, 7-bit) then goes through mta_data_feed as any message.
 *
 * What it does, part by part as the MIME structure is parsed:
 *  - multipart (any subtype): the structure is kept (boundaries, preamble, epilogue);
 *    a Content-Transfer-Encoding of 8bit/binary becomes 7bit;
 *  - message/rfc822: the same, and the enclosed message is converted too;
 *  - leaves already base64 or quoted-printable: copied unchanged;
 *  - other text leaves (and parts without Content-Type): re-encoded
 *    quoted-printable, their line breaks kept as hard breaks;
 *  - other leaves (application, image ... sent as 8bit/binary):
 *    re-encoded base64 (their LF line ends as CRLF, canonical form).
 * A re-encoded part gets its Content-Transfer-Encoding field replaced
 * (and the top-level header a MIME-Version when it had none).
 *
 * Cannot be fixed (an error: the caller bounces the message, 5.6.3):
 * 8-bit octets in a header section (that needs SMTPUTF8), or in a part
 * that is copied (preamble, epilogue, a base64 or QP part), a line or a
 * header section over the limits, multiparts nested deeper than
 * MTA7_DEPTH.
 *
 * Any DKIM signature over the body or the changed fields breaks: every
 * MTA that downgrades does this (RFC 6376 section 5.3 asks signers to
 * send 7-bit to avoid it).
 *
 * Trust: the content came from anyone; all limits are checked here.
 */
#ifndef TEM_MTA_7BIT_H
#define TEM_MTA_7BIT_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

#define MTA7_LINE_MAX	(64 * 1024)	/* one line, in octets */
#define MTA7_HEADER_MAX	(64 * 1024)	/* one part's header section */
#define MTA7_DEPTH	16		/* nested multiparts */
#define MTA7_BOUNDARY_MAX 70		/* RFC 2046 5.1.1 */

enum mta7_enc { MTA7_COPY, MTA7_QP, MTA7_B64 };

struct mta_7bit {
	struct buf	 line;		/* the line being collected */
	struct buf	 hdr;		/* the header section being collected */
	bool		 in_header;
	bool		 top;		/* the next header is the message's */
	enum mta7_enc	 enc;
	char		 bnd[MTA7_DEPTH][MTA7_BOUNDARY_MAX + 1];
	int		 depth;
	/* base64 state */
	unsigned char	 rem[3];
	int		 nrem;
	int		 col;
	bool		 lf_pending;	/* a line end not yet encoded */
	const char	*error;		/* static text once failed */
};

void mta_7bit_start(struct mta_7bit *e);
/* Appends the conversion of in[0..n) to out. -1 (e->error says why, a
 * "5.6.3 ..." text) once the message cannot be converted. */
int mta_7bit_feed(struct mta_7bit *e, const char *in, size_t n,
    struct buf *out);
/* The end of the message: flushes what is held. -1 as above. */
int mta_7bit_end(struct mta_7bit *e, struct buf *out);
void mta_7bit_free(struct mta_7bit *e);

#endif
