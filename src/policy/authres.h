/*
 * authres - the Authentication-Results header field (RFC 8601): building
 * tem's own, and finding the ones that claim to be tem's in mail that
 * arrives from outside (RFC 8601 5: they must be removed, since readers
 * trust fields carrying our authserv-id).
 *
 * Trust: property values (MAIL FROM, d=, s=, From domains) are mail
 * content from anyone; the builder quotes them and drops control
 * characters, so nothing a sender chooses can end the field or add one.
 * Method, result and property names are tem's own (checked by assertion).
 * The stripper reads untrusted header text without ever failing.
 */
#ifndef TEM_AUTHRES_H
#define TEM_AUTHRES_H

#include <stddef.h>

#include "util/buf.h"

/* Property values longer than this are left out (an SMTP path is at most
 * 256 octets, a domain 253: anything longer is not a real identifier). */
#define AUTHRES_VALUE_MAX	512
/* Lines are folded before a result or property that would pass this. */
#define AUTHRES_LINE_MAX	78

/*
 * The field being built:
 *
 *   struct authres ar;
 *   authres_init(&ar, "mx.example.test");
 *   authres_add(&ar, "spf", "pass", NULL,
 *       "smtp.mailfrom", "x@y.test", NULL);
 *   authres_add(&ar, "dkim", "pass", NULL, "header.d", "y.test",
 *       "header.s", "sel", "header.b", "abcd1234", NULL);
 *   field = authres_finish(&ar, &len);
 *
 * gives (LF line ends, continuation lines start with a tab)
 *
 *   Authentication-Results: mx.example.test;
 *   	spf=pass smtp.mailfrom=x@y.test;
 *   	dkim=pass header.d=y.test header.s=sel header.b=abcd1234
 */
struct authres {
	struct buf	out;
	size_t		col;		/* length of the current line */
	int		nresults;
};

/* Starts a field for authserv-id authserv_id (tem's hostname). */
void authres_init(struct authres *ar, const char *authserv_id);

/*
 * Appends one result: "method=result", then " (comment)" when comment is
 * not NULL, then each "ptype.property=value" pair from the arguments
 * (two const char * each, ended by one NULL). A pair whose value is NULL
 * or empty or longer than AUTHRES_VALUE_MAX is left out. Values that are
 * neither a token nor an address/domain are written as quoted strings;
 * control characters in values and comments are dropped.
 */
void authres_add(struct authres *ar, const char *method, const char *result,
    const char *comment, ...) __attribute__((sentinel));

/*
 * Ends the field: "none" when no result was added (RFC 8601 2.2), then
 * the final LF. Returns the whole field, NUL-terminated (the caller
 * frees), its length in *len_r (may be NULL); ar is then empty and may be
 * reused with authres_init.
 */
char *authres_finish(struct authres *ar, size_t *len_r);

/* Frees a field abandoned before authres_finish. */
void authres_discard(struct authres *ar);

/* ------------------------------------------------------------------ */
/* Stripping */

struct authres_range {
	size_t	off;	/* from the start of the header block */
	size_t	len;	/* the whole field, through its final line end */
};

/*
 * The authserv-id of an Authentication-Results value v[0..len): the first
 * token or quoted string after optional comments and white space
 * (folding included), unquoted. Returns a fresh string, or NULL when
 * there is none.
 */
char *authres_authserv_id(const char *v, size_t len);

/*
 * Finds, in the header block hdr[0..len) (parsing stops at the empty line
 * that ends it), every Authentication-Results field whose authserv-id is
 * hostname, compared ASCII case-insensitively, one final dot ignored.
 * Returns how many; *ranges_r is a fresh array of them in order (NULL
 * when none; the caller frees).
 */
size_t authres_find_ours(const char *hdr, size_t len, const char *hostname,
    struct authres_range **ranges_r);

/*
 * Appends msg[0..len) to out without the fields authres_find_ours finds
 * (the body is copied unchanged). Returns how many fields were removed,
 * or -1 when out is over its maximum (then out holds part of it).
 */
int authres_strip(const char *msg, size_t len, const char *hostname,
    struct buf *out);

#endif
