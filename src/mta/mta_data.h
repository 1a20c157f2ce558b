/*
 * mta_data - I/O-free encoding of a stored message (LF line ends) into
 * the SMTP DATA stream (CRLF line ends, dot-stuffed, ending in
 * CRLF "." CRLF), fed in pieces of any size so that a message is never
 * held in memory: the outbound client reads the queue file through a
 * fixed buffer and feeds each piece as it comes.
 *
 * Trust: the content is ours (the queue), but it came from anyone. The
 * encoding guarantees the stream ends exactly once: every LF goes out as
 * CRLF, every line starting with "." gets one more, and a bare CR (which
 * the queue stores as content) is sent as is, except when a "." follows
 * it: then it goes out as CRLF and the dot is stuffed, so no "\r.\r" is
 * ever sent for a lenient receiver to take as the end (SMTP smuggling).
 * That one case changes the message (a CR becomes CRLF); nothing else
 * does. A CR that ends a piece is held back until the next byte is
 * known, so the output does not depend on how the input was cut.
 */
#ifndef TEM_MTA_DATA_H
#define TEM_MTA_DATA_H

#include <stdbool.h>
#include <stddef.h>

struct buf;

struct mta_data {
	/* whole-message mode (mta_data_init/encode) only: */
	const char	*content;
	size_t		 len;
	size_t		 off;	/* next input byte */
	/* the encoder's state: */
	bool		 bol;	/* at the start of a line */
	bool		 cr;	/* a CR ended the last piece, not yet sent */
	bool		 done;	/* the final "." CRLF was produced */
};

/* ---- streaming: pieces of any size, in order ---- */

void mta_data_start(struct mta_data *d);
/* Appends the encoding of in[0..n) to out (at most 2 * n + 2 octets). */
void mta_data_feed(struct mta_data *d, const char *in, size_t n,
    struct buf *out);
/* Appends the end of the stream (CRLF first when the message did not end
 * in LF, then "." CRLF); nothing after the first call. */
void mta_data_end(struct mta_data *d, struct buf *out);

/* ---- a message in memory (tests, fuzzers) ---- */

void mta_data_init(struct mta_data *d, const char *content, size_t len);
/*
 * Appends the encoding of at most chunk further input bytes to out (at
 * most 2 * chunk + 5 octets). Returns true once the whole message and the
 * end marker are in out (a message not ending in LF gets CRLF first).
 */
bool mta_data_encode(struct mta_data *d, struct buf *out, size_t chunk);

/* ---- the size on the wire ---- */

/* The size of a message with CRLF line ends, for MAIL's SIZE= and the
 * check against the peer's SIZE (dot-stuffing not counted, RFC 1870),
 * counted piece by piece: zero the struct, feed every piece in order. */
struct mta_wire_count {
	size_t		 len;	/* bytes fed */
	size_t		 lf;	/* LFs among them */
	bool		 lf_end;	/* the last byte fed was LF */
};

void mta_wire_count_feed(struct mta_wire_count *w, const char *p, size_t n);
size_t mta_wire_count_total(const struct mta_wire_count *w);
/* The same for a message in memory. */
size_t mta_data_wire_size(const char *content, size_t len);

#endif
