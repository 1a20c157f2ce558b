/*
 * fuzz-http - libFuzzer target for http_parser: the input is the bytes a
 * client sent (one or more pipelined requests).
 *
 * Beyond "no crash, no leak, no UB" it checks contracts: a result is one
 * of the three; an error has a status among those the session answers
 * and a reason; a request uses no more than the input, within the limits
 * of http.h, with a path starting '/', a method among GET/HEAD/POST, at
 * most HTTP_HEADERS_MAX headers and its body inside the input; the answer
 * does not depend on how much more input follows (a prefix that parses
 * parses the same with the rest appended), and a pipelined sequence is
 * consumed request by request.
 *
 * Trust: test code.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static void
check_one(const char *p, size_t n, struct http_parsed *r, int rc)
{
	const struct http_request *q = &r->req;

	if (rc == HTTP_PARSE_ERROR) {
		CHECK(r->status == 400 || r->status == 411 ||
		    r->status == 413 || r->status == 414 ||
		    r->status == 431 || r->status == 501 ||
		    r->status == 505);
		CHECK(r->why != NULL && r->copy == NULL);
		return;
	}
	if (rc == HTTP_PARSE_MORE) {
		CHECK(r->copy == NULL);
		CHECK(n <= HTTP_HEAD_MAX + HTTP_BODY_MAX + 2);
		return;
	}
	CHECK(rc == HTTP_PARSE_DONE);
	CHECK(r->used > 0 && r->used <= n);
	CHECK(q->method == HTTP_GET || q->method == HTTP_HEAD ||
	    q->method == HTTP_POST);
	CHECK(q->path[0] == '/' && q->target != NULL && q->query != NULL);
	CHECK(q->host != NULL && strpbrk(q->host, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
	    == NULL);
	CHECK(q->nheaders <= HTTP_HEADERS_MAX);
	CHECK(q->body_len <= HTTP_BODY_MAX);
	CHECK(q->body >= p && q->body + q->body_len == p + r->used);
	for (size_t i = 0; i < q->nheaders; i++)
		CHECK(strpbrk(q->headers[i].value, "\r\n") == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct http_parsed a, b;
	size_t off = 0;
	int rc;

	/* pipelined: request after request until one is short or bad */
	for (int i = 0; i < 8 && off <= size; i++) {
		rc = http_parse(p + off, size - off, &a);
		check_one(p + off, size - off, &a, rc);
		if (rc != HTTP_PARSE_DONE)
			break;
		/* the same request with the input cut right after it */
		int rc2 = http_parse(p + off, a.used, &b);
		CHECK(rc2 == HTTP_PARSE_DONE && b.used == a.used &&
		    b.req.method == a.req.method &&
		    strcmp(b.req.path, a.req.path) == 0 &&
		    b.keep_alive == a.keep_alive);
		http_parsed_free(&b);
		/* and cut one octet short: not yet whole */
		rc2 = http_parse(p + off, a.used - 1, &b);
		CHECK(rc2 != HTTP_PARSE_DONE || b.used < a.used);
		if (rc2 == HTTP_PARSE_DONE)
			http_parsed_free(&b);
		off += a.used;
		http_parsed_free(&a);
	}
	return 0;
}
