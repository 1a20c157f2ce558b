/*
 * tlsrpt - SMTP TLS reporting (RFC 8460): the record of one outbound TLS
 * attempt, as the delivery engine hands it over. The reports module
 * aggregates these per policy domain and UTC day and mails (or posts)
 * the JSON report to the rua of the domain's "_smtp._tls" record.
 *
 * Contract between the delivery engine (caller) and the reports module
 * (implementation). tlsrpt_note() never blocks and never fails: it copies
 * what it needs into memory bounded by the module's limits (an event
 * over the limits is counted and dropped); writing to disk happens
 * elsewhere.
 *
 * Thread: any (the delivery engine's thread in practice).
 */
#ifndef TEM_POLICY_TLSRPT_H
#define TEM_POLICY_TLSRPT_H

#include <stddef.h>

/* RFC 8460 4.3 result types, plus success. */
enum tlsrpt_result {
	TLSRPT_SUCCESS,
	/* 4.3.1 negotiation failures */
	TLSRPT_STARTTLS_NOT_SUPPORTED,
	TLSRPT_CERT_HOST_MISMATCH,
	TLSRPT_CERT_EXPIRED,
	TLSRPT_CERT_NOT_TRUSTED,
	TLSRPT_VALIDATION_FAILURE,
	/* 4.3.2 policy failures: DANE */
	TLSRPT_TLSA_INVALID,
	TLSRPT_DNSSEC_INVALID,
	TLSRPT_DANE_REQUIRED,
	/* 4.3.2 policy failures: MTA-STS */
	TLSRPT_STS_POLICY_FETCH_ERROR,
	TLSRPT_STS_POLICY_INVALID,
	TLSRPT_STS_WEBPKI_INVALID,
};

/* RFC 8460 4.4 policy-type. */
enum tlsrpt_policy_type {
	TLSRPT_POLICY_NONE,	/* "no-policy-found" */
	TLSRPT_POLICY_TLSA,	/* "tlsa" */
	TLSRPT_POLICY_STS,	/* "sts" */
};

struct tlsrpt_event {
	const char		*policy_domain;	/* the recipient domain,
						   lowercase, no final dot */
	enum tlsrpt_policy_type	 type;
	/* policy-string: TLSA records in presentation form ("3 1 1 ab..."),
	   or the MTA-STS policy's lines; n 0 for no-policy-found. */
	const char *const	*policy_strings;
	size_t			 n_policy_strings;
	/* MTA-STS only: the policy's mx patterns (mx-host). */
	const char *const	*mx_patterns;
	size_t			 n_mx_patterns;
	enum tlsrpt_result	 result;
	/* Where it happened; any may be NULL (a policy fetch failure has no
	   MX). Addresses in text form. */
	const char		*sending_ip;	/* our address on the connection */
	const char		*receiving_mx;	/* receiving-mx-hostname */
	const char		*receiving_helo;/* the peer's greeting name */
	const char		*receiving_ip;
	const char		*additional;	/* additional-information, short */
};

/* Records one attempt (success or failure). Copies what it keeps. */
void tlsrpt_note(const struct tlsrpt_event *ev);

/* "starttls-not-supported", ..., "success" for logs and reports. */
const char *tlsrpt_result_name(enum tlsrpt_result r);

#endif
