/*
 * io - bufferevent-backed client connections (see io.h).
 *
 * A plain connection is a socket bufferevent; TLS replaces it by an
 * OpenSSL socket bufferevent on the same fd (not a filter over the plain
 * one: one buffer layer, and nothing read before the switch survives it).
 * The fd is closed by io.c itself, never by libevent, so the switch cannot
 * close it.
 *
 * Direct I/O. On a plain accepted connection (io->direct) io.c reads
 * and writes the socket itself, through the bufferevent's own buffers
 * (so peek, getline and the TLS switch work as before):
 * - reads: a persistent read event (read_ev) reads up to IO_INPUT_MAX
 *   less what waits, in one readv. libevent's bufferevent reads at most
 *   4 KiB a turn and asks FIONREAD first: a 100 KB message was 25 turns
 *   of three syscalls.
 * - writes: the bufferevent's EV_WRITE stays disabled; replies gather in
 *   its output buffer and one deferred callback per loop turn (flush_ev,
 *   activated without a syscall) writes them. Only what the socket does
 *   not take enables EV_WRITE, and the bufferevent finishes the job. This
 *   saves the epoll_ctl pair and the extra epoll_wait libevent spends on
 *   every reply, and still gathers pipelined replies into one write.
 * TLS and outbound connections keep the bufferevent's own I/O.
 *
 * Compression (io_start_deflate, io_deflate.c) is a layer above either,
 * so it sits inside TLS: input is inflated from the bufferevent's input into
 * io->z->in, which the owner reads as it would the plain input; output is
 * deflated straight into the bufferevent's output and sync-flushed by the
 * same once-a-loop-turn flush_ev, so a burst of responses costs one flush,
 * not one per line.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "util/io.h"
#include "util/io_int.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xmalloc.h"


static void io_setup_bev(struct io *io);
static void io_read_arm(struct io *io);
static void io_read_hold(struct io *io);
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

/* Passes over compressed input in one read callback before the others
 * get their turn. */
#define IO_INFLATE_PASSES	16

/* New input for the owner; with compression, inflated first, and again
 * while the owner takes it and compressed input waits. */
static bool
io_datain(struct io *io)
{
	for (unsigned pass = 0;; pass++) {
		if (io->z && io_inflate(io) < 0) {
			io_emit(io, IO_EV_ERROR);
			return false;
		}
		if (!io_emit(io, IO_EV_DATAIN))
			return false;
		if (io->paused || !io_z_waiting(io) ||
		    evbuffer_get_length(io->z->in) >= IO_INPUT_MAX)
			return true;
		if (pass + 1 >= IO_INFLATE_PASSES) {
			bufferevent_trigger(io->bev, EV_READ,
			    BEV_TRIG_DEFER_CALLBACKS |
			    BEV_TRIG_IGNORE_WATERMARKS);
			return true;
		}
	}
}

static void
io_read_cb(struct bufferevent *bev, void *arg)
{
	struct io *io = arg;

	if (!io_datain(io))
		return;
	/* Backpressure: a client that sends commands but does not read the
	 * replies stops being read once IO_OUTPUT_HIGH waits for it. */
	if (evbuffer_get_length(bufferevent_get_output(bev)) > IO_OUTPUT_HIGH &&
	    !io->out_full) {
		io->out_full = true;
		io_read_hold(io);
	}
	/* Direct reads stop at IO_INPUT_MAX unprocessed, as the
	 * bufferevent's watermark does; a drain starts them again. */
	if (io->direct && !io->in_full &&
	    evbuffer_get_length(bufferevent_get_input(bev)) >= IO_INPUT_MAX) {
		io->in_full = true;
		event_del(io->read_ev);
	} else if (io->in_full && evbuffer_get_length(bufferevent_get_input(
	    bev)) < IO_INPUT_MAX)
		io_read_arm(io);	/* inflating took compressed input */
}

/* A direct read (see the top of the file). */
static void
io_direct_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct io *io = arg;
	struct evbuffer *in = bufferevent_get_input(io->bev);
	size_t room = IO_INPUT_MAX - evbuffer_get_length(in);
	struct evbuffer_iovec v[2];
	struct iovec iov[2];
	int nv, e;
	ssize_t r;

	if (what & EV_TIMEOUT) {
		io_emit(io, IO_EV_TIMEOUT);
		return;
	}
	if (evbuffer_get_length(in) >= IO_INPUT_MAX) {
		io->in_full = true;
		event_del(io->read_ev);
		return;
	}
	/* The bufferevent keeps its input's end frozen against outside
	 * writers; thaw it for this read, as its own read callback does. */
	evbuffer_unfreeze(in, 0);
	nv = evbuffer_reserve_space(in, (ev_ssize_t)room, v, 2);
	for (int i = 0; i < nv; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len;
	}
	r = nv > 0 ? readv(fd, iov, nv) : -1;
	e = nv > 0 ? errno : ENOMEM;	/* before libevent's calls below */
	if (r > 0) {
		size_t left = (size_t)r;

		for (int i = 0; i < nv; i++) {
			v[i].iov_len = left < v[i].iov_len ? left : v[i].iov_len;
			left -= v[i].iov_len;
		}
		evbuffer_commit_space(in, v, nv);
	}
	evbuffer_freeze(in, 0);
	if (r > 0) {
		io_read_cb(io->bev, io);
		return;
	}
	if (r == 0) {
		io_emit(io, IO_EV_EOF);
		return;
	}
	if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR)
		return;
	io->error = e;
	io_emit(io, IO_EV_ERROR);
}

/* Reading on (unless paused or held for output or input). */
static void
io_read_arm(struct io *io)
{
	struct timeval tv = { io->timeout, 0 };

	if (io->paused || io->out_full || io->dead)
		return;
	if (!io->direct) {
		bufferevent_enable(io->bev, EV_READ);
		return;
	}
	if (evbuffer_get_length(bufferevent_get_input(io->bev)) >=
	    IO_INPUT_MAX) {
		io->in_full = true;
		return;
	}
	io->in_full = false;
	/* (re-adding a pending event only moves its timer) */
	event_add(io->read_ev, io->timeout ? &tv : NULL);
}

static void
io_read_hold(struct io *io)
{
	if (io->direct)
		event_del(io->read_ev);
	else
		bufferevent_disable(io->bev, EV_READ);
}

/* The output buffer is empty: resume reading held for it, tell the
 * owner. */
static void
io_drained(struct io *io)
{
	if (io->out_full) {
		io->out_full = false;
		if (!io->paused) {
			io_read_arm(io);
			bufferevent_trigger(io->bev, EV_READ,
			    BEV_TRIG_DEFER_CALLBACKS |
			    BEV_TRIG_IGNORE_WATERMARKS);
		}
	}
	io_emit(io, IO_EV_DRAINED);
}

static void
io_write_cb(struct bufferevent *bev, void *arg)
{
	struct io *io = arg;

	/* The callback may be stale: the buffer emptied, then more was
	 * queued before it ran. Drained means drained now. */
	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	if (io->flush_pending)
		return;		/* flush_ev writes more, then drains */
	if (io->direct)
		bufferevent_disable(bev, EV_WRITE);	/* back to direct */
	io_drained(io);
}

/* One non-blocking write of the plain output. A socket bufferevent keeps
 * its output's start frozen against outside draining; its own write
 * callback thaws it the same way around the write. */
static void
io_write_plain(struct io *io)
{
	struct evbuffer *out = bufferevent_get_output(io->bev);

	evbuffer_unfreeze(out, 1);
	(void)evbuffer_write(out, io->fd);
	evbuffer_freeze(out, 1);
}

/* The deferred direct write (see the top of the file). */
static void
io_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct io *io = arg;
	struct evbuffer *out;

	(void)fd;
	(void)what;
	io->flush_pending = false;
	if (io->dead)
		return;
	io_z_flush(io);		/* the burst's sync flush */
	if (!io->direct)
		return;		/* the bufferevent writes it */
	out = bufferevent_get_output(io->bev);
	if (evbuffer_get_length(out) == 0)
		return;
	io_write_plain(io);
	if (evbuffer_get_length(out) > 0) {
		/* Socket full or an error: the bufferevent writes the rest
		 * (or reports the error) and io_write_cb follows. */
		bufferevent_enable(io->bev, EV_WRITE);
		return;
	}
	io_drained(io);
}

static void
io_schedule_flush(struct io *io)
{
	if ((!io->direct && io->z == NULL) || io->flush_pending)
		return;
	io->flush_pending = true;
	event_active(io->flush_ev, EV_WRITE, 0);
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
	/* (a new socket bufferevent starts with EV_WRITE enabled) */
	if (io->direct)
		bufferevent_disable(io->bev, EV_READ | EV_WRITE);
	else
		bufferevent_enable(io->bev, EV_WRITE);
	io_read_arm(io);
}

static struct io *
io_make(struct loop *l, int fd, io_cb *cb, void *arg, bool direct)
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
	io->direct = direct;
	io->z = NULL;
	io->flush_ev = event_new(loop_base(l), -1, 0, io_flush_cb, io);
	io->read_ev = event_new(loop_base(l), fd, EV_READ | EV_PERSIST,
	    io_direct_read_cb, io);
	if (io->flush_ev == NULL || io->read_ev == NULL)
		log_panic("event_new failed");
	io_setup_bev(io);
	return io;
}

struct io *
io_new(struct loop *l, int fd, io_cb *cb, void *arg)
{
	return io_make(l, fd, cb, arg, true);
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
		event_del(io->read_ev);
		return;
	}
	io_z_free(io);
	event_free(io->flush_ev);
	event_free(io->read_ev);
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
	io->direct = false;	/* OpenSSL reads and writes itself */
	io->in_full = false;
	event_del(io->read_ev);
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
	/* Our writes are whole protocol units (a pipelined command group,
	 * a milter stage, the end of DATA): Nagle would hold the small ones
	 * until the peer's delayed ACK, ~40 ms each time a milter or SMTP
	 * peer stays silent (measured with rspamd: 20 msg/s at 1 session). */
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) {
		int one = 1;

		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	}
	/* the bufferevent watches the connect and does the I/O */
	io = io_make(l, fd, cb, arg, false);
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
	if (io->direct && event_pending(io->read_ev, EV_READ, NULL))
		io_read_arm(io);	/* the new idle time */
}

void
io_pause_read(struct io *io)
{
	io->paused = true;
	io_read_hold(io);
}

void
io_resume_read(struct io *io)
{
	io->paused = false;
	if (io->out_full)
		return;		/* the drain resumes it */
	io_read_arm(io);
	/* Input may already wait in the buffer: have it looked at. */
	if (evbuffer_get_length(bufferevent_get_input(io->bev)) > 0 ||
	    evbuffer_get_length(io_in(io)) > 0 || io_z_waiting(io))
		bufferevent_trigger(io->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS |
		    BEV_TRIG_IGNORE_WATERMARKS);
}

bool
io_output_held(const struct io *io)
{
	return io->out_full;
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

/* Input was consumed: direct reading held for a full input goes on;
 * compressed input waiting behind inflated input the owner took gets its
 * turn (nothing else would call the read callback when the socket stays
 * silent or the input is at its limit). */
static void
io_consumed(struct io *io)
{
	if (io->in_full && evbuffer_get_length(bufferevent_get_input(io->bev))
	    < IO_INPUT_MAX)
		io_read_arm(io);
	if (io_z_waiting(io) && evbuffer_get_length(io->z->in) <
	    IO_INPUT_MAX && !io->paused && !io->out_full)
		bufferevent_trigger(io->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS |
		    BEV_TRIG_IGNORE_WATERMARKS);
}

void
io_drain(struct io *io, size_t n)
{
	evbuffer_drain(io_in(io), n);
	io_consumed(io);
}

void
io_drain_all(struct io *io)
{
	struct evbuffer *in = bufferevent_get_input(io->bev);

	evbuffer_drain(in, evbuffer_get_length(in));
	in = io_in(io);
	evbuffer_drain(in, evbuffer_get_length(in));
	io_consumed(io);
}

static int
io_getline_in(struct io *io, size_t max, struct buf *line)
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
		return 1;
	}
}

int
io_getline(struct io *io, size_t max, struct buf *line)
{
	int r = io_getline_in(io, max, line);

	io_consumed(io);
	return r;
}

void
io_write(struct io *io, const void *p, size_t n)
{
	if (io->z)
		io_deflate_out(io, p, n);
	else
		bufferevent_write(io->bev, p, n);
	io_schedule_flush(io);
}

void
io_flush_now(struct io *io)
{
	io_z_flush(io);
	if (io->ssl == NULL)
		io_write_plain(io);
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
	io_schedule_flush(io);
}

size_t
io_outlen(const struct io *io)
{
	/* bytes deflated but not flushed count: they wait inside zlib */
	return evbuffer_get_length(bufferevent_get_output(io->bev)) +
	    (io->z && io->z->dirty);
}
