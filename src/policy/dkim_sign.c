/*
 * dkim_sign - makes the DKIM-Signature field of an outgoing message (RFC
 * 6376 5, RFC 8463): relaxed/relaxed, the usual fields with oversigning,
 * folded to 78 columns. See dkim.h.
 *
 * Trust: the message is a local user's (authenticated submission), the
 * key is ours (read at start by dkim_keys.c). Nothing here does I/O.
 * Callers: the submission path (through dkim_keystore_sign), the tests.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "policy/dkim.h"
#include "policy/dkim_int.h"
#include "util/base64.h"
#include "util/xmalloc.h"

/* Longest line we write (RFC 5322 2.1.1 SHOULD). */
#define FOLD_COLS	78

/*
 * What we sign (RFC 6376 5.4.1 plus the MIME fields and Message-ID).
 * oversign: list once more than present, so that the field cannot be
 * added (or another instance of it) without breaking the signature.
 * Fields mailing lists legitimately add (List-*, Sender) are signed when
 * present but not oversigned.
 */
static const struct {
	const char	*name;
	bool		 oversign;
} sign_fields[] = {
	{ "From", true },
	{ "Reply-To", true },
	{ "Subject", true },
	{ "Date", true },
	{ "To", true },
	{ "Cc", true },
	{ "Message-ID", true },
	{ "In-Reply-To", true },
	{ "References", true },
	{ "MIME-Version", true },
	{ "Content-Type", true },
	{ "Content-Transfer-Encoding", true },
	{ "Content-Disposition", false },
	{ "Content-ID", false },
	{ "Content-Description", false },
	{ "Content-Language", false },
	{ "Sender", false },
	{ "Resent-Date", false },
	{ "Resent-From", false },
	{ "Resent-Sender", false },
	{ "Resent-To", false },
	{ "Resent-Cc", false },
	{ "Resent-Message-ID", false },
	{ "List-Id", false },
	{ "List-Help", false },
	{ "List-Unsubscribe", false },
	{ "List-Unsubscribe-Post", false },
	{ "List-Subscribe", false },
	{ "List-Post", false },
	{ "List-Owner", false },
	{ "List-Archive", false },
};
#define N_SIGN_FIELDS (sizeof(sign_fields) / sizeof(sign_fields[0]))

static size_t
count_fields(const struct dkim_fields *fs, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < fs->n; i++)
		if (dkim_caseeq(fs->f[i].name, fs->f[i].name_len, name))
			n++;
	return n;
}

/* The h= list (names point into sign_fields), at most
 * DKIM_MAX_SIGNED_FIELDS; 0 when there is no From. */
size_t
dkim_choose_fields(const struct dkim_fields *fs, const char **names)
{
	size_t n = 0;

	if (count_fields(fs, "From") == 0)
		return 0;
	for (size_t i = 0; i < N_SIGN_FIELDS; i++) {
		size_t c = count_fields(fs, sign_fields[i].name);

		if (c > 0 && sign_fields[i].oversign)
			c++;
		for (; c > 0 && n < DKIM_MAX_SIGNED_FIELDS; c--)
			names[n++] = sign_fields[i].name;
	}
	return n;
}

/* ---- folding ------------------------------------------------------------ */

/* Appends s[0..n), first a space (sep) or nothing, or a fold when the
 * line would get too long. */
void
dkim_fold_put(struct dkim_fold *f, const char *s, size_t n, bool sep)
{
	if (f->col + (sep ? 1 : 0) + n > FOLD_COLS && f->col > 1) {
		buf_append(f->b, "\n\t", 2);
		f->col = 1;
	} else if (sep) {
		buf_putc(f->b, ' ');
		f->col++;
	}
	buf_append(f->b, s, n);
	f->col += n;
}

/* " name=value;" */
void
dkim_fold_tag(struct dkim_fold *f, const char *name, const char *value)
{
	char *t = xasprintf("%s=%s;", name, value);

	dkim_fold_put(f, t, strlen(t), true);
	free(t);
}

/* " h=From:From:To:...;" folded after any colon. */
void
dkim_fold_names(struct dkim_fold *f, const char **names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *t = xasprintf("%s%s%s", i == 0 ? "h=" : "", names[i],
		    i + 1 < n ? ":" : ";");

		dkim_fold_put(f, t, strlen(t), i == 0);
		free(t);
	}
}

/* The field up to and including "b=" (where the signature goes). */
static void
build_head(struct buf *h, const char *domain, const struct dkim_key *key,
    time_t now, const char **names, size_t nnames,
    const unsigned char bh[DKIM_SHA256_LEN])
{
	struct dkim_fold f = { h, 0 };
	struct buf b64;
	char t[32];

	buf_init(&b64, 0);
	base64_encode(bh, DKIM_SHA256_LEN, &b64);
	buf_puts(h, "DKIM-Signature:");
	f.col = h->len;
	dkim_fold_put(&f, "v=1;", 4, true);
	dkim_fold_tag(&f, "a", dkim_alg_str(key->type));
	dkim_fold_put(&f, "c=relaxed/relaxed;", 18, true);
	dkim_fold_tag(&f, "d", domain);
	dkim_fold_tag(&f, "s", key->selector);
	snprintf(t, sizeof(t), "%lld", (long long)now);
	dkim_fold_tag(&f, "t", t);
	dkim_fold_names(&f, names, nnames);
	dkim_fold_tag(&f, "bh", buf_cstr(&b64));
	buf_append(h, "\n\tb=", 4);
	buf_free(&b64);
}

/* Appends the base64 of sig after "b=", folded. */
void
dkim_put_b(struct buf *h, const unsigned char *sig, size_t len)
{
	struct buf b64;
	size_t pos = 0, room = FOLD_COLS - 3;

	buf_init(&b64, 0);
	base64_encode(sig, len, &b64);
	while (pos < b64.len) {
		size_t n = b64.len - pos < room ? b64.len - pos : room;

		if (pos > 0)
			buf_append(h, "\n\t", 2);
		buf_append(h, b64.data + pos, n);
		pos += n;
		room = FOLD_COLS - 1;
	}
	buf_putc(h, '\n');
	buf_free(&b64);
}

/* ---- the private-key operation ----------------------------------------- */

/* Signs the 32-octet digest: RSASSA-PKCS1-v1_5 with SHA-256, or PureEdDSA
 * over the digest (RFC 8463 3). Appends the signature to out. */
int
dkim_sign_digest(const struct dkim_key *key, const unsigned char *md,
    struct buf *out)
{
	EVP_PKEY_CTX *pctx = NULL;
	EVP_MD_CTX *mctx = NULL;
	unsigned char sig[DKIM_RSA_MAX_BITS / 8];
	size_t len = sizeof(sig);
	int ok = 0;

	if (key->type == DKIM_KEY_RSA) {
		ok = (pctx = EVP_PKEY_CTX_new(key->pkey, NULL)) != NULL &&
		    EVP_PKEY_sign_init(pctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()) == 1 &&
		    EVP_PKEY_sign(pctx, NULL, &len, md, DKIM_SHA256_LEN) == 1 &&
		    len <= sizeof(sig) &&
		    EVP_PKEY_sign(pctx, sig, &len, md, DKIM_SHA256_LEN) == 1;
	} else {
		ok = (mctx = EVP_MD_CTX_new()) != NULL &&
		    EVP_DigestSignInit(mctx, NULL, NULL, NULL, key->pkey) == 1 &&
		    EVP_DigestSign(mctx, sig, &len, md, DKIM_SHA256_LEN) == 1;
	}
	EVP_PKEY_CTX_free(pctx);
	EVP_MD_CTX_free(mctx);
	ERR_clear_error();
	if (!ok)
		return -1;
	buf_append(out, sig, len);
	return 0;
}

bool
dkim_key_usable(const struct dkim_key *key)
{
	int id;

	if (key == NULL || key->pkey == NULL || key->selector == NULL ||
	    !dkim_name_valid(key->selector, strlen(key->selector)))
		return false;
	id = EVP_PKEY_get_base_id(key->pkey);
	return key->type == DKIM_KEY_RSA ? id == EVP_PKEY_RSA :
	    id == EVP_PKEY_ED25519;
}

/* ---- signing ----------------------------------------------------------- */

static void
body_digest(const char *msg, size_t len, size_t body_off,
    unsigned char bh[DKIM_SHA256_LEN])
{
	struct dkim_bodyhash h;

	dkim_bodyhash_init(&h, DKIM_CANON_RELAXED, UINT64_MAX, NULL);
	dkim_bodyhash_update(&h, msg + body_off, len - body_off);
	dkim_bodyhash_final(&h, bh, NULL);
}

int
dkim_sign_head(const char *head, size_t hlen,
    const unsigned char bh[DKIM_SHA256_LEN], const char *domain,
    const struct dkim_key *key, time_t now, struct buf *header_out)
{
	const char *names[DKIM_MAX_SIGNED_FIELDS];
	unsigned char hd[DKIM_SHA256_LEN];
	struct dkim_fields fs;
	struct buf h, sig;
	size_t nnames;
	char *d;
	int r = -1;

	if (domain == NULL || !dkim_name_valid(domain, strlen(domain)) ||
	    !dkim_key_usable(key))
		return -1;
	dkim_fields_collect(head, hlen, &fs);
	if (fs.too_many || (nnames = dkim_choose_fields(&fs, names)) == 0) {
		dkim_fields_free(&fs);
		return -1;
	}
	d = dkim_lower_dup(domain, strlen(domain));
	buf_init(&h, 0);
	buf_init(&sig, 0);
	build_head(&h, d, key, now, names, nnames, bh);
	if (dkim_header_digest(head, &fs, DKIM_CANON_RELAXED, names,
	    nnames, SIZE_MAX, h.data, h.len, h.len, 0, hd,
	    NULL) == 0 && dkim_sign_digest(key, hd, &sig) == 0) {
		dkim_put_b(&h, (unsigned char *)sig.data, sig.len);
		r = buf_append(header_out, h.data, h.len);
	}
	buf_free(&h);
	buf_free(&sig);
	dkim_fields_free(&fs);
	free(d);
	return r;
}

int
dkim_sign_message_at(const char *msg, size_t len, const char *domain,
    const struct dkim_key *key, time_t now, struct buf *header_out)
{
	unsigned char bh[DKIM_SHA256_LEN];
	struct dkim_fields fs;
	size_t body_off;

	dkim_fields_collect(msg, len, &fs);
	body_off = fs.body_off <= len ? fs.body_off : len;
	dkim_fields_free(&fs);
	body_digest(msg, len, body_off, bh);
	return dkim_sign_head(msg, body_off, bh, domain, key, now,
	    header_out);
}

int
dkim_sign_message(const char *msg, size_t len, const char *domain,
    const struct dkim_key *key, struct buf *header_out)
{
	return dkim_sign_message_at(msg, len, domain, key, time(NULL),
	    header_out);
}
