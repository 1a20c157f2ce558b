/*
 * test-sieve-notice - unit tests for msg/sieve_notice.c (and the
 * mail/mime_encode.c it writes with): each built message is parsed back
 * with mail/rfc5322 and mail/mime: the fields are there with the right
 * values, the MIME structure is what it claims, encoded subjects and
 * quoted-printable bodies decode to the text given, no CR/LF in a
 * :subject, :from, reason or error adds a field, long values are folded
 * within 78 columns, and bad arguments give NULL.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/mime.h"
#include "mail/mime_encode.h"
#include "mail/rfc5322.h"
#include "msg/sieve_notice.h"
#include "sieve/sieve.h"
#include "util/buf.h"
#include "util/test.h"

#define NOW	1796000000	/* 2026-11-30 */

/* The decoded value of field name of msg, in a static buffer ("" none). */
static const char *
field(const char *msg, size_t len, const char *name, bool decode)
{
	static struct buf b;
	struct rfc5322_field f;

	buf_free(&b);
	buf_init(&b, 0);
	if (rfc5322_find(msg, len, name, &f) != 1)
		return NULL;
	if (decode)
		rfc5322_decode(f.value, f.value_len, &b);
	else
		rfc5322_unfold(f.value, f.value_len, &b);
	buf_putc(&b, '\0');
	return b.data;
}

/* How many fields of the header are named name. */
static int
count_fields(const char *msg, size_t len, const char *name)
{
	struct rfc5322_iter it;
	struct rfc5322_field f;
	int n = 0;

	rfc5322_iter_init(&it, msg, len);
	while (rfc5322_iter_next(&it, &f) == 1)
		n += rfc5322_field_is(&f, name);
	return n;
}

/* Every line of the message is at most max octets, none has a CR, and
 * every header line is a field or a continuation. */
static bool
lines_ok(const char *msg, size_t len, size_t max)
{
	size_t hlen = rfc5322_body_offset(msg, len), start = 0;

	if (memchr(msg, '\r', len) != NULL)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (msg[i] != '\n')
			continue;
		if (i - start > max)
			return false;
		if (start < hlen && i > start && msg[start] != ' ' &&
		    msg[start] != '\t' && memchr(msg + start, ':',
		    i - start) == NULL)
			return false;
		start = i + 1;
	}
	return start == len;
}

static struct sieve_action
vacation(void)
{
	struct sieve_action a;

	memset(&a, 0, sizeof(a));
	a.type = SIEVE_VACATION;
	a.address = (char *)"sender@b.test";
	a.subject = (char *)"Auto: hello";
	a.text = (char *)"I am away until Monday.\nBack soon.\n";
	a.in_reply_to = (char *)"<m1@b.test>";
	a.references = (char *)"<m0@b.test> <m1@b.test>";
	a.seconds = 7 * 86400;
	return a;
}

static void
test_vacation_fields(void)
{
	struct sieve_action a = vacation();
	size_t len;
	char *m = sieve_notice_vacation(&a, "bob@a.test", "mx.a.test", NOW,
	    &len);
	struct mime_msg *mm;

	TEST_ASSERT(m != NULL && len == strlen(m));
	TEST_ASSERT(lines_ok(m, len, 78));
	TEST_ASSERT_STREQ(field(m, len, "From", false), "<bob@a.test>");
	TEST_ASSERT_STREQ(field(m, len, "To", false), "<sender@b.test>");
	TEST_ASSERT_STREQ(field(m, len, "Subject", true), "Auto: hello");
	TEST_ASSERT_STREQ(field(m, len, "In-Reply-To", false), "<m1@b.test>");
	TEST_ASSERT_STREQ(field(m, len, "References", false),
	    "<m0@b.test> <m1@b.test>");
	TEST_ASSERT_STREQ(field(m, len, "Auto-Submitted", false),
	    "auto-replied");
	TEST_ASSERT_STREQ(field(m, len, "Date", false),
	    "Mon, 30 Nov 2026 00:53:20 +0000");
	TEST_ASSERT(strstr(field(m, len, "Message-ID", false),
	    "@mx.a.test>") != NULL);
	TEST_ASSERT_STREQ(field(m, len, "MIME-Version", false), "1.0");
	mm = mime_parse(m, len);
	TEST_ASSERT(mm != NULL);
	TEST_ASSERT_STREQ(mm->root->type, "text");
	TEST_ASSERT_STREQ(mm->root->subtype, "plain");
	TEST_ASSERT_STREQ(mime_param_get(mm->root->params, mm->root->nparams,
	    "charset"), "utf-8");
	TEST_ASSERT(mm->root->cte == MIME_CTE_7BIT);
	TEST_ASSERT(strcmp(m + mm->root->body_off, a.text) == 0);
	mime_free(&mm);
	free(m);

	/* no In-Reply-To when the original had no Message-ID */
	a.in_reply_to = a.references = NULL;
	m = sieve_notice_vacation(&a, "bob@a.test", "mx.a.test", NOW, &len);
	TEST_ASSERT(m != NULL);
	TEST_ASSERT(field(m, len, "In-Reply-To", false) == NULL);
	TEST_ASSERT(field(m, len, "References", false) == NULL);
	free(m);
}

static void
test_vacation_from(void)
{
	struct sieve_action a = vacation();
	size_t len;
	char *m;

	a.from = (char *)"Bob Smith <bob.smith@a.test>";
	m = sieve_notice_vacation(&a, "bob@a.test", "mx.a.test", NOW, &len);
	TEST_ASSERT(m != NULL);
	TEST_ASSERT_STREQ(field(m, len, "From", false),
	    "Bob Smith <bob.smith@a.test>");
	free(m);

	a.from = (char *)"\"Smith, Bob\" <bob@a.test>";
	m = sieve_notice_vacation(&a, "bob@a.test", "mx.a.test", NOW, &len);
	TEST_ASSERT(m != NULL);
	TEST_ASSERT_STREQ(field(m, len, "From", false),
	    "\"Smith, Bob\" <bob@a.test>");
	free(m);

	/* another domain: the user */
	a.from = (char *)"Boss <boss@bank.test>";
	m = sieve_notice_vacation(&a, "bob@a.test", "mx.a.test", NOW, &len);
	TEST_ASSERT(m != NULL);
	TEST_ASSERT_STREQ(field(m, len, "From", false), "<bob@a.test>");
	free(m);

	a.from = (char *)"Jos\xc3\xa9 <jose@A.test>";
	m = sieve_notice_vacation(&a, "bob@a.test", "mx.a.test", NOW, &len);
	TEST_ASSERT(m != NULL);
	TEST_ASSERT(strncmp(field(m, len, "From", false), "=?utf-8?B?", 10)
	    == 0);
	TEST_ASSERT_STREQ(field(m, len, "From", true), "Jos\xc3\xa9 "
	    "<jose@A.test>");
	free(m);

	/* the address a :from stands for, as the builder reads it */
	{
		char *f = sieve_notice_from_addr("Bob <bob.smith@a.test>");
		TEST_ASSERT_STREQ(f, "bob.smith@a.test");
		free(f);
		f = sieve_notice_from_addr("boss@bank.test (<bob@a.test>)");
		TEST_ASSERT_STREQ(f, "boss@bank.test");
		free(f);
		TEST_ASSERT(sieve_notice_from_addr("a@b.test, c@d.test") ==
		    NULL);
		TEST_ASSERT(sieve_notice_from_addr("x\r\n@b.test") == NULL);
		TEST_ASSERT(sieve_notice_from_addr(NULL) == NULL);
	}

	/* not one mailbox: the user */
	static const char *const bad[] = { "a@b.test, c@d.test", "nobody",
	    "", "x@", "<a@b\r\nBcc: evil@c.test>", "\"x\r\nBcc: e@c\" <a@b>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		a.from = (char *)(uintptr_t)bad[i];
		m = sieve_notice_vacation(&a, "bob@a.test", "mx.a.test", NOW,
		    &len);
		TEST_ASSERT(m != NULL);
		TEST_ASSERT(count_fields(m, len, "Bcc") == 0);
		TEST_ASSERT(lines_ok(m, len, 78));
		if (i < 5)
			TEST_ASSERT_STREQ(field(m, len, "From", false),
			    "<bob@a.test>");
		free(m);
	}
}

static void
test_vacation_injection(void)
{
	struct sieve_action a = vacation();
	size_t len;
	char *m;

	a.subject = (char *)"Away\r\nBcc: evil@c.test\nX-Evil: 1";
	a.in_reply_to = (char *)"<a@b>\r\nBcc: evil@c.test";
	a.references = (char *)"<a@b>\nX-Evil: 2";
	m = sieve_notice_vacation(&a, "bob@a.test", "mx.a.test", NOW, &len);
	TEST_ASSERT(m != NULL);
	TEST_ASSERT(count_fields(m, len, "Bcc") == 0);
	TEST_ASSERT(count_fields(m, len, "X-Evil") == 0);
	TEST_ASSERT(count_fields(m, len, "Subject") == 1);
	TEST_ASSERT(lines_ok(m, len, 78));
	TEST_ASSERT(strstr(field(m, len, "Subject", true), "Bcc: evil") !=
	    NULL);
	free(m);

	/* very long References: whole ids, folded, trimmed */
	{
		struct buf r;
		buf_init(&r, 0);
		for (int i = 0; i < 500; i++)
			buf_printf(&r, "<message-%d@example.test> ", i);
		buf_putc(&r, '\0');
		a = vacation();
		a.references = r.data;
		m = sieve_notice_vacation(&a, "bob@a.test", "h", NOW, &len);
		buf_free(&r);
		TEST_ASSERT(m != NULL);
		TEST_ASSERT(lines_ok(m, len, 78));
		const char *refs = field(m, len, "References", false);
		TEST_ASSERT(strncmp(refs, "<message-0@example.test> ", 25) == 0);
		TEST_ASSERT(refs[strlen(refs) - 1] == '>');
		TEST_ASSERT(strlen(refs) <= 4 * 998);
		free(m);
	}

	/* a To that is not one address: no message at all */
	a.address = (char *)"a@b.test\r\nBcc: evil@c.test";
	TEST_ASSERT(sieve_notice_vacation(&a, "bob@a.test", "h", NOW, &len)
	    == NULL);
	a.address = NULL;
	TEST_ASSERT(sieve_notice_vacation(&a, "bob@a.test", "h", NOW, &len)
	    == NULL);
	a = vacation();
	a.type = SIEVE_KEEP;
	TEST_ASSERT(sieve_notice_vacation(&a, "bob@a.test", "h", NOW, &len)
	    == NULL);
	TEST_ASSERT(sieve_notice_vacation(NULL, "bob@a.test", "h", NOW, &len)
	    == NULL);
}

static void
test_subject_encoding(void)
{
	struct sieve_action a = vacation();
	struct buf s;
	size_t len;
	char *m;

	/* a long ASCII subject is folded at spaces */
	buf_init(&s, 0);
	for (int i = 0; i < 40; i++)
		buf_printf(&s, "%sword%d", i ? " " : "", i);
	buf_putc(&s, '\0');
	a.subject = s.data;
	m = sieve_notice_vacation(&a, "bob@a.test", "mx.a.test", NOW, &len);
	TEST_ASSERT(m != NULL);
	TEST_ASSERT(lines_ok(m, len, 78));
	TEST_ASSERT(strstr(m, "\n word") != NULL);
	TEST_ASSERT_STREQ(field(m, len, "Subject", true), s.data);
	free(m);

	/* non-ASCII: encoded words, within 78 columns, decoding back */
	buf_reset(&s);
	for (int i = 0; i < 30; i++)
		buf_puts(&s, "\xc3\xa9t\xc3\xa9 ");
	buf_puts(&s, "\xe2\x82\xac\xf0\x9f\x98\x80");
	buf_putc(&s, '\0');
	a.subject = s.data;
	m = sieve_notice_vacation(&a, "bob@a.test", "mx.a.test", NOW, &len);
	TEST_ASSERT(m != NULL);
	TEST_ASSERT(lines_ok(m, len, 78));
	for (size_t i = 0; i < len; i++)
		TEST_ASSERT((unsigned char)m[i] < 0x80);
	TEST_ASSERT_STREQ(field(m, len, "Subject", true), s.data);
	free(m);

	/* empty */
	a.subject = (char *)"";
	m = sieve_notice_vacation(&a, "bob@a.test", "mx.a.test", NOW, &len);
	TEST_ASSERT(m != NULL);
	TEST_ASSERT(count_fields(m, len, "Subject") == 1);
	TEST_ASSERT_STREQ(field(m, len, "Subject", true), "");
	free(m);

	/* one word longer than a line, and text that looks encoded */
	buf_reset(&s);
	for (int i = 0; i < 200; i++)
		buf_putc(&s, 'x');
	buf_puts(&s, " =?utf-8?B?QQ==?=");
	buf_putc(&s, '\0');
	a.subject = s.data;
	m = sieve_notice_vacation(&a, "bob@a.test", "mx.a.test", NOW, &len);
	TEST_ASSERT(m != NULL);
	TEST_ASSERT(lines_ok(m, len, 78));
	TEST_ASSERT_STREQ(field(m, len, "Subject", true), s.data);
	free(m);
	buf_free(&s);
}

static void
test_vacation_body(void)
{
	struct sieve_action a = vacation();
	struct mime_msg *mm;
	struct buf d;
	size_t len;
	char *m;
	const char *text = "Je suis absent jusqu'\xc3\xa0 lundi.\n"
	    "From now on = trailing space \nLine\r\n";

	a.text = (char *)(uintptr_t)text;
	m = sieve_notice_vacation(&a, "bob@a.test", "mx.a.test", NOW, &len);
	TEST_ASSERT(m != NULL);
	TEST_ASSERT(lines_ok(m, len, 78));
	mm = mime_parse(m, len);
	TEST_ASSERT(mm != NULL && mm->root->cte == MIME_CTE_QP);
	buf_init(&d, 0);
	mime_decode_qp(m + mm->root->body_off, len - mm->root->body_off, &d);
	buf_putc(&d, '\0');
	/* (the decoder writes CRLF line ends) */
	TEST_ASSERT_STREQ(d.data, "Je suis absent jusqu'\xc3\xa0 lundi.\r\n"
	    "From now on = trailing space \r\nLine\r\n");
	mime_free(&mm);
	free(m);

	/* a long line is soft-broken */
	buf_reset(&d);
	for (int i = 0; i < 300; i++)
		buf_putc(&d, 'a' + i % 26);
	buf_putc(&d, '\0');
	a.text = d.data;
	m = sieve_notice_vacation(&a, "bob@a.test", "mx.a.test", NOW, &len);
	TEST_ASSERT(m != NULL);
	TEST_ASSERT(lines_ok(m, len, 78));
	free(m);

	/* :mime: the entity's own Content-* fields and body */
	a.mime = true;
	a.text = (char *)"Content-Type: multipart/alternative; boundary=XX\r\n"
	    "X-Not-Copied: 1\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\n"
	    "away\r\n--XX\r\nContent-Type: text/html\r\n\r\n<p>away</p>\r\n"
	    "--XX--\r\n";
	m = sieve_notice_vacation(&a, "bob@a.test", "mx.a.test", NOW, &len);
	TEST_ASSERT(m != NULL);
	TEST_ASSERT(lines_ok(m, len, 78));
	TEST_ASSERT(count_fields(m, len, "X-Not-Copied") == 0);
	mm = mime_parse(m, len);
	TEST_ASSERT(mm != NULL);
	TEST_ASSERT_STREQ(mm->root->subtype, "alternative");
	TEST_ASSERT(mm->root->nchildren == 2);
	TEST_ASSERT_STREQ(mime_part_child(mm->root, 2)->subtype, "html");
	mime_free(&mm);
	free(m);

	/* :mime text that is no entity: sent as plain text */
	a.text = (char *)"just text, no header";
	m = sieve_notice_vacation(&a, "bob@a.test", "mx.a.test", NOW, &len);
	TEST_ASSERT(m != NULL);
	TEST_ASSERT_STREQ(field(m, len, "Content-Type", false),
	    "text/plain; charset=utf-8");
	TEST_ASSERT(strstr(m, "\n\njust text, no header\n") != NULL);
	free(m);
	buf_free(&d);
}

#define ORIG	"Received: from x\r\n\tby y\r\nFrom: Sender <sender@b.test>\r\n" \
		"To: bob@a.test\r\nSubject: =?utf-8?Q?caf=C3=A9?= menu\r\n" \
		"Message-ID: <orig1@b.test>\r\n\r\n"

static void
test_reject(void)
{
	struct sieve_action a;
	struct mime_msg *mm;
	struct mime_part *p;
	struct buf d;
	size_t len;
	char *m;

	memset(&a, 0, sizeof(a));
	a.type = SIEVE_REJECT;
	a.text = (char *)"I do not want mail from you.\n--=_tem_sieve_x\n"
	    "Bcc: evil@c.test\n\xc3\xa9t\xc3\xa9";
	m = sieve_notice_reject(&a, "bob@a.test", ORIG, strlen(ORIG),
	    "sender@b.test", "mx.a.test", NOW, &len);
	TEST_ASSERT(m != NULL && len == strlen(m));
	TEST_ASSERT(lines_ok(m, len, 78));
	TEST_ASSERT(count_fields(m, len, "Bcc") == 0);
	TEST_ASSERT_STREQ(field(m, len, "From", false),
	    "\"Mail Delivery Subsystem\" <MAILER-DAEMON@mx.a.test>");
	TEST_ASSERT_STREQ(field(m, len, "To", false), "<sender@b.test>");
	TEST_ASSERT_STREQ(field(m, len, "Subject", true),
	    "Rejected: caf\xc3\xa9 menu");
	TEST_ASSERT(strncmp(field(m, len, "Auto-Submitted", false),
	    "auto-replied", 12) == 0);
	mm = mime_parse(m, len);
	TEST_ASSERT(mm != NULL && !mm->capped);
	TEST_ASSERT_STREQ(mm->root->subtype, "report");
	TEST_ASSERT_STREQ(mime_param_get(mm->root->params, mm->root->nparams,
	    "report-type"), "disposition-notification");
	TEST_ASSERT(mm->root->nchildren == 3);

	p = mime_part_child(mm->root, 1);
	TEST_ASSERT_STREQ(p->type, "text");
	TEST_ASSERT(p->cte == MIME_CTE_QP);
	buf_init(&d, 0);
	mime_decode_qp(m + p->body_off, p->end - p->body_off, &d);
	buf_putc(&d, '\0');
	TEST_ASSERT(strstr(d.data, "I do not want mail from you.\r\n") !=
	    NULL);
	TEST_ASSERT(strstr(d.data, "\xc3\xa9t\xc3\xa9") != NULL);
	buf_free(&d);

	p = mime_part_child(mm->root, 2);
	TEST_ASSERT_STREQ(p->type, "message");
	TEST_ASSERT_STREQ(p->subtype, "disposition-notification");
	{
		const char *r = m + p->body_off;
		size_t rl = p->end - p->body_off;
		TEST_ASSERT_STREQ(field(r, rl, "Reporting-UA", false),
		    "mx.a.test; tem");
		TEST_ASSERT_STREQ(field(r, rl, "Final-Recipient", false),
		    "rfc822; bob@a.test");
		TEST_ASSERT_STREQ(field(r, rl, "Original-Message-ID", false),
		    "<orig1@b.test>");
		TEST_ASSERT_STREQ(field(r, rl, "Disposition", false),
		    "automatic-action/MDN-sent-automatically; deleted");
	}

	p = mime_part_child(mm->root, 3);
	TEST_ASSERT_STREQ(p->type, "text");
	TEST_ASSERT_STREQ(p->subtype, "rfc822-headers");
	TEST_ASSERT(strncmp(m + p->body_off, "Received: from x\n\tby y\n"
	    "From: Sender", 35) == 0);
	TEST_ASSERT_STREQ(field(m + p->body_off, p->end - p->body_off,
	    "Message-ID", false), "<orig1@b.test>");
	mime_free(&mm);
	free(m);

	/* a bare CR in the original header is not copied */
	m = sieve_notice_reject(&a, "bob@a.test", "Subject: a\rb\n\n", 14,
	    "s@b.test", "h", NOW, &len);
	TEST_ASSERT(m != NULL);
	TEST_ASSERT(memchr(m, '\r', len) == NULL);
	TEST_ASSERT(strstr(m, "\nSubject: a b\n") != NULL);
	free(m);

	/* never to <>, never without a header */
	TEST_ASSERT(sieve_notice_reject(&a, "bob@a.test", ORIG, strlen(ORIG),
	    "", "h", NOW, &len) == NULL);
	TEST_ASSERT(sieve_notice_reject(&a, "bob@a.test", NULL, 0,
	    "s@b.test", "h", NOW, &len) == NULL);
	/* no subject, no Message-ID */
	m = sieve_notice_reject(&a, "bob@a.test", "From: x@y\n\n", 11,
	    "s@b.test", "h", NOW, &len);
	TEST_ASSERT(m != NULL);
	TEST_ASSERT_STREQ(field(m, len, "Subject", true),
	    "Rejected: (no subject)");
	TEST_ASSERT(strstr(m, "Original-Message-ID") == NULL);
	free(m);
}

static void
test_error(void)
{
	struct mime_msg *mm;
	size_t len;
	char *m = sieve_notice_error("bob@a.test", "main",
	    "line 3: unknown command 'filein'", "mx.a.test", NOW, &len);

	TEST_ASSERT(m != NULL);
	TEST_ASSERT(lines_ok(m, len, 78));
	TEST_ASSERT_STREQ(field(m, len, "To", false), "<bob@a.test>");
	TEST_ASSERT_STREQ(field(m, len, "Subject", true),
	    "Sieve script failed: main");
	TEST_ASSERT_STREQ(field(m, len, "Auto-Submitted", false),
	    "auto-generated");
	TEST_ASSERT(strstr(m, "line 3: unknown command 'filein'") != NULL);
	TEST_ASSERT(strstr(m, "kept") != NULL);
	mm = mime_parse(m, len);
	TEST_ASSERT(mm != NULL);
	TEST_ASSERT_STREQ(mm->root->subtype, "plain");
	mime_free(&mm);
	free(m);

	/* a script name and error with line breaks add nothing */
	m = sieve_notice_error("bob@a.test", "x\r\nBcc: e@c",
	    "line 1: \"\nBcc: e@c\"", "mx.a.test", NOW, &len);
	TEST_ASSERT(m != NULL);
	TEST_ASSERT(count_fields(m, len, "Bcc") == 0);
	TEST_ASSERT(lines_ok(m, len, 78));
	free(m);
	m = sieve_notice_error("bob@a.test", NULL, "line 1: x", "h", NOW,
	    &len);
	TEST_ASSERT(m != NULL);
	TEST_ASSERT(strstr(m, "active script") != NULL);
	free(m);
	TEST_ASSERT(sieve_notice_error("bob@a.test", NULL, NULL, "h", NOW,
	    &len) == NULL);
}

int
main(void)
{
	TEST_RUN(test_vacation_fields);
	TEST_RUN(test_vacation_from);
	TEST_RUN(test_vacation_injection);
	TEST_RUN(test_subject_encoding);
	TEST_RUN(test_vacation_body);
	TEST_RUN(test_reject);
	TEST_RUN(test_error);
	field("", 0, "x", false);
	return test_done("test-sieve-notice");
}
