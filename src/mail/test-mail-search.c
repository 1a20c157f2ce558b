/*
 * test-mail-search - SEARCH matching (header fields, body, text) on the
 * tests/data/mime fixtures with decoding of encoded words, QP, base64 and
 * charsets; the sent date; RFC 5256 base subjects; THREAD message ids.
 *
 * Run from the repository root (tests/run.sh does).
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/mail_search.h"
#include "mail/mime.h"
#include "mail/rfc5322.h"
#include "util/buf.h"
#include "util/test.h"

#define MIME_DIR	"tests/data/mime"

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

enum what { HDR, BODY, TEXT };

static void
test_match(void)
{
	static const struct {
		const char	*fixture;
		enum what	 what;
		const char	*field;
		const char	*key;
		bool		 hit;
	} cases[] = {
		{ "nested", HDR, "Subject", "NESTED parts", true },
		{ "nested", HDR, "subject", "", true },
		{ "nested", HDR, "X-None", "", false },
		{ "nested", HDR, "From", "alice@A.TEST", true },
		{ "nested", HDR, "From", "alice example", true },
		{ "nested", HDR, "To", "bob@b.test", true },
		{ "nested", HDR, "Cc", "eve e.", true },
		{ "nested", HDR, "Bcc", "", false },
		{ "nested", BODY, NULL, "CAFÉ CRÈME", true },
		{ "nested", BODY, NULL, "soft break", true },
		{ "nested", BODY, NULL, "straße", true },
		{ "nested", BODY, NULL, "%PDF", false },	/* not text */
		{ "nested", BODY, NULL, "preamble", false },
		{ "nested", BODY, NULL, "nested parts", false },
		{ "nested", TEXT, NULL, "nested parts", true },
		{ "nested", TEXT, NULL, "crème", true },
		{ "nested", TEXT, NULL, "", true },
		{ "nested-crlf", BODY, NULL, "café crème, soft break", true },
		{ "rfc822", BODY, NULL, "inner text body", true },
		{ "rfc822", BODY, NULL, "inner subject ✓", true },
		{ "rfc822", BODY, NULL, "just text", true },
		{ "rfc822", HDR, "Subject", "inner", false },
		{ "rfc822", TEXT, NULL, "forwarded message", true },
		{ "8bit-headers", HDR, "From", "JÜRGEN müller", true },
		{ "8bit-headers", HDR, "To", "renée", true },
		{ "8bit-headers", BODY, NULL, "GRÜSSE", false },
		{ "8bit-headers", BODY, NULL, "grüße", true },
		{ "bad-charset", HDR, "Subject", "café", true },
		{ "bad-charset", HDR, "From", "bad", true },
		{ "bad-charset", BODY, NULL, "unknown charset", true },
		{ "bad-base64", BODY, NULL, "hello world", true },
		{ "missing-final", BODY, NULL, "and more lines", true },
		{ "lf-no-final-newline", BODY, NULL, "line two", true },
		{ "header-only", BODY, NULL, "x", false },
		{ "header-only", BODY, NULL, "", true },
		{ "deep", BODY, NULL, "deepest", true },
	};
	char *last = NULL, *data = NULL;
	struct mime_msg *m = NULL;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[256], *fkey;
		size_t len, flen;
		bool hit = false;

		if (last == NULL || strcmp(last, cases[i].fixture) != 0) {
			mime_free(&m);
			free(data);
			snprintf(path, sizeof(path), MIME_DIR "/%s.eml",
			    cases[i].fixture);
			data = read_file(path, &len);
			TEST_ASSERT(data != NULL);
			m = mime_parse(data, len);
			last = (char *)(uintptr_t)cases[i].fixture;
		}
		fkey = mail_search_fold(cases[i].key, strlen(cases[i].key),
		    &flen);
		switch (cases[i].what) {
		case HDR:
			hit = mail_search_header(m, cases[i].field, fkey, flen);
			break;
		case BODY:
			hit = mail_search_body(m, fkey, flen);
			break;
		case TEXT:
			hit = mail_search_text(m, fkey, flen);
			break;
		}
		free(fkey);
		if (hit != cases[i].hit)
			fprintf(stderr, "  %s %d %s \"%s\": %d\n",
			    cases[i].fixture, cases[i].what,
			    cases[i].field ? cases[i].field : "",
			    cases[i].key, hit);
		TEST_ASSERT(hit == cases[i].hit);
	}
	mime_free(&m);
	free(data);
}

static void
test_dates_ids(void)
{
	char *data, *id, **ids;
	size_t len, n;
	struct mime_msg *m;
	time_t t, day;

	data = read_file(MIME_DIR "/nested.eml", &len);
	TEST_ASSERT(data != NULL);
	m = mime_parse(data, len);
	TEST_ASSERT(mail_search_sent_date(m, &t, &day) == 0);
	TEST_ASSERT(t == 1770156306);
	TEST_ASSERT(day == 1770076800);		/* 3 Feb as written */
	id = mail_thread_message_id(m);
	TEST_ASSERT_STREQ(id, "nested-1@a.test");
	free(id);
	n = mail_thread_references(m, &ids);
	TEST_ASSERT(n == 2);
	TEST_ASSERT_STREQ(ids[0], "root@b.test");
	TEST_ASSERT_STREQ(ids[1], "parent@b.test");
	rfc5322_msgids_free(&ids, n);
	mime_free(&m);
	free(data);

	data = read_file(MIME_DIR "/envelope.eml", &len);
	TEST_ASSERT(data != NULL);
	m = mime_parse(data, len);
	n = mail_thread_references(m, &ids);
	TEST_ASSERT(n == 1);
	TEST_ASSERT_STREQ(ids[0], "a@b.test");	/* In-Reply-To's first */
	rfc5322_msgids_free(&ids, n);
	id = mail_thread_message_id(m);
	TEST_ASSERT_STREQ(id, "\"odd\"@x.test");
	free(id);
	mime_free(&m);
	free(data);

	m = mime_parse("Subject: x\n\n", 12);
	TEST_ASSERT(mail_search_sent_date(m, &t, &day) == -1);
	TEST_ASSERT(mail_thread_message_id(m) == NULL);
	TEST_ASSERT(mail_thread_references(m, &ids) == 0 && ids == NULL);
	mime_free(&m);
}

static void
test_base_subject(void)
{
	static const struct {
		const char	*in;
		const char	*out;
		bool		 reply;
	} cases[] = {
		{ "Hello", "Hello", false },
		{ "Re: Hello", "Hello", true },
		{ "RE: re: Fwd: Hello", "Hello", true },
		{ "Re[2]: Hello", "Hello", true },
		{ "Re [2]: Hello", "Hello", true },
		{ "[list] Re: Hello", "Hello", true },
		{ "[list] Hello", "Hello", false },
		{ "[list]", "[list]", false },
		{ "Hello (fwd)", "Hello", true },
		{ "Hello (FWD)  (fwd) ", "Hello", true },
		{ "[Fwd: Re: Hello]", "Hello", true },
		{ "  Hello \t  world  ", "Hello world", false },
		{ "Re: =?utf-8?q?Gr=C3=BC=C3=9Fe?=", "Grüße", true },
		{ "Reply to this", "Reply to this", false },
		{ "Re:", "", true },
		{ "", "", false },
		{ "[a][b] fw: [c] x", "x", true },
		{ "Re: [Fwd: Re: (fwd) x (fwd)]", "(fwd) x", true },
		/* RFC 5256 2.1, step by step */
		/* (1) encoded words decoded; tabs, continuations and runs of
		   white space become one space */
		{ "=?utf-8?q?Re=3A?= x", "x", true },
		{ "=?utf-8?q?Re=3A_=5Blist=5D_beta?=", "beta", true },
		{ "a\r\n\tb", "a b", false },
		{ "a \t  b", "a b", false },
		{ "=?utf-8?q?a_=00_b?=", "a b", false },	/* no NUL */
		/* (2) trailers: "(fwd)" and white space, repeatedly */
		{ "x (fwd)", "x", true },
		{ "x(FWD)", "x", true },
		{ "x (fwd) (Fwd)  ", "x", true },
		{ "(fwd)", "", true },
		{ "x (fwd) y", "x (fwd) y", false },
		/* (3) leaders: *blob ("re" / "fw" / "fwd") *WSP [blob] ":" */
		{ "re: x", "x", true }, { "RE:x", "x", true },
		{ "Fw: x", "x", true }, { "FWD: x", "x", true },
		{ "Re : x", "x", true }, { "Re[2]: x", "x", true },
		{ "Re [2] : x", "x", true },
		{ "[a] [b] re: x", "x", true },
		{ "Re: Re:re: Fwd: x", "x", true },
		{ "Ref: x", "Ref: x", false }, { "Fwx: y", "Fwx: y", false },
		{ "Re x", "Re x", false }, { "Re: [2]: x", ": x", true },
		/* (4) a blob prefix goes when something is left */
		{ "[blob] x", "x", false }, { "[blob]", "[blob]", false },
		{ "[a][b]", "[b]", false }, { "[a] ", "[a]", false },
		{ "[a[b] x", "[a[b] x", false },
		/* (5) (3) and (4) until nothing changes */
		{ "[foo] Fwd: [bar] Re: fw: b (fWd)  (fwd)", "b", true },
		{ "[x] [y] Re: [z] w", "w", true },
		/* (6) "[fwd:" ... "]" wrappers, then again from (2) */
		{ "[fwd: x]", "x", true }, { "[FWD: Re: x (fwd)]", "x", true },
		{ "Re: [FWD: c]", "c", true },
		{ "[Fwd: [list] x]", "x", true },
		{ "Re: [Fwd: Re: [Fwd: x]]", "x", true },
		{ "[fwd: x", "[fwd: x", false },
		{ "[xyz]", "[xyz]", false }, { "_", "_", false },
		{ "", "", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool reply;
		char *s = mail_base_subject(cases[i].in, strlen(cases[i].in),
		    &reply);

		if (strcmp(s, cases[i].out) != 0 || reply != cases[i].reply)
			fprintf(stderr, "  \"%s\" -> \"%s\" %d\n", cases[i].in,
			    s, reply);
		TEST_ASSERT(strcmp(s, cases[i].out) == 0);
		TEST_ASSERT(reply == cases[i].reply);
		free(s);
	}
}

int
main(void)
{
	TEST_RUN(test_match);
	TEST_RUN(test_dates_ids);
	TEST_RUN(test_base_subject);
	return test_done("test-mail-search");
}
