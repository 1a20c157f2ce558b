/*
 * smtp_data - incremental decoders for the DATA and BDAT message bodies.
 *
 * Trust: the bytes come from an untrusted client, possibly crafted to make
 * us and the next hop disagree about where a message ends (SMTP
 * smuggling). Both decoders are I/O-free and byte-exact: feeding the same
 * stream in any chunking gives the same output, flags and counters.
 *
 * Output line ends are LF: CRLF becomes LF, a bare LF stays LF, a bare CR
 * stays CR. The flags say what the client did, so the session can refuse
 * (bare LF/CR, NUL) or accept as its policy says.
 */
#ifndef TEM_SMTP_DATA_H
#define TEM_SMTP_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

struct smtp_data {		/* smtp_data_init() before use */
	int		 state;		/* private */
	uint64_t	 size;		/* decoded bytes seen (stored or not) */
	uint64_t	 max;		/* 0: no limit of our own */
	bool		 too_big;	/* size went over max, or out was full */
	bool		 nul;		/* a NUL byte was seen */
	bool		 bare_lf;	/* an LF not preceded by CR */
	bool		 bare_cr;	/* a CR not followed by LF */
	unsigned long	 lines;		/* line ends written ("\n" count) */
	/* Header section, judged on the decoded (LF) stream. */
	bool		 in_header;	/* no empty line seen yet */
	uint64_t	 header_size;	/* once !in_header: decoded offset of
					   the body (just past the empty line) */
	unsigned	 received;	/* "Received:" fields in the header
					   section (name any case, WSP allowed
					   before the colon), for loop checks */
	int		 hdr_match;	/* private */
	bool		 hdr_bol;	/* private */
};

/* Resets d for one message; max bounds size (0: unbounded). */
void smtp_data_init(struct smtp_data *d, uint64_t max);

/*
 * DATA mode: consumes up to len bytes of the wire stream after the 354 and
 * appends the decoded message to out: line ends as above, and a leading
 * "." removed from every line that follows a real CRLF (or starts the
 * data). The end is ONLY CRLF "." CRLF whose first CRLF is real (or the
 * start of data); "\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n" and friends are
 * content. Returns the bytes consumed; *done is true once the terminating
 * "." CRLF has been consumed, and then the rest of in (the next pipelined
 * command) is left unconsumed; further calls consume nothing.
 * When the decoded size passes d->max, or out (a buf with a max) is full,
 * too_big is set, out keeps exactly the bytes that fitted and grows no
 * more, and the input is still consumed up to the end marker.
 */
size_t smtp_data_feed(struct smtp_data *d, const char *in, size_t len,
    struct buf *out, bool *done);
/* True once the DATA end marker has been consumed. */
bool smtp_data_done(const struct smtp_data *d);

/*
 * BDAT mode: chunk bytes verbatim (no dot-unstuffing, no end marker) with
 * the same line-end normalisation and flags across chunk boundaries. A CR
 * at the end of a chunk is held until the next byte is known; call
 * smtp_bdat_finish after the LAST chunk to write it out (as a bare CR).
 */
void smtp_bdat_feed(struct smtp_data *d, const char *in, size_t len,
    struct buf *out);
void smtp_bdat_finish(struct smtp_data *d, struct buf *out);

#endif
