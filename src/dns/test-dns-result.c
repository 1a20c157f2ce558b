/*
 * test-dns-result - unit tests of dns_result.c: made-up answers go into a
 * request's host jobs and come out as the caller's result, with one status
 * per host and per address family (a family that failed temporarily is
 * reported as such even when the other answered), and the DNSSEC
 * security of answers and results.
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_int.h"
#include "util/test.h"
#include "util/xmalloc.h"

/* Feeds job one A answer (4-octet RDATA) and one AAAA outcome. */
static void
feed(struct dns_host_job *job, enum dns_status st_a, const char *ip4,
    enum dns_status st_aaaa, const char *ip6)
{
	unsigned char a[4], aaaa[16];
	char *data[2] = { NULL, NULL };
	int len[2] = { 0, 0 };
	struct ub_result res = { .data = data, .len = len, .havedata = 1 };

	if (st_a == DNS_OK && inet_pton(AF_INET, ip4, a) == 1) {
		data[0] = (char *)a;
		len[0] = 4;
	}
	dns_host_record(job, DNS_FAM_A, st_a, st_a == DNS_OK ? &res : NULL,
	    st_a == DNS_TEMPFAIL ? "SERVFAIL" : NULL);
	data[0] = NULL;
	if (st_aaaa == DNS_OK && inet_pton(AF_INET6, ip6, aaaa) == 1) {
		data[0] = (char *)aaaa;
		len[0] = 16;
	}
	dns_host_record(job, DNS_FAM_AAAA, st_aaaa, st_aaaa == DNS_OK ? &res :
	    NULL, st_aaaa == DNS_TEMPFAIL ? "timed out" : NULL);
}

static struct dns_request *
request(int nhosts)
{
	struct dns_request *req = xcalloc(1, sizeof(*req));

	req->kind = DNS_KIND_MX;
	req->name = xstrdup("example.test");
	req->hosts_started = true;
	req->nhosts = nhosts;
	req->hosts = xcalloc((size_t)nhosts, sizeof(*req->hosts));
	for (int i = 0; i < nhosts; i++)
		req->hosts[i].name = xasprintf("mx%d.example.test", i + 1);
	return req;
}

static void
request_free(struct dns_request *req)
{
	for (int i = 0; i < req->nhosts; i++) {
		free(req->hosts[i].name);
		free(req->hosts[i].addr[0]);
		free(req->hosts[i].addr[1]);
	}
	free(req->hosts);
	free(req->name);
	free(req);
}

static void
test_one_family_fails(void)
{
	struct dns_request *req = request(2);
	struct dns_mx_result *res;

	feed(&req->hosts[0], DNS_OK, "192.0.2.1", DNS_TEMPFAIL, NULL);
	feed(&req->hosts[1], DNS_TEMPFAIL, NULL, DNS_OK, "2001:db8::2");
	TEST_ASSERT(dns_job_status(&req->hosts[0]) == DNS_OK);
	res = dns_mx_result_make(req);
	TEST_ASSERT(res->status == DNS_OK && res->error == NULL);
	TEST_ASSERT(res->nhosts == 2);
	TEST_ASSERT(res->hosts[0].naddr == 1);
	TEST_ASSERT(res->hosts[0].addr[0].ss.ss_family == AF_INET);
	TEST_ASSERT(res->hosts[0].addr_status == DNS_OK);
	TEST_ASSERT(res->hosts[0].addr_fam[DNS_FAM_A] == DNS_OK);
	TEST_ASSERT(res->hosts[0].addr_fam[DNS_FAM_AAAA] == DNS_TEMPFAIL);
	TEST_ASSERT(res->hosts[1].addr_fam[DNS_FAM_A] == DNS_TEMPFAIL);
	TEST_ASSERT(res->hosts[1].addr_fam[DNS_FAM_AAAA] == DNS_OK);
	TEST_ASSERT(res->hosts[1].addr[0].ss.ss_family == AF_INET6);
	dns_mx_result_free(res);
	request_free(req);
}

static void
test_combined_status(void)
{
	struct dns_request *req = request(2);
	struct dns_mx_result *res;

	/* No address anywhere: one temporary failure makes it TEMPFAIL. */
	feed(&req->hosts[0], DNS_NODATA, NULL, DNS_TEMPFAIL, NULL);
	feed(&req->hosts[1], DNS_NXDOMAIN, NULL, DNS_NXDOMAIN, NULL);
	TEST_ASSERT(dns_job_status(&req->hosts[0]) == DNS_TEMPFAIL);
	TEST_ASSERT(dns_job_status(&req->hosts[1]) == DNS_NXDOMAIN);
	res = dns_mx_result_make(req);
	TEST_ASSERT(res->status == DNS_TEMPFAIL);
	TEST_ASSERT(res->error != NULL && strstr(res->error, "timed out"));
	TEST_ASSERT(res->hosts[0].addr_fam[DNS_FAM_A] == DNS_NODATA);
	TEST_ASSERT(res->hosts[0].addr_fam[DNS_FAM_AAAA] == DNS_TEMPFAIL);
	dns_mx_result_free(res);
	request_free(req);

	/* Every failure permanent: NODATA. */
	req = request(1);
	feed(&req->hosts[0], DNS_NODATA, NULL, DNS_NXDOMAIN, NULL);
	res = dns_mx_result_make(req);
	TEST_ASSERT(res->status == DNS_NODATA);
	TEST_ASSERT(res->error != NULL);
	dns_mx_result_free(res);
	request_free(req);

	/* Implicit MX of a domain that does not exist: NXDOMAIN. */
	req = request(1);
	req->implicit = true;
	feed(&req->hosts[0], DNS_NXDOMAIN, NULL, DNS_NXDOMAIN, NULL);
	res = dns_mx_result_make(req);
	TEST_ASSERT(res->status == DNS_NXDOMAIN && res->implicit);
	dns_mx_result_free(res);
	request_free(req);
}

static void
test_job_addrs(void)
{
	struct dns_request *req = request(1);
	struct dns_addr *a;
	int n;

	feed(&req->hosts[0], DNS_OK, "192.0.2.7", DNS_OK, "2001:db8::7");
	n = dns_job_addrs(&req->hosts[0], &a);
	TEST_ASSERT(n == 2 && a != NULL);
	TEST_ASSERT(a[0].ss.ss_family == AF_INET);	/* A first */
	TEST_ASSERT(a[1].ss.ss_family == AF_INET6);
	free(a);
	request_free(req);
}

/* DNSSEC: the security of answers, alone and used together. */
static void
test_security(void)
{
	struct ub_result res = { .secure = 1 };

	TEST_ASSERT(dns_res_sec(NULL) == DNS_SEC_INSECURE);
	TEST_ASSERT(dns_res_sec(&res) == DNS_SEC_SECURE);
	res.secure = 0;
	TEST_ASSERT(dns_res_sec(&res) == DNS_SEC_INSECURE);
	res.bogus = 1;
	TEST_ASSERT(dns_res_sec(&res) == DNS_SEC_BOGUS);
	TEST_ASSERT(dns_sec_join(DNS_SEC_SECURE, DNS_SEC_SECURE) ==
	    DNS_SEC_SECURE);
	TEST_ASSERT(dns_sec_join(DNS_SEC_SECURE, DNS_SEC_INSECURE) ==
	    DNS_SEC_INSECURE);
	TEST_ASSERT(dns_sec_join(DNS_SEC_INSECURE, DNS_SEC_BOGUS) ==
	    DNS_SEC_BOGUS);
	TEST_ASSERT(dns_sec_join(DNS_SEC_BOGUS, DNS_SEC_SECURE) ==
	    DNS_SEC_BOGUS);
	TEST_ASSERT(strcmp(dns_sec_str(DNS_SEC_BOGUS), "bogus") == 0);
}

/* The MX answer's security reaches the result and each host has its own;
 * an implicit MX takes the host's too. */
static void
test_mx_security(void)
{
	struct dns_request *req = request(1);
	struct dns_mx_result *res;

	req->sec = DNS_SEC_SECURE;
	feed(&req->hosts[0], DNS_OK, "192.0.2.1", DNS_NODATA, NULL);
	req->hosts[0].sec[DNS_FAM_A] = DNS_SEC_SECURE;
	req->hosts[0].sec[DNS_FAM_AAAA] = DNS_SEC_INSECURE;
	res = dns_mx_result_make(req);
	TEST_ASSERT(res->status == DNS_OK && res->sec == DNS_SEC_SECURE);
	TEST_ASSERT(res->hosts[0].addr_sec == DNS_SEC_INSECURE);
	dns_mx_result_free(res);
	req->implicit = true;
	res = dns_mx_result_make(req);
	TEST_ASSERT(res->sec == DNS_SEC_INSECURE);
	dns_mx_result_free(res);
	request_free(req);
}

/* TLSA RDATA is passed on raw, bounded by DNS_MAX_TLSA. */
static void
test_tlsa_raw(void)
{
	struct dns_request *req = xcalloc(1, sizeof(*req));
	char *data[DNS_MAX_TLSA + 2];
	int len[DNS_MAX_TLSA + 2];
	char rr[] = { 3, 1, 1, 0, (char)0xab };
	struct ub_result res = { .data = data, .len = len, .havedata = 1 };

	for (int i = 0; i < DNS_MAX_TLSA + 1; i++) {
		data[i] = rr;
		len[i] = (int)sizeof(rr);
	}
	data[DNS_MAX_TLSA + 1] = NULL;
	dns_tlsa_record(req, &res);
	TEST_ASSERT(req->nstr == DNS_MAX_TLSA);
	TEST_ASSERT(req->len[0] == sizeof(rr));
	TEST_ASSERT(memcmp(req->str[0], rr, sizeof(rr)) == 0);	/* NUL kept */
	for (int i = 0; i < req->nstr; i++)
		free(req->str[i]);
	free(req->str);
	free(req->len);
	free(req);
}

int
main(void)
{
	TEST_RUN(test_one_family_fails);
	TEST_RUN(test_combined_status);
	TEST_RUN(test_job_addrs);
	TEST_RUN(test_security);
	TEST_RUN(test_mx_security);
	TEST_RUN(test_tlsa_raw);
	return test_done("test-dns-result");
}
