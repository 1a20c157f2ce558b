/*
 * test-feeder.h - what the msg/ unit tests share (test-msg.c,
 * test-msg-check.c): a feeder that drives a spool on the test loop like
 * a protocol does, in pieces of a given size, waiting when the spool is
 * full, with a hook after each piece (where a protocol taps the body).
 * Included by those two files only.
 *
 * Trust: test code.
 */
#ifndef TEM_TEST_FEEDER_H
#define TEM_TEST_FEEDER_H

#include <stdbool.h>
#include <stddef.h>

#include "msg/spool.h"
#include "util/loop.h"

static struct loop *tloop;

struct feeder {
	struct msg_spool	*sp;
	void			(*piece)(struct feeder *f);	/* or NULL */
	void			*arg;		/* the hook's */
	bool			 tap_set;	/* the hook's */
	const char		*data;
	size_t			 len, pos;
	size_t			 step;		/* input per turn */
	bool			 ending, done;
	unsigned		 waits;
};

static void feed_more(void *arg);

static void
feed_ready(void *arg)
{
	struct feeder *f = arg;

	f->waits++;
	feed_more(f);
}

static void
feed_more(void *arg)
{
	struct feeder *f = arg;
	struct buf *b;
	size_t room, n, old;

	while (!f->ending && f->pos < f->len) {
		if (!msg_spool_flush(f->sp))
			return;			/* feed_ready goes on */
		b = msg_spool_buf(f->sp, &room);
		n = f->len - f->pos;
		if (n > f->step)
			n = f->step;
		if (n > room - 1)
			n = room - 1;
		old = b->len;
		buf_append(b, f->data + f->pos, n);
		msg_spool_wrote(f->sp, old);
		f->pos += n;
		if (f->piece != NULL)
			f->piece(f);
	}
	f->ending = true;
	if (!msg_spool_finish(f->sp))
		return;
	f->done = true;
	loop_break(tloop);
}

/* Spools data[0..len) into dir in steps of step bytes, piece(f) after
 * each; returns the spool (*waits: how often it was full). */
static struct msg_spool *
spool_feed(const char *dir, const char *data, size_t len, size_t step,
    unsigned *waits, void (*piece)(struct feeder *f), void *arg)
{
	struct feeder f = { 0 };

	f.piece = piece;
	f.arg = arg;
	f.sp = msg_spool_new(tloop, dir, feed_ready, &f);
	f.data = data;
	f.len = len;
	f.step = step;
	loop_post(tloop, feed_more, &f);
	loop_run(tloop);
	if (waits)
		*waits = f.waits;
	return f.sp;
}

#endif
