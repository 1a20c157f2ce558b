/*
 * http_session - one HTTP/1.x connection on the session core: gathers
 * requests, parses them (http_parser.c), answers each in order through
 * the route table (http_route.c) and logs one line per request.
 *
 * Trust: everything read is untrusted; the limits are in
 * http_session.h. The request timer (HTTP_REQUEST_TIMEOUT) runs from a
 * request's first octet to its last, so a client trickling its headers
 * cannot hold the connection by staying just under the idle timeout.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "http/http_int.h"
#include "http/http_parser.h"
#include "http/http_session.h"
#include "server/session.h"
#include "util/io.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/xmalloc.h"

/* A whole request (header section, body) and a few octets beyond. */
#define HTTP_IN_MAX	(HTTP_HEAD_MAX + HTTP_BODY_MAX + 64)
#define HTTP_LOG_PATH	256	/* octets of a path in the log */

struct http_session {
	struct session		 base;		/* first: the session core */
	struct buf		 in;		/* a request being gathered */
	struct loop_timer	*req_timer;	/* HTTP_REQUEST_TIMEOUT */
	bool			 timing;	/* req_timer armed */
	bool			 out_wait;	/* output above HTTP_OUT_HIGH */
	bool			 continued;	/* 100 Continue sent for this
						   request */
	unsigned		 nreq;
	struct sockaddr_storage	 peer;
	socklen_t		 peer_len;
};

static const char *const method_names[] = {
	[HTTP_GET] = "GET", [HTTP_HEAD] = "HEAD", [HTTP_POST] = "POST",
};

/* path for the log: octets outside printable ASCII, '"', '%' and '\'
 * as %XX, at most HTTP_LOG_PATH of them. */
static void
log_path(char *dst, size_t size, const char *path)
{
	size_t j = 0;

	for (size_t i = 0; path[i] && i < HTTP_LOG_PATH && j + 4 < size;
	    i++) {
		unsigned char c = (unsigned char)path[i];
		if (c <= 0x20 || c >= 0x7f || c == '"' || c == '%' ||
		    c == '\\')
			j += (size_t)snprintf(dst + j, size - j, "%%%02X", c);
		else
			dst[j++] = (char)c;
	}
	dst[j] = '\0';
}

/* Writes the answer: status line, the standard headers, the handler's,
 * the body unless HEAD. */
static void
http_send(struct http_session *c, unsigned method, struct http_response *r,
    bool keep_alive)
{
	char date[64];
	struct buf b;
	struct tm tm;
	time_t now = time(NULL);

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	buf_init(&b, 0);
	buf_printf(&b, "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: tem\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\nConnection: %s\r\n",
	    r->status, http_reason(r->status), date, r->content_type ?
	    r->content_type : "text/plain; charset=utf-8", r->body.len,
	    keep_alive ? "keep-alive" : "close");
	buf_append(&b, r->headers.data, r->headers.len);
	buf_puts(&b, "\r\n");
	if (method != HTTP_HEAD)
		buf_append(&b, r->body.data, r->body.len);
	if (!session_closed(&c->base))
		io_write(c->base.io, b.data, b.len);
	buf_free(&b);
}

static void
response_init(struct http_response *r)
{
	memset(r, 0, sizeof(*r));
	r->status = 200;
	buf_init(&r->body, 0);
	buf_init(&r->headers, 0);
}

static void
response_free(struct http_response *r)
{
	buf_free(&r->body);
	buf_free(&r->headers);
}

/* Answers one parsed request; false when the connection is to close. */
static bool
http_serve(struct http_session *c, struct http_parsed *p)
{
	struct http_response r;
	char path[3 * HTTP_LOG_PATH + 8];
	bool keep;

	TEM_ASSERT(p->req.method == HTTP_GET || p->req.method == HTTP_HEAD ||
	    p->req.method == HTTP_POST);
	TEM_ASSERT(c->nreq < HTTP_MAX_REQUESTS);	/* closed at the last */
	c->nreq++;
	keep = p->keep_alive && c->nreq < HTTP_MAX_REQUESTS &&
	    !c->base.stopping;
	p->req.peer = (const struct sockaddr *)&c->peer;
	p->req.peer_len = c->peer_len;
	p->req.tls = c->base.tls;
	response_init(&r);
	http_dispatch(&p->req, &r);
	http_send(c, p->req.method, &r, keep);
	log_path(path, sizeof(path), p->req.path);
	log_info("%s http request method=%s path=%s status=%d bytes=%zu",
	    c->base.id, method_names[p->req.method], path, r.status,
	    p->req.method == HTTP_HEAD ? (size_t)0 : r.body.len);
	response_free(&r);
	return keep;
}

/* A request the parser refused, or one that came too slowly: the
 * status, then the close. */
static void
http_refuse(struct http_session *c, int status, const char *why)
{
	struct http_response r;

	response_init(&r);
	http_error_body(&r, status);
	http_send(c, HTTP_GET, &r, false);
	response_free(&r);
	log_info("%s http refused addr=%s status=%d reason=%s", c->base.id,
	    c->base.ip, status, why);
	session_close(&c->base);
}

static void
http_timer_stop(struct http_session *c)
{
	if (c->timing) {
		loop_timer_del(c->req_timer);
		c->timing = false;
	}
}

static void
http_process(struct http_session *c)
{
	struct http_parsed p;
	const char *data;
	size_t n;

	while (c->base.state == SESSION_ACTIVE && !c->base.busy) {
		if (io_outlen(c->base.io) > HTTP_OUT_HIGH) {
			c->out_wait = true;	/* pipelining, not reading */
			io_pause_read(c->base.io);
			return;
		}
		if (c->in.len > 0) {
			switch (http_parse(c->in.data, c->in.len, &p)) {
			case HTTP_PARSE_DONE: {
				bool keep = http_serve(c, &p);
				buf_consume(&c->in, p.used);
				http_parsed_free(&p);
				http_timer_stop(c);
				c->continued = false;
				if (!keep) {
					session_close(&c->base);
					return;
				}
				continue;
			}
			case HTTP_PARSE_ERROR:
				http_timer_stop(c);
				http_refuse(c, p.status, p.why);
				return;
			case HTTP_PARSE_MORE:
				if (p.want_continue && !c->continued) {
					c->continued = true;
					io_write(c->base.io, "HTTP/1.1 100 "
					    "Continue\r\n\r\n", 25);
				}
				if (!c->timing) {
					c->timing = true;
					loop_timer_add(c->req_timer,
					    HTTP_REQUEST_TIMEOUT * 1000);
				}
				break;
			}
		}
		if ((data = io_peek(c->base.io, &n)) == NULL || n == 0)
			return;
		if (n > c->in.max - c->in.len)
			n = c->in.max - c->in.len;
		if (n == 0 || buf_append(&c->in, data, n) < 0) {
			/* cannot happen within the parser's limits */
			log_error("%s http input-overflow addr=%s", c->base.id,
			    c->base.ip);
			session_abort(&c->base);
			return;
		}
		io_drain(c->base.io, n);
	}
}

static void
http_request_timeout(void *arg)
{
	struct http_session *c = arg;

	c->timing = false;
	if (c->base.state != SESSION_ACTIVE)
		return;
	http_refuse(c, 408, "request-timeout");
	io_flush_now(c->base.io);
	session_abort(&c->base);	/* its descriptor is wanted now */
}

/* ---- session core hooks ---- */

static void
http_greet(struct session *base)
{
	(void)base;		/* the client speaks first */
}

static void
http_input(struct session *base)
{
	http_process((struct http_session *)base);
}

static void
http_drained(struct session *base)
{
	struct http_session *c = (struct http_session *)base;

	if (c->out_wait) {
		c->out_wait = false;
		io_resume_read(c->base.io);
		http_process(c);
	}
}

static void
http_idle(struct session *base)
{
	(void)base;		/* keep-alive over: close without a word */
}

static void
http_shutdown(struct session *base)
{
	(void)base;
	http_set_stopping();
}

static void
http_closed(struct session *base)
{
	http_timer_stop((struct http_session *)base);
}

static void
http_free(struct session *base)
{
	struct http_session *c = (struct http_session *)base;

	log_info("%s http disconnect addr=%s requests=%u duration=%lds",
	    c->base.id, c->base.ip, c->nreq,
	    (long)(time(NULL) - c->base.started));
	loop_timer_free(&c->req_timer);
	buf_free(&c->in);
	free(c);
}

static const struct session_proto http_proto = {
	.name = "http",
	.greet = http_greet,
	.input = http_input,
	.drained = http_drained,
	.timeout = http_idle,
	.shutdown = http_shutdown,
	.closed = http_closed,
	.free = http_free,
};

void
http_accept(struct server_thread *t, int fd, const struct sockaddr *sa,
    socklen_t len, enum service svc)
{
	struct http_session *c = xcalloc(1, sizeof(*c));

	if (!server_session_add(t, &c->base, svc, sa)) {
		server_refuse(fd, svc, "HTTP/1.1 503 Service Unavailable\r\n"
		    "Content-Length: 0\r\nConnection: close\r\n\r\n");
		free(c);
		return;
	}
	if (len > sizeof(c->peer))
		len = sizeof(c->peer);
	memcpy(&c->peer, sa, len);
	c->peer_len = len;
	buf_init(&c->in, HTTP_IN_MAX);
	c->req_timer = loop_timer_new(server_thread_loop(t),
	    http_request_timeout, c);
	session_start(&c->base, &http_proto, fd, svc == SVC_HTTPS,
	    HTTP_IDLE_TIMEOUT);
}
