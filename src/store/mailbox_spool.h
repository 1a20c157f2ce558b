/*
 * mailbox_spool - the inside of struct mbox_spool (mailbox.h has the
 * contract), shared by mailbox_spool.c (writing) and mailbox_ops.c
 * (placing it into a folder). Not for other modules.
 */
#ifndef TEM_MAILBOX_SPOOL_H
#define TEM_MAILBOX_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mbox_spool {
	char		*path;		/* root/tmp/<unique>.append */
	int		 fd;		/* open while being written */
	bool		 opened;	/* the file exists (ours to unlink) */
	bool		 finished;	/* complete and closed */
	bool		 exact;		/* bytes stored as they come */
	bool		 cr;		/* a CR held back (CRLF -> LF) */
	char		 last;		/* last byte stored */
	char		*out;		/* converted bytes not yet written */
	size_t		 nout;
	uint64_t	 fsize;		/* bytes stored (S=) */
	uint64_t	 wsize;		/* with CRLF line ends (W=) */
	int		 err;		/* first failure's errno */
};

#endif
