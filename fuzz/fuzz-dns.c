/*
 * fuzz-dns - libFuzzer target for the DNS parsers of dns/dns_rr.c.
 *
 * The whole input goes through the wire-name, MX, TXT and A/AAAA RDATA
 * parsers (and the name parser again from an offset taken from the first
 * byte); a NUL-terminated copy goes through the text helpers (name check,
 * address literal, dns_server); the input read as (preference, key) pairs
 * goes through the MX sort. Addresses get their reverse (PTR) names.
 *
 * Beyond "no crash, no leak, no UB" it checks contracts: a parsed name is
 * printable lowercase, escapes only as \DDD, and decodes back to the wire
 * bytes it came from (up to case); an MX exchange ends the RDATA; TXT
 * text is never longer than its RDATA; a name dns_name_valid() accepts
 * holds only letters, digits, '-', '_' and dots; the MX sort leaves
 * (pref, key) in order.
 *
 * Trust: test code.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_rr.h"
#include "util/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static int
digit(char c)
{
	CHECK(c >= '0' && c <= '9');
	return c - '0';
}

/* Decodes dns_name_from_wire()'s text back to wire form in out. */
static size_t
text_to_wire(const char *t, uint8_t *out, size_t cap)
{
	size_t n = 0, lenpos = 0;

	if (strcmp(t, ".") == 0) {
		out[0] = 0;
		return 1;
	}
	out[n++] = 0;
	for (; *t; t++) {
		CHECK(n < cap);
		if (*t == '.') {
			CHECK(n - lenpos - 1 > 0);
			out[lenpos] = (uint8_t)(n - lenpos - 1);
			lenpos = n;
			out[n++] = 0;
		} else if (*t == '\\') {
			int v = digit(t[1]) * 100;

			v += digit(t[2]) * 10;
			v += digit(t[3]);

			CHECK(v <= 255);
			out[n++] = (uint8_t)v;
			t += 3;
		} else {
			CHECK((*t >= 'a' && *t <= 'z') ||
			    (*t >= '0' && *t <= '9') || *t == '-' || *t == '_');
			out[n++] = (uint8_t)*t;
		}
	}
	CHECK(n - lenpos - 1 > 0 && n < cap);
	out[lenpos] = (uint8_t)(n - lenpos - 1);
	out[n++] = 0;
	return n;
}

static void
fuzz_name(const uint8_t *data, size_t size, size_t start)
{
	uint8_t back[DNS_NAME_WIRE_MAX + 8];
	size_t off = start, n;
	char *t = dns_name_from_wire(data, size, &off);

	if (t == NULL) {
		CHECK(off == start);
		return;
	}
	CHECK(off > start && off <= size && off - start <= DNS_NAME_WIRE_MAX);
	CHECK(strlen(t) <= 4 * DNS_NAME_WIRE_MAX);
	n = text_to_wire(t, back, sizeof(back));
	CHECK(n == off - start);
	for (size_t i = 0; i < n; i++) {
		uint8_t c = data[start + i];

		CHECK(back[i] == (c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
	}
	free(t);
}

static void
fuzz_rdata(const uint8_t *data, size_t size)
{
	struct dns_addr a;
	unsigned pref;
	char *host, *t;
	size_t len;

	if (dns_rr_mx_parse(data, size, &pref, &host) == 0) {
		size_t off = 2;
		char *again = dns_name_from_wire(data, size, &off);

		CHECK(pref <= 65535 && again != NULL && off == size);
		CHECK(strcmp(host, again) == 0);
		free(again);
		free(host);
	}
	t = dns_rr_txt_parse(data, size, &len);
	if (t != NULL) {
		CHECK(size > 0 && len < size && t[len] == '\0');
		free(t);
	}
	for (int type = DNS_TYPE_A; type <= DNS_TYPE_AAAA; type += 27) {
		if (dns_rr_addr_parse(type, data, size, &a) == 0) {
			CHECK(size == (type == DNS_TYPE_A ? 4 : 16));
			t = dns_ptr_name(&a);
			CHECK(t != NULL && dns_name_valid(t));
			free(t);
		}
	}
}

static void
fuzz_text(const uint8_t *data, size_t size)
{
	char *s = xmalloc(size + 1), *u, buf[64];
	const char *err = NULL;
	struct dns_addr a;

	memcpy(s, data, size);
	s[size] = '\0';
	if (dns_name_valid(s)) {
		size_t n = strlen(s);

		CHECK(n >= 1 && n <= DNS_NAME_TEXT_MAX + 1);
		for (size_t i = 0; i < n; i++)
			CHECK(s[i] == '.' || s[i] == '-' || s[i] == '_' ||
			    (s[i] >= 'a' && s[i] <= 'z') ||
			    (s[i] >= 'A' && s[i] <= 'Z') ||
			    (s[i] >= '0' && s[i] <= '9'));
		CHECK(dns_name_equal(s, s));
	}
	if (dns_addr_literal(s, &a))
		CHECK(strcmp(dns_addr_str(&a, buf, sizeof(buf)), "?") != 0);
	u = dns_server_to_unbound(s, &err);
	if (u != NULL)
		CHECK(strchr(u, '@') != NULL);
	else
		CHECK(err != NULL);
	free(u);
	free(s);
}

static void
fuzz_sort(const uint8_t *data, size_t size)
{
	struct dns_mx_host h[32];
	uint32_t keys[32];
	int n = 0;

	for (size_t p = 0; p + 6 <= size && n < 32; p += 6, n++) {
		memset(&h[n], 0, sizeof(h[n]));
		h[n].pref = (unsigned)data[p] << 8 | data[p + 1];
		memcpy(&keys[n], data + p + 2, 4);
	}
	dns_mx_sort(h, keys, n);
	for (int i = 1; i < n; i++)
		CHECK(h[i - 1].pref < h[i].pref ||
		    (h[i - 1].pref == h[i].pref && keys[i - 1] <= keys[i]));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_name(data, size, 0);
	if (size > 0)
		fuzz_name(data, size, data[0] % size);
	fuzz_rdata(data, size);
	fuzz_text(data, size);
	fuzz_sort(data, size);
	return 0;
}
