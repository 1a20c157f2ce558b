/*
 * imap_parser - incremental IMAP command parser (see imap_parser.h for the
 * contract): the public API and literal data. The line grammar is in
 * imap_grammar.c, the command's storage and argument tree in
 * imap_command.c, errors and skipping in imap_parser_skip.c, the state
 * they share in imap_parser_int.h.
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

#include "imap/imap_parser_int.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

/* ------------------------------------------------------------------ */
/* Literal data                                                         */

static int
literal_done(struct imap_parser *p)
{
	int i;

	if (p->state == S_STREAM) {
		i = ip_arg_new(p, IMAP_ARG_STREAM);
		p->pargs[i].size = p->lit.size;
		p->pargs[i].index = p->stream_count++;
	} else
		i = ip_arg_from_token(p, IMAP_ARG_LITERAL);
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
		ip_fail(p, IMAP_PERR_SYNTAX, REPLY_LIT_NUL, IN_LITERAL);
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
	ip_put(p, in, n);
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
		return ip_fail(p, IMAP_PERR_LINE_TOO_LONG, REPLY_LINE_LONG,
		    c == '\n' ? AT_LF : AT_BYTE);
	if (++p->cmd_len > p->lim.command_max)
		return ip_fail(p, IMAP_PERR_COMMAND_TOO_LONG, REPLY_CMD_LONG,
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
		ip_reset_command(p);
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
				r = ip_step(p, (unsigned char)in[i]);
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
	ip_build_args(p);
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
		ip_reset_command(p);
}
