/*
 * test-tlsa - TLSA RDATA parsing (lengths, digest sizes), RFC 7672's
 * usable records, and matching against real certificates made here with
 * OpenSSL (a CA, a leaf it signs, an unrelated self-signed leaf, an
 * expired one): DANE-EE with every selector and matching type, name and
 * dates ignored; DANE-TA through the chain; failures and "none usable".
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "dns/tlsa.h"
#include "tls/test_certs.h"
#include "util/test.h"
#include "util/xmalloc.h"

/* ---- certificates -------------------------------------------------- */

static struct test_cert ca, leaf, other, expired, ca2, leaf2;

/* A TLSA record for p, its data computed by other OpenSSL routes than
 * tlsa.c's: X509_digest for the certificate, i2d_PUBKEY of the key. */
static struct tlsa
rec(uint8_t usage, uint8_t sel, uint8_t mt, const struct test_cert *p)
{
	uint8_t rd[3 + 1024], *der = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct tlsa t;
	int n = sel == 0 ? i2d_X509(p->cert, &der) : i2d_PUBKEY(p->key, &der);
	size_t len;

	if (n <= 0 || n > 1024)
		abort();
	rd[0] = usage, rd[1] = sel, rd[2] = mt;
	if (mt == 0) {
		memcpy(rd + 3, der, (size_t)n);
		len = (size_t)n;
	} else if (sel == 0) {
		X509_digest(p->cert, mt == 1 ? EVP_sha256() : EVP_sha512(),
		    md, &mdlen);
		memcpy(rd + 3, md, mdlen);
		len = mdlen;
	} else {
		EVP_Digest(der, (size_t)n, md, &mdlen, mt == 1 ?
		    EVP_sha256() : EVP_sha512(), NULL);
		memcpy(rd + 3, md, mdlen);
		len = mdlen;
	}
	OPENSSL_free(der);
	if (tlsa_parse(rd, 3 + len, &t) < 0)
		abort();
	return t;
}

/* ---- tests --------------------------------------------------------- */

static void
test_parse(void)
{
	uint8_t rd[3 + 64] = { 3, 1, 1 };
	struct tlsa t;

	memset(rd + 3, 0xab, 64);
	TEST_ASSERT(tlsa_parse(rd, 3 + 32, &t) == 0);
	TEST_ASSERT(t.usage == 3 && t.selector == 1 && t.mtype == 1);
	TEST_ASSERT(t.len == 32 && t.data[31] == 0xab);
	tlsa_clear(&t);
	/* SHA-256 needs exactly 32 octets, SHA-512 exactly 64. */
	TEST_ASSERT(tlsa_parse(rd, 3 + 31, &t) < 0 && t.data == NULL);
	TEST_ASSERT(tlsa_parse(rd, 3 + 33, &t) < 0);
	rd[2] = 2;
	TEST_ASSERT(tlsa_parse(rd, 3 + 32, &t) < 0);
	TEST_ASSERT(tlsa_parse(rd, 3 + 64, &t) == 0 && t.len == 64);
	tlsa_clear(&t);
	/* Full data and unknown types: any non-empty length. */
	rd[2] = 0;
	TEST_ASSERT(tlsa_parse(rd, 4, &t) == 0 && t.len == 1);
	tlsa_clear(&t);
	rd[2] = 255;
	TEST_ASSERT(tlsa_parse(rd, 5, &t) == 0 && !tlsa_usable(&t));
	tlsa_clear(&t);
	/* No data, or not even the fixed fields. */
	TEST_ASSERT(tlsa_parse(rd, 3, &t) < 0);
	TEST_ASSERT(tlsa_parse(rd, 2, &t) < 0);
	TEST_ASSERT(tlsa_parse(rd, 0, &t) < 0);
}

static void
test_usable(void)
{
	static const struct { uint8_t u, s, m; bool ok; } cases[] = {
		{ 3, 0, 0, true }, { 3, 1, 1, true }, { 3, 1, 2, true },
		{ 2, 0, 1, true }, { 2, 1, 0, true },
		{ 0, 0, 1, false }, { 1, 1, 1, false },	/* PKIX: RFC 7672 */
		{ 4, 1, 1, false }, { 3, 2, 1, false }, { 3, 1, 3, false },
		{ 255, 255, 255, false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tlsa t = { cases[i].u, cases[i].s, cases[i].m, 0,
		    NULL };

		TEST_ASSERT(tlsa_usable(&t) == cases[i].ok);
	}
}

static void
test_match(void)
{
	for (uint8_t sel = 0; sel <= 1; sel++)
		for (uint8_t mt = 0; mt <= 2; mt++) {
			struct tlsa t = rec(3, sel, mt, &leaf);
			bool a = tlsa_match(&t, leaf.cert);
			bool b = tlsa_match(&t, other.cert);

			tlsa_clear(&t);
			TEST_ASSERT(a && !b);
		}
	/* A selector or matching type we do not know never matches. */
	struct tlsa t = rec(3, 1, 1, &leaf);
	t.mtype = 7;
	TEST_ASSERT(!tlsa_match(&t, leaf.cert));
	t.mtype = 1, t.selector = 2;
	TEST_ASSERT(!tlsa_match(&t, leaf.cert));
	tlsa_clear(&t);
	TEST_ASSERT(ERR_peek_error() == 0);
}

static enum tlsa_verdict
verdict(struct tlsa *recs, size_t n, X509 *a, X509 *b)
{
	STACK_OF(X509) *sk = test_chain_of(a, b);
	enum tlsa_verdict v = tlsa_check_chain(recs, n, sk);

	sk_X509_free(sk);
	for (size_t i = 0; i < n; i++)
		tlsa_clear(&recs[i]);
	return v;
}

static void
test_chain(void)
{
	struct tlsa r[3];

	/* DANE-EE: the leaf's key, whatever its name or dates. */
	r[0] = rec(3, 1, 1, &leaf);
	TEST_ASSERT(verdict(r, 1, leaf.cert, ca.cert) == TLSA_MATCH_EE);
	r[0] = rec(3, 0, 2, &expired);
	TEST_ASSERT(verdict(r, 1, expired.cert, NULL) == TLSA_MATCH_EE);
	/* DANE-EE of the CA does not vouch for the leaf. */
	r[0] = rec(3, 1, 1, &ca);
	TEST_ASSERT(verdict(r, 1, leaf.cert, ca.cert) == TLSA_FAIL);
	/* DANE-TA: the CA sent in the chain signs the leaf. */
	r[0] = rec(2, 0, 1, &ca);
	TEST_ASSERT(verdict(r, 1, leaf.cert, ca.cert) == TLSA_MATCH_TA);
	r[0] = rec(2, 1, 2, &ca);
	TEST_ASSERT(verdict(r, 1, leaf.cert, ca.cert) == TLSA_MATCH_TA);
	/* ...a CA not sent cannot be found; one that did not sign fails. */
	r[0] = rec(2, 0, 1, &ca);
	TEST_ASSERT(verdict(r, 1, leaf.cert, NULL) == TLSA_FAIL);
	r[0] = rec(2, 0, 1, &ca);
	TEST_ASSERT(verdict(r, 1, leaf2.cert, ca.cert) == TLSA_FAIL);
	r[0] = rec(2, 0, 1, &ca2);
	TEST_ASSERT(verdict(r, 1, leaf2.cert, ca2.cert) == TLSA_MATCH_TA);
	/* A TA record of the leaf itself: it is its own anchor. */
	r[0] = rec(2, 1, 1, &other);
	TEST_ASSERT(verdict(r, 1, other.cert, NULL) == TLSA_MATCH_TA);
	/* Only PKIX usages: none usable, TLS stays opportunistic. */
	r[0] = rec(0, 0, 1, &ca);
	r[1] = rec(1, 1, 1, &leaf);
	TEST_ASSERT(verdict(r, 2, leaf.cert, ca.cert) == TLSA_NONE_USABLE);
	/* A usable record among unusable ones decides. */
	r[0] = rec(1, 1, 1, &leaf);
	r[1] = rec(3, 1, 1, &other);
	r[2] = rec(3, 1, 2, &leaf);
	TEST_ASSERT(verdict(r, 3, leaf.cert, ca.cert) == TLSA_MATCH_EE);
	r[0] = rec(3, 1, 1, &other);
	TEST_ASSERT(verdict(r, 1, leaf.cert, ca.cert) == TLSA_FAIL);
	/* No certificate at all with usable records: fail. */
	r[0] = rec(3, 1, 1, &leaf);
	TEST_ASSERT(tlsa_check_chain(r, 1, NULL) == TLSA_FAIL);
	tlsa_clear(&r[0]);
	TEST_ASSERT(strcmp(tlsa_verdict_name(TLSA_MATCH_TA), "dane-ta") == 0);
	TEST_ASSERT(ERR_peek_error() == 0);
}

int
main(void)
{
	ca = test_cert_make("Test CA", NULL, true, -1, 30);
	leaf = test_cert_make("mx.example.org", &ca, false, -1, 30);
	other = test_cert_make("other.example", NULL, false, -1, 30);
	expired = test_cert_make("old.example", NULL, false, -30, -1);
	ca2 = test_cert_make("Test CA", NULL, true, -1, 30);	/* same name, other key */
	leaf2 = test_cert_make("mx2.example.org", &ca2, false, -1, 30);
	TEST_RUN(test_parse);
	TEST_RUN(test_usable);
	TEST_RUN(test_match);
	TEST_RUN(test_chain);
	test_cert_free(&ca), test_cert_free(&leaf), test_cert_free(&other);
	test_cert_free(&expired), test_cert_free(&ca2), test_cert_free(&leaf2);
	return test_done("test-tlsa");
}
