/*
 * io_int - the inside of struct io, shared by io.c (the connection) and
 * io_deflate.c (its compression layer). Not for other modules: io.h is
 * the contract.
 */
#ifndef TEM_IO_INT_H
#define TEM_IO_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "util/io.h"

struct deflate;

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
	bool			 direct;	/* plain: we read and write */
	bool			 flush_pending;	/* flush_ev is active */
	bool			 in_full;	/* reading held: input full */
	struct event		*flush_ev;
	struct event		*read_ev;	/* direct reads */
	int			 error;
	struct io_z		*z;		/* compression, when on */
};

/* The deflate layer (io_start_deflate). */
struct io_z {
	struct deflate		*d;
	struct evbuffer		*in;		/* inflated, not yet read */
	bool			 dirty;		/* deflated since the last flush */
	bool			 more;		/* zlib may hold more output */
	uint64_t		 budget;	/* bytes still allowed */
	uint64_t		 inflated;	/* in all */
	const char		*why;		/* the inflate side failed */
};

/* The owner's input: inflated bytes when compressing. */
static inline struct evbuffer *
io_in(const struct io *io)
{
	return io->z ? io->z->in : bufferevent_get_input(io->bev);
}

/* ---- io_deflate.c ---- */
/* Inflates what the transport holds into z->in (see io_deflate.c); -1
 * for a corrupt stream or one over its budget (z->why). */
int io_inflate(struct io *io);
/* Compressed input waits that the owner has not seen inflated yet. */
bool io_z_waiting(const struct io *io);
/* Deflates p (no flush yet); the sync flush of what was deflated since
 * the last one; the layer's end (io_free). */
void io_deflate_out(struct io *io, const void *p, size_t n);
void io_z_flush(struct io *io);
void io_z_free(struct io *io);

#endif
