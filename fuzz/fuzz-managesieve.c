/*
 * fuzz-managesieve - libFuzzer target for managesieve_parser: the input
 * (after one byte choosing the mode: its value modulo 3) is a client's byte stream, parsed
 * command after command as the session does (a refused command's rest
 * dropped as the session drops it), and also fed in pieces.
 *
 * Beyond "no crash, no leak, no UB" it checks contracts: every answer is
 * one of the three; DONE takes at least one octet and no more than given,
 * with the verb's arguments; MORE asks for more than was given; ERROR has
 * a one-line message; the result does not depend on how the input is cut
 * (MORE then the needed length gives what the whole input gives); a
 * string written by ms_put_string parses back to itself.
 *
 * Trust: test code.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "managesieve/managesieve_parser.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static void
check_result(enum ms_parse_result r, const struct ms_command *cmd,
    const struct ms_parse_res *res, size_t len)
{
	switch (r) {
	case MS_PARSE_DONE:
		CHECK(res->used > 0 && res->used <= len);
		CHECK(cmd->nargs <= MS_ARGS_MAX);
		for (unsigned i = 0; i < cmd->nargs; i++) {
			CHECK(cmd->args[i].s != NULL);
			CHECK(cmd->args[i].s[cmd->args[i].len] == '\0');
			CHECK(cmd->args[i].len <= MS_LITERAL_MAX);
		}
		if (cmd->verb == MS_HAVESPACE)
			CHECK(cmd->nargs == 2 && cmd->args[1].number);
		break;
	case MS_PARSE_MORE:
		CHECK(res->need > len);
		break;
	case MS_PARSE_ERROR:
		CHECK(res->used <= len);
		CHECK(res->msg != NULL && res->msg[0] != '\0');
		CHECK(strpbrk(res->msg, "\r\n") == NULL);
		break;
	default:
		CHECK(false);
	}
}

/* Parses in[0..len) whole, and again grown from nothing by the needs:
 * the same answer either way. Returns the answer on the whole. */
static enum ms_parse_result
parse_both(const char *in, size_t len, enum ms_mode mode,
    struct ms_parse_res *res_r)
{
	struct ms_command whole, part;
	struct ms_parse_res res, pres;
	enum ms_parse_result r, pr;
	size_t have = 0;

	r = ms_parse(in, len, mode, &whole, &res);
	check_result(r, &whole, &res, len);
	for (;;) {
		pr = ms_parse(in, have, mode, &part, &pres);
		check_result(pr, &part, &pres, have);
		if (pr != MS_PARSE_MORE || pres.need > len)
			break;
		have = pres.need;
	}
	if (r != MS_PARSE_MORE) {
		CHECK(pr == r && pres.used == res.used);
		if (r == MS_PARSE_DONE) {
			CHECK(part.verb == whole.verb &&
			    part.nargs == whole.nargs);
			for (unsigned i = 0; i < whole.nargs; i++)
				CHECK(part.args[i].len == whole.args[i].len &&
				    memcmp(part.args[i].s, whole.args[i].s,
				    whole.args[i].len) == 0);
		}
	}
	ms_command_free(&whole);
	ms_command_free(&part);
	*res_r = res;
	return r;
}

/* The session's loop over a whole stream: parse, take, drop. */
static void
run_stream(const char *in, size_t len, enum ms_mode mode)
{
	struct ms_parse_res res;
	size_t pos = 0;
	const char *lf;

	while (pos < len) {
		enum ms_parse_result r = parse_both(in + pos, len - pos, mode,
		    &res);
		if (r == MS_PARSE_MORE)
			return;
		pos += res.used;
		if (r == MS_PARSE_DONE)
			continue;
		if (res.skip >= len - pos)
			return;
		pos += (size_t)res.skip;
		lf = memchr(in + pos, '\n', len - pos);
		if (lf == NULL)
			return;
		pos = (size_t)(lf - in) + 1;
	}
}

static void
check_put_string(const char *s, size_t len)
{
	struct buf b;
	struct ms_command cmd;
	struct ms_parse_res res;

	if (len > MS_SASL_MAX)
		len = MS_SASL_MAX;
	buf_init(&b, 0);
	buf_puts(&b, "NOOP ");
	ms_put_string(&b, s, len);
	buf_puts(&b, "\r\n");
	CHECK(ms_parse(b.data, b.len, MS_MODE_COMMAND, &cmd, &res) ==
	    MS_PARSE_DONE);
	CHECK(res.used == b.len && cmd.nargs == 1);
	CHECK(cmd.args[0].len == len && memcmp(cmd.args[0].s, s, len) == 0);
	ms_command_free(&cmd);
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum ms_mode mode;

	if (size == 0)
		return 0;
	mode = data[0] % 3 == 1 ? MS_MODE_SASL : data[0] % 3 == 2 ?
	    MS_MODE_LOGIN : MS_MODE_COMMAND;
	run_stream((const char *)data + 1, size - 1, mode);
	check_put_string((const char *)data + 1, size - 1);
	return 0;
}
