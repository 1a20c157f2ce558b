/*
 * test-mail-preview - RFC 8970 preview text: plain, quoted-printable,
 * base64 and charset decoding, HTML stripping, white space, the
 * 256-character cut, attachments skipped.
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/mail_preview.h"
#include "mail/mime.h"
#include "util/buf.h"
#include "util/test.h"

/* The preview of msg (a static buffer for the assertions). */
static const char *
preview(const char *msg)
{
	static char res[4096];
	struct mime_msg *m = mime_parse(msg, strlen(msg));
	struct buf b;

	buf_init(&b, 0);
	mail_preview(m, &b);
	snprintf(res, sizeof(res), "%s", buf_cstr(&b));
	buf_free(&b);
	mime_free(&m);
	return res;
}

static void
test_plain(void)
{
	TEST_ASSERT_STREQ(preview("Subject: x\n\n  Hello,\n\n  world\t!\n"),
	    "Hello, world !");
	TEST_ASSERT_STREQ(preview("Subject: x\n\n"), "");
	TEST_ASSERT_STREQ(preview("Subject: x\n"), "");
}

static void
test_encodings(void)
{
	TEST_ASSERT_STREQ(preview("Content-Type: text/plain; "
	    "charset=iso-8859-1\nContent-Transfer-Encoding: "
	    "quoted-printable\n\nCaf=E9 cr=\n=E8me\n"), "Caf\xc3\xa9 "
	    "cr\xc3\xa8me");
	TEST_ASSERT_STREQ(preview("Content-Transfer-Encoding: base64\n\n"
	    "SGVsbG8gYmFzZTY0\n"), "Hello base64");
}

static void
test_html(void)
{
	TEST_ASSERT_STREQ(preview("Content-Type: text/html\n\n<html><head>"
	    "<style>p { color: red }</style><script>x<1</script></head>"
	    "<body><!-- hidden --><p>Hi <b>there</b> &amp; "
	    "&lt;you&gt;&#33;&#x21;</p><div>Next</div></body></html>\n"),
	    "Hi there & <you>!! Next");
	TEST_ASSERT_STREQ(preview("Content-Type: text/html\n\n<p>cut"
	    " <style>never closed"), "cut");
	TEST_ASSERT_STREQ(preview("Content-Type: text/html\n\na &bogus; "
	    "&#xZZ; &"), "a &bogus; &#xZZ; &");
}

static void
test_multipart(void)
{
	TEST_ASSERT_STREQ(preview("Content-Type: multipart/mixed; "
	    "boundary=b\n\n--b\nContent-Type: image/png\n\nxx\n--b\n"
	    "Content-Type: text/plain\nContent-Disposition: attachment\n\n"
	    "attached\n--b\nContent-Type: message/rfc822\n\nSubject: in\n\n"
	    "inner\n--b\nContent-Type: text/plain\n\nthe body\n--b--\n"),
	    "the body");
}

static void
test_cut(void)
{
	char msg[2048], want[300];
	const char *p;
	size_t i;

	/* 300 two-octet characters: 256 of them, never half of one */
	strcpy(msg, "Content-Type: text/plain; charset=utf-8\n\n");
	for (i = 0; i < 300; i++)
		strcat(msg, "\xc3\xa9");
	p = preview(msg);
	TEST_ASSERT(strlen(p) == 512);
	/* spaces count: "a a a ..." cut at 256 characters, no trailing
	   space */
	strcpy(msg, "Subject: x\n\n");
	for (i = 0; i < 200; i++)
		strcat(msg, "a  ");
	p = preview(msg);
	TEST_ASSERT(strlen(p) == 255);
	for (i = 0; i < 255; i++)
		want[i] = i % 2 ? ' ' : 'a';
	want[255] = '\0';
	TEST_ASSERT_STREQ(p, want);
}

int
main(void)
{
	TEST_RUN(test_plain);
	TEST_RUN(test_encodings);
	TEST_RUN(test_html);
	TEST_RUN(test_multipart);
	TEST_RUN(test_cut);
	return test_done("test-mail-preview");
}
