/*
 * managesieve_parser - the I/O-free grammar of ManageSieve commands (RFC
 * 5804 section 4): a command name and its arguments (quoted strings,
 * literals, numbers), checked against what each command takes, and the
 * quoting of strings in responses.
 *
 * Trust: the input is untrusted client bytes; any byte string of any
 * length is safe to give it. It keeps no state between calls: the caller
 * holds the unparsed input and calls again when more has come (the
 * answer says how much it must at least hold then, so a big literal is
 * parsed once, not per network read).
 *
 * Limits: MS_LINE_MAX octets of a line outside its literals (more: the
 * command is refused, the rest of the line dropped), MS_QUOTED_MAX per
 * quoted string (RFC 5804 4: 1024), MS_LITERAL_MAX per literal (the
 * store's script size; MS_SASL_MAX for an AUTHENTICATE response and for
 * every literal before login), at
 * most MS_ARGS_MAX arguments, numbers below 2^32.
 *
 * Literals: "{N+}" (non-synchronising, what RFC 5804 clients send) and
 * "{N}" (synchronising, accepted too: ManageSieve has no continuation
 * reply, so the data is taken as it follows the line).
 */
#ifndef TEM_MANAGESIEVE_PARSER_H
#define TEM_MANAGESIEVE_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sieve/sieve_store.h"
#include "util/buf.h"

#define MS_LINE_MAX		8192
#define MS_QUOTED_MAX		1024
#define MS_LITERAL_MAX		SIEVE_STORE_SIZE_MAX
#define MS_SASL_MAX		12288
#define MS_ARGS_MAX		2

enum ms_verb {
	MS_AUTHENTICATE,	/* mechanism [initial response] */
	MS_STARTTLS,
	MS_LOGOUT,
	MS_CAPABILITY,
	MS_HAVESPACE,		/* name number */
	MS_PUTSCRIPT,		/* name script */
	MS_LISTSCRIPTS,
	MS_SETACTIVE,		/* name */
	MS_GETSCRIPT,		/* name */
	MS_DELETESCRIPT,	/* name */
	MS_RENAMESCRIPT,	/* old new */
	MS_CHECKSCRIPT,		/* script */
	MS_NOOP,		/* [tag] */
	MS_UNAUTHENTICATE,
	MS_SASL_RESPONSE,	/* (mode MS_MODE_SASL) the one string */
};

enum ms_mode {
	MS_MODE_COMMAND,	/* a command line */
	MS_MODE_LOGIN,		/* a command line before login: literals at
				 * most MS_SASL_MAX (no command open before
				 * login needs more), so a client that has not
				 * logged in cannot make the session hold a
				 * script's worth of input */
	MS_MODE_SASL,		/* a line holding one string: an AUTHENTICATE
				 * response after the server's challenge */
};

enum ms_parse_result {
	MS_PARSE_DONE,		/* *cmd filled; drop res.used octets */
	MS_PARSE_MORE,		/* call again holding >= res.need octets */
	MS_PARSE_ERROR,		/* res.msg; drop res.used octets, then
				 * res.skip more, then up to the next LF */
};

/* Why a command was refused (the session picks the response code). */
enum ms_error {
	MS_ERR_SYNTAX,		/* NO "..." */
	MS_ERR_UNKNOWN,		/* unknown command */
	MS_ERR_TOO_BIG,		/* a literal above its limit: for PUTSCRIPT
				 * and CHECKSCRIPT NO (QUOTA/MAXSIZE) */
	MS_ERR_LINE,		/* line over MS_LINE_MAX */
};

struct ms_arg {
	char		*s;	/* malloc'd, NUL-terminated (may hold NULs) */
	size_t		 len;
	bool		 number;
	uint32_t	 num;	/* when number */
};

struct ms_command {
	enum ms_verb	 verb;
	unsigned	 nargs;
	struct ms_arg	 args[MS_ARGS_MAX];
};

struct ms_parse_res {
	size_t		 used;	/* octets of the input taken */
	size_t		 need;	/* MORE: hold at least this many, then call */
	uint64_t	 skip;	/* ERROR: literal octets still to drop */
	enum ms_error	 error;
	bool		 verb_known;	/* ERROR: verb below is valid */
	enum ms_verb	 verb;
	const char	*msg;	/* ERROR: one line, static */
};

/* Parses one command (or SASL line) at the start of in[0..len). */
enum ms_parse_result ms_parse(const char *in, size_t len, enum ms_mode mode,
    struct ms_command *cmd, struct ms_parse_res *res);
/* Frees cmd's strings (idempotent). */
void ms_command_free(struct ms_command *cmd);
/* The verb's name ("PUTSCRIPT"), for logs. */
const char *ms_verb_name(enum ms_verb verb);

/* Appends s[0..len) as a response string: quoted when it is short and
 * holds no CR, LF or NUL, else a literal "{N}\r\n..." (RFC 5804 4). */
void ms_put_string(struct buf *b, const char *s, size_t len);

#endif
