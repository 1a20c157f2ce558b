/*
 * http - the HTTP/1.1 listener (config http_listen, https_listen): a
 * service on the session core (src/server/session.c) like POP3, serving a
 * few small resources: ACME http-01 challenges, client autoconfiguration,
 * MTA-STS policies, /metrics and /healthz.
 *
 * Trust: requests come from anyone on the internet. Everything is
 * bounded (see HTTP_* below and docs/DESIGN.md's limits table); the
 * parser is I/O-free and fuzzed. Handlers are ours.
 *
 * Handlers run on the session's loop, synchronously, and must not block:
 * they answer from memory (the running state bundle, counters, a token
 * table). A handler that needs the disk does not belong here.
 *
 * Use (at start, before any loop runs; from serve.c or a module's init):
 *   http_route("/healthz", HTTP_GET | HTTP_HEAD, healthz, NULL);
 *   http_route("/.well-known/acme-challenge/", HTTP_GET, acme, st);
 * A path ending in '/' is a prefix route; otherwise the path must match
 * exactly. The longest matching route wins; no route: 404; a route
 * without the request's method: 405 with Allow.
 */
#ifndef TEM_HTTP_H
#define TEM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "util/buf.h"

#define HTTP_GET	0x01
#define HTTP_HEAD	0x02
#define HTTP_POST	0x04

#define HTTP_LINE_MAX		8192	/* request line, one header line */
#define HTTP_HEAD_MAX		16384	/* the whole header section */
#define HTTP_HEADERS_MAX	64	/* header fields */
#define HTTP_BODY_MAX		65536	/* a POST body (autodiscover) */

struct http_header {
	const char	*name;		/* as sent */
	const char	*value;		/* trimmed */
};

struct http_request {
	unsigned	 method;	/* HTTP_GET, HTTP_HEAD or HTTP_POST */
	const char	*target;	/* as sent: path [ "?" query ] */
	const char	*path;		/* percent-decoded path, starts '/' */
	const char	*query;		/* raw query after '?', or "" */
	const char	*host;		/* Host, lower case, no port; "" */
	const struct http_header *headers;
	size_t		 nheaders;
	const char	*body;		/* POST: Content-Length octets */
	size_t		 body_len;
	const struct sockaddr *peer;	/* the client's address */
	socklen_t	 peer_len;
	bool		 tls;		/* came in on https_listen */
};

/* Case-insensitive header look-up: its value or NULL. */
const char *http_header_get(const struct http_request *req,
    const char *name);

struct http_response {
	int		 status;	/* 200 unless the handler sets it */
	const char	*content_type;	/* static string; default text/plain;
					 * charset=utf-8 */
	struct buf	 body;		/* the handler appends */
	struct buf	 headers;	/* extra "Name: value\r\n" lines */
};

typedef void http_handler_fn(const struct http_request *req,
    struct http_response *resp, void *arg);

/* Registers a route (before loops run; at most 32). */
void http_route(const char *path, unsigned methods, http_handler_fn *fn,
    void *arg);

#endif
