/*
 * dkim - DomainKeys Identified Mail (RFC 6376) with rsa-sha256 and
 * ed25519-sha256 (RFC 8463), as I/O-free cores: canonicalisation, the
 * tag-list, signature and key record parsers, signing, and a verifier
 * that is handed its key records (dkim_verify.h fetches them over DNS,
 * dkim_keys.h keeps the signing keys).
 *
 * Trust: messages, DKIM-Signature fields and key records come from anyone.
 * Every parser works on (pointer, length), never reads outside it, and
 * bounds what it allocates by its input and the limits below; nothing
 * here does I/O. OpenSSL's per-thread error queue is left empty.
 *
 * Line ends: messages are handed in as tem stores them, with LF line
 * ends. Each LF is read as the CRLF it is on the wire; a CR is an
 * ordinary byte (a stored "\r\n" was "\r\r\n" when sent).
 *
 * Algorithms: rsa-sha1 is refused (RFC 8301 3.1), RSA keys must have
 * 1024 bits or more (RFC 8301 3.2). Ed25519 signs the SHA-256 digest of
 * the canonical header data (RFC 8463 3), as RSA does.
 */
#ifndef TEM_DKIM_H
#define TEM_DKIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/buf.h"

struct evp_pkey_st;	/* OpenSSL's EVP_PKEY */
struct evp_md_ctx_st;	/* OpenSSL's EVP_MD_CTX */

/* Limits, each with its reason. */
#define DKIM_MAX_SIGS		8	/* checked per message: each may cost a
					   DNS query (OpenDKIM checks 3) */
#define DKIM_SIG_FIELD_MAX	16384	/* octets of one DKIM-Signature field;
					   a 200-name h= fits */
#define DKIM_MAX_SIGNED_FIELDS	256	/* names in one h= (oversigning
					   signers list about 60) */
#define DKIM_MAX_FIELDS		4096	/* header fields of a message to sign
					   or verify; beyond: permerror */
#define DKIM_MAX_TAGS		64	/* tags in one tag-list (13 defined) */
#define DKIM_RSA_MIN_BITS	1024	/* RFC 8301 3.2 */
#define DKIM_RSA_MAX_BITS	8192	/* bounds the cost of one check */
#define DKIM_RSA_SIGN_BITS	2048	/* keys tem makes (RFC 8301 3.2) */
#define DKIM_SHA256_LEN		32

enum dkim_key_type {
	DKIM_KEY_RSA,
	DKIM_KEY_ED25519,
};

enum dkim_canon {
	DKIM_CANON_SIMPLE,
	DKIM_CANON_RELAXED,
};

/* Per signature, as RFC 8601 2.7.1 names them. */
enum dkim_status {
	DKIM_PASS,
	DKIM_FAIL,		/* body hash or signature did not verify */
	DKIM_NEUTRAL,		/* not checked (not used by the verifier yet) */
	DKIM_TEMPERROR,		/* key look-up failed for now */
	DKIM_PERMERROR,		/* unusable signature or key record */
};

/* "pass", "fail", "neutral", "temperror", "permerror". */
const char *dkim_status_str(enum dkim_status st);
/* "rsa" / "ed25519"; the a= value "rsa-sha256" / "ed25519-sha256". */
const char *dkim_key_type_str(enum dkim_key_type t);
const char *dkim_alg_str(enum dkim_key_type t);

/* ------------------------------------------------------------------ */
/* Tag lists (RFC 6376 3.2) */

/*
 * One tag. name and value point into the parsed text; value is trimmed of
 * surrounding white space (FWS, with LF or CRLF) and may hold folding
 * inside. raw_off/raw_len: the whole value between '=' and the next ';'
 * (or the end), surrounding white space included - what "b= deleted"
 * means in RFC 6376 3.5.
 */
struct dkim_tag {
	const char	*name;
	size_t		 name_len;
	const char	*value;
	size_t		 value_len;
	size_t		 raw_off;
	size_t		 raw_len;
};

struct dkim_tags {
	size_t		 n;
	struct dkim_tag	 tag[DKIM_MAX_TAGS];
};

/*
 * Parses "name=value; name=value[;]". Tag names are ALPHA *(ALNUM / "_");
 * a repeated name, a spec without '=', or more than DKIM_MAX_TAGS tags
 * make the whole list invalid: -1 with a static reason in *error_r.
 * Empty specs (";;", a final ";") are skipped. Returns 0.
 */
int dkim_tags_parse(const char *s, size_t len, struct dkim_tags *t,
    const char **error_r);
/* The tag called name (case-sensitive, RFC 6376 3.2), or NULL. */
const struct dkim_tag *dkim_tags_get(const struct dkim_tags *t,
    const char *name);

/* ------------------------------------------------------------------ */
/* DKIM-Signature fields (RFC 6376 3.5) */

struct dkim_sig {
	enum dkim_key_type	 key_type;	/* from a= */
	enum dkim_canon		 hcanon, bcanon;	/* c=, simple/simple */
	char			*domain;	/* d=, lowercase */
	char			*selector;	/* s=, lowercase */
	char			*auid;		/* i=, or "@" d= */
	size_t			 nfields;
	char			**fields;	/* h=, names as written */
	unsigned char		 bh[DKIM_SHA256_LEN];
	unsigned char		*b;		/* decoded b= */
	size_t			 b_len;
	char			 b_short[17];	/* first 16 base64 chars of b=
						   (RFC 6008 header.b) */
	bool			 has_length;	/* l= */
	uint64_t		 length;
	bool			 has_time;	/* t= */
	uint64_t		 time;
	bool			 has_expire;	/* x= */
	uint64_t		 expire;
	size_t			 b_off, b_raw_len; /* raw b= value span */
};

/*
 * Parses the value of a DKIM-Signature field (the text after the colon,
 * folding kept). Checks every rule of RFC 6376 6.1.1 that needs no clock
 * and no key: v=1; a=, b=, bh=, d=, h=, s= present; a= known and not
 * rsa-sha1; c= known; h= names "from"; i= in d= or a subdomain; q= lists
 * dns/txt; l=, t=, x= decimal and x= not before t=; d= and s= plain DNS
 * names. Returns 0, or -1 with a static reason in *error_r (sig is then
 * empty). Free the parts with dkim_sig_clear().
 */
int dkim_sig_parse(const char *value, size_t len, struct dkim_sig *sig,
    const char **error_r);
void dkim_sig_clear(struct dkim_sig *sig);

/* ------------------------------------------------------------------ */
/* Key records (RFC 6376 3.6.1, RFC 8463 4) */

struct dkim_pubkey {
	enum dkim_key_type	 type;		/* k=, rsa by default */
	bool			 testing;	/* t=y */
	bool			 strict;	/* t=s: i= must be in d= itself */
	unsigned		 bits;		/* RSA modulus; 256 for Ed25519 */
	struct evp_pkey_st	*pkey;
};

/*
 * Parses one TXT record value (its strings joined). Refuses: a v= that is
 * not first or not DKIM1, h= without sha256, s= without email or *,
 * unknown k=, a missing p=, an empty p= ("key revoked"), p= that is not
 * a key of type k=, RSA keys outside DKIM_RSA_MIN_BITS..MAX_BITS.
 * Returns 0, or -1 with a static reason in *error_r. Free with
 * dkim_pubkey_clear().
 */
int dkim_pubkey_parse(const char *txt, size_t len, struct dkim_pubkey *k,
    const char **error_r);
void dkim_pubkey_clear(struct dkim_pubkey *k);

/* ------------------------------------------------------------------ */
/* Canonicalisation (RFC 6376 3.4) */

/*
 * Appends the canonical form of one header field to out: field[0..len)
 * is the field as stored, from its name through its final LF (which may
 * be missing at the end of a message). The result ends with CRLF.
 */
void dkim_canon_header(enum dkim_canon c, const char *field, size_t len,
    struct buf *out);

/*
 * Incremental body canonicalisation and SHA-256. Feed the body (the bytes
 * after the empty line, LF line ends) in pieces of any size. limit: hash
 * only the first limit canonical octets (l=), UINT64_MAX for all. When
 * copy is not NULL every canonical octet (up to limit) is appended to it
 * too (tests). Memory is fixed whatever the body size.
 */
struct dkim_bodyhash {
	struct evp_md_ctx_st	*md;
	struct buf		*copy;
	enum dkim_canon		 canon;
	uint64_t		 limit;
	uint64_t		 total;		/* canonical octets so far */
	uint64_t		 crlf;		/* line ends not yet written */
	bool			 wsp;		/* relaxed: WSP not yet written */
	bool			 line;		/* content on this line */
	bool			 any;		/* any content at all */
	size_t			 nout;
	unsigned char		 out[4096];
};

void dkim_bodyhash_init(struct dkim_bodyhash *h, enum dkim_canon c,
    uint64_t limit, struct buf *copy);
void dkim_bodyhash_update(struct dkim_bodyhash *h, const char *p, size_t n);
/* Writes the digest and the length of the whole canonical body (also the
 * part past limit) to *total_r; frees the digest state. */
void dkim_bodyhash_final(struct dkim_bodyhash *h,
    unsigned char md[DKIM_SHA256_LEN], uint64_t *total_r);

/* ------------------------------------------------------------------ */
/* Signing */

/*
 * A private key in memory. domain and selector are where its public half
 * is published (selector._domainkey.domain), both lowercase; mtime is the
 * key file's (dkim_keys.c picks the newest of each type by it).
 */
struct dkim_key {
	enum dkim_key_type	 type;
	char			*domain;
	char			*selector;
	struct evp_pkey_st	*pkey;
	struct timespec		 mtime;
};

/*
 * Signs the message msg[0..len) (LF line ends, as stored) for domain (d=)
 * with key, relaxed/relaxed, no l=, t= now, and appends the complete
 * "DKIM-Signature: ..." field to header_out: folded to lines of at most 78
 * octets, LF line ends, ending with LF, to be put in front of the message.
 * h= lists From, Reply-To, Subject, Date, To, Cc, Message-ID, In-Reply-To,
 * References, MIME-Version, Content-*, Resent-*, List-* and Sender as far
 * as the message has them, one more than present for each of From, To,
 * Cc, Subject, Date, Reply-To, Message-ID, In-Reply-To, References,
 * MIME-Version, Content-Type and Content-Transfer-Encoding, so that none
 * can be added later (oversigning).
 * Returns 0, or -1 (nothing appended) when the message has no From field
 * (RFC 6376 5.4), more than DKIM_MAX_FIELDS fields, domain is not a DNS
 * name, or OpenSSL fails. Costs one SHA-256 pass over the message and one
 * private-key operation (RSA 2048: about 1 ms of CPU).
 */
int dkim_sign_message(const char *msg, size_t len, const char *domain,
    const struct dkim_key *key, struct buf *header_out);
/*
 * The same for a message whose body is not in memory: head[0..hlen) is
 * the header section, bh the relaxed SHA-256 body hash (dkim_bodyhash
 * with DKIM_CANON_RELAXED, no limit) computed as the body was streamed.
 */
int dkim_sign_head(const char *head, size_t hlen,
    const unsigned char bh[DKIM_SHA256_LEN], const char *domain,
    const struct dkim_key *key, time_t now, struct buf *header_out);
/* The same with t= given (tests). */
int dkim_sign_message_at(const char *msg, size_t len, const char *domain,
    const struct dkim_key *key, time_t now, struct buf *header_out);

/* ------------------------------------------------------------------ */
/* Results */

struct dkim_sig_result {
	enum dkim_status	 status;
	const char		*reason;	/* static; NULL on pass */
	char			*domain;	/* d=; NULL: field unparsable */
	char			*selector;	/* s=; NULL likewise */
	char			*auid;		/* i= or "@" d=; NULL likewise */
	char			 b_short[17];	/* header.b (RFC 6008); "" */
	enum dkim_key_type	 key_type;
	unsigned		 key_bits;	/* 0: no key was read */
	bool			 testing;	/* the key record says t=y */
	bool			 has_length;	/* l= given ... */
	uint64_t		 length;	/* ... with this value */
	bool			 partial;	/* l= shorter than the body: the
						   rest is not covered */
};

/* Every DKIM-Signature field checked, top to bottom. n == 0: "none". */
struct dkim_results {
	size_t			 n;
	struct dkim_sig_result	*sig;
	size_t			 skipped;	/* fields past DKIM_MAX_SIGS */
};

void dkim_results_free(struct dkim_results **r);

/* ------------------------------------------------------------------ */
/* Verification, I/O-free (dkim_verify.h adds the DNS look-ups) */

struct dkim_verifier;

enum dkim_key_answer {
	DKIM_KEY_FOUND,		/* TXT records (maybe none usable) */
	DKIM_KEY_NONE,		/* NXDOMAIN or no TXT: permerror "no key" */
	DKIM_KEY_TEMPFAIL,	/* temperror */
};

/*
 * Reads the first DKIM_MAX_SIGS DKIM-Signature fields of msg[0..len) (LF
 * line ends), parses them, checks x= against now, computes each body hash
 * (shared between signatures with the same c= and l=) and the digest of
 * the signed header data. msg is not kept: it may go once this returns.
 * Signatures already decided (syntax, expired, body hash mismatch) need
 * no key. Never NULL.
 */
struct dkim_verifier *dkim_verifier_new(const char *msg, size_t len,
    time_t now);
/*
 * The same in three steps, for a message streamed from a spool file:
 * begin reads the signatures from the header section head[0..len) (up to
 * and with its empty line); body feeds the body in pieces of any size
 * (each distinct c=/l= hashed once, fixed memory); body_end decides the
 * body hashes. dkim_verifier_new is begin + body + body_end.
 */
struct dkim_verifier *dkim_verifier_begin(const char *head, size_t len,
    time_t now);
void dkim_verifier_body(struct dkim_verifier *v, const char *p, size_t n);
void dkim_verifier_body_end(struct dkim_verifier *v);
/* The number of signatures checked (results n). */
size_t dkim_verifier_count(const struct dkim_verifier *v);
/* The TXT name to fetch for signature i ("sel._domainkey.dom"), or NULL
 * when its outcome is already known. */
const char *dkim_verifier_key_name(const struct dkim_verifier *v, size_t i);
/*
 * Decides signature i with the answer for its key name: txt[0..n) are
 * the TXT records (strings joined); the first that parses as a key record
 * is used (RFC 6376 3.6.2.2 leaves several undefined). Ignored when i is
 * already decided.
 */
void dkim_verifier_set_key(struct dkim_verifier *v, size_t i,
    enum dkim_key_answer a, char *const *txt, size_t n);
/* The results; undecided signatures become temperror. Frees *v. */
struct dkim_results *dkim_verifier_finish(struct dkim_verifier **v);

/* ------------------------------------------------------------------ */
/* Small helpers shared with dkim_keys.c and the CLI */

/* A DNS name of LDH (and '_') labels, 1-63 octets each, 253 in all, no
 * final dot: what d= and s= may hold. */
bool dkim_name_valid(const char *s, size_t len);

#endif
