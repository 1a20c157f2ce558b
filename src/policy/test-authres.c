/*
 * test-authres - unit tests of policy/authres.c: building tem's
 * Authentication-Results field (layout, folding, quoting, header
 * injection attempts, "none", the dmarc= result of dmarc_authres_add)
 * and finding/removing fields that carry our authserv-id (RFC 8601 5).
 *
 * Trust: test code, run under ASan/UBSan.
 */
#include <stdlib.h>
#include <string.h>

#include "policy/authres.h"
#include "policy/dmarc.h"
#include "util/buf.h"
#include "util/test.h"
#include "util/xmalloc.h"

#define HOST	"mx.example.test"

/* ------------------------------------------------------------------ */
/* Building */

static void
test_build_example(void)
{
	struct authres ar;
	struct dmarc_policy pol = { .p = DMARC_DISP_REJECT };
	size_t len;
	char *f;

	authres_init(&ar, HOST);
	authres_add(&ar, "spf", "pass", NULL, "smtp.mailfrom", "x@y.test",
	    NULL);
	authres_add(&ar, "dkim", "pass", NULL, "header.d", "y.test",
	    "header.s", "sel", "header.b", "abcd1234", NULL);
	dmarc_authres_add(&ar, DMARC_RESULT_PASS, &pol, DMARC_DISP_NONE,
	    "y.test");
	f = authres_finish(&ar, &len);
	TEST_ASSERT_STREQ(f,
	    "Authentication-Results: mx.example.test;\n"
	    "\tspf=pass smtp.mailfrom=x@y.test;\n"
	    "\tdkim=pass header.d=y.test header.s=sel header.b=abcd1234;\n"
	    "\tdmarc=pass (p=reject dis=none) header.from=y.test\n");
	TEST_ASSERT(len == strlen(f));
	free(f);
}

static void
test_build_none(void)
{
	struct authres ar;
	char *f;

	authres_init(&ar, HOST);
	f = authres_finish(&ar, NULL);
	TEST_ASSERT_STREQ(f, "Authentication-Results: mx.example.test; none\n");
	free(f);
	/* Reusable after finish; a discarded one leaks nothing. */
	authres_init(&ar, HOST);
	authres_add(&ar, "spf", "none", NULL, "smtp.helo", "h.test", NULL);
	authres_discard(&ar);
	authres_init(&ar, HOST);
	authres_add(&ar, "spf", "none", NULL, "smtp.helo", "h.test", NULL);
	f = authres_finish(&ar, NULL);
	TEST_ASSERT_STREQ(f, "Authentication-Results: mx.example.test;\n"
	    "\tspf=none smtp.helo=h.test\n");
	free(f);
}

static void
test_build_dmarc(void)
{
	struct dmarc_policy pol = { .p = DMARC_DISP_REJECT,
	    .sp = DMARC_DISP_QUARANTINE, .at_org = true };
	struct authres ar;
	char *f;

	authres_init(&ar, HOST);
	/* The policy shown is the one that applied (sp here). */
	dmarc_authres_add(&ar, DMARC_RESULT_FAIL, &pol,
	    DMARC_DISP_QUARANTINE, "sub.y.test");
	dmarc_authres_add(&ar, DMARC_RESULT_NONE, NULL, DMARC_DISP_NONE,
	    "z.test");
	dmarc_authres_add(&ar, DMARC_RESULT_TEMPERROR, NULL, DMARC_DISP_NONE,
	    NULL);
	f = authres_finish(&ar, NULL);
	TEST_ASSERT_STREQ(f, "Authentication-Results: mx.example.test;\n"
	    "\tdmarc=fail (p=quarantine dis=quarantine)"
	    " header.from=sub.y.test;\n"
	    "\tdmarc=none header.from=z.test;\n"
	    "\tdmarc=temperror\n");
	free(f);
}

/* Values outside token/address syntax are quoted; control characters
 * can never start a new header line. */
static void
test_build_quoting(void)
{
	struct authres ar;
	char *f, *big = xmalloc(AUTHRES_VALUE_MAX + 2);

	memset(big, 'a', AUTHRES_VALUE_MAX + 1);
	authres_init(&ar, HOST);
	authres_add(&ar, "spf", "fail", "bad (\\stuff)\r\nX-Evil: 1",
	    "smtp.mailfrom", "\"a b\"@y.test", NULL);
	authres_add(&ar, "dkim", "fail", NULL,
	    "header.d", "y.test\r\nX-Evil: 1",
	    "header.s", NULL, "header.b", "", "header.i", "@y.test",
	    "header.a", big, NULL);
	authres_add(&ar, "dkim", "pass", NULL, "header.b", "ab/+cd=",
	    "header.d", "bücher.test", NULL);
	f = authres_finish(&ar, NULL);
	TEST_ASSERT_STREQ(f, "Authentication-Results: mx.example.test;\n"
	    "\tspf=fail (bad \\(\\\\stuff\\)X-Evil: 1)"
	    " smtp.mailfrom=\"\\\"a b\\\"@y.test\";\n"
	    "\tdkim=fail header.d=\"y.testX-Evil: 1\" header.i=@y.test;\n"
	    "\tdkim=pass header.b=\"ab/+cd=\" header.d=\"bücher.test\"\n");
	free(f);
	free(big);
	/* A hostname that is not a token is quoted too. */
	authres_init(&ar, "odd host");
	f = authres_finish(&ar, NULL);
	TEST_ASSERT_STREQ(f, "Authentication-Results: \"odd host\"; none\n");
	free(f);
}

/* Long results fold between words, every line within 78 when it can. */
static void
test_build_folding(void)
{
	struct authres ar;
	char *f, *line, *save = NULL;
	int lines = 0;

	authres_init(&ar, HOST);
	authres_add(&ar, "dkim", "pass", "good signature",
	    "header.d", "a-rather-long-subdomain.of-a-long-domain.example",
	    "header.s", "selector-2024-with-a-long-name",
	    "header.i", "@a-rather-long-subdomain.of-a-long-domain.example",
	    "header.b", "AbCdEfGh", NULL);
	f = authres_finish(&ar, NULL);
	for (line = strtok_r(f, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		lines++;
		TEST_ASSERT(strlen(line) <= AUTHRES_LINE_MAX);
		TEST_ASSERT(lines == 1 || line[0] == '\t');
	}
	TEST_ASSERT(lines == 5);
	free(f);
}

/* ------------------------------------------------------------------ */
/* Stripping */

static void
test_authserv_id(void)
{
	static const char *const cases[][2] = {
		{ " mx.example.test; spf=pass", "mx.example.test" },
		{ "mx.example.test", "mx.example.test" },
		{ "(comment (nested) \\) ) mx.example.test 1; none",
		  "mx.example.test" },
		{ "\r\n\tMX.Example.Test;", "MX.Example.Test" },
		{ "\"mx.example.test\"; none", "mx.example.test" },
		{ "\"mx.ex\\ample.test\"", "mx.example.test" },
		{ "mx.example.test/x; none", "mx.example.test" },
		{ "mx.example.test.;", "mx.example.test." },
		{ "", NULL },
		{ "   ", NULL },
		{ "(unclosed mx.example.test", NULL },
		{ "; spf=pass", NULL },
		{ "\"\"; none", NULL },
	};
	char *id;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		id = authres_authserv_id(cases[i][0], strlen(cases[i][0]));
		if (cases[i][1] == NULL) {
			TEST_ASSERT(id == NULL);
		} else {
			TEST_ASSERT_STREQ(id, cases[i][1]);
		}
		free(id);
	}
}

static const char msg[] =
    "Received: from x by y\n"
    "Authentication-Results: mx.example.test; spf=pass\n"
    "Subject: hi\n"
    "authentication-results: (forged)\n"
    "  MX.EXAMPLE.TEST.;\n"
    "  dkim=pass header.d=bank.test\n"
    "Authentication-Results: other.test; dmarc=pass\n"
    "Authentication-Results: \"mx.example.test\" 1; none\n"
    "Authentication-Results: mx.example.test.evil.test; none\n"
    "Authentication-Results : mx.example.test;\n"
    "X-Authentication-Results: mx.example.test; none\n"
    "From: a@b.test\n"
    "\n"
    "Authentication-Results: mx.example.test; in the body\n";

static const char stripped[] =
    "Received: from x by y\n"
    "Subject: hi\n"
    "Authentication-Results: other.test; dmarc=pass\n"
    "Authentication-Results: mx.example.test.evil.test; none\n"
    "X-Authentication-Results: mx.example.test; none\n"
    "From: a@b.test\n"
    "\n"
    "Authentication-Results: mx.example.test; in the body\n";

static void
test_find_ours(void)
{
	struct authres_range *r;
	size_t n = authres_find_ours(msg, sizeof(msg) - 1, HOST, &r);

	TEST_ASSERT(n == 4);
	/* (on failure r leaks: ASan then reports it too) */
	TEST_ASSERT(r[0].off == 22 && r[0].len == 50);
	TEST_ASSERT(strncmp(msg + r[1].off, "authentication-results:",
	    23) == 0);
	TEST_ASSERT(msg[r[1].off + r[1].len - 1] == '\n');
	n = strncmp(msg + r[1].off + r[1].len,
	    "Authentication-Results: other.test", 34);
	free(r);
	TEST_ASSERT(n == 0);
	n = authres_find_ours(msg, sizeof(msg) - 1, "nobody.test", &r);
	TEST_ASSERT(n == 0 && r == NULL);
	n = authres_find_ours("", 0, HOST, &r);
	TEST_ASSERT(n == 0 && r == NULL);
}

static void
test_strip(void)
{
	struct buf out;
	char *crlf;
	size_t i, j;

	buf_init(&out, 0);
	TEST_ASSERT(authres_strip(msg, sizeof(msg) - 1, HOST, &out) == 4);
	TEST_ASSERT_STREQ(buf_cstr(&out), stripped);
	/* The same message with CRLF line ends. */
	crlf = xmalloc(2 * sizeof(msg));
	for (i = j = 0; i < sizeof(msg) - 1; i++) {
		if (msg[i] == '\n')
			crlf[j++] = '\r';
		crlf[j++] = msg[i];
	}
	buf_reset(&out);
	TEST_ASSERT(authres_strip(crlf, j, HOST, &out) == 4);
	TEST_ASSERT(out.len == sizeof(stripped) - 1 + 8);
	TEST_ASSERT(memmem(out.data, out.len, "mx.example.test; spf", 20) ==
	    NULL);
	free(crlf);
	/* Nothing to remove: an exact copy. */
	buf_reset(&out);
	TEST_ASSERT(authres_strip(stripped, sizeof(stripped) - 1, HOST,
	    &out) == 0);
	TEST_ASSERT_STREQ(buf_cstr(&out), stripped);
	buf_free(&out);
	/* Over the buffer's maximum: -1. */
	buf_init(&out, 16);
	TEST_ASSERT(authres_strip(msg, sizeof(msg) - 1, HOST, &out) == -1);
	buf_free(&out);
}

/* Our own field, built and then found again. */
static void
test_round_trip(void)
{
	struct authres ar;
	struct authres_range *r;
	struct buf m;
	char *f;

	authres_init(&ar, HOST);
	authres_add(&ar, "spf", "pass", NULL, "smtp.mailfrom", "x@y.test",
	    NULL);
	f = authres_finish(&ar, NULL);
	buf_init(&m, 0);
	buf_puts(&m, f);
	buf_puts(&m, "Subject: x\n\nbody\n");
	TEST_ASSERT(authres_find_ours(m.data, m.len, "MX.example.test.",
	    &r) == 1);
	TEST_ASSERT(r[0].off == 0 && r[0].len == strlen(f));
	free(r);
	free(f);
	buf_free(&m);
}

int
main(void)
{
	TEST_RUN(test_build_example);
	TEST_RUN(test_build_none);
	TEST_RUN(test_build_dmarc);
	TEST_RUN(test_build_quoting);
	TEST_RUN(test_build_folding);
	TEST_RUN(test_authserv_id);
	TEST_RUN(test_find_ours);
	TEST_RUN(test_strip);
	TEST_RUN(test_round_trip);
	return test_done("test-authres");
}
