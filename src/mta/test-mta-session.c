/*
 * test-mta-session - mta_session against a scripted fake SMTP server.
 *
 * The fake server runs in a thread with plain blocking sockets (and
 * OpenSSL for STARTTLS, with tests/data/mx.a.test.{crt,key}) on
 * 127.0.0.1. Its script is a list of steps: read one line that must start
 * with `expect` (NULL: read nothing), then send `reply` as is (NULL: send
 * nothing, so a pipelined group can be read before any reply). After a
 * reply starting with "354" it reads the data up to "." and keeps the raw
 * bytes; the "." appears in the transcript as a line. Special replies:
 * "CLOSE" closes the connection, "SLEEP" reads until the client goes
 * away, "TLS" answers "220 go ahead" and starts TLS, "BADTLS" answers
 * "220" and then sends garbage instead of a handshake.
 *
 * The session runs on a loop in the main thread; done() stops the loop.
 * Every run has a deadline, so a hang fails instead of blocking.
 *
 * Trust: test code, run under ASan/UBSan by `make unit`. Uses OpenSSL
 * directly for the fake peer only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "mta/mta_data.h"
#include "mta/mta_session.h"
#include "mta/mta_tls_policy.h"
#include "mta/smtp_reply.h"
#include "queue/queue.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/test.h"
#include "util/worker.h"
#include "util/xmalloc.h"

#define CERT	"tests/data/mx.a.test.crt"
#define KEY	"tests/data/mx.a.test.key"

struct step {
	const char	*expect;
	const char	*reply;
};

struct fake {
	const struct step *steps;
	int		 lfd, fd;
	uint16_t	 port;
	pthread_t	 th;
	SSL		*ssl;
	char		 in[8192];
	size_t		 inlen;
	struct buf	 transcript;	/* lines received, LF-terminated */
	struct buf	 data;		/* raw DATA bytes, "." line excluded */
	char		 error[256];	/* the first script mismatch */
	int		 nsteps_done;
};

static struct loop *loop;
static SSL_CTX *server_ctx;

/* ------------------------------------------------------------------ */
/* The fake server */

static ssize_t
fake_read(struct fake *f, void *p, size_t n)
{
	if (f->ssl)
		return SSL_read(f->ssl, p, (int)n);
	return read(f->fd, p, n);
}

static void
fake_write(struct fake *f, const char *s)
{
	size_t n = strlen(s);

	if (f->ssl)
		SSL_write(f->ssl, s, (int)n);
	else if (write(f->fd, s, n) < 0)
		return;
}

/* One line without CRLF into line; false on EOF/error. */
static bool
fake_getline(struct fake *f, struct buf *line)
{
	char *nl;
	ssize_t r;

	for (;;) {
		nl = memchr(f->in, '\n', f->inlen);
		if (nl) {
			size_t n = (size_t)(nl - f->in) + 1;

			buf_reset(line);
			buf_append(line, f->in, n);
			memmove(f->in, f->in + n, f->inlen - n);
			f->inlen -= n;
			return true;
		}
		if (f->inlen == sizeof(f->in))
			return false;
		r = fake_read(f, f->in + f->inlen, sizeof(f->in) - f->inlen);
		if (r <= 0)
			return false;
		f->inlen += (size_t)r;
	}
}

static void
fake_fail(struct fake *f, const char *what, const char *a, const char *b)
{
	if (f->error[0] == '\0')
		snprintf(f->error, sizeof(f->error), "%s %s, got %s", what, a,
		    b);
}

static bool
fake_read_data(struct fake *f)
{
	struct buf line;

	buf_init(&line, 0);
	while (fake_getline(f, &line)) {
		if (strcmp(buf_cstr(&line), ".\r\n") == 0) {
			buf_puts(&f->transcript, ".\n");
			buf_free(&line);
			return true;
		}
		buf_append(&f->data, line.data, line.len);
	}
	buf_free(&line);
	return false;
}

static bool
fake_start_tls(struct fake *f, bool bad)
{
	fake_write(f, "220 2.0.0 go ahead\r\n");
	if (bad) {
		if (write(f->fd, "this is not TLS\r\n", 17) < 0)
			return false;
		return false;
	}
	f->ssl = SSL_new(server_ctx);
	SSL_set_fd(f->ssl, f->fd);
	f->inlen = 0;
	return SSL_accept(f->ssl) == 1;
}

/* Runs one step; false ends the conversation. */
static bool
fake_step(struct fake *f, const struct step *st, struct buf *line)
{
	/* "." was read with the data already */
	if (st->expect && strcmp(st->expect, ".") != 0) {
		if (!fake_getline(f, line)) {
			fake_fail(f, "expected", st->expect, "EOF");
			return false;
		}
		buf_append(&f->transcript, line->data, line->len - 2);
		buf_putc(&f->transcript, '\n');
		if (strncmp(buf_cstr(line), st->expect,
		    strlen(st->expect)) != 0) {
			fake_fail(f, "expected", st->expect, buf_cstr(line));
			return false;
		}
	}
	if (st->reply == NULL)
		return true;
	if (strcmp(st->reply, "CLOSE") == 0) {
		shutdown(f->fd, SHUT_RDWR);
		return false;
	}
	if (strcmp(st->reply, "SLEEP") == 0) {
		while (fake_getline(f, line))
			;
		return false;
	}
	if (strcmp(st->reply, "TLS") == 0 || strcmp(st->reply, "BADTLS") == 0)
		return fake_start_tls(f, st->reply[0] == 'B');
	fake_write(f, st->reply);
	if (strncmp(st->reply, "354", 3) == 0 ||
	    strstr(st->reply, "\r\n354") != NULL)
		return fake_read_data(f);
	return true;
}

static void *
fake_main(void *arg)
{
	struct fake *f = arg;
	struct buf line;
	struct timeval tv = { 20, 0 };

	f->fd = accept(f->lfd, NULL, NULL);
	if (f->fd < 0)
		return NULL;
	setsockopt(f->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	buf_init(&line, 0);
	for (const struct step *st = f->steps; st->expect || st->reply; st++) {
		if (!fake_step(f, st, &line))
			break;
		f->nsteps_done++;
	}
	/* the client closes after QUIT; wait for it (anything more it sends
	   goes to the transcript) */
	while (fake_getline(f, &line)) {
		buf_append(&f->transcript, line.data, line.len);
	}
	buf_free(&line);
	if (f->ssl) {
		SSL_free(f->ssl);
		f->ssl = NULL;
	}
	close(f->fd);
	return NULL;
}

static struct fake *
fake_start(const struct step *steps)
{
	struct fake *f = xmalloc(sizeof(*f));
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int one = 1;

	f->steps = steps;
	buf_init(&f->transcript, 0);
	buf_init(&f->data, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(f->lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(f->lfd, 4) < 0)
		log_fatal("fake server: %s", strerror(errno));
	getsockname(f->lfd, (struct sockaddr *)&sin, &len);
	f->port = ntohs(sin.sin_port);
	pthread_create(&f->th, NULL, fake_main, f);
	return f;
}

static void
fake_free(struct fake *f)
{
	buf_free(&f->transcript);
	buf_free(&f->data);
	free(f);
}

/* ------------------------------------------------------------------ */
/* Running a session */

struct result {
	bool	 called;
	int	 status;
	char	*text;
	bool	 tls;
	bool	 verified;
	unsigned caps;
};

static void
done_cb(struct mta_session *s, int status, const char *text, void *arg)
{
	struct result *r = arg;

	r->called = true;
	r->status = status;
	r->text = xstrdup(text);
	r->tls = mta_session_tls(s);
	r->verified = mta_session_tls_verified(s);
	r->caps = mta_session_caps(s);
	loop_break(loop);
}

static void
deadline_cb(void *arg)
{
	(void)arg;
	loop_break(loop);
}

static void
default_params(struct mta_session_params *p, uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&p->addr;

	memset(p, 0, sizeof(*p));
	p->loop = loop;
	p->helo_name = "mx.a.test";
	p->host_name = "mx.b.test";
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->addrlen = sizeof(*sin);
	p->connect_timeout = 5;
	p->command_timeout = 5;
	p->data_timeout = 5;
}

/* Stops the fake server and waits for its thread. */
static void
fake_join(struct fake *f)
{
	shutdown(f->lfd, SHUT_RDWR);
	pthread_join(f->th, NULL);
	close(f->lfd);
	if (f->error[0])
		fprintf(stderr, "  fake server: %s\n", f->error);
}

/* Runs a session to its end (or 15 s); joins the fake server. */
static void
run(struct mta_session_params *p, struct mta_msg **msgs, int n,
    struct fake *f, struct result *r)
{
	struct loop_timer *t = loop_timer_new(loop, deadline_cb, NULL);
	struct mta_session *s;

	memset(r, 0, sizeof(*r));
	s = mta_session_start(p, msgs, n, done_cb, r);
	loop_timer_add(t, 15000);
	loop_run(loop);
	loop_timer_free(&t);
	if (!r->called)
		mta_session_abort(&s);
	if (f)
		fake_join(f);
}

/* A message with n recipients and room for the results. */
struct tmsg {
	struct mta_msg	 m;
	const char	*rcpts[8];
	int		 result[8];
	char		*text[8];
};

static void
tmsg_init(struct tmsg *t, const char *sender, const char *content,
    const char *r0, const char *r1)
{
	memset(t, 0, sizeof(*t));
	t->m.sender = sender;
	t->m.content = content;
	t->m.len = strlen(content);
	t->m.rcpts = t->rcpts;
	t->m.rcpt_result = t->result;
	t->m.rcpt_text = t->text;
	t->rcpts[t->m.nrcpt++] = r0;
	if (r1)
		t->rcpts[t->m.nrcpt++] = r1;
}

static void
tmsg_free(struct tmsg *t)
{
	for (int i = 0; i < 8; i++)
		free(t->text[i]);
}

static bool
starts(const char *s, const char *prefix)
{
	if (s == NULL || strncmp(s, prefix, strlen(prefix)) != 0) {
		fprintf(stderr, "  \"%s\" does not start with \"%s\"\n",
		    s ? s : "(null)", prefix);
		return false;
	}
	return true;
}

#define GREET	{ NULL, "220 mx.b.test ESMTP fake\r\n" }
#define EHLO_PLAIN { "EHLO mx.a.test", "250 mx.b.test\r\n" }
#define QUIT	{ "QUIT", "221 2.0.0 bye\r\n" }
#define END	{ NULL, NULL }

/* ------------------------------------------------------------------ */
/* Tests */

static void
test_basic(void)
{
	static const struct step steps[] = {
		GREET,
		{ "EHLO mx.a.test", "250-mx.b.test hi\r\n250 ENHANCEDSTATUSCODES"
		  "\r\n" },
		{ "MAIL FROM:<alice@a.test>\r\n", "250 2.1.0 ok\r\n" },
		{ "RCPT TO:<bob@b.test>\r\n", "250 2.1.5 ok\r\n" },
		{ "RCPT TO:<nobody@b.test>\r\n", "550-5.1.1 no such\r\n"
		  "550 5.1.1 user\r\n" },
		{ "DATA\r\n", "354 go\r\n" },
		{ ".", "250 2.0.0 queued as X\r\n" },
		QUIT, END,
	};
	struct fake *f = fake_start(steps);
	struct mta_session_params p;
	struct tmsg t;
	struct mta_msg *msgs[1] = { &t.m };
	struct result r;
	static const char content[] = "Subject: x\n\n.hidden\nline\n..\n";

	tmsg_init(&t, "alice@a.test", content, "bob@b.test", "nobody@b.test");
	default_params(&p, f->port);
	run(&p, msgs, 1, f, &r);
	TEST_ASSERT(r.called && r.status == MTA_OK);
	TEST_ASSERT_STREQ(r.text, "");
	TEST_ASSERT(f->error[0] == '\0');
	TEST_ASSERT(t.result[0] == MTA_RCPT_OK);
	TEST_ASSERT_STREQ(t.text[0], "host mx.b.test[127.0.0.1] said: 250 "
	    "2.0.0 queued as X (in reply to end of DATA command)");
	TEST_ASSERT(t.result[1] == MTA_RCPT_PERM);
	TEST_ASSERT_STREQ(t.text[1], "host mx.b.test[127.0.0.1] said: 550 "
	    "5.1.1 no such user (in reply to RCPT TO command)");
	TEST_ASSERT_STREQ(buf_cstr(&f->data), "Subject: x\r\n\r\n..hidden\r\n"
	    "line\r\n...\r\n");
	TEST_ASSERT(!r.tls && r.caps == SMTP_CAP_ENHANCEDSTATUSCODES);
	free(r.text);
	tmsg_free(&t);
	fake_free(f);
}

static void
test_pipelining_params(void)
{
	static const struct step steps[] = {
		GREET,
		{ "EHLO", "250-mx.b.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n"
		  "250-8BITMIME\r\n250-SMTPUTF8\r\n250 DSN\r\n" },
		/* all three are read before any reply: a client that waits
		   after MAIL would time out here */
		{ "MAIL FROM:<al\xc3\xad" "ce@a.test> SIZE=12 BODY=8BITMIME SMTPUTF8 "
		  "RET=HDRS ENVID=env+2B1\r\n", NULL },
		{ "RCPT TO:<bob@b.test> NOTIFY=SUCCESS,FAILURE "
		  "ORCPT=rfc822;bob@b.test\r\n", NULL },
		{ "RCPT TO:<carol@b.test> NOTIFY=NEVER\r\n", NULL },
		{ "DATA\r\n", "250 ok\r\n250 ok\r\n451 4.7.1 later\r\n354 go\r\n" },
		{ ".", "250 ok done\r\n" },
		QUIT, END,
	};
	struct fake *f = fake_start(steps);
	struct mta_session_params p;
	struct tmsg t;
	struct mta_msg *msgs[1] = { &t.m };
	struct result r;
	const char *orcpt[2] = { "rfc822;bob@b.test", NULL };
	unsigned notify[2] = { DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE,
	    DSN_NOTIFY_NEVER };

	tmsg_init(&t, "al\xc3\xad" "ce@a.test", "x: \xc3\xa9\n\nb\n", "bob@b.test",
	    "carol@b.test");
	t.m.eightbit = t.m.smtputf8 = true;
	t.m.orcpt = orcpt;
	t.m.notify = notify;
	t.m.envid = "env+2B1";
	t.m.ret = DSN_RET_HDRS;
	default_params(&p, f->port);
	run(&p, msgs, 1, f, &r);
	TEST_ASSERT(r.called && r.status == MTA_OK);
	TEST_ASSERT(f->error[0] == '\0');
	TEST_ASSERT(t.result[0] == MTA_RCPT_OK);
	TEST_ASSERT(t.result[1] == MTA_RCPT_TEMP);
	TEST_ASSERT(starts(t.text[1], "host mx.b.test[127.0.0.1] said: 451 "
	    "4.7.1 later"));
	free(r.text);
	tmsg_free(&t);
	fake_free(f);
}

static void
test_several_messages(void)
{
	static const struct step steps[] = {
		GREET,
		{ "EHLO", "250-mx.b.test\r\n250 SIZE 100\r\n" },
		/* message 1: the only recipient refused, so RSET */
		{ "MAIL FROM:<> SIZE=3\r\n", "250 ok\r\n" },
		{ "RCPT TO:<x@b.test>", "550 5.1.1 no\r\n" },
		{ "RSET", "250 ok\r\n" },
		/* message 2 (3 is too big: never sent; 4 has no recipient) */
		{ "MAIL FROM:<a@a.test> SIZE=3\r\n", "250 ok\r\n" },
		{ "RCPT TO:<y@b.test>", "250 ok\r\n" },
		{ "DATA", "354 go\r\n" },
		{ ".", "250 ok\r\n" },
		/* message 5: MAIL refused, no RSET needed */
		{ "MAIL FROM:<c@a.test>", "553 5.7.1 sender refused\r\n" },
		QUIT, END,
	};
	static char big[200];
	struct fake *f = fake_start(steps);
	struct mta_session_params p;
	struct tmsg t[5];
	struct mta_msg *msgs[5];
	struct result r;

	memset(big, 'x', sizeof(big) - 1);
	tmsg_init(&t[0], "", "a\n", "x@b.test", NULL);
	tmsg_init(&t[1], "a@a.test", "b\n", "y@b.test", NULL);
	tmsg_init(&t[2], "a@a.test", big, "z@b.test", NULL);
	tmsg_init(&t[3], "a@a.test", "c\n", "w@b.test", NULL);
	t[3].m.nrcpt = 0;
	tmsg_init(&t[4], "c@a.test", "d\n", "v@b.test", "u@b.test");
	for (int i = 0; i < 5; i++)
		msgs[i] = &t[i].m;
	default_params(&p, f->port);
	run(&p, msgs, 5, f, &r);
	TEST_ASSERT(r.called && r.status == MTA_OK);
	TEST_ASSERT(f->error[0] == '\0');
	TEST_ASSERT(t[0].result[0] == MTA_RCPT_PERM);
	TEST_ASSERT(t[1].result[0] == MTA_RCPT_OK);
	TEST_ASSERT(t[2].result[0] == MTA_RCPT_PERM);
	TEST_ASSERT_STREQ(t[2].text[0], "5.3.4 message size 201 exceeds size "
	    "limit 100 of host mx.b.test[127.0.0.1]");
	TEST_ASSERT(t[3].result[0] == MTA_RCPT_UNTOUCHED);
	TEST_ASSERT(t[4].result[0] == MTA_RCPT_PERM);
	TEST_ASSERT(t[4].result[1] == MTA_RCPT_PERM);
	TEST_ASSERT(starts(t[4].text[1], "host mx.b.test[127.0.0.1] said: 553 "
	    "5.7.1 sender refused (in reply to MAIL FROM command)"));
	free(r.text);
	for (int i = 0; i < 5; i++)
		tmsg_free(&t[i]);
	fake_free(f);
}

static void
test_helo_fallback_8bit(void)
{
	static const struct step steps[] = {
		GREET,
		{ "EHLO", "502 5.5.1 what?\r\n" },
		{ "HELO mx.a.test", "250 mx.b.test\r\n" },
		/* 8-bit without 8BITMIME: converted (mta_7bit.h), no BODY= */
		{ "MAIL FROM:<a@a.test>\r\n", "250 ok\r\n" },
		{ "RCPT TO:<x@b.test>\r\n", "250 ok\r\n" },
		{ "DATA", "354 go\r\n" },
		{ ".", "250 ok\r\n" },
		{ "MAIL FROM:<a@a.test>\r\n", "250 ok\r\n" },
		{ "RCPT TO:<y@b.test>\r\n", "250 ok\r\n" },
		{ "DATA", "354 go\r\n" },
		{ ".", "250 ok\r\n" },
		QUIT, END,
	};
	struct fake *f = fake_start(steps);
	struct mta_session_params p;
	struct tmsg t[3];
	struct mta_msg *msgs[3] = { &t[0].m, &t[1].m, &t[2].m };
	struct result r;

	tmsg_init(&t[0], "a@a.test", "Subject: s\n\ncaf\xc3\xa9\n", "x@b.test",
	    NULL);
	t[0].m.eightbit = true;
	tmsg_init(&t[1], "a@\xc3\xa9.test", "x\n", "x@b.test", NULL);
	t[1].m.smtputf8 = true;
	tmsg_init(&t[2], "a@a.test", "plain", "y@b.test", NULL);
	default_params(&p, f->port);
	run(&p, msgs, 3, f, &r);
	TEST_ASSERT(r.called && r.status == MTA_OK);
	TEST_ASSERT(f->error[0] == '\0');
	TEST_ASSERT(r.caps == 0);
	TEST_ASSERT(t[0].result[0] == MTA_RCPT_OK);
	TEST_ASSERT(t[1].result[0] == MTA_RCPT_PERM);
	TEST_ASSERT(starts(t[1].text[0], "5.6.7 "));
	TEST_ASSERT(t[2].result[0] == MTA_RCPT_OK);
	TEST_ASSERT_STREQ(buf_cstr(&f->data), "Subject: s\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "caf=C3=A9\r\nplain\r\n");
	free(r.text);
	for (int i = 0; i < 3; i++)
		tmsg_free(&t[i]);
	fake_free(f);
}

/* A session that fails at the connection level leaves msgs untouched. */
static void
check_conn_failure(const struct step *steps, int want_status,
    const char *want_text, bool tls_required, int *ok)
{
	struct fake *f = fake_start(steps);
	struct mta_session_params p;
	struct tmsg t;
	struct mta_msg *msgs[1] = { &t.m };
	struct result r;

	*ok = 0;
	tmsg_init(&t, "a@a.test", "x\n", "y@b.test", NULL);
	default_params(&p, f->port);
	p.command_timeout = 1;
	p.tls_required = tls_required;
	run(&p, msgs, 1, f, &r);
	if (r.called && r.status == want_status &&
	    starts(r.text, want_text) && t.result[0] == MTA_RCPT_UNTOUCHED &&
	    t.text[0] == NULL && f->error[0] == '\0')
		*ok = 1;
	else
		fprintf(stderr, "  status %d text \"%s\"\n", r.status,
		    r.text ? r.text : "");
	free(r.text);
	tmsg_free(&t);
	fake_free(f);
}

static void
test_conn_failures(void)
{
	static const struct step greet554[] = {
		{ NULL, "554 5.7.1 go away\r\n" }, QUIT, END,
	};
	static const struct step greet421[] = {
		{ NULL, "421 4.3.2 busy\r\n" }, QUIT, END,
	};
	static const struct step ehlo421[] = {
		GREET, { "EHLO", "421 4.3.2 busy\r\n" }, QUIT, END,
	};
	static const struct step helo550[] = {
		GREET, { "EHLO", "500 no\r\n" },
		{ "HELO", "550 5.7.1 no\r\n" }, QUIT, END,
	};
	static const struct step silent[] = {
		GREET, { "EHLO", "SLEEP" }, END,
	};
	static const struct step no_greeting[] = {
		{ NULL, "SLEEP" }, END,
	};
	static const struct step closed[] = {
		GREET, { "EHLO", "CLOSE" }, END,
	};
	static const struct step garbage[] = {
		{ NULL, "HTTP/1.1 400 Bad Request\r\n" }, END,
	};
	static const struct step notls[] = {
		GREET, EHLO_PLAIN, QUIT, END,
	};
	int ok;

	check_conn_failure(greet554, MTA_CONN_PERM, "host mx.b.test[127.0.0.1]"
	    " said: 554 5.7.1 go away", false, &ok);
	TEST_ASSERT(ok);
	check_conn_failure(greet421, MTA_CONN_TEMP, "host mx.b.test[127.0.0.1]"
	    " said: 421 4.3.2 busy", false, &ok);
	TEST_ASSERT(ok);
	check_conn_failure(ehlo421, MTA_CONN_TEMP, "host mx.b.test[127.0.0.1]"
	    " said: 421 4.3.2 busy (in reply to EHLO command)", false, &ok);
	TEST_ASSERT(ok);
	check_conn_failure(helo550, MTA_CONN_PERM, "host mx.b.test[127.0.0.1]"
	    " said: 550 5.7.1 no (in reply to HELO command)", false, &ok);
	TEST_ASSERT(ok);
	check_conn_failure(silent, MTA_CONN_TEMP, "conversation with host "
	    "mx.b.test[127.0.0.1] timed out while sending EHLO", false, &ok);
	TEST_ASSERT(ok);
	check_conn_failure(no_greeting, MTA_CONN_TEMP, "conversation with "
	    "host mx.b.test[127.0.0.1] timed out while receiving the initial",
	    false, &ok);
	TEST_ASSERT(ok);
	check_conn_failure(closed, MTA_CONN_TEMP, "lost connection with host "
	    "mx.b.test[127.0.0.1] while sending EHLO", false, &ok);
	TEST_ASSERT(ok);
	check_conn_failure(garbage, MTA_CONN_TEMP, "protocol error from host "
	    "mx.b.test[127.0.0.1]: reply without a valid code", false, &ok);
	TEST_ASSERT(ok);
	check_conn_failure(notls, MTA_CONN_TEMP, "4.7.5 TLS is required, but host "
	    "mx.b.test[127.0.0.1] does not offer STARTTLS", true, &ok);
	TEST_ASSERT(ok);
}

static void
test_connect_refused(void)
{
	struct mta_session_params p;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	struct tmsg t;
	struct mta_msg *msgs[1] = { &t.m };
	struct result r;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port;

	/* a port that was just free: bind, read it, close */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	TEST_ASSERT(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	getsockname(fd, (struct sockaddr *)&sin, &len);
	port = ntohs(sin.sin_port);
	close(fd);
	tmsg_init(&t, "a@a.test", "x\n", "y@b.test", NULL);
	default_params(&p, port);
	run(&p, msgs, 1, NULL, &r);
	TEST_ASSERT(r.called && r.status == MTA_CONN_FAILED);
	TEST_ASSERT(starts(r.text, "connect to host mx.b.test[127.0.0.1]: "));
	TEST_ASSERT(t.result[0] == MTA_RCPT_UNTOUCHED);
	free(r.text);
	tmsg_free(&t);
}

static void
test_cut_off(void)
{
	/* the connection closes during message 1: its recipients are
	   temporary failures, message 2 is untouched */
	static const struct step lost[] = {
		GREET, EHLO_PLAIN,
		{ "MAIL", "250 ok\r\n" },
		{ "RCPT TO:<x@b.test>", "250 ok\r\n" },
		{ "RCPT TO:<y@b.test>", "550 no\r\n" },
		{ "RCPT TO:<z@b.test>", "CLOSE" }, END,
	};
	/* 421 to RCPT: the same, with the peer's text */
	static const struct step r421[] = {
		GREET, EHLO_PLAIN,
		{ "MAIL", "250 ok\r\n" },
		{ "RCPT TO:<x@b.test>", "250 ok\r\n" },
		{ "RCPT TO:<y@b.test>", "550 no\r\n" },
		{ "RCPT TO:<z@b.test>", "421 4.4.2 bye\r\n" }, END,
	};
	/* no answer to the final dot within data_timeout */
	static const struct step slow[] = {
		GREET, EHLO_PLAIN,
		{ "MAIL", "250 ok\r\n" },
		{ "RCPT TO:<x@b.test>", "250 ok\r\n" },
		{ "RCPT TO:<y@b.test>", "550 no\r\n" },
		{ "RCPT TO:<z@b.test>", "250 ok\r\n" },
		{ "DATA", "354 go\r\n" },
		{ ".", "SLEEP" }, END,
	};
	static const struct {
		const struct step *steps;
		const char *text;
	} cases[] = {
		{ lost, "lost connection with host mx.b.test[127.0.0.1] while "
		  "sending RCPT TO" },
		{ r421, "host mx.b.test[127.0.0.1] said: 421 4.4.2 bye (in "
		  "reply to RCPT TO command)" },
		{ slow, "conversation with host mx.b.test[127.0.0.1] timed out "
		  "while sending end of data -- message may be sent more than "
		  "once" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake *f = fake_start(cases[i].steps);
		struct mta_session_params p;
		struct tmsg t[2];
		struct mta_msg *msgs[2] = { &t[0].m, &t[1].m };
		struct result r;
		bool ok;

		tmsg_init(&t[0], "a@a.test", "x\n", "x@b.test", "y@b.test");
		t[0].rcpts[t[0].m.nrcpt++] = "z@b.test";
		tmsg_init(&t[1], "a@a.test", "x\n", "w@b.test", NULL);
		default_params(&p, f->port);
		p.data_timeout = 1;
		run(&p, msgs, 2, f, &r);
		ok = r.called && r.status == MTA_OK && f->error[0] == '\0' &&
		    starts(r.text, cases[i].text) &&
		    t[0].result[0] == MTA_RCPT_TEMP &&
		    t[0].result[1] == MTA_RCPT_PERM &&
		    t[0].result[2] == MTA_RCPT_TEMP &&
		    starts(t[0].text[0], cases[i].text) &&
		    t[1].result[0] == MTA_RCPT_UNTOUCHED;
		if (!ok)
			fprintf(stderr, "  case %zu: status %d text %s\n", i,
			    r.status, r.text ? r.text : "");
		free(r.text);
		tmsg_free(&t[0]);
		tmsg_free(&t[1]);
		fake_free(f);
		TEST_ASSERT(ok);
	}
}

static void
test_data_refused_and_no_rcpt_354(void)
{
	static const struct step steps[] = {
		GREET,
		{ "EHLO", "250-mx.b.test\r\n250 PIPELINING\r\n" },
		/* message 1: DATA refused after accepted recipients */
		{ "MAIL", NULL }, { "RCPT", NULL },
		{ "DATA", "250 ok\r\n250 ok\r\n554 5.7.1 no data for you\r\n" },
		{ "RSET", "250 ok\r\n" },
		/* message 2: recipient refused but the server says 354 */
		{ "MAIL", NULL }, { "RCPT", NULL },
		{ "DATA", "250 ok\r\n550 5.1.1 no\r\n354 go\r\n" },
		{ ".", "554 5.5.1 no valid recipients\r\n" },
		/* message 3: fine */
		{ "MAIL", NULL }, { "RCPT", NULL },
		{ "DATA", "250 ok\r\n250 ok\r\n354 go\r\n" },
		{ ".", "250 ok\r\n" },
		QUIT, END,
	};
	struct fake *f = fake_start(steps);
	struct mta_session_params p;
	struct tmsg t[3];
	struct mta_msg *msgs[3] = { &t[0].m, &t[1].m, &t[2].m };
	struct result r;

	tmsg_init(&t[0], "a@a.test", "one\n", "x@b.test", NULL);
	tmsg_init(&t[1], "a@a.test", "two\n", "y@b.test", NULL);
	tmsg_init(&t[2], "a@a.test", "three\n", "z@b.test", NULL);
	default_params(&p, f->port);
	run(&p, msgs, 3, f, &r);
	TEST_ASSERT(r.called && r.status == MTA_OK);
	TEST_ASSERT(f->error[0] == '\0');
	TEST_ASSERT(t[0].result[0] == MTA_RCPT_PERM);
	TEST_ASSERT(starts(t[0].text[0], "host mx.b.test[127.0.0.1] said: 554 "
	    "5.7.1 no data for you (in reply to DATA command)"));
	TEST_ASSERT(t[1].result[0] == MTA_RCPT_PERM);
	TEST_ASSERT(starts(t[1].text[0], "host mx.b.test[127.0.0.1] said: 550 "
	    "5.1.1 no (in reply to RCPT TO command)"));
	TEST_ASSERT(t[2].result[0] == MTA_RCPT_OK);
	/* message 2's data was an empty "." alone; only 3's went out */
	TEST_ASSERT_STREQ(buf_cstr(&f->data), "three\r\n");
	free(r.text);
	for (int i = 0; i < 3; i++)
		tmsg_free(&t[i]);
	fake_free(f);
}

static void
test_bad_addresses(void)
{
	static const struct step steps[] = {
		GREET, EHLO_PLAIN,
		{ "MAIL FROM:<a@a.test>\r\n", "250 ok\r\n" },
		{ "RCPT TO:<ok@b.test>\r\n", "250 ok\r\n" },
		{ "DATA", "354 go\r\n" },
		{ ".", "250 ok\r\n" },
		QUIT, END,
	};
	struct fake *f = fake_start(steps);
	struct mta_session_params p;
	struct tmsg t[2];
	struct mta_msg *msgs[2] = { &t[0].m, &t[1].m };
	struct result r;

	tmsg_init(&t[0], "a@a.test\r\nRSET", "x\n", "y@b.test", NULL);
	tmsg_init(&t[1], "a@a.test", "x\n", "bad@b.test>\r\nDATA", "ok@b.test");
	default_params(&p, f->port);
	run(&p, msgs, 2, f, &r);
	TEST_ASSERT(r.called && r.status == MTA_OK);
	TEST_ASSERT(f->error[0] == '\0');
	TEST_ASSERT(t[0].result[0] == MTA_RCPT_PERM);
	TEST_ASSERT(starts(t[0].text[0], "5.1.7 "));
	TEST_ASSERT(t[1].result[0] == MTA_RCPT_PERM);
	TEST_ASSERT(starts(t[1].text[0], "5.1.3 "));
	TEST_ASSERT(t[1].result[1] == MTA_RCPT_OK);
	free(r.text);
	tmsg_free(&t[0]);
	tmsg_free(&t[1]);
	fake_free(f);
}

/* RFC 8689: without TLS verified by DANE or MTA-STS a REQUIRETLS message
 * is refused locally (5.7.10, no command sent for it, even to a peer that
 * offers REQUIRETLS); the batch's other messages still go. */
static void
test_requiretls_unverified(void)
{
	static const struct step steps[] = {
		GREET,
		{ "EHLO mx.a.test", "250-mx.b.test\r\n250 REQUIRETLS\r\n" },
		{ "MAIL FROM:<a@a.test>\r\n", "250 ok\r\n" },
		{ "RCPT TO:<ok@b.test>\r\n", "250 ok\r\n" },
		{ "DATA", "354 go\r\n" },
		{ ".", "250 ok\r\n" },
		QUIT, END,
	};
	struct fake *f = fake_start(steps);
	struct mta_session_params p;
	struct tmsg t[2];
	struct mta_msg *msgs[2] = { &t[0].m, &t[1].m };
	struct result r;

	tmsg_init(&t[0], "a@a.test", "x\n", "secret@b.test", NULL);
	t[0].m.requiretls = true;
	tmsg_init(&t[1], "a@a.test", "x\n", "ok@b.test", NULL);
	default_params(&p, f->port);
	run(&p, msgs, 2, f, &r);
	TEST_ASSERT(r.called && r.status == MTA_OK);
	TEST_ASSERT(f->error[0] == '\0');
	TEST_ASSERT(r.caps & SMTP_CAP_REQUIRETLS);
	TEST_ASSERT(t[0].result[0] == MTA_RCPT_PERM);
	TEST_ASSERT(starts(t[0].text[0], "5.7.10 "));
	TEST_ASSERT(t[1].result[0] == MTA_RCPT_OK);
	TEST_ASSERT(strstr(buf_cstr(&f->transcript), "secret") == NULL);
	free(r.text);
	tmsg_free(&t[0]);
	tmsg_free(&t[1]);
	fake_free(f);
}

static size_t fixture_tlsa(uint8_t *rd);

/* RFC 8689 4.2.1 over verified TLS: REQUIRETLS on MAIL FROM when the
 * peer offers it after STARTTLS, else refused locally with 5.7.30. */
static void
test_requiretls_verified(void)
{
	static const struct step offered[] = {
		GREET,
		{ "EHLO", "250-mx.b.test\r\n250 STARTTLS\r\n" },
		{ "STARTTLS\r\n", "TLS" },
		{ "EHLO mx.a.test\r\n", "250-mx.b.test\r\n250 REQUIRETLS\r\n" },
		{ "MAIL FROM:<a@a.test> REQUIRETLS\r\n", "250 ok\r\n" },
		{ "RCPT TO:<y@b.test>\r\n", "250 ok\r\n" },
		{ "DATA", "354 go\r\n" },
		{ ".", "250 ok\r\n" },
		QUIT, END,
	};
	static const struct step not_offered[] = {
		GREET,
		{ "EHLO", "250-mx.b.test\r\n250 STARTTLS\r\n" },
		{ "STARTTLS\r\n", "TLS" },
		{ "EHLO mx.a.test\r\n", "250 mx.b.test\r\n" },
		QUIT, END,
	};
	struct mta_tls_policy *pol;
	struct fake *f;
	struct mta_session_params p;
	struct tmsg t;
	struct mta_msg *msgs[1] = { &t.m };
	struct result r;
	uint8_t rd[3 + 32];

	if (server_ctx == NULL) {
		fprintf(stderr, "  no %s: run from the repository root\n",
		    CERT);
		TEST_ASSERT(server_ctx != NULL);
		return;
	}
	pol = mta_tls_policy_new(MTA_TLS_DANE, "b.test", "mx.b.test", NULL);
	TEST_ASSERT(mta_tls_policy_add_tlsa(pol, rd, fixture_tlsa(rd)));
	for (int i = 0; i < 2; i++) {
		f = fake_start(i == 0 ? offered : not_offered);
		tmsg_init(&t, "a@a.test", "x\n", "y@b.test", NULL);
		t.m.requiretls = true;
		default_params(&p, f->port);
		p.tls_policy = pol;
		p.tls_required = true;
		run(&p, msgs, 1, f, &r);
		TEST_ASSERT(r.called && r.status == MTA_OK && r.tls);
		TEST_ASSERT(f->error[0] == '\0');
		if (i == 0)
			TEST_ASSERT(t.result[0] == MTA_RCPT_OK);
		else {
			TEST_ASSERT(t.result[0] == MTA_RCPT_PERM);
			TEST_ASSERT(starts(t.text[0], "5.7.30 "));
		}
		free(r.text);
		tmsg_free(&t);
		fake_free(f);
	}
	mta_tls_policy_free(&pol);
}

/* Runs the loop until r is called back (or 15 s). */
static void
wait_done(struct result *r)
{
	struct loop_timer *t = loop_timer_new(loop, deadline_cb, NULL);

	loop_timer_add(t, 15000);
	if (!r->called)
		loop_run(loop);
	loop_timer_free(&t);
}

/* p.reuse: the batch ends idle (done() with the session kept), the next
 * batch goes after an RSET probe, the end is a QUIT; a probe answered
 * 421 ends the session as the connection's failure, message untouched. */
static void
test_reuse(void)
{
	static const struct step steps[] = {
		GREET, EHLO_PLAIN,
		{ "MAIL FROM:<a@a.test>\r\n", "250 ok\r\n" },
		{ "RCPT TO:<y@b.test>\r\n", "250 ok\r\n" },
		{ "DATA", "354 go\r\n" },
		{ ".", "250 ok\r\n" },
		{ "RSET\r\n", "250 ok\r\n" },
		{ "MAIL FROM:<a@a.test>\r\n", "250 ok\r\n" },
		{ "RCPT TO:<z@b.test>\r\n", "250 ok\r\n" },
		{ "DATA", "354 go\r\n" },
		{ ".", "250 ok\r\n" },
		{ "RSET\r\n", "421 4.4.2 idle too long\r\n" },
		QUIT, END,
	};
	struct fake *f = fake_start(steps);
	struct mta_session_params p;
	struct mta_session *s;
	struct tmsg t[3];
	struct mta_msg *m0[1] = { &t[0].m }, *m1[1] = { &t[1].m },
	    *m2[1] = { &t[2].m };
	struct result r[3];

	memset(r, 0, sizeof(r));
	tmsg_init(&t[0], "a@a.test", "x\n", "y@b.test", NULL);
	tmsg_init(&t[1], "a@a.test", "x\n", "z@b.test", NULL);
	tmsg_init(&t[2], "a@a.test", "x\n", "w@b.test", NULL);
	default_params(&p, f->port);
	p.reuse = true;
	s = mta_session_start(&p, m0, 1, done_cb, &r[0]);
	wait_done(&r[0]);
	TEST_ASSERT(r[0].called && r[0].status == MTA_OK);
	TEST_ASSERT(t[0].result[0] == MTA_RCPT_OK);
	TEST_ASSERT(mta_session_idle(s));
	TEST_ASSERT(mta_session_continue(s, m1, 1, done_cb, &r[1]));
	wait_done(&r[1]);
	TEST_ASSERT(r[1].called && r[1].status == MTA_OK);
	TEST_ASSERT(t[1].result[0] == MTA_RCPT_OK);
	TEST_ASSERT(mta_session_idle(s));
	TEST_ASSERT(mta_session_continue(s, m2, 1, done_cb, &r[2]));
	wait_done(&r[2]);
	TEST_ASSERT(r[2].called && r[2].status == MTA_CONN_TEMP);
	TEST_ASSERT(t[2].result[0] == MTA_RCPT_UNTOUCHED);
	TEST_ASSERT(strstr(r[2].text, "421 4.4.2") != NULL);
	fake_join(f);
	TEST_ASSERT(f->error[0] == '\0');
	for (int i = 0; i < 3; i++) {
		free(r[i].text);
		tmsg_free(&t[i]);
	}
	fake_free(f);
}

/* An idle session nobody takes ends with QUIT through mta_session_close;
 * one whose peer closed meanwhile is no longer idle. */
static void
test_reuse_close(void)
{
	static const struct step steps[] = {
		GREET, EHLO_PLAIN,
		{ "MAIL FROM:<a@a.test>\r\n", "250 ok\r\n" },
		{ "RCPT TO:<y@b.test>\r\n", "250 ok\r\n" },
		{ "DATA", "354 go\r\n" },
		{ ".", "250 ok\r\n" },
		QUIT, END,
	};
	struct fake *f = fake_start(steps);
	struct mta_session_params p;
	struct mta_session *s;
	struct tmsg t;
	struct mta_msg *m0[1] = { &t.m };
	struct result r[2];

	memset(r, 0, sizeof(r));
	tmsg_init(&t, "a@a.test", "x\n", "y@b.test", NULL);
	default_params(&p, f->port);
	p.reuse = true;
	s = mta_session_start(&p, m0, 1, done_cb, &r[0]);
	wait_done(&r[0]);
	TEST_ASSERT(r[0].called && mta_session_idle(s));
	mta_session_close(s, done_cb, &r[1]);
	wait_done(&r[1]);
	TEST_ASSERT(r[1].called && r[1].status == MTA_OK);
	fake_join(f);
	TEST_ASSERT(f->error[0] == '\0');
	TEST_ASSERT(f->nsteps_done == 7);
	free(r[0].text);
	free(r[1].text);
	tmsg_free(&t);
	fake_free(f);
}

static void
test_starttls(void)
{
	static const struct step steps[] = {
		GREET,
		{ "EHLO", "250-mx.b.test\r\n250-SIZE 10\r\n250 STARTTLS\r\n" },
		{ "STARTTLS\r\n", "TLS" },
		/* the list from before TLS is forgotten: SIZE 10 is gone */
		{ "EHLO mx.a.test\r\n", "250-mx.b.test\r\n250 8BITMIME\r\n" },
		{ "MAIL FROM:<a@a.test>\r\n", "250 ok\r\n" },
		{ "RCPT TO:<y@b.test>\r\n", "250 ok\r\n" },
		{ "DATA", "354 go\r\n" },
		{ ".", "250 ok\r\n" },
		QUIT, END,
	};
	static const struct step bad[] = {
		GREET,
		{ "EHLO", "250-mx.b.test\r\n250 STARTTLS\r\n" },
		{ "STARTTLS\r\n", "BADTLS" }, END,
	};
	static const struct step refused[] = {
		GREET,
		{ "EHLO", "250-mx.b.test\r\n250 STARTTLS\r\n" },
		{ "STARTTLS\r\n", "454 4.7.0 TLS not available\r\n" },
		{ "MAIL FROM:<a@a.test>\r\n", "250 ok\r\n" },
		{ "RCPT TO:<y@b.test>\r\n", "250 ok\r\n" },
		{ "DATA", "354 go\r\n" },
		{ ".", "250 ok\r\n" },
		QUIT, END,
	};
	static const struct step skipped[] = {
		GREET,
		{ "EHLO", "250-mx.b.test\r\n250 STARTTLS\r\n" },
		{ "MAIL FROM:<a@a.test>\r\n", "250 ok\r\n" },
		{ "RCPT TO:<y@b.test>\r\n", "250 ok\r\n" },
		{ "DATA", "354 go\r\n" },
		{ ".", "250 ok\r\n" },
		QUIT, END,
	};
	struct fake *f;
	struct mta_session_params p;
	struct tmsg t;
	struct mta_msg *msgs[1] = { &t.m };
	struct result r;
	static const char body[] = "0123456789012345678901234567890\n";

	if (server_ctx == NULL) {
		fprintf(stderr, "  no %s: run from the repository root\n",
		    CERT);
		TEST_ASSERT(server_ctx != NULL);
	}
	/* TLS works; the message larger than the pre-TLS SIZE goes out */
	f = fake_start(steps);
	tmsg_init(&t, "a@a.test", body, "y@b.test", NULL);
	default_params(&p, f->port);
	run(&p, msgs, 1, f, &r);
	TEST_ASSERT(r.called && r.status == MTA_OK && r.tls);
	TEST_ASSERT(f->error[0] == '\0');
	TEST_ASSERT(t.result[0] == MTA_RCPT_OK);
	TEST_ASSERT(f->data.len == sizeof(body));
	free(r.text);
	tmsg_free(&t);
	fake_free(f);

	/* a failed handshake: MTA_CONN_TEMP, "TLS handshake failed" */
	f = fake_start(bad);
	tmsg_init(&t, "a@a.test", body, "y@b.test", NULL);
	default_params(&p, f->port);
	run(&p, msgs, 1, f, &r);
	TEST_ASSERT(r.called && r.status == MTA_CONN_TEMP);
	TEST_ASSERT_STREQ(r.text, "TLS handshake failed");
	TEST_ASSERT(t.result[0] == MTA_RCPT_UNTOUCHED);
	free(r.text);
	tmsg_free(&t);
	fake_free(f);

	/* STARTTLS refused: opportunistic, so on in the clear */
	f = fake_start(refused);
	tmsg_init(&t, "a@a.test", body, "y@b.test", NULL);
	default_params(&p, f->port);
	run(&p, msgs, 1, f, &r);
	TEST_ASSERT(r.called && r.status == MTA_OK && !r.tls);
	TEST_ASSERT(f->error[0] == '\0');
	TEST_ASSERT(t.result[0] == MTA_RCPT_OK);
	free(r.text);
	tmsg_free(&t);
	fake_free(f);

	/* no_tls: STARTTLS is not even tried */
	f = fake_start(skipped);
	tmsg_init(&t, "a@a.test", body, "y@b.test", NULL);
	default_params(&p, f->port);
	p.no_tls = true;
	run(&p, msgs, 1, f, &r);
	TEST_ASSERT(r.called && r.status == MTA_OK && !r.tls);
	TEST_ASSERT(f->error[0] == '\0');
	TEST_ASSERT(t.result[0] == MTA_RCPT_OK);
	free(r.text);
	tmsg_free(&t);
	fake_free(f);
}

/* The SPKI SHA-256 TLSA RDATA (usage 3 1 1) of the fixture certificate. */
static size_t
fixture_tlsa(uint8_t *rd)
{
	FILE *fp = fopen(CERT, "r");
	X509 *x = fp ? PEM_read_X509(fp, NULL, NULL, NULL) : NULL;
	unsigned char *der = NULL;
	unsigned int len = 0;
	int n;

	if (fp)
		fclose(fp);
	rd[0] = 3, rd[1] = 1, rd[2] = 1;
	if (x == NULL || (n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x),
	    &der)) <= 0 || EVP_Digest(der, (size_t)n, rd + 3, &len,
	    EVP_sha256(), NULL) != 1)
		abort();
	OPENSSL_free(der);
	X509_free(x);
	return 3 + len;
}

/* One session under policy pol against steps; r filled, t's result. */
static void
run_policy(const struct step *steps, const struct mta_tls_policy *pol,
    struct tmsg *t, struct result *r)
{
	static const char body[] = "hello\n";
	struct mta_msg *msgs[1] = { &t->m };
	struct mta_session_params p;
	struct fake *f = fake_start(steps);

	tmsg_init(t, "a@a.test", body, "y@b.test", NULL);
	default_params(&p, f->port);
	p.host_name = "mx.a.test";	/* the fixture certificate's name */
	p.tls_policy = pol;
	p.tls_required = mta_tls_policy_requires_tls(pol);
	run(&p, msgs, 1, f, r);
	if (f->error[0])
		r->status = -1;
	fake_free(f);
}

static void
test_tls_policy(void)
{
	static const struct step deliver[] = {
		GREET,
		{ "EHLO", "250-mx.b.test\r\n250 STARTTLS\r\n" },
		{ "STARTTLS\r\n", "TLS" },
		{ "EHLO mx.a.test\r\n", "250 mx.b.test\r\n" },
		{ "MAIL FROM:<a@a.test>\r\n", "250 ok\r\n" },
		{ "RCPT TO:<y@b.test>\r\n", "250 ok\r\n" },
		{ "DATA", "354 go\r\n" },
		{ ".", "250 ok\r\n" },
		QUIT, END,
	};
	/* refused after the handshake: QUIT over TLS, no EHLO, no MAIL */
	static const struct step refuse[] = {
		GREET,
		{ "EHLO", "250-mx.b.test\r\n250 STARTTLS\r\n" },
		{ "STARTTLS\r\n", "TLS" },
		QUIT, END,
	};
	static const struct step no_starttls[] = {
		GREET, EHLO_PLAIN, QUIT, END,
	};
	static const struct step bad[] = {
		GREET,
		{ "EHLO", "250-mx.b.test\r\n250 STARTTLS\r\n" },
		{ "STARTTLS\r\n", "BADTLS" }, END,
	};
	struct mta_tls_policy *pol;
	struct tmsg t;
	struct result r;
	uint8_t rd[3 + 32];

	TEST_ASSERT(server_ctx != NULL);
	/* DANE-EE matching the peer: delivered, verified */
	pol = mta_tls_policy_new(MTA_TLS_DANE, "b.test", "mx.a.test", NULL);
	TEST_ASSERT(mta_tls_policy_add_tlsa(pol, rd, fixture_tlsa(rd)));
	run_policy(deliver, pol, &t, &r);
	TEST_ASSERT(r.status == MTA_OK && r.tls && r.verified);
	TEST_ASSERT(t.result[0] == MTA_RCPT_OK);
	free(r.text);
	tmsg_free(&t);
	/* the same records, no STARTTLS offered: deferred, nothing sent */
	run_policy(no_starttls, pol, &t, &r);
	TEST_ASSERT(r.status == MTA_CONN_TEMP && !r.verified);
	TEST_ASSERT(starts(r.text, "4.7.5 TLS policy dane of host "
	    "mx.a.test[127.0.0.1] not met: starttls-not-supported"));
	TEST_ASSERT(t.result[0] == MTA_RCPT_UNTOUCHED);
	free(r.text);
	tmsg_free(&t);
	/* a failed handshake under DANE: 4.7.5 (the route never retries
	   it in clear) */
	run_policy(bad, pol, &t, &r);
	TEST_ASSERT(r.status == MTA_CONN_TEMP);
	TEST_ASSERT(starts(r.text, "4.7.5 TLS handshake failed with host "));
	free(r.text);
	tmsg_free(&t);
	mta_tls_policy_free(&pol);

	/* MTA-STS enforce, the certificate trusted through ca_file */
	pol = mta_tls_policy_new(MTA_TLS_STS_ENFORCE, "b.test", "mx.a.test",
	    CERT);
	pol->mx_listed = true;
	run_policy(deliver, pol, &t, &r);
	TEST_ASSERT(r.status == MTA_OK && r.verified);
	TEST_ASSERT(t.result[0] == MTA_RCPT_OK);
	free(r.text);
	tmsg_free(&t);
	mta_tls_policy_free(&pol);

	/* MTA-STS enforce, not trusted: deferred after the handshake */
	pol = mta_tls_policy_new(MTA_TLS_STS_ENFORCE, "b.test", "mx.a.test",
	    NULL);
	pol->mx_listed = true;
	run_policy(refuse, pol, &t, &r);
	TEST_ASSERT(r.status == MTA_CONN_TEMP && r.tls && !r.verified);
	TEST_ASSERT(starts(r.text, "4.7.5 TLS policy sts of host "
	    "mx.a.test[127.0.0.1] not met: certificate-not-trusted"));
	TEST_ASSERT(t.result[0] == MTA_RCPT_UNTOUCHED);
	free(r.text);
	tmsg_free(&t);
	/* testing mode: the same failure is only reported */
	pol->mode = MTA_TLS_STS_TESTING;
	run_policy(deliver, pol, &t, &r);
	TEST_ASSERT(r.status == MTA_OK && r.tls && !r.verified);
	TEST_ASSERT(t.result[0] == MTA_RCPT_OK);
	free(r.text);
	tmsg_free(&t);
	mta_tls_policy_free(&pol);
}

static void
test_large_message(void)
{
	static const struct step steps[] = {
		GREET,
		{ "EHLO", "250-mx.b.test\r\n250 PIPELINING\r\n" },
		{ "MAIL", NULL }, { "RCPT", NULL },
		{ "DATA", "250 ok\r\n250 ok\r\n354 go\r\n" },
		{ ".", "250 ok\r\n" },
		QUIT, END,
	};
	size_t n = 5 * 1000 * 1000, i;
	char *content = xmalloc(n + 1);
	struct fake *f = fake_start(steps);
	struct mta_session_params p;
	struct tmsg t;
	struct mta_msg *msgs[1] = { &t.m };
	struct result r;

	for (i = 0; i < n; i++)
		content[i] = i % 100 == 99 ? '\n' : (char)('a' + i % 26);
	tmsg_init(&t, "a@a.test", content, "y@b.test", NULL);
	default_params(&p, f->port);
	run(&p, msgs, 1, f, &r);
	TEST_ASSERT(r.called && r.status == MTA_OK);
	TEST_ASSERT(f->error[0] == '\0');
	TEST_ASSERT(t.result[0] == MTA_RCPT_OK);
	TEST_ASSERT(f->data.len == n + n / 100);
	free(r.text);
	tmsg_free(&t);
	fake_free(f);
	free(content);
}

/* A temp file holding junk, then content at offset 5: the body is sent
 * from the file through the worker pool, byte for byte as from memory;
 * a file shorter than announced ends the session without the end marker
 * and the recipient is tried again. */
static int
content_file(const char *content, size_t len)
{
	char path[] = "/tmp/tem-test-mta-file.XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0 || unlink(path) < 0 || write(fd, "junk\n", 5) != 5 ||
	    write(fd, content, len) != (ssize_t)len)
		log_fatal("content file: %s", strerror(errno));
	return fd;
}

static void
test_file_message(void)
{
	static const struct step steps[] = {
		GREET,
		{ "EHLO", "250-mx.b.test\r\n250 SIZE 100000000\r\n" },
		{ "MAIL FROM:<a@a.test> SIZE=3030000\r\n", "250 ok\r\n" },
		{ "RCPT", "250 ok\r\n" },
		{ "DATA", "354 go\r\n" },
		{ ".", "250 ok\r\n" },
		QUIT, END,
	};
	static const struct step cut[] = {
		GREET,
		{ "EHLO", "250 mx.b.test\r\n" },
		{ "MAIL", "250 ok\r\n" },
		{ "RCPT", "250 ok\r\n" },
		{ "DATA", "354 go\r\n" },
		END,
	};
	size_t n = 3 * 1000 * 1000, i;
	char *content = xmalloc(n + 1);
	struct fake *f = fake_start(steps);
	struct mta_session_params p;
	struct tmsg t;
	struct mta_msg *msgs[1] = { &t.m };
	struct result r;
	struct buf want;
	struct mta_data d;
	struct queue_content qc;

	for (i = 0; i < n; i++)
		content[i] = i % 100 == 99 ? '\n' : i % 100 == 0 ? '.' :
		    (char)('a' + i % 26);
	tmsg_init(&t, "a@a.test", "", "y@b.test", NULL);
	t.m.content = NULL;
	qc.fd = content_file(content, n);
	qc.off = 5;
	qc.len = n;
	t.m.file = &qc;
	t.m.len = n;
	t.m.wire = mta_data_wire_size(content, n);
	default_params(&p, f->port);
	run(&p, msgs, 1, f, &r);
	queue_content_close(&qc);
	TEST_ASSERT(r.called && r.status == MTA_OK);
	TEST_ASSERT(f->error[0] == '\0');
	TEST_ASSERT(t.result[0] == MTA_RCPT_OK);
	buf_init(&want, 0);
	mta_data_init(&d, content, n);
	mta_data_encode(&d, &want, n);
	/* the fake keeps the stream without its final "." line */
	TEST_ASSERT(f->data.len == want.len - 3 &&
	    memcmp(f->data.data, want.data, f->data.len) == 0);
	buf_free(&want);
	free(r.text);
	tmsg_free(&t);
	fake_free(f);

	/* the file is shorter than the message: no end marker is sent */
	f = fake_start(cut);
	tmsg_init(&t, "a@a.test", "", "y@b.test", NULL);
	t.m.content = NULL;
	qc.fd = content_file(content, n / 2);
	qc.off = 5;
	qc.len = n;
	t.m.file = &qc;
	t.m.len = n;
	t.m.wire = mta_data_wire_size(content, n);
	default_params(&p, f->port);
	run(&p, msgs, 1, f, &r);
	TEST_ASSERT(r.called && r.status == MTA_OK);
	TEST_ASSERT(t.result[0] == MTA_RCPT_TEMP);
	TEST_ASSERT(starts(t.text[0], "local read error"));
	TEST_ASSERT(f->data.len < n);
	queue_content_close(&qc);
	free(r.text);
	tmsg_free(&t);
	fake_free(f);
	free(content);
}

static void
tls_init(void)
{
	server_ctx = SSL_CTX_new(TLS_server_method());
	if (server_ctx == NULL ||
	    SSL_CTX_use_certificate_chain_file(server_ctx, CERT) != 1 ||
	    SSL_CTX_use_PrivateKey_file(server_ctx, KEY, SSL_FILETYPE_PEM)
	    != 1) {
		SSL_CTX_free(server_ctx);
		server_ctx = NULL;
		ERR_clear_error();
	}
}

int
main(void)
{
	log_init(getenv("TEST_VERBOSE") ? LOG_DEBUG : LOG_WARN);
	loop_global_init();
	loop = loop_new();
	tls_init();
	worker_pool_start(2);	/* bodies read from files */
	TEST_RUN(test_basic);
	TEST_RUN(test_pipelining_params);
	TEST_RUN(test_several_messages);
	TEST_RUN(test_helo_fallback_8bit);
	TEST_RUN(test_conn_failures);
	TEST_RUN(test_connect_refused);
	TEST_RUN(test_cut_off);
	TEST_RUN(test_data_refused_and_no_rcpt_354);
	TEST_RUN(test_bad_addresses);
	TEST_RUN(test_requiretls_unverified);
	TEST_RUN(test_starttls);
	TEST_RUN(test_tls_policy);
	TEST_RUN(test_reuse);
	TEST_RUN(test_reuse_close);
	TEST_RUN(test_requiretls_verified);
	TEST_RUN(test_large_message);
	TEST_RUN(test_file_message);
	worker_pool_stop();
	loop_free(&loop);
	SSL_CTX_free(server_ctx);
	return test_done("test-mta-session");
}
