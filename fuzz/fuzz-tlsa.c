/*
 * fuzz-tlsa - the TLSA RDATA parser (RFC 6698 2.1) on arbitrary bytes,
 * then the DANE check of a parsed record against a fixed self-signed
 * certificate. Checks: a parsed record keeps the input's fields and data,
 * digest types have their exact length, a refused one holds nothing, a
 * usable record is DANE-TA/EE with known selector and matching type, and
 * OpenSSL's error queue is left empty.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dns/tlsa.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static X509 *
fuzz_cert(void)
{
	static X509 *cert;
	EVP_PKEY *key;

	if (cert != NULL)
		return cert;
	key = EVP_EC_gen("P-256");
	cert = X509_new();
	TEM_ASSERT(key != NULL && cert != NULL);
	X509_set_version(cert, 2);
	X509_gmtime_adj(X509_getm_notBefore(cert), 0);
	X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
	X509_set_pubkey(cert, key);
	TEM_ASSERT(X509_sign(cert, key, EVP_sha256()) > 0);
	EVP_PKEY_free(key);
	return cert;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tlsa t;
	STACK_OF(X509) *sk;

	if (tlsa_parse(data, size, &t) < 0) {
		TEM_ASSERT(t.data == NULL && t.len == 0);
		return 0;
	}
	TEM_ASSERT(size >= 4 && t.len == size - 3);
	TEM_ASSERT(memcmp(t.data, data + 3, t.len) == 0);
	TEM_ASSERT(t.mtype != TLSA_MATCH_SHA256 || t.len == 32);
	TEM_ASSERT(t.mtype != TLSA_MATCH_SHA512 || t.len == 64);
	if (tlsa_usable(&t))
		TEM_ASSERT(t.usage >= 2 && t.usage <= 3 && t.selector <= 1 &&
		    t.mtype <= 2);
	sk = sk_X509_new_null();
	sk_X509_push(sk, fuzz_cert());
	enum tlsa_verdict v = tlsa_check_chain(&t, 1, sk);
	TEM_ASSERT(tlsa_usable(&t) ? v != TLSA_NONE_USABLE :
	    v == TLSA_NONE_USABLE);
	sk_X509_free(sk);
	TEM_ASSERT(ERR_peek_error() == 0);
	tlsa_clear(&t);
	return 0;
}
