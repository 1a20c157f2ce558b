/*
 * test-dns-cache - unit tests of dns_cache.c: what is kept (definite
 * answers with a TTL), what is not (failures, TTL 0, bogus, oversized),
 * name matching (case, trailing dot, type), the DNSSEC security kept
 * with an answer, and the bound on entries.
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include <stdio.h>
#include <string.h>

#include "dns/dns_cache.h"
#include "util/test.h"

/* One TXT-like answer with a single record. */
static char qname[] = "x";

static struct ub_result
answer(int rcode, int ttl, char **data, int *len, char *text)
{
	struct ub_result r = { .qname = qname, .qtype = 16, .qclass = 1,
	    .data = data, .len = len, .rcode = rcode, .ttl = ttl };

	data[0] = data[1] = NULL;
	len[0] = len[1] = 0;
	if (text != NULL) {
		data[0] = text;
		len[0] = (int)strlen(text);
		r.havedata = 1;
	}
	r.nxdomain = rcode == 3;
	return r;
}

static void
test_keeps_and_matches(void)
{
	struct dns_cache *c = dns_cache_new();
	char *data[2];
	int len[2];
	char spf[] = "v=spf1 -all";
	struct ub_result r = answer(0, 300, data, len, spf);
	struct ub_result *got;

	dns_cache_put(c, "Example.ORG.", 16, &r);
	got = dns_cache_get(c, "example.org", 16);
	TEST_ASSERT(got != NULL);
	TEST_ASSERT(got->havedata && got->rcode == 0 && got->len[0] == 11);
	TEST_ASSERT(memcmp(got->data[0], "v=spf1 -all", 11) == 0);
	TEST_ASSERT(got->data[1] == NULL);
	TEST_ASSERT(got->ttl > 0 && got->ttl <= 300);
	dns_cache_result_free(got);
	TEST_ASSERT(dns_cache_get(c, "example.org", 1) == NULL);	/* type */
	TEST_ASSERT(dns_cache_get(c, "www.example.org", 16) == NULL);
	r = answer(3, 60, data, len, NULL);			/* NXDOMAIN */
	dns_cache_put(c, "gone.example", 16, &r);
	got = dns_cache_get(c, "gone.example", 16);
	TEST_ASSERT(got != NULL && got->rcode == 3 && !got->havedata);
	dns_cache_result_free(got);
	dns_cache_free(&c);
	TEST_ASSERT(c == NULL);
}

static void
test_not_kept(void)
{
	struct dns_cache *c = dns_cache_new();
	char *data[2];
	int len[2];
	static char big[DNS_CACHE_ANSWER_MAX + 2];
	char x[] = "x";
	struct ub_result r;

	r = answer(2, 300, data, len, NULL);		/* SERVFAIL */
	dns_cache_put(c, "a.example", 16, &r);
	r = answer(0, 0, data, len, x);		/* TTL 0 */
	dns_cache_put(c, "b.example", 16, &r);
	r = answer(0, 300, data, len, x);
	r.bogus = 1;
	dns_cache_put(c, "c.example", 16, &r);
	memset(big, 'x', sizeof(big) - 1);
	r = answer(0, 300, data, len, big);		/* too big */
	dns_cache_put(c, "d.example", 16, &r);
	TEST_ASSERT(dns_cache_get(c, "a.example", 16) == NULL);
	TEST_ASSERT(dns_cache_get(c, "b.example", 16) == NULL);
	TEST_ASSERT(dns_cache_get(c, "c.example", 16) == NULL);
	TEST_ASSERT(dns_cache_get(c, "d.example", 16) == NULL);
	dns_cache_free(&c);
}

/* DNSSEC: a cached answer keeps its security (DANE reads it from there). */
static void
test_keeps_security(void)
{
	struct dns_cache *c = dns_cache_new();
	char *data[2], x[] = "x";
	int len[2];
	struct ub_result r = answer(0, 300, data, len, x);
	struct ub_result *got;

	r.secure = 1;
	dns_cache_put(c, "signed.example", 16, &r);
	r.secure = 0;
	dns_cache_put(c, "unsigned.example", 16, &r);
	got = dns_cache_get(c, "signed.example", 16);
	TEST_ASSERT(got != NULL && got->secure && !got->bogus);
	dns_cache_result_free(got);
	got = dns_cache_get(c, "unsigned.example", 16);
	TEST_ASSERT(got != NULL && !got->secure && !got->bogus);
	dns_cache_result_free(got);
	dns_cache_free(&c);
}

static void
test_bounded(void)
{
	struct dns_cache *c = dns_cache_new();
	char *data[2], name[64], x[] = "x";
	int len[2];
	struct ub_result r = answer(0, 300, data, len, x);
	struct ub_result *got;

	for (int i = 0; i < DNS_CACHE_MAX + 10; i++) {
		snprintf(name, sizeof(name), "n%d.example", i);
		dns_cache_put(c, name, 16, &r);
	}
	/* the ten oldest went, the newest are there */
	TEST_ASSERT(dns_cache_get(c, "n0.example", 16) == NULL);
	TEST_ASSERT(dns_cache_get(c, "n9.example", 16) == NULL);
	snprintf(name, sizeof(name), "n%d.example", DNS_CACHE_MAX + 9);
	got = dns_cache_get(c, name, 16);
	TEST_ASSERT(got != NULL);
	dns_cache_result_free(got);
	got = dns_cache_get(c, "n10.example", 16);
	TEST_ASSERT(got != NULL);
	dns_cache_result_free(got);
	dns_cache_free(&c);
}

int
main(void)
{
	TEST_RUN(test_keeps_and_matches);
	TEST_RUN(test_not_kept);
	TEST_RUN(test_keeps_security);
	TEST_RUN(test_bounded);
	return test_done("test-dns-cache");
}
