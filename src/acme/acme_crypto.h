/*
 * acme_crypto - the key material of ACME (RFC 8555, RFC 7515/7518/7638):
 * EC P-256 keys kept in PEM files, ES256 JWS requests, the account key's
 * JWK thumbprint, CSRs and base64url.
 *
 * Trust: handles private keys (files 0600, written atomically). Inputs
 * are ours (names from the config, nonces and URLs from the CA only
 * copied into signed JSON through jansson's quoting).
 */
#ifndef TEM_ACME_CRYPTO_H
#define TEM_ACME_CRYPTO_H

#include <stddef.h>

#include <openssl/evp.h>

/* base64url without padding (RFC 7515 section 2); malloc'd. */
char *acme_b64url(const void *p, size_t n);

/* Loads dir/name (PEM), else makes an EC P-256 key there (0600). NULL
 * and *error_r on failure. */
EVP_PKEY *acme_key_load(const char *dir, const char *name, char **error_r);

/* The public JWK in RFC 7638's canonical member order; malloc'd. */
char *acme_jwk(EVP_PKEY *key);
/* base64url(SHA-256(jwk)) (RFC 7638); malloc'd. */
char *acme_thumbprint(EVP_PKEY *key);

/* A flattened JWS (RFC 8555 section 6.2): protected header with alg
 * ES256, nonce, url and either kid (when not NULL) or jwk; payload the
 * JSON text, or "" for POST-as-GET. malloc'd JSON, NULL on error. */
char *acme_jws(EVP_PKEY *key, const char *kid, const char *nonce,
    const char *url, const char *payload);

/* A DER CSR for names (the first also the CN), signed by key, as
 * base64url; malloc'd or NULL. */
char *acme_csr(EVP_PKEY *key, char *const *names, int n);

#endif
