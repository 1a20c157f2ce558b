/*
 * imap_section - BODY[section]<partial> and BINARY[section]<partial>
 * contents of a parsed message (RFC 9051 6.4.5, RFC 3516).
 *
 * Every content is produced in the wire form (each bare LF of the stored
 * message written as CRLF), and the <offset.length> window applies to
 * that form. A section naming a part that does not exist gives the empty
 * string, as Dovecot does; so do HEADER/TEXT on a part that is not a
 * message/rfc822. A part number 1 of a non-multipart part is the part
 * itself (as RFC 9051 says for messages, and Dovecot for every part).
 *
 * Trust: the section text comes from the IMAP client, the message from
 * anyone; parsing is bounded (IMAP_SECTION_MAX_PARTS numbers,
 * IMAP_SECTION_MAX_FIELDS header names) and output sizes by the message.
 */
#ifndef TEM_IMAP_SECTION_H
#define TEM_IMAP_SECTION_H

#include <stddef.h>
#include <stdint.h>

#include "mail/mime.h"
#include "util/buf.h"

#define IMAP_SECTION_MAX_PARTS		64
#define IMAP_SECTION_MAX_FIELDS		256
#define IMAP_SECTION_FIELD_MAX		256	/* longest field name */

enum imap_section_kind {
	IMAP_SECTION_ALL,		/* "" or "1.2": the part's content */
	IMAP_SECTION_HEADER,
	IMAP_SECTION_HEADER_FIELDS,
	IMAP_SECTION_HEADER_FIELDS_NOT,
	IMAP_SECTION_TEXT,
	IMAP_SECTION_MIME,		/* needs at least one part number */
};

struct imap_section {
	uint32_t		 parts[IMAP_SECTION_MAX_PARTS];
	size_t			 nparts;
	enum imap_section_kind	 kind;
	char			**fields;	/* HEADER.FIELDS[.NOT] names */
	size_t			 nfields;
};

/*
 * Parses the text between the brackets of BODY[...], e.g. "",
 * "1.2.MIME", "HEADER.FIELDS (From \"To\")" (field names as atoms or
 * quoted strings; the IMAP parser resolves literals before). Returns 0,
 * or -1 with a static message in *error_r (the client gets BAD).
 * Free with imap_section_free() either way.
 */
int imap_section_parse(const char *s, size_t len, struct imap_section *sec,
    const char **error_r);
void imap_section_free(struct imap_section *sec);

/*
 * Appends the section's content to out, from wire offset `offset`, at
 * most `length` octets (SIZE_MAX: all). *size_r (may be NULL) gets the
 * full size of the section before the window. Returns 0, or -1 when out's
 * max was hit.
 */
int imap_section_fetch(const struct mime_msg *m,
    const struct imap_section *sec, size_t offset, size_t length,
    struct buf *out, size_t *size_r);

/* Results of imap_binary_fetch(). */
#define IMAP_BINARY_OK		0
#define IMAP_BINARY_TOOBIG	-1	/* out's max hit */
#define IMAP_BINARY_UNKNOWN_CTE	-2	/* NO [UNKNOWN-CTE] */
#define IMAP_BINARY_CORRUPT	-3	/* bad base64/QP: NO [PARSE] */
#define IMAP_BINARY_BAD_SECTION	-4	/* HEADER/TEXT/MIME: BAD */

/*
 * BINARY[section]<offset.length> (sec->kind must be IMAP_SECTION_ALL):
 * the part's content with its Content-Transfer-Encoding removed
 * (multiparts, messages and 7bit/8bit/binary parts as their wire form,
 * or as they are when m->exact).
 * *size_r (may be NULL) gets the full decoded size (BINARY.SIZE).
 * The result may hold NUL octets: send it as literal8 ~{n} then.
 */
int imap_binary_fetch(const struct mime_msg *m,
    const struct imap_section *sec, size_t offset, size_t length,
    struct buf *out, size_t *size_r);

/* The part a list of part numbers names (nparts 0: the root), or NULL. */
const struct mime_part *imap_section_part(const struct mime_msg *m,
    const uint32_t *parts, size_t nparts);

#endif
