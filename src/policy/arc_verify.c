/*
 * arc_verify - the I/O-free ARC chain validator (RFC 8617 5.2): the
 * structure from arc_header.c (steps 1-3), then the newest
 * ARC-Message-Signature verified like a DKIM signature (step 4: its body
 * hash streamed, its header digest over the fields its h= names) and
 * every ARC-Seal over the sets 1..i (step 6). Older AMSs are not checked
 * (step 5 is optional: no header.oldest-pass). See arc.h.
 *
 * Trust: header fields and key records from anyone; bounded as arc.h
 * says. Nothing of the message is kept after arc_verifier_begin but the
 * newest AAR payload and the d= values (copies).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/arc.h"
#include "policy/dkim_int.h"
#include "util/xmalloc.h"

/* One signature: the newest AMS or a seal. */
struct arc_sig {
	bool			 parsed;
	bool			 decided;
	bool			 ok;
	const char		*reason;
	struct dkim_sig		 sig;
	unsigned char		 hd[DKIM_SHA256_LEN];
	size_t			 key;		/* index into key_name */
};

struct arc_verifier {
	enum arc_status		 status;	/* ARC_PASS: go on checking */
	const char		*reason;
	unsigned		 n;
	bool			 latest_cv_fail;
	struct arc_sig		 ams;
	struct arc_sig		 as[ARC_MAX_SETS];	/* as[i - 1]: instance i */
	size_t			 nkeys;
	char			*key_name[ARC_MAX_SETS + 1];
	struct dkim_bodyhash	 bh;
	bool			 bh_open;
	char			*aar;
};

const char *
arc_status_str(enum arc_status st)
{
	switch (st) {
	case ARC_PASS: return "pass";
	case ARC_FAIL: return "fail";
	default: return "none";
	}
}

void
arc_result_clear(struct arc_result *r)
{
	free(r->sealer);
	free(r->ams_domain);
	free(r->aar);
	memset(r, 0, sizeof(*r));
}

static void
chain_fail(struct arc_verifier *v, const char *reason)
{
	if (v->status != ARC_FAIL) {
		v->status = ARC_FAIL;
		v->reason = reason;
	}
}

static void
sig_decide(struct arc_sig *s, bool ok, const char *reason)
{
	s->decided = true;
	s->ok = ok;
	s->reason = reason;
}

/* The key name of s, shared with the signatures before it when equal. */
static void
sig_key(struct arc_verifier *v, struct arc_sig *s)
{
	char *name = xasprintf("%s._domainkey.%s", s->sig.selector,
	    s->sig.domain);

	if (!dkim_name_valid(name, strlen(name))) {
		free(name);
		sig_decide(s, false, "key name too long");
		return;
	}
	for (size_t k = 0; k < v->nkeys; k++)
		if (strcmp(v->key_name[k], name) == 0) {
			s->key = k;
			free(name);
			return;
		}
	s->key = v->nkeys;
	v->key_name[v->nkeys++] = name;
}

/* Parses one AMS or AS field; false (chain failed) when unusable. */
static bool
sig_parse(struct arc_verifier *v, struct arc_sig *s,
    const struct rfc5322_field *f, bool seal, const char *reason)
{
	const char *err;

	if (f->len > DKIM_SIG_FIELD_MAX) {
		chain_fail(v, "ARC field too long");
		return false;
	}
	if (dkim_arc_sig_parse(f->value, f->value_len, seal, &s->sig,
	    &err) < 0) {
		chain_fail(v, reason);
		return false;
	}
	s->parsed = true;
	return true;
}

/* Step 4, without the key: the newest AMS's header digest and body run. */
static void
ams_begin(struct arc_verifier *v, const char *head, size_t len,
    const struct rfc5322_field *f, time_t now)
{
	struct arc_sig *s = &v->ams;
	struct dkim_fields fs;
	size_t self = SIZE_MAX;

	if (!sig_parse(v, s, f, false, "bad ARC-Message-Signature"))
		return;
	for (size_t i = 0; i < s->sig.nfields; i++)
		if (dkim_caseeq(s->sig.fields[i], strlen(s->sig.fields[i]),
		    "ARC-Seal")) {
			chain_fail(v, "ARC-Message-Signature signs ARC-Seal");
			return;
		}
	if (s->sig.has_expire && now > 0 && s->sig.expire < (uint64_t)now) {
		chain_fail(v, "ARC-Message-Signature expired");
		return;
	}
	dkim_fields_collect(head, len, &fs);
	for (size_t i = 0; i < fs.n; i++)
		if (fs.f[i].off == f->off)
			self = i;
	if (fs.too_many || self == SIZE_MAX)
		chain_fail(v, "too many header fields");
	else if (dkim_header_digest(head, &fs, s->sig.hcanon,
	    (const char *const *)s->sig.fields, s->sig.nfields, self, NULL, 0,
	    (size_t)(f->value - head) - f->off + s->sig.b_off, s->sig.b_raw_len,
	    s->hd, NULL) < 0)
		chain_fail(v, "cannot hash the header");
	dkim_fields_free(&fs);
	if (v->status == ARC_FAIL)
		return;
	dkim_bodyhash_init(&v->bh, s->sig.bcanon, s->sig.has_length ?
	    s->sig.length : UINT64_MAX, NULL);
	v->bh_open = true;
	sig_key(v, s);
}

/* Step 6, without the key: seal i's digest over the sets 1..i. */
static void
as_begin(struct arc_verifier *v, const char *head, const struct arc_chain *c,
    unsigned i)
{
	const struct rfc5322_field *asf = &c->set[i - 1].field[ARC_AS];
	struct arc_sig *s = &v->as[i - 1];
	const char *f[3 * ARC_MAX_SETS];
	size_t flen[3 * ARC_MAX_SETS], n = 0;

	if (!sig_parse(v, s, asf, true, "bad ARC-Seal"))
		return;
	for (unsigned j = 0; j < i; j++)
		for (int k = ARC_AAR; k <= ARC_AS; k++) {
			const struct rfc5322_field *rf = &c->set[j].field[k];

			f[n] = head + rf->off;
			flen[n++] = rf->len;
		}
	if (dkim_seq_digest(DKIM_CANON_RELAXED, f, flen, n,
	    (size_t)(asf->value - head) - asf->off + s->sig.b_off,
	    s->sig.b_raw_len, s->hd) < 0) {
		chain_fail(v, "cannot hash the ARC sets");
		return;
	}
	sig_key(v, s);
}

/* The newest AAR's payload and the seal's d= for the result. */
static void
keep_aar(struct arc_verifier *v, const struct arc_chain *c)
{
	const struct rfc5322_field *rf = &c->set[c->n - 1].field[ARC_AAR];
	struct arc_field af;
	const char *err;

	if (arc_field_parse(ARC_AAR, rf->value, rf->value_len, &af, NULL,
	    &err) == 0)
		v->aar = xstrndup(af.payload, af.payload_len);
}

struct arc_verifier *
arc_verifier_begin(const char *head, size_t len, time_t now)
{
	struct arc_verifier *v = xcalloc(1, sizeof(*v));
	struct arc_chain *c = xmalloc(sizeof(*c));

	switch (arc_chain_collect(head, len, c)) {
	case ARC_STRUCT_NONE:
		v->status = ARC_NONE;
		break;
	case ARC_STRUCT_FAIL:
		v->status = ARC_FAIL;
		v->reason = c->reason;
		v->n = c->n;
		v->latest_cv_fail = c->n > 0 &&
		    (c->set[c->n - 1].have & (1u << ARC_AS)) &&
		    c->set[c->n - 1].cv == ARC_CV_FAIL;
		break;
	case ARC_STRUCT_OK:
		v->status = ARC_PASS;
		v->n = c->n;
		keep_aar(v, c);
		ams_begin(v, head, len, &c->set[c->n - 1].field[ARC_AMS], now);
		for (unsigned i = c->n; i >= 1 && v->status == ARC_PASS; i--)
			as_begin(v, head, c, i);
		break;
	}
	free(c);
	return v;
}

void
arc_verifier_body(struct arc_verifier *v, const char *p, size_t n)
{
	if (v->bh_open)
		dkim_bodyhash_update(&v->bh, p, n);
}

void
arc_verifier_body_end(struct arc_verifier *v)
{
	unsigned char md[DKIM_SHA256_LEN];
	uint64_t total;
	const struct dkim_sig *s = &v->ams.sig;

	if (!v->bh_open)
		return;
	v->bh_open = false;
	dkim_bodyhash_final(&v->bh, md, &total);
	if (s->has_length && s->length > total)
		sig_decide(&v->ams, false, "l= is longer than the body");
	else if (memcmp(md, s->bh, DKIM_SHA256_LEN) != 0)
		sig_decide(&v->ams, false, "body hash did not verify");
}

size_t
arc_verifier_key_count(const struct arc_verifier *v)
{
	return v->status == ARC_PASS ? v->nkeys : 0;
}

const char *
arc_verifier_key_name(const struct arc_verifier *v, size_t k)
{
	return k < v->nkeys ? v->key_name[k] : NULL;
}

static void
sig_check(struct arc_sig *s, size_t k, enum dkim_key_answer a,
    const struct dkim_pubkey *key, const char *err)
{
	if (!s->parsed || s->decided || s->key != k)
		return;
	if (a == DKIM_KEY_NONE)
		sig_decide(s, false, "no key for signature");
	else if (a == DKIM_KEY_TEMPFAIL)
		sig_decide(s, false, "key look-up failed");
	else if (key == NULL)
		sig_decide(s, false, err);
	else if (key->type != s->sig.key_type)
		sig_decide(s, false, "key type does not match a=");
	else if (dkim_verify_digest(key, s->hd, s->sig.b, s->sig.b_len))
		sig_decide(s, true, NULL);
	else
		sig_decide(s, false, "signature did not verify");
}

void
arc_verifier_set_key(struct arc_verifier *v, size_t k, enum dkim_key_answer a,
    char *const *txt, size_t n)
{
	struct dkim_pubkey key;
	const struct dkim_pubkey *kp = NULL;
	const char *err = "no key record";

	if (k >= v->nkeys)
		return;
	for (size_t j = 0; a == DKIM_KEY_FOUND && j < n && kp == NULL; j++)
		if (txt[j] != NULL && dkim_pubkey_parse(txt[j],
		    strlen(txt[j]), &key, &err) == 0)
			kp = &key;
	sig_check(&v->ams, k, a, kp, err);
	for (unsigned i = 0; i < v->n; i++)
		sig_check(&v->as[i], k, a, kp, err);
	if (kp != NULL)
		dkim_pubkey_clear(&key);
}

/* Steps 4 and 6: the AMS, then the seals from the newest down. */
static void
decide_chain(struct arc_verifier *v)
{
	if (v->status != ARC_PASS)
		return;
	if (!v->ams.decided || !v->ams.ok) {
		chain_fail(v, v->ams.decided ? v->ams.reason :
		    "no key answer");
		return;
	}
	for (unsigned i = v->n; i >= 1; i--) {
		const struct arc_sig *s = &v->as[i - 1];

		if (!s->decided || !s->ok) {
			chain_fail(v, s->decided ? s->reason :
			    "no key answer");
			return;
		}
	}
}

void
arc_verifier_finish(struct arc_verifier **vp, struct arc_result *r)
{
	struct arc_verifier *v = *vp;

	arc_verifier_body_end(v);
	decide_chain(v);
	memset(r, 0, sizeof(*r));
	r->status = v->status;
	r->reason = v->status == ARC_FAIL ? v->reason : NULL;
	r->n = v->n;
	r->latest_cv_fail = v->latest_cv_fail;
	r->aar = v->aar;
	if (v->n > 0 && v->as[v->n - 1].parsed) {
		r->sealer = v->as[v->n - 1].sig.domain;
		v->as[v->n - 1].sig.domain = NULL;
	}
	if (v->ams.parsed) {
		r->ams_domain = v->ams.sig.domain;
		v->ams.sig.domain = NULL;
	}
	dkim_sig_clear(&v->ams.sig);
	for (unsigned i = 0; i < v->n; i++)
		dkim_sig_clear(&v->as[i].sig);
	for (size_t k = 0; k < v->nkeys; k++)
		free(v->key_name[k]);
	XFREE(vp);
}
