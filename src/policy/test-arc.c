/*
 * test-arc - the ARC verifier and sealer (policy/arc.h) against each
 * other with generated keys (RSA and Ed25519): a message sealed once,
 * twice and three times verifies (cv=none, then pass), tem's own
 * Authentication-Results becomes the AAR; a changed body, header field
 * or seal fails, a missing key fails, cv=fail is not extended; the AAR
 * reader and the trusted-sealer rule.
 *
 * With arguments it is the sealer as a command for the dkimpy interop
 * tests (tests/integration/test_arc.py; CRLF in FILE read as LF):
 *   seal FILE KEYFILE DOMAIN SELECTOR [NAME=RECORD ...]
 *       verifies FILE's chain with the key records given, then prints
 *       the three fields of tem's new set (LF line ends), authserv-id
 *       mx.fwd.test; exit 1 when sealing is refused.
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/arc.h"
#include "policy/dkim_keys.h"
#include "util/buf.h"
#include "util/test.h"

#define MSG "Authentication-Results: mx.fwd.test;\n" \
	"\tspf=pass smtp.mailfrom=a@orig.test;\n" \
	"\tdmarc=pass header.from=orig.test\n" \
	"From: A <a@orig.test>\nTo: b@fwd.test\nSubject: hi\n" \
	"Date: Mon, 7 Dec 2026 01:00:00 +0000\n\nHello,\nworld.\n"

static struct dkim_key *key_rsa, *key_ed;
static char *rec_rsa, *rec_ed;

/* The body offset of msg (after the empty line). */
static size_t
body_off(const char *msg)
{
	const char *e = strstr(msg, "\n\n");

	return e != NULL ? (size_t)(e - msg) + 2 : strlen(msg);
}

/* Verifies msg with rec as the record of every key it names. */
static void
verify(const char *msg, const char *rec, struct arc_result *r)
{
	size_t bo = body_off(msg);
	struct arc_verifier *v = arc_verifier_begin(msg, bo, time(NULL));
	char *txt[1] = { rec ? strdup(rec) : NULL };

	arc_verifier_body(v, msg + bo, strlen(msg) - bo);
	arc_verifier_body_end(v);
	for (size_t k = 0; k < arc_verifier_key_count(v); k++)
		arc_verifier_set_key(v, k, rec ? DKIM_KEY_FOUND :
		    DKIM_KEY_NONE, txt, rec ? 1 : 0);
	arc_verifier_finish(&v, r);
	free(txt[0]);
}

/* msg with a new ARC set by key for domain on top; NULL when refused. */
static char *
seal(const char *msg, const struct dkim_key *key, const char *domain,
    const char *rec)
{
	size_t bo = body_off(msg);
	unsigned char bh[DKIM_SHA256_LEN];
	struct dkim_bodyhash h;
	struct arc_result chain;
	struct buf out;

	verify(msg, rec, &chain);
	dkim_bodyhash_init(&h, DKIM_CANON_RELAXED, UINT64_MAX, NULL);
	dkim_bodyhash_update(&h, msg + bo, strlen(msg) - bo);
	dkim_bodyhash_final(&h, bh, NULL);
	buf_init(&out, 0);
	if (arc_seal_head(msg, bo, bh, &chain, NULL, 0, "mx.fwd.test", domain,
	    key, time(NULL), &out) < 0) {
		buf_free(&out);
		arc_result_clear(&chain);
		return NULL;
	}
	arc_result_clear(&chain);
	buf_puts(&out, msg);
	return buf_steal(&out, NULL);
}

static void
test_one_hop(void)
{
	struct arc_result r;
	char *m = seal(MSG, key_rsa, "fwd.test", rec_rsa);

	TEST_ASSERT(m != NULL);
	TEST_ASSERT(strncmp(m, "ARC-Seal: i=1;", 14) == 0);
	TEST_ASSERT(strstr(m, "cv=none;") != NULL);
	TEST_ASSERT(strstr(m, "ARC-Authentication-Results: i=1;\n"
	    "\tmx.fwd.test;\n\tspf=pass") != NULL);
	verify(m, rec_rsa, &r);
	TEST_ASSERT(r.status == ARC_PASS && r.n == 1);
	TEST_ASSERT_STREQ(r.sealer, "fwd.test");
	TEST_ASSERT(arc_aar_has_pass(r.aar, "dmarc", "header.from",
	    "orig.test"));
	arc_result_clear(&r);
	verify(m, NULL, &r);		/* no key published */
	TEST_ASSERT(r.status == ARC_FAIL);
	TEST_ASSERT_STREQ(r.reason, "no key for signature");
	arc_result_clear(&r);
	free(m);
}

static void
test_three_hops(void)
{
	struct arc_result r;
	char *m1 = seal(MSG, key_ed, "one.test", rec_ed);
	char *m2 = m1 ? seal(m1, key_ed, "two.test", rec_ed) : NULL;
	char *m3 = m2 ? seal(m2, key_ed, "three.test", rec_ed) : NULL;

	TEST_ASSERT(m3 != NULL);
	TEST_ASSERT(strncmp(m3, "ARC-Seal: i=3;", 14) == 0);
	TEST_ASSERT(strstr(m3, "cv=pass;") != NULL);
	verify(m3, rec_ed, &r);
	TEST_ASSERT(r.status == ARC_PASS && r.n == 3);
	TEST_ASSERT_STREQ(r.sealer, "three.test");
	arc_result_clear(&r);
	free(m1);
	free(m2);
	free(m3);
}

/* Replaces the first "from" by "to" in a copy of m. */
static char *
edit(const char *m, const char *from, const char *to)
{
	const char *p = strstr(m, from);
	struct buf b;

	if (p == NULL)
		return NULL;
	buf_init(&b, 0);
	buf_append(&b, m, (size_t)(p - m));
	buf_puts(&b, to);
	buf_puts(&b, p + strlen(from));
	return buf_steal(&b, NULL);
}

static void
test_broken(void)
{
	struct arc_result r;
	char *m1 = seal(MSG, key_rsa, "one.test", rec_rsa);
	char *m2 = m1 ? seal(m1, key_rsa, "two.test", rec_rsa) : NULL;
	char *b1, *b2, *b3, *m3;

	TEST_ASSERT(m2 != NULL);
	b1 = edit(m2, "world.", "World.");		/* the body */
	b2 = edit(m2, "Subject: hi", "Subject: ho");	/* a signed field */
	b3 = edit(m2, "i=1;\n\tmx.fwd.test;", "i=1;\n\tmx.evil.test;");
	TEST_ASSERT(b1 && b2 && b3);
	verify(b1, rec_rsa, &r);
	TEST_ASSERT(r.status == ARC_FAIL);
	TEST_ASSERT_STREQ(r.reason, "body hash did not verify");
	arc_result_clear(&r);
	verify(b2, rec_rsa, &r);
	TEST_ASSERT(r.status == ARC_FAIL);
	TEST_ASSERT_STREQ(r.reason, "signature did not verify");
	arc_result_clear(&r);
	verify(b3, rec_rsa, &r);	/* only the seals cover old AARs */
	TEST_ASSERT(r.status == ARC_FAIL && r.n == 2);
	arc_result_clear(&r);
	/* a failed chain is sealed with cv=fail over the new set alone, and
	 * that is never extended */
	m3 = seal(b3, key_rsa, "three.test", rec_rsa);
	TEST_ASSERT(m3 != NULL && strstr(m3, "cv=fail;") != NULL);
	verify(m3, rec_rsa, &r);
	TEST_ASSERT(r.status == ARC_FAIL && r.latest_cv_fail);
	arc_result_clear(&r);
	TEST_ASSERT(seal(m3, key_rsa, "four.test", rec_rsa) == NULL);
	free(m1);
	free(m2);
	free(m3);
	free(b1);
	free(b2);
	free(b3);
}

/* The AAR from an Authentication-Results field handed in (the inbound
 * check's, not yet in the header). */
static void
test_aar_given(void)
{
	const char *ar = "Authentication-Results: mx.fwd.test;\n"
	    "\tarc=none;\n\tdmarc=fail header.from=orig.test\n";
	const char *msg = strstr(MSG, "From:");
	size_t bo = body_off(msg);
	unsigned char bh[DKIM_SHA256_LEN];
	struct dkim_bodyhash h;
	struct arc_result chain = { .status = ARC_NONE };
	struct arc_result r;
	struct buf out;

	dkim_bodyhash_init(&h, DKIM_CANON_RELAXED, UINT64_MAX, NULL);
	dkim_bodyhash_update(&h, msg + bo, strlen(msg) - bo);
	dkim_bodyhash_final(&h, bh, NULL);
	buf_init(&out, 0);
	TEST_ASSERT(arc_seal_head(msg, bo, bh, &chain, ar, strlen(ar),
	    "mx.fwd.test", "Fwd.Test", key_rsa, time(NULL), &out) == 0);
	TEST_ASSERT(strstr(buf_cstr(&out), "ARC-Authentication-Results: i=1;"
	    "\n\tmx.fwd.test;\n\tarc=none;\n\tdmarc=fail") != NULL);
	TEST_ASSERT(strstr(buf_cstr(&out), " d=fwd.test;") != NULL);
	buf_puts(&out, ar);
	buf_puts(&out, msg);
	verify(buf_cstr(&out), rec_rsa, &r);
	buf_free(&out);
	TEST_ASSERT(r.status == ARC_PASS && r.n == 1);
	TEST_ASSERT(!arc_aar_has_pass(r.aar, "dmarc", NULL, NULL));
	arc_result_clear(&r);
}

static void
test_none(void)
{
	struct arc_result r;

	verify(MSG, rec_rsa, &r);
	TEST_ASSERT(r.status == ARC_NONE && r.n == 0 && r.sealer == NULL);
	arc_result_clear(&r);
}

static void
test_aar(void)
{
	const char *p = "mx.fwd.test (comment; dmarc=pass);\n\tspf=fail "
	    "smtp.mailfrom=x@orig.test;\n\tdkim=pass (good) header.d="
	    "\"Orig.Test\" header.s=s;\n\tdmarc/1 = fail header.from=orig.test";

	TEST_ASSERT(arc_aar_has_pass(p, "dkim", "header.d", "orig.test"));
	TEST_ASSERT(!arc_aar_has_pass(p, "dkim", "header.d", "other.test"));
	TEST_ASSERT(!arc_aar_has_pass(p, "dmarc", NULL, NULL));
	TEST_ASSERT(!arc_aar_has_pass(p, "spf", NULL, NULL));
	TEST_ASSERT(arc_aar_has_pass("x; spf=pass smtp.mailfrom=u@orig.test",
	    "spf", "smtp.mailfrom", "orig.test"));
	TEST_ASSERT(!arc_aar_has_pass("x", "dmarc", NULL, NULL));
	TEST_ASSERT(!arc_aar_has_pass(NULL, "dmarc", NULL, NULL));
	TEST_ASSERT(!arc_aar_has_pass("x; \"dmarc=pass\"", "dmarc", NULL,
	    NULL));
}

static void
test_vouch(void)
{
	char *trusted[] = { "lists.example.org", "FWD.test." };
	struct arc_result r = { .status = ARC_PASS, .n = 1 };

	r.sealer = strdup("fwd.test");
	r.aar = strdup("mx.fwd.test; dmarc=pass header.from=orig.test");
	TEST_ASSERT(arc_sealer_vouches(&r, trusted, 2, "orig.test"));
	TEST_ASSERT(!arc_sealer_vouches(&r, trusted, 1, "orig.test"));
	r.status = ARC_FAIL;
	TEST_ASSERT(!arc_sealer_vouches(&r, trusted, 2, "orig.test"));
	r.status = ARC_PASS;
	free(r.aar);
	r.aar = strdup("mx.fwd.test; dmarc=fail; spf=pass "
	    "smtp.mailfrom=b@other.test");
	TEST_ASSERT(!arc_sealer_vouches(&r, trusted, 2, "orig.test"));
	arc_result_clear(&r);
}

static char *
record(const struct dkim_key *k)
{
	struct buf b;

	buf_init(&b, 0);
	if (dkim_key_record(k, &b) < 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b, NULL);
}

/* FILE into b, CRLF made LF (tem's stored form); 0 / -1. */
static int
read_message(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "rb");
	int c, prev = -1;

	if (f == NULL)
		return -1;
	while ((c = getc(f)) != EOF) {
		if (prev == '\r' && c == '\n')
			b->len--;		/* the CR before */
		buf_putc(b, (char)c);
		prev = c;
	}
	fclose(f);
	return 0;
}

static int
tool_seal(int argc, char **argv)
{
	struct buf m, out;
	struct dkim_key *k;
	struct arc_verifier *v;
	struct arc_result chain;
	struct dkim_bodyhash h;
	unsigned char bh[DKIM_SHA256_LEN];
	char *err = NULL;
	size_t bo;
	int r;

	buf_init(&m, 0);
	buf_init(&out, 0);
	if (read_message(argv[2], &m) < 0 || buf_cstr(&m) == NULL ||
	    (k = dkim_key_read(argv[3], argv[4], argv[5], &err)) == NULL) {
		fprintf(stderr, "test-arc: cannot read input: %s\n",
		    err ? err : argv[2]);
		return 2;
	}
	bo = body_off(m.data);
	v = arc_verifier_begin(m.data, bo, time(NULL));
	arc_verifier_body(v, m.data + bo, m.len - bo);
	arc_verifier_body_end(v);
	for (size_t i = 0; i < arc_verifier_key_count(v); i++) {
		const char *name = arc_verifier_key_name(v, i);
		size_t nl = strlen(name);
		char *txt[1] = { NULL };

		for (int a = 6; a < argc; a++)
			if (strncmp(argv[a], name, nl) == 0 &&
			    argv[a][nl] == '=')
				txt[0] = argv[a] + nl + 1;
		arc_verifier_set_key(v, i, txt[0] ? DKIM_KEY_FOUND :
		    DKIM_KEY_NONE, txt, txt[0] ? 1 : 0);
	}
	arc_verifier_finish(&v, &chain);
	dkim_bodyhash_init(&h, DKIM_CANON_RELAXED, UINT64_MAX, NULL);
	dkim_bodyhash_update(&h, m.data + bo, m.len - bo);
	dkim_bodyhash_final(&h, bh, NULL);
	r = arc_seal_head(m.data, bo, bh, &chain, NULL, 0, "mx.fwd.test",
	    argv[4], k, time(NULL), &out);
	if (r == 0)
		fwrite(out.data, 1, out.len, stdout);
	fprintf(stderr, "chain=%s n=%u\n", arc_status_str(chain.status),
	    chain.n);
	arc_result_clear(&chain);
	dkim_key_free(&k);
	buf_free(&m);
	buf_free(&out);
	return r == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	char *err = NULL;

	if (argc >= 6 && strcmp(argv[1], "seal") == 0)
		return tool_seal(argc, argv);
	if (argc > 1) {
		fputs("usage: test-arc seal FILE KEYFILE DOMAIN SELECTOR "
		    "[NAME=RECORD ...]\n", stderr);
		return 2;
	}

	key_rsa = dkim_key_generate(DKIM_KEY_RSA, "any.test", "s1", &err);
	key_ed = dkim_key_generate(DKIM_KEY_ED25519, "any.test", "s2", &err);
	if (key_rsa == NULL || key_ed == NULL) {
		fprintf(stderr, "key generation failed: %s\n", err);
		return 1;
	}
	rec_rsa = record(key_rsa);
	rec_ed = record(key_ed);
	TEST_RUN(test_none);
	TEST_RUN(test_one_hop);
	TEST_RUN(test_aar_given);
	TEST_RUN(test_three_hops);
	TEST_RUN(test_broken);
	TEST_RUN(test_aar);
	TEST_RUN(test_vouch);
	dkim_key_free(&key_rsa);
	dkim_key_free(&key_ed);
	free(rec_rsa);
	free(rec_ed);
	return test_done("test-arc");
}
