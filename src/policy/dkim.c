/*
 * dkim - the DKIM tag-list, DKIM-Signature and key record parsers (see
 * dkim.h). Canonicalisation is in dkim_canon.c, signing in dkim_sign.c,
 * verification in dkim_check.c.
 *
 * Trust: everything parsed here comes from anyone (signature fields from
 * message headers, key records from DNS) and has a fuzz target
 * (fuzz/fuzz-dkim.c). Parsing is a forward scan over (pointer, length);
 * allocations are bounded by the input; refusals are static strings.
 * Callers: dkim_check.c, dkim_keys.c, the tests and the fuzzer.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "policy/dkim.h"
#include "policy/dkim_int.h"
#include "util/base64.h"
#include "util/xmalloc.h"

const char *
dkim_status_str(enum dkim_status st)
{
	switch (st) {
	case DKIM_PASS:		return "pass";
	case DKIM_FAIL:		return "fail";
	case DKIM_NEUTRAL:	return "neutral";
	case DKIM_TEMPERROR:	return "temperror";
	case DKIM_PERMERROR:	return "permerror";
	}
	return "permerror";
}

const char *
dkim_key_type_str(enum dkim_key_type t)
{
	return t == DKIM_KEY_ED25519 ? "ed25519" : "rsa";
}

const char *
dkim_alg_str(enum dkim_key_type t)
{
	return t == DKIM_KEY_ED25519 ? "ed25519-sha256" : "rsa-sha256";
}

bool
dkim_caseeq(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);

	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
			return false;
	return true;
}

bool
dkim_name_valid(const char *s, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-' && c != '_')
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && s[len - 1] != '-';
}

int
dkim_b64_decode_fws(const char *s, size_t n, struct buf *out)
{
	struct buf clean;
	int r;

	buf_init(&clean, 0);
	for (size_t i = 0; i < n; i++)
		if (!DKIM_IS_FWS(s[i]))
			buf_putc(&clean, s[i]);
	r = clean.len == 0 ? 0 : base64_decode(clean.data, clean.len, out);
	buf_free(&clean);
	return r;
}

/* ---- tag lists (RFC 6376 3.2) ---------------------------------------- */

static bool
tag_name_valid(const char *s, size_t n)
{
	if (n == 0 || !isalpha((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

/* Narrows [*a, *b) of s past white space at both ends. */
static void
trim(const char *s, size_t *a, size_t *b)
{
	while (*a < *b && DKIM_IS_FWS(s[*a]))
		(*a)++;
	while (*b > *a && DKIM_IS_FWS(s[*b - 1]))
		(*b)--;
}

/* Adds the spec s[a, b) (trimmed, non-empty) whose raw end is end. */
static int
tag_add(struct dkim_tags *t, const char *s, size_t a, size_t b, size_t end,
    const char **error_r)
{
	const char *eq = memchr(s + a, '=', b - a);
	struct dkim_tag *tag;
	size_t na = a, nb, eqpos, va, vb = b;

	if (eq == NULL) {
		*error_r = "tag without '='";
		return -1;
	}
	eqpos = nb = (size_t)(eq - s);
	trim(s, &na, &nb);
	if (!tag_name_valid(s + na, nb - na)) {
		*error_r = "bad tag name";
		return -1;
	}
	for (size_t i = 0; i < t->n; i++)
		if (t->tag[i].name_len == nb - na &&
		    memcmp(t->tag[i].name, s + na, nb - na) == 0) {
			*error_r = "duplicate tag";
			return -1;
		}
	if (t->n == DKIM_MAX_TAGS) {
		*error_r = "too many tags";
		return -1;
	}
	va = eqpos + 1;
	trim(s, &va, &vb);
	tag = &t->tag[t->n++];
	tag->name = s + na;
	tag->name_len = nb - na;
	tag->value = s + va;
	tag->value_len = vb - va;
	tag->raw_off = eqpos + 1;
	tag->raw_len = end - (eqpos + 1);
	return 0;
}

int
dkim_tags_parse(const char *s, size_t len, struct dkim_tags *t,
    const char **error_r)
{
	size_t pos = 0;

	t->n = 0;
	/* RFC 6376 3.2: tag values are printable text and white space; a NUL
	 * would cut a value short once it is kept as a C string (i= without
	 * its "@domain", found by fuzz-dkim-sig). */
	if (memchr(s, '\0', len) != NULL) {
		*error_r = "NUL byte in tag list";
		return -1;
	}
	while (pos < len) {
		const char *semi = memchr(s + pos, ';', len - pos);
		size_t end = semi != NULL ? (size_t)(semi - s) : len;
		size_t a = pos, b = end;

		trim(s, &a, &b);
		if (a < b && tag_add(t, s, a, b, end, error_r) < 0) {
			t->n = 0;
			return -1;
		}
		pos = end + 1;
	}
	return 0;
}

const struct dkim_tag *
dkim_tags_get(const struct dkim_tags *t, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < t->n; i++)
		if (t->tag[i].name_len == n &&
		    memcmp(t->tag[i].name, name, n) == 0)
			return &t->tag[i];
	return NULL;
}

/* True when the colon-separated list v[0..n) has item (case-insensitive,
 * white space around items ignored). */
static bool
list_has(const char *v, size_t n, const char *item)
{
	size_t pos = 0;

	while (pos <= n) {
		const char *c = memchr(v + pos, ':', n - pos);
		size_t end = c != NULL ? (size_t)(c - v) : n, a = pos, b = end;

		trim(v, &a, &b);
		if (dkim_caseeq(v + a, b - a, item))
			return true;
		pos = end + 1;
	}
	return false;
}

/* A decimal number of at most 19 digits (RFC 6376 allows 76; 10^19 is
 * far beyond any body length or time). */
static int
parse_u64(const struct dkim_tag *tag, uint64_t *r)
{
	uint64_t v = 0;

	if (tag->value_len == 0 || tag->value_len > 19)
		return -1;
	for (size_t i = 0; i < tag->value_len; i++) {
		if (!isdigit((unsigned char)tag->value[i]))
			return -1;
		v = v * 10 + (uint64_t)(tag->value[i] - '0');
	}
	*r = v;
	return 0;
}

char *
dkim_lower_dup(const char *s, size_t n)
{
	char *r = xstrndup(s, n);

	for (size_t i = 0; i < n; i++)
		r[i] = (char)tolower((unsigned char)r[i]);
	return r;
}

/* ---- DKIM-Signature (RFC 6376 3.5, 6.1.1) ------------------------------ */

void
dkim_sig_clear(struct dkim_sig *sig)
{
	free(sig->domain);
	free(sig->selector);
	free(sig->auid);
	for (size_t i = 0; i < sig->nfields; i++)
		free(sig->fields[i]);
	free(sig->fields);
	free(sig->b);
	memset(sig, 0, sizeof(*sig));
}

static int
sig_alg(struct dkim_sig *sig, const struct dkim_tag *a, const char **error_r)
{
	if (dkim_caseeq(a->value, a->value_len, "rsa-sha256"))
		sig->key_type = DKIM_KEY_RSA;
	else if (dkim_caseeq(a->value, a->value_len, "ed25519-sha256"))
		sig->key_type = DKIM_KEY_ED25519;
	else {
		*error_r = dkim_caseeq(a->value, a->value_len, "rsa-sha1") ?
		    "rsa-sha1 is not accepted (RFC 8301)" :
		    "unknown signing algorithm";
		return -1;
	}
	return 0;
}

static int
canon_word(const char *s, size_t n, enum dkim_canon *c)
{
	if (dkim_caseeq(s, n, "simple"))
		*c = DKIM_CANON_SIMPLE;
	else if (dkim_caseeq(s, n, "relaxed"))
		*c = DKIM_CANON_RELAXED;
	else
		return -1;
	return 0;
}

static int
sig_canon(struct dkim_sig *sig, const struct dkim_tag *c, const char **error_r)
{
	const char *slash;
	size_t hl;

	sig->hcanon = sig->bcanon = DKIM_CANON_SIMPLE;
	if (c == NULL)
		return 0;
	slash = memchr(c->value, '/', c->value_len);
	hl = slash != NULL ? (size_t)(slash - c->value) : c->value_len;
	if (canon_word(c->value, hl, &sig->hcanon) < 0 || (slash != NULL &&
	    canon_word(slash + 1, c->value_len - hl - 1, &sig->bcanon) < 0)) {
		*error_r = "unknown canonicalization";
		return -1;
	}
	return 0;
}

/* RFC 5322 ftext: printable ASCII but the colon (split on already). */
static bool
field_name_valid(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 33 || (unsigned char)s[i] > 126)
			return false;
	return true;
}

/* h=: colon-separated field names, FWS around each; must name From. */
static int
sig_fields(struct dkim_sig *sig, const struct dkim_tag *h, const char **error_r)
{
	size_t pos = 0, n = h->value_len;
	bool from = false;

	sig->fields = xcalloc(DKIM_MAX_SIGNED_FIELDS, sizeof(char *));
	while (pos <= n) {
		const char *c = memchr(h->value + pos, ':', n - pos);
		size_t end = c != NULL ? (size_t)(c - h->value) : n;
		size_t a = pos, b = end;

		trim(h->value, &a, &b);
		if (!field_name_valid(h->value + a, b - a)) {
			*error_r = "bad field name in h=";
			return -1;
		}
		if (sig->nfields == DKIM_MAX_SIGNED_FIELDS) {
			*error_r = "too many names in h=";
			return -1;
		}
		sig->fields[sig->nfields++] = xstrndup(h->value + a, b - a);
		from = from || dkim_caseeq(h->value + a, b - a, "from");
		pos = end + 1;
	}
	if (!from) {
		*error_r = "From is not signed";
		return -1;
	}
	return 0;
}

/* i=: [local-part] "@" domain, domain d= or below it. */
static int
sig_auid(struct dkim_sig *sig, const struct dkim_tag *i, const char **error_r)
{
	const char *at;
	size_t dl, dn = strlen(sig->domain);

	if (i == NULL) {
		sig->auid = xasprintf("@%s", sig->domain);
		return 0;
	}
	at = memrchr(i->value, '@', i->value_len);
	if (at == NULL) {
		*error_r = "i= has no '@'";
		return -1;
	}
	dl = i->value_len - (size_t)(at + 1 - i->value);
	if (!(dkim_caseeq(at + 1, dl, sig->domain) || (dl > dn &&
	    at[dl - dn] == '.' && dkim_caseeq(at + 1 + dl - dn, dn,
	    sig->domain)))) {
		*error_r = "i= is not in d=";
		return -1;
	}
	sig->auid = xstrndup(i->value, i->value_len);
	return 0;
}

/* b= (and bh= unless NULL: an ARC-Seal has none). */
static int
sig_hashes(struct dkim_sig *sig, const struct dkim_tag *bh,
    const struct dkim_tag *b, const char **error_r)
{
	struct buf d;
	size_t k = 0;

	buf_init(&d, DKIM_RSA_MAX_BITS / 8 + 64);
	if (bh != NULL && (dkim_b64_decode_fws(bh->value, bh->value_len,
	    &d) < 0 || d.len != DKIM_SHA256_LEN)) {
		buf_free(&d);
		*error_r = "bad bh=";
		return -1;
	}
	if (bh != NULL)
		memcpy(sig->bh, d.data, DKIM_SHA256_LEN);
	buf_reset(&d);
	if (dkim_b64_decode_fws(b->value, b->value_len, &d) < 0 ||
	    d.len == 0) {
		buf_free(&d);
		*error_r = "bad b=";
		return -1;
	}
	sig->b = (unsigned char *)buf_steal(&d, &sig->b_len);
	for (size_t i = 0; i < b->value_len && k < 16; i++)
		if (!DKIM_IS_FWS(b->value[i]))
			sig->b_short[k++] = b->value[i];
	sig->b_short[k] = '\0';
	sig->b_off = b->raw_off;
	sig->b_raw_len = b->raw_len;
	return 0;
}

static int
sig_numbers(struct dkim_sig *sig, const struct dkim_tags *t,
    const char **error_r)
{
	const struct dkim_tag *l = dkim_tags_get(t, "l");
	const struct dkim_tag *tt = dkim_tags_get(t, "t");
	const struct dkim_tag *x = dkim_tags_get(t, "x");

	if ((l != NULL && parse_u64(l, &sig->length) < 0) ||
	    (tt != NULL && parse_u64(tt, &sig->time) < 0) ||
	    (x != NULL && parse_u64(x, &sig->expire) < 0)) {
		*error_r = "bad l=, t= or x=";
		return -1;
	}
	sig->has_length = l != NULL;
	sig->has_time = tt != NULL;
	sig->has_expire = x != NULL;
	if (sig->has_time && sig->has_expire && sig->expire < sig->time) {
		*error_r = "x= is before t=";
		return -1;
	}
	return 0;
}

static int
sig_names(struct dkim_sig *sig, const struct dkim_tag *d,
    const struct dkim_tag *s, const struct dkim_tag *q, const char **error_r)
{
	if (!dkim_name_valid(d->value, d->value_len)) {
		*error_r = "bad d=";
		return -1;
	}
	if (!dkim_name_valid(s->value, s->value_len)) {
		*error_r = "bad s=";
		return -1;
	}
	if (q != NULL && !list_has(q->value, q->value_len, "dns/txt") &&
	    !list_has(q->value, q->value_len, "dns")) {
		*error_r = "q= has no dns/txt";
		return -1;
	}
	sig->domain = dkim_lower_dup(d->value, d->value_len);
	sig->selector = dkim_lower_dup(s->value, s->value_len);
	return 0;
}

static int
sig_fill(struct dkim_sig *sig, const struct dkim_tags *t, const char **error_r)
{
	const struct dkim_tag *v = dkim_tags_get(t, "v");
	const struct dkim_tag *a = dkim_tags_get(t, "a");
	const struct dkim_tag *b = dkim_tags_get(t, "b");
	const struct dkim_tag *bh = dkim_tags_get(t, "bh");
	const struct dkim_tag *d = dkim_tags_get(t, "d");
	const struct dkim_tag *h = dkim_tags_get(t, "h");
	const struct dkim_tag *s = dkim_tags_get(t, "s");

	if (v == NULL || a == NULL || b == NULL || bh == NULL || d == NULL ||
	    h == NULL || s == NULL) {
		*error_r = "a required tag is missing";
		return -1;
	}
	if (v->value_len != 1 || v->value[0] != '1') {
		*error_r = "v= is not 1";
		return -1;
	}
	if (sig_alg(sig, a, error_r) < 0 ||
	    sig_canon(sig, dkim_tags_get(t, "c"), error_r) < 0 ||
	    sig_names(sig, d, s, dkim_tags_get(t, "q"), error_r) < 0 ||
	    sig_auid(sig, dkim_tags_get(t, "i"), error_r) < 0 ||
	    sig_fields(sig, h, error_r) < 0 ||
	    sig_hashes(sig, bh, b, error_r) < 0)
		return -1;
	return sig_numbers(sig, t, error_r);
}

/* An ARC-Message-Signature (seal false) or ARC-Seal: a DKIM signature
 * without v=, whose i= is the instance (RFC 8617 4.1.2, 4.1.3); the
 * AUID is "@" d=. The seal has no bh=, h= or c=. */
static int
arc_sig_fill(struct dkim_sig *sig, const struct dkim_tags *t, bool seal,
    const char **error_r)
{
	const struct dkim_tag *a = dkim_tags_get(t, "a");
	const struct dkim_tag *b = dkim_tags_get(t, "b");
	const struct dkim_tag *bh = dkim_tags_get(t, "bh");
	const struct dkim_tag *d = dkim_tags_get(t, "d");
	const struct dkim_tag *h = dkim_tags_get(t, "h");
	const struct dkim_tag *s = dkim_tags_get(t, "s");

	if (a == NULL || b == NULL || d == NULL || s == NULL ||
	    (!seal && (bh == NULL || h == NULL))) {
		*error_r = "a required tag is missing";
		return -1;
	}
	if (sig_alg(sig, a, error_r) < 0 ||
	    (!seal && sig_canon(sig, dkim_tags_get(t, "c"), error_r) < 0) ||
	    sig_names(sig, d, s, NULL, error_r) < 0 ||
	    sig_auid(sig, NULL, error_r) < 0 ||
	    (!seal && sig_fields(sig, h, error_r) < 0) ||
	    sig_hashes(sig, seal ? NULL : bh, b, error_r) < 0)
		return -1;
	if (seal)
		sig->hcanon = sig->bcanon = DKIM_CANON_RELAXED;
	return sig_numbers(sig, t, error_r);
}

/* A DKIM-Signature (arc false) or an ARC signature (seal: which). */
static int
sig_parse(const char *value, size_t len, bool arc, bool seal,
    struct dkim_sig *sig, const char **error_r)
{
	struct dkim_tags t;

	memset(sig, 0, sizeof(*sig));
	if (dkim_tags_parse(value, len, &t, error_r) < 0)
		return -1;
	if ((arc ? arc_sig_fill(sig, &t, seal, error_r) :
	    sig_fill(sig, &t, error_r)) < 0) {
		dkim_sig_clear(sig);
		return -1;
	}
	return 0;
}

int
dkim_arc_sig_parse(const char *value, size_t len, bool seal,
    struct dkim_sig *sig, const char **error_r)
{
	return sig_parse(value, len, true, seal, sig, error_r);
}

int
dkim_sig_parse(const char *value, size_t len, struct dkim_sig *sig,
    const char **error_r)
{
	return sig_parse(value, len, false, false, sig, error_r);
}

/* ---- key records (RFC 6376 3.6.1, RFC 8463 4) -------------------------- */

void
dkim_pubkey_clear(struct dkim_pubkey *k)
{
	EVP_PKEY_free(k->pkey);
	memset(k, 0, sizeof(*k));
}

/* An RSA key from SubjectPublicKeyInfo DER, or a bare RSAPublicKey
 * (PKCS#1), which some publish. */
static EVP_PKEY *
rsa_key(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY *k;

	if (len > 4096)
		return NULL;
	k = d2i_PUBKEY(NULL, &p, (long)len);
	if (k == NULL) {
		p = der;
		k = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
	}
	return k;
}

static int
key_material(struct dkim_pubkey *k, const struct buf *p, const char **error_r)
{
	const unsigned char *der = (const unsigned char *)p->data;

	if (k->type == DKIM_KEY_ED25519) {
		if (p->len == 32)
			k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519,
			    NULL, der, 32);
		k->bits = 256;
		if (k->pkey == NULL) {
			*error_r = "p= is not an Ed25519 key";
			return -1;
		}
		return 0;
	}
	k->pkey = rsa_key(der, p->len);
	if (k->pkey == NULL || EVP_PKEY_get_base_id(k->pkey) != EVP_PKEY_RSA) {
		*error_r = "p= is not an RSA key";
		return -1;
	}
	k->bits = (unsigned)EVP_PKEY_get_bits(k->pkey);
	if (k->bits < DKIM_RSA_MIN_BITS || k->bits > DKIM_RSA_MAX_BITS) {
		*error_r = k->bits < DKIM_RSA_MIN_BITS ?
		    "RSA key shorter than 1024 bits" : "RSA key too long";
		return -1;
	}
	return 0;
}

/* The tags other than p=; 0 or -1 + reason. */
static int
key_tags(struct dkim_pubkey *k, const struct dkim_tags *t,
    const char **error_r)
{
	const struct dkim_tag *v = dkim_tags_get(t, "v");
	const struct dkim_tag *h = dkim_tags_get(t, "h");
	const struct dkim_tag *kt = dkim_tags_get(t, "k");
	const struct dkim_tag *s = dkim_tags_get(t, "s");
	const struct dkim_tag *fl = dkim_tags_get(t, "t");

	if (v != NULL && (v != &t->tag[0] ||
	    !dkim_caseeq(v->value, v->value_len, "DKIM1"))) {
		*error_r = "v= is not DKIM1 first";
		return -1;
	}
	if (h != NULL && !list_has(h->value, h->value_len, "sha256")) {
		*error_r = "key h= does not allow sha256";
		return -1;
	}
	if (s != NULL && !list_has(s->value, s->value_len, "email") &&
	    !list_has(s->value, s->value_len, "*")) {
		*error_r = "key s= is not for email";
		return -1;
	}
	k->type = DKIM_KEY_RSA;
	if (kt != NULL && dkim_caseeq(kt->value, kt->value_len, "ed25519"))
		k->type = DKIM_KEY_ED25519;
	else if (kt != NULL && !dkim_caseeq(kt->value, kt->value_len, "rsa")) {
		*error_r = "unknown key type k=";
		return -1;
	}
	k->testing = fl != NULL && list_has(fl->value, fl->value_len, "y");
	k->strict = fl != NULL && list_has(fl->value, fl->value_len, "s");
	return 0;
}

int
dkim_pubkey_parse(const char *txt, size_t len, struct dkim_pubkey *k,
    const char **error_r)
{
	const struct dkim_tag *p;
	struct dkim_tags t;
	struct buf der;
	int r = -1;

	memset(k, 0, sizeof(*k));
	if (dkim_tags_parse(txt, len, &t, error_r) < 0 ||
	    key_tags(k, &t, error_r) < 0)
		return -1;
	if ((p = dkim_tags_get(&t, "p")) == NULL) {
		*error_r = "key record has no p=";
		return -1;
	}
	buf_init(&der, 4096);
	if (p->value_len == 0)
		*error_r = "key revoked";
	else if (dkim_b64_decode_fws(p->value, p->value_len, &der) < 0 ||
	    der.len == 0)
		*error_r = "bad base64 in p=";
	else
		r = key_material(k, &der, error_r);
	buf_free(&der);
	if (r < 0)
		dkim_pubkey_clear(k);
	ERR_clear_error();
	return r;
}

/* ---- results ------------------------------------------------------------ */

void
dkim_results_free(struct dkim_results **r)
{
	if (*r == NULL)
		return;
	for (size_t i = 0; i < (*r)->n; i++) {
		free((*r)->sig[i].domain);
		free((*r)->sig[i].selector);
		free((*r)->sig[i].auid);
	}
	free((*r)->sig);
	XFREE(r);
}
