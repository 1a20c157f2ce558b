/*
 * tls - OpenSSL 3 server contexts: certificate loading, a self-signed pair
 * made at first start, TLS 1.2+ only, and reload on SIGHUP.
 *
 * Trust: handles private key material. Only tls/ calls SSL_* functions;
 * util/io.c receives an opaque SSL * from tls_ssl_new() and owns it.
 * A tls_server is immutable once made and refcounted, so a reload swaps
 * the current one while sessions keep the one they started with.
 */
#ifndef TEM_TLS_H
#define TEM_TLS_H

#include <stdbool.h>
#include <stddef.h>

struct conf;
struct tls_server;

/*
 * Makes a server context from tls_cert_file/tls_key_file, or from
 * data_dir/tls/{cert,key}.pem, generating a self-signed pair for
 * hostname there when those are missing. NULL and *error_r on failure.
 */
struct tls_server *tls_server_new(const struct conf *c, char **error_r);
void tls_server_ref(struct tls_server *t);
void tls_server_unref(struct tls_server **t);

/* The process-wide current context (ref taken; NULL if none yet). */
struct tls_server *tls_current(void);
/* Replaces the current context (takes over the caller's reference). */
void tls_set_current(struct tls_server *t);

/* A new server-side SSL * for one connection, as void * for util/io. */
void *tls_ssl_new(struct tls_server *t);
/* "TLSv1.3 cipher TLS_AES_256_GCM_SHA384 (256 bits)" for logs/Received. */
void tls_describe(void *ssl, char *out, size_t len);

/*
 * Outbound (MTA) side: an SSL * for a client connection to servername
 * (SNI, the MX name). The handshake never fails on the certificate
 * (opportunistic TLS, RFC 7435): the destination's policy checks the
 * peer's chain afterwards (mta/mta_tls_policy.h: DANE, MTA-STS). TLS 1.2+
 * and sane ciphers still apply.
 */
void *tls_client_ssl_new(const char *servername);

/* Starts server-side TLS on io with the current context. -1 when there is
 * none (the caller closes the session). */
struct io;
int tls_io_start(struct io *io);
/* True when a server context is loaded (STARTTLS may be offered). */
bool tls_available(void);

/* Generates key+self-signed cert PEM files (used at first start). */
int tls_make_self_signed(const char *hostname, const char *cert_path,
    const char *key_path, char **error_r);

#endif
