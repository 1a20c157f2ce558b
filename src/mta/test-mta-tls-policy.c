/*
 * test-mta-tls-policy - the outbound TLS policy check against real
 * certificates made here with OpenSSL (a test CA written to a temporary
 * tls_ca_file, leaves it signs for mx.example.org, an expired one, a
 * self-signed one): DANE-EE match and mismatch (names and dates ignored),
 * DANE-TA with the name check of RFC 7672 3.2.2, MTA-STS PKIX success,
 * wrong name, untrusted, expired and unlisted MX, each to its RFC 8460
 * result; the TLSA presentation form and the held MTA-STS answer.
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "mta/mta_sts.h"
#include "mta/mta_tls_policy.h"
#include "tls/test_certs.h"
#include "util/test.h"
#include "util/xmalloc.h"

/* ---- certificates -------------------------------------------------- */

static struct test_cert ca, leaf, expired, selfsigned, other_ca, other_leaf;
static char ca_path[64];

/* The TLSA RDATA usage/selector 1 (SPKI)/SHA-256 of p. */
static size_t
rdata_spki(uint8_t usage, const struct test_cert *p, uint8_t *rd)
{
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	int n = i2d_PUBKEY(p->key, &der);

	if (n <= 0)
		abort();
	rd[0] = usage, rd[1] = 1, rd[2] = 1;
	EVP_Digest(der, (size_t)n, rd + 3, &mdlen, EVP_sha256(), NULL);
	OPENSSL_free(der);
	return 3 + mdlen;
}

/* The check of chain (a, b) under p. */
static enum tlsrpt_result
check(const struct mta_tls_policy *p, X509 *a, X509 *b)
{
	STACK_OF(X509) *sk = test_chain_of(a, b);
	char why[256];
	enum tlsrpt_result r = mta_tls_policy_check(p, sk, why, sizeof(why));

	if (r != TLSRPT_SUCCESS && why[0] == '\0')
		abort();		/* a failure always says why */
	sk_X509_free(sk);
	return r;
}

static struct mta_tls_policy *
dane(const char *mx, uint8_t usage, const struct test_cert *of)
{
	struct mta_tls_policy *p = mta_tls_policy_new(MTA_TLS_DANE,
	    "example.org", mx, NULL);
	uint8_t rd[3 + 64];

	if (!mta_tls_policy_add_tlsa(p, rd, rdata_spki(usage, of, rd)))
		abort();
	return p;
}

/* ---- tests --------------------------------------------------------- */

static void
test_dane_ee(void)
{
	struct mta_tls_policy *p = dane("mx.example.org", 3, &leaf);

	TEST_ASSERT(check(p, leaf.cert, ca.cert) == TLSRPT_SUCCESS);
	TEST_ASSERT(check(p, other_leaf.cert, NULL) == TLSRPT_TLSA_INVALID);
	mta_tls_policy_free(&p);
	/* names and dates ignored (RFC 7672 3.1.1) */
	p = dane("elsewhere.example", 3, &expired);
	TEST_ASSERT(check(p, expired.cert, NULL) == TLSRPT_SUCCESS);
	mta_tls_policy_free(&p);
	TEST_ASSERT(p == NULL);
}

static void
test_dane_ta(void)
{
	struct mta_tls_policy *p = dane("mx.example.org", 2, &ca);

	TEST_ASSERT(check(p, leaf.cert, ca.cert) == TLSRPT_SUCCESS);
	/* the leaf does not name the MX host (3.2.2) */
	free(p->mx_name);
	p->mx_name = xstrdup("mx2.example.org");
	TEST_ASSERT(check(p, leaf.cert, ca.cert) == TLSRPT_CERT_HOST_MISMATCH);
	/* a chain from another CA */
	TEST_ASSERT(check(p, other_leaf.cert, other_ca.cert) ==
	    TLSRPT_TLSA_INVALID);
	mta_tls_policy_free(&p);
}

static struct mta_tls_policy *
sts(const char *mx, bool listed)
{
	struct mta_tls_policy *p = mta_tls_policy_new(MTA_TLS_STS_ENFORCE,
	    "example.org", mx, ca_path);

	p->mx_listed = listed;
	return p;
}

static void
test_sts_pkix(void)
{
	struct mta_tls_policy *p = sts("mx.example.org", true);

	TEST_ASSERT(check(p, leaf.cert, NULL) == TLSRPT_SUCCESS);
	TEST_ASSERT(check(p, leaf.cert, ca.cert) == TLSRPT_SUCCESS);
	TEST_ASSERT(check(p, selfsigned.cert, NULL) ==
	    TLSRPT_CERT_NOT_TRUSTED);
	TEST_ASSERT(check(p, other_leaf.cert, other_ca.cert) ==
	    TLSRPT_CERT_NOT_TRUSTED);
	TEST_ASSERT(check(p, expired.cert, ca.cert) == TLSRPT_CERT_EXPIRED);
	mta_tls_policy_free(&p);
	p = sts("mx2.example.org", true);
	TEST_ASSERT(check(p, leaf.cert, ca.cert) == TLSRPT_CERT_HOST_MISMATCH);
	mta_tls_policy_free(&p);
	p = sts("mx.example.org", false);
	TEST_ASSERT(check(p, leaf.cert, ca.cert) == TLSRPT_VALIDATION_FAILURE);
	mta_tls_policy_free(&p);
	/* testing mode checks the same way; the session only reports */
	p = sts("mx.example.org", true);
	p->mode = MTA_TLS_STS_TESTING;
	TEST_ASSERT(check(p, selfsigned.cert, NULL) ==
	    TLSRPT_CERT_NOT_TRUSTED);
	TEST_ASSERT(!mta_tls_policy_requires_tls(p));
	TEST_ASSERT_STREQ(mta_tls_policy_name(p), "sts");
	mta_tls_policy_free(&p);
}

static void
test_modes(void)
{
	struct mta_tls_policy *p = mta_tls_policy_new(MTA_TLS_OPPORTUNISTIC,
	    "example.org", "mx.example.org", NULL);
	STACK_OF(X509) *empty = sk_X509_new_null();
	char why[128];

	TEST_ASSERT(check(p, selfsigned.cert, NULL) == TLSRPT_SUCCESS);
	TEST_ASSERT(!mta_tls_policy_requires_tls(p));
	TEST_ASSERT(!mta_tls_policy_requires_tls(NULL));
	TEST_ASSERT_STREQ(mta_tls_policy_name(p), "none");
	p->mode = MTA_TLS_DANE;
	TEST_ASSERT(mta_tls_policy_requires_tls(p));
	TEST_ASSERT_STREQ(mta_tls_policy_name(p), "dane");
	TEST_ASSERT(mta_tls_policy_check(p, empty, why, sizeof(why)) ==
	    TLSRPT_VALIDATION_FAILURE);
	TEST_ASSERT(mta_tls_policy_check(p, NULL, why, sizeof(why)) ==
	    TLSRPT_VALIDATION_FAILURE);
	sk_X509_free(empty);
	mta_tls_policy_free(&p);
}

static void
test_tlsa_records(void)
{
	struct mta_tls_policy *p = mta_tls_policy_new(MTA_TLS_DANE,
	    "example.org", "mx.example.org", NULL);
	const uint8_t ee[] = { 3, 1, 1, 0xab, 0x01, 0x02, 0x03, 0x04, 0x05,
	    0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
	    0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
	    0x1c, 0x1d, 0x1e, 0xff };
	const uint8_t pkix[] = { 1, 0, 0, 0x30 };	/* unusable (3.1.3) */
	const uint8_t bad[] = { 3, 1, 1, 0x00 };	/* wrong length */

	TEST_ASSERT(mta_tls_policy_add_tlsa(p, ee, sizeof(ee)));
	TEST_ASSERT(!mta_tls_policy_add_tlsa(p, pkix, sizeof(pkix)));
	TEST_ASSERT(!mta_tls_policy_add_tlsa(p, bad, sizeof(bad)));
	TEST_ASSERT(p->ntlsa == 1);
	TEST_ASSERT_STREQ(p->tlsa_text[0], "3 1 1 ab0102030405060708090a0b"
	    "0c0d0e0f101112131415161718191a1b1c1d1eff");
	mta_tls_policy_free(&p);
}

static void
test_sts_held(void)
{
	struct mta_sts_policy pol = { .mode = MTA_STS_ENFORCE,
	    .max_age = 86400, .n_mx = 2,
	    .mx = { (char *)"mx.example.org", (char *)"*.example.net" } };
	const char *lines[] = { "version: STSv1", "mode: enforce" };
	struct mta_sts_answer a = { .policy = &pol, .lines = lines,
	    .nlines = 2 };
	struct mta_sts_held *h = mta_sts_held_copy(&a);

	TEST_ASSERT(h->policy.mode == MTA_STS_ENFORCE);
	TEST_ASSERT(h->policy.n_mx == 2 && h->nlines == 2);
	TEST_ASSERT(h->policy.mx[1] != pol.mx[1]);
	TEST_ASSERT(mta_sts_policy_mx_ok(&h->policy, "a.example.net"));
	TEST_ASSERT_STREQ(h->lines[1], "mode: enforce");
	mta_sts_held_free(&h);
	TEST_ASSERT(h == NULL);
	mta_sts_held_free(&h);
}

int
main(void)
{
	FILE *f;
	int fd;

	ca = test_cert_make("Test CA", NULL, true, -1, 30);
	leaf = test_cert_make("mx.example.org", &ca, false, -1, 30);
	expired = test_cert_make("mx.example.org", &ca, false, -30, -1);
	selfsigned = test_cert_make("mx.example.org", NULL, false, -1, 30);
	other_ca = test_cert_make("Other CA", NULL, true, -1, 30);
	other_leaf = test_cert_make("mx.example.org", &other_ca, false, -1, 30);
	snprintf(ca_path, sizeof(ca_path), "/tmp/test-mta-tls-XXXXXX");
	if ((fd = mkstemp(ca_path)) < 0 || (f = fdopen(fd, "w")) == NULL ||
	    PEM_write_X509(f, ca.cert) != 1 || fclose(f) != 0)
		abort();
	TEST_RUN(test_dane_ee);
	TEST_RUN(test_dane_ta);
	TEST_RUN(test_sts_pkix);
	TEST_RUN(test_modes);
	TEST_RUN(test_tlsa_records);
	TEST_RUN(test_sts_held);
	unlink(ca_path);
	test_cert_free(&ca), test_cert_free(&leaf), test_cert_free(&expired);
	test_cert_free(&selfsigned), test_cert_free(&other_ca), test_cert_free(&other_leaf);
	return test_done("test-mta-tls-policy");
}
