/*
 * arc_seal - adding tem's ARC Set to a message it forwards (RFC 8617
 * 5.1): ARC-Authentication-Results (tem's own Authentication-Results,
 * found in the header), ARC-Message-Signature (a DKIM signature without
 * v=, relaxed/relaxed, over the fields tem signs for DKIM and the
 * DKIM-Signature fields) and ARC-Seal (over the sets 1..i; over the new
 * set alone when the chain failed, 5.1.2). See arc.h.
 *
 * Trust: the header is the sender's and the chain the path's; the key is
 * ours. Nothing here does I/O; the cost is two header digests and two
 * private-key operations (RSA 2048: about 1 ms each).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/arc.h"
#include "policy/authres.h"
#include "policy/dkim_int.h"
#include "util/base64.h"
#include "util/xmalloc.h"

/* The names the AMS signs: dkim_choose_fields, then DKIM-Signature once
 * per such field present. */
static size_t
ams_fields(const struct dkim_fields *fs, const char **names)
{
	size_t n = dkim_choose_fields(fs, names);

	if (n == 0)
		return 0;
	for (size_t i = 0; i < fs->n && n < DKIM_MAX_SIGNED_FIELDS; i++)
		if (dkim_caseeq(fs->f[i].name, fs->f[i].name_len,
		    "DKIM-Signature"))
			names[n++] = "DKIM-Signature";
	return n;
}

/* "ARC-Authentication-Results: i=N;" and the value of our own
 * Authentication-Results (authserv-id and results): ar[0..ar_len), else
 * the newest in head, else "id; none". */
static void
build_aar(struct buf *out, const char *head, size_t hlen, const char *ar,
    size_t ar_len, unsigned inst, const char *authserv_id)
{
	struct authres_range *r = NULL, one = { 0, ar_len };
	size_t n = 1;
	const char *colon = NULL;

	if (ar == NULL) {
		n = authres_find_ours(head, hlen, authserv_id, &r);
		ar = head;
	} else
		r = &one;
	if (n > 0)
		colon = memchr(ar + r[0].off, ':', r[0].len);
	buf_printf(out, "ARC-Authentication-Results: i=%u;", inst);
	if (colon != NULL) {
		const char *f = ar + r[0].off;
		size_t vlen = r[0].len - (size_t)(colon + 1 - f);

		/* on a line of its own: our field was folded for the
		 * shorter "Authentication-Results:" */
		while (vlen > 0 && (colon[1] == ' ' || colon[1] == '\t')) {
			colon++;
			vlen--;
		}
		buf_puts(out, "\n\t");
		buf_append(out, colon + 1, vlen);
		if (vlen == 0 || colon[vlen] != '\n')
			buf_putc(out, '\n');
	} else
		buf_printf(out, "\n\t%s; none\n", authserv_id);
	if (r != &one)
		free(r);
}

/* The common tags of both signatures: " i=N; a=..; [c=..;] d=..; s=..;
 * t=..;" */
static void
common_tags(struct dkim_fold *f, unsigned inst, const char *domain,
    const struct dkim_key *key, time_t now, bool ams)
{
	char t[32];

	snprintf(t, sizeof(t), "%u", inst);
	dkim_fold_tag(f, "i", t);
	dkim_fold_tag(f, "a", dkim_alg_str(key->type));
	if (ams)
		dkim_fold_put(f, "c=relaxed/relaxed;", 18, true);
	dkim_fold_tag(f, "d", domain);
	dkim_fold_tag(f, "s", key->selector);
	snprintf(t, sizeof(t), "%lld", (long long)now);
	dkim_fold_tag(f, "t", t);
}

/* The AMS, complete with its LF. 0 / -1. */
static int
build_ams(struct buf *out, const char *head, size_t hlen,
    const unsigned char bh[DKIM_SHA256_LEN], unsigned inst,
    const char *domain, const struct dkim_key *key, time_t now)
{
	const char *names[DKIM_MAX_SIGNED_FIELDS];
	unsigned char hd[DKIM_SHA256_LEN];
	struct dkim_fields fs;
	struct dkim_fold f = { out, 0 };
	struct buf b64, sig;
	size_t nnames;
	int r = -1;

	dkim_fields_collect(head, hlen, &fs);
	if (fs.too_many || (nnames = ams_fields(&fs, names)) == 0) {
		dkim_fields_free(&fs);
		return -1;
	}
	buf_init(&b64, 0);
	buf_init(&sig, 0);
	base64_encode(bh, DKIM_SHA256_LEN, &b64);
	buf_puts(out, "ARC-Message-Signature:");
	f.col = out->len;
	common_tags(&f, inst, domain, key, now, true);
	dkim_fold_names(&f, names, nnames);
	dkim_fold_tag(&f, "bh", buf_cstr(&b64));
	buf_append(out, "\n\tb=", 4);
	if (dkim_header_digest(head, &fs, DKIM_CANON_RELAXED, names, nnames,
	    SIZE_MAX, out->data, out->len, out->len, 0, hd, NULL) == 0 &&
	    dkim_sign_digest(key, hd, &sig) == 0) {
		dkim_put_b(out, (unsigned char *)sig.data, sig.len);
		r = 0;
	}
	buf_free(&b64);
	buf_free(&sig);
	dkim_fields_free(&fs);
	return r;
}

/*
 * The AS over the sets of the chain in head (1..inst-1, unless it
 * failed) and the new AAR and AMS in set[0..1]. 0 / -1.
 */
static int
build_as(struct buf *out, const char *head, size_t hlen,
    const struct buf *aar, const struct buf *ams, unsigned inst,
    enum arc_cv cv, const char *domain, const struct dkim_key *key,
    time_t now)
{
	const char *f[3 * ARC_MAX_SETS];
	size_t flen[3 * ARC_MAX_SETS], n = 0;
	unsigned char hd[DKIM_SHA256_LEN];
	struct arc_chain *c = xmalloc(sizeof(*c));
	struct dkim_fold fo = { out, 0 };
	struct buf sig;
	int r = -1;

	if (cv == ARC_CV_PASS && (arc_chain_collect(head, hlen, c) !=
	    ARC_STRUCT_OK || c->n + 1 != inst))
		goto out;
	for (unsigned j = 0; cv == ARC_CV_PASS && j + 1 < inst; j++)
		for (int k = ARC_AAR; k <= ARC_AS; k++) {
			f[n] = head + c->set[j].field[k].off;
			flen[n++] = c->set[j].field[k].len;
		}
	f[n] = aar->data;
	flen[n++] = aar->len;
	f[n] = ams->data;
	flen[n++] = ams->len;
	buf_puts(out, "ARC-Seal:");
	fo.col = out->len;
	common_tags(&fo, inst, domain, key, now, false);
	dkim_fold_tag(&fo, "cv", arc_cv_name(cv));
	buf_append(out, "\n\tb=", 4);
	f[n] = out->data;
	flen[n++] = out->len;
	buf_init(&sig, 0);
	if (dkim_seq_digest(DKIM_CANON_RELAXED, f, flen, n, out->len, 0,
	    hd) == 0 && dkim_sign_digest(key, hd, &sig) == 0) {
		dkim_put_b(out, (unsigned char *)sig.data, sig.len);
		r = 0;
	}
	buf_free(&sig);
out:
	free(c);
	return r;
}

int
arc_seal_head(const char *head, size_t hlen,
    const unsigned char bh[DKIM_SHA256_LEN], const struct arc_result *chain,
    const char *ar, size_t ar_len, const char *authserv_id,
    const char *domain, const struct dkim_key *key, time_t now,
    struct buf *out)
{
	struct buf aar, ams, as;
	unsigned inst = chain->n + 1;
	enum arc_cv cv = chain->status == ARC_PASS ? ARC_CV_PASS :
	    chain->status == ARC_FAIL ? ARC_CV_FAIL : ARC_CV_NONE;
	char *d;
	int r = -1;

	if (chain->latest_cv_fail || inst > ARC_MAX_SETS || domain == NULL ||
	    !dkim_name_valid(domain, strlen(domain)) || !dkim_key_usable(key))
		return -1;
	if (cv == ARC_CV_NONE)
		inst = 1;
	d = dkim_lower_dup(domain, strlen(domain));
	buf_init(&aar, 0);
	buf_init(&ams, 0);
	buf_init(&as, 0);
	build_aar(&aar, head, hlen, ar, ar_len, inst, authserv_id);
	if (build_ams(&ams, head, hlen, bh, inst, d, key, now) == 0 &&
	    build_as(&as, head, hlen, &aar, &ams, inst, cv, d, key,
	    now) == 0) {
		buf_append(out, as.data, as.len);
		buf_append(out, ams.data, ams.len);
		r = buf_append(out, aar.data, aar.len);
	}
	buf_free(&aar);
	buf_free(&ams);
	buf_free(&as);
	free(d);
	return r;
}
