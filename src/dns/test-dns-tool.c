/*
 * test-dns-tool - one look-up on a real validating resolver, for
 * tests/integration/test_dnssec.py (a diagnostic: it shows what tem's
 * resolver makes of a name, status and DNSSEC security included).
 *
 * With no arguments (make unit, tests/run.sh) it has nothing to test and
 * prints "test-dns-tool: 0 passed, 0 failed".
 *
 *   test-dns-tool SERVER ANCHOR TYPE NAME
 *
 * SERVER is the DNS server ("127.0.0.1:PORT"), ANCHOR a trust anchor file
 * (dns_trust_anchor_file) or "none", TYPE one of a, mx, txt, tlsa. Prints
 * one line "STATUS SECURITY", then one line per record: an address, "PREF
 * HOST ADDR..." for MX, the text for TXT, "USAGE SELECTOR MTYPE DATA-IN-HEX"
 * for TLSA (read by tlsa.c).
 * Exit status 0 when the look-up answered, 1 otherwise, 2 on bad usage.
 *
 * Trust: test code, run under ASan/UBSan.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"
#include "dns/tlsa.h"
#include "util/loop.h"
#include "util/xmalloc.h"

#define TOOL_DEADLINE_MS	60000

static struct loop *loop;
static int answered;

static void
print_addr(const struct dns_addr *a)
{
	char buf[INET6_ADDRSTRLEN] = "?";
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a->ss;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->ss;

	if (a->ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &s4->sin_addr, buf, sizeof(buf));
	else
		inet_ntop(AF_INET6, &s6->sin6_addr, buf, sizeof(buf));
	printf(" %s", buf);
}

static void
addr_cb(const struct dns_addrs *res, void *arg)
{
	(void)arg;
	printf("%s %s\n", dns_status_str(res->status), dns_sec_str(res->sec));
	for (int i = 0; i < res->n; i++) {
		print_addr(&res->addr[i]);
		printf("\n");
	}
	answered = 1;
	loop_break(loop);
}

static void
mx_cb(struct dns_mx_result *res, void *arg)
{
	(void)arg;
	printf("%s %s%s%s\n", dns_status_str(res->status),
	    dns_sec_str(res->sec), res->error ? " " : "",
	    res->error ? res->error : "");
	for (int i = 0; i < res->nhosts; i++) {
		printf("%u %s", res->hosts[i].pref, res->hosts[i].name);
		for (int j = 0; j < res->hosts[i].naddr; j++)
			print_addr(&res->hosts[i].addr[j]);
		printf(" %s\n", dns_sec_str(res->hosts[i].addr_sec));
	}
	dns_mx_result_free(res);
	answered = 1;
	loop_break(loop);
}

static void
txt_cb(enum dns_status st, int n, char **txt, void *arg)
{
	(void)arg;
	printf("%s\n", dns_status_str(st));
	for (int i = 0; i < n; i++)
		printf("%s\n", txt[i]);
	answered = 1;
	loop_break(loop);
}

static void
tlsa_cb(enum dns_status st, enum dns_sec sec, int n,
    const unsigned char *const *rr, const size_t *len, void *arg)
{
	(void)arg;
	printf("%s %s\n", dns_status_str(st), dns_sec_str(sec));
	for (int i = 0; i < n; i++) {
		struct tlsa t;

		/* the DANE code's parser (tlsa.c) reads what we return */
		if (tlsa_parse(rr[i], len[i], &t) < 0) {
			printf("malformed\n");
			continue;
		}
		printf("%u %u %u ", t.usage, t.selector, t.mtype);
		for (size_t j = 0; j < t.len; j++)
			printf("%02x", t.data[j]);
		printf("\n");
		tlsa_clear(&t);
	}
	answered = 1;
	loop_break(loop);
}

static void
deadline_cb(void *arg)
{
	(void)arg;
	loop_break(loop);
}

static int
live(char **argv)
{
	struct dns_resolver *r;
	struct dns_request *req = NULL;
	struct loop_timer *t;
	const char *type = argv[3], *name = argv[4];
	char *err = NULL;

	if ((r = dns_resolver_open(loop, argv[1], argv[2], &err)) == NULL) {
		fprintf(stderr, "test-dns-tool: %s\n", err);
		free(err);
		return 2;
	}
	if (strcmp(type, "a") == 0)
		req = dns_resolve_addr(r, name, addr_cb, NULL);
	else if (strcmp(type, "mx") == 0)
		req = dns_resolve_mx(r, name, mx_cb, NULL);
	else if (strcmp(type, "txt") == 0)
		req = dns_resolve_txt(r, name, txt_cb, NULL);
	else if (strcmp(type, "tlsa") == 0)
		req = dns_resolve_tlsa(r, name, tlsa_cb, NULL);
	if (req == NULL) {
		fprintf(stderr, "test-dns-tool: unknown type %s\n", type);
		dns_resolver_free(&r);
		return 2;
	}
	t = loop_timer_new(loop, deadline_cb, NULL);
	loop_timer_add(t, TOOL_DEADLINE_MS);
	loop_run(loop);
	loop_timer_free(&t);
	if (!answered)
		printf("NO ANSWER\n");
	dns_resolver_free(&r);		/* cancels an unanswered request */
	return answered ? 0 : 1;
}

int
main(int argc, char **argv)
{
	int ret;

	if (argc == 1) {
		printf("test-dns-tool: 0 passed, 0 failed\n");
		return 0;
	}
	if (argc != 5) {
		fprintf(stderr, "usage: test-dns-tool SERVER ANCHOR TYPE "
		    "NAME\n");
		return 2;
	}
	loop_global_init();
	loop = loop_new();
	ret = live(argv);
	loop_free(&loop);
	return ret;
}
