/*
 * dkim_int - what the dkim*.c files share and nobody else needs: the
 * header field table of a message and the digest of the signed header
 * data (RFC 6376 3.7).
 */
#ifndef TEM_DKIM_INT_H
#define TEM_DKIM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/dkim.h"
#include "util/buf.h"

#define DKIM_IS_WSP(c)	((c) == ' ' || (c) == '\t')
#define DKIM_IS_FWS(c)	((c) == ' ' || (c) == '\t' || (c) == '\r' || \
			 (c) == '\n')

/* One header field: msg[off, off + len) from its name through its LF. */
struct dkim_field {
	size_t		 off;
	size_t		 len;
	const char	*name;
	size_t		 name_len;
	size_t		 value_off;	/* just after the colon */
};

struct dkim_fields {
	size_t			 n;
	struct dkim_field	*f;
	size_t			 body_off;
	bool			 too_many;	/* more than DKIM_MAX_FIELDS:
						   f holds the first ones */
};

/* The header fields of msg, top to bottom, and where the body starts. */
void dkim_fields_collect(const char *msg, size_t len, struct dkim_fields *fs);
void dkim_fields_free(struct dkim_fields *fs);

/*
 * The SHA-256 of the signed header data: the fields named in names, each
 * taken bottom-up (a name listed twice takes the last two instances, a
 * name with no instance left adds nothing), canonicalised with c; then
 * the signature field itself (msg[self] when self < fs->n, else sig[0..
 * sig_len) as it will be inserted) with its b= value span [b_off, b_off +
 * b_len) (offsets into the field) deleted and without its final CRLF.
 * copy (may be NULL) receives the hashed text (tests). 0, or -1 when
 * OpenSSL fails.
 */
int dkim_header_digest(const char *msg, const struct dkim_fields *fs,
    enum dkim_canon c, const char *const *names, size_t nnames, size_t self,
    const char *sig, size_t sig_len, size_t b_off, size_t b_len,
    unsigned char md[DKIM_SHA256_LEN], struct buf *copy);

/*
 * The SHA-256 of the fields f[0..n) in this order (each from its name
 * through its LF), canonicalised with c, the last one as the signature
 * field: its b= value [b_off, b_off + b_len) (offsets into it) deleted
 * and without its final CRLF. What an ARC-Seal signs (RFC 8617 5.1.1).
 * 0, or -1 when OpenSSL fails or n is 0.
 */
int dkim_seq_digest(enum dkim_canon c, const char *const *f,
    const size_t *flen, size_t n, size_t b_off, size_t b_len,
    unsigned char md[DKIM_SHA256_LEN]);

/* Appends the base64 decoding of s[0..n) with all FWS removed. -1: bad. */
int dkim_b64_decode_fws(const char *s, size_t n, struct buf *out);

/* A lowercase copy of s[0..n) (domain names: d=, s=). */
char *dkim_lower_dup(const char *s, size_t n);

/* ASCII case-insensitive: a[0..alen) equals the C string b. */
bool dkim_caseeq(const char *a, size_t alen, const char *b);

/* ---- shared with the ARC verifier and sealer (arc_verify.c, arc_seal.c) */

/* dkim_sig_parse for an ARC-Message-Signature (seal false) or ARC-Seal
 * value: no v=, i= is the instance (not checked here: arc_header.c does),
 * the AUID is "@" d=; a seal needs no bh=, h= or c= (relaxed). */
int dkim_arc_sig_parse(const char *value, size_t len, bool seal,
    struct dkim_sig *sig, const char **error_r);
/* The signature sig[0..sig_len) over the digest md with key k. */
bool dkim_verify_digest(const struct dkim_pubkey *k, const unsigned char *md,
    const unsigned char *sig, size_t sig_len);
/* Signs the digest md with key; appends the signature to out. 0 / -1. */
int dkim_sign_digest(const struct dkim_key *key, const unsigned char *md,
    struct buf *out);
/* key has a private key of its type and a valid selector. */
bool dkim_key_usable(const struct dkim_key *key);
/* The h= list tem signs (dkim.h, dkim_sign_message) for the fields fs:
 * names[0..return) point to static strings; 0 when there is no From.
 * names has room for DKIM_MAX_SIGNED_FIELDS. */
size_t dkim_choose_fields(const struct dkim_fields *fs, const char **names);

/* Folding a signature field to 78 columns; col: the current line. */
struct dkim_fold {
	struct buf	*b;
	size_t		 col;
};
/* s[0..n), after a space when sep, on a new line when it would pass. */
void dkim_fold_put(struct dkim_fold *f, const char *s, size_t n, bool sep);
/* " name=value;" */
void dkim_fold_tag(struct dkim_fold *f, const char *name, const char *value);
/* " h=A:B:...;" folded after any colon. */
void dkim_fold_names(struct dkim_fold *f, const char **names, size_t n);
/* The base64 of sig after "b=", folded, and the final LF. */
void dkim_put_b(struct buf *h, const unsigned char *sig, size_t len);

#endif
