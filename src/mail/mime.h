/*
 * mime - the MIME structure of a message held in memory: a tree of parts
 * with exact byte ranges, content fields and IMAP-ready (CRLF) sizes.
 *
 * Trust: the message is from anyone. mime_parse() never fails and never
 * recurses: it walks the buffer once, keeping the open parts on a bounded
 * stack. Broken mail still gives a usable tree: a missing close boundary
 * ends the parts at the end of the data, a boundary that never appears
 * gives a multipart with no children, a part header cut off by a boundary
 * ends there. Limits: nesting depth MIME_MAX_DEPTH (a multipart or message
 * there becomes a text/plain leaf covering all of it, boundaries nested
 * inside it up to depth 100 still recognised), MIME_MAX_PARTS parts
 * (further parts stay inside their parent's body), boundaries up to
 * MIME_MAX_BOUNDARY octets, MIME_MAX_PARAMS parameters per field.
 *
 * Line ends: the buffer may use LF (tem's storage) or CRLF. All *_size
 * and *_lines figures are for the wire form, where every LF not preceded
 * by CR counts as CRLF. Offsets are into the buffer as it is.
 *
 * Standards: RFC 2045-2047, 2231 (parameter continuations), 2183
 * (Content-Disposition), 3282 (Content-Language), 2557 (Location),
 * 1864 (Content-MD5), 5322.
 */
#ifndef TEM_MIME_H
#define TEM_MIME_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/mime_decode.h"

#define MIME_MAX_DEPTH		32
#define MIME_MAX_PARTS		5000
#define MIME_MAX_BOUNDARY	256
#define MIME_MAX_PARAMS		64

/* A parameter as IMAP shows it: name as written; RFC 2231 continuations
   joined ("name" for plain ones, "name*" with the charset'lang'%XX value
   for extended ones). */
struct mime_param {
	char	*name;
	char	*value;
};

struct mime_part {
	/* Buffer offsets: header [hdr_off, body_off) including its empty
	   line; body [body_off, end). */
	size_t		 hdr_off;
	size_t		 body_off;
	size_t		 end;
	/* Wire (CRLF) figures. body_lines counts line ends in the body. */
	size_t		 hdr_size;
	size_t		 body_size;
	size_t		 body_lines;

	/* Content-Type: type and subtype as written (for BODYSTRUCTURE;
	   "" when invalid) and lowercased (for decisions). */
	char		*type_raw;
	char		*subtype_raw;
	char		*type;
	char		*subtype;
	struct mime_param *params;
	size_t		 nparams;
	/* Content-Transfer-Encoding token as written (NULL: none). */
	char		*cte_raw;
	enum mime_cte	 cte;
	/* Unfolded raw values (NULL when the field is absent). */
	char		*id;
	char		*description;
	char		*md5;
	char		*language;
	char		*location;
	char		*disposition;	/* the disposition type */
	struct mime_param *disp_params;
	size_t		 ndisp_params;

	struct mime_part *parent;	/* NULL for the root */
	struct mime_part *children;	/* multipart: first child */
	struct mime_part *next;		/* next sibling */
	size_t		 nchildren;
	/* message/rfc822 (and message/global) parsed as a message: the
	   embedded message, whose header is its header and whose body is
	   its body; it covers this part's body. NULL otherwise. */
	struct mime_part *message;
	unsigned	 depth;		/* root 0 */
	bool		 has_ctype;	/* a Content-Type field was present */
};

struct mime_msg {
	const char	 *data;		/* borrowed: keep it alive */
	size_t		  len;
	struct mime_part *root;
	/* Every part in document order (root first). */
	struct mime_part **parts;
	size_t		  nparts;
	bool		  capped;	/* a limit above was reached */
	/* Set by the caller: data is the message exactly as received, so
	   a bare LF in it is a bare LF, not a line end (imap_binary_fetch
	   then gives identity-encoded parts as they are). */
	bool		  exact;
};

/* Parses data[0..len). Never NULL. Free with mime_free(). The tree
   points into data, which must outlive it. */
struct mime_msg *mime_parse(const char *data, size_t len);
void mime_free(struct mime_msg **m);

/* True for multipart/x parts (they may still have no children). */
bool mime_part_is_multipart(const struct mime_part *p);
/* True for message/rfc822 and message/global (parsed or not). */
bool mime_part_is_message(const struct mime_part *p);
/* True for text/x parts (and parts without a Content-Type outside a
   multipart/digest, which are text/plain). */
bool mime_part_is_text(const struct mime_part *p);

/* Child n (1-based) of a multipart, or NULL. */
struct mime_part *mime_part_child(const struct mime_part *p, size_t n);

/* Value of the first parameter called name (case-insensitive), or NULL. */
const char *mime_param_get(const struct mime_param *params, size_t n,
    const char *name);

/* Wire (CRLF) size of data[from..to), counting each bare LF as two. */
size_t mime_wire_size(const char *data, size_t from, size_t to);

/*
 * Appends the wire form of data[from..to) to out (each bare LF written as
 * CRLF), limited to the wire-form window [skip, skip + max) (max
 * SIZE_MAX: to the end). Returns 0, or -1 when out's max was hit.
 */
int mime_append_wire(const char *data, size_t from, size_t to, size_t skip,
    size_t max, struct buf *out);

#endif
