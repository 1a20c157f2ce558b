/*
 * imap_grammar - the IMAP command line grammar (RFC 9051 section 9), one
 * byte at a time: a state enum and a step function per state; see the
 * design note at the top of imap_parser.c.
 *
 * Trust: untrusted network input, before and after authentication. No I/O,
 * no globals, no logging.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_parser_int.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

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

bool
ip_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

const char *
ip_bad_char_reply(unsigned char c)
{
	if (c == 0)
		return REPLY_NUL;
	if (c >= 0x80)
		return REPLY_8BIT;
	return REPLY_CHAR;
}

/* ------------------------------------------------------------------ */
/* Line grammar                                                         */

static int
complete(struct imap_parser *p)
{
	ip_build_args(p);
	p->state = S_START;
	p->line_len = 0;
	p->need_reset = true;
	return IMAP_PARSE_COMMAND;
}

static void
finish_tag(struct imap_parser *p)
{
	ip_putc1(p, '\0');
	p->tag_done = true;
	p->name_off = p->data.len;
}

/* The command name ended at c (SP, CR or LF). */
static int
finish_name(struct imap_parser *p, unsigned char c)
{
	const char *name;

	if (p->data.len == p->name_off)
		return ip_fail(p, IMAP_PERR_SYNTAX,
		    p->uid ? REPLY_UID : REPLY_NO_NAME,
		    c == '\n' ? AT_LF : AT_BYTE);
	ip_putc1(p, '\0');
	name = p->data.data + p->name_off;
	if (strcmp(name, "UID") == 0) {
		if (p->uid || c != ' ')
			return ip_fail(p, IMAP_PERR_SYNTAX, REPLY_UID,
			    c == '\n' ? AT_LF : AT_BYTE);
		p->uid = true;
		p->name_off = p->data.len;
		return R_CONT;
	}
	p->name_done = true;
	if (strcmp(name, "APPEND") == 0 && !p->uid)
		p->kind = K_APPEND;
	else if (strcmp(name, "FETCH") == 0 ||
	    (strcmp(name, "NOTIFY") == 0 && !p->uid))	/* MessageNew's */
		p->kind = K_FETCH;				/* fetch-att */
	else if (strcmp(name, "SETMETADATA") == 0 && !p->uid)
		p->kind = K_SETMETADATA;
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
		return ip_fail_char(p, c, REPLY_TAG);
	ip_putc1(p, (char)c);
	p->state = S_TAG;
	return R_CONT;
}

static int
step_tag(struct imap_parser *p, unsigned char c)
{
	if (is_tag_char(c)) {
		ip_putc1(p, (char)c);
		return R_CONT;
	}
	if (c == ' ') {
		finish_tag(p);
		p->state = S_NAME;
		return R_CONT;
	}
	if (c == '\r' || c == '\n') {
		finish_tag(p);
		return ip_fail(p, IMAP_PERR_SYNTAX, REPLY_NO_NAME,
		    c == '\n' ? AT_LF : AT_BYTE);
	}
	return ip_fail_char(p, c, REPLY_TAG);
}

static int
step_name(struct imap_parser *p, unsigned char c)
{
	if (is_name_char(c)) {
		if (p->data.len - p->name_off >= IMAP_COMMAND_NAME_MAX)
			return ip_fail(p, IMAP_PERR_SYNTAX, REPLY_NAME, AT_BYTE);
		ip_putc1(p, (char)(c >= 'a' && c <= 'z' ? c - 32 : c));
		return R_CONT;
	}
	if (c == ' ' || c == '\r' || c == '\n')
		return finish_name(p, c);
	return ip_fail_char(p, c, REPLY_NAME);
}

static int
list_open(struct imap_parser *p)
{
	int i;

	if (p->depth >= p->lim.depth_max)
		return ip_fail(p, IMAP_PERR_TOO_DEEP, REPLY_DEPTH, AT_BYTE);
	if ((i = ip_arg_new(p, IMAP_ARG_LIST)) < 0)
		return ip_fail(p, IMAP_PERR_TOO_MANY_ARGS, REPLY_ARGS, AT_BYTE);
	p->depth++;
	p->cur_list = (unsigned)i + 1;
	return R_CONT;
}

static int
list_close(struct imap_parser *p)
{
	if (p->depth == 0)
		return ip_fail(p, IMAP_PERR_SYNTAX, REPLY_PAREN, AT_BYTE);
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
		ip_token_begin(p);
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
		return ip_fail_char(p, c, REPLY_CHAR);
	ip_token_begin(p);
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
	return ip_fail_char(p, c, REPLY_SPACE);
}

/* In FETCH (and NOTIFY's fetch-att), "BODY[" and "BODY.PEEK[" open a
   section that may hold SP. */
static bool
opens_section(const struct imap_parser *p)
{
	size_t len = ip_token_len(p);

	if (p->kind != K_FETCH)
		return false;
	return (len == 4 && strncasecmp(ip_token_str(p), "BODY", 4) == 0) ||
	    (len == 9 && strncasecmp(ip_token_str(p), "BODY.PEEK", 9) == 0);
}

static int
step_atom(struct imap_parser *p, unsigned char c)
{
	if (is_atom_char(c)) {
		if (c == '[' && opens_section(p)) {
			p->sec_paren = 0;
			p->state = S_SECTION;
		}
		ip_putc1(p, (char)c);
		return R_CONT;
	}
	if (c == 0 || c >= 0x80)
		return ip_fail_char(p, c, REPLY_CHAR);
	if (ip_arg_from_token(p, IMAP_ARG_ATOM) < 0)
		return ip_fail(p, IMAP_PERR_TOO_MANY_ARGS, REPLY_ARGS, AT_BYTE);
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
	ip_token_begin(p);
	ip_putc1(p, '~');
	p->state = S_ATOM;
	return R_REDO;
}

static int
step_section(struct imap_parser *p, unsigned char c)
{
	switch (p->state) {
	case S_SEC_QESC:
		if (c != '"' && c != '\\')
			return ip_fail_char(p, c, REPLY_SECTION);
		p->state = S_SEC_QUOTED;
		break;
	case S_SEC_QUOTED:
		if (c == '\\')
			p->state = S_SEC_QESC;
		else if (c == '"')
			p->state = S_SECTION;
		else if (c < 0x20 || c >= 0x7f)
			return ip_fail_char(p, c, REPLY_SECTION);
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
			return ip_fail_char(p, c, REPLY_SECTION);
		break;
	}
	ip_putc1(p, (char)c);
	return R_CONT;
}

static int
step_quoted(struct imap_parser *p, unsigned char c)
{
	if (p->state == S_QESC) {
		if (c != '"' && c != '\\')
			return ip_fail_char(p, c, REPLY_ESCAPE);
		ip_putc1(p, (char)c);
		p->state = S_QUOTED;
		return R_CONT;
	}
	if (c == '\\') {
		p->state = S_QESC;
		return R_CONT;
	}
	if (c == '"') {
		if (!utf8_valid(ip_token_str(p), ip_token_len(p)))
			return ip_fail(p, IMAP_PERR_SYNTAX, REPLY_UTF8, AT_BYTE);
		if (ip_arg_from_token(p, IMAP_ARG_STRING) < 0)
			return ip_fail(p, IMAP_PERR_TOO_MANY_ARGS, REPLY_ARGS,
			    AT_BYTE);
		p->state = S_AFTER_ARG;
		return R_CONT;
	}
	if (c == '\r' || c == '\n')
		return ip_fail(p, IMAP_PERR_SYNTAX, REPLY_QUOTED,
		    c == '\n' ? AT_LF : AT_BYTE);
	if (c == 0)
		return ip_fail_char(p, c, REPLY_NUL);
	ip_putc1(p, (char)c);
	return R_CONT;
}

static int
step_literal_header(struct imap_parser *p, unsigned char c)
{
	switch (p->state) {
	case S_LIT_SIZE:
		if (ip_is_digit(c)) {
			if (p->lit.size > (LITERAL_SIZE_MAX - (c - '0')) / 10)
				return ip_fail(p, IMAP_PERR_LITERAL_TOO_BIG,
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
	return ip_fail_char(p, c, REPLY_LIT_SYNTAX);
}

/* Argument i (completed) is the atom word, in any case. */
static bool
parg_atom_is(const struct imap_parser *p, unsigned i, const char *word)
{
	const struct parg *a = &p->pargs[i];

	return a->type == IMAP_ARG_ATOM && a->len == strlen(word) &&
	    strncasecmp(p->data.data + a->off, word, a->len) == 0;
}

/* The literal follows "CATENATE (... TEXT" at the top level of APPEND
 * (RFC 4469): a message part, streamed like a message. */
static bool
catenate_text(const struct imap_parser *p)
{
	unsigned l = p->cur_list;

	return l >= 2 && p->pargs[l - 1].parent == 0 &&
	    p->pargs[l - 2].parent == 0 && parg_atom_is(p, l - 2, "CATENATE") &&
	    p->pargs[p->pargs_n - 1].parent == l &&
	    parg_atom_is(p, p->pargs_n - 1, "TEXT");
}

/* "{n}" CRLF has been read: check limits, then expect the data. */
static int
literal_announced(struct imap_parser *p)
{
	struct imap_literal *l = &p->lit;
	uint64_t limit;

	l->stream = p->kind == K_APPEND && ((p->cur_list == 0 &&
	    p->top_count >= 1) || catenate_text(p));
	l->index = p->stream_count;
	l->data = NULL;
	l->len = 0;
	l->offset = 0;
	l->last = false;
	p->line_len = 0;
	limit = l->stream ? p->lim.append_max : p->lim.literal_max;
	/* RFC 5464 values may be literal8 too */
	if (l->literal8 && p->kind != K_APPEND && p->kind != K_SETMETADATA)
		return ip_fail(p, IMAP_PERR_SYNTAX, REPLY_LIT8, AT_LF);
	if (l->size > limit || (l->nonsync && l->size > p->lim.nonsync_max)) {
		ip_fail(p, IMAP_PERR_LITERAL_TOO_BIG,
		    l->stream && !l->nonsync ? REPLY_MSG_BIG :
		    p->kind == K_SETMETADATA ? REPLY_METADATA_BIG :
		    REPLY_LIT_BIG, AT_LF);
		p->err.close = l->nonsync;
		return R_ERR_EAT;
	}
	if (!l->stream && l->size > p->lim.command_max - p->cmd_len) {
		ip_fail(p, IMAP_PERR_COMMAND_TOO_LONG, REPLY_CMD_LONG, AT_LF);
		p->err.close = l->nonsync;
		return R_ERR_EAT;
	}
	if (p->pargs_n >= p->lim.args_max)
		return ip_fail(p, IMAP_PERR_TOO_MANY_ARGS, REPLY_ARGS, AT_LF);
	p->lit_left = l->size;
	ip_token_begin(p);
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
		ip_putc1(p, '\0');
		p->state = S_START;
		p->line_len = 0;
		p->need_reset = true;
		return IMAP_PARSE_LINE;
	default:
		break;
	}
	if (p->depth > 0)
		return ip_fail(p, IMAP_PERR_SYNTAX, REPLY_UNCLOSED, AT_LF);
	return complete(p);
}

static int
step_cr(struct imap_parser *p, unsigned char c)
{
	if (c == '\n')
		return end_of_line(p, p->cr_from);
	return ip_fail(p, IMAP_PERR_SYNTAX, REPLY_CRLF, AT_BYTE);
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
		return ip_fail_char(p, c, REPLY_NUL);
	ip_putc1(p, (char)c);
	return R_CONT;
}

int
ip_step(struct imap_parser *p, unsigned char c)
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
		return ip_skip_byte(p, c);
	case S_LIT_DATA:
	case S_STREAM:
	case S_SKIP_LIT:
		break;
	}
	log_panic("imap_parser: bad state %d", (int)p->state);
}
