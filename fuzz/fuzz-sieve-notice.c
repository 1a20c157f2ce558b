/*
 * fuzz-sieve-notice - the messages tem writes for Sieve (msg/sieve_notice.c
 * with mail/mime_encode.c) from arbitrary script and message texts. The
 * input is split at NUL bytes into :subject, :from, the reply or reject
 * text, the original header section, the script name and the error.
 * Beyond "no crash, no UB, no leak" it checks what the builders promise:
 * LF line ends only, a header section of fields and continuations (no
 * text can add a field: only the builder's own names appear), header
 * lines within 78 columns, and a reject MDN that parses as
 * multipart/report with its three parts.
 *
 * Trust: test code.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/mime.h"
#include "mail/rfc5322.h"
#include "msg/sieve_notice.h"
#include "sieve/sieve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static const char *const names[] = { "From", "To", "Subject",
	"In-Reply-To", "References", "Date", "Message-ID", "Auto-Submitted",
	"MIME-Version", "Content-Type", "Content-Transfer-Encoding",
	"Content-Disposition", "Content-Description", "Content-ID",
	"Content-Language", "Content-Location", "Content-MD5", NULL };

/* Fields whose lines may pass 78 columns: addresses, message ids and
 * MIME parameters cannot be broken inside (RFC 5322 allows 998). */
static int
long_ok(const char *line)
{
	return strncasecmp(line, "Content-", 8) == 0 ||
	    strncasecmp(line, "From:", 5) == 0 ||
	    strncasecmp(line, "To:", 3) == 0 ||
	    strncasecmp(line, "In-Reply-To:", 12) == 0 ||
	    strncasecmp(line, "References:", 11) == 0;
}

/* The header section: fields with known names (or the :mime entity's
 * Content-*), lines within 78 columns (998 for long_ok fields), no CR
 * or NUL anywhere. */
static void
check_msg(const char *m, size_t len)
{
	struct rfc5322_iter it;
	struct rfc5322_field f;
	size_t hlen, start = 0;
	int lenient = 0;

	CHECK(m != NULL && strlen(m) == len);
	CHECK(memchr(m, '\r', len) == NULL);
	CHECK(len > 0 && m[len - 1] == '\n');
	hlen = rfc5322_body_offset(m, len);
	CHECK(hlen <= len);
	for (size_t i = 0; i < hlen; i++) {
		if (m[i] != '\n')
			continue;
		if (m[start] != ' ' && m[start] != '\t')
			lenient = long_ok(m + start);
		CHECK(i - start <= 78 || (lenient && i - start <= 998));
		start = i + 1;
	}
	rfc5322_iter_init(&it, m, len);
	while (rfc5322_iter_next(&it, &f) == 1) {
		int known = 0;
		for (int i = 0; names[i] != NULL; i++)
			known |= rfc5322_field_is(&f, names[i]);
		known |= f.name_len > 8 && strncasecmp(f.name, "Content-",
		    8) == 0;
		CHECK(known);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *p[6];
	struct sieve_action a;
	struct mime_msg *mm;
	size_t n = 0, len;
	char *m;

	memcpy(buf, data, size);
	buf[size] = '\0';
	p[n++] = buf;
	for (size_t i = 0; i < size && n < 6; i++)
		if (buf[i] == '\0')
			p[n++] = buf + i + 1;
	while (n < 6)
		p[n++] = buf + size;

	memset(&a, 0, sizeof(a));
	a.type = SIEVE_VACATION;
	a.subject = p[0];
	a.from = *p[1] ? p[1] : NULL;
	a.text = p[2];
	a.address = (char *)"sender@b.test";
	a.in_reply_to = p[4];
	a.references = p[5];
	a.mime = size > 0 && (data[0] & 1);
	m = sieve_notice_vacation(&a, "bob@a.test", "mx.a.test", 0, &len);
	check_msg(m, len);
	free(m);

	a.type = SIEVE_REJECT;
	m = sieve_notice_reject(&a, "bob@a.test", p[3], strlen(p[3]),
	    "sender@b.test", "mx.a.test", 0, &len);
	check_msg(m, len);
	mm = mime_parse(m, len);
	CHECK(mm != NULL && mm->root->nchildren == 3);
	CHECK(strcmp(mm->root->subtype, "report") == 0);
	mime_free(&mm);
	free(m);

	m = sieve_notice_error("bob@a.test", *p[4] ? p[4] : NULL, p[5],
	    "mx.a.test", 0, &len);
	check_msg(m, len);
	free(m);

	m = sieve_notice_from_addr(p[1]);
	CHECK(m == NULL || strchr(m, '@') != NULL);
	free(m);
	free(buf);
	return 0;
}
