/*
 * imap_parser_int - the state of the IMAP command parser, shared by its
 * parts: imap_parser.c (the public API, literal data), imap_grammar.c (the
 * line grammar, byte by byte), imap_command.c (the command being stored
 * and its argument tree, the argument accessors) and imap_parser_skip.c
 * (errors and skipping to the end of a bad command). Not for other
 * callers: their contract is imap_parser.h.
 */
#ifndef TEM_IMAP_PARSER_INT_H
#define TEM_IMAP_PARSER_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "imap/imap_parser.h"
#include "util/buf.h"

enum pstate {
	S_START,	/* before a command (empty lines ignored) */
	S_TAG,
	S_NAME,		/* command name, or the one after "UID " */
	S_ARGS,		/* after SP or "(": an argument may start */
	S_AFTER_ARG,	/* after an argument: SP, ")" or end of line */
	S_ATOM,
	S_TILDE,	/* "~" at argument start: literal8 or atom */
	S_SECTION,	/* inside FETCH "BODY[...]" */
	S_SEC_QUOTED,
	S_SEC_QESC,
	S_QUOTED,
	S_QESC,
	S_LIT_SIZE,	/* "{" digits */
	S_LIT_PLUS,	/* "{n+" */
	S_LIT_END,	/* "{n}" or "{n+}": CRLF must follow */
	S_LIT_DATA,	/* literal bytes, stored */
	S_STREAM,	/* APPEND message bytes, handed out */
	S_CR,		/* CR seen: LF must follow */
	S_SKIP,		/* after an error: discard to end of line */
	S_SKIP_LIT,	/* after an error: discard a {n+} literal */
	S_LINE,		/* imap_parser_read_line() */
};

enum cmd_kind { K_OTHER, K_APPEND, K_FETCH, K_SETMETADATA };

/* skip-state recognizer of "{digits[+]}" at a line end */
enum skip_sub { SK_NONE, SK_DIGITS, SK_PLUS, SK_SYNC_END, SK_NONSYNC_END };

/* step() results besides enum imap_parse_result values (which are >= 0) */
#define R_CONT		(-1)	/* byte consumed, go on */
#define R_REDO		(-2)	/* byte not consumed, state changed: again */
#define R_ERR_KEEP	(-3)	/* error; byte not consumed (skip sees it) */
#define R_ERR_EAT	(-4)	/* error; byte consumed (it was the LF) */

#define LITERAL_SIZE_MAX	((uint64_t)INT64_MAX)	/* number64 */
#define KEEP_DATA_MAX		1024	/* idle memory kept between commands */
#define KEEP_ARGS_MAX		32

struct parg {
	enum imap_arg_type type;
	bool		 literal8;
	unsigned	 parent;	/* 0: top level, else index + 1 */
	unsigned	 nchild;	/* LIST */
	unsigned	 start, fill;	/* build_args() scratch */
	size_t		 off, len;	/* string in p->data */
	uint64_t	 size;		/* STREAM */
	unsigned	 index;		/* STREAM */
};

struct imap_parser {
	struct imap_parser_limits lim;
	enum pstate	 state;
	enum pstate	 cr_from;	/* state that saw the CR */
	bool		 need_reset;	/* result delivered: reset on feed */
	bool		 wait_pending;	/* LITERAL_WAIT just returned */

	/* the command being parsed */
	struct buf	 data;		/* tag, name, strings, NUL after each */
	struct parg	*pargs;
	unsigned	 pargs_n, pargs_cap;
	unsigned	 top_count;	/* top-level arguments */
	unsigned	 cur_list;	/* open list: index + 1, or 0 */
	unsigned	 depth;
	bool		 tag_done, name_done, uid;
	size_t		 name_off;
	enum cmd_kind	 kind;
	size_t		 line_len;	/* bytes of this line segment */
	size_t		 cmd_len;	/* bytes of this command */
	size_t		 tok_off;	/* start of the token in data */
	unsigned	 sec_paren;	/* "(" depth inside BODY[...] */
	unsigned	 stream_count;	/* APPEND messages seen */

	/* literal being announced or read */
	struct imap_literal lit;
	unsigned	 lit_digits;
	uint64_t	 lit_left;

	/* skipping after an error */
	uint64_t	 skip_left;
	enum skip_sub	 sk;
	uint64_t	 sk_val;
	unsigned	 sk_digits;
	size_t		 skip_line;
	bool		 skip_long_told;

	/* results */
	struct imap_arg	*out;
	struct imap_command cmd;
	struct imap_parse_error err;
};

/* Replies of the errors (the tagged or untagged text after the tag). */
#define REPLY_NUL	"BAD NUL byte in command"
#define REPLY_8BIT	"BAD 8-bit character outside a quoted string or literal"
#define REPLY_CHAR	"BAD Invalid character in command"
#define REPLY_TAG	"BAD Invalid tag"
#define REPLY_NO_NAME	"BAD Missing command name"
#define REPLY_NAME	"BAD Invalid command name"
#define REPLY_UID	"BAD Missing command after UID"
#define REPLY_SPACE	"BAD Missing space between arguments"
#define REPLY_PAREN	"BAD Unexpected ')'"
#define REPLY_UNCLOSED	"BAD Missing ')'"
#define REPLY_CRLF	"BAD CR not followed by LF"
#define REPLY_QUOTED	"BAD Unterminated quoted string"
#define REPLY_ESCAPE	"BAD Invalid escape in quoted string"
#define REPLY_UTF8	"BAD Invalid UTF-8 in quoted string"
#define REPLY_SECTION	"BAD Invalid BODY[] section"
#define REPLY_LIT_SYNTAX	"BAD Invalid literal"
#define REPLY_LIT_NUL	"BAD NUL byte in literal (use ~{n})"
#define REPLY_LIT8	"BAD literal8 is only allowed in APPEND, CATENATE " \
	"and SETMETADATA"
#define REPLY_LIT_BIG	"BAD [TOOBIG] Literal too big"
#define REPLY_MSG_BIG	"NO [TOOBIG] Message too big"
/* RFC 5464 4.3: a value over the literal limit (64 KiB, cmd-metadata.c
 * checks they agree) is a NO, said before the literal is read. */
#define REPLY_METADATA_BIG "NO [METADATA MAXSIZE 65536] Value too long"
#define REPLY_LINE_LONG	"BAD [TOOBIG] Line too long"
#define REPLY_CMD_LONG	"BAD [TOOBIG] Command too long"
#define REPLY_DEPTH	"BAD Too deeply nested lists"
#define REPLY_ARGS	"BAD Too many arguments"

/* ---- imap_grammar.c ---------------------------------------------- */
const char *ip_bad_char_reply(unsigned char c);
bool ip_is_digit(unsigned char c);
int ip_step(struct imap_parser *p, unsigned char c);

/* ---- imap_command.c ---------------------------------------------- */
/* Turns the current token into a string argument (NUL-terminated). */
int ip_arg_from_token(struct imap_parser *p, enum imap_arg_type type);
/* Appends an argument of the given type to the open list. Returns its
   index, or -1 when args_max would be exceeded. */
int ip_arg_new(struct imap_parser *p, enum imap_arg_type type);
/*
 * Lays the arguments out as struct imap_arg, each list's elements
 * contiguous. pargs is in completion order, in which a list is created when
 * its "(" is read, so before every one of its elements: one pass can give
 * each list its block (after all blocks handed out so far) when it is met,
 * and place each element in its parent's block in order.
 */
void ip_build_args(struct imap_parser *p);
void ip_put(struct imap_parser *p, const void *s, size_t n);
void ip_putc1(struct imap_parser *p, char c);
void ip_reset_command(struct imap_parser *p);
void ip_token_begin(struct imap_parser *p);
size_t ip_token_len(const struct imap_parser *p);
const char *ip_token_str(const struct imap_parser *p);

/* ---- imap_parser_skip.c ------------------------------------------ */
/* Where an error was found, which decides what is left to discard. */
enum fail_at {
	AT_BYTE,	/* the byte in hand is kept for the skip state */
	AT_LF,		/* the byte in hand was the line's LF: consumed */
	IN_LITERAL,	/* inside literal data: skip_left more, then the line */
};

/* Records an error and picks the state that discards the rest of the bad
   command. Returns R_ERR_KEEP for AT_BYTE, else R_ERR_EAT. */
int ip_fail(struct imap_parser *p, enum imap_parse_error_code code,
    const char *reply, enum fail_at at);
int ip_fail_char(struct imap_parser *p, unsigned char c, const char *reply);
/* One byte in the skip state. */
int ip_skip_byte(struct imap_parser *p, unsigned char c);

#endif
