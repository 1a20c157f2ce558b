/*
 * msg_source - one accepted message as a delivery stage reads it (the
 * Sieve stage, msg/sieve_stage.h): its header section in memory, its
 * body in memory or as a byte range of an open file, read only when
 * asked and only up to a bound.
 *
 * Two producers: an SMTP transaction hands the header section it kept
 * (trace included) and the body (a small one in memory, else the spool
 * file's range); the queue hands only its file's content range, and the
 * header section is read from it by the stage's worker job
 * (msg_source_load_head), so the engine's loop never touches the disk.
 *
 * Trust: the bytes are anyone's; only the header's end is looked for
 * (the first empty line, as msg/spool.c finds it, within MSG_HEAD_MAX:
 * beyond it the rest is body, as for SMTP). Nothing is parsed here.
 *
 * Threads: init and clear anywhere; load_head and body block on the
 * disk (worker threads), one thread at a time per source.
 */
#ifndef TEM_MSG_SOURCE_H
#define TEM_MSG_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct msg_source {
	char		*head;		/* the header section (NUL after it),
					 * with its empty line when it has
					 * one */
	size_t		 head_len;
	char		*body_mem;	/* the body in memory, or NULL */
	size_t		 body_mem_len;
	int		 fd;		/* own descriptor, -1: none */
	uint64_t	 off, len;	/* the body's range in fd; with
					 * head_pending the whole message */
	bool		 head_pending;	/* head still to be read from fd */
	/* private: the body as msg_source_body read it */
	char		*body;
	size_t		 body_len;
	int		 body_error;
	bool		 body_read;
};

/*
 * Fills s with copies: head[0..hlen) (NULL: the header section is the
 * start of the file range, read by msg_source_load_head), body_mem[0..
 * blen) (NULL or 0: none), and len bytes of fd from off (fd is dup'd,
 * the caller keeps its own; -1 or len 0: no file part).
 */
void msg_source_init(struct msg_source *s, const char *head, size_t hlen,
    const char *body_mem, size_t blen, int fd, uint64_t off, uint64_t len);
/* Frees what s holds (s itself is the caller's). */
void msg_source_clear(struct msg_source *s);

/* Blocking: reads the header section from the file range when it is
 * pending (at most MSG_HEAD_MAX octets; the range then starts at the
 * body). 0, or -1 with errno (a short file is EIO). */
int msg_source_load_head(struct msg_source *s);
/* Blocking: the body, at most max octets of it, read once and kept
 * (*data valid until msg_source_clear). 0, or -1 with errno (the same
 * error on every later call). */
int msg_source_body(struct msg_source *s, size_t max, const char **data,
    size_t *len);
/* Whether the message has a body at all. */
bool msg_source_has_body(const struct msg_source *s);
/* Octets of the whole message (header section and body). */
uint64_t msg_source_size(const struct msg_source *s);

#endif
