/*
 * test-acme - unit tests of the ACME client's pure parts: base64url, the
 * account key file (0600, loaded back as the same key), ES256 JWS
 * verified with OpenSSL (jwk first, kid after), the CSR's names and
 * signature, the parsing of the CA's answers with their limits, and
 * when a certificate is due.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/ecdsa.h>
#include <openssl/x509v3.h>

#include "acme/acme.h"
#include "acme/acme_crypto.h"
#include "acme/acme_parse.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/test.h"
#include "util/xmalloc.h"

/* base64url back to bytes (test side: re-pad and use the strict coder). */
static int
unb64url(const char *s, struct buf *out)
{
	char *t = xasprintf("%s==", s);
	size_t n = strlen(s);
	int r;

	for (size_t i = 0; i < n; i++)
		t[i] = t[i] == '-' ? '+' : t[i] == '_' ? '/' : t[i];
	n += (4 - n % 4) % 4;
	r = base64_decode(t, n, out);
	free(t);
	return r;
}

static void
test_b64url(void)
{
	char *s = acme_b64url("\xfb\xff", 2);

	TEST_ASSERT_STREQ(s, "-_8");
	free(s);
	s = acme_b64url("f", 1);
	TEST_ASSERT_STREQ(s, "Zg");
	free(s);
	s = acme_b64url("", 0);
	TEST_ASSERT_STREQ(s, "");
	free(s);
}

static char tmpdir[] = "/tmp/test-acme-XXXXXX";

static void
test_key_file(void)
{
	char *err = NULL, *t1, *t2, *path;
	EVP_PKEY *k1 = acme_key_load(tmpdir, "account.key", &err);
	EVP_PKEY *k2;
	struct stat st;

	TEST_ASSERT(k1 != NULL);
	path = xasprintf("%s/account.key", tmpdir);
	TEST_ASSERT(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	free(path);
	k2 = acme_key_load(tmpdir, "account.key", &err);
	TEST_ASSERT(k2 != NULL);
	t1 = acme_thumbprint(k1);
	t2 = acme_thumbprint(k2);
	TEST_ASSERT(t1 && t2 && strcmp(t1, t2) == 0 && strlen(t1) == 43);
	free(t1);
	free(t2);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
}

/* Verifies a flattened JWS with key; returns its protected header. */
static json_t *
verify(const char *jws, EVP_PKEY *key)
{
	json_t *j = json_loads(jws, 0, NULL), *prot = NULL;
	const char *p, *pl, *sig;
	struct buf raw, ph;
	ECDSA_SIG *es = ECDSA_SIG_new();
	unsigned char *der = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	char *in;
	int len;

	buf_init(&raw, 0);
	buf_init(&ph, 0);
	p = json_string_value(json_object_get(j, "protected"));
	pl = json_string_value(json_object_get(j, "payload"));
	sig = json_string_value(json_object_get(j, "signature"));
	if (!p || !pl || !sig || unb64url(sig, &raw) < 0 || raw.len != 64)
		goto out;
	ECDSA_SIG_set0(es, BN_bin2bn((unsigned char *)raw.data, 32, NULL),
	    BN_bin2bn((unsigned char *)raw.data + 32, 32, NULL));
	len = i2d_ECDSA_SIG(es, &der);
	in = xasprintf("%s.%s", p, pl);
	if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestVerify(md, der, (size_t)len, (unsigned char *)in,
	    strlen(in)) == 1 && unb64url(p, &ph) == 0)
		prot = json_loadb(ph.data, ph.len, 0, NULL);
	free(in);
out:
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
	buf_free(&raw);
	buf_free(&ph);
	json_decref(j);
	return prot;
}

static void
test_jws(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	char *jws = acme_jws(key, NULL, "n0nce", "https://ca/new-acct",
	    "{\"termsOfServiceAgreed\":true}");
	json_t *h = verify(jws, key);

	TEST_ASSERT(h != NULL);
	TEST_ASSERT_STREQ(json_string_value(json_object_get(h, "alg")),
	    "ES256");
	TEST_ASSERT_STREQ(json_string_value(json_object_get(h, "nonce")),
	    "n0nce");
	TEST_ASSERT(json_object_get(h, "jwk") != NULL &&
	    json_object_get(h, "kid") == NULL);
	json_decref(h);
	free(jws);
	jws = acme_jws(key, "https://ca/acct/1", "n2", "https://ca/o", "");
	h = verify(jws, key);
	TEST_ASSERT(h != NULL);
	TEST_ASSERT_STREQ(json_string_value(json_object_get(h, "kid")),
	    "https://ca/acct/1");
	TEST_ASSERT(json_object_get(h, "jwk") == NULL);
	json_decref(h);
	free(jws);
	EVP_PKEY_free(key);
}

static void
test_csr(void)
{
	char *names[] = { "mx.a.test", "mail.a.test" };
	EVP_PKEY *key = EVP_EC_gen("P-256");
	char *csr = acme_csr(key, names, 2);
	struct buf der;
	const unsigned char *p;
	X509_REQ *req;
	STACK_OF(X509_EXTENSION) *exts;
	GENERAL_NAMES *gens;

	buf_init(&der, 0);
	TEST_ASSERT(csr && unb64url(csr, &der) == 0);
	p = (const unsigned char *)der.data;
	req = d2i_X509_REQ(NULL, &p, (long)der.len);
	TEST_ASSERT(req != NULL && X509_REQ_verify(req, key) == 1);
	exts = X509_REQ_get_extensions(req);
	gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	TEST_ASSERT(gens && sk_GENERAL_NAME_num(gens) == 2);
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	buf_free(&der);
	free(csr);
	EVP_PKEY_free(key);
}

static void
test_parse(void)
{
	static const char authz[] = "{\"status\":\"pending\",\"identifier\":"
	    "{\"type\":\"dns\",\"value\":\"mx.a.test\"},\"challenges\":["
	    "{\"type\":\"dns-01\",\"url\":\"u1\",\"token\":\"t1\"},"
	    "{\"type\":\"http-01\",\"url\":\"u2\",\"token\":\"t-2_\"}]}";
	static const char bad[] = "{\"status\":\"pending\",\"identifier\":"
	    "{\"value\":\"x\"},\"challenges\":[{\"type\":\"http-01\","
	    "\"url\":\"u\",\"token\":\"../etc\"}]}";
	struct acme_authz a;
	struct acme_order o;
	struct acme_dir d;
	struct buf big;
	char *err = NULL, *pr;

	TEST_ASSERT(acme_parse_authz(authz, sizeof(authz) - 1, "http-01", &a,
	    &err) == 0);
	TEST_ASSERT_STREQ(a.chal_url, "u2");
	TEST_ASSERT_STREQ(a.token, "t-2_");
	acme_authz_free(&a);
	TEST_ASSERT(acme_parse_authz(authz, sizeof(authz) - 1, "tls-alpn-01",
	    &a, &err) == 0 && a.chal_url == NULL);
	acme_authz_free(&a);
	/* a token is a URL path segment: base64url only */
	TEST_ASSERT(acme_parse_authz(bad, sizeof(bad) - 1, "http-01", &a,
	    &err) < 0);
	TEST_ASSERT(strstr(err, "bad http-01 token") != NULL);
	free(err);
	acme_authz_free(&a);
	TEST_ASSERT(acme_parse_dir("[]", 2, &d, &err) < 0);
	free(err);
	acme_dir_free(&d);
	/* more authorizations than names allowed */
	buf_init(&big, 0);
	buf_puts(&big, "{\"status\":\"pending\",\"finalize\":\"f\","
	    "\"authorizations\":[");
	for (int i = 0; i <= ACME_MAX_AUTHZ; i++)
		buf_printf(&big, "%s\"a%d\"", i ? "," : "", i);
	buf_puts(&big, "]}");
	TEST_ASSERT(acme_parse_order(big.data, big.len, &o, &err) < 0);
	free(err);
	acme_order_free(&o);
	buf_free(&big);
	pr = acme_parse_problem("{\"type\":\"urn:x\",\"detail\":\"d\"}", 29);
	TEST_ASSERT_STREQ(pr, "urn:x: d");
	free(pr);
	TEST_ASSERT(acme_parse_problem("<html>", 6) == NULL);
}

static void
test_renew_before(void)
{
	TEST_ASSERT(acme_renew_before(90L * 86400) == 30L * 86400);
	TEST_ASSERT(acme_renew_before(365L * 86400) == 30L * 86400);
	/* pebble-like short lives: a third left */
	TEST_ASSERT(acme_renew_before(6L * 86400) == 2L * 86400);
	TEST_ASSERT(acme_renew_before(89L * 86400) == 89L * 86400 / 3);
}

int
main(void)
{
	char *cmd;
	int r;

	if (mkdtemp(tmpdir) == NULL)
		return 1;
	TEST_RUN(test_b64url);
	TEST_RUN(test_key_file);
	TEST_RUN(test_jws);
	TEST_RUN(test_csr);
	TEST_RUN(test_parse);
	TEST_RUN(test_renew_before);
	cmd = xasprintf("rm -rf %s", tmpdir);
	r = system(cmd);
	(void)r;
	free(cmd);
	return test_done("test-acme");
}
