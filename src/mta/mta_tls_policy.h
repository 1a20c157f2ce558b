/*
 * mta_tls_policy - the outbound TLS policy of one MX host and its check
 * after the STARTTLS handshake: DANE (RFC 7672) with the host's usable
 * TLSA records, MTA-STS (RFC 8461) enforce or testing with PKIX
 * verification of the MX name, or plain opportunistic TLS (RFC 7435).
 * Each outcome is classified as an RFC 8460 result type and handed to
 * TLS-RPT (policy/tlsrpt.h).
 *
 * Trust: certificates come from the peer, TLSA records from DNSSEC-secure
 * answers (the caller decides that), the MTA-STS policy from the MTA-STS
 * module. Nothing here does I/O except reading tls_ca_file once (the
 * engine's start, then cached).
 *
 * Callers: mta_route.c (builds a policy per MX host), mta_session.c (the
 * check after the handshake), test-mta-tls-policy.c. Thread: the delivery
 * engine's.
 */
#ifndef TEM_MTA_TLS_POLICY_H
#define TEM_MTA_TLS_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "dns/tlsa.h"
#include "policy/mta_sts_policy.h"
#include "policy/tlsrpt.h"

struct mta_sts_answer;

enum mta_tls_mode {
	MTA_TLS_OPPORTUNISTIC,	/* STARTTLS when offered, not verified;
				   a failed handshake is retried in clear */
	MTA_TLS_DANE,		/* usable TLSA records: TLS required and
				   authenticated by them, never clear */
	MTA_TLS_STS_ENFORCE,	/* TLS required, PKIX-valid for the MX name,
				   MX listed in the policy; never clear */
	MTA_TLS_STS_TESTING,	/* delivered as opportunistic; the PKIX
				   check runs and is reported only */
};

/* The MTA-STS answer of a route, copied from the look-up's callback (it
   lives as long as the route). */
struct mta_sts_held {
	struct mta_sts_policy	 policy;
	char			**lines;
	size_t			 nlines;
};

struct mta_tls_policy {
	enum mta_tls_mode	 mode;
	char			*domain;	/* policy domain (the route's) */
	char			*mx_name;	/* SNI, PKIX reference name and
						   TLSA base domain (no CNAME
						   is followed) */
	/* DANE: the usable records and their presentation form. */
	struct tlsa		*tlsa;
	size_t			 ntlsa;
	char			**tlsa_text;	/* "3 1 1 ab12..." */
	/* MTA-STS (enforce, testing): the route's answer, borrowed. */
	const struct mta_sts_held *sts;
	bool			 mx_listed;	/* mx_name matches sts's mx */
	char			*ca_file;	/* tls_ca_file or NULL */
};

/* Copies an answer with a policy (a->policy not NULL); free with
   mta_sts_held_free (NULL-safe, *h set to NULL). */
struct mta_sts_held *mta_sts_held_copy(const struct mta_sts_answer *a);
void mta_sts_held_free(struct mta_sts_held **h);

/* A policy in mode with copies of the strings (ca_file may be NULL). */
struct mta_tls_policy *mta_tls_policy_new(enum mta_tls_mode mode,
    const char *domain, const char *mx_name, const char *ca_file);
void mta_tls_policy_free(struct mta_tls_policy **p);
/* Parses one TLSA RDATA and keeps it when usable (RFC 7672 3.1.3):
   true when kept. The mode is the caller's to set. */
bool mta_tls_policy_add_tlsa(struct mta_tls_policy *p,
    const unsigned char *rdata, size_t len);

/* Whether the mode forbids sending without (verified) TLS. */
bool mta_tls_policy_requires_tls(const struct mta_tls_policy *p);
/* "dane", "sts" (enforce or testing) or "none", for logs. */
const char *mta_tls_policy_name(const struct mta_tls_policy *p);

/*
 * The check of a peer after the handshake; chain[0] is the leaf, the rest
 * what the peer sent (SSL_get_peer_cert_chain on a client). DANE: a usable
 * record must authenticate the chain (tlsa_check_chain); for DANE-TA the
 * leaf must also name mx_name (RFC 7672 3.2.2); DANE-EE ignores names and
 * dates. MTA-STS: PKIX verification against the system store plus
 * ca_file with mx_name as the host, and the MX listed in the policy.
 * Opportunistic: always TLSRPT_SUCCESS. On failure why gets a short
 * reason (for the log line and the 4.7.5 text).
 */
enum tlsrpt_result mta_tls_policy_check(const struct mta_tls_policy *p,
    STACK_OF(X509) *chain, char *why, size_t whylen);
/* The same on a client SSL * after its handshake (void * as util/io
   holds it). */
enum tlsrpt_result mta_tls_policy_check_ssl(const struct mta_tls_policy *p,
    void *ssl, char *why, size_t whylen);

/*
 * One TLS-RPT event (tlsrpt_note) for an attempt under p: its policy type
 * and strings, mx patterns, result and where. NULL p: nothing (a relay
 * host has no policy domain). Any string may be NULL.
 */
void mta_tls_policy_note(const struct mta_tls_policy *p,
    enum tlsrpt_result result, const char *sending_ip,
    const char *receiving_ip, const char *receiving_helo,
    const char *additional);
/* The event for an MTA-STS policy that could not be had (answer's
   failure), once per route; domain is the policy domain. */
void mta_tls_policy_note_sts_failure(const char *domain,
    const struct mta_sts_answer *a);

#endif
