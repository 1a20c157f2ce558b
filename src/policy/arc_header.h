/*
 * arc_header - the I/O-free half of ARC (RFC 8617): parsing the three
 * ARC header fields (4.1), collecting a message's ARC Sets by instance,
 * and the structural steps of chain validation (5.1.1 steps 1-3) that
 * need no cryptography. Verifying the AMS and AS signatures (steps 4-6)
 * and sealing build on this (policy/dkim's canonicalisation and keys).
 *
 * Trust: header fields come from anyone on the path. Parsing works on
 * (pointer, length) into the caller's buffer, keeps no copies, and is
 * bounded by ARC_MAX_SETS and DKIM_MAX_TAGS; fuzzed by fuzz/fuzz-arc.c.
 */
#ifndef TEM_POLICY_ARC_HEADER_H
#define TEM_POLICY_ARC_HEADER_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/rfc5322.h"
#include "policy/dkim.h"

#define ARC_MAX_SETS	50	/* RFC 8617 4.2.1: instances 1..50 */

enum arc_kind {
	ARC_AAR,	/* ARC-Authentication-Results */
	ARC_AMS,	/* ARC-Message-Signature */
	ARC_AS,		/* ARC-Seal */
};

enum arc_cv {		/* the AS's chain validation status (4.1.3) */
	ARC_CV_NONE,
	ARC_CV_FAIL,
	ARC_CV_PASS,
};

struct arc_field {
	enum arc_kind	 kind;
	unsigned	 instance;	/* 1..ARC_MAX_SETS */
	enum arc_cv	 cv;		/* AS only */
	const char	*payload;	/* AAR only: the authres-payload after
					   "i=N;" (authserv-id first) */
	size_t		 payload_len;
};

/* The kind of an ARC field called name (case ignored), or -1. */
int arc_kind_of(const char *name, size_t len);
const char *arc_kind_name(enum arc_kind k);
const char *arc_cv_name(enum arc_cv cv);

/*
 * Parses the value (after the colon) of one field of kind k.
 * AAR: [CFWS] "i" [CFWS] "=" [CFWS] 1*2DIGIT [CFWS] ";" then a non-empty
 * payload. AMS and AS: a DKIM tag list (dkim_tags_parse, into *tags,
 * which the caller may read afterwards) with i=; the AMS needs a, b, bh,
 * d, s and h (4.1.2: a DKIM-Signature without v=), the AS needs a, b, d,
 * s and cv= none|fail|pass and must not have h= (4.1.3). Instances are
 * 1..50. Returns 0 with *f, or -1 with a static reason in *error_r.
 */
int arc_field_parse(enum arc_kind k, const char *v, size_t len,
    struct arc_field *f, struct dkim_tags *tags, const char **error_r);

/* One ARC Set: its three fields as they sit in the header. */
struct arc_set {
	unsigned		 have;		/* bit per enum arc_kind */
	enum arc_cv		 cv;		/* from the AS */
	struct rfc5322_field	 field[3];	/* by enum arc_kind */
};

struct arc_chain {
	unsigned	 n;		/* N: the highest instance seen */
	struct arc_set	 set[ARC_MAX_SETS];	/* set[i - 1] is instance i */
	const char	*reason;	/* static: why the structure fails */
	unsigned	 bad_instance;	/* the instance reason is about, or 0 */
};

enum arc_struct {
	ARC_STRUCT_NONE,	/* no ARC fields: arc=none */
	ARC_STRUCT_FAIL,	/* arc=fail, c->reason says why */
	ARC_STRUCT_OK,		/* structure valid: verify signatures next */
};

/*
 * Collects the ARC fields of the header section hdr[0..len) (the
 * message's own header, LF or CRLF line ends) into *c and runs RFC 8617
 * 5.1.1 steps 1-3: fail on a malformed ARC field, an instance above 50,
 * a kind repeated within an instance, the highest instance's cv=fail, a
 * missing field or instance in 1..N, cv not none at i=1 or not pass at
 * i>1. On ARC_STRUCT_OK the latest cv is c->set[c->n - 1].cv and the
 * fields point into hdr.
 */
enum arc_struct arc_chain_collect(const char *hdr, size_t len,
    struct arc_chain *c);

#endif
