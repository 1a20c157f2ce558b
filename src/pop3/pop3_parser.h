/*
 * pop3_parser - the I/O-free parts of POP3 (RFC 1939, RFC 2449, RFC 5034):
 * one command line into a verb and validated arguments, and the encoder
 * that turns a stored message into the body of a multi-line response.
 *
 * Trust: command lines are untrusted client input; the parser never
 * allocates, copies nothing and keeps no state, so any byte string of any
 * length is safe to give it. Messages given to the encoder come from the
 * user's own Maildir (any bytes).
 */
#ifndef TEM_POP3_PARSER_H
#define TEM_POP3_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/sasl.h"
#include "util/buf.h"

/* A command line, CRLF included. RFC 2449 allows 255 octets; 512 leaves
 * room for long user names and AUTH PLAIN initial responses. */
#define POP3_LINE_MAX		512
/* An AUTH continuation line, CRLF included: RFC 5034 section 4 holds
 * the AUTH command to the command line limit but its responses to none
 * ("arbitrarily long"); we take SASL_LINE_MAX (auth/sasl.h) octets. */
#define POP3_SASL_LINE_MAX	(SASL_LINE_MAX + 2)

enum pop3_verb {
	POP3_VERB_USER,
	POP3_VERB_PASS,
	POP3_VERB_STAT,
	POP3_VERB_LIST,
	POP3_VERB_RETR,
	POP3_VERB_DELE,
	POP3_VERB_NOOP,
	POP3_VERB_RSET,
	POP3_VERB_QUIT,
	POP3_VERB_TOP,
	POP3_VERB_UIDL,
	POP3_VERB_CAPA,
	POP3_VERB_STLS,
	POP3_VERB_AUTH,
};

enum pop3_parse_result {
	POP3_PARSE_OK = 0,
	POP3_PARSE_UNKNOWN = -1,	/* no such command */
	POP3_PARSE_SYNTAX = -2,		/* known verb, bad arguments */
};

/*
 * A parsed command. arg/arg2 point into the line given to
 * pop3_parse_command() (not NUL-terminated: use the lengths) and are valid
 * as long as it is.
 *   USER name          arg = name (one word)
 *   PASS password      arg = the rest of the line after "PASS ", as is
 *                      (spaces included; never empty)
 *   AUTH [mech [ir]]   arg = mechanism, arg2 = initial response ("=" is
 *                      an empty one, RFC 5034), nargs 0..2
 *   LIST [msg], UIDL [msg]   has_msg when given
 *   RETR msg, DELE msg       has_msg always
 *   TOP msg n                has_msg; lines = n
 * msg is the message number as given; 0 when it was 0 or too large for
 * 32 bits (never a valid message: the session answers "no such message").
 * lines is n, UINT32_MAX when larger.
 */
struct pop3_command {
	enum pop3_verb	 verb;
	unsigned	 nargs;
	const char	*arg;
	size_t		 arg_len;
	const char	*arg2;
	size_t		 arg2_len;
	bool		 has_msg;
	uint32_t	 msg;
	uint32_t	 lines;
};

/* The verb's name in upper case ("RETR"), for logs. */
const char *pop3_verb_name(enum pop3_verb verb);

/*
 * Parses one command line (without its CRLF; len octets, may hold any
 * byte). The verb is case-insensitive and followed by single spaces and
 * its arguments; trailing spaces are ignored (except in PASS). NUL and
 * other control characters are refused. Returns POP3_PARSE_OK and fills
 * cmd, or a negative pop3_parse_result with *error_r set to a static
 * one-line text for the "-ERR " reply (cmd is then zeroed).
 */
int pop3_parse_command(const char *line, size_t len, struct pop3_command *cmd,
    const char **error_r);

/*
 * The message encoder for RETR and TOP. The stored form has LF (or CRLF)
 * line ends; the wire form turns every LF not preceded by CR into CRLF
 * (so its length is the store's wire size, mbox_msg_info.size), and a "."
 * at the start of a line is doubled (dot-stuffing, RFC 1939 3). For TOP,
 * the output stops after the header, the blank line, and `lines` lines of
 * the body.
 */
struct pop3_enc {
	bool		 top;
	bool		 line_start;	/* the next byte starts a line */
	bool		 prev_cr;	/* the last byte taken was CR */
	bool		 in_body;	/* past the header's blank line */
	bool		 done;		/* TOP's limit reached */
	size_t		 line_len;	/* bytes of the current line so far */
	uint32_t	 lines_left;	/* TOP: body lines still to send */
	uint64_t	 octets;	/* wire octets sent, stuffing excluded */
};

/* top false: the whole message (body_lines ignored). */
void pop3_enc_init(struct pop3_enc *e, bool top, uint32_t body_lines);
/*
 * Appends the wire form of the next n stored bytes to out (unbounded, or
 * out's max permitting: bytes that do not fit are lost, so give it none).
 * Chunks may split the message anywhere. Returns true once TOP's limit is
 * reached; later input is then ignored.
 */
bool pop3_enc_feed(struct pop3_enc *e, const char *data, size_t n,
    struct buf *out);
/* Ends the response: a CRLF when the message did not end with a line end,
 * then ".CRLF". */
void pop3_enc_end(struct pop3_enc *e, struct buf *out);

#endif
