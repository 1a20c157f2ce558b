/*
 * fuzz-sieve-lib - the Sieve interpreter's library (src/sieve/sieve_lib.h)
 * on arbitrary bytes: the input is a header section (then body) for the
 * header, address and body functions, and, split at its first NUL, a
 * value and a :matches key. Beyond "no crash, no UB, no leak" it checks:
 *  - an address that has a :localpart has a :domain too, and :all is the
 *    address itself; :user + sep + :detail is the local part (but ""
 *    is "" for every part, as sieve-test sees an empty To:);
 *  - :matches ends within the budget (it may overshoot by one segment's
 *    length), a "*" key matches every value, and on a match ${0} is the
 *    value and every capture a piece of it;
 *  - the body texts never total more than the limit;
 *  - expansion never writes more than its limit.
 *
 * Trust: test code.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sieve/sieve_lib.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static void
check_address(const char *a)
{
	struct buf l, d, u, x, all;
	bool hl, hd, hu, hx;
	size_t len = strlen(a);

	buf_init(&l, 0);
	buf_init(&d, 0);
	buf_init(&u, 0);
	buf_init(&x, 0);
	buf_init(&all, 0);
	hl = sieve_addr_part(a, len, SIEVE_AP_LOCALPART, "+", &l);
	hd = sieve_addr_part(a, len, SIEVE_AP_DOMAIN, "+", &d);
	hu = sieve_addr_part(a, len, SIEVE_AP_USER, "+", &u);
	hx = sieve_addr_part(a, len, SIEVE_AP_DETAIL, "+", &x);
	CHECK(sieve_addr_part(a, len, SIEVE_AP_ALL, "+", &all));
	CHECK(all.len == len && memcmp(buf_cstr(&all), a, len) == 0);
	CHECK(hl == hd && hl == hu);
	if (hx && len > 0) {	/* "" is "" for every part */
		CHECK(hu && u.len + 1 + x.len == l.len);
		CHECK(memcmp(buf_cstr(&l), buf_cstr(&u), u.len) == 0);
	}
	buf_free(&l);
	buf_free(&d);
	buf_free(&u);
	buf_free(&x);
	buf_free(&all);
}

static void
check_headers(const char *h, size_t len)
{
	static const char *const names[] = { "to", "from", "subject", "cc" };
	char **v;
	size_t n;

	for (size_t i = 0; i < 4; i++) {
		n = sieve_header_values(h, len, names[i], &v);
		sieve_strings_free(&v, n);
		n = sieve_header_addresses(h, len, names[i], &v);
		for (size_t j = 0; j < n; j++)
			check_address(v[j]);
		sieve_strings_free(&v, n);
	}
}

static void
check_match(const char *v, size_t vlen, const char *k, size_t klen)
{
	struct sieve_match_budget b = { 0, 20000 };
	struct sieve_captures c = { .n = 0 };
	int r;

	for (int cmp = 0; cmp < 2; cmp++) {
		b.used = 0;
		r = sieve_match(SIEVE_MATCH_MATCHES, SIEVE_REL_EQ,
		    (enum sieve_cmp)cmp, v, vlen, k, klen, &b, &c);
		CHECK(r >= -1 && r <= 1);
		CHECK(b.used <= b.max + klen + 1);
		if (r == 1) {
			CHECK(c.n >= 1 && c.n <= 10 && c.len[0] == vlen);
			CHECK(memcmp(c.v[0], v, vlen) == 0);
			for (unsigned i = 1; i < c.n; i++)
				CHECK(c.len[i] <= vlen &&
				    memmem(v, vlen, c.v[i], c.len[i]) != NULL);
		}
		sieve_captures_clear(&c);
	}
	CHECK(sieve_match(SIEVE_MATCH_MATCHES, SIEVE_REL_EQ, SIEVE_CMP_OCTET,
	    v, vlen, "*", 1, NULL, NULL) == 1);
	(void)sieve_match(SIEVE_MATCH_CONTAINS, SIEVE_REL_EQ,
	    SIEVE_CMP_ASCII_CASEMAP, v, vlen, k, klen, NULL, NULL);
	(void)sieve_match(SIEVE_MATCH_VALUE, SIEVE_REL_GE,
	    SIEVE_CMP_ASCII_NUMERIC, v, vlen, k, klen, NULL, NULL);
}

static const char *
lookup(void *arg, const char *name, size_t nlen, size_t *len)
{
	(void)arg;
	*len = nlen;
	return name;		/* every variable's value is its name */
}

struct total {
	size_t	 n;
};

static void
count(void *arg, const char *text, size_t len)
{
	struct total *t = arg;

	(void)text;
	t->n += len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	const char *nul = memchr(d, '\0', size);
	char *types[] = { "text", "multipart", "" };
	struct total t = { 0 };
	struct buf out;
	char *s;
	size_t n;

	if (size > 65536)
		return 0;
	check_headers(d, size);
	if (nul != NULL)
		check_match(d, (size_t)(nul - d), nul + 1,
		    size - (size_t)(nul - d) - 1);
	/* expansion of the text before the first NUL as a string */
	/* a copy, not strndup: with strict_string_checks (tests/run.sh)
	 * ASan makes strndup read the source up to a NUL it may not have */
	n = nul != NULL ? (size_t)(nul - d) : size;
	s = malloc(n + 1);
	if (s == NULL)
		return 0;
	memcpy(s, d, n);
	s[n] = '\0';
	buf_init(&out, 0);
	sieve_expand(s, lookup, NULL, NULL, 100, &out);
	CHECK(out.len <= 100);
	buf_reset(&out);
	sieve_modify(0x7f, s, strlen(s), &out);
	buf_free(&out);
	free(s);
	for (int x = 0; x < 3; x++) {
		t.n = 0;
		sieve_body_texts(d, size, d, size, (enum sieve_body_xform)x,
		    types + x, 1, 1000, count, &t);
		CHECK(t.n <= 1000);
	}
	return 0;
}
