/*
 * milter_replbody - a filter's replaced body (SMFIR_REPLBODY) streamed
 * into a new spool (msg/spool.h): the header section as it stands, then
 * the filter's bytes with CRLF turned back into LF as they arrive. The
 * filter's socket is paused while both spool buffers are busy, so memory
 * stays at one reply packet plus the spool's buffers. Internal to
 * src/milter (the chain's message phase).
 */
#ifndef TEM_MILTER_REPLBODY_H
#define TEM_MILTER_REPLBODY_H

#include <stdbool.h>
#include <stddef.h>

struct milter_chain;

/* One REPLBODY packet of the current filter; false when the replacement
 * cannot be taken (too big, header section too big). */
bool milter_replbody_feed(struct milter_chain *ch, const char *p, size_t n);
/* The filter's EOM accepted: finishes the spool, makes it the body the
 * next filters see, then goes on with the chain. */
void milter_replbody_end(struct milter_chain *ch);

#endif
