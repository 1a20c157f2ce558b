/*
 * test-mta-7bit - the streaming 8-bit to 7-bit downgrade: quoted-printable
 * text parts, base64 for 8-bit non-text parts, the MIME structure kept
 * (nested multiparts, message/rfc822), base64/QP parts left alone, the
 * refusals (8-bit headers, 8-bit in a copied part, limits), and the same
 * output for any chunking of the input.
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mta/mta_7bit.h"
#include "util/buf.h"
#include "util/test.h"

/* Converts in, fed chunk bytes at a time; the output (NUL-terminated,
 * malloc'd) or NULL with *why set when refused. */
static char *
convert(const char *in, size_t chunk, const char **why)
{
	struct mta_7bit e;
	struct buf out;
	size_t n = strlen(in), off = 0;
	int r = 0;

	buf_init(&out, 0);
	mta_7bit_start(&e);
	while (r == 0 && off < n) {
		size_t k = n - off < chunk ? n - off : chunk;
		r = mta_7bit_feed(&e, in + off, k, &out);
		off += k;
	}
	if (r == 0)
		r = mta_7bit_end(&e, &out);
	*why = e.error;
	mta_7bit_free(&e);
	if (r < 0) {
		buf_free(&out);
		return NULL;
	}
	buf_putc(&out, '\0');
	return buf_steal(&out, NULL);
}

static bool
all_7bit(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s & 0x80)
			return false;
	return true;
}

static int chunk_mismatch;

/* Converts with several chunkings: the output must not depend on it
 * (counted in chunk_mismatch, checked by main). */
static char *
convert_all(const char *in, const char **why)
{
	static const size_t chunks[] = { 1, 2, 3, 7, 64, 100000 };
	char *first = convert(in, chunks[0], why);

	for (size_t i = 1; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		const char *w2;
		char *o = convert(in, chunks[i], &w2);
		if ((o == NULL) != (first == NULL) ||
		    (o && strcmp(o, first) != 0))
			chunk_mismatch++;
		free(o);
	}
	return first;
}

/* Random messages from MIME-ish pieces: whatever is accepted leaves
 * 7-bit, whatever the chunking; nothing crashes or leaks (ASan). */
static void
test_random(void)
{
	static const char *const pieces[] = {
		"Content-Type: multipart/mixed; boundary=a\n",
		"Content-Type: multipart/mixed; boundary=\"b\"\n",
		"Content-Type: text/plain\n", "Content-Type: image/png\n",
		"Content-Type: message/rfc822\n",
		"Content-Transfer-Encoding: 8bit\n",
		"Content-Transfer-Encoding: base64\n", " folded\n",
		"\n", "--a\n", "--a--\n", "--b\n", "--b--  \n", "text\n",
		"caf\xc3\xa9 \n", "\xff\xfe\r\n", "=\t\n", ".\n", "x",
	};
	size_t np = sizeof(pieces) / sizeof(pieces[0]);
	unsigned seed = 12345;
	int accepted = 0;

	for (int round = 0; round < 300; round++) {
		struct buf in;
		const char *why;
		char *o;
		int k;

		buf_init(&in, 0);
		seed = seed * 1103515245u + 12345u;
		k = (int)(seed >> 16) % 40;
		for (int i = 0; i < k; i++) {
			seed = seed * 1103515245u + 12345u;
			buf_puts(&in, pieces[(seed >> 16) % np]);
		}
		buf_putc(&in, '\0');
		o = convert_all(in.data, &why);
		if (o != NULL) {
			accepted++;
			TEST_ASSERT(all_7bit(o));
		} else
			TEST_ASSERT(why != NULL);
		free(o);
		buf_free(&in);
	}
	TEST_ASSERT(accepted > 0);
}

static void
test_chunking(void)
{
	TEST_ASSERT(chunk_mismatch == 0);
}

static void
test_single_text(void)
{
	const char *why;
	char *o = convert_all("Subject: caf\xc3\xa9?\n", &why);

	TEST_ASSERT(o == NULL);		/* 8-bit header: cannot be fixed */
	TEST_ASSERT(why && strncmp(why, "5.6.3 ", 6) == 0);
	o = convert_all("Subject: x\nContent-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: 8bit\n\ncaf\xc3\xa9 = ok \n.dot\n",
	    &why);
	TEST_ASSERT(o != NULL);
	TEST_ASSERT_STREQ(o, "Subject: x\nContent-Type: text/plain; "
	    "charset=utf-8\nMIME-Version: 1.0\n"
	    "Content-Transfer-Encoding: quoted-printable\n\n"
	    "caf=C3=A9 =3D ok=20\n.dot\n");
	free(o);
}

static void
test_long_line_soft_breaks(void)
{
	char in[400], *o;
	const char *why, *p;

	strcpy(in, "MIME-Version: 1.0\n\n");
	for (int i = 0; i < 100; i++)
		strcat(in, "\xc3\xa9");
	strcat(in, "\n");
	o = convert_all(in, &why);
	TEST_ASSERT(o != NULL && all_7bit(o));
	/* no line longer than 76, each but the last ending in "=" */
	for (p = strstr(o, "\n\n") + 2; *p; ) {
		const char *nl = strchr(p, '\n');
		TEST_ASSERT(nl != NULL && nl - p <= 76);
		p = nl + 1;
	}
	TEST_ASSERT(strstr(o, "MIME-Version: 1.0\nContent-Transfer-Encoding: "
	    "quoted-printable\n\n=C3=A9") != NULL);
	free(o);
}

static const char nested[] =
    "From: a@a.test\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\n"
    "Content-Transfer-Encoding: 8bit\n"
    "\n"
    "preamble\n"
    "--outer\n"
    "Content-Type: multipart/alternative; boundary=inner\n"
    "\n"
    "--inner\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "\n"
    "gr\xc3\xbc\xc3\x9f\n"
    "--inner\n"
    "Content-Type: text/html; charset=utf-8\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "PGI+aGk8L2I+\n"
    "--inner--\n"
    "--outer\n"
    "Content-Type: application/octet-stream\n"
    "Content-Transfer-Encoding: 8bit\n"
    "\n"
    "\xff\xfe\n"
    "--outer\n"
    "Content-Type: message/rfc822\n"
    "Content-Transfer-Encoding: 8bit\n"
    "\n"
    "Subject: inside\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "\n"
    "\xc3\xa9t\xc3\xa9\n"
    "--outer--\n"
    "epilogue\n";

static void
test_nested(void)
{
	const char *why;
	char *o = convert_all(nested, &why);

	TEST_ASSERT(o != NULL);
	if (o == NULL)
		return;
	TEST_ASSERT(all_7bit(o));
	/* the structure: every delimiter, preamble and epilogue kept */
	TEST_ASSERT(strstr(o, "\n\npreamble\n--outer\n") != NULL);
	TEST_ASSERT(strstr(o, "\n--inner--\n--outer\n") != NULL);
	TEST_ASSERT(strstr(o, "\n--outer--\nepilogue\n") != NULL);
	/* the multipart's 8bit becomes 7bit, once */
	TEST_ASSERT(strstr(o, "boundary=\"outer\"\n"
	    "Content-Transfer-Encoding: 7bit\n\npreamble") != NULL);
	TEST_ASSERT(strstr(o, "8bit") == NULL);
	/* text: QP; the line end before a delimiter stays the delimiter's */
	TEST_ASSERT(strstr(o, "charset=utf-8\nContent-Transfer-Encoding: "
	    "quoted-printable\n\ngr=C3=BC=C3=9F\n--inner\n") != NULL);
	/* base64 part untouched */
	TEST_ASSERT(strstr(o, "Content-Transfer-Encoding: base64\n\n"
	    "PGI+aGk8L2I+\n--inner--") != NULL);
	/* 8-bit application part: base64 of ff fe, without the delimiter's
	 * line end */
	TEST_ASSERT(strstr(o, "application/octet-stream\n"
	    "Content-Transfer-Encoding: base64\n\n//4=\n--outer\n") != NULL);
	/* message/rfc822: 7bit, and the message inside converted */
	TEST_ASSERT(strstr(o, "message/rfc822\nContent-Transfer-Encoding: "
	    "7bit\n\nSubject: inside\n") != NULL);
	TEST_ASSERT(strstr(o, "quoted-printable\n\n=C3=A9t=C3=A9\n--outer--")
	    != NULL);
	free(o);
}

static void
test_refused(void)
{
	const char *why;
	char *o;

	/* 8-bit inside a part that is copied (a base64 part) */
	o = convert_all("Content-Type: multipart/mixed; boundary=b\n\n--b\n"
	    "Content-Transfer-Encoding: base64\n\n\xc3\xa9\n--b--\n", &why);
	TEST_ASSERT(o == NULL && why != NULL);
	/* 8-bit in a part's header */
	o = convert_all("Content-Type: multipart/mixed; boundary=b\n\n--b\n"
	    "Content-Disposition: attachment; filename=\xc3\xa9\n\nx\n--b--\n",
	    &why);
	TEST_ASSERT(o == NULL && why != NULL &&
	    strstr(why, "header") != NULL);
}

static void
test_limits(void)
{
	size_t n = MTA7_LINE_MAX + 10;
	char *in = malloc(n + 20), *o;
	const char *why;
	struct buf b;

	strcpy(in, "X: y\n\n");
	memset(in + 6, 'a', n);
	in[6 + n] = '\0';
	o = convert(in, 4096, &why);
	TEST_ASSERT(o == NULL && why && strstr(why, "limit") != NULL);
	free(in);

	/* nesting deeper than MTA7_DEPTH */
	buf_init(&b, 0);
	for (int i = 0; i <= MTA7_DEPTH; i++)
		buf_printf(&b, "Content-Type: multipart/mixed; boundary=b%d\n"
		    "\n--b%d\n", i, i);
	buf_putc(&b, '\0');
	o = convert(b.data, 100, &why);
	TEST_ASSERT(o == NULL && why && strstr(why, "limit") != NULL);
	buf_free(&b);
}

int
main(void)
{
	TEST_RUN(test_single_text);
	TEST_RUN(test_long_line_soft_breaks);
	TEST_RUN(test_nested);
	TEST_RUN(test_refused);
	TEST_RUN(test_limits);
	TEST_RUN(test_random);
	TEST_RUN(test_chunking);
	return test_done("test-mta-7bit");
}
