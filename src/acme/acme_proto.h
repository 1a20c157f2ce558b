/*
 * acme_proto - one RFC 8555 certificate order, start to end, blocking:
 * directory, nonce, account (made once, its key kept), new order for
 * every name, the chosen challenge for each authorization, polling with
 * Retry-After, finalize with a CSR and the full chain downloaded.
 *
 * Trust: talks to the CA over HTTPS (libcurl, verified against the
 * system store plus acme_ca_file); every answer goes through
 * acme_parse. Runs only on the ACME thread (acme.c), never on a loop.
 */
#ifndef TEM_ACME_PROTO_H
#define TEM_ACME_PROTO_H

#include <stdatomic.h>
#include <stdbool.h>

#include <openssl/evp.h>

struct acme_params {
	const char	*directory;
	const char	*email;		/* NULL: no contact */
	const char	*ca_file;	/* NULL: system store only */
	const char	*challenge;	/* "http-01" or "tls-alpn-01" */
	char *const	*names;
	int		 nnames;
	EVP_PKEY	*account_key;
	/* set by another thread: the order is abandoned within a second */
	const atomic_bool *stop;
};

/*
 * Orders a certificate for p->names signed over cert_key's public key.
 * 0 and the PEM chain (leaf first) in *chain_r (malloc'd), or -1 and
 * *error_r. Gives up on an order after ACME_ORDER_TIMEOUT seconds.
 */
#define ACME_ORDER_TIMEOUT	300
int acme_order_cert(const struct acme_params *p, EVP_PKEY *cert_key,
    char **chain_r, char **error_r);

#endif
