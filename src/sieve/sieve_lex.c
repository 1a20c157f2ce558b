/*
 * sieve_lex - the lexical grammar of RFC 5228 section 8.1: identifiers,
 * tags, numbers with K/M/G, quoted strings, "text:" multi-line strings,
 * hash and bracket comments, with 1-based line and column.
 *
 * Trust: the script is untrusted. Every read is bounded by the end of
 * the text; a string is cut off at max_string octets with an error;
 * numbers are checked for overflow; a NUL inside a string is refused
 * (sieve_ast.h: no string holds one). Line ends may be CRLF or LF.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sieve/sieve_compile.h"
#include "util/buf.h"

void
sieve_lex_init(struct sieve_lexer *lx, const char *text, size_t len,
    size_t max_string, struct sieve_error *err)
{
	memset(lx, 0, sizeof(*lx));
	lx->p = text;
	lx->end = text + len;
	lx->line_start = text;
	lx->line = 1;
	lx->max_string = max_string;
	lx->err = err;
}

/* The first error at line, col; -1. */
#define lex_error(lx, ...)	sieve_error_set((lx)->err, __VA_ARGS__)

static int
col_of(const struct sieve_lexer *lx, const char *p)
{
	return (int)(p - lx->line_start) + 1;
}

static void
newline(struct sieve_lexer *lx, const char *after)
{
	lx->line++;
	lx->line_start = after;
}

/* Skips white space and comments; -1 on an unterminated bracket comment. */
static int
skip_space(struct sieve_lexer *lx)
{
	while (lx->p < lx->end) {
		char c = *lx->p;

		if (c == '\n') {
			lx->p++;
			newline(lx, lx->p);
		} else if (c == ' ' || c == '\t' || c == '\r') {
			lx->p++;
		} else if (c == '#') {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
		} else if (c == '/' && lx->p + 1 < lx->end &&
		    lx->p[1] == '*') {
			int line = lx->line, col = col_of(lx, lx->p);

			lx->p += 2;
			for (;;) {
				if (lx->p + 1 >= lx->end)
					return lex_error(lx, line, col,
					    "unterminated comment '/*'");
				if (lx->p[0] == '*' && lx->p[1] == '/')
					break;
				if (*lx->p == '\n')
					newline(lx, lx->p + 1);
				lx->p++;
			}
			lx->p += 2;
		} else {
			break;
		}
	}
	return 0;
}

static bool
is_ident_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static bool
is_ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static int
lex_number(struct sieve_lexer *lx, struct sieve_tok *t)
{
	uint64_t v = 0, mul = 1;

	while (lx->p < lx->end && isdigit((unsigned char)*lx->p)) {
		unsigned d = (unsigned)(*lx->p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return lex_error(lx, t->line, t->col,
			    "number exceeds integer limits (max %llu)",
			    (unsigned long long)UINT64_MAX);
		v = v * 10 + d;
		lx->p++;
	}
	if (lx->p < lx->end) {
		switch (*lx->p) {
		case 'K': case 'k': mul = 1024; break;
		case 'M': case 'm': mul = 1024 * 1024; break;
		case 'G': case 'g': mul = 1024 * 1024 * 1024; break;
		}
		if (mul != 1)
			lx->p++;
	}
	if (v > UINT64_MAX / mul)
		return lex_error(lx, t->line, t->col,
		    "number exceeds integer limits (max %llu)",
		    (unsigned long long)UINT64_MAX);
	if (lx->p < lx->end && is_ident_char(*lx->p))
		return lex_error(lx, t->line, t->col,
		    "invalid character '%c' after number", *lx->p);
	t->type = SIEVE_TOK_NUMBER;
	t->num = v * mul;
	return 0;
}

static int
str_put(struct sieve_lexer *lx, struct buf *b, const struct sieve_tok *t,
    char c)
{
	if (c == '\0')
		return lex_error(lx, lx->line, col_of(lx, lx->p),
		    "NUL character in string");
	if (buf_putc(b, c) < 0)
		return lex_error(lx, t->line, t->col,
		    "string longer than %zu octets", lx->max_string);
	return 0;
}

/* "..." with \\ and \" (any other \c is c, RFC 5228 2.4.2). */
static int
lex_quoted(struct sieve_lexer *lx, struct sieve_tok *t, struct buf *b)
{
	lx->p++;
	for (;;) {
		char c;

		if (lx->p >= lx->end)
			return lex_error(lx, t->line, t->col,
			    "unterminated string (missing '\"')");
		c = *lx->p;
		if (c == '"') {
			lx->p++;
			return 0;
		}
		if (c == '\\') {
			if (lx->p + 1 >= lx->end)
				return lex_error(lx, t->line, t->col,
				    "unterminated string (missing '\"')");
			c = *++lx->p;
		}
		if (str_put(lx, b, t, c) < 0)
			return -1;
		lx->p++;
		if (c == '\n')
			newline(lx, lx->p);
	}
}

/* Points past the line end at p ("\n" or "\r\n"), or NULL when p is not
 * at one. */
static const char *
line_end(const struct sieve_lexer *lx, const char *p)
{
	if (p < lx->end && *p == '\n')
		return p + 1;
	if (p + 1 < lx->end && p[0] == '\r' && p[1] == '\n')
		return p + 2;
	return NULL;
}

/*
 * "text:" *(SP / HTAB) (hash-comment / CRLF), then lines up to a line of
 * one "."; a line starting with "." loses that dot (dot-stuffing). Each
 * line ends in CRLF in the string (LF or CRLF in the script), the last
 * one included, as Pigeonhole reads it.
 */
static int
lex_multiline(struct sieve_lexer *lx, struct sieve_tok *t, struct buf *b)
{
	const char *q;

	while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t'))
		lx->p++;
	if (lx->p < lx->end && *lx->p == '#')
		while (lx->p < lx->end && *lx->p != '\n')
			lx->p++;
	if ((q = line_end(lx, lx->p)) == NULL)
		return lex_error(lx, lx->line, col_of(lx, lx->p),
		    "expected end of line after 'text:'");
	lx->p = q;
	newline(lx, q);
	for (;;) {
		if (lx->p >= lx->end)
			return lex_error(lx, t->line, t->col,
			    "unterminated multi-line string (missing '.' "
			    "line)");
		if (*lx->p == '.') {
			q = line_end(lx, lx->p + 1);
			if (q != NULL || lx->p + 1 == lx->end) {
				/* the terminating "." line */
				lx->p = q != NULL ? q : lx->end;
				if (q != NULL)
					newline(lx, q);
				return 0;
			}
			lx->p++;
		}
		while (lx->p < lx->end && *lx->p != '\n' &&
		    line_end(lx, lx->p) == NULL) {
			if (str_put(lx, b, t, *lx->p) < 0)
				return -1;
			lx->p++;
		}
		if ((q = line_end(lx, lx->p)) != NULL) {
			if (str_put(lx, b, t, '\r') < 0 ||
			    str_put(lx, b, t, '\n') < 0)
				return -1;
			lx->p = q;
			newline(lx, q);
		}
	}
}

static int
lex_string(struct sieve_lexer *lx, struct sieve_tok *t, bool multi)
{
	struct buf b;
	int rc;

	buf_init(&b, lx->max_string);
	rc = multi ? lex_multiline(lx, t, &b) : lex_quoted(lx, t, &b);
	if (rc < 0) {
		buf_free(&b);
		return -1;
	}
	t->type = SIEVE_TOK_STRING;
	t->str = buf_steal(&b, &t->slen);
	return 0;
}

static const struct { char c; enum sieve_tok_type type; } punct[] = {
	{ '[', SIEVE_TOK_LBRACKET }, { ']', SIEVE_TOK_RBRACKET },
	{ '(', SIEVE_TOK_LPAREN }, { ')', SIEVE_TOK_RPAREN },
	{ '{', SIEVE_TOK_LBRACE }, { '}', SIEVE_TOK_RBRACE },
	{ ',', SIEVE_TOK_COMMA }, { ';', SIEVE_TOK_SEMI },
};

int
sieve_lex_next(struct sieve_lexer *lx, struct sieve_tok *t)
{
	char c;

	memset(t, 0, sizeof(*t));
	if (skip_space(lx) < 0)
		return -1;
	t->line = lx->line;
	t->col = col_of(lx, lx->p);
	if (lx->p >= lx->end) {
		t->type = SIEVE_TOK_EOF;
		return 0;
	}
	c = *lx->p;
	for (size_t i = 0; i < sizeof(punct) / sizeof(punct[0]); i++)
		if (c == punct[i].c) {
			lx->p++;
			t->type = punct[i].type;
			return 0;
		}
	if (c == '"')
		return lex_string(lx, t, false);
	if (isdigit((unsigned char)c))
		return lex_number(lx, t);
	if (c == ':') {
		lx->p++;
		if (lx->p >= lx->end || !is_ident_start(*lx->p))
			return lex_error(lx, t->line, t->col,
			    "expected a tag name after ':'");
		t->s = lx->p;
		while (lx->p < lx->end && is_ident_char(*lx->p))
			lx->p++;
		t->len = (size_t)(lx->p - t->s);
		t->type = SIEVE_TOK_TAG;
		return 0;
	}
	if (is_ident_start(c)) {
		t->s = lx->p;
		while (lx->p < lx->end && is_ident_char(*lx->p))
			lx->p++;
		t->len = (size_t)(lx->p - t->s);
		if (t->len == 4 && strncasecmp(t->s, "text", 4) == 0 &&
		    lx->p < lx->end && *lx->p == ':') {
			lx->p++;
			return lex_string(lx, t, true);
		}
		t->type = SIEVE_TOK_IDENT;
		return 0;
	}
	if (isprint((unsigned char)c))
		return lex_error(lx, t->line, t->col,
		    "unexpected character '%c'", c);
	return lex_error(lx, t->line, t->col,
	    "unexpected character 0x%02x", (unsigned char)c);
}

const char *
sieve_tok_name(const struct sieve_tok *t, char *buf, size_t size)
{
	static const char *const names[] = {
		[SIEVE_TOK_EOF] = "end of script",
		[SIEVE_TOK_NUMBER] = "number",
		[SIEVE_TOK_STRING] = "string",
		[SIEVE_TOK_LBRACKET] = "'['", [SIEVE_TOK_RBRACKET] = "']'",
		[SIEVE_TOK_LPAREN] = "'('", [SIEVE_TOK_RPAREN] = "')'",
		[SIEVE_TOK_LBRACE] = "'{'", [SIEVE_TOK_RBRACE] = "'}'",
		[SIEVE_TOK_COMMA] = "','", [SIEVE_TOK_SEMI] = "';'",
	};
	int n = t->len > 40 ? 40 : (int)t->len;

	if (t->type == SIEVE_TOK_IDENT)
		snprintf(buf, size, "identifier '%.*s'", n, t->s);
	else if (t->type == SIEVE_TOK_TAG)
		snprintf(buf, size, "tag ':%.*s'", n, t->s);
	else
		snprintf(buf, size, "%s", names[t->type]);
	return buf;
}
