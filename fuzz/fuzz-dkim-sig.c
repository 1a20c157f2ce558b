/*
 * fuzz-dkim-sig - the DKIM-Signature and tag-list parsers on arbitrary
 * field values, and the whole verifier on arbitrary messages (fields
 * table, body and header hashes, key records handed in, results).
 * Checks the contracts callers rely on: a parsed signature has a valid
 * d= and s=, at least one h= name, a 32-octet bh=, a b= span inside the
 * value; results never exceed DKIM_MAX_SIGS; body canonicalisation fed in
 * pieces equals one pass, and canonical output canonicalises to itself.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "policy/dkim.h"
#include "util/buf.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ED_REC	"v=DKIM1; k=ed25519; " \
		"p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define RSA_REC	"v=DKIM1; k=rsa; " \
	"p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWR" \
	"iGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutAC" \
	"DfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3" \
	"Ip3G+2kryOTIKT+l/K4w3QIDAQAB"

static void
check_sig(const char *s, size_t n)
{
	struct dkim_tags t;
	struct dkim_sig sig;
	const char *err;

	if (dkim_tags_parse(s, n, &t, &err) == 0)
		for (size_t i = 0; i < t.n; i++)
			TEM_ASSERT(t.tag[i].raw_off + t.tag[i].raw_len <= n);
	if (dkim_sig_parse(s, n, &sig, &err) < 0)
		return;
	TEM_ASSERT(dkim_name_valid(sig.domain, strlen(sig.domain)));
	TEM_ASSERT(dkim_name_valid(sig.selector, strlen(sig.selector)));
	TEM_ASSERT(sig.nfields >= 1 && sig.nfields <= DKIM_MAX_SIGNED_FIELDS);
	TEM_ASSERT(sig.b_len > 0 && sig.b_off + sig.b_raw_len <= n);
	TEM_ASSERT(sig.auid != NULL && strchr(sig.auid, '@') != NULL);
	dkim_sig_clear(&sig);
}

static void
canon(enum dkim_canon c, const char *p, size_t n, size_t step,
    struct buf *out)
{
	struct dkim_bodyhash h;
	unsigned char md[DKIM_SHA256_LEN];
	uint64_t total;

	dkim_bodyhash_init(&h, c, UINT64_MAX, out);
	for (size_t i = 0; i < n; i += step)
		dkim_bodyhash_update(&h, p + i, n - i < step ? n - i : step);
	dkim_bodyhash_final(&h, md, &total);
	TEM_ASSERT(total == out->len);
}

/* CRLF back to LF (tem's stored form), then canonicalised again. */
static void
check_canon(enum dkim_canon c, const char *p, size_t n, size_t step)
{
	struct buf one, pieces, lf, again;

	buf_init(&one, 0);
	buf_init(&pieces, 0);
	buf_init(&lf, 0);
	buf_init(&again, 0);
	canon(c, p, n, SIZE_MAX, &one);
	canon(c, p, n, step, &pieces);
	TEM_ASSERT(one.len == pieces.len && (one.len == 0 ||
	    memcmp(one.data, pieces.data, one.len) == 0));
	for (size_t i = 0; i < one.len; i++)
		if (!(one.data[i] == '\r' && i + 1 < one.len &&
		    one.data[i + 1] == '\n'))
			buf_putc(&lf, one.data[i]);
	canon(c, lf.data ? lf.data : "", lf.len, SIZE_MAX, &again);
	TEM_ASSERT(again.len == one.len && (one.len == 0 ||
	    memcmp(again.data, one.data, one.len) == 0));
	buf_free(&one);
	buf_free(&pieces);
	buf_free(&lf);
	buf_free(&again);
}

static void
check_verify(const char *msg, size_t n, bool rsa)
{
	struct dkim_verifier *v = dkim_verifier_new(msg, n, 1000000000);
	struct dkim_results *r;
	char *txt[2] = { (char *)(uintptr_t)(rsa ? RSA_REC : ED_REC),
	    (char *)(uintptr_t)"v=DKIM1; p=" };

	for (size_t i = 0; i < dkim_verifier_count(v); i++)
		if (dkim_verifier_key_name(v, i) != NULL)
			dkim_verifier_set_key(v, i, i % 3 == 2 ?
			    DKIM_KEY_TEMPFAIL : DKIM_KEY_FOUND, txt + i % 2, 1);
	r = dkim_verifier_finish(&v);
	TEM_ASSERT(r->n <= DKIM_MAX_SIGS);
	for (size_t i = 0; i < r->n; i++)
		TEM_ASSERT(r->sig[i].status == DKIM_PASS ?
		    r->sig[i].reason == NULL : r->sig[i].reason != NULL);
	dkim_results_free(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	size_t step = size > 0 ? (size_t)data[0] % 7 + 1 : 1;

	check_sig(s, size);
	check_canon(DKIM_CANON_RELAXED, s, size, step);
	check_canon(DKIM_CANON_SIMPLE, s, size, step);
	check_verify(s, size, size > 0 && (data[0] & 1));
	return 0;
}
