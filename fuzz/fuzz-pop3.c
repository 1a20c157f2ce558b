/*
 * fuzz-pop3 - libFuzzer target for pop3_parser: the input is one command
 * line for pop3_parse_command(), and also a stored message for the
 * RETR/TOP encoder.
 *
 * Beyond "no crash, no leak, no UB" it checks contracts: a result is one
 * of the three, a failure has a one-line reply and no arguments, argument
 * pointers stay inside the line; the encoder's output has no bare LF, its
 * stuffing undone gives exactly the store's wire form (and its size), it
 * does not depend on how the input is chunked, and TOP's output is a
 * prefix of RETR's.
 *
 * Trust: test code.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pop3/pop3_parser.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static bool
inside(const char *p, size_t n, const char *line, size_t len)
{
	return p == NULL ? n == 0 : p >= line && p + n <= line + len;
}

static void
check_command(const char *line, size_t len)
{
	struct pop3_command cmd;
	const char *err = NULL;
	int r = pop3_parse_command(line, len, &cmd, &err);

	CHECK(r == POP3_PARSE_OK || r == POP3_PARSE_UNKNOWN ||
	    r == POP3_PARSE_SYNTAX);
	if (r != POP3_PARSE_OK) {
		CHECK(err != NULL && err[0] != '\0');
		CHECK(strpbrk(err, "\r\n") == NULL);
		CHECK(cmd.arg == NULL && cmd.arg2 == NULL && !cmd.has_msg);
		return;
	}
	CHECK(err == NULL);
	CHECK(inside(cmd.arg, cmd.arg_len, line, len));
	CHECK(inside(cmd.arg2, cmd.arg2_len, line, len));
	CHECK(memchr(line, '\0', len) == NULL);
	if (cmd.verb == POP3_VERB_PASS)
		CHECK(cmd.arg_len > 0);
	if (cmd.verb == POP3_VERB_RETR || cmd.verb == POP3_VERB_DELE ||
	    cmd.verb == POP3_VERB_TOP)
		CHECK(cmd.has_msg);
	if (cmd.verb == POP3_VERB_USER)
		CHECK(cmd.arg_len > 0 && memchr(cmd.arg, ' ', cmd.arg_len) ==
		    NULL);
}

/* The store's wire form: LF not after CR becomes CRLF. */
static void
wire_form(const char *p, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			buf_putc(out, '\r');
		buf_putc(out, p[i]);
	}
}

static void
encode(const char *p, size_t n, bool top, uint32_t lines, size_t step,
    struct buf *out, uint64_t *octets_r)
{
	struct pop3_enc e;
	size_t pos = 0;

	pop3_enc_init(&e, top, lines);
	while (pos < n) {
		size_t k = step && step < n - pos ? step : n - pos;
		if (pop3_enc_feed(&e, p + pos, k, out))
			CHECK(top);
		pos += k;
	}
	*octets_r = e.octets;
	pop3_enc_end(&e, out);
}

static void
check_encoder(const char *p, size_t n, unsigned seed)
{
	struct buf a, b, unstuffed, wire;
	uint64_t oa, ob;
	size_t i;

	buf_init(&a, 0);
	buf_init(&b, 0);
	buf_init(&unstuffed, 0);
	buf_init(&wire, 0);
	encode(p, n, false, 0, 0, &a, &oa);
	encode(p, n, false, 0, seed % 7 + 1, &b, &ob);
	CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	CHECK(oa == ob);
	CHECK(a.len >= 3 && memcmp(a.data + a.len - 3, ".\r\n", 3) == 0);
	for (i = 0; i < a.len; i++)
		if (a.data[i] == '\n')
			CHECK(i > 0 && a.data[i - 1] == '\r');
	/* undo the stuffing, drop the terminator */
	for (i = 0; i + 3 < a.len; i++) {
		if ((i == 0 || a.data[i - 1] == '\n') && a.data[i] == '.') {
			CHECK(i + 1 < a.len && a.data[i + 1] == '.');
			i++;
		}
		buf_putc(&unstuffed, a.data[i]);
	}
	wire_form(p, n, &wire);
	CHECK(oa == wire.len);
	/* the unstuffed body is the wire form, plus CRLF (or LF after a
	 * trailing CR) when the message did not end with a line end */
	CHECK(unstuffed.len >= wire.len && (wire.len == 0 ||
	    memcmp(unstuffed.data, wire.data, wire.len) == 0));
	CHECK(unstuffed.len - wire.len <= 2);
	/* TOP: a prefix of RETR's output, ending at a line end */
	buf_reset(&b);
	encode(p, n, true, seed % 5, seed % 3 + 1, &b, &ob);
	CHECK(b.len >= 3 && b.len <= a.len);
	CHECK(memcmp(a.data, b.data, b.len - 3) == 0);
	CHECK(b.len == 3 || (b.data[b.len - 5] == '\r' &&
	    b.data[b.len - 4] == '\n'));
	buf_free(&a);
	buf_free(&b);
	buf_free(&unstuffed);
	buf_free(&wire);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	unsigned seed = size ? data[size - 1] : 0;

	check_command(p, size);
	check_encoder(p, size, seed);
	return 0;
}
