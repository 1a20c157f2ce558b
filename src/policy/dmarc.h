/*
 * dmarc - DMARC (RFC 7489): policy records, policy discovery over DNS,
 * the RFC5322.From domain, identifier alignment and the disposition.
 *
 * Trust: records come from DNS, From fields and SPF/DKIM identifiers from
 * anyone; every parser here works on bounded memory, never fails on
 * garbage and allocates in proportion to its input.
 *
 * Use (inbound SMTP, after DATA):
 *   1. dmarc_from_domain(header) -> the one author domain, or an error
 *      (see there for what to do with it);
 *   2. dmarc_check_start(resolver, psl, domain, done, arg) -> policy or
 *      none or temperror, asynchronously (runs in parallel with SPF/DKIM);
 *   3. dmarc_evaluate(policy, domain, NULL, spf, spf_domain, dkim, n,
 *      psl, &disp) -> pass/fail/temperror and none/quarantine/reject;
 *   4. dmarc_authres_add() for the Authentication-Results field.
 * Then: disposition reject -> "550 5.7.1"; quarantine -> file in Junk;
 * DMARC_RESULT_TEMPERROR (from the look-up or from dmarc_evaluate) ->
 * "451 4.7.1" is the safe answer when the message would otherwise fail.
 */
#ifndef TEM_DMARC_H
#define TEM_DMARC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct authres;
struct dns_resolver;
struct psl;

/* Report URIs kept per tag (RFC 7489 6.2 asks receivers to send to at
 * most two; the rest are parsed and dropped). */
#define DMARC_URI_MAX		8
/* A DMARC record longer than this is not a DMARC record for us (DNS
 * answers are far shorter; this only bounds the work). */
#define DMARC_RECORD_MAX	4096

/* A requested policy (p, sp, np) and the disposition applied. */
enum dmarc_disposition {
	DMARC_DISP_NONE,
	DMARC_DISP_QUARANTINE,
	DMARC_DISP_REJECT,
};

/* fo= bits (failure reporting options); the default is DMARC_FO_0. */
#define DMARC_FO_0	0x1
#define DMARC_FO_1	0x2
#define DMARC_FO_D	0x4
#define DMARC_FO_S	0x8

struct dmarc_uri {
	char		*uri;		/* "mailto:a@b.test", as written */
	uint64_t	 max_size;	/* "!10m" limit in bytes; 0: none */
};

/*
 * A parsed record. Tags absent or invalid have their RFC 7489 6.3
 * defaults: sp = p, np = sp, adkim/aspf relaxed, pct 100, fo 0, rf afrf,
 * ri 86400. Unknown tags are ignored; a tag given twice keeps its first
 * value.
 */
struct dmarc_policy {
	enum dmarc_disposition	 p;
	enum dmarc_disposition	 sp;
	enum dmarc_disposition	 np;	/* RFC 9091 non-existent subdomains */
	bool			 sp_set, np_set;
	/* The record had no valid p (or an invalid sp) but a valid rua:
	 * handled as "v=DMARC1; p=none" (RFC 7489 6.6.3 step 6). */
	bool			 p_defaulted;
	bool			 adkim_strict, aspf_strict;
	unsigned		 pct;	/* 0..100 */
	unsigned		 fo;	/* DMARC_FO_* */
	bool			 rf_afrf;
	uint32_t		 ri;
	int			 nrua, nruf;
	struct dmarc_uri	 rua[DMARC_URI_MAX];
	struct dmarc_uri	 ruf[DMARC_URI_MAX];

	/* Set by dmarc_check (NULL/false from dmarc_record_parse): */
	char			*domain;	/* found at (no "_dmarc.") */
	bool			 at_org;	/* at the org domain */
	/* The From domain does not exist (NXDOMAIN, or no MX/A/AAAA):
	 * np applies. Only looked up when at_org and np differs from sp. */
	bool			 from_nonexistent;
};

enum dmarc_parse_status {
	DMARC_PARSE_OK,		/* *pol_r set */
	DMARC_PARSE_NOT_DMARC,	/* does not start with "v=DMARC1": skip it */
	/* A DMARC record (it counts as one) without a usable policy: no
	 * valid p or sp and no valid rua URI. No DMARC for this mail. */
	DMARC_PARSE_NO_POLICY,
};

/*
 * Parses one TXT record txt[0..len) (need not be NUL-terminated; may
 * hold anything). On DMARC_PARSE_OK, *pol_r is a fresh policy (free with
 * dmarc_policy_free); otherwise *pol_r is NULL. "v=DMARC1" must come
 * first and match exactly (6.3); white space around tags and values is
 * allowed, tag names and keywords are case-insensitive.
 */
enum dmarc_parse_status dmarc_record_parse(const char *txt, size_t len,
    struct dmarc_policy **pol_r);
void dmarc_policy_free(struct dmarc_policy **pol);

/* "none", "quarantine", "reject". */
const char *dmarc_disposition_str(enum dmarc_disposition d);

/* ------------------------------------------------------------------ */
/* The RFC5322.From domain (RFC 7489 6.6.1) */

enum dmarc_from_status {
	DMARC_FROM_OK,		/* *domain_r set */
	DMARC_FROM_NONE,	/* no From field, or no address in it */
	DMARC_FROM_MULTIPLE,	/* several From fields, or addresses with
				   different domains */
	DMARC_FROM_INVALID,	/* the address has no usable domain */
};

/*
 * Finds the author domain in the header block hdr[0..len) (LF or CRLF).
 * On DMARC_FROM_OK *domain_r is a fresh string (the caller frees): the
 * domain in lowercase ASCII (A-labels), no final dot.
 *
 * Choices (RFC 7489 6.6.1 leaves them to the receiver): one From field
 * with several addresses is accepted when they all share one domain
 * (legal RFC 5322 with a Sender field; the policy is the same for all);
 * several From fields (forbidden by RFC 5322) or several domains are
 * DMARC_FROM_MULTIPLE. The caller should refuse DMARC_FROM_MULTIPLE
 * and DMARC_FROM_INVALID with "550 5.7.1" (such mail could otherwise pick
 * the domain a filter or reader looks at), and DMARC_FROM_NONE likewise,
 * or accept it without DMARC processing (6.6.1 allows both).
 */
enum dmarc_from_status dmarc_from_domain(const char *hdr, size_t len,
    char **domain_r);
/* "ok", "none", "multiple", "invalid". */
const char *dmarc_from_status_str(enum dmarc_from_status st);

/* ------------------------------------------------------------------ */
/* Policy discovery (RFC 7489 6.6.3) */

enum dmarc_lookup_status {
	DMARC_LOOKUP_OK,	/* a policy */
	DMARC_LOOKUP_NONE,	/* no DMARC record at either name */
	DMARC_LOOKUP_MULTIPLE,	/* several DMARC records: none applies */
	DMARC_LOOKUP_INVALID,	/* a record without usable policy */
	DMARC_LOOKUP_TEMPERROR,	/* DNS trouble: try again later */
};

struct dmarc_check;

/*
 * Looks up _dmarc.FROM TXT; when that name has no DMARC record (no
 * record at all, or none starting "v=DMARC1"), _dmarc.ORG where ORG is
 * psl_org_domain(from_domain) (skipped when equal). Several DMARC records
 * at the first name that has any: DMARC_LOOKUP_MULTIPLE (no fallback).
 * DNS trouble (SERVFAIL, timeout) at either step: DMARC_LOOKUP_TEMPERROR.
 * When the record is found at ORG and its np differs from its sp, the
 * From domain's existence is checked too (MX, A, AAAA; RFC 9091).
 *
 * done runs later on the resolver's loop (never from inside this call),
 * exactly once unless the check is cancelled; it owns pol (non-NULL only
 * with DMARC_LOOKUP_OK; free with dmarc_policy_free). The check is freed
 * before done is called. psl must outlive the check; from_domain is
 * copied (as from dmarc_from_domain(); U-labels are converted).
 */
struct dmarc_check *dmarc_check_start(struct dns_resolver *r,
    const struct psl *psl, const char *from_domain,
    void (*done)(struct dmarc_policy *pol, enum dmarc_lookup_status st,
    void *arg), void *arg);
/* Cancels a pending check (done is not called) and NULLs *c; NULL is
 * fine. Must not be called once done has started. */
void dmarc_check_cancel(struct dmarc_check **c);

/* "ok", "none", "multiple", "invalid", "temperror". */
const char *dmarc_lookup_status_str(enum dmarc_lookup_status st);

/* ------------------------------------------------------------------ */
/* Evaluation (RFC 7489 3.1, 6.6.2, 6.6.4): no I/O */

/* An SPF or DKIM result as far as DMARC cares; SPF neutral, softfail
 * and none map to DMARC_AUTH_FAIL/NONE (only pass counts). */
enum dmarc_auth {
	DMARC_AUTH_NONE,
	DMARC_AUTH_PASS,
	DMARC_AUTH_FAIL,
	DMARC_AUTH_TEMPERROR,
	DMARC_AUTH_PERMERROR,
};

struct dmarc_dkim_result {
	const char	*domain;	/* the signature's d= */
	enum dmarc_auth	 result;
};

enum dmarc_result {
	DMARC_RESULT_NONE,	/* no policy */
	DMARC_RESULT_PASS,
	DMARC_RESULT_FAIL,
	DMARC_RESULT_TEMPERROR,
	DMARC_RESULT_PERMERROR,
};

/*
 * Decides DMARC for one message. pol: from dmarc_check (NULL: no policy
 * -> DMARC_RESULT_NONE). from_domain: the RFC5322.From domain; org_from
 * its Organizational Domain (NULL: computed with psl). spf_result and
 * spf_domain: SPF's result for the MAIL FROM domain, or for the HELO name
 * when MAIL FROM was empty (NULL when none). dkim[0..ndkim): every
 * signature's d= and result.
 *
 * Pass: SPF passed for an aligned domain, or a DKIM signature passed for
 * an aligned d= (relaxed: same Organizational Domain; strict: same name;
 * compared case-insensitively, U-labels as A-labels). Otherwise, if an
 * aligned SPF or DKIM check failed temporarily, DMARC_RESULT_TEMPERROR
 * (a DNS hiccup must not get mail rejected); else DMARC_RESULT_FAIL.
 *
 * *disp_r (may be NULL) is DMARC_DISP_NONE unless the result is FAIL;
 * then the policy requested: p for a record at the From domain, sp for
 * one found at the Organizational Domain, np when that one has np and
 * the From domain does not exist. With pct < 100 a failing message not
 * sampled gets the next milder disposition (reject -> quarantine ->
 * none; 6.6.4).
 */
enum dmarc_result dmarc_evaluate(const struct dmarc_policy *pol,
    const char *from_domain, const char *org_from,
    enum dmarc_auth spf_result, const char *spf_domain,
    const struct dmarc_dkim_result *dkim, int ndkim,
    const struct psl *psl, enum dmarc_disposition *disp_r);

/*
 * Identifier alignment of domain a with the From domain: strict: equal
 * names; relaxed: equal Organizational Domains. Case-insensitive, a final
 * dot ignored, U-labels compared as A-labels. False for unusable names.
 */
bool dmarc_aligned(const struct psl *psl, const char *from_domain,
    const char *domain, bool strict);

/*
 * The sampler for pct (tests only): roll returns 0..99 and the policy is
 * applied when roll < pct. NULL restores the default (arc4random).
 * Not thread-safe: set it before any check runs.
 */
void dmarc_set_pct_roll(unsigned (*roll)(void *arg), void *arg);

/*
 * Why the policy of a failing message was not applied (RFC 7489
 * Appendix C, PolicyOverrideType), for Authentication-Results and the
 * aggregate report: check_auth.c sets TRUSTED_FORWARDER when a sealer
 * in arc_trusted_sealers vouched for the message (policy/arc.h).
 */
enum dmarc_override {
	DMARC_OVERRIDE_NONE,
	DMARC_OVERRIDE_TRUSTED_FORWARDER,
	DMARC_OVERRIDE_LOCAL_POLICY,
};

/* "none", "trusted_forwarder", "local_policy" (the report's words). */
const char *dmarc_override_str(enum dmarc_override o);

/* "none", "pass", "fail", "temperror", "permerror" (RFC 7489 11.2). */
const char *dmarc_result_str(enum dmarc_result r);

/*
 * Adds "dmarc=RESULT (p=P dis=DISP) header.from=DOMAIN" to an
 * Authentication-Results field being built (see authres.h). P is the
 * policy that applied to this From domain (the record's p, sp or np, as
 * dmarc_evaluate chose), DISP the disposition taken. The comment only
 * when pol is not NULL, header.from only when from_domain is not.
 */
void dmarc_authres_add(struct authres *ar, enum dmarc_result res,
    const struct dmarc_policy *pol, enum dmarc_disposition disp,
    const char *from_domain);

#endif
