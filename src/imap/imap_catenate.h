/*
 * imap_catenate - the grammars of CATENATE (RFC 4469): the part list of
 * an APPEND message, and the IMAP URLs (RFC 5092) its URL parts use,
 * limited to what one user may name on this server: a message, or a
 * section or range of one, in one of the user's own mailboxes.
 *
 * Accepted URL forms (keywords in any case, %XX escapes decoded; the
 * mailbox is UTF-8, RFC 5092 section 3):
 *   imap://[user[;AUTH=x]@]host[:port]/MAILBOX[;UIDVALIDITY=N]/;UID=M
 *   /MAILBOX[;UIDVALIDITY=N]/;UID=M                  (absolute path)
 * each optionally followed by /;SECTION=S (BODY[S]) and then
 * /;PARTIAL=O[.L] (the wire octets O.. of that, L of them). URLAUTH,
 * relative URLs, and a user other than the session's give BADURL (the
 * caller compares user; the host is not checked: the URL reached us).
 *
 * Trust: everything here comes from an authenticated, untrusted client.
 * I/O-free and bounded: IMAP_CATENATE_PARTS_MAX parts, URLs of at most
 * IMAP_URL_MAX octets; no allocation beyond the copies returned.
 */
#ifndef TEM_IMAP_CATENATE_H
#define TEM_IMAP_CATENATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_parser.h"

#define IMAP_CATENATE_PARTS_MAX	256	/* parts of one message */
#define IMAP_URL_MAX		4096	/* octets of one URL */

/* One part: TEXT (a streamed literal) or URL. */
struct imap_cat_part {
	char		*url;		/* URL part as sent; NULL for TEXT */
	uint64_t	 size;		/* TEXT: the literal's size */
	unsigned	 index;		/* TEXT: its imap_literal.index */
	bool		 literal8;
};

/*
 * Parses the list after the atom CATENATE: 1*(TEXT literal / URL
 * astring), the TEXT literals streamed (IMAP_ARG_STREAM). Sets *parts_r
 * (free with imap_catenate_free) and *n_r. Returns 0, or -1 with a
 * static *error_r for a BAD.
 */
int imap_catenate_parse(const struct imap_arg *list, unsigned count,
    struct imap_cat_part **parts_r, unsigned *n_r, const char **error_r);
void imap_catenate_free(struct imap_cat_part *parts, unsigned n);

/* A URL part, parsed. */
struct imap_url {
	char		*user;		/* decoded; NULL when not given */
	char		*mailbox;	/* UTF-8, decoded */
	uint32_t	 uidvalidity;	/* 0: not given */
	uint32_t	 uid;
	char		*section;	/* decoded; NULL: the whole message */
	bool		 partial;
	uint64_t	 offset;
	uint64_t	 length;	/* UINT64_MAX: to the end */
};

/* Parses url (len octets). Returns 0, or -1 with a static *error_r (the
 * caller answers NO [BADURL url]) and nothing allocated. Free with
 * imap_url_free (harmless after a failure). */
int imap_url_parse(const char *url, size_t len, struct imap_url *u,
    const char **error_r);
void imap_url_free(struct imap_url *u);

#endif
