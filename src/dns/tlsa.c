/*
 * tlsa - TLSA RDATA parsing and DANE matching (see tlsa.h).
 *
 * Trust: RDATA from DNS and certificates from the peer are untrusted. The
 * parser reads nothing past len. Matching serialises the peer's parsed
 * certificate with OpenSSL (i2d_*), hashes and compares in constant time
 * per length; DANE-TA then asks OpenSSL to build and verify the chain
 * from the matched anchor. Callers: the outbound DANE code, test-tlsa.c,
 * fuzz/fuzz-tlsa.c.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509_vfy.h>

#include "dns/tlsa.h"
#include "util/xmalloc.h"

int
tlsa_parse(const uint8_t *rdata, size_t len, struct tlsa *t)
{
	memset(t, 0, sizeof(*t));
	/* RFC 6698 2.1: three octets, then at least one octet of data. */
	if (len < 4 || len - 3 > TLSA_DATA_MAX)
		return -1;
	t->usage = rdata[0];
	t->selector = rdata[1];
	t->mtype = rdata[2];
	t->len = len - 3;
	/* A digest of the wrong length can never match: refuse it now so a
	 * typo in the zone shows as malformed, not as a silent failure. */
	if ((t->mtype == TLSA_MATCH_SHA256 && t->len != 32) ||
	    (t->mtype == TLSA_MATCH_SHA512 && t->len != 64)) {
		memset(t, 0, sizeof(*t));
		return -1;
	}
	t->data = xmalloc(t->len);
	memcpy(t->data, rdata + 3, t->len);
	return 0;
}

void
tlsa_clear(struct tlsa *t)
{
	free(t->data);
	memset(t, 0, sizeof(*t));
}

bool
tlsa_usable(const struct tlsa *t)
{
	return (t->usage == TLSA_USAGE_DANE_TA ||
	    t->usage == TLSA_USAGE_DANE_EE) &&
	    t->selector <= TLSA_SEL_SPKI && t->mtype <= TLSA_MATCH_SHA512;
}

/* The DER t's selector names (xmalloc'd into *der_r), or -1. */
static int
tlsa_der(const struct tlsa *t, X509 *cert, unsigned char **der_r,
    size_t *len_r)
{
	unsigned char *der = NULL, *p;
	int n;

	if (t->selector == TLSA_SEL_CERT)
		n = i2d_X509(cert, NULL);
	else if (t->selector == TLSA_SEL_SPKI)
		n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), NULL);
	else
		return -1;
	if (n <= 0)
		return -1;
	der = xmalloc((size_t)n);
	p = der;
	if ((t->selector == TLSA_SEL_CERT ? i2d_X509(cert, &p) :
	    i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &p)) != n) {
		free(der);
		return -1;
	}
	*der_r = der;
	*len_r = (size_t)n;
	return 0;
}

bool
tlsa_match(const struct tlsa *t, X509 *cert)
{
	unsigned char *der, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t len;
	bool ok = false;

	if (t->mtype > TLSA_MATCH_SHA512 || tlsa_der(t, cert, &der, &len) < 0) {
		ERR_clear_error();
		return false;
	}
	if (t->mtype == TLSA_MATCH_FULL)
		ok = len == t->len && CRYPTO_memcmp(der, t->data, len) == 0;
	else if (EVP_Digest(der, len, md, &mdlen,
	    t->mtype == TLSA_MATCH_SHA256 ? EVP_sha256() : EVP_sha512(),
	    NULL) == 1)
		ok = mdlen == t->len &&
		    CRYPTO_memcmp(md, t->data, mdlen) == 0;
	free(der);
	ERR_clear_error();
	return ok;
}

/*
 * Whether anchor (a certificate of the peer's chain) is the root of a
 * valid chain to leaf, using the rest of the chain as intermediates.
 * X509_V_FLAG_PARTIAL_CHAIN makes a non-self-signed anchor acceptable,
 * which is what DANE-TA means (RFC 7671 5.2.2).
 */
static bool
tlsa_ta_validates(X509 *anchor, X509 *leaf, STACK_OF(X509) *chain)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	bool ok = false;

	if (store != NULL && ctx != NULL && X509_STORE_add_cert(store,
	    anchor) == 1 && X509_STORE_CTX_init(ctx, store, leaf,
	    chain) == 1) {
		X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_PARTIAL_CHAIN);
		ok = X509_verify_cert(ctx) == 1;
	}
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	ERR_clear_error();
	return ok;
}

enum tlsa_verdict
tlsa_check_chain(const struct tlsa *recs, size_t n, STACK_OF(X509) *chain)
{
	int depth = chain != NULL ? sk_X509_num(chain) : 0;
	X509 *leaf = depth > 0 ? sk_X509_value(chain, 0) : NULL;
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		if (!tlsa_usable(&recs[i]))
			continue;
		any = true;
		if (leaf == NULL)
			continue;
		if (recs[i].usage == TLSA_USAGE_DANE_EE) {
			if (tlsa_match(&recs[i], leaf))
				return TLSA_MATCH_EE;
			continue;
		}
		for (int d = 0; d < depth; d++) {
			X509 *c = sk_X509_value(chain, d);

			if (tlsa_match(&recs[i], c) &&
			    tlsa_ta_validates(c, leaf, chain))
				return TLSA_MATCH_TA;
		}
	}
	return any ? TLSA_FAIL : TLSA_NONE_USABLE;
}

const char *
tlsa_verdict_name(enum tlsa_verdict v)
{
	switch (v) {
	case TLSA_NONE_USABLE:	return "none-usable";
	case TLSA_MATCH_EE:	return "dane-ee";
	case TLSA_MATCH_TA:	return "dane-ta";
	case TLSA_FAIL:		return "fail";
	}
	return "?";
}
