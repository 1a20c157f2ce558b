/*
 * test-http-metrics - the /metrics handler called directly: metrics_allow
 * (addresses, networks, v4-mapped IPv6), 403 for the rest, the body and
 * its content type; util/cidr's parser; the cost of a scrape.
 */
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "conf/conf.h"
#include "http/http_metrics.h"
#include "server/state.h"
#include "util/cidr.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/test.h"

static int
get(const char *ip, struct http_response *r)
{
	struct sockaddr_storage ss;
	struct http_request req;

	memset(&ss, 0, sizeof(ss));
	memset(&req, 0, sizeof(req));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (void *)&ss;
		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (void *)&ss;
		s4->sin_family = AF_INET;
		inet_pton(AF_INET, ip, &s4->sin_addr);
	}
	req.method = HTTP_GET;
	req.target = req.path = "/metrics";
	req.query = req.host = "";
	req.peer = (const struct sockaddr *)&ss;
	req.peer_len = sizeof(ss);
	buf_reset(&r->body);
	r->status = 200;
	r->content_type = NULL;
	http_metrics_handler(&req, r, NULL);
	return r->status;
}

static void
test_allow(void)
{
	struct http_response r = { 0 };
	struct conf *c;
	char *err = NULL;
	const char *text = "metrics_allow = 127.0.0.1, 192.0.2.0/24, ::1\n";

	c = conf_new_defaults("/etc/tem/tem.conf");
	TEST_ASSERT(conf_parse(c, "t", text, strlen(text), &err) == 0);
	server_state_set_conf(c);
	buf_init(&r.body, 0);
	buf_init(&r.headers, 0);
	TEST_ASSERT(get("127.0.0.1", &r) == 200);
	TEST_ASSERT(strstr(r.content_type, "version=0.0.4") != NULL);
	TEST_ASSERT(strstr(buf_cstr(&r.body), "# TYPE tem_sessions_total "
	    "counter\n") != NULL);
	TEST_ASSERT(strstr(buf_cstr(&r.body), "process_open_fds ") != NULL);
	TEST_ASSERT(get("192.0.2.77", &r) == 200);
	TEST_ASSERT(get("::1", &r) == 200);
	TEST_ASSERT(get("::ffff:192.0.2.1", &r) == 200);
	TEST_ASSERT(get("127.0.0.2", &r) == 403);
	TEST_ASSERT(strstr(buf_cstr(&r.body), "tem_") == NULL);
	TEST_ASSERT(get("192.0.3.1", &r) == 403);
	TEST_ASSERT(get("::2", &r) == 403);
	{
		/* the cost of one whole scrape (/proc reads included) */
		uint64_t t0 = metrics_now_ns();
		for (int i = 0; i < 200; i++)
			get("127.0.0.1", &r);
		printf("http-metrics: %.1f us per scrape, %zu octets\n",
		    (double)(metrics_now_ns() - t0) / 200 / 1000, r.body.len);
	}
	buf_free(&r.body);
	buf_free(&r.headers);
}

static void
test_cidr(void)
{
	struct cidr c;

	TEST_ASSERT(cidr_parse("10.0.0.0/8", &c) == 0 && c.bits == 8);
	TEST_ASSERT(cidr_parse("10.1.2.3/8", &c) == 0 && c.addr[1] == 0);
	TEST_ASSERT(cidr_parse("2001:db8::/32", &c) == 0 &&
	    c.family == AF_INET6);
	TEST_ASSERT(cidr_parse("0.0.0.0/0", &c) == 0 && c.bits == 0);
	TEST_ASSERT(cidr_parse("10.0.0.0/33", &c) < 0);
	TEST_ASSERT(cidr_parse("10.0.0.0/", &c) < 0);
	TEST_ASSERT(cidr_parse("10.0.0.0/x", &c) < 0);
	TEST_ASSERT(cidr_parse("10.0.0.0/-1", &c) < 0);
	TEST_ASSERT(cidr_parse("host.test", &c) < 0);
	TEST_ASSERT(cidr_parse("", &c) < 0);
}

int
main(void)
{
	log_init(LOG_ERROR);
	http_metrics_init();
	TEST_RUN(test_cidr);
	TEST_RUN(test_allow);
	server_state_clear();
	http_metrics_free();
	return test_done("test-http-metrics");
}
