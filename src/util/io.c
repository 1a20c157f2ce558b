/*
 * io - bufferevent-backed client connections (see io.h).
 *
 * A plain connection is a socket bufferevent; TLS replaces it by an
 * OpenSSL socket bufferevent on the same fd (not a filter over the plain
 * one: one buffer layer, and nothing read before the switch survives it).
 * The fd is closed by io.c itself, never by libevent, so the switch cannot
 * close it.
 *
 * Compression (io_start_deflate) is a layer above the bufferevent, so it
 * sits inside TLS: input is inflated from the bufferevent's input into
 * io->z->in, which the owner reads as it would the plain input; output is
 * deflated straight into the bufferevent's output and sync-flushed once
 * per loop pass (the flush event), so a burst of responses costs one
 * flush, not one per line.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "util/deflate.h"
#include "util/io.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xmalloc.h"

struct io {
	struct loop		*loop;
	struct bufferevent	*bev;
	int			 fd;
	io_cb			*cb;
	void			*arg;
	void			*ssl;
	unsigned		 timeout;
	int			 in_cb;		/* callback nesting depth */
	bool			 dead;		/* freed inside a callback */
	bool			 skip_line;	/* dropping a too-long line */
	bool			 paused;
	bool			 out_full;	/* reading held: output high */
	bool			 connecting;
	int			 error;
	struct io_z		*z;		/* compression, when on */
};

/* The deflate layer (io_start_deflate). */
struct io_z {
	struct deflate		*d;
	struct evbuffer		*in;		/* inflated, not yet read */
	struct event		*flush_ev;	/* sync flush after a burst */
	bool			 flush_pending;
	bool			 more;		/* zlib may hold more output */
	uint64_t		 budget;	/* bytes still allowed */
	uint64_t		 inflated;	/* in all */
	const char		*why;		/* the inflate side failed */
};

static void io_z_free(struct io *io);
static void io_z_flush(struct io *io);

/* The owner's input: inflated bytes when compressing. */
static struct evbuffer *
io_in(const struct io *io)
{
	return io->z ? io->z->in : bufferevent_get_input(io->bev);
}

static void io_setup_bev(struct io *io);
static void io_switch_tls(struct io *io, void *ssl,
    enum bufferevent_ssl_state st);

/* Calls the owner; returns false when the owner freed io meanwhile. */
static bool
io_emit(struct io *io, enum io_event ev)
{
	io->in_cb++;
	io->cb(io, ev, io->arg);
	io->in_cb--;
	if (io->dead && io->in_cb == 0) {
		io->dead = false;
		io_free(&io);
		return false;
	}
	return !io->dead;
}

/*
 * Inflates what the transport holds into z->in while less than
 * IO_INPUT_MAX waits there (the bound per read: a tiny compressed stream
 * never inflates into more memory than plain input could take). Returns
 * -1 for a corrupt stream or one over its budget (z->why says which).
 */
static int
io_inflate(struct io *io)
{
	struct evbuffer *raw = bufferevent_get_input(io->bev);
	struct io_z *z = io->z;

	while (evbuffer_get_length(raw) > 0 || z->more) {
		size_t have = evbuffer_get_length(z->in), room, used, made;
		struct evbuffer_iovec src = { NULL, 0 }, dst;
		int r;

		if (have >= IO_INPUT_MAX)
			break;
		room = IO_INPUT_MAX - have;
		/* one byte past the budget is enough to see it exceeded */
		if (room > z->budget)
			room = (size_t)z->budget + 1;
		if (evbuffer_get_length(raw) > 0)
			(void)evbuffer_peek(raw, -1, NULL, &src, 1);
		if (evbuffer_reserve_space(z->in, (ev_ssize_t)room, &dst, 1) < 1)
			log_panic("evbuffer_reserve_space failed");
		r = deflate_in(z->d, src.iov_base, src.iov_len, &used,
		    dst.iov_base, room, &made);
		z->more = r == 0 && made == room;
		dst.iov_len = made;
		evbuffer_commit_space(z->in, &dst, 1);
		evbuffer_drain(raw, used);
		z->inflated += made;
		if (r < 0) {
			z->why = "corrupt";
			return -1;
		}
		if (made > z->budget) {
			z->budget = 0;
			z->why = "limit";
			return -1;
		}
		z->budget -= made;
		if (used == 0 && made == 0)
			break;
	}
	return 0;
}

/* Compressed input waits that the owner has not seen inflated yet. */
static bool
io_z_waiting(const struct io *io)
{
	return io->z && (io->z->more ||
	    evbuffer_get_length(bufferevent_get_input(io->bev)) > 0);
}

/* Passes over compressed input in one read callback before the others
 * get their turn. */
#define IO_INFLATE_PASSES	16

static void
io_read_cb(struct bufferevent *bev, void *arg)
{
	struct io *io = arg;

	for (unsigned pass = 0;; pass++) {
		if (io->z && io_inflate(io) < 0) {
			io_emit(io, IO_EV_ERROR);
			return;
		}
		if (!io_emit(io, IO_EV_DATAIN))
			return;
		/* compressed input may wait behind what the owner just took */
		if (io->paused || !io_z_waiting(io) ||
		    evbuffer_get_length(io->z->in) >= IO_INPUT_MAX)
			break;
		if (pass + 1 >= IO_INFLATE_PASSES) {
			bufferevent_trigger(bev, EV_READ,
			    BEV_TRIG_DEFER_CALLBACKS |
			    BEV_TRIG_IGNORE_WATERMARKS);
			break;
		}
	}
	/* Backpressure: a client that sends commands but does not read the
	 * replies stops being read once IO_OUTPUT_HIGH waits for it. */
	if (evbuffer_get_length(bufferevent_get_output(bev)) > IO_OUTPUT_HIGH &&
	    !io->out_full) {
		io->out_full = true;
		bufferevent_disable(bev, EV_READ);
	}
}

static void
io_write_cb(struct bufferevent *bev, void *arg)
{
	struct io *io = arg;

	/* The callback may be stale: the buffer emptied, then more was
	 * queued before it ran. Drained means drained now. */
	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	if (io->z && io->z->flush_pending)
		return;		/* the flush writes more, then drains */
	if (io->out_full) {
		io->out_full = false;
		if (!io->paused) {
			bufferevent_enable(bev, EV_READ);
			bufferevent_trigger(bev, EV_READ,
			    BEV_TRIG_DEFER_CALLBACKS |
			    BEV_TRIG_IGNORE_WATERMARKS);
		}
	}
	io_emit(io, IO_EV_DRAINED);
}

static void
io_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct io *io = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (io->connecting) {
			io->connecting = false;
			io_emit(io, IO_EV_CONNECTED);
		} else
			io_emit(io, IO_EV_TLS_READY);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		io_emit(io, IO_EV_TIMEOUT);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		io_emit(io, IO_EV_EOF);
		return;
	}
	io->error = EVUTIL_SOCKET_ERROR();
	io_emit(io, IO_EV_ERROR);
}

static void
io_setup_bev(struct io *io)
{
	bufferevent_setcb(io->bev, io_read_cb, io_write_cb, io_event_cb, io);
	bufferevent_setwatermark(io->bev, EV_READ, 0, IO_INPUT_MAX);
	io_set_timeout(io, io->timeout);
	if (io->paused)
		bufferevent_enable(io->bev, EV_WRITE);
	else
		bufferevent_enable(io->bev, EV_READ | EV_WRITE);
}

struct io *
io_new(struct loop *l, int fd, io_cb *cb, void *arg)
{
	struct io *io = xmalloc(sizeof(*io));

	io->loop = l;
	io->fd = fd;
	io->cb = cb;
	io->arg = arg;
	evutil_make_socket_nonblocking(fd);
	io->bev = bufferevent_socket_new(loop_base(l), fd, 0);
	if (io->bev == NULL)
		log_panic("bufferevent_socket_new failed");
	io_setup_bev(io);
	return io;
}

void
io_free(struct io **iop)
{
	struct io *io = *iop;

	if (io == NULL)
		return;
	*iop = NULL;
	if (io->in_cb > 0) {
		io->dead = true;
		bufferevent_disable(io->bev, EV_READ | EV_WRITE);
		return;
	}
	io_z_free(io);
	/* A TLS bufferevent was made with BEV_OPT_CLOSE_ON_FREE: it frees
	 * the SSL and closes the fd itself. */
	bufferevent_free(io->bev);
	if (io->ssl == NULL && io->fd >= 0)
		close(io->fd);
	free(io);
}

int
io_fd(const struct io *io)
{
	return io->fd;
}

void
io_start_tls(struct io *io, void *ssl)
{
	io_switch_tls(io, ssl, BUFFEREVENT_SSL_ACCEPTING);
}

static void
io_switch_tls(struct io *io, void *ssl, enum bufferevent_ssl_state st)
{
	struct bufferevent *old = io->bev;

	bufferevent_disable(old, EV_READ | EV_WRITE);
	bufferevent_setcb(old, NULL, NULL, NULL, NULL);
	bufferevent_free(old);
	io->skip_line = false;
	io->paused = false;
	io->ssl = ssl;
	io->bev = bufferevent_openssl_socket_new(loop_base(io->loop), io->fd,
	    ssl, st, BEV_OPT_CLOSE_ON_FREE);
	if (io->bev == NULL)
		log_panic("bufferevent_openssl_socket_new failed");
	bufferevent_openssl_set_allow_dirty_shutdown(io->bev, 1);
	io_setup_bev(io);
}

void
io_start_tls_client(struct io *io, void *ssl)
{
	io_switch_tls(io, ssl, BUFFEREVENT_SSL_CONNECTING);
}

struct io *
io_connect(struct loop *l, const struct sockaddr *sa, socklen_t salen,
    const struct sockaddr *bind_sa, socklen_t bind_len, io_cb *cb,
    void *arg, int *errno_r)
{
	struct io *io;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);

	if (fd < 0) {
		*errno_r = errno;
		return NULL;
	}
	if (bind_sa && bind(fd, bind_sa, bind_len) < 0) {
		*errno_r = errno;
		close(fd);
		return NULL;
	}
	io = io_new(l, fd, cb, arg);
	io->connecting = true;
	if (bufferevent_socket_connect(io->bev, sa, (int)salen) < 0) {
		*errno_r = errno ? errno : ECONNREFUSED;
		io->connecting = false;
		io_free(&io);
		return NULL;
	}
	return io;
}

int
io_error(const struct io *io)
{
	return io->error;
}

void *
io_ssl(const struct io *io)
{
	return io->ssl;
}

void
io_set_timeout(struct io *io, unsigned sec)
{
	struct timeval tv = { sec, 0 };

	io->timeout = sec;
	/* The write side too: a client that stops reading while output
	 * waits is as idle as one that stops writing. */
	bufferevent_set_timeouts(io->bev, sec ? &tv : NULL, sec ? &tv : NULL);
}

void
io_pause_read(struct io *io)
{
	io->paused = true;
	bufferevent_disable(io->bev, EV_READ);
}

void
io_resume_read(struct io *io)
{
	io->paused = false;
	if (io->out_full)
		return;		/* the drain resumes it */
	bufferevent_enable(io->bev, EV_READ);
	/* Input may already wait in the buffer: have it looked at. */
	if (evbuffer_get_length(bufferevent_get_input(io->bev)) > 0 ||
	    evbuffer_get_length(io_in(io)) > 0 || io_z_waiting(io))
		bufferevent_trigger(io->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS |
		    BEV_TRIG_IGNORE_WATERMARKS);
}

size_t
io_inlen(const struct io *io)
{
	return evbuffer_get_length(io_in(io));
}

const char *
io_peek(struct io *io, size_t *len_r)
{
	struct evbuffer_iovec v;

	if (evbuffer_peek(io_in(io), -1, NULL, &v, 1) < 1) {
		*len_r = 0;
		return NULL;
	}
	*len_r = v.iov_len;
	return v.iov_base;
}

/* The owner took inflated input: compressed input waiting behind it gets
 * its turn (nothing else would call the read callback when the socket
 * stays silent or the transport's buffer is at its watermark). */
static void
io_z_taken(struct io *io)
{
	if (io_z_waiting(io) && !io->paused && !io->out_full)
		bufferevent_trigger(io->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS |
		    BEV_TRIG_IGNORE_WATERMARKS);
}

void
io_drain(struct io *io, size_t n)
{
	evbuffer_drain(io_in(io), n);
	io_z_taken(io);
}

void
io_drain_all(struct io *io)
{
	struct evbuffer *in = bufferevent_get_input(io->bev);

	evbuffer_drain(in, evbuffer_get_length(in));
	in = io_in(io);
	evbuffer_drain(in, evbuffer_get_length(in));
}

int
io_getline(struct io *io, size_t max, struct buf *line)
{
	struct evbuffer *in = io_in(io);
	struct evbuffer_ptr p;
	size_t avail, n;

	for (;;) {
		avail = evbuffer_get_length(in);
		p = evbuffer_search(in, "\n", 1, NULL);
		if (io->skip_line) {
			if (p.pos < 0) {
				evbuffer_drain(in, avail);
				return 0;
			}
			evbuffer_drain(in, (size_t)p.pos + 1);
			io->skip_line = false;
			continue;
		}
		if (p.pos < 0) {
			if (avail > max) {
				evbuffer_drain(in, avail);
				io->skip_line = true;
				return -1;
			}
			return 0;
		}
		n = (size_t)p.pos;
		if (n > max) {
			evbuffer_drain(in, n + 1);
			return -1;
		}
		{
			const char *src = (const char *)evbuffer_pullup(in,
			    (ssize_t)n + 1);
			size_t take = n > 0 && src[n - 1] == '\r' ? n - 1 : n;

			buf_reset(line);
			if (buf_append(line, src, take) < 0) {
				evbuffer_drain(in, n + 1);
				return -1;
			}
		}
		evbuffer_drain(in, n + 1);
		io_z_taken(io);
		return 1;
	}
}

static void io_deflate_out(struct io *io, const void *p, size_t n);

void
io_write(struct io *io, const void *p, size_t n)
{
	if (io->z)
		io_deflate_out(io, p, n);
	else
		bufferevent_write(io->bev, p, n);
}

void
io_flush_now(struct io *io)
{
	io_z_flush(io);
	if (io->ssl == NULL)
		(void)evbuffer_write(bufferevent_get_output(io->bev), io->fd);
}

void
io_printf(struct io *io, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (io->z) {
		struct buf b;

		buf_init(&b, 0);
		buf_vprintf(&b, fmt, ap);
		io_deflate_out(io, b.data, b.len);
		buf_free(&b);
	} else
		evbuffer_add_vprintf(bufferevent_get_output(io->bev), fmt, ap);
	va_end(ap);
}

size_t
io_outlen(const struct io *io)
{
	/* a pending flush counts: bytes wait inside zlib */
	return evbuffer_get_length(bufferevent_get_output(io->bev)) +
	    (io->z && io->z->flush_pending);
}

/* ---- the deflate layer ---- */

static void
io_z_sink(void *arg, const void *p, size_t n)
{
	struct io *io = arg;

	bufferevent_write(io->bev, p, n);
}

/* A sync flush of what was deflated since the last one. */
static void
io_z_flush(struct io *io)
{
	if (io->z == NULL || !io->z->flush_pending)
		return;
	io->z->flush_pending = false;
	deflate_out(io->z->d, NULL, 0, true, io_z_sink, io);
}

static void
io_z_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	io_z_flush(arg);
}

static void
io_deflate_out(struct io *io, const void *p, size_t n)
{
	if (n == 0)
		return;
	deflate_out(io->z->d, p, n, false, io_z_sink, io);
	/* flushed when this loop pass ends: after the whole burst */
	if (!io->z->flush_pending) {
		io->z->flush_pending = true;
		event_active(io->z->flush_ev, EV_TIMEOUT, 0);
	}
}

static void
io_z_free(struct io *io)
{
	struct io_z *z = io->z;

	if (z == NULL)
		return;
	io->z = NULL;
	event_free(z->flush_ev);
	evbuffer_free(z->in);
	deflate_free(&z->d);
	free(z);
}

void
io_start_deflate(struct io *io)
{
	struct io_z *z;

	if (io->z)
		return;
	z = xcalloc(1, sizeof(*z));
	z->d = deflate_new();
	z->in = evbuffer_new();
	z->flush_ev = event_new(loop_base(io->loop), -1, 0, io_z_flush_cb, io);
	if (z->in == NULL || z->flush_ev == NULL)
		log_panic("io: cannot set up compression");
	z->budget = UINT64_MAX;
	/* what the transport holds from now on was sent compressed */
	io->z = z;
	if (io_z_waiting(io) && !io->paused)
		bufferevent_trigger(io->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS |
		    BEV_TRIG_IGNORE_WATERMARKS);
}

bool
io_deflating(const struct io *io)
{
	return io->z != NULL;
}

void
io_inflate_budget(struct io *io, uint64_t n)
{
	if (io->z)
		io->z->budget = n;
}

void
io_inflate_allow(struct io *io, uint64_t n)
{
	if (io->z)
		io->z->budget = n > UINT64_MAX - io->z->budget ? UINT64_MAX :
		    io->z->budget + n;
}

const char *
io_inflate_error(const struct io *io, uint64_t *inflated_r)
{
	if (io->z == NULL)
		return NULL;
	*inflated_r = io->z->inflated;
	return io->z->why;
}
