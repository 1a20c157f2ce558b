/*
 * milter_spam - the spam verdict a filter leaves in the header: rspamd's
 * proxy answers "add header" by setting `X-Spam: Yes` (its spam_header),
 * spamass-milter sets `X-Spam-Flag: YES`. A message a filter marked so is
 * filed into the recipients' Junk folder, as a quarantine is. Only marks
 * the filters made count: the sender's own fields are counted before the
 * filters run and subtracted (a sender can always ask for Junk, never
 * out of it).
 *
 * Trust: the header is untrusted message data; this only counts fields.
 */
#ifndef TEM_MILTER_SPAM_H
#define TEM_MILTER_SPAM_H

#include <stddef.h>

/* The X-Spam and X-Spam-Flag fields of the header section head[0..len)
 * (LF or CRLF lines) whose value starts with "yes" (any case, after
 * white space and folding). */
unsigned milter_spam_marks(const char *head, size_t len);

#endif
