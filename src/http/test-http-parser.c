/*
 * test-http-parser - table-driven tests for http_parser.c: good requests
 * (methods, versions, keep-alive, Host forms, queries, percent-decoding,
 * bodies, pipelining, Expect: 100-continue), each also fed in every two-piece split, and every
 * refusal with its status (400 411 413 414 431 501 505).
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include <stdlib.h>
#include <string.h>

#include "http/http_parser.h"
#include "util/buf.h"
#include "util/test.h"

struct ok_case {
	const char	*in;
	unsigned	 method;
	const char	*path, *query, *host;
	size_t		 body_len;
	bool		 keep_alive;
};

static const struct ok_case oks[] = {
	{ "GET /healthz HTTP/1.1\r\nHost: a.test\r\n\r\n", HTTP_GET,
	  "/healthz", "", "a.test", 0, true },
	{ "HEAD / HTTP/1.0\r\n\r\n", HTTP_HEAD, "/", "", "", 0, false },
	{ "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", HTTP_GET, "/",
	  "", "", 0, true },
	{ "GET /a%20b?x=1&y=%40 HTTP/1.1\r\nHost: MTA-STS.A.Test:443\r\n"
	  "Connection: foo, close\r\n\r\n", HTTP_GET, "/a b", "x=1&y=%40",
	  "mta-sts.a.test", 0, false },
	{ "\r\nGET / HTTP/1.1\nHost: [::1]:80\n\n", HTTP_GET, "/", "",
	  "[::1]", 0, true },
	{ "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
	  "Content-Length: 3\r\n\r\nabc", HTTP_POST, "/p", "", "a", 3, true },
	{ "GET http://a.test/x?q HTTP/1.1\r\nHost: a.test\r\nX-E:\r\n\r\n",
	  HTTP_GET, "/x", "q", "a.test", 0, true },
};

struct bad_case {
	const char	*in;
	int		 status;
};

static const struct bad_case bads[] = {
	{ "GET /\r\n\r\n", 400 },
	{ "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505 },
	{ "GET / HTTP/1.1x\r\nHost: a\r\n\r\n", 400 },
	{ "PUT / HTTP/1.1\r\nHost: a\r\n\r\n", 501 },
	{ "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "GET x HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "GET /%00 HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "GET /%4 HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a\r\n X: fold\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400 },
	{ "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\n\r\n", 411 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
	  411 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
	  "Content-Length: 2\r\n\r\nab", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 65537\r\n\r\n",
	  413 },
	{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: "
	  "99999999999999999999999\r\n\r\n", 413 },
};

static void
test_good(void)
{
	for (size_t i = 0; i < sizeof(oks) / sizeof(oks[0]); i++) {
		const struct ok_case *c = &oks[i];
		size_t n = strlen(c->in);
		struct http_parsed p;

		TEST_ASSERT(http_parse(c->in, n, &p) == HTTP_PARSE_DONE);
		TEST_ASSERT(p.used == n);
		TEST_ASSERT(p.req.method == c->method);
		TEST_ASSERT_STREQ(p.req.path, c->path);
		TEST_ASSERT_STREQ(p.req.query, c->query);
		TEST_ASSERT_STREQ(p.req.host, c->host);
		TEST_ASSERT(p.req.body_len == c->body_len);
		TEST_ASSERT(p.keep_alive == c->keep_alive);
		http_parsed_free(&p);
		/* any prefix is not whole yet */
		for (size_t k = 0; k < n; k++) {
			TEST_ASSERT(http_parse(c->in, k, &p) ==
			    HTTP_PARSE_MORE);
		}
	}
}

static void
test_bad(void)
{
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		struct http_parsed p;

		TEST_ASSERT(http_parse(bads[i].in, strlen(bads[i].in), &p) ==
		    HTTP_PARSE_ERROR);
		if (p.status != bads[i].status)
			fprintf(stderr, "  case %zu: status %d\n", i,
			    p.status);
		TEST_ASSERT(p.status == bads[i].status);
	}
}

static void
test_limits(void)
{
	struct http_parsed p;
	struct buf b;

	/* a request line longer than HTTP_LINE_MAX, not yet ended: 414 */
	buf_init(&b, 0);
	buf_puts(&b, "GET /");
	while (b.len <= HTTP_LINE_MAX + 1)	/* room for a CR */
		buf_putc(&b, 'a');
	TEST_ASSERT(http_parse(b.data, b.len, &p) == HTTP_PARSE_ERROR &&
	    p.status == 414);
	/* a header section over HTTP_HEAD_MAX, never ended: 431 */
	buf_reset(&b);
	buf_puts(&b, "GET / HTTP/1.1\r\nHost: a\r\n");
	while (b.len <= HTTP_HEAD_MAX)
		buf_puts(&b, "X-Filler: 0123456789abcdef\r\n");
	TEST_ASSERT(http_parse(b.data, b.len, &p) == HTTP_PARSE_ERROR &&
	    p.status == 431);
	/* more than HTTP_HEADERS_MAX fields: 431 */
	buf_reset(&b);
	buf_puts(&b, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (int i = 0; i < HTTP_HEADERS_MAX; i++)
		buf_puts(&b, "X: y\r\n");
	buf_puts(&b, "\r\n");
	TEST_ASSERT(http_parse(b.data, b.len, &p) == HTTP_PARSE_ERROR &&
	    p.status == 431);
	buf_free(&b);
}

static void
test_pipelined(void)
{
	const char *in = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
	    "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"
	    "HEAD /c HTTP/1.1\r\nHost: x\r\n\r\nGET";
	const char *paths[] = { "/a", "/b", "/c" };
	size_t off = 0, n = strlen(in);
	struct http_parsed p;

	for (int i = 0; i < 3; i++) {
		TEST_ASSERT(http_parse(in + off, n - off, &p) ==
		    HTTP_PARSE_DONE);
		TEST_ASSERT_STREQ(p.req.path, paths[i]);
		if (i == 1)
			TEST_ASSERT(p.req.body_len == 2 &&
			    memcmp(p.req.body, "hi", 2) == 0);
		off += p.used;
		http_parsed_free(&p);
	}
	TEST_ASSERT(http_parse(in + off, n - off, &p) == HTTP_PARSE_MORE);
	TEST_ASSERT(!p.want_continue);
	in = "POST /p HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n"
	    "Content-Length: 4\r\n\r\nab";
	TEST_ASSERT(http_parse(in, strlen(in), &p) == HTTP_PARSE_MORE);
	TEST_ASSERT(p.want_continue);
	TEST_ASSERT(http_header_get(&p.req, "Host") == NULL);
	TEST_ASSERT_STREQ(http_reason(431), "Request Header Fields Too Large");
}

int
main(void)
{
	TEST_RUN(test_good);
	TEST_RUN(test_bad);
	TEST_RUN(test_limits);
	TEST_RUN(test_pipelined);
	return test_done("test-http-parser");
}
