/*
 * imap_parser - incremental IMAP command parser (see imap_parser.h for the
 * contract).
 *
 * Trust: untrusted network input, before and after authentication. No I/O,
 * no globals, no logging. Every byte read is counted against the line and
 * command limits before anything is stored; literal sizes are checked
 * against their limit before a byte of the literal is accepted.
 *
 * Design: one state enum and a byte-at-a-time step function for the line
 * grammar; literal data is moved in bulk. While a command is parsed its
 * strings live in one struct buf (data) and its arguments in a flat array
 * of struct parg in the order they were completed, each naming its parent
 * list by index (offsets, not pointers, because data grows). Only when a
 * caller asks for the command is the tree built: build_args() lays out the
 * struct imap_arg array so that every list's elements are contiguous, in
 * one pass (a list always precedes its children in completion order... see
 * there). Callers are called back never; results are read through
 * accessors.
 *
 * Errors put the parser into a skip state that discards bytes up to the end
 * of the line, and recognises "{n+}" / "~{n+}" just before a line end, in
 * which case it discards n more bytes and goes on skipping the line that
 * continues the command (RFC 7888 section 3: a receiver must always honour
 * a non-synchronizing literal at the end of a line, even on a bad line;
 * otherwise literal bytes would be run as commands). "{n}" on a bad line was
 * never answered with "+", so the client sends no literal for it.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_parser.h"
#include "util/buf.h"
#include "util/utf8.h"
#include "util/log.h"
#include "util/xmalloc.h"

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

enum cmd_kind { K_OTHER, K_APPEND, K_FETCH };

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

static const char REPLY_NUL[] = "BAD NUL byte in command";
static const char REPLY_8BIT[] =
    "BAD 8-bit character outside a quoted string or literal";
static const char REPLY_CHAR[] = "BAD Invalid character in command";
static const char REPLY_TAG[] = "BAD Invalid tag";
static const char REPLY_NO_NAME[] = "BAD Missing command name";
static const char REPLY_NAME[] = "BAD Invalid command name";
static const char REPLY_UID[] = "BAD Missing command after UID";
static const char REPLY_SPACE[] = "BAD Missing space between arguments";
static const char REPLY_PAREN[] = "BAD Unexpected ')'";
static const char REPLY_UNCLOSED[] = "BAD Missing ')'";
static const char REPLY_CRLF[] = "BAD CR not followed by LF";
static const char REPLY_QUOTED[] = "BAD Unterminated quoted string";
static const char REPLY_ESCAPE[] = "BAD Invalid escape in quoted string";
static const char REPLY_UTF8[] = "BAD Invalid UTF-8 in quoted string";
static const char REPLY_SECTION[] = "BAD Invalid BODY[] section";
static const char REPLY_LIT_SYNTAX[] = "BAD Invalid literal";
static const char REPLY_LIT_NUL[] = "BAD NUL byte in literal (use ~{n})";
static const char REPLY_LIT8[] = "BAD literal8 is only allowed in APPEND";
static const char REPLY_LIT_BIG[] = "BAD [TOOBIG] Literal too big";
static const char REPLY_MSG_BIG[] = "NO [TOOBIG] Message too big";
static const char REPLY_LINE_LONG[] = "BAD [TOOBIG] Line too long";
static const char REPLY_CMD_LONG[] = "BAD [TOOBIG] Command too long";
static const char REPLY_DEPTH[] = "BAD Too deeply nested lists";
static const char REPLY_ARGS[] = "BAD Too many arguments";

/* ------------------------------------------------------------------ */
/* Character classes                                                    */

/* What the parser lets into an atom: CHAR minus CTL, SP, "(", ")", "{"
   and DQUOTE. Stricter shapes are checked by imap_args. */
static bool
is_atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '(' && c != ')' && c != '{' &&
	    c != '"';
}

/* tag = 1*<any ASTRING-CHAR except "+"> */
static bool
is_tag_char(unsigned char c)
{
	return is_atom_char(c) && c != '%' && c != '*' && c != '\\' &&
	    c != '+';
}

/* command names: ATOM-CHAR */
static bool
is_name_char(unsigned char c)
{
	return is_tag_char(c) && c != ']';
}

static bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static const char *
bad_char_reply(unsigned char c)
{
	if (c == 0)
		return REPLY_NUL;
	if (c >= 0x80)
		return REPLY_8BIT;
	return REPLY_CHAR;
}

/* ------------------------------------------------------------------ */
/* Command storage                                                      */

static void
reset_command(struct imap_parser *p)
{
	p->need_reset = false;
	p->wait_pending = false;
	if (p->data.cap > KEEP_DATA_MAX)
		buf_free(&p->data);
	else
		buf_reset(&p->data);
	if (p->pargs_cap > KEEP_ARGS_MAX) {
		XFREE(&p->pargs);
		p->pargs_cap = 0;
	}
	XFREE(&p->out);
	memset(&p->cmd, 0, sizeof(p->cmd));
	p->pargs_n = p->top_count = p->cur_list = p->depth = 0;
	p->tag_done = p->name_done = p->uid = false;
	p->name_off = p->cmd_len = p->tok_off = 0;
	p->kind = K_OTHER;
	p->stream_count = 0;
}

static void
put(struct imap_parser *p, const void *s, size_t n)
{
	/* data has no max: its size is bounded through cmd_len */
	if (buf_append(&p->data, s, n) < 0)
		log_panic("imap_parser: unbounded buffer refused data");
}

static void
putc1(struct imap_parser *p, char c)
{
	put(p, &c, 1);
}

static void
token_begin(struct imap_parser *p)
{
	p->tok_off = p->data.len;
}

static const char *
token_str(const struct imap_parser *p)
{
	return p->data.data + p->tok_off;
}

static size_t
token_len(const struct imap_parser *p)
{
	return p->data.len - p->tok_off;
}

/* Appends an argument of the given type to the open list. Returns its
   index, or -1 when args_max would be exceeded. */
static int
arg_new(struct imap_parser *p, enum imap_arg_type type)
{
	struct parg *a;

	if (p->pargs_n >= p->lim.args_max)
		return -1;
	if (p->pargs_n == p->pargs_cap) {
		p->pargs_cap = p->pargs_cap ? p->pargs_cap * 2 : 8;
		p->pargs = xrealloc(p->pargs,
		    p->pargs_cap * sizeof(*p->pargs));
	}
	a = &p->pargs[p->pargs_n];
	memset(a, 0, sizeof(*a));
	a->type = type;
	a->parent = p->cur_list;
	if (p->cur_list == 0)
		p->top_count++;
	else
		p->pargs[p->cur_list - 1].nchild++;
	return (int)p->pargs_n++;
}

/* Turns the current token into a string argument (NUL-terminated). */
static int
arg_from_token(struct imap_parser *p, enum imap_arg_type type)
{
	int i = arg_new(p, type);

	if (i < 0)
		return -1;
	p->pargs[i].off = p->tok_off;
	p->pargs[i].len = token_len(p);
	putc1(p, '\0');
	return i;
}

/*
 * Lays the arguments out as struct imap_arg, each list's elements
 * contiguous. pargs is in completion order, in which a list is created when
 * its "(" is read, so before every one of its elements: one pass can give
 * each list its block (after all blocks handed out so far) when it is met,
 * and place each element in its parent's block in order.
 */
static void
build_args(struct imap_parser *p)
{
	unsigned next = p->top_count, top_fill = 0, i, pos;
	struct parg *a, *pa;
	struct imap_arg *o;

	XFREE(&p->out);
	if (p->pargs_n > 0)
		p->out = xcalloc(p->pargs_n, sizeof(*p->out));
	for (i = 0; i < p->pargs_n; i++) {
		a = &p->pargs[i];
		if (a->parent == 0)
			pos = top_fill++;
		else {
			pa = &p->pargs[a->parent - 1];
			pos = pa->start + pa->fill++;
		}
		TEM_ASSERT(pos < p->pargs_n);
		o = &p->out[pos];
		o->type = a->type;
		o->literal8 = a->literal8;
		if (a->type == IMAP_ARG_LIST) {
			a->start = next;
			a->fill = 0;
			next += a->nchild;
			o->list = p->out + a->start;
			o->list_count = a->nchild;
		} else if (a->type == IMAP_ARG_STREAM) {
			o->size = a->size;
			o->index = a->index;
		} else {
			o->str = p->data.data + a->off;
			o->len = a->len;
		}
	}
	p->cmd.tag = p->data.data;
	p->cmd.name = p->data.data + p->name_off;
	p->cmd.uid = p->uid;
	p->cmd.args = p->out;
	p->cmd.count = p->top_count;
}

/* ------------------------------------------------------------------ */
/* Errors                                                               */

/* Where an error was found, which decides what is left to discard. */
enum fail_at {
	AT_BYTE,	/* the byte in hand is kept for the skip state */
	AT_LF,		/* the byte in hand was the line's LF: consumed */
	IN_LITERAL,	/* inside literal data: skip_left more, then the line */
};

/* True when the state shows a complete "{n+}" header before the LF. */
static bool
nonsync_header_done(const struct imap_parser *p)
{
	return p->lit.nonsync && (p->state == S_LIT_END ||
	    (p->state == S_CR && p->cr_from == S_LIT_END));
}

/* Primes the skip state's literal recognizer with a header in progress,
   so that an error inside "{12+}" still finds the literal. */
static void
skip_prime(struct imap_parser *p)
{
	p->sk = SK_NONE;
	p->sk_val = p->lit.size;
	p->sk_digits = p->lit_digits;
	if (p->state == S_LIT_SIZE)
		p->sk = SK_DIGITS;
	else if (p->state == S_LIT_PLUS)
		p->sk = SK_PLUS;
	else if (p->state == S_LIT_END ||
	    (p->state == S_CR && p->cr_from == S_LIT_END))
		p->sk = p->lit.nonsync ? SK_NONSYNC_END : SK_SYNC_END;
}

/* Records an error and picks the state that discards the rest of the bad
   command. Returns R_ERR_KEEP for AT_BYTE, else R_ERR_EAT. */
static int
fail(struct imap_parser *p, enum imap_parse_error_code code,
    const char *reply, enum fail_at at)
{
	memset(&p->err, 0, sizeof(p->err));
	p->err.code = code;
	p->err.reply = reply;
	p->err.tag = p->tag_done ? p->data.data : NULL;
	p->err.close = code == IMAP_PERR_LINE_TOO_LONG ||
	    code == IMAP_PERR_COMMAND_TOO_LONG;
	p->skip_line = 0;
	p->skip_long_told = false;
	if (at == AT_BYTE) {
		skip_prime(p);
		p->state = S_SKIP;
	} else if (at == IN_LITERAL || nonsync_header_done(p)) {
		if (at == AT_LF)
			p->skip_left = p->lit.size;
		p->sk = SK_NONE;
		p->state = p->skip_left > 0 ? S_SKIP_LIT : S_SKIP;
	} else {
		p->state = S_START;
		p->line_len = 0;
	}
	p->err.skipping = p->state != S_START;
	p->need_reset = true;
	return at == AT_BYTE ? R_ERR_KEEP : R_ERR_EAT;
}

static int
fail_char(struct imap_parser *p, unsigned char c, const char *reply)
{
	if (c == 0 || c >= 0x80)
		reply = bad_char_reply(c);
	return fail(p, IMAP_PERR_SYNTAX, reply, c == '\n' ? AT_LF : AT_BYTE);
}

/* One byte in the skip state. */
static int
skip_byte(struct imap_parser *p, unsigned char c)
{
	if (c == '\n') {
		if (p->sk == SK_NONSYNC_END) {
			/* the command goes on after the literal */
			p->skip_left = p->sk_val;
			p->state = p->skip_left > 0 ? S_SKIP_LIT : S_SKIP;
		} else {
			p->state = S_START;
			p->line_len = 0;
		}
		p->sk = SK_NONE;
		p->skip_line = 0;
		return R_CONT;
	}
	if (++p->skip_line > p->lim.line_max && !p->skip_long_told) {
		p->skip_long_told = true;
		memset(&p->err, 0, sizeof(p->err));
		p->err.code = IMAP_PERR_LINE_TOO_LONG;
		p->err.reply = REPLY_LINE_LONG;
		p->err.skipping = p->err.close = true;
		p->need_reset = true;
		return IMAP_PARSE_ERROR;
	}
	switch (p->sk) {
	case SK_DIGITS:
		if (is_digit(c)) {
			p->sk_val = p->sk_val > UINT64_MAX / 10 - 1 ?
			    UINT64_MAX : p->sk_val * 10 + (c - '0');
			p->sk_digits++;
			return R_CONT;
		}
		if (c == '+' && p->sk_digits > 0) {
			p->sk = SK_PLUS;
			return R_CONT;
		}
		if (c == '}' && p->sk_digits > 0) {
			p->sk = SK_SYNC_END;
			return R_CONT;
		}
		break;
	case SK_PLUS:
		if (c == '}') {
			p->sk = SK_NONSYNC_END;
			return R_CONT;
		}
		break;
	case SK_SYNC_END:
	case SK_NONSYNC_END:
		if (c == '\r')
			return R_CONT;
		break;
	case SK_NONE:
		break;
	}
	p->sk = SK_NONE;
	if (c == '{') {
		p->sk = SK_DIGITS;
		p->sk_val = 0;
		p->sk_digits = 0;
	}
	return R_CONT;
}

/* ------------------------------------------------------------------ */
/* Line grammar                                                         */

static int
complete(struct imap_parser *p)
{
	build_args(p);
	p->state = S_START;
	p->line_len = 0;
	p->need_reset = true;
	return IMAP_PARSE_COMMAND;
}

static void
finish_tag(struct imap_parser *p)
{
	putc1(p, '\0');
	p->tag_done = true;
	p->name_off = p->data.len;
}

/* The command name ended at c (SP, CR or LF). */
static int
finish_name(struct imap_parser *p, unsigned char c)
{
	const char *name;

	if (p->data.len == p->name_off)
		return fail(p, IMAP_PERR_SYNTAX,
		    p->uid ? REPLY_UID : REPLY_NO_NAME,
		    c == '\n' ? AT_LF : AT_BYTE);
	putc1(p, '\0');
	name = p->data.data + p->name_off;
	if (strcmp(name, "UID") == 0) {
		if (p->uid || c != ' ')
			return fail(p, IMAP_PERR_SYNTAX, REPLY_UID,
			    c == '\n' ? AT_LF : AT_BYTE);
		p->uid = true;
		p->name_off = p->data.len;
		return R_CONT;
	}
	p->name_done = true;
	if (strcmp(name, "APPEND") == 0 && !p->uid)
		p->kind = K_APPEND;
	else if (strcmp(name, "FETCH") == 0)
		p->kind = K_FETCH;
	if (c == ' ')
		p->state = S_ARGS;
	else if (c == '\r') {
		p->cr_from = S_AFTER_ARG;
		p->state = S_CR;
	} else
		return complete(p);
	return R_CONT;
}

static int
end_of_line(struct imap_parser *p, enum pstate from);

static int
step_start(struct imap_parser *p, unsigned char c)
{
	if (c == '\n') {
		p->line_len = 0;
		p->cmd_len = 0;
		return R_CONT;
	}
	if (c == '\r') {
		p->cr_from = S_START;
		p->state = S_CR;
		return R_CONT;
	}
	if (!is_tag_char(c))
		return fail_char(p, c, REPLY_TAG);
	putc1(p, (char)c);
	p->state = S_TAG;
	return R_CONT;
}

static int
step_tag(struct imap_parser *p, unsigned char c)
{
	if (is_tag_char(c)) {
		putc1(p, (char)c);
		return R_CONT;
	}
	if (c == ' ') {
		finish_tag(p);
		p->state = S_NAME;
		return R_CONT;
	}
	if (c == '\r' || c == '\n') {
		finish_tag(p);
		return fail(p, IMAP_PERR_SYNTAX, REPLY_NO_NAME,
		    c == '\n' ? AT_LF : AT_BYTE);
	}
	return fail_char(p, c, REPLY_TAG);
}

static int
step_name(struct imap_parser *p, unsigned char c)
{
	if (is_name_char(c)) {
		if (p->data.len - p->name_off >= IMAP_COMMAND_NAME_MAX)
			return fail(p, IMAP_PERR_SYNTAX, REPLY_NAME, AT_BYTE);
		putc1(p, (char)(c >= 'a' && c <= 'z' ? c - 32 : c));
		return R_CONT;
	}
	if (c == ' ' || c == '\r' || c == '\n')
		return finish_name(p, c);
	return fail_char(p, c, REPLY_NAME);
}

static int
list_open(struct imap_parser *p)
{
	int i;

	if (p->depth >= p->lim.depth_max)
		return fail(p, IMAP_PERR_TOO_DEEP, REPLY_DEPTH, AT_BYTE);
	if ((i = arg_new(p, IMAP_ARG_LIST)) < 0)
		return fail(p, IMAP_PERR_TOO_MANY_ARGS, REPLY_ARGS, AT_BYTE);
	p->depth++;
	p->cur_list = (unsigned)i + 1;
	return R_CONT;
}

static int
list_close(struct imap_parser *p)
{
	if (p->depth == 0)
		return fail(p, IMAP_PERR_SYNTAX, REPLY_PAREN, AT_BYTE);
	p->depth--;
	p->cur_list = p->pargs[p->cur_list - 1].parent;
	p->state = S_AFTER_ARG;
	return R_CONT;
}

static int
step_args(struct imap_parser *p, unsigned char c)
{
	switch (c) {
	case ' ':
		return R_CONT;
	case '\r':
		p->cr_from = S_ARGS;
		p->state = S_CR;
		return R_CONT;
	case '\n':
		return end_of_line(p, S_ARGS);
	case '(':
		return list_open(p);
	case ')':
		return list_close(p);
	case '"':
		token_begin(p);
		p->state = S_QUOTED;
		return R_CONT;
	case '{':
		p->lit.nonsync = false;
		p->lit.literal8 = false;
		p->lit_digits = 0;
		p->lit.size = 0;
		p->state = S_LIT_SIZE;
		return R_CONT;
	case '~':
		p->state = S_TILDE;
		return R_CONT;
	}
	if (!is_atom_char(c))
		return fail_char(p, c, REPLY_CHAR);
	token_begin(p);
	p->state = S_ATOM;
	return R_REDO;
}

static int
step_after_arg(struct imap_parser *p, unsigned char c)
{
	switch (c) {
	case ' ':
		p->state = S_ARGS;
		return R_CONT;
	case ')':
		return list_close(p);
	case '\r':
		p->cr_from = S_AFTER_ARG;
		p->state = S_CR;
		return R_CONT;
	case '\n':
		return end_of_line(p, S_AFTER_ARG);
	}
	return fail_char(p, c, REPLY_SPACE);
}

/* In FETCH, "BODY[" and "BODY.PEEK[" open a section that may hold SP. */
static bool
opens_section(const struct imap_parser *p)
{
	size_t len = token_len(p);

	if (p->kind != K_FETCH)
		return false;
	return (len == 4 && strncasecmp(token_str(p), "BODY", 4) == 0) ||
	    (len == 9 && strncasecmp(token_str(p), "BODY.PEEK", 9) == 0);
}

static int
step_atom(struct imap_parser *p, unsigned char c)
{
	if (is_atom_char(c)) {
		if (c == '[' && opens_section(p)) {
			p->sec_paren = 0;
			p->state = S_SECTION;
		}
		putc1(p, (char)c);
		return R_CONT;
	}
	if (c == 0 || c >= 0x80)
		return fail_char(p, c, REPLY_CHAR);
	if (arg_from_token(p, IMAP_ARG_ATOM) < 0)
		return fail(p, IMAP_PERR_TOO_MANY_ARGS, REPLY_ARGS, AT_BYTE);
	if (p->pargs[p->pargs_n - 1].len == 3 &&
	    strcasecmp(p->data.data + p->pargs[p->pargs_n - 1].off,
	    "NIL") == 0)
		p->pargs[p->pargs_n - 1].type = IMAP_ARG_NIL;
	p->state = S_AFTER_ARG;
	return R_REDO;
}

static int
step_tilde(struct imap_parser *p, unsigned char c)
{
	if (c == '{') {
		p->lit.nonsync = false;
		p->lit.literal8 = true;
		p->lit_digits = 0;
		p->lit.size = 0;
		p->state = S_LIT_SIZE;
		return R_CONT;
	}
	/* an atom that starts with "~" */
	token_begin(p);
	putc1(p, '~');
	p->state = S_ATOM;
	return R_REDO;
}

static int
step_section(struct imap_parser *p, unsigned char c)
{
	switch (p->state) {
	case S_SEC_QESC:
		if (c != '"' && c != '\\')
			return fail_char(p, c, REPLY_SECTION);
		p->state = S_SEC_QUOTED;
		break;
	case S_SEC_QUOTED:
		if (c == '\\')
			p->state = S_SEC_QESC;
		else if (c == '"')
			p->state = S_SECTION;
		else if (c < 0x20 || c >= 0x7f)
			return fail_char(p, c, REPLY_SECTION);
		break;
	default:
		if (c == ']' && p->sec_paren == 0)
			p->state = S_ATOM;
		else if (c == '"')
			p->state = S_SEC_QUOTED;
		else if (c == '(' && p->sec_paren == 0)
			p->sec_paren = 1;
		else if (c == ')' && p->sec_paren == 1)
			p->sec_paren = 0;
		else if (c != ' ' && (!is_atom_char(c) || c == '['))
			return fail_char(p, c, REPLY_SECTION);
		break;
	}
	putc1(p, (char)c);
	return R_CONT;
}

static int
step_quoted(struct imap_parser *p, unsigned char c)
{
	if (p->state == S_QESC) {
		if (c != '"' && c != '\\')
			return fail_char(p, c, REPLY_ESCAPE);
		putc1(p, (char)c);
		p->state = S_QUOTED;
		return R_CONT;
	}
	if (c == '\\') {
		p->state = S_QESC;
		return R_CONT;
	}
	if (c == '"') {
		if (!utf8_valid(token_str(p), token_len(p)))
			return fail(p, IMAP_PERR_SYNTAX, REPLY_UTF8, AT_BYTE);
		if (arg_from_token(p, IMAP_ARG_STRING) < 0)
			return fail(p, IMAP_PERR_TOO_MANY_ARGS, REPLY_ARGS,
			    AT_BYTE);
		p->state = S_AFTER_ARG;
		return R_CONT;
	}
	if (c == '\r' || c == '\n')
		return fail(p, IMAP_PERR_SYNTAX, REPLY_QUOTED,
		    c == '\n' ? AT_LF : AT_BYTE);
	if (c == 0)
		return fail_char(p, c, REPLY_NUL);
	putc1(p, (char)c);
	return R_CONT;
}

static int
step_literal_header(struct imap_parser *p, unsigned char c)
{
	switch (p->state) {
	case S_LIT_SIZE:
		if (is_digit(c)) {
			if (p->lit.size > (LITERAL_SIZE_MAX - (c - '0')) / 10)
				return fail(p, IMAP_PERR_LITERAL_TOO_BIG,
				    REPLY_LIT_BIG, AT_BYTE);
			p->lit.size = p->lit.size * 10 + (c - '0');
			p->lit_digits++;
			return R_CONT;
		}
		if (p->lit_digits > 0 && (c == '+' || c == '}')) {
			p->lit.nonsync = c == '+';
			p->state = c == '+' ? S_LIT_PLUS : S_LIT_END;
			return R_CONT;
		}
		break;
	case S_LIT_PLUS:
		if (c == '}') {
			p->state = S_LIT_END;
			return R_CONT;
		}
		break;
	default:	/* S_LIT_END */
		if (c == '\r') {
			p->cr_from = S_LIT_END;
			p->state = S_CR;
			return R_CONT;
		}
		if (c == '\n')
			return end_of_line(p, S_LIT_END);
		break;
	}
	return fail_char(p, c, REPLY_LIT_SYNTAX);
}

/* "{n}" CRLF has been read: check limits, then expect the data. */
static int
literal_announced(struct imap_parser *p)
{
	struct imap_literal *l = &p->lit;
	uint64_t limit;

	l->stream = p->kind == K_APPEND && p->cur_list == 0 &&
	    p->top_count >= 1;
	l->index = p->stream_count;
	l->data = NULL;
	l->len = 0;
	l->offset = 0;
	l->last = false;
	p->line_len = 0;
	limit = l->stream ? p->lim.append_max : p->lim.literal_max;
	if (l->literal8 && p->kind != K_APPEND)
		return fail(p, IMAP_PERR_SYNTAX, REPLY_LIT8, AT_LF);
	if (l->size > limit || (l->nonsync && l->size > p->lim.nonsync_max)) {
		fail(p, IMAP_PERR_LITERAL_TOO_BIG,
		    l->stream && !l->nonsync ? REPLY_MSG_BIG : REPLY_LIT_BIG,
		    AT_LF);
		p->err.close = l->nonsync;
		return R_ERR_EAT;
	}
	if (!l->stream && l->size > p->lim.command_max - p->cmd_len) {
		fail(p, IMAP_PERR_COMMAND_TOO_LONG, REPLY_CMD_LONG, AT_LF);
		p->err.close = l->nonsync;
		return R_ERR_EAT;
	}
	if (p->pargs_n >= p->lim.args_max)
		return fail(p, IMAP_PERR_TOO_MANY_ARGS, REPLY_ARGS, AT_LF);
	p->lit_left = l->size;
	token_begin(p);
	p->state = l->stream ? S_STREAM : S_LIT_DATA;
	if (l->nonsync)
		return R_CONT;
	p->wait_pending = true;
	return IMAP_PARSE_LITERAL_WAIT;
}

static int
end_of_line(struct imap_parser *p, enum pstate from)
{
	switch (from) {
	case S_START:
		p->state = S_START;
		p->line_len = 0;
		p->cmd_len = 0;
		return R_CONT;
	case S_LIT_END:
		return literal_announced(p);
	case S_LINE:
		putc1(p, '\0');
		p->state = S_START;
		p->line_len = 0;
		p->need_reset = true;
		return IMAP_PARSE_LINE;
	default:
		break;
	}
	if (p->depth > 0)
		return fail(p, IMAP_PERR_SYNTAX, REPLY_UNCLOSED, AT_LF);
	return complete(p);
}

static int
step_cr(struct imap_parser *p, unsigned char c)
{
	if (c == '\n')
		return end_of_line(p, p->cr_from);
	return fail(p, IMAP_PERR_SYNTAX, REPLY_CRLF, AT_BYTE);
}

static int
step_line(struct imap_parser *p, unsigned char c)
{
	if (c == '\r') {
		p->cr_from = S_LINE;
		p->state = S_CR;
		return R_CONT;
	}
	if (c == '\n')
		return end_of_line(p, S_LINE);
	if (c == 0)
		return fail_char(p, c, REPLY_NUL);
	putc1(p, (char)c);
	return R_CONT;
}

static int
step(struct imap_parser *p, unsigned char c)
{
	switch (p->state) {
	case S_START:
		return step_start(p, c);
	case S_TAG:
		return step_tag(p, c);
	case S_NAME:
		return step_name(p, c);
	case S_ARGS:
		return step_args(p, c);
	case S_AFTER_ARG:
		return step_after_arg(p, c);
	case S_ATOM:
		return step_atom(p, c);
	case S_TILDE:
		return step_tilde(p, c);
	case S_SECTION:
	case S_SEC_QUOTED:
	case S_SEC_QESC:
		return step_section(p, c);
	case S_QUOTED:
	case S_QESC:
		return step_quoted(p, c);
	case S_LIT_SIZE:
	case S_LIT_PLUS:
	case S_LIT_END:
		return step_literal_header(p, c);
	case S_CR:
		return step_cr(p, c);
	case S_LINE:
		return step_line(p, c);
	case S_SKIP:
		return skip_byte(p, c);
	case S_LIT_DATA:
	case S_STREAM:
	case S_SKIP_LIT:
		break;
	}
	log_panic("imap_parser: bad state %d", (int)p->state);
}

/* ------------------------------------------------------------------ */
/* Literal data                                                         */

static int
literal_done(struct imap_parser *p)
{
	int i;

	if (p->state == S_STREAM) {
		i = arg_new(p, IMAP_ARG_STREAM);
		p->pargs[i].size = p->lit.size;
		p->pargs[i].index = p->stream_count++;
	} else
		i = arg_from_token(p, IMAP_ARG_LITERAL);
	TEM_ASSERT(i >= 0);	/* args_max checked when announced */
	p->pargs[i].literal8 = p->lit.literal8;
	p->state = S_AFTER_ARG;
	return R_CONT;
}

/* Bulk bytes of a literal (stored, streamed or skipped). n > 0. */
static int
literal_bytes(struct imap_parser *p, const char *in, size_t n)
{
	bool nul;

	if (p->state == S_SKIP_LIT) {
		p->skip_left -= n;
		if (p->skip_left == 0) {
			p->state = S_SKIP;
			p->sk = SK_NONE;
			p->skip_line = 0;
		}
		return R_CONT;
	}
	nul = !p->lit.literal8 && memchr(in, '\0', n) != NULL;
	p->lit_left -= n;
	if (nul) {
		p->skip_left = p->lit_left;
		fail(p, IMAP_PERR_SYNTAX, REPLY_LIT_NUL, IN_LITERAL);
		return IMAP_PARSE_ERROR;
	}
	if (p->state == S_STREAM) {
		p->lit.data = in;
		p->lit.len = n;
		p->lit.offset = p->lit.size - p->lit_left - n;
		p->lit.last = p->lit_left == 0;
		if (p->lit.last)
			literal_done(p);
		return IMAP_PARSE_LITERAL_STREAM;
	}
	put(p, in, n);
	p->cmd_len += n;
	if (p->lit_left == 0)
		literal_done(p);
	return R_CONT;
}

/* ------------------------------------------------------------------ */
/* Public                                                               */

void
imap_parser_limits_default(struct imap_parser_limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	lim->line_max = 64 * 1024;
	lim->literal_max = 64 * 1024;
	lim->append_max = 50 * 1024 * 1024;
	lim->command_max = 1024 * 1024;
	lim->nonsync_max = UINT64_MAX;
	lim->depth_max = 32;
	lim->args_max = 10000;
}

struct imap_parser *
imap_parser_create(const struct imap_parser_limits *lim)
{
	struct imap_parser *p = xmalloc(sizeof(*p));

	p->lim = *lim;
	buf_init(&p->data, 0);
	p->state = S_START;
	return p;
}

void
imap_parser_destroy(struct imap_parser **pp)
{
	struct imap_parser *p = *pp;

	if (p == NULL)
		return;
	buf_free(&p->data);
	free(p->pargs);
	free(p->out);
	free(p);
	*pp = NULL;
}

void
imap_parser_set_limits(struct imap_parser *p,
    const struct imap_parser_limits *lim)
{
	p->lim = *lim;
}

/* Counts one byte against the line and command limits. Returns R_CONT or
   an error result. */
static int
count_byte(struct imap_parser *p, unsigned char c)
{
	if (++p->line_len > p->lim.line_max)
		return fail(p, IMAP_PERR_LINE_TOO_LONG, REPLY_LINE_LONG,
		    c == '\n' ? AT_LF : AT_BYTE);
	if (++p->cmd_len > p->lim.command_max)
		return fail(p, IMAP_PERR_COMMAND_TOO_LONG, REPLY_CMD_LONG,
		    c == '\n' ? AT_LF : AT_BYTE);
	return R_CONT;
}

enum imap_parse_result
imap_parser_feed(struct imap_parser *p, const char *in, size_t len,
    size_t *used_r)
{
	size_t i = 0, n;
	int r;

	if (p->need_reset)
		reset_command(p);
	p->wait_pending = false;
	for (;;) {
		if (p->state == S_STREAM && p->lit.size == 0) {
			p->lit.data = in + i;
			p->lit.len = 0;
			p->lit.offset = 0;
			p->lit.last = true;
			literal_done(p);
			*used_r = i;
			return IMAP_PARSE_LITERAL_STREAM;
		}
		if (p->state == S_LIT_DATA && p->lit_left == 0)
			literal_done(p);
		if (i >= len)
			break;
		if (p->state == S_LIT_DATA || p->state == S_STREAM ||
		    p->state == S_SKIP_LIT) {
			n = len - i;
			if (p->state == S_SKIP_LIT ? n > p->skip_left :
			    n > p->lit_left)
				n = p->state == S_SKIP_LIT ? p->skip_left :
				    p->lit_left;
			r = literal_bytes(p, in + i, n);
			i += n;
		} else {
			r = R_CONT;
			if (p->state != S_SKIP)
				r = count_byte(p, (unsigned char)in[i]);
			if (r == R_CONT)
				r = step(p, (unsigned char)in[i]);
			if (r == R_CONT || r == R_ERR_EAT ||
			    r == IMAP_PARSE_LITERAL_WAIT ||
			    r == IMAP_PARSE_COMMAND || r == IMAP_PARSE_LINE)
				i++;
			else if (r == R_REDO) {
				/* counted once: uncount before the retry */
				p->line_len--;
				p->cmd_len--;
			}
		}
		if (r == R_ERR_EAT || r == R_ERR_KEEP)
			r = IMAP_PARSE_ERROR;
		if (r >= 0) {
			*used_r = i;
			return (enum imap_parse_result)r;
		}
	}
	*used_r = len;
	return IMAP_PARSE_NEED_MORE;
}

const struct imap_command *
imap_parser_command(const struct imap_parser *p)
{
	return &p->cmd;
}

const struct imap_command *
imap_parser_current(struct imap_parser *p)
{
	if (!p->name_done)
		return NULL;
	build_args(p);
	return &p->cmd;
}

const struct imap_parse_error *
imap_parser_error(const struct imap_parser *p)
{
	return &p->err;
}

const struct imap_literal *
imap_parser_literal(const struct imap_parser *p)
{
	return &p->lit;
}

void
imap_parser_literal_refuse(struct imap_parser *p)
{
	TEM_ASSERT(p->wait_pending);
	p->wait_pending = false;
	p->state = S_START;
	p->line_len = 0;
	p->need_reset = true;
}

void
imap_parser_read_line(struct imap_parser *p)
{
	/* the command stays valid until the next feed, which resets */
	TEM_ASSERT(p->state == S_START);
	p->state = S_LINE;
}

const char *
imap_parser_line(const struct imap_parser *p, size_t *len_r)
{
	*len_r = p->data.len > 0 ? p->data.len - 1 : 0;
	return buf_cstr(&p->data);
}

void
imap_parser_command_done(struct imap_parser *p)
{
	if (p->need_reset)	/* else a command is being parsed: keep it */
		reset_command(p);
}

/* ------------------------------------------------------------------ */
/* Argument accessors                                                   */

bool
imap_arg_get_atom(const struct imap_arg *arg, const char **str_r)
{
	if (arg->type != IMAP_ARG_ATOM)
		return false;
	*str_r = arg->str;
	return true;
}

bool
imap_arg_get_astring(const struct imap_arg *arg, const char **str_r,
    size_t *len_r)
{
	switch (arg->type) {
	case IMAP_ARG_ATOM:
	case IMAP_ARG_NIL:
	case IMAP_ARG_STRING:
	case IMAP_ARG_LITERAL:
		*str_r = arg->str;
		if (len_r != NULL)
			*len_r = arg->len;
		return true;
	default:
		return false;
	}
}

bool
imap_arg_get_string(const struct imap_arg *arg, const char **str_r,
    size_t *len_r)
{
	if (arg->type != IMAP_ARG_STRING && arg->type != IMAP_ARG_LITERAL)
		return false;
	*str_r = arg->str;
	if (len_r != NULL)
		*len_r = arg->len;
	return true;
}

bool
imap_arg_get_nstring(const struct imap_arg *arg, const char **str_r,
    size_t *len_r)
{
	if (arg->type == IMAP_ARG_NIL) {
		*str_r = NULL;
		if (len_r != NULL)
			*len_r = 0;
		return true;
	}
	return imap_arg_get_string(arg, str_r, len_r);
}

bool
imap_arg_get_list(const struct imap_arg *arg, const struct imap_arg **list_r,
    unsigned *count_r)
{
	if (arg->type != IMAP_ARG_LIST)
		return false;
	*list_r = arg->list;
	*count_r = arg->list_count;
	return true;
}

bool
imap_arg_atom_equals(const struct imap_arg *arg, const char *word)
{
	return arg->type == IMAP_ARG_ATOM && strcasecmp(arg->str, word) == 0;
}
