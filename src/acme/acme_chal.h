/*
 * acme_chal - answering the CA's validation requests (RFC 8555 section 8)
 * from memory: the http-01 token table served at
 * /.well-known/acme-challenge/TOKEN by the HTTP listener, and the
 * tls-alpn-01 (RFC 8737) certificates presented to a ClientHello that
 * offers only ALPN "acme-tls/1" for a name being validated.
 *
 * Trust: requests come from anyone; a token or name not in the table is
 * a 404 or the ordinary certificate. The tables are written by the ACME
 * thread and read on loop threads under one mutex; at most
 * ACME_CHAL_MAX entries each.
 */
#ifndef TEM_ACME_CHAL_H
#define TEM_ACME_CHAL_H

#define ACME_CHAL_MAX		64

/* Registers the http-01 route (at start, before loops run). */
void acme_chal_init(void);

/* http-01: serve keyauth at the token's path until removed. */
void acme_chal_http_add(const char *token, const char *keyauth);
/* tls-alpn-01: present a challenge certificate for name. 0 or -1. */
int acme_chal_alpn_add(const char *name, const char *keyauth);
/* Forgets every entry (after an order). */
void acme_chal_clear(void);

/* Installs the ALPN/SNI hooks on a server SSL_CTX (tls_server_new). */
void acme_chal_tls_setup(void *ssl_ctx);

#endif
