/*
 * managesieve_parser - ManageSieve command grammar (RFC 5804 section 4);
 * contract and limits in managesieve_parser.h.
 *
 * Trust: untrusted input. Two passes per command: the first only looks
 * (spans of the arguments, no allocation), so asking again with more
 * input costs nothing but the scan; the second, once the whole command
 * is there, copies the strings out. A literal's octets are never
 * scanned, only skipped over, so a 1 MiB PUTSCRIPT is read once.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "managesieve/managesieve_parser.h"
#include "util/xmalloc.h"

/* What a command takes: strings (S), a number (N), optional (lowercase). */
static const struct {
	const char	*name;
	const char	*args;	/* "SS": two strings; "Ss": one or two */
} verbs[] = {
	[MS_AUTHENTICATE] = { "AUTHENTICATE", "Ss" },
	[MS_STARTTLS] = { "STARTTLS", "" },
	[MS_LOGOUT] = { "LOGOUT", "" },
	[MS_CAPABILITY] = { "CAPABILITY", "" },
	[MS_HAVESPACE] = { "HAVESPACE", "SN" },
	[MS_PUTSCRIPT] = { "PUTSCRIPT", "SS" },
	[MS_LISTSCRIPTS] = { "LISTSCRIPTS", "" },
	[MS_SETACTIVE] = { "SETACTIVE", "S" },
	[MS_GETSCRIPT] = { "GETSCRIPT", "S" },
	[MS_DELETESCRIPT] = { "DELETESCRIPT", "S" },
	[MS_RENAMESCRIPT] = { "RENAMESCRIPT", "SS" },
	[MS_CHECKSCRIPT] = { "CHECKSCRIPT", "S" },
	[MS_NOOP] = { "NOOP", "s" },
	[MS_UNAUTHENTICATE] = { "UNAUTHENTICATE", "" },
	[MS_SASL_RESPONSE] = { "(SASL response)", "S" },
};
#define NVERBS	(sizeof(verbs) / sizeof(verbs[0]))

/* One argument as seen by the scan: where it is in the input. */
struct span {
	size_t		 off, len;	/* contents (quoted: still escaped) */
	char		 kind;		/* 'q' quoted, 'l' literal, 'n' number */
	uint32_t	 num;
};

/* The scan's state over in[0..len). */
struct scan {
	const char	*in;
	size_t		 len;
	size_t		 pos;
	size_t		 line_start;	/* the line part being read began */
	size_t		 literal_max;
	enum ms_mode	 mode;
	struct ms_parse_res *res;
};

const char *
ms_verb_name(enum ms_verb verb)
{
	return (size_t)verb < NVERBS ? verbs[verb].name : "?";
}

static enum ms_parse_result
fail(struct scan *sc, enum ms_error e, const char *msg)
{
	sc->res->error = e;
	sc->res->msg = msg;
	sc->res->used = sc->pos;
	return MS_PARSE_ERROR;
}

/* Needs more input: the command is cut, unless the line part being read
 * is already longer than any may be. */
static enum ms_parse_result
more(struct scan *sc, size_t need)
{
	if (sc->len - sc->line_start > MS_LINE_MAX) {
		sc->pos = sc->len;
		return fail(sc, MS_ERR_LINE, "Line too long");
	}
	sc->res->need = need;
	return MS_PARSE_MORE;
}

/* The end of input came inside the line part being read. */
#define AT_END(sc)	((sc)->pos >= (sc)->len)

static enum ms_parse_result
scan_quoted(struct scan *sc, struct span *a)
{
	size_t n = 0;

	a->kind = 'q';
	a->off = ++sc->pos;
	for (;;) {
		if (AT_END(sc))
			return more(sc, sc->len + 1);
		unsigned char c = (unsigned char)sc->in[sc->pos];
		if (c == '"')
			break;
		if (c == '\r' || c == '\n' || c == '\0')
			return fail(sc, MS_ERR_SYNTAX, "Invalid character in "
			    "quoted string");
		if (c == '\\') {
			if (sc->pos + 1 >= sc->len)
				return more(sc, sc->len + 1);
			c = (unsigned char)sc->in[sc->pos + 1];
			if (c != '"' && c != '\\')
				return fail(sc, MS_ERR_SYNTAX, "Invalid escape "
				    "in quoted string");
			sc->pos++;
		}
		sc->pos++;
		if (++n > MS_QUOTED_MAX)
			return fail(sc, MS_ERR_SYNTAX, "Quoted string too "
			    "long: use a literal");
	}
	a->len = sc->pos - a->off;
	sc->pos++;
	return MS_PARSE_DONE;
}

/* "{" number ["+"] "}" CRLF, then that many octets. */
static enum ms_parse_result
scan_literal(struct scan *sc, struct span *a)
{
	uint64_t n = 0;
	size_t digits = 0;

	a->kind = 'l';
	sc->pos++;
	while (!AT_END(sc) && sc->in[sc->pos] >= '0' &&
	    sc->in[sc->pos] <= '9') {
		if (++digits > 10)
			return fail(sc, MS_ERR_SYNTAX, "Invalid literal size");
		n = n * 10 + (uint64_t)(sc->in[sc->pos++] - '0');
	}
	if (!AT_END(sc) && sc->in[sc->pos] == '+')
		sc->pos++;
	if (AT_END(sc) || (sc->in[sc->pos] == '\r' && sc->pos + 1 >= sc->len))
		return more(sc, sc->len + 1);
	if (digits == 0 || sc->in[sc->pos] != '}')
		return fail(sc, MS_ERR_SYNTAX, "Invalid literal size");
	sc->pos++;
	if (AT_END(sc) || (sc->in[sc->pos] == '\r' && sc->pos + 1 >= sc->len))
		return more(sc, sc->len + 1);
	if (sc->in[sc->pos] == '\r')
		sc->pos++;
	if (sc->in[sc->pos] != '\n')
		return fail(sc, MS_ERR_SYNTAX, "Missing line end after "
		    "literal size");
	sc->pos++;
	if (n > sc->literal_max) {
		/* the client sends it anyway: it is dropped, not held */
		sc->res->skip = n;
		return fail(sc, MS_ERR_TOO_BIG, "Literal too big");
	}
	a->off = sc->pos;
	a->len = (size_t)n;
	if (sc->len - sc->pos < a->len) {
		/* the literal's octets are not a line: no line limit */
		sc->res->need = sc->pos + a->len;
		return MS_PARSE_MORE;
	}
	sc->pos += a->len;
	sc->line_start = sc->pos;	/* a new line part begins */
	return MS_PARSE_DONE;
}

static enum ms_parse_result
scan_number(struct scan *sc, struct span *a)
{
	uint64_t n = 0;

	a->kind = 'n';
	a->off = sc->pos;
	while (!AT_END(sc) && sc->in[sc->pos] >= '0' &&
	    sc->in[sc->pos] <= '9') {
		n = n * 10 + (uint64_t)(sc->in[sc->pos++] - '0');
		if (n > UINT32_MAX || sc->pos - a->off > 10)
			return fail(sc, MS_ERR_SYNTAX, "Number too big");
	}
	if (AT_END(sc))
		return more(sc, sc->len + 1);
	a->len = sc->pos - a->off;
	a->num = (uint32_t)n;
	return MS_PARSE_DONE;
}

static enum ms_parse_result
scan_arg(struct scan *sc, char want, struct span *a)
{
	char c = sc->in[sc->pos];

	if (want == 'N') {
		if (c < '0' || c > '9')
			return fail(sc, MS_ERR_SYNTAX, "Expected a number");
		return scan_number(sc, a);
	}
	if (c == '"')
		return scan_quoted(sc, a);
	if (c == '{')
		return scan_literal(sc, a);
	return fail(sc, MS_ERR_SYNTAX, "Expected a string");
}

/* The command name: an atom, looked up case-insensitively. */
static enum ms_parse_result
scan_verb(struct scan *sc, enum ms_verb *verb)
{
	size_t start = sc->pos;

	while (!AT_END(sc) && sc->in[sc->pos] != ' ' &&
	    sc->in[sc->pos] != '\r' && sc->in[sc->pos] != '\n') {
		if (sc->pos - start > 32)
			return fail(sc, MS_ERR_UNKNOWN, "Unknown command");
		sc->pos++;
	}
	if (AT_END(sc))
		return more(sc, sc->len + 1);
	for (size_t v = 0; v < NVERBS; v++) {
		if (v == MS_SASL_RESPONSE)
			continue;
		if (strlen(verbs[v].name) == sc->pos - start &&
		    strncasecmp(verbs[v].name, sc->in + start,
		    sc->pos - start) == 0) {
			*verb = (enum ms_verb)v;
			sc->res->verb = *verb;
			sc->res->verb_known = true;
			return MS_PARSE_DONE;
		}
	}
	return fail(sc, MS_ERR_UNKNOWN, "Unknown command");
}

/* CRLF (or a bare LF) ends the command. */
static enum ms_parse_result
scan_eol(struct scan *sc)
{
	if (AT_END(sc))
		return more(sc, sc->len + 1);
	if (sc->in[sc->pos] == '\r') {
		if (sc->pos + 1 >= sc->len)
			return more(sc, sc->len + 1);
		sc->pos++;
	}
	if (sc->in[sc->pos] != '\n')
		return fail(sc, MS_ERR_SYNTAX, "Expected end of line");
	sc->pos++;
	return MS_PARSE_DONE;
}

/* Decodes span a into arg (quoted strings unescaped). */
static void
copy_arg(const char *in, const struct span *a, struct ms_arg *arg)
{
	size_t n = 0;

	arg->s = xmalloc(a->len + 1);
	arg->number = a->kind == 'n';
	arg->num = a->num;
	for (size_t i = 0; i < a->len; i++) {
		if (a->kind == 'q' && in[a->off + i] == '\\')
			i++;
		arg->s[n++] = in[a->off + i];
	}
	arg->s[n] = '\0';
	arg->len = n;
}

/* The arguments of verb: spaces before each, within verbs[].args. */
static enum ms_parse_result
scan_args(struct scan *sc, enum ms_verb verb, struct span *sp,
    unsigned *nargs)
{
	const char *want = verbs[verb].args;
	enum ms_parse_result r;

	*nargs = 0;
	for (size_t i = 0; want[i] != '\0'; i++) {
		bool optional = want[i] >= 'a' && want[i] <= 'z';
		if (verb != MS_SASL_RESPONSE) {
			if (AT_END(sc))
				return more(sc, sc->len + 1);
			if (sc->in[sc->pos] != ' ') {
				if (optional)
					break;
				return fail(sc, MS_ERR_SYNTAX, "Missing "
				    "argument");
			}
			sc->pos++;
			if (AT_END(sc))
				return more(sc, sc->len + 1);
		}
		/* AUTHENTICATE's second is the SASL initial response */
		sc->literal_max = verb == MS_AUTHENTICATE ||
		    sc->mode != MS_MODE_COMMAND ? MS_SASL_MAX : MS_LITERAL_MAX;
		r = scan_arg(sc, (char)(want[i] & ~0x20), &sp[*nargs]);
		if (r != MS_PARSE_DONE)
			return r;
		(*nargs)++;
	}
	if (!AT_END(sc) && sc->in[sc->pos] == ' ')
		return fail(sc, MS_ERR_SYNTAX, "Too many arguments");
	return scan_eol(sc);
}

enum ms_parse_result
ms_parse(const char *in, size_t len, enum ms_mode mode,
    struct ms_command *cmd, struct ms_parse_res *res)
{
	struct scan sc = { in, len, 0, 0, MS_LITERAL_MAX, mode, res };
	struct span sp[MS_ARGS_MAX];
	enum ms_verb verb = MS_SASL_RESPONSE;
	enum ms_parse_result r;
	unsigned nargs;

	memset(cmd, 0, sizeof(*cmd));
	memset(res, 0, sizeof(*res));
	if (len == 0)
		return more(&sc, 1);
	if (mode != MS_MODE_SASL) {
		if ((r = scan_verb(&sc, &verb)) != MS_PARSE_DONE)
			return r;
	} else {
		res->verb = verb;
		res->verb_known = true;
	}
	if ((r = scan_args(&sc, verb, sp, &nargs)) != MS_PARSE_DONE)
		return r;
	cmd->verb = verb;
	cmd->nargs = nargs;
	for (unsigned i = 0; i < nargs; i++)
		copy_arg(in, &sp[i], &cmd->args[i]);
	res->used = sc.pos;
	return MS_PARSE_DONE;
}

void
ms_command_free(struct ms_command *cmd)
{
	for (unsigned i = 0; i < MS_ARGS_MAX; i++) {
		free(cmd->args[i].s);
		cmd->args[i].s = NULL;
	}
	cmd->nargs = 0;
}

void
ms_put_string(struct buf *b, const char *s, size_t len)
{
	if (len <= MS_QUOTED_MAX && memchr(s, '\r', len) == NULL &&
	    memchr(s, '\n', len) == NULL && memchr(s, '\0', len) == NULL) {
		buf_putc(b, '"');
		for (size_t i = 0; i < len; i++) {
			if (s[i] == '"' || s[i] == '\\')
				buf_putc(b, '\\');
			buf_putc(b, s[i]);
		}
		buf_putc(b, '"');
		return;
	}
	buf_printf(b, "{%zu}\r\n", len);
	buf_append(b, s, len);
}
