/*
 * test-dns-resolve - tests of the resolver (dns.c) on a real loop.
 *
 * With no arguments (make unit, tests/run.sh) it runs the tests that need
 * no DNS server: IP literals, invalid names, deadlines, cancelling and
 * freeing with queries in flight (against a black-hole UDP socket of its
 * own on 127.0.0.1), and prints "test-dns-resolve: N passed, N failed".
 *
 * With arguments it is the live driver of tests/integration/test_dns.py:
 *   test-dns-resolve [-t MS] [-r N] [-x] SERVER CMD NAME [CMD NAME ...]
 * CMD is mx, addr, txt or ptr (NAME an IP address); every look-up runs
 * in parallel on one resolver (the list N times with -r), then each result
 * is printed in argument order:
 *   mx NAME STATUS [implicit] [error=TEXT]
 *     PREF HOST STATUS ADDR,ADDR...
 *   addr NAME STATUS ADDR,ADDR...
 *   txt NAME STATUS
 *     "TEXT"
 *   ptr ADDR STATUS
 *     "NAME"
 * -x frees the resolver from inside the first callback (the others must
 * then never run; the process prints "freed-in-callback callbacks=1").
 *
 * Trust: test code, run under ASan/UBSan.
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns/dns.h"
#include "dns/dns_rr.h"
#include "util/buf.h"
#include "util/loop.h"
#include "util/test.h"
#include "util/xmalloc.h"

struct job {
	const char		*cmd;
	const char		*name;
	struct buf		 out;
	bool			 done;
};

static struct loop *loop;
static struct dns_resolver *resolver;
static int callbacks, expected;
static bool free_in_callback;

static void
one_done(void)
{
	callbacks++;
	if (free_in_callback) {
		dns_resolver_free(&resolver);
		loop_break(loop);
		return;
	}
	if (callbacks == expected)
		loop_break(loop);
}

/* " fam=A/AAAA": how each family's query ended. */
static void
put_fam(struct buf *b, const enum dns_status fam[2])
{
	buf_printf(b, " fam=%s/%s", dns_status_str(fam[DNS_FAM_A]),
	    dns_status_str(fam[DNS_FAM_AAAA]));
}

static void
put_addrs(struct buf *b, int n, const struct dns_addr *a)
{
	char tmp[INET6_ADDRSTRLEN];

	for (int i = 0; i < n; i++)
		buf_printf(b, "%s%s", i ? "," : " ",
		    dns_addr_str(&a[i], tmp, sizeof(tmp)));
}

static void
mx_cb(struct dns_mx_result *res, void *arg)
{
	struct job *j = arg;

	buf_printf(&j->out, "mx %s %s%s", j->name, dns_status_str(res->status),
	    res->implicit ? " implicit" : "");
	if (res->error != NULL)
		buf_printf(&j->out, " error=%s", res->error);
	buf_putc(&j->out, '\n');
	for (int i = 0; i < res->nhosts; i++) {
		struct dns_mx_host *h = &res->hosts[i];

		buf_printf(&j->out, "  %u %s %s", h->pref, h->name,
		    dns_status_str(h->addr_status));
		put_addrs(&j->out, h->naddr, h->addr);
		put_fam(&j->out, h->addr_fam);
		buf_putc(&j->out, '\n');
	}
	dns_mx_result_free(res);
	j->done = true;
	one_done();
}

static void
addr_cb(const struct dns_addrs *res, void *arg)
{
	struct job *j = arg;

	buf_printf(&j->out, "addr %s %s", j->name, dns_status_str(res->status));
	put_addrs(&j->out, res->n, res->addr);
	put_fam(&j->out, res->fam);
	buf_putc(&j->out, '\n');
	j->done = true;
	one_done();
}

static void
str_cb(enum dns_status st, int n, char **txt, void *arg)
{
	struct job *j = arg;

	buf_printf(&j->out, "%s %s %s\n", j->cmd, j->name,
	    dns_status_str(st));
	for (int i = 0; i < n; i++)
		buf_printf(&j->out, "  \"%s\"\n", txt[i]);
	j->done = true;
	one_done();
}

static struct dns_request *
job_start(struct job *j)
{
	struct dns_addr a;

	if (strcmp(j->cmd, "mx") == 0)
		return dns_resolve_mx(resolver, j->name, mx_cb, j);
	if (strcmp(j->cmd, "addr") == 0)
		return dns_resolve_addr(resolver, j->name, addr_cb, j);
	if (strcmp(j->cmd, "txt") == 0)
		return dns_resolve_txt(resolver, j->name, str_cb, j);
	if (strcmp(j->cmd, "ptr") == 0 && dns_addr_literal(j->name, &a))
		return dns_resolve_ptr(resolver, &a, str_cb, j);
	return NULL;
}

static void
deadline_cb(void *arg)
{
	(void)arg;
	loop_break(loop);
}

/* Runs the loop until loop_break() or ms have passed. */
static void
run_for(unsigned ms)
{
	struct loop_timer *t = loop_timer_new(loop, deadline_cb, NULL);

	loop_timer_add(t, ms);
	loop_run(loop);
	loop_timer_free(&t);
}

/* ------------------------------------------------------------------ */
/* Offline tests */

static int blackhole_fd = -1;
static char blackhole[64];

/* A UDP socket on 127.0.0.1 that never answers. */
static void
blackhole_open(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	blackhole_fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (blackhole_fd < 0 ||
	    bind(blackhole_fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(blackhole_fd, (struct sockaddr *)&sin, &len) < 0) {
		perror("test-dns-resolve: black hole socket");
		exit(1);
	}
	snprintf(blackhole, sizeof(blackhole), "127.0.0.1:%u",
	    (unsigned)ntohs(sin.sin_port));
}

static void
reset_counts(int want)
{
	callbacks = 0;
	expected = want;
	free_in_callback = false;
}

static void
test_new_bad_server(void)
{
	static const char *const bad[] = { "", "x", "1.2.3.4:", "1.2.3.4:0",
	    "1.2.3.4:65536", "[::1", "[::1]x", "host.test:53", "1.2.3:53" };
	char *err = NULL;
	struct dns_resolver *r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = dns_resolver_new(loop, bad[i], &err);
		TEST_ASSERT(r == NULL);
		TEST_ASSERT(err != NULL && strstr(err, "dns_server") != NULL);
		XFREE(&err);
	}
	r = dns_resolver_new(loop, "[::1]:5353", &err);
	TEST_ASSERT(r != NULL && err == NULL);
	dns_resolver_free(&r);
	TEST_ASSERT(r == NULL);
	r = dns_resolver_new(loop, NULL, &err);	/* /etc/resolv.conf */
	TEST_ASSERT(r != NULL && err == NULL);
	dns_resolver_free(&r);
	dns_resolver_free(&r);			/* NULL is fine */
}

static void
test_literals_and_bad_names(void)
{
	struct job j[] = {
		{ "addr", "127.0.0.1", { 0 }, false },
		{ "addr", "::1", { 0 }, false },
		{ "addr", "[2001:db8::5]", { 0 }, false },
		{ "addr", "bad name", { 0 }, false },
		{ "mx", "a..test", { 0 }, false },
		{ "mx", ".", { 0 }, false },
		{ "txt", "x\n.test", { 0 }, false },
	};
	int n = (int)(sizeof(j) / sizeof(j[0]));
	char *err;

	resolver = dns_resolver_new(loop, blackhole, &err);
	TEST_ASSERT(resolver != NULL);
	reset_counts(n);
	for (int i = 0; i < n; i++)
		job_start(&j[i]);
	TEST_ASSERT(callbacks == 0);	/* never from inside the call */
	run_for(5000);
	dns_resolver_free(&resolver);
	TEST_ASSERT(callbacks == n);
	TEST_ASSERT_STREQ(buf_cstr(&j[0].out), "addr 127.0.0.1 OK 127.0.0.1 fam=OK/NODATA\n");
	TEST_ASSERT_STREQ(buf_cstr(&j[1].out), "addr ::1 OK ::1 fam=NODATA/OK\n");
	TEST_ASSERT_STREQ(buf_cstr(&j[2].out),
	    "addr [2001:db8::5] OK 2001:db8::5 fam=NODATA/OK\n");
	TEST_ASSERT_STREQ(buf_cstr(&j[3].out), "addr bad name NXDOMAIN fam=NXDOMAIN/NXDOMAIN\n");
	TEST_ASSERT_STREQ(buf_cstr(&j[4].out), "mx a..test NXDOMAIN error="
	    "(invalid name): not a valid domain name\n");
	TEST_ASSERT(strncmp(buf_cstr(&j[5].out), "mx . NXDOMAIN", 13) == 0);
	TEST_ASSERT_STREQ(buf_cstr(&j[6].out), "txt x\n.test NXDOMAIN\n");
	for (int i = 0; i < n; i++)
		buf_free(&j[i].out);
}

static void
test_timeout(void)
{
	struct job j[] = {
		{ "mx", "b.test", { 0 }, false },
		{ "addr", "h.b.test", { 0 }, false },
		{ "txt", "b.test", { 0 }, false },
	};
	int n = (int)(sizeof(j) / sizeof(j[0]));
	char *err;

	resolver = dns_resolver_new(loop, blackhole, &err);
	TEST_ASSERT(resolver != NULL);
	dns_resolver_set_timeout(resolver, 200);
	reset_counts(n);
	for (int i = 0; i < n; i++)
		job_start(&j[i]);
	run_for(10000);
	dns_resolver_free(&resolver);
	TEST_ASSERT(callbacks == n);
	TEST_ASSERT_STREQ(buf_cstr(&j[0].out), "mx b.test TEMPFAIL error="
	    "b.test: MX lookup failed temporarily (timed out)\n");
	TEST_ASSERT_STREQ(buf_cstr(&j[1].out), "addr h.b.test TEMPFAIL fam=TEMPFAIL/TEMPFAIL\n");
	TEST_ASSERT_STREQ(buf_cstr(&j[2].out), "txt b.test TEMPFAIL\n");
	for (int i = 0; i < n; i++)
		buf_free(&j[i].out);
}

static void
test_cancel_and_free_pending(void)
{
	struct job j[] = {
		{ "mx", "b.test", { 0 }, false },
		{ "addr", "h.b.test", { 0 }, false },
		{ "txt", "b.test", { 0 }, false },
		{ "addr", "127.0.0.1", { 0 }, false },
	};
	struct dns_request *req;
	char *err;

	resolver = dns_resolver_new(loop, blackhole, &err);
	TEST_ASSERT(resolver != NULL);
	dns_resolver_set_timeout(resolver, 100);
	reset_counts(1);
	req = job_start(&j[0]);
	dns_cancel(&req);
	TEST_ASSERT(req == NULL);
	dns_cancel(&req);		/* NULL is fine */
	job_start(&j[1]);
	run_for(3000);			/* only j[1] answers */
	TEST_ASSERT(callbacks == 1 && !j[0].done && j[1].done);
	/* Free with requests in flight: no callback, no leak. */
	reset_counts(1);
	job_start(&j[2]);
	job_start(&j[3]);
	dns_resolver_free(&resolver);
	run_for(300);
	TEST_ASSERT(callbacks == 0 && !j[2].done && !j[3].done);
	for (int i = 0; i < 4; i++)
		buf_free(&j[i].out);
}

static void
test_free_in_callback(void)
{
	struct job j[] = {
		{ "addr", "127.0.0.1", { 0 }, false },
		{ "addr", "127.0.0.2", { 0 }, false },
		{ "mx", "b.test", { 0 }, false },
	};
	char *err;

	resolver = dns_resolver_new(loop, blackhole, &err);
	TEST_ASSERT(resolver != NULL);
	reset_counts(3);
	free_in_callback = true;
	for (int i = 0; i < 3; i++)
		job_start(&j[i]);
	run_for(3000);
	TEST_ASSERT(resolver == NULL);
	TEST_ASSERT(callbacks == 1);
	run_for(200);
	TEST_ASSERT(callbacks == 1);
	for (int i = 0; i < 3; i++)
		buf_free(&j[i].out);
}

static int
offline_tests(void)
{
	blackhole_open();
	TEST_RUN(test_new_bad_server);
	TEST_RUN(test_literals_and_bad_names);
	TEST_RUN(test_timeout);
	TEST_RUN(test_cancel_and_free_pending);
	TEST_RUN(test_free_in_callback);
	dns_resolver_free(&resolver);	/* after a failed test */
	close(blackhole_fd);
	return test_done("test-dns-resolve");
}

/* ------------------------------------------------------------------ */
/* Live driver */

static int
usage(void)
{
	fprintf(stderr, "usage: test-dns-resolve [-t MS] [-r N] [-x] SERVER "
	    "mx|addr|txt|ptr NAME ...\n");
	return 2;
}

static int
live(int argc, char **argv)
{
	int opt, repeat = 1, timeout = 0, n, npairs;
	struct job *jobs;
	char *err;

	while ((opt = getopt(argc, argv, "t:r:x")) != -1) {
		if (opt == 't')
			timeout = atoi(optarg);
		else if (opt == 'r')
			repeat = atoi(optarg);
		else if (opt == 'x')
			free_in_callback = true;
		else
			return usage();
	}
	npairs = (argc - optind - 1) / 2;
	if (argc - optind < 3 || (argc - optind - 1) % 2 != 0 || repeat < 1)
		return usage();
	resolver = dns_resolver_new(loop, argv[optind], &err);
	if (resolver == NULL) {
		fprintf(stderr, "test-dns-resolve: %s\n", err);
		free(err);
		return 1;
	}
	if (timeout > 0)
		dns_resolver_set_timeout(resolver, (unsigned)timeout);
	n = npairs * repeat;
	jobs = xcalloc((size_t)n, sizeof(*jobs));
	expected = n;
	for (int i = 0; i < n; i++) {
		jobs[i].cmd = argv[optind + 1 + 2 * (i % npairs)];
		jobs[i].name = argv[optind + 2 + 2 * (i % npairs)];
		if (job_start(&jobs[i]) == NULL)
			return usage();
	}
	run_for(120000);
	if (free_in_callback) {
		run_for(500);	/* the others must stay silent */
		printf("freed-in-callback callbacks=%d\n", callbacks);
	}
	for (int i = 0; i < n; i++) {
		if (!jobs[i].done && !free_in_callback)
			printf("%s %s NO ANSWER\n", jobs[i].cmd, jobs[i].name);
		fputs(buf_cstr(&jobs[i].out), stdout);
		buf_free(&jobs[i].out);
	}
	free(jobs);
	dns_resolver_free(&resolver);
	return callbacks == expected || free_in_callback ? 0 : 1;
}

int
main(int argc, char **argv)
{
	int ret;

	loop_global_init();
	loop = loop_new();
	ret = argc > 1 ? live(argc, argv) : offline_tests();
	loop_free(&loop);
	return ret;
}
