/*
 * deflate - one connection's pair of raw deflate streams (RFC 1951), the
 * way IMAP COMPRESS=DEFLATE (RFC 4978) uses them: what the peer sends is
 * inflated, what we send is deflated, each direction one endless stream
 * without zlib or gzip framing. I/O-free: bytes in, bytes out; util/io.c
 * puts it between the transport (socket or TLS) and the protocol.
 *
 * Trust: the inflate side takes untrusted bytes. It never writes more
 * than the room it is given, so the caller bounds memory; a corrupt
 * stream, or one that ends (RFC 4978: the stream never ends while the
 * connection lives), is an error from which the pair does not recover.
 *
 * Memory: about 300 KiB a pair (zlib's window and hash tables for level
 * DEFLATE_LEVEL, plus the 32 KiB inflate window).
 */
#ifndef TEM_DEFLATE_H
#define TEM_DEFLATE_H

#include <stdbool.h>
#include <stddef.h>

/* Fast: the output is compressed on the loop thread, like TLS. */
#define DEFLATE_LEVEL	1

struct deflate;

/* Where deflated bytes go (called zero or more times per call). */
typedef void deflate_sink(void *arg, const void *p, size_t n);

struct deflate *deflate_new(void);
void deflate_free(struct deflate **dp);

/*
 * Inflates from in (len bytes) into out (room bytes): *used_r is how much
 * of in was taken, *made_r how much of out was filled. Returns 0, or -1
 * for a corrupt or ended stream (then and later: the pair is dead).
 * Call again while in remains and out had room: zlib may stop early.
 */
int deflate_in(struct deflate *d, const void *in, size_t len, size_t *used_r,
    void *out, size_t room, size_t *made_r);

/*
 * Deflates len bytes of p, giving the compressed bytes to sink. flush:
 * end with a sync flush (Z_SYNC_FLUSH, RFC 4978 section 4: at the end of
 * each burst of responses) so the peer can inflate all of it now.
 */
void deflate_out(struct deflate *d, const void *p, size_t len, bool flush,
    deflate_sink *sink, void *arg);

#endif
