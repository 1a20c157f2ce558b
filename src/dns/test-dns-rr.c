/*
 * test-dns-rr - table-driven tests of the I/O-free DNS parsers and helpers
 * in dns_rr.c: wire names, MX, TXT, A/AAAA RDATA, name checks, address
 * literals, the dns_server setting, MX ordering and reverse names. Every valid wire input
 * is also replayed truncated at each length, which must fail cleanly.
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_rr.h"
#include "util/test.h"
#include "util/xmalloc.h"

#define W(s)	(const uint8_t *)(s), sizeof(s) - 1

struct name_case {
	const uint8_t	*wire;
	size_t		 len;
	const char	*text;		/* NULL: must fail */
};

static const struct name_case name_cases[] = {
	{ W("\0"), "." },
	{ W("\4mail\7example\3com\0"), "mail.example.com" },
	{ W("\1a\0"), "a" },
	{ W("\4MaIl\2Zz\0"), "mail.zz" },		/* lowercased */
	{ W("\3a-b\4_tcp\0"), "a-b._tcp" },
	{ W("\3a.b\0"), "a\\046b" },			/* dot inside a label */
	{ W("\2a\\\0"), "a\\092" },			/* backslash */
	{ W("\3a b\1\n\0"), "a\\032b.\\010" },		/* space, newline */
	{ W("\1\377\0"), "\\255" },
	{ W("\2\0\0\0"), "\\000\\000" },		/* NUL bytes in a label */
	{ W(""), NULL },				/* nothing */
	{ W("\4mail"), NULL },				/* no root label */
	{ W("\4mai"), NULL },				/* label overruns */
	{ W("\300\014"), NULL },			/* compression pointer */
	{ W("\1a\300\000"), NULL },			/* pointer after a label */
	{ W("\100abc\0"), NULL },			/* reserved label type 01 */
	{ W("\200abc\0"), NULL },			/* reserved label type 10 */
};

static void
test_name_from_wire(void)
{
	for (size_t i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
		const struct name_case *c = &name_cases[i];
		size_t off = 0;
		char *t = dns_name_from_wire(c->wire, c->len, &off);

		if (c->text == NULL) {
			TEST_ASSERT(t == NULL && off == 0);
			continue;
		}
		TEST_ASSERT_STREQ(t, c->text);
		TEST_ASSERT(off == c->len);
		free(t);
		/* Every truncation fails and leaves off alone. */
		for (size_t n = 0; n < c->len; n++) {
			off = 0;
			TEST_ASSERT(dns_name_from_wire(c->wire, n, &off) == NULL);
			TEST_ASSERT(off == 0);
		}
	}
}

/* A name of `labels` labels of `len` 'a's each. */
static size_t
make_name(uint8_t *out, int labels, int len)
{
	size_t p = 0;

	for (int i = 0; i < labels; i++) {
		out[p++] = (uint8_t)len;
		memset(out + p, 'a', (size_t)len);
		p += (size_t)len;
	}
	out[p++] = 0;
	return p;
}

static void
test_name_limits(void)
{
	uint8_t w[600];
	size_t n, off;
	char *t;

	/* 3 x 63 + 1 x 61 + 5 length/root octets = 255: the maximum. */
	n = make_name(w, 3, 63);
	w[n - 1] = 61;
	memset(w + n, 'b', 61);
	n += 61;
	w[n++] = 0;
	TEST_ASSERT(n == 255);
	off = 0;
	t = dns_name_from_wire(w, n, &off);
	TEST_ASSERT(t != NULL && strlen(t) == 253 && off == 255);
	free(t);
	/* One more octet is too long. */
	n = make_name(w, 3, 63);
	w[n - 1] = 62;
	memset(w + n, 'b', 62);
	n += 62;
	w[n++] = 0;
	off = 0;
	TEST_ASSERT(dns_name_from_wire(w, n, &off) == NULL);
	/* Many tiny labels: 127 x "\1a" + root = 255 octets, fine; 128 not. */
	n = make_name(w, 127, 1);
	off = 0;
	t = dns_name_from_wire(w, n, &off);
	TEST_ASSERT(t != NULL && strlen(t) == 253);
	free(t);
	n = make_name(w, 128, 1);
	off = 0;
	TEST_ASSERT(dns_name_from_wire(w, n, &off) == NULL);
	/* Reading from an offset, as MX does. */
	memcpy(w, "\0\12\1x\0", 5);
	off = 2;
	t = dns_name_from_wire(w, 5, &off);
	TEST_ASSERT_STREQ(t, "x");
	TEST_ASSERT(off == 5);
	free(t);
}

struct mx_case {
	const uint8_t	*rdata;
	size_t		 len;
	int		 ret;
	unsigned	 pref;
	const char	*host;
};

static const struct mx_case mx_cases[] = {
	{ W("\0\12\3mx1\1b\4test\0"), 0, 10, "mx1.b.test" },
	{ W("\377\377\1a\0"), 0, 65535, "a" },
	{ W("\0\0\0"), 0, 0, "." },			/* RFC 7505 null MX */
	{ W("\0\12\1a\0x"), -1, 0, NULL },		/* trailing byte */
	{ W("\0\12"), -1, 0, NULL },			/* no name */
	{ W("\0"), -1, 0, NULL },
	{ W(""), -1, 0, NULL },
	{ W("\0\12\300\014"), -1, 0, NULL },		/* pointer */
};

static void
test_mx_parse(void)
{
	for (size_t i = 0; i < sizeof(mx_cases) / sizeof(mx_cases[0]); i++) {
		const struct mx_case *c = &mx_cases[i];
		unsigned pref = 12345;
		char *host = NULL;

		TEST_ASSERT(dns_rr_mx_parse(c->rdata, c->len, &pref, &host) ==
		    c->ret);
		if (c->ret < 0) {
			TEST_ASSERT(host == NULL && pref == 12345);
			continue;
		}
		TEST_ASSERT(pref == c->pref);
		TEST_ASSERT_STREQ(host, c->host);
		free(host);
		for (size_t n = 0; n < c->len; n++) {
			TEST_ASSERT(dns_rr_mx_parse(c->rdata, n, &pref,
			    &host) == -1);
		}
	}
}

struct txt_case {
	const uint8_t	*rdata;
	size_t		 len;
	const char	*text;		/* NULL: must fail */
	size_t		 textlen;
};

static const struct txt_case txt_cases[] = {
	{ W("\6v=spf1"), "v=spf1", 6 },
	{ W("\7v=spf1 \4-all"), "v=spf1 -all", 11 },
	{ W("\0"), "", 0 },				/* one empty string */
	{ W("\0\0\2ab\0"), "ab", 2 },
	{ W("\3a\0b"), "a\0b", 3 },			/* NUL kept, length says */
	{ W(""), NULL, 0 },
	{ W("\3ab"), NULL, 0 },				/* overrun */
	{ W("\1a\5abc"), NULL, 0 },
};

static void
test_txt_parse(void)
{
	uint8_t big[1 + 255 + 1 + 255];
	size_t len;
	char *t;

	for (size_t i = 0; i < sizeof(txt_cases) / sizeof(txt_cases[0]); i++) {
		const struct txt_case *c = &txt_cases[i];

		len = 999;
		t = dns_rr_txt_parse(c->rdata, c->len, &len);
		if (c->text == NULL) {
			TEST_ASSERT(t == NULL && len == 999);
			continue;
		}
		TEST_ASSERT(t != NULL && len == c->textlen);
		TEST_ASSERT(memcmp(t, c->text, len) == 0 && t[len] == '\0');
		free(t);
	}
	/* Two full 255-octet strings, as a DKIM key record has. */
	big[0] = 255;
	memset(big + 1, 'k', 255);
	big[256] = 255;
	memset(big + 257, 'm', 255);
	t = dns_rr_txt_parse(big, sizeof(big), &len);
	TEST_ASSERT(t != NULL && len == 510 && t[254] == 'k' && t[255] == 'm');
	free(t);
	TEST_ASSERT(dns_rr_txt_parse(big, sizeof(big) - 1, &len) == NULL);
}

static void
test_addr_parse(void)
{
	struct dns_addr a;
	char buf[INET6_ADDRSTRLEN];

	TEST_ASSERT(dns_rr_addr_parse(DNS_TYPE_A, W("\177\0\0\1"), &a) == 0);
	TEST_ASSERT(a.ss.ss_family == AF_INET && a.len == sizeof(struct sockaddr_in));
	TEST_ASSERT(((struct sockaddr_in *)&a.ss)->sin_port == 0);
	TEST_ASSERT_STREQ(dns_addr_str(&a, buf, sizeof(buf)), "127.0.0.1");
	TEST_ASSERT(dns_rr_addr_parse(DNS_TYPE_AAAA,
	    W("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\1"), &a) == 0);
	TEST_ASSERT(a.ss.ss_family == AF_INET6 &&
	    a.len == sizeof(struct sockaddr_in6));
	TEST_ASSERT_STREQ(dns_addr_str(&a, buf, sizeof(buf)), "2001:db8::1");
	TEST_ASSERT(dns_rr_addr_parse(DNS_TYPE_A, W("\1\2\3"), &a) == -1);
	TEST_ASSERT(dns_rr_addr_parse(DNS_TYPE_A, W("\1\2\3\4\5"), &a) == -1);
	TEST_ASSERT(dns_rr_addr_parse(DNS_TYPE_AAAA, W("\1\2\3\4"), &a) == -1);
	TEST_ASSERT(dns_rr_addr_parse(DNS_TYPE_MX, W("\1\2\3\4"), &a) == -1);
	TEST_ASSERT(a.ss.ss_family == 0);
	TEST_ASSERT_STREQ(dns_addr_str(&a, buf, sizeof(buf)), "?");
}

struct valid_case {
	const char	*name;
	bool		 valid;
};

static const struct valid_case valid_cases[] = {
	{ "example.com", true },
	{ "example.com.", true },
	{ "a", true },
	{ "sel._domainkey.b.test", true },
	{ "_dmarc.b.test", true },
	{ "xn--bcher-kva.test", true },
	{ "MX1.B.Test", true },
	{ "", false },
	{ ".", false },
	{ "..", false },
	{ ".a", false },
	{ "a..b", false },
	{ "a.b..", false },
	{ "a b", false },
	{ "a\\.b", false },
	{ "a\nb", false },
	{ "b\xc3\xbc" "cher.test", false },	/* U-label: convert first */
	{ "[127.0.0.1]", false },
	{ "a@b", false },
};

static void
test_name_valid(void)
{
	char name[300];

	for (size_t i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]);
	    i++) {
		if (dns_name_valid(valid_cases[i].name) != valid_cases[i].valid)
			fprintf(stderr, "  name \"%s\"\n", valid_cases[i].name);
		TEST_ASSERT(dns_name_valid(valid_cases[i].name) ==
		    valid_cases[i].valid);
	}
	/* Label of 63 fine, 64 not. */
	memset(name, 'a', 64);
	name[63] = '\0';
	TEST_ASSERT(dns_name_valid(name));
	name[63] = 'a';
	name[64] = '\0';
	TEST_ASSERT(!dns_name_valid(name));
	/* 253 characters fine (with or without a final dot), 254 not. */
	for (int i = 0; i < 253; i++)
		name[i] = i % 50 == 49 ? '.' : 'a';
	name[253] = '\0';
	TEST_ASSERT(dns_name_valid(name));
	name[253] = '.';
	name[254] = '\0';
	TEST_ASSERT(dns_name_valid(name));
	name[253] = 'a';
	TEST_ASSERT(!dns_name_valid(name));
}

static void
test_name_equal(void)
{
	TEST_ASSERT(dns_name_equal("mx.B.test", "MX.b.TEST"));
	TEST_ASSERT(dns_name_equal("mx.b.test.", "mx.b.test"));
	TEST_ASSERT(dns_name_equal(".", "."));
	TEST_ASSERT(!dns_name_equal("mx.b.test", "mx.b.tes"));
	TEST_ASSERT(!dns_name_equal("mx.b.test..", "mx.b.test"));
	TEST_ASSERT(!dns_name_equal("a", "."));
}

static void
test_addr_literal(void)
{
	struct dns_addr a;
	char buf[INET6_ADDRSTRLEN];

	TEST_ASSERT(dns_addr_literal("192.0.2.7", &a));
	TEST_ASSERT(a.ss.ss_family == AF_INET);
	TEST_ASSERT_STREQ(dns_addr_str(&a, buf, sizeof(buf)), "192.0.2.7");
	TEST_ASSERT(dns_addr_literal("::1", &a) && a.ss.ss_family == AF_INET6);
	TEST_ASSERT(dns_addr_literal("[2001:db8::2]", &a));
	TEST_ASSERT_STREQ(dns_addr_str(&a, buf, sizeof(buf)), "2001:db8::2");
	TEST_ASSERT(!dns_addr_literal("[192.0.2.7]", &a));
	TEST_ASSERT(!dns_addr_literal("example.com", &a));
	TEST_ASSERT(!dns_addr_literal("1.2.3", &a));
	TEST_ASSERT(!dns_addr_literal("[::1", &a));
	TEST_ASSERT(!dns_addr_literal("[]", &a));
	TEST_ASSERT(!dns_addr_literal("", &a));
	TEST_ASSERT(!dns_addr_literal("[1111:2222:3333:4444:5555:6666:7777:"
	    "8888:9999:aaaa]", &a));
	TEST_ASSERT(a.ss.ss_family == 0 && a.len == 0);
}

struct server_case {
	const char	*in;
	const char	*out;	/* NULL: refused */
};

static const struct server_case server_cases[] = {
	{ "127.0.0.1", "127.0.0.1@53" },
	{ "127.0.0.1:5353", "127.0.0.1@5353" },
	{ "::1", "::1@53" },
	{ "[::1]", "::1@53" },
	{ "[2001:db8::53]:1053", "2001:db8::53@1053" },
	{ "1.2.3.4:65535", "1.2.3.4@65535" },
	{ "", NULL },
	{ "dns.test", NULL },
	{ "dns.test:53", NULL },
	{ "1.2.3.4:", NULL },
	{ "1.2.3.4:0", NULL },
	{ "1.2.3.4:65536", NULL },
	{ "1.2.3.4:053x", NULL },
	{ "1.2.3.4:-1", NULL },
	{ "1.2.3.4:999999", NULL },
	{ "[::1", NULL },
	{ "[::1]:", NULL },
	{ "[::1]53", NULL },
	{ "[1.2.3.4]:53", NULL },
	{ "::1:53x", NULL },
	{ "1.2.3.4 ", NULL },
};

static void
test_server_to_unbound(void)
{
	const char *err;
	char *s;

	for (size_t i = 0; i < sizeof(server_cases) / sizeof(server_cases[0]);
	    i++) {
		err = NULL;
		s = dns_server_to_unbound(server_cases[i].in, &err);
		if (server_cases[i].out == NULL) {
			if (s != NULL)
				fprintf(stderr, "  server \"%s\" -> %s\n",
				    server_cases[i].in, s);
			TEST_ASSERT(s == NULL && err != NULL);
			continue;
		}
		TEST_ASSERT_STREQ(s, server_cases[i].out);
		free(s);
	}
	TEST_ASSERT(dns_server_to_unbound(NULL, &err) == NULL);
}

static void
test_mx_sort(void)
{
	struct dns_mx_host h[5] = {
		{ .name = "c", .pref = 20 },
		{ .name = "a", .pref = 10 },
		{ .name = "b", .pref = 10 },
		{ .name = "z", .pref = 0 },
		{ .name = "d", .pref = 65535 },
	};
	uint32_t keys[5] = { 1, 9, 3, 5, 0 };

	dns_mx_sort(h, keys, 5);
	TEST_ASSERT_STREQ(h[0].name, "z");
	TEST_ASSERT_STREQ(h[1].name, "b");	/* key 3 before key 9 */
	TEST_ASSERT_STREQ(h[2].name, "a");
	TEST_ASSERT_STREQ(h[3].name, "c");
	TEST_ASSERT_STREQ(h[4].name, "d");
	TEST_ASSERT(keys[1] == 3 && keys[2] == 9);
	keys[1] = 10;				/* swap the pair's keys */
	dns_mx_sort(h, keys, 5);
	TEST_ASSERT_STREQ(h[1].name, "a");
	TEST_ASSERT_STREQ(h[2].name, "b");
	dns_mx_sort(h, keys, 1);
	dns_mx_sort(h, keys, 0);
}

static void
test_ptr_name(void)
{
	struct dns_addr a;
	char *n;

	TEST_ASSERT(dns_addr_literal("192.0.2.25", &a));
	n = dns_ptr_name(&a);
	TEST_ASSERT_STREQ(n, "25.2.0.192.in-addr.arpa");
	TEST_ASSERT(dns_name_valid(n));
	free(n);
	TEST_ASSERT(dns_addr_literal("2001:db8::567:89ab", &a));
	n = dns_ptr_name(&a);
	TEST_ASSERT_STREQ(n, "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
	TEST_ASSERT(dns_name_valid(n));
	free(n);
	memset(&a, 0, sizeof(a));
	TEST_ASSERT(dns_ptr_name(&a) == NULL);
}

int
main(void)
{
	TEST_RUN(test_name_from_wire);
	TEST_RUN(test_name_limits);
	TEST_RUN(test_mx_parse);
	TEST_RUN(test_txt_parse);
	TEST_RUN(test_addr_parse);
	TEST_RUN(test_name_valid);
	TEST_RUN(test_name_equal);
	TEST_RUN(test_addr_literal);
	TEST_RUN(test_server_to_unbound);
	TEST_RUN(test_mx_sort);
	TEST_RUN(test_ptr_name);
	return test_done("test-dns-rr");
}
