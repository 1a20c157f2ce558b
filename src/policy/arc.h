/*
 * arc - Authenticated Received Chain (RFC 8617): validating a received
 * message's chain (5.2) and sealing a message tem forwards (5.1), as
 * I/O-free cores on top of arc_header.h (structure) and dkim.h
 * (canonicalisation, keys, signatures). arc_dns.c fetches the keys.
 *
 * Trust: the ARC fields and key records come from anyone on the path.
 * The work per message is bounded: at most ARC_MAX_SETS sets (RFC 8617
 * 4.2.1), one body hash (the newest AMS's c= and l=), one public-key
 * operation per seal and one for the newest AMS, at most ARC_MAX_SETS + 1
 * distinct key look-ups (in parallel; sealers usually share one key).
 * Fields longer than DKIM_SIG_FIELD_MAX make the chain fail.
 *
 * Verify (like dkim.h's verifier, in steps so the body can be streamed):
 *   v = arc_verifier_begin(head, hlen, now);
 *   arc_verifier_body(v, p, n) ...; arc_verifier_body_end(v);
 *   for k < arc_verifier_key_count(v): look up arc_verifier_key_name(v, k)
 *       and hand the answer to arc_verifier_set_key(v, k, ...);
 *   arc_verifier_finish(&v, &res);   ...   arc_result_clear(&res);
 */
#ifndef TEM_POLICY_ARC_H
#define TEM_POLICY_ARC_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "policy/arc_header.h"
#include "policy/dkim.h"
#include "util/buf.h"

/* The chain validation status (RFC 8617 4.4, RFC 8601 2.7.x "arc="). */
enum arc_status {
	ARC_NONE,
	ARC_PASS,
	ARC_FAIL,
};

const char *arc_status_str(enum arc_status st);	/* "none", "pass", "fail" */

struct arc_result {
	enum arc_status	 status;
	const char	*reason;	/* static; NULL on pass and none */
	unsigned	 n;		/* sets in the chain (0: none) */
	bool		 latest_cv_fail; /* the newest seal said cv=fail:
					   the chain must not be extended */
	char		*sealer;	/* d= of the newest ARC-Seal, or NULL */
	char		*ams_domain;	/* d= of the newest AMS, or NULL */
	char		*aar;		/* the newest AAR's payload (authserv-id
					   and results, as written), or NULL */
};

void arc_result_clear(struct arc_result *r);

struct arc_verifier;

/* Collects and checks the chain of the header section head[0..len) (LF
 * line ends), parses the seals and the newest AMS and computes their
 * header digests. head is not kept. Never NULL. */
struct arc_verifier *arc_verifier_begin(const char *head, size_t len,
    time_t now);
/* Body bytes (after the empty line), in pieces of any size. */
void arc_verifier_body(struct arc_verifier *v, const char *p, size_t n);
void arc_verifier_body_end(struct arc_verifier *v);
/* The distinct key records to fetch ("sel._domainkey.dom"). 0 when the
 * outcome is already known (no chain, broken structure). */
size_t arc_verifier_key_count(const struct arc_verifier *v);
const char *arc_verifier_key_name(const struct arc_verifier *v, size_t k);
/* The answer for key name k (as dkim_verifier_set_key): decides every
 * signature that uses it. */
void arc_verifier_set_key(struct arc_verifier *v, size_t k,
    enum dkim_key_answer a, char *const *txt, size_t n);
/* The outcome into *r (undecided signatures fail); frees *v. */
void arc_verifier_finish(struct arc_verifier **v, struct arc_result *r);

/*
 * Whether an ARC-Authentication-Results payload (authserv-id; results)
 * records method=pass (e.g. "dmarc"), optionally with a property
 * ptype_prop (e.g. "header.from") equal to value (case ignored).
 * Comments and quoted strings are skipped. For the trusted-sealer rule.
 */
bool arc_aar_has_pass(const char *payload, const char *method,
    const char *ptype_prop, const char *value);

/*
 * The trusted-sealer rule (config arc_trusted_sealers): the chain passed,
 * the newest seal's d= is one of trusted[0..ntrusted) (case ignored, a
 * final dot ignored), and that sealer's AAR says dmarc=pass, or dkim=pass
 * with header.d the From domain, or spf=pass with smtp.mailfrom in it.
 */
bool arc_sealer_vouches(const struct arc_result *r, char *const *trusted,
    size_t ntrusted, const char *from_domain);

/* ------------------------------------------------------------------ */
/* Sealing (RFC 8617 5.1) */

/*
 * Seals a message tem forwards: head[0..hlen) its header section, bh its
 * relaxed body hash (dkim_bodyhash, DKIM_CANON_RELAXED, no limit). chain:
 * the verification of the chain the message came with (ARC_NONE: i=1,
 * cv=none; otherwise i=n+1 and cv=pass or fail; a failed chain's new
 * seal covers its own set only, RFC 8617 5.1.2). The AAR carries the
 * value of tem's own Authentication-Results field: ar[0..ar_len) (the
 * whole field, about to be added above head), or when ar is NULL the
 * newest one of authserv_id in head, or "authserv_id; none". Appends
 * the three fields, ARC-Seal, ARC-Message-Signature and
 * ARC-Authentication-Results, each folded and ending in LF, in the order
 * to put them above the message.
 * The AMS is relaxed/relaxed and signs what dkim_sign_message signs plus
 * DKIM-Signature. Returns 0, or -1 (nothing appended) when the chain may
 * not be extended (the newest seal said cv=fail, or 50 sets already),
 * the message has no From, the key or domain is unusable, or OpenSSL
 * fails. Costs two header digests and two private-key operations.
 */
int arc_seal_head(const char *head, size_t hlen,
    const unsigned char bh[DKIM_SHA256_LEN], const struct arc_result *chain,
    const char *ar, size_t ar_len, const char *authserv_id,
    const char *domain, const struct dkim_key *key, time_t now,
    struct buf *out);

#endif
