/*
 * test-milter-talk - the codec against a real milter: a blocking MTA side
 * that plays one SMTP session through a filter and prints every reply, for
 * tests/integration/test_milter_codec.py, which runs it against a filter
 * written with pymilter (Debian's python3-milter, on sendmail's libmilter).
 *
 *   test-milter-talk talk SOCKET [CLIENT]
 *       connects to the unix socket, negotiates (version 6, every action
 *       and protocol flag offered), sends connect, helo, mail, two rcpts,
 *       data, two headers, eoh, a body chunk, eom and quit as milter_put_*
 *       encode them, honouring the filter's "no such event" and "no reply"
 *       flags, and prints one line per reply (below); exit 0 when every
 *       reply decoded, 1 at the first malformed one. CLIENT is the SMTP
 *       client the connect event names: "IPv4:PORT", "[IPv6]:PORT",
 *       "unix:PATH" or "unknown" (default 127.0.0.1:4567).
 *         STAGE REPLY [FIELD ...]   (fields escaped: \r \n \xHH)
 * With no arguments (make unit, tests/run.sh) it checks its own printing
 * and prints "test-milter-talk: N passed, N failed".
 *
 * Trust: test code.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "milter/milter_proto.h"
#include "util/buf.h"
#include "util/test.h"

struct talk {
	int		 fd;
	const char	*client;	/* CLIENT, see above */
	struct buf	 in, out;
	uint32_t	 protocol;	/* the filter's SMFIP_* */
};

/* s as one printable token */
static void
put_esc(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r')
			buf_puts(b, "\\r");
		else if (c == '\n')
			buf_puts(b, "\\n");
		else if (c == '\\')
			buf_puts(b, "\\\\");
		else if (c < 0x20 || c >= 0x7f)
			buf_printf(b, "\\x%02x", c);
		else
			buf_putc(b, (char)c);
	}
}

static void
field(struct buf *line, const char *s)
{
	buf_putc(line, ' ');
	put_esc(line, s, strlen(s));
}

/* One reply as a line. */
static void
reply_line(struct buf *line, char stage, const struct milter_reply *r)
{
	struct buf st, msg;
	const char *p, *list;
	size_t len;
	uint32_t symstage;
	int code;

	buf_printf(line, "%s %s", milter_cmd_name(stage),
	    milter_reply_name(r->code));
	switch (r->code) {
	case SMFIR_OPTNEG:
		buf_printf(line, " version=%u actions=0x%x protocol=0x%x",
		    r->version, r->actions, r->protocol);
		p = r->data;
		len = r->len;
		while (milter_optneg_symlist(&p, &len, &symstage, &list) == 1) {
			buf_printf(line, " symlist%u=", symstage);
			put_esc(line, list, strlen(list));
		}
		break;
	case SMFIR_REPLYCODE:
		buf_init(&st, 0);
		buf_init(&msg, 0);
		if (milter_replycode_parse(r->str1, &code, &st, &msg) == 0) {
			buf_printf(line, " %d", code);
			field(line, st.len ? buf_cstr(&st) : "-");
			field(line, buf_cstr(&msg));
		} else {
			buf_puts(line, " invalid");
			field(line, r->str1);
		}
		buf_free(&st);
		buf_free(&msg);
		break;
	case SMFIR_REPLBODY:
		buf_putc(line, ' ');
		put_esc(line, r->data, r->len);
		break;
	case SMFIR_INSHEADER: case SMFIR_CHGHEADER:
		buf_printf(line, " %u", r->index);
		/* fall through */
	default:
		if (r->str1 != NULL)
			field(line, r->str1);
		if (r->str2 != NULL)
			field(line, r->str2);
		break;
	}
	buf_putc(line, '\n');
}

static void
send_out(struct talk *t)
{
	size_t off = 0;
	ssize_t n;

	while (off < t->out.len) {
		n = write(t->fd, t->out.data + off, t->out.len - off);
		if (n <= 0) {
			perror("write");
			exit(1);
		}
		off += (size_t)n;
	}
	buf_reset(&t->out);
}

/* Reads one reply; exits at a malformed one or the end of the stream. */
static void
read_reply(struct talk *t, struct milter_reply *r, size_t *used)
{
	char chunk[4096];
	const char *err;
	ssize_t n;
	int rc;

	while ((rc = milter_get_reply(t->in.data, t->in.len, used, r, &err))
	    == 0) {
		n = read(t->fd, chunk, sizeof(chunk));
		if (n <= 0) {
			printf("error end of stream\n");
			exit(1);
		}
		buf_append(&t->in, chunk, (size_t)n);
	}
	if (rc < 0) {
		printf("error %s\n", err);
		exit(1);
	}
}

/* The replies to one command, up to its decision. */
static void
replies(struct talk *t, char stage)
{
	struct milter_reply r;
	struct buf line;
	size_t used;
	bool final = false;

	buf_init(&line, 0);
	while (!final) {
		read_reply(t, &r, &used);
		buf_reset(&line);
		reply_line(&line, stage, &r);
		fputs(buf_cstr(&line), stdout);
		final = strchr("+-2ehimbqpl", r.code) == NULL;
		buf_consume(&t->in, used);
	}
	buf_free(&line);
}

/* Sends what t->out holds unless the filter declined the event (no), and
   waits for the decision unless it said it sends none (nr). */
static void
event(struct talk *t, size_t cmd_at, char stage, uint32_t no, uint32_t nr)
{
	if (t->protocol & no)
		t->out.len = cmd_at;		/* the macros still go */
	send_out(t);
	if (!(t->protocol & (no | nr)))
		replies(t, stage);
}

static void
macros(struct talk *t, char stage, const char *const *kv, size_t n)
{
	milter_put_macros(&t->out, stage, kv, n);
}

static void
header(struct talk *t, const char *name, const char *value)
{
	size_t at = t->out.len;

	if (!(t->protocol & SMFIP_HDR_LEADSPC))
		value += strspn(value, " ");
	milter_put_header(&t->out, name, value);
	event(t, at, SMFIC_HEADER, SMFIP_NOHDRS, SMFIP_NR_HDR);
}

/* The connect event for t->client. */
static void
put_client(struct talk *t)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
	const char *c = t->client, *colon = strrchr(c, ':');
	char ip[64], host[68];

	memset(&ss, 0, sizeof(ss));
	if (strcmp(c, "unknown") == 0) {
		milter_put_connect(&t->out, "unknown", NULL);
		return;
	}
	if (strncmp(c, "unix:", 5) == 0) {
		sun->sun_family = AF_UNIX;
		snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", c + 5);
		milter_put_connect(&t->out, "localhost", (struct sockaddr *)sun);
		return;
	}
	if (colon == NULL || (size_t)(colon - c) >= sizeof(ip)) {
		fprintf(stderr, "bad CLIENT %s\n", c);
		exit(2);
	}
	snprintf(ip, sizeof(ip), "%.*s", (int)(colon - c), c);
	snprintf(host, sizeof(host), ip[0] == '[' ? "%s" : "[%s]", ip);
	if (ip[0] == '[') {
		ip[strlen(ip) - 1] = '\0';
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)atoi(colon + 1));
		if (inet_pton(AF_INET6, ip + 1, &sin6->sin6_addr) != 1)
			exit(2);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)atoi(colon + 1));
		if (inet_pton(AF_INET, ip, &sin->sin_addr) != 1)
			exit(2);
	}
	milter_put_connect(&t->out, host, (struct sockaddr *)&ss);
}

static void
session(struct talk *t)
{
	static const char *const mail[] = { "<a@b.test>", "SIZE=100",
	    "BODY=8BITMIME" };
	static const char *const rcpt1[] = { "<c@d.test>", "NOTIFY=NEVER" };
	static const char *const rcpt2[] = { "<spam@d.test>" };
	struct milter_reply r;
	size_t at, used;

	milter_put_optneg(&t->out, MILTER_VERSION, MILTER_ACTIONS_ALL,
	    MILTER_PROTO_ALL);
	send_out(t);
	read_reply(t, &r, &used);
	{
		struct buf line;

		buf_init(&line, 0);
		reply_line(&line, SMFIC_OPTNEG, &r);
		fputs(buf_cstr(&line), stdout);
		buf_free(&line);
	}
	if (r.code != SMFIR_OPTNEG)
		exit(1);
	t->protocol = r.protocol;
	buf_consume(&t->in, used);

	macros(t, SMFIC_CONNECT, (const char *const[]){ "j", "mx.a.test",
	    "{daemon_name}", "tem" }, 2);
	at = t->out.len;
	put_client(t);
	event(t, at, SMFIC_CONNECT, SMFIP_NOCONNECT, SMFIP_NR_CONN);

	at = t->out.len;
	milter_put_helo(&t->out, "client.b.test");
	event(t, at, SMFIC_HELO, SMFIP_NOHELO, SMFIP_NR_HELO);

	macros(t, SMFIC_MAIL, (const char *const[]){ "{mail_addr}",
	    "a@b.test", "i", "Q123" }, 2);
	at = t->out.len;
	milter_put_mail(&t->out, mail, 3);
	event(t, at, SMFIC_MAIL, SMFIP_NOMAIL, SMFIP_NR_MAIL);
	at = t->out.len;
	milter_put_rcpt(&t->out, rcpt1, 2);
	event(t, at, SMFIC_RCPT, SMFIP_NORCPT, SMFIP_NR_RCPT);
	at = t->out.len;
	milter_put_rcpt(&t->out, rcpt2, 1);
	event(t, at, SMFIC_RCPT, SMFIP_NORCPT, SMFIP_NR_RCPT);

	at = t->out.len;
	milter_put_simple(&t->out, SMFIC_DATA);
	event(t, at, SMFIC_DATA, SMFIP_NODATA, SMFIP_NR_DATA);
	header(t, "Subject", " hello");
	header(t, "X-Gone", " bye");
	at = t->out.len;
	milter_put_simple(&t->out, SMFIC_EOH);
	event(t, at, SMFIC_EOH, SMFIP_NOEOH, SMFIP_NR_EOH);
	at = t->out.len;
	milter_put_body(&t->out, "line 1\r\nline 2\r\n", 16);
	event(t, at, SMFIC_BODY, SMFIP_NOBODY, SMFIP_NR_BODY);
	macros(t, SMFIC_BODYEOB, (const char *const[]){ "i", "Q123" }, 1);
	milter_put_simple(&t->out, SMFIC_BODYEOB);
	send_out(t);
	replies(t, SMFIC_BODYEOB);
	milter_put_simple(&t->out, SMFIC_QUIT);
	send_out(t);
}

static int
talk(const char *path, const char *client)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 20 };
	struct talk t = { .fd = socket(AF_UNIX, SOCK_STREAM, 0),
	    .client = client };

	if (strlen(path) >= sizeof(sun.sun_path))
		return 2;
	strcpy(sun.sun_path, path);
	if (t.fd < 0 || connect(t.fd, (struct sockaddr *)&sun,
	    sizeof(sun)) != 0) {
		perror("connect");
		return 1;
	}
	setsockopt(t.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	buf_init(&t.in, 0);
	buf_init(&t.out, 0);
	session(&t);
	buf_free(&t.in);
	buf_free(&t.out);
	close(t.fd);
	return 0;
}

/* --- the self-check (no arguments) -------------------------------------- */

static void
expect_line(const char *pkt, size_t n, char stage, const char *want)
{
	struct milter_reply r;
	struct buf line;
	const char *err;
	size_t used;

	buf_init(&line, 0);
	TEST_ASSERT(milter_get_reply(pkt, n, &used, &r, &err) == 1);
	reply_line(&line, stage, &r);
	TEST_ASSERT_STREQ(buf_cstr(&line), want);
	buf_free(&line);
}

static void
test_lines(void)
{
	expect_line("\0\0\0\x01" "c", 5, SMFIC_CONNECT, "connect continue\n");
	expect_line("\0\0\0\x1a" "y" "550-5.7.1 a\r\n550 5.7.1 b\0", 30,
	    SMFIC_RCPT, "rcpt replycode 550 5.7.1 a\\r\\nb\n");
	expect_line("\0\0\0\x07" "b" "x\r\n\x01\\\0", 11, SMFIC_BODYEOB,
	    "eom replbody x\\r\\n\\x01\\\\\\x00\n");
	expect_line("\0\0\0\x0b" "m" "\0\0\0\x02" "X\0" "a b\0", 15,
	    SMFIC_BODYEOB, "eom chgheader 2 X a b\n");
}

int
main(int argc, char **argv)
{
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "talk") == 0)
		return talk(argv[2], argc == 4 ? argv[3] : "127.0.0.1:4567");
	if (argc != 1) {
		fprintf(stderr, "usage: test-milter-talk [talk SOCKET [CLIENT]]\n");
		return 2;
	}
	TEST_RUN(test_lines);
	return test_done("test-milter-talk");
}
