/*
 * tlsa - TLSA records (RFC 6698 2.1) for DANE in SMTP (RFC 7672): the
 * I/O-free RDATA parser, RFC 7672's usability rule, and the check of a
 * peer's certificate chain against the usable records.
 *
 * Trust: RDATA comes from DNS (validated or not: the caller decides
 * whether DANE applies, from the AD bit); certificates come from the
 * peer. The parser checks every length; the matching code only hashes
 * and compares, and runs OpenSSL's chain verification for DANE-TA.
 * Callers: the outbound DANE code (issue 14), test-tlsa.c, fuzz-tlsa.c.
 */
#ifndef TEM_DNS_TLSA_H
#define TEM_DNS_TLSA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "dns/dns_rr.h"	/* DNS_TYPE_TLSA */

/* Certificate usages (RFC 6698 2.1.1, RFC 7218 names). */
#define TLSA_USAGE_PKIX_TA	0	/* unusable in SMTP (RFC 7672 3.1.3) */
#define TLSA_USAGE_PKIX_EE	1	/* unusable in SMTP (RFC 7672 3.1.3) */
#define TLSA_USAGE_DANE_TA	2
#define TLSA_USAGE_DANE_EE	3
/* Selectors (2.1.2). */
#define TLSA_SEL_CERT		0	/* the whole certificate, DER */
#define TLSA_SEL_SPKI		1	/* SubjectPublicKeyInfo, DER */
/* Matching types (2.1.3). */
#define TLSA_MATCH_FULL		0	/* the DER itself */
#define TLSA_MATCH_SHA256	1	/* 32 octets */
#define TLSA_MATCH_SHA512	2	/* 64 octets */

/* A record's association data never exceeds RDATA's 16-bit length. */
#define TLSA_DATA_MAX		65532

struct tlsa {
	uint8_t	 usage, selector, mtype;
	size_t	 len;
	uint8_t	*data;		/* xmalloc'd, len octets */
};

/*
 * Parses one TLSA RDATA (3 octets then the association data, which must
 * not be empty). The three fields may hold any value (an unknown one only
 * makes the record unusable); a known digest type must have its exact
 * length (32 for SHA-256, 64 for SHA-512). Returns 0 and fills *t (free
 * with tlsa_clear), or -1 when malformed (*t zeroed).
 */
int tlsa_parse(const uint8_t *rdata, size_t len, struct tlsa *t);
void tlsa_clear(struct tlsa *t);

/*
 * RFC 7672 3.1.3 and 3.1: usable means DANE-TA(2) or DANE-EE(3), selector
 * 0 or 1, matching type 0, 1 or 2. A set of records with none usable is
 * treated as if there were none (RFC 7672 2.2: opportunistic TLS).
 */
bool tlsa_usable(const struct tlsa *t);

/*
 * Whether cert matches t's selector and matching type: the certificate's
 * DER or its SubjectPublicKeyInfo DER, compared as is (0) or hashed with
 * SHA-256 (1) or SHA-512 (2). Ignores the usage. False for an unusable
 * selector or matching type, or when OpenSSL fails (error queue cleared).
 */
bool tlsa_match(const struct tlsa *t, X509 *cert);

enum tlsa_verdict {
	TLSA_NONE_USABLE,	/* no usable record: plain opportunistic TLS */
	TLSA_MATCH_EE,		/* a DANE-EE record matches the leaf */
	TLSA_MATCH_TA,		/* a DANE-TA record matches a chain certificate
				   that validates the leaf */
	TLSA_FAIL,		/* usable records, none authenticates the peer:
				   defer the delivery (RFC 7672 2.2) */
};

/*
 * The DANE decision for a peer: chain[0] is the leaf (as
 * SSL_get_peer_cert_chain gives it on a client), the rest what the peer
 * sent. DANE-EE: the leaf must match; its names and dates are ignored
 * (RFC 7672 3.1.1). DANE-TA: a chain certificate must match and then be
 * the trust anchor of a valid chain to the leaf (OpenSSL's verification
 * with partial chains allowed; dates checked, names are the caller's:
 * RFC 7672 3.2.2 wants the MX name or the TLSA base domain). A DANE-TA
 * record of a key that is not in the chain cannot match here. Unusable
 * records are skipped.
 */
enum tlsa_verdict tlsa_check_chain(const struct tlsa *recs, size_t n,
    STACK_OF(X509) *chain);

const char *tlsa_verdict_name(enum tlsa_verdict v);

#endif
