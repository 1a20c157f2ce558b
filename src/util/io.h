/*
 * io - one object hiding a client socket, its optional TLS layer, its
 * input and output buffers and its idle timer (STYLE.md habit 3).
 *
 * Trust: carries untrusted bytes; never interprets them. Input is bounded:
 * the loop stops reading from the socket while IO_INPUT_MAX bytes wait
 * unprocessed, so a fast sender cannot grow memory.
 *
 * Events reach the owner's callback: IO_EV_DATAIN (new input), IO_EV_DRAINED
 * (all output written), IO_EV_TIMEOUT (no input for the idle time),
 * IO_EV_EOF (peer closed), IO_EV_ERROR, IO_EV_TLS_READY (handshake done).
 * The owner may io_free() inside its callback; io.c then finishes the free
 * after the callback returns and touches nothing else.
 */
#ifndef TEM_IO_H
#define TEM_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include "util/buf.h"

struct loop;
struct io;

#define IO_INPUT_MAX	(64 * 1024)
/* Reading stops while more output than this waits for the client. */
#define IO_OUTPUT_HIGH	(256 * 1024)

enum io_event {
	IO_EV_DATAIN,
	IO_EV_DRAINED,
	IO_EV_TIMEOUT,
	IO_EV_EOF,
	IO_EV_ERROR,
	IO_EV_TLS_READY,
	IO_EV_CONNECTED,
};

typedef void io_cb(struct io *io, enum io_event ev, void *arg);

/* Takes ownership of fd (closed by io_free). Reading starts at once. */
struct io *io_new(struct loop *l, int fd, io_cb *cb, void *arg);
void io_free(struct io **io);
int io_fd(const struct io *io);

/*
 * Starts a server-side TLS handshake with ssl (an SSL * from tls/, owned
 * by io from now on). Input not yet read by the owner is discarded: bytes
 * a client pipelined after STARTTLS must not be taken as commands.
 * IO_EV_TLS_READY follows on success, IO_EV_ERROR on failure.
 */
void io_start_tls(struct io *io, void *ssl);
/* The same for the client side (outbound SMTP): IO_EV_TLS_READY or
 * IO_EV_ERROR follows. */
void io_start_tls_client(struct io *io, void *ssl);

/*
 * Outbound: a non-blocking connect to sa (from bind_sa when not NULL).
 * IO_EV_CONNECTED follows on success, IO_EV_ERROR on failure (errno-like
 * code in io_error()). NULL when no socket could be made (*errno_r).
 */
struct io *io_connect(struct loop *l, const struct sockaddr *sa,
    socklen_t salen, const struct sockaddr *bind_sa, socklen_t bind_len,
    io_cb *cb, void *arg, int *errno_r);
/* The socket error of the last IO_EV_ERROR, 0 if none known. */
int io_error(const struct io *io);

/* The SSL * once TLS is on, else NULL. */
void *io_ssl(const struct io *io);

/* Idle timeout in seconds (0: none): no input for that long, or output
 * waiting that long without the client taking any. */
void io_set_timeout(struct io *io, unsigned sec);
void io_pause_read(struct io *io);
void io_resume_read(struct io *io);

/*
 * Compression (RFC 4978 COMPRESS=DEFLATE) as a layer above the transport,
 * so inside TLS: from now on what comes in is inflated before the owner
 * sees it (io_peek, io_getline ... give inflated bytes) and what goes out
 * is deflated, sync-flushed once per loop pass. Bytes queued before the
 * call go out as they were. Not undone; STARTTLS must not follow.
 *
 * Budget: the owner says how many inflated bytes it will take
 * (io_inflate_budget sets, io_inflate_allow adds; unlimited at start),
 * e.g. per command. Over it, or on a corrupt stream, IO_EV_ERROR follows
 * and io_inflate_error() says "limit" or "corrupt". At most IO_INPUT_MAX
 * inflated bytes wait unread, as for plain input.
 */
void io_start_deflate(struct io *io);
bool io_deflating(const struct io *io);
void io_inflate_budget(struct io *io, uint64_t n);
void io_inflate_allow(struct io *io, uint64_t n);
/* NULL unless the deflate layer failed; *inflated_r: bytes inflated. */
const char *io_inflate_error(const struct io *io, uint64_t *inflated_r);

/* Input. */
size_t io_inlen(const struct io *io);
/* Reading is held because IO_OUTPUT_HIGH of output waits unread: the
 * connection's timeout ends it if the client never reads. */
bool io_output_held(const struct io *io);
/* The first contiguous run of input; *len_r is 0 when none. */
const char *io_peek(struct io *io, size_t *len_r);
void io_drain(struct io *io, size_t n);
/* Discards all input already buffered. */
void io_drain_all(struct io *io);
/*
 * Takes one line ending in LF (a CR before it is removed too) into line
 * (reset first), without its line end. Returns 1 for a line, 0 when no
 * complete line is buffered yet, -1 when more than max bytes came without
 * a line end: those bytes are dropped, and so is the rest of that line
 * when it comes, so the caller only has to reply.
 */
int io_getline(struct io *io, size_t max, struct buf *line);

/* Output (unbounded here: callers limit what they queue). */
void io_write(struct io *io, const void *p, size_t n);
void io_printf(struct io *io, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
size_t io_outlen(const struct io *io);
/* One non-blocking write of the queued output, now (clear text only;
 * best effort before an io_free that must not wait for a drain). */
void io_flush_now(struct io *io);

#endif
