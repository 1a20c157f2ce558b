/*
 * tls - OpenSSL server contexts (see tls.h).
 *
 * Trust: reads private keys; runs before and after the privilege drop
 * (SIGHUP reload), so key files made here belong to the run_as user.
 */
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "acme/acme.h"
#include "acme/acme_chal.h"
#include "conf/conf.h"
#include "tls/tls.h"
#include "util/io.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct tls_server {
	SSL_CTX		*ctx;
	atomic_int	 refs;
};

static pthread_mutex_t tls_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tls_server *tls_cur;

static char *
tls_error(const char *what, const char *path)
{
	unsigned long e = ERR_get_error();
	char msg[256];

	ERR_error_string_n(e, msg, sizeof(msg));
	ERR_clear_error();
	return xasprintf("%s %s: %s", what, path ? path : "", msg);
}

int
tls_make_self_signed(const char *hostname, const char *cert_path,
    const char *key_path, char **error_r)
{
	EVP_PKEY *pkey = EVP_RSA_gen(2048);
	X509 *x = X509_new();
	X509_NAME *name;
	X509_EXTENSION *ext;
	X509V3_CTX v3;
	FILE *f = NULL;
	char *san = xasprintf("DNS:%s", hostname);
	int fd, ret = -1;

	if (pkey == NULL || x == NULL) {
		*error_r = tls_error("cannot generate key", NULL);
		goto out;
	}
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3650L * 86400);
	X509_set_pubkey(x, pkey);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)hostname, -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
	if (ext) {
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	if (!X509_sign(x, pkey, EVP_sha256())) {
		*error_r = tls_error("cannot sign certificate", NULL);
		goto out;
	}
	fd = open(key_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL ||
	    !PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) ||
	    fflush(f) != 0 || fsync(fileno(f)) != 0) {
		*error_r = xasprintf("cannot write %s: %s", key_path,
		    strerror(errno));
		goto out;
	}
	fclose(f);
	f = fopen(cert_path, "w");
	if (f == NULL || !PEM_write_X509(f, x) || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0) {
		*error_r = xasprintf("cannot write %s: %s", cert_path,
		    strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (f)
		fclose(f);
	free(san);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return ret;
}

struct tls_server *
tls_server_new(const struct conf *c, char **error_r)
{
	struct tls_server *t;
	char *cert, *key, *dir = NULL;
	SSL_CTX *ctx;

	if (acme_cert_paths(c, &cert, &key)) {
		/* an ACME certificate replaces the configured pair */
	} else if (c->tls_cert_file && c->tls_key_file) {
		cert = xstrdup(c->tls_cert_file);
		key = xstrdup(c->tls_key_file);
	} else {
		dir = xasprintf("%s/tls", c->data_dir);
		cert = xasprintf("%s/cert.pem", dir);
		key = xasprintf("%s/key.pem", dir);
		if (access(cert, R_OK) != 0 || access(key, R_OK) != 0) {
			if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
				*error_r = xasprintf("cannot create %s: %s",
				    dir, strerror(errno));
				goto fail;
			}
			if (tls_make_self_signed(c->hostname, cert, key,
			    error_r) < 0)
				goto fail;
			log_info("- tls self-signed-certificate cert=%s host=%s",
			    cert, c->hostname);
		}
	}
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		*error_r = tls_error("SSL_CTX_new", NULL);
		goto fail;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* Release buffers of idle connections: thousands of IMAP IDLE
	 * sessions must not hold 2x16 KiB each while silent. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (c->acme_names.n > 0)
		acme_chal_tls_setup(ctx);	/* tls-alpn-01 answers */
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		*error_r = tls_error("cannot load certificate", cert);
		SSL_CTX_free(ctx);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		*error_r = tls_error("cannot load private key", key);
		SSL_CTX_free(ctx);
		goto fail;
	}
	t = xmalloc(sizeof(*t));
	t->ctx = ctx;
	atomic_init(&t->refs, 1);
	free(cert);
	free(key);
	free(dir);
	return t;
fail:
	free(cert);
	free(key);
	free(dir);
	return NULL;
}

void
tls_server_ref(struct tls_server *t)
{
	atomic_fetch_add(&t->refs, 1);
}

void
tls_server_unref(struct tls_server **tp)
{
	struct tls_server *t = *tp;

	if (t == NULL)
		return;
	*tp = NULL;
	if (atomic_fetch_sub(&t->refs, 1) == 1) {
		SSL_CTX_free(t->ctx);
		free(t);
	}
}

struct tls_server *
tls_current(void)
{
	struct tls_server *t;

	pthread_mutex_lock(&tls_lock);
	t = tls_cur;
	if (t)
		tls_server_ref(t);
	pthread_mutex_unlock(&tls_lock);
	return t;
}

void
tls_set_current(struct tls_server *t)
{
	struct tls_server *old;

	pthread_mutex_lock(&tls_lock);
	old = tls_cur;
	tls_cur = t;
	pthread_mutex_unlock(&tls_lock);
	tls_server_unref(&old);
}

void *
tls_ssl_new(struct tls_server *t)
{
	SSL *ssl = SSL_new(t->ctx);

	if (ssl == NULL)
		log_panic("SSL_new failed");
	return ssl;
}

void
tls_describe(void *p, char *out, size_t len)
{
	SSL *ssl = p;
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	int bits = 0;

	if (c)
		SSL_CIPHER_get_bits(c, &bits);
	snprintf(out, len, "%s cipher %s (%d bits)", SSL_get_version(ssl),
	    c ? SSL_CIPHER_get_name(c) : "none", bits);
}

static pthread_once_t client_once = PTHREAD_ONCE_INIT;
static SSL_CTX *client_ctx;

static void
tls_client_init(void)
{
	client_ctx = SSL_CTX_new(TLS_client_method());
	if (client_ctx == NULL)
		log_fatal("tls: cannot create the client context");
	SSL_CTX_set_min_proto_version(client_ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(client_ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(client_ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_default_verify_paths(client_ctx);
	/* Never fail the handshake on the certificate: the policy checks
	   the chain after it (mta_tls_policy.c). */
	SSL_CTX_set_verify(client_ctx, SSL_VERIFY_NONE, NULL);
}

void *
tls_client_ssl_new(const char *servername)
{
	SSL *ssl;

	pthread_once(&client_once, tls_client_init);
	ssl = SSL_new(client_ctx);
	if (ssl == NULL)
		log_panic("SSL_new failed");
	/* SSL_set_tlsext_host_name is a macro casting away const. */
	if (servername && *servername)
		SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME,
		    TLSEXT_NAMETYPE_host_name, (void *)(uintptr_t)servername);
	return ssl;
}

int
tls_io_start(struct io *io)
{
	struct tls_server *t = tls_current();

	if (t == NULL)
		return -1;
	io_start_tls(io, tls_ssl_new(t));
	tls_server_unref(&t);
	return 0;
}

bool
tls_available(void)
{
	struct tls_server *t = tls_current();

	if (t == NULL)
		return false;
	tls_server_unref(&t);
	return true;
}
