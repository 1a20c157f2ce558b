/*
 * head_edit - I/O-free edits of a stored header section, as a milter (and
 * later Sieve's editheader) asks for them: add, insert, change, delete.
 *
 * head: the header section as tem stores it (LF line ends, folded lines
 * start with SP/HT), with or without its final empty line (kept where it
 * is; anything after it is left alone). A field is what mail/rfc5322.c's
 * iterator yields (lines without a colon are no field and are not
 * counted), so the indexes a milter sends count the same fields tem sent
 * it. Field index semantics are libmilter's as Postfix implements them
 * (src/cleanup/cleanup_milter.c, src/milter/milter8.c).
 *
 * Trust: name and value come from a milter (an outside program); both are
 * checked here and the result is bounded by max.
 */
#ifndef TEM_MSG_HEAD_EDIT_H
#define TEM_MSG_HEAD_EDIT_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

/* Longest field name accepted (RFC 5322's 998-octet line less the colon). */
#define HEAD_EDIT_NAME_MAX	997

enum head_edit_op {
	HEAD_EDIT_ADD,		/* append after the last field */
	HEAD_EDIT_INSERT,	/* before the index-th field (0 = on top);
				   past the end: append */
	HEAD_EDIT_CHANGE,	/* the index-th (1-based; 0 counts as 1, as
				   Postfix) field with this name (ASCII
				   case-insensitive): replaced, or deleted
				   when value is ""; no such field and a
				   non-empty value: appended (as Postfix);
				   no such field and "": nothing to do (0) */
};

/*
 * name: a field name (printable US-ASCII 33..126 except ':', 1..997
 * octets); value as the milter sent it: CRLF followed by SP/HT (folding)
 * becomes LF, as does LF followed by SP/HT; any other CR or LF is invalid.
 * leadspc: the value already starts with its own white space
 * (SMFIP_HDR_LEADSPC negotiated), else one SP is put after the colon.
 * The result must stay <= max octets. Appending to a head whose last line
 * lacks its LF first ends that line.
 * Returns 0, or -1 with head unchanged (invalid name/value, too big).
 */
int head_edit_apply(struct buf *head, enum head_edit_op op, unsigned index,
    const char *name, const char *value, bool leadspc, size_t max);

/* Counts the fields (for tests and logs). */
size_t head_field_count(const char *head, size_t len);

#endif
