/*
 * http_route - the route table of http.h (filled at start, read-only once
 * the loops run, so the loops read it without locks), dispatch with
 * 404/405, and /healthz.
 *
 * Trust: the request is untrusted but parsed (http_parser.c); handlers
 * are ours and answer from memory.
 */
#include <stdatomic.h>
#include <string.h>

#include "http/http_int.h"
#include "http/http_parser.h"
#include "http/http_session.h"
#include "util/log.h"

#define HTTP_ROUTES_MAX	32

struct route {
	const char	*path;
	size_t		 len;
	bool		 prefix;
	unsigned	 methods;
	http_handler_fn	*fn;
	void		*arg;
};

static struct route routes[HTTP_ROUTES_MAX];
static size_t nroutes;
static atomic_bool stopping;

void
http_route(const char *path, unsigned methods, http_handler_fn *fn,
    void *arg)
{
	size_t n = strlen(path);

	if (nroutes == HTTP_ROUTES_MAX || n == 0 || path[0] != '/')
		log_fatal("http_route %s: table full or bad path", path);
	/* RFC 9110 9.3.2: a resource that answers GET answers HEAD */
	if (methods & HTTP_GET)
		methods |= HTTP_HEAD;
	for (size_t i = 0; i < nroutes; i++)	/* one handler a path */
		TEM_ASSERT(strcmp(routes[i].path, path) != 0);
	routes[nroutes++] = (struct route){ path, n, path[n - 1] == '/',
	    methods, fn, arg };
}

static const struct route *
route_find(const char *path)
{
	const struct route *best = NULL;

	for (size_t i = 0; i < nroutes; i++) {
		const struct route *r = &routes[i];
		bool hit = r->prefix ? strncmp(path, r->path, r->len) == 0 :
		    strcmp(path, r->path) == 0;
		if (hit && (best == NULL || r->len > best->len ||
		    (r->len == best->len && !r->prefix)))
			best = r;
	}
	return best;
}

void
http_error_body(struct http_response *resp, int status)
{
	resp->status = status;
	resp->content_type = NULL;
	buf_reset(&resp->body);
	buf_printf(&resp->body, "%d %s\n", status, http_reason(status));
}

void
http_dispatch(const struct http_request *req, struct http_response *resp)
{
	const struct route *r = route_find(req->path);

	if (r == NULL) {
		http_error_body(resp, 404);
		return;
	}
	if (!(r->methods & req->method)) {
		http_error_body(resp, 405);
		buf_printf(&resp->headers, "Allow: %s%s%s\r\n",
		    r->methods & HTTP_GET ? "GET, " : "",
		    r->methods & HTTP_HEAD ? "HEAD" : "",
		    r->methods & HTTP_POST ? (r->methods & HTTP_HEAD ?
		    ", POST" : "POST") : "");
		return;
	}
	r->fn(req, resp, r->arg);
}

void
http_set_stopping(void)
{
	atomic_store(&stopping, true);
}

/* For load balancers: 200 "ok" while serving, 503 once stopping. */
static void
healthz(const struct http_request *req, struct http_response *resp,
    void *arg)
{
	(void)req;
	(void)arg;
	if (atomic_load(&stopping)) {
		resp->status = 503;
		buf_puts(&resp->body, "stopping\n");
		return;
	}
	buf_puts(&resp->body, "ok\n");
}

void
http_routes_builtin(void)
{
	http_route("/healthz", HTTP_GET, healthz, NULL);
	http_autoconfig_routes();
	http_mta_sts_routes();
}
