/*
 * mta_data - I/O-free encoding of a stored message (LF line ends) into
 * the SMTP DATA stream (CRLF line ends, dot-stuffed, ending in
 * CRLF "." CRLF), in bounded chunks so a large message never sits twice
 * in memory.
 *
 * Trust: the content is ours (the queue), but it came from anyone. The
 * encoding guarantees the stream ends exactly once: every LF goes out as
 * CRLF, every line starting with "." gets one more, and a bare CR (which
 * the queue stores as content) is sent as is, except when a "." follows
 * it: then it goes out as CRLF and the dot is stuffed, so no "\r.\r" is
 * ever sent for a lenient receiver to take as the end (SMTP smuggling).
 * That one case changes the message (a CR becomes CRLF); nothing else
 * does.
 */
#ifndef TEM_MTA_DATA_H
#define TEM_MTA_DATA_H

#include <stdbool.h>
#include <stddef.h>

struct buf;

struct mta_data {
	const char	*content;
	size_t		 len;
	size_t		 off;	/* next input byte */
	bool		 bol;	/* at the start of a line */
	bool		 done;	/* the final "." CRLF was produced */
};

void mta_data_init(struct mta_data *d, const char *content, size_t len);

/*
 * Appends the encoding of at most chunk further input bytes to out (at
 * most 2 * chunk + 5 octets). Returns true once the whole message and the
 * end marker are in out (a message not ending in LF gets CRLF first).
 */
bool mta_data_encode(struct mta_data *d, struct buf *out, size_t chunk);

/* The size of the message with CRLF line ends, for MAIL's SIZE= and the
   check against the peer's SIZE (dot-stuffing not counted, RFC 1870). */
size_t mta_data_wire_size(const char *content, size_t len);

#endif
