/*
 * acme_crypto - keys, JWS, thumbprint and CSR for the ACME client (see
 * acme_crypto.h).
 *
 * Trust: private keys live in memory here and in 0600 files; nothing
 * from the network is parsed (the CA's nonce and URLs are only quoted
 * into JSON by jansson).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "acme/acme_crypto.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/xmalloc.h"

char *
acme_b64url(const void *p, size_t n)
{
	struct buf b;
	size_t i, o = 0;
	char *s;

	buf_init(&b, 0);
	base64_encode(p, n, &b);
	s = buf_steal(&b, NULL);
	for (i = 0; s[i]; i++) {
		if (s[i] == '=' || s[i] == '\n')
			continue;
		s[o++] = s[i] == '+' ? '-' : s[i] == '/' ? '_' : s[i];
	}
	s[o] = '\0';
	return s;
}

static char *
ssl_error(const char *what)
{
	char msg[256];

	ERR_error_string_n(ERR_get_error(), msg, sizeof(msg));
	ERR_clear_error();
	return xasprintf("%s: %s", what, msg);
}

EVP_PKEY *
acme_key_load(const char *dir, const char *name, char **error_r)
{
	char *path = xasprintf("%s/%s", dir, name);
	EVP_PKEY *key = NULL;
	BIO *mem;
	FILE *f;
	char *pem;
	long len;

	f = fopen(path, "r");
	if (f != NULL) {
		key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
		if (key == NULL)
			*error_r = ssl_error(path);
		free(path);
		return key;
	}
	if (errno != ENOENT) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		free(path);
		return NULL;
	}
	key = EVP_EC_gen("P-256");
	mem = BIO_new(BIO_s_mem());
	if (key == NULL || mem == NULL ||
	    !PEM_write_bio_PrivateKey(mem, key, NULL, NULL, 0, NULL, NULL)) {
		*error_r = ssl_error("cannot make a key");
		goto fail;
	}
	len = BIO_get_mem_data(mem, &pem);
	if (fsutil_atomic_write(dir, name, pem, (size_t)len) < 0) {
		*error_r = xasprintf("cannot write %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	BIO_free(mem);
	free(path);
	return key;
fail:
	BIO_free(mem);
	EVP_PKEY_free(key);
	free(path);
	return NULL;
}

/* The 32-octet big-endian coordinate `param` of a P-256 key. */
static char *
coord(EVP_PKEY *key, const char *param)
{
	unsigned char b[32];
	BIGNUM *bn = NULL;
	char *s;

	if (!EVP_PKEY_get_bn_param(key, param, &bn) ||
	    BN_bn2binpad(bn, b, sizeof(b)) != sizeof(b)) {
		BN_free(bn);
		return NULL;
	}
	BN_free(bn);
	s = acme_b64url(b, sizeof(b));
	return s;
}

char *
acme_jwk(EVP_PKEY *key)
{
	char *x = coord(key, OSSL_PKEY_PARAM_EC_PUB_X);
	char *y = coord(key, OSSL_PKEY_PARAM_EC_PUB_Y);
	char *s = NULL;

	if (x && y)
		s = xasprintf("{\"crv\":\"P-256\",\"kty\":\"EC\","
		    "\"x\":\"%s\",\"y\":\"%s\"}", x, y);
	free(x);
	free(y);
	return s;
}

char *
acme_thumbprint(EVP_PKEY *key)
{
	unsigned char md[32];
	char *jwk = acme_jwk(key);

	if (jwk == NULL)
		return NULL;
	SHA256((const unsigned char *)jwk, strlen(jwk), md);
	free(jwk);
	return acme_b64url(md, sizeof(md));
}

/* ES256: the DER ECDSA signature as r || s, 32 octets each (RFC 7518
 * section 3.4). */
static char *
es256(EVP_PKEY *key, const char *in)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char der[80], raw[64];
	const unsigned char *p = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *sig = NULL;
	size_t len = sizeof(der);
	char *out = NULL;

	if (md == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, der, &len, (const unsigned char *)in,
	    strlen(in)) != 1 ||
	    (sig = d2i_ECDSA_SIG(NULL, &p, (long)len)) == NULL)
		goto out;
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(s, raw + 32, 32)
	    == 32)
		out = acme_b64url(raw, sizeof(raw));
out:
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return out;
}

char *
acme_jws(EVP_PKEY *key, const char *kid, const char *nonce, const char *url,
    const char *payload)
{
	json_t *prot = json_object(), *jwk = NULL, *out;
	char *ptext, *p64, *b64, *in, *sig, *res = NULL;

	json_object_set_new(prot, "alg", json_string("ES256"));
	if (kid)
		json_object_set_new(prot, "kid", json_string(kid));
	else {
		char *j = acme_jwk(key);
		jwk = j ? json_loads(j, 0, NULL) : NULL;
		free(j);
		if (jwk == NULL) {
			json_decref(prot);
			return NULL;
		}
		json_object_set_new(prot, "jwk", jwk);
	}
	json_object_set_new(prot, "nonce", json_string(nonce));
	json_object_set_new(prot, "url", json_string(url));
	ptext = json_dumps(prot, JSON_COMPACT);
	json_decref(prot);
	p64 = acme_b64url(ptext, strlen(ptext));
	b64 = acme_b64url(payload, strlen(payload));
	in = xasprintf("%s.%s", p64, b64);
	sig = es256(key, in);
	if (sig) {
		out = json_object();
		json_object_set_new(out, "protected", json_string(p64));
		json_object_set_new(out, "payload", json_string(b64));
		json_object_set_new(out, "signature", json_string(sig));
		res = json_dumps(out, JSON_COMPACT);
		json_decref(out);
	}
	free(ptext);
	free(p64);
	free(b64);
	free(in);
	free(sig);
	return res;
}

char *
acme_csr(EVP_PKEY *key, char *const *names, int n)
{
	X509_REQ *req = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *ext;
	struct buf san;
	unsigned char *der = NULL;
	char *out = NULL;
	int len;

	buf_init(&san, 0);
	for (int i = 0; i < n; i++)
		buf_printf(&san, "%sDNS:%s", i ? "," : "", names[i]);
	X509_REQ_set_version(req, 0);
	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN",
	    MBSTRING_ASC, (const unsigned char *)names[0], -1, -1, 0);
	X509_REQ_set_pubkey(req, key);
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
	    buf_cstr(&san));
	if (ext == NULL)
		goto out;
	sk_X509_EXTENSION_push(exts, ext);
	X509_REQ_add_extensions(req, exts);
	if (X509_REQ_sign(req, key, EVP_sha256()) <= 0 ||
	    (len = i2d_X509_REQ(req, &der)) <= 0)
		goto out;
	out = acme_b64url(der, (size_t)len);
out:
	OPENSSL_free(der);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	buf_free(&san);
	ERR_clear_error();
	return out;
}
