/* Unit tests for spam/learn_http.h and spam/learn.h: the address and
 * answer parsers, the request head, and whole POSTs and queue runs
 * against a small HTTP server on a loopback port (a thread here). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "spam/learn.h"
#include "spam/learn_http.h"
#include "util/clock.h"
#include "util/test.h"

static void
test_target(void)
{
	char h[64], p[8];

	TEST_ASSERT(learn_http_target("127.0.0.1:11334", h, sizeof(h), p,
	    sizeof(p)) == 0);
	TEST_ASSERT_STREQ(h, "127.0.0.1");
	TEST_ASSERT_STREQ(p, "11334");
	TEST_ASSERT(learn_http_target("localhost", h, sizeof(h), p,
	    sizeof(p)) == 0);
	TEST_ASSERT_STREQ(h, "localhost");
	TEST_ASSERT_STREQ(p, LEARN_HTTP_DEFAULT_PORT);
	TEST_ASSERT(learn_http_target("[::1]:8080", h, sizeof(h), p,
	    sizeof(p)) == 0);
	TEST_ASSERT_STREQ(h, "::1");
	TEST_ASSERT_STREQ(p, "8080");
	TEST_ASSERT(learn_http_target("::1", h, sizeof(h), p,
	    sizeof(p)) == 0);
	TEST_ASSERT_STREQ(h, "::1");
	TEST_ASSERT(learn_http_target("[::1]", h, sizeof(h), p,
	    sizeof(p)) == 0);
	TEST_ASSERT_STREQ(p, LEARN_HTTP_DEFAULT_PORT);
	TEST_ASSERT(learn_http_target(":80", h, sizeof(h), p, sizeof(p)) < 0);
	TEST_ASSERT(learn_http_target("a:", h, sizeof(h), p, sizeof(p)) < 0);
	TEST_ASSERT(learn_http_target("a:8x", h, sizeof(h), p, sizeof(p)) < 0);
	TEST_ASSERT(learn_http_target("[::1", h, sizeof(h), p, sizeof(p)) < 0);
	TEST_ASSERT(learn_http_target("a:123456789", h, sizeof(h), p,
	    sizeof(p)) < 0);
}

static void
test_head(void)
{
	char *h = learn_http_head("/learnspam", "127.0.0.1:1", "pw", 42);

	TEST_ASSERT_STREQ(h, "POST /learnspam HTTP/1.1\r\nHost: 127.0.0.1:1"
	    "\r\nPassword: pw\r\nContent-Length: 42\r\nConnection: close\r\n"
	    "\r\n");
	free(h);
	TEST_ASSERT(learn_http_head("/learnham", "h", "p\r\nX: y", 1) == NULL);
	TEST_ASSERT(learn_http_head("/learnham", "h", "p\n", 1) == NULL);
}

/* learn_http_answer on a whole C string. */
#define ANSWER(text, eof) learn_http_answer(text, strlen(text), eof, \
	&status, &body, &blen)

static void
test_answer(void)
{
	const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 16\r\n"
	    "Content-Type: application/json\r\n\r\n{\"success\":true}";
	const char *body;
	size_t blen, n = strlen(ok);
	int status = 0;

	/* every prefix waits for more, the whole answer is complete */
	for (size_t i = 0; i < n; i++)
		TEST_ASSERT(learn_http_answer(ok, i, 0, &status, &body,
		    &blen) == 0);
	TEST_ASSERT(learn_http_answer(ok, n, 0, &status, &body, &blen) == 1);
	TEST_ASSERT(status == 200 && blen == 16);
	TEST_ASSERT(memcmp(body, "{\"success\":true}", 16) == 0);
	/* without Content-Length: the body ends at the close */
	TEST_ASSERT(ANSWER("HTTP/1.0 208 Already\r\n\r\nab", 0) == 0);
	TEST_ASSERT(ANSWER("HTTP/1.0 208 Already\r\n\r\nab", 1) == 1);
	TEST_ASSERT(status == 208 && blen == 2);
	/* a longer body than announced is cut */
	TEST_ASSERT(ANSWER("HTTP/1.1 404 No\r\ncontent-length: 1"
	    "\r\n\r\nxyz", 0) == 1);
	TEST_ASSERT(status == 404 && blen == 1 && body[0] == 'x');
	/* not HTTP, a bad status, a bad length, a head cut by the close */
	TEST_ASSERT(ANSWER("SMTP/1.1 200 OK\r\n\r\n", 0) < 0);
	TEST_ASSERT(ANSWER("HTTP/1.1 2x0 OK\r\n\r\n", 0) < 0);
	TEST_ASSERT(ANSWER("HTTP/1.1 2000 OK\r\n\r\n", 0) < 0);
	TEST_ASSERT(ANSWER("HTTP/1.1 200 OK\r\nContent-Length: -1"
	    "\r\n\r\n", 0) < 0);
	TEST_ASSERT(ANSWER("HTTP/1.1 200 OK\r\nContent-Length: 9"
	    "9999999999999999999999\r\n\r\n", 0) < 0);
	TEST_ASSERT(ANSWER("HTTP/1.1 200 OK\r\n", 1) < 0);
	TEST_ASSERT(ANSWER("", 1) < 0);
	/* a head that ends before a status line could (found by fuzzing) */
	TEST_ASSERT(ANSWER("/1.1 \r\n\r\n", 0) < 0);
	TEST_ASSERT(ANSWER("\r\n\r\n", 0) < 0);
}

static void
test_log_value(void)
{
	char out[32];

	learn_http_log_value("{\"error\":\"a\\b\"}\r\n", 17, 100, out,
	    sizeof(out));
	TEST_ASSERT_STREQ(out, "{\\\"error\\\":\\\"a\\\\b\\\"}");
	learn_http_log_value("ab\x01\xff" "c", 5, 100, out, sizeof(out));
	TEST_ASSERT_STREQ(out, "ab??c");
	learn_http_log_value("abcdef", 6, 3, out, sizeof(out));
	TEST_ASSERT_STREQ(out, "abc...");
	learn_http_log_value("0123456789012345678901234567890123456789", 40,
	    100, out, sizeof(out));
	TEST_ASSERT(strlen(out) == sizeof(out) - 1);
}

/* ---- a tiny HTTP server on a thread ------------------------------------ */

struct server {
	int		 lsock;
	int		 port;
	const char	*answer;	/* NULL: accept, read, never answer */
	int		 connections;	/* how many to serve */
	char		 request[4096];	/* the last request as received */
	size_t		 request_len;
	pthread_t	 thread;
};

static void *
serve(void *arg)
{
	struct server *s = arg;

	for (int i = 0; i < s->connections; i++) {
		int c = accept(s->lsock, NULL, NULL);
		ssize_t got;
		if (c < 0)
			break;
		s->request_len = 0;
		/* the whole request: head + Content-Length of body */
		while ((got = recv(c, s->request + s->request_len,
		    sizeof(s->request) - 1 - s->request_len, 0)) > 0) {
			const char *cl, *end;
			s->request_len += (size_t)got;
			s->request[s->request_len] = '\0';
			end = strstr(s->request, "\r\n\r\n");
			cl = strstr(s->request, "Content-Length: ");
			if (end && cl && s->request_len >= (size_t)(end + 4 -
			    s->request) + strtoul(cl + 16, NULL, 10))
				break;
		}
		if (s->answer)
			(void)!write(c, s->answer, strlen(s->answer));
		else	/* hold the connection until the client gives up */
			while (recv(c, s->request, 1, 0) > 0)
				;
		close(c);
	}
	return NULL;
}

static void
server_start(struct server *s, const char *answer, int connections)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);

	memset(s, 0, sizeof(*s));
	s->answer = answer;
	s->connections = connections;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lsock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (bind(s->lsock, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(s->lsock, 128) < 0 ||
	    getsockname(s->lsock, (struct sockaddr *)&sin, &sl) < 0)
		abort();
	s->port = ntohs(sin.sin_port);
	pthread_create(&s->thread, NULL, serve, s);
}

static void
server_join(struct server *s)
{
	pthread_join(s->thread, NULL);
	close(s->lsock);
}

/* A message file with text in it. */
static int
message_fd(const char *text)
{
	char path[] = "/tmp/test-learn-XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0)
		abort();
	unlink(path);
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	return fd;
}

static void
test_post(void)
{
	struct server s;
	struct learn_http_result r;
	char hp[32];
	int fd = message_fd("Subject: x\n\nbody\n");
	int ret;

	server_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n"
	    "{\"success\":true}", 1);
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", s.port);
	ret = learn_http_post(hp, "/learnspam", "sekrit", fd, -1, &r);
	server_join(&s);
	close(fd);
	TEST_ASSERT(ret == 0);
	TEST_ASSERT(r.status == 200);
	TEST_ASSERT_STREQ(r.answer, "{\\\"success\\\":true}");
	TEST_ASSERT(strstr(s.request, "POST /learnspam HTTP/1.1\r\n") ==
	    s.request);
	TEST_ASSERT(strstr(s.request, "\r\nPassword: sekrit\r\n") != NULL);
	TEST_ASSERT(strstr(s.request, "\r\nContent-Length: 17\r\n") != NULL);
	TEST_ASSERT(strstr(s.request, "\r\n\r\nSubject: x\n\nbody\n") != NULL);
}

static void
test_post_errors(void)
{
	struct server s;
	struct learn_http_result r;
	char hp[32];
	int fd = message_fd("x\n");
	int port;

	/* nothing listens: refused at once */
	server_start(&s, "", 0);
	port = s.port;
	server_join(&s);
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", port);
	TEST_ASSERT(learn_http_post(hp, "/learnham", "p", fd, -1, &r) < 0);
	TEST_ASSERT(strstr(r.error, "connect: ") == r.error);
	TEST_ASSERT(r.status == 0);
	/* garbage instead of HTTP */
	server_start(&s, "220 mail ESMTP\r\n", 1);
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", s.port);
	TEST_ASSERT(learn_http_post(hp, "/learnham", "p", fd, -1, &r) < 0);
	server_join(&s);
	TEST_ASSERT_STREQ(r.error, "not an HTTP answer");
	/* closed without a word */
	server_start(&s, "", 1);
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", s.port);
	TEST_ASSERT(learn_http_post(hp, "/learnham", "p", fd, -1, &r) < 0);
	server_join(&s);
	TEST_ASSERT_STREQ(r.error, "connection closed without an answer");
	close(fd);
}

/* The queue: a silent controller holds one message in flight, the queue
 * takes SPAM_LEARN_QUEUE_MAX more and refuses the next; stop cancels
 * the request in flight without waiting for its 30 s timeout. */
static void
test_queue(void)
{
	struct server s, ok;
	char hp[32], hp_ok[32];
	uint64_t t0;
	unsigned i;

	server_start(&ok, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
	    2);
	snprintf(hp_ok, sizeof(hp_ok), "127.0.0.1:%d", ok.port);
	TEST_ASSERT(spam_learn_room() == SPAM_LEARN_QUEUE_MAX);
	TEST_ASSERT(spam_learn_submit("0123456789abcdef", "u@a.test", hp_ok,
	    "p", SPAM_CLASS_SPAM, message_fd("a\n")));
	TEST_ASSERT(spam_learn_submit("0123456789abcdef", "u@a.test", hp_ok,
	    "p", SPAM_CLASS_HAM, message_fd("b\n")));
	spam_learn_drain();
	server_join(&ok);
	TEST_ASSERT(strstr(ok.request, "POST /learnham ") == ok.request);

	server_start(&s, NULL, 1);
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", s.port);
	TEST_ASSERT(spam_learn_submit("0123456789abcdef", "u@a.test", hp, "p",
	    SPAM_CLASS_SPAM, message_fd("in flight\n")));
	/* the learner takes it off the queue; then fill the queue */
	while (spam_learn_room() != SPAM_LEARN_QUEUE_MAX)
		usleep(1000);
	for (i = 0; i < SPAM_LEARN_QUEUE_MAX; i++)
		TEST_ASSERT(spam_learn_submit("0123456789abcdef", "u@a.test",
		    hp, "p", SPAM_CLASS_SPAM, message_fd("queued\n")));
	TEST_ASSERT(spam_learn_room() == 0);
	TEST_ASSERT(!spam_learn_submit("0123456789abcdef", "u@a.test", hp,
	    "p", SPAM_CLASS_SPAM, message_fd("one too many\n")));
	t0 = clock_mono_ms();
	spam_learn_stop();
	TEST_ASSERT(clock_mono_ms() - t0 < LEARN_HTTP_IO_MS / 2);
	server_join(&s);
	TEST_ASSERT(spam_learn_room() == 0);
	TEST_ASSERT(!spam_learn_submit("0123456789abcdef", "u@a.test", hp_ok,
	    "p", SPAM_CLASS_SPAM, message_fd("after stop\n")));
}

int
main(void)
{
	TEST_RUN(test_target);
	TEST_RUN(test_head);
	TEST_RUN(test_answer);
	TEST_RUN(test_log_value);
	TEST_RUN(test_post);
	TEST_RUN(test_post_errors);
	TEST_RUN(test_queue);
	return test_done("test-learn-http");
}
