/*
 * imap_parser - incremental, I/O-free parser of IMAP client commands.
 *
 * Trust: every byte comes from an unauthenticated network client. The parser
 * never blocks, never logs and never allocates beyond the limits it is given
 * (STYLE.md habits 4 and 5): it is fed whatever the socket produced and
 * answers "need more", "here is one command", "a literal needs an answer",
 * "here is a chunk of an APPEND message" or "error".
 *
 * Standards: RFC 9051 (IMAP4rev2) and RFC 3501 (IMAP4rev1) command grammar,
 * RFC 7888 (LITERAL+ / LITERAL-), RFC 3516 / 9051 literal8 (~{n}),
 * RFC 3502 (MULTIAPPEND).
 *
 * Typical session loop (the session owns the socket and its input buffer):
 *
 *   for (;;) {
 *       r = imap_parser_feed(p, in + off, len - off, &used);
 *       off += used;
 *       switch (r) {
 *       case IMAP_PARSE_NEED_MORE:     read more from the socket; continue
 *       case IMAP_PARSE_LITERAL_WAIT:  send "+ OK\r\n" (or refuse, below)
 *       case IMAP_PARSE_LITERAL_STREAM: write chunk to the APPEND temp file
 *       case IMAP_PARSE_COMMAND:       run imap_parser_command(p)
 *       case IMAP_PARSE_LINE:          AUTHENTICATE / IDLE continuation line
 *       case IMAP_PARSE_ERROR:         send imap_parser_error(p)->reply
 *       }
 *   }
 *
 * Lexical rules enforced here (everything else is left to imap_args.h and
 * the command handlers):
 *  - lines end in CRLF; a bare LF is accepted too, a CR not followed by LF
 *    is an error. Empty lines between commands are ignored.
 *  - tag: 1*<ASTRING-CHAR except "+">; command name: ATOM-CHARs, up to
 *    IMAP_COMMAND_NAME_MAX, returned upper-cased. "UID" is a prefix: the
 *    command "a UID FETCH ..." comes back as name "FETCH" with uid set.
 *  - arguments are separated by one or more SP; a list's "(" needs no SP
 *    after it and ")" none before it. Trailing SP before CRLF is tolerated.
 *  - atoms are runs of CHAR except CTL, SP, "(", ")", "{", DQUOTE (so flags
 *    "\Seen", list patterns "a/%", sequence sets "1:*" and astrings with "]"
 *    all come back as atoms). NUL and 8-bit bytes in atoms are errors. An
 *    atom equal to NIL (any case) has type IMAP_ARG_NIL.
 *  - in FETCH only, an atom "BODY[" or "BODY.PEEK[" (any case) extends to
 *    the matching "]" across SP, one level of "(...)" and quoted strings,
 *    then on through "<o.l>": "BODY.PEEK[HEADER.FIELDS (From To)]<0.512>"
 *    is one atom, kept as sent (imap_args_parse_fetch splits it).
 *  - quoted strings: escapes \" and \\ only; no CR, LF or NUL; 8-bit bytes
 *    must be well-formed UTF-8 (IMAP4rev2 utf8-quoted).
 *  - literals {n}, {n+} and literal8 ~{n}, ~{n+}; n is decimal, at most
 *    2^63-1. A literal is binary-safe (struct imap_arg has its length),
 *    but a plain literal must not contain NUL (CHAR8); literal8 may, and is
 *    only accepted inside APPEND.
 *
 * Literals and limits (struct imap_parser_limits):
 *  - A synchronizing literal {n} within its limit makes feed return
 *    IMAP_PARSE_LITERAL_WAIT after consuming the "{n}\r\n". The session
 *    sends "+ OK\r\n" and keeps feeding; or, to refuse (for instance APPEND
 *    into a mailbox that does not exist: imap_parser_current() shows the
 *    arguments so far), it sends its tagged NO and calls
 *    imap_parser_literal_refuse(): the client sends nothing more for that
 *    command, so the parser simply starts over with the next one.
 *  - A synchronizing literal over its limit is refused by the parser before
 *    a byte of it is read: feed returns IMAP_PARSE_ERROR with code
 *    IMAP_PERR_LITERAL_TOO_BIG, reply "NO [TOOBIG] ..." for an APPEND
 *    message and "BAD [TOOBIG] ..." otherwise, skipping false and close
 *    false: the client sends nothing more for this command.
 *  - A non-synchronizing literal {n+} needs no answer and is read at once.
 *    Over its limit (or over nonsync_max, which models LITERAL-), the
 *    client has already sent, or is sending, n bytes we do not want.
 *    Decision: the parser returns IMAP_PARSE_ERROR with reply
 *    "BAD [TOOBIG] ..." and close = true: the session should send that
 *    reply, then "* BYE" and close (RFC 7888 section 4 allows closing).
 *    A session that does not close may keep feeding: the parser then
 *    silently discards the n bytes and the rest of the command, so the
 *    stream stays in sync either way.
 *
 * APPEND messages are streamed, never buffered (STYLE: "IMAP literals and
 * DATA stream to disk, never slurp"):
 *  - In a command named APPEND, every literal at the top level after the
 *    first argument (the mailbox), and every literal right after the atom
 *    TEXT in a list that follows the top-level atom CATENATE (RFC 4469's
 *    text parts), is a message: its limit is
 *    limits.append_max, it does not count towards command_max, and its
 *    bytes are handed out as they arrive: feed returns
 *    IMAP_PARSE_LITERAL_STREAM once per chunk, and imap_parser_literal()
 *    describes it: data/len point into the caller's own input buffer (the
 *    bytes just consumed, zero copy), offset is their position in the
 *    message, last marks the final chunk (a zero-length literal gives one
 *    empty chunk with last set), index counts messages for MULTIAPPEND
 *    (0, 1, ...). The session writes each chunk to a temp file.
 *  - In the argument tree of the finished APPEND command a streamed
 *    message is an IMAP_ARG_STREAM argument holding its size and index, in
 *    place of the literal: the session pairs it with temp file number
 *    `index`. imap_args_parse_append() reads mailbox, flags and dates.
 *  - A message literal with a NUL byte (not literal8) is an error in the
 *    middle of the stream: IMAP_PARSE_ERROR, the rest of the literal and of
 *    the command is discarded; the session drops its temp files.
 *  - To reject an APPEND whose message literal was non-synchronizing (no
 *    WAIT), the session keeps feeding, discards the chunks, and answers NO
 *    when the COMMAND arrives.
 *
 * Errors: imap_parser_error() gives the reply text (to send after the tag,
 * or after "*" when the tag is NULL), whether the parser is now discarding
 * the rest of the bad command (the rest of its line and any {n+} literal
 * announced at the end of a line, and the lines those literals continue; a
 * {n} was never accepted, so it has nothing to skip), and whether the
 * session should close. Errors are reported as soon as they are seen, so a
 * bad line of endless length gets its answer at once.
 *
 * Memory: an idle parser holds well under 2 KiB. The command's strings and
 * argument tree are allocated per command, bounded by command_max and
 * args_max, and freed when the next command starts (or by
 * imap_parser_command_done()).
 */
#ifndef TEM_IMAP_PARSER_H
#define TEM_IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMAP_COMMAND_NAME_MAX	64	/* longest command name accepted */
#define IMAP_LITERAL_MINUS_MAX	4096	/* RFC 7888 LITERAL- {n+} ceiling */

struct imap_parser;

struct imap_parser_limits {
	size_t	 line_max;	/* bytes per line, literals excluded */
	size_t	 literal_max;	/* one literal in any other position */
	uint64_t append_max;	/* one APPEND message literal (streamed) */
	size_t	 command_max;	/* one command, literals included except
				   streamed APPEND messages */
	uint64_t nonsync_max;	/* largest {n+} accepted: UINT64_MAX for
				   LITERAL+, IMAP_LITERAL_MINUS_MAX for
				   LITERAL- */
	unsigned depth_max;	/* parenthesis nesting */
	unsigned args_max;	/* arguments in one command, lists included */
};

/* Fills *lim with the defaults: line 64 KiB, literal 64 KiB, APPEND 50 MiB,
   command 1 MiB, nonsync UINT64_MAX (LITERAL+), depth 32, args 10000. A
   session lowers them before AUTH with imap_parser_set_limits(). */
void imap_parser_limits_default(struct imap_parser_limits *lim);

enum imap_parse_result {
	IMAP_PARSE_NEED_MORE,	  /* all input consumed, nothing complete */
	IMAP_PARSE_COMMAND,	  /* imap_parser_command() is ready */
	IMAP_PARSE_ERROR,	  /* imap_parser_error() is ready */
	IMAP_PARSE_LITERAL_WAIT,  /* {n} announced: send "+ OK" or refuse */
	IMAP_PARSE_LITERAL_STREAM,/* imap_parser_literal() holds a chunk */
	IMAP_PARSE_LINE,	  /* imap_parser_line() is ready */
};

enum imap_arg_type {
	IMAP_ARG_ATOM,
	IMAP_ARG_NIL,		/* the atom NIL, any case; str holds it */
	IMAP_ARG_STRING,	/* quoted string, unescaped */
	IMAP_ARG_LITERAL,	/* {n} / {n+} / ~{n}, bytes in str/len */
	IMAP_ARG_LIST,		/* ( ... ) */
	IMAP_ARG_STREAM,	/* APPEND message, streamed: size, index */
};

struct imap_arg {
	enum imap_arg_type	 type;
	bool			 literal8;	/* LITERAL or STREAM from ~{n} */
	/* ATOM, NIL, STRING, LITERAL: len bytes, NUL-terminated at len.
	   Only a literal8 may hold NUL bytes. NULL for LIST and STREAM. */
	const char		*str;
	size_t			 len;
	/* LIST: its elements, contiguous. */
	const struct imap_arg	*list;
	unsigned		 list_count;
	/* STREAM: the message size and its number within the command. */
	uint64_t		 size;
	unsigned		 index;
};

struct imap_command {
	const char		*tag;
	const char		*name;	/* upper-case, without the UID prefix */
	bool			 uid;	/* sent as "UID <name>" */
	const struct imap_arg	*args;	/* top-level arguments */
	unsigned		 count;
};

enum imap_parse_error_code {
	IMAP_PERR_SYNTAX,
	IMAP_PERR_LINE_TOO_LONG,	/* close */
	IMAP_PERR_COMMAND_TOO_LONG,	/* close, unless a {n} caused it */
	IMAP_PERR_LITERAL_TOO_BIG,	/* close when non-synchronizing */
	IMAP_PERR_TOO_DEEP,
	IMAP_PERR_TOO_MANY_ARGS,
};

struct imap_parse_error {
	enum imap_parse_error_code code;
	/* The bad command's tag, or NULL when it was not read yet (answer
	   untagged). Valid until the next feed. */
	const char	*tag;
	/* Static text to send after the tag: "BAD <text>" or
	   "NO [TOOBIG] <text>"; no CRLF. */
	const char	*reply;
	/* True: the parser will discard the rest of this command's input
	   (rest of line, announced {n+} literals). False: the error ended the
	   command's input; the next byte starts a new command. */
	bool		 skipping;
	/* True: a limit was hit; the session should send the reply, then
	   "* BYE" and close the connection. */
	bool		 close;
};

/* The literal just announced (LITERAL_WAIT) or being streamed
   (LITERAL_STREAM). */
struct imap_literal {
	uint64_t	 size;		/* announced size */
	bool		 nonsync;	/* {n+} */
	bool		 literal8;	/* ~{n} */
	bool		 stream;	/* an APPEND message: comes as chunks */
	unsigned	 index;		/* stream: message number, from 0 */
	/* LITERAL_STREAM only: */
	const char	*data;		/* into the buffer given to feed */
	size_t		 len;
	uint64_t	 offset;	/* of data within the message */
	bool		 last;		/* offset + len == size */
};

/* Creates a parser with the given limits (copied). Never fails. */
struct imap_parser *imap_parser_create(const struct imap_parser_limits *lim);
/* Frees the parser and everything it returned; sets *pp to NULL. */
void imap_parser_destroy(struct imap_parser **pp);
/* Replaces the limits (copied), for instance after AUTH. Takes effect for
   checks made from now on. */
void imap_parser_set_limits(struct imap_parser *p,
    const struct imap_parser_limits *lim);

/*
 * Consumes up to len bytes of in and sets *used_r to how many it consumed
 * (always all of them for NEED_MORE; less when it stops at an event). Call
 * it again with the rest. in need not be NUL-terminated. Never fails
 * fatally: errors are results. Returns:
 *   NEED_MORE       all len bytes consumed, no event.
 *   COMMAND         a whole command; see imap_parser_command().
 *   ERROR           see imap_parser_error().
 *   LITERAL_WAIT    see above; imap_parser_literal() gives its size.
 *   LITERAL_STREAM  see above; imap_parser_literal() gives the chunk.
 *   LINE            after imap_parser_read_line(): a raw line.
 * What the previous result pointed to (command, error tag, line) stays valid
 * until this function is called again; chunk data lives in the caller's
 * buffer.
 */
enum imap_parse_result imap_parser_feed(struct imap_parser *p, const char *in,
    size_t len, size_t *used_r);

/* After COMMAND: the command. Owned by the parser; valid until the next
   imap_parser_feed(), imap_parser_command_done() or destroy. */
const struct imap_command *imap_parser_command(const struct imap_parser *p);
/* During LITERAL_WAIT (or any time inside a command): the tag, name and the
   arguments complete so far (the pending literal is not among them). The
   same lifetime as above. Returns NULL before the command name is read. */
const struct imap_command *imap_parser_current(struct imap_parser *p);
/* After ERROR: what went wrong. Owned by the parser. */
const struct imap_parse_error *imap_parser_error(const struct imap_parser *p);
/* After LITERAL_WAIT or LITERAL_STREAM: the literal. Owned by the parser. */
const struct imap_literal *imap_parser_literal(const struct imap_parser *p);

/* Only right after LITERAL_WAIT: the session refused the literal with its
   own tagged reply. The command is dropped; the next byte starts a new
   command. */
void imap_parser_literal_refuse(struct imap_parser *p);

/* Only between commands (right after COMMAND, or before any input): the
   next feed reads one raw line (AUTHENTICATE responses, IDLE's DONE) and
   returns IMAP_PARSE_LINE, or ERROR (LINE_TOO_LONG with close, or a NUL
   byte: the rest of the line is skipped). The line counts against
   line_max and command_max. Call it once per line wanted. */
void imap_parser_read_line(struct imap_parser *p);
/* After LINE: the line without its CRLF, NUL-terminated; *len_r its
   length. Valid until the next feed. */
const char *imap_parser_line(const struct imap_parser *p, size_t *len_r);

/* Frees the memory of the last result (command, error, line) now rather
   than at the next feed: call it before going idle. A no-op while a
   command is still being parsed (after WAIT or STREAM). */
void imap_parser_command_done(struct imap_parser *p);

/* Argument accessors: each returns false when arg has another type. */
/* ATOM only (not NIL). */
bool imap_arg_get_atom(const struct imap_arg *arg, const char **str_r);
/* astring: ATOM, NIL (as the atom "NIL"), STRING or LITERAL. */
bool imap_arg_get_astring(const struct imap_arg *arg, const char **str_r,
    size_t *len_r);
/* string: STRING or LITERAL. */
bool imap_arg_get_string(const struct imap_arg *arg, const char **str_r,
    size_t *len_r);
/* nstring: NIL (*str_r = NULL) or string. */
bool imap_arg_get_nstring(const struct imap_arg *arg, const char **str_r,
    size_t *len_r);
bool imap_arg_get_list(const struct imap_arg *arg,
    const struct imap_arg **list_r, unsigned *count_r);
/* True when arg is an ATOM equal to word, ignoring ASCII case. */
bool imap_arg_atom_equals(const struct imap_arg *arg, const char *word);

#endif
