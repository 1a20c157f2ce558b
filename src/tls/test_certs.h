/*
 * test_certs - certificates made in memory for unit tests (test-tlsa.c,
 * test-mta-tls-policy.c): a P-256 key and an X.509 v3 certificate, self-
 * signed or signed by a test CA, with chosen validity. Test code only;
 * header-only so each test binary takes what it uses.
 */
#ifndef TEM_TLS_TEST_CERTS_H
#define TEM_TLS_TEST_CERTS_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

struct test_cert {
	EVP_PKEY	*key;
	X509		*cert;
};

static inline void
test_cert_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (e == NULL || X509_add_ext(x, e, -1) != 1)
		abort();
	X509_EXTENSION_free(e);
}

/* A certificate for name (CN, and for a leaf a DNS subjectAltName too),
 * signed by issuer (NULL: itself), valid from nb to na days from now. */
static inline struct test_cert
test_cert_make(const char *name, const struct test_cert *issuer, bool is_ca,
    long nb, long na)
{
	static long serial = 1;
	struct test_cert p = { EVP_EC_gen("P-256"), X509_new() };
	X509_NAME *subj;
	X509 *signer;
	char san[256];

	if (p.key == NULL || p.cert == NULL)
		abort();
	subj = X509_get_subject_name(p.cert);
	X509_set_version(p.cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(p.cert), serial++);
	X509_gmtime_adj(X509_getm_notBefore(p.cert), nb * 86400);
	X509_gmtime_adj(X509_getm_notAfter(p.cert), na * 86400);
	X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC,
	    (const unsigned char *)name, -1, -1, 0);
	X509_set_issuer_name(p.cert, issuer != NULL ?
	    X509_get_subject_name(issuer->cert) : subj);
	X509_set_pubkey(p.cert, p.key);
	signer = issuer != NULL ? issuer->cert : p.cert;
	test_cert_ext(p.cert, signer, NID_basic_constraints,
	    is_ca ? "critical,CA:TRUE" : "CA:FALSE");
	if (!is_ca) {
		snprintf(san, sizeof(san), "DNS:%s", name);
		test_cert_ext(p.cert, signer, NID_subject_alt_name, san);
	}
	if (X509_sign(p.cert, issuer != NULL ? issuer->key : p.key,
	    EVP_sha256()) <= 0)
		abort();
	return p;
}

static inline void
test_cert_free(struct test_cert *p)
{
	X509_free(p->cert);
	EVP_PKEY_free(p->key);
}

/* A peer chain as SSL_get_peer_cert_chain gives it: a, then b if any
 * (the stack does not own them). */
static inline STACK_OF(X509) *
test_chain_of(X509 *a, X509 *b)
{
	STACK_OF(X509) *sk = sk_X509_new_null();

	sk_X509_push(sk, a);
	if (b != NULL)
		sk_X509_push(sk, b);
	return sk;
}

#endif
