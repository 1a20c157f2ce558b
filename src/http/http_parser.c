/*
 * http_parser - the I/O-free HTTP/1.x request parser (RFC 9112); the
 * contract is in http_parser.h.
 *
 * Trust: every octet is the client's. Strict where leniency lets two
 * parsers disagree (request smuggling, RFC 9112 11.2): no obs-fold, no
 * whitespace before a colon, no bare CR, one Content-Length value, no
 * Transfer-Encoding, exactly one Host in HTTP/1.1. Lines may end in LF
 * alone (RFC 9112 2.2 allows it). Empty lines before a request are
 * skipped (RFC 9112 2.2), within HTTP_HEAD_MAX.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http_parser.h"
#include "util/hex.h"
#include "util/xmalloc.h"

static enum http_parse_rc
fail(struct http_parsed *p, int status, const char *why)
{
	p->status = status;
	p->why = why;
	return HTTP_PARSE_ERROR;
}

/* RFC 9110 5.6.2 tchar */
static bool
is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || (c != 0 && strchr("!#$%&'*+-.^_`|~",
	    c) != NULL);
}

/* Percent-decodes src[0..n) into dst (n + 1 octets); -1 when malformed
 * or when it decodes to NUL. */
static int
pct_decode(const char *src, size_t n, char *dst)
{
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		if (src[i] != '%') {
			dst[j++] = src[i];
			continue;
		}
		if (i + 2 >= n)
			return -1;
		int h = hex_value((unsigned char)src[i + 1]);
		int l = hex_value((unsigned char)src[i + 2]);
		if (h < 0 || l < 0 || (h == 0 && l == 0))
			return -1;
		dst[j++] = (char)(h << 4 | l);
		i += 2;
	}
	dst[j] = '\0';
	return 0;
}

/* Where the header section ends (the octet after its empty line) in
 * data[0..len), or 0. */
static size_t
head_end(const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (data[i] != '\n')
			continue;
		if (i + 1 < len && data[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && data[i + 1] == '\r' && data[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* Splits the next line of [*s, end) in place; NULL at the end. A bare
 * CR inside is left for the caller's character checks to refuse. */
static char *
next_line(char **s, char *end)
{
	char *line = *s, *lf;

	if (line >= end)
		return NULL;
	lf = memchr(line, '\n', (size_t)(end - line));
	if (lf == NULL)
		lf = end;
	*s = lf + 1;
	if (lf > line && lf[-1] == '\r')
		lf--;
	*lf = '\0';
	return line;
}

static enum http_parse_rc
request_line(struct http_parsed *p, char *line, char *scratch)
{
	struct http_request *r = &p->req;
	char *sp1, *sp2, *q;

	if (strlen(line) > HTTP_LINE_MAX)
		return fail(p, 414, "request-line");
	if ((sp1 = strchr(line, ' ')) == NULL ||
	    (sp2 = strchr(sp1 + 1, ' ')) == NULL || strchr(sp2 + 1, ' '))
		return fail(p, 400, "request-line");
	*sp1 = *sp2 = '\0';
	for (char *m = line; *m; m++)
		if (!is_tchar((unsigned char)*m))
			return fail(p, 400, "method");
	if (strcmp(line, "GET") == 0)
		r->method = HTTP_GET;
	else if (strcmp(line, "HEAD") == 0)
		r->method = HTTP_HEAD;
	else if (strcmp(line, "POST") == 0)
		r->method = HTTP_POST;
	else
		return fail(p, *line ? 501 : 400, "method");
	if (strncmp(sp2 + 1, "HTTP/", 5) != 0 || strlen(sp2 + 1) != 8 ||
	    sp2[6] < '0' || sp2[6] > '9' || sp2[7] != '.' ||
	    sp2[8] < '0' || sp2[8] > '9')
		return fail(p, 400, "version");
	if (sp2[6] != '1' || (sp2[8] != '0' && sp2[8] != '1'))
		return fail(p, 505, "version");
	p->http10 = sp2[8] == '0';
	r->target = sp1 + 1;
	for (q = sp1 + 1; *q; q++)
		if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
			return fail(p, 400, "target");
	q = sp1 + 1;
	/* absolute-form (RFC 9112 3.2.2): the path is what we route on */
	if (strncasecmp(q, "http://", 7) == 0 ||
	    strncasecmp(q, "https://", 8) == 0) {
		q = strchr(q, ':') + 3;
		q = q + strcspn(q, "/?");
		if (*q != '/')
			return fail(p, 400, "target");
	}
	if (*q != '/')
		return fail(p, 400, "target");
	size_t plen = strcspn(q, "?");
	r->query = q[plen] == '?' ? q + plen + 1 : "";
	if (pct_decode(q, plen, scratch) < 0)
		return fail(p, 400, "target");
	r->path = scratch;
	return HTTP_PARSE_DONE;
}

/* The Host value, lower case and without the port, into dst. */
static int
host_set(struct http_parsed *p, const char *v, char *dst)
{
	size_t n = 0;

	if (*v == '[') {		/* IP-literal */
		const char *e = strchr(v, ']');
		if (e == NULL || (e[1] != '\0' && e[1] != ':'))
			return -1;
		n = (size_t)(e - v) + 1;
	} else
		n = strcspn(v, ":");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (!(c == '-' || c == '.' || c == '[' || c == ']' ||
		    c == ':' || (c >= '0' && c <= '9') ||
		    ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')))
			return -1;
		dst[i] = (char)(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
	}
	if (v[n] == ':')
		for (const char *d = v + n + 1; *d; d++)
			if (*d < '0' || *d > '9')
				return -1;
	dst[n] = '\0';
	p->req.host = dst;
	return 0;
}

/* Connection: close / keep-alive among its comma-separated tokens. */
static void
connection_opts(struct http_parsed *p, const char *v)
{
	while (*v) {
		size_t n = strcspn(v, ",");
		const char *t = v, *e = v + n;
		while (t < e && (*t == ' ' || *t == '\t'))
			t++;
		while (e > t && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if ((size_t)(e - t) == 5 && strncasecmp(t, "close", 5) == 0)
			p->keep_alive = false;
		else if ((size_t)(e - t) == 10 &&
		    strncasecmp(t, "keep-alive", 10) == 0 && p->http10)
			p->keep_alive = true;
		v += n + (v[n] == ',');
	}
}

static enum http_parse_rc
header_line(struct http_parsed *p, char *line, long long *clen,
    int *nhost)
{
	struct http_request *r = &p->req;
	char *colon, *v, *e;

	if (strlen(line) > HTTP_LINE_MAX)
		return fail(p, 431, "header-line");
	if (*line == ' ' || *line == '\t')
		return fail(p, 400, "obs-fold");
	if ((colon = strchr(line, ':')) == NULL || colon == line)
		return fail(p, 400, "header");
	for (char *c = line; c < colon; c++)
		if (!is_tchar((unsigned char)*c))
			return fail(p, 400, "header-name");
	*colon = '\0';
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	for (e = v; *e; e++)
		if (((unsigned char)*e < 0x20 && *e != '\t') || *e == 0x7f)
			return fail(p, 400, "header-value");
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*e = '\0';
	if (r->nheaders == HTTP_HEADERS_MAX)
		return fail(p, 431, "header-count");
	p->hdr[r->nheaders].name = line;
	p->hdr[r->nheaders++].value = v;
	if (strcasecmp(line, "Content-Length") == 0) {
		long long n = 0;
		if (*v == '\0')
			return fail(p, 400, "content-length");
		for (const char *d = v; *d; d++) {
			if (*d < '0' || *d > '9')
				return fail(p, 400, "content-length");
			if (n <= HTTP_BODY_MAX)
				n = n * 10 + (*d - '0');
		}
		if (*clen >= 0 && *clen != n)
			return fail(p, 400, "content-length");
		*clen = n;
	} else if (strcasecmp(line, "Transfer-Encoding") == 0)
		return fail(p, 411, "transfer-encoding");
	else if (strcasecmp(line, "Host") == 0)
		(*nhost)++;
	else if (strcasecmp(line, "Connection") == 0)
		connection_opts(p, v);
	return HTTP_PARSE_DONE;
}

static enum http_parse_rc
parse_head(struct http_parsed *p, const char *data, size_t skip,
    size_t hlen)
{
	struct http_request *r = &p->req;
	size_t n = hlen - skip;
	char *s, *end, *line, *path, *host;
	long long clen = -1;
	int nhost = 0;
	enum http_parse_rc rc;

	/* the section, then room for the decoded path and the host */
	p->copy = xmalloc(3 * n + 3);
	memcpy(p->copy, data + skip, n);
	p->copy[n] = '\0';
	path = p->copy + n + 1;
	host = path + n + 1;
	if (memchr(p->copy, '\0', n) != NULL)
		return fail(p, 400, "nul");
	for (size_t i = 0; i < n; i++)
		if (p->copy[i] == '\r' && (i + 1 == n ||
		    p->copy[i + 1] != '\n'))
			return fail(p, 400, "bare-cr");
	s = p->copy;
	end = p->copy + n;
	line = next_line(&s, end);
	if ((rc = request_line(p, line, path)) != HTTP_PARSE_DONE)
		return rc;
	p->keep_alive = !p->http10;
	r->headers = p->hdr;
	r->host = "";
	while ((line = next_line(&s, end)) != NULL && *line != '\0')
		if ((rc = header_line(p, line, &clen, &nhost)) !=
		    HTTP_PARSE_DONE)
			return rc;
	if (nhost > 1 || (nhost == 0 && !p->http10))
		return fail(p, 400, "host");
	if (nhost == 1) {
		const char *v = http_header_get(r, "Host");
		if (v == NULL || host_set(p, v, host) < 0)
			return fail(p, 400, "host");
	}
	if (clen > HTTP_BODY_MAX)
		return fail(p, 413, "body");
	if (r->method == HTTP_POST && clen < 0)
		return fail(p, 411, "content-length");
	r->body_len = clen < 0 ? 0 : (size_t)clen;
	return HTTP_PARSE_DONE;
}

enum http_parse_rc
http_parse(const char *data, size_t len, struct http_parsed *p)
{
	size_t skip = 0, hlen;
	const char *lf;
	enum http_parse_rc rc;

	memset(p, 0, sizeof(*p));
	while (skip < len && (data[skip] == '\n' || (data[skip] == '\r' &&
	    skip + 1 < len && data[skip + 1] == '\n')))
		skip += data[skip] == '\r' ? 2 : 1;
	if ((hlen = head_end(data + skip, len - skip)) == 0) {
		/* not whole: refuse a line over the limit already */
		const char *s = data + skip, *end = data + len;
		for (bool first = true; s < end; first = false) {
			lf = memchr(s, '\n', (size_t)(end - s));
			if ((size_t)((lf ? lf : end) - s) > HTTP_LINE_MAX + 1)
				return first ? fail(p, 414, "request-line") :
				    fail(p, 431, "header-line");
			if (lf == NULL)
				break;
			s = lf + 1;
		}
		if (len > HTTP_HEAD_MAX)
			return fail(p, 431, "header-section");
		return HTTP_PARSE_MORE;
	}
	hlen += skip;
	if (hlen > HTTP_HEAD_MAX + 2)
		return fail(p, 431, "header-section");
	if ((rc = parse_head(p, data, skip, hlen)) != HTTP_PARSE_DONE) {
		http_parsed_free(p);
		return rc;
	}
	if (len - hlen < p->req.body_len) {
		const char *e = http_header_get(&p->req, "Expect");
		p->want_continue = e != NULL &&
		    strcasecmp(e, "100-continue") == 0 && !p->http10;
		rc = HTTP_PARSE_MORE;
		http_parsed_free(p);
		return rc;
	}
	p->req.body = data + hlen;
	p->used = hlen + p->req.body_len;
	return HTTP_PARSE_DONE;
}

void
http_parsed_free(struct http_parsed *p)
{
	free(p->copy);
	p->copy = NULL;
	/* nothing may point into the copy any more */
	memset(&p->req, 0, sizeof(p->req));
}

const char *
http_header_get(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

const char *
http_reason(int status)
{
	static const struct { int code; const char *text; } r[] = {
		{ 200, "OK" }, { 204, "No Content" },
		{ 301, "Moved Permanently" }, { 400, "Bad Request" },
		{ 403, "Forbidden" }, { 404, "Not Found" },
		{ 405, "Method Not Allowed" }, { 408, "Request Timeout" },
		{ 411, "Length Required" }, { 413, "Content Too Large" },
		{ 414, "URI Too Long" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" }, { 501, "Not Implemented" },
		{ 503, "Service Unavailable" },
		{ 505, "HTTP Version Not Supported" },
	};

	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if (r[i].code == status)
			return r[i].text;
	return "Unknown";
}
