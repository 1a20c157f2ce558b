/*
 * smtp_parser_int - what the parts of the SMTP command parser share
 * (smtp_parser.c: command lines, MAIL/RCPT, HELO, BDAT; smtp_path.c:
 * domains and paths; smtp_params.c: xtext and ESMTP parameters). Not for
 * other callers: their contract is smtp_parser.h.
 */
#ifndef TEM_SMTP_PARSER_INT_H
#define TEM_SMTP_PARSER_INT_H

#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "smtp/smtp_parser.h"
#include "util/buf.h"

static inline bool
is_atext(unsigned char c)
{
	return c != '\0' && isascii(c) && (isalnum(c) ||
	    strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static inline bool
is_alnum(unsigned char c)
{
	return isascii(c) && isalnum(c);
}

/* ---- smtp_path.c --------------------------------------------------- */
struct domain_opts {
	bool	allow_utf8;
	bool	allow_underscore;
	bool	allow_trailing_dot;
};

/* Domain = sub-domain *("." sub-domain). On success advances *sp past it
   (and past an allowed trailing dot) and returns the length without that
   dot; returns 0 when malformed or longer than SMTP_DOMAIN_MAX. UTF-8
   labels (when allowed) set *utf8_r. */
size_t smtp_parse_domain(const char **sp, const struct domain_opts *o,
    bool *utf8_r);
/* "[" IPv4 / "IPv6:" IPv6 "]" at *sp: its length, advancing *sp; or 0. */
size_t smtp_parse_address_literal(const char **sp);

enum path_result { PATH_OK, PATH_SYNTAX, PATH_TOO_LONG };

struct path_ctx {
	bool		is_mail;
	struct buf	lp;
};

/* "<" [ A-d-l ":" ] Mailbox ">" or "<>" at *sp; advances past the ">". */
enum path_result smtp_parse_path(const char **sp, struct path_ctx *ctx,
    struct smtp_path *p);

/* ---- smtp_params.c ------------------------------------------------- */
/* The ESMTP parameters after a MAIL or RCPT path, into p; -1 with
   *reply_r set when one is unknown, malformed or repeated. */
int smtp_parse_params(const char *s, bool is_mail, bool utf8_ok,
    struct smtp_path *p, const char **reply_r);

#endif
