/*
 * mime_int - what mime.c and mime_fields.c share; not for other modules.
 */
#ifndef TEM_MIME_INT_H
#define TEM_MIME_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/mime.h"

/*
 * Fills p's content fields from the header block hdr[0..len): the first
 * Content-Type, Content-Transfer-Encoding, Content-ID, -Description,
 * -Disposition, -Language, -Location and -MD5 of it. Without a
 * Content-Type, the type is text/plain (message/rfc822 when in_digest).
 */
void mime_fields_parse(struct mime_part *p, const char *hdr, size_t len,
    bool in_digest);

/* Makes p a text/plain leaf (nesting too deep), keeping its other fields. */
void mime_fields_force_text(struct mime_part *p);

/* Frees what mime_fields_parse allocated in p. */
void mime_fields_free(struct mime_part *p);

#endif
