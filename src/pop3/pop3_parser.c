/*
 * pop3_parser - POP3 command lines and the RETR/TOP message encoder
 * (see pop3_parser.h). No I/O, no allocation, no state between calls.
 *
 * Trust: the command line is untrusted. Every argument is checked here
 * (shape, length, characters) so the session only sees well-formed ones;
 * message numbers are parsed without overflow.
 */
#include <string.h>
#include <strings.h>

#include "pop3/pop3_parser.h"

/* RFC 2449 3: arguments are at most 40 octets; we allow longer user
 * names and SASL data (the line limit bounds them), but numbers are
 * short. */
#define POP3_NUMBER_DIGITS_MAX	40

struct verb_def {
	const char	*name;
	enum pop3_verb	 verb;
	const char	*syntax;	/* the -ERR text for bad arguments */
};

static const struct verb_def verbs[] = {
	{ "USER", POP3_VERB_USER, "Syntax: USER name" },
	{ "PASS", POP3_VERB_PASS, "Syntax: PASS password" },
	{ "STAT", POP3_VERB_STAT, "Syntax: STAT" },
	{ "LIST", POP3_VERB_LIST, "Syntax: LIST [msg]" },
	{ "RETR", POP3_VERB_RETR, "Syntax: RETR msg" },
	{ "DELE", POP3_VERB_DELE, "Syntax: DELE msg" },
	{ "NOOP", POP3_VERB_NOOP, "Syntax: NOOP" },
	{ "RSET", POP3_VERB_RSET, "Syntax: RSET" },
	{ "QUIT", POP3_VERB_QUIT, "Syntax: QUIT" },
	{ "TOP", POP3_VERB_TOP, "Syntax: TOP msg lines" },
	{ "UIDL", POP3_VERB_UIDL, "Syntax: UIDL [msg]" },
	{ "CAPA", POP3_VERB_CAPA, "Syntax: CAPA" },
	{ "STLS", POP3_VERB_STLS, "Syntax: STLS" },
	{ "AUTH", POP3_VERB_AUTH, "Syntax: AUTH [mechanism [initial-response]]" },
};

#define NVERBS	(sizeof(verbs) / sizeof(verbs[0]))

const char *
pop3_verb_name(enum pop3_verb verb)
{
	for (size_t i = 0; i < NVERBS; i++)
		if (verbs[i].verb == verb)
			return verbs[i].name;
	return "?";
}

/* A word of the line: [*pos, end) up to the next space. */
struct word {
	const char	*p;
	size_t		 len;
};

/* Splits s[0..len) at single or repeated spaces into at most max words;
 * returns the count, or max + 1 when there are more. */
static unsigned
split_words(const char *s, size_t len, struct word *w, unsigned max)
{
	unsigned n = 0;
	size_t i = 0;

	while (i < len) {
		size_t start;

		while (i < len && s[i] == ' ')
			i++;
		if (i == len)
			break;
		if (n == max)
			return max + 1;
		start = i;
		while (i < len && s[i] != ' ')
			i++;
		w[n].p = s + start;
		w[n].len = i - start;
		n++;
	}
	return n;
}

/*
 * A decimal number: digits only. *v_r is the value, or UINT32_MAX + 1
 * (as uint64_t) when it does not fit 32 bits. false for anything else.
 */
static bool
parse_number(const struct word *w, uint64_t *v_r)
{
	uint64_t v = 0;

	if (w->len == 0 || w->len > POP3_NUMBER_DIGITS_MAX)
		return false;
	for (size_t i = 0; i < w->len; i++) {
		if (w->p[i] < '0' || w->p[i] > '9')
			return false;
		if (v <= UINT32_MAX)
			v = v * 10 + (uint64_t)(w->p[i] - '0');
	}
	*v_r = v > UINT32_MAX ? (uint64_t)UINT32_MAX + 1 : v;
	return true;
}

static bool
parse_msg(const struct word *w, struct pop3_command *cmd)
{
	uint64_t v;

	if (!parse_number(w, &v))
		return false;
	cmd->has_msg = true;
	cmd->msg = v > UINT32_MAX ? 0 : (uint32_t)v;
	return true;
}

/* Bytes a command may carry: printable ASCII and UTF-8 (user names);
 * no controls, no DEL. */
static bool
clean_text(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

/* The arguments of verb v in s[0..len) (after "VERB ", trailing spaces
 * removed). false: syntax error. */
static bool
parse_args(enum pop3_verb v, const char *s, size_t len,
    struct pop3_command *cmd)
{
	struct word w[3];
	unsigned n = split_words(s, len, w, 2);
	uint64_t lines;

	cmd->nargs = n;
	switch (v) {
	case POP3_VERB_STAT: case POP3_VERB_NOOP: case POP3_VERB_RSET:
	case POP3_VERB_QUIT: case POP3_VERB_CAPA: case POP3_VERB_STLS:
		return n == 0;
	case POP3_VERB_USER:
		if (n != 1)
			return false;
		cmd->arg = w[0].p;
		cmd->arg_len = w[0].len;
		return true;
	case POP3_VERB_LIST: case POP3_VERB_UIDL:
		return n == 0 || (n == 1 && parse_msg(&w[0], cmd));
	case POP3_VERB_RETR: case POP3_VERB_DELE:
		return n == 1 && parse_msg(&w[0], cmd);
	case POP3_VERB_TOP:
		if (n != 2 || !parse_msg(&w[0], cmd) ||
		    !parse_number(&w[1], &lines))
			return false;
		cmd->lines = lines > UINT32_MAX ? UINT32_MAX : (uint32_t)lines;
		return true;
	case POP3_VERB_AUTH:
		if (n > 2)
			return false;
		if (n >= 1) {
			cmd->arg = w[0].p;
			cmd->arg_len = w[0].len;
		}
		if (n == 2) {
			cmd->arg2 = w[1].p;
			cmd->arg2_len = w[1].len;
		}
		return true;
	case POP3_VERB_PASS:
		break;		/* handled by the caller */
	}
	return false;
}

/* Zeroes cmd except its verb (for a syntax error), sets the reply text. */
static int
parse_fail(struct pop3_command *cmd, int r, const char *text,
    const char **error_r)
{
	enum pop3_verb v = cmd->verb;

	memset(cmd, 0, sizeof(*cmd));
	if (r == POP3_PARSE_SYNTAX)
		cmd->verb = v;
	*error_r = text;
	return r;
}

int
pop3_parse_command(const char *line, size_t len, struct pop3_command *cmd,
    const char **error_r)
{
	const struct verb_def *def = NULL;
	size_t vlen = 0;

	memset(cmd, 0, sizeof(*cmd));
	*error_r = NULL;
	/* the verb ends at a space (or a control character: refused below) */
	while (vlen < len && vlen < 5 && (unsigned char)line[vlen] > ' ')
		vlen++;
	for (size_t i = 0; i < NVERBS && vlen <= 4; i++)
		if (strlen(verbs[i].name) == vlen &&
		    strncasecmp(line, verbs[i].name, vlen) == 0)
			def = &verbs[i];
	if (def == NULL)
		return parse_fail(cmd, POP3_PARSE_UNKNOWN, "Unknown command",
		    error_r);
	cmd->verb = def->verb;
	if (memchr(line, '\0', len) != NULL || memchr(line, '\r', len) ||
	    memchr(line, '\n', len))
		return parse_fail(cmd, POP3_PARSE_SYNTAX,
		    "Invalid characters in command", error_r);
	if (def->verb == POP3_VERB_PASS) {
		/* the password is everything after "PASS ", spaces too */
		if (len < vlen + 2 || line[vlen] != ' ')
			return parse_fail(cmd, POP3_PARSE_SYNTAX, def->syntax,
			    error_r);
		cmd->nargs = 1;
		cmd->arg = line + vlen + 1;
		cmd->arg_len = len - vlen - 1;
		return POP3_PARSE_OK;
	}
	if (!clean_text(line, len))
		return parse_fail(cmd, POP3_PARSE_SYNTAX,
		    "Invalid characters in command", error_r);
	while (len > vlen && line[len - 1] == ' ')
		len--;
	if (!parse_args(def->verb, line + vlen, len - vlen, cmd))
		return parse_fail(cmd, POP3_PARSE_SYNTAX, def->syntax,
		    error_r);
	return POP3_PARSE_OK;
}

/* ---- the message encoder ---- */

void
pop3_enc_init(struct pop3_enc *e, bool top, uint32_t body_lines)
{
	memset(e, 0, sizeof(*e));
	e->top = top;
	e->lines_left = body_lines;
	e->line_start = true;
}

/* A line just ended; empty: it had no content (the header's end). */
static void
enc_line_end(struct pop3_enc *e, bool empty)
{
	if (!e->top)
		return;
	if (!e->in_body) {
		if (!empty)
			return;
		e->in_body = true;
	} else if (e->lines_left > 0)
		e->lines_left--;
	if (e->in_body && e->lines_left == 0)
		e->done = true;
}

bool
pop3_enc_feed(struct pop3_enc *e, const char *data, size_t n,
    struct buf *out)
{
	const char *p = data, *end = data + n;

	while (p < end && !e->done) {
		const char *lf;
		size_t run;

		if (e->line_start) {
			if (*p == '.')
				buf_putc(out, '.');
			e->line_start = false;
			e->line_len = 0;
		}
		lf = memchr(p, '\n', (size_t)(end - p));
		run = (size_t)((lf ? lf : end) - p);
		if (run > 0) {
			buf_append(out, p, run);
			e->prev_cr = p[run - 1] == '\r';
			e->line_len += run;
			e->octets += run;
			p += run;
		}
		if (lf == NULL)
			break;
		{
			bool empty = e->line_len == 0 ||
			    (e->line_len == 1 && e->prev_cr);
			if (!e->prev_cr) {
				buf_putc(out, '\r');
				e->octets++;
			}
			buf_putc(out, '\n');
			e->octets++;
			p++;
			e->prev_cr = false;
			e->line_start = true;
			e->line_len = 0;
			enc_line_end(e, empty);
		}
	}
	return e->done;
}

void
pop3_enc_end(struct pop3_enc *e, struct buf *out)
{
	if (!e->line_start) {
		/* the last line had no line end: close it */
		buf_puts(out, e->prev_cr ? "\n" : "\r\n");
		e->line_start = true;
	}
	buf_puts(out, ".\r\n");
}
