/*
 * test-dkim - DKIM canonicalisation (RFC 6376 3.4.5 example), tag lists,
 * signature and key record parsing, the RFC 8463 Appendix A message
 * (both signatures verified, and the Ed25519 one reproduced octet for
 * octet with the RFC's key), l= handling, the verifier's outcomes, signing
 * round trips, key files and the key store, and the asynchronous verifier
 * where it needs no DNS server.
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "dns/dns.h"
#include "policy/dkim.h"
#include "policy/dkim_int.h"
#include "policy/dkim_keys.h"
#include "policy/dkim_verify.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/loop.h"
#include "util/test.h"
#include "util/xmalloc.h"

/* ---- RFC 8463 Appendix A (the message stored with LF line ends) ------ */

#define RFC_ED_SEED	"nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="
#define RFC_ED_REC	"v=DKIM1; k=ed25519; " \
			"p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define RFC_RSA_REC	"v=DKIM1; k=rsa; " \
	"p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWR" \
	"iGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutAC" \
	"DfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3" \
	"Ip3G+2kryOTIKT+l/K4w3QIDAQAB"
#define RFC_ED_SIG_HEAD \
	"DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\n" \
	" d=football.example.com; i=@football.example.com;\n" \
	" q=dns/txt; s=brisbane; t=1528637909; h=from : to :\n" \
	" subject : date : message-id : from : subject : date;\n" \
	" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\n" \
	" b="
#define RFC_ED_B \
	"/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\n" \
	" Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\n"
#define RFC_RSA_SIG \
	"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\n" \
	" d=football.example.com; i=@football.example.com;\n" \
	" q=dns/txt; s=test; t=1528637909; h=from : to : subject :\n" \
	" date : message-id : from : subject : date;\n" \
	" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\n" \
	" b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\n" \
	" DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\n" \
	" dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\n"
#define RFC_MSG \
	"From: Joe SixPack <joe@football.example.com>\n" \
	"To: Suzie Q <suzie@shopping.example.net>\n" \
	"Subject: Is dinner ready?\n" \
	"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\n" \
	"Message-ID: <20030712040037.46341.5F8J@football.example.com>\n" \
	"\n" \
	"Hi.\n" \
	"\n" \
	"We lost the game.  Are you hungry yet?\n" \
	"\n" \
	"Joe.\n" \
	"\n"
#define RFC_SIGNED	RFC_ED_SIG_HEAD RFC_ED_B RFC_RSA_SIG RFC_MSG
#define RFC_NOW		1528637909

/* ---- helpers ----------------------------------------------------------- */

static EVP_PKEY *
ed25519_from_seed(const char *b64)
{
	struct buf seed;
	EVP_PKEY *k;

	buf_init(&seed, 0);
	if (base64_decode(b64, strlen(b64), &seed) < 0 || seed.len != 32) {
		buf_free(&seed);
		return NULL;
	}
	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
	    (unsigned char *)seed.data, 32);
	buf_free(&seed);
	return k;
}

/* Signs digest md with pkey (RSA PKCS#1 v1.5 SHA-256 or Ed25519). */
static int
raw_sign(EVP_PKEY *pkey, const unsigned char *md, struct buf *out)
{
	unsigned char sig[1024];
	size_t len = sizeof(sig);
	int ok;

	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA) {
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pkey, NULL);

		ok = EVP_PKEY_sign_init(c) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) == 1 &&
		    EVP_PKEY_sign(c, sig, &len, md, 32) == 1;
		EVP_PKEY_CTX_free(c);
	} else {
		EVP_MD_CTX *m = EVP_MD_CTX_new();

		ok = EVP_DigestSignInit(m, NULL, NULL, NULL, pkey) == 1 &&
		    EVP_DigestSign(m, sig, &len, md, 32) == 1;
		EVP_MD_CTX_free(m);
	}
	if (!ok)
		return -1;
	base64_encode(sig, len, out);
	return 0;
}

/*
 * A signature made by hand, for what tem's signer never writes (l=,
 * simple canonicalisation, x=, i=): head is "DKIM-Signature: ...; b="
 * without bh= (added here as bh=...; right before b=); names the h= list.
 * Appends the complete field (LF-terminated) to out.
 */
static int
hand_sign(const char *msg, EVP_PKEY *pkey, const char *tags,
    enum dkim_canon hc, enum dkim_canon bc, uint64_t limit,
    const char *const *names, size_t nnames, struct buf *out)
{
	struct dkim_fields fs;
	struct dkim_bodyhash bh;
	unsigned char bmd[32], hmd[32];
	struct buf head;
	int r;

	dkim_fields_collect(msg, strlen(msg), &fs);
	dkim_bodyhash_init(&bh, bc, limit, NULL);
	dkim_bodyhash_update(&bh, msg + fs.body_off,
	    strlen(msg) - fs.body_off);
	dkim_bodyhash_final(&bh, bmd, NULL);
	buf_init(&head, 0);
	buf_printf(&head, "DKIM-Signature: %s\n bh=", tags);
	base64_encode(bmd, 32, &head);
	buf_puts(&head, "; b=");
	r = dkim_header_digest(msg, &fs, hc, names, nnames, SIZE_MAX,
	    head.data, head.len, head.len, 0, hmd, NULL);
	if (r == 0)
		r = raw_sign(pkey, hmd, &head);
	buf_putc(&head, '\n');
	buf_append(out, head.data, head.len);
	buf_free(&head);
	dkim_fields_free(&fs);
	return r;
}

/* Verifies msg with key records given as pairs (name, record) and
 * returns the results (caller frees). */
static struct dkim_results *
verify_with(const char *msg, size_t len, time_t now,
    const char *const *recs, size_t nrecs)
{
	struct dkim_verifier *v = dkim_verifier_new(msg, len, now);

	for (size_t i = 0; i < dkim_verifier_count(v); i++) {
		const char *name = dkim_verifier_key_name(v, i);
		bool found = false;

		for (size_t j = 0; name != NULL && j + 1 < nrecs * 2; j += 2) {
			char *txt[1];

			if (strcmp(recs[j], name) != 0)
				continue;
			txt[0] = xstrdup(recs[j + 1]);
			dkim_verifier_set_key(v, i, DKIM_KEY_FOUND, txt, 1);
			free(txt[0]);
			found = true;
		}
		if (name != NULL && !found)
			dkim_verifier_set_key(v, i, DKIM_KEY_NONE, NULL, 0);
	}
	return dkim_verifier_finish(&v);
}

static const char *const rfc_recs[] = {
	"brisbane._domainkey.football.example.com", RFC_ED_REC,
	"test._domainkey.football.example.com", RFC_RSA_REC,
};

/* ---- canonicalisation -------------------------------------------------- */

/* RFC 6376 3.4.5, stored with LF line ends. */
static const char ex_hdr[] = "A: X\nB : Y\t\n\tZ  \n";
static const char ex_body[] = " C \nD \t E\n\n\n";

static void
canon_fields(enum dkim_canon c, struct buf *out)
{
	struct dkim_fields fs;
	char msg[64];

	snprintf(msg, sizeof(msg), "%s\n%s", ex_hdr, ex_body);
	dkim_fields_collect(msg, strlen(msg), &fs);
	for (size_t i = 0; i < fs.n; i++)
		dkim_canon_header(c, msg + fs.f[i].off, fs.f[i].len, out);
	dkim_fields_free(&fs);
}

static void
canon_body(enum dkim_canon c, const char *body, size_t step, struct buf *out,
    uint64_t limit, uint64_t *total)
{
	struct dkim_bodyhash h;
	unsigned char md[32];
	size_t len = strlen(body);

	dkim_bodyhash_init(&h, c, limit, out);
	for (size_t i = 0; i < len; i += step)
		dkim_bodyhash_update(&h, body + i, len - i < step ? len - i :
		    step);
	dkim_bodyhash_final(&h, md, total);
}

static void
test_canon_rfc6376_example(void)
{
	struct buf b;

	buf_init(&b, 0);
	canon_fields(DKIM_CANON_RELAXED, &b);
	TEST_ASSERT_STREQ(buf_cstr(&b), "a:X\r\nb:Y Z\r\n");
	buf_reset(&b);
	canon_fields(DKIM_CANON_SIMPLE, &b);
	TEST_ASSERT_STREQ(buf_cstr(&b), "A: X\r\nB : Y\t\r\n\tZ  \r\n");
	for (size_t step = 1; step <= 3; step++) {
		buf_reset(&b);
		canon_body(DKIM_CANON_RELAXED, ex_body, step, &b, UINT64_MAX,
		    NULL);
		TEST_ASSERT_STREQ(buf_cstr(&b), " C\r\nD E\r\n");
		buf_reset(&b);
		canon_body(DKIM_CANON_SIMPLE, ex_body, step, &b, UINT64_MAX,
		    NULL);
		TEST_ASSERT_STREQ(buf_cstr(&b), " C \r\nD \t E\r\n");
	}
	buf_free(&b);
}

static void
test_canon_body_edges(void)
{
	static const struct {
		enum dkim_canon	 c;
		const char	*in;
		const char	*out;
	} cases[] = {
		{ DKIM_CANON_SIMPLE, "", "\r\n" },
		{ DKIM_CANON_RELAXED, "", "" },
		{ DKIM_CANON_SIMPLE, "\n\n\n", "\r\n" },
		{ DKIM_CANON_RELAXED, "\n \n\t\n", "" },
		{ DKIM_CANON_SIMPLE, "no end", "no end\r\n" },
		{ DKIM_CANON_RELAXED, "no end  ", "no end\r\n" },
		{ DKIM_CANON_SIMPLE, "\n\na\n", "\r\n\r\na\r\n" },
		{ DKIM_CANON_RELAXED, "  lead\ttab  \n\nx\n\n", " lead tab\r\n"
		    "\r\nx\r\n" },
		{ DKIM_CANON_SIMPLE, "cr\r\n", "cr\r\r\n" },
		{ DKIM_CANON_RELAXED, "a \r \nb", "a \r\r\nb\r\n" },
	};
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&b);
		canon_body(cases[i].c, cases[i].in, 1, &b, UINT64_MAX, NULL);
		TEST_ASSERT(b.len == strlen(cases[i].out));
		TEST_ASSERT(memcmp(b.data, cases[i].out, b.len) == 0);
	}
	buf_free(&b);
}

static void
test_canon_body_limit(void)
{
	uint64_t total = 0;
	struct buf b;

	buf_init(&b, 0);
	canon_body(DKIM_CANON_RELAXED, "abc \ndef\n\n", 2, &b, 5, &total);
	TEST_ASSERT(b.len == 5 && memcmp(b.data, "abc\r\n", 5) == 0);
	TEST_ASSERT(total == 10);
	buf_reset(&b);
	canon_body(DKIM_CANON_SIMPLE, "abc", 1, &b, 0, &total);
	TEST_ASSERT(b.len == 0 && total == 5);
	buf_free(&b);
}

/* Bodies larger than the staging buffer, fed in pieces of every size,
 * give the same canonical octets (and l= cuts them anywhere). */
static void
test_canon_body_large(void)
{
	static const size_t steps[] = { 1, 7, 4095, 4096, 4097, 100000 };
	char *body = xmalloc(30001);
	struct buf ref, b;
	uint64_t total;

	for (size_t i = 0; i < 30000; i++)
		body[i] = i % 97 == 96 ? '\n' : i % 13 == 0 ? ' ' :
		    i % 3001 < 4500 && i > 9000 && i < 13600 ? 'x' :
		    (char)('a' + i % 26);
	body[30000] = '\0';
	for (int c = DKIM_CANON_SIMPLE; c <= DKIM_CANON_RELAXED; c++) {
		buf_init(&ref, 0);
		canon_body((enum dkim_canon)c, body, 1, &ref, UINT64_MAX,
		    &total);
		TEST_ASSERT(total == ref.len && ref.len > 29000);
		for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
			buf_init(&b, 0);
			canon_body((enum dkim_canon)c, body, steps[s], &b,
			    UINT64_MAX, NULL);
			TEST_ASSERT(b.len == ref.len &&
			    memcmp(b.data, ref.data, b.len) == 0);
			buf_reset(&b);
			canon_body((enum dkim_canon)c, body, steps[s], &b, 12345,
			    &total);
			TEST_ASSERT(b.len == 12345 && total == ref.len &&
			    memcmp(b.data, ref.data, b.len) == 0);
			buf_free(&b);
		}
		buf_free(&ref);
	}
	free(body);
}

static void
test_canon_header_edges(void)
{
	struct buf b;

	buf_init(&b, 0);
	dkim_canon_header(DKIM_CANON_RELAXED, "SUBJect :\t  a \n\t b\t\n", 20,
	    &b);
	TEST_ASSERT_STREQ(buf_cstr(&b), "subject:a b\r\n");
	buf_reset(&b);
	dkim_canon_header(DKIM_CANON_RELAXED, "X-Empty:   \n", 12, &b);
	TEST_ASSERT_STREQ(buf_cstr(&b), "x-empty:\r\n");
	buf_reset(&b);
	dkim_canon_header(DKIM_CANON_SIMPLE, "X: no lf", 8, &b);
	TEST_ASSERT_STREQ(buf_cstr(&b), "X: no lf\r\n");
	buf_free(&b);
}

/* ---- tag lists and signatures ------------------------------------------ */

static void
test_tags(void)
{
	static const char ok[] = " v = 1 ;a=b\n\t c ; empty= ;x_1=y;";
	static const char *const bad[] = {
		"a=1; a=2", "=1", "1a=2", "a", "a=1; b", "a-b=1", "a b=1",
	};
	struct dkim_tags t;
	const struct dkim_tag *g;
	const char *err;

	TEST_ASSERT(dkim_tags_parse(ok, sizeof(ok) - 1, &t, &err) == 0);
	TEST_ASSERT(t.n == 4);
	g = dkim_tags_get(&t, "a");
	TEST_ASSERT(g != NULL && g->value_len == 5 &&
	    memcmp(g->value, "b\n\t c", 5) == 0);
	TEST_ASSERT(g->raw_len == 6 &&
	    memcmp(ok + g->raw_off, "b\n\t c ", 6) == 0);
	g = dkim_tags_get(&t, "v");
	TEST_ASSERT(g != NULL && g->value_len == 1 && g->value[0] == '1');
	g = dkim_tags_get(&t, "empty");
	TEST_ASSERT(g != NULL && g->value_len == 0);
	TEST_ASSERT(dkim_tags_get(&t, "x_1") != NULL);
	TEST_ASSERT(dkim_tags_get(&t, "V") == NULL);
	TEST_ASSERT(dkim_tags_parse(";;", 2, &t, &err) == 0 && t.n == 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		TEST_ASSERT(dkim_tags_parse(bad[i], strlen(bad[i]), &t,
		    &err) < 0);
	/* a NUL inside a value (i=u\0...@d) is refused, not cut short */
	{
		static const char nul[] = "d=a.test; i=u\0@a.test; s=x";
		TEST_ASSERT(dkim_tags_parse(nul, sizeof(nul) - 1, &t,
		    &err) < 0);
	}
}

#define SIG_BASE "v=1; a=rsa-sha256; d=Example.COM; s=Sel; h=From:To; " \
	"bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=AAAA"

static void
test_sig_parse(void)
{
	static const struct {
		const char	*sig;
		const char	*err;	/* NULL: valid */
	} cases[] = {
		{ SIG_BASE, NULL },
		{ SIG_BASE "; c=relaxed", NULL },
		{ SIG_BASE "; c=simple/relaxed", NULL },
		{ SIG_BASE "; i=user@sub.example.com", NULL },
		{ SIG_BASE "; q=dns/txt; l=10; t=5; x=6; z=a|b", NULL },
		{ SIG_BASE "; c=fancy", "unknown canonicalization" },
		{ SIG_BASE "; i=user@example.org", "i= is not in d=" },
		{ SIG_BASE "; i=user@badexample.com", "i= is not in d=" },
		{ SIG_BASE "; i=user", "i= has no '@'" },
		{ SIG_BASE "; q=http", "q= has no dns/txt" },
		{ SIG_BASE "; l=1x", "bad l=, t= or x=" },
		{ SIG_BASE "; t=10; x=9", "x= is before t=" },
		{ SIG_BASE "; v=1", "duplicate tag" },
		{ "v=1; a=rsa-sha256; d=e.com; s=s; h=From; b=AAAA",
		    "a required tag is missing" },
		{ "v=2; a=rsa-sha256; d=e.com; s=s; h=From; b=AAAA; bh=AAAA",
		    "v= is not 1" },
		{ "v=1; a=rsa-sha1; d=e.com; s=s; h=From; b=AAAA; bh=AAAA",
		    "rsa-sha1 is not accepted (RFC 8301)" },
		{ "v=1; a=rsa-sha256; d=e.com; s=s; h=To:Subject; b=AAAA; "
		    "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=",
		    "From is not signed" },
		{ "v=1; a=rsa-sha256; d=e.com; s=s; h=From; b=AAAA; bh=AAAA",
		    "bad bh=" },
		{ "v=1; a=rsa-sha256; d=e..com; s=s; h=From; b=AAAA; bh=AAAA",
		    "bad d=" },
		{ "v=1; a=rsa-sha256; d=e.com; s=a/b; h=From; b=AAAA; bh=AAAA",
		    "bad s=" },
		{ "v=1; a=rsa-sha256; d=e.com; s=s; h=From::To; b=AAAA; "
		    "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=",
		    "bad field name in h=" },
	};
	static const char lsig[] = SIG_BASE "; c=relaxed/relaxed; l=42";
	struct dkim_sig s;
	const char *err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = dkim_sig_parse(cases[i].sig, strlen(cases[i].sig), &s,
		    &err);

		if (cases[i].err == NULL) {
			TEST_ASSERT(r == 0);
			TEST_ASSERT_STREQ(s.domain, "example.com");
			TEST_ASSERT_STREQ(s.selector, "sel");
			TEST_ASSERT(s.nfields == 2);
			dkim_sig_clear(&s);
		} else {
			TEST_ASSERT(r < 0);
			TEST_ASSERT_STREQ(err, cases[i].err);
		}
	}
	TEST_ASSERT(dkim_sig_parse(lsig, strlen(lsig), &s, &err) == 0);
	TEST_ASSERT(s.hcanon == DKIM_CANON_RELAXED);
	TEST_ASSERT(s.bcanon == DKIM_CANON_RELAXED);
	TEST_ASSERT(s.has_length && s.length == 42 && !s.has_time);
	TEST_ASSERT_STREQ(s.auid, "@example.com");
	TEST_ASSERT(s.b_len == 3 && strcmp(s.b_short, "AAAA") == 0);
	dkim_sig_clear(&s);
}

static void
test_pubkey_parse(void)
{
	static const struct {
		const char	*rec;
		const char	*err;
	} bad[] = {
		{ "v=DKIM1; k=ed25519; p=", "key revoked" },
		{ "v=DKIM1; k=ed25519", "key record has no p=" },
		{ "v=DKIM1; k=dsa; p=AAAA", "unknown key type k=" },
		{ "k=ed25519; v=DKIM1; p=AAAA", "v= is not DKIM1 first" },
		{ "v=DKIM2; p=AAAA", "v= is not DKIM1 first" },
		{ "v=DKIM1; h=sha1; p=AAAA", "key h= does not allow sha256" },
		{ "v=DKIM1; s=tlsrpt; p=AAAA", "key s= is not for email" },
		{ "v=DKIM1; k=ed25519; p=AAAA", "p= is not an Ed25519 key" },
		{ "v=DKIM1; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		    "p= is not an RSA key" },
		{ "v=DKIM1; p=!!!!", "bad base64 in p=" },
		{ "v=spf1 -all", "v= is not DKIM1 first" },
		{ "v=DKIM1; p", "tag without '='" },
	};
	static const char flags[] = "k=ed25519; t=y:s; h=sha1:sha256; "
	    "s=email:*; n=note; p=11qYAYKxCrfVS/7TyWQHOg7hcvPa\n\tpiMlrwIaaPcH"
	    "URo=";
	struct dkim_pubkey k;
	const char *err;

	TEST_ASSERT(dkim_pubkey_parse(RFC_ED_REC, strlen(RFC_ED_REC), &k,
	    &err) == 0);
	TEST_ASSERT(k.type == DKIM_KEY_ED25519 && k.bits == 256);
	TEST_ASSERT(!k.testing && !k.strict);
	dkim_pubkey_clear(&k);
	TEST_ASSERT(dkim_pubkey_parse(RFC_RSA_REC, strlen(RFC_RSA_REC), &k,
	    &err) == 0);
	TEST_ASSERT(k.type == DKIM_KEY_RSA && k.bits == 1024);
	dkim_pubkey_clear(&k);
	TEST_ASSERT(dkim_pubkey_parse(flags, strlen(flags), &k, &err) == 0);
	TEST_ASSERT(k.testing && k.strict);
	dkim_pubkey_clear(&k);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		TEST_ASSERT(dkim_pubkey_parse(bad[i].rec, strlen(bad[i].rec),
		    &k, &err) < 0);
		TEST_ASSERT_STREQ(err, bad[i].err);
		TEST_ASSERT(k.pkey == NULL);
	}
}

static void
test_pubkey_short_rsa(void)
{
	EVP_PKEY *p = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)768);
	struct dkim_key key = { DKIM_KEY_RSA, "a.test", "s", p, { 0, 0 } };
	struct dkim_pubkey k;
	struct buf rec;
	const char *err;

	TEST_ASSERT(p != NULL);
	buf_init(&rec, 0);
	TEST_ASSERT(dkim_key_record(&key, &rec) == 0);
	TEST_ASSERT(dkim_pubkey_parse(rec.data, rec.len, &k, &err) < 0);
	TEST_ASSERT_STREQ(err, "RSA key shorter than 1024 bits");
	buf_free(&rec);
	EVP_PKEY_free(p);
}

/* ---- RFC 8463 Appendix A ------------------------------------------------- */

static void
test_rfc8463_verify(void)
{
	static const char msg[] = RFC_SIGNED;
	struct dkim_results *r;

	r = verify_with(msg, sizeof(msg) - 1, RFC_NOW, rfc_recs, 2);
	TEST_ASSERT(r->n == 2 && r->skipped == 0);
	TEST_ASSERT(r->sig[0].status == DKIM_PASS);
	TEST_ASSERT(r->sig[0].key_type == DKIM_KEY_ED25519);
	TEST_ASSERT_STREQ(r->sig[0].domain, "football.example.com");
	TEST_ASSERT_STREQ(r->sig[0].selector, "brisbane");
	TEST_ASSERT_STREQ(r->sig[0].auid, "@football.example.com");
	TEST_ASSERT_STREQ(r->sig[0].b_short, "/gCrinpcQOoIfuHN");
	TEST_ASSERT(r->sig[1].status == DKIM_PASS);
	TEST_ASSERT(r->sig[1].key_type == DKIM_KEY_RSA &&
	    r->sig[1].key_bits == 1024);
	TEST_ASSERT(!r->sig[0].partial && !r->sig[1].has_length);
	dkim_results_free(&r);
	TEST_ASSERT(r == NULL);
}

/* The Ed25519 signature is deterministic: with the RFC's key and header
 * text, signing must give the RFC's b= octet for octet. */
static void
test_rfc8463_sign_exact(void)
{
	static const char msg[] = RFC_MSG;
	static const char *const names[] = { "from", "to", "subject", "date",
	    "message-id", "from", "subject", "date" };
	static const char head[] = RFC_ED_SIG_HEAD;
	EVP_PKEY *pk = ed25519_from_seed(RFC_ED_SEED);
	unsigned char md[32];
	struct dkim_fields fs;
	struct buf b64, got, want;

	TEST_ASSERT(pk != NULL);
	buf_init(&b64, 0);
	buf_init(&got, 0);
	buf_init(&want, 0);
	dkim_fields_collect(msg, sizeof(msg) - 1, &fs);
	TEST_ASSERT(dkim_header_digest(msg, &fs, DKIM_CANON_RELAXED, names, 8,
	    SIZE_MAX, head, sizeof(head) - 1, sizeof(head) - 1, 0, md,
	    NULL) == 0);
	TEST_ASSERT(raw_sign(pk, md, &b64) == 0);
	TEST_ASSERT(base64_decode(b64.data, b64.len, &got) == 0);
	TEST_ASSERT(dkim_b64_decode_fws(RFC_ED_B, sizeof(RFC_ED_B) - 1,
	    &want) == 0);
	TEST_ASSERT(got.len == 64 && want.len == 64);
	TEST_ASSERT(memcmp(got.data, want.data, 64) == 0);
	dkim_fields_free(&fs);
	buf_free(&b64);
	buf_free(&got);
	buf_free(&want);
	EVP_PKEY_free(pk);
}

static void
test_rfc8463_tampered(void)
{
	struct buf m;
	struct dkim_results *r;
	char *p;

	buf_init(&m, 0);
	buf_puts(&m, RFC_SIGNED);
	p = strstr(m.data, "hungry");
	p[0] = 'H';
	r = verify_with(m.data, m.len, RFC_NOW, rfc_recs, 2);
	TEST_ASSERT(r->n == 2 && r->sig[0].status == DKIM_FAIL &&
	    r->sig[1].status == DKIM_FAIL);
	TEST_ASSERT_STREQ(r->sig[0].reason, "body hash did not verify");
	dkim_results_free(&r);
	p[0] = 'h';
	p = strstr(m.data, "dinner");
	p[0] = 'D';
	r = verify_with(m.data, m.len, RFC_NOW, rfc_recs, 2);
	TEST_ASSERT(r->sig[0].status == DKIM_FAIL &&
	    r->sig[1].status == DKIM_FAIL);
	TEST_ASSERT_STREQ(r->sig[1].reason, "signature did not verify");
	dkim_results_free(&r);
	p[0] = 'd';
	/* White space changes survive relaxed/relaxed. */
	buf_reset(&m);
	buf_puts(&m, RFC_ED_SIG_HEAD RFC_ED_B RFC_RSA_SIG
	    "From:   Joe SixPack\n  <joe@football.example.com>  \n"
	    "To: Suzie Q <suzie@shopping.example.net>\n"
	    "Subject:Is dinner ready?\n"
	    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\n"
	    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\n"
	    "\nHi.\n\nWe   lost the game.  Are you hungry yet?   \n\nJoe.");
	r = verify_with(m.data, m.len, RFC_NOW, rfc_recs, 2);
	TEST_ASSERT(r->sig[0].status == DKIM_PASS &&
	    r->sig[1].status == DKIM_PASS);
	dkim_results_free(&r);
	buf_free(&m);
}

/* ---- the verifier's outcomes ---------------------------------------------- */

#define TEST_MSG "From: a@ex.test\nTo: b@else.test\nSubject: hi\n\n" \
	"body line\n"

static const char *const ed_names[] = { "From", "To", "Subject" };

/* A message signed by hand with the RFC Ed25519 key (selector brisbane,
 * d=football.example.com) and the given tags; verified with its record. */
static struct dkim_results *
hand_check(const char *tags, enum dkim_canon hc, enum dkim_canon bc,
    uint64_t limit, const char *append, const char *rec)
{
	const char *recs[2] = { "brisbane._domainkey.football.example.com",
	    rec != NULL ? rec : RFC_ED_REC };
	EVP_PKEY *pk = ed25519_from_seed(RFC_ED_SEED);
	struct dkim_results *r;
	struct buf m;

	buf_init(&m, 0);
	if (hand_sign(TEST_MSG, pk, tags, hc, bc, limit, ed_names, 3,
	    &m) < 0) {
		EVP_PKEY_free(pk);
		buf_free(&m);
		return NULL;
	}
	buf_puts(&m, TEST_MSG);
	buf_puts(&m, append);
	r = verify_with(m.data, m.len, 1000, recs, 1);
	EVP_PKEY_free(pk);
	buf_free(&m);
	return r;
}

#define HAND_TAGS "v=1; a=ed25519-sha256; d=football.example.com; " \
	"s=brisbane; h=From:To:Subject;"

static void
test_verify_simple_canon(void)
{
	struct dkim_results *r = hand_check(HAND_TAGS " c=simple/simple;",
	    DKIM_CANON_SIMPLE, DKIM_CANON_SIMPLE, UINT64_MAX, "\n\n", NULL);

	TEST_ASSERT(r != NULL && r->n == 1);
	TEST_ASSERT(r->sig[0].status == DKIM_PASS);
	dkim_results_free(&r);
	r = hand_check(HAND_TAGS " c=simple/simple;", DKIM_CANON_SIMPLE,
	    DKIM_CANON_SIMPLE, UINT64_MAX, "x", NULL);
	TEST_ASSERT(r != NULL && r->sig[0].status == DKIM_FAIL);
	dkim_results_free(&r);
}

static void
test_verify_length(void)
{
	struct dkim_results *r;

	/* l= covering the whole body: pass, not partial. */
	r = hand_check(HAND_TAGS " c=relaxed/relaxed; l=11;",
	    DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, 11, "", NULL);
	TEST_ASSERT(r != NULL && r->sig[0].status == DKIM_PASS);
	TEST_ASSERT(r->sig[0].has_length && r->sig[0].length == 11);
	TEST_ASSERT(!r->sig[0].partial);
	dkim_results_free(&r);
	/* Content appended after the signed part: pass, flagged partial. */
	r = hand_check(HAND_TAGS " c=relaxed/relaxed; l=11;",
	    DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, 11,
	    "Click here: http://evil.test/\n", NULL);
	TEST_ASSERT(r != NULL && r->sig[0].status == DKIM_PASS);
	TEST_ASSERT(r->sig[0].partial);
	dkim_results_free(&r);
	/* l= beyond the body: permerror. */
	r = hand_check(HAND_TAGS " c=relaxed/relaxed; l=12;",
	    DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, 12, "", NULL);
	TEST_ASSERT(r != NULL && r->sig[0].status == DKIM_PERMERROR);
	TEST_ASSERT_STREQ(r->sig[0].reason, "l= is longer than the body");
	dkim_results_free(&r);
	/* l=0 signs no body at all. */
	r = hand_check(HAND_TAGS " c=relaxed/relaxed; l=0;",
	    DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, 0, "more\n", NULL);
	TEST_ASSERT(r != NULL && r->sig[0].status == DKIM_PASS &&
	    r->sig[0].partial);
	dkim_results_free(&r);
}

static void
test_verify_key_rules(void)
{
	struct dkim_results *r;

	r = hand_check(HAND_TAGS " c=relaxed/relaxed; x=999;",
	    DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, UINT64_MAX, "", NULL);
	TEST_ASSERT(r != NULL && r->sig[0].status == DKIM_PERMERROR);
	TEST_ASSERT_STREQ(r->sig[0].reason, "signature expired");
	dkim_results_free(&r);
	r = hand_check(HAND_TAGS " c=relaxed/relaxed; x=1000;",
	    DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, UINT64_MAX, "", NULL);
	TEST_ASSERT(r != NULL && r->sig[0].status == DKIM_PASS);
	dkim_results_free(&r);
	r = hand_check(HAND_TAGS " i=joe@sub.football.example.com;",
	    DKIM_CANON_SIMPLE, DKIM_CANON_SIMPLE, UINT64_MAX, "",
	    RFC_ED_REC "; t=s");
	TEST_ASSERT(r != NULL && r->sig[0].status == DKIM_PERMERROR);
	TEST_ASSERT_STREQ(r->sig[0].reason, "i= is not d= (key t=s)");
	dkim_results_free(&r);
	r = hand_check(HAND_TAGS " i=joe@football.example.com;",
	    DKIM_CANON_SIMPLE, DKIM_CANON_SIMPLE, UINT64_MAX, "",
	    RFC_ED_REC "; t=y:s");
	TEST_ASSERT(r != NULL && r->sig[0].status == DKIM_PASS);
	TEST_ASSERT(r->sig[0].testing);
	TEST_ASSERT_STREQ(r->sig[0].auid, "joe@football.example.com");
	dkim_results_free(&r);
	r = hand_check(HAND_TAGS, DKIM_CANON_SIMPLE, DKIM_CANON_SIMPLE,
	    UINT64_MAX, "", RFC_RSA_REC);
	TEST_ASSERT(r != NULL && r->sig[0].status == DKIM_PERMERROR);
	TEST_ASSERT_STREQ(r->sig[0].reason, "key type does not match a=");
	dkim_results_free(&r);
	r = hand_check(HAND_TAGS, DKIM_CANON_SIMPLE, DKIM_CANON_SIMPLE,
	    UINT64_MAX, "", "v=DKIM1; k=ed25519; p=");
	TEST_ASSERT(r != NULL && r->sig[0].status == DKIM_PERMERROR);
	TEST_ASSERT_STREQ(r->sig[0].reason, "key revoked");
	dkim_results_free(&r);
}

static void
test_verify_answers(void)
{
	static const char msg[] = RFC_SIGNED;
	struct dkim_verifier *v = dkim_verifier_new(msg, sizeof(msg) - 1, 0);
	struct dkim_results *r;
	char *txt[2] = { xstrdup("v=spf1 -all"), xstrdup(RFC_ED_REC) };

	TEST_ASSERT(dkim_verifier_count(v) == 2);
	TEST_ASSERT_STREQ(dkim_verifier_key_name(v, 0),
	    "brisbane._domainkey.football.example.com");
	TEST_ASSERT(dkim_verifier_key_name(v, 2) == NULL);
	dkim_verifier_set_key(v, 0, DKIM_KEY_FOUND, txt, 2);
	dkim_verifier_set_key(v, 0, DKIM_KEY_NONE, NULL, 0);	/* ignored */
	TEST_ASSERT(dkim_verifier_key_name(v, 0) == NULL);
	r = dkim_verifier_finish(&v);
	TEST_ASSERT(v == NULL);
	TEST_ASSERT(r->sig[0].status == DKIM_PASS);
	TEST_ASSERT(r->sig[1].status == DKIM_TEMPERROR);
	dkim_results_free(&r);
	v = dkim_verifier_new(msg, sizeof(msg) - 1, 0);
	dkim_verifier_set_key(v, 0, DKIM_KEY_TEMPFAIL, NULL, 0);
	dkim_verifier_set_key(v, 1, DKIM_KEY_NONE, NULL, 0);
	r = dkim_verifier_finish(&v);
	TEST_ASSERT(r->sig[0].status == DKIM_TEMPERROR);
	TEST_ASSERT(r->sig[1].status == DKIM_PERMERROR);
	TEST_ASSERT_STREQ(r->sig[1].reason, "no key for signature");
	dkim_results_free(&r);
	v = dkim_verifier_new(msg, sizeof(msg) - 1, 0);
	dkim_verifier_set_key(v, 1, DKIM_KEY_FOUND, txt, 1);
	r = dkim_verifier_finish(&v);
	TEST_ASSERT(r->sig[1].status == DKIM_PERMERROR);
	TEST_ASSERT_STREQ(r->sig[1].reason, "v= is not DKIM1 first");
	dkim_results_free(&r);
	free(txt[0]);
	free(txt[1]);
}

static void
test_verify_unsigned_and_many(void)
{
	struct dkim_results *r;
	struct buf m;

	r = verify_with(TEST_MSG, strlen(TEST_MSG), 0, rfc_recs, 2);
	TEST_ASSERT(r->n == 0 && r->skipped == 0);
	dkim_results_free(&r);
	buf_init(&m, 0);
	for (int i = 0; i < DKIM_MAX_SIGS + 3; i++)
		buf_puts(&m, "DKIM-Signature: v=1; garbage\n");
	buf_puts(&m, "dkim-signature:\n" TEST_MSG);
	r = verify_with(m.data, m.len, 0, rfc_recs, 2);
	TEST_ASSERT(r->n == DKIM_MAX_SIGS && r->skipped == 4);
	for (size_t i = 0; i < r->n; i++) {
		TEST_ASSERT(r->sig[i].status == DKIM_PERMERROR);
		TEST_ASSERT(r->sig[i].domain == NULL);
	}
	dkim_results_free(&r);
	buf_free(&m);
}

/* ---- signing -------------------------------------------------------------- */

static struct dkim_key *
test_key(enum dkim_key_type t, const char *sel)
{
	char *err = NULL;
	struct dkim_key *k = dkim_key_generate(t, "Ex.Test", sel, &err);

	free(err);
	return k;
}

/* Every line of the field at most 78 octets, LF only, LF at the end,
 * continuation lines starting with white space. */
static bool
well_folded(const struct buf *h)
{
	size_t col = 0;

	if (h->len == 0 || h->data[h->len - 1] != '\n')
		return false;
	for (size_t i = 0; i < h->len; i++) {
		if (h->data[i] == '\r')
			return false;
		if (h->data[i] == '\n') {
			if (i + 1 < h->len && h->data[i + 1] != '\t' &&
			    h->data[i + 1] != ' ' &&
			    strncmp(h->data + i + 1, "DKIM-Signature:", 15) != 0)
				return false;
			col = 0;
		} else if (++col > 78)
			return false;
	}
	return true;
}

/* The field, folding removed, holds s. */
static bool
has_unfolded(const struct buf *h, const char *s)
{
	struct buf u;
	bool r;

	buf_init(&u, 0);
	for (size_t i = 0; i < h->len; i++)
		if (h->data[i] == '\n' && i + 1 < h->len &&
		    h->data[i + 1] == '\t')
			i++;
		else
			buf_putc(&u, h->data[i]);
	r = strstr(buf_cstr(&u), s) != NULL;
	buf_free(&u);
	return r;
}

static void
test_sign_roundtrip(void)
{
	static const char msg[] = "From: Alice <a@ex.test>\n"
	    "To: b@else.test,\n c@else.test\nSubject: round\n trip\n"
	    "Date: Sat, 28 Nov 2026 02:40:00 +0000\n"
	    "Message-ID: <1@ex.test>\nX-Other: not signed\n\n"
	    "Body  with   spaces \n\n\n";
	enum dkim_key_type types[] = { DKIM_KEY_ED25519, DKIM_KEY_RSA };

	for (size_t t = 0; t < 2; t++) {
		struct dkim_key *k = test_key(types[t], "s1");
		struct buf h, m, rec;
		struct dkim_results *r;
		const char *recs[2] = { "s1._domainkey.ex.test", NULL };

		TEST_ASSERT(k != NULL);
		buf_init(&h, 0);
		buf_init(&m, 0);
		buf_init(&rec, 0);
		TEST_ASSERT(dkim_sign_message(msg, sizeof(msg) - 1, "EX.test",
		    k, &h) == 0);
		TEST_ASSERT(well_folded(&h));
		TEST_ASSERT(strstr(h.data, " d=ex.test;") != NULL);
		TEST_ASSERT(has_unfolded(&h, "h=From:From:Subject:Subject:Date:"
		    "Date:To:To:Message-ID:Message-ID;"));
		TEST_ASSERT(strstr(h.data, " c=relaxed/relaxed;") != NULL);
		TEST_ASSERT(strstr(h.data, " l=") == NULL);
		TEST_ASSERT(dkim_key_record(k, &rec) == 0);
		recs[1] = buf_cstr(&rec);
		buf_printf(&m, "%s%s", buf_cstr(&h), msg);
		r = verify_with(m.data, m.len, time(NULL), recs, 1);
		TEST_ASSERT(r->n == 1 && r->sig[0].status == DKIM_PASS);
		TEST_ASSERT(r->sig[0].key_type == types[t]);
		dkim_results_free(&r);
		/* Oversigned: another To (or a Cc? not oversigned when absent,
		 * so a new Cc passes) breaks it. */
		buf_reset(&m);
		buf_printf(&m, "%sTo: mallory@evil.test\n%s", buf_cstr(&h),
		    msg);
		r = verify_with(m.data, m.len, time(NULL), recs, 1);
		TEST_ASSERT(r->n == 1 && r->sig[0].status == DKIM_FAIL);
		dkim_results_free(&r);
		buf_reset(&m);
		buf_printf(&m, "%s%sTrailer\n", buf_cstr(&h), msg);
		r = verify_with(m.data, m.len, time(NULL), recs, 1);
		TEST_ASSERT(r->sig[0].status == DKIM_FAIL);
		dkim_results_free(&r);
		buf_free(&h);
		buf_free(&m);
		buf_free(&rec);
		dkim_key_free(&k);
	}
}

static void
test_sign_refusals(void)
{
	struct dkim_key *k = test_key(DKIM_KEY_ED25519, "s1");
	struct dkim_key bad;
	struct buf h;

	TEST_ASSERT(k != NULL);
	buf_init(&h, 0);
	TEST_ASSERT(dkim_sign_message("To: x\n\nbody\n", 12, "ex.test", k,
	    &h) < 0);
	TEST_ASSERT(dkim_sign_message("From: x\n\n", 9, "ex test", k, &h) < 0);
	bad = *k;
	bad.type = DKIM_KEY_RSA;
	TEST_ASSERT(dkim_sign_message("From: x\n\n", 9, "ex.test", &bad,
	    &h) < 0);
	TEST_ASSERT(h.len == 0);
	/* A header without a body still signs (empty body). */
	TEST_ASSERT(dkim_sign_message("From: x", 7, "ex.test", k, &h) == 0);
	buf_free(&h);
	dkim_key_free(&k);
}

/* ---- key files and the key store ----------------------------------------- */

static char *
make_tmpdir(void)
{
	char tmpl[] = "/tmp/test-dkim.XXXXXX";

	return mkdtemp(tmpl) != NULL ? xstrdup(tmpl) : NULL;
}

static void
rm_rf(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	if (system(cmd) != 0) {
		/* a leftover temp dir is harmless */
	}
	free(cmd);
}

static void
test_txt_strings(void)
{
	char v[600];
	struct buf b;

	memset(v, 'a', sizeof(v));
	buf_init(&b, 0);
	dkim_txt_strings(v, 510, &b);
	TEST_ASSERT(b.len == 510 + 2 * 2 + 1);
	TEST_ASSERT(b.data[256] == '"' && b.data[257] == ' ' &&
	    b.data[258] == '"');
	buf_reset(&b);
	dkim_txt_strings("a\"b", 3, &b);
	TEST_ASSERT_STREQ(buf_cstr(&b), "\"a\\\"b\"");
	buf_free(&b);
}

static void
test_keys_files(void)
{
	static const char zl[] = "old._domainkey.ex.test. IN TXT "
	    "\"v=DKIM1; k=rsa; p=MIIB";
	char *dir = make_tmpdir(), *err = NULL, *sel, *path;
	struct dkim_key *k = NULL;
	struct dkim_keylist l;
	struct buf line;
	struct stat st;

	TEST_ASSERT(dir != NULL);
	TEST_ASSERT(dkim_keys_create(dir, NULL, "Ex.Test", "old",
	    DKIM_KEY_RSA, &k, &err) == 0);
	TEST_ASSERT_STREQ(k->domain, "ex.test");
	buf_init(&line, 0);
	TEST_ASSERT(dkim_key_zone_line(k, &line) == 0);
	TEST_ASSERT(strncmp(line.data, zl, strlen(zl)) == 0);
	TEST_ASSERT(strstr(line.data, "\" \"") != NULL);
	dkim_key_free(&k);
	path = xasprintf("%s/dkim/ex.test/old.rsa.pem", dir);
	TEST_ASSERT(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	free(path);
	path = xasprintf("%s/dkim/ex.test", dir);
	TEST_ASSERT(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700);
	free(path);
	TEST_ASSERT(dkim_keys_create(dir, NULL, "ex.test", "old",
	    DKIM_KEY_ED25519, NULL, &err) < 0);
	TEST_ASSERT(strstr(err, "already has a key") != NULL);
	XFREE(&err);
	TEST_ASSERT(dkim_keys_create(dir, NULL, "ex.test", "../x",
	    DKIM_KEY_ED25519, NULL, &err) < 0);
	XFREE(&err);
	sel = dkim_keys_default_selector(dir, "ex.test", DKIM_KEY_ED25519,
	    1795000000);
	TEST_ASSERT_STREQ(sel, "tem-202611-ed25519");
	TEST_ASSERT(dkim_keys_create(dir, NULL, "ex.test", sel,
	    DKIM_KEY_ED25519, NULL, &err) == 0);
	free(sel);
	sel = dkim_keys_default_selector(dir, "ex.test", DKIM_KEY_ED25519,
	    1795000000);
	TEST_ASSERT_STREQ(sel, "tem-202611-ed25519-2");
	free(sel);
	usleep(20000);
	TEST_ASSERT(dkim_keys_create(dir, NULL, "ex.test", "new",
	    DKIM_KEY_RSA, NULL, &err) == 0);
	TEST_ASSERT(dkim_keys_list(dir, "EX.TEST", &l, NULL, &err) == 0);
	TEST_ASSERT(l.n == 3);
	TEST_ASSERT_STREQ(l.key[0]->selector, "new");
	TEST_ASSERT_STREQ(l.key[2]->selector, "old");
	dkim_keylist_free(&l);
	TEST_ASSERT(dkim_keys_list(dir, "none.test", &l, NULL, &err) == 0 &&
	    l.n == 0);
	path = xasprintf("%s/dkim/ex.test/bad.ed25519.pem", dir);
	TEST_ASSERT(symlink("/etc/passwd", path) == 0);
	free(path);
	buf_reset(&line);
	TEST_ASSERT(dkim_keys_list(dir, "ex.test", &l, &line, &err) == 0);
	TEST_ASSERT(l.n == 3);
	TEST_ASSERT(strstr(buf_cstr(&line), "bad.ed25519.pem: ") != NULL);
	dkim_keylist_free(&l);
	buf_free(&line);
	rm_rf(dir);
	free(dir);
}

static void
test_keystore(void)
{
	static const char msg[] = "From: a@ex.test\nSubject: s\n\nHello\n";
	char *dir = make_tmpdir(), *err = NULL, *path;
	struct dkim_keystore *ks = NULL;
	const struct dkim_key *keys[4];
	struct dkim_keylist l;
	struct dkim_results *r;
	struct buf h, m, rec[3];
	const char *recs[6];
	char *names[3];
	FILE *f;

	TEST_ASSERT(dir != NULL);
	TEST_ASSERT(dkim_keystore_load(dir, &ks, &err) == 0);
	TEST_ASSERT(dkim_keystore_count(ks) == 0);
	dkim_keystore_free(&ks);
	TEST_ASSERT(dkim_keys_create(dir, "", "ex.test", "r1", DKIM_KEY_RSA,
	    NULL, &err) == 0);
	usleep(20000);
	TEST_ASSERT(dkim_keys_create(dir, "", "ex.test", "r2", DKIM_KEY_RSA,
	    NULL, &err) == 0);
	TEST_ASSERT(dkim_keys_create(dir, "", "ex.test", "e1",
	    DKIM_KEY_ED25519, NULL, &err) == 0);
	TEST_ASSERT(dkim_keys_create(dir, "", "other.test", "e1",
	    DKIM_KEY_ED25519, NULL, &err) == 0);
	path = xasprintf("%s/dkim/other.test/junk.rsa.pem", dir);
	f = fopen(path, "w");
	TEST_ASSERT(f != NULL);
	fputs("not a key\n", f);
	fclose(f);
	free(path);
	TEST_ASSERT(dkim_keystore_load(dir, &ks, &err) == 0);
	TEST_ASSERT(dkim_keystore_count(ks) == 2);	/* junk skipped */
	TEST_ASSERT(dkim_keystore_keys(ks, "other.test", keys, 4) == 1);
	TEST_ASSERT(dkim_keystore_keys(ks, "EX.test", keys, 4) == 2);
	TEST_ASSERT(keys[0]->type == DKIM_KEY_ED25519);
	TEST_ASSERT_STREQ(keys[1]->selector, "r2");
	TEST_ASSERT(dkim_keystore_keys(ks, "nope.test", keys, 4) == 0);
	buf_init(&h, 0);
	buf_init(&m, 0);
	TEST_ASSERT(dkim_keystore_sign(ks, msg, sizeof(msg) - 1, "nope.test",
	    &h) == 0 && h.len == 0);
	TEST_ASSERT(dkim_keystore_sign(ks, msg, sizeof(msg) - 1, "ex.test",
	    &h) == 2);
	TEST_ASSERT(well_folded(&h));
	TEST_ASSERT(dkim_keys_list(dir, "ex.test", &l, NULL, &err) == 0 &&
	    l.n == 3);
	for (size_t i = 0; i < 3; i++) {
		buf_init(&rec[i], 0);
		dkim_key_record(l.key[i], &rec[i]);
		names[i] = xasprintf("%s._domainkey.ex.test",
		    l.key[i]->selector);
		recs[2 * i] = names[i];
		recs[2 * i + 1] = buf_cstr(&rec[i]);
	}
	buf_printf(&m, "%s%s", buf_cstr(&h), msg);
	r = verify_with(m.data, m.len, time(NULL), recs, 3);
	for (size_t i = 0; i < 3; i++) {
		free(names[i]);
		buf_free(&rec[i]);
	}
	TEST_ASSERT(r->n == 2 && r->sig[0].status == DKIM_PASS &&
	    r->sig[1].status == DKIM_PASS);
	TEST_ASSERT_STREQ(r->sig[0].selector, "e1");
	TEST_ASSERT_STREQ(r->sig[1].selector, "r2");
	dkim_results_free(&r);
	dkim_keylist_free(&l);
	dkim_keystore_free(&ks);
	TEST_ASSERT(ks == NULL);
	buf_free(&h);
	buf_free(&m);
	rm_rf(dir);
	free(dir);
}

/* ---- the asynchronous verifier, where no DNS server is needed ------------ */

static struct loop *aloop;
static int adone;
static size_t an;

static void
async_done(struct dkim_results *res, void *arg)
{
	(void)arg;
	adone++;
	an = res->n;
	dkim_results_free(&res);
	loop_break(aloop);
}

static void
test_async_no_lookup(void)
{
	static const char bad_body[] = RFC_ED_SIG_HEAD RFC_ED_B RFC_MSG "x";
	struct dns_resolver *r;
	struct dkim_verify *v;
	char *err = NULL;

	aloop = loop_new();
	r = dns_resolver_new(aloop, "127.0.0.1:9", &err);
	TEST_ASSERT(r != NULL);
	adone = 0;
	v = dkim_verify_start(r, TEST_MSG, strlen(TEST_MSG), async_done, NULL);
	TEST_ASSERT(v != NULL && adone == 0);	/* never from inside */
	loop_run(aloop);
	TEST_ASSERT(adone == 1 && an == 0);
	v = dkim_verify_start(r, bad_body, sizeof(bad_body) - 1, async_done,
	    NULL);
	loop_run(aloop);
	TEST_ASSERT(adone == 2 && an == 1);
	/* Cancelled with a look-up in flight: no callback, nothing leaks. */
	v = dkim_verify_start(r, RFC_SIGNED, sizeof(RFC_SIGNED) - 1,
	    async_done, NULL);
	dkim_verify_cancel(&v);
	TEST_ASSERT(v == NULL);
	v = dkim_verify_start(r, TEST_MSG, strlen(TEST_MSG), async_done, NULL);
	dkim_verify_cancel(&v);
	dns_resolver_free(&r);
	loop_free(&aloop);
	TEST_ASSERT(adone == 2);
}

/* Streamed: verifying the body in pieces of one byte, or signing from the
 * header and a body hash, gives what the whole-message calls give. */
static void
test_streamed(void)
{
	static const char msg[] = "From: a@ex.test\nTo: b@ex.test\n"
	    "Subject: streamed\n\nBody  line \n\tmore\n\n\n";
	struct dkim_key *k = test_key(DKIM_KEY_ED25519, "s1");
	const char *recs[2] = { "s1._domainkey.ex.test", NULL };
	size_t hlen = strstr(msg, "\n\n") - msg + 2;
	unsigned char bh[DKIM_SHA256_LEN];
	struct dkim_bodyhash h;
	struct dkim_verifier *v;
	struct dkim_results *r;
	struct buf a, b, m, rec;

	TEST_ASSERT(k != NULL);
	buf_init(&a, 0);
	buf_init(&b, 0);
	buf_init(&m, 0);
	buf_init(&rec, 0);
	TEST_ASSERT(dkim_sign_message_at(msg, sizeof(msg) - 1, "ex.test", k,
	    1000, &a) == 0);
	dkim_bodyhash_init(&h, DKIM_CANON_RELAXED, UINT64_MAX, NULL);
	dkim_bodyhash_update(&h, msg + hlen, sizeof(msg) - 1 - hlen);
	dkim_bodyhash_final(&h, bh, NULL);
	TEST_ASSERT(dkim_sign_head(msg, hlen, bh, "ex.test", k, 1000,
	    &b) == 0);
	TEST_ASSERT(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	TEST_ASSERT(dkim_key_record(k, &rec) == 0);
	buf_printf(&m, "%s%s", buf_cstr(&a), msg);
	hlen += a.len;
	v = dkim_verifier_begin(m.data, hlen, 0);
	for (size_t i = hlen; i < m.len; i++)
		dkim_verifier_body(v, m.data + i, 1);
	dkim_verifier_body_end(v);
	TEST_ASSERT(dkim_verifier_count(v) == 1);
	{
		char *txt[1] = { xstrdup(buf_cstr(&rec)) };
		TEST_ASSERT(strcmp(dkim_verifier_key_name(v, 0), recs[0]) == 0);
		dkim_verifier_set_key(v, 0, DKIM_KEY_FOUND, txt, 1);
		free(txt[0]);
	}
	r = dkim_verifier_finish(&v);
	TEST_ASSERT(r->n == 1 && r->sig[0].status == DKIM_PASS);
	dkim_results_free(&r);
	/* a changed body byte fails, decided before any key look-up */
	m.data[m.len - 3] = 'X';
	v = dkim_verifier_begin(m.data, hlen, 0);
	dkim_verifier_body(v, m.data + hlen, m.len - hlen);
	dkim_verifier_body_end(v);
	TEST_ASSERT(dkim_verifier_key_name(v, 0) == NULL);
	r = dkim_verifier_finish(&v);
	TEST_ASSERT(r->n == 1 && r->sig[0].status == DKIM_FAIL);
	dkim_results_free(&r);
	buf_free(&a);
	buf_free(&b);
	buf_free(&m);
	buf_free(&rec);
	dkim_key_free(&k);
}

int
main(int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: test-dkim\n");
		return 2;
	}
	loop_global_init();
	TEST_RUN(test_canon_rfc6376_example);
	TEST_RUN(test_canon_body_edges);
	TEST_RUN(test_canon_body_limit);
	TEST_RUN(test_canon_body_large);
	TEST_RUN(test_canon_header_edges);
	TEST_RUN(test_tags);
	TEST_RUN(test_sig_parse);
	TEST_RUN(test_pubkey_parse);
	TEST_RUN(test_pubkey_short_rsa);
	TEST_RUN(test_rfc8463_verify);
	TEST_RUN(test_rfc8463_sign_exact);
	TEST_RUN(test_rfc8463_tampered);
	TEST_RUN(test_verify_simple_canon);
	TEST_RUN(test_verify_length);
	TEST_RUN(test_verify_key_rules);
	TEST_RUN(test_verify_answers);
	TEST_RUN(test_verify_unsigned_and_many);
	TEST_RUN(test_sign_roundtrip);
	TEST_RUN(test_sign_refusals);
	TEST_RUN(test_txt_strings);
	TEST_RUN(test_keys_files);
	TEST_RUN(test_keystore);
	TEST_RUN(test_async_no_lookup);
	TEST_RUN(test_streamed);
	return test_done("test-dkim");
}
