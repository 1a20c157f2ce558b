/*
 * test-milter-conn - one filter connection held to the protocol: a fake
 * filter (a blocking thread on a unix socket) plays a script, and the
 * connection must negotiate, pass final replies and negotiated
 * modifications on, let PROGRESS extend the wait, and fail once with the
 * right reason for a refused connect, a bad negotiation, a reply nobody
 * asked for, an action not negotiated, garbage, silence past the
 * timeout and a close.
 *
 * Trust: test code.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "milter/milter_conn.h"
#include "util/loop.h"
#include "util/test.h"

/* What the fake filter does after reading the client's OPTNEG. */
enum script {
	S_CONTINUE,	/* negotiates; answers one command: progress, continue */
	S_BADVER,	/* negotiates version 9 */
	S_UNASKED,	/* sends continue right after the negotiation */
	S_NOTNEG,	/* negotiates no action, answers with ADDHEADER */
	S_GARBAGE,	/* answers the command with no packet at all */
	S_SILENT,	/* never answers the command */
	S_CLOSE,	/* closes after reading the command */
};

struct fake {
	int		 lfd;
	enum script	 script;
	char		 path[108];
};

struct result {
	struct loop	*loop;
	struct milter_conn *c;
	int		 replies;
	char		 codes[16];
	const char	*err;
	bool		 negotiated;
	bool		 quiet;		/* sends nothing after negotiating */
};

static int
read_exact(int fd, char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Reads one packet; its command, or 0 at EOF. */
static char
read_packet(int fd)
{
	char head[5], body[4096];
	uint32_t len;

	if (read_exact(fd, head, 5) < 0)
		return 0;
	memcpy(&len, head, 4);
	len = ntohl(len);
	if (len > 1 && len - 1 <= sizeof(body) &&
	    read_exact(fd, body, len - 1) < 0)
		return 0;
	return head[4];
}

static void
send_packet(int fd, char cmd, const void *data, size_t n)
{
	char buf[256];
	uint32_t len = htonl((uint32_t)n + 1);

	memcpy(buf, &len, 4);
	buf[4] = cmd;
	if (n > 0)
		memcpy(buf + 5, data, n);
	if (write(fd, buf, n + 5) < 0)
		perror("write");
}

static void
send_optneg(int fd, uint32_t version, uint32_t actions)
{
	uint32_t v[3] = { htonl(version), htonl(actions), htonl(0) };

	send_packet(fd, SMFIR_OPTNEG, v, sizeof(v));
}

static void *
fake_run(void *arg)
{
	struct fake *f = arg;
	int fd = accept(f->lfd, NULL, NULL);

	if (fd < 0 || read_packet(fd) != SMFIC_OPTNEG)
		goto out;
	switch (f->script) {
	case S_BADVER:
		send_optneg(fd, 9, 0);
		break;
	case S_UNASKED:
		send_optneg(fd, 6, 0);
		send_packet(fd, SMFIR_CONTINUE, NULL, 0);
		goto drain;
	default:
		send_optneg(fd, 6, f->script == S_NOTNEG ? 0 : SMFIF_ADDHDRS);
		break;
	}
	if (read_packet(fd) == 0)
		goto out;
	switch (f->script) {
	case S_CONTINUE:
		send_packet(fd, SMFIR_ADDHEADER, "X-A\0b", 6);
		send_packet(fd, SMFIR_PROGRESS, NULL, 0);
		usleep(1200 * 1000);	/* past the 2 s timeout without it */
		send_packet(fd, SMFIR_PROGRESS, NULL, 0);
		usleep(1200 * 1000);
		send_packet(fd, SMFIR_CONTINUE, NULL, 0);
		break;
	case S_NOTNEG:
		send_packet(fd, SMFIR_ADDHEADER, "X-A\0b", 6);
		break;
	case S_GARBAGE:
		if (write(fd, "\0\0\0\0zzzz", 8) < 0)
			perror("write");
		break;
	case S_CLOSE:
		goto out;
	default:
		break;
	}
drain:
	while (read_packet(fd) != 0)	/* until the client closes */
		;
out:
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void
on_reply(void *arg, const struct milter_reply *r, const char *err)
{
	struct result *res = arg;
	struct buf pkt;

	if (r == NULL) {
		res->err = err;
		loop_break(res->loop);
		return;
	}
	if (r->code == SMFIR_OPTNEG) {
		res->negotiated = true;
		if (res->quiet)
			return;
		buf_init(&pkt, 0);
		milter_put_simple(&pkt, SMFIC_BODYEOB);
		milter_conn_send(res->c, &pkt, 2);
		buf_free(&pkt);
		return;
	}
	if (res->replies < 15)
		res->codes[res->replies++] = r->code;
	if (milter_reply_final(r->code))
		loop_break(res->loop);
}

/* Runs one script; the result in *res. listen: false = nobody there. */
static void
run(enum script script, bool listen_too, struct result *res)
{
	struct fake f;
	struct sockaddr_un sun;
	pthread_t th;

	memset(&f, 0, sizeof(f));
	memset(res, 0, sizeof(*res));
	/* a reply that comes before any command (not one sent after ours,
	 * which no MTA can tell from an answer) */
	res->quiet = script == S_UNASKED;
	f.script = script;
	snprintf(f.path, sizeof(f.path), "/tmp/test-milter-conn.%d.sock",
	    (int)getpid());
	unlink(f.path);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, f.path);
	if (listen_too) {
		f.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
		TEST_ASSERT(bind(f.lfd, (struct sockaddr *)&sun,
		    sizeof(sun)) == 0);
		TEST_ASSERT(listen(f.lfd, 1) == 0);
		pthread_create(&th, NULL, fake_run, &f);
	}
	res->loop = loop_new();
	res->c = milter_conn_open(res->loop, (struct sockaddr *)&sun,
	    sizeof(sun), 3, 2, on_reply, res);
	loop_run(res->loop);
	milter_conn_free(&res->c);
	loop_free(&res->loop);
	if (listen_too) {
		pthread_join(th, NULL);
		close(f.lfd);
	}
	unlink(f.path);
}

static void
test_continue_with_progress(void)
{
	struct result r;

	run(S_CONTINUE, true, &r);
	TEST_ASSERT(r.negotiated);
	TEST_ASSERT(r.err == NULL);
	/* the modification, then the final reply; progress is no reply */
	TEST_ASSERT(r.replies == 2);
	TEST_ASSERT(r.codes[0] == SMFIR_ADDHEADER);
	TEST_ASSERT(r.codes[1] == SMFIR_CONTINUE);
}

static void
test_failures(void)
{
	static const struct {
		enum script	 s;
		bool		 listen;
		const char	*why;
	} cases[] = {
		{ S_CONTINUE, false, "connection refused" },
		{ S_BADVER, true, "bad option negotiation" },
		{ S_UNASKED, true, "reply nobody asked for" },
		{ S_NOTNEG, true, "action not negotiated" },
		{ S_SILENT, true, "reply timeout" },
		{ S_CLOSE, true, "closed by the filter" },
	};
	struct result r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run(cases[i].s, cases[i].listen, &r);
		if (r.err == NULL || strcmp(r.err, cases[i].why) != 0)
			fprintf(stderr, "  case %zu: got %s want %s\n", i,
			    r.err ? r.err : "(none)", cases[i].why);
		TEST_ASSERT(r.err && strcmp(r.err, cases[i].why) == 0);
		TEST_ASSERT(r.replies == 0);
	}
	/* garbage: the decoder's own reason, and no reply passed on */
	run(S_GARBAGE, true, &r);
	TEST_ASSERT(r.err != NULL && r.replies == 0);
}

int
main(void)
{
	loop_global_init();
	TEST_RUN(test_continue_with_progress);
	TEST_RUN(test_failures);
	return test_done("test-milter-conn");
}
