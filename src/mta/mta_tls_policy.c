/*
 * mta_tls_policy - outbound TLS policy per MX host and the check of the
 * peer after the handshake (see mta_tls_policy.h).
 *
 * Trust: the peer's certificates are untrusted; they are only matched
 * against TLSA records (dns/tlsa.c) or verified by OpenSSL against the
 * system CA bundle plus tls_ca_file. The store is built at the first
 * MTA-STS check and kept (the engine thread only; rebuilt when ca_file
 * changes), so later connections cost no disk read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "mta/mta_sts.h"
#include "mta/mta_tls_policy.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* ------------------------------------------------------------------ */
/* The route's MTA-STS answer, held */

struct mta_sts_held *
mta_sts_held_copy(const struct mta_sts_answer *a)
{
	struct mta_sts_held *h = xcalloc(1, sizeof(*h));

	h->policy.mode = a->policy->mode;
	h->policy.max_age = a->policy->max_age;
	for (size_t i = 0; i < a->policy->n_mx && i < MTA_STS_MX_MAX; i++)
		h->policy.mx[h->policy.n_mx++] = xstrdup(a->policy->mx[i]);
	if (a->nlines > 0) {
		h->lines = xcalloc(a->nlines, sizeof(char *));
		for (size_t i = 0; i < a->nlines; i++)
			h->lines[i] = xstrdup(a->lines[i]);
		h->nlines = a->nlines;
	}
	return h;
}

void
mta_sts_held_free(struct mta_sts_held **hp)
{
	struct mta_sts_held *h = *hp;

	if (h == NULL)
		return;
	*hp = NULL;
	mta_sts_policy_clear(&h->policy);
	for (size_t i = 0; i < h->nlines; i++)
		free(h->lines[i]);
	free(h->lines);
	free(h);
}

/* ------------------------------------------------------------------ */
/* A host's policy */

struct mta_tls_policy *
mta_tls_policy_new(enum mta_tls_mode mode, const char *domain,
    const char *mx_name, const char *ca_file)
{
	struct mta_tls_policy *p = xcalloc(1, sizeof(*p));

	p->mode = mode;
	p->domain = xstrdup(domain);
	p->mx_name = xstrdup(mx_name);
	p->ca_file = ca_file && *ca_file ? xstrdup(ca_file) : NULL;
	return p;
}

void
mta_tls_policy_free(struct mta_tls_policy **pp)
{
	struct mta_tls_policy *p = *pp;

	if (p == NULL)
		return;
	*pp = NULL;
	for (size_t i = 0; i < p->ntlsa; i++) {
		tlsa_clear(&p->tlsa[i]);
		free(p->tlsa_text[i]);
	}
	free(p->tlsa);
	free(p->tlsa_text);
	free(p->domain);
	free(p->mx_name);
	free(p->ca_file);
	free(p);
}

/* "3 1 1 ab12..." (RFC 6698 2.2 presentation form, hex lowercase). */
static char *
tlsa_text(const struct tlsa *t)
{
	static const char hex[] = "0123456789abcdef";
	char *s = xmalloc(16 + 2 * t->len);
	int n = snprintf(s, 16, "%u %u %u ", t->usage, t->selector, t->mtype);

	for (size_t i = 0; i < t->len; i++) {
		s[n++] = hex[t->data[i] >> 4];
		s[n++] = hex[t->data[i] & 15];
	}
	s[n] = '\0';
	return s;
}

bool
mta_tls_policy_add_tlsa(struct mta_tls_policy *p, const unsigned char *rdata,
    size_t len)
{
	struct tlsa t;

	if (tlsa_parse(rdata, len, &t) < 0)
		return false;
	if (!tlsa_usable(&t)) {
		tlsa_clear(&t);
		return false;
	}
	/* At most DNS_MAX_TLSA records come from one answer. */
	p->tlsa = xrealloc(p->tlsa, (p->ntlsa + 1) * sizeof(*p->tlsa));
	p->tlsa_text = xrealloc(p->tlsa_text, (p->ntlsa + 1) *
	    sizeof(char *));
	p->tlsa_text[p->ntlsa] = tlsa_text(&t);
	p->tlsa[p->ntlsa++] = t;
	return true;
}

bool
mta_tls_policy_requires_tls(const struct mta_tls_policy *p)
{
	return p != NULL && (p->mode == MTA_TLS_DANE ||
	    p->mode == MTA_TLS_STS_ENFORCE);
}

const char *
mta_tls_policy_name(const struct mta_tls_policy *p)
{
	if (p == NULL)
		return "none";
	switch (p->mode) {
	case MTA_TLS_DANE:
		return "dane";
	case MTA_TLS_STS_ENFORCE:
	case MTA_TLS_STS_TESTING:
		return "sts";
	case MTA_TLS_OPPORTUNISTIC:
		break;
	}
	return "none";
}

/* ------------------------------------------------------------------ */
/* The check */

/* The PKIX store: system CAs plus ca_file, built once per ca_file. */
static X509_STORE *pkix_store;
static char *pkix_ca_file;

static X509_STORE *
pkix_get(const char *ca_file)
{
	const char *sys;

	if (pkix_store != NULL && (ca_file == NULL) == (pkix_ca_file == NULL) &&
	    (ca_file == NULL || strcmp(ca_file, pkix_ca_file) == 0))
		return pkix_store;
	X509_STORE_free(pkix_store);
	free(pkix_ca_file);
	pkix_store = X509_STORE_new();
	pkix_ca_file = ca_file ? xstrdup(ca_file) : NULL;
	if (pkix_store == NULL)
		log_panic("X509_STORE_new failed");
	/* The system bundle as one file, read here once: a hashed directory
	   would be read at each verification, on the engine's loop. */
	sys = getenv(X509_get_default_cert_file_env());
	if (sys == NULL || *sys == '\0')
		sys = X509_get_default_cert_file();
	if (X509_STORE_load_file(pkix_store, sys) != 1)
		log_warn("- mta tls-ca-unreadable file=%s", sys);
	if (ca_file && X509_STORE_load_file(pkix_store, ca_file) != 1)
		log_warn("- mta tls-ca-unreadable file=%s", ca_file);
	ERR_clear_error();
	return pkix_store;
}

static enum tlsrpt_result
pkix_result(int err)
{
	switch (err) {
	case X509_V_OK:
		return TLSRPT_SUCCESS;
	case X509_V_ERR_HOSTNAME_MISMATCH:
		return TLSRPT_CERT_HOST_MISMATCH;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return TLSRPT_CERT_EXPIRED;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_UNTRUSTED:
		return TLSRPT_CERT_NOT_TRUSTED;
	}
	return TLSRPT_VALIDATION_FAILURE;
}

/* RFC 8461 4.2: a chain to a trusted root, valid now, naming mx_name. */
static enum tlsrpt_result
check_pkix(const struct mta_tls_policy *p, STACK_OF(X509) *chain,
    char *why, size_t whylen)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509 *leaf = sk_X509_value(chain, 0);
	int err = X509_V_ERR_UNSPECIFIED;

	if (ctx != NULL && X509_STORE_CTX_init(ctx, pkix_get(p->ca_file),
	    leaf, chain) == 1) {
		X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);

		X509_STORE_CTX_set_default(ctx, "ssl_server");
		X509_VERIFY_PARAM_set_hostflags(vp,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		X509_VERIFY_PARAM_set1_host(vp, p->mx_name, 0);
		err = X509_verify_cert(ctx) == 1 ? X509_V_OK :
		    X509_STORE_CTX_get_error(ctx);
	}
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	if (err != X509_V_OK)
		snprintf(why, whylen, "certificate of %s: %s", p->mx_name,
		    X509_verify_cert_error_string(err));
	return pkix_result(err);
}

/* RFC 7672 3.2.2: with DANE-TA the leaf must name the TLSA base domain,
   which is the MX host name here (no CNAME followed). */
static enum tlsrpt_result
check_dane(const struct mta_tls_policy *p, STACK_OF(X509) *chain,
    char *why, size_t whylen)
{
	enum tlsa_verdict v = tlsa_check_chain(p->tlsa, p->ntlsa, chain);

	switch (v) {
	case TLSA_MATCH_EE:
		return TLSRPT_SUCCESS;
	case TLSA_MATCH_TA:
		if (X509_check_host(sk_X509_value(chain, 0), p->mx_name, 0,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1)
			return TLSRPT_SUCCESS;
		ERR_clear_error();
		snprintf(why, whylen, "DANE-TA certificate does not name %s",
		    p->mx_name);
		return TLSRPT_CERT_HOST_MISMATCH;
	case TLSA_NONE_USABLE:
	case TLSA_FAIL:
		break;
	}
	snprintf(why, whylen, "no TLSA record of %s matches its certificate",
	    p->mx_name);
	return TLSRPT_TLSA_INVALID;
}

enum tlsrpt_result
mta_tls_policy_check(const struct mta_tls_policy *p, STACK_OF(X509) *chain,
    char *why, size_t whylen)
{
	enum tlsrpt_result r;

	if (whylen > 0)
		why[0] = '\0';
	if (p == NULL || p->mode == MTA_TLS_OPPORTUNISTIC)
		return TLSRPT_SUCCESS;
	if (chain == NULL || sk_X509_num(chain) == 0) {
		snprintf(why, whylen, "no certificate from %s", p->mx_name);
		return TLSRPT_VALIDATION_FAILURE;
	}
	if (p->mode == MTA_TLS_DANE)
		return check_dane(p, chain, why, whylen);
	r = check_pkix(p, chain, why, whylen);
	if (r == TLSRPT_SUCCESS && !p->mx_listed) {
		snprintf(why, whylen, "MX %s is not listed in the MTA-STS "
		    "policy of %s", p->mx_name, p->domain);
		return TLSRPT_VALIDATION_FAILURE;
	}
	return r;
}

enum tlsrpt_result
mta_tls_policy_check_ssl(const struct mta_tls_policy *p, void *ssl,
    char *why, size_t whylen)
{
	return mta_tls_policy_check(p, ssl ? SSL_get_peer_cert_chain(ssl) :
	    NULL, why, whylen);
}

/* ------------------------------------------------------------------ */
/* TLS-RPT */

void
mta_tls_policy_note(const struct mta_tls_policy *p, enum tlsrpt_result result,
    const char *sending_ip, const char *receiving_ip,
    const char *receiving_helo, const char *additional)
{
	struct tlsrpt_event ev = {
		.policy_domain = p ? p->domain : NULL,
		.type = TLSRPT_POLICY_NONE,
		.result = result,
		.sending_ip = sending_ip,
		.receiving_mx = p ? p->mx_name : NULL,
		.receiving_helo = receiving_helo,
		.receiving_ip = receiving_ip,
		.additional = additional && *additional ? additional : NULL,
	};

	if (p == NULL)
		return;
	if (p->mode == MTA_TLS_DANE) {
		ev.type = TLSRPT_POLICY_TLSA;
		ev.policy_strings = (const char *const *)p->tlsa_text;
		ev.n_policy_strings = p->ntlsa;
	} else if (p->sts != NULL && p->mode != MTA_TLS_OPPORTUNISTIC) {
		ev.type = TLSRPT_POLICY_STS;
		ev.policy_strings = (const char *const *)p->sts->lines;
		ev.n_policy_strings = p->sts->nlines;
		ev.mx_patterns = (const char *const *)p->sts->policy.mx;
		ev.n_mx_patterns = p->sts->policy.n_mx;
	}
	log_debug("- mta tlsrpt domain=%s type=%s result=%s mx=%s ip=%s "
	    "helo=%s", ev.policy_domain, ev.type == TLSRPT_POLICY_TLSA ?
	    "tlsa" : ev.type == TLSRPT_POLICY_STS ? "sts" : "no-policy-found",
	    tlsrpt_result_name(result), p->mx_name,
	    receiving_ip ? receiving_ip : "-",
	    receiving_helo ? receiving_helo : "-");
	tlsrpt_note(&ev);
}

void
mta_tls_policy_note_sts_failure(const char *domain,
    const struct mta_sts_answer *a)
{
	struct tlsrpt_event ev = {
		.policy_domain = domain,
		.type = TLSRPT_POLICY_STS,
		.result = a->failure,
		.additional = a->failure_text,
	};

	tlsrpt_note(&ev);
}
