/*
 * dkim_check - the I/O-free DKIM verifier (RFC 6376 6.1, RFC 8463): reads
 * a message's signatures, computes everything that needs no key at once,
 * then decides each signature when its key record is handed in. See
 * dkim.h; dkim_verify.c drives it with DNS look-ups.
 *
 * Trust: message and key records from anyone. Work is bounded: at most
 * DKIM_MAX_SIGS signatures, one body pass per distinct (c=, l=), header
 * fields capped at DKIM_MAX_FIELDS, one public-key operation per
 * signature. Nothing of the message is kept after dkim_verifier_new.
 *
 * Body length (l=): only the first l canonical octets are hashed, as RFC
 * 6376 3.5 says; an l= shorter than the body passes but is flagged
 * "partial" (whatever follows was added by someone else, 8.2), an l=
 * longer than the body is a permerror.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "policy/dkim.h"
#include "policy/dkim_int.h"
#include "util/xmalloc.h"

struct dkim_check {
	bool			 decided;
	enum dkim_status	 status;
	const char		*reason;
	bool			 parsed;
	struct dkim_sig		 sig;
	unsigned char		 hd[DKIM_SHA256_LEN];
	char			*key_name;
	unsigned		 key_bits;
	bool			 testing;
	bool			 partial;
};

/* One body hash in progress, shared by the signatures with the same c=
 * and l=. */
struct body_run {
	enum dkim_canon		 canon;
	uint64_t		 limit;
	struct dkim_bodyhash	 h;
	unsigned char		 md[DKIM_SHA256_LEN];
	uint64_t		 total;
};

struct dkim_verifier {
	size_t			 n;
	struct dkim_check	 c[DKIM_MAX_SIGS];
	int			 run[DKIM_MAX_SIGS];	/* c[i]'s body run, -1 */
	size_t			 skipped;
	size_t			 nruns;
	bool			 body_done;
	struct body_run		 runs[DKIM_MAX_SIGS];
};

static void
decide(struct dkim_check *c, enum dkim_status st, const char *reason)
{
	c->decided = true;
	c->status = st;
	c->reason = reason;
}

/* The body run for (canon, limit), started when new. */
static int
body_run(struct dkim_verifier *v, enum dkim_canon canon, uint64_t limit)
{
	size_t i;

	for (i = 0; i < v->nruns; i++)
		if (v->runs[i].canon == canon && v->runs[i].limit == limit)
			return (int)i;
	v->nruns++;
	v->runs[i].canon = canon;
	v->runs[i].limit = limit;
	dkim_bodyhash_init(&v->runs[i].h, canon, limit, NULL);
	return (int)i;
}

/* Body hash and l= (RFC 6376 6.1.3), once the body is through. */
static void
check_body(struct dkim_check *c, const struct body_run *r)
{
	const struct dkim_sig *s = &c->sig;

	if (s->has_length && s->length > r->total)
		decide(c, DKIM_PERMERROR, "l= is longer than the body");
	else if (memcmp(r->md, s->bh, DKIM_SHA256_LEN) != 0)
		decide(c, DKIM_FAIL, "body hash did not verify");
	else
		c->partial = s->has_length && s->length < r->total;
}

/* Parses field i of fs as signature c and does every check that needs
 * no key. */
static void
check_start(struct dkim_check *c, const char *msg,
    const struct dkim_fields *fs, size_t i, time_t now)
{
	const struct dkim_field *f = &fs->f[i];
	size_t vlen = f->off + f->len - f->value_off;
	const char *err;

	if (fs->too_many) {
		decide(c, DKIM_PERMERROR, "too many header fields");
		return;
	}
	if (f->len > DKIM_SIG_FIELD_MAX) {
		decide(c, DKIM_PERMERROR, "signature field too long");
		return;
	}
	if (vlen > 0 && msg[f->value_off + vlen - 1] == '\n')
		vlen--;
	if (dkim_sig_parse(msg + f->value_off, vlen, &c->sig, &err) < 0) {
		decide(c, DKIM_PERMERROR, err);
		return;
	}
	c->parsed = true;
	if (c->sig.has_expire && now > 0 && c->sig.expire < (uint64_t)now) {
		decide(c, DKIM_PERMERROR, "signature expired");
		return;
	}
	c->key_name = xasprintf("%s._domainkey.%s", c->sig.selector,
	    c->sig.domain);
	if (!dkim_name_valid(c->key_name, strlen(c->key_name))) {
		decide(c, DKIM_PERMERROR, "key name too long");
		return;
	}
	if (dkim_header_digest(msg, fs, c->sig.hcanon,
	    (const char *const *)c->sig.fields, c->sig.nfields, i, NULL, 0,
	    f->value_off - f->off + c->sig.b_off, c->sig.b_raw_len, c->hd,
	    NULL) < 0)
		decide(c, DKIM_TEMPERROR, "cannot hash the header");
}

struct dkim_verifier *
dkim_verifier_begin(const char *head, size_t len, time_t now)
{
	struct dkim_verifier *v = xcalloc(1, sizeof(*v));
	struct dkim_fields fs;

	dkim_fields_collect(head, len, &fs);
	for (size_t i = 0; i < fs.n; i++) {
		struct dkim_check *c;

		if (!dkim_caseeq(fs.f[i].name, fs.f[i].name_len,
		    "DKIM-Signature"))
			continue;
		if (v->n == DKIM_MAX_SIGS) {
			v->skipped++;
			continue;
		}
		c = &v->c[v->n];
		check_start(c, head, &fs, i, now);
		v->run[v->n++] = c->decided ? -1 : body_run(v,
		    c->sig.bcanon, c->sig.has_length ? c->sig.length :
		    UINT64_MAX);
	}
	dkim_fields_free(&fs);
	return v;
}

void
dkim_verifier_body(struct dkim_verifier *v, const char *p, size_t n)
{
	for (size_t i = 0; i < v->nruns; i++)
		dkim_bodyhash_update(&v->runs[i].h, p, n);
}

void
dkim_verifier_body_end(struct dkim_verifier *v)
{
	if (v->body_done)
		return;
	v->body_done = true;
	for (size_t i = 0; i < v->nruns; i++)
		dkim_bodyhash_final(&v->runs[i].h, v->runs[i].md,
		    &v->runs[i].total);
	for (size_t i = 0; i < v->n; i++)
		if (v->run[i] >= 0 && !v->c[i].decided)
			check_body(&v->c[i], &v->runs[v->run[i]]);
}

struct dkim_verifier *
dkim_verifier_new(const char *msg, size_t len, time_t now)
{
	struct dkim_verifier *v;
	struct dkim_fields fs;
	size_t body_off;

	dkim_fields_collect(msg, len, &fs);
	body_off = fs.body_off <= len ? fs.body_off : len;
	dkim_fields_free(&fs);
	v = dkim_verifier_begin(msg, body_off, now);
	dkim_verifier_body(v, msg + body_off, len - body_off);
	dkim_verifier_body_end(v);
	return v;
}

size_t
dkim_verifier_count(const struct dkim_verifier *v)
{
	return v->n;
}

const char *
dkim_verifier_key_name(const struct dkim_verifier *v, size_t i)
{
	if (i >= v->n || v->c[i].decided)
		return NULL;
	return v->c[i].key_name;
}

/* RSASSA-PKCS1-v1_5 / PureEdDSA over the 32-octet digest. */
bool
dkim_verify_digest(const struct dkim_pubkey *k, const unsigned char *md,
    const unsigned char *sig, size_t sig_len)
{
	EVP_PKEY_CTX *pctx = NULL;
	EVP_MD_CTX *mctx = NULL;
	bool ok;

	if (k->type == DKIM_KEY_RSA) {
		ok = (pctx = EVP_PKEY_CTX_new(k->pkey, NULL)) != NULL &&
		    EVP_PKEY_verify_init(pctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()) == 1 &&
		    EVP_PKEY_verify(pctx, sig, sig_len, md,
		    DKIM_SHA256_LEN) == 1;
	} else {
		ok = (mctx = EVP_MD_CTX_new()) != NULL &&
		    EVP_DigestVerifyInit(mctx, NULL, NULL, NULL, k->pkey) == 1 &&
		    EVP_DigestVerify(mctx, sig, sig_len, md,
		    DKIM_SHA256_LEN) == 1;
	}
	EVP_PKEY_CTX_free(pctx);
	EVP_MD_CTX_free(mctx);
	ERR_clear_error();
	return ok;
}

/* The domain of the AUID equals d= exactly (key flag t=s). */
static bool
auid_in_d(const struct dkim_sig *s)
{
	const char *at = strrchr(s->auid, '@');

	return at != NULL && dkim_caseeq(at + 1, strlen(at + 1), s->domain);
}

static void
check_key(struct dkim_check *c, const struct dkim_pubkey *k)
{
	c->key_bits = k->bits;
	c->testing = k->testing;
	if (k->type != c->sig.key_type)
		decide(c, DKIM_PERMERROR, "key type does not match a=");
	else if (k->strict && !auid_in_d(&c->sig))
		decide(c, DKIM_PERMERROR, "i= is not d= (key t=s)");
	else if (dkim_verify_digest(k, c->hd, c->sig.b, c->sig.b_len))
		decide(c, DKIM_PASS, NULL);
	else
		decide(c, DKIM_FAIL, "signature did not verify");
}

void
dkim_verifier_set_key(struct dkim_verifier *v, size_t i,
    enum dkim_key_answer a, char *const *txt, size_t n)
{
	struct dkim_check *c;
	struct dkim_pubkey k;
	const char *err = "no key record";

	if (i >= v->n || v->c[i].decided)
		return;
	c = &v->c[i];
	if (a == DKIM_KEY_NONE) {
		decide(c, DKIM_PERMERROR, "no key for signature");
		return;
	}
	if (a == DKIM_KEY_TEMPFAIL) {
		decide(c, DKIM_TEMPERROR, "key look-up failed");
		return;
	}
	for (size_t j = 0; j < n; j++) {
		if (txt[j] == NULL ||
		    dkim_pubkey_parse(txt[j], strlen(txt[j]), &k, &err) < 0)
			continue;
		check_key(c, &k);
		dkim_pubkey_clear(&k);
		return;
	}
	decide(c, DKIM_PERMERROR, err);
}

static void
fill_result(struct dkim_sig_result *r, struct dkim_check *c)
{
	if (!c->decided)
		decide(c, DKIM_TEMPERROR, "no key answer");
	r->status = c->status;
	r->reason = c->reason;
	r->key_bits = c->key_bits;
	r->testing = c->testing;
	r->partial = c->partial;
	if (!c->parsed)
		return;
	r->domain = c->sig.domain;
	r->selector = c->sig.selector;
	r->auid = c->sig.auid;
	c->sig.domain = c->sig.selector = c->sig.auid = NULL;
	memcpy(r->b_short, c->sig.b_short, sizeof(r->b_short));
	r->key_type = c->sig.key_type;
	r->has_length = c->sig.has_length;
	r->length = c->sig.length;
}

struct dkim_results *
dkim_verifier_finish(struct dkim_verifier **vp)
{
	struct dkim_verifier *v = *vp;
	struct dkim_results *r = xmalloc(sizeof(*r));

	dkim_verifier_body_end(v);	/* frees the digest states */
	r->n = v->n;
	r->skipped = v->skipped;
	r->sig = xcalloc(v->n + 1, sizeof(*r->sig));
	for (size_t i = 0; i < v->n; i++) {
		fill_result(&r->sig[i], &v->c[i]);
		dkim_sig_clear(&v->c[i].sig);
		free(v->c[i].key_name);
	}
	XFREE(vp);
	return r;
}
