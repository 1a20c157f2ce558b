/*
 * test-milter-proto - milter_proto.c and milter_replycode.c: every encoder
 * against packets written out by hand (octet for octet what Postfix's
 * milter8.c sends), every reply code decoded, malformed and partial
 * replies, and SMFIR_REPLYCODE texts good and bad.
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "milter/milter_proto.h"
#include "util/buf.h"
#include "util/test.h"

/* A literal's bytes, its NULs included. */
#define LIT(s)	(s), sizeof(s) - 1

static bool
same(const struct buf *b, const char *want, size_t n)
{
	if (b->len == n && memcmp(b->data, want, n) == 0)
		return true;
	fprintf(stderr, "  got %zu octets:", b->len);
	for (size_t i = 0; i < b->len && i < 64; i++)
		fprintf(stderr, " %02x", (unsigned char)b->data[i]);
	fprintf(stderr, "\n");
	return false;
}

/* --- encoders ----------------------------------------------------------- */

static void
test_put_optneg(void)
{
	struct buf b;

	buf_init(&b, 0);
	milter_put_optneg(&b, MILTER_VERSION, MILTER_ACTIONS_ALL,
	    MILTER_PROTO_ALL);
	TEST_ASSERT(same(&b, LIT("\0\0\0\x0d" "O" "\0\0\0\x06" "\0\0\x01\xff"
	    "\0\x1f\xff\xff")));
	buf_free(&b);
}

static void
test_put_macros(void)
{
	static const char *const kv[] = { "j", "mx.a.test", "{daemon_name}",
	    "tem" };
	struct buf b;

	buf_init(&b, 0);
	milter_put_macros(&b, SMFIC_CONNECT, kv, 2);
	/* 'D', 'C', then 2 + 10 + 14 + 4 octets of strings */
	TEST_ASSERT(same(&b, LIT("\0\0\0\x20" "D" "C" "j\0" "mx.a.test\0"
	    "{daemon_name}\0" "tem\0")));
	buf_reset(&b);
	milter_put_macros(&b, SMFIC_BODYEOB, kv, 0);
	TEST_ASSERT(same(&b, LIT("\0\0\0\x02" "D" "E")));
	buf_reset(&b);
	milter_put_macros(&b, SMFIC_MAIL, (const char *const[]){ "{mail_addr}",
	    "" }, 1);
	TEST_ASSERT(same(&b, LIT("\0\0\0\x0f" "D" "M" "{mail_addr}\0" "\0")));
	buf_free(&b);
}

/* The CONNECT packet for host and the address text at port (IPv4, IPv6,
   a path for AF_UNIX, NULL for none) is want. */
static bool
connect_is(const char *host, int af, const char *addr, uint16_t port,
    const char *want, size_t n)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons(port) };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6,
	    .sin6_port = htons(port) };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const struct sockaddr *sa = NULL;
	struct buf b;
	bool ok;

	if (af == AF_INET && inet_pton(af, addr, &sin.sin_addr) == 1)
		sa = (struct sockaddr *)&sin;
	else if (af == AF_INET6 && inet_pton(af, addr, &sin6.sin6_addr) == 1)
		sa = (struct sockaddr *)&sin6;
	else if (af == AF_UNIX) {
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", addr);
		sa = (struct sockaddr *)&sun;
	}
	buf_init(&b, 0);
	milter_put_connect(&b, host, sa);
	ok = same(&b, want, n);
	buf_free(&b);
	return ok;
}

static void
test_put_connect(void)
{
	/* family, the port big-endian (25000 = 0x61a8), the address */
	TEST_ASSERT(connect_is("[127.0.0.1]", AF_INET, "127.0.0.1", 25000,
	    LIT("\0\0\0\x1a" "C" "[127.0.0.1]\0" "4" "\x61\xa8"
	    "127.0.0.1\0")));
	TEST_ASSERT(connect_is("localhost", AF_INET6, "::1", 587,
	    LIT("\0\0\0\x12" "C" "localhost\0" "6" "\x02\x4b" "::1\0")));
	TEST_ASSERT(connect_is("[2001:db8::25]", AF_INET6, "2001:db8::25",
	    65535, LIT("\0\0\0\x20" "C" "[2001:db8::25]\0" "6" "\xff\xff"
	    "2001:db8::25\0")));
	/* an IPv4 address mapped into IPv6 goes as IPv4 */
	TEST_ASSERT(connect_is("h", AF_INET6, "::ffff:192.0.2.1", 1,
	    LIT("\0\0\0\x10" "C" "h\0" "4" "\0\x01" "192.0.2.1\0")));
	/* unknown: the family alone */
	TEST_ASSERT(connect_is("h", AF_UNSPEC, NULL, 0,
	    LIT("\0\0\0\x04" "C" "h\0" "U")));
	/* a local socket: 'L', port 0, the path */
	TEST_ASSERT(connect_is("localhost", AF_UNIX, "/run/x.sock", 0,
	    LIT("\0\0\0\x1a" "C" "localhost\0" "L" "\0\0"
	    "/run/x.sock\0")));
}

static void
test_put_envelope(void)
{
	static const char *const mail[] = { "<a@b.test>", "SIZE=123",
	    "BODY=8BITMIME" };
	static const char *const rcpt[] = { "<c@d.test>" };
	static const char *const null_sender[] = { "<>" };
	struct buf b;

	buf_init(&b, 0);
	milter_put_helo(&b, "mx.b.test");
	TEST_ASSERT(same(&b, LIT("\0\0\0\x0b" "H" "mx.b.test\0")));
	buf_reset(&b);
	milter_put_mail(&b, mail, 3);
	TEST_ASSERT(same(&b, LIT("\0\0\0\x23" "M" "<a@b.test>\0" "SIZE=123\0"
	    "BODY=8BITMIME\0")));
	buf_reset(&b);
	milter_put_mail(&b, null_sender, 1);
	TEST_ASSERT(same(&b, LIT("\0\0\0\x04" "M" "<>\0")));
	buf_reset(&b);
	milter_put_rcpt(&b, rcpt, 1);
	TEST_ASSERT(same(&b, LIT("\0\0\0\x0c" "R" "<c@d.test>\0")));
	buf_reset(&b);
	milter_put_unknown(&b, "XFOO bar");
	TEST_ASSERT(same(&b, LIT("\0\0\0\x0a" "U" "XFOO bar\0")));
	buf_free(&b);
}

static void
test_put_content(void)
{
	static const char cmds[] = { SMFIC_DATA, SMFIC_EOH, SMFIC_BODYEOB,
	    SMFIC_ABORT, SMFIC_QUIT, SMFIC_QUIT_NC };
	char *big = malloc(MILTER_CHUNK);
	struct buf b;

	buf_init(&b, 0);
	milter_put_header(&b, "Subject", " hi there");
	TEST_ASSERT(same(&b, LIT("\0\0\0\x13" "L" "Subject\0" " hi there\0")));
	buf_reset(&b);
	milter_put_header(&b, "X-Empty", "");
	TEST_ASSERT(same(&b, LIT("\0\0\0\x0a" "L" "X-Empty\0" "\0")));
	for (size_t i = 0; i < sizeof(cmds); i++) {
		char want[5] = { 0, 0, 0, 1, cmds[i] };

		buf_reset(&b);
		milter_put_simple(&b, cmds[i]);
		TEST_ASSERT(same(&b, want, sizeof(want)));
	}
	buf_reset(&b);
	milter_put_body(&b, LIT("a\r\n\0b"));
	TEST_ASSERT(same(&b, LIT("\0\0\0\x06" "B" "a\r\n\0b")));
	buf_reset(&b);
	milter_put_body(&b, "", 0);
	TEST_ASSERT(same(&b, LIT("\0\0\0\x01" "B")));
	/* the largest chunk: 65,535 octets and the command */
	buf_reset(&b);
	memset(big, 'x', MILTER_CHUNK);
	milter_put_body(&b, big, MILTER_CHUNK);
	TEST_ASSERT(b.len == 5 + MILTER_CHUNK);
	TEST_ASSERT(memcmp(b.data, "\0\x01\0\0B", 5) == 0);
	TEST_ASSERT(memcmp(b.data + 5, big, MILTER_CHUNK) == 0);
	/* packets append: nothing before them is touched */
	buf_reset(&b);
	buf_puts(&b, "xy");
	milter_put_simple(&b, SMFIC_EOH);
	milter_put_helo(&b, "h");
	TEST_ASSERT(same(&b, LIT("xy" "\0\0\0\x01" "N" "\0\0\0\x03" "H" "h\0")));
	free(big);
	buf_free(&b);
}

/* --- the reply decoder -------------------------------------------------- */

/* Decodes exactly one reply taking all n octets; checks every shorter
   prefix asks for more. */
static int
get_one(const char *p, size_t n, struct milter_reply *r, const char **err)
{
	size_t used = 0;
	int rc;

	for (size_t i = 0; i < n; i++) {
		rc = milter_get_reply(p, i, &used, r, err);
		if (rc != 0)
			return rc == 1 ? -2 : rc;	/* -1: early reject */
	}
	rc = milter_get_reply(p, n, &used, r, err);
	if (rc == 1 && used != n)
		return -3;
	return rc;
}

static void
test_reply_simple(void)
{
	static const char codes[] = { SMFIR_ACCEPT, SMFIR_CONTINUE,
	    SMFIR_DISCARD, SMFIR_REJECT, SMFIR_TEMPFAIL, SMFIR_SKIP,
	    SMFIR_PROGRESS, SMFIR_SHUTDOWN, SMFIR_CONN_FAIL };
	struct milter_reply r;
	const char *err;

	for (size_t i = 0; i < sizeof(codes); i++) {
		char pkt[6] = { 0, 0, 0, 1, codes[i], 'x' };

		TEST_ASSERT(get_one(pkt, 5, &r, &err) == 1);
		TEST_ASSERT(r.code == codes[i] && err == NULL);
		TEST_ASSERT(r.str1 == NULL && r.str2 == NULL && r.data == NULL);
		TEST_ASSERT(milter_reply_name(codes[i])[0] != '?');
		/* the same code with a data octet it must not have */
		pkt[3] = 2;
		TEST_ASSERT(get_one(pkt, 6, &r, &err) == -1);
		TEST_ASSERT_STREQ(err, "trailing data");
		TEST_ASSERT(r.code == 0);
	}
	TEST_ASSERT_STREQ(milter_reply_name(SMFIR_REPLYCODE), "replycode");
	TEST_ASSERT_STREQ(milter_reply_name('Z'), "?");
	TEST_ASSERT_STREQ(milter_cmd_name(SMFIC_BODYEOB), "eom");
	TEST_ASSERT_STREQ(milter_cmd_name('z'), "?");
}

/* Replies with strings: the code is the packet's fifth octet. */
struct str_case {
	const char	*pkt;
	size_t		 len;
	const char	*err;		/* NULL: decodes */
	const char	*str1, *str2;	/* NULL: must be NULL */
	uint32_t	 index;
};

static const struct str_case str_cases[] = {
	{ LIT("\0\0\0\x07" "+" "<x@y>\0"), NULL, "<x@y>", NULL, 0 },
	{ LIT("\0\0\0\x05" "-" "<a>\0"), NULL, "<a>", NULL, 0 },
	{ LIT("\0\0\0\x04" "-" "<a>"), "string without NUL", NULL, NULL, 0 },
	{ LIT("\0\0\0\x01" "-"), "missing string", NULL, NULL, 0 },
	{ LIT("\0\0\0\x02" "-" "\0"), "empty name", NULL, NULL, 0 },
	{ LIT("\0\0\0\x06" "-" "<a>\0" "\0"), "trailing data", NULL, NULL, 0 },
	/* CHGFROM and ADDRCPT_PAR: the ESMTP arguments are optional */
	{ LIT("\0\0\0\x05" "e" "<a>\0"), NULL, "<a>", NULL, 0 },
	{ LIT("\0\0\0\x0d" "e" "<a>\0" "SIZE=10\0"), NULL, "<a>", "SIZE=10",
	  0 },
	{ LIT("\0\0\0\x06" "2" "<a>\0" "\0"), NULL, "<a>", "", 0 },
	{ LIT("\0\0\0\x07" "2" "<a>\0" "x\0"), NULL, "<a>", "x", 0 },
	{ LIT("\0\0\0\x08" "2" "<a>\0" "x\0" "y"), "trailing data", NULL,
	  NULL, 0 },
	{ LIT("\0\0\0\x06" "2" "<a>\0" "x"), "string without NUL", NULL,
	  NULL, 0 },
	{ LIT("\0\0\0\x03" "e" "\0" "\0"), "empty name", NULL, NULL, 0 },
	/* QUARANTINE and REPLYCODE: one string, all of the packet */
	{ LIT("\0\0\0\x06" "q" "spam\0"), NULL, "spam", NULL, 0 },
	{ LIT("\0\0\0\x02" "q" "\0"), NULL, "", NULL, 0 },
	{ LIT("\0\0\0\x0e" "y" "554 5.7.1 no\0"), NULL, "554 5.7.1 no", NULL,
	  0 },
	{ LIT("\0\0\0\x0d" "y" "554 5.7.1 no"), "string without NUL", NULL,
	  NULL, 0 },
	{ LIT("\0\0\0\x06" "y" "55\0x\0"), "trailing data", NULL, NULL, 0 },
	/* headers: name and value; INS/CHGHEADER an index first */
	{ LIT("\0\0\0\x0c" "h" "X-Spam\0" "Yes\0"), NULL, "X-Spam", "Yes",
	  0 },
	{ LIT("\0\0\0\x04" "h" "X\0" "\0"), NULL, "X", "", 0 },
	{ LIT("\0\0\0\x08" "h" "X-Spam\0"), "missing string", NULL, NULL, 0 },
	{ LIT("\0\0\0\x03" "h" "\0" "\0"), "empty name", NULL, NULL, 0 },
	{ LIT("\0\0\0\x0b" "i" "\0\0\0\x03" "X\0" "v w\0"), NULL, "X",
	  "v w", 3 },
	/* CHGHEADER with an empty value deletes: decoded as such */
	{ LIT("\0\0\0\x0e" "m" "\x80\0\0\x01" "Subject\0" "\0"), NULL,
	  "Subject", "", 0x80000001u },
	{ LIT("\0\0\0\x03" "m" "\0\0"), "short fixed field", NULL, NULL, 0 },
	{ LIT("\0\0\0\x05" "m" "\0\0\0\x01"), "missing string", NULL, NULL,
	  0 },
	{ LIT("\0\0\0\x07" "m" "\0\0\0\x01" "X\0"), "missing string", NULL,
	  NULL, 0 },
	{ LIT("\0\0\0\x0a" "i" "\0\0\0\x01" "X\0" "v\0" "z"),
	  "trailing data", NULL, NULL, 0 },
};

static bool
str_eq(const char *got, const char *want)
{
	if (want == NULL)
		return got == NULL;
	return got != NULL && strcmp(got, want) == 0;
}

static void
test_reply_strings(void)
{
	struct milter_reply r;
	const char *err;

	for (size_t i = 0; i < sizeof(str_cases) / sizeof(str_cases[0]); i++) {
		const struct str_case *c = &str_cases[i];
		int rc = get_one(c->pkt, c->len, &r, &err);

		if (rc != (c->err ? -1 : 1) || !str_eq(err, c->err) ||
		    r.code != (c->err ? 0 : c->pkt[4]) ||
		    !str_eq(r.str1, c->str1) || !str_eq(r.str2, c->str2) ||
		    r.index != c->index) {
			fprintf(stderr, "  case %zu: rc %d err %s\n", i, rc,
			    err ? err : "-");
			TEST_ASSERT(0);
		}
		/* the strings point into the input */
		TEST_ASSERT(r.str1 == NULL || (r.str1 > c->pkt &&
		    r.str1 < c->pkt + c->len));
	}
}

static void
test_reply_body_symlist(void)
{
	static const char body[] = "\0\0\0\x08" "b" "a\r\n\0" "b\r\n";
	struct milter_reply r;
	const char *err;

	TEST_ASSERT(get_one(LIT(body), &r, &err) == 1);
	TEST_ASSERT(r.code == SMFIR_REPLBODY && r.data == body + 5);
	TEST_ASSERT(r.len == 7 && memcmp(r.data, "a\r\n\0b\r\n", 7) == 0);
	TEST_ASSERT(get_one(LIT("\0\0\0\x01" "b"), &r, &err) == 1);
	TEST_ASSERT(r.code == SMFIR_REPLBODY && r.len == 0);

	TEST_ASSERT(get_one(LIT("\0\0\0\x13" "l" "\0\0\0\x03"
	    "{rcpt_addr} i\0"), &r, &err) == 1);
	TEST_ASSERT(r.code == SMFIR_SETSYMLIST && r.symlist_stage == 3);
	TEST_ASSERT_STREQ(r.str1, "{rcpt_addr} i");
	TEST_ASSERT(get_one(LIT("\0\0\0\x05" "l" "\0\0\0\x03"), &r, &err)
	    == -1);
	TEST_ASSERT(get_one(LIT("\0\0\0\x04" "l" "\0\0\0"), &r, &err) == -1);
	TEST_ASSERT_STREQ(err, "short fixed field");
}

static void
test_reply_optneg(void)
{
	static const char neg[] = "\0\0\0\x0d" "O" "\0\0\0\x06" "\0\0\0\x31"
	    "\0\x10\0\x40";
	static const char lists[] = "\0\0\0\x23" "O" "\0\0\0\x06" "\0\0\0\x01"
	    "\0\0\0\0" "\0\0\0\x02" "{mail_addr}\0" "\0\0\0\x05" "i\0";
	struct milter_reply r;
	const char *err, *p, *list;
	size_t len;
	uint32_t stage;

	TEST_ASSERT(get_one(LIT(neg), &r, &err) == 1);
	TEST_ASSERT(r.code == SMFIR_OPTNEG && r.version == 6);
	TEST_ASSERT(r.actions == (SMFIF_ADDHDRS | SMFIF_CHGHDRS |
	    SMFIF_QUARANTINE));
	TEST_ASSERT(r.protocol == (SMFIP_HDR_LEADSPC | SMFIP_NOEOH));
	TEST_ASSERT(r.len == 0);

	TEST_ASSERT(get_one(LIT(lists), &r, &err) == 1);
	TEST_ASSERT(r.actions == SMFIF_ADDHDRS && r.protocol == 0);
	p = r.data;
	len = r.len;
	TEST_ASSERT(milter_optneg_symlist(&p, &len, &stage, &list) == 1);
	TEST_ASSERT(stage == SMFIM_ENVFROM);
	TEST_ASSERT_STREQ(list, "{mail_addr}");
	TEST_ASSERT(milter_optneg_symlist(&p, &len, &stage, &list) == 1);
	TEST_ASSERT(stage == SMFIM_EOM);
	TEST_ASSERT_STREQ(list, "i");
	TEST_ASSERT(milter_optneg_symlist(&p, &len, &stage, &list) == 0);
	p = "\0\0\0\x01" "ab";
	len = 6;
	TEST_ASSERT(milter_optneg_symlist(&p, &len, &stage, &list) == -1);

	TEST_ASSERT(get_one(LIT("\0\0\0\x0c" "O" "\0\0\0\x06" "\0\0\0\x01"
	    "\0\0\0"), &r, &err) == -1);
	TEST_ASSERT_STREQ(err, "short fixed field");
	TEST_ASSERT(get_one(LIT("\0\0\0\x10" "O" "\0\0\0\x06" "\0\0\0\x01"
	    "\0\0\0\0" "\0\0\0"), &r, &err) == -1);
	TEST_ASSERT_STREQ(err, "bad macro list");
	TEST_ASSERT(get_one(LIT("\0\0\0\x12" "O" "\0\0\0\x06" "\0\0\0\x01"
	    "\0\0\0\0" "\0\0\0\x01" "i"), &r, &err) == -1);
	TEST_ASSERT_STREQ(err, "bad macro list");
}

static void
test_reply_framing(void)
{
	static const char two[] = "\0\0\0\x01" "c" "\0\0\0\x06" "q" "spam\0"
	    "\0\0";
	struct milter_reply r;
	const char *err;
	size_t used = 99, off = 0;
	char big[8] = { 0x00, 0x10, 0x00, 0x01, 'b' };	/* MAX + 1 */

	TEST_ASSERT(milter_get_reply("", 0, &used, &r, &err) == 0);
	TEST_ASSERT(used == 99 && err == NULL);
	TEST_ASSERT(milter_get_reply(LIT("\0\0\0\0"), &used, &r, &err) == -1);
	TEST_ASSERT_STREQ(err, "packet length 0");
	TEST_ASSERT(milter_get_reply(big, 4, &used, &r, &err) == -1);
	TEST_ASSERT_STREQ(err, "packet too long");
	big[3] = 0;					/* MAX itself: wait */
	TEST_ASSERT(milter_get_reply(big, 5, &used, &r, &err) == 0);
	TEST_ASSERT(used == 99);
	/* not a milter: an HTTP or SMTP greeting fails at its length */
	TEST_ASSERT(milter_get_reply(LIT("HTTP/1.1 400"), &used, &r, &err)
	    == -1);
	TEST_ASSERT(milter_get_reply(LIT("220 "), &used, &r, &err) == -1);
	/* an unknown code fails before the rest of its packet is there */
	TEST_ASSERT(milter_get_reply(LIT("\0\0\0\x09" "Z"), &used, &r, &err)
	    == -1);
	TEST_ASSERT_STREQ(err, "unknown reply code");
	TEST_ASSERT(milter_get_reply(LIT("\0\0\0\x01" "\0"), &used, &r, &err)
	    == -1);
	/* replies back to back; the rest waits for more */
	TEST_ASSERT(milter_get_reply(two, sizeof(two) - 1, &used, &r, &err)
	    == 1);
	TEST_ASSERT(r.code == SMFIR_CONTINUE && used == 5);
	off += used;
	TEST_ASSERT(milter_get_reply(two + off, sizeof(two) - 1 - off, &used,
	    &r, &err) == 1);
	TEST_ASSERT(r.code == SMFIR_QUARANTINE && used == 10);
	off += used;
	TEST_ASSERT(milter_get_reply(two + off, sizeof(two) - 1 - off, &used,
	    &r, &err) == 0);
	TEST_ASSERT(used == 10 && r.code == 0);
}

/* --- SMFIR_REPLYCODE texts ---------------------------------------------- */

struct rc_case {
	const char	*text;
	int		 code;		/* 0: invalid */
	const char	*status;
	const char	*msg;
};

static const struct rc_case rc_cases[] = {
	{ "554 5.7.1 Spam message rejected", 554, "5.7.1",
	  "Spam message rejected" },
	{ "451 4.7.1 Try again later", 451, "4.7.1", "Try again later" },
	{ "550 Go away", 550, "", "Go away" },
	{ "550", 550, "", "" },
	{ "550 ", 550, "", "" },
	{ "550 5.7.1", 550, "5.7.1", "" },
	{ "550 5.7.1 ", 550, "5.7.1", "" },
	{ "550 5.1.10 x", 550, "5.1.10", "x" },
	{ "550 5.123.123 x", 550, "5.123.123", "x" },
	{ "550-5.7.1 a\r\n550 5.7.1 b", 550, "5.7.1", "a\r\nb" },
	{ "550-a\r\n550-b\r\n550 c", 550, "", "a\r\nb\r\nc" },
	{ "550-5.7.1 a\r\n550 b", 550, "5.7.1", "a\r\nb" },
	{ "550-a\r\n550 5.7.1 b", 550, "", "a\r\n5.7.1 b" },
	{ "550-5.7.1 a\r\n550-\r\n550 5.7.1", 550, "5.7.1", "a\r\n\r\n" },
	{ "550 5.7 x", 550, "", "5.7 x" },
	{ "550 5.1.1000 x", 550, "", "5.1.1000 x" },
	{ "550 5.7.1x", 550, "", "5.7.1x" },
	{ "550 .5.7.1 x", 550, "", ".5.7.1 x" },
	{ "550 a\tb", 550, "", "a\tb" },
	{ "550 100%% sure", 550, "", "100% sure" },
	{ "550 50% off%", 550, "", "50 off" },
	/* the code and the status are what the line means once unescaped */
	{ "550 5.7%.1 x", 550, "5.7.1", "x" },
	{ "5%50 x", 550, "", "x" },
	{ "550 4.7%.1 x", 0, NULL, NULL },
	{ "550 %%5.7.1 x", 550, "", "%5.7.1 x" },
	{ "550 caf\xc3\xa9", 550, "", "caf\xc3\xa9" },
	{ "599 x", 599, "", "x" },
	{ "400 x", 400, "", "x" },
	/* invalid */
	{ "", 0, NULL, NULL },
	{ "\r\n", 0, NULL, NULL },
	{ "250 2.0.0 ok", 0, NULL, NULL },
	{ "354 go on", 0, NULL, NULL },
	{ "650 x", 0, NULL, NULL },
	{ "55 x", 0, NULL, NULL },
	{ "5a0 x", 0, NULL, NULL },
	{ "550x", 0, NULL, NULL },
	{ " 550 x", 0, NULL, NULL },
	{ "550 4.7.1 x", 0, NULL, NULL },
	{ "450 5.7.1 x", 0, NULL, NULL },
	{ "550 2.0.0 x", 0, NULL, NULL },
	{ "550-5.7.1 a\r\n550 5.7.2 b", 0, NULL, NULL },
	{ "550-a\r\n551 b", 0, NULL, NULL },
	{ "550-a\r\n450 b", 0, NULL, NULL },
	{ "550 a\r\n550 b", 0, NULL, NULL },
	{ "550-a", 0, NULL, NULL },
	{ "550-a\r\n", 0, NULL, NULL },
	{ "550-a\r\n550", 550, "", "a\r\n" },
	{ "550-a\r\n\r\n550 b", 0, NULL, NULL },
	{ "550 x\r\n", 0, NULL, NULL },
	{ "550 x\r\n\r\n", 0, NULL, NULL },
	{ "550 a\rb", 0, NULL, NULL },
	{ "550 a\nb", 0, NULL, NULL },
	{ "550 a\n550 b", 0, NULL, NULL },
	{ "550 a\x01", 0, NULL, NULL },
	{ "550 a\x7f", 0, NULL, NULL },
	{ "550 a\r", 0, NULL, NULL },
};

static void
test_replycode_cases(void)
{
	struct buf st, msg;
	int code;

	buf_init(&st, 0);
	buf_init(&msg, 0);
	for (size_t i = 0; i < sizeof(rc_cases) / sizeof(rc_cases[0]); i++) {
		const struct rc_case *c = &rc_cases[i];
		int rc;

		buf_puts(&st, "junk");
		buf_puts(&msg, "junk");
		rc = milter_replycode_parse(c->text, &code, &st, &msg);
		if (rc != (c->code ? 0 : -1) || code != c->code ||
		    strcmp(buf_cstr(&st), c->status ? c->status : "") != 0 ||
		    strcmp(buf_cstr(&msg), c->msg ? c->msg : "") != 0) {
			fprintf(stderr, "  case %zu \"%s\": rc %d code %d "
			    "status \"%s\" msg \"%s\"\n", i, c->text, rc, code,
			    buf_cstr(&st), buf_cstr(&msg));
			TEST_ASSERT(0);
		}
	}
	/* status and msg are optional */
	TEST_ASSERT(milter_replycode_parse("421 4.3.2 bye", &code, NULL, NULL)
	    == 0 && code == 421);
	TEST_ASSERT(milter_replycode_parse("221 bye", &code, NULL, NULL)
	    == -1);
	buf_free(&st);
	buf_free(&msg);
}

/* Parsed and formatted again: the canonical reply tem sends. */
static void
test_replycode_format(void)
{
	static const char *const cases[][2] = {
		{ "554 5.7.1 Spam", "554 5.7.1 Spam" },
		{ "550 Go away", "550 Go away" },
		{ "550", "550 " },
		{ "550 5.7.1", "550 5.7.1 " },
		{ "550-5.7.1 a\r\n550 b", "550-5.7.1 a\r\n550 5.7.1 b" },
		{ "451-a\r\n451-\r\n451 100%% c", "451-a\r\n451-\r\n451 100% c" },
	};
	struct buf st, msg, out;
	int code;

	buf_init(&st, 0);
	buf_init(&msg, 0);
	buf_init(&out, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TEST_ASSERT(milter_replycode_parse(cases[i][0], &code, &st,
		    &msg) == 0);
		buf_reset(&out);
		milter_replycode_format(code, buf_cstr(&st), buf_cstr(&msg),
		    &out);
		TEST_ASSERT_STREQ(buf_cstr(&out), cases[i][1]);
		/* the canonical form parses to the same parts */
		TEST_ASSERT(milter_replycode_parse(buf_cstr(&out), &code, NULL,
		    NULL) == 0);
	}
	buf_reset(&out);
	milter_replycode_format(451, NULL, "x", &out);
	TEST_ASSERT_STREQ(buf_cstr(&out), "451 x");
	buf_free(&st);
	buf_free(&msg);
	buf_free(&out);
}

static void
test_replycode_limits(void)
{
	struct buf text, msg;
	int code;

	buf_init(&text, 0);
	buf_init(&msg, 0);
	buf_puts(&text, "550 ");
	for (int i = 0; i < MILTER_REPLY_LINE_MAX; i++)
		buf_putc(&text, 'x');
	TEST_ASSERT(milter_replycode_parse(buf_cstr(&text), &code, NULL, &msg)
	    == 0);
	TEST_ASSERT(msg.len == MILTER_REPLY_LINE_MAX);
	buf_putc(&text, 'x');
	TEST_ASSERT(milter_replycode_parse(buf_cstr(&text), &code, NULL, &msg)
	    == -1);
	TEST_ASSERT(msg.len == 0);

	buf_reset(&text);
	for (int i = 1; i < MILTER_REPLY_LINES_MAX; i++)
		buf_puts(&text, "451-4.7.1 l\r\n");
	buf_puts(&text, "451 4.7.1 end");
	TEST_ASSERT(milter_replycode_parse(buf_cstr(&text), &code, NULL, &msg)
	    == 0);
	TEST_ASSERT(code == 451);
	buf_reset(&text);
	for (int i = 0; i < MILTER_REPLY_LINES_MAX; i++)
		buf_puts(&text, "451-4.7.1 l\r\n");
	buf_puts(&text, "451 4.7.1 end");
	TEST_ASSERT(milter_replycode_parse(buf_cstr(&text), &code, NULL, &msg)
	    == -1);
	buf_free(&text);
	buf_free(&msg);
}

int
main(void)
{
	TEST_RUN(test_put_optneg);
	TEST_RUN(test_put_macros);
	TEST_RUN(test_put_connect);
	TEST_RUN(test_put_envelope);
	TEST_RUN(test_put_content);
	TEST_RUN(test_reply_simple);
	TEST_RUN(test_reply_strings);
	TEST_RUN(test_reply_body_symlist);
	TEST_RUN(test_reply_optneg);
	TEST_RUN(test_reply_framing);
	TEST_RUN(test_replycode_cases);
	TEST_RUN(test_replycode_format);
	TEST_RUN(test_replycode_limits);
	return test_done("test-milter-proto");
}
