/*
 * acme_chal - the in-memory answers to ACME validations (see acme_chal.h).
 *
 * Trust: the HTTP path and the ClientHello come from anyone. A token is
 * compared byte for byte with the table's; the ClientHello's ALPN and
 * SNI extensions are parsed with every length checked against its
 * enclosing one. Nothing here blocks: a mutex held for a table walk.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "acme/acme_chal.h"
#include "http/http.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define CHAL_PREFIX	"/.well-known/acme-challenge/"
#define ALPN_ACME	"acme-tls/1"

struct http_chal {
	char	*token, *keyauth;
};

struct alpn_chal {
	char		*name;
	X509		*cert;
	EVP_PKEY	*key;
};

static pthread_mutex_t chal_lock = PTHREAD_MUTEX_INITIALIZER;
static struct http_chal http_tab[ACME_CHAL_MAX];
static int nhttp;
static struct alpn_chal alpn_tab[ACME_CHAL_MAX];
static int nalpn;

static void
http_chal(const struct http_request *req, struct http_response *resp,
    void *arg)
{
	const char *token = req->path + strlen(CHAL_PREFIX);

	(void)arg;
	pthread_mutex_lock(&chal_lock);
	for (int i = 0; i < nhttp; i++)
		if (strcmp(http_tab[i].token, token) == 0) {
			resp->content_type = "application/octet-stream";
			buf_puts(&resp->body, http_tab[i].keyauth);
			pthread_mutex_unlock(&chal_lock);
			return;		/* the listener logs the request */
		}
	pthread_mutex_unlock(&chal_lock);
	resp->status = 404;
	buf_puts(&resp->body, "no such challenge\n");
}

void
acme_chal_init(void)
{
	http_route(CHAL_PREFIX, HTTP_GET, http_chal, NULL);
}

void
acme_chal_http_add(const char *token, const char *keyauth)
{
	pthread_mutex_lock(&chal_lock);
	if (nhttp < ACME_CHAL_MAX) {
		http_tab[nhttp].token = xstrdup(token);
		http_tab[nhttp].keyauth = xstrdup(keyauth);
		nhttp++;
	}
	pthread_mutex_unlock(&chal_lock);
}

/* The RFC 8737 section 3 certificate: self-signed, the name as its only
 * dNSName, and the critical id-pe-acmeIdentifier extension holding the
 * SHA-256 of the key authorization as an OCTET STRING. */
static int
alpn_cert(const char *name, const char *keyauth, X509 **xr, EVP_PKEY **kr)
{
	unsigned char der[2 + SHA256_DIGEST_LENGTH];
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	ASN1_OBJECT *obj = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext = NULL;
	char *san = xasprintf("DNS:%s", name);
	int ret = -1;

	if (key == NULL || x == NULL || obj == NULL || os == NULL)
		goto out;
	der[0] = 0x04;
	der[1] = SHA256_DIGEST_LENGTH;
	SHA256((const unsigned char *)keyauth, strlen(keyauth), der + 2);
	ASN1_OCTET_STRING_set(os, der, sizeof(der));
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 7 * 86400);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)name, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
	if (ext == NULL || !X509_add_ext(x, ext, -1))
		goto out;
	X509_EXTENSION_free(ext);
	ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 1, os);
	if (ext == NULL || !X509_add_ext(x, ext, -1) ||
	    !X509_sign(x, key, EVP_sha256()))
		goto out;
	*xr = x;
	*kr = key;
	x = NULL;
	key = NULL;
	ret = 0;
out:
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
	X509_free(x);
	EVP_PKEY_free(key);
	free(san);
	return ret;
}

int
acme_chal_alpn_add(const char *name, const char *keyauth)
{
	X509 *x;
	EVP_PKEY *k;

	if (alpn_cert(name, keyauth, &x, &k) < 0)
		return -1;
	pthread_mutex_lock(&chal_lock);
	if (nalpn == ACME_CHAL_MAX) {
		pthread_mutex_unlock(&chal_lock);
		X509_free(x);
		EVP_PKEY_free(k);
		return -1;
	}
	alpn_tab[nalpn].name = xstrdup(name);
	alpn_tab[nalpn].cert = x;
	alpn_tab[nalpn].key = k;
	nalpn++;
	pthread_mutex_unlock(&chal_lock);
	return 0;
}

void
acme_chal_clear(void)
{
	pthread_mutex_lock(&chal_lock);
	for (int i = 0; i < nhttp; i++) {
		free(http_tab[i].token);
		free(http_tab[i].keyauth);
	}
	nhttp = 0;
	for (int i = 0; i < nalpn; i++) {
		free(alpn_tab[i].name);
		X509_free(alpn_tab[i].cert);
		EVP_PKEY_free(alpn_tab[i].key);
	}
	nalpn = 0;
	pthread_mutex_unlock(&chal_lock);
}

/* True when the ALPN extension's protocol list (RFC 7301 section 3.1)
 * names acme-tls/1. */
static int
offers_acme(const unsigned char *p, size_t len)
{
	size_t n, i;

	if (len < 2 || (n = (size_t)p[0] << 8 | p[1]) != len - 2)
		return 0;
	for (i = 2; i < len; i += 1 + p[i])
		if (i + 1 + p[i] <= len && p[i] == strlen(ALPN_ACME) &&
		    memcmp(p + i + 1, ALPN_ACME, p[i]) == 0)
			return 1;
	return 0;
}

/* The host_name of the server_name extension (RFC 6066 section 3) into
 * out, lower-cased; 0, or -1 when absent or malformed. */
static int
sni_name(const unsigned char *p, size_t len, char *out, size_t outlen)
{
	size_t n;

	if (len < 5 || ((size_t)p[0] << 8 | p[1]) != len - 2 || p[2] != 0)
		return -1;
	n = (size_t)p[3] << 8 | p[4];
	if (n == 0 || n + 5 > len || n >= outlen)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = (char)p[5 + i];
		out[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
	}
	out[n] = '\0';
	return 0;
}

/* Before the certificate is chosen: a validation connection gets the
 * challenge certificate for its SNI name, anything else is untouched. */
static int
client_hello(SSL *s, int *al, void *arg)
{
	const unsigned char *p;
	size_t len;
	char name[256];

	(void)al;
	(void)arg;
	if (!SSL_client_hello_get0_ext(s,
	    TLSEXT_TYPE_application_layer_protocol_negotiation, &p, &len) ||
	    !offers_acme(p, len) ||
	    !SSL_client_hello_get0_ext(s, TLSEXT_TYPE_server_name, &p, &len) ||
	    sni_name(p, len, name, sizeof(name)) < 0)
		return SSL_CLIENT_HELLO_SUCCESS;
	pthread_mutex_lock(&chal_lock);
	for (int i = 0; i < nalpn; i++)
		if (strcmp(alpn_tab[i].name, name) == 0) {
			SSL_use_certificate(s, alpn_tab[i].cert);
			SSL_use_PrivateKey(s, alpn_tab[i].key);
			log_info("- acme tls-alpn-01-answered name=%s", name);
			break;
		}
	pthread_mutex_unlock(&chal_lock);
	return SSL_CLIENT_HELLO_SUCCESS;
}

static int
alpn_select(SSL *s, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned inlen, void *arg)
{
	static const unsigned char acme[] = "\x0a" ALPN_ACME;
	unsigned char *o;

	(void)s;
	(void)arg;
	if (SSL_select_next_proto(&o, outlen, acme, sizeof(acme) - 1, in,
	    inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = o;
	return SSL_TLSEXT_ERR_OK;
}

void
acme_chal_tls_setup(void *ssl_ctx)
{
	SSL_CTX_set_client_hello_cb(ssl_ctx, client_hello, NULL);
	SSL_CTX_set_alpn_select_cb(ssl_ctx, alpn_select, NULL);
}
