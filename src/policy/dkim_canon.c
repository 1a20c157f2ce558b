/*
 * dkim_canon - DKIM canonicalisation (RFC 6376 3.4) of header fields and
 * bodies, the header field table of a message, and the digest of the
 * signed header data (RFC 6376 3.7). See dkim.h and dkim_int.h.
 *
 * Trust: message text from anyone. Every function is a forward scan over
 * (pointer, length); the body hash uses fixed memory whatever the body.
 *
 * Line ends: each LF is the CRLF of the wire form, a CR is an ordinary
 * byte (dkim.h). A field's inner LFs are always followed by white space
 * (rfc5322.c joins continuation lines into the field), so relaxed
 * unfolding simply drops them.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "mail/rfc5322.h"
#include "policy/dkim.h"
#include "policy/dkim_int.h"
#include "util/array.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* ---- header fields ------------------------------------------------------ */

/* relaxed (3.4.2): name lowercased, WSP around the colon removed, value
 * unfolded, WSP runs made one SP, WSP at both ends of the value removed. */
static void
canon_header_relaxed(const char *f, size_t len, struct buf *out)
{
	const char *colon = memchr(f, ':', len);
	size_t nl = colon != NULL ? (size_t)(colon - f) : len;
	bool started = false, wsp = false;

	while (nl > 0 && DKIM_IS_WSP(f[nl - 1]))
		nl--;
	for (size_t i = 0; i < nl; i++)
		buf_putc(out, (char)tolower((unsigned char)f[i]));
	buf_putc(out, ':');
	for (size_t i = colon != NULL ? (size_t)(colon - f) + 1 : len; i < len;
	    i++) {
		char c = f[i];

		if (c == '\n')
			continue;
		if (DKIM_IS_WSP(c)) {
			wsp = true;
			continue;
		}
		if (wsp && started)
			buf_putc(out, ' ');
		wsp = false;
		started = true;
		buf_putc(out, c);
	}
	buf_append(out, "\r\n", 2);
}

/* simple (3.4.1): as it is, each LF the CRLF it is on the wire. */
static void
canon_header_simple(const char *f, size_t len, struct buf *out)
{
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		if (f[i] != '\n')
			continue;
		buf_append(out, f + start, i - start);
		buf_append(out, "\r\n", 2);
		start = i + 1;
	}
	buf_append(out, f + start, len - start);
	if (len == 0 || f[len - 1] != '\n')
		buf_append(out, "\r\n", 2);
}

void
dkim_canon_header(enum dkim_canon c, const char *field, size_t len,
    struct buf *out)
{
	if (c == DKIM_CANON_RELAXED)
		canon_header_relaxed(field, len, out);
	else
		canon_header_simple(field, len, out);
}

/* ---- body ----------------------------------------------------------------- */

void
dkim_bodyhash_init(struct dkim_bodyhash *h, enum dkim_canon c,
    uint64_t limit, struct buf *copy)
{
	memset(h, 0, sizeof(*h));
	h->md = EVP_MD_CTX_new();
	if (h->md == NULL ||
	    EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1)
		log_panic("dkim: cannot start SHA-256");
	h->canon = c;
	h->limit = limit;
	h->copy = copy;
}

static void
flush(struct dkim_bodyhash *h)
{
	if (h->nout == 0)
		return;
	EVP_DigestUpdate(h->md, h->out, h->nout);
	if (h->copy != NULL)
		buf_append(h->copy, h->out, h->nout);
	h->nout = 0;
}

/* One canonical octet: hashed while under the limit, always counted. */
static inline void
emit(struct dkim_bodyhash *h, char c)
{
	if (h->total++ >= h->limit)
		return;
	if (h->nout == sizeof(h->out))
		flush(h);
	h->out[h->nout++] = (unsigned char)c;
}

/* A run of content octets: hashed (straight from the input when long)
 * as far as the limit allows, always counted. */
static void
emit_run(struct dkim_bodyhash *h, const char *p, size_t n)
{
	uint64_t room = h->total < h->limit ? h->limit - h->total : 0;
	size_t take = room < n ? (size_t)room : n;

	h->total += n;
	if (take == 0)
		return;
	if (take > sizeof(h->out) - h->nout) {
		flush(h);
		if (take >= sizeof(h->out)) {
			EVP_DigestUpdate(h->md, p, take);
			if (h->copy != NULL)
				buf_append(h->copy, p, take);
			return;
		}
	}
	memcpy(h->out + h->nout, p, take);
	h->nout += take;
}

/* Line ends are held back until content follows them: empty lines at the
 * end of the body are dropped by both algorithms. */
static void
put_line_ends(struct dkim_bodyhash *h)
{
	for (; h->crlf > 0; h->crlf--) {
		emit(h, '\r');
		emit(h, '\n');
	}
}

/* Length of the run of content octets at p: up to the next LF (and, in
 * relaxed, the next WSP). */
static size_t
run_len(const char *p, size_t n, bool relaxed)
{
	const char *nl;
	size_t i;

	if (!relaxed) {
		nl = memchr(p, '\n', n);
		return nl != NULL ? (size_t)(nl - p) : n;
	}
	for (i = 0; i < n && p[i] != '\n' && !DKIM_IS_WSP(p[i]); i++)
		;
	return i;
}

void
dkim_bodyhash_update(struct dkim_bodyhash *h, const char *p, size_t n)
{
	bool relaxed = h->canon == DKIM_CANON_RELAXED;
	size_t i = 0, run;

	while (i < n) {
		char c = p[i];

		if (c == '\n') {
			h->crlf++;
			h->wsp = false;		/* WSP at line end dropped */
			h->line = false;
			i++;
			continue;
		}
		if (relaxed && DKIM_IS_WSP(c)) {
			h->wsp = true;
			i++;
			continue;
		}
		put_line_ends(h);
		if (h->wsp)
			emit(h, ' ');
		h->wsp = false;
		run = run_len(p + i, n - i, relaxed);
		emit_run(h, p + i, run);
		h->line = true;
		h->any = true;
		i += run;
	}
}

void
dkim_bodyhash_final(struct dkim_bodyhash *h,
    unsigned char md[DKIM_SHA256_LEN], uint64_t *total_r)
{
	unsigned int mdlen = DKIM_SHA256_LEN;

	/* Non-empty: the last line's end (held back, or missing: added).
	 * Empty: simple gives one CRLF, relaxed nothing (erratum 3192). */
	if (h->any || h->canon == DKIM_CANON_SIMPLE) {
		emit(h, '\r');
		emit(h, '\n');
	}
	flush(h);
	EVP_DigestFinal_ex(h->md, md, &mdlen);
	EVP_MD_CTX_free(h->md);
	h->md = NULL;
	if (total_r != NULL)
		*total_r = h->total;
}

/* ---- the header of a message ------------------------------------------- */

void
dkim_fields_collect(const char *msg, size_t len, struct dkim_fields *fs)
{
	struct rfc5322_iter it;
	struct rfc5322_field f;
	size_t cap = 0;

	memset(fs, 0, sizeof(*fs));
	rfc5322_iter_init(&it, msg, len);
	while (rfc5322_iter_next(&it, &f) == 1) {
		if (fs->n == DKIM_MAX_FIELDS) {
			fs->too_many = true;
			continue;
		}
		struct dkim_field *df = ARRAY_PUSH(fs->f, fs->n, cap);

		df->off = f.off;
		df->len = f.len;
		df->name = f.name;
		df->name_len = f.name_len;
		df->value_off = (size_t)(f.value - msg);
	}
	fs->body_off = it.body_off;
}

void
dkim_fields_free(struct dkim_fields *fs)
{
	XFREE(&fs->f);
	fs->n = 0;
}

/* Hashes (and copies) one canonical field. */
static void
hash_field(EVP_MD_CTX *ctx, enum dkim_canon c, const char *f, size_t len,
    struct buf *tmp, struct buf *copy)
{
	buf_reset(tmp);
	dkim_canon_header(c, f, len, tmp);
	EVP_DigestUpdate(ctx, tmp->data, tmp->len);
	if (copy != NULL)
		buf_append(copy, tmp->data, tmp->len);
}

/* The signature field with its b= value deleted, canonical, no CRLF. */
static void
hash_sig_field(EVP_MD_CTX *ctx, enum dkim_canon c, const char *f, size_t len,
    size_t b_off, size_t b_len, struct buf *copy)
{
	struct buf cut, tmp;

	buf_init(&cut, 0);
	buf_init(&tmp, 0);
	if (b_off <= len && b_len <= len - b_off) {
		buf_append(&cut, f, b_off);
		buf_append(&cut, f + b_off + b_len, len - b_off - b_len);
	} else {
		buf_append(&cut, f, len);
	}
	dkim_canon_header(c, cut.data, cut.len, &tmp);
	tmp.len -= 2;		/* every canonical field ends with CRLF */
	EVP_DigestUpdate(ctx, tmp.data, tmp.len);
	if (copy != NULL)
		buf_append(copy, tmp.data, tmp.len);
	buf_free(&cut);
	buf_free(&tmp);
}

int
dkim_header_digest(const char *msg, const struct dkim_fields *fs,
    enum dkim_canon c, const char *const *names, size_t nnames, size_t self,
    const char *sig, size_t sig_len, size_t b_off, size_t b_len,
    unsigned char md[DKIM_SHA256_LEN], struct buf *copy)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool *used = xcalloc(fs->n + 1, sizeof(bool));
	unsigned int mdlen = DKIM_SHA256_LEN;
	struct buf tmp;
	int r = -1;

	buf_init(&tmp, 0);
	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	if (self < fs->n) {
		used[self] = true;
		sig = msg + fs->f[self].off;
		sig_len = fs->f[self].len;
	}
	for (size_t i = 0; i < nnames; i++) {
		for (size_t j = fs->n; j-- > 0;) {
			const struct dkim_field *f = &fs->f[j];

			if (used[j] || !dkim_caseeq(f->name, f->name_len,
			    names[i]))
				continue;
			used[j] = true;
			hash_field(ctx, c, msg + f->off, f->len, &tmp, copy);
			break;
		}
	}
	hash_sig_field(ctx, c, sig, sig_len, b_off, b_len, copy);
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) == 1)
		r = 0;
out:
	EVP_MD_CTX_free(ctx);
	free(used);
	buf_free(&tmp);
	return r;
}

int
dkim_seq_digest(enum dkim_canon c, const char *const *f, const size_t *flen,
    size_t n, size_t b_off, size_t b_len, unsigned char md[DKIM_SHA256_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int mdlen = DKIM_SHA256_LEN;
	struct buf tmp;
	int r = -1;

	buf_init(&tmp, 0);
	if (n == 0 || ctx == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	for (size_t i = 0; i + 1 < n; i++)
		hash_field(ctx, c, f[i], flen[i], &tmp, NULL);
	hash_sig_field(ctx, c, f[n - 1], flen[n - 1], b_off, b_len, NULL);
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) == 1)
		r = 0;
out:
	EVP_MD_CTX_free(ctx);
	buf_free(&tmp);
	return r;
}
