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

/* Appends the base64 decoding of s[0..n) with all FWS removed. -1: bad. */
int dkim_b64_decode_fws(const char *s, size_t n, struct buf *out);

/* ASCII case-insensitive: a[0..alen) equals the C string b. */
bool dkim_caseeq(const char *a, size_t alen, const char *b);

#endif
