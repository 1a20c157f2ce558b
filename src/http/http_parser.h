/*
 * http_parser - the I/O-free HTTP/1.x request parser (RFC 9112): the
 * request line, the header section and a Content-Length body, from bytes
 * a session gathered. No chunked requests (Transfer-Encoding: 411).
 *
 * Trust: the input is anyone's. Every limit of http.h is checked before
 * the input it bounds is complete, so a session never holds more than
 * HTTP_HEAD_MAX + HTTP_BODY_MAX octets (plus one read) for a request.
 */
#ifndef TEM_HTTP_PARSER_H
#define TEM_HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>

#include "http/http.h"

enum http_parse_rc {
	HTTP_PARSE_MORE,	/* not whole yet: read more */
	HTTP_PARSE_DONE,	/* p->req is the request; p->used octets */
	HTTP_PARSE_ERROR,	/* p->status (400 411 413 414 431 501 505) */
};

struct http_parsed {
	struct http_request	 req;
	struct http_header	 hdr[HTTP_HEADERS_MAX];
	char			*copy;		/* the header section, split */
	size_t			 used;		/* octets of the request */
	int			 status;	/* on error */
	const char		*why;		/* on error: for the log */
	bool			 keep_alive;	/* the client wants more */
	bool			 http10;
	/* MORE: the header section is whole, the body is awaited and the
	 * client asked "Expect: 100-continue" (RFC 9110 10.1.1) */
	bool			 want_continue;
};

/*
 * Parses the request at the start of data[0..len). DONE: p->req points
 * into p->copy (and into data for the body, valid while data is), and
 * http_parsed_free() releases it (and zeroes p->req). MORE and ERROR
 * hold nothing: p->req is zero, p->status/why/want_continue are set.
 */
enum http_parse_rc http_parse(const char *data, size_t len,
    struct http_parsed *p);
void http_parsed_free(struct http_parsed *p);

/* The reason phrase of a status code ("Not Found"). */
const char *http_reason(int status);

#endif
