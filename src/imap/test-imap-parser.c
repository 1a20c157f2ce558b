/*
 * test-imap-parser - unit tests for imap_parser.
 *
 * Each case is an input and the transcript of events it must produce. The
 * input is replayed whole, one byte at a time, and in random chunk sizes;
 * every replay must give the same transcript (STYLE.md habit 14). Streamed
 * APPEND chunks are joined so that chunking does not show.
 *
 * Transcript events, separated by " | ":
 *   C <tag> [UID ]<NAME>[ <args>]   a command; args as atom, NIL,
 *                                   "string", {len}bytes, (list), <S#i:size>
 *   E <code> <tag|*> <reply>[ skip][ close]
 *   W <size>[+][8][ s]              LITERAL_WAIT (s: streamed APPEND)
 *   S <index> <size> <data>         a whole streamed APPEND message
 *   L <line>                        IMAP_PARSE_LINE
 * After a command named AUTHENTICATE or IDLE the harness asks for one raw
 * line. A WAIT for a literal of size 999 is refused by the harness.
 *
 * Trust: test code.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_parser.h"
#include "util/buf.h"
#include "util/test.h"
#include "util/xmalloc.h"

static const char *const code_names[] = {
	"SYNTAX", "LINE", "CMDLONG", "TOOBIG", "DEPTH", "ARGS",
};

/* Appends bytes with NUL shown as \0, so transcripts stay C strings. */
static void
put_bytes(struct buf *out, const char *s, size_t len)
{
	size_t k;

	for (k = 0; k < len; k++) {
		if (s[k] == '\0')
			buf_puts(out, "\\0");
		else
			buf_putc(out, s[k]);
	}
}

static void
dump_args(struct buf *out, const struct imap_arg *args, unsigned count)
{
	unsigned i;
	size_t k;

	for (i = 0; i < count; i++) {
		const struct imap_arg *a = &args[i];

		if (i > 0)
			buf_putc(out, ' ');
		switch (a->type) {
		case IMAP_ARG_ATOM:
		case IMAP_ARG_NIL:
			buf_puts(out, a->str);
			break;
		case IMAP_ARG_STRING:
			buf_putc(out, '"');
			for (k = 0; k < a->len; k++) {
				if (a->str[k] == '"' || a->str[k] == '\\')
					buf_putc(out, '\\');
				buf_putc(out, a->str[k]);
			}
			buf_putc(out, '"');
			break;
		case IMAP_ARG_LITERAL:
			buf_printf(out, "%s{%zu}", a->literal8 ? "~" : "",
			    a->len);
			put_bytes(out, a->str, a->len);
			break;
		case IMAP_ARG_LIST:
			buf_putc(out, '(');
			dump_args(out, a->list, a->list_count);
			buf_putc(out, ')');
			break;
		case IMAP_ARG_STREAM:
			buf_printf(out, "<S%s#%u:%llu>", a->literal8 ? "8" : "",
			    a->index, (unsigned long long)a->size);
			break;
		}
	}
}

static void
sep(struct buf *out)
{
	if (out->len > 0)
		buf_puts(out, " | ");
}

struct run {
	struct imap_parser_limits lim;
	struct buf	 out;
	struct buf	 stream;	/* current APPEND message */
	uint64_t	 stream_off;
	bool		 bad_chunks;
};

/* Records one event; may tell the parser to read a line or refuse. */
static void
record(struct run *r, struct imap_parser *p, enum imap_parse_result res)
{
	const struct imap_command *cmd;
	const struct imap_parse_error *err;
	const struct imap_literal *lit;
	const char *line;
	size_t len;

	switch (res) {
	case IMAP_PARSE_NEED_MORE:
		break;
	case IMAP_PARSE_COMMAND:
		cmd = imap_parser_command(p);
		sep(&r->out);
		buf_printf(&r->out, "C %s %s%s", cmd->tag,
		    cmd->uid ? "UID " : "", cmd->name);
		if (cmd->count > 0)
			buf_putc(&r->out, ' ');
		dump_args(&r->out, cmd->args, cmd->count);
		if (strcmp(cmd->name, "AUTHENTICATE") == 0 ||
		    strcmp(cmd->name, "IDLE") == 0)
			imap_parser_read_line(p);
		break;
	case IMAP_PARSE_ERROR:
		err = imap_parser_error(p);
		sep(&r->out);
		buf_printf(&r->out, "E %s %s %s%s%s", code_names[err->code],
		    err->tag ? err->tag : "*", err->reply,
		    err->skipping ? " skip" : "", err->close ? " close" : "");
		buf_reset(&r->stream);
		r->stream_off = 0;
		break;
	case IMAP_PARSE_LITERAL_WAIT:
		lit = imap_parser_literal(p);
		sep(&r->out);
		buf_printf(&r->out, "W %llu%s%s%s",
		    (unsigned long long)lit->size, lit->nonsync ? "+" : "",
		    lit->literal8 ? "8" : "", lit->stream ? " s" : "");
		if (lit->size == 999)
			imap_parser_literal_refuse(p);
		break;
	case IMAP_PARSE_LITERAL_STREAM:
		lit = imap_parser_literal(p);
		if (lit->offset != r->stream_off ||
		    lit->offset + lit->len > lit->size ||
		    lit->last != (lit->offset + lit->len == lit->size))
			r->bad_chunks = true;
		buf_append(&r->stream, lit->data, lit->len);
		r->stream_off += lit->len;
		if (lit->last) {
			sep(&r->out);
			buf_printf(&r->out, "S %u %llu ", lit->index,
			    (unsigned long long)lit->size);
			put_bytes(&r->out, r->stream.data, r->stream.len);
			buf_reset(&r->stream);
			r->stream_off = 0;
		}
		break;
	case IMAP_PARSE_LINE:
		line = imap_parser_line(p, &len);
		sep(&r->out);
		buf_puts(&r->out, "L ");
		buf_append(&r->out, line, len);
		break;
	}
}

static uint32_t rng_state = 12345;

static uint32_t
rng(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return (rng_state >> 8) & 0xffffff;
}

/* mode 0: whole input; 1: one byte at a time; 2+: random chunks. Returns
   the transcript (caller frees). */
static char *
replay(const struct imap_parser_limits *lim, const char *in, size_t len,
    int mode, bool *bad_r)
{
	struct imap_parser *p = imap_parser_create(lim);
	struct run r;
	size_t off = 0, chunk, used, pos;
	enum imap_parse_result res;
	char *s;

	memset(&r, 0, sizeof(r));
	buf_init(&r.out, 0);
	buf_init(&r.stream, 0);
	while (off < len) {
		chunk = mode == 0 ? len - off : mode == 1 ? 1 :
		    1 + rng() % 17;
		if (chunk > len - off)
			chunk = len - off;
		/* a private copy, so that chunk pointers must be used at once */
		char *copy = xmemdup(in + off, chunk);
		pos = 0;
		do {
			res = imap_parser_feed(p, copy + pos, chunk - pos,
			    &used);
			if (used > chunk - pos)
				r.bad_chunks = true;
			pos += used;
			record(&r, p, res);
		} while (res != IMAP_PARSE_NEED_MORE);
		free(copy);
		off += chunk;
	}
	/* a zero-length feed must not invent events */
	res = imap_parser_feed(p, "", 0, &used);
	record(&r, p, res);
	imap_parser_destroy(&p);
	if (p != NULL)
		r.bad_chunks = true;
	*bad_r = r.bad_chunks;
	buf_free(&r.stream);
	s = buf_steal(&r.out, NULL);
	return s;
}

struct pcase {
	const char	*in;
	size_t		 len;	/* 0: strlen(in) */
	const char	*expect;
};

static bool
check_case(const struct imap_parser_limits *lim, const struct pcase *c)
{
	size_t len = c->len ? c->len : strlen(c->in);
	char *first = NULL, *s;
	bool bad, ok = true;
	int mode;

	for (mode = 0; mode < 12 && ok; mode++) {
		s = replay(lim, c->in, len, mode, &bad);
		if (bad) {
			fprintf(stderr, "  bad chunk bookkeeping, mode %d\n",
			    mode);
			ok = false;
		}
		if (mode == 0 && strcmp(s, c->expect) != 0) {
			fprintf(stderr, "  input: %s\n  got:    %s\n"
			    "  expect: %s\n", c->in, s, c->expect);
			ok = false;
		}
		if (mode > 0 && strcmp(s, first) != 0) {
			fprintf(stderr, "  input: %s\n  mode %d: %s\n"
			    "  whole:  %s\n", c->in, mode, s, first);
			ok = false;
		}
		if (mode == 0)
			first = s;
		else
			free(s);
	}
	free(first);
	return ok;
}

static bool
check_cases(const struct imap_parser_limits *lim, const struct pcase *cases,
    size_t n)
{
	bool ok = true;
	size_t i;

	for (i = 0; i < n; i++)
		if (!check_case(lim, &cases[i]))
			ok = false;
	return ok;
}

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static const struct pcase valid_cases[] = {
	{ "a NOOP\r\n", 0, "C a NOOP" },
	{ "a noop\n", 0, "C a NOOP" },
	{ "\r\n\r\nA1 Capability\r\n", 0, "C A1 CAPABILITY" },
	{ "t] NOOP\r\n", 0, "C t] NOOP" },
	{ "a NOOP \r\n", 0, "C a NOOP" },
	{ "a LOGIN user \"p a\\\"s\\\\s\"\r\n", 0,
	  "C a LOGIN user \"p a\\\"s\\\\s\"" },
	{ "a SELECT \"\"\r\n", 0, "C a SELECT \"\"" },
	{ "a select nil NIL Nil\r\n", 0, "C a SELECT nil NIL Nil" },
	{ "a X (a (b c) () d) e\r\n", 0, "C a X (a (b c) () d) e" },
	{ "a X ((()))\r\n", 0, "C a X ((()))" },
	{ "a X (a  b )\r\n", 0, "C a X (a b)" },
	{ "a STORE 1:*,3 +FLAGS.SILENT (\\Seen $Junk)\r\n", 0,
	  "C a STORE 1:*,3 +FLAGS.SILENT (\\Seen $Junk)" },
	{ "a LIST \"\" %/*\r\n", 0, "C a LIST \"\" %/*" },
	{ "a UID fetch 1:* (FLAGS)\r\n", 0, "C a UID FETCH 1:* (FLAGS)" },
	{ "a FETCH 1 (BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.512> "
	  "BODY[1.2.TEXT] body[])\r\n", 0,
	  "C a FETCH 1 (BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.512> "
	  "BODY[1.2.TEXT] body[])" },
	{ "a FETCH 1 BODY[HEADER.FIELDS.NOT (A B)]\r\n", 0,
	  "C a FETCH 1 BODY[HEADER.FIELDS.NOT (A B)]" },
	{ "a SELECT foo[bar\r\n", 0, "C a SELECT foo[bar" },
	{ "a SELECT \"Entw\xc3\xbcrfe\"\r\n", 0,
	  "C a SELECT \"Entw\xc3\xbcrfe\"" },
	{ "a SELECT ~foo\r\n", 0, "C a SELECT ~foo" },
	/* literals */
	{ "a LOGIN {4}\r\nuser {4+}\r\npass\r\n", 0,
	  "W 4 | C a LOGIN {4}user {4}pass" },
	{ "a LOGIN {0}\r\n {0+}\r\n\r\n", 0, "W 0 | C a LOGIN {0} {0}" },
	{ "a X ({3+}\r\na)b)\r\n", 0, "C a X ({3}a)b)" },
	{ "a X {2+}\r\n\r\n\r\n", 0, "C a X {2}\r\n" },
	{ "a X {002}\r\nab\r\n", 0, "W 2 | C a X {2}ab" },
	/* APPEND streams its messages */
	{ "a APPEND INBOX {5}\r\nhello\r\n", 0,
	  "W 5 s | S 0 5 hello | C a APPEND INBOX <S#0:5>" },
	{ "a APPEND INBOX (\\Seen) \" 1-Feb-1994 21:52:25 -0800\" {3+}\r\n"
	  "abc\r\n", 0,
	  "S 0 3 abc | C a APPEND INBOX (\\Seen) \" 1-Feb-1994 21:52:25 "
	  "-0800\" <S#0:3>" },
	{ "a APPEND {3}\r\nBox {0+}\r\n {2+}\r\nxy ~{2+}\r\n\0z\r\n",
	  sizeof("a APPEND {3}\r\nBox {0+}\r\n {2+}\r\nxy ~{2+}\r\n\0z\r\n")
	  - 1,
	  "W 3 | S 0 0  | S 1 2 xy | S 2 2 \\0z | "
	  "C a APPEND {3}Box <S#0:0> <S#1:2> <S8#2:2>" },
	{ "a APPEND Box (\\Seen {3+}\r\nabc)\r\n", 0,
	  "C a APPEND Box (\\Seen {3}abc)" },
	{ "a UID APPEND Box {2+}\r\nab\r\n", 0,
	  "C a UID APPEND Box {2}ab" },
	/* raw lines */
	{ "a AUTHENTICATE PLAIN\r\ndGVzdA==\r\nb NOOP\r\n", 0,
	  "C a AUTHENTICATE PLAIN | L dGVzdA== | C b NOOP" },
	{ "a IDLE\r\nDONE\nb NOOP\r\n", 0, "C a IDLE | L DONE | C b NOOP" },
	{ "a AUTHENTICATE X\r\n\r\n", 0, "C a AUTHENTICATE X | L " },
	/* refused synchronizing literal: the client sends nothing more */
	{ "a LOGIN {999}\r\nb NOOP\r\n", 0, "W 999 | C b NOOP" },
	/* pipelining */
	{ "a NOOP\r\nb NOOP\r\nc LOGOUT\r\n", 0,
	  "C a NOOP | C b NOOP | C c LOGOUT" },
};

static const struct pcase invalid_cases[] = {
	{ " a NOOP\r\nb NOOP\r\n", 0,
	  "E SYNTAX * BAD Invalid tag skip | C b NOOP" },
	{ "a+ NOOP\r\n", 0, "E SYNTAX * BAD Invalid tag skip" },
	{ "a\r\n", 0, "E SYNTAX a BAD Missing command name skip" },
	{ "a\n", 0, "E SYNTAX a BAD Missing command name" },
	{ "a  NOOP\r\n", 0, "E SYNTAX a BAD Missing command name skip" },
	{ "a UID\r\nb NOOP\r\n", 0,
	  "E SYNTAX a BAD Missing command after UID skip | C b NOOP" },
	{ "a UID UID x\r\n", 0,
	  "E SYNTAX a BAD Missing command after UID skip" },
	{ "a NO*OP\r\n", 0, "E SYNTAX a BAD Invalid command name skip" },
	{ "a NOOP\rb\n", 0, "E SYNTAX a BAD CR not followed by LF skip" },
	{ "a X (a\r\nb NOOP\r\n", 0,
	  "E SYNTAX a BAD Missing ')' | C b NOOP" },
	{ "a X a)\r\n", 0, "E SYNTAX a BAD Unexpected ')' skip" },
	{ "a X \"a\"b\r\n", 0,
	  "E SYNTAX a BAD Missing space between arguments skip" },
	{ "a X (a)(b)\r\n", 0,
	  "E SYNTAX a BAD Missing space between arguments skip" },
	{ "a X \"abc\r\nb NOOP\r\n", 0,
	  "E SYNTAX a BAD Unterminated quoted string skip | C b NOOP" },
	{ "a X \"a\\b\"\r\n", 0,
	  "E SYNTAX a BAD Invalid escape in quoted string skip" },
	{ "a X \"\xc3\x28\"\r\n", 0,
	  "E SYNTAX a BAD Invalid UTF-8 in quoted string skip" },
	{ "a X \"\xed\xa0\x80\"\r\n", 0,
	  "E SYNTAX a BAD Invalid UTF-8 in quoted string skip" },
	{ "a X caf\xc3\xa9\r\n", 0,
	  "E SYNTAX a BAD 8-bit character outside a quoted string or "
	  "literal skip" },
	{ "a X a\0b\r\nb NOOP\r\n", sizeof("a X a\0b\r\nb NOOP\r\n") - 1,
	  "E SYNTAX a BAD NUL byte in command skip | C b NOOP" },
	{ "a X \"a\0\"\r\n", sizeof("a X \"a\0\"\r\n") - 1,
	  "E SYNTAX a BAD NUL byte in command skip" },
	{ "a X \x01\r\n", 0, "E SYNTAX a BAD Invalid character in command skip" },
	{ "a FETCH 1 BODY[HEADER.FIELDS (A\r\nb NOOP\r\n", 0,
	  "E SYNTAX a BAD Invalid BODY[] section skip | C b NOOP" },
	{ "a FETCH 1 BODY[HEADER.FIELDS ((A))]\r\n", 0,
	  "E SYNTAX a BAD Invalid BODY[] section skip" },
	/* literal syntax */
	{ "a X {}\r\n", 0, "E SYNTAX a BAD Invalid literal skip" },
	{ "a X {1x}\r\n", 0, "E SYNTAX a BAD Invalid literal skip" },
	{ "a X {1+\r\n", 0, "E SYNTAX a BAD Invalid literal skip" },
	{ "a X {1} \r\n", 0, "E SYNTAX a BAD Invalid literal skip" },
	{ "a X {1}\n", 0, "W 1" },
	{ "a X {3+}\r\na\0b\r\nb NOOP\r\n",
	  sizeof("a X {3+}\r\na\0b\r\nb NOOP\r\n") - 1,
	  "E SYNTAX a BAD NUL byte in literal (use ~{n}) skip | C b NOOP" },
	{ "a LOGIN ~{1+}\r\nx y\r\nb NOOP\r\n", 0,
	  "E SYNTAX a BAD literal8 is only allowed in APPEND, CATENATE and "
	  "SETMETADATA skip | C b NOOP" },
	{ "a LOGIN ~{1}\r\nb NOOP\r\n", 0,
	  "E SYNTAX a BAD literal8 is only allowed in APPEND, CATENATE and "
	  "SETMETADATA | C b NOOP" },
	{ "a X {99999999999999999999}\r\n", 0,
	  "E TOOBIG a BAD [TOOBIG] Literal too big skip" },
	/* resync honours {n+} on a bad line, and the line it continues */
	{ "a X (a)b {5+}\r\nb NOP {3+}\r\nxyz)\r\nc NOOP\r\n", 0,
	  "E SYNTAX a BAD Missing space between arguments skip | C c NOOP" },
	{ "a X ) {0+}\r\nb NOOP\r\nc NOOP\r\n", 0,
	  "E SYNTAX a BAD Unexpected ')' skip | C c NOOP" },
	{ "a X ) {5}\r\nb NOOP\r\n", 0,
	  "E SYNTAX a BAD Unexpected ')' skip | C b NOOP" },
	{ "a X ) ~{5+}\r\nb NOP\r\nc NOOP\r\n", 0,
	  "E SYNTAX a BAD Unexpected ')' skip | C c NOOP" },
	{ "a X ) {5+} \r\nb NOOP\r\n", 0,
	  "E SYNTAX a BAD Unexpected ')' skip | C b NOOP" },
	{ "a X {5+x}\r\nb NOOP\r\n", 0,
	  "E SYNTAX a BAD Invalid literal skip | C b NOOP" },
	/* an error inside the header still finds the literal */
	{ "a X {5+\x01}\r\nb NOOP\r\n", 0,
	  "E SYNTAX a BAD Invalid literal skip | C b NOOP" },
	{ "a AUTHENTICATE X\r\nab\0c\r\nb NOOP\r\n",
	  sizeof("a AUTHENTICATE X\r\nab\0c\r\nb NOOP\r\n") - 1,
	  "C a AUTHENTICATE X | E SYNTAX * BAD NUL byte in command skip | "
	  "C b NOOP" },
};

static struct imap_parser_limits
small_limits(void)
{
	struct imap_parser_limits lim;

	imap_parser_limits_default(&lim);
	lim.line_max = 40;
	lim.literal_max = 10;
	lim.append_max = 20;
	lim.command_max = 80;
	lim.depth_max = 3;
	lim.args_max = 8;
	return lim;
}

static const struct pcase limit_cases[] = {
	/* line */
	{ "a NOOP 0123456789012345678901234567890123456789\r\nb NOOP\r\n", 0,
	  "E LINE a BAD [TOOBIG] Line too long skip close | C b NOOP" },
	{ "0123456789012345678901234567890123456789 NOOP\r\n", 0,
	  "E LINE * BAD [TOOBIG] Line too long skip close" },
	{ "a X 12345678901234567890123456789012345\r\n", 0,
	  "E LINE a BAD [TOOBIG] Line too long close" },
	{ "a X 1234567890123456789012345678901234\r\n", 0,
	  "C a X 1234567890123456789012345678901234" },
	/* literals excluded from the line */
	{ "a X {10}\r\n0123456789 {10+}\r\n0123456789 {5+}\r\nabcde\r\n", 0,
	  "W 10 | C a X {10}0123456789 {10}0123456789 {5}abcde" },
	/* literal limits: sync refused before reading, nonsync: close */
	{ "a X {11}\r\nb NOOP\r\n", 0,
	  "E TOOBIG a BAD [TOOBIG] Literal too big | C b NOOP" },
	{ "a X {11+}\r\n01234567890 x\r\nb NOOP\r\n", 0,
	  "E TOOBIG a BAD [TOOBIG] Literal too big skip close | C b NOOP" },
	{ "a APPEND x {21}\r\nb NOOP\r\n", 0,
	  "E TOOBIG a NO [TOOBIG] Message too big | C b NOOP" },
	{ "a APPEND x {21+}\r\n012345678901234567890\r\nb NOOP\r\n", 0,
	  "E TOOBIG a BAD [TOOBIG] Literal too big skip close | C b NOOP" },
	{ "a APPEND x {20+}\r\n01234567890123456789\r\n", 0,
	  "S 0 20 01234567890123456789 | C a APPEND x <S#0:20>" },
	/* command total: streamed messages do not count */
	{ "a X {10+}\r\n0123456789 {10+}\r\n0123456789 {10+}\r\n0123456789"
	  " {10+}\r\n0123456789 {10+}\r\n0123456789\r\nb NOOP\r\n", 0,
	  "E CMDLONG a BAD [TOOBIG] Command too long skip close | C b NOOP" },
	{ "a X {10}\r\n0123456789 {10}\r\n0123456789 {10}\r\n0123456789"
	  " {10}\r\n0123456789 {10}\r\nb NOOP\r\n", 0,
	  "W 10 | W 10 | W 10 | W 10 | E CMDLONG a BAD [TOOBIG] Command too long | "
	  "C b NOOP" },
	/* depth and count */
	{ "a X (((a)))\r\n", 0, "C a X (((a)))" },
	{ "a X ((((a))))\r\nb NOOP\r\n", 0,
	  "E DEPTH a BAD Too deeply nested lists skip | C b NOOP" },
	{ "a X 1 2 3 4 5 6 7 8\r\n", 0, "C a X 1 2 3 4 5 6 7 8" },
	{ "a X 1 2 3 4 5 6 7 8 9\r\nb NOOP\r\n", 0,
	  "E ARGS a BAD Too many arguments skip | C b NOOP" },
	{ "a X () () () () 5 6 7 (8)\r\n", 0,
	  "E ARGS a BAD Too many arguments skip" },
	/* a skipped line that is too long is told once, untagged */
	{ "a X ) 0123456789012345678901234567890123456789\r\nb NOOP\r\n", 0,
	  "E SYNTAX a BAD Unexpected ')' skip | "
	  "E LINE * BAD [TOOBIG] Line too long skip close | C b NOOP" },
};

static void
test_valid(void)
{
	struct imap_parser_limits lim;

	imap_parser_limits_default(&lim);
	TEST_ASSERT(check_cases(&lim, valid_cases, NCASES(valid_cases)));
}

static void
test_invalid(void)
{
	struct imap_parser_limits lim;

	imap_parser_limits_default(&lim);
	TEST_ASSERT(check_cases(&lim, invalid_cases, NCASES(invalid_cases)));
}

static void
test_limits(void)
{
	struct imap_parser_limits lim = small_limits();

	TEST_ASSERT(check_cases(&lim, limit_cases, NCASES(limit_cases)));
}

/* LITERAL-: {n+} above 4096 is refused and the session should close. */
static void
test_literal_minus(void)
{
	struct imap_parser_limits lim;
	static const struct pcase cases[] = {
		{ "a X {4097+}\r\n", 0,
		  "E TOOBIG a BAD [TOOBIG] Literal too big skip close" },
		{ "a X {4097}\r\n", 0, "W 4097" },
	};

	imap_parser_limits_default(&lim);
	lim.nonsync_max = IMAP_LITERAL_MINUS_MAX;
	TEST_ASSERT(check_cases(&lim, cases, NCASES(cases)));
}

/* imap_parser_current() during LITERAL_WAIT shows the arguments so far. */
static void
test_current(void)
{
	struct imap_parser_limits lim;
	struct imap_parser *p;
	const struct imap_command *cmd;
	const struct imap_literal *lit;
	const char *in = "a APPEND \"Sent\" (\\Seen) {12}\r\n";
	size_t used;

	imap_parser_limits_default(&lim);
	p = imap_parser_create(&lim);
	TEST_ASSERT(imap_parser_current(p) == NULL);
	TEST_ASSERT(imap_parser_feed(p, in, strlen(in), &used) ==
	    IMAP_PARSE_LITERAL_WAIT);
	TEST_ASSERT(used == strlen(in));
	lit = imap_parser_literal(p);
	TEST_ASSERT(lit->size == 12 && lit->stream && !lit->nonsync &&
	    lit->index == 0);
	cmd = imap_parser_current(p);
	TEST_ASSERT(cmd != NULL);
	TEST_ASSERT_STREQ(cmd->tag, "a");
	TEST_ASSERT_STREQ(cmd->name, "APPEND");
	TEST_ASSERT(cmd->count == 2);
	TEST_ASSERT(cmd->args[0].type == IMAP_ARG_STRING);
	TEST_ASSERT_STREQ(cmd->args[0].str, "Sent");
	TEST_ASSERT(cmd->args[1].type == IMAP_ARG_LIST);
	TEST_ASSERT(cmd->args[1].list_count == 1);
	TEST_ASSERT_STREQ(cmd->args[1].list[0].str, "\\Seen");
	imap_parser_destroy(&p);
	TEST_ASSERT(p == NULL);
}

/* A big APPEND is streamed in chunks that point into the caller's buffer,
   and the parser itself never holds the message. */
static void
test_stream_zero_copy(void)
{
	struct imap_parser_limits lim;
	struct imap_parser *p;
	const struct imap_literal *lit;
	const char *hdr = "a APPEND INBOX {1000000+}\r\n";
	char *body = xmalloc(65536);
	size_t used, total = 0;
	enum imap_parse_result r;

	imap_parser_limits_default(&lim);
	p = imap_parser_create(&lim);
	TEST_ASSERT(imap_parser_feed(p, hdr, strlen(hdr), &used) ==
	    IMAP_PARSE_NEED_MORE);
	memset(body, 'x', 65536);
	while (total < 1000000) {
		size_t n = 1000000 - total < 65536 ? 1000000 - total : 65536;

		r = imap_parser_feed(p, body, n, &used);
		TEST_ASSERT(r == IMAP_PARSE_LITERAL_STREAM);
		lit = imap_parser_literal(p);
		TEST_ASSERT(lit->data == body && lit->len == n &&
		    used == n && lit->offset == total);
		total += n;
		TEST_ASSERT(lit->last == (total == 1000000));
	}
	TEST_ASSERT(imap_parser_feed(p, "\r\n", 2, &used) ==
	    IMAP_PARSE_COMMAND);
	TEST_ASSERT(imap_parser_command(p)->args[1].type == IMAP_ARG_STREAM);
	TEST_ASSERT(imap_parser_command(p)->args[1].size == 1000000);
	imap_parser_command_done(p);
	imap_parser_destroy(&p);
	free(body);
}

/* Arguments keep their bytes: literals are binary-safe; limits can be
   changed between commands. */
static void
test_accessors(void)
{
	struct imap_parser_limits lim;
	struct imap_parser *p;
	const struct imap_command *cmd;
	const char *in = "a X atom NIL \"q\" {2+}\r\nli (x)\r\n", *s;
	const struct imap_arg *list;
	unsigned n;
	size_t used, len;

	imap_parser_limits_default(&lim);
	p = imap_parser_create(&lim);
	TEST_ASSERT(imap_parser_feed(p, in, strlen(in), &used) ==
	    IMAP_PARSE_COMMAND);
	cmd = imap_parser_command(p);
	TEST_ASSERT(cmd->count == 5);
	TEST_ASSERT(imap_arg_get_atom(&cmd->args[0], &s));
	TEST_ASSERT(!imap_arg_get_atom(&cmd->args[1], &s));
	TEST_ASSERT(imap_arg_get_astring(&cmd->args[1], &s, &len) &&
	    len == 3);
	TEST_ASSERT(imap_arg_get_nstring(&cmd->args[1], &s, NULL) &&
	    s == NULL);
	TEST_ASSERT(!imap_arg_get_string(&cmd->args[0], &s, NULL));
	TEST_ASSERT(imap_arg_get_string(&cmd->args[2], &s, &len) &&
	    len == 1);
	TEST_ASSERT(imap_arg_get_string(&cmd->args[3], &s, &len) &&
	    len == 2 && memcmp(s, "li", 2) == 0);
	TEST_ASSERT(imap_arg_get_list(&cmd->args[4], &list, &n) && n == 1);
	TEST_ASSERT(imap_arg_atom_equals(&list[0], "X"));
	TEST_ASSERT(!imap_arg_get_list(&cmd->args[0], &list, &n));

	lim.line_max = 10;
	imap_parser_set_limits(p, &lim);
	in = "b NOOP 1234567\r\n";
	TEST_ASSERT(imap_parser_feed(p, in, strlen(in), &used) ==
	    IMAP_PARSE_ERROR);
	TEST_ASSERT(imap_parser_error(p)->code == IMAP_PERR_LINE_TOO_LONG);
	imap_parser_destroy(&p);
}

/* Results stop at events: the rest of the input is left to the caller. */
static void
test_used(void)
{
	struct imap_parser_limits lim;
	struct imap_parser *p;
	const char *in = "a NOOP\r\nb NOOP\r\n";
	size_t used;

	imap_parser_limits_default(&lim);
	p = imap_parser_create(&lim);
	TEST_ASSERT(imap_parser_feed(p, in, strlen(in), &used) ==
	    IMAP_PARSE_COMMAND && used == 8);
	TEST_ASSERT(imap_parser_feed(p, in + 8, strlen(in) - 8, &used) ==
	    IMAP_PARSE_COMMAND && used == 8);
	TEST_ASSERT_STREQ(imap_parser_command(p)->tag, "b");
	TEST_ASSERT(imap_parser_feed(p, "c", 1, &used) ==
	    IMAP_PARSE_NEED_MORE && used == 1);
	imap_parser_destroy(&p);
}

/* read_line() keeps the command until the next feed; command_done() frees
   a finished result and leaves a command in progress alone. */
static void
test_lifetimes(void)
{
	struct imap_parser_limits lim;
	struct imap_parser *p;
	const struct imap_command *c;
	const char *in = "a AUTHENTICATE PLAIN =\r\n", *line;
	size_t used, len;

	imap_parser_limits_default(&lim);
	p = imap_parser_create(&lim);
	TEST_ASSERT(imap_parser_feed(p, in, strlen(in), &used) ==
	    IMAP_PARSE_COMMAND);
	c = imap_parser_command(p);
	imap_parser_read_line(p);
	TEST_ASSERT_STREQ(c->tag, "a");
	TEST_ASSERT_STREQ(c->args[1].str, "=");
	TEST_ASSERT(imap_parser_feed(p, "*\r\n", 3, &used) ==
	    IMAP_PARSE_LINE && used == 3);
	line = imap_parser_line(p, &len);
	TEST_ASSERT(len == 1 && line[0] == '*');
	imap_parser_command_done(p);

	in = "b LOGIN {3}\r\n";
	TEST_ASSERT(imap_parser_feed(p, in, strlen(in), &used) ==
	    IMAP_PARSE_LITERAL_WAIT);
	imap_parser_command_done(p);	/* no-op: inside a command */
	TEST_ASSERT(imap_parser_feed(p, "abc x\r\n", 7, &used) ==
	    IMAP_PARSE_COMMAND);
	c = imap_parser_command(p);
	TEST_ASSERT(c->count == 2 && c->args[0].len == 3);
	TEST_ASSERT_STREQ(c->args[1].str, "x");
	imap_parser_command_done(p);
	imap_parser_destroy(&p);
}

int
main(void)
{
	TEST_RUN(test_valid);
	TEST_RUN(test_invalid);
	TEST_RUN(test_limits);
	TEST_RUN(test_literal_minus);
	TEST_RUN(test_current);
	TEST_RUN(test_stream_zero_copy);
	TEST_RUN(test_accessors);
	TEST_RUN(test_used);
	TEST_RUN(test_lifetimes);
	return test_done("test-imap-parser");
}
