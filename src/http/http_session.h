/*
 * http_session - one HTTP/1.x connection (http_listen, https_listen with
 * implicit TLS) on the session core, and the route table of http.h.
 *
 * Trust: the client is untrusted. Limits: the parser's (http.h), the
 * header section and body within HTTP_REQUEST_TIMEOUT seconds of the
 * request's first octet (slowloris), HTTP_IDLE_TIMEOUT between requests,
 * HTTP_MAX_REQUESTS a connection, no request read while more than
 * HTTP_OUT_HIGH octets of answers wait (pipelining), max_sessions_per_ip.
 * A request the parser refuses gets its status and the connection closes.
 */
#ifndef TEM_HTTP_SESSION_H
#define TEM_HTTP_SESSION_H

#include <sys/socket.h>

#include "http/http.h"
#include "server/server.h"

#define HTTP_REQUEST_TIMEOUT	10	/* s: a whole request, once begun */
#define HTTP_IDLE_TIMEOUT	30	/* s: keep-alive between requests */
#define HTTP_MAX_REQUESTS	100	/* a connection; then close */
#define HTTP_OUT_HIGH		(256 * 1024)

/* The accept function for SVC_HTTP and SVC_HTTPS. */
void http_accept(struct server_thread *t, int fd, const struct sockaddr *sa,
    socklen_t len, enum service svc);

/* Registers the routes served by src/http itself (/healthz, client
 * autoconfiguration, the MTA-STS policy). At start, before the loops. */
void http_routes_builtin(void);

/* Answers req by the route table into resp (status, body; 404/405). */
void http_dispatch(const struct http_request *req,
    struct http_response *resp);

/* The server stops: /healthz says 503 from now on. */
void http_set_stopping(void);

#endif
