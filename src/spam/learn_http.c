/*
 * learn_http - POST a message file to rspamd's controller (learn_http.h).
 *
 * Trust: the answer is untrusted network input: at most
 * LEARN_HTTP_ANSWER_MAX octets are read, the status line must be
 * "HTTP/1.x NNN", and only its status and a sanitized, shortened body
 * ever leave this file. Runs on the learner thread only, where blocking
 * is allowed; each wait is bounded and can be cancelled (cancel_fd), so
 * a server stop never waits for a slow rspamd.
 */
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "spam/learn_http.h"
#include "util/xmalloc.h"

#define BODY_CHUNK	(64 * 1024)

int
learn_http_target(const char *s, char *host, size_t host_size, char *port,
    size_t port_size)
{
	const char *h = s, *p = NULL, *colon;
	size_t hl;

	if (*s == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || (close[1] != '\0' && close[1] != ':'))
			return -1;
		h = s + 1;
		hl = (size_t)(close - h);
		p = close[1] == ':' ? close + 2 : NULL;
	} else if ((colon = strchr(s, ':')) != NULL &&
	    strrchr(s, ':') == colon) {
		hl = (size_t)(colon - s);
		p = colon + 1;
	} else
		hl = strlen(s);		/* a name, or a bare IPv6 address */
	if (p == NULL)
		p = LEARN_HTTP_DEFAULT_PORT;
	if (hl == 0 || hl >= host_size || *p == '\0' ||
	    strlen(p) >= port_size || strspn(p, "0123456789") != strlen(p))
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	strcpy(port, p);
	return 0;
}

char *
learn_http_head(const char *path, const char *hostport, const char *password,
    uint64_t len)
{
	if (strpbrk(password, "\r\n") != NULL ||
	    strpbrk(hostport, "\r\n") != NULL)
		return NULL;
	return xasprintf("POST %s HTTP/1.1\r\n"
	    "Host: %s\r\n"
	    "Password: %s\r\n"
	    "Content-Length: %llu\r\n"
	    "Connection: close\r\n"
	    "\r\n", path, hostport, password, (unsigned long long)len);
}

/* The value of header name in head[0..n) (no folding: rspamd sends
 * none); NULL when absent. */
static const char *
header_value(const char *head, size_t n, const char *name, size_t *len_r)
{
	size_t nl = strlen(name);
	const char *p = memchr(head, '\n', n), *end = head + n;

	while (p != NULL && ++p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t ll = eol ? (size_t)(eol - p) : (size_t)(end - p);
		if (ll > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
			const char *v = p + nl + 1;
			while (v < p + ll && (*v == ' ' || *v == '\t'))
				v++;
			*len_r = (size_t)(p + ll - v);
			if (*len_r > 0 && v[*len_r - 1] == '\r')
				(*len_r)--;
			return v;
		}
		p = eol;
	}
	return NULL;
}

int
learn_http_answer(const char *buf, size_t n, int at_eof, int *status,
    const char **body, size_t *body_len)
{
	const char *end_head = NULL, *cl;
	size_t head_len, cl_len, have;
	unsigned long long want = 0;

	if (n >= 12 && (memcmp(buf, "HTTP/1.", 7) != 0 ||
	    !isdigit((unsigned char)buf[7]) || buf[8] != ' ' ||
	    !isdigit((unsigned char)buf[9]) ||
	    !isdigit((unsigned char)buf[10]) ||
	    !isdigit((unsigned char)buf[11]) ||
	    (n > 12 && buf[12] != ' ' && buf[12] != '\r')))
		return -1;
	for (size_t i = 0; i + 3 < n; i++)
		if (memcmp(buf + i, "\r\n\r\n", 4) == 0) {
			end_head = buf + i + 4;
			break;
		}
	if (end_head == NULL)
		return at_eof ? -1 : 0;
	if (n < 12)
		return -1;	/* the head ended inside "HTTP/1.x NNN" */
	*status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + buf[11] - '0';
	head_len = (size_t)(end_head - buf);
	have = n - head_len;
	cl = header_value(buf, head_len, "Content-Length", &cl_len);
	if (cl != NULL) {
		char num[24], *e;
		if (cl_len == 0 || cl_len >= sizeof(num))
			return -1;
		memcpy(num, cl, cl_len);
		num[cl_len] = '\0';
		if (!isdigit((unsigned char)num[0]))
			return -1;
		errno = 0;
		want = strtoull(num, &e, 10);
		if (*e != '\0' || errno != 0)
			return -1;
		if (have < want && !at_eof)
			return 0;
		if (have > want)
			have = (size_t)want;
	} else if (!at_eof)
		return 0;
	*body = end_head;
	*body_len = have;
	return 1;
}

void
learn_http_log_value(const char *p, size_t n, size_t max, char *out,
    size_t out_size)
{
	size_t o = 0;

	if (out_size == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		char esc[2];
		size_t k = 0;
		if (i == max) {
			if (o + 4 > out_size)
				break;
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c == '\r' || c == '\n')
			continue;	/* JSON's line ends say nothing */
		if (c == '"' || c == '\\')
			esc[k++] = '\\';
		esc[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
		if (o + k + 1 > out_size)
			break;
		memcpy(out + o, esc, k);
		o += k;
	}
	out[o] = '\0';
}

/* Waits until sock is ready for events: 0; -1 with *why on timeout,
 * cancel or a poll error. */
static int
wait_sock(int sock, short events, int cancel_fd, int ms, const char **why)
{
	struct pollfd p[2] = {
		{ .fd = sock, .events = events },
		{ .fd = cancel_fd, .events = POLLIN },
	};
	int r;

	do
		r = poll(p, cancel_fd >= 0 ? 2 : 1, ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		*why = strerror(errno);
	else if (r == 0)
		*why = "timed out";
	else if (cancel_fd >= 0 && p[1].revents)
		*why = "cancelled";
	else
		return 0;
	return -1;
}

/* A connected non-blocking socket to host:port, or -1 with r->error. */
static int
connect_to(const char *hostport, int cancel_fd, struct learn_http_result *r)
{
	char host[256], port[16];
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICSERV }, *res = NULL, *ai;
	const char *why = "no address";
	int sock = -1, e;

	if (learn_http_target(hostport, host, sizeof(host), port,
	    sizeof(port)) < 0) {
		snprintf(r->error, sizeof(r->error), "bad address");
		return -1;
	}
	/* On the learner thread: a name (localhost) may block here. */
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(r->error, sizeof(r->error), "resolve: %s",
		    gai_strerror(e));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		int err = 0;
		socklen_t el = sizeof(err);
		sock = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (sock < 0) {
			why = strerror(errno);
			continue;
		}
		if (connect(sock, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno != EINPROGRESS)
			why = strerror(errno);
		else if (wait_sock(sock, POLLOUT, cancel_fd,
		    LEARN_HTTP_CONNECT_MS, &why) == 0) {
			if (getsockopt(sock, SOL_SOCKET, SO_ERROR, &err,
			    &el) == 0 && err == 0)
				break;
			why = strerror(err ? err : errno);
		}
		close(sock);
		sock = -1;
		if (strcmp(why, "cancelled") == 0)
			break;
	}
	freeaddrinfo(res);
	if (sock < 0)
		snprintf(r->error, sizeof(r->error), "connect: %s", why);
	return sock;
}

/* Sends p[0..n); -1 with r->error. */
static int
send_all(int sock, const char *p, size_t n, int cancel_fd,
    struct learn_http_result *r)
{
	const char *why;

	while (n > 0) {
		ssize_t w = send(sock, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN) {
			snprintf(r->error, sizeof(r->error), "send: %s",
			    strerror(errno));
			return -1;
		}
		if (wait_sock(sock, POLLOUT, cancel_fd, LEARN_HTTP_IO_MS,
		    &why) < 0) {
			snprintf(r->error, sizeof(r->error), "send: %s", why);
			return -1;
		}
	}
	return 0;
}

/* Sends the file's len octets from offset 0; -1 with r->error. */
static int
send_file(int sock, int fd, uint64_t len, int cancel_fd,
    struct learn_http_result *r)
{
	char *chunk = xmalloc(BODY_CHUNK);
	uint64_t off = 0;
	int ret = 0;

	while (ret == 0 && off < len) {
		size_t want = len - off < BODY_CHUNK ? (size_t)(len - off) :
		    BODY_CHUNK;
		ssize_t got = pread(fd, chunk, want, (off_t)off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			snprintf(r->error, sizeof(r->error), "read: %s",
			    got < 0 ? strerror(errno) : "file shrank");
			ret = -1;
			break;
		}
		ret = send_all(sock, chunk, (size_t)got, cancel_fd, r);
		off += (uint64_t)got;
	}
	free(chunk);
	return ret;
}

/* Reads the answer into r; -1 with r->error. */
static int
read_answer(int sock, int cancel_fd, struct learn_http_result *r)
{
	char *buf = xmalloc(LEARN_HTTP_ANSWER_MAX);
	size_t n = 0, blen = 0;
	const char *body = NULL, *why;
	int done = 0, eof = 0;

	while (done == 0) {
		ssize_t got;
		if (n == LEARN_HTTP_ANSWER_MAX)
			eof = 1;	/* enough: judge what came */
		else if ((got = recv(sock, buf + n, LEARN_HTTP_ANSWER_MAX - n,
		    0)) > 0)
			n += (size_t)got;
		else if (got == 0)
			eof = 1;
		else if (errno == EINTR)
			continue;
		else if (errno != EAGAIN) {
			snprintf(r->error, sizeof(r->error), "receive: %s",
			    strerror(errno));
			break;
		} else if (wait_sock(sock, POLLIN, cancel_fd,
		    LEARN_HTTP_IO_MS, &why) < 0) {
			snprintf(r->error, sizeof(r->error), "receive: %s",
			    why);
			break;
		} else
			continue;
		done = learn_http_answer(buf, n, eof, &r->status, &body,
		    &blen);
		/* at eof the answer is judged: never 0 */
		if (done < 0)
			snprintf(r->error, sizeof(r->error), n == 0 ?
			    "connection closed without an answer" :
			    "not an HTTP answer");
	}
	if (done == 1)
		learn_http_log_value(body, blen, 160, r->answer,
		    sizeof(r->answer));
	free(buf);
	return done == 1 ? 0 : -1;
}

int
learn_http_post(const char *hostport, const char *path, const char *password,
    int fd, int cancel_fd, struct learn_http_result *r)
{
	struct stat st;
	char *head;
	int sock, ret = -1;

	memset(r, 0, sizeof(*r));
	if (fstat(fd, &st) < 0) {
		snprintf(r->error, sizeof(r->error), "stat: %s",
		    strerror(errno));
		return -1;
	}
	if ((uint64_t)st.st_size > LEARN_HTTP_BODY_MAX) {
		snprintf(r->error, sizeof(r->error), "message over %llu "
		    "octets", (unsigned long long)LEARN_HTTP_BODY_MAX);
		return -1;
	}
	if ((head = learn_http_head(path, hostport, password,
	    (uint64_t)st.st_size)) == NULL) {
		snprintf(r->error, sizeof(r->error), "rspamd_password holds "
		    "a line end");
		return -1;
	}
	if ((sock = connect_to(hostport, cancel_fd, r)) >= 0) {
		if (send_all(sock, head, strlen(head), cancel_fd, r) == 0 &&
		    send_file(sock, fd, (uint64_t)st.st_size, cancel_fd,
		    r) == 0 && read_answer(sock, cancel_fd, r) == 0)
			ret = 0;
		close(sock);
	}
	free(head);
	return ret;
}
