/*
 * io_deflate - the compression layer of a connection (io.h:
 * io_start_deflate; RFC 4978 COMPRESS=DEFLATE uses it): input inflated
 * from the transport's buffer (socket or TLS) into the owner's, output
 * deflated into the transport's, sync-flushed by io.c's once-a-turn
 * flush_ev.
 *
 * Trust: inflates untrusted bytes, bounded twice: at most IO_INPUT_MAX
 * inflated octets wait unread (so a small stream never becomes more
 * memory than plain input could), and the owner's budget of inflated
 * octets (io_inflate_budget), beyond which the connection fails.
 */
#include <stdlib.h>

#include "util/buf.h"
#include "util/deflate.h"
#include "util/io_int.h"
#include "util/log.h"
#include "util/xmalloc.h"

/*
 * Inflates what the transport holds into z->in while less than
 * IO_INPUT_MAX waits there (the bound per read: a tiny compressed stream
 * never inflates into more memory than plain input could take). Returns
 * -1 for a corrupt stream or one over its budget (z->why says which).
 */
int
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
bool
io_z_waiting(const struct io *io)
{
	return io->z && (io->z->more ||
	    evbuffer_get_length(bufferevent_get_input(io->bev)) > 0);
}

static void
io_z_sink(void *arg, const void *p, size_t n)
{
	struct io *io = arg;

	bufferevent_write(io->bev, p, n);
}

/* A sync flush of what was deflated since the last one. */
void
io_z_flush(struct io *io)
{
	if (io->z == NULL || !io->z->dirty)
		return;
	io->z->dirty = false;
	deflate_out(io->z->d, NULL, 0, true, io_z_sink, io);
}

/* Deflated now, flushed at the end of the loop turn (flush_ev). */
void
io_deflate_out(struct io *io, const void *p, size_t n)
{
	if (n == 0)
		return;
	deflate_out(io->z->d, p, n, false, io_z_sink, io);
	io->z->dirty = true;
}

void
io_z_free(struct io *io)
{
	struct io_z *z = io->z;

	if (z == NULL)
		return;
	io->z = NULL;
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
	if (z->in == NULL)
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
