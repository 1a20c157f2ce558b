/*
 * fuzz-smtp-reply - libFuzzer target for what the outbound client parses
 * and produces from untrusted or stored bytes:
 *   - the input split at LF, fed line by line to smtp_reply_feed(); each
 *     complete reply goes through smtp_reply_oneline() and, as if it were
 *     an EHLO answer, smtp_reply_ehlo_caps();
 *   - the input as a reply text to dsn_status_from_reply() and as the
 *     reason and the original message of a DSN (dsn_build);
 *   - the input as message content through mta_data_encode(), decoded
 *     again by the inbound smtp_data decoder, and through the streaming
 *     encoder (mta_data_feed) in pieces of sizes taken from the input,
 *     which must give the same stream and wire size.
 *
 * Contracts checked beyond "no crash, no leak, no UB": reply codes are
 * 200..559 and texts hold no NUL; one-line forms hold no control
 * characters and respect their maximum; statuses look like c.s.d; the DSN
 * has no line over 998 octets and the reason cannot add a header line;
 * the DATA stream ends exactly once, at its end, never holds "\r.", and
 * decodes back to the content (a CR before "." becomes LF, a final LF is
 * added when missing).
 *
 * Trust: test code.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/dsn.h"
#include "mta/mta_data.h"
#include "mta/smtp_reply.h"
#include "smtp/smtp_data.h"
#include "util/buf.h"
#include "util/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static bool
status_ok(const char *st)
{
	size_t i = 2, n;

	if (st[0] != '2' && st[0] != '4' && st[0] != '5')
		return false;
	if (st[1] != '.')
		return false;
	for (n = 0; st[i] >= '0' && st[i] <= '9'; i++)
		n++;
	if (n < 1 || n > 3 || st[i++] != '.')
		return false;
	for (n = 0; st[i] >= '0' && st[i] <= '9'; i++)
		n++;
	return n >= 1 && n <= 3 && st[i] == '\0';
}

static void
check_reply(const struct smtp_reply *r)
{
	struct smtp_caps caps;
	char *one;

	CHECK(r->code >= 200 && r->code <= 559);
	CHECK(r->text != NULL);
	CHECK(r->nlines >= 1 && r->nlines <= SMTP_REPLY_LINES_MAX);
	CHECK(r->status[0] == '\0' || (status_ok(r->status) &&
	    r->status[0] == '0' + r->code / 100));
	one = smtp_reply_oneline(r, 0);
	for (const char *p = one; *p; p++)
		CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
	CHECK(one[0] == '0' + r->code / 100);
	free(one);
	one = smtp_reply_oneline(r, 40);
	CHECK(strlen(one) <= 40);
	free(one);
	smtp_reply_ehlo_caps(r->text, &caps);
	CHECK(caps.size == 0 || (caps.flags & SMTP_CAP_SIZE));
}

static void
fuzz_replies(const char *s, size_t len)
{
	struct smtp_reply_parser p;
	struct smtp_reply r;
	const char *err, *nl, *e = s + len;

	smtp_reply_parser_init(&p);
	while (s < e) {
		nl = memchr(s, '\n', (size_t)(e - s));
		if (nl == NULL)
			nl = e;
		switch (smtp_reply_feed(&p, s, (size_t)(nl - s), &r, &err)) {
		case 1:
			check_reply(&r);
			smtp_reply_free(&r);
			break;
		case -1:
			CHECK(err != NULL && r.text == NULL);
			break;
		default:
			break;
		}
		s = nl + 1;
	}
	smtp_reply_parser_free(&p);
}

/* Every line of a DSN built around a fixed message is short, and none
   starts with "X-": nothing in the reason can start a line. */
static void
check_dsn_lines(const char *out, size_t olen)
{
	size_t col = 0;

	for (size_t i = 0; i < olen; i++) {
		col = out[i] == '\n' ? 0 : col + 1;
		CHECK(col <= 998);
		if (out[i] == '\n' && i + 2 < olen)
			CHECK(out[i + 1] != 'X' || out[i + 2] != '-');
	}
	CHECK(strncmp(out, "X-", 2) != 0);
}

static void
fuzz_dsn(const char *s, size_t len)
{
	static const char msg[] = "Subject: x\n\nbody\n";
	struct dsn_rcpt rc = { .addr = "bob@b.test" };
	struct dsn_params p = {
		.hostname = "mx.a.test", .sender = "alice@a.test", .rcpts = &rc,
		.nrcpt = 1, .now = 1, .boundary = "=_tem_fuzz",
		.message_id = "fuzz@mx.a.test", .content = msg,
		.len = sizeof(msg) - 1,
	};
	char st[16], *str = xstrndup(s, len), *out;
	size_t olen;
	int cls = dsn_status_from_reply(str, st);

	CHECK((cls == -1 && st[0] == '\0') || (status_ok(st) &&
	    st[0] == '0' + cls));
	/* the input as everything a remote server or a client controls */
	rc.reason = str;
	rc.orcpt = str;
	p.envid = str;
	rc.action = len % 2 ? DSN_ACTION_FAILED : DSN_ACTION_DELAYED;
	p.smtputf8 = len % 3 == 0;
	out = dsn_build(&p, &olen);
	CHECK(out != NULL && strlen(out) == olen);
	check_dsn_lines(out, olen);
	free(out);
	/* the input as the original message */
	rc.reason = rc.orcpt = p.envid = NULL;
	p.content = s;
	p.len = len;
	p.full_max = len % 5 == 0 ? 16 : 0;
	out = dsn_build(&p, &olen);
	CHECK(out != NULL && strlen(out) <= olen);
	free(out);
	free(str);
}

/* What a receiver stores for content: CR before "." as LF, final LF. */
static void
expected_back(const char *s, size_t len, struct buf *want)
{
	for (size_t i = 0; i < len; i++)
		buf_putc(want, s[i] == '\r' && i + 1 < len && s[i + 1] == '.' ?
		    '\n' : s[i]);
	if (len > 0 && s[len - 1] != '\n')
		buf_putc(want, '\n');
}

/* The streaming encoder in irregular pieces gives the same stream. */
static void
fuzz_data_stream(const char *s, size_t len, const struct buf *wire)
{
	struct mta_data d;
	struct mta_wire_count w = { 0, 0, false };
	struct buf out;
	size_t off = 0, n, k = 0;

	buf_init(&out, 0);
	mta_data_start(&d);
	while (off < len) {
		n = 1 + (unsigned char)s[k++ % len] % 4;	/* 1..4 */
		if (n > len - off)
			n = len - off;
		mta_data_feed(&d, s + off, 0, &out);	/* adds nothing */
		mta_data_feed(&d, s + off, n, &out);
		mta_wire_count_feed(&w, s + off, n);
		off += n;
	}
	mta_data_end(&d, &out);
	CHECK(out.len == wire->len && memcmp(out.data, wire->data, out.len)
	    == 0);
	CHECK(mta_wire_count_total(&w) == mta_data_wire_size(s, len));
	buf_free(&out);
}

static void
fuzz_data(const char *s, size_t len)
{
	struct mta_data d;
	struct smtp_data dec;
	struct buf wire, back, want;
	size_t chunk = len % 7 + 1, used;
	bool done = false;
	size_t guard = 0;

	buf_init(&wire, 0);
	buf_init(&back, 0);
	buf_init(&want, 0);
	mta_data_init(&d, s, len);
	while (!mta_data_encode(&d, &wire, chunk))
		CHECK(++guard <= len / chunk + 2);
	CHECK(wire.len >= 3 && memcmp(wire.data + wire.len - 3, ".\r\n", 3)
	    == 0);
	CHECK(memmem(wire.data, wire.len, "\r.", 2) == NULL);
	fuzz_data_stream(s, len, &wire);
	smtp_data_init(&dec, 0);
	used = smtp_data_feed(&dec, wire.data, wire.len, &back, &done);
	CHECK(done && used == wire.len);
	expected_back(s, len, &want);
	CHECK(back.len == want.len && memcmp(buf_cstr(&back), buf_cstr(&want),
	    want.len) == 0);
	buf_free(&wire);
	buf_free(&back);
	buf_free(&want);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;

	fuzz_replies(s, size);
	fuzz_dsn(s, size);
	fuzz_data(s, size);
	return 0;
}
