/*
 * imap_parser_skip - errors, and skipping the rest of a bad command up to
 * its end, honouring a non-synchronizing literal announced at a line end
 * (RFC 7888 section 3; see the design note at the top of imap_parser.c).
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
/* Errors                                                               */

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
int
ip_fail(struct imap_parser *p, enum imap_parse_error_code code,
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

int
ip_fail_char(struct imap_parser *p, unsigned char c, const char *reply)
{
	if (c == 0 || c >= 0x80)
		reply = ip_bad_char_reply(c);
	return ip_fail(p, IMAP_PERR_SYNTAX, reply, c == '\n' ? AT_LF : AT_BYTE);
}

/* One byte in the skip state. */
int
ip_skip_byte(struct imap_parser *p, unsigned char c)
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
		if (ip_is_digit(c)) {
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
