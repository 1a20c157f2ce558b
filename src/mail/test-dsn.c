/*
 * test-dsn - DSN building: golden files tests/data/dsn/NAME.in ->
 * NAME.ref, status extraction, and structural checks (the null sender
 * gets nothing, line lengths, boundaries, no header injection).
 *
 * The .in format: "key: value" lines (hostname, sender, envid, ret
 * full|hdrs, arrival, now, message_id, boundary, smtputf8 yes, full_max,
 * queue_id), then per recipient "rcpt: ADDR" followed by its own keys
 * (action, orcpt, status, reason, diagnostic, remote, last, retry), then a
 * line "---" and the original message verbatim to the end of the file.
 * Values may use "\r", "\n", "\t", "\xHH" and "\\" escapes.
 *
 * Run from the repository root (tests/run.sh does). TEM_DSN_REGEN=1
 * rewrites the .ref files instead of comparing.
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/dsn.h"
#include "util/buf.h"
#include "util/hex.h"
#include "util/test.h"
#include "util/xmalloc.h"

#define DSN_DIR		"tests/data/dsn"
#define MAX_RCPTS	16

struct dsn_case {
	struct dsn_params	 p;
	struct dsn_rcpt		 r[MAX_RCPTS];
	char			*strings[256];	/* to free */
	int			 nstrings;
};

static char *
read_file(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char tmp[4096];
	size_t n;

	if (f == NULL)
		return NULL;
	buf_init(&b, 0);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_append(&b, tmp, n);
	fclose(f);
	return buf_steal(&b, len_r);
}

static int
hexval(char c)
{
	int v = hex_value(c);

	return v < 0 ? 0 : v;
}

/* A copy of s[0..len) with the escapes resolved, kept in c. */
static const char *
unescape(struct dsn_case *c, const char *s, size_t len)
{
	struct buf b;
	size_t i;
	char *out;

	buf_init(&b, 0);
	for (i = 0; i < len; i++) {
		if (s[i] != '\\' || i + 1 == len) {
			buf_putc(&b, s[i]);
			continue;
		}
		switch (s[++i]) {
		case 'r':
			buf_putc(&b, '\r');
			break;
		case 'n':
			buf_putc(&b, '\n');
			break;
		case 't':
			buf_putc(&b, '\t');
			break;
		case 'x':
			if (i + 2 < len) {
				buf_putc(&b, (char)(hexval(s[i + 1]) * 16 +
				    hexval(s[i + 2])));
				i += 2;
			}
			break;
		default:
			buf_putc(&b, s[i]);
		}
	}
	out = buf_steal(&b, NULL);
	if (out == NULL)
		out = xstrdup("");
	if (c->nstrings < 256)
		c->strings[c->nstrings++] = out;
	return out;
}

static enum dsn_action
parse_action(const char *v)
{
	if (strcmp(v, "delayed") == 0)
		return DSN_ACTION_DELAYED;
	if (strcmp(v, "delivered") == 0)
		return DSN_ACTION_DELIVERED;
	if (strcmp(v, "relayed") == 0)
		return DSN_ACTION_RELAYED;
	if (strcmp(v, "expanded") == 0)
		return DSN_ACTION_EXPANDED;
	return DSN_ACTION_FAILED;
}

static bool
set_param(struct dsn_case *c, const char *k, const char *v)
{
	struct dsn_params *p = &c->p;
	struct dsn_rcpt *r = p->nrcpt > 0 ? &c->r[p->nrcpt - 1] : NULL;

	if (strcmp(k, "rcpt") == 0) {
		if (p->nrcpt == MAX_RCPTS)
			return false;
		c->r[p->nrcpt++].addr = v;
	} else if (strcmp(k, "hostname") == 0)
		p->hostname = v;
	else if (strcmp(k, "sender") == 0)
		p->sender = v;
	else if (strcmp(k, "envid") == 0)
		p->envid = v;
	else if (strcmp(k, "ret") == 0)
		p->ret = strcmp(v, "hdrs") == 0 ? DSN_RET_HDRS : DSN_RET_FULL;
	else if (strcmp(k, "arrival") == 0)
		p->arrival = (time_t)strtoll(v, NULL, 10);
	else if (strcmp(k, "now") == 0)
		p->now = (time_t)strtoll(v, NULL, 10);
	else if (strcmp(k, "message_id") == 0)
		p->message_id = v;
	else if (strcmp(k, "boundary") == 0)
		p->boundary = v;
	else if (strcmp(k, "smtputf8") == 0)
		p->smtputf8 = strcmp(v, "yes") == 0;
	else if (strcmp(k, "full_max") == 0)
		p->full_max = strtoul(v, NULL, 10);
	else if (strcmp(k, "queue_id") == 0)
		p->queue_id = v;
	else if (r == NULL)
		return false;
	else if (strcmp(k, "action") == 0)
		r->action = parse_action(v);
	else if (strcmp(k, "orcpt") == 0)
		r->orcpt = v;
	else if (strcmp(k, "status") == 0)
		r->status = v;
	else if (strcmp(k, "reason") == 0)
		r->reason = v;
	else if (strcmp(k, "diagnostic") == 0)
		r->diagnostic = v;
	else if (strcmp(k, "remote") == 0)
		r->remote_mta = v;
	else if (strcmp(k, "last") == 0)
		r->last_attempt = (time_t)strtoll(v, NULL, 10);
	else if (strcmp(k, "retry") == 0)
		r->retry_until = (time_t)strtoll(v, NULL, 10);
	else
		return false;
	return true;
}

/* Parses an .in file held in data; false on a syntax error. */
static bool
parse_case(struct dsn_case *c, const char *data, size_t len)
{
	const char *s = data, *e = data + len, *nl, *colon;

	memset(c, 0, sizeof(*c));
	c->p.rcpts = c->r;
	while (s < e) {
		nl = memchr(s, '\n', (size_t)(e - s));
		if (nl == NULL)
			nl = e;
		if (nl - s == 3 && memcmp(s, "---", 3) == 0) {
			c->p.content = nl < e ? nl + 1 : e;
			c->p.len = (size_t)(e - c->p.content);
			return true;
		}
		if (nl > s && *s != '#') {
			colon = memchr(s, ':', (size_t)(nl - s));
			if (colon == NULL)
				return false;
			{
				const char *k = unescape(c, s,
				    (size_t)(colon - s));
				const char *v = colon + 1;

				while (v < nl && *v == ' ')
					v++;
				if (!set_param(c, k, unescape(c, v,
				    (size_t)(nl - v))))
					return false;
			}
		}
		s = nl + 1;
	}
	return false;	/* no "---" */
}

static void
free_case(struct dsn_case *c)
{
	for (int i = 0; i < c->nstrings; i++)
		free(c->strings[i]);
}

static int
run_golden(const char *name, bool regen)
{
	char in_path[512], ref_path[512];
	struct dsn_case c;
	char *in, *ref, *out;
	size_t in_len, ref_len, out_len;
	int failed = 0;
	FILE *f;

	snprintf(in_path, sizeof(in_path), "%s/%s.in", DSN_DIR, name);
	snprintf(ref_path, sizeof(ref_path), "%s/%s.ref", DSN_DIR, name);
	in = read_file(in_path, &in_len);
	if (in == NULL || !parse_case(&c, in, in_len)) {
		fprintf(stderr, "  %s: cannot read or parse\n", in_path);
		free(in);
		return 1;
	}
	out = dsn_build(&c.p, &out_len);
	if (out == NULL) {
		/* a case may expect no report: then its .ref is empty */
		out = xstrdup("");
		out_len = 0;
	}
	if (regen) {
		f = fopen(ref_path, "wb");
		if (f == NULL || fwrite(out, 1, out_len, f) != out_len)
			failed = 1;
		if (f)
			fclose(f);
	} else {
		ref = read_file(ref_path, &ref_len);
		if (ref == NULL || ref_len != out_len ||
		    memcmp(ref, out, out_len) != 0) {
			fprintf(stderr, "  %s differs from the output; "
			    "got:\n%s\n", ref_path, out);
			failed = 1;
		}
		free(ref);
	}
	free(out);
	free_case(&c);
	free(in);
	return failed;
}

static void
test_golden(void)
{
	DIR *d = opendir(DSN_DIR);
	struct dirent *de;
	bool regen = getenv("TEM_DSN_REGEN") != NULL;
	int n = 0, failed = 0;
	size_t l;

	if (d == NULL)
		fprintf(stderr, "  %s: not found (run from the repository "
		    "root)\n", DSN_DIR);
	TEST_ASSERT(d != NULL);
	while ((de = readdir(d)) != NULL) {
		char name[256];

		l = strlen(de->d_name);
		if (l < 4 || l >= sizeof(name) ||
		    strcmp(de->d_name + l - 3, ".in") != 0)
			continue;
		memcpy(name, de->d_name, l - 3);
		name[l - 3] = '\0';
		failed += run_golden(name, regen);
		n++;
	}
	closedir(d);
	TEST_ASSERT(n >= 5);
	TEST_ASSERT(failed == 0);
}

static void
check_status(const char *text, int want_ret, const char *want, int *ok)
{
	char st[16];
	int ret = dsn_status_from_reply(text, st);

	*ok = ret == want_ret && strcmp(st, want) == 0;
	if (!*ok)
		fprintf(stderr, "  status(%s) = %d \"%s\", want %d \"%s\"\n",
		    text ? text : "(null)", ret, st, want_ret, want);
}

/* A report built from the first full_max bytes of a message (as the
 * engine reads them from the queue file) is the report built from the
 * whole message; a header longer than the part given is cut at a line. */
static void
test_prefix(void)
{
	struct dsn_rcpt r = { .addr = "bob@b.test", .action = DSN_ACTION_FAILED,
	    .reason = "5.1.1 no such user" };
	struct dsn_params p = { .hostname = "mx.a.test", .sender =
	    "alice@a.test", .rcpts = &r, .nrcpt = 1, .now = 1700000000,
	    .message_id = "x@mx.a.test", .boundary = "=_b" };
	size_t n = 3 * DSN_FULL_MAX, l1, l2;
	char *msg = xmalloc(n), *whole, *part;

	memset(msg, 'x', n);
	memcpy(msg, "Subject: big\nFrom: a@a.test\n\n", 30);
	for (size_t i = 100; i < n; i += 100)
		msg[i] = '\n';
	p.content = msg;
	p.len = n;
	whole = dsn_build(&p, &l1);
	p.len = DSN_FULL_MAX;
	p.total = n;
	part = dsn_build(&p, &l2);
	TEST_ASSERT(whole && part && l1 == l2 && memcmp(whole, part, l1) == 0);
	TEST_ASSERT(strstr(part, "Subject: big\nFrom: a@a.test\n\n--=_b--")
	    != NULL);
	free(whole);
	free(part);
	/* a header without end in the part: whole lines of it only */
	memcpy(msg, "Subject: big\nX-Long: ", 21);
	memset(msg + 21, 'y', DSN_FULL_MAX);
	msg[21 + 500] = '\n';
	part = dsn_build(&p, &l2);
	TEST_ASSERT(part != NULL);
	TEST_ASSERT(strstr(part, "text/rfc822-headers") != NULL);
	TEST_ASSERT(l2 < DSN_FULL_MAX && strstr(part, "yyy\n\n--=_b--"));
	free(part);
	free(msg);
}

static void
test_status(void)
{
	static const struct {
		const char	*text;
		int		 ret;
		const char	*status;
	} cases[] = {
		{ "550 5.1.1 user unknown", 5, "5.1.1" },
		{ "550-5.1.1 user unknown", 5, "5.1.1" },
		{ "550 user unknown", 5, "5.0.0" },
		{ "550", 5, "5.0.0" },
		{ "451 4.7.1 greylisted", 4, "4.7.1" },
		{ "451 greylisted", 4, "4.0.0" },
		{ "452 5.2.2 class mismatch", 4, "4.0.0" },
		{ "250 2.0.0 Ok: queued", 2, "2.0.0" },
		{ "250 Ok", 2, "2.0.0" },
		{ "host mx.b.test[192.0.2.1] said: 550 5.1.1 <x@b.test>: user "
		  "unknown (in reply to RCPT TO command)", 5, "5.1.1" },
		{ "host mx.b.test[192.0.2.1] said: 421 closing (in reply to "
		  "MAIL FROM command)", 4, "4.0.0" },
		{ "5.3.4 message size 100 exceeds size limit 10 of host x", 5,
		  "5.3.4" },
		{ "4.4.1 connect to host x: timed out", 4, "4.4.1" },
		{ "5.1.10", 5, "5.1.10" },
		{ "5.1.1000 x", -1, "" },
		{ "3.1.1 x", -1, "" },
		{ "lost connection with host x while sending DATA", -1, "" },
		{ "550x 5.1.1", -1, "" },
		{ "5500 5.1.1", -1, "" },
		{ "", -1, "" },
		{ NULL, -1, "" },
		{ "host x said: ", -1, "" },
		{ "550 5.1.1x", 5, "5.0.0" },
		{ "550 5.1.", 5, "5.0.0" },
	};
	int ok;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		check_status(cases[i].text, cases[i].ret, cases[i].status, &ok);
		TEST_ASSERT(ok);
	}
}

static const struct dsn_rcpt basic_rcpt = {
	.addr = "bob@b.test",
	.action = DSN_ACTION_FAILED,
	.reason = "host mx.b.test[192.0.2.1] said: 550 5.1.1 no such user "
	    "(in reply to RCPT TO command)",
};

static void
test_null_sender(void)
{
	struct dsn_params p = {
		.hostname = "mx.a.test", .sender = "", .rcpts = &basic_rcpt,
		.nrcpt = 1, .content = "Subject: x\n\nhi\n", .len = 15,
	};
	size_t len = 99;

	TEST_ASSERT(dsn_build(&p, &len) == NULL && len == 0);
	p.sender = NULL;
	TEST_ASSERT(dsn_build(&p, &len) == NULL);
	p.sender = "alice@a.test";
	p.nrcpt = 0;
	TEST_ASSERT(dsn_build(&p, &len) == NULL);
}

/* Every line is below 998 octets; headers hold no bare CR. */
static void
check_lines(const char *s, size_t len, int *ok)
{
	size_t col = 0;

	*ok = 1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n') {
			col = 0;
			continue;
		}
		if (s[i] == '\0' || ++col > 998)
			*ok = 0;
	}
}

static size_t
count(const char *hay, size_t len, const char *needle)
{
	size_t n = 0, nl = strlen(needle);
	const char *p = hay, *e = hay + len;

	while ((p = memmem(p, (size_t)(e - p), needle, nl)) != NULL) {
		n++;
		p += nl;
	}
	return n;
}

static void
test_random_ids_and_injection(void)
{
	static const char content[] = "From: a@a.test\nSubject: x\n\n"
	    "--=_tem_ looks like ours\n";
	struct dsn_rcpt r = basic_rcpt;
	struct dsn_params p = {
		.hostname = "mx.a.test", .sender = "alice@a.test", .rcpts = &r,
		.nrcpt = 1, .content = content, .len = sizeof(content) - 1,
		.envid = "X+0D+0ABcc:+20evil@x.test",
	};
	char *out, *hdr_end, boundary[128], *b;
	size_t len;
	int ok;

	r.reason = "host mx.b.test[192.0.2.1] said: 550 5.1.1 a\r\nX-Evil: "
	    "yes\n\nbody";
	r.orcpt = "rfc822;bob+0D+0AX-Evil:+20yes@b.test";
	out = dsn_build(&p, &len);
	TEST_ASSERT(out != NULL && strlen(out) == len);
	check_lines(out, len, &ok);
	TEST_ASSERT(ok);
	/* no injected field starts a line */
	TEST_ASSERT(strstr(out, "\nX-Evil") == NULL);
	TEST_ASSERT(strstr(out, "\nBcc") == NULL);
	TEST_ASSERT(strstr(out, "\r") == NULL);
	/* a random boundary, used exactly 3 + 1 times */
	b = strstr(out, "boundary=\"");
	TEST_ASSERT(b != NULL);
	b += 10;
	TEST_ASSERT(strcspn(b, "\"") < sizeof(boundary) - 3);
	snprintf(boundary, sizeof(boundary), "--%.*s", (int)strcspn(b, "\""),
	    b);
	TEST_ASSERT(count(out, len, boundary) == 4);
	TEST_ASSERT(strncmp(boundary, "--=_tem_", 8) == 0);
	TEST_ASSERT(strlen(boundary) == 2 + 6 + 16);
	TEST_ASSERT(strstr(out, "Message-ID: <") != NULL);
	TEST_ASSERT(strstr(out, ".dsn@mx.a.test>\n") != NULL);
	hdr_end = strstr(out, "\n\n");
	TEST_ASSERT(hdr_end != NULL);
	TEST_ASSERT(memmem(out, (size_t)(hdr_end - out), "Auto-Submitted: "
	    "auto-replied\n", 29) != NULL);
	free(out);
}

int
main(void)
{
	TEST_RUN(test_golden);
	TEST_RUN(test_status);
	TEST_RUN(test_prefix);
	TEST_RUN(test_null_sender);
	TEST_RUN(test_random_ids_and_injection);
	return test_done("test-dsn");
}
